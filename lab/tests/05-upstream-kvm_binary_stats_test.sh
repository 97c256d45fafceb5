# Upstream KVM selftest kvm_binary_stats_test, as a health check of the lab's nested KVM.
# timeout: 240
. /lab/lib.sh
load_kvm || fail "kvm"
"$LAB/bin/kvm_binary_stats_test"
