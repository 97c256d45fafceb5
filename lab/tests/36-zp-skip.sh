# kvm-zeropage leaves alone, and counts by reason, zero pages it must not
# hand back: mlock()ed, registered with userfaultfd, under dirty logging,
# shared memory; a plain memslot beside them gets its pages handed back
# (selftests/kvm/zp_skip_test.c).
# timeout: 300
. /lab/lib.sh
load_kvm || fail "kvm"
# flush_ms=0: the test starts its scan through the threshold.
insmod "$LAB/modules/kvm-zeropage.ko" flush_ms=0 || fail "insmod kvm-zeropage"
"$LAB/bin/zp_skip_test" || { rmmod kvm_zeropage; fail "zp_skip_test"; }
rmmod kvm_zeropage || fail "rmmod kvm-zeropage"
