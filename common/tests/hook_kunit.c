// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite for the hook helper: every kind of entry fires while
 * installed and never after removal, a missing entry makes the whole
 * table refuse to install and leaves nothing behind, and an install that
 * fails half-way unwinds what it had armed.
 */
#include <kunit/test.h>
#include <linux/atomic.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/smp.h>

#include "../hook.c"

/* Exported by mm/slab_common.c with EXPORT_TRACEPOINT_SYMBOL(). */
extern struct tracepoint __tracepoint_kfree;

static atomic_t kp_hits, krp_entry_hits, krp_ret_hits, ft_hits, tp_hits;
static const void *kfree_marker;
static int krp_last_ret;

/*
 * The hooked targets. The tests call them through pointers read with
 * READ_ONCE(): with constant arguments GCC could otherwise call a
 * .constprop clone that the hooks, placed on the named symbol, never see.
 */
static noinline int kvmext_kunit_target(int x)
{
	barrier();
	return x * 3;
}

static noinline int kvmext_kunit_other_target(int x)
{
	barrier();
	return x + 1;
}

static int (*target_fn)(int) = kvmext_kunit_target;
static int (*other_target_fn)(int) = kvmext_kunit_other_target;
#define target(x) READ_ONCE(target_fn)(x)
#define other_target(x) READ_ONCE(other_target_fn)(x)

static int kp_pre(struct kprobe *kp, struct pt_regs *regs)
{
	atomic_inc(&kp_hits);
	return 0;
}

static int krp_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	atomic_inc(&krp_entry_hits);
	return 0;
}

static int krp_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	krp_last_ret = regs_return_value(regs);
	atomic_inc(&krp_ret_hits);
	return 0;
}

static void ft_func(unsigned long ip, unsigned long parent_ip,
		    struct ftrace_ops *op, struct ftrace_regs *fregs)
{
	atomic_inc(&ft_hits);
}

static void tp_kfree(void *data, unsigned long call_site, const void *ptr)
{
	if (ptr && ptr == READ_ONCE(kfree_marker))
		atomic_inc(&tp_hits);
}

static void reset_counters(void)
{
	atomic_set(&kp_hits, 0);
	atomic_set(&krp_entry_hits, 0);
	atomic_set(&krp_ret_hits, 0);
	atomic_set(&ft_hits, 0);
	atomic_set(&tp_hits, 0);
	krp_last_ret = 0;
}

static void free_marked(void)
{
	void *p = kmalloc(32, GFP_KERNEL);

	WRITE_ONCE(kfree_marker, p);
	kfree(p);
	WRITE_ONCE(kfree_marker, NULL);
}

/* Tables are static: struct kvmext_hook is too large for a stack frame. */
static void hook_kunit_symbol(struct kunit *test)
{
	static void *addr, *unexported;
	static struct kvmext_hook hooks[] = {
		KVMEXT_SYMBOL("kvmext_kunit_target", &addr),
		/* Not exported: only kallsyms knows it. */
		KVMEXT_SYMBOL("kallsyms_lookup_name", &unexported),
	};

	KUNIT_ASSERT_EQ(test, kvmext_hooks_install(hooks, ARRAY_SIZE(hooks)), 0);
	KUNIT_EXPECT_PTR_EQ(test, addr, (void *)kvmext_kunit_target);
	KUNIT_EXPECT_PTR_EQ(test, unexported,
			    (void *)kvmext_kallsyms_lookup_name);
	kvmext_hooks_remove(hooks, ARRAY_SIZE(hooks));
	KUNIT_EXPECT_NULL(test, addr);
	KUNIT_EXPECT_NULL(test, unexported);
}

static void hook_kunit_kprobes_and_ftrace(struct kunit *test)
{
	static struct kvmext_hook hooks[] = {
		KVMEXT_KPROBE("kvmext_kunit_target", kp_pre),
		KVMEXT_KRETPROBE("kvmext_kunit_target", krp_entry, krp_ret, 0),
		KVMEXT_FTRACE("kvmext_kunit_other_target", ft_func),
	};

	reset_counters();
	KUNIT_ASSERT_EQ(test, kvmext_hooks_install(hooks, ARRAY_SIZE(hooks)), 0);
	KUNIT_EXPECT_EQ(test, target(7), 21);
	KUNIT_EXPECT_EQ(test, other_target(7), 8);
	KUNIT_EXPECT_EQ(test, atomic_read(&kp_hits), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&krp_entry_hits), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&krp_ret_hits), 1);
	KUNIT_EXPECT_EQ(test, krp_last_ret, 21);
	KUNIT_EXPECT_EQ(test, atomic_read(&ft_hits), 1);
	KUNIT_EXPECT_TRUE(test, hooks[2].ops.flags & FTRACE_OPS_FL_RECURSION);

	/* A second install of a live table is refused. */
	KUNIT_EXPECT_EQ(test, kvmext_hooks_install(hooks, ARRAY_SIZE(hooks)),
			-EBUSY);

	kvmext_hooks_remove(hooks, ARRAY_SIZE(hooks));
	reset_counters();
	target(1);
	other_target(1);
	KUNIT_EXPECT_EQ(test, atomic_read(&kp_hits), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&krp_entry_hits), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&krp_ret_hits), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&ft_hits), 0);

	/* Removed tables can be installed again. */
	KUNIT_ASSERT_EQ(test, kvmext_hooks_install(hooks, ARRAY_SIZE(hooks)), 0);
	target(1);
	KUNIT_EXPECT_EQ(test, atomic_read(&kp_hits), 1);
	kvmext_hooks_remove(hooks, ARRAY_SIZE(hooks));
}

/* Without ftrace's recursion guard, and removed as cleanly. */
static void hook_kunit_ftrace_unguarded(struct kunit *test)
{
	static struct kvmext_hook hooks[] = {
		KVMEXT_FTRACE_UNGUARDED("kvmext_kunit_other_target", ft_func),
	};

	reset_counters();
	KUNIT_ASSERT_EQ(test, kvmext_hooks_install(hooks, ARRAY_SIZE(hooks)), 0);
	KUNIT_EXPECT_EQ(test, other_target(7), 8);
	KUNIT_EXPECT_EQ(test, atomic_read(&ft_hits), 1);
	KUNIT_EXPECT_FALSE(test, hooks[0].ops.flags & FTRACE_OPS_FL_RECURSION);
	kvmext_hooks_remove(hooks, ARRAY_SIZE(hooks));
	other_target(1);
	KUNIT_EXPECT_EQ(test, atomic_read(&ft_hits), 1);
}

static void hook_kunit_tracepoints(struct kunit *test)
{
	static struct kvmext_hook hooks[] = {
		KVMEXT_TRACEPOINT_EXPORTED(kfree, tp_kfree, NULL),
	};
	static struct kvmext_hook by_name[] = {
		KVMEXT_TRACEPOINT("kfree", tp_kfree, NULL),
	};

	reset_counters();
	KUNIT_ASSERT_EQ(test, kvmext_hooks_install(hooks, 1), 0);
	free_marked();
	KUNIT_EXPECT_EQ(test, atomic_read(&tp_hits), 1);
	kvmext_hooks_remove(hooks, 1);
	free_marked();
	KUNIT_EXPECT_EQ(test, atomic_read(&tp_hits), 1);

	/* By name, the lookup must find the same tracepoint. */
	KUNIT_ASSERT_EQ(test, kvmext_hooks_install(by_name, 1), 0);
	KUNIT_EXPECT_PTR_EQ(test, by_name[0].tp_live, &__tracepoint_kfree);
	free_marked();
	KUNIT_EXPECT_EQ(test, atomic_read(&tp_hits), 2);
	kvmext_hooks_remove(by_name, 1);
	free_marked();
	KUNIT_EXPECT_EQ(test, atomic_read(&tp_hits), 2);
}

static void hook_kunit_missing_changes_nothing(struct kunit *test)
{
	static void *addr;
	static struct kvmext_hook hooks[] = {
		KVMEXT_SYMBOL("kvmext_kunit_target", &addr),
		KVMEXT_KPROBE("kvmext_kunit_target", kp_pre),
		KVMEXT_FTRACE("kvmext_kunit_no_such_function", ft_func),
		KVMEXT_TRACEPOINT("kvmext_kunit_no_such_tracepoint", tp_kfree,
				  NULL),
	};
	unsigned int i;

	reset_counters();
	KUNIT_EXPECT_EQ(test, kvmext_hooks_install(hooks, ARRAY_SIZE(hooks)),
			-ENOENT);
	KUNIT_EXPECT_NULL(test, addr);
	for (i = 0; i < ARRAY_SIZE(hooks); i++)
		KUNIT_EXPECT_FALSE(test, hooks[i].installed);
	target(1);
	KUNIT_EXPECT_EQ(test, atomic_read(&kp_hits), 0);
	/* Removing a table that never installed is harmless. */
	kvmext_hooks_remove(hooks, ARRAY_SIZE(hooks));
}

static void hook_kunit_arm_failure_unwinds(struct kunit *test)
{
	/*
	 * Both entries resolve, but kprobes refuse the second (it is in the
	 * kprobe blacklist), so the first must be disarmed again.
	 */
	static struct kvmext_hook hooks[] = {
		KVMEXT_KPROBE("kvmext_kunit_target", kp_pre),
		KVMEXT_KPROBE("kprobe_int3_handler", kp_pre),
	};

	reset_counters();
	KUNIT_EXPECT_EQ(test, kvmext_hooks_install(hooks, ARRAY_SIZE(hooks)),
			-EINVAL);
	KUNIT_EXPECT_FALSE(test, hooks[0].installed);
	KUNIT_EXPECT_FALSE(test, hooks[1].installed);
	target(1);
	KUNIT_EXPECT_EQ(test, atomic_read(&kp_hits), 0);
}

/*
 * Redirection needs a caller outside this module's control flow choice:
 * smp_call_function_single() on the local CPU calls the function from
 * kernel/smp.c with info in the first argument register.
 */
static int redirect_marker;

static noinline void kvmext_kunit_smp_target(void *info)
{
	*(int *)info = 1;
}

static void kvmext_kunit_smp_replacement(void *info)
{
	*(int *)info = 2;
}

static bool kvmext_kunit_redirect_if(struct pt_regs *regs)
{
	return regs_get_kernel_argument(regs, 0) ==
	       (unsigned long)&redirect_marker;
}

static int call_on_this_cpu(int *info)
{
	*info = 0;
	smp_call_function_single(get_cpu(), kvmext_kunit_smp_target, info, 1);
	put_cpu();
	return *info;
}

static void hook_kunit_redirect(struct kunit *test)
{
	static struct kvmext_hook hooks[] = {
		KVMEXT_REDIRECT("kvmext_kunit_smp_target",
				kvmext_kunit_redirect_if,
				kvmext_kunit_smp_replacement),
	};
	int other;

	KUNIT_ASSERT_EQ(test, kvmext_hooks_install(hooks, 1), 0);
	/* Only the calls the predicate picks are redirected. */
	KUNIT_EXPECT_EQ(test, call_on_this_cpu(&redirect_marker), 2);
	KUNIT_EXPECT_EQ(test, call_on_this_cpu(&other), 1);
	kvmext_hooks_remove(hooks, 1);
	KUNIT_EXPECT_EQ(test, call_on_this_cpu(&redirect_marker), 1);
}

static struct kunit_case hook_kunit_cases[] = {
	KUNIT_CASE(hook_kunit_symbol),
	KUNIT_CASE(hook_kunit_kprobes_and_ftrace),
	KUNIT_CASE(hook_kunit_ftrace_unguarded),
	KUNIT_CASE(hook_kunit_tracepoints),
	KUNIT_CASE(hook_kunit_missing_changes_nothing),
	KUNIT_CASE(hook_kunit_arm_failure_unwinds),
	KUNIT_CASE(hook_kunit_redirect),
	{}
};

static struct kunit_suite hook_kunit_suite = {
	.name = "kvmext_hook",
	.test_cases = hook_kunit_cases,
};
kunit_test_suite(hook_kunit_suite);

MODULE_DESCRIPTION("KUnit tests for the kvmext hook helper");
MODULE_LICENSE("GPL");
