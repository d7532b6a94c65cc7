#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# natwho's test runner: tests/run.sh [unit|docs|e2e|fuzz|qemu|all]...
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
unset NW_UPDATE_GOLDEN # golden files are checked here, never rewritten
LOGDIR=$ROOT/$BUILD/test-logs
mkdir -p "$LOGDIR"

passed=0 failed=0 skipped=0
failures=()

report() { # report NAME STATUS LOG [MAY_BE_UNSUPPORTED [REASON]]
	local name=$1 rc=$2 log=$3
	# 77 means "unsupported" only for the groups that define it (e2e, qemu):
	# a cmocka binary's status is its number of failures.
	[ $rc -eq 77 ] && [ -z "${4:-}" ] && rc=1
	case $rc in
	0)
		passed=$((passed + 1))
		printf 'PASS        %s\n' "$name"
		;;
	77)
		skipped=$((skipped + 1))
		printf 'UNSUPPORTED %s: %s\n' "$name" \
			"${5:-$(grep -m1 -i 'unsupported' "$log" | sed 's/^.*[Uu]nsupported:\? *//')}"
		;;
	*)
		failed=$((failed + 1))
		failures+=("$name")
		printf 'FAIL        %s (exit %s), last lines of %s:\n' "$name" "$rc" "$log"
		tail -n 25 "$log" | sed 's/^/    | /'
		;;
	esac
}

# A test made of parts that each pass, fail or cannot run here (a backend,
# a kernel of the QEMU matrix) says so per part on lines
#   result: PART pass | result: PART unsupported: REASON | result: PART fail: REASON
# and each part is reported (and counted) as a test of its own: a part that
# cannot run is never folded into its test's pass.
report_parts() { # report_parts NAME LOG: false when LOG has no parts
	local name=$1 log=$2 line part status n=0
	while IFS= read -r line; do
		line=${line#result: }
		part=${line%% *}
		status=${line#"$part"}
		status=${status# }
		case $status in
		pass) report "$name[$part]" 0 "$log" ;;
		unsupported:*) report "$name[$part]" 77 "$log" 1 "${status#unsupported: }" ;;
		*) report "$name[$part]" 1 "$log" ;;
		esac
		n=$((n + 1))
	done < <(grep '^result: ' "$log")
	[ $n -gt 0 ]
}

run_one() { # run_one NAME TIMEOUT CMD...; UNSUPPORTED_OK=1 lets 77 mean unsupported
	local name=$1 limit=$2 log="$LOGDIR/${1//\//_}.log" rc
	shift 2
	timeout --kill-after=30 "$limit" "$@" >"$log" 2>&1
	rc=$?
	[ $rc -eq 124 ] && echo "timed out after ${limit}s" >>"$log"
	# parts of a test that passed (a unit test's, e.g. test_crc32: both
	# ways, or one that cannot run here); of one that exits 77 where that
	# means "unsupported"
	if { [ $rc -eq 0 ] || { [ -n "${UNSUPPORTED_OK:-}" ] && [ $rc -eq 77 ]; }; } &&
		report_parts "$name" "$log"; then
		return
	fi
	report "$name" "$rc" "$log" "${UNSUPPORTED_OK:-}"
}

# One test per source file: a binary that was not built is a failure.
run_built() { # run_built GROUP SRC BIN TIMEOUT [ARGS...]
	local group=$1 src=$2 bin=$3 limit=$4
	shift 4
	if [ ! -x "$bin" ]; then
		echo "not built: $bin (from $src); run make tests" >"$LOGDIR/$group-missing.log"
		report "$group/$(basename "$bin")" 1 "$LOGDIR/$group-missing.log"
		return
	fi
	run_one "$group/$(basename "$bin")" "$limit" "$bin" "$@"
}

run_unit() {
	local src
	for src in tests/unit/test_*.c; do
		run_built unit "$src" "$BUILD/tests/$(basename "$src" .c)" 120
	done
}

run_e2e() {
	local t
	if [ "$(id -u)" -ne 0 ]; then
		for t in tests/e2e/*.sh; do
			echo "unsupported: end-to-end tests need root" >"$LOGDIR/e2e.log"
			report "e2e/$(basename "$t" .sh)" 77 "$LOGDIR/e2e.log" 1
		done
		return
	fi
	for t in tests/e2e/*.sh; do
		UNSUPPORTED_OK=1 run_one "e2e/$(basename "$t" .sh)" 300 bash "$t"
	done
}

run_fuzz() {
	local src name
	for src in tests/fuzz/fuzz_*.c; do
		name=$(basename "$src" .c)
		name=${name#fuzz_}
		# New inputs go to a scratch dir, emptied first; the kept corpus
		# is read-only input.  A fixed seed from the same corpus: every run
		# (here, in CI) walks the same inputs, a slower machine fewer of
		# them, so a crash fails every run that gets that far, not one in
		# chance.  Longer runs for new inputs: NW_FUZZ_SECONDS, or by hand.
		rm -rf "$LOGDIR/fuzz-$name"
		mkdir -p "$LOGDIR/fuzz-$name"
		run_built fuzz "$src" "$BUILD/fuzz/fuzz_$name" $((FUZZ_SECONDS + 60)) \
			-seed=1 -timeout=10 -rss_limit_mb=2048 \
			-max_total_time="$FUZZ_SECONDS" -artifact_prefix="$LOGDIR/fuzz-$name/" \
			"$LOGDIR/fuzz-$name" "tests/fuzz/corpus/$name"
	done
}

run_docs() {
	run_one "docs/options" 60 tests/docs.sh
}

run_qemu() {
	if [ ! -x tests/qemu/matrix.sh ]; then
		echo "tests/qemu/matrix.sh is missing or not executable" >"$LOGDIR/qemu_matrix.log"
		report qemu/matrix 1 "$LOGDIR/qemu_matrix.log"
		return
	fi
	UNSUPPORTED_OK=1 run_one "qemu/matrix" 4800 tests/qemu/matrix.sh
	sed -n '/^natwho backend matrix/,$ { /^result: /d; s/^/    /p; }' "$LOGDIR/qemu_matrix.log"
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
