// SPDX-License-Identifier: GPL-2.0
/*
 * Handing all-zero guest pages back (the second half of patent unit 240),
 * with the protocol KSM uses to merge a page into the zero page, batched:
 * under an MMU-notifier range, the candidates' entries are cleared and
 * flushed; a page whose reference count says someone else holds it
 * (a pin for DMA, a GUP in progress, a per-CPU LRU batch) gets its entry
 * back; the content is verified while nothing maps it; then the entry
 * becomes the shared zero page and the page is freed. Between the clear
 * and the end of the range, a vCPU, a VMM thread or a device through a
 * new GUP can only fault and wait: no write is lost.
 * Documentation/kvm-zeropage-design.rst, section 2, has the reasoning,
 * with file:line references; this file is the only user of the mm
 * internals the module looks up (struct zp_mm_syms).
 */
#include <linux/highmem.h>
#include <linux/huge_mm.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/moduleparam.h>
#include <linux/pagemap.h>
#include <linux/pgtable.h>
#include <linux/rmap.h>
#include <linux/userfaultfd_k.h>
#include <asm/tlbflush.h>

#include "zp.h"
#include "trace.h"

struct zp_mm_syms zp_mm;

static unsigned int thp_split_pct = 50;

static int zp_set_split_pct(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 1, 101);
}

static const struct kernel_param_ops zp_split_pct_ops = {
	.set = zp_set_split_pct,
	.get = param_get_uint,
};
module_param_cb(thp_split_pct, &zp_split_pct_ops, &thp_split_pct, 0644);
MODULE_PARM_DESC(thp_split_pct,
		 "Split a 2 MB page when at least this % of it is zero (1-100, 101: never; default 50)");

/* dec_mm_counter(), whose inline form calls the unexported tracer. */
static void zp_sub_anon_rss(struct mm_struct *mm, long nr)
{
	long count = atomic_long_sub_return(nr, &mm->rss_stat.count[MM_ANONPAGES]);

	zp_mm.mm_trace_rss_stat(mm, MM_ANONPAGES, count);
}

/* The PMD entry of @addr, as mm_find_pmd() finds it; NULL if none. */
static pmd_t *zp_find_pmd(struct mm_struct *mm, unsigned long addr)
{
	pgd_t *pgd = pgd_offset(mm, addr);
	p4d_t *p4d;
	pud_t *pud;

	if (!pgd_present(*pgd))
		return NULL;
	p4d = p4d_offset(pgd, addr);
	if (!p4d_present(*p4d))
		return NULL;
	pud = pud_offset(p4d, addr);
	if (!pud_present(*pud) || pud_trans_huge(*pud))
		return NULL;
	return pmd_offset(pud, addr);
}

static bool zp_page_zero(struct page *page)
{
	void *p = kmap_local_page(page);
	bool zero = !memchr_inv(p, 0, PAGE_SIZE);

	kunmap_local(p);
	return zero;
}

/* Why a VMA's pages are left alone, or ZP_SKIP_NONE. */
static enum zp_skip zp_vma_skip(struct vm_area_struct *vma)
{
	if (vma->vm_flags & (VM_LOCKED | VM_LOCKONFAULT))
		return ZP_SKIP_MLOCK;
	if (userfaultfd_armed(vma))
		return ZP_SKIP_UFFD;
	if ((vma->vm_flags & (VM_SHARED | VM_MAYSHARE | VM_HUGETLB | VM_PFNMAP |
			      VM_IO | VM_MIXEDMAP)) ||
	    vma->vm_file || !vma_is_anonymous(vma))
		return ZP_SKIP_MAPPING;
	return ZP_SKIP_NONE;
}

static void zp_count_skip(struct zp_scan *sc, enum zp_skip why, unsigned long n)
{
	atomic64_add(n, &sc->vm->stats.skipped[why]);
}

/*
 * A page held by someone for a moment (a per-CPU LRU batch, a GUP in
 * progress, the page lock) is examined again later, and counted then.
 */
static void zp_retry_later(struct zp_scan *sc, unsigned long *retry,
			   unsigned long offset)
{
	*retry |= BIT(offset >> PAGE_SHIFT);
	sc->busy++;
	sc->scanned--;
	sc->zero--;
}

/*
 * Steps 6 to 12 of section 2.3 for the candidates in @sc, which are
 * referenced, locked, in one VMA and one page table. Returns the bits,
 * relative to @base, of pages to try again later.
 */
static unsigned long zp_reclaim_run(struct zp_scan *sc,
				    struct vm_area_struct *vma, pmd_t *pmd,
				    unsigned long base)
{
	struct mm_struct *mm = sc->mm;
	struct mmu_notifier_range range;
	unsigned long start = sc->addr[0];
	unsigned long end = sc->addr[sc->nr - 1] + PAGE_SIZE;
	unsigned long retry = 0;
	spinlock_t *ptl;
	pte_t *ptep;
	int i;

	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, vma, mm, start, end);
	range.flags |= MMU_NOTIFIER_RANGE_BLOCKABLE;
	zp_mm.invalidate_range_start(&range);

	ptep = pte_offset_map_lock(mm, pmd, start, &ptl);
	for (i = 0; i < sc->nr; i++) {
		pte_t *p = ptep + ((sc->addr[i] - start) >> PAGE_SHIFT);

		if (!pte_same(ptep_get(p), sc->pte[i])) {
			/* Written, unmapped or migrated meanwhile. */
			sc->state[i] = ZP_CAND_DROP;
			continue;
		}
		sc->pte[i] = ptep_get_and_clear(mm, sc->addr[i], p);
		sc->state[i] = ZP_CAND_CLEARED;
	}
	/* ptep_clear_flush() once for the run, and the secondary TLBs. */
	zp_mm.flush_tlb_mm_range(mm, start, end, PAGE_SHIFT, false);
	zp_mm.invalidate_range(mm, start, end);

	for (i = 0; i < sc->nr; i++) {
		pte_t *p = ptep + ((sc->addr[i] - start) >> PAGE_SHIFT);
		struct page *page = sc->page[i];

		if (sc->state[i] != ZP_CAND_CLEARED)
			continue;
		/* The mapping's reference and ours: nobody else's. */
		if (page_count(page) != page_mapcount(page) + 1) {
			set_pte_at(mm, sc->addr[i], p, sc->pte[i]);
			if (page_maybe_dma_pinned(page))
				zp_count_skip(sc, ZP_SKIP_PINNED, 1);
			else
				zp_retry_later(sc, &retry, sc->addr[i] - base);
			continue;
		}
		/* Nothing can write it now: this is the check that counts. */
		if (!zp_page_zero(page)) {
			set_pte_at(mm, sc->addr[i], p, sc->pte[i]);
			atomic64_inc(&sc->vm->stats.changed);
			continue;
		}
		set_pte_at(mm, sc->addr[i], p,
			   pte_mkspecial(pfn_pte(my_zero_pfn(sc->addr[i]),
						 vma->vm_page_prot)));
		zp_mm.page_remove_rmap(page, vma, false);
		/* The mapping's reference; ours keeps the page until unlocked. */
		put_page(page);
		sc->state[i] = ZP_CAND_RECLAIMED;
		/*
		 * Marked under the lock: once it is dropped, a write may
		 * allocate here again, and the hook that clears the mark
		 * (under the same lock) must find it set.
		 */
		zp_slot_mark_reclaimed(sc->vm, sc->slot, sc->addr[i], 1);
	}
	pte_unmap_unlock(ptep, ptl);
	zp_mm.invalidate_range_end(&range, false);

	for (i = 0; i < sc->nr; i++) {
		struct page *page = sc->page[i];

		if (sc->state[i] == ZP_CAND_RECLAIMED) {
			zp_sub_anon_rss(mm, 1);
			sc->reclaimed++;
			trace_kvm_zeropage_reclaim(sc->vm->pid, sc->addr[i], 1);
		}
		unlock_page(page);
		/* The last reference of a reclaimed page: back to the allocator. */
		put_page(page);
	}
	sc->nr = 0;
	return retry;
}

/*
 * The 4K pages of @bits (relative to @base), all in @vma and in the page
 * table @pmd points to. Returns the bits of pages to try again.
 */
static unsigned long zp_reclaim_ptes(struct zp_scan *sc,
				     struct vm_area_struct *vma, pmd_t *pmd,
				     unsigned long base, unsigned long bits)
{
	struct mm_struct *mm = sc->mm;
	unsigned long start = base + __ffs(bits) * PAGE_SIZE;
	unsigned long retry = 0;
	spinlock_t *ptl;
	pte_t *ptep;
	unsigned int b;
	int i, n = 0;

	/* Step 3: what is mapped, under the lock. */
	sc->nr = 0;
	ptep = pte_offset_map_lock(mm, pmd, start, &ptl);
	for_each_set_bit(b, &bits, BITS_PER_LONG) {
		unsigned long addr = base + b * PAGE_SIZE;
		pte_t pte = ptep_get(ptep + ((addr - start) >> PAGE_SHIFT));
		struct page *page;

		if (!pte_present(pte) || pte_special(pte)) {
			/* Never written, or already the zero page. */
			atomic64_inc(&sc->vm->stats.not_present);
			continue;
		}
		if (!pfn_valid(pte_pfn(pte))) {
			zp_count_skip(sc, ZP_SKIP_MAPPING, 1);
			continue;
		}
		page = pte_page(pte);
		if (!PageAnon(page) || PageKsm(page)) {
			zp_count_skip(sc, ZP_SKIP_KSM, 1);
			continue;
		}
		if (PageCompound(page)) {
			/* Part of a 2 MB page mapped by 4K entries. */
			zp_count_skip(sc, ZP_SKIP_THP_PTE, 1);
			continue;
		}
		get_page(page);
		sc->addr[sc->nr] = addr;
		sc->page[sc->nr] = page;
		sc->pte[sc->nr] = pte;
		sc->nr++;
	}
	pte_unmap_unlock(ptep, ptl);

	/* Steps 4 and 5: a first look without the lock, then the page lock. */
	for (i = 0; i < sc->nr; i++) {
		struct page *page = sc->page[i];

		sc->scanned++;
		if (!zp_page_zero(page)) {
			put_page(page);
			continue;
		}
		sc->zero++;
		if (!trylock_page(page)) {
			zp_retry_later(sc, &retry, sc->addr[i] - base);
			put_page(page);
			continue;
		}
		if (PageSwapCache(page) || page_mapcount(page) != 1) {
			zp_count_skip(sc, PageSwapCache(page) ?
				      ZP_SKIP_SWAPCACHE : ZP_SKIP_SHARED, 1);
			unlock_page(page);
			put_page(page);
			continue;
		}
		sc->addr[n] = sc->addr[i];
		sc->page[n] = page;
		sc->pte[n] = sc->pte[i];
		n++;
	}
	sc->nr = n;
	if (n)
		retry |= zp_reclaim_run(sc, vma, pmd, base);
	return retry;
}

static unsigned int zp_thp_zero_pages(struct page *head)
{
	unsigned int i, n = 0;

	for (i = 0; i < HPAGE_PMD_NR; i++)
		n += zp_page_zero(head + i);
	return n;
}

/*
 * A 2 MB page that is all zero becomes the huge zero page (section 2.5).
 * Called with the page referenced and locked. Returns false if it must be
 * tried again.
 */
static bool zp_reclaim_thp_whole(struct zp_scan *sc, struct vm_area_struct *vma,
				 pmd_t *pmd, unsigned long haddr,
				 struct page *head, pmd_t orig)
{
	struct folio *folio = page_folio(head);
	struct mm_struct *mm = sc->mm;
	struct mmu_notifier_range range;
	unsigned long end = haddr + HPAGE_PMD_SIZE;
	struct page *hzp;
	bool done = false, retry = false;
	spinlock_t *ptl;
	pmd_t old;
	unsigned int i;

	/* Taken for the mm, which drops it at exit; may allocate. */
	hzp = zp_mm.mm_get_huge_zero_page(mm);
	if (!hzp)
		return true;
	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, vma, mm, haddr, end);
	range.flags |= MMU_NOTIFIER_RANGE_BLOCKABLE;
	zp_mm.invalidate_range_start(&range);
	ptl = pmd_lock(mm, pmd);
	if (!pmd_same(*pmd, orig))
		goto unlock;
	/*
	 * Invalid but still huge, as change_huge_pmd() does it, not cleared:
	 * a MADV_DONTNEED seeing an empty entry under the mmap read lock
	 * would skip it and return while a restore below puts the data back.
	 * Huge, it waits for the lock; faults and GUP wait or go slow.
	 */
	old = pmdp_establish(vma, haddr, pmd, pmd_mkinvalid(orig));
	zp_mm.flush_tlb_mm_range(mm, haddr, end, PMD_SHIFT, false);
	zp_mm.invalidate_range(mm, haddr, end);
	if (zp_mm.folio_mapcount(folio) + 1 != folio_ref_count(folio)) {
		set_pmd_at(mm, haddr, pmd, old);
		if (folio_maybe_dma_pinned(folio))
			zp_count_skip(sc, ZP_SKIP_PINNED, HPAGE_PMD_NR);
		else
			retry = true;
		goto unlock;
	}
	/*
	 * Under the lock: released, it would let a fault fill the empty
	 * entry, and a page found written could not be put back.
	 */
	for (i = 0; i < HPAGE_PMD_NR; i++)
		if (!zp_page_zero(head + i))
			break;
	if (i < HPAGE_PMD_NR) {
		set_pmd_at(mm, haddr, pmd, old);
		atomic64_inc(&sc->vm->stats.changed);
		goto unlock;
	}
	/* The deposited page table stays: the huge zero entry keeps one too. */
	set_pmd_at(mm, haddr, pmd, pmd_mkhuge(mk_pmd(hzp, vma->vm_page_prot)));
	zp_mm.page_remove_rmap(head, vma, true);
	folio_put(folio);
	/* Under the lock, as in zp_reclaim_ptes(). */
	zp_slot_mark_reclaimed(sc->vm, sc->slot, haddr, HPAGE_PMD_NR);
	done = true;
unlock:
	spin_unlock(ptl);
	zp_mm.invalidate_range_end(&range, false);
	if (done) {
		zp_sub_anon_rss(mm, HPAGE_PMD_NR);
		sc->reclaimed += HPAGE_PMD_NR;
		atomic64_inc(&sc->vm->stats.thp_reclaimed);
		trace_kvm_zeropage_reclaim(sc->vm->pid, haddr, HPAGE_PMD_NR);
	}
	return !retry;
}

/*
 * The 2 MB page mapped by @pmd at @haddr (section 2.5): all zero, it
 * becomes the huge zero page; zero at or above thp_split_pct, it is split
 * and its zero 4K pages go through zp_reclaim_ptes(); otherwise it stays.
 * Returns false if it must be tried again.
 */
static bool zp_reclaim_thp(struct zp_scan *sc, struct vm_area_struct *vma,
			   pmd_t *pmd, unsigned long haddr)
{
	struct mm_struct *mm = sc->mm;
	unsigned int zero, pct = READ_ONCE(thp_split_pct);
	struct page *head;
	bool ok = true;
	spinlock_t *ptl;
	pmd_t orig;
	int i;

	if (haddr < vma->vm_start || haddr + HPAGE_PMD_SIZE > vma->vm_end)
		return true;
	ptl = pmd_lock(mm, pmd);
	orig = *pmd;
	if (!pmd_trans_huge(orig)) {
		spin_unlock(ptl);
		return true;
	}
	head = pmd_page(orig);
	if (!PageAnon(head)) {
		/* The huge zero page: nothing to hand back. */
		spin_unlock(ptl);
		atomic64_add(HPAGE_PMD_NR, &sc->vm->stats.not_present);
		return true;
	}
	get_page(head);
	spin_unlock(ptl);

	zero = zp_thp_zero_pages(head);
	/* khugepaged would collapse a split one again: whole or nothing. */
	if (zero < HPAGE_PMD_NR &&
	    test_bit(zp_slot_pmd_index(sc->slot, haddr), sc->slot->no_split))
		pct = 101;
	if (!zero || zero * 100 < pct * HPAGE_PMD_NR) {
		if (zero)
			atomic64_inc(&sc->vm->stats.thp_kept);
		put_page(head);
		goto counted;
	}
	if (!trylock_page(head)) {
		put_page(head);
		return false;
	}
	if (!PageTransHuge(head)) {
		/* Split by someone else meanwhile: its pages are 4K now. */
		ok = false;
		goto out;
	}
	if (PageSwapCache(head)) {
		zp_count_skip(sc, ZP_SKIP_SWAPCACHE, HPAGE_PMD_NR);
		goto out;
	}
	if (zero == HPAGE_PMD_NR && (READ_ONCE(*zp_mm.transparent_hugepage_flags) &
				     BIT(TRANSPARENT_HUGEPAGE_USE_ZERO_PAGE_FLAG))) {
		ok = zp_reclaim_thp_whole(sc, vma, pmd, haddr, head, orig);
		goto out;
	}
	/* As KSM does: the page locked and referenced; -EBUSY if pinned. */
	if (zp_mm.split_huge_page_to_list(head, NULL)) {
		if (page_maybe_dma_pinned(head))
			zp_count_skip(sc, ZP_SKIP_PINNED, HPAGE_PMD_NR);
		else
			ok = false;
		goto out;
	}
	atomic64_inc(&sc->vm->stats.thp_split);
	unlock_page(head);
	put_page(head);
	/*
	 * The split proves the page was mapped somewhere, not here: this
	 * entry may have been zapped and filled again meanwhile.
	 */
	orig = READ_ONCE(*pmd);
	if (!pmd_present(orig) || pmd_trans_huge(orig) || pmd_bad(orig))
		return true;
	/* The 4K entries now there, 64 at a time; they count as read there. */
	for (i = 0; i < HPAGE_PMD_NR; i += BITS_PER_LONG) {
		unsigned long base = haddr + i * PAGE_SIZE;

		if (zp_reclaim_ptes(sc, vma, pmd, base, ~0UL))
			ok = false;
	}
	return ok;
out:
	unlock_page(head);
	put_page(head);
	if (!ok)
		return false;
counted:
	/* A page to try again is counted when it is examined again. */
	sc->scanned += HPAGE_PMD_NR;
	sc->zero += zero;
	return true;
}

/**
 * zp_khugepaged_notice() - say so if khugepaged will undo our splits
 * @max_ptes_none: khugepaged's setting, NULL where the kernel hides it
 *
 * khugepaged collapses a PTE table with at most max_ptes_none empty or
 * zero entries. A 2 MB page is split here when at least thp_split_pct of
 * it is zero, so at the default of 511 every split page that still holds
 * data becomes a 2 MB page again, and its zero part is memory again.
 * That is the administrator's trade (THP coverage against memory), so
 * it is only said, once, at load.
 */
void zp_khugepaged_notice(const unsigned int *max_ptes_none)
{
	unsigned int pct = READ_ONCE(thp_split_pct), none, below;

	if (!max_ptes_none || pct > 100)
		return;
	none = READ_ONCE(*max_ptes_none);
	/* A split page has at least this many zero entries. */
	below = DIV_ROUND_UP(HPAGE_PMD_NR * pct, 100);
	if (none >= below)
		pr_notice("khugepaged's max_ptes_none is %u: it will collapse again the 2 MB pages split here (thp_split_pct %u) while they hold data; set it below %u to keep them split\n",
			  none, pct, below);
}

/**
 * zp_reclaim_window() - hand back what is zero among recorded pages
 * @sc: the scan, holding a reference on the VM and its address space, the
 *	VM's SRCU read side and the address space's mmap lock for reading
 * @base: host address of the page of bit 0
 * @bits: the recorded pages, one bit per page from @base
 *
 * A page of a 2 MB page selects the whole of it; the other pages of that
 * page recorded in the memslot's bitmap are then cleared.
 *
 * Return: the bits of pages to try again, after the per-CPU page batches
 * were drained.
 */
unsigned long zp_reclaim_window(struct zp_scan *sc, unsigned long base,
				unsigned long bits)
{
	unsigned long retry = 0;

	while (bits) {
		unsigned long addr = base + __ffs(bits) * PAGE_SIZE;
		unsigned long lim, mask, end = base + BITS_PER_LONG * PAGE_SIZE;
		struct vm_area_struct *vma = find_vma(sc->mm, addr);
		enum zp_skip why;
		pmd_t *pmd;
		pmd_t pmde;

		if (!vma || vma->vm_start > addr) {
			/* A hole in the VMM's mapping: nothing there to take. */
			lim = vma ? min(vma->vm_start, end) : end;
			mask = zp_window_mask(base, addr, lim);
			atomic64_add(hweight_long(bits & mask),
				     &sc->vm->stats.not_present);
			bits &= ~mask;
			continue;
		}
		lim = min3(vma->vm_end, (addr & PMD_MASK) + PMD_SIZE, end);
		mask = zp_window_mask(base, addr, lim);
		why = zp_vma_skip(vma);
		if (why != ZP_SKIP_NONE) {
			zp_count_skip(sc, why, hweight_long(bits & mask));
			bits &= ~mask;
			continue;
		}
		pmd = zp_find_pmd(sc->mm, addr);
		pmde = pmd ? READ_ONCE(*pmd) : __pmd(0);
		if (!pmd_present(pmde)) {
			atomic64_add(hweight_long(bits & mask),
				     &sc->vm->stats.not_present);
		} else if (pmd_trans_huge(pmde)) {
			if (!zp_reclaim_thp(sc, vma, pmd, addr & PMD_MASK))
				retry |= bits & mask;
			/* The rest of the 2 MB page in the bitmap is done too. */
			zp_slot_clear_recent(sc->slot, addr & PMD_MASK,
					     HPAGE_PMD_NR);
		} else if (!pmd_bad(pmde)) {
			retry |= zp_reclaim_ptes(sc, vma, pmd, base, bits & mask);
		}
		bits &= ~mask;
	}
	return retry;
}
