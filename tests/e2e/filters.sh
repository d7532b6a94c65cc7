#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Kernel-side filters: --port matches the original OR the translated port,
# --addr any address before or after NAT, --proto, -4/-6 and --pid; other
# traffic never reaches userspace.
. "$(dirname "$0")/../lib/e2e.sh"

nw_topology_up
nw_servers_up "$CONNECT"

traffic() { # pg (5432), dns (udp 53), alt (13306 -> 3306), v6 mysql, mysql
	nw_client "$NODE" "$CONNECT" connect "$CLUSTER_IP_PG" 5432 >/dev/null
	nw_client "$NODE" "$CONNECT" -u connect "$CLUSTER_IP_DNS" 53 >/dev/null
	nw_client "$NODE" "$CONNECT" connect "$CLUSTER_IP_ALT" 13306 >/dev/null
	nw_client "$NODE" "$CONNECT" connect "$CLUSTER_IP6_MYSQL" 3306 >/dev/null
	nw_client "$NODE" "$CONNECT" connect "$CLUSTER_IP_MYSQL" 3306 >/dev/null
	LAST_PID=$CLIENT_PID
}

# run_filtered NAME ARGS...: trace the traffic with a filter.  The clients
# have connected when traffic returns, so their events are in the ring;
# SIGINT makes natwho deliver them and stop (no fixed window to outrun).
run_filtered() {
	local name=$1
	shift
	nw_natwho_start "$TMP/$name.json" "$TMP/$name.err" -o json "$@"
	traffic
	kill -INT "$NATWHO_PID"
	wait_natwho 10
}

run_filtered port --port 3306
expect_json "$TMP/port.json" "--port 3306 matches original dport 3306" \
	".orig.dport==3306 and .orig.dst==\"$CLUSTER_IP_MYSQL\""
expect_json "$TMP/port.json" "--port 3306 matches translated port (13306 -> 3306)" \
	".orig.dport==13306 and .landed.port==3306"
expect_no_json "$TMP/port.json" "--port 3306 drops 5432 and 53" \
	".type==\"conn\" and .orig.dport!=3306 and .landed.port!=3306"
expect_summary_clean "$TMP/port.json" 3

run_filtered proto -P udp
expect_no_json "$TMP/proto.json" "-P udp: no TCP" ".type==\"conn\" and .proto!=\"udp\""
expect_summary_clean "$TMP/proto.json" 1

run_filtered v6 -6
expect_no_json "$TMP/v6.json" "-6: no IPv4" ".type==\"conn\" and .family!=\"ipv6\""
expect_summary_clean "$TMP/v6.json" 1

run_filtered multi --port 5432,53 -4
expect_summary_clean "$TMP/multi.json" 2

# --addr: where it landed (the hostPort's pod), the addresses it was meant
# for (IPv4 and IPv6 in one list), a prefix.
run_filtered addr-landed --addr "$POD_B"
expect_json "$TMP/addr-landed.json" "--addr $POD_B: the connection that landed there" \
	".orig.dst==\"$CLUSTER_IP_MYSQL\" and .landed.addr==\"$POD_B\""
expect_summary_clean "$TMP/addr-landed.json" 1

run_filtered addr-meant --addr "$CLUSTER_IP_PG,$CLUSTER_IP6_MYSQL"
expect_json "$TMP/addr-meant.json" "--addr: the connection to $CLUSTER_IP_PG" \
	".orig.dst==\"$CLUSTER_IP_PG\" and .landed.addr==\"$POD_A\""
expect_json "$TMP/addr-meant.json" "--addr: the connection to $CLUSTER_IP6_MYSQL" \
	".orig.dst==\"$CLUSTER_IP6_MYSQL\" and .landed.addr==\"$POD_B6\""
expect_summary_clean "$TMP/addr-meant.json" 2

run_filtered addr-prefix --addr 10.96.0.0/27 # .10, .20 and .30, not .40
expect_no_json "$TMP/addr-prefix.json" "--addr 10.96.0.0/27: not $CLUSTER_IP_ALT nor IPv6" \
	".type==\"conn\" and (.orig.dst==\"$CLUSTER_IP_ALT\" or .family!=\"ipv4\")"
expect_summary_clean "$TMP/addr-prefix.json" 3

# ... the source SNAT gave the connection (the reply's destination, its only
# address there), named IPv4-mapped as ss prints an IPv6 socket's peer.
SNAT_ADDR=10.88.0.1
nw_in "$NODE" iptables -w -t nat -I POSTROUTING -p tcp -d "$POD_A" --dport 5432 \
	-j SNAT --to-source "$SNAT_ADDR" || fail "cannot add the SNAT rule"
run_filtered addr-snat --addr "::ffff:$SNAT_ADDR"
nw_in "$NODE" iptables -w -t nat -D POSTROUTING -p tcp -d "$POD_A" --dport 5432 \
	-j SNAT --to-source "$SNAT_ADDR" || fail "cannot remove the SNAT rule"
expect_json "$TMP/addr-snat.json" "--addr ::ffff:$SNAT_ADDR: the connection SNAT gave that source" \
	".orig.dst==\"$CLUSTER_IP_PG\" and .snat==true and .reply.dst==\"$SNAT_ADDR\""
expect_summary_clean "$TMP/addr-snat.json" 1

# --pid: only the process asked for.  The client is started first, blocked
# on a fifo, so its pid is known before natwho starts.
mkfifo "$TMP/go"
nsenter --net="/var/run/netns/$NODE" -- sh -c \
	'read go <"$0"; exec "$1" connect "$2" 5432' "$TMP/go" "$CONNECT" "$CLUSTER_IP_PG" >/dev/null &
want=$!
NW_PIDS+=("$want")
nw_natwho_start "$TMP/pid.json" "$TMP/pid.err" -o json --pid "$want"
traffic
echo go >"$TMP/go"
wait "$want"
kill -INT "$NATWHO_PID"
wait_natwho 10
expect_json "$TMP/pid.json" "--pid $want: its connection" ".pid==$want and .orig.dport==5432"
expect_summary_clean "$TMP/pid.json" 1
