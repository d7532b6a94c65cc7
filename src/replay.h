/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * `natwho -r FILE`: render a capture file exactly as natwho rendered it
 * live (text or JSON, same sink), with the filters applied in userspace
 * (src/filter.h).  Pure: no BPF, no root, no BTF.
 *
 * Knowledge sources in the file are handed to @on_source in recorded order,
 * before the events recorded after them, so whoever builds the Kubernetes
 * index from them (kindex__add_source) sees the same knowledge at each
 * event as the recorder had; @on_conn may then annotate each connection
 * before it is filtered and shown.
 *
 * Damaged input: every complete, intact record is rendered, then the
 * summary, then replay__fd() returns NW_EXIT_BADINPUT with one line (byte
 * offset and what was wrong, from the capture reader) in @err for the
 * caller to report.  Never loops: every read makes progress or fails.
 */
#ifndef NW_REPLAY_H
#define NW_REPLAY_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "conn.h"
#include "natwho.h"
#include "out.h"
#include "sink.h"

struct cap_header;

/* @kind is the file's (enum cap_source_kind; record__ksrc_kind() maps it).
 * A negative return is reported as a warning; the replay goes on. */
typedef int (*replay_source_fn)(void *ctx, uint32_t kind, const char *name, const void *data,
				size_t len);
/* Annotate @c; false hides it (e.g. --mismatch-only), counted by the callee. */
typedef bool (*replay_conn_fn)(void *ctx, struct conn *c);

struct replay_opts {
	struct nw_filter filter; /* --port, --proto, -4/-6, --pid, --netns INODE */
	uint64_t count; /* stop after this many shown, 0: all */
	enum out_mode output;
	bool utc;
	bool quiet; /* -q: the summary only */
	FILE *out; /* records and the JSON summary: stdout */
	FILE *text_f; /* the text summary and the capture's description: stderr */
	replay_source_fn on_source; /* NULL: sources are skipped */
	replay_conn_fn on_conn; /* NULL: none */
	/* The header, before any record; NULL: none */
	void (*on_header)(void *ctx, const struct cap_header *h);
	void *ctx;
	/*
	 * The summary's counts.  NULL: kept inside.  Else the caller's, so that
	 * what on_conn counts (mismatches, hidden) shows: the replay sets
	 * events, lost, undecodable, start_ns, end_ns and backend (NULL again
	 * on return) only.
	 */
	struct nw_stats *stats;
	volatile sig_atomic_t *stop; /* non-zero (a signal): summary and out */
};

/* What was read and shown; filled by replay__fd() for the caller and tests. */
struct replay_result {
	uint64_t records; /* records read after the header (as the reader counts them) */
	uint64_t events; /* event records read */
	uint64_t sources;
	uint64_t shown;
	uint64_t undecodable;
	bool trailer; /* the trailer was read */
};

/*
 * Replay the capture on @fd; @name ("FILE" or "stdin") prefixes the error.
 * Returns NW_EXIT_OK, NW_EXIT_BADINPUT (malformed, truncated, newer
 * format) or NW_EXIT_RUNTIME (read error, out of memory), with @err set
 * when not OK.  A closed output pipe ends the replay early with NW_EXIT_OK.
 */
int replay__fd(int fd, const char *name, const struct replay_opts *o, struct replay_result *res,
	       char *err, size_t errlen);
/* The same for a path, "-" being stdin. */
int replay__file(const char *path, const struct replay_opts *o, struct replay_result *res,
		 char *err, size_t errlen);

#endif
