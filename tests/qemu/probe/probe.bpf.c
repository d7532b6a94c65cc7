// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The QEMU harness's own self-test: kprobe, kretprobe and fexit on
 * __nf_conntrack_confirm() (a function of the nf_conntrack module), reading
 * the conntrack tuples with CO-RE against the module's BTF.  Built against the
 * checked-in vmlinux.h, so it also proves that a 6.18-generated vmlinux.h
 * relocates on the guest's 6.1 kernel.  Not part of natwho.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "probe.h"

#define PROBE_NFCT_PTRMASK (~7UL)

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Only conntracks whose original destination port is this are recorded. */
const volatile __u16 match_dport = 0;

struct probe_seen seen[PROBE_NKINDS] = {};

static __always_inline void probe_read_tuple(struct probe_tuple *dst,
					     const struct nf_conntrack_tuple *t)
{
	dst->saddr = BPF_CORE_READ(t, src.u3.ip);
	dst->daddr = BPF_CORE_READ(t, dst.u3.ip);
	dst->sport = bpf_ntohs(BPF_CORE_READ(t, src.u.all));
	dst->dport = bpf_ntohs(BPF_CORE_READ(t, dst.u.all));
}

/* Record @skb's conntrack into seen[kind] if it is the one under test. */
static __always_inline void probe_record(int kind, const struct sk_buff *skb)
{
	struct nf_conn *ct;
	struct probe_seen *s = &seen[kind];
	__u16 dport;

	__sync_fetch_and_add(&s->calls, 1);
	ct = (struct nf_conn *)(BPF_CORE_READ(skb, _nfct) & PROBE_NFCT_PTRMASK);
	if (!ct)
		return;
	if (BPF_CORE_READ(ct, tuplehash[0].tuple.src.l3num) != 2 ||
	    BPF_CORE_READ(ct, tuplehash[0].tuple.dst.protonum) != IPPROTO_TCP)
		return;
	dport = bpf_ntohs(BPF_CORE_READ(ct, tuplehash[0].tuple.dst.u.all));
	if (match_dport && dport != match_dport)
		return;
	probe_read_tuple(&s->orig, &ct->tuplehash[0].tuple);
	probe_read_tuple(&s->reply, &ct->tuplehash[1].tuple);
	s->netns = BPF_CORE_READ(ct, ct_net.net, ns.inum);
	s->status = BPF_CORE_READ(ct, status);
	__sync_fetch_and_add(&s->hits, 1);
}

SEC("kprobe/__nf_conntrack_confirm")
int BPF_KPROBE(confirm_enter, struct sk_buff *skb)
{
	probe_record(PROBE_KPROBE, skb);
	return 0;
}

SEC("kretprobe/__nf_conntrack_confirm")
int BPF_KRETPROBE(confirm_return, int verdict)
{
	struct probe_seen *s = &seen[PROBE_KRETPROBE];

	__sync_fetch_and_add(&s->calls, 1);
	__sync_fetch_and_add(&s->hits, 1);
	s->verdict = verdict;
	return 0;
}

SEC("fexit/__nf_conntrack_confirm")
int BPF_PROG(confirm_exit, struct sk_buff *skb, int verdict)
{
	probe_record(PROBE_FEXIT, skb);
	seen[PROBE_FEXIT].verdict = verdict;
	return 0;
}
