/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* A growing text buffer for the generators of big test and bench documents
 * (tests/unit/nft_gen.h, tests/bench/bench_kindex.c). */
#ifndef NATWHO_TBUF_H
#define NATWHO_TBUF_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

struct tbuf {
	char *p;
	size_t len, cap;
};

/* Append printf(@fmt, ...) to @b; out of memory aborts. */
static void tbuf_printf(struct tbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tbuf_printf(struct tbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < b->cap - b->len)
			break;
		b->cap = b->cap ? b->cap * 2 : 1 << 20;
		b->p = realloc(b->p, b->cap);
		if (!b->p) {
			perror("realloc");
			abort();
		}
	}
	b->len += (size_t)n;
}

#endif /* NATWHO_TBUF_H */
