// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * `natwho -w`: what record.c writes reads back through replay.c with the
 * header natwho fills, the sources in order with the events (also the ones
 * given before the header), and the trailer's counts; write errors stick.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <cmocka.h>
#include "capfile.h"
#include "fixtures.h"
#include "log.h"
#include "opts.h"
#include "record.h"
#include "replay.h"

struct tmpfile {
	char path[64];
	int fd;
};

static void tmp_make(struct tmpfile *t)
{
	snprintf(t->path, sizeof(t->path), "/tmp/nw-test-record.XXXXXX");
	t->fd = mkstemp(t->path);
	assert_true(t->fd >= 0);
	close(t->fd);
}

static off_t file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

static const struct record_info info = {
	.backend = "netfilter",
	.filters = "--port 3306 --children",
	.start_ns = FIX_BOOT_NS + FIX_BOOT_TO_REAL,
	.boot_to_real_ns = FIX_BOOT_TO_REAL,
};

static void write_capture(const char *path)
{
	static const char ipt[] = "*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n";
	static const char snap[] = "{\"kind\":\"List\",\"items\":[]}";
	struct record *rec;
	char err[256];

	assert_int_equal(record__open(&rec, path, err, sizeof(err)), 0);
	/* Before the header: kept, written right after it. */
	assert_int_equal(record__source(rec, KSRC_IPTABLES_SAVE, "iptables-save", ipt,
					sizeof(ipt) - 1), 0);
	assert_int_equal(record__source(rec, KSRC_SNAPSHOT, "snapshot.json", snap,
					sizeof(snap) - 1), 0);
	assert_int_equal(record__begin(rec, &info, err, sizeof(err)), 0);
	for (int i = 0; i < FIX_COUNT; i++) {
		struct nw_event e;

		fix_event(i, &e);
		assert_int_equal(record__event(rec, &e, sizeof(e)), 0);
		if (i == 1) /* a ruleset reloaded while recording */
			assert_int_equal(record__source(rec, KSRC_IP6TABLES_SAVE, "ip6tables-save",
							ipt, sizeof(ipt) - 1), 0);
		assert_int_equal(record__tick(rec, 1000000000ULL * (i + 1)), 0);
	}
	assert_int_equal(record__event(rec, "short", 5), 0); /* undecodable, kept */
	assert_int_equal(record__events(rec), FIX_COUNT + 1);
	/* Refused sources leave the file good. */
	assert_int_equal(record__source(rec, KSRC_KIND_MAX, "x", "", 0), -EINVAL);
	assert_int_equal(record__source(rec, KSRC_NFT_JSON, "", "", 0), -EINVAL);
	assert_int_equal(record__error(rec), 0);
	{
		struct cap_trailer t = { .lost = 7, .undecodable = 1,
					 .end_ns = FIX_BOOT_NS + FIX_BOOT_TO_REAL + 3000000000ULL,
					 .join = true, .join_missed = 4 };

		assert_int_equal(record__close(rec, &t, err, sizeof(err)), 0);
	}
}

struct seen {
	char seq[32];
	int n;
	uint32_t kinds[4];
	int nkinds;
};

static int on_source(void *ctx, uint32_t kind, const char *name, const void *data, size_t len)
{
	struct seen *s = ctx;
	enum ksrc_kind k;

	(void)data;
	(void)len;
	assert_int_equal(record__ksrc_kind(kind, &k), 0);
	s->kinds[s->nkinds++] = k;
	s->seq[s->n++] = name[0];
	return 0;
}

static bool on_conn(void *ctx, struct conn *c)
{
	struct seen *s = ctx;

	s->seq[s->n++] = '0' + (c->ts_ns - FIX_BOOT_NS - FIX_BOOT_TO_REAL) / 1234567;
	return true;
}

/* The header's filters: CMD's words as a shell reads them back. */
static void test_filters_cmd(void **state)
{
	char *cmd[] = { "sh", "-c", "for i in 1 2; do echo 'x'; done", "", "a.b/c-d=1,e:f@g%+_",
			NULL };
	struct nw_opts o = { .cmd = cmd };
	char buf[RECORD_FILTERS_MAX];

	(void)state;
	record__filters(&o, buf, sizeof(buf));
	assert_string_equal(buf, "--children -- sh -c 'for i in 1 2; do echo '\\''x'\\''; done' '' "
				 "a.b/c-d=1,e:f@g%+_");
	o.no_children = true;
	cmd[2] = "$HOME";
	record__filters(&o, buf, sizeof(buf));
	assert_string_equal(buf, "--no-children -- sh -c '$HOME' '' a.b/c-d=1,e:f@g%+_");
}

static void test_roundtrip(void **state)
{
	struct seen s = { .n = 0 };
	struct replay_opts o = { .output = OUT_JSON, .on_source = on_source, .on_conn = on_conn,
				 .ctx = &s };
	struct replay_result res;
	struct tmpfile t;
	char err[512], *out, host[256] = "";
	size_t out_len;
	struct utsname u;
	int fd;

	(void)state;
	tmp_make(&t);
	write_capture(t.path);
	o.out = open_memstream(&out, &out_len);
	o.text_f = stderr;
	log__setup(o.out, 0); /* warnings as JSON records, after the summary */
	assert_int_equal(replay__file(t.path, &o, &res, err, sizeof(err)), NW_EXIT_OK);
	log__setup(NULL, 0);
	fclose(o.out);
	assert_string_equal(s.seq, "is01i2345");
	assert_int_equal(s.kinds[0], KSRC_IPTABLES_SAVE);
	assert_int_equal(s.kinds[1], KSRC_SNAPSHOT);
	assert_int_equal(s.kinds[2], KSRC_IP6TABLES_SAVE);
	assert_int_equal(res.events, FIX_COUNT + 1);
	assert_int_equal(res.undecodable, 1);
	assert_int_equal(res.shown, FIX_COUNT);
	assert_non_null(strstr(out, "\"type\":\"summary\",\"schema\":1,\"backend\":\"netfilter\","
				    "\"events\":6,\"lost\":7,\"undecodable\":1,"
				    "\"join_missed\":4,\"duration_s\":3.000000}"));
	/* the one record that did not decode, named once; the 7 lost too */
	/* the header's version is one this natwho decodes: the record is bad */
	assert_non_null(strstr(out, "1 event could not be decoded: its record does not fit event "
				    "version "));
	assert_non_null(strstr(out, "which the header names and this natwho decodes: the capture "
				    "is damaged"));
	assert_non_null(strstr(out, "7 events were lost while recording"));
	free(out);

	/* The header natwho wrote. */
	{
		struct capr *r;
		const struct cap_header *h;

		fd = open(t.path, O_RDONLY);
		assert_int_equal(capr__open(&r, fd, err, sizeof(err)), 0);
		h = capr__header(r);
		gethostname(host, sizeof(host) - 1);
		uname(&u);
		assert_string_equal(h->hostname, host);
		assert_string_equal(h->kernel, u.release);
		assert_string_equal(h->natwho_version, NATWHO_VERSION);
		assert_string_equal(h->backend, "netfilter");
		assert_string_equal(h->filters, "--port 3306 --children");
		assert_int_equal(h->start_ns, info.start_ns);
		assert_int_equal(h->boot_to_real_ns, FIX_BOOT_TO_REAL);
		capr__close(r);
		close(fd);
	}
	unlink(t.path);
}

static void test_kinds(void **state)
{
	enum ksrc_kind k;

	(void)state;
	for (int i = 0; i < KSRC_KIND_MAX; i++) {
		uint32_t cap = record__cap_kind(i);

		assert_true(cap >= 1 && cap <= 7);
		assert_int_equal(record__ksrc_kind(cap, &k), 0);
		assert_int_equal(k, i);
	}
	assert_int_equal(record__cap_kind(KSRC_IPTABLES_SAVE), CAP_SRC_IPTABLES_SAVE);
	assert_int_equal(record__cap_kind(KSRC_NFT_JSON), CAP_SRC_NFT_JSON);
	assert_int_equal(record__cap_kind(KSRC_SNAPSHOT), CAP_SRC_K8S_JSON);
	assert_int_equal(record__cap_kind(KSRC_IPVS), CAP_SRC_IPVS);
	assert_int_equal(record__ksrc_kind(8, &k), -ENOENT);
	assert_int_equal(record__ksrc_kind(0, &k), -ENOENT);
}

/* A full disk: the header fails, later calls repeat it, close frees. */
static void test_write_error(void **state)
{
	struct record *rec;
	char err[256] = "";
	struct nw_event e;

	(void)state;
	fix_event(FIX_INCIDENT_V4, &e);
	assert_int_equal(record__open(&rec, "/dev/full", err, sizeof(err)), 0);
	assert_int_equal(record__begin(rec, &info, err, sizeof(err)), -ENOSPC);
	assert_non_null(strstr(err, "No space left on device"));
	assert_int_equal(record__event(rec, &e, sizeof(e)), -ENOSPC);
	assert_int_equal(record__source(rec, KSRC_NFT_JSON, "nft", "{}", 2), -ENOSPC);
	assert_int_equal(record__tick(rec, 1), -ENOSPC);
	assert_int_equal(record__error(rec), -ENOSPC);
	assert_int_equal(record__close(rec, NULL, err, sizeof(err)), -ENOSPC);
	assert_string_equal(err, "writing capture file '/dev/full': No space left on device");

	assert_int_equal(record__open(&rec, "/nonexistent/dir/cap", err, sizeof(err)), -ENOENT);
	assert_null(rec);
	assert_string_equal(err, "cannot create capture file '/nonexistent/dir/cap': "
				 "No such file or directory");
	assert_int_equal(record__close(NULL, NULL, err, sizeof(err)), 0);
}

/* Flushes are spaced by the interval; the poll timeout shortens meanwhile. */
static void test_tick(void **state)
{
	struct record *rec;
	struct tmpfile t;
	char err[256];
	struct nw_event e;
	off_t size;

	(void)state;
	tmp_make(&t);
	fix_event(FIX_INCIDENT_V4, &e);
	assert_int_equal(record__open(&rec, t.path, err, sizeof(err)), 0);
	assert_int_equal(record__poll_ms(rec, 100), 100);
	assert_int_equal(record__begin(rec, &info, err, sizeof(err)), 0);
	assert_int_equal(record__poll_ms(rec, 100), 100);
	assert_int_equal(record__event(rec, &e, sizeof(e)), 0);
	assert_int_equal(record__poll_ms(rec, 100), 10);
	assert_int_equal(record__poll_ms(rec, 5), 5);
	assert_int_equal(record__tick(rec, CAPW_FLUSH_INTERVAL_NS), 0); /* flushes */
	assert_int_equal(record__poll_ms(rec, 100), 100);
	size = file_size(t.path);
	assert_int_equal(record__event(rec, &e, sizeof(e)), 0);
	assert_int_equal(record__tick(rec, CAPW_FLUSH_INTERVAL_NS + 1), 0); /* too soon */
	assert_int_equal(file_size(t.path), size);
	assert_int_equal(record__tick(rec, 2 * CAPW_FLUSH_INTERVAL_NS), 0);
	assert_true(file_size(t.path) > size);
	assert_int_equal(record__close(rec, NULL, err, sizeof(err)), 0);
	unlink(t.path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_filters_cmd),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_kinds),
		cmocka_unit_test(test_write_error),
		cmocka_unit_test(test_tick),
	};

	log__setup(NULL, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
