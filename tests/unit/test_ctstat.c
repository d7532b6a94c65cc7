// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * conntrack's statistics file (src/ctstat.c): its format as two kernels
 * print it, what is not that format, the counters' rise across a 32-bit
 * wrap (also past 2^32 over a run), and when a watch says it (at once, then
 * at most every 10 s, and at the stop); the warning's words.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <cmocka.h>
#include "ctstat.h"
#include "log.h"

/* Linux 6.18, 2 CPUs (this file on the CI VM, with counts put in). */
static const char linux618[] =
	"entries  clashres found new invalid ignore delete chainlength insert insert_failed drop "
	"early_drop icmp_error  expect_new expect_create expect_delete search_restart\n"
	"00000010  00000000 00000000 00000000 00000003 00000000 00000000 00000000 00000000 "
	"00000002 0000000a 00000001 00000000  00000000 00000000 00000000 00000000\n"
	"00000010  00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 "
	"00000000 000000FF 00000000 00000000  00000000 00000000 00000000 00000000\n";

/* Linux 5.4's columns (searched, delete_list; no clashres, chainlength). */
static const char linux54[] =
	"entries  searched found new invalid ignore delete delete_list insert insert_failed drop "
	"early_drop icmp_error  expect_new expect_create expect_delete search_restart\n"
	"00000003  00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 "
	"00000001 00000000 00000005 00000000  00000000 00000000 00000000 00000000\n";

static void sample_of(struct ctstat_sample *s, const char *text)
{
	assert_int_equal(ctstat__parse(text, strlen(text), s), 0);
}

static void test_parse(void **state)
{
	struct ctstat_sample s = { 0 };

	(void)state;
	assert_int_equal(ctstat__parse(linux618, strlen(linux618), &s), 0);
	assert_int_equal(s.ncpus, 2);
	assert_int_equal(s.entries, 16);
	assert_int_equal(s.cpu[0][CT_DROP], 10);
	assert_int_equal(s.cpu[0][CT_EARLY_DROP], 1);
	assert_int_equal(s.cpu[0][CT_INSERT_FAILED], 2);
	assert_int_equal(s.cpu[1][CT_DROP], 255); /* upper-case digits too */
	assert_int_equal(ctstat__parse(linux54, strlen(linux54), &s), 0);
	assert_int_equal(s.ncpus, 1);
	assert_int_equal(s.entries, 3);
	assert_int_equal(s.cpu[0][CT_DROP], 0);
	assert_int_equal(s.cpu[0][CT_EARLY_DROP], 5);
	assert_int_equal(s.cpu[0][CT_INSERT_FAILED], 1);
	/* no newline at the end; 16 digits */
	sample_of(&s, "drop early_drop insert_failed\n1 2 ffffffffffffffff");
	assert_int_equal(s.cpu[0][CT_INSERT_FAILED], UINT64_MAX);
	assert_int_equal(s.entries, 0); /* no such column */
	ctstat__free(&s);
}

/* Not the file: -EBADMSG, and the sample as it was. */
static void test_parse_bad(void **state)
{
	static const char *const bad[] = {
		"",
		"drop early_drop insert_failed",
		"drop early_drop insert_failed\n",
		"drop early_drop\n1 2\n", /* no insert_failed */
		"entries drop early_drop insert_failed\n1 2 3\n", /* a column short */
		"entries drop early_drop insert_failed\n1 2 3 4 5\n", /* one more */
		"drop early_drop insert_failed\n1 2 3\n\n4 5 6\n", /* an empty line */
		"drop early_drop insert_failed\n1 2 x\n",
		"drop early_drop insert_failed\n1 2 0x3\n",
		"drop early_drop insert_failed\n1 2 -3\n",
		"drop early_drop insert_failed\n1 2 10000000000000000\n", /* 17 digits */
		"drop early_drop insert_failed\n1 2 3\r\n",
	};
	struct ctstat_sample s = { 0 };
	char nul[] = "drop early_drop insert_failed\n1 2 3\n";

	(void)state;
	assert_int_equal(ctstat__parse(linux618, strlen(linux618), &s), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("%s\n", bad[i]);
		assert_int_equal(ctstat__parse(bad[i], strlen(bad[i]), &s), -EBADMSG);
		assert_int_equal(s.ncpus, 2);
		assert_int_equal(s.cpu[1][CT_DROP], 255);
	}
	nul[33] = '\0'; /* a NUL in a field */
	assert_int_equal(ctstat__parse(nul, sizeof(nul) - 1, &s), -EBADMSG);
	ctstat__free(&s);
}

/* More lines than CTSTAT_MAX_CPUS: -E2BIG; exactly that many: taken. */
static void test_parse_cpus(void **state)
{
	static const char head[] = "drop early_drop insert_failed\n";
	size_t len = sizeof(head) - 1 + (CTSTAT_MAX_CPUS + 1) * 6;
	char *buf = malloc(len);
	struct ctstat_sample s = { 0 };

	(void)state;
	assert_non_null(buf);
	memcpy(buf, head, sizeof(head) - 1);
	for (size_t i = 0; i <= CTSTAT_MAX_CPUS; i++)
		memcpy(buf + sizeof(head) - 1 + i * 6, "1 2 3\n", 6);
	assert_int_equal(ctstat__parse(buf, len, &s), -E2BIG);
	assert_int_equal(ctstat__parse(buf, len - 6, &s), 0);
	assert_int_equal(s.ncpus, CTSTAT_MAX_CPUS);
	assert_int_equal(s.cpu[CTSTAT_MAX_CPUS - 1][CT_INSERT_FAILED], 3);
	ctstat__free(&s);
	free(buf);
}

/* Summed over the CPUs; a CPU's counter that went down wrapped at 2^32. */
static void test_rise(void **state)
{
	struct ctstat_sample a = { 0 }, b = { 0 }, c = { 0 };
	uint64_t r[CT_NCOUNTERS];

	(void)state;
	sample_of(&a, "drop early_drop insert_failed\nfffffffe 5 0\n10 0 1\n");
	sample_of(&b, "drop early_drop insert_failed\n00000001 5 0\n12 3 1\n");
	assert_int_equal(ctstat__rise(&a, &b, r), 0);
	assert_int_equal(r[CT_DROP], 3 + 2);
	assert_int_equal(r[CT_EARLY_DROP], 3);
	assert_int_equal(r[CT_INSERT_FAILED], 0);
	sample_of(&c, "drop early_drop insert_failed\n1 2 3\n");
	assert_int_equal(ctstat__rise(&a, &c, r), -ESTALE);
	ctstat__free(&a);
	ctstat__free(&b);
	ctstat__free(&c);
}

#define S 1000000000ULL

/* The watched file: a memfd rewritten between checks. */
static void put(int fd, const char *text)
{
	assert_int_equal(ftruncate(fd, 0), 0);
	assert_int_equal(pwrite(fd, text, strlen(text), 0), (ssize_t)strlen(text));
}

/* Two CPUs' lines: entries @e on both, drops @d0 and @d1, the first CPU's
 * early drops @ed and failed insertions @inf (a static buffer). */
static const char *text3(unsigned e, unsigned d0, unsigned d1, unsigned ed, unsigned inf)
{
	static char t[256];

	snprintf(t, sizeof(t), "entries drop early_drop insert_failed\n%x %x %x %x\n%x %x 0 0\n", e,
		 d0, ed, inf, e, d1);
	return t;
}

/* A memfd holding @text (rewritten between checks with put()). */
static int file_of(const char *text)
{
	int fd = memfd_create("ctstat", 0);

	assert_true(fd >= 0);
	put(fd, text);
	return fd;
}

/* A watch of a file holding @text, started at time 0, with nf_conntrack_max
 * in a file holding @max (NULL: none); the counters' file in *@fd. */
static void watch_of(struct ctwatch *w, int *fd, const char *text, const char *max, bool from_zero)
{
	*fd = file_of(text);
	assert_int_equal(ctwatch__start(w, *fd, max ? file_of(max) : -1, 0, from_zero), 0);
}

static int check(struct ctwatch *w, uint64_t now, bool last, struct ct_said *said)
{
	memset(said, 0xa5, sizeof(*said));
	return ctwatch__check(w, now, last, said);
}

/*
 * Said at the first rise, within its one-second check; then only once 10 s
 * went by since, and at the stop when it rose since last said; the counts
 * are since the start, with the namespace's entries and its table's limit
 * then; nothing when nothing rose.
 */
static void test_watch(void **state)
{
	struct ct_said s;
	struct ctwatch w;
	int fd;

	(void)state;
	watch_of(&w, &fd, text3(100, 7, 9, 1, 0), "262144\n", false);
	put(fd, text3(100, 8, 9, 1, 0));
	assert_int_equal(check(&w, S / 2, false, &s), 0); /* not read before its second */
	put(fd, text3(100, 7, 9, 1, 0));
	assert_int_equal(check(&w, S, false, &s), 0); /* read: nothing rose */
	put(fd, text3(120, 8, 11, 1, 0));
	assert_int_equal(check(&w, S + S / 2, false, &s), 0); /* its second not come */
	assert_int_equal(check(&w, 2 * S, false, &s), 1);
	assert_int_equal(s.rise[CT_DROP], 3);
	assert_int_equal(s.rise[CT_EARLY_DROP], 0);
	assert_int_equal(s.rise[CT_INSERT_FAILED], 0);
	assert_int_equal(s.entries, 120);
	assert_int_equal(s.max, 262144);
	assert_int_equal(check(&w, 3 * S, false, &s), 0); /* said, no more since */
	put(fd, text3(120, 8, 11, 2, 1));
	assert_int_equal(check(&w, 4 * S, false, &s), 0); /* within 10 s of the last */
	assert_int_equal(check(&w, 12 * S - 1, false, &s), 0);
	assert_int_equal(check(&w, 13 * S, false, &s), 1);
	assert_int_equal(s.rise[CT_DROP], 3);
	assert_int_equal(s.rise[CT_EARLY_DROP], 1);
	assert_int_equal(s.rise[CT_INSERT_FAILED], 1);
	put(fd, text3(130, 9, 11, 2, 1));
	assert_int_equal(check(&w, 13 * S + 1, true, &s), 1); /* the stop: at once */
	assert_int_equal(s.rise[CT_DROP], 4);
	assert_int_equal(s.entries, 130);
	assert_int_equal(check(&w, 13 * S + 2, true, &s), 0); /* nothing more */
	ctwatch__stop(&w);
	assert_int_equal(w.fd, -1);
	assert_int_equal(w.max_fd, -1);
	assert_int_equal(check(&w, 100 * S, true, &s), 0); /* stopped: no-op */
}

/*
 * Another number of CPUs (the file's lines): the rise so far is kept and the
 * new reading is the base; a file no longer in the format: the error, and
 * the watch ends; a watch of no file says nothing; a limit not known (no
 * file, or not a number) is 0.
 */
static void test_watch_changes(void **state)
{
	struct ct_said s;
	struct ctwatch w;
	int fd;

	(void)state;
	watch_of(&w, &fd, text3(1, 0, 0, 0, 0), "not a number\n", false);
	put(fd, text3(1, 2, 0, 0, 0));
	assert_int_equal(check(&w, S, false, &s), 1);
	assert_int_equal(s.rise[CT_DROP], 2);
	assert_int_equal(s.max, 0);
	put(fd, "entries drop early_drop insert_failed\n1 50 0 0\n"); /* one CPU */
	assert_int_equal(check(&w, 2 * S, false, &s), 0); /* starts anew: no rise */
	put(fd, "entries drop early_drop insert_failed\n1 53 0 0\n");
	assert_int_equal(check(&w, 12 * S, false, &s), 1);
	assert_int_equal(s.rise[CT_DROP], 5);
	put(fd, "entries drop early_drop\n1 53 0\n");
	assert_int_equal(check(&w, 13 * S, false, &s), -EBADMSG);
	assert_int_equal(w.fd, -1);
	assert_int_equal(check(&w, 14 * S, true, &s), 0);

	assert_int_equal(ctwatch__start(&w, -1, -1, 0, false), 0);
	assert_int_equal(check(&w, S, true, &s), 0);
	ctwatch__stop(&w);

	fd = file_of("not conntrack's\n");
	assert_int_equal(ctwatch__start(&w, fd, file_of("8\n"), 0, false), -EBADMSG);
	assert_int_equal(w.fd, -1); /* both closed, nothing watched */
	assert_int_equal(w.max_fd, -1);

	watch_of(&w, &fd, text3(1, 0, 0, 0, 0), NULL, false);
	put(fd, text3(1, 1, 0, 0, 0));
	assert_int_equal(check(&w, S, false, &s), 1);
	assert_int_equal(s.max, 0); /* no limit file */
	ctwatch__stop(&w);
}

/*
 * The totals grow a second at a time: one CPU's counter that rises by more
 * than 2^32 over the run, wrapping between readings, is counted whole.
 */
static void test_watch_long(void **state)
{
	uint64_t want = 0, at = 5;
	struct ct_said s;
	struct ctwatch w;
	char t[128];
	int fd;

	(void)state;
	watch_of(&w, &fd, "drop early_drop insert_failed\n5 0 0\n", NULL, false);
	for (int i = 1; i <= 6; i++) { /* 0xc0000000 a second: past 2^32 twice */
		at = (at + 0xc0000000ULL) & 0xffffffffULL;
		want += 0xc0000000ULL;
		snprintf(t, sizeof(t), "drop early_drop insert_failed\n%llx 0 0\n",
			 (unsigned long long)at);
		put(fd, t);
		assert_int_equal(check(&w, (uint64_t)i * S, i == 6, &s), i == 1 || i == 6);
	}
	assert_true(s.rise[CT_DROP] > 1ULL << 32);
	assert_int_equal(s.rise[CT_DROP], want);
	ctwatch__stop(&w);
}

/* A file found after natwho started (nf_conntrack loaded then): its
 * counters count whole, from 0. */
static void test_watch_from_zero(void **state)
{
	struct ct_said s;
	struct ctwatch w;
	int fd;

	(void)state;
	watch_of(&w, &fd, "drop early_drop insert_failed\n2 1 0\n3 0 0\n", NULL, true);
	assert_int_equal(check(&w, S, false, &s), 1);
	assert_int_equal(s.rise[CT_DROP], 5);
	assert_int_equal(s.rise[CT_EARLY_DROP], 1);
	ctwatch__stop(&w);
}

/*
 * The warning's words: each counter that rose, with the table's limit when
 * known; drops that may be failed insertions (a clash's dropped packet
 * counts in both, other failed insertions in insert_failed alone) said as
 * such, never subtracted; JSON mode puts it in a warning record.
 */
static void test_warning(void **state)
{
	const struct ct_said all = {
		.rise = { [CT_DROP] = 39, [CT_EARLY_DROP] = 1, [CT_INSERT_FAILED] = 2 },
		.entries = 262144, .max = 262144,
	};
	/* the entries not said without the limit */
	const struct ct_said one = { .rise = { [CT_INSERT_FAILED] = 1 }, .entries = 5 };
	const struct ct_said more_failed = { .rise = { [CT_DROP] = 1, [CT_INSERT_FAILED] = 5 } };
	static const char drops[] = "it could not track (table full, out of memory, or refused by "
				    "its protocol's tracker";
	static const char cannot[] = "natwho cannot show the connections they would have opened";
	static const char failed[] = "new entries at confirmation (clashing flows, as parallel DNS "
				     "queries over one socket: their packets dropped)";
	char *text = NULL, want[2048];
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	(void)state;
	assert_non_null(f);
	log__setup(f, 0);
	nw_warn_conntrack(4026532315U, &all);
	nw_warn_conntrack(7, &one);
	nw_warn_conntrack(7, &more_failed);
	fclose(f);
	log__setup(NULL, 0);
	snprintf(want, sizeof(want),
		 "{\"type\":\"warning\",\"warning\":\"network namespace 4026532315: since natwho "
		 "started, conntrack dropped 39 packets %s; 262144 entries now, "
		 "net.netfilter.nf_conntrack_max 262144): %s, but for up to 2 of them: the failed "
		 "insertions below; evicted 1 entry to make room in a full table (connections not "
		 "yet assured, cut); failed to insert 2 %s\"}\n"
		 "{\"type\":\"warning\",\"warning\":\"network namespace 7: since natwho started, "
		 "conntrack failed to insert 1 new entry at confirmation (clashing flows, as "
		 "parallel DNS queries over one socket: their packets dropped)\"}\n"
		 "{\"type\":\"warning\",\"warning\":\"network namespace 7: since natwho started, "
		 "conntrack dropped 1 packet %s): %s, but for up to 1 of them: the failed "
		 "insertions below; failed to insert 5 %s\"}\n",
		 drops, cannot, failed, drops, cannot, failed);
	assert_string_equal(text, want);
	free(text);
}

/* A file of exactly the size limit is read whole; one byte more, -EFBIG. */
static void test_read_limit(void **state)
{
	static const char head[] = "drop early_drop insert_failed\n1 2 3";
	size_t big = 4u << 20;
	char *text = malloc(big + 2), *buf = NULL;
	struct ctstat_sample s = { 0 };
	size_t cap = 0;
	int fd = memfd_create("ctstat", 0);

	(void)state;
	assert_non_null(text);
	assert_true(fd >= 0);
	memset(text, ' ', big + 1); /* blanks between fields are skipped */
	memcpy(text, head, sizeof(head) - 1);
	text[big - 1] = '\n';
	assert_int_equal(pwrite(fd, text, big, 0), (ssize_t)big);
	assert_int_equal(ctstat__read(fd, &buf, &cap, &s), 0);
	assert_int_equal(s.cpu[0][CT_INSERT_FAILED], 3);
	text[big - 1] = ' ';
	text[big] = '\n';
	assert_int_equal(pwrite(fd, text, big + 1, 0), (ssize_t)big + 1);
	assert_int_equal(ctstat__read(fd, &buf, &cap, &s), -EFBIG);
	ctstat__free(&s);
	free(buf);
	free(text);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_parse_cpus),
		cmocka_unit_test(test_rise),
		cmocka_unit_test(test_watch),
		cmocka_unit_test(test_watch_changes),
		cmocka_unit_test(test_watch_long),
		cmocka_unit_test(test_watch_from_zero),
		cmocka_unit_test(test_warning),
		cmocka_unit_test(test_read_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
