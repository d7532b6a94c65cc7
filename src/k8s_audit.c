// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * kindex__audit(): which hostPort (or other DNAT/REDIRECT) rules of this
 * node take connections meant for a Service before kube-proxy sees them.
 *
 * A rule R shadows a Service address V (ClusterIP, externalIP, LB IP:port,
 * or a NodePort on a node address) when, in the prerouting or output NAT
 * hook of V's family:
 *   - R matches V's protocol and port (and address, when R names one), and
 *   - the path from the hook to R lets V through: either it has no "local
 *     destination" test, or it has one (`-m addrtype --dst-type LOCAL`,
 *     `fib daddr type local`) and V is a local address (bound to lo or
 *     kube-ipvs0, a node address, or a ClusterIP of kube-proxy's IPVS mode,
 *     which binds every ClusterIP to kube-ipvs0), and
 *   - no RETURN or ACCEPT ahead of R on its path surely takes V away
 *     (struct kexcl: iptables rules), and
 *   - netfilter runs R before kube-proxy's rule for V: a lower hook
 *     priority, an earlier rule in the same base chain, or the same
 *     priority in another table (registration order decides: reported as
 *     possible) -- or kube-proxy does not translate nor accept V in that
 *     hook at all (IPVS NodePorts, or no kube-proxy rules seen).
 * Service addresses come from kube-proxy's rules and sets and the snapshot,
 * and from IPVS's table: a virtual service none of them names (no ipset on
 * the node, no snapshot) is audited as one, by its address.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include "fmt.h"
#include "k8s_int.h"
#include "sink.h"
#include "parse.h"

/* One DNAT rule, hostPort or other, as the audit sees it. */
struct kdnat {
	const char *kind; /* "hostport" / "rule" */
	const struct kkey *key; /* family, proto (0: any), port (0: any) */
	uint16_t dport_lo, dport_hi;
	const struct kaddr *dst; /* family 0: any */
	uint8_t dst_plen;
	bool dst_neg;
	const struct kaddr *dst_ex; /* NULL or family 0: none */
	uint8_t dst_ex_plen;
	const struct kexcl *excl; /* rules ahead of it that take some away */
	uint8_t nexcl;
	const struct kreach *reach;
	const struct khostport *hp;
	const struct krule *rule;
};

/* A shadowed Service address. */
struct ktarget {
	uint8_t kind;
	uint8_t family, proto;
	uint16_t port;
	const uint8_t *addr; /* NULL: a NodePort, any node address */
	const struct ksvcport *sp;
	const struct kipvs *vs; /* known from IPVS's table alone */
	const char *local; /* why the address is local, when it is */
};

/* The Service of an IPVS virtual service nothing names. */
static const struct ksvcport kaudit_anon = { .port_name = "" };

/* Is a local address of this node that serves NodePorts in @net/@plen
 * (@neg: outside it)?  Yes too when none is known. */
static bool kaudit__nodeport_in(const struct kindex *idx, const struct kaddr *net, uint8_t plen,
				bool neg)
{
	bool any = false;

	for (uint32_t i = 0; i < idx->locals.n; i++) {
		const struct kkey *k = &idx->locals.v[i].key;

		if (k->family != net->family || !klocal__nodeports(idx, &idx->locals.v[i]))
			continue;
		any = true;
		if (kaddr__in_prefix(k->addr, net, plen) != neg)
			return true;
	}
	return !any;
}

/* Does @e take Service address @t (not a NodePort: any node address)? */
static bool kexcl__takes(const struct kexcl *e, const struct ktarget *t)
{
	return e->dst.family == t->family && (!e->proto || e->proto == t->proto) &&
	       (!e->dport_lo || (t->port >= e->dport_lo && t->port <= e->dport_hi)) &&
	       kaddr__in_prefix(t->addr, &e->dst, e->dst_plen);
}

static bool kdnat__matches(const struct kindex *idx, const struct kdnat *d,
			   const struct ktarget *t)
{
	if (d->key->family != t->family || (d->key->proto && d->key->proto != t->proto))
		return false;
	if (d->dport_lo && (t->port < d->dport_lo || t->port > d->dport_hi))
		return false;
	if (t->addr && d->dst_ex && d->dst_ex->family &&
	    kaddr__in_prefix(t->addr, d->dst_ex, d->dst_ex_plen))
		return false;
	for (uint8_t i = 0; t->addr && i < d->nexcl; i++)
		if (kexcl__takes(&d->excl[i], t))
			return false;
	if (!d->dst->family)
		return true;
	if (!t->addr) /* NodePort: a rule for one node address still takes it there */
		return kaudit__nodeport_in(idx, d->dst, d->dst_plen, d->dst_neg);
	return kaddr__in_prefix(t->addr, d->dst, d->dst_plen) != d->dst_neg;
}

static bool kaudit__ipvs(const struct kindex *idx, uint8_t family)
{
	for (uint32_t i = 0; i < idx->kubes.n; i++)
		if (idx->kubes.v[i].family == family && idx->kubes.v[i].mode == KMODE_IPVS)
			return true;
	return false;
}

/* Why Service address @t is a local address of this node, or NULL. */
static const char *kaudit__local(const struct kindex *idx, const struct ktarget *t,
				 const struct kvip *v, char *buf, size_t len)
{
	const char *ifname;
	struct kkey k;

	if (!t->addr || t->kind == K8S_KIND_NODE_PORT)
		return "NodePorts are served on the node's own addresses";
	kkey__set(&k, t->family, t->addr, 0, 0);
	if (kindex__is_local(idx, &k, &ifname)) {
		snprintf(buf, len, "it is a local address (%s%s)",
			 ifname ? "on " : "a node address", ifname ? ifname : "");
		return buf;
	}
	if (t->kind == K8S_KIND_CLUSTER_IP &&
	    ((v && v->origin == KO_IPSET) || kaudit__ipvs(idx, t->family)))
		return "kube-proxy's IPVS mode binds every ClusterIP to kube-ipvs0, a local "
		       "address";
	return NULL;
}

static const struct kkube *kaudit__kube(const struct kindex *idx, uint8_t family, int hook)
{
	const struct kkube *best = NULL;

	for (uint32_t i = 0; i < idx->kubes.n; i++) {
		const struct kkube *k = &idx->kubes.v[i];

		if (k->family == family && k->hook == hook && (!best || k->prio < best->prio))
			best = k;
	}
	return best;
}

/* "-m addrtype --dst-type LOCAL" or "fib daddr type local" */
static const char *kaudit__test(const struct kdnat *d)
{
	uint8_t origin = d->hp ? d->hp->origin : d->rule->origin;

	return origin == KO_NFT ? "fib daddr type local" : "-m addrtype --dst-type LOCAL";
}

static void kaudit__order(const struct kreach *r, const struct kkube *k, uint8_t kind, bool tie,
			  char *buf, size_t len)
{
	static const char *const modes[] = { "iptables", "nftables", "IPVS" };

	if (!k)
		snprintf(buf, len, "table %s chain %s reaches it and no kube-proxy rule for this "
			 "hook was read",
			 r->table, r->base);
	else if (!(k->claims & (1u << kind)))
		snprintf(buf, len, "kube-proxy (%s mode) neither translates nor accepts it in the "
			 "NAT hook, so table %s chain %s still sees it", modes[k->mode % 3],
			 r->table, r->base);
	else if (tie)
		snprintf(buf, len, "table %s chain %s and kube-proxy's table %s chain %s both run "
			 "at priority %d: the one whose hook was registered last (created, or "
			 "re-created, last) runs first, which no ruleset dump shows",
			 r->table, r->base, k->table, k->base, r->prio);
	else if (r->prio != k->prio)
		snprintf(buf, len, "table %s chain %s (priority %d) runs before kube-proxy's "
			 "table %s chain %s (priority %d)",
			 r->table, r->base, r->prio, k->table, k->base, k->prio);
	else
		snprintf(buf, len, "in table %s chain %s, rule %u `%s` comes before kube-proxy's "
			 "rule %u `%s`",
			 r->table, r->base, r->pos + 1, r->text ? r->text : "?", k->pos + 1,
			 k->text ? k->text : "?");
}

/* Does @d take @t in @hook before kube-proxy?  Says why in @why. */
static bool kaudit__hook(const struct kindex *idx, const struct kdnat *d, const struct ktarget *t,
			 int hook, char *why, size_t len, bool *certain)
{
	struct kreach any;
	const struct kreach *r = kreach__for(&d->reach[hook], t->local, &any);
	const struct kkube *k;
	char order[600];
	bool tie = false, first;

	if (!r)
		return false;
	k = kaudit__kube(idx, t->family, hook);
	first = !k || kreach__before(r, k, &tie);
	if (!first && (k->claims & (1u << t->kind)))
		return false;
	if (!first)
		tie = false;
	kaudit__order(r, k, t->kind, tie, order, sizeof(order));
	if (r->local_only)
		snprintf(why, len, "%s: %s; it matches only local destinations (%s) and %s",
			 khook__str(hook), order, kaudit__test(d), t->local);
	else
		snprintf(why, len, "%s: %s; it matches any destination address (no %s test)",
			 khook__str(hook), order, kaudit__test(d));
	*certain = !tie;
	return true;
}


/* "hostPort tcp/3306 -> 10.224.0.222:3306 (pod b/mysql-b-0, nat CNI-DN-..., sandbox ...)" */
static void kaudit__rule_str(const struct kdnat *d, char *buf, size_t len)
{
	char to[NW_EPSTRLEN], num[4];
	const char *proto = proto_str(d->key->proto, num, sizeof(num));

	if (d->hp) {
		const struct khostport *hp = d->hp;
		char pod[600] = "";

		conn__addr_port_str(hp->to.family, hp->to.addr, hp->to_port, true, to);
		if (hp->pod_name)
			snprintf(pod, sizeof(pod), "pod %s/%s, ", hp->pod_ns, hp->pod_name);
		snprintf(buf, len, "hostPort %s/%u -> %s (%stable %s chain %s%s%.12s)", proto,
			 hp->key.port, to, pod, hp->table, hp->chain,
			 hp->sandbox ? ", sandbox " : "", hp->sandbox ? hp->sandbox : "");
		return;
	}
	snprintf(buf, len, "%s rule in table %s chain %s `%s`",
		 d->rule->redirect ? "REDIRECT" : "DNAT", d->rule->table, d->rule->chain,
		 d->rule->text);
}

static void kaudit__target_str(const struct ktarget *t, char *buf, size_t len)
{
	static const char *const kinds[] = {
		[K8S_KIND_CLUSTER_IP] = "ClusterIP", [K8S_KIND_EXTERNAL_IP] = "externalIP",
		[K8S_KIND_LB_IP] = "load-balancer IP",
	};
	char svc[600], a[NW_EPSTRLEN], num[4];
	const char *proto = proto_str(t->proto, num, sizeof(num));

	if (t->vs) {
		snprintf(buf, len, "IPVS virtual service %s", t->vs->text);
		return;
	}
	if (t->sp->ns)
		snprintf(svc, sizeof(svc), "Service %s/%s:%u", t->sp->ns, t->sp->name, t->sp->port);
	else
		snprintf(svc, sizeof(svc), "a Service (name unknown)");
	if (!t->addr) {
		snprintf(buf, len, "NodePort %s/%u of %s", proto, t->port, svc);
		return;
	}
	conn__addr_port_str(t->family, t->addr, t->port, true, a);
	snprintf(buf, len, "%s %s %s", svc, kinds[t->kind], a);
}

static void kaudit__json_rule(struct out *o, const struct kdnat *d)
{
	char to[NW_EPSTRLEN];

	out__obj_open(o, "rule");
	out__str(o, OUT_JSON_ONLY, "kind", NULL, d->kind);
	out__str(o, OUT_JSON_ONLY, "table", NULL, d->hp ? d->hp->table : d->rule->table);
	out__str(o, OUT_JSON_ONLY, "chain", NULL, d->hp ? d->hp->chain : d->rule->chain);
	out__str(o, OUT_JSON_ONLY, "text", NULL, d->hp ? d->hp->text : d->rule->text);
	if (d->key->port)
		out__u64(o, OUT_JSON_ONLY, "port", NULL, d->key->port);
	if (d->hp) {
		conn__addr_port_str(d->hp->to.family, d->hp->to.addr, d->hp->to_port, true, to);
		out__str(o, OUT_JSON_ONLY, "to", NULL, to);
		out__str(o, OUT_JSON_ONLY, "sandbox", NULL, d->hp->sandbox);
		out__str(o, OUT_JSON_ONLY, "namespace", NULL, d->hp->pod_ns);
		out__str(o, OUT_JSON_ONLY, "name", NULL, d->hp->pod_name);
	}
	out__obj_close(o);
}

static void kaudit__json_target(struct out *o, const struct ktarget *t)
{
	char a[INET6_ADDRSTRLEN];

	out__obj_open(o, "shadowed");
	out__str(o, OUT_JSON_ONLY, "kind", NULL, k8s_kind__str(t->kind));
	out__str(o, OUT_JSON_ONLY, "namespace", NULL, t->sp->ns);
	out__str(o, OUT_JSON_ONLY, "name", NULL, t->sp->name);
	if (t->sp->port_name && *t->sp->port_name)
		out__str(o, OUT_JSON_ONLY, "port_name", NULL, t->sp->port_name);
	if (t->addr)
		out__str(o, OUT_JSON_ONLY, "addr", NULL,
			 inet_ntop(t->family, t->addr, a, sizeof(a)));
	out__u64(o, OUT_JSON_ONLY, "port", NULL, t->port);
	if (t->vs)
		out__str(o, OUT_JSON_ONLY, "ipvs", NULL, t->vs->text);
	out__obj_close(o);
}

/*
 * Does @d send @t to one of @t's Service's own endpoints (a hostPort of one
 * of its pods, the Service's own port)?  The connection still reaches the
 * Service, but always that endpoint: kube-proxy's load balancing bypassed.
 */
static bool kaudit__own_endpoint(const struct kindex *idx, const struct kdnat *d,
				 const struct ktarget *t)
{
	const struct kaddr *to;
	uint16_t port;

	if (t->vs || t->sp < idx->svcports.v || t->sp >= idx->svcports.v + idx->svcports.n)
		return false; /* a Service natwho knows by IPVS's table alone */
	if (d->hp) {
		to = &d->hp->to;
		port = d->hp->to_port;
	} else {
		to = &d->rule->to;
		if (d->rule->to_end.family || d->rule->to_netmap ||
		    d->rule->to_port_lo != d->rule->to_port_hi)
			return false; /* a range: not all of it, perhaps */
		port = d->rule->to_port_lo ? d->rule->to_port_lo : t->port;
	}
	return to->family == t->family &&
	       kindex__ep_first(idx, (uint32_t)(t->sp - idx->svcports.v), to->family, to->addr,
				t->proto, port) != KNONE;
}

static void kaudit__print(struct out *o, const struct kdnat *d, const struct ktarget *t,
			  const bool *hooks, bool certain, bool own, const char *why)
{
	char rule[1024], target[800], num[4];

	if (o->mode == OUT_TEXT) {
		char line[4096];

		kaudit__rule_str(d, rule, sizeof(rule));
		kaudit__target_str(t, target, sizeof(target));
		/* rule text and names from outside: fmt__clean() */
		fmt__snprintf(line, sizeof(line), "SHADOW %s %s %s: %s%s", rule,
			      certain ? "shadows" : "may shadow", target, why,
			      own ? "; to one of its own endpoints: kube-proxy's load balancing "
				    "bypassed, not the Service" :
				    "");
		out__text_str(o, fmt__clean(line));
		out__record_end(o);
		return;
	}
	out__obj_open(o, NULL);
	out__str(o, OUT_JSON_ONLY, "type", NULL, "shadow");
	out__u64(o, OUT_JSON_ONLY, "schema", NULL, NW_JSON_SCHEMA);
	out__str(o, OUT_JSON_ONLY, "family", NULL, conn__family_str(t->family));
	out__str(o, OUT_JSON_ONLY, "proto", NULL, proto_str(t->proto, num, sizeof(num)));
	kaudit__json_rule(o, d);
	kaudit__json_target(o, t);
	out__obj_open(o, "hooks");
	out__bool(o, OUT_JSON_ONLY, "prerouting", NULL, hooks[KHOOK_PREROUTING]);
	out__bool(o, OUT_JSON_ONLY, "output", NULL, hooks[KHOOK_OUTPUT]);
	out__obj_close(o);
	out__bool(o, OUT_JSON_ONLY, "certain", NULL, certain);
	out__bool(o, OUT_JSON_ONLY, "own_endpoint", NULL, own);
	out__str(o, OUT_JSON_ONLY, "why", NULL, why);
	out__record_end(o);
}

/*
 * Appends to @why which sources rule @r is for: "; only for connections from
 * P", "; except for connections from P", or both (a map element's source
 * inside the rule's own "ip saddr != P").
 */
static void kaudit__src_note(const struct krule *r, char *why, size_t size)
{
	const struct {
		const struct kaddr *a;
		unsigned int plen;
		const char *how;
	} part[] = {
		{ &r->src, r->src_plen, r->src_neg ? "except for" : "only for" },
		{ &r->src_ex, r->src_ex_plen, "except for" },
	};
	const char *sep = "; ";
	size_t i;

	for (i = 0; i < sizeof(part) / sizeof(part[0]); i++) {
		char a[INET6_ADDRSTRLEN] = "?";
		size_t used = strlen(why);

		if (!part[i].a->family)
			continue;
		inet_ntop(part[i].a->family, part[i].a->addr, a, sizeof(a));
		snprintf(why + used, size - used, "%s%s connections from %s/%u", sep, part[i].how, a,
			 part[i].plen);
		sep = ", ";
	}
}

static int kaudit__check(const struct kindex *idx, struct out *o, const struct kdnat *d,
			 const struct ktarget *t)
{
	bool hooks[KHOOK_MAX] = { false }, sure[KHOOK_MAX] = { false }, certain = false;
	char why[KHOOK_MAX][1400];
	int h, said = -1;

	if (!kdnat__matches(idx, d, t))
		return 0;
	for (h = 0; h < KHOOK_MAX; h++) {
		hooks[h] = kaudit__hook(idx, d, t, h, why[h], sizeof(why[h]), &sure[h]);
		certain |= hooks[h] && sure[h];
	}
	/* the first hook where it comes first; a certain one's why if any is */
	for (h = KHOOK_MAX - 1; h >= 0; h--)
		if (hooks[h] && (!certain || sure[h]))
			said = h;
	if (said < 0)
		return 0;
	if (d->rule) /* -s, ip saddr, a map keyed by it */
		kaudit__src_note(d->rule, why[said], sizeof(why[said]));
	kaudit__print(o, d, t, hooks, certain, kaudit__own_endpoint(idx, d, t), why[said]);
	return 1;
}

/*
 * IPVS's virtual service @vs, unless a Service address or NodePort the
 * other sources know stands for it (audited as that); a ClusterIP or a
 * NodePort by its address (kindex__ipvs_kind()).
 */
static int kaudit__ipvs_svc(const struct kindex *idx, struct out *o, const struct kdnat *d,
			    const struct kipvs *vs)
{
	struct ktarget t = { .kind = K8S_KIND_CLUSTER_IP, .family = vs->key.family,
			     .proto = vs->key.proto, .port = vs->key.port, .addr = vs->key.addr,
			     .sp = &kaudit_anon, .vs = vs };
	struct kkey np_key;
	char local[200];

	if (kindex__vip(idx, &vs->key) || !kdnat__matches(idx, d, &t))
		return 0;
	if (kindex__ipvs_kind(idx, &vs->key) == K8S_KIND_NODE_PORT) {
		kkey__set(&np_key, vs->key.family, NULL, vs->key.proto, vs->key.port);
		if (kindex__nodeport(idx, &np_key))
			return 0;
		t.kind = K8S_KIND_NODE_PORT;
	}
	t.local = kaudit__local(idx, &t, NULL, local, sizeof(local));
	return kaudit__check(idx, o, d, &t);
}

/* Every Service address and NodePort @d could take. */
static int kaudit__dnat(const struct kindex *idx, struct out *o, const struct kdnat *d)
{
	char local[200];
	int n = 0;

	for (uint32_t i = 0; i < idx->vips.n; i++) {
		const struct kvip *v = &idx->vips.v[i];
		struct ktarget t = { .kind = v->kind,
				     .family = v->key.family,
				     .proto = v->key.proto,
				     .port = v->key.port,
				     .addr = v->key.addr,
				     .sp = &idx->svcports.v[v->svcport] };

		if (kindex__vip(idx, &v->key) != v || !kdnat__matches(idx, d, &t))
			continue;
		t.local = kaudit__local(idx, &t, v, local, sizeof(local));
		n += kaudit__check(idx, o, d, &t);
	}
	for (uint32_t i = 0; i < idx->nodeports.n; i++) {
		const struct knodeport *np = &idx->nodeports.v[i];
		struct ktarget t = { .kind = K8S_KIND_NODE_PORT, .family = np->key.family,
				     .proto = np->key.proto, .port = np->key.port,
				     .sp = &idx->svcports.v[np->svcport] };

		if (kindex__nodeport(idx, &np->key) != np)
			continue;
		t.local = kaudit__local(idx, &t, NULL, local, sizeof(local));
		n += kaudit__check(idx, o, d, &t);
	}
	for (uint32_t i = 0; i < idx->ipvs_svcs.n; i++)
		n += kaudit__ipvs_svc(idx, o, d, &idx->ipvs_svcs.v[i]);
	return n;
}

static bool kstr__same(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* @r's text without a map element's " (element ...)" */
static size_t krule__base_len(const struct krule *r)
{
	const char *e = r->text ? strstr(r->text, " (element ") : NULL;

	return e ? (size_t)(e - r->text) : r->text ? strlen(r->text) : 0;
}

/*
 * Are @a and @b one rule of the ruleset?  One is several in the index (a
 * port of a multiport match, a family of an inet rule, an element of a
 * map), added one after another: same place, same text but the element's.
 */
static bool krule__same(const struct krule *a, const struct krule *b)
{
	size_t len = krule__base_len(a);

	return kstr__same(a->table, b->table) && kstr__same(a->chain, b->chain) &&
	       krule__base_len(b) == len && (!len || !memcmp(a->text, b->text, len));
}

int kindex__audit(const struct kindex *idx, struct out *o, uint32_t *rules)
{
	const struct krule *last = NULL; /* the last rule counted */
	uint32_t nrules = 0;
	int n = 0, one;

	for (uint32_t i = 0; i < idx->hostports.n; i++) {
		const struct khostport *hp = &idx->hostports.v[i];
		struct kdnat d = { .kind = "hostport", .key = &hp->key, .dport_lo = hp->key.port,
				   .dport_hi = hp->key.port, .dst = &hp->host_ip,
				   .dst_plen = hp->host_ip.family == AF_INET ? 32 : 128,
				   .reach = hp->reach, .hp = hp };

		one = hp->origin != KO_SNAPSHOT ? kaudit__dnat(idx, o, &d) : 0;
		n += one;
		nrules += one > 0;
	}
	for (uint32_t i = 0; i < idx->rules.n; i++) {
		const struct krule *r = &idx->rules.v[i];
		struct kdnat d = { .kind = "rule", .key = &r->key, .dport_lo = r->dport_lo,
				   .dport_hi = r->dport_hi, .dst = &r->dst, .dst_plen = r->dst_plen,
				   .dst_neg = r->dst_neg, .dst_ex = &r->dst_ex,
				   .dst_ex_plen = r->dst_ex_plen, .excl = r->excl,
				   .nexcl = r->nexcl, .reach = r->reach, .rule = r };

		one = kaudit__dnat(idx, o, &d);
		n += one;
		if (one > 0 && !(last && krule__same(last, r)))
			nrules++;
		if (one > 0)
			last = r;
	}
	if (rules)
		*rules = nrules;
	return n;
}
