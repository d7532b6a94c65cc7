// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The fentry and kprobe backends' program code, timed natively on a kernel
 * that cannot attach them (tests/bench/confirm-proxy.c, issue 7).
 *
 * Those backends run at __nf_conntrack_confirm()'s entry and return; this
 * host has no kprobes and refuses BPF trampolines.  What the 300 ns target
 * counts is the programs' own run time (bpf_stats measures the same: the
 * attach mechanism is not in it).  So the code those programs run per new
 * connection, nw_confirm_push() then nw_confirm_pop() from
 * bpf/confirm.bpf.h and the event in nw_emit(), runs here in a netfilter
 * program linked just before conntrack confirmation, once per new
 * connection (the packet whose conntrack entry is unconfirmed, as
 * __nf_conntrack_confirm() sees it), with bpf_ktime_get_ns() read around
 * it.  The same object times the netfilter backend's new-connection path
 * (nf_body), the ring buffer's reserve and submit alone (ring_only) and an
 * empty region (timer): the cost of the clock reads themselves, subtracted
 * by the loader.
 *
 * Built four ways, one per object natwho loads for these backends:
 *   PROXY_FENTRY      bpf/fentry.bpf.c: the skb a BTF argument, the
 *                     conntrack entry through probe reads
 *   PROXY_FENTRY_BTF  bpf/fentry_btf.bpf.c (Linux >= 6.2): plain loads
 *   PROXY_KPROBE      bpf/kprobe.bpf.c: skb and entry through probe reads
 *   PROXY_KPROBE_BTF  bpf/kprobe_btf.bpf.c: the skb's address cast
 * What differs from the real programs: the context the skb comes from (a
 * netfilter ctx instead of trampoline arguments or pt_regs, one load either
 * way), and push and pop run in one invocation instead of two.
 */
#if defined(PROXY_FENTRY)
#define NW_BTF_SKB
#elif defined(PROXY_FENTRY_BTF)
#define NW_BTF_CT
#define NW_BTF_SKB
#elif defined(PROXY_KPROBE)
#elif defined(PROXY_KPROBE_BTF)
#define NW_BTF_CT
#define NW_BTF_SKB
#define NW_SKB_AT(addr) \
	NW_BTF_AS(struct sk_buff, (addr), bpf_core_type_id_kernel(struct sk_buff))
#else
#error "build with one of -DPROXY_FENTRY, -DPROXY_FENTRY_BTF, -DPROXY_KPROBE, -DPROXY_KPROBE_BTF"
#endif
#include "confirm.bpf.h"

/* Per CPU: nanoseconds inside the timed region, and regions timed. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} proxy_ns SEC(".maps"), proxy_regions SEC(".maps");

static __always_inline void proxy_add(void *map, __u64 v)
{
	__u32 zero = 0;
	__u64 *p = bpf_map_lookup_elem(map, &zero);

	if (p)
		*p += v;
}

/*
 * The variants run side by side, each linked by its own loader: this one
 * times the new connections whose conntrack entry's address hashes to
 * proxy_slot of proxy_slots, so that every variant meets the machine in the
 * same state.  Set by the loader before load.
 */
const volatile __u32 proxy_slots = 1, proxy_slot = 0;

/*
 * The skb of a new connection's packet, as __nf_conntrack_confirm() would be
 * called with it (an ORIGINAL-direction, unconfirmed conntrack entry) and in
 * this variant's share, else NULL.  Same test as bpf/nf.bpf.c.
 */
static __always_inline struct sk_buff *proxy_new_conn(struct bpf_nf_ctx *ctx)
{
	struct sk_buff *skb = ctx->skb;
	unsigned long nfct = skb->_nfct, status = 0;
	const struct nf_conn *ct = (const void *)(nfct & NW_NFCT_PTRMASK);

	if (((nfct & 7) != IP_CT_NEW && (nfct & 7) != IP_CT_RELATED) || !ct)
		return NULL;
	/* Fibonacci hashing of the slab address, high bits: an even split */
	if (proxy_slots > 1 &&
	    (__u32)((((__u64)ct >> 6) * 0x9E3779B97F4A7C15ULL) >> 32) % proxy_slots != proxy_slot)
		return NULL;
	bpf_core_read(&status, sizeof(status), &ct->status);
	if (status & (1UL << IPS_CONFIRMED_BIT))
		return NULL;
	return skb;
}

/* The skb as the probe sees it: a BTF argument, or an address (kprobe). */
#if defined(PROXY_FENTRY) || defined(PROXY_FENTRY_BTF)
#define PROXY_ARG(skb) (skb)
#else
static __always_inline const struct sk_buff *proxy_addr(const struct sk_buff *skb)
{
	__u64 addr = 0;

	bpf_probe_read_kernel(&addr, sizeof(addr), &skb); /* a scalar, as in pt_regs */
	return (const struct sk_buff *)addr;
}
#define PROXY_ARG(skb) proxy_addr(skb)
#endif
#ifdef NW_SKB_AT
#define PROXY_KPROBE_SKB(addr) NW_SKB_AT(addr)
#else
#define PROXY_KPROBE_SKB(addr) (addr)
#endif

/* Run the statements given, timed; the loop guards nothing, it scopes. */
#define PROXY_TIMED(...)                                \
	do {                                            \
		__u64 t0 = bpf_ktime_get_ns(), t1;      \
		__VA_ARGS__                             \
		t1 = bpf_ktime_get_ns();                \
		proxy_add(&proxy_ns, t1 - t0);          \
		proxy_add(&proxy_regions, 1);           \
	} while (0)

SEC("netfilter/confirm")
int confirm_body(struct bpf_nf_ctx *ctx)
{
	struct sk_buff *skb = proxy_new_conn(ctx);
	const struct sk_buff *arg;

	if (!skb)
		return NW_NF_ACCEPT;
	arg = PROXY_ARG(skb);
#if defined(PROXY_KPROBE) || defined(PROXY_KPROBE_BTF)
	/* kprobe: the entry sees the address, the kretprobe no argument */
	PROXY_TIMED(nw_confirm_push(PROXY_KPROBE_SKB(arg)); nw_confirm_pop(NULL, NW_NF_ACCEPT););
#else
	PROXY_TIMED(nw_confirm_push(arg); nw_confirm_pop(arg, NW_NF_ACCEPT););
#endif
	return NW_NF_ACCEPT;
}

#ifdef NW_BTF_CT
/* bpf/nf.bpf.c's new-connection path, POST_ROUTING. */
SEC("netfilter/nf")
int nf_body(struct bpf_nf_ctx *ctx)
{
	struct sk_buff *skb = proxy_new_conn(ctx);

	if (!skb)
		return NW_NF_ACCEPT;
	const struct nf_conn *ct = NW_CT(skb->_nfct & NW_NFCT_PTRMASK);
	struct nw_lsk lsk;

	PROXY_TIMED(nw_skb_lsk(&lsk, skb);
		    nw_emit(ct, nw_nf_netns(ctx), NULL, NW_HOOK_POSTROUTING,
			    nw_sent_by_task(&lsk) ? nw_current() : NULL, &lsk, 0, 0););
	return NW_NF_ACCEPT;
}
#endif

/*
 * Of nw_emit()'s work, the ring buffer's part alone: reserve a record of the
 * size nw_emit() reserves for the storm's IPv4 connections and submit it
 * untouched, on the same connections as the others (the README compares it
 * with the same calls run hot).
 */
SEC("netfilter/ring")
int ring_only(struct bpf_nf_ctx *ctx)
{
	struct nw_event4 *e;

	if (!proxy_new_conn(ctx))
		return NW_NF_ACCEPT;
	PROXY_TIMED(e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
		    if (e)
			    bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
		    else
			    nw_count_lost(););
	return NW_NF_ACCEPT;
}

/* The clock reads and counters alone. */
SEC("netfilter/timer")
int timer(struct bpf_nf_ctx *ctx)
{
	if (!proxy_new_conn(ctx))
		return NW_NF_ACCEPT;
	PROXY_TIMED(asm volatile("" ::: "memory"););
	return NW_NF_ACCEPT;
}
