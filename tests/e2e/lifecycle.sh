#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# --count and --duration stop natwho; SIGINT and SIGTERM end it cleanly with
# the summary; events recorded before the signal are still printed; a
# closed output pipe ends it quietly; with `-- CMD` still running after
# --count, nothing stays attached; SIGTERM ends it even while a stalled -w -
# reader blocks its writes, and while a stalled reader of its output does;
# --duration ends it too while a stalled reader blocks its writes; a stop
# signal ends it at once while its rule dumps or a --k8s - pipe hang (a dump
# killed with it, even by SIGKILL); after SIGKILL nothing natwho attached is
# left in the kernel; a --netns path that no longer leads to the namespace
# natwho traces (deleted, or another namespace mounted there) is said once,
# and natwho goes on.
. "$(dirname "$0")/../lib/e2e.sh"

command -v bpftool >/dev/null || fail "bpftool missing (tests/deps.sh installs it)"
nw_topology_up
nw_servers_up "$CONNECT"

# --count 2 stops after two, even with more traffic.
nw_natwho_start "$TMP/count.json" "$TMP/count.err" -o json -c 2
for i in 1 2 3; do nw_client "$NODE" "$CONNECT" connect "$CLUSTER_IP_PG" 5432 >/dev/null; done
wait_natwho 5
[ "$(jq -s 'map(select(.type=="conn")) | length' "$TMP/count.json")" = 2 ] || fail "--count 2"
expect_summary_clean "$TMP/count.json" 2

# --duration 1 stops on its own with no traffic.
start=$(date +%s%N)
nw_natwho_start "$TMP/dur.json" "$TMP/dur.err" -o json -d 1
wait_natwho 5
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
[ "$elapsed_ms" -lt 4000 ] || fail "--duration 1 took ${elapsed_ms} ms"
expect_summary_clean "$TMP/dur.json" 0
# A --duration past the end of the clock runs until stopped (the deadline
# once wrapped around and ended it at once).
nw_natwho_start "$TMP/durmax.json" "$TMP/durmax.err" -o json -d 18446744073s
sleep 1
kill -0 "$NATWHO_PID" 2>/dev/null || fail "-d 18446744073s ended by itself"
kill -INT "$NATWHO_PID"
wait_natwho 5 || fail "-d 18446744073s: exit $?"
expect_summary_clean "$TMP/durmax.json" 0
echo "ok: a --duration past the end of the clock runs until stopped"

for sig in INT TERM; do
	nw_natwho_start "$TMP/$sig.json" "$TMP/$sig.err" -o json
	nw_client "$NODE" "$CONNECT" connect "$CLUSTER_IP_MYSQL" 3306 >/dev/null
	sleep 0.3
	kill -"$sig" "$NATWHO_PID"
	rc=0
	wait_natwho 5 || rc=$?
	[ $rc -eq 0 ] || fail "SIG$sig: exit $rc"
	expect_json "$TMP/$sig.json" "SIG$sig: event before the signal printed" ".landed.addr==\"$POD_B\""
	expect_summary_clean "$TMP/$sig.json" 1
done

# A reader that goes away (natwho | head -1) ends natwho quietly: exit 0,
# no error, nothing left attached.
mkfifo "$TMP/fifo"
head -c 1 <"$TMP/fifo" >/dev/null &
NW_PIDS+=($!)
nw_natwho_start "$TMP/fifo" "$TMP/pipe.err" -o json
for i in 1 2 3 4 5; do
	nw_client "$NODE" "$CONNECT" connect "$CLUSTER_IP_PG" 5432 >/dev/null
	sleep 0.1
	kill -0 "$NATWHO_PID" 2>/dev/null || break
done
rc=0
wait_natwho 5 || rc=$?
[ $rc -eq 0 ] || { cat "$TMP/pipe.err"; fail "reader gone: exit $rc, want 0"; }
! grep -q "^Error" "$TMP/pipe.err" || fail "reader gone: $(grep '^Error' "$TMP/pipe.err")"
echo "ok: a closed output pipe ends natwho quietly (exit 0)"

# --count reached while `-- CMD` runs on: natwho detaches at once and only
# waits for CMD (the ring would fill meanwhile, every connection of the node
# paying for the programs).
nw_natwho_start "$TMP/cmd.json" "$TMP/cmd.err" -o json -c 1 -- \
	sh -c "$CONNECT connect $CLUSTER_IP_PG 5432 >/dev/null; sleep 3"
for i in $(seq 1 60); do
	grep -q '"type":"conn"' "$TMP/cmd.json" && break
	sleep 0.05
done
sleep 0.3
kill -0 "$NATWHO_PID" 2>/dev/null || fail "natwho did not wait for CMD"
links=$(cat /proc/"$NATWHO_PID"/fdinfo/* 2>/dev/null | awk '/^link_id:/ {print $2}' | sort -u)
[ -z "$links" ] || fail "natwho keeps links $links while it only waits for CMD"
wait_natwho 10
expect_json "$TMP/cmd.json" "the verdict after CMD ended, saying it counts only what came before -c" \
	'.type=="verdict" and .status==0 and .cut_short=="--count reached"'
echo "ok: --count with a running CMD: detached while waiting for it"
# ... and in text, on stderr
nw_natwho_start "$TMP/cmdt.out" "$TMP/cmdt.err" -c 1 -- \
	sh -c "$CONNECT connect $CLUSTER_IP_PG 5432 >/dev/null; sleep 1"
wait_natwho 10
grep -q "^natwho:   tracing ended before 'sh' did (--count reached): its later connections are not counted$" \
	"$TMP/cmdt.err" || { cat "$TMP/cmdt.err"; fail "-c 1 -- CMD: the text verdict does not say it was cut short"; }

# -w - into a reader that stopped reading: SIGTERM still ends natwho (the
# write waiting for room gives up), with one error saying the capture has no
# trailer.  The reader: a FIFO this shell holds open and never reads; the
# capture: a snapshot of 400 KB that does not compress, far over the pipe's
# 64 KB.
{
	printf '{"kind": "List", "items": [{"kind": "Pod", "metadata": {"namespace": "x", '
	printf '"name": "y", "annotations": {"a": "'
	head -c 300000 /dev/urandom | base64 -w0
	printf '"}}}]}\n'
} >"$TMP/big.json"
mkfifo "$TMP/stall"
exec 7<>"$TMP/stall"
nw_natwho_start "$TMP/stall" "$TMP/stall.err" -q -w - --k8s "$TMP/big.json"
sleep 0.5
kill -0 "$NATWHO_PID" 2>/dev/null || { cat "$TMP/stall.err"; fail "natwho ended before the pipe filled"; }
kill -TERM "$NATWHO_PID"
rc=0
wait_natwho 5 || rc=$?
exec 7<&-
[ $rc -eq 1 ] || { cat "$TMP/stall.err"; fail "stalled -w - reader: exit $rc, want 1"; }
grep -q "^Error: capture file 'stdout' ends without its trailer: its reader stopped reading" \
	"$TMP/stall.err" || { cat "$TMP/stall.err"; fail "stalled -w - reader: no error line"; }
echo "ok: SIGTERM ends natwho while its -w - reader has stopped reading"

# The same for the text output (stdout): SIGTERM ends natwho although its
# write waits for a reader that stopped reading (the write is restarted
# after a signal, so a plain write would wait for good); the output is
# given up after 2 s without room, with one error, and the summary still
# comes on stderr.  4000 connections make ~400 KB of lines, three times
# what the pipe (64 KB) and natwho's buffer (64 KB) hold.
mkfifo "$TMP/stall-out"
exec 8<>"$TMP/stall-out"
nw_natwho_start "$TMP/stall-out" "$TMP/stall-out.err" --port 5432
made=$(nw_in "$NODE" "$NW_TOOLS/nw-storm" storm "$CLUSTER_IP_PG" 5432 -t 1 -n 4000 -r |
	sed -n 's/^connections=\([0-9]*\) .*/\1/p')
[ "${made:-0}" -ge 3000 ] || fail "nw-storm made ${made:-no} connections of 4000"
sleep 0.5
kill -0 "$NATWHO_PID" 2>/dev/null || { cat "$TMP/stall-out.err"; fail "natwho ended before the pipe filled"; }
read -r t0 _ </proc/uptime # the boot clock: no wall-clock steps
kill -TERM "$NATWHO_PID"
rc=0
wait_natwho 8 || rc=$?
read -r t1 _ </proc/uptime
ms=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%d", (b - a) * 1000 }')
exec 8<&-
[ $rc -eq 1 ] || { cat "$TMP/stall-out.err"; fail "stalled stdout reader: exit $rc, want 1"; }
grep -q '^Error: the reader of the output took nothing for 2.0 s while natwho was ending' \
	"$TMP/stall-out.err" || { cat "$TMP/stall-out.err"; fail "stalled stdout reader: no error line"; }
[ "$(grep -c '^Error' "$TMP/stall-out.err")" -eq 1 ] || { cat "$TMP/stall-out.err"; fail "more than one error"; }
grep -q '^natwho: [0-9]* events, 0 lost' "$TMP/stall-out.err" ||
	{ cat "$TMP/stall-out.err"; fail "stalled stdout reader: no summary"; }
[ "$ms" -ge 1900 ] || fail "gave up the output after $ms ms, before 2 s without room"
echo "ok: SIGTERM ends natwho in $ms ms while the reader of its output has stopped reading"

# And with stderr on that same reader (`natwho 2>&1 | less`, a journal
# socket): the error and the summary would wait for it too (a plain write,
# restarted after the signal); natwho drops them instead and ends.
mkfifo "$TMP/stall-both"
exec 9<>"$TMP/stall-both"
nsenter --net="/var/run/netns/$NODE" -- "$NATWHO" --netns "/var/run/netns/$NODE" --port 5432 \
	>"$TMP/stall-both" 2>&1 &
NATWHO_PID=$!
NW_PIDS+=("$NATWHO_PID")
for i in $(seq 1 400); do # attached: its netfilter links are among its fds
	grep -qs '^link_id:' /proc/"$NATWHO_PID"/fdinfo/* && break
	kill -0 "$NATWHO_PID" 2>/dev/null || break
	sleep 0.05
done
grep -qs '^link_id:' /proc/"$NATWHO_PID"/fdinfo/* ||
	fail "natwho (stdout and stderr on one stalled pipe) did not attach"
made=$(nw_in "$NODE" "$NW_TOOLS/nw-storm" storm "$CLUSTER_IP_PG" 5432 -t 1 -n 4000 -r |
	sed -n 's/^connections=\([0-9]*\) .*/\1/p')
[ "${made:-0}" -ge 3000 ] || fail "nw-storm made ${made:-no} connections of 4000"
sleep 0.5
kill -0 "$NATWHO_PID" 2>/dev/null || fail "natwho ended before the pipe filled"
kill -TERM "$NATWHO_PID"
rc=0
wait_natwho 8 || rc=$?
exec 9<&-
[ $rc -eq 1 ] || fail "stalled reader of stdout and stderr: exit $rc, want 1"
echo "ok: SIGTERM ends natwho while the one reader of its stdout and stderr has stopped reading"

# --duration (and --count) end natwho the same way: the deadline passes
# while a write waits for the reader, inside the loop that checks it, and
# natwho gives the output up 2 s later instead of waiting for the reader.
mkfifo "$TMP/stall-dur"
exec 6<>"$TMP/stall-dur"
read -r t0 _ </proc/uptime
nw_natwho_start "$TMP/stall-dur" "$TMP/stall-dur.err" --port 5432 -d 3
made=$(nw_in "$NODE" "$NW_TOOLS/nw-storm" storm "$CLUSTER_IP_PG" 5432 -t 1 -n 4000 -r |
	sed -n 's/^connections=\([0-9]*\) .*/\1/p')
[ "${made:-0}" -ge 3000 ] || fail "nw-storm made ${made:-no} connections of 4000"
rc=0
wait_natwho 20 || rc=$?
read -r t1 _ </proc/uptime
exec 6<&-
s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
[ $rc -eq 1 ] || { cat "$TMP/stall-dur.err"; fail "--duration, stalled reader: exit $rc, want 1"; }
grep -q '^Error: the reader of the output took nothing for 2.0 s while natwho was ending' \
	"$TMP/stall-dur.err" || { cat "$TMP/stall-dur.err"; fail "--duration, stalled reader: no error line"; }
echo "ok: -d 3 ends natwho ${s} s after its start while the reader of its output has stopped reading"

# Before tracing starts: rule dumps that hang (a stuck xtables lock, a
# kubectl that never answers) and a --k8s - pipe that never ends give way
# to a stop signal, instead of running out their 10-20 s time limits one
# after another; a dump natwho started does not outlive it, even SIGKILL.
mkdir -p "$TMP/hang"
for c in iptables-save ip6tables-save nft ipset iptables-legacy-save kubectl; do
	printf '#!/bin/sh\nexec sleep 86399\n' >"$TMP/hang/$c"
	chmod +x "$TMP/hang/$c"
done
hung_dumps() { # hung_dumps: how many of the hanging dumps still run (and end them)
	local pids
	pids=$(pgrep -f '^sleep 86399$' || true)
	[ -n "$pids" ] && kill -KILL $pids 2>/dev/null
	echo "$pids" | grep -c .
}
hang_start() { # hang_start OUT ERR ARGS...: natwho in the node, the dumps hanging
	local out=$1 err=$2
	shift 2
	PATH="$TMP/hang:$PATH" nsenter --net="/var/run/netns/$NODE" -- "$NATWHO" "$@" >"$out" 2>"$err" &
	NATWHO_PID=$!
	NW_PIDS+=("$NATWHO_PID")
	for i in $(seq 1 100); do # until the first dump runs
		pgrep -f '^sleep 86399$' >/dev/null && return 0
		sleep 0.05
	done
	fail "natwho ran no rule dump: $(cat "$err")"
}
# hang_stop WHAT SIG RC OUT ARGS...: natwho ARGS, the dumps hanging, stopped
# by SIG: it ends within 3 s with exit RC and no dump left (stderr in
# $TMP/hang.err).
hang_stop() {
	local what=$1 sig=$2 want=$3 out=$4 rc=0
	shift 4
	hang_start "$out" "$TMP/hang.err" "$@"
	kill -"$sig" "$NATWHO_PID"
	wait_natwho 3 || rc=$?
	[ "$(hung_dumps)" -eq 0 ] || fail "$what: a dump outlived natwho"
	[ $rc -eq "$want" ] || { cat "$TMP/hang.err"; fail "$what: exit $rc, want $want"; }
}
# With -w: an earlier capture at the path is kept (SIGINT), a new file is
# not left behind (SIGTERM): nothing was traced.
cap_fixture=$E2E_ROOT/tests/fixtures/capfile/v1.0-incident.nwcap
cp "$cap_fixture" "$TMP/hang-keep.nwcap"
for sig in INT TERM; do
	w=$TMP/hang-keep.nwcap
	[ "$sig" = TERM ] && w=$TMP/hang-new.nwcap
	hang_stop "SIG$sig during the rule dumps" "$sig" 0 "$TMP/hang.out" \
		-q --kubeconfig /dev/null --k8s kubectl -d 60 -w "$w"
	grep -q '^natwho: 0 events' "$TMP/hang.err" || { cat "$TMP/hang.err"; fail "SIG$sig during the dumps: no summary"; }
	grep -q 'cannot read the node' "$TMP/hang.err" && fail "SIG$sig during the dumps: warned that the rules could not be read"
	grep -q "^Warning: stopped before tracing started: nothing recorded to '$w'" "$TMP/hang.err" ||
		{ cat "$TMP/hang.err"; fail "SIG$sig during the dumps: no word about the capture file"; }
done
cmp -s "$TMP/hang-keep.nwcap" "$cap_fixture" ||
	fail "SIGINT during the rule dumps: the earlier capture at -w was overwritten"
[ ! -e "$TMP/hang-new.nwcap" ] || fail "SIGTERM during the rule dumps: an empty capture file was left"
echo "ok: SIGINT and SIGTERM end natwho at once while its rule dumps hang; -w's earlier capture kept, no new one left"
# SIGKILL, which natwho cannot clean up after: a new capture file is not in
# its directory until tracing starts.  In tmpfs, which has O_TMPFILE
# whatever file system $TMP is on.
kd=$(mktemp -d /dev/shm/nw-lifecycle.XXXXXX) || fail "no tmpfs at /dev/shm"
E2E_RM+=("$kd")
hang_stop "SIGKILL during the rule dumps" KILL 137 "$TMP/hang.out" \
	-q --kubeconfig /dev/null --k8s kubectl -d 60 -w "$kd/hang-kill.nwcap"
left=$(ls -A "$kd")
[ -z "$left" ] || fail "SIGKILL during the rule dumps: a capture file was left ($left)"
echo "ok: SIGKILL while the rule dumps hang leaves no new capture file"
# -- CMD stopped while the dumps hang: CMD never runs, 128+SIGTERM, no verdict
hang_stop "-- CMD stopped during the dumps" TERM 143 "$TMP/hang.out" -q -- touch "$TMP/cmd-ran"
[ ! -e "$TMP/cmd-ran" ] || fail "-- CMD stopped during the dumps: CMD ran"
grep -q "^Warning: stopped before 'touch' ran" "$TMP/hang.err" ||
	{ cat "$TMP/hang.err"; fail "-- CMD stopped during the dumps: no warning"; }
! grep -q "^natwho: 'touch' " "$TMP/hang.err" || fail "-- CMD stopped during the dumps: a verdict was printed"
echo "ok: -- CMD stopped while the dumps hang: CMD never runs, exit 143"
# ... and natwho's own failure comes first: its JSON summary to a full disk
hang_stop "-- CMD stopped, output to /dev/full" TERM 1 /dev/full -o json -- touch "$TMP/cmd-ran"
grep -q "^Error: .*No space left on device" "$TMP/hang.err" ||
	{ cat "$TMP/hang.err"; fail "-- CMD stopped, output to /dev/full: no error"; }
echo "ok: -- CMD stopped while the dumps hang, output failing: exit 1, not CMD's 143"
hang_stop "audit stopped during the dumps" TERM 1 "$TMP/hang.out" audit
grep -q "^Error: stopped before the node's rules were read: nothing audited" "$TMP/hang.err" ||
	{ cat "$TMP/hang.err"; fail "audit stopped during the dumps: no error line"; }
echo "ok: a stopped audit says it audited nothing (exit 1), not that the node is clean"
hang_start "$TMP/hang.out" "$TMP/hang.err" -q -d 60
kill -KILL "$NATWHO_PID"
wait "$NATWHO_PID" 2>/dev/null || true
for i in $(seq 1 20); do
	pgrep -f '^sleep 86399$' >/dev/null || break
	sleep 0.05
done
[ "$(hung_dumps)" -eq 0 ] || fail "SIGKILL during a rule dump: the dump outlived natwho"
echo "ok: a rule dump ends with natwho, also after SIGKILL"
# --k8s - from a pipe whose writer never ends nor writes
mkfifo "$TMP/k8s-pipe"
exec 5<>"$TMP/k8s-pipe"
nsenter --net="/var/run/netns/$NODE" -- "$NATWHO" --k8s - --no-rules -q -d 60 <"$TMP/k8s-pipe" \
	>"$TMP/k8s-pipe.out" 2>"$TMP/k8s-pipe.err" &
NATWHO_PID=$!
NW_PIDS+=("$NATWHO_PID")
sleep 0.5
kill -INT "$NATWHO_PID"
rc=0
wait_natwho 3 || rc=$?
exec 5<&-
[ $rc -eq 0 ] || { cat "$TMP/k8s-pipe.err"; fail "SIGINT while reading --k8s -: exit $rc, want 0"; }
echo "ok: SIGINT ends natwho while it waits for --k8s - on a pipe"

# SIGKILL: the programs and links natwho owned disappear with it.
nw_natwho_start "$TMP/kill.json" "$TMP/kill.err" -o json
# The ids of natwho's programs and links, from its fds (bpftool 7.1 lacks pids).
progs=$(cat /proc/"$NATWHO_PID"/fdinfo/* 2>/dev/null | awk '/^prog_id:/ {print $2}' | sort -u)
links=$(cat /proc/"$NATWHO_PID"/fdinfo/* 2>/dev/null | awk '/^link_id:/ {print $2}' | sort -u)
[ -n "$progs" ] || fail "cannot see natwho's programs in /proc/$NATWHO_PID/fdinfo"
[ "$(echo "$links" | wc -w)" -ge 2 ] || fail "expected natwho's netfilter links, got '$links'"
echo "natwho $NATWHO_PID owns programs $(echo $progs) and links $(echo $links)"
expect_bpf_alive prog $progs
expect_bpf_alive link $links
kill -KILL "$NATWHO_PID"
wait "$NATWHO_PID" 2>/dev/null || true
for i in $(seq 1 50); do
	left="$(bpf_left prog $progs)$(bpf_left link $links)"
	[ -z "$left" ] && break
	sleep 0.1
done
[ -z "$left" ] || fail "left attached after SIGKILL:$left"
echo "ok: nothing left attached after SIGKILL"

# --netns PATH whose namespace leaves that path while natwho runs (a pod
# ended: its /var/run/netns entry removed; or restarted: another namespace
# there).  natwho holds the one it opened, says so once, and goes on
# tracing it: a connection made inside it afterwards (entered through its
# server's /proc/PID/ns/net) is still reported.
expect_no_json "$TMP/INT.json" "no namespace warning while the path stays" \
	'.type == "warning" and (.warning | test("network namespace"))'
GONE=${NW_P}gone
REPL=${NW_P}repl
LAZY=${NW_P}lazy
NW_NS_EXTRA+=("$GONE" "$REPL" "$LAZY")
netns_up() { # netns_up NAME: lo, a NAT rule (conntrack runs), a server on 7777; SERVER_PID
	ip netns add "$1" &&
		ip -n "$1" link set lo up &&
		nw_in "$1" iptables -t nat -A OUTPUT -p tcp --dport 3306 -j REDIRECT --to-ports 7777 ||
		fail "cannot set up namespace $1"
	nw_bg "$1" "$CONNECT" listen 127.0.0.1 7777 "still-traced"$'\n'
	SERVER_PID=${NW_PIDS[-1]}
	nw_wait_listening "$1" tcp 7777 || fail "no server in $1"
}
netns_start() { # netns_start NAME OUT: natwho --netns /var/run/netns/NAME -o json
	NODE=$1 nw_natwho_start "$TMP/$2.json" "$TMP/$2.err" -o json ||
		fail "natwho --netns /var/run/netns/$1 did not start"
}
netns_warned() { # netns_warned OUT REGEX: warnings matching it so far
	jq -s --arg re "$2" 'map(select(.type == "warning" and (.warning | test($re)))) | length' \
		"$TMP/$1.json"
}
# netns_wait_warning OUT REGEX: said within 5 s (two checks a second apart
# must agree), once only; then a connection in the namespace natwho holds is
# still reported, and SIGINT ends natwho with exit 0.
netns_wait_warning() {
	local got
	for i in $(seq 1 100); do
		[ "$(netns_warned "$1" "$2")" -ge 1 ] && break
		sleep 0.05
	done
	[ "$(netns_warned "$1" "$2")" -ge 1 ] ||
		{ cat "$TMP/$1.json" "$TMP/$1.err" >&2; fail "$1: no warning /$2/ in 5 s"; }
	got=$(nsenter --net="/proc/$SERVER_PID/ns/net" -- timeout 10 "$CONNECT" connect 127.0.0.1 3306) ||
		fail "$1: no connection inside the namespace natwho holds"
	[ "$got" = still-traced ] || fail "$1: answered by '$got'"
	sleep 1.5 # more checks: nothing said twice
	[ "$(netns_warned "$1" "network namespace")" -eq 1 ] ||
		{ cat "$TMP/$1.json" >&2; fail "$1: the namespace warning said more than once"; }
	kill -0 "$NATWHO_PID" 2>/dev/null || fail "$1: natwho ended after the warning"
	kill -INT "$NATWHO_PID"
	rc=0
	wait_natwho 5 || rc=$?
	[ $rc -eq 0 ] || fail "$1: exit $rc after SIGINT, want 0"
	expect_json "$TMP/$1.json" "$1: the connection after the warning, redirected" \
		'.type == "conn" and .orig.dport == 3306 and .landed.port == 7777'
	expect_summary_clean "$TMP/$1.json" 1
}
netns_up "$GONE"
gone_ino=$(stat -L -c %i "/var/run/netns/$GONE")
netns_start "$GONE" netns-gone
ip netns del "$GONE"
netns_wait_warning netns-gone \
	"^network namespace '/var/run/netns/$GONE' \\(inode $gone_ino\\) is gone from that path"
echo "ok: a --netns path removed while natwho runs is said once, natwho goes on tracing"

# Only unmounted (what `ip netns del` does before it removes the file): the
# empty file left there is no namespace either.
netns_up "$LAZY"
lazy_ino=$(stat -L -c %i "/var/run/netns/$LAZY")
netns_start "$LAZY" netns-lazy
umount -l "/var/run/netns/$LAZY"
[ -e "/var/run/netns/$LAZY" ] || fail "umount -l removed /var/run/netns/$LAZY"
netns_wait_warning netns-lazy \
	"^network namespace '/var/run/netns/$LAZY' \\(inode $lazy_ino\\) is gone from that path"
echo "ok: a --netns path left as an empty file is said to be gone"

netns_up "$GONE"
ip netns add "$REPL" || fail "cannot add namespace $REPL"
gone_ino=$(stat -L -c %i "/var/run/netns/$GONE")
repl_ino=$(stat -L -c %i "/var/run/netns/$REPL")
netns_start "$GONE" netns-repl
mount --bind "/var/run/netns/$REPL" "/var/run/netns/$GONE" # never without a namespace there
netns_wait_warning netns-repl \
	"^'/var/run/netns/$GONE' now leads to another network namespace \\(inode $repl_ino;.*the one it opened \\(inode $gone_ino\\)"
echo "ok: another namespace at a --netns path is said once, natwho goes on tracing its own"
