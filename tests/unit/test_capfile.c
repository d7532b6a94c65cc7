// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Capture file writer and reader: round trips, every bad-input case, and a
 * recorder killed with SIGKILL.  `test_capfile --write-fixtures DIR` writes
 * the files in tests/fixtures/capfile/ and the fuzz seed corpus.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>
#include <cmocka.h>
#include "capfile.h"
#include "conn.h"

#define ERRLEN 512
#define START_NS 1795612801000000000ULL /* 2026-11-25T08:40:01Z */
#define BOOT_TO_REAL 1795612000000000000LL

/* ------------------------------------------------------------ the sample */

enum op_kind { OP_EVENT, OP_SOURCE, OP_FLUSH };

struct op {
	enum op_kind kind;
	struct nw_event ev;
	uint32_t src_kind;
	const char *name;
	const char *text;
};

static const char IPT_V1[] =
	"*nat\n:PREROUTING ACCEPT [0:0]\n:CNI-HOSTPORT-DNAT - [0:0]\n"
	"-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT\n"
	"-A CNI-DN-5c1b -p tcp --dport 3306 -j DNAT --to-destination 10.224.0.222:3306\n"
	"COMMIT\n";
static const char IPT_V2[] = "*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n";
static const char K8S_JSON[] =
	"{\"kind\":\"List\",\"items\":[{\"kind\":\"Service\",\"metadata\":{\"name\":\"mysql-a\"}}]}";

static void ip4(uint8_t *a, const char *s)
{
	assert_int_equal(inet_pton(AF_INET, s, a), 1);
}

static void ip6(uint8_t *a, const char *s)
{
	assert_int_equal(inet_pton(AF_INET6, s, a), 1);
}

/* mysql client -> mysql-A's ClusterIP, landed on mysql-B: the incident. */
static struct nw_event ev_ipv4_task(uint64_t i)
{
	struct nw_event e = { 0 };

	e.ts_boot_ns = 801000000000ULL + i * 1000;
	e.cgroup_id = 0x1122334455667788ULL;
	e.netns = 4026531840u;
	e.pid = 4243;
	e.tgid = 4242;
	e.ct_status = 0x188;
	e.version = 1; /* as version 1 recorded them: the checked-in captures (still decoded) */
	e.family = AF_INET;
	e.proto = IPPROTO_TCP;
	e.hook = NW_HOOK_POSTROUTING;
	e.flags = NW_EF_TASK;
	strcpy(e.comm, "mysql");
	ip4(e.orig.src, "10.0.2.15");
	ip4(e.orig.dst, "10.96.0.10");
	e.orig.sport = (uint16_t)(40000 + i);
	e.orig.dport = 3306;
	ip4(e.reply.src, "10.224.0.222");
	ip4(e.reply.dst, "10.0.2.15");
	e.reply.sport = 3306;
	e.reply.dport = (uint16_t)(40000 + i);
	return e;
}

/* Forwarded UDP, no task; every optional field set. */
static struct nw_event ev_ipv6_notask(void)
{
	struct nw_event e = { 0 };

	e.ts_boot_ns = 802500000000ULL;
	e.netns = 4026532000u;
	e.ct_status = 0x8;
	e.mark = 0xdeadbeef;
	e.verdict = 1;
	e.zone = 7;
	e.version = 1; /* as version 1 recorded them: the checked-in captures (still decoded) */
	e.family = AF_INET6;
	e.proto = IPPROTO_UDP;
	e.hook = NW_HOOK_CONFIRM;
	e.flags = NW_EF_VERDICT | NW_EF_MARK | NW_EF_ZONE;
	ip6(e.orig.src, "fd00::2");
	ip6(e.orig.dst, "fd00:96::a");
	e.orig.sport = 5353;
	e.orig.dport = 53;
	ip6(e.reply.src, "fd00:224::5");
	ip6(e.reply.dst, "fd00::2");
	e.reply.sport = 53;
	e.reply.dport = 5353;
	return e;
}

#define SAMPLE_MAX 16
#define SAMPLE_EVENTS 5

static int sample_ops(struct op *ops)
{
	int n = 0;

	ops[n++] = (struct op){ .kind = OP_SOURCE, .src_kind = CAP_SRC_IPTABLES_SAVE,
				.name = "iptables-save", .text = IPT_V1 };
	ops[n++] = (struct op){ .kind = OP_SOURCE, .src_kind = CAP_SRC_K8S_JSON,
				.name = "kubectl", .text = K8S_JSON };
	ops[n++] = (struct op){ .kind = OP_EVENT, .ev = ev_ipv4_task(0) };
	ops[n++] = (struct op){ .kind = OP_EVENT, .ev = ev_ipv6_notask() };
	ops[n++] = (struct op){ .kind = OP_FLUSH };
	ops[n++] = (struct op){ .kind = OP_EVENT, .ev = ev_ipv4_task(1) };
	ops[n++] = (struct op){ .kind = OP_SOURCE, .src_kind = CAP_SRC_IPTABLES_SAVE,
				.name = "iptables-save", .text = IPT_V2 };
	ops[n++] = (struct op){ .kind = OP_FLUSH };
	ops[n++] = (struct op){ .kind = OP_EVENT, .ev = ev_ipv4_task(2) };
	ops[n].kind = OP_EVENT;
	ops[n].ev = ev_ipv4_task(3);
	ops[n].ev.flags = 0; /* no task fields: pid/comm must not show */
	ops[n++].ev.proto = IPPROTO_ICMP;
	ops[n++] = (struct op){ .kind = OP_FLUSH };
	return n;
}

static const struct cap_header sample_hdr = {
	.natwho_version = "0.1.0",
	.hostname = "node-2",
	.kernel = "6.18.0-natwho-test",
	.backend = "netfilter",
	.filters = "--port 3306",
	.start_ns = START_NS,
	.boot_to_real_ns = BOOT_TO_REAL,
	.node_netns = 4026531840U,
};

static const struct cap_trailer sample_trailer = {
	.events = 999, /* ignored: the writer counts */
	.lost = 3,
	.undecodable = 1,
	.end_ns = START_NS + 5000000000ULL,
	.join = true,
	.join_missed = 9,
};

static void write_ops(struct capw *w, const struct op *ops, int n)
{
	for (int i = 0; i < n; i++) {
		switch (ops[i].kind) {
		case OP_EVENT:
			assert_int_equal(capw__event(w, &ops[i].ev, sizeof(ops[i].ev)), 0);
			break;
		case OP_SOURCE:
			assert_int_equal(capw__source(w, ops[i].src_kind, ops[i].name, ops[i].text,
						      strlen(ops[i].text)),
					 0);
			break;
		case OP_FLUSH:
			assert_int_equal(capw__flush(w), 0);
			break;
		}
	}
}

/* The sample capture, complete, into @fd. */
static void write_sample(int fd)
{
	struct op ops[SAMPLE_MAX];
	char err[ERRLEN] = "";
	struct capw *w;
	int n = sample_ops(ops);

	assert_int_equal(capw__open(&w, fd, &sample_hdr, err, sizeof(err)), 0);
	write_ops(w, ops, n);
	assert_int_equal(capw__events(w), SAMPLE_EVENTS);
	assert_int_equal(capw__close(w, &sample_trailer), 0);
}

/* ------------------------------------------------------------ fd helpers */

static int memfd_with(const void *p, size_t n)
{
	int fd = memfd_create("capfile", 0);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, n), (ssize_t)n);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

static unsigned char *fd_bytes(int fd, size_t *n)
{
	off_t size = lseek(fd, 0, SEEK_END);
	unsigned char *p = malloc((size_t)size + 1);

	assert_non_null(p);
	assert_int_equal(pread(fd, p, (size_t)size, 0), size);
	*n = (size_t)size;
	return p;
}

static unsigned char *sample_bytes(size_t *n)
{
	int fd = memfd_create("sample", 0);
	unsigned char *p;

	assert_true(fd >= 0);
	write_sample(fd);
	p = fd_bytes(fd, n);
	close(fd);
	return p;
}

/* gzip of @p, ended (Z_FINISH) or only sync-flushed. */
static unsigned char *gz(const void *p, size_t n, int flush, size_t *outlen)
{
	size_t cap = n + n / 2 + 128;
	unsigned char *out = malloc(cap);
	z_stream zs = { 0 };

	assert_non_null(out);
	assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
	zs.next_in = (unsigned char *)p;
	zs.avail_in = (uInt)n;
	zs.next_out = out;
	zs.avail_out = (uInt)cap;
	assert_int_equal(deflate(&zs, flush), flush == Z_FINISH ? Z_STREAM_END : Z_OK);
	*outlen = cap - zs.avail_out;
	deflateEnd(&zs);
	return out;
}

/* zstd of @p at natwho's level, ended (Z_FINISH) or only flushed
 * (Z_SYNC_FLUSH: a block end, as capw__flush() leaves it). */
static unsigned char *zst(const void *p, size_t n, int flush, size_t *outlen)
{
	size_t cap = ZSTD_compressBound(n) + 64;
	unsigned char *out = malloc(cap);
	ZSTD_CCtx *c = ZSTD_createCCtx();
	ZSTD_inBuffer in = { p, n, 0 };
	ZSTD_outBuffer o = { out, cap, 0 };

	assert_non_null(out);
	assert_non_null(c);
	assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, -1)));
	assert_int_equal(ZSTD_compressStream2(c, &o, &in,
					      flush == Z_FINISH ? ZSTD_e_end : ZSTD_e_flush), 0);
	*outlen = o.pos;
	ZSTD_freeCCtx(c);
	return out;
}

/* The containers a capture comes in: what natwho writes, what it wrote
 * before (both read). */
typedef unsigned char *(*pack_fn)(const void *p, size_t n, int flush, size_t *outlen);
static const struct {
	const char *name;
	pack_fn pack;
} boxes[] = { { "zstd", zst }, { "gzip", gz } };
#define NBOXES (sizeof(boxes) / sizeof(boxes[0]))

/* ------------------------------------------------------------ reading */

struct got_rec {
	enum cap_rec_type type;
	uint64_t offset;
	uint32_t kind;
	char name[CAP_NAME_MAX + 1];
	unsigned char *data;
	size_t len;
	struct cap_trailer trailer;
};

struct got {
	int open_ret, end_ret;
	char err[ERRLEN];
	char hstr[5][CAP_STR_MAX + 1];
	struct cap_header hdr;
	struct got_rec *recs;
	size_t n, cap;
};

static void got_add(struct got *g, const struct cap_record *rec)
{
	struct got_rec *r;
	const void *data = rec->type == CAP_REC_EVENT ? rec->event.data :
			   rec->type == CAP_REC_NOTE  ? rec->note.data :
							rec->source.data;
	size_t len = rec->type == CAP_REC_EVENT ? rec->event.size :
		     rec->type == CAP_REC_NOTE	? rec->note.len :
						  rec->source.len;

	if (g->n == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 16;
		g->recs = realloc(g->recs, g->cap * sizeof(*g->recs));
		assert_non_null(g->recs);
	}
	r = &g->recs[g->n++];
	memset(r, 0, sizeof(*r));
	r->type = rec->type;
	r->offset = rec->offset;
	if (rec->type == CAP_REC_TRAILER) {
		r->trailer = rec->trailer;
		return;
	}
	if (rec->type == CAP_REC_NOTE)
		r->kind = rec->note.kind;
	if (rec->type == CAP_REC_SOURCE) {
		r->kind = rec->source.kind;
		snprintf(r->name, sizeof(r->name), "%s", rec->source.name);
	}
	r->len = len;
	r->data = malloc(len + 1);
	assert_non_null(r->data);
	if (len)
		memcpy(r->data, data, len);
}

static void got_header(struct got *g, const struct cap_header *h)
{
	const char *s[5] = { h->natwho_version, h->hostname, h->kernel, h->backend, h->filters };

	g->hdr = *h;
	for (int i = 0; i < 5; i++) {
		assert_non_null(s[i]);
		snprintf(g->hstr[i], sizeof(g->hstr[i]), "%s", s[i]);
	}
}

/* Read everything from @fd; never more calls than records can exist. */
static void read_fd(int fd, struct got *g)
{
	struct cap_record rec;
	uint64_t events = 0;
	struct capr *r;
	int ret;

	memset(g, 0, sizeof(*g));
	g->open_ret = capr__open(&r, fd, g->err, sizeof(g->err));
	if (g->open_ret) {
		assert_null(r);
		return;
	}
	got_header(g, capr__header(r));
	while ((ret = capr__next(r, &rec, g->err, sizeof(g->err))) == 1)
		got_add(g, &rec);
	g->end_ret = ret;
	/* errors and the end are sticky */
	assert_int_equal(capr__next(r, &rec, g->err, sizeof(g->err)), ret);
	for (size_t i = 0; i < g->n; i++)
		events += g->recs[i].type == CAP_REC_EVENT;
	assert_int_equal(capr__events(r), events);
	capr__close(r);
}

static void read_mem(const void *p, size_t n, struct got *g)
{
	int fd = memfd_with(p, n);

	read_fd(fd, g);
	close(fd);
}

static void got_free(struct got *g)
{
	for (size_t i = 0; i < g->n; i++)
		free(g->recs[i].data);
	free(g->recs);
	g->recs = NULL;
	g->n = 0;
}

/* Records the sample should give back, without flushes, plus the trailer. */
static int expected_ops(struct op *ops)
{
	struct op all[SAMPLE_MAX];
	int n = sample_ops(all), k = 0;

	for (int i = 0; i < n; i++)
		if (all[i].kind != OP_FLUSH)
			ops[k++] = all[i];
	return k;
}

static void check_rec(const struct got_rec *r, const struct op *op)
{
	if (op->kind == OP_EVENT) {
		assert_int_equal(r->type, CAP_REC_EVENT);
		assert_int_equal(r->len, sizeof(op->ev));
		assert_memory_equal(r->data, &op->ev, sizeof(op->ev));
		return;
	}
	assert_int_equal(r->type, CAP_REC_SOURCE);
	assert_int_equal(r->kind, op->src_kind);
	assert_string_equal(r->name, op->name);
	assert_int_equal(r->len, strlen(op->text));
	assert_memory_equal(r->data, op->text, r->len);
}

/* @g's records are the first ones of the sample, in order. */
static void check_prefix(const struct got *g)
{
	struct op ops[SAMPLE_MAX];
	size_t n = (size_t)expected_ops(ops);

	assert_true(g->n <= n + 1);
	for (size_t i = 0; i < g->n && i < n; i++)
		check_rec(&g->recs[i], &ops[i]);
	for (size_t i = 1; i < g->n; i++)
		assert_true(g->recs[i].offset > g->recs[i - 1].offset);
	if (g->n == n + 1) {
		assert_int_equal(g->recs[n].type, CAP_REC_TRAILER);
		assert_int_equal(g->recs[n].trailer.events, SAMPLE_EVENTS);
	}
}

/* Whole uncompressed stream of a zstd or gzip file, by zstd's or zlib's own
 * decoder (what zstdcat and zcat use); the frame or member must end. */
static unsigned char *unpack(const unsigned char *p, size_t n, size_t *outlen)
{
	size_t cap = 1 << 20;
	unsigned char *out = malloc(cap);
	z_stream zs = { 0 };

	assert_non_null(out);
	if (n >= 4 && !memcmp(p, "\x28\xb5\x2f\xfd", 4)) {
		ZSTD_DCtx *d = ZSTD_createDCtx();
		ZSTD_inBuffer in = { p, n, 0 };
		ZSTD_outBuffer o = { out, cap, 0 };
		size_t ret;

		assert_non_null(d);
		do {
			ret = ZSTD_decompressStream(d, &o, &in);
			assert_false(ZSTD_isError(ret));
		} while (in.pos < in.size && o.pos < o.size);
		assert_int_equal(ret, 0); /* the frame ended */
		assert_int_equal(in.pos, in.size);
		*outlen = o.pos;
		ZSTD_freeDCtx(d);
		return out;
	}
	assert_int_equal(inflateInit2(&zs, 31), Z_OK);
	zs.next_in = (unsigned char *)p;
	zs.avail_in = (uInt)n;
	zs.next_out = out;
	zs.avail_out = (uInt)cap;
	assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
	*outlen = cap - zs.avail_out;
	inflateEnd(&zs);
	return out;
}

/* ------------------------------------------------------------ crafted streams */

struct raw {
	unsigned char p[16384];
	size_t n;
};

static void raw_put(struct raw *b, const void *d, size_t n)
{
	assert_true(b->n + n <= sizeof(b->p));
	memcpy(b->p + b->n, d, n);
	b->n += n;
}

static void raw_le(struct raw *b, uint64_t v, int size)
{
	for (int i = 0; i < size; i++, v >>= 8) {
		unsigned char c = (unsigned char)v;

		raw_put(b, &c, 1);
	}
}

static void raw_record(struct raw *b, uint32_t type, const void *payload, uint32_t len)
{
	unsigned char frame[8];
	uLong crc;

	for (int i = 0; i < 4; i++) {
		frame[i] = (unsigned char)(type >> (8 * i));
		frame[4 + i] = (unsigned char)(len >> (8 * i));
	}
	crc = crc32(crc32(0L, frame, 8), payload, len);
	raw_put(b, frame, 8);
	raw_le(b, crc, 4);
	raw_put(b, payload, len);
}

static void tlv_str(struct raw *h, uint16_t tag, const char *s)
{
	raw_le(h, tag, 2);
	raw_le(h, strlen(s), 2);
	raw_put(h, s, strlen(s));
}

static void tlv_num(struct raw *h, uint16_t tag, uint64_t v, int size)
{
	raw_le(h, tag, 2);
	raw_le(h, (uint64_t)size, 2);
	raw_le(h, v, size);
}

enum hdr_variant { HDR_OK, HDR_OTHER_ORDER, HDR_NO_START, HDR_EXTRA_TAG, HDR_OVERRUN,
		   HDR_LONG_STR, HDR_CUT, HDR_NUM_SIZE, HDR_CLOCK };

/* The documented header TLVs, independently of capfile.c. */
static void raw_header(struct raw *b, enum hdr_variant v)
{
	static struct raw h;

	h.n = 0;
	tlv_str(&h, 1, "9.9.9");
	tlv_str(&h, 2, v == HDR_EXTRA_TAG ? "node\x1b[31m-2" : "node-2");
	tlv_str(&h, 3, "6.18.0");
	tlv_str(&h, 4, "netfilter");
	tlv_str(&h, 5, "");
	if (v != HDR_NO_START)
		tlv_num(&h, 16, START_NS, v == HDR_NUM_SIZE ? 4 : 8);
	/* HDR_CLOCK: an offset that would carry every event past year 2262 */
	tlv_num(&h, 17, v == HDR_CLOCK ? (uint64_t)INT64_MIN : (uint64_t)-5LL, 8);
	tlv_num(&h, 18, NW_EVENT_VERSION, 2);
	tlv_num(&h, 19, sizeof(struct nw_event), 4);
	tlv_num(&h, 20, v == HDR_OTHER_ORDER ? 2 : 1, 1);
	if (v == HDR_EXTRA_TAG)
		tlv_str(&h, 300, "a field from the future");
	if (v == HDR_CUT)
		raw_le(&h, 1, 2); /* a tag without a length */
	if (v == HDR_OVERRUN)
		raw_le(&h, 0xffff0001, 4); /* tag 1, 65535 bytes */
	if (v == HDR_LONG_STR) {
		raw_le(&h, 5, 2);
		raw_le(&h, CAP_STR_MAX + 1, 2);
		for (int i = 0; i <= CAP_STR_MAX; i++)
			raw_put(&h, "x", 1);
	}
	raw_record(b, CAP_REC_HEADER, h.p, (uint32_t)h.n);
}

static void raw_start(struct raw *b, uint16_t major, uint16_t minor, enum hdr_variant v)
{
	b->n = 0;
	raw_put(b, "NWHOCAP\n", 8);
	raw_le(b, major, 2);
	raw_le(b, minor, 2);
	raw_header(b, v);
}

static void raw_event(struct raw *b, uint64_t i)
{
	struct nw_event e = ev_ipv4_task(i);

	raw_record(b, CAP_REC_EVENT, &e, sizeof(e));
}

static void raw_trailer(struct raw *b, uint64_t events, uint32_t len)
{
	unsigned char t[64] = { 0 };

	for (int i = 0; i < 8; i++)
		t[i] = (unsigned char)(events >> (8 * i));
	raw_record(b, CAP_REC_TRAILER, t, len);
}

/* Read @b packed by @pack (ended or only flushed) into @g. */
static void read_raw_in(pack_fn pack, const struct raw *b, int flush, struct got *g)
{
	size_t n;
	unsigned char *z = pack(b->p, b->n, flush, &n);

	read_mem(z, n, g);
	free(z);
}

/* Read @b in the container natwho writes (zstd). */
static void read_raw(const struct raw *b, int flush, struct got *g)
{
	size_t n;
	unsigned char *z = zst(b->p, b->n, flush, &n);

	read_mem(z, n, g);
	free(z);
}

static void assert_err(const struct got *g, int ret, const char *what)
{
	if (!strstr(g->err, what))
		fail_msg("error \"%s\" lacks \"%s\"", g->err, what);
	assert_int_equal(g->open_ret ? g->open_ret : g->end_ret, ret);
}

/* ------------------------------------------------------------ tests */

static void test_roundtrip(void **state)
{
	struct op ops[SAMPLE_MAX];
	int n = expected_ops(ops);
	unsigned char *p;
	struct got g;
	size_t size;

	(void)state;
	p = sample_bytes(&size);
	read_mem(p, size, &g);
	assert_int_equal(g.open_ret, 0);
	assert_int_equal(g.end_ret, 0);
	assert_int_equal(g.hdr.major, CAP_VERSION_MAJOR);
	assert_int_equal(g.hdr.minor, CAP_VERSION_MINOR);
	assert_int_equal(g.hdr.event_version, NW_EVENT_VERSION);
	assert_int_equal(g.hdr.event_size, sizeof(struct nw_event));
	assert_string_equal(g.hstr[0], "0.1.0");
	assert_string_equal(g.hstr[1], "node-2");
	assert_string_equal(g.hstr[2], "6.18.0-natwho-test");
	assert_string_equal(g.hstr[3], "netfilter");
	assert_string_equal(g.hstr[4], "--port 3306");
	assert_int_equal(g.hdr.start_ns, START_NS);
	assert_int_equal(g.hdr.boot_to_real_ns, BOOT_TO_REAL);
	assert_int_equal(g.hdr.node_netns, 4026531840U);
	assert_int_equal(g.n, (size_t)n + 1);
	check_prefix(&g);
	assert_int_equal(g.recs[n].trailer.events, SAMPLE_EVENTS);
	assert_int_equal(g.recs[n].trailer.lost, 3);
	assert_int_equal(g.recs[n].trailer.undecodable, 1);
	assert_true(g.recs[n].trailer.join);
	assert_int_equal(g.recs[n].trailer.join_missed, 9);
	assert_int_equal(g.recs[n].trailer.end_ns, START_NS + 5000000000ULL);
	assert_true(g.recs[0].offset > 12);
	got_free(&g);
	free(p);
}

/* Replayed events decode exactly as the live ones. */
static void test_decode_replayed(void **state)
{
	struct conn live, replay;
	unsigned char *p;
	size_t size, k = 0;
	struct op ops[SAMPLE_MAX];
	struct got g;
	int n = expected_ops(ops);

	(void)state;
	p = sample_bytes(&size);
	read_mem(p, size, &g);
	for (int i = 0; i < n; i++) {
		if (ops[i].kind != OP_EVENT)
			continue;
		assert_int_equal(conn__decode(&ops[i].ev, sizeof(ops[i].ev), BOOT_TO_REAL, "nf", &live),
				 0);
		assert_int_equal(conn__decode(g.recs[i].data, g.recs[i].len, g.hdr.boot_to_real_ns,
					      "nf", &replay),
				 0);
		assert_memory_equal(&live, &replay, sizeof(live));
		k++;
	}
	assert_int_equal(k, SAMPLE_EVENTS);
	/* the incident event: task fields, DNAT to mysql-B */
	assert_int_equal(conn__decode(g.recs[2].data, g.recs[2].len, BOOT_TO_REAL, "nf", &replay), 0);
	assert_int_equal(replay.ts_ns, 801000000000ULL + BOOT_TO_REAL);
	assert_string_equal(replay.comm, "mysql");
	assert_int_equal(replay.tgid, 4242);
	assert_true(replay.dnat);
	assert_int_equal(replay.landed.port, 3306);
	/* IPv6 without task */
	assert_int_equal(conn__decode(g.recs[3].data, g.recs[3].len, BOOT_TO_REAL, "nf", &replay), 0);
	assert_int_equal(replay.family, AF_INET6);
	assert_int_equal(replay.pid, 0);
	assert_int_equal(replay.mark, 0xdeadbeef);
	assert_int_equal(replay.zone, 7);
	/* ICMP, flags 0: comm not shown although the raw bytes hold one */
	assert_int_equal(conn__decode(g.recs[7].data, g.recs[7].len, BOOT_TO_REAL, "nf", &replay), 0);
	assert_string_equal(replay.comm, "");
	got_free(&g);
	free(p);
}

/* Plain zstd: one frame that libzstd's decoder (what zstdcat uses) reads
 * to its end, the preamble first. */
static void test_zstd_compatible(void **state)
{
	unsigned char *p, *u;
	size_t size, ulen;

	(void)state;
	p = sample_bytes(&size);
	assert_true(size > 4);
	assert_memory_equal(p, "\x28\xb5\x2f\xfd", 4);
	u = unpack(p, size, &ulen);
	assert_true(ulen > 12);
	assert_memory_equal(u, "NWHOCAP\n\1\0\4\0", 12); /* major 1, minor 4 */
	free(u);
	free(p);
}

/* Cut at every byte: complete records first, then a clean error. */
static void test_truncated_everywhere(void **state)
{
	unsigned char *p;
	size_t size, prev = 0;
	struct op ops[SAMPLE_MAX];
	size_t total = (size_t)expected_ops(ops) + 1;
	struct got g;

	(void)state;
	p = sample_bytes(&size);
	for (size_t cut = 0; cut <= size; cut++) {
		read_mem(p, cut, &g);
		check_prefix(&g);
		assert_true(g.n >= prev);
		prev = g.n;
		if (cut == size) {
			assert_int_equal(g.end_ret, 0);
			assert_int_equal(g.n, total);
		} else {
			assert_true(g.open_ret < 0 || g.end_ret < 0);
			assert_true(strlen(g.err) > 10);
		}
		if (cut == 0)
			assert_err(&g, -ENODATA, "empty file");
		if (!g.open_ret && g.end_ret == -ENODATA)
			assert_non_null(strstr(g.err, "truncated"));
		got_free(&g);
	}
	free(p);
}

/* Flip bits in every compressed byte: never a crash, never a wrong record. */
static void test_corrupt_everywhere(void **state)
{
	static const unsigned char flips[] = { 0x01, 0x10, 0xff };
	struct op ops[SAMPLE_MAX];
	size_t total = (size_t)expected_ops(ops) + 1;
	unsigned char *p, *q;
	size_t size;
	struct got g;

	(void)state;
	p = sample_bytes(&size);
	q = malloc(size);
	assert_non_null(q);
	for (size_t i = 0; i < size; i++) {
		for (size_t f = 0; f < sizeof(flips); f++) {
			memcpy(q, p, size);
			q[i] ^= flips[f];
			read_mem(q, size, &g);
			check_prefix(&g);
			/* only FLG.FTEXT, MTIME, XFL and OS may change harmlessly */
			/* a clean read (a flip in gzip's MTIME/OS or in the ignored
			 * padding bits of a sync flush) must give every record */
			if (!g.open_ret && !g.end_ret) {
				assert_int_equal(g.n, total);
			} else if (strlen(g.err) < 10) {
				fail_msg("byte %zu ^ 0x%02x: ret %d/%d, error \"%s\"", i, flips[f],
					 g.open_ret, g.end_ret, g.err);
			}
			got_free(&g);
		}
	}
	free(q);
	free(p);
}

/* A flipped byte inside an event: CRC error at that record's offset. */
static void test_crc_error_offset(void **state)
{
	unsigned char *p, *u, *z;
	size_t size, ulen, zlen;
	uint64_t off;
	char want[64];
	struct got g;

	(void)state;
	p = sample_bytes(&size);
	read_mem(p, size, &g);
	off = g.recs[3].offset;
	got_free(&g);
	u = unpack(p, size, &ulen);
	u[off + 12 + 40] ^= 0x04;
	z = zst(u, ulen, Z_FINISH, &zlen);
	read_mem(z, zlen, &g);
	snprintf(want, sizeof(want), "uncompressed offset %llu: CRC", (unsigned long long)off);
	assert_err(&g, -EBADMSG, want);
	assert_int_equal(g.n, 3);
	check_prefix(&g);
	got_free(&g);
	free(z);
	free(u);
	free(p);
}

/* Garbage spliced between two records. */
static void test_garbage_in_middle(void **state)
{
	unsigned char *p, *u, *v, *z;
	size_t size, ulen, zlen;
	uint64_t off;
	char want[64];
	struct got g;

	(void)state;
	p = sample_bytes(&size);
	read_mem(p, size, &g);
	off = g.recs[4].offset;
	got_free(&g);
	u = unpack(p, size, &ulen);
	v = malloc(ulen + 100);
	assert_non_null(v);
	memcpy(v, u, off);
	for (int i = 0; i < 100; i++)
		v[off + i] = (unsigned char)(i * 37 + 11);
	memcpy(v + off + 100, u + off, ulen - off);
	z = zst(v, ulen + 100, Z_FINISH, &zlen);
	read_mem(z, zlen, &g);
	snprintf(want, sizeof(want), "uncompressed offset %llu", (unsigned long long)off);
	assert_err(&g, -EBADMSG, want);
	assert_int_equal(g.n, 4);
	check_prefix(&g);
	got_free(&g);
	free(z);
	free(v);
	free(u);
	free(p);
}

/* A damage after a flush: a block of a reserved type, per container. */
static const struct {
	const char *box;
	pack_fn pack;
	const char *bad;
	size_t badlen;
} damages[] = { { "zstd", zst, "\x07\0\0", 3 }, { "gzip", gz, "\x07", 1 } };
#define NDAMAGES (sizeof(damages) / sizeof(damages[0]))

/* @u[0, @len) packed by damages[@d] and flushed, then that damage unless
 * @cut, read into @g; returns the packed length before the damage. */
static size_t read_damaged(size_t d, const unsigned char *u, size_t len, bool cut, struct got *g)
{
	size_t zlen;
	unsigned char *z = damages[d].pack(u, len, Z_SYNC_FLUSH, &zlen);

	z = realloc(z, zlen + damages[d].badlen);
	assert_non_null(z);
	memcpy(z + zlen, damages[d].bad, damages[d].badlen);
	read_mem(z, zlen + (cut ? 0 : damages[d].badlen), g);
	free(z);
	return zlen;
}

/*
 * Damage after records the decompressor has already given: every one of
 * them is read, then the container's error (with zstd, at the damaged
 * block header's offset).  natwho once lost everything it had inflated in
 * the 64 KiB read where the damage was: a whole small capture.
 */
static void test_damage_keeps_records(void **state)
{
	unsigned char *p, *u, *z;
	size_t size, ulen, zlen, kept;
	uint64_t trailer_off;
	char want[96];
	struct got g;

	(void)state;
	p = sample_bytes(&size);
	read_mem(p, size, &g);
	assert_int_equal(g.end_ret, 0);
	kept = g.n - 1;
	trailer_off = g.recs[kept].offset;
	got_free(&g);
	u = unpack(p, size, &ulen);
	for (size_t d = 0; d < NDAMAGES; d++) {
		zlen = read_damaged(d, u, trailer_off, false, &g);
		assert_int_equal(g.n, kept);
		check_prefix(&g);
		if (d == 0) /* zstd */
			snprintf(want, sizeof(want), "bad zstd data at compressed offset %zu:", zlen);
		else
			snprintf(want, sizeof(want), "bad gzip data at compressed offset");
		assert_err(&g, -EILSEQ, want);
		got_free(&g);
	}
	/* gzip's own CRC wrong, every record intact: all read, trailer too */
	z = gz(u, ulen, Z_FINISH, &zlen);
	z[zlen - 8] ^= 0x01;
	read_mem(z, zlen, &g);
	assert_int_equal(g.n, kept + 1);
	assert_int_equal(g.recs[kept].type, CAP_REC_TRAILER);
	assert_err(&g, -EILSEQ, "incorrect data check");
	got_free(&g);
	free(z);
	free(u);
	free(p);
}

/*
 * Records that decode to more than the reader's first buffer (64 KiB) and
 * than a zstd block (128 KiB), the last block almost 128 KiB: zstd holds
 * what did not fit.  Then a damaged block header, or the end of the file (a
 * recorder killed after a flush): every record still comes first.
 */
static void test_damage_after_big_block(void **state)
{
	unsigned char *p, *u, *v;
	size_t size, ulen, kept, ev_len = 0, copies, vlen;
	uint64_t trailer_off, ev_off = 0;
	struct got g;

	(void)state;
	p = sample_bytes(&size);
	read_mem(p, size, &g);
	kept = g.n - 1;
	trailer_off = g.recs[kept].offset;
	for (size_t i = 0; i < g.n && !ev_len; i++)
		if (g.recs[i].type == CAP_REC_EVENT) {
			ev_off = g.recs[i].offset;
			ev_len = 12 + g.recs[i].len; /* the frame and its payload */
		}
	got_free(&g);
	assert_true(ev_len > 12);
	u = unpack(p, size, &ulen);
	/* a last block of almost 128 KiB before the end */
	copies = ((255u << 10) - trailer_off) / ev_len;
	vlen = trailer_off + copies * ev_len;
	v = malloc(vlen);
	assert_non_null(v);
	memcpy(v, u, trailer_off);
	for (size_t i = 0; i < copies; i++)
		memcpy(v + trailer_off + i * ev_len, u + ev_off, ev_len);
	for (size_t c = 0; c < 2 * NDAMAGES; c++) {
		bool cut = c % 2; /* else a damaged block header after them */

		read_damaged(c / 2, v, vlen, cut, &g);
		if (g.n != kept + copies)
			fail_msg("%s, %s: %zu records of %zu, then \"%s\"", damages[c / 2].box,
				 cut ? "cut after a flush" : "damaged block header", g.n,
				 kept + copies, g.err);
		assert_err(&g, cut ? -ENODATA : -EILSEQ,
			   cut ? "truncated after" : "data at compressed offset");
		got_free(&g);
	}
	/* gzip, cut after a flush, at many sizes: every record.  (zlib may
	 * keep up to one match, 258 bytes, when the buffer fills in its
	 * middle; capr_inflate() collects it before reading on.  None of
	 * these sizes makes it keep any at the end.) */
	for (size_t n = copies - 100; n < copies; n++) {
		read_damaged(1, v, trailer_off + n * ev_len, true, &g);
		if (g.n != kept + n)
			fail_msg("gzip cut after a flush, %zu copies: %zu records of %zu, then \"%s\"",
				 n, g.n, kept + n, g.err);
		got_free(&g);
	}
	free(v);
	free(u);
	free(p);
}

static void test_not_a_capture(void **state)
{
	static const char text[] = "hello, this is not a capture\n";
	unsigned char *z;
	struct got g;
	size_t n;

	(void)state;
	read_mem("", 0, &g);
	assert_err(&g, -ENODATA, "empty file");
	read_mem(text, sizeof(text) - 1, &g);
	assert_err(&g, -EILSEQ, "neither zstd nor gzip");
	for (size_t b = 0; b < NBOXES; b++) {
		z = boxes[b].pack(text, sizeof(text) - 1, Z_FINISH, &n);
		read_mem(z, n, &g);
		assert_err(&g, -EILSEQ, "NWHOCAP");
		free(z);
		z = boxes[b].pack("NWHO", 4, Z_FINISH, &n);
		read_mem(z, n, &g);
		assert_err(&g, -ENODATA, "before the 12-byte preamble");
		free(z);
	}
	/* gzip header, then a deflate block of the reserved type 3 */
	read_mem("\x1f\x8b\x08\0\0\0\0\0\0\x03\x07\0", 12, &g);
	assert_err(&g, -EILSEQ, "bad gzip data at compressed offset");
	/* zstd magic, then a frame header with reserved bit 3 set */
	read_mem("\x28\xb5\x2f\xfd\x08\0\0\0\0\0\0\0", 12, &g);
	assert_err(&g, -EILSEQ, "bad zstd data at compressed offset");
	/* a frame that needs a 2 GiB window: refused, not allocated */
	read_mem("\x28\xb5\x2f\xfd\x00\xa8\0\0\0\0\0\0", 12, &g);
	assert_err(&g, -EILSEQ, "bad zstd data at compressed offset");
}

/* Concatenated gzip members or zstd frames read as one stream, as zcat and
 * zstdcat do. */
static void test_members(void **state)
{
	static struct raw a, b;
	unsigned char *za, *zb, *cat;
	char want[64];
	size_t na, nb;
	struct got g;

	(void)state;
	raw_start(&a, 1, 0, HDR_OK);
	raw_event(&a, 0);
	b.n = 0;
	raw_event(&b, 1);
	raw_trailer(&b, 2, 32);
	for (size_t box = 0; box < NBOXES; box++) {
		za = boxes[box].pack(a.p, a.n, Z_FINISH, &na);
		zb = boxes[box].pack(b.p, b.n, Z_FINISH, &nb);
		cat = malloc(na + nb + 4);
		assert_non_null(cat);
		memcpy(cat, za, na);
		memcpy(cat + na, zb, nb);
		read_mem(cat, na + nb, &g);
		assert_int_equal(g.end_ret, 0);
		assert_int_equal(g.n, 3);
		got_free(&g);
		/* without the second member: garbage where it would start */
		memcpy(cat + na, "JUNK", 4);
		read_mem(cat, na + 4, &g);
		snprintf(want, sizeof(want), "bad %s data at compressed offset", boxes[box].name);
		assert_err(&g, -EILSEQ, want);
		assert_int_equal(g.n, 1);
		got_free(&g);
		free(cat);
		free(zb);
		free(za);
	}
}

static void test_future_major(void **state)
{
	struct raw b;
	struct got g;

	(void)state;
	raw_start(&b, 2, 0, HDR_OK);
	raw_event(&b, 0);
	raw_trailer(&b, 1, 32);
	read_raw(&b, Z_FINISH, &g);
	assert_err(&g, -EPROTONOSUPPORT, "capture format 2.0 is newer");
	raw_start(&b, 0, 9, HDR_OK);
	read_raw(&b, Z_FINISH, &g);
	assert_err(&g, -EPROTONOSUPPORT, "0.9 is not supported");
}

/* A later minor: unknown header field, unknown record type, longer trailer. */
static void test_future_minor(void **state)
{
	unsigned char blob[40] = { 1, 2, 3 };
	struct raw b;
	struct got g;

	(void)state;
	raw_start(&b, 1, 9, HDR_EXTRA_TAG);
	raw_event(&b, 0);
	raw_record(&b, 77, blob, sizeof(blob));
	raw_event(&b, 1);
	raw_trailer(&b, 2, 48);
	read_raw(&b, Z_FINISH, &g);
	assert_int_equal(g.open_ret, 0);
	assert_int_equal(g.end_ret, 0);
	assert_int_equal(g.hdr.minor, 9);
	assert_string_equal(g.hstr[1], "node?[31m-2"); /* control bytes defused */
	assert_int_equal(g.hdr.boot_to_real_ns, -5);
	assert_int_equal(g.hdr.node_netns, 0); /* none written: not known */
	assert_int_equal(g.n, 3);
	assert_int_equal(g.recs[0].type, CAP_REC_EVENT);
	assert_int_equal(g.recs[1].type, CAP_REC_EVENT);
	assert_int_equal(g.recs[2].type, CAP_REC_TRAILER);
	got_free(&g);
}

/* @g's record @i as a note again, for cap_note__untracked(). */
static struct cap_record got_note(const struct got *g, size_t i)
{
	struct cap_record rec = { .type = g->recs[i].type };

	rec.note.kind = g->recs[i].kind;
	rec.note.data = g->recs[i].data;
	rec.note.len = g->recs[i].len;
	return rec;
}

static void assert_untracked(const struct cap_record *rec, const struct cap_untracked *want)
{
	struct cap_untracked u;

	assert_int_equal(cap_note__untracked(rec, &u), 0);
	assert_int_equal(u.netns, want->netns);
	assert_int_equal(u.family, want->family);
	assert_int_equal(u.syns, want->syns);
	assert_int_equal(u.at_stop, want->at_stop);
}

/* A capture being written into a memfd (returned), with sample_hdr. */
static int notes_writer(struct capw **w)
{
	char err[ERRLEN] = "";
	int fd = memfd_create("notes", 0);

	assert_true(fd >= 0);
	assert_int_equal(capw__open(w, fd, &sample_hdr, err, sizeof(err)), 0);
	return fd;
}

/* End @w's capture in @fd (sample_trailer) and read it back whole into @g. */
static void notes_read_back(struct capw *w, int fd, struct got *g)
{
	assert_int_equal(capw__close(w, &sample_trailer), 0);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	read_fd(fd, g);
	close(fd);
	assert_int_equal(g->end_ret, 0);
}

/* CAP_NOTE_UNTRACKED's fields as README specifies them: netns 0xf00000db,
 * family 1 (IPv6), 2 SYNs, flags 0. */
static const unsigned char untracked_v6[20] = { 0xdb, 0, 0, 0xf0, 1, 0, 0, 0, 2, 0,
						0,    0, 0, 0,    0, 0, 0, 0, 0, 0 };

/*
 * Notes (minor 2) come back in their place with their kind and payload, the
 * untracked note's bytes as specified; a kind the reader does not know is
 * returned all the same (the replay skips it); cap_note__untracked() takes
 * only its own kind, at least its 20 bytes (more are a later minor's), a
 * family and a SYN; a note over the limit is not written.
 */
static void test_notes(void **state)
{
	static unsigned char big[CAP_NOTE_MAX];
	const struct cap_untracked v6 = { .netns = 0xf00000dbU, .family = 1, .syns = 2 };
	const struct cap_untracked v4 = { .netns = 7, .syns = 1ULL << 40, .at_stop = true };
	unsigned char longer[sizeof(untracked_v6) + 4] = { 0 };
	struct nw_event ev = ev_ipv4_task(0);
	struct cap_untracked u;
	struct cap_record rec;
	struct capw *w;
	struct got g;
	int fd = notes_writer(&w);

	(void)state;
	memcpy(longer, untracked_v6, sizeof(untracked_v6));
	assert_int_equal(capw__untracked(w, &v6), 0);
	assert_int_equal(capw__event(w, &ev, sizeof(ev)), 0);
	assert_int_equal(capw__note(w, 99, untracked_v6, sizeof(untracked_v6)), 0);
	assert_int_equal(capw__note(w, 99, big, sizeof(big)), -E2BIG); /* not sticky */
	assert_int_equal(capw__untracked(w, &v4), 0);
	assert_int_equal(capw__note(w, CAP_NOTE_UNTRACKED, longer, sizeof(longer)), 0);
	notes_read_back(w, fd, &g);
	assert_int_equal(g.hdr.minor, CAP_VERSION_MINOR);
	assert_int_equal(g.n, 6);
	assert_int_equal(g.recs[0].type, CAP_REC_NOTE);
	assert_int_equal(g.recs[1].type, CAP_REC_EVENT);
	assert_int_equal(g.recs[2].type, CAP_REC_NOTE);
	assert_int_equal(g.recs[3].type, CAP_REC_NOTE);
	assert_int_equal(g.recs[4].type, CAP_REC_NOTE);
	assert_int_equal(g.recs[5].type, CAP_REC_TRAILER);
	assert_int_equal(g.recs[5].trailer.events, 1);
	rec = got_note(&g, 0);
	assert_int_equal(rec.note.kind, CAP_NOTE_UNTRACKED);
	assert_int_equal(rec.note.len, sizeof(untracked_v6));
	assert_memory_equal(rec.note.data, untracked_v6, sizeof(untracked_v6)); /* the spec */
	assert_untracked(&rec, &v6);
	rec = got_note(&g, 2); /* the same bytes, another kind */
	assert_int_equal(rec.note.kind, 99);
	assert_int_equal(cap_note__untracked(&rec, &u), -EBADMSG);
	rec = got_note(&g, 3);
	assert_untracked(&rec, &v4);
	rec = got_note(&g, 4); /* 4 bytes more: a later minor's, ignored */
	assert_untracked(&rec, &v6);
	rec.note.len = sizeof(untracked_v6) - 1; /* cut short */
	assert_int_equal(cap_note__untracked(&rec, &u), -EBADMSG);
	g.recs[4].data[4] = 2; /* family 2: none */
	rec = got_note(&g, 4);
	assert_int_equal(cap_note__untracked(&rec, &u), -EBADMSG);
	g.recs[4].data[4] = 1;
	g.recs[4].data[8] = 0; /* no SYN */
	rec = got_note(&g, 4);
	assert_int_equal(cap_note__untracked(&rec, &u), -EBADMSG);
	got_free(&g);
}

/* CAP_NOTE_CONNTRACK's fields as README specifies them: netns 0xf00000db,
 * flags 1 (at the stop), drop 37, early_drop 1, insert_failed 2^40,
 * entries 262144, max 262144. */
static const unsigned char conntrack_note[48] = {
	0xdb, 0, 0, 0xf0, 1, 0, 0, 0,
	37, 0, 0, 0, 0, 0, 0, 0,
	1, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 1, 0, 0,
	0, 0, 4, 0, 0, 0, 0, 0,
	0, 0, 4, 0, 0, 0, 0, 0,
};

/*
 * The conntrack note (minor 3) comes back with its bytes as specified;
 * cap_note__conntrack() takes only its own kind, at least its 48 bytes
 * (more are a later minor's), and a counter that rose.
 */
static void test_conntrack_note(void **state)
{
	const struct cap_conntrack c = {
		.netns = 0xf00000dbU, .at_stop = true,
		.said = { .rise = { [CT_DROP] = 37, [CT_EARLY_DROP] = 1,
				    [CT_INSERT_FAILED] = 1ULL << 40 },
			  .entries = 262144, .max = 262144 },
	};
	unsigned char longer[sizeof(conntrack_note) + 8] = { 0 };
	struct cap_conntrack got;
	struct cap_record rec;
	struct capw *w;
	struct got g;
	int fd = notes_writer(&w);

	(void)state;
	memcpy(longer, conntrack_note, sizeof(conntrack_note));
	assert_int_equal(capw__conntrack(w, &c), 0);
	assert_int_equal(capw__note(w, CAP_NOTE_CONNTRACK, longer, sizeof(longer)), 0);
	notes_read_back(w, fd, &g);
	assert_int_equal(g.n, 3);
	rec = got_note(&g, 0);
	assert_int_equal(rec.note.kind, CAP_NOTE_CONNTRACK);
	assert_int_equal(rec.note.len, sizeof(conntrack_note));
	assert_memory_equal(rec.note.data, conntrack_note, sizeof(conntrack_note)); /* the spec */
	for (size_t i = 0; i < 2; i++) { /* as written; 8 bytes longer */
		rec = got_note(&g, i);
		memset(&got, 0, sizeof(got));
		assert_int_equal(cap_note__conntrack(&rec, &got), 0);
		assert_int_equal(got.netns, c.netns);
		assert_true(got.at_stop);
		assert_memory_equal(got.said.rise, c.said.rise, sizeof(c.said.rise));
		assert_int_equal(got.said.entries, c.said.entries);
		assert_int_equal(got.said.max, c.said.max);
	}
	rec = got_note(&g, 0);
	rec.note.len = sizeof(conntrack_note) - 1; /* cut short */
	assert_int_equal(cap_note__conntrack(&rec, &got), -EBADMSG);
	rec.note.len = sizeof(conntrack_note);
	rec.note.kind = CAP_NOTE_UNTRACKED; /* another kind */
	assert_int_equal(cap_note__conntrack(&rec, &got), -EBADMSG);
	memset(g.recs[0].data + 8, 0, 24); /* no counter rose */
	rec = got_note(&g, 0);
	assert_int_equal(cap_note__conntrack(&rec, &got), -EBADMSG);
	g.recs[0].data[31] = 1; /* insert_failed's top byte */
	assert_int_equal(cap_note__conntrack(&rec, &got), 0);
	assert_int_equal(got.said.rise[CT_INSERT_FAILED], 1ULL << 56);
	got_free(&g);
}

struct bad_case {
	const char *what;
	void (*build)(struct raw *b);
	int flush;
	int ret;
	size_t records; /* returned before the error */
};

static void bad_type0(struct raw *b)
{
	raw_start(b, 1, 0, HDR_OK);
	raw_event(b, 0);
	raw_record(b, 0, "x", 1);
}

static void bad_type_big(struct raw *b)
{
	raw_start(b, 1, 0, HDR_OK);
	raw_record(b, 256, "x", 1);
}

static void bad_event_len(struct raw *b)
{
	static unsigned char big[CAP_EVENT_MAX + 1];

	raw_start(b, 1, 0, HDR_OK);
	raw_event(b, 0);
	raw_record(b, CAP_REC_EVENT, big, sizeof(big));
}

static void bad_second_header(struct raw *b)
{
	raw_start(b, 1, 0, HDR_OK);
	raw_header(b, HDR_OK);
}

static void bad_source_short(struct raw *b)
{
	raw_start(b, 1, 0, HDR_OK);
	raw_record(b, CAP_REC_SOURCE, "\1\0\0\0\0", 5);
}

static void bad_note_short(struct raw *b)
{
	raw_start(b, 1, 2, HDR_OK);
	raw_record(b, CAP_REC_NOTE, "\1\0\0", 3);
}

static void bad_note_long(struct raw *b)
{
	static unsigned char big[CAP_NOTE_MAX + 1];

	raw_start(b, 1, 2, HDR_OK);
	raw_record(b, CAP_REC_NOTE, big, sizeof(big));
}

static void bad_source_name(struct raw *b)
{
	raw_start(b, 1, 0, HDR_OK);
	raw_record(b, CAP_REC_SOURCE, "\1\0\0\0\x09\0abc", 9);
}

static void bad_source_noname(struct raw *b)
{
	raw_start(b, 1, 0, HDR_OK);
	raw_record(b, CAP_REC_SOURCE, "\1\0\0\0\0\0abc", 9);
}

static void bad_trailer_count(struct raw *b)
{
	raw_start(b, 1, 0, HDR_OK);
	raw_event(b, 0);
	raw_trailer(b, 2, 32);
}

static void bad_trailer_short(struct raw *b)
{
	raw_start(b, 1, 0, HDR_OK);
	raw_trailer(b, 0, 31);
}

static void bad_after_trailer(struct raw *b)
{
	raw_start(b, 1, 0, HDR_OK);
	raw_trailer(b, 0, 32);
	raw_event(b, 0);
}

static void bad_no_trailer(struct raw *b)
{
	raw_start(b, 1, 0, HDR_OK);
	raw_event(b, 0);
	raw_event(b, 1);
}

static void bad_first_not_header(struct raw *b)
{
	raw_start(b, 1, 0, HDR_OK);
	b->n = 12;
	raw_event(b, 0);
}

static void bad_header_order(struct raw *b) { raw_start(b, 1, 0, HDR_OTHER_ORDER); }
static void bad_header_required(struct raw *b) { raw_start(b, 1, 0, HDR_NO_START); }
static void bad_header_overrun(struct raw *b) { raw_start(b, 1, 0, HDR_OVERRUN); }
static void bad_header_long(struct raw *b) { raw_start(b, 1, 0, HDR_LONG_STR); }
static void bad_header_cut(struct raw *b) { raw_start(b, 1, 0, HDR_CUT); }
static void bad_header_num(struct raw *b) { raw_start(b, 1, 0, HDR_NUM_SIZE); }
static void bad_header_clock(struct raw *b) { raw_start(b, 1, 0, HDR_CLOCK); }

static void good_trailer(struct raw *b)
{
	raw_start(b, 1, 0, HDR_OK);
	raw_trailer(b, 0, 32);
}

static const struct bad_case bad_cases[] = {
	{ "type 0 is not a record type", bad_type0, Z_FINISH, -EBADMSG, 1 },
	{ "type 256 is not a record type", bad_type_big, Z_FINISH, -EBADMSG, 0 },
	{ "claims 4097 bytes, over the limit of 4096", bad_event_len, Z_FINISH, -EBADMSG, 1 },
	{ "corrupted capture at uncompressed offset 113: a second header", bad_second_header, Z_FINISH, -EBADMSG, 0 },
	{ "5 bytes is too short", bad_source_short, Z_FINISH, -EBADMSG, 0 },
	{ "bad note record at uncompressed offset 113: 3 bytes is too short", bad_note_short, Z_FINISH, -EBADMSG, 0 },
	{ "claims 4097 bytes, over the limit of 4096", bad_note_long, Z_FINISH, -EBADMSG, 0 },
	{ "bad name length 9", bad_source_name, Z_FINISH, -EBADMSG, 0 },
	{ "bad name length 0", bad_source_noname, Z_FINISH, -EBADMSG, 0 },
	{ "counts 2 events but the file holds 1", bad_trailer_count, Z_FINISH, -EBADMSG, 1 },
	{ "31 bytes is too short", bad_trailer_short, Z_FINISH, -EBADMSG, 0 },
	{ "data after the trailer", bad_after_trailer, Z_FINISH, -EBADMSG, 1 },
	{ "truncated after 2 records (2 events) at uncompressed offset", bad_no_trailer, Z_FINISH, -ENODATA,
	  2 },
	{ "truncated after 2 records (2 events) at uncompressed offset", bad_no_trailer, Z_SYNC_FLUSH,
	  -ENODATA, 2 },
	{ "truncated after the trailer: no", good_trailer, Z_SYNC_FLUSH,
	  -ENODATA, 1 },
	{ "uncompressed offset 12: first record is type 2, not the header", bad_first_not_header, Z_FINISH,
	  -EBADMSG, 0 },
	{ "recorded on a big-endian host", bad_header_order, Z_FINISH, -EPROTONOSUPPORT, 0 },
	{ "required fields missing", bad_header_required, Z_FINISH, -EBADMSG, 0 },
	{ "field 1 overruns the record", bad_header_overrun, Z_FINISH, -EBADMSG, 0 },
	{ "field 5 has a bad length 4097", bad_header_long, Z_FINISH, -EBADMSG, 0 },
	{ "field cut short", bad_header_cut, Z_FINISH, -EBADMSG, 0 },
	{ "field 16 has a bad length 4", bad_header_num, Z_FINISH, -EBADMSG, 0 },
	{ "field 17: a clock offset of -9223372036854775808 ns", bad_header_clock, Z_FINISH, -EBADMSG,
	  0 },
};

static void test_bad_records(void **state)
{
	static struct raw b;
	struct got g;

	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];

		bad_cases[i].build(&b);
		for (size_t box = 0; box < NBOXES; box++) {
			read_raw_in(boxes[box].pack, &b, c->flush, &g);
			assert_err(&g, c->ret, c->what);
			assert_int_equal(g.n, c->records);
			got_free(&g);
		}
	}
}

/* Write the sample's first part, flush, write more, die by SIGKILL. */
static void killed_writer(int fd)
{
	struct op ops[SAMPLE_MAX];
	char err[ERRLEN];
	struct capw *w;
	int n = sample_ops(ops);

	if (capw__open(&w, fd, &sample_hdr, err, sizeof(err)))
		_exit(1);
	write_ops(w, ops, n);
	capw__event(w, &ops[2].ev, sizeof(ops[2].ev)); /* staged, never flushed */
	kill(getpid(), SIGKILL);
	_exit(1);
}

static void write_killed(int fd)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		killed_writer(fd);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

static void test_killed_after_flush(void **state)
{
	struct op ops[SAMPLE_MAX];
	size_t n = (size_t)expected_ops(ops);
	struct got g;
	int fd;

	(void)state;
	fd = memfd_create("killed", 0);
	assert_true(fd >= 0);
	write_killed(fd);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	read_fd(fd, &g);
	close(fd);
	assert_int_equal(g.open_ret, 0);
	assert_err(&g, -ENODATA, "truncated after 8 records (5 events) at uncompressed offset 1288: no trailer");
	assert_int_equal(g.n, n);
	check_prefix(&g);
	got_free(&g);
}

#define BIG_LEN (3u << 20)

/* Incompressible bytes, so the pipe fills and both ends see EAGAIN. */
static unsigned char *big_blob(void)
{
	unsigned char *p = malloc(BIG_LEN);
	uint32_t x = 2463534242u;

	assert_non_null(p);
	for (size_t i = 0; i < BIG_LEN; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (unsigned char)x;
	}
	return p;
}

static void big_writer(int fd)
{
	struct nw_event e = ev_ipv4_task(0);
	unsigned char *blob = big_blob();
	char err[ERRLEN];
	struct capw *w;
	int ret;

	ret = capw__open(&w, fd, &sample_hdr, err, sizeof(err));
	for (int i = 0; !ret && i < 1000; i++)
		ret = capw__event(w, &e, sizeof(e));
	if (!ret)
		ret = capw__source(w, CAP_SRC_NFT_JSON, "nft", blob, BIG_LEN);
	if (!ret)
		ret = capw__source(w, CAP_SRC_NFT_JSON, "nft", "", 0);
	if (!ret)
		ret = capw__flush(w);
	if (!ret)
		ret = capw__event(w, &e, sizeof(e));
	if (!ret)
		ret = capw__close(w, NULL);
	free(blob);
	_exit(ret ? 1 : 0);
}

/* `natwho -w - | natwho -r -`, with non-blocking pipe ends. */
static void test_pipe_big_source(void **state)
{
	unsigned char *blob;
	int fds[2], status;
	struct got g;
	pid_t pid;

	(void)state;
	assert_int_equal(pipe2(fds, O_NONBLOCK), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		big_writer(fds[1]);
	}
	close(fds[1]);
	blob = big_blob();
	read_fd(fds[0], &g);
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(g.open_ret, 0);
	assert_int_equal(g.end_ret, 0);
	assert_int_equal(g.n, 1004);
	assert_int_equal(g.recs[1000].len, BIG_LEN);
	assert_memory_equal(g.recs[1000].data, blob, BIG_LEN);
	assert_string_equal(g.recs[1001].name, "nft");
	assert_int_equal(g.recs[1001].len, 0);
	assert_int_equal(g.recs[1003].trailer.events, 1001);
	got_free(&g);
	free(blob);
}

static void test_write_errors(void **state)
{
	struct nw_event e = ev_ipv4_task(0);
	struct sigaction sa = { .sa_handler = SIG_IGN }, old;
	char err[ERRLEN] = "";
	struct capw *w;
	int fd, fds[2];

	(void)state;
	fd = open("/dev/full", O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(capw__open(&w, fd, &sample_hdr, err, sizeof(err)), -ENOSPC);
	assert_null(w);
	assert_non_null(strstr(err, "No space left"));
	close(fd);

	assert_int_equal(sigaction(SIGPIPE, &sa, &old), 0);
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(capw__open(&w, fds[1], &sample_hdr, err, sizeof(err)), 0);
	close(fds[0]);
	assert_int_equal(capw__event(w, &e, sizeof(e)), 0); /* staged */
	assert_int_equal(capw__flush(w), -EPIPE);
	assert_int_equal(capw__event(w, &e, sizeof(e)), -EPIPE); /* sticky */
	assert_int_equal(capw__flush(w), -EPIPE);
	assert_int_equal(capw__close(w, NULL), -EPIPE);
	close(fds[1]);
	assert_int_equal(sigaction(SIGPIPE, &old, NULL), 0);
}

static void test_bad_args(void **state)
{
	static char longstr[CAP_STR_MAX + 2];
	static unsigned char big[CAP_EVENT_MAX + 1];
	struct cap_header h = sample_hdr;
	char err[ERRLEN] = "";
	struct capw *w;
	struct got g;
	int fd;

	(void)state;
	memset(longstr, 'a', sizeof(longstr) - 1);
	h.filters = longstr;
	fd = memfd_create("args", 0);
	assert_int_equal(capw__open(&w, fd, &h, err, sizeof(err)), -ENAMETOOLONG);
	assert_non_null(strstr(err, "filters"));
	h = (struct cap_header){ 0 }; /* NULL strings are "" */
	assert_int_equal(capw__open(&w, fd, &h, err, sizeof(err)), 0);
	assert_int_equal(capw__event(w, big, sizeof(big)), -E2BIG);
	assert_int_equal(capw__event(w, NULL, 4), -EINVAL);
	assert_int_equal(capw__source(w, 1, "", "x", 1), -EINVAL);
	assert_int_equal(capw__source(w, 1, NULL, "x", 1), -EINVAL);
	assert_int_equal(capw__source(w, 1, "n", NULL, 1), -EINVAL);
	assert_int_equal(capw__source(w, 1, longstr, "x", 1), -ENAMETOOLONG);
	assert_int_equal(capw__source(w, 1, "n", "x", CAP_RECORD_MAX), -E2BIG);
	assert_int_equal(capw__event(w, big, 0), 0); /* still usable */
	assert_int_equal(capw__close(w, NULL), 0);
	assert_int_equal(capw__close(NULL, NULL), 0);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	read_fd(fd, &g);
	close(fd);
	assert_int_equal(g.end_ret, 0);
	assert_string_equal(g.hstr[1], "");
	assert_int_equal(g.n, 2);
	assert_int_equal(g.recs[0].len, 0);
	got_free(&g);
}

static off_t fd_size(int fd)
{
	return lseek(fd, 0, SEEK_END);
}

/* capw__tick() flushes at most once per interval, and only new records. */
static void test_tick(void **state)
{
	const uint64_t t0 = 5000000000ULL, iv = CAPW_FLUSH_INTERVAL_NS;
	struct nw_event e = ev_ipv4_task(0);
	char err[ERRLEN];
	struct capw *w;
	off_t size;
	int fd;

	(void)state;
	fd = memfd_create("tick", 0);
	assert_int_equal(capw__open(&w, fd, &sample_hdr, err, sizeof(err)), 0);
	size = fd_size(fd);
	assert_int_equal(capw__tick(w, t0), 0); /* nothing new */
	assert_int_equal(fd_size(fd), size);
	assert_int_equal(capw__event(w, &e, sizeof(e)), 0);
	assert_int_equal(capw__tick(w, t0), 0); /* first tick flushes */
	assert_true(fd_size(fd) > size);
	size = fd_size(fd);
	assert_int_equal(capw__event(w, &e, sizeof(e)), 0);
	assert_int_equal(capw__tick(w, t0 + iv - 1), 0);
	assert_int_equal(fd_size(fd), size);
	assert_int_equal(capw__tick(w, t0 + iv), 0);
	assert_true(fd_size(fd) > size);
	assert_int_equal(capw__close(w, NULL), 0);
	close(fd);
}

/* ------------------------------------------------------------ fixtures */

struct blob {
	unsigned char *p;
	size_t n;
};

static struct blob fx_incident(void)
{
	struct blob b;

	b.p = sample_bytes(&b.n);
	return b;
}

static struct blob fx_killed(void)
{
	struct blob b;
	int fd = memfd_create("killed", 0);

	assert_true(fd >= 0);
	write_killed(fd);
	b.p = fd_bytes(fd, &b.n);
	close(fd);
	return b;
}

/* The sample's uncompressed stream and its records' offsets. */
static unsigned char *sample_stream(size_t *n, uint64_t *offs)
{
	unsigned char *p, *u;
	struct got g;
	size_t size;

	p = sample_bytes(&size);
	read_mem(p, size, &g);
	for (size_t i = 0; i < g.n; i++)
		offs[i] = g.recs[i].offset;
	got_free(&g);
	u = unpack(p, size, n);
	free(p);
	return u;
}

static struct blob fx_corrupt_crc(void)
{
	uint64_t offs[SAMPLE_MAX];
	struct blob b;
	size_t n;
	unsigned char *u = sample_stream(&n, offs);

	u[offs[3] + 12 + 40] ^= 0x04;
	b.p = zst(u, n, Z_FINISH, &b.n);
	free(u);
	return b;
}

static struct blob fx_garbage(void)
{
	uint64_t offs[SAMPLE_MAX];
	struct blob b;
	size_t n;
	unsigned char *u = sample_stream(&n, offs);

	for (int i = 0; i < 64; i++)
		u[offs[4] + (size_t)i] = (unsigned char)(0xa5 ^ i);
	b.p = zst(u, n, Z_FINISH, &b.n);
	free(u);
	return b;
}

static struct blob fx_no_trailer(void)
{
	uint64_t offs[SAMPLE_MAX];
	struct blob b;
	size_t n;
	unsigned char *u = sample_stream(&n, offs);

	b.p = zst(u, offs[8], Z_FINISH, &b.n); /* everything before the trailer */
	free(u);
	return b;
}

static struct blob fx_future(void)
{
	static struct raw r;
	struct blob b;

	raw_start(&r, 2, 0, HDR_OK);
	raw_event(&r, 0);
	raw_trailer(&r, 1, 32);
	b.p = zst(r.p, r.n, Z_FINISH, &b.n);
	return b;
}

static struct blob fx_not_a_capture(void)
{
	static const char text[] = "# iptables-save, not a capture\n*nat\nCOMMIT\n";
	struct blob b = { malloc(sizeof(text)), sizeof(text) - 1 };

	assert_non_null(b.p);
	memcpy(b.p, text, b.n);
	return b;
}

static struct blob fx_empty(void)
{
	struct blob b = { malloc(1), 0 };

	return b;
}

struct fixture {
	const char *name;
	struct blob (*make)(void); /* NULL: kept as written by an older natwho */
	int ret; /* open or end */
	const char *what;
	size_t records;
};

static const struct fixture fixtures[] = {
	{ "v1.0-incident.nwcap", fx_incident, 0, "", 9 },
	{ "v1.0-killed.nwcap", fx_killed, -ENODATA, "truncated after 8 records (5 events)", 8 },
	{ "v1.0-corrupt-crc.nwcap", fx_corrupt_crc, -EBADMSG, "CRC mismatch", 3 },
	{ "v1.0-garbage.nwcap", fx_garbage, -EBADMSG, "corrupted record at uncompressed", 4 },
	{ "v1.0-no-trailer.nwcap", fx_no_trailer, -ENODATA, "truncated after 8 records", 8 },
	{ "v2.0-future.nwcap", fx_future, -EPROTONOSUPPORT, "capture format 2.0 is newer", 0 },
	{ "not-a-capture.nwcap", fx_not_a_capture, -EILSEQ, "neither zstd nor gzip", 0 },
	{ "empty.nwcap", fx_empty, -ENODATA, "empty file", 0 },
	/* gzip, as natwho wrote captures up to 2026-11 */
	{ "gzip-v1.0-incident.nwcap", NULL, 0, "", 9 },
	{ "gzip-v1.0-killed.nwcap", NULL, -ENODATA, "truncated after 8 records (5 events)", 8 },
	{ "gzip-v1.0-corrupt-crc.nwcap", NULL, -EBADMSG, "CRC mismatch", 3 },
	{ "gzip-v1.0-garbage.nwcap", NULL, -EBADMSG, "corrupted record at uncompressed", 4 },
	{ "gzip-v1.0-no-trailer.nwcap", NULL, -ENODATA, "truncated after 8 records", 8 },
	{ "gzip-v2.0-future.nwcap", NULL, -EPROTONOSUPPORT, "capture format 2.0 is newer", 0 },
};
#define NFIXTURES (sizeof(fixtures) / sizeof(fixtures[0]))

static void fixture_path(char *buf, size_t len, const char *name)
{
	const char *file = __FILE__; /* tests/unit/test_capfile.c */
	const char *slash = strrchr(file, '/');
	int dirlen = slash ? (int)(slash - file) : 1;

	snprintf(buf, len, "%.*s/../fixtures/capfile/%s", dirlen, slash ? file : ".", name);
}

static void check_fixture(const struct fixture *fx, struct got *g)
{
	assert_err(g, fx->ret, fx->what);
	assert_int_equal(g->n, fx->records);
	check_prefix(g);
	if (!g->open_ret)
		assert_string_equal(g->hstr[1], "node-2");
}

/* Committed files: a 1.0 capture must stay readable, errors stay errors. */
static void test_fixtures(void **state)
{
	char path[512];
	struct got g;
	int fd;

	(void)state;
	for (size_t i = 0; i < NFIXTURES; i++) {
		fixture_path(path, sizeof(path), fixtures[i].name);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			fail_msg("%s: %s (run from the repository root)", path, strerror(errno));
		read_fd(fd, &g);
		close(fd);
		check_fixture(&fixtures[i], &g);
		got_free(&g);
	}
}

/* The same, freshly generated by this build's writer. */
static void test_fixtures_generated(void **state)
{
	struct blob b;
	struct got g;

	(void)state;
	for (size_t i = 0; i < NFIXTURES; i++) {
		if (!fixtures[i].make)
			continue;
		b = fixtures[i].make();
		read_mem(b.p, b.n, &g);
		check_fixture(&fixtures[i], &g);
		got_free(&g);
		free(b.p);
	}
}

static void put_file(const char *dir, const char *name, unsigned char mode, struct blob b)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || (mode != 0xff && fputc(mode, f) == EOF) || fwrite(b.p, 1, b.n, f) != b.n ||
	    fclose(f)) {
		fprintf(stderr, "Error: writing %s: %s\n", path, strerror(errno));
		exit(1);
	}
	free(b.p);
}

static struct blob fx_stream(void)
{
	uint64_t offs[SAMPLE_MAX];
	struct blob b;

	b.p = sample_stream(&b.n, offs);
	return b;
}

/* A copy of what @r holds, for the caller to free. */
static struct blob raw_blob(const struct raw *r)
{
	struct blob b = { .n = r->n, .p = malloc(r->n) };

	assert_non_null(b.p);
	memcpy(b.p, r->p, r->n);
	return b;
}

static struct blob fx_minor_stream(void)
{
	static struct raw r;

	raw_start(&r, 1, 9, HDR_EXTRA_TAG);
	raw_event(&r, 0);
	raw_record(&r, 77, "future", 6);
	raw_trailer(&r, 1, 48);
	return raw_blob(&r);
}

/* Minor 2's notes: untracked IPv6 SYNs, an event, a note of an unknown
 * kind, untracked IPv4 SYNs said at the stop, the trailer. */
static struct blob fx_notes_stream(void)
{
	static const unsigned char v6[24] = { 1, 0, 0, 0, 0xdb, 0, 0, 0xf0, 1, 0, 0, 0, 2 };
	static const unsigned char v4[24] = { 1, 0, 0, 0, 0xdb, 0, 0, 0xf0, 0, 0, 0, 0, 1,
					      0, 0, 0, 0, 0, 0, 0, 1 };
	static struct raw r;

	raw_start(&r, 1, 2, HDR_OK);
	raw_record(&r, CAP_REC_NOTE, v6, sizeof(v6));
	raw_event(&r, 0);
	raw_record(&r, CAP_REC_NOTE, "\x63\0\0\0later", 9);
	raw_record(&r, CAP_REC_NOTE, v4, sizeof(v4));
	raw_trailer(&r, 1, 48);
	return raw_blob(&r);
}

/* The notes seed, hand-built to README's layout, reads as it says. */
static void test_notes_stream(void **state)
{
	const struct cap_untracked v6 = { .netns = 0xf00000dbU, .family = 1, .syns = 2 };
	const struct cap_untracked v4 = { .netns = 0xf00000dbU, .syns = 1, .at_stop = true };
	struct blob b = fx_notes_stream();
	struct cap_record rec;
	unsigned char *z;
	struct got g;
	size_t n;

	(void)state;
	z = zst(b.p, b.n, Z_FINISH, &n);
	read_mem(z, n, &g);
	assert_int_equal(g.end_ret, 0);
	assert_int_equal(g.n, 5);
	rec = got_note(&g, 0);
	assert_untracked(&rec, &v6);
	assert_int_equal(g.recs[1].type, CAP_REC_EVENT);
	rec = got_note(&g, 2);
	assert_int_equal(rec.note.kind, 99);
	assert_int_equal(rec.note.len, 5);
	rec = got_note(&g, 3);
	assert_untracked(&rec, &v4);
	got_free(&g);
	free(z);
	free(b.p);
}

/* Fuzz seeds: first byte is the harness mode (see fuzz_capfile.c). */
static void write_corpus(const char *dir)
{
	put_file(dir, "file-incident", 0, fx_incident());
	put_file(dir, "file-killed", 0, fx_killed());
	put_file(dir, "file-future", 0, fx_future());
	put_file(dir, "stream-incident", 1, fx_stream());
	put_file(dir, "stream-minor", 1, fx_minor_stream());
	put_file(dir, "flushed-incident", 2, fx_stream());
	put_file(dir, "fixed-incident", 3, fx_stream());
	put_file(dir, "fixed-minor", 3, fx_minor_stream());
	put_file(dir, "stream-notes", 1, fx_notes_stream());
	put_file(dir, "fixed-notes", 3, fx_notes_stream());
	put_file(dir, "zstd-stream-incident", 4, fx_stream());
	put_file(dir, "zstd-flushed-incident", 5, fx_stream());
}

static int write_fixtures(const char *dir, const char *corpus)
{
	for (size_t i = 0; i < NFIXTURES; i++)
		if (fixtures[i].make)
			put_file(dir, fixtures[i].name, 0xff, fixtures[i].make());
	if (corpus)
		write_corpus(corpus);
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_decode_replayed),
		cmocka_unit_test(test_zstd_compatible),
		cmocka_unit_test(test_truncated_everywhere),
		cmocka_unit_test(test_corrupt_everywhere),
		cmocka_unit_test(test_crc_error_offset),
		cmocka_unit_test(test_garbage_in_middle),
		cmocka_unit_test(test_damage_keeps_records),
		cmocka_unit_test(test_damage_after_big_block),
		cmocka_unit_test(test_not_a_capture),
		cmocka_unit_test(test_members),
		cmocka_unit_test(test_future_major),
		cmocka_unit_test(test_future_minor),
		cmocka_unit_test(test_notes),
		cmocka_unit_test(test_conntrack_note),
		cmocka_unit_test(test_notes_stream),
		cmocka_unit_test(test_bad_records),
		cmocka_unit_test(test_killed_after_flush),
		cmocka_unit_test(test_pipe_big_source),
		cmocka_unit_test(test_write_errors),
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_tick),
		cmocka_unit_test(test_fixtures),
		cmocka_unit_test(test_fixtures_generated),
	};

	if (argc >= 3 && !strcmp(argv[1], "--write-fixtures"))
		return write_fixtures(argv[2], argc >= 4 ? argv[3] : NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
