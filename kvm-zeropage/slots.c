// SPDX-License-Identifier: GPL-2.0
/*
 * Initial mapping and memslots (patent unit 210).
 *
 * The module keeps, per VM, its user memslots sorted by host address, each
 * with a bitmap of the pages recorded since the last scan. They are
 * re-read from KVM after every memslot change, which KVM commits through
 * kvm_arch_commit_memory_region() (create, delete, move, flags) once the
 * new memslots are live: reading KVM's state, not the event, makes the
 * order of events irrelevant.
 *
 * A memslot starts with every page recorded, so its first scan looks at
 * all of it. Guest RAM that QEMU maps privately and anonymously is lazy:
 * untouched frames are not present, reads map the shared zero page, and
 * the first scan finds nothing to do there (not_present). A VMM that
 * pre-faulted its memory gets its zero pages found by that scan; VMs that
 * exist when the module loads get the same treatment.
 */
#include <linux/bitmap.h>
#include <linux/kvm_host.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/sort.h>

#include "zp.h"

static bool zp_bitmap_in(const unsigned long *map, const struct zp_slots *in)
{
	int i;

	for (i = 0; in && i < in->nr; i++)
		if (in->s[i].recent == map)
			return true;
	return false;
}

/**
 * zp_slots_free_except() - free a slot array and its bitmaps but those
 *	another array took over
 * @slots: the array, no longer visible to any reader; may be NULL
 * @keep: the array whose bitmaps stay; may be NULL
 *
 * Return: how many pages the freed bitmaps had marked as handed back.
 */
unsigned long zp_slots_free_except(struct zp_slots *slots,
				   const struct zp_slots *keep)
{
	unsigned long lost = 0;
	int i;

	if (!slots)
		return 0;
	for (i = 0; i < slots->nr; i++)
		if (!zp_bitmap_in(slots->s[i].recent, keep)) {
			/* @reclaimed is in @recent's allocation. */
			if (slots->s[i].reclaimed)
				lost += zp_bits_weight(slots->s[i].reclaimed,
						       slots->s[i].npages);
			kvfree(slots->s[i].recent);
			kvfree(slots->s[i].no_split);
		}
	kvfree(slots);
	return lost;
}

/* The bits of @slot for [@addr, @addr + @nr pages), clipped to it. */
static bool zp_slot_bits(struct zp_slot *slot, unsigned long addr,
			 unsigned long nr, unsigned long *first,
			 unsigned long *count)
{
	unsigned long end = slot->hva + slot->npages * PAGE_SIZE;
	unsigned long from = max(addr, slot->hva);
	unsigned long to = min(addr + nr * PAGE_SIZE, end);

	if (from >= to)
		return false;
	*first = (from - slot->hva) >> PAGE_SHIFT;
	*count = (to - from) >> PAGE_SHIFT;
	return true;
}

/**
 * zp_slot_mark_reclaimed() - note pages handed back, for @saved
 * @vm: the VM
 * @slot: their memslot
 * @addr: host address of the first
 * @nr: pages
 */
void zp_slot_mark_reclaimed(struct zp_vm *vm, struct zp_slot *slot,
			    unsigned long addr, unsigned long nr)
{
	unsigned long first, count;

	if (zp_slot_bits(slot, addr, nr, &first, &count))
		atomic64_add(zp_bits_set_count(slot->reclaimed, first, count),
			     &vm->stats.saved);
}

/**
 * zp_slot_clear_recent() - forget recorded pages the scan dealt with
 * @slot: their memslot
 * @addr: host address of the first
 * @nr: pages
 */
void zp_slot_clear_recent(struct zp_slot *slot, unsigned long addr,
			  unsigned long nr)
{
	unsigned long first, count;

	if (zp_slot_bits(slot, addr, nr, &first, &count))
		zp_bits_clear_count(slot->recent, first, count);
}

static int zp_slot_cmp(const void *a, const void *b)
{
	const struct zp_slot *x = a, *y = b;

	return x->hva < y->hva ? -1 : x->hva > y->hva;
}

/* Copy KVM's user memslots of address space 0; kvm->slots_lock held. */
static struct zp_slots *zp_slots_read(struct kvm *kvm)
{
	struct kvm_memslots *ks = __kvm_memslots(kvm, 0);
	struct kvm_memory_slot *ms;
	struct zp_slots *slots;
	int bkt, n = 0;

	kvm_for_each_memslot(ms, bkt, ks)
		n += ms->id < KVM_USER_MEM_SLOTS;
	slots = kvzalloc(struct_size(slots, s, n), GFP_KERNEL_ACCOUNT);
	if (!slots)
		return NULL;
	kvm_for_each_memslot(ms, bkt, ks) {
		struct zp_slot *s;

		/* KVM's internal slots (APIC page, TSS) are MAP_SHARED. */
		if (ms->id >= KVM_USER_MEM_SLOTS)
			continue;
		s = &slots->s[slots->nr++];
		s->hva = ms->userspace_addr;
		s->npages = ms->npages;
		s->id = ms->id;
	}
	sort(slots->s, slots->nr, sizeof(slots->s[0]), zp_slot_cmp, NULL);
	return slots;
}

/* The pages @a and @b share, as bit ranges of each; false if none. */
static bool zp_slot_overlap(const struct zp_slot *a, const struct zp_slot *b,
			    unsigned long *in_a, unsigned long *in_b,
			    unsigned long *nr)
{
	unsigned long from = max(a->hva, b->hva);
	unsigned long to = min(a->hva + a->npages * PAGE_SIZE,
			       b->hva + b->npages * PAGE_SIZE);

	if (from >= to)
		return false;
	*in_a = (from - a->hva) >> PAGE_SHIFT;
	*in_b = (from - b->hva) >> PAGE_SHIFT;
	*nr = (to - from) >> PAGE_SHIFT;
	return true;
}

/*
 * A slot new in this array over host memory that a slot of @old, now
 * gone, covered (a VMM that deletes a memslot and adds it again resized,
 * split or joined) inherits the old handed-back bits there: those frames
 * are still on the zero page. Before @s is visible (!@fix) the bits are
 * copied; after the grace period that retired @old (@fix), a copied bit
 * whose page the copy-on-write hook meanwhile found written through @old
 * (and took off @saved) is cleared in @s too. Returns the bits changed.
 */
static unsigned long zp_slot_carry(struct zp_slot *s,
				   const struct zp_slots *old,
				   const struct zp_slots *new, bool fix)
{
	unsigned long in_s, in_o, nr, i, changed = 0;
	int j;

	for (j = 0; old && j < old->nr; j++) {
		const struct zp_slot *o = &old->s[j];

		if (zp_bitmap_in(o->recent, new) ||
		    !zp_slot_overlap(s, o, &in_s, &in_o, &nr))
			continue;
		for (i = 0; i < nr; i++) {
			bool was = zp_bits_test(o->reclaimed, in_o + i);

			if (!fix) {
				if (!was)
					continue;
				zp_bits_set_atomic(s->reclaimed, in_s + i, 1);
			} else if (was ||
				   !zp_bits_clear_count(s->reclaimed, in_s + i, 1)) {
				continue;
			}
			changed++;
		}
	}
	return changed;
}

/*
 * Give each slot of @new its bitmaps: those of the same slot in @old,
 * shared (@old stays visible to the hook until @new replaces it, so it
 * must keep its pointers), or new ones with every page recorded and the
 * handed-back bits carried over. A moved slot (another guest address)
 * keeps its bitmaps: they describe host memory, which did not change.
 * Returns the number of new slots, or -ENOMEM; @carried: the bits carried.
 */
static int zp_slots_adopt(struct zp_slots *new, const struct zp_slots *old,
			  unsigned long *carried)
{
	int i, j, fresh = 0;

	*carried = 0;
	for (i = 0; i < new->nr; i++) {
		struct zp_slot *s = &new->s[i];

		for (j = 0; old && j < old->nr; j++) {
			const struct zp_slot *o = &old->s[j];

			if (o->id == s->id && o->hva == s->hva &&
			    o->npages == s->npages) {
				s->recent = o->recent;
				s->reclaimed = o->reclaimed;
				s->no_split = o->no_split;
				break;
			}
		}
		if (s->recent)
			continue;
		s->recent = kvcalloc(zp_bits_longs(s->npages), sizeof(long),
				     GFP_KERNEL_ACCOUNT);
		if (s->recent)
			s->reclaimed = s->recent + 1;
		s->no_split = kvcalloc(BITS_TO_LONGS(zp_slot_pmds(s)), sizeof(long),
				       GFP_KERNEL_ACCOUNT);
		if (!s->recent || !s->no_split)
			return -ENOMEM;
		/* Not past the slot's end: other memory of the VMM is there. */
		zp_bits_set_atomic(s->recent, 0, s->npages);
		fresh++;
	}
	for (i = 0; fresh && i < new->nr; i++)
		if (!zp_bitmap_in(new->s[i].recent, old))
			*carried += zp_slot_carry(&new->s[i], old, new, false);
	return fresh;
}

/**
 * zp_slots_work() - re-read a VM's memslots after a change
 * @work: the VM's slots_work
 *
 * The VM's slots_lock is held across the grace period that retires the
 * old array, so that no scan hands pages back meanwhile: the carried
 * handed-back bits can then be checked against the old ones, and @saved
 * loses exactly the pages of the memory no slot covers any more.
 */
void zp_slots_work(struct work_struct *work)
{
	struct zp_vm *vm = container_of(work, struct zp_vm, slots_work);
	unsigned long carried, lost;
	struct zp_slots *new, *old;
	struct kvm *kvm = vm->kvm;
	int fresh, i;

	if (!zp_vm_get_kvm(vm))
		return;
	mutex_lock(&kvm->slots_lock);
	new = zp_slots_read(kvm);
	mutex_unlock(&kvm->slots_lock);
	if (!new)
		goto nomem;

	mutex_lock(&vm->slots_lock);
	old = rcu_dereference_protected(vm->slots,
					lockdep_is_held(&vm->slots_lock));
	fresh = zp_slots_adopt(new, old, &carried);
	if (fresh < 0) {
		/* The old array stays, with every bitmap it had. */
		mutex_unlock(&vm->slots_lock);
		zp_slots_free_except(new, old);
		goto nomem;
	}
	rcu_assign_pointer(vm->slots, new);
	/* The copy-on-write hook may still be writing into old bitmaps. */
	synchronize_rcu();
	for (i = 0; fresh && i < new->nr; i++)
		if (!zp_bitmap_in(new->s[i].recent, old))
			carried -= zp_slot_carry(&new->s[i], old, new, true);
	lost = zp_slots_free_except(old, new);
	mutex_unlock(&vm->slots_lock);
	/* Slots over the same host memory (aliases) may both inherit it. */
	atomic64_add((long)carried - (long)lost, &vm->stats.saved);
	if (fresh)
		zp_scan_request(vm);
	kvm_put_kvm(kvm);
	return;
nomem:
	pr_warn_ratelimited("no memory to follow the memslots of VM %d-%u\n",
			    vm->pid, vm->seq);
	kvm_put_kvm(kvm);
}

/**
 * zp_commit_hook() - kprobe on kvm_arch_commit_memory_region()
 * @p: the kprobe
 * @regs: registers at entry; the first argument is the VM
 *
 * Called with kvm->slots_lock held, after the new memslots are live.
 * Attaches the VM on its first memslot and queues a re-read.
 *
 * Return: 0, to let the function run.
 */
int zp_commit_hook(struct kprobe *p, struct pt_regs *regs)
{
	struct kvm *kvm = (struct kvm *)regs_get_kernel_argument(regs, 0);
	struct zp_vm *vm;

	/*
	 * kvm_arch_destroy_vm() deletes KVM's internal memslots after the
	 * destroy hook let the VM go: never attach a VM being destroyed.
	 */
	if (!refcount_read(&kvm->users_count))
		return 0;
	vm = zp_vm_attach(kvm, GFP_NOWAIT | __GFP_NOWARN);
	if (vm && !test_bit(ZP_DYING, &vm->flags))
		queue_work(zp_wq, &vm->slots_work);
	return 0;
}
