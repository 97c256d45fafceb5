#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The project's VM lab: Debian's stock kernel (and a debug kernel built from
# Debian's linux-source) boots under QEMU/TCG with nested SVM, loads stock
# kvm.ko/kvm-amd.ko and the project's modules, runs the tests and an
# unchanged QEMU that boots a second-level guest.
#
#   lab/lab.sh test [stock|debug|all]   run the test plan (default: all)
#   lab/lab.sh demo                     boot the lab and show what each module does
#   lab/lab.sh bench                    run the benchmarks (lab/tests/*-bench-*.sh)
#   lab/lab.sh fetch | build | shell [stock|debug]
#
# Environment: LAB_CACHE (downloads and kernel builds, default lab/cache),
# LAB_OUT (this run's logs and images, default lab/out), LAB_JOBS (make -j),
# LAB_FILTER (shell glob over test names), LAB_SMP, LAB_MEM.
# Documentation/testing.rst describes the whole flow.

set -euo pipefail
shopt -s extglob

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LAB=$TOP/lab
CACHE=${LAB_CACHE:-$LAB/cache}
OUT=${LAB_OUT:-$LAB/out}
JOBS=${LAB_JOBS:-$(nproc)}
LAB_FILTER=${LAB_FILTER:-*}
# 2 sockets x 1 core x 2 threads over 2 NUMA nodes: SMT siblings, packages
# and nodes differ. 8 vCPUs (2 x 2 x 2) would separate cores from packages
# too, but under multi-threaded TCG on 2 host cores they froze or reset the
# L1 VM in some runs, on both kernels (Documentation/testing.rst).
LAB_SMP=${LAB_SMP:-sockets=2,cores=1,threads=2}
LAB_MEM=${LAB_MEM:-6G}
# QEMU -d items for the L1 VM, for debugging TCG itself (log in the run's dir).
LAB_TCG_DEBUG=${LAB_TCG_DEBUG-}
# TCG threading of the L1 boot that runs the L2 tests (see run_boots).
LAB_L2_TCG=${LAB_L2_TCG:-multi}
# Hard limit for one boot of the L1 VM, in seconds; by default the sum of
# the tests' own limits plus boot time (see vm_timeout).
LAB_VM_TIMEOUT=${LAB_VM_TIMEOUT:-}
# An L1 VM whose heartbeat (init-l1.sh, every 10 s) stopped for this many
# seconds is frozen: its registers are saved and it is stopped.
LAB_STALL=${LAB_STALL:-300}

# Debian packages the lab needs on the machine that runs it.
HOST_PACKAGES="qemu-system-x86 busybox-static kmod cpio xz-utils gcc make
	bc flex bison libelf-dev libssl-dev dwarves sparse perl rsync
	util-linux file dkms socat"

log() { printf 'lab: %s\n' "$*" >&2; }
die() { printf 'lab: error: %s\n' "$*" >&2; exit 1; }

install_host_packages() {
	local missing=() p
	for p in $HOST_PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	[ "$(id -u)" -eq 0 ] || die "missing packages (${missing[*]}); run as root or install them"
	log "installing ${missing[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >/dev/null
}

# ---------------------------------------------------------------- fetch --

# Resolves the current bookworm kernel from the metapackage, so the lab
# follows Debian's ABI bumps without an edit here. Sets KVER (ABI, e.g.
# 6.1.0-56-amd64), PKGVER (e.g. 6.1.192-2) and DEB (its cache folder).
resolve_kernel() {
	local dep
	if [ -z "${LAB_NO_UPDATE:-}" ] && [ ! -e "$CACHE/.apt-updated.$(date +%F)" ]; then
		if apt-get update -qq 2>/dev/null; then
			mkdir -p "$CACHE" && touch "$CACHE/.apt-updated.$(date +%F)"
		else
			log "apt-get update failed; using what apt already knows"
		fi
	fi
	PKGVER=$(apt-cache policy linux-image-amd64 | awk '/Candidate:/ {print $2}')
	if [ -z "$PKGVER" ] || [ "$PKGVER" = "(none)" ]; then
		# Offline: fall back to the newest kernel already in the cache.
		PKGVER=$(ls "$CACHE/debian" 2>/dev/null | sort -V | tail -n 1)
		[ -n "$PKGVER" ] || die "cannot resolve linux-image-amd64 (apt-get update?) and nothing is cached"
		KVER=$(cat "$CACHE/debian/$PKGVER/kver")
	else
		dep=$(apt-cache show "linux-image-amd64=$PKGVER" | awk -F': ' '/^Depends:/ {print $2; exit}')
		KVER=$(printf '%s\n' "$dep" | grep -o 'linux-image-[^ ,]*' | head -n 1 | sed 's/^linux-image-//')
		[ -n "$KVER" ] || die "cannot parse linux-image-amd64 dependencies: $dep"
	fi
	DEB=$CACHE/debian/$PKGVER
	SRC=$DEB/src/linux-source-$(echo "$KVER" | cut -d. -f1-2)
	STOCK_KDIR=$DEB/root/usr/src/linux-headers-$KVER
	STOCK_MODROOT=$DEB/root
	STOCK_VMLINUZ=$DEB/root/boot/vmlinuz-$KVER
}

# Downloads and extracts the stock kernel, its headers and linux-source,
# once per Debian version, under a lock so concurrent runs cannot corrupt
# the cache.
fetch() {
	resolve_kernel
	mkdir -p "$DEB"
	exec 9>"$DEB/.lock"
	flock 9
	if [ ! -e "$DEB/.fetched" ]; then
		local common series
		series=$(echo "$KVER" | cut -d. -f1-2)
		common=${KVER%-amd64}-common
		log "fetching Debian kernel $PKGVER ($KVER)"
		rm -rf "$DEB/debs" "$DEB/root" "$DEB/src"
		mkdir -p "$DEB/debs" "$DEB/root" "$DEB/src"
		(cd "$DEB/debs" && apt-get download -q \
			"linux-image-$KVER=$PKGVER" "linux-headers-$KVER=$PKGVER" \
			"linux-headers-$common=$PKGVER" "linux-kbuild-$series=$PKGVER" \
			"linux-source-$series=$PKGVER" 2>&1 |
			{ grep -v '^W: Download is performed unsandboxed' >&2 || true; }) ||
			die "apt-get download failed"
		local f
		for f in "$DEB"/debs/*.deb; do
			dpkg-deb -x "$f" "$DEB/root"
		done
		log "extracting linux-source-$series"
		tar -xf "$DEB/root/usr/src/linux-source-$series.tar.xz" -C "$DEB/src"
		rm -f "$DEB/root/usr/src/linux-source-$series.tar.xz" "$DEB"/debs/linux-source-*.deb
		echo "$KVER" >"$DEB/kver"
		touch "$DEB/.fetched"
	fi
	# The headers' Makefile includes the common tree by absolute path:
	# point it at our extraction instead of /usr/src, and again on every
	# run, since the cache may have moved (another checkout's, a link).
	sed -i "s#^include .*/usr/src/\(linux-headers-[^/]*/Makefile\)\$#include $DEB/root/usr/src/\1#" \
		"$STOCK_KDIR/Makefile"
	flock -u 9
}

# ------------------------------------------------------------ debug kernel --

# The debug kernel is keyed by the source version and the config fragment,
# so editing lab/debug.config rebuilds it and nothing else does.
debug_paths() {
	local key
	key=$(cat "$LAB/debug.config" | sha256sum | cut -c1-12)
	DBG=$CACHE/debug/$PKGVER-$key
	DEBUG_KDIR=$DBG/build
	DEBUG_MODROOT=$DBG/modroot
	DEBUG_VMLINUZ=$DBG/build/arch/x86/boot/bzImage
}

build_debug_kernel() {
	debug_paths
	mkdir -p "$DBG"
	exec 8>"$DBG/.lock"
	flock 8
	if [ ! -e "$DBG/.built" ]; then
		local t0=$SECONDS opt
		log "building the debug kernel in $DBG (tens of minutes on 2 cores; cached)"
		mkdir -p "$DEBUG_KDIR"
		make -s -C "$SRC" O="$DEBUG_KDIR" x86_64_defconfig kvm_guest.config >"$DBG/config.log" 2>&1
		(cd "$DEBUG_KDIR" && "$SRC/scripts/kconfig/merge_config.sh" -m .config "$LAB/debug.config") \
			>>"$DBG/config.log" 2>&1
		make -s -C "$SRC" O="$DEBUG_KDIR" olddefconfig >>"$DBG/config.log" 2>&1
		# Every option the fragment asks for must have survived olddefconfig.
		while read -r opt; do
			case "$opt" in ''|'#'*) continue ;; esac
			if [ "${opt#*=}" = n ]; then
				! grep -q "^${opt%=n}=" "$DEBUG_KDIR/.config" ||
					die "debug kernel: $opt did not stick (dependencies?)"
			else
				grep -qx "$opt" "$DEBUG_KDIR/.config" ||
					die "debug kernel: $opt did not stick (dependencies?)"
			fi
		done <"$LAB/debug.config"
		make -C "$SRC" O="$DEBUG_KDIR" -j"$JOBS" bzImage modules >"$DBG/build.log" 2>&1 ||
			{ tail -n 30 "$DBG/build.log" >&2; die "debug kernel build failed"; }
		rm -rf "$DEBUG_MODROOT"
		make -s -C "$SRC" O="$DEBUG_KDIR" INSTALL_MOD_PATH="$DEBUG_MODROOT" \
			modules_install >>"$DBG/build.log" 2>&1
		touch "$DBG/.built"
		log "debug kernel built in $((SECONDS - t0)) s"
	fi
	flock -u 8
	DEBUG_KVER=$(cat "$DEBUG_KDIR/include/config/kernel.release")
}

# ---------------------------------------------------------------- build --

# Results of the whole run: one line per test, "ok|not ok|skip<TAB>name<TAB>note".
RESULTS=$OUT/results.tsv

record() {
	local n
	printf '%s\t%s\t%s\n' "$1" "$2" "${3:-}" >>"$RESULTS"
	n=$(wc -l <"$RESULTS")
	case "$1" in
	ok) printf 'ok %d %s\n' "$n" "$2" ;;
	skip) printf 'ok %d %s # SKIP %s\n' "$n" "$2" "$3" ;;
	*) printf 'not ok %d %s # %s\n' "$n" "$2" "$3" ;;
	esac
}

# Shows the tail of a failing host-side step's log, indented as KTAP diagnostics.
show_log() {
	sed 's/^/# /' "$1" | tail -n "${2:-40}"
}

# Builds the project's modules (and the test modules) against one kernel,
# in a copy of the tree so stock and debug builds do not share objects.
# Any compiler or W=1 warning fails the build test.
build_modules() {
	local tier=$1 kdir=$2
	local src=$OUT/$tier/src log=$OUT/$tier/build.log
	mkdir -p "$src"
	# Without the objects of a build in the tree itself: make would take
	# them for up to date and put modules of another kernel in this tier.
	rsync -a --delete --exclude /.git --exclude '/lab/cache' --exclude '/lab/out*' \
		--exclude '*.o' --exclude '*.ko' --exclude '*.mod' --exclude '*.mod.c' \
		--exclude '.*.cmd' --exclude '*.a' --exclude Module.symvers \
		--exclude modules.order "$TOP/" "$src/"
	if make -C "$kdir" M="$src" KVMEXT_TESTS=1 W=1 -j"$JOBS" modules >"$log" 2>&1 &&
		! grep -q 'warning:' "$log"; then
		record ok "build: modules, W=1, no warnings ($tier kernel)"
	else
		show_log "$log"
		record "not ok" "build: modules, W=1, no warnings ($tier kernel)" "see $log"
		return 1
	fi
}

# The two ways a real host installs the modules, into throwaway trees:
# make install (modules_install + depmod) and a DKMS build of dkms.conf.
check_install() {
	local root=$OUT/install log=$OUT/install.log src ver
	rm -rf "$root"
	if make -C "$OUT/stock/src" KDIR="$STOCK_KDIR" INSTALL_MOD_PATH="$root/destdir" \
		install >"$log" 2>&1 &&
		grep -q 'kvm-topo.ko' "$root/destdir/lib/modules/$KVER/modules.dep"; then
		record ok "install: make install, depmod lists the modules"
	else
		show_log "$log"
		record "not ok" "install: make install, depmod lists the modules" "see $log"
	fi
	ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$TOP/dkms.conf")
	src=$root/dkms-src/kvmext-$ver
	mkdir -p "$src" "$root/dkms-tree"
	rsync -a --exclude /.git --exclude '/lab/cache' --exclude '/lab/out*' \
		--exclude '*.o' --exclude '*.ko' --exclude '*.mod' --exclude '*.mod.c' \
		--exclude '.*.cmd' --exclude '*.a' --exclude Module.symvers \
		--exclude modules.order "$TOP/" "$src/"
	if dkms build -m kvmext -v "$ver" -k "$KVER" --kernelsourcedir "$STOCK_KDIR" \
		--dkmstree "$root/dkms-tree" --sourcetree "$root/dkms-src" >"$log.dkms" 2>&1 &&
		[ -f "$root/dkms-tree/kvmext/$ver/$KVER/x86_64/module/kvm-topo.ko" ] &&
		[ -f "$root/dkms-tree/kvmext/$ver/$KVER/x86_64/module/kvm-zeropage.ko" ]; then
		record ok "install: DKMS builds dkms.conf against the stock headers"
	else
		show_log "$log.dkms"
		record "not ok" "install: DKMS builds dkms.conf against the stock headers" "see $log.dkms"
	fi
}

# sparse over every source file of the project (C=2 checks unchanged files too).
check_sparse() {
	local src=$OUT/stock/src log=$OUT/stock/sparse.log
	if make -C "$STOCK_KDIR" M="$src" KVMEXT_TESTS=1 C=2 modules >"$log" 2>&1 &&
		! grep -qE 'warning:|error:' "$log" && grep -q '  CHECK ' "$log"; then
		record ok "style: sparse clean"
	else
		show_log "$log"
		record "not ok" "style: sparse clean" "see $log"
	fi
}

# checkpatch.pl of the fetched linux-source tree over every C source and
# header of the project (the tree is a build-time dependency, not vendored).
check_style() {
	local log=$OUT/checkpatch.log files
	files=$(cd "$TOP" && git ls-files -co --exclude-standard -- '*.c' '*.h' 2>/dev/null ||
		find . -name '*.[ch]' -not -path './lab/*')
	if (cd "$TOP" && "$SRC/scripts/checkpatch.pl" --no-tree --quiet --show-types \
		--ignore FILE_PATH_CHANGES,SPDX_LICENSE_TAG -f $files) >"$log" 2>&1; then
		record ok "style: checkpatch clean"
	else
		show_log "$log" 60
		record "not ok" "style: checkpatch clean" "see $log"
	fi
}

# The project's KVM selftests and the upstream ones the lab uses, static,
# against the selftest library of the fetched tree. Its UAPI headers are
# installed once, outside the tree: an in-tree headers_install would make
# the tree unclean for the debug kernel's O= build. The project's own tests
# build with -Werror; warnings of the upstream library are not ours.
build_selftests() {
	local log=$OUT/selftests.log khdr=$DEB/uapi
	exec 7>"$DEB/.lock-hdr"
	flock 7
	if [ ! -e "$khdr/.installed" ]; then
		rm -rf "$khdr" "$DEB/uapi-build"
		make -s -C "$SRC" O="$DEB/uapi-build" headers_install \
			INSTALL_HDR_PATH="$khdr" >/dev/null 2>&1 ||
			die "headers_install from $SRC failed"
		rm -rf "$DEB/uapi-build"
		touch "$khdr/.installed"
	fi
	flock -u 7
	if make -C "$TOP/selftests/kvm" KSRC="$SRC" KHDR="$khdr/include" \
		OUTPUT="$OUT/selftests" -j"$JOBS" >"$log" 2>&1; then
		record ok "build: KVM selftests"
	else
		show_log "$log"
		record "not ok" "build: KVM selftests" "see $log"
		return 1
	fi
}

# ------------------------------------------------------------ initramfs --

# Prints the dependency closure of the named modules of a module tree,
# dependencies first, from modinfo (never a hand-kept list).
module_closure() {
	local modroot=$1 kver=$2 m
	shift 2
	declare -A seen=()
	visit() {
		local name=$1 file dep
		[ -n "${seen[$name]:-}" ] && return 0
		seen[$name]=1
		file=$(find "$modroot/lib/modules/$kver/kernel" \
			\( -name "$name.ko" -o -name "${name//_/-}.ko" -o -name "${name//-/_}.ko" \) |
			head -n 1)
		[ -n "$file" ] || die "module $name not found in $modroot"
		for dep in $(/sbin/modinfo -F depends "$file" | tr ',' ' '); do
			visit "$dep"
		done
		echo "$file"
	}
	for m in "$@"; do
		visit "$m"
	done
}

# Copies a dynamically linked program and every library ldd lists.
copy_program() {
	local root=$1 prog=$2 lib
	install -D "$prog" "$root$prog"
	for lib in $(ldd "$prog" | grep -o '/[^ ]*'); do
		[ -e "$root$lib" ] || install -D "$(readlink -f "$lib")" "$root$lib"
	done
}

mk_cpio() {
	(cd "$1" && find . -print0 | LC_ALL=C sort -z | cpio --quiet -o -0 -H newc) >"$2"
}

# The L2 guest's initramfs for one tier: busybox, its init, the guest-side
# modules built for that tier's kernel (which L2 boots too) and the load
# generator its checks use.
mk_l2_initramfs() {
	local tier=${1:-stock} root=$OUT/l2/${1:-stock}/root
	rm -rf "$root"
	mkdir -p "$root"/{bin,proc,sys,dev,tmp,lab/modules,lab/tests,lab/bench}
	install -m 755 /bin/busybox "$root/bin/busybox"
	ln -s busybox "$root/bin/sh"
	gcc -static -O2 -Wall -o "$root/bin/l2-load" "$LAB/l2-tools/l2-load.c" ||
		die "cannot build the L2 load generator (needs libc6-dev)"
	install -m 755 "$LAB/init-l2.sh" "$root/init"
	find "$OUT/$tier/src/guest-pv" -name '*.ko' -exec cp {} "$root/lab/modules/" \; 2>/dev/null || true
	cp "$LAB"/l2-tests/*.sh "$root/lab/tests/"
	cp "$LAB"/l2-lib.sh "$root/lab/"
	cp "$LAB"/l2-bench/*.sh "$root/lab/bench/"
	mkdir -p "$root/lab/zeropage" "$root/lab/density"
	cp "$LAB"/l2-zeropage/*.sh "$root/lab/zeropage/"
	cp "$LAB"/l2-density/*.sh "$root/lab/density/"
	gcc -static -O2 -Wall -o "$root/bin/l2-mem" "$LAB/l2-tools/l2-mem.c" ||
		die "cannot build the L2 memory workload (needs libc6-dev)"
	mk_cpio "$root" "$OUT/l2/$tier/initrd"
}

# The L1 VM's initramfs for one tier: busybox, the kvm modules of that
# kernel, the project's modules built for it, the test binaries, an
# unchanged Debian QEMU with its firmware, and the L2 kernel and initramfs.
mk_l1_initramfs() {
	local tier=$1 modroot=$2 kver=$3
	local root=$OUT/$tier/root f
	rm -rf "$root"
	mkdir -p "$root"/{bin,sbin,lab/bin,lab/modules,lab/tests,l2,proc,sys,dev,tmp}
	install -m 755 /bin/busybox "$root/bin/busybox"
	ln -s busybox "$root/bin/sh"
	install -m 755 "$LAB/init-l1.sh" "$root/init"
	cp "$LAB/lib.sh" "$root/lab/"
	cp "$LAB"/tests/*.sh "$root/lab/tests/"
	: >"$root/lab/kvm-modules"
	for f in $(module_closure "$modroot" "$kver" kvm-amd); do
		install -D -m 644 "$f" "$root/lib/modules/$kver/${f#"$modroot/lib/modules/$kver/"}"
		echo "/lib/modules/$kver/${f#"$modroot/lib/modules/$kver/"}" >>"$root/lab/kvm-modules"
	done
	find "$OUT/$tier/src" -name '*.ko' -not -path '*/guest-pv/*' \
		-exec cp {} "$root/lab/modules/" \;
	find "$OUT/selftests" -type f -perm -u+x ! -name '*.[oa]' -exec cp {} "$root/lab/bin/" \;
	copy_program "$root" /usr/bin/qemu-system-x86_64
	mkdir -p "$root/usr/share"
	cp -rL /usr/share/qemu /usr/share/seabios "$root/usr/share/"
	# L2 is Debian's stock kernel on both tiers. With the debug kernel in
	# L2 as well, the debug tier's L1 reported soft lockups of its CPU 0
	# (67 s and 103 s, in 2 of 4 runs; Documentation/testing.rst).
	cp "$STOCK_VMLINUZ" "$root/l2/vmlinuz"
	cp "$OUT/l2/stock/initrd" "$root/l2/initrd"
	mk_cpio "$root" "$OUT/$tier/initrd"
}

# --------------------------------------------------------------- run VM --

# Kernel messages that fail a run even when every assertion passed.
BAD_CONSOLE='WARNING: CPU:|WARNING: at |BUG:|Oops|Kernel panic|general protection fault|KASAN|UBSAN|possible circular locking|possible recursive locking|inconsistent lock state|suspicious RCU usage|detected stall|self-detected stall|soft lockup|hard LOCKUP|blocked for more than|kmemleak: .*suspected|Call Trace:'

vm_timeout() {
	local name sum=180 limit
	[ -n "$LAB_VM_TIMEOUT" ] && { echo "$LAB_VM_TIMEOUT"; return; }
	for name in "$@"; do
		limit=$(sed -n 's/^# timeout: *\([0-9]*\).*/\1/p' "$LAB"/tests/[0-9][0-9]-"$name".sh)
		sum=$((sum + ${limit:-300}))
	done
	echo "$sum"
}

# Names of the tests matching a glob and LAB_FILTER, in plan order.
select_tests() {
	local glob=$1 t name
	for t in $(ls "$LAB"/tests/*.sh | sort); do
		name=$(basename "$t" .sh)
		name=${name#[0-9][0-9]-}
		# shellcheck disable=SC2254
		case "$name" in $glob) ;; *) continue ;; esac
		# shellcheck disable=SC2254
		case "$name" in $LAB_FILTER) echo "$name" ;; esac
	done
}

# Whether L1's first report is a soft lockup of an idle task whose CPU
# was halted in the idle loop when the watchdog's timer came: its timer
# interrupt, which runs the watchdog, did not come for the whole time
# reported. The idle task never holds a CPU from the watchdog's stopper
# thread, and a CPU looping with interrupts off could not run that timer
# to report itself (nmi_watchdog=0).
idle_woken_late() {
	awk '!/^L2\|/ && !seen && /soft lockup - CPU#[0-9]+ stuck for [0-9]+s! \[swapper\/[0-9]+:0\]/ { seen = 1; next }
		!/^L2\|/ && seen && /RIP: 0010:/ {
			found = $0 ~ /RIP: 0010:(default_idle|default_idle_call|arch_cpu_idle|acpi_idle_do_entry|amd_e400_idle|native_safe_halt|pv_native_safe_halt)\+/
			exit
		}
		END { exit !found }' "$1"
}

# Which of the faults multi-threaded TCG (QEMU 7.2) causes in L1
# (Documentation/testing.rst) an L1 console shows, if one: prints its
# name. L2's own reports (its vCPU starving meanwhile) may come first.
# - gs-base: L1's first kernel report is a stack overflow on an L2 vCPU
#   thread ("CPU n/KVM") in the page fault entry, which the per-CPU
#   access at the start of exc_page_fault re-enters while L1's kernel
#   runs with a GS base that is not its own (nested SVM).
# - stale-int3: L1's first report is a stall or lockup, one CPU is in
#   the int3 entry and another waits in text_poke_bp_batch() for it to
#   answer: the first went on running a translation of text the second
#   had patched, and loops on the int3 the patch has since removed.
# - idle-wake: L1's first report is a soft lockup of a CPU that sat
#   halted in its idle loop, not woken by its own timer for the whole
#   time reported (idle_woken_late).
tcg_fault() {
	local first
	# One process: under pipefail, a grep -m1 after a pipe would end the
	# first one with SIGPIPE on a long console and hide the match.
	first=$(awk -v re="$BAD_CONSOLE" '!/^L2\|/ && $0 ~ re { print; exit }' "$1")
	[ -n "$first" ] || return 1
	case "$first" in
	*"BUG: TASK stack guard page was hit"*)
		grep -qE 'Comm: CPU [0-9]+/KVM' "$1" &&
			grep -qE 'RIP: 0010:(error_entry|asm_exc_page_fault|exc_page_fault)\+' "$1" &&
			echo gs-base ;;
	*"detected stall"*|*"soft lockup"*)
		if grep -qE 'RIP: 0010:(asm_exc_int3|exc_int3|poke_int3_handler)\+' "$1" &&
			grep -qE ' text_poke_bp_batch\+' "$1"; then
			echo stale-int3
		elif case $first in *"soft lockup - CPU#"*"[swapper/"*) true ;; *) false ;; esac &&
			idle_woken_late "$1"; then
			echo idle-wake
		else
			return 1
		fi ;;
	*) return 1 ;;
	esac
}

# Where each vCPU of a frozen L1 VM is: QEMU's monitor gives the
# registers; a real System.map (the debug kernel's; Debian's stock one is
# a placeholder) names the kernel code at each RIP, as the L1 kernel runs
# without KASLR. Module code stays an address.
stall_dump() {
	local dir=$1 map=$2 ncpu=$3 mon=$4 n ip rest sym out
	out=$dir/stall-registers.txt
	{
		echo "info cpus"
		for ((n = 0; n < ncpu; n++)); do
			echo "cpu $n"
			echo "info registers"
		done
	} | timeout 60 socat -t 10 - UNIX-CONNECT:"$mon" 2>&1 |
		sed -e 's/\r$//' -e '/^(qemu)/d' >"$out" || true
	[ "$(wc -l <"$map" 2>/dev/null || echo 0)" -gt 1000 ] || map=
	n=0
	sed -n 's/^[RE]IP=\([0-9a-f]*\) .*\(CPL=[0-3]\).*\(HLT=[01]\).*/\1 \2 \3/p' "$out" |
		while read -r ip rest; do
			sym=
			if [ -n "$map" ] && [ "${#ip}" -eq 16 ] && [ "${ip:0:9}" != ffffffffc ]; then
				sym=$(awk -v ip="$ip" '$2 ~ /^[tTwW]$/ && $1 <= ip { s = $1 " " $3 } END { print s }' "$map")
			fi
			if [ -n "$sym" ]; then
				printf 'cpu %d: %s+0x%x (%s) %s\n' "$n" "${sym#* }" $((16#$ip - 16#${sym%% *})) "$ip" "$rest"
			else
				printf 'cpu %d: %s %s\n' "$n" "$ip" "$rest"
			fi
			n=$((n + 1))
		done >"$dir/stall-rips.txt"
}

# Waits for the VM of process $1 to end. Kills it after $5 seconds, and
# stops it at once if the heartbeat file in $2 has not changed for
# LAB_STALL seconds, after stall_dump. L1's own watchdogs report a CPU or
# a task that stops; this catches the VM that stops whole and prints
# nothing, as multi-threaded TCG has done (Documentation/testing.rst).
watch_vm() {
	local vm=$1 dir=$2 map=$3 ncpu=$4 limit=$5 mon=$6 start=$SECONDS age i
	while kill -0 "$vm" 2>/dev/null; do
		sleep 5
		if [ $((SECONDS - start)) -ge "$limit" ]; then
			kill -KILL "$vm" 2>/dev/null
			break
		fi
		age=$(($(date +%s) - $(stat -c %Y "$dir/heartbeat" 2>/dev/null || date +%s)))
		[ "$age" -ge "$LAB_STALL" ] || continue
		echo "$age" >"$dir/stalled"
		stall_dump "$dir" "$map" "$ncpu" "$mon"
		# QEMU ends on SIGTERM only once its vCPU threads stop.
		kill -TERM "$vm" 2>/dev/null
		for ((i = 0; i < 10; i++)); do
			kill -0 "$vm" 2>/dev/null || break
			sleep 1
		done
		kill -KILL "$vm" 2>/dev/null
		break
	done
	wait "$vm"
}

# Boots the L1 VM of one tier for the tests matching a glob, under the
# given TCG threading, and turns its KTAP into results. An l2 boot that
# died of an emulator fault (tcg_fault) boots once more; the first
# console is kept.
run_l1() {
	local tier=$1 kernel=$2 boot=$3 glob=$4 tcg=$5
	local dir=$OUT/$tier/$boot planned reported t0=$SECONDS rc=0
	local console=$dir/console.log ktap=$dir/results.ktap line name note
	local ncpu=1 kv smp=$LAB_SMP tests extra map mon=$dir/monitor.sock fault vm
	tests=$(select_tests "$glob")
	map=$(dirname "$kernel")/System.map-${kernel##*/vmlinuz-}
	[ -e "$map" ] || map=$(dirname "$kernel")/../../../System.map
	# A socket's path has at most 107 bytes.
	[ ${#mon} -lt 100 ] || mon=/tmp/lab-monitor.$$.$boot
	[ -n "$tests" ] || return 0
	mkdir -p "$dir"
	# One NUMA node per socket: total CPUs from the -smp topology, halved.
	for kv in ${smp//,/ }; do
		ncpu=$((ncpu * ${kv#*=}))
	done
	while :; do
		: >"$console"
		: >"$ktap"
		rm -f "$dir/stalled" "$dir/heartbeat" "$mon"
		rc=0
		log "booting the $tier L1 VM for $boot tests ($(basename "$kernel"), -smp $smp, $LAB_MEM, TCG $tcg)"
		# No NUMA balancing where L2 runs (multi-threaded TCG): its page
		# migrations flush QEMU's TLB on every CPU, vCPU threads inside L2
		# included, and in one stock l2-boot run a CPU never answered
		# that IPI (Documentation/testing.rst). Set at boot: turning it
		# off at run time patches kernel text, which multi-threaded TCG
		# does not survive reliably.
		extra=
		[ "$tcg" = multi ] && extra=numa_balancing=disable
		qemu-system-x86_64 \
			-accel tcg,thread="$tcg" -M q35 -cpu EPYC -m "$LAB_MEM" \
			${LAB_TCG_DEBUG:+-d "$LAB_TCG_DEBUG" -D "$dir/tcg.log"} \
			-smp "$smp" \
			-object memory-backend-ram,id=m0,size=$((${LAB_MEM%G} / 2))G \
			-object memory-backend-ram,id=m1,size=$((${LAB_MEM%G} / 2))G \
			-numa node,nodeid=0,cpus=0-$((ncpu / 2 - 1)),memdev=m0 \
			-numa node,nodeid=1,cpus=$((ncpu / 2))-$((ncpu - 1)),memdev=m1 \
			-nodefaults -display none -no-reboot \
			-chardev file,id=con,path="$console" -serial chardev:con \
			-chardev file,id=res,path="$ktap" -serial chardev:res \
			-chardev file,id=hb,path="$dir/heartbeat" -serial chardev:hb \
			-monitor unix:"$mon",server=on,wait=off \
			-kernel "$kernel" -initrd "$OUT/$tier/initrd" \
			-append "console=ttyS0 nokaslr preempt=full panic=-1 oops=panic panic_on_warn=1 softlockup_panic=1 hung_task_panic=1 nmi_watchdog=0 watchdog_thresh=30 rcupdate.rcu_cpu_stall_timeout=60 lab.tier=$tier lab.tests=$(echo $tests | tr ' ' ,)${extra:+ $extra}" \
			>"$dir/qemu.log" 2>&1 &
		# QEMU in the background outlives an interrupted lab.sh, and
		# watch_vm is its only time limit: kill it with the script.
		vm=$!
		# shellcheck disable=SC2064
		trap "kill -KILL $vm 2>/dev/null" EXIT
		trap 'exit 130' INT TERM
		# shellcheck disable=SC2086
		watch_vm "$vm" "$dir" "$map" "$ncpu" "$(vm_timeout $tests)" "$mon" || rc=$?
		trap - EXIT INT TERM
		log "$tier L1 VM for $boot tests exited ($rc) after $((SECONDS - t0)) s"
		# The serial line turns \n into \r\n.
		sed -i 's/\r$//' "$ktap" "$console"
		# Once, and only for an emulator fault of tcg_fault().
		if [ "$tcg" = multi ] && [ ! -e "$dir/console-tcg-fault.log" ] &&
			fault=$(tcg_fault "$console"); then
			mv "$console" "$dir/console-tcg-fault.log"
			echo "# $tier $boot: L1 died of multi-threaded TCG's $fault fault (Documentation/testing.rst); booting it once more, first console in $dir/console-tcg-fault.log"
			t0=$SECONDS
			continue
		fi
		break
	done
	rm -f "$mon"

	planned=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$ktap" | head -n 1)
	reported=0
	while IFS= read -r line; do
		case "$line" in
		"ok "*|"not ok "*)
			reported=$((reported + 1))
			name=$(echo "$line" | sed -E 's/^(not )?ok [0-9]+ ([^#]*[^ #]).*/\2/')
			note=$(echo "$line" | sed -n 's/^[^#]*# //p')
			case "$line" in
			"ok "*"# SKIP"*)
				# A skip is a failure unless the test allows it on this tier.
				if grep -qE "^# skip-ok:.*\b$tier\b" "$LAB/tests/"[0-9][0-9]-"$name.sh" 2>/dev/null; then
					record skip "$tier: $name" "${note#SKIP }"
				else
					record "not ok" "$tier: $name" "skipped, which it may not be on this tier: ${note#SKIP }"
				fi
				;;
			"ok "*) record ok "$tier: $name" ;;
			*) record "not ok" "$tier: $name" "$note" ;;
			esac
			;;
		"## "*) ;;
		"#"*) echo "$line" ;;
		esac
	done <"$ktap"
	if [ -e "$dir/stalled" ]; then
		sed 's/^/# frozen L1 /' "$dir/stall-rips.txt" 2>/dev/null
		record "not ok" "$tier: L1 VM kept running through its $boot tests" \
			"frozen: no heartbeat for $(cat "$dir/stalled") s, stopped; vCPU registers in $dir/stall-registers.txt"
	fi
	if [ -z "$planned" ]; then
		tail -n 40 "$console" | sed 's/^/# console: /'
		record "not ok" "$tier: L1 VM booted and ran its $boot tests" "no results; console: $console"
	elif [ "$reported" -lt "$planned" ]; then
		tail -n 40 "$console" | sed 's/^/# console: /'
		# Name each test that never reported.
		for name in $tests; do
			grep -qE "^(not )?ok [0-9]+ $name( |\$)" "$ktap" ||
				record "not ok" "$tier: $name" "no result: the VM died (panic or timeout), see $console"
		done
	fi
	if [ -n "$planned" ] && ! grep -qx '# lab: done' "$ktap"; then
		record "not ok" "$tier: L1 finished its $boot run (kmemleak scan, power-off)" \
			"QEMU exit $rc; see $console"
	fi
	if grep -nE "$BAD_CONSOLE" "$console" >"$dir/console-bad.txt"; then
		head -n 20 "$dir/console-bad.txt" | sed 's/^/# console: /'
		record "not ok" "$tier: no kernel warning in the console ($boot VM)" "$console"
	else
		record ok "$tier: no kernel warning in the console ($boot VM)"
	fi
}

summary() {
	local pass fail skip
	pass=$(grep -c '^ok	' "$RESULTS" || true)
	fail=$(grep -c '^not ok	' "$RESULTS" || true)
	skip=$(grep -c '^skip	' "$RESULTS" || true)
	if [ "$fail" -gt 0 ]; then
		echo "# failed:"
		grep '^not ok	' "$RESULTS" | cut -f2,3 | sed 's/\t/: /; s/^/#   /'
	fi
	echo "# logs in $OUT; run took $((SECONDS / 60)) min $((SECONDS % 60)) s"
	if [ "$skip" -gt 0 ]; then
		echo "$pass passed, $fail failed, $skip skipped"
	else
		echo "$pass passed, $fail failed"
	fi
	[ "$fail" -eq 0 ]
}

# Two boots per tier: single-threaded TCG for every test but the L2 ones,
# multi-threaded TCG for the L2 ones (Documentation/testing.rst).
# One boot for the main tests; one per L2 test, so that no L2 test runs in
# an L1 whose kernel text other tests' modules have patched and unpatched
# under multi-threaded TCG (Documentation/testing.rst).
run_boots() {
	local name
	run_l1 "$1" "$2" main '!(l2-*|bench-*)' single
	for name in $(select_tests 'l2-*'); do
		run_l1 "$1" "$2" "$name" "$name" "$LAB_L2_TCG"
	done
}

run_tier() {
	local tier=$1
	if [ "$tier" = stock ]; then
		mk_l1_initramfs stock "$STOCK_MODROOT" "$KVER"
		run_boots stock "$STOCK_VMLINUZ"
	else
		build_debug_kernel
		build_modules debug "$DEBUG_KDIR" || return 0
		mk_l1_initramfs debug "$DEBUG_MODROOT" "$DEBUG_KVER"
		run_boots debug "$DEBUG_VMLINUZ"
	fi
}

cmd_test() {
	local tiers=${1:-all}
	case "$tiers" in
	all) tiers="stock debug" ;;
	stock|debug) ;;
	*) die "unknown tier '$tiers' (stock, debug, all)" ;;
	esac
	install_host_packages
	rm -rf "$OUT"
	mkdir -p "$OUT"
	: >"$RESULTS"
	echo "KTAP version 1"
	fetch
	check_style
	# The stock build also provides the L2 guest's modules in every tier.
	build_modules stock "$STOCK_KDIR" && check_sparse
	check_install
	if build_selftests; then
		mk_l2_initramfs
		local t
		for t in $tiers; do
			run_tier "$t"
		done
	fi
	echo "1..$(wc -l <"$RESULTS")"
	summary
}

cmd_demo() {
	install_host_packages
	rm -rf "$OUT"
	mkdir -p "$OUT"
	: >"$RESULTS"
	fetch
	build_modules stock "$STOCK_KDIR"
	build_selftests
	mk_l2_initramfs
	mk_l1_initramfs stock "$STOCK_MODROOT" "$KVER"
	run_boots stock "$STOCK_VMLINUZ"
	echo
	echo "==== What each test did in the L1 VMs (full logs: $OUT/stock/*/results.ktap)"
	sed -n 's/^## //p' "$OUT"/stock/*/results.ktap
	summary
}

# The benchmarks report figures and ratios; they pass when they ran.
cmd_bench() {
	install_host_packages
	rm -rf "$OUT"
	mkdir -p "$OUT"
	: >"$RESULTS"
	fetch
	build_modules stock "$STOCK_KDIR"
	build_selftests
	mk_l2_initramfs
	mk_l1_initramfs stock "$STOCK_MODROOT" "$KVER"
	run_l1 stock "$STOCK_VMLINUZ" bench 'bench-!(l2-*)' single
	# L2 runs under multi-threaded TCG, as in the tests.
	run_l1 stock "$STOCK_VMLINUZ" bench-l2 'bench-l2-*' multi
	echo
	echo "==== Benchmarks, stock kernel $KVER in the L1 VM ($OUT/stock/bench/results.ktap)"
	cat "$OUT"/stock/bench/results.ktap "$OUT"/stock/bench-l2/results.ktap 2>/dev/null |
		sed -n 's/^## # //p' | tee "$OUT/bench.txt"
	# kvm-zeropage's memory over time (lab/tests/92-bench-zeropage.sh).
	if sed -n 's/^## plot //p' "$OUT"/stock/bench/results.ktap >"$OUT/zeropage-memory.txt" &&
		[ -s "$OUT/zeropage-memory.txt" ]; then
		awk -v title="VMM memory while a 512 MiB guest zeroes 384 MiB, first 10 s" -v xlimit=10 \
			-f "$LAB/plot.awk" "$OUT/zeropage-memory.txt" >"$OUT/zeropage-memory-10s.svg"
		awk -v title="VMM memory while a 512 MiB guest zeroes 384 MiB" \
			-f "$LAB/plot.awk" "$OUT/zeropage-memory.txt" >"$OUT/zeropage-memory.svg"
		echo "# kvm-zeropage memory over time: $OUT/zeropage-memory.svg, $OUT/zeropage-memory-10s.svg"
	fi
	summary
}

main() {
	local cmd=${1:-test}
	shift || true
	case "$cmd" in
	test)
		cmd_test "$@"
		;;
	demo)
		cmd_demo
		;;
	bench)
		cmd_bench
		;;
	fetch)
		install_host_packages
		fetch
		;;
	debug-kernel)
		install_host_packages
		fetch
		build_debug_kernel
		;;
	*)
		die "unknown command '$cmd' (test, demo, bench, fetch, debug-kernel)"
		;;
	esac
}

main "$@"
