// SPDX-License-Identifier: GPL-2.0
/*
 * topo_vnuma_test: kvm-topo's opt-in vnuma placement.
 *
 * The VMM binds a memslot's memory to the last host NUMA node, as QEMU
 * does for a guest node's memory backend with host-nodes=. With the
 * module's vnuma parameter set, a vCPU that registers its page in that
 * memory has its thread kept on that node's CPUs, within the affinity the
 * administrator gave it; registering a page of unbound memory gives the
 * thread its whole affinity back; with vnuma off nothing moves.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <kvmext/pv.h>

#include "kselftest.h"
#include "kvmext_test.h"
#include "kvm_util.h"
#include "processor.h"
#include "test_util.h"

#define BOUND_SLOT	10
#define BOUND_GPA	0xc0000000ULL
#define BOUND_PAGES	512
#define MPOL_BIND_MODE	2

static uint64_t guest_gpa;
static uint64_t guest_vector;

static void guest_code(void)
{
	for (;;) {
		GUEST_SYNC(0);
		guest_vector = wrmsr_safe(MSR_KVMEXT_TOPO_PAGE,
					  READ_ONCE(guest_gpa) | KVMEXT_TOPO_PAGE_ENABLE);
	}
}

static void set_vnuma(const char *v)
{
	int fd = open("/sys/module/kvm_topo/parameters/vnuma", O_WRONLY);

	TEST_ASSERT(fd >= 0 && write(fd, v, 1) == 1, "set vnuma=%s", v);
	close(fd);
}

static cpu_set_t node_cpus(int node)
{
	char path[80], buf[256], *tok, *save;
	cpu_set_t set;
	int a, b;
	FILE *f;

	CPU_ZERO(&set);
	snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/cpulist", node);
	f = fopen(path, "r");
	TEST_ASSERT(f && fgets(buf, sizeof(buf), f), "read %s", path);
	fclose(f);
	for (tok = strtok_r(buf, ",\n", &save); tok; tok = strtok_r(NULL, ",\n", &save)) {
		if (sscanf(tok, "%d-%d", &a, &b) == 2)
			for (; a <= b; a++)
				CPU_SET(a, &set);
		else
			CPU_SET(strtol(tok, NULL, 10), &set);
	}
	return set;
}

static cpu_set_t run_with(struct kvm_vm *vm, struct kvm_vcpu *vcpu, uint64_t gpa)
{
	struct ucall uc;
	cpu_set_t now;

	guest_gpa = gpa;
	sync_global_to_guest(vm, guest_gpa);
	kvmext_run_to_ucall(vcpu, &uc);
	sync_global_from_guest(vm, guest_vector);
	TEST_ASSERT(!guest_vector, "registration faulted (%lu)", guest_vector);
	TEST_ASSERT(!sched_getaffinity(0, sizeof(now), &now), "sched_getaffinity");
	return now;
}

int main(int argc, char *argv[])
{
	int nr_cpus = sysconf(_SC_NPROCESSORS_ONLN), node = -1, i;
	cpu_set_t all, bound, got;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	unsigned long mask;
	uint64_t own_gpa;
	void *hva;
	char path[64];

	ksft_print_header();
	for (i = 0; i < 64; i++) {
		snprintf(path, sizeof(path), "/sys/devices/system/node/node%d", i);
		if (!access(path, F_OK))
			node = i;
	}
	TEST_REQUIRE(node > 0);
	ksft_set_plan(3);

	CPU_ZERO(&all);
	for (i = 0; i < nr_cpus; i++)
		CPU_SET(i, &all);
	TEST_ASSERT(!sched_setaffinity(0, sizeof(all), &all), "sched_setaffinity");
	bound = node_cpus(node);

	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, BOUND_GPA, BOUND_SLOT,
				    BOUND_PAGES, 0);
	hva = addr_gpa2hva(vm, BOUND_GPA);
	mask = 1UL << node;
	TEST_ASSERT(!syscall(__NR_mbind, hva, BOUND_PAGES * getpagesize(), MPOL_BIND_MODE,
			     &mask, 64, 0), "mbind to node %d", node);
	own_gpa = addr_gva2gpa(vm, vm_vaddr_alloc_page(vm));
	run_with(vm, vcpu, own_gpa);	/* to the first sync */

	set_vnuma("0");
	got = run_with(vm, vcpu, BOUND_GPA);
	ksft_test_result(CPU_EQUAL(&got, &all) && kvmext_topo_vm_stat("vnuma_placed") == 0,
			 "vnuma off: a page in node %d's memory moves nothing (%d CPUs)\n",
			 node, CPU_COUNT(&got));

	set_vnuma("1");
	got = run_with(vm, vcpu, BOUND_GPA);
	ksft_test_result(CPU_EQUAL(&got, &bound) && kvmext_topo_vm_stat("vnuma_placed") == 1,
			 "vnuma on: a page in node %d's memory keeps the thread on its %d CPUs (%d)\n",
			 node, CPU_COUNT(&bound), CPU_COUNT(&got));

	usleep(150000);	/* past kvm-topo's hint_interval_ms */
	got = run_with(vm, vcpu, own_gpa);
	ksft_test_result(CPU_EQUAL(&got, &all),
			 "a page in unbound memory gives the thread its %d CPUs back (%d)\n",
			 CPU_COUNT(&all), CPU_COUNT(&got));
	set_vnuma("0");
	kvm_vm_free(vm);
	ksft_finished();
}
