/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * `natwho -- CMD` with --children: the process tree of CMD, tracked in the
 * kernel (bpf/proctree.bpf.c) in the "nw_tree" map that the capture
 * backends check when filter.tree is set (bpf/common.bpf.h).
 *
 * Order: proctree__open() (load, attach), then the backend with
 * nw_backend_opts.tree_fd = proctree__fd() and filter.tree = 1, then fork
 * CMD and proctree__add() its pid before it execs (src/runcmd.c).
 */
#ifndef NW_PROCTREE_H
#define NW_PROCTREE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct bpf_object;
struct nw_backend_opts;

struct proctree {
	void *skel; /* struct proctree_bpf */
};

/* Load and attach the fork/exit programs.  0, or -errno with one line in @why. */
int proctree__open(struct proctree *pt, char *why, size_t why_len);
/* Track @pid and, from now on, every process it forks.  0 or -errno. */
int proctree__add(struct proctree *pt, pid_t pid);
/* Processes of the tree that could not be tracked (the map was full):
 * their connections were not shown.  0 or -errno. */
int proctree__untracked(const struct proctree *pt, uint64_t *n);
/* The "nw_tree" map, for nw_backend_opts.tree_fd; -1 when not open. */
int proctree__fd(const struct proctree *pt);
/* NULL-safe; the programs detach. */
void proctree__close(struct proctree *pt);

/*
 * For every capture backend, between skeleton open and load: with
 * opts->filter.tree, make @obj use proctree's map; without, shrink its
 * unused copy to one entry.  0 or -errno.
 */
int proctree__prepare(struct bpf_object *obj, const struct nw_backend_opts *opts);

#endif
