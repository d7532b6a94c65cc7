#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# run.sh KERNEL_DIR INITRAMFS TIMEOUT [LOG]: boot the guest under TCG
# (software emulation: KVM hangs on our machines), let its /init run the
# scenarios and report them between markers on the serial console, and judge.
#
# TIMEOUT (seconds) bounds the whole boot; when it expires QEMU is killed and
# the run fails.  LOG (default: INITRAMFS with .log for .cpio.gz) keeps the
# console; LOG.results gets one line per scenario: name status rc seconds note.
# Extra kernel arguments come from NATWHO_QEMU_APPEND (e.g. natwho.only=NAME),
# the number of vCPUs from NATWHO_QEMU_SMP (1).
#
# Prints one line per scenario (PASS/FAIL/SKIP) and a summary.  Exit status:
# 0 every scenario passed; 77 none failed but some were unsupported (SKIP);
# 1 a scenario failed, the guest hung or crashed, or the report is
# incomplete; 2 usage error.
set -uo pipefail

MARK='@@NATWHO-QEMU@@'

usage() {
	echo "usage: $0 KERNEL_DIR INITRAMFS TIMEOUT [LOG]" >&2
	exit 2
}

say() { printf 'qemu: %s\n' "$*"; }

if [ $# -lt 3 ] || [ $# -gt 4 ]; then
	usage
fi
KDIR=$1 INITRD=$2 TIMEOUT=$3
LOG=${4:-${INITRD%.cpio.gz}.log}
[[ $TIMEOUT =~ ^[1-9][0-9]*$ ]] || usage
[[ ${NATWHO_QEMU_SMP:-1} =~ ^[1-9][0-9]{0,2}$ ]] || usage
[ -f "$KDIR/vmlinuz" ] || { echo "run.sh: $KDIR/vmlinuz: missing (run prepare.sh)" >&2; exit 2; }
[ -f "$INITRD" ] || { echo "run.sh: $INITRD: missing (run mkinitramfs.sh)" >&2; exit 2; }
command -v qemu-system-x86_64 > /dev/null ||
	{ echo "run.sh: qemu-system-x86_64 missing (run prepare.sh)" >&2; exit 2; }

QEMU_PID=
kill_qemu() {
	[ -n "$QEMU_PID" ] && kill -KILL "$QEMU_PID" 2>/dev/null
}
trap 'kill_qemu; exit 1' INT TERM HUP

# Boot; returns 124 when TIMEOUT expired and QEMU had to be killed.
boot() {
	local deadline start rc
	: > "$LOG"
	# No NIC at all (-nic none): the guest must not reach any network.
	qemu-system-x86_64 -accel tcg -cpu max -m 1024 -smp "${NATWHO_QEMU_SMP:-1}" -nographic -no-reboot \
		-nic none -monitor none -serial "file:$LOG" \
		-kernel "$KDIR/vmlinuz" -initrd "$INITRD" \
		-append "console=ttyS0 panic=-1 quiet natwho.timeout=$TIMEOUT ${NATWHO_QEMU_APPEND:-}" \
		< /dev/null > "$LOG.qemu" 2>&1 &
	QEMU_PID=$!
	start=$SECONDS
	deadline=$((SECONDS + TIMEOUT))
	while kill -0 "$QEMU_PID" 2>/dev/null; do
		if [ $SECONDS -ge $deadline ]; then
			kill -TERM "$QEMU_PID" 2>/dev/null
			sleep 2
			kill_qemu
			wait "$QEMU_PID" 2>/dev/null
			QEMU_PID=
			ELAPSED=$((SECONDS - start))
			return 124
		fi
		sleep 0.2
	done
	wait "$QEMU_PID"
	rc=$?
	QEMU_PID=
	ELAPSED=$((SECONDS - start))
	return $rc
}

# The marker lines of the log, without what may precede a marker on its line.
markers() {
	tr -d '\r' < "$LOG" | sed -n "s/^.*\($MARK .*\)$/\1/p"
}

field() { # field KEY LINE -> value of KEY=value in LINE
	sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<< "$2"
}

# Judge the markers; prints the per-scenario lines and fills PASSED/FAILED/SKIPPED.
judge() {
	local line name status rc secs note plan began='' words
	PASSED=0 FAILED=0 SKIPPED=0
	: > "$LOG.results"
	line=$(markers | grep -m1 " BOOT ") || { say "FAIL guest never reached /init"; return 1; }
	say "kernel $(field kernel "$line"), /init at $(field uptime "$line") s guest uptime"
	line=$(markers | grep -m1 " MODULES ") || { say "FAIL no module report"; return 1; }
	if [ "$(field failed "$line")" != 0 ]; then
		say "FAIL modules did not load:${line#*failed=[0-9]*}"
		return 1
	fi
	plan=$(markers | sed -n "s/^$MARK PLAN \([0-9]*\)$/\1/p" | head -n 1)
	while read -r line; do
		read -ra words <<< "$line"
		case ${words[1]} in
		BEGIN) began=${words[2]} ;;
		END)
			name=${words[2]} status=$(field status "$line") rc=$(field rc "$line")
			secs=$(field seconds "$line") note=${line#* note=}
			[ "$name" = "$began" ] || note="END without BEGIN; $note"
			printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$status" "$rc" "$secs" "$note" \
				>> "$LOG.results"
			case $status in
			pass) PASSED=$((PASSED + 1)); say "PASS $name (${secs}s)" ;;
			skip) SKIPPED=$((SKIPPED + 1)); say "SKIP $name: ${note:-unsupported}" ;;
			*) FAILED=$((FAILED + 1)); say "FAIL $name (rc=$rc${note:+, $note})" ;;
			esac
			began='' ;;
		esac
	done < <(markers)
	if [ -n "$began" ]; then
		FAILED=$((FAILED + 1))
		say "FAIL $began: no result (guest died or hung during it)"
	fi
	[ -n "$plan" ] || { say "FAIL no scenario plan"; return 1; }
	[ "$plan" -gt 0 ] || { say "FAIL no scenario in the initramfs"; return 1; }
	[ $((PASSED + FAILED + SKIPPED)) -eq "$plan" ] ||
		{ say "FAIL $((PASSED + FAILED + SKIPPED)) of $plan scenarios reported"; return 1; }
	markers | grep -q " DONE " || { say "FAIL guest did not finish its report"; return 1; }
	return 0
}

main() {
	local rc ok
	ELAPSED=0
	boot
	rc=$?
	if [ $rc -eq 124 ]; then
		judge
		say "FAIL timeout: guest still running after ${TIMEOUT}s, killed (log: $LOG)"
		exit 1
	fi
	[ $rc -eq 0 ] || say "qemu exited with $rc: $(tail -n 3 "$LOG.qemu" | tr '\n' ' ')"
	judge
	ok=$?
	say "summary pass=$PASSED fail=$FAILED skip=$SKIPPED boot+run=${ELAPSED}s log=$LOG"
	if [ $ok -ne 0 ] || [ $rc -ne 0 ] || [ "$FAILED" -gt 0 ]; then
		exit 1
	fi
	[ "$SKIPPED" -eq 0 ] || exit 77
	exit 0
}

main
