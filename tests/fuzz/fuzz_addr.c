// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer harness for --addr's parser (parse_prefix(), src/parse.c) and
 * the filter's text (filter__format(), src/filter.c): the input is an
 * --addr argument, split at commas as opts.c splits it.  A prefix taken
 * must write back (prefix_str()) to a text that parses to the same prefix,
 * hold its own address and, where it is short of the whole address, the
 * address with the first bit past its length flipped, and not the address
 * with its last bit within flipped; one refused for bits past its length
 * must hold the prefix they meant, which parses cleanly.  The filter of
 * every prefix taken must format to "--addr A,B..." listing each as written
 * back.
 * Seeds: tests/fuzz/corpus/addr.
 * Run: build/fuzz/fuzz_addr -max_total_time=30 tests/fuzz/corpus/addr
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "filter.h"
#include "parse.h"

/* The prefix's address with bit @b (0: the first) flipped, in @a. */
static void flipped(const struct nw_prefix *p, unsigned b, uint8_t *a)
{
	memcpy(a, p->addr, 16);
	a[b / 8] ^= (uint8_t)(0x80 >> (b % 8));
}

static void check_taken(const struct nw_prefix *p)
{
	unsigned max = p->family == AF_INET6 ? 128 : 32;
	char text[PREFIX_STR_LEN];
	struct nw_prefix again;
	uint8_t a[16];

	if ((p->family != AF_INET && p->family != AF_INET6) || p->len > max)
		abort();
	if (parse_prefix(prefix_str(p, text, sizeof(text)), &again) ||
	    memcmp(&again, p, sizeof(*p)))
		abort();
	if (!prefix_has(p, p->family, (const uint8_t *)p->addr) ||
	    prefix_has(p, p->family == AF_INET ? AF_INET6 : AF_INET, (const uint8_t *)p->addr))
		abort();
	if (p->len < max) {
		flipped(p, p->len, a);
		if (!prefix_has(p, p->family, a))
			abort();
	}
	if (p->len) {
		flipped(p, p->len - 1u, a);
		if (prefix_has(p, p->family, a))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nw_filter f = { 0 };
	char *arg = malloc(size + 1), *item, *save = NULL;
	char formatted[8 + NW_MAX_ADDRS * PREFIX_STR_LEN], want[sizeof(formatted)];
	size_t w;
	int n;

	if (!arg)
		return 0;
	memcpy(arg, data, size);
	arg[size] = '\0';
	for (item = strtok_r(arg, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		struct nw_prefix p, meant;
		char text[PREFIX_STR_LEN];
		int err = parse_prefix(item, &p);

		if (err == -EDOM) {
			if (parse_prefix(prefix_str(&p, text, sizeof(text)), &meant) ||
			    memcmp(&meant, &p, sizeof(p)))
				abort();
		} else if (err == 0) {
			check_taken(&p);
			if (f.naddrs < NW_MAX_ADDRS)
				f.addrs[f.naddrs++] = p;
		} else if (err != -EINVAL && err != -ERANGE) {
			abort();
		}
	}
	free(arg);
	n = filter__format(&f, formatted, sizeof(formatted));
	if (n < 0 || (size_t)n != strlen(formatted))
		abort();
	w = 0;
	want[0] = '\0';
	for (int i = 0; i < f.naddrs; i++) {
		char text[PREFIX_STR_LEN];

		w += (size_t)snprintf(want + w, sizeof(want) - w, "%s%s", i ? "," : "--addr ",
				      prefix_str(&f.addrs[i], text, sizeof(text)));
	}
	if (strcmp(formatted, want))
		abort();
	return 0;
}
