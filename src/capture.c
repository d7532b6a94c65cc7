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

const char *const capture_backend_names[] = { "auto", "fentry", "kprobe", "netfilter", NULL };

bool capture__backend_known(const char *name)
{
	for (int i = 0; capture_backend_names[i]; i++)
		if (!strcmp(name, capture_backend_names[i]))
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
	size_t used = 0;
	int err = -ENOENT;

	memset(cap, 0, sizeof(*cap));
	cap->ncpus = libbpf_num_possible_cpus();
	if (cap->ncpus <= 0) {
		snprintf(why, why_len, "cannot count CPUs: %s", strerror(-cap->ncpus));
		return cap->ncpus ?: -EINVAL;
	}
	why[0] = '\0';
	for (size_t i = 0; i < NBACKENDS; i++) {
		char one[NW_WHY_LEN];

		if (strcmp(backend, "auto") && strcmp(backend, backends[i]->name))
			continue;
		err = try_backend(cap, backends[i], opts, cb, ctx, one, sizeof(one));
		if (!err) {
			nw_dbg(1, "backend %s attached\n", backends[i]->name);
			return 0;
		}
		nw_dbg(1, "backend %s: %s\n", backends[i]->name, one);
		used += snprintf(why + used, used < why_len ? why_len - used : 0, "%s%s: %s",
				 used ? "; " : "", backends[i]->name, one);
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
	__u64 *vals = calloc(cap->ncpus, sizeof(*vals));
	__u32 zero = 0;
	int err;

	if (!vals)
		return -ENOMEM;
	err = bpf_map_lookup_elem(cap->be.lost_fd, &zero, vals);
	if (err) {
		err = -errno;
		goto cleanup;
	}
	*lost = 0;
	for (int i = 0; i < cap->ncpus; i++)
		*lost += vals[i];
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
