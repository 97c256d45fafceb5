// SPDX-License-Identifier: GPL-2.0
/*
 * topo_probe_test: discovery of the kvmext interface from guest code.
 *
 * "present": with kvm-topo loaded, the probe MSR reads the magic, the ABI
 * version of include/uapi/kvmext/pv.h and exactly the features served; writing it
 * raises #GP; the rest of the kvmext MSR range and KVM's own MSRs behave
 * as on stock KVM.
 * "absent": without the module, the probe raises #GP, as stock KVM does.
 *
 * Usage: topo_probe_test present|absent
 */
#include <stdio.h>
#include <string.h>

#include <linux/kvm_para.h>

#include <kvmext/pv.h>

#include "kselftest.h"
#include "kvmext_test.h"
#include "kvm_util.h"
#include "processor.h"
#include "test_util.h"

enum { PROBE_READ = 1, PROBE_WRITE, NEIGHBOUR_READ, STOCK_READ, HYPERCALLS };

static void guest_code(void)
{
	uint64_t v = 0;
	uint8_t vec;

	vec = rdmsr_safe(MSR_KVMEXT_PROBE, &v);
	GUEST_SYNC_ARGS(PROBE_READ, vec, v, 0, 0);
	vec = wrmsr_safe(MSR_KVMEXT_PROBE, 0x1234);
	GUEST_SYNC_ARGS(PROBE_WRITE, vec, 0, 0, 0);
	v = 0;
	vec = rdmsr_safe(MSR_KVMEXT_HINT + 1, &v);
	GUEST_SYNC_ARGS(NEIGHBOUR_READ, vec, v, 0, 0);
	v = 0;
	vec = rdmsr_safe(MSR_IA32_APICBASE, &v);
	GUEST_SYNC_ARGS(STOCK_READ, vec, v, 0, 0);
	/* The hint hypercall, a bad hint, and a neighbouring number. */
	GUEST_SYNC_ARGS(HYPERCALLS, kvm_hypercall(KVMEXT_HC_HINT, 0, 0, 0, 0),
			kvm_hypercall(KVMEXT_HC_HINT, 1ULL << 63, 0, 0, 0),
			kvm_hypercall(KVMEXT_HC_HINT + 1, 0, 0, 0, 0), 0);
	GUEST_DONE();
}

int main(int argc, char *argv[])
{
	bool present;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;
	uint64_t stage, vec, val;

	ksft_print_header();
	if (argc != 2 || (strcmp(argv[1], "present") && strcmp(argv[1], "absent")))
		ksft_exit_fail_msg("usage: %s present|absent\n", argv[0]);
	present = !strcmp(argv[1], "present");
	ksft_set_plan(5);

	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	vm_init_descriptor_tables(vm);
	vcpu_init_descriptor_tables(vcpu);

	while (kvmext_run_to_ucall(vcpu, &uc) == UCALL_SYNC) {
		stage = uc.args[1];
		vec = uc.args[2];
		val = uc.args[3];
		switch (stage) {
		case PROBE_READ:
			if (present)
				ksft_test_result(vec == 0 && KVMEXT_PROBE_IS_VALID(val) &&
						 KVMEXT_PROBE_VERSION(val) == KVMEXT_ABI_VERSION &&
						 KVMEXT_PROBE_FEATURES(val) == (KVMEXT_FEATURE_TOPO | KVMEXT_FEATURE_HINTS),
						 "probe reads magic, ABI %d, the topology and hint features and no unknown one (vector %lu, 0x%lx)\n",
						 KVMEXT_ABI_VERSION, vec, val);
			else
				ksft_test_result(vec == GP_VECTOR,
						 "probe faults without the module (vector %lu)\n",
						 vec);
			break;
		case PROBE_WRITE:
			ksft_test_result(vec == GP_VECTOR,
					 "writing the probe faults (vector %lu)\n", vec);
			break;
		case NEIGHBOUR_READ:
			ksft_test_result(vec == GP_VECTOR,
					 "an unserved MSR of the kvmext range faults as on stock KVM (vector %lu)\n",
					 vec);
			break;
		case STOCK_READ:
			ksft_test_result(vec == 0 && (val & 0xfffff000) == 0xfee00000,
					 "KVM's own MSRs unaffected (APIC base 0x%lx)\n",
					 val);
			break;
		case HYPERCALLS:
			if (present)
				ksft_test_result(uc.args[2] == 0 && uc.args[3] == (uint64_t)-KVM_EINVAL &&
						 uc.args[4] == (uint64_t)-KVM_ENOSYS,
						 "hint hypercall returns 0, -KVM_EINVAL for a bad hint; other numbers -KVM_ENOSYS (%ld %ld %ld)\n",
						 uc.args[2], uc.args[3], uc.args[4]);
			else
				ksft_test_result(uc.args[2] == (uint64_t)-KVM_ENOSYS &&
						 uc.args[3] == (uint64_t)-KVM_ENOSYS &&
						 uc.args[4] == (uint64_t)-KVM_ENOSYS,
						 "without the module the hint hypercall is -KVM_ENOSYS, as stock (%ld %ld %ld)\n",
						 uc.args[2], uc.args[3], uc.args[4]);
			break;
		default:
			TEST_FAIL("unknown stage %lu", stage);
		}
	}
	kvm_vm_free(vm);
	ksft_finished();
}
