# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Topology and process helpers for the connection-storm benchmark
# (tests/bench/storm.sh).  Source it; nwb_cleanup (installed as an EXIT trap
# by nwb_up) removes every namespace and process this shell created.
#
#   node ns "${NWB_P}node": the Kubernetes node.  The Service address
#     10.96.0.100 sits on lo (as IPVS binds ClusterIPs to kube-ipvs0), and
#     kube-proxy-style rules in nat OUTPUT DNAT
#       10.96.0.100:80 -> 10.224.9.2:8080  (storm: accept + close)
#       10.96.0.100:81 -> 10.224.9.2:8081  (echo: established packets)
#     The load generator and natwho run here, like a client on the node.
#   pod ns "${NWB_P}pod": the backend pod, 10.224.9.2, running nw-storm serve.
#
# No traffic ever leaves these namespaces.
#
# The scripts that source it name themselves in NWB_NAME (default "bench")
# for die and nwb_need_root.

NWB_P=${NWB_P:-nwb-$$-}
NWB_NODE=${NWB_P}node
NWB_POD=${NWB_P}pod
NWB_SVC=10.96.0.100
NWB_POD_IP=10.224.9.2
NWB_GW=10.224.9.1
NWB_PIDS=()
NWB_SYSCTL_SAVED=

# nwb_paths: the paths every host bench script uses, run from the repository
# root; the environment may point elsewhere (OUTPUT, NATWHO, NWB_STORM,
# NWB_OUT).  Sets ROOT, BUILD, NATWHO, STORM, OUTDIR.
nwb_paths() {
	ROOT=$PWD
	BUILD=${OUTPUT:-build}
	NATWHO=${NATWHO:-$ROOT/natwho}
	STORM=${NWB_STORM:-$ROOT/$BUILD/tests/nw-storm}
	OUTDIR=${NWB_OUT:-$ROOT/$BUILD/bench}
}

die() { # die MSG: "NWB_NAME: MSG" on stderr, exit 1
	echo "${NWB_NAME:-bench}: $*" >&2
	exit 1
}

nwb_need_root() { # exit 77 (unsupported) unless root
	[ "$(id -u)" = 0 ] || { echo "${NWB_NAME:-bench}: unsupported: needs root" >&2; exit 77; }
}

nwb_in() { # run in a namespace without remounting /sys
	local ns=$1
	shift
	nsenter --net="/var/run/netns/$ns" -- "$@"
}

nwb_bg() { # nwb_bg NS CMD...: start CMD in NS in the background; sets NWB_LAST
	local ns=$1
	shift
	nsenter --net="/var/run/netns/$ns" -- "$@" &
	NWB_LAST=$!
	NWB_PIDS+=("$NWB_LAST")
}

# nwb_stop PID [SIGNAL]: stop one of our processes, reap it and forget it (so
# that the cleanup never signals a recycled pid).
nwb_stop() {
	local pid=$1 sig=${2:-TERM}
	kill -CONT "$pid" 2>/dev/null || true
	kill -"$sig" "$pid" 2>/dev/null || true
	nwb_reap "$pid"
}

nwb_reap() { # nwb_reap PID: wait for one of our processes and forget it
	local pid=$1 p keep=()
	wait "$pid" 2>/dev/null || true
	for p in "${NWB_PIDS[@]}"; do
		[ "$p" = "$pid" ] || keep+=("$p")
	done
	NWB_PIDS=("${keep[@]}")
}

nwb_cleanup() {
	local pid ns
	for pid in "${NWB_PIDS[@]}"; do
		kill -CONT "$pid" 2>/dev/null || true
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${NWB_PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	NWB_PIDS=()
	for ns in "$NWB_NODE" "$NWB_POD"; do
		ip netns del "$ns" 2>/dev/null || true
	done
	if [ -n "$NWB_SYSCTL_SAVED" ]; then
		sysctl -qw kernel.bpf_stats_enabled="$NWB_SYSCTL_SAVED" || true
		NWB_SYSCTL_SAVED=
	fi
	[ -n "${NWB_TMP:-}" ] && rm -rf "$NWB_TMP"
	NWB_TMP=
	return 0
}

nwb_rules() {
	cat <<EOR
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-SVC-NWBSTORM0000000 - [0:0]
:KUBE-SEP-NWBSTORM0000000 - [0:0]
:KUBE-SVC-NWBECHO00000000 - [0:0]
:KUBE-SEP-NWBECHO00000000 - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A KUBE-SERVICES -d $NWB_SVC/32 -p tcp -m comment --comment "bench/storm:http cluster IP" -m tcp --dport 80 -j KUBE-SVC-NWBSTORM0000000
-A KUBE-SERVICES -d $NWB_SVC/32 -p tcp -m comment --comment "bench/echo:echo cluster IP" -m tcp --dport 81 -j KUBE-SVC-NWBECHO00000000
-A KUBE-SVC-NWBSTORM0000000 -m comment --comment "bench/storm:http -> $NWB_POD_IP:8080" -j KUBE-SEP-NWBSTORM0000000
-A KUBE-SEP-NWBSTORM0000000 -p tcp -m comment --comment "bench/storm:http" -m tcp -j DNAT --to-destination $NWB_POD_IP:8080
-A KUBE-SVC-NWBECHO00000000 -m comment --comment "bench/echo:echo -> $NWB_POD_IP:8081" -j KUBE-SEP-NWBECHO00000000
-A KUBE-SEP-NWBECHO00000000 -p tcp -m comment --comment "bench/echo:echo" -m tcp -j DNAT --to-destination $NWB_POD_IP:8081
COMMIT
EOR
}

# Conntrack in the node namespace must not fill up at tens of thousands of
# connections per second (nf_conntrack_max is global and read-only here):
# every storm connection ends with an RST, so entries sit in CLOSE; expire
# them after 1 s instead of 10.  The whole ephemeral range is used.
nwb_tune() {
	nwb_in "$NWB_NODE" sysctl -qw \
		net.ipv4.ip_local_port_range="1024 65535" \
		net.netfilter.nf_conntrack_tcp_timeout_close=1 \
		net.netfilter.nf_conntrack_tcp_timeout_time_wait=1 \
		net.netfilter.nf_conntrack_tcp_timeout_fin_wait=1 \
		net.netfilter.nf_conntrack_tcp_timeout_close_wait=1 \
		net.netfilter.nf_conntrack_tcp_timeout_last_ack=1 \
		net.netfilter.nf_conntrack_tcp_timeout_syn_sent=5 \
		net.netfilter.nf_conntrack_tcp_timeout_syn_recv=5 \
		net.core.somaxconn=4096
	nwb_in "$NWB_POD" sysctl -qw net.core.somaxconn=4096 net.ipv4.tcp_max_syn_backlog=8192
}

# nwb_up TOOL: namespaces, veth, rules, and the two servers in the pod
# (NWB_SERVER: the storm server's pid).
nwb_up() {
	local tool=$1
	trap nwb_cleanup EXIT
	trap 'exit 130' INT TERM
	ip netns add "$NWB_NODE"
	ip netns add "$NWB_POD"
	ip -n "$NWB_NODE" link set lo up
	ip -n "$NWB_NODE" addr add "$NWB_SVC/32" dev lo
	ip -n "$NWB_NODE" link add nwb-veth type veth peer name eth0 netns "$NWB_POD"
	ip -n "$NWB_NODE" addr add "$NWB_GW/24" dev nwb-veth
	ip -n "$NWB_NODE" link set nwb-veth up
	ip -n "$NWB_POD" link set lo up
	ip -n "$NWB_POD" addr add "$NWB_POD_IP/24" dev eth0
	ip -n "$NWB_POD" link set eth0 up
	ip -n "$NWB_POD" route add default via "$NWB_GW"
	nwb_rules | nwb_in "$NWB_NODE" iptables-restore
	nwb_tune
	nwb_bg "$NWB_POD" "$tool" serve 0.0.0.0 8080 -t "${NWB_SERVE_THREADS:-1}"
	NWB_SERVER=$NWB_LAST
	nwb_bg "$NWB_POD" "$tool" serve 0.0.0.0 8081 -t 4 -e
	sleep 0.3
}

# nwb_natwho_start OUT ERR ARGS...: natwho in the node namespace; waits until
# it has attached.  Sets NWB_NATWHO.
nwb_natwho_start() {
	local out=$1 err=$2 i
	shift 2
	nwb_bg "$NWB_NODE" "$NATWHO" -v "$@" >"$out" 2>"$err"
	NWB_NATWHO=$NWB_LAST
	for i in $(seq 1 200); do
		grep -q "tracing with backend" "$err" 2>/dev/null && return 0
		kill -0 "$NWB_NATWHO" 2>/dev/null || break
		sleep 0.05
	done
	echo "natwho did not start:" >&2
	cat "$err" >&2
	return 1
}

# nwb_natwho_counts DIR: natwho's own count after it stopped, from DIR/err
# (its summary line) or DIR/out (-o json): "events lost" ("? ?" without one).
nwb_natwho_counts() {
	local d=$1 sum
	sum=$(sed -nE 's/^natwho: ([0-9]+) events, ([0-9]+) lost.*/\1 \2/p' "$d/err")
	[ -z "$sum" ] && [ -f "$d/out" ] &&
		sum=$(sed -nE 's/.*"type":"summary".*"events":([0-9]+),"lost":([0-9]+).*/\1 \2/p' "$d/out")
	echo "${sum:-? ?}"
}

# nwb_standalone NAME PHASE REPORT RES [--report]: a phase script run on its
# own (storm.sh runs the phases in its namespaces): the namespaces up, PHASE
# with a tmpfs directory, everything removed; then REPORT, which reads RES,
# into $OUTDIR/NAME.md.  With --report only the report.
nwb_standalone() {
	local name=$1 phase=$2 report=$3 res=$4
	mkdir -p "$OUTDIR" || die "cannot create $OUTDIR"
	if [ "${5:-}" != --report ]; then
		nwb_need_root
		[ -x "$NATWHO" ] || die "$NATWHO not built: run make"
		[ -x "$STORM" ] || die "$STORM not built: run make $BUILD/tests/nw-storm"
		NWB_TMP=$(mktemp -d "/dev/shm/nwb-$name.XXXXXX") || die "no tmpfs at /dev/shm"
		nwb_up "$STORM"
		"$phase" "$NWB_TMP"
		nwb_cleanup
	fi
	[ -s "$res" ] || die "no $res: run the benchmark first"
	"$report" | tee "$OUTDIR/$name.md"
}

# natwho_wait_attached PID [SECONDS]: wait (default 10 s; TCG guests need
# more) until natwho has created its ring buffer's epoll instance, after the
# backend attached.  Not by -v: -v adds a loss-counter read to every poll
# loop, which is not what an operator runs.
natwho_wait_attached() {
	local pid=$1 i fd
	for i in $(seq 1 $((${2:-10} * 10))); do
		kill -0 "$pid" 2>/dev/null || return 1
		for fd in /proc/"$pid"/fd/*; do
			[ "$(readlink "$fd" 2>/dev/null)" = 'anon_inode:[eventpoll]' ] || continue
			sleep 0.1
			return 0
		done
		sleep 0.1
	done
	return 1
}

# Wait until the node namespace's conntrack table has drained below N
# entries (bounded: 30 s).  Entries of closed connections expire after 1 s but
# are only reaped by the conntrack GC (every ~20 s here); the table is
# per-namespace limited to nf_conntrack_max (262144 here), so only wait when
# a run left it half full.
nwb_ct_settle() {
	local max=${1:-100000} i n
	for i in $(seq 1 300); do
		n=$(nwb_in "$NWB_NODE" cat /proc/sys/net/netfilter/nf_conntrack_count)
		[ "$n" -le "$max" ] && return 0
		sleep 0.1
	done
	return 0
}
