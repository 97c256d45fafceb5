// SPDX-License-Identifier: GPL-2.0
/*
 * The scheduler's view of the host topology.
 *
 * x86 builds its scheduling domains from four per-CPU masks: SMT
 * (cpu_sibling_map), cluster (cpu_l2c_shared_map), MC (the last-level
 * cache, cpu_llc_shared_map) and DIE (the NUMA node). The MC level is what
 * wake-ups use (select_idle_sibling() searches the LLC domain, and
 * cpus_share_cache() decides wake-affine) and where the load balancer
 * moves tasks most cheaply. This unit sets every online CPU's LLC mask to
 * the vCPUs the host currently runs in the same package, and rebuilds the
 * domains the way x86's ITMT support does (x86_topology_update, then
 * rebuild_sched_domains()), as s390 does on a topology change.
 *
 * The masks stay valid for the domain builder at every step:
 * - each is an equivalence class (union-find over pairs both of whose
 *   pages name each other), so the MC spans are symmetric;
 * - every class contains the firmware SMT and cluster siblings, so the MC
 *   level contains the CLS and SMT levels;
 * - two CPUs in different guest NUMA nodes are never joined, so the MC
 *   level stays inside DIE;
 * - they change only under sched_domains_mutex with CPU hotplug held off,
 *   which is how the domain builder reads them.
 * When any online CPU has no current view of the host (unregistered, host
 * module gone), every CPU gets its firmware mask back, as at unload.
 *
 * Left alone, with the reasons in Documentation/guest-pv.rst: the SMT
 * masks (sched_smt_present is counted from them at CPU (de)activation, so
 * changing them in between unbalances that static key) and the NUMA node
 * of a CPU (fixed for the kernel's lifetime in 6.1).
 */
#include <linux/cpu.h>
#include <linux/ktime.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/topology.h>

#include "gpv.h"

static bool sched_domains = true;
module_param(sched_domains, bool, 0644);
MODULE_PARM_DESC(sched_domains,
		 "Give the scheduler the host's packages as last-level caches (default Y)");

static void *gpv_fw_llc;	/* firmware LLC masks, nr_cpu_ids of them */
static struct cpumask *gpv_tmp;
static int *gpv_uf;
static bool gpv_sched_ready;
static bool gpv_sched_applied = true;	/* sched_domains when last applied */
static bool gpv_sched_firmware;		/* unloading: firmware masks only */
static bool gpv_sched_due;		/* masks changed, domains not rebuilt */
static u64 gpv_sched_last_ns;		/* the last rebuild */

/* Rebuilds are at most this often; one due earlier waits for a poll. */
#define GPV_REBUILD_MIN_NS	(100 * NSEC_PER_MSEC)

static struct cpumask *gpv_fw(unsigned int cpu)
{
	return gpv_fw_llc + cpu * cpumask_size();
}

static struct cpumask *gpv_llc(unsigned int cpu)
{
	return *per_cpu_ptr((cpumask_var_t __percpu *)gpv_syms.cpu_llc_shared_map,
			    cpu);
}

static struct cpumask *gpv_l2c(unsigned int cpu)
{
	return *per_cpu_ptr((cpumask_var_t __percpu *)gpv_syms.cpu_l2c_shared_map,
			    cpu);
}

static int gpv_find(int a)
{
	while (gpv_uf[a] != a) {
		gpv_uf[a] = gpv_uf[gpv_uf[a]];
		a = gpv_uf[a];
	}
	return a;
}

static void gpv_union(int a, int b)
{
	a = gpv_find(a);
	b = gpv_find(b);
	if (a != b)
		gpv_uf[max(a, b)] = min(a, b);
}

static bool gpv_fw_rel(unsigned int a, unsigned int b)
{
	return cpumask_test_cpu(b, gpv_fw(a)) || cpumask_test_cpu(a, gpv_fw(b));
}

static bool gpv_host_rel(unsigned int a, unsigned int b)
{
	return cpu_to_node(a) == cpu_to_node(b) &&
	       cpumask_test_cpu(b, &per_cpu_ptr(gpv_cpus, a)->llc) &&
	       cpumask_test_cpu(a, &per_cpu_ptr(gpv_cpus, b)->llc);
}

/*
 * Recompute every online CPU's LLC mask, from the host's view when every
 * online CPU has one and @firmware is false, else from the firmware's.
 * CPU hotplug must be held off and sched_domains_mutex held. Returns true
 * when a mask changed, having asked for a full rebuild.
 */
static bool gpv_apply_locked(bool firmware)
{
	bool want = !firmware && !READ_ONCE(gpv_sched_firmware) &&
		    READ_ONCE(sched_domains), host = want;
	bool changed = false;
	unsigned int a, b;

	lockdep_assert_held((struct mutex *)gpv_syms.sched_domains_mutex);
	gpv_sched_applied = want;
	for_each_online_cpu(a) {
		gpv_uf[a] = a;
		if (!per_cpu_ptr(gpv_cpus, a)->valid)
			host = false;
	}
	for_each_online_cpu(a) {
		for_each_online_cpu(b) {
			if (b <= a)
				continue;
			if (cpumask_test_cpu(b, gpv_l2c(a)) ||
			    cpumask_test_cpu(b, topology_sibling_cpumask(a)) ||
			    (host ? gpv_host_rel(a, b) : gpv_fw_rel(a, b)))
				gpv_union(a, b);
		}
	}
	for_each_online_cpu(a) {
		cpumask_clear(gpv_tmp);
		for_each_online_cpu(b)
			if (gpv_find(b) == gpv_find(a))
				__cpumask_set_cpu(b, gpv_tmp);
		if (!cpumask_equal(gpv_tmp, gpv_llc(a))) {
			cpumask_copy(gpv_llc(a), gpv_tmp);
			changed = true;
		}
	}
	if (changed) {
		WRITE_ONCE(*(bool *)gpv_syms.x86_topology_update, true);
		WRITE_ONCE(gpv_sched_due, true);
	}
	return changed;
}

static bool gpv_apply(bool firmware)
{
	struct mutex *m = gpv_syms.sched_domains_mutex;
	bool changed;

	mutex_lock(m);
	changed = gpv_apply_locked(firmware);
	mutex_unlock(m);
	return changed;
}

/**
 * gpv_sched_update() - bring the LLC masks in line with the pages
 * @dirty: a page's masks or validity changed since the last call
 *
 * Called by the reading work with CPU hotplug held off (cpus_read_lock()).
 * Without @dirty only a change of the sched_domains parameter matters.
 *
 * Return: true when a mask changed; the caller then calls
 * gpv_sched_rebuild() once it has dropped the hotplug lock.
 */
bool gpv_sched_update(bool dirty)
{
	if (!gpv_sched_ready)
		return false;
	if (dirty || READ_ONCE(sched_domains) != gpv_sched_applied)
		gpv_apply(false);
	/* Also a change made by a hotplug callback, or held back. */
	return READ_ONCE(gpv_sched_due);
}

/**
 * gpv_sched_rebuild() - rebuild the scheduling domains from the masks
 * @since_ns: when the interrupt that led here arrived, 0 after a poll
 *
 * At most one rebuild per GPV_REBUILD_MIN_NS; one asked for sooner stays
 * due and the next poll does it. Called from the reading work only (and
 * at unload), so never concurrently. May sleep; takes the CPU hotplug
 * lock itself.
 */
void gpv_sched_rebuild(u64 since_ns)
{
	u64 d, now = ktime_get_ns();

	/* A host that changes the masks all the time gets few rebuilds. */
	if (gpv_sched_last_ns && now - gpv_sched_last_ns < GPV_REBUILD_MIN_NS &&
	    !READ_ONCE(gpv_sched_firmware))
		return;
	gpv_sched_last_ns = now;
	WRITE_ONCE(gpv_sched_due, false);
	((void (*)(void))gpv_syms.rebuild_sched_domains)();
	atomic64_inc(&gpv_stats.rebuilds);
	if (!since_ns)
		return;
	d = ktime_get_ns() - since_ns;
	atomic64_set(&gpv_stats.rebuild_ns_last, d);
	atomic64_add(d, &gpv_stats.rebuild_ns_sum);
	atomic64_inc(&gpv_stats.rebuilds_timed);
	if (d > atomic64_read(&gpv_stats.rebuild_ns_max))
		atomic64_set(&gpv_stats.rebuild_ns_max, d);
}

/**
 * gpv_sched_cpu_online() - take in a CPU that just came online
 * @cpu: the CPU, from its hotplug callback (hotplug lock held)
 *
 * The first time, @cpu's mask is the firmware view the kernel has just
 * linked (it always holds @cpu itself), to restore later; the firmware
 * does not change, so later onlines keep it. The recomputed masks are in
 * place before the CPU becomes active and its domains are built.
 */
void gpv_sched_cpu_online(unsigned int cpu)
{
	if (!gpv_sched_ready)
		return;
	if (cpumask_empty(gpv_fw(cpu)))
		cpumask_copy(gpv_fw(cpu), gpv_llc(cpu));
	gpv_apply(false);
}

/**
 * gpv_sched_stop() - give the scheduler the firmware topology back for good
 *
 * At unload, before the pages go: from now on every recomputation, a CPU
 * coming online included, gives the firmware masks.
 */
void gpv_sched_stop(void)
{
	bool changed;

	if (!gpv_sched_ready)
		return;
	WRITE_ONCE(gpv_sched_firmware, true);
	cpus_read_lock();
	changed = gpv_apply(true);
	cpus_read_unlock();
	if (changed || READ_ONCE(gpv_sched_due))
		gpv_sched_rebuild(0);
}

/**
 * gpv_sched_init() - check the looked-up masks and keep the firmware ones
 *
 * The looked-up per-CPU masks must be the very ones the domain builder
 * reads through cpu_coregroup_mask() and cpu_clustergroup_mask(); a
 * kernel where they are not is refused.
 *
 * Return: 0, -ENOMEM, or -EOPNOTSUPP on such a kernel.
 */
int gpv_sched_init(void)
{
	const struct cpumask *(*core)(int) = gpv_syms.cpu_coregroup_mask;
	const struct cpumask *(*cluster)(int) = gpv_syms.cpu_clustergroup_mask;
	unsigned int cpu;
	int ret = 0;

	gpv_fw_llc = kcalloc(nr_cpu_ids, cpumask_size(), GFP_KERNEL);
	gpv_uf = kcalloc(nr_cpu_ids, sizeof(*gpv_uf), GFP_KERNEL);
	gpv_tmp = kzalloc(cpumask_size(), GFP_KERNEL);
	if (!gpv_fw_llc || !gpv_uf || !gpv_tmp) {
		gpv_sched_exit();
		return -ENOMEM;
	}
	cpus_read_lock();
	for_each_online_cpu(cpu) {
		if (core(cpu) != gpv_llc(cpu) || cluster(cpu) != gpv_l2c(cpu)) {
			pr_err("cpu_llc_shared_map is not what cpu_coregroup_mask() returns (CPU %u): unsupported kernel, not loading\n",
			       cpu);
			ret = -EOPNOTSUPP;
			break;
		}
		cpumask_copy(gpv_fw(cpu), gpv_llc(cpu));
	}
	gpv_sched_ready = !ret;
	cpus_read_unlock();
	if (ret)
		gpv_sched_exit();
	return ret;
}

/**
 * gpv_sched_exit() - give the scheduler the firmware topology back
 *
 * After every page is unregistered; rebuilds the domains when a mask
 * had been changed. Also frees what gpv_sched_init() allocated.
 */
void gpv_sched_exit(void)
{
	bool changed = false;

	if (gpv_sched_ready) {
		cpus_read_lock();
		changed = gpv_apply(true);
		cpus_read_unlock();
	}
	if (changed || READ_ONCE(gpv_sched_due))
		gpv_sched_rebuild(0);
	gpv_sched_ready = false;
	kfree(gpv_fw_llc);
	kfree(gpv_uf);
	kfree(gpv_tmp);
	gpv_fw_llc = NULL;
	gpv_uf = NULL;
	gpv_tmp = NULL;
}
