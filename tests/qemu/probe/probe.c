// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * probe: the QEMU harness's self-test of kprobe/kretprobe/fexit on
 * __nf_conntrack_confirm.  Each kind is opened, loaded and attached on its
 * own (a kernel may allow one and refuse another), then CMD runs once to make
 * traffic, then one line per kind says what was seen:
 *
 *   kind=fexit load=ok attach=ok calls=1 hits=1 verdict=1 \
 *     orig=10.1.0.2:40000->10.96.0.10:80 reply=10.2.0.2:8080->10.1.0.2:40000 netns=4026532
 *
 * Exit status: 0 when every selected kind loaded, attached and saw the
 * conntrack under test; 1 otherwise; 2 on a usage error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "probe.h"
#include "probe.skel.h"

static const char *const kind_names[PROBE_NKINDS] = {
	[PROBE_KPROBE] = "kprobe",
	[PROBE_KRETPROBE] = "kretprobe",
	[PROBE_FEXIT] = "fexit",
};

struct probe_run {
	struct probe_bpf *skel[PROBE_NKINDS];
	struct bpf_link *link[PROBE_NKINDS];
	int load_err[PROBE_NKINDS];
	int attach_err[PROBE_NKINDS];
	unsigned int kinds;	/* bit per enum probe_kind */
	__u16 dport;
	int verbose;
};

static int probe_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && !getenv("PROBE_DEBUG"))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static struct bpf_program *probe_prog(struct probe_bpf *skel, int kind)
{
	switch (kind) {
	case PROBE_KPROBE:
		return skel->progs.confirm_enter;
	case PROBE_KRETPROBE:
		return skel->progs.confirm_return;
	default:
		return skel->progs.confirm_exit;
	}
}

/* Open and load @kind's program alone; on success keep its skeleton. */
static int probe_load(struct probe_run *run, int kind)
{
	struct probe_bpf *skel;
	int i, err;

	skel = probe_bpf__open();
	if (!skel)
		return -errno;
	for (i = 0; i < PROBE_NKINDS; i++)
		bpf_program__set_autoload(probe_prog(skel, i), i == kind);
	skel->rodata->match_dport = run->dport;
	err = probe_bpf__load(skel);
	if (err)
		goto cleanup;
	run->skel[kind] = skel;
	return 0;
cleanup:
	probe_bpf__destroy(skel);
	return err;
}

static int probe_attach(struct probe_run *run, int kind)
{
	struct bpf_link *link;

	link = bpf_program__attach(probe_prog(run->skel[kind], kind));
	if (!link)
		return -errno;
	run->link[kind] = link;
	return 0;
}

/* Run @argv to completion; returns its exit status or a negative errno. */
static int probe_trigger(char **argv)
{
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		execvp(argv[0], argv);
		fprintf(stderr, "probe: exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void probe_format_tuple(char *buf, size_t len, const struct probe_tuple *t)
{
	char src[INET_ADDRSTRLEN], dst[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &t->saddr, src, sizeof(src));
	inet_ntop(AF_INET, &t->daddr, dst, sizeof(dst));
	snprintf(buf, len, "%s:%u->%s:%u", src, t->sport, dst, t->dport);
}

static const char *probe_errstr(int err)
{
	static char buf[64];

	if (!err)
		return "ok";
	snprintf(buf, sizeof(buf), "%s(%d)", strerror(-err), err);
	return buf;
}

/* Print @kind's line; returns 1 when it loaded, attached and saw a hit. */
static int probe_report(const struct probe_run *run, int kind)
{
	const struct probe_seen *s;
	char orig[64], reply[64];

	printf("kind=%s load=%s", kind_names[kind], probe_errstr(run->load_err[kind]));
	printf(" attach=%s", run->load_err[kind] ? "skipped" : probe_errstr(run->attach_err[kind]));
	if (!run->link[kind]) {
		printf("\n");
		return 0;
	}
	s = &run->skel[kind]->bss->seen[kind];
	printf(" calls=%llu hits=%llu", (unsigned long long)s->calls, (unsigned long long)s->hits);
	if (kind != PROBE_KPROBE)
		printf(" verdict=%lld", (long long)s->verdict);
	if (kind != PROBE_KRETPROBE && s->hits) {
		probe_format_tuple(orig, sizeof(orig), &s->orig);
		probe_format_tuple(reply, sizeof(reply), &s->reply);
		printf(" orig=%s reply=%s netns=%u status=0x%llx", orig, reply, s->netns,
		       (unsigned long long)s->status);
	}
	printf("\n");
	return s->hits > 0;
}

static int probe_parse_kinds(const char *arg, unsigned int *kinds)
{
	char *copy = strdup(arg), *tok, *save = NULL;
	int i, err = 0;

	if (!copy)
		return -ENOMEM;
	*kinds = 0;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < PROBE_NKINDS && strcmp(tok, kind_names[i]); i++)
			;
		if (i == PROBE_NKINDS) {
			err = -EINVAL;
			break;
		}
		*kinds |= 1u << i;
	}
	free(copy);
	return err ? err : (*kinds ? 0 : -EINVAL);
}

static void probe_usage(FILE *f)
{
	fprintf(f, "usage: probe [-p DPORT] [-k kprobe,kretprobe,fexit] -- CMD [ARG...]\n"
		   "  -p DPORT  record only TCP/IPv4 conntracks to this original port\n"
		   "  -k KINDS  probe kinds to test (default: all)\n"
		   "  PROBE_DEBUG=1 in the environment shows libbpf's debug log\n");
}

static int probe_parse_args(struct probe_run *run, int argc, char **argv)
{
	unsigned long port;
	char *end;
	int opt;

	run->kinds = (1u << PROBE_NKINDS) - 1;
	while ((opt = getopt(argc, argv, "+p:k:h")) != -1) {
		switch (opt) {
		case 'p':
			errno = 0;
			port = strtoul(optarg, &end, 10);
			if (errno || !*optarg || *end || !port || port > 65535)
				return -EINVAL;
			run->dport = port;
			break;
		case 'k':
			if (probe_parse_kinds(optarg, &run->kinds))
				return -EINVAL;
			break;
		default:
			return -EINVAL;
		}
	}
	return optind < argc ? optind : -EINVAL;
}

int main(int argc, char **argv)
{
	struct probe_run run = {};
	int i, first, rc, ok = 1;

	first = probe_parse_args(&run, argc, argv);
	if (first < 0) {
		probe_usage(stderr);
		return 2;
	}
	libbpf_set_print(probe_libbpf_print);
	for (i = 0; i < PROBE_NKINDS; i++) {
		if (!(run.kinds & (1u << i)))
			continue;
		run.load_err[i] = probe_load(&run, i);
		if (!run.load_err[i])
			run.attach_err[i] = probe_attach(&run, i);
	}
	rc = probe_trigger(argv + first);
	printf("trigger=%s rc=%d\n", argv[first], rc);
	if (rc)
		ok = 0;
	for (i = 0; i < PROBE_NKINDS; i++) {
		if (run.kinds & (1u << i))
			ok &= probe_report(&run, i);
		bpf_link__destroy(run.link[i]);
		probe_bpf__destroy(run.skel[i]);
	}
	return ok ? 0 : 1;
}
