/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * The kvmext paravirtual ABI between the host modules (kvm-topo,
 * kvm-zeropage) and guests (guest-pv): the one header the host modules,
 * the guest module and the tests all include. Documentation/abi.rst
 * describes it.
 */
#ifndef _UAPI_KVMEXT_PV_H
#define _UAPI_KVMEXT_PV_H

#include <linux/types.h>

/*
 * MSR indices 0x4b565800-0x4b5658ff ("KVX" in ASCII, next to KVM's "KVM").
 * Outside KVM's own 0x4b564d00-0x4b564dff, which upstream allocates from,
 * outside Hyper-V's 0x40000000-0x400000ff, and outside every range the VMX
 * MSR bitmaps and the SVM MSR permission map can pass through, so every
 * guest access exits to the host.
 */
#define KVMEXT_MSR_FIRST		0x4b565800
#define KVMEXT_MSR_LAST			0x4b5658ff

/*
 * Read-only discovery MSR. Without the host module the guest gets #GP, as
 * for any MSR KVM does not know; with kvm.ignore_msrs=1 it reads 0, so a
 * guest must check the magic, not only that the read did not fault.
 * Writes always raise #GP.
 */
#define MSR_KVMEXT_PROBE		0x4b565800

#define KVMEXT_PROBE_MAGIC		0x4b565850	/* "KVXP" */
#define KVMEXT_PROBE_MAGIC_SHIFT	32
#define KVMEXT_PROBE_VERSION_SHIFT	16
#define KVMEXT_PROBE_VERSION_MASK	0xffffULL
#define KVMEXT_PROBE_FEATURES_MASK	0xffffULL

/* The ABI version this header describes; incompatible changes bump it. */
#define KVMEXT_ABI_VERSION		1

/*
 * Feature bits, in the low 16 bits of MSR_KVMEXT_PROBE: each names an
 * interface the host serves now. A guest uses only those that are set.
 * None is defined yet: the topology registration and hint interface
 * arrive with their implementation.
 */

#define KVMEXT_PROBE_VALUE(features)					\
	(((__u64)KVMEXT_PROBE_MAGIC << KVMEXT_PROBE_MAGIC_SHIFT) |	\
	 ((__u64)KVMEXT_ABI_VERSION << KVMEXT_PROBE_VERSION_SHIFT) |	\
	 ((__u64)(features) & KVMEXT_PROBE_FEATURES_MASK))

#define KVMEXT_PROBE_IS_VALID(v)					\
	(((v) >> KVMEXT_PROBE_MAGIC_SHIFT) == KVMEXT_PROBE_MAGIC)
#define KVMEXT_PROBE_VERSION(v)						\
	(((v) >> KVMEXT_PROBE_VERSION_SHIFT) & KVMEXT_PROBE_VERSION_MASK)
#define KVMEXT_PROBE_FEATURES(v)	((v) & KVMEXT_PROBE_FEATURES_MASK)

#endif /* _UAPI_KVMEXT_PV_H */
