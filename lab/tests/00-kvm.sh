# Stock kvm.ko and kvm-amd.ko load under nested SVM and /dev/kvm appears.
# timeout: 60
. /lab/lib.sh
grep -qw svm /proc/cpuinfo || fail "no SVM in the L1 CPU"
grep -qw npt /proc/cpuinfo || fail "no NPT in the L1 CPU"
load_kvm || fail "cannot load the kvm modules"
cat /sys/module/kvm_amd/parameters/npt /sys/module/kvm_amd/parameters/nested
[ "$(cat /sys/module/kvm_amd/parameters/npt)" = Y ] || fail "kvm_amd without NPT"
case "$(cat /sys/module/kvm_amd/parameters/nested)" in
1|Y) ;;
*) fail "kvm_amd without nested SVM" ;;
esac
