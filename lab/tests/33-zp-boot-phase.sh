# kvm-zeropage's boot phase: in boot mode scans stop once boot completion
# is signalled, through sysfs or by the guest's hint bit 40, by MSR or
# hypercall (accepted by kvm-topo, which the test loads and unloads, and
# loads before and after kvm-zeropage) (selftests/kvm/zp_boot_test.c).
# timeout: 300
. /lab/lib.sh
load_kvm || fail "kvm"
# flush_ms=0: these tests count scans started by the threshold alone.
insmod "$LAB/modules/kvm-zeropage.ko" flush_ms=0 || fail "insmod kvm-zeropage"
"$LAB/bin/zp_boot_test" "$LAB/modules/kvm-topo.ko" "$LAB/modules/kvm-zeropage.ko" ||
	{ rmmod kvm_topo 2>/dev/null; rmmod kvm_zeropage; fail "zp_boot_test"; }
rmmod kvm_zeropage || fail "rmmod kvm-zeropage"
