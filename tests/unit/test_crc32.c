// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * crc32__update() against the standard check value and against zlib's
 * crc32() (what capture files written before it carry): every length up to
 * a few records, every start alignment, and split into two calls anywhere;
 * once by the tables alone and once with the CPU's carry-less multiply
 * (unsupported, not passed, on a CPU without one: the two ways are reported
 * as parts, "result: ..." lines).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <zlib.h>
#include "crc32.h"

#define LEN 600

static unsigned char buf[LEN + 8];

static void fill(void)
{
	uint32_t x = 0x9e3779b9;

	for (size_t i = 0; i < sizeof(buf); i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = (unsigned char)x;
	}
}

static void test_check_value(void **state)
{
	(void)state;
	assert_int_equal(crc32__update(0, "123456789", 9), 0xcbf43926u);
	assert_int_equal(crc32__update(0, "", 0), 0);
	assert_int_equal(crc32__update(0x12345678, buf, 0), 0x12345678);
}

static void test_matches_zlib(void **state)
{
	(void)state;
	fill();
	for (size_t off = 0; off < 8; off++)
		for (size_t len = 0; len <= LEN; len++)
			assert_int_equal(crc32__update(0, buf + off, len),
					 (uint32_t)crc32(0L, buf + off, (uInt)len));
}

static void test_chained(void **state)
{
	(void)state;
	fill();
	for (size_t len = 0; len <= 300; len += 7)
		for (size_t cut = 0; cut <= len; cut++) {
			uint32_t c = crc32__update(0, buf + 3, cut);

			assert_int_equal(crc32__update(c, buf + 3 + cut, len - cut),
					 (uint32_t)crc32(0L, buf + 3, (uInt)len));
		}
	/* a chain started by zlib, continued here */
	assert_int_equal(crc32__update((uint32_t)crc32(0L, buf, 12), buf + 12, 140),
			 (uint32_t)crc32(0L, buf, 152));
}

static int tables(void **state)
{
	(void)state;
	crc32__accelerate(false);
	return 0;
}

/* A group setup may not skip: each test asks instead (accelerated()). */
static int clmul(void **state)
{
	*state = (void *)(uintptr_t)crc32__accelerate(true);
	return 0;
}

static void accelerated(void **state)
{
	if (!*state)
		skip(); /* no PCLMULQDQ (or not x86-64): cmocka counts it as skipped */
}

static void test_check_value_clmul(void **state)
{
	accelerated(state);
	test_check_value(state);
}

static void test_matches_zlib_clmul(void **state)
{
	accelerated(state);
	test_matches_zlib(state);
}

static void test_chained_clmul(void **state)
{
	accelerated(state);
	test_chained(state);
}

int main(void)
{
	const struct CMUnitTest by_table[] = {
		cmocka_unit_test(test_check_value),
		cmocka_unit_test(test_matches_zlib),
		cmocka_unit_test(test_chained),
	};
	const struct CMUnitTest by_clmul[] = {
		cmocka_unit_test(test_check_value_clmul),
		cmocka_unit_test(test_matches_zlib_clmul),
		cmocka_unit_test(test_chained_clmul),
	};
	int failed = cmocka_run_group_tests_name("tables", by_table, tables, NULL);
	bool accel = crc32__accelerate(true);

	failed |= cmocka_run_group_tests_name("pclmulqdq", by_clmul, clmul, NULL);
	/* the two ways as parts of their own (tests/run.sh): the carry-less
	 * one reported unsupported, not passed, where it could not run */
	if (!failed) {
		printf("result: tables pass\n");
		if (accel)
			printf("result: pclmulqdq pass\n");
		else
			printf("result: pclmulqdq unsupported: the CPU has no PCLMULQDQ or this is "
			       "not x86-64\n");
	}
	return failed;

}
