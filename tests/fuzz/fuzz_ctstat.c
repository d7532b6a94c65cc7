// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer harness for conntrack's statistics file parser (src/ctstat.c):
 * the input is the file's text.  A text taken must give between 1 and
 * CTSTAT_MAX_CPUS lines, parse again to the same counters, and rise by
 * nothing against itself; one refused must leave the sample as it was.
 * Seeds: tests/fuzz/corpus/ctstat (the file as Linux 6.18 and 5.4 print it).
 * Run: build/fuzz/fuzz_ctstat -max_total_time=30 tests/fuzz/corpus/ctstat
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "ctstat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char known[] = "drop early_drop insert_failed\n1 2 3\n4 5 6\n";
	struct ctstat_sample s = { 0 }, again = { 0 };
	uint64_t rise[CT_NCOUNTERS];
	int err;

	if (ctstat__parse(known, sizeof(known) - 1, &s))
		abort();
	err = ctstat__parse((const char *)data, size, &s);
	if (err) {
		if (s.ncpus != 2 || s.cpu[1][CT_INSERT_FAILED] != 6)
			abort(); /* changed by a refused text */
	} else {
		if (!s.ncpus || s.ncpus > CTSTAT_MAX_CPUS || s.ncpus > s.cap)
			abort();
		if (ctstat__parse((const char *)data, size, &again) || again.ncpus != s.ncpus ||
		    memcmp(again.cpu, s.cpu, s.ncpus * sizeof(*s.cpu)) || again.entries != s.entries)
			abort();
		if (ctstat__rise(&s, &again, rise))
			abort();
		for (int i = 0; i < CT_NCOUNTERS; i++)
			if (rise[i])
				abort();
	}
	ctstat__free(&s);
	ctstat__free(&again);
	return 0;
}
