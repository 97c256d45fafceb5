// SPDX-License-Identifier: GPL-2.0
/*
 * Hints from this guest to the host: per CPU, a priority class and a
 * co-location group (MSR_KVMEXT_HINT), and once, boot completion.
 *
 * Each field is either set by userspace (sysfs.c) or found automatically
 * once per second (auto_hints):
 * - latency-critical: a real-time or deadline task ran on the CPU in the
 *   last second (sched_switch), or the CPU took more than auto_irq_hz
 *   device interrupts per second;
 * - a co-location group: CPUs whose tasks woke each other more than
 *   auto_wake_hz times per second (sched_waking, waker's CPU to the CPU
 *   the wakee last ran on) share a group, named after its lowest CPU.
 * A CPU's hint is sent when it differs from the last one sent, at most
 * once per hint_interval_ms; a change within the interval is sent by the
 * next tick after it.
 */
#include <linux/cpu.h>
#include <linux/jiffies.h>
#include <linux/kernel_stat.h>
#include <linux/ktime.h>
#include <linux/moduleparam.h>
#include <linux/sched.h>
#include <linux/sched/deadline.h>
#include <linux/sched/rt.h>
#include <linux/slab.h>
#include <asm/msr.h>

#include "gpv.h"

static bool auto_hints = true;
module_param(auto_hints, bool, 0644);
MODULE_PARM_DESC(auto_hints, "Find latency-critical CPUs and co-location groups (default Y)");

static unsigned int auto_irq_hz = 2000;
module_param(auto_irq_hz, uint, 0644);
MODULE_PARM_DESC(auto_irq_hz,
		 "Device interrupts per second that make a CPU latency-critical (default 2000)");

static unsigned int auto_wake_hz = 200;
module_param(auto_wake_hz, uint, 0644);
MODULE_PARM_DESC(auto_wake_hz,
		 "Cross-CPU wake-ups per second that put two CPUs in one group (default 200)");

/* Wake-up counting needs nr_cpu_ids^2 counters: not above this. */
#define GPV_WAKE_MAX_CPUS	512

/**
 * struct gpv_hint_cpu - one CPU's hint state
 * @last_rt: jiffies when a real-time or deadline task last ran here
 * @wakes: wake-ups from this CPU, by the wakee's CPU (NULL: not counted)
 * @irqs: device interrupts at the last tick
 * @auto_class: class found at the last tick
 * @auto_group: group found at the last tick
 * @class: class set by userspace, -1 for automatic
 * @group: group set by userspace, -1 for automatic
 * @raw: a whole hint set by userspace, sent as it is; valid if @raw_set
 * @raw_set: see @raw
 * @sent: the last hint the host took (or refused: not retried)
 * @sent_valid: @sent holds something
 * @last_ns: when a hint was last sent
 */
struct gpv_hint_cpu {
	unsigned long last_rt;
	u32 *wakes;
	unsigned int irqs;
	int auto_class, auto_group;
	int class, group;
	u64 raw;
	bool raw_set;
	u64 sent;
	bool sent_valid;
	u64 last_ns;
};

static DEFINE_PER_CPU(struct gpv_hint_cpu, gpv_hint);
/* Every field but the probes'; taken after cpus_read_lock(). */
static DEFINE_MUTEX(gpv_hint_lock);
static u32 *gpv_wakes;
static int *gpv_groups;
static unsigned long gpv_last_tick;
static bool gpv_host_hints, gpv_booted;

/* sched_switch, on the CPU switching, with its runqueue locked. */
void gpv_probe_switch(void *data, bool preempt, struct task_struct *prev,
		      struct task_struct *next, unsigned int prev_state)
{
	/* Kernel threads (migration, threaded interrupts) do not count. */
	if ((rt_task(next) || dl_task(next)) && !(next->flags & PF_KTHREAD))
		WRITE_ONCE(this_cpu_ptr(&gpv_hint)->last_rt, jiffies);
}

/* sched_waking, on the waker's CPU, preemption off. */
void gpv_probe_waking(void *data, struct task_struct *p)
{
	u32 *row = this_cpu_ptr(&gpv_hint)->wakes;
	unsigned int to = task_cpu(p);

	if (!row || (p->flags & PF_KTHREAD) || to == smp_processor_id())
		return;
	WRITE_ONCE(row[to], READ_ONCE(row[to]) + 1);
}

static u64 gpv_effective(unsigned int cpu)
{
	struct gpv_hint_cpu *h = per_cpu_ptr(&gpv_hint, cpu);
	int class = h->class >= 0 ? h->class : h->auto_class;
	int group = h->group >= 0 ? h->group : h->auto_group;
	u64 v;

	if (h->raw_set)
		return h->raw;
	v = KVMEXT_HINT(group, group ? KVMEXT_HINT_LEVEL_PACKAGE :
			KVMEXT_HINT_LEVEL_NONE, class);
	if (gpv_booted)
		v |= KVMEXT_HINT_BOOT_COMPLETE;
	return v;
}

/*
 * Send @cpu's effective hint if it changed and the interval allows; with
 * @force, also an unchanged one. -EBUSY: held back, sent by a later tick.
 */
static int gpv_send(unsigned int cpu, bool force)
{
	struct gpv_hint_cpu *h = per_cpu_ptr(&gpv_hint, cpu);
	u64 v = gpv_effective(cpu), now = ktime_get_ns();
	int ret;

	lockdep_assert_held(&gpv_hint_lock);
	if (!force && h->sent_valid && h->sent == v)
		return 0;
	if (h->last_ns &&
	    now - h->last_ns < (u64)READ_ONCE(hint_interval_ms) * NSEC_PER_MSEC) {
		atomic64_inc(&gpv_stats.hints_deferred);
		return -EBUSY;
	}
	h->last_ns = now;
	h->sent = v;
	h->sent_valid = true;
	ret = wrmsr_safe_on_cpu(cpu, MSR_KVMEXT_HINT, lower_32_bits(v),
				upper_32_bits(v));
	atomic64_inc(ret ? &gpv_stats.hints_refused : &gpv_stats.hints_sent);
	return ret ? -EINVAL : 0;
}

static int gpv_group_root(int *p, int a)
{
	while (p[a] != a)
		a = p[a] = p[p[a]];
	return a;
}

/* Groups of CPUs that woke each other often enough in @ticks jiffies. */
static void gpv_wake_groups(unsigned long ticks)
{
	u64 min_wakes = div_u64((u64)READ_ONCE(auto_wake_hz) * ticks, HZ);
	unsigned int a, b;
	int ra, rb;

	for_each_online_cpu(a)
		gpv_groups[a] = a;
	for_each_online_cpu(a) {
		u32 *ra_row = per_cpu_ptr(&gpv_hint, a)->wakes;

		for_each_online_cpu(b) {
			u32 *rb_row = per_cpu_ptr(&gpv_hint, b)->wakes;
			u64 n;

			if (b <= a)
				continue;
			n = (u64)xchg(&ra_row[b], 0) + xchg(&rb_row[a], 0);
			if (n < max(min_wakes, 1ULL))
				continue;
			ra = gpv_group_root(gpv_groups, a);
			rb = gpv_group_root(gpv_groups, b);
			if (ra != rb)
				gpv_groups[max(ra, rb)] = min(ra, rb);
		}
	}
	for_each_online_cpu(a) {
		struct gpv_hint_cpu *h = per_cpu_ptr(&gpv_hint, a);
		int root = gpv_group_root(gpv_groups, a);
		bool alone = true;

		for_each_online_cpu(b)
			if (b != a && gpv_group_root(gpv_groups, b) == root)
				alone = false;
		/* Groups are 16 bits and 0 is none: name them root + 1. */
		h->auto_group = alone || root >= 0xffff ? 0 : root + 1;
	}
}

/**
 * gpv_hints_tick() - find the automatic hints and send what changed
 *
 * Called by the reading work with CPU hotplug held off; re-evaluates the
 * automatic fields about once a second and retries deferred hints on
 * every call.
 */
void gpv_hints_tick(void)
{
	unsigned long now = jiffies, ticks = now - gpv_last_tick;
	bool eval = ticks >= HZ;
	unsigned int cpu;

	if (!gpv_host_hints)
		return;
	mutex_lock(&gpv_hint_lock);
	if (eval && gpv_wakes)
		gpv_wake_groups(ticks);
	for_each_online_cpu(cpu) {
		struct gpv_hint_cpu *h = per_cpu_ptr(&gpv_hint, cpu);

		if (eval) {
			unsigned int irqs = kstat_cpu_irqs_sum(cpu);
			u64 rate = div_u64((u64)(irqs - h->irqs) * HZ, ticks);
			bool rt = now - READ_ONCE(h->last_rt) <= ticks;

			h->irqs = irqs;
			h->auto_class = KVMEXT_HINT_CLASS_NORMAL;
			if (READ_ONCE(auto_hints) &&
			    (rt || rate >= READ_ONCE(auto_irq_hz)))
				h->auto_class = KVMEXT_HINT_CLASS_LATENCY;
			if (!READ_ONCE(auto_hints))
				h->auto_group = 0;
		}
		/* An unregistered CPU keeps its hint for when it is back. */
		if (per_cpu_ptr(gpv_cpus, cpu)->page)
			gpv_send(cpu, false);
	}
	if (eval)
		gpv_last_tick = now;
	mutex_unlock(&gpv_hint_lock);
}

/**
 * gpv_hints_cpu_down() - withdraw this CPU's hint before it goes away
 * @cpu: the CPU; called on it, before it goes offline or the module
 *	unloads
 *
 * The host keeps applying the last hint of a vCPU (priority, placement)
 * until it gets another: hand it back the no-hint state, so that an
 * offline CPU or an unloaded module leaves nothing behind. A CPU coming
 * back gets its hint again at the next tick.
 */
void gpv_hints_cpu_down(unsigned int cpu)
{
	struct gpv_hint_cpu *h = per_cpu_ptr(&gpv_hint, cpu);

	if (!gpv_host_hints)
		return;
	mutex_lock(&gpv_hint_lock);
	if (!h->sent_valid || h->sent)
		wrmsrl_safe(MSR_KVMEXT_HINT, 0);
	h->sent = 0;
	h->sent_valid = true;
	mutex_unlock(&gpv_hint_lock);
}

/**
 * gpv_hint_manual() - userspace sets @cpu's class and/or group
 * @cpu: the CPU
 * @class: KVMEXT_HINT_CLASS_*, -1 for automatic, -2 to leave as it is
 * @group: 0-65535, -1 for automatic, -2 to leave as it is
 *
 * Also ends a raw hint. The hint goes out now, or within hint_interval_ms.
 *
 * Return: 0, -EOPNOTSUPP without host hints, -EINVAL if the host refused.
 */
int gpv_hint_manual(unsigned int cpu, int class, int group)
{
	struct gpv_hint_cpu *h = per_cpu_ptr(&gpv_hint, cpu);
	int ret;

	if (!gpv_host_hints)
		return -EOPNOTSUPP;
	cpus_read_lock();
	mutex_lock(&gpv_hint_lock);
	if (class != -2)
		h->class = class;
	if (group != -2)
		h->group = group;
	h->raw_set = false;
	/* An offline CPU gets it when it is back (gpv_hints_tick()). */
	ret = per_cpu_ptr(gpv_cpus, cpu)->page ? gpv_send(cpu, false) : 0;
	mutex_unlock(&gpv_hint_lock);
	cpus_read_unlock();
	return ret == -EBUSY ? 0 : ret;
}

/**
 * gpv_hint_raw() - userspace sends @hint for @cpu, as it is
 * @cpu: the CPU
 * @hint: encoded as for MSR_KVMEXT_HINT
 *
 * It stays @cpu's hint until userspace sets a class or group again; an
 * offline CPU gets it when it is back.
 *
 * Return: 0; -EBUSY within hint_interval_ms of the last hint (nothing
 * changes); -EINVAL when the host refused it; -EOPNOTSUPP without hints.
 */
int gpv_hint_raw(unsigned int cpu, u64 hint)
{
	struct gpv_hint_cpu *h = per_cpu_ptr(&gpv_hint, cpu);
	u64 now = ktime_get_ns();
	int ret;

	if (!gpv_host_hints)
		return -EOPNOTSUPP;
	cpus_read_lock();
	mutex_lock(&gpv_hint_lock);
	if (h->last_ns &&
	    now - h->last_ns < (u64)READ_ONCE(hint_interval_ms) * NSEC_PER_MSEC) {
		ret = -EBUSY;
		goto out;
	}
	h->raw = hint;
	h->raw_set = true;
	ret = per_cpu_ptr(gpv_cpus, cpu)->page ? gpv_send(cpu, true) : 0;
	/* Refused: the CPU goes back to its class and group. */
	if (ret == -EINVAL)
		h->raw_set = false;
out:
	mutex_unlock(&gpv_hint_lock);
	cpus_read_unlock();
	return ret;
}

/**
 * gpv_hint_show() - @cpu's effective class and group, and the last hint sent
 * @cpu: the CPU
 * @class: out: the class in effect
 * @group: out: the group in effect
 * @sent: out: the last hint sent, 0 if none
 */
void gpv_hint_show(unsigned int cpu, int *class, int *group, u64 *sent)
{
	struct gpv_hint_cpu *h = per_cpu_ptr(&gpv_hint, cpu);
	u64 v;

	mutex_lock(&gpv_hint_lock);
	v = gpv_effective(cpu);
	*class = KVMEXT_HINT_CLASS(v);
	*group = KVMEXT_HINT_GROUP(v);
	*sent = h->sent_valid ? h->sent : 0;
	mutex_unlock(&gpv_hint_lock);
}

/**
 * gpv_boot_complete() - tell the host this guest has finished booting
 *
 * Every CPU's hint carries the bit from now on; the first to go out
 * (now, or within hint_interval_ms) tells the host.
 *
 * Return: 0, or -EOPNOTSUPP when the host takes no hints.
 */
int gpv_boot_complete(void)
{
	unsigned int cpu;

	if (!gpv_host_hints)
		return -EOPNOTSUPP;
	cpus_read_lock();
	mutex_lock(&gpv_hint_lock);
	gpv_booted = true;
	for_each_online_cpu(cpu)
		if (per_cpu_ptr(gpv_cpus, cpu)->page)
			gpv_send(cpu, false);
	mutex_unlock(&gpv_hint_lock);
	cpus_read_unlock();
	return 0;
}

/**
 * gpv_boot_completed() - whether boot completion was signalled
 *
 * Return: true once gpv_boot_complete() ran.
 */
bool gpv_boot_completed(void)
{
	return READ_ONCE(gpv_booted);
}

/**
 * gpv_hints_init() - set up hint state
 * @host_hints: the host takes hints (KVMEXT_FEATURE_HINTS)
 *
 * Before the tracepoint probes are registered.
 *
 * Return: 0 or -ENOMEM.
 */
int gpv_hints_init(bool host_hints)
{
	unsigned int cpu;

	gpv_host_hints = host_hints;
	gpv_last_tick = jiffies;
	if (nr_cpu_ids <= GPV_WAKE_MAX_CPUS) {
		gpv_wakes = kvcalloc(nr_cpu_ids * nr_cpu_ids, sizeof(u32),
				     GFP_KERNEL);
		gpv_groups = kcalloc(nr_cpu_ids, sizeof(int), GFP_KERNEL);
		if (!gpv_wakes || !gpv_groups) {
			gpv_hints_exit();
			return -ENOMEM;
		}
	}
	for_each_possible_cpu(cpu) {
		struct gpv_hint_cpu *h = per_cpu_ptr(&gpv_hint, cpu);

		memset(h, 0, sizeof(*h));
		h->class = -1;
		h->group = -1;
		/* What the host assumes of a vCPU that never sent a hint. */
		h->sent_valid = true;
		h->irqs = kstat_cpu_irqs_sum(cpu);
		if (gpv_wakes)
			h->wakes = gpv_wakes + cpu * nr_cpu_ids;
	}
	return 0;
}

/**
 * gpv_hints_exit() - free hint state
 *
 * After the tracepoint probes are gone and no probe runs any more.
 */
void gpv_hints_exit(void)
{
	unsigned int cpu;

	for_each_possible_cpu(cpu)
		per_cpu_ptr(&gpv_hint, cpu)->wakes = NULL;
	kvfree(gpv_wakes);
	kfree(gpv_groups);
	gpv_wakes = NULL;
	gpv_groups = NULL;
}
