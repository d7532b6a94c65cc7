#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# --cgroup: clients in a throwaway cgroup v2 directory and in a "pod" network
# namespace connect to Service addresses that the node namespace DNATs.
# natwho in the node namespace must report each connection with the client's
# pid and comm and the translated destination (TCP, connected and sendto UDP,
# IPv6, IPv4 from an IPv6 socket), and nothing from processes outside it, even
# from the same pod namespace.  A second --cgroup, of a process in the node
# namespace itself (a systemd service), is reported too, its UDP included.
NW_P=nwc$$-
. "$(dirname "$0")/../lib/e2e.sh"
. "$E2E_ROOT/tests/bench/cgroup_lib.sh"

cg_e2e_up
nw_servers_up "$CONNECT"

nw_natwho_start "$TMP/cg.json" "$TMP/cg.err" -o json --cgroup "$CG" --cgroup "$CG2" ||
	fail "natwho --cgroup did not start"

# inside VAR ANSWER CMD...: CMD in the cgroup and the client pod must get a
# reply starting with ANSWER; its pid goes to VAR.
inside() {
	local var=$1 answer=$2 out
	shift 2
	cg_run "$PODC" "$@" >"$TMP/out"
	out=$(<"$TMP/out")
	[[ $out == "$answer"* ]] || fail "$var: client in the cgroup got '$out'"
	printf -v "$var" %s "$CG_PID"
}
inside tcp4 "mysql-a-0 (namespace a) port 5432" "$CONNECT" connect "$CLUSTER_IP_PG" 5432
inside udp4 dns-a-0 "$CONNECT" -u connect "$CLUSTER_IP_DNS" 53
inside sendto4 dns-a-0 "$CONNECT" sendto "$CLUSTER_IP_DNS" 53
inside tcp6 mysql-b-0 "$CONNECT" connect "$CLUSTER_IP6_MYSQL" 3306
inside udp6 dns-a-0 "$CONNECT" -u connect "$CLUSTER_IP6_DNS" 53
inside mapped "mysql-a-0 (namespace a) port 5432" "$CONNECT" connect "::ffff:$CLUSTER_IP_PG" 5432
nw_cg_run "$CG2" "$NODE" "$CONNECT" connect "$CLUSTER_IP_PG" 5432 >"$TMP/out"
node_svc=$CG_PID
# UDP of the node service: its record is written at egress, after the hooks
# that report the flow; the socket's own cgroup names it.
nw_cg_run "$CG2" "$NODE" "$CONNECT" -u connect "$CLUSTER_IP_DNS" 53 >"$TMP/out"
node_udp=$CG_PID
nw_cg_run "$CG2" "$NODE" "$CONNECT" sendto "$CLUSTER_IP_DNS" 53 >"$TMP/out"
node_sendto=$CG_PID
# The control: same pod namespace, same destinations, not in the cgroup.
nw_client "$PODC" "$CONNECT" connect "$CLUSTER_IP_PG" 5432 >/dev/null
outside_tcp=$CLIENT_PID
nw_client "$PODC" "$CONNECT" -u connect "$CLUSTER_IP_DNS" 53 >/dev/null
outside_udp=$CLIENT_PID
nw_client "$PODA" "$CONNECT" connect "$CLUSTER_IP_MYSQL" 3306 >/dev/null
outside_poda=$CLIENT_PID
# The node namespace, outside the cgroups, from the address the node
# service's UDP used: its socket says it is not theirs, not a missed join.
nw_client "$NODE" "$CONNECT" -u connect "$CLUSTER_IP_DNS" 53 >/dev/null
outside_node=$CLIENT_PID

sleep 0.3
kill -INT "$NATWHO_PID"
wait_natwho 5 || fail "natwho --cgroup exited with $?"

# conn WHAT PROTO PID DST DPORT LANDED LPORT SRC
conn() {
	local what=$1 proto=$2 pid=$3 dst=$4 dport=$5 landed=$6 lport=$7 src=$8
	expect_json "$TMP/cg.json" "$what: pid $pid nw-* $dst:$dport -> $landed:$lport" \
		".type == \"conn\" and .proto == \"$proto\" and .pid == $pid and
		 (.comm | startswith(\"nw-\")) and .cgroup != null and .orig.src == \"$src\" and
		 .orig.dst == \"$dst\" and .orig.dport == $dport and
		 .landed.addr == \"$landed\" and .landed.port == $lport"
}
conn "TCP" tcp "$tcp4" "$CLUSTER_IP_PG" 5432 "$POD_A" 5432 "$POD_C"
conn "connected UDP" udp "$udp4" "$CLUSTER_IP_DNS" 53 "$POD_A" 53 "$POD_C"
conn "sendto UDP" udp "$sendto4" "$CLUSTER_IP_DNS" 53 "$POD_A" 53 "$POD_C"
conn "IPv6 TCP" tcp "$tcp6" "$CLUSTER_IP6_MYSQL" 3306 "$POD_B6" 3306 "$POD_C6"
conn "IPv6 UDP" udp "$udp6" "$CLUSTER_IP6_DNS" 53 "$POD_A6" 53 "$POD_C6"
conn "IPv4 from an IPv6 socket" tcp "$mapped" "$CLUSTER_IP_PG" 5432 "$POD_A" 5432 "$POD_C"
conn "node service (second --cgroup)" tcp "$node_svc" "$CLUSTER_IP_PG" 5432 "$POD_A" 5432 \
	"$CLUSTER_IP_PG"
conn "node service, connected UDP" udp "$node_udp" "$CLUSTER_IP_DNS" 53 "$POD_A" 53 \
	"$CLUSTER_IP_DNS"
conn "node service, sendto UDP" udp "$node_sendto" "$CLUSTER_IP_DNS" 53 "$POD_A" 53 \
	"$CLUSTER_IP_DNS"
expect_json "$TMP/cg.json" "node service UDP: the cgroup is the socket's" \
	".type == \"conn\" and .pid == $node_sendto and .cgroup == $(stat -c %i "$CG2")"
expect_json "$TMP/cg.json" "comm is the client's" \
	".type == \"conn\" and .pid == $sendto4 and .comm == \"nw-connect\""
for pid in "$outside_tcp" "$outside_udp" "$outside_poda" "$outside_node"; do
	expect_no_json "$TMP/cg.json" "nothing from pid $pid outside the cgroup" \
		".type == \"conn\" and .pid == $pid"
done
expect_json "$TMP/cg.json" "only the nine connections of the cgroups" \
	".type == \"summary\" and .events == 9 and .lost == 0"
# The two outside clients of the pod namespace used its address: missed
# joins.  Pod A's address was never recorded, the node client's socket told.
expect_json "$TMP/cg.json" "summary counts the joins missed" \
	".type == \"summary\" and .join_missed == 2"

# Text mode: pid and comm columns filled, summary line names missed joins.
nw_natwho_start "$TMP/cg.txt" "$TMP/cg.txt.err" --cgroup "$CG" ||
	fail "natwho --cgroup (text) did not start"
inside text_tcp "mysql-a-0 (namespace a) port 5432" "$CONNECT" connect "$CLUSTER_IP_PG" 5432
sleep 0.3
kill -INT "$NATWHO_PID"
wait_natwho 5 || fail "natwho --cgroup (text) exited with $?"
grep -q "^[0-9:.]* *$text_tcp *nw-connect *tcp .*$CLUSTER_IP_PG:5432 .*DNAT *$POD_A:5432" \
	"$TMP/cg.txt" || { cat "$TMP/cg.txt" >&2; fail "text line with pid and comm"; }
grep -q "joins missed" "$TMP/cg.txt.err" || { cat "$TMP/cg.txt.err" >&2; fail "text summary"; }
echo "ok: text output"

# A pod's ICMP (any protocol but TCP and UDP) reaches the node namespace
# with no socket: joined by the record egress writes, with the socket's
# cgroup (the kernel runs connect/sendmsg hooks for TCP and UDP alone, so
# no process).  The same pod namespace's ping from outside the cgroup, to
# another address, is not shown.
nw_natwho_start "$TMP/icmp.json" "$TMP/icmp.err" -o json -P icmp --cgroup "$CG" ||
	fail "natwho --cgroup -P icmp did not start"
inside ping4 pong "$CONNECT" ping "$CLUSTER_IP_PG"
nw_client "$PODC" "$CONNECT" ping "$CLUSTER_IP_DNS" >/dev/null
sleep 0.3
kill -INT "$NATWHO_PID"
wait_natwho 5 || fail "natwho --cgroup -P icmp exited with $?"
expect_json "$TMP/icmp.json" "a pod's ICMP echo, joined to its cgroup" \
	".type == \"conn\" and .proto == \"icmp\" and .orig.src == \"$POD_C\" and
	 .orig.dst == \"$CLUSTER_IP_PG\" and .cgroup == $(stat -c %i "$CG")"
expect_no_json "$TMP/icmp.json" "no ICMP from outside the cgroup" \
	".type == \"conn\" and .orig.dst == \"$CLUSTER_IP_DNS\""
