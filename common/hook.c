// SPDX-License-Identifier: GPL-2.0
/*
 * The hook/symbol helper shared by the host modules; hook.h explains the
 * contract. This file is compiled into each module that uses it.
 */
#include <linux/kallsyms.h>
#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/utsname.h>

#include "hook.h"

static const char *const kvmext_hook_kind[] = {
	[KVMEXT_HOOK_SYMBOL] = "symbol",
	[KVMEXT_HOOK_TRACEPOINT] = "tracepoint",
	[KVMEXT_HOOK_KPROBE] = "kprobe",
	[KVMEXT_HOOK_KRETPROBE] = "kretprobe",
	[KVMEXT_HOOK_FTRACE] = "ftrace",
	[KVMEXT_HOOK_REDIRECT] = "redirect",
	[KVMEXT_HOOK_MODULE_TRACEPOINT] = "module tracepoint",
};

static unsigned long (*kvmext_kallsyms_lookup_name)(const char *name);

/*
 * kallsyms_lookup_name() is not exported since 5.7, but kprobes still
 * resolve symbol names with it: a kprobe on it, never armed for longer
 * than this call, tells its address.
 */
static int kvmext_find_kallsyms(void)
{
	struct kprobe kp = { .symbol_name = "kallsyms_lookup_name" };
	int ret;

	if (kvmext_kallsyms_lookup_name)
		return 0;
	ret = register_kprobe(&kp);
	if (ret)
		return ret;
	kvmext_kallsyms_lookup_name = (void *)kp.addr;
	unregister_kprobe(&kp);
	return 0;
}

/**
 * kvmext_lookup_name() - address of a kernel or module symbol
 * @name: the symbol, exported or not
 *
 * Only for code paths that cannot go through a hook table, such as tests;
 * modules list what they need in their table instead, so that it is
 * checked at load.
 *
 * Return: the address, or 0 when the running kernel has no such symbol.
 */
unsigned long kvmext_lookup_name(const char *name)
{
	if (kvmext_find_kallsyms())
		return 0;
	return kvmext_kallsyms_lookup_name(name);
}

static bool kvmext_hook_resolve(struct kvmext_hook *h)
{
	char tpname[KSYM_NAME_LEN];
	unsigned long addr;

	switch (h->type) {
	case KVMEXT_HOOK_TRACEPOINT:
		if (h->tp) {
			h->tp_live = h->tp;
			return true;
		}
		if (snprintf(tpname, sizeof(tpname), "__tracepoint_%s",
			     h->name) >= sizeof(tpname))
			return false;
		h->tp_live = (struct tracepoint *)kvmext_lookup_name(tpname);
		return h->tp_live;
	case KVMEXT_HOOK_MODULE_TRACEPOINT:
		return true;	/* its module may come later */
	case KVMEXT_HOOK_SYMBOL:
	case KVMEXT_HOOK_KPROBE:
	case KVMEXT_HOOK_KRETPROBE:
	case KVMEXT_HOOK_FTRACE:
	case KVMEXT_HOOK_REDIRECT:
		addr = kvmext_lookup_name(h->name);
		if (h->type == KVMEXT_HOOK_SYMBOL && addr)
			*h->addr = (void *)addr;
		h->target = addr;
		return addr;
	}
	return false;
}

static void kvmext_redirect_func(unsigned long ip, unsigned long parent_ip,
				 struct ftrace_ops *op,
				 struct ftrace_regs *fregs)
{
	struct kvmext_hook *h = container_of(op, struct kvmext_hook, ops);
	struct pt_regs *regs = ftrace_get_regs(fregs);

	if (regs && h->redirect_if(regs))
		ftrace_instruction_pointer_set(fregs,
					       (unsigned long)h->redirect);
}

static int kvmext_ftrace_arm(struct kvmext_hook *h, ftrace_func_t func,
			     unsigned long flags)
{
	int ret;

	memset(&h->ops, 0, sizeof(h->ops));
	h->ops.func = func;
	h->ops.flags = flags;
	/*
	 * By the resolved address, not by name: a name may also belong to a
	 * static function elsewhere, whose arguments a redirect predicate
	 * would misread. The fentry call is the function's first instruction
	 * on the kernels this supports (no IBT).
	 */
	ret = ftrace_set_filter_ip(&h->ops, h->target, 0, 1);
	if (!ret)
		ret = register_ftrace_function(&h->ops);
	if (ret)
		ftrace_free_filter(&h->ops);
	return ret;
}

/*
 * Called under the tracepoint module list's lock for every module with
 * tracepoints, as it comes and goes, and for those already loaded when
 * the notifier is registered or unregistered.
 */
static int kvmext_tp_module_notify(struct notifier_block *nb,
				   unsigned long val, void *data)
{
	struct kvmext_hook *h = container_of(nb, struct kvmext_hook, nb);
	struct module *mod = ((struct tp_module *)data)->mod;
	struct tracepoint *tp;
	unsigned int i;
	int ret = -ENOENT;

	if (strcmp(mod->name, h->module))
		return NOTIFY_DONE;
	if (val == MODULE_STATE_GOING) {
		if (h->tp_live)
			tracepoint_probe_unregister(h->tp_live, h->tp_probe,
						    h->tp_data);
		h->tp_live = NULL;
		return NOTIFY_OK;
	}
	if (val != MODULE_STATE_COMING || h->tp_live)
		return NOTIFY_DONE;
	for (i = 0; i < mod->num_tracepoints; i++) {
		tp = tracepoint_ptr_deref(&mod->tracepoints_ptrs[i]);
		if (strcmp(tp->name, h->name))
			continue;
		ret = tracepoint_probe_register(tp, h->tp_probe, h->tp_data);
		if (!ret)
			h->tp_live = tp;
		break;
	}
	if (ret)
		pr_warn("%s loaded, but probing its tracepoint %s failed (%d)\n",
			h->module, h->name, ret);
	return NOTIFY_OK;
}

static int kvmext_hook_arm(struct kvmext_hook *h)
{
	switch (h->type) {
	case KVMEXT_HOOK_SYMBOL:
		return 0;
	case KVMEXT_HOOK_TRACEPOINT:
		return tracepoint_probe_register(h->tp_live, h->tp_probe,
						 h->tp_data);
	case KVMEXT_HOOK_KPROBE:
		memset(&h->kp, 0, sizeof(h->kp));
		h->kp.symbol_name = h->name;
		h->kp.pre_handler = h->pre;
		return register_kprobe(&h->kp);
	case KVMEXT_HOOK_KRETPROBE:
		memset(&h->krp, 0, sizeof(h->krp));
		h->krp.kp.symbol_name = h->name;
		h->krp.entry_handler = h->entry;
		h->krp.handler = h->ret;
		h->krp.data_size = h->data_size;
		h->krp.maxactive = h->maxactive;
		return register_kretprobe(&h->krp);
	case KVMEXT_HOOK_FTRACE:
		return kvmext_ftrace_arm(h, h->ftrace_func,
					 h->unguarded ? 0 :
					 FTRACE_OPS_FL_RECURSION);
	case KVMEXT_HOOK_REDIRECT:
		return kvmext_ftrace_arm(h, kvmext_redirect_func,
					 FTRACE_OPS_FL_SAVE_REGS |
					 FTRACE_OPS_FL_RECURSION |
					 FTRACE_OPS_FL_IPMODIFY);
	case KVMEXT_HOOK_MODULE_TRACEPOINT:
		memset(&h->nb, 0, sizeof(h->nb));
		h->nb.notifier_call = kvmext_tp_module_notify;
		h->tp_live = NULL;
		return register_tracepoint_module_notifier(&h->nb);
	}
	return -EINVAL;
}

#define KVMEXT_SYNC_TRACEPOINTS	BIT(0)
#define KVMEXT_SYNC_TASKS	BIT(1)

/* Returns what the caller must wait for before the handlers can go away. */
static unsigned int kvmext_hook_disarm(struct kvmext_hook *h)
{
	unsigned int sync = 0;

	switch (h->type) {
	case KVMEXT_HOOK_SYMBOL:
		break;
	case KVMEXT_HOOK_TRACEPOINT:
		tracepoint_probe_unregister(h->tp_live, h->tp_probe,
					    h->tp_data);
		sync |= KVMEXT_SYNC_TRACEPOINTS;
		break;
	case KVMEXT_HOOK_MODULE_TRACEPOINT:
		/* Sends a GOING for the module if it is loaded. */
		unregister_tracepoint_module_notifier(&h->nb);
		sync |= KVMEXT_SYNC_TRACEPOINTS;
		break;
	case KVMEXT_HOOK_KPROBE:
		unregister_kprobe(&h->kp);
		if (h->kp.nmissed)
			pr_info("kprobe on %s missed %lu hits\n", h->name,
				h->kp.nmissed);
		break;
	case KVMEXT_HOOK_KRETPROBE:
		unregister_kretprobe(&h->krp);
		if (h->krp.nmissed)
			pr_info("kretprobe on %s missed %d instances\n",
				h->name, h->krp.nmissed);
		break;
	case KVMEXT_HOOK_REDIRECT:
		/* A task may have been sent into the replacement just before. */
		sync |= KVMEXT_SYNC_TASKS;
		fallthrough;
	case KVMEXT_HOOK_FTRACE:
		unregister_ftrace_function(&h->ops);
		ftrace_free_filter(&h->ops);
		break;
	}
	return sync;
}

static void kvmext_hooks_forget(struct kvmext_hook *hooks, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (hooks[i].type == KVMEXT_HOOK_SYMBOL)
			*hooks[i].addr = NULL;
		hooks[i].tp_live = NULL;
		hooks[i].target = 0;
	}
}

/* One dmesg line naming everything the running kernel lacks. */
static void kvmext_report_missing(struct kvmext_hook *hooks, unsigned int n,
				  const bool *missing)
{
	char buf[256] = "";
	const size_t len = sizeof(buf);
	unsigned int i;
	size_t used = 0;

	for (i = 0; i < n && used < len - 1; i++) {
		if (!missing[i])
			continue;
		used += scnprintf(buf + used, len - used, "%s%s '%s'",
				  used ? ", " : "",
				  kvmext_hook_kind[hooks[i].type],
				  hooks[i].name);
	}
	pr_err("cannot load on kernel %s: not found: %s\n",
	       init_utsname()->release, buf);
}

/**
 * kvmext_hooks_install() - resolve and install a module's hook table
 * @hooks: the table
 * @n: its number of entries
 *
 * Resolves every entry first; if any is missing, logs one line naming all
 * of them and changes nothing. Then installs the hooks in table order, so
 * a hook may rely on the symbols listed before it. On failure, everything
 * this call installed is removed again. Must not be called twice on one
 * table without kvmext_hooks_remove() in between.
 *
 * Return: 0, -ENOENT if the running kernel lacks an entry, -EBUSY if the
 * table is already installed, or the error of the hook that failed.
 */
int kvmext_hooks_install(struct kvmext_hook *hooks, unsigned int n)
{
	bool *missing, any_missing = false;
	unsigned int i;
	int ret;

	for (i = 0; i < n; i++)
		if (hooks[i].installed)
			return -EBUSY;

	ret = kvmext_find_kallsyms();
	if (ret) {
		pr_err("cannot load on kernel %s: kprobe on kallsyms_lookup_name failed (%d); needs CONFIG_KPROBES\n",
		       init_utsname()->release, ret);
		return -ENOENT;
	}

	missing = kcalloc(n, sizeof(*missing), GFP_KERNEL);
	if (!missing)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		missing[i] = !kvmext_hook_resolve(&hooks[i]) &&
			     !hooks[i].optional;
		any_missing |= missing[i];
	}
	if (any_missing) {
		kvmext_report_missing(hooks, n, missing);
		kfree(missing);
		kvmext_hooks_forget(hooks, n);
		return -ENOENT;
	}
	kfree(missing);

	for (i = 0; i < n; i++) {
		ret = kvmext_hook_arm(&hooks[i]);
		if (ret) {
			pr_err("cannot load on kernel %s: installing %s '%s' failed (%d)\n",
			       init_utsname()->release,
			       kvmext_hook_kind[hooks[i].type], hooks[i].name,
			       ret);
			kvmext_hooks_remove(hooks, i);
			kvmext_hooks_forget(hooks, n);
			return ret;
		}
		hooks[i].installed = true;
	}
	return 0;
}

/**
 * kvmext_hooks_remove() - remove every installed hook of a table
 * @hooks: the table
 * @n: its number of entries
 *
 * Removes in reverse table order and returns only when no handler of this
 * table can still be running, so the caller may free what the handlers
 * use, and the module may be unloaded. Entries that are not installed are
 * skipped, so this is safe after a failed or partial install.
 */
void kvmext_hooks_remove(struct kvmext_hook *hooks, unsigned int n)
{
	unsigned int i, sync = 0;

	for (i = n; i-- > 0;) {
		if (!hooks[i].installed)
			continue;
		sync |= kvmext_hook_disarm(&hooks[i]);
		hooks[i].installed = false;
	}
	if (sync & KVMEXT_SYNC_TRACEPOINTS)
		tracepoint_synchronize_unregister();
	if (sync & KVMEXT_SYNC_TASKS)
		synchronize_rcu_tasks();
	kvmext_hooks_forget(hooks, n);
}
