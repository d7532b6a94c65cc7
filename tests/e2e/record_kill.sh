#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# `natwho -w FILE` killed at random moments while a client keeps connecting:
#   SIGINT/SIGTERM  exit 0; the capture is complete (trailer): its replay is
#                   byte for byte the live JSON, summary included, and its
#                   event count is what was printed live;
#   SIGKILL         the capture reads up to its last complete record: the
#                   replay prints exactly the first N live records (nothing
#                   lost before the last one), then exits 5 with a
#                   truncation error.
# NWR_ROUNDS rounds (default 10); the seed is printed to replay a failure.
NW_P=nwr$$-
. "$(dirname "$0")/../lib/e2e.sh"

command -v jq >/dev/null || fail "jq missing (tests/deps.sh installs it)"
ROUNDS=${NWR_ROUNDS:-10}
SEED=${NWR_SEED:-$$}
RANDOM=$SEED
echo "seed $SEED (NWR_SEED=$SEED to repeat), $ROUNDS rounds"

nw_topology_up
nw_servers_up "$CONNECT"

# A client that never stops: TCP and UDP, IPv4 and IPv6, node and pod.
client() {
	while :; do
		"$CONNECT" connect "$CLUSTER_IP_MYSQL" 3306 >/dev/null 2>&1
		"$CONNECT" -u connect "$CLUSTER_IP_DNS" 53 >/dev/null 2>&1
		"$CONNECT" connect "$CLUSTER_IP6_MYSQL" 3306 >/dev/null 2>&1
	done
}
nw_bg "$NODE" bash -c "$(declare -f client); CONNECT=$CONNECT CLUSTER_IP_MYSQL=$CLUSTER_IP_MYSQL \
	CLUSTER_IP_DNS=$CLUSTER_IP_DNS CLUSTER_IP6_MYSQL=$CLUSTER_IP6_MYSQL client"
nw_bg "$PODA" bash -c "while :; do $CONNECT connect $CLUSTER_IP_MYSQL 3306 >/dev/null 2>&1; done"

# The complete JSON lines of FILE, as jq reads them (a SIGKILL may cut the
# last line in the middle).
json_lines() {
	jq -c -R 'fromjson? // empty' "$1"
}

check_complete() { # check_complete SIG DIR
	local sig=$1 d=$2 live_n
	[ "$RC" = 0 ] || fail "SIG$sig: natwho exited $RC"
	"$NATWHO" -r "$d/cap" -o json >"$d/replay.json" 2>"$d/replay.err" ||
		fail "SIG$sig: replay exit $?: $(cat "$d/replay.err")"
	cmp -s "$d/live.json" "$d/replay.json" || {
		diff "$d/live.json" "$d/replay.json" | head -20 >&2
		fail "SIG$sig: the replay differs from the live output"
	}
	live_n=$(grep -c '"type":"conn"' "$d/live.json" || true)
	jq -e -s --argjson n "$live_n" 'map(select(.type=="summary"))[0].events == $n' \
		"$d/replay.json" >/dev/null || fail "SIG$sig: summary count is not $live_n"
	zstdcat "$d/cap" >/dev/null || fail "SIG$sig: zstdcat rejects the capture"
	echo "ok: SIG$sig: complete capture, $live_n events, replay identical"
}

check_killed() { # check_killed DIR [MIN]: at least MIN records survived
	local d=$1 min=${2:-0} rc=0 n
	"$NATWHO" -r "$d/cap" -o json >"$d/replay.json" 2>"$d/replay.err" || rc=$?
	# jq first, on its own: a grep finding nothing is fine, a jq failure is not
	json_lines "$d/live.json" >"$d/live-lines.json" || fail "SIGKILL: live output is not JSON"
	json_lines "$d/replay.json" >"$d/replay-lines.json" || fail "SIGKILL: replay output is not JSON"
	grep '"type":"conn"' "$d/live-lines.json" >"$d/live-conn.json" || true
	grep '"type":"conn"' "$d/replay-lines.json" >"$d/replay-conn.json" || true
	n=$(wc -l <"$d/replay-conn.json")
	[ "$n" -ge "$min" ] || fail "SIGKILL: $n records in the capture, want at least $min"
	head -n "$n" "$d/live-conn.json" | cmp -s - "$d/replay-conn.json" ||
		fail "SIGKILL: the capture's $n records are not the first $n live records"
	[ "$rc" = 5 ] || fail "SIGKILL: replay of a truncated capture exited $rc, want 5"
	grep -q '"type":"error".*truncated after [0-9]* records' "$d/replay.json" ||
		grep -q 'truncated after\|empty file' "$d/replay.err" ||
		fail "SIGKILL: no truncation error: $(cat "$d/replay.json" "$d/replay.err" | tail -2)"
	echo "ok: SIGKILL: $n of $(wc -l <"$d/live-conn.json") live records in the capture," \
		"all of them the first ones, then truncation (exit 5)"
}

sigs=(INT TERM KILL)
for round in $(seq 1 "$ROUNDS"); do
	d=$TMP/$round
	mkdir -p "$d"
	sig=${sigs[$((RANDOM % 3))]}
	[ "$round" -le 3 ] && sig=${sigs[$((round - 1))]} # each signal at least once
	nw_natwho_start "$d/live.json" "$d/err" -o json -w "$d/cap"
	if [ "$round" = 3 ]; then # the SIGKILL every run has: late enough to hold records
		sleep 0.5
	else
		sleep "$((RANDOM % 1500 / 1000)).$(printf '%03d' $((RANDOM % 1000)))"
	fi
	kill -"$sig" "$NATWHO_PID"
	RC=0
	wait_natwho 10 || RC=$?
	echo "round $round: SIG$sig after $(grep -c '"type":"conn"' "$d/live.json" || true) events"
	if [ "$sig" = KILL ]; then
		check_killed "$d" "$([ "$round" = 3 ] && echo 1 || echo 0)"
	else
		check_complete "$sig" "$d"
	fi
done
