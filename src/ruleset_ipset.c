// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * `ipset save` -> kindex: the sets kube-proxy's IPVS mode keeps.
 *   KUBE-CLUSTER-IP        add KUBE-CLUSTER-IP 10.96.0.10,udp:53     ClusterIP
 *   KUBE-EXTERNAL-IP[-LOCAL]                                          externalIP
 *   KUBE-LOAD-BALANCER[-LOCAL]                                        LB IP
 *   KUBE-NODE-PORT-{TCP,UDP}[...]  add KUBE-NODE-PORT-TCP 30080      NodePort
 *   KUBE-NODE-PORT-[LOCAL-]SCTP-HASH  add ... 192.168.0.2,sctp:30080
 * IPv6 sets are named KUBE-6-... (cut to ipset's 31 characters:
 * KUBE-6-NODE-PORT-LOCAL-SCTP-HAS) in dual-stack clusters, KUBE-... in
 * IPv6-only clusters of before: an entry's address says its family.  These
 * sets carry no Service names: the snapshot names them.  Other sets are
 * ignored.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "k8s_int.h"

/* "10.96.0.10,tcp:53" */
static int ipset__ip_port(const char *s, size_t n, uint8_t family, struct kaddr *a,
			  uint8_t *proto, uint16_t *port)
{
	const char *comma = memchr(s, ',', n), *colon;

	if (!comma || kaddr__parse(s, comma - s, family, a))
		return -EINVAL;
	colon = memchr(comma, ':', n - (comma - s));
	if (!colon || kproto__parse(comma + 1, colon - comma - 1, proto))
		return -EINVAL;
	return kport__parse(colon + 1, n - (colon - s) - 1, port);
}

/* What one set of kube-proxy holds; 0: a set natwho ignores. */
static uint8_t ipset__kind(const char *set, size_t n, uint8_t *family, uint8_t *np_proto)
{
	static const struct {
		const char *name;
		uint8_t kind, proto;
	} sets[] = {
		{ "CLUSTER-IP", K8S_KIND_CLUSTER_IP, 0 },
		{ "EXTERNAL-IP", K8S_KIND_EXTERNAL_IP, 0 },
		{ "LOAD-BALANCER", K8S_KIND_LB_IP, 0 },
		{ "NODE-PORT-TCP", K8S_KIND_NODE_PORT, IPPROTO_TCP },
		{ "NODE-PORT-LOCAL-TCP", K8S_KIND_NODE_PORT, IPPROTO_TCP },
		{ "NODE-PORT-UDP", K8S_KIND_NODE_PORT, IPPROTO_UDP },
		{ "NODE-PORT-LOCAL-UDP", K8S_KIND_NODE_PORT, IPPROTO_UDP },
		{ "NODE-PORT-SCTP-HASH", K8S_KIND_NODE_PORT, 0 },
		{ "NODE-PORT-LOCAL-SCTP-HASH", K8S_KIND_NODE_PORT, 0 },
		{ "NODE-PORT-LOCAL-SCTP-HAS", K8S_KIND_NODE_PORT, 0 }, /* KUBE-6-, cut */
	};
	const char *name;
	size_t nl;

	*family = AF_INET;
	if (kstr_nprefix(set, n, "KUBE-6-")) {
		*family = AF_INET6;
		name = set + 7;
	} else if (kstr_nprefix(set, n, "KUBE-")) {
		name = set + 5;
	} else {
		return 0;
	}
	nl = n - (name - set);
	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		size_t sl = strlen(sets[i].name);

		/* KUBE-EXTERNAL-IP-LOCAL, KUBE-LOAD-BALANCER-LOCAL: same kind */
		if (nl >= sl && !memcmp(name, sets[i].name, sl) &&
		    (nl == sl || (sets[i].proto == 0 && !strncmp(name + sl, "-LOCAL", nl - sl) &&
				  nl - sl == 6))) {
			*np_proto = sets[i].proto;
			return sets[i].kind;
		}
	}
	return 0;
}

static int ipset__entry(struct kindex *idx, uint8_t kind, uint8_t family, uint8_t np_proto,
			const char *e, size_t n)
{
	struct ksvcport *sp;
	struct kaddr a;
	uint8_t proto = np_proto;
	uint16_t port;
	uint32_t id;

	if (kind == K8S_KIND_NODE_PORT && np_proto) {
		if (kport__parse(e, n, &port))
			return -EINVAL;
	} else {
		if (ipset__ip_port(e, n, 0, &a, &proto, &port))
			return -EINVAL;
		family = a.family; /* the address's, not the set name's */
	}
	sp = kindex__svcport_anon(idx, proto, kind == K8S_KIND_NODE_PORT ? 0 : port, &id);
	if (!sp)
		return -ENOMEM;
	if (kind != K8S_KIND_NODE_PORT)
		return kindex__add_vip(idx, id, kind, &a, KO_IPSET, NULL, NULL);
	sp->node_port = port;
	/* KUBE-NODE-PORT-TCP/UDP (bitmap:port) name no family: a single-stack
	 * IPv6 cluster's are not KUBE-6-; count them for both families. */
	if (np_proto && family == AF_INET) {
		int err = kindex__add_nodeport(idx, id, AF_INET6, KO_IPSET, NULL, NULL);

		if (err)
			return err;
	}
	return kindex__add_nodeport(idx, id, family, KO_IPSET, NULL, NULL);
}

/* One line: 0, -EINVAL (not understood), -ENOMEM. */
static int ipset__line(struct kindex *idx, const char *line, size_t n)
{
	const char *set, *entry;
	size_t set_n, entry_n;
	uint8_t kind, family, np_proto = 0;

	if (!kstr_nprefix(line, n, "add "))
		return kstr_nprefix(line, n, "create ") || kstr_nprefix(line, n, "flush") ||
				       kstr_nprefix(line, n, "destroy") ?
			       0 :
			       -EINVAL;
	set = line + 4;
	set_n = strcspn(set, " \t");
	if (set_n >= n - 4)
		return -EINVAL;
	entry = set + set_n + 1;
	entry_n = strcspn(entry, " \t");
	if (entry + entry_n > line + n)
		entry_n = line + n - entry;
	kind = ipset__kind(set, set_n, &family, &np_proto);
	if (!kind)
		return 0;
	return ipset__entry(idx, kind, family, np_proto, entry, entry_n);
}

/* A NUL-terminated copy of the line: strcspn must not run past it.  A line
 * with a NUL inside is not `ipset save` output (and would end the copy
 * early: its length would lie). */
static int ipset__copy_line(const struct klines *l, const char *s, size_t n)
{
	char buf[512];

	if (n >= sizeof(buf) || memchr(s, '\0', n))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return ipset__line(l->idx, buf, n);
}

int ruleset_ipset__parse(struct kindex *idx, const char *data, size_t len, char *errbuf,
			 size_t errlen)
{
	struct klines l = {
		.idx = idx,
		.errbuf = errbuf,
		.errlen = errlen,
		.tail = "\r ",
		.comment = "#",
		.bad_msg = "line not understood, ignored",
		.none_msg = "not `ipset save` output: no line understood",
		.line = ipset__copy_line,
	};

	return klines__parse(&l, data, len);
}
