# Runs inside L2 after 20-guest-pv-follows.sh unloaded the module: loaded
# again with its defaults, it finds hints itself. A real-time task on
# CPU 1 makes it latency-critical, and normal again once the task is gone;
# two processes that wake each other across CPUs 0 and 1 put both in one
# co-location group. Userspace can set priority and group, and signal
# boot completion once. L1 checks the hints reached the vCPU threads.
. /lab/l2-lib.sh
insmod $ko || { echo "guest-pv-hints: insmod failed"; exit 1; }
c0=/sys/devices/system/cpu/cpu0/kvmext
c1=/sys/devices/system/cpu/cpu1/kvmext
cpu=0 c=$c0
[ -d $c1 ] && cpu=1 c=$c1
# The loads run until the effect shows, then stop: under the debug kernel
# in L2 each check of a file can take seconds.
l2-load rt $cpu 300 &
load=$!
ms=$(await '[ "$(cat $c/priority)" = latency ]' 600) ||
	{ kill $load; echo "guest-pv-hints: CPU $cpu running a real-time task stayed $(cat $c/priority)"; exit 1; }
echo "guest-pv-hints: CPU $cpu latency-critical $ms ms after a real-time task started"
kill $load
wait $load
ms=$(await '[ "$(cat $c/priority)" = normal ]' 600) ||
	{ echo "guest-pv-hints: CPU $cpu stayed $(cat $c/priority) after its real-time task ended"; exit 1; }
echo "guest-pv-hints: CPU $cpu normal again $ms ms after it ended"
if [ $cpu = 1 ]; then
	l2-load pingpong 0 1 300 &
	load=$!
	ms=$(await '[ "$(cat $c1/group)" = 1 ]' 600) ||
		{ kill $load; echo "guest-pv-hints: CPUs 0 and 1 waking each other: groups $(cat $c0/group) and $(cat $c1/group)"; exit 1; }
	kill $load
	wait $load
	[ "$(cat $c0/group)" = 1 ] || { echo "guest-pv-hints: CPU 0 in group $(cat $c0/group)"; exit 1; }
	echo "guest-pv-hints: CPUs 0 and 1 in group 1 $ms ms after they started waking each other"
fi
echo background >$c0/priority || { echo "guest-pv-hints: priority refused"; exit 1; }
[ "$(cat $c0/priority)" = background ] || { echo "guest-pv-hints: priority $(cat $c0/priority)"; exit 1; }
echo bogus >$c0/priority 2>/dev/null && { echo "guest-pv-hints: bad priority accepted"; exit 1; }
echo 70000 >$c0/group 2>/dev/null && { echo "guest-pv-hints: group 70000 accepted"; exit 1; }
echo 7 >$c0/group && [ "$(cat $c0/group)" = 7 ] || { echo "guest-pv-hints: group 7 not taken"; exit 1; }
echo auto >$c0/priority && echo auto >$c0/group || { echo "guest-pv-hints: auto refused"; exit 1; }
b=/sys/kernel/guest_pv/boot_complete
[ "$(cat $b)" = 0 ] || { echo "guest-pv-hints: boot complete before it was signalled"; exit 1; }
echo 0 >$b 2>/dev/null && { echo "guest-pv-hints: boot completion taken back"; exit 1; }
echo 1 >$b && [ "$(cat $b)" = 1 ] || { echo "guest-pv-hints: boot completion refused"; exit 1; }
# The hints above may be held back by the interval: let them go out.
sleep 1.5
echo "guest-pv-hints: $(tr '\n' ' ' </sys/kernel/debug/guest_pv/stats)"
# Left loaded for the host-reload check.
exit 0
