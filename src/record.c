// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* `natwho -w FILE`: events and knowledge sources into a capture file. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include "capfile.h"
#include "filter.h"
#include "opts.h"
#include "record.h"

/* A source given before the header was written. */
struct record_pending {
	struct record_pending *next;
	uint32_t kind;
	char *name;
	void *data;
	size_t len;
};

struct record {
	struct capw *w; /* NULL until record__begin() */
	int fd;
	bool own_fd; /* not stdout */
	bool created; /* the file did not exist: not linked (dir_fd) or removed
		       * again (O_CREAT) if natwho never starts */
	int dir_fd; /* >= 0: @fd is an O_TMPFILE in this directory, linked as
		     * @base at record__begin() */
	const char *base;
	int err; /* sticky write error */
	struct record_pending *pending, **tail;
	char name[]; /* path, or "stdout" */
};

static const struct {
	enum ksrc_kind ksrc;
	uint32_t cap;
} kinds[] = {
	{ KSRC_IPTABLES_SAVE, CAP_SRC_IPTABLES_SAVE },
	{ KSRC_NFT_JSON, CAP_SRC_NFT_JSON },
	{ KSRC_SNAPSHOT, CAP_SRC_K8S_JSON },
	{ KSRC_IP6TABLES_SAVE, RECORD_SRC_IP6TABLES_SAVE },
	{ KSRC_IPSET_SAVE, RECORD_SRC_IPSET_SAVE },
	{ KSRC_LOCAL_ADDRS, RECORD_SRC_LOCAL_ADDRS },
	{ KSRC_IPVS, CAP_SRC_IPVS },
};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

uint32_t record__cap_kind(enum ksrc_kind kind)
{
	for (size_t i = 0; i < NKINDS; i++)
		if (kinds[i].ksrc == kind)
			return kinds[i].cap;
	return 0;
}

int record__ksrc_kind(uint32_t cap_kind, enum ksrc_kind *out)
{
	for (size_t i = 0; i < NKINDS; i++) {
		if (kinds[i].cap == cap_kind) {
			*out = kinds[i].ksrc;
			return 0;
		}
	}
	return -ENOENT;
}

/*
 * The capture may hold a cluster snapshot: 0600.  O_CREAT gives a new file
 * that mode; an existing one (overwritten) keeps its own unless changed
 * here.  Devices and FIFOs are the user's choice.  0, or -1 with errno.
 */
static int record_private(int fd)
{
	struct stat st;

	if (fstat(fd, &st))
		return -1;
	if (!S_ISREG(st.st_mode) || !(st.st_mode & 077))
		return 0;
	return fchmod(fd, 0600);
}

/*
 * A new capture file for @rec->name that is not in its directory yet
 * (O_TMPFILE): record__begin() links it there once tracing starts, so a run
 * that never gets there leaves nothing behind, even when SIGKILL ends it.
 * Sets @rec->fd, @rec->dir_fd and @rec->base; false, with nothing set,
 * where the path exists or the file system or kernel has no O_TMPFILE
 * (then O_CREAT does the job, and says what is wrong with the path if
 * anything is).
 */
static bool record_tmpfile(struct record *rec)
{
	const char *path = rec->name, *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : NULL;
	struct stat st;
	int dfd = -1, fd = -1;

	/* no name to link (-w "", a trailing slash), or one that exists */
	if ((slash && !dir) || !*base || !lstat(path, &st) || errno != ENOENT)
		goto out;
	dfd = open(dir ? dir : ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0)
		fd = openat(dfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0) {
		if (dfd >= 0)
			close(dfd);
		goto out;
	}
	rec->fd = fd;
	rec->dir_fd = dfd;
	rec->base = base;
out:
	free(dir);
	return fd >= 0;
}

int record__open(struct record **recp, const char *path, char *err, size_t errlen)
{
	bool std = !strcmp(path, "-");
	const char *name = std ? "stdout" : path;
	struct record *rec;

	*recp = NULL;
	if (std && isatty(STDOUT_FILENO)) {
		snprintf(err, errlen, "-w -: not writing a binary capture to a terminal "
				      "(redirect stdout or pipe it)");
		return -ENOTTY;
	}
	rec = calloc(1, sizeof(*rec) + strlen(name) + 1);
	if (!rec) {
		snprintf(err, errlen, "capture file: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	strcpy(rec->name, name);
	rec->tail = &rec->pending;
	rec->dir_fd = -1;
	/* Not truncated yet: a run that fails to start (a typo, a bad
	 * snapshot, no backend) must not wipe an earlier capture; record__begin()
	 * truncates once tracing starts. */
	if (std) {
		rec->fd = STDOUT_FILENO;
	} else if (record_tmpfile(rec)) {
		rec->created = true;
	} else {
		rec->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (rec->fd >= 0)
			rec->created = true;
		else if (errno == EEXIST)
			rec->fd = open(path, O_WRONLY | O_CLOEXEC);
	}
	if (rec->fd < 0) {
		int e = errno;

		snprintf(err, errlen, "cannot create capture file '%s': %s", path, strerror(e));
		if (rec->fd >= 0 && !std)
			close(rec->fd);
		free(rec);
		return -e;
	}
	rec->own_fd = !std;
	*recp = rec;
	return 0;
}

static int record_put_source(struct record *rec, uint32_t kind, const char *name,
			     const void *data, size_t len)
{
	int err = capw__source(rec->w, kind, name, data, len);

	/* Refused before anything was written: the file is still good. */
	if (err == -E2BIG || err == -ENAMETOOLONG || err == -EINVAL)
		return err;
	if (err && !rec->err)
		rec->err = err;
	return err;
}

static void record_free_pending(struct record *rec)
{
	struct record_pending *p, *next;

	for (p = rec->pending; p; p = next) {
		next = p->next;
		free(p->name);
		free(p->data);
		free(p);
	}
	rec->pending = NULL;
	rec->tail = &rec->pending;
}

/* One line for a write that failed with @ret. */
static void record_errmsg(const struct record *rec, int ret, char *err, size_t errlen)
{
	if (ret == -ETIMEDOUT) /* capw__set_stop(): natwho ending, the reader did not read */
		snprintf(err, errlen,
			 "capture file '%s' ends without its trailer: its reader stopped reading, "
			 "and natwho was ending",
			 rec->name);
	else
		snprintf(err, errlen, "writing capture file '%s': %s", rec->name, strerror(-ret));
}

/* Put record_tmpfile()'s file in its directory as @rec->base: 0, or -1
 * with errno (EEXIST: something else made a file there meanwhile). */
static int record_link(struct record *rec)
{
	char proc[64];
	int ret;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", rec->fd);
	ret = linkat(AT_FDCWD, proc, rec->dir_fd, rec->base, AT_SYMLINK_FOLLOW);
	if (ret && errno == ENOENT) { /* no /proc?  This one may need CAP_DAC_READ_SEARCH */
		ret = linkat(rec->fd, "", rec->dir_fd, rec->base, AT_EMPTY_PATH);
		if (ret && errno != EEXIST)
			errno = ENOENT;
	}
	if (!ret) {
		close(rec->dir_fd);
		rec->dir_fd = -1;
	}
	return ret;
}

int record__begin(struct record *rec, const struct record_info *info, char *err, size_t errlen)
{
	struct cap_header h = {
		.natwho_version = NATWHO_VERSION,
		.backend = info->backend,
		.filters = info->filters,
		.start_ns = info->start_ns,
		.boot_to_real_ns = info->boot_to_real_ns,
		.node_netns = info->node_netns,
	};
	char host[256] = "", msg[256];
	struct utsname u;
	int ret;

	if (!gethostname(host, sizeof(host) - 1))
		h.hostname = host;
	if (!uname(&u))
		h.kernel = u.release;
	if (rec->dir_fd >= 0 && record_link(rec)) {
		ret = -errno;
		snprintf(err, errlen, "capture file '%s': %s", rec->name,
			 ret == -EEXIST ? "created by something else while natwho started" :
					  strerror(-ret));
		rec->err = ret;
		return ret;
	}
	if (rec->own_fd && !rec->created) {
		struct stat st;

		/* an existing file, overwritten now that tracing has started */
		if (!fstat(rec->fd, &st) && S_ISREG(st.st_mode) &&
		    (ftruncate(rec->fd, 0) || record_private(rec->fd))) {
			ret = -errno;
			snprintf(err, errlen, "capture file '%s': %s", rec->name, strerror(-ret));
			rec->err = ret;
			return ret;
		}
	}
	ret = capw__open(&rec->w, rec->fd, &h, msg, sizeof(msg));
	if (ret) {
		snprintf(err, errlen, "capture file '%s': %s", rec->name, msg);
		rec->err = ret;
		return ret;
	}
	capw__set_stop(rec->w, info->stop);
	for (struct record_pending *p = rec->pending; p && !rec->err; p = p->next)
		record_put_source(rec, p->kind, p->name, p->data, p->len);
	record_free_pending(rec);
	if (!rec->err)
		rec->err = capw__flush(rec->w);
	if (rec->err)
		record_errmsg(rec, rec->err, err, errlen);
	return rec->err;
}

int record__event(struct record *rec, const void *raw, size_t size)
{
	int err;

	if (rec->err || !rec->w)
		return rec->err ?: -EBADF;
	err = capw__event(rec->w, raw, size > UINT32_MAX ? UINT32_MAX : (uint32_t)size);
	if (err == -E2BIG) /* a record no natwho emits: leave it out */
		return 0;
	rec->err = err;
	return err;
}

static int record_keep_source(struct record *rec, uint32_t kind, const char *name,
			      const void *data, size_t len)
{
	struct record_pending *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	p->kind = kind;
	p->len = len;
	p->name = strdup(name);
	p->data = malloc(len ? len : 1);
	if (!p->name || !p->data) {
		free(p->name);
		free(p->data);
		free(p);
		return -ENOMEM;
	}
	memcpy(p->data, data, len);
	*rec->tail = p;
	rec->tail = &p->next;
	return 0;
}

int record__source(struct record *rec, enum ksrc_kind kind, const char *name, const void *data,
		   size_t len)
{
	uint32_t cap_kind = record__cap_kind(kind);

	if (rec->err)
		return rec->err;
	if (!cap_kind || !name || !*name || (!data && len))
		return -EINVAL;
	if (strlen(name) > CAP_NAME_MAX)
		return -ENAMETOOLONG;
	if (len > CAP_RECORD_MAX - 6 - strlen(name))
		return -E2BIG;
	if (!rec->w)
		return record_keep_source(rec, cap_kind, name, data, len);
	return record_put_source(rec, cap_kind, name, data, len);
}

/* A note may be written: 0, or the error that stops it. */
static int record_note_ok(const struct record *rec)
{
	return rec->err ?: rec->w ? 0 : -EBADF;
}

int record__untracked(struct record *rec, const struct cap_untracked *u)
{
	int err = record_note_ok(rec);

	return err ?: (rec->err = capw__untracked(rec->w, u));
}

int record__conntrack(struct record *rec, const struct cap_conntrack *c)
{
	int err = record_note_ok(rec);

	return err ?: (rec->err = capw__conntrack(rec->w, c));
}

int record__tick(struct record *rec, uint64_t mono_ns)
{
	if (!rec || !rec->w || rec->err)
		return rec ? rec->err : 0;
	rec->err = capw__tick(rec->w, mono_ns);
	return rec->err;
}

int record__poll_ms(const struct record *rec, int idle_ms)
{
	int flush_ms = (int)(CAPW_FLUSH_INTERVAL_NS / 1000000);

	return rec && rec->w && capw__dirty(rec->w) && idle_ms > flush_ms ? flush_ms : idle_ms;
}

int record__close(struct record *rec, const struct cap_trailer *t, char *err, size_t errlen)
{
	int ret;

	if (!rec)
		return 0;
	ret = rec->err;
	if (rec->w) { /* capw__close() frees the writer, also after an error */
		int cerr = capw__close(rec->w, t);

		ret = ret ?: cerr;
	}
	if (rec->own_fd && close(rec->fd) && !ret)
		ret = -errno;
	if (rec->dir_fd >= 0) /* never linked: nothing to remove */
		close(rec->dir_fd);
	else if (!rec->w && rec->created) /* never started: leave no empty file */
		unlink(rec->name);
	if (ret)
		record_errmsg(rec, ret, err, errlen);
	record_free_pending(rec);
	free(rec);
	return ret;
}

int record__error(const struct record *rec)
{
	return rec ? rec->err : 0;
}

uint64_t record__events(const struct record *rec)
{
	return rec && rec->w ? capw__events(rec->w) : 0;
}

/* Append " @word" (no space first) to @buf like snprintf. */
static int put_word(char *buf, size_t len, int used, const char *a, const char *b)
{
	size_t at = (size_t)used < len ? (size_t)used : len;
	int n = snprintf(buf + at, len - at, "%s%s%s", used ? " " : "", a, b ? b : "");

	return used + (n > 0 ? n : 0);
}

/* Append " @arg" as a shell reads it back: as it is when it holds only
 * characters no shell treats specially, else in single quotes. */
static int put_arg(char *buf, size_t len, int used, const char *arg)
{
	char q[RECORD_FILTERS_MAX]; /* no more fits the header */
	size_t n = 0;

	if (*arg && strspn(arg, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
				"@%+=:,./_-") == strlen(arg))
		return put_word(buf, len, used, arg, NULL);
	q[n++] = '\'';
	for (const char *c = arg; *c && n + 5 < sizeof(q); c++) {
		if (*c == '\'') { /* ' ends the quote, \' is one, ' opens again */
			memcpy(q + n, "'\\''", 4);
			n += 4;
		} else {
			q[n++] = *c;
		}
	}
	q[n++] = '\'';
	q[n] = '\0';
	return put_word(buf, len, used, q, NULL);
}

int record__filters(const struct nw_opts *o, char *buf, size_t len)
{
	static const char *const cg_opt[] = { "--cgroup ", "--pod ", "--pod-uid " };
	int n = filter__format(&o->filter, buf, len);

	for (int i = 0; i < o->ncgroups; i++)
		n = put_word(buf, len, n, cg_opt[o->cgroups[i].kind], o->cgroups[i].value);
	for (int i = 0; i < o->nservices; i++)
		n = put_word(buf, len, n, "--service ", o->services[i]);
	if (o->mismatch_only)
		n = put_word(buf, len, n, "--mismatch-only", NULL);
	if (!o->cmd)
		return n;
	n = put_word(buf, len, n, o->no_children ? "--no-children --" : "--children --", NULL);
	for (char **arg = o->cmd; *arg; arg++)
		n = put_arg(buf, len, n, *arg);
	return n;
}
