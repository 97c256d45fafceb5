// SPDX-License-Identifier: GPL-2.0
/*
 * zp_reclaim_test: kvm-zeropage hands zero-filled guest pages back
 * (unit 240) and loses no byte doing it.
 *
 * With the VM's threshold high, the guest writes:
 * - every page of a 4K memslot, the even ones with zeros, the odd ones
 *   with one non-zero byte;
 * - the first byte of eight 2 MB pages, 1 in four of them, 0 in the
 *   others;
 * - zeros into the pages of a third memslot, which the test then pins
 *   for DMA (registered as an io_uring fixed buffer).
 * The threshold then drops below what is pending, and one scan runs:
 * - the even 4K pages go back, the VMM's anonymous RSS falls by as much,
 *   and bytes_saved says so;
 * - the all-zero 2 MB pages go back whole (huge zero page), the others
 *   are split and their 511 zero pages go back;
 * - the pinned pages stay, counted as skipped_pinned;
 * - every byte reads back as written, from the VMM and from the guest;
 * - zero pages the guest writes again become private again, and
 *   bytes_saved falls by as much.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "kselftest.h"
#include "kvm_util.h"
#include "processor.h"
#include "test_util.h"
#include "zp_test.h"

#define SLOT		10
#define GPA		0xc0000000ULL
#define PAGES		4096			/* 16 MiB */
#define THP_SLOT	11
#define THP_GPA		0x100000000ULL
#define THP_SIZE	(2UL << 20)
#define THP_COUNT	8			/* the first half get a 1 */
#define PIN_SLOT	12
#define PIN_GPA		0x140000000ULL
#define PIN_PAGES	64
#define REWRITE		100			/* even pages written again */

enum { CMD_WRITE = 1, CMD_VERIFY, CMD_REWRITE };
static uint64_t cmd, rewritten;

/* Byte i % 4096 of page i; every other byte is zero. */
static uint8_t expected(uint64_t i, uint64_t rw)
{
	if (i % 2)
		return 0x5a;
	return i < 2 * rw ? 0x77 : 0;
}

static bool page_ok(const void *page, uint64_t i, uint64_t rw)
{
	const uint64_t *w = page;
	uint64_t off = i % 4096, j;

	for (j = 0; j < 512; j++) {
		uint64_t want = j == off / 8 ?
			(uint64_t)expected(i, rw) << (8 * (off % 8)) : 0;

		if (w[j] != want)
			return false;
	}
	return true;
}

/* 2 MB page k: its first byte is 1 for k < THP_COUNT / 2, all else zero. */
static bool thp_ok(const uint8_t *p, uint64_t k)
{
	return zp_thp_one_byte(p, 0, k < THP_COUNT / 2);
}

static void guest_code(void)
{
	uint64_t i;

	for (;;) {
		GUEST_SYNC(0);
		switch (READ_ONCE(cmd)) {
		case CMD_WRITE:
			for (i = 0; i < PAGES; i++)
				WRITE_ONCE(*(uint8_t *)(GPA + i * 4096 + i % 4096),
					   expected(i, 0));
			for (i = 0; i < THP_COUNT; i++)
				WRITE_ONCE(*(uint8_t *)(THP_GPA + i * THP_SIZE),
					   i < THP_COUNT / 2);
			for (i = 0; i < PIN_PAGES; i++)
				WRITE_ONCE(*(uint8_t *)(PIN_GPA + i * 4096), 0);
			break;
		case CMD_REWRITE:
			for (i = 0; i < 2 * REWRITE; i += 2)
				WRITE_ONCE(*(uint8_t *)(GPA + i * 4096 + i % 4096),
					   0x77);
			break;
		case CMD_VERIFY:
			for (i = 0; i < PAGES; i++)
				GUEST_ASSERT_1(page_ok((void *)(GPA + i * 4096), i,
						       READ_ONCE(rewritten)), i);
			for (i = 0; i < THP_COUNT; i++)
				GUEST_ASSERT_1(thp_ok((void *)(THP_GPA + i * THP_SIZE),
						      i), i);
			break;
		}
	}
}

static void guest_do(struct kvm_vm *vm, struct kvm_vcpu *vcpu, uint64_t c)
{
	struct ucall uc;

	cmd = c;
	sync_global_to_guest(vm, cmd);
	sync_global_to_guest(vm, rewritten);
	kvmext_run_to_ucall(vcpu, &uc);
}

/* Every byte as the VMM sees it; returns the first bad page or -1. */
static long vmm_check(struct kvm_vm *vm)
{
	uint64_t i;

	for (i = 0; i < PAGES; i++)
		if (!page_ok(addr_gpa2hva(vm, GPA + i * 4096), i, rewritten))
			return i;
	for (i = 0; i < THP_COUNT; i++)
		if (!thp_ok(addr_gpa2hva(vm, THP_GPA + i * THP_SIZE), i))
			return PAGES + i;
	return -1;
}

int main(int argc, char *argv[])
{
	long rss0, rss1, thp, cowed, saved, saved0, rec, want4k, bad;
	char dir[128];
	struct kvm_vcpu *vcpu;
	struct ucall uc;
	struct kvm_vm *vm;
	struct zp_ring ring;

	ksft_print_header();
	TEST_REQUIRE(!access(ZP_VMS, R_OK));
	ksft_set_plan(6);

	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	zp_add_slot(vm, VM_MEM_SRC_ANONYMOUS, GPA, SLOT, PAGES);
	zp_add_slot(vm, VM_MEM_SRC_ANONYMOUS_THP, THP_GPA, THP_SLOT,
		    THP_COUNT * THP_SIZE / 4096);
	zp_add_slot(vm, VM_MEM_SRC_ANONYMOUS, PIN_GPA, PIN_SLOT, PIN_PAGES);
	kvmext_run_to_ucall(vcpu, &uc);	/* to its first SYNC */
	zp_vm_dir(dir, sizeof(dir));
	TEST_ASSERT(!zp_vm_write(dir, "threshold_mb", "1000"), "threshold_mb 1000");
	zp_settle();

	thp = zstat("cowed_thp");
	guest_do(vm, vcpu, CMD_WRITE);
	thp = zstat("cowed_thp") - thp;
	TEST_ASSERT(thp == THP_COUNT, "%ld of %d first writes got a 2 MiB page",
		    thp, THP_COUNT);
	/* Pinned the way a device's DMA buffer is (FOLL_PIN). */
	zp_ring_init(&ring, addr_gpa2hva(vm, PIN_GPA), PIN_PAGES * 4096);

	/* The first scans may have found zero pages of the guest's own. */
	rec = zstat("pages_reclaimed");
	saved0 = zstat("bytes_saved");
	rss0 = zp_rss_anon_pages();
	TEST_ASSERT(!zp_vm_write(dir, "threshold_mb", "4"), "threshold_mb 4");
	zp_settle();
	rss1 = zp_rss_anon_pages();

	want4k = PAGES / 2;
	rec = zstat("pages_reclaimed") - rec;
	ksft_test_result(zstat("thp_reclaimed") == THP_COUNT / 2 &&
			 zstat("thp_split") == THP_COUNT / 2,
			 "2 MB pages: %ld of %d all-zero went back whole, %ld of %d with one byte were split\n",
			 zstat("thp_reclaimed"), THP_COUNT / 2, zstat("thp_split"),
			 THP_COUNT / 2);
	/* Every zero page but the pinned ones, and nothing else. */
	want4k += THP_COUNT / 2 * 512 + THP_COUNT / 2 * 511;
	ksft_test_result(rec == want4k && zstat("bytes_saved") - saved0 == rec * 4096 &&
			 rss0 - rss1 >= rec - 64 && rss0 - rss1 <= rec + 64,
			 "handed back %ld of %ld zero pages; bytes_saved %ld; RssAnon fell by %ld pages\n",
			 rec, want4k, zstat("bytes_saved") - saved0, rss0 - rss1);
	ksft_test_result(zstat("skipped_pinned") == PIN_PAGES,
			 "pinned for DMA: %ld of %d zero pages left alone\n",
			 zstat("skipped_pinned"), PIN_PAGES);

	bad = vmm_check(vm);
	ksft_test_result(bad < 0, "the VMM reads every byte as written (first bad page %ld)\n",
			 bad);
	/* The guest reads through its NPT, which KVM rebuilt from the zero page. */
	guest_do(vm, vcpu, CMD_VERIFY);
	ksft_test_result_pass("the guest reads every byte as written\n");

	cowed = zstat("cowed");
	saved = zstat("bytes_saved");
	guest_do(vm, vcpu, CMD_REWRITE);
	rewritten = REWRITE;
	guest_do(vm, vcpu, CMD_VERIFY);
	bad = vmm_check(vm);
	ksft_test_result(zstat("cowed") - cowed == REWRITE &&
			 saved - zstat("bytes_saved") == REWRITE * 4096 && bad < 0,
			 "%d zero pages written again: %ld new pages, bytes_saved fell by %ld pages, bytes intact\n",
			 REWRITE, zstat("cowed") - cowed,
			 (saved - zstat("bytes_saved")) / 4096);

	close(ring.fd);
	kvm_vm_free(vm);
	ksft_finished();
}
