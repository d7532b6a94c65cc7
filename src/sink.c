// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Text and JSON rendering of struct conn.  Pure: writes to a FILE only. */
#include <stddef.h>
#include <string.h>
#include <time.h>
#include "fmt.h"
#include "kindex.h"
#include "parse.h"
#include "sink.h"

#define W_ENDPOINT 21 /* "255.255.255.255:65535" */
#define W_PROTO 5 /* "icmp", "sctp"; icmpv6 and udplite grow it */

void sink__init(struct sink *s, FILE *f, enum out_mode mode, bool utc)
{
	memset(s, 0, sizeof(*s));
	out__init(&s->out, f, mode);
	s->utc = utc;
	s->w_proto = W_PROTO;
	s->w_src = W_ENDPOINT;
	s->w_dst = W_ENDPOINT;
	s->w_landed = W_ENDPOINT;
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
	s->tm_json_len = strftime(s->tm_json, sizeof(s->tm_json), "%Y-%m-%dT%H:%M:%S", &tm);
	if (!s->utc)
		localtime_r(&sec, &tm);
	s->tm_text_len = strftime(s->tm_text, sizeof(s->tm_text), "%H:%M:%S", &tm);
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

/* @sec (@n bytes) "." microseconds @tail without printf, into @buf (not
 * NUL-terminated); returns the length. */
#define TIME_STR_LEN 32
static size_t time_str(const char *sec, size_t n, uint64_t ts_ns, const char *tail, size_t t,
		       char buf[TIME_STR_LEN])
{
	unsigned us = (unsigned)(ts_ns % 1000000000ULL / 1000);

	if (n + 7 + t > TIME_STR_LEN) /* never: strftime() of a fixed format */
		return 0;
	memcpy(buf, sec, n);
	buf[n] = '.';
	fmt__2dig(buf + n + 1, us / 10000);
	fmt__2dig(buf + n + 3, us / 100);
	fmt__2dig(buf + n + 5, us);
	memcpy(buf + n + 7, tail, t);
	return n + 7 + t;
}

/* "13:20:01.123456" */
static size_t text_time(struct sink *s, uint64_t ts_ns, char buf[TIME_STR_LEN])
{
	cache_time(s, ts_ns);
	return time_str(s->tm_text, s->tm_text_len, ts_ns, "", 0, buf);
}

/* "2026-11-25T13:20:01.123456Z" and the string's closing quote */
static size_t json_time(struct sink *s, uint64_t ts_ns, char buf[TIME_STR_LEN])
{
	cache_time(s, ts_ns);
	return time_str(s->tm_json, s->tm_json_len, ts_ns, "Z\"", 2, buf);
}

void sink__header(struct sink *s)
{
	if (s->out.mode != OUT_TEXT || s->header_done)
		return;
	fprintf(s->out.f, "%-15s %-7s %-15s %-*s %-*s %-*s %-9s %s\n", "TIME", "PID", "COMM",
		s->w_proto, "PROTO", s->w_src, "SOURCE", s->w_dst, "DESTINATION", "NAT", "LANDED");
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

/* "orig" and "reply" (JSON, with ports) from the pieces kept for them. */
static void print_tuples_json(struct sink *s, const struct conn *c)
{
	char a[NW_ADDRSTRLEN], b[NW_ADDRSTRLEN], r[NW_ADDRSTRLEN], d[NW_ADDRSTRLEN];
	struct sink_tuples_key key;
	struct sink_tuples *t;

	memset(&key, 0, sizeof(key));
	memcpy(key.osrc, c->orig.src, sizeof(key.osrc));
	memcpy(key.odst, c->orig.dst, sizeof(key.odst));
	memcpy(key.rsrc, c->reply.src, sizeof(key.rsrc));
	memcpy(key.rdst, c->reply.dst, sizeof(key.rdst));
	key.odport = c->orig.dport;
	key.rsport = c->reply.sport;
	key.family = c->family;
	t = &s->tuples[(key.odst[15] ^ key.odst[3] ^ key.rsrc[15] ^ key.rsrc[3] ^ key.osrc[15] ^
			key.odport ^ key.rsport) &
		       (SINK_REASONS - 1)];
	if (!t->valid || memcmp(&t->key, &key, sizeof(key))) {
		t->valid = false;
		conn__addr_str(c->family, c->orig.src, a, sizeof(a));
		conn__addr_str(c->family, c->orig.dst, b, sizeof(b));
		conn__addr_str(c->family, c->reply.src, r, sizeof(r));
		conn__addr_str(c->family, c->reply.dst, d, sizeof(d));
		/* never cut: the parts hold the longest addresses (sink.h) */
		t->len1 = (size_t)snprintf(t->part1, sizeof(t->part1),
					   "\"orig\":{\"src\":\"%s\",\"sport\":", a);
		t->len2 = (size_t)snprintf(t->part2, sizeof(t->part2),
					   ",\"dst\":\"%s\",\"dport\":%u},\"reply\":{\"src\":\"%s\","
					   "\"sport\":%u,\"dst\":\"%s\",\"dport\":",
					   b, c->orig.dport, r, c->reply.sport, d);
		memcpy(&t->key, &key, sizeof(key)); /* padding too: memcmp() compares it */
		t->valid = true;
	}
	out__json_members(&s->out, t->part1, t->len1);
	out__json_raw_u64(&s->out, c->orig.sport);
	out__json_raw(&s->out, t->part2, t->len2);
	out__json_raw_u64(&s->out, c->reply.dport);
	out__json_raw(&s->out, "}", 1);
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

/* A text column's width, grown to fit @n. */
static int grow(int *w, size_t n)
{
	if ((int)n > *w)
		*w = (int)n;
	return *w;
}

/* The bytes of UTF-8 string @s past its characters' count (continuation
 * bytes): what a byte width over-counts. */
static int utf8_extra(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) == 0x80;
	return n;
}

/* @comm for a terminal: a process names itself (fmt__clean()).  JSON
 * escapes it instead. */
static const char *text_comm(const char *comm, char *buf)
{
	memcpy(buf, comm, NW_COMM_LEN - 1);
	buf[NW_COMM_LEN - 1] = '\0';
	return fmt__clean(buf);
}

/*
 * Put back the piece kept in @f when its key @kept equals @key (@n bytes);
 * else take @key and start keeping what is written next (the caller writes
 * the piece and ends with out__frag_end()).
 */
static bool piece_put(struct out *o, struct out_frag *f, void *kept, const void *key, size_t n)
{
	if (f->valid && !memcmp(kept, key, n) && out__frag_put(o, f))
		return true;
	memcpy(kept, key, n);
	out__frag_begin(o, f);
	return false;
}

/* Text: TIME PID COMM PROTO.  JSON: "type" to "netns". */
static void print_head(struct sink *s, const struct conn *c)
{
	struct out *o = &s->out;
	bool task = c->flags & NW_EF_TASK, text = o->mode == OUT_TEXT, keep = true;
	struct sink_head_key key;
	struct sink_head *h;
	char buf[64], pbuf[8];
	const char *pname = proto_str(c->proto, pbuf, sizeof(pbuf));
	size_t n;

	if (text) {
		n = text_time(s, c->ts_ns, buf);
		out__text_col_n(o, buf, n, 15, " ", 1);
	} else {
		/* the time needs no escapes: written as it is */
		static const char lead[] = "\"type\":\"conn\",\"schema\":" SINK_STR(
			NW_JSON_SCHEMA) ",\"ts\":\"";

		n = json_time(s, c->ts_ns, buf);
		out__json_members(o, lead, sizeof(lead) - 1);
		out__json_raw(o, buf, n);
	}
	memset(&key, 0, sizeof(key));
	key.task = task;
	if (task) {
		key.tgid = c->tgid;
		memcpy(key.comm, c->comm, sizeof(key.comm));
	}
	key.proto = c->proto;
	if (text)
		key.w_proto = (uint8_t)grow(&s->w_proto, strlen(pname));
	if (!text) {
		if (task)
			key.pid = c->pid;
		key.cgroup = c->cgroup_id;
		key.hook = c->hook;
		key.family = c->family;
		key.netns = c->netns;
		keep = c->backend && strlen(c->backend) < sizeof(key.backend);
		if (keep)
			strcpy(key.backend, c->backend);
	}
	h = &s->heads[(key.tgid ^ key.pid) & (SINK_REASONS - 1)];
	if (keep && piece_put(o, &h->frag, &h->key, &key, sizeof(key)))
		return;
	if (text) {
		if (task) {
			out__u64(o, OUT_TEXT_ONLY, NULL, "%-7llu ", c->tgid);
			const char *cm = text_comm(c->comm, buf);

			/* 15 characters on screen: a UTF-8 name's bytes past one */
			out__text_col(o, cm, 15 + utf8_extra(cm), " ");
		} else {
			out__text_col(o, "-", 7, " ");
			out__text_col(o, "-", 15, " ");
		}
		out__text_col(o, pname, s->w_proto, " ");
	} else {
		out__str(o, OUT_JSON_ONLY, "backend", NULL, c->backend);
		out__str(o, OUT_JSON_ONLY, "hook", NULL, conn__hook_str(c->hook));
		out__str(o, OUT_JSON_ONLY, "family", NULL, conn__family_str(c->family));
		if (task) {
			out__u64(o, OUT_JSON_ONLY, "pid", NULL, c->tgid);
			out__u64(o, OUT_JSON_ONLY, "tid", NULL, c->pid);
			out__str(o, OUT_JSON_ONLY, "comm", NULL, c->comm);
			out__u64(o, OUT_JSON_ONLY, "cgroup", NULL, c->cgroup_id);
		} else {
			out__null(o, OUT_JSON_ONLY, "pid", NULL);
			out__null(o, OUT_JSON_ONLY, "tid", NULL);
			out__null(o, OUT_JSON_ONLY, "comm", NULL);
			if (c->cgroup_id) /* --cgroup: known without the process */
				out__u64(o, OUT_JSON_ONLY, "cgroup", NULL, c->cgroup_id);
			else
				out__null(o, OUT_JSON_ONLY, "cgroup", NULL);
		}
		if (pname)
			out__str(o, OUT_JSON_ONLY, "proto", NULL, pname);
		else /* a number, as documented */
			out__u64(o, OUT_JSON_ONLY, "proto", NULL, c->proto);
		out__u64(o, OUT_JSON_ONLY, "netns", NULL, c->netns);
	}
	if (keep)
		out__frag_end(o, &h->frag);
}

/* A text column's width *@w, grown to hold @n characters. */
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

/* fentry/kprobe saw conntrack drop the entry at its insert: the connection
 * never went anywhere (JSON "confirm":"dropped"). */
static bool conn_dropped(const struct conn *c)
{
	return (c->flags & NW_EF_VERDICT) && !c->verdict;
}

/* The bytes of @key that can differ: the annotation, last, only with one. */
static size_t tail_key_len(const struct sink_tail_key *key)
{
	return key->k8s ? sizeof(*key) : offsetof(struct sink_tail_key, annot);
}

/* The tail's key for @c in the sink's form (struct sink_tail_key); the
 * annotation is left as it was unless there is one (tail_key_len()). */
static void tail_key(const struct sink *s, const struct conn *c, struct sink_tail_key *key)
{
	memset(key, 0, offsetof(struct sink_tail_key, annot));
	memcpy(key->landed, c->landed.addr, sizeof(key->landed));
	key->lport = c->landed.port;
	key->family = c->family;
	key->proto = c->proto;
	key->dnat = c->dnat;
	key->snat = c->snat;
	if (s->out.mode == OUT_TEXT) {
		if (c->k8s) { /* the sentence, and the source pod after it */
			memcpy(&key->annot, c->k8s, sizeof(key->annot));
			memset(key->annot.saddr, 0, sizeof(key->annot.saddr));
			key->k8s = true;
		}
		memcpy(key->dst, c->orig.dst, sizeof(key->dst));
		key->dport = c->orig.dport;
		key->verdict = conn_dropped(c);
		if (c->snat) {
			memcpy(key->seen, c->seen_as.addr, sizeof(key->seen));
			key->seen_port = c->seen_as.port;
		}
		key->w_dst = s->w_dst;
		key->w_landed = s->w_landed;
	} else {
		key->ct_status = c->ct_status;
		key->flags = c->flags;
		key->mark = c->mark;
		key->zone = c->zone;
		key->verdict = c->verdict;
	}
}

/* Text SOURCE, "addr:port", into @buf (NW_EPSTRLEN bytes): the address
 * part as kept from the last record, the port written; returns the length. */
static size_t source_str(struct sink *s, const struct conn *c, char *buf)
{
	struct sink_source *k = &s->source;
	bool ports = conn__has_ports(c);

	if (!k->len || k->family != c->family || k->ports != ports ||
	    !conn__addr_eq(k->addr, c->orig.src)) {
		k->len = (size_t)(conn__addr_prefix(c->family, c->orig.src, ports, k->text) -
				  k->text);
		k->family = c->family;
		k->ports = ports;
		memcpy(k->addr, c->orig.src, sizeof(k->addr));
	}
	memcpy(buf, k->text, k->len);
	return ports ? (size_t)(conn__port_put(buf + k->len, c->orig.sport) - buf) : k->len;
}

/*
 * Text: SOURCE DESTINATION NAT LANDED [(from SEEN_AS)] [VERDICT REASON].
 * JSON: "orig" to "confirm" (the k8s object follows apart).
 */
static void print_path(struct sink *s, const struct conn *c)
{
	struct out *o = &s->out;
	char a[NW_EPSTRLEN], b[NW_EPSTRLEN], l[2 * NW_EPSTRLEN + 8];
	struct sink_tail_key key;
	struct sink_tail *t;

	if (o->mode == OUT_TEXT) {
		size_t n = source_str(s, c, a);

		out__text_col_n(o, a, n, grow(&s->w_src, n), " ", 1);
	} else if (conn__has_ports(c)) {
		print_tuples_json(s, c);
	} else {
		print_tuple(o, c, "orig", &c->orig);
		print_tuple(o, c, "reply", &c->reply);
	}
	tail_key(s, c, &key);
	t = &s->tails[(key.landed[15] ^ key.landed[3] ^ key.dst[15] ^ key.dst[3] ^ key.dport ^
		       key.lport) &
		      (SINK_REASONS - 1)];
	if (piece_put(o, &t->frag, &t->key, &key, tail_key_len(&key)))
		return;
	if (o->mode == OUT_TEXT) {
		size_t n;

		conn__ep_str(c, c->orig.dst, c->orig.dport, a, sizeof(a));
		out__text_col(o, a, grow(&s->w_dst, strlen(a)), " ");
		out__text_col(o, nat_marker(c), 9, " ");
		/* LANDED [(from SEEN_AS)], padded when a verdict or note follows:
		 * the verdicts line up as the columns before them do */
		n = strlen(conn__ep_str(c, c->landed.addr, c->landed.port, l, sizeof(l)));
		if (c->snat)
			n += (size_t)snprintf(l + n, sizeof(l) - n, " (from %s)",
					      conn__ep_str(c, c->seen_as.addr, c->seen_as.port, b,
							   sizeof(b)));
		out__text_col_n(o, l, n, c->k8s || conn_dropped(c) ? grow(&s->w_landed, n) : 0, "",
				0);
		if (conn_dropped(c))
			out__text_str(o, " (dropped by conntrack at its insert)");
		if (c->k8s)
			k8s_annot__print(o, c->k8s, reason_of(s, c->k8s));
	} else {
		out__bool(o, OUT_JSON_ONLY, "dnat", NULL, c->dnat);
		out__bool(o, OUT_JSON_ONLY, "snat", NULL, c->snat);
		print_endpoint(o, c, "landed", &c->landed);
		out__u64(o, OUT_JSON_ONLY, "ct_status", NULL, c->ct_status);
		if (c->flags & NW_EF_MARK)
			out__u64(o, OUT_JSON_ONLY, "mark", NULL, c->mark);
		if (c->flags & NW_EF_ZONE)
			out__u64(o, OUT_JSON_ONLY, "zone", NULL, c->zone);
		if (c->flags & NW_EF_VERDICT)
			out__str(o, OUT_JSON_ONLY, "confirm", NULL,
				 c->verdict ? "accepted" : "dropped");
	}
	out__frag_end(o, &t->frag);
}

/* The k8s object (JSON), kept per annotation. */
static void print_k8s(struct sink *s, const struct k8s_annot *a)
{
	struct sink_k8s_json *e = &s->k8s_json[annot_slot(a)];
	struct k8s_annot key;

	memcpy(&key, a, sizeof(key)); /* memcpy: padding as kindex__annotate() zeroed it */
	memset(key.saddr, 0, sizeof(key.saddr));
	if (piece_put(&s->out, &e->frag, &e->key, &key, sizeof(key)))
		return;
	k8s_annot__print(&s->out, a, reason_of(s, a));
	out__frag_end(&s->out, &e->frag);
}

void sink__conn(struct sink *s, const struct conn *c)
{
	sink__header(s);
	out__obj_open(&s->out, NULL);
	print_head(s, c);
	print_path(s, c);
	if (c->k8s && s->out.mode == OUT_JSON)
		print_k8s(s, c->k8s);
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
	if (st->k8s || st->hidden || st->mismatches)
		snprintf(k8s, sizeof(k8s), ", %llu MISMATCH, %llu hidden",
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
	if (st->k8s || st->hidden || st->mismatches) {
		out__u64(o, OUT_JSON_ONLY, "mismatches", NULL, st->mismatches);
		out__u64(o, OUT_JSON_ONLY, "hidden", NULL, st->hidden);
	}
	out__f64(o, OUT_JSON_ONLY, "duration_s", NULL, secs);
	out__record_end(o);
}
