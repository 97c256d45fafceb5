// SPDX-License-Identifier: GPL-2.0
/*
 * Per-VM state of kvm-zeropage and its lifecycle.
 *
 * A VM gets state at its first memslot commit, or at load for VMs that
 * already exist. The state lives until KVM destroys the VM and is freed a
 * grace period later, since the copy-on-write hook looks it up under RCU;
 * the works that may still be queued are cancelled first. Each VM also
 * gets /sys/kernel/kvm_zeropage/vms/<VMM pid>-<n>/threshold_mb.
 */
#include <linux/hashtable.h>
#include <linux/kobject.h>
#include <linux/moduleparam.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "../common/vmdir.h"
#include "zp.h"

struct hlist_head zp_vms[1 << ZP_VM_HASH_BITS];

const char *const zp_skip_names[ZP_SKIP_NR] = {
	[ZP_SKIP_DIRTY_LOG] = "dirty_log",
	[ZP_SKIP_MLOCK] = "mlock",
	[ZP_SKIP_UFFD] = "uffd",
	[ZP_SKIP_MAPPING] = "mapping",
	[ZP_SKIP_KSM] = "ksm",
	[ZP_SKIP_SWAPCACHE] = "swapcache",
	[ZP_SKIP_SHARED] = "shared",
	[ZP_SKIP_PINNED] = "pinned",
	[ZP_SKIP_THP_PTE] = "thp_pte",
};
static DEFINE_SPINLOCK(zp_vms_lock);

/*
 * How many VMs' scans, memslot re-reads and flushes may run at once, per
 * NUMA node (an unbound workqueue's max_active); 0 is the workqueue's
 * default, 256. Each scan also has its own page budget (scan_rate): this
 * bounds how many CPUs all VMs' scans can take.
 */
static unsigned int max_scan_workers;

static int zp_set_workers(const char *val, const struct kernel_param *kp)
{
	unsigned int n;
	int ret = kstrtouint(val, 0, &n);

	if (ret)
		return ret;
	if (n > WQ_MAX_ACTIVE)
		return -EINVAL;
	WRITE_ONCE(max_scan_workers, n);
	/*
	 * Called with kernel_param_lock held, which zp_vm_init() and
	 * zp_vm_exit() take around zp_wq; before the one and after the other
	 * only the value is kept.
	 */
	if (zp_wq)
		workqueue_set_max_active(zp_wq, n ?: WQ_DFL_ACTIVE);
	return 0;
}

static const struct kernel_param_ops zp_workers_ops = {
	.set = zp_set_workers,
	.get = param_get_uint,
};
module_param_cb(max_scan_workers, &zp_workers_ops, &max_scan_workers, 0644);
MODULE_PARM_DESC(max_scan_workers,
		 "Scans of all VMs that may run at once per NUMA node (0-512, default 0 = 256)");
static struct workqueue_struct *zp_free_wq;
static struct kobject *zp_sysfs_root, *zp_sysfs_vms;
static atomic_t zp_vm_seq = ATOMIC_INIT(0);
struct workqueue_struct *zp_wq;

static struct zp_vm *kobj_to_vm(struct kobject *kobj)
{
	return kvmext_vm_kobj_vm(kobj);
}

static ssize_t threshold_mb_show(struct kobject *kobj, struct kobj_attribute *a,
				 char *buf)
{
	struct zp_vm *vm = kobj_to_vm(kobj);

	return sysfs_emit(buf, "%ld%s\n", zp_threshold_mb(vm),
			  READ_ONCE(vm->threshold_mb) > 0 ? "" : " default");
}

/*
 * A number of MiB (1-1048576) sets this VM's threshold, "default" returns
 * to the module parameter; anything else is refused and changes nothing.
 */
static ssize_t threshold_mb_store(struct kobject *kobj, struct kobj_attribute *a,
				  const char *buf, size_t count)
{
	struct zp_vm *vm = kobj_to_vm(kobj);
	long mb;

	if (zp_parse_threshold_mb(buf, &mb))
		return -EINVAL;
	WRITE_ONCE(vm->threshold_mb, mb);
	/* A lower threshold may already be crossed. */
	if (atomic_long_read(&vm->pending) >= zp_threshold_pages(vm))
		zp_scan_request(vm);
	return count;
}

static struct kobj_attribute threshold_mb_attr = __ATTR_RW(threshold_mb);

static ssize_t mode_show(struct kobject *kobj, struct kobj_attribute *a,
			 char *buf)
{
	struct zp_vm *vm = kobj_to_vm(kobj);

	return sysfs_emit(buf, "%s\n", test_bit(ZP_BOOT_MODE, &vm->flags) ?
			  "boot" : "always");
}

/* "always" or "boot"; anything else is refused and changes nothing. */
static ssize_t mode_store(struct kobject *kobj, struct kobj_attribute *a,
			  const char *buf, size_t count)
{
	bool boot;

	if (zp_parse_mode(buf, &boot))
		return -EINVAL;
	zp_set_boot_mode(kobj_to_vm(kobj), boot);
	return count;
}

static struct kobj_attribute mode_attr = __ATTR_RW(mode);

static ssize_t boot_complete_show(struct kobject *kobj,
				  struct kobj_attribute *a, char *buf)
{
	struct zp_vm *vm = kobj_to_vm(kobj);

	if (!test_bit(ZP_BOOT_DONE, &vm->flags))
		return sysfs_emit(buf, "0\n");
	return sysfs_emit(buf, "1 %s\n", test_bit(ZP_BOOT_BY_GUEST, &vm->flags) ?
			  "guest" : "admin");
}

/* Only "1": boot completion cannot be taken back. */
static ssize_t boot_complete_store(struct kobject *kobj,
				   struct kobj_attribute *a, const char *buf,
				   size_t count)
{
	if (!sysfs_streq(buf, "1"))
		return -EINVAL;
	zp_boot_complete(kobj_to_vm(kobj), false);
	return count;
}

static struct kobj_attribute boot_complete_attr = __ATTR_RW(boot_complete);

static struct attribute *zp_vm_attrs[] = {
	&threshold_mb_attr.attr,
	&mode_attr.attr,
	&boot_complete_attr.attr,
	NULL,
};
ATTRIBUTE_GROUPS(zp_vm);

KVMEXT_VM_KTYPE(zp_vm_ktype, zp_vm_groups);

static void zp_vm_sysfs_add(struct work_struct *work)
{
	struct zp_vm *vm = container_of(work, struct zp_vm, sysfs_work);

	WRITE_ONCE(vm->sysfs, kvmext_vm_dir_add(&zp_vm_ktype, zp_sysfs_vms, vm,
						vm->pid, vm->seq));
}

/* The VM's state, if any; zp_vms_lock or RCU read side held. */
static struct zp_vm *zp_vm_find(struct kvm *kvm)
{
	struct zp_vm *vm;

	hash_for_each_possible_rcu(zp_vms, vm, hnode, (unsigned long)kvm->mm)
		if (vm->kvm == kvm)
			return vm;
	return NULL;
}

/**
 * zp_vm_get_kvm() - take a reference on the VM unless it is going
 * @vm: the VM's state
 *
 * KVM frees the VM right after kvm_arch_destroy_vm(), whose hook marks
 * the state dying under zp_vms_lock: taken under the same lock, the
 * reference never touches a freed VM.
 *
 * Return: true with a reference to drop with kvm_put_kvm().
 */
bool zp_vm_get_kvm(struct zp_vm *vm)
{
	bool ok;

	spin_lock(&zp_vms_lock);
	ok = !test_bit(ZP_DYING, &vm->flags) && kvm_get_kvm_safe(vm->kvm);
	spin_unlock(&zp_vms_lock);
	return ok;
}

/**
 * zp_vm_lookup() - kvm-zeropage's state for a VM, if it has one
 * @kvm: the VM
 *
 * Context: RCU read side; the state stays valid until it is left.
 * Return: the state, or NULL.
 */
struct zp_vm *zp_vm_lookup(struct kvm *kvm)
{
	return zp_vm_find(kvm);
}

static void zp_vm_free(struct zp_vm *vm)
{
	/* Removing the directory waits for its readers and writers. */
	cancel_work_sync(&vm->sysfs_work);
	kvmext_vm_dir_del(vm->sysfs);
	cancel_work_sync(&vm->slots_work);
	/*
	 * The flush may queue a scan and a scan may arm the flush; either may
	 * have tested ZP_DYING just before it was set and queue after this
	 * grace period. Flush, scan, flush: nothing is left queued.
	 */
	cancel_delayed_work_sync(&vm->flush_work);
	cancel_work_sync(&vm->scan_work);
	cancel_delayed_work_sync(&vm->flush_work);
	zp_slots_free_except(rcu_dereference_protected(vm->slots, true), NULL);
	kfree(vm);
}

static void zp_vm_free_work(struct work_struct *work)
{
	zp_vm_free(container_of(to_rcu_work(work), struct zp_vm, free_work));
}

/**
 * zp_vm_attach() - find or create kvm-zeropage's state for a VM
 * @kvm: the VM
 * @gfp: allocation flags: GFP_NOWAIT from the memslot hook
 *
 * Return: the state, or NULL when out of memory.
 */
struct zp_vm *zp_vm_attach(struct kvm *kvm, gfp_t gfp)
{
	struct zp_vm *vm, *old;

	rcu_read_lock();
	vm = zp_vm_find(kvm);
	rcu_read_unlock();
	if (vm)
		return vm;

	vm = kzalloc(sizeof(*vm), gfp);
	if (!vm)
		return NULL;
	vm->kvm = kvm;
	vm->mm = kvm->mm;
	vm->pid = kvm->userspace_pid;
	vm->seq = atomic_inc_return(&zp_vm_seq);
	vm->threshold_mb = -1;
	vm->last_drain = jiffies - HZ / 10;
	if (zp_boot_mode_default())
		set_bit(ZP_BOOT_MODE, &vm->flags);
	mutex_init(&vm->slots_lock);
	zp_budget_init(&vm->budget, zp_scan_rate(), ktime_get_ns());
	INIT_WORK(&vm->scan_work, zp_scan_work);
	INIT_DELAYED_WORK(&vm->flush_work, zp_flush_work);
	INIT_WORK(&vm->slots_work, zp_slots_work);
	INIT_WORK(&vm->sysfs_work, zp_vm_sysfs_add);
	INIT_RCU_WORK(&vm->free_work, zp_vm_free_work);

	spin_lock(&zp_vms_lock);
	old = zp_vm_find(kvm);
	if (!old)
		hash_add_rcu(zp_vms, &vm->hnode, (unsigned long)kvm->mm);
	spin_unlock(&zp_vms_lock);
	if (old) {
		kfree(vm);
		return old;
	}
	queue_work(zp_wq, &vm->sysfs_work);
	return vm;
}

/**
 * zp_vm_destroy_hook() - kprobe on kvm_arch_destroy_vm()
 * @p: the kprobe
 * @regs: registers at entry; the first argument is the VM
 *
 * No vCPU runs any more and KVM's MMU notifier is gone. The works hold a
 * reference on the VM only while they run a step and take it with
 * kvm_get_kvm_safe(), which fails from now on; the state leaves the table
 * and is freed after a grace period, once its works are cancelled.
 *
 * Return: 0, to let the function run.
 */
int zp_vm_destroy_hook(struct kprobe *p, struct pt_regs *regs)
{
	struct kvm *kvm = (struct kvm *)regs_get_kernel_argument(regs, 0);
	struct zp_vm *vm;

	spin_lock(&zp_vms_lock);
	vm = zp_vm_find(kvm);
	if (vm) {
		set_bit(ZP_DYING, &vm->flags);
		hash_del_rcu(&vm->hnode);
	}
	spin_unlock(&zp_vms_lock);
	if (vm)
		queue_rcu_work(zp_free_wq, &vm->free_work);
	return 0;
}

/**
 * zp_vm_attach_existing() - attach the VMs that existed before the load
 *
 * After the hooks are armed, so that a VM created meanwhile is attached
 * by its memslot hook and one destroyed meanwhile is seen by the destroy
 * hook. The references are dropped outside kvm_lock: dropping the last
 * one destroys the VM, which takes kvm_lock.
 */
void zp_vm_attach_existing(void)
{
	struct mutex *lock = zp_kvm_lock;
	struct list_head *list = zp_vm_list;
	struct kvm **kvms, *kvm;
	int n = 0, i;

	mutex_lock(lock);
	list_for_each_entry(kvm, list, vm_list)
		n++;
	mutex_unlock(lock);
	kvms = kcalloc(n, sizeof(*kvms), GFP_KERNEL);
	if (!kvms && n) {
		pr_warn("no memory to attach the %d VMs that already run\n", n);
		return;
	}
	i = 0;
	mutex_lock(lock);
	list_for_each_entry(kvm, list, vm_list)
		if (i < n && kvm_get_kvm_safe(kvm))
			kvms[i++] = kvm;
	mutex_unlock(lock);
	n = i;
	for (i = 0; i < n; i++) {
		struct zp_vm *vm = zp_vm_attach(kvms[i], GFP_KERNEL);

		if (vm)
			queue_work(zp_wq, &vm->slots_work);
		kvm_put_kvm(kvms[i]);
	}
	kfree(kvms);
}

/**
 * zp_vms_show() - print every VM's counters, one block per VM
 * @m: the debugfs file
 * @unused: seq_file private data
 *
 * Return: 0.
 */
int zp_vms_show(struct seq_file *m, void *unused)
{
	struct zp_vm *vm;
	int bkt;

	rcu_read_lock();
	hash_for_each_rcu(zp_vms, bkt, vm, hnode) {
		struct zp_slots *slots = rcu_dereference(vm->slots);
		struct zp_stats *s = &vm->stats;
		unsigned long unscanned = 0;
		int i;

		for (i = 0; slots && i < slots->nr; i++)
			unscanned += zp_bits_weight(slots->s[i].recent,
						    slots->s[i].npages);

		/* As KVM names the VM in its statistics (kvm->stats_id). */
		seq_printf(m, "vm kvm-%d\n", vm->pid);
		/* Named once it exists: a work makes it after the state. */
		if (READ_ONCE(vm->sysfs))
			seq_printf(m, "sysfs %d-%u\n", vm->pid, vm->seq);
		seq_printf(m, "threshold_pages %ld\n", zp_threshold_pages(vm));
		seq_printf(m, "boot_mode %d\n", test_bit(ZP_BOOT_MODE, &vm->flags));
		seq_printf(m, "boot_complete %d\n", test_bit(ZP_BOOT_DONE, &vm->flags));
		seq_printf(m, "pending %ld\n", atomic_long_read(&vm->pending));
		seq_printf(m, "unscanned %lu\n", unscanned);
		/*
		 * A memslot re-read or a scan queued or running. A running
		 * re-read counts: it waits for a grace period before it asks
		 * for the scan of new memslots, and a test that waits for
		 * the module to be idle must not start in between.
		 */
		seq_printf(m, "busy %d\n", test_bit(ZP_SCAN_QUEUED, &vm->flags) ||
			   work_busy(&vm->slots_work));
		seq_printf(m, "cowed %lld\n", atomic64_read(&s->cowed));
		seq_printf(m, "cowed_thp %lld\n", atomic64_read(&s->cowed_thp));
		seq_printf(m, "scans %lld\n", atomic64_read(&s->scans));
		seq_printf(m, "pages_scanned %lld\n", atomic64_read(&s->pages_scanned));
		seq_printf(m, "zero_found %lld\n", atomic64_read(&s->zero_found));
		seq_printf(m, "pages_reclaimed %lld\n",
			   atomic64_read(&s->pages_reclaimed));
		seq_printf(m, "thp_reclaimed %lld\n", atomic64_read(&s->thp_reclaimed));
		seq_printf(m, "thp_split %lld\n", atomic64_read(&s->thp_split));
		seq_printf(m, "thp_kept %lld\n", atomic64_read(&s->thp_kept));
		seq_printf(m, "thp_recollapsed %lld\n",
			   atomic64_read(&s->thp_recollapsed));
		seq_printf(m, "bytes_saved %lld\n",
			   atomic64_read(&s->saved) << PAGE_SHIFT);
		seq_printf(m, "not_present %lld\n", atomic64_read(&s->not_present));
		seq_printf(m, "changed %lld\n", atomic64_read(&s->changed));
		seq_printf(m, "retries %lld\n", atomic64_read(&s->retries));
		for (i = 0; i < ZP_SKIP_NR; i++)
			seq_printf(m, "skipped_%s %lld\n", zp_skip_names[i],
				   atomic64_read(&s->skipped[i]));
		seq_printf(m, "skipped_budget_wait %lld\n",
			   atomic64_read(&s->skipped_budget_wait));
		seq_printf(m, "scan_busy_us %llu\n",
			   div_u64(atomic64_read(&s->scan_busy_ns), NSEC_PER_USEC));
		seq_printf(m, "flushes %lld\n", atomic64_read(&s->flushes));
	}
	rcu_read_unlock();
	return 0;
}

/**
 * zp_vm_init() - create the workqueues and the sysfs root
 *
 * Return: 0 or -ENOMEM.
 */
int zp_vm_init(void)
{
	/* Scans sleep on their budget: unbound, so they do not hold a CPU. */
	kernel_param_lock(THIS_MODULE);
	zp_wq = alloc_workqueue("kvm_zeropage", WQ_UNBOUND, max_scan_workers);
	kernel_param_unlock(THIS_MODULE);
	zp_free_wq = alloc_workqueue("kvm_zeropage_free", 0, 0);
	zp_sysfs_root = kobject_create_and_add("kvm_zeropage", kernel_kobj);
	zp_sysfs_vms = zp_sysfs_root ?
		kobject_create_and_add("vms", zp_sysfs_root) : NULL;
	if (!zp_wq || !zp_free_wq || !zp_sysfs_vms) {
		zp_vm_exit();
		return -ENOMEM;
	}
	return 0;
}

/**
 * zp_vm_exit() - free every VM's state
 *
 * At unload, after the copy-on-write and memslot hooks are gone and while
 * the destroy hook is still live; also undoes a partial zp_vm_init().
 */
void zp_vm_exit(void)
{
	struct hlist_node *tmp;
	struct zp_vm *vm;
	int bkt;

	spin_lock(&zp_vms_lock);
	hash_for_each_safe(zp_vms, bkt, tmp, vm, hnode) {
		set_bit(ZP_DYING, &vm->flags);
		hash_del_rcu(&vm->hnode);
		queue_rcu_work(zp_free_wq, &vm->free_work);
	}
	spin_unlock(&zp_vms_lock);
	/* Every free work, from here or the destroy hook, is queued... */
	rcu_barrier();
	/* ... and runs before the workqueue goes. */
	if (zp_free_wq)
		destroy_workqueue(zp_free_wq);
	/* A max_scan_workers write holds the lock while it uses zp_wq. */
	kernel_param_lock(THIS_MODULE);
	if (zp_wq)
		destroy_workqueue(zp_wq);
	zp_wq = NULL;
	kernel_param_unlock(THIS_MODULE);
	kobject_put(zp_sysfs_vms);
	kobject_put(zp_sysfs_root);
	zp_free_wq = NULL;
}
