// SPDX-License-Identifier: GPL-2.0
/*
 * Keeping each registered vCPU's topology page true.
 *
 * KVM raises KVM_REQ_STEAL_UPDATE every time it loads a vCPU, that is
 * after every sched-in of the vCPU thread, and serves it in
 * vcpu_enter_guest() by calling record_steal_time(), preemptible, before
 * it disables interrupts to enter the guest. A kprobe there sees the
 * vCPU's physical CPU before each guest entry that follows a reschedule.
 * When the CPU changed, or another vCPU's move changed how this one
 * relates to it, the probe queues a task_work on the vCPU thread itself.
 * Queuing sets TIF_NOTIFY_RESUME, which makes vcpu_enter_guest() abandon
 * the entry and vcpu_run() run the work, sleepable and with the vCPU
 * loaded, before it tries again; so the page is rewritten before the vCPU
 * executes another guest instruction. If the thread is rescheduled while
 * the work runs, the next load raises the request again and the loop
 * repeats until the page matches the CPU the vCPU enters on.
 *
 * Only the vCPU's own thread writes its page, through kvm_vcpu_write_guest(),
 * which marks the page dirty for live migration. Other threads mark a vCPU
 * stale, raise the request and kick it.
 */
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/highmem.h>
#include <linux/moduleparam.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/topology.h>
#include <asm/apicdef.h>

#include "topo.h"
#define CREATE_TRACE_POINTS
#include "trace.h"

u64 topo_epoch;

unsigned int notify_interval_ms = 10;
static unsigned int capacity_window_ms = 100;

static int set_notify_interval(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 1, 10000);
}

static int set_capacity_window(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 10, 10000);
}

static const struct kernel_param_ops notify_interval_ops = {
	.set = set_notify_interval, .get = param_get_uint,
};
static const struct kernel_param_ops capacity_window_ops = {
	.set = set_capacity_window, .get = param_get_uint,
};

module_param_cb(notify_interval_ms, &notify_interval_ops, &notify_interval_ms, 0444);
MODULE_PARM_DESC(notify_interval_ms,
		 "Minimum time between two topology interrupts to one vCPU (1-10000, default 10)");
module_param_cb(capacity_window_ms, &capacity_window_ops, &capacity_window_ms, 0444);
MODULE_PARM_DESC(capacity_window_ms,
		 "Window over which a vCPU's capacity is measured and republished (10-10000, default 100)");

static bool topo_write(struct kvm_vcpu *vcpu, gpa_t gpa, size_t off,
		       const void *src, size_t len)
{
	return !kvm_vcpu_write_guest(vcpu, gpa + off, src + off, len);
}

static void topo_refresh_capacity(struct topo_vcpu *tv, u64 now)
{
	u64 ran = current->se.sum_exec_runtime;
	u64 waited = current->sched_info.run_delay;

	if (tv->cap_stamp_ns &&
	    now - tv->cap_stamp_ns < (u64)capacity_window_ms * NSEC_PER_MSEC)
		return;
	if (tv->cap_stamp_ns)
		tv->capacity = topo_capacity(ran - tv->cap_runtime,
					     waited - tv->cap_delay,
					     tv->capacity);
	tv->cap_stamp_ns = now;
	tv->cap_runtime = ran;
	tv->cap_delay = waited;
}

static void topo_maybe_notify(struct topo_vcpu *tv, gpa_t gpa, u64 now)
{
	u64 notify = READ_ONCE(tv->notify_msr);
	struct kvm_vcpu *vcpu = tv->vcpu;
	u32 ack = 0;

	if (!(notify & KVMEXT_TOPO_NOTIFY_ENABLE) ||
	    !test_bit(TOPO_VCPU_NOTIFY, &tv->flags))
		return;
	if (tv->notified_gen &&
	    kvm_vcpu_read_guest(vcpu, gpa + offsetof(struct kvmext_topo_page, ack),
				&ack, sizeof(ack)))
		return;
	tv->notify_try_ns = now;
	if (!topo_notify_due(ack, tv->notified_gen, now - tv->last_notify_ns,
			     (u64)notify_interval_ms * NSEC_PER_MSEC)) {
		atomic64_inc(&tv->vm->stats.notify_held);
		trace_kvm_topo_notify(vcpu->kvm->userspace_pid, vcpu->vcpu_id,
				      notify & KVMEXT_TOPO_NOTIFY_VECTOR,
				      tv->generation, false);
		return;
	}
	clear_bit(TOPO_VCPU_NOTIFY, &tv->flags);
	tv->notified_gen = tv->generation;
	tv->last_notify_ns = now;
	kvm_apic_send_ipi(vcpu->arch.apic, APIC_DEST_SELF | APIC_DM_FIXED |
			  (u32)(notify & KVMEXT_TOPO_NOTIFY_VECTOR), 0);
	atomic64_inc(&tv->vm->stats.notifications);
	trace_kvm_topo_notify(vcpu->kvm->userspace_pid, vcpu->vcpu_id,
			      notify & KVMEXT_TOPO_NOTIFY_VECTOR, tv->generation, true);
}

/*
 * Rewrite the page from the current placement of every vCPU of the VM.
 * Runs on the vCPU's thread with the vCPU loaded.
 */
static void topo_update(struct topo_vcpu *tv)
{
	struct kvmext_topo_page *p = &tv->page;
	struct kvm_vcpu *vcpu = tv->vcpu, *v;
	struct topo_vm *vm = tv->vm;
	u64 now = ktime_get_ns();
	gpa_t gpa = tv->page_msr & PAGE_MASK;
	unsigned long i;
	u32 gen, nr_ids = 0;
	int self, idx;
	bool ok, full;

	clear_bit(TOPO_VCPU_STALE, &tv->flags);
	/* Pairs with the xchg() in the probe: see a move that re-marks us. */
	smp_mb__after_atomic(); /* see above */

	memset(tv->next, 0, sizeof(tv->next));
	self = READ_ONCE(vm->last_cpu[vcpu->vcpu_idx]);
	kvm_for_each_vcpu(i, v, vcpu->kvm) {
		topo_add_vcpu(tv->next, self,
			      v == vcpu ? self : READ_ONCE(vm->last_cpu[v->vcpu_idx]),
			      v->vcpu_id);
		nr_ids = max(nr_ids, (u32)v->vcpu_id + 1);
	}
	full = memcmp(tv->next[0], p->smt, sizeof(p->smt)) ||
	       memcmp(tv->next[1], p->llc, sizeof(p->llc)) ||
	       memcmp(tv->next[2], p->node, sizeof(p->node));
	if (full)
		set_bit(TOPO_VCPU_NOTIFY, &tv->flags);
	/* 1.5 KiB of masks only when they changed or the page is new. */
	full |= gpa != tv->written_gpa;
	memcpy(p->smt, tv->next[0], sizeof(p->smt));
	memcpy(p->llc, tv->next[1], sizeof(p->llc));
	memcpy(p->node, tv->next[2], sizeof(p->node));
	topo_refresh_capacity(tv, now);

	p->magic = KVMEXT_TOPO_MAGIC;
	p->version = KVMEXT_ABI_VERSION;
	p->size = sizeof(*p);
	p->features = KVMEXT_TOPO_FEATURES;
	p->epoch = topo_epoch;
	p->vcpu_id = vcpu->vcpu_id;
	p->capacity = tv->capacity;
	p->nr_ids = nr_ids;

	idx = srcu_read_lock(&vcpu->kvm->srcu);
	gen = tv->generation + 1;
	ok = !kvm_vcpu_write_guest(vcpu, gpa + offsetof(struct kvmext_topo_page, generation),
				   &gen, sizeof(gen));
	smp_wmb(); /* the odd generation before any other field */
	ok = ok && topo_write(vcpu, gpa, 0,
			      p, offsetof(struct kvmext_topo_page, generation));
	ok = ok && topo_write(vcpu, gpa, offsetof(struct kvmext_topo_page, epoch),
			      p, offsetof(struct kvmext_topo_page, ack) -
				 offsetof(struct kvmext_topo_page, epoch));
	ok = ok && (!full ||
		    topo_write(vcpu, gpa, offsetof(struct kvmext_topo_page, reserved),
			       p, sizeof(*p) - offsetof(struct kvmext_topo_page, reserved)));
	smp_wmb(); /* every field before the even generation */
	gen++;
	ok = ok && !kvm_vcpu_write_guest(vcpu, gpa + offsetof(struct kvmext_topo_page, generation),
					 &gen, sizeof(gen));
	tv->written_gpa = ok ? gpa : 0;
	if (ok) {
		tv->generation = gen;
		p->generation = gen;
		tv->last_write_ns = now;
		atomic64_inc(&vm->stats.updates);
		trace_kvm_topo_update(vcpu->kvm->userspace_pid, vcpu->vcpu_id,
				      self, gen, full);
		topo_maybe_notify(tv, gpa, now);
	} else {
		/*
		 * The memslot went away under the page: as steal time does,
		 * keep the registration and try again on the next move.
		 */
		tv->generation = gen;
		atomic64_inc(&vm->stats.write_failed);
	}
	srcu_read_unlock(&vcpu->kvm->srcu, idx);
}

static void topo_update_work(struct callback_head *cb)
{
	struct topo_vcpu *tv = container_of(cb, struct topo_vcpu, work);
	struct kvm *kvm = tv->vm->kvm;

	clear_bit(TOPO_VCPU_QUEUED, &tv->flags);
	smp_mb__after_atomic(); /* a later mark queues anew and is seen */
	/*
	 * Also run on the way back to user space or out of an exiting
	 * thread; then the vCPU is not loaded, guest memory must not be
	 * written, and the page stays stale until the next KVM_RUN.
	 */
	if (kvm_get_running_vcpu() == tv->vcpu) {
		if (READ_ONCE(tv->page_msr))
			topo_update(tv);
		/* Also run for other reasons: the rate limit still holds. */
		if (test_bit(TOPO_VCPU_HINT, &tv->flags) &&
		    topo_hint_due(tv, ktime_get_ns())) {
			clear_bit(TOPO_VCPU_HINT, &tv->flags);
			clear_bit(TOPO_VCPU_HINT_HELD, &tv->flags);
			clear_bit(TOPO_VCPU_RT, &tv->flags);
			topo_hint_apply(tv);
		}
		if (test_and_clear_bit(TOPO_VCPU_RT, &tv->flags))
			topo_rt_recheck(tv);
	}
	kvm_put_kvm(kvm);
	topo_call_exit();
}

/* Queue the update on current, the vCPU's thread; from the probe. */
static void topo_queue(struct topo_vcpu *tv)
{
	if (test_and_set_bit(TOPO_VCPU_QUEUED, &tv->flags))
		return;
	kvm_get_kvm(tv->vm->kvm);
	topo_call_enter();
	init_task_work(&tv->work, topo_update_work);
	if (task_work_add(current, &tv->work, TWA_RESUME)) {
		/* The thread is exiting: nothing will enter the guest. */
		clear_bit(TOPO_VCPU_QUEUED, &tv->flags);
		kvm_put_kvm_no_destroy(tv->vm->kvm);
		topo_call_exit();
	}
}

/**
 * topo_mark_stale() - make a vCPU rewrite its page before its next entry
 * @tv: the vCPU
 *
 * Context: any; the vCPU may be running on another CPU.
 */
void topo_mark_stale(struct topo_vcpu *tv)
{
	set_bit(TOPO_VCPU_STALE, &tv->flags);
	kvm_make_request(KVM_REQ_STEAL_UPDATE, tv->vcpu);
	kvm_vcpu_kick(tv->vcpu);
}

/**
 * topo_steal_update_hook() - kprobe on record_steal_time()
 * @p: the kprobe
 * @regs: registers at entry; the first argument is the vCPU
 *
 * Runs on the vCPU thread, with the vCPU loaded, after each load and
 * before the guest entry that follows it.
 *
 * Return: 0, to let the function run.
 */
int topo_steal_update_hook(struct kprobe *p, struct pt_regs *regs)
{
	struct kvm_vcpu *vcpu = (struct kvm_vcpu *)regs_get_kernel_argument(regs, 0);
	u64 now, interval = (u64)notify_interval_ms * NSEC_PER_MSEC;
	struct topo_vcpu *tv, *o;
	struct topo_vm *vm;
	unsigned long i;
	int cpu, old;

	if (!READ_ONCE(topo_live))
		return 0;
	rcu_read_lock();
	vm = topo_vm_find(vcpu->kvm);
	if (!vm)
		goto out;
	tv = xa_load(&vm->vcpus, vcpu->vcpu_idx);
	if (tv && tv->vcpu != vcpu)
		tv = NULL;	/* see topo_vcpu_find() */
	cpu = READ_ONCE(vcpu->cpu);
	/* Full barrier: see the other vCPUs' moves, or be seen by them. */
	old = xchg(&vm->last_cpu[vcpu->vcpu_idx], cpu);
	if (old != cpu) {
		if (old >= 0)
			atomic64_inc(&vm->stats.migrations);
		xa_for_each(&vm->vcpus, i, o) {
			int ocpu;

			if (o == tv || !READ_ONCE(o->page_msr))
				continue;
			ocpu = READ_ONCE(vm->last_cpu[o->vcpu->vcpu_idx]);
			if (topo_relation(ocpu, old) != topo_relation(ocpu, cpu))
				topo_mark_stale(o);
		}
		if (tv)
			set_bit(TOPO_VCPU_STALE, &tv->flags);
	}
	if (!tv)
		goto out;
	now = ktime_get_ns();
	if (READ_ONCE(tv->page_msr) &&
	    (test_bit(TOPO_VCPU_STALE, &tv->flags) ||
	     now - tv->last_write_ns >= (u64)capacity_window_ms * NSEC_PER_MSEC ||
	     (test_bit(TOPO_VCPU_NOTIFY, &tv->flags) &&
	      (READ_ONCE(tv->notify_msr) & KVMEXT_TOPO_NOTIFY_ENABLE) &&
	      now - tv->notify_try_ns >= interval)))
		topo_queue(tv);
	/* The budget is not rate-limited: it only ever takes away. */
	if (test_bit(TOPO_VCPU_RT, &tv->flags))
		topo_queue(tv);
	if (test_bit(TOPO_VCPU_HINT, &tv->flags)) {
		if (topo_hint_due(tv, now))
			topo_queue(tv);
		else if (!test_and_set_bit(TOPO_VCPU_HINT_HELD, &tv->flags))
			atomic64_inc(&vm->stats.hints_deferred);
	}
out:
	rcu_read_unlock();
	return 0;
}

/**
 * topo_mark_gone() - tell a guest the host module has gone
 * @tv: a registered vCPU
 *
 * At unload, from rmmod, after every hook is gone and no update is queued,
 * so nothing else writes the page. The page is reached through the VMM's
 * page tables, as KVM's own accesses would be, but from another process:
 * KVM's dirty tracking needs a loaded vCPU, so this last write is not
 * logged; a guest migrated at that very moment sees the epoch stop moving
 * instead.
 */
void topo_mark_gone(struct topo_vcpu *tv)
{
	struct kvm *kvm = tv->vm->kvm;
	gpa_t gpa = tv->page_msr & PAGE_MASK;
	struct kvmext_topo_page *p;
	struct page *page;
	unsigned long hva;
	long n;
	int idx;

	idx = srcu_read_lock(&kvm->srcu);
	hva = gfn_to_hva(kvm, gpa_to_gfn(gpa));
	srcu_read_unlock(&kvm->srcu, idx);
	if (kvm_is_error_hva(hva) || !mmget_not_zero(kvm->mm))
		return;
	mmap_read_lock(kvm->mm);
	n = get_user_pages_remote(kvm->mm, hva, 1, FOLL_WRITE, &page, NULL, NULL);
	mmap_read_unlock(kvm->mm);
	if (n == 1) {
		p = kmap_local_page(page);
		WRITE_ONCE(p->generation, tv->generation + 1);
		smp_wmb(); /* odd generation, then the epoch, then even */
		WRITE_ONCE(p->epoch, KVMEXT_TOPO_EPOCH_GONE);
		smp_wmb(); /* as above */
		WRITE_ONCE(p->generation, tv->generation + 2);
		kunmap_local(p);
		set_page_dirty_lock(page);
		put_page(page);
	}
	mmput(kvm->mm);
}
