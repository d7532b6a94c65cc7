#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# `natwho -r FILE --port/--addr/--proto/-4/-6/--pid/--netns` applies in userspace
# what the kernel applies live: while one natwho records everything, others
# trace the same traffic with kernel-side filters; replaying the recording
# with each filter must show the same connections (timestamps aside: each
# natwho stamps its own events).  Also: -c in replay, and the usage errors.
NW_P=nwr$$-
. "$(dirname "$0")/../lib/e2e.sh"

command -v jq >/dev/null || fail "jq missing (tests/deps.sh installs it)"
nw_topology_up
nw_servers_up "$CONNECT"

# A process whose pid is known before it connects (--pid): it waits on a
# fifo, then becomes nw-connect.
mkfifo "$TMP/go"
nw_bg "$NODE" bash -c "read x <'$TMP/go'; exec '$CONNECT' connect $CLUSTER_IP_PG 5432 >/dev/null"
WAITER=${NW_PIDS[-1]}

filters=("--port 53" "-6 --proto tcp" "--pid $WAITER" "-4 --port 5432,3306"
	"--addr $POD_B,fd00:96::/64" "--addr $POD_A --port 3306")
nw_natwho_start "$TMP/all.json" "$TMP/all.err" -o json -w "$TMP/cap"
ALL_PID=$NATWHO_PID
pids=()
nw_natwho_start "$TMP/nr.json" "$TMP/nr.err" -q --no-rules -w "$TMP/norules.cap"
pids+=("$NATWHO_PID")
for i in "${!filters[@]}"; do
	# shellcheck disable=SC2086 # the filter is several words
	nw_natwho_start "$TMP/f$i.json" "$TMP/f$i.err" -o json ${filters[$i]}
	pids+=("$NATWHO_PID")
done

nw_in "$NODE" "$CONNECT" connect "$CLUSTER_IP_MYSQL" 3306 >/dev/null
nw_in "$NODE" "$CONNECT" -u connect "$CLUSTER_IP_DNS" 53 >/dev/null
nw_in "$NODE" "$CONNECT" connect "$CLUSTER_IP6_MYSQL" 3306 >/dev/null
nw_in "$NODE" "$CONNECT" -u connect "$CLUSTER_IP6_DNS" 53 >/dev/null
nw_in "$PODA" "$CONNECT" connect "$CLUSTER_IP_MYSQL" 3306 >/dev/null
echo go >"$TMP/go"
wait "$WAITER" || true
nw_in "$NODE" "$CONNECT" connect "$CLUSTER_IP_PG" 5432 >/dev/null
sleep 0.3
for pid in "$ALL_PID" "${pids[@]}"; do
	kill -INT "$pid"
done
for pid in "$ALL_PID" "${pids[@]}"; do
	NATWHO_PID=$pid
	wait_natwho 5
done

conns() { # the connections of a JSON stream, without the timestamps
	jq -c 'select(.type=="conn") | del(.ts)' "$1"
}

[ "$(conns "$TMP/all.json" | wc -l)" -ge 7 ] || fail "the recorder saw too little: $(cat "$TMP/all.json")"
for i in "${!filters[@]}"; do
	# shellcheck disable=SC2086
	"$NATWHO" -r "$TMP/cap" -o json ${filters[$i]} >"$TMP/r$i.json" || fail "replay ${filters[$i]}: exit $?"
	n=$(conns "$TMP/f$i.json" | wc -l)
	[ "$n" -gt 0 ] || fail "live ${filters[$i]} saw nothing"
	# sorted: two natwho runs stage their events per CPU each, and the
	# order of records from different CPUs is the order of the batches
	diff <(conns "$TMP/f$i.json" | sort) <(conns "$TMP/r$i.json" | sort) ||
		fail "replay ${filters[$i]} differs from the live kernel-filtered trace"
	jq -e -s --argjson n "$n" 'map(select(.type=="summary"))[0].events == $n' "$TMP/r$i.json" \
		>/dev/null || fail "replay ${filters[$i]}: summary count"
	echo "ok: replay ${filters[$i]} = live ${filters[$i]} ($n connections)"
done

# --mismatch-only over a capture that recorded no knowledge (--no-rules):
# "0 MISMATCH" would read as a clean node; it says nothing was judged.
"$NATWHO" -r "$TMP/norules.cap" --mismatch-only >/dev/null 2>"$TMP/nr-mo.err" ||
	fail "replay --mismatch-only of a --no-rules capture: exit $?"
grep -q "^Warning: --mismatch-only: the capture recorded neither rules nor a snapshot" \
	"$TMP/nr-mo.err" || { cat "$TMP/nr-mo.err"; fail "replay --mismatch-only without knowledge: no warning"; }
"$NATWHO" -r "$TMP/norules.cap" --mismatch-only --k8s "$E2E_ROOT/tests/lib/incident-snapshot.json" \
	>/dev/null 2>"$TMP/nr-k8s.err" || fail "replay --mismatch-only --k8s: exit $?"
grep -q "recorded neither rules" "$TMP/nr-k8s.err" && fail "warned although --k8s gave knowledge"
echo "ok: --mismatch-only over a capture without knowledge says nothing was judged"

# --netns as an inode; -c stops early; -q keeps the summary only.
ino=$(jq -s 'map(select(.type=="conn"))[0].netns' "$TMP/all.json")
"$NATWHO" -r "$TMP/cap" -o json --netns "$ino" >"$TMP/ns.json"
diff <(conns "$TMP/all.json") <(conns "$TMP/ns.json") || fail "--netns $ino in replay"
"$NATWHO" -r "$TMP/cap" -o json --netns 1 >"$TMP/ns1.json"
[ "$(conns "$TMP/ns1.json" | wc -l)" = 0 ] || fail "--netns 1 in replay should show nothing"
echo "ok: --netns INODE in replay"
"$NATWHO" -r "$TMP/cap" -o json -c 2 >"$TMP/c2.json"
diff <(conns "$TMP/all.json" | head -2) <(conns "$TMP/c2.json") || fail "-c 2 in replay"
# -c from a pipe stops before the trailer: the summary cannot know the
# recording's losses, and says so.
"$NATWHO" -r - -c 1 <"$TMP/cap" >/dev/null 2>"$TMP/c1.err"
{ cat "$TMP/cap" || :; } | "$NATWHO" -r - -c 1 >/dev/null 2>"$TMP/c1p.err" # a pipe, on purpose
grep -q "what the recording lost is not known" "$TMP/c1p.err" ||
	fail "-c 1 from a pipe: no word on the unknown losses: $(cat "$TMP/c1p.err")"
! grep -q "not known" "$TMP/c1.err" || fail "-c 1 from a file: read to the trailer, yet: $(cat "$TMP/c1.err")"
"$NATWHO" -r "$TMP/cap" -q 2>"$TMP/q.err" >"$TMP/q.out"
[ ! -s "$TMP/q.out" ] && grep -q "^natwho: $(conns "$TMP/all.json" | wc -l) events" "$TMP/q.err" ||
	fail "-q in replay: $(cat "$TMP/q.out" "$TMP/q.err")"
echo "ok: -c and -q in replay"

# Live-only options are usage errors with -r.
for bad in "--backend netfilter" "--ringbuf-size 1M" "-d 1" "-w $TMP/x" "--netns /proc/1/ns/net" \
	"--cgroup /sys/fs/cgroup" "-- true"; do
	rc=0
	# shellcheck disable=SC2086
	"$NATWHO" -r "$TMP/cap" $bad >/dev/null 2>"$TMP/bad.err" || rc=$?
	[ "$rc" = 2 ] || fail "-r with $bad: exit $rc, want 2"
	grep -q '^Error: ' "$TMP/bad.err" || fail "-r with $bad: no error message"
done
echo "ok: live-only options with -r are usage errors"

# -r - from a pipe whose writer is still there (`ssh node natwho -w - |
# natwho -r -`, `tail -f cap | natwho -r -`): each record reaches the output
# as it comes, not at the end; the replay ends with the capture, not with
# the writer.
rm -f "$TMP/tail.json"
fix="$E2E_ROOT/tests/fixtures/capfile/v1.0-incident.nwcap"
size=$(stat -c %s "$fix")
rm -f "$TMP/tail.rc"
(head -c $((size - 16)) "$fix"; sleep 2; tail -c 16 "$fix"; sleep 8) |
	{ "$NATWHO" -r - -o json >"$TMP/tail.json" 2>/dev/null; echo $? >"$TMP/tail.rc"; } &
TAIL=$! # the job: it ends with the writer
sleep 1
n=$(grep -c '"type":"conn"' "$TMP/tail.json" || true)
[ ! -e "$TMP/tail.rc" ] || fail "-r - ended before the capture did"
for i in $(seq 1 50); do # the capture's end comes at 2 s, the writer's at 10 s
	[ -e "$TMP/tail.rc" ] && break
	sleep 0.1
done
[ -e "$TMP/tail.rc" ] || fail "-r - waited for its writer past the capture's end"
[ "$(cat "$TMP/tail.rc")" = 0 ] || fail "-r - from a pipe: exit $(cat "$TMP/tail.rc")"
wait "$TAIL"
[ "$n" -gt 0 ] || fail "-r - from a pipe: nothing written while the writer was still there"
[ "$(grep -c '"type":"conn"' "$TMP/tail.json")" = 5 ] || fail "-r - from a pipe: not every record"
echo "ok: -r - from a pipe: $n records out before the capture's end came; ended with it"

# -r - from a pipe that stalls before the end: SIGINT ends the replay that
# waits for more (a read from a pipe restarts after a signal; natwho's wait
# for input does not), with the summary, exit 0.
mkfifo "$TMP/stall.cap"
exec 4<>"$TMP/stall.cap"
fix="$E2E_ROOT/tests/fixtures/capfile/v1.0-incident.nwcap"
head -c $(($(stat -c %s "$fix") - 16)) "$fix" >&4
"$NATWHO" -r - -o json <"$TMP/stall.cap" >"$TMP/stall.json" 2>"$TMP/stall.err" &
STALL=$!
sleep 0.5
kill -0 "$STALL" 2>/dev/null || { cat "$TMP/stall.err"; fail "-r - ended before the stalled pipe did"; }
kill -INT "$STALL"
for i in $(seq 1 60); do
	kill -0 "$STALL" 2>/dev/null || break
	sleep 0.05
done
kill -0 "$STALL" 2>/dev/null && { kill -KILL "$STALL"; fail "SIGINT did not end -r - on a stalled pipe within 3 s"; }
rc=0
wait "$STALL" || rc=$?
exec 4<&-
[ $rc -eq 0 ] || { cat "$TMP/stall.err"; fail "-r - on a stalled pipe, SIGINT: exit $rc, want 0"; }
grep -q '"type":"summary"' "$TMP/stall.json" || { cat "$TMP/stall.err"; fail "-r - on a stalled pipe, SIGINT: no summary"; }
echo "ok: SIGINT ends -r - on a stalled pipe, with the summary"
