# guest-pv benchmark (make bench): the hint-effect benchmark of kvm-topo
# with the hint coming from guest-pv inside a real Linux guest. L2 (one
# vCPU, unchanged QEMU) shares L1 CPU 1 with a busy loop; a real-time task
# in L2 measures its wake-up lateness with and without guest-pv
# (lab/l2-bench/10-hint-latency.sh). Prints p50/p99/max per round and the
# ratio of the p99s.
# timeout: 1200
. /lab/lib.sh
load_kvm || fail "kvm"
insmod "$LAB/modules/kvm-topo.ko" || fail "insmod kvm-topo"
tr=/sys/kernel/tracing
echo 1 >$tr/events/kvm_topo/kvm_topo_hint/enable || fail "no kvm_topo_hint event"
# Two administrator settings: nice only (max_boost 5), then with a 90 %
# real-time budget, which lets the latency-critical vCPU run SCHED_FIFO.
for budget in 0 90; do
	echo $budget >/sys/module/kvm_topo/parameters/rt_budget_pct ||
		fail "rt_budget_pct $budget"
	cat $tr/trace_pipe >/tmp/l2-bench.trace &
	tracer=$!
	taskset -c 1 sh -c 'while :; do :; done' &
	hog=$!
	l2_run 1 1 l2bench | tee /tmp/l2-bench.log | sed 's/^/L2| /' >/dev/console
	kill $hog $tracer
	# The "with" runs only mean something if the hint reached the thread.
	n=$(grep -c 'hint 0x40000 -> nice -5' /tmp/l2-bench.trace)
	[ "$n" -ge 1 ] || fail "guest-pv's hint never reached the vCPU thread"
	sed -i 's/\r$//' /tmp/l2-bench.log
	grep -q '^L2KTAP ok .*hint-latency' /tmp/l2-bench.log || fail "the L2 benchmark did not run"
	grep '^L2BENCH round' /tmp/l2-bench.log | awk -v budget=$budget -v applied=$n '
BEGIN {
	print "# hint effect in L2, rt_budget_pct " budget ": p99 wake-up lateness of a SCHED_FIFO task (0.5 ms work"
	print "# per 1 ms), its vCPU thread sharing an L1 CPU with a busy loop; guest-pv sends the hint itself,"
	print "# which kvm-topo applied " applied " times"
	printf "# %-6s %28s %28s %8s\n", "round", "without: p50 / p99 / max us", "with: p50 / p99 / max us", "p99 x"
}
{
	# L2BENCH round R without N P50 P99 MAX with N P50 P99 MAX
	r = $3; wp99 = $7; gp99 = $12
	ratio[++n] = gp99 > 0 ? wp99 / gp99 : 0
	printf "# %-6s %28s %28s %8.1f\n", r, $6 " / " $7 " / " $8, $11 " / " $12 " / " $13, ratio[n]
}
END {
	if (!n) exit 1
	# median of the per-round ratios
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
		if (ratio[j] < ratio[i]) { t = ratio[i]; ratio[i] = ratio[j]; ratio[j] = t }
	printf "# hint effect in L2, rt_budget_pct %d: p99 without/with guest-pv, median of %d rounds: %.1fx\n", budget, n, ratio[int((n + 1) / 2)]
}' || fail "no benchmark rounds"
done
echo 0 >/sys/module/kvm_topo/parameters/rt_budget_pct
rmmod kvm_topo || fail "rmmod kvm-topo"
