#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# natwho's CPU on a big node while kube-proxy keeps rewriting its rules: as
# root, from anywhere,
#   tests/bench/rules_churn.sh
# Not part of `make check`.  A throwaway namespace gets kube-proxy-style
# iptables rules (nat table) for NWR_SERVICES (5000) Services of
# NWR_ENDPOINTS (4) endpoints each; natwho (netfilter backend, -q) traces it
# for NWR_IDLE (20) s with the rules left alone, then for NWR_CHURN (60) s
# while the whole nat table is restored every NWR_SYNC (1) s with one
# endpoint moved (iptables-restore: kube-proxy's full sync, a worst case;
# since 1.28 it mostly writes only the chains that changed).  It prints
# natwho's CPU, its own and its rule dumps' (iptables-save, nft, ipset: its
# children, counted when reaped), as a share of one CPU in each phase, the
# reads of the rules it did (-v's "rules read" lines), its peak RSS, and
# iptables-restore's CPU over the churn (what kube-proxy's writes cost) for
# scale, and keeps natwho's -v output in $NWB_OUT/rules_churn.err
# (build/bench).  Needs iptables-nft (a legacy iptables has no generation to
# follow: natwho re-reads it every 10 s whatever happens).  No traffic.  Exit 0 when it ran, 1 when
# not, 77 when it cannot run here.
set -u
NWB_NAME=rules_churn
cd "$(dirname "$0")/../.."
. tests/bench/storm-lib.sh
nwb_paths

SERVICES=${NWR_SERVICES:-5000}
ENDPOINTS=${NWR_ENDPOINTS:-4}
IDLE=${NWR_IDLE:-20}
CHURN=${NWR_CHURN:-60}
SYNC=${NWR_SYNC:-1}
NS=${NWB_P}churn

nwb_need_root
for t in iptables-restore iptables-save; do
	command -v $t >/dev/null || { echo "$NWB_NAME: unsupported: $t not installed" >&2; exit 77; }
done
iptables -V 2>/dev/null | grep -q nf_tables ||
	{ echo "$NWB_NAME: unsupported: iptables is not iptables-nft" >&2; exit 77; }
[ -x "$NATWHO" ] || die "$NATWHO not built: run make"

cleanup() {
	nwb_cleanup
	ip netns del "$NS" 2>/dev/null || true
	[ -n "${T:-}" ] && rm -rf "$T"
	return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM
T=$(mktemp -d /dev/shm/nwr.XXXXXX) || die "no tmpfs at /dev/shm"

# rules GEN: the nat table kube-proxy (iptables mode) writes for the
# Services; generation GEN moves endpoint 0 of Service GEN % SERVICES.
rules() {
	awk -v n="$SERVICES" -v e="$ENDPOINTS" -v gen="$1" 'BEGIN {
		print "*nat"
		print ":PREROUTING ACCEPT [0:0]"
		print ":INPUT ACCEPT [0:0]"
		print ":OUTPUT ACCEPT [0:0]"
		print ":POSTROUTING ACCEPT [0:0]"
		print ":KUBE-SERVICES - [0:0]"
		print ":KUBE-MARK-MASQ - [0:0]"
		print ":KUBE-POSTROUTING - [0:0]"
		for (s = 0; s < n; s++) {
			printf ":KUBE-SVC-%016d - [0:0]\n", s
			for (j = 0; j < e; j++)
				printf ":KUBE-SEP-%08d%08d - [0:0]\n", s, j
		}
		print "-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES"
		print "-A OUTPUT -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES"
		print "-A POSTROUTING -m comment --comment \"kubernetes postrouting rules\" -j KUBE-POSTROUTING"
		print "-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000"
		print "-A KUBE-POSTROUTING -m mark --mark 0x4000/0x4000 -j MASQUERADE"
		moved = gen % n
		for (s = 0; s < n; s++) {
			vip = sprintf("10.96.%d.%d", int(s / 250), s % 250 + 1)
			printf "-A KUBE-SERVICES -d %s/32 -p tcp -m comment --comment \"ns%d/svc%d:http cluster IP\" -m tcp --dport 80 -j KUBE-SVC-%016d\n", vip, s, s, s
			for (j = 0; j < e; j++) {
				left = e - j
				if (left > 1)
					printf "-A KUBE-SVC-%016d -m comment --comment \"ns%d/svc%d:http\" -m statistic --mode random --probability %.11f -j KUBE-SEP-%08d%08d\n", s, s, s, 1 / left, s, j
				else
					printf "-A KUBE-SVC-%016d -m comment --comment \"ns%d/svc%d:http\" -j KUBE-SEP-%08d%08d\n", s, s, s, s, j
				k = s * e + j
				ip = sprintf("10.%d.%d.%d", 128 + int(k / 62500), int(k / 250) % 250, k % 250 + 1)
				if (s == moved && j == 0)
					ip = sprintf("10.250.%d.%d", int(gen / 250) % 250, gen % 250 + 1)
				printf "-A KUBE-SEP-%08d%08d -s %s/32 -m comment --comment \"ns%d/svc%d:http\" -j KUBE-MARK-MASQ\n", s, j, ip, s, s
				printf "-A KUBE-SEP-%08d%08d -p tcp -m comment --comment \"ns%d/svc%d:http\" -m tcp -j DNAT --to-destination %s:8080\n", s, j, s, s, ip
			}
		}
		print "COMMIT"
	}'
}

# ticks PID: user+system clock ticks of PID itself, and of its waited-for
# children (the rule dumps), from /proc/PID/stat
ticks() {
	awk '{ sub(/.*\) /, ""); print $12 + $13, $14 + $15 }' "/proc/$1/stat"
}

ip netns add "$NS" || die "cannot create a network namespace"
ip -n "$NS" link set lo up
# two versions, one endpoint apart, restored in turn: the generator's own
# CPU stays out of the churn
rules 0 >"$T/rules0"
rules 1 >"$T/rules1"
echo "$NWB_NAME: $SERVICES Services x $ENDPOINTS endpoints: $(wc -l <"$T/rules0") lines, $(($(stat -c %s "$T/rules0") / 1024)) KiB of nat table"
nwb_in "$NS" iptables-restore <"$T/rules0" || die "iptables-restore of the rules failed"

start=$EPOCHREALTIME
nwb_bg "$NS" "$NATWHO" -v -q --backend netfilter >"$T/out" 2>"$T/err"
NW=$NWB_LAST
natwho_wait_attached "$NW" 60 || die "natwho did not start: $(tail -3 "$T/err")"
up=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
read -r own0 kids0 < <(ticks "$NW")
reads0=$(grep -c "rules read" "$T/err")
sleep "$IDLE"
read -r own1 kids1 < <(ticks "$NW")
rereads1=$(grep -c "rules read" "$T/err")

TIMEFORMAT='%U %S'
gen=1
churn0=$EPOCHREALTIME
end=$(awk -v a="$EPOCHREALTIME" -v d="$CHURN" 'BEGIN { printf "%.6f", a + d }')
while awk -v a="$EPOCHREALTIME" -v b="$end" 'BEGIN { exit !(a < b) }'; do
	next=$(awk -v a="$EPOCHREALTIME" -v d="$SYNC" 'BEGIN { printf "%.6f", a + d }')
	{ time nwb_in "$NS" iptables-restore <"$T/rules$((gen % 2))" 2>>"$T/restore.err"; } \
		2>>"$T/restore.times" || die "iptables-restore failed at sync $gen: $(tail -2 "$T/restore.err")"
	gen=$((gen + 1))
	wait_s=$(awk -v a="$EPOCHREALTIME" -v b="$next" 'BEGIN { d = b - a; printf "%.3f", (d > 0 ? d : 0) }')
	sleep "$wait_s"
done
read -r own2 kids2 < <(ticks "$NW")
churn=$(awk -v a="$churn0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
rereads2=$(grep -c "rules read" "$T/err")
rss=$(awk '/^VmHWM/ { print $2 }' "/proc/$NW/status")
nwb_stop "$NW" INT
grep -q "^natwho: .* events" "$T/err" || die "natwho did not end with its summary: $(tail -3 "$T/err")"

mkdir -p "$OUTDIR" && cp "$T/err" "$OUTDIR/rules_churn.err"
hz=$(getconf CLK_TCK)
pct() { awk -v t="$1" -v hz="$hz" -v s="$2" 'BEGIN { printf "%.1f%%", 100 * t / hz / s }'; }
restore=$(awk '{ u += $1; s += $2 } END { printf "%.1f", u + s }' "$T/restore.times")
cat <<EOF

| phase | natwho's own CPU | its rule dumps' CPU | reads of the rules | |
|---|---|---|---|---|
| idle, ${IDLE} s | $(pct $((own1 - own0)) "$IDLE") | $(pct $((kids1 - kids0)) "$IDLE") | $((rereads1 - reads0)) | |
| churn, ${churn} s, a sync every ${SYNC} s or when the last ended ($((gen - 1)) syncs) | $(pct $((own2 - own1)) "$churn") | $(pct $((kids2 - kids1)) "$churn") | $((rereads2 - rereads1)) | iptables-restore: ${restore} s of CPU, $(awk -v r="$restore" -v s="$churn" 'BEGIN { printf "%.1f%%", 100 * r / s }') |

natwho started in ${up} s (loading, attaching, the first read of the rules); peak RSS ${rss} KiB.
EOF
