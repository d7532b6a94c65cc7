// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * fentry and kprobe backends: probes on __nf_conntrack_confirm() (kernel or
 * nf_conntrack module), which see every network namespace at once; --netns
 * becomes the kernel-side filter.netns.  bpf/fentry.bpf.c needs BPF
 * trampolines with BTF, bpf/kprobe.bpf.c only kprobes, both Linux >= 5.13;
 * bpf/fentry_btf.bpf.c and bpf/kprobe_btf.bpf.c are their objects for kernels
 * with bpf_rdonly_cast() (Linux >= 6.2), tried first.  They differ in their
 * skeleton alone: struct confirm_kind wraps it, the rest is shared.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/utsname.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "backend.h"
#include "log.h"
#include "cgroup.h"
#include "nf_compat.h"
#include "percpu.h"
#include "fentry.skel.h"
#include "fentry_btf.skel.h"
#include "kprobe.skel.h"
#include "kprobe_btf.skel.h"
#include "proctree.h"

/* What the two skeletons have in common. */
struct confirm_obj {
	struct bpf_map *events;
	struct bpf_map *lost;
	struct bpf_map *stage; /* struct nw_stage per CPU id */
	struct bpf_map *frames; /* "confirming": the call frames, per CPU id */
	struct bpf_program *flush; /* nw_flush */
	struct nw_filter *filter; /* in .rodata: set before load */
	__u32 *nf_conn_btf_id; /* in .rodata, NW_BTF_CT objects only, else NULL */
	struct bpf_object *obj;
};

struct confirm_kind {
	const char *probe; /* "fexit", "kprobe": for messages */
	void *(*open)(struct confirm_obj *o);
	int (*load)(void *skel);
	int (*attach)(void *skel);
	void (*destroy)(void *skel);
	/* The attached programs' link fds, at most @max; how many. */
	int (*links)(void *skel, int *fds, int max);
};

static bool path_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* Is the running kernel at least @major.@minor? */
static bool kernel_at_least(int major, int minor)
{
	struct utsname u;
	int ma = 0, mi = 0;

	if (uname(&u) || sscanf(u.release, "%d.%d", &ma, &mi) != 2)
		return false;
	return ma > major || (ma == major && mi >= minor);
}

/*
 * struct bpf_link_info as of Linux 6.7, up to where a kprobe's perf link
 * says how many hits the kernel skipped (the 6.1 UAPI headers natwho builds
 * with end before it).
 */
struct nw_kprobe_link_info {
	__u32 type, id, prog_id, pad;
	__u32 perf_event_type, pad2; /* perf_event: enum bpf_perf_event_type */
	__u64 func_name;
	__u32 name_len, offset;
	__u64 addr, missed, cookie;
};
_Static_assert(offsetof(struct nw_kprobe_link_info, missed) == 48, "bpf_link_info layout");
#define NW_BPF_LINK_TYPE_PERF_EVENT 7
#define NW_BPF_PERF_EVENT_KPROBE 3
#define NW_BPF_PERF_EVENT_KRETPROBE 4

int backend__link_missed(int fd, uint64_t *missed)
{
	struct nw_kprobe_link_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	if (info.type != NW_BPF_LINK_TYPE_PERF_EVENT ||
	    (info.perf_event_type != NW_BPF_PERF_EVENT_KPROBE &&
	     info.perf_event_type != NW_BPF_PERF_EVENT_KRETPROBE))
		return -EOPNOTSUPP;
	*missed = info.missed;
	return 0;
}

/*
 * Say in one line why @k could not be loaded (@attaching false) or attached,
 * and return the errno that tells it best (natwho's exit code derives from
 * it): -ENOENT when nf_conntrack is not loaded (a module: without it there is
 * nothing to probe; kprobe attach fails with ENOENT, fexit load with ESRCH),
 * -EOPNOTSUPP when the kernel lacks the probe family, else @err.
 */
static int confirm_explain(const struct confirm_kind *k, int err, bool attaching, char *why,
			   size_t why_len)
{
	bool fexit = !strcmp(k->probe, "fexit");

	if ((err == -EPERM || err == -EACCES) && geteuid() != 0) { /* as root: below */
		char buf[160];

		snprintf(why, why_len, "%s", nw_bpf_refusal(err, k->probe, buf, sizeof(buf)));
		return err;
	}
	if (!path_exists("/sys/module/nf_conntrack")) {
		snprintf(why, why_len, "no connection is being tracked on this host yet "
				       "(nf_conntrack not loaded)");
		return -ENOENT;
	}
	if (!fexit && !path_exists("/sys/bus/event_source/devices/kprobe")) {
		snprintf(why, why_len, "the kernel has no kprobes (CONFIG_KPROBES is off): %s",
			 strerror(-err));
		return -EOPNOTSUPP;
	}
	/* an unknown helper (bpf_for_each_map_elem()) is EINVAL */
	if (!attaching && err == -EINVAL && !kernel_at_least(5, 13)) {
		snprintf(why, why_len, "the %s programs need Linux 5.13 or later: %s", k->probe,
			 strerror(-err));
		return -EOPNOTSUPP;
	}
	if (fexit && !attaching && (err == -EPERM || err == -EINVAL || err == -NW_ENOTSUPP)) {
		snprintf(why, why_len, "the kernel refused a BPF trampoline (fexit): %s",
			 strerror(-err));
		return -EOPNOTSUPP;
	}
	snprintf(why, why_len, "cannot %s %s on __nf_conntrack_confirm: %s%s",
		 attaching ? "attach" : "load", k->probe, strerror(-err),
		 err == -ESRCH || err == -ENOENT ? " (no BTF or symbol for it)" : "");
	return err;
}

/* Open, set the filter and ring buffer size (and @nf_conn_id where the
 * object takes it), load, attach. */
static int confirm_open(const struct confirm_kind *k, struct nw_backend *be,
			const struct nw_backend_opts *opts, __u32 nf_conn_id, char *why,
			size_t why_len)
{
	struct confirm_obj o;
	bool attaching = false;
	int err;

	be->skel = k->open(&o);
	if (!be->skel) {
		err = -errno;
		snprintf(why, why_len, "cannot open BPF object: %s", strerror(-err));
		return err;
	}
	*o.filter = opts->filter;
	if (o.nf_conn_btf_id)
		*o.nf_conn_btf_id = nf_conn_id;
	err = bpf_map__set_max_entries(o.events, opts->ringbuf_size);
	err = err ?: percpu_size_by_cpu(o.stage);
	err = err ?: percpu_size_by_cpu(o.frames);
	err = err ?: cgroup__join_prepare(o.obj, opts);
	err = err ?: proctree__prepare(o.obj, opts);
	if (err) { /* our own set-up: nothing for confirm_explain() to explain */
		snprintf(why, why_len, "preparing the BPF object: %s", strerror(-err));
		goto cleanup;
	}
	err = k->load(be->skel);
	if (!err) {
		attaching = true;
		err = k->attach(be->skel);
	}
	if (err) {
		err = confirm_explain(k, err, attaching, why, why_len);
		goto cleanup;
	}
	be->events_fd = bpf_map__fd(o.events);
	be->lost_fd = bpf_map__fd(o.lost);
	be->flush_fd = bpf_program__fd(o.flush);
	be->stage_fd = bpf_map__fd(o.stage);
	be->kind = k;
	be->nskippable = 0;
	for (int i = 0; i < 3; i++) {
		static const char *const names[] = { "confirm_enter", "confirm_exit",
						     "confirm_return" };
		struct bpf_program *prog = bpf_object__find_program_by_name(o.obj, names[i]);

		if (prog && be->nskippable < 2)
			be->skippable_fds[be->nskippable++] = bpf_program__fd(prog);
	}
	be->nmissed = 0;
	if (!strcmp(k->probe, "kprobe")) {
		if (kernel_at_least(6, 7))
			be->nmissed = k->links(be->skel, be->missed_fds, 2);
		nw_dbg(1, "kprobe: probe hits the kernel skips (a nested hit, a kretprobe out of "
			  "instances) %s\n",
		       be->nmissed ? "count as lost (link info)" :
				     "are not counted: Linux before 6.7 does not report them");
	}
	return 0;
cleanup:
	k->destroy(be->skel);
	be->skel = NULL;
	return err;
}

/*
 * A struct confirm_kind for the skeleton NAME_bpf; @btf_id: the address of
 * its .rodata nf_conn_btf_id (NW_BTF_CT objects), else NULL.
 */
#define CONFIRM_KIND(name, probe_name, btf_id)                                           \
	static void *name##_skel_open(struct confirm_obj *o)                              \
	{                                                                                 \
		struct name##_bpf *skel = name##_bpf__open();                             \
                                                                                          \
		if (skel)                                                                 \
			*o = (struct confirm_obj){ skel->maps.events, skel->maps.lost,    \
						   skel->maps.stage, skel->maps.confirming, \
						   skel->progs.nw_flush,                  \
						   &skel->rodata->filter, btf_id,         \
						   skel->obj };                           \
		return skel;                                                              \
	}                                                                                 \
	static int name##_skel_load(void *skel)                                           \
	{                                                                                 \
		return name##_bpf__load(skel);                                            \
	}                                                                                 \
	static int name##_skel_attach(void *skel)                                         \
	{                                                                                 \
		return name##_bpf__attach(skel);                                          \
	}                                                                                 \
	static void name##_skel_destroy(void *skel)                                       \
	{                                                                                 \
		name##_bpf__destroy(skel);                                                \
	}                                                                                 \
	static int name##_skel_links(void *skel, int *fds, int max)                       \
	{                                                                                 \
		const struct bpf_object_skeleton *s = ((struct name##_bpf *)skel)->skeleton; \
		int n = 0;                                                                \
                                                                                          \
		for (int i = 0; i < s->prog_cnt && n < max; i++)                          \
			if (*s->progs[i].link)                                            \
				fds[n++] = bpf_link__fd(*s->progs[i].link);               \
		return n;                                                                 \
	}                                                                                 \
	static const struct confirm_kind name##_kind = {                                  \
		.probe = probe_name,                                                      \
		.open = name##_skel_open,                                                 \
		.load = name##_skel_load,                                                 \
		.attach = name##_skel_attach,                                             \
		.destroy = name##_skel_destroy,                                           \
		.links = name##_skel_links,                                               \
	}

CONFIRM_KIND(fentry, "fexit", NULL);
CONFIRM_KIND(fentry_btf, "fexit", (__u32 *)&skel->rodata->nf_conn_btf_id);
CONFIRM_KIND(kprobe, "kprobe", NULL);
CONFIRM_KIND(kprobe_btf, "kprobe", (__u32 *)&skel->rodata->nf_conn_btf_id);

/*
 * The object that reads conntrack entries with plain loads if the kernel
 * loads it (it needs bpf_rdonly_cast(), Linux >= 6.2: without it libbpf
 * fails the load), else the one with probe reads.  Tried, not predicted: a
 * BTF name lookup of the kfunc gave both answers on the same QEMU guest
 * kernels (6.1 and 6.12) from one run to the next.
 */
static int confirm_open_best(const struct confirm_kind *btf, const struct confirm_kind *plain,
			     const char *name, struct nw_backend *be,
			     const struct nw_backend_opts *opts, char *why, size_t why_len)
{
	__u32 id = 0;
	int err;

	if (!nf_compat__conn_btf_id(&id)) {
		nw_dbg(1, "%s: struct nf_conn is vmlinux BTF type %u\n", name, id);
		err = confirm_open(btf, be, opts, id, why, why_len);
		if (!err) {
			nw_dbg(1, "%s: conntrack entries read with plain loads (bpf_rdonly_cast)\n",
			       name);
			return 0;
		}
		/* no conntrack, no permission: the other object would be
		 * refused alike; anything else may be this object's own */
		if (err == -ENOENT || err == -EPERM || err == -EACCES)
			return err;
		nw_dbg(1, "%s with bpf_rdonly_cast: %s; trying probe reads\n", name, why);
	}
	return confirm_open(plain, be, opts, 0, why, why_len);
}

static int fentry_open(struct nw_backend *be, const struct nw_backend_opts *opts, char *why,
		       size_t why_len)
{
	return confirm_open_best(&fentry_btf_kind, &fentry_kind, "fentry", be, opts, why, why_len);
}

static int kprobe_open(struct nw_backend *be, const struct nw_backend_opts *opts, char *why,
		       size_t why_len)
{
	return confirm_open_best(&kprobe_btf_kind, &kprobe_kind, "kprobe", be, opts, why, why_len);
}

/* Whichever object confirm_open() loaded. */
static void confirm_close(struct nw_backend *be)
{
	const struct confirm_kind *k = be->kind;

	if (k && be->skel)
		k->destroy(be->skel);
	be->skel = NULL;
	be->kind = NULL;
}

const struct nw_backend_ops nw_backend_fentry = {
	.name = "fentry",
	.open = fentry_open,
	.close = confirm_close,
};

const struct nw_backend_ops nw_backend_kprobe = {
	.name = "kprobe",
	.open = kprobe_open,
	.close = confirm_close,
};
