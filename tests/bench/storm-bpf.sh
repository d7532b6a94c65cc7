# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Sourced by tests/bench/storm.sh: the kernel-side measurements.
#
# bpf_stats_phase: BPF program run time per invocation, from the kernel's own
#   statistics (kernel.bpf_stats_enabled=1 for this phase only: the
#   accounting costs two clock reads per run, so the throughput rounds run
#   without it; the saved value is restored here and by the EXIT trap).
#   During NWB_BPF_STORMS (5) storms (new connections plus their
#   handshake/RST packets; the storm with the median program time per
#   connection is reported, the others beside it: one storm's figure moved
#   from 555 to 746 ns between two runs of an unchanged program) and during a
#   ping-pong over established connections only.  An empty
#   netfilter program (nf-floor.c), linked alongside for both, measures what
#   the accounting itself reports for doing nothing on this machine.
# testrun_phase: the same programs' own run time per packet of an
#   established connection, by BPF_PROG_TEST_RUN (nf-testrun.c: no clock
#   reads per run; kernel.bpf_stats_enabled=0 for this phase, the saved value
#   restored), beside an empty netfilter program run the same way.  Raw
#   output in bpf-testrun.txt; BPF_TR_STATUS is "ok", "unsupported: ..." or
#   "failed: ...".
# burst_phase: how many events a stopped consumer's ring buffer holds.

# prog_totals PID -> one line per program natwho holds: "name run_time_ns run_cnt"
prog_totals() {
	local id
	for id in $(grep -hs '^prog_id:' /proc/"$1"/fdinfo/* | awk '{ print $2 }' | sort -un); do
		bpftool prog show id "$id" -j 2>/dev/null | awk '{
			name = $0; sub(/.*"name":"/, "", name); sub(/".*/, "", name)
			ns = 0; cnt = 0
			if (match($0, /"run_time_ns":[0-9]+/)) ns = substr($0, RSTART + 14, RLENGTH - 14)
			if (match($0, /"run_cnt":[0-9]+/)) cnt = substr($0, RSTART + 10, RLENGTH - 10)
			print name, ns, cnt }'
	done
}

# bpf_delta BEFORE AFTER -> "name ns cnt" per program name, and "all ns cnt"
bpf_delta() {
	awk 'NR == FNR { ns[$1] -= $2; cnt[$1] -= $3; next }
	     { ns[$1] += $2; cnt[$1] += $3 }
	     END { for (n in ns) { print n, ns[n], cnt[n]; ans += ns[n]; acnt += cnt[n] }
		   print "all", ans, acnt }' "$1" "$2"
}

bpf_stats_phase() {
	local line floor i n=${NWB_BPF_STORMS:-5} conns pick
	echo "bench: BPF run time (kernel.bpf_stats_enabled=1 for this phase)"
	NWB_SYSCTL_SAVED=$(sysctl -n kernel.bpf_stats_enabled) || die "cannot read kernel.bpf_stats_enabled"
	sysctl -qw kernel.bpf_stats_enabled=1 || die "cannot enable kernel.bpf_stats_enabled"
	${CC:-cc} -O2 -Wall -Wextra -Werror -std=gnu11 tests/bench/nf-floor.c -o "$T/nf-floor" ||
		die "cannot build tests/bench/nf-floor.c"
	nwb_ct_settle
	rm -f "$T/out" "$T/err" "$T/floor"
	nwb_bg "$NWB_NODE" "$T/nf-floor" $((DUR * n + 10)) >"$T/floor" 2>>"$LOG"
	floor=$NWB_LAST
	tracer_start json
	grep -q ready "$T/floor" || die "nf-floor did not start: see $LOG"
	: >"$T/storms"
	for i in $(seq 1 "$n"); do
		prog_totals "$TRACER" >"$T/bpf0.$i"
		line=$(nwb_in "$NWB_NODE" "$STORM" storm "$NWB_SVC" 80 -t "$THREADS" -d "$DUR" 2>>"$LOG")
		prog_totals "$TRACER" >"$T/bpf1.$i"
		conns=$(sed -nE 's/.*attempts=([0-9]+).*/\1/p' <<<"$line")
		bpf_delta "$T/bpf0.$i" "$T/bpf1.$i" | awk -v i="$i" -v c="$conns" \
			-v r="$(sed -nE 's/.*rate=([0-9]+).*/\1/p' <<<"$line")" \
			'$1 == "all" && c > 0 { printf "%d %.0f %d %d\n", i, $2 / c, c, r }' >>"$T/storms"
	done
	[ "$(wc -l <"$T/storms")" -eq "$n" ] || die "BPF stats phase: a storm failed: see $LOG"
	read -r pick _ BPF_STORM_CONNS BPF_STORM_RATE < <(sort -k2,2n "$T/storms" | sed -n "$(((n + 1) / 2))p")
	BPF_STORM_ALL=$(sort -k2,2n "$T/storms" | awk '{ printf "%s%s", s, $2; s = " " }')
	cp "$T/bpf0.$pick" "$T/bpf0"
	cp "$T/bpf1.$pick" "$T/bpf1"
	line=$(nwb_in "$NWB_NODE" "$STORM" pingpong "$NWB_SVC" 81 -t 2 -d 4 2>>"$LOG")
	prog_totals "$TRACER" >"$T/bpf2"
	BPF_PP_RT=$(sed -nE 's/.*roundtrips=([0-9]+).*/\1/p' <<<"$line")
	nwb_stop "$TRACER" INT
	nwb_reap "$floor"
	BPF_FLOOR_NS=$(sed -nE 's/.*ns_per_run=([0-9.]+).*/\1/p' "$T/floor")
	BPF_FLOOR_CNT=$(sed -nE 's/.*run_cnt=([0-9]+).*/\1/p' "$T/floor")
	sysctl -qw kernel.bpf_stats_enabled="$NWB_SYSCTL_SAVED"
	NWB_SYSCTL_SAVED=
	bpf_delta "$T/bpf0" "$T/bpf1" >"$OUTDIR/bpf-storm.txt"
	bpf_delta "$T/bpf1.$n" "$T/bpf2" >"$OUTDIR/bpf-established.txt"
	echo "  storms: $BPF_STORM_ALL ns of program time per connection; the median one:"
	echo "  storm: $BPF_STORM_CONNS connections at $BPF_STORM_RATE/s; $(tr '\n' ';' <"$OUTDIR/bpf-storm.txt")"
	echo "  ping-pong: $BPF_PP_RT round trips; $(tr '\n' ';' <"$OUTDIR/bpf-established.txt")"
	echo "  empty netfilter program (the accounting floor): $(grep run_cnt "$T/floor")"
	[ -n "$BPF_STORM_CONNS" ] && [ -n "$BPF_PP_RT" ] && [ -n "$BPF_FLOOR_NS" ] ||
		die "BPF stats phase failed: see $LOG"
}

BPF_TR_REPEAT=10000000
BPF_TR_RUNS=15

testrun_phase() {
	local rc
	echo "bench: BPF_PROG_TEST_RUN of natwho's netfilter programs ($BPF_TR_REPEAT runs per call, $BPF_TR_RUNS calls each)"
	: >"$OUTDIR/bpf-testrun.txt"
	if ! ${CC:-cc} -O2 -Wall -Wextra -Werror -std=gnu11 -D_GNU_SOURCE -Isrc tests/bench/nf-testrun.c \
		tests/bench/rodata.c src/nf_compat.c -lbpf -lelf -lz -o "$T/nf-testrun" 2>>"$LOG"; then
		BPF_TR_STATUS="failed: cannot build tests/bench/nf-testrun.c (see bench.log)"
		echo "  $BPF_TR_STATUS"
		return 0
	fi
	NWB_SYSCTL_SAVED=$(sysctl -n kernel.bpf_stats_enabled) || die "cannot read kernel.bpf_stats_enabled"
	[ "$NWB_SYSCTL_SAVED" = 0 ] || sysctl -qw kernel.bpf_stats_enabled=0 ||
		die "cannot disable kernel.bpf_stats_enabled"
	nwb_in "$NWB_NODE" "$T/nf-testrun" -n "$BPF_TR_REPEAT" -r "$BPF_TR_RUNS" "$ROOT/$BUILD/nf.bpf.o" \
		>"$OUTDIR/bpf-testrun.txt" 2>>"$LOG"
	rc=$?
	[ "$NWB_SYSCTL_SAVED" = 0 ] || sysctl -qw kernel.bpf_stats_enabled="$NWB_SYSCTL_SAVED"
	NWB_SYSCTL_SAVED=
	case $rc in
	0) BPF_TR_STATUS=ok ;;
	4) BPF_TR_STATUS=$(grep -m1 '^unsupported: ' "$OUTDIR/bpf-testrun.txt") ;;
	*) BPF_TR_STATUS="failed: nf-testrun exited $rc (see bench.log)" ;;
	esac
	BPF_TR_STATUS=${BPF_TR_STATUS:-"unsupported: no reason given"}
	[ "$BPF_TR_STATUS" = ok ] && sed 's/^/  /' "$OUTDIR/bpf-testrun.txt" || echo "  $BPF_TR_STATUS"
	[ "$BPF_TR_STATUS" = ok ] && accounting_cost
}

# What kernel.bpf_stats_enabled itself adds to every run (its two clock
# reads): the empty program test-run with the accounting on, minus the same
# with it off (above).  Sets BPF_ACCT_NS; the storm's per-connection program
# time minus this per invocation is what natwho's programs cost when nobody
# measures them.
accounting_cost() {
	local on off
	NWB_SYSCTL_SAVED=$(sysctl -n kernel.bpf_stats_enabled) || die "cannot read kernel.bpf_stats_enabled"
	sysctl -qw kernel.bpf_stats_enabled=1 || die "cannot enable kernel.bpf_stats_enabled"
	nwb_in "$NWB_NODE" "$T/nf-testrun" -n $((BPF_TR_REPEAT / 5)) -r 3 "$ROOT/$BUILD/nf.bpf.o" \
		>"$OUTDIR/bpf-testrun-stats.txt" 2>>"$LOG"
	sysctl -qw kernel.bpf_stats_enabled="$NWB_SYSCTL_SAVED"
	NWB_SYSCTL_SAVED=
	on=$(sed -nE 's/^prog=empty .*median_ns=([0-9.]+).*/\1/p' "$OUTDIR/bpf-testrun-stats.txt")
	off=$(sed -nE 's/^prog=empty .*median_ns=([0-9.]+).*/\1/p' "$OUTDIR/bpf-testrun.txt")
	BPF_ACCT_NS=$(awk -v a="$on" -v b="$off" 'BEGIN { if (a != "" && b != "" && a > b) printf "%.1f", a - b }')
	echo "  bpf_stats accounting: empty program ${on:-?} ns per run with it, ${off:-?} without: ${BPF_ACCT_NS:-?} ns per invocation"
}

# How the ring holds the storm's IPv4 events, from the header natwho is
# built with: "EVENT REC PER_BATCH BATCH_BYTES".  Events reach the ring in
# batches (bpf/common.bpf.h, nw_emit()): each a struct nw_batch_rec and the
# event (REC bytes), a stage handed over once it has less than NW_STAGE_REC
# (the largest record, an IPv6 one) left, as one ring record of
# BPF_RINGBUF_HDR_SZ (8) + struct nw_batch_hdr + PER_BATCH x REC bytes.
ring_layout() {
	printf '#include <stdio.h>\n#include <linux/types.h>\n#include "natwho.h"\n%s\n' \
		'int main(void) {
			size_t ev = sizeof(struct nw_event4), rec = sizeof(struct nw_batch_rec) + ev;
			size_t n = (NW_STAGE_BYTES - NW_STAGE_REC) / rec + 1;
			printf("%zu %zu %zu %zu\n", ev, rec, n, 8 + sizeof(struct nw_batch_hdr) + n * rec);
			return 0;
		}' | ${CC:-cc} -Iinclude -x c - -o "$T/layout" && "$T/layout"
}

# Wait (bounded) until natwho's output stops growing for a second.
wait_drained() {
	local last=-1 size i
	for i in $(seq 1 600); do
		size=$(stat -c %s "$T/out" 2>/dev/null || echo 0)
		[ "$size" = "$last" ] && return 0
		last=$size
		sleep 1
	done
}

# burst RINGSIZE N: natwho stopped (SIGSTOP) while N connections are made,
# then resumed.  Appends "ringsize n attempts delivered events lost" to bursts.tsv.
burst() {
	local size=$1 n=$2 line attempts counts
	nwb_ct_settle
	rm -f "$T/out" "$T/err"
	tracer_start json --ringbuf-size "$size"
	kill -STOP "$TRACER"
	line=$(nwb_in "$NWB_NODE" "$STORM" storm "$NWB_SVC" 80 -t "$THREADS" -n "$n" 2>>"$LOG")
	attempts=$(sed -nE 's/.*attempts=([0-9]+).*/\1/p' <<<"$line")
	kill -CONT "$TRACER"
	wait_drained
	nwb_stop "$TRACER" INT
	counts=$(tracer_counts json)
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$size" "$n" "$attempts" $counts >>"$OUTDIR/bursts.tsv"
	echo "  burst: ring $size, $n connections ($line): delivered/counted/lost $counts"
}

burst_phase() {
	local rec rest
	read -r EVENT_SIZE REC_SIZE BATCH_EVENTS BATCH_BYTES < <(ring_layout) &&
		[ -n "$BATCH_BYTES" ] || die "cannot compute the ring's layout from include/natwho.h"
	# whole batches, then what the rest holds of one more
	rest=$((8 * 1024 * 1024 % BATCH_BYTES - BATCH_BYTES + BATCH_EVENTS * REC_SIZE))
	CAP_8M=$((8 * 1024 * 1024 / BATCH_BYTES * BATCH_EVENTS + (rest > 0 ? rest / REC_SIZE : 0)))
	rec=$(((1000000 + BATCH_EVENTS - 1) / BATCH_EVENTS * BATCH_BYTES))
	RING_1M=4096
	while [ "$RING_1M" -lt "$rec" ]; do RING_1M=$((RING_1M * 2)); done
	echo "bench: bursts into a stopped natwho: IPv4 event $EVENT_SIZE B, $REC_SIZE B staged," \
		"$BATCH_EVENTS per batch of $BATCH_BYTES B in the ring; 8M holds $CAP_8M, 1M events need $RING_1M B"
	printf 'ringsize\tburst\tattempts\tdelivered\tsummary_events\tlost\n' >"$OUTDIR/bursts.tsv"
	burst 8M $((CAP_8M - 250))
	burst 8M $((CAP_8M + 5000))
	if [ "$BURST_1M" = 1 ]; then
		burst $((RING_1M / 2)) 1000000
		burst "$RING_1M" 1000000
	fi
}
