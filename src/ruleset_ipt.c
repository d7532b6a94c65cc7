// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * iptables-save / ip6tables-save (legacy and nft variants) -> kindex.
 *
 * Only the nat table is interpreted (plus kube-proxy's "has no endpoints"
 * rules of the filter table).  Recognised, from the rules kube-proxy and the
 * CNI portmap plugin write, older releases included:
 *   KUBE-SERVICES  -d VIP -p P --dport N -m comment "ns/svc:port cluster IP"
 *                  (also "external IP", "loadbalancer IP"; "ns/svc: cluster
 *                  IP" and "ns/svc cluster IP" for unnamed ports) -j CHAIN
 *   KUBE-NODEPORTS -p P --dport N -m comment "ns/svc:port" -j CHAIN
 *   CHAIN -> KUBE-SVC-/KUBE-EXT-/KUBE-FW-/KUBE-XLB-/KUBE-SVL-... -> KUBE-SEP-*
 *                  -j DNAT --to-destination ADDR[:PORT] (any -m statistic)
 *   KUBE-SERVICES  -m set --match-set KUBE-CLUSTER-IP dst,dst -j ACCEPT (IPVS)
 *   CNI-HOSTPORT-DNAT -m comment "dnat name: \"NET\" id: \"SANDBOX\"" -j CNI-DN-*
 *   CNI-DN-*       -p P --dport HOSTPORT [-d HOSTIP] -j DNAT --to-destination
 *   KUBE-HOSTPORTS -m comment "PODNAME_NAMESPACE hostport N" -p P --dport N -j KUBE-HP-*
 *   KUBE-HP-*      -m comment "PODNAME_NAMESPACE hostport N" -p P -j DNAT --to-destination
 *                  (kubelet's own hostport manager: kubenet, dockershim; CRI-O)
 *   PREROUTING/OUTPUT jumps, with or without -m addrtype --dst-type LOCAL
 * Any other DNAT/REDIRECT rule is kept as a "rule" with its chain and text.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "k8s_int.h"

#define IPT_MAX_TOKENS 160
#define IPT_MAX_MPORTS 15
#define IPT_MAX_DEPTH 16
#define IPT_NAT_PRIO (-100) /* NF_IP_PRI_NAT_DST */
#define IPT_PROTO_UNKNOWN 255 /* -p NAME natwho does not know: IPPROTO_RAW, never a flow's */

struct ipt_rule {
	uint32_t chain;
	uint32_t pos; /* its index in its chain's rules */
	uint32_t excl_before; /* 1 + the position of the last ipt__excl_rule() ahead (0: none) */
	uint32_t line;
	const char *text; /* the whole line, NUL-terminated copy in the arena */
	const char *comment, *target, *match_set, *match_set_flags;
	uint8_t proto;
	bool dst_neg, has_dst, local_dst, other_dst_type, src_neg;
	bool opaque; /* a match ipt__plain() does not take, or a `!` */
	struct kaddr dst, src; /* src family 0: no -s */
	uint8_t dst_plen, src_plen;
	uint16_t dport_lo, dport_hi; /* 0: no --dport */
	uint16_t mports_lo[IPT_MAX_MPORTS], mports_hi[IPT_MAX_MPORTS];
	uint8_t nmports;
	struct kaddr to; /* DNAT --to-destination (family 0: none) */
	struct kaddr to_end; /* its range's end (family 0: one address) */
	uint16_t to_lo, to_hi; /* DNAT port range, REDIRECT --to-ports */
	bool has_to;
};

struct ipt_chain {
	const char *name;
	uint32_t *rules; /* indexes into ipt.rules, in order */
	uint32_t nrules;
	struct kreach reach[KHOOK_MAX];
	uint32_t njumps, jump; /* jumps to it, and the rule of one */
	uint32_t excl_end; /* ipt_rule.excl_before of the next rule */
	bool visiting;
	const char *sandbox, *net; /* CNI-DN-*: from the CNI-HOSTPORT-DNAT comment */
	uint32_t gen; /* endpoint walk that last visited it */
};

struct ipt {
	struct kindex *idx;
	uint8_t family;
	uint32_t line;
	KVEC(struct ipt_rule) rules;
	KVEC(struct ipt_chain) chains;
	struct kstrmap chain_ids;
	char *scratch;
	size_t scratch_cap;
	const char *tok[IPT_MAX_TOKENS];
	int ntok;
	bool in_nat, in_filter;
	/* ipt__excl(): a nat rule line not read (a jump of its unknown), or
	 * two nat tables in one dump (their chains' rules mixed) */
	bool jumps_unsure, two_nat, seen_nat;
	/* ipt__excl()'s last result, for the next rule of the same place */
	const struct kexcl *excl;
	uint32_t excl_chain, excl_before;
	uint8_t nexcl;
	char *errbuf;
	size_t errlen;
	struct ksvc_walk walks; /* chain visits, per Service port */
	uint8_t claims; /* 1 << K8S_KIND_*: VIP kinds KUBE-SERVICES translates */
	/* "nat", or "nat (legacy)" for iptables-legacy-save's, "nat (nft)" for
	 * iptables-nft-save's beside a legacy `iptables`: both nat tables hook
	 * at the same priority, so their relative order is unknown. */
	const char *nat;
};

/* Split the line into words; "..." with \" and \\ escapes is one word. */
static int ipt__tokenize(struct ipt *p, const char *line, size_t n)
{
	char *out;

	if (n + 1 > p->scratch_cap) {
		char *ns = realloc(p->scratch, n + 1);

		if (!ns)
			return -ENOMEM;
		p->scratch = ns;
		p->scratch_cap = n + 1;
	}
	out = p->scratch;
	p->ntok = 0;
	for (size_t i = 0; i < n;) {
		if (line[i] == ' ' || line[i] == '\t') {
			i++;
			continue;
		}
		if (p->ntok == IPT_MAX_TOKENS)
			return -E2BIG;
		p->tok[p->ntok++] = out;
		if (line[i] == '"') {
			for (i++; i < n && line[i] != '"'; i++) {
				if (line[i] == '\\' && i + 1 < n)
					i++;
				*out++ = line[i];
			}
			if (i == n)
				return -EBADMSG; /* unterminated quote */
			i++;
		} else {
			while (i < n && line[i] != ' ' && line[i] != '\t')
				*out++ = line[i++];
		}
		*out++ = '\0';
	}
	return 0;
}

static int ipt__chain(struct ipt *p, const char *name, uint32_t *id)
{
	struct ipt_chain *c;
	const char *aname;

	*id = kstrmap__get(&p->chain_ids, name, strlen(name));
	if (*id != KNONE)
		return 0;
	aname = karena__strdup(&p->idx->arena, name);
	c = KVEC_PUSH(&p->chains);
	if (!aname || !c)
		return -ENOMEM;
	c->name = aname;
	*id = p->chains.n - 1;
	return kstrmap__put(&p->chain_ids, aname, *id);
}

/* "N", "N:M" or "N-M" */
static int ipt__portrange(const char *s, uint16_t *lo, uint16_t *hi)
{
	size_t n = strlen(s), sep = strcspn(s, ":-");

	if (sep == n) {
		if (kport__parse(s, n, lo))
			return -EINVAL;
		*hi = *lo;
		return 0;
	}
	/* iptables-save prints `--dport :1023` as 0:1023: no connection
	 * natwho names has port 0 */
	if (sep == 1 && s[0] == '0')
		*lo = 1;
	else if (kport__parse(s, sep, lo))
		return -EINVAL;
	if (kport__parse(s + sep + 1, n - sep - 1, hi) || *lo > *hi)
		return -EINVAL;
	return 0;
}

/* "80,443,1000:2000" (multiport) */
static int ipt__mports(struct ipt_rule *r, const char *s)
{
	char buf[16];

	while (*s) {
		size_t n = strcspn(s, ",");

		if (r->nmports == IPT_MAX_MPORTS || n >= sizeof(buf))
			return -EINVAL;
		memcpy(buf, s, n);
		buf[n] = '\0';
		if (ipt__portrange(buf, &r->mports_lo[r->nmports], &r->mports_hi[r->nmports]))
			return -EINVAL;
		r->nmports++;
		s += n;
		if (*s == ',')
			s++;
	}
	return r->nmports ? 0 : -EINVAL;
}

/* One option with its argument; returns words consumed or -errno. */
static int ipt__option(struct ipt *p, struct ipt_rule *r, int i, bool neg)
{
	const char *o = p->tok[i], *v = i + 1 < p->ntok ? p->tok[i + 1] : NULL;

	if (!strcmp(o, "-m") || !strcmp(o, "--match") || !strcmp(o, "-i") || !strcmp(o, "-o"))
		return v ? 2 : -EINVAL;
	if (!strcmp(o, "-s") || !strcmp(o, "--source")) {
		if (!v)
			return -EINVAL;
		if (kaddr__parse_prefix(v, strlen(v), p->family, &r->src, &r->src_plen))
			r->src.family = 0; /* a mask that is no prefix: taken as any source */
		r->src_neg = neg;
		return 2;
	}
	if (!strcmp(o, "-p") || !strcmp(o, "--protocol")) {
		if (!v)
			return -EINVAL;
		/* a name of /etc/protocols natwho does not know: no protocol
		 * whose connections natwho names (those it knows all), so one
		 * that matches none; the line is kept for its jump */
		if (!neg && strcmp(v, "all") && kproto__parse(v, strlen(v), &r->proto))
			r->proto = IPT_PROTO_UNKNOWN;
		return 2;
	}
	if (!strcmp(o, "-d") || !strcmp(o, "--destination")) {
		if (!v || kaddr__parse_prefix(v, strlen(v), p->family, &r->dst, &r->dst_plen))
			return -EINVAL;
		r->has_dst = true;
		r->dst_neg = neg;
		return 2;
	}
	if (!strcmp(o, "--dport") || !strcmp(o, "--destination-port"))
		return v && (neg || !ipt__portrange(v, &r->dport_lo, &r->dport_hi)) ? 2 : -EINVAL;
	if (!strcmp(o, "--dports") || !strcmp(o, "--destination-ports"))
		return v && (neg || !ipt__mports(r, v)) ? 2 : -EINVAL;
	if (!strcmp(o, "--dst-type")) {
		if (!v)
			return -EINVAL;
		if (!neg && !strcmp(v, "LOCAL"))
			r->local_dst = true;
		else
			r->other_dst_type = true;
		return 2;
	}
	if (!strcmp(o, "--comment")) {
		r->comment = v ? karena__strdup(&p->idx->arena, v) : NULL;
		return r->comment ? 2 : -EINVAL;
	}
	if (!strcmp(o, "--match-set")) {
		if (!v || i + 2 >= p->ntok || neg)
			return v ? 3 : -EINVAL;
		r->match_set = karena__strdup(&p->idx->arena, v);
		r->match_set_flags = karena__strdup(&p->idx->arena, p->tok[i + 2]);
		return 3;
	}
	return 1; /* an option natwho does not need, or its argument */
}

/*
 * Does option @o (argument @v) keep @r a rule whose matches natwho reads
 * whole (ipt_rule.opaque): -d, -p, one --dport, tcp/udp/sctp and comments?
 */
static bool ipt__plain(const struct ipt_rule *r, const char *o, const char *v)
{
	if (!strcmp(o, "-m") || !strcmp(o, "--match"))
		return v && (!strcmp(v, "tcp") || !strcmp(v, "udp") || !strcmp(v, "sctp") ||
			     !strcmp(v, "comment"));
	if (!strcmp(o, "--dport") || !strcmp(o, "--destination-port"))
		return !r->dport_lo; /* a second one: both must match */
	return !strcmp(o, "-d") || !strcmp(o, "--destination") || !strcmp(o, "-p") ||
	       !strcmp(o, "--protocol") || !strcmp(o, "--comment");
}

static int ipt__target(struct ipt *p, struct ipt_rule *r, int i)
{
	const char *o = p->tok[i], *v = i + 1 < p->ntok ? p->tok[i + 1] : NULL;

	if (!strcmp(o, "-j") || !strcmp(o, "--jump") || !strcmp(o, "-g") || !strcmp(o, "--goto")) {
		r->target = v ? karena__strdup(&p->idx->arena, v) : NULL;
		return r->target ? 2 : -EINVAL;
	}
	/* `--to` is DNAT's after -j DNAT; before it, another match's
	 * (-m string --to OFFSET) */
	if (!strcmp(o, "--to-destination") ||
	    (!strcmp(o, "--to") && r->target && !strcmp(r->target, "DNAT"))) {
		if (r->has_to)
			return v ? 2 : -EINVAL; /* kernels < 2.6.11 allowed several */
		if (!v || kaddr__parse_ep(v, strlen(v), p->family, &r->to, &r->to_end, &r->to_lo,
					  &r->to_hi))
			return -EINVAL;
		r->has_to = true;
		return 2;
	}
	if (!strcmp(o, "--to-ports") || !strcmp(o, "--to-port")) {
		if (!v || ipt__portrange(v, &r->to_lo, &r->to_hi))
			return -EINVAL;
		return 2;
	}
	return 0;
}

/* "-A CHAIN ..." in the nat (or filter) table. */
static int ipt__rule(struct ipt *p, const char *line, size_t n)
{
	struct ipt_rule *r;
	bool neg = false;
	int err;

	if (p->ntok < 2)
		return -EINVAL;
	r = KVEC_PUSH(&p->rules);
	if (!r)
		return -ENOMEM;
	r->line = p->line;
	err = ipt__chain(p, p->tok[1], &r->chain);
	for (int i = 2; !err && i < p->ntok;) {
		int used;

		if (!strcmp(p->tok[i], "!")) {
			neg = true;
			r->opaque = true;
			i++;
			continue;
		}
		used = ipt__target(p, r, i);
		if (!used) {
			r->opaque |= !ipt__plain(r, p->tok[i], i + 1 < p->ntok ? p->tok[i + 1] : NULL);
			used = ipt__option(p, r, i, neg);
		}
		if (used < 0)
			err = used;
		neg = false;
		i += used > 0 ? used : 1;
	}
	if (!err) {
		r->text = karena__strndup(&p->idx->arena, line, n);
		err = r->text ? 0 : -ENOMEM;
	}
	if (err)
		p->rules.n--;
	return err;
}

static int ipt__fail(struct ipt *p, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int ipt__fail(struct ipt *p, int err, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(p->errbuf, p->errlen, "%s:%u: %s", p->idx->src_name, p->line, msg);
	return err;
}

/* One line; -EINVAL/-EBADMSG/-E2BIG: skip it, anything else is fatal. */
static int ipt__line(struct ipt *p, const char *line, size_t n, bool *table_open,
		     bool *seen_table)
{
	int err;

	if (line[0] == '*') {
		if (*table_open)
			return ipt__fail(p, -EBADMSG, "table started before COMMIT: truncated?");
		*table_open = *seen_table = true;
		p->in_nat = n == 4 && !memcmp(line + 1, "nat", 3);
		p->two_nat |= p->in_nat && p->seen_nat;
		p->seen_nat |= p->in_nat;
		return 0;
	}
	if (n == 6 && !memcmp(line, "COMMIT", 6)) {
		if (!*table_open)
			return -EINVAL;
		*table_open = false;
		return 0;
	}
	if (!*seen_table) {
		if (line[0] != ':' && line[0] != '-')
			return -EINVAL;
		p->in_nat = true; /* `iptables -t nat -S` output: no table lines */
	} else if (!*table_open) {
		return -EINVAL;
	}
	err = ipt__tokenize(p, line, n);
	if (!err && p->in_nat) {
		if (line[0] == ':') {
			uint32_t id;

			return ipt__chain(p, p->tok[0] + 1, &id);
		}
		if (!strcmp(p->tok[0], "-N") || !strcmp(p->tok[0], "-P"))
			return 0;
		err = strcmp(p->tok[0], "-A") && strcmp(p->tok[0], "--append") ?
			      -EINVAL :
			      ipt__rule(p, line, n);
	}
	/* a nat line not read may have jumped anywhere */
	p->jumps_unsure |= err && p->in_nat;
	return err;
}

struct ipt_read {
	struct ipt *p;
	bool table_open, seen_table;
};

static int ipt__read_line(const struct klines *l, const char *line, size_t n)
{
	struct ipt_read *r = l->ctx;

	r->p->line = l->line_no;
	return ipt__line(r->p, line, n, &r->table_open, &r->seen_table);
}

static int ipt__read(struct ipt *p, const char *data, size_t len)
{
	struct ipt_read r = { .p = p };
	struct klines l = {
		.idx = p->idx,
		.errbuf = p->errbuf,
		.errlen = p->errlen,
		.tail = "\r \t",
		.comment = "#",
		.bad_msg = "line not understood, ignored",
		.quote_bad = true,
		.line = ipt__read_line,
		.ctx = &r,
	};
	int err = klines__parse(&l, data, len);

	if (err)
		return err;
	p->line = l.line_no;
	if (r.table_open)
		return ipt__fail(p, -EBADMSG, "unexpected end of input: no COMMIT (truncated?)");
	if (!l.good && l.bad) {
		p->line = l.first_bad;
		return ipt__fail(p, -EBADMSG, "not %s output: no line understood",
				 p->family == AF_INET ? "iptables-save" : "ip6tables-save");
	}
	return 0;
}

static uint32_t ipt__chain_id(const struct ipt *p, const char *name)
{
	return name ? kstrmap__get(&p->chain_ids, name, strlen(name)) : KNONE;
}

/* Is @r a RETURN or ACCEPT that surely takes connections to a network? */
static bool ipt__excl_rule(const struct ipt_rule *r)
{
	return r->target && (!strcmp(r->target, "RETURN") || !strcmp(r->target, "ACCEPT")) &&
	       r->has_dst && !r->opaque && r->proto != IPT_PROTO_UNKNOWN;
}

/* Each chain's rules in order, and each rule's position: counted first, so
 * that a chain of many rules is one allocation, not one per rule.  And the
 * jumps to each chain, and ahead of each rule the RETURNs ipt__excl()
 * reads, a list running back through the chain. */
static int ipt__index_chains(struct ipt *p)
{
	for (uint32_t i = 0; i < p->rules.n; i++)
		p->chains.v[p->rules.v[i].chain].nrules++;
	for (uint32_t i = 0; i < p->chains.n; i++) {
		struct ipt_chain *c = &p->chains.v[i];

		if (!c->nrules)
			continue;
		c->rules = malloc(c->nrules * sizeof(*c->rules));
		if (!c->rules)
			return -ENOMEM;
		c->nrules = 0;
	}
	for (uint32_t i = 0; i < p->rules.n; i++) {
		struct ipt_rule *r = &p->rules.v[i];
		struct ipt_chain *c = &p->chains.v[r->chain];

		r->pos = c->nrules;
		c->rules[c->nrules++] = i;
		r->excl_before = c->excl_end;
		if (ipt__excl_rule(r))
			c->excl_end = c->nrules;
	}
	for (uint32_t i = 0; i < p->rules.n; i++) {
		const struct ipt_rule *r = &p->rules.v[i];
		uint32_t t = ipt__chain_id(p, r->target);

		if (t == KNONE)
			continue;
		p->chains.v[t].njumps++;
		p->chains.v[t].jump = i;
	}
	return 0;
}

/* A per-pod hostport chain of kubelet's hostport manager or CRI-O. */
static bool ipt__hp_chain(const char *name)
{
	return kstr_prefix(name, "KUBE-HP-");
}

/*
 * A chain of kube-proxy's: KUBE-*, but for the hostport chains that kubelet's
 * own hostport manager (kubenet, dockershim) and CRI-O write under the
 * same prefix, which translate like portmap's.
 */
static bool ipt__kube_chain(const char *name)
{
	return kstr_prefix(name, "KUBE-") && !ipt__hp_chain(name) &&
	       strcmp(name, "KUBE-HOSTPORTS");
}

static void ipt__mark(struct ipt *p, uint32_t chain, int hook, const struct kreach *via,
		      int depth)
{
	struct ipt_chain *c = &p->chains.v[chain];

	if (depth > IPT_MAX_DEPTH || ipt__kube_chain(c->name) || !kreach__merge(&c->reach[hook], via))
		return;
	for (uint32_t i = 0; i < c->nrules; i++) {
		const struct ipt_rule *r = &p->rules.v[c->rules[i]];
		uint32_t t = ipt__chain_id(p, r->target);
		struct kreach next = *via;

		if (t == KNONE)
			continue;
		next.local_only |= r->local_dst;
		ipt__mark(p, t, hook, &next, depth + 1);
	}
}

/* How PREROUTING and OUTPUT reach each chain (first rule that leads there). */
static void ipt__reach(struct ipt *p)
{
	static const char *const base[KHOOK_MAX] = { "PREROUTING", "OUTPUT" };

	for (int h = 0; h < KHOOK_MAX; h++) {
		uint32_t b = ipt__chain_id(p, base[h]);
		struct ipt_chain *c;

		if (b == KNONE)
			continue;
		c = &p->chains.v[b];
		c->reach[h] = (struct kreach){ .reached = true, .prio = IPT_NAT_PRIO,
					       .table = p->nat, .base = c->name };
		for (uint32_t i = 0; i < c->nrules; i++) {
			const struct ipt_rule *r = &p->rules.v[c->rules[i]];
			uint32_t t = ipt__chain_id(p, r->target);
			struct kreach via = { .reached = true, .local_only = r->local_dst,
					      .prio = IPT_NAT_PRIO, .pos = i, .table = p->nat,
					      .base = c->name, .text = r->text };

			if (t != KNONE && t != b)
				ipt__mark(p, t, h, &via, 0);
		}
	}
}

/* The reach of one rule: its chain's, narrowed by its own matches. */
static void ipt__rule_reach(const struct ipt *p, const struct ipt_rule *r, struct kreach *out)
{
	const struct ipt_chain *c = &p->chains.v[r->chain];
	bool base = !strcmp(c->name, "PREROUTING") || !strcmp(c->name, "OUTPUT");

	for (int h = 0; h < KHOOK_MAX; h++) {
		out[h] = c->reach[h];
		if (!out[h].reached)
			continue;
		kreach__narrow(&out[h], r->local_dst);
		if (base) {
			out[h].pos = r->pos;
			out[h].text = r->text;
		}
	}
}

struct ipt_svcname {
	char ns[256], name[256], port[256];
	uint8_t kind;
};

/* "ns/svc:port cluster IP" (@want_kind) or "ns/svc:port"; port may be empty. */
static int ipt__svc_comment(const char *c, bool want_kind, struct ipt_svcname *out)
{
	static const struct {
		const char *suffix;
		uint8_t kind;
	} kinds[] = {
		{ " cluster IP", K8S_KIND_CLUSTER_IP },
		{ " external IP", K8S_KIND_EXTERNAL_IP },
		{ " loadbalancer IP", K8S_KIND_LB_IP },
	};
	size_t n = strlen(c), slash, colon;

	out->kind = 0;
	for (size_t i = 0; want_kind && i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		size_t sl = strlen(kinds[i].suffix);

		if (n > sl && !strcmp(c + n - sl, kinds[i].suffix)) {
			n -= sl;
			out->kind = kinds[i].kind;
		}
	}
	if ((want_kind && !out->kind) || memchr(c, ' ', n))
		return -EINVAL;
	slash = strcspn(c, "/");
	if (!slash || slash >= n || slash >= sizeof(out->ns))
		return -EINVAL;
	colon = slash + 1 + strcspn(c + slash + 1, ":");
	if (colon > n)
		colon = n;
	if (colon == slash + 1 || colon - slash - 1 >= sizeof(out->name) ||
	    (colon < n && n - colon - 1 >= sizeof(out->port)))
		return -EINVAL;
	snprintf(out->ns, sizeof(out->ns), "%.*s", (int)slash, c);
	snprintf(out->name, sizeof(out->name), "%.*s", (int)(colon - slash - 1), c + slash + 1);
	snprintf(out->port, sizeof(out->port), "%.*s", colon < n ? (int)(n - colon - 1) : 0,
		 colon < n ? c + colon + 1 : "");
	return 0;
}

static int ipt__collect(struct ipt *p, uint32_t svcport, uint32_t chain, int depth,
			uint32_t *found)
{
	struct ipt_chain *c = &p->chains.v[chain];
	int err = 0;

	if (depth > IPT_MAX_DEPTH || c->gen == p->walks.walk)
		return 0;
	c->gen = p->walks.walk;
	for (uint32_t i = 0; i < c->nrules && !err; i++) {
		const struct ipt_rule *r = &p->rules.v[c->rules[i]];
		uint32_t t = ipt__chain_id(p, r->target);

		if (r->has_to && r->target && !strcmp(r->target, "DNAT") &&
		    r->to.family == p->family && !r->to_end.family) {
			uint16_t port = r->to_lo ? r->to_lo : p->idx->svcports.v[svcport].port;

			err = kindex__add_ep(p->idx, svcport, &r->to, port, true, KO_IPTABLES, NULL,
					     NULL);
			(*found)++;
		} else if (t != KNONE && kstr_prefix(r->target, "KUBE-") &&
			   !kstr_prefix(r->target, "KUBE-MARK-")) {
			err = ipt__collect(p, svcport, t, depth + 1, found);
		}
	}
	return err;
}

/* The DNAT targets reachable from a Service's chain are its endpoints. */
static int ipt__endpoints(struct ipt *p, uint32_t svcport, uint32_t chain)
{
	uint32_t found = 0;
	int err = kindex__svc_walk(p->idx, &p->walks, svcport);

	return err ?: ipt__collect(p, svcport, chain, 0, &found);
}

static bool ipt__svc_rule(const struct ipt *p, const struct ipt_rule *r, uint32_t *t)
{
	*t = ipt__chain_id(p, r->target);
	return r->comment && r->proto && r->dport_lo && r->dport_lo == r->dport_hi &&
	       *t != KNONE && !kstr_prefix(r->target, "KUBE-MARK-");
}

/* Does r belong to a KUBE-SERVICES (cluster) or KUBE-NODEPORTS Service rule? */
static bool ipt__svc_match(const struct ipt *p, const struct ipt_rule *r, bool cluster,
			   uint32_t *t, struct ipt_svcname *sn)
{
	if (!ipt__svc_rule(p, r, t))
		return false;
	/* -d 127.0.0.0/8 rules repeat the NodePort for localhost. */
	if (!cluster)
		return !r->has_dst && !ipt__svc_comment(r->comment, false, sn);
	return r->has_dst && !r->dst_neg && r->dst_plen == (p->family == AF_INET ? 32 : 128) &&
	       !ipt__svc_comment(r->comment, true, sn);
}

typedef int (*ipt_svc_fn)(struct ipt *p, const struct ipt_rule *r, const struct ipt_svcname *sn,
			  struct ksvcport *sp, uint32_t id, uint32_t t);

/* Each "ns/svc:port" rule of KUBE-SERVICES or KUBE-NODEPORTS, with its Service port. */
static int ipt__each_svc(struct ipt *p, const char *chain, bool cluster, ipt_svc_fn fn)
{
	uint32_t kc = ipt__chain_id(p, chain);
	const struct ipt_chain *c = kc == KNONE ? NULL : &p->chains.v[kc];
	int err = 0;

	for (uint32_t i = 0; c && i < c->nrules && !err; i++) {
		const struct ipt_rule *r = &p->rules.v[c->rules[i]];
		struct ipt_svcname sn;
		struct ksvcport *sp;
		uint32_t t, id;

		if (!ipt__svc_match(p, r, cluster, &t, &sn))
			continue;
		sp = kindex__svcport(p->idx, sn.ns, sn.name, r->proto, sn.port, &id);
		if (!sp)
			return -ENOMEM;
		err = fn(p, r, &sn, sp, id, t);
	}
	return err;
}

/* KUBE-SERVICES: "ns/svc:port cluster IP" rules name the VIPs. */
static int ipt__service(struct ipt *p, const struct ipt_rule *r, const struct ipt_svcname *sn,
			struct ksvcport *sp, uint32_t id, uint32_t t)
{
	int err;

	sp->port = r->dport_lo;
	if (sn->kind == K8S_KIND_CLUSTER_IP) {
		sp->table = p->nat;
		sp->chain = p->chains.v[t].name;
	}
	p->claims |= 1u << sn->kind;
	err = kindex__add_vip(p->idx, id, sn->kind, &r->dst, KO_IPTABLES, p->nat,
			      p->chains.v[t].name);
	return err ? err : ipt__endpoints(p, id, t);
}

/* KUBE-NODEPORTS: "ns/svc:port" rules with --dport NODEPORT. */
static int ipt__nodeport(struct ipt *p, const struct ipt_rule *r, const struct ipt_svcname *sn,
			 struct ksvcport *sp, uint32_t id, uint32_t t)
{
	int err;

	(void)sn;
	sp->node_port = r->dport_lo;
	err = kindex__add_nodeport(p->idx, id, p->family, KO_IPTABLES, p->nat,
				   p->chains.v[t].name);
	return !err && sp->port ? ipt__endpoints(p, id, t) : err;
}

/* What KUBE-SERVICES translates or accepts, and kube-proxy's mode. */
static uint8_t ipt__kube_claims(const struct ipt *p, uint32_t ks, uint8_t *mode)
{
	const struct ipt_chain *c = &p->chains.v[ks];
	uint8_t claims = p->claims;

	*mode = KMODE_IPTABLES;
	for (uint32_t i = 0; i < c->nrules; i++) {
		const struct ipt_rule *r = &p->rules.v[c->rules[i]];
		bool accept = r->target && !strcmp(r->target, "ACCEPT");
		const char *set = r->match_set;

		if (r->target && !strcmp(r->target, "KUBE-NODEPORTS"))
			claims |= 1u << K8S_KIND_NODE_PORT;
		if (!set)
			continue;
		if (strstr(set, "CLUSTER-IP"))
			*mode = KMODE_IPVS;
		if (accept && strstr(set, "CLUSTER-IP"))
			claims |= 1u << K8S_KIND_CLUSTER_IP;
		if (accept && strstr(set, "EXTERNAL-IP"))
			claims |= 1u << K8S_KIND_EXTERNAL_IP;
		if (accept && strstr(set, "LOAD-BALANCER"))
			claims |= 1u << K8S_KIND_LB_IP;
	}
	return claims;
}

/*
 * nodePortAddresses: KUBE-SERVICES jumps to KUBE-NODEPORTS with `-d ADDR`,
 * one jump per node address kube-proxy serves NodePorts at, where without
 * it one jump takes every local address (--dst-type LOCAL).  Older
 * kube-proxy could write both (a zero CIDR among the option's, met after
 * another): scoped only when every jump names one address.
 */
static int ipt__nodeport_ips(struct ipt *p, uint32_t ks)
{
	const struct ipt_chain *c = &p->chains.v[ks];
	uint8_t plen = p->family == AF_INET ? 32 : 128;
	int err = 0;

	for (int add = 0; add < 2; add++) {
		for (uint32_t i = 0; i < c->nrules && !err; i++) {
			const struct ipt_rule *r = &p->rules.v[c->rules[i]];

			if (!r->target || strcmp(r->target, "KUBE-NODEPORTS"))
				continue;
			if (!r->has_dst || r->dst_neg || r->dst_plen != plen)
				return 0; /* every local address */
			if (!add)
				continue;
			err = kindex__add_local(p->idx, &r->dst, NULL, KO_IPTABLES);
			p->idx->np_scoped[kfam__idx(p->family)] = true;
		}
	}
	return err;
}

/* kube-proxy's jumps from PREROUTING/OUTPUT into KUBE-SERVICES. */
static int ipt__kube(struct ipt *p)
{
	static const char *const base[KHOOK_MAX] = { "PREROUTING", "OUTPUT" };
	uint32_t ks = ipt__chain_id(p, "KUBE-SERVICES");
	uint8_t mode, claims;
	int err;

	if (ks == KNONE)
		return 0;
	err = ipt__nodeport_ips(p, ks);
	if (err)
		return err;
	claims = ipt__kube_claims(p, ks, &mode);
	for (int h = 0; h < KHOOK_MAX; h++) {
		uint32_t b = ipt__chain_id(p, base[h]);
		const struct ipt_chain *c = b == KNONE ? NULL : &p->chains.v[b];

		for (uint32_t i = 0; c && i < c->nrules; i++) {
			const struct ipt_rule *r = &p->rules.v[c->rules[i]];
			struct kkube *k;

			if (!r->target || strcmp(r->target, "KUBE-SERVICES"))
				continue;
			k = KVEC_PUSH(&p->idx->kubes);
			if (!k)
				return -ENOMEM;
			*k = (struct kkube){ .family = p->family, .hook = h, .mode = mode,
					     .origin = KO_IPTABLES, .claims = claims,
					     .prio = IPT_NAT_PRIO, .pos = i, .table = p->nat,
					     .base = c->name, .text = r->text };
			break;
		}
	}
	return 0;
}

/* `dnat name: "NET" id: "SANDBOX"` (the id may be cut at 256 bytes). */
static const char *ipt__comment_field(struct kindex *idx, const char *c, const char *key)
{
	const char *v = strstr(c, key);
	size_t n;

	if (!v)
		return NULL;
	v += strlen(key);
	n = strcspn(v, "\"");
	return n ? karena__strndup(&idx->arena, v, n) : NULL;
}

/*
 * kubelet's hostport comment, "NAME_NAMESPACE hostport N" (a pod's name
 * and namespace hold no '_'): the hostPort in *@port, the pod in *@ns and
 * *@name.  Left alone when the comment is not of that form.
 */
static void ipt__hp_comment(struct ipt *p, const char *comment, uint16_t *port, const char **ns,
			    const char **name)
{
	const char *hp = comment ? strstr(comment, " hostport ") : NULL;
	const char *us = comment ? memchr(comment, '_', hp ? (size_t)(hp - comment) : 0) : NULL;
	const char *num = hp ? hp + strlen(" hostport ") : NULL;

	if (!num || kport__parse(num, strlen(num), port))
		return;
	if (!us || us == comment || us + 1 == hp || memchr(us + 1, '_', hp - us - 1))
		return;
	*name = karena__strndup(&p->idx->arena, comment, us - comment);
	*ns = karena__strndup(&p->idx->arena, us + 1, hp - us - 1);
}

static int ipt__hostport(struct ipt *p, const struct ipt_chain *c, const struct ipt_rule *r)
{
	struct khostport *hp;
	uint16_t port = r->dport_lo == r->dport_hi ? r->dport_lo : 0;
	const char *pod_ns = NULL, *pod_name = NULL;

	if (ipt__hp_chain(c->name) && !port) /* the port is on KUBE-HOSTPORTS' jump */
		ipt__hp_comment(p, r->comment, &port, &pod_ns, &pod_name);
	if (!r->proto || !port || r->to.family != p->family || r->to_lo != r->to_hi ||
	    r->to_end.family) {
		p->idx->skipped_rules++;
		kindex__warn(p->idx, "%s:%u: hostPort DNAT rule not understood, ignored: %s",
			     p->idx->src_name, r->line, r->text);
		return 0;
	}
	hp = KVEC_PUSH(&p->idx->hostports);
	if (!hp)
		return -ENOMEM;
	kkey__set(&hp->key, p->family, NULL, r->proto, port);
	if (r->has_dst && !r->dst_neg)
		hp->host_ip = r->dst;
	hp->to = r->to;
	hp->to_port = r->to_lo ? r->to_lo : port;
	hp->origin = KO_IPTABLES;
	hp->table = p->nat;
	hp->chain = c->name;
	hp->sandbox = c->sandbox;
	hp->net = c->net;
	hp->text = r->text;
	hp->pod_ns = pod_ns;
	hp->pod_name = pod_ns ? pod_name : NULL;
	ipt__rule_reach(p, r, hp->reach);
	return 0;
}

/* CNI-HOSTPORT-DNAT -> CNI-DN-* chains of the portmap plugin; kubelet's
 * KUBE-HOSTPORTS -> KUBE-HP-*. */
static int ipt__portmap(struct ipt *p)
{
	uint32_t top = ipt__chain_id(p, "CNI-HOSTPORT-DNAT");
	const struct ipt_chain *c = top == KNONE ? NULL : &p->chains.v[top];
	int err = 0;

	for (uint32_t i = 0; c && i < c->nrules; i++) {
		const struct ipt_rule *r = &p->rules.v[c->rules[i]];
		uint32_t t = ipt__chain_id(p, r->target);

		if (t == KNONE || !r->comment || p->chains.v[t].sandbox)
			continue;
		p->chains.v[t].sandbox = ipt__comment_field(p->idx, r->comment, "id: \"");
		p->chains.v[t].net = ipt__comment_field(p->idx, r->comment, "name: \"");
	}
	for (uint32_t i = 0; i < p->chains.n && !err; i++) {
		const struct ipt_chain *dn = &p->chains.v[i];

		if (!kstr_prefix(dn->name, "CNI-DN-") && !ipt__hp_chain(dn->name))
			continue;
		for (uint32_t j = 0; j < dn->nrules && !err; j++) {
			const struct ipt_rule *r = &p->rules.v[dn->rules[j]];

			if (r->target && !strcmp(r->target, "DNAT"))
				err = ipt__hostport(p, dn, r);
		}
	}
	return err;
}

/*
 * The connections rule @r never sees (struct kexcl): those the rules ahead
 * of it in its chain take away, and those ahead of the jump to its chain,
 * up to the base chain, where one jump alone leads there.  Into the index's
 * arena: *@out and *@n.
 */
static int ipt__excl(struct ipt *p, const struct ipt_rule *r, const struct kexcl **out,
		     uint8_t *n)
{
	struct kexcl e[KEXCL_MAX];

	*n = 0;
	*out = NULL;
	if (p->two_nat)
		return 0;
	if (p->excl && p->excl_chain == r->chain && p->excl_before == r->excl_before) {
		*out = p->excl; /* the rule before it in its chain had the same */
		*n = p->nexcl;
		return 0;
	}
	p->excl = NULL;
	p->excl_chain = r->chain;
	p->excl_before = r->excl_before;
	for (int depth = 0; depth <= IPT_MAX_DEPTH; depth++) {
		const struct ipt_chain *c = &p->chains.v[r->chain];

		for (uint32_t i = r->excl_before; i && *n < KEXCL_MAX;) {
			const struct ipt_rule *x = &p->rules.v[c->rules[i - 1]];

			e[(*n)++] = (struct kexcl){ .dst = x->dst, .dst_plen = x->dst_plen,
						    .proto = x->proto, .dport_lo = x->dport_lo,
						    .dport_hi = x->dport_hi };
			i = x->excl_before;
		}
		/* a base chain, or more than one way in (or maybe) */
		if (c->njumps != 1 || p->jumps_unsure)
			break;
		r = &p->rules.v[c->jump];
	}
	*out = *n ? karena__memdup(&p->idx->arena, e, *n * sizeof(e[0])) : NULL;
	if (*n && !*out)
		return -ENOMEM;
	p->excl = *out;
	p->nexcl = *n;
	return 0;
}

static int ipt__other(struct ipt *p, const struct ipt_rule *r, uint16_t lo, uint16_t hi,
		      const struct kexcl *excl, uint8_t nexcl)
{
	struct krule *k = KVEC_PUSH(&p->idx->rules);

	if (!k)
		return -ENOMEM;
	kkey__set(&k->key, p->family,
		  krule__key_addr(r->has_dst && !r->dst_neg, &r->dst, r->dst_plen, p->family),
		  r->proto, lo == hi ? lo : 0);
	k->dport_lo = lo;
	k->dport_hi = hi;
	if (r->has_dst) {
		k->dst = r->dst;
		k->dst_plen = r->dst_plen;
		k->dst_neg = r->dst_neg;
	}
	k->src = r->src;
	k->src_plen = r->src_plen;
	k->src_neg = r->src_neg;
	k->redirect = !strcmp(r->target, "REDIRECT");
	if (r->has_to) {
		k->to = r->to;
		k->to_end = r->to_end;
	}
	k->to_port_lo = r->to_lo;
	k->to_port_hi = r->to_hi;
	k->origin = KO_IPTABLES;
	k->table = p->nat;
	k->chain = p->chains.v[r->chain].name;
	k->text = r->text;
	k->excl = excl;
	k->nexcl = nexcl;
	ipt__rule_reach(p, r, k->reach);
	return 0;
}

/* Every DNAT/REDIRECT rule that is neither kube-proxy's nor portmap's. */
static int ipt__others(struct ipt *p)
{
	int err = 0;

	for (uint32_t i = 0; i < p->rules.n && !err; i++) {
		const struct ipt_rule *r = &p->rules.v[i];
		const char *chain = p->chains.v[r->chain].name;
		const struct kexcl *excl;
		uint8_t nexcl;

		if (!r->target || (strcmp(r->target, "DNAT") && strcmp(r->target, "REDIRECT")))
			continue;
		if (ipt__kube_chain(chain) && r->to_end.family) {
			/* kube-proxy writes none: not an endpoint (ipt__collect()) */
			p->idx->skipped_rules++;
			kindex__warn(p->idx, "%s:%u: DNAT to an address range in kube-proxy's chain "
				     "%s, ignored", p->idx->src_name, r->line, chain);
			continue;
		}
		if (ipt__kube_chain(chain) || kstr_prefix(chain, "CNI-DN-") ||
		    ipt__hp_chain(chain))
			continue;
		if (!strcmp(r->target, "DNAT") &&
		    (r->to.family ? r->to.family != p->family : !r->to_lo)) {
			p->idx->skipped_rules++;
			kindex__warn(p->idx, "%s:%u: DNAT without --to-destination, ignored",
				     p->idx->src_name, r->line);
			continue;
		}
		err = ipt__excl(p, r, &excl, &nexcl);
		if (!err && !r->nmports)
			err = ipt__other(p, r, r->dport_lo, r->dport_hi, excl, nexcl);
		for (uint8_t m = 0; m < r->nmports && !err; m++)
			err = ipt__other(p, r, r->mports_lo[m], r->mports_hi[m], excl, nexcl);
	}
	return err;
}

static void ipt__free(struct ipt *p)
{
	for (uint32_t i = 0; i < p->chains.n; i++)
		free(p->chains.v[i].rules);
	free(p->chains.v);
	free(p->rules.v);
	free(p->scratch);
	free(p->walks.gen);
	kstrmap__free(&p->chain_ids);
}

const char *const kipt_chains[] = { "PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING",
				    NULL };

bool kipt__table_name(const char *table)
{
	static const char *const tables[] = { "nat", "filter", "mangle", "raw", "security" };

	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
		if (!strcmp(table, tables[i]))
			return true;
	return false;
}

bool kipt__chain_name(const char *chain)
{
	for (size_t i = 0; kipt_chains[i]; i++)
		if (!strcmp(chain, kipt_chains[i]))
			return true;
	return false;
}

/* Does the line at @l (up to @end) start with @s? */
static bool ipt__starts(const char *l, const char *end, const char *s)
{
	size_t n = strlen(s);

	return (size_t)(end - l) >= n && !memcmp(l, s, n);
}

enum kipt_nat_said kindex__ipt_nat_said(const char *data, size_t len)
{
	const char *end = data + len;

	for (const char *l = data; l && l < end;) {
		const char *nl = memchr(l, '\n', (size_t)(end - l));

		if (ipt__starts(l, end, "# Table `nat' is incompatible"))
			return KIPT_NAT_INCOMPATIBLE;
		if (ipt__starts(l, end, "# Table `nat' contains incompatible base-chains"))
			return KIPT_NAT_TAINTED;
		l = nl ? nl + 1 : NULL;
	}
	return KIPT_NAT_OWN;
}

int ruleset_ipt__parse(struct kindex *idx, uint8_t family, const char *data, size_t len,
		       char *errbuf, size_t errlen)
{
	const char *name = idx->src_name ? idx->src_name : "";
	struct ipt p = { .idx = idx, .family = family, .errbuf = errbuf, .errlen = errlen,
			 .nat = strstr(name, "legacy")	 ? "nat (legacy)" :
				strstr(name, "nft-save") ? "nat (nft)" :
							   "nat" };
	int err = ipt__read(&p, data, len);

	if (!err)
		err = ipt__index_chains(&p);
	if (!err) {
		ipt__reach(&p);
		err = ipt__each_svc(&p, "KUBE-SERVICES", true, ipt__service);
	}
	if (!err)
		err = ipt__each_svc(&p, "KUBE-NODEPORTS", false, ipt__nodeport);
	if (!err)
		err = ipt__kube(&p);
	if (!err)
		err = ipt__portmap(&p);
	if (!err)
		err = ipt__others(&p);
	if (err && !errbuf[0])
		snprintf(errbuf, errlen, "%s: %s", idx->src_name, strerror(-err));
	if (!err) {
		enum kipt_nat_said said = kindex__ipt_nat_said(data, len);

		if (said > idx->ipt_nat_said[kfam__idx(family)])
			idx->ipt_nat_said[kfam__idx(family)] = said;
	}
	ipt__free(&p);
	return err;
}
