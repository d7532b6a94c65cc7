// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* kindex with bad input: documents unusable as a whole fail with an error
 * naming the source and the position and leave the index as it was; bad
 * objects and rules are skipped, counted and reported once each. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "k8s_test.h"
#include "k8s_int.h"
#include "nft_gen.h"

struct warns {
	int n;
	char last[512];
};

static void on_warn(void *ctx, const char *msg)
{
	struct warns *w = ctx;

	w->n++;
	snprintf(w->last, sizeof(w->last), "%s", msg);
}

static void expect_fail(enum ksrc_kind kind, const char *file, int want, const char *msg)
{
	struct kindex *idx = kindex__new();
	struct kindex_stats st;
	char err[512];

	assert_int_equal(kt_add(idx, kind, file, err, sizeof(err)), want);
	if (!strstr(err, msg))
		fail_msg("error \"%s\" lacks \"%s\"", err, msg);
	kindex__stats(idx, &st);
	assert_int_equal(st.sources, 0);
	assert_true(kindex__empty(idx));
	kindex__free(idx);
}

static void test_snapshot_unusable(void **state)
{
	(void)state;
	expect_fail(KSRC_SNAPSHOT, "bad/snapshot-not-json.txt", -EBADMSG,
		    "bad/snapshot-not-json.txt:1:2: not JSON");
	expect_fail(KSRC_SNAPSHOT, "bad/snapshot-truncated.json", -EBADMSG,
		    "bad/snapshot-truncated.json:547:42: unexpected end of input, truncated? "
		    "(byte 20000)");
	expect_fail(KSRC_SNAPSHOT, "bad/snapshot-wrong-kind.json", -EINVAL,
		    "got kind \"Deployment\"");
	/* a ruleset is not a snapshot, and the other way round */
	expect_fail(KSRC_SNAPSHOT, "nft-kube-proxy.json", -EINVAL, "got no \"kind\"");
	expect_fail(KSRC_NFT_JSON, "snapshot.json", -EINVAL, "no \"nftables\" array");
	expect_fail(KSRC_IPTABLES_SAVE, "snapshot.json", -EBADMSG,
		    "snapshot.json:1: not iptables-save output");
	expect_fail(KSRC_IPTABLES_SAVE, "bad/iptables-truncated.txt", -EBADMSG,
		    "bad/iptables-truncated.txt:40: unexpected end of input: no COMMIT");
	expect_fail(KSRC_IPSET_SAVE, "snapshot.json", -EBADMSG, "not `ipset save` output");
	expect_fail(KSRC_LOCAL_ADDRS, "snapshot.json", -EBADMSG, "no address understood");
}

static void expect_str_fail(enum ksrc_kind kind, const char *text, int want, const char *msg)
{
	struct kindex *idx = kindex__new();
	char err[512];

	assert_int_equal(kt_add_str(idx, kind, "t", text, err, sizeof(err)), want);
	if (!strstr(err, msg))
		fail_msg("error \"%s\" lacks \"%s\"", err, msg);
	kindex__free(idx);
}

static void test_inline_unusable(void **state)
{
	(void)state;
	expect_str_fail(KSRC_SNAPSHOT, "", -EBADMSG, "t: empty document");
	expect_str_fail(KSRC_SNAPSHOT, "[1, 2]", -EINVAL, "not a kubectl snapshot");
	expect_str_fail(KSRC_SNAPSHOT, "{\"kind\": \"List\", \"items\": 3}", -EINVAL,
			"a List whose \"items\" is not an array");
	expect_str_fail(KSRC_SNAPSHOT, "{\"kind\": \"PodList\"}", -EINVAL,
			"a PodList whose \"items\" is missing");
	expect_str_fail(KSRC_SNAPSHOT, "{\"kind\": \"List\", \"items\": []} trailing", -EBADMSG,
			"t:1:31: trailing data");
	expect_str_fail(KSRC_NFT_JSON, "{\"nftables\": [", -EBADMSG, "truncated");
	expect_str_fail(KSRC_IPTABLES_SAVE, "*nat\n*filter\nCOMMIT\n", -EBADMSG,
			"t:2: table started before COMMIT");
	expect_str_fail(KSRC_IPTABLES_SAVE, "hello\nworld\n", -EBADMSG, "not iptables-save output");
	expect_str_fail(KSRC_IP6TABLES_SAVE, "garbage\n", -EBADMSG, "not ip6tables-save output");
	expect_str_fail(KSRC_KIND_MAX, "", -EINVAL, "unknown source kind");
}

static void test_too_big(void **state)
{
	struct kindex *idx = kindex__new();
	char err[256], *data;
	size_t len;

	(void)state;
	/* the length is refused before the bytes are looked at */
	assert_int_equal(kindex__add_source(idx, KSRC_SNAPSHOT, "huge.json", "{}",
					    (size_t)KSRC_MAX_BYTES + 1, err, sizeof(err)),
			 -E2BIG);
	assert_non_null(strstr(err, "huge.json: "));
	assert_non_null(strstr(err, "more than the 256 MiB"));
	assert_int_equal(ksrc__read("tests/fixtures/k8s/snapshot.json", 1000, NULL, &data, &len, err,
				    sizeof(err)),
			 -E2BIG);
	assert_int_equal(ksrc__read("/nonexistent/natwho", 1000, NULL, &data, &len, err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/natwho: "));
	kindex__free(idx);
}

static void test_missing_fields(void **state)
{
	struct kindex *idx = kindex__new();
	struct kindex_stats st;
	struct warns w = { 0 };

	(void)state;
	kindex__set_warn(idx, on_warn, &w);
	kt_add_ok(idx, KSRC_SNAPSHOT, "bad/snapshot-missing-fields.json");
	kindex__stats(idx, &st);
	assert_int_equal(st.skipped_objects, 11);
	assert_int_equal(st.ignored_objects, 1); /* the Deployment */
	assert_int_equal(w.n, 11);
	assert_int_equal(st.pods, 2); /* "pending" (no IP yet) and "good" */
	assert_int_equal(st.svcports, 2); /* badport:b and the slice's badport:b */
	assert_int_equal(st.vips, 1); /* badport:b on 10.96.0.61, headless has none */
	assert_int_equal(st.endpoints, 1);
	assert_string_equal(w.last, "bad/snapshot-missing-fields.json: items[11] (object ?/?): "
				    "no \"kind\", skipped");
	kindex__free(idx);
}

/* More addresses than natwho keeps per Service, more ports in a slice than
 * the API allows: the rest skipped, counted and said, never silently. */
static void test_snapshot_limits(void **state)
{
	size_t len = 1 << 16, n;
	char *buf = malloc(len);
	struct kindex *idx = kindex__new();
	struct kindex_stats st;
	struct warns w = { 0 };

	(void)state;
	assert_non_null(buf);
	kindex__set_warn(idx, on_warn, &w);
	n = snprintf(buf, len, "{\"kind\": \"List\", \"items\": [{\"kind\": \"Service\", "
			       "\"metadata\": {\"namespace\": \"ns\", \"name\": \"s\"}, "
			       "\"spec\": {\"clusterIP\": \"10.96.0.5\", \"externalIPs\": [");
	for (int i = 0; i < 300; i++)
		n += snprintf(buf + n, len - n, "%s\"192.0.%d.%d\"", i ? ", " : "", 2 + i / 250,
			      i % 250 + 1);
	n += snprintf(buf + n, len - n,
		      "], \"ports\": [{\"port\": 80}]}}, {\"kind\": \"EndpointSlice\", "
		      "\"metadata\": {\"namespace\": \"ns\", \"name\": \"s-a\", \"labels\": "
		      "{\"kubernetes.io/service-name\": \"s\"}}, \"addressType\": \"IPv4\", "
		      "\"ports\": [");
	for (int i = 0; i < 101; i++)
		n += snprintf(buf + n, len - n, "%s{\"name\": \"p%d\", \"port\": %d}",
			      i ? ", " : "", i, 1000 + i);
	snprintf(buf + n, len - n, "], \"endpoints\": [{\"addresses\": [\"10.224.0.5\"]}]}]}");
	kt_add_str_ok(idx, KSRC_SNAPSHOT, buf);
	kindex__stats(idx, &st);
	assert_int_equal(st.vips, 256);
	assert_int_equal(st.endpoints, 100);
	assert_int_equal(st.skipped_objects, 2);
	assert_int_equal(w.n, 2);
	assert_non_null(strstr(w.last, "(EndpointSlice ns/s-a): more than 100 ports: those after "
				       "the 100th, skipped"));
	kindex__free(idx);
	free(buf);
}

/* A Service of 256 addresses and 2,000 ports (a 100 KB object): 65,536
 * VIPs at most, the ports past that skipped and said, not 512,000. */
static void test_snapshot_svc_vips_cap(void **state)
{
	struct tbuf b = { 0 };
	struct kindex *idx = kindex__new();
	struct kindex_stats st;
	struct warns w = { 0 };

	(void)state;
	kindex__set_warn(idx, on_warn, &w);
	tbuf_printf(&b, "{\"kind\": \"Service\", \"metadata\": {\"namespace\": \"ns\", "
			"\"name\": \"s\"}, \"spec\": {\"clusterIP\": \"10.96.0.5\", "
			"\"externalIPs\": [");
	for (int i = 0; i < 255; i++)
		tbuf_printf(&b, "%s\"192.0.2.%d\"", i ? ", " : "", i + 1);
	tbuf_printf(&b, "], \"ports\": [");
	for (int i = 0; i < 2000; i++)
		tbuf_printf(&b, "%s{\"name\": \"p%d\", \"port\": %d}", i ? ", " : "", i, 1000 + i);
	tbuf_printf(&b, "]}}");
	kt_add_str_ok(idx, KSRC_SNAPSHOT, b.p);
	kindex__stats(idx, &st);
	assert_int_equal(st.vips, 65536);
	assert_int_equal(st.svcports, 256);
	assert_int_equal(st.skipped_objects, 1);
	assert_non_null(strstr(w.last, "(Service ns/s): more than 65,536 addresses times ports: "
				       "the ports past that, skipped"));
	kindex__free(idx);
	free(b.p);
}

/*
 * A source's warnings are said once it is taken, and not at all when it is
 * refused (a List item json-c refuses after one skipped); past 1 MiB of them
 * they are said as they come, none lost.
 */
static void test_warnings_held(void **state)
{
	static const char refused[] = "{\"kind\": \"List\", \"items\": [{\"kind\": "
				      "\"EndpointSlice\"},\n {\"kind\": \"Pod\", \"x\": tru}]}";
	size_t len = 8u << 20, n;
	char *buf = malloc(len), err[512];
	struct kindex *idx = kindex__new();
	struct warns w = { 0 };

	(void)state;
	assert_non_null(buf);
	kindex__set_warn(idx, on_warn, &w);
	assert_int_equal(kt_add_str(idx, KSRC_SNAPSHOT, "s", refused, err, sizeof(err)), -EBADMSG);
	assert_int_equal(w.n, 0);
	n = snprintf(buf, len, "*nat\n:KUBE-SERVICES - [0:0]\n");
	for (int i = 0; i < 30000; i++) /* about 2 MB of warnings */
		n += snprintf(buf + n, len - n, "-A KUBE-SERVICES -m bogus --rule %d -j\n", i);
	n += snprintf(buf + n, len - n, "-A KUBE-SERVICES -p tcp -d 10.96.0.9/32 --dport 80 "
					"-j KUBE-SVC-X\nCOMMIT\n");
	assert_int_equal(kt_add_str(idx, KSRC_IPTABLES_SAVE, "ipt", buf, err, sizeof(err)), 0);
	assert_int_equal(w.n, 30000);
	assert_non_null(strstr(w.last, "ipt:30002:"));
	free(buf);
	kindex__free(idx);
}

static void test_garbage_rules(void **state)
{
	struct kindex *idx = kindex__new();
	struct kindex_stats st;
	struct warns w = { 0 };

	(void)state;
	kindex__set_warn(idx, on_warn, &w);
	kt_add_ok(idx, KSRC_IPTABLES_SAVE, "bad/iptables-garbage.txt");
	kindex__stats(idx, &st);
	assert_int_equal(st.skipped_rules, 7);
	assert_int_equal(w.n, 7);
	assert_int_equal(st.vips, 1); /* the one good Service rule */
	assert_int_equal(st.endpoints, 1);
	assert_int_equal(st.rules, 0);
	assert_non_null(strstr(w.last, "bad/iptables-garbage.txt:17: "));
	/* ipset and address lists: bad lines skipped, good ones kept */
	kt_add_str_ok(idx, KSRC_IPSET_SAVE,
		      "create KUBE-CLUSTER-IP hash:ip,port family inet\n"
		      "add KUBE-CLUSTER-IP 10.96.0.80,tcp:80\nadd KUBE-CLUSTER-IP 10.96.0.81\n"
		      "add KUBE-CLUSTER-IP 10.96.0.82,tcp:0\nwhat\n");
	kt_add_str_ok(idx, KSRC_LOCAL_ADDRS, "eth0 192.168.56.12/24\neth0 999.1.1.1\nlo\n");
	kindex__stats(idx, &st);
	assert_int_equal(st.skipped_rules, 7 + 3 + 2);
	assert_int_equal(st.vips, 2);
	assert_int_equal(st.local_addrs, 1);
	/* a NUL inside an ipset line: skipped, not read on into stale bytes */
	{
		static const char nul[] = "add KUBE-CLUSTER-IP 10.96.0.83,tcp:83\n"
					  "add KUBE-CLUSTER-IP\0xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n";
		char err[256];

		assert_int_equal(kindex__add_source(idx, KSRC_IPSET_SAVE, "nul", nul,
						    sizeof(nul) - 1, err, sizeof(err)),
				 0);
	}
	kindex__stats(idx, &st);
	assert_int_equal(st.skipped_rules, 7 + 3 + 2 + 1);
	assert_int_equal(st.vips, 3);
	kindex__free(idx);
}

/* nft: rules and map elements that do not parse are skipped. */
static void test_nft_garbage(void **state)
{
	struct kindex *idx = kindex__new();
	struct kindex_stats st;

	(void)state;
	kt_add_str_ok(idx, KSRC_NFT_JSON,
		      "{\"nftables\": [{\"table\": {\"family\": \"ip\", \"name\": \"kube-proxy\"}},"
		      "{\"table\": {\"name\": \"nofamily\"}}, 7, {\"rule\": {}},"
		      "{\"chain\": {\"family\": \"ip\", \"table\": \"kube-proxy\", \"name\": "
		      "\"x\"}},"
		      "{\"map\": {\"family\": \"ip\", \"table\": \"kube-proxy\", \"name\": "
		      "\"service-ips\", \"elem\": [[{\"concat\": [\"10.96.0.9\", \"tcp\", 80]}, "
		      "{\"goto\": {\"target\": \"nochain\"}}], 5, [{\"concat\": [\"x\"]}, 1]]}},"
		      "{\"rule\": {\"family\": \"ip\", \"table\": \"kube-proxy\", \"chain\": \"x\","
		      " \"expr\": [{\"dnat\": {\"addr\": {\"map\": 1}}}]}}]}");
	/* a null where a string belongs (fib flags) is no crash */
	kt_add_str_ok(idx, KSRC_NFT_JSON,
		      "{\"nftables\":[{\"table\":{\"family\":\"ip\",\"name\":\"t\"}},"
		      "{\"chain\":{\"family\":\"ip\",\"table\":\"t\",\"name\":\"c\"}},"
		      "{\"rule\":{\"family\":\"ip\",\"table\":\"t\",\"chain\":\"c\",\"expr\":["
		      "{\"match\":{\"op\":\"==\",\"left\":{\"fib\":{\"result\":\"type\","
		      "\"flags\":[null]}},\"right\":\"local\"}},"
		      "{\"dnat\":{\"addr\":\"1.2.3.4\",\"port\":{\"range\":[null,null]}}}]}}]}");
	kindex__stats(idx, &st);
	assert_int_equal(st.vips, 0);
	assert_int_equal(st.skipped_rules, 2 + 3 + 1); /* + the rule with the null port range */
	kindex__free(idx);
}

/*
 * Service ports sharing one chain of DNAT rules (kube-proxy writes none):
 * ports x rules endpoints, from a few hundred KB of crafted rules.  Refused
 * as a whole, with a message; the same rules once per port are fine.
 */
static void shared_chain_rules(char *buf, size_t len, int ports, int dnats, bool shared)
{
	size_t n = snprintf(buf, len, "*nat\n:PREROUTING ACCEPT [0:0]\n:KUBE-SERVICES - [0:0]\n"
				      "-A PREROUTING -j KUBE-SERVICES\n");

	for (int i = 0; i < ports; i++)
		n += snprintf(buf + n, len - n,
			      "-A KUBE-SERVICES -d 10.96.%d.%d/32 -p tcp -m comment --comment "
			      "\"a/s%d:p cluster IP\" -m tcp --dport 80 -j KUBE-SVC-%d\n",
			      i / 250, i % 250 + 1, i, shared ? 0 : i);
	for (int c = 0; c < (shared ? 1 : ports); c++)
		for (int i = 0; i < dnats; i++)
			n += snprintf(buf + n, len - n,
				      "-A KUBE-SVC-%d -p tcp -m tcp -j DNAT --to-destination "
				      "10.224.%d.%d:8080\n",
				      c, i / 250, i % 250 + 1);
	snprintf(buf + n, len - n, "COMMIT\n");
}

static void test_shared_chain(void **state)
{
	size_t len = 16 << 20;
	char *buf = malloc(len), err[512];
	struct kindex *idx = kindex__new();
	struct kindex_stats st;

	(void)state;
	assert_non_null(buf);
	shared_chain_rules(buf, len, 1000, 1000, true);
	assert_int_equal(kt_add_str(idx, KSRC_IPTABLES_SAVE, "t", buf, err, sizeof(err)), -E2BIG);
	assert_non_null(strstr(err, "t: more Service endpoints than its DNAT rules can give"));
	kindex__stats(idx, &st);
	assert_int_equal(st.endpoints, 0);
	assert_true(kindex__empty(idx));
	/* kube-proxy's way: a chain per Service port, its endpoints each */
	shared_chain_rules(buf, len, 100, 100, false);
	assert_int_equal(kt_add_str(idx, KSRC_IPTABLES_SAVE, "t", buf, err, sizeof(err)), 0);
	kindex__stats(idx, &st);
	assert_int_equal(st.endpoints, 100 * 100);
	kindex__free(idx);
	free(buf);
}

/* A failed source leaves what earlier sources built untouched. */
static void test_rollback(void **state)
{
	struct kindex *idx = kt_iptables_node(true);
	struct kindex_stats before, after;
	struct k8s_annot a;
	struct conn c;
	char err[512];

	(void)state;
	kindex__stats(idx, &before);
	assert_int_equal(kt_add(idx, KSRC_SNAPSHOT, "bad/snapshot-truncated.json", err,
				sizeof(err)),
			 -EBADMSG);
	assert_int_equal(kt_add(idx, KSRC_IPTABLES_SAVE, "bad/iptables-truncated.txt", err,
				sizeof(err)),
			 -EBADMSG);
	kindex__stats(idx, &after);
	assert_memory_equal(&before, &after, sizeof(before));
	kt_conn(&c, AF_INET, IPPROTO_TCP, "192.168.56.12", 45232, "10.96.0.20", 3306,
		"10.224.0.222", 3306);
	kindex__annotate(idx, &c, &a);
	assert_int_equal(a.verdict, K8S_VERDICT_MISMATCH);
	assert_string_equal(a.landed.name, "mysql-b-0");
	kindex__free(idx);
}

/* kjson__each_in()'s callback: count the items. */
static int count_item(void *ctx, struct json_object *item)
{
	(void)item;
	++*(int *)ctx;
	return 0;
}

/* kindex_warn_fn: the warnings one after the other, one per line. */
static void collect_warn(void *ctx, const char *msg)
{
	char *buf = ctx;
	size_t used = strlen(buf);

	snprintf(buf + used, 4096 - used, "%s\n", msg);
}

/* @text parsed item by item and parsed whole: the same index and warnings,
 * or the same error. */
static void expect_same_both_ways(enum ksrc_kind kind, const char *name, const char *text)
{
	struct kindex *a = kindex__new(), *b = kindex__new();
	struct kindex_stats sa, sb;
	char ea[512] = "", eb[512] = "", wa[4096] = "", wb[4096] = "";
	int ra, rb;

	kindex__set_warn(a, collect_warn, wa);
	kindex__set_warn(b, collect_warn, wb);
	ra = kt_add_str(a, kind, name, text, ea, sizeof(ea));
	kjson__whole_only = true;
	rb = kt_add_str(b, kind, name, text, eb, sizeof(eb));
	kjson__whole_only = false;
	assert_int_equal(ra, rb);
	assert_string_equal(ea, eb);
	assert_string_equal(wa, wb);
	kindex__stats(a, &sa);
	kindex__stats(b, &sb);
	assert_memory_equal(&sa, &sb, sizeof(sa));
	kindex__free(a);
	kindex__free(b);
}

#define POD_A "{\"kind\":\"Pod\",\"metadata\":{\"namespace\":\"a\",\"name\":\"p\"}," \
	      "\"status\":{\"podIP\":\"10.224.0.5\"}}"

/*
 * A List is read item by item (kjson__each_item()): what it takes and what it
 * refuses, with which words, are those of the whole parse.  An item that is
 * not JSON fails the source after the items before it were read: nothing of
 * them stays.  json-c's extensions (a comment) are left to the whole parse.
 */
static void test_snapshot_items(void **state)
{
	static const char *const docs[] = {
		"{\"items\":[" POD_A "],\"kind\":\"List\",\"metadata\":{}}", /* kubectl's order */
		"{\"kind\":\"PodList\",\"items\":[]}",
		"{\"kind\":\"List\",\"items\":[" POD_A ",\n  {\"kind\":\"Pod\",\"x\":tru}]}",
		"{\"kind\":\"List\",\"items\":[" POD_A ", /* c */ " POD_A "]}",
		"{\"kind\":\"List\",\"items\":[" POD_A "," POD_A "]}",
		"{\"kind\":\"List\",\"items\":[" POD_A "]} x",
		"{\"kind\":\"List\",\"items\":[" POD_A "],\"items\":[]}",
		"{\"kind\":\"List\",\"it\\u0065ms\":[" POD_A "]}",
		"{\"kind\":\"List\",\"items\":[" POD_A ",]}",
		"{\"kind\":\"List\",\"items\":[" POD_A "}",
		"{\"kind\":\"List\",\"items\":[1, " POD_A "]}",
		"{\"kind\":\"List\",\"items\":[{\"kind\":\"Pod\",\"s\":\"]\\\"}\"}]}",
		"{\"kind\":\"List\",\"items\":[{\"kind\":\"EndpointSlice\"}, {\"kind\":\"Pod\",\"x\":tru}]}",
	};
	struct kindex *idx = kindex__new();
	struct kindex_stats st;
	char err[512];

	(void)state;
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++)
		expect_same_both_ways(KSRC_SNAPSHOT, "s", docs[i]);
	kt_add_ok(idx, KSRC_SNAPSHOT, "snapshot.json");
	assert_int_equal(kt_add_str(idx, KSRC_SNAPSHOT, "s", docs[2], err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "s:2:23: not JSON: boolean expected"));
	kindex__stats(idx, &st);
	assert_int_equal(st.sources, 1);
	assert_int_equal(st.pods, 11); /* snapshot.json's, not the List's first pod */
	kindex__free(idx);
}

/* Parse @doc, a @kind source of @want pods (a snapshot) or endpoints (nft),
 * in a child under RLIMIT_DATA of @limit bytes, item by item or (@whole)
 * whole: its exit status, 0 when it took all of them, 4 when the parse
 * failed, 1-3 when the test could not run it. */
static int parse_limited(enum ksrc_kind kind, const char *doc, size_t len, size_t want,
			 rlim_t limit, bool whole)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (!pid) {
		struct kindex *idx = kindex__new();
		struct kindex_stats st;
		struct rlimit rl;
		char err[512];

		if (!idx || getrlimit(RLIMIT_DATA, &rl))
			_exit(1);
		rl.rlim_cur = rl.rlim_max < limit ? rl.rlim_max : limit;
		if (setrlimit(RLIMIT_DATA, &rl))
			_exit(2);
		kjson__whole_only = whole;
		if (kindex__add_source(idx, kind, "big", doc, len, err, sizeof(err)))
			_exit(4);
		kindex__stats(idx, &st);
		_exit((kind == KSRC_SNAPSHOT ? st.pods : st.endpoints) == want ? 0 : 3);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* kjson__each_item()'s purpose: the index of a 48 MB List built with the
 * memory of the document, the index and one item, where json-c's tree of the
 * whole document takes five times the document.  Under RLIMIT_DATA of twice
 * the document plus 64 MiB: item by item it fits, whole it does not (the
 * limit shown to be one that matters). */
static void test_snapshot_memory(void **state)
{
	size_t cap = 48u << 20, len = 0, pods = 0;
	rlim_t limit = 2 * (rlim_t)cap + (64u << 20);
	char *doc = malloc(cap);

	(void)state;
	assert_non_null(doc);
	len += (size_t)snprintf(doc, cap, "{\"apiVersion\":\"v1\",\"items\":[");
	while (len < cap - (8u << 10)) {
		len += (size_t)snprintf(
			doc + len, cap - len,
			"%s{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p%zu\","
			"\"namespace\":\"n\",\"labels\":{\"app\":\"a\",\"tier\":\"b\"},"
			"\"ownerReferences\":[{\"kind\":\"ReplicaSet\",\"name\":\"r\"}]},"
			"\"spec\":{\"nodeName\":\"node-1\",\"containers\":[{\"name\":\"c\","
			"\"env\":[{\"name\":\"A\",\"value\":\"1\"},{\"name\":\"B\",\"value\":\"2\"}],"
			"\"resources\":{\"requests\":{\"cpu\":\"1\"}},\"ports\":[{\"containerPort\":80,"
			"\"protocol\":\"TCP\"}]}]},\"status\":{\"phase\":\"Running\",\"podIP\":"
			"\"10.%zu.%zu.%zu\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}",
			pods ? "," : "", pods, (pods >> 16) & 255, (pods >> 8) & 255, pods & 255);
		pods++;
	}
	len += (size_t)snprintf(doc + len, cap - len, "],\"kind\":\"List\"}");
	assert_int_equal(parse_limited(KSRC_SNAPSHOT, doc, len, pods, limit, false), 0);
	assert_int_equal(parse_limited(KSRC_SNAPSHOT, doc, len, pods, limit, true), 4);
	free(doc);
}

#define NFT_T(name) "{\"table\": {\"family\": \"inet\", \"name\": \"" name "\"}}"
#define NFT_C "{\"chain\": {\"family\": \"inet\", \"table\": \"p\", \"name\": \"pre\"," \
	      " \"type\": \"nat\", \"hook\": \"prerouting\", \"prio\": -150}}"
#define NFT_R(port) "{\"rule\": {\"family\": \"inet\", \"table\": \"p\", \"chain\": \"pre\"," \
		    " \"expr\": [{\"match\": {\"op\": \"==\", \"left\": {\"payload\": " \
		    "{\"protocol\": \"tcp\", \"field\": \"dport\"}}, \"right\": " port "}}," \
		    " {\"dnat\": {\"family\": \"ip\", \"addr\": \"10.0.0.9\"}}]}}"

/*
 * `nft -j` is read item by item too (kjson__each_in()), with the whole
 * parse's answers: its index, warnings and errors.  A rule or chain listed
 * before its table is read as one listed after it.
 */
static void test_nft_items(void **state)
{
	static const char *const docs[] = {
		"{\"nftables\": [" NFT_T("p") ", " NFT_C ", " NFT_R("80") "]}",
		"{\"nftables\": [" NFT_R("80") ", " NFT_C ", " NFT_T("p") "]}",
		"{\"nftables\": [" NFT_T("p") ", " NFT_T("p") ", {\"rule\": {}}, " NFT_C "," NFT_R(
			"\"x\"") "]}",
		"{\"nftables\": [" NFT_T("p") ", " NFT_C ",\n " NFT_R("tru") "]}",
		"{\"nftables\": [" NFT_T("p") ", " NFT_T("p") ", " NFT_C ", " NFT_R("tru") "]}",
		"{\"nftables\": [" NFT_T("p") ", /* c */ " NFT_C "]}",
		"{\"nftables\": [7, " NFT_T("p") "]}",
		"{\"nftables\": [" NFT_T("p") "], \"nftables\": []}",
		"{\"nftables\": [" NFT_T("p") "]} x",
		"{\"nftables\": {}}",
		"{\"x\": 1, \"y\": true, \"z\": [null], \"nftables\": [" NFT_T("p") "]}",
		"{\"x\": 1e400, \"nftables\": []}",
		"{\"x\": tru, \"nftables\": []}",
		"{\"nftables\": [" NFT_T("p") ",]}",
	};
	/* which of them are read item by item (else parsed whole) */
	static const bool items[] = { 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 0, 0 };
	static const char *const in_order = docs[0], *const reversed = docs[1];
	struct kindex *a = kindex__new(), *b = kindex__new(), *w = kindex__new();
	struct kindex_stats sa, sb;
	char err[512], warns[4096] = "";

	(void)state;
	_Static_assert(sizeof(items) / sizeof(items[0]) == sizeof(docs) / sizeof(docs[0]),
		       "one items[] per doc");
	a->src_name = "n";
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		int n = 0, r = kjson__each_in(a, docs[i], strlen(docs[i]), "nftables", count_item,
					      &n, err, sizeof(err));

		assert_int_equal(r == KJSON_WHOLE, !items[i]);
		expect_same_both_ways(KSRC_NFT_JSON, "n", docs[i]);
	}
	/* what was not understood, by its place in the list, in the list's
	 * order; nothing of a list refused after (docs[4]: no warning) */
	kindex__set_warn(w, collect_warn, warns);
	assert_int_equal(kt_add_str(w, KSRC_NFT_JSON, "n", docs[2], err, sizeof(err)), 0);
	assert_string_equal(warns, "n: nftables[1]: table not understood, ignored\n"
				   "n: nftables[2]: rule not understood, ignored\n"
				   "n: nat rule in table p pre not understood, ignored\n");
	warns[0] = '\0';
	assert_int_equal(kt_add_str(w, KSRC_NFT_JSON, "n", docs[4], err, sizeof(err)), -EBADMSG);
	assert_string_equal(warns, "");
	kindex__free(w);
	assert_int_equal(kt_add_str(a, KSRC_NFT_JSON, "n", in_order, err, sizeof(err)), 0);
	assert_int_equal(kt_add_str(b, KSRC_NFT_JSON, "n", reversed, err, sizeof(err)), 0);
	kindex__stats(a, &sa);
	kindex__stats(b, &sb);
	assert_int_equal(sa.rules, 1);
	assert_memory_equal(&sa, &sb, sizeof(sa));
	assert_string_equal(b->rules.v[0].text, "tcp dport 80 dnat to 10.0.0.9");
	assert_int_equal(b->rules.v[0].reach[KHOOK_PREROUTING].prio, -150);
	assert_int_equal(kt_add_str(a, KSRC_NFT_JSON, "n", docs[3], err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "n:2:"));
	kindex__free(a);
	kindex__free(b);
}

/* The nft answer of a node of 2,000 Services of 4 endpoints (8 MB), read
 * under RLIMIT_DATA of twice the document plus 64 MiB: item by item it fits,
 * whole it does not (json-c's tree is twenty times the document). */
static void test_nft_memory(void **state)
{
	struct tbuf doc = { 0 };
	rlim_t limit;

	(void)state;
	nftgen_kube_proxy(&doc, 2000, 4, false);
	limit = 2 * (rlim_t)doc.len + (64u << 20);
	assert_int_equal(parse_limited(KSRC_NFT_JSON, doc.p, doc.len, 8000, limit, false), 0);
	assert_int_equal(parse_limited(KSRC_NFT_JSON, doc.p, doc.len, 8000, limit, true), 4);
	free(doc.p);
}

/*
 * A set of destinations that makes more rules than natwho keeps: 1,400 IPv6
 * ranges of 190 prefixes each (266,000 rules from 100 KB).  The first
 * 262,144 are kept, the rest said once, and the index is usable.
 */
/* An ip6 nat rule's `ip6 daddr { ...`, its set's elements to follow. */
static const char nft6_daddr_set[] =
	"{\"nftables\": [{\"table\": {\"family\": \"ip6\", \"name\": \"t\"}}, "
	"{\"chain\": {\"family\": \"ip6\", \"table\": \"t\", \"name\": \"c\", \"type\": "
	"\"nat\", \"hook\": \"output\", \"prio\": -100}}, {\"rule\": {\"family\": \"ip6\", "
	"\"table\": \"t\", \"chain\": \"c\", \"expr\": [{\"match\": {\"op\": \"==\", "
	"\"left\": {\"payload\": {\"protocol\": \"ip6\", \"field\": \"daddr\"}}, "
	"\"right\": {\"set\": [";

/* @doc read as an nft dump (and freed): it must parse; its stats in *@st. */
static void add_nft_doc(struct kindex *idx, struct tbuf *doc, struct kindex_stats *st)
{
	char err[512];

	assert_int_equal(kindex__add_source(idx, KSRC_NFT_JSON, "nft", doc->p, doc->len, err,
					    sizeof(err)),
			 0);
	free(doc->p);
	kindex__stats(idx, st);
}

/*
 * Elements that the rule's own matches all leave out make no rule, yet each
 * is tried: a few KB of ranges (190 destination prefixes, each against 40
 * map elements of 246 prefixes) stop at the cap on what is tried, said.
 */
static void test_nft_set_tried_cap(void **state)
{
	struct tbuf doc = { 0 };
	struct kindex *idx = kindex__new();
	struct kindex_stats st;
	struct warns w = { 0 };

	(void)state;
	tbuf_printf(&doc, "%s{\"range\": [\"2001:db8::1\", \"2001:db8:ffff:ffff:ffff:ffff:"
			  "ffff:fffe\"]}]}}}, "
			  "{\"dnat\": {\"addr\": {\"map\": {\"key\": {\"payload\": {\"protocol\": "
			  "\"ip6\", \"field\": \"daddr\"}}, \"data\": {\"set\": [",
		    nft6_daddr_set);
	for (unsigned i = 0; i < 40; i++)
		tbuf_printf(&doc, "%s[{\"range\": [\"3000::1\", \"3fff:ffff:ffff:ffff:ffff:ffff:"
				  "ffff:fffe\"]}, \"2001:db8::99\"]",
			    i ? ", " : "");
	tbuf_printf(&doc, "]}}}}}]}}]}");
	kindex__set_warn(idx, on_warn, &w);
	add_nft_doc(idx, &doc, &st);
	assert_int_equal(st.rules, 0);
	assert_int_equal(st.skipped_rules, 1);
	assert_int_equal(w.n, 1);
	assert_non_null(strstr(w.last, "nat rule past 1048576 elements of sets and maps tried"));
	kindex__free(idx);
}

static void test_nft_set_rules_cap(void **state)
{
	struct tbuf doc = { 0 };
	struct kindex *idx = kindex__new();
	struct kindex_stats st;

	(void)state;
	tbuf_printf(&doc, "%s", nft6_daddr_set);
	for (unsigned i = 0; i < 1400; i++) /* 96 bits from ::1 to ...:fffe: 2 x 96 - 2 prefixes */
		tbuf_printf(&doc, "%s{\"range\": [\"fd%02x:%x::1\", \"fd%02x:%x:ffff:ffff:ffff:ffff:"
				  "ffff:fffe\"]}",
			    i ? ", " : "", i / 256, i % 256, i / 256, i % 256);
	tbuf_printf(&doc, "]}}}, {\"dnat\": {\"addr\": \"fd00::1\"}}]}}]}");
	add_nft_doc(idx, &doc, &st);
	assert_int_equal(st.rules, 262144);
	assert_int_equal(st.skipped_rules, 1);
	kindex__free(idx);
}

/* ICMP and other port-less protocols: addresses only. */
static void test_portless(void **state)
{
	struct kindex *idx = kt_iptables_node(true);
	struct k8s_annot a;
	struct conn c;

	(void)state;
	kt_conn(&c, AF_INET, IPPROTO_ICMP, "10.224.0.9", 0, "10.224.1.5", 0, "10.224.1.5", 0);
	kindex__annotate(idx, &c, &a);
	assert_int_equal(a.target.kind, K8S_KIND_POD);
	assert_int_equal(a.verdict, K8S_VERDICT_OK);
	kindex__free(idx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snapshot_unusable),
		cmocka_unit_test(test_inline_unusable),
		cmocka_unit_test(test_too_big),
		cmocka_unit_test(test_missing_fields),
		cmocka_unit_test(test_snapshot_items),
		cmocka_unit_test(test_snapshot_memory),
		cmocka_unit_test(test_nft_items),
		cmocka_unit_test(test_nft_memory),
		cmocka_unit_test(test_snapshot_limits),
		cmocka_unit_test(test_snapshot_svc_vips_cap),
		cmocka_unit_test(test_warnings_held),
		cmocka_unit_test(test_garbage_rules),
		cmocka_unit_test(test_nft_garbage),
		cmocka_unit_test(test_shared_chain),
		cmocka_unit_test(test_rollback),
		cmocka_unit_test(test_portless),
		cmocka_unit_test(test_nft_set_rules_cap),
		cmocka_unit_test(test_nft_set_tried_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
