/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Compat shim for BPF_PROG_TYPE_NETFILTER (Linux 6.4) on libbpf 1.1 and the
 * 6.1 UAPI headers of Debian 12, which know neither the program type, the
 * BPF_NETFILTER attach type nor link_create.netfilter.  The only place natwho
 * speaks to the kernel about netfilter links.  With libbpf >= 1.3 this is
 * SEC("netfilter") + bpf_program__attach_netfilter().
 */
#ifndef NW_NF_COMPAT_H
#define NW_NF_COMPAT_H

#include <bpf/libbpf.h>

#define NW_BPF_PROG_TYPE_NETFILTER 32
#define NW_BPF_NETFILTER 45
/*
 * Just before conntrack confirmation, after every NAT hook.  nf_confirm runs
 * at INT_MAX (NF_IP_PRI_CONNTRACK_CONFIRM), except IPv6 LOCAL_IN, where it is
 * at NF_IP6_PRI_LAST - 1; the kernel refuses a BPF hook at a priority that is
 * taken (-EBUSY), so callers step down from here.
 */
#define NW_NF_PRI_BEFORE_CONFIRM (0x7fffffff - 2)
#define NW_NF_PRI_TRIES 16

/* Before load: make @prog a netfilter program. */
int nf_compat__set_type(struct bpf_program *prog);
/* BPF_LINK_CREATE for a netfilter hook: returns a link fd or -errno.  The link
 * lives in the caller's current network namespace and dies with the fd. */
int nf_compat__link_create(int prog_fd, int pf, int hooknum, int priority);
/*
 * The vmlinux BTF id of struct nf_conn, for bpf_rdonly_cast() in the BPF
 * objects built with NW_BTF_CT; looked up by name and kind, as CO-RE would
 * also match struct nf_conn___init.  0 or -errno.
 */
int nf_compat__conn_btf_id(__u32 *id);

#endif
