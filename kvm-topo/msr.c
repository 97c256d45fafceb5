// SPDX-License-Identifier: GPL-2.0
/*
 * The guest-facing MSRs and hypercall of include/uapi/kvmext/pv.h.
 *
 * Stock KVM answers an MSR it does not know from the default case of
 * kvm_get_msr_common()/kvm_set_msr_common(), which both vendor modules
 * fall back to: it asks kvm_pmu_is_valid_msr() whether the PMU knows the
 * index, calls kvm_pmu_get_msr()/kvm_pmu_set_msr() if so, and raises #GP
 * otherwise. Nothing else calls kvm_pmu_is_valid_msr() for an index
 * outside the PMU's. The module redirects those three functions, and only
 * for the MSRs it serves: the index is compared in the ftrace callback,
 * so for every other MSR the originals run untouched. Hooking there
 * rather than on the *_msr_common() functions keeps the module off the
 * path of the MSRs guests use most (x2APIC, TSC deadline), which never
 * reach the default case.
 */
#include <asm/kvm_para.h>
#include <kvmext/pv.h>

#include "topo.h"
#include "trace.h"

/* Not exported by 6.1's kvm.ko; looked up through the hook table. */
struct kvm_x86_ops *topo_kvm_x86_ops;

static bool topo_index_is_ours(u32 index)
{
	return index >= MSR_KVMEXT_PROBE && index <= MSR_KVMEXT_HINT;
}

/**
 * topo_msr_index_is_ours() - whether a kvm_pmu_is_valid_msr() call is ours
 * @regs: the registers at the function's entry; the index is the second
 *	argument
 *
 * Return: true for an MSR this module serves.
 */
bool topo_msr_index_is_ours(struct pt_regs *regs)
{
	return topo_index_is_ours((u32)regs_get_kernel_argument(regs, 1));
}

/**
 * topo_pmu_is_valid_msr() - replaces kvm_pmu_is_valid_msr() for our MSRs
 * @vcpu: the vCPU
 * @msr: the index, one of ours
 *
 * Return: true, so that KVM calls kvm_pmu_get_msr()/kvm_pmu_set_msr(),
 * which are redirected to the handlers below.
 */
bool topo_pmu_is_valid_msr(struct kvm_vcpu *vcpu, u32 msr)
{
	return true;
}

/**
 * topo_msr_is_ours() - whether a kvm_pmu_{get,set}_msr() call is ours
 * @regs: the registers at the function's entry; struct msr_data is the
 *	second argument
 *
 * Return: true for an MSR this module serves.
 */
bool topo_msr_is_ours(struct pt_regs *regs)
{
	const struct msr_data *msr =
		(const struct msr_data *)regs_get_kernel_argument(regs, 1);

	return topo_index_is_ours(msr->index);
}

/**
 * topo_get_msr() - replaces kvm_pmu_get_msr() for this module's MSRs
 * @vcpu: the vCPU
 * @msr: index in, data out
 *
 * Must not sleep (see KVMEXT_REDIRECT).
 *
 * Return: 0, as for any MSR KVM handles.
 */
int topo_get_msr(struct kvm_vcpu *vcpu, struct msr_data *msr)
{
	struct topo_vcpu *tv;

	if (!READ_ONCE(topo_live))
		return 1;	/* as KVM's PMU answers an MSR it does not know */
	switch (msr->index) {
	case MSR_KVMEXT_PROBE:
		msr->data = KVMEXT_PROBE_VALUE(KVMEXT_TOPO_FEATURES);
		atomic64_inc(&topo_stats.probe_reads);
		return 0;
	default:
		rcu_read_lock();
		tv = topo_vcpu_find(vcpu);
		if (!tv)
			msr->data = 0;
		else if (msr->index == MSR_KVMEXT_TOPO_PAGE)
			msr->data = READ_ONCE(tv->page_msr);
		else if (msr->index == MSR_KVMEXT_TOPO_NOTIFY)
			msr->data = READ_ONCE(tv->notify_msr);
		else
			msr->data = READ_ONCE(tv->hint_msr);
		rcu_read_unlock();
		return 0;
	}
}

/* Counted per VM even before any registration, hence the attach. */
static int topo_reject(struct kvm_vcpu *vcpu, struct topo_vm *vm,
		       enum topo_reject why)
{
	if (!vm)
		vm = topo_vm_attach(vcpu->kvm);
	if (vm)
		atomic64_inc(&vm->stats.rejected[why]);
	else
		atomic64_inc(&topo_stats.attach_failed);
	return 1;
}

/*
 * The page must be whole, writable guest RAM: a memslot, not MMIO, not a
 * read-only slot. A page-aligned address cannot cross into another slot.
 */
static bool topo_gpa_ok(struct kvm_vcpu *vcpu, u64 gpa)
{
	struct kvm_memory_slot *slot;

	if (gpa >> vcpu->arch.maxphyaddr)
		return false;
	slot = gfn_to_memslot(vcpu->kvm, gpa_to_gfn(gpa));
	/* KVM's private slots (APIC access page, TSS, identity map) are not RAM. */
	return slot && slot->id < KVM_USER_MEM_SLOTS &&
	       !(slot->flags & KVM_MEM_READONLY) &&
	       !kvm_is_error_hva(gfn_to_hva_memslot(slot, gpa_to_gfn(gpa)));
}

/*
 * This vCPU's state and its VM's, either NULL. The MSR handlers run in the
 * vCPU's ioctl with vcpu->mutex held, and the VM outlives its vCPUs'
 * ioctls, so neither can go away under them.
 */
static struct topo_vcpu *topo_lookup(struct kvm_vcpu *vcpu, struct topo_vm **vm)
{
	struct topo_vcpu *tv;

	rcu_read_lock();
	*vm = topo_vm_find(vcpu->kvm);
	tv = *vm ? xa_load(&(*vm)->vcpus, vcpu->vcpu_idx) : NULL;
	rcu_read_unlock();
	return tv;
}

/* @tv, or state made for the vCPU (and its VM); NULL, counted, if no memory. */
static struct topo_vcpu *topo_attach(struct kvm_vcpu *vcpu, struct topo_vm **vm,
				     struct topo_vcpu *tv)
{
	if (tv)
		return tv;
	if (!*vm)
		*vm = topo_vm_attach(vcpu->kvm);
	tv = *vm ? topo_vcpu_attach(*vm, vcpu) : NULL;
	if (!tv)
		atomic64_inc(&topo_stats.attach_failed);
	return tv;
}

static int topo_set_page(struct kvm_vcpu *vcpu, u64 data)
{
	struct topo_vcpu *tv;
	struct topo_vm *vm;

	tv = topo_lookup(vcpu, &vm);

	if (!data) {
		if (tv && READ_ONCE(tv->page_msr)) {
			WRITE_ONCE(tv->page_msr, 0);
			atomic64_inc(&vm->stats.unregistrations);
		}
		return 0;
	}
	if (!(data & KVMEXT_TOPO_PAGE_ENABLE) ||
	    (data & KVMEXT_TOPO_PAGE_RESERVED))
		return topo_reject(vcpu, vm, TOPO_REJECT_RESERVED);
	if (!topo_gpa_ok(vcpu, data & PAGE_MASK))
		return topo_reject(vcpu, vm, TOPO_REJECT_GPA);
	if (vcpu->vcpu_id >= KVMEXT_TOPO_MAX_VCPU_IDS)
		return topo_reject(vcpu, vm, TOPO_REJECT_VCPU_ID);

	tv = topo_attach(vcpu, &vm, tv);
	if (!tv)
		return 1;
	WRITE_ONCE(tv->page_msr, data);
	/* Even at the same address: the guest may have reused the page. */
	tv->written_gpa = 0;
	atomic64_inc(&vm->stats.registrations);
	/* The page tells where the vCPU's memory is: place the thread. */
	if (topo_vnuma_policy())
		set_bit(TOPO_VCPU_HINT, &tv->flags);
	/* Written before the guest runs again: see disclose.c. */
	topo_mark_stale(tv);
	return 0;
}

static int topo_set_notify(struct kvm_vcpu *vcpu, u64 data)
{
	struct topo_vcpu *tv;
	struct topo_vm *vm;

	tv = topo_lookup(vcpu, &vm);

	if (data & ~(KVMEXT_TOPO_NOTIFY_VECTOR | KVMEXT_TOPO_NOTIFY_ENABLE))
		return topo_reject(vcpu, vm, TOPO_REJECT_RESERVED);
	if ((data & KVMEXT_TOPO_NOTIFY_ENABLE) &&
	    ((data & KVMEXT_TOPO_NOTIFY_VECTOR) < 32 || !vcpu->arch.apic))
		return topo_reject(vcpu, vm, TOPO_REJECT_VECTOR);
	if (!data && !tv)
		return 0;
	tv = topo_attach(vcpu, &vm, tv);
	if (!tv)
		return 1;
	WRITE_ONCE(tv->notify_msr, data);
	return 0;
}

/* Other modules probe kvm_topo_hint_write with this prototype. */
static void __maybe_unused topo_hint_event_check(kvmext_hint_probe_t probe)
{
	register_trace_kvm_topo_hint_write(probe, NULL);
}

static int topo_set_hint(struct kvm_vcpu *vcpu, u64 data,
			 enum kvmext_hint_via via)
{
	struct topo_vcpu *tv;
	struct topo_vm *vm;

	tv = topo_lookup(vcpu, &vm);

	if (!topo_hint_valid(data))
		return topo_reject(vcpu, vm, TOPO_REJECT_RESERVED);
	tv = topo_attach(vcpu, &vm, tv);
	if (!tv)
		return 1;
	WRITE_ONCE(tv->hint_msr, data);
	atomic64_inc(&vm->stats.hints);
	trace_kvm_topo_hint_write(vcpu, data, via);
	set_bit(TOPO_VCPU_HINT, &tv->flags);
	/* Applied from the update work, before or soon after the next entry. */
	kvm_make_request(KVM_REQ_STEAL_UPDATE, vcpu);
	return 0;
}

/**
 * topo_set_msr() - replaces kvm_pmu_set_msr() for this module's MSRs
 * @vcpu: the vCPU
 * @msr: index and data
 *
 * The guest and the VMM (KVM_SET_MSRS) are held to the same rules. Every
 * refusal changes nothing and is counted by reason.
 *
 * Return: 0 when accepted, 1 (#GP for a guest write) when refused.
 */
int topo_set_msr(struct kvm_vcpu *vcpu, struct msr_data *msr)
{
	if (!READ_ONCE(topo_live))
		return 1;
	switch (msr->index) {
	case MSR_KVMEXT_TOPO_PAGE:
		return topo_set_page(vcpu, msr->data);
	case MSR_KVMEXT_TOPO_NOTIFY:
		return topo_set_notify(vcpu, msr->data);
	case MSR_KVMEXT_HINT:
		return topo_set_hint(vcpu, msr->data,
				     msr->host_initiated ? KVMEXT_HINT_VIA_VMM :
							   KVMEXT_HINT_VIA_MSR);
	default:
		atomic64_inc(&topo_stats.probe_writes_rejected);
		return 1;
	}
}

/**
 * topo_hc_is_ours() - whether a kvm_emulate_hypercall() call is ours
 * @regs: the registers at the function's entry; the vCPU is the first
 *	argument
 *
 * Only KVMEXT_HC_HINT, and never where KVM hands hypercalls to its Xen or
 * Hyper-V emulation (those take the number from elsewhere) or cannot see
 * the guest's registers. Both vendor modules keep RAX and RBX in
 * vcpu->arch.regs on a hypercall exit.
 *
 * Return: true to serve the call here.
 */
bool topo_hc_is_ours(struct pt_regs *regs)
{
	struct kvm_vcpu *vcpu = (struct kvm_vcpu *)regs_get_kernel_argument(regs, 0);

	if (vcpu->arch.hyperv_enabled || vcpu->arch.guest_state_protected ||
	    (vcpu->kvm->arch.xen_hvm_config.flags & KVM_XEN_HVM_CONFIG_INTERCEPT_HCALL))
		return false;
	return (u32)vcpu->arch.regs[VCPU_REGS_RAX] == KVMEXT_HC_HINT;
}

/**
 * topo_emulate_hypercall() - replaces kvm_emulate_hypercall() for
 *	KVMEXT_HC_HINT
 * @vcpu: the vCPU
 *
 * Same checks, result and accounting as KVM's own hypercalls. A VMM
 * that filters writes of MSR_KVMEXT_HINT gets the hypercall refused too.
 * kvm_skip_emulated_instruction() can sleep (SVM without NRIPS decodes
 * the instruction), so the call is counted for module unload.
 *
 * Return: as kvm_skip_emulated_instruction().
 */
int topo_emulate_hypercall(struct kvm_vcpu *vcpu)
{
	unsigned long nr = vcpu->arch.regs[VCPU_REGS_RAX], ret;
	bool op_64_bit;
	int db, l, r;

	topo_call_enter();
	topo_kvm_x86_ops->get_cs_db_l_bits(vcpu, &db, &l);
	op_64_bit = (vcpu->arch.efer & EFER_LMA) && l;
	if (!READ_ONCE(topo_live) || (op_64_bit && nr != KVMEXT_HC_HINT))
		ret = -KVM_ENOSYS;	/* as stock KVM answers */
	else if (topo_kvm_x86_ops->get_cpl(vcpu))
		ret = -KVM_EPERM;
	else if (!op_64_bit)
		ret = -KVM_ENOSYS;	/* the hint needs 41 bits */
	else if (!kvm_msr_allowed(vcpu, MSR_KVMEXT_HINT, KVM_MSR_FILTER_WRITE))
		ret = -KVM_EPERM;
	else
		ret = topo_set_hint(vcpu, vcpu->arch.regs[VCPU_REGS_RBX],
				    KVMEXT_HINT_VIA_HYPERCALL) ?
			-KVM_EINVAL : 0;
	if (!op_64_bit)
		ret = (u32)ret;
	vcpu->arch.regs[VCPU_REGS_RAX] = ret;
	/* What kvm_rax_write() does; kvm_cache_regs.h is not shipped. */
	__set_bit(VCPU_REGS_RAX, (unsigned long *)&vcpu->arch.regs_dirty);
	++vcpu->stat.hypercalls;
	r = kvm_skip_emulated_instruction(vcpu);
	topo_call_exit();
	return r;
}
