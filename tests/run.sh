#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# natwho's test runner: tests/run.sh [unit|e2e|fuzz|qemu|all]...
#
# unit: every build/tests/test_* (cmocka; exit status = failed tests)
# e2e:  every tests/e2e/*.sh as root (exit 0 pass, 77 unsupported, else fail)
# fuzz: every build/fuzz/fuzz_* for NW_FUZZ_SECONDS (default 20) from its
#       corpus in tests/fuzz/corpus/<name>/
# docs: --help, natwho.8 and README.md name the same options
# qemu: tests/qemu/matrix.sh, if present (real-kernel backend matrix)
#
# Unsupported tests are reported with their reason and counted as skipped,
# never as passed.  The last line is "check: N passed, N failed, N skipped".
set -uo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${OUTPUT:-build}
export NATWHO=${NATWHO:-$ROOT/natwho}
export NW_TOOLS=${NW_TOOLS:-$ROOT/$BUILD/tests}
FUZZ_SECONDS=${NW_FUZZ_SECONDS:-20}
LOGDIR=$ROOT/$BUILD/test-logs
mkdir -p "$LOGDIR"

passed=0 failed=0 skipped=0
failures=()

report() { # report NAME STATUS LOG
	local name=$1 rc=$2 log=$3
	case $rc in
	0)
		passed=$((passed + 1))
		printf 'PASS        %s\n' "$name"
		;;
	77)
		skipped=$((skipped + 1))
		printf 'UNSUPPORTED %s: %s\n' "$name" "$(grep -m1 -i 'unsupported' "$log" | sed 's/^.*[Uu]nsupported:\? *//')"
		;;
	*)
		failed=$((failed + 1))
		failures+=("$name")
		printf 'FAIL        %s (exit %s), last lines of %s:\n' "$name" "$rc" "$log"
		tail -n 25 "$log" | sed 's/^/    | /'
		;;
	esac
}

run_one() { # run_one NAME TIMEOUT CMD...
	local name=$1 limit=$2 log="$LOGDIR/${1//\//_}.log" rc
	shift 2
	timeout --kill-after=10 "$limit" "$@" >"$log" 2>&1
	rc=$?
	[ $rc -eq 124 ] && echo "timed out after ${limit}s" >>"$log"
	report "$name" "$rc" "$log"
}

run_unit() {
	local t
	for t in "$BUILD"/tests/test_*; do
		[ -x "$t" ] || continue
		run_one "unit/$(basename "$t")" 120 "$t"
	done
}

run_e2e() {
	local t
	if [ "$(id -u)" -ne 0 ]; then
		for t in tests/e2e/*.sh; do
			echo "unsupported: end-to-end tests need root" >"$LOGDIR/e2e.log"
			report "e2e/$(basename "$t" .sh)" 77 "$LOGDIR/e2e.log"
		done
		return
	fi
	for t in tests/e2e/*.sh; do
		[ -f "$t" ] || continue
		run_one "e2e/$(basename "$t" .sh)" 300 bash "$t"
	done
}

run_fuzz() {
	local f name corpus
	for f in "$BUILD"/fuzz/fuzz_*; do
		[ -x "$f" ] || continue
		name=$(basename "$f")
		name=${name#fuzz_}
		corpus=tests/fuzz/corpus/$name
		mkdir -p "$LOGDIR/fuzz-$name"
		# New inputs go to a scratch dir; the kept corpus is read-only input.
		run_one "fuzz/$name" $((FUZZ_SECONDS + 60)) "$f" -max_total_time="$FUZZ_SECONDS" \
			-artifact_prefix="$LOGDIR/fuzz-$name/" "$LOGDIR/fuzz-$name" "$corpus"
	done
}

run_docs() {
	run_one "docs/options" 60 tests/docs.sh
}

run_qemu() {
	[ -x tests/qemu/matrix.sh ] || return 0
	run_one "qemu/matrix" 3600 tests/qemu/matrix.sh
	sed -n '/^natwho backend matrix/,$s/^/    /p' "$LOGDIR/qemu_matrix.log"
}

[ $# -eq 0 ] && set -- all
for what in "$@"; do
	case $what in
	unit) run_unit ;;
	e2e) run_e2e ;;
	fuzz) run_fuzz ;;
	qemu) run_qemu ;;
	docs) run_docs ;;
	all) run_unit; run_docs; run_fuzz; run_e2e; run_qemu ;;
	*) echo "usage: tests/run.sh [unit|docs|e2e|fuzz|qemu|all]..." >&2; exit 2 ;;
	esac
done

echo
[ ${#failures[@]} -gt 0 ] && echo "failed: ${failures[*]}"
echo "check: $passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ] && [ $((passed + failed)) -gt 0 ]
