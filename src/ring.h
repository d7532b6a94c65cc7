/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Reading a BPF ring buffer (BPF_MAP_TYPE_RINGBUF) that capture.c mapped:
 * what libbpf's ring_buffer__consume() does, except for when the space read
 * is given back.  libbpf stores the consumer position after every record;
 * that position is a cache line every producer reads when it reserves, so
 * during a storm a store per record moves the line between CPUs once per
 * connection.  Here it is stored every @release bytes and at the end.  Pure:
 * no BPF calls, testable on plain memory laid out like the mapping.
 */
#ifndef NW_RING_H
#define NW_RING_H

#include <stddef.h>
#include <stdint.h>

struct nw_stage;

#define RING_RELEASE_BYTES 8192 /* or a sixteenth of the ring if that is less */

struct nw_ring {
	unsigned long *consumer_pos; /* the consumer page: ours to write */
	const unsigned long *producer_pos; /* the producer page */
	const unsigned char *data; /* the data pages, mapped twice in a row */
	size_t mask; /* data size - 1 (a power of two) */
	size_t release; /* give back the space read after this many bytes */
};

/* Called for each record; a negative return stops the walk and is returned. */
typedef int (*ring_cb)(void *ctx, void *data, size_t size);

/* For a ring of @size bytes (a power of two) mapped at these addresses. */
void ring__init(struct nw_ring *r, unsigned long *consumer_pos,
		const unsigned long *producer_pos, const unsigned char *data, size_t size);
/*
 * Deliver every committed record in order until the ring is empty or a
 * record is still being written (busy); skip discarded ones.  Records
 * delivered, or the callback's negative return (the space of the records
 * before it given back).
 */
int ring__consume(struct nw_ring *r, ring_cb cb, void *ctx);
/*
 * A record as the BPF side wrote it: one event, handed to @cb as it is, or
 * a batch (struct nw_batch_hdr, include/natwho.h), each of its events
 * handed to @cb.  A batch whose sizes do not add up goes to @cb whole (it
 * decodes as nothing, and is counted so).  Events handed over, or @cb's
 * negative return.
 */
int ring__batch_walk(const void *data, size_t size, ring_cb cb, void *ctx);
/*
 * Of the events a CPU's stage @st still held after the last flush (struct
 * nw_stage, include/natwho.h), those the kernel recorded before @before_ns
 * (CLOCK_BOOTTIME, as their ts_boot_ns): lost.  The later ones came after
 * the stop.  All of hdr.count when the stage's sizes do not add up.
 */
unsigned int ring__stage_held(const struct nw_stage *st, uint64_t before_ns);
/*
 * The last drain, after a stop: ring__consume(), and while the next record
 * is still being written by a program on another CPU (reserved, not yet
 * submitted: microseconds), wait @wait_us and go on, @tries times at most;
 * the records committed behind it are delivered too.  Records delivered, or
 * the callback's negative return.
 */
int ring__drain(struct nw_ring *r, ring_cb cb, void *ctx, unsigned int wait_us, int tries);

#endif
