#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Harness self-test, guest side: kube-proxy-style iptables DNAT (nft backend,
# with the comment, multiport, statistic and addrtype matches) on the node
# namespace; one TCP connection from nwq-cli to the "ClusterIP" lands on the
# server, and the node's conntrack table shows the translation.
set -u
# shellcheck source=tests/qemu/guest-lib.sh
. /test/guest-lib.sh

nwq_topology_up
nwq_run iptables -t nat -N KUBE-SERVICES
nwq_run iptables -t nat -A PREROUTING -m comment --comment "kubernetes service portals" \
	-j KUBE-SERVICES
# A portmap-style hostPort rule: matches only traffic to the node's own address.
nwq_run iptables -t nat -I PREROUTING -m addrtype --dst-type LOCAL -p tcp --dport 9999 \
	-j DNAT --to-destination "$NWQ_SRV_IP:9999"
nwq_run iptables -t nat -A KUBE-SERVICES -d 10.96.0.10/32 -p tcp -m multiport --dports 80,81 \
	-m statistic --mode random --probability 1.0 -j DNAT --to-destination "$NWQ_SRV_IP:8080"
iptables -t nat -S

nwq_serve 8080 /tmp/nat.srv
nwq_connect 10.96.0.10 80 || nwq_fail "client could not connect to 10.96.0.10:80"
wait
grep -q hello /tmp/nat.srv || nwq_fail "server did not receive the data: $(cat /tmp/nat.srv)"
nwq_log "server received: $(cat /tmp/nat.srv)"

entry=$(nwq_conntrack | grep 'dst=10.96.0.10 ' | grep 'dport=80 ')
printf 'conntrack: %s\n' "$entry"
[ -n "$entry" ] || nwq_fail "no conntrack entry for 10.96.0.10:80"
case $entry in
*"src=$NWQ_SRV_IP dst=$NWQ_CLI_IP sport=8080 "*) ;;
*) nwq_fail "conntrack reply tuple is not the DNAT target: $entry" ;;
esac
conntrack -L -p tcp --orig-dst 10.96.0.10 2>&1
iptables -t nat -L KUBE-SERVICES -n -v
echo "nat: DNAT 10.96.0.10:80 -> $NWQ_SRV_IP:8080 seen by conntrack"
