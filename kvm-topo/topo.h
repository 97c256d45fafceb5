/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KVM_TOPO_H
#define KVM_TOPO_H

#include <linux/atomic.h>
#include <linux/kvm_host.h>

/**
 * struct topo_stats - module-wide counters, read-only in debugfs
 * @probe_reads: reads of MSR_KVMEXT_PROBE, by guests or their VMM
 * @probe_writes_rejected: writes to MSR_KVMEXT_PROBE, answered with #GP
 */
struct topo_stats {
	atomic64_t probe_reads;
	atomic64_t probe_writes_rejected;
};

extern struct topo_stats topo_stats;

bool topo_msr_is_ours(struct pt_regs *regs);
int topo_get_msr(struct kvm_vcpu *vcpu, struct msr_data *msr);
int topo_set_msr(struct kvm_vcpu *vcpu, struct msr_data *msr);

#endif /* KVM_TOPO_H */
