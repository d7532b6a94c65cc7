#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Every capture backend on this machine's kernel.  Each one natwho can attach
# runs the shared end-to-end checks (tests/qemu/checks.sh: IPv4+IPv6,
# TCP+UDP through a DNAT, pid/comm, a forwarded connection, --port, --count,
# --pid, --netns PATH and INODE, --cgroup of node processes, a vxlan
# overlay's outer flow); each one it cannot is reported unsupported
# with natwho's own reason, never passed.  tests/qemu/matrix.sh runs the same
# checks inside Debian kernels for the backends this kernel lacks.
#
#   tests/e2e/backends.sh [BACKEND...]     (default: fentry kprobe netfilter)
#
# Prints one "result: BACKEND pass|fail|unsupported: REASON" line per backend.
# Exit 0 when none failed and at least one passed, 77 when none could attach,
# 1 otherwise.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
NATWHO=${NATWHO:-$ROOT/natwho}
NW_TOOLS=${NW_TOOLS:-$ROOT/build/tests}
CONNECT=$NW_TOOLS/nw-connect

[ "$(id -u)" -eq 0 ] || { echo "unsupported: needs root"; exit 77; }
[ -x "$NATWHO" ] || { echo "FAIL: no natwho at $NATWHO (run make)"; exit 1; }
[ -x "$CONNECT" ] || { echo "FAIL: no $CONNECT (run make tests)"; exit 1; }
command -v jq >/dev/null || { echo "FAIL: jq missing (make deps)"; exit 1; }

NWC_TMP=$(mktemp -d /tmp/natwho-backends.XXXXXX)
NW_P=nwb$$-
# shellcheck source=tests/lib/netns.sh
. "$ROOT/tests/lib/netns.sh"
# shellcheck source=tests/qemu/checks.sh
. "$ROOT/tests/qemu/checks.sh"

cleanup() {
	local rc=0
	nw_cleanup || rc=1
	rm -rf "$NWC_TMP"
	[ $rc -eq 0 ] || exit 1
}
trap cleanup EXIT

[ $# -gt 0 ] || set -- fentry kprobe netfilter
passed=0 failed=0
# The topology first: its NAT rules load nf_conntrack, without which the
# fentry/kprobe backends would look unsupported on a fresh host.
nw_topology_up || { echo "FAIL: setting up the namespaces and NAT rules failed"; exit 1; }
trap cleanup EXIT # nw_topology_up installs its own
nw_servers_up "$CONNECT" || { echo "FAIL: the test servers did not start"; exit 1; }
for backend in "$@"; do
	nwc_support "$backend"
	case $? in
	0) ;;
	77)
		echo "result: $backend unsupported: $NWC_REASON"
		continue ;;
	*)
		echo "result: $backend fail: $NWC_REASON"
		failed=$((failed + 1))
		continue ;;
	esac
	if nwc_e2e "$backend"; then
		echo "result: $backend pass"
		passed=$((passed + 1))
	else
		echo "result: $backend fail: $NWC_FAILED checks failed"
		failed=$((failed + 1))
	fi
done
[ $failed -eq 0 ] || exit 1
[ $passed -gt 0 ] || exit 77
exit 0
