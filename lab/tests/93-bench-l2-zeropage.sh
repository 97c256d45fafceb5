# kvm-zeropage density benchmark (make bench): K L2 guests of G MiB each
# boot at the same time under unchanged QEMUs in a host of M MiB, with
# K * G = 2 * M, and every guest zeroes all its memory while it boots
# (init_on_free=1, lab/l2-density). A guest booted when it reached its
# /init check. The host of M MiB is a memory cgroup holding the QEMUs,
# watched every 200 ms by a user-space OOM killer, as earlyoom or
# systemd-oomd would be: above M MiB it kills the largest QEMU (the
# kernel's own OOM killer would fill the console with the stack traces
# the lab fails on). Counted without the module, with it, and with KSM
# (use_zero_pages=1) at its defaults and at 50 times its pages_to_scan.
# timeout: 1800
. /lab/lib.sh
load_kvm || fail "kvm"
M=${ZP_DENSITY_M:-768}
G=${ZP_DENSITY_G:-512}
K=$((2 * M / G))
ksm=/sys/kernel/mm/ksm
cg=/sys/fs/cgroup
ncpu=$(grep -c ^processor /proc/cpuinfo)
mkdir -p $cg
mount -t cgroup2 none $cg 2>/dev/null
echo +memory >$cg/cgroup.subtree_control || fail "no memory cgroup"
mkdir -p $cg/density
[ -e $cg/density/memory.current ] || fail "no memory.current"

# $1 label: what a phase still booting after STUCK_S leaves on L1's
# console: the consoles of its guests that did not boot, where their
# threads are in L1's kernel, and whether KVM and the module still see
# them move, a second apart. Sets emu when every exit traced came from
# L2 running at an address of L1's own kvm_amd code: the emulator's
# nested SVM lost L2's state (Documentation/testing.rst).
density_stuck() {
	local i f p t rip rips
	for i in $(seq $K); do
		f=/tmp/density-$1-$i.log
		grep -q 'L2DENSITY booted' $f && continue
		echo "$1: guest $i still booting after $STUCK_S s; its console:" >/dev/console
		tail -n 40 $f | sed "s/^/$1 guest $i| /" >/dev/console
	done
	for p in $(cat $cg/density/cgroup.procs); do
		for f in /proc/$p/task/*; do
			echo "$1 task $p/${f##*/} $(cat $f/comm 2>/dev/null):" >/dev/console
			sed "s/^/$1   /" $f/stack >/dev/console 2>/dev/null
		done
	done
	# What the stuck vCPUs exit for, and what KVM does about it.
	t=/sys/kernel/tracing
	if [ -d $t/events/kvm ]; then
		: >$t/trace
		for e in kvm_exit kvm_inj_exception kvm_page_fault kvm_emulate_insn kvm_mmio kvm_pio; do
			echo 1 >$t/events/kvm/$e/enable
		done
		sleep 0.2
		echo 0 >$t/events/kvm/enable
		grep -v '^#' $t/trace >/tmp/density-trace.txt
		: >$t/trace
		head -n 80 /tmp/density-trace.txt | sed "s/^/$1 trace: /" >/dev/console
		rips=$(sed -n 's/.*kvm_exit: .* rip \(0x[0-9a-f]*\) .*/\1/p' \
			/tmp/density-trace.txt | sort -u)
		emu=${rips:+${SVM_LO:+1}}
		for rip in $rips; do
			svm_at_kvm_amd $rip || emu=
		done
		[ -n "$emu" ] && echo "$1: every exit traced is of L2 at L1's kvm_amd code ($rips; its .noinstr.text at $SVM_LO): QEMU's nested SVM lost L2's state" >/dev/console
	fi
	for i in 1 2; do
		grep -H . /sys/kernel/debug/kvm/*-*/* 2>/dev/null |
			sed "s/^/$1 kvm stat $i: /" >/dev/console
		sed "s/^/$1 zeropage $i: /" /sys/kernel/debug/kvm/kvm_zeropage/vms \
			>/dev/console 2>/dev/null
		sleep 1
	done
}

# $1 label, $2 how many: for a phase where guests died without being
# killed, prints the exits traced since the phase started (svm_lost in
# lab/lib.sh), and sets emu when at least one vCPU per dead guest ran at
# L1's own kvm_amd code: the emulator's nested SVM put L1's state into
# L2's (Documentation/testing.rst). L2 ends every boot with a triple
# fault too (reboot=t), in its own kernel's text, which does not count.
density_died() {
	local n=$2 at
	[ -d $SVM_TRACE ] || return 0
	grep -v '^#' $SVM_TRACE/trace | head -n 40 | sed "s/^/$1 traced exit: /" >/dev/console
	at=$(svm_lost | wc -l)
	[ $at -ge $n ] || return 0
	emu=1
	echo "$1: $at exit(s) of L2 at L1's kvm_amd code (its .noinstr.text at $SVM_LO) for $n guest(s) that died: QEMU's nested SVM lost L2's state" >/dev/console
}

# $1 label, $2 the QEMU to kill: marks its guest killed. $pids holds,
# in guest order, the sh that runs each QEMU: its parent, or QEMU itself
# where the shell exec()ed the last command.
density_killed() {
	local i=0 sh ppid
	ppid=$(awk '{ print $4 }' /proc/$2/stat 2>/dev/null)
	for sh in $pids; do
		i=$((i + 1))
		if [ "$sh" = "$ppid" ] || [ "$sh" = "$2" ]; then
			: >/tmp/density-$1-$i.killed
		fi
	done
}

# $1 label, $2 "again" on a second try: boots the K guests at once;
# prints how many booted, how many were killed and the highest memory
# the cgroup used (MiB). A guest that neither booted nor was killed
# failed: its console goes to L1's, and the benchmark fails at the end.
# Returns 2, printing nothing, for a first try the emulator stopped or
# killed.
density() {
	local i high=0 cur pid pids= killed=0 n=0 big bigkb kb p t0 f hung= emu= died= sd
	rm -f /tmp/density-$1-*.killed
	svm_trace_clear
	for i in $(seq $K); do
		sh -c ". /lab/lib.sh; echo \$\$ >$cg/density/cgroup.procs
			L2_MEM=${G}M l2_run 0-$((ncpu - 1)) 1 'init_on_free=1 l2suite=density'" \
			>/tmp/density-$1-$i.log 2>&1 &
		pids="$pids $!"
	done
	i=0
	while [ "$(wc -l <$cg/density/cgroup.procs)" -lt $K ] && [ $i -lt 50 ]; do
		sleep 0.2
		i=$((i + 1))
	done
	# The watchdog: until every QEMU is gone. A phase takes about a
	# minute; a guest still booting after STUCK_S is shown and stopped,
	# and fails the benchmark (its console would stay in /tmp), unless
	# the emulator stopped it: then the phase runs once more.
	t0=$(date +%s)
	while [ -n "$(cat $cg/density/cgroup.procs)" ]; do
		if [ $(($(date +%s) - t0)) -gt $STUCK_S ]; then
			density_stuck "$1"
			hung=1
			kill -9 $(cat $cg/density/cgroup.procs) 2>/dev/null
			# Gone before the next phase counts its memory.
			i=0
			while [ -n "$(cat $cg/density/cgroup.procs)" ] && [ $i -lt 150 ]; do
				sleep 0.2
				i=$((i + 1))
			done
			break
		fi
		cur=$(($(cat $cg/density/memory.current) >> 20))
		[ $cur -gt $high ] && high=$cur
		if [ $cur -gt $M ]; then
			big= bigkb=0
			for p in $(pidof qemu-system-x86_64); do
				grep -qx "$p" $cg/density/cgroup.procs || continue
				kb=$(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' /proc/$p/status)
				[ "${kb:-0}" -gt $bigkb ] && { big=$p; bigkb=$kb; }
			done
			[ -n "$big" ] && density_killed "$1" $big &&
				kill -9 $big && killed=$((killed + 1)) &&
				echo "$1: ${cur} MiB used: killed a QEMU of $((bigkb >> 10)) MiB" >/dev/console
		fi
		sleep 0.2
	done
	wait $pids 2>/dev/null
	for i in $(seq $K); do
		f=/tmp/density-$1-$i.log
		if grep -q 'L2DENSITY booted' $f; then
			n=$((n + 1))
		elif [ ! -e /tmp/density-$1-$i.killed ] && [ -z "$hung" ]; then
			echo "$1: guest $i neither booted nor was killed; its console:" >/dev/console
			tail -n 60 $f | sed "s/^/$1 guest $i| /" >/dev/console
			died="$died $1-$i"
		fi
	done
	if [ -n "$died" ]; then
		density_died "$1" $(echo $died | wc -w)
		if [ -n "$emu" ] && [ -z "$2" ]; then
			echo "$1: killed by the emulator; the phase runs once more" >/dev/console
			return 2
		fi
		failed="$failed$died"
	fi
	if [ -n "$hung" ]; then
		if [ -n "$emu" ] && [ -z "$2" ]; then
			echo "$1: stopped by the emulator; the phase runs once more" >/dev/console
			return 2
		fi
		stuck=1
	fi
	# A guest that ends its boot does so by a triple fault (reboot=t):
	# as many shutdown exits as guests booted says the trace works.
	sd=$(svm_shutdowns)
	echo "density $1 booted $n of $K killed $killed high_mib $high shutdown_exits $sd"
}

# $1 label: one phase, run once more if the emulator stopped or killed it.
density_phase() {
	local rc=0
	density "$1" >>$r || rc=$?
	[ $rc = 2 ] || return 0
	emulator="$emulator $1"
	density "$1" again >>$r
}

r=/tmp/density.txt
: >$r
# Every shutdown exit of the guests and every exit at L1's own kvm_amd
# code (lab/lib.sh), armed before any guest runs. Every phase pays the
# same for it: a filtered event on each exit of L2.
if ! svm_trace_start; then
	echo "# no trace of the guests' exits: a guest that dies is not told apart"
fi
trap svm_trace_stop EXIT
STUCK_S=240
stuck=0
failed=
emulator=
density_phase none
insmod "$LAB/modules/kvm-zeropage.ko" || fail "insmod kvm-zeropage"
density_phase kvm-zeropage
rmmod kvm_zeropage || fail "rmmod kvm-zeropage"
for scan in 100 5000; do
	echo 2 >$ksm/run
	echo 1 >$ksm/use_zero_pages
	echo $scan >$ksm/pages_to_scan
	echo 1 >$ksm/run
	density_phase "ksm-$scan"
	echo 2 >$ksm/run
done
echo 0 >$ksm/run
sed 's/^/raw: /' $r
for f in /tmp/density-*.log; do
	grep -h 'L2DENSITY\|Linux version' "$f" | sed "s|^|$(basename "$f" .log): |"
done
echo "# density: $K guests of $G MiB booting at once in $M MiB (user-space OOM killer at $M MiB),"
echo "# each zeroing all its memory while booting (init_on_free=1); target: all boot with kvm-zeropage"
awk '{ printf "# %-14s %d of %d booted, %d killed, highest use %d MiB (shutdown exits traced: %s)\n", $2, $4, $6, $8, $10, $12 }' $r
[ -z "$emulator" ] || echo "# run twice, the first stopped or killed by QEMU's nested SVM (L2 at L1's kvm_amd code):$emulator"
[ $stuck = 0 ] || fail "a guest was still booting after $STUCK_S s (its console is above)"
[ -z "$failed" ] || fail "guests neither booted nor killed:$failed (their consoles are above)"
