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
#include <linux/bitops.h>
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
 * @tokens: pages available now; negative: pages read on credit
 * @last_ns: when @tokens was last refilled
 */
struct zp_budget {
	s64 tokens;
	u64 last_ns;
};

void zp_budget_init(struct zp_budget *b, u64 rate, u64 now_ns);
bool zp_budget_take(struct zp_budget *b, u64 rate, u64 now_ns);
u64 zp_budget_wait_ns(u64 rate);
void zp_budget_charge(struct zp_budget *b, u64 n);
/*
 * A slot's two page bitmaps, recorded and handed back, are one array,
 * interleaved word by word: the copy-on-write hook tests one and sets
 * the other for every fault, and so touches one cache line, not two
 * pages. A map is the address of the first word of its kind; its word
 * @w is at zp_bits_at(map, w).
 */
#define ZP_BITS_STRIDE	2

/* Word @w of @map: the one place that knows the stride. */
static inline unsigned long *zp_bits_at(unsigned long *map, unsigned long w)
{
	return map + ZP_BITS_STRIDE * w;
}

/* The word of @map holding @bit. */
static inline unsigned long *zp_bits_word(unsigned long *map, unsigned long bit)
{
	return zp_bits_at(map, BIT_WORD(bit));
}

/* Longs to allocate for both maps of @nbits pages. */
static inline size_t zp_bits_longs(unsigned long nbits)
{
	return ZP_BITS_STRIDE * BITS_TO_LONGS(nbits);
}

static inline bool zp_bits_test(unsigned long *map, unsigned long bit)
{
	return test_bit(bit % BITS_PER_LONG, zp_bits_word(map, bit));
}

void __zp_bits_set_atomic(unsigned long *map, unsigned long start,
			  unsigned long nr);
unsigned long zp_bits_set_count(unsigned long *map, unsigned long start,
				unsigned long nr);
unsigned long __zp_bits_clear_count(unsigned long *map, unsigned long start,
				    unsigned long nr);
unsigned long zp_bits_weight(unsigned long *map, unsigned long nbits);

/*
 * The two below take one bit, the copy-on-write hook's case for every 4K
 * page, without a call, as the threshold helpers further down; more
 * bits go to logic.c.
 */

/**
 * zp_bits_set_atomic() - set bits [@start, @start + @nr) of @map
 * @map: an interleaved bitmap another CPU may empty word by word with
 *	xchg()
 * @start: first bit
 * @nr: number of bits
 */
static inline void zp_bits_set_atomic(unsigned long *map, unsigned long start,
				      unsigned long nr)
{
	if (nr == 1)
		set_bit(start % BITS_PER_LONG, zp_bits_word(map, start));
	else
		__zp_bits_set_atomic(map, start, nr);
}

/**
 * zp_bits_clear_count() - clear bits [@start, @start + @nr) of @map
 * @map: an interleaved bitmap others update concurrently
 * @start: first bit
 * @nr: number of bits
 *
 * Words with none of the bits set are only read, so the copy-on-write
 * hook pays no atomic operation where nothing was reclaimed.
 *
 * Return: how many of them were set.
 */
static inline unsigned long zp_bits_clear_count(unsigned long *map,
						unsigned long start,
						unsigned long nr)
{
	if (nr == 1) {
		unsigned long *word = zp_bits_word(map, start);

		return test_bit(start % BITS_PER_LONG, word) &&
		       test_and_clear_bit(start % BITS_PER_LONG, word);
	}
	return __zp_bits_clear_count(map, start, nr);
}
unsigned long zp_window_mask(unsigned long base, unsigned long from,
			     unsigned long to);

/**
 * zp_crossed() - whether adding pages took a counter to its threshold
 * @before: the counter before
 * @after: the counter after
 * @threshold: the threshold in pages, positive
 *
 * Inline: the copy-on-write hook asks on every fault.
 *
 * Return: true exactly once per crossing, for the addition that made it.
 */
static inline bool zp_crossed(long before, long after, long threshold)
{
	return before < threshold && after >= threshold;
}

int zp_parse_threshold_mb(const char *buf, long *mb);

#define ZP_THRESHOLD_MB_MAX	(1L << 20)	/* 1 TiB */

/**
 * struct zp_slot - one user memslot of a VM, as the module keeps it
 * @hva: first host virtual address
 * @npages: its size in pages
 * @id: KVM's memslot id
 * @recent: one bit per page, set when the page was newly allocated since
 *	the last scan; a slot that survives a memslot change keeps it (moved
 *	to other guest addresses too: the bits are of host memory), so two
 *	arrays may share it while the new one replaces the old
 * @reclaimed: one bit per page handed back and not written since;
 *	interleaved with @recent (ZP_BITS_STRIDE), in @recent's allocation
 * @no_split: one bit per 2 MB of host address space the slot touches,
 *	set when khugepaged collapsed pages there again: a 2 MB page there
 *	is handed back only whole; owned and shared with @recent
 */
struct zp_slot {
	unsigned long hva;
	unsigned long npages;
	int id;
	unsigned long *recent;
	unsigned long *reclaimed;
	unsigned long *no_split;
};

/* Bits of @no_split: 2 MB blocks of host address space @slot touches. */
static inline unsigned long zp_slot_pmds(const struct zp_slot *slot)
{
	return ((slot->hva + slot->npages * PAGE_SIZE - 1) >> PMD_SHIFT) -
	       (slot->hva >> PMD_SHIFT) + 1;
}

static inline unsigned long zp_slot_pmd_index(const struct zp_slot *slot,
					      unsigned long addr)
{
	return (addr >> PMD_SHIFT) - (slot->hva >> PMD_SHIFT);
}

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
 * zp_slot_find() - the first slot overlapping [@start, @end)
 * @slots: the VM's slots, sorted by address, not overlapping
 * @start: first host address
 * @end: one past the last
 *
 * Inline: the copy-on-write hook searches on every fault.
 *
 * Context: RCU read side, or the VM's slots_lock.
 * Return: the slot, or NULL.
 */
static inline struct zp_slot *zp_slot_find(struct zp_slots *slots,
					   unsigned long start,
					   unsigned long end)
{
	int lo = 0, hi = slots->nr;

	/* The first slot that ends after @start. */
	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;
		struct zp_slot *s = &slots->s[mid];

		if (s->hva + s->npages * PAGE_SIZE <= start)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < slots->nr && slots->s[lo].hva < end)
		return &slots->s[lo];
	return NULL;
}

/* Why recorded pages were left alone; each is counted (skipped_<name>). */
enum zp_skip {
	ZP_SKIP_DIRTY_LOG,	/* dirty logging on: live migration */
	ZP_SKIP_MLOCK,		/* VM_LOCKED or VM_LOCKONFAULT */
	ZP_SKIP_UFFD,		/* userfaultfd armed: postcopy, snapshots */
	ZP_SKIP_MAPPING,	/* shared, file, hugetlbfs or special mapping */
	ZP_SKIP_KSM,		/* a KSM page, or not anonymous */
	ZP_SKIP_SWAPCACHE,	/* in the swap cache */
	ZP_SKIP_SHARED,		/* mapped more than once (after fork) */
	ZP_SKIP_PINNED,		/* pinned, for DMA or otherwise */
	ZP_SKIP_THP_PTE,	/* part of a 2 MB page mapped by 4K entries */
	ZP_SKIP_NR,
	ZP_SKIP_NONE = ZP_SKIP_NR,
};

extern const char *const zp_skip_names[ZP_SKIP_NR];

/**
 * struct zp_stats - a VM's counters (debugfs kvm_zeropage/vms)
 * @cowed: pages newly allocated into guest RAM (a 2 MB page counts 512)
 * @cowed_thp: ... of which transparent huge pages, counted once each
 * @scans: scans run
 * @pages_scanned: recorded pages examined by scans
 * @zero_found: ... found to hold only zeros
 * @pages_reclaimed: ... handed back and mapped to the zero page (a 2 MB
 *	page counts 512)
 * @thp_reclaimed: 2 MB pages handed back whole, to the huge zero page
 * @thp_split: 2 MB pages split to hand back their zero part
 * @thp_kept: 2 MB pages with some zero part below thp_split_pct, or
 *	collapsed again by khugepaged and not all zero
 * @thp_recollapsed: 2 MB pages khugepaged made again where pages were
 *	handed back or split (not counted in @cowed)
 * @saved: pages handed back and not written since, now
 * @not_present: recorded pages no longer mapped when examined
 * @changed: pages found zero, then written before they were unmapped
 * @retries: pages held by someone for a moment, tried again
 * @skipped: recorded pages left alone, by enum zp_skip
 * @skipped_budget_wait: times a scan waited for its page budget
 * @scan_busy_ns: time scans ran, not counting their waits for the budget
 * @flushes: scans started by flush_ms rather than by the threshold
 */
struct zp_stats {
	atomic64_t cowed, cowed_thp, scans, pages_scanned, zero_found;
	atomic64_t pages_reclaimed, thp_reclaimed, thp_split, thp_kept, saved;
	atomic64_t thp_recollapsed;
	atomic64_t not_present, changed, retries;
	atomic64_t skipped[ZP_SKIP_NR];
	atomic64_t skipped_budget_wait;
	atomic64_t scan_busy_ns, flushes;
};

enum {
	ZP_SCAN_QUEUED,		/* scan_work is queued or running */
	ZP_DYING,		/* the VM is being destroyed or the module unloaded */
	ZP_BOOT_MODE,		/* boot-phase mode: no scan once boot completed */
	ZP_BOOT_DONE,		/* boot completion was signalled */
	ZP_BOOT_BY_GUEST,	/* ... by the guest (MSR_KVMEXT_HINT bit 40) */
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
 * @last_drain: jiffies of the scan's last lru_add_drain_all()
 * @stats: counters
 * @scan_work: the scan (unit 240)
 * @flush_work: scans what stayed below the threshold for flush_ms
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
	unsigned long last_drain;
	struct zp_stats stats;
	struct work_struct scan_work;
	struct delayed_work flush_work;
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
struct zp_vm *zp_vm_lookup(struct kvm *kvm);
bool zp_vm_get_kvm(struct zp_vm *vm);
void zp_vm_attach_existing(void);
int zp_vm_destroy_hook(struct kprobe *p, struct pt_regs *regs);
int zp_vms_show(struct seq_file *m, void *unused);

/* slots.c, unit 210 */
int zp_commit_hook(struct kprobe *p, struct pt_regs *regs);
void zp_slots_work(struct work_struct *work);
unsigned long zp_slots_free_except(struct zp_slots *slots,
				   const struct zp_slots *keep);
void zp_slot_mark_reclaimed(struct zp_vm *vm, struct zp_slot *slot,
			    unsigned long addr, unsigned long nr);
void zp_slot_clear_recent(struct zp_slot *slot, unsigned long addr,
			  unsigned long nr);

/* cow.c, unit 220 */
void zp_cow_hook(unsigned long ip, unsigned long parent_ip,
		 struct ftrace_ops *op, struct ftrace_regs *fregs);

/* threshold.c, unit 230 */
void zp_hint_hook(void *data, struct kvm_vcpu *vcpu, u64 hint, u8 via);
extern long zp_default_threshold_mb;
extern unsigned int zp_flush_ms;
unsigned long zp_scan_rate(void);
bool zp_scan_request(struct zp_vm *vm);
void zp_flush_arm(struct zp_vm *vm);

/*
 * The three below are inline because the copy-on-write hook runs them on
 * every fault of a VMM, where every call and return has a price: the
 * stock kernel's SRSO return thunk on AMD hosts, a lookup under TCG
 * (Documentation/kvm-zeropage-design.rst, the callback).
 */

/**
 * zp_threshold_mb() - the threshold in force for a VM
 * @vm: the VM
 *
 * Return: MiB.
 */
static inline long zp_threshold_mb(struct zp_vm *vm)
{
	long mb = READ_ONCE(vm->threshold_mb);

	return mb > 0 ? mb : READ_ONCE(zp_default_threshold_mb);
}

/**
 * zp_threshold_pages() - the threshold in force for a VM, in pages
 * @vm: the VM
 *
 * Return: pages.
 */
static inline long zp_threshold_pages(struct zp_vm *vm)
{
	return zp_threshold_mb(vm) << (20 - PAGE_SHIFT);
}

/**
 * zp_recorded() - count pages the hook recorded, and start a scan at the
 *	threshold
 * @vm: the VM
 * @nr: pages
 *
 * Context: the copy-on-write hook: page table lock held, must not sleep.
 */
static inline void zp_recorded(struct zp_vm *vm, unsigned long nr)
{
	long after = atomic_long_add_return(nr, &vm->pending);

	/*
	 * Once per crossing; if the scan was still running then, the scan
	 * looks at the counter again when it ends.
	 */
	if (zp_crossed(after - nr, after, zp_threshold_pages(vm)))
		zp_scan_request(vm);
	else if (READ_ONCE(zp_flush_ms) &&
		 !delayed_work_pending(&vm->flush_work))
		/* Reads first: queueing is an atomic on a shared line. */
		zp_flush_arm(vm);
}
void zp_flush_work(struct work_struct *work);
bool zp_boot_mode_default(void);
bool zp_scans_stopped(struct zp_vm *vm);
void zp_boot_complete(struct zp_vm *vm, bool by_guest);
void zp_set_boot_mode(struct zp_vm *vm, bool boot);
int zp_parse_mode(const char *buf, bool *boot);

/* scan.c, unit 240 */
void zp_scan_work(struct work_struct *work);

/* Candidates reclaimed together, under one notifier range and lock. */
#define ZP_RUN_MAX BITS_PER_LONG

enum { ZP_CAND_DROP, ZP_CAND_CLEARED, ZP_CAND_RECLAIMED };

/**
 * struct zp_scan - one scan of a VM
 * @vm: the VM
 * @mm: its address space
 * @slot: the memslot being scanned
 * @scanned: pages read
 * @zero: ... all zero
 * @reclaimed: ... handed back
 * @busy: ... held by someone for a moment: tried again
 * @nr: candidates of the current run
 * @addr: their host addresses
 * @page: their pages, referenced and locked
 * @pte: their page table entries as last seen
 * @state: ZP_CAND_*
 */
struct zp_scan {
	struct zp_vm *vm;
	struct mm_struct *mm;
	struct zp_slot *slot;
	unsigned long scanned, zero, reclaimed, busy;
	u64 waited_ns;	/* in budget waits, left out of scan_busy_us */
	int nr;
	unsigned long addr[ZP_RUN_MAX];
	struct page *page[ZP_RUN_MAX];
	pte_t pte[ZP_RUN_MAX];
	u8 state[ZP_RUN_MAX];
};

/* reclaim.c, unit 240: the mm internals, looked up (main.c's table) */
struct mmu_notifier_range;

/**
 * struct zp_mm_syms - unexported mm functions and data reclaim uses
 * @invalidate_range_start: __mmu_notifier_invalidate_range_start
 * @invalidate_range_end: __mmu_notifier_invalidate_range_end
 * @invalidate_range: __mmu_notifier_invalidate_range
 * @flush_tlb_mm_range: flush_tlb_mm_range
 * @page_remove_rmap: page_remove_rmap
 * @mm_trace_rss_stat: mm_trace_rss_stat
 * @folio_mapcount: folio_mapcount
 * @split_huge_page_to_list: split_huge_page_to_list
 * @mm_get_huge_zero_page: mm_get_huge_zero_page
 * @lru_add_drain_all: lru_add_drain_all
 * @transparent_hugepage_flags: transparent_hugepage_flags
 */
struct zp_mm_syms {
	int (*invalidate_range_start)(struct mmu_notifier_range *r);
	void (*invalidate_range_end)(struct mmu_notifier_range *r, bool only_end);
	void (*invalidate_range)(struct mm_struct *mm, unsigned long start,
				 unsigned long end);
	void (*flush_tlb_mm_range)(struct mm_struct *mm, unsigned long start,
				   unsigned long end, unsigned int stride_shift,
				   bool freed_tables);
	void (*page_remove_rmap)(struct page *page, struct vm_area_struct *vma,
				 bool compound);
	void (*mm_trace_rss_stat)(struct mm_struct *mm, int member, long count);
	int (*folio_mapcount)(struct folio *folio);
	int (*split_huge_page_to_list)(struct page *page, struct list_head *list);
	struct page *(*mm_get_huge_zero_page)(struct mm_struct *mm);
	void (*lru_add_drain_all)(void);
	unsigned long *transparent_hugepage_flags;
};

extern struct zp_mm_syms zp_mm;
void zp_khugepaged_notice(const unsigned int *max_ptes_none);
unsigned long zp_reclaim_window(struct zp_scan *sc, unsigned long base,
				unsigned long bits);

#endif /* KVM_ZEROPAGE_H */
