// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer harness for the ruleset parsers.  The first input byte picks the
 * source kind (modulo 6): 0 iptables-save, 1 ip6tables-save, 2 nft -j list
 * ruleset, 3 ipset save, 4 local addresses, 5 /proc/net/ip_vs; the rest is
 * the document.  Every
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

static const enum ksrc_kind kinds[] = {
	KSRC_IPTABLES_SAVE, KSRC_IP6TABLES_SAVE, KSRC_NFT_JSON, KSRC_IPSET_SAVE, KSRC_LOCAL_ADDRS,
	KSRC_IPVS,
};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

static const char *const said[] = {
	"# Table `nat' is incompatible, use 'nft' tool.\n",
	"# Table `nat' contains incompatible base-chains, use 'nft' tool to list them.\n"
	"*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -p tcp -j DNAT --to-destination :8080\n"
	"COMMIT\n",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kindex *idx;
	char err[512];

	if (size < 1)
		return 0;
	if (kinds[data[0] % NKINDS] == KSRC_NFT_JSON) {
		kindex__free(fuzz_k8s_both_ways(KSRC_NFT_JSON, (const char *)data + 1, size - 1));
		/* after an iptables-save that said nft's rules are in its nat
		 * table: iptables' tables read as nft's (tainted or whole) */
		idx = kindex__new();
		if (!idx)
			return 0;
		kindex__add_source(idx, KSRC_IPTABLES_SAVE, "fuzz-ipt", said[data[0] & 1],
				   strlen(said[data[0] & 1]), err, sizeof(err));
		kindex__add_source(idx, KSRC_NFT_JSON, "fuzz", (const char *)data + 1, size - 1, err,
				   sizeof(err));
		fuzz_k8s_exercise(idx);
		kindex__free(idx);
	}
	idx = kindex__new();
	if (!idx)
		return 0;
	kindex__add_source(idx, kinds[data[0] % NKINDS], "fuzz", (const char *)data + 1, size - 1, err,
			   sizeof(err));
	/* a second source on top of the first: merging and rollback paths */
	kindex__add_source(idx, kinds[(data[0] / NKINDS) % NKINDS], "fuzz2", (const char *)data + 1,
			   size - 1, err, sizeof(err));
	fuzz_k8s_exercise(idx);
	kindex__free(idx);
	return 0;
}
