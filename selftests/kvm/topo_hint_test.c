// SPDX-License-Identifier: GPL-2.0
/*
 * topo_hint_test: guest hints (MSR_KVMEXT_HINT) change the host vCPU
 * threads only inside what the administrator allowed.
 *
 * Each vCPU runs in its own thread, as under QEMU. The test plays the
 * administrator: it sets each thread's affinity and nice value and
 * kvm-topo's max_boost parameter, then has the guest write hints, and
 * checks the threads' affinity and nice value after the write: a
 * co-location group gathers both threads in one package; a group that
 * lies outside a thread's allowed CPUs leaves it where the administrator
 * put it; a latency-critical class raises priority by max_boost and no
 * more, or than the VM's own limit in sysfs; real time only with the administrator's budget; a background
 * class lowers it; a hint within the rate limit
 * waits; reserved values fault and bad parameters are refused; a vCPU
 * reset gives the thread back; given the module's path, unloading gives
 * back what the module set.
 *
 * Usage: topo_hint_test [path/to/kvm-topo.ko]
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <kvmext/pv.h>

#include "kselftest.h"
#include "kvmext_test.h"
#include "kvm_util.h"
#include "processor.h"
#include "test_util.h"

#define HINT_INTERVAL_US	150000	/* above kvm-topo's default 100 ms */

static uint64_t guest_hint[2];
static uint64_t guest_vector[2];
static uint64_t guest_by_hypercall[2];

static void guest_code(uint64_t idx)
{
	uint64_t v;

	GUEST_ASSERT(!rdmsr_safe(MSR_KVMEXT_PROBE, &v));
	GUEST_ASSERT(KVMEXT_PROBE_FEATURES(v) & KVMEXT_FEATURE_HINTS);
	for (;;) {
		GUEST_SYNC(0);
		if (READ_ONCE(guest_by_hypercall[idx]))
			guest_vector[idx] = kvm_hypercall(KVMEXT_HC_HINT,
							  READ_ONCE(guest_hint[idx]), 0, 0, 0);
		else
			guest_vector[idx] = wrmsr_safe(MSR_KVMEXT_HINT,
						       READ_ONCE(guest_hint[idx]));
	}
}

struct worker {
	struct kvm_vcpu *vcpu;
	pthread_t thread;
	sem_t go, done;
	pid_t tid;
	bool quit;
};

static struct kvm_vm *vm;
static struct worker workers[2];
static int nr_cpus;

static void *worker_fn(void *arg)
{
	struct worker *w = arg;
	struct ucall uc;

	w->tid = syscall(__NR_gettid);
	sem_post(&w->done);
	for (;;) {
		sem_wait(&w->go);
		if (w->quit)
			break;
		kvmext_run_to_ucall(w->vcpu, &uc);
		sem_post(&w->done);
	}
	return NULL;
}

/* Write @hint from vCPU @idx; returns the vector the write raised. */
static uint64_t hint(int idx, uint64_t hint)
{
	guest_hint[idx] = hint;
	sync_global_to_guest(vm, guest_hint);
	sem_post(&workers[idx].go);
	sem_wait(&workers[idx].done);
	sync_global_from_guest(vm, guest_vector);
	return guest_vector[idx];
}

/*
 * Write @h and make sure it is the one applied: a hint still waiting for
 * the rate limit is applied when the vCPU next enters, and then the fresh
 * write waits in turn; a second write, an interval later, settles it.
 */
static void settle(int idx, uint64_t h)
{
	usleep(HINT_INTERVAL_US);
	hint(idx, h);
	usleep(HINT_INTERVAL_US);
	hint(idx, h);
}

static void admin_set(int idx, const cpu_set_t *cpus, int nice)
{
	TEST_ASSERT(!sched_setaffinity(workers[idx].tid, sizeof(*cpus), cpus),
		    "sched_setaffinity");
	TEST_ASSERT(!setpriority(PRIO_PROCESS, workers[idx].tid, nice), "setpriority");
}

static cpu_set_t affinity(int idx)
{
	cpu_set_t set;

	TEST_ASSERT(!sched_getaffinity(workers[idx].tid, sizeof(set), &set),
		    "sched_getaffinity");
	return set;
}

static int nice_of(int idx)
{
	return getpriority(PRIO_PROCESS, workers[idx].tid);
}

static cpu_set_t all_cpus(void)
{
	cpu_set_t set;
	int i;

	CPU_ZERO(&set);
	for (i = 0; i < nr_cpus; i++)
		CPU_SET(i, &set);
	return set;
}

/* The package of @cpu, from sysfs. */
static cpu_set_t package_of(int cpu)
{
	char path[96];
	cpu_set_t set;
	int id, i, other;
	FILE *f;

	CPU_ZERO(&set);
	snprintf(path, sizeof(path),
		 "/sys/devices/system/cpu/cpu%d/topology/physical_package_id", cpu);
	f = fopen(path, "r");
	TEST_ASSERT(f && fscanf(f, "%d", &id) == 1, "read %s", path);
	fclose(f);
	for (i = 0; i < nr_cpus; i++) {
		snprintf(path, sizeof(path),
			 "/sys/devices/system/cpu/cpu%d/topology/physical_package_id", i);
		f = fopen(path, "r");
		TEST_ASSERT(f && fscanf(f, "%d", &other) == 1, "read %s", path);
		fclose(f);
		if (other == id)
			CPU_SET(i, &set);
	}
	return set;
}

static int first_cpu(const cpu_set_t *set)
{
	int i;

	for (i = 0; i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, set))
			return i;
	return -1;
}

static void set_param(const char *name, const char *val, bool ok)
{
	char path[96];
	int fd, r;

	snprintf(path, sizeof(path), "/sys/module/kvm_topo/parameters/%s", name);
	fd = open(path, O_WRONLY);
	TEST_ASSERT(fd >= 0, "open %s", path);
	r = write(fd, val, strlen(val));
	close(fd);
	TEST_ASSERT(ok ? r == (int)strlen(val) : r < 0, "write %s to %s", val, path);
}

/*
 * This VM's directory of per-VM limits, named in kvm-topo's vms file once
 * it exists (a work makes it): waits up to 10 s for it.
 */
static void vm_sysfs(const char *file, char *path, size_t n)
{
	char line[128], me[64], name[64] = "";
	bool mine;
	FILE *f;
	int i;

	snprintf(me, sizeof(me), "vm kvm-%d\n", getpid());
	for (i = 0; i < 100 && !name[0]; i++) {
		if (i)
			usleep(100000);
		f = fopen("/sys/kernel/debug/kvm/kvm_topo/vms", "r");
		TEST_ASSERT(f, "open kvm_topo/vms");
		mine = false;
		while (fgets(line, sizeof(line), f)) {
			if (!strncmp(line, "vm ", 3))
				mine = !strcmp(line, me);
			else if (mine)
				sscanf(line, "sysfs %63s", name);
		}
		fclose(f);
	}
	TEST_ASSERT(name[0], "no sysfs directory for this VM after 10 s");
	snprintf(path, n, "/sys/kernel/kvm_topo/vms/%s/%s", name, file);
}

static bool write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY), r;

	TEST_ASSERT(fd >= 0, "open %s", path);
	r = write(fd, val, strlen(val));
	close(fd);
	return r == (int)strlen(val);
}

static void read_file(const char *path, char *buf, size_t n)
{
	FILE *f = fopen(path, "r");

	TEST_ASSERT(f && fgets(buf, n, f), "read %s", path);
	fclose(f);
	buf[strcspn(buf, "\n")] = 0;
}

int main(int argc, char *argv[])
{
	struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_RUNNABLE };
	const char *ko = argc > 1 ? argv[1] : NULL;
	cpu_set_t all, one, pkg, other, a0, a1;
	struct kvm_vcpu *vcpus[2];
	int i, anchor, n0, n1;
	uint64_t v0, v1;

	ksft_print_header();
	nr_cpus = sysconf(_SC_NPROCESSORS_ONLN);
	TEST_REQUIRE(nr_cpus >= 2);
	ksft_set_plan(ko ? 11 : 10);

	vm = vm_create_with_vcpus(2, guest_code, vcpus);
	vm_init_descriptor_tables(vm);
	for (i = 0; i < 2; i++) {
		vcpu_init_descriptor_tables(vcpus[i]);
		vcpu_args_set(vcpus[i], 1, i);
		workers[i].vcpu = vcpus[i];
		sem_init(&workers[i].go, 0, 0);
		sem_init(&workers[i].done, 0, 0);
		pthread_create(&workers[i].thread, NULL, worker_fn, &workers[i]);
		sem_wait(&workers[i].done);
	}
	all = all_cpus();

	/* vCPU 0 starts on the last CPU, then may run anywhere. */
	CPU_ZERO(&one);
	CPU_SET(nr_cpus - 1, &one);
	admin_set(0, &one, 0);
	admin_set(1, &all, 0);
	hint(0, 0);
	hint(1, 0);
	admin_set(0, &all, 0);

	v0 = hint(0, 1ULL << 41);
	v1 = hint(1, KVMEXT_HINT(0, 0, 3));
	ksft_test_result(v0 == GP_VECTOR && v1 == GP_VECTOR &&
			 kvmext_topo_vm_stat("rejected_reserved_bits") == 2 && kvmext_topo_vm_stat("hints") == 0,
			 "a reserved bit and the reserved class fault and are counted (%lu %lu, %ld)\n",
			 v0, v1, kvmext_topo_vm_stat("rejected_reserved_bits"));

	/* Co-location at package level gathers both threads around vCPU 0. */
	v0 = hint(0, KVMEXT_HINT(7, KVMEXT_HINT_LEVEL_PACKAGE, KVMEXT_HINT_CLASS_NORMAL));
	v1 = hint(1, KVMEXT_HINT(7, KVMEXT_HINT_LEVEL_PACKAGE, KVMEXT_HINT_CLASS_NORMAL));
	a0 = affinity(0);
	a1 = affinity(1);
	anchor = first_cpu(&a0);
	pkg = package_of(anchor);
	ksft_test_result(!v0 && !v1 && CPU_EQUAL(&a0, &pkg) && CPU_EQUAL(&a1, &pkg) &&
			 CPU_COUNT(&pkg) < nr_cpus,
			 "a package co-location group confines both vCPU threads to one package (%d of %d CPUs)\n",
			 CPU_COUNT(&a0), nr_cpus);

	/* The administrator moves vCPU 1 to the other package: it stays there. */
	CPU_XOR(&other, &all, &pkg);
	admin_set(1, &other, 0);
	usleep(HINT_INTERVAL_US);
	hint(1, KVMEXT_HINT(7, KVMEXT_HINT_LEVEL_PACKAGE, KVMEXT_HINT_CLASS_NORMAL));
	a1 = affinity(1);
	ksft_test_result(CPU_EQUAL(&a1, &other) && kvmext_topo_vm_stat("hints_clamped_envelope") == 1,
			 "co-location outside the allowed CPUs leaves the thread in them, counted (%ld)\n",
			 kvmext_topo_vm_stat("hints_clamped_envelope"));

	/* Priority: raised by max_boost and no more; lowered for background. */
	usleep(HINT_INTERVAL_US);
	hint(0, KVMEXT_HINT(0, 0, KVMEXT_HINT_CLASS_LATENCY));
	n0 = nice_of(0);
	set_param("max_boost", "2", true);
	set_param("max_boost", "40", false);
	usleep(HINT_INTERVAL_US);
	hint(0, KVMEXT_HINT(0, 0, KVMEXT_HINT_CLASS_LATENCY));
	n1 = nice_of(0);
	a0 = affinity(0);
	ksft_test_result(n0 == -5 && n1 == -2 && CPU_EQUAL(&a0, &all),
			 "latency-critical raises priority by max_boost only: nice %d, then %d with max_boost 2\n",
			 n0, n1);
	/* The per-VM limit overrides the module's, until set to default. */
	{
		char path[160], r0[32], r1[32], r2[32];
		bool ok;

		vm_sysfs("max_boost", path, sizeof(path));
		ok = write_file(path, "1") && !write_file(path, "40") &&
		     !write_file(path, "x");
		read_file(path, r0, sizeof(r0));
		settle(0, KVMEXT_HINT(0, 0, KVMEXT_HINT_CLASS_LATENCY));
		n0 = nice_of(0);
		ok = ok && write_file(path, "default");
		read_file(path, r1, sizeof(r1));
		settle(0, KVMEXT_HINT(0, 0, KVMEXT_HINT_CLASS_LATENCY));
		n1 = nice_of(0);
		vm_sysfs("rt_budget_pct", path, sizeof(path));
		read_file(path, r2, sizeof(r2));
		ksft_test_result(ok && !strcmp(r0, "1") && n0 == -1 && !strcmp(r1, "2 default") &&
				 n1 == -2 && !strcmp(r2, "0 default"),
				 "per-VM max_boost 1 gives nice %d (\"%s\"), back to the module's: %d (\"%s\"); 40 and x refused\n",
				 n0, r0, n1, r1);
	}

	usleep(HINT_INTERVAL_US);
	hint(0, KVMEXT_HINT(0, 0, KVMEXT_HINT_CLASS_BACKGROUND));
	n0 = nice_of(0);
	ksft_test_result(n0 == 5, "background lowers priority: nice %d\n", n0);

	/* A hint within the interval waits for it, then applies. */
	hint(0, KVMEXT_HINT(0, 0, KVMEXT_HINT_CLASS_LATENCY));
	n0 = nice_of(0);
	usleep(HINT_INTERVAL_US);
	hint(0, KVMEXT_HINT(0, 0, KVMEXT_HINT_CLASS_LATENCY));
	n1 = nice_of(0);
	ksft_test_result(n0 == 5 && n1 == -2 && kvmext_topo_vm_stat("hints_deferred") >= 1,
			 "a hint within hint_interval_ms waits for it (nice %d, then %d)\n",
			 n0, n1);

	/* Real time only with a budget from the administrator. */
	settle(0, KVMEXT_HINT(0, 0, KVMEXT_HINT_CLASS_LATENCY));
	n0 = sched_getscheduler(workers[0].tid);
	set_param("rt_budget_pct", "50", true);
	set_param("rt_budget_pct", "91", false);
	settle(0, KVMEXT_HINT(0, 0, KVMEXT_HINT_CLASS_LATENCY));
	n1 = sched_getscheduler(workers[0].tid);
	settle(0, KVMEXT_HINT(0, 0, KVMEXT_HINT_CLASS_NORMAL));
	i = sched_getscheduler(workers[0].tid);
	set_param("rt_budget_pct", "0", true);
	ksft_test_result(n0 == SCHED_OTHER && n1 == SCHED_FIFO && i == SCHED_OTHER &&
			 kvmext_topo_vm_stat("rt_grants") == 1,
			 "SCHED_FIFO only once rt_budget_pct is set, and only while latency-critical (%d %d %d)\n",
			 n0, n1, i);

	/* A reset gives vCPU 1's thread back to the administrator's settings. */
	usleep(HINT_INTERVAL_US);
	hint(1, KVMEXT_HINT(0, 0, KVMEXT_HINT_CLASS_LATENCY));
	n0 = nice_of(1);
	vcpu_ioctl(vcpus[1], KVM_SET_MP_STATE, &mp);
	usleep(HINT_INTERVAL_US);
	hint(1, 0);
	n1 = nice_of(1);
	ksft_test_result(n0 == -2 && n1 == 0 && vcpu_get_msr(vcpus[1], MSR_KVMEXT_HINT) == 0,
			 "a vCPU reset drops its hint: nice %d, then %d\n", n0, n1);

	/* The hypercall carries the same hint. */
	guest_by_hypercall[1] = 1;
	sync_global_to_guest(vm, guest_by_hypercall);
	settle(1, KVMEXT_HINT(0, 0, KVMEXT_HINT_CLASS_BACKGROUND));
	n0 = nice_of(1);
	v1 = hint(1, 1ULL << 50);
	guest_by_hypercall[1] = 0;
	sync_global_to_guest(vm, guest_by_hypercall);
	ksft_test_result(n0 == 5 && v1 == (uint64_t)-EINVAL,
			 "the hint hypercall applies a hint (nice %d) and refuses a bad one (%ld)\n",
			 n0, v1);

	if (ko) {
		settle(0, KVMEXT_HINT(0, 0, KVMEXT_HINT_CLASS_LATENCY));
		n0 = nice_of(0);
		TEST_ASSERT(!syscall(__NR_delete_module, "kvm_topo", O_NONBLOCK), "rmmod");
		n1 = nice_of(0);
		ksft_test_result(n0 == -2 && n1 == 0,
				 "unloading gives back what the module set: nice %d, then %d\n",
				 n0, n1);
	}
	for (i = 0; i < 2; i++) {
		workers[i].quit = true;
		sem_post(&workers[i].go);
		pthread_join(workers[i].thread, NULL);
	}
	kvm_vm_free(vm);
	ksft_finished();
}
