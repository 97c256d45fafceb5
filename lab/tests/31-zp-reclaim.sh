# kvm-zeropage hands zero-filled guest pages back: 4K pages, whole and
# split 2 MB pages, pinned pages left alone, and every byte read back from
# the VMM and from the guest (selftests/kvm/zp_reclaim_test.c). Afterwards
# the mm's own accounting must agree: a wrong RSS or rmap count shows up
# as "BUG: Bad rss-counter" or "Bad page map" when the VM's process exits,
# which the console scan fails.
# khugepaged runs with max_ptes_none=0, the setting Documentation/
# kvm-zeropage.rst asks of hosts that overcommit memory: at its default
# of 511 it collapses the four split 2 MB pages again whenever its scan
# reaches them, 2044 pages handed back turned into memory again (seen in
# a stock and a debug run), which zp-khugepaged tests on its own.
# timeout: 300
. /lab/lib.sh
load_kvm || fail "kvm"
k=/sys/kernel/mm/transparent_hugepage/khugepaged/max_ptes_none
old_none=$(cat $k)
trap 'echo "$old_none" >$k' EXIT
echo 0 >$k || fail "max_ptes_none"
# flush_ms=0: these tests count scans started by the threshold alone.
insmod "$LAB/modules/kvm-zeropage.ko" flush_ms=0 || fail "insmod kvm-zeropage"
"$LAB/bin/zp_reclaim_test" || { rmmod kvm_zeropage; fail "zp_reclaim_test"; }
rmmod kvm_zeropage || fail "rmmod kvm-zeropage"
