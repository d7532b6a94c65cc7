/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Nanoseconds on a clock: the one helper the loader's modules share. */
#ifndef NW_CLOCK_H
#define NW_CLOCK_H
#include <stdint.h>
#include <time.h>

static inline uint64_t nw_now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

#endif
