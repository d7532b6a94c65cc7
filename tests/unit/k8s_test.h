/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Helpers for the kindex unit tests: load the ruleset/snapshot fixtures of
 * tests/fixtures/k8s/ (node-2 of the incident cluster, see its README), and
 * build struct conn records the way decode would.  Tests run from the
 * repository root (tests/run.sh does); NW_K8S_FIXTURES overrides the path.
 */
#ifndef NW_TEST_K8S_H
#define NW_TEST_K8S_H

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kindex.h"

#define KT_FIXTURES "tests/fixtures/k8s/"

static inline const char *kt_path(const char *file, char *buf, size_t len)
{
	const char *dir = getenv("NW_K8S_FIXTURES");

	snprintf(buf, len, "%s%s%s", dir ? dir : KT_FIXTURES, dir ? "/" : "", file);
	return buf;
}

/* Fixture @file's text (malloc'ed, NUL-terminated), its length in *@len.
 * Not inlined: gcc's dangling-pointer check would take the text for the
 * local that ksrc__read() filled in. */
static __attribute__((noinline, unused)) char *kt_fixture(const char *file, size_t *len)
{
	char path[512], err[256], *data;

	kt_path(file, path, sizeof(path));
	if (ksrc__read(path, KSRC_MAX_BYTES, NULL, &data, len, err, sizeof(err)))
		fail_msg("%s", err);
	return data;
}

/* Every occurrence of @from in @s replaced by @to: a new string. */
static __attribute__((unused)) char *replaced(const char *s, const char *from, const char *to)
{
	size_t n = 0, fl = strlen(from), tl = strlen(to);
	char *out, *w;

	for (const char *p = strstr(s, from); p; p = strstr(p + fl, from))
		n++;
	out = malloc(strlen(s) + n * tl + 1);
	assert_non_null(out);
	for (w = out; *s;) {
		if (!strncmp(s, from, fl)) {
			memcpy(w, to, tl);
			w += tl, s += fl;
		} else {
			*w++ = *s++;
		}
	}
	*w = '\0';
	return out;
}

/* Add fixture @file as a source of @kind; returns add_source's result. */
static inline int kt_add(struct kindex *idx, enum ksrc_kind kind, const char *file, char *err,
			 size_t errlen)
{
	size_t len;
	char *data = kt_fixture(file, &len);
	int ret;

	ret = kindex__add_source(idx, kind, file, data, len, err, errlen);
	free(data);
	return ret;
}

static inline void kt_add_ok(struct kindex *idx, enum ksrc_kind kind, const char *file)
{
	char err[512];

	if (kt_add(idx, kind, file, err, sizeof(err)))
		fail_msg("%s: %s", file, err);
}

static inline int kt_add_str(struct kindex *idx, enum ksrc_kind kind, const char *name,
			     const char *text, char *err, size_t errlen)
{
	return kindex__add_source(idx, kind, name, text, strlen(text), err, errlen);
}

static inline void kt_add_str_ok(struct kindex *idx, enum ksrc_kind kind, const char *text)
{
	char err[512];

	if (kt_add_str(idx, kind, "inline", text, err, sizeof(err)))
		fail_msg("inline source: %s", err);
}

/* Node-2 in iptables mode: kube-proxy + portmap rules, both families,
 * and the cluster snapshot. */
static inline struct kindex *kt_iptables_node(bool snapshot)
{
	struct kindex *idx = kindex__new();

	assert_non_null(idx);
	kt_add_ok(idx, KSRC_IPTABLES_SAVE, "iptables-save.txt");
	kt_add_ok(idx, KSRC_IP6TABLES_SAVE, "ip6tables-save.txt");
	if (snapshot)
		kt_add_ok(idx, KSRC_SNAPSHOT, "snapshot.json");
	return idx;
}

/* Node-2 in IPVS mode: @rules (iptables-save), kube-proxy's ipset and the
 * node's addresses, ClusterIPs on kube-ipvs0. */
static inline void kt_add_ipvs_node(struct kindex *idx, const char *rules)
{
	kt_add_ok(idx, KSRC_IPTABLES_SAVE, rules);
	kt_add_ok(idx, KSRC_IPSET_SAVE, "ipset-save.txt");
	kt_add_ok(idx, KSRC_LOCAL_ADDRS, "ip-addr-ipvs.txt");
}

static inline void kt_addr(int family, const char *s, uint8_t *dst)
{
	memset(dst, 0, 16);
	if (inet_pton(family, s, dst) != 1)
		fail_msg("bad test address %s", s);
}

/* A connection src:sport -> dst:dport that landed on landed:lport, no SNAT. */
static inline void kt_conn(struct conn *c, int family, uint8_t proto, const char *src,
			   uint16_t sport, const char *dst, uint16_t dport, const char *landed,
			   uint16_t lport)
{
	size_t alen = family == AF_INET ? 4 : 16;

	memset(c, 0, sizeof(*c));
	c->ts_ns = 1795612800000000000ULL + 1234567000ULL; /* 2026-11-25T13:20:01.234567Z */
	c->family = family;
	c->proto = proto;
	c->hook = NW_HOOK_POSTROUTING;
	c->backend = "netfilter";
	kt_addr(family, src, c->orig.src);
	kt_addr(family, dst, c->orig.dst);
	c->orig.sport = sport;
	c->orig.dport = dport;
	kt_addr(family, landed, c->reply.src);
	memcpy(c->reply.dst, c->orig.src, 16);
	c->reply.sport = lport;
	c->reply.dport = sport;
	c->dnat = memcmp(c->orig.dst, c->reply.src, alen) || dport != lport;
	memcpy(c->landed.addr, c->reply.src, 16);
	c->landed.port = lport;
	memcpy(c->seen_as.addr, c->reply.dst, 16);
	c->seen_as.port = sport;
}

/* A connection as kt_conn() takes it, for the tests' tables of them. */
struct kt_spec {
	int family;
	uint8_t proto;
	const char *src, *dst, *landed;
	uint16_t sport, dport, lport;
};

static inline void kt_conn_of(struct conn *c, const struct kt_spec *s)
{
	kt_conn(c, s->family, s->proto, s->src, s->sport, s->dst, s->dport, s->landed, s->lport);
}

/* The annotation's text tag and reason, as k8s_annot__print writes it. */
static inline char *kt_text(const struct k8s_annot *a)
{
	char *buf = NULL, reason[K8S_REASON_LEN];
	struct out o;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	out__init(&o, f, OUT_TEXT);
	k8s_annot__print(&o, a, k8s_annot__reason(a, reason, sizeof(reason)));
	out__flush(&o);
	fclose(f);
	return buf;
}

#endif
