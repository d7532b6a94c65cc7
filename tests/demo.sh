#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# `make demo`: the incident of ../shared/incident.md, replayed in throwaway
# network namespaces and traced live by natwho.  Everything it creates is
# removed on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
NATWHO=${NATWHO:-$ROOT/natwho}
CONNECT=${NW_TOOLS:-$ROOT/build/tests}/nw-connect
NW_P=nwdemo$$-
# shellcheck source=tests/lib/netns.sh
. "$ROOT/tests/lib/netns.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "Error: the demo creates network namespaces: run it as root (sudo make demo)" >&2
	exit 3
fi

# say LINE...: a paragraph of commentary on stderr, bold on a terminal only
if [ -t 2 ]; then BOLD=$'\033[1m' PLAIN=$'\033[0m'; else BOLD= PLAIN=; fi
say() {
	local l
	printf '\n' >&2
	for l; do printf '%s# %s%s\n' "$BOLD" "$l" "$PLAIN" >&2; done
	sleep 0.3
}

ask() { # ask NS ADDR PORT: connect and show who answered, after natwho's line
	local who
	who=$(nw_in "$1" "$CONNECT" connect "$2" "$3" | tr -d '\n')
	sleep 0.3 # natwho prints what it read at its next tick (50 ms)
	printf '  -> answered by: %s\n' "${who:-nobody}" >&2
}

say "node-2: Services a/mysql-a ($CLUSTER_IP_MYSQL:3306 -> pod a/mysql-a-0 $POD_A) and a/pg-a ($CLUSTER_IP_PG:5432 -> the same pod)," \
	"pod b/mysql-b-0 ($POD_B) with hostPort 3306 (CNI portmap DNAT hooked ahead of KUBE-SERVICES);" \
	"the ClusterIPs are local addresses (here on lo; IPVS binds them to kube-ipvs0)."
nw_topology_up
nw_servers_up "$CONNECT"

# What natwho knows: the node's NAT rules (read by itself) and a snapshot of
# the cluster, as `kubectl get pods,services,endpointslices -A -o json` prints.
KNOWLEDGE=(--k8s "$ROOT/tests/lib/incident-snapshot.json")
[ -n "${NATWHO_DEMO_ARGS:-}" ] && read -r -a KNOWLEDGE <<<"$NATWHO_DEMO_ARGS"
say "natwho audit ${KNOWLEDGE[*]#$ROOT/}   (no traffic needed)"
nw_in "$NODE" "$NATWHO" audit "${KNOWLEDGE[@]}" || true
say "natwho --port 3306,5432 ${KNOWLEDGE[*]#$ROOT/}   (in the node's network namespace)"
nsenter --net="/var/run/netns/$NODE" -- "$NATWHO" --port 3306,5432 "${KNOWLEDGE[@]}" &
NATWHO_PID=$!
NW_PIDS+=("$NATWHO_PID")
for i in $(seq 1 200); do # attached: it holds its BPF links (20 s at most)
	grep -qs '^link_id:' /proc/"$NATWHO_PID"/fdinfo/* && break
	kill -0 "$NATWHO_PID" 2>/dev/null || { echo "natwho did not start" >&2; exit 1; }
	sleep 0.1
done

say "a client on node-2 connects to Service a/mysql-a at $CLUSTER_IP_MYSQL:3306"
ask "$NODE" "$CLUSTER_IP_MYSQL" 3306
say "the same Service from pod a/mysql-a-0's network (forwarded, no local process)"
ask "$PODA" "$CLUSTER_IP_MYSQL" 3306
say "control: Service a/pg-a at $CLUSTER_IP_PG:5432"
ask "$NODE" "$CLUSTER_IP_PG" 5432
say "over IPv6: Service a/mysql-a at [$CLUSTER_IP6_MYSQL]:3306"
ask "$NODE" "$CLUSTER_IP6_MYSQL" 3306

sleep 0.5
kill -INT "$NATWHO_PID"
wait "$NATWHO_PID" || true
say "natwho named where each connection was meant to go, where NAT sent it and which" \
	"rule did it: mysql-a's ClusterIP:3306 LANDED on pod b/mysql-b-0 via the portmap" \
	"hostPort chain (MISMATCH); pg-a reached its own endpoint (OK)."
