#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# --cgroup and the sockets of the node namespace itself, which natwho asks
# whose cgroup they are:
# - an encapsulation: a process of a watched cgroup sends UDP over a vxlan
#   device (an overlay network: flannel, calico).  The kernel sends the
#   outer packet with the inner one's socket (skb_scrub_packet() keeps
#   skb->sk), so a backend that trusted any socket would name the outer
#   flow, node:port -> peer:4789, the process's.  natwho must show the inner
#   flow with the process and not the outer one.
# - a tuple used again: the join record of a closed socket of the cgroup
#   lives on (LRU); a process outside the cgroup that sends the very same
#   flow later is not the cgroup's: its socket says so.
NW_P=nwc$$-
. "$(dirname "$0")/../lib/e2e.sh"
. "$E2E_ROOT/tests/bench/cgroup_lib.sh"

cg_e2e_up
nw_servers_up "$CONNECT"
nw_vxlan_up "$PODC" 10.224.2.1 "$POD_C" || unsupported "cannot create a vxlan overlay here"

nw_natwho_start "$TMP/vx.json" "$TMP/vx.err" -o json --cgroup "$CG2" ||
	fail "natwho --cgroup did not start"
nw_vxlan_forget || fail "the overlay's conntrack entry could not be dropped"
nw_cg_run "$CG2" "$NODE" bash -c 'echo natwho >/dev/udp/10.251.0.2/9999' ||
	fail "the client in the cgroup could not send"
sender=$CG_PID
sleep 0.3
kill -INT "$NATWHO_PID"
wait_natwho 5 || fail "natwho --cgroup exited with $?"

expect_json "$TMP/vx.json" "the inner flow, with the sender ($sender)" \
	".type == \"conn\" and .proto == \"udp\" and .orig.dst == \"10.251.0.2\" and
	 .orig.dport == 9999 and .pid == $sender and .cgroup == $(stat -c %i "$CG2")"
expect_no_json "$TMP/vx.json" "no outer vxlan flow put down to the cgroup" \
	".type == \"conn\" and .orig.dport == 4789"
expect_json "$TMP/vx.json" "one event, none lost" \
	".type == \"summary\" and .events == 1 and .lost == 0"

# The same tuple twice: the cgroup's process first, then one outside it,
# after conntrack forgot the first flow.  To the pod's own address: the
# egress program records the tuple after the node's NAT, so only a flow
# that is not translated leaves a record that conntrack's tuple matches.
nw_natwho_start "$TMP/reuse.json" "$TMP/reuse.err" -o json --cgroup "$CG2" ||
	fail "natwho --cgroup did not start"
NW_CONNECT_SPORT=40999 nw_cg_run "$CG2" "$NODE" "$CONNECT" -u connect "$POD_A" 53 \
	>"$TMP/out" 2>&1
inside=$CG_PID
[[ $(<"$TMP/out") == dns-a-0* ]] || fail "the client in the cgroup got '$(<"$TMP/out")'"
nw_in "$NODE" conntrack -D -p udp --orig-port-src 40999 >/dev/null 2>&1 ||
	fail "conntrack -D of the first flow"
NW_CONNECT_SPORT=40999 nw_client "$NODE" "$CONNECT" -u connect "$POD_A" 53 >"$TMP/out"
outside=$CLIENT_PID
[[ $(<"$TMP/out") == dns-a-0* ]] || fail "the client outside got '$(<"$TMP/out")'"
sleep 0.3
kill -INT "$NATWHO_PID"
wait_natwho 5 || fail "natwho --cgroup exited with $?"
expect_json "$TMP/reuse.json" "the cgroup's flow from port 40999 (pid $inside)" \
	".type == \"conn\" and .orig.sport == 40999 and .pid == $inside"
expect_json "$TMP/reuse.json" "only that one: the same tuple from outside (pid $outside) is not theirs" \
	".type == \"summary\" and .events == 1 and .lost == 0"
