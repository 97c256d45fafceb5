# SPDX-License-Identifier: GPL-2.0
# L2's side of the kvm-zeropage end-to-end test (lab/tests/41-l2-zeropage.sh):
# L2 booted with init_on_free=1, so its kernel zeroed all its free memory
# while booting, as Windows does. L2 tells L1 on the console how much data
# its memory holds only zeros at each point ("L2SYNC zp-sample PHASE KB":
# free memory, which init_on_free=1 zeroed, plus what l2-mem zeroed), and
# waits while L1 samples the host memory of L2's RAM:
#   boot	right after boot;
#   hold	while l2-mem holds 60 % of the free memory, a quarter of it
#		data and the rest zeroed by the application;
#   freed	after l2-mem exited (its pages zeroed again by init_on_free).
. /lab/l2-lib.sh

grep -qw init_on_free=1 /proc/cmdline || { echo "L2 booted without init_on_free=1"; exit 1; }
free_kb() { awk '/^MemFree:/ { print $2 }' /proc/meminfo; }
wait_s=${ZP_WAIT:-20}
ask "zp-sample boot $(free_kb)"
sleep "$wait_s"
mb=$(awk '/^MemFree:/ { print int($2 * 0.6 / 1024) }' /proc/meminfo)
# The sync line comes from l2-mem itself once its buffers are written.
l2-mem "$mb" 4 "$wait_s" >/dev/console
rc=$?
ask "zp-sample freed $(free_kb)"
sleep "$wait_s"
[ $rc = 0 ] || echo "l2-mem found its data changed"
exit $rc
