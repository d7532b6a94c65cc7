// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The node's own addresses -> kindex.  Two line formats:
 *   `ip -o addr`:  "3: eth0    inet 192.168.56.12/24 brd ... scope global eth0\ ..."
 *   plain list:    "eth0 192.168.56.12/24"  (IFNAME ADDRESS[/PREFIX])
 * Blank lines and '#' comments are ignored.  Addresses on kube-ipvs0 are
 * where kube-proxy's IPVS mode binds Service addresses.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "k8s_int.h"

#define LOCAL_MAX_WORDS 6

static int local__words(const char *s, size_t n, const char **w, size_t *wl)
{
	int k = 0;

	for (size_t i = 0; i < n && k < LOCAL_MAX_WORDS;) {
		if (s[i] == ' ' || s[i] == '\t') {
			i++;
			continue;
		}
		w[k] = s + i;
		while (i < n && s[i] != ' ' && s[i] != '\t')
			i++;
		wl[k] = s + i - w[k];
		k++;
	}
	return k;
}

/* "eth0@if5" -> "eth0" */
static size_t local__ifname_len(const char *s, size_t n)
{
	const char *at = memchr(s, '@', n);

	return at ? (size_t)(at - s) : n;
}

static int local__line(const struct klines *l, const char *s, size_t n)
{
	struct kindex *idx = l->idx;
	const char *w[LOCAL_MAX_WORDS], *ifname;
	size_t wl[LOCAL_MAX_WORDS];
	int k = local__words(s, n, w, wl), a_i, if_i;
	struct kaddr a;
	uint8_t plen;

	if (k >= 4 && wl[0] > 1 && w[0][wl[0] - 1] == ':') { /* ip -o addr */
		if (!(wl[2] == 4 && !memcmp(w[2], "inet", 4)) &&
		    !(wl[2] == 5 && !memcmp(w[2], "inet6", 5)))
			return -EINVAL;
		if_i = 1;
		a_i = 3;
	} else if (k == 2) {
		if_i = 0;
		a_i = 1;
	} else {
		return -EINVAL;
	}
	if (kaddr__parse_prefix(w[a_i], wl[a_i], 0, &a, &plen))
		return -EINVAL;
	ifname = karena__strndup(&idx->arena, w[if_i], local__ifname_len(w[if_i], wl[if_i]));
	if (!ifname)
		return -ENOMEM;
	return kindex__add_local(idx, &a, ifname, KO_LOCAL);
}

int k8s_local__parse(struct kindex *idx, const char *data, size_t len, char *errbuf,
		     size_t errlen)
{
	struct klines l = {
		.idx = idx,
		.errbuf = errbuf,
		.errlen = errlen,
		.lead = " \t",
		.comment = "#\r",
		.bad_msg = "not an address line, ignored",
		.none_msg = "no address understood "
			    "(expected `ip -o addr` or \"IFNAME ADDRESS\" lines)",
		.line = local__line,
	};

	return klines__parse(&l, data, len);
}
