// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * `nft -j list ruleset` -> kindex.
 *
 *   table ip/ip6 kube-proxy   (kube-proxy nftables mode): the service-ips map
 *       (ADDR . PROTO . PORT : goto service-HASH-ns/svc/proto/port or
 *       external-...), the service-nodeports map (PROTO . PORT : goto ...),
 *       the cluster-ips and nodeport-ips sets, the endpoint-* chains' "dnat to"
 *       rules reached from a Service's chain, and the nat-prerouting /
 *       nat-output base chains' "jump services".
 *   table ip/ip6 cni_hostport (CNI portmap, nftables backend): "dnat to" rules
 *       in hostports / hostip_hostports, comment = sandbox id, reached from
 *       the prerouting/output base chains (with or without "fib daddr type
 *       local"; via hostports_all in newer plugins).
 *   any other table: every dnat/redirect rule, as a "rule"; a DNAT through a
 *       map (`dnat to ip daddr . tcp dport map @fwd`) as one rule per element
 *       (nft__map_rules()).
 * Tables written by iptables-nft ("xt" expressions, or iptables' upper-case
 * base chains) are skipped: read them with iptables-save.  But iptables' nat
 * table is read where an iptables-save dump added before called it
 * incompatible (nft's rules in it, often iptables-restore-translate's), its
 * iptables-nft rules counted as unread (nft__xt_unread()).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "k8s_int.h"

#define NFT_MAX_PORTS 16
#define NFT_MAX_DEPTH 16
#define NFT_MAX_KEY 8 /* parts of a map's concatenated key */

enum nft_table_kind { NFT_GENERIC, NFT_KUBE, NFT_CNI, NFT_SKIP };

struct nft_table {
	const char *family, *name; /* JSON strings */
	const char *iname; /* arena copy */
	uint8_t af; /* AF_INET, AF_INET6, 0: inet and others */
	uint8_t kind;
	bool xt, upper_base;
	/* iptables' nat table where iptables-save said it holds base chains of
	 * nft's (KIPT_NAT_TAINTED): only what those reach is read here (the
	 * chains nft__reach() marks from them alone) */
	bool tainted;
};

struct nft_chain {
	uint32_t table;
	const char *name, *iname;
	int hook; /* KHOOK_*, -1: not a NAT prerouting/output base chain */
	int32_t prio;
	uint32_t *rules; /* indexes into nft.rules */
	uint32_t nrules, cap;
	struct kreach reach[KHOOK_MAX];
	uint32_t gen;
	bool ipt_own; /* a base chain iptables-nft takes for its own (nft_citem) */
};

/* What one rule matches and does. */
struct nft_rinfo {
	uint8_t proto;
	uint8_t nports;
	uint16_t port_lo[NFT_MAX_PORTS], port_hi[NFT_MAX_PORTS];
	struct kaddr dst;
	uint8_t dst_plen;
	bool has_dst, dst_neg, local_only, dnat, redirect, xt, bad;
	bool never; /* its matches exclude one another: no packet matches it */
	struct kaddr to, to_end; /* to_end: an address range's end (family 0: none) */
	uint16_t to_lo, to_hi;
	const char *jump, *comment;
	/* A DNAT through a map: its {"key", "data"} (a reference held) and the
	 * family the dnat statement names; then, per element (nft__map_rules()),
	 * the source prefix its key names and its text, in the index. */
	struct json_object *map;
	uint8_t map_af;
	bool map_port; /* the map gives the port (`dnat to A : tcp dport map`), not the address */
	uint8_t nfproto; /* the family an `ip`/`ip6` match or `meta nfproto` implies; 0: none */
	uint8_t nat_af; /* the family the dnat statement names (`dnat ip to :8080`); 0: none */
	bool src_neg; /* ip saddr != ... */
	bool netmap; /* dnat ip prefix to: to_netmap is the prefix's length */
	uint8_t to_netmap;
	/* a map's element within the rule's `!=` match: the prefix left out */
	struct kaddr dst_ex, src_ex;
	uint8_t dst_ex_plen, src_ex_plen;
	/* `ip daddr { A, B/24, C-D }` or `ip daddr @name`: the set (a reference
	 * held), one rule per address, prefix or range (nft__dset_rules()). */
	struct json_object *dset;
	struct kaddr src;
	uint8_t src_plen;
	const char *etext;
};

/*
 * The list is read item by item (kjson__each_in()): `nft -j` of a big
 * node's kube-proxy table is tens of MB, and json-c's tree of it twenty
 * times that.  So each item is taken as it comes and freed: a table at
 * once, a chain and a rule as what the passes below ask of them (struct
 * nft_citem, struct nft_ritem), in the list's order; the JSON is kept only
 * of kube-proxy's four sets and maps the passes read (nft__kube_sets()), and
 * of a rule listed before its table.
 */
/* Where a chain or rule item says it is, in nft.tmp; NULL when absent. */
struct nft_place {
	const char *family, *table, *name; /* name: the chain's, or the rule's chain */
};

struct nft_citem {
	size_t at; /* its place in the list, for messages */
	struct nft_place where;
	int hook; /* KHOOK_* of a NAT prerouting/output base chain, else -1 */
	int32_t prio;
	bool base; /* it has a hook */
	/* a nat base chain iptables-nft takes for its own: a built-in name with
	 * its hook and priority (iptables 1.8.8's nft_cache_add_base_chain()) */
	bool ipt_own;
};

/* A verdict's target chain: its name, then (nft__rule()) its index or KNONE. */
struct nft_target {
	const char *name;
	uint32_t chain;
};

struct nft_ritem {
	size_t at;
	struct nft_place where;
	struct json_object *json; /* its table not known when it came: read at collection */
	bool expr; /* it has an "expr" array */
	bool xt; /* an iptables-nft "xt" expression */
	struct nft_rinfo ri; /* jump and comment in nft.tmp */
	uint32_t jump; /* the chain ri.jump names, or KNONE (nft__rule()) */
	uint32_t targets, ntargets; /* nft__targets(), in nft.targets */
	const char *text; /* nft__render() in nft.tmp where it may be shown: a dnat,
			   * redirect, jump or goto; else NULL */
	const char *itext; /* @text in the index, once it is shown */
};

struct nft {
	struct kindex *idx;
	size_t at; /* items read */
	KVEC(struct nft_table) tables;
	KVEC(struct nft_chain) chains;
	KVEC(struct nft_citem) citems;
	KVEC(struct nft_ritem) rules;
	KVEC(struct nft_target) targets;
	KVEC(struct json_object *) sets; /* list items kept for nft__kube_sets() */
	KVEC(struct json_object *) dmaps; /* maps and sets of addresses ("map"/"set" items'
					   * values), for nft__map_rules(), nft__dset_rules() */
	struct kstrmap table_ids, chain_ids, cluster_ips;
	struct kstrmap chain_kinds; /* chains listed so far: 2 a NAT base chain, 1 another */
	struct karena tmp; /* keys of the maps above, the items' strings */
	struct ksvc_walk walks; /* chain visits, per Service port */
	bool full; /* nft__room() */
	uint32_t tried; /* nft__room()'s calls: element prefixes tried against their rules */
};

static const char *nft__key(char *buf, size_t len, const char *family, const char *table,
			    const char *chain)
{
	snprintf(buf, len, "%s\x1f%s\x1f%s", family ? family : "", table ? table : "",
		 chain ? chain : "");
	return buf;
}

static uint32_t nft__chain_id(struct nft *p, const struct nft_table *t, const char *name)
{
	char key[768];

	if (!name)
		return KNONE;
	nft__key(key, sizeof(key), t->family, t->name, name);
	return kstrmap__get(&p->chain_ids, key, strlen(key));
}

static uint32_t nft__table_id(struct nft *p, const char *family, const char *name)
{
	char key[768];

	if (!family || !name)
		return KNONE;
	nft__key(key, sizeof(key), family, name, NULL);
	return kstrmap__get(&p->table_ids, key, strlen(key));
}

static int nft__table(struct nft *p, struct json_object *o)
{
	const char *family = kjson__str(o, "family"), *name = kjson__str(o, "name"), *key;
	struct nft_table *t;
	char buf[768];

	if (!family || !name || nft__table_id(p, family, name) != KNONE)
		return -EINVAL;
	t = KVEC_PUSH(&p->tables);
	key = karena__strdup(&p->tmp, nft__key(buf, sizeof(buf), family, name, NULL));
	if (!t || !key || kstrmap__put(&p->table_ids, key, p->tables.n - 1))
		return -ENOMEM;
	t->family = karena__strdup(&p->tmp, family);
	t->name = karena__strdup(&p->tmp, name);
	if (!t->family || !t->name)
		return -ENOMEM;
	t->af = !strcmp(family, "ip") ? AF_INET : !strcmp(family, "ip6") ? AF_INET6 : 0;
	t->iname = karena__strdup(&p->idx->arena, name);
	if (!strcmp(name, "kube-proxy"))
		t->kind = NFT_KUBE;
	else if (!strcmp(name, "cni_hostport"))
		t->kind = NFT_CNI;
	return t->iname ? 0 : -ENOMEM;
}

/* @s copied to the items' arena (NULL stays NULL): 0, or -ENOMEM. */
static int nft__keep_str(struct nft *p, const char **s)
{
	if (!*s)
		return 0;
	*s = karena__strdup(&p->tmp, *s);
	return *s ? 0 : -ENOMEM;
}

/* The family, table and @name_key of item @o into *@w: 0, or -ENOMEM. */
static int nft__place(struct nft *p, struct json_object *o, const char *name_key,
		      struct nft_place *w)
{
	w->family = kjson__str(o, "family");
	w->table = kjson__str(o, "table");
	w->name = kjson__str(o, name_key);
	return nft__keep_str(p, &w->family) ?: nft__keep_str(p, &w->table) ?:
		nft__keep_str(p, &w->name);
}

/* Is base chain @name of @hook and @prio one of iptables' nat table's own? */
static bool nft__ipt_nat_chain(const char *name, const char *hook, int32_t prio)
{
	static const struct {
		const char *name, *hook;
		int32_t prio;
	} own[] = {
		{ "PREROUTING", "prerouting", -100 },
		{ "INPUT", "input", 100 },
		{ "OUTPUT", "output", -100 },
		{ "POSTROUTING", "postrouting", 100 },
	};

	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
		if (!strcmp(name, own[i].name))
			return !strcmp(hook, own[i].hook) && prio == own[i].prio;
	return false;
}

/* A "chain" item, as nft__chain() will ask of it. */
static int nft__chain_read(struct nft *p, struct json_object *o)
{
	struct nft_citem *ci = KVEC_PUSH(&p->citems);
	const char *hook = kjson__str(o, "hook"), *type = kjson__str(o, "type"), *key;
	int64_t prio = 0;
	char buf[768];

	if (!ci)
		return -ENOMEM;
	ci->at = p->at;
	ci->hook = -1;
	ci->base = hook;
	if (type && !strcmp(type, "nat") && hook) {
		kjson__int(o, "prio", INT32_MIN, INT32_MAX, &prio);
		ci->prio = (int32_t)prio;
		if (!strcmp(hook, "prerouting"))
			ci->hook = KHOOK_PREROUTING;
		else if (!strcmp(hook, "output"))
			ci->hook = KHOOK_OUTPUT;
	}
	if (nft__place(p, o, "name", &ci->where))
		return -ENOMEM;
	ci->ipt_own = type && !strcmp(type, "nat") && hook && ci->where.name &&
		      nft__ipt_nat_chain(ci->where.name, hook, ci->prio);
	key = karena__strdup(&p->tmp, nft__key(buf, sizeof(buf), ci->where.family,
						ci->where.table, ci->where.name));
	return key && !kstrmap__put(&p->chain_kinds, key, ci->hook >= 0 ? 2 : 1) ? 0 : -ENOMEM;
}

static int nft__chain(struct nft *p, const struct nft_citem *ci)
{
	const struct nft_place *w = &ci->where;
	uint32_t t = nft__table_id(p, w->family, w->table);
	struct nft_chain *c;
	const char *key;
	char buf[768];

	if (t == KNONE || !w->name)
		return -EINVAL;
	c = KVEC_PUSH(&p->chains);
	key = karena__strdup(&p->tmp, nft__key(buf, sizeof(buf), w->family, w->table, w->name));
	if (!c || !key || kstrmap__put(&p->chain_ids, key, p->chains.n - 1))
		return -ENOMEM;
	c->table = t;
	c->name = w->name;
	c->hook = ci->hook;
	c->prio = ci->prio;
	c->ipt_own = ci->ipt_own;
	if (ci->base && p->tables.v[t].af && kipt__table_name(w->table) &&
	    kipt__chain_name(w->name))
		p->tables.v[t].upper_base = true; /* iptables-nft's, by its look */
	return 0;
}

static bool nft__has_xt(struct json_object *expr)
{
	size_t n = json_object_array_length(expr);

	for (size_t i = 0; i < n; i++)
		if (json_object_object_get_ex(json_object_array_get_idx(expr, i), "xt", NULL))
			return true;
	return false;
}

/* The single member of a {"kind": {...}} list element. */
static const char *nft__elem(struct json_object *e, struct json_object **val)
{
	struct json_object_iter it;

	*val = NULL;
	if (!json_object_is_type(e, json_type_object) || json_object_object_length(e) != 1)
		return NULL;
	json_object_object_foreachC(e, it)
	{
		*val = it.val;
		return it.key;
	}
	return NULL;
}

static int nft__port(struct json_object *v, uint16_t *port)
{
	int64_t n;

	if (!json_object_is_type(v, json_type_int))
		return -EINVAL;
	n = json_object_get_int64(v);
	if (n < 1 || n > 65535)
		return -EINVAL;
	*port = (uint16_t)n;
	return 0;
}

/* 80, {"range": [a, b]} */
static int nft__port_range(struct json_object *v, uint16_t *lo, uint16_t *hi)
{
	struct json_object *r = kjson__get(v, "range", json_type_array), *first;

	if (!r) {
		if (nft__port(v, lo))
			return -EINVAL;
		*hi = *lo;
		return 0;
	}
	first = json_object_array_get_idx(r, 0);
	if (json_object_array_length(r) != 2 || nft__port(json_object_array_get_idx(r, 1), hi))
		return -EINVAL;
	/* `th dport 0-1023`: no connection natwho names has port 0 */
	if (json_object_is_type(first, json_type_int) && json_object_get_int64(first) == 0)
		*lo = 1;
	else if (nft__port(first, lo))
		return -EINVAL;
	return *lo > *hi ? -EINVAL : 0;
}

/*
 * One more match of the destination port, @n ranges: the rule's ports are
 * those of every match (`tcp dport >= 1024 tcp dport { 8080, 8443 }` is
 * 8080 and 8443), none left: it matches nothing.
 */
static int nft__ports_and(struct nft_rinfo *ri, const uint16_t *lo, const uint16_t *hi, size_t n)
{
	uint16_t rlo[NFT_MAX_PORTS], rhi[NFT_MAX_PORTS];
	size_t k = 0;

	if (!ri->nports) {
		memcpy(ri->port_lo, lo, n * sizeof(*lo));
		memcpy(ri->port_hi, hi, n * sizeof(*hi));
		ri->nports = (uint8_t)n;
		return 0;
	}
	for (size_t i = 0; i < ri->nports; i++)
		for (size_t j = 0; j < n; j++) {
			uint16_t l = lo[j] > ri->port_lo[i] ? lo[j] : ri->port_lo[i];
			uint16_t h = hi[j] < ri->port_hi[i] ? hi[j] : ri->port_hi[i];

			if (l > h)
				continue;
			if (k == NFT_MAX_PORTS)
				return -EINVAL;
			rlo[k] = l;
			rhi[k++] = h;
		}
	if (!k) {
		ri->never = true;
		return 0;
	}
	memcpy(ri->port_lo, rlo, k * sizeof(*rlo));
	memcpy(ri->port_hi, rhi, k * sizeof(*rhi));
	ri->nports = (uint8_t)k;
	return 0;
}

/* 80, a range, or {"set": [80, 443, {"range": ...}]} */
static int nft__ports(struct json_object *v, struct nft_rinfo *ri)
{
	struct json_object *set = kjson__get(v, "set", json_type_array);
	size_t n = set ? json_object_array_length(set) : 1;
	uint16_t lo[NFT_MAX_PORTS], hi[NFT_MAX_PORTS];

	if (n > NFT_MAX_PORTS)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = set ? json_object_array_get_idx(set, i) : v;

		if (nft__port_range(e, &lo[i], &hi[i]))
			return -EINVAL;
	}
	return nft__ports_and(ri, lo, hi, n);
}

static int nft__proto(struct json_object *v, uint8_t *proto);

/* `meta l4proto { tcp, udp }`: any protocol where the set holds one with
 * ports (natwho's keys hold one protocol), else one of no connection
 * natwho names (ESP, AH: the rule matches none of them). */
static int nft__proto_set(struct json_object *set, uint8_t *proto)
{
	size_t n = json_object_array_length(set);

	for (size_t i = 0; i < n; i++) {
		uint8_t p;

		if (!nft__proto(json_object_array_get_idx(set, i), &p) &&
		    conn__proto_has_ports(p)) {
			*proto = 0;
			return 0;
		}
	}
	*proto = IPPROTO_RAW;
	return 0;
}

/* A protocol's name or number into *@proto; a set of them, nft__proto_set(). */
static int nft__proto(struct json_object *v, uint8_t *proto)
{
	struct json_object *set = kjson__get(v, "set", json_type_array);
	int64_t n;

	if (set)
		return nft__proto_set(set, proto);
	if (json_object_is_type(v, json_type_string)) {
		const char *s = json_object_get_string(v);

		return kproto__parse(s, strlen(s), proto);
	}
	if (!json_object_is_type(v, json_type_int))
		return -EINVAL;
	n = json_object_get_int64(v);
	if (n < 1 || n > 255)
		return -EINVAL;
	*proto = (uint8_t)n;
	return 0;
}

/* "10.0.0.1" or {"prefix": {"addr": "10.0.0.0", "len": 8}} */
static int nft__addr(struct json_object *v, uint8_t af, struct kaddr *a, uint8_t *plen)
{
	struct json_object *pfx = kjson__get(v, "prefix", json_type_object);
	const char *s;
	int64_t len;

	if (pfx) {
		s = kjson__str(pfx, "addr");
		if (!s || kaddr__parse(s, strlen(s), af, a) ||
		    kjson__int(pfx, "len", 0, a->family == AF_INET ? 32 : 128, &len))
			return -EINVAL;
		*plen = (uint8_t)len;
		return 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return -EINVAL;
	s = json_object_get_string(v);
	if (kaddr__parse(s, strlen(s), af, a))
		return -EINVAL;
	*plen = a->family == AF_INET ? 32 : 128;
	return 0;
}

static bool nft__overlap(const struct kaddr *a, uint8_t alen, const struct kaddr *b, uint8_t blen);
static int nft__narrow(const struct kaddr *a, uint8_t plen, bool has, struct kaddr *m,
		       uint8_t *mplen, bool *mneg, struct kaddr *ex, uint8_t *explen);

/*
 * The rule's destination match, and @right (negated: @neg) besides it:
 * `ip daddr 10.0.0.0/8 ip daddr != 10.96.0.0/12` is the first but the
 * second, not the last alone.  An exclusion natwho cannot keep (a third)
 * widens the rule, never narrows it.
 */
static int nft__daddr_and(struct json_object *right, bool neg, uint8_t af, struct nft_rinfo *ri)
{
	struct kaddr a;
	uint8_t plen;

	if (nft__addr(right, af, &a, &plen))
		return -EINVAL;
	if (!ri->has_dst) {
		ri->has_dst = true;
		ri->dst_neg = neg;
		ri->dst = a;
		ri->dst_plen = plen;
		return 0;
	}
	if (!neg) { /* as a map element's key within the rule's match */
		ri->never |= nft__narrow(&a, plen, true, &ri->dst, &ri->dst_plen, &ri->dst_neg,
					 &ri->dst_ex, &ri->dst_ex_plen) != 0;
		return 0;
	}
	if (!ri->dst_neg && a.family == ri->dst.family && plen <= ri->dst_plen &&
	    kaddr__in_prefix(ri->dst.addr, &a, plen)) {
		ri->never = true; /* all it matches is left out */
		return 0;
	}
	if ((ri->dst_neg || nft__overlap(&a, plen, &ri->dst, ri->dst_plen)) &&
	    !ri->dst_ex.family) {
		ri->dst_ex = a;
		ri->dst_ex_plen = plen;
	}
	return 0;
}

static int nft__match_payload(struct json_object *left, struct json_object *right, bool neg,
			      uint8_t af, struct nft_rinfo *ri)
{
	struct json_object *pl = kjson__get(left, "payload", json_type_object);
	const char *proto = kjson__str(pl, "protocol"), *field = kjson__str(pl, "field");

	if (!proto || !field)
		return 0; /* a match natwho does not need */
	/* in an inet table, a match of the IP header holds for its family alone */
	if (!strcmp(proto, "ip") || !strcmp(proto, "ip6"))
		ri->nfproto = !strcmp(proto, "ip") ? AF_INET : AF_INET6;
	if (!strcmp(field, "dport")) {
		if (strcmp(proto, "th") && kproto__parse(proto, strlen(proto), &ri->proto))
			return -EINVAL;
		return neg ? 0 : nft__ports(right, ri);
	}
	if (!strcmp(field, "daddr") && (!strcmp(proto, "ip") || !strcmp(proto, "ip6"))) {
		bool named = json_object_is_type(right, json_type_string) &&
			     json_object_get_string(right)[0] == '@';
		struct json_object *set = named || kjson__get(right, "set", json_type_array) ||
						  kjson__get(right, "range", json_type_array) ?
					  right :
					  NULL;

		if (set && (neg || ri->dset))
			return 0; /* some destinations, or all but some: taken as any */
		if (set) {
			ri->dset = json_object_get(set);
			return 0;
		}
		return nft__daddr_and(right, neg, af, ri);
	}
	if (!strcmp(field, "saddr") && (!strcmp(proto, "ip") || !strcmp(proto, "ip6"))) {
		if (nft__addr(right, af, &ri->src, &ri->src_plen)) {
			ri->src.family = 0; /* a set of sources: taken as any */
			return 0;
		}
		ri->src_neg = neg;
		return 0;
	}
	if ((!strcmp(proto, "ip") && !strcmp(field, "protocol")) ||
	    (!strcmp(proto, "ip6") && !strcmp(field, "nexthdr")))
		return neg ? 0 : nft__proto(right, &ri->proto);
	return 0;
}

/*
 * `tcp dport >= 30000` and the other orderings (@op: "<", ">", "<=" or
 * ">="): a destination port's as the range it means (nft__ports_and());
 * any other field's ignored, as one that matches anything (wider, never
 * narrower).
 */
static int nft__match_order(struct json_object *left, struct json_object *right, const char *op,
			    struct nft_rinfo *ri)
{
	struct json_object *pl = kjson__get(left, "payload", json_type_object);
	const char *proto = kjson__str(pl, "protocol"), *field = kjson__str(pl, "field");
	bool above = op[0] == '>', eq = op[1] == '=';
	uint16_t lo = 1, hi = 65535, n;

	if (!proto || !field || strcmp(field, "dport") || nft__port(right, &n))
		return 0;
	if (strcmp(proto, "th") && kproto__parse(proto, strlen(proto), &ri->proto))
		return -EINVAL;
	if (above)
		lo = eq ? n : n + 1;
	else
		hi = eq ? n : n - 1;
	if ((above && !eq && n == 65535) || (!above && !eq && n == 1)) {
		ri->never = true; /* `dport > 65535` */
		return 0;
	}
	return nft__ports_and(ri, &lo, &hi, 1);
}

static int nft__match(struct json_object *m, uint8_t af, struct nft_rinfo *ri)
{
	struct json_object *left = kjson__get(m, "left", json_type_object), *right, *fib, *fl = NULL;
	const char *op = kjson__str(m, "op"), *meta;
	bool neg = op && !strcmp(op, "!=");

	if (!left || !json_object_object_get_ex(m, "right", &right))
		return -EINVAL;
	if (op && (op[0] == '<' || op[0] == '>') && (!op[1] || (op[1] == '=' && !op[2])))
		return nft__match_order(left, right, op, ri);
	meta = kjson__str(kjson__get(left, "meta", json_type_object), "key");
	if (meta && !strcmp(meta, "l4proto"))
		return neg ? 0 : nft__proto(right, &ri->proto);
	if (meta && !strcmp(meta, "nfproto") && !neg && json_object_is_type(right, json_type_string)) {
		const char *f = json_object_get_string(right);

		ri->nfproto = !strcmp(f, "ipv4") ? AF_INET : !strcmp(f, "ipv6") ? AF_INET6 : 0;
		return 0;
	}
	fib = kjson__get(left, "fib", json_type_object);
	if (fib) {
		const char *res = kjson__str(fib, "result");
		struct json_object *flag;

		/* ["daddr"]; nft 1.1.4 prints a single flag as "daddr" */
		json_object_object_get_ex(fib, "flags", &fl);
		flag = json_object_is_type(fl, json_type_array) && json_object_array_length(fl) == 1 ?
			       json_object_array_get_idx(fl, 0) :
			       fl;
		if (!neg && res && !strcmp(res, "type") &&
		    json_object_is_type(flag, json_type_string) && /* not null */
		    !strcmp(json_object_get_string(flag), "daddr") &&
		    json_object_is_type(right, json_type_string) &&
		    !strcmp(json_object_get_string(right), "local"))
			ri->local_only = true;
		return 0;
	}
	return nft__match_payload(left, right, neg, af, ri);
}

/* `dnat ip prefix to ip daddr map { 10.141.0.0/24 : 192.168.2.0/24 }`: each
 * address to the one of the same host bits (flags netmap). */
static bool nft__netmap(struct json_object *v)
{
	struct json_object *f = json_object_object_get(v, "flags");
	size_t n = json_object_is_type(f, json_type_array) ? json_object_array_length(f) : 0;

	if (json_object_is_type(f, json_type_string))
		return !strcmp(json_object_get_string(f), "netmap");
	for (size_t i = 0; i < n; i++)
		if (!strcmp(json_object_get_string(json_object_array_get_idx(f, i)) ?: "", "netmap"))
			return true;
	return false;
}

/* {"prefix": {"addr": "10.0.0.0", "len": 30}} (`dnat to 10.0.0.0/30`): the
 * kernel's range is the prefix's every address, first to last. */
static int nft__addr_prefix(struct json_object *p, uint8_t af, struct nft_rinfo *ri)
{
	const char *addr = kjson__str(p, "addr");
	int64_t len;

	if (!addr || kaddr__parse(addr, strlen(addr), af, &ri->to) ||
	    kjson__int(p, "len", 0, ri->to.family == AF_INET ? 32 : 128, &len))
		return -EINVAL;
	ri->to_end = ri->to;
	for (unsigned b = (unsigned)len; b < (ri->to.family == AF_INET ? 32u : 128u); b++) {
		ri->to.addr[b / 8] &= (uint8_t)~(0x80 >> (b % 8)); /* as the kernel masks it */
		ri->to_end.addr[b / 8] |= (uint8_t)(0x80 >> (b % 8));
	}
	if (ri->netmap) { /* the address of the same host bits, not any */
		ri->to_netmap = (uint8_t)len;
		ri->to_end.family = 0;
		return 0;
	}
	return kaddr__range(&ri->to, &ri->to_end);
}

/* The two ends of {"range": ["10.0.0.1", "10.0.0.3"]}'s array @r, of one family. */
static int nft__range_ends(struct json_object *r, uint8_t af, struct kaddr *lo, struct kaddr *hi)
{
	struct json_object *a = json_object_array_get_idx(r, 0), *b = json_object_array_get_idx(r, 1);
	const char *l = json_object_is_type(a, json_type_string) ? json_object_get_string(a) : NULL;
	const char *h = json_object_is_type(b, json_type_string) ? json_object_get_string(b) : NULL;

	if (json_object_array_length(r) != 2 || !l || !h || kaddr__parse(l, strlen(l), af, lo) ||
	    kaddr__parse(h, strlen(h), lo->family, hi))
		return -EINVAL;
	return 0;
}

/* {"range": ["10.0.0.1", "10.0.0.3"]} or a prefix: the addresses of a DNAT
 * to more than one. */
static int nft__addr_range(struct json_object *a, uint8_t af, struct nft_rinfo *ri)
{
	struct json_object *r;

	if (json_object_object_get_ex(a, "prefix", &r) && json_object_is_type(r, json_type_object))
		return nft__addr_prefix(r, af, ri);
	r = kjson__get(a, "range", json_type_array);
	if (!r || nft__range_ends(r, af, &ri->to, &ri->to_end))
		return -EINVAL; /* a map or concatenation: not followed */
	return kaddr__range(&ri->to, &ri->to_end);
}

/* {"addr": "10.0.0.1" | {"range": [..]} | {"prefix": {..}} | {"map": {..}},
 *  "port": 80 | {"range": [..]} | {"map": {..}}, "family": "ip"}; a map for
 *  both: not followed */
static int nft__nat(struct json_object *v, uint8_t af, struct nft_rinfo *ri)
{
	struct json_object *port, *a, *map, *pmap;
	const char *addr = kjson__str(v, "addr"), *fam = kjson__str(v, "family");

	if (!af && fam) /* an inet table's dnat names the family it translates */
		af = !strcmp(fam, "ip") ? AF_INET : !strcmp(fam, "ip6") ? AF_INET6 : 0;
	ri->nat_af = af;
	ri->netmap = nft__netmap(v);
	map = kjson__get(kjson__get(v, "addr", json_type_object), "map", json_type_object);
	if (map) { /* read element by element in nft__map_rules() */
		if (ri->map)
			return -EINVAL;
		ri->map = json_object_get(map);
		ri->map_af = af;
	} else if (json_object_object_get_ex(v, "addr", &a) && !addr &&
		   (!json_object_is_type(a, json_type_object) || nft__addr_range(a, af, ri))) {
		return -EINVAL; /* a concatenation: not followed */
	}
	if (addr && kaddr__parse(addr, strlen(addr), af, &ri->to))
		return -EINVAL;
	if (!json_object_object_get_ex(v, "port", &port))
		return 0;
	pmap = kjson__get(port, "map", json_type_object);
	if (!pmap)
		return nft__port_range(port, &ri->to_lo, &ri->to_hi);
	if (ri->map) /* two maps (or two statements' maps) */
		return -EINVAL;
	ri->map = json_object_get(pmap);
	ri->map_af = af;
	ri->map_port = true;
	return 0;
}

static int nft__stmt(const char *kind, struct json_object *v, uint8_t af, struct nft_rinfo *ri)
{
	if (!strcmp(kind, "match"))
		return nft__match(v, af, ri);
	if (!strcmp(kind, "dnat")) {
		ri->dnat = true;
		return nft__nat(v, af, ri);
	}
	if (!strcmp(kind, "redirect")) {
		ri->redirect = true;
		return json_object_is_type(v, json_type_null) ? 0 : nft__nat(v, af, ri);
	}
	if (!strcmp(kind, "jump") || !strcmp(kind, "goto")) {
		ri->jump = kjson__str(v, "target");
		return ri->jump ? 0 : -EINVAL;
	}
	if (!strcmp(kind, "xt"))
		ri->xt = true;
	return 0;
}

static void nft__rinfo(struct json_object *rule, uint8_t af, struct nft_rinfo *ri)
{
	struct json_object *expr = kjson__get(rule, "expr", json_type_array);
	size_t n = expr ? json_object_array_length(expr) : 0;

	memset(ri, 0, sizeof(*ri));
	ri->comment = kjson__str(rule, "comment");
	for (size_t i = 0; i < n; i++) {
		struct json_object *v;
		const char *kind = nft__elem(json_object_array_get_idx(expr, i), &v);

		if (kind && nft__stmt(kind, v, af, ri))
			ri->bad = true;
	}
}

/* nft-like text of a rule, for "via" and the audit. */
static void nft__render_value(struct json_object *v, char *buf, size_t len)
{
	size_t used = strlen(buf);

	if (json_object_is_type(v, json_type_string) || json_object_is_type(v, json_type_int))
		snprintf(buf + used, len - used, "%s ", json_object_get_string(v));
	else
		snprintf(buf + used, len - used, "%s ",
			 json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
}

static void nft__render_expr(struct json_object *v, char *buf, size_t len);

/* "numgen random mod 2 offset 100", "jhash ip saddr mod 2 seed 0xdead", "symhash mod 2" */
static void nft__render_hash(const char *kind, struct json_object *o, char *buf, size_t len)
{
	struct json_object *e = json_object_object_get(o, "expr");
	int64_t offset = json_object_get_int64(json_object_object_get(o, "offset"));
	int64_t seed = json_object_get_int64(json_object_object_get(o, "seed"));
	size_t used = strlen(buf);

	snprintf(buf + used, len - used, "%s ", kind);
	if (!strcmp(kind, "numgen")) {
		used = strlen(buf);
		snprintf(buf + used, len - used, "%s ", kjson__str(o, "mode") ?: "?");
	} else if (e) {
		nft__render_expr(e, buf, len);
		used = strlen(buf);
		snprintf(buf + used, len - used, " ");
	}
	used = strlen(buf);
	snprintf(buf + used, len - used, "mod %s",
		 json_object_get_string(json_object_object_get(o, "mod")) ?: "?");
	used = strlen(buf);
	if (seed)
		snprintf(buf + used, len - used, " seed 0x%llx", (unsigned long long)seed);
	else if (offset)
		snprintf(buf + used, len - used, " offset %lld", (long long)offset);
}

/* A key or element as nft prints it: "ip daddr . tcp dport", "10.0.0.0/8",
 * "1000-2000", "numgen inc mod 2". */
static void nft__render_expr(struct json_object *v, char *buf, size_t len)
{
	struct json_object *o, *pl, *parts;
	const char *kind = nft__elem(v, &o);
	size_t used = strlen(buf);

	if (json_object_is_type(v, json_type_array)) { /* flags: "established,new" */
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			used = strlen(buf);
			snprintf(buf + used, len - used, "%s", i ? "," : "");
			nft__render_expr(json_object_array_get_idx(v, i), buf, len);
		}
		return;
	}
	if (!kind) {
		nft__render_value(v, buf, len);
		if ((used = strlen(buf)) && buf[used - 1] == ' ')
			buf[used - 1] = '\0';
		return;
	}
	pl = kjson__get(v, "payload", json_type_object);
	parts = !strcmp(kind, "concat") && json_object_is_type(o, json_type_array) ? o : NULL;
	parts = parts ? parts : !strcmp(kind, "range") ? kjson__get(v, "range", json_type_array) : NULL;
	if (pl) {
		snprintf(buf + used, len - used, "%s %s", kjson__str(pl, "protocol") ?: "?",
			 kjson__str(pl, "field") ?: "?");
	} else if (!strcmp(kind, "meta")) {
		snprintf(buf + used, len - used, "meta %s", kjson__str(o, "key") ?: "?");
	} else if (parts) {
		for (size_t i = 0; i < json_object_array_length(parts); i++) {
			used = strlen(buf);
			if (i)
				snprintf(buf + used, len - used, "%s", *kind == 'c' ? " . " : "-");
			nft__render_expr(json_object_array_get_idx(parts, i), buf, len);
		}
	} else if (!strcmp(kind, "prefix")) {
		snprintf(buf + used, len - used, "%s/%s", kjson__str(o, "addr") ?: "?",
			 json_object_get_string(kjson__get(o, "len", json_type_int)) ?: "?");
	} else if (!strcmp(kind, "elem")) {
		nft__render_expr(json_object_object_get(o, "val"), buf, len);
	} else if (!strcmp(kind, "numgen") || !strcmp(kind, "jhash") || !strcmp(kind, "symhash")) {
		nft__render_hash(kind, o, buf, len);
	} else if (kjson__str(o, "key")) { /* ct state, rt nexthop, ... */
		snprintf(buf + used, len - used, "%s %s", kind, kjson__str(o, "key"));
	} else {
		snprintf(buf + used, len - used, "..."); /* tcp flags & mask, ... */
	}
}

/* "tcp dport map { 80 : 10.0.0.1, 443 : 10.0.0.2 }" or "... map @name" */
static void nft__render_map(struct json_object *map, char *buf, size_t len)
{
	struct json_object *data = json_object_object_get(map, "data");
	struct json_object *set = kjson__get(data, "set", json_type_array);
	size_t used;

	nft__render_expr(json_object_object_get(map, "key"), buf, len);
	used = strlen(buf);
	if (!set) {
		snprintf(buf + used, len - used, " map %s", json_object_get_string(data) ?: "?");
		return;
	}
	snprintf(buf + used, len - used, " map {");
	for (size_t i = 0; i < json_object_array_length(set); i++) {
		struct json_object *pair = json_object_array_get_idx(set, i);

		used = strlen(buf);
		snprintf(buf + used, len - used, "%s ", i ? "," : "");
		if (!json_object_is_type(pair, json_type_array) ||
		    json_object_array_length(pair) != 2) {
			used = strlen(buf);
			snprintf(buf + used, len - used, "?");
			continue;
		}
		nft__render_expr(json_object_array_get_idx(pair, 0), buf, len);
		used = strlen(buf);
		snprintf(buf + used, len - used, " : ");
		nft__render_expr(json_object_array_get_idx(pair, 1), buf, len);
	}
	used = strlen(buf);
	snprintf(buf + used, len - used, " }");
}

/* "ip daddr 10.0.0.1", "tcp dport { 80, 443 }", "meta l4proto . th dport { tcp . 53 }" */
static void nft__render_match(struct json_object *m, char *buf, size_t len)
{
	struct json_object *left = kjson__get(m, "left", json_type_object), *right = NULL;
	struct json_object *set;
	const char *op = kjson__str(m, "op");
	size_t used = strlen(buf);

	json_object_object_get_ex(m, "right", &right);
	if (kjson__get(left, "fib", json_type_object))
		snprintf(buf + used, len - used, "fib daddr type");
	else if (left)
		nft__render_expr(left, buf, len);
	else
		snprintf(buf + used, len - used, "...");
	used = strlen(buf);
	if (op && strcmp(op, "==") && strcmp(op, "in")) /* "in": a flag test, as nft prints it */
		snprintf(buf + used, len - used, " %s", op);
	used = strlen(buf);
	snprintf(buf + used, len - used, " ");
	set = kjson__get(right, "set", json_type_array);
	if (!set) {
		nft__render_expr(right, buf, len);
	} else {
		for (size_t i = 0; i < json_object_array_length(set); i++) {
			used = strlen(buf);
			snprintf(buf + used, len - used, "%s", i ? ", " : "{ ");
			nft__render_expr(json_object_array_get_idx(set, i), buf, len);
		}
		used = strlen(buf);
		snprintf(buf + used, len - used, " }");
	}
	used = strlen(buf);
	snprintf(buf + used, len - used, " ");
}

static void nft__render_nat(const char *kind, struct json_object *v, char *buf, size_t len)
{
	struct json_object *port = NULL, *range, *map, *pmap;
	const char *addr = kjson__str(v, "addr"), *fam = kjson__str(v, "family");
	size_t used = strlen(buf);
	char ports[16] = "";

	json_object_object_get_ex(v, "port", &port);
	range = kjson__get(port, "range", json_type_array);
	pmap = kjson__get(port, "map", json_type_object);
	if (range && json_object_array_length(range) == 2)
		snprintf(ports, sizeof(ports), ":%s-%s",
			 json_object_get_string(json_object_array_get_idx(range, 0)) ?: "?",
			 json_object_get_string(json_object_array_get_idx(range, 1)) ?: "?");
	else if (json_object_is_type(port, json_type_int))
		snprintf(ports, sizeof(ports), ":%s", json_object_get_string(port));
	else if (pmap) /* written below */
		snprintf(ports, sizeof(ports), ":");
	map = kjson__get(kjson__get(v, "addr", json_type_object), "map", json_type_object);
	if (map) {
		snprintf(buf + used, len - used, "%s %s%sto ", kind,
			 fam ? !strcmp(fam, "ip6") ? "ip6 " : "ip " : "",
			 nft__netmap(v) ? "prefix " : "");
		nft__render_map(map, buf, len);
		used = strlen(buf);
		snprintf(buf + used, len - used, "%s", ports);
	} else if (addr && strchr(addr, ':') && ports[0])
		snprintf(buf + used, len - used, "%s to [%s]%s", kind, addr, ports);
	else if (addr || ports[0])
		snprintf(buf + used, len - used, "%s to %s%s", kind, addr ? addr : "", ports);
	else
		snprintf(buf + used, len - used, "%s", kind);
	if (pmap) /* nft's `dnat to 10.0.0.1:tcp dport map { 80 : 8080 }` */
		nft__render_map(pmap, buf, len);
	used = strlen(buf);
	snprintf(buf + used, len - used, " ");
}

static const char *nft__render(struct karena *arena, struct json_object *rule)
{
	struct json_object *expr = kjson__get(rule, "expr", json_type_array);
	size_t n = expr ? json_object_array_length(expr) : 0;
	char buf[1024] = "";

	for (size_t i = 0; i < n; i++) {
		struct json_object *v;
		const char *kind = nft__elem(json_object_array_get_idx(expr, i), &v);
		size_t used = strlen(buf);

		if (!kind || !strcmp(kind, "counter"))
			continue;
		if (!strcmp(kind, "match"))
			nft__render_match(v, buf, sizeof(buf));
		else if (!strcmp(kind, "dnat") || !strcmp(kind, "redirect"))
			nft__render_nat(kind, v, buf, sizeof(buf));
		else if (!strcmp(kind, "jump") || !strcmp(kind, "goto"))
			snprintf(buf + used, sizeof(buf) - used, "%s %s ", kind,
				 kjson__str(v, "target") ?: "?");
		else
			snprintf(buf + used, sizeof(buf) - used, "%s %s ", kind,
				 json_object_is_type(v, json_type_null) ?
					 "" :
					 json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
	}
	if (kjson__str(rule, "comment")) {
		size_t used = strlen(buf);

		snprintf(buf + used, sizeof(buf) - used, "comment \"%s\"",
			 kjson__str(rule, "comment"));
	}
	n = strlen(buf);
	while (n && buf[n - 1] == ' ')
		buf[--n] = '\0';
	return karena__strdup(arena, buf);
}

/* Keep @name as a verdict target of the rule being read. */
static int nft__target_add(struct nft *p, const char *name)
{
	struct nft_target *t = KVEC_PUSH(&p->targets);

	if (!t)
		return -ENOMEM;
	t->name = karena__strdup(&p->tmp, name);
	return t->name ? 0 : -ENOMEM;
}

/*
 * Verdict targets of a rule, appended to p->targets: jump/goto and the
 * chains of a vmap's set, every one (kube-proxy's Service chain has one
 * vmap element per endpoint).
 */
static int nft__targets(struct nft *p, struct json_object *rule)
{
	struct json_object *expr = kjson__get(rule, "expr", json_type_array);
	size_t n = expr ? json_object_array_length(expr) : 0;

	for (size_t i = 0; i < n; i++) {
		struct json_object *v, *set;
		const char *kind = nft__elem(json_object_array_get_idx(expr, i), &v);
		size_t m;

		if (kind && (!strcmp(kind, "jump") || !strcmp(kind, "goto")) &&
		    kjson__str(v, "target") && nft__target_add(p, kjson__str(v, "target")))
			return -ENOMEM;
		if (!kind || strcmp(kind, "vmap"))
			continue;
		set = kjson__get(kjson__get(v, "data", json_type_object), "set", json_type_array);
		m = set ? json_object_array_length(set) : 0;
		for (size_t j = 0; j < m; j++) {
			struct json_object *pair = json_object_array_get_idx(set, j), *verdict;
			const char *vk;

			if (!json_object_is_type(pair, json_type_array) ||
			    json_object_array_length(pair) != 2)
				continue;
			vk = nft__elem(json_object_array_get_idx(pair, 1), &verdict);
			if (vk && (!strcmp(vk, "goto") || !strcmp(vk, "jump")) &&
			    kjson__str(verdict, "target") &&
			    nft__target_add(p, kjson__str(verdict, "target")))
				return -ENOMEM;
		}
	}
	return 0;
}

/* Is @ri in a NAT base chain, or in one not listed yet (nft lists a
 * table's chains before its rules)? */
static bool nft__rule_in_base(struct nft *p, const struct nft_ritem *ri)
{
	char buf[768];
	const char *key = nft__key(buf, sizeof(buf), ri->where.family, ri->where.table,
				   ri->where.name);
	uint32_t kind = kstrmap__get(&p->chain_kinds, key, strlen(key));

	return kind == KNONE || kind == 2;
}

/* The rest of a "rule" item of table @t. */
static int nft__rule_fill(struct nft *p, struct nft_ritem *ri, struct json_object *o, uint32_t t)
{
	struct json_object *expr = kjson__get(o, "expr", json_type_array);
	uint8_t af = p->tables.v[t].af;

	ri->expr = expr;
	if (!expr)
		return 0;
	ri->xt = nft__has_xt(expr);
	nft__rinfo(o, af, &ri->ri);
	if (nft__keep_str(p, &ri->ri.jump) || nft__keep_str(p, &ri->ri.comment))
		return -ENOMEM;
	ri->targets = p->targets.n;
	if (nft__targets(p, o))
		return -ENOMEM;
	ri->ntargets = p->targets.n - ri->targets;
	/* the text of a rule that translates, or leads to one that may: a
	 * verdict map's in a base chain too (kube-proxy's per-Service maps,
	 * thousands, are not read out) */
	if (ri->ri.dnat || ri->ri.redirect || ri->ri.jump ||
	    (ri->ntargets && nft__rule_in_base(p, ri))) {
		ri->text = nft__render(&p->tmp, o);
		if (!ri->text)
			return -ENOMEM;
	}
	return 0;
}

/* A "rule" item: read now if its table is known, else kept for nft__rule(). */
static int nft__rule_read(struct nft *p, struct json_object *o)
{
	struct nft_ritem *ri = KVEC_PUSH(&p->rules);
	uint32_t t;

	if (!ri)
		return -ENOMEM;
	ri->at = p->at;
	if (nft__place(p, o, "chain", &ri->where))
		return -ENOMEM;
	t = nft__table_id(p, ri->where.family, ri->where.table);
	if (t == KNONE) {
		ri->json = json_object_get(o);
		return 0;
	}
	return nft__rule_fill(p, ri, o, t);
}

/* Rule @r (an index into p->rules) added to its chain, the chains it names
 * found once. */
static int nft__rule(struct nft *p, uint32_t r)
{
	struct nft_ritem *ri = &p->rules.v[r];
	uint32_t t = nft__table_id(p, ri->where.family, ri->where.table), id;
	const struct nft_table *tb;
	struct nft_chain *c;
	int err = 0;

	if (ri->json) { /* listed before its table */
		if (t != KNONE)
			err = nft__rule_fill(p, ri, ri->json, t);
		json_object_put(ri->json);
		ri->json = NULL;
		if (err)
			return err;
	}
	if (t == KNONE || !ri->expr)
		return -EINVAL;
	tb = &p->tables.v[t];
	id = nft__chain_id(p, tb, ri->where.name);
	if (id == KNONE)
		return -EINVAL;
	ri->jump = nft__chain_id(p, tb, ri->ri.jump);
	for (uint32_t j = 0; j < ri->ntargets; j++) {
		struct nft_target *tg = &p->targets.v[ri->targets + j];

		tg->chain = nft__chain_id(p, tb, tg->name);
	}
	c = &p->chains.v[id];
	if (c->nrules == c->cap) { /* doubling: a chain of many rules is no quadratic copy */
		uint32_t ncap = c->cap ? c->cap * 2 : 8;
		uint32_t *nr = ncap > c->cap ? realloc(c->rules, (size_t)ncap * sizeof(*nr)) : NULL;

		if (!nr)
			return -ENOMEM;
		c->rules = nr;
		c->cap = ncap;
	}
	c->rules[c->nrules++] = r;
	if (ri->xt)
		p->tables.v[t].xt = true;
	return 0;
}

/* The sets and maps of kube-proxy that nft__kube_sets() reads: in its own
 * table (a set of another table named the same is the user's). */
static bool nft__kube_set(const char *kind, struct json_object *val)
{
	const char *name = kjson__str(val, "name"), *table = kjson__str(val, "table");

	if (!name || !table || strcmp(table, "kube-proxy"))
		return false;
	if (!strcmp(kind, "set"))
		return !strcmp(name, "cluster-ips") || !strcmp(name, "nodeport-ips");
	if (!strcmp(kind, "map"))
		return !strcmp(name, "service-ips") || !strcmp(name, "service-nodeports");
	return false;
}

/*
 * What an iptables-save dump said of iptables' nat table @t (by its name and
 * family): KIPT_NAT_INCOMPATIBLE, nft's rules in it that nothing else reads;
 * KIPT_NAT_TAINTED, base chains of nft's in it, the rest iptables-save's.
 */
static enum kipt_nat_said nft__ipt_said(const struct nft *p, const struct nft_table *t)
{
	if ((t->af != AF_INET && t->af != AF_INET6) || strcmp(t->name, "nat"))
		return KIPT_NAT_OWN;
	return p->idx->ipt_nat_said[kfam__idx(t->af)];
}

/* Table @t's iptables-nft rules, in a table nft__ipt_said() incompatible: what
 * their "xt" expressions do nft's JSON does not show, nor iptables-save. */
static void nft__xt_unread(struct nft *p, uint32_t t)
{
	const struct nft_table *tb = &p->tables.v[t];
	uint32_t n = 0;

	for (uint32_t i = 0; i < p->chains.n; i++) {
		const struct nft_chain *c = &p->chains.v[i];

		for (uint32_t j = 0; c->table == t && j < c->nrules; j++)
			n += p->rules.v[c->rules[j]].xt;
	}
	if (!n)
		return;
	p->idx->xt_unread += n;
	kindex__warn(p->idx,
		     "%s: table %s %s: %u iptables-nft rule%s that nft's JSON cannot show and "
		     "iptables-save will not (it calls the table incompatible): a DNAT among "
		     "them is not known",
		     p->idx->src_name, tb->family, tb->name, n, n == 1 ? "" : "s");
}

static void nft__not_understood(struct nft *p, size_t at, const char *kind)
{
	p->idx->skipped_rules++;
	kindex__warn(p->idx, "%s: nftables[%zu]: %s not understood, ignored", p->idx->src_name, at,
		     kind);
}

/* A set's or map's data type with addresses: "ipv4_addr", "ipv4_addr .
 * inet_service", or (nft 1.1 and later) ["ipv4_addr", "inet_service"]. */
static bool nft__addr_type(struct json_object *t)
{
	size_t n = json_object_is_type(t, json_type_array) ? json_object_array_length(t) : 0;

	if (json_object_is_type(t, json_type_string))
		return strstr(json_object_get_string(t), "_addr") != NULL;
	for (size_t i = 0; i < n; i++)
		if (nft__addr_type(json_object_array_get_idx(t, i)))
			return true;
	return false;
}

/* A map's data type of a port alone: "inet_service" (a port map's). */
static bool nft__port_type(struct json_object *t)
{
	return json_object_is_type(t, json_type_string) &&
	       !strcmp(json_object_get_string(t), "inet_service");
}

/* One item of the list (kjson__each_in()'s callback). */
static int nft__item(void *ctx, struct json_object *item)
{
	struct nft *p = ctx;
	struct json_object *val, **keep;
	const char *kind = nft__elem(item, &val);
	int err = 0;

	if (!kind) {
	} else if (!strcmp(kind, "table")) {
		err = nft__table(p, val);
		if (err && err != -ENOMEM) {
			nft__not_understood(p, p->at, kind);
			err = 0;
		}
	} else if (!strcmp(kind, "chain")) {
		err = nft__chain_read(p, val);
	} else if (!strcmp(kind, "rule")) {
		err = nft__rule_read(p, val);
	} else if (nft__kube_set(kind, val)) {
		keep = KVEC_PUSH(&p->sets);
		if (!keep)
			return -ENOMEM;
		*keep = json_object_get(item);
	} else if ((!strcmp(kind, "map") && (nft__addr_type(json_object_object_get(val, "map")) ||
					     nft__port_type(json_object_object_get(val, "map")))) ||
		   (!strcmp(kind, "set") && nft__addr_type(json_object_object_get(val, "type")))) {
		keep = KVEC_PUSH(&p->dmaps); /* a DNAT's data or destinations, perhaps */
		if (!keep)
			return -ENOMEM;
		*keep = json_object_get(val);
	}
	p->at++;
	return err;
}

/* After the list: its chains, then its rules, in the list's order (the
 * tables were taken as they came). */
static int nft__collect(struct nft *p)
{
	for (uint32_t i = 0; i < p->citems.n; i++) {
		int err = nft__chain(p, &p->citems.v[i]);

		if (err == -ENOMEM)
			return err;
		if (err)
			nft__not_understood(p, p->citems.v[i].at, "chain");
	}
	for (uint32_t i = 0; i < p->rules.n; i++) {
		int err = nft__rule(p, i);

		if (err == -ENOMEM)
			return err;
		if (err)
			nft__not_understood(p, p->rules.v[i].at, "rule");
	}
	for (uint32_t i = 0; i < p->tables.n; i++) {
		struct nft_table *t = &p->tables.v[i];

		if (!t->xt && !(t->upper_base && t->kind == NFT_GENERIC))
			continue;
		if (t->kind == NFT_GENERIC && nft__ipt_said(p, t) == KIPT_NAT_INCOMPATIBLE) {
			nft__xt_unread(p, i);
		} else if (t->kind == NFT_GENERIC && nft__ipt_said(p, t) == KIPT_NAT_TAINTED) {
			t->tainted = true;
		} else {
			t->kind = NFT_SKIP;
		}
	}
	return 0;
}

/* Rule @i of chain @c. */
static struct nft_ritem *nft__crule(struct nft *p, const struct nft_chain *c, uint32_t i)
{
	return &p->rules.v[c->rules[i]];
}

/* The rule's text, in the index (copied there once). */
static const char *nft__text(struct nft *p, struct nft_ritem *ri)
{
	if (!ri->itext && ri->text)
		ri->itext = karena__strdup(&p->idx->arena, ri->text);
	return ri->itext;
}

static const char *nft__iname(struct nft *p, struct nft_chain *c)
{
	if (!c->iname)
		c->iname = karena__strdup(&p->idx->arena, c->name);
	return c->iname;
}

static void nft__mark(struct nft *p, uint32_t chain, int hook, const struct kreach *via,
		      int depth)
{
	struct nft_chain *c = &p->chains.v[chain];

	if (depth > NFT_MAX_DEPTH || !kreach__merge(&c->reach[hook], via))
		return;
	for (uint32_t i = 0; i < c->nrules; i++) {
		const struct nft_ritem *r = nft__crule(p, c, i);
		struct kreach next = *via;

		next.local_only |= r->ri.local_only;
		for (uint32_t j = 0; j < r->ntargets; j++) /* jump, goto, a vmap's */
			if (p->targets.v[r->targets + j].chain != KNONE)
				nft__mark(p, p->targets.v[r->targets + j].chain, hook, &next,
					  depth + 1);
	}
}

/* How each NAT prerouting/output base chain reaches the other chains. */
static int nft__reach(struct nft *p)
{
	for (uint32_t b = 0; b < p->chains.n; b++) {
		struct nft_chain *c = &p->chains.v[b];
		const struct nft_table *t = &p->tables.v[c->table];

		if (c->hook < 0 || t->kind == NFT_SKIP || (t->tainted && c->ipt_own) ||
		    !nft__iname(p, c))
			continue; /* a tainted table's own chains: iptables-save's */
		c->reach[c->hook] = (struct kreach){ .reached = true, .prio = c->prio,
						     .table = t->iname, .base = c->iname };
		for (uint32_t i = 0; i < c->nrules; i++) {
			struct nft_ritem *r = nft__crule(p, c, i);
			struct kreach via = c->reach[c->hook];

			if (!r->ntargets)
				continue;
			via.local_only = r->ri.local_only;
			via.pos = i;
			via.text = nft__text(p, r);
			if (!via.text && r->text)
				return -ENOMEM;
			for (uint32_t j = 0; j < r->ntargets; j++) { /* jump, goto, a vmap's */
				uint32_t t = p->targets.v[r->targets + j].chain;

				if (t != KNONE && t != b)
					nft__mark(p, t, c->hook, &via, 0);
			}
		}
	}
	return 0;
}

/* The reach of rule @i of chain @c: its chain's, narrowed by its matches. */
static void nft__rule_reach(struct nft *p, const struct nft_chain *c, uint32_t i,
			    const struct nft_rinfo *ri, const char *text, struct kreach *out)
{
	(void)p;
	for (int h = 0; h < KHOOK_MAX; h++) {
		out[h] = c->reach[h];
		if (!out[h].reached)
			continue;
		kreach__narrow(&out[h], ri->local_only);
		if (c->hook == h) {
			out[h].pos = i;
			out[h].text = text;
		}
	}
}

static int nft__walk(struct nft *p, uint32_t svcport, uint32_t chain, int depth, uint32_t *found)
{
	struct nft_chain *c = &p->chains.v[chain];
	int err = 0;

	if (depth > NFT_MAX_DEPTH || c->gen == p->walks.walk)
		return 0;
	c->gen = p->walks.walk;
	for (uint32_t i = 0; i < c->nrules && !err; i++) {
		const struct nft_ritem *r = nft__crule(p, c, i);
		const struct nft_rinfo *ri = &r->ri;

		if (ri->dnat && !ri->bad && ri->to.family && !ri->to_end.family) {
			uint16_t port = ri->to_lo ? ri->to_lo : p->idx->svcports.v[svcport].port;

			err = kindex__add_ep(p->idx, svcport, &ri->to, port, true, KO_NFT, NULL,
					     NULL);
			(*found)++;
		}
		for (uint32_t j = 0; j < r->ntargets && !err; j++) {
			uint32_t next = p->targets.v[r->targets + j].chain;

			if (next != KNONE)
				err = nft__walk(p, svcport, next, depth + 1, found);
		}
	}
	return err;
}

/* Each chain once per svcport (a dual-stack Service has both families'
 * chains in one dump: different chains). */
static int nft__endpoints(struct nft *p, uint32_t svcport, uint32_t chain)
{
	uint32_t found = 0;
	int err = kindex__svc_walk(p->idx, &p->walks, svcport);

	return err ?: nft__walk(p, svcport, chain, 0, &found);
}

struct nft_svcname {
	char ns[256], name[256], port[256];
	uint8_t proto;
	bool service; /* service-* (ClusterIP) rather than external-* */
};

/* "service-HASH-ns/name/proto/port" or "external-HASH-...": kube-proxy's names. */
static int nft__svc_chain(const char *chain, struct nft_svcname *sn)
{
	const char *rest, *p1, *p2, *p3;

	/* local-: the ClusterIP of a Service with internalTrafficPolicy Local */
	if (kstr_prefix(chain, "service-") || kstr_prefix(chain, "local-"))
		sn->service = true;
	else if (kstr_prefix(chain, "external-"))
		sn->service = false;
	else
		return -EINVAL;
	rest = strchr(strchr(chain, '-') + 1, '-');
	if (!rest)
		return -EINVAL;
	rest++;
	p1 = strchr(rest, '/');
	p2 = p1 ? strchr(p1 + 1, '/') : NULL;
	p3 = p2 ? strchr(p2 + 1, '/') : NULL;
	if (!p3 || strchr(p3 + 1, '/') || p1 == rest || p2 == p1 + 1 ||
	    (size_t)(p1 - rest) >= sizeof(sn->ns) || (size_t)(p2 - p1 - 1) >= sizeof(sn->name) ||
	    strlen(p3 + 1) >= sizeof(sn->port) || kproto__parse(p2 + 1, p3 - p2 - 1, &sn->proto))
		return -EINVAL;
	snprintf(sn->ns, sizeof(sn->ns), "%.*s", (int)(p1 - rest), rest);
	snprintf(sn->name, sizeof(sn->name), "%.*s", (int)(p2 - p1 - 1), p1 + 1);
	snprintf(sn->port, sizeof(sn->port), "%s", p3 + 1);
	return 0;
}

/* Map element [key, verdict]: the key's concat parts and the target chain. */
static struct json_object *nft__map_elem(struct json_object *e, const char **target)
{
	struct json_object *key, *verdict, *inner;
	const char *vk;

	*target = NULL;
	if (!json_object_is_type(e, json_type_array) || json_object_array_length(e) != 2)
		return NULL;
	key = json_object_array_get_idx(e, 0);
	inner = kjson__get(key, "elem", json_type_object);
	if (inner && !json_object_object_get_ex(inner, "val", &key))
		return NULL;
	vk = nft__elem(json_object_array_get_idx(e, 1), &verdict);
	if (!vk || (strcmp(vk, "goto") && strcmp(vk, "jump")))
		return NULL;
	*target = kjson__str(verdict, "target");
	return kjson__get(key, "concat", json_type_array);
}

static int nft__svcport(struct nft *p, const struct nft_table *t, const char *target,
			uint8_t proto, struct nft_svcname *sn, uint32_t *id, uint32_t *chain)
{
	*chain = nft__chain_id(p, t, target);
	if (!target || *chain == KNONE || nft__svc_chain(target, sn) || sn->proto != proto)
		return -EINVAL;
	return kindex__svcport(p->idx, sn->ns, sn->name, sn->proto, sn->port, id) ? 0 : -ENOMEM;
}

/* service-ips: ADDR . PROTO . PORT : goto service-.../external-... */
static int nft__service_ips(struct nft *p, const struct nft_table *t, struct json_object *e)
{
	struct json_object *cc;
	const char *target, *addr;
	struct nft_svcname sn;
	struct ksvcport *sp;
	uint32_t id, chain;
	struct kaddr a;
	uint16_t port;
	uint8_t proto, kind, plen;
	int err;

	cc = nft__map_elem(e, &target);
	if (!cc || json_object_array_length(cc) != 3 ||
	    nft__addr(json_object_array_get_idx(cc, 0), t->af, &a, &plen) ||
	    nft__proto(json_object_array_get_idx(cc, 1), &proto) ||
	    nft__port(json_object_array_get_idx(cc, 2), &port))
		return -EINVAL;
	err = nft__svcport(p, t, target, proto, &sn, &id, &chain);
	if (err)
		return err;
	sp = &p->idx->svcports.v[id];
	sp->port = port;
	addr = json_object_get_string(json_object_array_get_idx(cc, 0));
	kind = sn.service || kstrmap__get(&p->cluster_ips, addr, strlen(addr)) != KNONE ?
		       K8S_KIND_CLUSTER_IP :
		       K8S_KIND_EXTERNAL_IP; /* externalIP or load-balancer IP */
	if (sn.service) {
		sp->table = t->iname;
		sp->chain = nft__iname(p, &p->chains.v[chain]);
	}
	err = kindex__add_vip(p->idx, id, kind, &a, KO_NFT, t->iname,
			      nft__iname(p, &p->chains.v[chain]));
	return err ? err : nft__endpoints(p, id, chain);
}

/* service-nodeports: PROTO . PORT : goto external-... */
static int nft__service_nodeports(struct nft *p, const struct nft_table *t, struct json_object *e)
{
	struct json_object *cc;
	const char *target;
	struct nft_svcname sn;
	uint32_t id, chain;
	uint16_t port;
	uint8_t proto;
	int err;

	cc = nft__map_elem(e, &target);
	if (!cc || json_object_array_length(cc) != 2 ||
	    nft__proto(json_object_array_get_idx(cc, 0), &proto) ||
	    nft__port(json_object_array_get_idx(cc, 1), &port))
		return -EINVAL;
	err = nft__svcport(p, t, target, proto, &sn, &id, &chain);
	if (err)
		return err;
	p->idx->svcports.v[id].node_port = port;
	err = kindex__add_nodeport(p->idx, id, t->af, KO_NFT, t->iname,
				   nft__iname(p, &p->chains.v[chain]));
	if (!err && p->idx->svcports.v[id].port)
		err = nft__endpoints(p, id, chain);
	return err;
}

static void nft__skip(struct nft *p, const char *what, const char *table, const char *name)
{
	p->idx->skipped_rules++;
	kindex__warn(p->idx, "%s: %s in table %s %s not understood, ignored", p->idx->src_name,
		     what, table, name ? name : "?");
}

/* Elements of kube-proxy's sets (pass 0) and maps (pass 1) in table @t. */
static int nft__kube_sets(struct nft *p, const struct nft_table *t, int pass)
{
	int err = 0;

	for (uint32_t i = 0; i < p->sets.n && err != -ENOMEM; i++) {
		struct json_object *o = NULL, *elems;
		const char *kind = nft__elem(p->sets.v[i], &o);
		const char *name = kjson__str(o, "name");
		size_t m;

		if (!kind || strcmp(kind, pass ? "map" : "set") || !name ||
		    nft__table_id(p, kjson__str(o, "family"), kjson__str(o, "table")) !=
			    (uint32_t)(t - p->tables.v))
			continue;
		elems = kjson__get(o, "elem", json_type_array);
		m = elems ? json_object_array_length(elems) : 0;
		for (size_t j = 0; j < m && err != -ENOMEM; j++) {
			struct json_object *e = json_object_array_get_idx(elems, j);
			const char *s = json_object_get_string(e);
			struct kaddr a;

			err = 0;
			if (!pass && !strcmp(name, "cluster-ips") &&
			    json_object_is_type(e, json_type_string)) {
				const char *key = karena__strdup(&p->tmp, s);

				err = key ? kstrmap__put(&p->cluster_ips, key, 0) : -ENOMEM;
			} else if (!pass && !strcmp(name, "nodeport-ips") &&
				   json_object_is_type(e, json_type_string)) {
				err = kaddr__parse(s, strlen(s), t->af, &a) ?:
					      kindex__add_local(p->idx, &a, NULL, KO_NFT);
				if (!err) /* NodePorts there alone (kidx__nodeport()) */
					p->idx->np_scoped[kfam__idx(a.family)] = true;
			} else if (pass && !strcmp(name, "service-ips")) {
				err = nft__service_ips(p, t, e);
			} else if (pass && !strcmp(name, "service-nodeports")) {
				err = nft__service_nodeports(p, t, e);
			}
			if (err && err != -ENOMEM)
				nft__skip(p, "map element", t->name, name);
		}
	}
	return err == -ENOMEM ? err : 0;
}

/* kube-proxy's base chains jumping to "services". */
static int nft__kube_hooks(struct nft *p, const struct nft_table *t)
{
	const uint8_t claims = 1u << K8S_KIND_CLUSTER_IP | 1u << K8S_KIND_EXTERNAL_IP |
			       1u << K8S_KIND_LB_IP | 1u << K8S_KIND_NODE_PORT;

	for (uint32_t b = 0; b < p->chains.n; b++) {
		struct nft_chain *c = &p->chains.v[b];

		if (&p->tables.v[c->table] != t || c->hook < 0)
			continue;
		for (uint32_t i = 0; i < c->nrules; i++) {
			struct nft_ritem *r = nft__crule(p, c, i);
			struct kkube *k;

			if (!r->ri.jump || strcmp(r->ri.jump, "services"))
				continue;
			k = KVEC_PUSH(&p->idx->kubes);
			if (!k)
				return -ENOMEM;
			*k = (struct kkube){ .family = t->af, .hook = c->hook, .mode = KMODE_NFT,
					     .origin = KO_NFT, .claims = claims, .prio = c->prio,
					     .pos = i, .table = t->iname, .base = nft__iname(p, c),
					     .text = nft__text(p, r) };
			break;
		}
	}
	return 0;
}

static int nft__hostport(struct nft *p, const struct nft_table *t, struct nft_chain *c,
			 uint32_t i, const struct nft_rinfo *ri)
{
	struct khostport *hp;
	const char *text = nft__text(p, nft__crule(p, c, i));

	if (!ri->proto || ri->nports != 1 || ri->port_lo[0] != ri->port_hi[0] || !ri->to.family ||
	    ri->to_end.family || ri->to_lo != ri->to_hi || (ri->has_dst && ri->dst_neg)) {
		nft__skip(p, "hostPort rule", t->name, c->name);
		return 0;
	}
	hp = KVEC_PUSH(&p->idx->hostports);
	if (!hp || !text)
		return -ENOMEM;
	kkey__set(&hp->key, ri->to.family, NULL, ri->proto, ri->port_lo[0]);
	if (ri->has_dst)
		hp->host_ip = ri->dst;
	hp->to = ri->to;
	hp->to_port = ri->to_lo ? ri->to_lo : ri->port_lo[0];
	hp->origin = KO_NFT;
	hp->table = t->iname;
	hp->chain = nft__iname(p, c);
	hp->sandbox = karena__strdup(&p->idx->arena, ri->comment);
	hp->text = text;
	nft__rule_reach(p, c, i, ri, text, hp->reach);
	return 0;
}

static int nft__other1(struct nft *p, const struct nft_table *t, struct nft_chain *c,
		       uint32_t i, const struct nft_rinfo *ri, uint8_t family, uint8_t port)
{
	struct krule *k = KVEC_PUSH(&p->idx->rules);
	uint16_t lo = ri->nports ? ri->port_lo[port] : 0, hi = ri->nports ? ri->port_hi[port] : 0;

	if (!k)
		return -ENOMEM;
	kkey__set(&k->key, family, krule__key_addr(ri->has_dst && !ri->dst_neg, &ri->dst,
						    ri->dst_plen, family),
		  ri->proto, lo == hi ? lo : 0);
	k->dport_lo = lo;
	k->dport_hi = hi;
	if (ri->has_dst && ri->dst.family == family) {
		k->dst = ri->dst;
		k->dst_plen = ri->dst_plen;
		k->dst_neg = ri->dst_neg;
	}
	k->redirect = ri->redirect;
	k->to = ri->to;
	k->to_end = ri->to_end;
	k->to_port_lo = ri->to_lo;
	k->to_port_hi = ri->to_hi;
	k->origin = KO_NFT;
	k->table = t->iname;
	k->chain = nft__iname(p, c);
	if (ri->src.family == family) {
		k->src = ri->src;
		k->src_plen = ri->src_plen;
		k->src_neg = ri->src_neg;
	}
	if (ri->dst_ex.family == family) {
		k->dst_ex = ri->dst_ex;
		k->dst_ex_plen = ri->dst_ex_plen;
	}
	if (ri->src_ex.family == family) {
		k->src_ex = ri->src_ex;
		k->src_ex_plen = ri->src_ex_plen;
	}
	k->to_netmap = ri->to_netmap;
	k->text = ri->etext ? ri->etext : nft__text(p, nft__crule(p, c, i));
	if (!k->text)
		return -ENOMEM;
	nft__rule_reach(p, c, i, ri, nft__text(p, nft__crule(p, c, i)), k->reach);
	return 0;
}

static int nft__other(struct nft *p, const struct nft_table *t, struct nft_chain *c,
		      uint32_t i, const struct nft_rinfo *ri)
{
	uint8_t fams[2] = { t->af ?: ri->to.family ?: ri->nat_af ?: ri->nfproto, 0 };
	int err = 0;

	if (!fams[0] && ri->dnat) {
		nft__skip(p, "dnat rule without address family", t->name, c->name);
		return 0;
	}
	if (!fams[0]) { /* a redirect in an inet table for either family: both */
		fams[0] = AF_INET;
		fams[1] = AF_INET6;
	}
	for (int f = 0; f < 2 && fams[f] && !err; f++)
		for (uint8_t j = 0; j < (ri->nports ? ri->nports : 1) && !err; j++)
			err = nft__other1(p, t, c, i, ri, fams[f], j);
	return err;
}

/*
 * A DNAT through a map: the kernel looks the connection's first packet up
 * by the key and translates to the element's data, and a packet no element
 * matches passes the rule untranslated.  So each element is a rule of its
 * own, the rule's matches narrowed by the element's key: `dnat ip to ip
 * daddr . tcp dport map { 10.96.0.20 . 3306 : 10.224.0.222 . 3306 }` is `ip
 * daddr 10.96.0.20 tcp dport 3306 dnat to 10.224.0.222:3306`.  A key of
 * numgen, jhash or symhash picks any element, whatever the connection.
 */
enum nft_kpart { NKP_ANY, NKP_DADDR, NKP_SADDR, NKP_DPORT, NKP_PROTO };

struct nft_mkey {
	uint8_t n;
	uint8_t part[NFT_MAX_KEY];
	uint8_t proto[NFT_MAX_KEY]; /* NKP_DPORT's protocol; 0: th, any */
};

/* One part of a map's key: 0, or -EINVAL with what it is in @what. */
static int nft__mkey_part(struct json_object *e, struct nft_mkey *k, char *what, size_t len)
{
	struct json_object *pl = kjson__get(e, "payload", json_type_object);
	const char *proto = kjson__str(pl, "protocol"), *field = kjson__str(pl, "field");
	const char *meta = kjson__str(kjson__get(e, "meta", json_type_object), "key");
	bool ip = proto && (!strcmp(proto, "ip") || !strcmp(proto, "ip6"));
	uint8_t *part;

	if (k->n == NFT_MAX_KEY) {
		snprintf(what, len, "more than %d parts", NFT_MAX_KEY);
		return -EINVAL;
	}
	part = &k->part[k->n];
	k->proto[k->n] = 0;
	if (ip && field && !strcmp(field, "daddr"))
		*part = NKP_DADDR;
	else if (ip && field && !strcmp(field, "saddr"))
		*part = NKP_SADDR;
	else if ((ip && field && (!strcmp(field, "protocol") || !strcmp(field, "nexthdr"))) ||
		 (meta && !strcmp(meta, "l4proto")))
		*part = NKP_PROTO;
	else if (proto && field && !strcmp(field, "dport") &&
		 (!strcmp(proto, "th") || !kproto__parse(proto, strlen(proto), &k->proto[k->n])))
		*part = NKP_DPORT;
	else if (json_object_object_get_ex(e, "numgen", NULL) ||
		 json_object_object_get_ex(e, "jhash", NULL) ||
		 json_object_object_get_ex(e, "symhash", NULL))
		*part = NKP_ANY;
	else {
		what[0] = '\0';
		nft__render_expr(e, what, len);
		return -EINVAL;
	}
	k->n++;
	return 0;
}

static int nft__mkey(struct json_object *key, struct nft_mkey *k, char *what, size_t len)
{
	struct json_object *parts = kjson__get(key, "concat", json_type_array);
	size_t n = parts ? json_object_array_length(parts) : 1;

	k->n = 0;
	for (size_t i = 0; i < n; i++)
		if (nft__mkey_part(parts ? json_object_array_get_idx(parts, i) : key, k, what, len))
			return -EINVAL;
	return n ? 0 : -EINVAL;
}

/* {"elem": {"val": V, "comment": ...}}: V */
static struct json_object *nft__unwrap(struct json_object *v)
{
	struct json_object *e = kjson__get(v, "elem", json_type_object);

	return e ? json_object_object_get(e, "val") : v;
}

/* Does prefix @a/@alen overlap @b/@blen?  Then the longer is their intersection. */
static bool nft__overlap(const struct kaddr *a, uint8_t alen, const struct kaddr *b, uint8_t blen)
{
	if (a->family != b->family)
		return false;
	return alen >= blen ? kaddr__in_prefix(a->addr, b, blen) : kaddr__in_prefix(b->addr, a, alen);
}

/*
 * An element's prefix @a/@plen within the rule's own match of the same
 * field (@has: it has one; @m/@mplen, @mneg: `!=`), narrowed in place:
 * 0, or 1 when the rule's match excludes every address of it.
 */
static int nft__narrow(const struct kaddr *a, uint8_t plen, bool has, struct kaddr *m,
		       uint8_t *mplen, bool *mneg, struct kaddr *ex, uint8_t *explen)
{
	if (has && !*mneg && !nft__overlap(a, plen, m, *mplen))
		return 1;
	if (has && *mneg && m->family == a->family && plen >= *mplen &&
	    kaddr__in_prefix(a->addr, m, *mplen))
		return 1;
	if (has && *mneg && nft__overlap(a, plen, m, *mplen)) { /* it holds the excluded */
		*ex = *m;
		*explen = *mplen;
	}
	if (!has || *mneg || plen > *mplen) {
		*m = *a;
		*mplen = plen;
	}
	*mneg = false;
	return 0;
}

/* The element's destination prefix @a/@plen into the rule's own destination match. */
static int nft__mkey_daddr(const struct kaddr *a, uint8_t plen, struct nft_rinfo *e)
{
	int r = nft__narrow(a, plen, e->has_dst, &e->dst, &e->dst_plen, &e->dst_neg, &e->dst_ex,
			    &e->dst_ex_plen);

	e->has_dst = true;
	return r;
}

/* The element's source prefix into the rule's own `ip saddr` match. */
static int nft__mkey_saddr(struct json_object *v, uint8_t af, struct nft_rinfo *e)
{
	struct kaddr a;
	uint8_t plen;

	if (nft__addr(v, af, &a, &plen))
		return -EINVAL;
	return nft__narrow(&a, plen, e->src.family != 0, &e->src, &e->src_plen, &e->src_neg,
			   &e->src_ex, &e->src_ex_plen);
}

/* The element's ports within the rule's own (tcp dport { 80, 443 }). */
static int nft__mkey_dport(struct json_object *v, struct nft_rinfo *e)
{
	uint16_t lo, hi;
	uint8_t n = 0;

	if (nft__port_range(v, &lo, &hi))
		return -EINVAL;
	if (!e->nports) {
		e->port_lo[0] = lo;
		e->port_hi[0] = hi;
		e->nports = 1;
		return 0;
	}
	for (uint8_t i = 0; i < e->nports; i++) {
		uint16_t l = e->port_lo[i] > lo ? e->port_lo[i] : lo;
		uint16_t h = e->port_hi[i] < hi ? e->port_hi[i] : hi;

		if (l > h)
			continue;
		e->port_lo[n] = l;
		e->port_hi[n++] = h;
	}
	e->nports = n;
	return n ? 0 : 1;
}

static int nft__mkey_proto(uint8_t proto, struct nft_rinfo *e)
{
	if (e->proto && proto && e->proto != proto)
		return 1;
	if (proto)
		e->proto = proto;
	return 0;
}

/* The catch-all element's key, "*": what no other element takes. */
static bool nft__catch_all(struct json_object *v)
{
	v = nft__unwrap(v);
	return json_object_is_type(v, json_type_string) && !strcmp(json_object_get_string(v), "*");
}

/*
 * Element key @v of a map keyed by @k into @e, a copy of the rule's matches,
 * its destination part as @dst/@dst_plen: 0; 1 when the rule's own matches
 * exclude it (it never applies); -EINVAL when it is not read.
 */
static int nft__mkey_apply(const struct nft_mkey *k, struct json_object *v, uint8_t af,
			   const struct kaddr *dst, uint8_t dst_plen, struct nft_rinfo *e)
{
	struct json_object *parts = kjson__get(v, "concat", json_type_array);
	int err = 0;

	if (nft__catch_all(v))
		return 0;
	if (k->n > 1 && (!parts || json_object_array_length(parts) != k->n))
		return -EINVAL;
	for (uint8_t i = 0; i < k->n && !err; i++) {
		struct json_object *p = nft__unwrap(k->n > 1 ? json_object_array_get_idx(parts, i) : v);
		uint8_t proto = 0;

		switch (k->part[i]) {
		case NKP_DADDR: /* one of nft__mkey_daddrs() */
			err = nft__mkey_daddr(dst, dst_plen, e);
			break;
		case NKP_SADDR: /* the element's, within the rule's own */
			err = nft__mkey_saddr(p, af, e);
			break;
		case NKP_DPORT:
			err = nft__mkey_proto(k->proto[i], e) ?: nft__mkey_dport(p, e);
			break;
		case NKP_PROTO:
			err = nft__proto(p, &proto) ?: nft__mkey_proto(proto, e);
			break;
		default: /* numgen, jhash, symhash: any connection */
			break;
		}
	}
	return err;
}

/* Element data @v: "10.0.0.1", a range or prefix, or {"concat": [ADDR, PORT]}
 * (else the rule's own ":PORT" stays); of a port map, 8080 or a range. */
static int nft__mdata(struct json_object *v, uint8_t af, struct nft_rinfo *e)
{
	struct json_object *parts = kjson__get(v, "concat", json_type_array);
	struct json_object *a = parts ? json_object_array_get_idx(parts, 0) : v;

	if (e->map_port) /* the rule's address, the element's port */
		return nft__port_range(v, &e->to_lo, &e->to_hi);
	e->to = (struct kaddr){ 0 };
	e->to_end = (struct kaddr){ 0 };
	e->to_netmap = 0;
	if (parts && (json_object_array_length(parts) != 2 ||
		      nft__port_range(json_object_array_get_idx(parts, 1), &e->to_lo, &e->to_hi)))
		return -EINVAL;
	if (json_object_is_type(a, json_type_string)) {
		const char *s = json_object_get_string(a);

		return kaddr__parse(s, strlen(s), af, &e->to);
	}
	return json_object_is_type(a, json_type_object) ? nft__addr_range(a, af, e) : -EINVAL;
}

/* The elements of @v: an anonymous set's ({"set": [...]}), or "@name", a named
 * set's or map's of table @t (NULL: empty); *@found false for a name not
 * listed as one of addresses or ports. */
static struct json_object *nft__elems(struct nft *p, const struct nft_table *t,
				      struct json_object *v, bool *found)
{
	const char *name = json_object_is_type(v, json_type_string) ? json_object_get_string(v) :
								       NULL;

	*found = true;
	if (!name)
		return kjson__get(v, "set", json_type_array);
	for (uint32_t i = 0; *name == '@' && i < p->dmaps.n; i++) {
		struct json_object *m = p->dmaps.v[i];
		const char *fam = kjson__str(m, "family"), *tab = kjson__str(m, "table");

		if (fam && tab && !strcmp(fam, t->family) && !strcmp(tab, t->name) &&
		    !strcmp(kjson__str(m, "name") ?: "", name + 1))
			return kjson__get(m, "elem", json_type_array);
	}
	*found = false;
	return NULL;
}

#define NFT_MAX_PREFIXES 254 /* of one IPv6 range */

/* Destination element @v ("10.0.0.1", a prefix, a range) as prefixes: their count, or -errno. */
static int nft__daddr_prefixes(struct json_object *v, uint8_t af, struct kaddr *out,
			       uint8_t *plen)
{
	struct json_object *r = kjson__get(v, "range", json_type_array);
	struct kaddr hi;

	if (!r)
		return nft__addr(v, af, &out[0], &plen[0]) ? -EINVAL : 1;
	if (nft__range_ends(r, af, &out[0], &hi))
		return -EINVAL;
	return kaddr__range_prefixes(&out[0], &hi, out, plen, NFT_MAX_PREFIXES);
}

/* Part @i of element key @v of a map keyed by @k. */
static struct json_object *nft__mkey_value(const struct nft_mkey *k, struct json_object *v,
					   int i)
{
	struct json_object *parts = kjson__get(v, "concat", json_type_array);

	if (k->n == 1)
		return v;
	return parts ? nft__unwrap(json_object_array_get_idx(parts, (size_t)i)) : NULL;
}

/* Rules the maps and sets of one dump may make: 216 bytes each, 57 MB. */
#define NFT_MAX_RULES (1u << 18)
/* and the rules tried for them, most of them perhaps left out by the
 * rule's own matches (of an address range's up to 254 prefixes each) */
#define NFT_MAX_TRIED (1u << 20)

/* Before an element's prefix is tried against its rule: -E2BIG, said once,
 * when the sets and maps have made rules, or been tried, enough. */
static int nft__room(struct nft *p, const struct nft_table *t, const struct nft_chain *c)
{
	if (p->idx->rules.n < NFT_MAX_RULES && p->tried < NFT_MAX_TRIED) {
		p->tried++;
		return 0;
	}
	if (!p->full) {
		p->full = true;
		nft__skip(p, p->tried < NFT_MAX_TRIED ?
				     "nat rule past the 262144 made of sets and maps (and every "
				     "such rule after it)" :
				     "nat rule past 1048576 elements of sets and maps tried (and "
				     "every such rule after it)",
			  t->name, c->name);
	}
	return -E2BIG;
}

static int nft__map_rules(struct nft *p, const struct nft_table *t, struct nft_chain *c,
			  uint32_t i, const struct nft_rinfo *ri)
{
	int daddr = -1; /* the key's destination part */
	char what[128] = "an empty concatenation";

	const char *text = nft__text(p, nft__crule(p, c, i));
	struct json_object *elems;
	struct nft_mkey k;
	bool found;
	int err = 0;

	if (!text)
		return -ENOMEM;
	if (nft__mkey(json_object_object_get(ri->map, "key"), &k, what, sizeof(what))) {
		p->idx->skipped_rules++;
		kindex__warn(p->idx, "%s: dnat map keyed on %s in table %s %s not followed, ignored",
			     p->idx->src_name, what, t->name, c->name ? c->name : "?");
		return 0;
	}
	for (int j = 0; j < k.n; j++)
		if (k.part[j] == NKP_DADDR)
			daddr = j;
	elems = nft__elems(p, t, json_object_object_get(ri->map, "data"), &found);
	if (!found) {
		nft__skip(p, "dnat rule's map (not listed)", t->name, c->name);
		return 0;
	}
	for (size_t j = 0; elems && j < json_object_array_length(elems) && !err; j++) {
		struct json_object *pair = json_object_array_get_idx(elems, j);
		struct kaddr dst[NFT_MAX_PREFIXES];
		uint8_t plen[NFT_MAX_PREFIXES];
		char etext[256] = "";
		int r = 1, n = 1;

		if (!json_object_is_type(pair, json_type_array) ||
		    json_object_array_length(pair) != 2) {
			nft__skip(p, "dnat map element", t->name, c->name);
			continue;
		}
		nft__render_expr(json_object_array_get_idx(pair, 0), etext, sizeof(etext));
		snprintf(etext + strlen(etext), sizeof(etext) - strlen(etext), " : ");
		nft__render_expr(json_object_array_get_idx(pair, 1), etext, sizeof(etext));
		if (daddr >= 0 && !nft__catch_all(json_object_array_get_idx(pair, 0)))
			n = nft__daddr_prefixes(nft__mkey_value(&k, nft__unwrap(
							json_object_array_get_idx(pair, 0)), daddr),
						ri->map_af, dst, plen); /* a range: one rule per prefix */
		for (int d = 0; d < n && !err; d++) {
			struct nft_rinfo e = *ri;

			err = nft__room(p, t, c);
			if (err)
				break;
			r = nft__mkey_apply(&k, nft__unwrap(json_object_array_get_idx(pair, 0)),
					    ri->map_af, &dst[d], plen[d], &e);
			if (!r)
				r = nft__mdata(nft__unwrap(json_object_array_get_idx(pair, 1)),
					       ri->map_af, &e);
			if (r < 0)
				break;
			if (r) /* this prefix of its range is not the rule's */
				continue;
			e.etext = karena__printf(&p->idx->arena, "%s (element %s)", text, etext);
			err = !e.etext ? -ENOMEM : nft__other(p, t, c, i, &e);
		}
		if (n < 0 || r < 0) {
			char what[300];

			snprintf(what, sizeof(what), "dnat map element `%s`", etext);
			nft__skip(p, what, t->name, c->name);
		}
	}
	return err == -E2BIG ? 0 : err;
}

/* The rule, one destination of its set at a time. */
static int nft__rule_one(struct nft *p, const struct nft_table *t, struct nft_chain *c, uint32_t i,
			 const struct nft_rinfo *ri)
{
	if (ri->map)
		return nft__map_rules(p, t, c, i, ri);
	if (t->kind == NFT_CNI && ri->dnat)
		return nft__hostport(p, t, c, i, ri);
	return nft__other(p, t, c, i, ri);
}

/*
 * `ip daddr { 10.0.0.1, 10.1.0.0/16, 10.2.0.1-10.2.0.9 } ... dnat to ...` (or
 * a named set of addresses): a rule per address or prefix, a range as its
 * prefixes.  A named set not listed as one of addresses stays any
 * destination, as a set natwho does not read.
 */
static int nft__dset_rules(struct nft *p, const struct nft_table *t, struct nft_chain *c,
			   uint32_t i, const struct nft_rinfo *ri)
{
	struct json_object *elems = NULL, *one = NULL;
	struct kaddr dst[NFT_MAX_PREFIXES];
	uint8_t plen[NFT_MAX_PREFIXES];
	struct nft_rinfo e = *ri;
	bool found = true;
	size_t m;
	int err = 0;

	e.dset = NULL;
	if (kjson__get(ri->dset, "range", json_type_array))
		one = ri->dset; /* ip daddr 10.0.0.1-10.0.0.9 */
	else
		elems = nft__elems(p, t, ri->dset, &found);
	if (!found)
		return nft__rule_one(p, t, c, i, &e);
	m = one ? 1 : elems ? json_object_array_length(elems) : 0;
	for (size_t j = 0; j < m && !err; j++) {
		struct json_object *v = one ? one : nft__unwrap(json_object_array_get_idx(elems, j));
		int n = nft__daddr_prefixes(v, t->af, dst, plen);

		if (n < 0) {
			char what[300] = "destination `";

			nft__render_expr(v, what, sizeof(what) - 2);
			strcat(what, "`");
			nft__skip(p, what, t->name, c->name);
		}
		for (int d = 0; d < n && !err; d++) {
			struct nft_rinfo x = e; /* with the rule's own `ip daddr` */

			err = nft__room(p, t, c);
			if (!err && !nft__mkey_daddr(&dst[d], plen[d], &x))
				err = nft__rule_one(p, t, c, i, &x);
		}
	}
	return err == -E2BIG ? 0 : err;
}

/* Every dnat/redirect rule of portmap's and of other (non kube-proxy) tables. */
static int nft__nat_rules(struct nft *p)
{
	int err = 0;

	for (uint32_t b = 0; b < p->chains.n && !err; b++) {
		struct nft_chain *c = &p->chains.v[b];
		const struct nft_table *t = &p->tables.v[c->table];

		if (t->kind == NFT_SKIP || (t->tainted && !c->reach[KHOOK_PREROUTING].reached &&
					     !c->reach[KHOOK_OUTPUT].reached))
			continue; /* a tainted table's chains nft's own do not reach */
		for (uint32_t i = 0; i < c->nrules && !err; i++) {
			const struct nft_rinfo *ri = &nft__crule(p, c, i)->ri;

			if (t->kind == NFT_KUBE && ri->dnat && !ri->bad && ri->to_end.family)
				/* kube-proxy writes none: not an endpoint (nft__walk()) */
				nft__skip(p, "dnat rule to an address range", t->name, c->name);
			if (t->kind == NFT_KUBE || (!ri->dnat && !ri->redirect) || ri->never)
				continue;
			if (ri->bad)
				nft__skip(p, "nat rule", t->name, c->name);
			else if (ri->dset)
				err = nft__dset_rules(p, t, c, i, ri);
			else
				err = nft__rule_one(p, t, c, i, ri);
		}
	}
	return err;
}

static void nft__free(struct nft *p)
{
	for (uint32_t i = 0; i < p->chains.n; i++)
		free(p->chains.v[i].rules);
	for (uint32_t i = 0; i < p->rules.n; i++) {
		json_object_put(p->rules.v[i].json);
		json_object_put(p->rules.v[i].ri.map);
		json_object_put(p->rules.v[i].ri.dset);
	}
	for (uint32_t i = 0; i < p->dmaps.n; i++)
		json_object_put(p->dmaps.v[i]);
	for (uint32_t i = 0; i < p->sets.n; i++)
		json_object_put(p->sets.v[i]);
	free(p->chains.v);
	free(p->tables.v);
	free(p->citems.v);
	free(p->rules.v);
	free(p->targets.v);
	free(p->sets.v);
	free(p->dmaps.v);
	free(p->walks.gen);
	kstrmap__free(&p->table_ids);
	kstrmap__free(&p->chain_ids);
	kstrmap__free(&p->chain_kinds);
	kstrmap__free(&p->cluster_ips);
	karena__free(&p->tmp);
}

static int nft__interpret(struct nft *p)
{
	int err = nft__collect(p);

	if (!err)
		err = nft__reach(p);
	for (uint32_t t = 0; t < p->tables.n && !err; t++) {
		const struct nft_table *tb = &p->tables.v[t];

		if (tb->kind != NFT_KUBE || !tb->af)
			continue;
		err = nft__kube_sets(p, tb, 0);
		if (!err)
			err = nft__kube_sets(p, tb, 1);
		if (!err)
			err = nft__kube_hooks(p, tb);
	}
	return err ? err : nft__nat_rules(p);
}

/* The document parsed whole: one kjson__each_in() left (json-c's extensions,
 * or not an "nftables" array of objects). */
static int nft__parse_whole(struct nft *p, const char *data, size_t len, char *errbuf,
			    size_t errlen)
{
	struct json_object *root, *list;
	int err = kjson__parse(p->idx, data, len, &root, errbuf, errlen);

	if (err)
		return err;
	list = kjson__get(root, "nftables", json_type_array);
	if (!list) {
		snprintf(errbuf, errlen,
			 "%s: not `nft -j list ruleset` output: no \"nftables\" array",
			 p->idx->src_name);
		err = -EINVAL;
	}
	for (size_t i = 0; list && i < json_object_array_length(list) && !err; i++)
		err = nft__item(p, json_object_array_get_idx(list, i));
	json_object_put(root);
	return err;
}

int ruleset_nft__parse(struct kindex *idx, const char *data, size_t len, char *errbuf,
		       size_t errlen)
{
	struct nft p = { .idx = idx };
	int err;

	errbuf[0] = '\0';
	err = kjson__each_in(idx, data, len, "nftables", nft__item, &p, errbuf, errlen);
	if (err == KJSON_WHOLE)
		err = nft__parse_whole(&p, data, len, errbuf, errlen);
	if (!err)
		err = nft__interpret(&p);
	if (err && !errbuf[0])
		snprintf(errbuf, errlen, "%s: %s", idx->src_name, strerror(-err));
	nft__free(&p);
	return err;
}
