#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# --cgroup attaches six programs to each cgroup with links owned by natwho's
# file descriptors: after SIGINT, SIGTERM and SIGKILL nothing is left
# attached to the cgroups (bpftool cgroup show), and natwho's links, programs
# and join maps are gone.
NW_P=nwc$$-
. "$(dirname "$0")/../lib/e2e.sh"
. "$E2E_ROOT/tests/bench/cgroup_lib.sh"

command -v bpftool >/dev/null || fail "bpftool missing (tests/deps.sh installs it)"
cg_e2e_up

attached() { # number of programs attached to cgroup $1
	bpftool cgroup show "$1" 2>/dev/null | awk 'NR > 1 && NF' | wc -l
}

for sig in INT TERM KILL; do
	nw_natwho_start "$TMP/$sig.json" "$TMP/$sig.err" -o json --cgroup "$CG" --cgroup "$CG2" ||
		fail "natwho --cgroup did not start"
	for dir in "$CG" "$CG2"; do
		n=$(attached "$dir")
		[ "$n" -eq 6 ] || { bpftool cgroup show "$dir"; fail "$n programs on $dir, want 6"; }
	done
	links=$(cg_ids "$NATWHO_PID" link_id)
	maps=$(cg_ids "$NATWHO_PID" map_id)
	progs=$(cg_ids "$NATWHO_PID" prog_id)
	[ "$(echo "$links" | wc -w)" -ge 12 ] || fail "expected 12 cgroup links, got '$links'"
	expect_bpf_alive link $links
	expect_bpf_alive prog $progs
	expect_bpf_alive map $maps
	kill -"$sig" "$NATWHO_PID"
	rc=0
	wait "$NATWHO_PID" 2>/dev/null || rc=$?
	[ "$sig" = KILL ] || [ "$rc" -eq 0 ] || fail "natwho --cgroup exited $rc after SIG$sig, want 0"
	for i in $(seq 1 50); do
		left=""
		for dir in "$CG" "$CG2"; do
			[ "$(attached "$dir")" -eq 0 ] || left+=" programs-on:$dir"
		done
		left+="$(bpf_left link $links)$(bpf_left prog $progs)$(bpf_left map $maps)"
		[ -z "$left" ] && break
		sleep 0.1
	done
	[ -z "$left" ] || fail "left after SIG$sig:$left"
	echo "ok: nothing left attached after SIG$sig"
done
# After SIGINT/SIGTERM natwho printed its summary.
expect_json "$TMP/TERM.json" "SIGTERM: summary with join_missed" \
	".type == \"summary\" and .join_missed == 0"

# A watched cgroup removed while natwho runs (its pod ended or restarted with
# a new UID): its links stay, defunct, and nothing more of it is seen.
# natwho warns once naming it and goes on with the others; when none is
# left it stops with one error and exit 1.
mkdir "$CG_TOP/gone1" "$CG_TOP/gone2"
nw_natwho_start "$TMP/gone.json" "$TMP/gone.err" -o json --cgroup "$CG_TOP/gone1" \
	--cgroup "$CG_TOP/gone2" || fail "natwho --cgroup (removal) did not start"
rmdir "$CG_TOP/gone1"
for i in $(seq 1 60); do
	grep -q "gone1' was removed" "$TMP/gone.json" && break
	sleep 0.1
done
expect_json "$TMP/gone.json" "a removed cgroup: one warning naming it" \
	".type == \"warning\" and (.warning | test(\"cgroup '$CG_TOP/gone1' was removed\"))"
kill -0 "$NATWHO_PID" 2>/dev/null || fail "natwho stopped with a cgroup still watched"
rmdir "$CG_TOP/gone2"
rc=0
wait_natwho 10 || rc=$?
[ "$rc" -eq 1 ] || fail "every watched cgroup removed: exit $rc, want 1"
expect_json "$TMP/gone.json" "every watched cgroup removed: one error" \
	".type == \"error\" and (.error | test(\"every watched cgroup was removed\"))"
expect_json "$TMP/gone.json" "every watched cgroup removed: the summary still comes" \
	".type == \"summary\" and .lost == 0"
[ "$(grep -c "was removed (its pod" "$TMP/gone.json")" -eq 2 ] ||
	fail "want one warning per removed cgroup: $(grep warning "$TMP/gone.json")"
echo "ok: removed cgroups: a warning each, then exit 1 with the summary"
