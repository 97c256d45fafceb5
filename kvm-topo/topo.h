/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KVM_TOPO_H
#define KVM_TOPO_H

#include <linux/atomic.h>
#include <linux/hrtimer.h>
#include <linux/kprobes.h>
#include <linux/kvm_host.h>
#include <linux/task_work.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>
#include <linux/seq_file.h>

#include <kvmext/pv.h>

/*
 * Exported by kvm.ko, but declared in arch/x86/kvm/lapic.h and x86.h,
 * which linux-headers does not ship.
 */
void kvm_apic_send_ipi(struct kvm_lapic *apic, u32 icr_low, u32 icr_high);
bool kvm_msr_allowed(struct kvm_vcpu *vcpu, u32 index, u32 type);

/* What this host serves, in MSR_KVMEXT_PROBE and every page. */
#define KVMEXT_TOPO_FEATURES	(KVMEXT_FEATURE_TOPO | KVMEXT_FEATURE_HINTS)

/**
 * struct topo_stats - module-wide counters, read-only in debugfs
 * @probe_reads: reads of MSR_KVMEXT_PROBE, by guests or their VMM
 * @probe_writes_rejected: writes to MSR_KVMEXT_PROBE, answered with #GP
 * @attach_failed: registrations refused because no memory was available
 */
struct topo_stats {
	atomic64_t probe_reads;
	atomic64_t probe_writes_rejected;
	atomic64_t attach_failed;
};

extern struct topo_stats topo_stats;

/*
 * Set once every hook is armed, cleared first at unload. While it is
 * false the handlers act as stock KVM, so no VM attaches during a load
 * that fails half-way or during teardown.
 */
extern bool topo_live;

/* Why a guest's MSR write was refused (#GP), counted per VM. */
enum topo_reject {
	TOPO_REJECT_RESERVED,	/* reserved bit set */
	TOPO_REJECT_GPA,	/* not page-aligned writable guest RAM */
	TOPO_REJECT_VECTOR,	/* vector below 32, or no in-kernel APIC */
	TOPO_REJECT_VCPU_ID,	/* id beyond KVMEXT_TOPO_MAX_VCPU_IDS */
	TOPO_REJECT_NR,
};

/**
 * struct topo_vm_stats - per-VM counters, read-only in debugfs
 * @registrations: accepted writes of MSR_KVMEXT_TOPO_PAGE with enable set
 * @unregistrations: by the guest writing 0
 * @resets: registrations dropped because the vCPU was reset
 * @rejected: refused MSR writes, by reason
 * @updates: page writes
 * @write_failed: page writes that failed (memslot gone under the page)
 * @notifications: interrupts sent
 * @notify_held: interrupts held back by the acknowledgement or the
 *	rate limit
 * @migrations: times a vCPU thread was found on a new physical CPU
 * @hints: accepted writes of MSR_KVMEXT_HINT
 * @hints_applied: hints applied to a vCPU thread
 * @hints_deferred: hints held back by hint_interval_ms
 * @hints_clamped_envelope: co-location that fell outside the allowed CPUs
 * @hints_clamped_cap: priorities cut by max_boost or min_io_level
 * @affinity_changes: vCPU thread affinity changes made
 * @priority_changes: vCPU thread nice changes made
 * @boot_complete: 1 once a vCPU said the guest finished booting
 * @rt_grants: times a vCPU thread was given SCHED_FIFO
 * @rt_throttled: times it was taken back because the budget was spent
 * @vnuma_placed: vCPU threads kept on the nodes behind their page
 * @vnuma_clamped: ... that could not be, the nodes' CPUs being outside
 *	the envelope
 */
struct topo_vm_stats {
	atomic64_t registrations;
	atomic64_t unregistrations;
	atomic64_t resets;
	atomic64_t rejected[TOPO_REJECT_NR];
	atomic64_t updates;
	atomic64_t write_failed;
	atomic64_t notifications;
	atomic64_t notify_held;
	atomic64_t migrations;
	atomic64_t hints;
	atomic64_t hints_applied;
	atomic64_t hints_deferred;
	atomic64_t hints_clamped_envelope;
	atomic64_t hints_clamped_cap;
	atomic64_t affinity_changes;
	atomic64_t priority_changes;
	atomic64_t boot_complete;
	atomic64_t rt_grants;
	atomic64_t rt_throttled;
	atomic64_t vnuma_placed;
	atomic64_t vnuma_clamped;
};

/**
 * struct topo_vcpu - kvm-topo's state for one registered-at-least-once vCPU
 * @vm: the VM
 * @vcpu: the vCPU
 * @page_msr: MSR_KVMEXT_TOPO_PAGE as accepted; 0 when unregistered
 * @notify_msr: MSR_KVMEXT_TOPO_NOTIFY as accepted
 * @flags: TOPO_VCPU_* bits
 * @work: the page update, queued on the vCPU's own thread
 * @generation: last generation written to the page (even)
 * @written_gpa: the page whose masks are known to be written, 0 for none
 * @notified_gen: generation the last interrupt announced, 0 for none
 * @last_write_ns: when the page was last written
 * @last_notify_ns: when the last interrupt was sent
 * @notify_try_ns: when an interrupt was last considered
 * @cap_stamp_ns: start of the capacity window
 * @cap_runtime: the thread's run time at @cap_stamp_ns
 * @cap_delay: the thread's run-queue wait at @cap_stamp_ns
 * @capacity: last capacity published
 * @hint_msr: MSR_KVMEXT_HINT as last written
 * @hint_applied_ns: when a hint was last applied
 * @hint_base_valid: the envelope below has been captured
 * @base_nice: the thread's nice value in the envelope
 * @hint_nice: the nice value this module last left the thread at
 * @base_ioprio: the thread's I/O priority in the envelope
 * @hint_ioprio: the I/O priority this module last left the thread at
 * @envelope: the CPUs the administrator allows the thread
 * @hint_mask: the affinity this module last left the thread with
 * @rt_active: the thread runs SCHED_FIFO by this module's doing
 * @rt_window_ns: start of the current one-second budget window
 * @rt_used_ns: real-time run time used in the window
 * @rt_mark: the thread's run time when @rt_used_ns was last brought up
 *	to date
 * @rt_timer: fires when the budget may be spent or the window ends
 * @base: scratch: the envelope, narrowed by the vnuma policy
 * @want: scratch for the affinity being computed
 * @page: what the host last wrote; @page.ack is never trusted from here
 * @next: scratch for the smt, llc and node masks being computed
 *
 * Only the vCPU's own thread, while it has the vCPU loaded, writes the
 * page, so page writes need no lock. Other threads only set @flags bits
 * and kick the vCPU.
 */
struct topo_vcpu {
	struct topo_vm *vm;
	struct kvm_vcpu *vcpu;
	u64 page_msr;
	u64 notify_msr;
	unsigned long flags;
	struct callback_head work;
	u32 generation;
	gpa_t written_gpa;
	u32 notified_gen;
	u64 last_write_ns;
	u64 last_notify_ns;
	u64 notify_try_ns;
	u64 cap_stamp_ns;
	u64 cap_runtime;
	u64 cap_delay;
	u32 capacity;
	u64 hint_msr;
	u64 hint_applied_ns;
	bool hint_base_valid;
	int base_nice;
	int hint_nice;
	int base_ioprio;
	int hint_ioprio;
	bool rt_active;
	u64 rt_window_ns;
	u64 rt_used_ns;
	u64 rt_mark;
	struct hrtimer rt_timer;
	struct cpumask envelope;
	struct cpumask hint_mask;
	struct cpumask base;
	struct cpumask want;
	struct kvmext_topo_page page;
	u64 next[3][KVMEXT_TOPO_MASK_WORDS];
};

/* struct topo_vcpu.flags */
enum {
	TOPO_VCPU_STALE,	/* the page no longer matches the topology */
	TOPO_VCPU_QUEUED,	/* @work is queued on the vCPU's thread */
	TOPO_VCPU_NOTIFY,	/* masks changed since the last interrupt */
	TOPO_VCPU_HINT,		/* a hint waits to be applied */
	TOPO_VCPU_HINT_HELD,	/* ... and was counted as deferred */
	TOPO_VCPU_RT,		/* the real-time budget needs a look */
};

/* struct topo_vm.flags */
enum {
	TOPO_VM_BOOTED,		/* a vCPU hinted boot completion */
};

/**
 * struct topo_vm - kvm-topo's state for a VM in which a vCPU registered
 * @hnode: in the table of VMs, keyed by @kvm
 * @kvm: the VM; the entry lives until kvm_arch_destroy_vm()
 * @vcpus: struct topo_vcpu by vcpu_idx, for vCPUs that registered
 * @last_cpu: physical CPU each vCPU (by vcpu_idx) last ran on, -1 if none
 * @flags: TOPO_VM_* bits
 * @pid: the VMM's pid, which names the VM
 * @seq: module-wide sequence number, so that one VMM's VMs differ
 * @max_boost: the administrator's per-VM max_boost, -1 for the module's
 * @rt_budget_pct: the per-VM rt_budget_pct, -1 for the module's
 * @sysfs: the VM's directory under /sys/kernel/kvm_topo/vms, once made
 * @sysfs_work: makes it, from process context
 * @stats: per-VM counters
 * @free_work: frees the entry an RCU grace period after destruction
 */
struct topo_vm {
	struct hlist_node hnode;
	struct kvm *kvm;
	struct xarray vcpus;
	int last_cpu[KVM_MAX_VCPUS];
	unsigned long flags;
	pid_t pid;
	unsigned int seq;
	int max_boost;
	int rt_budget_pct;
	struct kobject *sysfs;
	struct work_struct sysfs_work;
	struct topo_vm_stats stats;
	struct rcu_work free_work;
};

/* main.c */
void topo_call_enter(void);
void topo_call_exit(void);

/* msr.c */
bool topo_msr_index_is_ours(struct pt_regs *regs);
bool topo_pmu_is_valid_msr(struct kvm_vcpu *vcpu, u32 msr);
bool topo_msr_is_ours(struct pt_regs *regs);
int topo_get_msr(struct kvm_vcpu *vcpu, struct msr_data *msr);
int topo_set_msr(struct kvm_vcpu *vcpu, struct msr_data *msr);
extern struct kvm_x86_ops *topo_kvm_x86_ops;
bool topo_hc_is_ours(struct pt_regs *regs);
int topo_emulate_hypercall(struct kvm_vcpu *vcpu);

/* vm.c */
struct topo_vm *topo_vm_find(struct kvm *kvm);
struct topo_vm *topo_vm_attach(struct kvm *kvm);
struct topo_vcpu *topo_vcpu_find(struct kvm_vcpu *vcpu);
struct topo_vcpu *topo_vcpu_attach(struct topo_vm *vm, struct kvm_vcpu *vcpu);
int topo_vm_destroy_hook(struct kprobe *p, struct pt_regs *regs);
int topo_reset_hook(struct kprobe *p, struct pt_regs *regs);
int topo_vm_init(void);
void topo_vm_exit(void);
int topo_vms_show(struct seq_file *m, void *unused);

/* logic.c */
enum {
	TOPO_REL_SMT = 1 << 0,
	TOPO_REL_LLC = 1 << 1,
	TOPO_REL_NODE = 1 << 2,
};

unsigned int topo_relation(int a, int b);
void topo_add_vcpu(u64 masks[3][KVMEXT_TOPO_MASK_WORDS], int self_cpu,
		   int cpu, u32 id);
u32 topo_capacity(u64 ran, u64 waited, u32 prev);
bool topo_notify_due(u32 acked, u32 notified_gen, u64 since_last_ns,
		     u64 interval_ns);
bool topo_hint_valid(u64 hint);
int topo_hint_nice(unsigned int class, int base, unsigned int boost,
		   bool *clamped);

/* disclose.c */
extern u64 topo_epoch;
extern unsigned int notify_interval_ms;
int topo_steal_update_hook(struct kprobe *p, struct pt_regs *regs);
void topo_mark_stale(struct topo_vcpu *tv);
void topo_mark_gone(struct topo_vcpu *tv);

/* hints.c */
void topo_hint_apply(struct topo_vcpu *tv);
bool topo_hint_due(struct topo_vcpu *tv, u64 now);
void topo_hint_restore(struct topo_vcpu *tv);
bool topo_vnuma_policy(void);
extern long (*topo_sched_setaffinity)(pid_t pid, const struct cpumask *mask);
unsigned int topo_max_boost(struct topo_vm *vm);
unsigned int topo_rt_budget_pct(struct topo_vm *vm);
void topo_rt_init(struct topo_vcpu *tv);
void topo_rt_recheck(struct topo_vcpu *tv);

#endif /* KVM_TOPO_H */
