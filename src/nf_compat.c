// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/bpf.h>
#include <bpf/btf.h>
#include "nf_compat.h"

/* union bpf_attr's link_create, as of Linux 6.4 (include/uapi/linux/bpf.h). */
struct nw_link_create_attr {
	__u32 prog_fd;
	__u32 target_fd;
	__u32 attach_type;
	__u32 flags;
	struct {
		__u32 pf;
		__u32 hooknum;
		__s32 priority;
		__u32 flags;
	} netfilter;
};

int nf_compat__set_type(struct bpf_program *prog)
{
	int err = bpf_program__set_type(prog, NW_BPF_PROG_TYPE_NETFILTER);

	if (err)
		return err;
	return bpf_program__set_expected_attach_type(prog, NW_BPF_NETFILTER);
}

int nf_compat__link_create(int prog_fd, int pf, int hooknum, int priority)
{
	struct nw_link_create_attr attr;
	long fd;

	memset(&attr, 0, sizeof(attr));
	attr.prog_fd = prog_fd;
	attr.attach_type = NW_BPF_NETFILTER;
	attr.netfilter.pf = pf;
	attr.netfilter.hooknum = hooknum;
	attr.netfilter.priority = priority;
	fd = syscall(__NR_bpf, BPF_LINK_CREATE, &attr, sizeof(attr));
	return fd < 0 ? -errno : (int)fd;
}

int nf_compat__conn_btf_id(__u32 *id)
{
	/* Parsed once: --backend auto asks for fentry, then netfilter. */
	static int ret = 1;
	static __u32 conn_id;

	if (ret > 0) {
		struct btf *vmlinux = btf__load_vmlinux_btf();

		if (!vmlinux)
			return -errno; /* not cached: it may be a passing failure */
		ret = btf__find_by_name_kind(vmlinux, "nf_conn", BTF_KIND_STRUCT);
		btf__free(vmlinux);
		if (ret > 0) {
			conn_id = (__u32)ret;
			ret = 0;
		}
	}
	if (ret < 0)
		return ret;
	*id = conn_id;
	return 0;
}
