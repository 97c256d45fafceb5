// SPDX-License-Identifier: GPL-2.0
/*
 * topo_disclosure_test: the kvm-topo page, from guest code.
 *
 * Two vCPUs register their pages. The test moves the thread that runs
 * them between host CPUs and checks that the first guest instructions
 * after each move see a new generation and masks that match the host's
 * topology (from sysfs); that a move of the other vCPU is seen too; that
 * the change interrupt arrives on the chosen vector, once per
 * acknowledged change; that bad registrations fault and change nothing;
 * that resetting the vCPU drops the registration; and, given the module's
 * path, that unloading marks the page and a reload serves it again.
 *
 * Usage: topo_disclosure_test [path/to/kvm-topo.ko]
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <glob.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <kvmext/pv.h>

#include "apic.h"
#include "kselftest.h"
#include "kvmext_test.h"
#include "kvm_util.h"
#include "processor.h"
#include "test_util.h"

#define NOTIFY_VECTOR	0xec

enum { CMD_NONE, CMD_IRQ_ON, CMD_ACK, CMD_REREGISTER };

/* What the guest read, first thing after each return to it. */
struct snap {
	uint64_t epoch;
	uint32_t magic, version, features, generation, vcpu_id, nr_ids;
	uint32_t capacity, retries;
	uint64_t smt, llc, node;
	uint64_t irqs;
	uint32_t irq_generation;
	uint32_t bad_writes;
};

static uint64_t guest_cmd[2];
static struct snap guest_snap[2];
static uint64_t guest_irqs;
static uint32_t guest_irq_generation;
static struct kvmext_topo_page *guest_page0;

static void guest_irq(struct ex_regs *regs)
{
	WRITE_ONCE(guest_irqs, guest_irqs + 1);
	WRITE_ONCE(guest_irq_generation, READ_ONCE(guest_page0->generation));
	x2apic_write_reg(APIC_EOI, 0);
}

static void guest_read(struct kvmext_topo_page *p, struct snap *s)
{
	uint32_t gen;

	s->retries = 0;
	for (;;) {
		gen = READ_ONCE(p->generation);
		if (gen & 1) {
			s->retries++;
			continue;
		}
		barrier();
		s->magic = p->magic;
		s->version = p->version;
		s->features = p->features;
		s->epoch = p->epoch;
		s->vcpu_id = p->vcpu_id;
		s->nr_ids = p->nr_ids;
		s->capacity = p->capacity;
		s->smt = p->smt[0];
		s->llc = p->llc[0];
		s->node = p->node[0];
		barrier();
		if (READ_ONCE(p->generation) == gen)
			break;
		s->retries++;
	}
	s->generation = gen;
	s->irqs = READ_ONCE(guest_irqs);
	s->irq_generation = READ_ONCE(guest_irq_generation);
}

static uint32_t guest_bad_writes(uint64_t gpa)
{
	uint32_t bad = 0;

	/* Each must fault; count those that do not. */
	bad += wrmsr_safe(MSR_KVMEXT_TOPO_PAGE, gpa | 1 | 2) != GP_VECTOR;
	bad += wrmsr_safe(MSR_KVMEXT_TOPO_PAGE, gpa) != GP_VECTOR;
	bad += wrmsr_safe(MSR_KVMEXT_TOPO_PAGE, (gpa + 8) | 1) != GP_VECTOR;
	bad += wrmsr_safe(MSR_KVMEXT_TOPO_PAGE, 0xfee00000ULL | 1) != GP_VECTOR;
	bad += wrmsr_safe(MSR_KVMEXT_TOPO_PAGE, (1ULL << 46) | 1) != GP_VECTOR;
	bad += wrmsr_safe(MSR_KVMEXT_TOPO_NOTIFY,
			  KVMEXT_TOPO_NOTIFY_ENABLE | 31) != GP_VECTOR;
	bad += wrmsr_safe(MSR_KVMEXT_TOPO_NOTIFY, 1ULL << 9) != GP_VECTOR;
	return bad;
}

static void guest_code(uint64_t idx, struct kvmext_topo_page *p, uint64_t gpa)
{
	struct snap *s = &guest_snap[idx];
	uint32_t bad;
	uint64_t v;

	GUEST_ASSERT(!rdmsr_safe(MSR_KVMEXT_PROBE, &v));
	GUEST_ASSERT(KVMEXT_PROBE_FEATURES(v) & KVMEXT_FEATURE_TOPO);
	bad = guest_bad_writes(gpa);
	GUEST_ASSERT(p->magic == 0);
	GUEST_ASSERT(!wrmsr_safe(MSR_KVMEXT_TOPO_PAGE, gpa | KVMEXT_TOPO_PAGE_ENABLE));
	for (;;) {
		guest_read(p, s);
		s->bad_writes = bad;
		switch (READ_ONCE(guest_cmd[idx])) {
		case CMD_IRQ_ON:
			guest_page0 = p;
			x2apic_enable();
			GUEST_ASSERT(!wrmsr_safe(MSR_KVMEXT_TOPO_NOTIFY,
						 KVMEXT_TOPO_NOTIFY_ENABLE | NOTIFY_VECTOR));
			asm volatile("sti");
			break;
		case CMD_ACK:
			WRITE_ONCE(p->ack, s->generation);
			break;
		case CMD_REREGISTER:
			GUEST_ASSERT(!wrmsr_safe(MSR_KVMEXT_TOPO_PAGE,
						 gpa | KVMEXT_TOPO_PAGE_ENABLE));
			guest_read(p, s);
			break;
		}
		guest_cmd[idx] = CMD_NONE;
		GUEST_SYNC(0);
	}
}

static int nr_cpus;

static uint64_t read_hex(const char *fmt, int cpu)
{
	char path[128], buf[256];
	uint64_t v = 0;
	FILE *f;
	char *c;

	snprintf(path, sizeof(path), fmt, cpu);
	f = fopen(path, "r");
	TEST_ASSERT(f, "open %s", path);
	TEST_ASSERT(fgets(buf, sizeof(buf), f), "read %s", path);
	fclose(f);
	/* Masks are printed as 32-bit words separated by commas. */
	for (c = buf; *c && *c != '\n'; c++)
		if (*c != ',')
			v = (v << 4) | strtoul((char[]){ *c, 0 }, NULL, 16);
	return v;
}

static int cpu_node(int cpu)
{
	char pat[96];
	glob_t g;
	int node = 0;

	snprintf(pat, sizeof(pat), "/sys/devices/system/cpu/cpu%d/node*", cpu);
	if (!glob(pat, 0, NULL, &g) && g.gl_pathc)
		node = atoi(strrchr(g.gl_pathv[0], 'e') + 1);
	globfree(&g);
	return node;
}

/* The masks vCPU 0 must see with itself on @a and vCPU 1 on @b. */
static void expected(int a, int b, uint64_t *smt, uint64_t *llc, uint64_t *node)
{
	uint64_t sib = read_hex("/sys/devices/system/cpu/cpu%d/topology/thread_siblings", a);
	uint64_t pa = read_hex("/sys/devices/system/cpu/cpu%d/topology/physical_package_id", a);
	uint64_t pb = read_hex("/sys/devices/system/cpu/cpu%d/topology/physical_package_id", b);

	*smt = 1 | ((sib >> b) & 1) << 1;
	*llc = 1 | (uint64_t)(pa == pb) << 1;
	*node = 1 | (uint64_t)(cpu_node(a) == cpu_node(b)) << 1;
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	TEST_ASSERT(!sched_setaffinity(0, sizeof(set), &set), "sched_setaffinity to CPU %d", cpu);
}

static struct kvm_vm *vm;
static struct kvm_vcpu *vcpus[2];
static struct kvmext_topo_page *pages[2];

static struct snap run(int idx, int cpu, int cmd)
{
	struct ucall uc;
	struct snap s;

	pin(cpu);
	if (cmd) {
		guest_cmd[idx] = cmd;
		sync_global_to_guest(vm, guest_cmd);
	}
	TEST_ASSERT(kvmext_run_to_ucall(vcpus[idx], &uc) == UCALL_SYNC, "sync");
	sync_global_from_guest(vm, guest_snap);
	s = guest_snap[idx];
	return s;
}

static bool masks_ok(struct snap *s, int a, int b, char *why, size_t n)
{
	uint64_t smt, llc, node;

	expected(a, b, &smt, &llc, &node);
	snprintf(why, n, "cpus %d,%d: smt %lx/%lx llc %lx/%lx node %lx/%lx gen %u",
		 a, b, s->smt, smt, s->llc, llc, s->node, node, s->generation);
	return s->smt == smt && s->llc == llc && s->node == node;
}

static int module_unload(void)
{
	return syscall(__NR_delete_module, "kvm_topo", O_NONBLOCK);
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

int main(int argc, char *argv[])
{
	struct snap s, prev;
	char why[160];
	int a, b, i, bad;
	uint64_t epoch, gpa;
	struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_RUNNABLE };
	const char *ko = argc > 1 ? argv[1] : NULL;

	ksft_print_header();
	nr_cpus = sysconf(_SC_NPROCESSORS_ONLN);
	TEST_REQUIRE(nr_cpus >= 2);
	ksft_set_plan(ko ? 11 : 9);

	vm = vm_create_with_vcpus(2, guest_code, vcpus);
	vm_init_descriptor_tables(vm);
	vm_install_exception_handler(vm, NOTIFY_VECTOR, guest_irq);
	for (i = 0; i < 2; i++) {
		vm_vaddr_t gva = vm_vaddr_alloc_page(vm);

		vcpu_init_descriptor_tables(vcpus[i]);
		pages[i] = addr_gva2hva(vm, gva);
		gpa = addr_gva2gpa(vm, gva);
		vcpu_args_set(vcpus[i], 3, i, gva, gpa);
	}
	virt_pg_map(vm, APIC_DEFAULT_GPA, APIC_DEFAULT_GPA);

	/* vCPU 1 registers on the last CPU, vCPU 0 on CPU 0. */
	b = nr_cpus - 1;
	s = run(1, b, 0);
	s = run(0, 0, 0);
	ksft_test_result(s.magic == KVMEXT_TOPO_MAGIC && s.version == KVMEXT_ABI_VERSION &&
			 (s.features & KVMEXT_FEATURE_TOPO) && s.epoch != KVMEXT_TOPO_EPOCH_GONE &&
			 s.vcpu_id == 0 && s.nr_ids == 2 && !(s.generation & 1) && s.generation &&
			 s.capacity <= KVMEXT_TOPO_CAPACITY_SCALE,
			 "registration fills the page before the next instruction (gen %u, epoch %lx, capacity %u)\n",
			 s.generation, s.epoch, s.capacity);
	ksft_test_result(s.bad_writes == 0,
			 "7 bad registrations and vectors fault (%u did not)\n", s.bad_writes);
	ksft_test_result(kvmext_topo_vm_stat("rejected_reserved_bits") == 8 && kvmext_topo_vm_stat("rejected_bad_gpa") == 4 &&
			 kvmext_topo_vm_stat("rejected_bad_vector") == 2 && kvmext_topo_vm_stat("registrations") == 2 &&
			 kvmext_topo_vm_stat("registered_vcpus") == 2,
			 "the VM's counters show 8 reserved-bit, 4 address and 2 vector refusals, 2 registrations (%ld %ld %ld %ld)\n",
			 kvmext_topo_vm_stat("rejected_reserved_bits"), kvmext_topo_vm_stat("rejected_bad_gpa"),
			 kvmext_topo_vm_stat("rejected_bad_vector"), kvmext_topo_vm_stat("registrations"));
	epoch = s.epoch;

	/* vCPU 0 visits every CPU and back; each move is seen at once. */
	bad = 0;
	prev = s;
	for (i = 1; i <= nr_cpus; i++) {
		a = i % nr_cpus;
		s = run(0, a, 0);
		if (s.generation == prev.generation || !masks_ok(&s, a, b, why, sizeof(why)) ||
		    s.epoch != epoch) {
			bad++;
			ksft_print_msg("after a move to CPU %d: %s (previous gen %u)\n",
				       a, why, prev.generation);
		}
		prev = s;
	}
	ksft_test_result(!bad, "each move of vCPU 0 over %d CPUs is seen by its next instruction\n",
			 nr_cpus);

	/* vCPU 1 moves next to vCPU 0 (CPU 0): vCPU 0 sees it on entry. */
	s = run(1, 1, 0);
	s = run(0, 0, 0);
	ksft_test_result(s.generation != prev.generation && masks_ok(&s, 0, 1, why, sizeof(why)),
			 "a move of vCPU 1 is seen by vCPU 0: %s\n", why);
	b = 1;
	prev = s;

	/* Interrupts: one per change, none until acknowledged. */
	s = run(0, 0, CMD_IRQ_ON);
	usleep(20000);
	s = run(0, nr_cpus - 1, 0);
	i = s.irqs == 1 && s.irq_generation == s.generation;
	prev = s;
	s = run(0, 0, 0);
	usleep(20000);
	s = run(0, nr_cpus - 1, 0);
	ksft_test_result(i && s.irqs == 1 && s.generation != prev.generation,
			 "change interrupt on vector 0x%x, then held until acknowledged (%lu, %lu)\n",
			 NOTIFY_VECTOR, prev.irqs, s.irqs);
	s = run(0, nr_cpus - 1, CMD_ACK);
	usleep(20000);
	s = run(0, 0, 0);
	ksft_test_result(s.irqs == 2 && s.irq_generation == s.generation,
			 "the next change after the acknowledgement interrupts again (%lu)\n", s.irqs);

	/* Adding a vCPU (KVM resets it at creation) leaves vCPU 0 registered. */
	vm_vcpu_add(vm, 2, guest_code);
	ksft_test_result(vcpu_get_msr(vcpus[0], MSR_KVMEXT_TOPO_PAGE) & KVMEXT_TOPO_PAGE_ENABLE,
			 "creating another vCPU keeps vCPU 0's registration\n");

	/* A VMM reset of vCPU 0 drops its registration. */
	prev = s;
	vcpu_ioctl(vcpus[0], KVM_SET_MP_STATE, &mp);
	i = vcpu_get_msr(vcpus[0], MSR_KVMEXT_TOPO_PAGE) == 0 &&
	    vcpu_get_msr(vcpus[0], MSR_KVMEXT_TOPO_NOTIFY) == 0;
	s = run(0, nr_cpus - 1, 0);
	ksft_test_result(i && s.generation == prev.generation && s.irqs == prev.irqs,
			 "reset unregisters: MSRs read 0, no more writes (gen %u -> %u)\n",
			 prev.generation, s.generation);

	if (ko) {
		uint32_t gen = READ_ONCE(pages[1]->generation);

		TEST_ASSERT(!module_unload(), "rmmod kvm_topo");
		ksft_test_result(pages[1]->epoch == KVMEXT_TOPO_EPOCH_GONE &&
				 pages[1]->generation == gen + 2,
				 "unload marks a registered page: epoch 0, gen %u -> %u\n",
				 gen, pages[1]->generation);
		TEST_ASSERT(!module_load(ko), "insmod %s", ko);
		s = run(1, 0, CMD_REREGISTER);
		ksft_test_result(s.epoch != KVMEXT_TOPO_EPOCH_GONE && s.epoch != epoch &&
				 !(s.generation & 1),
				 "after a reload, registering again gives a new epoch (%lx)\n", s.epoch);
	}
	kvm_vm_free(vm);
	ksft_finished();
}
