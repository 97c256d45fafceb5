# SPDX-License-Identifier: GPL-2.0
# Helpers for the lab's test scripts (lab/tests/*.sh), sourced in the L1 VM.
# A test passes with exit 0, is skipped with exit 4 (its last output line
# says why), and fails otherwise; see Documentation/testing.rst.

LAB=/lab
KVER=$(uname -r)

skip() { echo "$*"; exit 4; }
fail() { echo "FAIL: $*"; exit 1; }

# Loads the host kvm stack (kvm.ko, kvm-amd.ko and their dependencies, in
# the order modinfo gave when the initramfs was built); idempotent.
load_kvm() {
	local m
	[ -e /dev/kvm ] && return 0
	while read -r m; do
		insmod "$m" || return 1
	done <"$LAB/kvm-modules"
	[ -e /dev/kvm ]
}

# Runs one KUnit suite module and passes if every suite in it passed.
# Skips where the kernel has no KUnit (Debian's stock kernel).
run_kunit() {
	local mod=$1 ko=$LAB/modules/$1.ko before suite st=0 n=0
	[ -d /sys/kernel/debug/kunit ] || skip "no KUnit in kernel $KVER"
	[ -f "$ko" ] || fail "$ko was not built although the kernel has KUnit"
	before=$(ls /sys/kernel/debug/kunit)
	insmod "$ko" || fail "insmod $mod"
	for suite in $(ls /sys/kernel/debug/kunit); do
		echo "$before" | grep -qx "$suite" && continue
		n=$((n + 1))
		cat "/sys/kernel/debug/kunit/$suite/results"
		grep -q 'not ok' "/sys/kernel/debug/kunit/$suite/results" && st=1
		grep -q '^ *ok ' "/sys/kernel/debug/kunit/$suite/results" || st=1
	done
	rmmod "$mod" || st=1
	[ $n -gt 0 ] || fail "$mod registered no KUnit suite"
	return $st
}

# Boots L2 under an unchanged QEMU, console on stdout: $1 the L1 CPUs QEMU
# may use, $2 vCPUs, $3 more kernel parameters, then more QEMU arguments;
# L2_MEM sets its RAM (default 256M).
# The L2 CPU drops XSAVE: under TCG, L1 KVM reports an XSAVE area size
# without AVX while enumerating AVX, and the L2 kernel WARNs.
l2_run() {
	local cpus=$1 smp=$2 append=$3
	shift 3
	taskset -c "$cpus" qemu-system-x86_64 -M microvm -enable-kvm -cpu "${L2_CPU:-host,-xsave}" \
		-smp "$smp" -m "${L2_MEM:-256M}" \
		-nodefaults -no-user-config -display none -no-reboot -serial stdio \
		-name l2,debug-threads=on -kernel /l2/vmlinuz -initrd /l2/initrd \
		-append "console=ttyS0 panic=-1 oops=panic panic_on_warn=1 softlockup_panic=1 watchdog_thresh=30 rcupdate.rcu_cpu_stall_timeout=60 reboot=t $append" \
		"$@" </dev/null 2>&1
}
