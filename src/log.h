/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The one error reporter: "Error: ..." on stderr, or {"type":"error",...} on
 * stdout in JSON mode, plus warnings and -v debug lines on stderr. */
#ifndef NW_LOG_H
#define NW_LOG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "ctstat.h"

/* Exit codes, documented in README.md and natwho.8. */
enum nw_exit {
	NW_EXIT_OK = 0,
	NW_EXIT_RUNTIME = 1, /* failed while running */
	NW_EXIT_USAGE = 2, /* bad command line */
	NW_EXIT_PERM = 3, /* not root / missing capabilities */
	NW_EXIT_UNSUPPORTED = 4, /* kernel lacks what every backend needs */
	NW_EXIT_BADINPUT = 5, /* an input file is malformed */
	NW_EXIT_FOUND = 6, /* audit: shadowing rules found */
};

/* @json: write messages as JSON records there (the JSON output), NULL: to stderr. */
void log__setup(FILE *json, int verbose);
int log__verbosity(void);
void nw_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void nw_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * The netfilter backend's warning, live and replayed: @syns TCP SYNs of
 * @family (0 IPv4, 1 IPv6) passed with no conntrack entry in network
 * namespace @netns, and no connection of the family was tracked.
 */
void nw_warn_untracked(uint32_t netns, uint32_t family, uint64_t syns);
/* How conntrack's counters in @netns rose since natwho started (ctstat.h),
 * as one warning; the table's limit and entries said when the limit is
 * known. */
void nw_warn_conntrack(uint32_t netns, const struct ct_said *said);
/* Shown with -v (level 1) or -vv (level 2, libbpf debug). */
/*
 * The one-line reason when the kernel refused natwho's @progs programs
 * (e.g. "netfilter") for privileges: EPERM or EACCES without root; as root,
 * EACCES is the verifier's answer and EPERM a policy (lockdown, a security
 * module).  NULL for other errors; @buf holds the text when needed.
 */
const char *nw_bpf_refusal(int err, const char *progs, char *buf, size_t len);
void nw_dbg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
