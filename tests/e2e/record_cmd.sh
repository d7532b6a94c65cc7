#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# `natwho -w FILE -- CMD` during a repro of the incident: CMD's exit status
# comes back; with --children (the default) only the connections of CMD and
# its descendants are shown while another client hammers the same Service,
# plus the pod connection CMD caused (forwarded: no local process); with
# --no-children the other client shows too; the replay's JSON equals the
# live JSON; a signal to natwho reaches CMD (also Ctrl-C when CMD left the
# terminal's process group); a CMD that cannot run gives
# 127; CMD keeps natwho's environment; the replay needs no root; a ruleset
# change while recording replays at the same point; -w - and -o json keep
# stdout for the capture or the JSON alone; signals ignored at start stay
# ignored for CMD; -w - with its reader gone still runs CMD; a capture file
# overwritten becomes mode 600.
NW_P=nwr$$-
. "$(dirname "$0")/../lib/e2e.sh"

command -v jq >/dev/null || fail "jq missing (tests/deps.sh installs it)"
nw_topology_up
nw_servers_up "$CONNECT"

# Another client of the same Service, all along: never CMD's.
noise() {
	while :; do
		"$CONNECT" connect "$CLUSTER_IP_MYSQL" 3306 >/dev/null 2>&1
		sleep 0.02
	done
}
nw_bg "$NODE" bash -c "$(declare -f noise); CONNECT=$CONNECT CLUSTER_IP_MYSQL=$CLUSTER_IP_MYSQL noise"

# CMD: a child, a grandchild, IPv6, and a pod connection (forwarded through
# the node namespace, where natwho watches); each pid goes to $TMP/pids.
cat >"$TMP/cmd.sh" <<EOF
set -e
$CONNECT connect $CLUSTER_IP_MYSQL 3306 >/dev/null & echo \$! >>$TMP/pids; wait \$!
sh -c '$CONNECT -u connect $CLUSTER_IP_DNS 53 >/dev/null & echo \$! >>$TMP/pids; wait \$!'
$CONNECT connect $CLUSTER_IP6_MYSQL 3306 >/dev/null & echo \$! >>$TMP/pids; wait \$!
nsenter --net=/var/run/netns/$PODA -- $CONNECT connect $CLUSTER_IP_MYSQL 3306 >/dev/null
exit 3
EOF

# run_cmd OUT ERR NATWHO-ARGS... -- CMD...: natwho in the node namespace; sets RC
run_cmd() {
	local out=$1 err=$2
	shift 2
	RC=0
	# --foreground: timeout stays in the test's process group, which the
	# runner kills on its own timeout.
	timeout --foreground 60 nsenter --net="/var/run/netns/$NODE" -- "$NATWHO" "$@" \
		>"$out" 2>"$err" || RC=$?
}

sleep 0.3 # the noise is flowing
: >"$TMP/pids"
echo "an older file, readable by all" >"$TMP/cap" && chmod 644 "$TMP/cap"
run_cmd "$TMP/live.json" "$TMP/live.err" -o json -w "$TMP/cap" -- sh "$TMP/cmd.sh"
cat "$TMP/live.json" "$TMP/live.err"
[ "$RC" = 3 ] || fail "natwho -- CMD returned $RC, CMD exited 3"
echo "ok: CMD's exit status returned"
# It may hold a cluster snapshot: 0600, also when it overwrote a file.
[ "$(stat -c %a "$TMP/cap")" = 600 ] || fail "capture file mode $(stat -c %a "$TMP/cap"), want 600"
echo "ok: the capture file overwritten is mode 600"
pids=$(paste -sd, "$TMP/pids")
[ "$(wc -l <"$TMP/pids")" = 3 ] || fail "CMD did not record its three pids"
expect_json "$TMP/live.json" "CMD's TCP connection, DNAT'ed to pod B" \
	".type==\"conn\" and .pid==$(sed -n 1p "$TMP/pids") and .landed.addr==\"$POD_B\""
expect_json "$TMP/live.json" "the grandchild's UDP connection" \
	".type==\"conn\" and .pid==$(sed -n 2p "$TMP/pids") and .proto==\"udp\""
expect_json "$TMP/live.json" "CMD's IPv6 connection" \
	".type==\"conn\" and .pid==$(sed -n 3p "$TMP/pids") and .family==\"ipv6\""
expect_json "$TMP/live.json" "the pod connection CMD caused, forwarded (no process)" \
	".type==\"conn\" and .pid==null and .orig.src==\"$POD_A\" and .landed.addr==\"$POD_B\""
# natwho ran in the node's namespace without --netns: its own, which the
# netfilter backend's records name (set before load, not read per event).
expect_no_json "$TMP/live.json" "a netfilter record naming another namespace than natwho's" \
	".type==\"conn\" and .backend==\"netfilter\" and .netns!=$(stat -L -c %i "/var/run/netns/$NODE")"
expect_no_json "$TMP/live.json" "a connection of a process outside CMD's tree" \
	".type==\"conn\" and .pid!=null and ([.pid] | inside([$pids]) | not)"
expect_json "$TMP/live.json" "the verdict: 4 connections (3 from CMD's processes), 4 DNAT'ed, status 3" \
	".type==\"verdict\" and .command==\"sh\" and .status==3 and .connections==4
	 and .local_process==3 and .dnat==4 and .cut_short==null
	 and .routes[\"tcp $CLUSTER_IP_MYSQL:3306 -> $POD_B:3306\"]==2"

# The replay shows exactly what was shown live (the verdict is live-only).
"$NATWHO" -r "$TMP/cap" -o json >"$TMP/replay.json" || fail "replay exit $?"
jq -c 'select(.type != "verdict")' "$TMP/live.json" >"$TMP/live-records.json"
# Both sides through jq: it rewrites numbers (0.009270 -> 0.00927).
jq -c . "$TMP/replay.json" | diff "$TMP/live-records.json" - || fail "the replay differs from live"
echo "ok: replay JSON equals live JSON ($(wc -l <"$TMP/replay.json") records)"
"$NATWHO" -r "$TMP/cap" 2>"$TMP/replay.err" >/dev/null # grep -q in a pipe: SIGPIPE
grep -q -- "filters: --children -- sh $TMP/cmd.sh" "$TMP/replay.err" ||
	fail "the capture header does not name CMD"
echo "ok: the capture header names the command"

# Without root (and so without BPF): the same records.
command -v setpriv >/dev/null || fail "setpriv (util-linux) missing"
setpriv --reuid=65534 --regid=65534 --clear-groups -- "$NATWHO" -r - -o json \
	<"$TMP/cap" >"$TMP/nobody.json" || fail "replay as nobody: exit $?"
diff "$TMP/replay.json" "$TMP/nobody.json" || fail "replay as nobody differs"
echo "ok: replay as an unprivileged user"

# --no-children: the other client is shown too.
run_cmd "$TMP/all.json" "$TMP/all.err" -o json --no-children --port 3306 -- sleep 0.5
[ "$RC" = 0 ] || fail "--no-children: exit $RC"
expect_json "$TMP/all.json" "--no-children shows the other client" \
	".type==\"conn\" and .comm==\"nw-connect\" and .landed.addr==\"$POD_B\""
run_cmd "$TMP/none.json" "$TMP/none.err" -o json --port 3306 -- sleep 0.5
expect_no_json "$TMP/none.json" "--children hides the other client" ".type==\"conn\""
expect_json "$TMP/none.json" "a verdict with no connections" \
	".type==\"verdict\" and .connections==0 and .status==0"

# Killed by a signal: 128 + the signal.
run_cmd "$TMP/sig.json" "$TMP/sig.err" -o json -- sh -c 'kill -TERM $$'
[ "$RC" = 143 ] || fail "CMD killed by SIGTERM: natwho returned $RC, want 143"
expect_json "$TMP/sig.json" "the verdict names the signal" ".type==\"verdict\" and .signal==15"

# A CMD that cannot run (a typo, not in PATH, not executable): 127 or 126,
# the error, before anything starts: -w's earlier capture is kept.
cp "$TMP/cap" "$TMP/nx.cap"
echo 'echo never' >"$TMP/noexec" && chmod 644 "$TMP/noexec"
for c in "/nonexistent/cmd:127:No such file or directory" "mysqll-$$:127:No such file or directory" \
	"$TMP/noexec:126:Permission denied" ":127:No such file or directory"; do
	IFS=: read -r cmd want why <<<"$c"
	run_cmd "$TMP/nx.json" "$TMP/nx.err" -w "$TMP/nx.cap" -- "$cmd"
	[ "$RC" = "$want" ] || fail "CMD '$cmd': natwho returned $RC, want $want"
	[ "$(cat "$TMP/nx.err")" = "Error: cannot run '$cmd': $why" ] ||
		fail "CMD '$cmd': want one error line: $(cat "$TMP/nx.err")"
	cmp -s "$TMP/cap" "$TMP/nx.cap" || fail "CMD '$cmd' could not run: the earlier capture changed"
done
echo "ok: a command that cannot run gives 127/126 before tracing; the earlier capture is kept"
# ... as execvp() looks: an empty PATH entry is the current directory
printf '#!/bin/sh\nexit 5\n' >"$TMP/here-$$" && chmod 755 "$TMP/here-$$"
rc=0
(cd "$TMP" && PATH="$PATH:" run_cmd "$TMP/here.json" "$TMP/here.err" -q -- "here-$$" && exit "$RC") || rc=$?
RC=$rc
[ "$RC" = 5 ] || fail "CMD in the current directory, PATH ending in ':': exit $RC, want 5: $(cat "$TMP/here.err")"
echo "ok: an empty PATH entry finds CMD in the current directory"

# CMD gets natwho's environment; a signal to natwho reaches CMD, and the
# capture is complete.
NWR_MARK=yes run_cmd "$TMP/env.json" "$TMP/env.err" -- sh -c 'test "$NWR_MARK" = yes'
[ "$RC" = 0 ] || fail "CMD did not see natwho's environment (exit $RC)"
nsenter --net="/var/run/netns/$NODE" -- "$NATWHO" -w "$TMP/term.cap" -- sleep 30 \
	>"$TMP/term.out" 2>"$TMP/term.err" &
NATWHO_PID=$!
NW_PIDS+=("$NATWHO_PID")
for i in $(seq 1 100); do
	pgrep -P "$NATWHO_PID" -x sleep >/dev/null && break
	sleep 0.05
done
kill -TERM "$NATWHO_PID"
RC=0
wait_natwho 5 || RC=$?
[ "$RC" = 143 ] || fail "SIGTERM to natwho: CMD should die of it (143), got $RC"
"$NATWHO" -r "$TMP/term.cap" -q 2>/dev/null || fail "capture after SIGTERM: replay exit $?"
echo "ok: SIGTERM passed on to CMD, capture complete"

# Ctrl-C on a terminal (script(1)'s pty) goes to its foreground process
# group, natwho's; a CMD that left the group (timeout, setsid) gets it from
# natwho, and the trace ends with it, not 30 s later.  bash runs script's
# command line: a non-interactive dash would die of the same Ctrl-C before
# it says natwho's status.
naptime=29.$$
(
	for i in $(seq 1 200); do
		pgrep -x -f "sleep $naptime" >/dev/null && break
		sleep 0.05
	done
	printf '\003'
	sleep 2
) | SHELL=/bin/bash timeout --foreground 60 script -qfec "nsenter --net=/var/run/netns/$NODE -- $NATWHO -q -- \
	timeout 40 sleep $naptime; echo RC=\$?" /dev/null >"$TMP/pty.out" 2>&1 || true
tr -d '\r' <"$TMP/pty.out" >"$TMP/pty.txt"
grep -q "'timeout' was killed by signal 2 (Interrupt)" "$TMP/pty.txt" && grep -q '^RC=130$' "$TMP/pty.txt" ||
	{ cat "$TMP/pty.txt"; fail "Ctrl-C with CMD out of the terminal's foreground group: not passed on"; }
echo "ok: Ctrl-C reaches a CMD that left the terminal's process group (timeout)"

# A ruleset change during the recording is recorded where it happened: the
# hostPort rule appears while CMD runs, and the replay reaches the live
# verdicts (OK before, MISMATCH via the hostPort chain after).
rule=$(nw_rules_v4 | grep -- '-A CNI-HOSTPORT-DNAT')
nw_in "$NODE" iptables -t nat -F CNI-HOSTPORT-DNAT
cat >"$TMP/change.sh" <<EOF2
$CONNECT connect $CLUSTER_IP_MYSQL 3306 >/dev/null
printf '*nat\n%s\nCOMMIT\n' '$rule' | iptables-restore --noflush
# until natwho has re-read the rules (every 2 s; legacy tables every 10 s)
for i in \$(seq 1 300); do grep -q "knowledge changed" $TMP/change.err && break; sleep 0.1; done
$CONNECT connect $CLUSTER_IP_MYSQL 3306 >/dev/null
EOF2
run_cmd "$TMP/change.json" "$TMP/change.err" -v -o json -w "$TMP/change.cap" -- sh "$TMP/change.sh"
grep -q "knowledge changed" "$TMP/change.err" || fail "natwho did not re-read the changed rules in 30 s"
[ "$RC" = 0 ] || fail "ruleset change: exit $RC: $(cat "$TMP/change.err")"
jq -c 'select(.type=="conn") | [.landed.addr, .k8s.verdict, .k8s.via.kind]' "$TMP/change.json" \
	>"$TMP/change.verdicts"
printf '["%s","ok","service"]\n["%s","mismatch","hostport"]\n' "$POD_A" "$POD_B" |
	diff - "$TMP/change.verdicts" || fail "live verdicts around the ruleset change"
"$NATWHO" -r "$TMP/change.cap" -o json >"$TMP/change-replay.json" || fail "replay: exit $?"
jq -c 'select(.type != "verdict")' "$TMP/change.json" |
	diff - <(jq -c . "$TMP/change-replay.json") ||
	fail "the replay does not follow the ruleset change"
echo "ok: a ruleset change while recording replays at the same point"

# -w -: the capture on stdout, natwho's own output (records, summary,
# verdict) on stderr.
run_cmd "$TMP/std.cap" "$TMP/std.err" -o json -w - -- "$CONNECT" connect "$CLUSTER_IP_MYSQL" 3306
[ "$RC" = 0 ] || fail "-w -: exit $RC: $(cat "$TMP/std.err")"
grep '^{' "$TMP/std.err" | jq -c 'select(.type != "verdict")' >"$TMP/std-live.json"
grep -q '"type":"verdict"' "$TMP/std.err" || fail "-w -: no verdict on stderr"
"$NATWHO" -r - -o json <"$TMP/std.cap" | jq -c . | diff "$TMP/std-live.json" - ||
	fail "-w -: the capture on stdout does not replay as what stderr showed"
echo "ok: -w - writes the capture to stdout, the records to stderr"

# -o json: CMD's stdout goes to stderr, so that stdout is JSON lines only.
run_cmd "$TMP/jout.json" "$TMP/jout.err" -o json -- \
	sh -c "echo cmd-says-hello; $CONNECT connect $CLUSTER_IP_MYSQL 3306"
[ "$RC" = 0 ] || fail "-o json -- CMD: exit $RC: $(cat "$TMP/jout.err")"
jq -c . "$TMP/jout.json" >/dev/null ||
	fail "-o json -- CMD: stdout is not only JSON lines: $(head -c 300 "$TMP/jout.json")"
grep -qx 'cmd-says-hello' "$TMP/jout.err" || fail "-o json -- CMD: CMD's stdout is not on stderr"
expect_json "$TMP/jout.json" "-o json -- CMD: its connection" ".type==\"conn\" and .orig.dport==3306"
echo "ok: -o json -- CMD keeps stdout for JSON, CMD's stdout on stderr"

# A SIGINT and SIGTERM ignored when natwho started (a script's background
# job) stay ignored for CMD, as they would be without natwho.
RC=0
timeout --foreground 60 nsenter --net="/var/run/netns/$NODE" -- sh -c \
	'trap "" INT TERM; exec "$0" -- sh -c "kill -INT \$\$; kill -TERM \$\$; exit 7"' "$NATWHO" \
	>"$TMP/ign.out" 2>"$TMP/ign.err" || RC=$?
[ "$RC" = 7 ] || fail "CMD under natwho with SIGINT/SIGTERM ignored: exit $RC, want 7 (it kept them ignored)"
echo "ok: signals ignored at start stay ignored for CMD"

# The reader of -w - gone before tracing starts: CMD still runs (untraced)
# and its status is natwho's.
{
	RC=0
	timeout --foreground 60 nsenter --net="/var/run/netns/$NODE" -- "$NATWHO" -w - -- \
		sh -c 'echo cmd-ran >&2; exit 5' 2>"$TMP/gone.err" || RC=$?
	echo "$RC" >"$TMP/gone.rc"
} | true
[ "$(cat "$TMP/gone.rc")" = 5 ] ||
	fail "-w - with its reader gone: exit $(cat "$TMP/gone.rc"), want CMD's 5: $(cat "$TMP/gone.err")"
grep -qx 'cmd-ran' "$TMP/gone.err" || fail "-w - with its reader gone: CMD did not run"
echo "ok: -w - with its reader gone still runs CMD and returns its status"
