// SPDX-License-Identifier: GPL-2.0
/*
 * The shared per-VM sysfs directory helper, compiled into this module.
 */
#include "../common/vmdir.c"
