/* SPDX-License-Identifier: GPL-2.0 */
/*
 * guest-pv internals shared by its units: registration and reading
 * (main.c), the change interrupt (notify.c), the scheduler's view
 * (sched.c), hints (hints.c) and the userspace files (sysfs.c).
 */
#ifndef GPV_H
#define GPV_H

#include <linux/atomic.h>
#include <linux/cpumask.h>
#include <linux/spinlock.h>
#include <linux/types.h>

#include <kvmext/pv.h>

/**
 * struct gpv_cpu - one CPU's registration and the last topology read
 * @page: the registered page, NULL when not registered
 * @lock: protects @generation to @node against sysfs readers
 * @generation: generation of the last consistent read
 * @epoch: the host's epoch then
 * @capacity: the CPU's capacity then
 * @smt: CPUs (this kernel's numbering) on the same host core
 * @llc: ... in the same host package
 * @node: ... in the same host NUMA node
 * @valid: the last read was consistent and the host was still there
 * @irq: the change interrupt, 0 when polling only
 * @vector: its vector on this CPU
 */
struct gpv_cpu {
	struct kvmext_topo_page *page;
	spinlock_t lock;
	u32 generation;
	u64 epoch;
	u32 capacity;
	struct cpumask smt, llc, node;
	bool valid;
	unsigned int irq;
	u8 vector;
};

extern struct gpv_cpu __percpu *gpv_cpus;

/**
 * struct gpv_stats - counters shown in debugfs guest_pv/stats
 * @polls: runs of the reading work
 * @irqs: change interrupts taken
 * @notify_unavailable: CPUs left to polling (no vector on that CPU)
 * @reregistered: registrations renewed because the host forgot them
 * @changes: reads that changed a mask or the epoch
 * @rebuilds: scheduling-domain rebuilds asked for
 * @rebuild_ns_last: interrupt (or poll) to domains rebuilt, last one
 * @rebuild_ns_max: ... the largest
 * @rebuild_ns_sum: ... sum, over @rebuilds_timed
 * @rebuilds_timed: rebuilds that followed an interrupt
 * @hints_sent: hints the host accepted
 * @hints_refused: hints the host refused
 * @hints_deferred: hints held back by hint_interval_ms, sent later
 */
struct gpv_stats {
	atomic64_t polls, irqs, notify_unavailable, reregistered, changes;
	atomic64_t rebuilds, rebuild_ns_last, rebuild_ns_max, rebuild_ns_sum;
	atomic64_t rebuilds_timed;
	atomic64_t hints_sent, hints_refused, hints_deferred;
};

extern struct gpv_stats gpv_stats;

/**
 * struct gpv_syms - unexported kernel symbols, looked up at load through
 *	the shared helper's table (main.c)
 * @rebuild_sched_domains: void rebuild_sched_domains(void)
 * @sched_domains_mutex: struct mutex, held while domains are built
 * @x86_topology_update: bool, makes the next rebuild a full one
 * @cpu_llc_shared_map: per-CPU cpumask_var_t, the MC level's span
 * @cpu_l2c_shared_map: per-CPU cpumask_var_t, the CLS level's span
 * @cpu_coregroup_mask: the MC level's mask function, to check the above
 * @cpu_clustergroup_mask: the CLS level's mask function, likewise
 */
struct gpv_syms {
	void *rebuild_sched_domains;
	void *sched_domains_mutex;
	void *x86_topology_update;
	void *cpu_llc_shared_map;
	void *cpu_l2c_shared_map;
	void *cpu_coregroup_mask;
	void *cpu_clustergroup_mask;
};

extern struct gpv_syms gpv_syms;
extern unsigned int hint_interval_ms;

void gpv_kick(void);

int gpv_notify_start(unsigned int cpu);
void gpv_notify_stop(unsigned int cpu);
void gpv_notify_local(bool enable);

int gpv_sched_init(void);
void gpv_sched_exit(void);
void gpv_sched_stop(void);
void gpv_sched_cpu_online(unsigned int cpu);
bool gpv_sched_update(bool dirty);
void gpv_sched_rebuild(u64 since_ns);

struct task_struct;
void gpv_probe_switch(void *data, bool preempt, struct task_struct *prev,
		      struct task_struct *next, unsigned int prev_state);
void gpv_probe_waking(void *data, struct task_struct *p);
int gpv_hints_init(bool host_hints);
void gpv_hints_exit(void);
void gpv_hints_tick(void);
void gpv_hints_cpu_down(unsigned int cpu);
int gpv_hint_manual(unsigned int cpu, int class, int group);
int gpv_hint_raw(unsigned int cpu, u64 hint);
void gpv_hint_show(unsigned int cpu, int *class, int *group, u64 *sent);
int gpv_boot_complete(void);
bool gpv_boot_completed(void);

int gpv_sysfs_init(void);
void gpv_sysfs_exit(void);

#endif /* GPV_H */
