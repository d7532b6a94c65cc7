// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer harness for the ruleset parsers.  The first input byte picks the
 * source kind (modulo 5): 0 iptables-save, 1 ip6tables-save, 2 nft -j list
 * ruleset, 3 ipset save, 4 local addresses; the rest is the document.  Every
 * input is parsed into a fresh index, then into one that already holds the
 * snapshot-free node-2 rules, and the index is then queried and audited.
 * Differential for nft: its list is read item by item (kjson__each_in());
 * the same input parsed whole must be taken with the same counts and
 * warnings, or refused with the same error in the same words.
 * Seeds: tests/fuzz/corpus/ruleset (the fixtures of tests/fixtures/k8s,
 * each behind its kind byte).
 * Run: build/fuzz/fuzz_ruleset -max_total_time=30 tests/fuzz/corpus/ruleset
 */
#include <stdint.h>
#include <stdlib.h>
#include "fuzz_k8s_common.h"
#include "k8s_int.h"

static const enum ksrc_kind kinds[] = {
	KSRC_IPTABLES_SAVE, KSRC_IP6TABLES_SAVE, KSRC_NFT_JSON, KSRC_IPSET_SAVE, KSRC_LOCAL_ADDRS,
};

struct warns {
	char text[4096];
	size_t used;
};

/* kindex_warn_fn: the warnings one after the other (as many as fit). */
static void collect_warn(void *ctx, const char *msg)
{
	struct warns *w = ctx;
	int n = snprintf(w->text + w->used, sizeof(w->text) - w->used, "%s\n", msg);

	if (n > 0)
		w->used += (size_t)n < sizeof(w->text) - w->used ? (size_t)n :
								  sizeof(w->text) - w->used - 1;
}

/* An nft document read item by item and whole: the same answer, and the
 * same warnings. */
static void nft_both_ways(const char *doc, size_t len)
{
	struct kindex *a = kindex__new(), *b = kindex__new();
	static struct warns wa, wb;
	char ea[512] = "", eb[512] = "";
	int ra, rb;

	if (a && b) {
		struct kindex_stats sa, sb;

		wa.used = wb.used = 0;
		wa.text[0] = wb.text[0] = '\0';
		kindex__set_warn(a, collect_warn, &wa);
		kindex__set_warn(b, collect_warn, &wb);
		ra = kindex__add_source(a, KSRC_NFT_JSON, "fuzz", doc, len, ea, sizeof(ea));
		kjson__whole_only = true;
		rb = kindex__add_source(b, KSRC_NFT_JSON, "fuzz", doc, len, eb, sizeof(eb));
		kjson__whole_only = false;
		if (ra != rb || strcmp(ea, eb) || strcmp(wa.text, wb.text))
			abort();
		kindex__stats(a, &sa);
		kindex__stats(b, &sb);
		if (!ra && memcmp(&sa, &sb, sizeof(sa)))
			abort();
	}
	kindex__free(a);
	kindex__free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kindex *idx;
	char err[512];

	if (size < 1)
		return 0;
	if (kinds[data[0] % 5] == KSRC_NFT_JSON)
		nft_both_ways((const char *)data + 1, size - 1);
	idx = kindex__new();
	if (!idx)
		return 0;
	kindex__add_source(idx, kinds[data[0] % 5], "fuzz", (const char *)data + 1, size - 1, err,
			   sizeof(err));
	/* a second source on top of the first: merging and rollback paths */
	kindex__add_source(idx, kinds[(data[0] / 5) % 5], "fuzz2", (const char *)data + 1,
			   size - 1, err, sizeof(err));
	fuzz_k8s_exercise(idx);
	kindex__free(idx);
	return 0;
}
