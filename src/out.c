// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <stdarg.h>
#include <string.h>
#include "out.h"

void out__init(struct out *o, FILE *f, enum out_mode mode)
{
	memset(o, 0, sizeof(*o));
	o->f = f;
	o->mode = mode;
}

static bool shown(const struct out *o, enum out_kind k)
{
	if (o->mode == OUT_JSON)
		return k != OUT_TEXT_ONLY;
	return k != OUT_JSON_ONLY;
}

/* Single-threaded writer: the _unlocked stdio calls skip a lock per byte. */
void out__json_string(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s, *run = p;

	putc_unlocked('"', f);
	for (;; p++) {
		unsigned char ch = *p;

		if (ch >= 0x20 && ch != 0x7f && ch != '"' && ch != '\\')
			continue;
		fwrite_unlocked(run, 1, p - run, f); /* the plain run before @p */
		run = p + 1;
		switch (ch) {
		case '\0': putc_unlocked('"', f); return;
		case '"': fputs_unlocked("\\\"", f); break;
		case '\\': fputs_unlocked("\\\\", f); break;
		case '\n': fputs_unlocked("\\n", f); break;
		case '\r': fputs_unlocked("\\r", f); break;
		case '\t': fputs_unlocked("\\t", f); break;
		default: fprintf(f, "\\u%04x", ch);
		}
	}
}

/* Comma and key before a JSON value. */
static void json_key(struct out *o, const char *key)
{
	if (o->need_comma[o->depth])
		putc_unlocked(',', o->f);
	o->need_comma[o->depth] = true;
	if (key) { /* keys are natwho's own identifiers: nothing to escape */
		putc_unlocked('"', o->f);
		fputs_unlocked(key, o->f);
		fputs_unlocked("\":", o->f);
	}
}

void out__obj_open(struct out *o, const char *key)
{
	if (o->mode != OUT_JSON)
		return;
	json_key(o, key);
	putc_unlocked('{', o->f);
	if (o->depth < OUT_MAX_DEPTH - 1)
		o->depth++;
	o->need_comma[o->depth] = false;
}

void out__obj_close(struct out *o)
{
	if (o->mode != OUT_JSON)
		return;
	putc_unlocked('}', o->f);
	if (o->depth > 0)
		o->depth--;
}

void out__record_end(struct out *o)
{
	if (o->mode == OUT_JSON) {
		while (o->depth > 0)
			out__obj_close(o);
		o->need_comma[0] = false;
	}
	putc_unlocked('\n', o->f);
}

void out__str(struct out *o, enum out_kind k, const char *key, const char *fmt, const char *val)
{
	if (!shown(o, k))
		return;
	if (o->mode == OUT_JSON) {
		json_key(o, key);
		if (val)
			out__json_string(o->f, val);
		else
			fputs_unlocked("null", o->f);
	} else if (fmt) {
		fprintf(o->f, fmt, val ? val : "-");
	}
}

/* Decimal without printf's format parsing: numbers are most of a record. */
static void put_u64(FILE *f, uint64_t v)
{
	char b[20];
	int i = sizeof(b);

	do {
		b[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	fwrite_unlocked(b + i, 1, sizeof(b) - i, f);
}

void out__u64(struct out *o, enum out_kind k, const char *key, const char *fmt, uint64_t val)
{
	if (!shown(o, k))
		return;
	if (o->mode == OUT_JSON) {
		json_key(o, key);
		put_u64(o->f, val);
	} else if (fmt) {
		fprintf(o->f, fmt, (unsigned long long)val);
	}
}

void out__i64(struct out *o, enum out_kind k, const char *key, const char *fmt, int64_t val)
{
	if (!shown(o, k))
		return;
	if (o->mode == OUT_JSON) {
		json_key(o, key);
		fprintf(o->f, "%lld", (long long)val);
	} else if (fmt) {
		fprintf(o->f, fmt, (long long)val);
	}
}

void out__f64(struct out *o, enum out_kind k, const char *key, const char *fmt, double val)
{
	if (!shown(o, k))
		return;
	if (o->mode == OUT_JSON) {
		json_key(o, key);
		fprintf(o->f, "%.6f", val);
	} else if (fmt) {
		fprintf(o->f, fmt, val);
	}
}

void out__bool(struct out *o, enum out_kind k, const char *key, const char *fmt, bool val)
{
	if (!shown(o, k))
		return;
	if (o->mode == OUT_JSON) {
		json_key(o, key);
		fputs_unlocked(val ? "true" : "false", o->f);
	} else if (fmt) {
		fprintf(o->f, fmt, val ? "yes" : "no");
	}
}

void out__null(struct out *o, enum out_kind k, const char *key, const char *fmt)
{
	out__str(o, k, key, fmt, NULL);
}

void out__text(struct out *o, const char *fmt, ...)
{
	va_list ap;

	if (o->mode != OUT_TEXT)
		return;
	va_start(ap, fmt);
	vfprintf(o->f, fmt, ap);
	va_end(ap);
}
