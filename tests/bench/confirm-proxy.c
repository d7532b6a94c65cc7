// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Loader for tests/bench/confirm_proxy.bpf.c (see there): links one of its
 * programs at IPv4 POST_ROUTING of the current network namespace, just
 * before conntrack confirmation, reads its ring buffer as natwho does (every
 * 50 ms, each record copied out with src/ring.c's reader, so the records'
 * cache lines move to the reading CPU and back, as they do under natwho),
 * and after SECONDS prints what the program timed:
 *
 *   confirm-proxy OBJECT PROGRAM SECONDS [SLOT/SLOTS]
 *   -> "ready", then
 *      regions=N ns=TOTAL ns_per_region=X lost=N
 *
 * OBJECT is one of the four builds, PROGRAM confirm_body, nf_body, ring_only
 * or timer.
 * SLOT/SLOTS (default 0/1): time only the new connections in share SLOT of
 * SLOTS, so that SLOTS loaders run side by side on disjoint connections.
 * SIGTERM or SIGINT ends the SECONDS early, with the result printed.
 * Run by tests/bench/confirm-proxy.sh, as root.  Exit 0, 1 on any failure.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "natwho.h"
#include "nf_compat.h"
#include "rodata.h"
#include "percpu.h"
#include "ring.h"

#define PROXY_RINGBUF (8u << 20) /* natwho's default */
#define PROXY_NFPROTO_IPV4 2
#define PROXY_NF_POST_ROUTING 4

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int fail(const char *what, int err)
{
	fprintf(stderr, "confirm-proxy: %s: %s\n", what, strerror(err < 0 ? -err : err));
	return 1;
}

/* Size @map to the possible CPUs where it is an array indexed by CPU id; an
 * older build's object (NWCP_ALT) may have it as an LRU hash, or not at all. */
static int size_if_array(struct bpf_map *map)
{
	return map && bpf_map__type(map) == BPF_MAP_TYPE_ARRAY ? percpu_size_by_cpu(map) : 0;
}

/* What natwho's reader does first with a record: copy it out. */
static int copy_out(void *ctx, void *data, size_t size)
{
	struct nw_event *e = ctx;

	memcpy(e, data, size < sizeof(*e) ? size : sizeof(*e));
	return 0;
}

static int link_before_confirm(int prog_fd)
{
	int fd = -EBUSY;

	for (int i = 0; i < NW_NF_PRI_TRIES && fd == -EBUSY; i++)
		fd = nf_compat__link_create(prog_fd, PROXY_NFPROTO_IPV4, PROXY_NF_POST_ROUTING,
					    NW_NF_PRI_BEFORE_CONFIRM - i);
	return fd;
}

int main(int argc, char **argv)
{
	long page = sysconf(_SC_PAGESIZE);
	uint64_t ns = 0, regions = 0, lost = 0;
	struct nw_filter *filter;
	struct bpf_program *prog, *p;
	struct bpf_object *obj;
	unsigned long *cons;
	const unsigned char *prod;
	struct nw_event last;
	struct nw_ring ring;
	__u32 *conn_id, *share, *netns, id;
	struct stat st;
	struct timespec end, now;
	struct sigaction sa = { 0 };
	int secs, err, link, ring_fd;
	unsigned int slot = 0, slots = 1, ring_size = PROXY_RINGBUF;
	char junk;

	secs = argc == 4 || argc == 5 ? atoi(argv[3]) : 0;
	if (argc == 5 && (sscanf(argv[4], "%u/%u%c", &slot, &slots, &junk) != 2 ||
			  !slots || slots > 16 || slot >= slots))
		secs = 0;
	if (secs <= 0 || secs > 600) {
		fprintf(stderr, "usage: confirm-proxy OBJECT PROGRAM SECONDS [SLOT/SLOTS]\n");
		return 1;
	}
	libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj)
		return fail(argv[1], errno);
	prog = bpf_object__find_program_by_name(obj, argv[2]);
	if (!prog)
		return fail(argv[2], ENOENT);
	bpf_object__for_each_program(p, obj) {
		bpf_program__set_autoload(p, p == prog);
		nf_compat__set_type(p);
	}
	filter = bench_rodata_var(obj, "filter", sizeof(*filter));
	if (!filter)
		return fail("no filter in .rodata", ENOENT);
	/* SLOTS loaders share the storm: their rings together no bigger than
	 * natwho's, so that the records' memory turns over about as fast */
	while (ring_size > PROXY_RINGBUF / slots)
		ring_size /= 2;
	filter->wake_bytes = ring_size / 8; /* as natwho sets it */
	share = bench_rodata_var(obj, "proxy_slots", sizeof(*share));
	if (!share)
		return fail("no proxy_slots in .rodata", ENOENT);
	*share = slots;
	share = bench_rodata_var(obj, "proxy_slot", sizeof(*share));
	if (!share)
		return fail("no proxy_slot in .rodata", ENOENT);
	*share = slot;
	conn_id = bench_rodata_var(obj, "nf_conn_btf_id", sizeof(*conn_id));
	if (conn_id) {
		err = nf_compat__conn_btf_id(&id);
		if (err)
			return fail("struct nf_conn in vmlinux BTF", err);
		*conn_id = id;
	}
	/* nf_body's namespace, as natwho's netfilter backend sets it (an
	 * older build's object may not have it) */
	netns = bench_rodata_var(obj, "nf_netns", sizeof(*netns));
	if (netns) {
		if (stat("/proc/thread-self/ns/net", &st))
			return fail("/proc/thread-self/ns/net", errno);
		*netns = st.st_ino;
	}
	err = bpf_map__set_max_entries(bpf_object__find_map_by_name(obj, "events"), ring_size);
	if (err)
		return fail("ring buffer size", err);
	/* as natwho's backends do: the stages, and the call frames where they
	 * are per CPU; an older build's object (NWCP_ALT) may have neither */
	err = size_if_array(bpf_object__find_map_by_name(obj, "stage"));
	err = err ?: size_if_array(bpf_object__find_map_by_name(obj, "confirming"));
	if (err)
		return fail("stage or frame array", err);
	err = bpf_object__load(obj);
	if (err)
		return fail("load", err);
	link = link_before_confirm(bpf_program__fd(prog));
	if (link < 0)
		return fail("netfilter link", link);

	ring_fd = bpf_map__fd(bpf_object__find_map_by_name(obj, "events"));
	cons = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_SHARED, ring_fd, 0);
	/* the producer page, then the data pages mapped twice */
	prod = mmap(NULL, (size_t)page + 2 * ring_size, PROT_READ, MAP_SHARED, ring_fd, page);
	if (cons == MAP_FAILED || prod == MAP_FAILED)
		return fail("ring buffer mmap", errno);
	ring__init(&ring, cons, (const unsigned long *)prod, prod + page, ring_size);
	sa.sa_handler = on_signal; /* no SA_RESTART: the sleep ends at once */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	printf("ready\n");
	fflush(stdout);

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += secs;
	do {
		struct timespec tick = { 0, 50 * 1000 * 1000 }; /* natwho's NW_POLL_MS */

		nanosleep(&tick, NULL);
		ring__consume(&ring, copy_out, &last);
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (!stop &&
		 (now.tv_sec < end.tv_sec || (now.tv_sec == end.tv_sec && now.tv_nsec < end.tv_nsec)));

	close(link);
	err = percpu_u64_sum(bpf_map__fd(bpf_object__find_map_by_name(obj, "proxy_ns")), &ns);
	if (!err)
		err = percpu_u64_sum(bpf_map__fd(bpf_object__find_map_by_name(obj, "proxy_regions")),
				     &regions);
	if (!err)
		err = percpu_u64_sum(bpf_map__fd(bpf_object__find_map_by_name(obj, "lost")), &lost);
	if (err)
		return fail("reading the counters", err);
	printf("regions=%llu ns=%llu ns_per_region=%.1f lost=%llu\n", (unsigned long long)regions,
	       (unsigned long long)ns, regions ? (double)ns / (double)regions : 0.0,
	       (unsigned long long)lost);
	bpf_object__close(obj);
	return 0;
}
