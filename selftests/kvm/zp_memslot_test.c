// SPDX-License-Identifier: GPL-2.0
/*
 * zp_memslot_test: memslot changes and VM destroy while kvm-zeropage
 * scans, each made in the middle of a scan slowed down by scan_rate.
 *
 * Memslots of 4096 4K pages; in each the guest writes zeros into the even
 * pages and a token into the odd ones, then the VM's threshold is lowered
 * to start a scan of exactly those pages. In the middle of it the VMM:
 * - moves the memslot to another guest address: the scan goes on, every
 *   page is read once, the zero ones are handed back, and the guest reads
 *   every page as written at the new address (the module's bitmaps are of
 *   host memory, so the move costs no second scan);
 * - deletes the memslot: the scan leaves it at once, and what was handed
 *   back there no longer counts in bytes_saved;
 * - turns dirty logging on: nothing more is handed back there, every
 *   recorded page is either read or skipped (skipped_dirty_log), and the
 *   guest's writes to every zero page, the handed-back ones included, are
 *   in KVM's dirty log;
 * - adds a memslot: once the scan ends, the new one's first scan hands
 *   its zero pages back;
 * - destroys the VM: its state goes, and a new VM's scan works.
 * At the end every byte of every remaining memslot reads as written,
 * from the guest and from the VMM. The lab loads the module with
 * flush_ms=0, so only the threshold starts scans.
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

#define PAGES		4096		/* per memslot: 16 MiB */
#define ZEROS		(PAGES / 2)	/* the even pages */
#define SLOT_A		10
#define SLOT_B		11
#define SLOT_C		12
#define SLOT_D		13
#define GPA_A		0xc0000000ULL
#define GPA_B		0x100000000ULL
#define GPA_C		0x140000000ULL
#define GPA_D		0x180000000ULL
/* Where slot A moves: below B as A was, which kvm_util's region tree needs. */
#define GPA_A2		0x80000000ULL
#define RATE		"512"		/* pages per second while a change is made */
#define RATE_N		512
#define SCAN_RATE	"/sys/module/kvm_zeropage/parameters/scan_rate"
/*
 * Pages of the guest's own memory (memslot 0: stack, page tables, ucall)
 * that may be new in a round too; 21 were seen in one.
 */
#define SLACK		64

enum { CMD_WRITE = 1, CMD_CHECK, CMD_TOUCH };
static uint64_t cmd, base, tag;

static uint64_t token(uint64_t t, uint64_t p)
{
	return 1ULL << 63 | t << 32 | p;
}

/* Page p: zeros, or zeros but word p % 512 when p is odd. */
static void guest_code(void)
{
	uint64_t p, j, *w;

	for (;;) {
		GUEST_SYNC(0);
		for (p = 0; p < PAGES; p++) {
			w = (uint64_t *)(READ_ONCE(base) + p * 4096);
			switch (READ_ONCE(cmd)) {
			case CMD_WRITE:
				WRITE_ONCE(w[p % 512], p % 2 ? token(tag, p) : 0);
				break;
			case CMD_TOUCH:	/* a zero into each zero page */
				if (!(p % 2))
					WRITE_ONCE(w[p % 512], 0);
				break;
			case CMD_CHECK:
				for (j = 0; j < 512; j++)
					GUEST_ASSERT_2(READ_ONCE(w[j]) ==
						       (p % 2 && j == p % 512 ?
							token(tag, p) : 0), p, j);
				break;
			}
		}
	}
}

static void guest_do(struct kvm_vm *vm, struct kvm_vcpu *vcpu, uint64_t c,
		     uint64_t gpa, uint64_t t)
{
	struct ucall uc;

	cmd = c;
	base = gpa;
	tag = t;
	sync_global_to_guest(vm, cmd);
	sync_global_to_guest(vm, base);
	sync_global_to_guest(vm, tag);
	kvmext_run_to_ucall(vcpu, &uc);
}

/* The VMM's view of the same pattern. */
static bool vmm_check(const uint64_t *hva, uint64_t t)
{
	uint64_t p, j;

	for (p = 0; p < PAGES; p++)
		for (j = 0; j < 512; j++)
			if (hva[p * 512 + j] !=
			    (p % 2 && j == p % 512 ? token(t, p) : 0))
				return false;
	return true;
}

static void add_slot(struct kvm_vm *vm, uint32_t slot, uint64_t gpa)
{
	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, gpa, slot, PAGES, 0);
}

/* The counters a round compares, before and after. */
struct zp_counts {
	long scanned, reclaimed, saved, dirty;
};

static void counts(struct zp_counts *c)
{
	c->scanned = zstat("pages_scanned");
	c->reclaimed = zstat("pages_reclaimed");
	c->saved = zstat("bytes_saved") / 4096;
	c->dirty = zstat("skipped_dirty_log");
}

/*
 * Starts a scan of what is pending (threshold 1 MiB, back to 1000 MiB once
 * it started) and waits until it read @n pages more than @c0 holds.
 * Returns the pages read by then.
 */
static long scan_until(const char *dir, const struct zp_counts *c0, long n)
{
	long got = 0;
	int i;

	TEST_ASSERT(!zp_write_file(SCAN_RATE, RATE), "scan_rate " RATE);
	TEST_ASSERT(!zp_vm_write(dir, "threshold_mb", "1"), "threshold_mb 1");
	TEST_ASSERT(!zp_vm_write(dir, "threshold_mb", "1000"), "threshold_mb 1000");
	for (i = 0; i < 3000; i++) {
		got = zstat("pages_scanned") + zstat("skipped_dirty_log") -
		      c0->scanned - c0->dirty;
		if (got >= n)
			return got;
		usleep(10000);
	}
	TEST_FAIL("the scan read %ld pages in 30 s, waited for %ld", got, n);
	return 0;
}

/* Back to the default rate, and until nothing is queued or running. */
static void settle(void)
{
	TEST_ASSERT(!zp_write_file(SCAN_RATE, "262144"), "scan_rate");
	zp_settle();
}

int main(int argc, char *argv[])
{
	struct zp_counts c0, c1;
	uint64_t *hva_a, *hva_c, *hva_d;
	unsigned long *log;
	struct kvm_vcpu *vcpu;
	struct ucall uc;
	struct kvm_vm *vm;
	long at, n, i, again;
	char dir[128];
	bool ok;

	ksft_print_header();
	TEST_REQUIRE(!access(ZP_VMS, R_OK));
	ksft_set_plan(10);

	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	add_slot(vm, SLOT_A, GPA_A);
	add_slot(vm, SLOT_B, GPA_B);
	add_slot(vm, SLOT_C, GPA_C);
	/* Every address the guest will use, also those without memory yet. */
	virt_map(vm, GPA_A, GPA_A, PAGES);
	virt_map(vm, GPA_A2, GPA_A2, PAGES);
	virt_map(vm, GPA_B, GPA_B, PAGES);
	virt_map(vm, GPA_C, GPA_C, PAGES);
	virt_map(vm, GPA_D, GPA_D, PAGES);
	hva_a = addr_gpa2hva(vm, GPA_A);
	hva_c = addr_gpa2hva(vm, GPA_C);
	kvmext_run_to_ucall(vcpu, &uc);	/* to its first SYNC */
	zp_vm_dir(dir, sizeof(dir));
	TEST_ASSERT(!zp_vm_write(dir, "threshold_mb", "1000"), "threshold_mb 1000");
	/* The first scans of the new memslots find them untouched. */
	zp_settle();

	/* Move. */
	guest_do(vm, vcpu, CMD_WRITE, GPA_A, SLOT_A);
	counts(&c0);
	at = scan_until(dir, &c0, RATE_N + 64);
	vm_mem_region_move(vm, SLOT_A, GPA_A2);
	settle();
	counts(&c1);
	n = c1.scanned - c0.scanned;
	ok = at < PAGES && n >= PAGES && n <= PAGES + SLACK &&
	     c1.reclaimed - c0.reclaimed >= ZEROS &&
	     c1.reclaimed - c0.reclaimed <= ZEROS + SLACK &&
	     c1.saved - c0.saved == c1.reclaimed - c0.reclaimed;
	ksft_test_result(ok, "move at %ld of %d pages read: %ld read, %ld handed back, %ld saved (once each)\n",
			 at, PAGES, n, c1.reclaimed - c0.reclaimed, c1.saved - c0.saved);
	guest_do(vm, vcpu, CMD_CHECK, GPA_A2, SLOT_A);
	ksft_test_result(vmm_check(hva_a, SLOT_A),
			 "moved: every page reads as written, from the guest at its new address and from the VMM\n");

	/* Delete. */
	guest_do(vm, vcpu, CMD_WRITE, GPA_B, SLOT_B);
	counts(&c0);
	at = scan_until(dir, &c0, RATE_N + 64);
	vm_mem_region_delete(vm, SLOT_B);
	/* Left at once: a moment, not the 7 s the rest of it would take. */
	usleep(300000);
	n = zstat("pages_scanned") - c0.scanned;
	settle();
	counts(&c1);
	ok = at < PAGES && c1.scanned - c0.scanned == n &&
	     n <= at + 3 * 64 + SLACK && c1.saved - c0.saved >= 0 &&
	     c1.saved - c0.saved <= SLACK;
	ksft_test_result(ok, "delete at %ld pages read: %ld read in all, saved %+ld pages (%ld handed back there)\n",
			 at, c1.scanned - c0.scanned, c1.saved - c0.saved,
			 c1.reclaimed - c0.reclaimed);

	/* Dirty logging. */
	guest_do(vm, vcpu, CMD_WRITE, GPA_C, SLOT_C);
	counts(&c0);
	at = scan_until(dir, &c0, RATE_N + 64);
	vm_mem_region_set_flags(vm, SLOT_C, KVM_MEM_LOG_DIRTY_PAGES);
	/* KVM's memslot change waited for the scan's SRCU read side. */
	n = zstat("pages_reclaimed");
	settle();
	counts(&c1);
	ok = at < PAGES && c1.reclaimed == n && c1.dirty > c0.dirty &&
	     c1.scanned - c0.scanned + c1.dirty - c0.dirty >= PAGES &&
	     c1.scanned - c0.scanned + c1.dirty - c0.dirty <= PAGES + SLACK;
	ksft_test_result(ok, "dirty logging on at %ld pages read: %ld read, %ld skipped, none handed back since (%ld before)\n",
			 at, c1.scanned - c0.scanned, c1.dirty - c0.dirty,
			 n - c0.reclaimed);
	log = calloc(PAGES / 64, sizeof(*log));
	TEST_ASSERT(log, "calloc");
	kvm_vm_get_dirty_log(vm, SLOT_C, log);	/* empties it */
	guest_do(vm, vcpu, CMD_TOUCH, GPA_C, SLOT_C);
	kvm_vm_get_dirty_log(vm, SLOT_C, log);
	for (i = 0, ok = true; i < PAGES; i += 2)
		ok &= !!(log[i / 64] & 1UL << (i % 64));
	ksft_test_result(ok, "dirty log: every zero page the guest wrote is dirty, handed-back ones included\n");
	vm_mem_region_set_flags(vm, SLOT_C, 0);
	/* Those handed back before were written again: new, to scan again. */
	again = n - c0.reclaimed;

	/* Add. */
	guest_do(vm, vcpu, CMD_TOUCH, GPA_A2, SLOT_A);
	counts(&c0);
	at = scan_until(dir, &c0, RATE_N + 64);
	add_slot(vm, SLOT_D, GPA_D);
	hva_d = addr_gpa2hva(vm, GPA_D);
	guest_do(vm, vcpu, CMD_WRITE, GPA_D, SLOT_D);
	settle();
	counts(&c1);
	/*
	 * Slot A's zero pages again and slot C's written under dirty logging,
	 * then all of the new slot once.
	 */
	n = c1.reclaimed - c0.reclaimed;
	ok = at < ZEROS && n >= 2 * ZEROS + again &&
	     n <= 2 * ZEROS + again + SLACK &&
	     c1.scanned - c0.scanned >= ZEROS + again + PAGES &&
	     c1.scanned - c0.scanned <= ZEROS + again + PAGES + SLACK;
	ksft_test_result(ok, "add at %ld pages read: %ld read, %ld handed back (%d + %ld + %d expected)\n",
			 at, c1.scanned - c0.scanned, n, ZEROS, again, ZEROS);

	guest_do(vm, vcpu, CMD_CHECK, GPA_A2, SLOT_A);
	guest_do(vm, vcpu, CMD_CHECK, GPA_C, SLOT_C);
	guest_do(vm, vcpu, CMD_CHECK, GPA_D, SLOT_D);
	ok = vmm_check(hva_a, SLOT_A) && vmm_check(hva_c, SLOT_C) &&
	     vmm_check(hva_d, SLOT_D);
	ksft_test_result(ok, "every page of the memslots left reads as written, from the guest and from the VMM\n");

	/* Destroy. */
	guest_do(vm, vcpu, CMD_TOUCH, GPA_D, SLOT_D);
	counts(&c0);
	at = scan_until(dir, &c0, RATE_N / 2);
	kvm_vm_free(vm);
	for (i = 0; i < 100 && zstat("scans") >= 0; i++)
		usleep(100000);
	ksft_test_result(zstat("scans") < 0,
			 "destroyed at %ld of %d pages read: its state went\n",
			 at, ZEROS);
	TEST_ASSERT(!zp_write_file(SCAN_RATE, "262144"), "scan_rate");

	/* A new VM after that scans as before. */
	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	add_slot(vm, SLOT_A, GPA_A);
	virt_map(vm, GPA_A, GPA_A, PAGES);
	kvmext_run_to_ucall(vcpu, &uc);
	zp_vm_dir(dir, sizeof(dir));
	TEST_ASSERT(!zp_vm_write(dir, "threshold_mb", "1000"), "threshold_mb 1000");
	zp_settle();
	guest_do(vm, vcpu, CMD_WRITE, GPA_A, SLOT_A);
	counts(&c0);
	TEST_ASSERT(!zp_vm_write(dir, "threshold_mb", "1"), "threshold_mb 1");
	zp_settle();
	counts(&c1);
	n = c1.reclaimed - c0.reclaimed;
	ksft_test_result(n >= ZEROS && n <= ZEROS + SLACK,
			 "a new VM after it: %ld of %d zero pages handed back\n", n, ZEROS);
	guest_do(vm, vcpu, CMD_CHECK, GPA_A, SLOT_A);
	ksft_test_result(vmm_check(addr_gpa2hva(vm, GPA_A), SLOT_A),
			 "its pages read as written\n");

	kvm_vm_free(vm);
	free(log);
	ksft_finished();
}
