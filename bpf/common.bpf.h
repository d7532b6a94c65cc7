/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Shared by every natwho BPF object: the ring buffer, the per-CPU loss
 * counter, the kernel-side filter and the code that turns a struct nf_conn
 * into a struct nw_event.  Each backend's *.bpf.c includes this once.
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

static __always_inline void nw_count_lost(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&lost, &zero);

	if (n)
		*n += 1; /* per-CPU slot: no atomic needed */
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

static __always_inline int nw_proto_has_ports(__u8 proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP ||
	       proto == IPPROTO_UDPLITE || proto == IPPROTO_DCCP;
}

static __always_inline void nw_read_tuple(struct nw_tuple *dst,
					  const struct nf_conntrack_tuple *t, __u8 family,
					  __u8 proto)
{
	if (family == NW_AF_INET) {
		bpf_core_read(dst->src, 4, &t->src.u3.ip);
		bpf_core_read(dst->dst, 4, &t->dst.u3.ip);
	} else {
		bpf_core_read(dst->src, 16, &t->src.u3.in6);
		bpf_core_read(dst->dst, 16, &t->dst.u3.in6);
	}
	if (nw_proto_has_ports(proto)) {
		dst->sport = bpf_ntohs(BPF_CORE_READ(t, src.u.all));
		dst->dport = bpf_ntohs(BPF_CORE_READ(t, dst.u.all));
	}
}

/*
 * Build and submit the event for a new conntrack entry.  @task_ok says the
 * current task is the one that sent the packet (a local socket in process
 * context), so its pid/comm/cgroup may be recorded.
 */
static __always_inline void nw_emit(const struct nf_conn *ct, __u32 netns, __u8 hook,
				   int task_ok, __s32 verdict, int has_verdict)
{
	const struct nf_conntrack_tuple *orig = &ct->tuplehash[IP_CT_DIR_ORIGINAL].tuple;
	const struct nf_conntrack_tuple *reply = &ct->tuplehash[IP_CT_DIR_REPLY].tuple;
	__u8 family = BPF_CORE_READ(orig, src.l3num);
	__u8 proto = BPF_CORE_READ(orig, dst.protonum);
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct nw_event *e;
	__u16 odport = 0, rsport = 0;

	if (filter.family && filter.family != family)
		return;
	if (filter.proto && filter.proto != proto)
		return;
	if (filter.netns && filter.netns != netns)
		return;
	if (filter.tgid && (!task_ok || filter.tgid != (__u32)(pid_tgid >> 32)))
		return;
	if (filter.nports) {
		if (!nw_proto_has_ports(proto))
			return;
		odport = bpf_ntohs(BPF_CORE_READ(orig, dst.u.all));
		rsport = bpf_ntohs(BPF_CORE_READ(reply, src.u.all));
		if (!nw_port_match(odport, rsport))
			return;
	}

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		nw_count_lost();
		return;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->version = NW_EVENT_VERSION;
	e->ts_boot_ns = bpf_ktime_get_boot_ns();
	e->netns = netns;
	e->family = family;
	e->proto = proto;
	e->hook = hook;
	e->ct_status = (__u32)BPF_CORE_READ(ct, status);
	if (bpf_core_field_exists(ct->mark)) { /* CONFIG_NF_CONNTRACK_MARK */
		e->mark = BPF_CORE_READ(ct, mark);
		e->flags |= NW_EF_MARK;
	}
	if (bpf_core_field_exists(ct->zone)) { /* CONFIG_NF_CONNTRACK_ZONES */
		e->zone = BPF_CORE_READ(ct, zone.id);
		e->flags |= NW_EF_ZONE;
	}
	if (has_verdict) {
		e->verdict = verdict;
		e->flags |= NW_EF_VERDICT;
	}
	if (task_ok) {
		e->pid = (__u32)pid_tgid;
		e->tgid = pid_tgid >> 32;
		e->cgroup_id = bpf_get_current_cgroup_id();
		bpf_get_current_comm(e->comm, sizeof(e->comm));
		e->flags |= NW_EF_TASK;
	}
	nw_read_tuple(&e->orig, orig, family, proto);
	nw_read_tuple(&e->reply, reply, family, proto);
	bpf_ringbuf_submit(e, 0);
}

#endif /* NATWHO_COMMON_BPF_H */
