// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* fmt__snprintf() must be byte-for-byte snprintf(): return value, output,
 * truncation and the bytes past the limit left alone.  Checked on fixed
 * cases and on random single conversions (supported or not, so that the
 * vsnprintf() fallback is checked too). */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <cmocka.h>
#include "fmt.h"

#define GUARD 8

static unsigned long checked;

/* Formats with both into buffers of @len (+ guard bytes) and compares. */
static void __attribute__((format(printf, 2, 3))) same(size_t len, const char *fmt, ...)
{
	char want[512 + GUARD], got[512 + GUARD];
	va_list ap, ap2;
	int nw, ng;

	assert_true(len <= 512);
	memset(want, 0x55, sizeof(want));
	memset(got, 0x55, sizeof(got));
	va_start(ap, fmt);
	va_copy(ap2, ap);
	nw = vsnprintf(len ? want : NULL, len, fmt, ap);
	ng = fmt__vsnprintf(len ? got : NULL, len, fmt, ap2);
	va_end(ap2);
	va_end(ap);
	if (nw != ng || memcmp(want, got, len + GUARD)) {
		print_error("format \"%s\", len %zu: snprintf %d \"%.*s\", fmt__snprintf %d \"%.*s\"\n",
			    fmt, len, nw, (int)(len ? len - 1 : 0), want, ng,
			    (int)(len ? len - 1 : 0), got);
		fail();
	}
	checked++;
}

static void test_record_formats(void **state)
{
	static const size_t lens[] = { 0, 1, 2, 5, 16, 17, 64, 512 };

	(void)state;
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		size_t n = lens[i];

		same(n, "%-15s ", "12:00:01.123456");
		same(n, "%-7llu ", 4242ULL);
		same(n, "%-*s %-*s %-9s %s", 21, "10.0.0.1:40000", 21, "10.96.0.20:3306", "DNAT",
		     "10.224.0.222:3306");
		same(n, "[%s]:%u", "fd00::1", 3306u);
		same(n, "hostPort %u (%s%s%s, sandbox %.*s)", 3306u, "CNI-DN-x", ", ", "nat", 12,
		     "0123456789abcdef0123");
		same(n, "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ", 2026, 11, 25, 7, 5, 9, 42u);
		same(n, "%lld %d %i %x %X %c|%5c|%-5c|", -9223372036854775807LL - 1, -1, 0,
		     0xdeadbeefu, 0xabcu, 'q', 'r', 's');
		same(n, "100%% %s%%", "sure");
		same(n, "%zu %zd %ju %jd %td %hu %hhu %hd %hhd %lu %ld", (size_t)-1, (ssize_t)-5,
		     UINTMAX_MAX, INTMAX_MIN, (ptrdiff_t)-7, 70000u, 300u, -40000, 200, ULONG_MAX,
		     LONG_MIN);
#pragma GCC diagnostic push /* odd on purpose: snprintf() decides */
#pragma GCC diagnostic ignored "-Wformat"
#pragma GCC diagnostic ignored "-Wformat-overflow"
		same(n, "%-08d|%08d|%08x|%-3u|%3u|%03u", -42, -42, 0x1fu, 12345u, 7u, 7u);
		same(n, "%*d|%-*d|%*s|%.*s|%.0s|%.3s", -6, 1, 6, 2, -4, "ab", -1, "whole", "x",
		     "abcdef");
		same(n, "no conversions at all");
		same(n, "%s", "");
		/* Not ours: these take the vsnprintf() path and must still agree. */
		same(n, "%+d % d %#x %.3d %5.2f %e", 5, 6, 7u, 8, 3.14159, 1e10);
		same(n, "%s then %s", "first", (char *)NULL);
		same(n, "%2$s %1$s", "world", "hello");
		same(n, "trailing %");
#pragma GCC diagnostic pop
	}
}

static unsigned long rnd_state = 0x2545f4914f6cdd1dUL;

static unsigned long rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

static int64_t rnd_value(void)
{
	static const int64_t edge[] = { 0, 1, -1, 9, 10, 99, 100, 255, 256, 65535, 65536,
					INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN };

	return rnd() % 3 ? edge[rnd() % (sizeof(edge) / sizeof(edge[0]))] : (int64_t)rnd();
}

/* One random conversion between random literals; called with the arguments
 * it needs, typed as its length modifier says. */
static void random_case(void)
{
	static const char *const flags[] = { "", "-", "0", "-0", "00", "+", " ", "#" };
	static const char *const lens_mod[] = { "", "hh", "h", "l", "ll", "z", "j", "t" };
	static const char convs[] = "sciduxX%fp";
	static const char *const strs[] = { "", "a", "10.96.0.20", "Service a/mysql-a:3306",
					    "0123456789012345678901234567890123456789" };
	char fmt[64];
	size_t len = rnd() % 48;
	char conv = convs[rnd() % (sizeof(convs) - 1)];
	const char *lm = conv == 's' || conv == 'c' || conv == '%' || conv == 'f' || conv == 'p' ?
				 (rnd() % 8 ? "" : "l") :
				 lens_mod[rnd() % 8];
	int wstar = rnd() % 4 == 0, pstar = rnd() % 4 == 0, hasp = pstar || rnd() % 4 == 0;
	int w = (int)(rnd() % 30) - (wstar ? 15 : 0), p = (int)(rnd() % 20) - (pstar ? 5 : 0);
	int64_t v = rnd_value();
	const char *s = strs[rnd() % 5];
	char wbuf[16] = "", pbuf[16] = "";

	if (!wstar && rnd() % 2)
		snprintf(wbuf, sizeof(wbuf), "%d", w < 0 ? -w : w);
	if (hasp)
		snprintf(pbuf, sizeof(pbuf), pstar ? ".*" : ".%d", p < 0 ? -p : p);
	snprintf(fmt, sizeof(fmt), "<%s%%%s%s%s%s%c>", rnd() % 2 ? "lit " : "",
		 flags[rnd() % 8], wstar ? "*" : wbuf, pbuf, lm, conv);

/* The arguments: the stars' ints first, then the value. */
#define CALL(...)                                                                  \
	do {                                                                       \
		if (wstar && pstar)                                                \
			same(len, fmt, w, p, __VA_ARGS__);                         \
		else if (wstar)                                                    \
			same(len, fmt, w, __VA_ARGS__);                            \
		else if (pstar)                                                    \
			same(len, fmt, p, __VA_ARGS__);                            \
		else                                                               \
			same(len, fmt, __VA_ARGS__);                               \
	} while (0)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
#pragma GCC diagnostic ignored "-Wformat-security"
	if (conv == 's' && !*lm)
		CALL(s);
	else if (conv == 's') /* %ls: a wide string */
		CALL(L"wide");
	else if (conv == 'f')
		CALL((double)v / 7);
	else if (conv == 'p')
		CALL((void *)s);
	else if (!strcmp(lm, "l"))
		CALL((long)v);
	else if (!strcmp(lm, "ll"))
		CALL((long long)v);
	else if (!strcmp(lm, "z"))
		CALL((size_t)v);
	else if (!strcmp(lm, "j"))
		CALL((intmax_t)v);
	else if (!strcmp(lm, "t"))
		CALL((ptrdiff_t)v);
	else /* int-promoted: c, %, hh, h and none */
		CALL((int)v);
#pragma GCC diagnostic pop
#undef CALL
}

static void test_random_against_snprintf(void **state)
{
	(void)state;
	checked = 0;
	for (int i = 0; i < 300000; i++)
		random_case();
	assert_int_equal(checked, 300000);
}

static bool untouched(const char *p, size_t n)
{
	while (n--)
		if (p[n] != 0x55)
			return false;
	return true;
}

/* fmt__u64(@v) against "%llu": digits, count, and nothing written left of them. */
static void u64_same(uint64_t v)
{
	char want[32], got[FMT_U64_LEN + GUARD];
	size_t n, nw = (size_t)snprintf(want, sizeof(want), "%llu", (unsigned long long)v);

	memset(got, 0x55, sizeof(got));
	n = fmt__u64(got + GUARD, v);
	if (n != nw || memcmp(got + GUARD + FMT_U64_LEN - n, want, n) ||
	    !untouched(got, GUARD + FMT_U64_LEN - n)) {
		print_error("fmt__u64(%llu): %zu digits \"%.*s\"\n", (unsigned long long)v, n,
			    (int)n, got + GUARD + FMT_U64_LEN - n);
		fail();
	}
	checked++;
}

static void test_u64_against_snprintf(void **state)
{
	uint64_t p = 1;

	(void)state;
	checked = 0;
	for (uint64_t v = 0; v <= 100000; v++) /* every port, and past */
		u64_same(v);
	for (int i = 0; i < 20; i++, p *= 10) { /* each length's ends */
		u64_same(p - 1);
		u64_same(p);
		u64_same(p + 1);
		u64_same(p * 9 + (p - 1));
	}
	u64_same(UINT64_MAX);
	u64_same(UINT64_MAX - 1);
	for (int i = 0; i < 300000; i++)
		u64_same(((uint64_t)rand() << 42) ^ ((uint64_t)rand() << 21) ^ (uint64_t)rand());
	assert_int_equal(checked, 100001 + 80 + 2 + 300000);
}

static void test_2dig(void **state)
{
	(void)state;
	for (unsigned v = 0; v < 1000; v++) {
		char want[4], got[3] = "xx";

		snprintf(want, sizeof(want), "%02u", v % 100);
		fmt__2dig(got, v);
		assert_memory_equal(got, want, 2);
		assert_int_equal(got[2], '\0');
	}
}

/* fmt__clean(): controls (C0, DEL, C1 in UTF-8) as '?', other text as is. */
static void test_clean(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "mysql", "mysql" },
		{ "", "" },
		{ "a\x1b[31mb\n\r\t\x7f", "a?[31mb????" },
		{ "\xc2\x9b" "2J\xc2\x80\xc2\x9f", "?2J??" }, /* C1 CSI, first and last C1 */
		{ "caf\xc3\xa9 \xc2\xa0 \xc2\x7f", "caf\xc3\xa9 \xc2\xa0 ??" }, /* é, NBSP kept */
		{ "\x9b\xc2", "??" }, /* not UTF-8: a raw C1 CSI for an 8-bit terminal */
		{ "\xe2\x82\xac\xf0\x9f\x98\x80\xe2\x82", "\xe2\x82\xac\xf0\x9f\x98\x80??" }, /* cut: each byte */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[64];

		snprintf(buf, sizeof(buf), "%s", cases[i].in);
		assert_ptr_equal(fmt__clean(buf), buf);
		assert_string_equal(buf, cases[i].want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record_formats),
		cmocka_unit_test(test_random_against_snprintf),
		cmocka_unit_test(test_u64_against_snprintf),
		cmocka_unit_test(test_2dig),
		cmocka_unit_test(test_clean),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
