/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * struct conn: one new connection, decoded from a raw struct nw_event.  This
 * is what every stage after capture (enrich, sinks, capture files) works on.
 */
#ifndef NW_CONN_H
#define NW_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <linux/types.h>
#include "natwho.h"

#define NW_ADDRSTRLEN 46 /* INET6_ADDRSTRLEN */
#define NW_EPSTRLEN (NW_ADDRSTRLEN + 8) /* "[addr]:65535" */

struct nw_endpoint {
	uint8_t addr[16];
	uint16_t port;
};

struct k8s_annot; /* attached by the enrich stage, NULL without knowledge */

struct conn {
	uint64_t ts_ns; /* wall clock, ns since the Unix epoch */
	uint64_t cgroup_id;
	uint32_t netns;
	uint32_t pid; /* thread id */
	uint32_t tgid; /* process id */
	uint32_t ct_status;
	uint32_t mark;
	uint32_t verdict;
	uint16_t zone;
	uint8_t family; /* AF_INET / AF_INET6 */
	uint8_t proto;
	uint8_t hook; /* enum nw_hook */
	uint8_t flags; /* enum nw_event_flags */
	bool dnat; /* destination rewritten: orig.dst != reply.src */
	bool snat; /* source rewritten: orig.src != reply.dst */
	char comm[NW_COMM_LEN];
	struct nw_tuple orig;
	struct nw_tuple reply;
	struct nw_endpoint landed; /* where it really went: reply.src */
	struct nw_endpoint seen_as; /* source the server sees: reply.dst */
	const char *backend;
	const struct k8s_annot *k8s;
};

/* Whether conn__decode() knows event version @v (include/natwho.h). */
static inline bool conn__event_version_known(unsigned int v)
{
	return v >= NW_EVENT_VERSION_MIN && v <= NW_EVENT_VERSION;
}

/*
 * Two 16-byte address fields hold the same bytes.  Every record compares a
 * few: GCC 12 makes each !memcmp() of them a library call.
 */
static inline bool conn__addr_eq(const uint8_t *a, const uint8_t *b)
{
	uint64_t a0, a1, b0, b1;

	memcpy(&a0, a, 8);
	memcpy(&a1, a + 8, 8);
	memcpy(&b0, b, 8);
	memcpy(&b1, b + 8, 8);
	return !((a0 ^ b0) | (a1 ^ b1));
}

/*
 * Decode one raw ring buffer record: struct nw_event, or an IPv4
 * connection's struct nw_event4.  @boot_to_real_ns is added to the event's
 * boot-time stamp to get wall-clock time.  Returns 0, or -EINVAL for a
 * record of neither size (or a short one that cannot be struct nw_event4),
 * -EPROTO for an unknown event version, -EAFNOSUPPORT for an unknown address
 * family.
 */
int conn__decode(const void *data, size_t size, int64_t boot_to_real_ns,
		 const char *backend, struct conn *c);

bool conn__has_ports(const struct conn *c);
bool conn__proto_has_ports(uint8_t proto);
/* "10.0.0.1" / "fd00::1" */
const char *conn__addr_str(uint8_t family, const uint8_t *addr, char *buf, size_t len);
/*
 * What conn__addr_port_str() writes before the port ("addr:", "[v6addr]:",
 * or "addr" with no port) into @buf (NW_EPSTRLEN bytes); returns its end,
 * where conn__port_put() writes @port's digits (and a NUL; returns its end).
 */
char *conn__addr_prefix(uint8_t family, const uint8_t *addr, bool has_port, char *buf);
char *conn__port_put(char *p, uint16_t port);
/* "addr:port", "[v6addr]:port" or "addr" into @buf (NW_EPSTRLEN bytes). */
const char *conn__addr_port_str(uint8_t family, const uint8_t *addr, uint16_t port, bool has_port,
				char *buf);
/* "10.0.0.1:80" / "[fd00::1]:80"; without port for port-less protocols. */
const char *conn__ep_str(const struct conn *c, const uint8_t *addr, uint16_t port, char *buf,
			 size_t len);
/* "ipv4" / "ipv6" */
const char *conn__family_str(uint8_t family);
/* "postrouting", "local_in", "confirm" */
const char *conn__hook_str(uint8_t hook);

#endif
