// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* JSON documents for kindex (nft -j, kubectl -o json), parsed with json-c,
 * with errors that name the source and the line:column and byte offset. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <json-c/json.h>
#include "k8s_int.h"

#define KJSON_MAX_DEPTH 64

static void kjson__where(const char *data, size_t off, unsigned *line, unsigned *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off; i++) {
		if (data[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

static int kjson__fail(struct kindex *idx, const char *data, size_t off, const char *what,
		       char *errbuf, size_t errlen)
{
	unsigned line, col;

	kjson__where(data, off, &line, &col);
	snprintf(errbuf, errlen, "%s:%u:%u: %s (byte %zu)", idx->src_name, line, col, what, off);
	return -EBADMSG;
}

/* JSON's whitespace, as json-c takes it */
static bool kjson__ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool kjson__blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!kjson__ws(s[i]))
			return false;
	return true;
}

/*
 * json-c 0.17 and later say when they could not allocate
 * (json_tokener_error_memory); before, a failed allocation in the tokener
 * comes out as a parse error or as no object without one (kj_read_items()).
 * The error's value moved in 0.18 under the same soname: a natwho built
 * against 0.17's header and run with 0.18 does not recognise it (then a
 * parse error, as before 0.17).
 */
static bool kjson__no_memory(enum json_tokener_error jerr)
{
#if JSON_C_VERSION_NUM >= (17 << 8)
	return jerr == json_tokener_error_memory;
#else
	(void)jerr;
	return false;
#endif
}

/* json-c refused @data with @jerr, its parse ending at @data[@end]: -EBADMSG
 * and the place, or -ENOMEM (nothing said: the document may be good). */
static int kjson__refuse(struct kindex *idx, const char *data, enum json_tokener_error jerr,
			 size_t end, char *errbuf, size_t errlen)
{
	char what[128];

	if (kjson__no_memory(jerr))
		return -ENOMEM;
	snprintf(what, sizeof(what), "not JSON: %s",
		 jerr != json_tokener_success ? json_tokener_error_desc(jerr) : "no value");
	return kjson__fail(idx, data, end ? end - 1 : 0, what, errbuf, errlen);
}

int kjson__parse(struct kindex *idx, const char *data, size_t len, struct json_object **out,
		 char *errbuf, size_t errlen)
{
	struct json_tokener *tok;
	struct json_object *obj;
	enum json_tokener_error jerr;
	size_t end;

	*out = NULL;
	if (kjson__blank(data, len)) {
		snprintf(errbuf, errlen, "%s: empty document, expected JSON", idx->src_name);
		return -EBADMSG;
	}
	if (len > INT32_MAX)
		return -E2BIG;
	tok = json_tokener_new_ex(KJSON_MAX_DEPTH);
	if (!tok)
		return -ENOMEM;
	obj = json_tokener_parse_ex(tok, data, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (jerr == json_tokener_continue) {
		json_object_put(obj);
		return kjson__fail(idx, data, len, "unexpected end of input, truncated?", errbuf,
				   errlen);
	}
	if (jerr != json_tokener_success || !obj) {
		json_object_put(obj);
		return kjson__refuse(idx, data, jerr, end, errbuf, errlen);
	}
	while (end < len && kjson__blank(data + end, 1))
		end++;
	if (end < len) {
		json_object_put(obj);
		return kjson__fail(idx, data, end, "trailing data after the JSON document", errbuf,
				   errlen);
	}
	*out = obj;
	return 0;
}

/*
 * A List read item by item.  kubectl's snapshot of a big cluster is hundreds
 * of MB (20,000 pods: 177 MB), and json-c's tree of a whole document five to
 * six times that; each item's tree alone is a few KB.  The same for `nft -j`'s
 * {"nftables": [...]} (kjson__each_in()): kube-proxy's table for 5,000
 * Services is 21 MB, its tree twenty times that.
 *
 * First the whole document is scanned for its shape: an object whose members
 * are "kind" (a string), "items" (an array of objects) and others, with only
 * what kubectl writes (double-quoted strings, objects, arrays, the bytes of
 * numbers and literals, whitespace).  The scan finds where every value
 * begins and ends and checks the commas, brackets and colons between them;
 * json-c parses every value, so the document is checked as a whole parse
 * would check it, and an item it refuses is refused with the whole parse's
 * words.  A document of any other shape, with json-c's extensions (comments,
 * single quotes), or with a member other than "items" nested 63 deep, is left
 * to kjson__parse() before anything was taken from it.
 */
bool kjson__whole_only;

struct kj_span {
	size_t start, end;
};

static size_t kj_ws(const char *d, size_t len, size_t i)
{
	while (i < len && kjson__ws(d[i]))
		i++;
	return i;
}

/* Past the string opening at @d[@i]; 0 when it does not end. */
static size_t kj_string(const char *d, size_t len, size_t i)
{
	for (i++; i < len;) {
		const char *q = memchr(d + i, '"', len - i);
		size_t at, bs = 0;

		if (!q)
			return 0;
		at = (size_t)(q - d);
		while (at - bs > i && d[at - bs - 1] == '\\')
			bs++;
		if (!(bs & 1))
			return at + 1;
		i = at + 1; /* an escaped quote */
	}
	return 0;
}

static bool kj_prim_byte(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       c == '-' || c == '+' || c == '.';
}

/*
 * The value at @d[*@pos] (after whitespace) into @v, *@pos past it; false
 * when it is not one the scan takes (see above), ends with the document or
 * nests deeper than @depth.
 */
static bool kj_value(const char *d, size_t len, size_t *pos, struct kj_span *v, int depth)
{
	char close[KJSON_MAX_DEPTH];
	size_t i = kj_ws(d, len, *pos);
	int top = 0;

	if (i >= len)
		return false;
	v->start = i;
	if (kj_prim_byte((unsigned char)d[i])) {
		while (i < len && kj_prim_byte((unsigned char)d[i]))
			i++;
	} else if (d[i] == '"') {
		i = kj_string(d, len, i);
		if (!i)
			return false;
	} else {
		if (d[i] != '{' && d[i] != '[')
			return false;
		do {
			unsigned char c;

			if (i >= len)
				return false;
			c = (unsigned char)d[i];
			if (c == '"') {
				i = kj_string(d, len, i);
				if (!i)
					return false;
				continue;
			}
			if (c == '{' || c == '[') {
				if (top == depth)
					return false;
				close[top++] = c == '{' ? '}' : ']';
			} else if (c == '}' || c == ']') {
				if (!top || close[--top] != (char)c)
					return false;
			} else if (c != ',' && c != ':' && !kjson__ws((char)c) && !kj_prim_byte(c)) {
				return false;
			}
			i++;
		} while (top);
	}
	v->end = i;
	*pos = i;
	return true;
}

/* A member name json-c never parses here: no escape, no control byte. */
static bool kj_plain_key(const char *d, const struct kj_span *k)
{
	for (size_t i = k->start + 1; i + 1 < k->end; i++)
		if ((unsigned char)d[i] < 0x20 || d[i] == '\\')
			return false;
	return true;
}

static bool kj_is(const char *d, const struct kj_span *k, const char *name)
{
	size_t n = strlen(name);

	return k->end - k->start == n + 2 && !memcmp(d + k->start + 1, name, n);
}

/* @v parsed by @tok as the whole of a value; NULL when json-c refuses it. */
static struct json_object *kj_parse(struct json_tokener *tok, const char *d,
				    const struct kj_span *v)
{
	size_t n = v->end - v->start;
	struct json_object *o;
	char prim[64];

	json_tokener_reset(tok);
	o = json_tokener_parse_ex(tok, d + v->start, (int)n);
	if (!o && json_tokener_get_error(tok) == json_tokener_continue && n < sizeof(prim) &&
	    kj_prim_byte((unsigned char)d[v->start])) {
		/* a number or literal: json-c waits for the byte after it */
		memcpy(prim, d + v->start, n);
		prim[n] = ' ';
		json_tokener_reset(tok);
		o = json_tokener_parse_ex(tok, prim, (int)n + 1);
		if (o && json_tokener_get_parse_end(tok) > n)
			n++; /* it took the space too */
	}
	if (json_tokener_get_error(tok) == json_tokener_success && o &&
	    json_tokener_get_parse_end(tok) == n)
		return o;
	json_object_put(o);
	return NULL;
}

/*
 * The next item of the array @arr after @d[*@pos] into @v (false at its
 * end); *@bad when the array is not one this reads: an item that is not an
 * object, or a separator out of place.  Walked twice, to check and to read,
 * so that nothing but the item being read is kept.
 */
static bool kj_next_item(const char *d, const struct kj_span *arr, size_t *pos,
			 struct kj_span *v, bool *bad)
{
	size_t i = kj_ws(d, arr->end, *pos == arr->start ? *pos + 1 : *pos);

	*bad = false;
	if (*pos != arr->start) { /* after an item: ',' or the end */
		if (d[i] == ']') {
			*bad = i + 1 != arr->end;
			return false;
		}
		if (d[i] != ',') {
			*bad = true;
			return false;
		}
		i = kj_ws(d, arr->end, i + 1);
	} else if (d[i] == ']') {
		*bad = i + 1 != arr->end;
		return false;
	}
	if (!kj_value(d, arr->end, &i, v, KJSON_MAX_DEPTH - 2) || d[v->start] != '{') {
		*bad = true;
		return false;
	}
	*pos = i;
	return true;
}

static bool kj_items_ok(const char *d, const struct kj_span *arr)
{
	struct kj_span v;
	size_t pos = arr->start;
	bool bad;

	while (kj_next_item(d, arr, &pos, &v, &bad))
		;
	return !bad;
}

/*
 * The top level: the member @name (an array) found once and, where @kind is
 * not NULL, "kind" (a string) found once too, its string copied to @kind;
 * every other member's value parsed by @tok.
 */
static bool kj_top(const char *d, size_t len, struct json_tokener *tok, const char *name,
		   char *kind, size_t kind_len, struct kj_span *items)
{
	struct kj_span k, v;
	bool have_kind = !kind, have_items = false;
	size_t i = kj_ws(d, len, 0);

	if (i >= len || d[i] != '{')
		return false;
	i = kj_ws(d, len, i + 1);
	if (i < len && d[i] == '}')
		return false;
	for (;;) {
		struct json_object *o;

		if (i >= len || d[i] != '"' || !kj_value(d, len, &i, &k, 0) || !kj_plain_key(d, &k))
			return false;
		i = kj_ws(d, len, i);
		if (i >= len || d[i] != ':')
			return false;
		i++;
		if (!kj_value(d, len, &i, &v, KJSON_MAX_DEPTH - 1))
			return false;
		if (kj_is(d, &k, name)) {
			if (have_items || d[v.start] != '[')
				return false;
			have_items = true;
			*items = v;
		} else {
			bool is_kind = kind && kj_is(d, &k, "kind");
			const char *s;

			if (is_kind && have_kind)
				return false;
			o = kj_parse(tok, d, &v);
			if (!o)
				return false;
			s = json_object_is_type(o, json_type_string) ? json_object_get_string(o) : NULL;
			if (is_kind && s && strlen(s) < kind_len) {
				strcpy(kind, s);
				have_kind = true;
			}
			json_object_put(o);
			if (is_kind && !have_kind)
				return false;
		}
		i = kj_ws(d, len, i);
		if (i < len && d[i] == ',') {
			i = kj_ws(d, len, i + 1);
			continue;
		}
		if (i >= len || d[i] != '}')
			return false;
		return have_kind && have_items && kj_ws(d, len, i + 1) == len;
	}
}

/* Each item of @arr (kj_items_ok()) parsed and given to @fn. */
static int kj_read_items(struct kindex *idx, const char *d, size_t len, const struct kj_span *arr,
			 struct json_tokener *tok, int (*fn)(void *ctx, struct json_object *item),
			 void *ctx, char *errbuf, size_t errlen)
{
	struct kj_span v;
	size_t pos = arr->start;
	bool bad;
	int err = 0;

	while (!err && kj_next_item(d, arr, &pos, &v, &bad)) {
		struct json_object *o = kj_parse(tok, d, &v);
		enum json_tokener_error jerr = json_tokener_get_error(tok);

		if (o) {
			err = fn(ctx, o);
			json_object_put(o);
		} else if (jerr == json_tokener_success) {
			/* a whole object taken without one: json-c could not
			 * allocate it */
			err = -ENOMEM;
		} else if (jerr != json_tokener_continue) {
			/* the whole parse's words: it would have read the same
			 * bytes up to here */
			err = kjson__refuse(idx, d, jerr, v.start + json_tokener_get_parse_end(tok),
					    errbuf, errlen);
		} else {
			/* not seen: the item's braces are balanced */
			err = kjson__parse(idx, d, len, &o, errbuf, errlen);
			json_object_put(o);
			if (!err) {
				snprintf(errbuf, errlen, "%s: an item at byte %zu is not JSON",
					 idx->src_name, v.start);
				err = -EBADMSG;
			}
		}
	}
	return err;
}

/* The array member @name of the top-level object, item by item; with @kind,
 * only a List's "items" (kjson__each_item()). */
static int kj_each(struct kindex *idx, const char *data, size_t len, const char *name,
		   int (*fn)(void *ctx, struct json_object *item), void *ctx, char *kind,
		   size_t kind_len, char *errbuf, size_t errlen)
{
	struct json_tokener *tok;
	struct kj_span arr = { 0, 0 };
	int err = KJSON_WHOLE;

	if (kjson__whole_only || len > INT32_MAX)
		return KJSON_WHOLE;
	tok = json_tokener_new_ex(KJSON_MAX_DEPTH - 2);
	if (!tok)
		return -ENOMEM;
	if (kj_top(data, len, tok, name, kind, kind_len, &arr) &&
	    (!kind || kjson__is_list(kind)) && kj_items_ok(data, &arr))
		err = kj_read_items(idx, data, len, &arr, tok, fn, ctx, errbuf, errlen);
	json_tokener_free(tok);
	return err;
}

int kjson__each_item(struct kindex *idx, const char *data, size_t len,
		     int (*fn)(void *ctx, struct json_object *item), void *ctx, char *kind,
		     size_t kind_len, char *errbuf, size_t errlen)
{
	return kj_each(idx, data, len, "items", fn, ctx, kind, kind_len, errbuf, errlen);
}

int kjson__each_in(struct kindex *idx, const char *data, size_t len, const char *name,
		   int (*fn)(void *ctx, struct json_object *item), void *ctx, char *errbuf,
		   size_t errlen)
{
	return kj_each(idx, data, len, name, fn, ctx, NULL, 0, errbuf, errlen);
}

bool kjson__is_list(const char *kind)
{
	size_t n = kind ? strlen(kind) : 0;

	return n >= 4 && !strcmp(kind + n - 4, "List");
}

/* Member @key of @o as a string; NULL when absent or not a string. */
const char *kjson__str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

struct json_object *kjson__get(struct json_object *o, const char *key, int type)
{
	struct json_object *v;

	if (!o || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, (enum json_type)type))
		return NULL;
	return v;
}

/* An integer member in [min, max]; -ERANGE/-EINVAL, -ENOENT when absent. */
int kjson__int(struct json_object *o, const char *key, int64_t min, int64_t max, int64_t *out)
{
	struct json_object *v;
	int64_t n;

	if (!o || !json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return -ENOENT;
	if (!json_object_is_type(v, json_type_int))
		return -EINVAL;
	errno = 0;
	n = json_object_get_int64(v);
	if (errno || n < min || n > max)
		return -ERANGE;
	*out = n;
	return 0;
}
