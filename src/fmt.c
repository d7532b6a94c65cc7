// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* snprintf() without a string FILE, for the conversions natwho's per-event
 * formats use; everything else goes to vsnprintf() (see fmt.h). */
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include "fmt.h"

struct fmt_out {
	char *p;
	size_t room; /* bytes that may hold output: len - 1 (0 when len is 0) */
	size_t n; /* the length the whole output would have */
};

static void put(struct fmt_out *o, const char *s, size_t k)
{
	if (o->n < o->room) {
		size_t c = o->room - o->n < k ? o->room - o->n : k;

		memcpy(o->p + o->n, s, c);
	}
	o->n += k;
}

static void pad(struct fmt_out *o, char c, size_t k)
{
	if (o->n < o->room) {
		size_t m = o->room - o->n < k ? o->room - o->n : k;

		memset(o->p + o->n, c, m);
	}
	o->n += k;
}

/* One conversion's text, @k bytes at @s, padded to @width. */
static void field(struct fmt_out *o, const char *s, size_t k, size_t width, bool left)
{
	if (!left && width > k)
		pad(o, ' ', width - k);
	put(o, s, k);
	if (left && width > k)
		pad(o, ' ', width - k);
}

enum fmt_len { L_NONE, L_HH, L_H, L_L, L_LL, L_Z, L_J, L_T };

static uint64_t arg_unsigned(va_list *ap, enum fmt_len l)
{
	switch (l) {
	case L_HH: return (unsigned char)va_arg(*ap, unsigned int);
	case L_H: return (unsigned short)va_arg(*ap, unsigned int);
	case L_L: return va_arg(*ap, unsigned long);
	case L_LL: return va_arg(*ap, unsigned long long);
	case L_Z: return va_arg(*ap, size_t);
	case L_J: return va_arg(*ap, uintmax_t);
	case L_T: return (uint64_t)va_arg(*ap, ptrdiff_t);
	default: return va_arg(*ap, unsigned int);
	}
}

static int64_t arg_signed(va_list *ap, enum fmt_len l)
{
	switch (l) {
	case L_HH: return (signed char)va_arg(*ap, int);
	case L_H: return (short)va_arg(*ap, int);
	case L_L: return va_arg(*ap, long);
	case L_LL: return va_arg(*ap, long long);
	case L_Z: return va_arg(*ap, ssize_t);
	case L_J: return va_arg(*ap, intmax_t);
	case L_T: return va_arg(*ap, ptrdiff_t);
	default: return va_arg(*ap, int);
	}
}

/* Digits of @v in base 10 or 16, right-aligned in @b (FMT_U64_LEN bytes); the count. */
static size_t digits(char *b, uint64_t v, unsigned base, bool upper)
{
	const char *dig = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	size_t i = FMT_U64_LEN;

	do {
		b[--i] = dig[v % base];
		v /= base;
	} while (v);
	return FMT_U64_LEN - i;
}

/* "00" to "99" */
static const char two_digits[201] = "00010203040506070809101112131415161718192021222324"
				    "25262728293031323334353637383940414243444546474849"
				    "50515253545556575859606162636465666768697071727374"
				    "75767778798081828384858687888990919293949596979899";

void fmt__2dig(char *p, unsigned v)
{
	memcpy(p, two_digits + 2 * (v % 100), 2);
}

/* Two digits per step, by constant divisors: half the divisions of digits(). */
size_t fmt__u64(char *b, uint64_t v)
{
	size_t i = FMT_U64_LEN;

	for (; v >= 100; v /= 100) {
		i -= 2;
		fmt__2dig(b + i, (unsigned)(v % 100));
	}
	if (v >= 10) {
		i -= 2;
		fmt__2dig(b + i, (unsigned)v);
	} else {
		b[--i] = (char)('0' + v);
	}
	return FMT_U64_LEN - i;
}

static void number(struct fmt_out *o, bool neg, uint64_t mag, unsigned base, bool upper,
		   size_t width, bool left, bool zero)
{
	char b[FMT_U64_LEN];
	size_t k = digits(b, mag, base, upper), len = k + neg;

	if (zero && !left) { /* sign, then zeros */
		if (neg)
			put(o, "-", 1);
		if (width > len)
			pad(o, '0', width - len);
		put(o, b + FMT_U64_LEN - k, k);
		return;
	}
	if (!left && width > len)
		pad(o, ' ', width - len);
	if (neg)
		put(o, "-", 1);
	put(o, b + FMT_U64_LEN - k, k);
	if (left && width > len)
		pad(o, ' ', width - len);
}

/* Reads a decimal run at *@f (no sign); @ok false when it would overflow. */
static size_t decimal(const char **f, bool *ok)
{
	size_t v = 0;

	while (**f >= '0' && **f <= '9') {
		if (v > 100000)
			*ok = false;
		else
			v = v * 10 + (size_t)(**f - '0');
		(*f)++;
	}
	return v;
}

/* Flags, width, precision and length of one conversion. */
struct fmt_spec {
	bool left, zero, has_prec;
	size_t width, prec;
	enum fmt_len len;
};

/* Reads them at *@fp (just after '%'), taking '*' arguments from @ap; false
 * when they are not ours. */
static bool spec(struct fmt_spec *sp, const char **fp, va_list *ap)
{
	const char *f = *fp;
	bool ok = true;
	int v;

	memset(sp, 0, sizeof(*sp));
	for (;; f++) {
		if (*f == '-')
			sp->left = true;
		else if (*f == '0')
			sp->zero = true;
		else
			break;
	}
	if (*f == '*') {
		f++;
		v = va_arg(*ap, int);
		if (v == INT_MIN)
			return false;
		sp->left |= v < 0;
		sp->width = (size_t)(v < 0 ? -v : v);
	} else {
		sp->width = decimal(&f, &ok);
		if (*f == '$') /* positional arguments */
			return false;
	}
	if (*f == '.') {
		f++;
		sp->has_prec = true;
		if (*f == '*') {
			f++;
			v = va_arg(*ap, int);
			sp->has_prec = v >= 0; /* negative: as if none */
			sp->prec = v >= 0 ? (size_t)v : 0;
		} else {
			sp->prec = decimal(&f, &ok);
		}
	}
	switch (*f) {
	case 'h': sp->len = f[1] == 'h' ? L_HH : L_H; f += sp->len == L_HH ? 2 : 1; break;
	case 'l': sp->len = f[1] == 'l' ? L_LL : L_L; f += sp->len == L_LL ? 2 : 1; break;
	case 'z': sp->len = L_Z; f++; break;
	case 'j': sp->len = L_J; f++; break;
	case 't': sp->len = L_T; f++; break;
	default: break;
	}
	*fp = f;
	return ok;
}

/* The conversion at *@fp (just after '%'); false when it is not ours. */
static bool conversion(struct fmt_out *o, const char **fp, va_list *ap)
{
	const char *f = *fp, *s;
	struct fmt_spec sp;
	int64_t sv;
	char c;

	if (!spec(&sp, &f, ap))
		return false;
	switch (*f) {
	case 's':
		if (sp.zero || sp.len != L_NONE)
			return false;
		s = va_arg(*ap, const char *);
		if (!s) /* glibc's "(null)" rules: let it say so */
			return false;
		field(o, s, sp.has_prec ? strnlen(s, sp.prec) : strlen(s), sp.width, sp.left);
		break;
	case 'c':
		if (sp.zero || sp.has_prec || sp.len != L_NONE)
			return false;
		c = (char)va_arg(*ap, int);
		field(o, &c, 1, sp.width, sp.left);
		break;
	case 'd':
	case 'i':
		if (sp.has_prec)
			return false;
		sv = arg_signed(ap, sp.len);
		number(o, sv < 0, sv < 0 ? -(uint64_t)sv : (uint64_t)sv, 10, false, sp.width,
		       sp.left, sp.zero);
		break;
	case 'u':
	case 'x':
	case 'X':
		if (sp.has_prec)
			return false;
		number(o, false, arg_unsigned(ap, sp.len), *f == 'u' ? 10 : 16, *f == 'X', sp.width,
		       sp.left, sp.zero);
		break;
	case '%':
		if (f != *fp) /* "%-5%" and the like: glibc's business */
			return false;
		put(o, "%", 1);
		break;
	default:
		return false;
	}
	*fp = f + 1;
	return true;
}

int fmt__vsnprintf(char *buf, size_t len, const char *fmt, va_list ap)
{
	struct fmt_out o = { .p = buf, .room = len ? len - 1 : 0 };
	const char *f = fmt, *run;
	va_list orig, cur;
	int ret;

	va_copy(orig, ap);
	va_copy(cur, ap);
	while (*f) {
		for (run = f; *f && *f != '%'; f++)
			;
		if (f > run)
			put(&o, run, (size_t)(f - run));
		if (!*f)
			break;
		f++;
		if (!conversion(&o, &f, &cur)) {
			va_end(cur);
			ret = vsnprintf(buf, len, fmt, orig);
			va_end(orig);
			return ret;
		}
	}
	va_end(cur);
	va_end(orig);
	if (len)
		buf[o.n < o.room ? o.n : o.room] = '\0';
	return o.n > INT_MAX ? -1 : (int)o.n;
}

/*
 * The length of the well-formed UTF-8 sequence (RFC 3629: no overlong form,
 * no surrogate, nothing above U+10FFFF) that starts with the byte >= 0x80
 * at @p, or 0.  Stops at the first byte that does not fit, so a NUL ends it.
 */
size_t fmt__utf8_len(const unsigned char *p)
{
	unsigned char lo = 0x80, hi = 0xbf;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		return p[1] >= lo && p[1] <= hi ? 2 : 0;
	if (p[0] >= 0xe0 && p[0] <= 0xef) {
		lo = p[0] == 0xe0 ? 0xa0 : lo;
		hi = p[0] == 0xed ? 0x9f : hi;
		return p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 ? 3 : 0;
	}
	if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		lo = p[0] == 0xf0 ? 0x90 : lo;
		hi = p[0] == 0xf4 ? 0x8f : hi;
		return p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 &&
				       (p[3] & 0xc0) == 0x80 ?
			       4 :
			       0;
	}
	return 0;
}

char *fmt__clean(char *s)
{
	unsigned char *r = (unsigned char *)s, *w = r;

	while (*r) {
		size_t u = *r >= 0x80 ? fmt__utf8_len(r) : 1;

		if (u == 1 && *r >= 0x20 && *r != 0x7f) {
			*w++ = *r++;
		} else if (u > 1 && !(u == 2 && r[0] == 0xc2 && r[1] <= 0x9f)) {
			memmove(w, r, u); /* a character, not a C1 control */
			w += u, r += u;
		} else {
			*w++ = '?'; /* a control, or a byte that is not UTF-8 */
			r += u ? u : 1;
		}
	}
	*w = '\0';
	return s;
}

int fmt__snprintf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = fmt__vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return n;
}
