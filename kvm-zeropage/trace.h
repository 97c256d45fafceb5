/* SPDX-License-Identifier: GPL-2.0 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM kvm_zeropage

#if !defined(KVM_ZEROPAGE_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define KVM_ZEROPAGE_TRACE_H

#include <linux/tracepoint.h>

/* VMs are named by their VMM's pid, as in KVM's statistics. */
TRACE_EVENT(kvm_zeropage_scan_start,
	TP_PROTO(pid_t vm, long recorded),
	TP_ARGS(vm, recorded),
	TP_STRUCT__entry(
		__field(pid_t, vm)
		__field(long, recorded)
	),
	TP_fast_assign(
		__entry->vm = vm;
		__entry->recorded = recorded;
	),
	TP_printk("vm %d scan after %ld new pages", __entry->vm,
		  __entry->recorded)
);

TRACE_EVENT(kvm_zeropage_scan_end,
	TP_PROTO(pid_t vm, unsigned long scanned, unsigned long zero,
		 unsigned long reclaimed, u64 ns),
	TP_ARGS(vm, scanned, zero, reclaimed, ns),
	TP_STRUCT__entry(
		__field(pid_t, vm)
		__field(unsigned long, scanned)
		__field(unsigned long, zero)
		__field(unsigned long, reclaimed)
		__field(u64, ns)
	),
	TP_fast_assign(
		__entry->vm = vm;
		__entry->scanned = scanned;
		__entry->zero = zero;
		__entry->reclaimed = reclaimed;
		__entry->ns = ns;
	),
	TP_printk("vm %d scanned %lu pages, %lu zero, %lu reclaimed, in %llu us",
		  __entry->vm, __entry->scanned, __entry->zero,
		  __entry->reclaimed, __entry->ns / 1000)
);

/* One page, or one 2 MB page (512), handed back and on the zero page. */
TRACE_EVENT(kvm_zeropage_reclaim,
	TP_PROTO(pid_t vm, unsigned long hva, unsigned int pages),
	TP_ARGS(vm, hva, pages),
	TP_STRUCT__entry(
		__field(pid_t, vm)
		__field(unsigned long, hva)
		__field(unsigned int, pages)
	),
	TP_fast_assign(
		__entry->vm = vm;
		__entry->hva = hva;
		__entry->pages = pages;
	),
	TP_printk("vm %d hva 0x%lx pages %u", __entry->vm, __entry->hva,
		  __entry->pages)
);

#endif /* KVM_ZEROPAGE_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
