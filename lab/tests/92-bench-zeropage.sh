# kvm-zeropage benchmarks (make bench), side by side in one boot
# (selftests/kvm/zp_bench.c):
# - reclaim: a 512 MiB VM holds 128 MiB of data and zeroes the other
#   384 MiB. Time from the end of the zeroing until the VMM's memory is
#   within 2 % of the data, and pages scanned per page handed back:
#   no module; kvm-zeropage; KSM with use_zero_pages=1 at its defaults;
#   KSM tuned to scan as fast as kvm-zeropage scanned (pages per second of
#   its scan time). QEMU madvises guest RAM mergeable; so does zp_bench.
# - fault-path overhead, worst case: every page of fresh RAM gets data, so
#   nothing is handed back; time per page with and without the module,
#   in 15 rounds whose order turns round each time, with 2 MB and with
#   4K pages; the ratio compares the lower quartiles of each side's
#   runs, as a slowed host only adds time (the median of the rounds' own
#   ratios is printed too; one run varies by about 4 %). The
#   fault path is the module with no scan (threshold_mb=1048576,
#   flush_ms=0); the module at its defaults also scans every 32 MiB, and
#   in this lab that CPU time is the guest's own: single-threaded TCG runs
#   every L1 CPU on one host thread.
# - pool: what a copy-on-write's own clearing of a 4K page costs against
#   the whole first write; a pool of zero pages could save at most that.
# The memory-over-time samples ("plot" lines) become an image on the host
# (lab/lab.sh bench).
# timeout: 1800
. /lab/lib.sh
load_kvm || fail "kvm"
ksm=/sys/kernel/mm/ksm
[ -w $ksm/run ] || fail "no KSM in kernel $KVER"
b=$LAB/bin/zp_bench
r=/tmp/zp-reclaim.txt
: >$r

ksmd_ticks() {
	awk '{ print $14 + $15 }' "/proc/$(pidof ksmd)/stat"
}

# $1 label, $2 pages_to_scan: one reclaim run under KSM at the default
# 20 ms sleep, with use_zero_pages; prints ksmd's CPU and full scans.
ksm_run() {
	local s0 t0
	echo 2 >$ksm/run
	echo 1 >$ksm/use_zero_pages
	echo 20 >$ksm/sleep_millisecs
	echo "$2" >$ksm/pages_to_scan
	s0=$(cat $ksm/full_scans)
	t0=$(ksmd_ticks)
	echo 1 >$ksm/run
	"$b" reclaim "$1" 120 >>$r || fail "zp_bench reclaim $1"
	echo "ksm $1 pages_to_scan $2 full_scans $(($(cat $ksm/full_scans) - s0)) cpu_ticks $(($(ksmd_ticks) - t0)) hz 100" >>$r
	echo 2 >$ksm/run
}

"$b" reclaim none 5 >>$r || fail "zp_bench reclaim none"
insmod "$LAB/modules/kvm-zeropage.ko" || fail "insmod kvm-zeropage"
"$b" reclaim kvm-zeropage 30 >>$r || { rmmod kvm_zeropage; fail "zp_bench reclaim kvm-zeropage"; }
rmmod kvm_zeropage || fail "rmmod kvm-zeropage"
ksm_run ksm-default 100
# Tuned: KSM's 20 ms batch at the page rate kvm-zeropage scanned at.
tuned=$(awk '$1 == "reclaim" && $2 == "kvm-zeropage" {
	for (i = 3; i < NF; i += 2) v[$i] = $(i + 1)
	rate = v["scan_busy_us"] > 0 ? v["pages_scanned"] / (v["scan_busy_us"] / 1e6) : 0
	n = int(rate * 0.02); if (n < 100) n = 100; if (n > 1000000) n = 1000000; print n }' $r)
ksm_run ksm-tuned "$tuned"
echo 0 >$ksm/run

# $1 label: one fault run, its line so labelled. Not in a pipe, whose
# status would be sed's.
fault_once() {
	"$b" fault $mode >/tmp/zp-fault.txt || return 1
	sed "s/^/$1 /" /tmp/zp-fault.txt >>$r
}
# $1 label, then insmod arguments: one fault run with the module so loaded.
fault_with() {
	local label=$1
	shift
	insmod "$LAB/modules/kvm-zeropage.ko" "$@" || fail "insmod kvm-zeropage $*"
	fault_once $label || { rmmod kvm_zeropage; fail "zp_bench fault $mode"; }
	rmmod kvm_zeropage || fail "rmmod kvm-zeropage"
}
# $1: none, hook or module.
fault_run() {
	case $1 in
	none) fault_once none || fail "zp_bench fault $mode" ;;
	hook) fault_with hook threshold_mb=1048576 flush_ms=0 ;;
	module) fault_with module ;;
	esac
}
# The time per page drifts within one boot (by a fifth, upwards, in some
# runs): a fixed order would favour whatever runs first, so it turns
# round every round, and each round's ratios compare neighbouring runs.
for mode in thp 4k; do
	for i in $(seq 15); do
		if [ $((i % 2)) = 1 ]; then set -- none hook module; else set -- module hook none; fi
		for c; do fault_run "$c"; done
	done
done
"$b" clear >>$r || fail "zp_bench clear"

grep -v '^plot ' $r | sed 's/^/raw: /'
grep '^plot ' $r
awk '
function median(a, n,   i, j, t) {
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
	return a[int((n + 1) / 2)]
}
# The lower quartile: a host that slows the lab down only adds time, so
# the faster runs show the fault path; the median of round ratios moves
# with whichever run of a round was slowed (Documentation/kvm-zeropage.rst).
function lowq(a, n) {
	median(a, n)
	return a[int((n - 1) / 4) + 1]
}
function runs(label, mode,   i, n) {
	n = nf[label SUBSEP mode]
	for (i = 1; i <= n; i++) a[i] = f[label SUBSEP mode, i]
	return n
}
$1 == "reclaim" {
	l = $2; order[++nl] = l
	for (i = 3; i < NF; i += 2) v[l, $i] = $(i + 1)
}
$1 == "ksm" { for (i = 3; i < NF; i += 2) v[$2, $i] = $(i + 1) }
$2 == "fault" { k = $1 SUBSEP $3; f[k, ++nf[k]] = $5; during[k] += $7 }
$1 == "clear" { clear = $3 }
END {
	print "# kvm-zeropage reclaim: a 512 MiB VM keeps 128 MiB of data and zeroes 384 MiB"
	print "# target: within 2 % of the data within 1 s; pages scanned per page handed back at most 1.1"
	print "# (of the zeroing; kvm-zeropage in brackets: from the start, the data pages included)"
	printf "# %-17s %12s %8s %22s %11s %10s\n", "", "to 2 % (ms)", "end MiB", "scanned/handed back", "scan CPU s", "zeroing s"
	for (i = 1; i <= nl; i++) {
		l = order[i]
		ms = v[l, "ms"] < 0 ? "not in " (l == "none" ? 5 : l == "kvm-zeropage" ? 30 : 120) " s" : v[l, "ms"]
		back = (v[l, "vm_mib"] - v[l, "end_mib"]) * 256
		eff = "-"; cpu = "-"
		if (l == "kvm-zeropage") {
			eff = sprintf("%.3f (%.3f)", v[l, "zeroing_scanned"] / (v[l, "zeroing_reclaimed"] > 0 ? v[l, "zeroing_reclaimed"] : 1),
				v[l, "pages_scanned"] / (v[l, "pages_reclaimed"] > 0 ? v[l, "pages_reclaimed"] : 1))
			cpu = sprintf("%.2f", v[l, "scan_busy_us"] / 1e6)
		} else if (l ~ /^ksm/) {
			# KSM reads every mergeable page once per full scan.
			eff = back > 0 ? sprintf(">= %.1f", v[l, "full_scans"] * v[l, "vm_mib"] * 256 / back) : "-"
			cpu = sprintf("%.2f", v[l, "cpu_ticks"] / v[l, "hz"])
			l = l " (" v[l, "pages_to_scan"] ")"
		}
		printf "# %-17s %12s %8d %22s %11s %10.1f\n", l, ms, v[order[i], "end_mib"], eff, cpu, v[order[i], "zero_ms"] / 1000
	}
	print "# (KSM: pages_to_scan per 20 ms in brackets; its scanned figure counts full scans only."
	print "# CPU as L1 accounts it: under single-threaded TCG it includes the turns of the other L1 CPUs)"
	for (m = 0; m < 2; m++) {
		mode = m ? "4k" : "thp"
		n = runs("none", mode); base = median(a, n); qbase = lowq(a, n)
		runs("hook", mode); hook = median(a, n); qhook = lowq(a, n)
		for (i = 1; i <= n; i++) a[i] = f["hook" SUBSEP mode, i] / f["none" SUBSEP mode, i]
		rhook = median(a, n)
		runs("module", mode); with = median(a, n); qwith = lowq(a, n)
		for (i = 1; i <= n; i++) a[i] = f["module" SUBSEP mode, i] / f["none" SUBSEP mode, i]
		rwith = median(a, n)
		printf "# fault-path overhead, %s pages, data in every page (target at most 1.03): lower quartiles of %d runs, %d ns/page without the module, %d with its fault path alone: ratio %.3f\n", mode, n, qbase, qhook, qhook / qbase
		printf "#   medians %d and %d; median of the %d round ratios %.3f\n", base, hook, n, rhook
		printf "#   with its scans too (every 32 MiB, on the same host thread as the guest here): %d ns/page (lower quartile), ratio %.3f; median %d, median of round ratios %.3f; scans while the guest wrote: %d alone, %d with scans\n", qwith, qwith / qbase, with, rwith, during["hook" SUBSEP mode], during["module" SUBSEP mode]
		if (mode == "4k") first = base
	}
	printf "# pool: a 4 KiB clear costs %d ns of a %d ns first write (4K pages): a pool of zero pages would save at most %.1f %%\n", clear, first, 100 * clear / first
}' $r
