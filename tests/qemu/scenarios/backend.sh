#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Guest scenario of the backend matrix (tests/qemu/matrix.sh), installed
# under the names BACKEND-e2e, BACKEND-incident, BACKEND-vrf, BACKEND-ctfull
# and BACKEND-noconntrack:
#
#   mkinitramfs.sh -s tests/qemu/scenarios/backend.sh:fentry-e2e ...
#
# Runs tests/qemu/checks.sh's nwc_e2e, nwc_incident, nwc_vrf, nwc_ctfull or
# nwc_noconntrack (in a boot with natwho.modules=0) for BACKEND with
# /test/natwho (statically linked).  A backend natwho cannot attach here is
# unsupported (exit 77, natwho's reason as the note), unless the kernel
# command line lists it in natwho.expect=a,b (matrix.sh derives that from the
# kernel's config): then natwho is wrong and the scenario fails.
set -u
# shellcheck source=tests/qemu/guest-lib.sh
. /test/guest-lib.sh

name=${0##*/}
name=${name#[0-9][0-9]-}
backend=${name%%-*}
part=${name#*-}

NATWHO=/test/natwho
CONNECT=/test/nw-connect
NWC_TMP=$(mktemp -d)
NW_P=nwq-
# shellcheck source=tests/lib/netns.sh
. /test/lib/netns.sh
# shellcheck source=tests/qemu/checks.sh
. /test/checks.sh

expected() {
	local word
	for word in $(< /proc/cmdline); do
		case $word in
		natwho.expect=*) [[ ,${word#*=}, == *",$backend,"* ]] && return 0 ;;
		esac
	done
	return 1
}

unsupported() {
	expected && nwq_fail "natwho calls $backend unsupported on a kernel that has it: $NWC_REASON"
	nwq_skip "$NWC_REASON"
}

if [ "$part" = noconntrack ]; then
	nwc_noconntrack "$backend"
	case $? in
	0) exit 0 ;;
	77) unsupported ;;
	*) nwq_fail "$NWC_FAILED $backend checks failed" ;;
	esac
fi

nwc_support "$backend"
case $? in
0) nwq_log "$backend attaches on $(uname -r)" ;;
77) unsupported ;;
*) nwq_fail "$backend: $NWC_REASON" ;;
esac

# fentry and kprobe on Linux >= 6.2 must load the object that reads conntrack
# entries with plain loads (bpf/fentry_btf.bpf.c, bpf/kprobe_btf.bpf.c), not
# fall back to probe reads.
if [ "$backend" != netfilter ] && [ "$part" = e2e ]; then
	IFS=. read -r major minor _ <<<"$(uname -r)"
	if [ "$major" -gt 6 ] || { [ "$major" = 6 ] && [ "${minor%%[!0-9]*}" -ge 2 ]; }; then
		"$NATWHO" --backend "$backend" -v -q -d 1 >"$NWC_TMP/v" 2>&1 ||
			nwq_fail "natwho --backend $backend -v: $(tail -1 "$NWC_TMP/v")"
		grep -q "$backend: conntrack entries read with plain loads" "$NWC_TMP/v" || {
			cat "$NWC_TMP/v"
			nwq_fail "$backend on $(uname -r) fell back to probe reads: $(grep -m1 'probe reads' "$NWC_TMP/v")"
		}
		nwq_log "$backend reads conntrack entries with plain loads (bpf_rdonly_cast)"
	fi
fi

case $part in
e2e)
	nw_topology_up || nwq_fail "topology"
	nw_servers_up "$CONNECT"
	nwc_e2e "$backend"
	;;
incident)
	nwc_ipvs_topology_up || nwq_fail "IPVS topology"
	nw_servers_up "$CONNECT"
	nwc_incident "$backend"
	;;
ctfull)
	nw_topology_up || nwq_fail "topology"
	nw_servers_up "$CONNECT"
	nwc_ctfull "$backend"
	;;
vrf)
	rc=0
	nwc_vrf "$backend" || rc=$?
	[ $rc -eq 77 ] && nwq_skip "$NWC_REASON"
	(exit $rc)
	;;
*) nwq_fail "unknown scenario part '$part'" ;;
esac
failed=$?
[ "$failed" -eq 0 ] || nwq_fail "$failed $backend checks failed"
echo "$backend $part: all checks passed"
