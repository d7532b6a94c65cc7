#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# An encapsulation without --cgroup: a process of the node namespace sends
# UDP over a vxlan overlay (flannel's, calico's).  The kernel sends the
# outer packet, node:port -> peer:4789, from the same syscall and with the
# inner packet's socket (skb_scrub_packet() keeps skb->sk), so both flows
# look locally sent by that process.  natwho must name the process on the
# inner flow only, and --pid must not show the outer one.  A raw socket has
# no port of its own (its inet_num is its protocol): its flows, through the
# Service DNAT, keep their process, SOCK_RAW/IPPROTO_UDP and IP_HDRINCL
# (IPPROTO_RAW) alike.
NW_P=nwt$$-
. "$(dirname "$0")/../lib/e2e.sh"
. "$E2E_ROOT/tests/bench/cgroup_lib.sh" # the client pod namespace, the overlay's peer

cg_e2e_up
nw_vxlan_up "$PODC" 10.224.2.1 "$POD_C" || unsupported "cannot create a vxlan overlay here"

# send_over FILE ARGS...: natwho ARGS in the node namespace while a process
# there sends one datagram over the overlay (its pid in SENDER).
send_over() {
	local file=$1
	shift
	nw_natwho_start "$TMP/$file" "$TMP/$file.err" -o json "$@" || fail "natwho did not start"
	nw_vxlan_forget || fail "the overlay's conntrack entry could not be dropped"
	nw_client "$NODE" bash -c 'echo natwho >/dev/udp/10.251.0.2/9999' ||
		fail "could not send over the overlay"
	SENDER=$CLIENT_PID
	sleep 0.3
	kill -INT "$NATWHO_PID"
	wait_natwho 5 || fail "natwho exited with $?"
}

send_over all.json
expect_json "$TMP/all.json" "the inner flow, with its process ($SENDER)" \
	".type == \"conn\" and .proto == \"udp\" and .orig.dst == \"10.251.0.2\" and
	 .orig.dport == 9999 and .pid == $SENDER and .comm == \"bash\""
expect_json "$TMP/all.json" "the outer flow, without a process" \
	".type == \"conn\" and .proto == \"udp\" and .orig.dst == \"$POD_C\" and
	 .orig.dport == 4789 and .pid == null and .comm == null"

send_over pid.json --pid "$$"
expect_json "$TMP/pid.json" "--pid of a process that sent nothing: nothing" \
	".type == \"summary\" and .events == 0"
# --pid needs the pid first: the sender waits for natwho behind a fifo.
rm -f "$TMP/go"
mkfifo "$TMP/go"
nsenter --net="/var/run/netns/$NODE" -- bash -c \
	'read -r go <"$0"; echo natwho >/dev/udp/10.251.0.2/9999' "$TMP/go" &
waiter=$!
NW_PIDS+=("$waiter")
nw_natwho_start "$TMP/one.json" "$TMP/one.err" -o json --pid "$waiter" ||
	fail "natwho --pid did not start"
nw_vxlan_forget || fail "the overlay's conntrack entry could not be dropped"
echo go >"$TMP/go"
wait "$waiter" || fail "the sender behind the fifo failed"
sleep 0.3
kill -INT "$NATWHO_PID"
wait_natwho 5 || fail "natwho --pid exited with $?"
expect_json "$TMP/one.json" "--pid $waiter: its inner flow" \
	".type == \"conn\" and .orig.dport == 9999 and .pid == $waiter"
expect_json "$TMP/one.json" "--pid $waiter: not the outer one" \
	".type == \"summary\" and .events == 1 and .lost == 0"

# Raw sockets: a UDP datagram built by hand to the DNS Service, from source
# ports 40555 (IPPROTO_UDP) and 40556 (IPPROTO_RAW, our own IP header).
nw_natwho_start "$TMP/raw.json" "$TMP/raw.err" -o json --port 53 || fail "natwho did not start"
nw_client "$NODE" "$CONNECT" raw "$CLUSTER_IP_DNS" 53 40555 || fail "raw IPPROTO_UDP send"
raw_udp=$CLIENT_PID
nw_client "$NODE" "$CONNECT" hdrincl "$CLUSTER_IP_DNS" 53 40556 || fail "raw IPPROTO_RAW send"
raw_hdr=$CLIENT_PID
sleep 0.3
kill -INT "$NATWHO_PID"
wait_natwho 5 || fail "natwho exited with $?"
expect_json "$TMP/raw.json" "raw IPPROTO_UDP socket: its process ($raw_udp)" \
	".type == \"conn\" and .orig.sport == 40555 and .orig.dport == 53 and .pid == $raw_udp
	 and .dnat == true"
expect_json "$TMP/raw.json" "raw IPPROTO_RAW socket: its process ($raw_hdr)" \
	".type == \"conn\" and .orig.sport == 40556 and .orig.dport == 53 and .pid == $raw_hdr
	 and .dnat == true"
