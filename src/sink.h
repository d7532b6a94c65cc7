/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Sinks: render struct conn records and the run summary as text or JSON. */
#ifndef NW_SINK_H
#define NW_SINK_H

#include <stddef.h>
#include <stdio.h>
#include "conn.h"
#include "kindex.h"
#include "out.h"

#define NW_JSON_SCHEMA 1
#define SINK_STR_(x) #x
#define SINK_STR(x) SINK_STR_(x) /* a macro's value as a string literal */

struct nw_stats {
	uint64_t events; /* records rendered */
	uint64_t lost; /* ring buffer reservations that failed in BPF */
	uint64_t undecodable; /* records with a bad size or version */
	uint64_t join_missed; /* --cgroup: connections whose socket record was missing */
	bool join; /* --cgroup/--pod given: join_missed is meaningful */
	uint64_t mismatches; /* connections with the k8s verdict "mismatch" */
	uint64_t hidden; /* not printed: --mismatch-only */
	bool k8s; /* Kubernetes/rules knowledge was available at some point */
	uint64_t start_ns, end_ns; /* wall clock */
	const char *backend;
};

/*
 * k8s reasons already written: connections to one Service usually land on
 * the same few endpoints, and the sentence costs more than the rest of a
 * record.  Keyed by the whole annotation but its source (which the sentence
 * does not use): its strings are the index's, and index_gen tells indexes
 * apart, so a reloaded index never matches an entry of the one it replaced.
 */
#define SINK_REASONS 8 /* power of two */

struct sink_reason {
	bool valid;
	struct k8s_annot key; /* .source zeroed */
	char text[K8S_REASON_LEN];
};

/*
 * The k8s JSON object as last written, per slot: a storm of connections to
 * one Service repeats it byte for byte, and it is about half of a record's
 * formatting.  Keyed by the whole annotation but .saddr (not printed).
 */
struct sink_k8s_json {
	struct k8s_annot key; /* .saddr zeroed */
	struct out_frag frag;
};

/*
 * Pieces of a record written once and put back while what they are made of
 * repeats: a storm to one Service repeats the route connection after
 * connection, from the same few processes.  Each key is everything its
 * piece is made of in the sink's form, zeroed first (compared as bytes);
 * what the form does not print stays zero.
 *   head  text: PID COMM PROTO; JSON: "backend" to "netns"
 *   tail  text: DESTINATION NAT LANDED [(from SEEN_AS)] [VERDICT REASON];
 *         JSON: "dnat" to "confirm"
 */
struct sink_head_key {
	char comm[NW_COMM_LEN];
	char backend[16];
	uint64_t cgroup;
	uint32_t tgid, pid, netns;
	uint8_t hook, family, proto;
	uint8_t w_proto; /* text: PROTO's width, grown since */
	bool task;
};

struct sink_tail_key {
	uint8_t dst[16], landed[16], seen[16];
	uint32_t ct_status, mark, verdict;
	uint16_t dport, lport, seen_port, zone;
	uint8_t family, proto, flags;
	bool dnat, snat, k8s;
	int w_dst, w_landed; /* text: a wider column since, written again */
	/* last: compared only when k8s (text: as the reason cache keys it) */
	struct k8s_annot annot;
};
_Static_assert(offsetof(struct sink_tail_key, annot) + sizeof(struct k8s_annot) ==
		       sizeof(struct sink_tail_key),
	       "annot ends struct sink_tail_key: no padding for tail_key_len() to compare");

struct sink_head {
	struct sink_head_key key;
	struct out_frag frag;
};

struct sink_tail {
	struct sink_tail_key key;
	struct out_frag frag;
};

/*
 * JSON "orig" and "reply" of a connection with ports, but for the two ports
 * that are the connection's own (orig.sport and reply.dport: its ephemeral
 * port, twice without SNAT), kept per addresses and Service port:
 *   part1  "orig":{"src":"A","sport":
 *   part2  ,"dst":"B","dport":P},"reply":{"src":"C","sport":Q,"dst":"D","dport":
 * then "}".
 */
#define SINK_TUPLES_PART1 96
#define SINK_TUPLES_PART2 256
/* the longest: IPv6 addresses of NW_ADDRSTRLEN - 1 characters, 5-digit ports */
_Static_assert(SINK_TUPLES_PART1 >= sizeof("\"orig\":{\"src\":\"\",\"sport\":") + NW_ADDRSTRLEN - 1,
	       "SINK_TUPLES_PART1 too small");
_Static_assert(SINK_TUPLES_PART2 >= sizeof(",\"dst\":\"\",\"dport\":65535},\"reply\":{\"src\":\"\","
					   "\"sport\":65535,\"dst\":\"\",\"dport\":") +
					3 * (NW_ADDRSTRLEN - 1),
	       "SINK_TUPLES_PART2 too small");

struct sink_tuples_key {
	uint8_t osrc[16], odst[16], rsrc[16], rdst[16];
	uint16_t odport, rsport;
	uint8_t family;
};

struct sink_tuples {
	bool valid;
	struct sink_tuples_key key;
	size_t len1, len2;
	char part1[SINK_TUPLES_PART1];
	char part2[SINK_TUPLES_PART2];
};

/* Text SOURCE: the address part ("addr:") of the last source written. */
struct sink_source {
	uint8_t addr[16];
	uint8_t family;
	bool ports;
	size_t len; /* 0: none yet */
	char text[NW_EPSTRLEN];
};

struct sink {
	struct out out;
	bool utc; /* text timestamps in UTC instead of local time */
	bool header_done;
	int w_proto, w_src, w_dst, w_landed; /* text column widths, grown to fit */
	int64_t tm_sec; /* the second the cached time strings are for, -1: none */
	char tm_json[24], tm_text[12]; /* "2026-11-25T13:20:01", "13:20:01" */
	size_t tm_json_len, tm_text_len;
	struct sink_source source;
	struct sink_reason reasons[SINK_REASONS];
	struct sink_k8s_json k8s_json[SINK_REASONS];
	struct sink_tail tails[SINK_REASONS];
	struct sink_head heads[SINK_REASONS];
	struct sink_tuples tuples[SINK_REASONS];
};

void sink__init(struct sink *s, FILE *f, enum out_mode mode, bool utc);
/* Text column header, once; no-op in JSON mode. */
void sink__header(struct sink *s);
void sink__conn(struct sink *s, const struct conn *c);
/* JSON: a {"type":"summary"} record on the sink's stream.  Text: one line on
 * @text_f (stderr), so it never mixes with piped records. */
void sink__summary(struct sink *s, FILE *text_f, const struct nw_stats *st);
/* "2026-11-25T13:20:01.123456Z" */
const char *sink__rfc3339(uint64_t ts_ns, char *buf, size_t len);

#endif
