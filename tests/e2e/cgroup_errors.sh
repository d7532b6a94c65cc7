#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# --cgroup / --pod / --pod-uid: one clear line and the documented exit code
# for each way the argument can be wrong; a pod UID found under the kubelet's
# cgroupfs and systemd layouts (below a --cgroup-root, as kind sets up).
NW_P=nwc$$-
. "$(dirname "$0")/../lib/e2e.sh"
. "$E2E_ROOT/tests/bench/cgroup_lib.sh"

cg_e2e_up

# err WANT_RC MESSAGE_REGEX ARGS...: natwho fails before attaching anything.
err() {
	local want=$1 msg=$2 rc=0
	shift 2
	nw_in "$NODE" "$NATWHO" "$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
	[ "$rc" -eq "$want" ] || { cat "$TMP/err" >&2; fail "natwho $*: exit $rc, want $want"; }
	[ "$(wc -l <"$TMP/err")" -eq 1 ] || { cat "$TMP/err" >&2; fail "natwho $*: not one line"; }
	grep -Eq "^Error: $msg" "$TMP/err" || { cat "$TMP/err" >&2; fail "natwho $*: message"; }
	echo "ok: exit $rc: $(cat "$TMP/err")"
}

UID_ABSENT=0badc0de-0000-4000-8000-$(printf '%012d' $$)
err 2 "'/tmp' is not a cgroup v2 directory \(not on a cgroup2 file system\); cgroup v2 is mounted at" \
	--cgroup /tmp
err 2 "cannot use '/nonexistent-$$' as a cgroup: No such file or directory" \
	--cgroup /nonexistent-$$
err 2 "'$CG/cgroup.procs' is not a directory" --cgroup "$CG/cgroup.procs"
if [ "$(stat -f -c %T /sys/fs/cgroup/memory 2>/dev/null)" = cgroupfs ]; then
	err 2 "'/sys/fs/cgroup/memory' is not a cgroup v2 directory \(it is in a cgroup v1" \
		--cgroup /sys/fs/cgroup/memory
else
	echo "note: no cgroup v1 hierarchy mounted here: the v1 directory case is not checked"
fi
err 2 "invalid --cgroup '': malformed" --cgroup ""
err 1 "pod UID $UID_ABSENT has no cgroup under .*: it is not running on this node" \
	--pod-uid "$UID_ABSENT"
err 2 "invalid --pod-uid 'nope': malformed" --pod-uid nope
err 2 "invalid --pod 'shop': malformed \(NAMESPACE/NAME of a pod\)" --pod shop
err 2 "invalid --pod 'Shop/api': malformed" --pod Shop/api
err 2 "--pod shop/api-7d9f needs the cluster snapshot" --pod shop/api-7d9f
many=()
for i in $(seq 1 17); do many+=(--cgroup "$CG"); done
err 2 "too many --cgroup/--pod/--pod-uid: at most 16" "${many[@]}"

# JSON mode: the same error as a record on stdout.
rc=0
nw_in "$NODE" "$NATWHO" -o json --cgroup /tmp >"$TMP/out" 2>/dev/null || rc=$?
[ "$rc" -eq 2 ] || fail "-o json --cgroup /tmp: exit $rc"
expect_json "$TMP/out" "JSON error record" '.type == "error" and (.error | test("not a cgroup v2"))'

# found POD_DIR: --pod-uid finds it (watching it, exit 0).
found() {
	local dir=$1 uid=$2 rc=0
	mkdir -p "$dir"
	nw_in "$NODE" "$NATWHO" -v -d 0.2 --pod-uid "$uid" >"$TMP/out" 2>"$TMP/err" || rc=$?
	[ "$rc" -eq 0 ] || { cat "$TMP/err" >&2; fail "--pod-uid $uid: exit $rc"; }
	grep -qF "cgroup: watching $dir" "$TMP/err" || { cat "$TMP/err" >&2; fail "not $dir"; }
	echo "ok: --pod-uid $uid -> $dir"
}
uid=5e1f0a2b-3c4d-4e5f-8a9b-$(printf '%012d' $$)
found "$CG_TOP/kubepods/burstable/pod$uid" "$uid"
uid=6e1f0a2b-3c4d-4e5f-8a9b-$(printf '%012d' $$)
found "$CG_TOP/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod${uid//-/_}.slice" \
	"${uid^^}"

# --pod NS/NAME through the snapshot's metadata.uid.
uid=7e1f0a2b-3c4d-4e5f-8a9b-$(printf '%012d' $$)
jq --arg uid "$uid" '.items |= map(if .kind == "Pod" and .metadata.name == "mysql-a-0"
	then .metadata.uid = $uid else . end)
	| .items += [{"apiVersion":"v1","kind":"Pod","metadata":{"namespace":"a","name":"no-uid"},
	  "spec":{"nodeName":"node-2"},"status":{"podIP":"10.224.1.77"}}]' \
	"$E2E_ROOT/tests/lib/incident-snapshot.json" >"$TMP/snap.json"
err 2 "the snapshot has no pod a/absent" --pod a/absent --k8s "$TMP/snap.json"
err 2 "the snapshot has no UID for pod a/no-uid \(metadata.uid\)" --pod a/no-uid --k8s "$TMP/snap.json"
err 1 "pod a/mysql-a-0 \(UID $uid\) has no cgroup under .*: it is not running on this node" \
	--pod a/mysql-a-0 --k8s "$TMP/snap.json"
mkdir -p "$CG_TOP/kubepods/pod$uid"
rc=0
nw_in "$NODE" "$NATWHO" -v -d 0.2 --pod a/mysql-a-0 --k8s "$TMP/snap.json" >"$TMP/out" 2>"$TMP/err" || rc=$?
[ "$rc" -eq 0 ] || { cat "$TMP/err" >&2; fail "--pod a/mysql-a-0: exit $rc"; }
grep -qF "cgroup: watching $CG_TOP/kubepods/pod$uid" "$TMP/err" || { cat "$TMP/err" >&2; fail "--pod dir"; }
echo "ok: --pod a/mysql-a-0 -> $CG_TOP/kubepods/pod$uid"
