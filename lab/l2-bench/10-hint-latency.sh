# Benchmark inside L2 (lab/tests/91-bench-l2-hints.sh): a latency-critical
# task (SCHED_FIFO, 0.5 ms of work every 1 ms, as kvm-topo's benchmark)
# on L2's only CPU, whose
# vCPU thread shares its L1 CPU with a busy loop (2:1 overcommit). Its
# wake-up lateness without guest-pv, then with guest-pv loaded with its
# defaults (which finds the real-time task and sends the latency-critical
# hint), in alternating rounds. Prints one L2BENCH line per round.
ko=/lab/modules/guest-pv.ko
secs=${L2BENCH_SECS:-12} warm=${L2BENCH_WARMUP:-2}
# With 0.3 ms per 2 ms the hint made no difference (p99 ratio 0.9): a
# vCPU thread that mostly sleeps already wins its wake-ups under CFS.
work=${L2BENCH_WORK_US:-500} period=${L2BENCH_PERIOD_US:-1000}
run() {
	l2-load lat 0 $secs $warm $work $period |
		sed -n 's/^lat samples \([0-9]*\) p50 \([0-9]*\) p99 \([0-9]*\) max \([0-9]*\)$/\1 \2 \3 \4/p'
}
for round in 1 2 3 4 5; do
	without=$(run)
	[ -n "$without" ] || { echo "hint-latency: no result without guest-pv"; exit 1; }
	insmod $ko || { echo "hint-latency: insmod failed"; exit 1; }
	# The hint goes out within a second of the task starting; the
	# warm-up leaves that second out of both measurements.
	with=$(run)
	rmmod guest_pv || { echo "hint-latency: rmmod failed"; exit 1; }
	[ -n "$with" ] || { echo "hint-latency: no result with guest-pv"; exit 1; }
	echo "L2BENCH round $round without $without with $with"
done
