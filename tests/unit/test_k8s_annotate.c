// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* kindex__annotate(): target, landed, via, source and verdict for the
 * incident's connections on node-2, in each kube-proxy mode; golden text and
 * JSON for annotated connections rendered by the sink. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <json-c/json.h>
#include "k8s_test.h"
#define NW_GOLDEN_DIR KT_FIXTURES
#include "golden.h"
#include "nft_gen.h"
#include "sink.h"

/* nft -j's `ip daddr OP V` and `tcp dport P` matches, in the tests' rules */
#define NFT_DADDR(op, v)                                                                  \
	"{\"match\": {\"op\": \"" op "\", \"left\": {\"payload\": {\"protocol\": \"ip\", " \
	"\"field\": \"daddr\"}}, \"right\": " v "}}"
#define NFT_DPORT(p)                                                                       \
	"{\"match\": {\"op\": \"==\", \"left\": {\"payload\": {\"protocol\": \"tcp\", "    \
	"\"field\": \"dport\"}}, \"right\": " p "}}"

#define SANDBOX_B "9ab3c7e1f4d25b8a6c0e1d2f3a4b5c6d7e8f90123456789abcdef0123456789a"
#define INCIDENT_REASON                                                                    \
	"meant for Service a/mysql-a:3306, landed on pod b/mysql-b-0 via hostPort 3306 "  \
	"(CNI-DN-b9f77ce9929d8b97cf089, sandbox 9ab3c7e1f4d2)"

/* Annotate src:sport -> dst:dport, answered from landed:lport. */
static void annotate(const struct kindex *idx, struct k8s_annot *a, int family, uint8_t proto,
		     const char *src, uint16_t sport, const char *dst, uint16_t dport,
		     const char *landed, uint16_t lport)
{
	struct conn c;

	kt_conn(&c, family, proto, src, sport, dst, dport, landed, lport);
	kindex__annotate(idx, &c, a);
}

static void assert_reason(const struct k8s_annot *a, const char *want)
{
	char buf[1024];

	assert_string_equal(k8s_annot__reason(a, buf, sizeof(buf)), want);
}

/* The incident: a process on node-2 connects to mysql-a's ClusterIP and
 * portmap's hostPort DNAT sends it to mysql-b. */
static void test_incident_iptables(void **state)
{
	struct kindex *idx = kt_iptables_node(true);
	struct k8s_annot a;
	char *text;

	(void)state;
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "192.168.56.12", 45232, "10.96.0.20", 3306,
		 "10.224.0.222", 3306);
	assert_int_equal(a.verdict, K8S_VERDICT_MISMATCH);
	assert_int_equal(a.target.kind, K8S_KIND_CLUSTER_IP);
	assert_string_equal(a.target.ns, "a");
	assert_string_equal(a.target.name, "mysql-a");
	assert_string_equal(a.target.port_name, "mysql");
	assert_int_equal(a.target.port, 3306);
	assert_int_equal(a.landed.kind, K8S_KIND_POD);
	assert_string_equal(a.landed.ns, "b");
	assert_string_equal(a.landed.name, "mysql-b-0");
	assert_string_equal(a.landed.node, "node-2");
	assert_int_equal(a.via.kind, K8S_VIA_HOSTPORT);
	assert_string_equal(a.via.chain, "CNI-DN-b9f77ce9929d8b97cf089");
	assert_string_equal(a.via.sandbox, SANDBOX_B);
	assert_string_equal(a.via.name, "mysql-b-0");
	assert_int_equal(a.source.kind, K8S_KIND_NODE);
	assert_string_equal(a.source.name, "node-2");
	assert_reason(&a, INCIDENT_REASON);
	text = kt_text(&a);
	assert_string_equal(text, "  MISMATCH " INCIDENT_REASON);
	free(text);
	kindex__free(idx);
}

static void annot_render(const struct k8s_annot *a, char *buf, size_t len);

/*
 * Names are outside text: a snapshot (or a replayed capture) whose pod
 * name carries a terminal escape, a newline and a C1 CSI cannot recolour
 * the screen or forge a line: the reason and the text show '?' for each.
 */
static void test_names_cleaned(void **state)
{
	size_t len;
	char *snap = kt_fixture("snapshot.json", &len), *evil, *text;
	struct kindex *idx = kindex__new();
	struct k8s_annot a;

	(void)state;
	evil = replaced(snap, "\"mysql-b-0\"", "\"b\\u001b[31mRED\\nFAKE\\u009b2J\\u007f\"");
	kt_add_ok(idx, KSRC_IPTABLES_SAVE, "iptables-save.txt");
	kt_add_str_ok(idx, KSRC_SNAPSHOT, evil);
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "192.168.56.12", 45232, "10.96.0.20", 3306,
		 "10.224.0.222", 3306);
	assert_int_equal(a.verdict, K8S_VERDICT_MISMATCH);
	assert_string_equal(a.landed.name, "b\x1b[31mRED\nFAKE\xc2\x9b" "2J\x7f"); /* kept as is */
	text = kt_text(&a);
	assert_non_null(strstr(text, "landed on pod b/b?[31mRED?FAKE?2J? via hostPort 3306"));
	for (const char *p = text; *p; p++)
		assert_true((unsigned char)*p >= 0x20 && *p != 0x7f);
	assert_null(strstr(text, "\xc2\x9b"));
	free(text);
	{ /* JSON escapes them instead, in the reason too */
		char all[8192];

		annot_render(&a, all, sizeof(all));
		assert_non_null(strstr(all, "\"reason\":\"meant for Service a/mysql-a:3306, landed on "
					    "pod b/b\\u001b[31mRED\\nFAKE"));
	}
	kindex__free(idx);
	free(evil);
	free(snap);
}

/*
 * kube-proxy's rules behind the snapshot: pod a/mysql-a-0 was recreated at
 * 10.224.1.15 (its Service's EndpointSlice lists that) and 10.224.1.5 is
 * now pod default/debug-0's, but the rules still DNAT Service a/mysql-a to
 * 10.224.1.5.  The connection is served by a pod the Service does not
 * select: MISMATCH (it was OK, "endpoint pod default/debug-0").  Given a
 * second, older snapshot after it, the address keeps the first one's name
 * (the older slice's targetRef named it mysql-a-0).
 */
static void test_stale_rules(void **state)
{
	size_t len;
	char *snap = kt_fixture("snapshot.json", &len), *moved, *now;
	struct kindex *idx = kindex__new();
	struct k8s_annot a;

	(void)state;
	moved = replaced(snap, "\"10.224.1.5\"", "\"10.224.1.15\"");
	now = replaced(moved, "\"10.224.0.30\"", "\"10.224.1.5\"");
	kt_add_ok(idx, KSRC_IPTABLES_SAVE, "iptables-save.txt");
	kt_add_str_ok(idx, KSRC_SNAPSHOT, now);
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.224.0.9", 40000, "10.96.0.20", 3306,
		 "10.224.1.5", 3306);
	assert_int_equal(a.verdict, K8S_VERDICT_MISMATCH);
	assert_int_equal(a.landed.kind, K8S_KIND_POD);
	assert_string_equal(a.landed.name, "debug-0");
	assert_int_equal(a.via.kind, K8S_VIA_SERVICE);
	assert_reason(&a, "meant for Service a/mysql-a:3306, landed on pod default/debug-0 via "
			  "KUBE-SVC-VXJIGVIU5VEEI2QQ: kube-proxy's rules still list it as an "
			  "endpoint, the snapshot's endpoints of the Service do not (rules or "
			  "snapshot out of date)");
	/* where the snapshot has the endpoint (the rules caught up): ok */
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.224.0.9", 40000, "10.96.0.20", 3306,
		 "10.224.1.15", 3306);
	assert_int_equal(a.verdict, K8S_VERDICT_OK);
	assert_string_equal(a.landed.name, "mysql-a-0");
	kindex__free(idx);

	idx = kindex__new();
	kt_add_ok(idx, KSRC_IPTABLES_SAVE, "iptables-save.txt");
	kt_add_str_ok(idx, KSRC_SNAPSHOT, now);
	kt_add_str_ok(idx, KSRC_SNAPSHOT, snap);
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.224.0.9", 40000, "10.96.0.20", 3306,
		 "10.224.1.5", 3306);
	assert_string_equal(a.landed.name, "debug-0");
	kindex__free(idx);
	free(now);
	free(moved);
	free(snap);
}

/*
 * One address DNAT'ed by a chain PREROUTING reaches and by another OUTPUT
 * reaches: a local process's connection passed OUTPUT, a forwarded one
 * PREROUTING; each is named after its own (both were the first found).
 */
static void test_rule_by_hook(void **state)
{
	struct kindex *idx = kindex__new();
	struct k8s_annot a;
	struct conn c;

	(void)state;
	kt_add_str_ok(idx, KSRC_IPTABLES_SAVE,
		      "*nat\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
		      ":HACK-OUT - [0:0]\n:HACK-PRE - [0:0]\n"
		      "-A PREROUTING -j HACK-PRE\n-A OUTPUT -j HACK-OUT\n"
		      "-A HACK-OUT -d 10.96.0.31/32 -p tcp -m tcp --dport 80 -j DNAT "
		      "--to-destination 10.224.0.30:80\n"
		      "-A HACK-PRE -d 10.96.0.31/32 -p tcp -m tcp --dport 80 -j DNAT "
		      "--to-destination 10.224.0.30:80\nCOMMIT\n");
	kt_conn(&c, AF_INET, IPPROTO_TCP, "10.224.0.9", 40000, "10.96.0.31", 80, "10.224.0.30", 80);
	kindex__annotate(idx, &c, &a); /* forwarded: no local process */
	assert_int_equal(a.via.kind, K8S_VIA_RULE);
	assert_string_equal(a.via.chain, "HACK-PRE");
	c.flags |= NW_EF_TASK;
	c.pid = c.tgid = 4242;
	kindex__annotate(idx, &c, &a);
	assert_string_equal(a.via.chain, "HACK-OUT");
	c.flags &= ~NW_EF_TASK; /* the same route without: annotated again */
	assert_false(kindex__annotate_again(idx, &c, &a));
	assert_string_equal(a.via.chain, "HACK-PRE");
	assert_true(kindex__annotate_again(idx, &c, &a));
	kindex__free(idx);
}

/*
 * DNAT to an address range, as iptables-save, ip6tables-save and nft -j
 * print it (read off rules loaded in a throwaway namespace): a connection
 * that landed inside the range is the rule's; outside it, no rule explains
 * it.  A range is never a hostPort's nor a kube-proxy endpoint.
 */
static void dnat_range_case(const struct kindex *idx, int family, const char *dst,
			    const char *in, const char *out, uint16_t lport)
{
	struct k8s_annot a;

	annotate(idx, &a, family, IPPROTO_TCP, family == AF_INET ? "10.0.0.100" : "fd00::100",
		 40000, dst, 80, in, lport);
	assert_int_equal(a.verdict, K8S_VERDICT_OK);
	assert_int_equal(a.via.kind, K8S_VIA_RULE);
	annotate(idx, &a, family, IPPROTO_TCP, family == AF_INET ? "10.0.0.100" : "fd00::100",
		 40001, dst, 80, out, lport);
	assert_int_equal(a.verdict, K8S_VERDICT_UNKNOWN);
	assert_int_equal(a.via.kind, K8S_VIA_UNKNOWN);
}

static void test_dnat_range(void **state)
{
	static const char nft[] =
		"{\"nftables\": [{\"table\": {\"family\": \"ip\", \"name\": \"t\", "
		"\"handle\": 3}}, {\"chain\": {\"family\": \"ip\", \"table\": \"t\", \"name\": "
		"\"c\", \"handle\": 1, \"type\": \"nat\", \"hook\": \"output\", \"prio\": -100, "
		"\"policy\": \"accept\"}}, {\"rule\": {\"family\": \"ip\", \"table\": \"t\", "
		"\"chain\": \"c\", \"handle\": 2, \"expr\": [{\"match\": {\"op\": \"==\", "
		"\"left\": {\"payload\": {\"protocol\": \"ip\", \"field\": \"daddr\"}}, "
		"\"right\": \"10.0.0.6\"}}, {\"match\": {\"op\": \"==\", \"left\": {\"payload\": "
		"{\"protocol\": \"tcp\", \"field\": \"dport\"}}, \"right\": 80}}, {\"dnat\": "
		"{\"addr\": {\"range\": [\"10.0.0.1\", \"10.0.0.3\"]}, \"port\": 8080}}]}}, "
		/* `dnat to 10.0.1.0/30:8080`, as nft -j lists it */
		"{\"rule\": {\"family\": \"ip\", \"table\": \"t\", \"chain\": \"c\", "
		"\"handle\": 3, \"expr\": [{\"match\": {\"op\": \"==\", \"left\": "
		"{\"payload\": {\"protocol\": \"ip\", \"field\": \"daddr\"}}, \"right\": "
		"\"10.0.0.5\"}}, {\"match\": {\"op\": \"==\", \"left\": {\"payload\": "
		"{\"protocol\": \"tcp\", \"field\": \"dport\"}}, \"right\": 80}}, {\"dnat\": "
		"{\"addr\": {\"prefix\": {\"addr\": \"10.0.1.0\", \"len\": 30}}, "
		"\"port\": 8080}}]}}, "
		/* the address with bits past the length (by hand: nft masks it) */
		"{\"rule\": {\"family\": \"ip\", \"table\": \"t\", \"chain\": \"c\", "
		"\"handle\": 5, \"expr\": [{\"match\": {\"op\": \"==\", \"left\": "
		"{\"payload\": {\"protocol\": \"ip\", \"field\": \"daddr\"}}, \"right\": "
		"\"10.0.0.11\"}}, {\"dnat\": {\"addr\": {\"prefix\": {\"addr\": "
		"\"10.0.3.1\", \"len\": 30}}}}]}}, "
		/* a length past the family's: refused */
		"{\"rule\": {\"family\": \"ip\", \"table\": \"t\", \"chain\": \"c\", "
		"\"handle\": 4, \"expr\": [{\"match\": {\"op\": \"==\", \"left\": "
		"{\"payload\": {\"protocol\": \"ip\", \"field\": \"daddr\"}}, \"right\": "
		"\"10.0.0.10\"}}, {\"dnat\": {\"addr\": {\"prefix\": {\"addr\": "
		"\"10.0.1.0\", \"len\": 33}}}}]}}]}";
	struct kindex *idx = kindex__new();
	struct kindex_stats st;

	(void)state;
	kt_add_str_ok(idx, KSRC_IPTABLES_SAVE,
		      "*nat\n:OUTPUT ACCEPT [0:0]\n"
		      "-A OUTPUT -d 10.0.0.9/32 -p tcp -m tcp --dport 80 -j DNAT "
		      "--to-destination 10.0.0.1-10.0.0.3:8080\n"
		      "-A OUTPUT -d 10.0.0.8/32 -p tcp -m tcp --dport 80 -j DNAT "
		      "--to-destination 10.0.0.1-10.0.0.3\n"
		      "-A OUTPUT -d 10.0.0.7/32 -p tcp -m tcp --dport 80 -j DNAT "
		      "--to-destination 10.0.0.1-10.0.0.3:8080-8081\n"
		      "-A OUTPUT -d 10.0.0.4/32 -p tcp -m tcp --dport 80 -j DNAT "
		      "--to-destination 10.0.0.3-10.0.0.1\n" /* backwards: refused */
		      "COMMIT\n");
	kt_add_str_ok(idx, KSRC_IP6TABLES_SAVE,
		      "*nat\n:OUTPUT ACCEPT [0:0]\n"
		      "-A OUTPUT -d fd00::9/128 -p tcp -m tcp --dport 80 -j DNAT "
		      "--to-destination [fd00::1-fd00::3]:8080\n"
		      "-A OUTPUT -d fd00::8/128 -p tcp -m tcp --dport 80 -j DNAT "
		      "--to-destination fd00::1-fd00::3\n"
		      /* an address starting with "::", not a port alone */
		      "-A OUTPUT -d fd00::7/128 -p tcp -m tcp --dport 80 -j DNAT "
		      "--to-destination ::1-::3\n"
		      "COMMIT\n");
	kt_add_str_ok(idx, KSRC_NFT_JSON, nft);
	kindex__stats(idx, &st);
	assert_int_equal(st.rules, 9);
	assert_int_equal(st.skipped_rules, 2);
	dnat_range_case(idx, AF_INET, "10.0.0.9", "10.0.0.2", "10.0.0.4", 8080);
	dnat_range_case(idx, AF_INET, "10.0.0.9", "10.0.0.1", "10.0.0.0", 8080);
	dnat_range_case(idx, AF_INET, "10.0.0.8", "10.0.0.3", "10.0.0.4", 80);
	dnat_range_case(idx, AF_INET, "10.0.0.7", "10.0.0.2", "10.0.0.5", 8081);
	dnat_range_case(idx, AF_INET6, "fd00::9", "fd00::2", "fd00::4", 8080);
	dnat_range_case(idx, AF_INET6, "fd00::8", "fd00::3", "fd00::", 80);
	dnat_range_case(idx, AF_INET6, "fd00::7", "::2", "::4", 80);
	dnat_range_case(idx, AF_INET, "10.0.0.6", "10.0.0.3", "10.0.0.4", 8080);
	dnat_range_case(idx, AF_INET, "10.0.0.5", "10.0.1.0", "10.0.1.4", 8080);
	dnat_range_case(idx, AF_INET, "10.0.0.5", "10.0.1.3", "10.0.0.255", 8080);
	dnat_range_case(idx, AF_INET, "10.0.0.11", "10.0.3.0", "10.0.3.4", 80);
	kindex__free(idx);
}

/*
 * nftables DNAT through maps (tests/fixtures/k8s/nft-dnat-map.json): each
 * element is a rule of its own, narrowed by the rule's own matches; the
 * element is named in the rule's text.  @elem NULL: nothing explains it.
 */
static void dnat_map_case(const struct kindex *idx, int family, uint8_t proto, const char *src,
			  const char *dst, uint16_t dport, const char *landed, uint16_t lport,
			  const char *elem)
{
	struct k8s_annot a;

	annotate(idx, &a, family, proto, src, 40000, dst, dport, landed, lport);
	if (!elem) {
		assert_int_equal(a.via.kind, K8S_VIA_UNKNOWN);
		assert_int_equal(a.verdict, K8S_VERDICT_UNKNOWN);
		return;
	}
	assert_int_equal(a.via.kind, K8S_VIA_RULE);
	assert_int_equal(a.verdict, K8S_VERDICT_OK);
	assert_non_null(a.via.rule);
	if (!strstr(a.via.rule, elem))
		fail_msg("rule text `%s` lacks `%s`", a.via.rule, elem);
}

static void dnat_map_warn(void *ctx, const char *msg)
{
	snprintf(ctx, 512, "%s", msg);
}

/* Connections through the rules of nft-dnat-map.json, and the element
 * that sends each where it lands (NULL: none does). */
struct dnat_map_want {
	int family;
	uint8_t proto;
	const char *src, *dst;
	uint16_t dport;
	const char *landed;
	uint16_t lport;
	const char *elem;
};

static const struct dnat_map_want map_cases[] = {
	/* a named map keyed by address and port, to address and port */
	{ AF_INET, IPPROTO_TCP, "10.224.0.9", "10.96.0.20", 3306, "10.224.0.222", 3306,
	  "dnat ip to ip daddr . tcp dport map @forwards (element 10.96.0.20 . 3306 : "
	  "10.224.0.222 . 3306)" },
	{ AF_INET, IPPROTO_TCP, "10.224.0.9", "192.168.56.12", 8080, "10.224.0.30", 80,
	  "(element 192.168.56.12 . 8080 : 10.224.0.30 . 80)" },
	{ AF_INET, IPPROTO_TCP, "10.224.0.9", "192.168.56.12", 8080, "10.224.0.30", 8080, NULL },
	{ AF_INET, IPPROTO_TCP, "10.224.0.9", "10.96.0.21", 3306, "10.224.0.222", 3306, NULL },
	/* keyed by port, the rule's own destination match kept */
	{ AF_INET, IPPROTO_TCP, "10.224.0.9", "192.168.56.12", 5432, "10.224.0.40", 5432,
	  "ip daddr 192.168.56.12 dnat to tcp dport map @byport (element 5432 : "
	  "10.224.0.40)" },
	{ AF_INET, IPPROTO_TCP, "10.224.0.9", "192.168.56.99", 5432, "10.224.0.40", 5432, NULL },
	/* the rule's port after the map */
	{ AF_INET, IPPROTO_TCP, "10.224.0.9", "192.168.56.12", 2222, "10.224.0.50", 22,
	  "dnat to tcp dport map { 2222 : 10.224.0.50 }:22 (element 2222 : 10.224.0.50)" },
	{ AF_INET, IPPROTO_TCP, "10.224.0.9", "192.168.56.12", 2222, "10.224.0.50", 2222, NULL },
	/* an element the rule's own ports exclude never applies */
	{ AF_INET, IPPROTO_TCP, "10.224.0.9", "10.1.1.1", 9000, "10.224.0.60", 9000,
	  "(element 9000 : 10.224.0.60)" },
	{ AF_INET, IPPROTO_TCP, "10.224.0.9", "10.1.1.1", 9002, "10.224.0.61", 9002, NULL },
	{ AF_INET, IPPROTO_TCP, "10.224.0.9", "10.96.5.5", 25, "10.224.0.95", 25,
	  "(element 10.96.5.5 . 25 : 10.224.0.95 . 25)" },
	{ AF_INET, IPPROTO_TCP, "10.224.0.9", "10.97.0.1", 25, "10.224.0.96", 25, NULL },
	{ AF_INET, IPPROTO_TCP, "10.224.0.9", "10.99.1.1", 26, "10.224.0.97", 26, NULL },
	{ AF_INET, IPPROTO_TCP, "10.224.0.9", "10.98.1.1", 26, "10.224.0.98", 26,
	  "(element 10.98.1.1 . 26 : 10.224.0.98 . 26)" },
	/* numgen: any element, for any connection the rule matches */
	{ AF_INET, IPPROTO_TCP, "10.224.0.9", "192.168.56.13", 443, "10.224.0.70", 443,
	  "numgen inc mod 2 map { 0 : 10.224.0.70, 1 : 10.224.0.71 } (element 0 : "
	  "10.224.0.70)" },
	{ AF_INET, IPPROTO_TCP, "10.224.0.9", "192.168.56.13", 443, "10.224.0.71", 443,
	  "(element 1 : 10.224.0.71)" },
	{ AF_INET, IPPROTO_TCP, "10.224.0.9", "192.168.56.14", 443, "10.224.0.71", 443, NULL },
	/* keyed by the source */
	{ AF_INET, IPPROTO_TCP, "10.224.0.9", "10.1.1.1", 80, "10.224.0.80", 80,
	  "(element 10.224.0.0/24 : 10.224.0.80)" },
	{ AF_INET, IPPROTO_TCP, "192.168.3.4", "10.1.1.1", 80, "10.224.0.81", 80,
	  "(element 192.168.0.0/16 : 10.224.0.81)" },
	{ AF_INET, IPPROTO_TCP, "10.224.0.9", "10.1.1.1", 80, "10.224.0.81", 80, NULL },
	/* by iifname: not followed */
	{ AF_INET, IPPROTO_TCP, "10.224.0.9", "10.1.1.1", 7001, "10.224.0.90", 7001, NULL },
	/* an element keyed by a range, first to last address */
	{ AF_INET, IPPROTO_TCP, "10.224.0.9", "10.7.0.1", 7002, "10.224.0.91", 7002,
	  "(element 10.7.0.1-10.7.0.9 : 10.224.0.91)" },
	{ AF_INET, IPPROTO_TCP, "10.224.0.9", "10.7.0.5", 7002, "10.224.0.91", 7002,
	  "(element 10.7.0.1-10.7.0.9 : 10.224.0.91)" },
	{ AF_INET, IPPROTO_TCP, "10.224.0.9", "10.7.0.9", 7002, "10.224.0.91", 7002,
	  "(element 10.7.0.1-10.7.0.9 : 10.224.0.91)" },
	{ AF_INET, IPPROTO_TCP, "10.224.0.9", "10.7.0.0", 7002, "10.224.0.91", 7002, NULL },
	{ AF_INET, IPPROTO_TCP, "10.224.0.9", "10.7.0.10", 7002, "10.224.0.91", 7002, NULL },
	{ AF_INET, IPPROTO_TCP, "10.224.0.9", "10.7.1.5", 7002, "10.224.0.92", 7002,
	  "(element 10.7.1.0/24 : 10.224.0.92)" },
	/* a rule's set of destinations: addresses, prefixes, a range; named */
	{ AF_INET, IPPROTO_TCP, "10.224.0.9", "10.50.0.1", 8000, "10.224.0.110", 8000,
	  "ip daddr { 10.50.0.1, 10.51.0.0/16, 10.52.0.1-10.52.0.3 } tcp dport 8000 "
	  "dnat to 10.224.0.110" },
	{ AF_INET, IPPROTO_TCP, "10.224.0.9", "10.51.7.7", 8000, "10.224.0.110", 8000, "8000" },
	{ AF_INET, IPPROTO_TCP, "10.224.0.9", "10.52.0.3", 8000, "10.224.0.110", 8000, "8000" },
	{ AF_INET, IPPROTO_TCP, "10.224.0.9", "10.52.0.4", 8000, "10.224.0.110", 8000, NULL },
	{ AF_INET, IPPROTO_TCP, "10.224.0.9", "10.50.0.2", 8000, "10.224.0.110", 8000, NULL },
	{ AF_INET, IPPROTO_TCP, "10.224.0.9", "10.53.0.200", 8001, "10.224.0.111", 8001,
	  "ip daddr @fronts tcp dport 8001 dnat to 10.224.0.111" },
	{ AF_INET, IPPROTO_TCP, "10.224.0.9", "10.53.1.1", 8001, "10.224.0.111", 8001, NULL },
	/* all but a set: taken as any destination */
	{ AF_INET, IPPROTO_TCP, "10.224.0.9", "10.55.0.1", 8002, "10.224.0.112", 8002,
	  "ip daddr != { 10.54.0.1, 10.54.0.2 } tcp dport 8002 dnat to 10.224.0.112" },
	/* an element holding what the rule's != leaves out: not that part */
	{ AF_INET, IPPROTO_TCP, "10.224.0.9", "10.1.2.3", 3306, "10.224.0.120", 3306,
	  "(element 10.0.0.0/8 : 10.224.0.120)" },
	{ AF_INET, IPPROTO_TCP, "10.224.0.9", "10.96.0.20", 3306, "10.224.0.120", 3306, NULL },
	/* netmap: the address of the same host bits, not any of the prefix */
	{ AF_INET, IPPROTO_TCP, "10.224.0.9", "10.141.0.5", 443, "192.168.2.5", 443,
	  "dnat ip prefix to ip daddr map { 10.141.0.0/24 : 192.168.2.0/24 }" },
	{ AF_INET, IPPROTO_TCP, "10.224.0.9", "10.141.0.77", 443, "192.168.2.77", 443,
	  "(element 10.141.0.0/24 : 192.168.2.0/24)" },
	{ AF_INET, IPPROTO_TCP, "10.224.0.9", "10.141.0.5", 443, "192.168.2.9", 443, NULL },
	{ AF_INET, IPPROTO_TCP, "10.224.0.9", "10.142.0.5", 443, "192.168.2.5", 443, NULL },
	/* th dport: any protocol with ports */
	{ AF_INET, IPPROTO_UDP, "10.224.0.9", "10.1.1.1", 5353, "10.224.0.53", 5353,
	  "dnat to th dport map { 5353 : 10.224.0.53 }" },
	{ AF_INET, IPPROTO_TCP, "10.224.0.9", "10.1.1.1", 5353, "10.224.0.53", 5353,
	  "(element 5353 : 10.224.0.53)" },
	/* the catch-all element */
	{ AF_INET, IPPROTO_TCP, "10.224.0.9", "10.60.0.1", 8007, "10.224.0.121", 8007,
	  "(element 10.60.0.1 : 10.224.0.121)" },
	{ AF_INET, IPPROTO_TCP, "10.224.0.9", "10.60.0.9", 8007, "10.224.0.122", 8007,
	  "(element * : 10.224.0.122)" },
	/* an element with a timeout and a comment */
	{ AF_INET, IPPROTO_TCP, "10.224.0.9", "10.61.0.1", 8008, "10.224.0.123", 8008,
	  "tcp dport 8008 dnat to ip daddr map @with_timeouts (element 10.61.0.1 : "
	  "10.224.0.123)" },
	{ AF_INET, IPPROTO_TCP, "10.224.0.9", "10.61.0.2", 8008, "10.224.0.123", 8008, NULL },
	{ AF_INET, IPPROTO_TCP, "10.224.0.9", "192.168.56.16", 99, "10.224.0.125", 99,
	  "ip daddr 192.168.56.16 dnat to symhash mod 2 map { 0 : 10.224.0.124, 1 : "
	  "10.224.0.125 } (element 1 : 10.224.0.125)" },
	/* a rule's source, and a map keyed by it within the rule's */
	{ AF_INET, IPPROTO_TCP, "10.224.0.9", "10.1.1.1", 8003, "10.224.0.113", 8003,
	  "ip saddr 10.224.0.0/24 tcp dport 8003 dnat to 10.224.0.113" },
	{ AF_INET, IPPROTO_TCP, "10.224.1.9", "10.1.1.1", 8003, "10.224.0.113", 8003, NULL },
	{ AF_INET, IPPROTO_TCP, "10.224.1.9", "10.1.1.1", 8004, "10.224.0.114", 8004,
	  "ip saddr != 10.224.0.0/24 tcp dport 8004 dnat to 10.224.0.114" },
	{ AF_INET, IPPROTO_TCP, "10.224.0.9", "10.1.1.1", 8004, "10.224.0.114", 8004, NULL },
	{ AF_INET, IPPROTO_TCP, "10.224.1.9", "10.1.1.1", 8005, "10.224.0.115", 8005,
	  "(element 10.224.1.0/24 : 10.224.0.115)" },
	{ AF_INET, IPPROTO_TCP, "10.225.0.9", "10.1.1.1", 8005, "10.224.0.116", 8005, NULL },
	/* keyed by protocol and port */
	{ AF_INET, IPPROTO_UDP, "10.224.0.9", "10.96.0.10", 53, "10.224.0.11", 53,
	  "(element udp . 53 : 10.224.0.11)" },
	{ AF_INET, IPPROTO_TCP, "10.224.0.9", "10.96.0.10", 53, "10.224.0.10", 53,
	  "(element tcp . 53 : 10.224.0.10)" },
	{ AF_INET, IPPROTO_TCP, "10.224.0.9", "10.96.0.10", 53, "10.224.0.11", 53, NULL },
	/* an inet table: IPv6 by its map, IPv4 by jhash */
	{ AF_INET6, IPPROTO_TCP, "fd00:10:224::9", "fd00:96::20", 3306,
	  "fd00:10:224::222", 3306,
	  "dnat ip6 to ip6 daddr . tcp dport map @forwards6 (element fd00:96::20 . 3306 "
	  ": fd00:10:224::222 . 3306)" },
	{ AF_INET, IPPROTO_TCP, "10.224.0.9", "10.1.1.1", 8443, "10.224.0.101", 8443,
	  "dnat ip to jhash ip saddr mod 2 map { 0 : 10.224.0.100, 1 : 10.224.0.101 } "
	  "(element 1 : 10.224.0.101)" },
	{ AF_INET, IPPROTO_TCP, "10.224.0.9", "10.1.1.1", 8444, "10.224.0.101", 8444, NULL },
};

static void test_dnat_map(void **state)
{
	const int tcp = IPPROTO_TCP, v4 = AF_INET;
	struct kindex *idx = kindex__new();
	struct kindex_stats st;
	char warned[512] = "";

	(void)state;
	kt_add_ok(idx, KSRC_NFT_JSON, "nft-dnat-map.json");
	kindex__stats(idx, &st);
	/* 29 elements, one keyed by a range of 4 prefixes; 3 rules matching
	 * sets of destinations as 6; 2 rules by source; the iifname-keyed map
	 * not read */
	assert_int_equal(st.rules, 38);
	assert_int_equal(st.skipped_rules, 1);
	for (size_t i = 0; i < sizeof(map_cases) / sizeof(map_cases[0]); i++) {
		const struct dnat_map_want *w = &map_cases[i];

		dnat_map_case(idx, w->family, w->proto, w->src, w->dst, w->dport, w->landed,
			      w->lport, w->elem);
	}
	kindex__free(idx);

	/* a key of more parts than natwho keeps: said, not read past its end */
	idx = kindex__new();
	{
		char doc[2048];
		size_t n = 0;

		n += (size_t)snprintf(doc + n, sizeof(doc) - n,
				      "{\"nftables\": [{\"table\": {\"family\": \"ip\", \"name\": "
				      "\"t\"}}, {\"chain\": {\"family\": \"ip\", \"table\": \"t\", "
				      "\"name\": \"c\", \"type\": \"nat\", \"hook\": \"output\", "
				      "\"prio\": -100}}, {\"rule\": {\"family\": \"ip\", \"table\": "
				      "\"t\", \"chain\": \"c\", \"expr\": [{\"dnat\": {\"addr\": "
				      "{\"map\": {\"key\": {\"concat\": [");
		for (int i = 0; i < 9; i++)
			n += (size_t)snprintf(doc + n, sizeof(doc) - n,
					      "%s{\"payload\": {\"protocol\": \"tcp\", "
					      "\"field\": \"dport\"}}",
					      i ? ", " : "");
		snprintf(doc + n, sizeof(doc) - n,
			 "]}, \"data\": {\"set\": [[1, \"10.0.0.1\"]]}}}}}]}}]}");
		kindex__set_warn(idx, dnat_map_warn, &warned);
		kt_add_str_ok(idx, KSRC_NFT_JSON, doc);
	}
	kindex__stats(idx, &st);
	assert_int_equal(st.rules, 0);
	assert_int_equal(st.skipped_rules, 1);
	assert_non_null(strstr(warned, "dnat map keyed on more than 8 parts in table t c not "
				       "followed"));
	kindex__free(idx);

	/* nft 1.1 and later list a map's concatenated type as an array */
	{
		size_t len;
		char *doc = kt_fixture("nft-dnat-map.json", &len), *at;
		static const char from[] = "\"map\": \"ipv4_addr . inet_service\"";
		static const char to[] = "\"map\": [\"ipv4_addr\", \"inet_service\"]";
		char *edited = malloc(len + sizeof(to));

		assert_non_null(edited);
		at = strstr(doc, from);
		assert_non_null(at);
		memcpy(edited, doc, (size_t)(at - doc));
		strcpy(edited + (at - doc), to);
		strcat(edited, at + strlen(from));
		idx = kindex__new();
		kt_add_str_ok(idx, KSRC_NFT_JSON, edited);
		dnat_map_case(idx, v4, tcp, "10.224.0.9", "10.96.0.20", 3306, "10.224.0.222", 3306,
			      "map @forwards (element 10.96.0.20 . 3306 : 10.224.0.222 . 3306)");
		kindex__free(idx);
		free(edited);
		free(doc);
	}

	/* a set of the user's table named like one of kube-proxy's is the
	 * user's: its elements, not any destination */
	{
		size_t len;
		char *doc = kt_fixture("nft-dnat-map.json", &len);
		char *edited = replaced(doc, "fronts", "cluster-ips");

		idx = kindex__new();
		kt_add_str_ok(idx, KSRC_NFT_JSON, edited);
		dnat_map_case(idx, v4, tcp, "10.224.0.9", "10.53.0.200", 8001, "10.224.0.111", 8001,
			      "ip daddr @cluster-ips tcp dport 8001 dnat to 10.224.0.111");
		dnat_map_case(idx, v4, tcp, "10.224.0.9", "10.53.1.1", 8001, "10.224.0.111", 8001,
			      NULL);
		kindex__free(idx);
		free(edited);
		free(doc);
	}
}

/* The address fixed and the port from a map (nft-dnat-portmap.json). */
static void test_dnat_port_map(void **state)
{
	const int tcp = IPPROTO_TCP, v4 = AF_INET;
	struct kindex *idx = kindex__new();
	struct kindex_stats st;
	struct k8s_annot a;
	char warned[512] = "";

	(void)state;
	kindex__set_warn(idx, dnat_map_warn, &warned);
	kt_add_ok(idx, KSRC_NFT_JSON, "nft-dnat-portmap.json");
	kindex__stats(idx, &st);
	/* 2 + 1 + 2 elements; the rule with a map for both not followed */
	assert_int_equal(st.rules, 5);
	assert_int_equal(st.skipped_rules, 1);
	assert_non_null(strstr(warned, "nat rule in table portmaps output not understood"));
	dnat_map_case(idx, v4, tcp, "10.224.0.9", "10.1.1.1", 80, "10.224.0.30", 8080,
		      "tcp dport { 80, 443 } dnat to 10.224.0.30:tcp dport map { 80 : 8080, 443 : "
		      "8443 } (element 80 : 8080)");
	dnat_map_case(idx, v4, tcp, "10.224.0.9", "10.1.1.1", 443, "10.224.0.30", 8443,
		      "(element 443 : 8443)");
	dnat_map_case(idx, v4, tcp, "10.224.0.9", "10.1.1.1", 80, "10.224.0.30", 80, NULL);
	dnat_map_case(idx, v4, tcp, "10.224.0.9", "10.1.1.1", 80, "10.224.0.30", 8443, NULL);
	dnat_map_case(idx, v4, tcp, "10.224.0.9", "10.1.1.1", 80, "10.224.0.31", 8080, NULL);
	/* a redirect's port map */
	dnat_map_case(idx, v4, tcp, "10.224.0.9", "10.96.0.20", 3306, "127.0.0.1", 13306,
		      "ip daddr 10.96.0.0/12 meta l4proto tcp redirect to :tcp dport map { 3306 : "
		      "13306 } (element 3306 : 13306)");
	dnat_map_case(idx, v4, tcp, "10.224.0.9", "10.112.0.20", 3306, "127.0.0.1", 13306, NULL);
	/* said a REDIRECT (nft writes it lower-case), with its table */
	annotate(idx, &a, v4, tcp, "10.224.0.9", 40000, "10.96.0.20", 3306, "127.0.0.1", 13306);
	assert_reason(&a, "10.96.0.20:3306 -> 127.0.0.1:13306 via a REDIRECT rule in table portmaps "
			  "chain output");
	/* a named map with a range of ports as a key */
	dnat_map_case(idx, v4, tcp, "10.224.0.9", "192.168.56.12", 8000, "10.224.0.40", 9000,
		      "ip daddr 192.168.56.12 meta l4proto tcp dnat to 10.224.0.40:tcp dport map "
		      "@ports (element 8000-8009 : 9000)");
	dnat_map_case(idx, v4, tcp, "10.224.0.9", "192.168.56.12", 8009, "10.224.0.40", 9000,
		      "(element 8000-8009 : 9000)");
	dnat_map_case(idx, v4, tcp, "10.224.0.9", "192.168.56.12", 8010, "10.224.0.40", 9000, NULL);
	dnat_map_case(idx, v4, tcp, "10.224.0.9", "192.168.56.12", 5432, "10.224.0.40", 15432,
		      "(element 5432 : 15432)");
	dnat_map_case(idx, v4, tcp, "10.224.0.9", "192.168.56.13", 5432, "10.224.0.40", 15432, NULL);
	/* the rule with both maps, not followed: its connection unexplained */
	dnat_map_case(idx, v4, tcp, "10.224.0.9", "10.1.0.1", 80, "10.2.0.1", 8080, NULL);
	kindex__free(idx);
}

/*
 * Of two rules that would both explain a connection, the one the kernel
 * meets first: the earlier in the chain (a rule keyed by the destination
 * after a generic one), the earlier hook (a lower priority's table).
 */
static void test_dnat_first_rule(void **state)
{
	static const char nft[] =
		"{\"nftables\": [{\"table\": {\"family\": \"ip\", \"name\": \"t1\"}}, "
		"{\"chain\": {\"family\": \"ip\", \"table\": \"t1\", \"name\": \"c\", "
		"\"type\": \"nat\", \"hook\": \"prerouting\", \"prio\": -100}}, "
		"{\"rule\": {\"family\": \"ip\", \"table\": \"t1\", \"chain\": \"c\", "
		"\"expr\": [{\"match\": {\"op\": \"==\", \"left\": {\"payload\": "
		"{\"protocol\": \"tcp\", \"field\": \"dport\"}}, \"right\": 90}}, "
		"{\"dnat\": {\"addr\": \"10.1.1.1\", \"port\": 8080}}]}}, "
		"{\"table\": {\"family\": \"ip\", \"name\": \"t2\"}}, "
		"{\"chain\": {\"family\": \"ip\", \"table\": \"t2\", \"name\": \"c\", "
		"\"type\": \"nat\", \"hook\": \"prerouting\", \"prio\": -110}}, "
		"{\"rule\": {\"family\": \"ip\", \"table\": \"t2\", \"chain\": \"c\", "
		"\"expr\": [{\"match\": {\"op\": \"==\", \"left\": {\"payload\": "
		"{\"protocol\": \"ip\", \"field\": \"daddr\"}}, \"right\": \"192.0.2.5\"}}, "
		"{\"dnat\": {\"addr\": \"10.1.1.1\", \"port\": 8080}}]}}]}";
	struct kindex *idx = kindex__new();
	struct k8s_annot a;

	(void)state;
	kt_add_str_ok(idx, KSRC_IPTABLES_SAVE,
		      "*nat\n:PREROUTING ACCEPT [0:0]\n"
		      "-A PREROUTING -p tcp -m tcp --dport 80 -j DNAT --to-destination "
		      "10.1.1.1:8080\n"
		      "-A PREROUTING -d 192.0.2.5/32 -p tcp -m tcp --dport 80 -j DNAT "
		      "--to-destination 10.1.1.1:8080\n"
		      "COMMIT\n");
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.224.0.9", 40000, "192.0.2.5", 80, "10.1.1.1",
		 8080);
	assert_int_equal(a.via.kind, K8S_VIA_RULE);
	assert_string_equal(a.via.rule, "-A PREROUTING -p tcp -m tcp --dport 80 -j DNAT "
					"--to-destination 10.1.1.1:8080");
	kindex__free(idx);

	idx = kindex__new();
	kt_add_str_ok(idx, KSRC_NFT_JSON, nft);
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.224.0.9", 40000, "192.0.2.5", 90, "10.1.1.1",
		 8080);
	assert_int_equal(a.via.kind, K8S_VIA_RULE);
	assert_string_equal(a.via.table, "t2");
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.224.0.9", 40000, "192.0.2.6", 90, "10.1.1.1",
		 8080);
	assert_string_equal(a.via.table, "t1");
	kindex__free(idx);
}

/* The rule's own matches stay with its set of destinations, and a match of
 * one family's header keeps an inet table's rule to that family. */
static void test_dnat_rule_matches_kept(void **state)
{
	static const char nft[] =
		"{\"nftables\": [{\"table\": {\"family\": \"ip\", \"name\": \"t\"}}, "
		"{\"chain\": {\"family\": \"ip\", \"table\": \"t\", \"name\": \"c\", \"type\": "
		"\"nat\", \"hook\": \"output\", \"prio\": -100}}, "
		/* ip daddr != 10.0.0.5 ip daddr { 10.0.0.0/24 } tcp dport 80 dnat to ... */
		"{\"rule\": {\"family\": \"ip\", \"table\": \"t\", \"chain\": \"c\", \"expr\": ["
		NFT_DADDR("!=", "\"10.0.0.5\"") ", "
		NFT_DADDR("==", "{\"set\": [{\"prefix\": {\"addr\": \"10.0.0.0\", \"len\": 24}}]}")
		", " NFT_DPORT("80") ", {\"dnat\": {\"addr\": \"10.1.1.1\", \"port\": 8080}}]}}, "
		/* ip daddr 10.0.0.0/24 ip daddr { 10.0.0.5, 192.168.1.1 } tcp dport 81 ... */
		"{\"rule\": {\"family\": \"ip\", \"table\": \"t\", \"chain\": \"c\", \"expr\": ["
		NFT_DADDR("==", "{\"prefix\": {\"addr\": \"10.0.0.0\", \"len\": 24}}") ", "
		NFT_DADDR("==", "{\"set\": [\"10.0.0.5\", \"192.168.1.1\"]}")
		", " NFT_DPORT("81") ", {\"dnat\": {\"addr\": \"10.1.1.1\", \"port\": 8080}}]}}, "
		/* ip daddr 10.0.0.0/8 ip daddr != 10.96.0.0/12 tcp dport 84 ... */
		"{\"rule\": {\"family\": \"ip\", \"table\": \"t\", \"chain\": \"c\", \"expr\": ["
		NFT_DADDR("==", "{\"prefix\": {\"addr\": \"10.0.0.0\", \"len\": 8}}") ", "
		NFT_DADDR("!=", "{\"prefix\": {\"addr\": \"10.96.0.0\", \"len\": 12}}")
		", " NFT_DPORT("84") ", {\"dnat\": {\"addr\": \"10.1.1.1\", \"port\": 8080}}]}}, "
		/* ip daddr 10.96.0.0/16 ip daddr != 10.96.0.0/12 ...: never */
		"{\"rule\": {\"family\": \"ip\", \"table\": \"t\", \"chain\": \"c\", \"expr\": ["
		NFT_DADDR("==", "{\"prefix\": {\"addr\": \"10.96.0.0\", \"len\": 16}}") ", "
		NFT_DADDR("!=", "{\"prefix\": {\"addr\": \"10.96.0.0\", \"len\": 12}}")
		", " NFT_DPORT("85") ", {\"dnat\": {\"addr\": \"10.1.1.1\", \"port\": 8080}}]}}, "
		"{\"table\": {\"family\": \"inet\", \"name\": \"i\"}}, "
		"{\"chain\": {\"family\": \"inet\", \"table\": \"i\", \"name\": \"c\", \"type\": "
		"\"nat\", \"hook\": \"output\", \"prio\": -100}}, "
		/* ip6 saddr 2001:db8::/32 tcp dport 82 redirect to :8080 */
		"{\"rule\": {\"family\": \"inet\", \"table\": \"i\", \"chain\": \"c\", \"expr\": ["
		"{\"match\": {\"op\": \"==\", \"left\": {\"payload\": {\"protocol\": \"ip6\", "
		"\"field\": \"saddr\"}}, \"right\": {\"prefix\": {\"addr\": \"2001:db8::\", \"len\": "
		"32}}}}, " NFT_DPORT("82") ", {\"redirect\": {\"port\": 8080}}]}}, "
		/* meta nfproto ipv4 tcp dport 83 redirect to :8080 */
		"{\"rule\": {\"family\": \"inet\", \"table\": \"i\", \"chain\": \"c\", \"expr\": ["
		"{\"match\": {\"op\": \"==\", \"left\": {\"meta\": {\"key\": \"nfproto\"}}, "
		"\"right\": \"ipv4\"}}, " NFT_DPORT("83") ", {\"redirect\": {\"port\": 8080}}]}}]}";
	struct kindex *idx = kindex__new();
	struct kindex_stats st;

	(void)state;
	kt_add_str_ok(idx, KSRC_NFT_JSON, nft);
	kindex__stats(idx, &st);
	/* the /24 but .5; 10.0.0.5 alone; 10/8 but 10.96/12; IPv6 alone; IPv4
	 * alone (not the rule no packet matches) */
	assert_int_equal(st.rules, 5);
	dnat_map_case(idx, AF_INET, IPPROTO_TCP, "10.224.0.9", "10.0.0.6", 80, "10.1.1.1", 8080,
		      "ip daddr != 10.0.0.5 ip daddr { 10.0.0.0/24 }");
	dnat_map_case(idx, AF_INET, IPPROTO_TCP, "10.224.0.9", "10.0.0.5", 80, "10.1.1.1", 8080, NULL);
	dnat_map_case(idx, AF_INET, IPPROTO_TCP, "10.224.0.9", "10.0.0.5", 81, "10.1.1.1", 8080,
		      "tcp dport 81");
	dnat_map_case(idx, AF_INET, IPPROTO_TCP, "10.224.0.9", "192.168.1.1", 81, "10.1.1.1", 8080,
		      NULL);
	dnat_map_case(idx, AF_INET, IPPROTO_TCP, "10.224.0.9", "10.1.2.3", 84, "10.1.1.1", 8080,
		      "tcp dport 84");
	dnat_map_case(idx, AF_INET, IPPROTO_TCP, "10.224.0.9", "10.96.0.20", 84, "10.1.1.1", 8080,
		      NULL);
	dnat_map_case(idx, AF_INET, IPPROTO_TCP, "10.224.0.9", "192.168.1.1", 84, "10.1.1.1", 8080,
		      NULL);
	dnat_map_case(idx, AF_INET, IPPROTO_TCP, "10.224.0.9", "10.96.0.5", 85, "10.1.1.1", 8080,
		      NULL);
	dnat_map_case(idx, AF_INET, IPPROTO_TCP, "10.224.0.9", "10.0.0.7", 82, "127.0.0.1", 8080,
		      NULL);
	dnat_map_case(idx, AF_INET, IPPROTO_TCP, "10.224.0.9", "10.0.0.7", 83, "127.0.0.1", 8080,
		      "tcp dport 83 redirect to :8080");
	kindex__free(idx);
}

/* iptables' -s and ! -s: a DNAT rule for some sources explains only theirs. */
static void test_dnat_source(void **state)
{
	struct kindex *idx = kindex__new();

	(void)state;
	kt_add_str_ok(idx, KSRC_IPTABLES_SAVE,
		      "*nat\n:PREROUTING ACCEPT [0:0]\n"
		      "-A PREROUTING -s 10.224.0.0/24 -p tcp -m tcp --dport 80 -j DNAT "
		      "--to-destination 10.0.0.1\n"
		      "-A PREROUTING ! -s 10.224.0.0/24 -p tcp -m tcp --dport 81 -j DNAT "
		      "--to-destination 10.0.0.2\n"
		      /* a mask that is no prefix, as iptables-save prints it: any source */
		      "-A PREROUTING -s 10.0.0.0/255.0.255.0 -p tcp -m tcp --dport 82 -j DNAT "
		      "--to-destination 10.0.0.3\n"
		      "COMMIT\n");
	dnat_map_case(idx, AF_INET, IPPROTO_TCP, "10.224.0.9", "10.1.1.1", 80, "10.0.0.1", 80,
		      "-s 10.224.0.0/24");
	dnat_map_case(idx, AF_INET, IPPROTO_TCP, "10.224.1.9", "10.1.1.1", 80, "10.0.0.1", 80, NULL);
	dnat_map_case(idx, AF_INET, IPPROTO_TCP, "10.224.1.9", "10.1.1.1", 81, "10.0.0.2", 81,
		      "--dport 81");
	dnat_map_case(idx, AF_INET, IPPROTO_TCP, "10.224.0.9", "10.1.1.1", 81, "10.0.0.2", 81, NULL);
	dnat_map_case(idx, AF_INET, IPPROTO_TCP, "192.168.1.1", "10.1.1.1", 82, "10.0.0.3", 82,
		      "--dport 82");
	kindex__free(idx);
}

/* A range where kube-proxy or portmap would have one address (by hand: they
 * write none) is no endpoint nor hostPort, and is said and counted. */
static void test_dnat_range_kube(void **state)
{
	static const char from[] = "\"dnat\": {\"addr\": \"10.224.1.5\", \"port\": 3306}";
	static const char to[] = "\"dnat\": {\"addr\": {\"range\": [\"10.224.1.5\", "
				 "\"10.224.1.7\"]}, \"port\": 3306}";
	struct kindex *idx = kindex__new();
	struct kindex_stats st;
	struct k8s_annot a;
	size_t len, at;
	char *nft, *edited;

	(void)state;
	kt_add_str_ok(idx, KSRC_IPTABLES_SAVE,
		      "*nat\n:OUTPUT ACCEPT [0:0]\n:KUBE-SERVICES - [0:0]\n"
		      ":KUBE-SVC-AAAAAAAAAAAAAAAA - [0:0]\n:KUBE-SEP-AAAAAAAAAAAAAAAA - [0:0]\n"
		      ":CNI-HOSTPORT-DNAT - [0:0]\n:CNI-DN-aaaaaaaaaaaaaaaaaaaaa - [0:0]\n"
		      "-A OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT\n"
		      "-A OUTPUT -j KUBE-SERVICES\n"
		      "-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment \"dnat name: \\\"cbr0\\\" "
		      "id: \\\"abc\\\"\" -m multiport --dports 8080 -j CNI-DN-aaaaaaaaaaaaaaaaaaaaa\n"
		      "-A CNI-DN-aaaaaaaaaaaaaaaaaaaaa -p tcp -m tcp --dport 8080 -j DNAT "
		      "--to-destination 10.224.0.30-10.224.0.31:80\n"
		      "-A KUBE-SERVICES -d 10.96.0.50/32 -p tcp -m comment --comment \"x/y:z cluster "
		      "IP\" -m tcp --dport 80 -j KUBE-SVC-AAAAAAAAAAAAAAAA\n"
		      "-A KUBE-SVC-AAAAAAAAAAAAAAAA -j KUBE-SEP-AAAAAAAAAAAAAAAA\n"
		      "-A KUBE-SEP-AAAAAAAAAAAAAAAA -p tcp -m tcp -j DNAT "
		      "--to-destination 10.224.0.5-10.224.0.6:80\n"
		      "COMMIT\n");
	kindex__stats(idx, &st);
	assert_int_equal(st.hostports, 0);
	assert_int_equal(st.endpoints, 0);
	assert_int_equal(st.rules, 0);
	assert_int_equal(st.skipped_rules, 2);
	kindex__free(idx);

	/* kube-proxy's nftables mode: mysql-a's endpoint made a range */
	nft = kt_fixture("nft-kube-proxy.json", &len);
	at = (size_t)(strstr(nft, from) - nft);
	edited = malloc(len + sizeof(to));
	assert_non_null(edited);
	memcpy(edited, nft, at);
	memcpy(edited + at, to, strlen(to));
	memcpy(edited + at + strlen(to), nft + at + strlen(from), len - at - strlen(from) + 1);
	idx = kindex__new();
	kt_add_str_ok(idx, KSRC_NFT_JSON, edited);
	kindex__stats(idx, &st);
	assert_int_equal(st.skipped_rules, 1);
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.224.0.9", 45232, "10.96.0.20", 3306,
		 "10.224.1.5", 3306);
	assert_int_not_equal(a.verdict, K8S_VERDICT_OK);
	kindex__free(idx);
	free(edited);
	free(nft);
}

/*
 * A Service that selects no ready pod: its EndpointSlice lists no ports and
 * no endpoints, kube-proxy rejects its connections, so one translated
 * anywhere went where the Service never sends it: MISMATCH, not "endpoints
 * not known".  A Service without any slice stays UNKNOWN.
 */
/*
 * An endpoint is "external" only where an EndpointSlice lists it without a
 * pod (a Service fronting a database outside the cluster).  One known from
 * kube-proxy's rules alone, snapshot or not, has kind unknown: a pod the
 * snapshot predates is not an external endpoint.
 */
static void test_external_endpoint(void **state)
{
	struct kindex *idx = kindex__new();
	struct k8s_annot a;

	(void)state;
	kt_add_str_ok(idx, KSRC_SNAPSHOT,
		      "{\"kind\": \"List\", \"items\": ["
		      "{\"kind\": \"Service\", \"metadata\": {\"namespace\": \"x\", "
		      "\"name\": \"db\"}, \"spec\": {\"clusterIP\": \"10.96.7.7\", "
		      "\"ports\": [{\"name\": \"pg\", \"port\": 5432, \"protocol\": \"TCP\"}]}},"
		      "{\"kind\": \"EndpointSlice\", \"metadata\": {\"namespace\": \"x\", "
		      "\"name\": \"db-x1\", \"labels\": {\"kubernetes.io/service-name\": "
		      "\"db\"}}, \"addressType\": \"IPv4\", \"endpoints\": [{\"addresses\": "
		      "[\"198.51.100.20\"], \"conditions\": {\"ready\": true}}], "
		      "\"ports\": [{\"name\": \"pg\", \"port\": 5432, \"protocol\": \"TCP\"}]}]}");
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.224.1.5", 40000, "10.96.7.7", 5432,
		 "198.51.100.20", 5432);
	assert_int_equal(a.verdict, K8S_VERDICT_OK);
	assert_int_equal(a.landed.kind, K8S_KIND_EXTERNAL);
	assert_reason(&a, "Service x/db:5432 -> endpoint 198.51.100.20:5432 via kube-proxy");
	kindex__free(idx);
}

#define KT_POD(ns, name, ip)                                                             \
	"{\"kind\": \"Pod\", \"metadata\": {\"namespace\": \"" ns "\", \"name\": \"" name \
	"\"}, \"spec\": {\"nodeName\": \"node-9\"}, \"status\": {\"phase\": \"Running\", " \
	"\"podIP\": \"" ip "\"}}"

/*
 * Two snapshots whose pods claim one address (clusters with overlapping pod
 * networks, or an address that went to another pod between two snapshots):
 * the first listed names it, and natwho says so; one pod listed by both is
 * not a conflict.
 */
static void test_pod_conflicts(void **state)
{
	struct kindex *idx = kindex__new();
	struct k8s_annot a;
	char msg[512];

	(void)state;
	kt_add_str_ok(idx, KSRC_SNAPSHOT,
		      "{\"kind\": \"List\", \"items\": [" KT_POD("a", "web-0", "10.224.5.5") ","
		      KT_POD("a", "web-1", "10.224.5.6") "]}");
	assert_int_equal(kindex__pod_conflicts(idx, msg, sizeof(msg)), 0);
	assert_string_equal(msg, "");
	kt_add_str_ok(idx, KSRC_SNAPSHOT,
		      "{\"kind\": \"List\", \"items\": [" KT_POD("a", "web-1", "10.224.5.6") ","
		      KT_POD("b", "db-0", "10.224.5.5") "]}");
	assert_int_equal(kindex__pod_conflicts(idx, msg, sizeof(msg)), 1);
	assert_string_equal(msg, "pods a/web-0 and b/db-0 both have address 10.224.5.5 (in the "
				 "--k8s snapshots): natwho names it after a/web-0, listed first");
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.224.1.5", 40000, "10.224.5.5", 80,
		 "10.224.5.5", 80);
	assert_int_equal(a.target.kind, K8S_KIND_POD);
	assert_string_equal(a.target.name, "web-0");
	kt_add_str_ok(idx, KSRC_SNAPSHOT,
		      "{\"kind\": \"List\", \"items\": [" KT_POD("c", "cache-0", "10.224.5.6") "]}");
	assert_int_equal(kindex__pod_conflicts(idx, msg, sizeof(msg)), 2);
	assert_string_equal(msg, "pods a/web-0 and b/db-0 both have address 10.224.5.5 (in the "
				 "--k8s snapshots): natwho names it after a/web-0, listed first");
	kindex__free(idx);
}

static void test_service_without_endpoints(void **state)
{
	struct kindex *idx = kindex__new();
	struct k8s_annot a;

	(void)state;
	kt_add_str_ok(idx, KSRC_SNAPSHOT,
		      "{\"kind\": \"List\", \"items\": ["
		      "{\"kind\": \"Service\", \"metadata\": {\"namespace\": \"e\", "
		      "\"name\": \"empty\"}, \"spec\": {\"clusterIP\": \"10.96.5.5\", "
		      "\"ports\": [{\"name\": \"http\", \"port\": 80, \"protocol\": \"TCP\"}]}},"
		      "{\"kind\": \"Service\", \"metadata\": {\"namespace\": \"e\", "
		      "\"name\": \"unsynced\"}, \"spec\": {\"clusterIP\": \"10.96.5.6\", "
		      "\"ports\": [{\"name\": \"http\", \"port\": 80, \"protocol\": \"TCP\"}]}},"
		      "{\"kind\": \"EndpointSlice\", \"metadata\": {\"namespace\": \"e\", "
		      "\"name\": \"empty-x1\", \"labels\": {\"kubernetes.io/service-name\": "
		      "\"empty\"}}, \"addressType\": \"IPv4\", \"endpoints\": [], "
		      "\"ports\": null}]}");
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.224.1.5", 40000, "10.96.5.5", 80,
		 "10.224.0.222", 3306);
	assert_int_equal(a.verdict, K8S_VERDICT_MISMATCH);
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.224.1.5", 40001, "10.96.5.6", 80,
		 "10.224.0.222", 3306);
	assert_int_equal(a.verdict, K8S_VERDICT_UNKNOWN);
	kindex__free(idx);
	/* the empty slice before its Service (`kubectl get endpointslices,
	 * services`): the same */
	idx = kindex__new();
	kt_add_str_ok(idx, KSRC_SNAPSHOT,
		      "{\"kind\": \"List\", \"items\": ["
		      "{\"kind\": \"EndpointSlice\", \"metadata\": {\"namespace\": \"e\", "
		      "\"name\": \"empty-x1\", \"labels\": {\"kubernetes.io/service-name\": "
		      "\"empty\"}}, \"addressType\": \"IPv4\", \"endpoints\": [], "
		      "\"ports\": null},"
		      "{\"kind\": \"Service\", \"metadata\": {\"namespace\": \"e\", "
		      "\"name\": \"empty\"}, \"spec\": {\"clusterIP\": \"10.96.5.5\", "
		      "\"ports\": [{\"name\": \"http\", \"port\": 80, \"protocol\": \"TCP\"}]}}]}");
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.224.1.5", 40000, "10.96.5.5", 80,
		 "10.224.0.222", 3306);
	assert_int_equal(a.verdict, K8S_VERDICT_MISMATCH);
	kindex__free(idx);
}

/*
 * fentry/kprobe see every network namespace; the index has the node's rules
 * only.  A pod's own namespace translating (a service mesh's REDIRECT to its
 * sidecar) is not the node's doing: UNKNOWN, never MISMATCH by the node's
 * rules; landing on an endpoint is still OK.  In the node's namespace (and
 * with no namespace known) the incident stays MISMATCH.
 */
static void test_foreign_netns(void **state)
{
	struct kindex *idx = kt_iptables_node(true);
	struct k8s_annot a;
	struct conn c;

	(void)state;
	kindex__set_node_netns(idx, 4026531840U);
	kt_conn(&c, AF_INET, IPPROTO_TCP, "10.224.1.5", 45232, "10.96.0.20", 3306, "127.0.0.1",
		15001);
	c.netns = 4026532177U;
	kindex__annotate(idx, &c, &a);
	assert_int_equal(a.verdict, K8S_VERDICT_UNKNOWN);
	assert_int_equal(a.via.kind, K8S_VIA_UNKNOWN);
	assert_reason(&a, "meant for Service a/mysql-a:3306, landed on 127.0.0.1:15001 via a rule "
			  "of network namespace 4026532177, whose rules natwho does not read (not "
			  "the node's)");
	/* the incident's translation seen in a pod's namespace: not convicted
	 * by the node's hostPort rule either */
	kt_conn(&c, AF_INET, IPPROTO_TCP, "10.224.1.5", 45233, "10.96.0.20", 3306,
		"10.224.0.222", 3306);
	c.netns = 4026532177U;
	kindex__annotate(idx, &c, &a);
	assert_int_equal(a.verdict, K8S_VERDICT_UNKNOWN);
	kt_conn(&c, AF_INET, IPPROTO_TCP, "10.224.1.5", 45234, "10.96.0.20", 3306, "10.224.1.5",
		3306);
	c.netns = 4026532177U;
	kindex__annotate(idx, &c, &a);
	assert_int_equal(a.verdict, K8S_VERDICT_OK);
	assert_reason(&a, "Service a/mysql-a:3306 -> endpoint pod a/mysql-a-0 via a rule of "
			  "network namespace 4026532177");
	/* to no Service: its namespace's rule, not one natwho failed to find */
	kt_conn(&c, AF_INET, IPPROTO_TCP, "10.224.1.5", 45235, "203.0.113.7", 443, "127.0.0.1",
		15001);
	c.netns = 4026532177U;
	kindex__annotate(idx, &c, &a);
	assert_int_equal(a.verdict, K8S_VERDICT_UNKNOWN);
	assert_reason(&a, "203.0.113.7:443 -> 127.0.0.1:15001, translated by a rule of network "
			  "namespace 4026532177, whose rules natwho does not read (not the node's)");
	/* the same connection in the node's namespace: the incident */
	kt_conn(&c, AF_INET, IPPROTO_TCP, "192.168.56.12", 45232, "10.96.0.20", 3306,
		"10.224.0.222", 3306);
	c.netns = 4026531840U;
	assert_false(kindex__annotate_again(idx, &c, &a));
	assert_int_equal(a.verdict, K8S_VERDICT_MISMATCH);
	assert_reason(&a, INCIDENT_REASON);
	/* the namespace is part of what a reused annotation must match */
	c.netns = 4026532177U;
	assert_false(kindex__annotate_again(idx, &c, &a));
	assert_int_equal(a.verdict, K8S_VERDICT_UNKNOWN);
	/* no node namespace known (a capture from before): the node's rules */
	kindex__set_node_netns(idx, 0);
	assert_false(kindex__annotate_again(idx, &c, &a));
	assert_int_equal(a.verdict, K8S_VERDICT_MISMATCH);
	kindex__free(idx);
}

/*
 * With the node's addresses known: portmap's rule acts only on local
 * destinations (-m addrtype --dst-type LOCAL).  The incident's ClusterIP is
 * on lo, so it still does; mysql-b's own ClusterIP is not local, so its
 * connection went through kube-proxy's chain, not the hostPort.
 */
static void test_hostport_local_only(void **state)
{
	struct kindex *idx = kt_iptables_node(true);
	struct k8s_annot a;

	(void)state;
	kt_add_ok(idx, KSRC_LOCAL_ADDRS, "ip-addr.txt");
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "192.168.56.12", 45232, "10.96.0.20", 3306,
		 "10.224.0.222", 3306);
	assert_int_equal(a.verdict, K8S_VERDICT_MISMATCH);
	assert_int_equal(a.via.kind, K8S_VIA_HOSTPORT);
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.224.0.9", 45232, "10.96.0.21", 3306,
		 "10.224.0.222", 3306);
	assert_int_equal(a.verdict, K8S_VERDICT_OK);
	assert_int_equal(a.via.kind, K8S_VIA_SERVICE);
	assert_string_equal(a.via.chain, "KUBE-SVC-BS3RYMFUES3KL4WB");
	kindex__free(idx);
}

/* A hostPort chain that nothing jumps to (portmap leaves them behind) did
 * not translate anything: never the "via". */
static void test_hostport_unreached(void **state)
{
	static const char jump[] = "-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "
				   "\"dnat name: \\\"cbr0\\\" id: \\\"9ab3c7e1";
	struct kindex *idx = kindex__new();
	size_t len;
	char *data = kt_fixture("iptables-save.txt", &len), *at, *eol;
	struct k8s_annot a;

	(void)state;
	at = strstr(data, jump); /* the jump to mysql-b's CNI-DN chain, cut out */
	assert_non_null(at);
	eol = strchr(at, '\n');
	assert_non_null(eol);
	memmove(at, eol + 1, strlen(eol + 1) + 1);
	kt_add_str_ok(idx, KSRC_IPTABLES_SAVE, data);
	free(data);
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "192.168.56.12", 45232, "10.96.0.20", 3306,
		 "10.224.0.222", 3306);
	assert_int_not_equal(a.via.kind, K8S_VIA_HOSTPORT);
	assert_int_equal(a.verdict, K8S_VERDICT_MISMATCH); /* still not mysql-a's endpoint */
	kindex__free(idx);
}

/*
 * An endpoint kube-proxy's rules have and the snapshot not yet (a scale-up
 * since kubectl ran, or a --k8s FILE taken before): its rule sent the
 * connection there, so it is the Service's endpoint: OK via the Service's
 * chain, not MISMATCH "via an unknown rule".
 */
static void test_endpoint_newer_than_snapshot(void **state)
{
	static const char decl[] = ":KUBE-SEP-NEWENDPOINT00000 - [0:0]\n";
	static const char rules[] =
		"-A KUBE-SVC-VXJIGVIU5VEEI2QQ -m comment --comment \"a/mysql-a:mysql -> "
		"10.224.1.6:3306\" -m statistic --mode random --probability 0.5 -j "
		"KUBE-SEP-NEWENDPOINT00000\n"
		"-A KUBE-SEP-NEWENDPOINT00000 -p tcp -m comment --comment \"a/mysql-a:mysql\" -m "
		"tcp -j DNAT --to-destination 10.224.1.6:3306\n";
	struct kindex *idx = kindex__new();
	size_t len;
	char *data = kt_fixture("iptables-save.txt", &len), *text, *nat, *svc;
	struct k8s_annot a;

	(void)state;
	nat = strstr(data, "*nat\n");
	svc = strstr(data, "-A KUBE-SVC-VXJIGVIU5VEEI2QQ -m comment");
	assert_non_null(nat);
	assert_non_null(svc);
	text = malloc(len + sizeof(decl) + sizeof(rules));
	assert_non_null(text);
	nat += 5;
	sprintf(text, "%.*s%s%.*s%s%s", (int)(nat - data), data, decl, (int)(svc - nat), nat, rules,
		svc);
	kt_add_str_ok(idx, KSRC_IPTABLES_SAVE, text);
	kt_add_ok(idx, KSRC_SNAPSHOT, "snapshot.json");
	free(text);
	free(data);
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.224.0.9", 40000, "10.96.0.20", 3306,
		 "10.224.1.6", 3306);
	assert_int_equal(a.verdict, K8S_VERDICT_OK);
	assert_int_equal(a.via.kind, K8S_VIA_SERVICE);
	assert_reason(&a, "Service a/mysql-a:3306 -> endpoint 10.224.1.6:3306 via "
			  "KUBE-SVC-VXJIGVIU5VEEI2QQ");
	/* the snapshot's endpoint still comes with its pod's name */
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.224.0.9", 40001, "10.96.0.20", 3306,
		 "10.224.1.5", 3306);
	assert_int_equal(a.verdict, K8S_VERDICT_OK);
	assert_int_equal(a.landed.kind, K8S_KIND_POD);
	kindex__free(idx);
}

/*
 * The same endpoint before natwho re-read the rules (kube-proxy seconds
 * ahead: a rollout, a scale-up), iptables and nftables mode: an address no
 * source names, no rule sends it there, the Service has endpoints: UNKNOWN,
 * not a MISMATCH "via an unknown rule".  Landing on a pod the snapshot
 * knows stays MISMATCH (what a hostPort maps to too: the incident's tests).
 */
static void test_endpoint_newer_than_rules(void **state)
{
	static const struct {
		enum ksrc_kind kind;
		const char *file;
	} rules[] = { { KSRC_IPTABLES_SAVE, "iptables-save.txt" },
		      { KSRC_NFT_JSON, "nft-kube-proxy.json" } };

	(void)state;
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		struct kindex *idx = kindex__new();
		struct k8s_annot a;

		kt_add_ok(idx, rules[i].kind, rules[i].file);
		kt_add_ok(idx, KSRC_SNAPSHOT, "snapshot.json");
		annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.224.0.9", 40000, "10.96.0.20", 3306,
			 "10.224.1.6", 3306);
		assert_int_equal(a.verdict, K8S_VERDICT_UNKNOWN);
		assert_reason(&a, "Service a/mysql-a:3306 -> 10.224.1.6:3306, an address no source "
				  "names and no rule natwho read sends it to: not among the "
				  "Service's endpoints as natwho last read them (an endpoint newer "
				  "than the rules and snapshot?)");
		/* a pod the snapshot knows, of another Service */
		annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.224.0.9", 40001, "10.96.0.20", 3306,
			 "10.224.0.7", 8080);
		assert_int_equal(a.verdict, K8S_VERDICT_MISMATCH);
		kindex__free(idx);
	}
}

/*
 * nft matches natwho once took too narrowly or not at all: `tcp dport >=
 * 30000` (an ordering, read as ==), `meta l4proto { tcp, udp }` (a set of
 * protocols: the rule was "not understood").
 */
static void test_nft_order_and_proto_set(void **state)
{
	static const char rules[] =
		"{\"nftables\": [{\"table\": {\"family\": \"ip\", \"name\": \"fwd\"}},"
		"{\"chain\": {\"family\": \"ip\", \"table\": \"fwd\", \"name\": \"pre\", \"type\": "
		"\"nat\", \"hook\": \"prerouting\", \"prio\": -100, \"policy\": \"accept\"}},"
		"{\"rule\": {\"family\": \"ip\", \"table\": \"fwd\", \"chain\": \"pre\", \"expr\": ["
		"{\"match\": {\"op\": \"==\", \"left\": {\"payload\": {\"protocol\": \"ip\", "
		"\"field\": \"daddr\"}}, \"right\": \"192.168.56.12\"}},"
		"{\"match\": {\"op\": \">=\", \"left\": {\"payload\": {\"protocol\": \"tcp\", "
		"\"field\": \"dport\"}}, \"right\": 30000}},"
		"{\"match\": {\"op\": \"<\", \"left\": {\"payload\": {\"protocol\": \"tcp\", "
		"\"field\": \"dport\"}}, \"right\": 32768}},"
		"{\"dnat\": {\"addr\": \"10.224.0.50\"}}]}},"
		"{\"rule\": {\"family\": \"ip\", \"table\": \"fwd\", \"chain\": \"pre\", \"expr\": ["
		"{\"match\": {\"op\": \"==\", \"left\": {\"meta\": {\"key\": \"l4proto\"}}, "
		"\"right\": {\"set\": [\"tcp\", \"udp\"]}}},"
		"{\"match\": {\"op\": \"==\", \"left\": {\"payload\": {\"protocol\": \"th\", "
		"\"field\": \"dport\"}}, \"right\": 53}},"
		"{\"dnat\": {\"addr\": \"10.0.0.53\"}}]}},"
		"{\"rule\": {\"family\": \"ip\", \"table\": \"fwd\", \"chain\": \"pre\", \"expr\": ["
		"{\"match\": {\"op\": \">=\", \"left\": {\"payload\": {\"protocol\": \"tcp\", "
		"\"field\": \"dport\"}}, \"right\": 1024}},"
		"{\"match\": {\"op\": \"==\", \"left\": {\"payload\": {\"protocol\": \"tcp\", "
		"\"field\": \"dport\"}}, \"right\": {\"set\": [80, 8080, 8443]}}},"
		"{\"dnat\": {\"addr\": \"10.0.0.80\"}}]}},"
		/* tcp dport 81 dnat to :8081: a port alone, the address stays */
		"{\"rule\": {\"family\": \"ip\", \"table\": \"fwd\", \"chain\": \"pre\", \"expr\": ["
		"{\"match\": {\"op\": \"==\", \"left\": {\"payload\": {\"protocol\": \"tcp\", "
		"\"field\": \"dport\"}}, \"right\": 81}}, {\"dnat\": {\"port\": 8081}}]}}]}";
	static const struct {
		uint8_t proto;
		const char *dst, *landed;
		uint16_t port;
		int via;
		uint16_t lport; /* 0: @port */
	} conns[] = {
		{ IPPROTO_TCP, "192.168.56.12", "10.224.0.50", 30000, K8S_VIA_RULE, 0 },
		{ IPPROTO_TCP, "192.168.56.12", "10.224.0.50", 32767, K8S_VIA_RULE, 0 },
		{ IPPROTO_TCP, "192.168.56.12", "10.224.0.50", 29999, K8S_VIA_UNKNOWN, 0 },
		{ IPPROTO_TCP, "192.168.56.12", "10.224.0.50", 32768, K8S_VIA_UNKNOWN, 0 },
		{ IPPROTO_UDP, "10.1.1.1", "10.0.0.53", 53, K8S_VIA_RULE, 0 },
		{ IPPROTO_TCP, "10.1.1.1", "10.0.0.53", 53, K8S_VIA_RULE, 0 },
		/* two port matches hold together: 8080 and 8443, not 80 or 3000 */
		{ IPPROTO_TCP, "10.1.1.2", "10.0.0.80", 8080, K8S_VIA_RULE, 0 },
		{ IPPROTO_TCP, "10.1.1.2", "10.0.0.80", 80, K8S_VIA_UNKNOWN, 0 },
		{ IPPROTO_TCP, "10.1.1.2", "10.0.0.80", 3000, K8S_VIA_UNKNOWN, 0 },
		{ IPPROTO_TCP, "10.1.1.3", "10.1.1.3", 81, K8S_VIA_RULE, 8081 },
		{ IPPROTO_TCP, "10.1.1.3", "10.0.0.81", 81, K8S_VIA_UNKNOWN, 8081 },
	};
	struct kindex *idx = kindex__new();
	struct kindex_stats st;
	struct k8s_annot a;

	(void)state;
	kt_add_str_ok(idx, KSRC_NFT_JSON, rules);
	kindex__stats(idx, &st);
	assert_int_equal(st.skipped_rules, 0);
	for (size_t i = 0; i < sizeof(conns) / sizeof(conns[0]); i++) {
		annotate(idx, &a, AF_INET, conns[i].proto, "10.0.0.9", 40000, conns[i].dst,
			 conns[i].port, conns[i].landed,
			 conns[i].lport ? conns[i].lport : conns[i].port);
		if ((int)a.via.kind != conns[i].via)
			fail_msg("%s:%u: via %d, want %d", conns[i].dst, conns[i].port, a.via.kind,
				 conns[i].via);
	}
	kindex__free(idx);
}

/*
 * A ruleset translated for nft (iptables-restore-translate) keeps iptables'
 * table and chain names: `table ip nat` with a `PREROUTING` base chain,
 * iptables-nft's by its look.  iptables-nft's iptables-save prints no rule
 * of it, only "# Table `nat' is incompatible": nft's dump is then read for
 * it.  Where iptables-save printed that table's rules, nft's copy is
 * skipped as before.  An iptables-nft rule (an "xt" target) beside the
 * native ones cannot be read from either dump: counted, not guessed.
 */
static void test_nft_translated_nat(void **state)
{
	static const char incompatible[] = "# Table `nat' is incompatible, use 'nft' tool.\n";
	static const char compatible[] =
		"*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -d 10.96.0.1/32 -p tcp -j DNAT "
		"--to-destination 10.224.0.1\nCOMMIT\n";
	static const char rules[] =
		"{\"nftables\": [{\"table\": {\"family\": \"ip\", \"name\": \"nat\"}},"
		"{\"chain\": {\"family\": \"ip\", \"table\": \"nat\", \"name\": \"PREROUTING\", "
		"\"type\": \"nat\", \"hook\": \"prerouting\", \"prio\": -100, \"policy\": \"accept\"}},"
		"{\"rule\": {\"family\": \"ip\", \"table\": \"nat\", \"chain\": \"PREROUTING\", "
		"\"expr\": [" NFT_DPORT("3306") ","
		"{\"dnat\": {\"addr\": \"10.224.0.30\", \"port\": 3306}}]}}%s]}";
	static const char xt_rule[] =
		",{\"rule\": {\"family\": \"ip\", \"table\": \"nat\", \"chain\": \"PREROUTING\", "
		"\"expr\": [" NFT_DPORT("80") ", {\"counter\": {\"packets\": 0, "
		"\"bytes\": 0}}, {\"xt\": {\"type\": \"target\", \"name\": \"DNAT\"}}]}}";
	static const struct {
		const char *ipt; /* NULL: no iptables-save dump */
		bool xt, read;
	} cases[] = {
		{ incompatible, false, true },
		{ incompatible, true, true },
		{ compatible, false, false },
		{ NULL, false, false },
	};
	char nft[4096];

	(void)state;
	assert_int_equal(kindex__ipt_nat_said(incompatible, strlen(incompatible)), KIPT_NAT_INCOMPATIBLE);
	assert_int_equal(kindex__ipt_nat_said(compatible, strlen(compatible)), KIPT_NAT_OWN);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct kindex *idx = kindex__new();
		struct kindex_stats st;
		struct k8s_annot a;

		if (cases[i].ipt)
			kt_add_str_ok(idx, KSRC_IPTABLES_SAVE, cases[i].ipt);
		snprintf(nft, sizeof(nft), rules, cases[i].xt ? xt_rule : "");
		kt_add_str_ok(idx, KSRC_NFT_JSON, nft);
		annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.0.0.9", 40000, "192.168.56.12", 3306,
			 "10.224.0.30", 3306);
		kindex__stats(idx, &st);
		if ((a.via.kind == K8S_VIA_RULE) != cases[i].read)
			fail_msg("case %zu: via %d, want the nat table %sread", i, a.via.kind,
				 cases[i].read ? "" : "not ");
		if (cases[i].read)
			assert_string_equal(a.via.table, "nat");
		assert_int_equal(st.xt_unread, cases[i].xt);
		kindex__free(idx);
	}
}

/*
 * iptables 1.8.8 and later: a base chain nft added to iptables-nft's nat
 * table (the nftables wiki's NAT recipe on a node where Docker or kube-proxy
 * use iptables) is left out of iptables-save, which says the table "contains
 * incompatible base-chains" and prints the rest.  nft's dump reads what that
 * chain reaches, and nothing of iptables' own chains (no rule twice).
 */
static void test_nft_tainted_nat(void **state)
{
	static const char ipt[] =
		"# Table `nat' contains incompatible base-chains, use 'nft' tool to list them.\n"
		"*nat\n:PREROUTING ACCEPT [0:0]\n"
		"-A PREROUTING -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.0.0.1:80\n"
		"COMMIT\n";
	static const char nft[] =
		"{\"nftables\": [{\"table\": {\"family\": \"ip\", \"name\": \"nat\"}},"
		"{\"chain\": {\"family\": \"ip\", \"table\": \"nat\", \"name\": \"PREROUTING\", "
		"\"type\": \"nat\", \"hook\": \"prerouting\", \"prio\": -100, \"policy\": \"accept\"}},"
		"{\"chain\": {\"family\": \"ip\", \"table\": \"nat\", \"name\": \"prerouting\", "
		"\"type\": \"nat\", \"hook\": \"prerouting\", \"prio\": -100, \"policy\": \"accept\"}},"
		"{\"chain\": {\"family\": \"ip\", \"table\": \"nat\", \"name\": \"fwd\"}},"
		"{\"chain\": {\"family\": \"ip\", \"table\": \"nat\", \"name\": \"OWN\"}},"
		"{\"rule\": {\"family\": \"ip\", \"table\": \"nat\", \"chain\": \"PREROUTING\", "
		"\"expr\": [" NFT_DPORT("80") ", {\"counter\": null}, "
		"{\"xt\": {\"type\": \"target\", \"name\": \"DNAT\"}}]}},"
		/* iptables' own chain's native rules (a jump, a DNAT nft can show
		 * but iptables-save prints, as -j DNAT would be): not read here */
		"{\"rule\": {\"family\": \"ip\", \"table\": \"nat\", \"chain\": \"PREROUTING\", "
		"\"expr\": [{\"jump\": {\"target\": \"OWN\"}}]}},"
		"{\"rule\": {\"family\": \"ip\", \"table\": \"nat\", \"chain\": \"OWN\", "
		"\"expr\": [" NFT_DPORT("81") ", "
		"{\"dnat\": {\"addr\": \"10.0.0.2\", \"port\": 81}}]}},"
		"{\"rule\": {\"family\": \"ip\", \"table\": \"nat\", \"chain\": \"prerouting\", "
		"\"expr\": [{\"jump\": {\"target\": \"fwd\"}}]}},"
		"{\"rule\": {\"family\": \"ip\", \"table\": \"nat\", \"chain\": \"fwd\", "
		"\"expr\": [" NFT_DADDR("==", "\"10.96.0.20\"") ","
		NFT_DPORT("3306") ","
		"{\"dnat\": {\"addr\": \"10.224.0.222\", \"port\": 3306}}]}}]}";
	struct kindex *idx = kindex__new();
	struct kindex_stats st;
	struct k8s_annot a;

	(void)state;
	assert_int_equal(kindex__ipt_nat_said(ipt, strlen(ipt)), KIPT_NAT_TAINTED);
	kt_add_str_ok(idx, KSRC_IPTABLES_SAVE, ipt);
	kt_add_str_ok(idx, KSRC_NFT_JSON, nft);
	kindex__stats(idx, &st);
	assert_int_equal(st.rules, 2); /* iptables-save's, and nft's chain's: once each */
	assert_int_equal(st.xt_unread, 0);
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.0.0.9", 40000, "10.96.0.20", 3306,
		 "10.224.0.222", 3306);
	assert_int_equal(a.via.kind, K8S_VIA_RULE);
	assert_string_equal(a.via.chain, "fwd");
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.0.0.9", 40000, "10.96.0.21", 80, "10.0.0.1",
		 80);
	assert_int_equal(a.via.kind, K8S_VIA_RULE);
	assert_string_equal(a.via.chain, "PREROUTING");
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.0.0.9", 40000, "10.96.0.21", 81, "10.0.0.2",
		 81);
	assert_int_not_equal(a.via.kind, K8S_VIA_RULE);
	kindex__free(idx);
}

/*
 * A table of nft's own with base chains named as iptables' (Podman's
 * netavark: `table inet netavark`, chain PREROUTING): read, as every table
 * not iptables-nft's is; only an ip or ip6 table named as iptables' own
 * (nat, filter, ...) looks like iptables-nft's.
 */
static void test_nft_upper_case_own_table(void **state)
{
	static const char nft[] =
		"{\"nftables\": [{\"table\": {\"family\": \"inet\", \"name\": \"netavark\"}},"
		"{\"chain\": {\"family\": \"inet\", \"table\": \"netavark\", \"name\": "
		"\"PREROUTING\", \"type\": \"nat\", \"hook\": \"prerouting\", \"prio\": -100}},"
		"{\"chain\": {\"family\": \"inet\", \"table\": \"netavark\", \"name\": "
		"\"NETAVARK-HOSTPORT-DNAT\"}},"
		"{\"rule\": {\"family\": \"inet\", \"table\": \"netavark\", \"chain\": "
		"\"PREROUTING\", \"expr\": [{\"match\": {\"op\": \"==\", \"left\": {\"fib\": "
		"{\"result\": \"type\", \"flags\": [\"daddr\"]}}, \"right\": \"local\"}}, "
		"{\"jump\": {\"target\": \"NETAVARK-HOSTPORT-DNAT\"}}]}},"
		"{\"rule\": {\"family\": \"inet\", \"table\": \"netavark\", \"chain\": "
		"\"NETAVARK-HOSTPORT-DNAT\", \"expr\": [" NFT_DPORT("8080") ","
		"{\"dnat\": {\"family\": \"ip\", \"addr\": \"10.88.0.2\", \"port\": 80}}]}},"
		/* dnat ip to :9090: a port alone, its family named */
		"{\"rule\": {\"family\": \"inet\", \"table\": \"netavark\", \"chain\": "
		"\"NETAVARK-HOSTPORT-DNAT\", \"expr\": [" NFT_DPORT("8081") ","
		"{\"dnat\": {\"family\": \"ip\", \"port\": 9090}}]}}]}";
	struct kindex *idx = kindex__new();
	struct k8s_annot a;

	(void)state;
	kt_add_str_ok(idx, KSRC_NFT_JSON, nft);
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.0.0.9", 40000, "192.168.56.12", 8080,
		 "10.88.0.2", 80);
	assert_int_equal(a.via.kind, K8S_VIA_RULE);
	assert_string_equal(a.via.table, "netavark");
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.0.0.9", 40000, "192.168.56.12", 8081,
		 "192.168.56.12", 9090);
	assert_int_equal(a.via.kind, K8S_VIA_RULE);
	kindex__free(idx);
}

/*
 * iptables-save lines natwho dropped whole: a protocol by a name of
 * /etc/protocols (`-p esp`; one natwho does not know matches nothing), and another
 * match's `--to` (`-m string ... --to 65535`) before `-j DNAT`.  ESP
 * reaches the chain by a `-p esp` jump of its own.
 */
static void test_ipt_odd_lines(void **state)
{
	static const char rules[] =
		"*nat\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:FWD - [0:0]\n"
		"-A PREROUTING -p esp -j FWD\n"
		"-A PREROUTING -p tcp -j FWD\n"
		"-A FWD -p esp -j DNAT --to-destination 10.0.0.5\n"
		"-A FWD -p frobnicate -j DNAT --to-destination 10.0.0.7\n"
		"-A FWD -p tcp -m tcp --dport 86 -m string --string \"x\" --algo bm --to 65535 -j DNAT "
		"--to-destination 10.0.0.6\n"
		"-A FWD -p tcp -m tcp --dport 80 -j DNAT --to-destination :8080\n"
		"COMMIT\n";
	struct kindex *idx = kindex__new();
	struct kindex_stats st;
	struct k8s_annot a;

	(void)state;
	kt_add_str_ok(idx, KSRC_IPTABLES_SAVE, rules);
	kindex__stats(idx, &st);
	assert_int_equal(st.skipped_rules, 0);
	annotate(idx, &a, AF_INET, IPPROTO_ESP, "10.0.0.9", 0, "10.9.9.9", 0, "10.0.0.5", 0);
	assert_int_equal(a.via.kind, K8S_VIA_RULE);
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.0.0.9", 40000, "10.9.9.9", 86, "10.0.0.6", 86);
	assert_int_equal(a.via.kind, K8S_VIA_RULE);
	assert_string_equal(a.via.rule, "-A FWD -p tcp -m tcp --dport 86 -m string --string \"x\" "
					"--algo bm --to 65535 -j DNAT --to-destination 10.0.0.6");
	/* a name nothing knows: a protocol of no connection natwho names, not
	 * any protocol (it made false shadows of every Service) */
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.0.0.9", 40000, "10.9.9.9", 99, "10.0.0.7", 99);
	assert_int_not_equal(a.via.kind, K8S_VIA_RULE);
	/* a port alone (`--to-destination :8080`): the address stays */
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.0.0.9", 40000, "10.9.9.9", 80, "10.9.9.9", 8080);
	assert_int_equal(a.via.kind, K8S_VIA_RULE);
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.0.0.9", 40000, "10.9.9.9", 80, "10.0.0.8", 8080);
	assert_int_not_equal(a.via.kind, K8S_VIA_RULE);
	kindex__free(idx);
}

/*
 * Of two rules that would translate a connection, the one it met first, by
 * the path it could take: FWDA is reached first for local destinations
 * only (rule 1) and for any only after FWDB (rule 3), so a connection to an
 * address not this node's met FWDB's DNAT first.
 */
static void test_rule_by_path(void **state)
{
	static const char rules[] =
		"*nat\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:FWDA - [0:0]\n:FWDB - [0:0]\n"
		"-A PREROUTING -m addrtype --dst-type LOCAL -j FWDA\n"
		"-A PREROUTING -i eth1 -j FWDB\n"
		"-A PREROUTING -i eth1 -j FWDA\n"
		"-A FWDA -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.0.0.5:80\n"
		"-A FWDB -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.0.0.5:80\n"
		"COMMIT\n";
	struct kindex *idx = kindex__new();
	struct k8s_annot a;

	(void)state;
	kt_add_str_ok(idx, KSRC_IPTABLES_SAVE, rules);
	kt_add_ok(idx, KSRC_LOCAL_ADDRS, "ip-addr.txt");
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.0.0.9", 40000, "203.0.113.7", 80, "10.0.0.5", 80);
	assert_int_equal(a.via.kind, K8S_VIA_RULE);
	assert_string_equal(a.via.chain, "FWDB");
	/* to a local address, FWDA's local-only path came first */
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.0.0.9", 40001, "10.96.0.20", 80, "10.0.0.5", 80);
	assert_string_equal(a.via.chain, "FWDA");
	kindex__free(idx);
}

/* Without a snapshot the rules alone tell the story. */
static void test_incident_rules_only(void **state)
{
	struct kindex *idx = kt_iptables_node(false);
	struct k8s_annot a;

	(void)state;
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "192.168.56.12", 45232, "10.96.0.20", 3306,
		 "10.224.0.222", 3306);
	assert_int_equal(a.verdict, K8S_VERDICT_MISMATCH);
	assert_string_equal(a.target.name, "mysql-a");
	assert_int_equal(a.landed.kind, K8S_KIND_UNKNOWN);
	assert_reason(&a, "meant for Service a/mysql-a:3306, landed on 10.224.0.222:3306 via "
			  "hostPort 3306 (CNI-DN-b9f77ce9929d8b97cf089, sandbox 9ab3c7e1f4d2)");
	/* The Service's own endpoint, no pod names: said once, not "endpoint
	 * external endpoint ..." */
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.224.0.9", 40000, "10.96.0.20", 3306,
		 "10.224.1.5", 3306);
	assert_int_equal(a.verdict, K8S_VERDICT_OK);
	/* the rules do not say whether it is a pod: not "external" */
	assert_int_equal(a.landed.kind, K8S_KIND_UNKNOWN);
	assert_reason(&a, "Service a/mysql-a:3306 -> endpoint 10.224.1.5:3306 via "
			  "KUBE-SVC-VXJIGVIU5VEEI2QQ");
	kindex__free(idx);
}

static void test_ok_endpoint(void **state)
{
	struct kindex *idx = kt_iptables_node(true);
	struct k8s_annot a;

	(void)state;
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.224.0.9", 40000, "10.96.0.20", 3306,
		 "10.224.1.5", 3306);
	assert_int_equal(a.verdict, K8S_VERDICT_OK);
	assert_int_equal(a.via.kind, K8S_VIA_SERVICE);
	assert_string_equal(a.via.chain, "KUBE-SVC-VXJIGVIU5VEEI2QQ");
	assert_string_equal(a.landed.name, "mysql-a-0");
	assert_int_equal(a.source.kind, K8S_KIND_POD);
	assert_string_equal(a.source.name, "client-5f6d8b7c9-zt6wp");
	assert_reason(&a, "Service a/mysql-a:3306 -> endpoint pod a/mysql-a-0 via "
			  "KUBE-SVC-VXJIGVIU5VEEI2QQ");
	/* a DNS query over UDP to a statistic-balanced Service */
	annotate(idx, &a, AF_INET, IPPROTO_UDP, "10.224.0.9", 53000, "10.96.0.10", 53, "10.224.1.2",
		 53);
	assert_int_equal(a.verdict, K8S_VERDICT_OK);
	assert_string_equal(a.landed.name, "coredns-7db6d8ff4d-w8z5m");
	/* node-1's NodePort from node-2: kube-proxy translates it there, not
	 * here (KUBE-NODEPORTS only for local destinations); without the node's
	 * own addresses natwho cannot tell the nodes apart */
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.224.0.9", 40000, "192.168.56.11", 30080,
		 "192.168.56.11", 30080);
	assert_int_equal(a.verdict, K8S_VERDICT_UNKNOWN);
	kt_add_ok(idx, KSRC_LOCAL_ADDRS, "local-addrs.txt");
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.224.0.9", 40000, "192.168.56.11", 30080,
		 "192.168.56.11", 30080);
	assert_int_equal(a.verdict, K8S_VERDICT_OK);
	assert_int_equal(a.target.kind, K8S_KIND_NODE);
	/* this node's NodePort: via the chain KUBE-NODEPORTS jumps to (the
	 * snapshot's entry has none; it named the ClusterIP's KUBE-SVC) */
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.224.0.9", 40000, "192.168.56.12", 30080,
		 "10.224.0.7", 8080);
	assert_int_equal(a.verdict, K8S_VERDICT_OK);
	assert_int_equal(a.target.kind, K8S_KIND_NODE_PORT);
	assert_string_equal(a.target.name, "web");
	assert_string_equal(a.via.chain, "KUBE-EXT-CDGGSHYLG3RE2FKL");
	kindex__free(idx);
	/* ... whichever source came first */
	idx = kindex__new();
	kt_add_ok(idx, KSRC_SNAPSHOT, "snapshot.json");
	kt_add_ok(idx, KSRC_IPTABLES_SAVE, "iptables-save.txt");
	kt_add_ok(idx, KSRC_LOCAL_ADDRS, "local-addrs.txt");
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.224.0.9", 40000, "192.168.56.12", 30080,
		 "10.224.0.7", 8080);
	assert_int_equal(a.verdict, K8S_VERDICT_OK);
	assert_string_equal(a.via.chain, "KUBE-EXT-CDGGSHYLG3RE2FKL");
	kindex__free(idx);
}

static void test_not_ready_endpoint(void **state)
{
	struct kindex *idx = kt_iptables_node(true);
	struct k8s_annot a;

	(void)state;
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.224.0.9", 40000, "10.96.0.30", 80, "10.224.1.8",
		 8080);
	assert_int_equal(a.verdict, K8S_VERDICT_OK);
	assert_true(a.via.not_ready);
	assert_reason(&a, "Service default/web:80 -> endpoint pod default/web-6b7f9c5d48-q8r4t "
			  "via KUBE-SVC-CDGGSHYLG3RE2FKL (endpoint not ready)");
	kindex__free(idx);
}

static void test_unknown(void **state)
{
	struct kindex *idx = kt_iptables_node(true);
	struct k8s_annot a;

	(void)state;
	/* translated by something no source knows */
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.224.0.9", 40000, "198.51.100.1", 8080,
		 "10.9.9.9", 80);
	assert_int_equal(a.verdict, K8S_VERDICT_UNKNOWN);
	assert_int_equal(a.target.kind, K8S_KIND_UNKNOWN);
	assert_int_equal(a.via.kind, K8S_VIA_UNKNOWN);
	assert_reason(&a, "198.51.100.1:8080 -> 10.9.9.9:80, no known rule explains the "
			  "translation");
	/* a Service address that was not translated */
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.224.0.9", 40000, "10.96.0.20", 3306,
		 "10.96.0.20", 3306);
	assert_int_equal(a.verdict, K8S_VERDICT_UNKNOWN);
	assert_int_equal(a.via.kind, K8S_VIA_NONE);
	/* an empty index knows nothing */
	kindex__free(idx);
	idx = kindex__new();
	assert_true(kindex__empty(idx));
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.224.0.9", 40000, "10.96.0.20", 3306,
		 "10.224.0.222", 3306);
	assert_int_equal(a.verdict, K8S_VERDICT_UNKNOWN);
	kindex__free(idx);
}

static void test_no_translation(void **state)
{
	struct kindex *idx = kt_iptables_node(true);
	struct k8s_annot a;

	(void)state;
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.224.0.9", 40000, "10.224.1.5", 3306,
		 "10.224.1.5", 3306);
	assert_int_equal(a.verdict, K8S_VERDICT_OK);
	assert_int_equal(a.target.kind, K8S_KIND_POD);
	assert_string_equal(a.target.name, "mysql-a-0");
	assert_int_equal(a.via.kind, K8S_VIA_NONE);
	assert_reason(&a, "pod a/mysql-a-0, no destination translation");
	/* ICMP to a ClusterIP: Services match by port; not "not a known
	 * Service address" */
	annotate(idx, &a, AF_INET, IPPROTO_ICMP, "10.224.0.9", 0, "10.96.0.20", 0, "10.96.0.20", 0);
	assert_int_equal(a.verdict, K8S_VERDICT_OK);
	assert_reason(&a, "10.96.0.20: icmp has no ports for a Service port to match, no "
			  "destination translation");
	kindex__free(idx);
}

/* hostNetwork endpoints are named by pod, from the slice or container port. */
static void test_host_network(void **state)
{
	struct kindex *idx = kt_iptables_node(true);
	struct k8s_annot a;

	(void)state;
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.224.0.9", 40000, "10.96.0.1", 443,
		 "192.168.56.11", 6443);
	assert_int_equal(a.verdict, K8S_VERDICT_OK);
	assert_int_equal(a.landed.kind, K8S_KIND_POD);
	assert_string_equal(a.landed.name, "kube-apiserver-node-1");
	assert_string_equal(a.landed.node, "node-1");
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.224.0.9", 40000, "10.96.0.40", 9100,
		 "192.168.56.12", 9100);
	assert_int_equal(a.verdict, K8S_VERDICT_OK);
	assert_string_equal(a.landed.name, "node-exporter-p7x2d");
	/* a hostNetwork process talking from the node */
	assert_int_equal(a.source.kind, K8S_KIND_POD);
	/* the node address itself, on a port no pod declares */
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.224.0.9", 40000, "192.168.56.11", 22,
		 "192.168.56.11", 22);
	assert_int_equal(a.target.kind, K8S_KIND_NODE);
	assert_string_equal(a.target.name, "node-1");
	kindex__free(idx);
}

static void test_ipv6(void **state)
{
	struct kindex *idx = kt_iptables_node(true);
	struct k8s_annot a;

	(void)state;
	annotate(idx, &a, AF_INET6, IPPROTO_TCP, "fd00:10:224::30", 40000, "fd00:10:96::30", 80,
		 "fd00:10:224::7", 8080);
	assert_int_equal(a.verdict, K8S_VERDICT_OK);
	assert_string_equal(a.landed.name, "web-6b7f9c5d48-x2x9k");
	assert_string_equal(a.source.name, "debug-0");
	/* debug-0's hostPort 30080 takes the NodePort of Service web on node-2 */
	annotate(idx, &a, AF_INET6, IPPROTO_TCP, "fd00:56::99", 40000, "fd00:56::12", 30080,
		 "fd00:10:224::30", 80);
	assert_int_equal(a.verdict, K8S_VERDICT_MISMATCH);
	assert_int_equal(a.target.kind, K8S_KIND_NODE_PORT);
	assert_int_equal(a.via.kind, K8S_VIA_HOSTPORT);
	assert_reason(&a, "meant for NodePort 30080 of Service default/web, landed on pod "
			  "default/debug-0 via hostPort 30080 (CNI-DN-04d9418aabfd632f04e59, "
			  "sandbox 5e1f0c2d3b4a)");
	kindex__free(idx);
}

static void test_external_and_rules(void **state)
{
	struct kindex *idx = kt_iptables_node(true);
	struct k8s_annot a;

	(void)state;
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "203.0.113.50", 40000, "192.168.56.100", 80,
		 "10.224.0.7", 8080);
	assert_int_equal(a.verdict, K8S_VERDICT_OK);
	assert_int_equal(a.target.kind, K8S_KIND_EXTERNAL_IP);
	assert_string_equal(a.via.chain, "KUBE-EXT-CDGGSHYLG3RE2FKL");
	/* docker's port publishing: another DNAT rule, to a non-Service address */
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "203.0.113.50", 40000, "192.168.56.12", 8080,
		 "172.17.0.2", 80);
	assert_int_equal(a.verdict, K8S_VERDICT_OK);
	assert_int_equal(a.via.kind, K8S_VIA_RULE);
	assert_string_equal(a.via.chain, "DOCKER");
	assert_string_equal(a.via.rule, "-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT "
					"--to-destination 172.17.0.2:80");
	assert_reason(&a, "node node-2 (192.168.56.12:8080) -> 172.17.0.2:80 via a DNAT rule in "
			  "chain DOCKER");
	kindex__free(idx);
}

/* IPVS mode: ClusterIPs on kube-ipvs0, the names from the snapshot or none. */
static void test_ipvs(void **state)
{
	struct kindex *idx = kindex__new();
	struct k8s_annot a;

	(void)state;
	kt_add_ipvs_node(idx, "iptables-save-ipvs.txt");
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "192.168.56.12", 45232, "10.96.0.20", 3306,
		 "10.224.0.222", 3306);
	assert_int_equal(a.verdict, K8S_VERDICT_MISMATCH);
	assert_reason(&a, "meant for Service 10.96.0.20:3306 (name unknown), landed on "
			  "10.224.0.222:3306 via hostPort 3306 (CNI-DN-b9f77ce9929d8b97cf089, "
			  "sandbox 9ab3c7e1f4d2)");
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "192.168.56.12", 45233, "10.96.0.20", 3306,
		 "10.224.1.5", 3306);
	assert_int_equal(a.verdict, K8S_VERDICT_UNKNOWN);
	assert_int_equal(a.via.kind, K8S_VIA_IPVS);
	/* no snapshot to blame: nothing lists the endpoints */
	assert_reason(&a, "Service 10.96.0.20:3306 (name unknown) -> 10.224.1.5:3306 via IPVS; the "
			  "Service's endpoints are not known");
	kt_add_ok(idx, KSRC_SNAPSHOT, "snapshot.json");
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "192.168.56.12", 45233, "10.96.0.20", 3306,
		 "10.224.1.5", 3306);
	assert_int_equal(a.verdict, K8S_VERDICT_OK);
	assert_int_equal(a.via.kind, K8S_VIA_IPVS);
	assert_reason(&a, "Service a/mysql-a:3306 -> endpoint pod a/mysql-a-0 via IPVS");
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "192.168.56.12", 45232, "10.96.0.20", 3306,
		 "10.224.0.222", 3306);
	assert_int_equal(a.verdict, K8S_VERDICT_MISMATCH);
	assert_reason(&a, INCIDENT_REASON);
	/* IPVS to a real server the snapshot does not list (a pod recreated
	 * since): the snapshot is older than the endpoints, not a hijack */
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "192.168.56.12", 45234, "10.96.0.20", 3306,
		 "10.224.1.17", 3306);
	assert_int_equal(a.verdict, K8S_VERDICT_UNKNOWN);
	assert_int_equal(a.via.kind, K8S_VIA_IPVS);
	assert_reason(&a, "Service a/mysql-a:3306 -> 10.224.1.17:3306 via IPVS, a real server "
			  "that is not among the Service's endpoints as natwho last read them (older than "
			  "the endpoints?)");
	/* a ClusterIP on kube-ipvs0 is no NodePort address in IPVS mode: web's
	 * NodePort number there is not web's */
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.224.0.9", 45235, "10.96.0.20", 30080,
		 "10.224.0.30", 80);
	assert_int_not_equal(a.target.kind, K8S_KIND_NODE_PORT);
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.224.0.9", 45236, "192.168.56.12", 30080,
		 "10.224.0.7", 8080);
	assert_int_equal(a.target.kind, K8S_KIND_NODE_PORT);
	kindex__free(idx);
}

/*
 * The incident with kubelet's own hostport manager (kubenet, dockershim;
 * CRI-O writes the same) instead of portmap: its chains are KUBE-HOSTPORTS
 * and KUBE-HP-*, kube-proxy's prefix but not kube-proxy's.  The hostPort
 * comes from the rule's comment, "NAME_NAMESPACE hostport N", as does the
 * pod; its DNAT rule has no --dport.
 */
static void test_kubelet_hostport(void **state)
{
	struct kindex *idx = kindex__new();
	struct k8s_annot a;

	(void)state;
	kt_add_ipvs_node(idx, "iptables-save-kubelet-hp.txt");
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "192.168.56.12", 45232, "10.96.0.20", 3306,
		 "10.224.0.222", 3306);
	assert_int_equal(a.verdict, K8S_VERDICT_MISMATCH);
	assert_int_equal(a.via.kind, K8S_VIA_HOSTPORT);
	assert_string_equal(a.via.chain, "KUBE-HP-4YVONL46AKYWSKS3");
	assert_reason(&a, "meant for Service 10.96.0.20:3306 (name unknown), landed on "
			  "pod b/mysql-b-0 via hostPort 3306 (KUBE-HP-4YVONL46AKYWSKS3)");
	assert_string_equal(a.via.ns, "b");
	assert_string_equal(a.via.name, "mysql-b-0");
	kindex__free(idx);
}

/*
 * The incident's own Kubernetes, v1.15: no EndpointSlices; v1 Endpoints
 * (ready and not-ready addresses), podIP and clusterIP alone.  Its
 * endpoints are the Services' endpoints: mysql-b's own connection to its
 * pod is no false alarm, mysql-a's is OK, the incident is named.
 */
static void test_endpoints_v1(void **state)
{
	struct kindex *idx = kindex__new();
	struct kindex_stats st;
	struct k8s_annot a;

	(void)state;
	kt_add_ok(idx, KSRC_SNAPSHOT, "snapshot-v1.15.json");
	kindex__stats(idx, &st);
	assert_int_equal(st.skipped_objects, 0);
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.224.0.9", 45232, "10.96.0.21", 3306,
		 "10.224.0.222", 3306);
	assert_int_equal(a.verdict, K8S_VERDICT_OK);
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.224.0.9", 45233, "10.96.0.20", 3306,
		 "10.224.1.5", 3306);
	assert_int_equal(a.verdict, K8S_VERDICT_OK);
	assert_reason(&a, "Service a/mysql-a:3306 -> endpoint pod a/mysql-a-0 via kube-proxy");
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.224.0.9", 40000, "10.96.0.30", 80, "10.224.1.8",
		 8080);
	assert_int_equal(a.verdict, K8S_VERDICT_OK);
	assert_true(a.via.not_ready);
	kt_add_ipvs_node(idx, "iptables-save-ipvs.txt");
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "192.168.56.12", 45232, "10.96.0.20", 3306,
		 "10.224.0.222", 3306);
	assert_int_equal(a.verdict, K8S_VERDICT_MISMATCH);
	assert_reason(&a, INCIDENT_REASON);
	kindex__free(idx);
}

/*
 * IPVS mode without `ipset save` (kube-proxy brings its own ipset; the node
 * may have none): the addresses on kube-ipvs0 are all that says "Service".
 * The incident is still a MISMATCH, not a hostPort doing its job on a
 * local address; IPVS's own translation is UNKNOWN (endpoints not known).
 */
static void test_ipvs_without_ipset(void **state)
{
	struct kindex *idx = kindex__new();
	struct kindex_stats st;
	struct k8s_annot a;

	(void)state;
	kt_add_ok(idx, KSRC_IPTABLES_SAVE, "iptables-save-ipvs.txt");
	kt_add_ok(idx, KSRC_LOCAL_ADDRS, "ip-addr-ipvs.txt");
	kindex__stats(idx, &st); /* what natwho warns about at start */
	assert_true(st.ipvs);
	assert_false(st.ipvs_sets);
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "192.168.56.12", 45232, "10.96.0.20", 3306,
		 "10.224.0.222", 3306);
	assert_int_equal(a.verdict, K8S_VERDICT_MISMATCH);
	assert_int_equal(a.via.kind, K8S_VIA_HOSTPORT);
	assert_reason(&a, "meant for Service 10.96.0.20:3306 (name unknown), landed on "
			  "10.224.0.222:3306 via hostPort 3306 (CNI-DN-b9f77ce9929d8b97cf089, "
			  "sandbox 9ab3c7e1f4d2)");
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "192.168.56.12", 45233, "10.96.0.20", 3306,
		 "10.224.1.5", 3306);
	assert_int_equal(a.verdict, K8S_VERDICT_UNKNOWN);
	assert_int_equal(a.via.kind, K8S_VIA_IPVS);
	/* the node's own address stays a hostPort's to take */
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "192.168.56.1", 45234, "192.168.56.12", 3306,
		 "10.224.0.222", 3306);
	assert_int_equal(a.verdict, K8S_VERDICT_OK);
	assert_int_equal(a.via.kind, K8S_VIA_HOSTPORT);
	kindex__free(idx);
}

/* Node-2 in IPVS mode without ipset (as test_ipvs_without_ipset), with
 * IPVS's table read from /proc/net/ip_vs; @snapshot: and the snapshot. */
static struct kindex *ipvs_table_node(bool snapshot)
{
	struct kindex *idx = kindex__new();

	assert_non_null(idx);
	kt_add_ok(idx, KSRC_IPTABLES_SAVE, "iptables-save-ipvs.txt");
	kt_add_ok(idx, KSRC_LOCAL_ADDRS, "ip-addr-ipvs.txt");
	kt_add_ok(idx, KSRC_IPVS, "ip_vs.txt");
	if (snapshot)
		kt_add_ok(idx, KSRC_SNAPSHOT, "snapshot.json");
	return idx;
}

/* A connection of test_ipvs_table() and what natwho must say of it: the
 * verdict always; the via kind, rule, reason and readiness where given. */
struct ipvs_case {
	const char *what;
	struct kt_spec c;
	uint8_t verdict, via; /* via: K8S_VIA_*, 0: not checked */
	const char *rule, *reason;
	int not_ready; /* 1, 0, or -1: not checked */
};

#define V4(src, sport, dst, dport, landed, lport, proto)                                   \
	{ AF_INET, IPPROTO_##proto, src, dst, landed, sport, dport, lport }

static const struct ipvs_case ipvs_cases[] = {
	{ "the incident: the hostPort's MISMATCH",
	  V4("192.168.56.12", 45232, "10.96.0.20", 3306, "10.224.0.222", 3306, TCP),
	  K8S_VERDICT_MISMATCH, 0, NULL,
	  "meant for Service 10.96.0.20:3306 (name unknown), landed on 10.224.0.222:3306 via "
	  "hostPort 3306 (CNI-DN-b9f77ce9929d8b97cf089, sandbox 9ab3c7e1f4d2)", -1 },
	{ "IPVS to its real server",
	  V4("192.168.56.12", 45233, "10.96.0.20", 3306, "10.224.1.5", 3306, TCP),
	  K8S_VERDICT_OK, K8S_VIA_IPVS, "TCP 10.96.0.20:3306 rr",
	  "Service 10.96.0.20:3306 (name unknown) -> endpoint 10.224.1.5:3306 via IPVS "
	  "(TCP 10.96.0.20:3306 rr)", -1 },
	{ "an address the table does not list",
	  V4("192.168.56.12", 45234, "10.96.0.20", 3306, "10.224.1.99", 3306, TCP),
	  K8S_VERDICT_UNKNOWN, 0, NULL,
	  "Service 10.96.0.20:3306 (name unknown) -> 10.224.1.99:3306 via IPVS (TCP "
	  "10.96.0.20:3306 rr), not one of its real servers when natwho last read IPVS's table "
	  "(changed since?)", -1 },
	{ "a real server's port counts: 10.224.1.5 serves 3306, not 3307",
	  V4("192.168.56.12", 45235, "10.96.0.20", 3306, "10.224.1.5", 3307, TCP),
	  K8S_VERDICT_UNKNOWN, 0, NULL, NULL, -1 },
	{ "a virtual service's real server is not another's",
	  V4("192.168.56.12", 45236, "10.96.0.21", 3306, "10.224.1.5", 3306, TCP),
	  K8S_VERDICT_UNKNOWN, 0, NULL, NULL, -1 },
	{ "direct routing translates nothing: no real server to land on by DNAT",
	  V4("192.168.56.12", 45237, "10.96.0.40", 9100, "192.168.56.12", 9100, TCP),
	  K8S_VERDICT_UNKNOWN, 0, NULL, NULL, -1 },
	{ "the same service's masquerading real server",
	  V4("192.168.56.12", 45238, "10.96.0.40", 9100, "192.168.56.11", 9100, TCP),
	  K8S_VERDICT_OK, 0, NULL, NULL, -1 },
	{ "weight 0: kube-proxy's terminating endpoint, no new connections",
	  V4("10.224.0.9", 45241, "10.96.0.30", 80, "10.224.1.8", 8080, TCP),
	  K8S_VERDICT_OK, 0, NULL,
	  "Service 10.96.0.30:80 (name unknown) -> endpoint 10.224.1.8:8080 via IPVS (TCP "
	  "10.96.0.30:80 rr) (endpoint not ready)", 1 },
	{ "weight 1", V4("10.224.0.9", 45242, "10.96.0.30", 80, "10.224.0.7", 8080, TCP),
	  K8S_VERDICT_OK, 0, NULL, NULL, 0 },
	{ "UDP's virtual service is not TCP's",
	  V4("10.224.0.9", 40000, "10.96.0.10", 53, "10.224.1.2", 53, UDP),
	  K8S_VERDICT_OK, 0, "UDP 10.96.0.10:53 rr", NULL, -1 },
	{ "IPv6",
	  { AF_INET6, IPPROTO_TCP, "fd00:56::12", "fd00:10:96::30", "fd00:10:224::7", 45239, 80,
	    8080 },
	  K8S_VERDICT_OK, 0, "TCP [fd00:10:96::30]:80 rr", NULL, -1 },
	{ "a NodePort's virtual service on the node's address",
	  V4("192.168.56.1", 45240, "192.168.56.12", 30080, "10.224.0.7", 8080, TCP),
	  K8S_VERDICT_OK, K8S_VIA_IPVS, NULL, NULL, -1 },
};

/*
 * IPVS's table: a connection IPVS translated to one of the virtual
 * service's real servers is OK without a snapshot, and says which virtual
 * service; one to an address the table does not list stays UNKNOWN; the
 * incident is still the hostPort's MISMATCH.
 */
static void test_ipvs_table(void **state)
{
	struct kindex *idx = ipvs_table_node(false);
	struct kindex_stats st;

	(void)state;
	kindex__stats(idx, &st);
	assert_int_equal(st.ipvs_services, 11); /* not the one by firewall mark */
	assert_int_equal(st.ipvs_dests, 19);
	assert_int_equal(st.skipped_rules, 0);
	for (size_t i = 0; i < sizeof(ipvs_cases) / sizeof(ipvs_cases[0]); i++) {
		const struct ipvs_case *t = &ipvs_cases[i];
		struct k8s_annot a;
		struct conn c;

		print_message("%s\n", t->what);
		kt_conn_of(&c, &t->c);
		kindex__annotate(idx, &c, &a);
		assert_int_equal(a.verdict, t->verdict);
		if (t->via)
			assert_int_equal(a.via.kind, t->via);
		if (t->rule)
			assert_string_equal(a.via.rule, t->rule);
		if (t->reason)
			assert_reason(&a, t->reason);
		if (t->not_ready >= 0)
			assert_int_equal(a.via.not_ready, t->not_ready);
	}
	kindex__free(idx);
}

/*
 * IPVS's table alone says what a Service address is: without the node's
 * addresses (kube-ipvs0) the incident is still the hostPort's MISMATCH, and
 * a snapshot that names the node's address (pods only, or older than a
 * NodePort) does not make a NodePort IPVS serves a node address that a
 * hostPort may take: the incident's "hostPort beats a NodePort".
 */
static void test_ipvs_table_names(void **state)
{
	static const char pods_only[] =
		"{\"apiVersion\":\"v1\",\"kind\":\"PodList\",\"items\":[{\"metadata\":"
		"{\"name\":\"p\",\"namespace\":\"d\",\"uid\":\"u1\"},\"spec\":{\"nodeName\":"
		"\"node-2\"},\"status\":{\"phase\":\"Running\",\"podIP\":\"10.224.0.50\","
		"\"podIPs\":[{\"ip\":\"10.224.0.50\"}],\"hostIP\":\"192.168.56.12\","
		"\"hostIPs\":[{\"ip\":\"192.168.56.12\"}]}}]}";
	struct kindex *idx = kindex__new();
	struct k8s_annot a;

	(void)state;
	kt_add_ok(idx, KSRC_IPTABLES_SAVE, "iptables-save-ipvs.txt");
	kt_add_ok(idx, KSRC_IPVS, "ip_vs.txt");
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "192.168.56.12", 45232, "10.96.0.20", 3306,
		 "10.224.0.222", 3306);
	assert_int_equal(a.verdict, K8S_VERDICT_MISMATCH);
	assert_int_equal(a.via.kind, K8S_VIA_HOSTPORT);
	kt_add_ok(idx, KSRC_LOCAL_ADDRS, "ip-addr-ipvs.txt");
	kt_add_str_ok(idx, KSRC_SNAPSHOT, pods_only);
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "192.168.56.1", 45233, "192.168.56.12", 30080,
		 "10.224.0.30", 80);
	assert_int_equal(a.verdict, K8S_VERDICT_MISMATCH);
	assert_int_equal(a.via.kind, K8S_VIA_HOSTPORT);
	assert_reason(&a, "meant for NodePort 30080 of a Service (name unknown) at "
			  "192.168.56.12:30080, landed on 10.224.0.30:80 via hostPort 30080 "
			  "(CNI-DN-04d9418aabfd632f04e59, sandbox 5e1f0c2d3b4a)");
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "192.168.56.1", 45234, "192.168.56.12", 30080,
		 "10.224.0.7", 8080);
	assert_int_equal(a.verdict, K8S_VERDICT_OK);
	assert_reason(&a, "NodePort 30080 of a Service (name unknown) at 192.168.56.12:30080 -> "
			  "endpoint 10.224.0.7:8080 via IPVS (TCP 192.168.56.12:30080 rr)");
	kindex__free(idx);
}

/*
 * With the snapshot too: a real server the snapshot does not list (a pod
 * recreated since) is IPVS's, so OK, where without the table it is UNKNOWN
 * (test_ipvs); one that is another pod by the snapshot, which the Service's
 * slices do not list, is kube-proxy's stale table: MISMATCH.
 */
static void test_ipvs_table_snapshot(void **state)
{
	static const char stale[] = "TCP  0A600014:0CEA rr\n"
				    "  -> 0AE0001E:0CEA      Masq    1      0          0\n";
	struct kindex *idx = ipvs_table_node(true);
	struct k8s_annot a;

	(void)state;
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "192.168.56.12", 45234, "10.96.0.20", 3306,
		 "10.224.1.17", 3306);
	assert_int_equal(a.verdict, K8S_VERDICT_OK);
	assert_reason(&a, "Service a/mysql-a:3306 -> endpoint 10.224.1.17:3306 via IPVS "
			  "(TCP 10.96.0.20:3306 rr)");
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "192.168.56.12", 45233, "10.96.0.20", 3306,
		 "10.224.1.5", 3306);
	assert_reason(&a, "Service a/mysql-a:3306 -> endpoint pod a/mysql-a-0 via IPVS "
			  "(TCP 10.96.0.20:3306 rr)");
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "192.168.56.12", 45232, "10.96.0.20", 3306,
		 "10.224.0.222", 3306);
	assert_reason(&a, INCIDENT_REASON);
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "192.168.56.12", 45235, "10.96.0.20", 3306,
		 "10.224.1.99", 3306);
	assert_int_equal(a.verdict, K8S_VERDICT_UNKNOWN);
	/* web's 10.224.0.7: ready by the snapshot, weight 1 in the table */
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.224.0.9", 45236, "10.96.0.30", 80, "10.224.0.7",
		 8080);
	assert_int_equal(a.verdict, K8S_VERDICT_OK);
	assert_false(a.via.not_ready);
	kindex__free(idx);

	/* ready by an older snapshot, weight 0 in IPVS's table: terminating */
	idx = kindex__new();
	kt_add_ok(idx, KSRC_IPTABLES_SAVE, "iptables-save-ipvs.txt");
	kt_add_ok(idx, KSRC_SNAPSHOT, "snapshot.json");
	kt_add_str_ok(idx, KSRC_IPVS, "TCP  0A60001E:0050 rr\n"
				      "  -> 0AE00007:1F90      Masq    0      0          0\n");
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.224.0.9", 45237, "10.96.0.30", 80, "10.224.0.7",
		 8080);
	assert_int_equal(a.verdict, K8S_VERDICT_OK);
	assert_true(a.via.not_ready);
	kindex__free(idx);

	idx = kindex__new();
	kt_add_ok(idx, KSRC_IPTABLES_SAVE, "iptables-save-ipvs.txt");
	kt_add_ok(idx, KSRC_LOCAL_ADDRS, "ip-addr-ipvs.txt");
	kt_add_ok(idx, KSRC_SNAPSHOT, "snapshot.json");
	kt_add_str_ok(idx, KSRC_IPVS, stale);
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "192.168.56.12", 45236, "10.96.0.20", 3306,
		 "10.224.0.30", 3306);
	assert_int_equal(a.verdict, K8S_VERDICT_MISMATCH);
	assert_reason(&a, "meant for Service a/mysql-a:3306, landed on pod default/debug-0 via IPVS "
			  "(TCP 10.96.0.20:3306 rr): IPVS's table still lists it as a real server, "
			  "the snapshot's endpoints of the Service do not (IPVS's table or snapshot "
			  "out of date)");
	kindex__free(idx);
}

/*
 * web's NodePort 30080 at the node's address 192.168.56.12 (ip-addr.txt),
 * and at its cni0 address 10.224.0.1 unless kube-proxy serves NodePorts at
 * some addresses alone (@scoped): then debug-0's hostPort 30080 taking it is
 * no hijack.
 */
static void assert_nodeport_addrs(struct kindex *idx, bool scoped)
{
	struct k8s_annot a;

	annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.224.0.9", 45233, "192.168.56.12", 30080,
		 "10.224.0.30", 80);
	assert_int_equal(a.target.kind, K8S_KIND_NODE_PORT);
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.224.0.9", 45234, "10.224.0.1", 30080,
		 "10.224.0.30", 80);
	if (scoped) {
		assert_int_not_equal(a.target.kind, K8S_KIND_NODE_PORT);
		assert_int_not_equal(a.verdict, K8S_VERDICT_MISMATCH);
	} else {
		assert_int_equal(a.target.kind, K8S_KIND_NODE_PORT);
	}
}

/*
 * kube-proxy's iptables mode with nodePortAddresses: one `-d ADDR -j
 * KUBE-NODEPORTS` jump per address instead of --dst-type LOCAL, scoped;
 * without the option, or with a jump for every local address beside one
 * for 192.168.56.12 (an older kube-proxy's zero CIDR among
 * nodePortAddresses), every local address serves NodePorts.
 */
static void test_iptables_nodeport_addresses(void **state)
{
	static const char local_jump[] = "-m addrtype --dst-type LOCAL -j KUBE-NODEPORTS";
	static const struct {
		const char *jumps; /* NULL: the fixture's own */
		bool scoped;
	} cases[] = {
		{ NULL, false },
		{ "-d 192.168.56.12/32 -j KUBE-NODEPORTS", true },
		{ "-d 192.168.56.12/32 -j KUBE-NODEPORTS\n-A KUBE-SERVICES -m addrtype "
		  "--dst-type LOCAL -j KUBE-NODEPORTS",
		  false },
	};
	size_t len;
	char *save = kt_fixture("iptables-save.txt", &len);

	(void)state;
	assert_non_null(strstr(save, local_jump));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text = cases[i].jumps ? replaced(save, local_jump, cases[i].jumps) : save;
		struct kindex *idx = kindex__new();

		kt_add_str_ok(idx, KSRC_IPTABLES_SAVE, text);
		kt_add_ok(idx, KSRC_LOCAL_ADDRS, "ip-addr.txt");
		assert_nodeport_addrs(idx, cases[i].scoped);
		kindex__free(idx);
		if (text != save)
			free(text);
	}
	free(save);
}

/* kube-proxy nftables mode with portmap's nftables backend. */
static void test_nftables(void **state)
{
	struct kindex *idx = kindex__new();
	struct k8s_annot a;

	(void)state;
	kt_add_ok(idx, KSRC_NFT_JSON, "nft-kube-proxy.json");
	kt_add_ok(idx, KSRC_NFT_JSON, "nft-cni-hostport.json");
	kt_add_ok(idx, KSRC_SNAPSHOT, "snapshot.json");
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.224.0.9", 45232, "10.96.0.20", 3306,
		 "10.224.0.222", 3306);
	assert_int_equal(a.verdict, K8S_VERDICT_MISMATCH);
	assert_string_equal(a.via.table, "cni_hostport");
	assert_string_equal(a.via.chain, "hostports");
	assert_reason(&a, "meant for Service a/mysql-a:3306, landed on pod b/mysql-b-0 via "
			  "hostPort 3306 (cni_hostport hostports, sandbox 9ab3c7e1f4d2)");
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.224.0.9", 45232, "10.96.0.20", 3306,
		 "10.224.1.5", 3306);
	assert_int_equal(a.verdict, K8S_VERDICT_OK);
	assert_string_equal(a.via.chain, "service-OPGGR5VV-a/mysql-a/tcp/mysql");
	/* b's own ClusterIP reaching b's pod: ok, whichever rule did it */
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.224.0.9", 45232, "10.96.0.21", 3306,
		 "10.224.0.222", 3306);
	assert_int_equal(a.verdict, K8S_VERDICT_OK);
	/* web's load-balancer IP: the nft map calls it external, the snapshot knows */
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.224.0.9", 45232, "203.0.113.10", 80,
		 "10.224.0.7", 8080);
	assert_int_equal(a.target.kind, K8S_KIND_LB_IP);
	assert_int_equal(a.verdict, K8S_VERDICT_OK);
	/* This portmap chain matches any destination: a connection to pod
	 * a/mysql-a-0's own address (a headless Service) taken by b's hostPort
	 * is the incident without a ClusterIP. */
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.224.0.9", 45232, "10.224.1.5", 3306,
		 "10.224.0.222", 3306);
	assert_int_equal(a.verdict, K8S_VERDICT_MISMATCH);
	assert_reason(&a, "meant for pod a/mysql-a-0, landed on pod b/mysql-b-0 via hostPort "
			  "3306 (cni_hostport hostports, sandbox 9ab3c7e1f4d2), which maps a port of "
			  "this node only");
	/* An address off the node (kube-proxy's nodeport-ips set names the
	 * node's): astray; the node's own address is what a hostPort is for. */
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.224.0.9", 45232, "198.51.100.50", 3306,
		 "10.224.0.222", 3306);
	assert_int_equal(a.verdict, K8S_VERDICT_MISMATCH);
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.224.0.9", 45232, "192.168.56.12", 3306,
		 "10.224.0.222", 3306);
	assert_int_equal(a.verdict, K8S_VERDICT_OK);
	assert_int_equal(a.via.kind, K8S_VIA_HOSTPORT);
	/* kube-proxy's nftables mode serves NodePorts at its nodeport-ips
	 * (192.168.56.12) alone */
	kt_add_ok(idx, KSRC_LOCAL_ADDRS, "ip-addr.txt");
	assert_nodeport_addrs(idx, true);
	kindex__free(idx);
	/* Where nothing names the node's addresses, an external one cannot be
	 * told from a local one: no verdict of astray. */
	idx = kindex__new();
	kt_add_ok(idx, KSRC_NFT_JSON, "nft-cni-hostport.json");
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.224.0.9", 45232, "198.51.100.50", 3306,
		 "10.224.0.222", 3306);
	assert_int_equal(a.via.kind, K8S_VIA_HOSTPORT);
	assert_int_equal(a.verdict, K8S_VERDICT_OK);
	kindex__free(idx);
}

/*
 * kube-proxy's nftables Service chain picks an endpoint from one numgen
 * vmap; a Service of 70 endpoints has 70 elements, every one an endpoint
 * (the last among them too: they were cut at 64).
 */
static void test_nftables_many_endpoints(void **state)
{
	struct kindex *idx = kindex__new();
	struct tbuf doc = { 0 };
	struct kindex_stats st;
	struct k8s_annot a;
	char err[512], ip[32];

	(void)state;
	nftgen_kube_proxy(&doc, 1, 70, false);
	assert_int_equal(kindex__add_source(idx, KSRC_NFT_JSON, "nft", doc.p, doc.len, err,
					    sizeof(err)),
			 0);
	free(doc.p);
	kindex__stats(idx, &st);
	assert_int_equal(st.endpoints, 70);
	for (unsigned e = 0; e < 70; e += 69) {
		nftgen_ep_ip(ip, sizeof(ip), 0, e);
		annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.224.0.9", 45232, "10.96.0.1", 80, ip,
			 8080);
		assert_int_equal(a.verdict, K8S_VERDICT_OK);
		assert_int_equal(a.via.kind, K8S_VIA_SERVICE);
	}
	kindex__free(idx);
}

/*
 * nftables kube-proxy, mysql-b with internalTrafficPolicy Local: its
 * ClusterIP goes to "local-HASH-b/mysql-b/tcp/mysql", not "service-...".
 * The Service is still named, its endpoint OK, and the incident's hostPort
 * still found.
 */
static void test_nftables_itp_local(void **state)
{
	static const char from[] = "service-4TJUX4MM-b/mysql-b", to[] = "local-4TJUX4MM-b/mysql-b";
	struct kindex *idx = kindex__new();
	char path[512], err[512], *data, *p, *q, *out;
	struct k8s_annot a;
	size_t len, n = 0;

	(void)state;
	kt_path("nft-kube-proxy.json", path, sizeof(path));
	assert_int_equal(ksrc__read(path, KSRC_MAX_BYTES, NULL, &data, &len, err, sizeof(err)), 0);
	out = malloc(2 * len + 1);
	assert_non_null(out);
	for (p = data, len = 0; (q = strstr(p, from)); p = q + strlen(from), n++) {
		memcpy(out + len, p, q - p);
		len += q - p;
		memcpy(out + len, to, strlen(to));
		len += strlen(to);
	}
	strcpy(out + len, p);
	len += strlen(p);
	assert_true(n >= 3); /* the chain, its rules, the map element */
	assert_int_equal(kindex__add_source(idx, KSRC_NFT_JSON, "itp", out, len, err, sizeof(err)),
			 0);
	kt_add_ok(idx, KSRC_NFT_JSON, "nft-cni-hostport.json");
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.224.0.9", 45232, "10.96.0.21", 3306,
		 "10.224.0.222", 3306);
	assert_int_equal(a.target.kind, K8S_KIND_CLUSTER_IP);
	assert_string_equal(a.target.name, "mysql-b");
	assert_int_equal(a.verdict, K8S_VERDICT_OK);
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.224.0.9", 45232, "10.96.0.20", 3306,
		 "10.224.0.222", 3306);
	assert_int_equal(a.verdict, K8S_VERDICT_MISMATCH);
	free(out);
	free(data);
	kindex__free(idx);
}

/*
 * iptables kube-proxy, internalTrafficPolicy Local, rules only: the
 * ClusterIP's chain (KUBE-SVL) holds the local endpoint, the NodePort's and
 * externalIP's (KUBE-EXT -> KUBE-SVC) both.  A NodePort connection landing on
 * the remote endpoint is OK: every entry chain adds its endpoints.
 */
static void test_itp_local(void **state)
{
	struct kindex *idx = kindex__new();
	struct kindex_stats st;
	struct k8s_annot a;

	(void)state;
	kt_add_ok(idx, KSRC_IPTABLES_SAVE, "iptables-itp-local.txt");
	kt_add_ok(idx, KSRC_LOCAL_ADDRS, "local-addrs.txt"); /* the NodePort's address */
	kindex__stats(idx, &st);
	assert_int_equal(st.endpoints, 2); /* the local one once, not once per chain */
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.224.0.9", 45232, "192.168.56.12", 30080,
		 "10.224.1.8", 8080);
	assert_reason(&a, "NodePort 30080 of Service default/web -> endpoint 10.224.1.8:8080 via "
			  "KUBE-EXT-AAAAAAAAAAAAAAAA");
	assert_int_equal(a.verdict, K8S_VERDICT_OK);
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.224.0.9", 45232, "192.168.56.100", 80,
		 "10.224.1.8", 8080);
	assert_int_equal(a.verdict, K8S_VERDICT_OK);
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "10.224.0.9", 45232, "10.96.0.30", 80,
		 "10.224.0.7", 8080);
	assert_int_equal(a.verdict, K8S_VERDICT_OK);
	kindex__free(idx);
}

/* A hostPort the rules do not show (not read yet), known from the pod spec. */
static void test_snapshot_hostport_hint(void **state)
{
	struct kindex *idx = kindex__new();
	struct k8s_annot a;

	(void)state;
	kt_add_ok(idx, KSRC_SNAPSHOT, "snapshot.json");
	annotate(idx, &a, AF_INET, IPPROTO_TCP, "192.168.56.12", 45232, "10.96.0.20", 3306,
		 "10.224.0.222", 3306);
	assert_int_equal(a.verdict, K8S_VERDICT_MISMATCH);
	assert_null(a.via.chain);
	assert_reason(&a, "meant for Service a/mysql-a:3306, landed on pod b/mysql-b-0 via "
			  "hostPort 3306 of pod b/mysql-b-0");
	kindex__free(idx);
}

/* The incident, its ok twin, IPv6, hostNetwork, unknown, no translation. */
static const struct kt_spec conns[] = {
		{ AF_INET, IPPROTO_TCP, "192.168.56.12", "10.96.0.20", "10.224.0.222", 45232, 3306,
		  3306 },
		{ AF_INET, IPPROTO_TCP, "10.224.0.9", "10.96.0.20", "10.224.1.5", 40000, 3306,
		  3306 },
		{ AF_INET6, IPPROTO_TCP, "fd00:10:224::30", "fd00:10:96::30", "fd00:10:224::7",
		  40001, 80, 8080 },
		{ AF_INET, IPPROTO_TCP, "10.224.0.9", "10.96.0.1", "192.168.56.11", 40002, 443,
		  6443 },
		{ AF_INET, IPPROTO_UDP, "10.224.0.9", "198.51.100.1", "10.9.9.9", 40003, 53, 53 },
		{ AF_INET, IPPROTO_TCP, "10.224.0.9", "10.224.1.5", "10.224.1.5", 40004, 3306,
		  3306 },
		/* conns[1]'s route from another pod: the text line's kept tail
		 * must not name the first one */
		{ AF_INET, IPPROTO_TCP, "10.224.1.5", "10.96.0.20", "10.224.1.5", 40005, 3306,
		  3306 },
};

#define NCONNS (sizeof(conns) / sizeof(conns[0]))

/* Golden text and JSON, rendered by the sink as natwho prints them. */
static void render(enum out_mode mode, char **buf, size_t *len)
{
	struct kindex *idx = kt_iptables_node(true);
	FILE *f = open_memstream(buf, len);
	struct sink s;

	assert_non_null(f);
	sink__init(&s, f, mode, true);
	for (size_t i = 0; i < NCONNS; i++) {
		struct k8s_annot a;
		struct conn c;

		kt_conn_of(&c, &conns[i]);
		kindex__annotate(idx, &c, &a);
		c.k8s = &a;
		sink__conn(&s, &c);
	}
	fclose(f);
	kindex__free(idx);
}

/*
 * The sink's reason cache: every text line ends with the sentence computed
 * afresh (and the source pod), over repeats, slot collisions and an index reload (freed first, so
 * the new index may reuse the old one's addresses) that changes the reasons.
 */
static void render_check(struct sink *s, FILE *f, char **buf, size_t *len, struct kindex *idx,
			 size_t i)
{
	char want[1600], line[2048];
	struct k8s_annot a;
	struct conn c;
	size_t n;

	kt_conn_of(&c, &conns[i]);
	kindex__annotate(idx, &c, &a);
	c.k8s = &a;
	k8s_annot__reason(&a, want, sizeof(want));
	if (a.source.kind == K8S_KIND_POD) /* and the source pod after it */
		snprintf(want + strlen(want), sizeof(want) - strlen(want), ", from pod %s/%s",
			 a.source.ns, a.source.name);
	rewind(f);
	sink__conn(s, &c);
	fflush(f);
	n = strlen(want);
	snprintf(line, sizeof(line), "%.*s", (int)*len, *buf);
	assert_true(*len > n + 1);
	assert_string_equal(line + *len - n - 1, strcat(want, "\n"));
}

static void test_reason_cache(void **state)
{
	struct kindex *idx = kt_iptables_node(true);
	size_t len = 0, before = 0;
	char *buf = NULL;
	FILE *f = open_memstream(&buf, &len);
	struct sink s;

	(void)state;
	assert_non_null(f);
	sink__init(&s, f, OUT_TEXT, true);
	s.header_done = true;
	for (int round = 0; round < 3; round++)
		for (size_t i = 0; i < NCONNS; i++)
			render_check(&s, f, &buf, &len, idx, (i * 5 + round) % NCONNS);
	for (size_t i = 0; i < SINK_REASONS; i++)
		before += s.reasons[i].valid;
	assert_true(before > 1);
	kindex__free(idx);
	idx = kt_iptables_node(false); /* rules only: other sentences */
	for (int round = 0; round < 2; round++)
		for (size_t i = 0; i < NCONNS; i++)
			render_check(&s, f, &buf, &len, idx, i);
	kindex__free(idx);
	fclose(f);
	free(buf);
}

/* One JSON record of @c as a sink with nothing cached writes it. */
static void fresh_json(const struct conn *c, char *buf, size_t len)
{
	char *out = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&out, &n);
	struct sink *s = malloc(sizeof(*s));

	assert_non_null(f);
	assert_non_null(s);
	sink__init(s, f, OUT_JSON, true);
	sink__conn(s, c);
	fclose(f);
	snprintf(buf, len, "%s", out);
	free(out);
	free(s);
}

/* @c, its annotation from @idx, through the long-lived sink @s. */
static void json_check(struct sink *s, FILE *f, char **buf, size_t *len, struct kindex *idx,
		       struct conn *c)
{
	char want[4096], got[4096];
	struct k8s_annot a;

	kindex__annotate(idx, c, &a);
	c->k8s = &a;
	fresh_json(c, want, sizeof(want));
	rewind(f);
	sink__conn(s, c);
	fflush(f);
	snprintf(got, sizeof(got), "%.*s", (int)*len, *buf);
	assert_string_equal(got, want);
	c->k8s = NULL;
}

/*
 * The sink's k8s JSON cache: every record is what a sink with nothing cached
 * writes, over repeats, slot collisions, each connection from every other
 * one's source (a pod, a node, unknown: the "source" object changes, nothing
 * else does) and an index reload.
 */
static void test_k8s_json_cache(void **state)
{
	struct kindex *idx = kt_iptables_node(true);
	size_t len = 0, kept = 0;
	char *buf = NULL;
	FILE *f = open_memstream(&buf, &len);
	struct sink *s = malloc(sizeof(*s));
	struct conn c;

	(void)state;
	assert_non_null(f);
	assert_non_null(s);
	sink__init(s, f, OUT_JSON, true);
	for (int round = 0; round < 4; round++) {
		for (size_t i = 0; i < NCONNS; i++) {
			size_t k = (i * 5 + round) % NCONNS;

			kt_conn_of(&c, &conns[k]);
			json_check(s, f, &buf, &len, idx, &c);
			c.orig.sport++;
			json_check(s, f, &buf, &len, idx, &c);
			for (size_t j = 0; j < NCONNS; j++) {
				if (conns[j].family != conns[k].family)
					continue;
				kt_addr(c.family, conns[j].src, c.orig.src);
				json_check(s, f, &buf, &len, idx, &c);
			}
		}
		if (round == 1) {
			for (size_t i = 0; i < SINK_REASONS; i++)
				kept += s->k8s_json[i].frag.valid;
			assert_true(kept > 1);
			kindex__free(idx); /* a reload: other strings, maybe at the same addresses */
			idx = kt_iptables_node(false);
		}
	}
	kindex__free(idx);
	fclose(f);
	free(buf);
	free(s);
}

/* What an annotation says, as text and JSON: equal for equal annotations. */
static void annot_render(const struct k8s_annot *a, char *buf, size_t len)
{
	char *text = kt_text(a), *json = NULL, reason[K8S_REASON_LEN];
	size_t jlen = 0;
	FILE *f = open_memstream(&json, &jlen);
	struct out o;

	assert_non_null(f);
	out__init(&o, f, OUT_JSON);
	out__obj_open(&o, NULL);
	k8s_annot__print(&o, a, k8s_annot__reason(a, reason, sizeof(reason)));
	out__record_end(&o);
	fclose(f);
	snprintf(buf, len, "%d|%s|%s", a->verdict, text, json);
	free(text);
	free(json);
}

static void assert_same_as_fresh(const struct kindex *idx, const struct conn *c,
				 const struct k8s_annot *again)
{
	char want[4096], got[4096];
	struct k8s_annot fresh;

	kindex__annotate(idx, c, &fresh);
	annot_render(&fresh, want, sizeof(want));
	annot_render(again, got, sizeof(got));
	assert_string_equal(got, want);
	assert_int_equal(again->index_gen, fresh.index_gen);
}

/*
 * kindex__annotate_again(): reused only for the same inputs from the same
 * index; every input changed alone, any order of connections and an index
 * reload give what a fresh kindex__annotate() gives.
 */
static void test_annotate_again(void **state)
{
	struct kindex *idx = kt_iptables_node(true);
	struct k8s_annot a;
	struct conn c, d;

	(void)state;
	memset(&a, 0, sizeof(a));
	for (int round = 0; round < 2; round++) {
		for (size_t i = 0; i < NCONNS * NCONNS; i++) {
			size_t k = (i * 7 + round) % NCONNS;

			kt_conn_of(&c, &conns[k]);
			kindex__annotate_again(idx, &c, &a);
			assert_same_as_fresh(idx, &c, &a);
			/* the same connection from another source port: reused */
			c.orig.sport++;
			assert_true(kindex__annotate_again(idx, &c, &a));
			assert_same_as_fresh(idx, &c, &a);
			/* each input on its own: never reused */
			for (int field = 0; field < 7; field++) {
				d = c;
				switch (field) {
				case 0: d.orig.dst[3] ^= 1; break;
				case 1: d.orig.dport ^= 1; break;
				case 2: d.landed.addr[3] ^= 1; break;
				case 3: d.landed.port ^= 1; break;
				case 4: d.orig.src[3] ^= 1; break;
				case 5: d.dnat = !d.dnat; break;
				case 6: d.proto = d.proto == IPPROTO_TCP ? IPPROTO_UDP : IPPROTO_TCP; break;
				}
				kindex__annotate_again(idx, &c, &a);
				assert_false(kindex__annotate_again(idx, &d, &a));
				assert_same_as_fresh(idx, &d, &a);
			}
		}
		kindex__free(idx); /* a reload: the same content, a new index */
		idx = kt_iptables_node(round == 0 ? false : true);
		assert_false(kindex__annotate_again(idx, &c, &a));
		assert_same_as_fresh(idx, &c, &a);
	}
	kindex__free(idx);
}

static void test_golden_text(void **state)
{
	size_t len;
	char *buf;

	(void)state;
	render(OUT_TEXT, &buf, &len);
	golden_check("golden-annot.txt", buf, len);
	free(buf);
}

static void test_golden_json(void **state)
{
	size_t len;
	char *buf, *line, *save = NULL;

	(void)state;
	render(OUT_JSON, &buf, &len);
	golden_check("golden-annot.json", buf, len);
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct json_object *o = json_tokener_parse(line), *k8s;

		assert_non_null(o);
		assert_true(json_object_object_get_ex(o, "k8s", &k8s));
		assert_true(json_object_object_get_ex(k8s, "verdict", NULL));
		json_object_put(o);
	}
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_incident_iptables),
		cmocka_unit_test(test_names_cleaned),
		cmocka_unit_test(test_stale_rules),
		cmocka_unit_test(test_rule_by_hook),
		cmocka_unit_test(test_dnat_range),
		cmocka_unit_test(test_dnat_range_kube),
		cmocka_unit_test(test_dnat_map),
		cmocka_unit_test(test_dnat_port_map),
		cmocka_unit_test(test_dnat_first_rule),
		cmocka_unit_test(test_dnat_rule_matches_kept),
		cmocka_unit_test(test_dnat_source),
		cmocka_unit_test(test_incident_rules_only),
		cmocka_unit_test(test_ok_endpoint),
		cmocka_unit_test(test_not_ready_endpoint),
		cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_no_translation),
		cmocka_unit_test(test_host_network),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_external_and_rules),
		cmocka_unit_test(test_external_endpoint),
		cmocka_unit_test(test_pod_conflicts),
		cmocka_unit_test(test_ipvs),
		cmocka_unit_test(test_foreign_netns),
		cmocka_unit_test(test_service_without_endpoints),
		cmocka_unit_test(test_ipvs_without_ipset),
		cmocka_unit_test(test_kubelet_hostport),
		cmocka_unit_test(test_endpoints_v1),
		cmocka_unit_test(test_ipvs_table),
		cmocka_unit_test(test_ipvs_table_snapshot),
		cmocka_unit_test(test_ipvs_table_names),
		cmocka_unit_test(test_hostport_unreached),
		cmocka_unit_test(test_endpoint_newer_than_snapshot),
		cmocka_unit_test(test_endpoint_newer_than_rules),
		cmocka_unit_test(test_nft_order_and_proto_set),
		cmocka_unit_test(test_nft_translated_nat),
		cmocka_unit_test(test_nft_tainted_nat),
		cmocka_unit_test(test_nft_upper_case_own_table),
		cmocka_unit_test(test_ipt_odd_lines),
		cmocka_unit_test(test_rule_by_path),
		cmocka_unit_test(test_iptables_nodeport_addresses),
		cmocka_unit_test(test_nftables),
		cmocka_unit_test(test_nftables_itp_local),
		cmocka_unit_test(test_nftables_many_endpoints),
		cmocka_unit_test(test_itp_local),
		cmocka_unit_test(test_hostport_local_only),
		cmocka_unit_test(test_snapshot_hostport_hint),
		cmocka_unit_test(test_reason_cache),
		cmocka_unit_test(test_k8s_json_cache),
		cmocka_unit_test(test_annotate_again),
		cmocka_unit_test(test_golden_text),
		cmocka_unit_test(test_golden_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
