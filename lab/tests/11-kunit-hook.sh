# KUnit suite of the hook helper (debug kernel only).
# timeout: 120
# skip-ok: stock
. /lab/lib.sh
run_kunit kvmext_hook_kunit
