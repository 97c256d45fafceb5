// SPDX-License-Identifier: GPL-2.0
/*
 * Applying a guest's hints (MSR_KVMEXT_HINT) to its vCPU threads.
 *
 * A hint only ever narrows what the administrator allowed. The envelope
 * is the thread's CPU affinity (which the cpuset has already narrowed) and
 * nice value as found before the first hint, and found again whenever
 * someone other than this module changed them. Co-location narrows the
 * affinity inside the envelope; a class moves nice by at most max_boost
 * levels towards higher priority; I/O priority never goes above
 * min_io_level. Nothing here grants a real-time policy. Each vCPU thread
 * applies its own hint, from the same task_work that writes its page, at
 * most once per hint_interval_ms.
 */
#include <linux/ioprio.h>
#include <linux/iocontext.h>
#include <linux/moduleparam.h>
#include <linux/sched.h>
#include <linux/topology.h>

#include "topo.h"

static unsigned int max_boost = 5;
static unsigned int hint_interval_ms = 100;
static unsigned int min_io_level = 4;

static int set_max_boost(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 0, 39);
}

static int set_hint_interval(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 1, 60000);
}

static int set_min_io_level(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 0, 7);
}

static const struct kernel_param_ops max_boost_ops = {
	.set = set_max_boost, .get = param_get_uint,
};
static const struct kernel_param_ops hint_interval_ops = {
	.set = set_hint_interval, .get = param_get_uint,
};
static const struct kernel_param_ops min_io_level_ops = {
	.set = set_min_io_level, .get = param_get_uint,
};

module_param_cb(max_boost, &max_boost_ops, &max_boost, 0644);
MODULE_PARM_DESC(max_boost,
		 "Nice levels a latency-critical hint may raise a vCPU thread above its own (0-39, default 5, 0 disables)");
module_param_cb(hint_interval_ms, &hint_interval_ops, &hint_interval_ms, 0644);
MODULE_PARM_DESC(hint_interval_ms,
		 "Minimum time between two hint applications to one vCPU thread (1-60000, default 100)");
module_param_cb(min_io_level, &min_io_level_ops, &min_io_level, 0644);
MODULE_PARM_DESC(min_io_level,
		 "Highest best-effort I/O priority level a hint may give (0-7, default 4 = the kernel's default)");

static const struct cpumask *topo_level_mask(unsigned int level, int cpu)
{
	switch (level) {
	case KVMEXT_HINT_LEVEL_CORE:
		return topology_sibling_cpumask(cpu);
	case KVMEXT_HINT_LEVEL_PACKAGE:
		return topology_core_cpumask(cpu);
	default:
		return cpumask_of_node(cpu_to_node(cpu));
	}
}

/*
 * The CPU a co-location group gathers around: where its member with the
 * lowest vCPU index last ran, so every member computes the same answer.
 */
static int topo_group_anchor(struct topo_vcpu *tv, u64 hint)
{
	struct topo_vm *vm = tv->vm;
	struct topo_vcpu *o;
	unsigned long i;
	int cpu = -1;

	rcu_read_lock();
	xa_for_each(&vm->vcpus, i, o) {
		u64 h = READ_ONCE(o->hint_msr);

		if (KVMEXT_HINT_GROUP(h) != KVMEXT_HINT_GROUP(hint) ||
		    KVMEXT_HINT_LEVEL(h) != KVMEXT_HINT_LEVEL(hint))
			continue;
		cpu = READ_ONCE(vm->last_cpu[o->vcpu->vcpu_idx]);
		if (cpu >= 0)
			break;
	}
	rcu_read_unlock();
	return cpu;
}

/*
 * (Re)capture the envelope when this module never saw the thread or
 * someone else changed its affinity or nice value since.
 */
static void topo_hint_envelope(struct topo_vcpu *tv)
{
	struct task_struct *t = current;

	if (tv->hint_base_valid && cpumask_equal(t->cpus_ptr, &tv->hint_mask) &&
	    task_nice(t) == tv->hint_nice)
		return;
	cpumask_copy(&tv->envelope, t->cpus_ptr);
	cpumask_copy(&tv->hint_mask, t->cpus_ptr);
	tv->base_nice = task_nice(t);
	tv->hint_nice = tv->base_nice;
	if (!tv->hint_base_valid)
		tv->base_ioprio = t->io_context ? t->io_context->ioprio :
				  IOPRIO_DEFAULT;
	tv->hint_base_valid = true;
}

/**
 * topo_hint_apply() - apply the vCPU's latest hint to its own thread
 * @tv: the vCPU; runs on its thread, from the update task_work
 */
void topo_hint_apply(struct topo_vcpu *tv)
{
	struct topo_vm_stats *s = &tv->vm->stats;
	u64 hint = READ_ONCE(tv->hint_msr);
	struct task_struct *t = current;
	unsigned int level = KVMEXT_HINT_LEVEL(hint);
	bool clamped;
	int nice, anchor, io;

	tv->hint_applied_ns = ktime_get_ns();
	topo_hint_envelope(tv);

	cpumask_copy(&tv->want, &tv->envelope);
	if (KVMEXT_HINT_GROUP(hint) && level != KVMEXT_HINT_LEVEL_NONE) {
		anchor = topo_group_anchor(tv, hint);
		if (anchor >= 0 &&
		    cpumask_and(&tv->want, &tv->envelope, topo_level_mask(level, anchor))) {
			/* inside the envelope */
		} else {
			cpumask_copy(&tv->want, &tv->envelope);
			atomic64_inc(&s->hints_clamped_envelope);
		}
	}
	if (!cpumask_equal(&tv->want, t->cpus_ptr) &&
	    !set_cpus_allowed_ptr(t, &tv->want))
		atomic64_inc(&s->affinity_changes);
	cpumask_copy(&tv->hint_mask, t->cpus_ptr);

	nice = topo_hint_nice(KVMEXT_HINT_CLASS(hint), tv->base_nice,
			      READ_ONCE(max_boost), &clamped);
	if (clamped)
		atomic64_inc(&s->hints_clamped_cap);
	if (nice != task_nice(t)) {
		set_user_nice(t, nice);
		atomic64_inc(&s->priority_changes);
	}
	tv->hint_nice = task_nice(t);

	if (hint & KVMEXT_HINT_IO_VALID) {
		io = KVMEXT_HINT_IO_LEVEL(hint);
		if (io < READ_ONCE(min_io_level)) {
			io = READ_ONCE(min_io_level);
			atomic64_inc(&s->hints_clamped_cap);
		}
		set_task_ioprio(t, IOPRIO_PRIO_VALUE(IOPRIO_CLASS_BE, io));
	} else {
		set_task_ioprio(t, tv->base_ioprio);
	}

	if ((hint & KVMEXT_HINT_BOOT_COMPLETE) &&
	    !test_and_set_bit(TOPO_VM_BOOTED, &tv->vm->flags))
		atomic64_inc(&s->boot_complete);
	atomic64_inc(&s->hints_applied);
}

/**
 * topo_hint_due() - whether a pending hint may be applied now
 * @tv: the vCPU
 * @now: ktime_get_ns()
 *
 * Return: true once hint_interval_ms has passed since the last one.
 */
bool topo_hint_due(struct topo_vcpu *tv, u64 now)
{
	if (!tv->hint_applied_ns)
		return true;
	return now - tv->hint_applied_ns >=
	       (u64)READ_ONCE(hint_interval_ms) * NSEC_PER_MSEC;
}

/**
 * topo_hint_restore() - give a thread back its envelope, at unload
 * @tv: a vCPU that had hints applied
 *
 * From rmmod, after every hook and update is gone. Only what this module
 * set is undone: if someone else changed the thread since, it is theirs.
 */
void topo_hint_restore(struct topo_vcpu *tv)
{
	struct task_struct *t;

	if (!tv->hint_base_valid)
		return;
	rcu_read_lock();
	t = pid_task(rcu_dereference(tv->vcpu->pid), PIDTYPE_PID);
	if (t)
		get_task_struct(t);
	rcu_read_unlock();
	if (!t)
		return;
	if (cpumask_equal(t->cpus_ptr, &tv->hint_mask))
		set_cpus_allowed_ptr(t, &tv->envelope);
	if (task_nice(t) == tv->hint_nice)
		set_user_nice(t, tv->base_nice);
	set_task_ioprio(t, tv->base_ioprio);
	put_task_struct(t);
}
