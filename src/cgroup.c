// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The cgroup programs of --cgroup/--pod (bpf/cgroup.bpf.c): loaded once,
 * linked to every selected cgroup v2 directory.  Their maps are shared with
 * the capture backend's object, which joins its events with the records.
 *
 * One object per attach family (the STYLE rule) and shared maps rather than
 * one object holding the cgroup and the netfilter programs: every capture
 * backend (netfilter, fentry, kprobe) includes bpf/common.bpf.h and so can
 * join, and the cgroup programs load and attach the same way whichever
 * backend runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "backend.h"
#include "percpu.h"
#include "cgroup.h"
#include "cgroup.skel.h"
#include "log.h"

static const char *cgroup_load_hint(int err)
{
	switch (-err) {
	case EINVAL:
		return "the kernel rejected the cgroup programs (needs cgroup/connect, sock_ops, "
		       "cgroup_skb and socket storage: Linux >= 5.10 with CONFIG_CGROUP_BPF)";
	default:
		return NULL;
	}
}

static void cgroup_progs(struct cgroup_bpf *skel, struct bpf_program *progs[NW_CGROUP_NPROGS])
{
	progs[0] = skel->progs.nw_connect4;
	progs[1] = skel->progs.nw_connect6;
	progs[2] = skel->progs.nw_sendmsg4;
	progs[3] = skel->progs.nw_sendmsg6;
	progs[4] = skel->progs.nw_sockops;
	progs[5] = skel->progs.nw_egress;
}

static const char *attach_type_name(enum bpf_attach_type t)
{
	switch (t) {
	case BPF_CGROUP_INET4_CONNECT: return "cgroup/connect4";
	case BPF_CGROUP_INET6_CONNECT: return "cgroup/connect6";
	case BPF_CGROUP_UDP4_SENDMSG: return "cgroup/sendmsg4";
	case BPF_CGROUP_UDP6_SENDMSG: return "cgroup/sendmsg6";
	case BPF_CGROUP_SOCK_OPS: return "sockops";
	case BPF_CGROUP_INET_EGRESS: return "cgroup_skb/egress";
	default: return "cgroup";
	}
}

#define CG_QUERY_MAX 64 /* BPF_CGROUP_MAX_PROGS */

/* Is program @id among the @n of @ids? */
static bool id_in(__u32 id, const __u32 *ids, __u32 n)
{
	for (__u32 i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

/*
 * Would linking natwho's @type program to the cgroup open at @fd (@dir) be
 * refused because of, or turn off, a program someone else attached there or
 * above without BPF_F_ALLOW_MULTI?  As kernel/bpf/cgroup.c decides:
 *   - beside a cgroup's own non-multi program no other is linked;
 *   - below, the nearest ancestor that has programs (or the multi flag)
 *     decides: multi or override allows it, exclusive (no flag) refuses;
 *   - a cgroup's effective programs take an ancestor's only while nothing
 *     below has any, or when that ancestor attached them with ALLOW_MULTI
 *     (compute_effective_progs): one attached in override mode (a firewall,
 *     a policy) would stop applying to the traced pod while natwho runs.
 * 0, or -EBUSY with the reason in @why.
 */
static int cgroup_check_type(int fd, const char *dir, enum bpf_attach_type type, char *why,
			     size_t why_len)
{
	__u32 eff[CG_QUERY_MAX], ids[CG_QUERY_MAX], neff = CG_QUERY_MAX, flags = 0;
	const char *name = attach_type_name(type);
	int cur = fd, level = 0, err = 0;
	bool decided = false; /* the nearest ancestor that decides was seen */

	if (bpf_prog_query(fd, type, BPF_F_QUERY_EFFECTIVE, &flags, eff, &neff))
		return 0; /* the attach itself will tell */
	for (;;) {
		__u32 n = CG_QUERY_MAX;
		struct statfs sfs;
		int up;

		flags = 0;
		if (bpf_prog_query(cur, type, 0, &flags, ids, &n))
			n = 0;
		if (!level && n && !(flags & BPF_F_ALLOW_MULTI)) {
			snprintf(why, why_len,
				 "cannot watch cgroup '%s': it has a %s program (id %u) attached %s, "
				 "beside which the kernel links no other",
				 dir, name, ids[0],
				 flags & BPF_F_ALLOW_OVERRIDE ? "in override mode" : "exclusively");
			err = -EBUSY;
		} else if (level && !decided && !(flags & BPF_F_ALLOW_MULTI) && n &&
			   !(flags & BPF_F_ALLOW_OVERRIDE)) {
			snprintf(why, why_len,
				 "cannot watch cgroup '%s': its ancestor %d level%s up has a %s "
				 "program (id %u) attached exclusively, below which the kernel links "
				 "no other",
				 dir, level, level > 1 ? "s" : "", name, ids[0]);
			err = -EBUSY;
		} else if (level && n && !(flags & BPF_F_ALLOW_MULTI) && id_in(ids[0], eff, neff)) {
			snprintf(why, why_len,
				 "cannot watch cgroup '%s': its ancestor %d level%s up has a %s "
				 "program (id %u) attached in override mode, which natwho's programs "
				 "would switch off for it (the kernel keeps an ancestor's programs "
				 "below a descendant's only when attached with BPF_F_ALLOW_MULTI)",
				 dir, level, level > 1 ? "s" : "", name, ids[0]);
			err = -EBUSY;
		}
		if (level && ((flags & BPF_F_ALLOW_MULTI) || n))
			decided = true;
		if (err)
			break;
		/* the parent, while it is still on the cgroup2 file system */
		up = openat(cur, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (cur != fd)
			close(cur);
		cur = up;
		if (cur < 0 || fstatfs(cur, &sfs) || sfs.f_type != CGROUP2_SUPER_MAGIC)
			break;
		level++;
	}
	if (cur >= 0 && cur != fd)
		close(cur);
	return err;
}

/*
 * The id of the cgroup v2 directory @fd: what bpf_get_current_cgroup_id()
 * and the kernel's cgroup->kn->id say, as its file handle carries it; where
 * file handles are refused (a seccomp policy), its inode number, the same
 * on 64-bit kernels.
 */
static int cgroup_dir_id(int fd, uint64_t *id)
{
	union {
		struct file_handle fh;
		char buf[sizeof(struct file_handle) + sizeof(uint64_t)];
	} h = { .fh.handle_bytes = sizeof(uint64_t) };
	struct stat st;
	int mount_id;

	if (!name_to_handle_at(fd, "", &h.fh, &mount_id, AT_EMPTY_PATH)) {
		if (h.fh.handle_bytes != sizeof(uint64_t))
			return -EPROTO;
		memcpy(id, h.fh.f_handle, sizeof(*id));
		return 0;
	}
	if (errno != EPERM && errno != ENOSYS && errno != EOPNOTSUPP)
		return -errno;
	if (fstat(fd, &st))
		return -errno;
	*id = st.st_ino;
	return 0;
}

/* Link every program to one directory. */

static int cgroup_link_dir(struct cgroup_attach *ca, struct cgroup_bpf *skel, const char *dir,
			   char *why, size_t why_len)
{
	struct bpf_program *progs[NW_CGROUP_NPROGS];
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), err = 0;

	if (fd < 0) {
		err = -errno;
		snprintf(why, why_len, "cannot open cgroup '%s': %s", dir, strerror(-err));
		return err;
	}
	err = cgroup_dir_id(fd, &ca->ids[ca->ndirs]);
	if (err) {
		snprintf(why, why_len, "cannot read the id of cgroup '%s': %s", dir, strerror(-err));
		close(fd);
		return err;
	}
	cgroup_progs(skel, progs);
	for (int i = 0; i < NW_CGROUP_NPROGS && !err; i++)
		err = cgroup_check_type(fd, dir, bpf_program__expected_attach_type(progs[i]), why,
					why_len);
	for (int i = 0; i < NW_CGROUP_NPROGS && !err; i++) {
		struct bpf_link *link = bpf_program__attach_cgroup(progs[i], fd);

		if (!link) {
			err = -errno;
			snprintf(why, why_len, "cannot attach %s to cgroup '%s': %s",
				 bpf_program__name(progs[i]), dir, strerror(-err));
			break;
		}
		ca->links[ca->nlinks++] = link;
	}
	close(fd); /* the links hold the cgroup */
	return err;
}

void cgroup_attach__close(struct cgroup_attach *ca)
{
	for (int i = 0; i < ca->nlinks; i++)
		bpf_link__destroy(ca->links[i]);
	ca->nlinks = 0;
	for (int i = 0; i < ca->ndirs; i++)
		free(ca->dirs[i]);
	ca->ndirs = 0;
	cgroup_bpf__destroy(ca->skel);
	ca->skel = NULL;
}

int cgroup_attach__open(struct cgroup_attach *ca, const char *const *dirs, int ndirs, char *why,
			size_t why_len)
{
	struct cgroup_bpf *skel;
	const char *hint;
	char buf[160];
	int err;

	memset(ca, 0, sizeof(*ca));
	if (ndirs < 1 || ndirs > NW_MAX_CGROUPS) {
		snprintf(why, why_len, "between 1 and %d cgroups can be watched", NW_MAX_CGROUPS);
		return -E2BIG;
	}
	skel = cgroup_bpf__open();
	if (!skel) {
		err = -errno;
		snprintf(why, why_len, "cannot open the cgroup BPF object: %s", strerror(-err));
		return err;
	}
	ca->skel = skel;
	/* common.bpf.h's ring buffer, loss counter and process tree (8192
	 * preallocated entries): not used here. */
	err = bpf_map__set_autocreate(skel->maps.events, false);
	err = err ?: bpf_map__set_autocreate(skel->maps.lost, false);
	err = err ?: bpf_map__set_autocreate(skel->maps.nw_tree, false);
	err = err ?: cgroup_bpf__load(skel);
	if (err) {
		hint = nw_bpf_refusal(err, "cgroup", buf, sizeof(buf)) ?: cgroup_load_hint(err);
		snprintf(why, why_len, "cgroup programs: %s", hint ? hint : strerror(-err));
		goto cleanup;
	}
	for (int i = 0; i < ndirs; i++) {
		err = cgroup_link_dir(ca, skel, dirs[i], why, why_len);
		if (err)
			goto cleanup;
		ca->dirs[ca->ndirs] = strdup(dirs[i]);
		if (!ca->dirs[ca->ndirs]) {
			err = -ENOMEM;
			snprintf(why, why_len, "out of memory");
			goto cleanup;
		}
		ca->ndirs++;
		nw_dbg(1, "cgroup: watching %s\n", dirs[i]);
	}
	return 0;
cleanup:
	cgroup_attach__close(ca);
	return err;
}

int cgroup_attach__check(struct cgroup_attach *ca)
{
	int left = 0;

	for (int i = 0; i < ca->ndirs; i++) {
		struct bpf_link_info info = {};
		__u32 len = sizeof(info);
		struct bpf_link *link = ca->links[i * NW_CGROUP_NPROGS];

		if (!ca->gone[i] && !bpf_obj_get_info_by_fd(bpf_link__fd(link), &info, &len) &&
		    info.type == BPF_LINK_TYPE_CGROUP && !info.cgroup.cgroup_id) {
			ca->gone[i] = true;
			nw_warn("cgroup '%s' was removed (its pod ended or restarted?): natwho sees "
				"nothing more of it",
				ca->dirs[i]);
		}
		left += !ca->gone[i];
	}
	return left;
}

void cgroup_attach__set_filter(const struct cgroup_attach *ca, struct nw_filter *f)
{
	f->cgroup = 1;
	f->ncgroups = (uint8_t)ca->ndirs;
	memcpy(f->cgroup_ids, ca->ids, sizeof(f->cgroup_ids));
}

void cgroup_attach__join_fds(const struct cgroup_attach *ca, struct nw_join_fds *fds)
{
	const struct cgroup_bpf *skel = ca->skel;

	fds->map_fd = bpf_map__fd(skel->maps.nw_join);
	fds->src_fd = bpf_map__fd(skel->maps.nw_join_src);
	fds->missed_fd = bpf_map__fd(skel->maps.nw_join_missed);
}

int cgroup_attach__join_missed(const struct cgroup_attach *ca, uint64_t *missed)
{
	const struct cgroup_bpf *skel = ca->skel;

	*missed = 0;
	if (!skel)
		return -EINVAL;
	return percpu_u64_sum(bpf_map__fd(skel->maps.nw_join_missed), missed);
}

int cgroup__join_prepare(struct bpf_object *obj, const struct nw_backend_opts *opts)
{
	static const char *const names[] = { "nw_join", "nw_join_src", "nw_join_missed" };
	const int fds[] = { opts->join.map_fd, opts->join.src_fd, opts->join.missed_fd };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct bpf_map *map = bpf_object__find_map_by_name(obj, names[i]);
		int err;

		if (!map)
			return -ENOENT;
		if (opts->filter.cgroup)
			err = bpf_map__reuse_fd(map, fds[i]);
		else if (bpf_map__type(map) == BPF_MAP_TYPE_LRU_HASH)
			err = bpf_map__set_max_entries(map, 1);
		else
			err = 0;
		if (err)
			return err;
	}
	return 0;
}
