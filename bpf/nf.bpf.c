// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * netfilter backend: BPF_PROG_TYPE_NETFILTER programs linked (per network
 * namespace) at NF_INET_POST_ROUTING and NF_INET_LOCAL_IN with a priority
 * just before conntrack confirmation, so every NAT hook has run.  A packet
 * whose conntrack entry is not yet confirmed is the first of a new
 * connection: report it.  Established traffic costs two loads and a compare.
 *
 * libbpf 1.1 does not know SEC("netfilter"); the loader sets the program type
 * (src/nf_compat.c), which is why these sections carry no libbpf prefix.
 */
/* Linux >= 6.4: a BTF-typed ctx, and bpf_rdonly_cast() (6.2) for the rest */
#define NW_BTF_CT
#define NW_BTF_SKB
#include "common.bpf.h"

static __always_inline int nw_nf_hook(struct bpf_nf_ctx *ctx, __u8 hook)
{
	struct sk_buff *skb = ctx->skb;
	unsigned long nfct = nw_skb_nfct(skb);
	unsigned long ctinfo = nfct & 7;
	struct task_struct *task = NULL;
	struct nw_lsk lsk = {};
	const struct nf_conn *ct;
	unsigned long status;

	if (ctinfo != IP_CT_NEW && ctinfo != IP_CT_RELATED)
		return NW_NF_ACCEPT;
	if (!(nfct & NW_NFCT_PTRMASK))
		return NW_NF_ACCEPT;
	ct = NW_CT(nfct & NW_NFCT_PTRMASK);
	status = ct->status;
	if (status & (1UL << IPS_CONFIRMED_BIT))
		return NW_NF_ACCEPT;

	/* LOCAL_IN runs in softirq: the current task is unrelated there, and a
	 * received packet's socket is the receiver's. */
	if (hook == NW_HOOK_POSTROUTING) {
		nw_skb_lsk(&lsk, skb);
		if (nw_sent_by_task(&lsk))
			task = nw_current();
	}
	nw_emit(ct, nw_nf_netns(ctx), hook, task, &lsk, 0, 0);
	return NW_NF_ACCEPT;
}

SEC("netfilter/post_routing")
int nf_postrouting(struct bpf_nf_ctx *ctx)
{
	return nw_nf_hook(ctx, NW_HOOK_POSTROUTING);
}

SEC("netfilter/local_in")
int nf_local_in(struct bpf_nf_ctx *ctx)
{
	return nw_nf_hook(ctx, NW_HOOK_LOCAL_IN);
}

NW_DEFINE_FLUSH();
