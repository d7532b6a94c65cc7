/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The short verdict `natwho -- CMD` prints when CMD is done: how many
 * connections it made, how many were DNAT'ed, and where to.  Pure.
 *
 * Text (on @text_f, stderr, like the summary):
 *   natwho: 'curl' exited with status 0: 3 connections, 2 DNAT'ed
 *   natwho:   tcp 10.96.0.20:3306 -> 10.224.0.222:3306  2x
 * JSON (one record on the sink's stream):
 *   {"type":"verdict","schema":1,"command":"curl","status":0,"signal":null,
 *    "connections":3,"dnat":2,"snat":0,
 *    "routes":{"tcp 10.96.0.20:3306 -> 10.224.0.222:3306":2},"routes_other":0}
 */
#ifndef NW_VERDICT_H
#define NW_VERDICT_H

#include <stdint.h>
#include <stdio.h>
#include "conn.h"
#include "out.h"

#define VERDICT_MAX_ROUTES 16

/* One translation: meant for dst, landed on landed. */
struct verdict_route {
	uint8_t family, proto;
	struct nw_endpoint dst, landed;
	uint64_t count;
};

struct verdict {
	uint64_t conns; /* connections shown while CMD ran */
	uint64_t own; /* of them, with a local process (CMD's, under --children) */
	uint64_t dnat, snat;
	struct verdict_route routes[VERDICT_MAX_ROUTES]; /* in order of first sight */
	int nroutes;
	uint64_t routes_other; /* DNAT'ed connections of routes that did not fit */
};

/* How CMD ended, for the first line. */
struct verdict_end {
	const char *command; /* argv[0] */
	int status; /* exit status, when signal is 0 */
	int signal; /* the signal that killed it, or 0 */
	const char *cut; /* tracing ended before CMD did: why ("--count reached"); NULL: not */
};

void verdict__init(struct verdict *v);
void verdict__add(struct verdict *v, const struct conn *c);
void verdict__print(const struct verdict *v, const struct verdict_end *end, struct out *o,
		    FILE *text_f);

#endif
