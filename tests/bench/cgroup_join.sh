#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The --cgroup join map is bounded (issue 6): as root, from anywhere,
#   tests/bench/cgroup_join.sh
# Not part of `make check`.  natwho --cgroup watches a client pod's cgroup
# while processes of that cgroup open far more sockets than the join map
# holds (NW_JOIN_MAX_ENTRIES, 16384):
#   A  NWJ_THROUGH (20000) TCP connections through a Service DNAT in the node
#      namespace: each is reported, joined with its process;
#   B  NWJ_HELD (16) connections whose SYN the node drops (raw table, before
#      conntrack) while NWJ_LOCAL (60000) pod-local connections, which never
#      reach the node, fill the map and evict their records; then the SYNs
#      get through: each of these is a missed join, counted, not reported;
#   C  A again, after the churn.
# Prints natwho's RSS and the memlock of its maps after each phase (they must
# stay flat), the map's fill, natwho's summary and the joins missed.  Exit 0
# when it ran and the bounds held, 1 when not, 77 when it cannot run here.
NW_P=nwc$$-
. "$(dirname "$0")/../lib/e2e.sh"
. "$E2E_ROOT/tests/bench/cgroup_lib.sh"

THROUGH=${NWJ_THROUGH:-20000}
HELD=${NWJ_HELD:-16}
LOCAL=${NWJ_LOCAL:-60000}
THREADS=${NWJ_THREADS:-2}
STORM=$NW_TOOLS/nw-storm
RSS_SLACK_KB=${NWJ_RSS_SLACK_KB:-2048}

for t in bpftool jq iptables; do
	command -v $t >/dev/null || unsupported "$t not installed"
done
[ -x "$STORM" ] || fail "no $STORM (make $NW_TOOLS/nw-storm)"
[ -n "$(nw_cgroup_root)" ] || unsupported "no cgroup v2 file system mounted"

nw_topology_up
cg_setup || fail "cannot create the test cgroup"
nw_bg "$PODA" "$STORM" serve :: 5432 -t 1
nw_bg "$PODB" "$CONNECT" listen :: 3306 "mysql-b-0 (namespace b)"$'\n'
nw_bg "$PODC" "$STORM" serve 127.0.0.1 7000 -t 1 # pod-local: never reaches the node
sleep 0.3

nw_natwho_start "$TMP/out.json" "$TMP/err" -o json --cgroup "$CG" ||
	fail "natwho --cgroup did not start"

# Sum of the memlock of natwho's maps, and the join map's id.
maps_memlock() {
	local id sum=0 m
	for id in $(cg_ids "$NATWHO_PID" map_id); do
		m=$(bpftool -j map show id "$id" 2>/dev/null | jq -r '.bytes_memlock // 0')
		sum=$((sum + m))
	done
	echo "$sum"
}
join_map_id() {
	local id
	for id in $(cg_ids "$NATWHO_PID" map_id); do
		[ "$(bpftool -j map show id "$id" | jq -r .name)" = nw_join ] && echo "$id" && return
	done
}
rss_kb() {
	awk '/^VmRSS:/ { print $2 }' /proc/"$NATWHO_PID"/status
}

JOIN_ID=$(join_map_id)
[ -n "$JOIN_ID" ] || fail "cannot find natwho's nw_join map"
printf '%-34s %10s %14s %12s\n' phase rss_kb maps_memlock join_entries
sample() {
	local entries
	kill -0 "$NATWHO_PID" 2>/dev/null || fail "natwho died during: $1"
	entries=$(bpftool map dump id "$JOIN_ID" 2>/dev/null | grep -c '^key:\|"key"' || true)
	printf '%-34s %10s %14s %12s\n' "$1" "$(rss_kb)" "$(maps_memlock)" "$entries"
	RSS+=("$(rss_kb)")
	MEMLOCK+=("$(maps_memlock)")
}
RSS=()
MEMLOCK=()
sample "start"

storm() { # storm LABEL ADDR PORT COUNT: from the cgroup and the client pod
	cg_run "$PODC" "$STORM" storm "$2" "$3" -n "$4" -t "$THREADS" >"$TMP/storm" 2>"$TMP/storm.err" ||
		{ cat "$TMP/storm.err" >&2; fail "$1: nw-storm failed"; }
	echo "$1: $(tail -1 "$TMP/storm")"
}

storm "A through the node" "$CLUSTER_IP_PG" 5432 "$THROUGH"
sample "A: $THROUGH through the node"

drop=(-t raw -I PREROUTING -s "$POD_C" -d "$CLUSTER_IP_MYSQL" -p tcp --syn -j DROP)
nw_in "$NODE" iptables "${drop[@]}"
held=()
for i in $(seq 1 "$HELD"); do
	cg_bg "$PODC" "$CONNECT" connect "$CLUSTER_IP_MYSQL" 3306 >/dev/null
	held+=("$CG_PID")
done
sleep 0.5
storm "B pod-local churn" 127.0.0.1 7000 "$LOCAL"
sample "B: $LOCAL pod-local, $HELD held"
nw_in "$NODE" iptables -t raw -D PREROUTING -s "$POD_C" -d "$CLUSTER_IP_MYSQL" -p tcp --syn -j DROP
for pid in "${held[@]}"; do
	wait "$pid" || fail "a held client failed (pid $pid)"
done
sample "B: held SYNs through"

storm "C through the node" "$CLUSTER_IP_PG" 5432 "$THROUGH"
sample "C: $THROUGH more through the node"

kill -INT "$NATWHO_PID"
wait_natwho 30 || fail "natwho exited with $?"
summary=$(jq -c 'select(.type == "summary")' "$TMP/out.json")
echo "natwho summary: $summary"
events=$(jq -r .events <<<"$summary")
lost=$(jq -r .lost <<<"$summary")
missed=$(jq -r .join_missed <<<"$summary")
held_reported=$(jq -s "map(select(.type == \"conn\" and .orig.dst == \"$CLUSTER_IP_MYSQL\")) | length" \
	"$TMP/out.json")
echo "joins missed: $missed (held connections: $HELD, of them reported: $held_reported)"
echo "events: $events reported, $lost lost, of $((2 * THROUGH)) connections through the node"

rc=0
[ "${MEMLOCK[0]}" = "${MEMLOCK[-1]}" ] && [ "$(printf '%s\n' "${MEMLOCK[@]}" | sort -u | wc -l)" = 1 ] ||
	{ echo "FAIL: map memory changed: ${MEMLOCK[*]}"; rc=1; }
[ $((RSS[-1] - RSS[0])) -le "$RSS_SLACK_KB" ] ||
	{ echo "FAIL: natwho RSS grew by $((RSS[-1] - RSS[0])) kB (> $RSS_SLACK_KB)"; rc=1; }
[ "$missed" -ge "$HELD" ] || { echo "FAIL: $missed joins missed, want >= $HELD"; rc=1; }
[ "$held_reported" -eq 0 ] || { echo "FAIL: $held_reported evicted connections reported"; rc=1; }
[ "$((events + lost))" -ge "$((2 * THROUGH))" ] ||
	{ echo "FAIL: only $events + $lost lost of $((2 * THROUGH)) joined"; rc=1; }
[ $rc -eq 0 ] && echo "PASS: memory flat (maps ${MEMLOCK[0]} B, RSS +$((RSS[-1] - RSS[0])) kB), $missed joins missed"
exit $rc
