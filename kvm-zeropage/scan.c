// SPDX-License-Identifier: GPL-2.0
/*
 * The targeted scan (patent unit 240), run by a worker, never in a fault
 * path. It examines only the pages recorded since the last scan: it
 * empties each memslot's bitmap one word at a time (xchg, so that pages
 * recorded meanwhile belong to the next scan), within the scan_rate
 * budget of pages per second, and hands the all-zero ones back
 * (reclaim.c). Pages someone held for a moment are recorded again and,
 * once the per-CPU page batches are drained, tried a second time.
 *
 * The scan holds a reference on the VM and on its address space only
 * while it works on one word, so a VM that exits is destroyed without
 * waiting for it, and KVM's SRCU read side, so that a memslot cannot
 * change under it, nor dirty logging start unseen.
 */
#include <linux/delay.h>
#include <linux/jiffies.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "zp.h"
#define CREATE_TRACE_POINTS
#include "trace.h"

/* Waits for the budget to allow @n more pages; false if the VM goes. */
static bool zp_scan_budget(struct zp_scan *sc, unsigned int n)
{
	unsigned long rate = zp_scan_rate();
	struct zp_vm *vm = sc->vm;
	u64 t;

	while (n) {
		if (test_bit(ZP_DYING, &vm->flags))
			return false;
		if (zp_budget_take(&vm->budget, rate, ktime_get_ns())) {
			n--;
			continue;
		}
		atomic64_inc(&vm->stats.skipped_budget_wait);
		t = ktime_get_ns();
		fsleep(div_u64(zp_budget_wait_ns(rate), NSEC_PER_USEC) + 1);
		/* Waiting is not work: scan_busy_us counts the work. */
		sc->waited_ns += ktime_get_ns() - t;
	}
	return true;
}

/*
 * Whether KVM's memslot still is the one @slot copied, and why its pages
 * must be left alone (ZP_SKIP_NONE: they need not).
 */
static enum zp_skip zp_slot_check(struct kvm *kvm, struct zp_slot *slot,
				  bool *stale)
{
	struct kvm_memory_slot *ms = id_to_memslot(__kvm_memslots(kvm, 0),
						   slot->id);

	*stale = !ms || ms->userspace_addr != slot->hva ||
		 ms->npages != slot->npages;
	if (*stale)
		return ZP_SKIP_NONE;
	/* Live migration: left alone until it is proven harmless. */
	if (kvm_slot_dirty_track_enabled(ms))
		return ZP_SKIP_DIRTY_LOG;
	return ZP_SKIP_NONE;
}

/*
 * zp_slot_check() without holding anything after it: whether the word's
 * pages are worth waiting for the budget. Returns false when @vm goes.
 */
static bool zp_slot_peek(struct zp_vm *vm, struct zp_slot *slot,
			 enum zp_skip *why, bool *stale)
{
	int idx;

	if (!zp_vm_get_kvm(vm))
		return false;
	idx = srcu_read_lock(&vm->kvm->srcu);
	*why = zp_slot_check(vm->kvm, slot, stale);
	srcu_read_unlock(&vm->kvm->srcu, idx);
	kvm_put_kvm(vm->kvm);
	return true;
}

/*
 * Examine the pages of @bits, word @w of the slot's bitmap. Returns false
 * when the rest of the slot is not to be read: the VM goes, or KVM's
 * memslot changed (a re-read of the memslots is queued and gives the
 * memory there bitmaps of its own).
 */
static bool zp_scan_word(struct zp_scan *sc, unsigned long w,
			 unsigned long bits)
{
	struct zp_vm *vm = sc->vm;
	struct zp_slot *slot = sc->slot;
	unsigned long before = sc->scanned, retry = 0, n = hweight_long(bits);
	unsigned long zero = sc->zero, reclaimed = sc->reclaimed;
	enum zp_skip why;
	bool stale;
	int idx;

	/*
	 * Pages to skip cost no budget, and a slot deleted or resized during
	 * a scan is left at once, not a budget's wait per word later.
	 */
	if (!zp_slot_peek(vm, slot, &why, &stale))
		return false;
	if (stale)
		goto stale;
	if (why != ZP_SKIP_NONE) {
		atomic64_add(n, &vm->stats.skipped[why]);
		return true;
	}
	if (!zp_scan_budget(sc, n))
		return false;
	if (!zp_vm_get_kvm(vm))
		return false;
	/* The VMM is exiting: its VM goes next. */
	if (!mmget_not_zero(sc->mm)) {
		kvm_put_kvm(vm->kvm);
		return false;
	}
	/* Checked again: the memslot may have changed during the wait. */
	idx = srcu_read_lock(&vm->kvm->srcu);
	why = zp_slot_check(vm->kvm, slot, &stale);
	if (stale) {
		/* Left to the re-read, as above. */
	} else if (why != ZP_SKIP_NONE) {
		atomic64_add(n, &vm->stats.skipped[why]);
	} else {
		mmap_read_lock(sc->mm);
		retry = zp_reclaim_window(sc, slot->hva + w * BITS_PER_LONG *
					  PAGE_SIZE, bits);
		mmap_read_unlock(sc->mm);
	}
	/*
	 * As it goes, so that a long scan's progress shows; inside the SRCU
	 * section, so that a memslot change (dirty logging on) that waited
	 * for it sees every page this word handed back counted.
	 */
	atomic64_add(sc->scanned - before, &vm->stats.pages_scanned);
	atomic64_add(sc->zero - zero, &vm->stats.zero_found);
	atomic64_add(sc->reclaimed - reclaimed, &vm->stats.pages_reclaimed);
	srcu_read_unlock(&vm->kvm->srcu, idx);
	mmput(sc->mm);
	if (retry) {
		atomic_long_or(retry, (atomic_long_t *)zp_bits_at(slot->recent, w));
		atomic64_add(hweight_long(retry), &vm->stats.retries);
	}
	/* A 2 MB page is read whole for one recorded page of it. */
	if (sc->scanned - before > n)
		zp_budget_charge(&vm->budget, sc->scanned - before - n);
	kvm_put_kvm(vm->kvm);
	if (!stale)
		return true;
stale:
	/* Kept for the re-read, should the slot come back as it was. */
	atomic_long_or(bits, (atomic_long_t *)zp_bits_at(slot->recent, w));
	return false;
}

static void zp_scan_slot(struct zp_scan *sc)
{
	struct zp_slot *slot = sc->slot;
	unsigned long i, words = BITS_TO_LONGS(slot->npages);

	for (i = 0; i < words && !test_bit(ZP_DYING, &sc->vm->flags) &&
	     !zp_scans_stopped(sc->vm); i++) {
		unsigned long bits;

		if (!READ_ONCE(*zp_bits_at(slot->recent, i)))
			continue;
		bits = xchg(zp_bits_at(slot->recent, i), 0);
		if (!zp_scan_word(sc, i, bits))
			break;
		cond_resched();
	}
}

static void zp_scan_pass(struct zp_scan *sc, struct zp_slots *slots)
{
	int i;

	for (i = 0; slots && i < slots->nr; i++) {
		sc->slot = &slots->s[i];
		zp_scan_slot(sc);
	}
}

/**
 * zp_scan_work() - one scan of a VM
 * @work: the VM's scan_work
 */
void zp_scan_work(struct work_struct *work)
{
	struct zp_vm *vm = container_of(work, struct zp_vm, scan_work);
	struct zp_slots *slots;
	u64 t0 = ktime_get_ns();
	struct zp_scan *sc;
	long recorded;

	sc = kzalloc(sizeof(*sc), GFP_KERNEL);
	if (!sc) {
		/* The pages stay recorded: the next crossing or flush_ms. */
		clear_bit(ZP_SCAN_QUEUED, &vm->flags);
		zp_flush_arm(vm);
		return;
	}
	sc->vm = vm;
	sc->mm = vm->mm;
	/* The counter restarts now: what is recorded during the scan is next. */
	recorded = atomic_long_xchg(&vm->pending, 0);
	trace_kvm_zeropage_scan_start(vm->pid, recorded);
	mutex_lock(&vm->slots_lock);
	slots = rcu_dereference_protected(vm->slots,
					  lockdep_is_held(&vm->slots_lock));
	zp_scan_pass(sc, slots);
	if (sc->busy && !test_bit(ZP_DYING, &vm->flags) && !zp_scans_stopped(vm) &&
	    time_after(jiffies, vm->last_drain + HZ / 10)) {
		/*
		 * Most are new pages still in a per-CPU LRU batch, which holds
		 * a reference; KSM drains them once per pass too. Draining
		 * interrupts every CPU: at most ten times a second per VM,
		 * however often a guest makes pages look busy.
		 */
		vm->last_drain = jiffies;
		zp_mm.lru_add_drain_all();
		sc->busy = 0;
		zp_scan_pass(sc, slots);
	}
	mutex_unlock(&vm->slots_lock);
	atomic64_inc(&vm->stats.scans);
	trace_kvm_zeropage_scan_end(vm->pid, sc->scanned, sc->zero,
				    sc->reclaimed, ktime_get_ns() - t0);
	atomic64_add(ktime_get_ns() - t0 - sc->waited_ns, &vm->stats.scan_busy_ns);
	kfree(sc);

	clear_bit(ZP_SCAN_QUEUED, &vm->flags);
	/* Pairs with the hook's add: a crossing during the scan was dropped. */
	smp_mb__after_atomic();
	if (atomic_long_read(&vm->pending) >= zp_threshold_pages(vm))
		zp_scan_request(vm);
	else
		zp_flush_arm(vm);
}
