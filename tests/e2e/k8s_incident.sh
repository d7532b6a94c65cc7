#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The incident, named: with the node's own NAT rules (read by natwho) and a
# kubectl snapshot, the connection meant for Service a/mysql-a lands on pod
# b/mysql-b-0 via the portmap hostPort chain -> "mismatch"; Service a/pg-a
# reaches its endpoint -> "ok".  `natwho audit` flags the shadowing rule
# without any traffic, and is quiet in the control topology.
. "$(dirname "$0")/../lib/e2e.sh"

SNAP=$E2E_ROOT/tests/lib/incident-snapshot.json
command -v iptables-save >/dev/null || unsupported "iptables-save not installed"
nw_topology_up
nw_servers_up "$CONNECT"

nw_natwho_start "$TMP/out.json" "$TMP/err" -o json -c 4 --k8s "$SNAP" -w "$TMP/inc.nwcap"
nw_client "$NODE" "$CONNECT" connect "$CLUSTER_IP_MYSQL" 3306 >/dev/null
nw_client "$NODE" "$CONNECT" connect "$CLUSTER_IP_PG" 5432 >/dev/null
nw_client "$NODE" "$CONNECT" connect "$CLUSTER_IP6_MYSQL" 3306 >/dev/null
nw_in "$PODA" "$CONNECT" connect "$CLUSTER_IP_MYSQL" 3306 >/dev/null
wait_natwho 10

expect_json "$TMP/out.json" "incident: mismatch, landed on pod b/mysql-b-0 via the portmap chain" \
	".orig.dst==\"$CLUSTER_IP_MYSQL\" and .comm==\"nw-connect\" and .k8s.verdict==\"mismatch\"
	 and .k8s.target.kind==\"clusterip\" and .k8s.target.namespace==\"a\" and .k8s.target.name==\"mysql-a\"
	 and .k8s.landed.kind==\"pod\" and .k8s.landed.namespace==\"b\" and .k8s.landed.name==\"mysql-b-0\"
	 and .k8s.via.kind==\"hostport\" and (.k8s.via.chain|startswith(\"CNI-DN-\"))
	 and (.k8s.via.sandbox|startswith(\"${SANDBOX_B:0:12}\"))
	 and (.k8s.reason|test(\"a/mysql-a.*b/mysql-b-0\"))"
expect_json "$TMP/out.json" "IPv6 incident: mismatch" \
	".orig.dst==\"$CLUSTER_IP6_MYSQL\" and .k8s.verdict==\"mismatch\" and .k8s.landed.name==\"mysql-b-0\""
expect_json "$TMP/out.json" "forwarded pod connection: source pod named, mismatch" \
	".orig.src==\"$POD_A\" and .k8s.source.name==\"mysql-a-0\" and .k8s.verdict==\"mismatch\""
expect_json "$TMP/out.json" "control: Service a/pg-a reached its endpoint: ok via KUBE-SVC" \
	".orig.dst==\"$CLUSTER_IP_PG\" and .k8s.verdict==\"ok\" and .k8s.landed.name==\"mysql-a-0\"
	 and .k8s.via.kind==\"service\" and (.k8s.via.chain|startswith(\"KUBE-SVC-\"))"
expect_json "$TMP/out.json" "summary counts the mismatches" \
	".type==\"summary\" and .mismatches==3 and .lost==0 and .events==4"

# -r with --k8s FILE: the file adds to the knowledge the capture recorded,
# which names an address first: a snapshot of today in which another pod
# has mysql-b-0's address does not rename what was recorded.
jq '.items |= map(if .kind == "Pod" and .metadata.name == "mysql-b-0"
	then .metadata.name = "intruder-0" | .metadata.namespace = "c" else . end)' \
	"$SNAP" >"$TMP/today.json"
"$NATWHO" -r "$TMP/inc.nwcap" --k8s "$TMP/today.json" -o json >"$TMP/re.json" 2>/dev/null ||
	fail "replay with --k8s: exit $?"
expect_json "$TMP/re.json" "replay + --k8s FILE: the recorded pod names the address" \
	".orig.dst==\"$CLUSTER_IP_MYSQL\" and .k8s.landed.name==\"mysql-b-0\" and .k8s.verdict==\"mismatch\""
expect_no_json "$TMP/re.json" "replay + --k8s FILE: today's pod does not rename it" \
	".type==\"conn\" and .k8s.landed.name==\"intruder-0\""

# ... also a file of the same path as a snapshot the capture recorded (the
# snapshot updated after the repro): it adds, not taken for the recorded one.
jq '.items |= map(select(.kind != "Pod" or .metadata.name != "mysql-b-0"))' "$SNAP" \
	>"$TMP/then.json"
nw_natwho_start "$TMP/then.out" "$TMP/then.err" -o json -c 1 --port 3306 -4 \
	--k8s "$TMP/then.json" -w "$TMP/then.nwcap"
nw_client "$NODE" "$CONNECT" connect "$CLUSTER_IP_MYSQL" 3306 >/dev/null
wait_natwho 10
expect_no_json "$TMP/then.out" "recorded without pod b/mysql-b-0: not named live" \
	".type==\"conn\" and .k8s.landed.name==\"mysql-b-0\""
cp "$SNAP" "$TMP/then.json"
"$NATWHO" -r "$TMP/then.nwcap" --k8s "$TMP/then.json" -o json >"$TMP/then-re.json" 2>/dev/null ||
	fail "replay with --k8s of a recorded snapshot's path: exit $?"
expect_json "$TMP/then-re.json" "replay + --k8s FILE of a recorded path: the file's pod names it" \
	".orig.dst==\"$CLUSTER_IP_MYSQL\" and .k8s.landed.name==\"mysql-b-0\""

# --service NS/NAME: the connections meant for that Service, wherever they
# landed; the others hidden and counted.  In replay (the incident's capture)
# and live without a snapshot: kube-proxy's rule comments name the Service.
"$NATWHO" -r "$TMP/inc.nwcap" -o json --service a/mysql-a >"$TMP/svc.json" 2>"$TMP/svc.err" ||
	fail "replay --service: exit $?"
expect_json "$TMP/svc.json" "--service a/mysql-a: the IPv4 connection that landed on mysql-b-0" \
	".orig.dst==\"$CLUSTER_IP_MYSQL\" and .orig.src!=\"$POD_A\" and .k8s.landed.name==\"mysql-b-0\""
expect_json "$TMP/svc.json" "--service a/mysql-a: the pod's and the IPv6 one" \
	".orig.src==\"$POD_A\" and .k8s.target.name==\"mysql-a\""
expect_json "$TMP/svc.json" "--service a/mysql-a: three shown, pg-a's hidden and counted" \
	".type==\"summary\" and .events==3 and .hidden==1"
expect_no_json "$TMP/svc.json" "--service a/mysql-a: nothing meant for another Service" \
	".type==\"conn\" and .k8s.target.name!=\"mysql-a\""
"$NATWHO" -r "$TMP/inc.nwcap" -o json --service a/pg-a --service a/nope >"$TMP/svc2.json" \
	2>"$TMP/svc2.err" || fail "replay --service a/pg-a: exit $?"
expect_json "$TMP/svc2.json" "--service a/pg-a: its one connection" \
	".type==\"summary\" and .events==1 and .hidden==3"
jq -e 'select(.type=="warning") | .warning | test("service a/nope: no Service of that name in the knowledge the capture recorded")' \
	"$TMP/svc2.json" >/dev/null ||
	fail "--service of an unknown Service: no warning: $(cat "$TMP/svc2.json" "$TMP/svc2.err")"
nw_natwho_start "$TMP/svc3.txt" "$TMP/svc3.err" --service a/mysql-a --service a/typo
nw_client "$NODE" "$CONNECT" connect "$CLUSTER_IP_PG" 5432 >/dev/null
nw_client "$NODE" "$CONNECT" connect "$CLUSTER_IP_MYSQL" 3306 >/dev/null
kill -INT "$NATWHO_PID"
wait_natwho 10
grep -q "10.96.0.20:3306 .*MISMATCH meant for Service a/mysql-a:3306" "$TMP/svc3.txt" ||
	fail "live --service without a snapshot: $(cat "$TMP/svc3.txt")"
grep -q ":5432" "$TMP/svc3.txt" && fail "live --service a/mysql-a printed pg-a's connection"
grep -q "1 events, 0 lost, 0 undecodable, 1 MISMATCH, 1 hidden" "$TMP/svc3.err" ||
	fail "live --service summary: $(tail -1 "$TMP/svc3.err")"
grep -q "service a/typo: natwho's knowledge (the node's rules; no --k8s) names no such Service" \
	"$TMP/svc3.err" || fail "live --service a/typo: no warning: $(cat "$TMP/svc3.err")"
echo "ok: --service, live and in replay"

# --mismatch-only: the ok connection is hidden (and counted), text tags it.
nw_natwho_start "$TMP/mm.txt" "$TMP/mm.err" --mismatch-only --k8s "$SNAP"
nw_client "$NODE" "$CONNECT" connect "$CLUSTER_IP_PG" 5432 >/dev/null
nw_client "$NODE" "$CONNECT" connect "$CLUSTER_IP_MYSQL" 3306 >/dev/null
kill -INT "$NATWHO_PID"
wait_natwho 10
cat "$TMP/mm.txt"
[ "$(grep -c MISMATCH "$TMP/mm.txt")" -eq 1 ] || fail "--mismatch-only: want one MISMATCH line"
grep -q ":5432" "$TMP/mm.txt" && fail "--mismatch-only printed the ok connection"
grep -q "1 events, 0 lost, 0 undecodable, 1 MISMATCH, 1 hidden" "$TMP/mm.err" ||
	fail "--mismatch-only summary: $(tail -1 "$TMP/mm.err")"
echo "ok: --mismatch-only"

# audit: no traffic; exit 6 and the shadowing rule with its reason.
rc=0
nw_in "$NODE" "$NATWHO" audit -o json --k8s "$SNAP" >"$TMP/audit.json" 2>"$TMP/audit.err" || rc=$?
[ $rc -eq 6 ] || fail "audit exit $rc, want 6"
# the count on stderr in JSON mode too, as the README says
n=$(jq -s 'map(select(.type=="shadow")) | length' "$TMP/audit.json")
nr=$(jq -s 'map(select(.type=="shadow") | .rule | [.kind, .table, .chain, .text, .port]) | unique |
	length' "$TMP/audit.json")
[ "$n" -gt 1 ] && fw=findings || fw=finding
[ "$nr" -gt 1 ] && rw=rules || rw=rule
grep -qx "natwho audit: $n $fw ($nr shadowing $rw)" "$TMP/audit.err" ||
	{ cat "$TMP/audit.err"; fail "audit -o json: no count of $n findings, $nr rules on stderr"; }
expect_json "$TMP/audit.json" "audit: hostPort shadows Service a/mysql-a ClusterIP" \
	".type==\"shadow\" and (tostring|test(\"mysql-a\")) and (tostring|test(\"CNI-DN-\"))
	 and (tostring|test(\"addrtype\"))"
# ... also when the reader of its output has gone (`| grep -q SHADOW`): what
# was found is still the exit status.  ':' exits before natwho has read the
# rules, so natwho's write meets a closed pipe.
{
	rc=0
	nw_in "$NODE" "$NATWHO" audit --k8s "$SNAP" 2>"$TMP/audit-pipe.err" || rc=$?
	echo $rc >"$TMP/audit-pipe.rc"
} | :
[ "$(cat "$TMP/audit-pipe.rc")" = 6 ] ||
	{ cat "$TMP/audit-pipe.err"; fail "audit to a closed pipe: exit $(cat "$TMP/audit-pipe.rc"), want 6"; }
echo "ok: audit exits 6 on a shadowing rule, also to a closed pipe"

# A node whose `iptables` is legacy iptables (kubeadm's advice on Debian and
# Ubuntu in the incident's time): iptables-save prints the legacy nat table
# itself, and natwho must not read it again through iptables-legacy-save
# (every rule twice; the copies in "nat (legacy)" tie with kube-proxy's
# rules and made false shadows).  Same rules, same addresses: the audit
# finds what it finds on the iptables-nft node, once.
# These checks are a part of this test of their own ("result: legacy"):
# where the legacy tools or iptables-nft-restore are missing, unsupported.
# node_ns NAME: a node namespace with the incident's ClusterIPs on lo
node_ns() {
	NW_NS_EXTRA+=("$1")
	ip netns add "$1" && ip -n "$1" link set lo up || fail "node namespace $1"
	for a in "$CLUSTER_IP_MYSQL" "$CLUSTER_IP_PG" "$CLUSTER_IP_DNS" "$CLUSTER_IP_ALT"; do
		ip -n "$1" addr add "$a/32" dev lo || fail "$1: node address $a"
	done
}
if command -v iptables-legacy-restore >/dev/null && command -v iptables-legacy-save >/dev/null &&
	command -v iptables-nft-restore >/dev/null; then
	LEG=${NW_P}legacy
	node_ns "$LEG"
	nw_rules_v4 | nw_in "$LEG" iptables-legacy-restore || fail "iptables-legacy-restore"
	mkdir -p "$TMP/legacy"
	printf '#!/bin/sh\nexec iptables-legacy-save "$@"\n' >"$TMP/legacy/iptables-save"
	chmod +x "$TMP/legacy/iptables-save"
	rc=0
	PATH=$TMP/legacy:$PATH nw_in "$LEG" "$NATWHO" audit --k8s "$SNAP" >"$TMP/audit-leg.txt" 2>&1 ||
		rc=$?
	[ $rc -eq 6 ] || { cat "$TMP/audit-leg.txt"; fail "audit (legacy iptables-save) exit $rc, want 6"; }
	rc=0
	nw_in "$NODE" "$NATWHO" audit --k8s "$SNAP" >"$TMP/audit-nft.txt" 2>&1 || rc=$?
	grep -q '(legacy)' "$TMP/audit-leg.txt" &&
		{ cat "$TMP/audit-leg.txt"; fail "audit (legacy iptables-save): the nat table read twice"; }
	# (IPv4 alone: the legacy node has no ip6tables rules)
	[ "$(grep -c '^SHADOW .* -> 10\.' "$TMP/audit-leg.txt")" -ge 1 ] &&
		[ "$(grep -c '^SHADOW .* -> 10\.' "$TMP/audit-leg.txt")" = \
		  "$(grep -c '^SHADOW .* -> 10\.' "$TMP/audit-nft.txt")" ] ||
		{ cat "$TMP/audit-leg.txt" "$TMP/audit-nft.txt"; fail "audit: legacy and nft nodes differ"; }
	echo "ok: a node whose iptables-save is legacy: its nat table read once"
	# ... and where iptables-save is iptables-nft's (this machine's), the
	# legacy table is read through iptables-legacy-save: the same findings
	rc=0
	nw_in "$LEG" "$NATWHO" audit --k8s "$SNAP" >"$TMP/audit-mix.txt" 2>&1 || rc=$?
	[ $rc -eq 6 ] && [ "$(grep -c '^SHADOW .* -> 10\.' "$TMP/audit-mix.txt")" = \
		"$(grep -c '^SHADOW .* -> 10\.' "$TMP/audit-nft.txt")" ] ||
		{ cat "$TMP/audit-mix.txt"; fail "audit of a legacy table beside iptables-nft: exit $rc"; }
	echo "ok: a legacy nat table beside iptables-nft: read through iptables-legacy-save"
	# ... and where `iptables` is legacy iptables but kube-proxy's own
	# iptables (its image's iptables-wrapper) chose nf_tables: iptables-save
	# does not read that table, iptables-nft-save does (nat (nft)).
	NFO=${NW_P}nftonly
	node_ns "$NFO"
	nw_rules_v4 | nw_in "$NFO" iptables-nft-restore || fail "iptables-nft-restore"
	rc=0
	PATH=$TMP/legacy:$PATH nw_in "$NFO" "$NATWHO" audit --k8s "$SNAP" >"$TMP/audit-nfo.txt" 2>&1 ||
		rc=$?
	[ $rc -eq 6 ] && grep -q 'table nat (nft) chain' "$TMP/audit-nfo.txt" &&
		[ "$(grep -c '^SHADOW .* -> 10\.' "$TMP/audit-nfo.txt")" = \
		  "$(grep -c '^SHADOW .* -> 10\.' "$TMP/audit-nft.txt")" ] ||
		{ cat "$TMP/audit-nfo.txt"; fail "audit, legacy iptables-save beside iptables-nft's table: exit $rc"; }
	echo "ok: iptables-nft's nat table where iptables is legacy: read through iptables-nft-save"
	echo "result: legacy pass"
else
	echo "result: legacy unsupported: no iptables-legacy-restore, iptables-legacy-save or iptables-nft-restore"
fi

# --k8s kubectl --refresh: a refresh that exits 0 with something that is not
# a snapshot (a login prompt, an empty list) keeps the last good one, so the
# incident stays MISMATCH; every `kubectl get` names the context the
# kubeconfig had at the start.  The stub answers `config current-context`
# with ctx-a, its first `get` with the snapshot, every later one with $1.
refresh_stub() {
	mkdir -p "$TMP/rstub"
	rm -f "$TMP/rstub/calls"
	cat >"$TMP/rstub/kubectl" <<EOS
#!/bin/sh
echo "\$*" >>"$TMP/rstub/calls"
case "\$*" in
"config current-context"*) echo ctx-a; exit 0 ;;
esac
if [ "\$(grep -c '^get ' "$TMP/rstub/calls")" -eq 1 ]; then cat "$SNAP"; else $1; fi
EOS
	chmod +x "$TMP/rstub/kubectl"
}
for bad in "echo 'Please enter Username:'" "echo '{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[]}'"; do
	refresh_stub "$bad"
	PATH=$TMP/rstub:$PATH nw_natwho_start "$TMP/rf.json" "$TMP/rf.err" -o json --k8s kubectl --refresh 1
	for i in $(seq 1 100); do
		[ "$(grep -c '^get ' "$TMP/rstub/calls")" -ge 3 ] && break
		sleep 0.1
	done
	[ "$(grep -c '^get ' "$TMP/rstub/calls")" -ge 3 ] || fail "refresh ($bad): kubectl not re-run"
	nw_client "$NODE" "$CONNECT" connect "$CLUSTER_IP_MYSQL" 3306 >/dev/null
	kill -INT "$NATWHO_PID"
	wait_natwho 10 || fail "refresh ($bad): natwho exit $?"
	expect_json "$TMP/rf.json" "refresh ($bad) kept the last snapshot: still mismatch" \
		".type==\"conn\" and .k8s.verdict==\"mismatch\" and .k8s.landed.name==\"mysql-b-0\""
	[ "$(jq -s 'map(select(.type=="warning" and (.warning|test("^kubectl.*; keeping its previous version$")))) | length' "$TMP/rf.json")" = 1 ] ||
		fail "refresh ($bad): want one warning: $(grep warning "$TMP/rf.json")"
	[ "$(grep '^get ' "$TMP/rstub/calls" | grep -vc -- '--context ctx-a$')" = 0 ] ||
		{ cat "$TMP/rstub/calls"; fail "refresh ($bad): kubectl get not pinned to context ctx-a"; }
	echo "ok: refresh ($bad): last snapshot kept, one warning, context pinned"
done

# --service in the replay of a capture whose knowledge changed: Service
# a/mysql-a named when its connection came, deleted by a later refresh (no
# rules read: only the snapshot names it).  The replay shows the connection
# and says nothing of "no such Service"; one never named is warned about.
jq '.items |= map(select((.kind != "Service" or .metadata.name != "mysql-a") and
	(.kind != "EndpointSlice" or .metadata.labels["kubernetes.io/service-name"] != "mysql-a")))' \
	"$SNAP" >"$TMP/nosvc.json"
refresh_stub "cat $TMP/nosvc.json"
PATH=$TMP/rstub:$PATH nw_natwho_start "$TMP/del.json" "$TMP/del.err" -o json --k8s kubectl \
	--refresh 1 --no-rules -w "$TMP/del.nwcap"
nw_client "$NODE" "$CONNECT" connect "$CLUSTER_IP_MYSQL" 3306 >/dev/null
for i in $(seq 1 100); do
	[ "$(grep -c '^get ' "$TMP/rstub/calls")" -ge 3 ] && break
	sleep 0.1
done
kill -INT "$NATWHO_PID"
wait_natwho 10 || fail "deleted Service: natwho exit $?"
expect_json "$TMP/del.json" "deleted Service: named live before the refresh" \
	".type==\"conn\" and .k8s.target.name==\"mysql-a\""
"$NATWHO" -r "$TMP/del.nwcap" -o json --service a/mysql-a --service a/never >"$TMP/del-re.json" \
	2>&1 || fail "deleted Service: replay exit $?"
expect_json "$TMP/del-re.json" "deleted Service: --service a/mysql-a shows its connection" \
	".type==\"conn\" and .k8s.target.name==\"mysql-a\""
expect_no_json "$TMP/del-re.json" "deleted Service: not warned about, it was named" \
	".type==\"warning\" and (.warning|test(\"service a/mysql-a\"))"
expect_json "$TMP/del-re.json" "deleted Service: one never named is warned about" \
	".type==\"warning\" and (.warning|test(\"service a/never: no Service of that name\"))"
# ... and in the replay of a killed recorder's capture, which ends in an error
rc=0
"$NATWHO" -r "$E2E_ROOT/tests/fixtures/capfile/v1.0-killed.nwcap" --service a/x >/dev/null \
	2>"$TMP/killed.err" || rc=$?
[ $rc -eq 5 ] && grep -q "^Warning: --service a/x: no Service of that name" "$TMP/killed.err" ||
	fail "killed capture with --service: exit $rc, $(cat "$TMP/killed.err")"
echo "ok: --service over a capture's changing knowledge, and a killed one"

# A refresh of a big cluster's snapshot (40 MB) is taken within the
# refresh's 20 s: natwho read kubectl's pipe 64 KiB per tick of its loop,
# about 1 MB/s, and gave every such refresh up.  The first snapshot lacks
# pod b/mysql-b-0; the refreshed one has it.
jq '.items |= map(select(.kind != "Pod" or .metadata.name != "mysql-b-0"))' "$SNAP" >"$TMP/small.json"
head -c 40000000 /dev/zero | tr '\0' x >"$TMP/pad.txt"
jq -c --rawfile pad "$TMP/pad.txt" '.items[0].metadata.annotations.pad = $pad' "$SNAP" >"$TMP/big.json"
rm -f "$TMP/pad.txt"
mkdir -p "$TMP/bstub"
cat >"$TMP/bstub/kubectl" <<EOS
#!/bin/sh
case "\$*" in
"config current-context"*) echo ctx-a; exit 0 ;;
esac
echo get >>"$TMP/bstub/calls"
if [ "\$(wc -l <"$TMP/bstub/calls")" -eq 1 ]; then exec cat "$TMP/small.json"; fi
exec cat "$TMP/big.json"
EOS
chmod +x "$TMP/bstub/kubectl"
# Idle and without rules, as a quiet node: natwho's loop then ticks every
# 50 ms, and read 64 KiB a tick.
PATH=$TMP/bstub:$PATH nw_natwho_start "$TMP/big.out" "$TMP/big.err" -o json --k8s kubectl \
	--refresh 1 --no-rules --port 3306 -4
t0=$(date +%s)
for i in $(seq 1 120); do # the third get: the big one was read (or given up)
	[ "$(grep -c '^get' "$TMP/bstub/calls")" -ge 3 ] && break
	sleep 0.1
done
took=$(($(date +%s) - t0))
nw_client "$NODE" "$CONNECT" connect "$CLUSTER_IP_MYSQL" 3306 >/dev/null
kill -INT "$NATWHO_PID"
wait_natwho 10 || fail "big refresh: natwho exit $?"
rm -f "$TMP/big.json"
[ "$(grep -c '^get' "$TMP/bstub/calls")" -ge 3 ] ||
	fail "a 40 MB kubectl refresh was neither taken nor given up in 12 s"
grep -q 'kubectl refresh failed' "$TMP/big.out" &&
	fail "a 40 MB kubectl refresh was given up: $(grep -a warning "$TMP/big.out")"
expect_json "$TMP/big.out" "the 40 MB refresh taken: its pod names the address" \
	".type==\"conn\" and .k8s.landed.name==\"mysql-b-0\""
echo "ok: a 40 MB kubectl refresh taken within ${took} s"

# Control: without the hostPort rules audit finds nothing and exits 0.
nw_cleanup
nw_topology_up nohostport
rc=0
nw_in "$NODE" "$NATWHO" audit --k8s "$SNAP" >"$TMP/audit2.txt" 2>&1 || rc=$?
[ $rc -eq 0 ] || { cat "$TMP/audit2.txt"; fail "audit (no hostPort) exit $rc, want 0"; }
echo "ok: audit is quiet without the hostPort rule"

# --k8s kubectl without a working kubectl: one warning, tracing goes on with
# the node's rules.  natwho runs kubectl where natwho runs (the API server
# is outside the node): a stub that fails stands in for it, so that a
# kubectl and kubeconfig on the machine are never used.
mkdir -p "$TMP/stub"
printf '#!/bin/sh\necho "error: no cluster (natwho test stub)" >&2\nexit 1\n' >"$TMP/stub/kubectl"
chmod +x "$TMP/stub/kubectl"
PATH=$TMP/stub:$PATH nw_natwho_start "$TMP/kc.json" "$TMP/kc.err" -o json -c 1 --k8s kubectl
nw_client "$NODE" "$CONNECT" connect "$CLUSTER_IP_MYSQL" 3306 >/dev/null 2>&1 || true # no server
wait_natwho 30
[ "$(jq -s 'map(select(.type=="warning" and (.warning|test("kubectl")))) | length' "$TMP/kc.json")" = 1 ] ||
	fail "--k8s kubectl without kubectl: want exactly one warning: $(cat "$TMP/kc.json")"
expect_json "$TMP/kc.json" "--k8s kubectl failing degrades to the rules (Service still named, ok)" \
	".type==\"conn\" and .k8s.target.name==\"mysql-a\" and .k8s.verdict==\"ok\""
jq -e -s 'map(select(.type=="warning")) | .[0].warning | test("continuing with the node.s rules only$")' \
	"$TMP/kc.json" >/dev/null || fail "--k8s kubectl failing: the warning does not say what natwho goes on with"
# ... and why: kubectl's own last line on stderr (a wrong --kubeconfig, an
# expired token), not a guess
jq -e -s 'map(select(.type=="warning")) | .[0].warning |
	contains("failed (exit status 1: error: no cluster (natwho test stub))")' \
	"$TMP/kc.json" >/dev/null || fail "--k8s kubectl failing: the warning does not quote kubectl: $(grep warning "$TMP/kc.json")"
# A cluster before EndpointSlices (the incident's Kubernetes 1.15): kubectl
# stops at the unknown resource type and prints nothing else.  natwho asks
# for v1 Endpoints instead, at once and at every refresh, without a warning.
mkdir -p "$TMP/k115"
jq '.items |= (map(select(.kind != "EndpointSlice")) +
	(map(select(.kind == "EndpointSlice" and .addressType == "IPv4")) |
	 map({apiVersion: "v1", kind: "Endpoints",
	      metadata: {namespace: .metadata.namespace, name: .metadata.labels["kubernetes.io/service-name"]},
	      subsets: [{ports: .ports, addresses: [.endpoints[] | {ip: .addresses[0], targetRef}]}]})))' \
	"$SNAP" >"$TMP/k115/snap.json"
cat >"$TMP/k115/kubectl" <<EOS
#!/bin/sh
echo "\$*" >>"$TMP/k115/calls"
case "\$*" in
get\ *endpointslices*) echo 'error: the server doesn'"'"'t have a resource type "endpointslices"' >&2; exit 1 ;;
get\ pods,services,endpoints\ *) cat "$TMP/k115/snap.json" ;;
*) exit 1 ;;
esac
EOS
chmod +x "$TMP/k115/kubectl"
PATH=$TMP/k115:$PATH nw_natwho_start "$TMP/k115.json" "$TMP/k115.err" -o json -d 3 --k8s kubectl \
	--refresh 1
nw_client "$NODE" "$CONNECT" connect "$CLUSTER_IP_MYSQL" 3306 >/dev/null 2>&1 || true
wait_natwho 30
expect_no_json "$TMP/k115.json" "--k8s kubectl on a cluster without EndpointSlices: no warning" \
	".type==\"warning\""
expect_json "$TMP/k115.json" "--k8s kubectl on a cluster without EndpointSlices: named from Endpoints" \
	".type==\"conn\" and .k8s.target.name==\"mysql-a\" and .k8s.landed.kind==\"pod\"
	 and .k8s.landed.name==\"mysql-a-0\" and .k8s.verdict==\"ok\""
[ "$(grep -c '^get pods,services,endpointslices ' "$TMP/k115/calls")" = 1 ] &&
	[ "$(grep -c '^get pods,services,endpoints ' "$TMP/k115/calls")" -ge 2 ] ||
	{ cat "$TMP/k115/calls"; fail "--k8s kubectl without EndpointSlices: want one slices call, then Endpoints (refreshes too)"; }
echo "ok: --k8s kubectl on a cluster without EndpointSlices reads Endpoints"
# ... also when that is first said at a refresh (the start-up run failed
# otherwise: an API server restarting)
cat >"$TMP/k115/kubectl" <<EOS
#!/bin/sh
echo "\$*" >>"$TMP/k115/calls2"
[ "\$(grep -c ^get "$TMP/k115/calls2")" -gt 1 ] ||
	{ echo "The connection to the server 192.168.56.11:6443 was refused" >&2; exit 1; }
case "\$*" in
get\ *endpointslices*) echo 'error: the server doesn'"'"'t have a resource type "endpointslices"' >&2; exit 1 ;;
get\ pods,services,endpoints\ *) cat "$TMP/k115/snap.json" ;;
*) exit 1 ;;
esac
EOS
PATH=$TMP/k115:$PATH nw_natwho_start "$TMP/k115b.json" "$TMP/k115b.err" -o json -d 4 --k8s kubectl \
	--refresh 1
sleep 2.5
nw_client "$NODE" "$CONNECT" connect "$CLUSTER_IP_MYSQL" 3306 >/dev/null 2>&1 || true
wait_natwho 30
expect_json "$TMP/k115b.json" "--k8s kubectl: no EndpointSlices said at a refresh: named from Endpoints" \
	".type==\"conn\" and .k8s.landed.kind==\"pod\" and .k8s.landed.name==\"mysql-a-0\""
# A kubectl that closes its stdout, then writes 200 KB to stderr (more than
# a pipe holds) before its error: natwho reads it all, is not stuck, and
# quotes the last line.
mkdir -p "$TMP/chatty"
printf '#!/bin/sh\nexec 1>&-\nhead -c 200000 /dev/zero | tr "\\0" x >&2\necho >&2\necho "error: after the noise" >&2\nexit 1\n' \
	>"$TMP/chatty/kubectl"
chmod +x "$TMP/chatty/kubectl"
PATH=$TMP/chatty:$PATH nw_natwho_start "$TMP/kc3.json" "$TMP/kc3.err" -o json -d 1 --k8s kubectl
wait_natwho 30
jq -e -s 'map(select(.type=="warning")) | .[0].warning |
	contains("failed (exit status 1: error: after the noise)")' "$TMP/kc3.json" >/dev/null ||
	fail "--k8s kubectl writing 200 KB to stderr: $(grep -a warning "$TMP/kc3.json" | cut -c1-300)"
echo "ok: a kubectl that writes 200 KB to stderr after its stdout: read, quoted by its last line"
# ... and beside a snapshot file, the warning says that the file's names are
# used (it said "without Kubernetes names").
PATH=$TMP/stub:$PATH nw_natwho_start "$TMP/kc2.json" "$TMP/kc2.err" -o json -c 1 --k8s kubectl --k8s "$SNAP"
nw_client "$NODE" "$CONNECT" connect "$CLUSTER_IP_MYSQL" 3306 >/dev/null 2>&1 || true
wait_natwho 30
jq -e -s 'map(select(.type=="warning")) | length == 1 and (.[0].warning |
	test("continuing with the names of the other --k8s sources and the node.s rules$"))' "$TMP/kc2.json" >/dev/null ||
	fail "--k8s kubectl failing beside a file: want one warning naming the other sources: $(cat "$TMP/kc2.json")"
# (the rules alone name the Service too, but not the pod it landed on)
expect_json "$TMP/kc2.json" "--k8s kubectl failing beside a snapshot file: the file's names used" \
	".type==\"conn\" and .k8s.target.name==\"mysql-a\" and .k8s.landed.kind==\"pod\" and .k8s.landed.name!=null"
jq -e -s 'map(select(.type=="conn")) | .[0].k8s.landed.kind != "pod"' "$TMP/kc.json" >/dev/null ||
	fail "--k8s kubectl failing alone: the landed pod was named without a snapshot (the check above proves nothing)"
echo "result: main pass"
