# Upstream KVM selftest svm_vmcall_test, as a health check of the lab's nested KVM.
# timeout: 240
. /lab/lib.sh
load_kvm || fail "kvm"
"$LAB/bin/svm_vmcall_test"
