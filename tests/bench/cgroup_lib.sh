# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Shared by tests/e2e/cgroup_*.sh and tests/bench/cgroup_join.sh: a throwaway
# cgroup v2 directory and a client "pod" network namespace, on top of the
# incident topology of tests/lib/netns.sh.  Source it after tests/lib/e2e.sh
# (or netns.sh); cg_setup installs cg_cleanup as the EXIT trap, which kills
# every process of the test cgroup, removes it and the namespaces.
#
#   pod ns "${NW_P}podc": a client pod, 10.224.2.5 / fd00:224:2::5, whose
#     traffic to the Service addresses is DNATed in the node namespace.
#   cgroups $CG_TOP/pod ($CG, the client pod's) and $CG_TOP/svc ($CG2, a
#     "systemd service" of the node), $CG_TOP = <cgroup2 mount>/natwho-test-PID.
#
# A process joins the cgroup first and then enters the namespace with nsenter
# (`ip netns exec` remounts /sys and would hide the cgroup file system).

PODC=${NW_P}podc
POD_C=10.224.2.5
POD_C6=fd00:224:2::5
CG_TOP=
CG=
CG2=

cg_cleanup() {
	local pids i rc=0
	if [ -n "$CG_TOP" ] && [ -d "$CG_TOP" ]; then
		for i in $(seq 1 50); do
			pids=$(find "$CG_TOP" -name cgroup.procs -exec cat {} + 2>/dev/null)
			[ -z "$pids" ] && break
			kill -KILL $pids 2>/dev/null || true
			sleep 0.1
		done
		find "$CG_TOP" -depth -type d -exec rmdir {} \; 2>/dev/null || true
	fi
	ip netns del "$PODC" 2>/dev/null || true
	if [ -n "$CG_TOP" ] && [ -d "$CG_TOP" ]; then # nothing of the test may stay
		echo "FAIL: cgroup $CG_TOP left behind" >&2
		rc=1
	fi
	if declare -F e2e_cleanup >/dev/null; then
		e2e_cleanup || rc=1
	else
		nw_cleanup || rc=1
	fi
	[ $rc -eq 0 ] || exit 1
}

# cg_setup: after nw_topology_up.  The client pod and the test cgroup.
cg_setup() {
	local root
	trap cg_cleanup EXIT
	root=$(nw_cgroup_root)
	[ -n "$root" ] || return 1
	CG_TOP=$root/natwho-test-$$
	CG=$CG_TOP/pod
	CG2=$CG_TOP/svc
	mkdir "$CG_TOP" "$CG" "$CG2" &&
		nw_pod_up "$PODC" vc "$POD_C" 10.224.2.1 "$POD_C6" fd00:224:2::1
}

# cg_e2e_up: for tests/e2e/cgroup_*.sh (after tests/lib/e2e.sh): the
# incident topology, the client pod and the test cgroups; unsupported (77)
# without a cgroup v2 mount.
cg_e2e_up() {
	[ -n "$(nw_cgroup_root)" ] || unsupported "no cgroup v2 file system mounted"
	nw_topology_up
	cg_setup || fail "cannot create the test cgroups"
}

# cg_run NS CMD...: the same in the client pod's cgroup $CG.
cg_run() {
	nw_cg_run "$CG" "$@"
}

# cg_bg NS CMD...: the same in the background, pid in CG_PID and NW_PIDS.
cg_bg() {
	bash -c 'echo $$ >"$0/cgroup.procs" || exit 126; ns=$1; shift
		exec nsenter --net="/var/run/netns/$ns" -- "$@"' "$CG" "$@" &
	CG_PID=$!
	NW_PIDS+=("$CG_PID")
}

# natwho's BPF object ids, from its fds: cg_ids PID prog_id|link_id|map_id
cg_ids() {
	cat /proc/"$1"/fdinfo/* 2>/dev/null | awk -v k="$2:" '$1 == k { print $2 }' | sort -un
}
