/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The kernel-side filter (struct nw_filter, applied by nw_emit() in
 * bpf/common.bpf.h) evaluated in userspace on a decoded connection, for
 * `natwho -r` (replay), and its rendering as command-line text for the
 * capture file header.  Pure.
 */
#ifndef NW_FILTER_H
#define NW_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include "conn.h"
#include "natwho.h"

/*
 * True if nw_emit() would have reported @c under @f, field by field:
 *   family, proto, netns   equal when set;
 *   tgid (--pid)           the connection has a local process (NW_EF_TASK)
 *                          and it is that process;
 *   ports (--port)         a protocol with ports, and the original or the
 *                          translated destination port is listed;
 *   addrs (--addr)         one of the four addresses (original and reply
 *                          source and destination) is in a listed prefix;
 *   cgroup                 joined with a --cgroup socket record (NW_EF_JOINED).
 * filter.tree (--children) needs the live process tree and is ignored.
 */
bool filter__match(const struct nw_filter *f, const struct conn *c);
/* True when any field filter__match() checks is set. */
bool filter__active(const struct nw_filter *f);
/*
 * "--port 3306,80 --addr 10.96.0.0/12,fd00::1 --proto tcp -4 --pid 42
 * --netns 4026531840" (only what is set; "" for none).  Returns the length it needed, like snprintf().
 */
int filter__format(const struct nw_filter *f, char *buf, size_t len);

#endif
