// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* kindex__audit(): which hostPort/DNAT rules shadow Service addresses on
 * node-2, and why, in each kube-proxy mode and rule order. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <json-c/json.h>
#include "k8s_test.h"
#include "k8s_int.h"

struct report {
	char *buf;
	size_t len;
	int findings;
	uint32_t rules; /* how many rules the findings are of */
};

static void audit(const struct kindex *idx, enum out_mode mode, struct report *r)
{
	FILE *f = open_memstream(&r->buf, &r->len);
	struct out o;

	assert_non_null(f);
	out__init(&o, f, mode);
	r->findings = kindex__audit(idx, &o, &r->rules);
	fclose(f);
}

/* The snapshot's cluster with one more source of rules. */
static struct kindex *snapshot_and(enum ksrc_kind kind, const char *rules)
{
	struct kindex *idx = kindex__new();

	kt_add_ok(idx, KSRC_SNAPSHOT, "snapshot.json");
	kt_add_str_ok(idx, kind, rules);
	return idx;
}

/* The audit, as text, of the snapshot's cluster with one more source of
 * rules: into @r. */
static void audit_of(enum ksrc_kind kind, const char *rules, struct report *r)
{
	struct kindex *idx = snapshot_and(kind, rules);

	audit(idx, OUT_TEXT, r);
	kindex__free(idx);
}

static int count_lines(const char *s, const char *needle)
{
	int n = 0;

	for (const char *p = s; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/* iptables mode, the e2e's setup: ClusterIP 10.96.0.20 on lo, portmap ahead. */
static void test_iptables_local_clusterip(void **state)
{
	struct kindex *idx = kt_iptables_node(true);
	struct report r;

	(void)state;
	kt_add_ok(idx, KSRC_LOCAL_ADDRS, "ip-addr.txt");
	audit(idx, OUT_TEXT, &r);
	assert_int_equal(r.findings, 3);
	assert_int_equal(count_lines(r.buf, "SHADOW "), 3);
	assert_non_null(strstr(r.buf,
		"SHADOW hostPort tcp/3306 -> 10.224.0.222:3306 (pod b/mysql-b-0, table nat chain "
		"CNI-DN-b9f77ce9929d8b97cf089, sandbox 9ab3c7e1f4d2) shadows Service "
		"a/mysql-a:3306 ClusterIP 10.96.0.20:3306: prerouting: in table nat chain "
		"PREROUTING, rule 1 `-A PREROUTING -m addrtype --dst-type LOCAL -j "
		"CNI-HOSTPORT-DNAT` comes before kube-proxy's rule 2 `-A PREROUTING -m comment "
		"--comment \"kubernetes service portals\" -j KUBE-SERVICES`; it matches only "
		"local destinations (-m addrtype --dst-type LOCAL) and it is a local address (on "
		"lo)\n"));
	assert_non_null(strstr(r.buf, "hostPort tcp/30080 -> 10.224.0.30:80 (pod default/debug-0"));
	assert_non_null(strstr(r.buf, "shadows NodePort tcp/30080 of Service default/web:80"));
	assert_non_null(strstr(r.buf, "hostPort tcp/30080 -> [fd00:10:224::30]:80"));
	free(r.buf);
	kindex__free(idx);
}

/* Without a local ClusterIP, addrtype LOCAL keeps portmap off ClusterIPs:
 * only the NodePort (a node address) is taken. */
static void test_iptables_nodeport_only(void **state)
{
	struct kindex *idx = kt_iptables_node(true);
	struct report r;

	(void)state;
	audit(idx, OUT_TEXT, &r);
	assert_int_equal(r.findings, 2);
	assert_null(strstr(r.buf, "ClusterIP"));
	free(r.buf);
	kindex__free(idx);
}

/*
 * kube-proxy's iptables mode with nodePortAddresses (`-d ADDR -j
 * KUBE-NODEPORTS` per address): a hostPort rule for the node's cni0
 * address alone takes no NodePort, where with every local address serving
 * NodePorts (--dst-type LOCAL) it takes web's.
 */
static void test_iptables_nodeport_addresses(void **state)
{
	static const char dn[] = "-A CNI-DN-04d9418aabfd632f04e59 -p tcp";
	size_t len;
	char *save = kt_fixture("iptables-save.txt", &len);
	char *cni0 = replaced(save, dn, "-A CNI-DN-04d9418aabfd632f04e59 -d 10.224.0.1/32 -p tcp");
	char *scoped = replaced(cni0, "-m addrtype --dst-type LOCAL -j KUBE-NODEPORTS",
				"-d 192.168.56.12/32 -j KUBE-NODEPORTS");
	struct kindex *idx;
	struct report r;

	(void)state;
	assert_int_equal(count_lines(save, dn), 1);
	for (int with = 0; with < 2; with++) {
		idx = snapshot_and(KSRC_IPTABLES_SAVE, with ? scoped : cni0);
		kt_add_ok(idx, KSRC_LOCAL_ADDRS, "ip-addr.txt");
		audit(idx, OUT_TEXT, &r);
		if (with)
			assert_null(strstr(r.buf, "NodePort"));
		else
			assert_non_null(strstr(r.buf, "hostPort tcp/30080 -> 10.224.0.30:80 (pod "
						      "default/debug-0, table nat chain CNI-DN-04d9418aabfd632f04e59, "
						      "sandbox 5e1f0c2d3b4a) shadows NodePort tcp/30080 "
						      "of Service default/web:80"));
		free(r.buf);
		kindex__free(idx);
	}
	free(scoped);
	free(cni0);
	free(save);
}

/*
 * A transparent proxy's REDIRECT with RETURNs ahead of it for the cluster's
 * networks (redsocks' layout, and Istio's: the RETURN in the chain that
 * jumps to the REDIRECT's): no ClusterIP reaches it.  A RETURN with a match
 * natwho does not read may let them through, and a chain two jumps lead to
 * is reached past the RETURNs too: shadows, as before.
 */
static void test_return_ahead(void **state)
{
	static const char head[] = "*nat\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
				   ":PROXY - [0:0]\n:REDIR - [0:0]\n";
	static const struct {
		const char *rules;
		bool clusterips;
	} cases[] = {
		{ "-A OUTPUT -p tcp -j PROXY\n"
		  "-A PROXY -d 10.0.0.0/8 -j RETURN\n"
		  "-A PROXY -d 127.0.0.0/8 -j RETURN\n"
		  "-A PROXY -p tcp -j REDIRECT --to-ports 12345\n",
		  false },
		{ "-A OUTPUT -p tcp -j PROXY\n"
		  "-A PROXY -d 10.96.0.0/12 -m comment --comment \"services\" -j RETURN\n"
		  "-A PROXY -j REDIR\n"
		  "-A REDIR -p tcp -j REDIRECT --to-ports 15001\n",
		  false },
		{ "-A OUTPUT -d 10.96.0.0/12 -j ACCEPT\n"
		  "-A OUTPUT -p tcp -j REDIRECT --to-ports 15001\n",
		  false },
		{ "-A OUTPUT -p tcp -j PROXY\n"
		  "-A PROXY -d 10.0.0.0/8 -m mark --mark 0x1 -j RETURN\n"
		  "-A PROXY -p tcp -j REDIRECT --to-ports 12345\n",
		  true },
		{ "-A OUTPUT -p tcp -j PROXY\n"
		  "-A OUTPUT -p tcp -j REDIR\n"
		  "-A PROXY -d 10.96.0.0/12 -j RETURN\n"
		  "-A PROXY -j REDIR\n"
		  "-A REDIR -p tcp -j REDIRECT --to-ports 15001\n",
		  true },
		{ "-A OUTPUT -p tcp -j PROXY\n"
		  "-A PROXY ! -d 10.96.0.0/12 -j RETURN\n"
		  "-A PROXY -p tcp -j REDIRECT --to-ports 12345\n",
		  true },
		/* two --dport matches (80 and 3306): the RETURN takes nothing */
		{ "-A OUTPUT -p tcp -j PROXY\n"
		  "-A PROXY -d 10.0.0.0/8 -p tcp -m tcp --dport 80 -m tcp --dport 3306 -j RETURN\n"
		  "-A PROXY -p tcp -j REDIRECT --to-ports 12345\n",
		  true },
		/* a second way into REDIR on a line natwho cannot read (a mask
		 * that is no prefix) */
		{ "-A OUTPUT -d 10.0.0.0/255.0.255.0 -p tcp -j REDIR\n"
		  "-A OUTPUT -p tcp -j PROXY\n"
		  "-A PROXY -d 10.96.0.0/12 -j RETURN\n"
		  "-A PROXY -j REDIR\n"
		  "-A REDIR -p tcp -j REDIRECT --to-ports 15001\n",
		  true },
		/* two nat tables in one dump: whose RETURN is ahead is not known */
		{ "-A OUTPUT -d 10.0.0.0/8 -j RETURN\nCOMMIT\n*nat\n:OUTPUT ACCEPT [0:0]\n"
		  "-A OUTPUT -p tcp -j REDIRECT --to-ports 12345\n",
		  true },
	};
	struct report r;
	char buf[1024];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(buf, sizeof(buf), "%s%sCOMMIT\n", head, cases[i].rules);
		audit_of(KSRC_IPTABLES_SAVE, buf, &r);
		if (cases[i].clusterips)
			assert_non_null(strstr(r.buf, "shadows Service a/mysql-a:3306 ClusterIP"));
		else
			assert_null(strstr(r.buf, "ClusterIP"));
		/* the node's address is no cluster network's */
		assert_non_null(strstr(r.buf, "shadows NodePort tcp/30080"));
		free(r.buf);
	}
	/* IPv6, through a goto: web's IPv6 ClusterIP left out by its network's
	 * RETURN, not by another network's */
	for (int i = 0; i < 2; i++) {
		snprintf(buf, sizeof(buf),
			 "*nat\n:OUTPUT ACCEPT [0:0]\n:PROXY - [0:0]\n-A OUTPUT -p tcp -g PROXY\n"
			 "-A PROXY -d %s -j RETURN\n"
			 "-A PROXY -p tcp -j REDIRECT --to-ports 15001\nCOMMIT\n",
			 i ? "fd00:99::/64" : "fd00:10:96::/112");
		audit_of(KSRC_IP6TABLES_SAVE, buf, &r);
		if (i)
			assert_non_null(strstr(r.buf, "shadows Service default/web:80 ClusterIP "
						      "[fd00:10:96::30]:80"));
		else
			assert_null(strstr(r.buf, "ClusterIP"));
		free(r.buf);
	}
	/* one Service port's RETURN: that one alone left out */
	audit_of(KSRC_IPTABLES_SAVE,
		 "*nat\n:OUTPUT ACCEPT [0:0]\n"
		 "-A OUTPUT -d 10.96.0.20/32 -p tcp -m tcp --dport 3306 -j RETURN\n"
		 "-A OUTPUT -p tcp -m tcp --dport 3306 -j DNAT --to-destination "
		 "10.224.0.222\nCOMMIT\n",
		 &r);
	assert_null(strstr(r.buf, "a/mysql-a:3306"));
	assert_non_null(strstr(r.buf, "shadows Service b/mysql-b:3306 ClusterIP 10.96.0.21:3306"));
	free(r.buf);
}

/*
 * A port range from 0 (iptables-save prints `--dport :1023` as 0:1023, nft
 * `tcp dport 0-1023`): read as 1-1023, not dropped as a line not understood
 * nor taken as any port.
 */
static void test_port_range_from_zero(void **state)
{
	static const char *const rules[] = {
		"*nat\n:OUTPUT ACCEPT [0:0]\n-A OUTPUT -p tcp -m tcp --dport 0:1023 -j DNAT "
		"--to-destination 10.224.0.222\nCOMMIT\n",
		"*nat\n:OUTPUT ACCEPT [0:0]\n-A OUTPUT -p tcp -m multiport --dports 0:1023 -j DNAT "
		"--to-destination 10.224.0.222\nCOMMIT\n",
		"{\"nftables\": [{\"table\": {\"family\": \"ip\", \"name\": \"t\"}}, "
		"{\"chain\": {\"family\": \"ip\", \"table\": \"t\", \"name\": \"c\", \"type\": "
		"\"nat\", \"hook\": \"output\", \"prio\": -100}}, "
		"{\"rule\": {\"family\": \"ip\", \"table\": \"t\", \"chain\": \"c\", \"expr\": ["
		"{\"match\": {\"op\": \"==\", \"left\": {\"payload\": {\"protocol\": \"tcp\", "
		"\"field\": \"dport\"}}, \"right\": {\"range\": [0, 1023]}}}, "
		"{\"dnat\": {\"addr\": \"10.224.0.222\"}}]}}]}",
	};
	struct report r;

	(void)state;
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		audit_of(i < 2 ? KSRC_IPTABLES_SAVE : KSRC_NFT_JSON, rules[i], &r);
		assert_non_null(strstr(r.buf, "shadows Service default/web:80 ClusterIP 10.96.0.30:80"));
		assert_null(strstr(r.buf, "mysql"));
		free(r.buf);
	}
}

/* The incident: IPVS binds every ClusterIP to kube-ipvs0. */
static void test_ipvs_json(void **state)
{
	struct kindex *idx = kindex__new();
	struct json_object *o, *v;
	struct report r;

	(void)state;
	kt_add_ok(idx, KSRC_IPTABLES_SAVE, "iptables-save-ipvs.txt");
	kt_add_ok(idx, KSRC_IPSET_SAVE, "ipset-save.txt");
	kt_add_ok(idx, KSRC_SNAPSHOT, "snapshot.json");
	audit(idx, OUT_JSON, &r);
	/* a/mysql-a and b/mysql-b ClusterIPs, web's NodePort: by two rules */
	assert_int_equal(r.findings, 3);
	assert_int_equal(r.rules, 2);
	assert_int_equal(count_lines(r.buf, "\n"), 3);
	/* b/mysql-b's hostPort pod is its endpoint: only its load balancing
	 * goes; a/mysql-a is hijacked */
	assert_int_equal(count_lines(r.buf, "\"own_endpoint\":true"), 1);
	assert_non_null(strstr(r.buf, "\"name\":\"mysql-b\",\"port_name\":\"mysql\",\"addr\":"
				      "\"10.96.0.21\",\"port\":3306},\"hooks\":{\"prerouting\":true,"
				      "\"output\":true},\"certain\":true,\"own_endpoint\":true"));
	o = json_tokener_parse(strstr(r.buf, "{\"type\":\"shadow\"") ? r.buf : "");
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "type", &v));
	assert_string_equal(json_object_get_string(v), "shadow");
	json_object_put(o);
	assert_non_null(strstr(r.buf, "\"shadowed\":{\"kind\":\"clusterip\",\"namespace\":\"a\","
				      "\"name\":\"mysql-a\",\"port_name\":\"mysql\",\"addr\":"
				      "\"10.96.0.20\",\"port\":3306}"));
	assert_non_null(strstr(r.buf, "kube-proxy's IPVS mode binds every ClusterIP to "
				      "kube-ipvs0"));
	assert_non_null(strstr(r.buf, "kube-proxy (IPVS mode) neither translates nor accepts it"));
	assert_non_null(strstr(r.buf, "\"certain\":true"));
	free(r.buf);
	kindex__free(idx);
}

/*
 * kubelet's own hostport chains (KUBE-HOSTPORTS -> KUBE-HP-*) ahead of
 * KUBE-SERVICES in IPVS mode: the incident's shadow, found though the
 * chains carry kube-proxy's prefix; the pod from the rule's comment, no
 * sandbox.
 */
static void test_kubelet_hostport(void **state)
{
	struct kindex *idx = kindex__new();
	struct report r;

	(void)state;
	kt_add_ipvs_node(idx, "iptables-save-kubelet-hp.txt");
	audit(idx, OUT_TEXT, &r);
	assert_non_null(strstr(r.buf,
		"SHADOW hostPort tcp/3306 -> 10.224.0.222:3306 (pod b/mysql-b-0, table nat chain "
		"KUBE-HP-4YVONL46AKYWSKS3) shadows a Service (name unknown) ClusterIP "
		"10.96.0.20:3306: prerouting: in table nat chain PREROUTING, rule 1 `-A PREROUTING "
		"-m comment --comment \"kube hostport portals\" -m addrtype --dst-type LOCAL -j "
		"KUBE-HOSTPORTS` comes before kube-proxy's rule 2"));
	assert_null(strstr(r.buf, "sandbox"));
	free(r.buf);
	kindex__free(idx);
}

/*
 * An nft chain reached only through a verdict map (`tcp dport vmap { 53 :
 * jump fwd }`), at priority -110, ahead of kube-proxy: reached all the same,
 * its DNAT shadows kube-dns's ClusterIP.
 */
static void test_nft_vmap_reach(void **state)
{
	static const char rules[] =
		"{\"nftables\": [{\"table\": {\"family\": \"ip\", \"name\": \"fw\"}},"
		"{\"chain\": {\"family\": \"ip\", \"table\": \"fw\", \"name\": \"pre\", \"type\": "
		"\"nat\", \"hook\": \"prerouting\", \"prio\": -110, \"policy\": \"accept\"}},"
		"{\"chain\": {\"family\": \"ip\", \"table\": \"fw\", \"name\": \"fwd\"}},"
		"{\"rule\": {\"family\": \"ip\", \"table\": \"fw\", \"chain\": \"pre\", \"expr\": ["
		"{\"vmap\": {\"key\": {\"payload\": {\"protocol\": \"tcp\", \"field\": \"dport\"}}, "
		"\"data\": {\"set\": [[53, {\"jump\": {\"target\": \"fwd\"}}]]}}}]}},"
		"{\"rule\": {\"family\": \"ip\", \"table\": \"fw\", \"chain\": \"fwd\", \"expr\": ["
		"{\"match\": {\"op\": \"==\", \"left\": {\"payload\": {\"protocol\": \"tcp\", "
		"\"field\": \"dport\"}}, \"right\": 53}},"
		"{\"dnat\": {\"addr\": \"10.0.7.7\"}}]}}]}";
	struct kindex *idx = kt_iptables_node(true);
	struct report r;

	(void)state;
	kt_add_ok(idx, KSRC_LOCAL_ADDRS, "ip-addr.txt");
	kt_add_str_ok(idx, KSRC_NFT_JSON, rules);
	audit(idx, OUT_TEXT, &r);
	assert_non_null(strstr(r.buf, "SHADOW DNAT rule in table fw chain fwd `tcp dport 53 dnat to "
				      "10.0.7.7` shadows Service kube-system/kube-dns:53 ClusterIP "
				      "10.96.0.10:53: prerouting: table fw chain pre (priority -110) "
				      "runs before kube-proxy's"));
	free(r.buf);
	kindex__free(idx);
}

/*
 * A chain reached two ways ahead of kube-proxy, one for local destinations
 * only and one for any (`-i eth1`): it shadows kube-dns's ClusterIP (not a
 * local address) whichever of the two comes first; the first alone used to
 * decide, so one order found it and the other not.
 */
static void test_two_paths(void **state)
{
	static const char *const jumps[2] = {
		"-A PREROUTING -m addrtype --dst-type LOCAL -j PORTFWD\n",
		"-A PREROUTING -i eth1 -j PORTFWD\n",
	};

	(void)state;
	for (int order = 0; order < 2; order++) {
		struct kindex *idx = kindex__new();
		size_t len;
		char *data = kt_fixture("iptables-save.txt", &len), *text, *pre;
		struct report r;

		pre = strstr(data, "-A PREROUTING ");
		assert_non_null(pre);
		text = malloc(len + 256);
		assert_non_null(text);
		snprintf(text, len + 256, "*nat\n:PORTFWD - [0:0]\n%.*s%s%s"
			 "-A PORTFWD -p tcp -m tcp --dport 53 -j DNAT --to-destination 10.0.7.7:53\n%s",
			 (int)(pre - data - 5), data + 5, jumps[order], jumps[!order], pre);
		kt_add_str_ok(idx, KSRC_IPTABLES_SAVE, text);
		kt_add_ok(idx, KSRC_SNAPSHOT, "snapshot.json");
		kt_add_ok(idx, KSRC_LOCAL_ADDRS, "ip-addr.txt");
		audit(idx, OUT_TEXT, &r);
		if (!strstr(r.buf, "SHADOW DNAT rule in table nat chain PORTFWD `-A PORTFWD -p tcp "
				   "-m tcp --dport 53 -j DNAT --to-destination 10.0.7.7:53` shadows "
				   "Service kube-system/kube-dns:53 ClusterIP 10.96.0.10:53") ||
		    !strstr(r.buf, "`-A PREROUTING -i eth1 -j PORTFWD` comes before kube-proxy's"))
			fail_msg("order %d: %s", order, r.buf);
		free(r.buf);
		free(text);
		free(data);
		kindex__free(idx);
	}
}

/*
 * IPVS mode with neither ipset nor a snapshot: the rules alone name no
 * Service address, IPVS's table does.  The incident's shadow is found by
 * its virtual service; with the sets and the snapshot too, each address is
 * audited once, by its name.
 */
static void test_ipvs_table(void **state)
{
	struct kindex *idx = kindex__new();
	struct report r;

	(void)state;
	kt_add_ok(idx, KSRC_IPTABLES_SAVE, "iptables-save-ipvs.txt");
	kt_add_ok(idx, KSRC_LOCAL_ADDRS, "ip-addr-ipvs.txt");
	audit(idx, OUT_TEXT, &r);
	assert_int_equal(r.findings, 0);
	free(r.buf);
	kt_add_ok(idx, KSRC_IPVS, "ip_vs.txt");
	audit(idx, OUT_TEXT, &r);
	/* mysql-a's and mysql-b's ClusterIPs, web's NodePort on the node address */
	assert_int_equal(r.findings, 3);
	assert_non_null(strstr(r.buf,
		"SHADOW hostPort tcp/3306 -> 10.224.0.222:3306 (table nat chain "
		"CNI-DN-b9f77ce9929d8b97cf089, sandbox 9ab3c7e1f4d2) shadows IPVS virtual service "
		"TCP 10.96.0.20:3306 rr: prerouting: in table nat chain PREROUTING, rule 1 `-A "
		"PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT` comes before "
		"kube-proxy's rule 2 `-A PREROUTING -m comment --comment \"kubernetes service "
		"portals\" -j KUBE-SERVICES`; it matches only local destinations (-m addrtype "
		"--dst-type LOCAL) and it is a local address (on kube-ipvs0)\n"));
	assert_non_null(strstr(r.buf, "shadows IPVS virtual service TCP 192.168.56.12:30080 rr: "
				      "prerouting: kube-proxy (IPVS mode) neither translates nor "
				      "accepts it"));
	free(r.buf);
	audit(idx, OUT_JSON, &r);
	assert_non_null(strstr(r.buf, "\"shadowed\":{\"kind\":\"nodeport\",\"namespace\":null,"
				      "\"name\":null,\"addr\":\"192.168.56.12\",\"port\":30080,"
				      "\"ipvs\":\"TCP 192.168.56.12:30080 rr\"}"));
	free(r.buf);
	kt_add_ok(idx, KSRC_IPSET_SAVE, "ipset-save.txt");
	kt_add_ok(idx, KSRC_SNAPSHOT, "snapshot.json");
	audit(idx, OUT_TEXT, &r);
	assert_int_equal(r.findings, 3);
	assert_null(strstr(r.buf, "IPVS virtual service"));
	assert_non_null(strstr(r.buf, "shadows Service a/mysql-a:3306 ClusterIP 10.96.0.20:3306"));
	free(r.buf);
	kindex__free(idx);
}

/* nftables: same priority in two tables, and no fib check in prerouting. */
static void test_nft_same_priority(void **state)
{
	struct kindex *idx = kindex__new();
	struct report r;

	(void)state;
	kt_add_ok(idx, KSRC_NFT_JSON, "nft-kube-proxy.json");
	kt_add_ok(idx, KSRC_NFT_JSON, "nft-cni-hostport.json");
	kt_add_ok(idx, KSRC_SNAPSHOT, "snapshot.json");
	audit(idx, OUT_TEXT, &r);
	assert_int_equal(r.findings, 4);
	assert_int_equal(count_lines(r.buf, " may shadow "), 4);
	assert_non_null(strstr(r.buf, "may shadow Service a/mysql-a:3306 ClusterIP "
				      "10.96.0.20:3306: prerouting: table cni_hostport chain "
				      "prerouting and kube-proxy's table kube-proxy chain "
				      "nat-prerouting both run at priority -100"));
	assert_non_null(strstr(r.buf, "it matches any destination address (no fib daddr type "
				      "local test)"));
	free(r.buf);
	kindex__free(idx);
}

/*
 * The same with portmap's output chain ahead of kube-proxy's (priority
 * -110): web's NodePort is taken for certain in output (fib daddr type
 * local: a node address), a tie in prerouting.  Its line says "shadows",
 * with output's why, not prerouting's "both run at priority -100"; the
 * ClusterIPs, not local, are a tie in prerouting alone: "may shadow".
 */
static void test_nft_certain_hook_said(void **state)
{
	size_t len;
	char *hp = kt_fixture("nft-cni-hostport.json", &len);
	char *early = replaced(hp, "\"hook\": \"output\", \"prio\": -100",
			       "\"hook\": \"output\", \"prio\": -110");
	struct kindex *idx = kindex__new();
	struct report r;

	(void)state;
	assert_int_equal(count_lines(hp, "\"hook\": \"output\", \"prio\": -100"), 2);
	kt_add_ok(idx, KSRC_NFT_JSON, "nft-kube-proxy.json");
	kt_add_str_ok(idx, KSRC_NFT_JSON, early);
	kt_add_ok(idx, KSRC_SNAPSHOT, "snapshot.json");
	audit(idx, OUT_TEXT, &r);
	assert_int_equal(r.findings, 4);
	assert_int_equal(count_lines(r.buf, " may shadow Service "), 2);
	assert_int_equal(count_lines(r.buf, "both run at priority -100"), 2);
	assert_int_equal(count_lines(r.buf, " shadows NodePort tcp/30080 of Service default/web:80: "
					    "output: table cni_hostport chain output (priority "
					    "-110) runs before kube-proxy's table kube-proxy chain "
					    "nat-output (priority -100); it matches only local "
					    "destinations (fib daddr type local) and NodePorts are "
					    "served on the node's own addresses\n"),
			 2);
	free(r.buf);
	audit(idx, OUT_JSON, &r);
	assert_int_equal(count_lines(r.buf, "\"hooks\":{\"prerouting\":true,\"output\":true},"
					    "\"certain\":true"),
			 2);
	free(r.buf);
	kindex__free(idx);
	free(early);
	free(hp);
}

static const char kube_first[] =
	"*nat\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:KUBE-SERVICES - [0:0]\n"
	":KUBE-SVC-X - [0:0]\n:KUBE-SEP-1 - [0:0]\n:CNI-HOSTPORT-DNAT - [0:0]\n:CNI-DN-1 - [0:0]\n"
	":KUBE-NODEPORTS - [0:0]\n"
	"-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n"
	"-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT\n"
	"-A KUBE-SERVICES -m comment --comment \"a/mysql-a:mysql cluster IP\" -m tcp -p tcp -d "
	"10.96.0.20 --dport 3306 -j KUBE-SVC-X\n"
	"-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS\n"
	"-A KUBE-NODEPORTS -m comment --comment a/mysql-a:mysql -m tcp -p tcp --dport 3306 "
	"-j KUBE-SVC-X\n"
	"-A KUBE-SVC-X -j KUBE-SEP-1\n"
	"-A KUBE-SEP-1 -m tcp -p tcp -j DNAT --to-destination 10.224.1.5:3306\n"
	"-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment \"dnat name: \\\"cbr0\\\" id: "
	"\\\"x\\\"\" -m multiport --dports 3306 -j CNI-DN-1\n"
	"-A CNI-DN-1 -p tcp -m tcp --dport 3306 -j DNAT --to-destination 10.224.0.222:3306\n"
	"COMMIT\n";

/* kube-proxy ahead of portmap in iptables mode: nothing is shadowed, even
 * a local ClusterIP or a NodePort of the same number. */
static void test_kube_first(void **state)
{
	struct kindex *idx = kindex__new();
	struct report r;

	(void)state;
	kt_add_str_ok(idx, KSRC_IPTABLES_SAVE, kube_first);
	kt_add_str_ok(idx, KSRC_LOCAL_ADDRS, "lo 10.96.0.20\neth0 192.168.56.12/24\n");
	audit(idx, OUT_TEXT, &r);
	assert_int_equal(r.findings, 0);
	assert_int_equal(r.len, 0);
	assert_false(idx->portmap_first[0]);
	free(r.buf);
	kindex__free(idx);
}

/*
 * The same two rule sets in two nat tables: kube-proxy's in legacy iptables
 * (iptables-legacy-save), portmap's in iptables-nft.  Both tables hook at
 * priority -100, and which runs first is registration order, which neither
 * dump shows: "may shadow", not "nothing" (as rule 1 against rule 2 of what
 * are different tables would say).
 */
static void test_legacy_and_nft(void **state)
{
	static const char kube[] =
		"*nat\n:PREROUTING ACCEPT [0:0]\n:KUBE-SERVICES - [0:0]\n:KUBE-SVC-X - [0:0]\n"
		":KUBE-SEP-1 - [0:0]\n"
		"-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n"
		"-A KUBE-SERVICES -m comment --comment \"a/mysql-a:mysql cluster IP\" -m tcp -p tcp "
		"-d 10.96.0.20 --dport 3306 -j KUBE-SVC-X\n"
		"-A KUBE-SVC-X -j KUBE-SEP-1\n"
		"-A KUBE-SEP-1 -m tcp -p tcp -j DNAT --to-destination 10.224.1.5:3306\nCOMMIT\n";
	static const char portmap[] =
		"*nat\n:PREROUTING ACCEPT [0:0]\n:CNI-HOSTPORT-DNAT - [0:0]\n:CNI-DN-1 - [0:0]\n"
		"-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT\n"
		"-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment \"dnat name: \\\"cbr0\\\" id: "
		"\\\"x\\\"\" -m multiport --dports 3306 -j CNI-DN-1\n"
		"-A CNI-DN-1 -p tcp -m tcp --dport 3306 -j DNAT --to-destination "
		"10.224.0.222:3306\nCOMMIT\n";
	struct kindex *idx = kindex__new();
	struct report r;
	char err[256];

	(void)state;
	assert_int_equal(kindex__add_source(idx, KSRC_IPTABLES_SAVE, "iptables-legacy-save", kube,
					    strlen(kube), err, sizeof(err)),
			 0);
	assert_int_equal(kindex__add_source(idx, KSRC_IPTABLES_SAVE, "iptables-save", portmap,
					    strlen(portmap), err, sizeof(err)),
			 0);
	kt_add_str_ok(idx, KSRC_LOCAL_ADDRS, "lo 10.96.0.20\neth0 192.168.56.12/24\n");
	audit(idx, OUT_TEXT, &r);
	assert_int_equal(r.findings, 1);
	assert_non_null(strstr(r.buf, "may shadow"));
	assert_non_null(strstr(r.buf, "a/mysql-a:3306"));
	/* the kernel puts a hook ahead of those of its priority already there
	 * (nf_hook_entries_grow()): the later one runs first */
	assert_non_null(strstr(r.buf, "the one whose hook was registered last (created, or "
				      "re-created, last) runs first"));
	free(r.buf);
	kindex__free(idx);
}

/* Any other DNAT rule ahead of kube-proxy, without an addrtype test, takes
 * every ClusterIP on its port. */
static void test_other_dnat(void **state)
{
	struct kindex *idx = kindex__new();
	struct report r;

	(void)state;
	kt_add_ok(idx, KSRC_SNAPSHOT, "snapshot.json");
	kt_add_str_ok(idx, KSRC_IPTABLES_SAVE,
		      "*nat\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
		      "-A OUTPUT -p udp -m udp --dport 53 -j DNAT --to-destination 169.254.20.10\n"
		      "COMMIT\n");
	audit(idx, OUT_TEXT, &r);
	assert_int_equal(r.findings, 1);
	assert_non_null(strstr(r.buf, "SHADOW DNAT rule in table nat chain OUTPUT `-A OUTPUT -p "
				      "udp -m udp --dport 53 -j DNAT --to-destination "
				      "169.254.20.10` shadows Service kube-system/kube-dns:53 "
				      "ClusterIP 10.96.0.10:53: output: table nat chain OUTPUT "
				      "reaches it and no kube-proxy rule for this hook was read; "
				      "it matches any destination address"));
	free(r.buf);
	kindex__free(idx);
}

/*
 * An operator's port forwards through nftables maps, ahead of kube-proxy:
 * the element that sends mysql-a's ClusterIP to mysql-b is named, and one
 * keyed by the source shadows a Service for those sources only.
 */
static void test_nft_map(void **state)
{
	struct kindex *idx = kindex__new();
	struct report r;

	(void)state;
	kt_add_ok(idx, KSRC_SNAPSHOT, "snapshot.json");
	kt_add_ok(idx, KSRC_NFT_JSON, "nft-dnat-map.json");
	audit(idx, OUT_TEXT, &r);
	assert_non_null(strstr(r.buf, "SHADOW DNAT rule in table portfwd chain forwarding `dnat ip "
				      "to ip daddr . tcp dport map @forwards (element 10.96.0.20 . "
				      "3306 : 10.224.0.222 . 3306)` shadows Service a/mysql-a:3306 "
				      "ClusterIP 10.96.0.20:3306: prerouting: table portfwd chain "
				      "prerouting reaches it"));
	assert_non_null(strstr(r.buf, "(element 10.224.0.0/24 : 10.224.0.80)` shadows Service "
				      "default/web:80 ClusterIP 10.96.0.30:80"));
	assert_non_null(strstr(r.buf, "; only for connections from 10.224.0.0/24\n"));
	assert_non_null(strstr(r.buf, "; only for connections from 192.168.0.0/16\n"));
	/* an element of 10.0.0.0/8 under `ip daddr != 10.96.0.0/12` leaves the
	 * ClusterIPs alone */
	assert_null(strstr(r.buf, "10.224.0.120"));
	/* without the node's addresses, a rule for one address may be for a
	 * NodePort's */
	assert_non_null(strstr(r.buf, "dnat ip prefix to ip daddr map { 10.141.0.0/24 : "
				      "192.168.2.0/24 } (element 10.141.0.0/24 : 192.168.2.0/24)` "
				      "shadows NodePort tcp/30080"));
	assert_int_equal(r.findings, 14);
	assert_int_equal(count_lines(r.buf, "SHADOW "), 14);
	free(r.buf);

	/* with them, 10.141.0.0/24, 192.168.56.13 and .16 are no NodePort's */
	kt_add_ok(idx, KSRC_LOCAL_ADDRS, "ip-addr.txt");
	audit(idx, OUT_TEXT, &r);
	assert_null(strstr(r.buf, "NodePort"));
	assert_int_equal(r.findings, 9);
	free(r.buf);
	kindex__free(idx);

	/* iptables' ! -s: every client but those */
	audit_of(KSRC_IPTABLES_SAVE,
		 "*nat\n:OUTPUT ACCEPT [0:0]\n"
		 "-A OUTPUT ! -s 10.224.0.0/16 -p tcp -m tcp --dport 3306 -j DNAT "
		 "--to-destination 10.224.0.222\nCOMMIT\n",
		 &r);
	assert_int_equal(r.findings, 2); /* mysql-a's ClusterIP and mysql-b's */
	assert_int_equal(r.rules, 1);
	assert_non_null(strstr(r.buf, "shadows Service a/mysql-a:3306 ClusterIP 10.96.0.20:3306"));
	assert_int_equal(count_lines(r.buf, "; except for connections from 10.224.0.0/16\n"), 1);
	/* mysql-b-0 is mysql-b's own endpoint: said after the sources */
	assert_int_equal(count_lines(r.buf, "; except for connections from 10.224.0.0/16; to one of "
					    "its own endpoints: kube-proxy's load balancing "
					    "bypassed, not the Service\n"),
			 1);
	free(r.buf);

	/* one multiport rule is a rule per port in the index: counted once */
	audit_of(KSRC_IPTABLES_SAVE,
		 "*nat\n:OUTPUT ACCEPT [0:0]\n"
		 "-A OUTPUT -p tcp -m multiport --dports 3306,53 -j DNAT "
		 "--to-destination 10.224.0.222\nCOMMIT\n",
		 &r);
	assert_int_equal(r.findings, 3); /* mysql-a's, mysql-b's and kube-dns's TCP ClusterIPs */
	assert_int_equal(r.rules, 1);
	free(r.buf);

	/* a map keyed by the source inside the rule's own `ip saddr !=`: both
	 * said, `ip saddr != 10.224.1.0/24 tcp dport 3306 dnat ip to ip saddr
	 * map { 10.224.0.0/16 : 10.224.0.222 }` */
	idx = kindex__new();
	kt_add_ok(idx, KSRC_SNAPSHOT, "snapshot.json");
	kt_add_str_ok(idx, KSRC_NFT_JSON,
		      "{\"nftables\": [{\"table\": {\"family\": \"ip\", \"name\": \"t\", "
		      "\"handle\": 1}}, {\"chain\": {\"family\": \"ip\", \"table\": \"t\", "
		      "\"name\": \"c\", \"handle\": 1, \"type\": \"nat\", \"hook\": \"output\", "
		      "\"prio\": -110, \"policy\": \"accept\"}}, {\"rule\": {\"family\": \"ip\", "
		      "\"table\": \"t\", \"chain\": \"c\", \"handle\": 2, \"expr\": [{\"match\": "
		      "{\"op\": \"!=\", \"left\": {\"payload\": {\"protocol\": \"ip\", \"field\": "
		      "\"saddr\"}}, \"right\": {\"prefix\": {\"addr\": \"10.224.1.0\", \"len\": "
		      "24}}}}, {\"match\": {\"op\": \"==\", \"left\": {\"payload\": {\"protocol\": "
		      "\"tcp\", \"field\": \"dport\"}}, \"right\": 3306}}, {\"dnat\": {\"family\": "
		      "\"ip\", \"addr\": {\"map\": {\"key\": {\"payload\": {\"protocol\": \"ip\", "
		      "\"field\": \"saddr\"}}, \"data\": {\"set\": [[{\"prefix\": {\"addr\": "
		      "\"10.224.0.0\", \"len\": 16}}, \"10.224.0.222\"]]}}}}}]}}]}");
	audit(idx, OUT_TEXT, &r);
	assert_int_equal(r.findings, 2);
	assert_int_equal(count_lines(r.buf, "; only for connections from 10.224.0.0/16, except "
					    "for connections from 10.224.1.0/24"),
			 2);
	free(r.buf);
	kindex__free(idx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_iptables_local_clusterip),
		cmocka_unit_test(test_iptables_nodeport_only),
		cmocka_unit_test(test_iptables_nodeport_addresses),
		cmocka_unit_test(test_return_ahead),
		cmocka_unit_test(test_port_range_from_zero),
		cmocka_unit_test(test_ipvs_json),
		cmocka_unit_test(test_kubelet_hostport),
		cmocka_unit_test(test_nft_vmap_reach),
		cmocka_unit_test(test_two_paths),
		cmocka_unit_test(test_ipvs_table),
		cmocka_unit_test(test_nft_same_priority),
		cmocka_unit_test(test_nft_certain_hook_said),
		cmocka_unit_test(test_kube_first),
		cmocka_unit_test(test_nft_map),
		cmocka_unit_test(test_legacy_and_nft),
		cmocka_unit_test(test_other_dnat),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
