# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Sourced by tests/bench/storm.sh: turns runs.tsv, bpf-*.txt, bursts.tsv
# and onoff.tsv (tests/bench/onoff.sh, whose functions it uses) into the
# Markdown results table (targets of issue 7: PASS, MISS, or NOT SHOWN when
# the measurement spreads too far to tell).

variant_name() {
	case $1 in
	json) echo "netfilter, JSON" ;;
	text) echo "netfilter, text" ;;
	capfile) echo "netfilter, capture file" ;;
	quiet) echo "netfilter, -q (no output per event)" ;;
	filtered) echo "netfilter, --port 9 (no connection matches)" ;;
	devnull) echo "netfilter, text to /dev/null" ;;
	jsonnull) echo "netfilter, JSON to /dev/null" ;;
	alt) echo "netfilter, text, ${NWO_ALT:-another build}" ;;
	floor) echo "empty netfilter programs at natwho's two hooks (nf-floor, not natwho)" ;;
	none) echo "no tracer" ;;
	conntrack) echo "conntrack -E -e NEW" ;;
	*) echo "$1, JSON" ;;
	esac
}

# Column of runs.tsv by header name, for one variant.
runs_col() { # runs_col VARIANT COLUMN
	awk -F'\t' -v v="$1" -v c="$2" 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
		$1 == v { print $col[c] }' "$RES"
}

# "median min max" of numbers on stdin ("- - -" when there are none).
med_min_max() {
	sort -g | awk '{ a[NR] = $1 } END {
		if (!NR) { print "- - -"; exit }
		m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
		print m, a[1], a[NR] }'
}

# "median lo hi" of numbers on stdin, lo and hi the order statistics that
# bracket the median with at least 90% confidence whatever the distribution
# (x(k) and x(n+1-k), k the largest with 1 - 2 P(Bin(n, 1/2) < k) >= 0.9):
# min and max for 5 to 7 rounds, the second smallest and largest for 8 to 10.
# "- - -" without numbers; lo and hi "-" under 5.
med_ci90() {
	sort -g | awk '{ a[NR] = $1 } END {
		n = NR
		if (!n) { print "- - -"; exit }
		m = n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
		k = 0; tail = 0; c = 1 # c = C(n, i), tail = P(B < k) * 2^n
		for (i = 0; 2 * i < n; i++) {
			tail += c
			if (1 - 2 * tail / 2 ^ n < 0.9)
				break
			k = i + 1; c = c * (n - i) / (i + 1)
		}
		if (k) print m, a[k], a[n + 1 - k]; else print m, "-", "-" }'
}

# Per-round rate of VARIANT divided by the same round's no-tracer rate.
paired_ratios() {
	awk -F'\t' -v v="$1" 'NR > 1 && $1 == "none" { base[$2] = $3 }
		NR > 1 && $1 == v { r[$2] = $3 }
		END { for (k in r) if (base[k] > 0) print r[k] / base[k] }' "$RES"
}

# CPU microseconds per delivered event, user+sys, per run of VARIANT.
cpu_per_event() { # cpu_per_event VARIANT [utime_s|stime_s|both]
	awk -F'\t' -v v="$1" -v w="${2:-both}" 'NR > 1 && $1 == v && $6 > 0 {
		t = w == "utime_s" ? $9 : w == "stime_s" ? $10 : $9 + $10
		print t / $6 * 1e6 }' "$RES"
}

# Sums over the runs of VARIANT: "conns attempts delivered lost_reported"
runs_sums() {
	awk -F'\t' -v v="$1" 'NR > 1 && $1 == v { c += $4; a += $5; d += $6; l += ($8 == "-" ? 0 : $8) }
		END { printf "%d %d %d %d\n", c, a, d, l }' "$RES"
}

verdict() { # verdict VALUE LIMIT -> PASS when VALUE <= LIMIT
	awk -v x="$1" -v l="$2" 'BEGIN { print (x != "-" && x + 0 <= l + 0) ? "PASS" : "MISS" }'
}

fmt() { # fmt PRINTF-FORMAT NUMBER
	awk -v f="$1" -v x="$2" 'BEGIN { if (x == "-") print "-"; else printf f, x }'
}

# Rate cost of VARIANT in percent, 100 * (1 - paired ratio): "median lo hi"
# (med_ci90 of the per-round ratios, the bounds swapped).
cost_pct() {
	paired_ratios "$1" | med_ci90 | awk '{
		for (i = 1; i <= 3; i++) c[i] = $i == "-" ? "-" : sprintf("%.1f", 100 * (1 - $i))
		print c[1], c[3], c[2] }'
}

# Zero-loss verdict over all natwho runs: no loss reported, and every
# connection made delivered exactly once (the tracer's count agrees).
natwho_loss_line() {
	awk -F'\t' 'NR > 1 && $1 != "none" && $1 != "conntrack" {
		runs++; lost += $8; made += $4; got += $6
		if ($8 != 0 || $6 < $4 || $6 != $7) bad++
		if ($3 > max) max = $3 }
		END { printf "%d %d %d %d %d %d\n", runs, bad, lost, made, got, max }' "$RES"
}

# CPU microseconds per connection of the whole storm, per run of VARIANT:
# load generator + server (their syscalls and the softirq work, BPF programs
# included, done in their context) + the tracer.  Unlike the rate, this does
# not move when other work on the machine takes CPU away from the storm.
cpu_per_conn() {
	awk -F'\t' -v v="$1" 'NR > 1 && $1 == v && $4 > 0 {
		t = $12 + $13 + (v == "none" ? 0 : $9 + $10)
		print $2, t / $4 * 1e6 }' "$RES"
}

# Extra CPU per connection of VARIANT over the same round's no-tracer run,
# in percent: "median lo hi" over the rounds (med_ci90).
cpu_cost_pct() {
	{ cpu_per_conn none | sed 's/^/none /'; cpu_per_conn "$1" | sed 's/^/v /'; } |
		awk '$1 == "none" { base[$2] = $3; next } { r[$2] = $3 }
		     END { for (k in r) if (base[k] > 0) print r[k] / base[k] - 1 }' | med_ci90 |
		awk '{ for (i = 1; i <= 3; i++) c[i] = $i == "-" ? "-" : sprintf("%.1f", 100 * $i); print c[1], c[2], c[3] }'
}

# cost_verdict "RATE_MED LO HI" "CPU_MED LO HI": PASS when both costs are
# within 2% across their 90% intervals, MISS when either is over 2% across
# its interval, else NOT SHOWN: the rounds spread too far to tell.
cost_verdict() {
	awk -v c="$1" -v e="$2" 'BEGIN {
		split(c, r, " "); split(e, u, " ")
		if (r[2] == "-" || u[2] == "-") print "NOT SHOWN (too few rounds for an interval)"
		else if (r[3] + 0 <= 2 && u[3] + 0 <= 2) print "PASS"
		else if (r[2] + 0 > 2 || u[2] + 0 > 2) print "MISS"
		else printf "NOT SHOWN (the 90%% intervals reach from %s%% to %s%%: this VM'"'"'s noise is larger than the target)\n", (r[2] < u[2] ? r[2] : u[2]), (r[3] > u[3] ? r[3] : u[3]) }'
}

# natwho's cost per connection as accounted, not as measured on the rate:
# its own CPU per event (times events per connection) plus its netfilter
# programs' time per storm connection from the BPF phase, the accounting's
# clock reads (BPF_ACCT_NS per invocation) taken out; against the no-tracer
# storm's CPU per connection.  "-" without the figures.
accounted_cost() { # accounted_cost VARIANT -> "natwho_us bpf_us total_pct base_us"
	local u base s
	u=$(cpu_per_event "$1" | med_min_max)
	base=$(cpu_per_conn none | cut -d' ' -f2 | med_min_max)
	s=($(runs_sums "$1"))
	awk -v u="${u%% *}" -v b="${base%% *}" -v d="${s[2]}" -v c="${s[0]}" -v a="${BPF_ACCT_NS:-}" \
	    -v n="${BPF_STORM_CONNS:-0}" '$1 == "all" { ns = $2; inv = $3 }
		END {
			if (u == "-" || b == "-" || a == "" || n <= 0 || !inv || c <= 0) { print "- - - -"; exit }
			bpf = (ns - inv * a) / n / 1000; nat = u * d / c
			printf "%.2f %.2f %.1f %.1f\n", nat, bpf, 100 * (nat + bpf) / b, b }' \
		"$OUTDIR/bpf-storm.txt"
}

# The on/off measurement (onoff.sh) of VARIANT, when there is one.
onoff_has() {
	[ -s "${ONOFF_RES:=$OUTDIR/onoff.tsv}" ] && [ "$(onoff_cost "$1" | cut -d' ' -f4)" -gt 0 ]
}

report_rate_rows() {
	local v c e noise acc whole oo
	noise=$(runs_col none rate | med_min_max | awk '{ if ($1 > 0) printf "%.0f", 100 * ($3 - $2) / $1 / 2 }')
	for v in json text fentry kprobe capfile quiet filtered devnull jsonnull; do
		if [ "$v" = capfile ] && [ "$HAVE_W" != 1 ]; then
			echo "| natwho -w FILE (capture) costs <= 2% of the no-tracer connection rate | - | unsupported: natwho has no -w yet |"
			continue
		fi
		if [ -n "${BACKEND_WHY[$v]:-}" ]; then
			echo "| natwho ($v backend) costs <= 2% of the no-tracer connection rate | not measured on this host: ${BACKEND_WHY[$v]} (a QEMU guest runs it under emulation: tests/bench/qemu-backends.sh, relative figures only) | NOT RUN |"
			continue
		fi
		oo=
		if onoff_has "$v"; then
			oo=($(onoff_cost "$v"))
		elif [ "$v" = quiet ] || [ "$v" = filtered ] || [ "$v" = devnull ] || [ "$v" = jsonnull ]; then
			continue # on/off only
		fi
		whole=
		if [ -n "$(runs_col "$v" rate)" ]; then
			c=($(cost_pct "$v"))
			e=($(cpu_cost_pct "$v"))
			acc=""
			if [ "$v" = json ] || [ "$v" = text ] || [ "$v" = capfile ]; then
				acc=($(accounted_cost "$v"))
				[ "${acc[0]}" = - ] && acc="; accounted: not available (no BPF phase figures)" ||
					acc="; accounted: natwho ${acc[0]} us + its netfilter programs ${acc[1]} us (bpf_stats, its ${BPF_ACCT_NS} ns per invocation of accounting taken out) per connection = ${acc[2]}% of the no-tracer storm's ${acc[3]} us"
			fi
			whole="rate ${c[0]}% lower (90% interval of the median: ${c[1]} to ${c[2]}%; no-tracer runs spread +-${noise}%); CPU per connection ${e[0]}% higher (${e[1]} to ${e[2]}%; storm + server + natwho)$acc"
		fi
		if [ -n "$oo" ]; then
			echo "| natwho ($(variant_name "$v")) costs <= 2% of the no-tracer connection rate | joining one storm (on/off, ${oo[3]} windows): rate ${oo[0]}% lower (90% interval of the median: ${oo[1]} to ${oo[2]}%; control $(onoff_cost control | awk '{ printf "%s%% (%s to %s%%)", $1, $2, $3 }'))${whole:+. Whole storms (cross-check, rounds a minute apart): $whole} | $(onoff_verdict "${oo[*]}") |"
		else
			echo "| natwho ($(variant_name "$v")) costs <= 2% of the no-tracer connection rate | $whole | $(cost_verdict "${c[*]}" "${e[*]}") |"
		fi
	done
}

report_loss_rows() {
	local n ct
	local oo=() oo_text= st=() st_text=
	n=($(natwho_loss_line))
	ct=($(runs_sums conntrack))
	# on/off runs: natwho's own count (a run's connections are not counted
	# apart: it starts and stops in the middle of the storm)
	if [ -s "${ONOFF_RES:=$OUTDIR/onoff.tsv}" ]; then
		# (floor is not natwho: no count of its own)
		oo=($(awk -F'\t' 'NR > 1 && $1 == "on" && $2 != "floor" { n++; e += $6; l += ($7 == "-" ? 0 : $7); if ($7 != 0) bad++ }
			END { printf "%d %d %d %d\n", n, e, l, bad }' "$ONOFF_RES"))
		oo_text="; joining one storm (on/off): ${oo[0]} runs, ${oo[1]} events, ${oo[2]} lost by natwho's count"
	fi
	# short runs stopped in a storm (stops.sh), this build's: natwho's count;
	# a run without one counts as losing
	if [ -s "${STOPS_RES:=$OUTDIR/stops.tsv}" ]; then
		st=($(awk -F'\t' 'NR > 1 && $1 == "natwho" { n++; if ($3 == "?") { bad++; next }
				e += $3; l += $4; if ($4 != 0) bad++ }
			END { printf "%d %d %d %d\n", n, e, l, bad }' "$STOPS_RES"))
		st_text="; stopped in a storm (stops.sh): ${st[0]} runs, ${st[1]} events, ${st[2]} lost by natwho's count"
	fi
	echo "| Zero lost events at the highest connection rate (natwho, every run) | ${n[0]} runs, up to ${n[5]} conn/s: ${n[4]} delivered for ${n[3]} connections made (a few more than made: late packets of closed connections picked up as new entries), ${n[2]} lost, ${n[1]} runs with a gap$oo_text$st_text | $([ "${n[0]}" -gt 0 ] && [ "${n[1]}" = 0 ] && [ "${oo[3]:-0}" = 0 ] && [ "${st[3]:-0}" = 0 ] && echo PASS || echo MISS) |"
	echo "| Zero lost where conntrack -E loses some | conntrack -E (default buffer) delivered ${ct[2]} of ${ct[1]} new connections: $(awk -v a="${ct[1]}" -v d="${ct[2]}" 'BEGIN { l = a - d; if (l < 0) l = 0; printf "%d lost (%.2f%%)", l, a ? 100 * l / a : 0 }'); natwho lost ${n[2]} | $([ "${n[1]}" = 0 ] && [ "${ct[2]}" -lt "${ct[1]}" ] && echo PASS || { [ "${n[1]}" = 0 ] && echo "PASS (conntrack -E lost none)" || echo MISS; }) |"
}

report_cpu_rows() {
	local v lim m u s
	for v in json text fentry kprobe capfile; do
		lim=2
		[ "$v" = capfile ] && lim=4
		if [ "$v" = capfile ] && [ "$HAVE_W" != 1 ]; then
			echo "| Userspace CPU <= 4 us per event with a capture file | - | unsupported: natwho has no -w yet |"
			continue
		fi
		[ -n "${BACKEND_WHY[$v]:-}" ] && continue
		m=$(cpu_per_event "$v" | med_min_max)
		u=$(cpu_per_event "$v" utime_s | med_min_max)
		s=$(cpu_per_event "$v" stime_s | med_min_max)
		echo "| Userspace CPU <= $lim us per event ($(variant_name "$v")) | $(fmt %.2f "${m%% *}") us (user $(fmt %.2f "${u%% *}"), sys $(fmt %.2f "${s%% *}"); runs $(fmt %.2f "$(cut -d' ' -f2 <<<"$m")")-$(fmt %.2f "$(cut -d' ' -f3 <<<"$m")")) | $(verdict "${m%% *}" "$lim") |"
	done
}

bpf_ns() { # bpf_ns FILE NAME -> ns per invocation
	awk -v n="$2" '$1 == n && $3 > 0 { printf "%.1f", $2 / $3; f = 1 } END { if (!f) print "-" }' "$1"
}

bpf_cnt() {
	awk -v n="$2" '$1 == n { print $3; f = 1 } END { if (!f) print 0 }' "$1"
}

# BPF_PROG_TEST_RUN figures (bpf-testrun.txt), one line per program measured:
# "name median_ns min_ns max_ns wall_ns"; the empty program is "empty".
testrun_rows() {
	[ -s "$OUTDIR/bpf-testrun.txt" ] || return 0
	awk '$1 ~ /^prog=/ && $2 ~ /^hook=/ {
		for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		print v["prog"], v["median_ns"], v["min_ns"], v["max_ns"], v["wall_ns"] }' \
		"$OUTDIR/bpf-testrun.txt"
}

# natwho's own time per run, round by round: the "paired" figures of
# bpf-testrun.txt for program NAME, one per line.
testrun_paired() {
	awk -v n="$1" '$1 == "prog=" n {
		for (i = 2; i <= NF; i++) if ($i ~ /^paired_wall_minus_empty_ns=/) {
			sub(/^[^=]*=/, "", $i); k = split($i, d, ",")
			for (j = 1; j <= k; j++) print d[j] } }' "$OUTDIR/bpf-testrun.txt"
}

# The established-packet target: the verdict is on natwho's programs' own
# time per run, each call's wall figure minus the empty program's in the same
# round (back to back): what the test loop, its bottom-half toggling and the
# call into a program cost is the same for any program, and in situ that
# call is the netfilter hook's dispatch, which the on/off rows count.  PASS
# when the 90% interval of the median (med_ci90) of every program lies
# within 30 ns, MISS when one program's lies above, NOT SHOWN otherwise.
# The per-run totals, test loop included, are shown beside it, and the
# bpf_stats figures are the in-situ cross-check.  NOT RUN (never PASS)
# without test_run figures.
report_established_row() {
	local est=$1 insitu rows empty n own="" v ci pv worst=0
	insitu="in situ (kernel.bpf_stats_enabled, ping-pong over established connections): $est ns per invocation ($(bpf_cnt "$OUTDIR/bpf-established.txt" all) invocations), $BPF_FLOOR_NS ns for an empty netfilter program on the same packets: the accounting's own clock reads dominate both"
	rows=$(testrun_rows)
	empty=($(awk '$1 == "empty"' <<<"$rows"))
	if [ "${BPF_TR_STATUS:-}" != ok ] || [ -z "${empty[0]:-}" ] ||
		! awk '$1 != "empty" { n++ } END { exit !n }' <<<"$rows"; then
		echo "| Kernel program <= 30 ns per established-connection packet (netfilter) | BPF_PROG_TEST_RUN: ${BPF_TR_STATUS:-not measured by this bench run}. Cross-check only, $insitu | NOT RUN |"
		return 0
	fi
	for n in $(awk '$1 != "empty" { print $1 }' <<<"$rows"); do
		ci=($(testrun_paired "$n" | med_ci90))
		own="${own:+$own, }$n ${ci[0]} ns (90% interval ${ci[1]:--} to ${ci[2]:--})"
		if [ "${ci[1]:--}" = - ]; then
			pv=2 # no paired figures (an older nf-testrun), or too few
		elif awk -v l="${ci[1]}" 'BEGIN { exit !(l > 30) }'; then
			pv=3
		elif awk -v h="${ci[2]}" 'BEGIN { exit !(h > 30) }'; then
			pv=1
		else
			pv=0
		fi
		[ "$pv" -gt "$worst" ] && worst=$pv
	done
	case $worst in
	0) v=PASS ;;
	1) v="NOT SHOWN (a 90% interval straddles 30 ns)" ;;
	2) v="NOT SHOWN (no paired figures, or too few calls for an interval)" ;;
	*) v=MISS ;;
	esac
	echo "| Kernel program <= 30 ns per established-connection packet (netfilter) | BPF_PROG_TEST_RUN, $BPF_TR_RUNS interleaved calls of $BPF_TR_REPEAT runs per program. natwho's code per packet, each call minus the empty program's call in the same round (the test loop and the call into a program, alike for every program, taken out; in situ that call is the hook's dispatch, counted in the on/off cost): $own. Per run with the test loop, as the kernel reports it (median, min-max): $(awk '$1 != "empty" {
		printf "%s%s %s (%s-%s; wall clock, best call: %.2f)", n++ ? ", " : "", $1, $2, $3, $4, $5 }' <<<"$rows"); an empty netfilter program ${empty[1]} (${empty[2]}-${empty[3]}; wall clock, best call: ${empty[4]}) on the same packet. Cross-check, $insitu | $v |"
}

report_bpf_rows() {
	report_established_row "$(bpf_ns "$OUTDIR/bpf-established.txt" all)"
	echo "| Kernel program <= 300 ns per new connection (fentry / kprobe) | not measured on this host: fentry ${BACKEND_WHY[fentry]:-attaches but is not in the BPF phase yet}; kprobe ${BACKEND_WHY[kprobe]:-attaches but is not in the BPF phase yet} (their program code is timed natively by proxy, in a netfilter program: tests/bench/confirm-proxy.sh; the programs themselves in a QEMU guest: tests/bench/qemu-backends.sh) | NOT RUN |"
}

report_burst_rows() {
	local zero over big half
	zero=$(awk -F'\t' -v r=8M 'NR > 1 && $1 == r && $6 == 0 && $4 >= $3 { if ($3 > m) m = $3 } END { print m + 0 }' "$OUTDIR/bursts.tsv")
	over=$(awk -F'\t' -v r=8M 'NR > 1 && $1 == r && $6 > 0 { printf "%s%d connections -> %d delivered, %d lost", n++ ? "; " : "", $3, $4, $6 }' "$OUTDIR/bursts.tsv")
	echo "| Largest zero-loss burst at the default ring buffer (8M), consumer stopped | computed $CAP_8M events (IPv4: $REC_SIZE B each, staged, in batches of $BATCH_EVENTS taking $BATCH_BYTES B of ring); verified: $zero connections -> 0 lost; ${over:-no over-capacity run}. With natwho running, whole storms at full rate lose 0 (row above) | $([ "$zero" -gt 0 ] && echo "PASS (measured)" || echo MISS) |"
	big=$(awk -F'\t' -v r="$RING_1M" 'NR > 1 && $1 == r { printf "%d -> %d delivered, %d lost", $3, $4, $6 }' "$OUTDIR/bursts.tsv")
	half=$(awk -F'\t' -v r="$((RING_1M / 2))" 'NR > 1 && $1 == r { printf "%d -> %d delivered, %d lost", $3, $4, $6 }' "$OUTDIR/bursts.tsv")
	echo "| --ringbuf-size for a 1M-event burst | computed $RING_1M B ($((RING_1M >> 20))M): 1M IPv4 events in batches of $BATCH_EVENTS ($BATCH_BYTES B each) rounded up to a power of two; verified with natwho stopped: ${big:-not run (NWB_BURST_1M=0)}; half that ($((RING_1M >> 21))M): ${half:-not run} | $(awk -F'\t' -v r="$RING_1M" 'NR > 1 && $1 == r { v = ($6 == 0 && $4 >= $3) ? "PASS (verified)" : "MISS" } END { print v ? v : "computed only" }' "$OUTDIR/bursts.tsv") |"
}

report_variant_table() {
	local v m p s hwm
	echo "| Variant | conn/s median (min-max) | vs no tracer (median of per-round ratios) | CPU per connection (storm+server+tracer) | delivered / connections made | lost (tracer's own count) | tracer CPU per event, user+sys | peak RSS |"
	echo "|---|---|---|---|---|---|---|---|"
	for v in none json text fentry kprobe capfile conntrack; do
		[ -n "$(runs_col "$v" rate)" ] || continue
		m=($(runs_col "$v" rate | med_min_max))
		p=$(paired_ratios "$v" | med_min_max)
		s=($(runs_sums "$v"))
		hwm=$(runs_col "$v" hwm_kb | med_min_max)
		echo "| $(variant_name "$v") | $(fmt %.0f "${m[0]}") (${m[1]}-${m[2]}) | $(fmt %.3f "${p%% *}") | $(fmt %.1f "$(cpu_per_conn "$v" | cut -d' ' -f2 | med_min_max | cut -d' ' -f1)") us$([ "$v" = none ] || echo " ($(cpu_cost_pct "$v" | cut -d" " -f1)%)") | $([ "$v" = none ] && echo - || echo "${s[2]} / ${s[0]}") | $([ "$v" = none ] && echo - || { [ "$v" = conntrack ] && echo "n/a ($((s[1] - s[2] > 0 ? s[1] - s[2] : 0)) missing)" || echo "${s[3]}"; }) | $([ "$v" = none ] && echo - || echo "$(fmt %.2f "$(cpu_per_event "$v" | med_min_max | cut -d' ' -f1)") us") | $([ "$v" = none ] && echo - || echo "$(fmt %.1f "$(awk -v k="${hwm%% *}" 'BEGIN { print k / 1024 }')") MiB") |"
	done
}

report_bpf_table() {
	local f n
	echo "| Phase | Program | Invocations | ns per invocation |"
	echo "|---|---|---|---|"
	for f in storm established; do
		for n in nf_postrouting nf_local_in all; do
			echo "| $f | $n | $(bpf_cnt "$OUTDIR/bpf-$f.txt" $n) | $(bpf_ns "$OUTDIR/bpf-$f.txt" $n) |"
		done
	done
	echo "| both | empty program (floor) | $BPF_FLOOR_CNT | $BPF_FLOOR_NS |"
	[ "${BPF_TR_STATUS:-}" = ok ] && testrun_rows | while read -r n med lo hi wall; do
		echo "| BPF_PROG_TEST_RUN (established path, no bpf_stats) | $([ "$n" = empty ] && echo "empty program" || echo "$n") | $BPF_TR_RUNS x $BPF_TR_REPEAT | $med (wall clock, best call: $wall) |"
	done
	awk -v c="$BPF_STORM_CONNS" -v e="$(bpf_ns "$OUTDIR/bpf-established.txt" all)" '$1 == "all" && c > 0 {
		printf "\nStorm (the median of %d storms by program time per connection: %s ns): %d new connections, %.1f invocations each, %.0f ns of program time per connection; with the established-packet cost subtracted, about %.0f ns for the new-connection event path (reserve, fill, submit).\n",
			split(all, a, " "), all, c, $3 / c, $2 / c, ($2 - ($3 - c) * e) / c }' \
		all="${BPF_STORM_ALL:-?}" "$OUTDIR/bpf-storm.txt"
}

report() {
	local load=$1
	echo "## Connection-storm benchmark (make bench)"
	echo
	echo "$(nproc) CPUs, kernel $(uname -r), $(date -u +%Y-%m-%d). Storm: $THREADS client threads in the node namespace" \
		"connecting to a DNAT'ed Service address (kube-proxy-style nat OUTPUT rules), $NWB_SERVE_THREADS accept+close server thread in the pod;" \
		"$ROUNDS interleaved rounds x ${DUR} s per variant. Other work on the machine: ${load}% CPU when the bench started," \
		"${LOAD_END:-?}% when it ended (noise that the interleaving only partly cancels; the CPU-per-connection figures are" \
		"not affected by it)."
	echo
	echo "| Target (issue 7) | Measured | Result |"
	echo "|---|---|---|"
	report_rate_rows
	report_loss_rows
	report_cpu_rows
	report_bpf_rows
	report_burst_rows
	echo
	report_variant_table
	echo
	report_bpf_table
	if [ -s "${ONOFF_RES:=$OUTDIR/onoff.tsv}" ]; then
		echo
		onoff_report
	fi
}
