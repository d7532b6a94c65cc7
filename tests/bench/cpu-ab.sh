#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# natwho's CPU per event, two builds side by side: did a change to the
# userspace path make records cheaper?  As root, from anywhere:
#   tests/bench/cpu-ab.sh OLD NEW [MODE...]
# OLD and NEW are natwho binaries (say, a worktree's build of the last
# commit, and ./natwho); MODE is text, json or capfile (text plus -w to a
# file); default: text json.  Not part of `make check`.
#
# One nw-storm (tests/tools/nw-storm.c) runs through storm-lib.sh's DNAT
# throughout; in each round each build traces it in each mode in turn (the
# order rotating), netfilter backend, the node's rules read as storm.sh
# runs it, output to tmpfs.  Per run: natwho's CPU time
# (/proc/PID/schedstat) over a window that starts after it attached,
# divided by the records it wrote in that window (lines of its output;
# stdio's buffer makes that exact to about 0.2%).  Per mode: the median
# (min-max) us per event of each build, and the median of the per-round
# ratios NEW / OLD.  What it cannot see: effects on the storm itself (that
# is onoff.sh's).
#
# Knobs: NWA_ROUNDS (5), NWA_WINDOW (4 s), NWB_THREADS (2 storm threads).
# Exit 0 when it ran, 1 when it could not, 2 on bad arguments, 77 when not
# root.
set -uo pipefail

cd "$(dirname "$0")/../.." || exit 1
NWB_P=nwab$$-
NWB_NAME=cpu-ab
. tests/bench/storm-lib.sh
nwb_paths
ROUNDS=${NWA_ROUNDS:-5}
WIN=${NWA_WINDOW:-4}
THREADS=${NWB_THREADS:-2}

if [ $# -lt 2 ]; then
	echo "usage: tests/bench/cpu-ab.sh OLD_NATWHO NEW_NATWHO [text|json|capfile]..." >&2
	exit 2
fi
OLD=$1 NEW=$2
shift 2
MODES=(text json)
[ $# -gt 0 ] && MODES=("$@")
for m in "${MODES[@]}"; do
	case $m in text | json | capfile) ;; *) echo "cpu-ab: unknown mode $m" >&2; exit 2 ;; esac
done
nwb_need_root
for b in "$OLD" "$NEW"; do
	[ -x "$b" ] || die "$b: not an executable natwho"
done
[ -x "$STORM" ] || die "$STORM not built: run make ${OUTPUT:-build}/tests/nw-storm"
NWB_TMP=$(mktemp -d /dev/shm/nwa-bench.XXXXXX) || die "no tmpfs at /dev/shm"
T=$NWB_TMP

cpu_ns() { cut -d' ' -f1 "/proc/$1/schedstat"; }

# One build in one mode over one window: RES="events us_per_event" (no
# subshell: a natwho it started stays known to the cleanup).
run_one() {
	local bin=$1 m=$2 args=() c0 c1 l0 l1
	case $m in
	json) args=(-o json) ;;
	capfile) args=(-w "$T/cap") ;;
	esac
	rm -f "$T/out" "$T/err" "$T/cap"
	nwb_bg "$NWB_NODE" "$bin" --backend netfilter "${args[@]}" >"$T/out" 2>"$T/err"
	natwho_wait_attached "$NWB_LAST" || die "$bin ($m) did not attach: $(tail -2 "$T/err")"
	sleep 0.3
	c0=$(cpu_ns "$NWB_LAST") l0=$(wc -l <"$T/out")
	sleep "$WIN"
	c1=$(cpu_ns "$NWB_LAST") l1=$(wc -l <"$T/out")
	nwb_stop "$NWB_LAST" INT
	[ $((l1 - l0)) -gt 0 ] || die "$bin ($m) wrote no records in ${WIN}s: $(tail -2 "$T/err")"
	RES=$(awk -v c=$((c1 - c0)) -v e=$((l1 - l0)) 'BEGIN { printf "%d %.4f", e, c / e / 1000 }')
}

echo "cpu-ab: $(nproc) CPUs, kernel $(uname -r); $ROUNDS rounds x ${WIN}s per build and mode; OLD $OLD, NEW $NEW"
nwb_up "$STORM"
nwb_bg "$NWB_NODE" "$STORM" storm "$NWB_SVC" 80 -t "$THREADS" \
	-d $((ROUNDS * 2 * ${#MODES[@]} * (WIN + 4) + 30)) >/dev/null
sleep 2 # past the storm's first second
runs=()
for m in "${MODES[@]}"; do
	for b in old new; do runs+=("$m $b"); done
done
: >"$T/runs"
for r in $(seq 1 "$ROUNDS"); do
	for i in "${!runs[@]}"; do
		read -r m b <<<"${runs[$(((i + r - 1) % ${#runs[@]}))]}"
		bin=$OLD
		[ "$b" = new ] && bin=$NEW
		run_one "$bin" "$m"
		echo "$r $m $b $RES" >>"$T/runs"
		printf '  round %s %-7s %s: %7s events, %s us per event\n' "$r" "$m" "$b" $RES
	done
done

med() { sort -g | awk '{ v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.3f (%.3f-%.3f)", m, v[1], v[NR] }'; }
echo
echo "| Mode | OLD us per event: median (min-max) | NEW | NEW / OLD, per round: median (min-max) |"
echo "|---|---|---|---|"
for m in "${MODES[@]}"; do
	o=$(awk -v m="$m" '$2 == m && $3 == "old" { print $5 }' "$T/runs" | med)
	n=$(awk -v m="$m" '$2 == m && $3 == "new" { print $5 }' "$T/runs" | med)
	q=$(awk -v m="$m" '$2 == m { v[$1 " " $3] = $5 } END {
		for (k in v) { split(k, a, " "); if (a[2] == "new" && v[a[1] " old"] > 0) print v[k] / v[a[1] " old"] } }' \
		"$T/runs" | med)
	echo "| $m | $o | $n | $q |"
done
