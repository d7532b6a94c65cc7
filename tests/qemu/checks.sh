# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash
#
# checks.sh: natwho's end-to-end checks of ONE capture backend, the same on
# the host (tests/e2e/backends.sh) and inside the QEMU guests
# (tests/qemu/scenarios/backend.sh, where this file is /test/checks.sh).
# Source tests/lib/netns.sh first, then this file, and set:
#   NATWHO   natwho binary        CONNECT  nw-connect binary
#   NWC_TMP  a scratch directory
#
#   nwc_support BACKEND   0: it attaches here; 77: natwho says this kernel
#                         cannot (NWC_REASON says why); 1: another error
#   nwc_e2e BACKEND       the host suite's scenarios on the iptables-mode
#                         incident topology of netns.sh: IPv4+IPv6, TCP+UDP
#                         through a DNAT, pid/comm, a forwarded connection,
#                         --port, --addr, --count, --pid, --netns (path and
#                         inode), --cgroup of node processes (TCP, UDP), a vxlan
#                         overlay's outer flow without the sender's process
#   nwc_noconntrack BACKEND  nf_conntrack is a module and not loaded (boot
#                         with natwho.modules=0): natwho says so, exit 4;
#                         once loaded, the backend attaches (77 when it
#                         cannot on this kernel even then, as nwc_support)
#   nwc_vrf BACKEND       a local connection from a VRF (the packet passes
#                         the hooks on the VRF device, untracked since Linux
#                         5.16, then on the real one): reported once, with
#                         the SNAT of the real device (77 when the kernel has
#                         no VRF)
#   nwc_ctfull BACKEND    conntrack's table full in the node namespace
#                         (net.netfilter.nf_conntrack_max lowered for the
#                         guest, then restored): natwho says how many packets
#                         conntrack dropped, live, in JSON and in the replay
#                         of its capture
#   nwc_incident BACKEND  the incident exactly as reported: kube-proxy in IPVS
#                         mode (ip_vs, ipvsadm, kube-ipvs0 dummy) plus the
#                         portmap hostPort DNAT ahead of KUBE-SERVICES; then
#                         the control case without the hostPort rule, whose
#                         view through the backend is printed as "observed:";
#                         natwho's verdicts without a snapshot: the hostPort's
#                         MISMATCH, IPVS's real server OK by IPVS's table
#                         (/proc/net/ip_vs), live and in the replay; natwho
#                         audit finding the hostPort by that table; the same
#                         for a NodePort of the hostPort's number (IPVS's
#                         virtual service on a node address)
#
# Every check prints "ok: ..." or "FAIL: ..."; nwc_e2e and nwc_incident
# return the number of failed checks.  The caller owns cleanup (nw_cleanup).

NWC_FAILED=0

nwc_ok() { echo "ok: $NWC_BACKEND: $*"; }

nwc_fail() {
	echo "FAIL: $NWC_BACKEND: $*"
	NWC_FAILED=$((NWC_FAILED + 1))
}

# What the last natwho run wrote, for a failed check.
nwc_dump() {
	echo "--- natwho stdout ($NWC_OUT):"
	cat "$NWC_OUT"
	echo "--- natwho stderr:"
	cat "$NWC_ERR"
	echo "---"
}

nwc_support() {
	local rc=0
	"$NATWHO" --backend "$1" -d 100ms >/dev/null 2>"$NWC_TMP/support.err" || rc=$?
	NWC_REASON=$(sed -n 's/^Error: no backend could attach: [a-z]*: //p' "$NWC_TMP/support.err" |
		     head -n 1)
	case $rc in
	0) return 0 ;;
	4) return 77 ;;
	*)
		NWC_REASON="natwho exited $rc: $(head -c 400 "$NWC_TMP/support.err")"
		return 1 ;;
	esac
}

# nwc_start NAME NS ARGS...: natwho -v -o json --backend $NWC_BACKEND ARGS in
# namespace NS ("-": this one), returning once it has attached.
nwc_start() {
	local name=$1 ns=$2 i
	shift 2
	NWC_OUT=$NWC_TMP/$name.json NWC_ERR=$NWC_TMP/$name.err
	if [ "$ns" = - ]; then
		"$NATWHO" -v -o json --backend "$NWC_BACKEND" "$@" >"$NWC_OUT" 2>"$NWC_ERR" &
	else
		nsenter --net="/var/run/netns/$ns" -- \
			"$NATWHO" -v -o json --backend "$NWC_BACKEND" "$@" >"$NWC_OUT" 2>"$NWC_ERR" &
	fi
	NATWHO_PID=$!
	NW_PIDS+=("$NATWHO_PID")
	for i in $(seq 1 400); do
		grep -q "tracing with backend" "$NWC_ERR" 2>/dev/null && return 0
		kill -0 "$NATWHO_PID" 2>/dev/null || break
		sleep 0.05
	done
	nwc_fail "$name: natwho did not start"
	nwc_dump
	return 1
}

# nwc_stop [SECONDS]: give natwho SECONDS to exit by itself (--count), then
# SIGINT it.  NWC_SELF is 1 when it had exited by itself; NWC_RC its status.
nwc_stop() {
	local limit=${1:-0} i
	for ((i = 0; i < limit * 20; i++)); do
		kill -0 "$NATWHO_PID" 2>/dev/null || break
		sleep 0.05
	done
	NWC_SELF=1
	if kill -0 "$NATWHO_PID" 2>/dev/null; then
		NWC_SELF=0
		kill -INT "$NATWHO_PID"
	fi
	NWC_RC=0
	wait "$NATWHO_PID" || NWC_RC=$?
}

# nwc_client NS ARGS...: nw-connect ARGS in namespace NS.  NWC_CPID is its pid
# (nsenter execs it), NWC_REPLY what the server answered.
nwc_client() {
	local ns=$1
	shift
	nsenter --net="/var/run/netns/$ns" -- "$CONNECT" "$@" >"$NWC_TMP/reply" 2>&1 &
	NWC_CPID=$!
	wait "$NWC_CPID"
	NWC_REPLY=$(cat "$NWC_TMP/reply")
}

# nwc_count JQ: conn records of the last run matching JQ.
nwc_count() {
	jq -s "map(select(.type == \"conn\" and ($1))) | length" "$NWC_OUT"
}

# nwc_expect DESC N JQ: exactly N conn records of the last run match JQ.
nwc_expect() {
	local desc=$1 want=$2 got
	got=$(nwc_count "$3" 2>&1)
	if [ "$got" = "$want" ]; then
		nwc_ok "$desc"
	else
		nwc_fail "$desc: $got records match, want $want: $3"
		nwc_dump
	fi
}

# nwc_expect_reply DESC WORD: the server that answered the last client.
nwc_expect_reply() {
	case $NWC_REPLY in
	*"$2"*) nwc_ok "$1 (answered: $NWC_REPLY)" ;;
	*) nwc_fail "$1: the server said '$NWC_REPLY', want $2" ;;
	esac
}

# After nwc_stop: natwho exited 0 and wrote its summary (a check of "no
# records" means nothing if natwho died right after attaching).
nwc_expect_clean_end() {
	if [ "$NWC_RC" = 0 ]; then
		nwc_ok "$1: natwho exited 0"
	else
		nwc_fail "$1: natwho exited $NWC_RC"
	fi
	nwc_expect_json_summary "$1: summary, none lost or undecodable" \
		".lost == 0 and .undecodable == 0"
}

nwc_expect_clean_summary() {
	nwc_expect_json_summary "summary: $1 events, none lost or undecodable" \
		".events == $1 and .lost == 0 and .undecodable == 0"
}

nwc_expect_json_summary() {
	if jq -e -s "map(select(.type == \"summary\" and ($2))) | length == 1" "$NWC_OUT" \
		>/dev/null 2>&1; then
		nwc_ok "$1"
	else
		nwc_fail "$1"
		nwc_dump
	fi
}

# jq: the fields every event of this backend carries for a new connection
# confirmed at POST_ROUTING (the hook, the verdict where there is one), and
# the entry's fields read beside the tuples: no test sets a conntrack mark or
# zone, the status bits all lie below 0x10000, and fentry/kprobe see the
# entry after confirmation (IPS_CONFIRMED, 0x8, set), netfilter just before.
nwc_common() {
	local fields='.ct_status < 65536 and (.mark // 0) == 0 and (.zone // 0) == 0'
	case $NWC_BACKEND in
	netfilter) echo ".backend == \"netfilter\" and .hook == \"postrouting\" and has(\"confirm\") == false and (.ct_status / 8 | floor) % 2 == 0 and $fields" ;;
	*) echo ".backend == \"$NWC_BACKEND\" and .hook == \"confirm\" and .confirm == \"accepted\" and (.ct_status / 8 | floor) % 2 == 1 and $fields" ;;
	esac
}

nwc_netns_inode() {
	stat -L -c %i "/var/run/netns/$1"
}

nwc_init() {
	NWC_BACKEND=$1
	NWC_FAILED=0
	NODE_INO=$(nwc_netns_inode "$NODE")
}

# IPv4/IPv6, TCP/UDP through the DNAT, pid/comm, a forwarded connection.
# kprobe: the hits the kernel skips count as lost where the links' info
# says them (Linux >= 6.7), and -v says which (natwho ran with -v); the
# counters were read at the end (no warning that they could not be).
nwc_kprobe_missed() {
	local major minor want
	[ "$NWC_BACKEND" = kprobe ] || return 0
	IFS=. read -r major minor _ <<<"$(uname -r)"
	if [ "$major" -gt 6 ] || { [ "$major" -eq 6 ] && [ "$minor" -ge 7 ]; }; then
		want="count as lost (link info)"
	else
		want="are not counted: Linux before 6.7 does not report them"
	fi
	if grep -qF "kprobe: probe hits the kernel skips (a nested hit, a kretprobe out of instances) $want" \
		"$NWC_ERR" && ! grep -q "cannot read the loss counter" "$NWC_ERR"; then
		nwc_ok "skipped probe hits on $(uname -r): $want"
	else
		nwc_fail "skipped probe hits on $(uname -r): want '$want'"
		nwc_dump
	fi
}

nwc_e2e_dnat() {
	local c pid4 pidu pid6
	c=$(nwc_common)
	nwc_start dnat "$NODE" || return
	nwc_client "$NODE" connect "$CLUSTER_IP_MYSQL" 3306
	pid4=$NWC_CPID
	nwc_expect_reply "IPv4 TCP ClusterIP:3306 hijacked" "mysql-b-0"
	nwc_client "$NODE" -u connect "$CLUSTER_IP_DNS" 53
	pidu=$NWC_CPID
	nwc_expect_reply "IPv4 UDP DNS ClusterIP" "dns-a-0"
	nwc_client "$NODE" connect "$CLUSTER_IP6_MYSQL" 3306
	pid6=$NWC_CPID
	nwc_expect_reply "IPv6 TCP ClusterIP:3306 hijacked" "mysql-b-0"
	nwc_client "$PODB" connect "$CLUSTER_IP_PG" 5432
	nwc_expect_reply "forwarded pod connection" "port 5432"
	nwc_stop 1
	nwc_kprobe_missed
	nwc_expect "IPv4 TCP to ClusterIP:3306 landed on pod B, pid/comm of the client" 1 \
		"$c and .family == \"ipv4\" and .proto == \"tcp\" and .orig.dst == \"$CLUSTER_IP_MYSQL\"
		 and .orig.dport == 3306 and .landed.addr == \"$POD_B\" and .landed.port == 3306
		 and .dnat == true and .snat == false and .pid == $pid4 and .comm == \"nw-connect\"
		 and .netns == $NODE_INO"
	nwc_expect "IPv4 UDP to DNS ClusterIP landed on pod A, pid/comm" 1 \
		"$c and .proto == \"udp\" and .orig.dst == \"$CLUSTER_IP_DNS\" and .orig.dport == 53
		 and .landed.addr == \"$POD_A\" and .landed.port == 53 and .pid == $pidu
		 and .comm == \"nw-connect\" and .netns == $NODE_INO"
	nwc_expect "IPv6 TCP to ClusterIP:3306 landed on pod B, pid/comm" 1 \
		"$c and .family == \"ipv6\" and .proto == \"tcp\" and .orig.dst == \"$CLUSTER_IP6_MYSQL\"
		 and .landed.addr == \"$POD_B6\" and .landed.port == 3306 and .pid == $pid6
		 and .comm == \"nw-connect\" and .netns == $NODE_INO"
	nwc_expect "forwarded connection (pod B -> pg ClusterIP): no process" 1 \
		"$c and .orig.src == \"$POD_B\" and .orig.dst == \"$CLUSTER_IP_PG\"
		 and .landed.addr == \"$POD_A\" and .landed.port == 5432 and .pid == null
		 and .comm == null and .netns == $NODE_INO"
	nwc_expect_clean_summary "$(nwc_count true)"
}

# --port: original or translated port; other connections never show up.
nwc_e2e_port() {
	nwc_start port "$NODE" --port 5432 -c 1 || return
	nwc_client "$NODE" connect "$CLUSTER_IP_MYSQL" 3306
	nwc_client "$NODE" -u connect "$CLUSTER_IP_DNS" 53
	nwc_client "$PODB" connect "$CLUSTER_IP_PG" 5432
	nwc_stop 5
	[ "$NWC_SELF" = 1 ] && [ "$NWC_RC" = 0 ] && nwc_ok "--port 5432 -c 1: exited 0 by itself" ||
		nwc_fail "--port 5432 -c 1: self-exit=$NWC_SELF status=$NWC_RC"
	nwc_expect "--port 5432: the 5432 connection" 1 ".orig.dport == 5432"
	nwc_expect "--port 5432: nothing else" 0 ".orig.dport != 5432 and .landed.port != 5432"
}

# --addr: an address of either end, before or after NAT; an IPv4 address
# and an IPv6 prefix in one list; other connections never show up.  The
# list at its limit, 16 (with 14 that match nothing, IPv4 and IPv6): what
# the verifier walks is the most it will be asked to.
nwc_e2e_addr() {
	local list="$POD_B,fd00:96::/64" i
	for i in $(seq 1 7); do
		list+=",192.0.2.$i,2001:db8::$i"
	done
	nwc_start addr "$NODE" --addr "$list" || return
	nwc_client "$NODE" connect "$CLUSTER_IP_MYSQL" 3306
	nwc_client "$NODE" -u connect "$CLUSTER_IP_DNS" 53
	nwc_client "$NODE" connect "$CLUSTER_IP6_MYSQL" 3306
	nwc_client "$NODE" connect "$CLUSTER_IP_PG" 5432
	nwc_stop 1
	nwc_expect "--addr $POD_B: the connection that landed there" 1 \
		".orig.dst == \"$CLUSTER_IP_MYSQL\" and .landed.addr == \"$POD_B\""
	nwc_expect "--addr fd00:96::/64: the connection meant for $CLUSTER_IP6_MYSQL" 1 \
		".orig.dst == \"$CLUSTER_IP6_MYSQL\""
	nwc_expect_clean_summary 2
}

# --count: stops by itself after N, with more traffic.
nwc_e2e_count() {
	local i
	nwc_start count "$NODE" -c 2 || return
	for i in 1 2 3; do
		nwc_client "$NODE" connect "$CLUSTER_IP_PG" 5432
	done
	nwc_stop 5
	[ "$NWC_SELF" = 1 ] && [ "$NWC_RC" = 0 ] && nwc_ok "-c 2: exited 0 by itself" ||
		nwc_fail "-c 2: self-exit=$NWC_SELF status=$NWC_RC"
	nwc_expect "-c 2: two connections printed" 2 true
	nwc_expect_clean_summary 2
}

# --pid: only the process asked for (started first, blocked on a fifo).
nwc_e2e_pid() {
	local want
	rm -f "$NWC_TMP/go"
	mkfifo "$NWC_TMP/go"
	nsenter --net="/var/run/netns/$NODE" -- bash -c \
		'read -r go <"$0"; exec "$1" connect "$2" 5432' "$NWC_TMP/go" "$CONNECT" \
		"$CLUSTER_IP_PG" >/dev/null 2>&1 &
	want=$!
	NW_PIDS+=("$want")
	nwc_start pid "$NODE" --pid "$want" || return
	nwc_client "$NODE" connect "$CLUSTER_IP_PG" 5432
	nwc_client "$NODE" connect "$CLUSTER_IP_MYSQL" 3306
	echo go >"$NWC_TMP/go"
	wait "$want"
	nwc_stop 1
	nwc_expect "--pid $want: its connection, and only that" 1 ".pid == $want and .orig.dport == 5432"
	nwc_expect_clean_summary 1
}

# --netns PATH|INODE from natwho's own namespace, and what it sees without.
nwc_e2e_netns() {
	local spec name
	for spec in "/var/run/netns/$NODE" "$NODE_INO"; do
		name=netns-${spec##*/}
		nwc_start "$name" - --netns "$spec" || return
		nwc_client "$NODE" connect "$CLUSTER_IP_MYSQL" 3306
		nwc_stop 1
		nwc_expect_clean_end "--netns $spec"
		nwc_expect "--netns $spec: the node's connection" 1 \
			".netns == $NODE_INO and .orig.dst == \"$CLUSTER_IP_MYSQL\" and .landed.addr == \"$POD_B\""
		nwc_expect "--netns $spec: no other namespace" 0 ".netns != $NODE_INO"
	done
	nwc_start netns-poda - --netns "/var/run/netns/$PODA" || return
	nwc_client "$NODE" connect "$CLUSTER_IP_MYSQL" 3306
	nwc_stop 1
	nwc_expect_clean_end "--netns pod A"
	nwc_expect "--netns pod A: nothing from another namespace" 0 \
		".netns != $(nwc_netns_inode "$PODA")"
	# natwho's own namespace may carry unrelated traffic (the host's): only
	# records of the node's namespace count below.
	nwc_start netns-all - || return
	nwc_client "$NODE" connect "$CLUSTER_IP_MYSQL" 3306
	nwc_stop 1
	nwc_expect_clean_end "no --netns"
	if [ "$NWC_BACKEND" = netfilter ]; then
		nwc_expect "no --netns: netfilter traces its own namespace only" 0 \
			".netns == $NODE_INO"
	else
		nwc_expect "no --netns: $NWC_BACKEND sees the node's namespace too" 1 \
			".netns == $NODE_INO and .landed.addr == \"$POD_B\""
	fi
}

nwc_noconntrack() {
	local rc=0 msg="no connection is being tracked on this host yet (nf_conntrack not loaded)"
	NWC_BACKEND=$1 NWC_FAILED=0
	if [ -d /sys/module/nf_conntrack ]; then
		nwc_fail "nf_conntrack is loaded: this check needs a boot without it"
		return "$NWC_FAILED"
	fi
	"$NATWHO" --backend "$1" -d 100ms >/dev/null 2>"$NWC_TMP/nc.err" || rc=$?
	cat "$NWC_TMP/nc.err"
	if [ $rc -eq 4 ] && grep -qF "$msg" "$NWC_TMP/nc.err"; then
		nwc_ok "without nf_conntrack: exit 4, \"$msg\""
	else
		nwc_fail "without nf_conntrack: exit $rc, want 4 and \"$msg\""
	fi
	modprobe nf_conntrack || nwc_fail "modprobe nf_conntrack"
	nwc_support "$1"
	rc=$?
	case $rc in
	0) nwc_ok "attaches once nf_conntrack is loaded" ;;
	77) ;;
	*) nwc_fail "after modprobe nf_conntrack: $NWC_REASON" ;;
	esac
	modprobe -r nf_conntrack || nwc_fail "modprobe -r nf_conntrack"
	[ $rc -eq 77 ] && [ "$NWC_FAILED" -eq 0 ] && return 77
	return "$NWC_FAILED"
}

# nwc_cg_client DIR ARGS...: nw-connect ARGS in cgroup DIR and the node's
# namespace, as nwc_client.
nwc_cg_client() {
	local dir=$1
	shift
	nw_cg_run "$dir" "$NODE" "$CONNECT" "$@" >"$NWC_TMP/reply" 2>&1
	NWC_CPID=$CG_PID
	NWC_REPLY=$(cat "$NWC_TMP/reply")
}

# --cgroup of processes in the node's namespace itself (a hostNetwork pod, a
# node daemon): TCP (recorded at connect), connected and sendto UDP (recorded
# at egress, after the flow is reported: their socket's cgroup decides) with
# pid, comm and the cgroup's id; a client of the same namespace outside the
# cgroup is neither shown nor counted as a missed join.
nwc_e2e_cgroup() {
	local root dir id c pt pu ps po
	root=$(nw_cgroup_root)
	if [ -z "$root" ]; then
		echo "unsupported: $NWC_BACKEND: --cgroup: no cgroup v2 file system mounted"
		return 0
	fi
	dir=$root/natwho-nwc-$$
	mkdir "$dir" || { nwc_fail "--cgroup: cannot create $dir"; return; }
	id=$(stat -c %i "$dir")
	c=$(nwc_common)
	if nwc_start cgroup "$NODE" --cgroup "$dir"; then
		nwc_cg_client "$dir" connect "$CLUSTER_IP_MYSQL" 3306
		pt=$NWC_CPID
		nwc_cg_client "$dir" -u connect "$CLUSTER_IP_DNS" 53
		pu=$NWC_CPID
		nwc_expect_reply "--cgroup: connected UDP answered" "dns-a-0"
		nwc_cg_client "$dir" sendto "$CLUSTER_IP_DNS" 53
		ps=$NWC_CPID
		nwc_client "$NODE" -u connect "$CLUSTER_IP_DNS" 53
		po=$NWC_CPID
		nwc_stop 1
		nwc_expect_clean_end "--cgroup"
		nwc_expect "--cgroup: TCP of the cgroup, pid/comm/cgroup" 1 \
			"$c and .proto == \"tcp\" and .orig.dst == \"$CLUSTER_IP_MYSQL\" and .pid == $pt
			 and .comm == \"nw-connect\" and .cgroup == $id and .landed.addr == \"$POD_B\""
		nwc_expect "--cgroup: connected UDP of the cgroup, pid/comm/cgroup" 1 \
			"$c and .proto == \"udp\" and .orig.dst == \"$CLUSTER_IP_DNS\" and .pid == $pu
			 and .comm == \"nw-connect\" and .cgroup == $id and .landed.addr == \"$POD_A\""
		nwc_expect "--cgroup: sendto UDP of the cgroup, pid/comm/cgroup" 1 \
			"$c and .proto == \"udp\" and .pid == $ps and .comm == \"nw-connect\"
			 and .cgroup == $id and .landed.addr == \"$POD_A\""
		nwc_expect "--cgroup: nothing from outside it (pid $po)" 0 ".pid == $po"
		nwc_expect_json_summary "--cgroup: 3 events, no join missed" \
			".events == 3 and .join_missed == 0"
	fi
	rmdir "$dir" || nwc_fail "--cgroup: $dir left behind"
}

# An encapsulation: a node process sends UDP over a vxlan overlay to pod A's
# namespace (tests/lib/netns.sh nw_vxlan_up).  The outer packet leaves from
# the same syscall with the inner flow's socket: the process is named on the
# inner flow only.
nwc_e2e_tunnel() {
	local c pid
	if ! nw_vxlan_up "$PODA" 10.224.1.1 "$POD_A" 2>"$NWC_TMP/vx.err"; then
		echo "unsupported: $NWC_BACKEND: tunnel: no vxlan overlay here: $(head -c 200 "$NWC_TMP/vx.err")"
		nwc_vxlan_down
		return 0
	fi
	c=$(nwc_common)
	if nwc_start tunnel "$NODE"; then
		nw_vxlan_forget || nwc_fail "tunnel: the overlay's conntrack entry stays"
		nsenter --net="/var/run/netns/$NODE" -- \
			bash -c 'echo natwho >/dev/udp/10.251.0.2/9999' &
		pid=$!
		wait "$pid" || nwc_fail "tunnel: could not send over the overlay"
		nwc_stop 1
		nwc_expect_clean_end "tunnel"
		nwc_expect "tunnel: the inner flow, with its process" 1 \
			"$c and .proto == \"udp\" and .orig.dst == \"10.251.0.2\" and .orig.dport == 9999
			 and .pid == $pid and .comm == \"bash\""
		nwc_expect "tunnel: the outer flow (to port 4789), without a process" 1 \
			"$c and .proto == \"udp\" and .orig.dst == \"$POD_A\" and .orig.dport == 4789
			 and .pid == null and .comm == null"
	fi
	nwc_vxlan_down
}

nwc_vxlan_down() {
	ip -n "$NODE" link del nwvx0 2>/dev/null
	ip -n "$PODA" link del nwvx0 2>/dev/null
	return 0
}

nwc_e2e() {
	nwc_init "$1"
	nwc_e2e_dnat
	nwc_e2e_port
	nwc_e2e_addr
	nwc_e2e_count
	nwc_e2e_pid
	nwc_e2e_netns
	nwc_e2e_cgroup
	nwc_e2e_tunnel
	return "$NWC_FAILED"
}

# --- a VRF -------------------------------------------------------------------

nwc_vrf() {
	local v=$NODE w=$PODA # the names nw_cleanup removes
	NWC_BACKEND=$1
	NWC_FAILED=0
	ip netns add "$v" && ip netns add "$w" || { nwc_fail "vrf: namespaces"; return 1; }
	if ! ip -n "$v" link add vrf-x type vrf table 10 2>"$NWC_TMP/vrf.err"; then
		NWC_REASON="no VRF device in this kernel: $(head -c 200 "$NWC_TMP/vrf.err")"
		return 77
	fi
	ip -n "$v" link add v0 type veth peer name w0 netns "$w" &&
		ip -n "$v" link set v0 master vrf-x &&
		ip -n "$v" addr add 10.99.0.1/24 dev v0 &&
		ip -n "$w" addr add 10.99.0.2/24 dev w0 &&
		ip -n "$v" link set lo up && ip -n "$v" link set vrf-x up &&
		ip -n "$v" link set v0 up && ip -n "$w" link set lo up && ip -n "$w" link set w0 up &&
		nsenter --net="/var/run/netns/$v" -- iptables -w -t nat -A POSTROUTING -o v0 -p tcp \
			-j SNAT --to-source 10.99.0.1:61000-61999 ||
		{ nwc_fail "vrf: setup"; return 1; }
	# (ports above the ephemeral range: the SNAT always changes the port;
	# with 40000-40999 a client port that happened to lie in it stayed, 1 run
	# in 28, and the check saw no SNAT)
	nw_bg "$w" "$CONNECT" listen 10.99.0.2 7000 "vrf-peer"
	nw_wait_listening "$w" tcp 7000 || { nwc_fail "vrf: no server"; return 1; }
	nwc_start vrf "$v" --port 7000 || return 1
	NW_CONNECT_DEV=vrf-x nwc_client "$v" connect 10.99.0.2 7000
	nwc_expect_reply "vrf: a client bound to the VRF reaches its peer" "vrf-peer"
	nwc_stop 1
	nwc_expect "vrf: the connection reported once, after the SNAT of the real device" 1 \
		".orig.dst == \"10.99.0.2\" and .orig.dport == 7000 and .snat == true
		 and .reply.dport >= 61000 and .reply.dport <= 61999"
	nwc_expect "vrf: not again for the pass through the VRF device" 0 \
		".orig.dport == 7000 and .snat == false"
	nwc_expect_clean_end "vrf"
	return "$NWC_FAILED"
}

# The guest's whole conntrack table is lowered to 8 entries (a setting of the
# initial namespace: never on the host).  8 connections to the Service fill
# the node's table with assured entries (closed: TIME_WAIT), which conntrack
# does not evict to make room, so the SYN of a 9th is dropped (the drop
# counter): natwho must say so within its one-second check.
NWC_CT_MAX=8
nwc_ctfull() {
	local max_was i warn last kernel jq_warn
	nwc_init "$1"
	max_was=$(sysctl -n net.netfilter.nf_conntrack_max) ||
		{ nwc_fail "ctfull: no net.netfilter.nf_conntrack_max"; return "$NWC_FAILED"; }
	nwc_start ctfull "$NODE" -w "$NWC_TMP/ctfull.cap" || return "$NWC_FAILED"
	sysctl -qw net.netfilter.nf_conntrack_max=$NWC_CT_MAX
	for i in $(seq 1 $NWC_CT_MAX); do
		nwc_client "$NODE" connect "$CLUSTER_IP_MYSQL" 3306
	done
	nw_in "$NODE" timeout 3 "$CONNECT" connect "$CLUSTER_IP_MYSQL" 3306 >"$NWC_TMP/ctfull.9" 2>&1
	sleep 2 # natwho's check, once a second
	sysctl -qw net.netfilter.nf_conntrack_max="$max_was"
	# the kernel's count, summed over its CPUs (the namespace is new: all of
	# it came while natwho ran); the 9th client's SYNs ended with it
	kernel=$(nw_in "$NODE" conntrack -S | tee /dev/stderr | awk '{
		for (i = 1; i <= NF; i++)
			if ($i ~ /^drop=/)
				n += substr($i, 6)
		} END { print n + 0 }')
	nwc_stop
	jq_warn='select(.type == "warning") | .warning'
	warn=$(jq -r "$jq_warn" "$NWC_OUT" | grep -m1 "conntrack dropped")
	last=$(jq -r "$jq_warn" "$NWC_OUT" | grep "conntrack dropped" | tail -n 1)
	case $warn in
	"network namespace $NODE_INO: since natwho started, conntrack dropped "[1-9]*" it could not track (table full, out of memory, or refused by its protocol's tracker; "*" entries now, net.netfilter.nf_conntrack_max $NWC_CT_MAX): natwho cannot show the connections they would have opened"*)
		nwc_ok "ctfull: said while tracing: $warn" ;;
	*) nwc_fail "ctfull: no warning of conntrack's drops (first: '$warn')"; nwc_dump ;;
	esac
	# the retransmitted SYNs after it: said again at the stop (within 10 s
	# of the first, so not before), the kernel's whole count
	case $last in
	*"conntrack dropped $kernel packets it could not track"*)
		[ "$kernel" -gt 1 ] && [ "$last" != "$warn" ] &&
			nwc_ok "ctfull: said again at the stop: all $kernel drops" ||
			nwc_fail "ctfull: the stop's warning is the first one ($kernel drops in all)" ;;
	*) nwc_fail "ctfull: the last warning does not give the kernel's $kernel drops: '$last'" ;;
	esac
	nwc_expect "ctfull: the $NWC_CT_MAX connections conntrack tracked shown" $NWC_CT_MAX \
		".orig.dst == \"$CLUSTER_IP_MYSQL\" and .orig.dport == 3306"
	nwc_expect_clean_end "ctfull"
	# the replay says it again, where it was said
	"$NATWHO" -r "$NWC_TMP/ctfull.cap" -o json >"$NWC_TMP/ctfull.replay" 2>&1
	if jq -r "$jq_warn" "$NWC_TMP/ctfull.replay" | grep -qxF "$warn" &&
		jq -r "$jq_warn" "$NWC_TMP/ctfull.replay" | tail -n 1 | grep -qxF "$last"; then
		nwc_ok "ctfull: the replay of the capture says it too"
	else
		nwc_fail "ctfull: the replay does not say '$warn', then '$last' last"
		cat "$NWC_TMP/ctfull.replay"
	fi
	return "$NWC_FAILED"
}

# --- the incident with kube-proxy in IPVS mode -----------------------------

NWC_CLI=${NW_P}cli
NWC_POD_CLI=10.224.2.7
NWC_PORTMAP_CHAIN=CNI-DN-9f2c6b1e4d8a7035c1e2f
# A NodePort of the same number as a hostPort (the incident's second fact):
# kube-proxy's IPVS virtual service on a node address (the client pod's
# gateway), mysql-b's pod mapping hostPort 30080 too.
NWC_NP_ADDR=10.224.2.1
NWC_NP=30080

# kube-proxy (IPVS mode) and the CNI portmap plugin's nat table.  kube-proxy
# matches ClusterIPs with the ipset KUBE-CLUSTER-IP; one -d rule stands in.
nwc_ipvs_rules() {
	cat <<EOR
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:CNI-HOSTPORT-DNAT - [0:0]
:$NWC_PORTMAP_CHAIN - [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-POSTROUTING - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT
-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \"cbr0\" id: \"$SANDBOX_B\"" -m multiport --dports 3306,$NWC_NP -j $NWC_PORTMAP_CHAIN
-A $NWC_PORTMAP_CHAIN -p tcp -m tcp --dport 3306 -j DNAT --to-destination $POD_B:3306
-A $NWC_PORTMAP_CHAIN -p tcp -m tcp --dport $NWC_NP -j DNAT --to-destination $POD_B:3306
-A KUBE-SERVICES ! -s 10.224.0.0/16 -d $CLUSTER_IP_MYSQL/32 -p tcp -m tcp --dport 3306 -m comment --comment "Kubernetes service cluster ip + port for masquerade purpose" -j KUBE-MARK-MASQ
-A KUBE-SERVICES -d $CLUSTER_IP_MYSQL/32 -p tcp -m tcp --dport 3306 -j ACCEPT
-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE
COMMIT
EOR
}

nwc_ipvs_cleanup() {
	ip netns del "$NWC_CLI" 2>/dev/null || true # before nw_cleanup's check
	nw_cleanup
}

# The node of the incident: ClusterIP on the kube-ipvs0 dummy (down, as
# kube-proxy leaves it), the IPVS virtual service -> mysql-a-0, the nat table
# above, pods A and B and a client pod.
nwc_ipvs_topology_up() {
	trap nwc_ipvs_cleanup EXIT
	ip netns add "$NODE" &&
		ip -n "$NODE" link set lo up &&
		ip -n "$NODE" link add kube-ipvs0 type dummy &&
		ip -n "$NODE" addr add "$CLUSTER_IP_MYSQL/32" dev kube-ipvs0 &&
		nw_in "$NODE" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.vs.conntrack=1 &&
		nw_pod_up "$PODA" va "$POD_A" 10.224.1.1 fd00:224:1::5 fd00:224:1::1 &&
		nw_pod_up "$PODB" vb "$POD_B" 10.224.0.1 fd00:224::222 fd00:224::1 &&
		nw_pod_up "$NWC_CLI" vc "$NWC_POD_CLI" 10.224.2.1 fd00:224:2::7 fd00:224:2::1 &&
		nw_in "$NODE" ipvsadm -A -t "$CLUSTER_IP_MYSQL:3306" -s rr &&
		nw_in "$NODE" ipvsadm -a -t "$CLUSTER_IP_MYSQL:3306" -r "$POD_A:3306" -m &&
		nw_in "$NODE" ipvsadm -A -t "$NWC_NP_ADDR:$NWC_NP" -s rr &&
		nw_in "$NODE" ipvsadm -a -t "$NWC_NP_ADDR:$NWC_NP" -r "$POD_A:3306" -m &&
		nwc_ipvs_rules | nw_in "$NODE" iptables-restore
}

# Both kinds of client of the Service: a pod (forwarded) and a node process.
nwc_incident_traffic() {
	nwc_client "$NWC_CLI" connect "$CLUSTER_IP_MYSQL" 3306
	NWC_REPLY_POD=$NWC_REPLY
	nwc_client "$NODE" connect "$CLUSTER_IP_MYSQL" 3306
	NWC_REPLY_NODE=$NWC_REPLY
	NWC_NODE_CPID=$NWC_CPID
	nwc_client "$NWC_CLI" connect "$NWC_NP_ADDR" "$NWC_NP"
	NWC_REPLY_NP=$NWC_REPLY
}

# How a connection looks through this backend, for the README.
nwc_observe() {
	jq -r "select(.type == \"conn\") | \"observed: $NWC_BACKEND $1: \\(.orig.src):\\(.orig.sport) -> \\(.orig.dst):\\(.orig.dport) landed \\(.landed.addr):\\(.landed.port) hook=\\(.hook) dnat=\\(.dnat) snat=\\(.snat) ct_status=\\(.ct_status) DST_NAT-bit=\\(if (.ct_status / 32 | floor) % 2 == 1 then \"set\" else \"clear\" end) pid=\\(.pid) comm=\\(.comm) confirm=\\(.confirm // \"-\")\"" \
		"$NWC_OUT"
}

# IPVS's own translations, judged by its table (/proc/net/ip_vs): OK, via the
# virtual service, though no snapshot names the Service.
nwc_ipvs_verdicts() {
	nwc_expect "$1: both IPVS connections OK by IPVS's table, via its virtual service" 2 \
		".orig.dst == \"$CLUSTER_IP_MYSQL\" and .landed.addr == \"$POD_A\"
		 and .k8s.verdict == \"ok\" and .k8s.via.kind == \"ipvs\"
		 and .k8s.via.rule == \"TCP $CLUSTER_IP_MYSQL:3306 rr\""
	nwc_expect "$1: the NodePort's IPVS connection OK, via its virtual service" 1 \
		".orig.dst == \"$NWC_NP_ADDR\" and .orig.dport == $NWC_NP and .landed.addr == \"$POD_A\"
		 and .k8s.verdict == \"ok\" and .k8s.target.kind == \"nodeport\"
		 and .k8s.via.rule == \"TCP $NWC_NP_ADDR:$NWC_NP rr\""
}

# natwho audit on the node, no snapshot and no ipset: the hostPort found by
# the IPVS virtual service it shadows (exit 6).
nwc_ipvs_audit() {
	local rc=0 want="^SHADOW hostPort tcp/3306 -> $POD_B:3306 .* shadows IPVS virtual service TCP $CLUSTER_IP_MYSQL:3306 rr: "
	nw_in "$NODE" "$NATWHO" audit >"$NWC_TMP/audit.txt" 2>"$NWC_TMP/audit.err" || rc=$?
	local np="^SHADOW hostPort tcp/$NWC_NP -> $POD_B:3306 .* shadows IPVS virtual service TCP $NWC_NP_ADDR:$NWC_NP rr: "
	if [ "$rc" = 6 ] && grep -q "$want" "$NWC_TMP/audit.txt" && grep -q "$np" "$NWC_TMP/audit.txt"; then
		nwc_ok "incident: natwho audit finds the hostPorts shadowing IPVS's virtual services (ClusterIP, NodePort)"
	else
		nwc_fail "incident: natwho audit exited $rc, want 6 and lines matching '$want' and '$np'"
		cat "$NWC_TMP/audit.txt" "$NWC_TMP/audit.err"
	fi
}

nwc_incident() {
	local c
	nwc_init "$1"
	c=$(nwc_common)
	nw_in "$NODE" ipvsadm -Ln
	nwc_start incident "$NODE" --port 3306 || return "$NWC_FAILED"
	nwc_incident_traffic
	nwc_stop 1
	NWC_REPLY=$NWC_REPLY_POD
	nwc_expect_reply "incident: client pod -> ClusterIP:3306 answered by mysql-b" "mysql-b-0"
	NWC_REPLY=$NWC_REPLY_NODE
	nwc_expect_reply "incident: node process -> ClusterIP:3306 answered by mysql-b" "mysql-b-0"
	nwc_expect "incident: client pod's connection to ClusterIP:3306 shown landing on pod B" 1 \
		"$c and .orig.src == \"$NWC_POD_CLI\" and .orig.dst == \"$CLUSTER_IP_MYSQL\"
		 and .orig.dport == 3306 and .landed.addr == \"$POD_B\" and .landed.port == 3306
		 and .dnat == true and .pid == null"
	nwc_expect "incident: node process's connection shown landing on pod B, with pid/comm" 1 \
		"$c and .orig.dst == \"$CLUSTER_IP_MYSQL\" and .orig.dport == 3306
		 and .landed.addr == \"$POD_B\" and .landed.port == 3306 and .dnat == true
		 and .pid == $NWC_NODE_CPID and .comm == \"nw-connect\""
	nwc_expect "incident: both shown as the hostPort's MISMATCH (no snapshot)" 2 \
		".orig.dst == \"$CLUSTER_IP_MYSQL\" and .k8s.verdict == \"mismatch\"
		 and .k8s.via.kind == \"hostport\" and .k8s.via.chain == \"$NWC_PORTMAP_CHAIN\""
	NWC_REPLY=$NWC_REPLY_NP
	nwc_expect_reply "incident: client pod -> NodePort $NWC_NP answered by mysql-b (the hostPort)" \
		"mysql-b-0"
	nwc_expect "incident: the NodePort's connection shown as the hostPort's MISMATCH" 1 \
		".orig.dst == \"$NWC_NP_ADDR\" and .orig.dport == $NWC_NP and .landed.addr == \"$POD_B\"
		 and .k8s.verdict == \"mismatch\" and .k8s.target.kind == \"nodeport\"
		 and .k8s.via.kind == \"hostport\""
	nwc_observe incident
	nwc_ipvs_audit

	# Control: without the hostPort rule IPVS serves the Service.
	nw_in "$NODE" iptables -t nat -D PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT
	nw_in "$NODE" iptables -t nat -D OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT
	nwc_start control "$NODE" --port 3306 -w "$NWC_TMP/control.cap" || return "$NWC_FAILED"
	nwc_incident_traffic
	nwc_stop 1
	NWC_REPLY=$NWC_REPLY_POD
	nwc_expect_reply "control: client pod -> ClusterIP:3306 answered by mysql-a (IPVS)" "mysql-a-0"
	NWC_REPLY=$NWC_REPLY_NODE
	nwc_expect_reply "control: node process -> ClusterIP:3306 answered by mysql-a (IPVS)" "mysql-a-0"
	NWC_REPLY=$NWC_REPLY_NP
	nwc_expect_reply "control: client pod -> NodePort $NWC_NP answered by mysql-a (IPVS)" "mysql-a-0"
	nwc_expect "control: client pod's IPVS connection shown landing on pod A" 1 \
		".orig.src == \"$NWC_POD_CLI\" and .orig.dst == \"$CLUSTER_IP_MYSQL\"
		 and .landed.addr == \"$POD_A\" and .landed.port == 3306"
	nwc_expect "control: node process's IPVS connection shown landing on pod A" 1 \
		".orig.src != \"$NWC_POD_CLI\" and .orig.dst == \"$CLUSTER_IP_MYSQL\"
		 and .landed.addr == \"$POD_A\""
	nwc_ipvs_verdicts control
	"$NATWHO" -r "$NWC_TMP/control.cap" -o json >"$NWC_TMP/control.replay" 2>"$NWC_TMP/control.replay.err"
	NWC_OUT=$NWC_TMP/control.replay nwc_ipvs_verdicts "control, replayed"
	nwc_observe control
	nw_in "$NODE" ipvsadm -Lnc
	return "$NWC_FAILED"
}
