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

static bool kjson__blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
			return false;
	return true;
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
		char what[128];

		json_object_put(obj);
		snprintf(what, sizeof(what), "not JSON: %s",
			 jerr != json_tokener_success ? json_tokener_error_desc(jerr) : "no value");
		return kjson__fail(idx, data, end ? end - 1 : 0, what, errbuf, errlen);
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
