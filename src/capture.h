/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Capture: pick a backend, attach it, and deliver raw events from its ring
 * buffer to a callback.  The only module that touches BPF at run time. */
#ifndef NW_CAPTURE_H
#define NW_CAPTURE_H

#include <stdint.h>
#include "backend.h"
#include "percpu.h"
#include "ring.h"

/* Called for each raw record; the data is only valid during the call.  A
 * negative return stops the delivery and is returned by capture__poll(). */
typedef ring_cb capture_cb;

struct capture {
	struct nw_backend be;
	capture_cb cb;
	void *ctx;
	int epoll_fd; /* watches the ring buffer */
	struct nw_ring ring; /* its mapping (ring.h) */
	size_t prod_len; /* of the producer + data mapping */
	int ncpus; /* possible CPUs: each has a stage to flush */
	uint64_t flushed_ns; /* CLOCK_MONOTONIC of the last flush */
	uint64_t stranded; /* events from before the stop the last flush could not hand over */
	bool flush_warned;
};

/* "auto" or the name of a backend. */
bool capture__backend_known(const char *name);

/*
 * Open the named backend ("auto": the first that loads and attaches).  On
 * failure returns -errno and fills @why with what each backend tried said.
 */
int capture__open(struct capture *cap, const char *backend, const struct nw_backend_opts *opts,
		  capture_cb cb, void *ctx, char *why, size_t why_len);
/* Deliver what is ready, waiting up to @timeout_ms (the BPF side wakes the
 * reader early only when the ring is an eighth full); events handled or
 * -errno. */
int capture__poll(struct capture *cap, int timeout_ms);
/* After a stop: everything committed, waiting briefly for records still
 * being written (ring__drain()).  As capture__poll() returns. */
int capture__drain(struct capture *cap);
/* The events lost, by where: the ring had no room for them (counted by the
 * programs), they were still staged at the stop (capture__drain()), or the
 * kernel skipped the programs' runs (fentry/kprobe: recursion, kprobe
 * misses). */
struct capture_lost {
	uint64_t ring, stranded, skipped;
};

static inline uint64_t capture_lost_total(const struct capture_lost *l)
{
	return l->ring + l->stranded + l->skipped;
}

int capture__lost_parts(const struct capture *cap, struct capture_lost *l);
/* The netfilter backend: TCP SYNs that passed its hooks with no conntrack
 * entry (@n), and whether a new entry came by (@tracked), [0] IPv4, [1] IPv6.
 * 0, or -EOPNOTSUPP for a backend that does not count them, or -errno. */
int capture__untracked(const struct capture *cap, uint64_t n[2], bool tracked[2]);
const char *capture__backend(const struct capture *cap);
void capture__close(struct capture *cap);

#endif
