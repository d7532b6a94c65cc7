/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Shared by the kindex fuzzers: after a source parsed, look a few connections
 * up in the index and audit it, so those paths see fuzzed knowledge too. */
#ifndef NW_FUZZ_K8S_COMMON_H
#define NW_FUZZ_K8S_COMMON_H

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include "kindex.h"

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
	kindex__audit(idx, &text);
	kindex__audit(idx, &json);
	fclose(null);
}

#endif
