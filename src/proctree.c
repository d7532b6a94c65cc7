// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The process tree of `natwho -- CMD` (--children): bpf/proctree.bpf.c keeps
 * "nw_tree" up to date from the sched_process_fork/exit tracepoints; the
 * capture backend's object shares the map (bpf_map__reuse_fd), the way the
 * cgroup join maps are shared (src/cgroup.c).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "backend.h"
#include "log.h"
#include "percpu.h"
#include "proctree.h"
#include "proctree.skel.h"

static const char *proctree_hint(int err)
{
	switch (-err) {
	case EINVAL:
	case ENOENT:
	case ESRCH:
		return "the kernel lacks BTF tracepoints sched_process_fork/exit (tp_btf): "
		       "use --no-children";
	default:
		return NULL;
	}
}

void proctree__close(struct proctree *pt)
{
	proctree_bpf__destroy(pt->skel);
	pt->skel = NULL;
}

int proctree__open(struct proctree *pt, char *why, size_t why_len)
{
	struct proctree_bpf *skel = proctree_bpf__open();
	const char *hint;
	char buf[160];
	int err;

	pt->skel = skel;
	if (!skel) {
		err = -errno;
		snprintf(why, why_len, "cannot open the process-tree BPF object: %s",
			 strerror(-err));
		return err;
	}
	/* common.bpf.h's other maps: not used by these programs. */
	err = bpf_map__set_autocreate(skel->maps.events, false);
	err = err ?: bpf_map__set_autocreate(skel->maps.lost, false);
	err = err ?: bpf_map__set_autocreate(skel->maps.nw_join, false);
	err = err ?: bpf_map__set_autocreate(skel->maps.nw_join_src, false);
	err = err ?: bpf_map__set_autocreate(skel->maps.nw_join_missed, false);
	err = err ?: proctree_bpf__load(skel);
	err = err ?: proctree_bpf__attach(skel);
	if (err) {
		hint = nw_bpf_refusal(err, "process-tree (tp_btf)", buf, sizeof(buf)) ?:
		       proctree_hint(err);
		snprintf(why, why_len, "--children: %s", hint ? hint : strerror(-err));
		goto cleanup;
	}
	return 0;
cleanup:
	proctree__close(pt);
	return err;
}

int proctree__fd(const struct proctree *pt)
{
	const struct proctree_bpf *skel = pt->skel;

	return skel ? bpf_map__fd(skel->maps.nw_tree) : -1;
}

int proctree__untracked(const struct proctree *pt, uint64_t *n)
{
	const struct proctree_bpf *skel = pt->skel;

	*n = 0;
	return skel ? percpu_u64_sum(bpf_map__fd(skel->maps.nw_tree_full), n) : 0;
}

int proctree__add(struct proctree *pt, pid_t pid)
{
	__u32 tgid = (__u32)pid;
	__u8 one = 1;

	if (!pt->skel)
		return -EBADF;
	return bpf_map_update_elem(proctree__fd(pt), &tgid, &one, BPF_ANY) ? -errno : 0;
}

int proctree__prepare(struct bpf_object *obj, const struct nw_backend_opts *opts)
{
	struct bpf_map *map = bpf_object__find_map_by_name(obj, "nw_tree");

	if (!map)
		return -ENOENT;
	if (opts->filter.tree)
		return bpf_map__reuse_fd(map, opts->tree_fd);
	return bpf_map__set_max_entries(map, 1);
}
