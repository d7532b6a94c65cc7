// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The floor under natwho's BPF run-time figures: an empty netfilter program
 * ("return NF_ACCEPT"), linked at IPv4 POST_ROUTING and LOCAL_IN of the
 * current network namespace, measured by the same kernel.bpf_stats_enabled
 * accounting.  Whatever it costs per invocation (the two clock reads of the
 * accounting, the hook dispatch) is not natwho's code.
 *
 *   nf-floor SECONDS
 * Prints "ready" once linked, then after SECONDS one line:
 *   run_cnt=N run_time_ns=N ns_per_run=X
 * Built and run by tests/bench/storm.sh (needs bpf_stats enabled).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/bpf.h>

#define FLOOR_PROG_TYPE_NETFILTER 32 /* not in the 6.1 UAPI headers */
#define FLOOR_ATTACH_NETFILTER 45
#define FLOOR_NFPROTO_IPV4 2
#define FLOOR_NF_LOCAL_IN 1
#define FLOOR_NF_POST_ROUTING 4
#define FLOOR_PRIO 0x7fff0000

/* union bpf_attr's link_create as of Linux 6.4. */
struct floor_link_attr {
	__u32 prog_fd;
	__u32 target_fd;
	__u32 attach_type;
	__u32 flags;
	__u32 pf;
	__u32 hooknum;
	__s32 priority;
	__u32 nf_flags;
};

static long floor__bpf(int cmd, void *attr, unsigned int size)
{
	return syscall(__NR_bpf, cmd, attr, size);
}

static int floor__load(void)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 1 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = FLOOR_PROG_TYPE_NETFILTER;
	attr.expected_attach_type = FLOOR_ATTACH_NETFILTER;
	attr.insns = (__u64)(unsigned long)insns;
	attr.insn_cnt = sizeof(insns) / sizeof(insns[0]);
	attr.license = (__u64)(unsigned long)"GPL";
	strncpy(attr.prog_name, "nw_floor", sizeof(attr.prog_name) - 1);
	return (int)floor__bpf(BPF_PROG_LOAD, &attr, sizeof(attr));
}

/* Link at @hooknum, stepping down from FLOOR_PRIO past taken priorities. */
static int floor__link(int prog_fd, int hooknum)
{
	struct floor_link_attr attr;
	int fd = -1;

	for (int i = 0; i < 64 && fd < 0; i++) {
		memset(&attr, 0, sizeof(attr));
		attr.prog_fd = prog_fd;
		attr.attach_type = FLOOR_ATTACH_NETFILTER;
		attr.pf = FLOOR_NFPROTO_IPV4;
		attr.hooknum = hooknum;
		attr.priority = FLOOR_PRIO - i;
		fd = (int)floor__bpf(BPF_LINK_CREATE, &attr, sizeof(attr));
		if (fd < 0 && errno != EBUSY)
			break;
	}
	return fd;
}

static int floor__report(int prog_fd)
{
	struct bpf_prog_info info;
	union bpf_attr attr;

	memset(&info, 0, sizeof(info));
	memset(&attr, 0, sizeof(attr));
	attr.info.bpf_fd = prog_fd;
	attr.info.info_len = sizeof(info);
	attr.info.info = (__u64)(unsigned long)&info;
	if (floor__bpf(BPF_OBJ_GET_INFO_BY_FD, &attr, sizeof(attr)))
		return -1;
	printf("run_cnt=%llu run_time_ns=%llu ns_per_run=%.1f\n", (unsigned long long)info.run_cnt,
	       (unsigned long long)info.run_time_ns,
	       info.run_cnt ? (double)info.run_time_ns / (double)info.run_cnt : 0.0);
	return 0;
}

int main(int argc, char **argv)
{
	int secs = argc == 2 ? atoi(argv[1]) : 0;
	int prog_fd, in_fd, out_fd;

	if (secs <= 0 || secs > 600) {
		fprintf(stderr, "usage: nf-floor SECONDS\n");
		return 2;
	}
	prog_fd = floor__load();
	in_fd = prog_fd < 0 ? -1 : floor__link(prog_fd, FLOOR_NF_LOCAL_IN);
	out_fd = in_fd < 0 ? -1 : floor__link(prog_fd, FLOOR_NF_POST_ROUTING);
	if (out_fd < 0) {
		fprintf(stderr, "nf-floor: load/link: %s\n", strerror(errno));
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	sleep((unsigned int)secs);
	if (floor__report(prog_fd)) {
		fprintf(stderr, "nf-floor: prog info: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}
