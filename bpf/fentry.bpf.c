// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * fentry backend: fentry + fexit (BPF trampolines with BTF; Linux >= 5.13) on
 * __nf_conntrack_confirm() of the nf_conntrack module or kernel.  One probe
 * for every network namespace at once; the namespace comes from the entry
 * (ct->ct_net) and filter.netns applies in nw_emit().  See confirm.bpf.h for
 * which calls are reported.
 */
#define NW_BTF_SKB /* the traced function's argument */
#include "confirm.bpf.h"
#include <bpf/bpf_tracing.h>

/* The return program first: the skeleton attaches in this order, and an
 * entry attached before its return would push frames for calls whose
 * return nobody pops. */
SEC("fexit/__nf_conntrack_confirm")
int BPF_PROG(confirm_exit, struct sk_buff *skb, int verdict)
{
	nw_confirm_pop(skb, verdict);
	return 0;
}

SEC("fentry/__nf_conntrack_confirm")
int BPF_PROG(confirm_enter, struct sk_buff *skb)
{
	nw_confirm_push(skb);
	return 0;
}
