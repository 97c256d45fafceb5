// SPDX-License-Identifier: GPL-2.0
/*
 * topo_fuzz_test: a hostile guest against kvm-topo.
 *
 * Two vCPUs, each in its own thread, write random values to every MSR of
 * the kvmext range: random 64-bit values, and crafted ones (their own
 * page, unaligned and page-crossing addresses, addresses outside every
 * memslot, the APIC page, a page in a memslot that the host deletes and
 * re-creates all the time, every vector, random hints), and scribble over
 * their own registered page. Meanwhile the host deletes and re-creates
 * that memslot and moves the vCPU threads. Then a series of short-lived
 * VMs register and are destroyed at once. Given the module's path, the
 * test also unloads and reloads kvm-topo while the vCPUs hammer it.
 *
 * Checked: every guest access either succeeds or faults (the guest
 * counts, nothing else happens to it); the VM's counters account for the
 * refusals; the vCPU threads never leave the CPUs the administrator gave
 * them, their nice value never leaves [base - max_boost, base + 5], and
 * without a real-time budget they never leave SCHED_OTHER;
 * no per-VM state outlives its VM. The lab's console scan and kmemleak
 * pass catch any warning or leak in the host.
 *
 * Usage: topo_fuzz_test [writes per vCPU, default 50000] [path/to/kvm-topo.ko]
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <kvmext/pv.h>

#include "kselftest.h"
#include "kvmext_test.h"
#include "kvm_util.h"
#include "processor.h"
#include "test_util.h"

#define TOGGLE_SLOT	10
#define TOGGLE_GPA	0xc0000000ULL	/* above the test's RAM, below 4 GiB */
#define TOGGLE_SIZE	0x200000ULL
#define BOOST		3

struct guest_result {
	uint64_t writes, faults, reads;
};

static struct guest_result guest_results[2];
static uint64_t guest_iterations;

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static uint64_t guest_value(uint64_t *s, uint64_t page_gpa)
{
	uint64_t r = xorshift(s);

	switch (r % 12) {
	case 0:
		return xorshift(s);
	case 1:
		return page_gpa | KVMEXT_TOPO_PAGE_ENABLE;
	case 2:
		return (page_gpa + (r >> 8) % 4096) | KVMEXT_TOPO_PAGE_ENABLE;
	case 3:
		return (page_gpa + 4096 - 8) | KVMEXT_TOPO_PAGE_ENABLE;
	case 4:
		return TOGGLE_GPA | KVMEXT_TOPO_PAGE_ENABLE;
	case 5:
		return 0xfee00000ULL | KVMEXT_TOPO_PAGE_ENABLE;
	case 6:
		return ((xorshift(s) << 12) & ((1ULL << 52) - 1)) | KVMEXT_TOPO_PAGE_ENABLE;
	case 7:
		return (r >> 8) & 0x1ff;	/* any vector, enabled or not */
	case 8:
		return (r >> 8) & ((1ULL << 41) - 1);	/* any well-formed hint */
	case 9:
		return 0;
	case 10:
		return (r >> 8) | (1ULL << 63);
	default:
		return page_gpa | KVMEXT_TOPO_PAGE_ENABLE | (1ULL << ((r >> 8) % 11 + 1));
	}
}

static void guest_code(uint64_t idx, uint8_t *page, uint64_t page_gpa)
{
	struct guest_result *res = &guest_results[idx];
	uint64_t seed = 0x9e3779b97f4a7c15ULL * (idx + 1), i, v, r;
	uint32_t msr;

	for (i = 0; i < READ_ONCE(guest_iterations); i++) {
		r = xorshift(&seed);
		msr = r % 8 ? MSR_KVMEXT_PROBE + (r >> 3) % 4 :
			      KVMEXT_MSR_FIRST + (r >> 3) % 256;
		v = guest_value(&seed, page_gpa);
		res->faults += wrmsr_safe(msr, v) != 0;
		res->writes++;
		if (!(r & 0x70)) {
			res->faults += rdmsr_safe(msr, &v) != 0;
			res->reads++;
		}
		/* The guest owns its page: scribble over the host's fields. */
		page[(r >> 20) % 4096] = r >> 40;
		if (!(i % 1024))
			GUEST_SYNC(i);
	}
	wrmsr_safe(MSR_KVMEXT_TOPO_PAGE, 0);
	GUEST_DONE();
}

struct worker {
	struct kvm_vcpu *vcpu;
	pthread_t thread;
	pid_t tid;
	cpu_set_t envelope;
	int base_nice;
	bool started;
};

static struct worker workers[2];
static int nr_cpus;
static bool done[2];
static int violations;
static int syncs;

static void check_limits(struct worker *w)
{
	cpu_set_t now, outside;
	int nice;

	if (sched_getaffinity(w->tid, sizeof(now), &now))
		return;	/* thread gone */
	CPU_AND(&outside, &now, &w->envelope);
	if (!CPU_EQUAL(&outside, &now)) {
		__atomic_add_fetch(&violations, 1, __ATOMIC_RELAXED);
		ksft_print_msg("thread %d left its allowed CPUs\n", w->tid);
	}
	if (sched_getscheduler(w->tid) != SCHED_OTHER) {
		__atomic_add_fetch(&violations, 1, __ATOMIC_RELAXED);
		ksft_print_msg("thread %d got a real-time policy without a budget\n", w->tid);
	}
	nice = getpriority(PRIO_PROCESS, w->tid);
	if (nice < w->base_nice - BOOST || nice > w->base_nice + 5) {
		__atomic_add_fetch(&violations, 1, __ATOMIC_RELAXED);
		ksft_print_msg("thread %d nice %d outside [%d, %d]\n", w->tid, nice,
			       w->base_nice - BOOST, w->base_nice + 5);
	}
}

static void *worker_fn(void *arg)
{
	struct worker *w = arg;
	struct ucall uc;

	w->tid = syscall(__NR_gettid);
	TEST_ASSERT(!sched_setaffinity(0, sizeof(w->envelope), &w->envelope),
		    "sched_setaffinity");
	TEST_ASSERT(!setpriority(PRIO_PROCESS, 0, w->base_nice), "setpriority");
	WRITE_ONCE(w->started, true);
	while (kvmext_run_to_ucall(w->vcpu, &uc) == UCALL_SYNC) {
		check_limits(w);
		__atomic_add_fetch(&syncs, 1, __ATOMIC_RELAXED);
	}
	check_limits(w);
	WRITE_ONCE(done[w - workers], true);
	return NULL;
}

static int module_reload(const char *ko, bool load)
{
	char params[32];
	int fd, r;

	if (!load)
		return syscall(__NR_delete_module, "kvm_topo", O_NONBLOCK);
	fd = open(ko, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	snprintf(params, sizeof(params), "max_boost=%d", BOOST);
	r = syscall(__NR_finit_module, fd, params, 0);
	close(fd);
	return r;
}

/* The counters the checks use; kept across the module's reload. */
struct fuzz_stats {
	long rejected, registrations, updates, write_failed, hints_applied,
	     affinity_changes, priority_changes;
};

static void stats_add(struct fuzz_stats *st)
{
	st->rejected += kvmext_topo_vm_stat("rejected_");
	st->registrations += kvmext_topo_vm_stat("registrations");
	st->updates += kvmext_topo_vm_stat("updates");
	st->write_failed += kvmext_topo_vm_stat("write_failed");
	st->hints_applied += kvmext_topo_vm_stat("hints_applied");
	st->affinity_changes += kvmext_topo_vm_stat("affinity_changes");
	st->priority_changes += kvmext_topo_vm_stat("priority_changes");
}

static void toggle_slot(struct kvm_vm *vm, void *hva, bool present)
{
	struct kvm_userspace_memory_region r = {
		.slot = TOGGLE_SLOT,
		.guest_phys_addr = TOGGLE_GPA,
		.memory_size = present ? TOGGLE_SIZE : 0,
		.userspace_addr = (uint64_t)hva,
	};

	/* Raw ioctl: the library's region tree is not thread-safe. */
	TEST_ASSERT(!ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &r),
		    "memslot %s", present ? "add" : "delete");
}

static void short_lived_vm_code(uint64_t page_gpa)
{
	wrmsr_safe(MSR_KVMEXT_TOPO_PAGE, page_gpa | KVMEXT_TOPO_PAGE_ENABLE);
	wrmsr_safe(MSR_KVMEXT_HINT, KVMEXT_HINT(1, KVMEXT_HINT_LEVEL_NODE,
						KVMEXT_HINT_CLASS_LATENCY));
	GUEST_DONE();
}

static int short_lived_vms(int n)
{
	FILE *f;
	char line[128], me[64];
	int i, left = 0;

	for (i = 0; i < n; i++) {
		struct kvm_vcpu *vcpu;
		struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, short_lived_vm_code);
		vm_vaddr_t gva = vm_vaddr_alloc_page(vm);
		struct ucall uc;

		vm_init_descriptor_tables(vm);
		vcpu_init_descriptor_tables(vcpu);
		vcpu_args_set(vcpu, 1, addr_gva2gpa(vm, gva));
		kvmext_run_to_ucall(vcpu, &uc);
		kvm_vm_free(vm);
	}
	/* Every one of them must be gone from kvm-topo's table. */
	f = fopen("/sys/kernel/debug/kvm/kvm_topo/vms", "r");
	TEST_ASSERT(f, "open kvm_topo/vms");
	snprintf(me, sizeof(me), "vm kvm-%d\n", getpid());
	while (fgets(line, sizeof(line), f))
		left += !strcmp(line, me);
	fclose(f);
	return left;
}

int main(int argc, char *argv[])
{
	uint64_t iterations = argc > 1 ? strtoull(argv[1], NULL, 0) : 50000;
	const char *ko = argc > 2 ? argv[2] : NULL;
	int reload_failed = 0, reloads = 0;
	uint64_t writes = 0, faults = 0, reads = 0;
	struct fuzz_stats st = {};
	struct kvm_vcpu *vcpus[2];
	struct kvm_vm *vm;
	void *toggle_hva;
	unsigned int rounds = 0;
	int i, left;
	FILE *f;

	ksft_print_header();
	nr_cpus = sysconf(_SC_NPROCESSORS_ONLN);
	TEST_REQUIRE(nr_cpus >= 2);
	ksft_set_plan(ko ? 5 : 4);

	f = fopen("/sys/module/kvm_topo/parameters/max_boost", "w");
	TEST_ASSERT(f && fprintf(f, "%d", BOOST) > 0 && !fclose(f), "set max_boost");

	vm = vm_create_with_vcpus(2, guest_code, vcpus);
	vm_init_descriptor_tables(vm);
	guest_iterations = iterations;
	sync_global_to_guest(vm, guest_iterations);
	toggle_hva = mmap(NULL, TOGGLE_SIZE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(toggle_hva != MAP_FAILED, "mmap");
	toggle_slot(vm, toggle_hva, true);

	for (i = 0; i < 2; i++) {
		vm_vaddr_t gva = vm_vaddr_alloc_page(vm);
		int c;

		vcpu_init_descriptor_tables(vcpus[i]);
		vcpu_args_set(vcpus[i], 3, i, gva, addr_gva2gpa(vm, gva));
		workers[i].vcpu = vcpus[i];
		/* Each thread gets a different half of the CPUs, and nice 2. */
		CPU_ZERO(&workers[i].envelope);
		for (c = i % 2; c < nr_cpus; c += 2)
			CPU_SET(c, &workers[i].envelope);
		workers[i].base_nice = 2;
		pthread_create(&workers[i].thread, NULL, worker_fn, &workers[i]);
	}

	while (!READ_ONCE(done[0]) || !READ_ONCE(done[1])) {
		toggle_slot(vm, toggle_hva, rounds & 1);
		rounds++;
		/*
		 * Out and back in while both vCPUs write its MSRs, once they
		 * are 70% through, so most writes meet a loaded module.
		 */
		if (ko && reloads < 2 &&
		    READ_ONCE(syncs) * 1024 >= 2 * iterations * 7 / 10) {
			if (!reloads)
				stats_add(&st);
			reload_failed += module_reload(ko, reloads == 1) != 0;
			reloads++;
		}
		usleep(500);
		for (i = 0; i < 2; i++)
			if (READ_ONCE(workers[i].started) && !READ_ONCE(done[i]))
				check_limits(&workers[i]);
	}
	for (i = 0; i < 2; i++)
		pthread_join(workers[i].thread, NULL);
	if (ko && reloads == 1) {
		/* The vCPUs finished first: load it back for the checks below. */
		reload_failed += module_reload(ko, true) != 0;
		reloads++;
	}
	sync_global_from_guest(vm, guest_results);
	for (i = 0; i < 2; i++) {
		writes += guest_results[i].writes;
		faults += guest_results[i].faults;
		reads += guest_results[i].reads;
	}
	stats_add(&st);
	ksft_test_result(writes == 2 * iterations,
			 "%lu random writes and %lu reads completed, %lu faulted; %u memslot toggles\n",
			 writes, reads, faults, rounds);
	/*
	 * Every refusal the module counted is a guest fault; the rest of
	 * the faults are unserved MSRs and the read-only probe.
	 */
	ksft_test_result(st.rejected > 0 && st.rejected <= faults && st.registrations > 0 &&
			 st.hints_applied > 0,
			 "the VM's counters account for the refusals: %ld of %lu faults; %ld registrations, %ld updates, %ld failed writes, %ld hints applied, %ld affinity and %ld nice changes\n",
			 st.rejected, faults, st.registrations, st.updates, st.write_failed,
			 st.hints_applied, st.affinity_changes, st.priority_changes);
	ksft_test_result(!READ_ONCE(violations),
			 "no hint took a vCPU thread outside its CPUs, nice range [%d, %d] or SCHED_OTHER (%d violations)\n",
			 2 - BOOST, 2 + 5, READ_ONCE(violations));
	if (ko)
		ksft_test_result(reloads == 2 && !reload_failed,
				 "kvm-topo unloaded and reloaded while the vCPUs hammered it (%d of %d failed)\n",
				 reload_failed, reloads);
	kvm_vm_free(vm);
	munmap(toggle_hva, TOGGLE_SIZE);

	left = short_lived_vms(20);
	ksft_test_result(!left,
			 "20 VMs that registered and hinted, destroyed at once, leave no state (%d left)\n",
			 left);
	ksft_finished();
}
