// SPDX-License-Identifier: GPL-2.0
/*
 * The guest-facing MSRs of include/uapi/kvmext/pv.h.
 *
 * Stock KVM answers an MSR it does not know with #GP from the default case
 * of kvm_get_msr_common()/kvm_set_msr_common(), which both vendor modules
 * fall back to. The module redirects calls of those two functions to the
 * handlers below only for the MSRs it serves: for every other MSR the
 * original runs untouched, and no code of this module is on its path.
 */
#include <kvmext/pv.h>

#include "topo.h"

/**
 * topo_msr_is_ours() - whether a kvm_{get,set}_msr_common() call is ours
 * @regs: the registers at the function's entry
 *
 * Runs in the ftrace callback of every call, so it only compares the
 * index; struct msr_data is the function's second argument.
 *
 * Return: true for an MSR this module serves.
 */
bool topo_msr_is_ours(struct pt_regs *regs)
{
	const struct msr_data *msr =
		(const struct msr_data *)regs_get_kernel_argument(regs, 1);

	return msr->index == MSR_KVMEXT_PROBE;
}

/**
 * topo_get_msr() - replaces kvm_get_msr_common() for this module's MSRs
 * @vcpu: the vCPU, unused by the probe
 * @msr: index in, data out
 *
 * Must not sleep (see KVMEXT_REDIRECT).
 *
 * Return: 0, as kvm_get_msr_common() for a handled MSR.
 */
int topo_get_msr(struct kvm_vcpu *vcpu, struct msr_data *msr)
{
	msr->data = KVMEXT_PROBE_VALUE(0);
	atomic64_inc(&topo_stats.probe_reads);
	return 0;
}

/**
 * topo_set_msr() - replaces kvm_set_msr_common() for this module's MSRs
 * @vcpu: the vCPU
 * @msr: index and data
 *
 * The probe MSR is read-only, for the guest and for host-initiated
 * (KVM_SET_MSRS) writes alike.
 *
 * Return: 1, which KVM turns into #GP for a guest write.
 */
int topo_set_msr(struct kvm_vcpu *vcpu, struct msr_data *msr)
{
	atomic64_inc(&topo_stats.probe_writes_rejected);
	return 1;
}
