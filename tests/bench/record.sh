#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Does `natwho -w FILE` keep up with the fastest event rate?  (issue 5)
# As root, from anywhere: tests/bench/record.sh.  Not part of `make check`.
#
# nw-storm (tests/tools/nw-storm.c) opens and closes TCP connections through
# a kube-proxy-style DNAT as fast as it can, in throwaway namespaces
# (tests/bench/storm-lib.sh), while natwho (netfilter backend) traces the
# node namespace in one of these ways, NWR_ROUNDS times each, interleaved:
#   q         -q -o json                       decode and count, print nothing
#   q+w       -q -o json -w FILE               the same plus the capture file
#   json      -o json > FILE                   live JSON, as an operator runs it
#   json+w    -o json -w FILE > FILE           live JSON plus the capture file
# (files on tmpfs).  For each: the storm's connection rate, the events natwho
# delivered per second, the events lost (ring buffer full), and natwho's CPU
# time (user + system, from /proc) per event.  Then `natwho -r` on the largest
# capture: the replay rate.
#
# natwho runs with --no-rules: no ruleset dumps or index rebuilds (their
# cost is the knowledge module's, and comes in bursts), so the difference
# between the variants is the recording alone.  CPU time is natwho's
# (single-threaded) from /proc/PID/schedstat, over the storm and the drain.
#
# Knobs: NWR_ROUNDS (5), NWR_DURATION (5 s), NWR_THREADS (2 storm threads).
# Exit 0 when the benchmark ran, 1 when it could not, 77 when not root.
set -uo pipefail

cd "$(dirname "$0")/../.."
NWB_P=nwrb$$-
. tests/bench/storm-lib.sh
nwb_paths
ROUNDS=${NWR_ROUNDS:-5}
DUR=${NWR_DURATION:-5}
THREADS=${NWR_THREADS:-2}

nwb_need_root
[ -x "$NATWHO" ] || die "$NATWHO not built: run make"
[ -x "$STORM" ] || die "$STORM not built: run make ${OUTPUT:-build}/tests/nw-storm"
for t in jq nsenter iptables-restore; do
	command -v "$t" >/dev/null || die "$t not installed (make deps)"
done
NWB_TMP=$(mktemp -d /dev/shm/nwr-bench.XXXXXX) || die "no tmpfs at /dev/shm"
T=$NWB_TMP

cpu_ns() { # time PID (one thread: natwho) spent on a CPU, in ns
	cut -d' ' -f1 "/proc/$1/schedstat"
}

# One storm under one variant: "conn_per_s events lost cpu_s capture_bytes"
run_one() {
	local v=$1 args=() c0 c1 line rate sum
	case $v in
	q) args=(-q -o json) ;;
	q+w) args=(-q -o json -w "$T/cap") ;;
	json) args=(-o json) ;;
	json+w) args=(-o json -w "$T/cap") ;;
	esac
	nwb_ct_settle
	rm -f "$T/cap" "$T/out"
	nwb_natwho_start "$T/out" "$T/err" --backend netfilter --no-rules "${args[@]}" ||
		die "natwho ($v)"
	c0=$(cpu_ns "$NWB_NATWHO")
	line=$(nwb_in "$NWB_NODE" "$STORM" storm "$NWB_SVC" 80 -t "$THREADS" -d "$DUR" 2>/dev/null)
	sleep 0.5 # natwho drains what is in flight
	c1=$(cpu_ns "$NWB_NATWHO")
	nwb_stop "$NWB_NATWHO" INT
	rate=$(sed -nE 's/.*rate=([0-9]+).*/\1/p' <<<"$line")
	[ -n "$rate" ] || die "nw-storm failed ($v)"
	sum=$(jq -r 'select(.type=="summary") | "\(.events) \(.lost)"' "$T/out")
	[ -n "$sum" ] || die "no summary from natwho ($v): $(tail -3 "$T/err")"
	echo "$rate $sum $(awk -v t=$((c1 - c0)) 'BEGIN { print t / 1e9 }') \
$(stat -c %s "$T/cap" 2>/dev/null || echo 0)"
	[ -s "$T/cap" ] && [ "$(stat -c %s "$T/cap")" -gt "$(stat -c %s "$T/big" 2>/dev/null || echo 0)" ] &&
		cp "$T/cap" "$T/big"
	return 0
}

report() {
	printf '\n%-8s %10s %12s %8s %14s %10s\n' variant "conn/s" "events/s" lost "CPU us/event" "MB/s file"
	for v in "${variants[@]}"; do
		grep "^$v " "$T/runs" | awk -v d="$DUR" -v v="$v" '
			{ r += $2; e += $3; l += $4; c += $5; b += $6; n++ }
			END { printf "%-8s %10.0f %12.0f %8d %14.2f %10.2f\n", v, r / n, e / n / d, l,
			      e ? c * 1e6 / e : 0, b / n / d / 1e6 }'
	done
}

replay_rate() {
	local n t0 t1
	[ -s "$T/big" ] || return 0
	for mode in "-q" "-o json"; do
		t0=$(date +%s%N)
		# shellcheck disable=SC2086
		n=$("$NATWHO" -r "$T/big" $mode 2>&1 >/dev/null | sed -nE 's/^natwho: ([0-9]+) events.*/\1/p')
		t1=$(date +%s%N)
		[ -n "$n" ] || n=$("$NATWHO" -r "$T/big" -q -o json | jq -r 'select(.type=="summary").events')
		awk -v n="$n" -v ns=$((t1 - t0)) -v m="$mode" -v sz="$(stat -c %s "$T/big")" 'BEGIN {
			printf "replay %-8s %d events (%.1f MB capture) in %.2f s: %.0f events/s\n",
				m, n, sz / 1e6, ns / 1e9, n / (ns / 1e9) }'
	done
}

echo "bench: $(nproc) CPUs, kernel $(uname -r); $ROUNDS rounds x ${DUR}s, $THREADS storm threads"
nwb_up "$STORM"
variants=(q q+w json json+w)
: >"$T/runs"
for r in $(seq 1 "$ROUNDS"); do
	for i in "${!variants[@]}"; do
		v=${variants[$(((i + r - 1) % ${#variants[@]}))]}
		res=$(run_one "$v") || exit 1
		echo "$v $res" >>"$T/runs"
		read -r rate events lost cpu bytes <<<"$res"
		printf '  round %s %-7s %6s conn/s, %7s events, %s lost, %s s CPU, capture %s bytes\n' \
			"$r" "$v" "$rate" "$events" "$lost" "$cpu" "$bytes"
	done
done
report
replay_rate
