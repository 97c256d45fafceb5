/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvm-zeropage internals. The units follow the patent (EP2581828):
 * initial mapping and memslots (slots.c, unit 210), copy-on-write
 * accounting (cow.c, unit 220), threshold control (threshold.c, unit 230)
 * and the targeted scan (scan.c, unit 240); vm.c holds the per-VM state,
 * logic.c the pure decisions. Documentation/kvm-zeropage-design.rst is
 * the design; Documentation/kvm-zeropage.rst what is built.
 */
#ifndef KVM_ZEROPAGE_H
#define KVM_ZEROPAGE_H

#include <linux/atomic.h>
#include <linux/ftrace.h>
#include <linux/hashtable.h>
#include <linux/kprobes.h>
#include <linux/kvm_host.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/types.h>
#include <linux/workqueue.h>

/* logic.c: pure decisions, also built into the KUnit suite. */

/**
 * struct zp_budget - token bucket of pages a VM's scan may read
 * @tokens: pages available now
 * @last_ns: when @tokens was last refilled
 */
struct zp_budget {
	u64 tokens;
	u64 last_ns;
};

void zp_budget_init(struct zp_budget *b, u64 rate, u64 now_ns);
bool zp_budget_take(struct zp_budget *b, u64 rate, u64 now_ns);
u64 zp_budget_wait_ns(u64 rate);
void zp_bits_set_atomic(unsigned long *map, unsigned long start,
			unsigned long nr);
bool zp_crossed(long before, long after, long threshold);
int zp_parse_threshold_mb(const char *buf, long *mb);

#define ZP_THRESHOLD_MB_MAX	(1L << 20)	/* 1 TiB */

/**
 * struct zp_slot - one user memslot of a VM, as the module keeps it
 * @hva: first host virtual address
 * @npages: its size in pages
 * @base_gfn: first guest frame
 * @id: KVM's memslot id
 * @log_dirty: dirty logging (live migration) is on
 * @recent: one bit per page, set when the page was newly allocated since
 *	the last scan; a slot that survives a memslot change keeps it, so
 *	two arrays may share it while the new one replaces the old
 */
struct zp_slot {
	unsigned long hva;
	unsigned long npages;
	gfn_t base_gfn;
	int id;
	bool log_dirty;
	unsigned long *recent;
};

/**
 * struct zp_slots - a VM's user memslots sorted by @hva, published by RCU
 * @rcu: to free it after the readers
 * @nr: number of entries
 * @s: the entries
 */
struct zp_slots {
	struct rcu_head rcu;
	int nr;
	struct zp_slot s[];
};

/**
 * struct zp_stats - a VM's counters (debugfs kvm_zeropage/vms)
 * @cowed: pages newly allocated into guest RAM (a 2 MB page counts 512)
 * @cowed_thp: ... of which transparent huge pages, counted once each
 * @scans: scans run
 * @pages_scanned: recorded pages examined by scans
 * @zero_found: ... found to hold only zeros
 * @not_present: ... no longer mapped when examined
 * @skipped_dirty_log: recorded pages not examined: dirty logging on
 * @skipped_budget_wait: times a scan waited for its page budget
 */
struct zp_stats {
	atomic64_t cowed, cowed_thp, scans, pages_scanned, zero_found;
	atomic64_t not_present, skipped_dirty_log, skipped_budget_wait;
};

enum {
	ZP_SCAN_QUEUED,		/* scan_work is queued or running */
	ZP_DYING,		/* the VM is being destroyed or the module unloaded */
};

/**
 * struct zp_vm - kvm-zeropage's state for one VM
 * @hnode: in the table of VMs, keyed by @mm
 * @kvm: the VM
 * @mm: its VMM's address space, the key the copy-on-write hook has
 * @pid: the VMM's pid, for names
 * @seq: a number unique among VMs since load, for names
 * @slots: the user memslots, RCU
 * @slots_lock: serialises the scan and the memslot updates
 * @pending: pages recorded since the last scan started (unit 230)
 * @threshold_mb: this VM's threshold, -1 for the module parameter
 * @flags: ZP_*
 * @budget: the scan's page budget
 * @stats: counters
 * @scan_work: the scan (unit 240)
 * @slots_work: re-reads the memslots after a change
 * @sysfs_work: creates @sysfs, which needs process context
 * @free_work: frees the state a grace period after it left the table
 * @sysfs: /sys/kernel/kvm_zeropage/vms/<pid>-<seq>
 */
struct zp_vm {
	struct hlist_node hnode;
	struct kvm *kvm;
	struct mm_struct *mm;
	pid_t pid;
	unsigned int seq;
	struct zp_slots __rcu *slots;
	struct mutex slots_lock;
	atomic_long_t pending;
	long threshold_mb;
	unsigned long flags;
	struct zp_budget budget;
	struct zp_stats stats;
	struct work_struct scan_work;
	struct work_struct slots_work;
	struct work_struct sysfs_work;
	struct rcu_work free_work;
	struct kobject *sysfs;
};

extern struct workqueue_struct *zp_wq;

/* main.c */
extern void *zp_vm_list, *zp_kvm_lock;

/* vm.c */
#define ZP_VM_HASH_BITS 6
/* The VMs, keyed by their VMM's mm; RCU for readers. */
extern struct hlist_head zp_vms[1 << ZP_VM_HASH_BITS];
int zp_vm_init(void);
void zp_vm_exit(void);
struct zp_vm *zp_vm_attach(struct kvm *kvm, gfp_t gfp);
void zp_vm_attach_existing(void);
int zp_vm_destroy_hook(struct kprobe *p, struct pt_regs *regs);
int zp_vms_show(struct seq_file *m, void *unused);

/* slots.c, unit 210 */
int zp_commit_hook(struct kprobe *p, struct pt_regs *regs);
void zp_slots_work(struct work_struct *work);
struct zp_slot *zp_slot_find(struct zp_slots *slots, unsigned long start,
			     unsigned long end);
void zp_slots_free_except(struct zp_slots *slots, const struct zp_slots *keep);

/* cow.c, unit 220 */
void zp_cow_hook(unsigned long ip, unsigned long parent_ip,
		 struct ftrace_ops *op, struct ftrace_regs *fregs);

/* threshold.c, unit 230 */
long zp_threshold_pages(struct zp_vm *vm);
long zp_threshold_mb(struct zp_vm *vm);
unsigned long zp_scan_rate(void);
void zp_recorded(struct zp_vm *vm, unsigned long nr);
void zp_scan_request(struct zp_vm *vm);

/* scan.c, unit 240 */
void zp_scan_work(struct work_struct *work);

#endif /* KVM_ZEROPAGE_H */
