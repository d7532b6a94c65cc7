// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer harness for the capture reader.  The first input byte picks
 * what the rest is, so the fuzzer reaches the record parser and not only
 * inflate's error paths:
 *   0: the capture file's bytes, as is
 *   1: an uncompressed capture stream, gzipped here (ended)
 *   2: an uncompressed capture stream, gzipped here with only a sync flush,
 *      as a recorder killed after capw__flush() leaves it
 *   3: like 1, but the harness first writes correct CRCs into every frame,
 *      so mutations reach the header, source and trailer parsers
 *   4, 5: like 1 and 2 in zstd (the container natwho writes; 0-3 are
 *      gzip, which it wrote up to 2026-11 and still reads)
 * Seeds: tests/fuzz/corpus/capfile (`test_capfile --write-fixtures`).
 * Run: build/fuzz/fuzz_capfile -max_total_time=60 tests/fuzz/corpus/capfile
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>
#include "capfile.h"
#include "conn.h"

static unsigned char *gzip_stream(const uint8_t *p, size_t n, int flush, size_t *outlen)
{
	z_stream zs = { 0 };
	unsigned char *out;
	size_t cap;

	if (deflateInit2(&zs, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		abort();
	cap = deflateBound(&zs, n) + 64;
	out = malloc(cap);
	if (!out)
		abort();
	zs.next_in = (unsigned char *)p;
	zs.avail_in = (uInt)n;
	zs.next_out = out;
	zs.avail_out = (uInt)cap;
	if (deflate(&zs, flush) != (flush == Z_FINISH ? Z_STREAM_END : Z_OK))
		abort();
	*outlen = cap - zs.avail_out;
	deflateEnd(&zs);
	return out;
}

static unsigned char *zstd_stream(const uint8_t *p, size_t n, bool end, size_t *outlen)
{
	size_t cap = ZSTD_compressBound(n) + 64;
	unsigned char *out = malloc(cap);
	ZSTD_CCtx *c = ZSTD_createCCtx();
	ZSTD_inBuffer in = { p, n, 0 };
	ZSTD_outBuffer o = { out, cap, 0 };

	if (!out || !c || ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, 1)) ||
	    ZSTD_compressStream2(c, &o, &in, end ? ZSTD_e_end : ZSTD_e_flush) != 0)
		abort();
	*outlen = o.pos;
	ZSTD_freeCCtx(c);
	return out;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le32(const uint8_t *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Frames after the 12-byte preamble: le32 type, le32 len, le32 crc, payload. */
static void fix_crcs(uint8_t *p, size_t n)
{
	size_t off = 12;

	while (off <= n && n - off >= 12) {
		uint32_t len = get_le32(p + off + 4);
		uLong crc = crc32(0L, p + off, 8);

		if (len > n - off - 12)
			break;
		put_le32(p + off + 8, (uint32_t)crc32(crc, p + off + 12, len));
		off += 12 + (size_t)len;
	}
}

/*
 * Use what the reader returns, so ASan sees any bad pointer or length, and
 * decode events with the header's (fuzzed) clock offset, as replay does.
 */
static void consume(const struct cap_record *rec, int64_t boot_to_real_ns)
{
	volatile unsigned sum = 0;
	struct conn c;

	switch (rec->type) {
	case CAP_REC_EVENT:
		conn__decode(rec->event.data, rec->event.size, boot_to_real_ns, "fuzz", &c);
		for (uint32_t i = 0; i < rec->event.size; i++)
			sum += ((const uint8_t *)rec->event.data)[i];
		break;
	case CAP_REC_SOURCE:
		sum += (unsigned)strlen(rec->source.name);
		for (size_t i = 0; i < rec->source.len; i++)
			sum += ((const uint8_t *)rec->source.data)[i];
		break;
	case CAP_REC_NOTE: { /* as replay reads them */
		struct cap_untracked u;

		for (size_t i = 0; i < rec->note.len; i++)
			sum += ((const uint8_t *)rec->note.data)[i];
		if (!cap_note__untracked(rec, &u) && (u.family > 1 || !u.syns))
			abort();
		break;
	}
	default:
		break;
	}
}

static void read_capture(int fd, size_t ulen_max)
{
	const struct cap_header *h;
	struct cap_record rec;
	char err[256];
	struct capr *r;
	size_t n = 0;
	int ret;

	if (capr__open(&r, fd, err, sizeof(err))) {
		if (r || !err[0])
			abort();
		return;
	}
	h = capr__header(r);
	if (strlen(h->hostname) > CAP_STR_MAX || strlen(h->filters) > CAP_STR_MAX)
		abort();
	while ((ret = capr__next(r, &rec, err, sizeof(err))) == 1) {
		consume(&rec, h->boot_to_real_ns);
		/* every record costs at least its 12-byte frame */
		if (++n > ulen_max / 12 + 1)
			abort();
	}
	if ((ret < 0 && !err[0]) || capr__next(r, &rec, err, sizeof(err)) != ret)
		abort(); /* errors need a message; end and errors are sticky */
	capr__close(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	unsigned char *file = NULL;
	uint8_t *stream = NULL;
	size_t len, ulen_max;

	if (size < 1)
		return 0;
	if (fd < 0 && (fd = memfd_create("fuzz_capfile", 0)) < 0)
		abort();
	switch (data[0] % 6) {
	case 0:
		len = size - 1;
		ulen_max = SIZE_MAX - 1;
		break;
	case 3:
		stream = malloc(size); /* >= 1: never malloc(0) */
		if (!stream)
			abort();
		memcpy(stream, data + 1, size - 1);
		fix_crcs(stream, size - 1);
		file = gzip_stream(stream, size - 1, Z_FINISH, &len);
		ulen_max = size - 1;
		break;
	case 4:
	case 5:
		file = zstd_stream(data + 1, size - 1, data[0] % 6 == 4, &len);
		ulen_max = size - 1;
		break;
	default:
		file = gzip_stream(data + 1, size - 1, data[0] % 6 == 1 ? Z_FINISH : Z_SYNC_FLUSH,
				   &len);
		ulen_max = size - 1;
		break;
	}
	if (ftruncate(fd, 0) || pwrite(fd, file ? file : data + 1, len, 0) != (ssize_t)len ||
	    lseek(fd, 0, SEEK_SET) != 0)
		abort();
	read_capture(fd, ulen_max);
	free(stream);
	free(file);
	return 0;
}
