// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The fentry backend for Linux >= 6.2: bpf/fentry.bpf.c with the conntrack
 * entry read through bpf_rdonly_cast() and plain loads (NW_BTF_CT) instead of
 * a bpf_probe_read_kernel() of its fields per new connection.  The loader
 * (src/backend_confirm.c) takes it when the kernel has the kfunc, and
 * bpf/fentry.bpf.c otherwise.
 */
#define NW_BTF_CT
#include "fentry.bpf.c"
