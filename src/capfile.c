// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Capture file writer and reader (format: capfile.h and README.md).
 *
 * Uncompressed stream:  "NWHOCAP\n" le16 major, le16 minor, then records
 *   le32 type | le32 len | le32 crc32(type, len, payload) | payload[len]
 * all inside one zstd frame, level -1 (natwho up to 2026-11 wrote one gzip
 * stream instead; the reader takes either).  The writer stages records in
 * 64 KiB, compresses in bulk and writes 64 KiB at a time; capw__flush()
 * ends a zstd block so everything given so far reaches the fd whole.
 */
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>
#include <linux/types.h>
#include <sys/stat.h>
#include "natwho.h"
#include "capfile.h"
#include "crc32.h"

#define CAP_MAGIC "NWHOCAP\n"
#define CAP_MAGIC_LEN 8
#define CAP_PREAMBLE_LEN 12
#define CAP_FRAME_LEN 12
#define CAP_TYPE_MAX 255 /* record types a later minor may add: 6..255 */
#define CAP_HEADER_MAX (64u << 10)
#define CAP_TRAILER_LEN 32 /* what every reader needs */
#define CAP_TRAILER_JOIN_LEN 48 /* minor 1: flags (bit 0: join), join_missed */
#define CAP_SOURCE_FIXED 6 /* le32 kind, le16 name length */
#define CAP_NOTE_KIND_LEN 4 /* le32 kind, then the kind's fields */
/* CAP_NOTE_UNTRACKED: le32 netns, le32 family, le64 syns, le32 flags */
#define CAP_UNTRACKED_NETNS 0
#define CAP_UNTRACKED_FAMILY 4
#define CAP_UNTRACKED_SYNS 8
#define CAP_UNTRACKED_FLAGS 16
#define CAP_UNTRACKED_LEN 20
#define CAP_CONNTRACK_NETNS 0
#define CAP_CONNTRACK_FLAGS 4
#define CAP_CONNTRACK_RISE 8 /* le64 per counter, enum ct_counter's order */
#define CAP_CONNTRACK_ENTRIES (CAP_CONNTRACK_RISE + 8 * CT_NCOUNTERS)
#define CAP_CONNTRACK_MAX (CAP_CONNTRACK_ENTRIES + 8)
#define CAP_CONNTRACK_LEN (CAP_CONNTRACK_MAX + 8)
/* zstd's fastest regular level -1 (zstd --fast=1): records 6% faster than
 * level 1 for 1-3% more bytes; --fast=3 is no faster and 45% bigger. */
#define CAP_LEVEL -1
#define CAP_GZIP_WBITS (15 + 16) /* reading gzip captures: 32 KiB window, gzip wrapper */
#define CAPR_ZSTD_WLOG_MAX 24 /* a 16 MiB window at most (natwho writes 512 KiB) */

/* Header fields (le16 tag, le16 length, value). */
enum cap_tag {
	TAG_NATWHO_VERSION = 1,
	TAG_HOSTNAME = 2,
	TAG_KERNEL = 3,
	TAG_BACKEND = 4,
	TAG_FILTERS = 5,
	TAG_START_NS = 16, /* le64 */
	TAG_BOOT_TO_REAL_NS = 17, /* le64, two's complement */
	TAG_EVENT_VERSION = 18, /* le16 */
	TAG_EVENT_SIZE = 19, /* le32 */
	TAG_BYTE_ORDER = 20, /* u8: byte order of the event records */
	TAG_NODE_NETNS = 21, /* le32: the network namespace whose rules the knowledge has */
};
#define CAP_NSTRS 5
#define CAP_CLOCK_OFFSET_MAX (INT64_C(1) << 62)
#define CAP_REQUIRED ((1u << TAG_START_NS) | (1u << TAG_BOOT_TO_REAL_NS) | \
		      (1u << TAG_EVENT_VERSION) | (1u << TAG_EVENT_SIZE) | (1u << TAG_BYTE_ORDER))

enum cap_byte_order { CAP_LITTLE_ENDIAN = 1, CAP_BIG_ENDIAN = 2 };
#if __BYTE_ORDER == __LITTLE_ENDIAN
#define CAP_HOST_ORDER CAP_LITTLE_ENDIAN
#else
#define CAP_HOST_ORDER CAP_BIG_ENDIAN
#endif

#define CAPW_STAGE (64u << 10)
#define CAPW_OUT (64u << 10)
#define CAPR_IN (64u << 10)
#define CAPR_BUF_MIN (64u << 10)
#define CAPR_ERR_LEN 320

static void put_le16(unsigned char *p, uint16_t v)
{
	v = htole16(v);
	memcpy(p, &v, sizeof(v));
}

static void put_le32(unsigned char *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, sizeof(v));
}

static void put_le64(unsigned char *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, sizeof(v));
}

static uint16_t get_le16(const unsigned char *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return le16toh(v);
}

static uint32_t get_le32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return le32toh(v);
}

static uint64_t get_le64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return le64toh(v);
}

/* Wait until @fd is ready for @events: for an O_NONBLOCK stdin/stdout. */
static int fd_wait(int fd, short events)
{
	struct pollfd pfd = { .fd = fd, .events = events };

	if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
		return -errno;
	return 0;
}

static uint32_t frame_crc(const unsigned char *frame, const void *p1, size_t l1, const void *p2,
			  size_t l2)
{
	uint32_t crc = crc32__update(0, frame, 8);

	if (l1)
		crc = crc32__update(crc, p1, l1);
	if (l2)
		crc = crc32__update(crc, p2, l2);
	return crc;
}

/* ---------------------------------------------------------------- writer */

struct capw {
	int fd;
	int err; /* first I/O or zlib failure, sticky */
	bool dirty; /* records given since the last flush */
	uint64_t events;
	uint64_t tick_ns; /* when capw__tick() last flushed */
	size_t staged;
	size_t out_len; /* compressed bytes in out[] not written yet */
	const struct out_stop *stop; /* capw__set_stop() */
	ZSTD_CCtx *zc;
	unsigned char stage[CAPW_STAGE];
	unsigned char out[CAPW_OUT];
};

/* Write out what zstd produced. */
static int capw_drain(struct capw *w)
{
	/* with a stop (capw__set_stop()), a stalled reader of `-w -` is given up
	 * once natwho is ending: it must not hold natwho past SIGINT or SIGTERM */
	int err = out__write_all(w->fd, w->out, w->out_len, w->stop);

	w->out_len = 0;
	return err;
}

/* Compress @data; ZSTD_e_flush and ZSTD_e_end also write everything out. */
static int capw_compress(struct capw *w, const void *data, size_t len, ZSTD_EndDirective mode)
{
	ZSTD_inBuffer in = { data, len, 0 };
	size_t left;
	int err;

	for (;;) {
		ZSTD_outBuffer out = { w->out, CAPW_OUT, w->out_len };

		left = ZSTD_compressStream2(w->zc, &out, &in, mode);
		w->out_len = out.pos;
		/* zstd takes its working memory at the first frame: out of
		 * memory is not an I/O error */
		if (ZSTD_isError(left))
			return ZSTD_getErrorCode(left) == ZSTD_error_memory_allocation ? -ENOMEM :
											 -EIO;
		if (w->out_len == CAPW_OUT) {
			err = capw_drain(w);
			if (err)
				return err;
			continue;
		}
		if (mode == ZSTD_e_continue ? in.pos == in.size : left == 0)
			break;
	}
	return mode == ZSTD_e_continue ? 0 : capw_drain(w);
}

static int capw_unstage(struct capw *w, ZSTD_EndDirective mode)
{
	size_t n = w->staged;

	w->staged = 0;
	return capw_compress(w, w->stage, n, mode);
}

static int capw_put(struct capw *w, const void *data, size_t len)
{
	int err;

	if (w->staged + len > CAPW_STAGE) {
		err = capw_unstage(w, ZSTD_e_continue);
		if (err)
			return err;
	}
	if (len > CAPW_STAGE)
		return capw_compress(w, data, len, ZSTD_e_continue);
	memcpy(w->stage + w->staged, data, len);
	w->staged += len;
	return 0;
}

/* One framed record whose payload is @p1 followed by @p2. */
static int capw_record(struct capw *w, uint32_t type, const void *p1, size_t l1, const void *p2,
		       size_t l2)
{
	unsigned char frame[CAP_FRAME_LEN];
	int err;

	if (w->err)
		return w->err;
	put_le32(frame, type);
	put_le32(frame + 4, (uint32_t)(l1 + l2));
	put_le32(frame + 8, frame_crc(frame, p1, l1, p2, l2));
	err = capw_put(w, frame, sizeof(frame));
	if (!err && l1)
		err = capw_put(w, p1, l1);
	if (!err && l2)
		err = capw_put(w, p2, l2);
	w->err = err;
	w->dirty = true;
	return err;
}

static size_t tlv_str(unsigned char *p, uint16_t tag, const char *s)
{
	size_t len = s ? strlen(s) : 0;

	put_le16(p, tag);
	put_le16(p + 2, (uint16_t)len);
	memcpy(p + 4, s ? s : "", len);
	return 4 + len;
}

static size_t tlv_num(unsigned char *p, uint16_t tag, uint64_t v, uint16_t size)
{
	put_le16(p, tag);
	put_le16(p + 2, size);
	switch (size) {
	case 1: p[4] = (unsigned char)v; break;
	case 2: put_le16(p + 4, (uint16_t)v); break;
	case 4: put_le32(p + 4, (uint32_t)v); break;
	default: put_le64(p + 4, v); break;
	}
	return 4 + size;
}

/* Header payload into @p (room for CAP_HEADER_MAX); returns its length. */
static size_t capw_header_encode(const struct cap_header *h, unsigned char *p)
{
	size_t n = 0;

	n += tlv_str(p + n, TAG_NATWHO_VERSION, h->natwho_version);
	n += tlv_str(p + n, TAG_HOSTNAME, h->hostname);
	n += tlv_str(p + n, TAG_KERNEL, h->kernel);
	n += tlv_str(p + n, TAG_BACKEND, h->backend);
	n += tlv_str(p + n, TAG_FILTERS, h->filters);
	n += tlv_num(p + n, TAG_START_NS, h->start_ns, 8);
	n += tlv_num(p + n, TAG_BOOT_TO_REAL_NS, (uint64_t)h->boot_to_real_ns, 8);
	n += tlv_num(p + n, TAG_EVENT_VERSION, NW_EVENT_VERSION, 2);
	n += tlv_num(p + n, TAG_EVENT_SIZE, sizeof(struct nw_event), 4);
	n += tlv_num(p + n, TAG_BYTE_ORDER, CAP_HOST_ORDER, 1);
	if (h->node_netns)
		n += tlv_num(p + n, TAG_NODE_NETNS, h->node_netns, 4);
	return n;
}

static int capw_check_header(const struct cap_header *h, char *err, size_t errlen)
{
	const char *strs[CAP_NSTRS] = { h->natwho_version, h->hostname, h->kernel, h->backend,
					h->filters };
	static const char *const names[CAP_NSTRS] = { "natwho version", "hostname", "kernel",
						       "backend", "filters" };

	for (int i = 0; i < CAP_NSTRS; i++) {
		if (strs[i] && strlen(strs[i]) > CAP_STR_MAX) {
			snprintf(err, errlen, "capture header: %s is longer than %u bytes",
				 names[i], CAP_STR_MAX);
			return -ENAMETOOLONG;
		}
	}
	return 0;
}

static int capw_start(struct capw *w, const struct cap_header *h)
{
	unsigned char pre[CAP_PREAMBLE_LEN];
	unsigned char *hdr;
	size_t len;
	int err;

	hdr = malloc(CAP_HEADER_MAX);
	if (!hdr)
		return -ENOMEM;
	memcpy(pre, CAP_MAGIC, CAP_MAGIC_LEN);
	put_le16(pre + 8, CAP_VERSION_MAJOR);
	put_le16(pre + 10, CAP_VERSION_MINOR);
	len = capw_header_encode(h, hdr);
	err = capw_put(w, pre, sizeof(pre));
	if (!err)
		err = capw_record(w, CAP_REC_HEADER, hdr, len, NULL, 0);
	if (!err)
		err = capw__flush(w);
	free(hdr);
	return err;
}

int capw__open(struct capw **wp, int fd, const struct cap_header *h, char *err, size_t errlen)
{
	struct capw *w;
	int ret;

	*wp = NULL;
	ret = capw_check_header(h, err, errlen);
	if (ret)
		return ret;
	w = calloc(1, sizeof(*w));
	if (!w) {
		snprintf(err, errlen, "capture writer: out of memory");
		return -ENOMEM;
	}
	w->fd = fd;
	w->zc = ZSTD_createCCtx();
	if (!w->zc || ZSTD_isError(ZSTD_CCtx_setParameter(w->zc, ZSTD_c_compressionLevel, CAP_LEVEL))) {
		ZSTD_freeCCtx(w->zc);
		free(w);
		snprintf(err, errlen, "capture writer: zstd set-up failed (out of memory?)");
		return -ENOMEM;
	}
	ret = capw_start(w, h);
	if (ret) {
		snprintf(err, errlen, "writing the capture header: %s", strerror(-ret));
		ZSTD_freeCCtx(w->zc);
		free(w);
		return ret;
	}
	*wp = w;
	return 0;
}

int capw__event(struct capw *w, const void *raw, uint32_t size)
{
	int err;

	if (size > CAP_EVENT_MAX)
		return -E2BIG;
	if (!raw && size)
		return -EINVAL;
	err = capw_record(w, CAP_REC_EVENT, raw, size, NULL, 0);
	if (!err)
		w->events++;
	return err;
}

int capw__source(struct capw *w, uint32_t kind, const char *name, const void *data, size_t len)
{
	unsigned char fixed[CAP_SOURCE_FIXED + CAP_NAME_MAX];
	size_t nlen = name ? strlen(name) : 0;

	if (!nlen || (!data && len))
		return -EINVAL;
	if (nlen > CAP_NAME_MAX)
		return -ENAMETOOLONG;
	if (len > CAP_RECORD_MAX - CAP_SOURCE_FIXED - nlen)
		return -E2BIG;
	put_le32(fixed, kind);
	put_le16(fixed + 4, (uint16_t)nlen);
	memcpy(fixed + CAP_SOURCE_FIXED, name, nlen);
	return capw_record(w, CAP_REC_SOURCE, fixed, CAP_SOURCE_FIXED + nlen, data, len);
}

int capw__note(struct capw *w, uint32_t kind, const void *data, size_t len)
{
	unsigned char k[CAP_NOTE_KIND_LEN];

	if (!data && len)
		return -EINVAL;
	if (len > CAP_NOTE_MAX - sizeof(k))
		return -E2BIG;
	put_le32(k, kind);
	return capw_record(w, CAP_REC_NOTE, k, sizeof(k), data, len);
}

int capw__untracked(struct capw *w, const struct cap_untracked *u)
{
	unsigned char p[CAP_UNTRACKED_LEN];

	put_le32(p + CAP_UNTRACKED_NETNS, u->netns);
	put_le32(p + CAP_UNTRACKED_FAMILY, u->family);
	put_le64(p + CAP_UNTRACKED_SYNS, u->syns);
	put_le32(p + CAP_UNTRACKED_FLAGS, u->at_stop ? 1 : 0);
	return capw__note(w, CAP_NOTE_UNTRACKED, p, sizeof(p));
}

int capw__conntrack(struct capw *w, const struct cap_conntrack *c)
{
	unsigned char p[CAP_CONNTRACK_LEN];

	put_le32(p + CAP_CONNTRACK_NETNS, c->netns);
	put_le32(p + CAP_CONNTRACK_FLAGS, c->at_stop ? 1 : 0);
	for (int i = 0; i < CT_NCOUNTERS; i++)
		put_le64(p + CAP_CONNTRACK_RISE + 8 * i, c->said.rise[i]);
	put_le64(p + CAP_CONNTRACK_ENTRIES, c->said.entries);
	put_le64(p + CAP_CONNTRACK_MAX, c->said.max);
	return capw__note(w, CAP_NOTE_CONNTRACK, p, sizeof(p));
}

int capw__flush(struct capw *w)
{
	if (w->err || !w->dirty)
		return w->err;
	w->err = capw_unstage(w, ZSTD_e_flush);
	w->dirty = false;
	return w->err;
}

bool capw__dirty(const struct capw *w)
{
	return w->dirty;
}

int capw__tick(struct capw *w, uint64_t now_ns)
{
	if (w->err || !w->dirty)
		return w->err;
	if (w->tick_ns && now_ns - w->tick_ns < CAPW_FLUSH_INTERVAL_NS)
		return 0;
	w->tick_ns = now_ns;
	return capw__flush(w);
}

int capw__close(struct capw *w, const struct cap_trailer *t)
{
	unsigned char tr[CAP_TRAILER_JOIN_LEN];
	int err;

	if (!w)
		return 0;
	put_le64(tr, w->events);
	put_le64(tr + 8, t ? t->lost : 0);
	put_le64(tr + 16, t ? t->undecodable : 0);
	put_le64(tr + 24, t ? t->end_ns : 0);
	put_le64(tr + 32, t && t->join ? 1 : 0);
	put_le64(tr + 40, t && t->join ? t->join_missed : 0);
	err = capw_record(w, CAP_REC_TRAILER, tr, sizeof(tr), NULL, 0);
	if (!err)
		err = capw_unstage(w, ZSTD_e_end);
	ZSTD_freeCCtx(w->zc);
	free(w);
	return err;
}

void capw__set_stop(struct capw *w, const struct out_stop *stop)
{
	w->stop = stop;
}

uint64_t capw__events(const struct capw *w)
{
	return w->events;
}

/* ---------------------------------------------------------------- reader */

struct capr {
	int fd;
	int err; /* sticky: every later capr__next() repeats it */
	/* The decompressor failed (errmsg says how): the end of the data, made
	 * an error once the records decoded before it are read. */
	int data_err;
	bool done; /* trailer returned */
	bool finished; /* gzip end checked after the trailer */
	bool eof; /* read() returned 0 */
	bool member_end; /* a gzip member or zstd frame ended */
	bool out_full; /* the last decompressor call filled buf: it may hold more */
	enum { CAPR_UNKNOWN, CAPR_GZIP, CAPR_ZSTD } box; /* the container, from its magic */
	size_t in_pos, in_len; /* compressed bytes in[in_pos, in_len) not used yet */
	size_t zhint; /* zstd: input that completes its next block, at most */
	uint64_t file_read; /* compressed bytes read from the fd */
	uint64_t uoff; /* uncompressed offset of buf[pos] */
	uint64_t records, events;
	unsigned char *buf; /* inflated bytes [pos, end) not yet consumed */
	size_t cap, pos, end;
	z_stream zs;
	ZSTD_DCtx *zd;
	const volatile sig_atomic_t *stop; /* set (a signal): a blocked read gives up */
	struct cap_header hdr;
	char strs[CAP_NSTRS][CAP_STR_MAX + 1];
	char name[CAP_NAME_MAX + 1];
	char errmsg[CAPR_ERR_LEN];
	unsigned char in[CAPR_IN];
};

static int capr_fail(struct capr *r, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int capr_fail(struct capr *r, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->errmsg, sizeof(r->errmsg), fmt, ap);
	va_end(ap);
	r->err = err;
	return err;
}

/* The decompressor's error (data_err), now reported. */
static int capr_data_fail(struct capr *r)
{
	r->err = r->data_err;
	return r->err;
}

/* "<what> at uncompressed offset <off>: <details>" */
static int capr_bad(struct capr *r, int err, const char *what, uint64_t off, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int capr_bad(struct capr *r, int err, const char *what, uint64_t off, const char *fmt, ...)
{
	size_t n;
	va_list ap;

	/* The decompressor found damage after the bytes it gave: whatever is
	 * wrong with them (a record gzip garbled before it noticed, the data
	 * ending) is that damage, and its error says where. */
	if (r->data_err)
		return capr_data_fail(r);
	snprintf(r->errmsg, sizeof(r->errmsg), "%s at uncompressed offset %llu: ", what,
		 (unsigned long long)off);
	n = strlen(r->errmsg);
	va_start(ap, fmt);
	vsnprintf(r->errmsg + n, sizeof(r->errmsg) - n, fmt, ap);
	va_end(ap);
	r->err = err;
	return err;
}

/* The decompressor failed at @fmt: recorded, not yet reported (data_err). */
static int capr_data_bad(struct capr *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int capr_data_bad(struct capr *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->errmsg, sizeof(r->errmsg), fmt, ap);
	va_end(ap);
	r->data_err = -EILSEQ;
	return 0;
}

/* The container's name, for messages. */
static const char *capr_box(const struct capr *r)
{
	return r->box == CAPR_ZSTD ? "zstd" : "gzip";
}

/* Compressed offset decompression has reached in the file. */
static unsigned long long capr_coff(const struct capr *r)
{
	return (unsigned long long)(r->file_read - (r->in_len - r->in_pos));
}

/* Refill the input buffer when empty; false at end of file. */
static int capr_read_input(struct capr *r)
{
	ssize_t n;
	int err;

	while (r->in_pos == r->in_len && !r->eof) {
		/* A read from a pipe with nothing in it blocks, and a signal
		 * handler with SA_RESTART does not end it. */
		if (r->stop && out__wait_input(r->fd, r->stop))
			return capr_fail(r, -EINTR, "interrupted");
		n = read(r->fd, r->in, CAPR_IN);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			err = fd_wait(r->fd, POLLIN);
			if (err)
				return capr_fail(r, err, "reading the capture: %s", strerror(-err));
			continue;
		}
		if (n < 0)
			return capr_fail(r, -errno, "reading the capture at compressed offset %llu: %s",
					 (unsigned long long)r->file_read, strerror(errno));
		r->eof = n == 0;
		r->in_pos = 0;
		r->in_len = (size_t)n;
		r->file_read += (uint64_t)n;
	}
	return r->in_pos < r->in_len;
}

/* One inflate() call into buf[end, cap). */
static int capr_gunzip(struct capr *r)
{
	int ret;

	if (r->member_end) { /* concatenated gzip members, as zcat reads them */
		inflateReset(&r->zs);
		r->member_end = false;
	}
	r->zs.next_in = r->in + r->in_pos;
	r->zs.avail_in = (uInt)(r->in_len - r->in_pos);
	r->zs.next_out = r->buf + r->end;
	r->zs.avail_out = (uInt)(r->cap - r->end);
	ret = inflate(&r->zs, Z_NO_FLUSH);
	r->in_pos = r->in_len - r->zs.avail_in;
	r->end = r->cap - r->zs.avail_out;
	if (ret == Z_STREAM_END)
		r->member_end = true;
	else if (ret == Z_MEM_ERROR)
		return capr_fail(r, -ENOMEM, "inflating the capture: out of memory");
	else if (ret != Z_OK && ret != Z_BUF_ERROR) /* what it inflated before is in buf */
		return capr_data_bad(r, "bad gzip data at compressed offset %llu: %s", capr_coff(r),
				     r->zs.msg ? r->zs.msg : "inflate failed");
	return 0;
}

/*
 * One ZSTD_decompressStream() call into buf[end, cap); concatenated frames
 * follow on, as zstdcat reads them.  A call that fails reports none of what
 * it decoded or still had to hand over, so none may decode more than one
 * block or header, and none may start with output kept from the last one
 * (capr_inflate() leaves room for a whole block first): each is given what
 * the previous call asked for (the rest of the next block, or of a header,
 * and the block header after it) less that block header.  So the records of
 * the blocks before a damaged one are all read.  The error's offset is
 * where the failing call's input started: the damaged block header, or the
 * damaged block (its last 3 bytes for a frame's last block, whose rest came
 * in the call before; the part after a 64 KiB read for one split by it).
 */
#define CAPR_ZSTD_BLOCK_HEADER 3 /* RFC 8878, 3.1.1.2 */

static int capr_unzstd(struct capr *r)
{
	size_t avail = r->in_len - r->in_pos;
	size_t want = r->zhint > CAPR_ZSTD_BLOCK_HEADER ? r->zhint - CAPR_ZSTD_BLOCK_HEADER : r->zhint;
	ZSTD_inBuffer in = { r->in, r->in_pos + (want < avail ? want : avail), r->in_pos };
	ZSTD_outBuffer out = { r->buf, r->cap, r->end };
	size_t ret = ZSTD_decompressStream(r->zd, &out, &in);

	if (ZSTD_isError(ret)) {
		if (ZSTD_getErrorCode(ret) == ZSTD_error_memory_allocation)
			return capr_fail(r, -ENOMEM, "decompressing the capture: out of memory");
		return capr_data_bad(r, "bad zstd data at compressed offset %llu: %s", capr_coff(r),
				     ZSTD_getErrorName(ret));
	}
	r->in_pos = in.pos;
	r->end = out.pos;
	r->member_end = ret == 0; /* a frame ended, all of it in buf */
	r->zhint = ret ? ret : 1; /* a new frame: its header's size comes back */
	return 0;
}

/* At least @need bytes free after end: consumed bytes dropped, or more memory. */
static int capr_out_room(struct capr *r, size_t need)
{
	unsigned char *nbuf;
	size_t ncap;

	if (r->cap - r->end >= need)
		return 0;
	if (r->pos) {
		memmove(r->buf, r->buf + r->pos, r->end - r->pos);
		r->end -= r->pos;
		r->pos = 0;
	}
	if (r->cap - r->end >= need)
		return 0;
	/* doubled, as capr_room() grows it: a large record is not filled by
	 * one realloc per block; at most the largest record and @need */
	ncap = 2 * r->cap < CAP_RECORD_MAX + CAP_FRAME_LEN + need ? 2 * r->cap :
								    CAP_RECORD_MAX + CAP_FRAME_LEN + need;
	if (ncap < r->end + need)
		ncap = r->end + need;
	nbuf = realloc(r->buf, ncap);
	if (!nbuf)
		return capr_fail(r, -ENOMEM, "out of memory for the decompressed data");
	r->buf = nbuf;
	r->cap = ncap;
	return 0;
}

/* Decompress more into buf[end, cap): 1 on progress, 0 at end of data. */
static int capr_inflate(struct capr *r)
{
	size_t in_before, end_before;
	bool collect;
	int ret;

	if (r->data_err)
		return 0;
	/* zstd: room for a whole block (capr_unzstd()) */
	if (r->box == CAPR_ZSTD && capr_out_room(r, ZSTD_DStreamOutSize()))
		return r->err;
	/* What the decompressor kept for want of room is handed over before
	 * more input is read, or waited for (a live `-r -`) or found missing
	 * (a cut file). */
	collect = r->out_full && r->in_pos == r->in_len;
	if (!collect) {
		ret = capr_read_input(r);
		if (ret <= 0)
			return ret;
	}
	in_before = r->in_pos;
	end_before = r->end;
	ret = r->box == CAPR_ZSTD ? capr_unzstd(r) : capr_gunzip(r);
	if (ret)
		return ret;
	r->out_full = r->end == r->cap;
	if (r->data_err)
		return r->end > end_before;
	if (in_before == r->in_pos && end_before == r->end) {
		if (collect && r->end < r->cap) /* it kept nothing: on to the input */
			return capr_inflate(r);
		return capr_fail(r, -EILSEQ, "%s data at compressed offset %llu makes no progress",
				 capr_box(r), capr_coff(r));
	}
	return 1;
}

/* Make room after end: drop consumed bytes, or grow towards @need. */
static int capr_room(struct capr *r, size_t need)
{
	unsigned char *nbuf;
	size_t ncap;

	if (r->pos) {
		memmove(r->buf, r->buf + r->pos, r->end - r->pos);
		r->end -= r->pos;
		r->pos = 0;
		return 0;
	}
	ncap = r->cap * 2 < need ? r->cap * 2 : need;
	nbuf = realloc(r->buf, ncap);
	if (!nbuf)
		return capr_fail(r, -ENOMEM, "out of memory for a %zu-byte record", need);
	r->buf = nbuf;
	r->cap = ncap;
	return 0;
}

/* Have @need bytes at buf[pos]: 0, -ENODATA at end of data (no message). */
static int capr_fill(struct capr *r, size_t need)
{
	int ret;

	while (r->end - r->pos < need) {
		if (r->end == r->cap) {
			ret = capr_room(r, need);
			if (ret)
				return ret;
		}
		ret = capr_inflate(r);
		if (ret < 0)
			return ret;
		if (ret == 0)
			return -ENODATA;
	}
	return 0;
}

static int capr_truncated(struct capr *r, uint64_t rec_off)
{
	char what[96];

	snprintf(what, sizeof(what), "truncated after %llu records (%llu events)",
		 (unsigned long long)r->records, (unsigned long long)r->events);
	return capr_bad(r, -ENODATA, what, rec_off,
			"%sno trailer; the file ends at compressed offset %llu (recorder killed, or still "
			"recording?)",
			r->end == r->pos ? "" : "incomplete record, ",
			(unsigned long long)r->file_read);
}

static uint32_t capr_type_limit(uint32_t type)
{
	switch (type) {
	case CAP_REC_HEADER: return CAP_HEADER_MAX;
	case CAP_REC_EVENT: return CAP_EVENT_MAX;
	case CAP_REC_TRAILER: return CAP_EVENT_MAX;
	case CAP_REC_NOTE: return CAP_NOTE_MAX;
	default: return CAP_RECORD_MAX;
	}
}

/* Next framed, CRC-checked record of any type; consumes it. */
static int capr_frame(struct capr *r, uint32_t *type, const unsigned char **payload,
		      uint32_t *len)
{
	uint64_t off = r->uoff;
	const unsigned char *f;
	uint32_t crc;
	int err;

	err = capr_fill(r, CAP_FRAME_LEN);
	if (err)
		return err == -ENODATA ? capr_truncated(r, off) : err;
	f = r->buf + r->pos;
	*type = get_le32(f);
	*len = get_le32(f + 4);
	crc = get_le32(f + 8);
	if (*type == 0 || *type > CAP_TYPE_MAX)
		return capr_bad(r, -EBADMSG, "corrupted record", off,
				"type %u is not a record type", *type);
	if (*len > capr_type_limit(*type))
		return capr_bad(r, -EBADMSG, "corrupted record", off,
				"type %u claims %u bytes, over the limit of %u", *type, *len,
				capr_type_limit(*type));
	err = capr_fill(r, CAP_FRAME_LEN + (size_t)*len);
	if (err)
		return err == -ENODATA ? capr_truncated(r, off) : err;
	f = r->buf + r->pos;
	*payload = f + CAP_FRAME_LEN;
	if (frame_crc(f, *payload, *len, NULL, 0) != crc)
		return capr_bad(r, -EBADMSG, "corrupted record", off,
				"CRC mismatch (type %u, %u bytes)", *type, *len);
	r->pos += CAP_FRAME_LEN + (size_t)*len;
	r->uoff += CAP_FRAME_LEN + (uint64_t)*len;
	return 0;
}

/* Untrusted text: keep it printable, one line. */
static void capr_copy_str(char *dst, const unsigned char *src, size_t len)
{
	for (size_t i = 0; i < len; i++)
		dst[i] = src[i] < 0x20 || src[i] == 0x7f ? '?' : (char)src[i];
	dst[len] = '\0';
}

static int capr_header_field(struct capr *r, uint16_t tag, const unsigned char *v,
			     uint16_t len)
{
	static const uint16_t num_size[] = {
		[TAG_START_NS] = 8, [TAG_BOOT_TO_REAL_NS] = 8, [TAG_EVENT_VERSION] = 2,
		[TAG_EVENT_SIZE] = 4, [TAG_BYTE_ORDER] = 1, [TAG_NODE_NETNS] = 4,
	};

	if (tag >= TAG_NATWHO_VERSION && tag <= TAG_FILTERS) {
		if (len > CAP_STR_MAX)
			return -EBADMSG;
		capr_copy_str(r->strs[tag - TAG_NATWHO_VERSION], v, len);
		return 0;
	}
	if (tag < TAG_START_NS || tag > TAG_NODE_NETNS)
		return 0; /* a later minor's field */
	if (len != num_size[tag])
		return -EBADMSG;
	switch (tag) {
	case TAG_START_NS: r->hdr.start_ns = get_le64(v); break;
	case TAG_BOOT_TO_REAL_NS: r->hdr.boot_to_real_ns = (int64_t)get_le64(v); break;
	case TAG_EVENT_VERSION: r->hdr.event_version = get_le16(v); break;
	case TAG_EVENT_SIZE: r->hdr.event_size = get_le32(v); break;
	case TAG_NODE_NETNS: r->hdr.node_netns = get_le32(v); break;
	default: return *v == CAP_HOST_ORDER ? 0 : -EPROTONOSUPPORT;
	}
	return 0;
}

static int capr_header(struct capr *r, const unsigned char *p, uint32_t len, uint64_t off)
{
	uint32_t seen = 0;
	size_t i = 0;
	int err;

	while (i < len) {
		uint16_t tag, flen;

		if (len - i < 4)
			return capr_bad(r, -EBADMSG, "bad capture header", off, "field cut short");
		tag = get_le16(p + i);
		flen = get_le16(p + i + 2);
		i += 4;
		if (flen > len - i)
			return capr_bad(r, -EBADMSG, "bad capture header", off,
					"field %u overruns the record", tag);
		err = capr_header_field(r, tag, p + i, flen);
		if (err == -EPROTONOSUPPORT)
			return capr_fail(r, err, "capture recorded on a %s-endian host: replay it on one",
					 CAP_HOST_ORDER == CAP_LITTLE_ENDIAN ? "big" : "little");
		if (err)
			return capr_bad(r, err, "bad capture header", off,
					"field %u has a bad length %u", tag, flen);
		if (tag < 32)
			seen |= 1u << tag;
		i += flen;
	}
	if ((seen & CAP_REQUIRED) != CAP_REQUIRED)
		return capr_bad(r, -EBADMSG, "bad capture header", off, "required fields missing");
	/* CLOCK_REALTIME minus CLOCK_BOOTTIME when recorded: within +-146
	 * years, else adding it to an event's boot time would overflow */
	if (r->hdr.boot_to_real_ns > CAP_CLOCK_OFFSET_MAX ||
	    r->hdr.boot_to_real_ns < -CAP_CLOCK_OFFSET_MAX)
		return capr_bad(r, -EBADMSG, "bad capture header", off,
				"field %u: a clock offset of %lld ns", TAG_BOOT_TO_REAL_NS,
				(long long)r->hdr.boot_to_real_ns);
	return 0;
}

static int capr_preamble(struct capr *r)
{
	const unsigned char *p;
	int err = capr_fill(r, CAP_PREAMBLE_LEN);

	if (err == -ENODATA && r->data_err)
		return capr_data_fail(r);
	if (err == -ENODATA)
		return capr_fail(r, err,
				 "not a natwho capture: the %s data ends after %zu bytes, before the %u-byte preamble",
				 capr_box(r), r->end - r->pos, CAP_PREAMBLE_LEN);
	if (err)
		return err;
	p = r->buf + r->pos;
	if (memcmp(p, CAP_MAGIC, CAP_MAGIC_LEN))
		return capr_fail(r, -EILSEQ,
				 "not a natwho capture: %s data does not start with \"NWHOCAP\"",
				 capr_box(r));
	r->hdr.major = get_le16(p + 8);
	r->hdr.minor = get_le16(p + 10);
	if (r->hdr.major > CAP_VERSION_MAJOR)
		return capr_fail(r, -EPROTONOSUPPORT,
				 "capture format %u.%u is newer than this natwho (%s) reads (%u.x): use a newer natwho",
				 r->hdr.major, r->hdr.minor, NATWHO_VERSION, CAP_VERSION_MAJOR);
	if (r->hdr.major < CAP_VERSION_MAJOR)
		return capr_fail(r, -EPROTONOSUPPORT, "capture format %u.%u is not supported",
				 r->hdr.major, r->hdr.minor);
	r->pos += CAP_PREAMBLE_LEN;
	r->uoff += CAP_PREAMBLE_LEN;
	return 0;
}

/* The container from its magic (as much of it as the first read gave);
 * empty or neither: say so before the decompressor says something vaguer. */
static int capr_sniff(struct capr *r)
{
	static const unsigned char zstd_magic[4] = { 0x28, 0xb5, 0x2f, 0xfd };
	static const unsigned char gzip_magic[2] = { 0x1f, 0x8b };
	int ret = capr_read_input(r);
	size_t n = r->in_len;

	if (ret < 0)
		return ret;
	if (ret == 0)
		return capr_fail(r, -ENODATA, "empty file: not a natwho capture");
	if (!memcmp(r->in, zstd_magic, n < 4 ? n : 4)) {
		r->box = CAPR_ZSTD;
		r->zhint = 1; /* the first call says how much the frame header takes */
		r->zd = ZSTD_createDCtx();
		if (!r->zd || ZSTD_isError(ZSTD_DCtx_setParameter(r->zd, ZSTD_d_windowLogMax,
								    CAPR_ZSTD_WLOG_MAX)))
			return capr_fail(r, -ENOMEM, "capture reader: out of memory");
		return 0;
	}
	if (!memcmp(r->in, gzip_magic, n < 2 ? n : 2)) {
		r->box = CAPR_GZIP;
		if (inflateInit2(&r->zs, CAP_GZIP_WBITS) != Z_OK)
			return capr_fail(r, -ENOMEM, "capture reader: out of memory");
		return 0;
	}
	return capr_fail(r, -EILSEQ,
			 "not a natwho capture: neither zstd nor gzip data (no 28 b5 2f fd or 1f 8b at compressed offset 0)");
}

static int capr_start(struct capr *r)
{
	const unsigned char *payload;
	uint32_t type, len;
	uint64_t off;
	int err;

	err = capr_sniff(r);
	if (!err)
		err = capr_preamble(r);
	if (err)
		return err;
	off = r->uoff;
	err = capr_frame(r, &type, &payload, &len);
	if (err)
		return err;
	if (type != CAP_REC_HEADER)
		return capr_bad(r, -EBADMSG, "bad capture", off,
				"first record is type %u, not the header", type);
	err = capr_header(r, payload, len, off);
	if (err)
		return err;
	r->hdr.natwho_version = r->strs[0];
	r->hdr.hostname = r->strs[1];
	r->hdr.kernel = r->strs[2];
	r->hdr.backend = r->strs[3];
	r->hdr.filters = r->strs[4];
	return 0;
}

int capr__open(struct capr **rp, int fd, char *err, size_t errlen)
{
	return capr__open_stoppable(rp, fd, NULL, err, errlen);
}

int capr__open_stoppable(struct capr **rp, int fd, const volatile sig_atomic_t *stop, char *err,
			 size_t errlen)
{
	struct capr *r;
	int ret;

	*rp = NULL;
	r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(err, errlen, "capture reader: out of memory");
		return -ENOMEM;
	}
	r->fd = fd;
	r->stop = stop;
	r->cap = CAPR_BUF_MIN;
	r->buf = malloc(r->cap);
	if (!r->buf) {
		free(r->buf);
		free(r);
		snprintf(err, errlen, "capture reader: out of memory");
		return -ENOMEM;
	}
	ret = capr_start(r);
	if (ret) {
		snprintf(err, errlen, "%s", r->errmsg);
		capr__close(r);
		return ret;
	}
	*rp = r;
	return 0;
}

const struct cap_header *capr__header(const struct capr *r)
{
	return &r->hdr;
}

static int capr_source(struct capr *r, const unsigned char *p, uint32_t len, uint64_t off,
		       struct cap_record *rec)
{
	uint16_t nlen;

	if (len < CAP_SOURCE_FIXED)
		return capr_bad(r, -EBADMSG, "bad source record", off, "%u bytes is too short", len);
	nlen = get_le16(p + 4);
	if (nlen == 0 || nlen > CAP_NAME_MAX || nlen > len - CAP_SOURCE_FIXED)
		return capr_bad(r, -EBADMSG, "bad source record", off, "bad name length %u", nlen);
	capr_copy_str(r->name, p + CAP_SOURCE_FIXED, nlen);
	rec->source.kind = get_le32(p);
	rec->source.name = r->name;
	rec->source.data = p + CAP_SOURCE_FIXED + nlen;
	rec->source.len = len - CAP_SOURCE_FIXED - nlen;
	return 0;
}

static int capr_trailer(struct capr *r, const unsigned char *p, uint32_t len, uint64_t off,
			struct cap_record *rec)
{
	struct cap_trailer *t = &rec->trailer;

	if (len < CAP_TRAILER_LEN)
		return capr_bad(r, -EBADMSG, "bad trailer", off, "%u bytes is too short", len);
	t->events = get_le64(p);
	t->lost = get_le64(p + 8);
	t->undecodable = get_le64(p + 16);
	t->end_ns = get_le64(p + 24);
	if (len >= CAP_TRAILER_JOIN_LEN) {
		t->join = get_le64(p + 32) & 1;
		t->join_missed = get_le64(p + 40);
	}
	if (t->events != r->events)
		return capr_bad(r, -EBADMSG, "bad trailer", off,
				"it counts %llu events but the file holds %llu",
				(unsigned long long)t->events, (unsigned long long)r->events);
	r->done = true;
	return 0;
}

/* One record into @rec: 1, or 0 for a record type this version skips. */
static int capr_dispatch(struct capr *r, uint32_t type, const unsigned char *p, uint32_t len,
			 uint64_t off, struct cap_record *rec)
{
	int err = 0;

	memset(rec, 0, sizeof(*rec));
	rec->type = (enum cap_rec_type)type;
	rec->offset = off;
	switch (type) {
	case CAP_REC_EVENT:
		rec->event.data = p;
		rec->event.size = len;
		r->events++;
		break;
	case CAP_REC_SOURCE:
		err = capr_source(r, p, len, off, rec);
		break;
	case CAP_REC_TRAILER:
		err = capr_trailer(r, p, len, off, rec);
		break;
	case CAP_REC_NOTE:
		if (len < CAP_NOTE_KIND_LEN)
			return capr_bad(r, -EBADMSG, "bad note record", off,
					"%u bytes is too short", len);
		rec->note.kind = get_le32(p);
		rec->note.data = p + CAP_NOTE_KIND_LEN;
		rec->note.len = len - CAP_NOTE_KIND_LEN;
		break;
	case CAP_REC_HEADER:
		return capr_bad(r, -EBADMSG, "corrupted capture", off, "a second header");
	default:
		return 0;
	}
	if (err)
		return err;
	r->records++;
	return 1;
}

int cap_note__untracked(const struct cap_record *rec, struct cap_untracked *u)
{
	const unsigned char *p = rec->note.data;

	if (rec->type != CAP_REC_NOTE || rec->note.kind != CAP_NOTE_UNTRACKED ||
	    rec->note.len < CAP_UNTRACKED_LEN)
		return -EBADMSG;
	u->netns = get_le32(p + CAP_UNTRACKED_NETNS);
	u->family = get_le32(p + CAP_UNTRACKED_FAMILY);
	u->syns = get_le64(p + CAP_UNTRACKED_SYNS);
	u->at_stop = get_le32(p + CAP_UNTRACKED_FLAGS) & 1;
	return u->family > 1 || !u->syns ? -EBADMSG : 0;
}

int cap_note__conntrack(const struct cap_record *rec, struct cap_conntrack *c)
{
	const unsigned char *p = rec->note.data;
	uint64_t any = 0;

	if (rec->type != CAP_REC_NOTE || rec->note.kind != CAP_NOTE_CONNTRACK ||
	    rec->note.len < CAP_CONNTRACK_LEN)
		return -EBADMSG;
	c->netns = get_le32(p + CAP_CONNTRACK_NETNS);
	c->at_stop = get_le32(p + CAP_CONNTRACK_FLAGS) & 1;
	for (int i = 0; i < CT_NCOUNTERS; i++)
		any |= c->said.rise[i] = get_le64(p + CAP_CONNTRACK_RISE + 8 * i);
	c->said.entries = get_le64(p + CAP_CONNTRACK_ENTRIES);
	c->said.max = get_le64(p + CAP_CONNTRACK_MAX);
	return any ? 0 : -EBADMSG;
}

/* After the trailer: the gzip member (its CRC checked) or zstd frame must
 * end, and the file with it. */
static bool capr_regular(int fd)
{
	struct stat st;

	return !fstat(fd, &st) && S_ISREG(st.st_mode);
}

static int capr_finish(struct capr *r)
{
	int ret;

	for (;;) {
		if (r->end > r->pos)
			return capr_bad(r, -EBADMSG, "corrupted capture", r->uoff,
					"data after the trailer");
		if (r->member_end)
			break;
		r->pos = r->end = 0;
		ret = capr_inflate(r);
		if (ret < 0)
			return ret;
		if (ret == 0 && r->data_err)
			return capr_data_fail(r);
		if (ret == 0)
			return capr_fail(r, -ENODATA,
					 "truncated after the trailer: no %s end (the file ends at compressed offset %llu)",
					 capr_box(r), (unsigned long long)r->file_read);
	}
	/* A pipe whose writer stays (`tail -f cap | natwho -r -`) ends here:
	 * what is in it already is looked at, more is not waited for. */
	if (r->in_pos == r->in_len && !r->eof && !capr_regular(r->fd)) {
		struct pollfd p = { .fd = r->fd, .events = POLLIN };

		if (poll(&p, 1, 0) != 1) {
			r->finished = true;
			return 0;
		}
	}
	ret = capr_read_input(r);
	if (ret < 0)
		return ret;
	if (ret > 0) /* `natwho -w - >> f` twice, or anything else: not read */
		return capr_fail(r, -EBADMSG,
				 "data after the end of the capture at compressed offset %llu "
				 "(a second capture appended? one per file)",
				 capr_coff(r));
	r->finished = true;
	return 0;
}

int capr__next(struct capr *r, struct cap_record *rec, char *err, size_t errlen)
{
	const unsigned char *payload;
	uint32_t type, len;
	uint64_t off;
	int ret = 0;

	if (r->done && !r->finished && !r->err)
		capr_finish(r);
	while (!r->err && !r->done && ret == 0) {
		off = r->uoff;
		ret = capr_frame(r, &type, &payload, &len);
		if (!ret)
			ret = capr_dispatch(r, type, payload, len, off, rec);
	}
	if (r->err) {
		snprintf(err, errlen, "%s", r->errmsg);
		return r->err;
	}
	return ret;
}

uint64_t capr__events(const struct capr *r)
{
	return r->events;
}

void capr__close(struct capr *r)
{
	if (!r)
		return;
	if (r->box == CAPR_GZIP)
		inflateEnd(&r->zs);
	ZSTD_freeDCtx(r->zd);
	free(r->buf);
	free(r);
}
