// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <ctype.h>
#include <stdbool.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "parse.h"

/* Leading digits of @s as an unsigned value; *end after the last digit. */
static int parse_digits(const char *s, uint64_t *out, const char **end)
{
	uint64_t v = 0;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	for (; isdigit((unsigned char)*s); s++) {
		unsigned d = *s - '0';

		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*out = v;
	*end = s;
	return 0;
}

int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	const char *end;
	uint64_t v;
	int err = parse_digits(s, &v, &end);

	if (err)
		return err;
	if (*end)
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	uint64_t v;
	int err = parse_u64(s, min, max, &v);

	if (!err)
		*out = (uint32_t)v;
	return err;
}

static int mul_ovf(uint64_t a, uint64_t b, uint64_t *out)
{
	if (b && a > UINT64_MAX / b)
		return -ERANGE;
	*out = a * b;
	return 0;
}

int parse_duration_ns(const char *s, uint64_t *out_ns)
{
	static const struct {
		const char *suffix;
		uint64_t ns;
	} units[] = {
		{ "", 1000000000ULL },	 { "s", 1000000000ULL },
		{ "ms", 1000000ULL },	 { "m", 60000000000ULL },
		{ "h", 3600000000000ULL },
	};
	uint64_t whole, frac = 0, frac_div = 1, ns;
	const char *p;
	int err = parse_digits(s, &whole, &p);

	if (err)
		return err;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		for (; isdigit((unsigned char)*p); p++) {
			if (frac_div < 1000000000ULL) { /* keep nanosecond precision */
				frac = frac * 10 + (*p - '0');
				frac_div *= 10;
			}
		}
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(p, units[i].suffix))
			continue;
		/* the fraction of the unit, to the nanosecond below (frac < 10^9
		 * and an hour 3.6 * 10^12 ns: the product needs 128 bits) */
		uint64_t part = (uint64_t)((unsigned __int128)frac * units[i].ns / frac_div);

		if (mul_ovf(whole, units[i].ns, &ns) || ns > UINT64_MAX - part)
			return -ERANGE;
		*out_ns = ns + part;
		return 0;
	}
	return -EINVAL;
}

int parse_size(const char *s, uint64_t *out)
{
	const char *p;
	uint64_t v, mul = 1;
	int err = parse_digits(s, &v, &p);

	if (err)
		return err;
	if (*p) {
		switch (toupper((unsigned char)*p)) {
		case 'K': mul = 1ULL << 10; break;
		case 'M': mul = 1ULL << 20; break;
		case 'G': mul = 1ULL << 30; break;
		default: return -EINVAL;
		}
		p++;
		if (*p == 'i' || *p == 'I')
			p++;
		if (*p == 'b' || *p == 'B')
			p++;
		if (*p)
			return -EINVAL;
	}
	return mul_ovf(v, mul, out);
}

int parse_port_list(const char *s, uint16_t *ports, size_t cap, size_t *n)
{
	const char *p = s;

	if (!s || !*s)
		return -EINVAL;
	for (;;) {
		const char *end;
		uint64_t v;
		size_t i;
		int err = parse_digits(p, &v, &end);

		if (err)
			return err;
		if (*end && *end != ',')
			return -EINVAL;
		if (v < 1 || v > 65535)
			return -ERANGE;
		for (i = 0; i < *n && ports[i] != v; i++)
			;
		if (i == *n) {
			if (*n >= cap)
				return -E2BIG;
			ports[(*n)++] = (uint16_t)v;
		}
		if (!*end)
			return 0;
		p = end + 1;
	}
}

static const struct {
	const char *name;
	uint8_t proto;
} protos[] = {
	{ "tcp", IPPROTO_TCP },	  { "udp", IPPROTO_UDP },   { "sctp", IPPROTO_SCTP },
	{ "icmp", IPPROTO_ICMP }, { "icmpv6", IPPROTO_ICMPV6 }, { "udplite", IPPROTO_UDPLITE },
	{ "dccp", IPPROTO_DCCP }, { "gre", IPPROTO_GRE },
};

/* More names of /etc/protocols, as iptables-save prints them (read, never
 * written: output names the protocols above, the others by number). */
static const struct {
	const char *name;
	uint8_t proto;
} proto_aliases[] = {
	{ "ipv6-icmp", IPPROTO_ICMPV6 }, { "igmp", 2 },  { "ipencap", 4 }, { "egp", 8 },
	{ "ipv6", 41 },			 { "rsvp", 46 }, { "esp", 50 },	   { "ah", 51 },
	{ "ospf", 89 },			 { "ipip", 94 }, { "pim", 103 },   { "vrrp", 112 },
	{ "l2tp", 115 },
};

int parse_proto(const char *s, uint8_t *out)
{
	uint32_t v;
	int err;

	for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++) {
		if (s && !strcasecmp(s, protos[i].name)) {
			*out = protos[i].proto;
			return 0;
		}
	}
	for (size_t i = 0; i < sizeof(proto_aliases) / sizeof(proto_aliases[0]); i++) {
		if (s && !strcasecmp(s, proto_aliases[i].name)) {
			*out = proto_aliases[i].proto;
			return 0;
		}
	}
	err = parse_u32(s, 1, 255, &v);
	if (err)
		return err; /* -ERANGE: a number, not 1-255 */
	*out = (uint8_t)v;
	return 0;
}

const char *proto_str(uint8_t proto, char *buf, size_t len)
{
	const char *name = proto_name(proto);

	if (name)
		return name;
	snprintf(buf, len, "%u", proto);
	return buf;
}

const char *proto_name(uint8_t proto)
{
	for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
		if (protos[i].proto == proto)
			return protos[i].name;
	return NULL;
}

int parse_hex(const char *s, size_t n, uint64_t *out)
{
	uint64_t x = 0;

	if (!n || n > 16)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		unsigned d;

		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			return -EINVAL;
		x = x << 4 | d;
	}
	*out = x;
	return 0;
}

int parse_prefix(const char *s, struct nw_prefix *p)
{
	char buf[INET6_ADDRSTRLEN];
	uint8_t bytes[16] = { 0 };
	const char *slash, *a = s, *end;
	size_t alen;
	uint64_t len;
	unsigned max;
	bool host_bits = false;

	memset(p, 0, sizeof(*p));
	if (!s || !*s)
		return -EINVAL;
	slash = strchr(s, '/');
	alen = slash ? (size_t)(slash - s) : strlen(s);
	if (alen >= 2 && s[0] == '[' && s[alen - 1] == ']') {
		a = s + 1;
		alen -= 2;
	}
	if (!alen || alen >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, a, alen);
	buf[alen] = '\0';
	if (a == s && inet_pton(AF_INET, buf, bytes) == 1) {
		p->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, bytes) == 1) {
		p->family = AF_INET6;
		max = 128;
	} else {
		return -EINVAL;
	}
	len = max;
	if (slash) {
		size_t digits = strspn(slash + 1, "0123456789");

		if (!digits || slash[1 + digits]) /* malformed before too long */
			return -EINVAL;
		if (parse_digits(slash + 1, &len, &end))
			return -ERANGE;
	}
	if (len > max)
		return -ERANGE;
	/* ::ffff:a.b.c.d (as ss prints an IPv6 socket's IPv4 peer) is IPv4 on
	 * the wire: conntrack has an IPv4 entry for it, never an IPv6 one */
	if (max == 128 && len >= 96 && !memcmp(bytes, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12)) {
		memmove(bytes, bytes + 12, 4);
		memset(bytes + 4, 0, 12);
		p->family = AF_INET;
		max = 32;
		len -= 96;
	}
	p->len = (uint8_t)len;
	for (unsigned w = 0; w < max / 32; w++) {
		unsigned bits = len > 32 * w ? (unsigned)len - 32 * w : 0;
		uint32_t word, mask = bits >= 32 ? 0xffffffffu : bits ? ~(0xffffffffu >> bits) : 0;

		memcpy(&word, bytes + 4 * w, 4);
		p->mask[w] = htonl(mask);
		p->addr[w] = word & p->mask[w];
		host_bits |= p->addr[w] != word;
	}
	return host_bits ? -EDOM : 0;
}

const char *prefix_str(const struct nw_prefix *p, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	unsigned max = p->family == AF_INET6 ? 128 : 32;

	if (!inet_ntop(p->family == AF_INET6 ? AF_INET6 : AF_INET, p->addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	if (p->len < max)
		snprintf(buf, len, "%s/%u", a, p->len);
	else
		snprintf(buf, len, "%s", a);
	return buf;
}

int prefix_has(const struct nw_prefix *p, uint8_t family, const uint8_t *a)
{
	if (p->family != family)
		return 0;
	for (unsigned w = 0; w < 4; w++) {
		uint32_t word;

		memcpy(&word, a + 4 * w, 4);
		if ((word & p->mask[w]) != p->addr[w])
			return 0;
	}
	return 1;
}

int parse_prefix_list(const char *s, struct nw_prefix *v, size_t cap, size_t *n,
		      struct prefix_err *e)
{
	const char *item = s;

	memset(e, 0, sizeof(*e));
	if (!s)
		return -EINVAL;
	for (;;) {
		size_t len = strcspn(item, ","), i;
		char one[256]; /* longer: malformed whatever it holds */
		struct nw_prefix p;
		int err = len && len < sizeof(one) ? 0 : -EINVAL;

		e->at = (size_t)(item - s);
		e->len = len;
		if (!err) {
			memcpy(one, item, len);
			one[len] = '\0';
			err = parse_prefix(one, &p);
		}
		if (err == -EDOM)
			e->meant = p;
		if (err)
			return err;
		for (i = 0; i < *n && memcmp(&v[i], &p, sizeof(p)); i++)
			;
		if (i == *n) {
			if (*n >= cap)
				return -E2BIG;
			v[(*n)++] = p;
		}
		if (!item[len])
			return 0;
		item += len + 1;
	}
}
