// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "capture.h"
#include "log.h"

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

static int try_backend(struct capture *cap, const struct nw_backend_ops *ops,
		       const struct nw_backend_opts *opts, capture_cb cb, void *ctx, char *why,
		       size_t why_len)
{
	int err;

	memset(&cap->be, 0, sizeof(cap->be));
	cap->be.ops = ops;
	err = ops->open(&cap->be, opts, why, why_len);
	if (err)
		return err;
	cap->rb = ring_buffer__new(cap->be.events_fd, cb, ctx, NULL);
	if (!cap->rb) {
		err = -errno;
		snprintf(why, why_len, "ring buffer: %s", strerror(-err));
		ops->close(&cap->be);
		return err;
	}
	return 0;
}

int capture__open(struct capture *cap, const char *backend, const struct nw_backend_opts *opts,
		  capture_cb cb, void *ctx, char *why, size_t why_len)
{
	struct nw_backend_opts o = *opts;
	size_t used = 0;
	int err = -ENOENT;

	memset(cap, 0, sizeof(*cap));
	/* Every backend wakes the reader once an eighth of the ring is queued. */
	o.filter.wake_bytes = o.ringbuf_size / 8;
	why[0] = '\0';
	for (size_t i = 0; i < NBACKENDS; i++) {
		char one[NW_WHY_LEN];

		if (strcmp(backend, "auto") && strcmp(backend, backends[i]->name))
			continue;
		err = try_backend(cap, backends[i], &o, cb, ctx, one, sizeof(one));
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

int capture__poll(struct capture *cap, int timeout_ms)
{
	int n = ring_buffer__poll(cap->rb, timeout_ms), m;

	if (n == -EINTR)
		n = 0;
	if (n < 0)
		return n;
	/* The BPF side wakes us only when the ring fills up: drain what came
	 * in quietly since the last tick. */
	m = ring_buffer__consume(cap->rb);
	return m < 0 ? m : n + m;
}

int capture__lost(const struct capture *cap, uint64_t *lost)
{
	return percpu_u64_sum(cap->be.lost_fd, lost);
}

int percpu_u64_sum(int map_fd, uint64_t *sum)
{
	int ncpus = libbpf_num_possible_cpus(); /* libbpf caches it */
	__u32 zero = 0;
	__u64 *vals;
	int err = 0;

	if (ncpus <= 0)
		return ncpus ?: -EINVAL;
	vals = calloc(ncpus, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	if (bpf_map_lookup_elem(map_fd, &zero, vals)) {
		err = -errno;
		goto cleanup;
	}
	*sum = 0;
	for (int i = 0; i < ncpus; i++)
		*sum += vals[i];
cleanup:
	free(vals);
	return err;
}

const char *capture__backend(const struct capture *cap)
{
	return cap->be.ops ? cap->be.ops->name : NULL;
}

void capture__close(struct capture *cap)
{
	ring_buffer__free(cap->rb);
	cap->rb = NULL;
	if (cap->be.ops)
		cap->be.ops->close(&cap->be);
	cap->be.ops = NULL;
}
