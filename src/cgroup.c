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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
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

/* Link every program to one directory. */
static int cgroup_link_dir(struct cgroup_attach *ca, struct cgroup_bpf *skel, const char *dir,
			   char *why, size_t why_len)
{
	struct bpf_program *progs[NW_CGROUP_NPROGS] = {
		skel->progs.nw_connect4, skel->progs.nw_connect6, skel->progs.nw_sendmsg4,
		skel->progs.nw_sendmsg6, skel->progs.nw_sockops,  skel->progs.nw_egress,
	};
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), err = 0;

	if (fd < 0) {
		err = -errno;
		snprintf(why, why_len, "cannot open cgroup '%s': %s", dir, strerror(-err));
		return err;
	}
	for (int i = 0; i < NW_CGROUP_NPROGS; i++) {
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
	/* common.bpf.h's ring buffer and loss counter: not used here. */
	err = bpf_map__set_autocreate(skel->maps.events, false);
	err = err ?: bpf_map__set_autocreate(skel->maps.lost, false);
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
		nw_dbg(1, "cgroup: watching %s\n", dirs[i]);
	}
	return 0;
cleanup:
	cgroup_attach__close(ca);
	return err;
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
