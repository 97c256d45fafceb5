# kvm-zeropage loses no write: two vCPUs, a VMM thread and a pinned
# buffer written through its pin (io_uring READ_FIXED) rewrite their pages
# between all-zero and not for 40 rounds, against scans at the smallest
# threshold; every page must end as its writer left it
# (selftests/kvm/zp_integrity_test.c).
# timeout: 600
. /lab/lib.sh
load_kvm || fail "kvm"
insmod "$LAB/modules/kvm-zeropage.ko" || fail "insmod kvm-zeropage"
"$LAB/bin/zp_integrity_test" || { rmmod kvm_zeropage; fail "zp_integrity_test"; }
rmmod kvm_zeropage || fail "rmmod kvm-zeropage"
