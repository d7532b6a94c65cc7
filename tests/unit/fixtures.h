/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Raw struct nw_event records as the netfilter backend delivered them in the
 * incident topology (tests/lib/netns.sh), for decode and sink tests.
 */
#ifndef NW_TEST_FIXTURES_H
#define NW_TEST_FIXTURES_H

#include <arpa/inet.h>
#include <string.h>
#include "natwho.h"

#define FIX_BOOT_NS 1000000000000ULL /* 1000 s after boot */
#define FIX_BOOT_TO_REAL 1795612800000000000LL /* 2026-11-25T00:00:00Z minus 1000 s*/

static inline void fix_addr(int family, const char *s, __u8 *dst)
{
	memset(dst, 0, 16);
	inet_pton(family, s, dst);
}

static inline void fix_tuple(struct nw_tuple *t, int family, const char *src, __u16 sport,
			     const char *dst, __u16 dport)
{
	fix_addr(family, src, t->src);
	fix_addr(family, dst, t->dst);
	t->sport = sport;
	t->dport = dport;
}

enum fixture {
	FIX_INCIDENT_V4, /* node process -> ClusterIP:3306, DNAT to pod B, with task */
	FIX_FORWARDED_UDP, /* pod -> DNS ClusterIP, forwarded, no task */
	FIX_INCIDENT_V6, /* IPv6 version of the incident */
	FIX_MASQUERADE, /* SNAT only: pod -> outside, masqueraded */
	FIX_NO_NAT, /* plain local connection, no translation */
	FIX_ICMP, /* port-less protocol */
	FIX_COUNT,
};

static inline void fix_event(enum fixture f, struct nw_event *e)
{
	memset(e, 0, sizeof(*e));
	e->version = NW_EVENT_VERSION;
	e->ts_boot_ns = FIX_BOOT_NS + (__u64)f * 1234567;
	e->netns = 4026532123u;
	e->ct_status = 0x188; /* SRC_NAT_DONE | DST_NAT_DONE | DST_NAT */
	e->flags = NW_EF_MARK | NW_EF_ZONE;
	e->hook = NW_HOOK_POSTROUTING;
	e->family = AF_INET;
	e->proto = IPPROTO_TCP;
	switch (f) {
	case FIX_INCIDENT_V4:
		e->flags |= NW_EF_TASK;
		e->pid = e->tgid = 4242;
		e->cgroup_id = 7777;
		strcpy(e->comm, "mysql");
		fix_tuple(&e->orig, AF_INET, "10.96.0.20", 45232, "10.96.0.20", 3306);
		fix_tuple(&e->reply, AF_INET, "10.224.0.222", 3306, "10.96.0.20", 45232);
		break;
	case FIX_FORWARDED_UDP:
		e->proto = IPPROTO_UDP;
		e->mark = 0x4000;
		fix_tuple(&e->orig, AF_INET, "10.224.1.5", 35272, "10.96.0.10", 53);
		fix_tuple(&e->reply, AF_INET, "10.224.1.5", 53, "10.224.1.5", 35272);
		break;
	case FIX_INCIDENT_V6:
		e->family = AF_INET6;
		e->flags |= NW_EF_TASK;
		e->pid = 4301;
		e->tgid = 4300;
		strcpy(e->comm, "mysql \"cli\"");
		fix_tuple(&e->orig, AF_INET6, "fd00:96::20", 56160, "fd00:96::20", 3306);
		fix_tuple(&e->reply, AF_INET6, "fd00:224::222", 3306, "fd00:96::20", 56160);
		break;
	case FIX_MASQUERADE:
		e->ct_status = 0x198;
		fix_tuple(&e->orig, AF_INET, "10.224.1.5", 40000, "192.0.2.10", 443);
		fix_tuple(&e->reply, AF_INET, "192.0.2.10", 443, "198.51.100.7", 61000);
		break;
	case FIX_NO_NAT:
		e->flags |= NW_EF_TASK;
		e->pid = e->tgid = 99;
		strcpy(e->comm, "curl");
		fix_tuple(&e->orig, AF_INET, "10.224.1.1", 50000, "10.224.1.5", 80);
		fix_tuple(&e->reply, AF_INET, "10.224.1.5", 80, "10.224.1.1", 50000);
		break;
	case FIX_ICMP:
		e->proto = IPPROTO_ICMP;
		e->hook = NW_HOOK_LOCAL_IN;
		fix_tuple(&e->orig, AF_INET, "10.224.1.5", 0, "10.96.0.20", 0);
		fix_tuple(&e->reply, AF_INET, "10.96.0.20", 0, "10.224.1.5", 0);
		break;
	default:
		break;
	}
}

#endif
