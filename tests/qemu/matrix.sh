#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# matrix.sh: natwho's kernel x backend test matrix (part of `make check`,
# through tests/run.sh qemu).
#
#   host row    tests/e2e/backends.sh on this machine's kernel
#   qemu rows   for each Debian cloud kernel series in NATWHO_QEMU_KERNELS
#               (default "6.1 6.12"): prepare.sh fetches and unpacks the
#               newest kernel of the series, mkinitramfs.sh builds a guest
#               with build/natwho-static, nw-connect (static), netns.sh and
#               checks.sh, and run.sh boots it under TCG.  Inside, for each
#               backend, scenarios/backend.sh runs BACKEND-e2e (the host
#               suite's checks) and BACKEND-incident (kube-proxy IPVS mode
#               plus the portmap hostPort DNAT, and the control case).
#
# A cell passes when every scenario of the backend passed; it is unsupported
# (never a pass) when natwho reports the backend cannot work on that kernel
# and the kernel's config agrees (the guest gets natwho.expect=... from the
# config: a backend the config supports must attach); anything else, a guest
# that hangs past NATWHO_QEMU_TIMEOUT (default 900 s) included, fails.
#
# Prints the matrix last.  Exit 0 when no cell failed, 1 otherwise.
# Logs: build/qemu/matrix-<release>.log (+ .results), build/qemu/matrix-host.log.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$ROOT/tests/qemu
OUT=$ROOT/build/qemu
BUILD=$ROOT/${OUTPUT:-build}
BACKENDS=(fentry kprobe netfilter)
read -r -a SERIES <<< "${NATWHO_QEMU_KERNELS:-6.1 6.12}"
TIMEOUT=${NATWHO_QEMU_TIMEOUT:-900}
SCENARIO_TIMEOUT=240 # each scenario, inside the guest
CC=${CC:-cc}

declare -A CELL REASON
ROWS=()

log() { printf 'matrix: %s\n' "$*" >&2; }

# cell ROW BACKEND STATUS [REASON]
cell() {
	CELL[$1|$2]=$3
	REASON[$1|$2]=${4:-}
}

row_fails() { # ROW REASON: every cell of ROW failed for the same reason
	local b
	for b in "${BACKENDS[@]}"; do
		cell "$1" "$b" fail "$2"
	done
}

build() {
	mkdir -p "$OUT"
	make -C "$ROOT" --no-print-directory -s natwho "$BUILD/natwho-static" \
		"$BUILD/tests/nw-connect" >&2 || return 1
	rm -f "$OUT/nw-connect"
	# (glibc warns that a static getaddrinfo needs NSS; nw-connect only
	# resolves numeric addresses.)
	"$CC" -O2 -Wall -Wextra -Werror -std=gnu11 -D_GNU_SOURCE -static \
		"$ROOT/tests/tools/nw-connect.c" -o "$OUT/nw-connect" 2>&1 | grep -v -e getaddrinfo -e "in function" >&2
	[ -x "$OUT/nw-connect" ] && [ -x "$BUILD/natwho-static" ]
}

# Debian names 6.1 kernels 6.1.0-<abi>-cloud-amd64, later ones
# <version>+deb<N>-cloud-amd64.
kernel_pattern() {
	case $1 in
	6.1) echo '^linux-image-6\.1\.0-[0-9]+-cloud-amd64$' ;;
	*) echo "^linux-image-${1//./\\.}\\.[0-9]+\\+deb[0-9]+-cloud-amd64\$" ;;
	esac
}

# The backends a kernel config says must work (comma-separated).
expected_backends() {
	local config=$1 list=()
	has() { grep -q "^$1=y" "$config"; }
	has CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS && has CONFIG_DEBUG_INFO_BTF && list+=(fentry)
	has CONFIG_KPROBES && has CONFIG_BPF_EVENTS && list+=(kprobe)
	has CONFIG_NETFILTER_BPF_LINK && list+=(netfilter)
	local IFS=,
	echo "${list[*]}"
}

# Fill the cells of ROW from run.sh's LOG.results (name status rc secs note).
judge_guest() {
	local row=$1 results=$2 b part status note statuses notes
	for b in "${BACKENDS[@]}"; do
		statuses='' notes=''
		for part in e2e incident; do
			status=$(awk -F'\t' -v n="$b-$part" '$1 == n {print $2}' "$results" 2>/dev/null)
			note=$(awk -F'\t' -v n="$b-$part" '$1 == n {print $5}' "$results" 2>/dev/null)
			statuses+=" ${status:-none}"
			[ -n "$note" ] && notes=${notes:-$part: $note}
		done
		case $statuses in
		" pass pass") cell "$row" "$b" pass ;;
		" skip skip") cell "$row" "$b" unsupported "$notes" ;;
		*none*) cell "$row" "$b" fail "no result (guest hung or crashed?)${notes:+; $notes}" ;;
		*) cell "$row" "$b" fail "e2e/incident:$statuses${notes:+; $notes}" ;;
		esac
	done
}

run_guest() {
	local series=$1 release kdir initrd logf expect args=() b
	release=$(NATWHO_QEMU_PATTERN=$(kernel_pattern "$series") "$HERE/prepare.sh") || {
		ROWS+=("linux-$series (qemu)")
		row_fails "linux-$series (qemu)" "kernel $series could not be prepared"
		return
	}
	kdir=$OUT/$release
	initrd=$OUT/matrix-$release.cpio.gz
	logf=$OUT/matrix-$release.log
	ROWS+=("$release (qemu)")
	for b in "${BACKENDS[@]}"; do
		args+=(-s "$HERE/scenarios/backend.sh:$b-e2e" -s "$HERE/scenarios/backend.sh:$b-incident")
	done
	if ! "$HERE/mkinitramfs.sh" -k "$kdir" -o "$initrd" \
		-f "$BUILD/natwho-static:/test/natwho" -f "$OUT/nw-connect:/test/nw-connect" \
		-f "$ROOT/tests/lib/netns.sh:/test/lib/netns.sh" -f "$HERE/checks.sh:/test/checks.sh" \
		"${args[@]}"; then
		row_fails "$release (qemu)" "initramfs could not be built"
		return
	fi
	expect=$(expected_backends "$kdir/config")
	log "booting $release (expect: ${expect:-nothing}); log: $logf"
	NATWHO_QEMU_APPEND="natwho.expect=$expect natwho.timeout=$SCENARIO_TIMEOUT" \
		"$HERE/run.sh" "$kdir" "$initrd" "$TIMEOUT" "$logf" >&2
	judge_guest "$release (qemu)" "$logf.results"
}

run_host() {
	local row logf line b status
	row="$(uname -r) (host)"
	logf=$OUT/matrix-host.log
	ROWS+=("$row")
	log "host: tests/e2e/backends.sh; log: $logf"
	NATWHO=$ROOT/natwho NW_TOOLS=$BUILD/tests \
		timeout -k 10 600 bash "$ROOT/tests/e2e/backends.sh" "${BACKENDS[@]}" >"$logf" 2>&1
	for b in "${BACKENDS[@]}"; do
		line=$(grep -m1 "^result: $b " "$logf")
		status=${line#result: $b }
		case $status in
		pass) cell "$row" "$b" pass ;;
		unsupported:*) cell "$row" "$b" unsupported "${status#unsupported: }" ;;
		fail:*) cell "$row" "$b" fail "${status#fail: }" ;;
		*) cell "$row" "$b" fail "no result (see $logf)" ;;
		esac
	done
}

print_matrix() {
	local row b failed=0 w=34
	printf '\nnatwho backend matrix (kernel x backend):\n'
	printf "  %-${w}s" kernel
	printf ' %-12s' "${BACKENDS[@]}"
	printf '\n'
	for row in "${ROWS[@]}"; do
		printf "  %-${w}s" "$row"
		for b in "${BACKENDS[@]}"; do
			printf ' %-12s' "${CELL[$row|$b]:-fail}"
			[ "${CELL[$row|$b]:-fail}" = fail ] && failed=$((failed + 1))
		done
		printf '\n'
	done
	for row in "${ROWS[@]}"; do
		for b in "${BACKENDS[@]}"; do
			[ -n "${REASON[$row|$b]:-}" ] &&
				printf '  %s x %s: %s: %s\n' "$row" "$b" "${CELL[$row|$b]}" "${REASON[$row|$b]}"
		done
	done
	printf 'matrix: %d failed cell(s), %ds\n' "$failed" "$SECONDS"
	[ $failed -eq 0 ]
}

main() {
	local s
	[ "$(id -u)" -eq 0 ] || { echo "matrix: needs root (QEMU guests, namespaces)" >&2; exit 1; }
	if ! build; then
		ROWS+=("build")
		row_fails build "natwho-static or nw-connect did not build"
		print_matrix
		exit 1
	fi
	run_host
	for s in "${SERIES[@]}"; do
		run_guest "$s"
	done
	print_matrix
}

main "$@"
