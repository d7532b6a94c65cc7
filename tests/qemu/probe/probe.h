/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Shared by probe.bpf.c and probe.c: what each probe saw. */
#ifndef NATWHO_QEMU_PROBE_H
#define NATWHO_QEMU_PROBE_H

enum probe_kind {
	PROBE_KPROBE,
	PROBE_KRETPROBE,
	PROBE_FEXIT,
	PROBE_NKINDS,
};

/* IPv4 only: addresses in network order, ports in host order. */
struct probe_tuple {
	__u32 saddr;
	__u32 daddr;
	__u16 sport;
	__u16 dport;
};

struct probe_seen {
	__u64 calls;	/* every call of the probed function */
	__u64 hits;	/* calls for the conntrack under test */
	__u64 status;	/* ct->status of the last hit */
	__s64 verdict;	/* return value of __nf_conntrack_confirm (ret probes) */
	struct probe_tuple orig;
	struct probe_tuple reply;
	__u32 netns;
	__u32 pad;
};

#endif /* NATWHO_QEMU_PROBE_H */
