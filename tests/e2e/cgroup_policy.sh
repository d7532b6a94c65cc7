#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# --cgroup beside someone else's cgroup programs (a firewall, a policy agent):
# natwho never switches one off.  A program an ancestor attached in override
# mode stops applying below a cgroup that gets programs of its own, and an
# exclusive one or a non-multi one on the cgroup itself refuses them: natwho
# says so in one line, exits 1 and attaches nothing.  Beside programs
# attached with BPF_F_ALLOW_MULTI (what links and systemd use) it runs, and
# they stay in force.
NW_P=nwcp$$-
. "$(dirname "$0")/../lib/e2e.sh"
. "$E2E_ROOT/tests/bench/cgroup_lib.sh"

command -v bpftool >/dev/null || fail "bpftool missing (tests/deps.sh installs it)"
cg_e2e_up
CGPROG=$NW_TOOLS/nw-cgprog

effective() { # program ids in force for cgroup $1
	bpftool cgroup show "$1" effective 2>/dev/null | awk 'NR > 1 && $1 ~ /^[0-9]+$/ { print $1 }'
}

# refused NAME REGEX DIR: natwho --cgroup DIR fails with exit 1 and one line,
# and leaves what was in force for DIR as it was.
refused() {
	local name=$1 msg=$2 dir=$3 before rc=0
	before=$(effective "$dir" | sort)
	[ -n "$before" ] || fail "$name: nothing in force for $dir before natwho"
	nw_in "$NODE" "$NATWHO" -d 0.5 --cgroup "$dir" >"$TMP/out" 2>"$TMP/err" || rc=$?
	[ "$rc" -eq 1 ] || { cat "$TMP/err" >&2; fail "$name: exit $rc, want 1"; }
	[ "$(wc -l <"$TMP/err")" -eq 1 ] || { cat "$TMP/err" >&2; fail "$name: not one line"; }
	grep -Eq "^Error: cannot watch cgroup '$dir': $msg" "$TMP/err" ||
		{ cat "$TMP/err" >&2; fail "$name: message"; }
	[ "$(effective "$dir" | sort)" = "$before" ] || fail "$name: programs in force changed"
	echo "ok: $name: $(cat "$TMP/err")"
}

# An override-mode connect4 program on an ancestor, in force for the pod.
mkdir -p "$CG_TOP/ov/pod"
id=$("$CGPROG" "$CG_TOP/ov" connect4 override) || fail "nw-cgprog override"
refused "override ancestor" "its ancestor 1 level up has a cgroup/connect4 program \(id $id\) attached in override mode, which natwho's programs would switch off for it" \
	"$CG_TOP/ov/pod"

# An exclusive egress program two levels up.
mkdir -p "$CG_TOP/ex/mid/pod"
id=$("$CGPROG" "$CG_TOP/ex" egress exclusive) || fail "nw-cgprog exclusive"
refused "exclusive ancestor" "its ancestor 2 levels up has a cgroup_skb/egress program \(id $id\) attached exclusively, below which the kernel links no other" \
	"$CG_TOP/ex/mid/pod"

# An override-mode program on the watched cgroup itself.
mkdir -p "$CG_TOP/self"
id=$("$CGPROG" "$CG_TOP/self" egress override) || fail "nw-cgprog self"
refused "the cgroup itself" "it has a cgroup_skb/egress program \(id $id\) attached in override mode, beside which the kernel links no other" \
	"$CG_TOP/self"

# An override program above one attached with ALLOW_MULTI: the multi one
# already keeps it out of force below, so natwho takes nothing away; it
# runs, and the multi program stays in force beside natwho's.
mkdir -p "$CG_TOP/mix/mid/pod"
over=$("$CGPROG" "$CG_TOP/mix" connect4 override) || fail "nw-cgprog mix override"
multi=$("$CGPROG" "$CG_TOP/mix/mid" connect4 multi) || fail "nw-cgprog mix multi"
effective "$CG_TOP/mix/mid/pod" | grep -qx "$multi" || fail "multi program $multi not in force"
effective "$CG_TOP/mix/mid/pod" | grep -qx "$over" && fail "override program $over in force below a multi one"
nw_natwho_start "$TMP/mix.out" "$TMP/mix.err" --cgroup "$CG_TOP/mix/mid/pod" ||
	fail "natwho did not start beside a multi program"
now=$(effective "$CG_TOP/mix/mid/pod")
echo "$now" | grep -qx "$multi" || { echo "$now"; fail "multi program $multi switched off by natwho"; }
[ "$(echo "$now" | wc -l)" -eq 7 ] || { echo "$now"; fail "want natwho's 6 programs and $multi in force"; }
kill -INT "$NATWHO_PID"
wait_natwho 10 || fail "natwho beside a multi program: exit $?"
[ "$(effective "$CG_TOP/mix/mid/pod")" = "$multi" ] || fail "after natwho: not only $multi in force"
echo "ok: beside a multi program: natwho ran, program $multi stayed in force"
echo "PASS"
