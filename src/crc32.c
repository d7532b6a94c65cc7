// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Two ways to the same CRC.  On x86-64 with PCLMULQDQ, 16 bytes at a time
 * by carry-less multiplication (Gopal et al., "Fast CRC Computation for
 * Generic Polynomials Using PCLMULQDQ Instruction", Intel, 2009: one lane
 * folded by 128 bits, then a Barrett reduction; the constants are that
 * paper's for this polynomial, as Linux's crc32-pclmul used them), the
 * last bytes of a record by table.  Elsewhere slicing-by-8 (Kounavis and
 * Berry, Intel, 2005): eight table lookups per eight bytes instead of a
 * dependent lookup per byte.  A capture record is about 100-150 bytes,
 * where zlib 1.2.13's crc32() mostly runs its byte loop: 130-155 ns a record
 * here, slicing-by-8 70-80 (tests/bench/bench_capfile.c); with PCLMULQDQ a
 * storm's record (an 8-byte frame head, then 88 bytes) takes about 225
 * instructions where slicing-by-8 took 427 (callgrind).
 */
#include <stdbool.h>
#include <string.h>
#include "crc32.h"
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define CRC32_CLMUL 1
#endif

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

/* The register @c (not inverted) on from @p[0, @len), by table. */
static uint32_t crc32_table(uint32_t c, const unsigned char *p, size_t len)
{

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
	return c;
}

#ifdef CRC32_CLMUL
static bool clmul_ok; /* the CPU has it (crc32_detect()) */
static bool clmul_on; /* and it is used (crc32__accelerate()) */

/* The register @c on from @p[0, @len), @len >= 16 and a multiple of 16. */
__attribute__((target("pclmul,sse4.1"))) static uint32_t crc32_clmul(uint32_t c,
								    const unsigned char *p,
								    size_t len)
{
	/* x^(128+32) and x^(128-32) mod P (fold by 128 bits, low and high
	 * halves), x^64 mod P, then mu and P for the Barrett reduction:
	 * bit-reflected, shifted left by one, as the paper gives them */
	const __m128i k34 = _mm_set_epi64x(0x00ccaa009eLL, 0x01751997d0LL);
	const __m128i k5 = _mm_set_epi64x(0, 0x0163cd6124LL);
	const __m128i mu_p = _mm_set_epi64x(0x01f7011641LL, 0x01db710641LL);
	const __m128i low32 = _mm_set_epi32(0, 0, 0, -1);
	__m128i x = _mm_xor_si128(_mm_loadu_si128((const void *)p), _mm_cvtsi32_si128((int)c));
	__m128i t;

	for (p += 16, len -= 16; len; p += 16, len -= 16) {
		t = _mm_clmulepi64_si128(x, k34, 0x11);
		x = _mm_clmulepi64_si128(x, k34, 0x00);
		x = _mm_xor_si128(_mm_xor_si128(x, t), _mm_loadu_si128((const void *)p));
	}
	/* 128 bits to 96 (the 32 zero bits a CRC appends), 96 to 64 */
	t = _mm_clmulepi64_si128(k34, x, 0x01);
	x = _mm_xor_si128(_mm_srli_si128(x, 8), t);
	t = _mm_srli_si128(x, 4);
	x = _mm_xor_si128(_mm_clmulepi64_si128(_mm_and_si128(x, low32), k5, 0x00), t);
	/* 64 to 32: Barrett */
	t = x;
	x = _mm_clmulepi64_si128(_mm_and_si128(x, low32), mu_p, 0x10);
	x = _mm_clmulepi64_si128(_mm_and_si128(x, low32), mu_p, 0x00);
	return (uint32_t)_mm_extract_epi32(_mm_xor_si128(x, t), 1);
}

__attribute__((constructor)) static void crc32_detect(void)
{
	__builtin_cpu_init();
	clmul_ok = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
	clmul_on = clmul_ok;
}

bool crc32__accelerate(bool on)
{
	clmul_on = on && clmul_ok;
	return clmul_on;
}
#else
bool crc32__accelerate(bool on)
{
	(void)on;
	return false;
}
#endif

uint32_t crc32__update(uint32_t crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	uint32_t c = ~crc;

#ifdef CRC32_CLMUL
	if (clmul_on && len >= 16) {
		size_t n = len & ~(size_t)15;

		c = crc32_clmul(c, p, n);
		p += n;
		len -= n;
	}
#endif
	return ~crc32_table(c, p, len);
}
