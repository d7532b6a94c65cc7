// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * netfilter backend (Linux >= 6.4): BPF_PROG_TYPE_NETFILTER programs linked
 * at POST_ROUTING and LOCAL_IN of one network namespace, for IPv4 and IPv6.
 */
#include <sys/socket.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/netfilter.h>
#include "backend.h"
#include "cgroup.h"
#include "log.h"
#include "nf.skel.h"
#include "nf_compat.h"
#include "percpu.h"
#include "proctree.h"

static const char *nf_load_hint(int err)
{
	switch (-err) {
	case EINVAL:
		return "the kernel rejected the BPF_PROG_TYPE_NETFILTER programs (needs Linux >= "
		       "6.4 with CONFIG_NETFILTER_BPF_LINK; -vv shows libbpf's log)";
	default:
		return NULL;
	}
}

/* Link both hooks of one family; 0 or -errno. */
static int nf_link_hooks(struct nw_backend *be, struct nf_bpf *skel, int pf)
{
	static const struct {
		int hooknum;
		const char *name;
	} hooks[] = { { NF_INET_POST_ROUTING, "post_routing" }, { NF_INET_LOCAL_IN, "local_in" } };

	for (size_t i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++) {
		struct bpf_program *prog = hooks[i].hooknum == NF_INET_LOCAL_IN ?
						   skel->progs.nf_local_in :
						   skel->progs.nf_postrouting;
		int prio = NW_NF_PRI_BEFORE_CONFIRM, fd;

		/* Another BPF hook (a second natwho?) may hold the priority. */
		do {
			fd = nf_compat__link_create(bpf_program__fd(prog), pf, hooks[i].hooknum,
						    prio--);
		} while (fd == -EBUSY && prio > NW_NF_PRI_BEFORE_CONFIRM - NW_NF_PRI_TRIES);
		if (fd < 0)
			return fd;
		if (be->nlinks >= NW_BACKEND_MAX_LINKS) {
			close(fd);
			return -E2BIG;
		}
		be->link_fds[be->nlinks++] = fd;
		nw_dbg(1, "netfilter: linked %s at %s, priority %d\n",
		       pf == NFPROTO_IPV4 ? "ipv4" : "ipv6", hooks[i].name, prio + 1);
	}
	return 0;
}

/* Link both hooks of one family; 0 or -errno, and then neither is linked
 * (half a family would trace connections of one direction only). */
static int nf_link_family(struct nw_backend *be, struct nf_bpf *skel, int pf)
{
	int first = be->nlinks, err = nf_link_hooks(be, skel, pf);

	if (err) {
		while (be->nlinks > first)
			close(be->link_fds[--be->nlinks]);
	}
	return err;
}

/* Create the links inside @netns_fd (if >= 0), then come back. */
static int nf_link_all(struct nw_backend *be, struct nf_bpf *skel,
		       const struct nw_backend_opts *opts, char *why, size_t why_len)
{
	int self = -1, err = 0;

	if (opts->netns_fd >= 0) {
		self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		if (self < 0 || setns(opts->netns_fd, CLONE_NEWNET)) {
			err = -errno;
			snprintf(why, why_len, "cannot enter network namespace: %s", strerror(-err));
			goto cleanup;
		}
	}
	if (opts->filter.family != AF_INET6) {
		err = nf_link_family(be, skel, NFPROTO_IPV4);
		if (err) {
			snprintf(why, why_len, "ipv4 netfilter link: %s", strerror(-err));
			goto cleanup;
		}
	}
	if (opts->filter.family != AF_INET) {
		int err6 = nf_link_family(be, skel, NFPROTO_IPV6);

		if (err6 && opts->filter.family == AF_INET6) {
			err = err6;
			snprintf(why, why_len, "ipv6 netfilter link: %s", strerror(-err));
		} else if (err6) {
			nw_warn("IPv6 not traced (netfilter link: %s); use -4 to silence this",
				strerror(-err6));
		}
	}
cleanup:
	if (self >= 0) {
		if (setns(self, CLONE_NEWNET) && !err) {
			err = -errno;
			snprintf(why, why_len, "cannot return to own namespace: %s", strerror(-err));
		}
		close(self);
	}
	return err;
}

static void nf_close(struct nw_backend *be)
{
	for (int i = 0; i < be->nlinks; i++)
		close(be->link_fds[i]);
	be->nlinks = 0;
	nf_bpf__destroy(be->skel);
	be->skel = NULL;
}

static int nf_open(struct nw_backend *be, const struct nw_backend_opts *opts, char *why,
		   size_t why_len)
{
	struct nf_bpf *skel = nf_bpf__open();
	const char *hint;
	char buf[160];
	int err;

	if (!skel) {
		err = -errno;
		snprintf(why, why_len, "cannot open BPF object: %s", strerror(-err));
		return err;
	}
	be->skel = skel;
	skel->rodata->filter = opts->filter;
	skel->rodata->nf_netns = opts->netns; /* where the links go; 0: read per event */
	err = bpf_map__set_max_entries(skel->maps.events, opts->ringbuf_size);
	err = err ?: percpu_size_by_cpu(skel->maps.stage);
	err = err ?: nf_compat__set_type(skel->progs.nf_postrouting);
	err = err ?: nf_compat__set_type(skel->progs.nf_local_in);
	err = err ?: cgroup__join_prepare(skel->obj, opts);
	err = err ?: proctree__prepare(skel->obj, opts);
	if (err) { /* our own set-up: the kernel has not been asked anything yet */
		snprintf(why, why_len, "preparing the BPF object: %s", strerror(-err));
		goto cleanup;
	}
	err = nf_compat__conn_btf_id((__u32 *)&skel->rodata->nf_conn_btf_id);
	if (err) { /* conntrack's types are in vmlinux even when it is a module */
		snprintf(why, why_len, "the kernel's BTF has no struct nf_conn (%s): "
			 "needs CONFIG_DEBUG_INFO_BTF and CONFIG_NF_CONNTRACK", strerror(-err));
		goto cleanup;
	}
	err = nf_bpf__load(skel);
	if (err) { /* the hints explain what the kernel refused */
		hint = nw_bpf_refusal(err, "netfilter", buf, sizeof(buf)) ?: nf_load_hint(err);
		snprintf(why, why_len, "%s", hint ? hint : strerror(-err));
		goto cleanup;
	}
	err = nf_link_all(be, skel, opts, why, why_len);
	if (err)
		goto cleanup;
	be->events_fd = bpf_map__fd(skel->maps.events);
	be->lost_fd = bpf_map__fd(skel->maps.lost);
	be->flush_fd = bpf_program__fd(skel->progs.nw_flush);
	be->stage_fd = bpf_map__fd(skel->maps.stage);
	be->untracked_fd = bpf_map__fd(skel->maps.untracked);
	be->tracked = skel->bss->nf_tracked;
	return 0;
cleanup:
	nf_close(be);
	return err;
}

const struct nw_backend_ops nw_backend_netfilter = {
	.name = "netfilter",
	.open = nf_open,
	.close = nf_close,
};
