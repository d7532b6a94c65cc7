// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * natwho: for every new connection, where it was meant to go and where
 * conntrack/NAT actually sent it.  main() wires the pipeline:
 * capture (BPF) -> decode -> sink.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <linux/nsfs.h>
#include <bpf/libbpf.h>
#include "capfile.h"
#include "capture.h"
#include "clock.h"
#include "cgroup.h"
#include "conn.h"
#include "ctstat.h"
#include "knowledge.h"
#include "log.h"
#include "netns.h"
#include "opts.h"
#include "proctree.h"
#include "record.h"
#include "replay.h"
#include "runcmd.h"
#include "sink.h"
#include "verdict.h"

/* How long events may wait in the ring buffer before natwho prints them. */
#define NW_POLL_MS 50
/* Once stopping, how long a reader of the output may take no bytes before
 * natwho gives up writing to it (as the capture writer does with -w -). */
#define NW_STALL_MS 2000

/* The one thing a signal handler touches (with where it came from). */
static volatile sig_atomic_t stop_signal;
static volatile sig_atomic_t stop_from_tty; /* the terminal sent it to `-- CMD` too */
static volatile sig_atomic_t stop_seen; /* a stop signal came (never cleared) */
/* The loop is over: a reader of natwho's output (or of -w -) that takes
 * nothing for NW_STALL_MS may be given up (output_stopping()). */
static bool output_stop;

struct app {
	struct nw_opts opts;
	FILE *out; /* the output: stdout as out__fdopen_stoppable() made it, or stderr with -w - */
	struct out_stop out_stop; /* when the output and -w - give a stalled reader up */
	struct sink sink;
	struct capture cap;
	struct cgroup_attach cga; /* --cgroup/--pod: the socket-recording programs */
	struct knowledge kn; /* the Kubernetes/rules index and its sources */
	struct k8s_annot annot; /* the current event's annotation */
	struct nw_stats stats;
	uint64_t next_cgroup_check_ns; /* a removed watched cgroup is noticed within 1 s */
	int64_t boot_to_real_ns;
	uint64_t deadline_ns; /* CLOCK_MONOTONIC, 0: none */
	uint64_t lost_reported;
	uint64_t next_lost_check_ns; /* -v: read the loss counter once a second */
	uint64_t next_untracked_check_ns; /* report_untracked(): once a second */
	bool untracked_said[2]; /* [0] IPv4, [1] IPv6 */
	struct ctwatch ct; /* conntrack's counters of the traced namespace */
	uint64_t next_ct_open_ns; /* watch_conntrack(): 0 at first, then every 10 s */
	int netns_fd;
	dev_t netns_dev; /* --netns PATH: what it led to when opened */
	ino_t netns_ino;
	uint64_t next_netns_check_ns; /* check_netns_path(): once a second */
	int netns_seen; /* check_netns_path()'s last finding (NETNS_*) */
	ino_t netns_seen_ino; /* the other namespace it found there */
	bool netns_said; /* PATH no longer leads there: said */
	bool done;
	struct record *rec; /* -w */
	struct proctree tree; /* -- CMD --children */
	struct runcmd cmd; /* -- CMD */
	int cmd_never_ran; /* 128 + the signal that stopped natwho before CMD ran */
	bool output_said; /* a failed output was reported */
	struct verdict verdict; /* -- CMD: what it did */
	const char *trace_stop; /* why tracing ended early (NULL: a signal, CMD, or not yet) */
	const char *cmd_cut; /* -- CMD outlived the trace: why (the verdict says so) */
	uint32_t services_named; /* --service: bit i, services[i] named (note_named_services()) */
};

static void on_signal(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	stop_from_tty = si && si->si_code == SI_KERNEL;
	stop_signal = sig;
	stop_seen = sig;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (log__verbosity() < (level == LIBBPF_DEBUG ? 2 : 1))
		return 0;
	/* libbpf >= 1.0 lifts RLIMIT_MEMLOCK itself unless the kernel charges
	 * BPF memory to the cgroup instead; either way its "try raising
	 * 'ulimit -l'" after an EPERM is a wrong lead (natwho names the cause). */
	if (log__verbosity() < 2 && strstr(fmt, "ulimit -l"))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* --service: was @a meant for one of them (a Service address, named)? */
static bool service_listed(const struct nw_opts *o, const struct k8s_annot *a)
{
	const struct k8s_ref *t = &a->target;
	size_t n;

	if ((t->kind != K8S_KIND_CLUSTER_IP && t->kind != K8S_KIND_NODE_PORT &&
	     t->kind != K8S_KIND_EXTERNAL_IP && t->kind != K8S_KIND_LB_IP) ||
	    !t->ns || !t->name)
		return false;
	n = strlen(t->ns);
	for (int i = 0; i < o->nservices; i++) {
		if (!strncmp(o->services[i], t->ns, n) && o->services[i][n] == '/' &&
		    !strcmp(o->services[i] + n + 1, t->name))
			return true;
	}
	return false;
}

/* Attach the Kubernetes annotation; false when --service or --mismatch-only
 * hides it. */
static bool enrich(struct app *app, struct conn *c)
{
	struct k8s_annot *annot = &app->annot; /* valid until the next event */
	const struct kindex *idx = knowledge__index(&app->kn);
	bool hide = app->opts.mismatch_only || app->opts.nservices;

	if (!idx) { /* no verdict, no name: hidden by either, counted */
		app->stats.hidden += hide;
		return !hide;
	}
	kindex__annotate_again(idx, c, annot);
	c->k8s = annot;
	if (app->opts.nservices && !service_listed(&app->opts, annot)) {
		app->stats.hidden++;
		return false;
	}
	if (annot->verdict == K8S_VERDICT_MISMATCH) {
		app->stats.mismatches++;
		return true;
	}
	if (app->opts.mismatch_only) {
		app->stats.hidden++;
		return false;
	}
	return true;
}

/* Why tracing ends early, the first reason given (--duration, then the
 * final drain's --count: the duration). */
static void stop_why(struct app *app, const char *why)
{
	if (!app->trace_stop)
		app->trace_stop = why;
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct app *app = ctx;
	struct conn c;
	int err;

	if (app->done)
		return 0;
	if (app->rec && record__event(app->rec, data, size)) {
		app->done = true; /* reported by stop_record() */
		stop_why(app, "writing the capture failed");
		return 0;
	}
	err = conn__decode(data, size, app->boot_to_real_ns, capture__backend(&app->cap), &c);
	if (err) {
		app->stats.undecodable++;
		nw_dbg(1, "undecodable event (%zu bytes): %s\n", size, strerror(-err));
		return 0;
	}
	if (!enrich(app, &c))
		return 0;
	if (!app->opts.quiet)
		sink__conn(&app->sink, &c);
	if (app->cmd.pid)
		verdict__add(&app->verdict, &c);
	app->stats.events++;
	if (app->opts.count && app->stats.events >= app->opts.count) {
		app->done = true;
		stop_why(app, "--count reached");
	}
	return 0;
}

static void install_signals(void)
{
	/* SA_RESTART: a signal must not fail a write to a slow reader (stdio
	 * does not retry EINTR).  The waits that must see it do not restart:
	 * epoll_wait() and poll() return EINTR whatever the flag. */
	struct sigaction sa = { .sa_sigaction = on_signal, .sa_flags = SA_SIGINFO | SA_RESTART };

	static const int stops[] = { SIGINT, SIGTERM, SIGHUP };

	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(stops) / sizeof(stops[0]); i++) {
		struct sigaction old;

		/* A hang-up ignored when natwho started stays so, for natwho and
		 * for `-- CMD` (exec keeps it): `nohup natwho -- CMD` survives
		 * it.  SIGINT and SIGTERM always stop natwho: a script's
		 * background job has SIGINT ignored, and `kill -INT` must still
		 * end it. */
		if (stops[i] == SIGHUP && !sigaction(SIGHUP, NULL, &old) &&
		    old.sa_handler == SIG_IGN)
			continue;
		sigaction(stops[i], &sa, NULL);
	}
	sa.sa_flags = 0;
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL); /* a closed pipe shows up as a write error */
	/* Inherited SIG_IGN would reap the rule dumps' children for us: their
	 * exit status (and so every dump) would be lost. */
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, NULL);
}

/* Where the events counted lost went, in one line. */
static void warn_lost(const struct capture_lost *l, bool live)
{
	uint64_t sum = capture_lost_total(l);
	char why[256] = "";
	size_t n = 0;

	if (l->ring)
		n += (size_t)snprintf(why + n, sizeof(why) - n,
				      "%s%llu found the ring buffer full (raise --ringbuf-size)",
				      n ? "; " : "", (unsigned long long)l->ring);
	if (l->stranded && n < sizeof(why))
		n += (size_t)snprintf(why + n, sizeof(why) - n,
				      "%s%llu still staged on a CPU its last flush could not reach",
				      n ? "; " : "", (unsigned long long)l->stranded);
	if (l->skipped && n < sizeof(why))
		snprintf(why + n, sizeof(why) - n,
			 "%s%llu in runs of the programs the kernel skipped", n ? "; " : "",
			 (unsigned long long)l->skipped);
	nw_warn("%llu event%s %s: %s", (unsigned long long)sum, sum == 1 ? "" : "s",
		live ? "lost so far" : sum == 1 ? "was lost" : "were lost", why);
}

/* With -v, say as soon as the kernel starts dropping events. */
static void report_lost_live(struct app *app, uint64_t now)
{
	struct capture_lost l = { 0 };
	uint64_t lost;

	if (app->opts.verbose < 1 || now < app->next_lost_check_ns)
		return;
	app->next_lost_check_ns = now + 1000000000ULL;
	if (capture__lost_parts(&app->cap, &l))
		return;
	lost = capture_lost_total(&l);
	if (lost == app->lost_reported)
		return;
	warn_lost(&l, true);
	app->lost_reported = lost;
}

/* The traced network namespace's inode: --netns, else natwho's own (0 if
 * unknown).  Its rules are the knowledge's: see kindex__set_node_netns(). */
static uint32_t node_netns(const struct app *app)
{
	struct stat st;

	if (app->opts.filter.netns)
		return app->opts.filter.netns;
	return stat("/proc/self/ns/net", &st) ? 0 : (uint32_t)st.st_ino;
}

/*
 * The netfilter backend: TCP connections opened in its namespace with no
 * conntrack entry (their SYNs), which it cannot show.  Said once per family,
 * within a second (or at the end, @last), unless a new entry of that family
 * came by since natwho attached, filtered or not: conntrack runs for it then,
 * and judged those SYNs invalid.
 */
static void report_untracked(struct app *app, uint64_t now, bool last)
{
	bool tracked[2];
	uint64_t n[2];

	if (!last && now < app->next_untracked_check_ns)
		return;
	app->next_untracked_check_ns = now + 1000000000ULL;
	if (capture__untracked(&app->cap, n, tracked))
		return;
	for (uint32_t f = 0; f < 2; f++) {
		struct cap_untracked u = { .family = f, .syns = n[f], .at_stop = last };

		if (!n[f] || app->untracked_said[f] || tracked[f])
			continue;
		app->untracked_said[f] = true;
		u.netns = node_netns(app);
		nw_warn_untracked(u.netns, u.family, u.syns);
		/* kept for the replay; a failed write shows at stop_record() */
		if (app->rec)
			record__untracked(app->rec, &u);
	}
}

/* In the traced namespace: conntrack's counters and its table's limit. */
struct ct_files {
	int stat, max;
};

static int open_ct_files(void *arg)
{
	struct ct_files *f = arg;

	f->stat = open(CTSTAT_PATH, O_RDONLY | O_CLOEXEC);
	if (f->stat < 0)
		return -errno;
	f->max = open("/proc/sys/net/netfilter/nf_conntrack_max", O_RDONLY | O_CLOEXEC);
	return 0;
}

/*
 * Watch conntrack's counters of the traced namespace (ctstat.h), from the
 * start: what it dropped or evicted never reaches a backend.  Without
 * nf_conntrack yet (no file), tried again every 10 s, and a file found then
 * counts from 0 (the namespace's counters began when it was loaded); any
 * other failure is said under -v and ends the watch.
 */
static void watch_conntrack(struct app *app, uint64_t now)
{
	struct ct_files f = { -1, -1 };
	bool late = app->next_ct_open_ns; /* not there at the first try */
	int err;

	if (app->ct.fd >= 0 || now < app->next_ct_open_ns)
		return;
	err = nw_in_netns(app->netns_fd, open_ct_files, &f);
	if (err == -ENOENT) {
		app->next_ct_open_ns = now + 10 * CTWATCH_CHECK_NS;
		return;
	}
	app->next_ct_open_ns = UINT64_MAX;
	err = err ?: ctwatch__start(&app->ct, f.stat, f.max, now, late);
	if (err)
		nw_dbg(1, "conntrack's counters (%s): %s: what conntrack drops is not reported\n",
		       CTSTAT_PATH, err == -EBADMSG ? "not in a format natwho knows" : strerror(-err));
	else
		nw_dbg(1, "conntrack's counters of network namespace %u: watched\n", node_netns(app));
}

/* Say how conntrack's counters rose since the start, when ctwatch__check()
 * says to (@last: at the stop, after the summary). */
static void report_conntrack(struct app *app, uint64_t now, bool last)
{
	struct cap_conntrack c = { .at_stop = last };
	int n;

	if (!last)
		watch_conntrack(app, now);
	n = ctwatch__check(&app->ct, now, last, &c.said);
	if (n < 0)
		nw_warn("reading conntrack's counters (%s): %s: what conntrack drops is no longer "
			"reported", CTSTAT_PATH, n == -EBADMSG ? "not in a format natwho knows" :
			strerror(-n));
	if (n <= 0)
		return;
	c.netns = node_netns(app);
	nw_warn_conntrack(c.netns, &c.said);
	if (app->rec) /* a failed write shows at stop_record() */
		record__conntrack(app->rec, &c);
}

/*
 * Did the terminal's signal reach CMD as well?  It goes to the terminal's
 * foreground process group, which CMD shares with natwho unless it left it
 * (`timeout` and `setsid` do): then only natwho got it.
 */
static bool tty_signalled_cmd(const struct app *app)
{
	pid_t pg = getpgid(app->cmd.pid), fg = -1;

	for (int fd = 0; fd <= 2 && fg < 0; fd++)
		fg = tcgetpgrp(fd);
	if (fg < 0) {
		int fd = open("/dev/tty", O_RDONLY | O_NOCTTY | O_CLOEXEC);

		if (fd >= 0) {
			fg = tcgetpgrp(fd);
			close(fd);
		}
	}
	/* CMD gone: nothing to pass on.  The foreground not known (a hung-up
	 * terminal): passed on, as CMD may be out of it. */
	return pg < 0 || (fg >= 0 && pg == fg);
}

/* `-- CMD`: pass natwho's signal on, unless the terminal sent it to CMD too. */
static void forward_signal(struct app *app)
{
	/* Taken and cleared in one step: a signal arriving in between would
	 * otherwise be cleared unforwarded. */
	int sig = __atomic_exchange_n(&stop_signal, 0, __ATOMIC_SEQ_CST);

	if (sig && (!stop_from_tty || !tty_signalled_cmd(app)))
		runcmd__signal(&app->cmd, sig);
}

/* Until a signal, --count or a capture write error; with `-- CMD`, until CMD
 * ends (a signal is passed on to it). */
static bool keep_running(struct app *app)
{
	if (app->done)
		return false;
	if (!app->cmd.pid)
		return !stop_signal;
	if (stop_signal)
		forward_signal(app);
	return runcmd__running(&app->cmd);
}

/*
 * The output's reader stopped reading and natwho gave it up: if stderr is
 * the same file (`natwho 2>&1 | less`, a journal socket), a message or the
 * summary written there would wait for that reader all the same (a plain
 * blocking write, restarted after every signal).  Point it at /dev/null.
 */
static void stderr_off_if_output(void)
{
	struct stat o, e;
	int nul;

	if (fstat(STDOUT_FILENO, &o) || fstat(STDERR_FILENO, &e) || o.st_dev != e.st_dev ||
	    o.st_ino != e.st_ino)
		return;
	fflush(stderr);
	nul = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (nul >= 0) {
		dup2(nul, STDERR_FILENO);
		close(nul);
	}
}

/*
 * Is natwho ending, for the output's stall limit?  After a stop signal,
 * once --count is reached or --duration is over (a write may wait for the
 * reader inside the loop, which would see them only after it), or once the
 * loop is over; with `-- CMD`, a stop signal counts once CMD has ended
 * (until then natwho traces on).
 */
static bool past_deadline(const struct app *app, uint64_t now)
{
	return app->deadline_ns && now >= app->deadline_ns;
}

static bool output_stopping(void *ctx)
{
	struct app *app = ctx;

	if (output_stop || app->done || past_deadline(app, nw_now_ns(CLOCK_MONOTONIC)))
		return true;
	return stop_seen && !runcmd__running(&app->cmd);
}

/*
 * Has everything written to the output got through?  True if not, with the
 * exit status in *@ret: a reader that went away ends natwho quietly (0),
 * another failure is an error, said once.
 */
static bool output_failed(struct app *app, int *ret)
{
	char why[256];
	int e = out__flush_check(app->out, why, sizeof(why));

	if (!e)
		return false;
	if (out__gave_up(app->out))
		stderr_off_if_output();
	if (e != EPIPE && !app->output_said)
		nw_err("%s", why);
	app->output_said = true;
	stop_why(app, e == EPIPE ? "the output's reader went away" : "writing the output failed");
	*ret = e == EPIPE ? NW_EXIT_OK : NW_EXIT_RUNTIME;
	return true;
}

/* Watched cgroups and the --netns path: looked at once a second. */
#define NW_WATCH_CHECK_NS 1000000000ULL

/*
 * --netns PATH: does PATH still lead to the namespace natwho opened?  A pod's
 * namespace leaves its path when the pod ends (the /var/run/netns entry
 * removed, the process gone), and a restarted pod comes back in another
 * namespace; natwho holds the one it opened and would go on tracing it,
 * showing nothing, without a word.  Said once, when two checks a second
 * apart agree (`ip netns del` unmounts, then removes the file; `ip netns
 * add` makes the file, then mounts); natwho goes on (what is still inside
 * that namespace is still traced).  A path that cannot be looked at for
 * another reason says nothing.
 */
enum { NETNS_SAME, NETNS_GONE, NETNS_OTHER };

static void check_netns_path(struct app *app, uint64_t now)
{
	const char *path = app->opts.netns_path;
	unsigned long long was = app->netns_ino;
	struct stat st;
	int state;

	if (!path || app->netns_said || now < app->next_netns_check_ns)
		return;
	app->next_netns_check_ns = now + NW_WATCH_CHECK_NS;
	if (!stat(path, &st)) {
		if (st.st_dev != app->netns_dev) /* every namespace is on nsfs */
			state = NETNS_GONE;
		else
			state = st.st_ino == app->netns_ino ? NETNS_SAME : NETNS_OTHER;
	} else if (errno == ENOENT || errno == ENOTDIR) {
		state = NETNS_GONE;
	} else {
		return;
	}
	if (state != app->netns_seen || (state == NETNS_OTHER && st.st_ino != app->netns_seen_ino)) {
		app->netns_seen = state; /* the first sight: wait for the next check */
		app->netns_seen_ino = state == NETNS_OTHER ? st.st_ino : 0;
		return;
	}
	if (state == NETNS_SAME)
		return;
	if (state == NETNS_OTHER)
		nw_warn("'%s' now leads to another network namespace (inode %llu; a restarted pod?): "
			"natwho goes on tracing the one it opened (inode %llu); run it again for the new one",
			path, (unsigned long long)st.st_ino, was);
	else
		nw_warn("network namespace '%s' (inode %llu) is gone from that path (its pod or process "
			"ended?): natwho goes on tracing it, but only what is still inside it",
			path, was);
	app->netns_said = true;
}

static int run_loop(struct app *app)
{
	uint64_t now;
	int ret;

	while (keep_running(app)) {
		int n = capture__poll(&app->cap, record__poll_ms(app->rec, NW_POLL_MS));

		if (n < 0) {
			nw_err("reading the ring buffer: %s", strerror(-n));
			stop_why(app, "reading the ring buffer failed");
			return NW_EXIT_RUNTIME;
		}
		if (output_failed(app, &ret))
			return ret;
		now = nw_now_ns(CLOCK_MONOTONIC);
		if (past_deadline(app, now)) {
			stop_why(app, "--duration elapsed");
			break;
		}
		report_lost_live(app, now);
		report_untracked(app, now, false);
		report_conntrack(app, now, false);
		if (app->opts.filter.cgroup && now >= app->next_cgroup_check_ns) {
			app->next_cgroup_check_ns = now + NW_WATCH_CHECK_NS;
			if (!cgroup_attach__check(&app->cga)) {
				nw_err("every watched cgroup was removed: nothing left to trace");
				stop_why(app, "every watched cgroup was removed");
				return NW_EXIT_RUNTIME;
			}
		}
		check_netns_path(app, now);
		knowledge__tick(&app->kn, now);
		if (record__tick(app->rec, now)) {
			stop_why(app, "writing the capture failed");
			break; /* a capture write error: reported by stop_record() */
		}
	}
	/* Stopped by a signal or the clock: what the kernel already recorded is
	 * still delivered, to a reader that still takes it. */
	output_stop = true;
	if (!app->done)
		capture__drain(&app->cap);
	return NW_EXIT_OK;
}

/*
 * --netns INODE: a path to that network namespace, for the backends that
 * attach inside it (netfilter): a /var/run/netns entry or a process's
 * /proc/PID/ns/net.  0, or -ENOENT when nothing holds it that way.  The
 * path is only where it was: open_netns() checks what it opens.
 */
static int netns_find(uint32_t ino, char *path, size_t len)
{
	static const char *const dirs[] = { "/var/run/netns", "/proc" };
	static const char *const fmts[] = { "/var/run/netns/%s", "/proc/%s/ns/net" };
	struct stat self, st;
	int err = -ENOENT;

	if (stat("/proc/self/ns/net", &self))
		return -errno;
	for (size_t i = 0; i < 2 && err; i++) {
		DIR *d = opendir(dirs[i]);
		struct dirent *de;

		while (d && err && (de = readdir(d))) {
			if (de->d_name[0] == '.' || (i == 1 && (de->d_name[0] < '0' || de->d_name[0] > '9')))
				continue;
			snprintf(path, len, fmts[i], de->d_name);
			if (!stat(path, &st) && st.st_dev == self.st_dev && st.st_ino == ino)
				err = 0;
		}
		if (d)
			closedir(d);
	}
	return err;
}

static int open_netns(struct app *app)
{
	const char *path = app->opts.netns_path;
	char found[300];
	struct stat st;

	app->netns_fd = -1;
	/* found by inode: the process that held it may end, and its pid be
	 * taken by another, between the search and the open; so the namespace
	 * opened is checked, and looked for again when it is gone or another.
	 * Any other failure to open it is said below. */
	for (int tries = 0; !path && app->opts.filter.netns; tries++) {
		uint32_t ino = app->opts.filter.netns;
		struct stat self;
		bool gone;

		if (tries == 3 || netns_find(ino, found, sizeof(found))) {
			nw_err("network namespace %u not found: no process or /var/run/netns entry "
			       "holds it (pass a path instead)", ino);
			return NW_EXIT_USAGE;
		}
		nw_dbg(1, "network namespace %u is %s\n", ino, found);
		app->netns_fd = open(found, O_RDONLY | O_CLOEXEC);
		if (app->netns_fd < 0) {
			gone = errno == ENOENT || errno == ESRCH;
		} else {
			gone = fstat(app->netns_fd, &st) || stat("/proc/self/ns/net", &self) ||
			       st.st_ino != ino || st.st_dev != self.st_dev;
			if (gone) {
				close(app->netns_fd);
				app->netns_fd = -1;
			}
		}
		if (!gone)
			path = found;
	}
	if (!path)
		return 0;
	if (app->netns_fd < 0)
		app->netns_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (app->netns_fd < 0 || fstat(app->netns_fd, &st)) {
		int e = errno;

		nw_err("cannot open network namespace '%s': %s", path, strerror(e));
		return e == EACCES || e == EPERM ? NW_EXIT_PERM : NW_EXIT_USAGE;
	}
	/* a file that is not a network namespace (a typo: /etc/passwd) would
	 * filter on its inode and show nothing, or fail later as "unsupported" */
	if (ioctl(app->netns_fd, NS_GET_NSTYPE) != CLONE_NEWNET) {
		nw_err("'%s' is not a network namespace (a /var/run/netns entry, "
		       "/proc/PID/ns/net, or its inode number)", path);
		return NW_EXIT_USAGE;
	}
	app->opts.filter.netns = (uint32_t)st.st_ino;
	app->netns_dev = st.st_dev;
	app->netns_ino = st.st_ino;
	return 0;
}

/* -w: every knowledge source, as (re)loaded, goes into the capture too. */
static void record_source(void *ctx, enum ksrc_kind kind, const char *name, const char *data,
			  size_t len)
{
	struct app *app = ctx;
	int err = record__source(app->rec, kind, name, data, len);

	if (err == -E2BIG || err == -ENAMETOOLONG)
		nw_warn("knowledge source %s (%zu bytes) does not fit in a capture file: "
			"not recorded", name, len);
}

/*
 * While a rule dump runs (seconds for a big ruleset, and kube-proxy changes
 * its rules often): keep draining the ring, or it fills and events are lost,
 * and keep the output and the capture flushed, as run_loop() does.  Nothing
 * to drain before the capture is attached (the first dump).  Errors show in
 * run_loop()'s next round.  True once natwho is ending (--count reached,
 * --duration past, the output gone, CMD ended): the dump is given up, as
 * on a stop signal, instead of holding the end for up to its 10 s.
 */
static bool drain_while_dumping(void *ctx)
{
	struct app *app = ctx;
	uint64_t now = nw_now_ns(CLOCK_MONOTONIC);
	int ignored;

	if (!app->cap.be.ops)
		return false;
	if (!app->done) {
		capture__poll(&app->cap, 0);
		output_failed(app, &ignored);
		record__tick(app->rec, now);
	}
	return app->done || past_deadline(app, now) ||
	       (app->cmd.pid && !runcmd__running(&app->cmd));
}

/* --service: note the ones the knowledge names now (a replay's changes
 * as it goes: a Service deleted later in the capture was named). */
static void note_named_services(struct app *app)
{
	const struct kindex *idx = knowledge__index(&app->kn);

	for (int i = 0; i < app->opts.nservices && idx; i++) {
		const char *s = app->opts.services[i], *slash = strchr(s, '/');
		char ns[64];

		if (app->services_named & (1u << i))
			continue;
		snprintf(ns, sizeof(ns), "%.*s", (int)(slash - s), s);
		if (kindex__names_service(idx, ns, slash + 1))
			app->services_named |= 1u << i;
	}
}

/* --service: one no source named shows nothing; say so rather than stay
 * silent (a typo, the wrong cluster).  Live: at the start; replay: at the
 * end, of every version of the knowledge it went through. */
static void warn_unknown_services(struct app *app)
{
	note_named_services(app);
	for (int i = 0; i < app->opts.nservices; i++) {
		const char *s = app->opts.services[i];

		if (app->services_named & (1u << i))
			continue;
		if (app->opts.read_path)
			nw_warn("--service %s: no Service of that name in the knowledge the capture "
				"recorded%s: none of its connections could be shown",
				s, app->opts.nk8s_files ? " nor in --k8s" : "");
		else
			nw_warn("--service %s: natwho's knowledge (%s) names no such Service: "
				"nothing is shown for it until a source does",
				s, !app->opts.nk8s_files && !app->opts.k8s_kubectl ?
					   "the node's rules; no --k8s" :
				   app->opts.no_rules ? "--k8s" : "--k8s and the node's rules");
	}
}

/* Load what natwho can know about this node before tracing starts. */
static int start_knowledge(struct app *app)
{
	struct knowledge_opts ko = {
		.nfiles = app->opts.nk8s_files,
		.kubectl = app->opts.k8s_kubectl,
		.kubeconfig = app->opts.kubeconfig,
		.rules = !app->opts.no_rules && !app->opts.read_path, /* -r: not this node's */
		.netns_fd = app->netns_fd,
		.files_last = app->opts.read_path != NULL,
		.node_netns = app->opts.read_path ? 0 : node_netns(app), /* -r: the header's */
		.kubectl_refresh_s = app->opts.refresh_s,
		.wait = drain_while_dumping,
		.wait_ctx = app,
		.stop = &stop_signal,
		.once = app->opts.audit,
	};
	char why[160];
	int ret;

	memcpy(ko.files, app->opts.k8s_files, sizeof(ko.files[0]) * ko.nfiles);
	ret = knowledge__open(&app->kn, &ko, app->rec ? record_source : NULL, app);
	if (ret)
		return ret;
	if (stop_signal) { /* stopped while loading: what was not read is not missing */
		if (!app->opts.audit)
			return 0;
		nw_err("stopped before the node's rules were read: nothing audited");
		return NW_EXIT_RUNTIME;
	}
	/* With `-- CMD` a stop signal goes to CMD and natwho traces on: a rule
	 * dump of the loop (knowledge__tick()) is not given up for it. */
	if (app->opts.cmd)
		app->kn.opts.stop = NULL;
	if (ko.rules && !knowledge__rules_read(&app->kn)) {
		/* Without the rules there is nothing to audit: "0 shadowing
		 * rules" would pass for a clean node (a cron job run without
		 * root). */
		if (app->opts.audit) {
			nw_err("the node's NAT rules could not be read: nothing to audit%s",
			       geteuid() ? " (run it as root)" : "");
			return geteuid() ? NW_EXIT_PERM : NW_EXIT_RUNTIME;
		}
		nw_warn("cannot read the node's NAT rules (iptables-save, ip6tables-save and nft "
			"all failed or are not installed%s): %s",
			geteuid() ? "; natwho is not root" : "",
			ko.nfiles || ko.kubectl ? "verdicts rest on --k8s alone" :
						  "connections get no names or verdicts");
	} else if (app->opts.audit && knowledge__rules_failed(&app->kn, why, sizeof(why))) {
		/* a table not read would pass for a table without shadows */
		nw_err("the node's NAT rules could not all be read (%s): nothing audited", why);
		return NW_EXIT_RUNTIME;
	} else if (!knowledge__index(&app->kn) && !app->opts.read_path &&
		   (app->opts.mismatch_only || app->opts.audit)) {
		nw_warn("no Kubernetes or NAT rule knowledge found: give --k8s FILE or kubectl");
	}
	if (!app->opts.read_path)
		warn_unknown_services(app);
	return 0;
}

/* `natwho audit`: hostPort/DNAT rules that shadow Services; exit 6 if any. */
static int run_audit(struct app *app)
{
	const struct kindex *idx = knowledge__index(&app->kn);
	uint32_t rules = 0;
	int found, ret;

	found = idx ? kindex__audit(idx, &app->sink.out, &rules) : 0;

	/* a reader that went away (`| grep -q SHADOW`) does not change what
	 * was found: the exit status still says it */
	if (output_failed(app, &ret) && ret != NW_EXIT_OK)
		return ret;
	/* in both forms: JSON's stdout holds the findings alone */
	if (found)
		fprintf(stderr, "natwho audit: %d finding%s (%u shadowing rule%s)\n", found,
			found == 1 ? "" : "s", rules, rules == 1 ? "" : "s");
	else
		fprintf(stderr, "natwho audit: 0 shadowing rules\n");
	return found > 0 ? NW_EXIT_FOUND : NW_EXIT_OK;
}

static int exit_code_for(int err)
{
	switch (-err) {
	case EPERM:
	case EACCES: return NW_EXIT_PERM;
	case EINVAL:
	case ENOENT:
	case EOPNOTSUPP:
	case NW_ENOTSUPP: return NW_EXIT_UNSUPPORTED;
	default: return NW_EXIT_RUNTIME;
	}
}

/* cgroup_pod_uid_fn over the knowledge index: --pod NS/NAME -> UID, node. */
static int pod_uid_from_snapshot(void *ctx, const char *ns, const char *name, char *uid,
				 size_t uid_len, char *node, size_t node_len)
{
	const char *u = NULL, *n = NULL;
	int err = kindex__pod_uid(knowledge__index(ctx), ns, name, &u, &n);

	if (err)
		return err;
	snprintf(uid, uid_len, "%s", u);
	snprintf(node, node_len, "%s", n ? n : "");
	return 0;
}

/*
 * --cgroup/--pod/--pod-uid: find the directories, attach the programs that
 * record their sockets, and make the backend show only what joins with them.
 * Before the capture starts, so that records exist when events come.
 */
static int start_cgroups(struct app *app)
{
	/* --pod: .pod_uid answers NS/NAME -> UID from the --k8s snapshot. */
	struct cgroup_resolver res = { .mountinfo = NULL };
	char (*dirs)[PATH_MAX] = calloc(NW_MAX_CGROUPS, PATH_MAX);
	const char *dirp[NW_MAX_CGROUPS];
	int ret = NW_EXIT_OK, err;
	char why[1024];

	if (!app->opts.ncgroups || !dirs) {
		free(dirs);
		return app->opts.ncgroups ? NW_EXIT_RUNTIME : NW_EXIT_OK;
	}
	if (app->opts.nk8s_files || app->opts.k8s_kubectl) {
		res.pod_uid = pod_uid_from_snapshot;
		res.pod_uid_ctx = &app->kn;
	}
	for (int i = 0; i < app->opts.ncgroups; i++) {
		err = cgroup__resolve(&res, &app->opts.cgroups[i], dirs[i], PATH_MAX, why,
				      sizeof(why));
		if (err) {
			nw_err("%s", why);
			ret = cgroup__exit_code(err);
			goto cleanup;
		}
		dirp[i] = dirs[i];
	}
	err = cgroup_attach__open(&app->cga, dirp, app->opts.ncgroups, why, sizeof(why));
	if (err) {
		nw_err("%s", why);
		ret = exit_code_for(err);
		goto cleanup;
	}
	cgroup_attach__set_filter(&app->cga, &app->opts.filter);
cleanup:
	free(dirs);
	return ret;
}

static int start_capture(struct app *app)
{
	struct nw_backend_opts bopts = {
		.filter = app->opts.filter,
		.ringbuf_size = app->opts.ringbuf_size,
		.netns_fd = app->netns_fd,
		.netns = node_netns(app),
		.tree_fd = proctree__fd(&app->tree),
	};
	char why[1024];
	int err;

	if (app->opts.filter.cgroup)
		cgroup_attach__join_fds(&app->cga, &bopts.join);
	err = capture__open(&app->cap, app->opts.backend, &bopts, on_event, app, why, sizeof(why));
	if (err) {
		nw_err("no backend could attach: %s", why);
		return exit_code_for(err);
	}
	nw_dbg(1, "tracing with backend %s, ring buffer %u bytes\n", capture__backend(&app->cap),
	       app->opts.ringbuf_size);
	return 0;
}

/* -w: create the file now, so that a bad path fails before BPF is loaded. */
static int start_record(struct app *app)
{
	char why[512];
	int err;

	if (!app->opts.write_path)
		return NW_EXIT_OK;
	for (int i = 0; i < app->opts.nk8s_files; i++) {
		struct stat w, k;

		if (!stat(app->opts.write_path, &w) && S_ISREG(w.st_mode) &&
		    !stat(app->opts.k8s_files[i], &k) && w.st_dev == k.st_dev &&
		    w.st_ino == k.st_ino) {
			nw_err("-w %s would overwrite the --k8s snapshot it names", app->opts.write_path);
			return NW_EXIT_USAGE;
		}
	}
	err = record__open(&app->rec, app->opts.write_path, why, sizeof(why));
	if (err) {
		nw_err("%s", why);
		return err == -ENOTTY ? NW_EXIT_USAGE : NW_EXIT_RUNTIME;
	}
	return NW_EXIT_OK;
}

/* -w: the header, once the backend is attached and the clock started. */
static int begin_record(struct app *app)
{
	struct record_info info = {
		.backend = capture__backend(&app->cap),
		.start_ns = app->stats.start_ns,
		.boot_to_real_ns = app->boot_to_real_ns,
		/* also without knowledge yet: an index built later (rules that
		 * appear, kubectl that answers) judges by it, and so must replay */
		.node_netns = knowledge__node_netns(&app->kn),
		.stop = &app->out_stop,
	};
	char filters[RECORD_FILTERS_MAX], why[512], ignored[512];
	int err;

	if (!app->rec)
		return NW_EXIT_OK;
	record__filters(&app->opts, filters, sizeof(filters));
	info.filters = filters;
	err = record__begin(app->rec, &info, why, sizeof(why));
	if (!err)
		return NW_EXIT_OK;
	record__close(app->rec, NULL, ignored, sizeof(ignored)); /* the same error */
	app->rec = NULL;
	app->done = true;
	if (err == -EPIPE) /* the reader of -w - is gone: stop quietly */
		return NW_EXIT_OK;
	nw_err("%s", why);
	return NW_EXIT_RUNTIME;
}

/* -w: trailer and close, however natwho stopped; a write error fails the run
 * (a closed pipe after -w - ends it quietly, like a closed stdout). */
static int stop_record(struct app *app)
{
	struct cap_trailer t = {
		.lost = app->stats.lost,
		.undecodable = app->stats.undecodable,
		.end_ns = app->stats.end_ns,
		.join = app->stats.join,
		.join_missed = app->stats.join_missed,
	};
	char why[512];
	int err;

	if (!app->rec)
		return NW_EXIT_OK;
	err = record__close(app->rec, &t, why, sizeof(why));
	app->rec = NULL;
	if (!err || err == -EPIPE)
		return NW_EXIT_OK;
	nw_err("%s", why);
	return NW_EXIT_RUNTIME;
}

/* -- CMD --children: follow CMD's process tree in the kernel. */
static int start_tree(struct app *app)
{
	char why[512];
	int err;

	if (!app->opts.cmd || app->opts.no_children)
		return NW_EXIT_OK;
	err = proctree__open(&app->tree, why, sizeof(why));
	if (err) {
		nw_err("%s", why);
		return exit_code_for(err);
	}
	app->opts.filter.tree = 1;
	return NW_EXIT_OK;
}

static int track_cmd(void *ctx, pid_t pid)
{
	struct app *app = ctx;

	return app->opts.filter.tree ? proctree__add(&app->tree, pid) : 0;
}

/* -- CMD: start it now that the capture is attached.  A CMD that cannot be
 * run is reported; its status (127, 126) becomes natwho's. */
static int start_cmd(struct app *app)
{
	char why[512];
	int cmd_out;

	if (!app->opts.cmd)
		return NW_EXIT_OK;
	verdict__init(&app->verdict);
	/* stdout for programs only (the capture of -w -, -o json's records):
	 * CMD writes to stderr, with natwho's messages */
	cmd_out = app->sink.out.f == stderr || app->opts.output == OUT_JSON ? STDERR_FILENO : -1;
	if (stop_signal) { /* stopped while attaching: CMD never runs */
		nw_warn("stopped before '%s' ran", app->opts.cmd[0]);
		app->cmd_never_ran = 128 + stop_signal;
		app->done = true;
		return NW_EXIT_OK;
	}
	if (!runcmd__start(&app->cmd, app->opts.cmd, cmd_out, track_cmd, app, why, sizeof(why)))
		return NW_EXIT_OK;
	nw_err("%s", why);
	/* No process (pipe or fork failed), or killed before it ran: natwho's
	 * failure.  One that could not exec exited 127/126: its status. */
	if (!app->cmd.pid || runcmd__term_signal(&app->cmd) == SIGKILL)
		return NW_EXIT_RUNTIME;
	return NW_EXIT_OK;
}

/* -- CMD: after tracing, wait for CMD, print the verdict; CMD's status. */
static int end_cmd(struct app *app)
{
	struct verdict_end end = { .command = app->opts.cmd[0] };

	while (runcmd__wait(&app->cmd) == -EINTR)
		forward_signal(app);
	end.signal = runcmd__term_signal(&app->cmd);
	end.status = runcmd__exit_code(&app->cmd);
	end.cut = app->cmd_cut;
	verdict__print(&app->verdict, &end, &app->sink.out, stderr);
	fflush(app->sink.out.f);
	return end.status;
}

/* -r: a capture's knowledge sources rebuild the index as they come. */
static int replay_source(void *ctx, uint32_t cap_kind, const char *name, const void *data,
			 size_t len)
{
	struct app *app = ctx;
	enum ksrc_kind kind;
	int err;

	if (record__ksrc_kind(cap_kind, &kind))
		return -EPROTONOSUPPORT;
	err = knowledge__put(&app->kn, kind, name, data, len);
	app->stats.k8s = knowledge__had_index(&app->kn);
	note_named_services(app);
	return err;
}

/* -r: the namespace whose rules the recorded knowledge has (0: an older
 * natwho's capture, which judges every connection by them). */
static void replay_header(void *ctx, const struct cap_header *h)
{
	struct app *app = ctx;

	knowledge__set_node_netns(&app->kn, h->node_netns);
}

static bool replay_conn(void *ctx, struct conn *c)
{
	return enrich(ctx, c);
}

/* -r FILE: no BPF, no root; the filters apply in userspace. */
static int run_replay(struct app *app)
{
	struct replay_opts ro = {
		.filter = app->opts.filter,
		.count = app->opts.count,
		.output = app->opts.output,
		.utc = app->opts.utc,
		.quiet = app->opts.quiet,
		.out = app->out,
		.text_f = stderr,
		.on_source = replay_source,
		.on_conn = replay_conn,
		.on_header = replay_header,
		.ctx = app,
		.stats = &app->stats,
		.stop = &stop_signal,
	};
	struct replay_result res = { 0 };
	struct stat in;
	char err[1024];
	int ret;

	/* From a pipe (`ssh node natwho -w - | natwho -r -`): a live tail, each
	 * record out as it comes, not when 64 KiB have gathered. */
	if (!stat(strcmp(app->opts.read_path, "-") ? app->opts.read_path : "/dev/stdin", &in) &&
	    !S_ISREG(in.st_mode))
		setvbuf(app->out, NULL, _IOLBF, 0);
	ret = start_knowledge(app);
	if (ret)
		return ret;
	app->stats.k8s = knowledge__had_index(&app->kn);
	ret = replay__file(app->opts.read_path, &ro, &res, err, sizeof(err));
	/* also before an error (a killed recorder's capture): what was read */
	if (!ret || res.events || res.sources)
		warn_unknown_services(app);
	/* "0 MISMATCH" would read as a clean node: nothing was judged */
	if (app->opts.mismatch_only && !knowledge__had_index(&app->kn) && res.events)
		nw_warn("--mismatch-only: the capture recorded neither rules nor a snapshot "
			"(natwho --no-rules?)%s: no connection could be judged, none is shown; "
			"give --k8s FILE", app->opts.nk8s_files ? " and --k8s named nothing" : "");
	if (ret)
		nw_err("%s", err);
	return ret;
}

/* The summary and the last checks; the exit status the output's state
 * gives (a failure in the last drain counts too). */
static int finish(struct app *app)
{
	bool attached = capture__backend(&app->cap); /* else stopped during start-up */
	struct capture_lost lp = { 0 };
	uint64_t lost, untracked;
	int ret = NW_EXIT_OK;

	if (attached && capture__lost_parts(&app->cap, &lp))
		nw_warn("cannot read the loss counter: the count below may be short");
	lost = capture_lost_total(&lp);
	app->stats.lost = lost;
	app->stats.join = app->opts.filter.cgroup;
	if (attached && app->stats.join &&
	    cgroup_attach__join_missed(&app->cga, &app->stats.join_missed))
		nw_warn("cannot read the missed-join counter: the count below may be short");
	app->stats.end_ns = nw_now_ns(CLOCK_REALTIME);
	app->stats.backend = capture__backend(&app->cap);
	app->stats.k8s = knowledge__had_index(&app->kn); /* its counts apply */
	/* What is pending first: on a stalled reader that is also stderr's,
	 * the text summary would wait for it (stderr_off_if_output()). */
	output_stop = true;
	output_failed(app, &ret);
	sink__summary(&app->sink, stderr, &app->stats);
	output_failed(app, &ret); /* the JSON summary */
	if (lost)
		warn_lost(&lp, false);
	if (attached) {
		report_untracked(app, 0, true);
		report_conntrack(app, nw_now_ns(CLOCK_MONOTONIC), true);
	}
	if (!proctree__untracked(&app->tree, &untracked) && untracked)
		nw_warn("%llu process%s of CMD's tree %s not tracked (more than %d alive at "
			"once): %s connections are not shown",
			(unsigned long long)untracked, untracked == 1 ? "" : "es",
			untracked == 1 ? "was" : "were", NW_TREE_MAX_ENTRIES,
			untracked == 1 ? "its" : "their");
	return ret;
}

/* Is natwho in the host's (the initial) PID namespace?  Its inode is fixed
 * (PROC_PID_INIT_INO); true when it cannot be told. */
static bool in_host_pid_ns(void)
{
	struct stat st;

	return stat("/proc/self/ns/pid", &st) || st.st_ino == 0xEFFFFFFCU;
}

/*
 * A stop signal while natwho read what it knows (a rule dump, kubectl or a
 * --k8s - pipe that hung) or attached: nothing left attached, nothing
 * recorded (an earlier -w capture is left as it was), CMD never run; the
 * summary all the same.
 */
static int stopped_before_tracing(struct app *app)
{
	int sig = stop_signal, ret;
	char ignored[512];

	if (app->rec) {
		record__close(app->rec, NULL, ignored, sizeof(ignored)); /* leaves no file it made */
		app->rec = NULL;
		nw_warn("stopped before tracing started: nothing recorded to '%s'%s",
			app->opts.write_path,
			strcmp(app->opts.write_path, "-") ? " (a file already there is left as it was)" :
							    "");
	}
	if (app->opts.cmd)
		nw_warn("stopped before '%s' ran", app->opts.cmd[0]);
	app->stats.start_ns = nw_now_ns(CLOCK_REALTIME);
	ret = finish(app);
	capture__close(&app->cap);
	cgroup_attach__close(&app->cga);
	proctree__close(&app->tree);
	return ret ? ret : app->opts.cmd ? 128 + sig : NW_EXIT_OK; /* natwho's own failure first */
}

/* The process (thread group) of thread @tid, from /proc; 0 when unknown. */
static uint32_t proc_tgid(pid_t tid)
{
	char path[64], line[128];
	unsigned int tgid = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Tgid: %u", &tgid) == 1)
			break;
	fclose(f);
	return tgid;
}

/*
 * Live tracing's arguments that the machine refutes, before anything starts
 * (no capture file touched, no command run for the knowledge, nothing
 * attached).
 */
static int live_precheck(struct app *app)
{
	/* The programs see the host's process ids; in a PID namespace of its
	 * own (a container without hostPID) natwho's are others: --pid and
	 * CMD's process tree would match the wrong processes, or none. */
	if ((app->opts.filter.tgid || (app->opts.cmd && !app->opts.no_children)) &&
	    !in_host_pid_ns()) {
		nw_err("natwho runs in a PID namespace of its own (a container without the "
		       "host's PID namespace): %s compares the host's process ids; run it there%s",
		       app->opts.filter.tgid ? "--pid" : "-- CMD with --children",
		       app->opts.filter.tgid ? "" : ", or use --no-children");
		return NW_EXIT_USAGE;
	}
	/* A process that is not there shows nothing, which reads as "no
	 * traffic" on a node in trouble. */
	if (app->opts.filter.tgid && kill((pid_t)app->opts.filter.tgid, 0) && errno == ESRCH) {
		nw_err("--pid %u: no such process", app->opts.filter.tgid);
		return NW_EXIT_USAGE;
	}
	/* a thread's id (JSON's "tid", ps -L) names no process: nothing
	 * would match */
	if (app->opts.filter.tgid) {
		uint32_t tgid = proc_tgid((pid_t)app->opts.filter.tgid);

		if (tgid && tgid != app->opts.filter.tgid) {
			nw_err("--pid %u is a thread of process %u: give %u", app->opts.filter.tgid,
			       tgid, tgid);
			return NW_EXIT_USAGE;
		}
	}
	/* CMD that cannot run, before anything starts (-w's earlier capture
	 * kept): the status a shell gives */
	if (app->opts.cmd) {
		char why[512];
		int err = runcmd__find(app->opts.cmd[0], why, sizeof(why));

		if (err) {
			nw_err("%s", why);
			return runcmd__exec_status(-err);
		}
	}
	return NW_EXIT_OK;
}

/* Attach, start `-- CMD`, trace, summarize: natwho's exit status (natwho's
 * own failure first, else CMD's status). */
static int run_live(struct app *app)
{
	int ret, fin_ret, rec_ret;

	/* Every BPF object natwho loads is CO-RE: say so first, not what the
	 * cgroup or process-tree object made of its absence. */
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		nw_err("kernel BTF (/sys/kernel/btf/vmlinux) not available: natwho needs a kernel "
		       "built with CONFIG_DEBUG_INFO_BTF=y");
		return NW_EXIT_UNSUPPORTED;
	}
	if (stop_signal)
		return stopped_before_tracing(app);
	ret = start_cgroups(app);
	ret = ret ?: start_tree(app);
	ret = ret ?: start_capture(app);
	if (ret)
		return ret;
	if (stop_signal) /* while attaching: nothing was read yet */
		return stopped_before_tracing(app);
	app->stats.start_ns = nw_now_ns(CLOCK_REALTIME);
	watch_conntrack(app, nw_now_ns(CLOCK_MONOTONIC));
	ret = begin_record(app);
	/* the reader of -w - gone already: CMD still runs, untraced, as when
	 * it goes while CMD runs */
	if (ret || (app->done && !app->opts.cmd))
		return ret;
	if (app->opts.duration_ns) {
		uint64_t now = nw_now_ns(CLOCK_MONOTONIC);

		/* -d past the end of the clock: never (not a sum that wraps) */
		app->deadline_ns = app->opts.duration_ns > UINT64_MAX - now ?
					   UINT64_MAX :
					   now + app->opts.duration_ns;
	}
	if (!app->opts.quiet)
		sink__header(&app->sink);
	fflush(app->sink.out.f);
	ret = start_cmd(app);
	if (ret)
		return ret;
	ret = run_loop(app);
	/* CMD runs on, untraced, or ended while what it did last was left
	 * unread (--count's, a failed output's): the verdict counts only
	 * what came before */
	if (app->cmd.pid && (app->trace_stop || runcmd__running(&app->cmd)))
		app->cmd_cut = app->trace_stop ? app->trace_stop : "tracing ended";
	fin_ret = finish(app);
	rec_ret = stop_record(app);
	ret = ret ?: fin_ret ?: rec_ret;
	if (app->opts.cmd) {
		int cmd_ret;

		/* Nothing attached stays while CMD runs on untraced (--count,
		 * --duration, a closed output): the ring would fill, and every new
		 * connection of the host would pay for the programs meanwhile. */
		capture__close(&app->cap);
		cgroup_attach__close(&app->cga);
		proctree__close(&app->tree);
		cmd_ret = app->cmd_never_ran ?: end_cmd(app);
		ret = ret ?: cmd_ret;
	}
	return ret;
}

int main(int argc, char **argv)
{
	struct app app = {
		.netns_fd = -1,
		.ct = { .fd = -1, .max_fd = -1 },
		.out_stop = { output_stopping, &app, NW_STALL_MS },
	};
	FILE *live;
	int ret;

	ret = opts__parse(&app.opts, argc, argv);
	if (ret)
		return ret;
	if (app.opts.help || app.opts.version) {
		if (app.opts.help)
			opts__usage(stdout);
		else
			printf("natwho %s (libbpf %s)\n", NATWHO_VERSION, libbpf_version_string());
		if (fflush(stdout) || ferror(stdout)) { /* a full disk: not a success */
			nw_err("writing the %s: %s", app.opts.help ? "help" : "version",
			       strerror(errno));
			return NW_EXIT_RUNTIME;
		}
		return NW_EXIT_OK;
	}
	/* -w -: stdout is the capture; everything else goes to stderr. */
	if (app.opts.write_path && !strcmp(app.opts.write_path, "-")) {
		live = stderr;
		setvbuf(stderr, NULL, _IOLBF, 0);
	} else {
		/* stdout that a stop gets natwho out of, also from a reader that
		 * stopped reading (flushed after every batch anyway) */
		live = out__fdopen_stoppable(STDOUT_FILENO, &app.out_stop);
		if (!live) {
			nw_err("cannot set up the output: %s", strerror(errno));
			return NW_EXIT_RUNTIME;
		}
	}
	app.out = live;
	log__setup(app.opts.output == OUT_JSON && live != stderr ? live : NULL, app.opts.verbose);
	libbpf_set_print(libbpf_print);
	runcmd__save_signals(&app.cmd); /* before natwho changes them */
	install_signals();
	if (app.opts.read_path) {
		ret = run_replay(&app);
		goto cleanup;
	}
	ret = app.opts.audit ? NW_EXIT_OK : live_precheck(&app);
	ret = ret ?: start_record(&app); /* before the knowledge: its sources are recorded */
	ret = ret ?: open_netns(&app);
	if (ret)
		goto cleanup;
	sink__init(&app.sink, live, app.opts.output, app.opts.utc);
	app.boot_to_real_ns = (int64_t)(nw_now_ns(CLOCK_REALTIME) - nw_now_ns(CLOCK_BOOTTIME));
	ret = start_knowledge(&app);
	if (!ret && app.opts.audit) {
		ret = run_audit(&app);
		goto cleanup;
	}
	ret = ret ?: run_live(&app);
cleanup:
	stop_record(&app);
	proctree__close(&app.tree);
	capture__close(&app.cap);
	cgroup_attach__close(&app.cga);
	knowledge__close(&app.kn);
	ctwatch__stop(&app.ct);
	if (app.netns_fd >= 0)
		close(app.netns_fd);
	return ret;
}
