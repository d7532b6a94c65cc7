/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * One writer for text and JSON, after iproute2's print_*(PRINT_ANY, ...):
 * a field printed with OUT_ANY shows up in both forms, so they cannot drift.
 * In text mode @fmt formats the value (NULL: not shown in text); in JSON mode
 * @key names it (NULL: not shown in JSON).  JSON output is one object per
 * line.
 */
#ifndef NW_OUT_H
#define NW_OUT_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum out_mode { OUT_TEXT, OUT_JSON };
enum out_kind { OUT_ANY, OUT_TEXT_ONLY, OUT_JSON_ONLY };

#define OUT_MAX_DEPTH 8
#define OUT_BUF_SIZE 8192

/*
 * A record is assembled in @buf and handed to stdio in one write at
 * out__record_end() (or when it does not fit): a stdio call per key and value
 * cost more than the formatting itself.
 */
struct out {
	FILE *f;
	enum out_mode mode;
	int depth;
	bool need_comma[OUT_MAX_DEPTH];
	size_t len;
	uint64_t flushed; /* bytes handed to stdio before buf[0] */
	char buf[OUT_BUF_SIZE];
};

/*
 * A piece of a JSON record kept to be written again: the part of a record
 * that is the same for a run of records (the k8s object) is copied instead
 * of formatted.  It is written again only where the record stands as it did
 * (same depth, same comma state), so the bytes are what formatting gives.
 */
#define OUT_FRAG_SIZE 2048

struct out_frag {
	bool valid;
	bool comma_before, comma_after;
	enum out_mode mode; /* put back only in the form it was written in */
	int depth;
	uint64_t start;
	size_t len;
	char buf[OUT_FRAG_SIZE];
};

void out__init(struct out *o, FILE *f, enum out_mode mode);
void out__obj_close(struct out *o);
/* Top-level record end: closes the JSON object, ends the line, writes it. */
void out__record_end(struct out *o);
/* Hand what is pending to stdio without ending the record. */
void out__flush(struct out *o);

/* Keep what is written between these two as @f (JSON or text; not kept when
 * it is longer than OUT_FRAG_SIZE, went to stdio in between, or changed
 * depth). */
void out__frag_begin(struct out *o, struct out_frag *f);
void out__frag_end(struct out *o, struct out_frag *f);
/* Write @f again; false (nothing written) where it would not be the same. */
bool out__frag_put(struct out *o, const struct out_frag *f);

/*
 * Fields.  The key's length is taken where the call is written, so that for
 * a literal key (nearly all of them: a record is mostly keys) it is a
 * constant instead of a strlen() per key per record.
 */
#define OUT_KEY_LEN(key) ((key) ? __builtin_strlen(key) : 0)
void out__str_n(struct out *o, enum out_kind k, const char *key, size_t key_len, const char *fmt,
		const char *val);
void out__u64_n(struct out *o, enum out_kind k, const char *key, size_t key_len, const char *fmt,
		uint64_t val);
void out__i64_n(struct out *o, enum out_kind k, const char *key, size_t key_len, const char *fmt,
		int64_t val);
void out__f64_n(struct out *o, enum out_kind k, const char *key, size_t key_len, const char *fmt,
		double val);
void out__bool_n(struct out *o, enum out_kind k, const char *key, size_t key_len, const char *fmt,
		 bool val);
void out__obj_open_n(struct out *o, const char *key, size_t key_len);

/* out__str(), out__u64(), ...: out__TYPE_n() with the key's length. */
#define OUT_FIELD(name, type)                                                              \
	static inline void out__##name(struct out *o, enum out_kind k, const char *key,    \
				       const char *fmt, type val)                          \
	{                                                                                  \
		out__##name##_n(o, k, key, OUT_KEY_LEN(key), fmt, val);                    \
	}
OUT_FIELD(str, const char *)
OUT_FIELD(u64, uint64_t)
OUT_FIELD(i64, int64_t)
OUT_FIELD(f64, double)
OUT_FIELD(bool, bool)
#undef OUT_FIELD

/* JSON null; text prints @fmt with "-" */
static inline void out__null(struct out *o, enum out_kind k, const char *key, const char *fmt)
{
	out__str_n(o, k, key, OUT_KEY_LEN(key), fmt, NULL);
}

/* Objects: a NULL key opens the top-level record (or an array element). */
static inline void out__obj_open(struct out *o, const char *key)
{
	out__obj_open_n(o, key, OUT_KEY_LEN(key));
}

/* Text only: @s (@n bytes), padded with spaces to @width, then @tail (@t
 * bytes). */
void out__text_col_n(struct out *o, const char *s, size_t n, int width, const char *tail,
		     size_t t);
/* The same for strings (a literal @tail's length is a constant here). */
static inline void out__text_col(struct out *o, const char *s, int width, const char *tail)
{
	if (o->mode == OUT_TEXT)
		out__text_col_n(o, s, __builtin_strlen(s), width, tail, __builtin_strlen(tail));
}
/* Text only: @s as it is. */
void out__text_str(struct out *o, const char *s);
/* Text only, printf-style. */
void out__text(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * JSON only: members the caller formatted itself, written as they are:
 * out__json_members() starts them (@p from the first key on; the comma
 * before it where one is due), out__json_raw() and out__json_raw_u64()
 * continue them.  The caller answers for well-formed JSON that leaves the
 * object as open as it found it.
 */
void out__json_members(struct out *o, const char *p, size_t n);
void out__json_raw(struct out *o, const char *p, size_t n);
void out__json_raw_u64(struct out *o, uint64_t v);
/* Write @s as a JSON string literal (quotes and escapes) to @f. */
void out__json_string(FILE *f, const char *s);

/*
 * Flush @f and say whether everything written to it got through: 0; EPIPE
 * when its reader went away (a closed pipe ends natwho quietly); another
 * errno after a one-line description into @why (EIO when stdio kept none:
 * a full disk, usually).
 */
int out__flush_check(FILE *f, char *why, size_t len);

/*
 * When a writer may give up a reader that stopped reading: once
 * @stopping(@ctx) says natwho is ending, after @stall_ms in which the
 * reader took no byte.  A reader that is only slow gets everything.
 */
struct out_stop {
	bool (*stopping)(void *ctx);
	void *ctx;
	int stall_ms;
};

/*
 * Write all of @buf to @fd (blocking or not): 0, or -errno: EPIPE when the
 * reader went away, and with @stop, -ETIMEDOUT once natwho is ending and
 * the reader took nothing for stop->stall_ms (counted from its last bytes,
 * so a slow reader still gets everything).  Room is waited for in poll()
 * slices that re-check @stop, so a stop that lands just before one is not
 * missed.  Without @stop it waits as long as it takes.
 */
int out__write_all(int fd, const void *buf, size_t n, const struct out_stop *stop);

/*
 * The reading side: wait until @fd has input, or an error or hang-up for
 * the read() after it to tell (0), or -EINTR once *@stop is set (a stop
 * signal) and @fd has nothing to read (a file always has: it is read on).
 * A read that waits is restarted after a signal (SA_RESTART), poll() is
 * not; the waits are slices that re-check @stop, so a stop that lands just
 * before one is not missed.  For the inputs natwho reads whole (`--k8s -`,
 * `-r -`) from a pipe or a terminal.
 */
int out__wait_input(int fd, const volatile sig_atomic_t *stop);

/*
 * @fd (natwho's stdout) as a stdio stream that a stop can get out of: every
 * write goes through out__write_all(), and a write that blocks all the
 * same (another writer having taken the room) is ended by a timer signal,
 * SIGRTMIN+3, whose handler does not restart it.  Once it has given up,
 * out__flush_check() says so (ETIMEDOUT), out__gave_up() is true, and
 * everything written after that is dropped at once.  Buffered by line on a
 * terminal, else by OUT_FD_BUF bytes.  @stop must outlive the stream.  NULL
 * with errno when stdio cannot make one.
 */
#define OUT_FD_BUF (64 * 1024)
FILE *out__fdopen_stoppable(int fd, const struct out_stop *stop);
/* Did @f (out__fdopen_stoppable()'s) give its reader up? */
bool out__gave_up(const FILE *f);

#endif
