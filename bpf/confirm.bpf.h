/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Shared by the fentry and kprobe backends, which both watch
 * __nf_conntrack_confirm(skb): the function that inserts a new conntrack entry
 * into the table, once per connection, after every NAT hook has run.
 *
 * What the kernel guarantees (net/netfilter/nf_conntrack_core.c, as read
 * in 6.1 to 6.18): its only caller, the inline nf_conntrack_confirm(),
 * calls it only for an skb whose conntrack is not confirmed yet.  It then
 *   - returns NF_ACCEPT at once, confirming nothing, when the skb is in the
 *     REPLY direction (a REJECT reply attached by nf_conntrack_attach());
 *   - inserts the entry and returns NF_ACCEPT: a new connection;
 *   - loses an insertion race (two CPUs, same new tuple, e.g. parallel DNS
 *     queries) and resolves the clash by pointing skb->_nfct at the entry
 *     already in the table and returning NF_ACCEPT: that entry was reported
 *     when it was confirmed, so this call is not;
 *   - or fails to insert and returns NF_DROP: reported as "dropped".
 * So the skb's conntrack is stashed at entry (nw_confirm_push()) and, at
 * return, reported unless the skb now points elsewhere (nw_confirm_pop()).
 */
#ifndef NATWHO_CONFIRM_BPF_H
#define NATWHO_CONFIRM_BPF_H

#include "common.bpf.h"

/*
 * The conntrack @skb carries into __nf_conntrack_confirm(), or 0 when the
 * call cannot confirm anything (no entry, or the REPLY direction).
 */
static __always_inline __u64 nw_confirm_candidate(const struct sk_buff *skb)
{
	unsigned long nfct = nw_skb_nfct(skb);

	if ((nfct & 7) >= IP_CT_IS_REPLY)
		return 0;
	return nfct & NW_NFCT_PTRMASK;
}

/*
 * The network namespace of @skb's device where the object reads the skb
 * with plain loads and the entry with probe reads (fentry before Linux
 * 6.2), for nw_emit(); else NULL.
 */
static __always_inline const struct net *nw_confirm_skb_net(const struct sk_buff *skb)
{
#if defined(NW_BTF_SKB) && !defined(NW_BTF_CT)
	const struct net_device *dev = skb->dev;

	if (dev)
		return dev->nd_net.net;
#endif
	return NULL;
}

/*
 * __nf_conntrack_confirm(@skb) returned @verdict for the conntrack @ct it was
 * called with.  pid/comm follow nw_sent_by_task(), as in the
 * netfilter backend: such a packet's conntrack is confirmed at POST_ROUTING.
 * @self: the current task if the caller has it already, else NULL.
 */
static __always_inline void nw_confirm_done(const struct sk_buff *skb, __u64 ct_at_entry,
					    int verdict, struct task_struct *self)
{
	struct task_struct *task = NULL;
	struct nw_lsk lsk;
	int local;
	unsigned long nfct = nw_skb_fields(skb, &local, &lsk);

	if (verdict != NW_NF_DROP && (nfct & NW_NFCT_PTRMASK) != ct_at_entry)
		return; /* clash resolved onto the entry already in the table */
	if (local)
		task = self ? self : nw_current();
	nw_emit(NW_CT(ct_at_entry), 0, nw_confirm_skb_net(skb), NW_HOOK_CONFIRM, task, &lsk,
		verdict, 1);
}

/*
 * Calls in flight: entry pushes a frame (the skb and its candidate
 * conntrack), return takes it back.  Calls nest on one thread:
 * local_bh_enable() inside the function runs pending softirqs, which
 * confirm other packets before the outer call returns; hence a small stack,
 * whose newest frame is the innermost call's.  The kernel may skip one side
 * of a pair (a recursing trampoline or kprobe program is not run): a frame
 * whose return never comes stays until its slot is reused.
 *
 * They are kept per CPU (below): finding them is arithmetic.  Until
 * 2026-11-27 they were the thread's: in task storage for the 6.2+ objects
 * (two cache misses and the helper's lock on each side, 40-50 ns per new
 * connection), in an LRU hash keyed by thread for the older ones (a hash
 * lookup on each side, 45-65 ns; tests/bench/HISTORY.md).
 */
#define NW_CONFIRM_DEPTH 8 /* power of two */
#define NW_CONFIRM_MASK (NW_CONFIRM_DEPTH - 1)

/*
 * One ring of frames per CPU, in a plain array indexed by CPU id (the
 * loader sizes it to the possible CPUs).
 *
 * @top counts pushes (the newest frame is f[(top - 1) % NW_CONFIRM_DEPTH]),
 * @depth how many of the newest slots may be in use; a push takes the slot
 * after the newest, the oldest when all are in use.  A frame belongs to a
 * thread, so it carries the task, and what a per-thread stack did not have
 * to allow for is allowed for here:
 *   - several threads' frames on one ring: a thread preempted inside the
 *     call leaves its frame under the frames of the calls that run in the
 *     meantime.  A return finds its frame by task (and skb where it sees
 *     the skb), newest first, consumes it where it lies (task 0) and gives
 *     back the consumed slots at the top;
 *   - a thread moved to another CPU between entry and return (preempted
 *     before local_bh_disable() or after local_bh_enable()): its return
 *     finds no frame on this CPU's ring and walks the others'
 *     (nw_confirm_elsewhere()), and takes it there with a compare-and-swap
 *     on its task: that CPU may be reusing the slot at that instant;
 *   - an entry and a return of two threads interleaved on one CPU (fentry
 *     and fexit programs run with migration disabled, not preemption): the
 *     return's update of @top and @depth can undo the entry's, leaving its
 *     frame past @top.  A return looks at every slot, so the frame is
 *     still found, unless NW_CONFIRM_DEPTH pushes reuse its slot first.
 *     kprobe programs run with preemption disabled and never interleave.
 */
struct nw_confirm_frame {
	__u64 task; /* the caller's task_struct address; 0: free */
	__u64 skb;
	__u64 ct; /* nw_confirm_candidate() at entry */
};

/* @top, @depth and the first two slots (those of a call and the softirq's
 * inside it, while no frame is left behind) share a cache line.  Whole
 * lines: two CPUs' rings share at most one. */
struct nw_confirm_frames {
	__u32 top;
	__u32 depth;
	struct nw_confirm_frame f[NW_CONFIRM_DEPTH];
	__u8 pad[56];
};

_Static_assert(sizeof(struct nw_confirm_frames) % 64 == 0, "frames: whole cache lines");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1); /* the possible CPUs, set by the loader */
	__type(key, __u32);
	__type(value, struct nw_confirm_frames);
} confirming SEC(".maps");

/* The newest frame of @task in @fs, with @skb unless 0; NULL if none. */
static __always_inline struct nw_confirm_frame *
nw_confirm_find(struct nw_confirm_frames *fs, __u64 task, __u64 skb)
{
	__u32 top = fs->top;

#pragma unroll
	for (int n = 1; n <= NW_CONFIRM_DEPTH; n++) {
		struct nw_confirm_frame *fr = &fs->f[(top - n) & NW_CONFIRM_MASK];

		if (fr->task == task && (!skb || fr->skb == skb))
			return fr;
	}
	return NULL;
}

struct nw_confirm_search {
	__u64 task, skb; /* the frame looked for */
	__u64 entered, ct; /* out: its skb and candidate */
	__u32 self; /* this CPU, searched already */
	int found;
};

/* bpf_for_each_map_elem() callback: look for the frame on CPU *@cpu's ring. */
static long nw_confirm_search_cpu(struct bpf_map *map, __u32 *cpu, struct nw_confirm_frames *fs,
				  struct nw_confirm_search *s)
{
	struct nw_confirm_frame *fr;

	if (*cpu == s->self)
		return 0;
	fr = nw_confirm_find(fs, s->task, s->skb);
	if (!fr)
		return 0;
	s->entered = fr->skb;
	s->ct = fr->ct;
	/* consumed, unless that CPU reused the slot after the reads above (its
	 * push clears the task first); the ring's own CPU gives the slot back */
	if (__sync_val_compare_and_swap(&fr->task, s->task, 0) != s->task)
		return 0;
	s->found = 1;
	return 1;
}

/*
 * The frame of @task (with @skb unless 0) on another CPU's ring: the thread
 * moved between entry and return.  Rare, so a walk over every CPU's ring
 * (bpf_for_each_map_elem(), Linux >= 5.13: what sets the fentry and kprobe
 * backends' oldest kernel).
 */
static __always_inline int nw_confirm_elsewhere(__u64 task, __u64 skb, __u64 *entered, __u64 *ct)
{
	struct nw_confirm_search s = {
		.task = task, .skb = skb, .self = bpf_get_smp_processor_id(),
	};

	bpf_for_each_map_elem(&confirming, nw_confirm_search_cpu, &s, 0);
	*entered = s.entered;
	*ct = s.ct;
	return s.found;
}

static __always_inline struct nw_confirm_frames *nw_confirm_ring(void)
{
	__u32 cpu = bpf_get_smp_processor_id();

	return bpf_map_lookup_elem(&confirming, &cpu);
}

/*
 * Push the frame (@task, @skb, @ct) on this CPU's ring: 0, or -1 on a CPU
 * past the array.
 */
static __always_inline int nw_confirm_push_frame(__u64 task, __u64 skb, __u64 ct)
{
	struct nw_confirm_frames *fs = nw_confirm_ring();
	struct nw_confirm_frame *fr;
	__u32 top;

	if (!fs)
		return -1;
	top = fs->top;
	fr = &fs->f[top & NW_CONFIRM_MASK]; /* free, or the oldest frame */
	fr->task = 0; /* not found while half written */
	barrier();
	fr->skb = skb;
	fr->ct = ct;
	barrier();
	fr->task = task;
	fs->top = top + 1;
	if (fs->depth < NW_CONFIRM_DEPTH)
		fs->depth++;
	return 0;
}

/*
 * Take @task's frame with @skb (unless 0: then its newest), from this CPU's
 * ring or else another's: 1 and the frame's skb and candidate in *@entered
 * and *@ct, or 0 when there is none.
 */
static __always_inline int nw_confirm_take_frame(__u64 task, __u64 skb, __u64 *entered, __u64 *ct)
{
	struct nw_confirm_frames *fs = nw_confirm_ring();
	struct nw_confirm_frame *fr = fs ? nw_confirm_find(fs, task, skb) : NULL;

	if (!fr)
		return nw_confirm_elsewhere(task, skb, entered, ct);
	*entered = fr->skb;
	*ct = fr->ct;
	fr->task = 0;
	/* give back the consumed slots at the top */
#pragma unroll
	for (int n = 0; n < NW_CONFIRM_DEPTH; n++) {
		__u32 top = fs->top;

		if (!fs->depth || fs->f[(top - 1) & NW_CONFIRM_MASK].task)
			break;
		fs->top = top - 1;
		fs->depth--;
	}
	return 1;
}

/* At entry of __nf_conntrack_confirm(@skb). */
static __always_inline void nw_confirm_push(const struct sk_buff *skb)
{
	__u64 ct = nw_confirm_candidate(skb);

	if (nw_confirm_push_frame(bpf_get_current_task(), (__u64)skb, ct) && ct)
		nw_count_lost();
}

/*
 * Take the frame of the current thread's call that returns, the one with
 * @skb unless 0 (then its newest): 1 and the frame's skb and candidate in
 * *@entered and *@ct, or 0 when it has none.  *@self: the current task
 * where it comes for free (NW_BTF_CT), else NULL.
 */
static __always_inline int nw_confirm_take(const struct sk_buff *skb, __u64 *entered, __u64 *ct,
					   struct task_struct **self)
{
	__u64 task = bpf_get_current_task();

#ifdef NW_BTF_CT
	*self = NW_TASK_AT(task);
#else
	*self = NULL; /* nw_confirm_done() reads it if it needs it */
#endif
	return nw_confirm_take_frame(task, (__u64)skb, entered, ct);
}

/*
 * At return of a call in flight on this thread, with @verdict.
 * @skb: the call's argument where the probe sees it (fexit), else 0.
 */
static __always_inline void nw_confirm_pop(const struct sk_buff *skb, int verdict)
{
	struct task_struct *self;
	__u64 entered = 0, ct = 0;

	/* no frame: attached while the call was in flight, or the kernel
	 * skipped its entry (counted: a recursion miss) */
	if (!nw_confirm_take(skb, &entered, &ct, &self) || !ct)
		return; /* or nothing to confirm */
#if defined(NW_SKB_AT)
	nw_confirm_done(NW_SKB_AT(entered), ct, verdict, self); /* the stashed one, cast readable */
#elif defined(NW_BTF_SKB)
	nw_confirm_done(skb, ct, verdict, self); /* the argument, readable with plain loads */
#else
	nw_confirm_done((const struct sk_buff *)entered, ct, verdict, self);
#endif
}

NW_DEFINE_FLUSH();

#endif /* NATWHO_CONFIRM_BPF_H */
