// SPDX-License-Identifier: GPL-2.0
/*
 * zp_khugepaged_test: khugepaged collapses again what kvm-zeropage split
 * (Documentation/kvm-zeropage.rst, "2 MB pages"), and that is no guest
 * write.
 *
 * The guest writes one byte into each of four 2 MB pages. A scan splits
 * them and hands back their 511 zero pages each. With khugepaged at its
 * default max_ptes_none (511) but scanning fast (lab/tests/
 * 34-zp-khugepaged.sh sets that), khugepaged then makes 2 MB pages there
 * again from the one data page and 511 zero pages:
 * - each collapse counts as thp_recollapsed, not as new guest pages
 *   (cowed), and bytes_saved loses its 511 pages;
 * - every byte still reads as written, from the VMM and from the guest.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kselftest.h"
#include "kvm_util.h"
#include "processor.h"
#include "test_util.h"
#include "zp_test.h"

#define THP_SLOT	11
#define THP_GPA		0x100000000ULL
#define THP_SIZE	(2UL << 20)
#define THP_COUNT	4

enum { CMD_WRITE = 1, CMD_VERIFY };
static uint64_t cmd;

/* Byte 4096 * k + k of 2 MB page k is 0x5a; every other byte is zero. */
static bool thp_ok(const uint8_t *p, uint64_t k)
{
	return zp_thp_one_byte(p, 4096 * k + k, 0x5a);
}

static void guest_code(void)
{
	uint64_t k;

	for (;;) {
		GUEST_SYNC(0);
		for (k = 0; k < THP_COUNT; k++) {
			uint8_t *p = (uint8_t *)(THP_GPA + k * THP_SIZE);

			if (READ_ONCE(cmd) == CMD_WRITE)
				WRITE_ONCE(p[4096 * k + k], 0x5a);
			else if (READ_ONCE(cmd) == CMD_VERIFY)
				GUEST_ASSERT_1(thp_ok(p, k), k);
		}
	}
}

static void guest_do(struct kvm_vm *vm, struct kvm_vcpu *vcpu, uint64_t c)
{
	struct ucall uc;

	cmd = c;
	sync_global_to_guest(vm, cmd);
	kvmext_run_to_ucall(vcpu, &uc);
}

int main(int argc, char *argv[])
{
	long cowed, saved, again, extra, thp;
	struct kvm_vcpu *vcpu;
	struct ucall uc;
	struct kvm_vm *vm;
	char dir[128];
	bool ok;
	int i;

	ksft_print_header();
	TEST_REQUIRE(!access(ZP_VMS, R_OK));
	ksft_set_plan(3);

	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	zp_add_slot(vm, VM_MEM_SRC_ANONYMOUS_THP, THP_GPA, THP_SLOT,
		    THP_COUNT * THP_SIZE / 4096);
	kvmext_run_to_ucall(vcpu, &uc);	/* to its first SYNC */
	zp_vm_dir(dir, sizeof(dir));
	TEST_ASSERT(!zp_vm_write(dir, "threshold_mb", "1000"), "threshold_mb 1000");
	zp_settle();

	thp = zstat("cowed_thp");
	guest_do(vm, vcpu, CMD_WRITE);
	if (zstat("cowed_thp") - thp != THP_COUNT)
		ksft_exit_skip("%ld of %d first writes got a 2 MB page\n",
			       zstat("cowed_thp") - thp, THP_COUNT);
	/* khugepaged may collapse a page again before the scan even ends. */
	cowed = zstat("cowed");
	saved = zstat("bytes_saved");
	TEST_ASSERT(!zp_vm_write(dir, "threshold_mb", "1"), "threshold_mb 1");
	zp_settle();
	ksft_test_result(zstat("thp_split") == THP_COUNT,
			 "a scan split %ld of %d 2 MB pages with one byte each\n",
			 zstat("thp_split"), THP_COUNT);

	for (i = 0; i < 600 && zstat("thp_recollapsed") < THP_COUNT; i++)
		usleep(100000);
	again = zstat("thp_recollapsed");
	/*
	 * All collapsed, so nothing split is saved any more; the scan may
	 * have found a few zero pages of the guest's own too.
	 */
	extra = (zstat("bytes_saved") - saved) / 4096;
	ok = again == THP_COUNT && zstat("cowed") == cowed && extra >= 0 && extra <= 8;
	ksft_test_result(ok, "khugepaged collapsed %ld of %d again within %d.%d s of the split: %ld new pages counted, %ld pages saved beyond the start (%d x 511 before the collapses)\n",
			 again, THP_COUNT, i / 10, i % 10, zstat("cowed") - cowed,
			 extra, THP_COUNT);

	ok = true;
	for (i = 0; i < THP_COUNT; i++)
		ok &= thp_ok(addr_gpa2hva(vm, THP_GPA + i * THP_SIZE), i);
	/* The guest reads through its NPT, rebuilt from the new 2 MB pages. */
	guest_do(vm, vcpu, CMD_VERIFY);
	ksft_test_result(ok, "every byte reads as written, from the VMM and from the guest\n");

	kvm_vm_free(vm);
	ksft_finished();
}
