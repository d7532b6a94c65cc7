// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * netfilter backend: BPF_PROG_TYPE_NETFILTER programs linked (per network
 * namespace) at NF_INET_POST_ROUTING and NF_INET_LOCAL_IN with a priority
 * just before conntrack confirmation, so every NAT hook has run.  A packet
 * whose conntrack entry is not yet confirmed is the first of a new
 * connection: report it.  Established traffic costs two loads and two compares.
 *
 * libbpf 1.1 does not know SEC("netfilter"); the loader sets the program type
 * (src/nf_compat.c), which is why these sections carry no libbpf prefix.
 */
/* Linux >= 6.4: a BTF-typed ctx, and bpf_rdonly_cast() (6.2) for the rest */
#define NW_BTF_CT
#define NW_BTF_SKB
#include "common.bpf.h"

/*
 * TCP connections opened with no conntrack entry at all, per family (key 0
 * IPv4, 1 IPv6): conntrack does not run for that family in the namespace (it
 * starts there only once something needs it, a NAT or conntrack rule), so
 * none of its connections can be reported.  Counted by SYN (without ACK)
 * passing a hook, which conntrack tracks whenever it runs, unless it judges
 * the packet invalid; so userspace warns only for a family of which no new
 * entry came by (nf_tracked[], before any filter).  A packet a rule told
 * conntrack not to track carries the untracked mark, not nothing, and is not
 * counted.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} untracked SEC(".maps");

/* A new conntrack entry of the family came by: [0] IPv4, [1] IPv6.  Set once
 * (a test first: the line stays shared), read by userspace. */
__u8 nf_tracked[2] = {};

/* natwho leaves it on; the benchmark's test runs (tests/bench/nf-testrun.c),
 * whose packets have no entry, turn it off to time an established packet. */
const volatile __u32 nf_count_untracked = 1;

#define NW_IPPROTO_TCP 6
#define NW_TCP_SYN 0x02
#define NW_TCP_ACK 0x10
#define NW_UNTRACKED_READ 80 /* an IPv4 header with options and the TCP flags */

/* Off the established path (not inlined there): a packet without an entry. */
static __noinline void nw_untracked(const struct sk_buff *skb)
{
	__u32 nh = skb->network_header, l4, key;
	/* what the skb holds in its head from there: its linear data */
	__u32 linear = skb->tail - nh;
	__u8 h[NW_UNTRACKED_READ];
	__u64 *n;

	if (bpf_probe_read_kernel(h, sizeof(h), skb->head + nh))
		return;
	if (h[0] >> 4 == 4) {
		/* the first fragment or none, the transport header after the options */
		if (h[9] != NW_IPPROTO_TCP || ((h[6] & 0x1f) | h[7]))
			return;
		l4 = (h[0] & 0xf) * 4;
		if (l4 < 20)
			return;
		key = 0;
	} else if (h[0] >> 4 == 6) {
		if (h[6] != NW_IPPROTO_TCP) /* extension headers: not counted */
			return;
		l4 = 40;
		key = 1;
	} else {
		return;
	}
	if (l4 + 13 >= sizeof(h)) /* within the read: the verifier's bound */
		return;
	if (l4 + 14 > linear) /* the TCP flags not in the head: not known */
		return;
	if ((h[l4 + 13] & (NW_TCP_SYN | NW_TCP_ACK)) != NW_TCP_SYN)
		return;
	n = bpf_map_lookup_elem(&untracked, &key);
	if (n) /* atomic: a softirq's program can interrupt a task's here */
		__sync_fetch_and_add(n, 1);
}

/* A packet this namespace sent to itself, at LOCAL_IN: it passed
 * POST_ROUTING on its way out over loopback and was counted there. */
static __always_inline int nw_looped_back(const struct bpf_nf_ctx *ctx, __u8 hook)
{
	const struct net_device *in;

	if (hook != NW_HOOK_LOCAL_IN)
		return 0;
	in = ctx->state->in;
	return in && (in->flags & IFF_LOOPBACK);
}

static __always_inline int nw_nf_hook(struct bpf_nf_ctx *ctx, __u8 hook)
{
	struct sk_buff *skb = ctx->skb;
	unsigned long nfct = nw_skb_nfct(skb);
	unsigned long ctinfo = nfct & 7;
	struct task_struct *task = NULL;
	struct nw_lsk lsk = {};
	const struct nf_conn *ct;
	unsigned long status;
	__u32 v6;

	if (ctinfo != IP_CT_NEW && ctinfo != IP_CT_RELATED) {
		if (!nfct && nf_count_untracked && !nw_looped_back(ctx, hook))
			nw_untracked(skb); /* ctinfo 0 is IP_CT_ESTABLISHED's */
		return NW_NF_ACCEPT;
	}
	if (!(nfct & NW_NFCT_PTRMASK))
		return NW_NF_ACCEPT;
	ct = NW_CT(nfct & NW_NFCT_PTRMASK);
	status = ct->status;
	if (status & (1UL << IPS_CONFIRMED_BIT))
		return NW_NF_ACCEPT;
	v6 = ctx->state->pf == NFPROTO_IPV6;
	if (!nf_tracked[v6]) /* conntrack runs for the family here */
		nf_tracked[v6] = 1;
	if (filter.nports && !nw_ports_pass(ct->tuplehash[IP_CT_DIR_ORIGINAL].tuple.dst.protonum,
					    ct->tuplehash[IP_CT_DIR_ORIGINAL].tuple.dst.u.all,
					    ct->tuplehash[IP_CT_DIR_REPLY].tuple.src.u.all))
		return NW_NF_ACCEPT;

	/* LOCAL_IN runs in softirq: the current task is unrelated there, and a
	 * received packet's socket is the receiver's. */
	if (hook == NW_HOOK_POSTROUTING) {
		nw_skb_lsk(&lsk, skb);
		if (nw_sent_by_task(&lsk))
			task = nw_current();
	}
	nw_emit(ct, nw_nf_netns(ctx), NULL, hook, task, &lsk, 0, 0);
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
