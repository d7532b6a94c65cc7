// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Raw struct nw_event -> struct conn.  Pure: no BPF, no I/O. */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include "conn.h"
#include "fmt.h"

/* @a and @b as addresses of @family: IPv4 in the first 4 bytes (a version 1
 * record leaves the rest as the kernel's union had them). */
static bool addr_eq(uint8_t family, const uint8_t *a, const uint8_t *b)
{
	uint32_t a4, b4;

	if (family != AF_INET)
		return conn__addr_eq(a, b);
	memcpy(&a4, a, 4);
	memcpy(&b4, b, 4);
	return a4 == b4;
}

/* struct nw_event4's tuple as struct nw_event's (IPv4 in the first 4 bytes). */
static void tuple4_expand(struct nw_tuple *t, const struct nw_tuple4 *t4)
{
	memset(t, 0, sizeof(*t));
	memcpy(t->src, t4->src, sizeof(t4->src));
	memcpy(t->dst, t4->dst, sizeof(t4->dst));
	t->sport = t4->sport;
	t->dport = t4->dport;
}

/*
 * A raw record into @e: struct nw_event, or from version 2 on an IPv4
 * connection's struct nw_event4 (include/natwho.h).  Copies, so that nothing
 * works on ring buffer memory.
 */
static int event_read(const void *data, size_t size, struct nw_event *e)
{
	struct nw_event4 e4;

	if (size == sizeof(*e)) { /* a layout change bumps the version: no other size */
		memcpy(e, data, sizeof(*e));
	} else if (size == sizeof(e4)) {
		memcpy(&e4, data, sizeof(e4));
		if (e4.version < NW_EVENT_VERSION_SHORT4 || e4.family != AF_INET)
			return -EINVAL; /* no short form there */
		memcpy(e, &e4, offsetof(struct nw_event, orig)); /* the head */
		tuple4_expand(&e->orig, &e4.orig);
		tuple4_expand(&e->reply, &e4.reply);
	} else {
		return -EINVAL;
	}
	if (!conn__event_version_known(e->version))
		return -EPROTO;
	return 0;
}

int conn__decode(const void *data, size_t size, int64_t boot_to_real_ns,
		 const char *backend, struct conn *c)
{
	struct nw_event e;
	int err;

	err = event_read(data, size, &e);
	if (err)
		return err;
	if (e.family != AF_INET && e.family != AF_INET6)
		return -EAFNOSUPPORT;

	memset(c, 0, sizeof(*c));
	c->ts_ns = e.ts_boot_ns + (uint64_t)boot_to_real_ns; /* wraps, never UB */
	c->netns = e.netns;
	c->ct_status = e.ct_status;
	c->mark = e.mark;
	c->zone = e.zone;
	c->verdict = e.verdict;
	c->family = e.family;
	c->proto = e.proto;
	c->hook = e.hook;
	c->flags = e.flags;
	if (e.flags & NW_EF_TASK) {
		c->pid = e.pid;
		c->tgid = e.tgid;
		c->cgroup_id = e.cgroup_id;
		memcpy(c->comm, e.comm, sizeof(c->comm));
		c->comm[sizeof(c->comm) - 1] = '\0';
	} else if (e.flags & NW_EF_JOINED) {
		/* --cgroup: a socket whose process natwho did not see (opened
		 * before it started) still has the cgroup egress read off it */
		c->cgroup_id = e.cgroup_id;
	}
	c->orig = e.orig;
	c->reply = e.reply;
	c->dnat = !addr_eq(e.family, e.orig.dst, e.reply.src) || e.orig.dport != e.reply.sport;
	c->snat = !addr_eq(e.family, e.orig.src, e.reply.dst) || e.orig.sport != e.reply.dport;
	memcpy(c->landed.addr, e.reply.src, sizeof(c->landed.addr));
	c->landed.port = e.reply.sport;
	memcpy(c->seen_as.addr, e.reply.dst, sizeof(c->seen_as.addr));
	c->seen_as.port = e.reply.dport;
	c->backend = backend;
	return 0;
}

bool conn__proto_has_ports(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_SCTP:
	case IPPROTO_UDPLITE:
	case IPPROTO_DCCP:
		return true;
	default:
		return false;
	}
}

bool conn__has_ports(const struct conn *c)
{
	return conn__proto_has_ports(c->proto);
}

/* glibc's inet_ntop() formats IPv4 with sprintf(): a few times slower than
 * this, and there are five addresses in every JSON record. */
static char *ipv4_str(const uint8_t *a, char *buf)
{
	char *p = buf;

	for (int i = 0; i < 4; i++) {
		unsigned v = a[i];

		if (v >= 100)
			*p++ = (char)('0' + v / 100);
		if (v >= 10)
			*p++ = (char)('0' + v / 10 % 10);
		*p++ = (char)('0' + v % 10);
		*p++ = '.';
	}
	p[-1] = '\0';
	return p - 1;
}

const char *conn__addr_str(uint8_t family, const uint8_t *addr, char *buf, size_t len)
{
	if (family == AF_INET && len >= 16)
		ipv4_str(addr, buf);
	else if (!inet_ntop(family, addr, buf, len))
		snprintf(buf, len, "?");
	return buf;
}

/* Written without a formatter or a library call for IPv4: three per text
 * line. */
char *conn__addr_prefix(uint8_t family, const uint8_t *addr, bool has_port, char *buf)
{
	bool brackets = family == AF_INET6 && has_port;
	char *p = buf + brackets;

	if (family == AF_INET) {
		p = ipv4_str(addr, p);
	} else {
		conn__addr_str(family, addr, p, NW_ADDRSTRLEN);
		p += strlen(p);
	}
	if (brackets) {
		buf[0] = '[';
		*p++ = ']';
	}
	if (has_port)
		*p++ = ':';
	*p = '\0';
	return p;
}

char *conn__port_put(char *p, uint16_t port)
{
	char d[FMT_U64_LEN];
	size_t n = fmt__u64(d, port);

	memcpy(p, d + FMT_U64_LEN - n, n);
	p[n] = '\0';
	return p + n;
}

const char *conn__addr_port_str(uint8_t family, const uint8_t *addr, uint16_t port, bool has_port,
				char *buf)
{
	char *p = conn__addr_prefix(family, addr, has_port, buf);

	if (has_port)
		conn__port_put(p, port);
	return buf;
}

const char *conn__ep_str(const struct conn *c, const uint8_t *addr, uint16_t port, char *buf,
			 size_t len)
{
	char ep[NW_EPSTRLEN];

	if (len >= NW_EPSTRLEN)
		return conn__addr_port_str(c->family, addr, port, conn__has_ports(c), buf);
	conn__addr_port_str(c->family, addr, port, conn__has_ports(c), ep);
	fmt__snprintf(buf, len, "%s", ep);
	return buf;
}

const char *conn__family_str(uint8_t family)
{
	return family == AF_INET6 ? "ipv6" : "ipv4";
}

const char *conn__hook_str(uint8_t hook)
{
	switch (hook) {
	case NW_HOOK_POSTROUTING: return "postrouting";
	case NW_HOOK_LOCAL_IN: return "local_in";
	case NW_HOOK_CONFIRM: return "confirm";
	default: return "unknown";
	}
}
