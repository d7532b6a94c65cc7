// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The verdict of `natwho -- CMD`: connections, DNATs and where to.  Pure. */
#include <signal.h>
#include <string.h>
#include "parse.h"
#include "sink.h"
#include "verdict.h"

void verdict__init(struct verdict *v)
{
	memset(v, 0, sizeof(*v));
}

static bool route_is(const struct verdict_route *r, const struct conn *c)
{
	return r->family == c->family && r->proto == c->proto &&
	       r->dst.port == c->orig.dport && r->landed.port == c->landed.port &&
	       !memcmp(r->dst.addr, c->orig.dst, sizeof(r->dst.addr)) &&
	       !memcmp(r->landed.addr, c->landed.addr, sizeof(r->landed.addr));
}

void verdict__add(struct verdict *v, const struct conn *c)
{
	struct verdict_route *r;

	v->conns++;
	v->own += !!(c->flags & NW_EF_TASK);
	v->snat += c->snat;
	if (!c->dnat)
		return;
	v->dnat++;
	for (int i = 0; i < v->nroutes; i++) {
		if (route_is(&v->routes[i], c)) {
			v->routes[i].count++;
			return;
		}
	}
	if (v->nroutes == VERDICT_MAX_ROUTES) {
		v->routes_other++;
		return;
	}
	r = &v->routes[v->nroutes++];
	r->family = c->family;
	r->proto = c->proto;
	memcpy(r->dst.addr, c->orig.dst, sizeof(r->dst.addr));
	r->dst.port = c->orig.dport;
	r->landed = c->landed;
	r->count = 1;
}

/* "tcp 10.96.0.20:3306 -> 10.224.0.222:3306" */
static const char *route_str(const struct verdict_route *r, char *buf, size_t len)
{
	char dst[NW_EPSTRLEN], landed[NW_EPSTRLEN], num[4];
	const char *pname = proto_str(r->proto, num, sizeof(num));
	bool ports = conn__proto_has_ports(r->proto);

	snprintf(buf, len, "%s %s -> %s", pname,
		 conn__addr_port_str(r->family, r->dst.addr, r->dst.port, ports, dst),
		 conn__addr_port_str(r->family, r->landed.addr, r->landed.port, ports, landed));
	return buf;
}

static void print_text(const struct verdict *v, const struct verdict_end *end, FILE *f)
{
	char how[64], route[2 * NW_EPSTRLEN + 16];

	if (end->signal)
		snprintf(how, sizeof(how), "was killed by signal %d (%s)", end->signal,
			 strsignal(end->signal));
	else
		snprintf(how, sizeof(how), "exited with status %d", end->status);
	fprintf(f,
		"natwho: '%s' %s: %llu connection%s (%llu from a local process), %llu DNAT'ed, "
		"%llu SNAT'ed\n",
		end->command, how, (unsigned long long)v->conns, v->conns == 1 ? "" : "s",
		(unsigned long long)v->own, (unsigned long long)v->dnat, (unsigned long long)v->snat);
	for (int i = 0; i < v->nroutes; i++)
		fprintf(f, "natwho:   %s  %llux\n", route_str(&v->routes[i], route, sizeof(route)),
			(unsigned long long)v->routes[i].count);
	if (v->routes_other)
		fprintf(f, "natwho:   and %llu more DNAT'ed to other destinations\n",
			(unsigned long long)v->routes_other);
	if (end->cut)
		fprintf(f, "natwho:   tracing ended before '%s' did (%s): its later connections are "
			"not counted\n",
			end->command, end->cut);
}

void verdict__print(const struct verdict *v, const struct verdict_end *end, struct out *o,
		    FILE *text_f)
{
	char route[2 * NW_EPSTRLEN + 16];

	if (o->mode == OUT_TEXT) {
		print_text(v, end, text_f);
		return;
	}
	out__obj_open(o, NULL);
	out__str(o, OUT_JSON_ONLY, "type", NULL, "verdict");
	out__u64(o, OUT_JSON_ONLY, "schema", NULL, NW_JSON_SCHEMA);
	out__str(o, OUT_JSON_ONLY, "command", NULL, end->command);
	if (end->signal) {
		out__null(o, OUT_JSON_ONLY, "status", NULL);
		out__u64(o, OUT_JSON_ONLY, "signal", NULL, end->signal);
	} else {
		out__u64(o, OUT_JSON_ONLY, "status", NULL, end->status);
		out__null(o, OUT_JSON_ONLY, "signal", NULL);
	}
	out__u64(o, OUT_JSON_ONLY, "connections", NULL, v->conns);
	out__u64(o, OUT_JSON_ONLY, "local_process", NULL, v->own);
	out__u64(o, OUT_JSON_ONLY, "dnat", NULL, v->dnat);
	out__u64(o, OUT_JSON_ONLY, "snat", NULL, v->snat);
	out__obj_open(o, "routes");
	for (int i = 0; i < v->nroutes; i++)
		out__u64(o, OUT_JSON_ONLY, route_str(&v->routes[i], route, sizeof(route)), NULL,
			 v->routes[i].count);
	out__obj_close(o);
	out__u64(o, OUT_JSON_ONLY, "routes_other", NULL, v->routes_other);
	if (end->cut)
		out__str(o, OUT_JSON_ONLY, "cut_short", NULL, end->cut);
	else
		out__null(o, OUT_JSON_ONLY, "cut_short", NULL);
	out__record_end(o);
}
