#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# No event is lost silently: with a tiny ring buffer and natwho stopped
# (SIGSTOP) while connections are made, the kernel-side loss counter must
# account for every connection natwho did not print: events + lost == made.
. "$(dirname "$0")/../lib/e2e.sh"

N=120
nw_topology_up
nw_servers_up "$CONNECT"
nw_natwho_start "$TMP/out.json" "$TMP/err" -o json --ringbuf-size 4K --port 5432
kill -STOP "$NATWHO_PID"
for i in $(seq 1 $N); do
	nw_in "$NODE" "$CONNECT" connect "$CLUSTER_IP_PG" 5432 >/dev/null
done
kill -CONT "$NATWHO_PID"
sleep 0.5
kill -INT "$NATWHO_PID"
wait_natwho 5
jq -c 'select(.type=="summary")' "$TMP/out.json"
events=$(jq -s 'map(select(.type=="conn")) | length' "$TMP/out.json")
read -r sum_events lost < <(jq -r 'select(.type=="summary") | "\(.events) \(.lost)"' "$TMP/out.json")
[ "$events" = "$sum_events" ] || fail "summary says $sum_events events, $events printed"
[ "$lost" -gt 0 ] || fail "a 4K ring buffer held $N events: the test cannot show losses"
[ $((events + lost)) -eq $N ] || fail "events $events + lost $lost != $N connections"
# ... and where they went: all of them found the ring full (never "1 event
# was lost": a 4K ring holds a few of the N)
jq -e --arg n "$lost" 'select(.type=="warning") | .warning |
	test("^\($n) events were lost: \($n) found the ring buffer full \\(raise --ringbuf-size\\)$")' \
	"$TMP/out.json" >/dev/null || fail "no loss warning record naming the full ring"
echo "ok: $N connections = $events printed + $lost counted as lost"

# A burst that leaves the ring full and a CPU's stage half full: natwho
# reads the ring before it hands the stages to it, so the staged events find
# room there (they were counted lost).  One CPU (taskset): two full batches
# of 20 (1,944 bytes each) fill the 4K ring, the last 5 stay staged.
M=45
nw_natwho_start "$TMP/out2.json" "$TMP/err2" -o json --ringbuf-size 4K --port 5432
kill -STOP "$NATWHO_PID"
for i in $(seq 1 $M); do
	nw_in "$NODE" taskset -c 0 "$CONNECT" connect "$CLUSTER_IP_PG" 5432 >/dev/null
done
kill -CONT "$NATWHO_PID"
sleep 0.5
kill -INT "$NATWHO_PID"
wait_natwho 5
read -r events lost < <(jq -r 'select(.type=="summary") | "\(.events) \(.lost)"' "$TMP/out2.json")
[ "$events" = $M ] && [ "$lost" = 0 ] ||
	fail "a full ring and a staged batch: $events printed, $lost lost of $M (the stage handed over before the ring was read?)"
echo "ok: $M connections into a full 4K ring and a stage: every one printed"
