#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# How natwho keeps its knowledge of the node's NAT rules current:
#   - the nf_tables generation moving without the rules changing (a table
#     added and deleted in one transaction) is no change: the dumps differ
#     only in iptables-save's time stamps, which are not knowledge;
#   - a new DNAT rule is picked up, and a new element of a DNAT's map;
#   - while a slow dump runs, events are still drained (no loss behind an
#     8 KiB ring);
#   - a re-read that fails keeps the rules read before, says so once, and
#     is retried without the rules moving again;
#   - rules that keep moving are re-read at most once per ten times the CPU
#     the last read took;
#   - a rule dump that hangs (and leaves a child holding its pipe) is given
#     up after its 10 s and killed with everything it started;
#   - every rule removed: the summary keeps the knowledge's counts, as the
#     replay's does.
NW_P=nwk$$-
. "$(dirname "$0")/../lib/e2e.sh"

nw_topology_up
nw_natwho_start "$TMP/out" "$TMP/err" -q --backend netfilter
sleep 2.5 # past the first re-check
for i in 1 2 3; do
	printf 'add table ip nwx\ndelete table ip nwx\n' | nw_in "$NODE" nft -f - ||
		fail "nft transaction"
	sleep 1.5
done
n=$(grep -c "knowledge changed" "$TMP/err" || true)
[ "$n" = 0 ] || { cat "$TMP/err"; fail "the generation moved, the rules did not: $n rebuilds"; }
echo "ok: three generation bumps with the same rules: no rebuild"

nw_in "$NODE" iptables -t nat -I OUTPUT -d 10.96.7.7/32 -p tcp --dport 80 \
	-j DNAT --to-destination 10.224.1.5:80
for i in $(seq 1 100); do
	grep -q "knowledge changed" "$TMP/err" && break
	sleep 0.1
done
grep -q "knowledge changed" "$TMP/err" || fail "a new DNAT rule was not picked up in 10 s"
echo "ok: a new DNAT rule picked up"
# An IPv6 DNAT whose target is all that changes: "[fd00::5]:80" is an
# address, not a chain counter "[n:m]" (left out of the comparison).
changes() { grep -c "knowledge changed" "$TMP/err" || true; }
nw_in "$NODE" ip6tables -t nat -I OUTPUT -d fd00:96::77/128 -p tcp --dport 80 \
	-j DNAT --to-destination "[fd00:224:1::5]:80"
for i in $(seq 1 100); do [ "$(changes)" -ge 2 ] && break; sleep 0.1; done
[ "$(changes)" -ge 2 ] || fail "a new IPv6 DNAT rule was not picked up"
nw_in "$NODE" ip6tables -t nat -R OUTPUT 1 -d fd00:96::77/128 -p tcp --dport 80 \
	-j DNAT --to-destination "[fd00:224:1::6]:80"
for i in $(seq 1 100); do [ "$(changes)" -ge 3 ] && break; sleep 0.1; done
[ "$(changes)" -ge 3 ] || fail "an IPv6 DNAT target change was not picked up"
echo "ok: an IPv6 DNAT target change picked up"
kill -INT "$NATWHO_PID"
wait_natwho 5 || fail "natwho exit $?"

# A slow dump (a big ruleset takes seconds) while connections keep coming:
# natwho drains its ring meanwhile.  An 8 KiB ring holds about 85 events;
# a 3 s dump under a few hundred connections would overflow it otherwise.
real_save=$(command -v iptables-save)
mkdir "$TMP/slow"
# Slow once natwho runs: a slow first read would put the next one 30 s off
# (re-reads wait ten times as long as the last took).
printf '#!/bin/sh\n[ -e %s ] && sleep 3\nexec %s "$@"\n' "$TMP/slow/on" "$real_save" \
	>"$TMP/slow/iptables-save"
chmod 755 "$TMP/slow/iptables-save"
nw_servers_up "$CONNECT"
PATH=$TMP/slow:$PATH nw_natwho_start "$TMP/slow.json" "$TMP/slow.err" -o json \
	--ringbuf-size 8K --backend netfilter
touch "$TMP/slow/on"
sleep 2.5 # past the first re-check
printf 'add table ip nwy\ndelete table ip nwy\n' | nw_in "$NODE" nft -f - || fail "nft transaction"
made=0
marked=
end=$((SECONDS + 5))
while [ $SECONDS -lt $end ]; do
	nw_client "$NODE" "$CONNECT" connect "$CLUSTER_IP_PG" 5432 >/dev/null && made=$((made + 1))
	# Once, while the dump runs: one connection to another port, alone,
	# reaches the output within a second (flushed as run_loop() does), not
	# when the dump is over.
	if [ -z "$marked" ] && pgrep -f "$TMP/slow/iptables-save" >/dev/null; then
		marked=no
		nw_client "$NODE" "$CONNECT" connect "$CLUSTER_IP_MYSQL" 3306 >/dev/null &&
			made=$((made + 1))
		for i in $(seq 1 10); do
			grep -q '"dport":3306' "$TMP/slow.json" && { marked=yes; break; }
			sleep 0.1
		done
		pgrep -f "$TMP/slow/iptables-save" >/dev/null ||
			marked= # the dump ended meanwhile: try again at the next one
	fi
done
[ "$marked" = yes ] || fail "a connection made while the dump ran was not written out within 1 s ($marked)"
echo "ok: output flushed while a dump runs"
kill -INT "$NATWHO_PID"
wait_natwho 15 || fail "natwho exit $?"
jq -c 'select(.type == "summary")' "$TMP/slow.json"
expect_json "$TMP/slow.json" "no event lost while a 3 s dump ran ($made connections made)" \
	".type == \"summary\" and .lost == 0 and .events * 2 >= $made" # a port reused
# before its conntrack entry went may be no new entry: not every connect is one

# A rule re-read still running when --duration ends is given up: natwho
# ends on time, not when the dump does (it ran to the dump's end, up to its
# 10 s).  The dump turns slow (8 s) once the rules move.
mkdir "$TMP/slow2"
printf '#!/bin/sh\n[ -e %s ] && sleep 8\nexec %s "$@"\n' "$TMP/slow2/on" "$real_save" \
	>"$TMP/slow2/iptables-save"
chmod 755 "$TMP/slow2/iptables-save"
PATH=$TMP/slow2:$PATH nw_natwho_start "$TMP/dur.out" "$TMP/dur.err" -q -d 3 --backend netfilter
t0=$(date +%s%N)
touch "$TMP/slow2/on"
nw_in "$NODE" iptables -t nat -I OUTPUT -d 10.96.7.8/32 -p tcp --dport 80 \
	-j DNAT --to-destination 10.224.1.5:80
wait_natwho 20 || fail "-d during a slow dump: natwho exit $?"
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$ms" -lt 4500 ] || fail "-d 3 with a rule dump running: natwho ended after ${ms} ms"
echo "ok: -d 3 ends on time (${ms} ms) while a rule dump runs"

# A re-read that fails (iptables-save gone, or timing out under a big
# node's churn) keeps the rules read before, says so once, and is retried
# at the next check although the rules do not move again: the DNAT rule
# added meanwhile is named once iptables-save works again.
mkdir "$TMP/failing"
printf '#!/bin/sh\n[ -e %s ] && exit 1\nexec %s "$@"\n' "$TMP/failing/on" "$real_save" \
	>"$TMP/failing/iptables-save"
chmod 755 "$TMP/failing/iptables-save"
nw_in "$NODE" ip addr add 10.96.7.9/32 dev lo
PATH=$TMP/failing:$PATH nw_natwho_start "$TMP/fail.json" "$TMP/fail.err" -o json --port 80 \
	--backend netfilter
touch "$TMP/failing/on"
nw_in "$NODE" iptables -t nat -I OUTPUT -d 10.96.7.9/32 -p tcp --dport 80 \
	-j DNAT --to-destination "$POD_A:3306" || fail "iptables: the test's DNAT rule"
failed_said() {
	jq -e -s 'map(select(.type == "warning" and (.warning | test("^reading the node.s NAT rules: iptables-save failed or is gone: natwho goes on with what it gave [0-9]+ s ago and tries again$")))) | length' \
		"$TMP/fail.json"
}
for i in $(seq 1 100); do [ "$(failed_said)" = 1 ] && break; sleep 0.1; done
[ "$(failed_said)" = 1 ] || fail "no warning for a failed re-read: $(cat "$TMP/fail.json")"
rm "$TMP/failing/on"
for i in $(seq 1 100); do
	grep -q "NAT rules were read again" "$TMP/fail.json" && break
	sleep 0.1
done
grep -q "NAT rules were read again" "$TMP/fail.json" ||
	fail "no re-read after iptables-save worked again: $(cat "$TMP/fail.json")"
nw_client "$NODE" "$CONNECT" connect 10.96.7.9 80 >/dev/null || fail "connect to 10.96.7.9:80"
for i in $(seq 1 20); do grep -q '"10.96.7.9"' "$TMP/fail.json" && break; sleep 0.1; done
kill -INT "$NATWHO_PID"
wait_natwho 10 || fail "failed re-read: natwho exit $?"
expect_json "$TMP/fail.json" "the rule added while iptables-save failed is named after the retry" \
	".type==\"conn\" and .orig.dst==\"10.96.7.9\" and .k8s.via.kind==\"rule\""
[ "$(failed_said)" = 1 ] || fail "the failed re-read was said more than once: $(cat "$TMP/fail.json")"
nw_in "$NODE" iptables -t nat -D OUTPUT -d 10.96.7.9/32 -p tcp --dport 80 \
	-j DNAT --to-destination "$POD_A:3306" || fail "iptables: deleting the test's DNAT rule"
nw_in "$NODE" ip addr del 10.96.7.9/32 dev lo || fail "deleting 10.96.7.9 from lo"
echo "ok: a failed re-read said once, retried, and its rule named once it worked"

# Rules that move all the time with a dump that costs a while (a big
# node's: seconds of CPU): re-read at most once per ten times the CPU the
# last read took, not at every 2 s check.  Here dumps of 1 s of CPU, the
# generation moving every 0.3 s for 12 s: two re-reads at most (every 2 s:
# five or six).
mkdir "$TMP/busy"
printf '#!/bin/sh\necho >>%s\n[ -e %s ] && timeout 1 sh -c "while :; do :; done"\nexec %s "$@"\n' \
	"$TMP/busy/calls" "$TMP/busy/on" "$real_save" >"$TMP/busy/iptables-save"
chmod 755 "$TMP/busy/iptables-save"
PATH=$TMP/busy:$PATH nw_natwho_start "$TMP/busy.out" "$TMP/busy.err" -q --backend netfilter
touch "$TMP/busy/on"
: >"$TMP/busy/calls"
end=$((SECONDS + 12))
while [ $SECONDS -lt $end ]; do
	printf 'add table ip nwz\ndelete table ip nwz\n' | nw_in "$NODE" nft -f - ||
		fail "nft transaction"
	sleep 0.3
done
kill -INT "$NATWHO_PID"
wait_natwho 10 || fail "busy rules: natwho exit $?"
calls=$(wc -l <"$TMP/busy/calls")
[ "$calls" -ge 1 ] && [ "$calls" -le 2 ] ||
	fail "rules moving every 0.3 s, 1 s dumps: $calls re-reads in 12 s (1 or 2)"
echo "ok: a dump of 1 s of CPU re-read $calls times in 12 s of moving rules"

# A hung iptables-save whose child keeps the pipe open.
mkdir "$TMP/bin"
cat >"$TMP/bin/iptables-save" <<EOS
#!/bin/sh
echo "# started"
sleep 31.$$ &
exec sleep 31.$$
EOS
chmod 755 "$TMP/bin/iptables-save"
start=$(date +%s)
rc=0
PATH=$TMP/bin:$PATH nw_in "$NODE" "$NATWHO" audit -v >"$TMP/audit.out" 2>"$TMP/audit.err" || rc=$?
took=$(($(date +%s) - start))
grep -q "iptables-save: Connection timed out" "$TMP/audit.err" ||
	{ cat "$TMP/audit.err"; fail "the hung dump was not timed out"; }
# the other dumps read: without the IPv4 nat table "0 shadowing rules"
# would pass for a clean node
[ "$rc" = 1 ] && grep -qx "Error: the node's NAT rules could not all be read (iptables-save did not finish within 10 s): nothing audited" "$TMP/audit.err" ||
	fail "audit with iptables-save timed out: exit $rc: $(cat "$TMP/audit.out" "$TMP/audit.err")"
! grep -q "tries again" "$TMP/audit.err" || fail "a one-shot audit says it tries again"
echo "ok: audit fails when a dump timed out, and says nothing of trying again"
[ "$took" -lt 25 ] || fail "a hung dump held natwho for ${took} s"
sleep 0.2
! pgrep -f "sleep 31.$$" >/dev/null || fail "the hung dump's processes outlived it"
echo "ok: a hung dump timed out after ${took} s, its processes killed"

# An nftables table of DNAT rules beside iptables-nft's: read with `nft
# -j list table`, and iptables-nft's own table never listed through nft (a
# big node's kube-proxy rules cost nft seconds and hundreds of MB to print
# as JSON, only to be skipped: they are read with iptables-save).
nw_in "$NODE" ip addr add 10.96.9.9/32 dev lo
nw_in "$NODE" nft -f - <<EON || fail "nft: the test's table"
table ip nwtest {
	chain out {
		type nat hook output priority -100;
		ip daddr 10.96.9.9 tcp dport 3306 dnat to $POD_A:3306
	}
}
EON
real_nft=$(command -v nft)
mkdir "$TMP/nftlog"
printf '#!/bin/sh\necho "$*" >>%s\nexec %s "$@"\n' "$TMP/nftlog/calls" "$real_nft" \
	>"$TMP/nftlog/nft"
chmod 755 "$TMP/nftlog/nft"
PATH=$TMP/nftlog:$PATH nw_natwho_start "$TMP/nft.json" "$TMP/nft.err" -o json -c 1 --port 3306 \
	--backend netfilter
nw_client "$NODE" "$CONNECT" connect 10.96.9.9 3306 >/dev/null
wait_natwho 10 || fail "nft rules: natwho exit $?"
expect_json "$TMP/nft.json" "the nftables table's DNAT rule named" \
	".type==\"conn\" and .orig.dst==\"10.96.9.9\" and .k8s.via.kind==\"rule\"
	 and .k8s.via.table==\"nwtest\" and .k8s.verdict==\"ok\""
grep -qx -- '-s -j list table ip nwtest' "$TMP/nftlog/calls" ||
	fail "nft was not asked for table ip nwtest: $(cat "$TMP/nftlog/calls")"
! grep -q -- 'list ruleset\|list table ip nat' "$TMP/nftlog/calls" ||
	fail "nft was asked for iptables-nft's table: $(cat "$TMP/nftlog/calls")"
echo "ok: an nftables table read on its own, iptables-nft's not through nft"

# A table whose name nft's command line would read as commands of its own
# (the kernel takes any bytes in a name): never given to it; the whole
# ruleset is read instead, and the other table's rule is still named.
evil='q; add table ip nwpwned; list table ip q'
printf '{"nftables": [{"add": {"table": {"family": "ip", "name": "%s"}}}]}' "$evil" |
	nw_in "$NODE" nft -j -f - || fail "nft: a table named '$evil'"
: >"$TMP/nftlog/calls"
PATH=$TMP/nftlog:$PATH nw_natwho_start "$TMP/nft2.json" "$TMP/nft2.err" -o json -c 1 --port 3306 \
	--backend netfilter
nw_client "$NODE" "$CONNECT" connect 10.96.9.9 3306 >/dev/null
wait_natwho 10 || fail "nft rules, odd table name: natwho exit $?"
! nw_in "$NODE" nft list table ip nwpwned >/dev/null 2>&1 ||
	fail "a table name ran as an nft command: table ip nwpwned exists"
grep -qx -- '-s -j list ruleset' "$TMP/nftlog/calls" ||
	fail "an odd table name: the whole ruleset was not read instead: $(cat "$TMP/nftlog/calls")"
expect_json "$TMP/nft2.json" "an odd table name beside it: the DNAT rule still named" \
	".type==\"conn\" and .k8s.via.table==\"nwtest\""
printf '{"nftables": [{"delete": {"table": {"family": "ip", "name": "%s"}}}]}' "$evil" |
	nw_in "$NODE" nft -j -f -
nw_in "$NODE" nft delete table ip nwtest
echo "ok: a table name with ';' never reaches nft's command line"

# A DNAT through an nftables map (`dnat to ip daddr . tcp dport map @m`):
# each element is a rule, named in the rule's text; an element added while
# natwho runs is read at the next check (the generation moves).  And a port
# map: the rule's address, the element's port.
nw_in "$NODE" ip addr add 10.96.9.10/32 dev lo
nw_in "$NODE" ip addr add 10.96.9.11/32 dev lo
nw_in "$NODE" nft -f - <<EON || fail "nft: the map's table"
table ip nwmap {
	map forwards {
		type ipv4_addr . inet_service : ipv4_addr . inet_service
		elements = { 10.96.9.9 . 3306 : $POD_A . 3306 }
	}
	chain out {
		type nat hook output priority -100;
		ip daddr 10.96.9.11 tcp dport 3307 dnat to $POD_A : tcp dport map { 3307 : 3306 }
		dnat ip to ip daddr . tcp dport map @forwards
	}
}
EON
nw_natwho_start "$TMP/map.json" "$TMP/map.err" -o json -c 3 --port 3306 --backend netfilter
nw_client "$NODE" "$CONNECT" connect 10.96.9.9 3306 >/dev/null
nw_client "$NODE" "$CONNECT" connect 10.96.9.11 3307 >/dev/null
nw_in "$NODE" nft add element ip nwmap forwards "{ 10.96.9.10 . 3306 : $POD_A . 3306 }" ||
	fail "nft: an element added"
for i in $(seq 1 100); do
	grep -q "knowledge changed" "$TMP/map.err" && break
	sleep 0.1
done
grep -q "knowledge changed" "$TMP/map.err" || fail "the map's new element was not picked up in 10 s"
nw_client "$NODE" "$CONNECT" connect 10.96.9.10 3306 >/dev/null
wait_natwho 10 || fail "nft map: natwho exit $?"
for dst in 10.96.9.9 10.96.9.10; do
	expect_json "$TMP/map.json" "the map's element for $dst named" \
		".type==\"conn\" and .orig.dst==\"$dst\" and .k8s.via.kind==\"rule\"
		 and .k8s.via.table==\"nwmap\" and .k8s.verdict==\"ok\" and (.k8s.via.rule |
		 endswith(\"map @forwards (element $dst . 3306 : $POD_A . 3306)\"))"
done
expect_json "$TMP/map.json" "the port map's element named" \
	".type==\"conn\" and .orig.dst==\"10.96.9.11\" and .orig.dport==3307
	 and .landed.port==3306 and .k8s.via.kind==\"rule\" and .k8s.verdict==\"ok\"
	 and .k8s.via.rule==\"ip daddr 10.96.9.11 tcp dport 3307 dnat to $POD_A:tcp dport map { 3307 : 3306 } (element 3307 : 3306)\""
nw_in "$NODE" nft delete table ip nwmap

# A ruleset translated for nft (iptables-restore-translate; the Debian wiki's
# way off iptables), on a node of its own: `table ip nat` with iptables'
# upper-case base chains, written by nft.  iptables-nft's iptables-save
# prints no rule of it, "# Table `nat' is incompatible": natwho lists that
# table with nft and names its DNAT rule.  An iptables-nft rule added beside
# it (an "xt" target, which neither dump shows) is said at the start.  Each
# of the two checks below is a part of this test of its own ("result:"
# lines): it needs `iptables` to be iptables-nft, and the second one 1.8.8
# or later; where it is not, the part is unsupported, never passed.
XL=${NW_P}xlat
NW_NS_EXTRA+=("$XL")
ip netns add "$XL" && ip -n "$XL" link set lo up && ip -n "$XL" addr add 10.96.9.20/32 dev lo &&
	ip -n "$XL" addr add 10.96.9.21/32 dev lo || fail "the translated node's namespace"
nw_bg "$XL" "$CONNECT" listen :: 3306 "translated"$'\n'
nw_wait_listening "$XL" tcp 3306 || fail "the translated node's listener"
# xl_trace NAME: natwho -o json in $XL into $TMP/NAME.json, one connection
# to 10.96.9.20:3306, which the node's nat table sends to 10.96.9.21
xl_trace() {
	NODE=$XL nw_natwho_start "$TMP/$1.json" "$TMP/$1.err" -o json -c 1 --port 3306 \
		--backend netfilter
	nw_client "$XL" "$CONNECT" connect 10.96.9.20 3306 >/dev/null
	wait_natwho 10 || fail "$1: natwho exit $?"
}
ipt_v=$(nw_in "$XL" iptables-save -V 2>/dev/null || true)
case $ipt_v in
*"(nf_tables)"*) ;;
*) ipt_v="" ;; # legacy, or none: no nf_tables table of iptables'
esac
nw_in "$XL" nft -f - <<EON || fail "nft: the translated table"
table ip nat {
	chain OUTPUT {
		type nat hook output priority -100; policy accept;
		ip daddr 10.96.9.20 tcp dport 3306 counter dnat to 10.96.9.21:3306
	}
}
EON
if [ -z "$ipt_v" ]; then
	echo "result: nft-incompatible unsupported: iptables is not iptables-nft here"
else
	nw_in "$XL" iptables-save -t nat | grep -q "^# Table .nat' is incompatible" ||
		fail "$ipt_v does not call the translated table incompatible"
	nw_in "$XL" iptables -t nat -A OUTPUT -p tcp --dport 3307 -j DNAT --to-destination 10.96.9.21 ||
		fail "iptables-nft: a rule in the translated table"
	xl_trace xl
	expect_json "$TMP/xl.json" "a translated nat table iptables-save calls incompatible: its rule named" \
		".type==\"conn\" and .orig.dst==\"10.96.9.20\" and .k8s.via.kind==\"rule\"
		 and .k8s.via.table==\"nat\" and .k8s.verdict==\"ok\""
	expect_json "$TMP/xl.json" "the iptables-nft rule beside it, which no dump shows, said" \
		".type==\"warning\" and (.warning|startswith(\"1 iptables-nft rule in a nat table iptables-save calls incompatible\"))"
	echo "result: nft-incompatible pass"
fi
# iptables 1.8.8 and later: a base chain of nft's beside iptables-nft's own
# (the nftables wiki's recipe on a node where Docker or kube-proxy use
# iptables) is left out of iptables-save, which says the table "contains
# incompatible base-chains": natwho reads that chain with nft.
nw_in "$XL" nft flush ruleset || fail "nft: flush the translated node"
case $ipt_v in
*v1.8.[0-7]" "* | *v1.[0-7].* | "") ipt_tainted="" ;;
*) ipt_tainted=yes ;;
esac
if [ -z "$ipt_tainted" ]; then
	echo "result: nft-tainted unsupported: needs iptables-nft 1.8.8 or later (${ipt_v:-none here})"
else
	nw_in "$XL" iptables -t nat -A OUTPUT -p tcp --dport 3307 -j DNAT --to-destination 10.96.9.21 ||
		fail "iptables-nft: a rule of its own"
	nw_in "$XL" nft add chain ip nat output '{ type nat hook output priority -100; }' &&
		nw_in "$XL" nft add rule ip nat output ip daddr 10.96.9.20 tcp dport 3306 \
			dnat to 10.96.9.21:3306 || fail "nft: a base chain of its own in ip nat"
	nw_in "$XL" iptables-save -t nat | grep -q "^# Table .nat' contains incompatible base-chains" ||
		fail "$ipt_v does not say the nat table has base chains of nft's"
	xl_trace xt
	expect_json "$TMP/xt.json" "nft's base chain in iptables-nft's nat table: its rule named" \
		".type==\"conn\" and .orig.dst==\"10.96.9.20\" and .k8s.via.kind==\"rule\"
		 and .k8s.via.table==\"nat\" and .k8s.via.chain==\"output\" and .k8s.verdict==\"ok\""
	expect_no_json "$TMP/xt.json" "no warning of unread rules: iptables-save reads its own" \
		".type==\"warning\" and (.warning|test(\"iptables-nft rule\"))"
	echo "result: nft-tainted pass"
fi

# iptables-nft's tables alone, and neither iptables-save nor nft to be
# found (a cron job's PATH): nothing was read, and the audit says so
# instead of passing the node (nft had nothing to list: no ruleset read).
mkdir "$TMP/nopath"
rc=0
nw_in "$NODE" env PATH="$TMP/nopath" "$NATWHO" audit >"$TMP/np.out" 2>"$TMP/np.err" || rc=$?
[ "$rc" = 1 ] && grep -q "NAT rules could not be read" "$TMP/np.err" ||
	fail "audit without iptables-save or nft: exit $rc: $(cat "$TMP/np.out" "$TMP/np.err")"
echo "ok: audit with no rule dump readable fails instead of passing the node"

# Every NAT rule gone while natwho runs: the knowledge goes, and the
# summary still counts by what it had (its "MISMATCH, hidden" part), as
# the replay of the same run does.
nw_natwho_start "$TMP/gone.txt" "$TMP/gone.err" -w "$TMP/gone.cap" --backend netfilter
sleep 1
for t in iptables ip6tables; do
	nw_in "$NODE" "$t" -t nat -F && nw_in "$NODE" "$t" -t nat -X || fail "$t: flush"
done
for i in $(seq 1 100); do
	grep -q "knowledge changed" "$TMP/gone.err" && break
	sleep 0.1
done
grep -q "knowledge changed" "$TMP/gone.err" || fail "the rules' removal was not picked up in 10 s"
kill -INT "$NATWHO_PID"
wait_natwho 5 || fail "natwho exit $?"
live=$(grep '^natwho: .* events, ' "$TMP/gone.err" | sed 's/ in [0-9.]*s.*//')
replay=$("$NATWHO" -r "$TMP/gone.cap" 2>&1 >/dev/null | grep '^natwho: .* events, ' |
	sed 's/ in [0-9.]*s.*//')
case $live in *MISMATCH*) ;; *) fail "the knowledge gone: the live summary dropped its counts: $live" ;; esac
[ "$live" = "$replay" ] || fail "live summary '$live', replay's '$replay'"
echo "ok: knowledge gone mid-run: the summary keeps its counts, as the replay's"
echo "result: main pass"
