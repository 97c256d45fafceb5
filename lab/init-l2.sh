#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# /init of the L2 guest, booted by an unchanged QEMU inside the L1 VM. It
# reports on its console (which L1 captures) in KTAP, between markers the
# L1 test looks for, then reboots, which ends QEMU (-no-reboot).

export PATH=/bin:/sbin:/usr/bin:/usr/sbin
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t debugfs debugfs /sys/kernel/debug

n=0
result() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "L2KTAP ok $n $2"
	else
		echo "L2KTAP not ok $n $2"
	fi
}

echo "L2KTAP KTAP version 1"
echo "L2KTAP # kernel $(uname -r), $(nproc) CPUs"
grep -qw hypervisor /proc/cpuinfo
result $? "runs as a guest (CPUID hypervisor bit)"
grep -q kvm-clock /sys/devices/system/clocksource/clocksource0/available_clocksource
result $? "KVM paravirtual clock available"
# A check passes with exit 0, is skipped with exit 4 (its last line says
# why), and fails otherwise.
# "l2bench" on the kernel command line runs the benchmarks instead
# (lab/tests/91-bench-l2-hints.sh).
# "l2suite=NAME" runs /lab/NAME instead (lab/l2-NAME in the tree).
dir=/lab/tests
grep -qw l2bench /proc/cmdline && dir=/lab/bench
for w in $(cat /proc/cmdline); do
	case "$w" in l2suite=*) dir=/lab/${w#l2suite=} ;; esac
done
for t in $dir/*.sh; do
	[ -e "$t" ] || continue
	out=$(sh "$t" 2>&1)
	rc=$?
	[ -n "$out" ] && echo "$out"
	if [ $rc = 4 ]; then
		n=$((n + 1))
		echo "L2KTAP ok $n $(basename "$t" .sh) # SKIP $(echo "$out" | tail -n 1)"
	else
		result $rc "$(basename "$t" .sh)"
	fi
done
echo "L2KTAP 1..$n"
echo "L2KTAP done"
reboot -f
