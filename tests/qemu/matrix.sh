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
#               suite's checks), BACKEND-incident (kube-proxy IPVS mode
#               plus the portmap hostPort DNAT, and the control case),
#               BACKEND-vrf (a local connection from a VRF reported once)
#               and fentry-ctfull (conntrack's table full: natwho says what
#               it dropped); a second boot without modules runs BACKEND-noconntrack for the
#               probes of nf_conntrack functions (fentry, kprobe).
#
# A cell passes when every scenario of the backend passed; it is unsupported
# (never a pass) when natwho reports the backend cannot work on that kernel
# and the kernel's config agrees (the guest gets natwho.expect=... from the
# config: a backend the config supports must attach); anything else, a guest
# that hangs past NATWHO_QEMU_TIMEOUT (default 900 s) included, fails.
#
# Prints the matrix last.  Exit 0 when no cell failed, 1 otherwise, 77 (the
# whole matrix unsupported) when not run as root.
# Logs: build/qemu/matrix-<release>.log (+ .results), build/qemu/matrix-host.log.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$ROOT/tests/qemu
OUT=$ROOT/build/qemu
BUILD=$ROOT/${OUTPUT:-build}
BACKENDS=(fentry kprobe netfilter)
NOCT_BACKENDS=(fentry kprobe)
CTFULL_BACKEND=fentry
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
	# Targets as the Makefile names them: relative to $ROOT.
	make -C "$ROOT" --no-print-directory -s natwho "${BUILD#"$ROOT"/}/natwho-static" \
		"${BUILD#"$ROOT"/}/tests/nw-connect" >&2 || return 1
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

. "$HERE/kconfig.sh"

parts_of() {
	case " ${NOCT_BACKENDS[*]} " in
	*" $1 "*) echo e2e incident vrf noconntrack ;;
	*) echo e2e incident vrf ;;
	esac
}

# Fill the cells of ROW from run.sh's results (name status rc secs note).
judge_guest() {
	local row=$1 results=$2 b part status note statuses notes all
	for b in "${BACKENDS[@]}"; do
		statuses='' notes='' all=''
		for part in $(parts_of "$b"); do
			all+=" pass"
			status=$(awk -F'\t' -v n="$b-$part" '$1 == n {print $2}' "$results" 2>/dev/null)
			note=$(awk -F'\t' -v n="$b-$part" '$1 == n {print $5}' "$results" 2>/dev/null)
			statuses+=" ${status:-none}"
			[ -n "$note" ] && notes=${notes:-$part: $note}
		done
		if [ "$statuses" = "$all" ]; then
			cell "$row" "$b" pass
		elif [ "$statuses" = "${all//pass/skip}" ]; then
			cell "$row" "$b" unsupported "$notes"
		elif [[ $statuses != *fail* && $statuses != *none* ]]; then
			# some parts passed, the others cannot run here (a VRF-less
			# kernel): not a pass, not a failure either
			cell "$row" "$b" unsupported "some parts only: $(parts_of "$b" | tr ' ' /):$statuses${notes:+; $notes}"
		elif [[ $statuses == *none* ]]; then
			cell "$row" "$b" fail "no result (guest hung or crashed?)${notes:+; $notes}"
		else
			cell "$row" "$b" fail "$(parts_of "$b" | tr ' ' /):$statuses${notes:+; $notes}"
		fi
	done
}

join() {
	local IFS=,
	echo "$*"
}

# boot KERNEL_DIR INITRD LOG APPEND: one guest run; its verdict is in LOG.results.
boot() {
	rm -f "$3.results"
	NATWHO_QEMU_APPEND="$4 natwho.timeout=$SCENARIO_TIMEOUT" \
		"$HERE/run.sh" "$1" "$2" "$TIMEOUT" "$3" >&2
}

run_guest() {
	local series=$1 release kdir initrd logf expect args=() b main=() noct=() rc=0 rc2=0
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
		args+=(-s "$HERE/scenarios/backend.sh:$b-e2e" -s "$HERE/scenarios/backend.sh:$b-incident"
			-s "$HERE/scenarios/backend.sh:$b-vrf")
		main+=("$b-e2e" "$b-incident" "$b-vrf")
	done
	# conntrack's table full: natwho reads its counters the same way
	# whatever the backend; fentry attaches on every series
	args+=(-s "$HERE/scenarios/backend.sh:$CTFULL_BACKEND-ctfull")
	main+=("$CTFULL_BACKEND-ctfull")
	for b in "${NOCT_BACKENDS[@]}"; do
		args+=(-s "$HERE/scenarios/backend.sh:$b-noconntrack")
		noct+=("$b-noconntrack")
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
	boot "$kdir" "$initrd" "$logf" "natwho.expect=$expect natwho.only=$(join "${main[@]}")" ||
		rc=$?
	boot "$kdir" "$initrd" "$logf-noconntrack" \
		"natwho.expect=$expect natwho.only=$(join "${noct[@]}") natwho.modules=0" || rc2=$?
	cat "$logf.results" "$logf-noconntrack.results" >"$logf.all-results" 2>/dev/null
	judge_guest "$release (qemu)" "$logf.all-results"
	# 77: some scenario unsupported (judged above); anything else but 0 is a
	# run that failed by itself (QEMU's exit, a timeout, no DONE): results
	# it left cannot pass.
	for rc in "$rc" "$rc2"; do
		if [ "$rc" != 0 ] && [ "$rc" != 77 ]; then
			row_fails "$release (qemu)" "qemu/run.sh failed (exit $rc; see $logf)"
			break
		fi
	done
}

run_host() {
	local row logf line b status
	row="$(uname -r) (host)"
	logf=$OUT/matrix-host.log
	ROWS+=("$row")
	log "host: tests/e2e/backends.sh; log: $logf"
	NATWHO=$ROOT/natwho NW_TOOLS=$BUILD/tests \
		timeout --foreground -k 10 600 bash "$ROOT/tests/e2e/backends.sh" "${BACKENDS[@]}" >"$logf" 2>&1
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
	# one line per cell for tests/run.sh, which reports each on its own
	for row in "${ROWS[@]}"; do
		for b in "${BACKENDS[@]}"; do
			case ${CELL[$row|$b]:-fail} in
			pass) printf 'result: %s/%s pass\n' "${row// /}" "$b" ;;
			*) printf 'result: %s/%s %s: %s\n' "${row// /}" "$b" "${CELL[$row|$b]:-fail}" \
				"${REASON[$row|$b]:-no result}" ;;
			esac
		done
	done
	printf 'matrix: %d failed cell(s), %ds\n' "$failed" "$SECONDS"
	[ $failed -eq 0 ]
}

main() {
	local s
	[ "$(id -u)" -eq 0 ] || { echo "unsupported: the matrix needs root (namespaces, modules)"; exit 77; }
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
