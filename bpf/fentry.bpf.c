// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * fentry backend: fentry + fexit (BPF trampolines, Linux >= 5.5 with BTF) on
 * __nf_conntrack_confirm() of the nf_conntrack module or kernel.  One probe
 * for every network namespace at once; the namespace comes from the entry
 * (ct->ct_net) and filter.netns applies in nw_emit().  See confirm.bpf.h for
 * which calls are reported.
 */
#define NW_BTF_TASK /* bpf_get_current_task_btf() */
#define NW_BTF_SKB /* the traced function's argument */
#include "confirm.bpf.h"
#include <bpf/bpf_tracing.h>

/* Calls in flight: skb -> the conntrack it entered with.  Keyed by skb, not
 * by thread, so calls nested through softirqs on one CPU stay apart. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u64);
} confirming SEC(".maps");

SEC("fentry/__nf_conntrack_confirm")
int BPF_PROG(confirm_enter, struct sk_buff *skb)
{
	__u64 key = (__u64)skb;
	__u64 ct = nw_confirm_candidate(skb);

	if (ct && bpf_map_update_elem(&confirming, &key, &ct, BPF_ANY))
		nw_count_lost();
	return 0;
}

SEC("fexit/__nf_conntrack_confirm")
int BPF_PROG(confirm_exit, struct sk_buff *skb, int verdict)
{
	__u64 key = (__u64)skb;
	__u64 *entered = bpf_map_lookup_elem(&confirming, &key);
	__u64 ct;

	if (!entered)
		return 0;
	ct = *entered;
	bpf_map_delete_elem(&confirming, &key);
	nw_confirm_done(skb, ct, verdict);
	return 0;
}
