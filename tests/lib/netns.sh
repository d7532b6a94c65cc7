# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Throwaway network namespaces reproducing the incident (../shared/incident.md)
# for natwho's end-to-end tests, demo and benchmarks.  Source it, then call
# nw_topology_up; nw_cleanup (installed as an EXIT trap) removes every
# namespace and process this shell created, also when a test fails.
#
#   node ns "${NW_P}node": the Kubernetes node.  "ClusterIPs" on lo (as IPVS
#     binds them to kube-ipvs0: local addresses), kube-proxy-style Service
#     rules, and a CNI portmap hostPort chain hooked ahead of KUBE-SERVICES.
#   pod ns "${NW_P}poda": mysql-a-0 of namespace a, 10.224.1.5 / fd00:224:1::5
#   pod ns "${NW_P}podb": mysql-b-0 of namespace b, 10.224.0.222 / fd00:224::222
#     (hostPort 3306)
#
# No traffic ever leaves these namespaces.

NW_P=${NW_P:-nw$$-}
NODE=${NW_P}node
PODA=${NW_P}poda
PODB=${NW_P}podb
NW_PIDS=()
NW_NS_EXTRA=() # more namespaces a test made (named "${NW_P}..."), removed too

CLUSTER_IP_MYSQL=10.96.0.20
CLUSTER_IP_PG=10.96.0.30
CLUSTER_IP_DNS=10.96.0.10
CLUSTER_IP_ALT=10.96.0.40
CLUSTER_IP6_MYSQL=fd00:96::20
CLUSTER_IP6_DNS=fd00:96::10
POD_A=10.224.1.5
POD_B=10.224.0.222
POD_A6=fd00:224:1::5
POD_B6=fd00:224::222
SANDBOX_B=4f1c2e9a7d3b8c6e5f0a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5a6

nw_in() { # run in a namespace without remounting /sys (keeps cgroup mounts)
	local ns=$1
	shift
	nsenter --net="/var/run/netns/$ns" -- "$@"
}

nw_bg() { # nw_bg NS CMD...: start CMD in NS in the background, remember its pid
	local ns=$1
	shift
	nsenter --net="/var/run/netns/$ns" -- "$@" &
	NW_PIDS+=($!)
}

nw_cleanup() {
	local pid ns i
	for pid in "${NW_PIDS[@]}"; do # a stopped process (SIGSTOP) needs CONT
		kill -CONT "$pid" 2>/dev/null || true
		kill "$pid" 2>/dev/null || true
		pkill -P "$pid" 2>/dev/null || true # a loop's current client, a CMD
	done
	for i in $(seq 1 30); do # up to 3 s, then SIGKILL: never hang here
		pid=""
		for pid in "${NW_PIDS[@]}"; do
			kill -0 "$pid" 2>/dev/null && break
			pid=""
		done
		[ -z "$pid" ] && break
		sleep 0.1
	done
	for pid in "${NW_PIDS[@]}"; do
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	NW_PIDS=()
	for ns in "$NODE" "$PODA" "$PODB"; do
		ip netns del "$ns" 2>/dev/null || true
	done
	for ns in "${NW_NS_EXTRA[@]}"; do # a test may have mounted one over another
		for i in 1 2 3 4; do
			umount "/var/run/netns/$ns" 2>/dev/null || break
		done
		rm -f "/var/run/netns/$ns"
	done
	# Nothing of this test may stay: a namespace left behind fails it.
	if ip netns list | grep -q "^$NW_P"; then
		echo "FAIL: namespaces left behind: $(ip netns list | grep "^$NW_P" | tr '\n' ' ')" >&2
		return 1
	fi
}

# As an EXIT trap: what nw_cleanup left behind fails the script.
nw_cleanup_trap() {
	nw_cleanup || exit 1
}

nw_no_dad() { # IPv6 addresses usable at once: no duplicate address detection
	nw_in "$1" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
}

# nw_client NS CMD...: run CMD in NS in the foreground; its pid in CLIENT_PID
nw_client() {
	local ns=$1
	shift
	nsenter --net="/var/run/netns/$ns" -- "$@" &
	CLIENT_PID=$!
	wait "$CLIENT_PID"
}

# Every step checked (&&): callers use `|| fail`, where set -e is off.
# With BRIDGE the node side joins that bridge (which has the gateways'
# addresses) instead of taking them itself: the bridge CNI plugin's layout.
nw_pod_up() { # name node-side-ifname v4 v4gw v6 v6gw [BRIDGE]
	local ns=$1 veth=$2 a4=$3 gw4=$4 a6=$5 gw6=$6 br=${7:-}
	ip netns add "$ns" &&
		nw_no_dad "$ns" &&
		ip -n "$NODE" link add "$veth" type veth peer name eth0 netns "$ns" &&
		ip -n "$ns" link set lo up &&
		ip -n "$ns" link set eth0 up &&
		ip -n "$ns" addr add "$a4/24" dev eth0 &&
		ip -n "$ns" addr add "$a6/64" dev eth0 nodad &&
		ip -n "$ns" route add default via "$gw4" &&
		ip -n "$ns" -6 route add default via "$gw6" &&
		ip -n "$NODE" link set "$veth" up &&
		if [ -n "$br" ]; then
			ip -n "$NODE" link set "$veth" master "$br"
		else
			ip -n "$NODE" addr add "$gw4/24" dev "$veth" &&
				ip -n "$NODE" addr add "$gw6/64" dev "$veth" nodad
		fi
}

# The cgroup v2 mount: /sys/fs/cgroup/unified in a hybrid layout, else the
# first one; empty when there is none.
nw_cgroup_root() {
	if [ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then
		echo /sys/fs/cgroup/unified
	else
		awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts
	fi
}

# nw_cg_run DIR NS CMD...: run CMD inside cgroup DIR and namespace NS, in the
# foreground; its pid (the same through the exec chain) in CG_PID.  It joins
# the cgroup first and then enters the namespace with nsenter (`ip netns
# exec` remounts /sys and would hide the cgroup file system).
nw_cg_run() {
	bash -c 'echo $$ >"$0/cgroup.procs" || exit 126; ns=$1; shift
		exec nsenter --net="/var/run/netns/$ns" -- "$@"' "$@" &
	CG_PID=$!
	wait "$CG_PID"
}

# nw_vxlan_up PEER NODE-ADDR PEER-ADDR: an overlay (flannel's, calico's vxlan)
# between the node namespace and pod namespace PEER, over their veth
# (NODE-ADDR and PEER-ADDR its ends): nwvx0 with 10.251.0.1 in the node
# namespace and 10.251.0.2 in PEER, the peer's neighbour entry static and no
# IPv6 on it, so that only a test's own datagrams cross it.  One outer
# source port, 5000, below the ephemeral range: never an inner socket's.
# nw_vxlan_forget drops the outer flow's conntrack entry, so that the next
# datagram opens it anew.
nw_vxlan_forget() { # fails when the entry is still there (or conntrack cannot say)
	local left
	nw_in "$NODE" conntrack -D -p udp --orig-port-dst 4789 >/dev/null 2>&1 # 1: none to delete
	left=$(nw_in "$NODE" conntrack -L -p udp --orig-port-dst 4789 2>/dev/null) || return 1
	[ -z "$left" ]
}

nw_vxlan_up() {
	local peer=$1 mac
	nw_vxlan_dev "$NODE" "$2" "$3" 10.251.0.1 &&
		nw_vxlan_dev "$peer" "$3" "$2" 10.251.0.2 &&
		mac=$(ip -n "$peer" -j link show nwvx0 | jq -r '.[0].address') &&
		ip -n "$NODE" neigh replace 10.251.0.2 lladdr "$mac" dev nwvx0 nud permanent
}

nw_vxlan_dev() { # NS LOCAL REMOTE OVERLAY-ADDR
	ip -n "$1" link add nwvx0 type vxlan id 42 local "$2" remote "$3" dstport 4789 \
		srcport 5000 5001 &&
		nw_in "$1" sysctl -qw net.ipv6.conf.nwvx0.disable_ipv6=1 &&
		ip -n "$1" addr add "$4/24" dev nwvx0 &&
		ip -n "$1" link set nwvx0 up
}

nw_rules_v4() {
	cat <<EOR
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:CNI-HOSTPORT-DNAT - [0:0]
:CNI-DN-9f2c6b1e4d8a7035c1e2f - [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-SVC-QCLMJZ4NW7VN5GTC - [0:0]
:KUBE-SEP-B3QXQ6VYPX6AO4RH - [0:0]
:KUBE-SVC-6YQ3CLPB2OWDCPKD - [0:0]
:KUBE-SEP-2VRTPN4TQ7ONUC3B - [0:0]
:KUBE-SVC-TCOU7JCQXEZGVUNU - [0:0]
:KUBE-SEP-XKD3HGZ5LNW2RJVA - [0:0]
:KUBE-SVC-W2LXDRNHY4QCSAQO - [0:0]
:KUBE-SEP-KQZD4YN6M3HBRR7E - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT
-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \"cbr0\" id: \"$SANDBOX_B\"" -m multiport --dports 3306 -j CNI-DN-9f2c6b1e4d8a7035c1e2f
-A CNI-DN-9f2c6b1e4d8a7035c1e2f -p tcp -m tcp --dport 3306 -j DNAT --to-destination $POD_B:3306
-A KUBE-SERVICES -d $CLUSTER_IP_MYSQL/32 -p tcp -m comment --comment "a/mysql-a:mysql cluster IP" -m tcp --dport 3306 -j KUBE-SVC-QCLMJZ4NW7VN5GTC
-A KUBE-SERVICES -d $CLUSTER_IP_PG/32 -p tcp -m comment --comment "a/pg-a:pg cluster IP" -m tcp --dport 5432 -j KUBE-SVC-6YQ3CLPB2OWDCPKD
-A KUBE-SERVICES -d $CLUSTER_IP_DNS/32 -p udp -m comment --comment "a/dns:dns cluster IP" -m udp --dport 53 -j KUBE-SVC-TCOU7JCQXEZGVUNU
-A KUBE-SERVICES -d $CLUSTER_IP_ALT/32 -p tcp -m comment --comment "a/mysql-alt:mysql cluster IP" -m tcp --dport 13306 -j KUBE-SVC-W2LXDRNHY4QCSAQO
-A KUBE-SVC-QCLMJZ4NW7VN5GTC -m comment --comment "a/mysql-a:mysql -> $POD_A:3306" -j KUBE-SEP-B3QXQ6VYPX6AO4RH
-A KUBE-SEP-B3QXQ6VYPX6AO4RH -p tcp -m comment --comment "a/mysql-a:mysql" -m tcp -j DNAT --to-destination $POD_A:3306
-A KUBE-SVC-6YQ3CLPB2OWDCPKD -m comment --comment "a/pg-a:pg -> $POD_A:5432" -j KUBE-SEP-2VRTPN4TQ7ONUC3B
-A KUBE-SEP-2VRTPN4TQ7ONUC3B -p tcp -m comment --comment "a/pg-a:pg" -m tcp -j DNAT --to-destination $POD_A:5432
-A KUBE-SVC-TCOU7JCQXEZGVUNU -m comment --comment "a/dns:dns -> $POD_A:53" -j KUBE-SEP-XKD3HGZ5LNW2RJVA
-A KUBE-SEP-XKD3HGZ5LNW2RJVA -p udp -m comment --comment "a/dns:dns" -m udp -j DNAT --to-destination $POD_A:53
-A KUBE-SVC-W2LXDRNHY4QCSAQO -m comment --comment "a/mysql-alt:mysql -> $POD_A:3306" -j KUBE-SEP-KQZD4YN6M3HBRR7E
-A KUBE-SEP-KQZD4YN6M3HBRR7E -p tcp -m comment --comment "a/mysql-alt:mysql" -m tcp -j DNAT --to-destination $POD_A:3306
COMMIT
EOR
}

nw_rules_v6() {
	cat <<EOR
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:CNI-HOSTPORT-DNAT - [0:0]
:CNI-DN-9f2c6b1e4d8a7035c1e2f - [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-SVC-QCLMJZ4NW7VN5GTC - [0:0]
:KUBE-SEP-HF3WZ2QJ6OBMHLLT - [0:0]
:KUBE-SVC-TCOU7JCQXEZGVUNU - [0:0]
:KUBE-SEP-7ZJ5CDUWFHS6YD2M - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT
-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \"cbr0\" id: \"$SANDBOX_B\"" -m multiport --dports 3306 -j CNI-DN-9f2c6b1e4d8a7035c1e2f
-A CNI-DN-9f2c6b1e4d8a7035c1e2f -p tcp -m tcp --dport 3306 -j DNAT --to-destination [$POD_B6]:3306
-A KUBE-SERVICES -d $CLUSTER_IP6_MYSQL/128 -p tcp -m comment --comment "a/mysql-a:mysql cluster IP" -m tcp --dport 3306 -j KUBE-SVC-QCLMJZ4NW7VN5GTC
-A KUBE-SVC-QCLMJZ4NW7VN5GTC -m comment --comment "a/mysql-a:mysql -> [$POD_A6]:3306" -j KUBE-SEP-HF3WZ2QJ6OBMHLLT
-A KUBE-SEP-HF3WZ2QJ6OBMHLLT -p tcp -m comment --comment "a/mysql-a:mysql" -m tcp -j DNAT --to-destination [$POD_A6]:3306
-A KUBE-SERVICES -d $CLUSTER_IP6_DNS/128 -p udp -m comment --comment "a/dns:dns cluster IP" -m udp --dport 53 -j KUBE-SVC-TCOU7JCQXEZGVUNU
-A KUBE-SVC-TCOU7JCQXEZGVUNU -m comment --comment "a/dns:dns -> [$POD_A6]:53" -j KUBE-SEP-7ZJ5CDUWFHS6YD2M
-A KUBE-SEP-7ZJ5CDUWFHS6YD2M -p udp -m comment --comment "a/dns:dns" -m udp -j DNAT --to-destination [$POD_A6]:53
COMMIT
EOR
}

# Build the incident.  With "nohostport", leave out the portmap rules (the
# control case: the Service works).
nw_topology_up() {
	local mode=${1:-incident}
	local drop='^$' # nothing
	[ -n "$(trap -p EXIT)" ] || trap nw_cleanup_trap EXIT # callers may have their own
	[ "$mode" != nohostport ] || drop='CNI-HOSTPORT-DNAT\|CNI-DN'
	# Every step checked (&&): callers use `|| fail`, where set -e is off.
	ip netns add "$NODE" &&
		nw_no_dad "$NODE" &&
		ip -n "$NODE" link set lo up &&
		ip -n "$NODE" addr add "$CLUSTER_IP_MYSQL/32" dev lo &&
		ip -n "$NODE" addr add "$CLUSTER_IP_PG/32" dev lo &&
		ip -n "$NODE" addr add "$CLUSTER_IP_DNS/32" dev lo &&
		ip -n "$NODE" addr add "$CLUSTER_IP_ALT/32" dev lo &&
		ip -n "$NODE" addr add "$CLUSTER_IP6_MYSQL/128" dev lo &&
		ip -n "$NODE" addr add "$CLUSTER_IP6_DNS/128" dev lo &&
		nw_in "$NODE" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
			>/dev/null &&
		nw_pod_up "$PODA" va 10.224.1.5 10.224.1.1 fd00:224:1::5 fd00:224:1::1 &&
		nw_pod_up "$PODB" vb 10.224.0.222 10.224.0.1 fd00:224::222 fd00:224::1 &&
		nw_rules_v4 | grep -v -e "$drop" | nw_in "$NODE" iptables-restore &&
		nw_rules_v6 | grep -v -e "$drop" | nw_in "$NODE" ip6tables-restore
}

# Servers that say who they are.
nw_servers_up() {
	local tool=$1
	nw_bg "$PODA" "$tool" listen :: 3306 "mysql-a-0 (namespace a)"$'\n'
	nw_bg "$PODA" "$tool" listen :: 5432 "mysql-a-0 (namespace a) port 5432"$'\n'
	nw_bg "$PODA" "$tool" -u listen :: 53 "dns-a-0 (namespace a)"$'\n'
	nw_bg "$PODB" "$tool" listen :: 3306 "mysql-b-0 (namespace b)"$'\n'
	nw_wait_listening "$PODA" tcp 3306 && nw_wait_listening "$PODA" tcp 5432 &&
		nw_wait_listening "$PODA" udp 53 && nw_wait_listening "$PODB" tcp 3306
}

# nw_wait_listening NS tcp|udp PORT: until a socket is bound there (5 s at most).
nw_wait_listening() {
	local ns=$1 proto=$2 port=$3 i
	for i in $(seq 1 100); do
		nsenter --net="/var/run/netns/$ns" -- ss -Hn --"$proto" -l "sport = :$port" 2>/dev/null |
			grep -q . &&
			return 0
		sleep 0.05
	done
	echo "no $proto server on port $port in $ns after 5 s" >&2
	return 1
}

# Start natwho in the node namespace; wait until it has attached.
# nw_natwho_start OUTFILE ERRFILE ARGS...  -> sets NATWHO_PID
# nw_backend_of ERRFILE: the backend natwho -v said it traces with.
nw_backend_of() {
	sed -n 's/^natwho: tracing with backend \([a-z]*\),.*/\1/p' "$1" | head -1
}

nw_natwho_start() {
	local out=$1 err=$2 i
	shift 2
	# --netns: the fentry/kprobe backends (a Debian 12 kernel has no
	# netfilter links) see every namespace; the counts here are the node's.
	# Emptied first: a file of an earlier run holds "tracing with backend".
	: >"$err"
	nsenter --net="/var/run/netns/$NODE" -- "$NATWHO" -v --netns "/var/run/netns/$NODE" "$@" \
		>"$out" 2>"$err" &
	NATWHO_PID=$!
	NW_PIDS+=("$NATWHO_PID")
	for i in $(seq 1 400); do # 20 s: four rule dumps and the BPF loads come first
		grep -q "tracing with backend" "$err" 2>/dev/null && return 0
		kill -0 "$NATWHO_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "natwho did not start:" >&2
	cat "$err" >&2
	return 1
}
