// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer harness for the kubectl snapshot ingestion (json-c parsing, the
 * Pod/Service/EndpointSlice readers), then lookups and the audit over what
 * was learnt.  Seeds: tests/fuzz/corpus/snapshot (the snapshots of
 * tests/fixtures/k8s and its bad/ directory).
 * Run: build/fuzz/fuzz_snapshot -max_total_time=30 tests/fuzz/corpus/snapshot
 */
#include <stdint.h>
#include <stdlib.h>
#include "fuzz_k8s_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kindex *idx = kindex__new();
	char err[512];

	if (!idx)
		return 0;
	kindex__add_source(idx, KSRC_SNAPSHOT, "fuzz", (const char *)data, size, err, sizeof(err));
	fuzz_k8s_exercise(idx);
	kindex__free(idx);
	return 0;
}
