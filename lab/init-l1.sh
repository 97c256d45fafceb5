#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# /init of the L1 VM (busybox). Runs every test of /lab/tests in name order,
# each under its own timeout, and writes KTAP to /dev/ttyS1 (the host's
# results file). The console (/dev/ttyS0) carries only kernel messages,
# the L2 guests' consoles and one line per test, which the host scans for
# kernel warnings.

export PATH=/bin:/sbin:/usr/bin:/usr/sbin
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t debugfs debugfs /sys/kernel/debug
mount -t tracefs tracefs /sys/kernel/tracing
mkdir -p /tmp /run /dev/pts /dev/shm
mount -t tmpfs tmpfs /tmp
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
ip link set lo up 2>/dev/null
# An RCU stall is a failure, like a warning (panic_on_warn on the command line).
echo 1 >/proc/sys/kernel/panic_on_rcu_stall
# A hang's report then shows every CPU, the stuck one included (one
# density run hung with no report from the CPU that started it).
for f in hung_task_all_cpu_backtrace softlockup_all_cpu_backtrace; do
	[ -w /proc/sys/kernel/$f ] && echo 1 >/proc/sys/kernel/$f
done
hostname lab-l1
# The host stops a VM whose heartbeat stops (lab.sh, watch_vm). On
# any CPU, unlike the tests.
(while :; do date +%s >/dev/ttyS2; sleep 10; done) &
# Every test runs on CPU 0. QEMU's multi-threaded TCG keeps executing stale
# translations of kernel text that another vCPU patched (ftrace, kprobes,
# static keys when modules load and unload): in the lab this called address
# 0, looped on an int3 or froze all vCPUs. One CPU makes that rarer in the
# multi-threaded boot (Documentation/testing.rst).
taskset -p 1 $$ >/dev/null

arg() {
	for w in $(cat /proc/cmdline); do
		case "$w" in "lab.$1="*) echo "${w#*=}" ;; esac
	done
}
TIER=$(arg tier)
# The tests to run, by name, in plan order (lab/lab.sh chooses them).
TESTS=$(arg tests | tr , ' ')
export LAB_TIER="$TIER"

exec 3>/dev/ttyS1
ktap() { echo "$*" >&3; }

n=$(echo $TESTS | wc -w)
ktap "KTAP version 1"
ktap "# tier $TIER: kernel $(uname -r), $(grep -c ^processor /proc/cpuinfo) CPUs, tests on CPU 0"
ktap "1..$n"
i=0
for name in $TESTS; do
	t=$(ls /lab/tests/[0-9][0-9]-"$name".sh)
	i=$((i + 1))
	limit=$(sed -n 's/^# timeout: *\([0-9]*\).*/\1/p' "$t")
	[ -n "$limit" ] || limit=300
	log=/tmp/log.$name
	echo "lab: test $i/$n $name (timeout ${limit}s)" >/dev/console
	start=$(date +%s)
	timeout -s KILL "$limit" sh "$t" >"$log" 2>&1 </dev/null
	rc=$?
	took=$(($(date +%s) - start))
	if [ $rc -eq 0 ]; then
		ktap "ok $i $name # time ${took}s"
	elif [ $rc -eq 4 ]; then
		ktap "ok $i $name # SKIP $(tail -n 1 "$log")"
	elif [ $rc -eq 137 ] || [ $rc -eq 124 ]; then
		sed 's/^/# /' "$log" | tail -n 60 >&3
		ktap "not ok $i $name # TIMEOUT after ${limit}s"
	else
		sed 's/^/# /' "$log" | tail -n 60 >&3
		ktap "not ok $i $name # exit code $rc"
	fi
	# Full logs of every test go to the host too, for the demo and CI artefacts.
	{ echo "==== $name (exit $rc, ${took}s)"; cat "$log"; } >>/tmp/all-logs
done

if [ -w /sys/kernel/debug/kmemleak ]; then
	# Two scans: kmemleak only reports objects unreferenced in both.
	echo scan >/sys/kernel/debug/kmemleak
	sleep 5
	echo scan >/sys/kernel/debug/kmemleak
	leaks=$(cat /sys/kernel/debug/kmemleak)
	if [ -n "$leaks" ]; then
		echo "$leaks" | head -n 80 | sed 's/^/# /' >&3
		ktap "# kmemleak: suspected leaks above"
		echo "kmemleak: new suspected memory leaks (see results)" >/dev/console
	else
		ktap "# kmemleak: no leaks"
	fi
fi
sed 's/^/## /' /tmp/all-logs >&3
ktap "# lab: done"
sync
poweroff -f
