/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * kindex: what every address:port on a Kubernetes node is, and which NAT rule
 * can rewrite a connection to it.  Built from named *sources* (the node's
 * ruleset dumps and a kubectl snapshot), so the same bytes can be embedded
 * in a capture file and parsed again on replay.  Pure: no BPF, no root, no
 * I/O after kindex__add_source() (ksrc__read() is the only file reader).
 *
 * Sources (enum ksrc_kind):
 *   KSRC_IPTABLES_SAVE   `iptables-save [-t nat]` (legacy or nft variant)
 *   KSRC_IP6TABLES_SAVE  `ip6tables-save [-t nat]`
 *   KSRC_NFT_JSON        `nft -j list ruleset`.  Tables holding iptables-nft
 *                        rules ("xt" expressions) are skipped: read those with
 *                        iptables-save instead; but a nat table an
 *                        iptables-save source added before called incompatible
 *                        (kindex__ipt_nat_said()) is read here, whole or
 *                        what nft's own base chains in it reach.
 *   KSRC_IPSET_SAVE      `ipset save` (kube-proxy IPVS mode sets)
 *   KSRC_LOCAL_ADDRS     the node's addresses, either `ip -o addr` output
 *                        ("3: eth0    inet 192.168.56.12/24 scope ...") or a
 *                        plain list of "IFNAME ADDRESS[/PREFIX]" lines; blank
 *                        lines and lines starting with '#' are ignored.
 *                        Addresses on kube-ipvs0 are IPVS Service addresses.
 *   KSRC_IPVS            /proc/net/ip_vs: IPVS's virtual services and real
 *                        servers (kube-proxy's IPVS mode; any LVS director)
 *   KSRC_SNAPSHOT        `kubectl get pods,services,endpointslices -A -o json`
 *                        (a v1 List, or a *List of one kind, or one Pod,
 *                        Service or EndpointSlice).  Objects of other kinds
 *                        inside a List are ignored and counted.
 *
 * A source larger than KSRC_MAX_BYTES is rejected.  A source unusable as a
 * whole (not JSON, wrong kind, truncated, no recognisable line at all)
 * fails with a negative errno and one line naming the source and the
 * position in @errbuf, and leaves the index as it was.  Objects and rules
 * that do not parse are skipped, counted (kindex__stats) and, when a warn
 * callback is set, reported once each, once the source is taken (a source
 * refused reports none; past 1 MiB of them, or with no memory left to hold
 * them, they come as they are found).
 *
 * The index must outlive every struct k8s_annot it filled: annotations
 * point into it.
 */
#ifndef NW_KINDEX_H
#define NW_KINDEX_H

#include <stdbool.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include "conn.h"
#include "out.h"

#define KSRC_MAX_BYTES (256u << 20) /* 256 MiB per source */

enum ksrc_kind {
	KSRC_IPTABLES_SAVE,
	KSRC_IP6TABLES_SAVE,
	KSRC_NFT_JSON,
	KSRC_IPSET_SAVE,
	KSRC_LOCAL_ADDRS,
	KSRC_SNAPSHOT,
	KSRC_IPVS,
	KSRC_KIND_MAX,
};

/* What an address (target, landed, source) is. */
enum k8s_kind {
	K8S_KIND_NONE, /* no annotation (source only: not a known address) */
	K8S_KIND_UNKNOWN,
	K8S_KIND_CLUSTER_IP, /* Service ClusterIP:port */
	K8S_KIND_NODE_PORT, /* Service NodePort on a node address */
	K8S_KIND_EXTERNAL_IP, /* Service spec.externalIPs */
	K8S_KIND_LB_IP, /* Service status.loadBalancer.ingress */
	K8S_KIND_POD,
	K8S_KIND_NODE,
	K8S_KIND_EXTERNAL, /* an EndpointSlice's endpoint with no pod behind it */
};

/* Which rule translated the destination. */
enum k8s_via_kind {
	K8S_VIA_NONE, /* no translation */
	K8S_VIA_SERVICE, /* kube-proxy iptables/nftables Service chain */
	K8S_VIA_HOSTPORT, /* CNI portmap hostPort DNAT */
	K8S_VIA_RULE, /* another DNAT/REDIRECT rule */
	K8S_VIA_IPVS, /* kube-proxy IPVS (no rule carries the endpoint) */
	K8S_VIA_UNKNOWN, /* translated, no known rule explains it */
};

enum k8s_verdict {
	K8S_VERDICT_UNKNOWN,
	K8S_VERDICT_OK,
	K8S_VERDICT_MISMATCH,
};

/* Strings point into the index; NULL when not known. */
struct k8s_ref {
	uint8_t kind; /* enum k8s_kind */
	uint16_t port; /* Service port, NodePort, or the address's port */
	const char *ns;
	const char *name;
	const char *port_name; /* Service port name */
	const char *node; /* pods: spec.nodeName */
};

struct k8s_via {
	uint8_t kind; /* enum k8s_via_kind */
	bool not_ready; /* landed on a Service endpoint that is not ready */
	bool redirect; /* rule: a REDIRECT (to the node itself), not a DNAT */
	bool nft; /* rule: of an nftables table (not iptables'), its name said */
	uint16_t port; /* hostPort, or the rule's destination port */
	const char *table; /* "nat", "cni_hostport", "kube-proxy", ... */
	const char *chain; /* CNI-DN-..., KUBE-SVC-..., hostports, ... */
	const char *sandbox; /* hostPort: pod sandbox (pause container) id */
	const char *rule; /* rule text */
	const char *ns, *name; /* hostPort: the pod the rule maps to */
};

struct k8s_annot {
	struct k8s_ref target; /* what orig.dst:dport is */
	struct k8s_ref landed; /* what the translated destination is */
	struct k8s_ref source; /* what orig.src is (kind NONE: unknown) */
	struct k8s_via via;
	uint8_t verdict; /* enum k8s_verdict */
	uint8_t why; /* reason code, rendered by k8s_annot__reason() */
	uint8_t family, proto;
	uint16_t dport, lport; /* orig.dport, landed.port */
	uint8_t daddr[16], laddr[16]; /* orig.dst, landed.addr */
	uint64_t index_gen; /* the index that filled it: unique per kindex__new() */
	uint32_t netns; /* the connection's network namespace (named when foreign) */
	bool foreign; /* tracked in a namespace whose rules the index does not have */
	/* The other inputs, for kindex__annotate_again(); not part of what the
	 * annotation says */
	uint8_t saddr[16]; /* orig.src */
	bool dnat;
	bool task; /* a local process sent it, not joined: its NAT hook was OUTPUT (kidx__rule()) */
};

struct kindex_stats {
	uint32_t sources;
	uint32_t pods, svcports, endpoints, vips, nodeports;
	uint32_t hostports, rules, local_addrs;
	uint32_t skipped_objects; /* snapshot objects with missing/bad fields */
	uint32_t ignored_objects; /* snapshot objects of other kinds */
	uint32_t skipped_rules; /* ruleset/ipset/address lines that did not parse */
	/* iptables-nft rules ("xt") in a nat table iptables-save calls
	 * incompatible: neither dump shows what they do */
	uint32_t xt_unread;
	bool ipvs; /* kube-proxy's IPVS mode, by its rules or sets */
	bool ipvs_sets; /* its Service addresses from `ipset save` */
	uint32_t ipvs_services, ipvs_dests; /* IPVS's table (by address) */
};

struct kindex;
typedef void (*kindex_warn_fn)(void *ctx, const char *msg);

struct kindex *kindex__new(void);
void kindex__free(struct kindex *idx);
/* Called once per skipped object or rule with "SOURCE:POSITION: what". */
void kindex__set_warn(struct kindex *idx, kindex_warn_fn fn, void *ctx);

/*
 * Parse one source into the index.  @name names it in messages.  Returns 0,
 * or a negative errno with one line in @errbuf: -E2BIG (over
 * KSRC_MAX_BYTES), -EBADMSG (not JSON, truncated, nothing recognisable),
 * -EINVAL (wrong kind of document or bad @kind), -ENOMEM.
 */
int kindex__add_source(struct kindex *idx, enum ksrc_kind kind, const char *name,
		       const char *data, size_t len, char *errbuf, size_t errlen);
void kindex__stats(const struct kindex *idx, struct kindex_stats *st);
/*
 * What an `iptables-save -t nat` dump says of nft's rules in the nat table
 * iptables-nft uses, which it cannot show: "# Table `nat' is incompatible,
 * use 'nft' tool." and no rule (a ruleset nft wrote in that table, often
 * iptables-restore-translate's: nft must read the table instead), or
 * (iptables 1.8.8 and later) "# Table `nat' contains incompatible
 * base-chains, use 'nft' tool to list them." and the rules of its own base
 * chains (a base chain nft added, `prerouting` beside iptables'
 * `PREROUTING`: nft must read what that chain reaches).
 */
enum kipt_nat_said { KIPT_NAT_OWN, KIPT_NAT_TAINTED, KIPT_NAT_INCOMPATIBLE };
enum kipt_nat_said kindex__ipt_nat_said(const char *data, size_t len);
/* iptables' built-in chains' names (PREROUTING ... POSTROUTING), NULL-ended;
 * is @table one of its tables' (nat, filter, mangle, raw, security), @chain
 * one of those? */
extern const char *const kipt_chains[];
bool kipt__table_name(const char *table);
bool kipt__chain_name(const char *chain);
/*
 * Pod addresses that a different pod listed before already has (two --k8s
 * snapshots of clusters whose pod networks overlap, an old and a new
 * snapshot after the address went to another pod): the index names each
 * after the pod listed first.  How many such claims the index has, with one
 * line about the first in @buf ("" when none).
 */
uint32_t kindex__pod_conflicts(const struct kindex *idx, char *buf, size_t len);
/*
 * The network namespace (inode) whose NAT rules the index has: the node's.
 * A connection that conntrack tracked in another one (fentry and kprobe see
 * every namespace: a pod's own, a service mesh's REDIRECT to its sidecar)
 * was translated by rules natwho did not read, so no rule of the node
 * explains or convicts it: landing on an endpoint of the Service it meant is
 * still OK, anything else UNKNOWN.  0 (the default): every connection is
 * judged by the index's rules.
 */
void kindex__set_node_netns(struct kindex *idx, uint32_t netns);
/* True while no source has added anything a verdict can rest on (the node's
 * own addresses alone are not). */
bool kindex__empty(const struct kindex *idx);

/*
 * Fill @out for @c: O(1) hash lookups, no allocation, no I/O.  @out is
 * fully overwritten.
 */
void kindex__annotate(const struct kindex *idx, const struct conn *c, struct k8s_annot *out);
/*
 * The same, but @a is left as it is when it already holds the annotation of
 * a connection with the same inputs (addresses, ports but the source port,
 * protocol, DNAT) from this index: a run of connections to one Service from
 * one client costs one lookup.  @a must come from a previous call or be
 * zeroed.  Returns true when @a was reused.
 */
bool kindex__annotate_again(const struct kindex *idx, const struct conn *c, struct k8s_annot *a);

/*
 * Text: two spaces, "MISMATCH"/"OK"/"UNKNOWN", a space and the reason, on
 * the current line.  JSON: a "k8s" object:
 *   {"target":REF,"landed":REF,"via":VIA,"source":REF|null,
 *    "verdict":"ok"|"mismatch"|"unknown","reason":"..."}
 *   REF: {"kind":K,"namespace":..,"name":..,"port":..,"port_name":..,"node":..}
 *        K: clusterip nodeport externalip loadbalancer pod node external unknown;
 *        keys without a value are left out.
 *   VIA: {"kind":"service"|"hostport"|"rule"|"ipvs"|"none"|"unknown",
 *         "table":..,"chain":..,"sandbox":..,"rule":..,"namespace":..,"name":..,
 *         "port":..,"endpoint_ready":bool (service, ipvs)}
 *        hostport: namespace/name = the pod the rule maps to, port = hostPort;
 *        service: namespace/name/port = the Service.
 */
/* @reason: k8s_annot__reason()'s sentence for @a (the caller may cache it). */
void k8s_annot__print(struct out *o, const struct k8s_annot *a, const char *reason);
/* The one-line human reason, e.g. "meant for Service a/mysql-a:3306, landed
 * on pod b/mysql-b-0 via hostPort 3306 (CNI-DN-b9f7..., sandbox 9ab3c7e1f4d2)";
 * K8S_REASON_LEN bytes hold the longest. */
#define K8S_REASON_LEN 1600
const char *k8s_annot__reason(const struct k8s_annot *a, char *buf, size_t len);
const char *k8s_verdict__str(uint8_t verdict); /* "ok", "mismatch", "unknown" */
const char *k8s_kind__str(uint8_t kind);
const char *k8s_via_kind__str(uint8_t kind);

/*
 * List every hostPort (or other DNAT/REDIRECT) rule that shadows a Service
 * ClusterIP, externalIP, load-balancer IP or NodePort on this node, and why
 * (rule order or hook priority against kube-proxy's entry, and the local-
 * destination test on the path: addrtype LOCAL / fib daddr type local, with
 * the Service address local or not).  Text: one line each,
 *   SHADOW <rule> shadows|may shadow <Service address>: <hook>: <why>
 * ("may": the two run at the same priority in different tables; "; to one of
 * its own endpoints, ..." after <why> where the rule sends the Service to an
 * endpoint of its own).  JSON: one record each,
 *   {"type":"shadow","schema":1,"family":..,"proto":..,
 *    "rule":{"kind":"hostport"|"rule","table":..,"chain":..,"text":..,"port":..,
 *            "to":..,"sandbox":..,"namespace":..,"name":..},
 *    "shadowed":{"kind":"clusterip"|"externalip"|"loadbalancer"|"nodeport",
 *                "namespace":..,"name":..,"port_name":..,"addr":..,"port":..},
 *    "hooks":{"prerouting":bool,"output":bool},"certain":bool,"own_endpoint":bool,
 *    "why":".."}
 * Returns the number of findings, and in *@rules (if not NULL) how many
 * rules they are of (a rule may shadow several Service addresses).
 */
int kindex__audit(const struct kindex *idx, struct out *o, uint32_t *rules);

/* Does a source name Service @ns/@name (a snapshot, kube-proxy's rules)? */
bool kindex__names_service(const struct kindex *idx, const char *ns, const char *name);
/*
 * The pod @ns/@name of the snapshot: the UID its cgroup is named by
 * (metadata.uid; a static pod's kubernetes.io/config.mirror hash) and
 * spec.nodeName (NULL when not known).  0, -ENOENT (no such pod) or -ENODATA
 * (no UID).
 */
int kindex__pod_uid(const struct kindex *idx, const char *ns, const char *name,
		    const char **uid, const char **node);

/* "iptables-save", "ip6tables-save", "nft-json", "ipset-save", "local-addrs",
 * "snapshot", "ipvs" (stable: used in capture files). */
const char *ksrc_kind__str(enum ksrc_kind kind);
int ksrc_kind__parse(const char *s, enum ksrc_kind *out);
/* A hash of what a source says (FNV-1a), without what changes from one dump
 * to the next and is not knowledge: iptables-save's comment lines (the time)
 * and chain counters. */
uint64_t ksrc__hash(enum ksrc_kind kind, const char *data, size_t len);
/*
 * Read a whole file ("-": stdin) of at most @max bytes into a malloc'ed,
 * NUL-terminated buffer.  Returns 0 or a negative errno with a message;
 * -EINTR once *@stop is set while it waits for input (a pipe, a terminal;
 * @stop NULL: no such check).
 */
int ksrc__read(const char *path, size_t max, const volatile sig_atomic_t *stop, char **data,
	       size_t *len, char *errbuf, size_t errlen);

#endif
