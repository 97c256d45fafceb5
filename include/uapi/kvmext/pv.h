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
 */
#define KVMEXT_FEATURE_TOPO		(1ULL << 0)	/* topology page */
#define KVMEXT_FEATURE_HINTS		(1ULL << 1)	/* MSR_KVMEXT_HINT */

#define KVMEXT_PROBE_VALUE(features)					\
	(((__u64)KVMEXT_PROBE_MAGIC << KVMEXT_PROBE_MAGIC_SHIFT) |	\
	 ((__u64)KVMEXT_ABI_VERSION << KVMEXT_PROBE_VERSION_SHIFT) |	\
	 ((__u64)(features) & KVMEXT_PROBE_FEATURES_MASK))

#define KVMEXT_PROBE_IS_VALID(v)					\
	(((v) >> KVMEXT_PROBE_MAGIC_SHIFT) == KVMEXT_PROBE_MAGIC)
#define KVMEXT_PROBE_VERSION(v)						\
	(((v) >> KVMEXT_PROBE_VERSION_SHIFT) & KVMEXT_PROBE_VERSION_MASK)
#define KVMEXT_PROBE_FEATURES(v)	((v) & KVMEXT_PROBE_FEATURES_MASK)

/*
 * Topology disclosure, per vCPU (KVMEXT_FEATURE_TOPO).
 *
 * MSR_KVMEXT_TOPO_PAGE: the guest-physical address of this vCPU's
 * struct kvmext_topo_page, 4 KiB aligned, in writable guest RAM, ORed with
 * KVMEXT_TOPO_PAGE_ENABLE. Writing 0 unregisters; any other value with the
 * enable bit clear, a set reserved bit, or an address outside writable
 * RAM raises #GP and changes nothing. vCPU reset (INIT, RESET, or the VMM
 * setting the vCPU's MP state) unregisters, like KVM's own PV MSRs.
 */
#define MSR_KVMEXT_TOPO_PAGE		0x4b565801
#define KVMEXT_TOPO_PAGE_ENABLE		(1ULL << 0)
#define KVMEXT_TOPO_PAGE_RESERVED	0xffeULL

/*
 * MSR_KVMEXT_TOPO_NOTIFY: bits 7:0 the vector (32-255), bit 8 enables an
 * interrupt on this vCPU when its disclosure changes. One interrupt per
 * change the guest has not acknowledged (struct kvmext_topo_page.ack), and
 * at most one per kvm-topo's notify_interval_ms.
 */
#define MSR_KVMEXT_TOPO_NOTIFY		0x4b565802
#define KVMEXT_TOPO_NOTIFY_VECTOR	0xffULL
#define KVMEXT_TOPO_NOTIFY_ENABLE	(1ULL << 8)

/*
 * MSR_KVMEXT_HINT (KVMEXT_FEATURE_HINTS): this vCPU's scheduling hints to
 * the host, as one value. The host applies it to the vCPU thread within
 * the limits its administrator set, at most once per hint interval; a
 * later write replaces an earlier one not yet applied. Reading returns
 * the value last written. Reserved bits or a reserved class raise #GP and
 * change nothing.
 *
 *   15:0	co-location group, 0 for none: vCPUs of one group and level
 *		are kept together at that level
 *   17:16	co-location level (KVMEXT_HINT_LEVEL_*)
 *   19:18	priority class (KVMEXT_HINT_CLASS_*)
 *   22:20	I/O priority level, 0 (highest) to 7, best-effort class
 *   23		the I/O priority level is given
 *   39:24	latency tolerance in microseconds, 0 when not stated
 *   40		boot complete: the guest finished booting
 */
#define MSR_KVMEXT_HINT			0x4b565803

/*
 * The same hint by hypercall (KVMEXT_FEATURE_HINTS), for 64-bit guests:
 * RAX = KVMEXT_HC_HINT, RBX = the hint; RAX returns 0, -KVM_EINVAL for a
 * value MSR_KVMEXT_HINT would refuse, -KVM_EPERM above CPL 0. The number
 * is the MSR's index: far above KVM's own hypercalls (1-12 in 6.1), in the
 * kvmext range. Not served in VMs with Hyper-V or Xen hypercalls enabled,
 * whose numbers KVM routes elsewhere: use the MSR there.
 */
#define KVMEXT_HC_HINT			0x4b565803

#define KVMEXT_HINT_GROUP(v)		((v) & 0xffffULL)
#define KVMEXT_HINT_LEVEL(v)		(((v) >> 16) & 3)
#define KVMEXT_HINT_CLASS(v)		(((v) >> 18) & 3)
#define KVMEXT_HINT_IO_LEVEL(v)		(((v) >> 20) & 7)
#define KVMEXT_HINT_IO_VALID		(1ULL << 23)
#define KVMEXT_HINT_LATENCY_US(v)	(((v) >> 24) & 0xffffULL)
#define KVMEXT_HINT_BOOT_COMPLETE	(1ULL << 40)
#define KVMEXT_HINT_RESERVED		(~((1ULL << 41) - 1))

#define KVMEXT_HINT_LEVEL_NONE		0
#define KVMEXT_HINT_LEVEL_CORE		1	/* same SMT core */
#define KVMEXT_HINT_LEVEL_PACKAGE	2	/* same package / LLC */
#define KVMEXT_HINT_LEVEL_NODE		3	/* same NUMA node */

#define KVMEXT_HINT_CLASS_NORMAL	0
#define KVMEXT_HINT_CLASS_LATENCY	1	/* latency-critical */
#define KVMEXT_HINT_CLASS_BACKGROUND	2
/* class 3 is reserved */

#define KVMEXT_HINT(group, level, class)				\
	((__u64)(group) | ((__u64)(level) << 16) | ((__u64)(class) << 18))
#define KVMEXT_HINT_IO(level)	(KVMEXT_HINT_IO_VALID | ((__u64)(level) << 20))
#define KVMEXT_HINT_LATENCY(us)	((__u64)(us) << 24)

#define KVMEXT_TOPO_MAGIC		0x4b565854	/* "KVXT" */

/* Masks cover vCPU ids 0..KVMEXT_TOPO_MAX_VCPU_IDS-1 (KVM's 6.1 maximum). */
#define KVMEXT_TOPO_MAX_VCPU_IDS	4096
#define KVMEXT_TOPO_MASK_WORDS		(KVMEXT_TOPO_MAX_VCPU_IDS / 64)

/* epoch value once the host module has gone: the page is no longer kept. */
#define KVMEXT_TOPO_EPOCH_GONE		0

/* Scale of struct kvmext_topo_page.capacity: a whole physical CPU. */
#define KVMEXT_TOPO_CAPACITY_SCALE	1024

/**
 * struct kvmext_topo_page - one vCPU's view of the VM's current topology
 * @magic: KVMEXT_TOPO_MAGIC once the host has written the page
 * @version: KVMEXT_ABI_VERSION
 * @size: bytes of this structure the host writes
 * @features: KVMEXT_FEATURE_* the host serves, as in MSR_KVMEXT_PROBE
 * @generation: odd while the host writes the page; a reader copies what it
 *	needs between two reads of an equal, even generation and retries
 *	otherwise
 * @epoch: non-zero while the host module keeps the page, different after
 *	each host module load; KVMEXT_TOPO_EPOCH_GONE once it has unloaded
 * @vcpu_id: this vCPU's id (its initial APIC ID under QEMU): its own bit
 *	in the masks
 * @capacity: the share of a physical CPU this vCPU got over the host's
 *	recent window, out of KVMEXT_TOPO_CAPACITY_SCALE
 * @nr_ids: bits of the masks that can be set: the highest vCPU id of the
 *	VM plus one
 * @ack: written by the guest only: the generation it has acted on; the
 *	host sends the next interrupt only once this reaches the generation
 *	it last notified
 * @reserved: zero
 * @smt: bit n set when vCPU id n runs on the same physical core
 * @llc: bit n set when vCPU id n runs in the same package (last-level
 *	cache domain)
 * @node: bit n set when vCPU id n runs in the same host NUMA node
 *
 * Bits are set only for the VM's own vCPUs that have run, and always for
 * the vCPU itself. Host CPU numbers and other VMs never appear. The host
 * writes every field except @ack; the guest writes only @ack.
 */
struct kvmext_topo_page {
	__u32 magic;
	__u16 version;
	__u16 size;
	__u32 features;
	__u32 generation;
	__u64 epoch;
	__u32 vcpu_id;
	__u32 capacity;
	__u32 nr_ids;
	__u32 ack;
	__u32 reserved[6];
	__u64 smt[KVMEXT_TOPO_MASK_WORDS];
	__u64 llc[KVMEXT_TOPO_MASK_WORDS];
	__u64 node[KVMEXT_TOPO_MASK_WORDS];
};

#endif /* _UAPI_KVMEXT_PV_H */
