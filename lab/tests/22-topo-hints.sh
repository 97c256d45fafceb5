# kvm-topo hints: guest co-location and priority hints move the vCPU
# threads only inside the affinity and nice range the administrator set
# and the max_boost cap; rate limit, reset and unload give back.
# timeout: 300
. /lab/lib.sh
load_kvm || fail "kvm"
insmod "$LAB/modules/kvm-topo.ko" || fail "insmod kvm-topo"
p=/sys/module/kvm_topo/parameters
# Bad administrator input is refused and changes nothing.
for bad in "hint_interval_ms 0" "min_io_level 8" "max_boost -1" "max_boost x"; do
	set -- $bad
	if echo "$2" >"$p/$1" 2>/dev/null; then rmmod kvm_topo; fail "$1=$2 accepted"; fi
done
[ "$(cat $p/hint_interval_ms) $(cat $p/min_io_level) $(cat $p/max_boost)" = "100 4 5" ] ||
	{ rmmod kvm_topo; fail "a refused write changed a parameter"; }
"$LAB/bin/topo_hint_test" "$LAB/modules/kvm-topo.ko" ||
	{ rmmod kvm_topo 2>/dev/null; fail "topo_hint_test"; }
! lsmod | grep -q '^kvm_topo ' || fail "the test should have unloaded kvm-topo"
