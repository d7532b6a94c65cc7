#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Harness self-test, guest side: the statically linked /test/probe (built by
# tests/qemu/probe/build.sh against the checked-in 6.18 vmlinux.h) loads and
# attaches kprobe, kretprobe and fexit on __nf_conntrack_confirm of the
# nf_conntrack module, and sees the DNAT-ed conntrack of one connection
# (original 10.96.0.10:80, reply from the server's 8080) with verdict NF_ACCEPT.
set -u
# shellcheck source=tests/qemu/guest-lib.sh
. /test/guest-lib.sh

[ -x /test/probe ] || nwq_fail "/test/probe missing (mkinitramfs.sh -f build/qemu/probe/probe)"
[ -e /sys/kernel/btf/nf_conntrack ] || nwq_fail "no BTF for the nf_conntrack module"

nwq_topology_up
nwq_run iptables -t nat -A PREROUTING -d 10.96.0.10/32 -p tcp --dport 80 \
	-j DNAT --to-destination "$NWQ_SRV_IP:8080"
nwq_serve 8080 /tmp/probe.srv
out=$(/test/probe -p 80 -- bash -c '. /test/guest-lib.sh; nwq_connect 10.96.0.10 80')
rc=$?
wait
printf '%s\n' "$out"
[ $rc -eq 0 ] || nwq_fail "probe exited with $rc"
for kind in kprobe fexit; do
	line=$(grep "^kind=$kind " <<< "$out")
	case $line in
	*" orig=$NWQ_CLI_IP:"*"->10.96.0.10:80 reply=$NWQ_SRV_IP:8080->$NWQ_CLI_IP:"*) ;;
	*) nwq_fail "$kind did not see the DNAT-ed tuples: $line" ;;
	esac
done
for kind in kretprobe fexit; do
	grep -q "^kind=$kind .* verdict=1\b" <<< "$out" ||
		nwq_fail "$kind: verdict is not NF_ACCEPT (1)"
done
echo "probe: kprobe, kretprobe and fexit on __nf_conntrack_confirm saw the DNAT"
