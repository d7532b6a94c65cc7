// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * nw-frames: the per-CPU call frames of the fentry and kprobe backends
 * (bpf/confirm.bpf.h), tested through their own BPF code.
 *
 *   nw-frames OBJECT
 *
 * OBJECT is build/tests/frames.bpf.o (tests/bpf/frames.bpf.c): a raw_tp
 * program that pushes or takes one frame per BPF_PROG_TEST_RUN, on the CPU
 * this driver picks, for a task, skb and conntrack it names.  Each case
 * below stages what a storm shows too rarely to test: nested calls, threads
 * preempted inside the call, a thread moved to another CPU, returns the
 * kernel skipped, a full ring.  Tasks, skbs and conntracks are made-up
 * numbers; the frames only compare them.
 *
 * Prints "result: CASE pass", "result: CASE fail: WHY" or "result: CASE
 * unsupported: WHY" (a case that needs two CPUs on a machine with one)
 * per case.  Exit 0 when none failed, 1 when one did or the object could
 * not be loaded, 77 when this kernel cannot run it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#define DEPTH 8 /* NW_CONFIRM_DEPTH */
#define RING_BYTES 256 /* sizeof(struct nw_confirm_frames) */

enum { PUSH = 1, TAKE = 2 };

struct result {
	__u64 found, entered, ct;
};

static int prog_fd, out_fd, rings_fd, ncpus;
static int failed;
static char why[256];

/* Run one operation on @cpu; *@r what it did.  0, or a negative errno. */
static int op(int cpu, __u64 what, __u64 task, __u64 skb, __u64 ct, struct result *r)
{
	__u64 args[4] = { what, task, skb, ct };
	LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = args, .ctx_size_in = sizeof(args),
		    .flags = BPF_F_TEST_RUN_ON_CPU, .cpu = cpu);
	__u32 zero = 0;

	if (bpf_prog_test_run_opts(prog_fd, &o))
		return -errno;
	if (o.retval)
		return -EINVAL;
	return bpf_map_lookup_elem(out_fd, &zero, r) ? -errno : 0;
}

static bool failf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return false;
}

static bool push(int cpu, __u64 task, __u64 skb, __u64 ct)
{
	struct result r;
	int err = op(cpu, PUSH, task, skb, ct, &r);

	if (err)
		return failf("push on CPU %d: %s", cpu, strerror(-err));
	return r.found ? true : failf("push on CPU %d: no ring", cpu);
}

/* Take @task's frame (with @skb unless 0) on @cpu: expect @want_ct, or no
 * frame when @want_ct is 0. */
static bool take(int cpu, __u64 task, __u64 skb, __u64 want_ct)
{
	struct result r;
	int err = op(cpu, TAKE, task, skb, 0, &r);

	if (err)
		return failf("take on CPU %d: %s", cpu, strerror(-err));
	if (!want_ct)
		return r.found ? failf("task %#llx skb %#llx on CPU %d: found conntrack %#llx, "
				       "expected no frame", task, skb, cpu, r.ct) : true;
	if (!r.found)
		return failf("task %#llx skb %#llx on CPU %d: no frame, expected conntrack %#llx",
			     task, skb, cpu, want_ct);
	if (r.ct != want_ct || (skb && r.entered != skb))
		return failf("task %#llx skb %#llx on CPU %d: conntrack %#llx skb %#llx, expected "
			     "%#llx", task, skb, cpu, r.ct, r.entered, want_ct);
	return true;
}

/* @cpu's ring: expect @depth slots in use. */
static bool depth_is(int cpu, __u32 depth)
{
	__u32 key = cpu, v[RING_BYTES / 4]; /* struct nw_confirm_frames: top, depth, ... */

	if (bpf_map_lookup_elem(rings_fd, &key, v))
		return failf("reading CPU %d's ring: %s", cpu, strerror(errno));
	return v[1] == depth ? true : failf("CPU %d's ring: depth %u, expected %u", cpu, v[1], depth);
}

/* Made-up values, distinct per case: task, skb and conntrack. */
#define T(c, i) (0xffff888000000000ULL | (__u64)(c) << 16 | (i) << 4)
#define S(c, i) (0xffff889000000000ULL | (__u64)(c) << 16 | (i) << 8)
#define C(c, i) (0xffff88a000000000ULL | (__u64)(c) << 16 | (i) << 6)

/* One call: entry and return on one CPU, the ring empty after it. */
static bool one_call(void)
{
	return push(0, T(1, 1), S(1, 1), C(1, 1)) && depth_is(0, 1) &&
	       take(0, T(1, 1), S(1, 1), C(1, 1)) && depth_is(0, 0) &&
	       take(0, T(1, 1), S(1, 1), 0);
}

/* A softirq's call inside a process's, on its task: kretprobe returns (no
 * skb) take the newest first; fexit returns find their own by skb. */
static bool nested(void)
{
	return push(0, T(2, 1), S(2, 1), C(2, 1)) && push(0, T(2, 1), S(2, 2), C(2, 2)) &&
	       take(0, T(2, 1), 0, C(2, 2)) && take(0, T(2, 1), 0, C(2, 1)) && depth_is(0, 0) &&
	       push(0, T(2, 1), S(2, 3), C(2, 3)) && push(0, T(2, 1), S(2, 4), C(2, 4)) &&
	       take(0, T(2, 1), S(2, 3), C(2, 3)) && depth_is(0, 2) &&
	       take(0, T(2, 1), S(2, 4), C(2, 4)) && depth_is(0, 0);
}

/* Thread 1 preempted inside the call, thread 2 runs one on the same CPU
 * and is preempted too; they return in any order, each with its own frame. */
static bool preempted(void)
{
	return push(0, T(3, 1), S(3, 1), C(3, 1)) && push(0, T(3, 2), S(3, 2), C(3, 2)) &&
	       take(0, T(3, 1), 0, C(3, 1)) && depth_is(0, 2) && /* under 2's: stays */
	       push(0, T(3, 3), S(3, 3), C(3, 3)) && take(0, T(3, 3), S(3, 3), C(3, 3)) &&
	       take(0, T(3, 2), S(3, 2), C(3, 2)) && depth_is(0, 0) && /* both given back */
	       take(0, T(3, 1), 0, 0) && take(0, T(3, 2), 0, 0);
}

/* A thread moved to another CPU between entry and return, fexit and
 * kretprobe alike; its frame is consumed there, once. */
static bool moved(void)
{
	return push(0, T(4, 1), S(4, 1), C(4, 1)) && take(1, T(4, 1), S(4, 1), C(4, 1)) &&
	       take(0, T(4, 1), S(4, 1), 0) &&
	       push(1, T(4, 2), S(4, 2), C(4, 2)) && push(1, T(4, 3), S(4, 3), C(4, 3)) &&
	       take(0, T(4, 2), 0, C(4, 2)) && take(1, T(4, 3), 0, C(4, 3)) &&
	       depth_is(1, 0) && take(1, T(4, 2), 0, 0) &&
	       /* and the moved thread's next call, on its new CPU */
	       push(0, T(4, 2), S(4, 4), C(4, 4)) && take(0, T(4, 2), 0, C(4, 4)) && depth_is(0, 0);
}

/* A return the kernel skipped leaves its frame; calls after it still pair,
 * and the ring does not grow past it. */
static bool skipped_return(void)
{
	if (!push(0, T(5, 1), S(5, 1), C(5, 1)))
		return false;
	for (__u64 i = 0; i < 3 * DEPTH; i++)
		if (!push(0, T(5, 2), S(5, 2 + i), C(5, 2 + i)) ||
		    !take(0, T(5, 2), S(5, 2 + i), C(5, 2 + i)) || !depth_is(0, 1))
			return false;
	/* its thread's next call is found, not the frame left behind */
	return push(0, T(5, 1), S(5, 99), C(5, 99)) && take(0, T(5, 1), 0, C(5, 99)) &&
	       depth_is(0, 1);
}

/* More calls in flight on one CPU than slots: the oldest frame gives way,
 * the newest DEPTH are all found, and the ring empties after them. */
static bool full_ring(void)
{
	/* what skipped_return left (its first frame) is consumed or overwritten */
	for (__u64 i = 0; i <= DEPTH; i++)
		if (!push(0, T(6, i), S(6, i), C(6, i)))
			return false;
	if (!depth_is(0, DEPTH) || !take(0, T(6, 0), S(6, 0), 0))
		return false;
	for (__u64 i = DEPTH; i >= 1; i--)
		if (!take(0, T(6, i), S(6, i), C(6, i)))
			return false;
	return depth_is(0, 0) && take(0, T(5, 1), S(5, 1), 0);
}

static void run(const char *name, bool (*fn)(void), int need_cpus)
{
	if (ncpus < need_cpus) {
		printf("result: %s unsupported: needs %d CPUs, this machine has %d\n", name,
		       need_cpus, ncpus);
		return;
	}
	why[0] = '\0';
	if (fn()) {
		printf("result: %s pass\n", name);
		return;
	}
	printf("result: %s fail: %s\n", name, why);
	failed = 1;
}

int main(int argc, char **argv)
{
	struct bpf_object *obj;
	struct bpf_map *rings;
	int err;

	if (argc != 2) {
		fprintf(stderr, "usage: nw-frames OBJECT\n");
		return 1;
	}
	libbpf_set_print(NULL);
	ncpus = libbpf_num_possible_cpus();
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		fprintf(stderr, "nw-frames: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	rings = bpf_object__find_map_by_name(obj, "confirming");
	if (!rings || bpf_map__value_size(rings) != RING_BYTES) {
		fprintf(stderr, "nw-frames: %s: no \"confirming\" array of %d-byte rings\n", argv[1],
			RING_BYTES);
		return 1;
	}
	err = ncpus > 0 ? bpf_map__set_max_entries(rings, ncpus) : -EINVAL;
	err = err ?: bpf_map__set_max_entries(bpf_object__find_map_by_name(obj, "events"), 4096);
	if (err) {
		fprintf(stderr, "nw-frames: preparing %s: %s\n", argv[1], strerror(-err));
		return 1;
	}
	err = bpf_object__load(obj);
	if (err) {
		printf("unsupported: this kernel does not load %s: %s\n", argv[1], strerror(-err));
		return 77;
	}
	prog_fd = bpf_program__fd(bpf_object__find_program_by_name(obj, "frames_op"));
	out_fd = bpf_map__fd(bpf_object__find_map_by_name(obj, "frames_out"));
	rings_fd = bpf_map__fd(rings);
	run("one_call", one_call, 1);
	run("nested", nested, 1);
	run("preempted", preempted, 1);
	run("moved", moved, 2);
	run("skipped_return", skipped_return, 1);
	run("full_ring", full_ring, 1);
	bpf_object__close(obj);
	return failed;
}
