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

void out__json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

/* Comma and key before a JSON value. */
static void json_key(struct out *o, const char *key)
{
	if (o->need_comma[o->depth])
		fputc(',', o->f);
	o->need_comma[o->depth] = true;
	if (key) {
		out__json_string(o->f, key);
		fputc(':', o->f);
	}
}

void out__obj_open(struct out *o, const char *key)
{
	if (o->mode != OUT_JSON)
		return;
	json_key(o, key);
	fputc('{', o->f);
	if (o->depth < OUT_MAX_DEPTH - 1)
		o->depth++;
	o->need_comma[o->depth] = false;
}

void out__obj_close(struct out *o)
{
	if (o->mode != OUT_JSON)
		return;
	fputc('}', o->f);
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
	fputc('\n', o->f);
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
			fputs("null", o->f);
	} else if (fmt) {
		fprintf(o->f, fmt, val ? val : "-");
	}
}

void out__u64(struct out *o, enum out_kind k, const char *key, const char *fmt, uint64_t val)
{
	if (!shown(o, k))
		return;
	if (o->mode == OUT_JSON) {
		json_key(o, key);
		fprintf(o->f, "%llu", (unsigned long long)val);
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
		fputs(val ? "true" : "false", o->f);
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
