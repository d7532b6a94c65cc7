#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Where natwho's cost in the connection storm comes from (issue 7), as root,
# by hand (not part of `make bench`):
#
#   tests/bench/ablation.sh [ROUNDS [SECONDS]]     (default 6 rounds x 4 s)
#
# The storm of tests/bench/storm.sh (storm-lib.sh's namespaces) under each
# variant, interleaved in a rotating order:
#   none      no tracer
#   hooks     natwho --port 1: its netfilter programs run on every packet,
#             every connection is filtered out in the kernel (no ring traffic)
#   quiet     natwho -q: every event goes through the ring and is decoded,
#             annotated and counted; nothing printed
#   text      natwho: the default text output, to a file on tmpfs
# and, with BPF_AB=1, the new-connection program time of two natwho builds
# attached to the same storms instead (NATWHO_A, NATWHO_B; which one hooks
# first alternates per round: the second sees warmer caches), each run with
# -q and the words of NWA_ARGS (say "--port 9": the path of a connection a
# filter leaves out).
#
# Per run: the storm's CPU per connection (load generator + server, whose
# context runs the softirq work and the BPF programs; natwho's own CPU is not
# included), and natwho's CPU per event (schedstat, ns).  Prints, per
# variant, the median over the rounds of the per-round ratio to the same
# round's no-tracer run.  Exit 0 when it ran, 1 when it could not, 77 when
# not root.
set -uo pipefail

cd "$(dirname "$0")/../.."
NWB_NAME=ablation
. tests/bench/storm-lib.sh
nwb_paths
ROUNDS=${1:-6}
DUR=${2:-4}
. tests/bench/storm-bpf.sh

nwb_need_root
[[ $ROUNDS =~ ^[1-9][0-9]*$ && $DUR =~ ^[1-9][0-9]*$ ]] ||
	{ echo "usage: $0 [ROUNDS [SECONDS]]" >&2; exit 1; }
[ -x "$NATWHO" ] && [ -x "$STORM" ] || { echo "ablation: run make and make tests first" >&2; exit 1; }

T=$(mktemp -d /dev/shm/nwab.XXXXXX) || exit 1

proc_cpu_ns() { awk '{ print $1 }' "/proc/$1/schedstat" 2>/dev/null || echo 0; }

# storm -> "conns storm_cpu_s" (load generator and server)
storm() {
	local s0 s1 line
	s0=$(proc_cpu_ns "$NWB_SERVER")
	line=$(nwb_in "$NWB_NODE" "$STORM" storm "$NWB_SVC" 80 -t 2 -d "$DUR")
	s1=$(proc_cpu_ns "$NWB_SERVER")
	awk -v l="$line" -v s=$((s1 - s0)) 'BEGIN {
		match(l, /connections=[0-9]+/); c = substr(l, RSTART + 12, RLENGTH - 12)
		match(l, /cpu=[0-9.]+/); u = substr(l, RSTART + 4, RLENGTH - 4)
		if (c + 0 <= 0) exit 1
		print c, u + s / 1e9 }' || die "nw-storm failed: $line"
}

natwho_start() { # natwho_start ARGS... -> $P once attached
	nwb_bg "$NWB_NODE" "$@" >"$T/out" 2>"$T/err"
	P=$NWB_LAST
	natwho_wait_attached "$P" || die "natwho did not start: $(cat "$T/err")"
}

ablation() {
	local vs=(none hooks quiet text) n=4 r i v c0 c1 res
	for r in $(seq 1 "$ROUNDS"); do
		for i in $(seq 0 $((n - 1))); do
			v=${vs[$(((i + r - 1) % n))]}
			nwb_ct_settle 20000
			P=
			case $v in
			hooks) natwho_start "$NATWHO" --backend netfilter --port 1 ;;
			quiet) natwho_start "$NATWHO" --backend netfilter -q ;;
			text) natwho_start "$NATWHO" --backend netfilter ;;
			esac
			c0=$([ -n "$P" ] && proc_cpu_ns "$P" || echo 0)
			res=$(storm) || exit 1
			c1=$([ -n "$P" ] && proc_cpu_ns "$P" || echo 0)
			[ -n "$P" ] && nwb_stop "$P" INT
			echo "$v $r $res $((c1 - c0))"
		done
	done >"$T/runs"
	awk '{ cpc[$1, $2] = $4 / $3 * 1e6; nat[$1, $2] = $5 / $3; seen[$1] = 1; rounds[$2] = 1 }
	function med(a, n,  i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
		if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
	END {
		printf "%-6s %-28s %-22s %s\n", "", "storm CPU per connection", "vs no tracer (median", "natwho CPU"
		printf "%-6s %-28s %-22s %s\n", "", "(median, us)", "of per-round ratios)", "per event (ns)"
		split("none hooks quiet text", vs, " ")
		for (k = 1; k <= 4; k++) {
			v = vs[k]; n = 0; m = 0
			for (r in rounds) {
				a[++n] = cpc[v, r]; b[n] = cpc[v, r] / cpc["none", r]; c[n] = nat[v, r]
			}
			x = med(a, n); y = med(b, n); z = med(c, n)
			printf "%-6s %-28.2f %-22.3f %s\n", v, x, y, v == "none" ? "-" : sprintf("%.0f", z)
		}
	}' "$T/runs"
}

# Two builds on the same storms: per-connection program time of each.
bpf_ab() {
	local a=${NATWHO_A:?NATWHO_A} b=${NATWHO_B:?NATWHO_B} r first second pa pb n
	NWB_SYSCTL_SAVED=$(sysctl -n kernel.bpf_stats_enabled) || die "cannot read bpf_stats_enabled"
	sysctl -qw kernel.bpf_stats_enabled=1 || die "cannot enable bpf_stats_enabled"
	for r in $(seq 1 "$ROUNDS"); do
		if [ $((r % 2)) = 1 ]; then first=$a second=$b; else first=$b second=$a; fi
		nwb_ct_settle 20000
		natwho_start "$first" --backend netfilter -q ${NWA_ARGS:-}
		pa=$P
		natwho_start "$second" --backend netfilter -q ${NWA_ARGS:-}
		pb=$P
		prog_totals "$pa" >"$T/a0"
		prog_totals "$pb" >"$T/b0"
		n=$(storm | cut -d' ' -f1) || exit 1
		prog_totals "$pa" >"$T/a1"
		prog_totals "$pb" >"$T/b1"
		nwb_stop "$pa" INT
		nwb_stop "$pb" INT
		printf 'round %d: first %s %s ns, second %s %s ns per connection\n' "$r" "$first" \
			"$(bpf_delta "$T/a0" "$T/a1" | awk -v n="$n" '$1 == "all" { printf "%.0f", $2 / n }')" \
			"$second" "$(bpf_delta "$T/b0" "$T/b1" | awk -v n="$n" '$1 == "all" { printf "%.0f", $2 / n }')"
	done
	sysctl -qw kernel.bpf_stats_enabled="$NWB_SYSCTL_SAVED"
	NWB_SYSCTL_SAVED=
}

nwb_up "$STORM"
trap 'nwb_cleanup; rm -rf "$T"' EXIT
if [ "${BPF_AB:-0}" = 1 ]; then
	bpf_ab
else
	ablation
fi
