// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * kprobe backend, for kernels without BPF trampolines: a kprobe at the entry
 * of __nf_conntrack_confirm() stashes the skb and its conntrack, the
 * kretprobe reports them with the verdict.  See confirm.bpf.h for which calls
 * are reported.
 *
 * A kretprobe cannot see the arguments, so entry and return are paired per
 * thread.  Calls nest on one thread: local_bh_enable() inside the function
 * runs pending softirqs, which confirm other packets before the outer call
 * returns.  Hence a small stack per thread, pushed at entry and popped at
 * return.  Every CPU's idle task has pid 0, so softirqs that run on it get
 * one key per CPU instead.  (If the kernel skips one side of a pair, e.g. a
 * kretprobe miss, one event can be paired with a neighbour's verdict; a
 * verdict is NF_DROP only when inserting failed, which is rare.)
 */
#define NW_BTF_TASK /* bpf_get_current_task_btf(); the skb is a plain address */
#include "confirm.bpf.h"
#include <bpf/bpf_tracing.h>

#define NW_KP_DEPTH 8 /* power of two */

struct nw_kp_frames {
	__u64 skb[NW_KP_DEPTH];
	__u64 ct[NW_KP_DEPTH];
	__u32 depth; /* calls entered and not returned; may exceed NW_KP_DEPTH */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64);
	__type(value, struct nw_kp_frames);
} confirming SEC(".maps");

static __always_inline __u64 nw_kp_key(void)
{
	__u64 id = bpf_get_current_pid_tgid();

	return id ? id : (1ULL << 63) | bpf_get_smp_processor_id();
}

SEC("kprobe/__nf_conntrack_confirm")
int BPF_KPROBE(confirm_enter, struct sk_buff *skb)
{
	static const struct nw_kp_frames empty = {};
	__u64 key = nw_kp_key();
	struct nw_kp_frames *f = bpf_map_lookup_elem(&confirming, &key);
	__u32 d;

	if (!f) {
		bpf_map_update_elem(&confirming, &key, &empty, BPF_NOEXIST);
		f = bpf_map_lookup_elem(&confirming, &key);
		if (!f) {
			nw_count_lost();
			return 0;
		}
	}
	d = f->depth;
	if (d < NW_KP_DEPTH) {
		d &= NW_KP_DEPTH - 1;
		f->skb[d] = (__u64)skb;
		f->ct[d] = nw_confirm_candidate(skb);
	} else if (nw_confirm_candidate(skb)) {
		nw_count_lost(); /* nested deeper than we keep: never reported */
	}
	f->depth += 1;
	return 0;
}

SEC("kretprobe/__nf_conntrack_confirm")
int BPF_KRETPROBE(confirm_return, int verdict)
{
	__u64 key = nw_kp_key(), skb = 0, ct = 0;
	struct nw_kp_frames *f = bpf_map_lookup_elem(&confirming, &key);
	__u32 d;

	if (!f || !f->depth)
		return 0;
	d = f->depth - 1;
	f->depth = d;
	if (d < NW_KP_DEPTH) {
		d &= NW_KP_DEPTH - 1;
		skb = f->skb[d];
		ct = f->ct[d];
	}
	if (!f->depth)
		bpf_map_delete_elem(&confirming, &key);
	if (ct)
		nw_confirm_done((const struct sk_buff *)skb, ct, verdict);
	return 0;
}
