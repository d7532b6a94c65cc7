// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Text and JSON rendering of struct conn.  Pure: writes to a FILE only. */
#include <string.h>
#include <time.h>
#include "kindex.h"
#include "parse.h"
#include "sink.h"

#define W_ENDPOINT 21 /* "255.255.255.255:65535" */

void sink__init(struct sink *s, FILE *f, enum out_mode mode, bool utc)
{
	memset(s, 0, sizeof(*s));
	out__init(&s->out, f, mode);
	s->utc = utc;
	s->w_src = W_ENDPOINT;
	s->w_dst = W_ENDPOINT;
	s->tm_sec = -1;
}

/* Calendar strings for @ts_ns's second, converted once per second. */
static void cache_time(struct sink *s, uint64_t ts_ns)
{
	time_t sec = (time_t)(ts_ns / 1000000000ULL);
	struct tm tm;

	if (s->tm_sec == (int64_t)sec)
		return;
	s->tm_sec = sec;
	gmtime_r(&sec, &tm);
	strftime(s->tm_json, sizeof(s->tm_json), "%Y-%m-%dT%H:%M:%S", &tm);
	if (!s->utc)
		localtime_r(&sec, &tm);
	strftime(s->tm_text, sizeof(s->tm_text), "%H:%M:%S", &tm);
}

const char *sink__rfc3339(uint64_t ts_ns, char *buf, size_t len)
{
	time_t sec = (time_t)(ts_ns / 1000000000ULL);
	struct tm tm;

	gmtime_r(&sec, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (unsigned)(ts_ns % 1000000000ULL / 1000));
	return buf;
}

/* "%s.%06u" + @tail without printf: two of these per record. */
static const char *time_str(const char *sec, uint64_t ts_ns, const char *tail, char *buf,
			    size_t len)
{
	unsigned us = (unsigned)(ts_ns % 1000000000ULL / 1000);
	size_t n = strlen(sec), t = strlen(tail);

	if (n + 7 + t + 1 > len) {
		buf[0] = '\0';
		return buf;
	}
	memcpy(buf, sec, n);
	buf[n] = '.';
	for (int i = 6; i >= 1; i--, us /= 10)
		buf[n + i] = (char)('0' + us % 10);
	memcpy(buf + n + 7, tail, t + 1);
	return buf;
}

static const char *text_time(struct sink *s, uint64_t ts_ns, char *buf, size_t len)
{
	cache_time(s, ts_ns);
	return time_str(s->tm_text, ts_ns, "", buf, len);
}

static const char *json_time(struct sink *s, uint64_t ts_ns, char *buf, size_t len)
{
	cache_time(s, ts_ns);
	return time_str(s->tm_json, ts_ns, "Z", buf, len);
}

void sink__header(struct sink *s)
{
	if (s->out.mode != OUT_TEXT || s->header_done)
		return;
	fprintf(s->out.f, "%-15s %-7s %-15s %-5s %-*s %-*s %-9s %s\n", "TIME", "PID", "COMM",
		"PROTO", s->w_src, "SOURCE", s->w_dst, "DESTINATION", "NAT", "LANDED");
	s->header_done = true;
}

static const char *nat_marker(const struct conn *c)
{
	if (c->dnat && c->snat)
		return "DNAT+SNAT";
	if (c->dnat)
		return "DNAT";
	if (c->snat)
		return "SNAT";
	return "-";
}

static void print_tuple(struct out *o, const struct conn *c, const char *key,
			const struct nw_tuple *t)
{
	char a[NW_ADDRSTRLEN];

	out__obj_open(o, key);
	out__str(o, OUT_JSON_ONLY, "src", NULL, conn__addr_str(c->family, t->src, a, sizeof(a)));
	if (conn__has_ports(c))
		out__u64(o, OUT_JSON_ONLY, "sport", NULL, t->sport);
	else
		out__null(o, OUT_JSON_ONLY, "sport", NULL);
	out__str(o, OUT_JSON_ONLY, "dst", NULL, conn__addr_str(c->family, t->dst, a, sizeof(a)));
	if (conn__has_ports(c))
		out__u64(o, OUT_JSON_ONLY, "dport", NULL, t->dport);
	else
		out__null(o, OUT_JSON_ONLY, "dport", NULL);
	out__obj_close(o);
}

static void print_endpoint(struct out *o, const struct conn *c, const char *key,
			   const struct nw_endpoint *ep)
{
	char a[NW_ADDRSTRLEN];

	out__obj_open(o, key);
	out__str(o, OUT_JSON_ONLY, "addr", NULL, conn__addr_str(c->family, ep->addr, a, sizeof(a)));
	if (conn__has_ports(c))
		out__u64(o, OUT_JSON_ONLY, "port", NULL, ep->port);
	else
		out__null(o, OUT_JSON_ONLY, "port", NULL);
	out__obj_close(o);
}

/* JSON: type, schema, ts, backend, hook, family, pid, tid, comm, cgroup,
 * proto, netns */
static void print_head(struct sink *s, const struct conn *c)
{
	struct out *o = &s->out;
	const char *pname = proto_name(c->proto);
	bool task = c->flags & NW_EF_TASK;
	char buf[64];

	out__str(o, OUT_JSON_ONLY, "type", NULL, "conn");
	out__u64(o, OUT_JSON_ONLY, "schema", NULL, NW_JSON_SCHEMA);
	out__str(o, OUT_JSON_ONLY, "ts", NULL, json_time(s, c->ts_ns, buf, sizeof(buf)));
	out__str(o, OUT_JSON_ONLY, "backend", NULL, c->backend);
	out__str(o, OUT_JSON_ONLY, "hook", NULL, conn__hook_str(c->hook));
	out__str(o, OUT_JSON_ONLY, "family", NULL, conn__family_str(c->family));
	if (task) {
		out__u64(o, OUT_ANY, "pid", "%-7llu ", c->tgid);
		out__u64(o, OUT_JSON_ONLY, "tid", NULL, c->pid);
		out__str(o, OUT_ANY, "comm", "%-15s ", c->comm);
		out__u64(o, OUT_JSON_ONLY, "cgroup", NULL, c->cgroup_id);
	} else {
		out__null(o, OUT_ANY, "pid", "%-7s ");
		out__null(o, OUT_JSON_ONLY, "tid", NULL);
		out__null(o, OUT_ANY, "comm", "%-15s ");
		out__null(o, OUT_JSON_ONLY, "cgroup", NULL);
	}
	if (pname) {
		out__str(o, OUT_ANY, "proto", "%-5s ", pname);
	} else { /* a number, as documented */
		out__u64(o, OUT_JSON_ONLY, "proto", NULL, c->proto);
	}
	out__u64(o, OUT_JSON_ONLY, "netns", NULL, c->netns);
}

/*
 * @comm for a terminal: a process names itself, so bytes that would move
 * the cursor, clear the screen or start a line of their own (C0 controls,
 * DEL) are shown as '?'.  JSON escapes them instead.
 */
static const char *text_comm(const char *comm, char *buf)
{
	size_t i;

	for (i = 0; i < NW_COMM_LEN - 1 && comm[i]; i++)
		buf[i] = (unsigned char)comm[i] < 0x20 || comm[i] == 0x7f ? '?' : comm[i];
	buf[i] = '\0';
	return buf;
}

/* Text: TIME PID COMM PROTO; what follows the time as last written for
 * this process and protocol when it was. */
static void print_text_head(struct sink *s, const struct conn *c)
{
	struct out *o = &s->out;
	const char *pname = proto_name(c->proto);
	struct sink_head_key key;
	struct sink_head *h;
	char buf[64];

	out__text_col(o, text_time(s, c->ts_ns, buf, sizeof(buf)), 15, " ");
	memset(&key, 0, sizeof(key));
	key.task = c->flags & NW_EF_TASK;
	if (key.task) {
		key.tgid = c->tgid;
		memcpy(key.comm, c->comm, sizeof(key.comm));
	}
	key.proto = c->proto;
	h = &s->heads[key.tgid & (SINK_REASONS - 1)];
	if (h->frag.valid && !memcmp(&h->key, &key, sizeof(key)) && out__frag_put(o, &h->frag))
		return;
	memcpy(&h->key, &key, sizeof(key));
	out__frag_begin(o, &h->frag);
	if (key.task) {
		out__u64(o, OUT_TEXT_ONLY, NULL, "%-7llu ", c->tgid);
		out__text_col(o, text_comm(c->comm, buf), 15, " ");
	} else {
		out__text_col(o, "-", 7, " ");
		out__text_col(o, "-", 15, " ");
	}
	out__text_col(o, pname ? pname : proto_str(c->proto, buf, sizeof(buf)), 5, " ");
	out__frag_end(o, &h->frag);
}

static int grow(int *w, const char *s)
{
	int n = (int)strlen(s);

	if (n > *w)
		*w = n;
	return *w;
}

/* JSON: orig, reply, dnat, snat, landed, ct_status, mark, zone, confirm */
static void print_path(struct sink *s, const struct conn *c)
{
	struct out *o = &s->out;

	print_tuple(o, c, "orig", &c->orig);
	print_tuple(o, c, "reply", &c->reply);
	out__bool(o, OUT_JSON_ONLY, "dnat", NULL, c->dnat);
	out__bool(o, OUT_JSON_ONLY, "snat", NULL, c->snat);
	print_endpoint(o, c, "landed", &c->landed);
	out__u64(o, OUT_JSON_ONLY, "ct_status", NULL, c->ct_status);
	if (c->flags & NW_EF_MARK)
		out__u64(o, OUT_JSON_ONLY, "mark", NULL, c->mark);
	if (c->flags & NW_EF_ZONE)
		out__u64(o, OUT_JSON_ONLY, "zone", NULL, c->zone);
	if (c->flags & NW_EF_VERDICT)
		out__str(o, OUT_JSON_ONLY, "confirm", NULL, c->verdict ? "accepted" : "dropped");
}

/* The cache slot for @a (reasons and k8s JSON): what a Service's
 * connections differ in first. */
static size_t annot_slot(const struct k8s_annot *a)
{
	return (a->daddr[15] ^ a->daddr[3] ^ a->laddr[15] ^ a->laddr[3] ^ a->dport ^ a->lport ^
		a->why) &
	       (SINK_REASONS - 1);
}

/* k8s_annot__reason(@a), from the cache when this annotation was seen. */
static const char *reason_of(struct sink *s, const struct k8s_annot *a)
{
	struct sink_reason *r = &s->reasons[annot_slot(a)];
	struct k8s_annot key;

	memcpy(&key, a, sizeof(key)); /* memcpy: padding as kindex__annotate() zeroed it */
	memset(&key.source, 0, sizeof(key.source));
	memset(key.saddr, 0, sizeof(key.saddr)); /* the reason does not name the source */
	if (!r->valid || memcmp(&r->key, &key, sizeof(key))) {
		memcpy(&r->key, &key, sizeof(key));
		k8s_annot__reason(a, r->text, sizeof(r->text));
		r->valid = true;
	}
	return r->text;
}

/* The k8s object (JSON): the bytes of the last record with this annotation
 * when there are some. */
static void print_k8s(struct sink *s, const struct k8s_annot *a)
{
	struct sink_k8s_json *e = &s->k8s_json[annot_slot(a)];
	struct k8s_annot key;

	memcpy(&key, a, sizeof(key)); /* memcpy: padding as kindex__annotate() zeroed it */
	memset(key.saddr, 0, sizeof(key.saddr));
	if (e->frag.valid && !memcmp(&e->key, &key, sizeof(key)) && out__frag_put(&s->out, &e->frag))
		return;
	memcpy(&e->key, &key, sizeof(key));
	out__frag_begin(&s->out, &e->frag);
	k8s_annot__print(&s->out, a, reason_of(s, a));
	out__frag_end(&s->out, &e->frag);
}

/* Text: DESTINATION NAT LANDED [(from SEEN_AS)] [VERDICT REASON] */
static void print_text_tail(struct sink *s, const struct conn *c)
{
	struct out *o = &s->out;
	char dst[NW_EPSTRLEN], landed[NW_EPSTRLEN], seen[NW_EPSTRLEN];

	conn__ep_str(c, c->orig.dst, c->orig.dport, dst, sizeof(dst));
	conn__ep_str(c, c->landed.addr, c->landed.port, landed, sizeof(landed));
	out__text_col(o, dst, grow(&s->w_dst, dst), " ");
	out__text_col(o, nat_marker(c), 9, " ");
	out__text_col(o, landed, 0, "");
	if (c->snat) {
		out__text_str(o, " (from ");
		out__text_col(o, conn__ep_str(c, c->seen_as.addr, c->seen_as.port, seen, sizeof(seen)),
			      0, ")");
	}
	if (c->k8s)
		k8s_annot__print(o, c->k8s, reason_of(s, c->k8s));
}

/* Text: SOURCE, then the tail, from the cache when this route's was kept. */
static void print_text_path(struct sink *s, const struct conn *c)
{
	struct out *o = &s->out;
	char src[NW_EPSTRLEN];
	struct sink_tail_key key;
	struct sink_tail *t;

	conn__ep_str(c, c->orig.src, c->orig.sport, src, sizeof(src));
	out__text_col(o, src, grow(&s->w_src, src), " ");

	memset(&key, 0, sizeof(key));
	if (c->k8s) { /* what reason_of() keys the sentence by */
		memcpy(&key.annot, c->k8s, sizeof(key.annot));
		memset(&key.annot.source, 0, sizeof(key.annot.source));
		memset(key.annot.saddr, 0, sizeof(key.annot.saddr));
		key.k8s = true;
	}
	memcpy(key.dst, c->orig.dst, sizeof(key.dst));
	memcpy(key.landed, c->landed.addr, sizeof(key.landed));
	key.dport = c->orig.dport;
	key.lport = c->landed.port;
	if (c->snat) {
		memcpy(key.seen, c->seen_as.addr, sizeof(key.seen));
		key.seen_port = c->seen_as.port;
	}
	key.family = c->family;
	key.proto = c->proto;
	key.dnat = c->dnat;
	key.snat = c->snat;
	key.w_dst = s->w_dst; /* a wider column since: written again */
	t = &s->tails[(key.dst[15] ^ key.dst[3] ^ key.landed[15] ^ key.landed[3] ^ key.dport ^
		       key.lport) &
		      (SINK_REASONS - 1)];
	if (t->frag.valid && !memcmp(&t->key, &key, sizeof(key)) && out__frag_put(o, &t->frag))
		return;
	memcpy(&t->key, &key, sizeof(key));
	out__frag_begin(o, &t->frag);
	print_text_tail(s, c);
	out__frag_end(o, &t->frag);
}

void sink__conn(struct sink *s, const struct conn *c)
{
	sink__header(s);
	out__obj_open(&s->out, NULL);
	if (s->out.mode == OUT_TEXT) {
		print_text_head(s, c);
		print_text_path(s, c);
	} else {
		print_head(s, c);
		print_path(s, c);
		if (c->k8s)
			print_k8s(s, c->k8s);
	}
	out__record_end(&s->out);
}

void sink__summary(struct sink *s, FILE *text_f, const struct nw_stats *st)
{
	double secs = st->end_ns > st->start_ns ? (st->end_ns - st->start_ns) / 1e9 : 0;
	struct out *o = &s->out;
	char joins[48] = "", k8s[80] = ""; /* only when they apply, in both forms */

	if (st->join)
		snprintf(joins, sizeof(joins), ", %llu joins missed",
			 (unsigned long long)st->join_missed);
	if (st->k8s || st->hidden)
		snprintf(k8s, sizeof(k8s), ", %llu MISMATCH, %llu not shown",
			 (unsigned long long)st->mismatches, (unsigned long long)st->hidden);
	if (o->mode == OUT_TEXT) {
		fprintf(text_f,
			"natwho: %llu events, %llu lost, %llu undecodable%s%s"
			" in %.1fs (backend %s)\n",
			(unsigned long long)st->events, (unsigned long long)st->lost,
			(unsigned long long)st->undecodable, joins, k8s, secs,
			st->backend ? st->backend : "-");
		return;
	}
	out__obj_open(o, NULL);
	out__str(o, OUT_JSON_ONLY, "type", NULL, "summary");
	out__u64(o, OUT_JSON_ONLY, "schema", NULL, NW_JSON_SCHEMA);
	out__str(o, OUT_JSON_ONLY, "backend", NULL, st->backend);
	out__u64(o, OUT_JSON_ONLY, "events", NULL, st->events);
	out__u64(o, OUT_JSON_ONLY, "lost", NULL, st->lost);
	out__u64(o, OUT_JSON_ONLY, "undecodable", NULL, st->undecodable);
	if (st->join)
		out__u64(o, OUT_JSON_ONLY, "join_missed", NULL, st->join_missed);
	if (st->k8s || st->hidden) {
		out__u64(o, OUT_JSON_ONLY, "mismatches", NULL, st->mismatches);
		out__u64(o, OUT_JSON_ONLY, "hidden", NULL, st->hidden);
	}
	out__f64(o, OUT_JSON_ONLY, "duration_s", NULL, secs);
	out__record_end(o);
}
