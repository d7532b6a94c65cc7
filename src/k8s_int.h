/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Internals of kindex, shared by its parsers (ruleset_*.c, k8s_snapshot.c,
 * k8s_local.c), the per-event lookup (k8s_annotate.c) and the audit.
 *
 * Parsers only append entities to the arrays of struct kindex;
 * kindex__rebuild() then derives the hash tables the per-event path reads.
 * Every hash key is a zero-filled struct kkey, compared with memcmp.
 */
#ifndef NW_K8S_INT_H
#define NW_K8S_INT_H

#include <stdarg.h>
#include <sys/socket.h>
#include <string.h>
#include "kindex.h"

#define KNONE UINT32_MAX
/* Where kube-proxy's IPVS mode binds every Service address. */
#define KIPVS_DEV "kube-ipvs0"
#define KPOD_MAX_IPS 4
#define KSTR_MAX 4096 /* longest name, comment or rule text kept */

/* Where a piece of knowledge came from. */
enum korigin {
	KO_SNAPSHOT,
	KO_IPTABLES,
	KO_NFT,
	KO_IPSET,
	KO_LOCAL,
};

enum khook {
	KHOOK_PREROUTING,
	KHOOK_OUTPUT,
	KHOOK_MAX,
};

enum kmode {
	KMODE_IPTABLES, /* kube-proxy iptables mode */
	KMODE_NFT, /* kube-proxy nftables mode */
	KMODE_IPVS, /* kube-proxy IPVS mode */
};

struct kaddr {
	uint8_t family; /* AF_INET / AF_INET6, 0: none */
	uint8_t addr[16];
};

struct kkey {
	uint8_t family;
	uint8_t proto; /* 0: address-only key */
	uint16_t port;
	uint32_t aux; /* endpoint keys: svcport index + 1 */
	uint8_t addr[16];
};

/* Hash table over an entity array whose elements start with a struct kkey.
 * Entities with equal keys are chained through next[] in insertion order. */
struct ktab {
	struct kslot {
		uint32_t hash;
		uint32_t idx1; /* entity index + 1; 0: empty */
	} *slots;
	uint32_t *next; /* per entity: next with the same key, KNONE: last */
	uint32_t mask;
	const char *base;
	size_t stride;
};

/* Build-time map from a string to an index. */
struct kstrmap {
	struct kstrslot {
		uint64_t hash;
		const char *key;
		uint32_t val;
	} *slots;
	uint32_t mask, count;
};

struct karena {
	struct kchunk *head;
};

#define KVEC(T)                 \
	struct {                \
		T *v;           \
		uint32_t n, cap; \
	}
/* Append a zeroed element; NULL when out of memory. */
#define KVEC_PUSH(vec) ((__typeof__((vec)->v))kvec__push((void **)&(vec)->v, &(vec)->n, \
								  &(vec)->cap, sizeof(*(vec)->v)))

struct kpod {
	const char *ns, *name, *node;
	const char *uid; /* metadata.uid: finds the pod's cgroup (--pod) */
	struct kaddr ips[KPOD_MAX_IPS];
	struct kaddr host_ips[2]; /* status.hostIPs: the node's addresses */
	uint8_t nips, nhost_ips;
	bool host_network;
};

/* A container port of a hostNetwork pod: names node-address:port. */
struct kpodport {
	uint32_t pod;
	uint8_t proto;
	uint16_t port;
};

struct ksvcport {
	const char *ns, *name; /* NULL: known only by address (ipset) */
	const char *port_name; /* "" when the port has no name */
	const char *table, *chain; /* kube-proxy's chain for it, if seen */
	uint16_t port, node_port;
	uint8_t proto;
	uint8_t ep_origins; /* 1 << KO_*: sources that listed its endpoints */
	uint32_t neps; /* endpoints listed, all sources */
};

struct kvip {
	struct kkey key; /* family, proto, port, addr */
	uint32_t svcport;
	uint8_t kind; /* K8S_KIND_CLUSTER_IP / _EXTERNAL_IP / _LB_IP */
	uint8_t origin;
	const char *table, *chain;
};

struct knodeport {
	struct kkey key; /* family, proto, port */
	uint32_t svcport;
	uint8_t origin;
	const char *table, *chain;
};

struct kep {
	struct kkey key; /* family, proto, port, addr, aux = svcport + 1 */
	uint32_t svcport;
	bool ready;
	uint8_t origin;
	const char *pod_ns, *pod_name; /* EndpointSlice targetRef */
};

/* Where a path into a chain starts: its base chain's priority, and the
 * rule of the base chain that leads there. */
struct kreach_path {
	int32_t prio;
	uint32_t pos; /* rule index in the base chain */
	const char *table, *base, *text;
};

/* How a NAT hook reaches a chain: the first path there, and whether it
 * requires a local destination; where it does, the first path that does
 * not, if another leads there too (@any: kreach__for()). */
struct kreach {
	bool reached;
	bool local_only; /* -m addrtype --dst-type LOCAL / fib daddr type local */
	bool any_reached;
	int32_t prio;
	uint32_t pos; /* rule index in the base chain */
	const char *table, *base, *text;
	struct kreach_path any;
};

struct khostport {
	struct kkey key; /* family, proto, port = hostPort */
	struct kaddr host_ip; /* family 0: any local address */
	struct kaddr to;
	uint16_t to_port;
	uint8_t origin;
	const char *table, *chain, *sandbox, *net, *text;
	const char *pod_ns, *pod_name;
	struct kaddr node; /* snapshot: the pod's node address (family 0: not known) */
	struct kreach reach[KHOOK_MAX];
};

/*
 * A rule ahead of a DNAT rule on its path that surely takes some
 * connections away from it: `-d NET [-p P [--dport N]] -j RETURN` (or
 * ACCEPT) and no match natwho cannot read.  The audit's, where a Service
 * address such a rule takes is out of the DNAT rule's reach.
 */
struct kexcl {
	struct kaddr dst;
	uint8_t dst_plen;
	uint8_t proto; /* 0: any */
	uint16_t dport_lo, dport_hi; /* 0, 0: any */
};

#define KEXCL_MAX 64 /* per rule; more are left out (the audit errs on "shadows") */

/* Any other DNAT or REDIRECT rule. */
struct krule {
	struct kkey key; /* family, proto (0: any), port (0: any or a range) */
	uint16_t dport_lo, dport_hi; /* 0, 0: any */
	struct kaddr dst; /* family 0: any */
	uint8_t dst_plen;
	bool dst_neg;
	struct kaddr src; /* family 0: any (-s, ip saddr, a DNAT map keyed by it) */
	uint8_t src_plen;
	bool src_neg;
	/* a DNAT map's element inside a `!=` match: the prefix it leaves out */
	struct kaddr dst_ex, src_ex; /* family 0: none */
	uint8_t dst_ex_plen, src_ex_plen;
	uint8_t to_netmap; /* `dnat ip prefix to`: @to's prefix length, each address
			    * to the one of the same host bits (0: not) */
	bool redirect;
	struct kaddr to; /* family 0: unchanged (REDIRECT: local) */
	struct kaddr to_end; /* DNAT to an address range: its end (family 0: to alone) */
	uint16_t to_port_lo, to_port_hi; /* 0: unchanged */
	uint8_t origin;
	const char *table, *chain, *text;
	struct kreach reach[KHOOK_MAX];
	const struct kexcl *excl; /* in the index's arena */
	uint8_t nexcl;
};

/* What an address (family, addr) or node-address:port (hostNetwork pod) is. */
struct kname {
	struct kkey key;
	uint8_t kind; /* K8S_KIND_POD / K8S_KIND_NODE */
	uint32_t pod; /* KNONE for nodes */
	const char *node;
};

struct klocal {
	struct kkey key; /* family, addr */
	const char *ifname;
	uint8_t origin;
};

/* How IPVS sends a connection to a real server (ip_vs_fwd_name()). */
enum kipvs_fwd {
	KIPVS_MASQ, /* the destination translated, in conntrack too */
	KIPVS_LOCAL, /* served on this host */
	KIPVS_TUNNEL,
	KIPVS_ROUTE, /* direct routing: the destination left as it was */
	KIPVS_BYPASS,
};

/* An IPVS virtual service by address (ruleset_ipvs.c). */
struct kipvs {
	struct kkey key; /* family, proto, port, addr */
	const char *text; /* "TCP 10.96.0.20:3306 rr", as ipvsadm -Ln lists it */
};

/* One of its real servers. */
struct kipvs_dest {
	struct kkey key; /* family, proto, port, addr, aux = service index + 1 */
	uint32_t svc;
	uint8_t fwd; /* enum kipvs_fwd */
	bool drained; /* weight 0: no new connections (kube-proxy's terminating endpoint) */
};

/* kube-proxy's entry into a NAT hook, and what it claims there. */
struct kkube {
	uint8_t family, hook, mode, origin;
	uint8_t claims; /* 1 << K8S_KIND_*: destinations it translates or accepts */
	int32_t prio;
	uint32_t pos;
	const char *table, *base, *text;
};

struct kindex {
	struct karena arena;
	KVEC(struct kpod) pods;
	KVEC(struct kpodport) podports;
	KVEC(struct ksvcport) svcports;
	KVEC(struct kvip) vips;
	KVEC(struct knodeport) nodeports;
	KVEC(struct kep) eps;
	KVEC(struct khostport) hostports;
	KVEC(struct krule) rules;
	KVEC(struct klocal) locals;
	KVEC(struct kname) names; /* derived by kindex__rebuild() */
	KVEC(struct kkube) kubes;
	KVEC(struct kipvs) ipvs_svcs;
	KVEC(struct kipvs_dest) ipvs_dests;
	struct kstrmap svcport_ids; /* "ns/name/proto/port" -> svcport */
	struct ktab t_vips, t_nodeports, t_eps, t_hostports, t_rules, t_names, t_locals;
	struct ktab t_ipvs, t_ipvs_dests;
	bool portmap_first[2]; /* [family is v6]: portmap hooked ahead of kube-proxy */
	bool rules_by_addr; /* a rule is keyed by its one destination (krule__key_addr()) */
	bool ipvs[2]; /* [family is v6]: kube-proxy runs in IPVS mode */
	/* [family is v6]: what an iptables-save dump said of nft's rules in
	 * its nat table (enum kipt_nat_said): nft's JSON reads those */
	uint8_t ipt_nat_said[2];
	/* [family is v6]: kube-proxy serves NodePorts at some local addresses
	 * alone, not at every one: nftables mode's nodeport-ips set (locals of
	 * origin KO_NFT; its default, nodePortAddresses "primary"), iptables
	 * mode's `-d ADDR -j KUBE-NODEPORTS` jumps (KO_IPTABLES) */
	bool np_scoped[2];
	uint32_t sources, skipped_objects, ignored_objects, skipped_rules, xt_unread;
	kindex_warn_fn warn;
	void *warn_ctx;
	/* The warnings of the source being added, held until it is taken
	 * (kindex__add_source()): one refused says nothing of its parts, as
	 * a document json-c refuses whole says nothing.  NUL-separated. */
	char *held;
	size_t held_len, held_cap;
	bool holding;
	const char *src_name; /* the source being parsed, for messages */
	size_t ep_limit, ep_added; /* endpoints the source being parsed may add (0: any) */
	uint64_t gen; /* k8s_annot.index_gen */
	uint32_t node_netns; /* whose rules the index has (kindex__set_node_netns) */
};

/* k8s_store.c: memory, tables, keys, addresses */
void *kvec__push(void **v, uint32_t *n, uint32_t *cap, size_t size);
const char *karena__strndup(struct karena *a, const char *s, size_t n);
const char *karena__strdup(struct karena *a, const char *s);
void *karena__memdup(struct karena *a, const void *src, size_t n);
const char *karena__printf(struct karena *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void karena__free(struct karena *a);

uint64_t kstr__hash(const char *s, size_t n);
int kstrmap__put(struct kstrmap *m, const char *key, uint32_t val);
uint32_t kstrmap__get(const struct kstrmap *m, const char *key, size_t n);
void kstrmap__free(struct kstrmap *m);

int ktab__build(struct ktab *t, const void *base, size_t stride, uint32_t n);
uint32_t ktab__find(const struct ktab *t, const struct kkey *key);
static inline uint32_t ktab__next(const struct ktab *t, uint32_t i)
{
	return t->next[i];
}
void ktab__free(struct ktab *t);

void kkey__set(struct kkey *k, uint8_t family, const uint8_t *addr, uint8_t proto,
	       uint16_t port);
int kaddr__parse(const char *s, size_t n, uint8_t want_family, struct kaddr *a);
/* "A", "A:P", "[A6]:P", "A:P1-P2", ":P" (a port alone: @a's family 0); no
 * port: *lo = *hi = 0.  With @a_hi (else
 * NULL) also an address range, as iptables-save prints DNAT's: "A-B",
 * "A-B:P", "[A6-B6]:P", "A6-B6"; *@a_hi's family is 0 for one address. */
int kaddr__parse_ep(const char *s, size_t n, uint8_t want_family, struct kaddr *a,
		    struct kaddr *a_hi, uint16_t *lo, uint16_t *hi);
/* A DNAT range @lo-@hi: -EINVAL when @hi is below @lo or of another family;
 * *@hi cleared (one address) when it is @lo. */
int kaddr__range(const struct kaddr *lo, struct kaddr *hi);
/* "A/len" or "A"; len defaults to the full width. */
int kaddr__parse_prefix(const char *s, size_t n, uint8_t want_family, struct kaddr *a,
			uint8_t *plen);
bool kaddr__in_prefix(const uint8_t *addr, const struct kaddr *net, uint8_t plen);
/* Addresses @lo to @hi (@out[0] may be @lo) as the fewest prefixes, in
 * order, into @out/@plen: their count (at most twice the width, less 2),
 * -E2BIG past @max, -EINVAL for @hi below @lo or of another family. */
/* A DNAT rule's index key address: its destination's when it is one address
 * (so that a set or map of thousands is found by it), else NULL. */
static inline const uint8_t *krule__key_addr(bool has, const struct kaddr *dst, uint8_t plen,
					     uint8_t family)
{
	return has && dst->family == family && plen == (family == AF_INET ? 32 : 128) ?
		       dst->addr :
		       NULL;
}
int kaddr__range_prefixes(const struct kaddr *lo, const struct kaddr *hi, struct kaddr *out,
			  uint8_t *plen, int max);
int kproto__parse(const char *s, size_t n, uint8_t *proto);
int kport__parse(const char *s, size_t n, uint16_t *port);

/* kindex.c */
void kindex__warn(struct kindex *idx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
struct ksvcport *kindex__svcport(struct kindex *idx, const char *ns, const char *name,
				 uint8_t proto, const char *port_name, uint32_t *id);
struct ksvcport *kindex__svcport_anon(struct kindex *idx, uint8_t proto, uint16_t port,
				      uint32_t *id);
int kindex__add_vip(struct kindex *idx, uint32_t svcport, uint8_t kind, const struct kaddr *a,
		    uint8_t origin, const char *table, const char *chain);
int kindex__add_nodeport(struct kindex *idx, uint32_t svcport, uint8_t family, uint8_t origin,
			 const char *table, const char *chain);
int kindex__add_ep(struct kindex *idx, uint32_t svcport, const struct kaddr *a, uint16_t port,
		   bool ready, uint8_t origin, const char *pod_ns, const char *pod_name);
int kindex__add_local(struct kindex *idx, const struct kaddr *a, const char *ifname,
		      uint8_t origin);
int kindex__rebuild(struct kindex *idx);
/* What an address IPVS serves (@key: family, addr) is to a Service: on
 * kube-ipvs0, or where the node's addresses are not known, a ClusterIP (or
 * an externalIP, which kube-proxy binds there too); on another address of
 * the node a NodePort (k8s_annotate.c). */
uint8_t kindex__ipvs_kind(const struct kindex *idx, const struct kkey *key);
/* Chain walks of the ruleset parsers, per Service port (kindex__svc_walk()). */
struct ksvc_walk {
	uint32_t *gen, n; /* per svcport: the generation of its walks */
	uint32_t last, walk; /* the last generation given out, the walk's */
};
int kindex__svc_walk(const struct kindex *idx, struct ksvc_walk *w, uint32_t svcport);

/*
 * A line-oriented source.  klines__parse() splits data into lines, trims
 * them, skips blank and comment lines and hands the rest to line().  A line
 * line() rejects is counted in idx->skipped_rules, warned about and skipped;
 * -ENOMEM, or an error line() described in errbuf, ends the parse.
 */
struct klines {
	struct kindex *idx;
	char *errbuf;
	size_t errlen;
	const char *lead;    /* characters trimmed from a line's start */
	const char *tail;    /* characters trimmed from a line's end */
	const char *comment; /* first characters that make a line a comment */
	const char *bad_msg; /* warning for a rejected line */
	bool quote_bad;      /* the warning quotes the line (120 characters at most) */
	const char *none_msg; /* error when no line is understood; NULL: the caller checks */
	int (*line)(const struct klines *l, const char *s, size_t n);
	void *ctx;            /* for line() */
	uint32_t line_no, good, bad, first_bad; /* out */
};
int klines__parse(struct klines *l, const char *data, size_t len);
/* IPv4/IPv6 -> 0/1 */
/* @s (NULL: no) starts with @prefix; kstr_nprefix: within @s's first @n bytes. */
static inline bool kstr_prefix(const char *s, const char *prefix)
{
	return s && !strncmp(s, prefix, strlen(prefix));
}

static inline bool kstr_nprefix(const char *s, size_t n, const char *prefix)
{
	size_t pl = strlen(prefix);

	return n >= pl && !memcmp(s, prefix, pl);
}

static inline int kfam__idx(uint8_t family)
{
	return family == 10 /* AF_INET6 */;
}

/* Does kube-proxy serve NodePorts at local address @l (np_scoped)? */
static inline bool klocal__nodeports(const struct kindex *idx, const struct klocal *l)
{
	return !idx->np_scoped[kfam__idx(l->key.family)] || l->origin == KO_NFT ||
	       l->origin == KO_IPTABLES;
}

const char *khook__str(uint8_t hook);

/* The parsers: 0 or a negative errno with errbuf set. */
int ruleset_ipt__parse(struct kindex *idx, uint8_t family, const char *data, size_t len,
		       char *errbuf, size_t errlen);
int ruleset_nft__parse(struct kindex *idx, const char *data, size_t len, char *errbuf,
		       size_t errlen);
int ruleset_ipset__parse(struct kindex *idx, const char *data, size_t len, char *errbuf,
			 size_t errlen);
int ruleset_ipvs__parse(struct kindex *idx, const char *data, size_t len, char *errbuf,
			size_t errlen);
int k8s_local__parse(struct kindex *idx, const char *data, size_t len, char *errbuf,
		     size_t errlen);
int k8s_snapshot__parse(struct kindex *idx, const char *data, size_t len, char *errbuf,
			size_t errlen);

/* k8s_json.c (json-c) */
struct json_object;
int kjson__parse(struct kindex *idx, const char *data, size_t len, struct json_object **out,
		 char *errbuf, size_t errlen);
/* A List (kind "...List") read item by item: @fn is called with each item,
 * which is freed when it returns; the "kind" string in @kind.  0, an error
 * of @fn's, -EBADMSG (errbuf says why), or KJSON_WHOLE when @data is not a
 * List this reads (another kind, or json-c's extensions): nothing was read,
 * kjson__parse() it. */
#define KJSON_WHOLE 1
/* Tests: every document parsed whole, as before kjson__each_item(). */
extern bool kjson__whole_only;
int kjson__each_item(struct kindex *idx, const char *data, size_t len,
		     int (*fn)(void *ctx, struct json_object *item), void *ctx, char *kind,
		     size_t kind_len, char *errbuf, size_t errlen);
/* The same for the array member @name of a top-level object of any members
 * (`nft -j`'s "nftables"): KJSON_WHOLE when there is no such array, an item
 * is not an object, or a member is not one the scan takes (k8s_json.c). */
int kjson__each_in(struct kindex *idx, const char *data, size_t len, const char *name,
		   int (*fn)(void *ctx, struct json_object *item), void *ctx, char *errbuf,
		   size_t errlen);
bool kjson__is_list(const char *kind);
const char *kjson__str(struct json_object *o, const char *key);
struct json_object *kjson__get(struct json_object *o, const char *key, int type);
int kjson__int(struct json_object *o, const char *key, int64_t min, int64_t max, int64_t *out);

/* struct k8s_annot.why: which sentence k8s_annot__reason() writes. */
enum k8s_why {
	KW_NOTHING, /* nothing known about the destination */
	KW_NO_NAT, /* not a Service address, not translated: ok */
	KW_SVC_NO_NAT, /* a Service address, but not translated */
	KW_SVC_EP, /* landed on an endpoint of the Service it meant: ok */
	KW_SVC_HIJACK, /* meant for a Service, landed elsewhere: mismatch */
	KW_SVC_NO_EPS, /* a Service whose endpoints are not known */
	KW_NAT_RULE, /* not a Service, translated by a known rule: ok */
	KW_NAT_UNKNOWN, /* translated, and no known rule explains it */
	KW_NAT_ASTRAY, /* not a Service; a hostPort took a connection to another host's address: mismatch */
	KW_SVC_IPVS_UNLISTED, /* IPVS sent it to a real server the endpoints natwho read do not list */
	KW_SVC_FOREIGN, /* translated elsewhere than at an endpoint, in a namespace whose rules are not read */
	KW_SVC_STALE_EP, /* kube-proxy's rules sent it to a pod the Service's slices do not list: mismatch */
	KW_IPVS_UNLISTED, /* IPVS sent it to an address its table, as read, does not list */
	KW_SVC_NEW_EP, /* to an address nothing names, no rule explains: a new endpoint? */
};

/* k8s_annotate.c, shared with the audit */
bool kindex__is_local(const struct kindex *idx, const struct kkey *key, const char **ifname);
/* The first endpoint of Service port @sp at @addr:@port (an index into
 * idx->eps; ktab__next() on idx->t_eps for the others), or KNONE. */
uint32_t kindex__ep_first(const struct kindex *idx, uint32_t sp, uint8_t family,
			  const uint8_t *addr, uint8_t proto, uint16_t port);
const struct kvip *kindex__vip(const struct kindex *idx, const struct kkey *k);
const struct knodeport *kindex__nodeport(const struct kindex *idx, const struct kkey *k);
/* Does netfilter run @r before kube-proxy's @k?  *tie: only because the
 * order of two tables at the same priority is unknown. */
bool kreach__before(const struct kreach *r, const struct kkube *k, bool *tie);
bool kreach__merge(struct kreach *r, const struct kreach *via);
void kreach__narrow(struct kreach *r, bool local_only);
const struct kreach *kreach__for(const struct kreach *r, bool local_dst, struct kreach *buf);

#endif
