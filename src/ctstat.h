/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * conntrack's own statistics of a network namespace (/proc/net/stat/
 * nf_conntrack): what conntrack could not track, which no backend sees.
 *   drop           packets conntrack dropped: no entry could be made for
 *                  them (the table full: nf_conntrack_max; out of memory),
 *                  a protocol's tracker refused them, or their entry
 *                  clashed at confirmation (counted in insert_failed too)
 *   early_drop     entries evicted to make room in a full table
 *   insert_failed  new entries that could not be inserted at confirmation
 *                  (a clash, a chain too long: the packet dropped)
 * The file has a header line naming the columns and one line per possible
 * CPU of hexadecimal counters; the kernel's counters are per CPU and wrap
 * at 2^32.
 */
#ifndef NATWHO_CTSTAT_H
#define NATWHO_CTSTAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ct_counter { CT_DROP, CT_EARLY_DROP, CT_INSERT_FAILED, CT_NCOUNTERS };

#define CTSTAT_PATH "/proc/net/stat/nf_conntrack"
#define CTSTAT_MAX_CPUS 8192 /* lines of counters a file may have */

/* One reading. */
struct ctstat_sample {
	uint64_t entries; /* the namespace's entries now (0 if no such column) */
	size_t ncpus; /* lines of counters */
	size_t cap; /* of @cpu */
	uint64_t (*cpu)[CT_NCOUNTERS];
};

/*
 * Parse the text of the file (@buf, @len bytes) into @s (whose array is
 * reused and grown).  0; -EBADMSG when it is not that file's format (no
 * header naming drop, early_drop and insert_failed, a line of another number
 * of columns, a field that is not 1 to 16 hexadecimal digits, no line of
 * counters); -E2BIG past CTSTAT_MAX_CPUS lines; -ENOMEM.  @s is unchanged
 * on error.
 */
int ctstat__parse(const char *buf, size_t len, struct ctstat_sample *s);

/*
 * How much each counter rose from @old to @now, summed over the CPUs, a
 * per-CPU counter that went down taken for one that wrapped at 2^32.
 * -ESTALE when the two have different numbers of CPUs.
 */
int ctstat__rise(const struct ctstat_sample *old, const struct ctstat_sample *now,
		 uint64_t rise[CT_NCOUNTERS]);

/*
 * Read the whole file from @fd (from its start, as often as asked; the text
 * goes into *@buf, grown as needed, *@cap its size) and parse it into @s.
 * 0, -errno, or ctstat__parse()'s errors; -EFBIG for a file over 4 MiB.
 */
int ctstat__read(int fd, char **buf, size_t *cap, struct ctstat_sample *s);

void ctstat__free(struct ctstat_sample *s);

/*
 * Watching the file of one namespace while natwho runs: read once a second,
 * the rise since the first reading said at once when it starts, then at
 * most every CTWATCH_SAY_NS while it goes on, and at the stop if it rose
 * since last said.
 */
#define CTWATCH_CHECK_NS 1000000000ULL
#define CTWATCH_SAY_NS 10000000000ULL

/* What a watch says: how much the counters rose since it started, and the
 * namespace's table then. */
struct ct_said {
	uint64_t rise[CT_NCOUNTERS];
	uint64_t entries; /* the namespace's entries */
	uint64_t max; /* its net.netfilter.nf_conntrack_max, 0: not known */
};

struct ctwatch {
	int fd; /* the file, opened in the namespace; -1: not watched */
	int max_fd; /* its nf_conntrack_max (/proc/sys), -1: none */
	char *buf;
	size_t cap;
	struct ctstat_sample prev, cur; /* the last reading; the one being taken */
	uint64_t total[CT_NCOUNTERS]; /* the rises since the start */
	uint64_t said[CT_NCOUNTERS]; /* the rises last said */
	uint64_t next_check_ns, next_say_ns;
};

/*
 * Take @fd (the file, opened; -1 for none) and @max_fd (the namespace's
 * net.netfilter.nf_conntrack_max, opened; -1 for none) and the file's first
 * reading, the counters taken for 0 when @from_zero (a file that appeared
 * after natwho started: its namespace's counters began then); *@w zeroed
 * first.  0, or ctstat__read()'s error (then both are closed and nothing is
 * watched).
 */
int ctwatch__start(struct ctwatch *w, int fd, int max_fd, uint64_t now, bool from_zero);

/*
 * At @now (CLOCK_MONOTONIC), or at the stop (@last): read the file (once a
 * second, and at the stop) and add each CPU's rise since the last reading
 * to the totals, a counter that went down taken for one that wrapped at
 * 2^32 (another number of CPUs: that reading starts anew).  1 when the
 * totals since the start are to be said now, in *@said; 0 when not; a read
 * error (the file is then closed and no longer watched).
 */
int ctwatch__check(struct ctwatch *w, uint64_t now, bool last, struct ct_said *said);

void ctwatch__stop(struct ctwatch *w);

#endif
