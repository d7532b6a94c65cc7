// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* kindex parsers, one source format at a time, from the real formats in
 * tests/fixtures/k8s/ and from older releases' layouts inline. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "k8s_test.h"
#include "k8s_int.h"

#define SANDBOX_B "9ab3c7e1f4d25b8a6c0e1d2f3a4b5c6d7e8f90123456789abcdef0123456789a"
#define SANDBOX_DBG "5e1f0c2d3b4a59687766554433221100ffeeddccbbaa99887766554433221100"

static const struct kvip *find_vip(const struct kindex *idx, int family, const char *addr,
				   uint8_t proto, uint16_t port)
{
	uint8_t a[16];
	struct kkey k;

	kt_addr(family, addr, a);
	kkey__set(&k, family, a, proto, port);
	return kindex__vip(idx, &k);
}

static const struct ksvcport *vip_svc(const struct kindex *idx, const struct kvip *v)
{
	assert_non_null(v);
	return &idx->svcports.v[v->svcport];
}

static bool has_ep(const struct kindex *idx, const struct kvip *v, int family, const char *addr,
		   uint16_t port, uint8_t origin)
{
	uint8_t a[16];
	struct kkey k;

	kt_addr(family, addr, a);
	kkey__set(&k, family, a, v->key.proto, port);
	k.aux = v->svcport + 1;
	for (uint32_t i = ktab__find(&idx->t_eps, &k); i != KNONE; i = ktab__next(&idx->t_eps, i))
		if (idx->eps.v[i].origin == origin)
			return true;
	return false;
}

static const struct khostport *find_hostport(const struct kindex *idx, int family,
					     uint16_t port, uint8_t origin)
{
	for (uint32_t i = 0; i < idx->hostports.n; i++) {
		const struct khostport *hp = &idx->hostports.v[i];

		if (hp->key.family == family && hp->key.port == port && hp->origin == origin)
			return hp;
	}
	return NULL;
}

/* --pod of a static pod: its cgroup is named by the config hash its API
 * mirror carries as an annotation, not by the mirror's metadata.uid. */
static void test_static_pod_uid(void **state)
{
	struct kindex *idx = kindex__new();
	const char *uid, *node;

	(void)state;
	kt_add_str_ok(idx, KSRC_SNAPSHOT,
		      "{\"kind\": \"List\", \"items\": ["
		      "{\"kind\": \"Pod\", \"metadata\": {\"namespace\": \"kube-system\", "
		      "\"name\": \"etcd-node-1\", \"uid\": \"0f4c2a9e-7d3b-4c6e-9f0a-1b2c3d4e5f60\", "
		      "\"annotations\": {\"kubernetes.io/config.mirror\": "
		      "\"8f6a2b0c9d1e4f5a6b7c8d9e0f1a2b3c\"}}, \"spec\": {\"nodeName\": \"node-1\"}, "
		      "\"status\": {\"podIP\": \"192.168.56.11\"}},"
		      "{\"kind\": \"Pod\", \"metadata\": {\"namespace\": \"a\", \"name\": \"p\", "
		      "\"uid\": \"1f4c2a9e-7d3b-4c6e-9f0a-1b2c3d4e5f60\"}, \"spec\": {}, "
		      "\"status\": {\"podIP\": \"10.224.0.5\"}}]}");
	assert_int_equal(kindex__pod_uid(idx, "kube-system", "etcd-node-1", &uid, &node), 0);
	assert_string_equal(uid, "8f6a2b0c9d1e4f5a6b7c8d9e0f1a2b3c");
	assert_string_equal(node, "node-1");
	assert_int_equal(kindex__pod_uid(idx, "a", "p", &uid, &node), 0);
	assert_string_equal(uid, "1f4c2a9e-7d3b-4c6e-9f0a-1b2c3d4e5f60");
	kindex__free(idx);
}

static void test_iptables_kube_proxy(void **state)
{
	struct kindex *idx = kindex__new();
	const struct kvip *v;
	struct kindex_stats st;

	(void)state;
	kt_add_ok(idx, KSRC_IPTABLES_SAVE, "iptables-save.txt");
	kindex__stats(idx, &st);
	assert_int_equal(st.svcports, 7);
	assert_int_equal(st.vips, 9);
	assert_int_equal(st.nodeports, 1);
	assert_int_equal(st.endpoints, 10);
	assert_int_equal(st.skipped_rules, 0);
	v = find_vip(idx, AF_INET, "10.96.0.20", IPPROTO_TCP, 3306);
	assert_int_equal(v->kind, K8S_KIND_CLUSTER_IP);
	assert_string_equal(vip_svc(idx, v)->ns, "a");
	assert_string_equal(vip_svc(idx, v)->name, "mysql-a");
	assert_string_equal(vip_svc(idx, v)->port_name, "mysql");
	assert_string_equal(v->chain, "KUBE-SVC-VXJIGVIU5VEEI2QQ");
	assert_true(has_ep(idx, v, AF_INET, "10.224.1.5", 3306, KO_IPTABLES));
	assert_false(has_ep(idx, v, AF_INET, "10.224.0.222", 3306, KO_IPTABLES));
	/* statistic-split endpoints of kube-dns, UDP */
	v = find_vip(idx, AF_INET, "10.96.0.10", IPPROTO_UDP, 53);
	assert_true(has_ep(idx, v, AF_INET, "10.224.0.2", 53, KO_IPTABLES));
	assert_true(has_ep(idx, v, AF_INET, "10.224.1.2", 53, KO_IPTABLES));
	/* external and load-balancer IPs through KUBE-EXT-* */
	v = find_vip(idx, AF_INET, "192.168.56.100", IPPROTO_TCP, 80);
	assert_int_equal(v->kind, K8S_KIND_EXTERNAL_IP);
	assert_string_equal(v->chain, "KUBE-EXT-CDGGSHYLG3RE2FKL");
	assert_true(has_ep(idx, v, AF_INET, "10.224.0.7", 8080, KO_IPTABLES));
	v = find_vip(idx, AF_INET, "203.0.113.10", IPPROTO_TCP, 80);
	assert_int_equal(v->kind, K8S_KIND_LB_IP);
	assert_int_equal(idx->svcports.v[v->svcport].node_port, 30080);
	/* kube-proxy's hooks: iptables mode, second rule of PREROUTING and OUTPUT */
	assert_int_equal(idx->kubes.n, 2);
	assert_int_equal(idx->kubes.v[0].mode, KMODE_IPTABLES);
	assert_int_equal(idx->kubes.v[0].pos, 1);
	assert_true(idx->kubes.v[0].claims & (1u << K8S_KIND_NODE_PORT));
	kindex__free(idx);
}

static void test_iptables_portmap(void **state)
{
	struct kindex *idx = kindex__new();
	const struct khostport *hp;
	const struct krule *r;

	(void)state;
	kt_add_ok(idx, KSRC_IPTABLES_SAVE, "iptables-save.txt");
	assert_int_equal(idx->hostports.n, 2);
	hp = find_hostport(idx, AF_INET, 3306, KO_IPTABLES);
	assert_non_null(hp);
	assert_string_equal(hp->chain, "CNI-DN-b9f77ce9929d8b97cf089");
	assert_string_equal(hp->sandbox, SANDBOX_B);
	assert_string_equal(hp->net, "cbr0");
	assert_int_equal(hp->to_port, 3306);
	assert_int_equal(hp->host_ip.family, 0);
	assert_true(hp->reach[KHOOK_PREROUTING].reached);
	assert_true(hp->reach[KHOOK_PREROUTING].local_only);
	assert_int_equal(hp->reach[KHOOK_PREROUTING].pos, 0);
	assert_true(hp->reach[KHOOK_OUTPUT].reached);
	assert_true(idx->portmap_first[0]);
	/* the pod comes from the snapshot, once there is one */
	assert_null(hp->pod_name);
	kt_add_ok(idx, KSRC_SNAPSHOT, "snapshot.json");
	hp = find_hostport(idx, AF_INET, 3306, KO_IPTABLES);
	assert_string_equal(hp->pod_ns, "b");
	assert_string_equal(hp->pod_name, "mysql-b-0");
	/* docker's DNAT is "another rule", reached from PREROUTING rule 3 */
	assert_int_equal(idx->rules.n, 1);
	r = &idx->rules.v[0];
	assert_string_equal(r->chain, "DOCKER");
	assert_int_equal(r->key.port, 8080);
	assert_int_equal(r->to_port_lo, 80);
	assert_int_equal(r->reach[KHOOK_PREROUTING].pos, 2);
	kindex__free(idx);
}

static void test_ip6tables(void **state)
{
	struct kindex *idx = kindex__new();
	const struct khostport *hp;
	const struct kvip *v;

	(void)state;
	kt_add_ok(idx, KSRC_IP6TABLES_SAVE, "ip6tables-save.txt");
	v = find_vip(idx, AF_INET6, "fd00:10:96::30", IPPROTO_TCP, 80);
	assert_non_null(v);
	assert_true(has_ep(idx, v, AF_INET6, "fd00:10:224::7", 8080, KO_IPTABLES));
	hp = find_hostport(idx, AF_INET6, 30080, KO_IPTABLES);
	assert_non_null(hp);
	assert_int_equal(hp->to.family, AF_INET6);
	assert_int_equal(hp->to_port, 80);
	assert_string_equal(hp->sandbox, SANDBOX_DBG);
	assert_int_equal(idx->nodeports.n, 1);
	assert_int_equal(idx->nodeports.v[0].key.family, AF_INET6);
	kindex__free(idx);
}

/* kube-proxy v1.15 layout: /32 destinations, "ns/svc:" for unnamed ports,
 * statistic before the jump, NodePorts straight to KUBE-SVC, KUBE-XLB, and a
 * DNAT without a port; comments unquoted. */
static const char old_kube_proxy[] =
	"*nat\n"
	":PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
	":KUBE-SERVICES - [0:0]\n:KUBE-NODEPORTS - [0:0]\n"
	":KUBE-SVC-X - [0:0]\n:KUBE-SEP-1 - [0:0]\n:KUBE-SEP-2 - [0:0]\n"
	":KUBE-SVC-Y - [0:0]\n:KUBE-XLB-Y - [0:0]\n:KUBE-SEP-3 - [0:0]\n"
	"-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n"
	"-A OUTPUT -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n"
	"-A KUBE-NODEPORTS -p tcp -m comment --comment \"default/nginx:\" -m tcp --dport 30081 "
	"-j KUBE-MARK-MASQ\n"
	"-A KUBE-NODEPORTS -p tcp -m comment --comment \"default/nginx:\" -m tcp --dport 30081 "
	"-j KUBE-XLB-Y\n"
	"-A KUBE-SEP-1 -s 10.224.1.5/32 -m comment --comment \"a/mysql-a:mysql\" -j "
	"KUBE-MARK-MASQ\n"
	"-A KUBE-SEP-1 -p tcp -m comment --comment \"a/mysql-a:mysql\" -m tcp -j DNAT "
	"--to-destination 10.224.1.5:3306\n"
	"-A KUBE-SEP-2 -p tcp -m comment --comment \"a/mysql-a:mysql\" -m tcp -j DNAT "
	"--to-destination 10.224.1.6\n"
	"-A KUBE-SEP-3 -p tcp -m comment --comment \"default/nginx:\" -m tcp -j DNAT "
	"--to-destination 10.224.0.8:80\n"
	"-A KUBE-SERVICES ! -s 10.224.0.0/16 -d 10.96.0.20/32 -p tcp -m comment --comment "
	"\"a/mysql-a:mysql cluster IP\" -m tcp --dport 3306 -j KUBE-MARK-MASQ\n"
	"-A KUBE-SERVICES -d 10.96.0.20/32 -p tcp -m comment --comment \"a/mysql-a:mysql cluster "
	"IP\" -m tcp --dport 3306 -j KUBE-SVC-X\n"
	"-A KUBE-SERVICES -d 10.96.0.50/32 -p tcp -m comment --comment \"default/nginx: cluster "
	"IP\" -m tcp --dport 80 -j KUBE-SVC-Y\n"
	"-A KUBE-SERVICES -m comment --comment \"kubernetes service nodeports; NOTE: this must be "
	"the last rule in this chain\" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS\n"
	"-A KUBE-SVC-X -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-1\n"
	"-A KUBE-SVC-X -j KUBE-SEP-2\n"
	"-A KUBE-SVC-Y -j KUBE-SEP-3\n"
	"-A KUBE-XLB-Y -m comment --comment \"Balancing rule 0 for default/nginx:\" -j KUBE-SEP-3\n"
	"COMMIT\n";

static void test_iptables_old_layout(void **state)
{
	struct kindex *idx = kindex__new();
	const struct kvip *v;

	(void)state;
	kt_add_str_ok(idx, KSRC_IPTABLES_SAVE, old_kube_proxy);
	v = find_vip(idx, AF_INET, "10.96.0.20", IPPROTO_TCP, 3306);
	assert_string_equal(vip_svc(idx, v)->name, "mysql-a");
	assert_true(has_ep(idx, v, AF_INET, "10.224.1.5", 3306, KO_IPTABLES));
	/* no port in --to-destination: the Service port */
	assert_true(has_ep(idx, v, AF_INET, "10.224.1.6", 3306, KO_IPTABLES));
	v = find_vip(idx, AF_INET, "10.96.0.50", IPPROTO_TCP, 80);
	assert_string_equal(vip_svc(idx, v)->name, "nginx");
	assert_string_equal(vip_svc(idx, v)->port_name, "");
	assert_int_equal(vip_svc(idx, v)->node_port, 30081);
	assert_string_equal(idx->nodeports.v[0].chain, "KUBE-XLB-Y");
	kindex__free(idx);
}

/* `iptables -t nat -S`: the same rules without table lines. */
static void test_iptables_dash_S(void **state)
{
	struct kindex *idx = kindex__new();

	(void)state;
	kt_add_str_ok(idx, KSRC_IPTABLES_SAVE,
		      "-P PREROUTING ACCEPT\n-N CNI-HOSTPORT-DNAT\n-N CNI-DN-1\n"
		      "-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT\n"
		      "-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment \"dnat name: \\\"cbr0\\\" "
		      "id: \\\"abc\\\"\" -m multiport --dports 8080 -j CNI-DN-1\n"
		      "-A CNI-DN-1 -d 192.168.56.12/32 -p tcp -m tcp --dport 8080 -j DNAT "
		      "--to-destination 10.224.0.9:80\n");
	assert_int_equal(idx->hostports.n, 1);
	assert_string_equal(idx->hostports.v[0].sandbox, "abc");
	assert_int_equal(idx->hostports.v[0].host_ip.family, AF_INET);
	kindex__free(idx);
}

static void test_nft_kube_proxy(void **state)
{
	struct kindex *idx = kindex__new();
	struct kindex_stats st;
	const struct kvip *v;

	(void)state;
	kt_add_ok(idx, KSRC_NFT_JSON, "nft-kube-proxy.json");
	kindex__stats(idx, &st);
	assert_int_equal(st.vips, 7);
	assert_int_equal(st.nodeports, 2);
	assert_int_equal(st.endpoints, 6);
	assert_int_equal(st.local_addrs, 2); /* nodeport-ips */
	assert_int_equal(st.skipped_rules, 0);
	v = find_vip(idx, AF_INET, "10.96.0.20", IPPROTO_TCP, 3306);
	assert_string_equal(vip_svc(idx, v)->ns, "a");
	assert_string_equal(vip_svc(idx, v)->port_name, "mysql");
	assert_string_equal(v->table, "kube-proxy");
	assert_string_equal(v->chain, "service-OPGGR5VV-a/mysql-a/tcp/mysql");
	assert_true(has_ep(idx, v, AF_INET, "10.224.1.5", 3306, KO_NFT));
	v = find_vip(idx, AF_INET, "10.96.0.10", IPPROTO_UDP, 53);
	assert_true(has_ep(idx, v, AF_INET, "10.224.0.2", 53, KO_NFT));
	assert_true(has_ep(idx, v, AF_INET, "10.224.1.2", 53, KO_NFT));
	/* external-* chain: an externalIP or LB IP, endpoints through goto service-* */
	v = find_vip(idx, AF_INET, "203.0.113.10", IPPROTO_TCP, 80);
	assert_int_equal(v->kind, K8S_KIND_EXTERNAL_IP);
	assert_true(has_ep(idx, v, AF_INET, "10.224.0.7", 8080, KO_NFT));
	v = find_vip(idx, AF_INET6, "fd00:10:96::30", IPPROTO_TCP, 80);
	assert_true(has_ep(idx, v, AF_INET6, "fd00:10:224::7", 8080, KO_NFT));
	assert_int_equal(idx->kubes.n, 4);
	assert_int_equal(idx->kubes.v[0].mode, KMODE_NFT);
	assert_int_equal(idx->kubes.v[0].prio, -100);
	kindex__free(idx);
}

static void test_nft_cni_hostport(void **state)
{
	struct kindex *idx = kindex__new();
	const struct khostport *hp;

	(void)state;
	kt_add_ok(idx, KSRC_NFT_JSON, "nft-cni-hostport.json");
	assert_int_equal(idx->hostports.n, 3);
	hp = find_hostport(idx, AF_INET, 3306, KO_NFT);
	assert_non_null(hp);
	assert_string_equal(hp->table, "cni_hostport");
	assert_string_equal(hp->chain, "hostports");
	assert_string_equal(hp->sandbox, SANDBOX_B);
	assert_string_equal(hp->text, "tcp dport 3306 dnat to 10.224.0.222:3306 comment \""
				      SANDBOX_B "\"");
	/* prerouting jumps without fib, output with "fib daddr type local" */
	assert_true(hp->reach[KHOOK_PREROUTING].reached);
	assert_false(hp->reach[KHOOK_PREROUTING].local_only);
	assert_true(hp->reach[KHOOK_OUTPUT].local_only);
	hp = find_hostport(idx, AF_INET6, 30080, KO_NFT);
	assert_non_null(hp);
	assert_int_equal(hp->to_port, 80);
	kindex__free(idx);
}

/* plugins >= v1.9: hostports_all, behind "fib daddr type local" in both hooks;
 * a host IP rule; an iptables-nft table, which must be skipped. */
static const char nft_portmap_v19[] =
	"{\"nftables\": [{\"metainfo\": {\"json_schema_version\": 1}},"
	"{\"table\": {\"family\": \"ip\", \"name\": \"cni_hostport\", \"handle\": 1}},"
	"{\"table\": {\"family\": \"ip\", \"name\": \"nat\", \"handle\": 2}},"
	"{\"chain\": {\"family\": \"ip\", \"table\": \"cni_hostport\", \"name\": \"hostports\"}},"
	"{\"chain\": {\"family\": \"ip\", \"table\": \"cni_hostport\", \"name\": "
	"\"hostports_all\"}},"
	"{\"chain\": {\"family\": \"ip\", \"table\": \"cni_hostport\", \"name\": \"prerouting\","
	" \"type\": \"nat\", \"hook\": \"prerouting\", \"prio\": -100, \"policy\": \"accept\"}},"
	"{\"chain\": {\"family\": \"ip\", \"table\": \"nat\", \"name\": \"PREROUTING\","
	" \"type\": \"nat\", \"hook\": \"prerouting\", \"prio\": -100, \"policy\": \"accept\"}},"
	"{\"rule\": {\"family\": \"ip\", \"table\": \"cni_hostport\", \"chain\": \"hostports\","
	" \"comment\": \"sb1\", \"expr\": [{\"match\": {\"op\": \"==\", \"left\": {\"payload\":"
	" {\"protocol\": \"ip\", \"field\": \"daddr\"}}, \"right\": \"192.168.56.12\"}},"
	" {\"match\": {\"op\": \"==\", \"left\": {\"payload\": {\"protocol\": \"tcp\", \"field\":"
	" \"dport\"}}, \"right\": 8443}}, {\"dnat\": {\"addr\": \"10.224.0.9\", \"port\": 443}}]}},"
	"{\"rule\": {\"family\": \"ip\", \"table\": \"cni_hostport\", \"chain\": \"hostports_all\","
	" \"expr\": [{\"jump\": {\"target\": \"hostports\"}}]}},"
	"{\"rule\": {\"family\": \"ip\", \"table\": \"cni_hostport\", \"chain\": \"prerouting\","
	" \"expr\": [{\"match\": {\"op\": \"==\", \"left\": {\"fib\": {\"result\": \"type\","
	" \"flags\": [\"daddr\"]}}, \"right\": \"local\"}}, {\"jump\": {\"target\":"
	" \"hostports_all\"}}]}},"
	"{\"rule\": {\"family\": \"ip\", \"table\": \"nat\", \"chain\": \"PREROUTING\", \"expr\":"
	" [{\"match\": {\"op\": \"==\", \"left\": {\"payload\": {\"protocol\": \"tcp\", \"field\":"
	" \"dport\"}}, \"right\": 9999}}, {\"xt\": {\"type\": \"target\", \"name\": \"DNAT\"}}]}}"
	"]}";

static void test_nft_portmap_v19(void **state)
{
	struct kindex *idx = kindex__new();
	const struct khostport *hp;

	(void)state;
	kt_add_str_ok(idx, KSRC_NFT_JSON, nft_portmap_v19);
	assert_int_equal(idx->hostports.n, 1);
	assert_int_equal(idx->rules.n, 0); /* iptables-nft's table is skipped */
	hp = &idx->hostports.v[0];
	assert_string_equal(hp->sandbox, "sb1");
	assert_int_equal(hp->host_ip.family, AF_INET);
	assert_true(hp->reach[KHOOK_PREROUTING].reached);
	assert_true(hp->reach[KHOOK_PREROUTING].local_only);
	kindex__free(idx);
}

/* Other dnat/redirect rules of native nftables tables. */
static void test_nft_other_rules(void **state)
{
	struct kindex *idx = kindex__new();

	(void)state;
	kt_add_str_ok(idx, KSRC_NFT_JSON,
		      "{\"nftables\": [{\"table\": {\"family\": \"inet\", \"name\": \"proxy\"}},"
		      "{\"chain\": {\"family\": \"inet\", \"table\": \"proxy\", \"name\": \"pre\","
		      " \"type\": \"nat\", \"hook\": \"prerouting\", \"prio\": -150}},"
		      "{\"rule\": {\"family\": \"inet\", \"table\": \"proxy\", \"chain\": \"pre\","
		      " \"expr\": [{\"match\": {\"op\": \"==\", \"left\": {\"payload\": "
		      "{\"protocol\": \"tcp\", \"field\": \"dport\"}}, \"right\": "
		      "{\"set\": [80, 443]}}},"
		      " {\"redirect\": {\"port\": 15001}}]}},"
		      "{\"rule\": {\"family\": \"inet\", \"table\": \"proxy\", \"chain\": \"pre\","
		      " \"expr\": [{\"dnat\": {\"family\": \"ip\", \"addr\": \"10.0.0.9\"}}]}}]}");
	/* redirect: 2 ports x 2 families; dnat: one IPv4 rule */
	assert_int_equal(idx->rules.n, 5);
	assert_true(idx->rules.v[0].redirect);
	assert_int_equal(idx->rules.v[0].reach[KHOOK_PREROUTING].prio, -150);
	assert_string_equal(idx->rules.v[0].text,
			    "tcp dport {\"set\":[80,443]} redirect to :15001");
	assert_int_equal(idx->rules.v[4].to.family, AF_INET);
	kindex__free(idx);
}

static void test_ipset(void **state)
{
	struct kindex *idx = kindex__new();
	struct kindex_stats st;
	const struct kvip *v;

	(void)state;
	kt_add_ok(idx, KSRC_IPSET_SAVE, "ipset-save.txt");
	kindex__stats(idx, &st);
	assert_int_equal(st.vips, 10);
	assert_int_equal(st.nodeports, 1);
	assert_int_equal(st.skipped_rules, 0);
	v = find_vip(idx, AF_INET, "10.96.0.20", IPPROTO_TCP, 3306);
	assert_int_equal(v->origin, KO_IPSET);
	assert_null(vip_svc(idx, v)->name);
	assert_int_equal(find_vip(idx, AF_INET, "203.0.113.10", IPPROTO_TCP, 80)->kind,
			 K8S_KIND_LB_IP);
	assert_non_null(find_vip(idx, AF_INET6, "fd00:10:96::30", IPPROTO_TCP, 80));
	assert_true(idx->ipvs[0]);
	kindex__free(idx);
}

static void test_iptables_ipvs(void **state)
{
	struct kindex *idx = kindex__new();

	(void)state;
	kt_add_ok(idx, KSRC_IPTABLES_SAVE, "iptables-save-ipvs.txt");
	assert_int_equal(idx->kubes.n, 2);
	assert_int_equal(idx->kubes.v[0].mode, KMODE_IPVS);
	assert_true(idx->kubes.v[0].claims & (1u << K8S_KIND_CLUSTER_IP));
	assert_true(idx->kubes.v[0].claims & (1u << K8S_KIND_LB_IP));
	assert_false(idx->kubes.v[0].claims & (1u << K8S_KIND_NODE_PORT));
	assert_int_equal(idx->hostports.n, 2);
	assert_int_equal(idx->vips.n, 0);
	kindex__free(idx);
}

static bool is_local(const struct kindex *idx, int family, const char *addr, const char *ifname)
{
	const char *got;
	struct kkey k;
	uint8_t a[16];

	kt_addr(family, addr, a);
	kkey__set(&k, family, a, 0, 0);
	if (!kindex__is_local(idx, &k, &got))
		return false;
	return !ifname || (got && !strcmp(got, ifname));
}

static void test_local_addrs(void **state)
{
	struct kindex *idx = kindex__new();

	(void)state;
	kt_add_ok(idx, KSRC_LOCAL_ADDRS, "ip-addr-ipvs.txt");
	assert_int_equal(idx->locals.n, 11);
	assert_true(is_local(idx, AF_INET, "10.96.0.20", "kube-ipvs0"));
	assert_true(is_local(idx, AF_INET, "192.168.56.12", "eth0"));
	assert_true(is_local(idx, AF_INET6, "::1", "lo"));
	kindex__free(idx);
	idx = kindex__new();
	kt_add_ok(idx, KSRC_LOCAL_ADDRS, "local-addrs.txt");
	assert_int_equal(idx->locals.n, 6);
	assert_true(is_local(idx, AF_INET, "10.96.0.21", "kube-ipvs0"));
	assert_true(is_local(idx, AF_INET6, "fd00:56::12", "eth0"));
	assert_false(is_local(idx, AF_INET, "10.96.0.30", NULL));
	kindex__free(idx);
}

static void test_snapshot(void **state)
{
	struct kindex *idx = kindex__new();
	struct kindex_stats st;
	const struct kvip *v;

	(void)state;
	kt_add_ok(idx, KSRC_SNAPSHOT, "snapshot.json");
	kindex__stats(idx, &st);
	assert_int_equal(st.pods, 11); /* the Succeeded job pod owns no IP any more */
	assert_int_equal(st.svcports, 8);
	assert_int_equal(st.vips, 11);
	assert_int_equal(st.nodeports, 2);
	assert_int_equal(st.endpoints, 15);
	assert_int_equal(st.hostports, 3); /* mysql-b-0 (v4), debug-0 (v4, v6) */
	assert_int_equal(st.skipped_objects, 0);
	assert_int_equal(st.ignored_objects, 0);
	v = find_vip(idx, AF_INET6, "fd00:10:96::30", IPPROTO_TCP, 80);
	assert_string_equal(vip_svc(idx, v)->name, "web");
	assert_true(has_ep(idx, v, AF_INET6, "fd00:10:224::7", 8080, KO_SNAPSHOT));
	assert_true(has_ep(idx, v, AF_INET6, "fd00:10:224:1::8", 8080, KO_SNAPSHOT));
	assert_int_equal(find_vip(idx, AF_INET, "203.0.113.10", IPPROTO_TCP, 80)->kind,
			 K8S_KIND_LB_IP);
	assert_int_equal(idx->podports.n, 3); /* hostNetwork pods' container ports */
	kindex__free(idx);
}

static void test_source_kinds(void **state)
{
	enum ksrc_kind k;

	(void)state;
	for (int i = 0; i < KSRC_KIND_MAX; i++) {
		assert_int_equal(ksrc_kind__parse(ksrc_kind__str(i), &k), 0);
		assert_int_equal(k, i);
	}
	assert_int_equal(ksrc_kind__parse("iptables", &k), -EINVAL);
	assert_string_equal(ksrc_kind__str(KSRC_NFT_JSON), "nft-json");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_static_pod_uid),
		cmocka_unit_test(test_iptables_kube_proxy),
		cmocka_unit_test(test_iptables_portmap),
		cmocka_unit_test(test_ip6tables),
		cmocka_unit_test(test_iptables_old_layout),
		cmocka_unit_test(test_iptables_dash_S),
		cmocka_unit_test(test_nft_kube_proxy),
		cmocka_unit_test(test_nft_cni_hostport),
		cmocka_unit_test(test_nft_portmap_v19),
		cmocka_unit_test(test_nft_other_rules),
		cmocka_unit_test(test_ipset),
		cmocka_unit_test(test_iptables_ipvs),
		cmocka_unit_test(test_local_addrs),
		cmocka_unit_test(test_snapshot),
		cmocka_unit_test(test_source_kinds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
