# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Shared by tests/e2e/*.sh: paths, assertions, the incident topology.
# A test exits 0 (pass), 77 (unsupported, with the reason) or 1 (fail).
set -euo pipefail

E2E_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
NATWHO=${NATWHO:-$E2E_ROOT/natwho}
NW_TOOLS=${NW_TOOLS:-$E2E_ROOT/build/tests}
CONNECT=$NW_TOOLS/nw-connect
TMP=$(mktemp -d /tmp/natwho-e2e.XXXXXX)
E2E_RM=() # more paths the test made outside $TMP, removed at exit

# shellcheck source=tests/lib/netns.sh
. "$E2E_ROOT/tests/lib/netns.sh"

e2e_cleanup() {
	local rc=0
	nw_cleanup || rc=1
	rm -rf "$TMP" "${E2E_RM[@]}"
	[ $rc -eq 0 ] || exit 1
}
trap e2e_cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

unsupported() {
	echo "unsupported: $*"
	exit 77
}

[ "$(id -u)" -eq 0 ] || unsupported "needs root"
[ -x "$NATWHO" ] || fail "no natwho binary at $NATWHO (run make)"
[ -x "$CONNECT" ] || fail "no $CONNECT (run make tests)"

# expect_json FILE DESCRIPTION JQ-FILTER: at least one record matches.
expect_json() {
	local file=$1 desc=$2 filter=$3
	if ! jq -e -s "map(select($filter)) | length > 0" "$file" >/dev/null; then
		echo "--- $file:" >&2
		cat "$file" >&2
		fail "no record: $desc"
	fi
	echo "ok: $desc"
}

# expect_no_json FILE DESCRIPTION JQ-FILTER: no record matches.
expect_no_json() {
	local file=$1 desc=$2 filter=$3
	if ! jq -e -s "map(select($filter)) | length == 0" "$file" >/dev/null; then
		cat "$file" >&2
		fail "unexpected record: $desc"
	fi
	echo "ok: $desc"
}

# expect_summary_clean FILE N: the summary says N events and none lost.
expect_summary_clean() {
	local file=$1 n=$2
	expect_json "$file" "summary: $n events, 0 lost, 0 undecodable" \
		".type == \"summary\" and .events == $n and .lost == 0 and .undecodable == 0"
}

# Wait for a background natwho to exit on its own (count/duration).
wait_natwho() {
	local limit=${1:-10} i
	for i in $(seq 1 $((limit * 20))); do
		kill -0 "$NATWHO_PID" 2>/dev/null || break
		sleep 0.05
	done
	kill -0 "$NATWHO_PID" 2>/dev/null && fail "natwho still running after ${limit}s"
	wait "$NATWHO_PID"
}

# bpf_left KIND IDS...: " KIND:ID" for each id bpftool still shows.  Only
# bpftool's "No such file or directory" counts as gone; any other failure
# counts as still there, so a broken bpftool cannot make a check pass.
bpf_left() {
	local kind=$1 id err left=""
	shift
	for id in "$@"; do
		if ! err=$(bpftool "$kind" show id "$id" 2>&1 >/dev/null) &&
			[[ $err == *"No such file or directory"* ]]; then
			continue
		fi
		left+=" $kind:$id"
	done
	echo "$left"
}

# expect_bpf_alive KIND IDS...: bpftool shows every id now (before a kill).
expect_bpf_alive() {
	local kind=$1 left
	shift
	left=$(bpf_left "$kind" "$@")
	[ "$(echo "$left" | wc -w)" -eq $# ] || fail "bpftool shows only$left of natwho's $kind ids $*"
}
