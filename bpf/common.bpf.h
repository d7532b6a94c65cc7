/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Shared by every natwho BPF object: the ring buffer, the per-CPU loss
 * counter, the kernel-side filter and the code that turns a struct nf_conn
 * into a struct nw_event (the capture backends), and the maps the cgroup and
 * proctree objects fill for them.
 */
#ifndef NATWHO_COMMON_BPF_H
#define NATWHO_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "natwho.h"

#define NW_AF_INET 2
#define NW_AF_INET6 10
#define NW_NFCT_PTRMASK (~7UL)

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/*
 * How kernel memory is read.  A plain dereference of a BTF-typed pointer is
 * one inline load that the verifier guards with an exception-table entry;
 * bpf_probe_read_kernel() is a helper call through copy_from_kernel_nofault()
 * (about 25 ns here): read field by field, the new-connection path would take
 * seven (fentry) to eleven (kprobe); reading spans instead (the entry's fields
 * in nw_emit(), the skb's in nw_skb_fields()) leaves two and four.  The
 * current task is always read with plain loads (nw_current()).  Each backend
 * says what else its programs may dereference before including this header:
 *   NW_BTF_CT    struct nf_conn, through bpf_rdonly_cast() (Linux >= 6.2:
 *                the netfilter backend, which also gets the task that way,
 *                and the fentry backend's second object, fentry_btf)
 *   NW_BTF_SKB   the sk_buff the program was handed (netfilter ctx, fentry;
 *                kprobe_btf casts it with NW_SKB_AT(addr))
 * Everything else goes through bpf_probe_read_kernel().
 *   NW_BTF_AS(type, p, id)  @p (an address) as a readable struct type
 *                pointer, @id its vmlinux BTF id (NW_BTF_CT only)
 *   NW_CT(addr)  the conntrack entry at @addr, readable the backend's way
 *   NW_CT_READ(dst, x)  dst = x, x an lvalue in a conntrack entry of dst's size
 */
#define NW_READ_DIRECT(dst, x) __builtin_memcpy(&(dst), &(x), sizeof(dst))
#ifdef NW_BTF_CT
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;
/*
 * The vmlinux BTF id of struct nf_conn, set by userspace before load
 * (nf_compat__conn_btf_id()): a CO-RE type-id relocation cannot tell it from
 * struct nf_conn___init (the conntrack kfuncs' wrapper), whose name counts as
 * the same.  A frozen .rodata value is a constant to the verifier, as
 * bpf_rdonly_cast() needs.
 */
const volatile __u32 nf_conn_btf_id = 0;
#define NW_BTF_AS(type, p, id) ((type *)bpf_rdonly_cast((const void *)(p), (id)))
#define NW_CT(addr) NW_BTF_AS(struct nf_conn, (addr), nf_conn_btf_id)
#define NW_CT_READ NW_READ_DIRECT

/*
 * The netfilter objects' network namespace inode, set by userspace before
 * load: their links live in one namespace, known then.  A constant instead
 * of state->net->ns.inum, a line of struct net that nothing else on the
 * path reads (in a storm's perf profile, the program's most sampled load;
 * tests/bench/HISTORY.md).  0: read it.
 */
const volatile __u32 nf_netns = 0;

static __always_inline __u32 nw_nf_netns(const struct bpf_nf_ctx *ctx)
{
	return nf_netns ? nf_netns : ctx->state->net->ns.inum;
}
#else
#define NW_CT(addr) ((const struct nf_conn *)(addr))
#define NW_CT_READ(dst, x) bpf_core_read(&(dst), sizeof(dst), &(x))
#endif

/* Set by userspace before load. */
const volatile struct nw_filter filter = {};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20); /* resized by userspace before load */
} events SEC(".maps");

/* Ring buffer reservations that failed: events lost, counted per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

/*
 * Wake the reader only when the ring is filling up: a wakeup per event costs
 * an irq_work (a self-IPI, an expensive VM exit) on the packet path.
 * Userspace drains the ring on its own every tick (capture__poll()).
 */
static __always_inline __u64 nw_wakeup_flags(__u64 more)
{
	/* @more: bytes about to be committed that the query does not count yet */
	return bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) + more >= filter.wake_bytes ?
		       BPF_RB_FORCE_WAKEUP :
		       BPF_RB_NO_WAKEUP;
}

#define NW_NF_DROP 0
#define NW_NF_ACCEPT 1

/* Fields of a socket and of what hangs off it (cgroups), read the object's way. */
#ifdef NW_BTF_SKB
#define NW_SK_READ NW_READ_DIRECT
#else
#define NW_SK_READ(dst, x) bpf_core_read(&(dst), sizeof(dst), &(x))
#endif

/* The skb's conntrack pointer and ctinfo bits. */
static __always_inline unsigned long nw_skb_nfct(const struct sk_buff *skb)
{
#ifdef NW_BTF_SKB
	return skb->_nfct;
#else
	return BPF_CORE_READ(skb, _nfct);
#endif
}

#ifndef NW_BTF_SKB
/*
 * The kprobe object reads skb->sk, ->_nfct and ->skb_iif (124 bytes apart
 * on x86-64) with one bpf_probe_read_kernel() of their span; field by field
 * when a kernel's span is longer than NW_SKB_SPAN or the read fails.
 */
#define NW_SKB_SPAN 192
#define NW_MIN(a, b) ((a) < (b) ? (a) : (b))
#define NW_MAX(a, b) ((a) > (b) ? (a) : (b))
/* Where field @f of kernel struct @type starts and ends, by CO-RE. */
#define NW_FOFF(type, f) bpf_core_field_offset(type, f)
#define NW_FEND(type, f) (NW_FOFF(type, f) + bpf_core_field_size(type, f))
/* dst = field @f of a @type from @span, a copy of the struct from byte @lo
 * on; the offset kept a scalar (the verifier refuses subtracting a register
 * from a stack pointer). */
#define NW_SPAN_GET(dst, span, lo, type, f)                             \
	do {                                                            \
		__u32 at_ = NW_FOFF(type, f) - (lo);                    \
		barrier_var(at_);                                       \
		__builtin_memcpy(&(dst), (span) + at_, sizeof(dst));    \
	} while (0)
#endif

/*
 * @sk if it is the socket of a packet this host generated (@skb_iif 0: no
 * device received it), else NULL: forwarded packets have no socket, received
 * ones the receiver's.
 */
static __always_inline const struct sock *nw_local_sk(const struct sock *sk, int skb_iif)
{
	return !skb_iif ? sk : NULL;
}

/*
 * What natwho asks of the local socket (nw_local_sk()) of a new connection's
 * packet, read once: whether its owner sent it (by_owner),
 * whether it is the flow's socket (nw_lsk_owns_flow()) and, with --cgroup,
 * its cgroup (nw_sk_cgroup_watched(), from @sk).
 */
struct nw_lsk {
	const struct sock *sk; /* NULL: no local socket */
	__u16 num; /* local port, host order */
	__u16 proto; /* these three 0 unless @full */
	__u16 type;
	__u8 full; /* not a time-wait or request socket */
	__u8 by_owner; /* its owner sent the packet (nw_lsk_read()) */
};

#ifndef NW_BTF_SKB
/*
 * Two fields of struct sock a few bytes apart (the local port and the state;
 * the protocol and the type) with one probe read instead of two; one by one
 * where a kernel lays them out further apart or the read fails.
 */
#define NW_SK_PAIR 8
#define NW_SK_PAIR_READ(sk, d1, f1, d2, f2)                                                \
	do {                                                                               \
		__u32 lo_ = NW_MIN(NW_FOFF(struct sock, f1), NW_FOFF(struct sock, f2));    \
		__u32 hi_ = NW_MAX(NW_FEND(struct sock, f1), NW_FEND(struct sock, f2));    \
		__u8 pair_[NW_SK_PAIR];                                                    \
                                                                                           \
		if (hi_ - lo_ > NW_SK_PAIR ||                                              \
		    bpf_probe_read_kernel(pair_, hi_ - lo_, (const __u8 *)(sk) + lo_)) {   \
			d1 = BPF_CORE_READ(sk, f1);                                        \
			d2 = BPF_CORE_READ(sk, f2);                                        \
		} else {                                                                   \
			NW_SPAN_GET(d1, pair_, lo_, struct sock, f1);                      \
			NW_SPAN_GET(d2, pair_, lo_, struct sock, f2);                      \
		}                                                                          \
	} while (0)
#endif

/*
 * *@l from @sk (may be NULL).  Time-wait and request sockets are not full
 * sockets: every field of struct sock past struct sock_common, which they
 * share, lies beyond their end, and they are never a process's.
 *
 * by_owner: was the packet sent by the process that owns the socket?  A
 * TCP (or SCTP) process sends under the socket's lock (lock_sock():
 * connect, sendmsg, close), so the lock is owned; timers (SYN and data
 * retransmits, keepalives, delayed ACKs) and the receive path (an ACK) send
 * with it not owned, in softirq, where the current task is whoever was
 * interrupted.  Such a packet opens a conntrack entry after the first SYN
 * was dropped before confirmation, or mid-stream (nf_conntrack_tcp_loose)
 * after the table was flushed or the entry expired.  SCTP resends its INIT
 * from a timer too, with the same lock test.  Other protocols (UDP): yes
 * (their first packet leaves from the syscall).
 */
static __always_inline void nw_lsk_read(struct nw_lsk *l, const struct sock *sk)
{
	__u8 state;

	__builtin_memset(l, 0, sizeof(*l));
	l->sk = sk;
	if (!sk)
		return;
#ifdef NW_BTF_SKB
	l->num = sk->__sk_common.skc_num;
	state = sk->__sk_common.skc_state;
#else
	NW_SK_PAIR_READ(sk, l->num, __sk_common.skc_num, state, __sk_common.skc_state);
#endif
	l->full = state != TCP_TIME_WAIT && state != TCP_NEW_SYN_RECV;
	if (!l->full)
		return;
#ifdef NW_BTF_SKB
	l->proto = sk->sk_protocol;
	l->type = sk->sk_type;
#else
	NW_SK_PAIR_READ(sk, l->proto, sk_protocol, l->type, sk_type);
#endif
	if (l->proto != IPPROTO_TCP && l->proto != IPPROTO_SCTP) {
		l->by_owner = 1;
		return;
	}
#ifdef NW_BTF_SKB
	l->by_owner = sk->sk_lock.owned != 0;
#else
	l->by_owner = BPF_CORE_READ(sk, sk_lock.owned) != 0;
#endif
}

/* nw_lsk_read() of @skb's local socket. */
static __always_inline void nw_skb_lsk(struct nw_lsk *l, const struct sk_buff *skb)
{
#ifdef NW_BTF_SKB
	nw_lsk_read(l, nw_local_sk(skb->sk, skb->skb_iif));
#else
	nw_lsk_read(l, nw_local_sk(BPF_CORE_READ(skb, sk), BPF_CORE_READ(skb, skb_iif)));
#endif
}

/*
 * May the current task be named as the one that opened the connection of a
 * packet whose local socket is @l?  Only when it sent from its owner's
 * syscall (@l->by_owner, 0 without a socket): a connection's first packet
 * leaves from the connect()/sendmsg() of the process that opened it.  With
 * --cgroup the socket's owner comes from its record instead.
 */
static __always_inline int nw_sent_by_task(const struct nw_lsk *l)
{
	return !filter.cgroup && l->by_owner;
}

/*
 * nw_skb_nfct(@skb), nw_skb_lsk() of it in *@l and nw_sent_by_task() of that
 * in *@local.
 */
static __always_inline unsigned long nw_skb_fields(const struct sk_buff *skb, int *local,
						   struct nw_lsk *l)
{
#ifdef NW_BTF_SKB
	nw_skb_lsk(l, skb);
	*local = nw_sent_by_task(l);
	return skb->_nfct;
#else
	__u32 lo = NW_MIN(NW_MIN(NW_FOFF(struct sk_buff, sk), NW_FOFF(struct sk_buff, _nfct)),
			  NW_FOFF(struct sk_buff, skb_iif));
	__u32 hi = NW_MAX(NW_MAX(NW_FEND(struct sk_buff, sk), NW_FEND(struct sk_buff, _nfct)),
			  NW_FEND(struct sk_buff, skb_iif));
	unsigned long nfct, sk;
	__u8 span[NW_SKB_SPAN];
	int iif;

	if (hi - lo > NW_SKB_SPAN || bpf_probe_read_kernel(span, hi - lo, (const __u8 *)skb + lo)) {
		nw_skb_lsk(l, skb);
		*local = nw_sent_by_task(l);
		return nw_skb_nfct(skb);
	}
	NW_SPAN_GET(nfct, span, lo, struct sk_buff, _nfct);
	NW_SPAN_GET(sk, span, lo, struct sk_buff, sk);
	NW_SPAN_GET(iif, span, lo, struct sk_buff, skb_iif);
	nw_lsk_read(l, nw_local_sk((const struct sock *)sk, iif));
	*local = nw_sent_by_task(l);
	return nfct;
#endif
}

/* +1 in slot 0 of a one-entry per-CPU array.  Atomic all the same: the
 * programs run with only migration disabled, and a softirq's program on
 * this CPU can interrupt a process-context one between load and store. */
static __always_inline void nw_percpu_add(void *map, __u64 v)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(map, &zero);

	if (n)
		__sync_fetch_and_add(n, v);
}

static __always_inline void nw_percpu_inc(void *map)
{
	nw_percpu_add(map, 1);
}

static __always_inline void nw_count_lost(void)
{
	nw_percpu_inc(&lost);
}

/*
 * The events staged for the next batch record, one struct nw_stage per CPU
 * (include/natwho.h), indexed by CPU id.  A plain array, not a per-CPU one:
 * finding a CPU's element is arithmetic on constants, where a per-CPU
 * array's lookup first loads the element's per-CPU pointer, a cache miss
 * per new connection in a storm.  Userspace sizes it to the possible CPUs
 * before load (percpu_size_by_cpu()); a CPU past its end stages nothing.
 * A stage is handed over once it has less than NW_STAGE_REC left.
 */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nw_stage);
} stage SEC(".maps");


/* This CPU's stage, or NULL when it has none. */
static __always_inline struct nw_stage *nw_stage_this_cpu(void)
{
	__u32 cpu = bpf_get_smp_processor_id();

	return bpf_map_lookup_elem(&stage, &cpu);
}

/*
 * Mark this CPU's stage @st busy: 1, or 0 when another program has it.  A
 * compare-and-swap (BPF atomics, Linux 5.12): the programs run with only
 * migration disabled, so on a preemptible kernel (preempt=full, RT) a thread
 * can be preempted between a test and a set, and two threads would then
 * write one stage at once, one event over another.  An interrupting
 * program (a softirq, the flush) ends before the interrupted one resumes
 * and needs no more than the test.
 */
static __always_inline int nw_stage_take(struct nw_stage *st)
{
	if (st->busy) /* the usual answer when busy, without the locked op */
		return 0;
	return __sync_val_compare_and_swap(&st->busy, 0, 1) == 0;
}

static __always_inline void nw_stage_give(struct nw_stage *st)
{
	barrier();
	st->busy = 0;
}

/* Hand what @st holds to the ring as one record; counted lost if it does
 * not fit. */
static __always_inline void nw_stage_flush(struct nw_stage *st)
{
	__u32 bytes = st->hdr.bytes, n = st->hdr.count;

	if (!n)
		return;
	if (bytes > NW_STAGE_BYTES) /* never (nw_emit() keeps it within): the verifier's bound */
		bytes = NW_STAGE_BYTES;
	st->hdr.mark = NW_BATCH_MARK;
	st->hdr.bytes = bytes;
	if (bpf_ringbuf_output(&events, &st->hdr, sizeof(st->hdr) + bytes,
			       nw_wakeup_flags(sizeof(st->hdr) + bytes)))
		nw_percpu_add(&lost, n);
	st->hdr.count = 0;
	st->hdr.bytes = 0;
}

/*
 * --cgroup: socket records written by bpf/cgroup.bpf.c.  Every object that
 * includes this header declares the maps; userspace loads the cgroup object
 * first and hands its maps to the backend's object (bpf_map__reuse_fd), so
 * there is one instance of each.  Without --cgroup they shrink to one entry.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, NW_JOIN_MAX_ENTRIES);
	__type(key, struct nw_join_key);
	__type(value, struct nw_join_val);
} nw_join SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, NW_JOIN_SRC_MAX_ENTRIES);
	__type(key, struct nw_join_src);
	__type(value, __u64); /* bpf_ktime_get_boot_ns() of the first record */
} nw_join_src SEC(".maps");

/* Connections from a recorded source address that had no record. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} nw_join_missed SEC(".maps");

/*
 * `-- CMD --children`: the tgids of CMD and its descendants, filled by
 * bpf/proctree.bpf.c; userspace hands its map to the backend's object
 * (bpf_map__reuse_fd, src/proctree.c); the unused copies in objects
 * without filter.tree are cut to one entry (proctree__prepare()), the
 * cgroup object's not created.
 * Preallocated: Linux 5.7-6.0 refuse a kprobe program a map allocated at
 * run time on PREEMPT_RT, and warn with a stack trace elsewhere.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, NW_TREE_MAX_ENTRIES);
	__type(key, __u32); /* tgid */
	__type(value, __u8); /* 1 */
} nw_tree SEC(".maps");

/*
 * filter.tree: a connection whose local process is known (@tgid != 0) passes
 * if that process is in the tree; one without a local process (forwarded,
 * or seen in softirq) passes, so what CMD caused elsewhere is still shown.
 */
static __always_inline int nw_tree_match(__u32 tgid)
{
	return !filter.tree || !tgid || bpf_map_lookup_elem(&nw_tree, &tgid);
}

static __always_inline int nw_port_match(__u16 a, __u16 b)
{
	if (!filter.nports)
		return 1;
#pragma unroll
	for (int i = 0; i < NW_MAX_PORTS; i++) {
		if (i >= filter.nports)
			break;
		if (filter.ports[i] == a || filter.ports[i] == b)
			return 1;
	}
	return 0;
}

/* Is the address @a (u3.all) in --addr's prefix @i? */
static __always_inline int nw_in_prefix(const __be32 *a, __u32 i)
{
	const volatile struct nw_prefix *p = &filter.addrs[i];

	return (a[0] & p->mask[0]) == p->addr[0] && (a[1] & p->mask[1]) == p->addr[1] &&
	       (a[2] & p->mask[2]) == p->addr[2] && (a[3] & p->mask[3]) == p->addr[3];
}

/* --addr: one of the connection's addresses, either end before or after
 * NAT, in one of the prefixes of its family.  A loop, not unrolled: 16
 * prefixes by 4 addresses unrolled more than doubled each object, for
 * every load to verify.  The verifier walks it for the prefixes given
 * (.rodata: it knows how many), none without --addr. */
static __always_inline int nw_addr_match(const struct nf_conntrack_tuple *o,
					 const struct nf_conntrack_tuple *r, __u8 family)
{
#pragma clang loop unroll(disable)
	for (__u32 i = 0; i < NW_MAX_ADDRS; i++) {
		if (i >= filter.naddrs)
			break;
		if (filter.addrs[i].family != family)
			continue;
		if (nw_in_prefix(o->src.u3.all, i) || nw_in_prefix(o->dst.u3.all, i) ||
		    nw_in_prefix(r->src.u3.all, i) || nw_in_prefix(r->dst.u3.all, i))
			return 1;
	}
	return 0;
}

static __always_inline int nw_proto_has_ports(__u8 proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP ||
	       proto == IPPROTO_UDPLITE || proto == IPPROTO_DCCP;
}

/*
 * --port, where one is set (filter.nports): does a connection of @proto
 * with the original direction's destination port @odport and the reply's
 * source port @rsport (network order, as the entry holds them) pass?
 * nw_emit() asks it; the netfilter hook first, of the entry itself, so that
 * a connection it leaves out (most of them, with `--port 3306` on a busy
 * node) costs no socket, task or tuple read.
 */
static __always_inline int nw_ports_pass(__u8 proto, __u16 odport, __u16 rsport)
{
	return nw_proto_has_ports(proto) && nw_port_match(bpf_ntohs(odport), bpf_ntohs(rsport));
}

/*
 * From a stack copy of a conntrack tuple (nw_tuple_read()): its addresses
 * (@alen bytes each) and, if @ports (nw_proto_has_ports()), ports into an
 * event's or a join key's tuple.  The layout of struct nf_conntrack_tuple
 * has not changed since it was introduced.
 */
static __always_inline void nw_tuple_out(__u8 *src, __u8 *dst, __u16 *sport, __u16 *dport,
					 const struct nf_conntrack_tuple *t, __u32 alen, int ports)
{
	__builtin_memcpy(src, &t->src.u3, alen); /* alen a constant: inlined copies */
	__builtin_memcpy(dst, &t->dst.u3, alen);
	if (ports) {
		*sport = bpf_ntohs(t->src.u.all);
		*dport = bpf_ntohs(t->dst.u.all);
	}
}

static __always_inline void nw_tuple_from(struct nw_tuple *dst, const struct nf_conntrack_tuple *t,
					  __u8 family, int ports)
{
	if (family == NW_AF_INET)
		nw_tuple_out(dst->src, dst->dst, &dst->sport, &dst->dport, t, 4, ports);
	else
		nw_tuple_out(dst->src, dst->dst, &dst->sport, &dst->dport, t, 16, ports);
}

/*
 * An event's addresses start on 4-byte boundaries (the event is 8-aligned
 * in the ring and in a stage, the offsets below): copied a word at a time
 * instead of byte by byte, as the u8 arrays would have it.
 */
#define NW_WORDS(p) ((__u8 *)__builtin_assume_aligned((p), 4))
_Static_assert(__builtin_offsetof(struct nw_event4, orig.src) % 4 == 0 &&
		       __builtin_offsetof(struct nw_event4, reply.src) % 4 == 0 &&
		       __builtin_offsetof(struct nw_event, orig.src) % 4 == 0 &&
		       __builtin_offsetof(struct nw_event, reply.src) % 4 == 0 &&
		       sizeof(struct nw_batch_rec) % 8 == 0,
	       "event addresses on word boundaries");

/* The same into an event's tuple. */
static __always_inline void nw_tuple_event(struct nw_tuple *dst, const struct nf_conntrack_tuple *t,
					   int ports)
{
	nw_tuple_out(NW_WORDS(dst->src), NW_WORDS(dst->dst), &dst->sport, &dst->dport, t, 16, ports);
}

static __always_inline void nw_tuple4_event(struct nw_tuple4 *dst,
					    const struct nf_conntrack_tuple *t, int ports)
{
	nw_tuple_out(NW_WORDS(dst->src), NW_WORDS(dst->dst), &dst->sport, &dst->dport, t, 4, ports);
}

/*
 * A conntrack tuple of @family in kernel memory to the stack: what
 * nw_tuple_out() takes, the addresses and the ports.  Direct loads go field
 * by field (the verifier refuses a load that spans two members; each is a
 * guarded load), so an IPv4 tuple reads one word of each address, not four
 * (the rest is zero in the kernel's tuple too: nf_ct_get_tuple() clears it),
 * and not the family and protocol, which the caller has.  The probe-read
 * objects copy the whole tuple.
 */
static __always_inline void nw_tuple_read(struct nf_conntrack_tuple *dst,
					  const struct nf_conntrack_tuple *src, __u8 family)
{
#ifdef NW_BTF_CT
	dst->src.u3.all[0] = src->src.u3.all[0];
	dst->dst.u3.all[0] = src->dst.u3.all[0];
#pragma unroll
	for (int i = 1; i < 4; i++) {
		dst->src.u3.all[i] = family == NW_AF_INET6 ? src->src.u3.all[i] : 0;
		dst->dst.u3.all[i] = family == NW_AF_INET6 ? src->dst.u3.all[i] : 0;
	}
	dst->src.u.all = src->src.u.all;
	dst->dst.u.all = src->dst.u.all;
#else
	bpf_core_read(dst, sizeof(*dst), src);
#endif
}

#ifndef NW_BTF_CT
/*
 * The probe-read objects read the conntrack entry's fields nw_emit() needs
 * (the zone, both tuples, the status, the namespace pointer and the mark:
 * 160 contiguous bytes on x86-64 and arm64) with one bpf_probe_read_kernel()
 * of the span that holds them, instead of six (about 25 ns each).  NW_CT_SPAN
 * bounds the copy on the stack; a kernel whose span is longer, or a failed
 * read, goes field by field.
 */
#define NW_CT_SPAN 192
/* The fallback keeps the two tuples in the same buffer. */
_Static_assert(NW_CT_SPAN >= 2 * sizeof(struct nf_conntrack_tuple), "NW_CT_SPAN too small");

/* The lowest and highest+1 byte offsets of those fields in struct nf_conn. */
static __always_inline void nw_ct_span(__u32 *lo, __u32 *hi)
{
	__u32 a = bpf_core_field_offset(struct nf_conn, tuplehash);
	__u32 b = bpf_core_field_offset(struct nf_conn, status) +
		  bpf_core_field_size(struct nf_conn, status);

	if (bpf_core_field_offset(struct nf_conn, ct_net) < a)
		a = bpf_core_field_offset(struct nf_conn, ct_net);
	if (bpf_core_field_offset(struct nf_conn, ct_net) + sizeof(void *) > b)
		b = bpf_core_field_offset(struct nf_conn, ct_net) + sizeof(void *);
	if (bpf_core_field_exists(struct nf_conn, zone) &&
	    bpf_core_field_offset(struct nf_conn, zone) < a)
		a = bpf_core_field_offset(struct nf_conn, zone);
	if (bpf_core_field_exists(struct nf_conn, mark) &&
	    bpf_core_field_offset(struct nf_conn, mark) + bpf_core_field_size(struct nf_conn, mark) > b)
		b = bpf_core_field_offset(struct nf_conn, mark) + bpf_core_field_size(struct nf_conn, mark);
	*lo = a;
	*hi = b;
}

/* Where the entry's @field sits in the span copy. */
#define NW_CT_OFF(field) (bpf_core_field_offset(struct nf_conn, field) - lo)

/* dst = the entry's @field, from the span copy if there is one. */
#define NW_CV_READ(dst, field)                                                   \
	do {                                                                     \
		if (spanned)                                                     \
			__builtin_memcpy(&(dst), span + NW_CT_OFF(field), sizeof(dst)); \
		else                                                             \
			NW_CT_READ(dst, ct->field);                              \
	} while (0)
#else
#define NW_CV_READ(dst, field) NW_READ_DIRECT(dst, ct->field)
#endif

/*
 * The current task, readable with plain loads.  Its ids come from
 * task_struct: BPF_PROG_TYPE_NETFILTER programs may call
 * bpf_get_current_pid_tgid() and bpf_get_current_cgroup_id() only from Linux
 * 6.10 (helpers opened to all program types), and bpf_get_current_comm() not
 * at all on 6.12; bpf_get_current_task() is in their base set for
 * CAP_PERFMON.  fentry and kprobe programs have bpf_get_current_task_btf()
 * (Linux >= 5.11).
 */
#ifdef NW_BTF_CT
/* The task_struct at @addr (bpf_get_current_task()'s), readable with plain loads. */
#define NW_TASK_AT(addr) \
	NW_BTF_AS(struct task_struct, (addr), bpf_core_type_id_kernel(struct task_struct))
#endif

static __always_inline struct task_struct *nw_current(void)
{
#ifdef NW_BTF_CT
	return NW_TASK_AT(bpf_get_current_task());
#else
	return bpf_get_current_task_btf();
#endif
}

#define NW_SOCK_RAW 3

/*
 * Is full socket @l, which sent this host's packet, the socket of the flow
 * (@proto, local port @sport; @ports: nw_proto_has_ports(@proto))?  An
 * encapsulation (vxlan, geneve, ipip, GRE, ESP) sends its outer packet with
 * the inner flow's socket: not the outer flow's, nor its process's.  A raw socket has no port (its inet_num is its
 * protocol) and builds its own headers: its protocol's flows, any flow for
 * IPPROTO_RAW (IP_HDRINCL: hping3, scapy).
 */
static __always_inline int nw_lsk_owns_flow(const struct nw_lsk *l, __u8 proto, int ports,
					    __u16 sport)
{
	if (l->proto == proto && (!ports || l->num == sport))
		return 1;
	return l->type == NW_SOCK_RAW && (l->proto == proto || l->proto == IPPROTO_RAW);
}

/* How far up from a socket's cgroup nw_sk_cgroup_watched() looks. */
#define NW_CG_DEPTH 16

static __always_inline int nw_cgroup_id_watched(__u64 id)
{
#pragma unroll
	for (int i = 0; i < NW_MAX_CGROUPS; i++) {
		if (i >= filter.ncgroups)
			break;
		if (filter.cgroup_ids[i] == id)
			return 1;
	}
	return 0;
}

/*
 * --cgroup: is @l, the socket of a packet this host sends, the socket of the
 * flow (@proto, local port @sport) and its cgroup (cgroup v2, set when the
 * socket was created) a watched one or below one?  1: yes, its id in *@id;
 * 0: no; -1: not known (not a full socket, not the flow's: an encapsulation
 * (vxlan, ipip, ESP) sends its outer packet with the inner one's socket; a
 * kernel before 5.15 without the socket's cgroup pointer; deeper than
 * NW_CG_DEPTH levels below a watched one).
 */
static __always_inline int nw_sk_cgroup_watched(const struct nw_lsk *l, __u8 proto, __u16 sport,
						__u64 *id)
{
	const struct sock *sk = l->sk;
	struct cgroup_subsys_state *parent;
	struct kernfs_node *kn;
	struct cgroup *cg;
	__u64 cid;

	if (!bpf_core_field_exists(struct sock_cgroup_data, cgroup) || !l->full ||
	    !nw_lsk_owns_flow(l, proto, nw_proto_has_ports(proto), sport))
		return -1;
	NW_SK_READ(cg, sk->sk_cgrp_data.cgroup);
	for (int i = 0; i < NW_CG_DEPTH; i++) {
		if (!cg)
			return -1;
		NW_SK_READ(kn, cg->kn);
		if (!kn)
			return -1;
		NW_SK_READ(cid, kn->id);
		if (!i)
			*id = cid;
		if (nw_cgroup_id_watched(cid))
			return 1;
		NW_SK_READ(parent, cg->self.parent);
		if (!parent)
			return 0; /* the root: none of them */
		NW_SK_READ(cg, parent->cgroup);
	}
	return -1;
}

/*
 * @who's process fields from @task.  By helper, not plain loads: the
 * compiler merges these stores with nw_join_lookup()'s copy of a record, and
 * the verifier refuses one load instruction for a map value and a task.
 */
static __always_inline void nw_task_into(struct nw_join_val *who, struct task_struct *task)
{
	bpf_core_read(&who->pid, sizeof(who->pid), &task->pid);
	bpf_core_read(&who->tgid, sizeof(who->tgid), &task->tgid);
	bpf_core_read(who->comm, sizeof(who->comm), &task->comm);
}

/*
 * --cgroup: find the record of the socket that opened the connection whose
 * ORIGINAL tuple is @orig.  1 and @who filled when found.
 *
 * A packet this host sends carries its socket (@lsk: a hostNetwork pod, a
 * node daemon), whose own cgroup decides (nw_sk_cgroup_watched()): a record
 * with the same tuple left by a closed socket of the cgroups does not make
 * another cgroup's flow theirs, and UDP's record, written at egress after
 * the hooks that report the flow, is not needed; the owner is then the
 * current task when it sends from a syscall.
 *
 * 0 when not found: the connection is not the cgroups'; but if a recorded
 * socket used its source address and no socket told (forwarded or received
 * packets, a socket natwho could not judge), the record was evicted or never
 * made (socket opened before natwho, or a process sharing the network
 * namespace outside the cgroups): count it.
 */
static __always_inline int nw_join_lookup(const struct nf_conntrack_tuple *orig, __u8 family,
					  __u8 proto, const struct nw_lsk *lsk,
					  struct nw_join_val *who)
{
	struct nw_join_src src = { .family = family };
	struct nw_join_key key;
	struct nw_join_val *rec;
	__u64 cgid = 0;
	int w = -1;

	__builtin_memset(&key, 0, sizeof(key));
	nw_tuple_from(&key.orig, orig, family, nw_proto_has_ports(proto));
	key.family = family;
	key.proto = proto;
	if (lsk->sk)
		w = nw_sk_cgroup_watched(lsk, proto, key.orig.sport, &cgid);
	if (!w)
		return 0;
	rec = bpf_map_lookup_elem(&nw_join, &key);
	if (rec) {
		*who = *rec;
		return 1;
	}
	if (w > 0) {
		who->cgroup_id = cgid;
		if (lsk->by_owner)
			nw_task_into(who, nw_current());
		return 1;
	}
	__builtin_memcpy(src.addr, key.orig.src, sizeof(src.addr));
	if (bpf_map_lookup_elem(&nw_join_src, &src))
		nw_percpu_inc(&nw_join_missed);
	return 0;
}

/* Who opened the connection: with --cgroup the socket's owner from its
 * record, whatever context this runs in; else @task (the current one) if it
 * sent the packet, NULL if not. */
static __always_inline void nw_fill_task(struct nw_event *e, const struct nw_join_val *who,
					 struct task_struct *task)
{
	if (filter.cgroup) {
		e->pid = who->pid;
		e->tgid = who->tgid;
		e->cgroup_id = who->cgroup_id;
		__builtin_memcpy(e->comm, who->comm, sizeof(e->comm));
		e->flags |= NW_EF_JOINED | (who->tgid ? NW_EF_TASK : 0);
	} else if (task) {
		e->pid = task->pid;
		e->tgid = task->tgid;
		e->cgroup_id = task->cgroups->dfl_cgrp->kn->id;
		/* Always NUL-terminated in the task (a torn read by a racing
		 * prctl(PR_SET_NAME) is terminated by userspace, conn__decode). */
		NW_READ_DIRECT(e->comm, task->comm);
		e->flags |= NW_EF_TASK;
	}
}

/*
 * Build and submit the event for a new conntrack entry.  @task: the current
 * task when it is the one that sent the packet (a local socket in process
 * context: nw_sent_by_task()), so its pid/comm/cgroup may be
 * recorded if that socket is the flow's; NULL when not.  @lsk: what was read
 * of the socket of a packet this host generated (nw_lsk_read(); its sk NULL
 * when there is none).  @netns: the inode number of the entry's network
 * namespace, 0 to read it from the entry.  @skb_net: NULL, or the network
 * namespace of the packet's device where plain loads read it and the entry
 * does not (the probe-read objects): the entry's, as a rule, and then its
 * inode takes no probe read.  The cheap filters run before the tuples are
 * read.
 */
static __always_inline void nw_emit(const struct nf_conn *ct, __u32 netns,
				   const struct net *skb_net, __u8 hook, struct task_struct *task,
				   const struct nw_lsk *lsk, __s32 verdict, int has_verdict)
{
#ifdef NW_BTF_CT
	struct nf_conntrack_tuple orig_copy, reply_copy;
	const struct nf_conntrack_tuple *orig = &orig_copy, *reply = &reply_copy;
#else
	const struct nf_conntrack_tuple *orig, *reply;
	__u8 span[NW_CT_SPAN]; /* span[0]: the entry's byte lo */
	__u32 lo, hi, spanned;
#endif
	/* only the filters read it here: not a load when they are off */
	__u32 tgid = task && (filter.tgid || filter.tree) ? task->tgid : 0;
	struct nw_join_val who = {};
	struct nw_batch_rec *rec = NULL;
	struct nw_event *e;
	struct nw_stage *st;
	__u32 at = 0, size;
	unsigned long status;
	__u8 family, proto;
	int ports;

	if (filter.tgid && !filter.cgroup && filter.tgid != tgid)
		return;
#ifdef NW_BTF_CT
	if (!netns)
		netns = ct->ct_net.net->ns.inum;
	if (filter.netns && filter.netns != netns)
		return;
	family = ct->tuplehash[IP_CT_DIR_ORIGINAL].tuple.src.l3num;
	proto = ct->tuplehash[IP_CT_DIR_ORIGINAL].tuple.dst.protonum;
	nw_tuple_read(&orig_copy, &ct->tuplehash[IP_CT_DIR_ORIGINAL].tuple, family);
	nw_tuple_read(&reply_copy, &ct->tuplehash[IP_CT_DIR_REPLY].tuple, family);
#else
	nw_ct_span(&lo, &hi);
	spanned = hi - lo <= NW_CT_SPAN && !bpf_probe_read_kernel(span, hi - lo, (const __u8 *)ct + lo);
	if (spanned) {
		orig = (const void *)(span + NW_CT_OFF(tuplehash[IP_CT_DIR_ORIGINAL].tuple));
		reply = (const void *)(span + NW_CT_OFF(tuplehash[IP_CT_DIR_REPLY].tuple));
	} else { /* the tuples into the span, the other fields one by one below */
		orig = (const void *)span;
		reply = (const void *)(span + sizeof(*orig));
		nw_tuple_read((void *)orig, &ct->tuplehash[IP_CT_DIR_ORIGINAL].tuple, 0);
		nw_tuple_read((void *)reply, &ct->tuplehash[IP_CT_DIR_REPLY].tuple, 0);
	}
	if (!netns) {
		struct net *net = NULL;

		NW_CV_READ(net, ct_net.net);
		if (skb_net && skb_net == net)
			netns = skb_net->ns.inum;
		else
			netns = BPF_CORE_READ(net, ns.inum);
	}
	if (filter.netns && filter.netns != netns)
		return;
	family = orig->src.l3num;
	proto = orig->dst.protonum;
#endif
	if (filter.family && filter.family != family)
		return;
	if (filter.proto && filter.proto != proto)
		return;
	/* @task sent the packet from its socket's syscall (nw_lsk_read()'s by_owner),
	 * but an encapsulation's outer packet carries the inner flow's socket */
	ports = nw_proto_has_ports(proto);
	if (task && (!lsk->sk || !nw_lsk_owns_flow(lsk, proto, ports, bpf_ntohs(orig->src.u.all)))) {
		task = NULL;
		tgid = 0;
		if (filter.tgid && !filter.cgroup)
			return;
	}
	if (filter.nports && !nw_ports_pass(proto, orig->dst.u.all, reply->src.u.all))
		return;
	if (filter.naddrs && !nw_addr_match(orig, reply, family))
		return;
	if (filter.cgroup) { /* last: a miss is counted only for what passed the rest */
		if (!nw_join_lookup(orig, family, proto, lsk, &who))
			return;
		if (filter.tgid && filter.tgid != who.tgid)
			return;
	}
	if (!nw_tree_match(filter.cgroup ? who.tgid : tgid))
		return;

	/* Staged when this CPU has a stage and it is free, else straight
	 * into the ring. */
	st = nw_stage_this_cpu();
	if (st && !nw_stage_take(st))
		st = NULL;
	if (st) {
		at = st->hdr.bytes;
		/* never (flushed when full): the verifier's bound on @at */
		if (at > NW_STAGE_BYTES - NW_STAGE_REC) {
			nw_stage_give(st);
			st = NULL;
		} else {
			/* the record's place, as a pointer from here on: with
			 * the offset carried across the helper calls below,
			 * Linux 6.1's verifier refused the kprobe object */
			rec = (void *)(st->buf + at);
		}
	}
	/* IPv4 in the short form: a record of two cache lines instead of three
	 * (include/natwho.h); the head is the same in both. */
	if (family == NW_AF_INET) {
		struct nw_event4 *e4 = rec ? (void *)(rec + 1) :
					     bpf_ringbuf_reserve(&events, sizeof(*e4), 0);

		if (e4) {
			__builtin_memset(e4, 0, sizeof(*e4));
			nw_tuple4_event(&e4->orig, orig, ports);
			nw_tuple4_event(&e4->reply, reply, ports);
		}
		e = (struct nw_event *)e4;
	} else {
		e = rec ? (void *)(rec + 1) : bpf_ringbuf_reserve(&events, sizeof(*e), 0);
		if (e) {
			__builtin_memset(e, 0, sizeof(*e));
			nw_tuple_event(&e->orig, orig, ports);
			nw_tuple_event(&e->reply, reply, ports);
		}
	}
	if (!e) {
		nw_count_lost();
		return;
	}
	e->version = NW_EVENT_VERSION;
	e->ts_boot_ns = bpf_ktime_get_boot_ns();
	e->netns = netns;
	e->family = family;
	e->proto = proto;
	e->hook = hook;
	NW_CV_READ(status, status);
	e->ct_status = (__u32)status;
	if (bpf_core_field_exists(ct->mark)) { /* CONFIG_NF_CONNTRACK_MARK */
		NW_CV_READ(e->mark, mark);
		e->flags |= NW_EF_MARK;
	}
	if (bpf_core_field_exists(ct->zone)) { /* CONFIG_NF_CONNTRACK_ZONES */
		NW_CV_READ(e->zone, zone.id);
		e->flags |= NW_EF_ZONE;
	}
	if (has_verdict) {
		e->verdict = verdict;
		e->flags |= NW_EF_VERDICT;
	}
	nw_fill_task(e, &who, task);
	if (!rec) { /* not staged */
		bpf_ringbuf_submit(e, nw_wakeup_flags(0));
		return;
	}
	size = family == NW_AF_INET ? sizeof(struct nw_event4) : sizeof(struct nw_event);
	rec->size = size;
	st->hdr.bytes = at + sizeof(*rec) + size;
	st->hdr.count++;
	if (st->hdr.bytes > NW_STAGE_BYTES - NW_STAGE_REC)
		nw_stage_flush(st);
	nw_stage_give(st);
}

/*
 * Run by userspace on each CPU (BPF_PROG_TEST_RUN, BPF_F_TEST_RUN_ON_CPU) at
 * every tick and before its last drain: what a CPU staged reaches the ring
 * even when it sees no more connections.  Returns 1 when a program was
 * writing the stage (interrupted by this run): try again.  Each backend
 * object defines it once.
 */
#define NW_DEFINE_FLUSH()                                          \
	SEC("raw_tp")                                              \
	int nw_flush(void *ctx)                                    \
	{                                                          \
		struct nw_stage *st = nw_stage_this_cpu();         \
                                                                   \
		if (!st)                                           \
			return 0; /* a CPU with no stage */        \
		if (!nw_stage_take(st))                            \
			return 1; /* a program has it */           \
		nw_stage_flush(st);                                \
		nw_stage_give(st);                                 \
		return 0;                                          \
	}

#endif /* NATWHO_COMMON_BPF_H */
