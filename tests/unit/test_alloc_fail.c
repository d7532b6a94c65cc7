// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Every source kind read while memory runs out: each allocation natwho
 * makes in kindex__add_source() fails in turn, once or from then on.  Each
 * time the source is either taken whole, the index then the same as when
 * nothing failed, or refused with -ENOMEM and one line, the index then as
 * it was before (the same source added again gives what it gives when
 * nothing failed) and none of the source's warnings said (but those it
 * could not hold for want of memory); nothing leaks
 * (every allocation freed with the index) and nothing crashes.  The same for
 * replaying and recording a capture file.  malloc, calloc, realloc and
 * free are this program's; json-c's own allocations never fail (below),
 * but for those of json_tokener_new_ex(), which json-c undoes itself: the
 * JSON sources are also read with each of those failing in turn, and must
 * be refused with -ENOMEM and one line naming them.
 */
#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "k8s_test.h"
#include "k8s_int.h"
#include "capfile.h"
#include "fixtures.h"
#include "log.h"
#include "record.h"
#include "replay.h"
#include "tbuf.h"
#include <json-c/json.h>

/* ---- the allocator: glibc's, with a failure switch and a count ---- */

static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void (*real_free)(void *);

/* dlsym() may allocate before the real functions are known: from here. */
static _Alignas(16) unsigned char boot[4096];
static size_t boot_used;

static bool af_counting; /* between af_arm() and af_disarm() */
static bool af_in_init; /* dlsym() at work */
/* af_listing: the calls that are natwho's (not json-c's) go into af_mine */
static bool af_listing;
static long *af_mine;
static size_t af_nmine, af_cap_mine;
static long af_calls; /* allocation calls since af_arm() */
static long af_at; /* the call that fails first (1-based); 0: none */
static bool af_persist; /* every call from af_at on fails, not only that one */
static bool af_failed; /* a call failed since af_arm() */
static long af_live; /* blocks allocated and not yet freed */

static void af_init(void)
{
	if (real_malloc || af_in_init)
		return;
	af_in_init = true;
	real_malloc = dlsym(RTLD_NEXT, "malloc");
	real_calloc = dlsym(RTLD_NEXT, "calloc");
	real_realloc = dlsym(RTLD_NEXT, "realloc");
	real_free = dlsym(RTLD_NEXT, "free");
	if (!real_malloc || !real_calloc || !real_realloc || !real_free)
		abort();
	af_in_init = false;
}

static void *boot_alloc(size_t n)
{
	void *p;

	n = (n + 15) & ~(size_t)15;
	if (n > sizeof(boot) - boot_used)
		return NULL;
	p = boot + boot_used;
	boot_used += n;
	return p;
}

static bool from_boot(const void *p)
{
	return (const unsigned char *)p >= boot && (const unsigned char *)p < boot + sizeof(boot);
}

/*
 * json-c's own allocations never fail: json-c before 0.18 goes on with some
 * of them failed (a NULL object key passed to strlen(): json-c issues #854
 * and #857), a crash natwho cannot prevent; so what natwho does when a
 * json-c call fails for want of memory is tested only where json-c fails
 * cleanly (af_tok_at, below).  An allocation
 * with a json-c frame anywhere on its stack is json-c's:
 * json-c never calls back into natwho.
 */
static bool af_from_jsonc(void)
{
	static const void *jsonc_base;
	void *bt[16];
	Dl_info di;
	int n;

	if (!jsonc_base) {
		if (!dladdr((void *)json_tokener_parse_ex, &di))
			abort();
		jsonc_base = di.dli_fbase;
	}
	n = backtrace(bt, 16);
	for (int i = 1; i < n; i++)
		if (dladdr(bt[i], &di) && di.dli_fbase == jsonc_base)
			return true;
	return false;
}

/*
 * af_tok_at: the af_tok_at-th allocation made inside json_tokener_new_ex()
 * fails (0: none).  The one json-c failure tested: json-c 0.16 undoes its
 * own allocations there and answers NULL, and natwho must refuse the source
 * with -ENOMEM and one line of its own (json-c said nothing).
 */
static long af_tok_at, af_tok_calls;

static bool af_in_tokener_new(void)
{
	void *bt[16];
	Dl_info di;
	int n = backtrace(bt, 16);

	for (int i = 1; i < n; i++)
		if (dladdr(bt[i], &di) && di.dli_sname &&
		    !strcmp(di.dli_sname, "json_tokener_new_ex"))
			return true;
	return false;
}

/* af_listing: note this call if it is natwho's. */
static void af_list(void)
{
	if (af_from_jsonc())
		return;
	if (af_nmine == af_cap_mine) {
		af_cap_mine = af_cap_mine ? 2 * af_cap_mine : 1024;
		af_mine = real_realloc(af_mine, af_cap_mine * sizeof(*af_mine));
		if (!af_mine)
			abort();
	}
	af_mine[af_nmine++] = af_calls;
}

/* Whether this allocation call fails: call af_at (one of natwho's, from
 * the list), and with af_persist every later one that is natwho's. */
static bool af_fail(void)
{
	if (!af_counting)
		return false;
	af_calls++;
	if (af_listing)
		af_list();
	if (af_tok_at && af_in_tokener_new() && ++af_tok_calls == af_tok_at) {
		af_failed = true;
		return true;
	}
	if (af_at && (af_calls == af_at || (af_persist && af_calls > af_at && !af_from_jsonc()))) {
		af_failed = true;
		return true;
	}
	return false;
}

void *malloc(size_t n)
{
	void *p;

	if (!real_malloc) {
		af_init(); /* a no-op while dlsym() runs */
		if (!real_malloc)
			return boot_alloc(n);
	}
	if (af_fail()) {
		errno = ENOMEM;
		return NULL;
	}
	p = real_malloc(n);
	if (p)
		af_live++;
	return p;
}

void *calloc(size_t n, size_t size)
{
	void *p;

	if (!real_calloc)
		return boot_alloc(n * size); /* zeroed: static, never reused */
	if (af_fail()) {
		errno = ENOMEM;
		return NULL;
	}
	p = real_calloc(n, size);
	if (p)
		af_live++;
	return p;
}

void *realloc(void *old, size_t n)
{
	void *p;

	if (!old)
		return malloc(n);
	if (from_boot(old))
		abort(); /* dlsym()'s blocks are never grown */
	if (!n) {
		free(old);
		return NULL;
	}
	if (af_fail()) {
		errno = ENOMEM;
		return NULL;
	}
	p = real_realloc(old, n);
	return p;
}

void free(void *p)
{
	if (!p || from_boot(p))
		return;
	af_live--;
	real_free(p);
}

/* Count calls from here; @at: the one that fails first (0: none). */
static void af_arm(long at, bool persist)
{
	af_calls = 0;
	af_failed = false;
	af_persist = persist;
	af_at = at;
	af_counting = true;
}

/* Calls made since af_arm(); no more failures. */
static long af_disarm(void)
{
	af_counting = false;
	return af_calls;
}

/* ---- what the index knows, as text ---- */

static const struct kt_spec conns[] = {
	{ AF_INET, IPPROTO_TCP, "192.168.56.12", "10.96.0.20", "10.224.0.222", 45232, 3306, 3306 },
	{ AF_INET, IPPROTO_TCP, "10.224.0.9", "10.96.0.20", "10.224.1.5", 40000, 3306, 3306 },
	{ AF_INET6, IPPROTO_TCP, "fd00:10:224::30", "fd00:10:96::30", "fd00:10:224::7", 40001, 80,
	  8080 },
	{ AF_INET, IPPROTO_TCP, "10.224.0.9", "10.96.0.1", "192.168.56.11", 40002, 443, 6443 },
	{ AF_INET, IPPROTO_UDP, "10.224.0.9", "10.96.0.10", "10.224.0.3", 40003, 53, 53 },
	{ AF_INET, IPPROTO_TCP, "192.168.56.12", "192.168.56.12", "10.224.0.222", 40004, 30306,
	  3306 },
	{ AF_INET, IPPROTO_TCP, "10.224.0.9", "10.224.1.5", "10.224.1.5", 40005, 3306, 3306 },
};

/* The index's counts, its audit and the annotations of conns[] (JSON). */
static char *fingerprint(const struct kindex *idx)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct kindex_stats st;
	struct out o;

	assert_non_null(f);
	kindex__stats(idx, &st);
	fprintf(f, "sources %u pods %u svcports %u endpoints %u vips %u nodeports %u hostports %u "
		   "rules %u local %u skipped %u/%u/%u ipvs %d/%d table %u/%u\n",
		st.sources, st.pods, st.svcports, st.endpoints, st.vips, st.nodeports, st.hostports,
		st.rules, st.local_addrs, st.skipped_objects, st.ignored_objects, st.skipped_rules,
		st.ipvs, st.ipvs_sets, st.ipvs_services, st.ipvs_dests);
	out__init(&o, f, OUT_JSON);
	kindex__audit(idx, &o, NULL);
	for (size_t i = 0; i < sizeof(conns) / sizeof(conns[0]); i++) {
		char reason[K8S_REASON_LEN];
		struct k8s_annot a;
		struct conn c;

		kt_conn_of(&c, &conns[i]);
		kindex__annotate(idx, &c, &a);
		out__obj_open(&o, NULL);
		k8s_annot__print(&o, &a, k8s_annot__reason(&a, reason, sizeof(reason)));
		out__record_end(&o);
	}
	out__flush(&o);
	assert_int_equal(fclose(f), 0);
	return buf;
}

/* The test's own allocations neither count nor fail. */
static void collect_warn(void *ctx, const char *msg)
{
	bool counting = af_counting;

	af_counting = false;
	tbuf_printf(ctx, "%s\n", msg);
	af_counting = counting;
}

/* The first line where @a and @b differ, for a failure message. */
static const char *first_diff(const char *a, const char *b, char *buf, size_t len)
{
	size_t i = 0, line = 0;

	while (a[i] && a[i] == b[i])
		if (a[i++] == '\n')
			line = i;
	snprintf(buf, len, "%.*s\n  against\n%.*s", (int)strcspn(a + line, "\n"), a + line,
		 (int)strcspn(b + line, "\n"), b + line);
	return buf;
}

/* ---- the sweep ---- */

struct step {
	enum ksrc_kind kind;
	const char *file;
};

struct scenario {
	const char *name;
	struct step base[3]; /* read first, nothing failing (file NULL: end) */
	struct step read; /* read while allocations fail */
	bool whole; /* JSON parsed whole (kjson__whole_only) */
};

static struct kindex *base_index(const struct scenario *sc, struct tbuf *warns)
{
	struct kindex *idx = kindex__new();

	assert_non_null(idx);
	kindex__set_warn(idx, collect_warn, warns);
	for (size_t i = 0; i < sizeof(sc->base) / sizeof(sc->base[0]) && sc->base[i].file; i++)
		kt_add_ok(idx, sc->base[i].kind, sc->base[i].file);
	return idx;
}

/* Read sc->read with allocation @at failing (0: none); the result's rc,
 * error, warnings (of that read only) and fingerprint, and when refused the
 * fingerprint after reading it again with nothing failing (*@again, else
 * NULL); the calls it made. */
static long try_read(const struct scenario *sc, const char *data, size_t len, long at,
		     bool persist, int *rc, char *err, size_t errlen, char **warned, char **fp,
		     char **again)
{
	struct tbuf warns = { 0 };
	struct kindex *idx;
	size_t before;
	long live = af_live, calls;

	idx = base_index(sc, &warns);
	before = warns.len;
	err[0] = '\0';
	kjson__whole_only = sc->whole;
	af_arm(at, persist);
	*rc = kindex__add_source(idx, sc->read.kind, sc->read.file, data, len, err, errlen);
	calls = af_disarm();
	kjson__whole_only = false;
	*warned = strdup(warns.p ? warns.p + before : "");
	assert_non_null(*warned);
	*fp = fingerprint(idx);
	*again = NULL;
	if (*rc) { /* what is left of the index still takes the source */
		char err2[512];

		kjson__whole_only = sc->whole;
		if (kindex__add_source(idx, sc->read.kind, sc->read.file, data, len, err2,
				       sizeof(err2)))
			fail_msg("%s: allocation %ld%s failing, then nothing: %s", sc->name, at,
				 persist ? " on" : "", err2);
		kjson__whole_only = false;
		*again = fingerprint(idx);
	}
	kindex__free(idx);
	free(warns.p);
	/* the strings handed back are the only blocks left */
	if (af_live != live + 2 + !!*again)
		fail_msg("%s: allocation %ld%s failing: %ld blocks not freed", sc->name, at,
			 persist ? " on" : "", af_live - live - 2 - !!*again);
	return calls;
}

/* Each allocation of json_tokener_new_ex() failing in turn, once. */
static void sweep_tokener(const struct scenario *sc, const char *data, size_t len,
			  const char *before_fp, const char *ok_fp)
{
	char err[512], diff[4096], *warned, *fp, *again;
	long refused = 0;
	int rc;

	for (af_tok_at = 1;; af_tok_at++) {
		af_tok_calls = 0;
		try_read(sc, data, len, 0, false, &rc, err, sizeof(err), &warned, &fp, &again);
		if (!af_failed) { /* past the last: read whole as when nothing fails */
			assert_int_equal(rc, 0);
			assert_string_equal(fp, ok_fp);
		} else {
			refused++;
			if (rc != -ENOMEM)
				fail_msg("%s: tokener allocation %ld failing: %d (%s), not -ENOMEM",
					 sc->name, af_tok_at, rc, err);
			if (!strstr(err, sc->read.file) || strchr(err, '\n') ||
			    !strstr(err, strerror(ENOMEM)))
				fail_msg("%s: tokener allocation %ld failing: error \"%s\"",
					 sc->name, af_tok_at, err);
			if (strcmp(fp, before_fp))
				fail_msg("%s: tokener allocation %ld failing: refused, but the index "
					 "changed:\n%s",
					 sc->name, af_tok_at,
					 first_diff(fp, before_fp, diff, sizeof(diff)));
			if (*warned)
				fail_msg("%s: tokener allocation %ld failing: refused, yet warned "
					 "\"%s\"", sc->name, af_tok_at, warned);
			if (strcmp(again, ok_fp))
				fail_msg("%s: tokener allocation %ld failing, then nothing: the index "
					 "differs:\n%s",
					 sc->name, af_tok_at, first_diff(again, ok_fp, diff, sizeof(diff)));
		}
		free(warned);
		free(fp);
		free(again);
		if (!af_failed)
			break;
	}
	af_tok_at = 0;
	assert_true(refused > 0);
	print_message("%s: each of json_tokener_new_ex()'s %ld allocations failed: refused, "
		      "-ENOMEM\n", sc->name, refused);
}

static void sweep(const struct scenario *sc)
{
	long calls, failed = 0, refused = 0, taken = 0, warned_early = 0, *mine;
	char err[512], diff[4096], *ok_warned, *ok_fp, *before_fp, *data, *none;
	size_t nmine;
	struct tbuf warns = { 0 };
	struct kindex *idx;
	size_t len;
	int rc;

	data = kt_fixture(sc->read.file, &len);
	/* the index before the read, and after it when nothing fails */
	idx = base_index(sc, &warns);
	before_fp = fingerprint(idx);
	kindex__free(idx);
	free(warns.p);
	/* nothing failing, listing which calls are natwho's */
	af_nmine = 0;
	af_listing = true;
	calls = try_read(sc, data, len, 0, false, &rc, err, sizeof(err), &ok_warned, &ok_fp,
			 &none);
	af_listing = false;
	if (rc)
		fail_msg("%s: %s", sc->name, err);
	nmine = af_nmine;
	assert_true(nmine > 0);
	mine = malloc(nmine * sizeof(*mine));
	assert_non_null(mine);
	memcpy(mine, af_mine, nmine * sizeof(*mine));
	for (int persist = 0; persist < 2; persist++) {
		for (size_t m = 0; m < nmine; m++) {
			char *warned, *fp, *again;
			long at = mine[m];

			try_read(sc, data, len, at, persist, &rc, err, sizeof(err), &warned, &fp,
				 &again);
			failed += af_failed; /* else json-c's: none failed */
			if (rc) {
				refused++;
				if (rc != -ENOMEM)
					fail_msg("%s: allocation %ld%s failing: %d (%s), not -ENOMEM",
						 sc->name, at, persist ? " on" : "", rc, err);
				if (!strstr(err, sc->read.file) || strchr(err, '\n'))
					fail_msg("%s: allocation %ld failing: error \"%s\"", sc->name,
						 at, err);
				if (strcmp(fp, before_fp))
					fail_msg("%s: allocation %ld%s failing: refused, but the "
						 "index changed:\n%s",
						 sc->name, at, persist ? " on" : "",
						 first_diff(fp, before_fp, diff, sizeof(diff)));
				/* A refused source says nothing, unless memory ran out
				 * for holding its warnings: then those it had (kindex.c
				 * says them rather than lose them), as a read where
				 * nothing fails says them. */
				if (strncmp(warned, ok_warned, strlen(warned)))
					fail_msg("%s: allocation %ld%s failing: refused, yet warned "
						 "\"%s\"",
						 sc->name, at, persist ? " on" : "", warned);
				warned_early += *warned != '\0';
				if (strcmp(again, ok_fp))
					fail_msg("%s: allocation %ld%s failing: refused, then read "
						 "again, the index differs from the one nothing "
						 "failing gives:\n%s",
						 sc->name, at, persist ? " on" : "",
						 first_diff(again, ok_fp, diff, sizeof(diff)));
			} else {
				taken += af_failed;
				if (strcmp(fp, ok_fp))
					fail_msg("%s: allocation %ld%s failing: taken, but the index "
						 "differs from the one nothing failing gives:\n%s",
						 sc->name, at, persist ? " on" : "",
						 first_diff(fp, ok_fp, diff, sizeof(diff)));
				if (strcmp(warned, ok_warned))
					fail_msg("%s: allocation %ld%s failing: warned \"%s\", not "
						 "\"%s\"",
						 sc->name, at, persist ? " on" : "", warned, ok_warned);
			}
			free(warned);
			free(fp);
			free(again);
		}
	}
	/* every one of natwho's calls failed, both ways */
	assert_int_equal(failed, 2 * (long)nmine);
	print_message("%s: %ld allocations, %zu of them natwho's, each failed once and from "
		      "then on: %ld refused (%ld after saying warnings held), %ld taken\n",
		      sc->name, calls, nmine, refused, warned_early, taken);
	if (sc->read.kind == KSRC_SNAPSHOT || sc->read.kind == KSRC_NFT_JSON)
		sweep_tokener(sc, data, len, before_fp, ok_fp);
	free(mine);
	free(ok_warned);
	free(ok_fp);
	free(before_fp);
	free(data);
}

#define ST(k, f) { KSRC_##k, f }

static const struct scenario scenarios[] = {
	{ "iptables-save", { { 0 } }, ST(IPTABLES_SAVE, "iptables-save.txt"), false },
	{ "ip6tables-save", { ST(IPTABLES_SAVE, "iptables-save.txt") },
	  ST(IP6TABLES_SAVE, "ip6tables-save.txt"), false },
	{ "snapshot", { ST(IPTABLES_SAVE, "iptables-save.txt"),
			ST(IP6TABLES_SAVE, "ip6tables-save.txt") },
	  ST(SNAPSHOT, "snapshot.json"), false },
	{ "snapshot, whole", { ST(IPTABLES_SAVE, "iptables-save.txt") },
	  ST(SNAPSHOT, "snapshot.json"), true },
	{ "nft kube-proxy", { ST(SNAPSHOT, "snapshot.json") },
	  ST(NFT_JSON, "nft-kube-proxy.json"), false },
	{ "nft kube-proxy, whole", { ST(SNAPSHOT, "snapshot.json") },
	  ST(NFT_JSON, "nft-kube-proxy.json"), true },
	{ "nft cni_hostport", { ST(NFT_JSON, "nft-kube-proxy.json"), ST(SNAPSHOT, "snapshot.json") },
	  ST(NFT_JSON, "nft-cni-hostport.json"), false },
	{ "ipset", { ST(IPTABLES_SAVE, "iptables-save-ipvs.txt"), ST(SNAPSHOT, "snapshot.json") },
	  ST(IPSET_SAVE, "ipset-save.txt"), false },
	{ "local addresses", { ST(IPTABLES_SAVE, "iptables-save.txt") },
	  ST(LOCAL_ADDRS, "local-addrs.txt"), false },
	{ "IPVS's table", { ST(IPTABLES_SAVE, "iptables-save-ipvs.txt"), ST(SNAPSHOT, "snapshot.json") },
	  ST(IPVS, "ip_vs.txt"), false },
	{ "snapshot over IPVS's table", { ST(IPTABLES_SAVE, "iptables-save-ipvs.txt"),
					  ST(IPVS, "ip_vs.txt") },
	  ST(SNAPSHOT, "snapshot.json"), false },
	/* sources that warn: a refused one says none of it (but see sweep()) */
	{ "iptables-save, bad rules", { ST(SNAPSHOT, "snapshot.json") },
	  ST(IPTABLES_SAVE, "bad/iptables-garbage.txt"), false },
	{ "snapshot, bad items", { ST(IPTABLES_SAVE, "iptables-save.txt") },
	  ST(SNAPSHOT, "bad/snapshot-missing-fields.json"), false },
};

static void test_sweep(void **state)
{
	sweep(*state);
}

/* ---- a capture file replayed while memory runs out ---- */

#define REPLAY_OUT (1 << 20)

struct replay_run {
	int rc;
	char err[512];
	char *out; /* the JSON records and summary, NUL-terminated */
};

/* Replay capture @path as JSON (sources skipped) with allocation @at
 * failing (0: none; -1: none, and what stays allocated is not checked); the
 * output goes to fixed buffers, which stdio writes without allocating. */
static long replay_try(const char *path, long at, bool persist, struct replay_run *r)
{
	static char out_buf[REPLAY_OUT], text_buf[REPLAY_OUT];
	struct replay_opts o = { .output = OUT_JSON };
	struct replay_result res;
	long live = af_live, calls;
	FILE *out, *text;

	memset(out_buf, 0, sizeof(out_buf));
	out = fmemopen(out_buf, sizeof(out_buf) - 1, "w");
	text = fmemopen(text_buf, sizeof(text_buf) - 1, "w");
	assert_non_null(out);
	assert_non_null(text);
	assert_int_equal(setvbuf(out, NULL, _IONBF, 0), 0);
	assert_int_equal(setvbuf(text, NULL, _IONBF, 0), 0);
	o.out = out;
	o.text_f = text;
	log__setup(text, 0); /* its warnings with the summary */
	r->err[0] = '\0';
	af_arm(at > 0 ? at : 0, persist);
	r->rc = replay__file(path, &o, &res, r->err, sizeof(r->err));
	calls = af_disarm();
	log__setup(NULL, 0);
	fclose(out);
	fclose(text);
	if (af_live != live && at >= 0)
		fail_msg("%s: allocation %ld%s failing: %ld blocks not freed", path, at,
			 persist ? " on" : "", af_live - live);
	r->out = strdup(out_buf);
	assert_non_null(r->out);
	return calls;
}

/* The connection records of a replay's output: its lines up to the summary. */
static size_t conn_lines(const char *out)
{
	const char *sum = strstr(out, "{\"type\":\"summary\"");

	return sum ? (size_t)(sum - out) : strlen(out);
}

/*
 * Every allocation of a replay failing in turn: the replay either ends as it
 * does when nothing fails, or stops with exit 1 (NW_EXIT_RUNTIME) and one
 * line saying memory ran out ("out of memory"), never 5 (a damaged file:
 * the file is fine), after printing exactly the first records, never a
 * wrong one; nothing leaks.
 */
static void test_replay(void **state)
{
	const char *path = *state;
	long calls, failed = 0;
	struct replay_run ok, r;

	replay_try(path, -1, false, &ok); /* once first: what libc keeps (the time zone) */
	free(ok.out);
	calls = replay_try(path, 0, false, &ok);
	if (ok.rc)
		fail_msg("%s: %s", path, ok.err);
	assert_true(calls > 0);
	for (int persist = 0; persist < 2; persist++) {
		for (long at = 1; at <= calls; at++) {
			size_t n;

			replay_try(path, at, persist, &r);
			failed += af_failed;
			if (r.rc == NW_EXIT_OK) {
				if (strcmp(r.out, ok.out))
					fail_msg("%s: allocation %ld%s failing: exit 0, but the output "
						 "differs",
						 path, at, persist ? " on" : "");
			} else {
				if (r.rc != NW_EXIT_RUNTIME || !strstr(r.err, "memory") ||
				    strchr(r.err, '\n'))
					fail_msg("%s: allocation %ld%s failing: exit %d, \"%s\"",
						 path, at, persist ? " on" : "", r.rc, r.err);
				n = conn_lines(r.out);
				if (n > conn_lines(ok.out) || memcmp(r.out, ok.out, n) ||
				    (n && r.out[n - 1] != '\n'))
					fail_msg("%s: allocation %ld%s failing: the records before "
						 "the failure are not the first ones:\n%.*s",
						 path, at, persist ? " on" : "", (int)n, r.out);
			}
			free(r.out);
		}
	}
	assert_true(failed > 0);
	print_message("%s: %ld allocations, %ld of the failures tried natwho's\n", path, calls,
		      failed);
	free(ok.out);
}

/* ---- a capture recorded while memory runs out ---- */

#define REC_EVENTS 400

/* Record a capture to @path with allocation @at failing (0: none): the
 * events that record__event() took before the first error in *@taken; the
 * first error (0: none). */
static int record_try(const char *path, long at, bool persist, int *taken)
{
	static const char ipt[] = "*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n";
	static const char snap[] = "{\"kind\":\"List\",\"items\":[]}";
	const struct record_info info = {
		.backend = "netfilter",
		.start_ns = FIX_BOOT_NS + FIX_BOOT_TO_REAL,
		.boot_to_real_ns = FIX_BOOT_TO_REAL,
	};
	struct record *rec = NULL;
	long live = af_live;
	char err[256];
	int first = 0, e;

	*taken = 0;
	af_arm(at > 0 ? at : 0, persist);
	e = record__open(&rec, path, err, sizeof(err));
	if (e) {
		af_disarm();
		assert_null(rec);
		return e;
	}
	e = record__source(rec, KSRC_IPTABLES_SAVE, "iptables-save", ipt, sizeof(ipt) - 1);
	first = first ? first : e;
	e = record__begin(rec, &info, err, sizeof(err));
	first = first ? first : e;
	for (int i = 0; !first && i < REC_EVENTS; i++) {
		struct nw_event ev;

		fix_event((enum fixture)(i % FIX_COUNT), &ev);
		ev.ts_boot_ns += (uint64_t)i * 1000;
		e = record__event(rec, &ev, sizeof(ev));
		if (!e)
			++*taken;
		first = first ? first : e;
		if (i == REC_EVENTS / 2) {
			e = record__source(rec, KSRC_SNAPSHOT, "snapshot", snap, sizeof(snap) - 1);
			first = first ? first : (e == -E2BIG ? 0 : e);
		}
		e = record__tick(rec, 1000000ULL * (i + 1));
		first = first ? first : e;
	}
	e = record__close(rec, NULL, err, sizeof(err));
	first = first ? first : e;
	af_disarm();
	if (af_live != live && at >= 0)
		fail_msg("recording with allocation %ld%s failing: %ld blocks not freed", at,
			 persist ? " on" : "", af_live - live);
	return first;
}

/*
 * Every allocation of a recording failing in turn: the recording is whole
 * (what one nothing failed in replays as), or a call said -ENOMEM and what
 * the calls took before it is in the file: its replay shows them, the first
 * ones of the whole recording's; nothing leaks.
 */
static void test_record(void **state)
{
	char path[] = "/tmp/nw-test-allocfail.XXXXXX";
	long calls, failed = 0;
	struct replay_run ok, r;
	int fd = mkstemp(path), taken;

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	unlink(path); /* natwho -w makes the file */
	record_try(path, -1, false, &taken); /* once first: what libc keeps */
	unlink(path);
	assert_int_equal(record_try(path, 0, false, &taken), 0);
	calls = af_calls;
	assert_int_equal(taken, REC_EVENTS);
	replay_try(path, -1, false, &ok); /* the same for the replay */
	free(ok.out);
	replay_try(path, 0, false, &ok);
	assert_int_equal(ok.rc, NW_EXIT_OK);
	for (int persist = 0; persist < 2; persist++) {
		for (long at = 1; at <= calls; at++) {
			int e;
			size_t n;

			unlink(path); /* a new file each time, as natwho -w makes it */
			e = record_try(path, at, persist, &taken);

			failed += af_failed;
			if (e && e != -ENOMEM)
				fail_msg("recording with allocation %ld%s failing: %s, not ENOMEM",
					 at, persist ? " on" : "", strerror(-e));
			if (access(path, F_OK)) { /* never begun: nothing written, nothing left */
				if (!e || taken)
					fail_msg("recording with allocation %ld%s failing: no file, "
						 "yet %d events taken and no error",
						 at, persist ? " on" : "", taken);
				continue;
			}
			replay_try(path, 0, false, &r);
			n = conn_lines(r.out);
			if (!e && strcmp(r.out, ok.out))
				fail_msg("recording with allocation %ld%s failing: no error, but the "
					 "capture differs",
					 at, persist ? " on" : "");
			if (n > conn_lines(ok.out) || memcmp(r.out, ok.out, n))
				fail_msg("recording with allocation %ld%s failing: its replay shows "
					 "other records",
					 at, persist ? " on" : "");
			/* every event taken is in the file (a JSON line each) */
			for (const char *p = r.out; p < r.out + n && (p = strchr(p, '\n')); p++)
				taken--;
			if (taken > 0)
				fail_msg("recording with allocation %ld%s failing: %d events taken "
					 "and not in the file",
					 at, persist ? " on" : "", taken);
			free(r.out);
		}
	}
	assert_true(failed > 0);
	print_message("recording: %ld allocations, %ld of the failures tried natwho's\n", calls,
		      failed);
	unlink(path);
	free(ok.out);
}

static const char *const captures[] = {
	"tests/fixtures/capfile/v1.0-incident.nwcap",
	"tests/fixtures/capfile/gzip-v1.0-incident.nwcap",
};

#define NSCENARIOS (sizeof(scenarios) / sizeof(scenarios[0]))
#define NCAPTURES (sizeof(captures) / sizeof(captures[0]))

int main(void)
{
	struct CMUnitTest tests[NSCENARIOS + NCAPTURES + 1];

	for (size_t i = 0; i < NSCENARIOS; i++) {
		tests[i] = (struct CMUnitTest){ .name = scenarios[i].name,
						.test_func = test_sweep,
						.initial_state = (void *)&scenarios[i] };
	}
	for (size_t i = 0; i < NCAPTURES; i++) {
		tests[NSCENARIOS + i] = (struct CMUnitTest){ .name = captures[i],
							     .test_func = test_replay,
							     .initial_state = (void *)captures[i] };
	}
	tests[NSCENARIOS + NCAPTURES] = (struct CMUnitTest){ .name = "recording",
							     .test_func = test_record };
	void *warm[2];

	backtrace(warm, 2); /* loads libgcc's unwinder: allocates once */
	/* NW_ALLOC_ONLY=NAME: that scenario alone */
	if (getenv("NW_ALLOC_ONLY"))
		cmocka_set_test_filter(getenv("NW_ALLOC_ONLY"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
