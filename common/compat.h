/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one place for what depends on the kernel version or on an
 * architecture's private layout; supported: x86-64, 6.1 (dkms.conf
 * limits the versions DKMS builds for).
 */
#ifndef KVMEXT_COMPAT_H
#define KVMEXT_COMPAT_H

#include <linux/ftrace.h>
#include <asm/ptrace.h>

#ifndef CONFIG_X86_64
#error "kvmext supports x86-64 only"
#endif
#ifndef CONFIG_DYNAMIC_FTRACE_WITH_ARGS
#error "kvmext needs CONFIG_DYNAMIC_FTRACE_WITH_ARGS (ftrace callbacks read arguments)"
#endif

/**
 * kvmext_ftrace_arg() - argument @n of the function an ftrace callback
 *	(without FTRACE_OPS_FL_SAVE_REGS) was called for
 * @fregs: the callback's registers
 * @n: argument number, 0-5
 *
 * x86-64 6.1 builds with DYNAMIC_FTRACE_WITH_ARGS: ftrace_caller saves
 * the argument registers into the pt_regs inside ftrace_regs, though not
 * the whole pt_regs, so ftrace_get_regs() returns NULL and the registers
 * are read directly.
 *
 * Return: the argument.
 */
static inline unsigned long kvmext_ftrace_arg(struct ftrace_regs *fregs,
					      unsigned int n)
{
	return regs_get_kernel_argument(&fregs->regs, n);
}

#endif /* KVMEXT_COMPAT_H */
