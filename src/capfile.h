/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Capture files: record what natwho saw (`-w FILE`) and replay it anywhere
 * (`-r FILE`) without root or BPF.  Pure: plain read()/write() on an fd,
 * libzstd and zlib, nothing else.
 *
 * A capture is one zstd frame (`zstdcat` works on it; natwho up to 2026-11
 * wrote one gzip stream instead, which the reader still takes) holding a 12-byte
 * preamble (magic "NWHOCAP\n", format major, minor) and framed records:
 * a header, then events and knowledge sources in the order they happened,
 * then a trailer.  Every record carries a CRC32.  The format is described
 * in README.md ("Capture file format").
 *
 * Crash safety: capw__flush() (or capw__tick(), at most every 10 ms) ends
 * a batch with a zstd flush (a block end) and write()s it, so a recorder killed with
 * SIGKILL leaves a file that reads up to the last flushed record; the
 * reader reports the missing trailer as truncation.  No fsync: the data
 * survives the process, not the machine.
 */
#ifndef NW_CAPFILE_H
#define NW_CAPFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <signal.h>
#include <stdint.h>
#include "out.h"
#include "ctstat.h"

#define CAP_VERSION_MAJOR 1 /* readers reject a newer major */
#define CAP_VERSION_MINOR 4 /* additions an older reader may skip */

/* Size limits, enforced by the writer and the reader. */
#define CAP_STR_MAX 4096 /* each header string, bytes without NUL */
#define CAP_NAME_MAX 1024 /* knowledge source name, bytes without NUL */
#define CAP_EVENT_MAX 4096 /* one raw event */
#define CAP_RECORD_MAX (64u << 20) /* any record's payload, e.g. a source */
#define CAP_NOTE_MAX 4096 /* a note's payload, its kind included */

enum cap_rec_type {
	CAP_REC_HEADER = 1, /* consumed by capr__open(), never returned */
	CAP_REC_EVENT = 2,
	CAP_REC_SOURCE = 3,
	CAP_REC_TRAILER = 4,
	CAP_REC_NOTE = 5, /* minor 2: something natwho said while recording */
};

/* What a note holds: capr__next() returns the kind and its payload as they
 * are; cap_note__untracked() reads the fields of one kind. */
enum cap_note_kind {
	CAP_NOTE_UNTRACKED = 1, /* struct cap_untracked */
	CAP_NOTE_CONNTRACK = 2, /* struct cap_conntrack (minor 3) */
};

/*
 * The netfilter backend's warning that TCP SYNs passed with no conntrack
 * entry (natwho.c, report_untracked()), as said while recording.  Payload:
 * le32 netns, le32 family, le64 syns, le32 flags (bit 0: at_stop).
 */
struct cap_untracked {
	uint32_t netns; /* inode */
	uint32_t family; /* 0 IPv4, 1 IPv6 */
	uint64_t syns;
	bool at_stop; /* said at the stop, after the summary */
};

/*
 * The warning that conntrack's own counters rose in a namespace since
 * natwho started (natwho.c, report_conntrack(); ctstat.h), as said while
 * recording.  Payload: le32 netns, le32 flags (bit 0: at_stop), le64 drop,
 * le64 early_drop, le64 insert_failed, le64 entries, le64 max.
 */
struct cap_conntrack {
	uint32_t netns; /* inode */
	bool at_stop; /* said at the stop, after the summary */
	struct ct_said said;
};

/* What a knowledge source blob holds.  The reader does not interpret it. */
enum cap_source_kind {
	CAP_SRC_IPTABLES_SAVE = 1, /* `iptables-save` / `ip6tables-save` text */
	CAP_SRC_NFT_JSON = 2, /* `nft -j list ruleset` */
	CAP_SRC_K8S_JSON = 3, /* kubectl JSON snapshot (pods, services, ...) */
	CAP_SRC_IPVS = 4, /* /proc/net/ip_vs (minor 4) */
};

struct cap_header {
	uint16_t major, minor; /* reader: the file's format version */
	uint16_t event_version; /* reader: NW_EVENT_VERSION of the recorder */
	uint32_t event_size; /* reader: sizeof(struct nw_event) of the recorder */
	const char *natwho_version; /* NULL is written as "" */
	const char *hostname;
	const char *kernel; /* uname -r */
	const char *backend; /* "netfilter", ... */
	const char *filters; /* the command-line filters, as text */
	uint64_t start_ns; /* wall clock, ns since the Unix epoch */
	int64_t boot_to_real_ns; /* add to nw_event.ts_boot_ns for wall clock */
	uint32_t node_netns; /* the network namespace the knowledge's rules are of; 0: not known */
};

struct cap_trailer {
	uint64_t events; /* event records in the file: counted by the writer */
	uint64_t lost; /* ring buffer reservations that failed in BPF */
	uint64_t undecodable; /* events conn__decode() refused while recording */
	uint64_t end_ns; /* wall clock */
	bool join; /* --cgroup/--pod: join_missed counts (minor 1; false before) */
	uint64_t join_missed; /* their connections whose socket record was missing */
};

/* One record from capr__next(); pointers stay valid until the next call. */
struct cap_record {
	enum cap_rec_type type;
	uint64_t offset; /* where the record starts in the uncompressed stream */
	union {
		struct {
			const void *data; /* raw struct nw_event: feed to conn__decode() */
			uint32_t size;
		} event;
		struct {
			uint32_t kind; /* enum cap_source_kind */
			const char *name; /* replaces an earlier source of this name */
			const void *data;
			size_t len;
		} source;
		struct cap_trailer trailer;
		struct {
			uint32_t kind; /* enum cap_note_kind */
			const void *data; /* after the kind */
			size_t len;
		} note;
	};
};

struct capw;
struct capr;

/*
 * Writer.  Every call returns 0 or a negative errno; the first failure
 * (e.g. -ENOSPC, -EPIPE) sticks and every later call returns it.
 *
 * capw__open() writes and flushes the preamble and header; it fills the
 * header's version and event fields itself and does not keep @h.
 */
int capw__open(struct capw **w, int fd, const struct cap_header *h, char *err, size_t errlen);
/* One raw ring buffer record, as the kernel delivered it (<= CAP_EVENT_MAX). */
int capw__event(struct capw *w, const void *raw, uint32_t size);
/* A knowledge source; a later one with the same name replaces it on replay. */
int capw__source(struct capw *w, uint32_t kind, const char *name, const void *data, size_t len);
/* A note of @kind (enum cap_note_kind), its payload @data (the kind's
 * fields, at most CAP_NOTE_MAX - 4 bytes). */
int capw__note(struct capw *w, uint32_t kind, const void *data, size_t len);
/* The CAP_NOTE_UNTRACKED note of @u. */
int capw__untracked(struct capw *w, const struct cap_untracked *u);

/* The CAP_NOTE_CONNTRACK note of @c. */
int capw__conntrack(struct capw *w, const struct cap_conntrack *c);
/* Flush zstd and write() everything given so far.  No-op when idle. */
int capw__flush(struct capw *w);
/* Records written since the last flush. */
bool capw__dirty(const struct capw *w);
/*
 * End of a ring buffer batch, or a poll timeout: capw__flush() if the last
 * flush by capw__tick() is at least CAPW_FLUSH_INTERVAL_NS before @now_ns
 * (CLOCK_MONOTONIC), else nothing.  A flush costs a zstd block and a
 * write(): flushing per batch of one event caps the writer near 200k
 * events/s, ticking keeps it at full speed and a SIGKILL loses at most the
 * last interval (the ring buffer's contents are lost anyway).
 */
#define CAPW_FLUSH_INTERVAL_NS 10000000ULL /* 10 ms */
int capw__tick(struct capw *w, uint64_t now_ns);
/*
 * Write the trailer (t->events is ignored: the writer counts events), end
 * the zstd frame and free @w, also on failure.  Does not close or fsync
 * the fd.  NULL @w is a no-op.
 */
int capw__close(struct capw *w, const struct cap_trailer *t);
/* Events written so far. */
uint64_t capw__events(const struct capw *w);
/* Give a reader that stopped reading up as @stop says (out__write_all():
 * -ETIMEDOUT), so that a stalled reader of the capture cannot hold the
 * writer once natwho is ending; NULL: writes block as long as they must.
 * @stop must outlive @w. */
void capw__set_stop(struct capw *w, const struct out_stop *stop);

/*
 * Reader.  capr__open() reads and validates the preamble and header.
 * Errors: -ENODATA (empty or truncated), -EILSEQ (neither zstd nor gzip,
 * not a capture, bad zstd or gzip data), -EBADMSG (bad CRC, impossible
 * record), -EPROTONOSUPPORT (newer major version, other byte order),
 * -ENOMEM, or a read() errno.
 * @err gets one line without newline saying what and where; offsets are
 * "compressed" (in the file) or "uncompressed" (in the zstdcat output).
 */
int capr__open(struct capr **r, int fd, char *err, size_t errlen);
/* The same; a read waiting for input gives up with -EINTR ("interrupted")
 * once a signal has set *@stop. */
int capr__open_stoppable(struct capr **r, int fd, const volatile sig_atomic_t *stop, char *err,
			 size_t errlen);
const struct cap_header *capr__header(const struct capr *r);
/*
 * 1: *rec filled (events, sources and notes in recorded order, the
 *    trailer last);
 * 0: clean end (the trailer was returned and the zstd frame or gzip stream
 *    ended intact);
 * negative errno as above, sticky.  Every complete, intact record before
 * the damage is returned first.
 */
int capr__next(struct capr *r, struct cap_record *rec, char *err, size_t errlen);
/* Event records returned so far. */
uint64_t capr__events(const struct capr *r);
/* A CAP_NOTE_UNTRACKED note's fields: 0, or -EBADMSG when it is of another
 * kind, too short, names no family or counts no SYN (bytes after the known
 * ones are a later minor version's, ignored). */
int cap_note__untracked(const struct cap_record *rec, struct cap_untracked *u);

/* A CAP_NOTE_CONNTRACK note's fields: 0, or -EBADMSG when it is of another
 * kind, too short, or says no counter rose. */
int cap_note__conntrack(const struct cap_record *rec, struct cap_conntrack *c);
void capr__close(struct capr *r);

#endif
