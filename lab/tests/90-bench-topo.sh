# kvm-topo benchmarks (make bench): staleness of the page after a move of
# the vCPU thread, and the time ratio of an exit- and migration-heavy loop
# with and without the module, and the p99 lateness of a latency-critical
# guest timer under 2:1 overcommit with and without the hint.
# timeout: 1200
. /lab/lib.sh
load_kvm || fail "kvm"
insmod "$LAB/modules/kvm-topo.ko" || fail "insmod kvm-topo"
"$LAB/bin/topo_bench" staleness || { rmmod kvm_topo; fail "staleness"; }
rmmod kvm_topo || fail "rmmod kvm-topo"
"$LAB/bin/topo_bench" overhead "$LAB/modules/kvm-topo.ko" || fail "overhead"
"$LAB/bin/topo_bench" latency "$LAB/modules/kvm-topo.ko" || fail "latency"
