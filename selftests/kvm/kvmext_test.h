/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the project's KVM selftests, on top of the 6.1 KVM
 * selftest library.
 */
#ifndef KVMEXT_TEST_H
#define KVMEXT_TEST_H

#include "kvm_util.h"
#include "test_util.h"

/*
 * Runs the vCPU to its next ucall and returns it: UCALL_SYNC or UCALL_DONE.
 * Any other exit, a guest assertion or an unknown ucall fails the test.
 */
static inline uint64_t kvmext_run_to_ucall(struct kvm_vcpu *vcpu,
					   struct ucall *uc)
{
	uint64_t cmd;

	vcpu_run(vcpu);
	TEST_ASSERT(vcpu->run->exit_reason == KVM_EXIT_IO,
		    "unexpected exit reason %u (%s)", vcpu->run->exit_reason,
		    exit_reason_str(vcpu->run->exit_reason));
	cmd = get_ucall(vcpu, uc);
	if (cmd == UCALL_ABORT)
		REPORT_GUEST_ASSERT(*uc);
	TEST_ASSERT(cmd == UCALL_SYNC || cmd == UCALL_DONE,
		    "unexpected ucall %lu", cmd);
	return cmd;
}

#endif /* KVMEXT_TEST_H */
