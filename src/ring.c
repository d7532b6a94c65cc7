// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <stdbool.h>
#include <string.h>
#include <time.h>
#include <linux/bpf.h>
#include "natwho.h"
#include "ring.h"

void ring__init(struct nw_ring *r, unsigned long *consumer_pos,
		const unsigned long *producer_pos, const unsigned char *data, size_t size)
{
	r->consumer_pos = consumer_pos;
	r->producer_pos = producer_pos;
	r->data = data;
	r->mask = size - 1;
	r->release = size / 16 < RING_RELEASE_BYTES ? size / 16 : RING_RELEASE_BYTES;
}

int ring__consume(struct nw_ring *r, ring_cb cb, void *ctx)
{
	unsigned long cons = *r->consumer_pos, released = cons, prod;
	const unsigned long stop = cons + r->mask + 1;
	int n = 0, err;

	/* The producer position again after catching up: records committed
	 * meanwhile are delivered in this call, as libbpf does; but one ring's
	 * worth at most, so that a producer faster than the output cannot keep
	 * the caller from its signals, deadline and flushes. */
	while ((prod = __atomic_load_n(r->producer_pos, __ATOMIC_ACQUIRE)) != cons && cons < stop) {
		while (cons < prod && cons < stop) {
			const unsigned int *hdr = (const void *)(r->data + (cons & r->mask));
			unsigned int hlen = __atomic_load_n(hdr, __ATOMIC_ACQUIRE);
			unsigned int len = hlen & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);

			if (hlen & BPF_RINGBUF_BUSY_BIT)
				goto out;
			cons += (len + BPF_RINGBUF_HDR_SZ + 7) & ~7UL;
			if (!(hlen & BPF_RINGBUF_DISCARD_BIT)) {
				err = cb(ctx, (void *)((const unsigned char *)hdr + BPF_RINGBUF_HDR_SZ),
					 len);
				if (err < 0) {
					__atomic_store_n(r->consumer_pos, cons, __ATOMIC_RELEASE);
					return err;
				}
				n++;
			}
			if (cons - released >= r->release) {
				__atomic_store_n(r->consumer_pos, cons, __ATOMIC_RELEASE);
				released = cons;
			}
		}
	}
out:
	if (cons != released)
		__atomic_store_n(r->consumer_pos, cons, __ATOMIC_RELEASE);
	return n;
}

/* Is the next record reserved and not yet submitted? */
static bool ring_head_busy(const struct nw_ring *r)
{
	unsigned long cons = *r->consumer_pos;
	const unsigned int *hdr = (const void *)(r->data + (cons & r->mask));

	return __atomic_load_n(r->producer_pos, __ATOMIC_ACQUIRE) != cons &&
	       (__atomic_load_n(hdr, __ATOMIC_ACQUIRE) & BPF_RINGBUF_BUSY_BIT);
}

int ring__drain(struct nw_ring *r, ring_cb cb, void *ctx, unsigned int wait_us, int tries)
{
	const struct timespec ts = { 0, (long)wait_us * 1000 };
	int n = ring__consume(r, cb, ctx), more;

	while (n >= 0 && tries-- > 0 && ring_head_busy(r)) {
		nanosleep(&ts, NULL);
		more = ring__consume(r, cb, ctx);
		n = more < 0 ? more : n + more;
	}
	return n;
}

int ring__batch_walk(const void *data, size_t size, ring_cb cb, void *ctx)
{
	const struct nw_batch_hdr *h = data;
	const unsigned char *p = (const unsigned char *)data + sizeof(*h), *end;
	int n = 0, err;

	if (size < sizeof(*h) || h->mark != NW_BATCH_MARK) {
		err = cb(ctx, (void *)data, size);
		return err < 0 ? err : 1;
	}
	if (h->bytes > size - sizeof(*h))
		goto malformed;
	end = p + h->bytes;
	for (unsigned int i = 0; i < h->count; i++) {
		const struct nw_batch_rec *r = (const void *)p;
		size_t step;

		if ((size_t)(end - p) < sizeof(*r) || r->size > (size_t)(end - p) - sizeof(*r))
			goto malformed;
		err = cb(ctx, (void *)(p + sizeof(*r)), r->size);
		if (err < 0)
			return err;
		n++;
		step = sizeof(*r) + ((r->size + 7) & ~7UL);
		p += step < (size_t)(end - p) ? step : (size_t)(end - p);
	}
	return n;
malformed:
	err = cb(ctx, (void *)data, size);
	return err < 0 ? err : n;
}

/* ring__stage_held()'s count, over the stage's batch */
struct stage_held {
	const void *batch;
	uint64_t before_ns;
	unsigned int n;
	bool malformed;
};

static int stage_held_event(void *ctx, void *data, size_t size)
{
	struct stage_held *h = ctx;
	uint64_t ts;

	if (data == h->batch || size < sizeof(ts)) { /* the whole batch: malformed */
		h->malformed = true;
		return 0;
	}
	memcpy(&ts, data, sizeof(ts)); /* ts_boot_ns, first in every event */
	if (ts < h->before_ns)
		h->n++;
	return 0;
}

unsigned int ring__stage_held(const struct nw_stage *st, uint64_t before_ns)
{
	/* the mark is written at each flush only: walk a copy that has it */
	struct nw_stage copy = *st;
	struct stage_held h = { .batch = &copy.hdr, .before_ns = before_ns };

	if (!st->hdr.count)
		return 0;
	copy.hdr.mark = NW_BATCH_MARK;
	ring__batch_walk(&copy.hdr, sizeof(copy.hdr) + sizeof(copy.buf), stage_held_event, &h);
	return h.malformed ? st->hdr.count : h.n;
}
