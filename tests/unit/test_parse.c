// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>
#include <netinet/in.h>
#include "parse.h"

static void test_u64(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(parse_u64("0", 0, 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(parse_u64("18446744073709551615", 0, UINT64_MAX, &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(parse_u64("18446744073709551616", 0, UINT64_MAX, &v), -ERANGE);
	assert_int_equal(parse_u64("11", 0, 10, &v), -ERANGE);
	assert_int_equal(parse_u64("", 0, 10, &v), -EINVAL);
	assert_int_equal(parse_u64(NULL, 0, 10, &v), -EINVAL);
	assert_int_equal(parse_u64("-1", 0, 10, &v), -EINVAL);
	assert_int_equal(parse_u64("+1", 0, 10, &v), -EINVAL);
	assert_int_equal(parse_u64(" 1", 0, 10, &v), -EINVAL);
	assert_int_equal(parse_u64("1 ", 0, 10, &v), -EINVAL);
	assert_int_equal(parse_u64("0x10", 0, 100, &v), -EINVAL);
	assert_int_equal(parse_u64("5k", 0, 10, &v), -EINVAL);
}

static void test_duration(void **state)
{
	uint64_t ns;

	(void)state;
	assert_int_equal(parse_duration_ns("10", &ns), 0);
	assert_true(ns == 10000000000ULL);
	assert_int_equal(parse_duration_ns("1.5", &ns), 0);
	assert_true(ns == 1500000000ULL);
	assert_int_equal(parse_duration_ns("250ms", &ns), 0);
	assert_true(ns == 250000000ULL);
	assert_int_equal(parse_duration_ns("2m", &ns), 0);
	assert_true(ns == 120000000000ULL);
	assert_int_equal(parse_duration_ns("1h", &ns), 0);
	assert_true(ns == 3600000000000ULL);
	assert_int_equal(parse_duration_ns("0.000000001", &ns), 0);
	assert_true(ns == 1);
	/* a fraction of a unit to the nanosecond (nine digits kept) */
	assert_int_equal(parse_duration_ns("1.9999999ms", &ns), 0);
	assert_true(ns == 1999999);
	assert_int_equal(parse_duration_ns("0.5000000ms", &ns), 0);
	assert_true(ns == 500000);
	assert_int_equal(parse_duration_ns("0.123456789123h", &ns), 0);
	assert_true(ns == 444444440400ULL);
	assert_int_equal(parse_duration_ns("1.", &ns), -EINVAL);
	assert_int_equal(parse_duration_ns(".5", &ns), -EINVAL);
	assert_int_equal(parse_duration_ns("5x", &ns), -EINVAL);
	assert_int_equal(parse_duration_ns("", &ns), -EINVAL);
	assert_int_equal(parse_duration_ns("99999999999999h", &ns), -ERANGE);
}

static void test_size(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(parse_size("4096", &v), 0);
	assert_true(v == 4096);
	assert_int_equal(parse_size("8M", &v), 0);
	assert_true(v == 8u << 20);
	assert_int_equal(parse_size("64KiB", &v), 0);
	assert_true(v == 64u << 10);
	assert_int_equal(parse_size("1g", &v), 0);
	assert_true(v == 1u << 30);
	assert_int_equal(parse_size("1T", &v), -EINVAL);
	assert_int_equal(parse_size("1MX", &v), -EINVAL);
	assert_int_equal(parse_size("99999999999999999G", &v), -ERANGE);
}

static void test_ports(void **state)
{
	uint16_t p[4];
	size_t n = 0;

	(void)state;
	assert_int_equal(parse_port_list("3306", p, 4, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(p[0], 3306);
	assert_int_equal(parse_port_list("80,443,3306", p, 4, &n), 0); /* 3306 deduplicated */
	assert_int_equal(n, 3);
	assert_int_equal(p[1], 80);
	assert_int_equal(p[2], 443);
	assert_int_equal(parse_port_list("1,2", p, 4, &n), -E2BIG);
	n = 0;
	assert_int_equal(parse_port_list("0", p, 4, &n), -ERANGE);
	assert_int_equal(parse_port_list("65536", p, 4, &n), -ERANGE);
	assert_int_equal(parse_port_list("80,", p, 4, &n), -EINVAL);
	assert_int_equal(parse_port_list(",80", p, 4, &n), -EINVAL);
	assert_int_equal(parse_port_list("80;443", p, 4, &n), -EINVAL);
	assert_int_equal(parse_port_list("", p, 4, &n), -EINVAL);
}

/* @s parses as @want ("A/LEN" as prefix_str() writes it back), error @err. */
static void prefix_is(const char *s, int err, const char *want)
{
	struct nw_prefix p;
	char buf[PREFIX_STR_LEN];

	if (parse_prefix(s, &p) != err)
		fail_msg("parse_prefix(\"%s\") = %d, want %d", s, parse_prefix(s, &p), err);
	if (want && strcmp(prefix_str(&p, buf, sizeof(buf)), want))
		fail_msg("parse_prefix(\"%s\") reads as %s, want %s", s, buf, want);
}

static void test_prefix(void **state)
{
	static const uint8_t a4[16] = { 10, 224, 0, 222 }, b4[16] = { 10, 225, 0, 222 },
			     a6[16] = { 0xfd, 0, 0x02, 0x24, [15] = 0x22 };
	struct nw_prefix p;

	(void)state;
	prefix_is("10.96.0.20", 0, "10.96.0.20");
	prefix_is("10.96.0.20/32", 0, "10.96.0.20");
	prefix_is("10.96.0.0/12", 0, "10.96.0.0/12");
	prefix_is("0.0.0.0/0", 0, "0.0.0.0/0");
	prefix_is("fd00::1", 0, "fd00::1");
	prefix_is("[fd00::1]", 0, "fd00::1");
	prefix_is("[fd00::]/8", 0, "fd00::/8");
	prefix_is("fd00:224::/33", 0, "fd00:224::/33");
	prefix_is("::/0", 0, "::/0");
	/* IPv4-mapped: IPv4 on the wire, so the IPv4 prefix */
	prefix_is("::ffff:10.1.2.3", 0, "10.1.2.3");
	prefix_is("[::ffff:10.1.2.0]/120", 0, "10.1.2.0/24");
	prefix_is("::ffff:0.0.0.0/96", 0, "0.0.0.0/0");
	prefix_is("::ffff:10.1.2.3/120", -EDOM, "10.1.2.0/24");
	prefix_is("::fffe:10.1.2.3", 0, "::fffe:a01:203");
	/* bits past the length: refused, the prefix they meant kept */
	prefix_is("10.96.0.20/12", -EDOM, "10.96.0.0/12");
	prefix_is("fd00::1/64", -EDOM, "fd00::/64");
	prefix_is("fd00:224:4000::/33", -EDOM, "fd00:224::/33");
	prefix_is("fd00:224:8000::/33", 0, "fd00:224:8000::/33");
	prefix_is("10.0.0.0/33", -ERANGE, NULL);
	prefix_is("fd00::/129", -ERANGE, NULL);
	prefix_is("10.0.0.0/99999999999999999999999", -ERANGE, NULL);
	prefix_is("10.0.0.0/9999999999999999999999x", -EINVAL, NULL);
	static const char *const bad[] = {
		"", "/8", "10.0.0.0/", "10.0.0.0/+8", "10.0.0.0/-1", "10.0.0.0/8/8",
		"10.0.0.0/8x", "10.0.0", "10.0.0.256", "[10.0.0.1]", "[fd00::1", "fd00::1]",
		"10.0.0.1:80", "fd00:::1", "host.example", " 10.0.0.1", "10.0.0.1 ", "[]",
		"fd00::1%eth0", "10.0.0.0/ 8",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		prefix_is(bad[i], -EINVAL, NULL);
	assert_int_equal(parse_prefix(NULL, &p), -EINVAL);

	/* membership, by family */
	assert_int_equal(parse_prefix("10.224.0.0/16", &p), 0);
	assert_true(prefix_has(&p, AF_INET, a4));
	assert_false(prefix_has(&p, AF_INET, b4));
	assert_false(prefix_has(&p, AF_INET6, a4)); /* the same bytes, the other family */
	assert_int_equal(parse_prefix("10.224.0.0/15", &p), 0);
	assert_true(prefix_has(&p, AF_INET, b4));
	assert_int_equal(parse_prefix("0.0.0.0/0", &p), 0);
	assert_true(prefix_has(&p, AF_INET, b4));
	assert_false(prefix_has(&p, AF_INET6, a6));
	assert_int_equal(parse_prefix("fd00:224::/32", &p), 0);
	assert_true(prefix_has(&p, AF_INET6, a6));
	assert_int_equal(parse_prefix("fd00:224::/48", &p), 0);
	assert_true(prefix_has(&p, AF_INET6, a6));
	assert_int_equal(parse_prefix("fd00:224::22", &p), 0);
	assert_true(prefix_has(&p, AF_INET6, a6));
	assert_int_equal(parse_prefix("fd00:224::23", &p), 0);
	assert_false(prefix_has(&p, AF_INET6, a6));
	assert_int_equal(parse_prefix("fd00:225::/31", &p), -EDOM);
	assert_int_equal(parse_prefix("fd00:224::/31", &p), 0);
	assert_true(prefix_has(&p, AF_INET6, a6));
}

/* parse_prefix_list() of @s into an empty list: its error, and where. */
static int list_err(const char *s, size_t *at, size_t *len, size_t *n)
{
	struct nw_prefix v[3];
	struct prefix_err e;
	int err;

	*n = 0;
	err = parse_prefix_list(s, v, 3, n, &e);
	*at = e.at;
	*len = e.len;
	return err;
}

static void test_prefix_list(void **state)
{
	struct nw_prefix v[3];
	struct prefix_err e;
	char buf[PREFIX_STR_LEN];
	size_t n = 0, at, len;

	(void)state;
	assert_int_equal(parse_prefix_list("10.0.0.0/8,fd00::1,10.0.0.0/8", v, 3, &n, &e), 0);
	assert_int_equal(n, 2); /* the same prefix once */
	assert_string_equal(prefix_str(&v[1], buf, sizeof(buf)), "fd00::1");
	assert_int_equal(parse_prefix_list("::ffff:10.0.0.0/104", v, 3, &n, &e), 0);
	assert_int_equal(n, 2); /* 10.0.0.0/8 again */
	assert_int_equal(parse_prefix_list("1.1.1.1,2.2.2.2", v, 3, &n, &e), -E2BIG);
	assert_int_equal(n, 3);
	assert_int_equal(e.at, 8);
	/* the refused item, by place */
	assert_int_equal(list_err("10.0.0.1,,10.0.0.2", &at, &len, &n), -EINVAL);
	assert_true(at == 9 && len == 0 && n == 1);
	assert_int_equal(list_err("10.0.0.1,", &at, &len, &n), -EINVAL);
	assert_true(at == 9 && len == 0);
	assert_int_equal(list_err(",10.0.0.1", &at, &len, &n), -EINVAL);
	assert_true(at == 0 && len == 0 && n == 0);
	assert_int_equal(list_err("", &at, &len, &n), -EINVAL);
	assert_int_equal(list_err("10.0.0.1,10.0.0.0/33", &at, &len, &n), -ERANGE);
	assert_true(at == 9 && len == 11);
	assert_int_equal(list_err("fd00::1,10.96.0.20/12,1.1.1.1", &at, &len, &n), -EDOM);
	assert_true(at == 8 && len == 13 && n == 1);
	n = 0;
	assert_int_equal(parse_prefix_list("10.96.0.20/12", v, 3, &n, &e), -EDOM);
	assert_string_equal(prefix_str(&e.meant, buf, sizeof(buf)), "10.96.0.0/12");
	assert_int_equal(list_err("1.1.1.1,1111:2222:3333:4444:5555:6666:7777:8888/128000000000000",
				  &at, &len, &n),
			 -ERANGE); /* longer than any address and length: still named */
	assert_true(at == 8 && len == 55);
	{
		char longer[300];

		memset(longer, '1', sizeof(longer) - 1);
		longer[sizeof(longer) - 1] = '\0';
		assert_int_equal(list_err(longer, &at, &len, &n), -EINVAL);
		assert_true(at == 0 && len == sizeof(longer) - 1);
	}
	assert_int_equal(parse_prefix_list(NULL, v, 3, &n, &e), -EINVAL);
}

static void test_proto(void **state)
{
	uint8_t p;

	(void)state;
	assert_int_equal(parse_proto("tcp", &p), 0);
	assert_int_equal(p, IPPROTO_TCP);
	assert_int_equal(parse_proto("UDP", &p), 0);
	assert_int_equal(p, IPPROTO_UDP);
	assert_int_equal(parse_proto("sctp", &p), 0);
	assert_int_equal(p, IPPROTO_SCTP);
	assert_int_equal(parse_proto("47", &p), 0);
	assert_int_equal(p, 47);
	assert_int_equal(parse_proto("0", &p), -ERANGE);
	assert_int_equal(parse_proto("256", &p), -ERANGE);
	assert_int_equal(parse_proto("-1", &p), -EINVAL);
	assert_int_equal(parse_proto("tcpx", &p), -EINVAL);
	assert_string_equal(proto_name(IPPROTO_TCP), "tcp");
	assert_null(proto_name(200));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_u64),   cmocka_unit_test(test_duration),
		cmocka_unit_test(test_size),  cmocka_unit_test(test_ports),
		cmocka_unit_test(test_proto), cmocka_unit_test(test_prefix),
		cmocka_unit_test(test_prefix_list),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
