/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Strict parsers for everything natwho reads from a command line: they reject
 * empty input, trailing junk, signs where none belong, and overflow. */
#ifndef NW_PARSE_H
#define NW_PARSE_H

#include <stdint.h>
#include <stddef.h>
#include "natwho.h" /* struct nw_prefix */

/* Each returns 0 or -EINVAL (malformed) / -ERANGE (outside [min, max]). */
int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
int parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out);
/* Seconds with an optional fraction and unit: "10", "1.5", "250ms", "2m", "1h". */
int parse_duration_ns(const char *s, uint64_t *out_ns);
/* Size with optional K/M/G (powers of 1024) suffix: "4M", "65536". */
int parse_size(const char *s, uint64_t *out);
/* @n (1..16) hexadecimal digits, not NUL-terminated (a field of a /proc
 * file): 0 or -EINVAL. */
int parse_hex(const char *s, size_t n, uint64_t *out);
/* "3306" or "80,443,8080": appends to ports[*n], deduplicated, max @cap. */
int parse_port_list(const char *s, uint16_t *ports, size_t cap, size_t *n);
/*
 * One address prefix: "10.96.0.20", "10.96.0.0/12", "fd00::1", "[fd00::1]",
 * "fd00::/8" (a bare address: the whole length); an IPv4-mapped IPv6 prefix
 * of 96 bits or more, "::ffff:10.1.2.0/120", is the IPv4 one it maps
 * (10.1.2.0/24), as conntrack sees such traffic.  0; -EINVAL: not an address
 * and length; -ERANGE: a length past the family's; -EDOM: bits set past the
 * length (a typo widens or moves a prefix silently), @p then holds the
 * prefix with them cleared, for the message.
 */
int parse_prefix(const char *s, struct nw_prefix *p);
/*
 * "A[/LEN][,B...]" (--addr) appended to @v[*n], each prefix once, at most
 * @cap.  0, or the first refused item's error: parse_prefix()'s (-EINVAL
 * also for an empty item), or -E2BIG past @cap; @e says where that item is
 * in @s and, for -EDOM, the prefix it meant.
 */
struct prefix_err {
	size_t at, len; /* the item: @len bytes at @at */
	struct nw_prefix meant; /* -EDOM */
};
int parse_prefix_list(const char *s, struct nw_prefix *v, size_t cap, size_t *n,
		      struct prefix_err *e);
/* "10.96.0.0/12", "fd00::1" ("/LEN" only when short of the whole address);
 * @len: 64 bytes (PREFIX_STR_LEN) always do. */
#define PREFIX_STR_LEN 64
const char *prefix_str(const struct nw_prefix *p, char *buf, size_t len);
/* Is the address @a (16 bytes, IPv4 in the first 4) of @family in @p? */
int prefix_has(const struct nw_prefix *p, uint8_t family, const uint8_t *a);
/* "tcp", "udp", "sctp" (case-insensitive) or a number 1..255 -> IPPROTO_*;
 * -ERANGE for another number, -EINVAL for anything else. */
int parse_proto(const char *s, uint8_t *out);
/* IPPROTO_* -> lower-case name, or NULL when natwho has no name for it. */
const char *proto_name(uint8_t proto);
/* The name, or the number when there is none: @buf needs 4 bytes. */
const char *proto_str(uint8_t proto, char *buf, size_t len);

#endif
