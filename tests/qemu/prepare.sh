#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# prepare.sh: install what the QEMU real-kernel tests need and unpack a Debian
# cloud kernel into a cache directory.  Idempotent: a second run installs and
# downloads nothing.
#
#   tests/qemu/prepare.sh            newest linux-image-6.1.0-*-cloud-amd64
#   NATWHO_QEMU_PATTERN='^linux-image-6\.12\.[0-9]+\+deb12-cloud-amd64$' tests/qemu/prepare.sh
#   NATWHO_QEMU_KERNEL=linux-image-6.1.0-56-cloud-amd64 tests/qemu/prepare.sh
#
# Prints the prepared kernel release on stdout; its directory, the KERNEL_DIR
# of run.sh and mkinitramfs.sh, is laid out as
#   $CACHE/<release>/vmlinuz
#   $CACHE/<release>/config, System.map
#   $CACHE/<release>/lib/modules/<release>/...   (with modules.dep)
#   $CACHE/<release>/release                     (the kernel release string)
# and points $CACHE/current at it.  Progress goes to stderr.
#
# Environment: NATWHO_QEMU_CACHE (default build/qemu), NATWHO_QEMU_KERNEL
# (a package name), NATWHO_QEMU_PATTERN (regex of candidate package names).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE=${NATWHO_QEMU_CACHE:-$ROOT/build/qemu}
PATTERN=${NATWHO_QEMU_PATTERN:-'^linux-image-6\.1\.0-[0-9]+-cloud-amd64$'}

# Host tools: the emulator, initramfs contents and the BPF self-test toolchain.
PACKAGES=(qemu-system-x86 busybox-static kmod cpio xz-utils zstd iptables ipvsadm iproute2
	  conntrack util-linux procps jq clang llvm bpftool libbpf-dev libelf-dev libzstd-dev zlib1g-dev
	  libjson-c-dev netbase)


log() { printf 'prepare: %s\n' "$*" >&2; }
die() { printf 'prepare: error: %s\n' "$*" >&2; exit 1; }

pkg_installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'
}

install_packages() {
	local missing=() p
	for p in "${PACKAGES[@]}"; do
		pkg_installed "$p" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	[ "$(id -u)" -eq 0 ] || die "run as root to install: ${missing[*]}"
	log "installing ${missing[*]} (log: $CACHE/apt.log)"
	if ! { apt-get update -qq &&
	       DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			"${missing[@]}"; } > "$CACHE/apt.log" 2>&1; then
		tail -n 20 "$CACHE/apt.log" >&2
		die "apt-get install failed"
	fi
}

# The newest kernel package matching $PATTERN known to apt, by version sort of
# the name (the ABI number grows with every Debian kernel update).
pick_kernel_package() {
	if [ -n "${NATWHO_QEMU_KERNEL:-}" ]; then
		echo "$NATWHO_QEMU_KERNEL"
		return
	fi
	local name
	name=$(apt-cache search --names-only "$PATTERN" 2>/dev/null | awk '{print $1}' |
	       grep -E "$PATTERN" | sort -V | tail -n 1 || true)
	if [ -z "$name" ]; then
		apt-get update -qq >&2
		name=$(apt-cache search --names-only "$PATTERN" | awk '{print $1}' |
		       grep -E "$PATTERN" | sort -V | tail -n 1 || true)
	fi
	[ -n "$name" ] || die "no package matches $PATTERN in apt-cache"
	echo "$name"
}

# Debian modules may be compressed (.ko.xz/.ko.zst from trixie on); busybox
# insmod wants plain ELF, so decompress them once here.
decompress_modules() {
	local moddir=$1
	find "$moddir" -name '*.ko.xz' -exec xz -d -f {} +
	find "$moddir" -name '*.ko.zst' -exec zstd -q -d --rm -f {} +
	find "$moddir" -name '*.ko.gz' -exec gzip -d -f {} +
}

# Download and unpack $1 into $CACHE/<release>.  Runs in a subshell of a
# condition (so without errexit): every step checks for itself.
unpack_kernel() {
	local pkg=$1 deb release dest
	# Not local: the EXIT trap runs after the function has returned.
	tmp=$(mktemp -d "$CACHE/.unpack.XXXXXX") || return 1
	trap 'rm -rf "$tmp"' EXIT
	log "downloading $pkg"
	(cd "$tmp" && apt-get download -qq -o APT::Sandbox::User=root "$pkg" >&2) || return 1
	deb=$(echo "$tmp"/*.deb)
	dpkg-deb -x "$deb" "$tmp/root" || return 1
	release=$(ls "$tmp/root/lib/modules") || return 1
	[ -f "$tmp/root/boot/vmlinuz-$release" ] || { log "$pkg has no vmlinuz"; return 1; }
	decompress_modules "$tmp/root/lib/modules/$release" || return 1
	depmod -b "$tmp/root" "$release" || return 1
	dest=$CACHE/$release
	rm -rf "$dest" && mkdir -p "$dest/lib" || return 1
	mv "$tmp/root/boot/vmlinuz-$release" "$dest/vmlinuz" &&
		mv "$tmp/root/boot/config-$release" "$dest/config" &&
		mv "$tmp/root/boot/System.map-$release" "$dest/System.map" &&
		mv "$tmp/root/lib/modules" "$dest/lib/modules" &&
		dpkg-deb -f "$deb" Version > "$dest/pkg-version" &&
		echo "$pkg" > "$dest/pkg-name" &&
		echo "$release" > "$dest/release"
}

# Package linux-image-<release> carries exactly that release.
release_of() {
	local release=${1#linux-image-}
	echo "${release%-unsigned}"
}

prepared() {
	local dir=$CACHE/$1
	[ -f "$dir/release" ] && [ -f "$dir/vmlinuz" ] && [ -f "$dir/config" ] &&
		[ -f "$dir/lib/modules/$1/modules.dep" ]
}

# No download possible: keep using the newest kernel matching $PATTERN that
# was prepared before, if any.
fallback() {
	local dir
	RELEASE=
	for dir in "$CACHE"/*/pkg-name; do
		[ -f "$dir" ] && grep -Eq "$PATTERN" "$dir" || continue
		dir=$(dirname "$dir")
		prepared "${dir##*/}" && RELEASE=$(printf '%s\n%s\n' "$RELEASE" "${dir##*/}" |
						   sed '/^$/d' | sort -V | tail -n 1)
	done
	[ -n "$RELEASE" ] || die "no kernel could be downloaded and none matching $PATTERN was prepared"
	log "warning: using the kernel prepared before, $RELEASE"
}

# Pick the kernel package and make sure it is unpacked; sets RELEASE.
try_prepare() {
	local pkg
	pkg=$(pick_kernel_package) || return 1
	RELEASE=$(release_of "$pkg")
	if prepared "$RELEASE"; then
		log "kernel $RELEASE already prepared"
		return 0
	fi
	(unpack_kernel "$pkg") || return 1
	log "kernel $RELEASE ($(cat "$CACHE/$RELEASE/pkg-version")) prepared"
}

main() {
	mkdir -p "$CACHE"
	install_packages
	if ! try_prepare; then
		# A stale package list may name a kernel the archive no longer has.
		log "refreshing the package lists and trying again"
		apt-get update -qq >&2 || true
		try_prepare || fallback
	fi
	ln -sfn "$RELEASE" "$CACHE/current"
	log "kernel directory: $CACHE/$RELEASE"
	echo "$RELEASE"
}

main "$@"
