// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * natwho's netfilter programs' own run time per established-connection
 * packet, by BPF_PROG_TEST_RUN (Linux >= 6.4: bpf_prog_test_run_nf() in
 * net/bpf/test_run.c), free of the two clock reads per run that
 * kernel.bpf_stats_enabled adds in situ.
 *
 *   nf-testrun [-v] [-u] [-n REPEAT] [-r RUNS] [OBJECT]
 *
 * Loads every hook program of OBJECT (build/nf.bpf.o: whatever natwho was built
 * with) as BPF_PROG_TYPE_NETFILTER, plus an empty program ("return
 * NF_ACCEPT", the same insns as nf-floor.c), and runs each REPEAT (10000000)
 * times per BPF_PROG_TEST_RUN call, RUNS (7) calls each, interleaved in a
 * rotating order.  The input is an Ethernet + IPv4 + TCP ACK frame and a
 * struct nf_hook_state context naming the program's hook (its section name:
 * .../post_routing or .../local_in) and NFPROTO_IPV4.  A test-run skb has no
 * conntrack entry (skb->_nfct == 0), so ctinfo is 0, IP_CT_ESTABLISHED: the
 * programs take the path of a packet of an established connection, all but
 * its test for no entry at all (one compare), which would take them to the
 * count of SYNs without conntrack (bpf/nf.bpf.c): the object is loaded with
 * nf_count_untracked = 0 for that.  With -u it stays 1, and the figures are a
 * packet's where conntrack does not run (an ACK: read, not counted).
 *
 * What the kernel reports ("duration") is the time of the whole loop divided
 * by REPEAT, truncated to whole ns, time spent rescheduling left out; the loop
 * also runs local_bh_disable()/enable() and the bpf_net_context set-up around
 * every run, which the empty program's figure measures.  wall_ns is the same
 * from userspace (CLOCK_MONOTONIC around the call: sub-ns resolution, but
 * time given to other tasks included, so the least disturbed call's, the
 * minimum over the runs): a cross-check.
 *
 * Output (stdout), one line per program, then one per natwho program:
 *   prog=NAME hook=HOOK repeat=N runs=N median_ns=X min_ns=N max_ns=N wall_ns=X retval=N
 *   prog=NAME minus_empty_ns=X wall_minus_empty_ns=X paired_wall_minus_empty_ns=D1,D2,...
 * The empty program is prog=empty.  Dr is round r's wall figure of NAME minus
 * the empty program's in the same round (seconds apart at most): what NAME's
 * code costs per run, the loop, the bottom-half toggling and the call into
 * a program taken out, which every program pays alike.  Exit 0 when measured, 1 on a failure,
 * 2 on a usage error, 4 when the kernel cannot test-run netfilter programs
 * (one line "unsupported: REASON" on stdout).
 *
 * Built and run by tests/bench/storm.sh (storm-bpf.sh: testrun_phase).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <linux/netfilter.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "nf_compat.h"
#include "rodata.h"

#define TR_MAX_PROGS 8
#define TR_MAX_RUNS 99
#define TR_ENOTSUPP 524 /* kernel-internal: the program type has no test_run */
#define TR_EXIT_UNSUPPORTED 4

/* struct nf_hook_state (include/linux/netfilter.h), the ctx_in of a netfilter
 * test run: only hook and pf may be set, the pointers must be NULL. */
struct tr_hook_state {
	__u8 hook;
	__u8 pf;
	__u64 in, out, sk, net, okfn;
};

struct tr_prog {
	char name[64];
	int fd;
	int hook;
	__u32 retval;
	__u32 ns[TR_MAX_RUNS]; /* the kernel's duration, per call */
	double wall[TR_MAX_RUNS];
};

struct tr_ctx {
	struct bpf_object *obj;
	struct tr_prog progs[TR_MAX_PROGS]; /* [0]: the empty program */
	int nprogs;
	__u32 repeat;
	int runs;
	int verbose;
	__u32 untracked; /* -u: the object's nf_count_untracked */
};

/* libbpf's print callback has no context pointer: -v is the one file-static. */
static int tr_libbpf_verbose;

static int tr_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG || (level == LIBBPF_INFO && !tr_libbpf_verbose))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static void tr_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void tr_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("Error: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static const char *tr_strerror(int err)
{
	return err == TR_ENOTSUPP ? "ENOTSUPP (524): no test_run for this program type" :
				    strerror(err);
}

/* The hook of a natwho program, from its section name. */
static int tr_hook_of(const struct bpf_program *prog)
{
	return strstr(bpf_program__section_name(prog), "local_in") ? NF_INET_LOCAL_IN :
								     NF_INET_POST_ROUTING;
}

static int tr_load_empty(struct tr_prog *p)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = NF_ACCEPT },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = NW_BPF_NETFILTER);

	snprintf(p->name, sizeof(p->name), "empty");
	p->hook = NF_INET_POST_ROUTING;
	p->fd = bpf_prog_load((enum bpf_prog_type)NW_BPF_PROG_TYPE_NETFILTER, "nw_empty", "GPL",
			      insns, sizeof(insns) / sizeof(insns[0]), &opts);
	return p->fd < 0 ? -errno : 0;
}

/* Open and load @path; each program of a hook ("netfilter/" section) becomes one to measure. */
static int tr_load_object(struct tr_ctx *tr, const char *path)
{
	struct bpf_program *prog;
	struct bpf_map *map;
	__u32 *conn_id, *untracked;
	int err;

	tr->obj = bpf_object__open_file(path, NULL);
	if (!tr->obj) {
		err = -errno;
		tr_err("cannot open %s: %s (run make)", path, strerror(-err));
		return err;
	}
	bpf_object__for_each_program(prog, tr->obj) {
		/* the hooks' programs only: not nw_flush, run by natwho per
		 * tick and per CPU, never per packet */
		if (strncmp(bpf_program__section_name(prog), "netfilter/", 10)) {
			bpf_program__set_autoload(prog, false);
			continue;
		}
		err = nf_compat__set_type(prog);
		if (err) {
			tr_err("%s: cannot set the program type: %s", bpf_program__name(prog),
			       strerror(-err));
			return err;
		}
	}
	/* As natwho sets it: the objects cast conntrack entries with it. */
	conn_id = bench_rodata_var(tr->obj, "nf_conn_btf_id", sizeof(*conn_id));
	if (conn_id) {
		err = nf_compat__conn_btf_id(conn_id);
		if (err) {
			tr_err("struct nf_conn in vmlinux BTF: %s", strerror(-err));
			return err;
		}
	}
	/* An established packet's path (natwho's is the same and one compare
	 * more), unless -u: a packet's where conntrack does not run. */
	untracked = bench_rodata_var(tr->obj, "nf_count_untracked", sizeof(*untracked));
	if (untracked) {
		*untracked = tr->untracked;
	} else if (tr->untracked) {
		tr_err("-u: %s has no nf_count_untracked (built before it?)", path);
		return -ENOENT;
	}
	/* As natwho without --cgroup / --children: the hash maps shrink to one
	 * entry (they are not used on the established path). */
	bpf_object__for_each_map(map, tr->obj) {
		enum bpf_map_type type = bpf_map__type(map);

		if (type == BPF_MAP_TYPE_HASH || type == BPF_MAP_TYPE_LRU_HASH)
			bpf_map__set_max_entries(map, 1);
	}
	err = bpf_object__load(tr->obj);
	if (err) {
		tr_err("cannot load %s: %s", path, strerror(-err));
		return err;
	}
	bpf_object__for_each_program(prog, tr->obj) {
		struct tr_prog *p = &tr->progs[tr->nprogs];

		if (tr->nprogs == TR_MAX_PROGS)
			break;
		if (!bpf_program__autoload(prog))
			continue;
		snprintf(p->name, sizeof(p->name), "%s", bpf_program__name(prog));
		p->fd = bpf_program__fd(prog);
		p->hook = tr_hook_of(prog);
		tr->nprogs++;
	}
	if (tr->nprogs > 1)
		return 0;
	tr_err("%s holds no program", path);
	return -ENOENT;
}

/* Ethernet + IPv4 + TCP ACK, 10.96.0.100:80 <- 10.224.9.2:8080 (no conntrack). */
static void tr_packet(unsigned char *pkt, size_t len)
{
	static const unsigned char hdr[] = {
		/* Ethernet: dst, src, ETH_P_IP */
		0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02, 0x08, 0x00,
		/* IPv4: version/IHL, tos, total length 40, id, DF, ttl 64, TCP, csum */
		0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0,
		10, 224, 9, 2, 10, 96, 0, 100,
		/* TCP: ports 8080 -> 80, seq, ack, data offset 5, ACK, window */
		0x1f, 0x90, 0, 80, 0, 0, 0, 1, 0, 0, 0, 1, 0x50, 0x10, 0x01, 0xf5,
		0, 0, 0, 0,
	};

	memset(pkt, 0, len);
	memcpy(pkt, hdr, sizeof(hdr) < len ? sizeof(hdr) : len);
}

static double tr_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* One BPF_PROG_TEST_RUN call of @p (run @run); 0 or -errno. */
static int tr_run_one(const struct tr_ctx *tr, struct tr_prog *p, int run)
{
	unsigned char pkt[54];
	struct tr_hook_state state = { .hook = (__u8)p->hook, .pf = NFPROTO_IPV4 };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt, .data_size_in = sizeof(pkt),
		    .ctx_in = &state, .ctx_size_in = sizeof(state), .repeat = (int)tr->repeat);
	double t0;
	int err;

	tr_packet(pkt, sizeof(pkt));
	t0 = tr_now_ns();
	err = bpf_prog_test_run_opts(p->fd, &opts);
	if (err)
		return -errno;
	p->wall[run] = (tr_now_ns() - t0) / tr->repeat;
	p->ns[run] = opts.duration;
	p->retval = opts.retval;
	return 0;
}

static int tr_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Median, min and max of @n values. */
static void tr_stats(const double *v, int n, double *med, double *min, double *max)
{
	double s[TR_MAX_RUNS];

	memcpy(s, v, (size_t)n * sizeof(*v));
	qsort(s, (size_t)n, sizeof(*s), tr_cmp_double);
	*med = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	*min = s[0];
	*max = s[n - 1];
}

/* Median, min and max of @p's kernel figures; minimum of its wall figures. */
static void tr_prog_stats(const struct tr_ctx *tr, const struct tr_prog *p, double ns[3],
			  double *wall)
{
	double v[TR_MAX_RUNS], med, hi;

	for (int r = 0; r < tr->runs; r++)
		v[r] = p->ns[r];
	tr_stats(v, tr->runs, &ns[0], &ns[1], &ns[2]);
	tr_stats(p->wall, tr->runs, &med, wall, &hi);
}

static void tr_report(const struct tr_ctx *tr)
{
	double ns[3], wall, empty[3], empty_wall;

	for (int i = 0; i < tr->nprogs; i++) {
		const struct tr_prog *p = &tr->progs[i];

		tr_prog_stats(tr, p, ns, &wall);
		printf("prog=%s hook=%s repeat=%u runs=%d median_ns=%.1f min_ns=%.0f max_ns=%.0f "
		       "wall_ns=%.2f retval=%u\n",
		       p->name, p->hook == NF_INET_LOCAL_IN ? "local_in" : "post_routing",
		       tr->repeat, tr->runs, ns[0], ns[1], ns[2], wall, p->retval);
	}
	tr_prog_stats(tr, &tr->progs[0], empty, &empty_wall);
	for (int i = 1; i < tr->nprogs; i++) {
		const struct tr_prog *p = &tr->progs[i];

		tr_prog_stats(tr, p, ns, &wall);
		printf("prog=%s minus_empty_ns=%.1f wall_minus_empty_ns=%.2f "
		       "paired_wall_minus_empty_ns=",
		       p->name, ns[0] - empty[0], wall - empty_wall);
		for (int r = 0; r < tr->runs; r++)
			printf("%s%.2f", r ? "," : "", p->wall[r] - tr->progs[0].wall[r]);
		putchar('\n');
	}
}

/* RUNS rounds; round r starts at program r (mod nprogs).  0, -errno, or 1
 * when the kernel cannot test-run netfilter programs (reported). */
static int tr_measure(struct tr_ctx *tr)
{
	int err;

	for (int r = 0; r < tr->runs; r++) {
		for (int k = 0; k < tr->nprogs; k++) {
			struct tr_prog *p = &tr->progs[(k + r) % tr->nprogs];

			err = tr_run_one(tr, p, r);
			if (err == -TR_ENOTSUPP || err == -EOPNOTSUPP || err == -EINVAL ||
			    err == -EPROTO) {
				printf("unsupported: BPF_PROG_TEST_RUN of a netfilter program (%s): "
				       "%s\n", p->name, tr_strerror(-err));
				return 1;
			}
			if (err) {
				tr_err("BPF_PROG_TEST_RUN of %s: %s", p->name, tr_strerror(-err));
				return err;
			}
		}
	}
	return 0;
}

static int tr_stats_enabled(void)
{
	FILE *f = fopen("/proc/sys/kernel/bpf_stats_enabled", "r");
	int on = -1;

	if (f) {
		if (fscanf(f, "%d", &on) != 1)
			on = -1;
		fclose(f);
	}
	return on;
}

static int tr_parse_args(struct tr_ctx *tr, int argc, char **argv, const char **path)
{
	char *end;
	long v;
	int opt;

	while ((opt = getopt(argc, argv, "uvn:r:")) != -1) {
		if (opt == 'v') {
			tr->verbose = 1;
			continue;
		}
		if (opt == 'u') {
			tr->untracked = 1;
			continue;
		}
		if (opt != 'n' && opt != 'r')
			return -1;
		errno = 0;
		v = strtol(optarg, &end, 10);
		if (errno || end == optarg || *end || v < 1 ||
		    v > (opt == 'n' ? 2000000000L : TR_MAX_RUNS))
			return -1;
		if (opt == 'n')
			tr->repeat = (__u32)v;
		else
			tr->runs = (int)v;
	}
	if (argc - optind > 1)
		return -1;
	*path = optind < argc ? argv[optind] : "build/nf.bpf.o";
	return 0;
}

static int tr_main(struct tr_ctx *tr, const char *path)
{
	int err, stats = tr_stats_enabled();

	err = tr_load_empty(&tr->progs[0]);
	tr->nprogs = 1;
	if (err == -EINVAL) {
		printf("unsupported: the kernel rejects BPF_PROG_TYPE_NETFILTER programs "
		       "(Linux >= 6.4 needed): %s\n", strerror(-err));
		return TR_EXIT_UNSUPPORTED;
	}
	if (err) {
		tr_err("cannot load the empty netfilter program: %s (run as root)", strerror(-err));
		return 1;
	}
	if (tr_load_object(tr, path))
		return 1;
	if (stats != 0)
		fprintf(stderr, "nf-testrun: warning: kernel.bpf_stats_enabled is %d: the figures "
				"include its accounting\n", stats);
	printf("nf-testrun: object %s, %d programs + empty, repeat %u x %d interleaved runs, "
	       "bpf_stats_enabled=%d, %s\n", path, tr->nprogs - 1, tr->repeat, tr->runs, stats,
	       tr->untracked ? "a packet without conntrack (-u)" : "an established packet");
	err = tr_measure(tr);
	if (err)
		return err > 0 ? TR_EXIT_UNSUPPORTED : 1;
	tr_report(tr);
	return 0;
}

int main(int argc, char **argv)
{
	struct tr_ctx tr = { .repeat = 10000000, .runs = 7 };
	const char *path;
	int rc;

	if (tr_parse_args(&tr, argc, argv, &path)) {
		fprintf(stderr, "usage: nf-testrun [-v] [-u] [-n REPEAT] [-r RUNS 1-%d] [OBJECT]\n",
			TR_MAX_RUNS);
		return 2;
	}
	tr_libbpf_verbose = tr.verbose;
	libbpf_set_print(tr_libbpf_print);
	for (int i = 0; i < TR_MAX_PROGS; i++)
		tr.progs[i].fd = -1;
	rc = tr_main(&tr, path);
	if (tr.progs[0].fd >= 0)
		close(tr.progs[0].fd);
	bpf_object__close(tr.obj);
	return rc;
}
