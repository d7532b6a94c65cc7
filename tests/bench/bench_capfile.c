// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * How fast the capture writer (and reader) go on one core.
 *
 *   cc -O2 -std=gnu11 -D_GNU_SOURCE -DNATWHO_VERSION='"bench"' -Iinclude -Isrc \
 *      tests/bench/bench_capfile.c src/capfile.c -lz -o build/bench_capfile
 *   build/bench_capfile [EVENTS [BATCH|tick [FILE]]]
 *
 * Writes EVENTS (default 2000000) realistic events, calling capw__flush()
 * every BATCH (default 64) events as natwho would after each ring buffer
 * batch, or capw__tick() after every event ("tick": batches of one), to
 * FILE (default: an unlinked file in /tmp), then reads them back.  Rates
 * are per CPU second of the writer.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/types.h>
#include "natwho.h"
#include "capfile.h"

#define POOL 65536

static double now(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A node's traffic: a few clients and services, ephemeral ports, pids. */
static void make_event(struct nw_event *e, uint64_t i, uint32_t *rnd)
{
	static const char *const comms[] = { "mysql", "curl", "kubelet", "coredns", "java" };

	*rnd = *rnd * 1103515245u + 12345u;
	memset(e, 0, sizeof(*e));
	e->ts_boot_ns = 800000000000ULL + i * 2500 + (*rnd >> 20);
	e->cgroup_id = 1000 + (*rnd >> 8) % 40;
	e->netns = 4026531840u;
	e->tgid = 2000 + (*rnd >> 12) % 300;
	e->pid = e->tgid + (*rnd >> 4) % 4;
	e->ct_status = 0x188;
	e->version = NW_EVENT_VERSION;
	e->family = AF_INET;
	e->proto = IPPROTO_TCP;
	e->hook = NW_HOOK_POSTROUTING;
	e->flags = NW_EF_TASK;
	snprintf(e->comm, sizeof(e->comm), "%s", comms[(*rnd >> 16) % 5]);
	e->orig.src[0] = 10, e->orig.src[3] = (uint8_t)(2 + (*rnd >> 24) % 8);
	e->orig.dst[0] = 10, e->orig.dst[1] = 96, e->orig.dst[3] = (uint8_t)((*rnd >> 10) % 50);
	e->orig.sport = (uint16_t)(32768 + (*rnd >> 3) % 28000);
	e->orig.dport = (uint16_t)((*rnd >> 14) % 2 ? 3306 : 443);
	e->reply.src[0] = 10, e->reply.src[1] = 224, e->reply.src[3] = (uint8_t)(*rnd >> 22);
	memcpy(e->reply.dst, e->orig.src, sizeof(e->reply.dst));
	e->reply.sport = e->orig.dport;
	e->reply.dport = e->orig.sport;
}

static int bench_write(int fd, uint64_t events, uint64_t batch, bool tick)
{
	struct cap_header h = { .natwho_version = "bench", .hostname = "bench",
				.backend = "netfilter" };
	struct cap_trailer t = { 0 };
	char err[256];
	static struct nw_event pool[POOL];
	struct capw *w;
	uint32_t rnd = 1;
	double t0, c0;
	int ret;

	for (uint64_t i = 0; i < POOL; i++) /* generating is not what we measure */
		make_event(&pool[i], i, &rnd);

	ret = capw__open(&w, fd, &h, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "Error: %s\n", err);
		return ret;
	}
	t0 = now(CLOCK_MONOTONIC);
	c0 = now(CLOCK_PROCESS_CPUTIME_ID);
	for (uint64_t i = 0; i < events && !ret; i++) {
		struct nw_event *e = &pool[i % POOL];

		e->ts_boot_ns += 2500 * POOL;
		ret = capw__event(w, e, sizeof(*e));
		if (!ret && tick)
			ret = capw__tick(w, (uint64_t)(now(CLOCK_MONOTONIC) * 1e9));
		else if (!ret && (i + 1) % batch == 0)
			ret = capw__flush(w);
	}
	if (!ret)
		ret = capw__flush(w);
	ret = ret ? ret : capw__close(w, &t);
	if (ret) {
		fprintf(stderr, "Error: writing: %s\n", strerror(-ret));
		return ret;
	}
	t0 = now(CLOCK_MONOTONIC) - t0;
	c0 = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
	printf("write: %llu events, %s %llu: %.2f s wall, %.2f s cpu, %.0f events/s (cpu), "
	       "%.1f bytes/event on disk\n",
	       (unsigned long long)events, tick ? "capw__tick after each of" : "flush every",
	       (unsigned long long)(tick ? 1 : batch), t0, c0, events / c0,
	       (double)lseek(fd, 0, SEEK_END) / events);
	return 0;
}

static int bench_read(int fd)
{
	struct cap_record rec;
	uint64_t n = 0;
	char err[256];
	struct capr *r;
	double t0;
	int ret;

	lseek(fd, 0, SEEK_SET);
	t0 = now(CLOCK_MONOTONIC);
	ret = capr__open(&r, fd, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "Error: %s\n", err);
		return ret;
	}
	while ((ret = capr__next(r, &rec, err, sizeof(err))) == 1)
		n += rec.type == CAP_REC_EVENT;
	capr__close(r);
	if (ret < 0) {
		fprintf(stderr, "Error: %s\n", err);
		return ret;
	}
	t0 = now(CLOCK_MONOTONIC) - t0;
	printf("read:  %llu events: %.2f s, %.0f events/s\n", (unsigned long long)n, t0, n / t0);
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t events = argc > 1 ? strtoull(argv[1], NULL, 10) : 2000000;
	bool tick = argc > 2 && !strcmp(argv[2], "tick");
	uint64_t batch = argc > 2 && !tick ? strtoull(argv[2], NULL, 10) : 64;
	char path[] = "/tmp/bench_capfile.XXXXXX";
	int fd, ret;

	if (!events || !batch) {
		fprintf(stderr, "Usage: %s [EVENTS [BATCH|tick [FILE]]]\n", argv[0]);
		return 2;
	}
	if (argc > 3)
		fd = open(argv[3], O_RDWR | O_CREAT | O_TRUNC, 0644);
	else if ((fd = mkstemp(path)) >= 0)
		unlink(path);
	if (fd < 0) {
		fprintf(stderr, "Error: opening the output: %s\n", strerror(errno));
		return 1;
	}
	ret = bench_write(fd, events, batch, tick);
	if (!ret)
		ret = bench_read(fd);
	close(fd);
	return ret ? 1 : 0;
}
