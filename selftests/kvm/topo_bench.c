// SPDX-License-Identifier: GPL-2.0
/*
 * topo_bench: kvm-topo's benchmarks, printed as tables of figures and
 * ratios measured side by side in one run. Not a test: it reports.
 *
 *   topo_bench staleness          guest instructions between a host-side
 *                                 move of its vCPU thread and the guest
 *                                 seeing the new generation (target 0)
 *   topo_bench latency KO         p99 lateness of a latency-critical
 *                                 guest timer under 2:1 host overcommit,
 *                                 with the latency-critical hint (and a
 *                                 real-time budget) over without
 *   topo_bench overhead KO        time of an exit-heavy guest loop while
 *                                 its thread is moved every millisecond,
 *                                 with the module (registered) over without
 *                                 (target at most 1.02); KO is kvm-topo.ko,
 *                                 which the benchmark loads and unloads
 *
 * Needs kvm-topo loaded for staleness, and not loaded for the others.
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
#include "apic.h"
#include <asm/kvm_para.h>
#include <asm/pvclock.h>
#include <asm/pvclock-abi.h>
#include "test_util.h"

/* Shared with the guest; the host writes guest_stop through its mapping. */
struct bench_shared {
	uint64_t stop;
	uint64_t iterations;
	uint64_t gaps;
	uint64_t changes;
	uint64_t stale_changes;
	uint64_t max_stale;
	uint64_t loops;
	uint64_t do_register;
	uint64_t hint;
	uint64_t samples;
	uint64_t period_ns;
	uint64_t busy_ns;
	uint64_t pvti_gpa;
};

/* Local APIC timer registers; the 6.1 selftest apic.h lacks them. */
#define LAT_APIC_LVTT	0x320
#define LAT_APIC_TMICT	0x380
#define LAT_APIC_TDCR	0x3e0

#define LAT_SAMPLES	3000
#define LAT_BUSY_NS	500000
#define LAT_VECTOR	0xf0

/* The guest's lateness samples, in guest memory. */
static uint64_t guest_lateness[LAT_SAMPLES];
static struct pvclock_vcpu_time_info guest_pvti __aligned(64);
static uint64_t guest_deadline;
static uint64_t guest_fired;

/*
 * KVM rewrites the steal-time record, bumping its version, each time it
 * loads the vCPU on a CPU, before the next guest entry: the guest sees a
 * new steal-time version exactly when its thread was scheduled in again.
 * (A TSC gap cannot tell: with an unstable host TSC, as under TCG, KVM
 * hides the time the vCPU was out from the guest's TSC.) kvm-topo must
 * have the new generation in place by then: staleness is the number of
 * guest loop iterations run after the last sched-in before the new
 * generation shows.
 */
static void guest_staleness(struct bench_shared *sh, struct kvmext_topo_page *p,
			    uint64_t gpa)
{
	struct kvm_steal_time *st = (void *)((uint8_t *)p + 2048);
	uint32_t gen, seen, ver, last_ver;
	uint64_t since = 0;

	GUEST_ASSERT(!wrmsr_safe(MSR_KVM_STEAL_TIME, (gpa + 2048) | KVM_MSR_ENABLED));
	GUEST_ASSERT(!wrmsr_safe(MSR_KVMEXT_TOPO_PAGE, gpa | KVMEXT_TOPO_PAGE_ENABLE));
	seen = READ_ONCE(p->generation);
	last_ver = READ_ONCE(st->version);
	while (!READ_ONCE(sh->stop)) {
		ver = READ_ONCE(st->version);
		gen = READ_ONCE(p->generation);
		if (ver != last_ver) {
			sh->gaps++;
			since = 0;
			last_ver = ver;
		}
		if (gen != seen && !(gen & 1)) {
			sh->changes++;
			if (since) {
				sh->stale_changes++;
				if (since > sh->max_stale)
					sh->max_stale = since;
			}
			seen = gen;
		}
		since++;
		sh->iterations++;
	}
	GUEST_DONE();
}

static void guest_overhead(struct bench_shared *sh, struct kvmext_topo_page *p,
			   uint64_t gpa)
{
	uint32_t a, b, c, d;
	uint64_t v, i;

	/* Registered, with a hint, when asked to and the module is there. */
	if (READ_ONCE(sh->do_register) && !rdmsr_safe(MSR_KVMEXT_PROBE, &v) &&
	    KVMEXT_PROBE_IS_VALID(v)) {
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

static uint64_t guest_now(void)
{
	uint32_t v;
	uint64_t ns;

	do {
		v = READ_ONCE(guest_pvti.version);
		barrier();
		ns = __pvclock_read_cycles(&guest_pvti, rdtsc());
		barrier();
	} while ((v & 1) || v != READ_ONCE(guest_pvti.version));
	return ns;
}

static void guest_timer(struct ex_regs *regs)
{
	uint64_t now = guest_now();

	if (guest_fired < LAT_SAMPLES)
		guest_lateness[guest_fired] = now > guest_deadline ? now - guest_deadline : 0;
	WRITE_ONCE(guest_fired, guest_fired + 1);
	x2apic_write_reg(APIC_EOI, 0);
}

/*
 * A latency-critical task in the guest: every period its timer fires and
 * it works for busy_ns, then the vCPU halts until the next one. Its
 * lateness is how long after the deadline the interrupt handler ran, by
 * kvmclock, which follows host time across the vCPU's absences.
 */
static void guest_latency(struct bench_shared *sh)
{
	uint64_t start, n;

	GUEST_ASSERT(!wrmsr_safe(MSR_KVM_SYSTEM_TIME_NEW, sh->pvti_gpa | KVM_MSR_ENABLED));
	if (READ_ONCE(sh->hint))
		GUEST_ASSERT(!wrmsr_safe(MSR_KVMEXT_HINT, READ_ONCE(sh->hint)));
	x2apic_enable();
	x2apic_write_reg(LAT_APIC_TDCR, 0xb);	/* divide by 1: 1 GHz in KVM */
	x2apic_write_reg(LAT_APIC_LVTT, LAT_VECTOR);
	for (n = 0; n < READ_ONCE(sh->samples); n++) {
		start = guest_now();
		WRITE_ONCE(guest_deadline, start + sh->period_ns);
		x2apic_write_reg(LAT_APIC_TMICT, sh->period_ns);
		asm volatile("sti");
		while (guest_now() - start < sh->busy_ns)
			cpu_relax();
		asm volatile("cli");
		while (READ_ONCE(guest_fired) <= n)
			asm volatile("sti; hlt; cli");
		asm volatile("sti");
	}
	GUEST_DONE();
}

static void guest_code(uint64_t mode, struct bench_shared *sh,
		       struct kvmext_topo_page *p, uint64_t gpa)
{
	if (mode == 2)
		guest_latency(sh);
	else if (mode)
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

static void bench_staleness(void)
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
	printf("# %-44s %12lu\n", "sched-ins seen (steal-time versions)", sh->gaps);
	printf("# %-44s %12lu\n", "generations seen", sh->changes);
	printf("# %-44s %12lu\n", "seen only after running guest code", sh->stale_changes);
	printf("# %-44s %12lu\n", "worst staleness, loop iterations", sh->max_stale);
	printf("# staleness: %lu of %lu new generations were seen late; worst %lu iterations (target 0)\n",
	       sh->stale_changes, sh->changes, sh->max_stale);
	TEST_ASSERT(sh->changes > 0, "the guest saw no generation change");
	kvm_vm_free(vm);
	fflush(stdout);
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

static double overhead_round(uint64_t loops, bool do_register)
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
	sh->do_register = do_register;
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

static void bench_overhead(const char *ko)
{
	enum { ROUNDS = 9 };
	double without[ROUNDS], loaded[ROUNDS], with[ROUNDS];
	const uint64_t loops = 20000;
	int i;

	overhead_round(loops / 10, false);	/* warm up */
	for (i = 0; i < ROUNDS; i++) {
		without[i] = overhead_round(loops, false);
		TEST_ASSERT(!module_load(ko), "insmod %s", ko);
		loaded[i] = overhead_round(loops, false);
		with[i] = overhead_round(loops, true);
		TEST_ASSERT(!syscall(__NR_delete_module, "kvm_topo", O_NONBLOCK), "rmmod");
	}
	qsort(without, ROUNDS, sizeof(double), cmp);
	qsort(loaded, ROUNDS, sizeof(double), cmp);
	qsort(with, ROUNDS, sizeof(double), cmp);
	printf("# overhead: %lu x (RDMSR + CPUID) exits, vCPU thread moved every 1 ms, %d rounds each, interleaved\n",
	       loops, ROUNDS);
	printf("# %-34s %10s %10s %10s\n", "", "min s", "median s", "max s");
	printf("# %-34s %10.3f %10.3f %10.3f\n", "no module", without[0],
	       without[ROUNDS / 2], without[ROUNDS - 1]);
	printf("# %-34s %10.3f %10.3f %10.3f\n", "module loaded, guest not registered",
	       loaded[0], loaded[ROUNDS / 2], loaded[ROUNDS - 1]);
	printf("# %-34s %10.3f %10.3f %10.3f\n", "module loaded, registered + hint",
	       with[0], with[ROUNDS / 2], with[ROUNDS - 1]);
	printf("# overhead: loaded/none median time ratio %.3f; registered/none %.3f (target <= 1.02)\n",
	       loaded[ROUNDS / 2] / without[ROUNDS / 2], with[ROUNDS / 2] / without[ROUNDS / 2]);
	fflush(stdout);
}

struct hog {
	int cpu;
	bool stop;
};

static void *hog_fn(void *arg)
{
	struct hog *h = arg;

	move(syscall(__NR_gettid), h->cpu);
	while (!READ_ONCE(h->stop))
		;
	return NULL;
}

static void set_param(const char *name, unsigned int v)
{
	char path[96];
	FILE *f;

	snprintf(path, sizeof(path), "/sys/module/kvm_topo/parameters/%s", name);
	f = fopen(path, "w");
	TEST_ASSERT(f && fprintf(f, "%u", v) > 0 && !fclose(f), "set %s", name);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* One run: the vCPU thread and a CPU hog share one CPU; returns p50/p99. */
struct lat_result {
	uint64_t p50, p99, p999, max, over_10ms;
	long rt_grants, rt_throttled;
};

static void latency_round(uint64_t hint, struct lat_result *r)
{
	struct hog h = { .cpu = 1 };
	struct bench_shared *sh;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;
	pthread_t t;
	uint64_t *lat;

	vm = bench_vm(2, &vcpu, &sh);
	vm_install_exception_handler(vm, LAT_VECTOR, guest_timer);
	virt_pg_map(vm, APIC_DEFAULT_GPA, APIC_DEFAULT_GPA);
	sh->hint = hint;
	sh->samples = LAT_SAMPLES;
	sh->period_ns = 1000000;
	sh->busy_ns = LAT_BUSY_NS;
	sh->pvti_gpa = addr_gva2gpa(vm, (vm_vaddr_t)&guest_pvti);
	move(syscall(__NR_gettid), h.cpu);
	pthread_create(&t, NULL, hog_fn, &h);
	TEST_ASSERT(kvmext_run_to_ucall(vcpu, &uc) == UCALL_DONE, "latency guest");
	WRITE_ONCE(h.stop, true);
	pthread_join(t, NULL);
	sync_global_from_guest(vm, guest_lateness);
	lat = malloc(sizeof(guest_lateness));
	memcpy(lat, guest_lateness, sizeof(guest_lateness));
	qsort(lat, LAT_SAMPLES, sizeof(*lat), cmp_u64);
	r->p50 = lat[LAT_SAMPLES / 2];
	r->p99 = lat[LAT_SAMPLES * 99 / 100];
	r->p999 = lat[LAT_SAMPLES * 999 / 1000];
	r->max = lat[LAT_SAMPLES - 1];
	for (r->over_10ms = 0; r->over_10ms < LAT_SAMPLES &&
	     lat[LAT_SAMPLES - 1 - r->over_10ms] > 10000000; r->over_10ms++)
		;
	free(lat);
	r->rt_grants = kvmext_topo_vm_stat("rt_grants");
	r->rt_throttled = kvmext_topo_vm_stat("rt_throttled");
	kvm_vm_free(vm);
}

static void bench_latency(const char *ko)
{
	const uint64_t lc = KVMEXT_HINT(0, 0, KVMEXT_HINT_CLASS_LATENCY);
	struct lat_result r[3];
	const char *name[3] = {
		"no hint",
		"latency-critical, nice only",
		"latency-critical, rt_budget_pct=90",
	};
	int i;

	TEST_ASSERT(!module_load(ko), "insmod %s", ko);
	latency_round(0, &r[0]);
	latency_round(lc, &r[1]);
	set_param("rt_budget_pct", 90);
	latency_round(lc, &r[2]);
	set_param("rt_budget_pct", 0);
	TEST_ASSERT(!syscall(__NR_delete_module, "kvm_topo", O_NONBLOCK), "rmmod");

	printf("# latency: guest timer every 1 ms, %lu us of work per period, %d periods; vCPU thread and a CPU hog share one host CPU\n",
	       (uint64_t)LAT_BUSY_NS / 1000, LAT_SAMPLES);
	printf("# %-36s %9s %9s %9s %9s %6s %6s %6s\n", "lateness (us)", "p50", "p99", "p99.9",
	       "max", ">10ms", "rt", "thrtl");
	for (i = 0; i < 3; i++)
		printf("# %-36s %9.1f %9.1f %9.1f %9.1f %6lu %6ld %6ld\n", name[i], r[i].p50 / 1e3,
		       r[i].p99 / 1e3, r[i].p999 / 1e3, r[i].max / 1e3, r[i].over_10ms,
		       r[i].rt_grants, r[i].rt_throttled);
	printf("# latency: p99 without/with hint %.1fx (nice only), %.1fx (real-time budget); target >= 10\n",
	       (double)r[0].p99 / (r[1].p99 ? r[1].p99 : 1),
	       (double)r[0].p99 / (r[2].p99 ? r[2].p99 : 1));
	fflush(stdout);
}

int main(int argc, char *argv[])
{
	nr_cpus = sysconf(_SC_NPROCESSORS_ONLN);
	TEST_REQUIRE(nr_cpus >= 2);
	if (argc >= 2 && !strcmp(argv[1], "staleness"))
		bench_staleness();
	else if (argc >= 3 && !strcmp(argv[1], "overhead"))
		bench_overhead(argv[2]);
	else if (argc >= 3 && !strcmp(argv[1], "latency"))
		bench_latency(argv[2]);
	else
		TEST_FAIL("usage: %s staleness | overhead KO | latency KO", argv[0]);
	return 0;
}
