# kvm-zeropage end to end: an unchanged Debian QEMU boots an L2 Linux with
# init_on_free=1, whose kernel zeroes all its free memory while booting,
# as Windows does, then runs an application that zeroes most of the
# memory it allocates and keeps data in the rest (lab/l2-zeropage).
# L2 boots twice, first without kvm-zeropage (the baseline), then with it
# loaded before QEMU starts. L1 samples the anonymous memory of the QEMU
# process every second. QEMU's own share is what the baseline holds
# beyond L2's RAM, which L2 zeroed all of. With the module, QEMU must fall
# to its own share plus L2's data (its RAM less what it has free, since
# init_on_free=1 zeroed that, and less what the application zeroed) plus
# a slack of 5 % of L2's RAM; without it, it must not (else the guest did
# not zero its memory and the test shows nothing).
# The data must come back intact, and L2's RAM after the application's
# exit is reported: pages a guest zeroes after a scan found data in them
# are not scanned again (Documentation/kvm-zeropage.rst).
# khugepaged runs with max_ptes_none=0, the setting Documentation/
# kvm-zeropage.rst asks of hosts that overcommit memory (as for KSM's
# zero pages): at its default of 511 it makes a new 2 MB page of every
# split one that still holds data, which in a first run here put back
# 6 MiB a second while L2 sat idle.
# An L2 that QEMU's nested SVM stopped or killed (lab/lib.sh, svm_lost)
# boots once more; a second one fails the test.
# timeout: 1200
. /lab/lib.sh
load_kvm || fail "kvm"
mem=${ZP_L2_MEM:-512}
slack=$((mem * 1024 * 5 / 100))
ncpu=$(grep -c ^processor /proc/cpuinfo)
con=/tmp/zp-l2.console

# Every second while QEMU runs: seconds, QEMU's RssAnon (kB), and the
# last "L2SYNC zp-sample PHASE KB" L2 printed.
sampler() {
	local t=0 pid mark kb
	: >"$1"
	# QEMU is started just after this.
	while ! pidof qemu-system-x86_64 >/dev/null && [ $t -lt 300 ]; do
		sleep 0.1
		t=$((t + 1))
	done
	t=0
	while pid=$(pidof qemu-system-x86_64); do
		mark=$(grep -o 'L2SYNC zp-sample [a-z]* [0-9]*' $con | tail -n 1)
		kb=$(sed -n 's/^RssAnon:[[:space:]]*\([0-9]*\) kB/\1/p' /proc/$pid/status)
		[ -n "$kb" ] && echo "$t $kb ${mark#L2SYNC zp-sample }" >>"$1"
		sleep 1
		t=$((t + 1))
	done
}

# $1: label (without, with). Boots L2 to the end of its check. An L2 the
# emulator stopped or killed (svm_lost, lab/lib.sh) boots once more; the
# samples of the first boot are dropped.
boot_l2() {
	local try l2 lost
	for try in 1 2; do
		svm_trace_clear
		: >$con
		sampler /tmp/zp-$1.samples &
		sampler_pid=$!
		L2_MEM=${mem}M l2_run 0-$((ncpu - 1)) 1 "init_on_free=1 l2suite=zeropage" |
			tee $con | sed 's/^/L2| /' >/dev/console &
		l2=$!
		# A vCPU lost at L1's code loops there for good: stopped once
		# it is still there 5 s later.
		lost=
		while kill -0 $l2 2>/dev/null; do
			sleep 5
			[ -n "$(svm_lost)" ] || continue
			svm_trace_clear
			sleep 5
			lost=$(echo $(svm_lost | head -n 4))
			[ -n "$lost" ] || continue
			echo "$1: L2 still runs at L1's kvm_amd code (tid rip: $lost): stopped" >/dev/console
			kill -9 $(pidof qemu-system-x86_64) 2>/dev/null
			break
		done
		wait $l2
		wait $sampler_pid
		sed -i 's/\r$//' $con
		grep '^L2KTAP' $con | sed "s/^L2KTAP /$1: /"
		grep -q '^L2KTAP ok .* 10-zeropage' $con && return 0
		[ -n "$lost" ] || lost=$(echo $(svm_lost | head -n 4))
		[ -n "$lost" ] && [ $try = 1 ] || break
		echo "# $1: L2 ran at L1's kvm_amd code (tid rip: $lost; .noinstr.text at $SVM_LO): QEMU's nested SVM lost its state; L2 boots once more"
	done
	fail "L2's check failed ($1 kvm-zeropage)"
}

# Per phase of a run: L2's data (kB: its RAM less what L2 said holds only
# zeros), the lowest and the highest RssAnon seen in it (kB), and the
# seconds from the phase's start until RssAnon first came within $2 kB of
# the data (-1: never).
phases() {
	awk -v slack="$2" -v mem=$((mem * 1024)) '
	NF == 4 {
		if (!($3 in data)) { data[$3] = mem - $4; start[$3] = $1; low[$3] = high[$3] = $2; at[$3] = -1; order[++n] = $3 }
		if ($2 < low[$3]) low[$3] = $2
		if ($2 > high[$3]) high[$3] = $2
		if (at[$3] < 0 && $2 <= data[$3] + slack) at[$3] = $1 - start[$3]
	}
	END { for (i = 1; i <= n; i++) print order[i], data[order[i]], low[order[i]], high[order[i]], at[order[i]] }' "$1"
}

k=/sys/kernel/mm/transparent_hugepage/khugepaged/max_ptes_none
old_none=$(cat $k)
trap 'echo "$old_none" >$k; svm_trace_stop' EXIT
echo 0 >$k || fail "max_ptes_none"
svm_trace_start || echo "# no trace of L2's exits: an L2 stopped by QEMU's nested SVM is not told apart"
boot_l2 without
insmod "$LAB/modules/kvm-zeropage.ko" || fail "insmod kvm-zeropage"
# The VM's block disappears with the VM: the last copy L1 read is kept.
(while :; do cat /sys/kernel/debug/kvm/kvm_zeropage/vms >/tmp/zp-vms.new 2>/dev/null &&
	[ -s /tmp/zp-vms.new ] && mv /tmp/zp-vms.new /tmp/zp-vms; sleep 1; done) &
statter=$!
boot_l2 with
kill $statter
rmmod kvm_zeropage || fail "rmmod kvm-zeropage"

phases /tmp/zp-without.samples 0 >/tmp/zp-without.phases
# QEMU's own memory: the baseline's highest after boot, less L2's RAM.
own=$(awk -v mem=$((mem * 1024)) '$1 == "boot" { print ($4 > mem ? $4 - mem : 0) }' /tmp/zp-without.phases)
[ -n "$own" ] || fail "no boot samples without the module"
phases /tmp/zp-with.samples $((own + slack)) >/tmp/zp-with.phases
echo "# L2 with $mem MiB RAM, init_on_free=1; QEMU's anonymous memory (MiB), its own $((own / 1024)) MiB included:"
printf "# %-6s %10s %22s %22s %14s\n" phase "L2 data" "without: low / high" "with: low / high" "s to target"
ok=1
for phase in boot hold freed; do
	w=$(grep "^$phase " /tmp/zp-without.phases) || fail "no $phase samples without the module"
	z=$(grep "^$phase " /tmp/zp-with.phases) || fail "no $phase samples with the module"
	set -- $w
	wlow=$3 whigh=$4
	set -- $z
	printf "# %-6s %10d %22s %22s %14s\n" $phase $(($2 / 1024)) \
		"$((wlow / 1024)) / $((whigh / 1024))" "$(($3 / 1024)) / $(($4 / 1024))" $5
	case $phase in
	boot|hold)
		# Without the module the zeroed memory stays: at least half of it.
		[ "$wlow" -ge $((own + ($2 + mem * 1024) / 2)) ] ||
			{ echo "without the module QEMU held only $wlow kB in $phase"; ok=0; }
		[ "$5" -ge 0 ] ||
			{ echo "with the module QEMU never fell to L2's data + $((own + slack)) kB in $phase"; ok=0; } ;;
	esac
done
echo "# target: L2's data + QEMU's own + 5 % of L2's RAM = data + $(((own + slack) / 1024)) MiB"
sed -n 's/^\(pages_reclaimed\|thp_reclaimed\|thp_split\|thp_kept\|thp_recollapsed\|scans\|flushes\|pages_scanned\|cowed\|bytes_saved\) /# kvm-zeropage: &/p' /tmp/zp-vms
[ $ok = 1 ] || { cat /tmp/zp-with.samples; fail "L2's memory did not fall to its data"; }
