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
#include <sys/stat.h>
#include <bpf/libbpf.h>
#include "capture.h"
#include "cgroup.h"
#include "conn.h"
#include "knowledge.h"
#include "log.h"
#include "opts.h"
#include "sink.h"

/* The one thing a signal handler touches. */
static volatile sig_atomic_t stop_signal;

struct app {
	struct nw_opts opts;
	struct sink sink;
	struct capture cap;
	struct cgroup_attach cga; /* --cgroup/--pod: the socket-recording programs */
	struct knowledge kn; /* the Kubernetes/rules index and its sources */
	struct k8s_annot annot; /* the current event's annotation */
	struct nw_stats stats;
	int64_t boot_to_real_ns;
	uint64_t deadline_ns; /* CLOCK_MONOTONIC, 0: none */
	uint64_t lost_reported;
	int netns_fd;
	bool done;
};

static void on_signal(int sig)
{
	stop_signal = sig;
}

static uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (log__verbosity() < (level == LIBBPF_DEBUG ? 2 : 1))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* Attach the Kubernetes annotation; false when --mismatch-only hides it. */
static bool enrich(struct app *app, struct conn *c)
{
	struct k8s_annot *annot = &app->annot; /* valid until the next event */
	const struct kindex *idx = knowledge__index(&app->kn);

	if (!idx)
		return !app->opts.mismatch_only;
	kindex__annotate(idx, c, annot);
	c->k8s = annot;
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

static int on_event(void *ctx, void *data, size_t size)
{
	struct app *app = ctx;
	struct conn c;
	int err;

	if (app->done)
		return 0;
	err = conn__decode(data, size, app->boot_to_real_ns, capture__backend(&app->cap), &c);
	if (err) {
		app->stats.undecodable++;
		nw_dbg(1, "undecodable event (%zu bytes): %s\n", size, strerror(-err));
		return 0;
	}
	if (!enrich(app, &c))
		return 0;
	sink__conn(&app->sink, &c);
	app->stats.events++;
	if (app->opts.count && app->stats.events >= app->opts.count)
		app->done = true;
	return 0;
}

static void install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL); /* a closed pipe shows up as a write error */
}

/* With -v, say as soon as the kernel starts dropping events. */
static void report_lost_live(struct app *app)
{
	uint64_t lost;

	if (app->opts.verbose < 1 || capture__lost(&app->cap, &lost) || lost == app->lost_reported)
		return;
	nw_warn("%llu events lost so far (ring buffer full): raise --ringbuf-size",
		(unsigned long long)lost);
	app->lost_reported = lost;
}

static int run_loop(struct app *app)
{
	while (!stop_signal && !app->done) {
		int n = capture__poll(&app->cap, 100);

		if (n < 0) {
			nw_err("reading the ring buffer: %s", strerror(-n));
			return NW_EXIT_RUNTIME;
		}
		if (fflush(stdout) || ferror(stdout)) {
			if (errno != EPIPE)
				nw_err("writing output: %s", strerror(errno));
			return errno == EPIPE ? NW_EXIT_OK : NW_EXIT_RUNTIME;
		}
		if (app->deadline_ns && now_ns(CLOCK_MONOTONIC) >= app->deadline_ns)
			break;
		report_lost_live(app);
		knowledge__tick(&app->kn, now_ns(CLOCK_MONOTONIC));
	}
	/* Stopped by a signal or the clock: what the kernel already recorded is
	 * still delivered. */
	if (!app->done)
		capture__poll(&app->cap, 0);
	return NW_EXIT_OK;
}

/*
 * --netns INODE: a path to that network namespace, for the backends that
 * attach inside it (netfilter): a /var/run/netns entry or a process's
 * /proc/PID/ns/net.  0, or -ENOENT when nothing holds it that way.
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
	if (!path && app->opts.filter.netns) {
		if (netns_find(app->opts.filter.netns, found, sizeof(found))) {
			nw_err("network namespace %u not found: no process or /var/run/netns entry "
			       "holds it (pass a path instead)", app->opts.filter.netns);
			return NW_EXIT_USAGE;
		}
		nw_dbg(1, "network namespace %u is %s\n", app->opts.filter.netns, found);
		path = found;
	}
	if (!path)
		return 0;
	app->netns_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (app->netns_fd < 0 || fstat(app->netns_fd, &st)) {
		nw_err("cannot open network namespace '%s': %s", path, strerror(errno));
		return NW_EXIT_USAGE;
	}
	app->opts.filter.netns = (uint32_t)st.st_ino;
	return 0;
}

/* Load what natwho can know about this node before tracing starts. */
static int start_knowledge(struct app *app)
{
	struct knowledge_opts ko = {
		.nfiles = app->opts.nk8s_files,
		.kubectl = app->opts.k8s_kubectl,
		.kubeconfig = app->opts.kubeconfig,
		.rules = !app->opts.no_rules,
		.netns_fd = app->netns_fd,
		.kubectl_refresh_s = app->opts.refresh_s,
	};
	int ret;

	memcpy(ko.files, app->opts.k8s_files, sizeof(ko.files[0]) * ko.nfiles);
	ret = knowledge__open(&app->kn, &ko, NULL, NULL);
	if (ret)
		return ret;
	if (!knowledge__index(&app->kn) && (app->opts.mismatch_only || app->opts.audit))
		nw_warn("no Kubernetes or NAT rule knowledge found: give --k8s FILE or kubectl");
	return 0;
}

/* `natwho audit`: hostPort/DNAT rules that shadow Services; exit 6 if any. */
static int run_audit(struct app *app)
{
	const struct kindex *idx = knowledge__index(&app->kn);
	int found = idx ? kindex__audit(idx, &app->sink.out) : 0;

	fflush(stdout);
	if (app->opts.output == OUT_TEXT)
		fprintf(stderr, "natwho audit: %d shadowing rule%s\n", found, found == 1 ? "" : "s");
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
	case 524: /* ENOTSUPP */ return NW_EXIT_UNSUPPORTED;
	default: return NW_EXIT_RUNTIME;
	}
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
	app->opts.filter.cgroup = 1;
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
		.verbose = app->opts.verbose > 0,
	};
	char why[1024];
	int err;

	if (app->opts.filter.cgroup)
		cgroup_attach__join_fds(&app->cga, &bopts.join);

	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		nw_err("kernel BTF (/sys/kernel/btf/vmlinux) not available: natwho needs a kernel "
		       "built with CONFIG_DEBUG_INFO_BTF=y");
		return NW_EXIT_UNSUPPORTED;
	}
	err = capture__open(&app->cap, app->opts.backend, &bopts, on_event, app, why, sizeof(why));
	if (err) {
		nw_err("no backend could attach: %s", why);
		return exit_code_for(err);
	}
	nw_dbg(1, "tracing with backend %s, ring buffer %u bytes\n", capture__backend(&app->cap),
	       app->opts.ringbuf_size);
	return 0;
}

static void finish(struct app *app)
{
	uint64_t lost = 0;

	if (capture__lost(&app->cap, &lost))
		nw_warn("cannot read the loss counter: the count below may be short");
	app->stats.lost = lost;
	app->stats.join = app->opts.filter.cgroup;
	if (app->stats.join && cgroup_attach__join_missed(&app->cga, &app->stats.join_missed))
		nw_warn("cannot read the missed-join counter: the count below may be short");
	app->stats.end_ns = now_ns(CLOCK_REALTIME);
	app->stats.backend = capture__backend(&app->cap);
	app->stats.k8s = knowledge__index(&app->kn) != NULL;
	sink__summary(&app->sink, stderr, &app->stats);
	fflush(stdout);
	if (lost)
		nw_warn("%llu events were lost (ring buffer full): raise --ringbuf-size",
			(unsigned long long)lost);
}

int main(int argc, char **argv)
{
	struct app app = { .netns_fd = -1 };
	int ret;

	ret = opts__parse(&app.opts, argc, argv);
	if (ret)
		return ret;
	if (app.opts.help || app.opts.version) {
		if (app.opts.help)
			opts__usage(stdout);
		else
			printf("natwho %s (libbpf %s)\n", NATWHO_VERSION, libbpf_version_string());
		return NW_EXIT_OK;
	}
	log__setup(app.opts.output == OUT_JSON, app.opts.verbose);
	libbpf_set_print(libbpf_print);
	install_signals();
	ret = open_netns(&app);
	if (ret)
		goto cleanup;
	sink__init(&app.sink, stdout, app.opts.output, app.opts.utc);
	app.boot_to_real_ns = (int64_t)(now_ns(CLOCK_REALTIME) - now_ns(CLOCK_BOOTTIME));
	ret = start_knowledge(&app);
	if (!ret && app.opts.audit) {
		ret = run_audit(&app);
		goto cleanup;
	}
	ret = ret ?: start_cgroups(&app);
	ret = ret ?: start_capture(&app);
	if (ret)
		goto cleanup;
	app.stats.start_ns = now_ns(CLOCK_REALTIME);
	if (app.opts.duration_ns)
		app.deadline_ns = now_ns(CLOCK_MONOTONIC) + app.opts.duration_ns;
	sink__header(&app.sink);
	fflush(stdout);
	ret = run_loop(&app);
	finish(&app);
cleanup:
	capture__close(&app.cap);
	cgroup_attach__close(&app.cga);
	knowledge__close(&app.kn);
	if (app.netns_fd >= 0)
		close(app.netns_fd);
	return ret;
}
