// SPDX-License-Identifier: GPL-2.0
/*
 * guest-pv: the guest side of the kvmext topology interface
 * (include/uapi/kvmext/pv.h, Documentation/abi.rst).
 *
 * Registers one page per online CPU, in that CPU's own node, and keeps a
 * consistent copy of what the host publishes there, translated from vCPU
 * ids to this kernel's CPU numbers. The copy is refreshed when the host
 * interrupts the CPU (notify.c) and every poll_ms in any case; the
 * scheduler gets the host's packages as its LLC domains (sched.c),
 * userspace sees everything in /sys/devices/system/cpu/cpuN/kvmext/ with
 * a change uevent on the CPU device (sysfs.c), and hints go back to the
 * host (hints.c).
 *
 * A page is only ever registered by the CPU it belongs to and is given
 * up before that CPU goes offline and before reboot, kexec, suspend and
 * hibernation, so the host never writes memory this kernel, or the next
 * one, uses for something else.
 */
#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/device.h>
#include <linux/gfp.h>
#include <linux/kobject.h>
#include <linux/io.h>
#include <linux/irq_work.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/reboot.h>
#include <linux/slab.h>
#include <linux/syscore_ops.h>
#include <linux/workqueue.h>
#include <asm/msr.h>
#include <asm/smp.h>

#include "../common/hook.h"
#include "gpv.h"

static unsigned int poll_ms = 100;
unsigned int hint_interval_ms = 100;

static int set_poll_ms(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 10, 60000);
}

static int set_hint_interval(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 1, 60000);
}

static const struct kernel_param_ops poll_ms_ops = {
	.set = set_poll_ms, .get = param_get_uint,
};
static const struct kernel_param_ops hint_interval_ops = {
	.set = set_hint_interval, .get = param_get_uint,
};
module_param_cb(poll_ms, &poll_ms_ops, &poll_ms, 0644);
MODULE_PARM_DESC(poll_ms, "How often the pages are read (10-60000 ms, default 100)");
module_param_cb(hint_interval_ms, &hint_interval_ops, &hint_interval_ms, 0644);
MODULE_PARM_DESC(hint_interval_ms,
		 "Minimum time between two hints from one CPU (1-60000 ms, default 100)");

/* Allocated: a module's static per-CPU space is small and shared. */
struct gpv_cpu __percpu *gpv_cpus;
struct gpv_stats gpv_stats;
struct gpv_syms gpv_syms;
static enum cpuhp_state gpv_hp_state;
static s16 gpv_id_to_cpu[KVMEXT_TOPO_MAX_VCPU_IDS];
static struct delayed_work gpv_poll_work;
static unsigned int gpv_polls;
static bool gpv_stopping;	/* unloading: the reading work ends */
static bool gpv_shut;		/* reboot or kexec: never register again */
static atomic64_t gpv_kick_ns;
static u64 gpv_features;

/*
 * Every unexported symbol and tracepoint the module uses, resolved (and
 * the probes registered) at load; one missing one refuses the load.
 */
static struct kvmext_hook gpv_hooks[] = {
	KVMEXT_SYMBOL("rebuild_sched_domains", &gpv_syms.rebuild_sched_domains),
	KVMEXT_SYMBOL("sched_domains_mutex", &gpv_syms.sched_domains_mutex),
	KVMEXT_SYMBOL("x86_topology_update", &gpv_syms.x86_topology_update),
	KVMEXT_SYMBOL("cpu_llc_shared_map", &gpv_syms.cpu_llc_shared_map),
	KVMEXT_SYMBOL("cpu_l2c_shared_map", &gpv_syms.cpu_l2c_shared_map),
	KVMEXT_SYMBOL("cpu_coregroup_mask", &gpv_syms.cpu_coregroup_mask),
	KVMEXT_SYMBOL("cpu_clustergroup_mask", &gpv_syms.cpu_clustergroup_mask),
	KVMEXT_TRACEPOINT("sched_switch", gpv_probe_switch, NULL),
	KVMEXT_TRACEPOINT("sched_waking", gpv_probe_waking, NULL),
};

/**
 * gpv_kick() - read the pages now, not at the next poll
 *
 * From the change interrupt; remembers when the first unserved one came,
 * to time the update.
 */
void gpv_kick(void)
{
	atomic64_cmpxchg(&gpv_kick_ns, 0, ktime_get_ns());
	if (!READ_ONCE(gpv_stopping))
		mod_delayed_work(system_wq, &gpv_poll_work, 0);
}

static bool gpv_host_present(void)
{
	u64 v;

	if (rdmsrl_safe(MSR_KVMEXT_PROBE, &v) || !KVMEXT_PROBE_IS_VALID(v) ||
	    KVMEXT_PROBE_VERSION(v) != KVMEXT_ABI_VERSION ||
	    !(KVMEXT_PROBE_FEATURES(v) & KVMEXT_FEATURE_TOPO))
		return false;
	gpv_features = KVMEXT_PROBE_FEATURES(v);
	return true;
}

/* On the CPU itself: (re)register its page, then its interrupt. */
static void gpv_register_local(void *unused)
{
	struct gpv_cpu *c = this_cpu_ptr(gpv_cpus);

	if (!c->page || READ_ONCE(gpv_shut))
		return;
	if (wrmsrl_safe(MSR_KVMEXT_TOPO_PAGE,
			virt_to_phys(c->page) | KVMEXT_TOPO_PAGE_ENABLE)) {
		pr_warn_once("the host refused a topology page (CPU %d)\n",
			     smp_processor_id());
		return;
	}
	gpv_notify_local(true);
}

/* On the CPU itself: make the host stop interrupting it and writing its page. */
static void gpv_unregister_local(void *unused)
{
	gpv_notify_local(false);
	wrmsrl_safe(MSR_KVMEXT_TOPO_PAGE, 0);
}

static void gpv_mask(struct cpumask *dst, const u64 *words, u32 nr_ids)
{
	u32 id;

	cpumask_clear(dst);
	for (id = 0; id < nr_ids && id < KVMEXT_TOPO_MAX_VCPU_IDS; id++)
		if ((words[id / 64] >> (id % 64)) & 1 && gpv_id_to_cpu[id] >= 0)
			cpumask_set_cpu(gpv_id_to_cpu[id], dst);
}

/* The raw masks of a page, copied under the generation protocol. */
struct gpv_raw {
	u64 smt[KVMEXT_TOPO_MASK_WORDS];
	u64 llc[KVMEXT_TOPO_MASK_WORDS];
	u64 node[KVMEXT_TOPO_MASK_WORDS];
};

/*
 * Copy @cpu's page with the generation protocol; publish and acknowledge
 * it if it moved. Returns true when userspace and the scheduler should
 * hear of a change: a mask, the epoch, or whether the view is valid.
 * The masks are copied raw and converted once: a host that keeps the
 * generation odd costs a few reads per try, not a conversion.
 */
static bool gpv_read(unsigned int cpu)
{
	struct gpv_cpu *c = per_cpu_ptr(gpv_cpus, cpu);
	struct kvmext_topo_page *p = c->page;
	bool changed = false, was_valid = c->valid;
	struct cpumask *smt, *llc, *node;
	u32 gen, nr_ids, capacity;
	struct gpv_raw *raw;
	int tries = 0;
	u64 epoch;

	if (!p || READ_ONCE(p->magic) != KVMEXT_TOPO_MAGIC) {
		c->valid = false;
		return was_valid;
	}
	raw = kmalloc(sizeof(*raw) + 3 * cpumask_size(), GFP_KERNEL);
	if (!raw)
		return false;
	smt = (void *)(raw + 1);
	llc = (void *)smt + cpumask_size();
	node = (void *)llc + cpumask_size();
	for (;;) {
		gen = READ_ONCE(p->generation);
		if (!(gen & 1)) {
			smp_rmb(); /* the generation before the contents */
			epoch = READ_ONCE(p->epoch);
			capacity = READ_ONCE(p->capacity);
			nr_ids = READ_ONCE(p->nr_ids);
			memcpy(raw->smt, p->smt, sizeof(raw->smt));
			memcpy(raw->llc, p->llc, sizeof(raw->llc));
			memcpy(raw->node, p->node, sizeof(raw->node));
			smp_rmb(); /* the contents before the generation again */
			if (gen == READ_ONCE(p->generation))
				break;
		}
		if (++tries == 100)
			break;
		cpu_relax();
	}

	c->valid = tries < 100 && epoch != KVMEXT_TOPO_EPOCH_GONE;
	if (tries < 100) {
		gpv_mask(smt, raw->smt, nr_ids);
		gpv_mask(llc, raw->llc, nr_ids);
		gpv_mask(node, raw->node, nr_ids);
		spin_lock(&c->lock);
		/* A new host starts its generations again: the epoch tells. */
		if (gen != c->generation || epoch != c->epoch) {
			changed = !cpumask_equal(smt, &c->smt) ||
				  !cpumask_equal(llc, &c->llc) ||
				  !cpumask_equal(node, &c->node) ||
				  epoch != c->epoch;
			c->generation = gen;
			c->epoch = epoch;
			c->capacity = capacity;
			cpumask_copy(&c->smt, smt);
			cpumask_copy(&c->llc, llc);
			cpumask_copy(&c->node, node);
		}
		spin_unlock(&c->lock);
		WRITE_ONCE(p->ack, gen);
	}
	kfree(raw);
	return changed || c->valid != was_valid;
}

/*
 * About once a second, on each CPU, check the host still has its page: it
 * forgets it when the VM migrates (the VMM does not know the MSR), when
 * the vCPU is reset and when kvm-topo reloads. Registers again when the
 * host serves the interface; when it does not (migrated to a host without
 * it), the copy is of a host that is gone. Returns true on a change.
 */
static bool gpv_check_registration(unsigned int cpu)
{
	struct gpv_cpu *c = per_cpu_ptr(gpv_cpus, cpu);
	u64 page;

	if (!rdmsrl_safe_on_cpu(cpu, MSR_KVMEXT_TOPO_PAGE, &page) &&
	    (page & KVMEXT_TOPO_PAGE_ENABLE))
		return false;
	if (gpv_host_present()) {
		smp_call_function_single(cpu, gpv_register_local, NULL, 1);
		atomic64_inc(&gpv_stats.reregistered);
		return false;
	}
	if (!c->valid && c->epoch == KVMEXT_TOPO_EPOCH_GONE)
		return false;
	spin_lock(&c->lock);
	c->valid = false;
	c->epoch = KVMEXT_TOPO_EPOCH_GONE;
	spin_unlock(&c->lock);
	return true;
}

static void gpv_poll(struct work_struct *work)
{
	u64 since = atomic64_xchg(&gpv_kick_ns, 0);
	bool rebuild, dirty = false, check;
	int cpu;

	/* Unloading or shutting down: the pages are being given up. */
	if (READ_ONCE(gpv_stopping))
		return;
	atomic64_inc(&gpv_stats.polls);
	check = !(gpv_polls % max(1U, 1000 / READ_ONCE(poll_ms)));
	cpus_read_lock();
	for_each_online_cpu(cpu) {
		struct gpv_cpu *c = per_cpu_ptr(gpv_cpus, cpu);
		bool gone = false;

		if (!c->page)
			continue;
		if (check)
			gone = gpv_check_registration(cpu);
		if (gone || gpv_read(cpu)) {
			dirty = true;
			atomic64_inc(&gpv_stats.changes);
			kobject_uevent(&get_cpu_device(cpu)->kobj, KOBJ_CHANGE);
		}
	}
	rebuild = gpv_sched_update(dirty);
	gpv_hints_tick();
	cpus_read_unlock();
	if (rebuild)
		gpv_sched_rebuild(since);
	gpv_polls++;
	if (!READ_ONCE(gpv_stopping))
		schedule_delayed_work(&gpv_poll_work,
				      msecs_to_jiffies(READ_ONCE(poll_ms)));
}

static int gpv_cpu_online(unsigned int cpu)
{
	struct gpv_cpu *c = per_cpu_ptr(gpv_cpus, cpu);
	u32 id = per_cpu(x86_cpu_to_apicid, cpu);
	struct page *pg;

	/* A CPU added after the load has its APIC ID only now. */
	if (id < KVMEXT_TOPO_MAX_VCPU_IDS)
		WRITE_ONCE(gpv_id_to_cpu[id], cpu);
	pg = alloc_pages_node(cpu_to_node(cpu), GFP_KERNEL | __GFP_ZERO, 0);
	if (!pg) {
		/* The CPU comes online all the same, without a view. */
		pr_warn("no page for CPU %u: it stays unregistered\n", cpu);
		gpv_sched_cpu_online(cpu);
		return 0;
	}
	c->page = page_address(pg);
	gpv_notify_start(cpu);
	/* Runs on @cpu: the hotplug thread of an AP state. */
	gpv_register_local(NULL);
	gpv_read(cpu);
	gpv_sched_cpu_online(cpu);
	return 0;
}

static int gpv_cpu_offline(unsigned int cpu)
{
	struct gpv_cpu *c = per_cpu_ptr(gpv_cpus, cpu);
	void *page = c->page;

	gpv_hints_cpu_down(cpu);
	gpv_unregister_local(NULL);
	gpv_notify_stop(cpu);
	c->valid = false;
	WRITE_ONCE(c->page, NULL);
	/* The host writes a vCPU's page only from that vCPU: none is left. */
	free_page((unsigned long)page);
	return 0;
}

static void gpv_shutdown_local(void *unused)
{
	wrmsrl_safe(MSR_KVMEXT_HINT, 0);
	gpv_unregister_local(NULL);
}

/*
 * Also on kexec: the next kernel owns this memory, and kexec does not
 * reset the vCPU it runs on. Nothing registers again afterwards, and the
 * hints are withdrawn, since device shutdown still runs for a while.
 */
static int gpv_reboot(struct notifier_block *nb, unsigned long action,
		      void *unused)
{
	WRITE_ONCE(gpv_shut, true);
	WRITE_ONCE(gpv_stopping, true);
	cancel_delayed_work_sync(&gpv_poll_work);
	cpus_read_lock();
	on_each_cpu(gpv_shutdown_local, NULL, 1);
	cpus_read_unlock();
	return NOTIFY_DONE;
}

static struct notifier_block gpv_reboot_nb = {
	.notifier_call = gpv_reboot,
};

/* Suspend and hibernation: the other CPUs are offline already. */
static int gpv_suspend(void)
{
	gpv_unregister_local(NULL);
	return 0;
}

static void gpv_resume(void)
{
	gpv_register_local(NULL);
}

static struct syscore_ops gpv_syscore = {
	.suspend = gpv_suspend,
	.resume = gpv_resume,
};

static int __init gpv_init(void)
{
	int cpu, ret;

	if (!boot_cpu_has(X86_FEATURE_HYPERVISOR) || !gpv_host_present()) {
		pr_info("no kvmext topology interface (needs KVM with kvm-topo on the host): not loading\n");
		return -ENODEV;
	}
	gpv_cpus = alloc_percpu(struct gpv_cpu);
	if (!gpv_cpus)
		return -ENOMEM;
	memset(gpv_id_to_cpu, 0xff, sizeof(gpv_id_to_cpu));
	for_each_possible_cpu(cpu) {
		u32 id = per_cpu(x86_cpu_to_apicid, cpu);

		spin_lock_init(&per_cpu_ptr(gpv_cpus, cpu)->lock);
		if (id < KVMEXT_TOPO_MAX_VCPU_IDS)
			gpv_id_to_cpu[id] = cpu;
	}
	/* The change interrupt may kick it as soon as a CPU registers. */
	INIT_DELAYED_WORK(&gpv_poll_work, gpv_poll);
	ret = gpv_hints_init(gpv_features & KVMEXT_FEATURE_HINTS);
	if (ret)
		goto out_cpus;
	ret = kvmext_hooks_install(gpv_hooks, ARRAY_SIZE(gpv_hooks));
	if (ret)
		goto out_hints;
	ret = gpv_sched_init();
	if (ret)
		goto out_hooks;
	ret = gpv_sysfs_init();
	if (ret)
		goto out_sched;
	ret = cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "kvmext/guest-pv:online",
				gpv_cpu_online, gpv_cpu_offline);
	if (ret < 0) {
		/* A change interrupt may have queued the work meanwhile. */
		WRITE_ONCE(gpv_stopping, true);
		cancel_delayed_work_sync(&gpv_poll_work);
		goto out_sysfs;
	}
	gpv_hp_state = ret;
	register_reboot_notifier(&gpv_reboot_nb);
	register_syscore_ops(&gpv_syscore);
	mod_delayed_work(system_wq, &gpv_poll_work, 0);
	pr_info("reading the host's topology on %u CPUs\n", num_online_cpus());
	return 0;

out_sysfs:
	gpv_sysfs_exit();
out_sched:
	gpv_sched_exit();
out_hooks:
	kvmext_hooks_remove(gpv_hooks, ARRAY_SIZE(gpv_hooks));
out_hints:
	gpv_hints_exit();
out_cpus:
	free_percpu(gpv_cpus);
	return ret;
}

static void __exit gpv_exit(void)
{
	WRITE_ONCE(gpv_stopping, true);
	/* The work may run alongside the teardown callbacks: not any more. */
	cancel_delayed_work_sync(&gpv_poll_work);
	unregister_syscore_ops(&gpv_syscore);
	unregister_reboot_notifier(&gpv_reboot_nb);
	gpv_sysfs_exit();
	/* Firmware masks first, so a CPU coming online meanwhile fits in. */
	gpv_sched_stop();
	/* Unregisters every CPU's page and frees it and its interrupt. */
	cpuhp_remove_state(gpv_hp_state);
	/* An interrupt before its vector was freed may have queued it. */
	cancel_delayed_work_sync(&gpv_poll_work);
	gpv_sched_exit();
	kvmext_hooks_remove(gpv_hooks, ARRAY_SIZE(gpv_hooks));
	gpv_hints_exit();
	free_percpu(gpv_cpus);
}

module_init(gpv_init);
module_exit(gpv_exit);
MODULE_DESCRIPTION("Guest side of the kvmext paravirtual topology interface");
MODULE_LICENSE("GPL");
