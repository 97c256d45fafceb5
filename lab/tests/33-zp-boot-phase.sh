# kvm-zeropage's boot phase: in boot mode scans stop once boot completion
# is signalled, through sysfs or by the guest's MSR_KVMEXT_HINT bit 40
# (accepted by kvm-topo, which the test loads) (selftests/kvm/zp_boot_test.c).
# timeout: 300
. /lab/lib.sh
load_kvm || fail "kvm"
# flush_ms=0: these tests count scans started by the threshold alone.
insmod "$LAB/modules/kvm-zeropage.ko" flush_ms=0 || fail "insmod kvm-zeropage"
"$LAB/bin/zp_boot_test" "$LAB/modules/kvm-topo.ko" ||
	{ rmmod kvm_topo 2>/dev/null; rmmod kvm_zeropage; fail "zp_boot_test"; }
rmmod kvm_zeropage || fail "rmmod kvm-zeropage"
