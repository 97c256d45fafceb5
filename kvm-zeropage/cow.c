// SPDX-License-Identifier: GPL-2.0
/*
 * Copy-on-write accounting (patent unit 220).
 *
 * Every new private anonymous page the kernel maps goes through
 * page_add_new_anon_rmap(), under the page table lock, just before its
 * entry is set: a write to a frame still on the shared zero page, a first
 * write to an untouched frame, a 2 MB transparent huge page, whoever
 * wrote (vCPU through KVM's fault path, a VMM thread, vhost). An ftrace
 * callback there records the page in its memslot's bitmap and adds it to
 * the VM's counter. Processes that are not a VMM pay one test: every VMM
 * has KVM's MMU notifier.
 */
#include <linux/ftrace.h>
#include <linux/huge_mm.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/sched.h>

#include "../common/compat.h"
#include "zp.h"

/**
 * zp_cow_hook() - ftrace callback on page_add_new_anon_rmap()
 * @ip: the traced function
 * @parent_ip: its caller
 * @op: the ftrace_ops
 * @fregs: registers: page, vma and address are the arguments
 *
 * Called straight from the ftrace trampoline, without ftrace's recursion
 * guard (KVMEXT_FTRACE_UNGUARDED): nothing here maps a new anonymous
 * page, so it cannot call itself. It calls no other function either on
 * the way of a 4K page, the fault path's common case, except to queue a
 * scan or arm the flush timer: the helpers it needs are inline.
 *
 * Context: page table lock held, so preemption is off (a stock kernel is
 * not PREEMPT_RT); must not sleep, allocate or print.
 */
void zp_cow_hook(unsigned long ip, unsigned long parent_ip,
		 struct ftrace_ops *op, struct ftrace_regs *fregs)
{
	struct page *page = (struct page *)kvmext_ftrace_arg(fregs, 0);
	struct vm_area_struct *vma = (void *)kvmext_ftrace_arg(fregs, 1);
	unsigned long address = kvmext_ftrace_arg(fregs, 2);
	struct mm_struct *mm = vma->vm_mm;
	unsigned long nr, end, first, n, saved;
	struct zp_slots *slots;
	struct zp_slot *slot;
	struct zp_vm *vm;

	if (!mm_has_notifiers(mm))
		return;
	nr = thp_nr_pages(page);
	end = address + nr * PAGE_SIZE;
	/*
	 * The sched flavour: inline, where rcu_read_lock() is a call under
	 * PREEMPT_RCU. Since the RCU flavours were merged (4.20), the
	 * synchronize_rcu() and call_rcu() that retire VMs and slot arrays
	 * wait for preemption-disabled readers too.
	 */
	rcu_read_lock_sched();
	hash_for_each_possible_rcu(zp_vms, vm, hnode, (unsigned long)mm) {
		if (vm->mm != mm)
			continue;
		slots = rcu_dereference_sched(vm->slots);
		slot = slots ? zp_slot_find(slots, address, end) : NULL;
		if (!slot)
			continue;
		/* A huge page may straddle the slot's ends: count what is in. */
		first = (max(address, slot->hva) - slot->hva) >> PAGE_SHIFT;
		n = (min(end, slot->hva + slot->npages * PAGE_SIZE) - slot->hva) >>
			PAGE_SHIFT;
		n -= first;
		/* What was handed back there is memory again. */
		saved = zp_bits_clear_count(slot->reclaimed, first, n);
		if (saved)
			atomic64_sub(saved, &vm->stats.saved);
		if (nr > 1 && !current->mm) {
			/*
			 * khugepaged (no mm of its own) collapsed pages already
			 * there: no guest write, and splitting this page would
			 * only have it collapsed again.
			 */
			set_bit(zp_slot_pmd_index(slot, address), slot->no_split);
			atomic64_inc(&vm->stats.thp_recollapsed);
			break;
		}
		zp_bits_set_atomic(slot->recent, first, n);
		atomic64_add(n, &vm->stats.cowed);
		if (nr > 1)
			atomic64_inc(&vm->stats.cowed_thp);
		zp_recorded(vm, n);
		break;
	}
	rcu_read_unlock_sched();
}
