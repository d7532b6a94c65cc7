#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Stops in a storm: natwho started and stopped again and again inside one
# connection storm, each run's own count of lost events kept.  The stop is
# when events are most likely in flight: staged on a CPU by a program that
# is still running, in the ring, in natwho's output.  Issue 7's zero-loss
# target at the storm's rate, checked a stop at a time (onoff.sh makes a
# stop every few seconds; this makes one every second or so).
#
# Two builds can take turns in the same storm (NWS_ALT: another natwho, for
# example one from before a change to the drain), so that a difference
# between them is not the machine's phase.
#
# Each run: natwho --backend netfilter -w FILE (text and a capture file into
# tmpfs, as onoff.sh's capfile variant) in the node namespace of
# storm-lib.sh's topology, attached, then NWS_RUN seconds of the storm, then
# SIGINT; its summary line gives events and lost, its warning where the lost
# went.  The stderr of a run that lost events is kept in
# $NWB_OUT/stops-lost-N-BUILD.err.
#
# Knobs (environment): NWS_STOPS (runs per build, 300), NWS_RUN (seconds,
# 0.3), NWS_ALT (a second natwho), NWS_ARGS (natwho's output arguments
# instead of "-w FILE"; FILE is replaced by a file in tmpfs), NWB_THREADS
# (2), NWB_OUT (build/bench), NATWHO (./natwho).  Writes $NWB_OUT/stops.tsv
# (one row per run) and stops.md (the table).  `--report` redoes the table
# from stops.tsv.  Exit 0 when it ran (whatever it counted), 1 when it
# could not run, 77 when not root.

STOPS_N=${NWS_STOPS:-300}
STOPS_RUN=${NWS_RUN:-0.3}
STOPS_ARGS=${NWS_ARGS:--w FILE}
STOPS_STORM_S=600 # one storm's length; another starts when it ends

# stops_storm DIR: make sure a storm runs (sets STOPS_STORM_PID).
stops_storm() {
	if [ -n "${STOPS_STORM_PID:-}" ] && kill -0 "$STOPS_STORM_PID" 2>/dev/null; then
		return
	fi
	[ -n "${STOPS_STORM_PID:-}" ] && nwb_reap "$STOPS_STORM_PID"
	nwb_ct_settle
	nwb_bg "$NWB_NODE" "$STORM" storm "$NWB_SVC" 80 -t "$THREADS" -d "$STOPS_STORM_S" \
		>"$1/storm.out" 2>"$1/storm.err"
	STOPS_STORM_PID=$NWB_LAST
	sleep 2 # past the first second's ramp
	kill -0 "$STOPS_STORM_PID" 2>/dev/null || die "nw-storm did not start: $(cat "$1/storm.err")"
}

# stops_one BUILD-NAME NATWHO RUN DIR: one start, a storm, a stop; prints
# the row (build, run, events, lost, ring, stranded, skipped).
stops_one() {
	local name=$1 bin=$2 n=$3 d=$4 args why ring stranded skipped pid
	rm -f "$d/out" "$d/err" "$d/cap"
	args=${STOPS_ARGS//FILE/$d/cap}
	# shellcheck disable=SC2086 # the arguments are words
	nwb_bg "$NWB_NODE" "$bin" --backend netfilter $args >"$d/out" 2>"$d/err"
	pid=$NWB_LAST
	if ! natwho_wait_attached "$pid"; then
		nwb_stop "$pid" INT
		die "natwho ($name) did not attach: $(head -c 400 "$d/err")"
	fi
	sleep "$STOPS_RUN"
	nwb_stop "$pid" INT
	why=$(grep -E 'events? (was|were) lost:' "$d/err")
	ring=$(sed -nE 's/.*[:;] ([0-9]+) found the ring buffer full.*/\1/p' <<<"$why")
	stranded=$(sed -nE 's/.*[:;] ([0-9]+) still staged on a CPU.*/\1/p' <<<"$why")
	skipped=$(sed -nE 's/.*[:;] ([0-9]+) in runs of the programs.*/\1/p' <<<"$why")
	set -- $(nwb_natwho_counts "$d")
	if [ "$2" != 0 ]; then
		cp "$d/err" "$OUTDIR/stops-lost-$n-$name.err"
		echo "stops: natwho ($name, run $n): $1 events, $2 lost (its stderr:" \
			"$OUTDIR/stops-lost-$n-$name.err)" >&2
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$n" "$1" "$2" "${ring:-0}" "${stranded:-0}" \
		"${skipped:-0}"
}

# stops_phase DIR: the runs, into $OUTDIR/stops.tsv.  Needs storm-lib.sh's
# namespaces up, STORM, THREADS, NATWHO, OUTDIR and a tmpfs directory DIR;
# storm.sh runs it after onoff.sh's phase.
stops_phase() {
	local d=$1 n names=(natwho) bins=("$NATWHO") i
	STOPS_RES=$OUTDIR/stops.tsv
	STOPS_STORM_PID=
	[ -n "${NWS_ALT:-}" ] && names+=(alt) && bins+=("$NWS_ALT")
	printf 'build\trun\tevents\tlost\tring\tstranded\tskipped\n' >"$STOPS_RES"
	echo "bench: stops: $STOPS_N runs per build (${names[*]}) of $STOPS_RUN s in a storm," \
		"natwho --backend netfilter $STOPS_ARGS"
	for n in $(seq 1 "$STOPS_N"); do
		for i in "${!names[@]}"; do
			# the builds take turns, in an order that alternates
			[ $((n % 2)) = 0 ] && i=$((${#names[@]} - 1 - i))
			stops_storm "$d"
			stops_one "${names[$i]}" "${bins[$i]}" "$n" "$d" >>"$STOPS_RES"
		done
		[ $((n % 50)) = 0 ] && echo "  stops: $n of $STOPS_N per build"
	done
	nwb_stop "$STOPS_STORM_PID"
	STOPS_STORM_PID=
}

stops_report() {
	echo "| natwho | runs | runs with a count | events | lost | ring full | still staged | skipped | runs that lost any |"
	echo "|---|---|---|---|---|---|---|---|---|"
	awk -F'\t' 'NR > 1 {
			b[$1]++
			if (!($1 in order)) { order[$1] = ++nb; name[nb] = $1 }
			if ($3 == "?") next
			ok[$1]++; ev[$1] += $3; lo[$1] += $4; r[$1] += $5; s[$1] += $6; k[$1] += $7
			if ($4 > 0) runs_lost[$1]++
		}
		END {
			for (j = 1; j <= nb; j++) {
				x = name[j]
				# with no run losing: at most 3/n of runs could (the rule of three)
				if (runs_lost[x])
					bound = sprintf("%d of %d runs lost some", runs_lost[x], ok[x])
				else if (ok[x])
					bound = sprintf("none: below %.4f", 3 / ok[x])
				else
					bound = "-"
				printf "| %s | %d | %d | %d | %d | %d | %d | %d | %s |\n", x, b[x], ok[x],
					ev[x], lo[x], r[x], s[x], k[x], bound
			}
		}' "$STOPS_RES"
}

stops_main() {
	set -uo pipefail
	cd "$(dirname "$0")/../.." || exit 1
	NWB_NAME=stops
	. tests/bench/storm-lib.sh
	nwb_paths
	THREADS=${NWB_THREADS:-2}
	STOPS_RES=$OUTDIR/stops.tsv
	[ -z "${NWS_ALT:-}" ] || [ -x "$NWS_ALT" ] || die "NWS_ALT: $NWS_ALT is not a program"
	nwb_standalone stops stops_phase stops_report "$STOPS_RES" "$@"
}

[ "${BASH_SOURCE[0]}" != "$0" ] || stops_main "$@"
