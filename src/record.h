/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * `natwho -w FILE`: record every raw event natwho receives, and the
 * knowledge sources it loads, to a capture file (src/capfile.h).  Pure:
 * plain file I/O, no BPF.
 *
 * Life cycle, from main():
 *   record__open()    before BPF is loaded: create the file, fail early;
 *   record__source()  whenever a knowledge source is (re)loaded, at any
 *                     time after open (kept until the header is written);
 *   record__begin()   once the backend is attached: write the header
 *                     (natwho version, hostname, uname -r, backend, filters,
 *                     start time, boot_to_real_ns), then the kept sources;
 *   record__event()   for each ring buffer record, as delivered;
 *   record__tick()    after every ring buffer poll: flushes at most every
 *                     10 ms, so a SIGKILL loses at most that;
 *   record__close()   on every way out: trailer (lost, undecodable, joins missed), end of
 *                     the zstd frame.
 * Write errors (-ENOSPC, -EPIPE, ...) stick: every later call returns the
 * first one, and record__close() still releases everything.
 */
#ifndef NW_RECORD_H
#define NW_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include "kindex.h"
#include "out.h"

/*
 * Knowledge source kinds in capture files (the "kind" of a source record):
 * enum cap_source_kind has 1 iptables-save, 2 nft JSON, 3 kubectl JSON
 * snapshot, 4 IPVS table; the kinds kindex reads and capfile.h does not
 * name yet are numbered here.  Readers do not interpret the kind, so these
 * are a minor-version addition.
 */
enum record_src_kind {
	RECORD_SRC_IP6TABLES_SAVE = 5,
	RECORD_SRC_IPSET_SAVE = 6,
	RECORD_SRC_LOCAL_ADDRS = 7,
};

/* enum ksrc_kind -> the file's kind; 0 for none. */
uint32_t record__cap_kind(enum ksrc_kind kind);
/* The file's kind -> enum ksrc_kind: 0, or -ENOENT (e.g. 4, IPVS table). */
int record__ksrc_kind(uint32_t cap_kind, enum ksrc_kind *out);

struct record;
struct cap_untracked;
struct nw_opts;

#define RECORD_FILTERS_MAX 4096 /* a header string's limit, CAP_STR_MAX */

/*
 * The header's "filters": the command line's filter options as text, e.g.
 * "--port 3306 -4 --pod a/mysql-0 --mismatch-only --children -- mysql -h x"
 * (the kernel filter with --netns as an inode, then the userspace ones, then
 * `-- CMD`).  Truncated to @len; returns what it needed, like snprintf().
 */
int record__filters(const struct nw_opts *o, char *buf, size_t len);

struct record_info {
	const char *backend;
	const char *filters; /* the command line's filters, as text */
	uint64_t start_ns; /* wall clock: the summary's start */
	int64_t boot_to_real_ns; /* what decodes the events' timestamps */
	uint32_t node_netns; /* whose rules the recorded knowledge has; 0: none */
	const struct out_stop *stop; /* when a stalled reader is given up: capw__set_stop() */
};

/*
 * Create @path (mode 0600: it may hold a cluster snapshot) or, for "-",
 * use stdout (refused when it is a terminal).  0, or -errno with one line in
 * @err.
 */
int record__open(struct record **rec, const char *path, char *err, size_t errlen);
int record__begin(struct record *rec, const struct record_info *info, char *err, size_t errlen);
/* A raw ring buffer record. */
int record__event(struct record *rec, const void *raw, size_t size);
/*
 * A knowledge source as loaded (a later one with the same @name replaces it
 * on replay).  -E2BIG for a source the format cannot hold (64 MiB): not
 * sticky, the recording goes on without it.
 */
int record__source(struct record *rec, enum ksrc_kind kind, const char *name, const void *data,
		   size_t len);
/* The untracked-SYN warning as said (capture format 1.2's note). */
int record__untracked(struct record *rec, const struct cap_untracked *u);
/* The conntrack-counters warning as said (format 1.3's note kind 2). */
int record__conntrack(struct record *rec, const struct cap_conntrack *c);
/* After each ring buffer poll, with CLOCK_MONOTONIC ns.  NULL: no-op. */
int record__tick(struct record *rec, uint64_t mono_ns);
/* Poll timeout to use next: short while unflushed records wait.  NULL ok. */
int record__poll_ms(const struct record *rec, int idle_ms);
/*
 * Write the trailer @t (its events field is counted here; NULL: zeros), end
 * the stream, close the file, free @rec (NULL: no-op).  Before
 * record__begin() (natwho failed to start) nothing was written: a file that
 * existed is left as it was, one record__open() created is removed.
 * 0, or the first write error with one line in @err.
 */
int record__close(struct record *rec, const struct cap_trailer *t, char *err, size_t errlen);
/* The first write error, 0 if none. */
int record__error(const struct record *rec);
uint64_t record__events(const struct record *rec);

#endif
