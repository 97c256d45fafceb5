// SPDX-License-Identifier: GPL-2.0
/*
 * zp_integrity_test: no write is lost while kvm-zeropage hands pages back.
 *
 * One memslot of 4K pages, and the VM's threshold at its minimum (1 MiB),
 * so scans run all the time. For ROUNDS rounds, every page is rewritten
 * by its one writer: whole with zeros in one round (it is then a page to
 * hand back), zeros and one token in the next. The writers race the
 * scans:
 * - two vCPUs, through KVM's page tables, each reading its token back;
 * - a VMM thread, through the VMM's own mapping;
 * - a buffer pinned for DMA (an io_uring fixed buffer over more pages of
 *   the slot), written by the kernel through the pin (READ_FIXED from a
 *   memfd), which must show through the VMM's mapping each time.
 * A page handed back and written again is new and recorded, so each scan
 * feeds the next (about half as much: what is zero when it runs); a
 * churn thread in another memslot (write, then
 * MADV_DONTNEED) keeps the counter crossing the threshold, so scans go on
 * for the whole run.
 * At the end every page must hold what its writer wrote last, as the VMM
 * and as the guest see it, and the scans must have handed pages back
 * meanwhile.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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
#define PAGES		2048		/* written by vCPUs and the VMM thread */
#define PIN_PAGES	16		/* after them: the pinned buffer */
#define ROUNDS		40
#define NR_VCPUS	2
#define VMM_WRITER	2		/* page i is written by writer i % 4 */
#define CHURN_SLOT	11
#define CHURN_GPA	0x100000000ULL
#define CHURN_PAGES	512

/* Page i after round r: zeros, or zeros and this at word i % 512. */
static uint64_t token(uint64_t r, uint64_t i)
{
	return 1ULL << 63 | r << 32 | i;
}

static bool has_token(uint64_t r, uint64_t i)
{
	return (i + r) % 2;
}

static void fill(uint64_t *p, uint64_t r, uint64_t i)
{
	uint64_t j;

	for (j = 0; j < 512; j++)
		WRITE_ONCE(p[j], 0);
	if (has_token(r, i))
		WRITE_ONCE(p[i % 512], token(r, i));
}

static bool page_ok(uint64_t *p, uint64_t r, uint64_t i)
{
	uint64_t j;

	for (j = 0; j < 512; j++)
		if (READ_ONCE(p[j]) !=
		    (j == i % 512 && has_token(r, i) ? token(r, i) : 0))
			return false;
	return true;
}

static void guest_code(uint64_t id)
{
	uint64_t r, i;

	for (r = 0; r < ROUNDS; r++) {
		for (i = id; i < PAGES; i += 4) {
			uint64_t *p = (uint64_t *)(GPA + i * 4096);

			fill(p, r, i);
			GUEST_ASSERT_2(page_ok(p, r, i), r, i);
		}
	}
	/* What the other writers did is checked by the VMM. */
	for (i = id; i < PAGES; i += 4)
		GUEST_ASSERT_1(page_ok((uint64_t *)(GPA + i * 4096),
				       ROUNDS - 1, i), i);
	GUEST_DONE();
}

static struct kvm_vm *vm;
static bool vcpus_done;

static void *vcpu_thread(void *arg)
{
	struct kvm_vcpu *vcpu = arg;
	struct ucall uc;

	while (kvmext_run_to_ucall(vcpu, &uc) != UCALL_DONE)
		;
	return NULL;
}

/* The VMM's writer: rounds until the vCPUs are done; returns its last. */
static void *vmm_thread(void *arg)
{
	uint64_t r, i;

	for (r = 0; r < ROUNDS || !READ_ONCE(vcpus_done); r++) {
		for (i = VMM_WRITER; i < PAGES; i += 4) {
			uint64_t *p = addr_gpa2hva(vm, GPA + i * 4096);

			fill(p, r, i);
			TEST_ASSERT(page_ok(p, r, i),
				    "VMM write lost: page %lu, round %lu", i, r);
		}
	}
	return (void *)(r - 1);
}

/* New pages, so that the threshold keeps being crossed. */
static void *churn_thread(void *arg)
{
	uint8_t *p = addr_gpa2hva(vm, CHURN_GPA);
	uint64_t i;

	while (!READ_ONCE(vcpus_done)) {
		for (i = 0; i < CHURN_PAGES; i++)
			WRITE_ONCE(p[i * 4096], 1);
		TEST_ASSERT(!madvise(p, CHURN_PAGES * 4096, MADV_DONTNEED),
			    "MADV_DONTNEED");
		usleep(2000);
	}
	return NULL;
}

/* The device's writer: rounds until the vCPUs are done; returns its last. */
static void *pin_thread(void *arg)
{
	size_t len = PIN_PAGES * 4096;
	uint64_t *buf = addr_gpa2hva(vm, GPA + PAGES * 4096ULL);
	uint64_t *src = malloc(len), r, i;
	int file = memfd_create("zp_integrity", 0);
	struct zp_ring ring;

	TEST_ASSERT(src && file >= 0, "memfd");
	/* The guest never writes there: the pages are made here, then pinned. */
	memset(buf, 0, len);
	zp_ring_init(&ring, buf, len);
	for (r = 0; r < ROUNDS || !READ_ONCE(vcpus_done); r++) {
		for (i = 0; i < PIN_PAGES; i++)
			fill(src + i * 512, r, PAGES + i);
		TEST_ASSERT(pwrite(file, src, len, 0) == (ssize_t)len, "pwrite");
		zp_ring_read_fixed(&ring, file, buf, len);
		for (i = 0; i < PIN_PAGES; i++)
			TEST_ASSERT(page_ok(buf + i * 512, r, PAGES + i),
				    "write through the pin lost: page %lu, round %lu",
				    PAGES + i, r);
		usleep(1000);
	}
	close(ring.fd);
	close(file);
	free(src);
	return (void *)(r - 1);
}

int main(int argc, char *argv[])
{
	struct kvm_vcpu *vcpus[NR_VCPUS];
	pthread_t vt[NR_VCPUS], vmm, pin, churn;
	void *vmm_last, *pin_last;
	long rec0, scans0, bad = -1;
	char dir[128];
	uint64_t i, last;
	int v;

	ksft_print_header();
	TEST_REQUIRE(!access(ZP_VMS, R_OK));
	ksft_set_plan(2);

	vm = vm_create_with_vcpus(NR_VCPUS, guest_code, vcpus);
	zp_add_slot(vm, VM_MEM_SRC_ANONYMOUS, GPA, SLOT, PAGES + PIN_PAGES);
	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, CHURN_GPA, CHURN_SLOT,
				    CHURN_PAGES, 0);
	for (v = 0; v < NR_VCPUS; v++)
		vcpu_args_set(vcpus[v], 1, v);
	zp_vm_dir(dir, sizeof(dir));
	TEST_ASSERT(!zp_vm_write(dir, "threshold_mb", "1"), "threshold_mb 1");
	zp_settle();
	rec0 = zstat("pages_reclaimed");
	scans0 = zstat("scans");

	pthread_create(&pin, NULL, pin_thread, NULL);
	pthread_create(&vmm, NULL, vmm_thread, NULL);
	pthread_create(&churn, NULL, churn_thread, NULL);
	for (v = 0; v < NR_VCPUS; v++)
		pthread_create(&vt[v], NULL, vcpu_thread, vcpus[v]);
	for (v = 0; v < NR_VCPUS; v++)
		pthread_join(vt[v], NULL);
	WRITE_ONCE(vcpus_done, true);
	pthread_join(vmm, &vmm_last);
	pthread_join(pin, &pin_last);
	pthread_join(churn, NULL);
	zp_settle();

	for (i = 0; i < PAGES + PIN_PAGES && bad < 0; i++) {
		if (i >= PAGES)
			last = (uint64_t)pin_last;
		else if (i % 4 == VMM_WRITER)
			last = (uint64_t)vmm_last;
		else if (i % 4 < NR_VCPUS)
			last = ROUNDS - 1;
		else
			continue;	/* never written */
		if (!page_ok(addr_gpa2hva(vm, GPA + i * 4096), last, i))
			bad = i;
	}
	ksft_test_result(bad < 0,
			 "every page holds its last write (first bad page %ld): vCPUs %d rounds, VMM %lu, pinned buffer %lu\n",
			 bad, ROUNDS, (uint64_t)vmm_last + 1, (uint64_t)pin_last + 1);
	ksft_test_result(zstat("scans") - scans0 >= 20 &&
			 zstat("pages_reclaimed") - rec0 >= 256,
			 "meanwhile %ld scans handed back %ld pages (%ld changed before the unmap, %ld retries, %ld pinned)\n",
			 zstat("scans") - scans0, zstat("pages_reclaimed") - rec0,
			 zstat("changed"), zstat("retries"), zstat("skipped_pinned"));
	kvm_vm_free(vm);
	ksft_finished();
}
