# KUnit suite of kvm-zeropage's budget, recording, threshold and parsing
# logic (debug kernel only).
# timeout: 120
# skip-ok: stock
. /lab/lib.sh
run_kunit kvm_zeropage_kunit
