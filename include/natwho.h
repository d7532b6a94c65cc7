/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The contract between natwho's BPF programs and its userspace: one event per
 * new conntrack entry, written to the "events" ring buffer, and the filter
 * knobs userspace sets in .rodata before load.
 *
 * Fixed-width types only, widest first, no pointers, no bool.  Bump
 * NW_EVENT_VERSION on any layout change; userspace decodes the versions from
 * NW_EVENT_VERSION_MIN up and rejects others.
 */
#ifndef NATWHO_H
#define NATWHO_H

#ifndef __VMLINUX_H__ /* BPF side: vmlinux.h has the types */
#include <linux/types.h>
#endif

/*
 * 1: struct nw_event only.  2: IPv4 connections as struct nw_event4: a ring
 * record of 96 bytes instead of 144, so half again as many IPv4 events fit in
 * a ring, and one cache line fewer to write per connection.
 */
#define NW_EVENT_VERSION 2
#define NW_EVENT_VERSION_MIN 1
#define NW_EVENT_VERSION_SHORT4 2 /* the first with struct nw_event4 */
#define NW_COMM_LEN 16
#define NW_MAX_PORTS 16
#define NW_MAX_CGROUPS 16 /* --cgroup, --pod, --pod-uid */
#define NW_MAX_ADDRS 16 /* --addr */

/* Which hook or probe saw the new conntrack entry. */
enum nw_hook {
	NW_HOOK_POSTROUTING = 1, /* netfilter backend, NF_INET_POST_ROUTING */
	NW_HOOK_LOCAL_IN = 2, /* netfilter backend, NF_INET_LOCAL_IN */
	NW_HOOK_CONFIRM = 3, /* fentry/kprobe backends, __nf_conntrack_confirm */
};

/* nw_event.flags */
enum nw_event_flags {
	NW_EF_TASK = 1 << 0, /* pid, tgid, comm and cgroup_id are valid */
	NW_EF_VERDICT = 1 << 1, /* verdict is valid (fexit/kretprobe) */
	NW_EF_MARK = 1 << 2, /* mark is valid (CONFIG_NF_CONNTRACK_MARK) */
	NW_EF_ZONE = 1 << 3, /* zone is valid (CONFIG_NF_CONNTRACK_ZONES) */
	NW_EF_JOINED = 1 << 4, /* joined with a --cgroup socket record (pid etc. from it) */
};

/* One direction of a conntrack entry.  IPv4 uses the first 4 bytes of the
 * address arrays; ports are in host byte order (0 for port-less protocols). */
struct nw_tuple {
	__u8 src[16];
	__u8 dst[16];
	__u16 sport;
	__u16 dport;
};

/* The same for IPv4, in struct nw_event4. */
struct nw_tuple4 {
	__u8 src[4];
	__u8 dst[4];
	__u16 sport;
	__u16 dport;
};

/* What every event starts with: 64 bytes, the same in both forms. */
#define NW_EVENT_HEAD                                                                 \
	__u64 ts_boot_ns; /* bpf_ktime_get_boot_ns() */                                \
	__u64 cgroup_id;                                                               \
	__u32 netns; /* network namespace inode */                                     \
	__u32 pid; /* thread id */                                                     \
	__u32 tgid; /* process id */                                                   \
	__u32 ct_status; /* enum ip_conntrack_status bits */                           \
	__u32 mark;                                                                    \
	__u32 verdict; /* NF_ACCEPT (1) / NF_DROP (0), when NW_EF_VERDICT */           \
	__u16 version; /* NW_EVENT_VERSION */                                          \
	__u16 zone;                                                                    \
	__u8 family; /* AF_INET or AF_INET6 */                                         \
	__u8 proto; /* IPPROTO_* */                                                    \
	__u8 hook; /* enum nw_hook */                                                  \
	__u8 flags; /* enum nw_event_flags */                                          \
	char comm[NW_COMM_LEN]

/* Any family; what userspace decodes every record into. */
struct nw_event {
	NW_EVENT_HEAD;
	struct nw_tuple orig; /* ORIGINAL direction, as the client sent it */
	struct nw_tuple reply; /* REPLY direction, after NAT */
};

/* An IPv4 connection as the BPF side writes it (version >= 2): a record is
 * this size or struct nw_event's, and family says which. */
struct nw_event4 {
	NW_EVENT_HEAD;
	struct nw_tuple4 orig;
	struct nw_tuple4 reply;
};

_Static_assert(__builtin_offsetof(struct nw_event, orig) == 64 &&
		       __builtin_offsetof(struct nw_event4, orig) == 64,
	       "the two forms share a 64-byte head");
_Static_assert(sizeof(struct nw_event4) == 88 && sizeof(struct nw_event) == 136,
	       "record sizes (plus the ring's 8-byte header: 96 and 144 bytes)");

/*
 * Events staged per CPU and handed to the ring buffer in one record: a ring
 * reservation costs a few cache misses (its lock, positions and header), so
 * one per batch instead of one per event.  The batch record starts with
 * NW_BATCH_MARK where an event has its ts_boot_ns (below 2^63: never the
 * mark), then each event as a struct nw_batch_rec and the event's bytes,
 * padded to 8.
 */
#define NW_BATCH_MARK 0xffffffffffffffffULL
#define NW_STAGE_BYTES 2048
struct nw_batch_hdr {
	__u64 mark; /* NW_BATCH_MARK */
	__u32 count; /* events that follow */
	__u32 bytes; /* bytes that follow */
};
struct nw_batch_rec {
	__u32 size; /* the event's bytes: sizeof(struct nw_event4 or nw_event) */
	__u32 pad;
};
/* The largest staged record: a stage with less room left is handed over. */
#define NW_STAGE_REC (sizeof(struct nw_batch_rec) + sizeof(struct nw_event))
/*
 * A CPU's stage (element CPU of the BPF array "stage").  @busy: a program is
 * writing it; one that interrupts it on this CPU (a softirq's packet while
 * a process's is being sent) or the flush writes its event to the ring
 * directly instead.  The batch record is @hdr and the first hdr.bytes of
 * @buf, contiguous.  hdr.count: events staged (read by userspace after the
 * last flush: those left from before the stop are counted lost).
 */
struct nw_stage {
	__u32 busy;
	__u32 pad;
	struct nw_batch_hdr hdr;
	__u8 buf[NW_STAGE_BYTES];
	__u8 tail[40]; /* to whole cache lines: one CPU's end and the next
			* CPU's @busy share at most one line */
};

_Static_assert(sizeof(struct nw_stage) % 64 == 0 &&
		       __builtin_offsetof(struct nw_stage, buf) ==
			       __builtin_offsetof(struct nw_stage, hdr) + sizeof(struct nw_batch_hdr),
	       "a stage is whole cache lines, its batch record hdr and buf in a row");

/*
 * --addr: an address prefix as nw_emit() compares it with a conntrack
 * tuple's address (struct nf_conntrack_tuple's u3.all): 32-bit words in
 * network byte order, IPv4 in word 0.  @mask has the prefix's @len leading
 * bits set; @addr is already masked; the words past an IPv4 address are
 * zero in both.
 */
struct nw_prefix {
	__u32 addr[4];
	__u32 mask[4];
	__u8 family; /* AF_INET or AF_INET6 */
	__u8 len; /* prefix length: 0-32 or 0-128 */
	__u8 pad[6]; /* zero */
};

_Static_assert(sizeof(struct nw_prefix) == 40, "no implicit padding in struct nw_prefix");

/* Kernel-side filters, set by userspace in .rodata before load.  A zero
 * field means "no filter". */
struct nw_filter {
	__u32 wake_bytes; /* not a filter: wake the reader when this much is
			   * queued (set from the ring size; 0: every event) */
	__u32 tgid;
	__u32 netns;
	__u16 ports[NW_MAX_PORTS];
	__u8 nports;
	__u8 proto;
	__u8 family;
	__u8 cgroup; /* 1: only connections joined with a --cgroup socket record */
	__u8 tree; /* 1: `-- CMD --children`: a connection with a local process is
		    * shown only if that process is in "nw_tree" (bpf/proctree.bpf.c) */
	__u8 ncgroups; /* --cgroup: how many of cgroup_ids are set */
	__u8 naddrs; /* --addr: how many of addrs are set */
	__u8 pad[5]; /* zero */
	/* --cgroup: the watched cgroups' ids, which a socket of the traced
	 * namespace itself is checked against (nw_sk_cgroup_watched()) */
	__u64 cgroup_ids[NW_MAX_CGROUPS];
	/* --addr: a connection passes when one of its four addresses (original
	 * source and destination, reply source and destination: either end,
	 * before or after NAT) is in one of these prefixes */
	struct nw_prefix addrs[NW_MAX_ADDRS];
};

_Static_assert(__builtin_offsetof(struct nw_filter, cgroup_ids) % 8 == 0 &&
		       __builtin_offsetof(struct nw_filter, cgroup_ids) ==
			       __builtin_offsetof(struct nw_filter, pad) + 5 &&
		       __builtin_offsetof(struct nw_filter, addrs) ==
			       __builtin_offsetof(struct nw_filter, cgroup_ids) +
				       NW_MAX_CGROUPS * sizeof(__u64),
	       "no implicit padding in struct nw_filter");

/*
 * --cgroup/--pod: the cgroup programs (bpf/cgroup.bpf.c) record every socket
 * of the selected cgroups in the "nw_join" LRU map, keyed by the tuple that
 * conntrack's ORIGINAL direction sees; the capture backends look it up.
 * The sizes bound the memory: old records are evicted, never grown.
 */
#define NW_JOIN_MAX_ENTRIES 16384
#define NW_JOIN_SRC_MAX_ENTRIES 1024

struct nw_join_key {
	struct nw_tuple orig; /* unused address bytes and ports zero */
	__u8 family; /* AF_INET (also for IPv4-mapped IPv6 sockets) or AF_INET6 */
	__u8 proto;
	__u8 pad[2]; /* zero */
};

/* Who owns the socket; also the per-socket storage of the connecting task. */
struct nw_join_val {
	__u64 cgroup_id;
	__u64 sock_cookie; /* bpf_get_socket_cookie() of the recording socket */
	__u32 pid; /* thread id */
	__u32 tgid; /* process id; 0: socket known, task not (opened before natwho) */
	char comm[NW_COMM_LEN];
};

/* "nw_join_src": source addresses the recorded sockets used.  A connection
 * from one of them without a record counts as a missed join. */
struct nw_join_src {
	__u8 addr[16];
	__u8 family;
	__u8 pad[3]; /* zero */
};

/*
 * `-- CMD --children`: "nw_tree" holds the tgid of CMD and of every process
 * forked from a process in it (bpf/proctree.bpf.c keeps it up to date from
 * sched_process_fork/exit); the capture backends look it up with filter.tree.
 * Keys are tgids, values unused (1).  Not preallocated: every object that
 * includes bpf/common.bpf.h declares the map, only proctree's is filled.
 */
#define NW_TREE_MAX_ENTRIES 8192 /* live processes of the tree */

#endif /* NATWHO_H */
