// SPDX-License-Identifier: GPL-2.0
/*
 * The targeted scan (patent unit 240), run by a worker, never in a fault
 * path. It examines only the pages recorded since the last scan: it
 * empties each memslot's bitmap one word at a time (xchg, so that pages
 * recorded meanwhile belong to the next scan) and reads every page it
 * claimed, within the scan_rate budget of pages per second.
 *
 * This is the first stage of the unit: a page found all-zero is counted
 * (zero_found), not yet handed back; reclaiming it with KSM's protocol
 * is next (Documentation/kvm-zeropage-design.rst, section 2). The scan
 * holds a reference on the VM and on its address space only while it
 * reads a batch, so a VM that exits is destroyed without waiting for it.
 */
#include <linux/delay.h>
#include <linux/highmem.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/string.h>

#include "zp.h"
#define CREATE_TRACE_POINTS
#include "trace.h"

/**
 * struct zp_scan_stats - what one scan did
 * @scanned: pages read
 * @zero: ... all zero
 */
struct zp_scan_stats {
	unsigned long scanned, zero;
};

/* Waits for the budget to allow @n more pages; false if the VM goes. */
static bool zp_scan_budget(struct zp_vm *vm, unsigned int n)
{
	unsigned long rate = zp_scan_rate();

	while (n) {
		if (test_bit(ZP_DYING, &vm->flags))
			return false;
		if (zp_budget_take(&vm->budget, rate, ktime_get_ns())) {
			n--;
			continue;
		}
		atomic64_inc(&vm->stats.skipped_budget_wait);
		fsleep(div_u64(zp_budget_wait_ns(rate), NSEC_PER_USEC) + 1);
	}
	return true;
}

/*
 * Read the page mapped at @hva without faulting anything in. Returns 1 if
 * it is all zero, 0 if not, -EFAULT if nothing private is mapped there.
 */
static int zp_page_is_zero(struct mm_struct *mm, unsigned long hva)
{
	struct page *page;
	void *p;
	long n;
	int zero;

	n = get_user_pages_remote(mm, hva, 1, FOLL_NOFAULT, &page, NULL, NULL);
	if (n != 1)
		return -EFAULT;
	if (is_zero_pfn(page_to_pfn(page))) {
		put_page(page);
		return -EFAULT;
	}
	p = kmap_local_page(page);
	zero = !memchr_inv(p, 0, PAGE_SIZE);
	kunmap_local(p);
	put_page(page);
	return zero;
}

/* Examine the pages of @bits, recorded in @slot from page @first on. */
static void zp_scan_word(struct zp_vm *vm, struct zp_slot *slot,
			 unsigned long first, unsigned long bits,
			 struct zp_scan_stats *st)
{
	struct mm_struct *mm = vm->mm;
	unsigned int b;

	if (slot->log_dirty) {
		/* Live migration: left alone until it is proven harmless. */
		atomic64_add(hweight_long(bits), &vm->stats.skipped_dirty_log);
		return;
	}
	if (!zp_scan_budget(vm, hweight_long(bits)))
		return;
	if (!kvm_get_kvm_safe(vm->kvm))
		return;
	if (!mmget_not_zero(mm))
		goto put_kvm;
	mmap_read_lock(mm);
	for_each_set_bit(b, &bits, BITS_PER_LONG) {
		int zero = zp_page_is_zero(mm, slot->hva +
					   (first + b) * PAGE_SIZE);

		st->scanned++;
		if (zero < 0)
			atomic64_inc(&vm->stats.not_present);
		else if (zero)
			st->zero++;
	}
	mmap_read_unlock(mm);
	mmput(mm);
put_kvm:
	kvm_put_kvm(vm->kvm);
}

static void zp_scan_slot(struct zp_vm *vm, struct zp_slot *slot,
			 struct zp_scan_stats *st)
{
	unsigned long i, words = BITS_TO_LONGS(slot->npages);

	for (i = 0; i < words && !test_bit(ZP_DYING, &vm->flags); i++) {
		unsigned long bits;

		if (!READ_ONCE(slot->recent[i]))
			continue;
		bits = xchg(&slot->recent[i], 0);
		zp_scan_word(vm, slot, i * BITS_PER_LONG, bits, st);
		cond_resched();
	}
}

/**
 * zp_scan_work() - one scan of a VM
 * @work: the VM's scan_work
 */
void zp_scan_work(struct work_struct *work)
{
	struct zp_vm *vm = container_of(work, struct zp_vm, scan_work);
	struct zp_scan_stats st = {};
	struct zp_slots *slots;
	u64 t0 = ktime_get_ns();
	long recorded;
	int i;

	/* The counter restarts now: what is recorded during the scan is next. */
	recorded = atomic_long_xchg(&vm->pending, 0);
	trace_kvm_zeropage_scan_start(vm->pid, recorded);
	mutex_lock(&vm->slots_lock);
	slots = rcu_dereference_protected(vm->slots,
					  lockdep_is_held(&vm->slots_lock));
	for (i = 0; slots && i < slots->nr; i++)
		zp_scan_slot(vm, &slots->s[i], &st);
	mutex_unlock(&vm->slots_lock);
	atomic64_inc(&vm->stats.scans);
	atomic64_add(st.scanned, &vm->stats.pages_scanned);
	atomic64_add(st.zero, &vm->stats.zero_found);
	trace_kvm_zeropage_scan_end(vm->pid, st.scanned, st.zero,
				    ktime_get_ns() - t0);

	clear_bit(ZP_SCAN_QUEUED, &vm->flags);
	/* Pairs with the hook's add: a crossing during the scan was dropped. */
	smp_mb__after_atomic();
	if (atomic_long_read(&vm->pending) >= zp_threshold_pages(vm))
		zp_scan_request(vm);
}
