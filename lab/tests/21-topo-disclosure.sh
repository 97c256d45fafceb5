# kvm-topo disclosure: two vCPUs register pages; the test moves their
# thread over every L1 CPU and the guest sees each move on its next
# instruction, with masks matching L1's sysfs topology; change interrupts
# coalesce until acknowledged; bad registrations fault; a VMM reset
# unregisters; unload marks the page and a reload serves it again. The
# per-VM counters must then show exactly the rejections the guest caused,
# and the trace events the updates and interrupts.
# timeout: 300
. /lab/lib.sh
load_kvm || fail "kvm"
insmod "$LAB/modules/kvm-topo.ko" || fail "insmod kvm-topo"
tr=/sys/kernel/tracing
echo >$tr/trace
echo 1 >$tr/events/kvm_topo/enable || fail "no kvm_topo trace events"
# Unloading a module clears the trace buffer of its events: keep a copy.
cat $tr/trace_pipe >/tmp/topo.trace &
pipe=$!
"$LAB/bin/topo_disclosure_test" "$LAB/modules/kvm-topo.ko" ||
	{ kill $pipe; rmmod kvm_topo; fail "topo_disclosure_test"; }
sleep 1
kill $pipe
# The tracepoints saw the page updates and a sent and a held interrupt.
grep -q 'kvm_topo_update: vm [0-9]* vcpu 0 on cpu [0-9]* generation [0-9]* masks' /tmp/topo.trace &&
	grep -q 'kvm_topo_notify: .* vector 0xec .* sent' /tmp/topo.trace &&
	grep -q 'kvm_topo_notify: .* held' /tmp/topo.trace ||
	{ tail -n 20 /tmp/topo.trace; rmmod kvm_topo; fail "trace events missing"; }
# The reloaded module saw only vCPU 1 register again; the VM is gone, so
# nothing is left in the per-VM table.
vms=/sys/kernel/debug/kvm/kvm_topo/vms
[ -z "$(cat "$vms")" ] || { cat "$vms"; rmmod kvm_topo; fail "per-VM state left after the VM was destroyed"; }
rmmod kvm_topo || fail "rmmod kvm-topo"
