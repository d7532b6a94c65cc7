// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* `natwho -r FILE`: a capture file through the live pipeline's decode,
 * filter and sink.  Pure. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "capfile.h"
#include "filter.h"
#include "log.h"
#include "replay.h"
#include "sink.h"

struct replay {
	const struct replay_opts *o;
	struct replay_result *res;
	const struct cap_header *h;
	struct sink sink;
	struct nw_stats own_stats, *stats;
	uint64_t last_ts; /* wall clock of the latest event: the end without a trailer */
	bool stop; /* --count reached, or the output is gone */
	bool counted; /* stopped by --count */
	bool regular; /* the capture is a regular file: its end is there to read */
	bool cut; /* a signal stopped the reading on after --count */
	/* the untracked-SYN warning per family: said (as live, once), and the
	 * one the recorder said at its stop, kept for after the summary */
	bool untracked_said[2];
	struct cap_untracked at_stop[2];
	/* the recorder's last conntrack-counters warning, said at its stop */
	struct cap_conntrack ct_at_stop;
};

/* Text mode: where the capture comes from, on stderr before the records. */
static void replay_describe(const struct replay *rp, const char *name)
{
	const struct cap_header *h = rp->h;
	char ts[64];

	if (rp->o->output != OUT_TEXT)
		return;
	fprintf(rp->o->text_f,
		"natwho: replaying %s: recorded on %s (kernel %s) by natwho %s at %s, "
		"backend %s, filters: %s\n",
		name, *h->hostname ? h->hostname : "?", *h->kernel ? h->kernel : "?",
		*h->natwho_version ? h->natwho_version : "?",
		sink__rfc3339(h->start_ns, ts, sizeof(ts)), *h->backend ? h->backend : "?",
		*h->filters ? h->filters : "none");
}

/* After the records: each is decoded by its own version and size, so the
 * header's recorder version is named only when some could not be. */
static void replay_check_events(const struct replay *rp)
{
	const struct cap_header *h = rp->h;

	if (!rp->res->undecodable)
		return;
	if (h->event_version >= NW_EVENT_VERSION_MIN && h->event_version <= NW_EVENT_VERSION) {
		bool one = rp->res->undecodable == 1;

		nw_warn("%llu event%s could not be decoded: %s not fit event version %u (%u bytes), "
			"which the header names and this natwho decodes: the capture is damaged",
			(unsigned long long)rp->res->undecodable, one ? "" : "s",
			one ? "its record does" : "their records do", h->event_version,
			h->event_size);
		return;
	}
	nw_warn("%llu event%s could not be decoded: the capture was recorded by a natwho of "
		"event version %u (%u bytes); this one decodes versions %u to %u",
		(unsigned long long)rp->res->undecodable, rp->res->undecodable == 1 ? "" : "s",
		h->event_version, h->event_size,
		NW_EVENT_VERSION_MIN, NW_EVENT_VERSION);
}

static void replay_event(struct replay *rp, const struct cap_record *rec)
{
	const struct replay_opts *o = rp->o;
	struct conn c;

	rp->res->events++;
	if (conn__decode(rec->event.data, rec->event.size, rp->h->boot_to_real_ns,
			 rp->h->backend, &c)) {
		rp->res->undecodable++;
		return;
	}
	if (c.ts_ns > rp->last_ts)
		rp->last_ts = c.ts_ns;
	if (!filter__match(&o->filter, &c))
		return;
	if (o->on_conn && !o->on_conn(o->ctx, &c))
		return;
	if (!o->quiet)
		sink__conn(&rp->sink, &c);
	rp->res->shown++;
	if (ferror(o->out))
		rp->stop = true;
	else if (o->count && rp->res->shown >= o->count)
		rp->stop = rp->counted = true;
}

static void replay_source(struct replay *rp, const struct cap_record *rec)
{
	const struct replay_opts *o = rp->o;
	int err;

	rp->res->sources++;
	if (!o->on_source)
		return;
	err = o->on_source(o->ctx, rec->source.kind, rec->source.name, rec->source.data,
			   rec->source.len);
	if (err == -EPROTONOSUPPORT) /* a newer natwho's */
		nw_warn("knowledge source '%s' in the capture not used: kind %u is not one this "
			"natwho knows (skipped)",
			rec->source.name, rec->source.kind);
	else if (err < 0)
		nw_warn("knowledge source '%s' in the capture not used: %s", rec->source.name,
			strerror(-err));
}

/*
 * What natwho said while recording, said again where it was said: in the
 * stream, or (@at_stop_only, when --count ended the replay: the rest is
 * read for the trailer) after the summary; the untracked-SYN warning once
 * per family, as live.  A note of a kind this natwho does not know (a later
 * minor version's) is skipped.
 */
static void replay_note(struct replay *rp, const struct cap_record *rec, bool at_stop_only)
{
	struct cap_untracked u;
	struct cap_conntrack c;
	int err;

	switch (rec->note.kind) {
	case CAP_NOTE_UNTRACKED:
		err = cap_note__untracked(rec, &u);
		break;
	case CAP_NOTE_CONNTRACK:
		err = cap_note__conntrack(rec, &c);
		break;
	default:
		return;
	}
	if (err) {
		nw_warn("a note in the capture at uncompressed offset %llu is malformed "
			"(%zu bytes of fields): skipped",
			(unsigned long long)rec->offset, rec->note.len);
		return;
	}
	if (rec->note.kind == CAP_NOTE_CONNTRACK) {
		if (c.at_stop)
			rp->ct_at_stop = c;
		else if (!at_stop_only)
			nw_warn_conntrack(c.netns, &c.said);
		return;
	}
	if (rp->untracked_said[u.family] || (at_stop_only && !u.at_stop))
		return;
	rp->untracked_said[u.family] = true;
	if (u.at_stop)
		rp->at_stop[u.family] = u;
	else
		nw_warn_untracked(u.netns, u.family, u.syns);
}

/* Exit code for a capture reader error. */
static int replay_exit_code(int err)
{
	switch (-err) {
	case ENODATA:
	case EILSEQ:
	case EBADMSG:
	case EPROTONOSUPPORT:
		return NW_EXIT_BADINPUT;
	default:
		return NW_EXIT_RUNTIME;
	}
}

/* Records until the end, the damage, --count or a closed output. */
static int replay_records(struct replay *rp, struct capr *r, char *err, size_t errlen)
{
	struct cap_record rec;
	int ret = 0;

	while (!rp->stop && !(rp->o->stop && *rp->o->stop) &&
	       (ret = capr__next(r, &rec, err, errlen)) == 1) {
		rp->res->records++;
		switch (rec.type) {
		case CAP_REC_EVENT:
			replay_event(rp, &rec);
			break;
		case CAP_REC_SOURCE:
			replay_source(rp, &rec);
			break;
		case CAP_REC_NOTE:
			replay_note(rp, &rec, false);
			break;
		case CAP_REC_TRAILER:
			rp->res->trailer = true;
			rp->stats->lost = rec.trailer.lost;
			rp->stats->end_ns = rec.trailer.end_ns;
			rp->stats->join = rec.trailer.join;
			rp->stats->join_missed = rec.trailer.join_missed;
			break;
		default:
			break;
		}
	}
	if (ret == -EINTR && rp->o->stop && *rp->o->stop)
		return 0; /* a signal while waiting for input: stopped, as live */
	return ret == 1 ? 0 : ret; /* 1: stopped early, on purpose */
}

/*
 * --count stopped the replay: a file is read on to its trailer, nothing
 * shown, for what the recording lost (about a second per 5 million events);
 * a pipe is not (its writer may go on for hours), and its summary's `lost`
 * stays 0 with a warning.  The trailer's end time is not taken: the
 * summary's span ends with the last event read before --count stopped it.
 * A damaged or truncated rest is reported as in a full replay (exit 5,
 * after the summary); a signal stops the reading on, losses not known.
 * Returns 0 or capr__next()'s error, with @err set.
 */
static int replay_to_trailer(struct replay *rp, struct capr *r, char *err, size_t errlen)
{
	struct cap_record rec;
	int ret;

	while ((ret = capr__next(r, &rec, err, errlen)) == 1) {
		if (rp->o->stop && *rp->o->stop)
			break;
		if (rec.type == CAP_REC_NOTE)
			replay_note(rp, &rec, true);
		if (rec.type != CAP_REC_TRAILER)
			continue;
		rp->res->trailer = true;
		rp->stats->lost = rec.trailer.lost;
		rp->stats->join = rec.trailer.join;
		rp->stats->join_missed = rec.trailer.join_missed;
	}
	if (rp->o->stop && *rp->o->stop && (ret == 1 || ret == -EINTR)) {
		rp->cut = !rp->res->trailer;
		return 0;
	}
	return ret;
}

static void replay_summary(struct replay *rp)
{
	rp->stats->events = rp->res->shown;
	rp->stats->undecodable = rp->res->undecodable;
	rp->stats->start_ns = rp->h->start_ns;
	rp->stats->backend = rp->h->backend;
	if (!rp->res->trailer)
		rp->stats->lost = 0;
	if (!rp->res->trailer || rp->counted)
		rp->stats->end_ns = rp->last_ts;
	sink__summary(&rp->sink, rp->o->text_f, rp->stats);
	replay_check_events(rp);
	if (rp->res->trailer && rp->stats->lost) /* as live, after the summary */
		nw_warn("%llu event%s lost while recording (the capture keeps how many, not "
			"why; the usual cause, a full ring buffer: raise --ringbuf-size)",
			(unsigned long long)rp->stats->lost, rp->stats->lost == 1 ? " was" : "s were");
	else if (rp->counted && (!rp->regular || rp->cut))
		nw_warn("-c ended the replay before the capture's trailer: what the recording "
			"lost is not known (the summary says 0)");
	for (int f = 0; f < 2; f++)
		if (rp->at_stop[f].syns)
			nw_warn_untracked(rp->at_stop[f].netns, (uint32_t)f,
					  rp->at_stop[f].syns);
	if (rp->ct_at_stop.at_stop)
		nw_warn_conntrack(rp->ct_at_stop.netns, &rp->ct_at_stop.said);
	rp->stats->backend = NULL; /* the header's string goes with the reader */
	if (rp->o->output == OUT_TEXT && rp->res->shown + rp->res->undecodable != rp->res->events)
		fprintf(rp->o->text_f, "natwho: %llu of the %llu events read were shown\n",
			(unsigned long long)rp->res->shown, (unsigned long long)rp->res->events);
	fflush(rp->o->out);
	fflush(rp->o->text_f);
}

int replay__fd(int fd, const char *name, const struct replay_opts *o, struct replay_result *res,
	       char *err, size_t errlen)
{
	struct replay rp = { .o = o, .res = res, .stats = o->stats ?: &rp.own_stats };
	char msg[512] = "";
	struct stat st;
	struct capr *r;
	int ret;

	memset(res, 0, sizeof(*res));
	rp.regular = !fstat(fd, &st) && S_ISREG(st.st_mode);
	ret = capr__open_stoppable(&r, fd, o->stop, msg, sizeof(msg));
	if (ret == -EINTR) /* stopped before the header came: nothing to show */
		return NW_EXIT_OK;
	if (ret) {
		snprintf(err, errlen, "%s: %s", name, msg);
		return replay_exit_code(ret);
	}
	rp.h = capr__header(r);
	if (o->on_header)
		o->on_header(o->ctx, rp.h);
	replay_describe(&rp, name);
	sink__init(&rp.sink, o->out, o->output, o->utc);
	if (!o->quiet)
		sink__header(&rp.sink);
	ret = replay_records(&rp, r, msg, sizeof(msg));
	if (!ret && rp.counted && rp.regular)
		ret = replay_to_trailer(&rp, r, msg, sizeof(msg));
	replay_summary(&rp);
	capr__close(r);
	if (ret < 0) {
		snprintf(err, errlen, "%s: %s", name, msg);
		return replay_exit_code(ret);
	}
	/* a full disk is an error; a reader that went away is not */
	ret = out__flush_check(o->out, err, errlen);
	return ret && ret != EPIPE ? NW_EXIT_RUNTIME : NW_EXIT_OK;
}

int replay__file(const char *path, const struct replay_opts *o, struct replay_result *res,
		 char *err, size_t errlen)
{
	bool std = !strcmp(path, "-");
	int fd = std ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	int ret;

	if (fd < 0) {
		memset(res, 0, sizeof(*res));
		snprintf(err, errlen, "cannot open capture file '%s': %s", path, strerror(errno));
		return NW_EXIT_RUNTIME;
	}
	ret = replay__fd(fd, std ? "stdin" : path, o, res, err, errlen);
	if (!std)
		close(fd);
	return ret;
}
