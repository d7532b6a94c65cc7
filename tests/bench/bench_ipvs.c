// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * What IPVS's table costs natwho on a big kube-proxy IPVS-mode node: a
 * /proc/net/ip_vs listing of N virtual services with R real servers each
 * (default 5,000 x 4, the kernel's own format), and per run, interleaved:
 *   - the hash natwho takes of every read (is it a new version?),
 *   - reading it into an empty index (a rebuild's share for this source),
 *   - kindex__annotate() per connection IPVS translated, with the table and
 *     kube-proxy's KUBE-CLUSTER-IP set, against the set alone (what natwho
 *     knew of such a node before it read the table): the lookups' price.
 * Prints the median and range of RUNS runs and the annotation ratio.  The
 * kernel's own cost of printing the file is not measured: this host has no
 * IPVS (the QEMU guests do, emulated).  Not a timed test: `make bench` runs
 * it, or by hand: build/bench/bench_ipvs [services real-servers]
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "kindex.h"
#include "../unit/tbuf.h"

#define RUNS 7
#define NCONNS 4096u
#define ANNOTATIONS 2000000u

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* Service s: 10.96.(s/250).(s%250+1):3306; its real server r:
 * 10.224.((s*R+r)/250 % 250).((s*R+r)%250+1):8080. */
static uint32_t svc_addr(unsigned s)
{
	return 0x0a600000u | (s / 250) << 8 | (s % 250 + 1);
}

static uint32_t rs_addr(unsigned s, unsigned r, unsigned nrs)
{
	unsigned i = s * nrs + r;

	return 0x0ae00000u | (i / 250 % 250) << 8 | (i % 250 + 1);
}

static void listing(struct tbuf *b, unsigned nsvc, unsigned nrs)
{
	tbuf_printf(b, "IP Virtual Server version 1.2.1 (size=4096)\n"
		       "Prot LocalAddress:Port Scheduler Flags\n"
		       "  -> RemoteAddress:Port Forward Weight ActiveConn InActConn\n");
	for (unsigned s = 0; s < nsvc; s++) {
		tbuf_printf(b, "TCP  %08X:0CEA rr  \n", svc_addr(s));
		for (unsigned r = 0; r < nrs; r++)
			tbuf_printf(b, "  -> %08X:1F90      Masq    1      %-10u %-10u\n",
				    rs_addr(s, r, nrs), (s + r) % 7, (s * r) % 13);
	}
}

/* `ipset save`'s KUBE-CLUSTER-IP for the same Services. */
static void cluster_ip_set(struct tbuf *b, unsigned nsvc)
{
	tbuf_printf(b, "create KUBE-CLUSTER-IP hash:ip,port family inet hashsize 1024 "
		       "maxelem 65536\n");
	for (unsigned s = 0; s < nsvc; s++) {
		uint32_t a = svc_addr(s);

		tbuf_printf(b, "add KUBE-CLUSTER-IP %u.%u.%u.%u,tcp:3306\n", a >> 24, a >> 16 & 255,
			    a >> 8 & 255, a & 255);
	}
}

static void make_conns(struct conn *c, unsigned nsvc, unsigned nrs)
{
	srand(29);
	for (unsigned i = 0; i < NCONNS; i++) {
		unsigned s = (unsigned)rand() % nsvc, r = (unsigned)rand() % nrs;
		uint32_t dst = htonl(svc_addr(s)), landed = htonl(rs_addr(s, r, nrs));

		memset(&c[i], 0, sizeof(c[i]));
		c[i].family = AF_INET;
		c[i].proto = IPPROTO_TCP;
		c[i].orig.src[0] = 10;
		c[i].orig.src[3] = (uint8_t)i;
		c[i].orig.sport = (uint16_t)(40000 + i);
		c[i].orig.dport = 3306;
		memcpy(c[i].orig.dst, &dst, 4);
		memcpy(c[i].landed.addr, &landed, 4);
		c[i].landed.port = 8080;
		c[i].dnat = true;
	}
}

static void add(struct kindex *idx, enum ksrc_kind kind, const struct tbuf *b)
{
	char err[512];

	if (kindex__add_source(idx, kind, ksrc_kind__str(kind), b->p, b->len, err, sizeof(err))) {
		fprintf(stderr, "bench_ipvs: %s\n", err);
		exit(1);
	}
}

/* The set, and with @table IPVS's table (the time it took in *@ms). */
static struct kindex *index_of(const struct tbuf *set, const struct tbuf *table, double *ms)
{
	struct kindex *idx = kindex__new();
	double t0;

	if (!idx) {
		fprintf(stderr, "bench_ipvs: out of memory\n");
		exit(1);
	}
	add(idx, KSRC_IPSET_SAVE, set);
	t0 = now_ns();
	if (table)
		add(idx, KSRC_IPVS, table);
	if (ms)
		*ms = (now_ns() - t0) / 1e6;
	return idx;
}

/* ns per annotation of the connections, and how many were OK. */
static double annotate(const struct kindex *idx, const struct conn *c, unsigned *ok)
{
	struct k8s_annot a;
	double t0 = now_ns();

	*ok = 0;
	for (unsigned i = 0; i < ANNOTATIONS; i++) {
		kindex__annotate(idx, &c[i % NCONNS], &a);
		*ok += a.verdict == K8S_VERDICT_OK;
	}
	return (now_ns() - t0) / ANNOTATIONS;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void report(const char *what, double *v, const char *unit)
{
	qsort(v, RUNS, sizeof(*v), cmp_double);
	printf("%-44s %9.2f %s (%.2f-%.2f)\n", what, v[RUNS / 2], unit, v[0], v[RUNS - 1]);
}

int main(int argc, char **argv)
{
	unsigned nsvc = argc > 1 ? (unsigned)atoi(argv[1]) : 5000;
	unsigned nrs = argc > 2 ? (unsigned)atoi(argv[2]) : 4;
	double hash[RUNS], parse[RUNS], with[RUNS], without[RUNS], ratio[RUNS];
	static struct conn conns[NCONNS];
	struct tbuf b = { 0 }, set = { 0 };
	unsigned ok = 0, ok_none = 0;
	volatile uint64_t sink = 0;

	if (!nsvc || !nrs || nsvc > 62500 || nrs > 64) {
		fprintf(stderr, "usage: bench_ipvs [SERVICES (1-62500) REAL-SERVERS (1-64)]\n");
		return 2;
	}
	listing(&b, nsvc, nrs);
	cluster_ip_set(&set, nsvc);
	make_conns(conns, nsvc, nrs);
	printf("IPVS table: %u virtual services x %u real servers, %.1f KiB of /proc/net/ip_vs; "
	       "%d interleaved runs, median (min-max)\n", nsvc, nrs, b.len / 1024.0, RUNS);
	for (int r = 0; r < RUNS; r++) {
		struct kindex *idx, *none = index_of(&set, NULL, NULL);
		double t0 = now_ns();

		sink += ksrc__hash(KSRC_IPVS, b.p, b.len);
		hash[r] = (now_ns() - t0) / 1e6;
		idx = index_of(&set, &b, &parse[r]);
		if (r % 2) { /* each first in turn */
			with[r] = annotate(idx, conns, &ok);
			without[r] = annotate(none, conns, &ok_none);
		} else {
			without[r] = annotate(none, conns, &ok_none);
			with[r] = annotate(idx, conns, &ok);
		}
		ratio[r] = with[r] / without[r];
		kindex__free(idx);
		kindex__free(none);
	}
	report("hash of a read (is it a new version?)", hash, "ms");
	report("read into an index (over the set)", parse, "ms");
	report("annotation, set and table", with, "ns");
	report("annotation, the set alone", without, "ns");
	report("ratio", ratio, "x");
	printf("connections OK by the table: %u of %u (with the set alone: %u)\n", ok,
	       ANNOTATIONS, ok_none);
	free(b.p);
	free(set.p);
	return ok == ANNOTATIONS && !ok_none && sink ? 0 : 1;
}
