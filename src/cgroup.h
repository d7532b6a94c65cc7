/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * --cgroup PATH, --pod NS/NAME, --pod-uid UID: which cgroup v2 directories
 * to watch (cgroup_path.c: no BPF, unit-tested), and the cgroup programs
 * attached to them (cgroup.c, bpf/cgroup.bpf.c) whose socket records the
 * capture backends join with their conntrack events.
 *
 * Pod cgroups are found the way the kubelet names them, under every cgroup2
 * mount (/sys/fs/cgroup, or /sys/fs/cgroup/unified in a hybrid layout):
 *   cgroupfs driver: kubepods[/burstable|/besteffort]/pod<uid>
 *   systemd driver:  kubepods.slice[/kubepods-burstable.slice]/
 *                    kubepods[-burstable]-pod<uid with '_' for '-'>.slice
 * and, for a kubelet --cgroup-root (kind: /kubelet, kubelet.slice), by a
 * bounded walk for a directory with either name.  containerd and CRI-O put
 * their containers' cgroups below the pod's, so watching the pod's directory
 * covers every container of the pod.
 */
#ifndef NW_CGROUP_H
#define NW_CGROUP_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "natwho.h" /* NW_MAX_CGROUPS */

#define NW_CGROUP_MAX_MOUNTS 4
#define NW_POD_UID_LEN 36 /* "8-4-4-4-12" lower-case hex */
#define NW_POD_STATIC_UID_LEN 32 /* a static pod's config hash, hex */

enum nw_cgroup_kind {
	NW_CGROUP_PATH, /* --cgroup PATH */
	NW_CGROUP_POD, /* --pod NS/NAME */
	NW_CGROUP_POD_UID, /* --pod-uid UID */
};

struct nw_cgroup_arg {
	enum nw_cgroup_kind kind;
	const char *value; /* as given on the command line */
};

/*
 * --pod NS/NAME -> pod UID, answered from the Kubernetes snapshot.  Copies
 * the UID and the pod's spec.nodeName ("" when not known) and returns 0, or
 * returns -ENOENT (no such pod in the snapshot) or -ENODATA (the pod has no
 * metadata.uid).
 */
typedef int (*cgroup_pod_uid_fn)(void *ctx, const char *ns, const char *name, char *uid,
				 size_t uid_len, char *node, size_t node_len);

struct cgroup_resolver {
	const char *mountinfo; /* NULL: /proc/self/mountinfo */
	cgroup_pod_uid_fn pod_uid; /* NULL: no snapshot loaded */
	void *pod_uid_ctx;
};

/*
 * Resolve one argument to a cgroup v2 directory.  Returns 0, or a negative
 * errno with one line (no newline) in @why; cgroup__exit_code() maps it:
 *   -EINVAL malformed argument, -ENOENT/-ENOTDIR no such directory,
 *   -EMEDIUMTYPE not on a cgroup v2 file system, -ENOPKG --pod without a
 *   snapshot, -ENOKEY pod not in the snapshot, -ENODATA no UID in it:
 *   usage errors (2);  -ESRCH pod not on this node: runtime error (1);
 *   -ENXIO no cgroup v2 mount: unsupported (4).
 */
int cgroup__resolve(const struct cgroup_resolver *r, const struct nw_cgroup_arg *arg, char *dir,
		    size_t dir_len, char *why, size_t why_len);
int cgroup__exit_code(int err);

/* Building blocks, exposed for the unit tests. */
/* 0 if @path is a directory on a cgroup v2 file system (CGROUP2_SUPER_MAGIC). */
int cgroup__check_dir(const char *path, char *why, size_t why_len);
/* Mount points of type cgroup2 in @mountinfo; their number or -errno. */
int cgroup__mounts(const char *mountinfo, char roots[][PATH_MAX], int max);
/* A Kubernetes UID: 36 characters, lower-case hex and dashes at 8-4-4-4-12. */
bool cgroup__uid_valid(const char *uid);
/* "NS/NAME" -> both parts; -EINVAL unless both are DNS names. */
int cgroup__split_pod(const char *arg, char *ns, size_t ns_len, char *name, size_t name_len);
/* The pod's cgroup directory below one of @roots: 0, or -ESRCH. */
int cgroup__find_pod(char roots[][PATH_MAX], int nroots, const char *uid, char *dir,
		     size_t dir_len);

/* ---- the cgroup programs (cgroup.c) ---- */
struct bpf_link;
struct bpf_object;
struct nw_backend_opts;
struct nw_join_fds;

#define NW_CGROUP_NPROGS 6

struct cgroup_attach {
	void *skel; /* struct cgroup_bpf */
	struct bpf_link *links[NW_MAX_CGROUPS * NW_CGROUP_NPROGS]; /* fd-owned */
	int nlinks;
	char *dirs[NW_MAX_CGROUPS]; /* the directories linked, NW_CGROUP_NPROGS links each */
	int ndirs;
	bool gone[NW_MAX_CGROUPS]; /* removed since (cgroup_attach__check()) */
	uint64_t ids[NW_MAX_CGROUPS]; /* their cgroup ids */
};

/*
 * Load the cgroup programs and attach them to each of @dirs with links that
 * live as long as this process (no pinning): they go when natwho exits, by
 * any signal.  On failure returns -errno with one line in @why and releases
 * everything.
 */
int cgroup_attach__open(struct cgroup_attach *ca, const char *const *dirs, int ndirs, char *why,
			size_t why_len);
/* Turn on @f's --cgroup filter, for the cgroups linked. */
struct nw_filter;
void cgroup_attach__set_filter(const struct cgroup_attach *ca, struct nw_filter *f);
/* The maps a capture backend must share (struct nw_backend_opts.join). */
void cgroup_attach__join_fds(const struct cgroup_attach *ca, struct nw_join_fds *fds);
/* Sum of the per-CPU missed-join counters. */
int cgroup_attach__join_missed(const struct cgroup_attach *ca, uint64_t *missed);
void cgroup_attach__close(struct cgroup_attach *ca);
/*
 * Has a watched cgroup been removed (its pod ended, or restarted with a new
 * UID)?  The kernel keeps the links, defunct (their cgroup id reads 0), and
 * nothing more of it is seen.  Warns once per directory; returns how many
 * are still there (0: nothing left to watch).
 */
int cgroup_attach__check(struct cgroup_attach *ca);

/*
 * For every capture backend, between skeleton open and load: with
 * opts->filter.cgroup, make @obj use the cgroup object's join maps; without,
 * shrink its unused copies to one entry.  0 or -errno.
 */
int cgroup__join_prepare(struct bpf_object *obj, const struct nw_backend_opts *opts);

#endif
