# kvm-topo disclosure: two vCPUs register pages; the test moves their
# thread over every L1 CPU and the guest sees each move on its next
# instruction, with masks matching L1's sysfs topology; change interrupts
# coalesce until acknowledged; bad registrations fault; a VMM reset
# unregisters; unload marks the page and a reload serves it again. The
# per-VM counters must then show exactly the rejections the guest caused.
# timeout: 300
. /lab/lib.sh
load_kvm || fail "kvm"
insmod "$LAB/modules/kvm-topo.ko" || fail "insmod kvm-topo"
"$LAB/bin/topo_disclosure_test" "$LAB/modules/kvm-topo.ko" ||
	{ rmmod kvm_topo; fail "topo_disclosure_test"; }
# The reloaded module saw only vCPU 1 register again; the VM is gone, so
# nothing is left in the per-VM table.
vms=/sys/kernel/debug/kvm/kvm_topo/vms
[ -z "$(cat "$vms")" ] || { cat "$vms"; rmmod kvm_topo; fail "per-VM state left after the VM was destroyed"; }
rmmod kvm_topo || fail "rmmod kvm-topo"
