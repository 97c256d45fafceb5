# Runs inside L2 after 10-guest-pv.sh. L1 moves vCPU 1's thread between
# the L1 CPU next to vCPU 0's (same package) and one in the other package
# every second; CPU 0's package mask must show both placements, and so
# must the scheduler: one MC (last-level cache) domain over CPUs 0-1 when
# they share a host package, only the DIE level when they do not. The
# host's change interrupts must have arrived and led the rebuilds. Then
# CPU 1 goes offline (its page is given up) and back, and the module
# unloads, leaving the firmware's domains.
. /lab/l2-lib.sh
d1=/sys/devices/system/cpu/cpu1/kvmext
dom=/sys/kernel/debug/sched/domains/cpu0/domain0/name
if [ ! -d $d1 ]; then
	rmmod guest_pv || exit 1
	echo "one CPU in this L2 (debug tier): nothing to follow"
	exit 4
fi
# Userspace hears of each change through a uevent on the CPU device.
: >/tmp/uevents
uevent sh -c 'echo "$ACTION $DEVPATH" >>/tmp/uevents' &
listener=$!
# A halted vCPU does not run, so the host has no new place for it: keep
# CPU 1 busy while L1 moves its thread.
taskset -c 1 sh -c 'while :; do :; done' &
spin=$!
together= apart= mc= die= i=0
while [ $i -lt 300 ] && { [ -z "$together" ] || [ -z "$apart" ] || [ -z "$mc" ] || [ -z "$die" ]; }; do
	case "$(cat $d/package_siblings)" in
	0-1) [ -n "$together" ] || together=$i ;;
	0) [ -n "$apart" ] || apart=$i ;;
	esac
	case "$(cat $dom 2>/dev/null)" in
	MC) [ -n "$mc" ] || mc=$i ;;
	DIE) [ -n "$die" ] || die=$i ;;
	esac
	sleep 0.1
	i=$((i + 1))
done
kill $spin $listener
[ -n "$together" ] && [ -n "$apart" ] ||
	{ echo "guest-pv-follows: package mask never showed both placements ($(cat $d/package_siblings))"; exit 1; }
echo "guest-pv-follows: CPU 0's package mask showed 0-1 after $((together * 100)) ms and 0 after $((apart * 100)) ms; node mask $(cat $d/node_siblings)"
[ -n "$mc" ] && [ -n "$die" ] ||
	{ echo "guest-pv-follows: CPU 0's first domain never was both MC and DIE (MC at ${mc:-never}, DIE at ${die:-never})"; cat $st; exit 1; }
echo "guest-pv-follows: CPU 0's first domain was MC after $((mc * 100)) ms and DIE after $((die * 100)) ms"
grep -q '^change /devices/system/cpu/cpu0$' /tmp/uevents ||
	{ echo "guest-pv-follows: no change uevent for cpu0 ($(sort /tmp/uevents | uniq -c | tr '\n' ' '))"; exit 1; }
echo "guest-pv-follows: $(grep -c '^change /devices/system/cpu/cpu' /tmp/uevents) change uevents on CPU devices"
irqs=$(stat irqs) timed=$(stat rebuilds_timed)
[ "$irqs" -gt 0 ] || { echo "guest-pv-follows: no change interrupt arrived"; cat $st; exit 1; }
[ "$timed" -gt 0 ] || { echo "guest-pv-follows: no rebuild followed an interrupt"; cat $st; exit 1; }
echo "guest-pv-follows: $irqs change interrupts, $(stat rebuilds) domain rebuilds; interrupt to domains rebuilt: last $(($(stat rebuild_ns_last) / 1000)) us, mean $(($(stat rebuild_ns_sum) / timed / 1000)) us, max $(($(stat rebuild_ns_max) / 1000)) us over $timed"
echo 0 >/sys/devices/system/cpu/cpu1/online || { echo "guest-pv-follows: offline failed"; exit 1; }
[ "$(cat $d1/host)" = unregistered ] || { echo "guest-pv-follows: offline CPU 1 is $(cat $d1/host)"; exit 1; }
echo 1 >/sys/devices/system/cpu/cpu1/online || { echo "guest-pv-follows: online failed"; exit 1; }
case "$(cat $d1/host)" in gone|unregistered) echo "guest-pv-follows: CPU 1 back as $(cat $d1/host)"; exit 1 ;; esac
[ "$(cat $d1/vector)" != none ] || { echo "guest-pv-follows: CPU 1 came back without a vector"; exit 1; }
rmmod guest_pv || { echo "guest-pv-follows: rmmod failed"; exit 1; }
[ ! -e $d ] || { echo "guest-pv-follows: $d left behind"; exit 1; }
grep -q kvmext-topo /proc/interrupts && { echo "guest-pv-follows: interrupts left behind"; exit 1; }
echo "guest-pv-follows: after unload CPU 0's first domain is $(cat $dom)"
exit 0
