// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Rendering of a struct k8s_annot: the "MISMATCH ..." text tag, the "k8s"
 * JSON object, and the one-line reason both carry. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include "fmt.h"
#include "k8s_int.h"
#include "parse.h"

#define SANDBOX_SHORT 12

const char *k8s_verdict__str(uint8_t verdict)
{
	switch (verdict) {
	case K8S_VERDICT_OK: return "ok";
	case K8S_VERDICT_MISMATCH: return "mismatch";
	default: return "unknown";
	}
}

const char *k8s_kind__str(uint8_t kind)
{
	switch (kind) {
	case K8S_KIND_CLUSTER_IP: return "clusterip";
	case K8S_KIND_NODE_PORT: return "nodeport";
	case K8S_KIND_EXTERNAL_IP: return "externalip";
	case K8S_KIND_LB_IP: return "loadbalancer";
	case K8S_KIND_POD: return "pod";
	case K8S_KIND_NODE: return "node";
	case K8S_KIND_EXTERNAL: return "external";
	case K8S_KIND_NONE: return "none";
	default: return "unknown";
	}
}

const char *k8s_via_kind__str(uint8_t kind)
{
	switch (kind) {
	case K8S_VIA_NONE: return "none";
	case K8S_VIA_SERVICE: return "service";
	case K8S_VIA_HOSTPORT: return "hostport";
	case K8S_VIA_RULE: return "rule";
	case K8S_VIA_IPVS: return "ipvs";
	default: return "unknown";
	}
}

static const char *kannot__tag(uint8_t verdict)
{
	switch (verdict) {
	case K8S_VERDICT_OK: return "OK";
	case K8S_VERDICT_MISMATCH: return "MISMATCH";
	default: return "UNKNOWN";
	}
}

static bool kref__is_svc(uint8_t kind)
{
	return kind == K8S_KIND_CLUSTER_IP || kind == K8S_KIND_NODE_PORT ||
	       kind == K8S_KIND_EXTERNAL_IP || kind == K8S_KIND_LB_IP;
}

/* "Service a/mysql-a:3306", "NodePort 30080 of Service default/web", ... */
static void kannot__target_str(const struct k8s_annot *a, char *buf, size_t len)
{
	const struct k8s_ref *t = &a->target;
	char ep[NW_EPSTRLEN], svc[600];

	conn__addr_port_str(a->family, a->daddr, a->dport, a->dport != 0, ep);
	if (kref__is_svc(t->kind)) {
		if (t->name)
			fmt__snprintf(svc, sizeof(svc), "Service %s/%s", t->ns, t->name);
		else
			fmt__snprintf(svc, sizeof(svc), "Service %s (name unknown)", ep);
	}
	switch (t->kind) {
	case K8S_KIND_CLUSTER_IP:
		if (t->name)
			fmt__snprintf(buf, len, "%s:%u", svc, t->port);
		else
			fmt__snprintf(buf, len, "%s", svc);
		break;
	case K8S_KIND_NODE_PORT: /* the address is the node's, not the Service's */
		if (t->name)
			fmt__snprintf(buf, len, "NodePort %u of %s", a->dport, svc);
		else
			fmt__snprintf(buf, len, "NodePort %u of a Service (name unknown) at %s", a->dport,
				      ep);
		break;
	case K8S_KIND_EXTERNAL_IP: fmt__snprintf(buf, len, "%s (externalIP %s)", svc, ep); break;
	case K8S_KIND_LB_IP: fmt__snprintf(buf, len, "%s (load-balancer IP %s)", svc, ep); break;
	case K8S_KIND_POD: fmt__snprintf(buf, len, "pod %s/%s", t->ns, t->name); break;
	case K8S_KIND_NODE: fmt__snprintf(buf, len, "node %s (%s)", t->name ? t->name : "?", ep); break;
	default: fmt__snprintf(buf, len, "%s", ep); break;
	}
}

static void kannot__landed_str(const struct k8s_annot *a, char *buf, size_t len)
{
	const struct k8s_ref *l = &a->landed;
	char ep[NW_EPSTRLEN];

	conn__addr_port_str(a->family, a->laddr, a->lport, a->lport != 0, ep);
	switch (l->kind) {
	case K8S_KIND_POD: fmt__snprintf(buf, len, "pod %s/%s", l->ns, l->name); break;
	case K8S_KIND_NODE: fmt__snprintf(buf, len, "node %s (%s)", l->name ? l->name : "?", ep); break;
	case K8S_KIND_EXTERNAL: fmt__snprintf(buf, len, "external endpoint %s", ep); break;
	default: fmt__snprintf(buf, len, "%s", ep); break;
	}
}

static void kannot__via_str(const struct k8s_annot *a, char *buf, size_t len)
{
	const struct k8s_via *v = &a->via;

	switch (v->kind) {
	case K8S_VIA_HOSTPORT:
		if (v->chain && v->sandbox)
			fmt__snprintf(buf, len, "hostPort %u (%s%s%s, sandbox %.*s)", v->port,
				 v->table && strcmp(v->table, "nat") ? v->table : "",
				 v->table && strcmp(v->table, "nat") ? " " : "", v->chain,
				 SANDBOX_SHORT, v->sandbox);
		else if (v->chain)
			fmt__snprintf(buf, len, "hostPort %u (%s)", v->port, v->chain);
		else
			fmt__snprintf(buf, len, "hostPort %u of pod %s/%s", v->port, v->ns, v->name);
		break;
	case K8S_VIA_SERVICE: fmt__snprintf(buf, len, "%s", v->chain ? v->chain : "kube-proxy"); break;
	case K8S_VIA_IPVS:
		if (v->rule)
			fmt__snprintf(buf, len, "IPVS (%s)", v->rule);
		else
			fmt__snprintf(buf, len, "IPVS");
		break;
	case K8S_VIA_RULE: /* iptables' nat table goes without saying */
		if (v->table && (v->nft || strcmp(v->table, "nat")))
			fmt__snprintf(buf, len, "a %s rule in table %s chain %s",
				      v->redirect ? "REDIRECT" : "DNAT", v->table,
				      v->chain ? v->chain : "?");
		else
			fmt__snprintf(buf, len, "a %s rule in chain %s", v->redirect ? "REDIRECT" : "DNAT",
				      v->chain ? v->chain : "?");
		break;
	default:
		if (a->foreign)
			fmt__snprintf(buf, len, "a rule of network namespace %u", a->netns);
		else
			fmt__snprintf(buf, len, "an unknown rule");
		break;
	}
}

const char *k8s_annot__reason(const struct k8s_annot *a, char *buf, size_t len)
{
	char target[700], landed[600], via[200];

	kannot__target_str(a, target, sizeof(target));
	kannot__landed_str(a, landed, sizeof(landed));
	kannot__via_str(a, via, sizeof(via));
	switch (a->why) {
	case KW_SVC_HIJACK:
		fmt__snprintf(buf, len, "meant for %s, landed on %s via %s", target, landed, via);
		break;
	case KW_SVC_EP: /* "endpoint external endpoint ADDR" says it twice */
		if (a->landed.kind == K8S_KIND_EXTERNAL)
			conn__addr_port_str(a->family, a->laddr, a->lport, a->lport != 0, landed);
		fmt__snprintf(buf, len, "%s -> endpoint %s via %s%s", target, landed, via,
			 a->via.not_ready ? " (endpoint not ready)" : "");
		break;
	case KW_SVC_NO_NAT:
		fmt__snprintf(buf, len, "%s, but no destination translation was seen", target);
		break;
	case KW_SVC_STALE_EP:
		fmt__snprintf(buf, len,
			      "meant for %s, landed on %s via %s: %s, the snapshot's endpoints of the "
			      "Service do not (%s or snapshot out of date)",
			      target, landed, via,
			      a->via.kind == K8S_VIA_IPVS ?
				      "IPVS's table still lists it as a real server" :
				      "kube-proxy's rules still list it as an endpoint",
			      a->via.kind == K8S_VIA_IPVS ? "IPVS's table" : "rules");
		break;
	case KW_SVC_NO_EPS:
		fmt__snprintf(buf, len, "%s -> %s via %s; the Service's endpoints are not known", target,
			 landed, via);
		break;
	case KW_NO_NAT: /* a source translation (masquerade) may have been */
		fmt__snprintf(buf, len, "%s, no destination translation", target);
		break;
	case KW_NAT_RULE: fmt__snprintf(buf, len, "%s -> %s via %s", target, landed, via); break;
	case KW_NAT_ASTRAY:
		fmt__snprintf(buf, len,
			      "meant for %s, landed on %s via %s, which maps a port of this node only",
			      target, landed, via);
		break;
	case KW_SVC_FOREIGN:
		fmt__snprintf(buf, len,
			      "meant for %s, landed on %s via %s, whose rules natwho does not read "
			      "(not the node's)",
			      target, landed, via);
		break;
	case KW_SVC_IPVS_UNLISTED:
		fmt__snprintf(buf, len,
			      "%s -> %s via IPVS, a real server that is not among the Service's endpoints "
			      "as natwho last read them (older than the endpoints?)",
			      target, landed);
		break;
	case KW_IPVS_UNLISTED:
		fmt__snprintf(buf, len,
			      "%s -> %s via %s, not one of its real servers when natwho last read "
			      "IPVS's table (changed since?)",
			      target, landed, via);
		break;
	case KW_SVC_NEW_EP:
		fmt__snprintf(buf, len,
			      "%s -> %s, an address no source names and no rule natwho read sends "
			      "it to: not among the Service's endpoints as natwho last read them "
			      "(an endpoint newer than the rules and snapshot?)",
			      target, landed);
		break;
	case KW_NAT_UNKNOWN:
		if (a->foreign)
			fmt__snprintf(buf, len,
				      "%s -> %s, translated by a rule of network namespace %u, whose "
				      "rules natwho does not read (not the node's)",
				      target, landed, a->netns);
		else
			fmt__snprintf(buf, len, "%s -> %s, no known rule explains the translation",
				      target, landed);
		break;
	default:
		if (!conn__proto_has_ports(a->proto)) { /* Services match by port */
			char num[8];

			fmt__snprintf(buf, len,
				      "%s: %s has no ports for a Service port to match, no "
				      "destination translation",
				      target, proto_str(a->proto, num, sizeof(num)));
			break;
		}
		fmt__snprintf(buf, len, "%s is not a known Service address, no destination translation",
			      target);
	}
	return buf;
}

static void kref__print(struct out *o, const char *key, const struct k8s_ref *r)
{
	out__obj_open(o, key);
	out__str(o, OUT_JSON_ONLY, "kind", NULL, k8s_kind__str(r->kind));
	if (r->ns)
		out__str(o, OUT_JSON_ONLY, "namespace", NULL, r->ns);
	if (r->name)
		out__str(o, OUT_JSON_ONLY, "name", NULL, r->name);
	if (r->port)
		out__u64(o, OUT_JSON_ONLY, "port", NULL, r->port);
	if (r->port_name)
		out__str(o, OUT_JSON_ONLY, "port_name", NULL, r->port_name);
	if (r->node && (r->kind == K8S_KIND_POD))
		out__str(o, OUT_JSON_ONLY, "node", NULL, r->node);
	out__obj_close(o);
}

static void kvia__print(struct out *o, const struct k8s_via *v)
{
	out__obj_open(o, "via");
	out__str(o, OUT_JSON_ONLY, "kind", NULL, k8s_via_kind__str(v->kind));
	if (v->table)
		out__str(o, OUT_JSON_ONLY, "table", NULL, v->table);
	if (v->chain)
		out__str(o, OUT_JSON_ONLY, "chain", NULL, v->chain);
	if (v->sandbox)
		out__str(o, OUT_JSON_ONLY, "sandbox", NULL, v->sandbox);
	if (v->rule)
		out__str(o, OUT_JSON_ONLY, "rule", NULL, v->rule);
	if (v->ns)
		out__str(o, OUT_JSON_ONLY, "namespace", NULL, v->ns);
	if (v->name)
		out__str(o, OUT_JSON_ONLY, "name", NULL, v->name);
	if (v->port)
		out__u64(o, OUT_JSON_ONLY, "port", NULL, v->port);
	if (v->kind == K8S_VIA_SERVICE || v->kind == K8S_VIA_IPVS)
		out__bool(o, OUT_JSON_ONLY, "endpoint_ready", NULL, !v->not_ready);
	out__obj_close(o);
}

void k8s_annot__print(struct out *o, const struct k8s_annot *a, const char *reason)
{
	if (o->mode == OUT_TEXT) {
		char clean[K8S_REASON_LEN];

		out__text_str(o, "  ");
		out__text_str(o, kannot__tag(a->verdict));
		out__text_str(o, " ");
		/* names from a snapshot or a capture: outside text (JSON escapes) */
		fmt__snprintf(clean, sizeof(clean), "%s", reason);
		out__text_str(o, fmt__clean(clean));
		/* JSON has it as "source"; text has no other column for it (PID
		 * and COMM are "-" for a pod's forwarded connection) */
		if (a->source.kind == K8S_KIND_POD) {
			char from[600]; /* as the reason's own pieces */

			fmt__snprintf(from, sizeof(from), ", from pod %s/%s", a->source.ns,
				      a->source.name);
			out__text_str(o, fmt__clean(from));
		}
		return;
	}
	out__obj_open(o, "k8s");
	kref__print(o, "target", &a->target);
	kref__print(o, "landed", &a->landed);
	kvia__print(o, &a->via);
	if (a->source.kind == K8S_KIND_NONE)
		out__null(o, OUT_JSON_ONLY, "source", NULL);
	else
		kref__print(o, "source", &a->source);
	out__str(o, OUT_JSON_ONLY, "verdict", NULL, k8s_verdict__str(a->verdict));
	out__str(o, OUT_JSON_ONLY, "reason", NULL, reason);
	out__obj_close(o);
}
