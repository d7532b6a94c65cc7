// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * `natwho -- CMD` with --children: keep "nw_tree" (bpf/common.bpf.h) equal
 * to the set of processes descending from CMD.  Userspace puts CMD's pid in
 * before CMD runs (src/runcmd.c); from then on every fork of a tracked
 * process adds the child, and the exit of a process's last thread removes
 * it (so a recycled pid is not mistaken for a descendant).
 *
 * tp_btf programs: they need only tracepoints and BTF (no kprobes, no
 * trampolines), and see the parent and child task_structs, so a new thread
 * (same tgid) is told from a new process without guessing from pids.
 *
 * Includes common.bpf.h for the map; userspace creates only "nw_tree" of
 * this object.
 */
#include "common.bpf.h"
#include <bpf/bpf_tracing.h>

/* Descendants not tracked: the map was full (more than NW_TREE_MAX_ENTRIES
 * processes of the tree alive at once).  Their connections are not shown:
 * userspace says how many processes went untracked. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} nw_tree_full SEC(".maps");

/* sched_process_fork(parent, child): current forked @child. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(nw_tree_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = parent->tgid, ctgid = child->tgid;
	__u8 one = 1;

	if (ptgid == ctgid) /* a new thread of a process we already know or not */
		return 0;
	if (bpf_map_lookup_elem(&nw_tree, &ptgid) &&
	    bpf_map_update_elem(&nw_tree, &ctgid, &one, BPF_ANY))
		nw_percpu_inc(&nw_tree_full);
	return 0;
}

/*
 * sched_process_exit(p[, group_dead]): one thread of @p's process exits.
 * Only the first argument is read: recent kernels (6.18 here) add a
 * group_dead argument that older ones (6.1) lack.  The tracepoint fires
 * after do_exit() decremented signal->live, so a live count of zero means
 * the last thread is leaving, on either.
 */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(nw_tree_exit, struct task_struct *p)
{
	__u32 tgid = p->tgid;

	if (p->signal->live.counter == 0)
		bpf_map_delete_elem(&nw_tree, &tgid);
	return 0;
}
