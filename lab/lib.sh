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

# Multi-threaded TCG's nested SVM (QEMU 7.2) sometimes puts L1's state
# into L2's while L1 reclaims the pages of a running L2, with kvm-zeropage
# as with KSM: L2 goes on at L1's own RIP, the instruction after VMRUN in
# kvm_amd, and loops on nested page faults or shuts down (a triple fault).
# No L2 kernel runs there: L2 loads no modules. See Documentation/
# testing.rst, "The lab's CPUs".
# svm_trace_start arms a trace instance of its own that keeps the kvm_exit
# events of L2 at kvm_amd's .noinstr.text (VMRUN's section, 0x34c bytes
# in 6.1: a 4 KiB window), and every shutdown exit, which shows the trace
# works: L2 ends each boot with one (reboot=t). Arm it before any guest
# runs: enabling a tracepoint patches KVM's exit path, which multi-threaded
# TCG does not survive reliably while vCPUs run it. Returns 1, arming
# nothing, where L1 has no such trace.
SVM_TRACE=/sys/kernel/tracing/instances/svm-lost
svm_trace_start() {
	local ev=$SVM_TRACE/events/kvm/kvm_exit
	SVM_LO=$(cat /sys/module/kvm_amd/sections/.noinstr.text 2>/dev/null)
	case "$SVM_LO" in
	0x????????????????) ;;
	*) SVM_LO=; return 1 ;;
	esac
	SVM_HI=$(printf '0x%x' $((SVM_LO + 4096)))
	[ -d /sys/kernel/tracing/instances ] && mkdir -p $SVM_TRACE 2>/dev/null || return 1
	echo "exit_reason == 127 || (guest_rip >= $SVM_LO && guest_rip < $SVM_HI)" >$ev/filter &&
		echo 1 >$ev/enable && return 0
	rmdir $SVM_TRACE 2>/dev/null
	return 1
}

svm_trace_stop() {
	[ -d $SVM_TRACE ] || return 0
	echo 0 >$SVM_TRACE/events/kvm/kvm_exit/enable
	rmdir $SVM_TRACE
}

svm_trace_clear() {
	[ -d $SVM_TRACE ] && : >$SVM_TRACE/trace
}

# Whether RIP $1 is in the window svm_trace_start found (false if it
# found none).
svm_at_kvm_amd() {
	[ -n "$SVM_LO" ] && [ $(($1 - SVM_LO)) -ge 0 ] && [ $(($1 - SVM_HI)) -lt 0 ]
}

# "tid rip", once per vCPU thread and RIP, for every exit of L2 at
# kvm_amd's code traced since the trace was last cleared.
svm_lost() {
	local tid rip
	[ -d $SVM_TRACE ] || return 0
	sed -n 's/^.*-\([0-9][0-9]*\) *\[[0-9]*\] .*kvm_exit: .* rip \(0x[0-9a-f]*\) .*/\1 \2/p' \
		$SVM_TRACE/trace | sort -u |
		while read -r tid rip; do
			svm_at_kvm_amd $rip && echo "$tid $rip"
		done
}

# How many shutdown exits were traced since the trace was last cleared;
# "-" without the trace.
svm_shutdowns() {
	if [ -d $SVM_TRACE ]; then
		grep -c 'kvm_exit: .* reason shutdown ' $SVM_TRACE/trace
	else
		echo -
	fi
}
