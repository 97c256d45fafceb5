# An unchanged Debian QEMU in L1 boots an L2 Linux guest on the lab's KVM
# with the project's host modules loaded, and the guest's own checks pass
# (lab/l2-tests: guest-pv against kvm-topo); L2's hint reaches its vCPU
# thread in L1. The L2 CPU drops XSAVE: under TCG, L1 KVM reports an
# XSAVE area size without AVX while enumerating AVX, and the L2 kernel WARNs.
# One L2 vCPU: this test runs on one L1 CPU, where two L2 vCPUs of the debug
# tier starved each other into a soft lockup report (23 s).
# timeout: 240
. /lab/lib.sh
load_kvm || fail "kvm"
for m in "$LAB"/modules/*.ko; do
	case "$m" in *_kunit.ko|*/kvmext_hooktest.ko) continue ;; esac
	[ -e "$m" ] && { insmod "$m" || fail "insmod $m"; }
done
# L2's guest-pv sends a latency-critical hint: kvm-topo's trace shows it.
tr=/sys/kernel/tracing
echo >$tr/trace
echo 1 >$tr/events/kvm_topo/kvm_topo_hint/enable || fail "no kvm_topo_hint event"
qemu-system-x86_64 -M microvm -enable-kvm -cpu "${L2_CPU:-host,-xsave}" -smp "${L2_SMP:-1}" -m 256M \
	-nodefaults -no-user-config -display none -no-reboot -serial stdio \
	-kernel /l2/vmlinuz -initrd /l2/initrd \
	-append "console=ttyS0 panic=-1 oops=panic panic_on_warn=1 softlockup_panic=1 watchdog_thresh=30 rcupdate.rcu_cpu_stall_timeout=60 reboot=t" \
	</dev/null 2>&1 | tee /tmp/l2-console.log | sed 's/^/L2| /' >/dev/console
# The serial line ends lines with \r\n.
sed -i 's/\r$//' /tmp/l2-console.log
grep '^L2KTAP' /tmp/l2-console.log | sed 's/^L2KTAP //'
grep -q '^L2KTAP done' /tmp/l2-console.log || fail "L2 did not finish its checks"
# Every planned check must report ok: a kernel message breaking a result
# line must not turn a failure into a pass.
plan=$(sed -n 's/^L2KTAP 1\.\.\([0-9]*\)$/\1/p' /tmp/l2-console.log)
oks=$(grep -c '^L2KTAP ok ' /tmp/l2-console.log)
[ -n "$plan" ] && [ "$plan" -gt 0 ] || fail "L2 reported no plan"
[ "$oks" -eq "$plan" ] || fail "$oks of $plan L2 checks passed"
grep 'kvm_topo_hint:' $tr/trace | grep -q 'vcpu 0 hint 0x40000 -> nice -5' ||
	{ grep kvm_topo $tr/trace; fail "L2's hint did not reach its vCPU thread"; }
