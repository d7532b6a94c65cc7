/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * snprintf() for the per-event paths.  glibc's sets up a string FILE and
 * walks its general conversion machinery for every call: at tens of
 * thousands of events per second, that was half of natwho's userspace CPU.
 *
 * Same contract as snprintf(): writes at most @len bytes including the
 * terminating NUL (nothing when @len is 0) and returns the length the whole
 * output would have.  Handled here: %s %c %d %i %u %x %X %%, the '-' and '0'
 * flags, a width (digits or '*'), a precision on %s ('.N' or '.*'), and the
 * length modifiers hh h l ll z j t.  Any other conversion (floating point,
 * integer precision, '+', ' ', '#', %n, positional arguments) is handed to
 * vsnprintf() whole, so the result is always exactly what snprintf() gives.
 */
#ifndef NATWHO_FMT_H
#define NATWHO_FMT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

int fmt__vsnprintf(char *buf, size_t len, const char *fmt, va_list ap);
/* The decimal digits of @v, right-aligned in @b (FMT_U64_LEN bytes, no NUL);
 * returns how many: they start at b + FMT_U64_LEN - count. */
#define FMT_U64_LEN 24
size_t fmt__u64(char *b, uint64_t v);
/* The two decimal digits of @v % 100 at @p (no NUL). */
void fmt__2dig(char *p, unsigned v);
int fmt__snprintf(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/*
 * The length of the well-formed UTF-8 sequence (RFC 3629: no overlong form,
 * no surrogate, nothing above U+10FFFF) that starts with the byte >= 0x80
 * at @p, or 0.  Stops at the first byte that does not fit, so a NUL ends it.
 */
size_t fmt__utf8_len(const unsigned char *p);
/*
 * @s made safe for a terminal, in place: every control character (C0,
 * DEL, C1: U+0080-U+009F) and every byte that is not part of well-formed
 * UTF-8 becomes one '?', so that text from outside (a process's name, a
 * snapshot's, a replayed capture's) cannot move the cursor, recolour the
 * screen or start a line of its own, whatever the terminal's encoding.
 * Returns @s.
 */
char *fmt__clean(char *s);

#endif /* NATWHO_FMT_H */
