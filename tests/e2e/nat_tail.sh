#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The incident, traced: a node process connects to a "ClusterIP" (local
# address) and the hostPort DNAT sends it to pod B.  IPv4 and IPv6, TCP and
# UDP: natwho must report the original tuple, where it landed, and the
# client's pid/comm; plus a forwarded pod connection (no process).
. "$(dirname "$0")/../lib/e2e.sh"

nw_topology_up
nw_servers_up "$CONNECT"
nw_natwho_start "$TMP/out.json" "$TMP/err" -o json -c 5

pids=()
for target in "$CLUSTER_IP_MYSQL 3306" "-u $CLUSTER_IP_DNS 53" "$CLUSTER_IP6_MYSQL 3306" \
	"-u $CLUSTER_IP6_DNS 53"; do
	set -- $target
	if [ "$1" = -u ]; then
		nw_client "$NODE" "$CONNECT" -u connect "$2" "$3" >"$TMP/reply"
	else
		nw_client "$NODE" "$CONNECT" connect "$1" "$2" >"$TMP/reply"
	fi
	pids+=("$CLIENT_PID")
done
nw_in "$PODA" "$CONNECT" connect "$CLUSTER_IP_MYSQL" 3306 >/dev/null
wait_natwho
cat "$TMP/out.json"

expect_json "$TMP/out.json" "IPv4 TCP to ClusterIP:3306 landed on pod B, with pid/comm" \
	".type==\"conn\" and .family==\"ipv4\" and .proto==\"tcp\" and .orig.dst==\"$CLUSTER_IP_MYSQL\"
	 and .orig.dport==3306 and .landed.addr==\"$POD_B\" and .landed.port==3306 and .dnat==true
	 and .snat==false and .pid==${pids[0]} and .comm==\"nw-connect\"
	 and .hook==(if .backend==\"netfilter\" then \"postrouting\" else \"confirm\" end)
	 and .reply.src==\"$POD_B\" and .backend==\"$(nw_backend_of "$TMP/err")\""
expect_json "$TMP/out.json" "IPv4 UDP to DNS ClusterIP landed on pod A" \
	".proto==\"udp\" and .family==\"ipv4\" and .orig.dst==\"$CLUSTER_IP_DNS\" and .orig.dport==53
	 and .landed.addr==\"$POD_A\" and .landed.port==53 and .pid==${pids[1]}"
expect_json "$TMP/out.json" "IPv6 TCP to ClusterIP landed on pod B" \
	".family==\"ipv6\" and .proto==\"tcp\" and .orig.dst==\"$CLUSTER_IP6_MYSQL\"
	 and .landed.addr==\"$POD_B6\" and .landed.port==3306 and .pid==${pids[2]} and .comm==\"nw-connect\""
expect_json "$TMP/out.json" "IPv6 UDP to DNS ClusterIP landed on pod A" \
	".family==\"ipv6\" and .proto==\"udp\" and .orig.dst==\"$CLUSTER_IP6_DNS\"
	 and .landed.addr==\"$POD_A6\" and .pid==${pids[3]}"
expect_json "$TMP/out.json" "forwarded pod connection: no process, hijacked to pod B" \
	".orig.src==\"$POD_A\" and .orig.dst==\"$CLUSTER_IP_MYSQL\" and .landed.addr==\"$POD_B\"
	 and .pid==null and .comm==null"
expect_json "$TMP/out.json" "timestamps are RFC 3339 UTC with microseconds" \
	".type==\"conn\" and (.ts|test(\"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\\\\.[0-9]{6}Z$\"))"
expect_summary_clean "$TMP/out.json" 5

# Text mode: the same connection, one aligned line with the DNAT marker.
nw_natwho_start "$TMP/out.txt" "$TMP/err2" -c 1
nw_in "$NODE" "$CONNECT" connect "$CLUSTER_IP_MYSQL" 3306 >/dev/null
wait_natwho
cat "$TMP/out.txt"
head -1 "$TMP/out.txt" | grep -q '^TIME  *PID  *COMM  *PROTO  *SOURCE  *DESTINATION  *NAT  *LANDED$' ||
	fail "text header"
grep -Eq "nw-connect +tcp +$CLUSTER_IP_MYSQL:[0-9]+ +$CLUSTER_IP_MYSQL:3306 +DNAT +$POD_B:3306( +MISMATCH .*)?$" \
	"$TMP/out.txt" || fail "text line for the incident"
grep -q "natwho: 1 events, 0 lost" "$TMP/err2" || fail "text summary on stderr"
echo "ok: text output"

# A connection whose first SYN is dropped in the filter table (after
# conntrack made its entry, before confirmation) gets its entry from the
# retransmitted SYN, which the TCP timer sends in softirq while the client
# sleeps in connect(): natwho must not name whatever task the timer
# interrupted (swapper, or any process), but nobody.
nw_natwho_start "$TMP/rtx.json" "$TMP/rtx.err" -o json -c 1 --port 5432
nw_in "$NODE" iptables -w -I OUTPUT -p tcp --dport 5432 --syn -j DROP || fail "iptables"
nsenter --net="/var/run/netns/$NODE" -- "$CONNECT" connect "$CLUSTER_IP_PG" 5432 >"$TMP/rtx.reply" &
client=$!
NW_PIDS+=("$client")
for i in $(seq 1 100); do # until the rule has dropped the first SYN
	dropped=$(nw_in "$NODE" iptables -w -L OUTPUT -v -n -x | awk '$3 == "DROP" { print $1; exit }')
	[ "${dropped:-0}" -ge 1 ] && break
	sleep 0.05
done
[ "${dropped:-0}" -ge 1 ] || fail "the first SYN never reached the DROP rule"
nw_in "$NODE" iptables -w -D OUTPUT -p tcp --dport 5432 --syn -j DROP || fail "iptables -D"
wait "$client" || fail "the client never connected after its SYN was let through"
grep -q "port 5432" "$TMP/rtx.reply" || fail "the client got no answer: $(cat "$TMP/rtx.reply")"
wait_natwho 10
cat "$TMP/rtx.json"
expect_json "$TMP/rtx.json" "a retransmitted SYN (timer, softirq): no process named" \
	".type==\"conn\" and .orig.dport==5432 and .landed.addr==\"$POD_A\" and .pid==null
	 and .comm==null"
