/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvm-topo's kvm_topo_hint_write tracepoint, as other host modules see it.
 *
 * kvm-topo fires it for every MSR_KVMEXT_HINT value it accepted, however
 * the value came: the guest's WRMSR, the guest's KVMEXT_HC_HINT
 * hypercall, or the VMM's KVM_SET_MSRS. kvm-zeropage follows it through
 * its hook table (KVMEXT_MODULE_TRACEPOINT) while kvm-topo is loaded, so
 * neither module needs the other to load. kvm-topo checks at build time
 * that the tracepoint has the prototype below.
 */
#ifndef KVMEXT_HINT_EVENT_H
#define KVMEXT_HINT_EVENT_H

#include <linux/types.h>

struct kvm_vcpu;

#define KVMEXT_HINT_EVENT_MODULE	"kvm_topo"
#define KVMEXT_HINT_EVENT		"kvm_topo_hint_write"

enum kvmext_hint_via {
	KVMEXT_HINT_VIA_MSR,		/* the guest's WRMSR */
	KVMEXT_HINT_VIA_HYPERCALL,	/* the guest's KVMEXT_HC_HINT */
	KVMEXT_HINT_VIA_VMM,		/* KVM_SET_MSRS */
};

/* A probe of kvm_topo_hint_write; @via is an enum kvmext_hint_via. */
typedef void (*kvmext_hint_probe_t)(void *data, struct kvm_vcpu *vcpu,
				    u64 hint, u8 via);

#endif /* KVMEXT_HINT_EVENT_H */
