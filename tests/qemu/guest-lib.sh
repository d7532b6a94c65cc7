# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash
#
# Helpers for scenarios running inside the QEMU guest; mkinitramfs.sh installs
# this file as /test/guest-lib.sh.  Source it from a bash scenario:
#
#   . /test/guest-lib.sh
#   nwq_topology_up
#
# Topology (all inside the guest): the guest's own namespace is the "node"
# and routes between a client and a server namespace.
#
#   nwq-cli  eth0 10.77.0.2/24 --veth-- nwq-c0 10.77.0.1  (node)
#   nwq-srv  eth0 10.78.0.2/24 --veth-- nwq-s0 10.78.0.1  (node)

NWQ_CLI_IP=10.77.0.2
NWQ_SRV_IP=10.78.0.2

nwq_log() { printf '[%s] %s\n' "$(cut -d' ' -f1 /proc/uptime)" "$*"; }

nwq_fail() {
	printf 'FAIL: %s\n' "$*"
	[ -n "${NATWHO_NOTE:-}" ] && printf '%s\n' "$*" > "$NATWHO_NOTE"
	exit 1
}

# Report the scenario as unsupported on this kernel (exit 77), with a reason.
nwq_skip() {
	printf 'SKIP: %s\n' "$*"
	[ -n "${NATWHO_NOTE:-}" ] && printf '%s\n' "$*" > "$NATWHO_NOTE"
	exit 77
}

# Run "$@", failing the scenario with its output when it fails.
nwq_run() {
	local out
	if ! out=$("$@" 2>&1); then
		printf '%s\n' "$out"
		nwq_fail "command failed: $*"
	fi
	[ -z "$out" ] || printf '%s\n' "$out"
}

# nwq_link NS IFACE NODE_IP NS_IP: a veth pair NODE_IFACE <-> NS/eth0.
nwq_link() {
	local ns=$1 node_if=$2 node_ip=$3 ns_ip=$4
	nwq_run ip netns add "$ns"
	nwq_run ip link add "$node_if" type veth peer name eth0 netns "$ns"
	nwq_run ip addr add "$node_ip/24" dev "$node_if"
	nwq_run ip link set "$node_if" up
	nwq_run ip -n "$ns" addr add "$ns_ip/24" dev eth0
	nwq_run ip -n "$ns" link set eth0 up
	nwq_run ip -n "$ns" link set lo up
	nwq_run ip -n "$ns" route add default via "$node_ip"
}

nwq_topology_up() {
	nwq_link nwq-cli nwq-c0 10.77.0.1 "$NWQ_CLI_IP"
	nwq_link nwq-srv nwq-s0 10.78.0.1 "$NWQ_SRV_IP"
	echo 1 > /proc/sys/net/ipv4/ip_forward
}

# nwq_serve PORT FILE: one TCP connection accepted in nwq-srv, data to FILE.
nwq_serve() {
	ip netns exec nwq-srv timeout 20 nc -l -p "$1" > "$2" 2>&1 &
	sleep 0.3
}

# nwq_connect IP PORT: from nwq-cli, connect, send "hello", close.
nwq_connect() {
	echo hello | ip netns exec nwq-cli timeout 10 nc -w 3 "$1" "$2"
}

# The conntrack entries of the node namespace (text of /proc/net/nf_conntrack).
nwq_conntrack() {
	[ -r /proc/net/nf_conntrack ] || nwq_fail "no /proc/net/nf_conntrack"
	cat /proc/net/nf_conntrack
}
