// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * nw-cgprog: attach someone else's cgroup program, as a node's firewall or
 * policy agent would, for the tests of natwho --cgroup beside it.
 *
 *   nw-cgprog DIR connect4|egress override|exclusive|multi
 *
 * Loads a program that allows everything (returns 1: it changes no traffic)
 * of that attach type, attaches it to the cgroup v2 directory DIR with
 * BPF_PROG_ATTACH in that mode, and prints its program id.  The attachment
 * is not fd-owned: it stays until DIR is removed (the tests remove their
 * cgroups) or the program is detached.  Exit 0, or 1 with a message.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

int main(int argc, char **argv)
{
	const struct bpf_insn allow[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 1 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, popts);
	enum bpf_prog_type ptype;
	enum bpf_attach_type atype;
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info), flags;
	int cg, prog;

	if (argc != 4) {
		fprintf(stderr, "usage: nw-cgprog DIR connect4|egress override|exclusive|multi\n");
		return 1;
	}
	if (!strcmp(argv[2], "connect4")) {
		ptype = BPF_PROG_TYPE_CGROUP_SOCK_ADDR;
		atype = BPF_CGROUP_INET4_CONNECT;
	} else if (!strcmp(argv[2], "egress")) {
		ptype = BPF_PROG_TYPE_CGROUP_SKB;
		atype = BPF_CGROUP_INET_EGRESS;
	} else {
		fprintf(stderr, "nw-cgprog: unknown type '%s'\n", argv[2]);
		return 1;
	}
	if (!strcmp(argv[3], "override"))
		flags = BPF_F_ALLOW_OVERRIDE;
	else if (!strcmp(argv[3], "exclusive"))
		flags = 0;
	else if (!strcmp(argv[3], "multi"))
		flags = BPF_F_ALLOW_MULTI;
	else {
		fprintf(stderr, "nw-cgprog: unknown mode '%s'\n", argv[3]);
		return 1;
	}
	cg = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg < 0) {
		fprintf(stderr, "nw-cgprog: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	popts.expected_attach_type = atype;
	prog = bpf_prog_load(ptype, "nw_cgprog", "GPL", allow, 2, &popts);
	if (prog < 0) {
		fprintf(stderr, "nw-cgprog: load: %s\n", strerror(errno));
		return 1;
	}
	if (bpf_prog_attach(prog, cg, atype, flags)) {
		fprintf(stderr, "nw-cgprog: attach to %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	if (bpf_obj_get_info_by_fd(prog, &info, &len)) {
		fprintf(stderr, "nw-cgprog: prog info: %s\n", strerror(errno));
		return 1;
	}
	printf("%u\n", info.id);
	return 0;
}
