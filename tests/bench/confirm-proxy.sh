#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The fentry and kprobe backends' program code per new connection, timed
# natively on this host, which can attach neither (issue 7's 300 ns target).
# `make bench` runs it after storm.sh, as root, from the repository root.
#
# tests/bench/confirm_proxy.bpf.c is compiled once per object natwho loads
# for those backends (fentry, fentry_btf, kprobe, kprobe_btf); each build's
# confirm_body runs what the real programs run for a new connection
# (bpf/confirm.bpf.h: push at entry, pop and the event at return) inside a
# netfilter program linked before conntrack confirmation, timed with
# bpf_ktime_get_ns() around it.  The same object times the netfilter
# backend's new-connection path (nf_body), its ring-buffer reserve and submit
# alone (ring) and the clock reads alone (timer), which are subtracted.  All
# variants run side by side during a connection storm through a
# kube-proxy-style DNAT (storm-lib.sh's topology, nw-storm), each linked by
# its own loader and timing a disjoint share of the new connections (by a
# hash of the conntrack entry's address), so that they meet this VM in the
# same mode: it moves between a quiet and a busy one for minutes at a time,
# about 150 ns apart per connection, which one variant at a time turned into
# differences between variants.  NWCP_ROUNDS (9) rounds of NWCP_DURATION (5)
# s, the loaders' link order rotated every round; the report gives each
# variant's median over rounds minus the timer of the same round, its figure
# in the quietest round, and its difference from the netfilter path round by
# round.
#
# What this is not: the attach path (trampoline, kprobe trap) is not in it,
# as it is not in the kernel's bpf_stats run time either; push and pop run in
# one invocation here and in two there (a program's own entry cost, about
# the accounting floor of an empty program, is not counted by either).
#
# NWCP_ALT=DIR, another checkout of natwho (say, a worktree of the last
# commit): its objects run too, side by side with these, labelled "alt-":
# a change to the programs measured against the code before it in the same
# rounds, where runs minutes apart differ by more than the change.
#
# Writes $NWB_OUT/confirm-proxy.md (table) and confirm-proxy.tsv (raw).
# Exit 0 when it ran, 1 when it failed, 77 "unsupported: REASON" when the
# kernel cannot run it (no netfilter BPF links, no bpf_rdonly_cast).
set -uo pipefail

cd "$(dirname "$0")/../.." || exit 1
NWB_NAME=confirm-proxy
. tests/bench/storm-lib.sh
nwb_paths
ROUNDS=${NWCP_ROUNDS:-9}
DUR=${NWCP_DURATION:-5}
THREADS=${NWB_THREADS:-2}
ALT=${NWCP_ALT:-}
CLANG=${CLANG:-clang}
ARCH=$(uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
# variant label, object, program
VARIANTS=(
	"timer fentry_btf timer"
	"netfilter fentry_btf nf_body"
	"ring fentry_btf ring_only"
	"fentry fentry confirm_body"
	"fentry_btf fentry_btf confirm_body"
	"kprobe kprobe confirm_body"
	"kprobe_btf kprobe_btf confirm_body"
)
if [ -n "$ALT" ]; then
	[ -f "$ALT/tests/bench/confirm_proxy.bpf.c" ] || die "NWCP_ALT=$ALT: not a natwho checkout with the proxy"
	VARIANTS+=(
		"alt-netfilter alt_fentry_btf nf_body"
		"alt-fentry alt_fentry confirm_body"
		"alt-fentry_btf alt_fentry_btf confirm_body"
		"alt-kprobe alt_kprobe confirm_body"
		"alt-kprobe_btf alt_kprobe_btf confirm_body"
	)
fi

nwb_need_root
[ -x "$STORM" ] || die "$STORM not built: run make $BUILD/tests/nw-storm"
mkdir -p "$OUTDIR" || die "cannot create $OUTDIR"
T=$(mktemp -d /dev/shm/nwcp.XXXXXX) || die "no tmpfs at /dev/shm"
trap 'rm -rf "$T"' EXIT
LOG=$OUTDIR/confirm-proxy.log
: >"$LOG"

# build_obj SRC_ROOT PREFIX: the four objects from the checkout at SRC_ROOT,
# for the BPF ISA its Makefile builds for (BPF_MCPU; none before it had one)
build_obj() {
	local src=$1 pre=$2 v mcpu
	mcpu=$(sed -n 's/^BPF_MCPU := //p' "$src/Makefile")
	for v in fentry fentry_btf kprobe kprobe_btf; do
		# shellcheck disable=SC2086 # empty or one word
		"$CLANG" -g -O2 -target bpf $mcpu -D__TARGET_ARCH_"$ARCH" -Wall -Wextra -Werror \
			-Wno-unused-parameter -I"$src/vmlinux/$ARCH" -I"$src/include" -I"$src/bpf" \
			-DPROXY_"${v^^}" -c "$src/tests/bench/confirm_proxy.bpf.c" -o "$T/$pre$v.o" 2>>"$LOG" ||
			die "cannot build $src/tests/bench/confirm_proxy.bpf.c for $v (see $LOG)"
	done
}

build() {
	build_obj . ""
	[ -z "$ALT" ] || build_obj "$ALT" alt_
	${CC:-cc} -O2 -Wall -Wextra -Werror -std=gnu11 -D_GNU_SOURCE -Iinclude -Isrc \
		tests/bench/confirm-proxy.c tests/bench/rodata.c src/nf_compat.c src/percpu.c src/ring.c -lbpf -lelf -lz -o "$T/confirm-proxy" \
		2>>"$LOG" || die "cannot build tests/bench/confirm-proxy.c (see $LOG)"
}

# Does this kernel load and link them?  77 with the reason when not.
preflight() {
	local out
	out=$(nwb_in "$NWB_NODE" timeout 30 "$T/confirm-proxy" "$T/fentry_btf.o" confirm_body 1 2>&1)
	grep -q '^regions=' <<<"$out" && return 0
	echo "$out" >>"$LOG"
	case $out in
	*"netfilter link"* | *"load"*)
		echo "confirm-proxy: unsupported: this kernel does not load or link the proxy netfilter programs (needs Linux >= 6.4 with CONFIG_NETFILTER_BPF_LINK, and 6.2's bpf_rdonly_cast): $(tail -1 <<<"$out")" >&2
		rm -rf "$T"
		exit 77 ;;
	esac
	die "preflight failed: $(tail -1 <<<"$out")"
}

# run_round ROUND: one storm with every variant linked, each timing its share
# of the new connections -> one row per variant.
run_round() {
	local r=$1 n=${#VARIANTS[@]} pids=() j i k label obj prog line res
	nwb_ct_settle
	for j in $(seq 0 $((n - 1))); do
		i=$(((j + r - 1) % n)) # link order and share rotate every round
		read -r label obj prog <<<"${VARIANTS[$i]}"
		nwb_bg "$NWB_NODE" "$T/confirm-proxy" "$T/$obj.o" "$prog" $((DUR + 60)) "$j/$n" \
			>"$T/out.$i" 2>>"$LOG"
		pids+=("$NWB_LAST")
		for k in $(seq 1 100); do
			grep -q ready "$T/out.$i" 2>/dev/null && break
			kill -0 "$NWB_LAST" 2>/dev/null || break
			sleep 0.05
		done
		grep -q ready "$T/out.$i" || die "$label: the proxy did not start (see $LOG)"
	done
	line=$(nwb_in "$NWB_NODE" "$STORM" storm "$NWB_SVC" 80 -t "$THREADS" -d "$DUR" 2>>"$LOG")
	for k in "${pids[@]}"; do
		nwb_stop "$k" # each prints what it timed
	done
	for i in $(seq 0 $((n - 1))); do
		read -r label obj prog <<<"${VARIANTS[$i]}"
		res=$(grep '^regions=' "$T/out.$i") || die "$label: no result (see $LOG)"
		printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$r" \
			"$(sed -nE 's/.*attempts=([0-9]+).*/\1/p' <<<"$line")" \
			"$(sed -nE 's/.*regions=([0-9]+).*/\1/p' <<<"$res")" \
			"$(sed -nE 's/.*ns_per_region=([0-9.]+).*/\1/p' <<<"$res")" \
			"$(sed -nE 's/.*lost=([0-9]+).*/\1/p' <<<"$res")" >>"$OUTDIR/confirm-proxy.tsv"
	done
}

report() {
	local tsv=$OUTDIR/confirm-proxy.tsv
	{
		echo "## fentry and kprobe program code, timed natively (tests/bench/confirm-proxy.sh)"
		echo
		echo "$(nproc) CPUs, kernel $(uname -r), $(date -u +%Y-%m-%d). Each backend object's per-connection code (bpf/confirm.bpf.h: entry push, return pop and the ring-buffer event) in a netfilter program before conntrack confirmation, timed with bpf_ktime_get_ns() once per new connection of a $THREADS-thread nw-storm through a kube-proxy-style DNAT. The variants run side by side, each timing a disjoint share of the connections, so that every round meets them all in the same machine state; $ROUNDS rounds x $DUR s. Per variant: the median over rounds of its ns per connection minus the clock reads alone (the timer variant) in the same round; the same in the quietest round (the one with the fastest netfilter path); and its difference from the netfilter path, round by round. The attach path (trampoline, kprobe trap) is in neither this figure nor the kernel's bpf_stats."
		echo
		echo "| Variant | new connections timed (all rounds) | ns per new connection minus the clock reads: median (min-max) | quietest round | minus the netfilter path, per round: median (min-max) | lost | 300 ns target (median) |"
		echo "|---|---|---|---|---|---|---|"
		awk -F'\t' '
			function median(s,   a, n, i, j, t) {
				n = split(s, a, " ")
				for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
				lo = a[1]; hi = a[n]
				return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
			}
			{
				ns[$1, $2] = $5; n[$1] += $4; lost[$1] += $6; round[$2] = 1
				if (!($1 in seen)) { seen[$1] = 1; order[++k] = $1 }
			}
			END {
				quiet = ""
				for (r in round)
					if (("timer" SUBSEP r) in ns && ("netfilter" SUBSEP r) in ns &&
					    (quiet == "" || ns["netfilter", r] - ns["timer", r] < ns["netfilter", quiet] - ns["timer", quiet]))
						quiet = r
				for (i = 1; i <= k; i++) {
					v = order[i]; net = ""; dnf = ""; raw = ""
					for (r in round) {
						if (!((v SUBSEP r) in ns) || !(("timer" SUBSEP r) in ns))
							continue
						raw = raw " " ns[v, r]
						net = net " " (ns[v, r] - ns["timer", r])
						if (("netfilter" SUBSEP r) in ns)
							dnf = dnf " " (ns[v, r] - ns["netfilter", r])
					}
					if (v == "timer") {
						m = median(raw)
						printf "| clock reads alone (timer) | %d | %.1f (%.1f-%.1f), not subtracted | %.1f | - | %d | - |\n", n[v], m, lo, hi, ns[v, quiet], lost[v]
						continue
					}
					m = median(net); mlo = lo; mhi = hi
					d = v == "netfilter" ? "-" : sprintf("%+.1f (%+.1f to %+.1f)", median(dnf), lo, hi)
					verdict = v == "netfilter" ? "- (its targets: per packet, and the rate)" : v == "ring" ? "- (one per event where a stage is busy; one per batch otherwise)" : (m <= 300 ? "within (native, by proxy)" : "over (native, by proxy)")
					printf "| %s | %d | %.1f (%.1f-%.1f) | %.1f | %s | %d | %s |\n", v, n[v], m, mlo, mhi, ns[v, quiet] - ns["timer", quiet], d, lost[v], verdict
				}
			}' "$tsv"
	} >"$OUTDIR/confirm-proxy.md"
	cat "$OUTDIR/confirm-proxy.md"
}

if [ "${1:-}" = --report ]; then
	rm -rf "$T"
	report
	exit 0
fi

build
nwb_up "$STORM"
trap 'nwb_cleanup; rm -rf "$T"' EXIT
preflight
: >"$OUTDIR/confirm-proxy.tsv"
echo "confirm-proxy: $ROUNDS rounds x $DUR s, ${#VARIANTS[@]} variants side by side"
for r in $(seq 1 "$ROUNDS"); do
	run_round "$r"
done
report
