// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* kindex: the index's life cycle, source dispatch, the helpers parsers use
 * to add knowledge, and the rebuild of the per-event hash tables. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "conn.h"
#include "fmt.h"
#include "k8s_int.h"

#define KMARK_N 16
#define KSVCPORT_KEY_MAX (3 * 256 + 16)

/* Array lengths and counters before a source, to undo it when it fails:
 * taken before the source is read, so that undoing needs no memory. */
struct kmark {
	uint32_t n[KMARK_N]; /* in kindex__counters() order */
	uint32_t svcports;
	struct ksvcport *svcports_copy; /* a source may fill in existing ones */
	struct kstrmap svcport_ids; /* a copy: a source adds to it */
	uint8_t ipt_nat_said[2];
	bool np_scoped[2];
};

static const char *const ksrc_names[KSRC_KIND_MAX] = {
	[KSRC_IPTABLES_SAVE] = "iptables-save", [KSRC_IP6TABLES_SAVE] = "ip6tables-save",
	[KSRC_NFT_JSON] = "nft-json",		[KSRC_IPSET_SAVE] = "ipset-save",
	[KSRC_LOCAL_ADDRS] = "local-addrs",	[KSRC_SNAPSHOT] = "snapshot",
	[KSRC_IPVS] = "ipvs",
};

const char *ksrc_kind__str(enum ksrc_kind kind)
{
	return (unsigned)kind < KSRC_KIND_MAX ? ksrc_names[kind] : "unknown";
}

int ksrc_kind__parse(const char *s, enum ksrc_kind *out)
{
	for (int k = 0; k < KSRC_KIND_MAX; k++) {
		if (s && !strcmp(s, ksrc_names[k])) {
			*out = (enum ksrc_kind)k;
			return 0;
		}
	}
	return -EINVAL;
}

const char *khook__str(uint8_t hook)
{
	return hook == KHOOK_OUTPUT ? "output" : "prerouting";
}

static uint64_t last_gen; /* struct kindex.gen: unique per index and change */

struct kindex *kindex__new(void)
{
	struct kindex *idx = calloc(1, sizeof(struct kindex));

	if (idx)
		idx->gen = __atomic_add_fetch(&last_gen, 1, __ATOMIC_RELAXED);
	return idx;
}

static void kindex__free_tables(struct kindex *idx)
{
	ktab__free(&idx->t_vips);
	ktab__free(&idx->t_nodeports);
	ktab__free(&idx->t_eps);
	ktab__free(&idx->t_hostports);
	ktab__free(&idx->t_rules);
	ktab__free(&idx->t_names);
	ktab__free(&idx->t_locals);
	ktab__free(&idx->t_ipvs);
	ktab__free(&idx->t_ipvs_dests);
}

void kindex__free(struct kindex *idx)
{
	if (!idx)
		return;
	kindex__free_tables(idx);
	kstrmap__free(&idx->svcport_ids);
	free(idx->pods.v);
	free(idx->podports.v);
	free(idx->svcports.v);
	free(idx->vips.v);
	free(idx->nodeports.v);
	free(idx->eps.v);
	free(idx->hostports.v);
	free(idx->rules.v);
	free(idx->locals.v);
	free(idx->names.v);
	free(idx->kubes.v);
	free(idx->ipvs_svcs.v);
	free(idx->ipvs_dests.v);
	free(idx->held);
	karena__free(&idx->arena);
	free(idx);
}

void kindex__set_warn(struct kindex *idx, kindex_warn_fn fn, void *ctx)
{
	idx->warn = fn;
	idx->warn_ctx = ctx;
}

/* Held warnings kept at most: a source of a million bad lines says them as
 * they come past this. */
#define KWARN_HOLD_MAX (1u << 20)

/* The held warnings said, in order; none held any more. */
static void kindex__say_held(struct kindex *idx)
{
	for (size_t at = 0; at < idx->held_len; at += strlen(idx->held + at) + 1)
		idx->warn(idx->warn_ctx, idx->held + at);
	idx->held_len = 0;
}

void kindex__warn(struct kindex *idx, const char *fmt, ...)
{
	char msg[512];
	size_t n;
	va_list ap;

	if (!idx->warn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	n = strlen(msg) + 1;
	if (idx->holding && idx->held_len + n > idx->held_cap && idx->held_len + n <= KWARN_HOLD_MAX) {
		size_t cap = idx->held_cap ? idx->held_cap * 2 : 4096;
		char *p;

		while (cap < idx->held_len + n)
			cap *= 2;
		p = realloc(idx->held, cap);
		if (p) {
			idx->held = p;
			idx->held_cap = cap;
		}
	}
	if (idx->holding && idx->held_len + n <= idx->held_cap) {
		memcpy(idx->held + idx->held_len, msg, n);
		idx->held_len += n;
		return;
	}
	if (idx->holding) { /* too many, or no memory: say them now */
		kindex__say_held(idx);
		idx->holding = false;
	}
	idx->warn(idx->warn_ctx, msg);
}

static bool kchar__in(const char *set, char c)
{
	return c && set && strchr(set, c);
}

/* 0: understood; -ENOMEM or a described error: stop; other errors: skip. */
static int klines__one(struct klines *l, const char *s, size_t n)
{
	struct kindex *idx = l->idx;
	int err = l->line(l, s, n);

	if (err && l->errbuf[0])
		return err;
	if (err == -ENOMEM) {
		snprintf(l->errbuf, l->errlen, "%s:%u: %s", idx->src_name, l->line_no,
			 strerror(ENOMEM));
		return err;
	}
	if (!err) {
		l->good++;
		return 0;
	}
	if (!l->bad++)
		l->first_bad = l->line_no;
	idx->skipped_rules++;
	kindex__warn(idx, "%s:%u: %s%s%.*s", idx->src_name, l->line_no, l->bad_msg,
		     l->quote_bad ? ": " : "", l->quote_bad ? (int)(n > 120 ? 120 : n) : 0, s);
	return 0;
}

int klines__parse(struct klines *l, const char *data, size_t len)
{
	l->line_no = l->good = l->bad = l->first_bad = 0;
	for (size_t off = 0; off < len;) {
		const char *s = data + off, *nl = memchr(s, '\n', len - off);
		size_t n = nl ? (size_t)(nl - s) : len - off;
		int err;

		off += n + (nl ? 1 : 0);
		l->line_no++;
		while (n && kchar__in(l->lead, s[0])) {
			s++;
			n--;
		}
		while (n && kchar__in(l->tail, s[n - 1]))
			n--;
		if (!n || kchar__in(l->comment, s[0]))
			continue;
		err = klines__one(l, s, n);
		if (err)
			return err;
	}
	if (l->bad && !l->good && l->none_msg) {
		snprintf(l->errbuf, l->errlen, "%s:1: %s", l->idx->src_name, l->none_msg);
		return -EBADMSG;
	}
	return 0;
}

void kindex__set_node_netns(struct kindex *idx, uint32_t netns)
{
	if (idx->node_netns != netns)
		idx->gen = __atomic_add_fetch(&last_gen, 1, __ATOMIC_RELAXED); /* stale annotations */
	idx->node_netns = netns;
}

void kindex__stats(const struct kindex *idx, struct kindex_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->sources = idx->sources;
	st->pods = idx->pods.n;
	st->svcports = idx->svcports.n;
	st->endpoints = idx->eps.n;
	st->vips = idx->vips.n;
	st->nodeports = idx->nodeports.n;
	st->hostports = idx->hostports.n;
	st->rules = idx->rules.n;
	st->local_addrs = idx->locals.n;
	st->skipped_objects = idx->skipped_objects;
	st->ignored_objects = idx->ignored_objects;
	st->skipped_rules = idx->skipped_rules;
	st->xt_unread = idx->xt_unread;
	st->ipvs = idx->ipvs[0] || idx->ipvs[1];
	st->ipvs_services = idx->ipvs_svcs.n;
	st->ipvs_dests = idx->ipvs_dests.n;
	for (uint32_t i = 0; i < idx->vips.n && !st->ipvs_sets; i++)
		st->ipvs_sets = idx->vips.v[i].origin == KO_IPSET;
}

static bool kpod__same(const struct kpod *a, const struct kpod *b)
{
	return a->ns && b->ns && a->name && b->name && !strcmp(a->ns, b->ns) &&
	       !strcmp(a->name, b->name);
}

uint32_t kindex__pod_conflicts(const struct kindex *idx, char *buf, size_t len)
{
	uint32_t n = 0;

	if (len)
		buf[0] = '\0';
	for (uint32_t i = 0; i < idx->pods.n; i++) {
		const struct kpod *p = &idx->pods.v[i];

		for (uint8_t j = 0; j < p->nips && !p->host_network; j++) {
			char addr[NW_ADDRSTRLEN];
			const struct kpod *first;
			struct kkey k;
			uint32_t e;

			kkey__set(&k, p->ips[j].family, p->ips[j].addr, 0, 0);
			e = ktab__find(&idx->t_names, &k);
			if (e == KNONE || idx->names.v[e].pod == KNONE || idx->names.v[e].pod == i)
				continue;
			first = &idx->pods.v[idx->names.v[e].pod];
			if (kpod__same(first, p)) /* one pod in two snapshots */
				continue;
			if (!n++ && len)
				fmt__snprintf(buf, len, "pods %s/%s and %s/%s both have address %s "
					      "(in the --k8s snapshots): natwho names it after %s/%s, "
					      "listed first", first->ns, first->name, p->ns, p->name,
					      conn__addr_str(p->ips[j].family, p->ips[j].addr, addr,
							     sizeof(addr)),
					      first->ns, first->name);
		}
	}
	return n;
}

/* The node's own addresses alone say nothing about where NAT should send a
 * connection: no verdict from them. */
bool kindex__empty(const struct kindex *idx)
{
	return !idx->pods.n && !idx->svcports.n && !idx->hostports.n && !idx->rules.n &&
	       !idx->ipvs_svcs.n;
}

/*
 * The walks of one Service port share a generation: each chain is visited
 * once per Service port (no endpoint twice), and every entry chain adds its
 * endpoints (with internalTrafficPolicy Local the ClusterIP goes to the
 * node-local chain, NodePort and external IPs to the cluster-wide one).
 * Sets w->walk to @svcport's generation; 0 or -ENOMEM.
 */
int kindex__svc_walk(const struct kindex *idx, struct ksvc_walk *w, uint32_t svcport)
{
	if (svcport >= w->n) {
		uint32_t n = idx->svcports.n > svcport ? idx->svcports.n : svcport + 1;
		uint32_t *v = realloc(w->gen, (size_t)n * sizeof(*v));

		if (!v)
			return -ENOMEM;
		memset(v + w->n, 0, (size_t)(n - w->n) * sizeof(*v));
		w->gen = v;
		w->n = n;
	}
	if (!w->gen[svcport])
		w->gen[svcport] = ++w->last;
	w->walk = w->gen[svcport];
	return 0;
}

/* What a source changes: the lengths of the arrays it adds to, its skip counters. */
static void kindex__counters(struct kindex *idx, uint32_t *c[KMARK_N])
{
	uint32_t *all[KMARK_N] = {
		&idx->pods.n, &idx->podports.n, &idx->svcports.n, &idx->vips.n,
		&idx->nodeports.n, &idx->eps.n, &idx->hostports.n, &idx->rules.n,
		&idx->locals.n, &idx->kubes.n, &idx->ipvs_svcs.n, &idx->ipvs_dests.n,
		&idx->skipped_objects, &idx->ignored_objects, &idx->skipped_rules,
		&idx->xt_unread,
	};

	memcpy(c, all, sizeof(all));
}

/* "ns/name/proto/port_name": the key of svcport_ids. */
static void ksvcport__key(char *key, size_t n, const char *ns, const char *name, uint8_t proto,
			  const char *port_name)
{
	snprintf(key, n, "%.255s/%.255s/%u/%.255s", ns, name, proto, port_name);
}

static int kindex__svcport_new(struct kindex *idx, const char *id, uint32_t *out)
{
	struct ksvcport *sp = KVEC_PUSH(&idx->svcports);

	if (!sp || kstrmap__put(&idx->svcport_ids, id, idx->svcports.n - 1)) {
		if (sp)
			idx->svcports.n--;
		return -ENOMEM;
	}
	*out = idx->svcports.n - 1;
	return 0;
}

/* Find or create the Service port ns/name proto port_name. */
struct ksvcport *kindex__svcport(struct kindex *idx, const char *ns, const char *name,
				 uint8_t proto, const char *port_name, uint32_t *id)
{
	char key[KSVCPORT_KEY_MAX];
	const char *akey;
	struct ksvcport *sp;
	uint32_t i;

	if (!port_name)
		port_name = "";
	ksvcport__key(key, sizeof(key), ns, name, proto, port_name);
	i = kstrmap__get(&idx->svcport_ids, key, strlen(key));
	if (i != KNONE) {
		*id = i;
		return &idx->svcports.v[i];
	}
	akey = karena__strdup(&idx->arena, key);
	if (!akey || kindex__svcport_new(idx, akey, &i))
		return NULL;
	sp = &idx->svcports.v[i];
	sp->ns = karena__strdup(&idx->arena, ns);
	sp->name = karena__strdup(&idx->arena, name);
	sp->port_name = karena__strdup(&idx->arena, port_name);
	sp->proto = proto;
	*id = i;
	return sp->ns && sp->name && sp->port_name ? sp : NULL;
}

/* A Service port known only by its address (IPVS ipset entries). */
struct ksvcport *kindex__svcport_anon(struct kindex *idx, uint8_t proto, uint16_t port,
				      uint32_t *id)
{
	struct ksvcport *sp = KVEC_PUSH(&idx->svcports);

	if (!sp)
		return NULL;
	sp->proto = proto;
	sp->port = port;
	sp->port_name = "";
	*id = idx->svcports.n - 1;
	return sp;
}

int kindex__add_vip(struct kindex *idx, uint32_t svcport, uint8_t kind, const struct kaddr *a,
		    uint8_t origin, const char *table, const char *chain)
{
	const struct ksvcport *sp = &idx->svcports.v[svcport];
	struct kvip *v;

	if (!sp->port)
		return -EINVAL;
	v = KVEC_PUSH(&idx->vips);
	if (!v)
		return -ENOMEM;
	kkey__set(&v->key, a->family, a->addr, sp->proto, sp->port);
	v->svcport = svcport;
	v->kind = kind;
	v->origin = origin;
	v->table = table;
	v->chain = chain;
	return 0;
}

int kindex__add_nodeport(struct kindex *idx, uint32_t svcport, uint8_t family, uint8_t origin,
			 const char *table, const char *chain)
{
	const struct ksvcport *sp = &idx->svcports.v[svcport];
	struct knodeport *np;

	if (!sp->node_port)
		return -EINVAL;
	np = KVEC_PUSH(&idx->nodeports);
	if (!np)
		return -ENOMEM;
	kkey__set(&np->key, family, NULL, sp->proto, sp->node_port);
	np->svcport = svcport;
	np->origin = origin;
	np->table = table;
	np->chain = chain;
	return 0;
}

int kindex__add_ep(struct kindex *idx, uint32_t svcport, const struct kaddr *a, uint16_t port,
		   bool ready, uint8_t origin, const char *pod_ns, const char *pod_name)
{
	struct ksvcport *sp = &idx->svcports.v[svcport];
	struct kep *ep;

	if (idx->ep_limit && idx->ep_added >= idx->ep_limit)
		return -E2BIG;
	idx->ep_added++;
	ep = KVEC_PUSH(&idx->eps);
	if (!ep)
		return -ENOMEM;
	kkey__set(&ep->key, a->family, a->addr, sp->proto, port);
	ep->key.aux = svcport + 1;
	ep->svcport = svcport;
	ep->ready = ready;
	ep->origin = origin;
	ep->pod_ns = pod_ns;
	ep->pod_name = pod_name;
	sp->ep_origins |= 1u << origin;
	sp->neps++;
	return 0;
}

int kindex__add_local(struct kindex *idx, const struct kaddr *a, const char *ifname,
		      uint8_t origin)
{
	struct klocal *l = KVEC_PUSH(&idx->locals);

	if (!l)
		return -ENOMEM;
	kkey__set(&l->key, a->family, a->addr, 0, 0);
	l->ifname = ifname;
	l->origin = origin;
	return 0;
}

static int kindex__add_name(struct kindex *idx, const struct kaddr *a, uint8_t proto,
			    uint16_t port, uint8_t kind, uint32_t pod, const char *node)
{
	struct kname *nm = KVEC_PUSH(&idx->names);

	if (!nm)
		return -ENOMEM;
	kkey__set(&nm->key, a->family, a->addr, proto, port);
	nm->kind = kind;
	nm->pod = pod;
	nm->node = node;
	return 0;
}

/* Pods first so a pod IP wins over a node address that equals it. */
static int kindex__build_names(struct kindex *idx)
{
	int err = 0;

	idx->names.n = 0;
	for (uint32_t i = 0; i < idx->pods.n && !err; i++) {
		const struct kpod *p = &idx->pods.v[i];
		uint8_t kind = p->host_network ? K8S_KIND_NODE : K8S_KIND_POD;

		for (uint8_t j = 0; j < p->nips && !err; j++)
			err = kindex__add_name(idx, &p->ips[j], 0, 0, kind,
					       p->host_network ? KNONE : i, p->node);
	}
	for (uint32_t i = 0; i < idx->podports.n && !err; i++) {
		const struct kpodport *pp = &idx->podports.v[i];
		const struct kpod *p = &idx->pods.v[pp->pod];

		for (uint8_t j = 0; j < p->nips && !err; j++)
			err = kindex__add_name(idx, &p->ips[j], pp->proto, pp->port, K8S_KIND_POD,
					       pp->pod, p->node);
	}
	for (uint32_t i = 0; i < idx->pods.n && !err; i++) {
		const struct kpod *p = &idx->pods.v[i];

		for (uint8_t j = 0; j < p->nhost_ips && !err; j++)
			err = kindex__add_name(idx, &p->host_ips[j], 0, 0, K8S_KIND_NODE, KNONE,
					       p->node);
	}
	return err;
}

/* Name the pod each hostPort rule maps to, from its DNAT address. */
static void kindex__resolve_hostports(struct kindex *idx)
{
	for (uint32_t i = 0; i < idx->hostports.n; i++) {
		struct khostport *hp = &idx->hostports.v[i];
		struct kkey k;
		uint32_t n;

		if (hp->pod_name)
			continue;
		kkey__set(&k, hp->to.family, hp->to.addr, 0, 0);
		n = ktab__find(&idx->t_names, &k);
		if (n != KNONE && idx->names.v[n].pod != KNONE) {
			const struct kpod *p = &idx->pods.v[idx->names.v[n].pod];

			hp->pod_ns = p->ns;
			hp->pod_name = p->name;
		}
	}
}

/*
 * Path @via leads to a chain reached as *@r: the first path is kept, and
 * the first that matches any destination where the first matches local
 * ones only.  True when *@r changed (the chains it leads to are to be
 * marked too).
 */
bool kreach__merge(struct kreach *r, const struct kreach *via)
{
	if (!r->reached) {
		*r = *via;
		r->any_reached = false;
		return true;
	}
	if (!r->local_only || via->local_only || r->any_reached)
		return false;
	r->any_reached = true;
	r->any = (struct kreach_path){ .prio = via->prio, .pos = via->pos, .table = via->table,
				       .base = via->base, .text = via->text };
	return true;
}

/* A rule's own local-destination test narrows every path to it. */
void kreach__narrow(struct kreach *r, bool local_only)
{
	if (!local_only)
		return;
	r->local_only = true;
	r->any_reached = false;
}

/* How @r reaches a destination, local or not: NULL when it does not. */
const struct kreach *kreach__for(const struct kreach *r, bool local_dst, struct kreach *buf)
{
	if (!r->reached)
		return NULL;
	if (!r->local_only || local_dst)
		return r;
	if (!r->any_reached)
		return NULL;
	*buf = (struct kreach){ .reached = true, .prio = r->any.prio, .pos = r->any.pos,
				.table = r->any.table, .base = r->any.base, .text = r->any.text };
	return buf;
}

bool kreach__before(const struct kreach *r, const struct kkube *k, bool *tie)
{
	*tie = false;
	if (r->prio != k->prio)
		return r->prio < k->prio;
	/* Same priority: rule order decides inside one table; across tables
	 * it is registration order, which no dump shows: assume the worst. */
	if (r->table && k->table && !strcmp(r->table, k->table) && r->base && k->base &&
	    !strcmp(r->base, k->base))
		return r->pos < k->pos;
	*tie = true;
	return true;
}

/* Does portmap's DNAT see a connection before kube-proxy does, per family? */
static void kindex__order(struct kindex *idx)
{
	memset(idx->portmap_first, 0, sizeof(idx->portmap_first));
	memset(idx->ipvs, 0, sizeof(idx->ipvs));
	for (uint32_t k = 0; k < idx->kubes.n; k++)
		if (idx->kubes.v[k].mode == KMODE_IPVS)
			idx->ipvs[kfam__idx(idx->kubes.v[k].family)] = true;
	for (uint32_t v = 0; v < idx->vips.n; v++)
		if (idx->vips.v[v].origin == KO_IPSET)
			idx->ipvs[kfam__idx(idx->vips.v[v].key.family)] = true;
	for (uint32_t i = 0; i < idx->hostports.n; i++) {
		const struct khostport *hp = &idx->hostports.v[i];

		for (int h = 0; h < KHOOK_MAX; h++) {
			struct kreach buf;

			/* by either path (kreach__for()): local destinations' or any */
			for (int local = 1; local >= 0; local--) {
				const struct kreach *r = kreach__for(&hp->reach[h], local, &buf);
				bool first = r != NULL;

				for (uint32_t k = 0; first && k < idx->kubes.n; k++) {
					const struct kkube *kb = &idx->kubes.v[k];
					bool tie;

					if (kb->family == hp->key.family && kb->hook == h &&
					    !kreach__before(r, kb, &tie))
						first = false;
				}
				if (first)
					idx->portmap_first[kfam__idx(hp->key.family)] = true;
			}
		}
	}
}

/* The lookup tables and the vectors they index as they are now, in build
 * order. */
#define KINDEX_NTABS 9
#define KTAB(tab, vec) { &(tab), (vec).v, sizeof(*(vec).v), (vec).n }

struct ktab_of {
	struct ktab *t; /* the index's */
	const void *v;
	size_t size;
	uint32_t n;
};

static void kindex__tabs(struct kindex *idx, struct ktab_of tabs[KINDEX_NTABS])
{
	const struct ktab_of all[KINDEX_NTABS] = {
		KTAB(idx->t_names, idx->names),	    KTAB(idx->t_vips, idx->vips),
		KTAB(idx->t_nodeports, idx->nodeports), KTAB(idx->t_eps, idx->eps),
		KTAB(idx->t_hostports, idx->hostports), KTAB(idx->t_rules, idx->rules),
		KTAB(idx->t_locals, idx->locals),	KTAB(idx->t_ipvs, idx->ipvs_svcs),
		KTAB(idx->t_ipvs_dests, idx->ipvs_dests),
	};

	memcpy(tabs, all, sizeof(all));
}

/* The tables of @idx's vectors into @out, apart from the index's own: 0, or
 * -ENOMEM and none is left. */
static int kindex__build_tables(struct kindex *idx, struct ktab out[KINDEX_NTABS])
{
	struct ktab_of tabs[KINDEX_NTABS];
	int err = 0;

	kindex__tabs(idx, tabs);
	memset(out, 0, KINDEX_NTABS * sizeof(*out));
	for (size_t i = 0; i < KINDEX_NTABS && !err; i++)
		err = ktab__build(&out[i], tabs[i].v, tabs[i].size, tabs[i].n);
	if (err)
		for (size_t i = 0; i < KINDEX_NTABS; i++)
			ktab__free(&out[i]);
	return err;
}

/*
 * The derived parts (names, lookup tables, hostPort pods, hook order) from
 * the vectors.  Built apart and swapped in: when memory runs out the index
 * keeps the ones it had, whole.
 */
int kindex__rebuild(struct kindex *idx)
{
	static const uint8_t none[16];
	__typeof__(idx->names) old = idx->names;
	struct ktab_of tabs[KINDEX_NTABS];
	struct ktab nt[KINDEX_NTABS];
	int err;

	memset(&idx->names, 0, sizeof(idx->names));
	err = kindex__build_names(idx);
	if (!err)
		err = kindex__build_tables(idx, nt);
	if (err) {
		free(idx->names.v);
		idx->names = old;
		return err;
	}
	free(old.v);
	kindex__tabs(idx, tabs);
	for (size_t i = 0; i < KINDEX_NTABS; i++) {
		ktab__free(tabs[i].t);
		*tabs[i].t = nt[i];
	}
	kindex__resolve_hostports(idx);
	kindex__order(idx);
	idx->rules_by_addr = false;
	for (uint32_t i = 0; i < idx->rules.n && !idx->rules_by_addr; i++)
		idx->rules_by_addr = memcmp(idx->rules.v[i].key.addr, none,
					    sizeof(idx->rules.v[i].key.addr)) != 0;
	return 0;
}

static void kindex__unmark(struct kmark *m)
{
	free(m->svcports_copy);
	kstrmap__free(&m->svcport_ids);
}

static int kindex__mark(struct kindex *idx, struct kmark *m)
{
	const struct kstrmap *ids = &idx->svcport_ids;
	uint32_t *c[KMARK_N];

	memset(m, 0, sizeof(*m));
	kindex__counters(idx, c);
	for (int i = 0; i < KMARK_N; i++)
		m->n[i] = *c[i];
	memcpy(m->ipt_nat_said, idx->ipt_nat_said, sizeof(m->ipt_nat_said));
	memcpy(m->np_scoped, idx->np_scoped, sizeof(m->np_scoped));
	m->svcports = idx->svcports.n;
	if (idx->svcports.n) {
		m->svcports_copy = malloc(idx->svcports.n * sizeof(*idx->svcports.v));
		if (!m->svcports_copy)
			return -ENOMEM;
		memcpy(m->svcports_copy, idx->svcports.v,
		       idx->svcports.n * sizeof(*idx->svcports.v));
	}
	if (ids->slots) {
		size_t bytes = ((size_t)ids->mask + 1) * sizeof(*ids->slots);

		m->svcport_ids = *ids;
		m->svcport_ids.slots = malloc(bytes);
		if (!m->svcport_ids.slots) {
			kindex__unmark(m);
			return -ENOMEM;
		}
		memcpy(m->svcport_ids.slots, ids->slots, bytes);
	}
	return 0;
}

/*
 * Forget everything the failed source added (its strings stay in the
 * arena), allocating nothing: the vectors cut back to their marks (what is
 * left of them as it was, if perhaps moved), the Service port map back
 * from its copy (handed over: @m no longer holds it), the tables pointed at
 * where the vectors now are.  The hook order needs nothing: the last
 * kindex__rebuild() computed it from the vectors as they are cut back to.
 */
static void kindex__rollback(struct kindex *idx, struct kmark *m)
{
	struct ktab_of tabs[KINDEX_NTABS];
	uint32_t *c[KMARK_N];

	kindex__counters(idx, c);
	for (int i = 0; i < KMARK_N; i++)
		*c[i] = m->n[i];
	if (m->svcports_copy)
		memcpy(idx->svcports.v, m->svcports_copy, m->svcports * sizeof(*idx->svcports.v));
	memcpy(idx->ipt_nat_said, m->ipt_nat_said, sizeof(idx->ipt_nat_said));
	memcpy(idx->np_scoped, m->np_scoped, sizeof(idx->np_scoped));
	kstrmap__free(&idx->svcport_ids);
	idx->svcport_ids = m->svcport_ids;
	memset(&m->svcport_ids, 0, sizeof(m->svcport_ids));
	kindex__tabs(idx, tabs);
	for (size_t i = 0; i < KINDEX_NTABS; i++)
		if (tabs[i].t->slots)
			tabs[i].t->base = tabs[i].v;
}

static int kindex__dispatch(struct kindex *idx, enum ksrc_kind kind, const char *data,
			    size_t len, char *errbuf, size_t errlen)
{
	switch (kind) {
	case KSRC_IPTABLES_SAVE:
		return ruleset_ipt__parse(idx, AF_INET, data, len, errbuf, errlen);
	case KSRC_IP6TABLES_SAVE:
		return ruleset_ipt__parse(idx, AF_INET6, data, len, errbuf, errlen);
	case KSRC_NFT_JSON:
		return ruleset_nft__parse(idx, data, len, errbuf, errlen);
	case KSRC_IPSET_SAVE:
		return ruleset_ipset__parse(idx, data, len, errbuf, errlen);
	case KSRC_LOCAL_ADDRS:
		return k8s_local__parse(idx, data, len, errbuf, errlen);
	case KSRC_IPVS:
		return ruleset_ipvs__parse(idx, data, len, errbuf, errlen);
	case KSRC_SNAPSHOT:
		return k8s_snapshot__parse(idx, data, len, errbuf, errlen);
	default:
		snprintf(errbuf, errlen, "%s: unknown source kind %d", idx->src_name, kind);
		return -EINVAL;
	}
}

int kindex__add_source(struct kindex *idx, enum ksrc_kind kind, const char *name,
		       const char *data, size_t len, char *errbuf, size_t errlen)
{
	char unused[8];
	struct kmark mark;
	int err;

	if (!errbuf || !errlen) {
		errbuf = unused;
		errlen = sizeof(unused);
	}
	errbuf[0] = '\0';
	idx->src_name = name ? name : ksrc_kind__str(kind);
	if (len > KSRC_MAX_BYTES) {
		snprintf(errbuf, errlen, "%s: %zu bytes, more than the %u MiB a source may have",
			 idx->src_name, len, KSRC_MAX_BYTES >> 20);
		return -E2BIG;
	}
	if (kindex__mark(idx, &mark)) {
		snprintf(errbuf, errlen, "%s: %s", idx->src_name, strerror(ENOMEM));
		return -ENOMEM;
	}
	idx->held_len = 0;
	idx->holding = true;
	/*
	 * A ruleset's endpoint is a DNAT rule (60 bytes of text at least), reached
	 * by the one Service port whose chain holds it.  Chains shared by many
	 * Service ports (kube-proxy writes none) would give ports x rules
	 * endpoints: 170 KB of crafted rules, a million.  A snapshot's slice
	 * lists ports x addresses by design.
	 */
	idx->ep_added = 0;
	idx->ep_limit = kind == KSRC_IPTABLES_SAVE || kind == KSRC_IP6TABLES_SAVE ||
					kind == KSRC_NFT_JSON ?
				len / 16 + 1024 :
				0;
	err = kindex__dispatch(idx, kind, data ? data : "", data ? len : 0, errbuf, errlen);
	if (err == -E2BIG && idx->ep_limit && idx->ep_added >= idx->ep_limit)
		snprintf(errbuf, errlen,
			 "%s: more Service endpoints than its DNAT rules can give (chains shared "
			 "by Service ports?): not used",
			 idx->src_name);
	if (!err) {
		err = kindex__rebuild(idx);
		if (err)
			snprintf(errbuf, errlen, "%s: %s", idx->src_name, strerror(-err));
	}
	if (err) {
		kindex__rollback(idx, &mark);
		idx->held_len = 0; /* nothing of it stays, nor is said */
	} else {
		idx->sources++;
		kindex__say_held(idx);
	}
	idx->holding = false;
	kindex__unmark(&mark);
	idx->src_name = NULL;
	idx->ep_limit = 0;
	return err;
}

/* Does the line holding @p[@at] start with ':' (an iptables-save chain)? */
static bool ksrc_chain_line(const char *p, size_t at)
{
	while (at > 0 && p[at - 1] != '\n')
		at--;
	return p[at] == ':';
}

/*
 * A real server line of /proc/net/ip_vs at @p[@at] ("  -> ADDR:PORT FWD
 * WEIGHT ACTIVE INACTIVE"): hashed into *@h up to its weight; where its
 * line ends.  Any other line: @at.
 */
static size_t ksrc_ipvs_counts(const char *p, size_t at, size_t len, uint64_t *h)
{
	size_t i = at, fields = 0;

	while (i < len && p[i] == ' ')
		i++;
	if (len - i < 2 || p[i] != '-' || p[i + 1] != '>')
		return at;
	for (i = at; i < len && p[i] != '\n'; i++) {
		if (p[i] != ' ' && (i == at || p[i - 1] == ' ') && ++fields > 4)
			break; /* the counts */
		*h = (*h ^ (unsigned char)p[i]) * 1099511628211ULL;
	}
	while (i < len && p[i] != '\n')
		i++;
	return i;
}

/*
 * What tells one dump from another.  iptables-save's comment lines carry the
 * time of the dump, and its chain counters ([packets:bytes]) move with the
 * traffic: neither is knowledge, and hashed as they are every dump would be
 * a change (the index rebuilt, the whole dump recorded again).  nft runs
 * stateless (-s): no counters.  /proc/net/ip_vs gives each real server's
 * connection counts after its weight.
 */
uint64_t ksrc__hash(enum ksrc_kind kind, const char *p, size_t len)
{
	bool ipt = kind == KSRC_IPTABLES_SAVE || kind == KSRC_IP6TABLES_SAVE, bol = true;
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < len; i++) {
		if (kind == KSRC_IPVS && bol)
			i = ksrc_ipvs_counts(p, i, len, &h);
		if (i == len)
			break;
		if (ipt && bol && p[i] == '#') {
			while (i + 1 < len && p[i + 1] != '\n')
				i++;
			bol = false;
			continue;
		}
		/* a chain line's counters, ":CHAIN POLICY [n:m]" at the line's
		 * end; never an address ("--to-destination [2001:db8::5]:80") */
		if (ipt && p[i] == '[' && ksrc_chain_line(p, i)) {
			size_t j = i + 1, colons = 0;

			while (j < len && ((p[j] >= '0' && p[j] <= '9') || p[j] == ':'))
				colons += p[j++] == ':';
			if (j < len && p[j] == ']' && colons == 1 && (j + 1 == len || p[j + 1] == '\n'))
				i = j; /* "[n:m]" hashes as "]" */
		}
		h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
		bol = p[i] == '\n';
	}
	return h;
}

int ksrc__read(const char *path, size_t max, const volatile sig_atomic_t *stop, char **data,
	       size_t *len, char *errbuf, size_t errlen)
{
	bool is_stdin = !strcmp(path, "-");
	int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	size_t cap = 0, n = 0;
	char *buf = NULL;
	struct stat st;
	int err = 0;

	if (fd < 0) {
		err = -errno;
		snprintf(errbuf, errlen, "%s: %s", path, strerror(-err));
		return err;
	}
	/* a file says its size: too big is refused before a byte is read (not
	 * stdin: it may have been read from already) */
	if (!is_stdin && !fstat(fd, &st) && S_ISREG(st.st_mode) && (uint64_t)st.st_size > max)
		err = -E2BIG;
	while (!err) {
		ssize_t r;

		if (n + 1 >= cap) {
			size_t ncap = cap ? cap * 2 : 1 << 16;
			char *nb = n > max ? NULL : realloc(buf, ncap);

			if (!nb) {
				err = n > max ? -E2BIG : -ENOMEM;
				break;
			}
			buf = nb;
			cap = ncap;
		}
		if (stop && out__wait_input(fd, stop)) {
			err = -EINTR;
			break;
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r < 0) {
			err = -errno;
			break;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (!err && n > max)
		err = -E2BIG;
	if (!is_stdin)
		close(fd);
	if (err) {
		if (err == -E2BIG)
			snprintf(errbuf, errlen, "%s: larger than %zu bytes", path, max);
		else
			snprintf(errbuf, errlen, "%s: %s", path, strerror(-err));
		free(buf);
		return err;
	}
	buf[n] = '\0';
	*data = buf;
	*len = n;
	return 0;
}

bool kindex__names_service(const struct kindex *idx, const char *ns, const char *name)
{
	for (uint32_t i = 0; idx && i < idx->svcports.n; i++) {
		const struct ksvcport *sp = &idx->svcports.v[i];

		if (sp->ns && sp->name && !strcmp(sp->ns, ns) && !strcmp(sp->name, name))
			return true;
	}
	return false;
}

int kindex__pod_uid(const struct kindex *idx, const char *ns, const char *name,
		    const char **uid, const char **node)
{
	for (uint32_t i = 0; idx && i < idx->pods.n; i++) {
		const struct kpod *p = &idx->pods.v[i];

		if (strcmp(p->ns, ns) || strcmp(p->name, name))
			continue;
		*uid = p->uid;
		*node = p->node;
		return p->uid && *p->uid ? 0 : -ENODATA;
	}
	return -ENOENT;
}
