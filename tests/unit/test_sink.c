// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Golden text and JSON output for recorded events, and JSON validity. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <json-c/json.h>
#include "fixtures.h"
#include "golden.h"
#include "sink.h"

struct membuf {
	char *buf;
	size_t len;
	FILE *f;
};

/* Fixture event @i as decoded for @backend. */
static void fix_conn(int i, const char *backend, struct conn *c)
{
	struct nw_event e;

	fix_event(i, &e);
	assert_int_equal(conn__decode(&e, sizeof(e), FIX_BOOT_TO_REAL, backend, c), 0);
}

static void render(enum out_mode mode, struct membuf *m)
{
	struct nw_stats st = { .events = FIX_COUNT, .lost = 3, .undecodable = 1,
			       .start_ns = FIX_BOOT_NS + FIX_BOOT_TO_REAL,
			       .end_ns = FIX_BOOT_NS + FIX_BOOT_TO_REAL + 2500000000ULL,
			       .backend = "netfilter" };
	struct sink s;

	m->f = open_memstream(&m->buf, &m->len);
	assert_non_null(m->f);
	sink__init(&s, m->f, mode, true);
	for (int i = 0; i < FIX_COUNT; i++) {
		struct conn c;

		fix_conn(i, "netfilter", &c);
		sink__conn(&s, &c);
	}
	sink__summary(&s, m->f, &st);
	fclose(m->f);
}

static void test_text_golden(void **state)
{
	struct membuf m;

	(void)state;
	render(OUT_TEXT, &m);
	golden_check("events.txt", m.buf, m.len);
	free(m.buf);
}

static void test_json_golden(void **state)
{
	struct membuf m;

	(void)state;
	render(OUT_JSON, &m);
	golden_check("events.json", m.buf, m.len);
	free(m.buf);
}

/* Every line is one valid JSON object carrying the documented keys. */
static void test_json_schema(void **state)
{
	static const char *const conn_keys[] = { "type", "ts", "backend", "family", "proto",
						 "netns", "pid", "comm", "orig", "reply",
						 "dnat", "snat", "landed" };
	struct membuf m;
	int lines = 0;

	(void)state;
	render(OUT_JSON, &m);
	for (char *line = strtok(m.buf, "\n"); line; line = strtok(NULL, "\n"), lines++) {
		struct json_object *o = json_tokener_parse(line), *type;

		assert_non_null(o);
		assert_true(json_object_object_get_ex(o, "type", &type));
		if (!strcmp(json_object_get_string(type), "conn")) {
			for (size_t k = 0; k < sizeof(conn_keys) / sizeof(conn_keys[0]); k++)
				assert_true(json_object_object_get_ex(o, conn_keys[k], NULL));
		} else {
			assert_string_equal(json_object_get_string(type), "summary");
			assert_true(json_object_object_get_ex(o, "events", NULL));
			assert_true(json_object_object_get_ex(o, "lost", NULL));
		}
		json_object_put(o);
	}
	assert_int_equal(lines, FIX_COUNT + 1);
	free(m.buf);
}

static void test_json_escaping(void **state)
{
	char *buf;
	size_t len;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	out__json_string(f, "a\"b\\c\n\x01\x7f");
	fclose(f);
	assert_string_equal(buf, "\"a\\\"b\\\\c\\n\\u0001\\u007f\"");
	free(buf);
}

/*
 * Text fields: a "%-Ns TAIL" / "%-Nllu TAIL" column is written without the
 * formatter, anything else goes through it; both must print what printf
 * prints, including values wider than the column and tails with a '%'.
 */
/* A writer into a memory stream; mem_close() hands back what it wrote. */
static FILE *mem_open(struct out *o, enum out_mode mode, char **buf, size_t *len)
{
	FILE *mf = open_memstream(buf, len);

	assert_non_null(mf);
	out__init(o, mf, mode);
	return mf;
}

static void mem_close(struct out *o, FILE *mf)
{
	out__flush(o);
	fclose(mf);
}

static void test_text_columns(void **state)
{
	static const char *const sfmts[] = { "%-15s ", "%-5s", "%-0s|", "%s", "%-3s %%", "%5s ",
					     "%-21s  tail" };
	static const char *const ufmts[] = { "%-7llu ", "%-1llu", "%llu", "%-3llu%%", "%-20llu." };
	static const char *const vals[] = { "", "x", "nw-storm", "a-value-wider-than-any-column" };
	static const uint64_t nums[] = { 0, 7, 65535, 1234567, UINT64_MAX };
	char want[256], *buf;
	size_t len;

	(void)state;
	for (size_t f = 0; f < sizeof(sfmts) / sizeof(sfmts[0]); f++) {
		for (size_t v = 0; v < sizeof(vals) / sizeof(vals[0]); v++) {
			struct out o;
			FILE *mf = mem_open(&o, OUT_TEXT, &buf, &len);

			out__str(&o, OUT_ANY, "k", sfmts[f], vals[v]);
			mem_close(&o, mf);
			snprintf(want, sizeof(want), sfmts[f], vals[v]);
			assert_string_equal(buf, want);
			free(buf);
		}
	}
	for (size_t f = 0; f < sizeof(ufmts) / sizeof(ufmts[0]); f++) {
		for (size_t v = 0; v < sizeof(nums) / sizeof(nums[0]); v++) {
			struct out o;
			FILE *mf = mem_open(&o, OUT_TEXT, &buf, &len);

			out__u64(&o, OUT_ANY, "k", ufmts[f], nums[v]);
			out__null(&o, OUT_ANY, "k", "%-4s|");
			out__text_str(&o, "[end]");
			mem_close(&o, mf);
			snprintf(want, sizeof(want), ufmts[f], (unsigned long long)nums[v]);
			strcat(want, "-   |[end]");
			assert_string_equal(buf, want);
			free(buf);
		}
	}
}

/* JSON keys of any length, at every fill level of the record buffer near
 * its start and its end (byte by byte: the key's room check at the edge). */
static void test_json_keys(void **state)
{
	static const size_t lens[] = { 1, 47, 48, 49, 100, 9000 };
	char *key, *val, *want, *buf;
	size_t len;

	(void)state;
	key = malloc(9001);
	val = malloc(OUT_BUF_SIZE + 1);
	want = malloc(2 * OUT_BUF_SIZE + 9100);
	assert_non_null(key);
	assert_non_null(val);
	assert_non_null(want);
	for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
		memset(key, 'k', lens[l]);
		key[lens[l]] = '\0';
		for (size_t fill = 7; fill <= OUT_BUF_SIZE; fill++) {
			struct { /* a write past the record buffer lands in the canary */
				struct out o;
				unsigned char canary[64];
			} w;
			struct out *o = &w.o;
			FILE *mf;

			if (fill == 200)
				fill = OUT_BUF_SIZE - 200;
			/* '{' + "\"a\":" + '"' + val + '"' = fill bytes */
			memset(val, 'v', fill - 7);
			val[fill - 7] = '\0';
			mf = open_memstream(&buf, &len);
			assert_non_null(mf);
			memset(w.canary, 0x5a, sizeof(w.canary));
			out__init(o, mf, OUT_JSON);
			out__obj_open(o, NULL);
			out__str(o, OUT_JSON_ONLY, "a", NULL, val);
			assert_int_equal(o->len, fill);
			out__str(o, OUT_JSON_ONLY, key, NULL, "v");
			out__u64(o, OUT_JSON_ONLY, "b", NULL, 7);
			out__record_end(o);
			fclose(mf);
			for (size_t i = 0; i < sizeof(w.canary); i++)
				assert_int_equal(w.canary[i], 0x5a);
			sprintf(want, "{\"a\":\"%s\",\"%s\":\"v\",\"b\":7}\n", val, key);
			assert_string_equal(buf, want);
			free(buf);
		}
	}
	free(key);
	free(val);
	free(want);
}

/* Write {"x":1,"k":{"a":"VAL"},"y":2} with the "k" part kept in or put from
 * @f (put: false when out__frag_put() refused); @pre values before it. */
static bool frag_record(struct out_frag *f, bool put, size_t pre, const char *val, char **buf)
{
	size_t len;
	struct out o;
	FILE *mf = mem_open(&o, OUT_JSON, buf, &len);
	bool done = true;

	out__obj_open(&o, NULL);
	for (size_t i = 0; i < pre; i++)
		out__u64(&o, OUT_JSON_ONLY, "x", NULL, 1);
	if (!put || !(done = out__frag_put(&o, f))) {
		if (!put)
			out__frag_begin(&o, f);
		out__obj_open(&o, "k");
		out__str(&o, OUT_JSON_ONLY, "a", NULL, val);
		out__obj_close(&o);
		if (!put)
			out__frag_end(&o, f);
	}
	out__u64(&o, OUT_JSON_ONLY, "y", NULL, 2);
	out__record_end(&o);
	mem_close(&o, mf);
	return done;
}

/* Kept JSON pieces: written again byte for byte where the record stands as
 * it did; refused elsewhere; not kept across a flush nor when too long. */
/*
 * Records that repeat a route reuse its tail, and a process's head (sink.c
 * keeps both pieces, per form): every record must read as a sink that kept
 * nothing writes it, with the same text column widths.  Routes repeat with
 * other sources, a process execs (comm) or writes from another thread (JSON
 * tid), a wider destination widens the text column under a kept tail (and
 * a wider landed endpoint the padding before the verdict), the
 * conntrack status and mark change, the same route is annotated again
 * (a reloaded index, another verdict), SNAT changes the reply's port and a
 * route's addresses go to another backend port (JSON's kept tuples), a
 * source address comes again with ports where it had none, and as IPv4
 * after IPv6 of the same bytes (text's kept SOURCE address).
 */
static void tail_reuse(enum out_mode mode)
{
	static const int seq[] = { 0, 1, 0, 0, 3, 2, 0, 1, 2, 0, 4, 4, 0, 0, 5, 5, 2, 0 };
	struct k8s_annot ok = { .verdict = K8S_VERDICT_OK, .index_gen = 1 };
	struct k8s_annot bad = { .verdict = K8S_VERDICT_MISMATCH, .index_gen = 2 };
	struct conn conns[FIX_COUNT];
	struct sink *s = malloc(sizeof(*s)), *ref = malloc(sizeof(*ref));
	char *got, *want;
	size_t len, wlen;
	FILE *mf, *wf;

	assert_non_null(s);
	assert_non_null(ref);
	for (int i = 0; i < FIX_COUNT; i++)
		fix_conn(i, "netfilter", &conns[i]);
	mf = open_memstream(&got, &len);
	assert_non_null(mf);
	sink__init(s, mf, mode, true);
	s->header_done = true;
	for (size_t k = 0; k < sizeof(seq) / sizeof(seq[0]); k++) {
		struct conn c = conns[seq[k]];
		char *line;
		size_t n;

		c.orig.sport += (uint16_t)k; /* another connection on the route */
		if (k == 3) /* the same process after an exec */
			strcpy(c.comm, "renamed");
		if (k == 6) /* another thread of it */
			c.pid += 1;
		if (k == 5) /* the widest destination yet: the text column grows */
			memset(c.orig.dst, 0xab, sizeof(c.orig.dst)), c.family = AF_INET6;
		if (k >= 7) /* route 0: kept without, then with ok, then with bad */
			c.k8s = k < 10 ? &ok : &bad;
		if (k >= 12) /* status and mark: the same route, other values */
			c.ct_status ^= 0x100, c.flags |= NW_EF_MARK, c.mark = 7;
		if (k == 13)
			c.mark += 1;
		if (k == 16) /* (IPv6) the widest landed endpoint yet, a verdict after
			      * it: route 0's kept tail is padded wider next */
			memset(c.landed.addr, 0xcd, sizeof(c.landed.addr));
		if (k == 8) /* SNAT gave the connection another port */
			c.reply.dport += 1000;
		if (k == 9) /* the route's addresses, another backend port */
			c.reply.sport += 1;
		if (k == 15) /* the port-less source again, with ports (text SOURCE) */
			c.proto = IPPROTO_TCP;
		if (k == 16) /* an IPv6 source of the IPv4 one's bytes, then that one */
			memcpy(c.orig.src, conns[0].orig.src, sizeof(c.orig.src));
		if (k == 1 || k == 2) /* route 0's, accepted, then dropped, at the insert */
			c.flags |= NW_EF_VERDICT, c.verdict = k == 1;
		/* what a sink without kept pieces writes, at the widths of this one */
		wf = open_memstream(&want, &wlen);
		assert_non_null(wf);
		sink__init(ref, wf, mode, true);
		ref->header_done = true;
		ref->w_src = s->w_src;
		ref->w_dst = s->w_dst;
		ref->w_landed = s->w_landed;
		sink__conn(ref, &c);
		fclose(wf);
		fflush(mf);
		n = len;
		sink__conn(s, &c);
		fflush(mf);
		line = strndup(got + n, len - n);
		assert_string_equal(line, want);
		free(line);
		free(want);
	}
	fclose(mf);
	free(got);
	free(ref);
	free(s);
}

static void test_text_reuse(void **state)
{
	(void)state;
	tail_reuse(OUT_TEXT);
}

static void test_json_reuse(void **state)
{
	(void)state;
	tail_reuse(OUT_JSON);
}

/* @c as a sink in @mode writes it (text: no header); malloc'ed, *@len set. */
static char *render_one(struct sink *s, enum out_mode mode, const struct conn *c, size_t *len)
{
	char *buf;
	FILE *mf = open_memstream(&buf, len);

	assert_non_null(mf);
	sink__init(s, mf, mode, true);
	s->header_done = true;
	sink__conn(s, c);
	fclose(mf);
	return buf;
}

/* A process names itself: control bytes in its comm never reach a terminal
 * raw (text shows '?'); JSON escapes them. */
static void test_comm_controls(void **state)
{
	struct sink *s = malloc(sizeof(*s));
	struct conn c;
	char *buf;
	size_t len;

	(void)state;
	assert_non_null(s);
	fix_conn(0, "netfilter", &c);
	assert_true(c.flags & NW_EF_TASK);
	memcpy(c.comm, "a\nb\x1b[2J\r\x7f\tz", 12);
	buf = render_one(s, OUT_TEXT, &c, &len);
	assert_non_null(strstr(buf, " a?b?[2J???z "));
	assert_null(strchr(buf, '\x1b'));
	assert_ptr_equal(strchr(buf, '\n'), buf + len - 1);
	free(buf);
	buf = render_one(s, OUT_JSON, &c, &len);
	assert_non_null(strstr(buf, "\"comm\":\"a\\nb\\u001b[2J\\r\\u007f\\tz\""));
	free(buf);
	free(s);
}

/* Display columns of @s up to byte @at: UTF-8 characters, not bytes. */
static size_t display_col(const char *s, const char *at)
{
	size_t n = 0;

	for (; s < at; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/*
 * Text columns line up by what a terminal shows: a UTF-8 comm pads by its
 * characters, and a protocol name longer than PROTO's 5 (icmpv6, udplite)
 * widens the column for it and every line after.
 */
static void test_text_display_width(void **state)
{
	struct sink *s = malloc(sizeof(*s));
	char *buf, *line[3];
	size_t len, src[3];
	FILE *mf;
	struct conn c[3];

	(void)state;
	assert_non_null(s);
	for (int i = 0; i < 3; i++)
		fix_conn(0, "netfilter", &c[i]);
	memcpy(c[0].comm, "a\xc3\xa4\xc3\xa4\xc3\xa4", 8); /* "aäää": 4 characters, 7 bytes */
	c[1].proto = IPPROTO_UDPLITE;
	mf = open_memstream(&buf, &len);
	assert_non_null(mf);
	sink__init(s, mf, OUT_TEXT, true);
	s->header_done = true;
	for (int i = 0; i < 3; i++)
		sink__conn(s, &c[i]);
	fclose(mf);
	line[0] = buf;
	for (int i = 1; i < 3; i++) {
		line[i] = strchr(line[i - 1], '\n');
		assert_non_null(line[i]);
		line[i]++;
	}
	/* where SOURCE starts: after TIME PID COMM PROTO, each with its space */
	for (int i = 0; i < 3; i++) {
		const char *p = line[i];

		for (int col = 0; col < 4; col++) {
			p = strchr(p, ' ');
			assert_non_null(p);
			while (*p == ' ')
				p++;
		}
		src[i] = display_col(line[i], p);
	}
	assert_int_equal(display_col(line[0], strstr(line[0], " tcp")), 15 + 1 + 7 + 1 + 15);
	assert_int_equal(src[1], src[2]); /* after udplite, tcp's lines keep its width */
	assert_int_equal(src[1], 15 + 1 + 7 + 1 + 15 + 1 + 7 + 1);
	free(buf);
	free(s);
}

/* An entry conntrack dropped at its insert (fentry/kprobe see it): text says
 * so, as JSON's "confirm":"dropped" does. */
static void test_dropped_insert(void **state)
{
	struct sink *s = malloc(sizeof(*s));
	struct conn c;
	char *buf;
	size_t len;

	(void)state;
	assert_non_null(s);
	fix_conn(0, "fentry", &c);
	c.flags |= NW_EF_VERDICT;
	c.verdict = 1;
	buf = render_one(s, OUT_TEXT, &c, &len);
	assert_null(strstr(buf, "dropped"));
	free(buf);
	c.verdict = 0;
	buf = render_one(s, OUT_TEXT, &c, &len);
	assert_non_null(strstr(buf, " (dropped by conntrack at its insert)\n"));
	free(buf);
	buf = render_one(s, OUT_JSON, &c, &len);
	assert_non_null(strstr(buf, "\"confirm\":\"dropped\""));
	free(buf);
	free(s);
}

/* --cgroup and a socket natwho did not see opened (before it started): the
 * join gives its cgroup without a process; JSON says the cgroup, pid and
 * comm stay null.  Without the join flag nothing of the task is taken. */
static void test_joined_cgroup_without_task(void **state)
{
	struct sink *s = malloc(sizeof(*s));
	struct nw_event e;
	struct conn c;
	char *buf;
	size_t len;

	(void)state;
	assert_non_null(s);
	fix_event(FIX_FORWARDED_UDP, &e);
	e.flags = (e.flags & ~NW_EF_TASK) | NW_EF_JOINED;
	e.pid = e.tgid = 0;
	e.cgroup_id = 4242;
	assert_int_equal(conn__decode(&e, sizeof(e), FIX_BOOT_TO_REAL, "netfilter", &c), 0);
	assert_int_equal(c.cgroup_id, 4242);
	assert_int_equal(c.tgid, 0);
	buf = render_one(s, OUT_JSON, &c, &len);
	assert_non_null(strstr(buf, "\"pid\":null,\"tid\":null,\"comm\":null,\"cgroup\":4242,"));
	free(buf);
	e.flags &= ~NW_EF_JOINED;
	assert_int_equal(conn__decode(&e, sizeof(e), FIX_BOOT_TO_REAL, "netfilter", &c), 0);
	assert_int_equal(c.cgroup_id, 0);
	buf = render_one(s, OUT_JSON, &c, &len);
	assert_non_null(strstr(buf, "\"comm\":null,\"cgroup\":null,"));
	free(buf);
	free(s);
}

/* Mismatches counted are always reported, also when no knowledge is left
 * at the end (a ruleset that emptied during the run). */
static void test_summary_mismatches(void **state)
{
	struct nw_stats st = { .events = 2, .mismatches = 1, .backend = "netfilter" };
	struct sink *s = malloc(sizeof(*s));
	char *buf;
	size_t len;
	FILE *mf;

	(void)state;
	assert_non_null(s);
	for (int mode = OUT_TEXT; mode <= OUT_JSON; mode++) {
		mf = open_memstream(&buf, &len);
		assert_non_null(mf);
		sink__init(s, mf, mode, true);
		sink__summary(s, mf, &st);
		fclose(mf);
		assert_non_null(strstr(buf, mode == OUT_TEXT ? ", 1 MISMATCH, 0 hidden" :
							       "\"mismatches\":1,\"hidden\":0"));
		free(buf);
	}
	free(s);
}

/* JSON is UTF-8: well-formed sequences pass, every other byte >= 0x80 is
 * U+FFFD (a comm cut inside a character, overlong forms, surrogates). */
static void test_json_utf8(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"" },
		{ "\xc3\xb1\xc3", "\"\xc3\xb1\\ufffd\"" },		/* cut after the lead byte */
		{ "a\xe2\x82", "\"a\\ufffd\\ufffd\"" },		/* cut 3-byte form */
		{ "\xc0\x80", "\"\\ufffd\\ufffd\"" },		/* overlong NUL */
		{ "\xe0\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\"" },	/* overlong '/' */
		{ "\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"" },	/* a surrogate */
		{ "\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"" }, /* > U+10FFFF */
		{ "\xff\"\x80", "\"\\ufffd\\\"\\ufffd\"" },
	};
	struct sink *s = malloc(sizeof(*s));
	struct nw_event e;
	struct conn c;
	char *buf, want[64];
	size_t len;
	FILE *mf;

	(void)state;
	assert_non_null(s);
	fix_event(0, &e);
	assert_int_equal(conn__decode(&e, sizeof(e), FIX_BOOT_TO_REAL, "netfilter", &c), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* out__json_string() */
		mf = open_memstream(&buf, &len);
		assert_non_null(mf);
		out__json_string(mf, cases[i].in);
		fclose(mf);
		assert_string_equal(buf, cases[i].want);
		free(buf);
		/* a record's comm, through the output buffer */
		memset(c.comm, 0, sizeof(c.comm));
		memcpy(c.comm, cases[i].in, strlen(cases[i].in));
		buf = render_one(s, OUT_JSON, &c, &len);
		snprintf(want, sizeof(want), "\"comm\":%s,", cases[i].want);
		assert_non_null(strstr(buf, want));
		free(buf);
	}
	free(s);
}

static void test_out_frag(void **state)
{
	struct out_frag *f = malloc(sizeof(*f));
	char *want, *got, *big = malloc(OUT_BUF_SIZE);

	(void)state;
	assert_non_null(f);
	assert_non_null(big);
	/* kept, and put again after the same keys: what formatting gives */
	frag_record(f, false, 1, "v", &want);
	assert_true(f->valid);
	assert_true(frag_record(f, true, 1, "other", &got));
	assert_string_equal(got, want);
	assert_string_equal(got, "{\"x\":1,\"k\":{\"a\":\"v\"},\"y\":2}\n");
	free(got);
	free(want);
	/* first in its object (no comma before it): refused */
	assert_false(frag_record(f, true, 0, "w", &got));
	assert_string_equal(got, "{\"k\":{\"a\":\"w\"},\"y\":2}\n");
	free(got);
	/* kept where no comma goes, put where one does: refused */
	frag_record(f, false, 0, "v", &want);
	assert_true(f->valid);
	assert_false(frag_record(f, true, 1, "w", &got));
	assert_string_equal(got, "{\"x\":1,\"k\":{\"a\":\"w\"},\"y\":2}\n");
	free(got);
	free(want);
	/* longer than a fragment holds: not kept */
	memset(big, 'b', OUT_FRAG_SIZE);
	big[OUT_FRAG_SIZE] = '\0';
	frag_record(f, false, 1, big, &want);
	assert_false(f->valid);
	free(want);
	/* handed to stdio half way (the record buffer filled up): not kept */
	memset(big, 'b', OUT_BUF_SIZE - 30);
	big[OUT_BUF_SIZE - 30] = '\0';
	{
		size_t len;
		struct out o;
		FILE *mf = mem_open(&o, OUT_JSON, &got, &len);

		out__obj_open(&o, NULL);
		out__str(&o, OUT_JSON_ONLY, "b", NULL, big);
		out__frag_begin(&o, f);
		out__str(&o, OUT_JSON_ONLY, "a", NULL, "0123456789012345678901234567890123456789");
		assert_true(o.flushed > 0);
		out__frag_end(&o, f);
		assert_false(f->valid);
		out__record_end(&o);
		mem_close(&o, mf);
		free(got);
	}
	/* a JSON piece is not put into text, even kept where a text writer
	 * stands (depth 0, no comma); a text piece is kept and put back in
	 * text, and not into JSON */
	{
		size_t len;
		struct out o;
		FILE *mf = mem_open(&o, OUT_JSON, &want, &len);

		out__frag_begin(&o, f);
		out__obj_open(&o, NULL);
		out__str(&o, OUT_JSON_ONLY, "a", NULL, "v");
		out__obj_close(&o);
		out__frag_end(&o, f);
		assert_true(f->valid);
		mem_close(&o, mf);
		free(want);
	}
	{
		size_t len;
		struct out o;
		FILE *mf = mem_open(&o, OUT_TEXT, &got, &len);

		assert_false(out__frag_put(&o, f));
		out__frag_begin(&o, f);
		out__text_str(&o, "t");
		out__frag_end(&o, f);
		assert_true(f->valid);
		assert_true(out__frag_put(&o, f));
		mem_close(&o, mf);
		assert_string_equal(got, "tt");
		free(got);
	}
	{
		size_t len;
		struct out o;
		FILE *mf = mem_open(&o, OUT_JSON, &got, &len);

		assert_false(out__frag_put(&o, f));
		mem_close(&o, mf);
		assert_string_equal(got, "");
		free(got);
	}
	free(big);
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_golden),
		cmocka_unit_test(test_json_golden),
		cmocka_unit_test(test_json_schema),
		cmocka_unit_test(test_json_escaping),
		cmocka_unit_test(test_text_columns),
		cmocka_unit_test(test_json_keys),
		cmocka_unit_test(test_out_frag),
		cmocka_unit_test(test_text_reuse),
		cmocka_unit_test(test_json_reuse),
		cmocka_unit_test(test_comm_controls),
		cmocka_unit_test(test_text_display_width),
		cmocka_unit_test(test_dropped_insert),
		cmocka_unit_test(test_joined_cgroup_without_task),
		cmocka_unit_test(test_json_utf8),
		cmocka_unit_test(test_summary_mismatches),
	};

	setenv("TZ", "UTC", 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
