// SPDX-License-Identifier: GPL-2.0
/*
 * The pure decisions of kvm-topo: how CPUs relate, how masks, capacity,
 * interrupt pacing and hint limits are computed. No state and no locking
 * here, so that the KUnit suite (tests/topo_kunit.c) can include this
 * file and test it on its own.
 */
#include <linux/math64.h>
#include <linux/minmax.h>
#include <linux/sched/prio.h>
#include <linux/topology.h>

#include "topo.h"

/**
 * topo_relation() - how two physical CPUs relate
 * @a: a CPU, or -1 for a vCPU that has not run yet
 * @b: another
 *
 * The LLC level is the package: the kernel does not export the LLC mask
 * (cpu_llc_shared_map), and on the x86 hosts KVM runs on the package is
 * the LLC domain except on AMD parts with several CCXs per package.
 *
 * Return: TOPO_REL_* bits; 0 when either CPU is unknown.
 */
unsigned int topo_relation(int a, int b)
{
	unsigned int rel = 0;

	if (a < 0 || b < 0)
		return 0;
	if (cpumask_test_cpu(b, topology_sibling_cpumask(a)))
		rel |= TOPO_REL_SMT;
	if (cpumask_test_cpu(b, topology_core_cpumask(a)))
		rel |= TOPO_REL_LLC;
	if (cpu_to_node(a) == cpu_to_node(b))
		rel |= TOPO_REL_NODE;
	return rel;
}

/**
 * topo_add_vcpu() - add one vCPU to a page's masks
 * @masks: the smt, llc and node masks being built, in that order
 * @self_cpu: the CPU the page's own vCPU runs on
 * @cpu: the CPU the vCPU being added last ran on, -1 if it has not run
 * @id: the vCPU's id, below KVMEXT_TOPO_MAX_VCPU_IDS
 */
void topo_add_vcpu(u64 masks[3][KVMEXT_TOPO_MASK_WORDS], int self_cpu,
		   int cpu, u32 id)
{
	unsigned int rel = topo_relation(self_cpu, cpu);

	if (id >= KVMEXT_TOPO_MAX_VCPU_IDS)
		return;
	if (rel & TOPO_REL_SMT)
		masks[0][id / 64] |= 1ULL << (id % 64);
	if (rel & TOPO_REL_LLC)
		masks[1][id / 64] |= 1ULL << (id % 64);
	if (rel & TOPO_REL_NODE)
		masks[2][id / 64] |= 1ULL << (id % 64);
}

/**
 * topo_capacity() - share of a CPU a thread got while it wanted one
 * @ran: nanoseconds it ran in the window
 * @waited: nanoseconds it waited on a run queue in the window
 * @prev: the previous value, kept when the thread neither ran nor waited
 *
 * Return: out of KVMEXT_TOPO_CAPACITY_SCALE.
 */
u32 topo_capacity(u64 ran, u64 waited, u32 prev)
{
	if (!ran && !waited)
		return prev;
	return div64_u64(ran * KVMEXT_TOPO_CAPACITY_SCALE,
			 ran + waited);
}

/**
 * topo_notify_due() - whether to interrupt the guest now
 * @acked: the page's ack field
 * @notified_gen: generation of the last interrupt, 0 for none
 * @since_last_ns: time since the last interrupt
 * @interval_ns: the minimum time between two
 *
 * An interrupt goes out only when the guest has acknowledged the previous
 * one and the interval has passed, so a vCPU thread bouncing between CPUs
 * costs the guest at most one interrupt per interval, and none while it
 * has not caught up.
 *
 * Return: true to send.
 */
bool topo_notify_due(u32 acked, u32 notified_gen, u64 since_last_ns,
		     u64 interval_ns)
{
	if (notified_gen && (s32)(acked - notified_gen) < 0)
		return false;
	return !notified_gen || since_last_ns >= interval_ns;
}

/**
 * topo_hint_valid() - whether a value may be written to MSR_KVMEXT_HINT
 * @hint: the value
 *
 * Return: false for reserved bits or the reserved class.
 */
bool topo_hint_valid(u64 hint)
{
	return !(hint & KVMEXT_HINT_RESERVED) &&
	       KVMEXT_HINT_CLASS(hint) != 3;
}

/**
 * topo_hint_nice() - the nice value a class asks for, within the cap
 * @class: KVMEXT_HINT_CLASS_*
 * @base: the thread's nice value inside the envelope
 * @boost: the administrator's cap on raising it
 * @clamped: set when the cap cut the request
 *
 * A latency-critical vCPU asks for as much as the cap allows, a
 * background one gives 5 levels away, which needs no permission.
 *
 * Return: the nice value, -20 to 19.
 */
int topo_hint_nice(unsigned int class, int base, unsigned int boost,
		   bool *clamped)
{
	*clamped = false;
	switch (class) {
	case KVMEXT_HINT_CLASS_LATENCY:
		if (!boost || base == MIN_NICE)
			*clamped = true;
		return max_t(int, base - (int)boost, MIN_NICE);
	case KVMEXT_HINT_CLASS_BACKGROUND:
		return min(base + 5, MAX_NICE);
	default:
		return base;
	}
}
