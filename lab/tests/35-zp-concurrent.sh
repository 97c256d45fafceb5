# kvm-zeropage with several VMs at once: three zp_integrity_test VMs run
# side by side, each with its scans, flushes (flush_ms 100) and memslot
# churn, and each VM is destroyed while the others' scans go on; at most
# two scans run at once (max_scan_workers=2). No write may be lost, and
# the console must stay clean (selftests/kvm/zp_integrity_test.c).
# timeout: 900
. /lab/lib.sh
load_kvm || fail "kvm"
insmod "$LAB/modules/kvm-zeropage.ko" flush_ms=100 max_scan_workers=2 ||
	fail "insmod kvm-zeropage"
pids=
for i in 1 2 3; do
	"$LAB/bin/zp_integrity_test" >/tmp/zp-concurrent.$i 2>&1 &
	pids="$pids $!"
done
st=0
for p in $pids; do
	wait "$p" || st=1
done
for i in 1 2 3; do
	sed "s/^/vm $i: /" /tmp/zp-concurrent.$i
done
# A scan holding a VM reference may be the one to destroy it, a moment later.
i=0
while grep -q . /sys/kernel/debug/kvm/kvm_zeropage/vms && [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
grep -q . /sys/kernel/debug/kvm/kvm_zeropage/vms &&
	{ echo "VM state left behind:"; cat /sys/kernel/debug/kvm/kvm_zeropage/vms; st=1; }
rmmod kvm_zeropage || fail "rmmod kvm-zeropage"
[ $st = 0 ] || fail "a zp_integrity_test failed"
