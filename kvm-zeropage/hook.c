// SPDX-License-Identifier: GPL-2.0
/*
 * The shared hook/symbol helper, compiled into this module so that its
 * messages carry this module's name and no other module must be loaded.
 */
#include "../common/hook.c"
