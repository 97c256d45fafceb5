# kvm-topo hints: guest co-location and priority hints move the vCPU
# threads only inside the affinity and nice range the administrator set
# and the max_boost cap; rate limit, reset and unload give back.
# timeout: 300
. /lab/lib.sh
load_kvm || fail "kvm"
# Out-of-range load-time parameters refuse the load, with a clear line.
for bad in notify_interval_ms=0 capacity_window_ms=5; do
	if insmod "$LAB/modules/kvm-topo.ko" $bad 2>/dev/null; then
		rmmod kvm_topo; fail "loaded with $bad"
	fi
	dmesg | grep -q "invalid for parameter .${bad%=*}" || fail "no message for $bad"
done
insmod "$LAB/modules/kvm-topo.ko" || fail "insmod kvm-topo"
p=/sys/module/kvm_topo/parameters
# Bad administrator input is refused and changes nothing.
for bad in "hint_interval_ms 0" "min_io_level 8" "max_boost -1" "max_boost x" \
	"rt_budget_pct 91"; do
	set -- $bad
	if echo "$2" >"$p/$1" 2>/dev/null; then rmmod kvm_topo; fail "$1=$2 accepted"; fi
done
[ "$(cat $p/hint_interval_ms) $(cat $p/min_io_level) $(cat $p/max_boost) $(cat $p/rt_budget_pct)" = "100 4 5 0" ] ||
	{ rmmod kvm_topo; fail "a refused write changed a parameter"; }
tr=/sys/kernel/tracing
# Tools decode the hint's source (trace-cmd, perf) from the format file:
# numbers there, not the C enum's names.
f=$tr/events/kvm_topo/kvm_topo_hint_write/format
grep -q '{ 1, "hypercall" }' $f && ! grep -q KVMEXT_HINT_VIA $f ||
	{ cat $f; rmmod kvm_topo; fail "kvm_topo_hint_write format does not define its via values"; }
echo >$tr/trace
echo 1 >$tr/events/kvm_topo/kvm_topo_hint/enable || fail "no kvm_topo_hint event"
# Unloading a module clears the trace buffer of its events: keep a copy.
cat $tr/trace_pipe >/tmp/topo.trace &
pipe=$!
"$LAB/bin/topo_hint_test" "$LAB/modules/kvm-topo.ko" ||
	{ kill $pipe; rmmod kvm_topo 2>/dev/null; fail "topo_hint_test"; }
sleep 1
kill $pipe
grep -q 'kvm_topo_hint: vm [0-9]* vcpu 1 hint 0x[0-9a-f]* -> nice 0 on [0-9]* cpus (clamped)' /tmp/topo.trace ||
	{ tail -n 20 /tmp/topo.trace; fail "no clamped kvm_topo_hint event"; }
! lsmod | grep -q '^kvm_topo ' || fail "the test should have unloaded kvm-topo"
