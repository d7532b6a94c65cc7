// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* nw_emit()'s filter in userspace, and as text.  Pure. */
#include <stdio.h>
#include <sys/socket.h>
#include "filter.h"
#include "parse.h"

static bool port_listed(const struct nw_filter *f, uint16_t a, uint16_t b)
{
	for (int i = 0; i < f->nports && i < NW_MAX_PORTS; i++)
		if (f->ports[i] == a || f->ports[i] == b)
			return true;
	return false;
}

/* nw_addr_match(): either end, before or after NAT */
static bool addr_listed(const struct nw_filter *f, const struct conn *c)
{
	for (int i = 0; i < f->naddrs && i < NW_MAX_ADDRS; i++) {
		const struct nw_prefix *p = &f->addrs[i];

		if (prefix_has(p, c->family, c->orig.src) || prefix_has(p, c->family, c->orig.dst) ||
		    prefix_has(p, c->family, c->reply.src) || prefix_has(p, c->family, c->reply.dst))
			return true;
	}
	return false;
}

bool filter__match(const struct nw_filter *f, const struct conn *c)
{
	if (f->family && f->family != c->family)
		return false;
	if (f->proto && f->proto != c->proto)
		return false;
	if (f->netns && f->netns != c->netns)
		return false;
	if (f->tgid && (!(c->flags & NW_EF_TASK) || f->tgid != c->tgid))
		return false;
	/* nw_emit(): orig.dport and reply.sport, the translated destination */
	if (f->nports && (!conn__has_ports(c) || !port_listed(f, c->orig.dport, c->reply.sport)))
		return false;
	if (f->naddrs && !addr_listed(f, c))
		return false;
	if (f->cgroup && !(c->flags & NW_EF_JOINED))
		return false;
	return true;
}

bool filter__active(const struct nw_filter *f)
{
	return f->family || f->proto || f->netns || f->tgid || f->nports || f->naddrs ||
	       f->cgroup;
}

/* Append " " (unless first) and @word to @buf like snprintf: returns the
 * length needed so far. */
static int put(char *buf, size_t len, int used, const char *word)
{
	size_t at = (size_t)used < len ? (size_t)used : len;
	int n = snprintf(buf + at, len - at, "%s%s", used ? " " : "", word);

	return used + (n > 0 ? n : 0);
}

int filter__format(const struct nw_filter *f, char *buf, size_t len)
{
	char word[16 + NW_MAX_PORTS * 6];
	char num[4];
	const char *pname = proto_str(f->proto, num, sizeof(num));
	int n = 0, w = 0;

	if (len)
		buf[0] = '\0';
	for (int i = 0; i < f->nports && i < NW_MAX_PORTS; i++)
		w += snprintf(word + w, sizeof(word) - w, "%s%u", i ? "," : "--port ", f->ports[i]);
	if (f->nports)
		n = put(buf, len, n, word);
	if (f->naddrs) {
		char addrs[8 + NW_MAX_ADDRS * PREFIX_STR_LEN], a[PREFIX_STR_LEN];
		size_t w = 0;

		for (int i = 0; i < f->naddrs && i < NW_MAX_ADDRS; i++)
			w += (size_t)snprintf(addrs + w, sizeof(addrs) - w, "%s%s", i ? "," : "--addr ",
					      prefix_str(&f->addrs[i], a, sizeof(a)));
		n = put(buf, len, n, addrs);
	}
	if (f->proto) {
		snprintf(word, sizeof(word), "--proto %s", pname);
		n = put(buf, len, n, word);
	}
	if (f->family)
		n = put(buf, len, n, f->family == AF_INET6 ? "-6" : "-4");
	if (f->tgid) {
		snprintf(word, sizeof(word), "--pid %u", f->tgid);
		n = put(buf, len, n, word);
	}
	if (f->netns) {
		snprintf(word, sizeof(word), "--netns %u", f->netns);
		n = put(buf, len, n, word);
	}
	return n;
}
