// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <malloc.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netlink.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include "clock.h"
#include "fmt.h"
#include "knowledge.h"
#include "log.h"
#include "netns.h"
#include "nft_nl.h"
#include "runcmd.h"

#define KN_CMD_TIMEOUT_MS 10000
#define KN_KUBECTL_TIMEOUT_MS 20000
#define KN_KUBECTL_CONTEXT_TIMEOUT_MS 5000
#define KN_LEGACY_RECHECK_MS 10000
/* The rules are re-read at most once per this many times the CPU the last
 * read took (the dumps' and the index rebuild's): reading them stays within
 * about a tenth of a CPU however often kube-proxy rewrites them (a big
 * node's take iptables-save seconds to print). */
#define KN_RULES_BACKOFF 10
#define KN_RETRY_MAX_MS 300000 /* a read with a failed dump: tried again this often at least */
#define KN_WAIT_MS 50 /* knowledge_opts.wait while a dump runs */
/* The pipe from a command: what it can write between two reads (a rule
 * dump's wait, a tick of the tracing loop for kubectl refreshes).  64 KiB
 * per tick read a big cluster's snapshot at about 1 MB/s; 1 MiB is
 * fs.pipe-max-size's default. */
#define KN_PIPE_BYTES (1 << 20)

/*
 * What a command said on stderr, for the warning that it failed: the last
 * KN_STDERR_KEEP - 1 bytes (kubectl ends with its summary, after its
 * client's log lines; the rest is read and dropped, so it never blocks).
 */
#define KN_STDERR_KEEP 1024

struct kn_stderr {
	int fd; /* -1: not taken */
	size_t len;
	char buf[KN_STDERR_KEEP];
};

struct kn_async {
	pid_t pid;
	int fd;
	char *buf;
	size_t len, cap;
	uint64_t deadline_ns;
	struct kn_stderr err;
};

static int reap(pid_t pid);

/* A stop signal came (knowledge_opts.stop): natwho is ending. */
static bool kn_stopped(const struct knowledge *k)
{
	return k->opts.stop && *k->opts.stop;
}

/* fork + exec @argv (in @netns_fd) with stdout on a pipe (non-blocking), in a
 * process group of its own; returns the pid.  Its stderr goes to @err's
 * pipe (non-blocking) when @err is given, else to /dev/null.  The child
 * exits 127 when @argv[0] is not found, 126 when it cannot be run. */
static pid_t spawn(int netns_fd, char *const argv[], int *out_fd, struct kn_stderr *err)
{
	pid_t parent = getpid(), pid;
	int p[2], e[2] = { -1, -1 };

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	if (err && pipe2(e, O_CLOEXEC | O_NONBLOCK)) {
		int ret = -errno;

		close(p[0]);
		close(p[1]);
		return ret;
	}
	pid = fork();
	if (pid < 0) {
		int ret = -errno;

		close(p[0]);
		close(p[1]);
		if (err) {
			close(e[0]);
			close(e[1]);
		}
		return ret;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		setpgid(0, 0); /* a timeout kills what it started too */
		/* natwho killed (SIGKILL) while it runs: so is the command */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
			_exit(126);
		if ((netns_fd >= 0 && setns(netns_fd, CLONE_NEWNET)) || dup2(p[1], 1) < 0)
			_exit(126);
		if (null >= 0)
			dup2(null, 0);
		if (e[1] >= 0) { /* blocking on this side: the child waits for room */
			fcntl(e[1], F_SETFL, 0);
			dup2(e[1], 2);
		} else if (null >= 0) {
			dup2(null, 2);
		}
		execvp(argv[0], argv);
		_exit(runcmd__exec_status(errno));
	}
	close(p[1]);
	if (err) {
		close(e[1]);
		err->fd = e[0];
		err->len = 0;
	}
	setpgid(pid, pid); /* either side may run first */
	fcntl(p[0], F_SETPIPE_SZ, KN_PIPE_BYTES); /* else the default: slower, no worse */
	/* Non-blocking: the caller's poll() decides how long to wait. */
	if (fcntl(p[0], F_SETFL, O_NONBLOCK)) {
		close(p[0]);
		if (err) {
			close(err->fd);
			err->fd = -1;
		}
		kill(-pid, SIGKILL);
		reap(pid);
		return -EIO;
	}
	*out_fd = p[0];
	return pid;
}

/* Read what the command wrote on stderr so far, keeping the last bytes;
 * at its end (or an error) the pipe is closed. */
static void kn_stderr_drain(struct kn_stderr *e)
{
	const size_t keep = sizeof(e->buf) - 1;
	char in[4096];

	while (e->fd >= 0) {
		ssize_t n = read(e->fd, in, sizeof(in));
		size_t take, drop;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			close(e->fd);
			e->fd = -1;
			return;
		}
		take = (size_t)n < keep ? (size_t)n : keep;
		drop = e->len + take > keep ? e->len + take - keep : 0;
		memmove(e->buf, e->buf + drop, e->len - drop);
		e->len -= drop;
		memcpy(e->buf + e->len, in + (size_t)n - take, take);
		e->len += take;
	}
}

static void kn_stderr_close(struct kn_stderr *e)
{
	if (e && e->fd >= 0) {
		close(e->fd);
		e->fd = -1;
	}
}

/*
 * Why a command that exited @status failed, for a warning: "no CMD in PATH"
 * (127 and not a word on stderr: not found; 126: not runnable), else "exit
 * status N" and the last line it wrote on stderr (kubectl ends with its
 * summary: "error: You must be logged in to the server (Unauthorized)"),
 * at most 200 bytes of it, cleaned as any text from outside (fmt__clean()).
 */
static void kn_cmd_why(const char *cmd, int status, struct kn_stderr *e, char *buf, size_t len)
{
	const char *line = NULL, *end;
	size_t n = 0, at;

	kn_stderr_drain(e);
	for (end = e->buf + e->len; end > e->buf && (end[-1] == '\n' || end[-1] == '\r' ||
						     end[-1] == ' ' || end[-1] == '\t');
	     end--)
		;
	if (end > e->buf) {
		for (line = end; line > e->buf && line[-1] != '\n'; line--)
			;
		n = (size_t)(end - line);
	}
	if ((status == 127 || status == 126) && !n) {
		snprintf(buf, len, status == 127 ? "no %s in PATH" : "%s found but not runnable", cmd);
		return;
	}
	if (status < 0)
		at = (size_t)snprintf(buf, len, "killed by a signal");
	else
		at = (size_t)snprintf(buf, len, "exit status %d", status);
	if (n && at + 2 < len) {
		snprintf(buf + at, len - at, ": %.*s", (int)(n < 200 ? n : 200), line);
		fmt__clean(buf + at + 2);
	}
}

/* Append what @fd has now; 1 at EOF, 0 when it would block, -errno. */
static int drain(int fd, char **buf, size_t *len, size_t *cap)
{
	for (;;) {
		ssize_t n;

		if (*cap - *len < 65536) {
			size_t ncap = *cap ? *cap * 2 : 1 << 16;
			char *nb;

			if (ncap > KSRC_MAX_BYTES + 1)
				return -E2BIG;
			nb = realloc(*buf, ncap);
			if (!nb)
				return -ENOMEM;
			*buf = nb;
			*cap = ncap;
		}
		n = read(fd, *buf + *len, *cap - *len - 1);
		if (n > 0) {
			*len += n;
			(*buf)[*len] = '\0';
			continue;
		}
		if (n == 0)
			return 1;
		if (errno == EINTR)
			continue;
		return errno == EAGAIN ? 0 : -errno;
	}
}

/* Wait for @pid; its exit status, or -1 when it did not exit normally. */
static int reap(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Has @pid exited?  Then true, its status as reap() gives it in *@status. */
static bool reaped_now(pid_t pid, int *status)
{
	int st;
	pid_t r;

	while ((r = waitpid(pid, &st, WNOHANG)) < 0 && errno == EINTR)
		;
	if (r == 0)
		return false;
	*status = r == pid && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	return true;
}

/*
 * reap() for a command whose stderr natwho reads (@e): what it writes there
 * after its stdout ended is read meanwhile, so that it never waits for
 * room in the pipe; past @deadline (CLOCK_MONOTONIC) or a stop, killed.
 */
static int reap_reading(pid_t pid, struct kn_stderr *e, uint64_t deadline,
			const volatile sig_atomic_t *stop)
{
	int status;

	if (!e)
		return reap(pid);
	while (!reaped_now(pid, &status)) {
		struct pollfd p = { .fd = e->fd, .events = POLLIN };

		if (nw_now_ns(CLOCK_MONOTONIC) >= deadline || (stop && *stop)) {
			kill(-pid, SIGKILL);
			return reap(pid);
		}
		/* its exit is looked for every 5 ms, the pipe read as it fills
		 * (at its end kn_stderr_drain() closes it: -1, not polled) */
		poll(&p, 1, 5);
		kn_stderr_drain(e);
	}
	kn_stderr_drain(e);
	return status;
}

/* Run a command to completion; its stdout in *out (malloc'ed).  0 when it
 * exited 0, else -errno / -ECHILD (non-zero exit) / -ETIMEDOUT, or -EINTR
 * when *@stop was set meanwhile (the command killed; @stop NULL: never).
 * @wait(@ctx) is called at least every KN_WAIT_MS meanwhile (NULL: none); its
 * true gives the command up as @stop does.  @why (NULL: not wanted), after
 * -ECHILD: kn_cmd_why()'s words, @why_len bytes. */
static int run_cmd_waiting(int netns_fd, char *const argv[], int timeout_ms, char **out,
			   size_t *len, bool (*wait)(void *), void *wait_ctx,
			   const volatile sig_atomic_t *stop, char *why, size_t why_len)
{
	uint64_t deadline = nw_now_ns(CLOCK_MONOTONIC) + (uint64_t)timeout_ms * 1000000ULL;
	struct kn_stderr es, *e = why ? &es : NULL;
	size_t cap = 0;
	int fd, err = 0, status;
	pid_t pid = spawn(netns_fd, argv, &fd, e);

	*out = NULL;
	*len = 0;
	if (pid < 0)
		return pid;
	for (;;) {
		struct pollfd pfd[2] = { { .fd = fd, .events = POLLIN },
					 { .fd = e ? e->fd : -1, .events = POLLIN } };
		uint64_t now = nw_now_ns(CLOCK_MONOTONIC);

		if (now >= deadline) {
			err = -ETIMEDOUT;
			break;
		}
		int ms = (int)((deadline - now) / 1000000ULL) + 1;

		if (poll(pfd, 2, (wait || stop) && ms > KN_WAIT_MS ? KN_WAIT_MS : ms) < 0 &&
		    errno != EINTR) {
			err = -errno;
			break;
		}
		if (e)
			kn_stderr_drain(e);
		if ((stop && *stop) || (wait && wait(wait_ctx))) {
			err = -EINTR;
			break;
		}
		err = drain(fd, out, len, &cap);
		if (err) {
			err = err < 0 ? err : 0; /* 1: EOF */
			break;
		}
	}
	if (err)
		kill(-pid, SIGKILL); /* the command and anything it started */
	close(fd);
	status = err ? reap(pid) : reap_reading(pid, e, deadline, stop);
	if (!err && status != 0) {
		err = -ECHILD;
		if (e)
			kn_cmd_why(argv[0], status, e, why, why_len);
	}
	kn_stderr_close(e);
	if (err) {
		free(*out);
		*out = NULL;
		*len = 0;
	}
	return err;
}

static int run_cmd(int netns_fd, char *const argv[], int timeout_ms, char **out, size_t *len,
		   const volatile sig_atomic_t *stop, char *why, size_t why_len)
{
	return run_cmd_waiting(netns_fd, argv, timeout_ms, out, len, NULL, NULL, stop, why,
			       why_len);
}

struct addrs_out {
	char *buf;
	size_t len;
};

/* "IFNAME ADDRESS" lines, the KSRC_LOCAL_ADDRS plain format. */
static int local_addrs(void *arg)
{
	struct addrs_out *o = arg;
	struct ifaddrs *ifa, *i;
	FILE *f;

	if (getifaddrs(&ifa))
		return -errno;
	f = open_memstream(&o->buf, &o->len);
	if (!f) {
		freeifaddrs(ifa);
		return -ENOMEM;
	}
	for (i = ifa; i; i = i->ifa_next) {
		char a[INET6_ADDRSTRLEN];
		int fam = i->ifa_addr ? i->ifa_addr->sa_family : 0;
		const void *p = fam == AF_INET ?
					(const void *)&((struct sockaddr_in *)i->ifa_addr)->sin_addr :
					(const void *)&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;

		if ((fam == AF_INET || fam == AF_INET6) && inet_ntop(fam, p, a, sizeof(a)))
			fprintf(f, "%s %s\n", i->ifa_name, a);
	}
	fclose(f);
	freeifaddrs(ifa);
	return 0;
}

struct ipvs_out {
	char *buf;
	size_t len;
	char err[256]; /* why it could not be read */
};

/* IPVS's table in the namespace natwho is in: /proc/net/ip_vs, through
 * thread-self (/proc/self/net is the thread group leader's namespace).
 * Without IPVS loaded there is no such file: an empty table. */
static int ipvs_table(void *arg)
{
	struct ipvs_out *o = arg;
	int e = ksrc__read("/proc/thread-self/net/ip_vs", KSRC_MAX_BYTES, NULL, &o->buf, &o->len,
			   o->err, sizeof(o->err));

	if (e == -ENOENT) {
		o->buf = strdup("");
		o->len = 0;
		return o->buf ? 0 : -ENOMEM;
	}
	return e;
}

static int nl_open(void *arg)
{
	int *fd = arg;

	*fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	return *fd < 0 ? -errno : 0;
}

static void kn_warn(void *ctx, const char *msg)
{
	(void)ctx;
	nw_dbg(1, "ignored: %s\n", msg);
}

/*
 * Add source @s to @idx; 0, or -errno with one line in @err.  A new version
 * of a snapshot that has neither a Service nor a pod counts as unusable: a
 * cluster has at least one Service (default/kubernetes), and kubectl can
 * exit 0 with an empty list while the API server restarts.
 */
static int kn_add(struct kindex *idx, const struct kn_source *s, char *err, size_t errlen)
{
	struct kindex_stats before, after;
	int e;

	kindex__stats(idx, &before);
	e = kindex__add_source(idx, s->kind, s->name, s->data, s->len, err, errlen);
	if (e || s->kind != KSRC_SNAPSHOT || !s->prev)
		return e;
	kindex__stats(idx, &after);
	if (after.svcports != before.svcports || after.pods != before.pods)
		return 0;
	snprintf(err, errlen, "%s: no Services and no pods in it", s->name);
	return -EINVAL;
}

/*
 * @s's new version is unusable (@e, said in @why): its previous one again
 * (added to @idx).  Refused for want of memory, it is tried again when it
 * comes again; otherwise not until it changes.
 */
static void kn_restore(struct kindex *idx, struct kn_source *s, const char *why, int e)
{
	char err[512];

	nw_warn("%s; keeping its previous version", why);
	if (e != -ENOMEM)
		s->bad_hash = s->hash;
	free(s->data);
	s->data = s->prev;
	s->len = s->prev_len;
	s->hash = s->prev_hash;
	s->prev = NULL;
	if (kindex__add_source(idx, s->kind, s->name, s->data, s->len, err, sizeof(err)))
		nw_warn("%s (the previous version, now not used either)", err);
}

/* Say what natwho cannot read of a nat table iptables-save calls
 * incompatible: when it first has such rules, and when their count moves. */
static void kn_warn_xt(struct knowledge *k)
{
	struct kindex_stats st;

	kindex__stats(k->idx, &st);
	if (st.xt_unread && st.xt_unread != k->xt_said)
		nw_warn("%u iptables-nft rule%s in a nat table iptables-save calls incompatible "
			"(nft's rules beside %s): nft cannot show what %s, iptables-save "
			"will not; a DNAT among them is not known",
			st.xt_unread, st.xt_unread == 1 ? "" : "s", st.xt_unread == 1 ? "it" : "them",
			st.xt_unread == 1 ? "it does" : "they do");
	k->xt_said = st.xt_unread;
}

/*
 * Rebuild the index from every source.  A new version that is unusable (a
 * refresh that answered something else than a snapshot, a dump cut short)
 * gives way to the version before it; a source without one is skipped.
 */
static int kn_rebuild(struct knowledge *k, bool fatal)
{
	struct kindex *idx = kindex__new();
	char err[512], msg[sizeof(k->pods_said)];
	uint32_t claims;

	if (!idx)
		return -ENOMEM;
	kindex__set_warn(idx, kn_warn, NULL);
	/* where two sources name one address, the one added first wins: the
	 * sources marked last come after every other; nft's JSON after
	 * iptables-save's, as it is read by what they said of their nat
	 * tables (kindex__ipt_nat_said()) */
	for (int n = 0; n < 4 * k->nsrc; n++) {
		struct kn_source *s = &k->src[n % k->nsrc];
		bool nft = s->kind == KSRC_NFT_JSON;
		int e;

		if (s->last != (n >= 2 * k->nsrc) || nft != (n / k->nsrc % 2 == 1))
			continue;
		e = kn_add(idx, s, err, sizeof(err));
		if (e && fatal && s->kind == KSRC_SNAPSHOT) {
			nw_err("%s", err);
			kindex__free(idx);
			return e;
		}
		if (e && s->prev)
			kn_restore(idx, s, err, e);
		else if (e)
			nw_warn("%s (ignored)", err);
		free(s->prev); /* the current version is the one to keep */
		s->prev = NULL;
	}
	kindex__set_node_netns(idx, k->opts.node_netns);
	kindex__free(k->idx);
	k->idx = idx;
	k->had_index |= !kindex__empty(idx);
	/* once per new first conflict, not at every refresh */
	claims = kindex__pod_conflicts(idx, msg, sizeof(msg));
	if (claims && strcmp(msg, k->pods_said)) {
		if (claims > 1)
			nw_warn("%s; %u such claims in all", msg, claims);
		else
			nw_warn("%s", msg);
	}
	snprintf(k->pods_said, sizeof(k->pods_said), "%s", msg);
	kn_warn_xt(k);
#ifdef __GLIBC__
	/* Parsing left the heap full of freed pieces (json-c's objects for a
	 * big nft -j answer: hundreds of MB), which glibc keeps: hand them back
	 * instead of keeping them resident for as long as natwho runs. */
	malloc_trim(0);
#endif
	return 0;
}

/* Source @name, added last (-r's own --k8s files) or not: its index, or
 * k->nsrc.  A file given to -r never stands for a recorded source of the
 * same name, nor the other way round. */
static int kn_find(const struct knowledge *k, const char *name, bool last)
{
	int i;

	for (i = 0; i < k->nsrc && (k->src[i].last != last || strcmp(k->src[i].name, name)); i++)
		;
	return i;
}

/*
 * Take ownership of @data as source @name (@last: see kn_find()).  1 when
 * it changed; 0 if it is the same as now, or as a version the last rebuild
 * found unusable.
 */
static int kn_store(struct knowledge *k, enum ksrc_kind kind, const char *name, bool last,
		    char *data, size_t len)
{
	uint64_t h = ksrc__hash(kind, data, len);
	int i = kn_find(k, name, last);

	if (i < k->nsrc && (k->src[i].hash == h || k->src[i].bad_hash == h)) {
		free(data); /* the same, or the same unusable answer again */
		return 0;
	}
	if (i == k->nsrc) {
		if (k->nsrc >= KN_MAX_SOURCES) {
			free(data);
			return -E2BIG;
		}
		k->nsrc++;
		snprintf(k->src[i].name, sizeof(k->src[i].name), "%s", name);
		k->src[i].last = last;
	}
	if (k->src[i].prev) { /* two versions since the last rebuild */
		free(k->src[i].data);
	} else {
		k->src[i].prev = k->src[i].data; /* until the next rebuild tells */
		k->src[i].prev_len = k->src[i].len;
		k->src[i].prev_hash = k->src[i].hash;
	}
	k->src[i].kind = kind;
	k->src[i].data = data;
	k->src[i].len = len;
	k->src[i].hash = h;
	if (k->on_source)
		k->on_source(k->on_source_ctx, kind, name, data, len);
	return 1;
}

/* Drop source @name; 1 if it existed.  Recorded as the source, empty: a
 * replay drops it at the same point. */
static int kn_drop(struct knowledge *k, const char *name)
{
	int i = kn_find(k, name, false); /* a recorded or node source */
	enum ksrc_kind kind;

	if (i == k->nsrc)
		return 0;
	kind = k->src[i].kind;
	free(k->src[i].data);
	free(k->src[i].prev);
	k->src[i] = k->src[--k->nsrc];
	memset(&k->src[k->nsrc], 0, sizeof(k->src[k->nsrc]));
	if (k->on_source)
		k->on_source(k->on_source_ctx, kind, name, "", 0);
	return 1;
}

static bool kn_blank(const char *data, size_t len)
{
	size_t i;

	for (i = 0; i < len && (data[i] == '\n' || data[i] == ' '); i++)
		;
	return i == len;
}

/* Store non-empty command output, drop the source when it became empty. */
static int kn_update(struct knowledge *k, enum ksrc_kind kind, const char *name, char *data,
		     size_t len)
{
	if (kn_blank(data, len)) {
		free(data);
		return kn_drop(k, name);
	}
	return kn_store(k, kind, name, false, data, len);
}

static int legacy_nat_present(void *arg)
{
	bool *present = arg;
	char line[64];
	FILE *f = fopen("/proc/net/ip_tables_names", "re");

	*present = false;
	while (f && fgets(line, sizeof(line), f))
		if (!strcmp(line, "nat\n"))
			*present = true;
	if (f)
		fclose(f);
	return 0;
}

static const struct {
	enum ksrc_kind kind;
	const char *name;
	char *const argv[6];
} rule_dumps[] = {
	{ KSRC_IPTABLES_SAVE, "iptables-save", { "iptables-save", "-t", "nat", NULL } },
	{ KSRC_IP6TABLES_SAVE, "ip6tables-save", { "ip6tables-save", "-t", "nat", NULL } },
	{ KSRC_NFT_JSON, "nft-json", { "nft", "-s", "-j", "list", "ruleset", NULL } },
	{ KSRC_IPSET_SAVE, "ipset-save", { "ipset", "save", NULL } },
};

#define KN_NDUMPS (sizeof(rule_dumps) / sizeof(rule_dumps[0]))
/* The dumps after those: iptables-legacy-save's, iptables-nft-save's. */
#define KN_LEGACY KN_NDUMPS
#define KN_IPTNFT (KN_NDUMPS + 1)
#define KN_NALL (KN_NDUMPS + 2)
#define KN_NFT_TABLES 64 /* tables dumped one by one; more: the whole ruleset */

/* Append the elements of one `nft -j` answer ({"nftables": [...]}) at @d. */
static int kn_nft_append(char **d, size_t *dlen, size_t *dcap, const char *out, size_t len)
{
	const char *in = memchr(out, '[', len), *end = out + len;
	size_t n, need;

	while (end > out && end[-1] != ']')
		end--;
	if (!in || end <= in + 1) /* end - 1: the closing ']' */
		return -EPROTO;
	for (in++, end--; in < end && (*in == ' ' || *in == '\n'); in++)
		;
	n = (size_t)(end - in);
	if (!n)
		return 0; /* [] */
	need = *dlen + 1 + n + 3; /* ',', the elements, "]}" and the NUL */
	if (need > KSRC_MAX_BYTES + 1)
		return -E2BIG;
	if (need > *dcap) {
		size_t ncap = 2 * need > KSRC_MAX_BYTES + 1 ? KSRC_MAX_BYTES + 1 : 2 * need;
		char *nd = realloc(*d, ncap);

		if (!nd)
			return -ENOMEM;
		*d = nd;
		*dcap = ncap;
	}
	if ((*d)[*dlen - 1] != '[')
		(*d)[(*dlen)++] = ',';
	memcpy(*d + *dlen, in, n);
	*dlen += n;
	return 0;
}

/* A table name nft's command line takes as one plain word (nft parses its
 * arguments: a name with a ';' would run a command of its own). */
static bool kn_nft_word(const char *name)
{
	if (!isalpha((unsigned char)*name) && *name != '_')
		return false;
	for (; *name; name++)
		if (!isalnum((unsigned char)*name) && *name != '_' && *name != '-')
			return false;
	return true;
}

/*
 * The tables natwho reads, one `nft -j list table` each, joined into one
 * list at *@d (kn_nft_dump()): 0, 1 when none is to be read, -EAGAIN when
 * one is not for a per-table dump (a name nft's command line would not take
 * as one word, a keyword, a table gone meanwhile), or an error.
 */
static int kn_nft_tables(struct knowledge *k, const struct nft_nl_table *tables, int n,
			 const bool ipt_said[2], char **d, size_t *dlen, size_t *dcap)
{
	static const char *const fams[] = { [NFPROTO_INET] = "inet", [NFPROTO_IPV4] = "ip",
					    [NFPROTO_IPV6] = "ip6" };
	int read = 0;

	for (int i = 0; i < n; i++) {
		char *argv[] = { "nft", "-s", "-j", "list", "table", NULL, NULL, NULL };
		char *one;
		size_t one_len;
		int err;

		if (tables[i].family >= sizeof(fams) / sizeof(fams[0]) || !fams[tables[i].family])
			continue; /* no IP NAT in it (arp, bridge, netdev) */
		if (!(ipt_said[tables[i].family == NFPROTO_IPV6] && !strcmp(tables[i].name, "nat")) &&
		    nft_nl__is_iptables(k->nl_fd, &tables[i]))
			continue; /* read with iptables-save */
		if (!kn_nft_word(tables[i].name))
			return -EAGAIN;
		argv[5] = (char *)fams[tables[i].family];
		argv[6] = (char *)tables[i].name;
		err = run_cmd_waiting(k->opts.netns_fd, argv, KN_CMD_TIMEOUT_MS, &one, &one_len,
				      k->opts.wait, k->opts.wait_ctx, k->opts.stop, NULL, 0);
		if (err)
			return err == -ECHILD ? -EAGAIN : err; /* -ECHILD: nft failed (or is missing) */
		err = kn_nft_append(d, dlen, dcap, one, one_len);
		free(one);
		if (err)
			return err == -EPROTO ? -EAGAIN : err;
		read++;
	}
	return read ? 0 : 1;
}

/*
 * `nft -j list ruleset`, less iptables-nft's tables (nft_nl.h) but a nat
 * table iptables-save said holds nft's rules, @ipt_said ([family is v6];
 * kindex__ipt_nat_said()): each other
 * ip, ip6 and inet table listed on its own, the answers joined into one.
 * The whole ruleset without the netlink socket, with over KN_NFT_TABLES
 * tables, or where one table cannot be listed on its own.  When no table is
 * to be read (iptables-nft's alone, or none), an empty answer: it drops an
 * earlier one, and counts as no ruleset read.  0 and *@out as
 * run_cmd_waiting() gives it, or its error.
 */
static int kn_nft_dump(struct knowledge *k, char *const whole_argv[], const bool ipt_said[2],
		       char **out, size_t *len)
{
	struct nft_nl_table *tables = k->nl_fd >= 0 ? calloc(KN_NFT_TABLES, sizeof(*tables)) : NULL;
	size_t dlen, dcap = 64;
	char *d = malloc(dcap);
	int n, err = -EAGAIN;

	if (tables && d && !nft_nl__tables(k->nl_fd, tables, KN_NFT_TABLES, &n)) {
		dlen = (size_t)snprintf(d, dcap, "{\"nftables\": [");
		err = kn_nft_tables(k, tables, n, ipt_said, &d, &dlen, &dcap);
	}
	free(tables);
	if (err == 1) { /* nothing for nft to say */
		d[0] = '\0';
		*out = d;
		*len = 0;
		return 0;
	}
	if (!err) {
		memcpy(d + dlen, "]}", 3); /* room kept by kn_nft_append() and the snprintf */
		*out = d;
		*len = dlen + 2;
		return 0;
	}
	free(d);
	if (err != -EAGAIN && err != -ENOMEM)
		return err; /* stopped, or too big */
	return run_cmd_waiting(k->opts.netns_fd, whole_argv, KN_CMD_TIMEOUT_MS, out, len,
			       k->opts.wait, k->opts.wait_ctx, k->opts.stop, NULL, 0);
}

_Static_assert(KN_NALL <= KN_DUMPS_MAX, "knowledge.h: KN_DUMPS_MAX, one per dump");

/* Rule dump @i's name in messages: the command. */
static const char *kn_dump_name(size_t i)
{
	return i < KN_NDUMPS ? rule_dumps[i].argv[0] :
	       i == KN_LEGACY ? "iptables-legacy-save" :
				"iptables-nft-save";
}

/* "iptables-save did not finish within 10 s": dump @i and its error. */
static void kn_dump_failure(size_t i, int err, char *buf, size_t len)
{
	if (err == -ETIMEDOUT)
		snprintf(buf, len, "%s did not finish within %d s", kn_dump_name(i),
			 KN_CMD_TIMEOUT_MS / 1000);
	else if (err == -E2BIG)
		snprintf(buf, len, "%s printed more than %u MiB", kn_dump_name(i),
			 KSRC_MAX_BYTES >> 20);
	else if (err == -ECHILD)
		snprintf(buf, len, "%s failed or is gone", kn_dump_name(i));
	else
		snprintf(buf, len, "%s failed: %s", kn_dump_name(i), strerror(-err));
}

/*
 * After a read of the rules: a dump that failed (it timed out, as a big
 * ruleset that kube-proxy rewrites faster than iptables-save prints it
 * does; its output was over the limit; it could not be run; a tool whose
 * version is in use is gone or fails) is said once, and the whole read is
 * tried again when due even if the rules do not move (its source's
 * version, if any, stays in use meanwhile); its recovery is said too.  A
 * dump that fails as a tool not installed does (-ECHILD) while it has no
 * version in use is not a failure.  When natwho is stopping nothing is
 * learned.  Reading once (opts.once), nothing is said: the caller asks
 * knowledge__rules_failed().  @err, @len: per dump, the legacy one last.
 */
static void kn_note_failures(struct knowledge *k, const int *err, const size_t *len)
{
	uint64_t now = nw_now_ns(CLOCK_BOOTTIME);
	uint32_t failed = 0, recovered;

	k->read_stopped = false;
	for (size_t i = 0; i < KN_NALL; i++)
		if (err[i] == -EINTR) {
			k->read_stopped = true; /* stopping: nothing learned */
			return;
		}
	for (size_t i = 0; i < KN_NALL; i++) {
		uint32_t bit = 1u << i;

		k->dump_err[i] = err[i];
		if (!err[i]) {
			if (len[i]) {
				k->dumps_read |= bit;
				k->dump_read_ns[i] = now;
			} else { /* nothing (an empty nft answer: nft did not run) */
				k->dumps_read &= ~bit;
			}
			continue;
		}
		if ((k->dumps_read & bit) || err[i] != -ECHILD)
			failed |= bit;
	}
	recovered = k->dumps_warned & ~failed;
	k->dumps_warned &= failed;
	k->dumps_failed = failed;
	k->stale_tries = failed ? k->stale_tries + 1 : 0;
	if (k->opts.once)
		return;
	if (recovered && !failed)
		nw_warn("the node's NAT rules were read again: the current ones apply");
	for (size_t i = 0; i < KN_NALL; i++) {
		uint32_t bit = 1u << i;
		char why[128], when[64] = "without it";

		if (!(failed & bit) || (k->dumps_warned & bit))
			continue;
		k->dumps_warned |= bit;
		kn_dump_failure(i, err[i], why, sizeof(why));
		if (k->dumps_read & bit)
			snprintf(when, sizeof(when), "with what it gave %llu s ago",
				 (unsigned long long)((now - k->dump_read_ns[i]) / 1000000000ULL));
		nw_warn("reading the node's NAT rules: %s: natwho goes on %s and tries again", why,
			when);
	}
}

bool knowledge__rules_failed(const struct knowledge *k, char *why, size_t len)
{
	for (size_t i = 0; i < KN_NALL; i++)
		if (k->dumps_failed & (1u << i)) {
			kn_dump_failure(i, k->dump_err[i], why, len);
			return true;
		}
	return false;
}

/* How long after a read that cost @cost_ns of CPU the next may come: the
 * rules' check interval, or KN_RULES_BACKOFF times that cost if longer. */
static uint64_t kn_gap_ns(const struct knowledge *k, uint64_t cost_ns)
{
	uint64_t check = k->opts.rules_check_ms * 1000000ULL, gap = KN_RULES_BACKOFF * cost_ns;

	return gap > check ? gap : check;
}

/* Read IPVS's table again: 1 when it changed (counts aside), else 0. */
static int kn_read_ipvs(struct knowledge *k)
{
	struct ipvs_out io = { 0 };
	int e = nw_in_netns(k->opts.netns_fd, ipvs_table, &io);

	if (e) { /* kept as it was; said once until it can be read again */
		if (!k->ipvs_failed)
			nw_warn("reading IPVS's table: %s: natwho goes on with what it read before "
				"(if anything) and tries again",
				io.err[0] ? io.err : strerror(-e));
		k->ipvs_failed = true;
		return 0;
	}
	if (k->ipvs_failed)
		nw_warn("IPVS's table read again");
	k->ipvs_failed = false;
	return kn_update(k, KSRC_IPVS, "ipvs", io.buf, io.len) > 0;
}

/* The next line of @p (up to @end) that is not a comment, in *@line and *@n;
 * a chain's line without its counters (":KUBE-SERVICES - [0:0]"). */
static const char *kn_rule_line(const char *p, const char *end, const char **line, size_t *n)
{
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p)), *next = eol ? eol + 1 : end;
		const char *br;

		eol = eol ? eol : end;
		if (*p == '#' || p == eol) {
			p = next;
			continue;
		}
		*line = p;
		*n = (size_t)(eol - p);
		br = *p == ':' ? memchr(p, '[', *n) : NULL;
		if (br)
			*n = (size_t)(br - p);
		return next;
	}
	*line = NULL;
	return end;
}

/*
 * Did iptables-legacy-save print what iptables-save printed already?  Where
 * `iptables` is the legacy one (kubeadm's advice on Debian and Ubuntu in the
 * incident's time) both print the same legacy table, and every rule would
 * be found twice.  By the rules, not the header: iptables-nft 1.8.3-1.8.7
 * says "iptables-save vX" as legacy iptables does.  Comments and counters
 * aside, as packets move them between the two dumps.
 */
static bool kn_same_rules(const char *a, size_t alen, const char *b, size_t blen)
{
	const char *ea = a + alen, *eb = b + blen;

	for (;;) {
		const char *la, *lb;
		size_t na, nb;

		a = kn_rule_line(a, ea, &la, &na);
		b = kn_rule_line(b, eb, &lb, &nb);
		if (!la || !lb)
			return !la && !lb;
		if (na != nb || memcmp(la, lb, na))
			return false;
	}
}

/* Is `iptables` iptables-nft (`iptables-save -V`: "... (nf_tables)")?  Asked
 * once; not installed, or older than 1.8 (legacy alone): no. */
static bool kn_iptables_is_nft(struct knowledge *k)
{
	char *const argv[] = { "iptables-save", "-V", NULL };
	char *out = NULL;
	size_t len = 0;
	int err;

	if (k->ipt_nft)
		return k->ipt_nft > 0;
	err = run_cmd_waiting(k->opts.netns_fd, argv, KN_CMD_TIMEOUT_MS, &out, &len, k->opts.wait,
			      k->opts.wait_ctx, k->opts.stop, NULL, 0);
	if (err == -EINTR || err == -ETIMEDOUT) {
		free(out);
		return true; /* not known: asked again next time, no dump meanwhile */
	}
	k->ipt_nft = !err && out && memmem(out, len, "(nf_tables)", 11) ? 1 : -1;
	free(out);
	return k->ipt_nft > 0;
}

/* Does nf_tables hold an IPv4 nat table that looks iptables-nft's
 * (nft_nl__is_iptables())?  Not known (no netlink socket, too many
 * tables): perhaps, yes. */
static bool kn_nft_ipt_nat(const struct knowledge *k)
{
	struct nft_nl_table *tables;
	bool found = true;
	int n;

	if (k->nl_fd < 0)
		return true;
	tables = calloc(KN_NFT_TABLES, sizeof(*tables));
	if (tables && !nft_nl__tables(k->nl_fd, tables, KN_NFT_TABLES, &n)) {
		found = false;
		for (int i = 0; i < n && !found; i++)
			found = tables[i].family == NFPROTO_IPV4 && !strcmp(tables[i].name, "nat") &&
				nft_nl__is_iptables(k->nl_fd, &tables[i]);
	}
	free(tables);
	return found;
}

/*
 * iptables-nft's nat table where `iptables` is not iptables-nft (legacy
 * iptables, or none): a kube-proxy or CNI whose own iptables chose
 * nf_tables writes there, and iptables-save does not read it.  Dumped only
 * when nf_tables holds such a table and iptables-save is not iptables-nft;
 * else an empty answer (it drops one read before).  IPv4, as the legacy
 * dump.
 */
static void kn_iptnft_dump(struct knowledge *k, char **out, size_t *len, int *err)
{
	char *const argv[] = { "iptables-nft-save", "-t", "nat", NULL };

	*out = NULL;
	*len = 0;
	*err = 0;
	if (kn_iptables_is_nft(k) || !kn_nft_ipt_nat(k))
		return;
	*err = run_cmd_waiting(k->opts.netns_fd, argv, KN_CMD_TIMEOUT_MS, out, len, k->opts.wait,
			       k->opts.wait_ctx, k->opts.stop, NULL, 0);
	if (*err)
		nw_dbg(1, "iptables-nft-save: %s\n",
		       *err == -ECHILD ? "failed or not installed" : strerror(-*err));
}

/*
 * Did iptables-save (dump @name, or iptables-nft-save) say nft's rules are
 * in its nat table: by this answer (@out), or where it failed (@err), by the
 * version natwho goes on with?
 */
static bool kn_ipt_said(const struct knowledge *k, const char *name, const char *out, size_t len,
			int err)
{
	int s = kn_find(k, name, false);

	if (!err)
		return kindex__ipt_nat_said(out, len) != KIPT_NAT_OWN;
	return s < k->nsrc && k->src[s].data &&
	       kindex__ipt_nat_said(k->src[s].data, k->src[s].len) != KIPT_NAT_OWN;
}

/*
 * Dump the traced namespace's NAT rules and addresses; changed sources.
 * The caller's wait() drains events while the dumps run; the new sources
 * are stored (and recorded) only after the last one, just before the index
 * is rebuilt, so that the events drained meanwhile come before them in a
 * capture, as they were annotated live with the old knowledge.
 */
static int kn_dump_rules(struct knowledge *k)
{
	int changed = 0, fd = k->opts.netns_fd, err[KN_NALL];
	char *out[KN_NALL] = { NULL }, *const legacy_argv[] = { "iptables-legacy-save", "-t", "nat",
								 NULL };
	struct addrs_out ao = { 0 };
	size_t len[KN_NALL];
	uint64_t ipvs_next;
	bool legacy = false, ipt_said[2] = { false, false };

	err[KN_IPTNFT] = -EINTR; /* stopped before it came */
	len[KN_IPTNFT] = 0;
	for (size_t i = 0; i < KN_NDUMPS; i++) {
		if (kn_stopped(k)) {
			err[i] = -EINTR;
		} else if (rule_dumps[i].kind == KSRC_NFT_JSON) {
			/* what iptables-nft-save says of the nat table decides
			 * whether nft lists it */
			kn_iptnft_dump(k, &out[KN_IPTNFT], &len[KN_IPTNFT], &err[KN_IPTNFT]);
			ipt_said[0] |= kn_ipt_said(k, kn_dump_name(KN_IPTNFT), out[KN_IPTNFT],
						   len[KN_IPTNFT], err[KN_IPTNFT]);
			err[i] = kn_nft_dump(k, rule_dumps[i].argv, ipt_said, &out[i], &len[i]);
		} else
			err[i] = run_cmd_waiting(fd, rule_dumps[i].argv, KN_CMD_TIMEOUT_MS, &out[i],
						 &len[i], k->opts.wait, k->opts.wait_ctx,
						 k->opts.stop, NULL, 0);
		if (err[i])
			nw_dbg(1, "%s: %s\n", rule_dumps[i].name,
			       err[i] == -ECHILD ? "failed or not installed" : strerror(-err[i]));
		if (rule_dumps[i].kind == KSRC_IPTABLES_SAVE ||
		    rule_dumps[i].kind == KSRC_IP6TABLES_SAVE)
			ipt_said[rule_dumps[i].kind == KSRC_IP6TABLES_SAVE] |=
				kn_ipt_said(k, rule_dumps[i].name, out[i], len[i], err[i]);
	}
	/* Legacy iptables only when its nat table exists: reading it would
	 * otherwise load iptable_nat and register hooks in the namespace.
	 * None: an empty version (one read before is dropped). */
	len[KN_LEGACY] = 0;
	if (kn_stopped(k))
		err[KN_LEGACY] = -EINTR;
	else if (nw_in_netns(fd, legacy_nat_present, &legacy))
		err[KN_LEGACY] = -ECHILD; /* not known: a failure only if it had read */
	else if (!legacy)
		err[KN_LEGACY] = 0;
	else
		err[KN_LEGACY] = run_cmd_waiting(fd, legacy_argv, KN_CMD_TIMEOUT_MS, &out[KN_LEGACY],
						 &len[KN_LEGACY], k->opts.wait, k->opts.wait_ctx,
						 k->opts.stop, NULL, 0);
	/* iptables-save's own table, read already: none of its own */
	for (size_t x = KN_LEGACY; x < KN_NALL; x++)
		if (!err[x] && len[x] && !err[0] && kn_same_rules(out[0], len[0], out[x], len[x])) {
			free(out[x]);
			out[x] = NULL;
			len[x] = 0;
		}
	kn_note_failures(k, err, len);
	k->rule_dumps_read = 0;
	for (size_t i = 0; i < KN_NDUMPS; i++) {
		if (err[i])
			continue;
		/* an empty nft answer: no table of its own to read (kn_nft_dump()) */
		k->rule_dumps_read += rule_dumps[i].kind != KSRC_IPSET_SAVE && len[i];
		changed += kn_update(k, rule_dumps[i].kind, rule_dumps[i].name, out[i], len[i]) > 0;
	}
	for (size_t x = KN_LEGACY; x < KN_NALL; x++) { /* named by their command */
		if (!err[x] && kn_update(k, KSRC_IPTABLES_SAVE, kn_dump_name(x), out[x], len[x]) > 0)
			changed++;
	}
	k->legacy_rules = legacy;
	if (!nw_in_netns(fd, local_addrs, &ao))
		changed += kn_update(k, KSRC_LOCAL_ADDRS, "local-addrs", ao.buf, ao.len) > 0;
	changed += kn_read_ipvs(k);
	/* not again at the next tick (nor sooner than its own pace): its own
	 * reads go on from here */
	ipvs_next = nw_now_ns(CLOCK_MONOTONIC) + kn_gap_ns(k, 0);
	if (ipvs_next > k->next_ipvs_ns)
		k->next_ipvs_ns = ipvs_next;
	return changed;
}

static char **kubectl_argv(const struct knowledge *k, char **argv)
{
	int n = 0;

	argv[n++] = "kubectl";
	argv[n++] = "get";
	argv[n++] = k->kubectl_endpoints ? "pods,services,endpoints" : "pods,services,endpointslices";
	argv[n++] = "-A";
	argv[n++] = "-o";
	argv[n++] = "json";
	argv[n++] = "--request-timeout=15s";
	if (k->opts.kubeconfig) {
		argv[n++] = "--kubeconfig";
		argv[n++] = (char *)k->opts.kubeconfig;
	}
	if (k->kubectl_context[0]) {
		argv[n++] = "--context";
		argv[n++] = (char *)k->kubectl_context;
	}
	argv[n] = NULL;
	return argv;
}

/*
 * The kubeconfig's current context, pinned for every later kubectl run: a
 * `kubectl config use-context` in another terminal must not turn the
 * refreshes into another cluster's snapshot.  None (in-cluster credentials,
 * a kubectl that fails, an answer that is not one plain line): not pinned.
 */
static void kn_kubectl_pin_context(struct knowledge *k)
{
	char *argv[] = { "kubectl", "config", "current-context", NULL, NULL, NULL };
	char *out = NULL;
	size_t len = 0, n;

	if (k->opts.kubeconfig) {
		argv[3] = "--kubeconfig";
		argv[4] = (char *)k->opts.kubeconfig;
	}
	if (run_cmd(-1, argv, KN_KUBECTL_CONTEXT_TIMEOUT_MS, &out, &len, k->opts.stop, NULL, 0))
		return;
	while (len && (out[len - 1] == '\n' || out[len - 1] == '\r'))
		len--;
	for (n = 0; n < len && out[n] > ' ' && out[n] < 0x7f; n++)
		;
	if (n == len && len && len < sizeof(k->kubectl_context) && out[0] != '-') {
		memcpy(k->kubectl_context, out, len);
		k->kubectl_context[len] = '\0';
		nw_dbg(1, "kubectl: context %s pinned\n", k->kubectl_context);
	}
	free(out);
}

/*
 * kubectl failed saying @why: where that names endpointslices, it stopped at
 * a resource type the server does not have (EndpointSlices came with
 * Kubernetes 1.16-1.17: the incident's 1.15 has none) or will not list to
 * us, and printed nothing else.  The Endpoints objects say the same: true
 * when kubectl is to ask for them from now on (and again now).
 */
static bool kn_kubectl_to_endpoints(struct knowledge *k, const char *why)
{
	if (k->kubectl_endpoints || !strstr(why, "endpointslices"))
		return false;
	k->kubectl_endpoints = true;
	nw_dbg(1, "kubectl: no EndpointSlices (%s): reading Endpoints\n", why);
	return true;
}

/* kubectl runs in natwho's own namespace (it talks to the API server). */
static int kn_kubectl_sync(struct knowledge *k)
{
	char *argv[12], *out, why[320];
	size_t len;
	int err = run_cmd(-1, kubectl_argv(k, argv), KN_KUBECTL_TIMEOUT_MS, &out, &len,
			  k->opts.stop, why, sizeof(why));

	if (err == -ECHILD && kn_kubectl_to_endpoints(k, why))
		err = run_cmd(-1, kubectl_argv(k, argv), KN_KUBECTL_TIMEOUT_MS, &out, &len,
			      k->opts.stop, why, sizeof(why));
	if (err == -EINTR) /* natwho is ending */
		return 0;
	if (err) {
		if (err == -ETIMEDOUT)
			snprintf(why, sizeof(why), "no answer in %d s", KN_KUBECTL_TIMEOUT_MS / 1000);
		else if (err != -ECHILD)
			snprintf(why, sizeof(why), "%s", strerror(-err));
		nw_warn("kubectl get %s failed (%s): continuing %s", argv[2], why,
			k->opts.nfiles && k->opts.rules ?
				"with the names of the other --k8s sources and the node's rules" :
			k->opts.nfiles ? "with the names of the other --k8s sources only" :
			k->opts.rules  ? "with the node's rules only" :
					 "without Kubernetes names");
		k->kubectl_warned = true;
		return 0;
	}
	return kn_store(k, KSRC_SNAPSHOT, "kubectl", false, out, len) > 0;
}

static int kn_load_files(struct knowledge *k)
{
	char err[512];

	for (int i = 0; i < k->opts.nfiles; i++) {
		char *data, name[sizeof(k->src[0].name)];
		size_t len;
		int rerr = ksrc__read(k->opts.files[i], KSRC_MAX_BYTES, k->opts.stop, &data, &len,
				      err, sizeof(err));

		if (rerr == -EINTR) /* stopped while it waited for input: ending */
			return 0;
		if (rerr) { /* too big: bad input; cannot open or read it: as -r does */
			nw_err("--k8s %s", err);
			return rerr == -E2BIG ? NW_EXIT_BADINPUT : NW_EXIT_RUNTIME;
		}
		snprintf(name, sizeof(name), "%s", k->opts.files[i]);
		if (kn_store(k, KSRC_SNAPSHOT, name, k->opts.files_last, data, len) < 0) {
			nw_err("too many --k8s sources");
			return NW_EXIT_USAGE;
		}
	}
	return 0;
}

static void kn_async_free(struct kn_async *a)
{
	if (!a)
		return;
	if (a->pid > 0) {
		kill(-a->pid, SIGKILL);
		reap(a->pid);
	}
	if (a->fd >= 0)
		close(a->fd);
	kn_stderr_close(&a->err);
	free(a->buf);
	free(a);
}

static void kn_kubectl_start(struct knowledge *k, uint64_t now)
{
	struct kn_async *a = calloc(1, sizeof(*a));
	char *argv[12];

	if (!a)
		return;
	a->fd = -1;
	a->err.fd = -1;
	a->pid = spawn(-1, kubectl_argv(k, argv), &a->fd, &a->err); /* its pipes are non-blocking */
	if (a->pid < 0) {
		kn_async_free(a);
		return;
	}
	a->deadline_ns = now + KN_KUBECTL_TIMEOUT_MS * 1000000ULL;
	k->kubectl = a;
}

/* Returns 1 when a new snapshot was stored. */
static int kn_kubectl_poll(struct knowledge *k, uint64_t now)
{
	struct kn_async *a = k->kubectl;
	int done = drain(a->fd, &a->buf, &a->len, &a->cap), status, changed = 0;

	kn_stderr_drain(&a->err);
	if (done == 0 && now < a->deadline_ns)
		return 0;
	/* its answer is complete: its exit, with what it writes on stderr
	 * meanwhile read, is waited for tick by tick */
	if (done == 1 && now < a->deadline_ns && !reaped_now(a->pid, &status))
		return 0;
	if (done != 1 || now >= a->deadline_ns) {
		kill(-a->pid, SIGKILL);
		status = reap(a->pid);
	}
	a->pid = 0;
	if (done == 1 && status == 0) { /* kn_rebuild() judges what it says */
		changed = kn_store(k, KSRC_SNAPSHOT, "kubectl", false, a->buf, a->len) > 0;
		a->buf = NULL;
		k->kubectl_warned = false;
	} else {
		char why[320];

		if (done == 0)
			snprintf(why, sizeof(why), "no answer in %d s", KN_KUBECTL_TIMEOUT_MS / 1000);
		else if (done < 0)
			snprintf(why, sizeof(why), "%s", strerror(-done));
		else
			kn_cmd_why("kubectl", status, &a->err, why, sizeof(why));
		if (done == 1 && kn_kubectl_to_endpoints(k, why)) { /* at once */
			kn_async_free(a);
			k->kubectl = NULL;
			kn_kubectl_start(k, now);
			return 0;
		}
		if (!k->kubectl_warned)
			nw_warn("kubectl refresh failed (%s): keeping the last snapshot", why);
		k->kubectl_warned = true;
	}
	kn_async_free(a);
	k->kubectl = NULL;
	return changed;
}

/* Did the ruleset change since the last dump?  Cheap: one netlink round
 * trip for nf_tables (iptables-nft included); legacy tables are re-read
 * every KN_LEGACY_RECHECK_MS. */
static bool kn_rules_moved(struct knowledge *k, uint64_t now)
{
	bool have_gen = k->nl_fd >= 0;
	uint32_t gen = 0;

	if (have_gen && nft_nl__genid(k->nl_fd, &gen))
		have_gen = false;
	if (have_gen && (!k->have_gen || gen != k->nft_gen)) {
		k->nft_gen = gen;
		k->have_gen = true;
		return true;
	}
	/* Legacy tables, or no generation id: re-read every few seconds. */
	if ((k->legacy_rules || !have_gen) && now >= k->next_legacy_ns) {
		k->next_legacy_ns = now + KN_LEGACY_RECHECK_MS * 1000000ULL;
		return true;
	}
	return false;
}

/* CPU time: of this thread, or of the children natwho waited for (the
 * rule dumps), in ns. */
static uint64_t kn_cpu_ns(int who)
{
	struct rusage ru;

	if (getrusage(who, &ru))
		return 0;
	return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000ULL +
	       ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000ULL;
}

/*
 * The next check of the rules, after a read that cost @cost_ns of CPU (the
 * dumps' and the index rebuild's): KN_RULES_BACKOFF times that later at
 * the least.  A read with a failed dump is tried again, the rules moving
 * or not, at the next check, then at twice the interval each time up to
 * KN_RETRY_MAX_MS (next_retry_ns): a dump that hangs costs no CPU, a tool
 * that keeps failing its exec little, but each retry re-reads everything.
 * Rules that move are read at the CPU pace all the same.
 */
static void kn_rules_next(struct knowledge *k, uint64_t cost_ns)
{
	uint64_t check = k->opts.rules_check_ms * 1000000ULL, gap = kn_gap_ns(k, cost_ns);
	uint64_t now = nw_now_ns(CLOCK_MONOTONIC), retry = check;

	for (unsigned int i = 1; i < k->stale_tries && retry < KN_RETRY_MAX_MS * 1000000ULL; i++)
		retry *= 2;
	if (retry > KN_RETRY_MAX_MS * 1000000ULL)
		retry = KN_RETRY_MAX_MS * 1000000ULL;
	k->next_rules_ns = now + gap;
	k->next_retry_ns = now + (retry > gap ? retry : gap);
	if (k->dumps_failed)
		nw_dbg(1, "rules read (%.2f s of CPU); next check in %.1f s, a retry in %.1f s\n",
		       cost_ns / 1e9, (double)gap / 1e9, (double)(k->next_retry_ns - now) / 1e9);
	else
		nw_dbg(1, "rules read (%.2f s of CPU); next check in %.1f s\n", cost_ns / 1e9,
		       (double)gap / 1e9);
}

/* At start: say what natwho cannot see of the node's NAT rules. */
static void kn_warn_blind(const struct knowledge *k)
{
	struct kindex_stats st;

	if (!k->opts.rules || !k->rule_dumps_read || !k->idx)
		return; /* no rules read: the caller says it (knowledge__rules_read()) */
	kindex__stats(k->idx, &st);
	if (st.ipvs && !st.ipvs_sets && !st.ipvs_services)
		nw_warn("kube-proxy runs in IPVS mode but `ipset save` gave none of its sets (not "
			"installed, or not the version kube-proxy uses): its Service addresses are "
			"known by kube-ipvs0 alone, their names and ports only from --k8s");
}


void knowledge__tick(struct knowledge *k, uint64_t now)
{
	uint64_t cost = 0, ipvs_cost = 0, t;
	bool dumped = false, ipvs_read = false;
	int changed = 0, ipvs_changed = 0;

	if (k->opts.rules && now >= k->next_rules_ns) {
		k->next_rules_ns = now + k->opts.rules_check_ms * 1000000ULL;
		/* asked first: it remembers the generation the dump reads */
		if (kn_rules_moved(k, now) || (k->dumps_failed && now >= k->next_retry_ns)) {
			t = kn_cpu_ns(RUSAGE_CHILDREN);
			changed += kn_dump_rules(k);
			cost = kn_cpu_ns(RUSAGE_CHILDREN) - t;
			dumped = true;
		}
	}
	if (k->opts.rules && !dumped && now >= k->next_ipvs_ns) {
		t = kn_cpu_ns(RUSAGE_THREAD);
		ipvs_changed = kn_read_ipvs(k);
		ipvs_cost = kn_cpu_ns(RUSAGE_THREAD) - t;
		changed += ipvs_changed;
		ipvs_read = true;
	}
	if (k->opts.kubectl && k->opts.kubectl_refresh_s) {
		if (k->kubectl)
			changed += kn_kubectl_poll(k, now);
		else if (now >= k->next_kubectl_ns) {
			k->next_kubectl_ns = now + k->opts.kubectl_refresh_s * 1000000000ULL;
			kn_kubectl_start(k, now);
		}
	}
	if (changed) {
		nw_dbg(1, "knowledge changed: rebuilding the index\n");
		t = kn_cpu_ns(RUSAGE_THREAD);
		kn_rebuild(k, false);
		t = kn_cpu_ns(RUSAGE_THREAD) - t;
		cost += t;
		ipvs_cost += ipvs_changed ? t : 0;
	}
	if (dumped && !k->read_stopped)
		kn_rules_next(k, cost);
	if (ipvs_read) /* at its own pace */
		k->next_ipvs_ns = now + kn_gap_ns(k, ipvs_cost);
}

int knowledge__open(struct knowledge *k, const struct knowledge_opts *opts, kn_source_fn fn,
		    void *ctx)
{
	uint64_t now = nw_now_ns(CLOCK_MONOTONIC), cost = 0, t;
	int ret;

	memset(k, 0, sizeof(*k));
	k->opts = *opts;
	k->on_source = fn;
	k->on_source_ctx = ctx;
	k->nl_fd = -1;
	k->opened = true;
	if (!k->opts.rules_check_ms)
		k->opts.rules_check_ms = 2000;
	ret = kn_load_files(k);
	if (ret)
		return ret;
	if (k->opts.kubectl) {
		if (k->opts.kubectl_refresh_s)
			kn_kubectl_pin_context(k);
		kn_kubectl_sync(k);
	}
	if (k->opts.rules) {
		nw_in_netns(k->opts.netns_fd, nl_open, &k->nl_fd);
		kn_rules_moved(k, now); /* remember the generation we dump now */
		cost = kn_cpu_ns(RUSAGE_CHILDREN);
		kn_dump_rules(k);
		cost = kn_cpu_ns(RUSAGE_CHILDREN) - cost;
	}
	k->next_legacy_ns = now + KN_LEGACY_RECHECK_MS * 1000000ULL;
	k->next_kubectl_ns = now + k->opts.kubectl_refresh_s * 1000000000ULL;
	t = kn_cpu_ns(RUSAGE_THREAD);
	if (kn_rebuild(k, true))
		return NW_EXIT_BADINPUT;
	if (k->opts.rules)
		kn_rules_next(k, cost + kn_cpu_ns(RUSAGE_THREAD) - t);
	kn_warn_blind(k);
	return 0;
}

void knowledge__set_node_netns(struct knowledge *k, uint32_t netns)
{
	k->opts.node_netns = netns;
	if (k->idx)
		kindex__set_node_netns(k->idx, netns);
}

uint32_t knowledge__node_netns(const struct knowledge *k)
{
	return k->opts.node_netns;
}

bool knowledge__rules_read(const struct knowledge *k)
{
	return k->rule_dumps_read > 0;
}

int knowledge__put(struct knowledge *k, enum ksrc_kind kind, const char *name, const char *data,
		   size_t len)
{
	char *copy;
	int changed;

	if (kn_blank(data, len)) /* recorded when the source went away */
		return kn_drop(k, name) ? kn_rebuild(k, false) : 0;
	copy = malloc(len + 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, data, len);
	copy[len] = '\0';
	changed = kn_store(k, kind, name, false, copy, len);
	if (changed < 0)
		return changed;
	return changed ? kn_rebuild(k, false) : 0;
}

bool knowledge__had_index(const struct knowledge *k)
{
	return k->had_index;
}

const struct kindex *knowledge__index(const struct knowledge *k)
{
	return k->idx && !kindex__empty(k->idx) ? k->idx : NULL;
}

void knowledge__close(struct knowledge *k)
{
	if (!k->opened)
		return;
	k->opened = false;
	kn_async_free(k->kubectl);
	k->kubectl = NULL;
	for (int i = 0; i < k->nsrc; i++) {
		free(k->src[i].data);
		free(k->src[i].prev);
	}
	k->nsrc = 0;
	kindex__free(k->idx);
	k->idx = NULL;
	if (k->nl_fd >= 0)
		close(k->nl_fd);
	k->nl_fd = -1;
}
