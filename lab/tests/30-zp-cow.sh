# kvm-zeropage: copy-on-write accounting, threshold control and the
# counting scan, seen from a VMM (selftests/kvm/zp_cow_test.c); the module
# unloads with a VM running and loads again, attaching it.
# timeout: 300
. /lab/lib.sh
load_kvm || fail "kvm"
# flush_ms=0: these tests count scans started by the threshold alone.
insmod "$LAB/modules/kvm-zeropage.ko" flush_ms=0 || fail "insmod kvm-zeropage"
"$LAB/bin/zp_cow_test" "$LAB/modules/kvm-zeropage.ko" || { rmmod kvm_zeropage; fail "zp_cow_test"; }
rmmod kvm_zeropage || fail "rmmod kvm-zeropage"
