// SPDX-License-Identifier: GPL-2.0
/*
 * kvm-topo: discloses each guest's live vCPU topology through the kvmext
 * paravirtual interface (include/uapi/kvmext/pv.h) and takes its hints.
 * msr.c serves the MSRs, disclose.c keeps the pages true, vm.c holds the
 * per-VM state. Documentation/abi.rst is the guest's view.
 */
#include <linux/debugfs.h>
#include <linux/module.h>
#include <linux/random.h>
#include <linux/seq_file.h>
#include <linux/utsname.h>

#include <kvmext/pv.h>

#include "../common/hook.h"
#include "topo.h"

struct topo_stats topo_stats;
bool topo_live;
static struct dentry *topo_debugfs;
static atomic_t topo_calls = ATOMIC_INIT(0);

/**
 * topo_call_enter() - count module code that may sleep or run later
 *
 * Queued task_works and the hypercall replacement (which can sleep in
 * KVM) count themselves, so that unloading can wait for them: RCU-tasks
 * alone treats a task that sleeps as being out of the module's text.
 */
void topo_call_enter(void)
{
	atomic_inc(&topo_calls);
}

/**
 * topo_call_exit() - the end of what topo_call_enter() counted
 *
 * Must be the caller's last action: unloading waits for the count, then
 * for an RCU-tasks grace period that covers the instructions after it.
 */
void topo_call_exit(void)
{
	if (atomic_dec_and_test(&topo_calls))
		wake_up_var(&topo_calls);
}

/*
 * Every hook of the module, checked at load (common/hook.h). The first
 * TOPO_LIFE_HOOKS entries are armed first and removed last: the destroy
 * hook must see every VM go for as long as the module holds VM state,
 * and the symbols are used until the very end.
 */
#define TOPO_LIFE_HOOKS 3
static struct kvmext_hook topo_hooks[] = {
	KVMEXT_KPROBE("kvm_arch_destroy_vm", topo_vm_destroy_hook),
	KVMEXT_SYMBOL("kvm_x86_ops", &topo_kvm_x86_ops),
	KVMEXT_SYMBOL("sched_setaffinity", &topo_sched_setaffinity),
	/* Removed last: without the two below, KVM's PMU refuses our MSRs. */
	KVMEXT_REDIRECT("kvm_pmu_is_valid_msr", topo_msr_index_is_ours,
			topo_pmu_is_valid_msr),
	KVMEXT_REDIRECT("kvm_pmu_get_msr", topo_msr_is_ours, topo_get_msr),
	KVMEXT_REDIRECT("kvm_pmu_set_msr", topo_msr_is_ours, topo_set_msr),
	KVMEXT_REDIRECT("kvm_emulate_hypercall", topo_hc_is_ours,
			topo_emulate_hypercall),
	KVMEXT_KPROBE("record_steal_time", topo_steal_update_hook),
	KVMEXT_KPROBE("kvm_vcpu_reset", topo_reset_hook),
	KVMEXT_KPROBE("kvm_arch_vcpu_ioctl_set_mpstate", topo_reset_hook),
};

static int topo_stats_show(struct seq_file *m, void *unused)
{
	seq_printf(m, "probe_reads %lld\n",
		   atomic64_read(&topo_stats.probe_reads));
	seq_printf(m, "probe_writes_rejected %lld\n",
		   atomic64_read(&topo_stats.probe_writes_rejected));
	seq_printf(m, "attach_failed %lld\n",
		   atomic64_read(&topo_stats.attach_failed));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(topo_stats);

DEFINE_SHOW_ATTRIBUTE(topo_vms);

static void topo_debugfs_init(void)
{
	/*
	 * Under KVM's debugfs directory, which also makes this module depend
	 * on kvm.ko, whose functions it redirects. Read-only: debugfs
	 * refuses writable files under lockdown.
	 */
	topo_debugfs = debugfs_create_dir(KBUILD_MODNAME, kvm_debugfs_dir);
	debugfs_create_file("stats", 0444, topo_debugfs, NULL,
			    &topo_stats_fops);
	debugfs_create_file("vms", 0444, topo_debugfs, NULL, &topo_vms_fops);
}

static int __init topo_init(void)
{
	int ret;

	/* Non-zero, and different after a reload: see struct kvmext_topo_page. */
	do {
		topo_epoch = get_random_u64();
	} while (topo_epoch == KVMEXT_TOPO_EPOCH_GONE);
	ret = topo_vm_init();
	if (ret)
		return ret;
	topo_debugfs_init();
	ret = kvmext_hooks_install(topo_hooks, ARRAY_SIZE(topo_hooks));
	if (ret) {
		/* Not live yet: no VM attached, nothing was queued. */
		debugfs_remove(topo_debugfs);
		topo_vm_exit();
		return ret;
	}
	/* Only now may guests attach (see topo_live in topo.h). */
	WRITE_ONCE(topo_live, true);
	pr_info("serving kvmext ABI %d on kernel %s\n", KVMEXT_ABI_VERSION,
		init_utsname()->release);
	return 0;
}

static void __exit topo_exit(void)
{
	WRITE_ONCE(topo_live, false);
	kvmext_hooks_remove(topo_hooks + TOPO_LIFE_HOOKS,
			    ARRAY_SIZE(topo_hooks) - TOPO_LIFE_HOOKS);
	/*
	 * Queued updates run before their vCPU's next guest entry, or when
	 * its thread leaves the ioctl; none can be queued any more. Once
	 * the count is zero, an RCU-tasks grace period covers the last
	 * instructions after its decrement.
	 */
	wait_var_event(&topo_calls, !atomic_read(&topo_calls));
	synchronize_rcu_tasks();
	debugfs_remove(topo_debugfs);
	/* With the destroy hook still live, so no VM can go unseen. */
	topo_vm_exit();
	kvmext_hooks_remove(topo_hooks, TOPO_LIFE_HOOKS);
	pr_info("unloaded; guests now fault on the kvmext MSRs\n");
}

module_init(topo_init);
module_exit(topo_exit);
MODULE_DESCRIPTION("Paravirtual disclosure of live vCPU topology to KVM guests");
MODULE_LICENSE("GPL");
