#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Bad input gets one clear line and a documented exit code: 2 for usage
# errors, 3 without privileges; never a crash.
. "$(dirname "$0")/../lib/e2e.sh"

# expect_exit CODE PATTERN ARGS...: natwho ARGS exits CODE, stderr is one
# "Error: ..." line matching PATTERN, stdout is empty.
expect_exit() {
	local code=$1 pattern=$2 rc=0
	shift 2
	"$NATWHO" "$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
	[ $rc -eq "$code" ] || { cat "$TMP/err"; fail "natwho $* exited $rc, want $code"; }
	[ "$(grep -c '^Error: ' "$TMP/err")" -eq 1 ] && [ "$(wc -l <"$TMP/err")" -eq 1 ] ||
		{ cat "$TMP/err"; fail "natwho $*: not one Error: line"; }
	grep -q -- "$pattern" "$TMP/err" || { cat "$TMP/err"; fail "natwho $*: want /$pattern/"; }
	[ ! -s "$TMP/out" ] || fail "natwho $*: wrote to stdout"
	echo "ok: natwho $* -> $code: $(grep '^Error' "$TMP/err")"
}

expect_exit 2 "invalid --port '0': out of range" --port 0
expect_exit 2 "invalid --port '70000'" --port 70000
expect_exit 2 "invalid --port '80,,81': malformed" --port 80,,81
expect_exit 2 "too many ports" --port 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17
expect_exit 2 "invalid --addr '10.96.0.20/12': bits set past the prefix length (10.96.0.0/12?)" \
	--addr 10.0.0.1,10.96.0.20/12
expect_exit 2 "invalid --addr '10.0.0.0/33': out of range" --addr 10.0.0.0/33
expect_exit 2 "invalid --addr 'mysql.db': malformed" --addr mysql.db
expect_exit 2 "invalid --addr '10.0.0.1,,10.0.0.2': an empty item" --addr 10.0.0.1,,10.0.0.2
expect_exit 2 "invalid --addr '10.0.0.0/0000000000000000000000000000000000000000000000000000008x': malformed" \
	--addr 10.0.0.1,10.0.0.0/0000000000000000000000000000000000000000000000000000008x
expect_exit 2 "--addr fd00::/8 is an IPv6 prefix, which -4 excludes" --addr fd00::/8 -4
expect_exit 2 "--addr 10.1.2.3 is an IPv4 address, which -6 excludes" --addr ::ffff:10.1.2.3 -6
expect_exit 2 "too many addresses: at most 16" \
	--addr 10.0.0.1,10.0.0.2,10.0.0.3,10.0.0.4,10.0.0.5,10.0.0.6,10.0.0.7,10.0.0.8,10.0.0.9 \
	--addr 10.0.0.10,10.0.0.11,10.0.0.12,10.0.0.13,10.0.0.14,10.0.0.15,10.0.0.16,10.0.0.17
expect_exit 2 "invalid --service 'mysql-a': malformed (NAMESPACE/NAME of a Service)" --service mysql-a
expect_exit 2 "invalid --service 'a/My_Svc'" --service a/My_Svc
expect_exit 2 "invalid --service 'a/mysql.a'" --service a/mysql.a
expect_exit 2 "--service needs knowledge that names Services" --service a/mysql-a --no-rules
expect_exit 2 "--mismatch-only needs knowledge to judge connections by" --mismatch-only --no-rules
expect_exit 2 "--proto icmp is IPv4's, which -6 excludes" -P icmp -6
expect_exit 2 "--proto icmpv6 is IPv6's, which -4 excludes" --proto 58 -4
gone=$(sh -c 'echo $$') # a process that has ended: nothing to trace
while kill -0 "$gone" 2>/dev/null; do gone=$(sh -c 'echo $$'); done # not reused since
expect_exit 2 "--pid $gone: no such process" --pid "$gone" -d 1
# a thread's id (JSON's "tid") names no process: told which one it is
python3 -c 'import threading, time; threading.Thread(target=time.sleep, args=(30,)).start()' &
threaded=$!
for i in $(seq 1 50); do
	tid=$(ls "/proc/$threaded/task" 2>/dev/null | grep -vx "$threaded" | head -1) || true
	[ -n "$tid" ] && break
	sleep 0.1
done
[ -n "$tid" ] || fail "no second thread in process $threaded"
expect_exit 2 "--pid $tid is a thread of process $threaded: give $threaded" --pid "$tid" -d 1
kill "$threaded"
wait "$threaded" 2>/dev/null || true
expect_exit 2 "--proto icmp has no ports for --port to match" -P icmp -p 80
expect_exit 2 "with -- CMD, add --no-children" --pid $$ -- true
expect_exit 2 "'audit' comes first: natwho audit" --no-rules audit
touch "$TMP/cap.nwcap"
expect_exit 2 "to replay a capture file, -r $TMP/cap.nwcap" "$TMP/cap.nwcap"
expect_exit 2 "natwho audit traces nothing: --service does not apply" audit --service a/x
expect_exit 2 "invalid --proto 'tcpp'" --proto tcpp
expect_exit 2 "exclude each other" -4 -6
expect_exit 2 "invalid --count '0'" --count 0
expect_exit 2 "invalid --count '-1'" --count -1
expect_exit 2 "invalid --duration '5y'" --duration 5y
expect_exit 2 "invalid --pid 'abc'" --pid abc
expect_exit 2 "invalid --pid '4194304': out of range" --pid 4194304
expect_exit 2 "invalid --output 'xml'" -o xml
expect_exit 2 "invalid --backend 'nope'" --backend nope
expect_exit 2 "invalid --ringbuf-size '1000'" --ringbuf-size 1000
expect_exit 2 "unexpected argument 'extra'" extra
expect_exit 2 "cannot open network namespace '/nonexistent'" --netns /nonexistent -d 1
expect_exit 2 "'/etc/passwd' is not a network namespace" --netns /etc/passwd -d 1
for opt in --help --version; do
	rc=0
	"$NATWHO" $opt >/dev/full 2>"$TMP/err" || rc=$?
	[ $rc -eq 1 ] && grep -q "^Error: writing the" "$TMP/err" ||
		fail "natwho $opt >/dev/full: exit $rc, $(cat "$TMP/err")"
	echo "ok: natwho $opt >/dev/full -> 1: $(cat "$TMP/err")"
done
cp "$E2E_ROOT/tests/lib/incident-snapshot.json" "$TMP/snap-w.json"
expect_exit 2 "-w $TMP/snap-w.json would overwrite the --k8s snapshot it names" \
	--k8s "$TMP/snap-w.json" -w "$TMP/snap-w.json" -d 1
cmp -s "$TMP/snap-w.json" "$E2E_ROOT/tests/lib/incident-snapshot.json" ||
	fail "-w over the --k8s snapshot changed it"
expect_exit 2 "--read given twice: it takes one value" -r a.nwcap -r b.nwcap
expect_exit 2 "--pid given twice: it takes one value" --pid 1 --pid 2 -d 1
expect_exit 2 "--output given twice: it takes one value" -o json -o text -d 1
expect_exit 2 "--children and --no-children: give one, once" --children --no-children -- true
expect_exit 2 "'/proc/self/ns/pid' is not a network namespace" --netns /proc/self/ns/pid -d 1
expect_exit 2 "unknown option '--bogus'" --bogus
expect_exit 2 "unknown option '-z'" -z
expect_exit 2 "ambiguous option '--p': --port, --proto, --pid, --pod, --pod-uid?" --p 1
expect_exit 2 "ambiguous option '--no': --no-rules, --no-children?" --no
expect_exit 2 "missing value for option '--port'" --port
expect_exit 2 "unknown option '-x'" -qx
expect_exit 2 "unknown option '-x'" -xq # getopt is still inside the cluster
expect_exit 2 "unknown option '-x'" --utc -xq # ... after another option
expect_exit 2 "missing value for option '-p'" -qp
expect_exit 2 "option '--utc' takes no value" --utc=1
expect_exit 2 "unknown option '--bogus'" --bogus=3
# A value quoted in an error cannot forge a second line or drive the terminal.
expect_exit 2 "invalid --port '1?Error: forged?\[2J'" --port $'1\nError: forged\e[2J'
expect_exit 2 "only one of -r and --k8s can read standard input" -r - --k8s -
expect_exit 2 "--k8s - given twice: standard input can be read once" --k8s - --k8s - -d 1
# An input file that cannot be read is a runtime failure (1), as for -r;
# malformed is 5.
expect_exit 1 "Error: --k8s /nonexistent: No such file or directory" -r "$E2E_ROOT/tests/fixtures/capfile/v1.0-incident.nwcap" --k8s /nonexistent
expect_exit 1 "/nonexistent.nwcap" -r /nonexistent.nwcap
expect_exit 2 "natwho audit traces nothing: --port does not apply" audit --port 3306
expect_exit 2 "natwho audit traces nothing: --count does not apply" audit -o json -c 5
expect_exit 2 "natwho audit takes no -r, -w or command" audit -w /dev/null
expect_exit 2 "natwho audit looks for rules in the node's NAT ruleset: --no-rules leaves" \
	audit --no-rules --k8s "$E2E_ROOT/tests/lib/incident-snapshot.json"
expect_exit 2 "--kubeconfig applies to --k8s kubectl" audit --kubeconfig /nonexistent/kc
expect_exit 2 "--kubeconfig applies to --k8s kubectl" --kubeconfig /x -d 1 -q
expect_exit 2 "--refresh applies to --k8s kubectl" --refresh 5 --k8s /nonexistent.json -d 1

# In a PID namespace of its own (a container without hostPID) the programs'
# process ids are not natwho's: --pid and CMD's tree are refused, --no-children
# works.
for args in "--pid 1 -d 1" "-d 1 -- true"; do
	rc=0
	unshare --pid --fork --mount-proc "$NATWHO" $args >"$TMP/out" 2>"$TMP/err" || rc=$?
	[ $rc -eq 2 ] && grep -q "^Error: natwho runs in a PID namespace of its own" "$TMP/err" ||
		{ cat "$TMP/err"; fail "natwho $args in a PID namespace: exit $rc"; }
done
unshare --pid --fork --mount-proc "$NATWHO" -q -d 1 --no-children -- true >"$TMP/out" 2>"$TMP/err" ||
	{ cat "$TMP/err"; fail "--no-children in a PID namespace: exit $?"; }
echo "ok: --pid and --children refused in a PID namespace of natwho's own"

# In JSON mode, runtime errors are JSON records on stdout.
rc=0
"$NATWHO" -o json --netns /nonexistent >"$TMP/out" 2>"$TMP/err" || rc=$?
[ $rc -eq 2 ] || fail "json error exit $rc"
jq -e 'select(.type=="error") | .error | test("network namespace")' "$TMP/out" >/dev/null ||
	fail "no JSON error record: $(cat "$TMP/out")"
echo "ok: JSON error record"

# -v shows libbpf's warnings but not its "try raising 'ulimit -l'" after an
# EPERM: libbpf >= 1.0 lifts that limit itself, so the hint is a wrong lead;
# -vv shows it.  Only where the kernel refuses fentry with EPERM (this CI
# host: no BPF trampolines) and RLIMIT_MEMLOCK is finite (else libbpf has
# no hint to give).
rc=0
"$NATWHO" --backend fentry -v -d 100ms >/dev/null 2>"$TMP/err" || rc=$?
if [ $rc -eq 4 ] && grep -q "trampoline.*Operation not permitted" "$TMP/err" &&
	[ "$(ulimit -l)" != unlimited ]; then
	grep -q "^libbpf: " "$TMP/err" || fail "-v: libbpf's warnings missing: $(cat "$TMP/err")"
	! grep -q "ulimit" "$TMP/err" || fail "-v: libbpf's ulimit hint shown: $(grep ulimit "$TMP/err")"
	"$NATWHO" --backend fentry -vv -d 100ms >/dev/null 2>"$TMP/err" || true
	grep -q "try raising 'ulimit -l'" "$TMP/err" || fail "-vv: libbpf's ulimit hint missing"
	echo "ok: -v leaves out libbpf's ulimit hint after a refused trampoline, -vv shows it"
else
	echo "not checked here: -v and libbpf's ulimit hint (needs a kernel refusing fentry with EPERM and a finite ulimit -l; got exit $rc)"
fi

# Without privileges: exit 3 and a hint.
command -v setpriv >/dev/null || unsupported "setpriv (util-linux) missing for the unprivileged case"
cp "$NATWHO" "$TMP/natwho"
chmod 755 "$TMP" "$TMP/natwho"
rc=0
setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all \
	"$TMP/natwho" -d 1 >"$TMP/out" 2>"$TMP/err" || rc=$?
[ $rc -eq 3 ] || { cat "$TMP/err"; fail "unprivileged: exit $rc, want 3"; }
grep -q "^Error: .*run as root" "$TMP/err" || fail "unprivileged: no hint: $(cat "$TMP/err")"
echo "ok: unprivileged -> 3: $(cat "$TMP/err")"

# `natwho audit` that cannot read the node's rules is an error, not a clean
# node: exit 3 without root (0 would pass a cron job's check).
rc=0
setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all \
	"$TMP/natwho" audit >"$TMP/out" 2>"$TMP/err" || rc=$?
[ $rc -eq 3 ] || { cat "$TMP/err"; fail "unprivileged audit: exit $rc, want 3"; }
grep -q "^Error: the node's NAT rules could not be read: nothing to audit" "$TMP/err" ||
	fail "unprivileged audit: no error: $(cat "$TMP/err")"
! grep -q "shadowing rules" "$TMP/err" || fail "unprivileged audit still reported a count"
echo "ok: unprivileged audit -> 3: $(grep '^Error' "$TMP/err")"

# -w FILE and a run that fails before tracing starts (a typo in --netns, a
# malformed --k8s): an earlier capture at that path is left as it was, and a
# file natwho created for it is removed again.
cp "$E2E_ROOT/tests/fixtures/capfile/v1.0-incident.nwcap" "$TMP/keep.nwcap"
chmod 644 "$TMP/keep.nwcap"
printf '{"kind":' >"$TMP/bad-snap.json"
for args in "--netns /nonexistent-$$" "--k8s $TMP/bad-snap.json"; do
	for f in keep new; do
		rc=0
		"$NATWHO" -w "$TMP/$f.nwcap" $args -c 1 >"$TMP/out" 2>"$TMP/err" || rc=$?
		[ $rc -eq 2 ] || [ $rc -eq 5 ] || { cat "$TMP/err"; fail "-w $f $args: exit $rc"; }
	done
	cmp -s "$TMP/keep.nwcap" "$E2E_ROOT/tests/fixtures/capfile/v1.0-incident.nwcap" ||
		fail "-w over an earlier capture, run failed ($args): the capture was changed"
	[ "$(stat -c %a "$TMP/keep.nwcap")" = 644 ] || fail "-w ($args): the earlier capture's mode changed"
	[ ! -e "$TMP/new.nwcap" ] || fail "-w ($args): an empty capture file was left behind"
	echo "ok: -w and a failed start ($args): earlier capture kept, no new file left"
done
