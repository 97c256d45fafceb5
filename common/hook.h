/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The hook/symbol helper shared by the host modules.
 *
 * Each module lists, in one table, every KVM or core-kernel function it
 * hooks and every unexported symbol it looks up. kvmext_hooks_install()
 * resolves the whole table before it changes anything: if the running
 * kernel lacks any entry, it prints one line naming every missing entry
 * and returns -ENOENT, and the module refuses to load. Otherwise it
 * installs the hooks in table order and, on any failure, removes what it
 * installed. kvmext_hooks_remove() undoes it all and waits until no hook
 * handler can still be running.
 *
 * Preference order, cheapest and most stable first: link against an
 * exported symbol or tracepoint directly (outside this table, checked by
 * modpost and modversions); a tracepoint by name; a kprobe or kretprobe;
 * an ftrace callback by function name, or a redirection of a function by
 * name where its result must change; a looked-up unexported symbol.
 *
 * The helper does not pin the module that owns a hooked function: kprobes
 * and ftrace drop their sites when that module goes away, and every host
 * module links against at least one kvm.ko export, so kvm.ko cannot be
 * unloaded while a module that looked up kvm.ko symbols is loaded.
 *
 * The helper's source is compiled into each module (see the module's
 * hook.c), so each keeps its own KBUILD_MODNAME in messages and no module
 * depends on another one being loaded.
 */
#ifndef KVMEXT_HOOK_H
#define KVMEXT_HOOK_H

#include <linux/ftrace.h>
#include <linux/kprobes.h>
#include <linux/tracepoint.h>
#include <linux/types.h>

enum kvmext_hook_type {
	KVMEXT_HOOK_SYMBOL,	/* unexported symbol, looked up by name */
	KVMEXT_HOOK_TRACEPOINT,	/* tracepoint probe */
	KVMEXT_HOOK_KPROBE,	/* kprobe pre-handler at function entry */
	KVMEXT_HOOK_KRETPROBE,	/* kretprobe entry and return handlers */
	KVMEXT_HOOK_FTRACE,	/* ftrace callback on one function, by name */
	KVMEXT_HOOK_REDIRECT,	/* replace one function, by name, via ftrace */
	KVMEXT_HOOK_MODULE_TRACEPOINT, /* another module's, while it is loaded */
};

/**
 * struct kvmext_hook - one entry of a module's hook table
 * @type: what kind of hook or lookup this entry is
 * @name: symbol, function or tracepoint name (tracepoints without the
 *	"__tracepoint_" prefix)
 * @addr: SYMBOL: where the resolved address is stored
 * @tp: TRACEPOINT: the tracepoint when the module links against its
 *	export; NULL to look it up by @name
 * @tp_probe: TRACEPOINT: the probe, with the tracepoint's prototype
 *	preceded by a void * data argument
 * @tp_data: TRACEPOINT: the probe's data argument
 * @module: MODULE_TRACEPOINT: the module that defines tracepoint @name
 * @pre: KPROBE: the pre-handler
 * @entry: KRETPROBE: the entry handler (may be NULL)
 * @ret: KRETPROBE: the return handler
 * @data_size: KRETPROBE: bytes of per-instance data for @entry and @ret
 * @maxactive: KRETPROBE: concurrent instances, 0 for the kernel's default
 * @ftrace_func: FTRACE: the callback
 * @redirect: REDIRECT: the replacement, with the same prototype as the
 *	function named; it must neither sleep nor call the original
 * @redirect_if: REDIRECT: called with the registers at the function's
 *	entry, in any context; only calls for which it returns true go to
 *	@redirect, every other call runs the original untouched
 * @kp: private: the kprobe
 * @krp: private: the kretprobe
 * @ops: private: the ftrace_ops
 * @nb: private: MODULE_TRACEPOINT: the tracepoint module notifier
 * @tp_live: private: the tracepoint the probe is registered on; for
 *	MODULE_TRACEPOINT, changed only under the tracepoint module list's
 *	lock, NULL while @module is not loaded
 * @target: private: FTRACE, REDIRECT: the resolved address of the function
 * @installed: private: set while the hook is live
 * @optional: SYMBOL: a symbol the module can do without; if the kernel
 *	lacks it, *@addr stays NULL and the load goes on
 * @unguarded: FTRACE: the trampoline calls @ftrace_func directly, without
 *	ftrace's recursion guard (see KVMEXT_FTRACE_UNGUARDED)
 *
 * Tables are built with the KVMEXT_* initialiser macros below and passed
 * whole to kvmext_hooks_install() and kvmext_hooks_remove().
 */
struct kvmext_hook {
	enum kvmext_hook_type type;
	const char *name;

	void **addr;
	struct tracepoint *tp;
	void *tp_probe;
	void *tp_data;
	const char *module;
	kprobe_pre_handler_t pre;
	kretprobe_handler_t entry;
	kretprobe_handler_t ret;
	size_t data_size;
	int maxactive;
	ftrace_func_t ftrace_func;
	void *redirect;
	bool (*redirect_if)(struct pt_regs *regs);

	union {
		struct kprobe kp;
		struct kretprobe krp;
		struct ftrace_ops ops;
		struct notifier_block nb;
	};
	struct tracepoint *tp_live;
	unsigned long target;
	bool installed;
	bool optional;
	bool unguarded;
};

#define KVMEXT_SYMBOL(_name, _addr)					\
	{ .type = KVMEXT_HOOK_SYMBOL, .name = (_name),			\
	  .addr = (void **)(_addr) }

#define KVMEXT_SYMBOL_OPTIONAL(_name, _addr)				\
	{ .type = KVMEXT_HOOK_SYMBOL, .name = (_name),			\
	  .addr = (void **)(_addr), .optional = true }

#define KVMEXT_TRACEPOINT(_name, _probe, _data)				\
	{ .type = KVMEXT_HOOK_TRACEPOINT, .name = (_name),		\
	  .tp_probe = (void *)(_probe), .tp_data = (_data) }

/* Needs "extern struct tracepoint __tracepoint_<name>;" in scope. */
#define KVMEXT_TRACEPOINT_EXPORTED(_name, _probe, _data)		\
	{ .type = KVMEXT_HOOK_TRACEPOINT, .name = #_name,		\
	  .tp = &__tracepoint_##_name, .tp_probe = (void *)(_probe),	\
	  .tp_data = (_data) }

/*
 * A tracepoint of another (out-of-tree) module, probed from the moment
 * that module is loaded, before its init runs, until it goes; it need not
 * be loaded at all. Nothing is checked at install: a @_module loaded
 * without tracepoint @_name gets one line in dmesg. _probe has the
 * tracepoint's prototype preceded by a void * data argument.
 */
#define KVMEXT_MODULE_TRACEPOINT(_module, _name, _probe, _data)		\
	{ .type = KVMEXT_HOOK_MODULE_TRACEPOINT, .module = (_module),	\
	  .name = (_name), .tp_probe = (void *)(_probe),		\
	  .tp_data = (_data) }

#define KVMEXT_KPROBE(_name, _pre)					\
	{ .type = KVMEXT_HOOK_KPROBE, .name = (_name), .pre = (_pre) }

#define KVMEXT_KRETPROBE(_name, _entry, _ret, _data_size)		\
	{ .type = KVMEXT_HOOK_KRETPROBE, .name = (_name),		\
	  .entry = (_entry), .ret = (_ret), .data_size = (_data_size) }

#define KVMEXT_FTRACE(_name, _func)					\
	{ .type = KVMEXT_HOOK_FTRACE, .name = (_name),			\
	  .ftrace_func = (_func) }

/*
 * For a callback on a hot path: the trampoline calls it directly, where
 * KVMEXT_FTRACE goes through ftrace's recursion guard, one more call and
 * return per hit. The callback must not reach the function it traces,
 * and runs with preemption as the caller has it.
 */
#define KVMEXT_FTRACE_UNGUARDED(_name, _func)				\
	{ .type = KVMEXT_HOOK_FTRACE, .name = (_name),			\
	  .ftrace_func = (_func), .unguarded = true }

/*
 * Last resort, for a function whose result must change for some calls:
 * those for which _if returns true go to the replacement instead. The
 * replacement runs whole in this module and never sleeps, so after the
 * ftrace_ops is gone one RCU-tasks grace period guarantees no task is
 * still inside it. Uses an IPMODIFY ftrace_ops, which is exclusive per
 * function: a livepatch of the same function makes the install fail.
 */
#define KVMEXT_REDIRECT(_name, _if, _replacement)			\
	{ .type = KVMEXT_HOOK_REDIRECT, .name = (_name),		\
	  .redirect_if = (_if), .redirect = (void *)(_replacement) }

int kvmext_hooks_install(struct kvmext_hook *hooks, unsigned int n);
void kvmext_hooks_remove(struct kvmext_hook *hooks, unsigned int n);
unsigned long kvmext_lookup_name(const char *name);

#endif /* KVMEXT_HOOK_H */
