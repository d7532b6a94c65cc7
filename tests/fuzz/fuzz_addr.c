// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer harness for --addr's parser (parse_prefix_list() and
 * parse_prefix(), src/parse.c) and the filter's text (filter__format(),
 * src/filter.c): the input is an --addr argument.  A list refused must name
 * an item between commas that is refused alone for the same reason (or, past
 * 16, taken alone), and keep every prefix taken before it.  A prefix taken
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
	/* an IPv4-mapped IPv6 prefix is kept as the IPv4 one */
	if (p->family == AF_INET6 && p->len >= 96 &&
	    !memcmp(p->addr, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12))
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
	char *arg = malloc(size + 1);
	char formatted[8 + NW_MAX_ADDRS * PREFIX_STR_LEN], want[sizeof(formatted)];
	struct prefix_err e;
	size_t n = 0, w, len;
	int err;

	if (!arg)
		return 0;
	memcpy(arg, data, size);
	arg[size] = '\0';
	len = strlen(arg); /* a NUL ends the argument, as on a command line */
	err = parse_prefix_list(arg, f.addrs, NW_MAX_ADDRS, &n, &e);
	if (n > NW_MAX_ADDRS)
		abort();
	f.naddrs = (uint8_t)n;
	for (size_t i = 0; i < n; i++) {
		check_taken(&f.addrs[i]);
		for (size_t j = 0; j < i; j++)
			if (!memcmp(&f.addrs[i], &f.addrs[j], sizeof(f.addrs[i])))
				abort(); /* a prefix twice */
	}
	if (err) {
		/* the item named is where the list stopped, and refused alone */
		char item[256], text[PREFIX_STR_LEN];
		struct nw_prefix p, meant;

		if (e.at + e.len > len || (e.at && arg[e.at - 1] != ',') ||
		    (arg[e.at + e.len] && arg[e.at + e.len] != ','))
			abort();
		if (e.len < sizeof(item)) {
			memcpy(item, arg + e.at, e.len);
			item[e.len] = '\0';
			int alone = parse_prefix(item, &p);

			if (err == -E2BIG ? alone != 0 || n != NW_MAX_ADDRS :
					    (e.len ? alone != err : err != -EINVAL))
				abort();
		}
		if (err == -EDOM && (parse_prefix(prefix_str(&e.meant, text, sizeof(text)), &meant) ||
				     memcmp(&meant, &e.meant, sizeof(meant))))
			abort();
		if (err != -EINVAL && err != -ERANGE && err != -EDOM && err != -E2BIG)
			abort();
	}
	free(arg);
	err = filter__format(&f, formatted, sizeof(formatted));
	if (err < 0 || (size_t)err != strlen(formatted))
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
