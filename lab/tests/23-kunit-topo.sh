# KUnit suite of kvm-topo's mask, capacity, notification and hint logic
# (debug kernel only).
# timeout: 120
# skip-ok: stock
. /lab/lib.sh
run_kunit kvm_topo_kunit
