// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The memory and time natwho takes to read kube-proxy's nftables mode on a
 * big node: synthesise what `nft -j list table ip kube-proxy` prints for
 * NSVC Services of NEP endpoints each (default 5,000 x 4: about 21 MB;
 * tests/unit/nft_gen.h), then read it into an index, item by item as natwho
 * does and parsed whole (json-c's tree of the document, kjson__whole_only:
 * the baseline, how natwho read every nft answer before 2026-11-28; that
 * code took 502 MB and 1.15 s here), alternately, RUNS times each, each read
 * in a child of its own.  Per read: the child's peak resident memory over
 * what it had before (VmHWM; the document itself is the parent's, already
 * resident), and its CPU time.  Prints the medians, the ratio of item by
 * item to whole, and exits 1 if the two reads' indexes differ in their
 * counts (kindex_stats) or miss an endpoint.  Not a timed test: `make bench`
 * runs it.
 *
 * Run: build/bench/bench_nftjson [NSVC [NEP [RUNS]]]
 *      build/bench/bench_nftjson --json [NSVC [NEP]]: the document alone, on
 *      stdout, chains before the maps that name them, as `nft -j -f`
 *      loads it (into a throwaway namespace)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "kindex.h"
#include "k8s_int.h"
#include "../unit/nft_gen.h"

static long vm_hwm_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

struct result {
	long peak_kb; /* VmHWM over the child's at its start */
	double cpu_ms;
	struct kindex_stats st;
};

/* One read of @doc in a child, item by item or @whole; 0 with *@r, or -1. */
static int read_once(const struct tbuf *doc, bool whole, struct result *r)
{
	int fds[2], status;
	bool ok;
	pid_t pid;

	if (pipe(fds))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		struct result out = { 0 };
		struct kindex *idx = kindex__new();
		struct rusage ru0, ru1;
		long base = vm_hwm_kb();
		char err[512];

		close(fds[0]);
		kjson__whole_only = whole;
		getrusage(RUSAGE_SELF, &ru0);
		if (!idx || kindex__add_source(idx, KSRC_NFT_JSON, "bench", doc->p, doc->len, err,
					       sizeof(err))) {
			fprintf(stderr, "bench_nftjson: %s\n", idx ? err : "out of memory");
			_exit(1);
		}
		getrusage(RUSAGE_SELF, &ru1);
		out.peak_kb = vm_hwm_kb() - base;
		out.cpu_ms = (ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec + ru1.ru_stime.tv_sec -
			      ru0.ru_stime.tv_sec) * 1e3 +
			     (ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec + ru1.ru_stime.tv_usec -
			      ru0.ru_stime.tv_usec) / 1e3;
		kindex__stats(idx, &out.st);
		_exit(write(fds[1], &out, sizeof(out)) == sizeof(out) ? 0 : 1);
	}
	close(fds[1]);
	ok = read(fds[0], r, sizeof(*r)) == sizeof(*r);
	close(fds[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) || !ok)
		return -1;
	return 0;
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return (x > y) - (x < y);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

#define RUNS_MAX 99

int main(int argc, char **argv)
{
	bool json = argc > 1 && !strcmp(argv[1], "--json");
	int a = json ? 2 : 1;
	unsigned nsvc = argc > a ? (unsigned)atoi(argv[a]) : 5000;
	unsigned nep = argc > a + 1 ? (unsigned)atoi(argv[a + 1]) : 4;
	int runs = !json && argc > a + 2 ? atoi(argv[a + 2]) : 5;
	long peak[2][RUNS_MAX];
	double cpu[2][RUNS_MAX];
	struct kindex_stats st[2];
	struct tbuf doc = { 0 };

	if (nsvc < 1 || nsvc > 60000 || nep < 1 || nep > 8 || runs < 1 || runs > RUNS_MAX) {
		fprintf(stderr, "usage: bench_nftjson [--json] [NSVC (1-60000) [NEP (1-8) [RUNS (1-%d)]]]\n",
			RUNS_MAX);
		return 2;
	}
	nftgen_kube_proxy(&doc, nsvc, nep, json);
	if (json)
		return fwrite(doc.p, 1, doc.len, stdout) == doc.len ? 0 : 1;
	for (int r = 0; r < runs; r++) {
		for (int w = 0; w < 2; w++) {
			int mode = (r & 1) ? 1 - w : w; /* alternate which goes first */
			struct result res;

			if (read_once(&doc, mode, &res)) {
				fprintf(stderr, "bench_nftjson: the %s read failed\n",
					mode ? "whole" : "item-by-item");
				return 1;
			}
			peak[mode][r] = res.peak_kb;
			cpu[mode][r] = res.cpu_ms;
			st[mode] = res.st;
		}
	}
	for (int m = 0; m < 2; m++) {
		qsort(peak[m], (size_t)runs, sizeof(long), cmp_long);
		qsort(cpu[m], (size_t)runs, sizeof(double), cmp_double);
	}
	printf("## kube-proxy nftables mode, read by natwho (tests/bench/bench_nftjson.c)\n\n"
	       "%u Services x %u endpoints: %.1f MB of nft -j JSON; index: %u Service ports, "
	       "%u endpoints, %u skipped. Medians of %d alternating runs (min-max).\n\n"
	       "| Read | peak memory over the document, MB | CPU, ms |\n|---|---|---|\n",
	       nsvc, nep, doc.len / 1e6, st[0].svcports, st[0].endpoints, st[0].skipped_rules,
	       runs);
	for (int m = 0; m < 2; m++)
		printf("| %s | %.1f (%.1f-%.1f) | %.0f (%.0f-%.0f) |\n",
		       m ? "parsed whole (baseline)" : "item by item (natwho)",
		       peak[m][runs / 2] / 1024.0, peak[m][0] / 1024.0, peak[m][runs - 1] / 1024.0,
		       cpu[m][runs / 2], cpu[m][0], cpu[m][runs - 1]);
	printf("\nitem by item / whole: memory %.2fx, CPU %.2fx\n",
	       peak[1][runs / 2] ? (double)peak[0][runs / 2] / peak[1][runs / 2] : 0,
	       cpu[1][runs / 2] ? cpu[0][runs / 2] / cpu[1][runs / 2] : 0);
	if (memcmp(&st[0], &st[1], sizeof(st[0])) || st[0].endpoints != nsvc * nep) {
		printf("FAIL: the two reads built different indexes, or not every endpoint\n");
		return 1;
	}
	free(doc.p);
	return 0;
}
