# Runs inside L2 after 10-guest-pv.sh. L1 moves vCPU 1's thread between
# the L1 CPU next to vCPU 0's (same package) and one in the other package
# every second; CPU 0's package mask must show both placements. Then CPU 1
# goes offline (its page is given up) and back, and the module unloads.
d=/sys/devices/system/cpu/cpu0/kvmext
d1=/sys/devices/system/cpu/cpu1/kvmext
if [ ! -d $d1 ]; then
	rmmod guest_pv || exit 1
	echo "one CPU in this L2 (debug tier): nothing to follow"
	exit 4
fi
# A halted vCPU does not run, so the host has no new place for it: keep
# CPU 1 busy while L1 moves its thread.
taskset -c 1 sh -c 'while :; do :; done' &
spin=$!
seen_together= seen_apart= i=0
while [ $i -lt 300 ] && { [ -z "$seen_together" ] || [ -z "$seen_apart" ]; }; do
	case "$(cat $d/package_siblings)" in
	0-1) [ -n "$seen_together" ] || seen_together=$i ;;
	0) [ -n "$seen_apart" ] || seen_apart=$i ;;
	esac
	sleep 0.1
	i=$((i + 1))
done
kill $spin
[ -n "$seen_together" ] && [ -n "$seen_apart" ] ||
	{ echo "guest-pv-follows: package mask never showed both placements ($(cat $d/package_siblings))"; exit 1; }
echo "guest-pv-follows: CPU 0's package mask showed 0-1 after $((seen_together * 100)) ms and 0 after $((seen_apart * 100)) ms; node mask $(cat $d/node_siblings)"
echo 0 >/sys/devices/system/cpu/cpu1/online || { echo "guest-pv-follows: offline failed"; exit 1; }
[ "$(cat $d1/host)" = unregistered ] || { echo "guest-pv-follows: offline CPU 1 is $(cat $d1/host)"; exit 1; }
echo 1 >/sys/devices/system/cpu/cpu1/online || { echo "guest-pv-follows: online failed"; exit 1; }
case "$(cat $d1/host)" in gone|unregistered) echo "guest-pv-follows: CPU 1 back as $(cat $d1/host)"; exit 1 ;; esac
rmmod guest_pv || { echo "guest-pv-follows: rmmod failed"; exit 1; }
[ ! -e $d ] || { echo "guest-pv-follows: $d left behind"; exit 1; }
