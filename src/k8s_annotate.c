// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * kindex__annotate(): the per-event path.  A handful of hash lookups keyed
 * by family + address (+ protocol + port), no allocation, no I/O.
 *
 *   target  orig.dst:dport  -> Service VIP, NodePort (on a node address),
 *                              pod, node, unknown
 *   landed  reply.src:sport -> endpoint of that Service, pod, node, unknown
 *   via     the rule that explains orig.dst:dport -> landed: a hostPort DNAT
 *           to exactly that address:port, kube-proxy (the landed address is
 *           the Service's endpoint), another DNAT/REDIRECT rule; when both a
 *           hostPort rule and kube-proxy explain it, the one netfilter runs
 *           first (portmap_first).
 *   verdict ok: landed on an endpoint of the targeted Service, or not a
 *           Service and no translation (or one a known rule explains);
 *           mismatch: meant for a Service, landed on something that is not
 *           one of its endpoints; unknown: not enough knowledge.
 */
#include <arpa/inet.h>
#include <string.h>
#include "k8s_int.h"

/* What an address is; for a node address, a hostNetwork pod's port first. */
static const struct kname *kidx__name(const struct kindex *idx, uint8_t family,
				      const uint8_t *addr, uint8_t proto, uint16_t port)
{
	struct kkey k;
	uint32_t i, j;

	kkey__set(&k, family, addr, 0, 0);
	i = ktab__find(&idx->t_names, &k);
	if (i == KNONE || idx->names.v[i].kind != K8S_KIND_NODE || !proto || !idx->podports.n)
		return i == KNONE ? NULL : &idx->names.v[i];
	k.proto = proto;
	k.port = port;
	j = ktab__find(&idx->t_names, &k);
	return &idx->names.v[j != KNONE ? j : i];
}

/* Does kube-proxy serve NodePorts at local address @key (np_scoped)? */
static bool kindex__nodeport_addr(const struct kindex *idx, const struct kkey *key)
{
	struct kkey k;

	kkey__set(&k, key->family, key->addr, 0, 0);
	for (uint32_t i = ktab__find(&idx->t_locals, &k); i != KNONE;
	     i = ktab__next(&idx->t_locals, i))
		if (klocal__nodeports(idx, &idx->locals.v[i]))
			return true;
	return false;
}

bool kindex__is_local(const struct kindex *idx, const struct kkey *key, const char **ifname)
{
	struct kkey k;
	uint32_t i;

	kkey__set(&k, key->family, key->addr, 0, 0);
	i = ktab__find(&idx->t_locals, &k);
	if (ifname)
		*ifname = i == KNONE ? NULL : idx->locals.v[i].ifname;
	return i != KNONE;
}

static void kref__name(const struct kindex *idx, const struct kname *nm, struct k8s_ref *r)
{
	r->kind = nm->kind;
	r->node = nm->node;
	if (nm->kind == K8S_KIND_POD) {
		r->ns = idx->pods.v[nm->pod].ns;
		r->name = idx->pods.v[nm->pod].name;
	} else {
		r->name = nm->node;
	}
}

static void kref__svc(const struct ksvcport *sp, uint8_t kind, uint16_t port, struct k8s_ref *r)
{
	r->kind = kind;
	r->ns = sp->ns;
	r->name = sp->name;
	r->port_name = sp->port_name && *sp->port_name ? sp->port_name : NULL;
	r->port = port;
}

/* The VIP entry for @k: one that names its Service if any does. */
const struct kvip *kindex__vip(const struct kindex *idx, const struct kkey *k)
{
	const struct kvip *best = NULL;

	for (uint32_t i = ktab__find(&idx->t_vips, k); i != KNONE;
	     i = ktab__next(&idx->t_vips, i)) {
		const struct kvip *v = &idx->vips.v[i];

		if (!best ||
		    (!idx->svcports.v[best->svcport].ns && idx->svcports.v[v->svcport].ns))
			best = v;
		if (!best->chain && v->chain && v->svcport == best->svcport)
			best = v;
	}
	return best;
}

/* The NodePort entry for @k (family, proto, port), named if any is. */
const struct knodeport *kindex__nodeport(const struct kindex *idx, const struct kkey *k)
{
	const struct knodeport *best = NULL;

	for (uint32_t i = ktab__find(&idx->t_nodeports, k); i != KNONE;
	     i = ktab__next(&idx->t_nodeports, i)) {
		const struct knodeport *np = &idx->nodeports.v[i];

		if (!best ||
		    (!idx->svcports.v[best->svcport].ns && idx->svcports.v[np->svcport].ns))
			best = np;
		/* the rules' entry of that Service port: it names the chain
		 * (KUBE-EXT-, external-) the snapshot's lacks, as kindex__vip() */
		if (!best->chain && np->chain && np->svcport == best->svcport)
			best = np;
	}
	return best;
}

/* A NodePort, when orig.dst is one of this node's (or a known node's) addresses. */
static const struct knodeport *kidx__nodeport(const struct kindex *idx, const struct conn *c)
{
	const struct knodeport *np;
	const struct kname *nm;
	const char *ifname;
	struct kkey k;

	kkey__set(&k, c->family, NULL, c->proto, c->orig.dport);
	np = kindex__nodeport(idx, &k);
	if (!np)
		return NULL;
	/* kube-proxy translates a NodePort only at this node's addresses; a
	 * connection to another node's goes there untranslated.  Where this
	 * node's addresses are not known, any node address will do.  Not at
	 * the ClusterIPs IPVS mode binds to kube-ipvs0 (kindex__ipvs_kind()):
	 * kube-proxy gives IPVS no NodePort there. */
	kkey__set(&k, c->family, c->orig.dst, 0, 0);
	if (kindex__is_local(idx, &k, &ifname))
		return (!ifname || strcmp(ifname, KIPVS_DEV)) && kindex__nodeport_addr(idx, &k) ? np :
											    NULL;
	nm = kidx__name(idx, c->family, c->orig.dst, 0, 0);
	return !idx->locals.n && nm && nm->kind == K8S_KIND_NODE ? np : NULL;
}

/*
 * The endpoint of Service port @sp at landed: the snapshot's (it names the
 * pod) if it has one, else the rules'.  An endpoint only kube-proxy's rules
 * have is one all the same: the snapshot is older (a rollout or scale-up
 * since kubectl last ran, a --k8s FILE taken before), or kube-proxy still
 * routes to an endpoint the API has dropped; its rule sent the connection.
 */
uint32_t kindex__ep_first(const struct kindex *idx, uint32_t sp, uint8_t family,
			  const uint8_t *addr, uint8_t proto, uint16_t port)
{
	struct kkey k;

	kkey__set(&k, family, addr, proto, port);
	k.aux = sp + 1;
	return ktab__find(&idx->t_eps, &k);
}

static const struct kep *kidx__ep(const struct kindex *idx, uint32_t sp, const struct conn *c)
{
	const struct kep *any = NULL;

	for (uint32_t i = kindex__ep_first(idx, sp, c->family, c->landed.addr, c->proto,
					   c->landed.port);
	     i != KNONE; i = ktab__next(&idx->t_eps, i)) {
		if (idx->eps.v[i].origin == KO_SNAPSHOT)
			return &idx->eps.v[i];
		if (!any)
			any = &idx->eps.v[i];
	}
	return any;
}

/* IPVS's virtual service at orig.dst:dport (its table read), or NULL. */
static const struct kipvs *kidx__ipvs_svc(const struct kindex *idx, const struct conn *c)
{
	struct kkey k;
	uint32_t i;

	if (!idx->ipvs_svcs.n)
		return NULL;
	kkey__set(&k, c->family, c->orig.dst, c->proto, c->orig.dport);
	i = ktab__find(&idx->t_ipvs, &k);
	return i == KNONE ? NULL : &idx->ipvs_svcs.v[i];
}

/* Its real server at landed, translated to (Masq), or NULL. */
static const struct kipvs_dest *kidx__ipvs_dest(const struct kindex *idx, const struct kipvs *vs,
						const struct conn *c)
{
	struct kkey k;

	kkey__set(&k, c->family, c->landed.addr, c->proto, c->landed.port);
	k.aux = (uint32_t)(vs - idx->ipvs_svcs.v) + 1;
	for (uint32_t i = ktab__find(&idx->t_ipvs_dests, &k); i != KNONE;
	     i = ktab__next(&idx->t_ipvs_dests, i))
		if (idx->ipvs_dests.v[i].fwd == KIPVS_MASQ)
			return &idx->ipvs_dests.v[i];
	return NULL;
}

/* A hostPort rule DNATing dport (on orig.dst) to exactly landed. */
/* Is @a known not to be this node's?  Only where the node's addresses are. */
static bool kidx__elsewhere(const struct kindex *idx, const struct kaddr *a)
{
	struct kkey k;

	if (!idx->locals.n || !a->family)
		return false;
	kkey__set(&k, a->family, a->addr, 0, 0);
	return !kindex__is_local(idx, &k, NULL);
}

/*
 * Could @hp have translated @c?  Not a hostPort of a pod on another node
 * (the snapshot lists every node's), nor a rule that no base chain reaches
 * (a chain portmap left behind), nor one reached only for local
 * destinations (portmap's `-m addrtype --dst-type LOCAL`) when the
 * destination is not this node's.  A snapshot's hostPort has no rule: it
 * could.
 */
static bool khp__could_act(const struct kindex *idx, const struct khostport *hp,
			   const struct conn *c)
{
	struct kaddr dst = { .family = c->family };
	bool reached = false, any_dst = false;

	if (kidx__elsewhere(idx, &hp->node))
		return false;
	for (int h = 0; h < KHOOK_MAX; h++) {
		reached |= hp->reach[h].reached;
		any_dst |= hp->reach[h].reached &&
			   (!hp->reach[h].local_only || hp->reach[h].any_reached);
	}
	if (!reached)
		return hp->origin == KO_SNAPSHOT;
	if (any_dst)
		return true;
	memcpy(dst.addr, c->orig.dst, c->family == AF_INET ? 4 : 16);
	return !kidx__elsewhere(idx, &dst);
}

/* Does any hostPort, reached or not, map to where @c landed? */
static bool kidx__hostport_to(const struct kindex *idx, const struct conn *c)
{
	size_t alen = c->family == AF_INET ? 4 : 16;

	for (uint32_t i = 0; i < idx->hostports.n; i++) {
		const struct khostport *hp = &idx->hostports.v[i];

		if (hp->to.family == c->family && !memcmp(hp->to.addr, c->landed.addr, alen))
			return true;
	}
	return false;
}

static const struct khostport *kidx__hostport(const struct kindex *idx, const struct conn *c)
{
	size_t alen = c->family == AF_INET ? 4 : 16;
	const struct khostport *hint = NULL;
	bool ruled_out = false;
	struct kkey k;

	if (!idx->hostports.n)
		return NULL;
	kkey__set(&k, c->family, NULL, c->proto, c->orig.dport);
	for (uint32_t i = ktab__find(&idx->t_hostports, &k); i != KNONE;
	     i = ktab__next(&idx->t_hostports, i)) {
		const struct khostport *hp = &idx->hostports.v[i];

		if ((hp->host_ip.family && memcmp(hp->host_ip.addr, c->orig.dst, alen)) ||
		    memcmp(hp->to.addr, c->landed.addr, alen) || hp->to_port != c->landed.port)
			continue;
		if (!khp__could_act(idx, hp, c))
			ruled_out |= hp->origin != KO_SNAPSHOT; /* the rule is known: no hint */
		else if (hp->origin != KO_SNAPSHOT)
			return hp;
		else if (!hint)
			hint = hp;
	}
	return ruled_out ? NULL : hint;
}

static bool krule__matches(const struct kindex *idx, const struct krule *r, const struct conn *c)
{
	size_t alen = c->family == AF_INET ? 4 : 16;
	uint16_t want;

	if (r->dport_lo && (c->orig.dport < r->dport_lo || c->orig.dport > r->dport_hi))
		return false;
	if (r->dst.family && kaddr__in_prefix(c->orig.dst, &r->dst, r->dst_plen) == r->dst_neg)
		return false;
	if (r->src.family && kaddr__in_prefix(c->orig.src, &r->src, r->src_plen) == r->src_neg)
		return false;
	if ((r->dst_ex.family && kaddr__in_prefix(c->orig.dst, &r->dst_ex, r->dst_ex_plen)) ||
	    (r->src_ex.family && kaddr__in_prefix(c->orig.src, &r->src_ex, r->src_ex_plen)))
		return false;
	if (r->to_netmap) { /* the address of orig.dst's host bits in @to's prefix */
		for (size_t i = 0; i < alen; i++) {
			unsigned b = i * 8 < r->to_netmap ? r->to_netmap - i * 8 : 0;
			uint8_t m = b >= 8 ? 0xff : (uint8_t)(0xff << (8 - b));

			if (c->landed.addr[i] != ((r->to.addr[i] & m) | (c->orig.dst[i] & ~m)))
				return false;
		}
	} else if (r->redirect) {
		const struct kname *nm = kidx__name(idx, c->family, c->landed.addr, 0, 0);
		struct kkey k;

		kkey__set(&k, c->family, c->landed.addr, 0, 0);
		if (!kindex__is_local(idx, &k, NULL) && (!nm || nm->kind != K8S_KIND_NODE) &&
		    !(c->family == AF_INET && c->landed.addr[0] == 127))
			return false;
	} else if (!r->to.family) { /* a port alone: the address stays */
		if (memcmp(c->landed.addr, c->orig.dst, alen))
			return false;
	} else if (memcmp(c->landed.addr, r->to.addr, alen) < 0 ||
		   memcmp(c->landed.addr, r->to_end.family ? r->to_end.addr : r->to.addr, alen) > 0) {
		return false; /* not the address, nor in the range, it DNATs to */
	}
	if (!r->to_port_lo)
		return c->landed.port == c->orig.dport;
	want = c->landed.port;
	return want >= r->to_port_lo && want <= r->to_port_hi;
}

/* A local process sent it (not one --cgroup joined, which tells nothing
 * of the path): its NAT hook was OUTPUT. */
static bool kconn__sent_by_task(const struct conn *c)
{
	return (c->flags & (NW_EF_TASK | NW_EF_JOINED)) == NW_EF_TASK;
}

/*
 * Does rule @a come before rule @b (both reached from @hook, -1: either
 * unknown) for a packet?  The lower priority's hook first, then the rule's
 * place in its base chain, then the index's order (a chain's rules as
 * listed).
 */
static bool krule__before(const struct kreach *x, uint32_t ai, const struct kreach *y,
			  uint32_t bi)
{
	if (x->prio != y->prio)
		return x->prio < y->prio;
	if (x->pos != y->pos)
		return x->pos < y->pos;
	return ai < bi;
}

/*
 * Another DNAT/REDIRECT rule that turns orig.dst:dport into landed: of the
 * rules that do, the first the connection met.  They are found by probes
 * (keyed by the destination first, then generic), in no order of their own.
 */
static const struct krule *kidx__rule(const struct kindex *idx, const struct conn *c)
{
	/* by protocol and port, protocol, port (`th dport`), neither */
	const uint16_t ports[4] = { c->orig.dport, 0, c->orig.dport, 0 };
	const uint8_t protos[4] = { c->proto, c->proto, 0, 0 };
	/* The NAT hook the connection passed, where natwho knows it: a local
	 * process's went through OUTPUT, one without (forwarded, or received)
	 * most likely through PREROUTING (a process joined by --cgroup tells
	 * neither).  A rule that hook reaches first; else any that matches
	 * (its hook not read, a local connection sent from softirq). */
	int hook = c->flags & NW_EF_JOINED ? -1 : /* --cgroup: the socket's owner, any hook */
		   kconn__sent_by_task(c) ? KHOOK_OUTPUT :
					    KHOOK_PREROUTING;
	const struct krule *best = NULL; /* reached from @hook */
	const struct krule *any = NULL;
	struct kreach best_via = { 0 }, buf;
	uint32_t best_i = 0, any_i = 0;
	struct kkey dk;
	bool local;

	/* a rule reached for local destinations only meets this one by another
	 * path, if any (kreach__for()); unknown locals: it may be one */
	kkey__set(&dk, c->family, c->orig.dst, 0, 0);
	local = !idx->locals.n || kindex__is_local(idx, &dk, NULL);

	for (int t = idx->rules_by_addr ? 0 : 4; t < 8 && idx->rules.n; t++) {
		struct kkey k; /* for orig.dst alone first */

		kkey__set(&k, c->family, t < 4 ? c->orig.dst : NULL, protos[t % 4], ports[t % 4]);
		for (uint32_t i = ktab__find(&idx->t_rules, &k); i != KNONE;
		     i = ktab__next(&idx->t_rules, i)) {
			const struct krule *r = &idx->rules.v[i];

			const struct kreach *via;

			if (!krule__matches(idx, r, c))
				continue;
			via = hook >= 0 ? kreach__for(&r->reach[hook], local, &buf) : NULL;
			if (via && (!best || krule__before(via, i, &best_via, best_i))) {
				best = r;
				best_i = i;
				best_via = *via;
			}
			if (!any || i < any_i) {
				any = r;
				any_i = i;
			}
		}
	}
	return best ? best : any;
}

/* What orig.dst:dport is; for a Service address, its svcport, VIP or NodePort. */
/*
 * What @vip's address is to its Service.  kube-proxy's nftables map puts
 * externalIPs and load-balancer IPs alike in front of its external- chain
 * (the entry says externalIP); the snapshot or an iptables comment knows.
 */
static uint8_t kidx__vip_kind(const struct kindex *idx, const struct kvip *vip)
{
	for (uint32_t i = ktab__find(&idx->t_vips, &vip->key); i != KNONE;
	     i = ktab__next(&idx->t_vips, i)) {
		const struct kvip *v = &idx->vips.v[i];

		if (v->svcport == vip->svcport && v->origin != KO_NFT)
			return v->kind;
	}
	return vip->kind;
}

/*
 * Is @c's destination an address kube-proxy's IPVS mode (known from its
 * rules) bound to kube-ipvs0 (a Service address) that no Service entry names?  Without `ipset save`
 * (kube-proxy runs its own ipset; the host may have none) these addresses
 * are all natwho knows of the Services: a hostPort rule translating one is
 * the incident all the same.
 */
static bool kidx__ipvs_addr(const struct kindex *idx, const struct conn *c)
{
	const char *ifname;
	struct kkey k;

	if (!idx->ipvs[kfam__idx(c->family)]) /* a device left from IPVS mode */
		return false;
	kkey__set(&k, c->family, c->orig.dst, 0, 0);
	return kindex__is_local(idx, &k, &ifname) && ifname && !strcmp(ifname, KIPVS_DEV);
}

uint8_t kindex__ipvs_kind(const struct kindex *idx, const struct kkey *key)
{
	const char *ifname;

	return kindex__is_local(idx, key, &ifname) && (!ifname || strcmp(ifname, KIPVS_DEV)) ?
		       K8S_KIND_NODE_PORT :
		       K8S_KIND_CLUSTER_IP;
}

/* What the lookups of one connection found. */
struct kfound {
	uint32_t sp; /* the Service port of the target, KNONE: none */
	const struct kvip *vip;
	const struct knodeport *np;
	const struct kep *ep; /* landed: an endpoint of sp */
	const struct kipvs *vs; /* IPVS's virtual service at the target */
	const struct kipvs_dest *rs; /* landed: one of its real servers */
	bool ipvs_addr; /* a Service address by IPVS alone, nothing names it */
	bool drained; /* landed on a real server of weight 0, ep or rs */
};

static void kannot__target(const struct kindex *idx, const struct conn *c, struct k8s_annot *a,
			   struct kfound *f)
{
	const struct kname *nm;
	struct kkey k;

	kkey__set(&k, c->family, c->orig.dst, c->proto, c->orig.dport);
	f->vip = kindex__vip(idx, &k);
	f->np = f->vip ? NULL : kidx__nodeport(idx, c);
	f->sp = KNONE;
	if (f->vip) {
		f->sp = f->vip->svcport;
		kref__svc(&idx->svcports.v[f->sp], kidx__vip_kind(idx, f->vip), c->orig.dport,
			  &a->target);
		return;
	}
	if (f->np) {
		f->sp = f->np->svcport;
		kref__svc(&idx->svcports.v[f->sp], K8S_KIND_NODE_PORT, c->orig.dport, &a->target);
		return;
	}
	nm = kidx__name(idx, c->family, c->orig.dst, c->proto, c->orig.dport);
	a->target.kind = K8S_KIND_UNKNOWN;
	a->target.port = c->orig.dport;
	if (f->vs) {
		/* IPVS serves it: a Service address, whatever else the address
		 * is (a node's: a NodePort the snapshot does not have yet) */
		f->ipvs_addr = true;
		a->target.kind = kindex__ipvs_kind(idx, &f->vs->key);
	} else if (nm) {
		kref__name(idx, nm, &a->target);
	} else if (kidx__ipvs_addr(idx, c)) {
		f->ipvs_addr = true; /* a Service address: "Service ADDR (name unknown)" */
		a->target.kind = K8S_KIND_CLUSTER_IP;
	}
}

static void kannot__landed(const struct kindex *idx, const struct conn *c, const struct kep *ep,
			   struct k8s_annot *a)
{
	const struct kname *nm = kidx__name(idx, c->family, c->landed.addr, c->proto,
					    c->landed.port);

	a->landed.kind = K8S_KIND_UNKNOWN;
	a->landed.port = c->landed.port;
	if (nm)
		kref__name(idx, nm, &a->landed);
	/* the pod the address belongs to first, as the names: an EndpointSlice
	 * of another snapshot may still name the pod it had */
	if (ep && ep->pod_name && a->landed.kind != K8S_KIND_POD) {
		a->landed.kind = K8S_KIND_POD;
		a->landed.ns = ep->pod_ns;
		a->landed.name = ep->pod_name;
	} else if (ep && !nm && ep->origin == KO_SNAPSHOT) {
		/* an EndpointSlice's endpoint with no pod behind it; one only
		 * kube-proxy's rules list may well be a pod the snapshot does
		 * not know (or there is none): not known to be external */
		a->landed.kind = K8S_KIND_EXTERNAL;
	}
}

static void kannot__source(const struct kindex *idx, const struct conn *c, struct k8s_annot *a)
{
	const struct kname *nm = kidx__name(idx, c->family, c->orig.src, 0, 0);

	if (nm)
		kref__name(idx, nm, &a->source);
}

static void kvia__hostport(const struct khostport *hp, struct k8s_via *v)
{
	v->kind = K8S_VIA_HOSTPORT;
	v->port = hp->key.port;
	v->table = hp->table;
	v->chain = hp->chain;
	v->sandbox = hp->sandbox;
	v->rule = hp->text;
	v->ns = hp->pod_ns;
	v->name = hp->pod_name;
}

static void kvia__service(const struct kindex *idx, uint32_t sp, const struct kvip *vip,
			  const struct knodeport *np, struct k8s_via *v)
{
	const struct ksvcport *s = &idx->svcports.v[sp];
	uint8_t origin = vip ? vip->origin : np->origin;
	uint8_t family = vip ? vip->key.family : np->key.family;

	v->kind = origin == KO_IPSET || idx->ipvs[kfam__idx(family)] ? K8S_VIA_IPVS :
								       K8S_VIA_SERVICE;
	v->table = vip ? vip->table : np->table;
	v->chain = vip ? vip->chain : np->chain;
	if (!v->chain) {
		v->table = s->table;
		v->chain = s->chain;
	}
	v->ns = s->ns;
	v->name = s->name;
	v->port = vip ? s->port : s->node_port;
}

static void kvia__rule(const struct krule *r, struct k8s_via *v)
{
	v->kind = K8S_VIA_RULE;
	v->port = r->dport_lo == r->dport_hi ? r->dport_lo : 0;
	v->table = r->table;
	v->chain = r->chain;
	v->rule = r->text;
	v->redirect = r->redirect;
	v->nft = r->origin == KO_NFT;
}

/* Which rule explains the translation. */
static void kannot__via(const struct kindex *idx, const struct conn *c, const struct kfound *f,
			struct k8s_annot *a)
{
	const struct khostport *hp;
	const struct krule *r;

	if (!c->dnat) {
		a->via.kind = K8S_VIA_NONE;
		return;
	}
	if (a->foreign) { /* by rules of its own namespace, not the node's */
		a->via.kind = K8S_VIA_UNKNOWN;
		return;
	}
	hp = kidx__hostport(idx, c);
	if (hp && ((!f->ep && !f->rs) || idx->portmap_first[kfam__idx(c->family)])) {
		kvia__hostport(hp, &a->via);
		/* where it landed (hp's DNAT target) is a pod no snapshot
		 * names: the rule's, by kubelet's comment */
		if (a->landed.kind == K8S_KIND_UNKNOWN && hp->pod_name) {
			a->landed.kind = K8S_KIND_POD;
			a->landed.ns = hp->pod_ns;
			a->landed.name = hp->pod_name;
		}
	} else if (f->ep) {
		kvia__service(idx, f->sp, f->vip, f->np, &a->via);
		a->via.not_ready = !f->ep->ready || f->drained;
		if (f->vs) /* the Service's rules or sets did not say IPVS mode */
			a->via.kind = K8S_VIA_IPVS;
	} else if (f->rs) {
		a->via.kind = K8S_VIA_IPVS;
		a->via.not_ready = f->drained;
	} else if ((r = kidx__rule(idx, c))) {
		kvia__rule(r, &a->via);
	} else if ((f->sp != KNONE || f->ipvs_addr) &&
		   (idx->ipvs[kfam__idx(c->family)] || f->vs)) {
		a->via.kind = K8S_VIA_IPVS; /* IPVS, to an address nothing names */
	} else {
		a->via.kind = K8S_VIA_UNKNOWN;
	}
	if (a->via.kind == K8S_VIA_IPVS && f->vs)
		a->via.rule = f->vs->text; /* the virtual service */
}

/*
 * A hostPort maps a port of this node.  A connection to anything else that
 * a hostPort rule translated went astray: to another pod's address (a
 * headless Service, a pod IP), or, where the node's addresses are known, to
 * an address that is not one of them (portmap's nftables chain of v1.6-1.8
 * matches any destination: the incident without a Service in between).
 */
static bool kannot__astray(const struct kindex *idx, const struct conn *c,
			   const struct k8s_annot *a)
{
	size_t alen = c->family == AF_INET ? 4 : 16;
	struct kkey k;

	if (a->via.kind != K8S_VIA_HOSTPORT)
		return false;
	if (a->target.kind == K8S_KIND_POD)
		return memcmp(c->orig.dst, c->landed.addr, alen) != 0;
	kkey__set(&k, c->family, c->orig.dst, 0, 0);
	return idx->locals.n && !kindex__is_local(idx, &k, NULL);
}

/* A Service address nothing names: IPVS's table, or kube-ipvs0, says so. */
static void kannot__verdict_ipvs(const struct conn *c, const struct kfound *f, bool explained,
				 struct k8s_annot *a)
{
	if (!c->dnat) {
		a->why = KW_SVC_NO_NAT;
	} else if (f->rs) {
		a->verdict = K8S_VERDICT_OK;
		a->why = KW_SVC_EP;
	} else if (explained) {
		a->verdict = K8S_VERDICT_MISMATCH;
		a->why = KW_SVC_HIJACK;
	} else {
		a->why = f->vs ? KW_IPVS_UNLISTED : KW_SVC_NO_EPS;
	}
}

static void kannot__verdict(const struct kindex *idx, const struct conn *c, const struct kfound *f,
			    struct k8s_annot *a)
{
	bool explained = a->via.kind == K8S_VIA_HOSTPORT || a->via.kind == K8S_VIA_RULE;
	const struct kep *ep = f->ep;
	/* kube-proxy's rules or IPVS table still send the Service to an
	 * address that is another pod's by the snapshot, whose slices of the
	 * Service do not list it: served by what was not asked for */
	bool stale = (f->rs || (ep && ep->origin != KO_SNAPSHOT)) &&
		     a->landed.kind == K8S_KIND_POD && f->sp != KNONE &&
		     (idx->svcports.v[f->sp].ep_origins & 1u << KO_SNAPSHOT);

	a->verdict = K8S_VERDICT_UNKNOWN;
	if (f->ipvs_addr) {
		kannot__verdict_ipvs(c, f, explained, a);
	} else if (f->sp == KNONE) {
		if (!c->dnat) {
			a->verdict = K8S_VERDICT_OK;
			a->why = a->target.kind == K8S_KIND_UNKNOWN ? KW_NOTHING : KW_NO_NAT;
		} else if (kannot__astray(idx, c, a)) {
			a->verdict = K8S_VERDICT_MISMATCH;
			a->why = KW_NAT_ASTRAY;
		} else {
			a->verdict = explained ? K8S_VERDICT_OK : K8S_VERDICT_UNKNOWN;
			a->why = explained ? KW_NAT_RULE : KW_NAT_UNKNOWN;
		}
	} else if (!c->dnat) {
		a->why = KW_SVC_NO_NAT;
	} else if (stale) {
		a->verdict = K8S_VERDICT_MISMATCH;
		a->why = KW_SVC_STALE_EP;
	} else if (ep || f->rs) {
		a->verdict = K8S_VERDICT_OK;
		a->why = KW_SVC_EP;
	} else if (a->foreign) {
		a->why = KW_SVC_FOREIGN;
	} else if (!explained && a->landed.kind == K8S_KIND_UNKNOWN &&
		   a->via.kind != K8S_VIA_IPVS && idx->svcports.v[f->sp].neps &&
		   !kidx__hostport_to(idx, c)) {
		/* an address no source names, no hostPort maps to, and no rule
		 * natwho read sends it to, from a Service that has endpoints: an
		 * endpoint newer than the rules and snapshot as last read (a
		 * rollout, a scale-up: kube-proxy is seconds ahead of natwho's
		 * re-read, kubectl up to --refresh), more likely than a hijack */
		a->why = KW_SVC_NEW_EP;
	} else if (explained ||
		   (idx->svcports.v[f->sp].ep_origins && a->via.kind != K8S_VIA_IPVS)) {
		a->verdict = K8S_VERDICT_MISMATCH;
		a->why = KW_SVC_HIJACK;
	} else if (a->via.kind == K8S_VIA_IPVS) {
		/* IPVS forwards only to the real servers kube-proxy gave it, from
		 * the endpoints: a snapshot (and a read of its table) older than
		 * them, not a hijack */
		a->why = f->vs				     ? KW_IPVS_UNLISTED :
			 idx->svcports.v[f->sp].ep_origins ? KW_SVC_IPVS_UNLISTED :
							     KW_SVC_NO_EPS;
	} else {
		a->why = KW_SVC_NO_EPS;
	}
}

void kindex__annotate(const struct kindex *idx, const struct conn *c, struct k8s_annot *a)
{
	struct kfound f = { .sp = KNONE };
	const struct kipvs_dest *rs;

	memset(a, 0, sizeof(*a));
	a->family = c->family;
	a->proto = c->proto;
	a->dport = c->orig.dport;
	a->lport = c->landed.port;
	memcpy(a->daddr, c->orig.dst, sizeof(a->daddr));
	memcpy(a->laddr, c->landed.addr, sizeof(a->laddr));
	memcpy(a->saddr, c->orig.src, sizeof(a->saddr));
	a->dnat = c->dnat;
	a->task = kconn__sent_by_task(c);
	a->netns = c->netns;
	a->foreign = idx->node_netns && c->netns && c->netns != idx->node_netns;
	a->index_gen = idx->gen;
	f.vs = a->foreign ? NULL : kidx__ipvs_svc(idx, c); /* the node's IPVS table */
	kannot__target(idx, c, a, &f);
	f.ep = f.sp != KNONE && c->dnat ? kidx__ep(idx, f.sp, c) : NULL;
	rs = f.vs && c->dnat ? kidx__ipvs_dest(idx, f.vs, c) : NULL;
	f.drained = rs && rs->drained; /* IPVS's say, whoever lists the endpoint */
	f.rs = f.ep ? NULL : rs; /* an endpoint the rules or snapshot list decides */
	kannot__landed(idx, c, f.ep, a);
	kannot__source(idx, c, a);
	kannot__via(idx, c, &f, a);
	kannot__verdict(idx, c, &f, a);
}

bool kindex__annotate_again(const struct kindex *idx, const struct conn *c, struct k8s_annot *a)
{
	if (a->index_gen == idx->gen && a->family == c->family && a->proto == c->proto &&
	    a->dport == c->orig.dport && a->lport == c->landed.port && a->dnat == c->dnat &&
	    a->task == kconn__sent_by_task(c) &&
	    a->netns == c->netns &&
	    conn__addr_eq(a->daddr, c->orig.dst) && conn__addr_eq(a->laddr, c->landed.addr) &&
	    conn__addr_eq(a->saddr, c->orig.src))
		return true;
	kindex__annotate(idx, c, a);
	return false;
}
