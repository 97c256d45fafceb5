# The hook helper on KVM functions with a VM running: hooks fire, unload
# leaves the VM running and nothing behind, missing symbols refuse the load.
# timeout: 180
. /lab/lib.sh
load_kvm || fail "kvm"
"$LAB/bin/hook_helper_test" "$LAB/modules/kvmext_hooktest.ko"
