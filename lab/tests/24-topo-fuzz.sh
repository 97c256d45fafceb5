# kvm-topo against a hostile guest: 100000 random and crafted writes to
# the kvmext MSRs from two vCPUs while the host deletes and re-creates a
# memslot under a registration; then 20 VMs that register and die at
# once; kvm-topo is unloaded and reloaded in the middle. The host must
# stay clean (console scan, kmemleak) and no hint may
# take a vCPU thread outside its allowed CPUs or nice range.
# timeout: 900
. /lab/lib.sh
load_kvm || fail "kvm"
insmod "$LAB/modules/kvm-topo.ko" || fail "insmod kvm-topo"
"$LAB/bin/topo_fuzz_test" 50000 "$LAB/modules/kvm-topo.ko" || { rmmod kvm_topo; fail "topo_fuzz_test"; }
cat /sys/kernel/debug/kvm/kvm_topo/stats
rmmod kvm_topo || fail "rmmod kvm-topo"
