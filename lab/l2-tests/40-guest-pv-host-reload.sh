# Runs inside L2 with guest-pv loaded (30-guest-pv-hints.sh). L1 unloads
# and loads kvm-topo when asked on the console (lab/tests/40-l2-boot.sh).
# - The host goes away under a loaded guest-pv: every CPU reads "gone" and
#   the scheduler gets the firmware's view back.
# - Without the host, guest-pv unloads cleanly and refuses to load again,
#   with its one-line reason.
# - The host comes back: guest-pv loads and registers.
# - The host reloads under a loaded guest-pv: it registers again by itself
#   with the new host (new epoch), and the scheduler follows it again.
. /lab/l2-lib.sh
valid || { echo "guest-pv-reload: not registered at the start ($(cat $d/host))"; exit 1; }
e0=$(cat $d/host)
ask host-unload
ms=$(await '[ "$(cat $d/host)" = gone ]' 1200) ||
	{ echo "guest-pv-reload: host still $(cat $d/host) 120 s after kvm-topo was to unload"; exit 1; }
echo "guest-pv-reload: guest-pv saw the host go $ms ms after asking"
rmmod guest_pv || { echo "guest-pv-reload: rmmod without the host failed"; exit 1; }
if insmod $ko 2>/dev/null; then
	echo "guest-pv-reload: loaded without the host"; exit 1
fi
dmesg | grep -q 'guest_pv: no kvmext topology interface' ||
	{ echo "guest-pv-reload: no reason given for refusing to load"; exit 1; }
ask host-load
ms=$(await 'insmod $ko 2>/dev/null' 1200) ||
	{ echo "guest-pv-reload: guest-pv would not load after kvm-topo came back"; exit 1; }
ms=$(await valid 100) || { echo "guest-pv-reload: loaded but host $(cat $d/host)"; exit 1; }
e1=$(cat $d/host)
[ "$e1" != "$e0" ] || { echo "guest-pv-reload: same epoch $e1 from a new kvm-topo"; exit 1; }
echo "guest-pv-reload: loaded against the new host, epoch $e1"
r0=$(stat reregistered)
ask host-reload
ms=$(await '[ "$(cat $d/host)" != "$e1" ] && valid && [ "$(stat reregistered)" -gt "$r0" ]' 1800) ||
	{ echo "guest-pv-reload: after the host reloaded: host $(cat $d/host), re-registrations $(stat reregistered) (were $r0)"; exit 1; }
echo "guest-pv-reload: registered again with epoch $(cat $d/host) $ms ms after asking for the reload"
rmmod guest_pv || { echo "guest-pv-reload: rmmod failed"; exit 1; }
exit 0
