# kvm-topo's opt-in vnuma policy: a vCPU whose page lies in memory bound
# to a host node is kept on that node's CPUs; only with vnuma=1.
# timeout: 120
. /lab/lib.sh
load_kvm || fail "kvm"
insmod "$LAB/modules/kvm-topo.ko" || fail "insmod kvm-topo"
"$LAB/bin/topo_vnuma_test" || { rmmod kvm_topo; fail "topo_vnuma_test"; }
rmmod kvm_topo || fail "rmmod kvm-topo"
