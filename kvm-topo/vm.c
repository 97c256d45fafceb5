// SPDX-License-Identifier: GPL-2.0
/*
 * Per-VM and per-vCPU state of kvm-topo, and its lifecycle.
 *
 * A VM gets state the first time one of its vCPUs registers a topology
 * page, so VMs that never use the interface cost one table lookup per
 * vCPU sched-in and nothing else. The state lives until KVM destroys the
 * VM, and is freed an RCU grace period later because the hooks look it up
 * under RCU. Each VM with state also gets a directory of per-VM limits,
 * /sys/kernel/kvm_topo/vms/<VMM pid>-<n>.
 */
#include <linux/hashtable.h>
#include <linux/kobject.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "../common/vmdir.h"
#include "topo.h"

static DEFINE_HASHTABLE(topo_vms, 6);
static DEFINE_SPINLOCK(topo_vms_lock);
static struct workqueue_struct *topo_free_wq;
static struct kobject *topo_sysfs_root, *topo_sysfs_vms;
static atomic_t topo_vm_seq = ATOMIC_INIT(0);

static struct topo_vm *kobj_to_vm(struct kobject *kobj)
{
	return kvmext_vm_kobj_vm(kobj);
}

/*
 * A limit reads as the value in force; writing a number within the
 * module parameter's range sets it for this VM, "default" returns to the
 * module parameter. Anything else is refused and changes nothing.
 */
static ssize_t topo_limit_show(int v, unsigned int dflt, char *buf)
{
	return sysfs_emit(buf, "%u%s\n", v >= 0 ? v : dflt, v >= 0 ? "" : " default");
}

static ssize_t topo_limit_store(int *v, unsigned int max, const char *buf,
				size_t count)
{
	unsigned int n;

	if (sysfs_streq(buf, "default")) {
		WRITE_ONCE(*v, -1);
		return count;
	}
	if (kstrtouint(buf, 0, &n) || n > max)
		return -EINVAL;
	WRITE_ONCE(*v, n);
	return count;
}

static ssize_t max_boost_show(struct kobject *kobj, struct kobj_attribute *a,
			      char *buf)
{
	struct topo_vm *vm = kobj_to_vm(kobj);

	return topo_limit_show(READ_ONCE(vm->max_boost), topo_max_boost(NULL), buf);
}

static ssize_t max_boost_store(struct kobject *kobj, struct kobj_attribute *a,
			       const char *buf, size_t count)
{
	return topo_limit_store(&kobj_to_vm(kobj)->max_boost, 39, buf, count);
}

static ssize_t rt_budget_pct_show(struct kobject *kobj,
				  struct kobj_attribute *a, char *buf)
{
	struct topo_vm *vm = kobj_to_vm(kobj);

	return topo_limit_show(READ_ONCE(vm->rt_budget_pct),
			       topo_rt_budget_pct(NULL), buf);
}

static ssize_t rt_budget_pct_store(struct kobject *kobj,
				   struct kobj_attribute *a, const char *buf,
				   size_t count)
{
	return topo_limit_store(&kobj_to_vm(kobj)->rt_budget_pct, 90, buf, count);
}

static struct kobj_attribute max_boost_attr = __ATTR_RW(max_boost);
static struct kobj_attribute rt_budget_pct_attr = __ATTR_RW(rt_budget_pct);

static struct attribute *topo_vm_attrs[] = {
	&max_boost_attr.attr,
	&rt_budget_pct_attr.attr,
	NULL,
};
ATTRIBUTE_GROUPS(topo_vm);

KVMEXT_VM_KTYPE(topo_vm_ktype, topo_vm_groups);

static void topo_vm_sysfs_add(struct work_struct *work)
{
	struct topo_vm *vm = container_of(work, struct topo_vm, sysfs_work);

	WRITE_ONCE(vm->sysfs, kvmext_vm_dir_add(&topo_vm_ktype, topo_sysfs_vms,
						vm, vm->pid, vm->seq));
}

/**
 * topo_vm_find() - kvm-topo's state for a VM
 * @kvm: the VM
 *
 * Context: RCU read side (hooks run with preemption disabled).
 * Return: the state, or NULL when no vCPU of the VM has registered.
 */
struct topo_vm *topo_vm_find(struct kvm *kvm)
{
	struct topo_vm *vm;

	hash_for_each_possible_rcu(topo_vms, vm, hnode, (unsigned long)kvm)
		if (vm->kvm == kvm)
			return vm;
	return NULL;
}

/**
 * topo_vcpu_find() - kvm-topo's state for a vCPU
 * @vcpu: the vCPU
 *
 * Context: RCU read side.
 * Return: the state, or NULL when the vCPU never registered.
 */
struct topo_vcpu *topo_vcpu_find(struct kvm_vcpu *vcpu)
{
	struct topo_vm *vm = topo_vm_find(vcpu->kvm);
	struct topo_vcpu *tv = vm ? xa_load(&vm->vcpus, vcpu->vcpu_idx) : NULL;

	/*
	 * A vCPU being created is reset before KVM gives it its index, so
	 * its vcpu_idx still reads 0: it must not find vCPU 0's state.
	 */
	return tv && tv->vcpu == vcpu ? tv : NULL;
}

static void topo_vm_free(struct work_struct *work)
{
	struct topo_vm *vm = container_of(to_rcu_work(work), struct topo_vm,
					  free_work);
	struct topo_vcpu *tv;
	unsigned long idx;

	/* Removing the directory waits for its readers and writers. */
	cancel_work_sync(&vm->sysfs_work);
	kvmext_vm_dir_del(vm->sysfs);
	xa_for_each(&vm->vcpus, idx, tv) {
		hrtimer_cancel(&tv->rt_timer);
		kfree(tv);
	}
	xa_destroy(&vm->vcpus);
	kfree(vm);
}

/**
 * topo_vm_attach() - find or create kvm-topo's state for a VM
 * @kvm: the VM
 *
 * Called from the MSR write handler, which must not sleep.
 *
 * Context: any; allocates with GFP_NOWAIT.
 * Return: the state, or NULL when out of memory.
 */
struct topo_vm *topo_vm_attach(struct kvm *kvm)
{
	struct topo_vm *vm, *old;
	struct kvm_vcpu *v;
	unsigned long i;

	rcu_read_lock();
	vm = topo_vm_find(kvm);
	rcu_read_unlock();
	if (vm)
		return vm;

	vm = kzalloc(sizeof(*vm), GFP_NOWAIT | __GFP_NOWARN);
	if (!vm)
		return NULL;
	vm->kvm = kvm;
	vm->pid = kvm->userspace_pid;
	vm->seq = atomic_inc_return(&topo_vm_seq);
	vm->max_boost = -1;
	vm->rt_budget_pct = -1;
	xa_init(&vm->vcpus);
	INIT_RCU_WORK(&vm->free_work, topo_vm_free);
	INIT_WORK(&vm->sysfs_work, topo_vm_sysfs_add);
	for (i = 0; i < KVM_MAX_VCPUS; i++)
		vm->last_cpu[i] = -1;
	/* vCPUs that already ran count from where they last ran. */
	kvm_for_each_vcpu(i, v, kvm)
		vm->last_cpu[v->vcpu_idx] = READ_ONCE(v->cpu);

	spin_lock(&topo_vms_lock);
	old = topo_vm_find(kvm);
	if (!old)
		hash_add_rcu(topo_vms, &vm->hnode, (unsigned long)kvm);
	spin_unlock(&topo_vms_lock);
	if (old) {
		xa_destroy(&vm->vcpus);
		kfree(vm);
		return old;
	}
	schedule_work(&vm->sysfs_work);
	return vm;
}

/**
 * topo_vcpu_attach() - find or create kvm-topo's state for a vCPU
 * @vm: its VM's state
 * @vcpu: the vCPU
 *
 * Context: the vCPU's ioctl (vcpu->mutex held), so never concurrently for
 * one vCPU; allocates with GFP_NOWAIT.
 * Return: the state, or NULL when out of memory.
 */
struct topo_vcpu *topo_vcpu_attach(struct topo_vm *vm, struct kvm_vcpu *vcpu)
{
	struct topo_vcpu *tv = xa_load(&vm->vcpus, vcpu->vcpu_idx);

	if (tv)
		return tv;
	tv = kzalloc(sizeof(*tv), GFP_NOWAIT | __GFP_NOWARN);
	if (!tv)
		return NULL;
	tv->vm = vm;
	tv->vcpu = vcpu;
	tv->capacity = KVMEXT_TOPO_CAPACITY_SCALE;
	topo_rt_init(tv);
	if (xa_err(xa_store(&vm->vcpus, vcpu->vcpu_idx, tv,
			    GFP_NOWAIT | __GFP_NOWARN))) {
		kfree(tv);
		return NULL;
	}
	return tv;
}

/**
 * topo_vm_destroy_hook() - kprobe on kvm_arch_destroy_vm()
 * @p: the kprobe
 * @regs: registers at entry; the first argument is the VM
 *
 * By then no vCPU runs and no update is queued (a queued update holds a
 * reference on the VM), so the state only has to leave the table and be
 * freed once no hook can still be looking at it.
 *
 * Return: 0, to let the function run.
 */
int topo_vm_destroy_hook(struct kprobe *p, struct pt_regs *regs)
{
	struct kvm *kvm = (struct kvm *)regs_get_kernel_argument(regs, 0);
	struct topo_vcpu *tv;
	struct topo_vm *vm;
	unsigned long idx;

	spin_lock(&topo_vms_lock);
	vm = topo_vm_find(kvm);
	if (vm)
		hash_del_rcu(&vm->hnode);
	spin_unlock(&topo_vms_lock);
	if (!vm)
		return 0;
	/* The vCPUs are freed next; their budget timers must not fire. */
	xa_for_each(&vm->vcpus, idx, tv)
		hrtimer_cancel(&tv->rt_timer);
	queue_rcu_work(topo_free_wq, &vm->free_work);
	return 0;
}

/**
 * topo_reset_hook() - kprobe on kvm_vcpu_reset() and on
 *	kvm_arch_vcpu_ioctl_set_mpstate()
 * @p: the kprobe
 * @regs: registers at entry; the first argument is the vCPU
 *
 * KVM drops its own PV MSRs on INIT and RESET; a VMM resetting a vCPU
 * sets its MP state. The registration goes in both cases, so that the
 * host never writes into memory that a rebooted guest has reused.
 *
 * Return: 0, to let the function run.
 */
int topo_reset_hook(struct kprobe *p, struct pt_regs *regs)
{
	struct kvm_vcpu *vcpu = (struct kvm_vcpu *)regs_get_kernel_argument(regs, 0);
	struct topo_vcpu *tv;

	rcu_read_lock();
	tv = topo_vcpu_find(vcpu);
	if (tv && (READ_ONCE(tv->page_msr) || READ_ONCE(tv->notify_msr) ||
		   READ_ONCE(tv->hint_msr))) {
		if (READ_ONCE(tv->page_msr))
			atomic64_inc(&tv->vm->stats.resets);
		WRITE_ONCE(tv->page_msr, 0);
		WRITE_ONCE(tv->notify_msr, 0);
		if (READ_ONCE(tv->hint_msr)) {
			/* The thread goes back to its envelope. */
			WRITE_ONCE(tv->hint_msr, 0);
			set_bit(TOPO_VCPU_HINT, &tv->flags);
			kvm_make_request(KVM_REQ_STEAL_UPDATE, vcpu);
		}
	}
	rcu_read_unlock();
	return 0;
}

static const char *const topo_reject_name[TOPO_REJECT_NR] = {
	[TOPO_REJECT_RESERVED] = "reserved_bits",
	[TOPO_REJECT_GPA] = "bad_gpa",
	[TOPO_REJECT_VECTOR] = "bad_vector",
	[TOPO_REJECT_VCPU_ID] = "vcpu_id_too_large",
};

/**
 * topo_vms_show() - print every VM's counters, one block per VM
 * @m: the debugfs file
 * @unused: seq_file private data
 *
 * VMs are named as in KVM's statistics (kvm-<VMM pid>).
 *
 * Return: 0.
 */
int topo_vms_show(struct seq_file *m, void *unused)
{
	struct topo_vcpu *tv;
	struct topo_vm *vm;
	unsigned long idx;
	int bkt, i, regd;

	rcu_read_lock();
	hash_for_each_rcu(topo_vms, bkt, vm, hnode) {
		struct topo_vm_stats *s = &vm->stats;

		regd = 0;
		xa_for_each(&vm->vcpus, idx, tv)
			regd += !!READ_ONCE(tv->page_msr);
		/* As KVM names the VM in its statistics (kvm->stats_id). */
		seq_printf(m, "vm kvm-%d\n", vm->pid);
		/* Named once it exists: a work makes it after the state. */
		if (READ_ONCE(vm->sysfs))
			seq_printf(m, "sysfs %d-%u\n", vm->pid, vm->seq);
		seq_printf(m, "registered_vcpus %d\n", regd);
		seq_printf(m, "registrations %lld\n", atomic64_read(&s->registrations));
		seq_printf(m, "unregistrations %lld\n", atomic64_read(&s->unregistrations));
		seq_printf(m, "resets %lld\n", atomic64_read(&s->resets));
		for (i = 0; i < TOPO_REJECT_NR; i++)
			seq_printf(m, "rejected_%s %lld\n", topo_reject_name[i],
				   atomic64_read(&s->rejected[i]));
		seq_printf(m, "updates %lld\n", atomic64_read(&s->updates));
		seq_printf(m, "write_failed %lld\n", atomic64_read(&s->write_failed));
		seq_printf(m, "notifications %lld\n", atomic64_read(&s->notifications));
		seq_printf(m, "notify_held %lld\n", atomic64_read(&s->notify_held));
		seq_printf(m, "migrations %lld\n", atomic64_read(&s->migrations));
		seq_printf(m, "hints %lld\n", atomic64_read(&s->hints));
		seq_printf(m, "hints_applied %lld\n", atomic64_read(&s->hints_applied));
		seq_printf(m, "hints_deferred %lld\n", atomic64_read(&s->hints_deferred));
		seq_printf(m, "hints_clamped_envelope %lld\n",
			   atomic64_read(&s->hints_clamped_envelope));
		seq_printf(m, "hints_clamped_cap %lld\n", atomic64_read(&s->hints_clamped_cap));
		seq_printf(m, "affinity_changes %lld\n", atomic64_read(&s->affinity_changes));
		seq_printf(m, "priority_changes %lld\n", atomic64_read(&s->priority_changes));
		seq_printf(m, "boot_complete %lld\n", atomic64_read(&s->boot_complete));
		seq_printf(m, "rt_grants %lld\n", atomic64_read(&s->rt_grants));
		seq_printf(m, "rt_throttled %lld\n", atomic64_read(&s->rt_throttled));
		seq_printf(m, "vnuma_placed %lld\n", atomic64_read(&s->vnuma_placed));
		seq_printf(m, "vnuma_clamped %lld\n", atomic64_read(&s->vnuma_clamped));
	}
	rcu_read_unlock();
	return 0;
}

/**
 * topo_vm_init() - the VM table, its workqueue and /sys/kernel/kvm_topo/vms
 *
 * Return: 0 or -ENOMEM, with nothing left behind.
 */
int topo_vm_init(void)
{
	hash_init(topo_vms);
	topo_free_wq = alloc_workqueue("kvm_topo_free", 0, 0);
	topo_sysfs_root = kobject_create_and_add(KBUILD_MODNAME, kernel_kobj);
	topo_sysfs_vms = topo_sysfs_root ?
		kobject_create_and_add("vms", topo_sysfs_root) : NULL;
	if (topo_free_wq && topo_sysfs_vms)
		return 0;
	kobject_put(topo_sysfs_vms);
	kobject_put(topo_sysfs_root);
	if (topo_free_wq)
		destroy_workqueue(topo_free_wq);
	return -ENOMEM;
}

/**
 * topo_vm_exit() - at unload, after every hook but the destroy hook is
 *	gone and nothing queued is left: tell each
 *	registered guest the host has left, then free all state
 */
void topo_vm_exit(void)
{
	struct hlist_node *tmp;
	struct topo_vcpu *tv;
	struct topo_vm *vm;
	unsigned long idx;
	int bkt;

	spin_lock(&topo_vms_lock);
	hash_for_each_safe(topo_vms, bkt, tmp, vm, hnode) {
		hash_del_rcu(&vm->hnode);
		if (!kvm_get_kvm_safe(vm->kvm)) {
			/*
			 * Being destroyed, but the destroy hook has not run (it
			 * would have taken the entry out): its vCPUs still
			 * exist. Nothing to tell a guest that is going away.
			 */
			xa_for_each(&vm->vcpus, idx, tv)
				hrtimer_cancel(&tv->rt_timer);
			queue_rcu_work(topo_free_wq, &vm->free_work);
			continue;
		}
		spin_unlock(&topo_vms_lock);
		xa_for_each(&vm->vcpus, idx, tv) {
			hrtimer_cancel(&tv->rt_timer);
			if (READ_ONCE(tv->page_msr))
				topo_mark_gone(tv);
			topo_hint_restore(tv);
		}
		kvm_put_kvm(vm->kvm);
		queue_rcu_work(topo_free_wq, &vm->free_work);
		spin_lock(&topo_vms_lock);
	}
	spin_unlock(&topo_vms_lock);
	/* Entries of VMs destroyed meanwhile were queued by the hook. */
	rcu_barrier();
	destroy_workqueue(topo_free_wq);
	kobject_put(topo_sysfs_vms);
	kobject_put(topo_sysfs_root);
}
