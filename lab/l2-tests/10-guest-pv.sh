# Runs inside L2. guest-pv loads against kvm-topo in L1, shows the host's
# topology, keeps reading it, takes the host's change interrupt on a vector
# of its own, sends a latency-critical hint (which L1 checks reached the
# vCPU thread), refuses a second one within the rate limit. Automatic
# hints are off here so that only this check's hint goes out.
. /lab/l2-lib.sh
[ -e $ko ] || { echo "guest-pv: no $ko"; exit 1; }
# A long hint interval: under emulation two writes can be 100 ms apart.
insmod $ko auto_hints=0 hint_interval_ms=60000 || { echo "guest-pv: insmod failed"; exit 1; }
# Each mask holds at least the CPU itself; which others depends on where L1
# runs the vCPU threads (20-guest-pv-follows.sh).
for m in smt_siblings package_siblings node_siblings; do
	case "$(cat $d/$m)" in 0|0-*|0,*) ;; *) echo "guest-pv: $m $(cat $d/$m)"; exit 1 ;; esac
done
h=$(cat $d/host)
case "$h" in gone|unregistered) echo "guest-pv: host $h"; exit 1 ;; esac
# Every CPU has its own vector, shown in /proc/interrupts.
for c in /sys/devices/system/cpu/cpu[0-9]*/kvmext; do
	v=$(cat $c/vector)
	[ "$v" -ge 32 ] 2>/dev/null && [ "$v" -le 255 ] ||
		{ echo "guest-pv: ${c%/kvmext} has vector $v"; exit 1; }
done
grep -q kvmext-topo /proc/interrupts || { echo "guest-pv: no kvmext-topo in /proc/interrupts"; exit 1; }
g0=$(cat $d/generation)
[ "$g0" -gt 0 ] || { echo "guest-pv: generation $g0"; exit 1; }
# The host republishes the capacity at least every window (100 ms) in
# which the vCPU is scheduled: the copy must follow.
i=0
while [ $i -lt 100 ]; do
	g=$(cat $d/generation)
	[ "$g" != "$g0" ] && break
	sleep 0.1
	i=$((i + 1))
done
[ "$g" != "$g0" ] || { echo "guest-pv: generation stayed $g0"; exit 1; }
echo "guest-pv: host epoch $h, generation $g0 then $g, capacity $(cat $d/capacity), vector $(cat $d/vector)"
echo 0x40000 >$d/hint || { echo "guest-pv: hint refused"; exit 1; }
if echo 0x40000 >$d/hint 2>/dev/null; then
	echo "guest-pv: a second hint within the interval was accepted"; exit 1
fi
[ "$(cat $d/priority)" = latency ] || { echo "guest-pv: priority $(cat $d/priority) after a latency hint"; exit 1; }
[ "$(cat $d/hint)" = 0x40000 ] || { echo "guest-pv: last hint $(cat $d/hint)"; exit 1; }
echo 100 >/sys/module/guest_pv/parameters/hint_interval_ms
# Left loaded for 20-guest-pv-follows.sh, which unloads it.
