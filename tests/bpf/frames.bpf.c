// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The per-CPU call frames of the fentry and kprobe backends
 * (bpf/confirm.bpf.h, the same in every object), driven one operation at a
 * time by tests/tools/nw-frames.c: BPF_PROG_TEST_RUN of this raw_tp program
 * on a CPU of the driver's choosing pushes or takes a frame for a task, skb
 * and conntrack the driver names, so that it can stage what a storm rarely
 * shows: threads preempted inside the call, a thread moved to another CPU,
 * returns the kernel skipped, a full ring.
 */
#include "confirm.bpf.h"

enum { FRAMES_PUSH = 1, FRAMES_TAKE = 2 };

struct frames_result {
	__u64 found; /* take: 1 found; push: 1 pushed */
	__u64 entered;
	__u64 ct;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct frames_result);
} frames_out SEC(".maps");

/* ctx: the operation, task, skb and conntrack (test_run's ctx_in). */
SEC("raw_tp")
int frames_op(__u64 *ctx)
{
	__u64 op = ctx[0], task = ctx[1], skb = ctx[2], ct = ctx[3];
	__u32 zero = 0;
	struct frames_result *r = bpf_map_lookup_elem(&frames_out, &zero);

	if (!r)
		return 1;
	r->entered = 0;
	r->ct = 0;
	if (op == FRAMES_PUSH)
		r->found = nw_confirm_push_frame(task, skb, ct) == 0;
	else if (op == FRAMES_TAKE)
		r->found = nw_confirm_take_frame(task, skb, &r->entered, &r->ct);
	else
		return 1;
	return 0;
}
