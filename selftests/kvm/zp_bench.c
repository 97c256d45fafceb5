// SPDX-License-Identifier: GPL-2.0
/*
 * zp_bench: the kvm-zeropage benchmarks, one measurement per run.
 * lab/tests/92-bench-zeropage.sh loads the module or sets KSM up between
 * runs and prints the ratios; every figure compares runs of one lab boot.
 *
 *   zp_bench reclaim LABEL
 *	A 512 MiB VM, its RAM madvised MADV_MERGEABLE as QEMU does, THP as
 *	the host has it. The guest writes data into the first quarter of
 *	its pages (one word each) and then zeroes the other three quarters.
 *	From the end of the zeroing, the VMM's anonymous memory is sampled
 *	every 20 ms until it is within 2 % of the data or the limit passed.
 *	Prints "reclaim LABEL ms <to 2 %|-1> ..." and "plot LABEL <ms> <MiB>"
 *	samples from the start of the zeroing.
 *   zp_bench fault thp|4k
 *	The guest writes a non-zero word into every page of 256 MiB of
 *	fresh RAM (2 MB pages, or 4K pages with MADV_NOHUGEPAGE): nothing
 *	can be reclaimed, so this is the worst case of the copy-on-write
 *	hook and the scans. With the module loaded, the timing starts once
 *	its first scan of the new memslots is over. Prints "fault MODE
 *	ns_per_page N scans_during S", S the scans while the guest wrote.
 *   zp_bench clear
 *	ns per 4 KiB memset(0) of cold memory, the work a pool of zero
 *	pages would save a copy-on-write (Documentation/kvm-zeropage.rst).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "kselftest.h"
#include "kvm_util.h"
#include "processor.h"
#include "test_util.h"
#include "zp_test.h"

#define SLOT		10
#define GPA		0x100000000ULL
#define RECLAIM_PAGES	(512UL << 8)	/* 512 MiB */
#define FAULT_PAGES	(256UL << 8)	/* 256 MiB */
#define SAMPLE_MS	20
#define MAX_SAMPLES	8192

enum { CMD_DATA = 1, CMD_ZERO, CMD_FILL };
static uint64_t cmd, npages, data_pages;

static void guest_code(void)
{
	uint64_t i, n;
	void *p;

	for (;;) {
		GUEST_SYNC(0);
		switch (READ_ONCE(cmd)) {
		case CMD_DATA:
			for (i = 0; i < data_pages; i++)
				WRITE_ONCE(*(uint64_t *)(GPA + i * 4096), i + 1);
			break;
		case CMD_ZERO:
			/* All of each page, as a guest's page zeroing does. */
			p = (void *)(GPA + data_pages * 4096);
			n = (npages - data_pages) * 512;
			asm volatile("rep stosq" : "+D"(p), "+c"(n) : "a"(0UL) : "memory");
			break;
		case CMD_FILL:
			for (i = 0; i < npages; i++)
				WRITE_ONCE(*(uint64_t *)(GPA + i * 4096), i | 1);
			break;
		}
	}
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void guest_do(struct kvm_vm *vm, struct kvm_vcpu *vcpu, uint64_t c)
{
	struct ucall uc;

	cmd = c;
	sync_global_to_guest(vm, cmd);
	kvmext_run_to_ucall(vcpu, &uc);
}

static struct kvm_vm *bench_vm(struct kvm_vcpu **vcpu, uint64_t pages, int advice)
{
	/* Sized so that memslot 0 holds the page tables mapping @pages. */
	struct kvm_vm *vm = __vm_create_with_one_vcpu(vcpu, pages, guest_code);
	void *hva;

	zp_add_slot(vm, VM_MEM_SRC_ANONYMOUS, GPA, SLOT, pages);
	hva = addr_gpa2hva(vm, GPA);
	TEST_ASSERT(!madvise(hva, pages * 4096, advice), "madvise");
	npages = pages;
	sync_global_to_guest(vm, npages);
	/* Into the guest's first exit: the vCPU's own setup is not measured. */
	guest_do(vm, *vcpu, 0);
	return vm;
}

static struct {
	long kb[MAX_SAMPLES];
	uint64_t ns[MAX_SAMPLES];
	int n;
	uint64_t t0;
	int stop;
} samples;

static void *sampler(void *arg)
{
	while (!READ_ONCE(samples.stop) && samples.n < MAX_SAMPLES) {
		samples.ns[samples.n] = now_ns() - samples.t0;
		samples.kb[samples.n] = zp_rss_anon_pages() * 4;
		samples.n++;
		usleep(SAMPLE_MS * 1000);
	}
	return NULL;
}

static void bench_reclaim(const char *label, int limit_s)
{
	long base, data_kb, target_kb, end_kb, scanned0 = 0, reclaimed0 = 0;
	uint64_t zero_end, hit = 0;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	pthread_t thr;
	int i, last;

	vm = bench_vm(&vcpu, RECLAIM_PAGES, MADV_MERGEABLE);
	base = zp_rss_anon_pages() * 4;
	data_pages = RECLAIM_PAGES / 4;
	sync_global_to_guest(vm, data_pages);
	guest_do(vm, vcpu, CMD_DATA);
	data_kb = data_pages * 4;
	/*
	 * The data is what the guest booted with: with the module, its
	 * scans are over before the zeroing starts (flush_ms), so what is
	 * scanned from here is what the zeroing made.
	 */
	if (zstat("scans") >= 0) {
		for (i = 0; i < 300 && (zstat("unscanned") || zstat("busy")); i++)
			usleep(100000);
		scanned0 = zstat("pages_scanned");
		reclaimed0 = zstat("pages_reclaimed");
	}
	target_kb = data_kb + data_kb / 50;

	samples.t0 = now_ns();
	pthread_create(&thr, NULL, sampler, NULL);
	guest_do(vm, vcpu, CMD_ZERO);
	zero_end = now_ns() - samples.t0;
	while (now_ns() - samples.t0 < zero_end + limit_s * 1000000000ULL) {
		if (zp_rss_anon_pages() * 4 - base <= target_kb) {
			hit = now_ns() - samples.t0;
			break;
		}
		usleep(5000);
	}
	/* One more second of the curve after the target. */
	if (hit)
		usleep(1000000);
	WRITE_ONCE(samples.stop, 1);
	pthread_join(thr, NULL);
	end_kb = zp_rss_anon_pages() * 4 - base;

	printf("reclaim %s ms %lld zero_ms %llu data_mib %ld end_mib %ld vm_mib %lu",
	       label, hit ? (long long)(hit - zero_end) / 1000000 : -1LL,
	       (unsigned long long)zero_end / 1000000, data_kb / 1024,
	       end_kb / 1024, RECLAIM_PAGES / 256);
	if (zstat("scans") >= 0)
		printf(" scans %ld pages_scanned %ld pages_reclaimed %ld scan_busy_us %ld zeroing_scanned %ld zeroing_reclaimed %ld",
		       zstat("scans"), zstat("pages_scanned"),
		       zstat("pages_reclaimed"), zstat("scan_busy_us"),
		       zstat("pages_scanned") - scanned0,
		       zstat("pages_reclaimed") - reclaimed0);
	printf("\n");
	/* About ten points per second of the curve. */
	for (i = 0, last = -1; i < samples.n; i++) {
		int slot = samples.ns[i] / 100000000;

		if (slot == last && i != samples.n - 1)
			continue;
		last = slot;
		printf("plot %s %llu %ld\n", label,
		       (unsigned long long)samples.ns[i] / 1000000,
		       (samples.kb[i] - base) / 1024);
	}
	kvm_vm_free(vm);
}

static void bench_fault(const char *mode)
{
	bool huge = !strcmp(mode, "thp");
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	uint64_t t;
	long scans;

	TEST_ASSERT(huge || !strcmp(mode, "4k"), "fault thp|4k");
	vm = bench_vm(&vcpu, FAULT_PAGES, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	/*
	 * The module's first scan of new memslots (for a VMM that pre-faulted
	 * them) is part of setting the VM up, not of the fault path; under
	 * single-threaded TCG it would take the guest's host thread.
	 */
	if (!access("/sys/module/kvm_zeropage", F_OK))
		zp_settle();
	scans = zstat("scans");
	t = now_ns();
	guest_do(vm, vcpu, CMD_FILL);
	t = now_ns() - t;
	printf("fault %s ns_per_page %llu scans_during %ld\n", mode,
	       (unsigned long long)(t / FAULT_PAGES),
	       scans >= 0 ? zstat("scans") - scans : 0);
	kvm_vm_free(vm);
}

static void bench_clear(void)
{
	size_t n = 64UL << 20, i;
	uint64_t t;
	char *p;

	p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(p != MAP_FAILED, "mmap");
	/* Populated first: only the clearing is timed, not the faults. */
	memset(p, 1, n);
	t = now_ns();
	for (i = 0; i < n; i += 4096)
		memset(p + i, 0, 4096);
	t = now_ns() - t;
	asm volatile("" : : "r"(p) : "memory");
	printf("clear ns_per_page %llu\n", (unsigned long long)(t / (n / 4096)));
	munmap(p, n);
}

int main(int argc, char *argv[])
{
	if (argc >= 3 && !strcmp(argv[1], "reclaim"))
		bench_reclaim(argv[2], argc >= 4 ? atoi(argv[3]) : 30);
	else if (argc == 3 && !strcmp(argv[1], "fault"))
		bench_fault(argv[2]);
	else if (argc == 2 && !strcmp(argv[1], "clear"))
		bench_clear();
	else {
		fprintf(stderr, "usage: zp_bench reclaim LABEL [LIMIT_S] | fault thp|4k | clear\n");
		return 2;
	}
	return 0;
}
