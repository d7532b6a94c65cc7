/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Capture backends: each loads its BPF object with the kernel-side filter,
 * attaches it, and hands back the "events" ring buffer and the per-CPU "lost"
 * counter.  Every backend emits the same struct nw_event (bpf/common.bpf.h),
 * so everything after capture is backend-agnostic.  Backend choice happens
 * in one place: capture__open() in src/capture.c.
 */
#ifndef NW_BACKEND_H
#define NW_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include "natwho.h"

#define NW_BACKEND_MAX_LINKS 8
#define NW_WHY_LEN 256
#define NW_ENOTSUPP 524 /* the kernel's own "operation not supported" */

/* The cgroup object's join maps (src/cgroup.h); read only with filter.cgroup. */
struct nw_join_fds {
	int map_fd; /* "nw_join" */
	int src_fd; /* "nw_join_src" */
	int missed_fd; /* "nw_join_missed" */
};

struct nw_backend_opts {
	struct nw_filter filter;
	struct nw_join_fds join; /* backends call cgroup__join_prepare() before load */
	int tree_fd; /* filter.tree: proctree's "nw_tree"; backends call proctree__prepare() */
	uint32_t ringbuf_size; /* bytes, power of two >= page size */
	int netns_fd; /* namespace to attach in (netfilter backend), -1: ours */
	uint32_t netns; /* that namespace's inode, 0 when unknown */
};

struct nw_backend {
	const struct nw_backend_ops *ops;
	void *skel; /* the backend's libbpf skeleton */
	const void *kind; /* which skeleton, where a backend has several */
	int events_fd; /* BPF_MAP_TYPE_RINGBUF of struct nw_event */
	int lost_fd; /* BPF_MAP_TYPE_PERCPU_ARRAY, one __u64 */
	int flush_fd; /* "nw_flush": hands a CPU's staged events to the ring */
	int stage_fd; /* "stage", a struct nw_stage per CPU id (every backend stages) */
	/* netfilter: "untracked", TCP SYNs without a conntrack entry per family
	 * (BPF_MAP_TYPE_PERCPU_ARRAY [IPv4, IPv6]), -1 elsewhere; and whether a
	 * new entry of the family came by (the object's nf_tracked[2], mapped) */
	int untracked_fd;
	const volatile __u8 *tracked;
	int link_fds[NW_BACKEND_MAX_LINKS]; /* fd-owned links: gone with us */
	int nlinks;
	/* Programs the kernel may skip (a tracing program that would recurse
	 * on its CPU is not run, and counted in its recursion_misses): each
	 * skip is a connection not reported. */
	int skippable_fds[2];
	int nskippable;
	/* kprobe links, whose info (Linux >= 6.7) counts the hits the kernel
	 * skipped: a nested hit, a kretprobe out of instances */
	int missed_fds[2];
	int nmissed;
};

/* How many hits the kernel skipped on kprobe link @fd (Linux >= 6.7): 0, or
 * -EOPNOTSUPP when the link's info does not say. */
int backend__link_missed(int fd, uint64_t *missed);

struct nw_backend_ops {
	const char *name;
	/*
	 * Load and attach.  On failure return a negative errno, release
	 * everything, and say why in @why (one line, no newline) so that
	 * `--backend auto` can list what each backend said.
	 */
	int (*open)(struct nw_backend *be, const struct nw_backend_opts *opts, char *why,
		    size_t why_len);
	void (*close)(struct nw_backend *be);
};

extern const struct nw_backend_ops nw_backend_netfilter;
extern const struct nw_backend_ops nw_backend_fentry; /* src/backend_confirm.c */
extern const struct nw_backend_ops nw_backend_kprobe; /* src/backend_confirm.c */

#endif
