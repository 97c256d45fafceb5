/* SPDX-License-Identifier: GPL-2.0 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM kvm_topo

#if !defined(KVM_TOPO_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define KVM_TOPO_TRACE_H

#include <linux/kvm_host.h>
#include <linux/tracepoint.h>

#include "../common/hint_event.h"

/*
 * Host-side events; they name host CPUs, which the guest never sees. VMs
 * are named by their VMM's pid, as in KVM's statistics.
 */
TRACE_EVENT(kvm_topo_update,
	TP_PROTO(pid_t vm, u32 vcpu_id, int cpu, u32 generation, bool masks),
	TP_ARGS(vm, vcpu_id, cpu, generation, masks),
	TP_STRUCT__entry(
		__field(pid_t, vm)
		__field(u32, vcpu_id)
		__field(int, cpu)
		__field(u32, generation)
		__field(bool, masks)
	),
	TP_fast_assign(
		__entry->vm = vm;
		__entry->vcpu_id = vcpu_id;
		__entry->cpu = cpu;
		__entry->generation = generation;
		__entry->masks = masks;
	),
	TP_printk("vm %d vcpu %u on cpu %d generation %u%s",
		  __entry->vm, __entry->vcpu_id, __entry->cpu,
		  __entry->generation, __entry->masks ? " masks" : "")
);

TRACE_EVENT(kvm_topo_notify,
	TP_PROTO(pid_t vm, u32 vcpu_id, u8 vector, u32 generation, bool sent),
	TP_ARGS(vm, vcpu_id, vector, generation, sent),
	TP_STRUCT__entry(
		__field(pid_t, vm)
		__field(u32, vcpu_id)
		__field(u8, vector)
		__field(u32, generation)
		__field(bool, sent)
	),
	TP_fast_assign(
		__entry->vm = vm;
		__entry->vcpu_id = vcpu_id;
		__entry->vector = vector;
		__entry->generation = generation;
		__entry->sent = sent;
	),
	TP_printk("vm %d vcpu %u vector 0x%x generation %u %s",
		  __entry->vm, __entry->vcpu_id, __entry->vector,
		  __entry->generation, __entry->sent ? "sent" : "held")
);

TRACE_EVENT(kvm_topo_hint,
	TP_PROTO(pid_t vm, u32 vcpu_id, u64 hint, int nice, unsigned int cpus,
		 bool clamped),
	TP_ARGS(vm, vcpu_id, hint, nice, cpus, clamped),
	TP_STRUCT__entry(
		__field(pid_t, vm)
		__field(u32, vcpu_id)
		__field(u64, hint)
		__field(int, nice)
		__field(unsigned int, cpus)
		__field(bool, clamped)
	),
	TP_fast_assign(
		__entry->vm = vm;
		__entry->vcpu_id = vcpu_id;
		__entry->hint = hint;
		__entry->nice = nice;
		__entry->cpus = cpus;
		__entry->clamped = clamped;
	),
	TP_printk("vm %d vcpu %u hint 0x%llx -> nice %d on %u cpus%s",
		  __entry->vm, __entry->vcpu_id, __entry->hint, __entry->nice,
		  __entry->cpus, __entry->clamped ? " (clamped)" : "")
);

/* The format file then names the values, for trace-cmd and perf. */
TRACE_DEFINE_ENUM(KVMEXT_HINT_VIA_MSR);
TRACE_DEFINE_ENUM(KVMEXT_HINT_VIA_HYPERCALL);
TRACE_DEFINE_ENUM(KVMEXT_HINT_VIA_VMM);

/*
 * Every hint accepted, before it is applied; common/hint_event.h is the
 * contract with other host modules, which probe it by name.
 */
TRACE_EVENT(kvm_topo_hint_write,
	TP_PROTO(struct kvm_vcpu *vcpu, u64 hint, u8 via),
	TP_ARGS(vcpu, hint, via),
	TP_STRUCT__entry(
		__field(pid_t, vm)
		__field(u32, vcpu_id)
		__field(u64, hint)
		__field(u8, via)
	),
	TP_fast_assign(
		__entry->vm = vcpu->kvm->userspace_pid;
		__entry->vcpu_id = vcpu->vcpu_id;
		__entry->hint = hint;
		__entry->via = via;
	),
	TP_printk("vm %d vcpu %u hint 0x%llx by %s",
		  __entry->vm, __entry->vcpu_id, __entry->hint,
		  __print_symbolic(__entry->via,
				   { KVMEXT_HINT_VIA_MSR, "msr" },
				   { KVMEXT_HINT_VIA_HYPERCALL, "hypercall" },
				   { KVMEXT_HINT_VIA_VMM, "vmm" }))
);

#endif /* KVM_TOPO_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
