// SPDX-License-Identifier: GPL-2.0
/*
 * zp_cow_test: kvm-zeropage's copy-on-write accounting (unit 220),
 * threshold control (unit 230) and targeted scan (unit 240, counting
 * stage), from the VMM's side.
 *
 * The guest writes pages of a memslot (no huge pages there), half of
 * them with zeros, in steps the test controls:
 * - below the VM's threshold every write is counted and nothing scans;
 * - the write that crosses it starts exactly one scan, which reads every
 *   recorded page once and finds exactly the zero-filled ones;
 * - in a memslot with huge pages, a first write counts 512 pages per
 *   huge page;
 * - the per-VM threshold refuses bad values and changes nothing then;
 * - unloaded with the VM running and loaded again (argv[1]: the module),
 *   the module attaches the VM and its first scan finds the zero pages;
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

static long zstat(const char *name)
{
	return kvmext_vm_stat("/sys/kernel/debug/kvm/kvm_zeropage/vms", name);
}

/* The VM's sysfs directory, from the "sysfs <pid>-<n>" line. */
static void vm_dir(char *buf, size_t len)
{
	long n = zstat("sysfs");
	FILE *f = fopen("/sys/kernel/debug/kvm/kvm_zeropage/vms", "r");
	char line[64], me[64];
	bool mine = false;

	TEST_ASSERT(f && n >= 0, "kvm_zeropage/vms has no block for this VM");
	snprintf(me, sizeof(me), "vm kvm-%d\n", getpid());
	buf[0] = 0;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "vm ", 3))
			mine = !strcmp(line, me);
		else if (mine && !strncmp(line, "sysfs ", 6)) {
			line[strcspn(line, "\n")] = 0;
			snprintf(buf, len, "/sys/kernel/kvm_zeropage/vms/%s", line + 6);
		}
	}
	fclose(f);
	TEST_ASSERT(buf[0], "no sysfs line");
}

static int write_file(const char *path, const char *v)
{
	int fd = open(path, O_WRONLY), ret;

	TEST_ASSERT(fd >= 0, "open %s", path);
	ret = write(fd, v, strlen(v)) == (ssize_t)strlen(v) ? 0 : -errno;
	close(fd);
	return ret;
}

static void read_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");

	TEST_ASSERT(f && fgets(buf, len, f), "read %s", path);
	buf[strcspn(buf, "\n")] = 0;
	fclose(f);
}

/*
 * Waits until no memslot re-read or scan is queued or running, twice in a
 * row 100 ms apart (a scan queues itself again at its end when the
 * threshold was reached during it). Pages recorded below the threshold
 * stay unscanned.
 */
static void settle(void)
{
	int i, idle = 0;

	for (i = 0; i < 600 && idle < 2; i++) {
		idle = zstat("busy") == 0 ? idle + 1 : 0;
		usleep(100000);
	}
	TEST_ASSERT(idle >= 2, "a scan never ended: %ld scans, %ld unscanned",
		    zstat("scans"), zstat("unscanned"));
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
	TEST_REQUIRE(!access("/sys/kernel/debug/kvm/kvm_zeropage/vms", R_OK));
	ksft_set_plan(6);

	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, GPA, SLOT, PAGES, 0);
	virt_map(vm, GPA, GPA, PAGES);
	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS_THP, THP_GPA, THP_SLOT,
				    THP_COUNT * THP_SIZE / 4096, 0);
	virt_map(vm, THP_GPA, THP_GPA, THP_COUNT * THP_SIZE / 4096);
	kvmext_run_to_ucall(vcpu, &uc);	/* to its first SYNC */
	vm_dir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/threshold_mb", dir);
	TEST_ASSERT(!write_file(path, "1000"), "threshold_mb 1000");
	/* The first scans of the new memslots find them untouched. */
	settle();

	cowed = zstat("cowed");
	thp = zstat("cowed_thp");
	guest_do(vm, vcpu, CMD_THP, 0, 0);
	t2 = zstat("cowed_thp") - thp;
	c2 = zstat("cowed") - cowed;
	ksft_test_result(c2 == t2 * 512 + (THP_COUNT - t2),
			 "huge pages: %ld of %d first writes got a 2 MiB page, %ld pages counted\n",
			 t2, THP_COUNT, c2);

	/* A threshold below what is pending starts a scan at once. */
	TEST_ASSERT(!write_file(path, "4"), "threshold_mb 4");
	settle();
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
	settle();
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
	read_file(path, buf, sizeof(buf));
	ok &= !strcmp(buf, "4");
	ok &= write_file(path, "abc") == -EINVAL;
	ok &= write_file(path, "0") == -EINVAL;
	ok &= write_file(path, "1048577") == -EINVAL;
	ok &= write_file(path, "-1") == -EINVAL;
	read_file(path, buf, sizeof(buf));
	ok &= !strcmp(buf, "4");
	ok &= write_file("/sys/module/kvm_zeropage/parameters/threshold_mb", "0") == -EINVAL;
	ok &= write_file("/sys/module/kvm_zeropage/parameters/threshold_mb", "default") == -EINVAL;
	ok &= !write_file(path, "default");
	read_file(path, buf, sizeof(buf));
	ok &= !strcmp(buf, "32 default");
	ksft_test_result(ok, "threshold_mb: bad values refused, nothing changed; \"default\" reads \"%s\"\n",
			 buf);

	if (argc > 1) {
		long z;

		ok = !kvmext_module_unload("kvm_zeropage");
		ok &= access(dir, F_OK) && errno == ENOENT && zstat("cowed") == -1;
		ok &= !kvmext_module_load(argv[1], "");
		/* Attached at load; its memslots are read, then scanned. */
		for (i = 0; i < 100 && zstat("scans") < 1; i++)
			usleep(100000);
		settle();
		z = zstat("zero_found");
		ok &= zstat("scans") >= 1 && z >= (STEP_A + STEP_B) / 2;
		ksft_test_result(ok, "reloaded under a running VM: attached, first scan found %ld zero pages of %ld read\n",
				 z, zstat("pages_scanned"));
		vm_dir(dir, sizeof(dir));
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
