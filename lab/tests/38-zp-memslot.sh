# kvm-zeropage under memslot changes and VM destroy made in the middle of
# a scan (slowed down through scan_rate): a move, a delete, dirty logging
# switched on, a memslot added, the VM destroyed; no page may read other
# than as written, and the counters must follow
# (selftests/kvm/zp_memslot_test.c).
# timeout: 600
. /lab/lib.sh
load_kvm || fail "kvm"
# flush_ms=0: the test starts each scan through the threshold.
insmod "$LAB/modules/kvm-zeropage.ko" flush_ms=0 || fail "insmod kvm-zeropage"
"$LAB/bin/zp_memslot_test" || { rmmod kvm_zeropage; fail "zp_memslot_test"; }
rmmod kvm_zeropage || fail "rmmod kvm-zeropage"
