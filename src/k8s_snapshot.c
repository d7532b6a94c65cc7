// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * `kubectl get pods,services,endpointslices -A -o json` (or endpoints) -> kindex.
 *
 * Accepted documents: a List (kind "List" or "<Kind>List") with "items", or
 * a single Pod, Service, EndpointSlice or Endpoints.  Read from each object:
 *   Pod:      metadata.namespace/name, spec.nodeName, spec.hostNetwork,
 *             status.podIPs[].ip (or podIP), status.hostIPs[].ip (or hostIP),
 *             status.phase (Succeeded/Failed pods no longer own their IPs),
 *             spec.containers[].ports[] hostPort/hostIP/containerPort/protocol
 *   Service:  spec.clusterIPs (or clusterIP; "None" = headless),
 *             spec.ports[] name/port/nodePort/protocol, spec.externalIPs,
 *             spec.ipFamilies, status.loadBalancer.ingress[].ip
 *   EndpointSlice: metadata.labels["kubernetes.io/service-name"],
 *             addressType (FQDN ignored; v1alpha1's "IP": either family),
 *             ports[] name/port/protocol, endpoints[].addresses,
 *             conditions.ready (absent = ready), targetRef (kind Pod)
 *   Endpoints (v1; what a cluster before EndpointSlices, Kubernetes < 1.17,
 *             lists): metadata.namespace/name (the Service's),
 *             subsets[].ports[] name/port/protocol, subsets[].addresses[]
 *             (ready) and notReadyAddresses[] ip/targetRef (kind Pod)
 * Objects (or parts of them, such as one port) with missing or malformed
 * fields are skipped and counted; objects of other kinds are ignored.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <json-c/json.h>
#include "k8s_int.h"

struct snap_svc {
	const char *ns, *name;
};

struct snap {
	struct kindex *idx;
	size_t item; /* index in "items", for messages */
	const char *kind, *ns, *name; /* the object being read */
	KVEC(struct snap_svc) empty; /* Services said to have no endpoints */
};

static int snap__skip(struct snap *s, const char *why)
{
	s->idx->skipped_objects++;
	kindex__warn(s->idx, "%s: items[%zu] (%s %s/%s): %s, skipped", s->idx->src_name, s->item,
		     s->kind, s->ns ? s->ns : "?", s->name ? s->name : "?", why);
	return 0;
}

static const char *snap__str(struct snap *s, const char *v)
{
	return v ? karena__strdup(&s->idx->arena, v) : NULL;
}

static size_t snap__len(struct json_object *arr)
{
	return arr ? json_object_array_length(arr) : 0;
}

static struct json_object *snap__at(struct json_object *arr, size_t i)
{
	return json_object_array_get_idx(arr, i);
}

/* "TCP" (default), "UDP", "SCTP" */
static int snap__proto(struct json_object *o, uint8_t *proto)
{
	const char *p = kjson__str(o, "protocol");

	*proto = IPPROTO_TCP;
	if (json_object_object_get_ex(o, "protocol", NULL) && !p)
		return -EINVAL;
	return p ? kproto__parse(p, strlen(p), proto) : 0;
}

/* Addresses from [{"ip": A}, ...] or, failing that, a single string. */
static int snap__ips(struct json_object *st, const char *list, const char *one,
		     struct kaddr *out, uint8_t max, uint8_t *n)
{
	struct json_object *arr = kjson__get(st, list, json_type_array);
	const char *single = kjson__str(st, one);

	*n = 0;
	for (size_t i = 0; i < snap__len(arr) && *n < max; i++) {
		const char *ip = kjson__str(snap__at(arr, i), "ip");

		if (!ip || kaddr__parse(ip, strlen(ip), 0, &out[*n]))
			return -EINVAL;
		(*n)++;
	}
	if (!*n && single && *single) {
		if (kaddr__parse(single, strlen(single), 0, &out[0]))
			return -EINVAL;
		*n = 1;
	}
	return 0;
}

static int snap__meta(struct snap *s, struct json_object *o, bool need_ns)
{
	struct json_object *md = kjson__get(o, "metadata", json_type_object);

	s->ns = kjson__str(md, "namespace");
	s->name = kjson__str(md, "name");
	return s->name && *s->name && (!need_ns || (s->ns && *s->ns)) ? 0 : -EINVAL;
}

static bool snap__unspecified(const struct kaddr *a)
{
	static const uint8_t zero[16];

	return !memcmp(a->addr, zero, a->family == AF_INET ? 4 : 16);
}

/* hostPort of a pod on the pod network: what portmap will DNAT, per pod IP. */
static int snap__hostport(struct snap *s, uint32_t pod, uint8_t proto, uint16_t host_port,
			  uint16_t container_port, const struct kaddr *host_ip)
{
	for (uint8_t i = 0; i < s->idx->pods.v[pod].nips; i++) {
		const struct kpod *p = &s->idx->pods.v[pod];
		struct khostport *hp;

		if (host_ip->family && host_ip->family != p->ips[i].family)
			continue;
		hp = KVEC_PUSH(&s->idx->hostports);
		if (!hp)
			return -ENOMEM;
		kkey__set(&hp->key, p->ips[i].family, NULL, proto, host_port);
		if (host_ip->family && !snap__unspecified(host_ip))
			hp->host_ip = *host_ip;
		hp->to = p->ips[i];
		hp->to_port = container_port;
		hp->origin = KO_SNAPSHOT;
		hp->pod_ns = p->ns;
		hp->pod_name = p->name;
		for (uint8_t j = 0; j < p->nhost_ips; j++)
			if (p->host_ips[j].family == p->ips[i].family)
				hp->node = p->host_ips[j];
	}
	return 0;
}

static int snap__port(struct snap *s, struct json_object *pt, uint32_t pod)
{
	const char *host_ip_s = kjson__str(pt, "hostIP");
	struct kaddr host_ip = { 0 };
	int64_t cport, hport = 0;
	uint8_t proto;
	struct kpodport *pp;
	int err;

	if (kjson__int(pt, "containerPort", 1, 65535, &cport) || snap__proto(pt, &proto) ||
	    ((err = kjson__int(pt, "hostPort", 0, 65535, &hport)) && err != -ENOENT) ||
	    (host_ip_s && *host_ip_s && kaddr__parse(host_ip_s, strlen(host_ip_s), 0, &host_ip)))
		return snap__skip(s, "container port with a bad containerPort/hostPort/protocol");
	if (!s->idx->pods.v[pod].host_network)
		return hport ? snap__hostport(s, pod, proto, (uint16_t)hport, (uint16_t)cport,
					      &host_ip) :
			       0;
	pp = KVEC_PUSH(&s->idx->podports);
	if (!pp)
		return -ENOMEM;
	pp->pod = pod;
	pp->proto = proto;
	pp->port = (uint16_t)cport;
	return 0;
}

static int snap__pod_ports(struct snap *s, struct json_object *spec, uint32_t pod)
{
	struct json_object *cs = kjson__get(spec, "containers", json_type_array);
	int err = 0;

	for (size_t i = 0; i < snap__len(cs) && !err; i++) {
		struct json_object *ports = kjson__get(snap__at(cs, i), "ports", json_type_array);

		for (size_t j = 0; j < snap__len(ports) && !err; j++)
			err = snap__port(s, snap__at(ports, j), pod);
	}
	return err;
}

static int snap__pod(struct snap *s, struct json_object *o)
{
	struct json_object *spec = kjson__get(o, "spec", json_type_object);
	struct json_object *st = kjson__get(o, "status", json_type_object), *hn;
	const char *phase = kjson__str(st, "phase");
	struct kpod *p;

	if (snap__meta(s, o, true))
		return snap__skip(s, "no metadata.namespace or metadata.name");
	if (phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed")))
		return 0; /* finished: its IPs may belong to another pod by now */
	p = KVEC_PUSH(&s->idx->pods);
	if (!p)
		return -ENOMEM;
	p->ns = snap__str(s, s->ns);
	p->name = snap__str(s, s->name);
	p->node = snap__str(s, kjson__str(spec, "nodeName"));
	/* The cgroup's name: a static pod's is its config hash, which its API
	 * mirror carries as an annotation (its metadata.uid is another). */
	p->uid = snap__str(s, kjson__str(kjson__get(kjson__get(o, "metadata", json_type_object),
						    "annotations", json_type_object),
					 "kubernetes.io/config.mirror") ?:
				      kjson__str(kjson__get(o, "metadata", json_type_object), "uid"));
	hn = kjson__get(spec, "hostNetwork", json_type_boolean);
	p->host_network = hn && json_object_get_boolean(hn);
	if (!p->ns || !p->name || (kjson__str(spec, "nodeName") && !p->node))
		return -ENOMEM;
	if (snap__ips(st, "podIPs", "podIP", p->ips, KPOD_MAX_IPS, &p->nips) ||
	    snap__ips(st, "hostIPs", "hostIP", p->host_ips, 2, &p->nhost_ips)) {
		s->idx->pods.n--;
		return snap__skip(s, "malformed status.podIPs/hostIPs");
	}
	return snap__pod_ports(s, spec, s->idx->pods.n - 1);
}

/* Addresses of one Service kept (2 ClusterIPs, externalIPs and load-balancer
 * IPs have no limit in the API); ports of one EndpointSlice (the API's
 * limit).  More are skipped with a warning, never silently. */
#define SNAP_MAX_VIPS 256
#define SNAP_MAX_PORTS 100
/* A Service's addresses times its ports: each pair is a VIP in the index
 * (about 40 bytes); 255 externalIPs and 20,000 ports, a 600 KB object
 * within the API's limits, would make 5 million of them. */
#define SNAP_MAX_SVC_VIPS 65536

struct snap_vips {
	struct kaddr a[SNAP_MAX_VIPS];
	uint8_t kind[SNAP_MAX_VIPS];
	uint16_t n;
	bool full; /* the rest skipped, and said so */
	bool family[2]; /* spec.ipFamilies, or the ClusterIPs' families */
};

static void snap__vip(struct snap *s, struct snap_vips *v, const char *ip, uint8_t kind)
{
	if (!ip || !*ip || !strcmp(ip, "None"))
		return;
	if (v->n == SNAP_MAX_VIPS) {
		if (!v->full)
			snap__skip(s, "more than 256 addresses: those after the 256th");
		v->full = true;
		return;
	}
	if (kaddr__parse(ip, strlen(ip), 0, &v->a[v->n])) {
		snap__skip(s, "malformed Service address");
		return;
	}
	v->kind[v->n++] = kind;
}

/* ClusterIPs, externalIPs and load-balancer IPs of one Service. */
static void snap__svc_vips(struct snap *s, struct json_object *o, struct snap_vips *v)
{
	struct json_object *spec = kjson__get(o, "spec", json_type_object), *arr, *fams;
	struct json_object *lb = kjson__get(kjson__get(o, "status", json_type_object),
					    "loadBalancer", json_type_object);

	arr = kjson__get(spec, "clusterIPs", json_type_array);
	for (size_t i = 0; i < snap__len(arr); i++)
		snap__vip(s, v, json_object_get_string(snap__at(arr, i)), K8S_KIND_CLUSTER_IP);
	if (!snap__len(arr))
		snap__vip(s, v, kjson__str(spec, "clusterIP"), K8S_KIND_CLUSTER_IP);
	for (uint16_t i = 0; i < v->n; i++)
		v->family[kfam__idx(v->a[i].family)] = true;
	arr = kjson__get(spec, "externalIPs", json_type_array);
	for (size_t i = 0; i < snap__len(arr); i++)
		snap__vip(s, v, json_object_get_string(snap__at(arr, i)), K8S_KIND_EXTERNAL_IP);
	arr = kjson__get(lb, "ingress", json_type_array);
	for (size_t i = 0; i < snap__len(arr); i++)
		snap__vip(s, v, kjson__str(snap__at(arr, i), "ip"), K8S_KIND_LB_IP);
	fams = kjson__get(spec, "ipFamilies", json_type_array);
	for (size_t i = 0; i < snap__len(fams); i++) {
		const char *f = json_object_get_string(snap__at(fams, i));

		v->family[0] |= f && !strcmp(f, "IPv4");
		v->family[1] |= f && !strcmp(f, "IPv6");
	}
	if (!v->family[0] && !v->family[1])
		v->family[0] = true;
}

static int snap__svc_port(struct snap *s, struct json_object *pt, const struct snap_vips *v)
{
	const char *pname = kjson__str(pt, "name");
	struct ksvcport *sp;
	int64_t port, node_port = 0;
	uint8_t proto;
	uint32_t id;
	int err;

	if (kjson__int(pt, "port", 1, 65535, &port) || snap__proto(pt, &proto) ||
	    ((err = kjson__int(pt, "nodePort", 0, 65535, &node_port)) && err != -ENOENT))
		return snap__skip(s, "Service port with a bad port/nodePort/protocol");
	sp = kindex__svcport(s->idx, s->ns, s->name, proto, pname ? pname : "", &id);
	if (!sp)
		return -ENOMEM;
	sp->port = (uint16_t)port;
	sp->node_port = (uint16_t)node_port;
	err = 0;
	for (uint16_t i = 0; i < v->n && !err; i++)
		err = kindex__add_vip(s->idx, id, v->kind[i], &v->a[i], KO_SNAPSHOT, NULL, NULL);
	for (int f = 0; f < 2 && node_port && !err; f++)
		if (v->family[f])
			err = kindex__add_nodeport(s->idx, id, f ? AF_INET6 : AF_INET, KO_SNAPSHOT,
						   NULL, NULL);
	return err;
}

static int snap__svc(struct snap *s, struct json_object *o)
{
	struct json_object *spec = kjson__get(o, "spec", json_type_object);
	struct json_object *ports = kjson__get(spec, "ports", json_type_array);
	const char *type = kjson__str(spec, "type");
	struct snap_vips v = { 0 };
	size_t nports;
	int err = 0;

	if (snap__meta(s, o, true))
		return snap__skip(s, "no metadata.namespace or metadata.name");
	if (type && !strcmp(type, "ExternalName"))
		return 0; /* a DNS name, no address */
	if (!snap__len(ports))
		return snap__skip(s, "no spec.ports");
	snap__svc_vips(s, o, &v);
	nports = snap__len(ports);
	if (v.n && nports > SNAP_MAX_SVC_VIPS / v.n) {
		nports = SNAP_MAX_SVC_VIPS / v.n;
		snap__skip(s, "more than 65,536 addresses times ports: the ports past that");
	}
	for (size_t i = 0; i < nports && !err; i++)
		err = snap__svc_port(s, snap__at(ports, i), &v);
	return err;
}

/* The pod an endpoint's targetRef names, in *@ns and *@name (NULL: none). */
static int snap__target_pod(struct snap *s, struct json_object *e, const char **ns,
			    const char **name)
{
	struct json_object *ref = kjson__get(e, "targetRef", json_type_object);
	const char *ref_kind = kjson__str(ref, "kind");

	*ns = *name = NULL;
	if (!ref_kind || strcmp(ref_kind, "Pod") || !kjson__str(ref, "name"))
		return 0;
	*ns = snap__str(s, kjson__str(ref, "namespace") ?: s->ns);
	*name = snap__str(s, kjson__str(ref, "name"));
	return *ns && *name ? 0 : -ENOMEM;
}

/* Endpoint @e at address @ip (of @family, 0: either) on each Service port
 * ids[i] at ports[i]: its pod by targetRef. */
static int snap__endpoint_at(struct snap *s, struct json_object *e, const char *ip, uint8_t family,
			     bool ready, const uint32_t *ids, const uint16_t *ports, size_t nports)
{
	const char *pod_ns, *pod_name;
	struct kaddr a;
	int err;

	if (!ip || kaddr__parse(ip, strlen(ip), family, &a))
		return snap__skip(s, "malformed endpoint address");
	err = snap__target_pod(s, e, &pod_ns, &pod_name);
	for (size_t p = 0; p < nports && !err; p++)
		err = kindex__add_ep(s->idx, ids[p], &a, ports[p], ready, KO_SNAPSHOT, pod_ns,
				     pod_name);
	return err;
}

static int snap__slice_endpoint(struct snap *s, struct json_object *e, uint8_t family,
				const uint32_t *ids, const uint16_t *ports, size_t nports)
{
	struct json_object *addrs = kjson__get(e, "addresses", json_type_array);
	struct json_object *cond = kjson__get(e, "conditions", json_type_object);
	struct json_object *ready = kjson__get(cond, "ready", json_type_boolean);

	if (!snap__len(addrs))
		return snap__skip(s, "endpoint without addresses");
	/* the first address only: the API gives the others no meaning, and
	 * kube-proxy forwards to the first */
	return snap__endpoint_at(s, e, json_object_get_string(snap__at(addrs, 0)), family,
				 !ready || json_object_get_boolean(ready), ids, ports, nports);
}

/* The Service ports a slice serves; they are known even without endpoints. */
static int snap__slice_ports(struct snap *s, struct json_object *ports, const char *svc,
			     uint32_t *ids, uint16_t *pnums, size_t *n)
{
	*n = 0;
	if (snap__len(ports) > SNAP_MAX_PORTS) /* the API allows no more */
		snap__skip(s, "more than 100 ports: those after the 100th");
	for (size_t i = 0; i < snap__len(ports) && *n < SNAP_MAX_PORTS; i++) {
		struct json_object *pt = snap__at(ports, i);
		const char *pname = kjson__str(pt, "name");
		struct ksvcport *sp;
		int64_t port;
		uint8_t proto;

		if (kjson__int(pt, "port", 1, 65535, &port) || snap__proto(pt, &proto)) {
			snap__skip(s, "port with a bad port/protocol");
			continue;
		}
		sp = kindex__svcport(s->idx, s->ns, svc, proto, pname ? pname : "", &ids[*n]);
		if (!sp)
			return -ENOMEM;
		sp->ep_origins |= 1u << KO_SNAPSHOT;
		pnums[(*n)++] = (uint16_t)port;
	}
	return 0;
}

/*
 * A slice with no ports and no endpoints: the EndpointSlice controller's
 * for a Service that selects no ready pod (an Endpoints object without
 * subsets says the same).  Every port of Service @svc is then known to have
 * no endpoints, and kube-proxy rejects connections to it, so a translation
 * of one is not kube-proxy's.  Marked once the whole snapshot is read
 * (snap__empty_done()): the Service may come after its slice.
 */
static int snap__slice_empty(struct snap *s, const char *svc)
{
	struct snap_svc *e = KVEC_PUSH(&s->empty);

	if (!e)
		return -ENOMEM;
	e->ns = snap__str(s, s->ns);
	e->name = snap__str(s, svc);
	return e->ns && e->name ? 0 : -ENOMEM;
}

static void snap__empty_done(struct snap *s)
{
	for (uint32_t j = 0; j < s->empty.n; j++)
		for (uint32_t i = 0; i < s->idx->svcports.n; i++) {
			struct ksvcport *sp = &s->idx->svcports.v[i];

			if (sp->ns && sp->name && !strcmp(sp->ns, s->empty.v[j].ns) &&
			    !strcmp(sp->name, s->empty.v[j].name))
				sp->ep_origins |= 1u << KO_SNAPSHOT;
		}
	free(s->empty.v);
}

static int snap__slice(struct snap *s, struct json_object *o)
{
	struct json_object *labels = kjson__get(kjson__get(o, "metadata", json_type_object),
						"labels", json_type_object);
	struct json_object *eps = kjson__get(o, "endpoints", json_type_array);
	const char *svc = kjson__str(labels, "kubernetes.io/service-name");
	const char *type = kjson__str(o, "addressType");
	uint32_t ids[SNAP_MAX_PORTS];
	uint16_t ports[SNAP_MAX_PORTS];
	uint8_t family;
	size_t nports;
	int err;

	if (snap__meta(s, o, true))
		return snap__skip(s, "no metadata.namespace or metadata.name");
	if (!svc || !*svc)
		return snap__skip(s, "no kubernetes.io/service-name label");
	if (!type)
		return snap__skip(s, "no addressType");
	if (!strcmp(type, "IP")) /* v1alpha1 (Kubernetes 1.16): either family */
		family = 0;
	else if (!strcmp(type, "IPv4") || !strcmp(type, "IPv6"))
		family = type[3] == '4' ? AF_INET : AF_INET6;
	else
		return 0; /* FQDN */
	err = snap__slice_ports(s, kjson__get(o, "ports", json_type_array), svc, ids, ports,
				&nports);
	if (!err && !nports && !snap__len(eps))
		err = snap__slice_empty(s, svc);
	for (size_t i = 0; i < snap__len(eps) && !err; i++)
		err = snap__slice_endpoint(s, snap__at(eps, i), family, ids, ports, nports);
	return err;
}

/* One subset of an Endpoints object: its addresses, each on its ports. */
static int snap__ep_subset(struct snap *s, struct json_object *sub)
{
	uint32_t ids[SNAP_MAX_PORTS];
	uint16_t ports[SNAP_MAX_PORTS];
	size_t nports;
	int err = snap__slice_ports(s, kjson__get(sub, "ports", json_type_array), s->name, ids,
				    ports, &nports);

	for (int ready = 1; ready >= 0 && !err; ready--) {
		struct json_object *addrs =
			kjson__get(sub, ready ? "addresses" : "notReadyAddresses", json_type_array);

		for (size_t i = 0; i < snap__len(addrs) && !err; i++) {
			struct json_object *e = snap__at(addrs, i);

			err = snap__endpoint_at(s, e, kjson__str(e, "ip"), 0, ready, ids, ports,
						nports);
		}
	}
	return err;
}

/*
 * v1 Endpoints, named as its Service.  Without subsets, the Service selects
 * no ready pod (as an empty slice says); an Endpoints object of no Service
 * (old leader election records) has none either and adds nothing.
 */
static int snap__endpoints(struct snap *s, struct json_object *o)
{
	struct json_object *subsets = kjson__get(o, "subsets", json_type_array);
	int err = 0;

	if (snap__meta(s, o, true))
		return snap__skip(s, "no metadata.namespace or metadata.name");
	if (!snap__len(subsets))
		err = snap__slice_empty(s, s->name);
	for (size_t i = 0; i < snap__len(subsets) && !err; i++)
		err = snap__ep_subset(s, snap__at(subsets, i));
	return err;
}

static int snap__object(struct snap *s, struct json_object *o)
{
	s->kind = kjson__str(o, "kind");
	s->ns = s->name = NULL;
	if (!s->kind) {
		s->kind = "object";
		return snap__skip(s, "no \"kind\"");
	}
	if (!strcmp(s->kind, "Pod"))
		return snap__pod(s, o);
	if (!strcmp(s->kind, "Service"))
		return snap__svc(s, o);
	if (!strcmp(s->kind, "EndpointSlice"))
		return snap__slice(s, o);
	if (!strcmp(s->kind, "Endpoints"))
		return snap__endpoints(s, o);
	s->idx->ignored_objects++;
	return 0;
}

/* kjson__each_item()'s: one item of the List. */
static int snap__item(void *ctx, struct json_object *o)
{
	struct snap *s = ctx;
	int err = snap__object(s, o);

	s->item++;
	return err;
}

/* The document parsed whole: a single object, or a List that
 * kjson__each_item() left (json-c's extensions). */
static int snap__parse_whole(struct snap *s, const char *data, size_t len, char *errbuf,
			     size_t errlen)
{
	struct kindex *idx = s->idx;
	struct json_object *root, *items;
	const char *kind;
	int err = kjson__parse(idx, data, len, &root, errbuf, errlen);

	if (err)
		return err;
	kind = kjson__str(root, "kind");
	items = kjson__get(root, "items", json_type_array);
	if (kjson__is_list(kind) && items) {
		for (s->item = 0; s->item < snap__len(items) && !err; s->item++)
			err = snap__object(s, snap__at(items, s->item));
	} else if (kind && (!strcmp(kind, "Pod") || !strcmp(kind, "Service") ||
			    !strcmp(kind, "EndpointSlice") || !strcmp(kind, "Endpoints"))) {
		err = snap__object(s, root);
	} else if (kjson__is_list(kind)) {
		snprintf(errbuf, errlen, "%s: not a kubectl snapshot: a %s whose \"items\" is %s",
			 idx->src_name, kind,
			 json_object_object_get_ex(root, "items", NULL) ? "not an array" : "missing");
		err = -EINVAL;
	} else {
		snprintf(errbuf, errlen,
			 "%s: not a kubectl snapshot: expected a List (kubectl get pods,services,"
			 "endpointslices -A -o json), a Pod, Service, EndpointSlice or Endpoints; "
			 "got %s%s%s",
			 idx->src_name, kind ? "kind \"" : "no \"kind\"", kind ? kind : "",
			 kind ? "\"" : "");
		err = -EINVAL;
	}
	json_object_put(root);
	return err;
}

int k8s_snapshot__parse(struct kindex *idx, const char *data, size_t len, char *errbuf,
			size_t errlen)
{
	struct snap s = { .idx = idx };
	char list_kind[64];
	int err;

	if (len >= 3 && !memcmp(data, "\xef\xbb\xbf", 3)) { /* a UTF-8 BOM (PowerShell's) */
		data += 3;
		len -= 3;
	}
	err = kjson__each_item(idx, data, len, snap__item, &s, list_kind, sizeof(list_kind), errbuf,
			       errlen);

	if (err == KJSON_WHOLE)
		err = snap__parse_whole(&s, data, len, errbuf, errlen);
	snap__empty_done(&s);
	if (err && !errbuf[0])
		snprintf(errbuf, errlen, "%s: %s", idx->src_name, strerror(-err));
	return err;
}
