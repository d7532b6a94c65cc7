// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* conntrack's statistics file: see ctstat.h. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ctstat.h"
#include "parse.h"

#define CTSTAT_MAX_COLS 64
#define CTSTAT_MAX_BYTES (4u << 20)

/* The columns natwho reads, by the header's names (every kernel since 2.6
 * names them so; "entries" is the same on every line). */
static const char *const counter_names[CT_NCOUNTERS] = {
	[CT_DROP] = "drop",
	[CT_EARLY_DROP] = "early_drop",
	[CT_INSERT_FAILED] = "insert_failed",
};

struct ctstat_cols {
	int ncols;
	int counter[CT_NCOUNTERS]; /* column of each counter */
	int entries; /* -1: none */
};

/* The next word of [*p, end): its start in *w and length, *p past it; 0
 * at the end.  Words are separated by blanks. */
static size_t next_word(const char **p, const char *end, const char **w)
{
	const char *q = *p;
	size_t n = 0;

	while (q < end && (*q == ' ' || *q == '\t'))
		q++;
	*w = q;
	while (q + n < end && q[n] != ' ' && q[n] != '\t')
		n++;
	*p = q + n;
	return n;
}

static int parse_header(const char *p, const char *end, struct ctstat_cols *c)
{
	const char *w;
	size_t n;

	c->ncols = 0;
	c->entries = -1;
	for (int i = 0; i < CT_NCOUNTERS; i++)
		c->counter[i] = -1;
	while ((n = next_word(&p, end, &w))) {
		if (c->ncols == CTSTAT_MAX_COLS)
			return -EBADMSG;
		for (int i = 0; i < CT_NCOUNTERS; i++)
			if (n == strlen(counter_names[i]) && !memcmp(w, counter_names[i], n))
				c->counter[i] = c->ncols;
		if (n == 7 && !memcmp(w, "entries", 7))
			c->entries = c->ncols;
		c->ncols++;
	}
	for (int i = 0; i < CT_NCOUNTERS; i++)
		if (c->counter[i] < 0)
			return -EBADMSG;
	return 0;
}


/*
 * The lines of counters after the header, [p, end): checked, and counted
 * into *@ncpus; stored into @s too unless NULL (its array big enough).
 */
static int parse_lines(const char *p, const char *end, const struct ctstat_cols *c,
		       struct ctstat_sample *s, size_t *ncpus)
{
	uint64_t entries = 0;
	size_t cpu = 0;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p)), *w;
		int col = 0;
		size_t n;

		if (!eol)
			eol = end;
		if (cpu == CTSTAT_MAX_CPUS)
			return -E2BIG;
		while ((n = next_word(&p, eol, &w))) {
			uint64_t v;

			if (col == c->ncols || parse_hex(w, n, &v))
				return -EBADMSG;
			for (int i = 0; s && i < CT_NCOUNTERS; i++)
				if (col == c->counter[i])
					s->cpu[cpu][i] = v;
			if (col == c->entries && v > entries)
				entries = v;
			col++;
		}
		if (col != c->ncols) /* an empty line too */
			return -EBADMSG;
		cpu++;
		p = eol < end ? eol + 1 : end;
	}
	if (!cpu)
		return -EBADMSG;
	*ncpus = cpu;
	if (s) {
		s->ncpus = cpu;
		s->entries = entries;
	}
	return 0;
}

int ctstat__parse(const char *buf, size_t len, struct ctstat_sample *s)
{
	const char *end = buf + len, *nl = memchr(buf, '\n', len);
	struct ctstat_cols c;
	size_t ncpus;
	int err;

	if (!nl)
		return -EBADMSG;
	err = parse_header(buf, nl, &c);
	err = err ?: parse_lines(nl + 1, end, &c, NULL, &ncpus);
	if (err)
		return err;
	if (ncpus > s->cap) {
		void *p = realloc(s->cpu, ncpus * sizeof(*s->cpu));

		if (!p)
			return -ENOMEM;
		s->cpu = p;
		s->cap = ncpus;
	}
	return parse_lines(nl + 1, end, &c, s, &ncpus);
}

int ctstat__rise(const struct ctstat_sample *old, const struct ctstat_sample *now,
		 uint64_t rise[CT_NCOUNTERS])
{
	if (old->ncpus != now->ncpus)
		return -ESTALE;
	for (int i = 0; i < CT_NCOUNTERS; i++)
		rise[i] = 0;
	for (size_t cpu = 0; cpu < now->ncpus; cpu++) {
		for (int i = 0; i < CT_NCOUNTERS; i++) {
			uint64_t a = old->cpu[cpu][i], b = now->cpu[cpu][i];

			rise[i] += b >= a ? b - a : (b - a) & 0xffffffffULL;
		}
	}
	return 0;
}

int ctstat__read(int fd, char **buf, size_t *cap, struct ctstat_sample *s)
{
	size_t len = 0;

	if (lseek(fd, 0, SEEK_SET) < 0)
		return -errno;
	for (;;) {
		ssize_t n;

		if (len == *cap) {
			/* at most one byte over the limit: a file of the limit's
			 * size is read to its end */
			size_t want = !*cap ? 4096 :
				      *cap * 2 > CTSTAT_MAX_BYTES ? CTSTAT_MAX_BYTES + 1 : *cap * 2;
			char *p;

			if (*cap > CTSTAT_MAX_BYTES)
				return -EFBIG;
			p = realloc(*buf, want);
			if (!p)
				return -ENOMEM;
			*buf = p;
			*cap = want;
		}
		n = read(fd, *buf + len, *cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (!n)
			break;
		len += (size_t)n;
	}
	return ctstat__parse(*buf, len, s);
}

void ctstat__free(struct ctstat_sample *s)
{
	free(s->cpu);
	s->cpu = NULL;
	s->cap = s->ncpus = 0;
}

int ctwatch__start(struct ctwatch *w, int fd, int max_fd, uint64_t now, bool from_zero)
{
	int err;

	memset(w, 0, sizeof(*w));
	w->fd = fd;
	w->max_fd = max_fd;
	if (fd < 0)
		return 0;
	err = ctstat__read(fd, &w->buf, &w->cap, &w->prev);
	if (err) {
		ctwatch__stop(w);
		return err;
	}
	if (from_zero)
		memset(w->prev.cpu, 0, w->prev.ncpus * sizeof(*w->prev.cpu));
	w->next_check_ns = now + CTWATCH_CHECK_NS;
	return 0;
}

/* The namespace's nf_conntrack_max from @fd, 0 if unknown. */
static uint64_t ctwatch_max(int fd)
{
	char buf[32];
	ssize_t n = fd < 0 ? -1 : pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strtoull(buf, NULL, 10);
}

int ctwatch__check(struct ctwatch *w, uint64_t now, bool last, struct ct_said *said)
{
	uint64_t step[CT_NCOUNTERS];
	struct ctstat_sample t;
	bool more = false, first = true;
	int err;

	if (w->fd < 0 || (!last && now < w->next_check_ns))
		return 0;
	w->next_check_ns = now + CTWATCH_CHECK_NS;
	err = ctstat__read(w->fd, &w->buf, &w->cap, &w->cur);
	if (err) {
		ctwatch__stop(w);
		return err;
	}
	/* A second's rise at a time: a 32-bit counter wraps at most once in
	 * it.  Another number of CPUs: this reading is the new start. */
	if (!ctstat__rise(&w->prev, &w->cur, step))
		for (int i = 0; i < CT_NCOUNTERS; i++)
			w->total[i] += step[i];
	t = w->prev;
	w->prev = w->cur;
	w->cur = t;
	for (int i = 0; i < CT_NCOUNTERS; i++) {
		more |= w->total[i] > w->said[i];
		first &= !w->said[i];
	}
	if (!more || (!first && !last && now < w->next_say_ns))
		return 0;
	memcpy(w->said, w->total, sizeof(w->said));
	memcpy(said->rise, w->total, sizeof(w->total));
	said->entries = w->prev.entries;
	said->max = ctwatch_max(w->max_fd);
	w->next_say_ns = now + CTWATCH_SAY_NS;
	return 1;
}

void ctwatch__stop(struct ctwatch *w)
{
	if (w->fd >= 0)
		close(w->fd);
	if (w->max_fd >= 0)
		close(w->max_fd);
	w->fd = w->max_fd = -1;
	ctstat__free(&w->prev);
	ctstat__free(&w->cur);
	free(w->buf);
	w->buf = NULL;
	w->cap = 0;
}
