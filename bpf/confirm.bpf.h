/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Shared by the fentry and kprobe backends, which both watch
 * __nf_conntrack_confirm(skb): the function that inserts a new conntrack entry
 * into the table, once per connection, after every NAT hook has run.
 *
 * What the kernel guarantees (net/netfilter/nf_conntrack_core.c, 6.1 to
 * 6.18): its only caller, the inline nf_conntrack_confirm(), calls it only
 * for an skb whose conntrack is not confirmed yet.  It then
 *   - returns NF_ACCEPT at once, confirming nothing, when the skb is in the
 *     REPLY direction (a REJECT reply attached by nf_conntrack_attach());
 *   - inserts the entry and returns NF_ACCEPT: a new connection;
 *   - loses an insertion race (two CPUs, same new tuple, e.g. parallel DNS
 *     queries) and resolves the clash by pointing skb->_nfct at the entry
 *     already in the table and returning NF_ACCEPT: that entry was reported
 *     when it was confirmed, so this call is not;
 *   - or fails to insert and returns NF_DROP: reported as "dropped".
 * So each backend stashes the skb's conntrack at entry and, at return,
 * reports it unless the skb now points elsewhere.
 */
#ifndef NATWHO_CONFIRM_BPF_H
#define NATWHO_CONFIRM_BPF_H

#include "common.bpf.h"

/*
 * The conntrack @skb carries into __nf_conntrack_confirm(), or 0 when the
 * call cannot confirm anything (no entry, or the REPLY direction).
 */
static __always_inline unsigned long nw_skb_nfct(const struct sk_buff *skb)
{
#ifdef NW_BTF_SKB
	return skb->_nfct;
#else
	return BPF_CORE_READ(skb, _nfct);
#endif
}

static __always_inline __u64 nw_confirm_candidate(const struct sk_buff *skb)
{
	unsigned long nfct = nw_skb_nfct(skb);

	if ((nfct & 7) >= IP_CT_IS_REPLY)
		return 0;
	return nfct & NW_NFCT_PTRMASK;
}

/*
 * __nf_conntrack_confirm(@skb) returned @verdict for the conntrack @ct it was
 * called with.  pid/comm follow nw_skb_from_local_task(), as in the
 * netfilter backend: such a packet's conntrack is confirmed at POST_ROUTING.
 */
static __always_inline void nw_confirm_done(const struct sk_buff *skb, __u64 ct_at_entry,
					    int verdict)
{
	const struct nf_conn *ct = (const struct nf_conn *)ct_at_entry;
	unsigned long nfct = nw_skb_nfct(skb);
	__u32 netns;
	int task_ok;

	if (verdict != NW_NF_DROP && (nfct & NW_NFCT_PTRMASK) != ct_at_entry)
		return; /* clash resolved onto the entry already in the table */
	netns = BPF_CORE_READ(ct, ct_net.net, ns.inum);
	task_ok = nw_skb_from_local_task(skb);
	nw_emit(ct, netns, NW_HOOK_CONFIRM, task_ok, verdict, 1);
}

#endif /* NATWHO_CONFIRM_BPF_H */
