# kvm-topo discovery: without the module a guest's probe faults as on stock
# KVM; with it, it reads the kvmext magic and ABI version, and only the
# served MSR changes; after unload, stock behaviour again. Counters agree.
# timeout: 120
. /lab/lib.sh
load_kvm || fail "kvm"
stats=/sys/kernel/debug/kvm/kvm_topo/stats
"$LAB/bin/topo_probe_test" absent || fail "before load"
insmod "$LAB/modules/kvm-topo.ko" || fail "insmod kvm-topo"
"$LAB/bin/topo_probe_test" present || { rmmod kvm_topo; fail "with the module"; }
cat "$stats"
grep -qx 'probe_reads 1' "$stats" || { rmmod kvm_topo; fail "probe_reads should be 1"; }
grep -qx 'probe_writes_rejected 1' "$stats" ||
	{ rmmod kvm_topo; fail "probe_writes_rejected should be 1"; }
rmmod kvm_topo || fail "rmmod kvm-topo"
"$LAB/bin/topo_probe_test" absent || fail "after unload"
