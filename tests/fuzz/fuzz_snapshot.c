// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer harness for the kubectl snapshot ingestion (json-c parsing, the
 * Pod/Service/EndpointSlice readers), then lookups and the audit over what
 * was learnt.  Differential: a List is read item by item (kjson__each_item());
 * the same input parsed whole, as before that, must be taken with the same
 * counts, or refused with the same error in the same words.  Seeds: tests/fuzz/corpus/snapshot (the
 * snapshots of tests/fixtures/k8s and its bad/ directory).
 * Run: build/fuzz/fuzz_snapshot -max_total_time=30 tests/fuzz/corpus/snapshot
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include "fuzz_k8s_common.h"
#include "k8s_int.h"

static int fuzz_parse(struct kindex **idx, const uint8_t *data, size_t size, bool whole,
		      char *err, size_t errlen)
{
	*idx = kindex__new();
	err[0] = '\0';
	if (!*idx)
		return -ENOMEM;
	kjson__whole_only = whole;
	return kindex__add_source(*idx, KSRC_SNAPSHOT, "fuzz", (const char *)data, size, err,
				  errlen);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[512], why_whole[512];
	struct kindex *idx, *whole;
	int err = fuzz_parse(&idx, data, size, false, why, sizeof(why));
	int err_whole = fuzz_parse(&whole, data, size, true, why_whole, sizeof(why_whole));

	kjson__whole_only = false;
	if (idx && whole) {
		struct kindex_stats a, b;

		/* the same answer: the same counts, or the same error in the
		 * same words */
		if (err != err_whole || strcmp(why, why_whole))
			abort();
		kindex__stats(idx, &a);
		kindex__stats(whole, &b);
		if (!err && memcmp(&a, &b, sizeof(a)))
			abort();
		fuzz_k8s_exercise(idx);
	}
	kindex__free(idx);
	kindex__free(whole);
	return 0;
}
