// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* kindex storage: growable arrays, a string arena, hash tables over kkeys,
 * and the strict address/port/protocol parsers every source parser uses. */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "k8s_int.h"
#include "parse.h"

#define KCHUNK_MIN (64u << 10)

struct kchunk {
	struct kchunk *next;
	size_t used, cap;
	char data[];
};

void *kvec__push(void **v, uint32_t *n, uint32_t *cap, size_t size)
{
	char *p;

	if (*n == *cap) {
		uint32_t ncap = *cap ? *cap * 2 : 16;
		void *nv;

		if (ncap <= *cap || (size_t)ncap > SIZE_MAX / size)
			return NULL;
		nv = realloc(*v, (size_t)ncap * size);
		if (!nv)
			return NULL;
		*v = nv;
		*cap = ncap;
	}
	p = (char *)*v + (size_t)(*n)++ * size;
	memset(p, 0, size);
	return p;
}

static char *karena__alloc(struct karena *a, size_t n)
{
	struct kchunk *c = a->head;

	if (!c || c->cap - c->used < n) {
		size_t cap = n > KCHUNK_MIN ? n : KCHUNK_MIN;

		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->used = 0;
		c->cap = cap;
		c->next = a->head;
		a->head = c;
	}
	c->used += n;
	return c->data + c->used - n;
}

const char *karena__strndup(struct karena *a, const char *s, size_t n)
{
	char *p;

	if (n > KSTR_MAX)
		n = KSTR_MAX;
	p = karena__alloc(a, n + 1);
	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* @n bytes of @src, aligned for any struct of the index. */
void *karena__memdup(struct karena *a, const void *src, size_t n)
{
	char *p = karena__alloc(a, n + _Alignof(max_align_t) - 1);

	if (!p)
		return NULL;
	p += -(uintptr_t)p & (_Alignof(max_align_t) - 1);
	return memcpy(p, src, n);
}

const char *karena__strdup(struct karena *a, const char *s)
{
	return s ? karena__strndup(a, s, strlen(s)) : NULL;
}

const char *karena__printf(struct karena *a, const char *fmt, ...)
{
	char buf[KSTR_MAX + 1];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	return karena__strndup(a, buf, strlen(buf));
}

void karena__free(struct karena *a)
{
	while (a->head) {
		struct kchunk *next = a->head->next;

		free(a->head);
		a->head = next;
	}
}

/* FNV-1a, then a murmur3 finalizer to spread the low bits. */
uint64_t kstr__hash(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

static int kstrmap__grow(struct kstrmap *m)
{
	uint32_t ncap = m->mask ? (m->mask + 1) * 2 : 64;
	struct kstrslot *ns = calloc(ncap, sizeof(*ns));

	if (!ns)
		return -ENOMEM;
	for (uint32_t i = 0; m->slots && i <= m->mask; i++) {
		uint32_t j;

		if (!m->slots[i].key)
			continue;
		for (j = m->slots[i].hash & (ncap - 1); ns[j].key; j = (j + 1) & (ncap - 1))
			;
		ns[j] = m->slots[i];
	}
	free(m->slots);
	m->slots = ns;
	m->mask = ncap - 1;
	return 0;
}

/* @key must outlive the map (arena string). */
int kstrmap__put(struct kstrmap *m, const char *key, uint32_t val)
{
	size_t n = strlen(key);
	uint64_t h = kstr__hash(key, n);
	uint32_t i;

	if ((m->count + 1) * 2 > (m->mask ? m->mask + 1 : 0) && kstrmap__grow(m))
		return -ENOMEM;
	for (i = h & m->mask; m->slots[i].key; i = (i + 1) & m->mask) {
		if (m->slots[i].hash == h && !strcmp(m->slots[i].key, key)) {
			m->slots[i].val = val;
			return 0;
		}
	}
	m->slots[i].hash = h;
	m->slots[i].key = key;
	m->slots[i].val = val;
	m->count++;
	return 0;
}

uint32_t kstrmap__get(const struct kstrmap *m, const char *key, size_t n)
{
	uint64_t h;

	if (!m->slots)
		return KNONE;
	h = kstr__hash(key, n);
	for (uint32_t i = h & m->mask; m->slots[i].key; i = (i + 1) & m->mask) {
		const struct kstrslot *s = &m->slots[i];

		if (s->hash == h && !strncmp(s->key, key, n) && !s->key[n])
			return s->val;
	}
	return KNONE;
}

void kstrmap__free(struct kstrmap *m)
{
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

static inline uint32_t kkey__hash(const struct kkey *k)
{
	uint64_t w[3];

	memcpy(w, k, sizeof(w));
	w[0] = (w[0] ^ (w[1] * 0x9e3779b97f4a7c15ULL) ^ (w[2] * 0xc2b2ae3d27d4eb4fULL));
	w[0] ^= w[0] >> 31;
	w[0] *= 0xff51afd7ed558ccdULL;
	w[0] ^= w[0] >> 29;
	return (uint32_t)w[0];
}

_Static_assert(sizeof(struct kkey) == 24, "struct kkey must be 3 words, no padding");

void ktab__free(struct ktab *t)
{
	free(t->slots);
	free(t->next);
	memset(t, 0, sizeof(*t));
}

static const struct kkey *ktab__key(const struct ktab *t, uint32_t i)
{
	return (const struct kkey *)(t->base + (size_t)i * t->stride);
}

static inline bool kkey__eq(const struct kkey *a, const struct kkey *b)
{
	uint64_t x[3], y[3];

	memcpy(x, a, sizeof(x));
	memcpy(y, b, sizeof(y));
	return !((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]));
}

/* Open addressing, linear probing; the slot's hash spares most entity loads. */
uint32_t ktab__find(const struct ktab *t, const struct kkey *key)
{
	uint32_t h;

	if (!t->slots)
		return KNONE;
	h = kkey__hash(key);
	for (uint32_t i = h & t->mask; t->slots[i].idx1; i = (i + 1) & t->mask) {
		uint32_t e = t->slots[i].idx1 - 1;

		if (t->slots[i].hash == h && kkey__eq(ktab__key(t, e), key))
			return e;
	}
	return KNONE;
}

/* Index @n entities of @stride bytes at @base (each starting with a kkey). */
int ktab__build(struct ktab *t, const void *base, size_t stride, uint32_t n)
{
	uint32_t cap = 16, *tail;

	ktab__free(t);
	while (cap < 2 * (uint64_t)n)
		cap *= 2;
	t->slots = calloc(cap, sizeof(*t->slots));
	t->next = malloc(((size_t)n + 1) * sizeof(*t->next));
	tail = malloc(((size_t)n + 1) * sizeof(*tail));
	if (!t->slots || !t->next || !tail) {
		free(tail);
		ktab__free(t);
		return -ENOMEM;
	}
	t->mask = cap - 1;
	t->base = base;
	t->stride = stride;
	for (uint32_t e = 0; e < n; e++) {
		const struct kkey *k = ktab__key(t, e);
		uint32_t h = kkey__hash(k), i = h & t->mask;

		t->next[e] = KNONE;
		for (; t->slots[i].idx1; i = (i + 1) & t->mask)
			if (t->slots[i].hash == h && kkey__eq(ktab__key(t, t->slots[i].idx1 - 1), k))
				break;
		if (!t->slots[i].idx1) {
			t->slots[i].hash = h;
			t->slots[i].idx1 = e + 1;
		} else {
			t->next[tail[t->slots[i].idx1 - 1]] = e;
		}
		tail[t->slots[i].idx1 - 1] = e;
	}
	free(tail);
	return 0;
}

void kkey__set(struct kkey *k, uint8_t family, const uint8_t *addr, uint8_t proto,
	       uint16_t port)
{
	memset(k, 0, sizeof(*k));
	k->family = family;
	k->proto = proto;
	k->port = port;
	if (addr)
		memcpy(k->addr, addr, family == AF_INET ? 4 : 16);
}

/* An address of @want_family (0: either). */
int kaddr__parse(const char *s, size_t n, uint8_t want_family, struct kaddr *a)
{
	char buf[INET6_ADDRSTRLEN + 1];

	memset(a, 0, sizeof(*a));
	if (n == 0 || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if ((!want_family || want_family == AF_INET) && inet_pton(AF_INET, buf, a->addr) == 1) {
		a->family = AF_INET;
		return 0;
	}
	if ((!want_family || want_family == AF_INET6) && inet_pton(AF_INET6, buf, a->addr) == 1) {
		a->family = AF_INET6;
		return 0;
	}
	return -EINVAL;
}

static int kport__range(const char *s, size_t n, uint16_t *lo, uint16_t *hi)
{
	const char *dash = memchr(s, '-', n);

	if (!dash)
		dash = memchr(s, ':', n);
	if (!dash) {
		if (kport__parse(s, n, lo))
			return -EINVAL;
		*hi = *lo;
		return 0;
	}
	if (kport__parse(s, dash - s, lo) || kport__parse(dash + 1, n - (dash - s) - 1, hi))
		return -EINVAL;
	return *lo <= *hi ? 0 : -EINVAL;
}

int kaddr__range(const struct kaddr *lo, struct kaddr *hi)
{
	size_t alen = lo->family == AF_INET ? 4 : 16;
	int cmp = memcmp(lo->addr, hi->addr, alen);

	if (lo->family != hi->family || cmp > 0)
		return -EINVAL;
	if (!cmp)
		memset(hi, 0, sizeof(*hi)); /* "A-A": one address */
	return 0;
}

/* "A", or with @hi "A-B" (kaddr__range()): *@hi's family 0 for "A". */
static int kaddr__parse_range(const char *s, size_t n, uint8_t want_family, struct kaddr *a,
			      struct kaddr *hi)
{
	const char *dash = memchr(s, '-', n);

	if (hi)
		memset(hi, 0, sizeof(*hi));
	if (!dash || !hi)
		return kaddr__parse(s, n, want_family, a);
	if (kaddr__parse(s, dash - s, want_family, a) ||
	    kaddr__parse(dash + 1, n - (dash - s) - 1, a->family, hi))
		return -EINVAL;
	return kaddr__range(a, hi);
}

int kaddr__parse_ep(const char *s, size_t n, uint8_t want_family, struct kaddr *a,
		    struct kaddr *a_hi, uint16_t *lo, uint16_t *hi)
{
	const char *colon;

	*lo = *hi = 0;
	if (n && s[0] == ':' && (n < 2 || s[1] != ':')) {
		/* a port alone: the address stays (`DNAT --to :8080`); "::1" is
		 * an address */
		memset(a, 0, sizeof(*a));
		if (a_hi)
			memset(a_hi, 0, sizeof(*a_hi));
		return kport__range(s + 1, n - 1, lo, hi);
	}
	if (n && s[0] == '[') {
		const char *close = memchr(s, ']', n);

		if (!close || kaddr__parse_range(s + 1, close - s - 1, want_family, a, a_hi))
			return -EINVAL;
		if ((size_t)(close - s) + 1 == n)
			return 0;
		if (close[1] != ':')
			return -EINVAL;
		return kport__range(close + 2, n - (close - s) - 2, lo, hi);
	}
	/* no port: an address or a range (IPv6 ones without brackets included) */
	if (!kaddr__parse_range(s, n, want_family, a, a_hi))
		return 0;
	colon = memchr(s, ':', n);
	if (!colon ||
	    kaddr__parse_range(s, colon - s, want_family ? want_family : AF_INET, a, a_hi))
		return -EINVAL;
	return kport__range(colon + 1, n - (colon - s) - 1, lo, hi);
}

static int knum__parse(const char *s, size_t n, uint32_t min, uint32_t max, uint32_t *v)
{
	char buf[12];

	if (n == 0 || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return parse_u32(buf, min, max, v) ? -EINVAL : 0;
}

int kaddr__parse_prefix(const char *s, size_t n, uint8_t want_family, struct kaddr *a,
			uint8_t *plen)
{
	const char *slash = memchr(s, '/', n);
	uint32_t len;

	if (!slash) {
		if (kaddr__parse(s, n, want_family, a))
			return -EINVAL;
		*plen = a->family == AF_INET ? 32 : 128;
		return 0;
	}
	if (kaddr__parse(s, slash - s, want_family, a))
		return -EINVAL;
	if (knum__parse(slash + 1, n - (slash - s) - 1, 0, a->family == AF_INET ? 32 : 128, &len))
		return -EINVAL;
	*plen = (uint8_t)len;
	return 0;
}

bool kaddr__in_prefix(const uint8_t *addr, const struct kaddr *net, uint8_t plen)
{
	uint8_t full = plen / 8, rest = plen % 8;

	if (memcmp(addr, net->addr, full))
		return false;
	if (!rest)
		return true;
	return !((addr[full] ^ net->addr[full]) & (uint8_t)(0xff << (8 - rest)));
}

int kaddr__range_prefixes(const struct kaddr *lo, const struct kaddr *hi, struct kaddr *out,
			       uint8_t *plen, int max)
{
	unsigned width = lo->family == AF_INET ? 32 : 128, nb = width / 8;
	struct kaddr a = *lo, end;
	int n = 0;

	if (lo->family != hi->family || memcmp(lo->addr, hi->addr, nb) > 0)
		return -EINVAL;
	for (;;) {
		unsigned k = 0; /* host bits of the largest block at @a within @hi */

		end = a; /* its last address: @a with the low k bits set */
		while (k < width) {
			unsigned b = width - 1 - k;
			uint8_t bit = (uint8_t)(0x80 >> (b % 8));

			if (a.addr[b / 8] & bit)
				break; /* @a is not aligned to a block twice as big */
			end.addr[b / 8] |= bit;
			if (memcmp(end.addr, hi->addr, nb) > 0) {
				end.addr[b / 8] &= (uint8_t)~bit;
				break;
			}
			k++;
		}
		if (n == max)
			return -E2BIG;
		out[n] = a;
		plen[n++] = (uint8_t)(width - k);
		if (!memcmp(end.addr, hi->addr, nb))
			return n;
		a = end;
		for (int i = (int)nb - 1; i >= 0 && ++a.addr[i] == 0; i--)
			;
	}
}

int kproto__parse(const char *s, size_t n, uint8_t *proto)
{
	char buf[16];

	if (n == 0 || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return parse_proto(buf, proto);
}

/* A port 1..65535 (0 is refused: kindex uses it for "any"). */
int kport__parse(const char *s, size_t n, uint16_t *port)
{
	uint32_t v;

	if (knum__parse(s, n, 1, 65535, &v))
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}
