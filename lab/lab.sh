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
#   lab/lab.sh fetch | build | shell [stock|debug]
#
# Environment: LAB_CACHE (downloads and kernel builds, default lab/cache),
# LAB_OUT (this run's logs and images, default lab/out), LAB_JOBS (make -j),
# LAB_FILTER (shell glob over test names), LAB_SMP, LAB_MEM.
# Documentation/testing.rst describes the whole flow.

set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LAB=$TOP/lab
CACHE=${LAB_CACHE:-$LAB/cache}
OUT=${LAB_OUT:-$LAB/out}
JOBS=${LAB_JOBS:-$(nproc)}
LAB_FILTER=${LAB_FILTER:-*}
# 2 sockets x 2 cores x 2 threads over 2 NUMA nodes: the smallest host
# on which SMT, package and node relations all differ.
LAB_SMP=${LAB_SMP:-sockets=2,cores=2,threads=2}
LAB_MEM=${LAB_MEM:-6G}
# Hard limit for one boot of the L1 VM, in seconds (tests have their own).
LAB_VM_TIMEOUT=${LAB_VM_TIMEOUT:-1500}

# Debian packages the lab needs on the machine that runs it.
HOST_PACKAGES="qemu-system-x86 busybox-static kmod cpio xz-utils gcc make
	bc flex bison libelf-dev libssl-dev dwarves sparse perl rsync
	util-linux file"

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
			"linux-source-$series=$PKGVER" 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2) ||
			die "apt-get download failed"
		local f
		for f in "$DEB"/debs/*.deb; do
			dpkg-deb -x "$f" "$DEB/root"
		done
		# The headers' Makefile includes the common tree by absolute path;
		# point it at our extraction instead of /usr/src.
		sed -i "s#/usr/src/#$DEB/root/usr/src/#" "$STOCK_KDIR/Makefile"
		log "extracting linux-source-$series"
		tar -xf "$DEB/root/usr/src/linux-source-$series.tar.xz" -C "$DEB/src"
		rm -f "$DEB/root/usr/src/linux-source-$series.tar.xz" "$DEB"/debs/linux-source-*.deb
		echo "$KVER" >"$DEB/kver"
		touch "$DEB/.fetched"
	fi
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

main() {
	local cmd=${1:-test}
	shift || true
	case "$cmd" in
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
		die "unknown command '$cmd' (test, demo, fetch, build, shell)"
		;;
	esac
}

main "$@"
