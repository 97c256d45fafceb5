// SPDX-License-Identifier: GPL-2.0
/*
 * Threshold control (patent unit 230). Every page recorded by the
 * copy-on-write hook adds to the VM's counter; the addition that takes it
 * to the VM's threshold queues a scan, and the scan takes the counter
 * back to zero when it starts, so pages recorded during a scan count
 * towards the next one. Pages that stay below the threshold would wait
 * for the guest's next writes, however long: flush_ms after the first of
 * them was recorded, they are scanned anyway (0 keeps the patent's model,
 * where only the threshold starts a scan). The threshold is the module parameter
 * threshold_mb (default 32 MiB, as in the patent) or the VM's own
 * (/sys/kernel/kvm_zeropage/vms/<pid>-<n>/threshold_mb).
 *
 * Boot phase (patent embodiment 4): a VM in "boot" mode scans only until
 * its boot completes, which the administrator signals through sysfs or
 * the guest through bit 40 of the hint, by MSR_KVMEXT_HINT (guest-pv does)
 * or by the KVMEXT_HC_HINT hypercall. kvm-topo serves both; its
 * kvm_topo_hint_write tracepoint tells this module of every hint it
 * accepted, while both are loaded. "always" (the default) scans for the
 * VM's whole life.
 */
#include <linux/kvm_host.h>
#include <linux/moduleparam.h>
#include <linux/sysfs.h>

#include <kvmext/pv.h>
#include "../common/hint_event.h"
#include "zp.h"

/* Read by the copy-on-write hook through zp_threshold_mb() in zp.h. */
long zp_default_threshold_mb = 32;

static int zp_set_threshold(const char *val, const struct kernel_param *kp)
{
	long mb;

	/* "default" names this very parameter: not a value for it. */
	if (zp_parse_threshold_mb(val, &mb) || mb < 0)
		return -EINVAL;
	WRITE_ONCE(zp_default_threshold_mb, mb);
	return 0;
}

static int zp_get_threshold(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%ld\n", READ_ONCE(zp_default_threshold_mb));
}

static const struct kernel_param_ops zp_threshold_ops = {
	.set = zp_set_threshold,
	.get = zp_get_threshold,
};
module_param_cb(threshold_mb, &zp_threshold_ops, NULL, 0644);
MODULE_PARM_DESC(threshold_mb,
		 "MiB of new guest pages that start a scan, per VM (1-1048576, default 32)");

static unsigned int scan_rate = 262144;

static int zp_set_rate(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 1, 1U << 30);
}

static const struct kernel_param_ops zp_rate_ops = {
	.set = zp_set_rate,
	.get = param_get_uint,
};
module_param_cb(scan_rate, &zp_rate_ops, &scan_rate, 0644);
MODULE_PARM_DESC(scan_rate,
		 "Pages per second one VM's scan may read (1-2^30, default 262144 = 1 GiB/s)");

/* Read by the copy-on-write hook through zp_recorded() in zp.h. */
unsigned int zp_flush_ms = 500;

static int zp_set_flush(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 0, 60000);
}

static const struct kernel_param_ops zp_flush_ops = {
	.set = zp_set_flush,
	.get = param_get_uint,
};
module_param_cb(flush_ms, &zp_flush_ops, &zp_flush_ms, 0644);
MODULE_PARM_DESC(flush_ms,
		 "ms after which pages below the threshold are scanned anyway (0-60000, 0 = never, default 500)");

static bool boot_mode;

static int zp_set_mode(const char *val, const struct kernel_param *kp)
{
	bool boot;

	if (zp_parse_mode(val, &boot))
		return -EINVAL;
	WRITE_ONCE(boot_mode, boot);
	return 0;
}

static int zp_get_mode(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%s\n", READ_ONCE(boot_mode) ? "boot" : "always");
}

static const struct kernel_param_ops zp_mode_ops = {
	.set = zp_set_mode,
	.get = zp_get_mode,
};
module_param_cb(mode, &zp_mode_ops, NULL, 0644);
MODULE_PARM_DESC(mode,
		 "Scanning of new VMs: always (default), or boot: until their boot completes");

/**
 * zp_boot_mode_default() - the mode a new VM starts in
 *
 * Return: true for boot-phase mode.
 */
bool zp_boot_mode_default(void)
{
	return READ_ONCE(boot_mode);
}

/**
 * zp_scans_stopped() - whether a VM's boot phase is over and it scans no more
 * @vm: the VM
 *
 * Return: true if no scan may start or go on.
 */
bool zp_scans_stopped(struct zp_vm *vm)
{
	return test_bit(ZP_BOOT_MODE, &vm->flags) &&
	       test_bit(ZP_BOOT_DONE, &vm->flags);
}

/**
 * zp_boot_complete() - a VM's boot completed
 * @vm: the VM
 * @by_guest: signalled by the guest, not by the administrator
 *
 * Context: any; the guest's signal comes from its MSR write or hypercall.
 */
void zp_boot_complete(struct zp_vm *vm, bool by_guest)
{
	if (test_and_set_bit(ZP_BOOT_DONE, &vm->flags))
		return;
	if (by_guest)
		set_bit(ZP_BOOT_BY_GUEST, &vm->flags);
}

/**
 * zp_hint_hook() - probe on kvm-topo's kvm_topo_hint_write tracepoint
 * @data: unused
 * @vcpu: the vCPU whose hint kvm-topo accepted
 * @hint: its value; bit 40 is boot completion
 * @via: an enum kvmext_hint_via
 *
 * Only the guest ends its boot phase this way, and only its own: a value
 * the VMM restores (KVM_SET_MSRS) says nothing about this boot, and the
 * administrator has sysfs. A hint kvm-topo refused never gets here.
 *
 * Context: the vCPU's thread, in its MSR write or hypercall exit, with
 * preemption disabled.
 */
void zp_hint_hook(void *data, struct kvm_vcpu *vcpu, u64 hint, u8 via)
{
	struct zp_vm *vm;

	if (via == KVMEXT_HINT_VIA_VMM || !(hint & KVMEXT_HINT_BOOT_COMPLETE))
		return;
	rcu_read_lock();
	vm = zp_vm_lookup(vcpu->kvm);
	if (vm)
		zp_boot_complete(vm, true);
	rcu_read_unlock();
}

/**
 * zp_set_boot_mode() - switch a VM between the always and boot modes
 * @vm: the VM
 * @boot: boot-phase mode
 *
 * Back in always mode, a threshold already reached starts a scan.
 */
void zp_set_boot_mode(struct zp_vm *vm, bool boot)
{
	if (boot) {
		set_bit(ZP_BOOT_MODE, &vm->flags);
		return;
	}
	clear_bit(ZP_BOOT_MODE, &vm->flags);
	if (atomic_long_read(&vm->pending) >= zp_threshold_pages(vm))
		zp_scan_request(vm);
	else
		zp_flush_arm(vm);
}

/**
 * zp_scan_rate() - the scan budget
 *
 * Return: pages per second.
 */
unsigned long zp_scan_rate(void)
{
	return READ_ONCE(scan_rate);
}

/**
 * zp_scan_request() - queue the VM's scan unless it is queued or running
 * @vm: the VM
 *
 * Context: any, including the page table lock of the copy-on-write hook.
 * Return: true if this call queued it.
 */
bool zp_scan_request(struct zp_vm *vm)
{
	if (test_bit(ZP_DYING, &vm->flags) || zp_scans_stopped(vm) ||
	    test_and_set_bit(ZP_SCAN_QUEUED, &vm->flags))
		return false;
	queue_work(zp_wq, &vm->scan_work);
	return true;
}

/**
 * zp_flush_arm() - scan what is recorded flush_ms from now, threshold or not
 * @vm: the VM
 *
 * Armed by a page recorded while it is not armed, by a scan that ends
 * with pages recorded below the threshold, and by the end of a boot
 * phase. Once armed it stays so: the first page starts the clock, not
 * the last.
 *
 * Context: any, including the page table lock of the copy-on-write hook.
 */
void zp_flush_arm(struct zp_vm *vm)
{
	unsigned int ms = READ_ONCE(zp_flush_ms);

	if (!ms || test_bit(ZP_DYING, &vm->flags) || zp_scans_stopped(vm) ||
	    atomic_long_read(&vm->pending) <= 0)
		return;
	queue_delayed_work(zp_wq, &vm->flush_work, msecs_to_jiffies(ms));
}

/**
 * zp_flush_work() - start a scan of pages that stayed below the threshold
 * @work: the VM's flush_work
 *
 * A scan running now takes the counter when it started; what it leaves
 * is armed again when it ends (zp_scan_work()).
 */
void zp_flush_work(struct work_struct *work)
{
	struct zp_vm *vm = container_of(to_delayed_work(work), struct zp_vm,
					flush_work);

	if (atomic_long_read(&vm->pending) > 0 && zp_scan_request(vm))
		atomic64_inc(&vm->stats.flushes);
}
