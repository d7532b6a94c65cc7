// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include "fmt.h"
#include "out.h"

void out__init(struct out *o, FILE *f, enum out_mode mode)
{
	memset(o, 0, sizeof(*o));
	o->f = f;
	o->mode = mode;
}

/* out__fdopen_stoppable()'s stream: its file and the first error it met. */
struct out_fd {
	FILE *f;
	int fd;
	int err; /* sticky: nothing is written after it */
	const struct out_stop *stop;
	bool guard; /* a write may block (not a regular file): under the guard timer */
	timer_t timer;
	char buf[OUT_FD_BUF];
};

/* The one such stream (natwho's stdout), for out__flush_check(). */
static struct out_fd *out_fd_open;

#define OUT_FD_SLICE_MS 200 /* a wait re-checks the stop this often */
#define OUT_FD_GUARD_SIG (SIGRTMIN + 3)

static uint64_t out_fd_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void out_fd_on_guard(int sig)
{
	(void)sig; /* only to end a blocked write(): no SA_RESTART */
}

/* Arm (@ms > 0) or disarm the guard timer of @o (NULL: none). */
static void out_fd_guard(struct out_fd *o, int ms)
{
	struct itimerspec its = { .it_value = { .tv_sec = ms / 1000,
						.tv_nsec = (long)(ms % 1000) * 1000000 } };

	if (o && o->guard)
		timer_settime(o->timer, 0, &its, NULL);
}

/*
 * Wait until @fd takes bytes: 0 (also when poll() fails: the write says
 * what is wrong), or -ETIMEDOUT once @stop says natwho is ending and the
 * reader took nothing by *@deadline.  *@deadline is the caller's: 0 to
 * start, set here at the first wait that is stopping; the caller resets it
 * to 0 after each write that made progress.  A blocking write restarts
 * after a signal (SA_RESTART), poll() does not; the waits are slices that
 * re-check @stop, so a stop that lands just before one is not missed.
 * Without @stop: as long as it takes.
 */
static int out_wait_room(int fd, const struct out_stop *stop, uint64_t *deadline)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		bool stopping = stop && stop->stopping(stop->ctx);
		uint64_t now = out_fd_now_ms();
		int wait = stop ? OUT_FD_SLICE_MS : -1, r;

		if (stopping && !*deadline)
			*deadline = now + (uint64_t)stop->stall_ms;
		if (stopping && now >= *deadline)
			return -ETIMEDOUT;
		if (stopping && *deadline - now < (uint64_t)wait)
			wait = (int)(*deadline - now);
		r = poll(&p, 1, wait);
		if (r > 0 || (r < 0 && errno != EINTR))
			return 0;
		/* a signal or a slice: check the stop and the deadline again */
	}
}

int out__wait_input(int fd, const volatile sig_atomic_t *stop)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		/* stopped: only what is there already (a file always is) */
		int r = poll(&p, 1, *stop ? 0 : OUT_FD_SLICE_MS);

		if (r > 0 || (r < 0 && errno != EINTR))
			return 0; /* the read says what it is */
		if (*stop)
			return -EINTR;
		/* a signal or a slice: check the stop again */
	}
}

/* out__write_all(), counting in *@done what got through; @guard: the
 * stream whose timer ends a write that blocks all the same (NULL: none). */
static int out_write_all(int fd, const char *buf, size_t n, const struct out_stop *stop,
			 struct out_fd *guard, size_t *done)
{
	uint64_t deadline = 0;

	*done = 0;
	while (*done < n) {
		int err = out_wait_room(fd, stop, &deadline);
		ssize_t w;

		if (err)
			return err;
		out_fd_guard(guard, OUT_FD_SLICE_MS);
		w = write(fd, buf + *done, n - *done);
		out_fd_guard(guard, 0);
		if (w < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
			continue; /* EAGAIN: a reader sharing a non-blocking pipe took the room */
		if (w < 0)
			return -errno;
		*done += (size_t)w;
		deadline = 0; /* progress: a slow reader is not a stalled one */
	}
	return 0;
}

int out__write_all(int fd, const void *buf, size_t n, const struct out_stop *stop)
{
	size_t done;

	return out_write_all(fd, buf, n, stop, NULL, &done);
}

/*
 * Write all of @buf, or fail with o->err: the reader went away (EPIPE), or,
 * once stopping, it took nothing for stall_ms (ETIMEDOUT).
 */
static ssize_t out_fd_write(void *cookie, const char *buf, size_t n)
{
	struct out_fd *o = cookie;
	size_t done = 0;

	if (!o->err) {
		int err = out_write_all(o->fd, buf, n, o->stop, o, &done);

		o->err = -err;
	}
	if (done < n)
		errno = o->err;
	/* a short count sets the stream's error flag (never -1: glibc's fwrite
	 * would take it for a huge count) */
	return (ssize_t)done;
}

static int out_fd_close(void *cookie)
{
	struct out_fd *o = cookie;

	if (out_fd_open == o)
		out_fd_open = NULL;
	if (o->guard)
		timer_delete(o->timer);
	free(o);
	return 0;
}

FILE *out__fdopen_stoppable(int fd, const struct out_stop *stop)
{
	cookie_io_functions_t io = { .write = out_fd_write, .close = out_fd_close };
	struct out_fd *o = calloc(1, sizeof(*o));
	struct sigevent sev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = OUT_FD_GUARD_SIG };
	struct sigaction sa = { .sa_handler = out_fd_on_guard }; /* no SA_RESTART */
	struct stat st;

	if (!o)
		return NULL;
	o->fd = fd;
	o->stop = stop;
	/* A regular file's write never waits for a reader. */
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		sigemptyset(&sa.sa_mask);
		o->guard = !sigaction(OUT_FD_GUARD_SIG, &sa, NULL) &&
			   !timer_create(CLOCK_MONOTONIC, &sev, &o->timer);
	}
	o->f = fopencookie(o, "w", io);
	if (!o->f) {
		if (o->guard)
			timer_delete(o->timer);
		free(o);
		return NULL;
	}
	/* stdio ignores the size without a buffer of the caller's */
	setvbuf(o->f, o->buf, isatty(fd) ? _IOLBF : _IOFBF, sizeof(o->buf));
	out_fd_open = o;
	return o->f;
}

bool out__gave_up(const FILE *f)
{
	return out_fd_open && out_fd_open->f == f && out_fd_open->err == ETIMEDOUT;
}

int out__flush_check(FILE *f, char *why, size_t len)
{
	struct out_fd *ofd = out_fd_open && out_fd_open->f == f ? out_fd_open : NULL;
	struct pollfd p = { .fd = ofd ? ofd->fd : fileno(f), .events = POLLOUT };
	int e;

	errno = 0;
	if (fflush(f) != EOF && !ferror(f))
		return 0;
	/* stdio keeps no errno: a write that failed earlier (stdout's buffer
	 * filled up mid-record) left only the error flag.  A pipe whose reader
	 * is gone polls as POLLERR. */
	e = ofd && ofd->err ? ofd->err : errno;
	if (!e)
		e = p.fd >= 0 && poll(&p, 1, 0) == 1 && (p.revents & POLLERR) ? EPIPE : EIO;
	if (e == ETIMEDOUT && ofd)
		snprintf(why, len,
			 "the reader of the output took nothing for %d.%d s while natwho was "
			 "ending: the rest of the output is not written",
			 ofd->stop->stall_ms / 1000, ofd->stop->stall_ms % 1000 / 100);
	else if (e == EIO && !errno)
		snprintf(why, len, "writing output failed (disk full?)");
	else
		snprintf(why, len, "writing output failed: %s", strerror(e));
	return e;
}

static void ob_flush(struct out *o)
{
	if (o->len)
		fwrite_unlocked(o->buf, 1, o->len, o->f);
	o->flushed += o->len;
	o->len = 0;
}

static void ob_write(struct out *o, const void *p, size_t n)
{
	if (o->len + n > sizeof(o->buf)) {
		ob_flush(o);
		if (n > sizeof(o->buf)) {
			fwrite_unlocked(p, 1, n, o->f);
			o->flushed += n;
			return;
		}
	}
	memcpy(o->buf + o->len, p, n);
	o->len += n;
}

static void ob_putc(struct out *o, char c)
{
	if (o->len == sizeof(o->buf))
		ob_flush(o);
	o->buf[o->len++] = c;
}

static void ob_puts(struct out *o, const char *s)
{
	ob_write(o, s, strlen(s));
}

static void ob_vprintf(struct out *o, const char *fmt, va_list ap)
{
	size_t room = sizeof(o->buf) - o->len;
	va_list again;
	int n;

	va_copy(again, ap);
	n = fmt__vsnprintf(o->buf + o->len, room, fmt, ap);
	if (n >= 0 && (size_t)n < room) {
		o->len += n;
	} else if (n >= 0) { /* did not fit: flush, and write it directly if still too long */
		ob_flush(o);
		if ((size_t)n < sizeof(o->buf)) {
			o->len = fmt__vsnprintf(o->buf, sizeof(o->buf), fmt, again);
		} else {
			vfprintf(o->f, fmt, again);
			o->flushed += (size_t)n;
		}
	}
	va_end(again);
}

static void __attribute__((format(printf, 2, 3))) ob_printf(struct out *o, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ob_vprintf(o, fmt, ap);
	va_end(ap);
}

static bool shown(const struct out *o, enum out_kind k)
{
	if (o->mode == OUT_JSON)
		return k != OUT_TEXT_ONLY;
	return k != OUT_JSON_ONLY;
}

/* The bytes that go into a JSON string as they are (NUL is not one; nor
 * are bytes >= 0x80: only well-formed UTF-8 is copied, json_escape()). */
static const bool json_plain_byte[256] = {
	[0x20 ... 0x21] = true, /* 0x22 '"' */
	[0x23 ... 0x5b] = true, /* 0x5c '\\' */
	[0x5d ... 0x7e] = true, /* 0x7f DEL */
};

static inline bool json_plain(unsigned char ch)
{
	return json_plain_byte[ch];
}

/*
 * Write @s as the inside of a JSON string literal through @emit: plain runs
 * and well-formed UTF-8 in one piece, escapes in between.  A byte that is
 * not part of well-formed UTF-8 (a comm the kernel cut inside a character,
 * a name in another encoding) becomes U+FFFD: JSON is UTF-8, and a strict
 * reader rejects the whole record otherwise.
 */
static void json_escape(const char *s, void (*emit)(void *, const char *, size_t), void *ctx)
{
	const char *run = s;
	char esc[8];

	for (const char *p = s;; p++) {
		unsigned char ch = (unsigned char)*p;
		size_t u;

		if (json_plain(ch))
			continue;
		if (ch >= 0x80 && (u = fmt__utf8_len((const unsigned char *)p))) {
			p += u - 1;
			continue;
		}
		emit(ctx, run, p - run);
		run = p + 1;
		if (!ch)
			return;
		switch (ch) {
		case '"': emit(ctx, "\\\"", 2); break;
		case '\\': emit(ctx, "\\\\", 2); break;
		case '\n': emit(ctx, "\\n", 2); break;
		case '\r': emit(ctx, "\\r", 2); break;
		case '\t': emit(ctx, "\\t", 2); break;
		default:
			if (ch >= 0x80)
				emit(ctx, "\\ufffd", 6);
			else
				emit(ctx, esc, snprintf(esc, sizeof(esc), "\\u%04x", ch));
		}
	}
}

static void emit_file(void *f, const char *p, size_t n)
{
	fwrite_unlocked(p, 1, n, f);
}

static void emit_buf(void *o, const char *p, size_t n)
{
	ob_write(o, p, n);
}

void out__json_string(FILE *f, const char *s)
{
	putc_unlocked('"', f);
	json_escape(s, emit_file, f);
	putc_unlocked('"', f);
}

static void ob_json_string(struct out *o, const char *s)
{
	size_t n = 0;

	/* Four at a time; && stops at the first byte that is not plain (NUL is
	 * not), so nothing past the string is read. */
	while (json_plain((unsigned char)s[n]) && json_plain((unsigned char)s[n + 1]) &&
	       json_plain((unsigned char)s[n + 2]) && json_plain((unsigned char)s[n + 3]))
		n += 4;
	while (json_plain((unsigned char)s[n]))
		n++;
	if (!s[n] && n + 2 <= sizeof(o->buf)) { /* nothing to escape: one copy */
		if (o->len + n + 2 > sizeof(o->buf))
			ob_flush(o);
		o->buf[o->len] = '"';
		memcpy(o->buf + o->len + 1, s, n);
		o->buf[o->len + n + 1] = '"';
		o->len += n + 2;
		return;
	}
	ob_putc(o, '"');
	json_escape(s, emit_buf, o);
	ob_putc(o, '"');
}

/* Comma and key before a JSON value, written straight into the buffer: a
 * record is mostly keys (about fifty), so one room check and one copy per
 * key.  Keys are natwho's own identifiers: nothing to escape. */
static void json_key(struct out *o, const char *key, size_t n)
{
	char *p;

	if (o->len + 1 + 1 + n + 2 > sizeof(o->buf)) {
		ob_flush(o);
		if (1 + 1 + n + 2 > sizeof(o->buf)) { /* never for natwho's keys */
			if (o->need_comma[o->depth])
				ob_putc(o, ',');
			o->need_comma[o->depth] = true;
			ob_putc(o, '"');
			ob_write(o, key, n);
			ob_write(o, "\":", 2);
			return;
		}
	}
	p = o->buf + o->len;
	if (o->need_comma[o->depth])
		*p++ = ',';
	o->need_comma[o->depth] = true;
	if (key) {
		*p++ = '"';
		memcpy(p, key, n);
		p += n;
		*p++ = '"';
		*p++ = ':';
	}
	o->len = (size_t)(p - o->buf);
}

void out__obj_open_n(struct out *o, const char *key, size_t key_len)
{
	if (o->mode != OUT_JSON)
		return;
	json_key(o, key, key_len);
	ob_putc(o, '{');
	if (o->depth < OUT_MAX_DEPTH - 1)
		o->depth++;
	o->need_comma[o->depth] = false;
}

void out__obj_close(struct out *o)
{
	if (o->mode != OUT_JSON)
		return;
	ob_putc(o, '}');
	if (o->depth > 0)
		o->depth--;
}

void out__flush(struct out *o)
{
	ob_flush(o);
}

void out__frag_begin(struct out *o, struct out_frag *f)
{
	f->valid = false;
	f->mode = o->mode;
	f->depth = o->depth;
	f->comma_before = o->need_comma[o->depth];
	f->start = o->flushed + o->len;
}

void out__frag_end(struct out *o, struct out_frag *f)
{
	uint64_t end = o->flushed + o->len;

	if (o->mode != f->mode || o->depth != f->depth || f->start < o->flushed ||
	    end - f->start > sizeof(f->buf))
		return;
	f->len = (size_t)(end - f->start);
	memcpy(f->buf, o->buf + (f->start - o->flushed), f->len);
	f->comma_after = o->need_comma[o->depth];
	f->valid = true;
}

bool out__frag_put(struct out *o, const struct out_frag *f)
{
	if (!f->valid || o->mode != f->mode || o->depth != f->depth ||
	    o->need_comma[o->depth] != f->comma_before)
		return false;
	ob_write(o, f->buf, f->len);
	o->need_comma[o->depth] = f->comma_after;
	return true;
}

void out__record_end(struct out *o)
{
	if (o->mode == OUT_JSON) {
		while (o->depth > 0)
			out__obj_close(o);
		o->need_comma[0] = false;
	}
	ob_putc(o, '\n');
	ob_flush(o);
}

/*
 * Text columns: nearly every text format is "%-Ns TAIL" or "%-Nllu TAIL"
 * (TAIL literal).  Returns TAIL and sets *@width and *@tail_len for such a
 * @fmt with conversion @conv, else NULL (then the formatter does it).  No
 * library calls: it runs for every column of every line.
 */
static const char *column_fmt(const char *fmt, const char *conv, int *width, size_t *tail_len)
{
	const char *p = fmt + 2, *tail;
	int w = 0;

	if (fmt[0] != '%' || fmt[1] != '-')
		return NULL;
	for (; *p >= '0' && *p <= '9' && w < 1000; p++)
		w = w * 10 + (*p - '0');
	for (; *conv; conv++, p++)
		if (*p != *conv)
			return NULL;
	for (tail = p; *p; p++)
		if (*p == '%')
			return NULL;
	*width = w;
	*tail_len = (size_t)(p - tail);
	return tail;
}

/* @s (@n bytes) padded to @width, then @tail (@t bytes). */
static void text_col(struct out *o, const char *s, size_t n, int width, const char *tail, size_t t)
{
	size_t pad = width > (int)n ? (size_t)width - n : 0;
	char *d;

	if (n + pad + t > sizeof(o->buf)) { /* never for natwho's columns */
		ob_write(o, s, n);
		while (pad--)
			ob_putc(o, ' ');
		ob_write(o, tail, t);
		return;
	}
	if (o->len + n + pad + t > sizeof(o->buf))
		ob_flush(o);
	d = o->buf + o->len;
	memcpy(d, s, n);
	memset(d + n, ' ', pad);
	memcpy(d + n + pad, tail, t);
	o->len += n + pad + t;
}

void out__text_col_n(struct out *o, const char *s, size_t n, int width, const char *tail,
		     size_t t)
{
	if (o->mode == OUT_TEXT)
		text_col(o, s, n, width, tail, t);
}

void out__text_str(struct out *o, const char *s)
{
	if (o->mode == OUT_TEXT)
		text_col(o, s, strlen(s), 0, "", 0);
}

void out__str_n(struct out *o, enum out_kind k, const char *key, size_t key_len, const char *fmt,
		const char *val)
{
	if (!shown(o, k))
		return;
	if (o->mode == OUT_JSON) {
		json_key(o, key, key_len);
		if (val)
			ob_json_string(o, val);
		else
			ob_write(o, "null", 4);
	} else if (fmt) {
		const char *tail, *v = val ? val : "-";
		size_t t;
		int w;

		if ((tail = column_fmt(fmt, "s", &w, &t)))
			text_col(o, v, strlen(v), w, tail, t);
		else
			ob_printf(o, fmt, v);
	}
}

/* Decimal without printf's format parsing: numbers are most of a record. */
static void put_u64(struct out *o, uint64_t v)
{
	char b[FMT_U64_LEN];
	size_t n = fmt__u64(b, v);

	ob_write(o, b + sizeof(b) - n, n);
}

void out__u64_n(struct out *o, enum out_kind k, const char *key, size_t key_len, const char *fmt,
		uint64_t val)
{
	if (!shown(o, k))
		return;
	if (o->mode == OUT_JSON) {
		json_key(o, key, key_len);
		put_u64(o, val);
	} else if (fmt) {
		char b[FMT_U64_LEN];
		const char *tail;
		size_t n, t;
		int w;

		if (!(tail = column_fmt(fmt, "llu", &w, &t))) {
			ob_printf(o, fmt, (unsigned long long)val);
			return;
		}
		n = fmt__u64(b, val);
		text_col(o, b + sizeof(b) - n, n, w, tail, t);
	}
}

void out__json_members(struct out *o, const char *p, size_t n)
{
	json_key(o, NULL, 0);
	ob_write(o, p, n);
}

void out__json_raw(struct out *o, const char *p, size_t n)
{
	ob_write(o, p, n);
}

void out__json_raw_u64(struct out *o, uint64_t v)
{
	put_u64(o, v);
}

void out__i64_n(struct out *o, enum out_kind k, const char *key, size_t key_len, const char *fmt,
		int64_t val)
{
	if (!shown(o, k))
		return;
	if (o->mode == OUT_JSON) {
		json_key(o, key, key_len);
		ob_printf(o, "%lld", (long long)val);
	} else if (fmt) {
		ob_printf(o, fmt, (long long)val);
	}
}

void out__f64_n(struct out *o, enum out_kind k, const char *key, size_t key_len, const char *fmt,
		double val)
{
	if (!shown(o, k))
		return;
	if (o->mode == OUT_JSON) {
		json_key(o, key, key_len);
		ob_printf(o, "%.6f", val);
	} else if (fmt) {
		ob_printf(o, fmt, val);
	}
}

void out__bool_n(struct out *o, enum out_kind k, const char *key, size_t key_len, const char *fmt,
		 bool val)
{
	if (!shown(o, k))
		return;
	if (o->mode == OUT_JSON) {
		json_key(o, key, key_len);
		ob_puts(o, val ? "true" : "false");
	} else if (fmt) {
		ob_printf(o, fmt, val ? "yes" : "no");
	}
}


void out__text(struct out *o, const char *fmt, ...)
{
	va_list ap;

	if (o->mode != OUT_TEXT)
		return;
	va_start(ap, fmt);
	ob_vprintf(o, fmt, ap);
	va_end(ap);
}
