// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "capture.h"
#include "clock.h"
#include "log.h"
#include "natwho.h"

/* Preference order of --backend auto.  One place to add a backend. */
static const struct nw_backend_ops *const backends[] = {
	&nw_backend_fentry,
	&nw_backend_kprobe,
	&nw_backend_netfilter,
};
#define NBACKENDS (sizeof(backends) / sizeof(backends[0]))

bool capture__backend_known(const char *name)
{
	if (!strcmp(name, "auto"))
		return true;
	for (size_t i = 0; i < NBACKENDS; i++)
		if (!strcmp(name, backends[i]->name))
			return true;
	return false;
}

static void ring_unmap(struct capture *cap)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	if (!cap->ring.consumer_pos) /* ring_map() did not get as far as the epoll fd */
		return;
	munmap(cap->ring.consumer_pos, page);
	if (cap->ring.producer_pos)
		munmap((void *)cap->ring.producer_pos, cap->prod_len);
	if (cap->epoll_fd >= 0)
		close(cap->epoll_fd);
	memset(&cap->ring, 0, sizeof(cap->ring));
	cap->epoll_fd = -1;
}

/* Map the ring buffer @fd as the kernel lays it out (a consumer page, a
 * producer page, the data twice so that a record never wraps) and watch it. */
static int ring_map(struct capture *cap, int fd)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	struct epoll_event ev = { .events = EPOLLIN };
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	void *cons, *prod;
	int err;

	cap->epoll_fd = -1;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	if (info.type != BPF_MAP_TYPE_RINGBUF || !info.max_entries ||
	    (info.max_entries & (info.max_entries - 1)))
		return -EINVAL;
	cons = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (cons == MAP_FAILED)
		return -errno;
	cap->ring.consumer_pos = cons;
	cap->prod_len = page + 2 * (size_t)info.max_entries;
	prod = mmap(NULL, cap->prod_len, PROT_READ, MAP_SHARED, fd, (off_t)page);
	if (prod == MAP_FAILED)
		goto fail;
	ring__init(&cap->ring, cons, prod, (const unsigned char *)prod + page, info.max_entries);
	cap->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (cap->epoll_fd < 0 || epoll_ctl(cap->epoll_fd, EPOLL_CTL_ADD, fd, &ev))
		goto fail;
	return 0;
fail:
	err = -errno;
	ring_unmap(cap);
	return err;
}

static int try_backend(struct capture *cap, const struct nw_backend_ops *ops,
		       const struct nw_backend_opts *opts, char *why, size_t why_len)
{
	int err;

	memset(&cap->be, 0, sizeof(cap->be));
	cap->be.ops = ops;
	cap->be.untracked_fd = -1;
	err = ops->open(&cap->be, opts, why, why_len);
	if (err)
		return err;
	err = ring_map(cap, cap->be.events_fd);
	if (err) {
		snprintf(why, why_len, "ring buffer: %s", strerror(-err));
		ops->close(&cap->be);
		return err;
	}
	return 0;
}

/* How often each CPU's staged events are flushed (a poll tick). */
#define CAPTURE_FLUSH_NS (50 * 1000000ULL)

int capture__open(struct capture *cap, const char *backend, const struct nw_backend_opts *opts,
		  capture_cb cb, void *ctx, char *why, size_t why_len)
{
	struct nw_backend_opts o = *opts;
	size_t used = 0;
	int err = -ENOENT;

	memset(cap, 0, sizeof(*cap));
	cap->cb = cb;
	cap->ctx = ctx;
	cap->ncpus = libbpf_num_possible_cpus();
	if (cap->ncpus < 1)
		cap->ncpus = 1;
	/* Every backend wakes the reader once an eighth of the ring is queued. */
	o.filter.wake_bytes = o.ringbuf_size / 8;
	why[0] = '\0';
	for (size_t i = 0; i < NBACKENDS; i++) {
		char one[NW_WHY_LEN];

		if (strcmp(backend, "auto") && strcmp(backend, backends[i]->name))
			continue;
		err = try_backend(cap, backends[i], &o, one, sizeof(one));
		if (!err) {
			nw_dbg(1, "backend %s attached\n", backends[i]->name);
			return 0;
		}
		nw_dbg(1, "backend %s: %s\n", backends[i]->name, one);
		if (used < why_len)
			used += snprintf(why + used, why_len - used, "%s%s: %s", used ? "; " : "",
					 backends[i]->name, one);
	}
	return err;
}

/* One pass over the ring: the caller's callback, and the events it got. */
struct capture_pass {
	const struct capture *cap;
	int events;
};

/* A ring record: one event, or a batch of them (include/natwho.h), each
 * handed to the caller's callback. */
static int capture_record(void *ctx, void *data, size_t size)
{
	struct capture_pass *pass = ctx;
	int n = ring__batch_walk(data, size, pass->cap->cb, pass->cap->ctx);

	if (n < 0)
		return n;
	pass->events += n;
	return 0;
}

/*
 * Have every CPU hand what it staged to the ring: nw_flush run on each
 * (BPF_F_TEST_RUN_ON_CPU).  A stage a program was writing just then is
 * tried again @tries times, 1 ms apart (the last drain), else at the next
 * tick.  @missed (NULL: not wanted) marks the CPUs whose stage it could not
 * flush, offline ones included: a CPU taken offline keeps what it staged.
 */
static void capture_flush(struct capture *cap, int tries, bool *missed)
{
	const struct timespec ms = { 0, 1000000 };

	for (int cpu = 0; cpu < cap->ncpus; cpu++) {
		for (int t = 0;; t++) {
			LIBBPF_OPTS(bpf_test_run_opts, o, .flags = BPF_F_TEST_RUN_ON_CPU,
				    .cpu = (__u32)cpu);

			if (bpf_prog_test_run_opts(cap->be.flush_fd, &o)) {
				int e = errno;

				if (missed)
					missed[cpu] = true;
				if (e != ENXIO && !cap->flush_warned) {
					nw_warn("cannot hand CPU %d's staged events to the ring "
						"buffer: %s; they may come late",
						cpu, strerror(e));
					cap->flush_warned = true;
				}
				break;
			}
			if (!o.retval)
				break;
			if (t >= tries) {
				if (missed)
					missed[cpu] = true;
				break;
			}
			nanosleep(&ms, NULL);
		}
	}
	cap->flushed_ns = nw_now_ns(CLOCK_MONOTONIC);
}

/* @cpu's stage, read until two reads agree (a program on that CPU may be
 * writing it: one read can be torn), at most a few times; a read that stays
 * torn walks malformed and counts the whole stage.  False when it cannot be
 * read. */
static bool capture_read_stage(const struct capture *cap, __u32 cpu, struct nw_stage *st)
{
	struct nw_stage again;

	if (bpf_map_lookup_elem(cap->be.stage_fd, &cpu, st))
		return false;
	for (int i = 0; i < 8; i++) {
		if (bpf_map_lookup_elem(cap->be.stage_fd, &cpu, &again))
			return false;
		if (!memcmp(&again, st, sizeof(again)))
			break;
		*st = again;
	}
	return true;
}

/*
 * Events still staged after the last flush never reach the ring: those
 * recorded before @stop_ns, the stop, are counted with the lost ones.  Only
 * on a CPU that flush could not reach (@missed, every CPU when NULL): where
 * it ran, every event staged since was recorded after it, after the stop
 * (a program takes its stage before it reads the clock, and the flush
 * waits for a stage that is taken).  Reading a stage that programs keep
 * writing, as the storm goes on, could only mistake a torn read for a
 * malformed stage.  The programs stay attached until natwho closes them;
 * what they stage after the stop is neither delivered nor lost, as with
 * the ring's records after the last drain.  Not counted: the event of a
 * program that held its stage through the whole last flush (preempted for
 * 50 ms while writing it, on a preemptible kernel), whose time cannot be
 * told from the stage.
 */
static void capture_count_stranded(struct capture *cap, uint64_t stop_ns, const bool *missed)
{
	struct nw_stage st;

	for (__u32 cpu = 0; cpu < (__u32)cap->ncpus; cpu++) {
		if ((missed && !missed[cpu]) || !capture_read_stage(cap, cpu, &st))
			continue;
		cap->stranded += ring__stage_held(&st, stop_ns);
	}
}

int capture__poll(struct capture *cap, int timeout_ms)
{
	struct capture_pass pass = { .cap = cap };
	struct epoll_event ev;
	int n;

	/* The BPF side wakes us only when the ring fills up; either way,
	 * drain what came in quietly since the last tick, with what each CPU
	 * staged at most a tick ago. */
	if (epoll_wait(cap->epoll_fd, &ev, 1, timeout_ms) < 0 && errno != EINTR)
		return -errno;
	/* the ring read before the stages are handed to it, so that they find
	 * room in it after a burst */
	n = ring__consume(&cap->ring, capture_record, &pass);
	if (n >= 0 && nw_now_ns(CLOCK_MONOTONIC) - cap->flushed_ns >= CAPTURE_FLUSH_NS) {
		capture_flush(cap, 0, NULL);
		n = ring__consume(&cap->ring, capture_record, &pass);
	}
	return n < 0 ? n : pass.events;
}

int capture__drain(struct capture *cap)
{
	struct capture_pass pass = { .cap = cap };
	uint64_t stop_ns = nw_now_ns(CLOCK_BOOTTIME);
	bool *missed = calloc((size_t)cap->ncpus, sizeof(*missed));
	/* what the ring holds first: room for the stages after a burst */
	int n = ring__consume(&cap->ring, capture_record, &pass);

	capture_flush(cap, 50, missed);
	capture_count_stranded(cap, stop_ns, missed); /* without @missed: every CPU */
	free(missed);
	if (n < 0)
		return n;
	/* a program on another CPU between reserve and submit holds up what
	 * follows it: wait for it, 1 ms at a time, 50 ms at most */
	n = ring__drain(&cap->ring, capture_record, &pass, 1000, 50);
	return n < 0 ? n : pass.events;
}

int capture__lost_parts(const struct capture *cap, struct capture_lost *l)
{
	int err = percpu_u64_sum(cap->be.lost_fd, &l->ring);

	l->stranded = cap->stranded;
	l->skipped = 0;
	/* Runs the kernel skipped (Linux >= 5.12 counts them; before, 0). */
	for (int i = 0; !err && i < cap->be.nskippable; i++) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);

		if (bpf_obj_get_info_by_fd(cap->be.skippable_fds[i], &info, &len))
			err = -errno;
		else
			l->skipped += info.recursion_misses;
	}
	for (int i = 0; !err && i < cap->be.nmissed; i++) {
		uint64_t missed = 0;

		err = backend__link_missed(cap->be.missed_fds[i], &missed);
		l->skipped += missed;
	}
	return err;
}

int capture__untracked(const struct capture *cap, uint64_t n[2], bool tracked[2])
{
	int err;

	if (!cap->be.ops || cap->be.untracked_fd < 0 || !cap->be.tracked)
		return -EOPNOTSUPP;
	err = percpu_u64_sum_at(cap->be.untracked_fd, 0, &n[0]);
	err = err ?: percpu_u64_sum_at(cap->be.untracked_fd, 1, &n[1]);
	for (int f = 0; f < 2; f++)
		tracked[f] = cap->be.tracked[f];
	return err;
}

const char *capture__backend(const struct capture *cap)
{
	return cap->be.ops ? cap->be.ops->name : NULL;
}

void capture__close(struct capture *cap)
{
	ring_unmap(cap);
	if (cap->be.ops)
		cap->be.ops->close(&cap->be);
	cap->be.ops = NULL;
	cap->be.nskippable = 0;
	cap->be.nmissed = 0;
}
