// SPDX-License-Identifier: GPL-2.0
/*
 * topo_bench: kvm-topo's benchmarks, printed as tables of figures and
 * ratios measured side by side in one run. Not a test: it reports.
 *
 *   topo_bench staleness          guest instructions between a host-side
 *                                 move of its vCPU thread and the guest
 *                                 seeing the new generation (target 0)
 *   topo_bench overhead KO        time of an exit-heavy guest loop while
 *                                 its thread is moved every millisecond,
 *                                 with the module (registered) over without
 *                                 (target at most 1.02); KO is kvm-topo.ko,
 *                                 which the benchmark loads and unloads
 *
 * Needs kvm-topo loaded for staleness, and not loaded for overhead.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <kvmext/pv.h>

#include "kselftest.h"
#include "kvmext_test.h"
#include "kvm_util.h"
#include "processor.h"
#include "test_util.h"

/* Shared with the guest; the host writes guest_stop through its mapping. */
struct bench_shared {
	uint64_t stop;
	uint64_t iterations;
	uint64_t gaps;
	uint64_t changes;
	uint64_t stale_changes;
	uint64_t max_stale;
	uint64_t gap_cycles;
	uint64_t loops;
};

static void guest_staleness(struct bench_shared *sh, struct kvmext_topo_page *p,
			    uint64_t gpa)
{
	uint64_t last, now, since_gap = 0, i = 0, min = ~0ULL;
	uint32_t gen, seen;

	GUEST_ASSERT(!wrmsr_safe(MSR_KVMEXT_TOPO_PAGE, gpa | KVMEXT_TOPO_PAGE_ENABLE));
	/* Calibrate: the fastest iteration; a gap is 50 times that. */
	last = rdtsc();
	for (i = 0; i < 10000; i++) {
		now = rdtsc();
		if (now - last < min)
			min = now - last;
		last = now;
	}
	sh->gap_cycles = 50 * (min ? min : 1);
	seen = READ_ONCE(p->generation);
	last = rdtsc();
	while (!READ_ONCE(sh->stop)) {
		now = rdtsc();
		if (now - last > sh->gap_cycles) {
			/* The vCPU was out of the guest: count from here. */
			sh->gaps++;
			since_gap = 0;
		}
		last = now;
		gen = READ_ONCE(p->generation);
		if (gen != seen && !(gen & 1)) {
			sh->changes++;
			if (since_gap) {
				sh->stale_changes++;
				if (since_gap > sh->max_stale)
					sh->max_stale = since_gap;
			}
			seen = gen;
		}
		since_gap++;
		sh->iterations++;
	}
	GUEST_DONE();
}

static void guest_overhead(struct bench_shared *sh, struct kvmext_topo_page *p,
			   uint64_t gpa)
{
	uint32_t a, b, c, d;
	uint64_t v, i;

	/* Registered, with a hint, when the module is there. */
	if (!rdmsr_safe(MSR_KVMEXT_PROBE, &v) && KVMEXT_PROBE_IS_VALID(v)) {
		GUEST_ASSERT(!wrmsr_safe(MSR_KVMEXT_TOPO_PAGE, gpa | KVMEXT_TOPO_PAGE_ENABLE));
		GUEST_ASSERT(!wrmsr_safe(MSR_KVMEXT_HINT, KVMEXT_HINT(1, KVMEXT_HINT_LEVEL_NODE,
								 KVMEXT_HINT_CLASS_NORMAL)));
	}
	for (;;) {
		GUEST_SYNC(0);
		for (i = 0; i < READ_ONCE(sh->loops); i++) {
			/* An MSR KVM serves in common code, and a CPUID. */
			v = rdmsr(MSR_IA32_MISC_ENABLE);
			cpuid(0, &a, &b, &c, &d);
		}
	}
}

static void guest_code(uint64_t mode, struct bench_shared *sh,
		       struct kvmext_topo_page *p, uint64_t gpa)
{
	if (mode)
		guest_overhead(sh, p, gpa);
	else
		guest_staleness(sh, p, gpa);
}

struct runner {
	struct kvm_vcpu *vcpu;
	pid_t tid;
	bool done;
	uint64_t cmd;
};

static int nr_cpus;

static void *run_to_done(void *arg)
{
	struct runner *r = arg;
	struct ucall uc;

	WRITE_ONCE(r->tid, syscall(__NR_gettid));
	while (kvmext_run_to_ucall(r->vcpu, &uc) != UCALL_DONE)
		;
	WRITE_ONCE(r->done, true);
	return NULL;
}

static void move(pid_t tid, int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(tid, sizeof(set), &set);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct kvm_vm *bench_vm(uint64_t mode, struct kvm_vcpu **vcpu,
			       struct bench_shared **sh)
{
	struct kvm_vm *vm = vm_create_with_one_vcpu(vcpu, guest_code);
	vm_vaddr_t shg = vm_vaddr_alloc_page(vm), pg = vm_vaddr_alloc_page(vm);

	vm_init_descriptor_tables(vm);
	vcpu_init_descriptor_tables(*vcpu);
	*sh = addr_gva2hva(vm, shg);
	memset(*sh, 0, sizeof(**sh));
	vcpu_args_set(*vcpu, 4, mode, shg, pg, addr_gva2gpa(vm, pg));
	return vm;
}

static void staleness(void)
{
	struct bench_shared *sh;
	struct kvm_vcpu *vcpu;
	struct runner r = {};
	struct kvm_vm *vm;
	pthread_t t;
	int moves;

	vm = bench_vm(0, &vcpu, &sh);
	r.vcpu = vcpu;
	pthread_create(&t, NULL, run_to_done, &r);
	while (!READ_ONCE(r.tid))
		usleep(1000);
	usleep(200000);
	for (moves = 0; moves < 500; moves++) {
		move(r.tid, moves % nr_cpus);
		usleep(2000);
	}
	WRITE_ONCE(sh->stop, 1);
	pthread_join(t, NULL);

	printf("# staleness: vCPU thread moved %d times over %d CPUs\n", moves, nr_cpus);
	printf("# %-44s %12s\n", "metric", "value");
	printf("# %-44s %12lu\n", "guest loop iterations", sh->iterations);
	printf("# %-44s %12lu\n", "exits seen by the guest (TSC gaps)", sh->gaps);
	printf("# %-44s %12lu\n", "generations seen", sh->changes);
	printf("# %-44s %12lu\n", "seen only after running guest code", sh->stale_changes);
	printf("# %-44s %12lu\n", "worst staleness, loop iterations", sh->max_stale);
	printf("# staleness: %lu of %lu new generations were seen late; worst %lu iterations (target 0)\n",
	       sh->stale_changes, sh->changes, sh->max_stale);
	kvm_vm_free(vm);
	TEST_ASSERT(sh->changes > 0, "the guest saw no generation change");
}

struct mover {
	pid_t tid;
	bool stop;
};

static void *mover_fn(void *arg)
{
	struct mover *m = arg;
	int i = 0;

	while (!READ_ONCE(m->stop)) {
		move(m->tid, i++ % nr_cpus);
		usleep(1000);
	}
	return NULL;
}

static double overhead_round(uint64_t loops)
{
	struct mover m = { .tid = syscall(__NR_gettid) };
	struct bench_shared *sh;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;
	pthread_t t;
	double t0, t1;

	vm = bench_vm(1, &vcpu, &sh);
	sh->loops = loops;
	/* To the first sync: registration done, nothing measured yet. */
	kvmext_run_to_ucall(vcpu, &uc);
	/* The measured loop runs in this thread; a helper keeps moving it. */
	pthread_create(&t, NULL, mover_fn, &m);
	t0 = now_s();
	kvmext_run_to_ucall(vcpu, &uc);
	t1 = now_s();
	WRITE_ONCE(m.stop, true);
	pthread_join(t, NULL);
	kvm_vm_free(vm);
	return t1 - t0;
}

static int module_load(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), r;

	if (fd < 0)
		return -1;
	r = syscall(__NR_finit_module, fd, "", 0);
	close(fd);
	return r;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void overhead(const char *ko)
{
	enum { ROUNDS = 5 };
	double without[ROUNDS], with[ROUNDS];
	const uint64_t loops = 20000;
	int i;

	overhead_round(loops / 10);	/* warm up */
	for (i = 0; i < ROUNDS; i++) {
		without[i] = overhead_round(loops);
		TEST_ASSERT(!module_load(ko), "insmod %s", ko);
		with[i] = overhead_round(loops);
		TEST_ASSERT(!syscall(__NR_delete_module, "kvm_topo", O_NONBLOCK), "rmmod");
	}
	qsort(without, ROUNDS, sizeof(double), cmp);
	qsort(with, ROUNDS, sizeof(double), cmp);
	printf("# overhead: %lu x (RDMSR + CPUID) exits, vCPU thread moved every 1 ms, %d rounds each, interleaved\n",
	       loops, ROUNDS);
	printf("# %-10s %12s %12s %12s\n", "", "min s", "median s", "max s");
	printf("# %-10s %12.3f %12.3f %12.3f\n", "without", without[0], without[ROUNDS / 2],
	       without[ROUNDS - 1]);
	printf("# %-10s %12.3f %12.3f %12.3f\n", "with", with[0], with[ROUNDS / 2],
	       with[ROUNDS - 1]);
	printf("# overhead: with/without median time ratio %.3f (target <= 1.02)\n",
	       with[ROUNDS / 2] / without[ROUNDS / 2]);
}

int main(int argc, char *argv[])
{
	nr_cpus = sysconf(_SC_NPROCESSORS_ONLN);
	TEST_REQUIRE(nr_cpus >= 2);
	if (argc >= 2 && !strcmp(argv[1], "staleness"))
		staleness();
	else if (argc >= 3 && !strcmp(argv[1], "overhead"))
		overhead(argv[2]);
	else
		TEST_FAIL("usage: %s staleness | overhead path/to/kvm-topo.ko", argv[0]);
	return 0;
}
