#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Pods on a node bridge, the layout of the bridge CNI plugin (flannel's
# cni0, kubenet's cbr0) that CNI portmap's hostPorts come with.  The
# client pod mysql-c-0 and pod b/mysql-b-0 share the bridge; pod
# a/mysql-a-0 is routed as in the other tests.  Through the incident's
# rules (tests/lib/netns.sh):
#   - c -> Service a/mysql-a (IPv4, IPv6): the hostPort DNAT sends it to
#     b on the same bridge.  Its first packet is routed (the ClusterIP is
#     off the pod's subnet), b's answers are bridged straight back to c and
#     reach conntrack only through br_netfilter: natwho reports the
#     connection once, MISMATCH, from the client pod;
#   - c -> b directly: bridged from its first packet, so conntrack sees it
#     only through br_netfilter (bridge-nf-call-iptables, per namespace):
#     reported once, no translation, ok;
#   - c -> Service a/pg-a: routed to a, ok.
# No traffic leaves the test's namespaces.
NW_P=nwbr$$-
. "$(dirname "$0")/../lib/e2e.sh"

PODC=${NW_P}podc
NW_NS_EXTRA+=("$PODC")
POD_C=10.224.0.7
POD_C6=fd00:224::7

ip netns add "$NODE" || fail "cannot create network namespaces"
{
	nw_no_dad "$NODE" &&
		ip -n "$NODE" link set lo up &&
		ip -n "$NODE" addr add "$CLUSTER_IP_MYSQL/32" dev lo &&
		ip -n "$NODE" addr add "$CLUSTER_IP_PG/32" dev lo &&
		ip -n "$NODE" addr add "$CLUSTER_IP6_MYSQL/128" dev lo &&
		nw_in "$NODE" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 &&
		ip -n "$NODE" link add cni0 type bridge
} || fail "cannot set up the node namespace"
[ -r /proc/sys/net/bridge/bridge-nf-call-iptables ] ||
	unsupported "br_netfilter is not loaded (net.bridge.bridge-nf-call-iptables): the tests load no kernel module, and this one would send every bridge's traffic on the machine through iptables"
{
	ip -n "$NODE" link set cni0 up &&
		ip -n "$NODE" addr add 10.224.0.1/24 dev cni0 &&
		ip -n "$NODE" addr add fd00:224::1/64 dev cni0 nodad &&
		nw_in "$NODE" sysctl -qw net.bridge.bridge-nf-call-iptables=1 \
			net.bridge.bridge-nf-call-ip6tables=1 &&
		nw_pod_up "$PODB" vb "$POD_B" 10.224.0.1 "$POD_B6" fd00:224::1 cni0 &&
		nw_pod_up "$PODC" vc "$POD_C" 10.224.0.1 "$POD_C6" fd00:224::1 cni0 &&
		nw_pod_up "$PODA" va "$POD_A" 10.224.1.1 "$POD_A6" fd00:224:1::1 &&
		nw_rules_v4 | nw_in "$NODE" iptables-restore &&
		nw_rules_v6 | nw_in "$NODE" ip6tables-restore
} || fail "cannot build the bridge topology"
nw_servers_up "$CONNECT" || fail "servers did not start"
nw_bg "$PODB" "$CONNECT" listen :: 8080 "b-web"$'\n'
nw_wait_listening "$PODB" tcp 8080 || fail "no server on b:8080"

# A snapshot that also names the client pod c.
jq --arg ip "$POD_C" --arg ip6 "$POD_C6" '.items += [{"apiVersion": "v1", "kind": "Pod",
	"metadata": {"name": "mysql-c-0", "namespace": "c", "uid": "c0c0c0c0-0000-4000-8000-000000000007"},
	"spec": {"nodeName": "node-2"},
	"status": {"phase": "Running", "podIP": $ip, "podIPs": [{"ip": $ip}, {"ip": $ip6}]}}]' \
	"$E2E_ROOT/tests/lib/incident-snapshot.json" >"$TMP/snapshot.json" ||
	fail "cannot write the snapshot"

nw_natwho_start "$TMP/out.json" "$TMP/err" -o json --proto tcp --k8s "$TMP/snapshot.json" ||
	fail "natwho did not start"
answer() { # answer DST PORT WANT: c connects, and WANT answers
	local got
	got=$(nw_client "$PODC" timeout 10 "$CONNECT" connect "$1" "$2") ||
		fail "c -> $1:$2: no connection in 10 s"
	[ "$got" = "$3" ] || fail "c -> $1:$2 answered by '$got', want '$3'"
}
answer "$CLUSTER_IP_MYSQL" 3306 "mysql-b-0 (namespace b)"
answer "$CLUSTER_IP6_MYSQL" 3306 "mysql-b-0 (namespace b)"
answer "$POD_B" 8080 b-web
answer "$CLUSTER_IP_PG" 5432 "mysql-a-0 (namespace a) port 5432"
sleep 0.3
kill -INT "$NATWHO_PID"
wait_natwho 5 || fail "natwho exited with $?"

# one(FILTER): exactly one connection record matches
one() {
	local desc=$1 filter=$2 n
	n=$(jq -s "map(select(.type == \"conn\" and ($filter))) | length" "$TMP/out.json")
	[ "$n" = 1 ] || { cat "$TMP/out.json" >&2; fail "$desc: $n records, want 1"; }
	echo "ok: $desc"
}
from_c='.k8s.source.namespace == "c" and .k8s.source.name == "mysql-c-0" and .pid == null'
one "c -> Service a/mysql-a over IPv4: landed on b on the same bridge, MISMATCH, from pod c" \
	".orig.src == \"$POD_C\" and .orig.dst == \"$CLUSTER_IP_MYSQL\" and .dnat and
	 .landed.addr == \"$POD_B\" and .k8s.verdict == \"mismatch\" and
	 .k8s.via.kind == \"hostport\" and $from_c"
one "c -> Service a/mysql-a over IPv6: the same" \
	".orig.src == \"$POD_C6\" and .orig.dst == \"$CLUSTER_IP6_MYSQL\" and .dnat and
	 .landed.addr == \"$POD_B6\" and .k8s.verdict == \"mismatch\" and $from_c"
one "c -> b, bridged from its first packet: no translation, ok" \
	".orig.src == \"$POD_C\" and .orig.dst == \"$POD_B\" and .orig.dport == 8080 and
	 (.dnat | not) and (.snat | not) and .k8s.verdict == \"ok\" and $from_c"
one "c -> Service a/pg-a: routed to its endpoint, ok" \
	".orig.dst == \"$CLUSTER_IP_PG\" and .landed.addr == \"$POD_A\" and .k8s.verdict == \"ok\" and
	 $from_c"
expect_json "$TMP/out.json" "summary: 4 connections, 2 mismatches, 0 lost" \
	'.type == "summary" and .events == 4 and .mismatches == 2 and .lost == 0 and .undecodable == 0'
