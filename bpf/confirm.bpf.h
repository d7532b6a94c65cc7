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
	nw_emit(NW_CT(ct_at_entry), 0, NW_HOOK_CONFIRM, task, &lsk, verdict, 1);
}

/*
 * Calls in flight, per thread: entry pushes the skb and its candidate
 * conntrack, return pops them.  Calls nest on one thread: local_bh_enable()
 * inside the function runs pending softirqs, which confirm other packets
 * before the outer call returns; hence a small stack.  A thread may be
 * preempted and moved to another CPU between entry and return, so the stack
 * belongs to the thread, not to the CPU.
 */
#define NW_CONFIRM_DEPTH 8 /* power of two */

struct nw_confirm_frame {
	__u64 skb;
	__u64 ct;
};

/* The depth and the two frames in use at most: one cache line. */
struct nw_confirm_frames {
	__u32 depth; /* calls entered and not returned; may exceed NW_CONFIRM_DEPTH */
	__u32 pad;
	struct nw_confirm_frame f[NW_CONFIRM_DEPTH];
};

#ifdef NW_BTF_CT
/*
 * Linux >= 6.2 (the objects that read the conntrack entry with plain loads):
 * the stack lives in the current task's local storage.  A lookup is a load
 * from the task's storage cache instead of hashing a key, the softirqs that
 * run on a CPU's idle task find that idle task's own stack, and the storage
 * goes when the thread exits.  Since 6.2 the lookup of an existing entry
 * cannot fail when the helper finds itself busy on this CPU (it only skips
 * the cache update), so a pop always finds what the push stored.
 */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct nw_confirm_frames);
} confirming SEC(".maps");

/* The stack's owner: the current task (handed on to nw_emit() by the pop). */
#define NW_CONFIRM_SELF() bpf_get_current_task_btf()

/* @self's stack, created at its first call when @create. */
static __always_inline struct nw_confirm_frames *nw_confirm_frames(struct task_struct *self,
								  int create)
{
	return bpf_task_storage_get(&confirming, self, NULL,
				    create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
}
#else
/*
 * Older kernels: an LRU map keyed by thread whose entries are never deleted:
 * after a thread's first call, entry and return are one lock-free lookup each,
 * no bucket lock.  Every CPU's idle task has pid 0, so softirqs that run on
 * it get one key per CPU instead.  Eviction takes the least recently used
 * threads, never one between its entry and return unless NW_CONFIRM_THREADS
 * threads confirm at once.
 */
#define NW_CONFIRM_THREADS 8192

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, NW_CONFIRM_THREADS);
	__type(key, __u64);
	__type(value, struct nw_confirm_frames);
} confirming SEC(".maps");

#define NW_CONFIRM_SELF() ((struct task_struct *)NULL) /* keyed by pid, not by task */

static __always_inline struct nw_confirm_frames *nw_confirm_frames(struct task_struct *self,
								  int create)
{
	static const struct nw_confirm_frames empty = {};
	__u64 id = bpf_get_current_pid_tgid();
	__u64 key = id ? id : (1ULL << 63) | bpf_get_smp_processor_id();
	struct nw_confirm_frames *f = bpf_map_lookup_elem(&confirming, &key);

	if (f || !create)
		return f;
	bpf_map_update_elem(&confirming, &key, &empty, BPF_NOEXIST);
	return bpf_map_lookup_elem(&confirming, &key);
}
#endif

/* At entry of __nf_conntrack_confirm(@skb). */
static __always_inline void nw_confirm_push(const struct sk_buff *skb)
{
	struct nw_confirm_frames *f = nw_confirm_frames(NW_CONFIRM_SELF(), 1);
	__u32 d;

	if (!f) { /* no memory for the thread's first call */
		if (nw_confirm_candidate(skb))
			nw_count_lost();
		return;
	}
	/*
	 * Confirm calls nest two deep at most (a softirq's on top of a process's).
	 * A full stack is frames whose return the kernel skipped (a recursing
	 * trampoline or kprobe program is not run): start over rather than stay
	 * blind on this thread for good.
	 */
	d = f->depth < NW_CONFIRM_DEPTH ? f->depth : 0;
	d &= NW_CONFIRM_DEPTH - 1;
	f->f[d].skb = (__u64)skb;
	f->f[d].ct = nw_confirm_candidate(skb);
	f->depth = d + 1;
}

/*
 * At return of the innermost call in flight on this thread, with @verdict.
 * @skb: the call's argument where the probe sees it (fexit), else 0.
 */
static __always_inline void nw_confirm_pop(const struct sk_buff *skb, int verdict)
{
	struct task_struct *self = NW_CONFIRM_SELF();
	struct nw_confirm_frames *f = nw_confirm_frames(self, 0);
	__u64 entered = 0, ct = 0;
	__u32 d;

	if (!f || !f->depth) /* attached while the call was in flight */
		return;
	d = f->depth - 1;
	/* fexit knows its call: frames above its own are calls whose return
	 * the kernel skipped; drop them.  No frame of its own: its entry was
	 * skipped, and the stack is left as it is. */
	for (int i = 0; skb && i < NW_CONFIRM_DEPTH; i++) {
		if (f->f[d & (NW_CONFIRM_DEPTH - 1)].skb == (__u64)skb)
			break;
		if (!d)
			return;
		d--;
	}
	f->depth = d;
	d &= NW_CONFIRM_DEPTH - 1;
	entered = f->f[d].skb;
	ct = f->f[d].ct;
	if (!ct || (skb && (__u64)skb != entered))
		return; /* nothing to confirm, or pushed and popped out of step */
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
