#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# qemu-backends-guest.sh: the guest half of tests/bench/qemu-backends.sh,
# installed as the QEMU guest's only scenario (see tests/qemu/init).  Not run
# on the host.
#
# In the guest (TCG, one vCPU, no NIC), in namespaces it creates with
# /test/storm-lib.sh (the host storm's topology: node namespace with a
# kube-proxy-style DNAT 10.96.0.100:80 -> pod 10.224.9.2:8080), it runs
# /test/nw-storm through the DNAT:
#   1. throughput rounds: no tracer, natwho --backend netfilter, fentry,
#      kprobe (-o json to a file on the guest's tmpfs; fentry and kprobe with
#      --netns of the node namespace), interleaved NWQB_ROUNDS times in a
#      rotating order, NWQB_DURATION seconds each;
#   2. a BPF statistics phase (kernel.bpf_stats_enabled=1, restored after):
#      the run_time_ns/run_cnt of every BPF program natwho holds (bpftool
#      prog show id, ids from /proc/PID/fdinfo) across storms of
#      NWQB_BPF_DURATION seconds, NWQB_BPF_ROUNDS times: with
#      NWQB_BPF_MODE=apart one storm per backend, interleaved; with together
#      one natwho per backend, all attached to the same storm (the host's
#      load on the emulator hits all alike, but a program that runs after
#      another on the same packet finds the emulated TLB warm).
#      /test/nf-floor (an empty netfilter program) measures the accounting
#      floor alongside netfilter.
# Knobs come from /test/bench.conf (written by the host script):
#   NWQB_ROUNDS NWQB_DURATION NWQB_BPF_ROUNDS NWQB_BPF_DURATION NWQB_BPF_MODE
#   NWQB_THREADS NWQB_EXPECT (comma-separated backends the kernel config
#   says must attach).
#
# Results go to the console, one line each, parsed by the host (each after
# "NWQB t=<guest uptime> "):
#   backend name=B status=ok|unsupported reason=...
#   run variant=V round=R rate=N conns=N attempts=N seconds=S drain=S
#       delivered=N events=N lost=N
#     (drain: seconds natwho needed after the storm to print every event)
#   bpf round=R backend=B conns=N attempts=N rate=N prog=NAME ns=N cnt=N
#   floor round=R ns_per_run=X run_cnt=N
#   done
# Exit 0 when it measured, 1 on a failure (a backend the config supports did
# not attach, a storm made no connection, a tracer died), 77 when no natwho
# backend attaches and none is expected.
set -uo pipefail
# shellcheck source=tests/qemu/guest-lib.sh
. /test/guest-lib.sh

NATWHO=/test/natwho
STORM=/test/nw-storm
FLOOR=/test/nf-floor
NWQB_ROUNDS=3 NWQB_DURATION=4 NWQB_BPF_ROUNDS=3 NWQB_BPF_DURATION=4 NWQB_BPF_MODE=apart
NWQB_THREADS=1 NWQB_EXPECT=
# shellcheck source=/dev/null
. /test/bench.conf || nwq_fail "no /test/bench.conf"
NWB_SERVE_THREADS=1
NWB_P=nwqb-
# shellcheck source=tests/bench/storm-lib.sh
. /test/storm-lib.sh
NWB_TMP=$(mktemp -d /tmp/nwqb.XXXXXX) || nwq_fail "no tmpfs"
T=$NWB_TMP
AVAILABLE=()

say() { printf 'NWQB t=%s %s\n' "$(cut -d' ' -f1 /proc/uptime)" "$*"; }

field() { # field KEY LINE -> the number after KEY= in LINE
	sed -nE "s/.*(^| )$1=([0-9.]+).*/\\2/p" <<<"$2"
}

expected() { [[ ,$NWQB_EXPECT, == *",$1,"* ]]; }

# tracer_start VARIANT -> TRACER (pid; empty for none).  Output in
# $T/out.VARIANT, errors in $T/err.VARIANT.
tracer_start() {
	local v=$1 out=$T/out.$1 err=$T/err.$1
	TRACER=
	rm -f "$out" "$err"
	case $v in
	none) return 0 ;;
	netfilter) nwb_bg "$NWB_NODE" "$NATWHO" --backend netfilter -o json >"$out" 2>"$err" ;;
	*) nwb_bg "$NWB_NODE" "$NATWHO" --backend "$v" --netns "/var/run/netns/$NWB_NODE" \
		-o json >"$out" 2>"$err" ;;
	esac
	TRACER=$NWB_LAST
	natwho_wait_attached "$TRACER" 60 || nwq_fail "natwho --backend $v did not attach: $(head -c 300 "$err")"
}

# tracer_stop VARIANT PID -> COUNTS="delivered events lost" ("- - -" for none)
tracer_stop() {
	local v=$1 pid=$2 sum
	COUNTS="- - -"
	[ -n "$pid" ] || return 0
	kill -0 "$pid" 2>/dev/null || nwq_fail "natwho ($v) died during the storm: $(head -c 300 "$T/err.$v")"
	nwb_stop "$pid" INT
	# grep first: a regex over every line takes seconds under TCG.
	sum=$(grep -F '"type":"summary"' "$T/out.$v" |
		sed -nE 's/.*"events":([0-9]+),"lost":([0-9]+).*/\1 \2/p')
	COUNTS="$(grep -cF '"type":"conn"' "$T/out.$v") ${sum:-? ?}"
}

storm() { # storm SECONDS -> nw-storm's result line
	nwb_in "$NWB_NODE" "$STORM" storm "$NWB_SVC" 80 -t "$NWQB_THREADS" -d "$1" 2>>"$T/storm.log"
}

probe_backends() {
	local b out rc why
	for b in netfilter fentry kprobe; do
		nwq_log "probing natwho --backend $b"
		if [ "$b" = netfilter ]; then
			out=$(timeout 120 nsenter --net="/var/run/netns/$NWB_NODE" -- "$NATWHO" \
				--backend "$b" -o json -d 1 2>&1)
		else
			out=$(timeout 120 nsenter --net="/var/run/netns/$NWB_NODE" -- "$NATWHO" \
				--backend "$b" --netns "/var/run/netns/$NWB_NODE" -o json -d 1 2>&1)
		fi
		rc=$?
		if [ $rc -eq 0 ]; then
			AVAILABLE+=("$b")
			say "backend name=$b status=ok"
			continue
		fi
		why=$(sed -nE 's/.*"error":"(.*)"}$/\1/p; s/^Error: //p' <<<"$out" | head -n 1)
		expected "$b" && nwq_fail "natwho --backend $b does not attach (exit $rc) on a kernel that has it: ${why:-$out}"
		say "backend name=$b status=unsupported reason=exit $rc: ${why:-no message}"
	done
	[ ${#AVAILABLE[@]} -gt 0 ] || nwq_skip "no natwho backend attaches on $(uname -r)"
}

uptime_s() { cut -d' ' -f1 /proc/uptime; }

# Wait (up to 5 min) until natwho has printed N events, or printed nothing
# new for 3 s, and set DRAIN to the seconds that took after the storm.
drain_wait() {
	local v=$1 n=$2 t0 got last=-1 still=0
	t0=$(uptime_s)
	DRAIN=0
	[ "$v" != none ] || return 0
	for _ in $(seq 1 1500); do
		got=$(grep -cF '"type":"conn"' "$T/out.$v")
		[ "$got" -ge "$n" ] && break
		if [ "$got" = "$last" ]; then
			still=$((still + 1))
			[ $still -ge 15 ] && break
		else
			still=0
		fi
		last=$got
		sleep 0.2
	done
	DRAIN=$(awk -v a="$t0" -v b="$(uptime_s)" 'BEGIN { printf "%.2f", b - a }')
}

run_one() { # run_one VARIANT ROUND
	local v=$1 r=$2 line rate conns attempts
	nwb_ct_settle 20000
	tracer_start "$v"
	line=$(storm "$NWQB_DURATION")
	rate=$(field rate "$line") conns=$(field connections "$line") attempts=$(field attempts "$line")
	[ -n "$rate" ] && [ "${conns:-0}" -gt 0 ] ||
		nwq_fail "nw-storm failed (round $r, $v): $line"
	drain_wait "$v" "$attempts"
	tracer_stop "$v" "$TRACER"
	# shellcheck disable=SC2086 # three words
	set -- $COUNTS
	say "run variant=$v round=$r rate=$rate conns=$conns attempts=$attempts" \
		"seconds=$(field seconds "$line") drain=$DRAIN delivered=$1 events=$2 lost=$3"
}

rounds() {
	local variants=(none "${AVAILABLE[@]}") n r i
	n=${#variants[@]}
	for r in $(seq 1 "$NWQB_ROUNDS"); do
		for i in $(seq 0 $((n - 1))); do
			run_one "${variants[$(((i + r - 1) % n))]}" "$r"
		done
	done
}

# prog_totals PID -> "name run_time_ns run_cnt" per program natwho holds
prog_totals() {
	local id
	for id in $(grep -hs '^prog_id:' /proc/"$1"/fdinfo/* | awk '{ print $2 }' | sort -un); do
		bpftool prog show id "$id" -j 2>/dev/null | jq -r '"\(.name) \(.run_time_ns // 0) \(.run_cnt // 0)"'
	done
}

floor_start() { # the empty netfilter program, for SECONDS; sets FLOOR_PID
	local i
	rm -f "$T/floor"
	nwb_bg "$NWB_NODE" "$FLOOR" "$1" >"$T/floor" 2>&1
	FLOOR_PID=$NWB_LAST
	for i in $(seq 1 100); do
		grep -q ready "$T/floor" && return 0
		sleep 0.1
	done
	nwq_fail "nf-floor did not start: $(cat "$T/floor")"
}

floor_report() { # floor_report ROUND: waits for nf-floor's line
	local line
	nwb_reap "$FLOOR_PID"
	line=$(grep run_cnt "$T/floor")
	[ -n "$line" ] || nwq_fail "nf-floor reported nothing: $(cat "$T/floor")"
	say "floor round=$1 ns_per_run=$(field ns_per_run "$line") run_cnt=$(field run_cnt "$line")"
}

# bpf_storm ROUND BACKEND...: natwho with each BACKEND at once (and nf-floor
# with netfilter), one storm; each program's run time and count across it.
bpf_storm() {
	local r=$1 b line floor=0
	shift
	declare -A pid=()
	nwb_ct_settle 20000
	for b in "$@"; do
		tracer_start "$b"
		pid[$b]=$TRACER
		[ "$b" = netfilter ] && floor=1
	done
	# Linked for the storm only: it reports 2 s after the storm ends.
	[ $floor = 0 ] || floor_start $((NWQB_BPF_DURATION + 2))
	for b in "$@"; do
		prog_totals "${pid[$b]}" >"$T/bpf0.$b"
		[ -s "$T/bpf0.$b" ] || nwq_fail "no BPF program found in natwho ($b)'s fdinfo"
	done
	line=$(storm "$NWQB_BPF_DURATION")
	for b in "$@"; do
		prog_totals "${pid[$b]}" >"$T/bpf1.$b"
	done
	[ "$(field connections "$line")" -gt 0 ] 2>/dev/null || nwq_fail "nw-storm failed (BPF phase, $*): $line"
	for b in "$@"; do
		tracer_stop "$b" "${pid[$b]}"
		# (a pipe: the guest has no /dev/fd for process substitution)
		awk 'NR == FNR { ns[$1] -= $2; cnt[$1] -= $3; next } { ns[$1] += $2; cnt[$1] += $3 }
		     END { for (n in ns) print n, ns[n], cnt[n] }' "$T/bpf0.$b" "$T/bpf1.$b" |
			while read -r name ns cnt; do
				say "bpf round=$r backend=$b conns=$(field connections "$line")" \
					"attempts=$(field attempts "$line") rate=$(field rate "$line")" \
					"prog=$name ns=$ns cnt=$cnt"
			done
	done
	[ $floor = 0 ] || floor_report "$r"
}

bpf_phase() {
	local n=${#AVAILABLE[@]} r i
	command -v bpftool >/dev/null || nwq_fail "no bpftool in the guest"
	NWB_SYSCTL_SAVED=$(sysctl -n kernel.bpf_stats_enabled) || nwq_fail "cannot read kernel.bpf_stats_enabled"
	sysctl -qw kernel.bpf_stats_enabled=1 || nwq_fail "cannot enable kernel.bpf_stats_enabled"
	for r in $(seq 1 "$NWQB_BPF_ROUNDS"); do
		if [ "$NWQB_BPF_MODE" = together ]; then
			bpf_storm "$r" "${AVAILABLE[@]}"
			continue
		fi
		for i in $(seq 0 $((n - 1))); do
			bpf_storm "$r" "${AVAILABLE[$(((i + r - 1) % n))]}"
		done
	done
	sysctl -qw kernel.bpf_stats_enabled="$NWB_SYSCTL_SAVED"
	NWB_SYSCTL_SAVED=
}

nwq_log "qemu-backends: $NWQB_ROUNDS rounds x ${NWQB_DURATION}s, BPF phase $NWQB_BPF_ROUNDS x ${NWQB_BPF_DURATION}s ($NWQB_BPF_MODE), $NWQB_THREADS storm thread(s), $(nproc) vCPU"
nwb_up "$STORM"
probe_backends
rounds
bpf_phase
say "done"
