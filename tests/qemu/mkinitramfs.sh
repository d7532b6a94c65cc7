#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# mkinitramfs.sh: build the initramfs (cpio.gz) of the natwho QEMU guest.
#
#   tests/qemu/mkinitramfs.sh [-k KERNEL_DIR] [-o OUT] [-m MODULE[:PARAMS]]...
#                             [-f SRC[:DEST]]... [-s SCENARIO[:NAME]]...
#
#   -k KERNEL_DIR  a directory made by prepare.sh (default build/qemu/current)
#   -o OUT         output file (default build/qemu/initramfs.cpio.gz)
#   -m MODULE      also insmod MODULE at boot (PARAMS comma-separated: a=1,b=2)
#   -f SRC[:DEST]  copy SRC to DEST (default /test/<name>); a dynamically
#                  linked ELF brings its shared libraries along
#   -s SCENARIO[:NAME]  a scenario to run at boot, in the order given; it
#                  lands in /test/scenarios/NN-NAME (default NAME: the file's
#                  name without .sh; one script may run under several names)
#                  and runs with /test as cwd (see init for the contract,
#                  guest-lib.sh for helpers)
#
# The guest has bash (also as /bin/sh), busybox, ip/ss/tc, iptables/ip6tables
# (nft and legacy, `iptables` is the nft one), ipvsadm, conntrack, util-linux
# nsenter (busybox's forks), procps sysctl, jq, nft and bpftool when the host
# has them, kmod's modprobe (the kernel autoloads any module copied in),
# the netfilter/IPVS/veth/dummy/bridge modules and their dependencies.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$ROOT/tests/qemu
KDIR=$ROOT/build/qemu/current
OUT=$ROOT/build/qemu/initramfs.cpio.gz
EXTRA_MODULES=()
EXTRA_FILES=()
SCENARIOS=()

# insmod-ed at boot, each after its dependencies.  nf_conntrack and nf_nat
# carry the functions natwho probes; the rest is what iptables-nft (nat,
# addrtype, comment, multiport, statistic, mark, conntrack, MASQUERADE),
# iptables-legacy, kube-proxy's IPVS mode and the test topologies use.
BOOT_MODULES=(nf_conntrack nf_nat nf_conntrack_netlink
	      nf_tables nft_compat nft_chain_nat nft_nat nft_masq nft_redir nft_ct
	      x_tables xt_nat xt_addrtype xt_comment xt_multiport xt_statistic xt_mark
	      xt_conntrack xt_MASQUERADE xt_tcpudp
	      ip_tables iptable_nat iptable_filter ip6_tables ip6table_nat ip6table_filter
	      veth dummy:numdummies=0 ip_vs ip_vs_rr)

# Copied (with dependencies) but loaded only on demand, by the kernel.
AUTOLOAD_GLOBS=(net/netfilter net/ipv4/netfilter net/ipv6/netfilter net/bridge
		drivers/net/veth.ko drivers/net/dummy.ko drivers/net/macvlan.ko drivers/net/vrf.ko
		drivers/net/ipvlan drivers/net/vxlan)

# Host programs copied with their libraries; missing optional ones are skipped.
PROGRAMS=(/usr/bin/bash /usr/bin/ip /usr/bin/ss /usr/sbin/tc /usr/bin/kmod
	  /usr/sbin/xtables-nft-multi /usr/sbin/xtables-legacy-multi
	  /usr/sbin/ipvsadm /usr/sbin/conntrack /usr/bin/nsenter /usr/sbin/sysctl /usr/bin/jq)
OPTIONAL_PROGRAMS=(/usr/sbin/nft /usr/sbin/bpftool)
XTABLES_LIBDIR=/usr/lib/x86_64-linux-gnu/xtables

log() { printf 'mkinitramfs: %s\n' "$*" >&2; }
die() { printf 'mkinitramfs: error: %s\n' "$*" >&2; exit 1; }

usage() {
	sed -n '4,18s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
	exit 2
}

parse_args() {
	local opt
	while getopts 'k:o:m:f:s:h' opt; do
		case $opt in
		k) KDIR=$OPTARG ;;
		o) OUT=$OPTARG ;;
		m) EXTRA_MODULES+=("$OPTARG") ;;
		f) EXTRA_FILES+=("$OPTARG") ;;
		s) SCENARIOS+=("$OPTARG") ;;
		*) usage ;;
		esac
	done
	shift $((OPTIND - 1))
	[ $# -eq 0 ] || usage
	[ -f "$KDIR/release" ] || die "$KDIR is not a kernel directory: run tests/qemu/prepare.sh"
	KDIR=$(cd "$KDIR" && pwd -P)
	RELEASE=$(cat "$KDIR/release")
}

# Copy host file $1 to the same path in the image (or to $2), following
# symlinks; the image's /bin, /sbin, /lib, /lib64 point into /usr like the host.
put_file() {
	local src=$1 dest=${2:-$1}
	mkdir -p "$STAGE$(dirname "$dest")"
	cp -L "$src" "$STAGE$dest"
}

is_elf() {
	[ "$(head -c 4 "$1" | tr -d '\0')" = $'\x7fELF' ]
}

# Copy an ELF program or library and every shared library it needs
# (ldd fails on a static binary: nothing more to copy then).
put_elf() {
	local lib libs
	put_file "$@"
	libs=$(ldd "$1" 2>/dev/null | grep -o '/[^ ]*' | sort -u) || return 0
	for lib in $libs; do
		[ -e "$STAGE$lib" ] || put_file "$lib"
	done
}

make_skeleton() {
	local d
	for d in usr/bin usr/sbin usr/lib usr/lib64 proc sys dev run tmp root etc test/scenarios \
		 var etc/natwho-qemu etc/modprobe.d; do
		mkdir -p "$STAGE/$d"
	done
	for d in bin sbin lib lib64; do
		ln -s "usr/$d" "$STAGE/$d"
	done
	ln -s ../run "$STAGE/var/run"
	chmod 1777 "$STAGE/tmp"
	mknod -m 600 "$STAGE/dev/console" c 5 1
	mknod -m 666 "$STAGE/dev/null" c 1 3
	printf 'root:x:0:0:root:/root:/bin/sh\n' > "$STAGE/etc/passwd"
	printf 'root:x:0:\n' > "$STAGE/etc/group"
	printf '127.0.0.1 localhost natwho-guest\n::1 localhost\n' > "$STAGE/etc/hosts"
	cp /etc/protocols /etc/services "$STAGE/etc/"
	cp -a /etc/ld.so.conf /etc/ld.so.conf.d "$STAGE/etc/"
	install -m 0755 "$HERE/init" "$STAGE/init"
	install -m 0644 "$HERE/guest-lib.sh" "$STAGE/test/guest-lib.sh"
}

install_programs() {
	local p name
	for p in "${PROGRAMS[@]}"; do
		[ -x "$p" ] || die "$p is missing: run tests/qemu/prepare.sh"
		put_elf "$p"
	done
	for p in "${OPTIONAL_PROGRAMS[@]}"; do
		[ -x "$p" ] && put_elf "$p"
	done
	for name in modprobe insmod rmmod lsmod depmod modinfo; do
		ln -sf ../bin/kmod "$STAGE/usr/sbin/$name"
	done
	for name in iptables iptables-save iptables-restore ip6tables ip6tables-save \
		    ip6tables-restore iptables-nft iptables-nft-save iptables-nft-restore \
		    ip6tables-nft ip6tables-nft-save ip6tables-nft-restore; do
		ln -sf xtables-nft-multi "$STAGE/usr/sbin/$name"
	done
	for name in iptables-legacy iptables-legacy-save iptables-legacy-restore \
		    ip6tables-legacy ip6tables-legacy-save ip6tables-legacy-restore; do
		ln -sf xtables-legacy-multi "$STAGE/usr/sbin/$name"
	done
	ln -sf ../bin/ip "$STAGE/usr/sbin/ip"
	# Debian's busybox sh runs its own applets before PATH (ip without netns,
	# a small modprobe...): /bin/sh is bash, so scripts get the real tools.
	ln -sf bash "$STAGE/usr/bin/sh"
	mkdir -p "$STAGE$XTABLES_LIBDIR"
	for p in "$XTABLES_LIBDIR"/*.so; do
		put_elf "$p"
	done
	# busybox fills every gap (sh, mount, nc, timeout, ...), real tools win.
	put_file "$(command -v busybox)" /usr/bin/busybox
	while read -r p; do
		[ -e "$STAGE/$p" ] || ln -s /usr/bin/busybox "$STAGE/$p"
	done < <(/usr/bin/busybox --list-full | sed 's|^\(s\{0,1\}bin/\)|usr/\1|')
}

# "insmod /lib/modules/R/kernel/x.ko params" lines for module $1 and its
# dependencies, in load order, paths relative to the image's root.
module_deps() {
	modprobe -C "$STAGE/etc/modprobe.d" -d "$KDIR" -S "$RELEASE" --show-depends "$1" |
		sed -n "s|^insmod $KDIR||p"
}

# List every module to copy: the boot set, the extras and the autoload globs.
module_names() {
	local m g
	for m in "${BOOT_MODULES[@]}" "${EXTRA_MODULES[@]}"; do
		echo "${m%%:*}"
	done
	for g in "${AUTOLOAD_GLOBS[@]}"; do
		find "$KDIR/lib/modules/$RELEASE/kernel/$g" -name '*.ko' -printf '%f\n' 2>/dev/null |
			sed 's/\.ko$//'
	done
}

install_modules() {
	local m name params mdir=/lib/modules/$RELEASE
	# Module options, as modprobe.d(5) lines, for both the boot list and autoload.
	for m in "${BOOT_MODULES[@]}" "${EXTRA_MODULES[@]}"; do
		[[ $m == *:* ]] || continue
		params=${m#*:}
		echo "options ${m%%:*} ${params//,/ }"
	done > "$STAGE/etc/modprobe.d/natwho-qemu.conf"
	module_names | sort -u | while read -r name; do
		module_deps "$name" || die "module $name: not in $KDIR"
	done | awk '{print $1}' | sort -u | while read -r m; do
		mkdir -p "$STAGE$(dirname "$m")"
		cp "$KDIR$m" "$STAGE$m"
	done
	cp "$KDIR$mdir"/modules.{order,builtin,builtin.modinfo} "$STAGE$mdir/"
	depmod -b "$STAGE" "$RELEASE"
	for m in "${BOOT_MODULES[@]}" "${EXTRA_MODULES[@]}"; do
		module_deps "${m%%:*}"
	done | awk '!seen[$1]++' > "$STAGE/etc/natwho-qemu/modules"
}

install_extras() {
	local spec src dest i=1 s name
	for spec in "${EXTRA_FILES[@]}"; do
		src=${spec%%:*}
		dest=${spec#*:}
		[ "$dest" != "$spec" ] || dest=/test/$(basename "$src")
		[ -e "$src" ] || die "$src: no such file"
		if is_elf "$src"; then
			put_elf "$src" "$dest"
		else
			put_file "$src" "$dest"
		fi
	done
	for spec in "${SCENARIOS[@]}"; do
		s=${spec%%:*}
		name=${spec#*:}
		[ "$name" != "$spec" ] || name=$(basename "$s" .sh)
		[ -f "$s" ] || die "$s: no such scenario"
		install -m 0755 "$s" "$STAGE/test/scenarios/$(printf '%02d' $i)-$name"
		i=$((i + 1))
	done
}

main() {
	parse_args "$@"
	STAGE=$(mktemp -d "${TMPDIR:-/tmp}/natwho-initramfs.XXXXXX")
	trap 'rm -rf "$STAGE"' EXIT
	make_skeleton
	install_programs
	install_modules
	install_extras
	ldconfig -r "$STAGE"
	mkdir -p "$(dirname "$OUT")"
	(cd "$STAGE" && find . -mindepth 1 | LC_ALL=C sort |
		cpio --quiet -o -H newc -R 0:0) | gzip -6 > "$OUT.tmp"
	mv "$OUT.tmp" "$OUT"
	log "$OUT: $(du -h "$OUT" | cut -f1), kernel $RELEASE," \
	    "$(wc -l < "$STAGE/etc/natwho-qemu/modules") boot modules," \
	    "$(find "$STAGE/lib/modules" -name '*.ko' | wc -l) modules in all"
}

main "$@"
