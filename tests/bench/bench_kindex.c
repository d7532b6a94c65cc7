// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * How much kindex__annotate() costs per event on a big cluster: synthesise a
 * 5,000-pod / 2,000-Service snapshot (with EndpointSlices) and the matching
 * kube-proxy iptables-mode ruleset with a few portmap hostPorts, then
 * annotate a mix of connections (endpoint hits, hostPort hijacks, NodePorts,
 * pod-to-pod, unknown addresses) and print the median ns per annotation of
 * several runs.  Not a timed test: run it by hand.
 *
 * Build (links the pure modules; no BPF):
 *   cc -O2 -std=gnu11 -D_GNU_SOURCE -Iinclude -Isrc tests/bench/bench_kindex.c \
 *      src/kindex.c src/k8s_*.c src/ruleset_*.c src/out.c src/parse.c src/decode.c \
 *      -ljson-c -o build/bench_kindex
 * Run: build/bench_kindex [pods services [map-elements]]
 * With map-elements, also an nftables table of the operator's own port
 * forwards, `dnat ip to ip daddr map { 10.100.0.0 : 10.224.0.0, ... }`, of
 * that many elements: the events that no rule explains (a quarter) look
 * through its rules.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "kindex.h"
#include "../unit/tbuf.h"

#define RUNS 9
#define EVENTS_PER_RUN 2000000u
#define NCONNS 4096u
#define HOSTPORTS 20

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* Pod i: 10.224.(i/250).(i%250+1); Service s: 10.96.(s/250).(s%250+1). */
static void pod_ip(unsigned i, char *s, size_t n)
{
	snprintf(s, n, "10.224.%u.%u", i / 250, i % 250 + 1);
}

static void svc_ip(unsigned i, char *s, size_t n)
{
	snprintf(s, n, "10.96.%u.%u", i / 250, i % 250 + 1);
}

static void snapshot_pods(struct tbuf *b, unsigned npods)
{
	for (unsigned i = 0; i < npods; i++) {
		char ip[32];

		pod_ip(i, ip, sizeof(ip));
		tbuf_printf(b,
			   "%s{\"apiVersion\":\"v1\",\"kind\":\"Pod\","
			   "\"metadata\":{\"name\":\"app-%u\",\"namespace\":\"ns-%u\"},"
			   "\"spec\":{\"nodeName\":\"node-%u\",\"containers\":[{\"name\":\"c\","
			   "\"ports\":[{\"containerPort\":8080,\"protocol\":\"TCP\"%s}]}]},"
			   "\"status\":{\"phase\":\"Running\",\"hostIP\":\"192.168.0.%u\","
			   "\"podIP\":\"%s\",\"podIPs\":[{\"ip\":\"%s\"}]}}",
			   i ? "," : "", i, i % 100, i % 50,
			   i < HOSTPORTS ? ",\"hostPort\":9000" : "", i % 50 + 1, ip, ip);
	}
}

/* Service s has endpoints on pods s, s + nsvc, s + 2 * nsvc, ... */
static void snapshot_services(struct tbuf *b, unsigned npods, unsigned nsvc)
{
	for (unsigned s = 0; s < nsvc; s++) {
		char ip[32], ep[32], np[32] = "";

		svc_ip(s, ip, sizeof(ip));
		if (s % 4 == 0) /* every fourth Service also has a NodePort */
			snprintf(np, sizeof(np), ",\"nodePort\":%u", 30000 + s % 2768);
		tbuf_printf(b,
			   ",{\"apiVersion\":\"v1\",\"kind\":\"Service\","
			   "\"metadata\":{\"name\":\"svc-%u\",\"namespace\":\"ns-%u\"},"
			   "\"spec\":{\"type\":\"%s\",\"clusterIP\":\"%s\",\"clusterIPs\":[\"%s\"],"
			   "\"ports\":[{\"name\":\"http\",\"port\":%u,\"protocol\":\"TCP\","
			   "\"targetPort\":8080%s}]}}",
			   s, s % 100, np[0] ? "NodePort" : "ClusterIP", ip, ip, 9000 + s % 7, np);
		tbuf_printf(b,
			   ",{\"apiVersion\":\"discovery.k8s.io/v1\",\"kind\":\"EndpointSlice\","
			   "\"metadata\":{\"name\":\"svc-%u-x\",\"namespace\":\"ns-%u\","
			   "\"labels\":{\"kubernetes.io/service-name\":\"svc-%u\"}},"
			   "\"addressType\":\"IPv4\",\"ports\":[{\"name\":\"http\",\"port\":8080,"
			   "\"protocol\":\"TCP\"}],\"endpoints\":[",
			   s, s % 100, s);
		for (unsigned p = s, k = 0; p < npods; p += nsvc, k++) {
			pod_ip(p, ep, sizeof(ep));
			tbuf_printf(b,
				   "%s{\"addresses\":[\"%s\"],\"conditions\":{\"ready\":true},"
				   "\"targetRef\":{\"kind\":\"Pod\",\"namespace\":\"ns-%u\","
				   "\"name\":\"app-%u\"}}",
				   k ? "," : "", ep, p % 100, p);
		}
		tbuf_printf(b, "]}");
	}
}

/* kube-proxy iptables mode for those Services, portmap hooked ahead. */
static void ruleset(struct tbuf *b, unsigned npods, unsigned nsvc)
{
	tbuf_printf(b, "*nat\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
		      ":KUBE-SERVICES - [0:0]\n:CNI-HOSTPORT-DNAT - [0:0]\n"
		      "-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT\n"
		      "-A PREROUTING -m comment --comment \"kubernetes service portals\" "
		      "-j KUBE-SERVICES\n");
	for (unsigned s = 0; s < nsvc; s++) {
		char ip[32], ep[32];

		svc_ip(s, ip, sizeof(ip));
		tbuf_printf(b,
			   ":KUBE-SVC-%u - [0:0]\n-A KUBE-SERVICES -m comment --comment "
			   "\"ns-%u/svc-%u:http cluster IP\" -m tcp -p tcp -d %s --dport %u "
			   "-j KUBE-SVC-%u\n",
			   s, s % 100, s, ip, 9000 + s % 7, s);
		for (unsigned p = s; p < npods; p += nsvc) {
			pod_ip(p, ep, sizeof(ep));
			tbuf_printf(b,
				   ":KUBE-SEP-%u - [0:0]\n-A KUBE-SVC-%u -m statistic --mode "
				   "random --probability 0.5 -j KUBE-SEP-%u\n-A KUBE-SEP-%u -m tcp "
				   "-p tcp -j DNAT --to-destination %s:8080\n",
				   p, s, p, p, ep);
		}
	}
	for (unsigned h = 0; h < HOSTPORTS; h++) {
		char ep[32];

		pod_ip(h, ep, sizeof(ep));
		tbuf_printf(b,
			   ":CNI-DN-%u - [0:0]\n-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "
			   "\"dnat name: \\\"cbr0\\\" id: \\\"sandbox%u\\\"\" -m multiport "
			   "--dports %u -j CNI-DN-%u\n-A CNI-DN-%u -p tcp -m tcp --dport %u "
			   "-j DNAT --to-destination %s:8080\n",
			   h, h, 9000 + h % 7, h, h, 9000 + h % 7, ep);
	}
	tbuf_printf(b, "COMMIT\n");
}

static void add(struct kindex *idx, enum ksrc_kind kind, const char *name, const struct tbuf *b)
{
	char err[512];
	double t0 = now_ns();

	if (kindex__add_source(idx, kind, name, b->p, b->len, err, sizeof(err))) {
		fprintf(stderr, "bench_kindex: %s\n", err);
		exit(1);
	}
	printf("parsed %-10s %8.1f KiB in %7.1f ms\n", name, b->len / 1024.0,
	       (now_ns() - t0) / 1e6);
}

/* Events: hits on endpoints, hostPort hijacks, pod-to-pod, unknown. */
static void make_conns(struct conn *c, unsigned npods, unsigned nsvc)
{
	srand(42);
	for (unsigned i = 0; i < NCONNS; i++) {
		unsigned s = (unsigned)rand() % nsvc, p = s, kind = i % 4;
		char src[32], dst[32], landed[32];

		pod_ip((unsigned)rand() % npods, src, sizeof(src));
		svc_ip(s, dst, sizeof(dst));
		pod_ip(p, landed, sizeof(landed));
		memset(&c[i], 0, sizeof(c[i]));
		c[i].family = AF_INET;
		c[i].proto = IPPROTO_TCP;
		c[i].orig.sport = 40000;
		c[i].orig.dport = 9000 + s % 7;
		c[i].landed.port = 8080;
		if (kind == 1) /* hijacked by the hostPort of pod (s % HOSTPORTS) */
			pod_ip(s % HOSTPORTS, landed, sizeof(landed));
		if (kind == 2) /* pod to pod, no translation */
			strcpy(dst, landed);
		if (kind == 3) /* nothing known */
			strcpy(dst, "198.51.100.7");
		inet_pton(AF_INET, src, c[i].orig.src);
		inet_pton(AF_INET, dst, c[i].orig.dst);
		inet_pton(AF_INET, landed, c[i].landed.addr);
		if (kind == 2)
			c[i].landed.port = c[i].orig.dport;
		c[i].dnat = kind != 2;
	}
}

/* An nft table with a DNAT map of @n elements keyed by address. */
static void nft_map(struct tbuf *b, unsigned n)
{
	tbuf_printf(b, "{\"nftables\": [{\"table\": {\"family\": \"ip\", \"name\": \"fwd\"}}, "
		      "{\"chain\": {\"family\": \"ip\", \"table\": \"fwd\", \"name\": \"pre\", "
		      "\"type\": \"nat\", \"hook\": \"prerouting\", \"prio\": -100}}, "
		      "{\"rule\": {\"family\": \"ip\", \"table\": \"fwd\", \"chain\": \"pre\", "
		      "\"expr\": [{\"dnat\": {\"addr\": {\"map\": {\"key\": {\"payload\": "
		      "{\"protocol\": \"ip\", \"field\": \"daddr\"}}, \"data\": {\"set\": [");
	for (unsigned i = 0; i < n; i++)
		tbuf_printf(b, "%s[\"10.%u.%u.%u\", \"10.224.%u.%u\"]", i ? ", " : "",
			    100 + i / 65536 % 100, i / 256 % 256, i % 256, i / 256 % 256, i % 256);
	tbuf_printf(b, "]}}}}}]}}]}");
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	unsigned npods = argc > 2 ? (unsigned)atoi(argv[1]) : 5000;
	unsigned nsvc = argc > 2 ? (unsigned)atoi(argv[2]) : 2000;
	unsigned nmap = argc > 3 ? (unsigned)atoi(argv[3]) : 0;
	struct tbuf snap = { 0 }, rules = { 0 }, map = { 0 };
	struct kindex *idx = kindex__new();
	static struct conn conns[NCONNS];
	double runs[RUNS];
	unsigned verdicts[3] = { 0 };

	if (!idx || !npods || !nsvc || nsvc > npods) {
		fprintf(stderr, "usage: bench_kindex [pods services [map-elements]]\n");
		return 2;
	}
	tbuf_printf(&snap, "{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[");
	snapshot_pods(&snap, npods);
	snapshot_services(&snap, npods, nsvc);
	tbuf_printf(&snap, "]}");
	ruleset(&rules, npods, nsvc);
	add(idx, KSRC_SNAPSHOT, "snapshot", &snap);
	add(idx, KSRC_IPTABLES_SAVE, "ruleset", &rules);
	if (nmap) {
		nft_map(&map, nmap);
		add(idx, KSRC_NFT_JSON, "nft map", &map);
	}
	make_conns(conns, npods, nsvc);
	for (int r = 0; r < RUNS; r++) {
		double t0 = now_ns();

		for (unsigned i = 0; i < EVENTS_PER_RUN; i++) {
			struct k8s_annot a;

			kindex__annotate(idx, &conns[i % NCONNS], &a);
			if (r == 0 && i < NCONNS)
				verdicts[a.verdict]++;
			__asm__ volatile("" : : "r"(&a) : "memory");
		}
		runs[r] = (now_ns() - t0) / EVENTS_PER_RUN;
	}
	qsort(runs, RUNS, sizeof(runs[0]), cmp_double);
	printf("%u pods, %u services%s%.0u%s: kindex__annotate median %.1f ns/lookup "
	       "(min %.1f, max %.1f; %d runs of %u events)\n",
	       npods, nsvc, nmap ? ", a DNAT map of " : "", nmap, nmap ? " elements" : "",
	       runs[RUNS / 2], runs[0], runs[RUNS - 1], RUNS, EVENTS_PER_RUN);
	printf("verdicts of the %u distinct events: %u ok, %u mismatch, %u unknown\n", NCONNS,
	       verdicts[1], verdicts[2], verdicts[0]);
	kindex__free(idx);
	free(snap.p);
	free(rules.p);
	free(map.p);
	return 0;
}
