// SPDX-License-Identifier: GPL-2.0
/*
 * Lab test module for the hook helper on a stock kernel: one table with
 * every kind of entry, all on KVM functions that run on each KVM_RUN, and
 * counters in debugfs that the selftest hook_helper_test reads while a VM
 * runs. With missing=1 the table gains entries no kernel has, and loading
 * must fail with one line naming them.
 */
#include <linux/atomic.h>
#include <linux/debugfs.h>
#include <linux/kvm_host.h>
#include <linux/module.h>

#include "../hook.h"

/* Exported by kvm.ko; the prototype is from arch/x86/kvm/trace.h. */
extern struct tracepoint __tracepoint_kvm_exit;

static bool missing;
module_param(missing, bool, 0444);
MODULE_PARM_DESC(missing, "Add entries no kernel has, to test the refusal to load [default: false]");

static atomic_t kvm_exit_hits, userspace_exit_hits, kprobe_hits, ftrace_hits,
		module_tp_hits;
static void *vcpu_ioctl_addr;
static struct dentry *dir;

static void hooktest_kvm_exit(void *data, struct kvm_vcpu *vcpu, u32 isa)
{
	atomic_inc(&kvm_exit_hits);
}

static void hooktest_userspace_exit(void *data, __u32 reason, int errno)
{
	atomic_inc(&userspace_exit_hits);
}

/* Debian's 6.1 has the second argument (backported from 6.9). */
static void hooktest_kvm_entry(void *data, struct kvm_vcpu *vcpu,
			       bool force_immediate_exit)
{
	atomic_inc(&module_tp_hits);
}

static int hooktest_kprobe(struct kprobe *kp, struct pt_regs *regs)
{
	atomic_inc(&kprobe_hits);
	return 0;
}

/*
 * Counts only calls whose address agrees with the looked-up symbol, so the
 * counter also checks that kallsyms and ftrace name the same function.
 */
static void hooktest_ftrace(unsigned long ip, unsigned long parent_ip,
			    struct ftrace_ops *op, struct ftrace_regs *fregs)
{
	unsigned long sym = (unsigned long)READ_ONCE(vcpu_ioctl_addr);

	if (ip >= sym && ip < sym + 16)
		atomic_inc(&ftrace_hits);
}

static struct kvmext_hook hooks[] = {
	KVMEXT_SYMBOL("kvm_vcpu_ioctl", &vcpu_ioctl_addr),
	KVMEXT_TRACEPOINT_EXPORTED(kvm_exit, hooktest_kvm_exit, NULL),
	KVMEXT_TRACEPOINT("kvm_userspace_exit", hooktest_userspace_exit, NULL),
	KVMEXT_KPROBE("kvm_arch_vcpu_ioctl_run", hooktest_kprobe),
	KVMEXT_FTRACE("kvm_vcpu_ioctl", hooktest_ftrace),
	/* kvm.ko is loaded already: probed as the table is installed. */
	KVMEXT_MODULE_TRACEPOINT("kvm", "kvm_entry", hooktest_kvm_entry, NULL),
	/* Only with missing=1: these two must be named in the refusal. */
	KVMEXT_SYMBOL("kvmext_hooktest_no_such_symbol", &vcpu_ioctl_addr),
	KVMEXT_KPROBE("kvmext_hooktest_no_such_function", hooktest_kprobe),
};

static unsigned int nr_hooks(void)
{
	return ARRAY_SIZE(hooks) - (missing ? 0 : 2);
}

static int __init hooktest_init(void)
{
	int ret;

	/* Under KVM's own debugfs directory, which also ties us to kvm.ko. */
	dir = debugfs_create_dir(KBUILD_MODNAME, kvm_debugfs_dir);
	debugfs_create_atomic_t("kvm_exit", 0444, dir, &kvm_exit_hits);
	debugfs_create_atomic_t("kvm_userspace_exit", 0444, dir,
				&userspace_exit_hits);
	debugfs_create_atomic_t("kprobe", 0444, dir, &kprobe_hits);
	debugfs_create_atomic_t("ftrace", 0444, dir, &ftrace_hits);
	debugfs_create_atomic_t("module_tracepoint", 0444, dir,
				&module_tp_hits);

	ret = kvmext_hooks_install(hooks, nr_hooks());
	if (ret) {
		debugfs_remove(dir);
		return ret;
	}
	pr_info("hooks installed\n");
	return 0;
}

static void __exit hooktest_exit(void)
{
	kvmext_hooks_remove(hooks, nr_hooks());
	debugfs_remove(dir);
	pr_info("hooks removed\n");
}

module_init(hooktest_init);
module_exit(hooktest_exit);
MODULE_DESCRIPTION("Lab test of the kvmext hook helper on KVM functions");
MODULE_LICENSE("GPL");
