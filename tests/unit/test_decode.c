// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "conn.h"
#include "fixtures.h"

static void decode(enum fixture f, struct conn *c)
{
	struct nw_event e;

	fix_event(f, &e);
	assert_int_equal(conn__decode(&e, sizeof(e), FIX_BOOT_TO_REAL, "netfilter", c), 0);
}

static void test_incident(void **state)
{
	char buf[NW_EPSTRLEN];
	struct conn c;

	(void)state;
	decode(FIX_INCIDENT_V4, &c);
	assert_true(c.dnat);
	assert_false(c.snat);
	assert_string_equal(conn__ep_str(&c, c.landed.addr, c.landed.port, buf, sizeof(buf)),
			    "10.224.0.222:3306");
	assert_string_equal(conn__ep_str(&c, c.orig.dst, c.orig.dport, buf, sizeof(buf)),
			    "10.96.0.20:3306");
	assert_int_equal(c.tgid, 4242);
	assert_string_equal(c.comm, "mysql");
	assert_int_equal(c.cgroup_id, 7777);
	assert_true(c.ts_ns == (uint64_t)(FIX_BOOT_NS + FIX_BOOT_TO_REAL));
	assert_string_equal(c.backend, "netfilter");
}

static void test_ipv6(void **state)
{
	char buf[NW_EPSTRLEN];
	struct conn c;

	(void)state;
	decode(FIX_INCIDENT_V6, &c);
	assert_true(c.dnat);
	assert_string_equal(conn__ep_str(&c, c.landed.addr, c.landed.port, buf, sizeof(buf)),
			    "[fd00:224::222]:3306");
	assert_string_equal(conn__family_str(c.family), "ipv6");
	assert_int_equal(c.pid, 4301);
	assert_int_equal(c.tgid, 4300);
}

static void test_snat_only(void **state)
{
	char buf[NW_EPSTRLEN];
	struct conn c;

	(void)state;
	decode(FIX_MASQUERADE, &c);
	assert_false(c.dnat);
	assert_true(c.snat);
	assert_string_equal(conn__ep_str(&c, c.seen_as.addr, c.seen_as.port, buf, sizeof(buf)),
			    "198.51.100.7:61000");
}

/* NAT is read from the address bytes of the family: an IPv4 record's other
 * 12 bytes are not the address, every IPv6 byte is. */
static void test_nat_address_bytes(void **state)
{
	struct nw_event e;
	struct conn c;

	(void)state;
	fix_event(FIX_MASQUERADE, &e); /* no DNAT */
	e.orig.dst[7] = 1;
	e.reply.src[12] = 2;
	assert_int_equal(conn__decode(&e, sizeof(e), FIX_BOOT_TO_REAL, "netfilter", &c), 0);
	assert_false(c.dnat);
	e.reply.src[3] ^= 1;
	assert_int_equal(conn__decode(&e, sizeof(e), FIX_BOOT_TO_REAL, "netfilter", &c), 0);
	assert_true(c.dnat);

	fix_event(FIX_INCIDENT_V6, &e);
	memcpy(e.reply.src, e.orig.dst, sizeof(e.reply.src));
	e.reply.sport = e.orig.dport;
	assert_int_equal(conn__decode(&e, sizeof(e), FIX_BOOT_TO_REAL, "netfilter", &c), 0);
	assert_false(c.dnat);
	for (int i = 0; i < 16; i++) { /* either half of the address */
		e.reply.src[i] ^= 0x80;
		assert_int_equal(conn__decode(&e, sizeof(e), FIX_BOOT_TO_REAL, "netfilter", &c), 0);
		assert_true(c.dnat);
		e.reply.src[i] ^= 0x80;
	}
}

static void test_no_task_fields_without_flag(void **state)
{
	struct nw_event e;
	struct conn c;

	(void)state;
	fix_event(FIX_FORWARDED_UDP, &e);
	e.pid = 123; /* garbage the kernel side would never set; must be ignored */
	strcpy(e.comm, "junk");
	assert_int_equal(conn__decode(&e, sizeof(e), 0, "netfilter", &c), 0);
	assert_int_equal(c.pid, 0);
	assert_string_equal(c.comm, "");
	assert_false(c.flags & NW_EF_TASK);
}

static void test_portless(void **state)
{
	char buf[NW_EPSTRLEN];
	struct conn c;

	(void)state;
	decode(FIX_ICMP, &c);
	assert_false(conn__has_ports(&c));
	assert_string_equal(conn__ep_str(&c, c.orig.dst, c.orig.dport, buf, sizeof(buf)),
			    "10.96.0.20");
	assert_string_equal(conn__hook_str(c.hook), "local_in");
}

static void test_ipv4_format(void **state)
{
	static const char *const addrs[] = { "0.0.0.0", "1.2.3.4", "10.96.0.20", "100.64.9.99",
					     "255.255.255.255", "192.168.100.1" };
	char buf[NW_ADDRSTRLEN];
	uint8_t a[16];

	(void)state;
	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		fix_addr(AF_INET, addrs[i], a);
		assert_string_equal(conn__addr_str(AF_INET, a, buf, sizeof(buf)), addrs[i]);
	}
	for (unsigned v = 0; v < 256; v++) { /* every octet value */
		char want[NW_ADDRSTRLEN];

		a[0] = a[1] = a[2] = a[3] = (uint8_t)v;
		inet_ntop(AF_INET, a, want, sizeof(want));
		assert_string_equal(conn__addr_str(AF_INET, a, buf, sizeof(buf)), want);
	}
}

/* "addr:port" for every port edge, both families, against snprintf. */
static void test_endpoint_ports(void **state)
{
	static const unsigned ports[] = { 0, 1, 9, 10, 99, 100, 999, 1000, 8080, 9999,
					  10000, 65535 };
	char buf[NW_EPSTRLEN], want[NW_EPSTRLEN];
	uint8_t a4[16], a6[16];

	(void)state;
	fix_addr(AF_INET, "10.224.1.20", a4);
	fix_addr(AF_INET6, "fd00:224::222", a6);
	for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
		snprintf(want, sizeof(want), "10.224.1.20:%u", ports[i]);
		assert_string_equal(conn__addr_port_str(AF_INET, a4, (uint16_t)ports[i], true, buf),
				    want);
		snprintf(want, sizeof(want), "[fd00:224::222]:%u", ports[i]);
		assert_string_equal(conn__addr_port_str(AF_INET6, a6, (uint16_t)ports[i], true, buf),
				    want);
	}
	assert_string_equal(conn__addr_port_str(AF_INET, a4, 80, false, buf), "10.224.1.20");
	assert_string_equal(conn__addr_port_str(AF_INET6, a6, 80, false, buf), "fd00:224::222");
}

static void test_bad_records(void **state)
{
	struct nw_event e;
	struct conn c;

	(void)state;
	fix_event(FIX_INCIDENT_V4, &e);
	assert_int_equal(conn__decode(&e, sizeof(e) - 1, 0, "x", &c), -EINVAL);
	assert_int_equal(conn__decode(&e, 0, 0, "x", &c), -EINVAL);
	e.version = NW_EVENT_VERSION + 1;
	assert_int_equal(conn__decode(&e, sizeof(e), 0, "x", &c), -EPROTO);
	fix_event(FIX_INCIDENT_V4, &e);
	e.family = 7;
	assert_int_equal(conn__decode(&e, sizeof(e), 0, "x", &c), -EAFNOSUPPORT);
	fix_event(FIX_INCIDENT_V4, &e);
	memset(e.comm, 'A', sizeof(e.comm)); /* no NUL from the kernel: still terminated */
	assert_int_equal(conn__decode(&e, sizeof(e), 0, "x", &c), 0);
	assert_int_equal(strlen(c.comm), NW_COMM_LEN - 1);
}

/* @e (IPv4) as the BPF side writes it from version 2 on: struct nw_event4. */
static void to_short_form(const struct nw_event *e, struct nw_event4 *e4)
{
	memset(e4, 0, sizeof(*e4));
	memcpy(e4, e, offsetof(struct nw_event, orig));
	memcpy(e4->orig.src, e->orig.src, 4);
	memcpy(e4->orig.dst, e->orig.dst, 4);
	e4->orig.sport = e->orig.sport;
	e4->orig.dport = e->orig.dport;
	memcpy(e4->reply.src, e->reply.src, 4);
	memcpy(e4->reply.dst, e->reply.dst, 4);
	e4->reply.sport = e->reply.sport;
	e4->reply.dport = e->reply.dport;
}

/* An IPv4 record in the short form decodes to what the full form does. */
static void test_short_form(void **state)
{
	static const enum fixture v4[] = { FIX_INCIDENT_V4, FIX_FORWARDED_UDP, FIX_MASQUERADE, FIX_NO_NAT, FIX_ICMP };
	struct conn full, shrt;
	struct nw_event4 e4;
	struct nw_event e;

	(void)state;
	for (size_t i = 0; i < sizeof(v4) / sizeof(v4[0]); i++) {
		fix_event(v4[i], &e);
		to_short_form(&e, &e4);
		assert_int_equal(conn__decode(&e, sizeof(e), 5, "x", &full), 0);
		assert_int_equal(conn__decode(&e4, sizeof(e4), 5, "x", &shrt), 0);
		assert_memory_equal(&full, &shrt, sizeof(full));
	}
	assert_string_equal(shrt.comm, "");
	fix_event(FIX_INCIDENT_V4, &e);
	to_short_form(&e, &e4);
	assert_int_equal(conn__decode(&e4, sizeof(e4), 0, "x", &shrt), 0);
	assert_string_equal(conn__addr_port_str(AF_INET, shrt.landed.addr, shrt.landed.port, true,
						(char[64]){ 0 }),
			    "10.224.0.222:3306");
	assert_true(shrt.dnat);
}

/* The short form exists from version 2, for IPv4, at its exact size; the
 * full form of version 1 (older captures) still decodes. */
static void test_short_form_bad(void **state)
{
	unsigned char buf[sizeof(struct nw_event4) + 1];
	struct nw_event4 e4;
	struct nw_event e;
	struct conn c;

	(void)state;
	fix_event(FIX_INCIDENT_V4, &e);
	to_short_form(&e, &e4);
	memcpy(buf, &e4, sizeof(e4));
	assert_int_equal(conn__decode(buf, sizeof(e4) - 1, 0, "x", &c), -EINVAL);
	assert_int_equal(conn__decode(buf, sizeof(e4) + 1, 0, "x", &c), -EINVAL);
	e4.version = 1;
	assert_int_equal(conn__decode(&e4, sizeof(e4), 0, "x", &c), -EINVAL);
	to_short_form(&e, &e4);
	e4.family = AF_INET6;
	assert_int_equal(conn__decode(&e4, sizeof(e4), 0, "x", &c), -EINVAL);
	to_short_form(&e, &e4);
	e4.version = NW_EVENT_VERSION + 1;
	assert_int_equal(conn__decode(&e4, sizeof(e4), 0, "x", &c), -EPROTO);
	e.version = 1;
	assert_int_equal(conn__decode(&e, sizeof(e), 0, "x", &c), 0);
	/* the full form only at its own size: a longer record is not one */
	{
		unsigned char big[sizeof(e) + 8] = { 0 };

		memcpy(big, &e, sizeof(e));
		assert_int_equal(conn__decode(big, sizeof(big), 0, "x", &c), -EINVAL);
	}
	e.version = 0;
	assert_int_equal(conn__decode(&e, sizeof(e), 0, "x", &c), -EPROTO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_incident),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_snat_only),
		cmocka_unit_test(test_nat_address_bytes),
		cmocka_unit_test(test_no_task_fields_without_flag),
		cmocka_unit_test(test_portless),
		cmocka_unit_test(test_ipv4_format),
		cmocka_unit_test(test_endpoint_ports),
		cmocka_unit_test(test_bad_records),
		cmocka_unit_test(test_short_form),
		cmocka_unit_test(test_short_form_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
