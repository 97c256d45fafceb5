# Runs inside L2, last. L1 live-migrates this guest, when asked on the
# console, from its QEMU to a second QEMU (lab/tests/40-l2-boot.sh). QEMU
# does not know the kvmext MSRs, so the new VM has no registration:
# guest-pv must notice by itself, register every CPU again and read a
# consistent topology from the new VM.
. /lab/l2-lib.sh
insmod $ko auto_hints=0 || { echo "guest-pv-migrate: insmod failed"; exit 1; }
await valid 100 >/dev/null || { echo "guest-pv-migrate: not registered ($(cat $d/host))"; exit 1; }
r0=$(stat reregistered)
ask migrate
ms=$(await '[ "$(stat reregistered)" -gt "$r0" ] && valid' 3000) ||
	{ echo "guest-pv-migrate: no new registration 300 s after asking to migrate (host $(cat $d/host))"; cat $st; exit 1; }
n=$(($(stat reregistered) - r0))
# Every CPU registered again: the new VM publishes on each.
for c in /sys/devices/system/cpu/cpu[0-9]*/kvmext; do
	cpu=${c%/kvmext}
	cpu=${cpu##*cpu}
	g=$(cat $c/generation)
	await '[ "$(cat $c/generation)" != "$g" ]' 100 >/dev/null ||
		{ echo "guest-pv-migrate: CPU $cpu's generation stays $g after the migration"; exit 1; }
	for m in smt_siblings package_siblings node_siblings; do
		case ",$(cat $c/$m)," in
		*",$cpu,"*|*",$cpu-"*|*"-$cpu,"*) ;;
		*) echo "guest-pv-migrate: CPU $cpu's $m is $(cat $c/$m)"; exit 1 ;;
		esac
	done
done
echo "guest-pv-migrate: registered again $ms ms after asking to migrate ($n re-registrations); package mask of CPU 0 now $(cat $d/package_siblings)"
rmmod guest_pv || { echo "guest-pv-migrate: rmmod failed"; exit 1; }
exit 0
