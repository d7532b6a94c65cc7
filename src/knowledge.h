/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * knowledge: feeds the Kubernetes/rules index (src/kindex.h) on a live node.
 * It dumps the NAT ruleset of the traced network namespace (iptables-save,
 * ip6tables-save, nft -j, ipset save, the local addresses), reads --k8s
 * snapshot files or runs kubectl, and rebuilds the index when something
 * changed.  Never on the per-event path: knowledge__tick() runs between ring
 * buffer polls, rule dumps only when the nf_tables generation moved (or, for
 * legacy iptables, every few seconds), kubectl in the background.
 */
#ifndef NW_KNOWLEDGE_H
#define NW_KNOWLEDGE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include "kindex.h"

#define KN_MAX_SOURCES 24
#define KN_MAX_FILES 8

/* Called for every source as it is (re)loaded, e.g. to record it. */
typedef void (*kn_source_fn)(void *ctx, enum ksrc_kind kind, const char *name, const char *data,
			     size_t len);

struct kn_source {
	enum ksrc_kind kind;
	char name[1025]; /* a --k8s path, "kubectl", a dump's name (CAP_NAME_MAX) */
	char *data;
	size_t len;
	uint64_t hash;
	/* A new version is tried at the next rebuild with the version it
	 * replaced kept here; if the new one is unusable, the old one comes
	 * back and the new one's hash is remembered, so that the same answer
	 * again is not stored (nor warned about) twice. */
	char *prev;
	size_t prev_len;
	uint64_t prev_hash, bad_hash;
	bool last; /* added after every other source (knowledge_opts.files_last) */
};

struct kn_async; /* a background kubectl run */

struct knowledge_opts {
	const char *files[KN_MAX_FILES]; /* --k8s FILE... ("-": stdin) */
	int nfiles;
	bool kubectl; /* --k8s kubectl */
	const char *kubeconfig;
	bool rules; /* dump the ruleset of the traced namespace */
	int netns_fd; /* where to dump it; -1: ours */
	/* -r: the --k8s files add to the capture's own knowledge, which names
	 * an address first (what was known when it was recorded) */
	bool files_last;
	uint32_t node_netns; /* its inode (the node's), for kindex__set_node_netns(); 0: none */
	uint32_t kubectl_refresh_s; /* 0: never refresh */
	uint32_t rules_check_ms;
	/* Called at least every 50 ms while a rule dump runs, so that the
	 * caller drains its ring buffer meanwhile (a dump of a big ruleset takes
	 * seconds); true when the caller is ending (its --count or --duration
	 * reached): the dump is given up as on a stop.  NULL: nothing. */
	bool (*wait)(void *ctx);
	void *wait_ctx;
	/* Set by a stop signal: a rule dump, a kubectl run or a --k8s - read
	 * in progress is given up (a dump killed), the ones not started are
	 * skipped; NULL: never. */
	const volatile sig_atomic_t *stop;
	bool once; /* the rules are read once (natwho audit): a failed dump is not retried */
};

#define KN_DUMPS_MAX 6 /* rule dumps (src/knowledge.c), the legacy and iptables-nft ones last */

struct knowledge {
	struct knowledge_opts opts;
	struct kindex *idx;
	struct kn_source src[KN_MAX_SOURCES];
	int nsrc;
	kn_source_fn on_source;
	void *on_source_ctx;
	int nl_fd; /* NETLINK_NETFILTER socket in the traced namespace */
	uint32_t nft_gen;
	bool have_gen, legacy_rules;
	uint64_t next_rules_ns, next_kubectl_ns, next_legacy_ns;
	uint64_t next_ipvs_ns; /* IPVS's table moves without the rules: read on its own */
	bool ipvs_failed; /* its last read failed (said once) */
	struct kn_async *kubectl;
	bool kubectl_warned;
	/* the cluster serves us no EndpointSlices (before Kubernetes 1.17, or
	 * RBAC without them): kubectl gets v1 Endpoints instead */
	bool kubectl_endpoints;
	char kubectl_context[254]; /* pinned at start: "" when kubectl named none */
	int rule_dumps_read; /* iptables-save, ip6tables-save, nft: how many gave output */
	/* kn_note_failures(): a bit per rule dump (the legacy one last) */
	uint32_t dumps_read; /* its version is in use */
	uint32_t dumps_failed; /* it failed in the last read: tried again when due */
	uint32_t dumps_warned; /* its failure was said, and not yet its recovery */
	unsigned int stale_tries; /* reads in a row with a failed dump */
	uint64_t next_retry_ns; /* CLOCK_MONOTONIC: such a read tried again, not before */
	int dump_err[KN_DUMPS_MAX]; /* each dump's error in the last read */
	uint64_t dump_read_ns[KN_DUMPS_MAX]; /* CLOCK_BOOTTIME of each dump's version */
	bool read_stopped; /* the last read was given up for a stop */
	char pods_said[512]; /* the first pod address claimed twice, as last warned ("": none) */
	uint32_t xt_said; /* iptables-nft rules no dump shows (kindex_stats), as last warned */
	int8_t ipt_nft; /* `iptables-save -V` said "(nf_tables)": 1; not: -1; not asked: 0 */
	bool opened; /* knowledge__close() is a no-op before knowledge__open() */
	bool had_index; /* knowledge__had_index() */
};

/* Load everything once.  Returns 0, or an NW_EXIT_* code after reporting
 * (NW_EXIT_BADINPUT for a --k8s file that cannot be parsed or is too big,
 * NW_EXIT_RUNTIME for one that cannot be read). */
int knowledge__open(struct knowledge *k, const struct knowledge_opts *opts, kn_source_fn fn,
		    void *ctx);
/* Between polls: refresh what changed.  @now_ns is CLOCK_MONOTONIC. */
void knowledge__tick(struct knowledge *k, uint64_t now_ns);
/* Replace or add one source (replay) and rebuild the index. */
int knowledge__put(struct knowledge *k, enum ksrc_kind kind, const char *name, const char *data,
		   size_t len);
/* The network namespace (inode) the knowledge is of: kindex__set_node_netns();
 * -r sets it from the capture's header.  0: not known. */
void knowledge__set_node_netns(struct knowledge *k, uint32_t netns);
uint32_t knowledge__node_netns(const struct knowledge *k);
/* Did a dump fail in the last read of the rules (kn_note_failures())?  Its
 * name and why in @why when so. */
bool knowledge__rules_failed(const struct knowledge *k, char *why, size_t len);
/* Were the node's NAT rules read (some dump worked)?  False with --no-rules. */
bool knowledge__rules_read(const struct knowledge *k);
/* NULL while nothing is known. */
const struct kindex *knowledge__index(const struct knowledge *k);
/* Was anything known at some point (knowledge__index() not NULL), even if
 * nothing is now (every rule removed)?  The summary's counts apply then. */
bool knowledge__had_index(const struct knowledge *k);
void knowledge__close(struct knowledge *k);

#endif
