/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * CRC-32 (IEEE 802.3, reflected, the one zlib's crc32() and gzip compute):
 * the checksum of every capture-file record.
 */
#ifndef NW_CRC32_H
#define NW_CRC32_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The CRC of what @crc covered followed by @buf[0, @len); 0 to start, as
 * zlib's crc32(crc, buf, len). */
uint32_t crc32__update(uint32_t crc, const void *buf, size_t len);

/* Use the CPU's carry-less multiply where it has one (the default) or the
 * tables alone (@on false: tests); true when it is used now. */
bool crc32__accelerate(bool on);

#endif
