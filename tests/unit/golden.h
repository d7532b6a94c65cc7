/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Compare a memory buffer with tests/golden/NAME; NW_UPDATE_GOLDEN=1 rewrites
 * the file instead (review the diff before committing it). */
#ifndef NW_TEST_GOLDEN_H
#define NW_TEST_GOLDEN_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef NW_GOLDEN_DIR
#define NW_GOLDEN_DIR "tests/golden/"
#endif

static inline void golden_check(const char *name, const char *got, size_t len)
{
	char path[256], *want;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), NW_GOLDEN_DIR "%s", name);
	if (getenv("NW_UPDATE_GOLDEN") && !strcmp(getenv("NW_UPDATE_GOLDEN"), "1")) {
		f = fopen(path, "w");
		assert_non_null(f);
		fwrite(got, 1, len, f);
		fclose(f);
		return;
	}
	f = fopen(path, "r");
	if (!f)
		fail_msg("missing golden file %s (run with NW_UPDATE_GOLDEN=1)", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	want = calloc(1, n + 1);
	assert_non_null(want);
	assert_int_equal(fread(want, 1, n, f), n);
	fclose(f);
	if ((size_t)n != len || memcmp(want, got, len))
		fail_msg("output differs from %s\n--- want\n%s--- got\n%.*s", path, want, (int)len,
			 got);
	free(want);
}

#endif
