// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The ring buffer reader on plain memory laid out as the kernel maps a
 * BPF_MAP_TYPE_RINGBUF: records in order, discarded ones skipped, a busy one
 * stops the walk, records across the end of the ring whole (the data is
 * mapped twice), the space given back in steps, never more than one step
 * late, and a callback error stops it.  A batch record's events are handed
 * out one by one (ring__batch_walk()).
 */
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include <linux/bpf.h>
#include "natwho.h"
#include "ring.h"

#define SIZE 4096

struct fake {
	unsigned long cons, prod;
	unsigned char data[2 * SIZE]; /* the second copy mirrors the first */
	struct nw_ring r;
	/* what the callback saw */
	int n;
	size_t lens[256];
	unsigned char first[256];
	unsigned long cons_seen[256];
	unsigned long start[256]; /* position of each record */
	int fail_at; /* callback returns -5 for this record (1-based), 0: never */
	int append; /* the callback commits one more record this many times */
};

static void put(struct fake *f, unsigned long pos, const void *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		f->data[(pos + i) & (SIZE - 1)] = ((const unsigned char *)p)[i];
		f->data[((pos + i) & (SIZE - 1)) + SIZE] = ((const unsigned char *)p)[i];
	}
}

/* A record of @len bytes filled with @fill, header flags @flags; returns its position. */
static unsigned long produce(struct fake *f, uint32_t len, unsigned char fill, uint32_t flags)
{
	unsigned long pos = f->prod;
	uint32_t hdr[2] = { len | flags, 0 };
	unsigned char body[512];

	assert_true(len <= sizeof(body));
	memset(body, fill, len);
	put(f, pos, hdr, sizeof(hdr));
	put(f, pos + BPF_RINGBUF_HDR_SZ, body, len);
	f->prod = pos + ((len + BPF_RINGBUF_HDR_SZ + 7) & ~7UL);
	assert_true(f->prod - f->cons <= SIZE);
	return pos;
}

static void set_flags(struct fake *f, unsigned long pos, uint32_t len, uint32_t flags)
{
	uint32_t h = len | flags;

	put(f, pos, &h, sizeof(h));
}

static int cb(void *ctx, void *data, size_t size)
{
	struct fake *f = ctx;
	const unsigned char *p = data;
	int i = f->n++;

	assert_true(i < 256);
	f->lens[i] = size;
	f->first[i] = size ? p[0] : 0;
	for (size_t k = 0; k < size; k++)
		assert_int_equal(p[k], p[0]); /* whole, also across the end */
	f->cons_seen[i] = f->cons;
	if (f->append > 0) {
		f->append--;
		produce(f, 8, 0x77, 0);
	}
	return f->n == f->fail_at ? -5 : 0;
}

static struct fake *fake_new(void)
{
	struct fake *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	ring__init(&f->r, &f->cons, &f->prod, f->data, SIZE);
	return f;
}

static void test_in_order(void **state)
{
	struct fake *f = fake_new();

	(void)state;
	assert_int_equal(ring__consume(&f->r, cb, f), 0); /* empty */
	for (int i = 0; i < 10; i++)
		produce(f, (uint32_t)(i * 13 % 100 + 1), (unsigned char)(i + 1), 0);
	assert_int_equal(ring__consume(&f->r, cb, f), 10);
	for (int i = 0; i < 10; i++) {
		assert_int_equal(f->lens[i], i * 13 % 100 + 1);
		assert_int_equal(f->first[i], i + 1);
	}
	assert_int_equal(f->cons, f->prod);
	free(f);
}

static void test_discard_and_busy(void **state)
{
	struct fake *f = fake_new();
	unsigned long busy;

	(void)state;
	produce(f, 40, 1, 0);
	produce(f, 40, 2, BPF_RINGBUF_DISCARD_BIT);
	produce(f, 40, 3, 0);
	busy = produce(f, 40, 4, BPF_RINGBUF_BUSY_BIT);
	produce(f, 40, 5, 0); /* committed, but after a busy one */
	assert_int_equal(ring__consume(&f->r, cb, f), 2);
	assert_int_equal(f->first[0], 1);
	assert_int_equal(f->first[1], 3);
	assert_int_equal(f->cons, busy); /* stops at the busy record */
	set_flags(f, busy, 40, 0); /* committed now */
	assert_int_equal(ring__consume(&f->r, cb, f), 2);
	assert_int_equal(f->first[2], 4);
	assert_int_equal(f->first[3], 5);
	assert_int_equal(f->cons, f->prod);
	free(f);
}

static void test_wrap(void **state)
{
	struct fake *f = fake_new();

	(void)state;
	for (int round = 0; round < 40; round++) { /* many times around the ring */
		int before = f->n;

		for (int i = 0; i < 7; i++)
			produce(f, (uint32_t)(100 + round * 7 % 300), (unsigned char)(round + i + 1), 0);
		assert_int_equal(ring__consume(&f->r, cb, f), 7);
		for (int i = 0; i < 7; i++)
			assert_int_equal(f->first[before + i], round + i + 1);
		assert_int_equal(f->cons, f->prod);
		f->n = 0;
	}
	free(f);
}

/* Given back in steps of about SIZE / 16 bytes: not after every record, and
 * never more than a step (plus the record) behind. */
static void test_release_steps(void **state)
{
	struct fake *f = fake_new();
	unsigned long start = f->cons, pos[64];
	int stores = 0;

	(void)state;
	assert_int_equal(f->r.release, SIZE / 16);
	for (int i = 0; i < 64; i++)
		pos[i] = produce(f, 40, (unsigned char)(i + 1), 0); /* 48 bytes each */
	assert_int_equal(ring__consume(&f->r, cb, f), 64);
	for (int i = 0; i < 64; i++) {
		assert_true(f->cons_seen[i] <= pos[i]);
		assert_true(pos[i] - f->cons_seen[i] < f->r.release + 48);
		if (i && f->cons_seen[i] != f->cons_seen[i - 1])
			stores++;
	}
	/* a store once a step is passed: every 256 to 256 + 48 bytes */
	assert_true(stores >= 64 * 48 / (SIZE / 16 + 48) - 1);
	assert_true(stores <= 64 * 48 / (SIZE / 16));
	assert_int_equal(f->cons, f->prod);
	assert_true(f->cons > start);
	free(f);
}

static void test_callback_error(void **state)
{
	struct fake *f = fake_new();
	unsigned long third;

	(void)state;
	produce(f, 16, 1, 0);
	produce(f, 16, 2, 0);
	third = produce(f, 16, 3, 0);
	produce(f, 16, 4, 0);
	f->fail_at = 3;
	assert_int_equal(ring__consume(&f->r, cb, f), -5);
	assert_int_equal(f->n, 3);
	assert_int_equal(f->cons, third + 24); /* the failing record is consumed */
	f->fail_at = 0;
	assert_int_equal(ring__consume(&f->r, cb, f), 1);
	assert_int_equal(f->first[3], 4);
	free(f);
}

/* Records committed while the reader works are delivered in the same call. */
static void test_producer_moves(void **state)
{
	struct fake *f = fake_new();

	(void)state;
	produce(f, 8, 1, 0);
	f->append = 5;
	assert_int_equal(ring__consume(&f->r, cb, f), 6);
	assert_int_equal(f->cons, f->prod);
	free(f);
}

/* A producer that never stops: one call returns after a ring's worth
 * (4096 bytes: 256 records of 16), the rest is for the next call. */
static void test_producer_never_stops(void **state)
{
	struct fake *f = fake_new();

	(void)state;
	produce(f, 8, 1, 0);
	f->append = 1000;
	assert_int_equal(ring__consume(&f->r, cb, f), SIZE / 16);
	assert_int_equal(f->cons, SIZE);
	assert_true(f->append > 0);
	assert_true(f->prod > f->cons);
	free(f);
}

struct late_submit {
	struct fake *f;
	unsigned long pos;
	long after_us;
};

/* Another CPU's program submitting its record @after_us later. */
static void *submit_late(void *arg)
{
	struct late_submit *l = arg;
	const struct timespec ts = { 0, l->after_us * 1000 };

	nanosleep(&ts, NULL);
	__atomic_store_n((uint32_t *)&l->f->data[l->pos & (SIZE - 1)], 40, __ATOMIC_RELEASE);
	__atomic_store_n((uint32_t *)&l->f->data[(l->pos & (SIZE - 1)) + SIZE], 40,
			 __ATOMIC_RELEASE);
	return NULL;
}

/*
 * The last drain: a record still being written (reserved on another CPU)
 * holds up the committed ones behind it; ring__drain() waits for it and
 * delivers all, where one ring__consume() stops at it.  A record that stays
 * busy ends the wait after the tries given.
 */
static void test_drain_waits_for_busy(void **state)
{
	struct fake *f = fake_new();
	struct late_submit l = { f, 0, 3000 };
	pthread_t t;

	(void)state;
	produce(f, 40, 1, 0);
	l.pos = produce(f, 40, 2, BPF_RINGBUF_BUSY_BIT);
	produce(f, 40, 3, 0);
	assert_int_equal(pthread_create(&t, NULL, submit_late, &l), 0);
	assert_int_equal(ring__drain(&f->r, cb, f, 1000, 50), 3);
	pthread_join(t, NULL);
	assert_int_equal(f->first[1], 2);
	assert_int_equal(f->first[2], 3);
	assert_int_equal(f->cons, f->prod);

	f->n = 0;
	produce(f, 40, 4, BPF_RINGBUF_BUSY_BIT);
	produce(f, 40, 5, 0);
	assert_int_equal(ring__drain(&f->r, cb, f, 100, 5), 0); /* bounded */
	assert_int_equal(f->n, 0);
	free(f);
}

/* What ring__batch_walk() handed over. */
struct seen {
	int n;
	const void *at[16];
	size_t size[16];
	int fail_at; /* 1-based; 0: never */
};

static int note(void *ctx, void *data, size_t size)
{
	struct seen *w = ctx;

	if (w->n < 16) {
		w->at[w->n] = data;
		w->size[w->n] = size;
	}
	return ++w->n == w->fail_at ? -5 : 0;
}

/* A batch of events of @sizes (0-terminated) into @buf; its size. */
static size_t batch(void *buf, const unsigned *sizes)
{
	struct nw_batch_hdr *h = buf;
	unsigned char *p = (unsigned char *)buf + sizeof(*h);

	memset(buf, 0xa5, 2048);
	h->mark = NW_BATCH_MARK;
	h->count = 0;
	for (; *sizes; sizes++, h->count++) {
		struct nw_batch_rec r = { .size = *sizes };

		memcpy(p, &r, sizeof(r));
		p += sizeof(r) + *sizes;
	}
	h->bytes = (__u32)(p - (unsigned char *)buf - sizeof(*h));
	return (size_t)(p - (unsigned char *)buf);
}

/* Batches (include/natwho.h): each event handed over where it lies, a
 * single event as it is, and a batch whose sizes do not add up handed over
 * whole (to be counted undecodable), never read past. */
static void test_batch_walk(void **state)
{
	static const unsigned three[] = { 88, 136, 88, 0 };
	_Alignas(8) unsigned char buf[2048];
	struct nw_event4 one = { .ts_boot_ns = 12345 };
	struct seen w = { 0 };
	size_t n = batch(buf, three);

	(void)state;
	assert_int_equal(ring__batch_walk(buf, n, note, &w), 3);
	assert_int_equal(w.n, 3);
	assert_ptr_equal(w.at[0], buf + 16 + 8);
	assert_int_equal(w.size[0], 88);
	assert_ptr_equal(w.at[1], buf + 16 + 8 + 88 + 8);
	assert_int_equal(w.size[1], 136);
	assert_ptr_equal(w.at[2], buf + 16 + 2 * 8 + 88 + 136 + 8);
	assert_int_equal(w.size[2], 88);

	memset(&w, 0, sizeof(w)); /* an event: itself */
	assert_int_equal(ring__batch_walk(&one, sizeof(one), note, &w), 1);
	assert_ptr_equal(w.at[0], &one);
	assert_int_equal(w.size[0], sizeof(one));

	memset(&w, 0, sizeof(w)); /* bytes past the record: whole */
	((struct nw_batch_hdr *)buf)->bytes += 8;
	assert_int_equal(ring__batch_walk(buf, n, note, &w), 0);
	assert_int_equal(w.n, 1);
	assert_ptr_equal(w.at[0], buf);
	assert_int_equal(w.size[0], n);
	((struct nw_batch_hdr *)buf)->bytes -= 8;

	memset(&w, 0, sizeof(w)); /* one event more than there are: three, then whole */
	((struct nw_batch_hdr *)buf)->count = 4;
	assert_int_equal(ring__batch_walk(buf, n, note, &w), 3);
	assert_int_equal(w.n, 4);
	assert_ptr_equal(w.at[3], buf);
	((struct nw_batch_hdr *)buf)->count = 3;

	memset(&w, 0, sizeof(w)); /* an event's size past the end: whole */
	((struct nw_batch_rec *)(buf + 16))->size = 4096;
	assert_int_equal(ring__batch_walk(buf, n, note, &w), 0);
	assert_int_equal(w.n, 1);
	assert_int_equal(w.size[0], n);
	((struct nw_batch_rec *)(buf + 16))->size = 88;

	memset(&w, 0, sizeof(w)); /* shorter than a header: as it is */
	assert_int_equal(ring__batch_walk(buf, 8, note, &w), 1);
	assert_int_equal(w.size[0], 8);

	memset(&w, 0, sizeof(w)); /* the callback's error stops the walk */
	w.fail_at = 2;
	assert_int_equal(ring__batch_walk(buf, n, note, &w), -5);
	assert_int_equal(w.n, 2);
}

/* A stage a CPU still held after the last flush: only the events recorded
 * before the stop count (lost); all of them when its sizes do not add up. */
static void test_stage_held(void **state)
{
	static const unsigned three[] = { 88, 136, 88, 0 };
	static const size_t at[] = { 8, 8 + 88 + 8, 8 + 88 + 8 + 136 + 8 };
	static const uint64_t ts[] = { 100, 300, 200 };
	_Alignas(8) unsigned char b[2048];
	struct nw_stage st;
	size_t n = batch(b, three);

	(void)state;
	memset(&st, 0, sizeof(st));
	memcpy(&st.hdr, b, sizeof(st.hdr));
	memcpy(st.buf, b + sizeof(st.hdr), n - sizeof(st.hdr));
	for (int i = 0; i < 3; i++)
		memcpy(st.buf + at[i], &ts[i], sizeof(ts[i]));
	st.hdr.mark = 0; /* written at flushes only: never yet */
	assert_int_equal(ring__stage_held(&st, 250), 2);
	assert_int_equal(ring__stage_held(&st, 100), 0);
	assert_int_equal(ring__stage_held(&st, 101), 1);
	assert_int_equal(ring__stage_held(&st, 1000), 3);
	st.hdr.mark = NW_BATCH_MARK;
	assert_int_equal(ring__stage_held(&st, 250), 2);

	st.hdr.count = 4; /* one more than there is: all four */
	assert_int_equal(ring__stage_held(&st, 0), 4);
	st.hdr.count = 3;
	st.hdr.bytes = sizeof(st.buf) + 1; /* past the stage: all three */
	assert_int_equal(ring__stage_held(&st, 0), 3);
	st.hdr.count = 0; /* nothing held */
	assert_int_equal(ring__stage_held(&st, 1000), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_order),
		cmocka_unit_test(test_discard_and_busy),
		cmocka_unit_test(test_wrap),
		cmocka_unit_test(test_release_steps),
		cmocka_unit_test(test_callback_error),
		cmocka_unit_test(test_producer_moves),
		cmocka_unit_test(test_producer_never_stops),
		cmocka_unit_test(test_drain_waits_for_busy),
		cmocka_unit_test(test_batch_walk),
		cmocka_unit_test(test_stage_held),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
