#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Harness self-test, guest side: kube-proxy IPVS mode's data path works in the
# guest: a kube-ipvs0 dummy interface carries the ClusterIP 10.96.0.20, an IPVS
# virtual service 10.96.0.20:3306 (rr, masquerading) forwards to the server.
# Also shows, for information, what the node's conntrack table and the probe
# (when present) see of an IPVS-translated connection.
set -u
# shellcheck source=tests/qemu/guest-lib.sh
. /test/guest-lib.sh

nwq_topology_up
nwq_run ip link add kube-ipvs0 type dummy
nwq_run ip addr add 10.96.0.20/32 dev kube-ipvs0
# kube-proxy sets these: conntrack for IPVS connections, so iptables SNAT works.
echo 1 > /proc/sys/net/ipv4/vs/conntrack
nwq_run ipvsadm -A -t 10.96.0.20:3306 -s rr
nwq_run ipvsadm -a -t 10.96.0.20:3306 -r "$NWQ_SRV_IP:3306" -m
ipvsadm -Ln

nwq_serve 3306 /tmp/ipvs.srv
if [ -x /test/probe ]; then
	/test/probe -p 3306 -- bash -c '. /test/guest-lib.sh; nwq_connect 10.96.0.20 3306'
	echo "probe exited with $? (informational)"
else
	nwq_connect 10.96.0.20 3306 || nwq_fail "client could not connect to 10.96.0.20:3306"
fi
wait
grep -q hello /tmp/ipvs.srv || nwq_fail "server did not receive the data: $(cat /tmp/ipvs.srv)"
nwq_log "server received: $(cat /tmp/ipvs.srv)"
ipvsadm -Ln --stats
ipvsadm -Lnc
# (--stats lags: IPVS sums its per-CPU counters every 2 s; the table does not.)
ipvsadm -Lnc | grep -Eq "10\.96\.0\.20:3306 +$NWQ_SRV_IP:3306" ||
	nwq_fail "no IPVS connection entry 10.96.0.20:3306 -> $NWQ_SRV_IP:3306"
echo "conntrack (informational):"
nwq_conntrack | grep 3306
echo "ipvs: 10.96.0.20:3306 on kube-ipvs0 -> $NWQ_SRV_IP:3306 via IPVS"
