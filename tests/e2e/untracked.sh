#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Connections conntrack does not track are never shown, and natwho says so:
# conntrack starts in a network namespace only once something there needs it
# (a NAT or conntrack rule), per family.  The pod namespace has no rules:
# natwho watching it must warn, while it runs, for each family whose TCP
# SYNs passed with no conntrack entry; after an IPv4 NAT rule there, IPv4 is
# tracked (its connections shown, no warning) and IPv6 still is not.  The
# node namespace, whose rules need conntrack for both, gets no warning, even
# with a filter that shows none of its connections; and the programs' own
# count ("untracked", read with bpftool) stays 0 wherever conntrack tracks,
# and counts a SYN over loopback once.  A capture keeps the warning for
# its replay.  conntrack's own counters of the namespace are watched.
. "$(dirname "$0")/../lib/e2e.sh"

command -v bpftool >/dev/null || fail "bpftool missing (tests/deps.sh installs it)"

nw_topology_up
nw_servers_up "$CONNECT"
ino=$(stat -L -c %i "/var/run/netns/$PODA")

# watch NAME NS ARGS...: natwho -o json watching NS, from inside it
watch() {
	local name=$1 ns=$2 i
	shift 2
	: >"$TMP/$name.err"
	nsenter --net="/var/run/netns/$ns" -- "$NATWHO" -v --netns "/var/run/netns/$ns" -o json \
		"$@" >"$TMP/$name.json" 2>"$TMP/$name.err" &
	NATWHO_PID=$!
	NW_PIDS+=("$NATWHO_PID")
	for i in $(seq 1 400); do
		grep -q "tracing with backend" "$TMP/$name.err" && break
		kill -0 "$NATWHO_PID" 2>/dev/null || break
		sleep 0.05
	done
	if ! grep -q "tracing with backend" "$TMP/$name.err"; then
		# another backend than netfilter or none: the count is netfilter's
		grep -q "no backend could attach" "$TMP/$name.err" &&
			unsupported "the count is the netfilter backend's: $(head -c 300 "$TMP/$name.err")"
		fail "natwho ($name) did not start: $(cat "$TMP/$name.err")"
	fi
	[ "$(nw_backend_of "$TMP/$name.err")" = netfilter ] ||
		unsupported "the count is the netfilter backend's: $(head -c 300 "$TMP/$name.err")"
}

# counts: "IPv4 IPv6" of the running natwho's "untracked" map, summed over CPUs
counts() {
	local id
	for id in $(awk '/^map_id:/ { print $2 }' /proc/"$NATWHO_PID"/fdinfo/* 2>/dev/null | sort -un); do
		bpftool map show id "$id" -j 2>/dev/null | jq -e '.name == "untracked"' >/dev/null || continue
		bpftool map dump id "$id" -j |
			jq -r 'map(.formatted.values | map(.value) | add) | "\(.[0]) \(.[1])"'
		return
	done
	fail "natwho $NATWHO_PID holds no \"untracked\" map"
}

# warned FILE FAMILY: a warning record for FAMILY's untracked SYNs in PODA
warned() {
	jq -e -s --arg f "$2" --arg ns "$ino" 'map(select(.type == "warning" and (.warning |
		test("^network namespace \($ns): [0-9]+ \($f) TCP SYNs? passed with no conntrack entry and no \($f) connection was tracked: conntrack does not track \($f) there")))) |
		length == 1' "$1" >/dev/null
}

stop() {
	kill -INT "$NATWHO_PID"
	wait_natwho 10
}

# 1. The pod namespace, no rules: neither family tracked.  Said while
# natwho runs (within a second of the SYNs), once per family.
watch bare "$PODA" -w "$TMP/bare.cap"
nw_client "$NODE" "$CONNECT" connect "$POD_A" 3306 >/dev/null
nw_client "$NODE" "$CONNECT" connect "$POD_A6" 3306 >/dev/null
for i in $(seq 1 40); do
	warned "$TMP/bare.json" IPv4 && warned "$TMP/bare.json" IPv6 && break
	sleep 0.1
done
warned "$TMP/bare.json" IPv4 || fail "no live warning for IPv4 SYNs without conntrack: $(cat "$TMP/bare.json")"
warned "$TMP/bare.json" IPv6 || fail "no live warning for IPv6 SYNs without conntrack: $(cat "$TMP/bare.json")"
nw_client "$NODE" "$CONNECT" connect "$POD_A" 3306 >/dev/null # said once, not again
read -r v4 v6 < <(counts)
[ "$v4" -ge 2 ] && [ "$v6" -ge 1 ] || fail "untracked SYNs counted: IPv4 $v4 (2 made), IPv6 $v6 (1)"
# A SYN the namespace sends itself over loopback passes POST_ROUTING and
# LOCAL_IN: counted once (lo answers at once: no retransmission).
nw_client "$PODA" "$CONNECT" connect 127.0.0.1 3306 >/dev/null 2>&1
read -r lo4 lo6 < <(counts)
[ "$lo4" = $((v4 + 1)) ] && [ "$lo6" = "$v6" ] ||
	fail "a loopback SYN counted $((lo4 - v4)) times (once), IPv6 $((lo6 - v6)) (0)"
nw_client "$PODA" "$CONNECT" connect ::1 3306 >/dev/null 2>&1
read -r v4 v6 < <(counts)
[ "$v4" = "$lo4" ] && [ "$v6" = $((lo6 + 1)) ] ||
	fail "an IPv6 loopback SYN counted $((v6 - lo6)) times (once), IPv4 $((v4 - lo4)) (0)"
stop
warned "$TMP/bare.json" IPv4 || fail "the IPv4 warning was repeated: $(cat "$TMP/bare.json")"
expect_summary_clean "$TMP/bare.json" 0
echo "ok: both families' untracked SYNs said once, while natwho ran"
# The capture keeps what was said (a note record): its replay says it again.
"$NATWHO" -r "$TMP/bare.cap" -o json >"$TMP/bare-replay.json" 2>"$TMP/bare-replay.err" ||
	fail "replaying the capture failed: $(cat "$TMP/bare-replay.err")"
warned "$TMP/bare-replay.json" IPv4 && warned "$TMP/bare-replay.json" IPv6 ||
	fail "the replay does not say once per family what natwho said: $(cat "$TMP/bare-replay.json")"
echo "ok: the replay says it too"

# 2. An IPv4 NAT rule in the pod namespace: conntrack tracks IPv4 there now.
nw_in "$PODA" iptables -t nat -A OUTPUT -d 192.0.2.1 -j DNAT --to-destination 192.0.2.2 ||
	fail "cannot add a NAT rule in the pod namespace"
watch v4 "$PODA"
nw_client "$NODE" "$CONNECT" connect "$POD_A" 3306 >/dev/null
nw_client "$NODE" "$CONNECT" connect "$POD_A6" 3306 >/dev/null
read -r v4 v6 < <(counts)
[ "$v4" = 0 ] && [ "$v6" -ge 1 ] || fail "IPv4 tracked, IPv6 not: counted IPv4 $v4 (0), IPv6 $v6 (1)"
stop
expect_json "$TMP/v4.json" "IPv4 tracked: the connection is shown" \
	".type == \"conn\" and .family == \"ipv4\" and .orig.dst == \"$POD_A\""
warned "$TMP/v4.json" IPv6 || fail "no warning for IPv6 SYNs without conntrack: $(cat "$TMP/v4.json")"
expect_no_json "$TMP/v4.json" "no warning for IPv4, tracked" \
	'.type == "warning" and (.warning | test("IPv4 TCP SYN"))'

# 3. The node namespace: its rules need conntrack for both families.  With
# --port 9 natwho shows none of its connections: whether conntrack tracks a
# family is decided before any filter.
watch node "$NODE" --port 9
nw_client "$NODE" "$CONNECT" connect "$CLUSTER_IP_PG" 5432 >/dev/null
nw_client "$NODE" "$CONNECT" connect "$CLUSTER_IP6_MYSQL" 3306 >/dev/null
nw_client "$NODE" "$CONNECT" connect "$POD_A" 3306 >/dev/null
read -r v4 v6 < <(counts)
[ "$v4" = 0 ] && [ "$v6" = 0 ] || fail "tracked SYNs counted as untracked: IPv4 $v4, IPv6 $v6"
stop
expect_summary_clean "$TMP/node.json" 0
expect_no_json "$TMP/node.json" "no untracked warning where conntrack runs (nothing shown)" \
	'.type == "warning" and (.warning | test("conntrack entry"))'
# conntrack's own counters of the traced namespace are watched (the guests'
# fentry-ctfull fills a table; nothing here drops): said under -v, nothing
# to warn about
node_ino=$(stat -L -c %i "/var/run/netns/$NODE")
grep -qxF "natwho: conntrack's counters of network namespace $node_ino: watched" \
	"$TMP/node.err" || fail "conntrack's counters of the node namespace not watched: $(cat "$TMP/node.err")"
echo "ok: conntrack's counters of the traced namespace watched"
expect_no_json "$TMP/node.json" "no warning of conntrack's drops where it dropped none" \
	'.type == "warning" and (.warning | test("since natwho started, conntrack"))'
