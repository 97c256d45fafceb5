// SPDX-License-Identifier: GPL-2.0
/*
 * kvm-zeropage: guest memory that stays on the shared zero page until it
 * is written, with the pages a guest writes recorded per VM and scanned,
 * past a threshold, for frames that hold only zeros (EP2581828; zp.h
 * names the units). Documentation/kvm-zeropage.rst says what is built.
 */
#include <linux/debugfs.h>
#include <linux/module.h>
#include <linux/seq_file.h>
#include <linux/utsname.h>

#include "../common/hint_event.h"
#include "../common/hook.h"
#include "zp.h"

void *zp_vm_list, *zp_kvm_lock;
static struct dentry *zp_debugfs;

/*
 * Every hook of the module, checked at load (common/hook.h). The first
 * ZP_LIFE_HOOKS entries are armed first and removed last: the destroy
 * hook must see every VM go for as long as the module holds VM state,
 * and a scan may use the mm symbols until every VM's state is gone.
 */
#define ZP_LIFE_HOOKS 14
static unsigned int *zp_max_ptes_none;

static struct kvmext_hook zp_hooks[] = {
	KVMEXT_KPROBE("kvm_arch_destroy_vm", zp_vm_destroy_hook),
	KVMEXT_SYMBOL("vm_list", &zp_vm_list),
	KVMEXT_SYMBOL("kvm_lock", &zp_kvm_lock),
	/* Reclaim: KSM's protocol spelled out (reclaim.c). */
	KVMEXT_SYMBOL("__mmu_notifier_invalidate_range_start",
		      &zp_mm.invalidate_range_start),
	KVMEXT_SYMBOL("__mmu_notifier_invalidate_range_end",
		      &zp_mm.invalidate_range_end),
	KVMEXT_SYMBOL("__mmu_notifier_invalidate_range", &zp_mm.invalidate_range),
	KVMEXT_SYMBOL("flush_tlb_mm_range", &zp_mm.flush_tlb_mm_range),
	KVMEXT_SYMBOL("page_remove_rmap", &zp_mm.page_remove_rmap),
	KVMEXT_SYMBOL("mm_trace_rss_stat", &zp_mm.mm_trace_rss_stat),
	KVMEXT_SYMBOL("folio_mapcount", &zp_mm.folio_mapcount),
	KVMEXT_SYMBOL("split_huge_page_to_list", &zp_mm.split_huge_page_to_list),
	KVMEXT_SYMBOL("mm_get_huge_zero_page", &zp_mm.mm_get_huge_zero_page),
	KVMEXT_SYMBOL("lru_add_drain_all", &zp_mm.lru_add_drain_all),
	KVMEXT_SYMBOL("transparent_hugepage_flags",
		      &zp_mm.transparent_hugepage_flags),
	/* Only for the notice of zp_khugepaged_notice(). */
	KVMEXT_SYMBOL_OPTIONAL("khugepaged_max_ptes_none", &zp_max_ptes_none),
	KVMEXT_KPROBE("kvm_arch_commit_memory_region", zp_commit_hook),
	/* Boot completion from the guest, through kvm-topo (threshold.c). */
	KVMEXT_MODULE_TRACEPOINT(KVMEXT_HINT_EVENT_MODULE, KVMEXT_HINT_EVENT,
				 zp_hint_hook, NULL),
	/* Last: nothing is recorded before a scan can hand pages back. */
	KVMEXT_FTRACE_UNGUARDED("page_add_new_anon_rmap", zp_cow_hook),
};

DEFINE_SHOW_ATTRIBUTE(zp_vms);

static int __init zp_init(void)
{
	int ret;

	ret = zp_vm_init();
	if (ret)
		return ret;
	/* Read-only, under KVM's debugfs directory, as kvm-topo's. */
	zp_debugfs = debugfs_create_dir(KBUILD_MODNAME, kvm_debugfs_dir);
	debugfs_create_file("vms", 0444, zp_debugfs, NULL, &zp_vms_fops);
	ret = kvmext_hooks_install(zp_hooks, ARRAY_SIZE(zp_hooks));
	if (ret) {
		debugfs_remove(zp_debugfs);
		zp_vm_exit();
		return ret;
	}
	zp_vm_attach_existing();
	zp_khugepaged_notice(zp_max_ptes_none);
	pr_info("handing zero-filled guest pages back on kernel %s\n",
		init_utsname()->release);
	return 0;
}

static void __exit zp_exit(void)
{
	kvmext_hooks_remove(zp_hooks + ZP_LIFE_HOOKS,
			    ARRAY_SIZE(zp_hooks) - ZP_LIFE_HOOKS);
	debugfs_remove(zp_debugfs);
	/* With the destroy hook still live, so no VM can go unseen. */
	zp_vm_exit();
	kvmext_hooks_remove(zp_hooks, ZP_LIFE_HOOKS);
	pr_info("unloaded\n");
}

module_init(zp_init);
module_exit(zp_exit);
MODULE_DESCRIPTION("Zero-page-backed KVM guest memory with targeted scans");
MODULE_LICENSE("GPL");
