// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The kprobe backend for Linux >= 6.2: bpf/kprobe.bpf.c with the conntrack
 * entry and the skb read through bpf_rdonly_cast() and plain loads
 * (NW_BTF_CT), as bpf/fentry_btf.bpf.c does for fentry.  The loader (src/backend_confirm.c)
 * takes it when the kernel has the kfunc, and bpf/kprobe.bpf.c otherwise.
 */
#define NW_BTF_CT
#include "kprobe.bpf.c"
