// SPDX-License-Identifier: GPL-2.0
/*
 * zp_skip_test: kvm-zeropage leaves alone, and counts by reason, the
 * zero pages it must not hand back (Documentation/kvm-zeropage.rst,
 * "Skipped and counted by reason").
 *
 * Five memslots of 256 4K pages; the guest writes a zero into each page:
 * - one mlock()ed (the VMM wants its memory resident): skipped_mlock;
 * - one registered with userfaultfd after the writes (postcopy
 *   migration, snapshots): skipped_uffd;
 * - one with dirty logging on (live migration): skipped_dirty_log;
 * - one shared memory (memfd): never recorded, as its pages are not
 *   anonymous, and its first scan counts it as skipped_mapping;
 * - one plain, as a control: its 256 pages are handed back.
 * Each count is exact, and only the control's pages go back.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kselftest.h"
#include "kvm_util.h"
#include "processor.h"
#include "test_util.h"
#include "zp_test.h"

#define PAGES		256
#define NSLOTS		5
#define SLOT0		10
#define GPA0		0xc0000000ULL
#define GPA(i)		(GPA0 + (uint64_t)(i) * PAGES * 4096 * 2)

enum { MLOCK, UFFD, DIRTY_LOG, SHMEM, PLAIN };

static void guest_code(void)
{
	uint64_t i, p;

	for (;;) {
		GUEST_SYNC(0);
		for (i = 0; i < NSLOTS; i++)
			for (p = 0; p < PAGES; p++)
				WRITE_ONCE(*(uint8_t *)(GPA(i) + p * 4096 + p % 4096), 0);
	}
}

static long stat_delta(const char *name, long before)
{
	return zstat(name) - before;
}

int main(int argc, char *argv[])
{
	static const char *const skips[] = { "skipped_mlock", "skipped_uffd",
					     "skipped_dirty_log" };
	long before[3], rec, mapping;
	struct uffdio_register reg = {};
	struct uffdio_api api = { .api = UFFD_API };
	struct kvm_vcpu *vcpu;
	struct ucall uc;
	struct kvm_vm *vm;
	char dir[128];
	int i, uffd;
	bool ok;

	ksft_print_header();
	TEST_REQUIRE(!access(ZP_VMS, R_OK));
	ksft_set_plan(5);

	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	for (i = 0; i < NSLOTS; i++) {
		vm_userspace_mem_region_add(vm, i == SHMEM ? VM_MEM_SRC_SHMEM :
					    VM_MEM_SRC_ANONYMOUS, GPA(i), SLOT0 + i,
					    PAGES, i == DIRTY_LOG ? KVM_MEM_LOG_DIRTY_PAGES : 0);
		virt_map(vm, GPA(i), GPA(i), PAGES);
	}
	kvmext_run_to_ucall(vcpu, &uc);	/* to its first SYNC */
	zp_vm_dir(dir, sizeof(dir));
	TEST_ASSERT(!zp_vm_write(dir, "threshold_mb", "1000"), "threshold_mb 1000");
	/* The first scans read each new memslot whole. */
	zp_settle();
	mapping = zstat("skipped_mapping");
	ksft_test_result(mapping == PAGES,
			 "shared memory: its first scan skipped %ld of %d pages (mapping)\n",
			 mapping, PAGES);

	/* Resident, as mlock() makes them: written by the kernel, recorded. */
	TEST_ASSERT(!mlock(addr_gpa2hva(vm, GPA(MLOCK)), PAGES * 4096), "mlock");
	kvmext_run_to_ucall(vcpu, &uc);
	uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	TEST_ASSERT(uffd >= 0 && !ioctl(uffd, UFFDIO_API, &api), "userfaultfd");
	reg.range.start = (unsigned long)addr_gpa2hva(vm, GPA(UFFD));
	reg.range.len = PAGES * 4096;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	TEST_ASSERT(!ioctl(uffd, UFFDIO_REGISTER, &reg), "UFFDIO_REGISTER");

	for (i = 0; i < 3; i++)
		before[i] = zstat(skips[i]);
	rec = zstat("pages_reclaimed");
	TEST_ASSERT(!zp_vm_write(dir, "threshold_mb", "1"), "threshold_mb 1");
	zp_settle();
	for (i = 0; i < 3; i++)
		ksft_test_result(stat_delta(skips[i], before[i]) == PAGES,
				 "%s: %ld of %d zero pages\n", skips[i],
				 stat_delta(skips[i], before[i]), PAGES);
	/* A zero page of the guest's own (slot 0) may go back too. */
	rec = stat_delta("pages_reclaimed", rec);
	ok = rec >= PAGES && rec <= PAGES + 8 &&
	     zstat("skipped_mapping") == mapping;
	ksft_test_result(ok, "handed back %ld pages: the plain memslot's %d, no other\n",
			 rec, PAGES);

	close(uffd);
	kvm_vm_free(vm);
	ksft_finished();
}
