// SPDX-License-Identifier: GPL-2.0
/*
 * zp_cow_test: kvm-zeropage's copy-on-write accounting (unit 220),
 * threshold control (unit 230) and targeted scan (unit 240), from the
 * VMM's side; zp_reclaim_test checks what the scan hands back.
 *
 * The guest writes pages of a memslot (no huge pages there), half of
 * them with zeros, in steps the test controls:
 * - below the VM's threshold every write is counted and nothing scans;
 * - the write that crosses it starts exactly one scan, which reads every
 *   recorded page once and finds exactly the zero-filled ones;
 * - in a memslot with huge pages, a first write counts 512 pages per
 *   huge page;
 * - the per-VM threshold refuses bad values and changes nothing then;
 * - with flush_ms set (the lab loads the module with 0), pages that stay
 *   below the threshold are scanned that long after the first of them,
 *   by one scan; flush_ms refuses bad values;
 * - max_scan_workers refuses bad values, and one worker still scans;
 * - unloaded with the VM running and loaded again (argv[1]: the module),
 *   the module attaches the VM and its first scan finds the zero pages
 *   written while it was away;
 * - the VM's state goes with the VM.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kselftest.h"
#include "kvmext_test.h"
#include "zp_test.h"
#include "kvm_util.h"
#include "processor.h"
#include "test_util.h"

#define SLOT		10
#define GPA		0xc0000000ULL
#define PAGES		8192		/* 32 MiB */
#define THP_SLOT	11
#define THP_GPA		0x100000000ULL
#define THP_SIZE	(2UL << 20)
#define THP_COUNT	4
#define STEP_A		1000		/* below a 4 MiB threshold (1024 pages) */
#define STEP_B		24		/* reaches it with its last page */
#define ZEROS		((STEP_A + STEP_B) / 2)	/* the even pages */
#define STEP_C		200		/* written while the module is away */
#define STEP_D		100		/* below the threshold, then flush_ms */
#define FLUSH_MS	"/sys/module/kvm_zeropage/parameters/flush_ms"
#define WORKERS		"/sys/module/kvm_zeropage/parameters/max_scan_workers"

enum { CMD_THP = 1, CMD_PAGES };
static uint64_t cmd, first_page, nr_pages;

/* Page i gets zeros when i is even, a non-zero byte otherwise. */
static void guest_code(void)
{
	uint64_t i;

	for (;;) {
		GUEST_SYNC(0);
		if (READ_ONCE(cmd) == CMD_THP)
			for (i = 0; i < THP_COUNT; i++)
				WRITE_ONCE(*(uint8_t *)(THP_GPA + i * THP_SIZE), 1);
		else
			for (i = first_page; i < first_page + nr_pages; i++)
				WRITE_ONCE(*(uint8_t *)(GPA + i * 4096 + i % 4096),
					   i % 2 ? 0x5a : 0);
	}
}

/* Has the guest run one command, back to its SYNC. */
static void guest_do(struct kvm_vm *vm, struct kvm_vcpu *vcpu, uint64_t c,
		     uint64_t first, uint64_t n)
{
	struct ucall uc;

	cmd = c;
	first_page = first;
	nr_pages = n;
	sync_global_to_guest(vm, cmd);
	sync_global_to_guest(vm, first_page);
	sync_global_to_guest(vm, nr_pages);
	kvmext_run_to_ucall(vcpu, &uc);
}

int main(int argc, char *argv[])
{
	long cowed, scans, scanned, zero, thp, c2, t2, u, u0, p0;
	char dir[128], path[256], buf[64];
	struct kvm_vcpu *vcpu;
	struct ucall uc;
	struct kvm_vm *vm;
	bool ok;
	int i;

	ksft_print_header();
	TEST_REQUIRE(!access(ZP_VMS, R_OK));
	ksft_set_plan(8);

	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	zp_add_slot(vm, VM_MEM_SRC_ANONYMOUS, GPA, SLOT, PAGES);
	zp_add_slot(vm, VM_MEM_SRC_ANONYMOUS_THP, THP_GPA, THP_SLOT,
		    THP_COUNT * THP_SIZE / 4096);
	kvmext_run_to_ucall(vcpu, &uc);	/* to its first SYNC */
	zp_vm_dir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/threshold_mb", dir);
	TEST_ASSERT(!zp_write_file(path, "1000"), "threshold_mb 1000");
	/* The first scans of the new memslots find them untouched. */
	zp_settle();

	cowed = zstat("cowed");
	thp = zstat("cowed_thp");
	guest_do(vm, vcpu, CMD_THP, 0, 0);
	t2 = zstat("cowed_thp") - thp;
	c2 = zstat("cowed") - cowed;
	ksft_test_result(c2 == t2 * 512 + (THP_COUNT - t2),
			 "huge pages: %ld of %d first writes got a 2 MiB page, %ld pages counted\n",
			 t2, THP_COUNT, c2);

	/* A threshold below what is pending starts a scan at once. */
	TEST_ASSERT(!zp_write_file(path, "4"), "threshold_mb 4");
	zp_settle();
	TEST_ASSERT(zstat("pending") < 4, "pending %ld after the scan", zstat("pending"));

	cowed = zstat("cowed");
	scans = zstat("scans");
	scanned = zstat("pages_scanned");
	zero = zstat("zero_found");
	p0 = zstat("pending");
	u0 = zstat("unscanned");
	guest_do(vm, vcpu, CMD_PAGES, 0, STEP_A);
	usleep(300000);
	c2 = zstat("cowed") - cowed;
	/* A few pages of the guest's own (its stack) may be new too. */
	ksft_test_result(c2 >= STEP_A && c2 <= STEP_A + 4 && zstat("scans") == scans &&
			 zstat("pending") - p0 == c2,
			 "below the threshold: %ld pages counted for %d written, %ld scans, %ld pending\n",
			 c2, STEP_A, zstat("scans") - scans, zstat("pending"));

	guest_do(vm, vcpu, CMD_PAGES, STEP_A, STEP_B);
	zp_settle();
	c2 = zstat("cowed") - cowed;
	u = zstat("unscanned");
	ok = c2 >= STEP_A + STEP_B && c2 <= STEP_A + STEP_B + 4 &&
	     zstat("scans") - scans == 1 &&
	     zstat("pages_scanned") - scanned + u == c2 + u0 &&
	     zstat("zero_found") - zero <= ZEROS + c2 - (STEP_A + STEP_B) &&
	     zstat("zero_found") - zero >= ZEROS - u;
	ksft_test_result(ok,
			 "reaching the threshold: %ld scan read %ld of %ld recorded pages once, %ld zero (%d written zero)\n",
			 zstat("scans") - scans, zstat("pages_scanned") - scanned, c2,
			 zstat("zero_found") - zero, ZEROS);

	ok = true;
	zp_read_file(path, buf, sizeof(buf));
	ok &= !strcmp(buf, "4");
	ok &= zp_write_file(path, "abc") == -EINVAL;
	ok &= zp_write_file(path, "0") == -EINVAL;
	ok &= zp_write_file(path, "1048577") == -EINVAL;
	ok &= zp_write_file(path, "-1") == -EINVAL;
	zp_read_file(path, buf, sizeof(buf));
	ok &= !strcmp(buf, "4");
	ok &= zp_write_file("/sys/module/kvm_zeropage/parameters/threshold_mb", "0") == -EINVAL;
	ok &= zp_write_file("/sys/module/kvm_zeropage/parameters/threshold_mb", "default") == -EINVAL;
	ok &= !zp_write_file(path, "default");
	zp_read_file(path, buf, sizeof(buf));
	ok &= !strcmp(buf, "32 default");
	ksft_test_result(ok, "threshold_mb: bad values refused, nothing changed; \"default\" reads \"%s\"\n",
			 buf);

	zp_read_file(FLUSH_MS, buf, sizeof(buf));
	TEST_ASSERT(!strcmp(buf, "0"), "the test wants the module loaded with flush_ms=0");
	ok = zp_write_file(FLUSH_MS, "60001") == -EINVAL;
	ok &= zp_write_file(FLUSH_MS, "-1") == -EINVAL;
	ok &= zp_write_file(FLUSH_MS, "soon") == -EINVAL;
	zp_read_file(FLUSH_MS, buf, sizeof(buf));
	ok &= !strcmp(buf, "0");
	/*
	 * A page of the guest's own recorded after the crossing's scan took
	 * the counter stays pending, with flush_ms 0 and no timer armed: the
	 * flush below scans it with the rest.
	 */
	p0 = zstat("pending");
	TEST_ASSERT(p0 >= 0 && p0 <= 4, "%ld pages pending before the flush test", p0);
	scans = zstat("scans");
	scanned = zstat("pages_scanned");
	zero = zstat("zero_found");
	TEST_ASSERT(!zp_write_file(FLUSH_MS, "1000"), "flush_ms 1000");
	guest_do(vm, vcpu, CMD_PAGES, STEP_A + STEP_B + STEP_C, STEP_D);
	/* Not before its time... */
	usleep(300000);
	ok &= zstat("scans") == scans;
	/* ... but then. */
	for (i = 0; i < 50 && zstat("scans") == scans; i++)
		usleep(100000);
	zp_settle();
	/* Zero pages of the guest's own (its stack) may be found too. */
	ok &= zstat("scans") - scans == 1 && zstat("flushes") == 1 &&
	      zstat("pending") == 0 && zstat("zero_found") - zero >= STEP_D / 2;
	ksft_test_result(ok, "flush_ms: %ld scan of %ld pages below the threshold (%ld left by the last scan), %ld zero (%d written zero); bad values refused\n",
			 zstat("scans") - scans, zstat("pages_scanned") - scanned, p0,
			 zstat("zero_found") - zero, STEP_D / 2);
	TEST_ASSERT(!zp_write_file(FLUSH_MS, "0"), "flush_ms 0");

	ok = zp_write_file(WORKERS, "513") == -EINVAL;
	ok &= zp_write_file(WORKERS, "many") == -EINVAL;
	zp_read_file(WORKERS, buf, sizeof(buf));
	ok &= !strcmp(buf, "0");
	ok &= !zp_write_file(WORKERS, "1");
	zp_read_file(WORKERS, buf, sizeof(buf));
	ok &= !strcmp(buf, "1");
	/* One worker still scans: a lower threshold is already crossed. */
	scans = zstat("scans");
	guest_do(vm, vcpu, CMD_PAGES, STEP_A + STEP_B + STEP_C + STEP_D, 300);
	TEST_ASSERT(!zp_write_file(path, "1"), "threshold_mb 1");
	for (i = 0; i < 50 && zstat("scans") == scans; i++)
		usleep(100000);
	zp_settle();
	ok &= zstat("scans") > scans;
	ok &= !zp_write_file(WORKERS, "0");
	TEST_ASSERT(!zp_write_file(path, "default"), "threshold_mb default");
	ksft_test_result(ok, "max_scan_workers: bad values refused, 1 worker scans\n");

	if (argc > 1) {
		long z;

		/* Below the threshold: only the first scan after the load sees them. */
		guest_do(vm, vcpu, CMD_PAGES, STEP_A + STEP_B, STEP_C);
		ok = !kvmext_module_unload("kvm_zeropage");
		ok &= access(dir, F_OK) && errno == ENOENT && zstat("cowed") == -1;
		ok &= !kvmext_module_load(argv[1], "");
		/* Attached at load; its memslots are read, then scanned. */
		for (i = 0; i < 100 && zstat("scans") < 1; i++)
			usleep(100000);
		zp_settle();
		z = zstat("zero_found");
		ok &= zstat("scans") >= 1 && z >= STEP_C / 2 &&
		      zstat("pages_reclaimed") >= STEP_C / 2;
		ksft_test_result(ok, "reloaded under a running VM: attached, first scan found %ld zero pages of %ld read, handed back %ld\n",
				 z, zstat("pages_scanned"), zstat("pages_reclaimed"));
		zp_vm_dir(dir, sizeof(dir));
	} else {
		ksft_test_result_skip("reload: no module path given\n");
	}

	kvm_vm_free(vm);
	ok = false;
	for (i = 0; i < 50 && !ok; i++) {
		ok = access(dir, F_OK) && errno == ENOENT && zstat("cowed") == -1;
		if (!ok)
			usleep(100000);
	}
	ksft_test_result(ok, "the VM's state and %s go with the VM\n", dir);
	ksft_finished();
}
