/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Command line -> struct nw_opts.  Every option natwho has is here. */
#ifndef NW_OPTS_H
#define NW_OPTS_H

#include <stdbool.h>
#include <stdint.h>
#include "cgroup.h"
#include "natwho.h"
#include "out.h"

#define NW_DEFAULT_RINGBUF (8u << 20)
#define NW_MAX_K8S_FILES 8
#define NW_DEFAULT_REFRESH_S 30
#define NW_MAX_SERVICES 16

struct nw_opts {
	struct nw_filter filter; /* kernel-side */
	const char *backend;
	const char *netns_path;
	enum out_mode output;
	uint64_t count; /* 0: unlimited */
	uint64_t duration_ns; /* 0: unlimited */
	uint32_t ringbuf_size;
	struct nw_cgroup_arg cgroups[NW_MAX_CGROUPS]; /* --cgroup, --pod, --pod-uid */
	int ncgroups;
	const char *k8s_files[NW_MAX_K8S_FILES]; /* --k8s FILE ("-": stdin) */
	int nk8s_files;
	bool k8s_kubectl; /* --k8s kubectl */
	const char *kubeconfig;
	uint32_t refresh_s; /* --refresh: kubectl re-read interval */
	bool refresh_given; /* --refresh was on the command line */
	bool no_rules; /* --no-rules: do not read the node's NAT ruleset */
	bool mismatch_only;
	/* --service NS/NAME: only connections meant for one of these (userspace,
	 * by the knowledge's names); checked "NS/NAME" */
	const char *services[NW_MAX_SERVICES];
	int nservices;
	bool audit; /* `natwho audit`: list shadowing rules, no tracing */
	const char *write_path; /* -w FILE: record a capture ("-": stdout) */
	const char *read_path; /* -r FILE: replay a capture ("-": stdin), no BPF */
	char **cmd; /* `-- CMD [ARGS...]`: NULL-terminated; NULL: none */
	bool quiet; /* -q: no live records, the summary only */
	bool no_children; /* --no-children: with CMD, every matching connection */
	int verbose;
	bool utc;
	bool help;
	bool version;
};

/* 0 on success; NW_EXIT_USAGE after reporting the problem. */
int opts__parse(struct nw_opts *o, int argc, char **argv);
void opts__usage(FILE *f);

#endif
