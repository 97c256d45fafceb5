// SPDX-License-Identifier: GPL-2.0
/*
 * kvm-topo: discloses each guest's live vCPU topology through the kvmext
 * paravirtual interface (include/uapi/kvmext/pv.h) and takes its hints.
 * So far it serves discovery: MSR_KVMEXT_PROBE.
 */
#include <linux/debugfs.h>
#include <linux/module.h>
#include <linux/seq_file.h>
#include <linux/utsname.h>

#include <kvmext/pv.h>

#include "../common/hook.h"
#include "topo.h"

struct topo_stats topo_stats;
static struct dentry *topo_debugfs;

/* Every hook of the module, checked at load (common/hook.h). */
static struct kvmext_hook topo_hooks[] = {
	KVMEXT_REDIRECT("kvm_get_msr_common", topo_msr_is_ours, topo_get_msr),
	KVMEXT_REDIRECT("kvm_set_msr_common", topo_msr_is_ours, topo_set_msr),
};

static int topo_stats_show(struct seq_file *m, void *unused)
{
	seq_printf(m, "probe_reads %lld\n",
		   atomic64_read(&topo_stats.probe_reads));
	seq_printf(m, "probe_writes_rejected %lld\n",
		   atomic64_read(&topo_stats.probe_writes_rejected));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(topo_stats);

static void topo_debugfs_init(void)
{
	/*
	 * Under KVM's debugfs directory, which also makes this module depend
	 * on kvm.ko, whose functions it redirects. Read-only: debugfs
	 * refuses writable files under lockdown.
	 */
	topo_debugfs = debugfs_create_dir(KBUILD_MODNAME, kvm_debugfs_dir);
	debugfs_create_file("stats", 0444, topo_debugfs, NULL,
			    &topo_stats_fops);
}

static int __init topo_init(void)
{
	int ret;

	topo_debugfs_init();
	ret = kvmext_hooks_install(topo_hooks, ARRAY_SIZE(topo_hooks));
	if (ret) {
		debugfs_remove(topo_debugfs);
		return ret;
	}
	pr_info("serving kvmext ABI %d on kernel %s\n", KVMEXT_ABI_VERSION,
		init_utsname()->release);
	return 0;
}

static void __exit topo_exit(void)
{
	kvmext_hooks_remove(topo_hooks, ARRAY_SIZE(topo_hooks));
	debugfs_remove(topo_debugfs);
	pr_info("unloaded; guests now fault on the kvmext MSRs\n");
}

module_init(topo_init);
module_exit(topo_exit);
MODULE_DESCRIPTION("Paravirtual disclosure of live vCPU topology to KVM guests");
MODULE_LICENSE("GPL");
