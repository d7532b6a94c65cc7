#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The per-CPU stages (struct nw_stage, include/natwho.h) on the paths that a
# storm rarely takes, set up from outside through natwho's own "stage" array:
# - every stage busy, as when a program interrupted another on its CPU or
#   the flush holds it: each event goes straight to the ring buffer, natwho
#   prints every connection, and its last drain, which tries a busy stage
#   again for 50 ms, still ends promptly and counts nothing lost;
# - stages left holding events that their CPU never hands over (busy to the
#   end): the summary counts those events lost, none silently dropped.
. "$(dirname "$0")/../lib/e2e.sh"

command -v bpftool >/dev/null || fail "bpftool missing (tests/deps.sh installs it)"

# key CPU: the array key's four bytes, little-endian
key() { echo "$(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) 0"; }

# stage_map PID -> "id entries value_bytes" of natwho's "stage" array
stage_map() {
	local id
	for id in $(awk '/^map_id:/ { print $2 }' /proc/"$1"/fdinfo/* 2>/dev/null | sort -un); do
		bpftool map show id "$id" -j 2>/dev/null |
			jq -r 'select(.name == "stage" and .type == "array") |
				"\(.id) \(.max_entries) \(.bytes_value)"'
	done
}

# stage_set ID ENTRIES BYTES BUSY COUNT: every CPU's stage set to @busy with
# hdr.count @count (offsets 0 and 16, as in struct nw_stage), the rest 0.
stage_set() {
	local id=$1 n=$2 bytes=$3 busy=$4 count=$5 cpu value
	value=$(awk -v n="$bytes" -v b="$busy" -v c="$count" 'BEGIN {
		for (i = 0; i < n; i++) printf "%d ", i == 0 ? b : i == 16 ? c : 0 }')
	for cpu in $(seq 0 $((n - 1))); do
		# shellcheck disable=SC2046,SC2086 # one byte per word
		bpftool map update id "$id" key $(key "$cpu") value $value ||
			fail "cannot write CPU $cpu's stage (map $id)"
	done
}

# stage_busy_all ID ENTRIES: does every CPU's stage read busy?
stage_busy_all() {
	local id=$1 n=$2 cpu
	for cpu in $(seq 0 $((n - 1))); do
		[ "$(bpftool map lookup id "$id" key $(key "$cpu") -j | jq -r '.value[0]')" = 0x01 ] ||
			return 1
	done
}

# stage_hold ID ENTRIES BYTES COUNT: every stage busy with @count events,
# checked after natwho's flush ticks: a flush that held a stage while it was
# written gives it back free, so write it again then.
stage_hold() {
	local i
	for i in 1 2 3 4 5; do
		stage_set "$1" "$2" "$3" 1 "$4"
		sleep 0.2 # four flush ticks
		stage_busy_all "$1" "$2" && return 0
	done
	fail "the stages did not stay busy"
}

nw_topology_up
nw_servers_up "$CONNECT"

# Every stage busy: the events still come, one by one, and none is lost.
nw_natwho_start "$TMP/busy.json" "$TMP/busy.err" -o json -c 4
read -r id n bytes <<<"$(stage_map "$NATWHO_PID")"
[ -n "${bytes:-}" ] || fail "no \"stage\" array among natwho's maps"
possible=$(awk -F, '{ for (i = 1; i <= NF; i++) n += split($i, r, "-") == 2 ? r[2] - r[1] + 1 : 1 }
	END { print n }' /sys/devices/system/cpu/possible)
[ "$n" -eq "$possible" ] || fail "stage array of $n entries, want one per possible CPU ($possible)"
stage_hold "$id" "$n" "$bytes" 0
start=$(date +%s%N)
for port in 3306 5432 3306 5432; do
	ip=$CLUSTER_IP_MYSQL
	[ "$port" = 3306 ] || ip=$CLUSTER_IP_PG
	nw_client "$NODE" "$CONNECT" connect "$ip" "$port" >/dev/null
done
wait_natwho 5
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
expect_summary_clean "$TMP/busy.json" 4
expect_json "$TMP/busy.json" "with every stage busy, the connection to ClusterIP:3306 still shown" \
	".type==\"conn\" and .orig.dst==\"$CLUSTER_IP_MYSQL\" and .orig.dport==3306 and .landed.addr==\"$POD_B\""
[ "$elapsed_ms" -lt 4000 ] || fail "four connections took ${elapsed_ms} ms to show"
echo "ok: four connections with every stage busy, shown in ${elapsed_ms} ms"

# Stages that never hand over their 3 events each: counted lost at the end.
nw_natwho_start "$TMP/held.json" "$TMP/held.err" -o json
read -r id n bytes <<<"$(stage_map "$NATWHO_PID")"
[ -n "${bytes:-}" ] || fail "no \"stage\" array among natwho's maps"
stage_hold "$id" "$n" "$bytes" 3
start=$(date +%s%N)
kill -INT "$NATWHO_PID"
wait_natwho 5 || fail "natwho exited $? after SIGINT"
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
expect_json "$TMP/held.json" "$((3 * n)) events held in the stages counted lost" \
	".type==\"summary\" and .events==0 and .lost==$((3 * n))"
# the last drain tries each busy stage for about 50 ms, then gives up
[ "$elapsed_ms" -lt 3000 ] || fail "natwho took ${elapsed_ms} ms to end with busy stages"
echo "ok: ended ${elapsed_ms} ms after SIGINT, every stage busy"
