# SPDX-License-Identifier: GPL-2.0
# Helpers for the L2 guest's checks (lab/l2-tests/*.sh), sourced in L2 as
# /lab/l2-lib.sh.

ko=/lab/modules/guest-pv.ko
d=/sys/devices/system/cpu/cpu0/kvmext
st=/sys/kernel/debug/guest_pv/stats

# One counter of guest-pv's statistics.
stat() { sed -n "s/^$1  *//p" $st; }

# Asks L1 for something on the console (lab/tests/40-l2-boot.sh acts on it).
ask() { echo "L2SYNC $1" >/dev/console; }

# Waits up to $2 tenths of a second for the shell test $1 to hold; prints
# how long it took in ms, fails if it never did.
await() {
	local i=0
	until eval "$1"; do
		[ $i -lt $2 ] || return 1
		sleep 0.1
		i=$((i + 1))
	done
	echo $((i * 100))
}

# CPU 0 is registered with a host that serves the interface.
valid() { case "$(cat $d/host 2>/dev/null)" in ''|gone|unregistered) return 1 ;; esac; }
