// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Slicing-by-8 (Kounavis and Berry, Intel, 2005): eight table lookups per
 * eight bytes instead of a dependent lookup per byte.  A capture record is
 * about 150 bytes, where zlib 1.2.13's crc32() mostly runs its byte loop:
 * 130-155 ns a record here, this 70-80 (tests/bench/bench_capfile.c).
 */
#include <string.h>
#include "crc32.h"

#define CRC32_POLY 0xedb88320u /* x^32 + x^26 + ... + 1, bit-reflected */

/* tab[k][b]: the CRC of byte b followed by k zero bytes. */
static uint32_t tab[8][256];

__attribute__((constructor)) static void crc32_init(void)
{
	for (uint32_t b = 0; b < 256; b++) {
		uint32_t c = b;

		for (int i = 0; i < 8; i++)
			c = c & 1 ? (c >> 1) ^ CRC32_POLY : c >> 1;
		tab[0][b] = c;
	}
	for (int k = 1; k < 8; k++)
		for (int b = 0; b < 256; b++)
			tab[k][b] = (tab[k - 1][b] >> 8) ^ tab[0][tab[k - 1][b] & 0xff];
}

static inline uint32_t crc32_byte(uint32_t c, unsigned char b)
{
	return (c >> 8) ^ tab[0][(c ^ b) & 0xff];
}

uint32_t crc32__update(uint32_t crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	uint32_t c = ~crc;

	for (; len && ((uintptr_t)p & 7); len--)
		c = crc32_byte(c, *p++);
	for (; len >= 8; len -= 8, p += 8) {
		uint32_t lo, hi;

		memcpy(&lo, p, 4);
		memcpy(&hi, p + 4, 4);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
		lo = __builtin_bswap32(lo);
		hi = __builtin_bswap32(hi);
#endif
		lo ^= c;
		c = tab[7][lo & 0xff] ^ tab[6][(lo >> 8) & 0xff] ^ tab[5][(lo >> 16) & 0xff] ^
		    tab[4][lo >> 24] ^ tab[3][hi & 0xff] ^ tab[2][(hi >> 8) & 0xff] ^
		    tab[1][(hi >> 16) & 0xff] ^ tab[0][hi >> 24];
	}
	for (; len; len--)
		c = crc32_byte(c, *p++);
	return ~c;
}
