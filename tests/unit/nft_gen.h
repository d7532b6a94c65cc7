/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What `nft -j list table ip kube-proxy` prints on a node of @nsvc Services
 * of @nep endpoints each (kube-proxy's nftables mode): the layout and names
 * of tests/fixtures/k8s/nft-kube-proxy.json, the service-ips verdict map, a
 * service-... chain per Service (a numgen vmap over its endpoints) and an
 * endpoint-... chain per endpoint (masquerade mark, dnat).  5,000 x 4 is
 * about 21 MB.  For tests/bench/bench_nftjson.c and test_k8s_bad's memory
 * check.
 */
#ifndef NATWHO_NFT_GEN_H
#define NATWHO_NFT_GEN_H

#include <stdbool.h>
#include <stdio.h>
#include "tbuf.h"

#define NFTGEN_T "\"family\": \"ip\", \"table\": \"kube-proxy\""

/* kube-proxy's names: service-HASH-ns/name/tcp/port, endpoint-HASH-...__ip/port */
static void nftgen_svc_chain(char *s, size_t n, unsigned i)
{
	snprintf(s, n, "service-%08X-ns-%u/svc-%u/tcp/http", i * 2654435761u, i % 100, i);
}

static void nftgen_ep_ip(char *s, size_t n, unsigned i, unsigned e)
{
	unsigned k = i * 8 + e;

	snprintf(s, n, "10.%u.%u.%u", 128 + (k >> 16) % 64, (k >> 8) & 255, k & 255);
}

static void nftgen_ep_chain(char *s, size_t n, unsigned i, unsigned e)
{
	char ip[32];

	nftgen_ep_ip(ip, sizeof(ip), i, e);
	snprintf(s, n, "endpoint-%08X-ns-%u/svc-%u/tcp/http__%s/8080", (i * 8 + e) * 40503u,
		 i % 100, i, ip);
}

/* kube-proxy's sets and maps: ClusterIPs, node addresses, service-ips */
static void nftgen_sets(struct tbuf *b, unsigned nsvc)
{
	char c[160];

	tbuf_printf(b, ", {\"set\": {" NFTGEN_T ", \"name\": \"cluster-ips\", \"type\": \"ipv4_addr\", "
		      "\"handle\": 1, \"comment\": \"Active ClusterIPs\", \"elem\": [");
	for (unsigned i = 0; i < nsvc; i++)
		tbuf_printf(b, "%s\"10.96.%u.%u\"", i ? ", " : "", i / 250, i % 250 + 1);
	tbuf_printf(b, "]}}, {\"set\": {" NFTGEN_T ", \"name\": \"nodeport-ips\", \"type\": \"ipv4_addr\", "
		      "\"handle\": 2, \"elem\": [\"192.168.56.12\"]}}");
	tbuf_printf(b, ", {\"map\": {" NFTGEN_T ", \"name\": \"service-ips\", \"type\": [\"ipv4_addr\", "
		      "\"inet_proto\", \"inet_service\"], \"handle\": 3, \"map\": \"verdict\", "
		      "\"elem\": [");
	for (unsigned i = 0; i < nsvc; i++) {
		nftgen_svc_chain(c, sizeof(c), i);
		tbuf_printf(b, "%s[{\"concat\": [\"10.96.%u.%u\", \"tcp\", 80]}, {\"goto\": "
			      "{\"target\": \"%s\"}}]",
			   i ? ", " : "", i / 250, i % 250 + 1, c);
	}
	tbuf_printf(b, "]}}, {\"map\": {" NFTGEN_T ", \"name\": \"no-endpoint-services\", \"type\": "
		      "[\"ipv4_addr\", \"inet_proto\", \"inet_service\"], \"handle\": 4, "
		      "\"map\": \"verdict\"}}");
}

/* Its chains: the base chains, then each endpoint's and each Service's. */
static void nftgen_chains(struct tbuf *b, unsigned nsvc, unsigned nep, unsigned *hp)
{
	char c[160];
	unsigned h = *hp;

	tbuf_printf(b, ", {\"chain\": {" NFTGEN_T ", \"name\": \"mark-for-masquerade\", \"handle\": 5}}"
		      ", {\"chain\": {" NFTGEN_T ", \"name\": \"nat-prerouting\", \"handle\": 6, "
		      "\"type\": \"nat\", \"hook\": \"prerouting\", \"prio\": -100, "
		      "\"policy\": \"accept\"}}"
		      ", {\"chain\": {" NFTGEN_T ", \"name\": \"nat-output\", \"handle\": 7, "
		      "\"type\": \"nat\", \"hook\": \"output\", \"prio\": -100, "
		      "\"policy\": \"accept\"}}"
		      ", {\"chain\": {" NFTGEN_T ", \"name\": \"services\", \"handle\": 8}}");
	for (unsigned i = 0; i < nsvc; i++) {
		for (unsigned e = 0; e < nep; e++) {
			nftgen_ep_chain(c, sizeof(c), i, e);
			tbuf_printf(b, ", {\"chain\": {" NFTGEN_T ", \"name\": \"%s\", \"handle\": %u}}", c,
				   h++);
		}
		nftgen_svc_chain(c, sizeof(c), i);
		tbuf_printf(b, ", {\"chain\": {" NFTGEN_T ", \"name\": \"%s\", \"handle\": %u}}", c, h++);
	}
	*hp = h;
}

/* @load_order: the chains before the maps whose verdicts name them, as
 * `nft -j -f` needs them; else in the order nft lists them (sets first). */
static void nftgen_kube_proxy(struct tbuf *b, unsigned nsvc, unsigned nep, bool load_order)
{
	char c[160], ip[32];
	unsigned h = 100;

	tbuf_printf(b, "{\"nftables\": [{\"metainfo\": {\"version\": \"1.0.6\", \"release_name\": "
		      "\"Lester Gooch #5\", \"json_schema_version\": 1}}, "
		      "{\"table\": {\"family\": \"ip\", \"name\": \"kube-proxy\", \"handle\": 3}}");
	if (load_order)
		nftgen_chains(b, nsvc, nep, &h);
	nftgen_sets(b, nsvc);
	if (!load_order)
		nftgen_chains(b, nsvc, nep, &h);
	tbuf_printf(b, ", {\"rule\": {" NFTGEN_T ", \"chain\": \"mark-for-masquerade\", \"handle\": %u, "
		      "\"expr\": [{\"mangle\": {\"key\": {\"meta\": {\"key\": \"mark\"}}, "
		      "\"value\": {\"|\": [{\"meta\": {\"key\": \"mark\"}}, 16384]}}}]}}",
		   h++);
	tbuf_printf(b, ", {\"rule\": {" NFTGEN_T ", \"chain\": \"nat-prerouting\", \"handle\": %u, "
		      "\"expr\": [{\"jump\": {\"target\": \"services\"}}]}}"
		      ", {\"rule\": {" NFTGEN_T ", \"chain\": \"nat-output\", \"handle\": %u, "
		      "\"expr\": [{\"jump\": {\"target\": \"services\"}}]}}",
		   h, h + 1);
	h += 2;
	for (unsigned i = 0; i < nsvc; i++) {
		for (unsigned e = 0; e < nep; e++) {
			nftgen_ep_chain(c, sizeof(c), i, e);
			nftgen_ep_ip(ip, sizeof(ip), i, e);
			tbuf_printf(b,
				   ", {\"rule\": {" NFTGEN_T ", \"chain\": \"%s\", \"handle\": %u, \"expr\": "
				   "[{\"match\": {\"op\": \"==\", \"left\": {\"payload\": "
				   "{\"protocol\": \"ip\", \"field\": \"saddr\"}}, \"right\": \"%s\"}}, "
				   "{\"jump\": {\"target\": \"mark-for-masquerade\"}}]}}"
				   ", {\"rule\": {" NFTGEN_T ", \"chain\": \"%s\", \"handle\": %u, \"expr\": "
				   "[{\"match\": {\"op\": \"==\", \"left\": {\"meta\": {\"key\": "
				   "\"l4proto\"}}, \"right\": \"tcp\"}}, {\"dnat\": {\"addr\": \"%s\", "
				   "\"port\": 8080}}]}}",
				   c, h, ip, c, h + 1, ip);
			h += 2;
		}
		nftgen_svc_chain(c, sizeof(c), i);
		tbuf_printf(b,
			   ", {\"rule\": {" NFTGEN_T ", \"chain\": \"%s\", \"handle\": %u, \"expr\": "
			   "[{\"match\": {\"op\": \"==\", \"left\": {\"payload\": {\"protocol\": "
			   "\"ip\", \"field\": \"daddr\"}}, \"right\": \"10.96.%u.%u\"}}, "
			   "{\"match\": {\"op\": \"!=\", \"left\": {\"payload\": {\"protocol\": "
			   "\"ip\", \"field\": \"saddr\"}}, \"right\": {\"prefix\": {\"addr\": "
			   "\"10.128.0.0\", \"len\": 10}}}}, {\"jump\": {\"target\": "
			   "\"mark-for-masquerade\"}}]}}",
			   c, h++, i / 250, i % 250 + 1);
		tbuf_printf(b,
			   ", {\"rule\": {" NFTGEN_T ", \"chain\": \"%s\", \"handle\": %u, \"expr\": "
			   "[{\"vmap\": {\"key\": {\"numgen\": {\"mode\": \"random\", \"mod\": %u, "
			   "\"offset\": 0}}, \"data\": {\"set\": [",
			   c, h++, nep);
		for (unsigned e = 0; e < nep; e++) {
			nftgen_ep_chain(c, sizeof(c), i, e);
			tbuf_printf(b, "%s[%u, {\"goto\": {\"target\": \"%s\"}}]", e ? ", " : "", e, c);
		}
		tbuf_printf(b, "]}}}]}}");
	}
	tbuf_printf(b, ", {\"rule\": {" NFTGEN_T ", \"chain\": \"services\", \"handle\": %u, \"expr\": "
		      "[{\"vmap\": {\"key\": {\"concat\": [{\"payload\": {\"protocol\": \"ip\", "
		      "\"field\": \"daddr\"}}, {\"meta\": {\"key\": \"l4proto\"}}, {\"payload\": "
		      "{\"protocol\": \"th\", \"field\": \"dport\"}}]}, \"data\": "
		      "\"@service-ips\"}}]}}]}\n",
		   h);
}

#endif /* NATWHO_NFT_GEN_H */
