// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * kprobe backend, for kernels without BPF trampolines: a kprobe at the entry
 * of __nf_conntrack_confirm() stashes the skb and its conntrack, the
 * kretprobe reports them with the verdict.  See confirm.bpf.h for which calls
 * are reported.
 *
 * A kretprobe cannot see the arguments, so entry and return are paired per
 * thread (confirm.bpf.h, nw_confirm_push/pop).  (If the kernel skips one side
 * of a pair, e.g. a kretprobe miss, one event can be paired with a
 * neighbour's verdict; a verdict is NF_DROP only when inserting failed, which
 * is rare.  fexit sees the skb and checks the pairing.)
 */
#ifdef NW_BTF_CT /* bpf/kprobe_btf.bpf.c: the skb read with plain loads too */
#define NW_BTF_SKB
#define NW_SKB_AT(addr) \
	NW_BTF_AS(struct sk_buff, (addr), bpf_core_type_id_kernel(struct sk_buff))
#endif
#include "confirm.bpf.h"
#include <bpf/bpf_tracing.h>

/* The return probe first: the skeleton attaches in this order (see
 * fentry.bpf.c). */
SEC("kretprobe/__nf_conntrack_confirm")
int BPF_KRETPROBE(confirm_return, int verdict)
{
	nw_confirm_pop(NULL, verdict); /* a kretprobe sees no arguments */
	return 0;
}

SEC("kprobe/__nf_conntrack_confirm")
int BPF_KPROBE(confirm_enter, struct sk_buff *skb)
{
#ifdef NW_SKB_AT
	nw_confirm_push(NW_SKB_AT(skb));
#else
	nw_confirm_push(skb);
#endif
	return 0;
}
