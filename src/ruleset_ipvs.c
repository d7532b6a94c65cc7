// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * /proc/net/ip_vs -> kindex: IPVS's virtual services and their real servers,
 * as kube-proxy's IPVS mode (or any LVS director) set them.  The kernel's
 * own listing (ip_vs_info_seq_show()), per network namespace, needing no
 * ipvsadm on the node:
 *
 *   IP Virtual Server version 1.2.1 (size=4096)
 *   Prot LocalAddress:Port Scheduler Flags
 *     -> RemoteAddress:Port Forward Weight ActiveConn InActConn
 *   TCP  0A600014:0CEA rr
 *     -> 0AE00105:0CEA      Masq    1      0          0
 *   TCP  [fd00:0096:0000:0000:0000:0000:0000:0020]:0CEA rr
 *     -> [fd00:0224:0001:0000:0000:0000:0000:0005]:0CEA      Masq    1      0          0
 *   UDP  0A60001F:0202 rr ops
 *   TCP  0A60001E:01BB rr  persistent 75000 FFFFFFFF
 *   FWM  00000007 rr
 *     -> 0AE00105:0000      Masq    1      0          0
 *
 * IPv4 addresses and every port are hexadecimal in host order, IPv6 ones
 * written out in full.  A service by firewall mark (FWM) has no address a
 * connection could be matched with: it and its real servers are passed
 * over.  A real server line before any service, or a line of another
 * shape, is skipped and counted.  The connection counts change all the
 * time and are not kept (ksrc__hash() leaves them out too).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include "k8s_int.h"
#include "parse.h"

#define IPVS_FIELDS 8

struct ipvs_parse {
	uint32_t svc; /* the service real server lines belong to: KNONE none, KIPVS_FWM by mark */
};
#define KIPVS_FWM (KNONE - 1)

/* Split @s (@n bytes) at spaces into at most IPVS_FIELDS fields. */
static int ipvs__fields(const char *s, size_t n, const char *f[IPVS_FIELDS],
			size_t fl[IPVS_FIELDS])
{
	int nf = 0;

	for (size_t i = 0; i < n;) {
		size_t j = i;

		if (s[i] == ' ' || s[i] == '\t') {
			i++;
			continue;
		}
		while (j < n && s[j] != ' ' && s[j] != '\t')
			j++;
		if (nf == IPVS_FIELDS)
			return -EINVAL;
		f[nf] = s + i;
		fl[nf++] = j - i;
		i = j;
	}
	return nf;
}

/* Exactly @digits hexadecimal digits, as the kernel prints them. */
static int ipvs__hex(const char *s, size_t n, size_t digits, uint32_t *out)
{
	uint64_t v;

	if (n != digits || parse_hex(s, n, &v))
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

/* "0A600014:0CEA" or "[fd00:...:0020]:0CEA". */
static int ipvs__addr_port(const char *s, size_t n, struct kaddr *a, uint16_t *port)
{
	const char *colon;
	uint32_t v, p;

	memset(a, 0, sizeof(*a));
	if (n && s[0] == '[') {
		const char *close = memchr(s, ']', n);

		if (!close || close + 1 >= s + n || close[1] != ':' ||
		    kaddr__parse(s + 1, close - s - 1, AF_INET6, a))
			return -EINVAL;
		colon = close + 1;
	} else {
		colon = memchr(s, ':', n);
		if (!colon || ipvs__hex(s, colon - s, 8, &v))
			return -EINVAL;
		v = htonl(v);
		a->family = AF_INET;
		memcpy(a->addr, &v, 4);
	}
	if (ipvs__hex(colon + 1, n - (colon + 1 - s), 4, &p))
		return -EINVAL;
	*port = (uint16_t)p;
	return 0;
}

static bool ipvs__is(const char *s, size_t n, const char *word)
{
	return n == strlen(word) && !memcmp(s, word, n);
}

/* ip_vs_proto_name()'s names of the protocols a service can have. */
static int ipvs__proto(const char *s, size_t n, uint8_t *proto)
{
	*proto = ipvs__is(s, n, "TCP") ? IPPROTO_TCP :
		 ipvs__is(s, n, "UDP") ? IPPROTO_UDP :
		 ipvs__is(s, n, "SCTP") ? IPPROTO_SCTP :
					  0;
	return *proto ? 0 : -EINVAL;
}

/* ip_vs_fwd_name()'s. */
static int ipvs__fwd(const char *s, size_t n, uint8_t *fwd)
{
	static const char *const names[] = {
		[KIPVS_MASQ] = "Masq",	   [KIPVS_LOCAL] = "Local",   [KIPVS_TUNNEL] = "Tunnel",
		[KIPVS_ROUTE] = "Route",   [KIPVS_BYPASS] = "Bypass",
	};

	for (uint8_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (ipvs__is(s, n, names[i])) {
			*fwd = i;
			return 0;
		}
	}
	return -EINVAL;
}

/* "TCP  0A600014:0CEA rr [ops] [persistent T MASK]" */
static int ipvs__service(struct kindex *idx, struct ipvs_parse *p, const char *f[], size_t fl[],
			 int nf)
{
	char ep[INET6_ADDRSTRLEN + 8], a6[INET6_ADDRSTRLEN];
	bool persistent = false;
	struct kipvs *vs;
	struct kaddr a;
	uint16_t port;
	uint8_t proto;

	p->svc = KNONE; /* until this one is taken */
	if (nf < 3 || ipvs__proto(f[0], fl[0], &proto) || ipvs__addr_port(f[1], fl[1], &a, &port) ||
	    fl[2] > 64)
		return -EINVAL;
	vs = KVEC_PUSH(&idx->ipvs_svcs);
	if (!vs)
		return -ENOMEM;
	kkey__set(&vs->key, a.family, a.addr, proto, port);
	inet_ntop(a.family, a.addr, a6, sizeof(a6));
	snprintf(ep, sizeof(ep), a.family == AF_INET6 ? "[%s]:%u" : "%s:%u", a6, port);
	for (int i = 3; i < nf; i++)
		persistent |= ipvs__is(f[i], fl[i], "persistent");
	/* ipvsadm -Ln's line for it, less the timeout */
	vs->text = karena__printf(&idx->arena, "%.*s %s %.*s%s", (int)fl[0], f[0], ep, (int)fl[2],
				  f[2], persistent ? " persistent" : "");
	if (!vs->text) {
		idx->ipvs_svcs.n--;
		return -ENOMEM;
	}
	p->svc = idx->ipvs_svcs.n - 1;
	return 0;
}

/* A weight (decimal); *@zero: it is 0. */
static int ipvs__weight(const char *s, size_t n, bool *zero)
{
	if (!n || n > 10)
		return -EINVAL;
	*zero = true;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		*zero &= s[i] == '0';
	}
	return 0;
}

/* "-> 0AE00105:0CEA Masq 1 0 0" */
static int ipvs__dest(struct kindex *idx, struct ipvs_parse *p, const char *f[], size_t fl[],
		      int nf)
{
	struct kipvs_dest *d;
	bool drained;
	struct kaddr a;
	uint16_t port;
	uint8_t fwd;

	if (nf != 6 || ipvs__addr_port(f[1], fl[1], &a, &port) || ipvs__fwd(f[2], fl[2], &fwd) ||
	    ipvs__weight(f[3], fl[3], &drained))
		return -EINVAL;
	if (p->svc == KIPVS_FWM)
		return 0; /* a real server of a service by mark */
	if (p->svc == KNONE)
		return -EINVAL; /* before any service, or of one not understood */
	d = KVEC_PUSH(&idx->ipvs_dests);
	if (!d)
		return -ENOMEM;
	kkey__set(&d->key, a.family, a.addr, idx->ipvs_svcs.v[p->svc].key.proto, port);
	d->key.aux = p->svc + 1;
	d->svc = p->svc;
	d->fwd = fwd;
	d->drained = drained;
	return 0;
}

static int ipvs__line(const struct klines *l, const char *s, size_t n)
{
	struct ipvs_parse *p = l->ctx;
	const char *f[IPVS_FIELDS];
	size_t fl[IPVS_FIELDS];
	int nf;

	if (!kstr_nprefix(s, n, "->"))
		p->svc = KNONE; /* a service's lines end, even at one not understood */
	nf = ipvs__fields(s, n, f, fl);
	if (nf <= 0)
		return -EINVAL;
	if (kstr_nprefix(s, n, "IP Virtual Server version ") ||
	    kstr_nprefix(s, n, "Prot LocalAddress:Port ") ||
	    kstr_nprefix(s, n, "-> RemoteAddress:Port "))
		return 0;
	if (ipvs__is(f[0], fl[0], "->"))
		return ipvs__dest(l->idx, p, f, fl, nf);
	if (ipvs__is(f[0], fl[0], "FWM")) {
		p->svc = KIPVS_FWM;
		return 0;
	}
	return ipvs__service(l->idx, p, f, fl, nf);
}

int ruleset_ipvs__parse(struct kindex *idx, const char *data, size_t len, char *errbuf,
			size_t errlen)
{
	struct ipvs_parse p = { .svc = KNONE };
	struct klines l = {
		.idx = idx,
		.errbuf = errbuf,
		.errlen = errlen,
		.lead = " ",
		.tail = "\r ",
		.bad_msg = "line not understood, ignored",
		.quote_bad = true,
		.none_msg = "not /proc/net/ip_vs: no line understood",
		.line = ipvs__line,
		.ctx = &p,
	};

	return klines__parse(&l, data, len);
}
