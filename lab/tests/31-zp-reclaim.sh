# kvm-zeropage hands zero-filled guest pages back: 4K pages, whole and
# split 2 MB pages, pinned pages left alone, and every byte read back from
# the VMM and from the guest (selftests/kvm/zp_reclaim_test.c). Afterwards
# the mm's own accounting must agree: a wrong RSS or rmap count shows up
# as "BUG: Bad rss-counter" or "Bad page map" when the VM's process exits,
# which the console scan fails.
# timeout: 300
. /lab/lib.sh
load_kvm || fail "kvm"
# flush_ms=0: these tests count scans started by the threshold alone.
insmod "$LAB/modules/kvm-zeropage.ko" flush_ms=0 || fail "insmod kvm-zeropage"
"$LAB/bin/zp_reclaim_test" || { rmmod kvm_zeropage; fail "zp_reclaim_test"; }
rmmod kvm_zeropage || fail "rmmod kvm-zeropage"
