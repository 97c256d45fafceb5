# khugepaged collapses again the 2 MB pages kvm-zeropage split, which is
# counted as such and not as guest writes, and loses no byte
# (selftests/kvm/zp_khugepaged_test.c). khugepaged keeps its default
# max_ptes_none (511) but scans every 100 ms instead of every 10 s.
# timeout: 300
. /lab/lib.sh
load_kvm || fail "kvm"
k=/sys/kernel/mm/transparent_hugepage/khugepaged
old_scan=$(cat $k/scan_sleep_millisecs)
old_alloc=$(cat $k/alloc_sleep_millisecs)
[ "$(cat $k/max_ptes_none)" = 511 ] || fail "max_ptes_none is $(cat $k/max_ptes_none), not the default 511"
echo 100 >$k/scan_sleep_millisecs
echo 100 >$k/alloc_sleep_millisecs
restore() {
	echo "$old_scan" >$k/scan_sleep_millisecs
	echo "$old_alloc" >$k/alloc_sleep_millisecs
}
# flush_ms=0: the test starts its scans through the threshold.
insmod "$LAB/modules/kvm-zeropage.ko" flush_ms=0 || { restore; fail "insmod kvm-zeropage"; }
"$LAB/bin/zp_khugepaged_test" || { rmmod kvm_zeropage; restore; fail "zp_khugepaged_test"; }
restore
rmmod kvm_zeropage || fail "rmmod kvm-zeropage"
