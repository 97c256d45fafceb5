# SPDX-License-Identifier: GPL-2.0
# L2's side of the kvm-zeropage density benchmark
# (lab/tests/93-bench-l2-zeropage.sh): L2 booted with init_on_free=1, so
# its kernel zeroed all its memory; reaching this check is the boot.
grep -qw init_on_free=1 /proc/cmdline || { echo "L2 booted without init_on_free=1"; exit 1; }
echo "L2DENSITY booted, $(awk '/^MemTotal:/ { t = $2 } /^MemFree:/ { f = $2 } END { print int((t - f) / 1024) }' /proc/meminfo) MiB in use"
