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
 * min_io_level. With the vnuma policy on, the envelope is first narrowed
 * to the CPUs of the host nodes the vCPU's registered page is bound to.
 * A real-time policy is given only when the administrator set a budget
 * (rt_budget_pct), and then for at most that share of each second. Each
 * vCPU thread
 * applies its own hint, from the same task_work that writes its page, at
 * most once per hint_interval_ms.
 */
#include <linux/ioprio.h>
#include <linux/iocontext.h>
#include <linux/mempolicy.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/hrtimer.h>
#include <linux/sched.h>
#include <linux/topology.h>

#include "topo.h"
#include "trace.h"

static unsigned int max_boost = 5;
static unsigned int hint_interval_ms = 100;
static unsigned int min_io_level = 4;
static bool vnuma;
static unsigned int rt_budget_pct;

static int set_max_boost(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 0, 39);
}

static int set_hint_interval(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 1, 60000);
}

static int set_rt_budget(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 0, 90);
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
static const struct kernel_param_ops rt_budget_ops = {
	.set = set_rt_budget, .get = param_get_uint,
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
module_param_cb(rt_budget_pct, &rt_budget_ops, &rt_budget_pct, 0644);
MODULE_PARM_DESC(rt_budget_pct,
		 "Share of each second a latency-critical vCPU thread may run SCHED_FIFO (0-90, default 0: never)");
module_param(vnuma, bool, 0644);
MODULE_PARM_DESC(vnuma,
		 "Keep each registered vCPU on the CPUs of the host nodes its page's memory is bound to (default N)");
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

/**
 * topo_max_boost() - the max_boost in force for a VM
 * @vm: the VM, or NULL for the module parameter
 *
 * Return: the VM's own value if its administrator set one, else the
 * module parameter.
 */
unsigned int topo_max_boost(struct topo_vm *vm)
{
	int v = vm ? READ_ONCE(vm->max_boost) : -1;

	return v >= 0 ? v : READ_ONCE(max_boost);
}

/**
 * topo_rt_budget_pct() - the rt_budget_pct in force for a VM
 * @vm: the VM, or NULL for the module parameter
 *
 * Return: as topo_max_boost().
 */
unsigned int topo_rt_budget_pct(struct topo_vm *vm)
{
	int v = vm ? READ_ONCE(vm->rt_budget_pct) : -1;

	return v >= 0 ? v : READ_ONCE(rt_budget_pct);
}

/**
 * topo_vnuma_policy() - whether registering should place the vCPU thread
 *
 * Return: the vnuma module parameter.
 */
bool topo_vnuma_policy(void)
{
	return READ_ONCE(vnuma);
}

/*
 * The CPUs of the host nodes that the memory behind the vCPU's registered
 * page is bound to (a VMM binds each guest NUMA node's memory with mbind(),
 * as QEMU's memory-backend host-nodes= does). A guest that registers a
 * page of its vCPU's own node so tells the host which node that is; the
 * memory of a node has one policy, so any of its pages will do.
 *
 * Return: false when the page is gone or its memory is not bound.
 */
static bool topo_vnuma_cpus(struct topo_vcpu *tv, struct cpumask *cpus)
{
	struct kvm_vcpu *vcpu = tv->vcpu;
	gpa_t gpa = READ_ONCE(tv->page_msr) & PAGE_MASK;
	struct vm_area_struct *vma;
	struct mempolicy *pol;
	unsigned long hva;
	bool found = false;
	int idx, nid;

	if (!gpa)
		return false;
	idx = srcu_read_lock(&vcpu->kvm->srcu);
	hva = kvm_vcpu_gfn_to_hva(vcpu, gpa_to_gfn(gpa));
	srcu_read_unlock(&vcpu->kvm->srcu, idx);
	if (kvm_is_error_hva(hva) || current->mm != vcpu->kvm->mm)
		return false;
	cpumask_clear(cpus);
	mmap_read_lock(current->mm);
	vma = vma_lookup(current->mm, hva);
	pol = vma ? vma_policy(vma) : NULL;
	if (pol && (pol->mode == MPOL_BIND || pol->mode == MPOL_PREFERRED_MANY ||
		    pol->mode == MPOL_PREFERRED)) {
		for_each_node_mask(nid, pol->nodes)
			if (node_online(nid))
				cpumask_or(cpus, cpus, cpumask_of_node(nid));
		found = !cpumask_empty(cpus);
	}
	mmap_read_unlock(current->mm);
	return found;
}

/*
 * (Re)capture the envelope when this module never saw the thread or
 * someone else changed its affinity or nice value since.
 */
static int topo_task_ioprio(struct task_struct *t)
{
	return t->io_context ? t->io_context->ioprio : IOPRIO_DEFAULT;
}

/*
 * Each of affinity, nice and I/O priority is captured again on its own
 * when it is no longer what this module left it at: someone else set it.
 */
static void topo_hint_envelope(struct topo_vcpu *tv)
{
	struct task_struct *t = current;
	bool first = !tv->hint_base_valid;

	if (first || !cpumask_equal(t->cpus_ptr, &tv->hint_mask)) {
		cpumask_copy(&tv->envelope, t->cpus_ptr);
		cpumask_copy(&tv->hint_mask, t->cpus_ptr);
	}
	if (first || task_nice(t) != tv->hint_nice) {
		tv->base_nice = task_nice(t);
		tv->hint_nice = tv->base_nice;
	}
	if (first || topo_task_ioprio(t) != tv->hint_ioprio) {
		tv->base_ioprio = topo_task_ioprio(t);
		tv->hint_ioprio = tv->base_ioprio;
	}
	tv->hint_base_valid = true;
}

/*
 * The best-effort level a hint may have: never above min_io_level, nor
 * above the thread's own best-effort level; no I/O hint at all for a
 * thread the administrator put in the idle class.
 *
 * Return: the level, or -1 when no I/O hint may apply.
 */
static int topo_io_level_cap(int base_ioprio)
{
	int cap = READ_ONCE(min_io_level);

	switch (IOPRIO_PRIO_CLASS(base_ioprio)) {
	case IOPRIO_CLASS_IDLE:
		return -1;
	case IOPRIO_CLASS_BE:
		return max_t(int, cap, IOPRIO_PRIO_DATA(base_ioprio));
	default:
		return cap;
	}
}

/*
 * Affinity changes go through sched_setaffinity(), which intersects the
 * mask with the thread's cpuset and applies the security hooks, so no
 * hint (and no restore) ever takes a thread outside its cpuset.
 */
long (*topo_sched_setaffinity)(pid_t pid, const struct cpumask *mask);

#define TOPO_RT_WINDOW_NS	NSEC_PER_SEC

static enum hrtimer_restart topo_rt_timer_fn(struct hrtimer *timer)
{
	struct topo_vcpu *tv = container_of(timer, struct topo_vcpu, rt_timer);

	/* Budget spent or window over: the vCPU thread re-evaluates itself. */
	set_bit(TOPO_VCPU_RT, &tv->flags);
	kvm_make_request(KVM_REQ_STEAL_UPDATE, tv->vcpu);
	kvm_vcpu_kick(tv->vcpu);
	return HRTIMER_NORESTART;
}

/**
 * topo_rt_init() - prepare a vCPU's real-time budget timer
 * @tv: the vCPU, being created
 */
void topo_rt_init(struct topo_vcpu *tv)
{
	hrtimer_init(&tv->rt_timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL);
	tv->rt_timer.function = topo_rt_timer_fn;
}

/**
 * topo_rt_update() - give or take SCHED_FIFO within the budget
 * @tv: the vCPU; runs on its thread
 * @want: the hint asks for the latency-critical class
 * @nice: the nice value for the normal class
 *
 * The thread runs SCHED_FIFO at the lowest real-time priority for at most
 * rt_budget_pct of each one-second window, measured in its own run time;
 * a timer makes it re-evaluate when the budget could be spent and when
 * the window ends, so a vCPU that never blocks cannot keep the policy.
 */
static void topo_rt_update(struct topo_vcpu *tv, bool want, int nice)
{
	u64 budget = (u64)topo_rt_budget_pct(tv->vm) * TOPO_RT_WINDOW_NS / 100;
	u64 now = ktime_get_ns(), ran = current->se.sum_exec_runtime;
	struct task_struct *t = current;

	if (!want || !budget) {
		if (tv->rt_active) {
			sched_set_normal(t, nice);
			tv->rt_active = false;
		}
		hrtimer_try_to_cancel(&tv->rt_timer);
		return;
	}
	if (now - tv->rt_window_ns >= TOPO_RT_WINDOW_NS) {
		/*
		 * Real-time run time not yet charged is charged to the new
		 * window, even the part that fell in the old one: never less.
		 */
		tv->rt_used_ns = tv->rt_active ? ran - tv->rt_mark : 0;
		tv->rt_window_ns = now;
	} else if (tv->rt_active) {
		tv->rt_used_ns += ran - tv->rt_mark;
	}
	tv->rt_mark = ran;
	if (tv->rt_used_ns >= budget) {
		if (tv->rt_active) {
			sched_set_normal(t, nice);
			tv->rt_active = false;
			atomic64_inc(&tv->vm->stats.rt_throttled);
		}
		hrtimer_start(&tv->rt_timer,
			      ns_to_ktime(tv->rt_window_ns + TOPO_RT_WINDOW_NS - now),
			      HRTIMER_MODE_REL);
		return;
	}
	if (!tv->rt_active) {
		sched_set_fifo_low(t);
		tv->rt_active = true;
		atomic64_inc(&tv->vm->stats.rt_grants);
	}
	/* Look again when the budget could be spent or the window ends. */
	hrtimer_start(&tv->rt_timer,
		      ns_to_ktime(min(budget - tv->rt_used_ns,
				      tv->rt_window_ns + TOPO_RT_WINDOW_NS - now)),
		      HRTIMER_MODE_REL);
}

/**
 * topo_rt_recheck() - re-evaluate the real-time budget, from the update
 *	work when the budget timer fired
 * @tv: the vCPU; runs on its thread
 */
void topo_rt_recheck(struct topo_vcpu *tv)
{
	u64 hint = READ_ONCE(tv->hint_msr);

	topo_rt_update(tv, KVMEXT_HINT_CLASS(hint) == KVMEXT_HINT_CLASS_LATENCY,
		       tv->hint_nice);
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
	bool clamped, any_clamp = false;
	int nice, anchor, io;

	tv->hint_applied_ns = ktime_get_ns();
	topo_hint_envelope(tv);

	cpumask_copy(&tv->base, &tv->envelope);
	if (topo_vnuma_policy() && topo_vnuma_cpus(tv, &tv->want)) {
		if (cpumask_and(&tv->base, &tv->envelope, &tv->want)) {
			atomic64_inc(&s->vnuma_placed);
		} else {
			cpumask_copy(&tv->base, &tv->envelope);
			atomic64_inc(&s->vnuma_clamped);
			any_clamp = true;
		}
	}
	cpumask_copy(&tv->want, &tv->base);
	if (KVMEXT_HINT_GROUP(hint) && level != KVMEXT_HINT_LEVEL_NONE) {
		anchor = topo_group_anchor(tv, hint);
		if (anchor < 0 ||
		    !cpumask_and(&tv->want, &tv->base, topo_level_mask(level, anchor))) {
			cpumask_copy(&tv->want, &tv->base);
			atomic64_inc(&s->hints_clamped_envelope);
			any_clamp = true;
		}
	}
	if (!cpumask_equal(&tv->want, t->cpus_ptr)) {
		if (!topo_sched_setaffinity(0, &tv->want)) {
			atomic64_inc(&s->affinity_changes);
		} else {
			atomic64_inc(&s->hints_clamped_envelope);
			any_clamp = true;
		}
	}
	cpumask_copy(&tv->hint_mask, t->cpus_ptr);

	nice = topo_hint_nice(KVMEXT_HINT_CLASS(hint), tv->base_nice,
			      topo_max_boost(tv->vm), &clamped);
	if (clamped) {
		atomic64_inc(&s->hints_clamped_cap);
		any_clamp = true;
	}
	if (nice != task_nice(t)) {
		set_user_nice(t, nice);
		atomic64_inc(&s->priority_changes);
	}
	tv->hint_nice = task_nice(t);
	topo_rt_update(tv, KVMEXT_HINT_CLASS(hint) == KVMEXT_HINT_CLASS_LATENCY,
		       tv->hint_nice);

	io = topo_io_level_cap(tv->base_ioprio);
	if ((hint & KVMEXT_HINT_IO_VALID) && io >= 0) {
		if (KVMEXT_HINT_IO_LEVEL(hint) < io) {
			atomic64_inc(&s->hints_clamped_cap);
			any_clamp = true;
		}
		io = IOPRIO_PRIO_VALUE(IOPRIO_CLASS_BE,
				       max_t(int, io, KVMEXT_HINT_IO_LEVEL(hint)));
	} else {
		if (hint & KVMEXT_HINT_IO_VALID) {
			atomic64_inc(&s->hints_clamped_cap);
			any_clamp = true;
		}
		io = tv->base_ioprio;
	}
	if (io != topo_task_ioprio(t))
		set_task_ioprio(t, io);
	tv->hint_ioprio = topo_task_ioprio(t);

	if ((hint & KVMEXT_HINT_BOOT_COMPLETE) &&
	    !test_and_set_bit(TOPO_VM_BOOTED, &tv->vm->flags))
		atomic64_inc(&s->boot_complete);
	atomic64_inc(&s->hints_applied);
	trace_kvm_topo_hint(tv->vcpu->kvm->userspace_pid, tv->vcpu->vcpu_id, hint,
			    task_nice(t), cpumask_weight(t->cpus_ptr), any_clamp);
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
 * From rmmod, after every hook and update is gone and the budget timer
 * cancelled. Only what this module
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
	if (tv->rt_active && t->policy == SCHED_FIFO)
		sched_set_normal(t, tv->base_nice);
	if (cpumask_equal(t->cpus_ptr, &tv->hint_mask))
		topo_sched_setaffinity(task_pid_vnr(t), &tv->envelope);
	if (task_nice(t) == tv->hint_nice)
		set_user_nice(t, tv->base_nice);
	if (topo_task_ioprio(t) == tv->hint_ioprio)
		set_task_ioprio(t, tv->base_ioprio);
	put_task_struct(t);
}
