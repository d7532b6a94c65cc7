/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Shared by the kindex fuzzers: a JSON source read both ways (item by item
 * and whole) must give the same answer; after a source parsed, look a few
 * connections up in the index and audit it, so those paths see fuzzed
 * knowledge too. */
#ifndef NW_FUZZ_K8S_COMMON_H
#define NW_FUZZ_K8S_COMMON_H

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kindex.h"
#include "k8s_int.h"

struct fuzz_warns {
	char text[4096];
	size_t used;
};

/* kindex_warn_fn: the warnings one after the other (as many as fit). */
static void fuzz_k8s_warn(void *ctx, const char *msg)
{
	struct fuzz_warns *w = ctx;
	int n = snprintf(w->text + w->used, sizeof(w->text) - w->used, "%s\n", msg);

	if (n > 0)
		w->used += (size_t)n < sizeof(w->text) - w->used ? (size_t)n :
								  sizeof(w->text) - w->used - 1;
}

/* A new index with @doc added as a @kind source, parsed @whole or item by
 * item; the return code, error and warnings in *@err, @why and @w. */
static struct kindex *fuzz_k8s_add(enum ksrc_kind kind, const char *doc, size_t len, bool whole,
				   int *err, char *why, size_t whylen, struct fuzz_warns *w)
{
	struct kindex *idx = kindex__new();

	why[0] = '\0';
	w->used = 0;
	w->text[0] = '\0';
	if (!idx)
		return NULL;
	kindex__set_warn(idx, fuzz_k8s_warn, w);
	kjson__whole_only = whole;
	*err = kindex__add_source(idx, kind, "fuzz", doc, len, why, whylen);
	kjson__whole_only = false;
	return idx;
}

/*
 * @doc, a @kind source read item by item (kjson__each_item(),
 * kjson__each_in()) and parsed whole, as before those: the same counts and
 * warnings, or the same error in the same words; else abort.  The index
 * read item by item, for more (NULL when out of memory).
 */
static struct kindex *fuzz_k8s_both_ways(enum ksrc_kind kind, const char *doc, size_t len)
{
	static struct fuzz_warns wa, wb;
	char ea[512], eb[512];
	int ra = 0, rb = 0;
	struct kindex *a = fuzz_k8s_add(kind, doc, len, false, &ra, ea, sizeof(ea), &wa);
	struct kindex *b = fuzz_k8s_add(kind, doc, len, true, &rb, eb, sizeof(eb), &wb);

	if (a && b) {
		struct kindex_stats sa, sb;

		if (ra != rb || strcmp(ea, eb) || strcmp(wa.text, wb.text))
			abort();
		kindex__stats(a, &sa);
		kindex__stats(b, &sb);
		if (!ra && memcmp(&sa, &sb, sizeof(sa)))
			abort();
	}
	kindex__free(b);
	if (!b) {
		kindex__free(a);
		return NULL;
	}
	return a;
}

static void fuzz_k8s_conn(struct conn *c, int family, const char *dst, uint16_t dport,
			  const char *landed, uint16_t lport)
{
	memset(c, 0, sizeof(*c));
	c->family = family;
	c->proto = IPPROTO_TCP;
	inet_pton(family, family == AF_INET ? "10.224.0.9" : "fd00:10:224::9", c->orig.src);
	inet_pton(family, dst, c->orig.dst);
	inet_pton(family, landed, c->reply.src);
	c->orig.sport = 40000;
	c->orig.dport = dport;
	c->reply.sport = lport;
	c->dnat = true;
	memcpy(c->landed.addr, c->reply.src, 16);
	c->landed.port = lport;
}

static void fuzz_k8s_exercise(struct kindex *idx)
{
	static const struct {
		int family;
		const char *dst, *landed;
		uint16_t dport, lport;
	} probes[] = {
		{ AF_INET, "10.96.0.20", "10.224.0.222", 3306, 3306 },
		{ AF_INET, "10.96.0.20", "10.224.1.5", 3306, 3306 },
		{ AF_INET, "192.168.56.12", "10.224.0.30", 30080, 80 },
		{ AF_INET, "192.168.56.12", "172.17.0.2", 8080, 80 },
		{ AF_INET6, "fd00:10:96::30", "fd00:10:224::7", 80, 8080 },
		{ AF_INET6, "fd00:56::12", "fd00:10:224::30", 30080, 80 },
	};
	FILE *null = fopen("/dev/null", "w");
	struct out text, json;
	uint32_t rules = 0;

	if (!null)
		return;
	out__init(&text, null, OUT_TEXT);
	out__init(&json, null, OUT_JSON);
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		char reason[1600];
		struct k8s_annot a;
		struct conn c;

		fuzz_k8s_conn(&c, probes[i].family, probes[i].dst, probes[i].dport,
			      probes[i].landed, probes[i].lport);
		kindex__annotate(idx, &c, &a);
		k8s_annot__reason(&a, reason, sizeof(reason));
		k8s_annot__print(&text, &a, reason);
		k8s_annot__print(&json, &a, reason);
		out__record_end(&json);
	}
	if (kindex__audit(idx, &text, &rules) < (int)rules)
		__builtin_trap(); /* a rule counted without a finding */
	kindex__audit(idx, &json, NULL);
	fclose(null);
}

#endif
