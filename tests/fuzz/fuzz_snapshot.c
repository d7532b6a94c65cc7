// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer harness for the kubectl snapshot ingestion (json-c parsing, the
 * Pod/Service/EndpointSlice readers), then lookups and the audit over what
 * was learnt.  Differential: a List is read item by item (kjson__each_item());
 * the same input parsed whole, as before that, must be taken with the same
 * counts and warnings, or refused with the same error in the same words
 * (fuzz_k8s_both_ways()).  Seeds: tests/fuzz/corpus/snapshot (the snapshots
 * of tests/fixtures/k8s and its bad/ directory).
 * Run: build/fuzz/fuzz_snapshot -max_total_time=30 tests/fuzz/corpus/snapshot
 */
#include <stdint.h>
#include "fuzz_k8s_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kindex *idx = fuzz_k8s_both_ways(KSRC_SNAPSHOT, (const char *)data, size);

	if (idx)
		fuzz_k8s_exercise(idx);
	kindex__free(idx);
	return 0;
}
