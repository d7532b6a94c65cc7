// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * `natwho -r`: the userspace filter against the kernel's semantics, golden
 * replays of the capture fixtures (tests/fixtures/capfile), every bad-input
 * fixture's error and offset, and the verdict of `natwho -- CMD`.
 * Run from the repository root (tests/run.sh does).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include "capfile.h"
#include "filter.h"
#include "fixtures.h"
#include "golden.h"
#include "log.h"
#include "parse.h"
#include "replay.h"
#include "verdict.h"

#define FIXDIR "tests/fixtures/capfile/"

/* ------------------------------------------------------- filter vs kernel */

static bool has_ports(uint8_t proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP ||
	       proto == IPPROTO_UDPLITE || proto == IPPROTO_DCCP;
}

/* @a's first p->len bits are the prefix's, bit by bit (not prefix_has()'s
 * masks: a model of its own). */
static bool in_prefix_bits(const struct nw_prefix *p, uint8_t family, const uint8_t *a)
{
	const uint8_t *pa = (const uint8_t *)p->addr;

	if (p->family != family)
		return false;
	for (int b = 0; b < p->len; b++)
		if (((a[b / 8] ^ pa[b / 8]) >> (7 - b % 8)) & 1)
			return false;
	return true;
}

/*
 * nw_emit()'s filter (bpf/common.bpf.h), line for line, on what the kernel
 * sees: the conntrack tuples, the current task (@task_ok, @cur_tgid) and,
 * with filter.cgroup, the join record (@joined, @who_tgid).
 */
static bool kernel_emits(const struct nw_filter *f, const struct nw_event *e, bool task_ok,
			 uint32_t cur_tgid, bool joined, uint32_t who_tgid)
{
	if (f->family && f->family != e->family)
		return false;
	if (f->proto && f->proto != e->proto)
		return false;
	if (f->netns && f->netns != e->netns)
		return false;
	if (f->tgid && !f->cgroup && (!task_ok || f->tgid != cur_tgid))
		return false;
	if (f->nports) {
		bool hit = false;

		if (!has_ports(e->proto))
			return false;
		for (int i = 0; i < f->nports; i++)
			hit |= f->ports[i] == e->orig.dport || f->ports[i] == e->reply.sport;
		if (!hit)
			return false;
	}
	if (f->naddrs) {
		bool hit = false;

		for (int i = 0; i < f->naddrs; i++)
			hit |= in_prefix_bits(&f->addrs[i], e->family, e->orig.src) ||
			       in_prefix_bits(&f->addrs[i], e->family, e->orig.dst) ||
			       in_prefix_bits(&f->addrs[i], e->family, e->reply.src) ||
			       in_prefix_bits(&f->addrs[i], e->family, e->reply.dst);
		if (!hit)
			return false;
	}
	if (f->cgroup) {
		if (!joined)
			return false;
		if (f->tgid && f->tgid != who_tgid)
			return false;
	}
	return true;
}

static uint32_t pick(unsigned *seed, const uint32_t *set, int n)
{
	return set[rand_r(seed) % n];
}

/* Each of the tuples' four addresses one of a few of the event's family. */
static void random_addrs(unsigned *seed, struct nw_event *e)
{
	static const char *const v4[] = { "10.96.0.20", "10.224.0.222", "10.224.1.5",
					  "192.168.1.1" };
	static const char *const v6[] = { "fd00:96::20", "fd00:224::222", "fd00:224::1:5",
					  "2001:db8::1" };
	uint8_t *at[] = { e->orig.src, e->orig.dst, e->reply.src, e->reply.dst };

	for (int i = 0; i < 4; i++) {
		memset(at[i], 0, 16);
		assert_int_equal(inet_pton(e->family, e->family == AF_INET ? v4[rand_r(seed) % 4] :
									      v6[rand_r(seed) % 4],
					   at[i]),
				 1);
	}
}

/* A random event as nw_emit() would have filled it under @cgroup. */
static void random_event(unsigned *seed, bool cgroup, struct nw_event *e, bool *task_ok,
			 uint32_t *cur_tgid, bool *joined, uint32_t *who_tgid)
{
	static const uint32_t protos[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP, IPPROTO_ICMP,
					   IPPROTO_GRE, IPPROTO_ICMPV6 };
	static const uint32_t ports[] = { 53, 80, 3306, 8080 };
	static const uint32_t tgids[] = { 100, 200 };

	fix_event(FIX_INCIDENT_V4, e);
	e->flags = NW_EF_MARK | NW_EF_ZONE;
	e->family = rand_r(seed) % 2 ? AF_INET6 : AF_INET;
	e->proto = (uint8_t)pick(seed, protos, 6);
	e->netns = 1 + rand_r(seed) % 2;
	random_addrs(seed, e);
	*task_ok = rand_r(seed) % 2;
	*cur_tgid = pick(seed, tgids, 2);
	*joined = cgroup && rand_r(seed) % 4;
	*who_tgid = rand_r(seed) % 3 ? pick(seed, tgids, 2) : 0;
	if (has_ports(e->proto)) {
		e->orig.dport = (uint16_t)pick(seed, ports, 4);
		e->reply.sport = rand_r(seed) % 2 ? e->orig.dport : (uint16_t)pick(seed, ports, 4);
	} else {
		e->orig.sport = e->orig.dport = e->reply.sport = e->reply.dport = 0;
	}
	e->pid = e->tgid = 0;
	if (cgroup && *joined) {
		e->tgid = e->pid = *who_tgid;
		e->flags |= NW_EF_JOINED | (*who_tgid ? NW_EF_TASK : 0);
	} else if (!cgroup && *task_ok) {
		e->tgid = e->pid = *cur_tgid;
		e->flags |= NW_EF_TASK;
	}
}

static void random_filter(unsigned *seed, bool cgroup, struct nw_filter *f)
{
	static const uint32_t ports[] = { 53, 80, 3306, 8080, 9999 };
	static const uint32_t protos[] = { 0, 0, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP };
	static const uint32_t families[] = { 0, 0, AF_INET, AF_INET6 };
	static const uint32_t tgids[] = { 0, 0, 100, 200 };
	static const char *const prefixes[] = { "10.96.0.20", "10.224.0.0/16", "10.224.1.0/24",
						"0.0.0.0/0", "fd00:224::/32", "fd00:96::20",
						"::/0", "192.168.0.0/16" };

	memset(f, 0, sizeof(*f));
	f->cgroup = cgroup;
	f->family = (uint8_t)pick(seed, families, 4);
	f->proto = (uint8_t)pick(seed, protos, 5);
	f->netns = rand_r(seed) % 3;
	f->tgid = pick(seed, tgids, 4);
	f->nports = rand_r(seed) % 3;
	for (int i = 0; i < f->nports; i++)
		f->ports[i] = (uint16_t)pick(seed, ports, 5);
	f->naddrs = rand_r(seed) % 4 ? 0 : 1 + rand_r(seed) % 2;
	for (int i = 0; i < f->naddrs; i++)
		assert_int_equal(parse_prefix(prefixes[rand_r(seed) % 8], &f->addrs[i]), 0);
}

/*
 * Whatever the kernel emitted under filter K, the userspace filter U gives
 * the same answer as the kernel would have under U: so `-r --port X` shows
 * what a live `--port X` would have.
 */
static void test_filter_kernel_semantics(void **state)
{
	unsigned seed = 5;
	int compared = 0, passed = 0;

	(void)state;
	for (int i = 0; i < 200000; i++) {
		bool cgroup = i % 2, task_ok, joined;
		uint32_t cur_tgid, who_tgid;
		struct nw_filter f;
		struct nw_event e;
		struct conn c;

		random_event(&seed, cgroup, &e, &task_ok, &cur_tgid, &joined, &who_tgid);
		random_filter(&seed, cgroup, &f);
		/* Only events the recording (same cgroup mode, no other filter) had. */
		if (cgroup && !joined)
			continue;
		assert_int_equal(conn__decode(&e, sizeof(e), 0, "netfilter", &c), 0);
		if (filter__match(&f, &c) != kernel_emits(&f, &e, task_ok, cur_tgid, joined,
							  who_tgid))
			fail_msg("iteration %d: filter__match disagrees with nw_emit", i);
		compared++;
		passed += filter__match(&f, &c);
	}
	/* Both outcomes were exercised, plenty of times. */
	assert_true(compared > 100000);
	assert_true(passed > 5000 && passed < compared - 5000);
}

static bool match_fix(enum fixture fx, const struct nw_filter *f)
{
	struct nw_event e;
	struct conn c;

	fix_event(fx, &e);
	assert_int_equal(conn__decode(&e, sizeof(e), 0, "netfilter", &c), 0);
	return filter__match(f, &c);
}

static void test_filter_cases(void **state)
{
	struct nw_filter f = { 0 };

	(void)state;
	assert_false(filter__active(&f));
	for (int i = 0; i < FIX_COUNT; i++)
		assert_true(match_fix(i, &f));
	/* --port matches the original or the translated destination port. */
	f = (struct nw_filter){ .nports = 1, .ports = { 3306 } };
	assert_true(filter__active(&f));
	assert_true(match_fix(FIX_INCIDENT_V4, &f));
	assert_false(match_fix(FIX_FORWARDED_UDP, &f));
	assert_false(match_fix(FIX_ICMP, &f)); /* no ports at all */
	f.ports[0] = 443;
	assert_true(match_fix(FIX_MASQUERADE, &f));
	/* --pid needs a local process: forwarded connections never match. */
	f = (struct nw_filter){ .tgid = 4242 };
	assert_true(match_fix(FIX_INCIDENT_V4, &f));
	assert_false(match_fix(FIX_FORWARDED_UDP, &f));
	f.tgid = 4301; /* a thread id, not the process */
	assert_false(match_fix(FIX_INCIDENT_V6, &f));
	f = (struct nw_filter){ .family = AF_INET6 };
	assert_true(match_fix(FIX_INCIDENT_V6, &f));
	assert_false(match_fix(FIX_INCIDENT_V4, &f));
	f = (struct nw_filter){ .proto = IPPROTO_UDP, .netns = 4026532123u };
	assert_true(match_fix(FIX_FORWARDED_UDP, &f));
	f.netns = 1;
	assert_false(match_fix(FIX_FORWARDED_UDP, &f));
	/* --addr: either end, before or after NAT, by family */
	f = (struct nw_filter){ .naddrs = 1 };
	assert_int_equal(parse_prefix("10.224.0.222", &f.addrs[0]), 0); /* landed */
	assert_true(filter__active(&f));
	assert_true(match_fix(FIX_INCIDENT_V4, &f));
	assert_false(match_fix(FIX_FORWARDED_UDP, &f));
	assert_false(match_fix(FIX_INCIDENT_V6, &f));
	assert_int_equal(parse_prefix("10.96.0.10", &f.addrs[0]), 0); /* original dst */
	assert_true(match_fix(FIX_FORWARDED_UDP, &f));
	assert_false(match_fix(FIX_INCIDENT_V4, &f));
	assert_int_equal(parse_prefix("192.0.2.0/24", &f.addrs[0]), 0);
	assert_true(match_fix(FIX_MASQUERADE, &f));
	assert_false(match_fix(FIX_NO_NAT, &f));
	f.naddrs = 2;
	assert_int_equal(parse_prefix("fd00:224::/32", &f.addrs[1]), 0);
	assert_true(match_fix(FIX_INCIDENT_V6, &f));
	assert_true(match_fix(FIX_MASQUERADE, &f));
	assert_false(match_fix(FIX_INCIDENT_V4, &f));
	/* the source rewritten by SNAT (reply.dst) */
	{
		struct nw_event e;
		struct conn c;
		char want[INET_ADDRSTRLEN];

		fix_event(FIX_MASQUERADE, &e);
		assert_non_null(inet_ntop(AF_INET, e.reply.dst, want, sizeof(want)));
		assert_string_not_equal(want, "10.224.1.5");
		f.naddrs = 1;
		assert_int_equal(parse_prefix(want, &f.addrs[0]), 0);
		assert_int_equal(conn__decode(&e, sizeof(e), 0, "netfilter", &c), 0);
		assert_true(filter__match(&f, &c));
	}
	/* --cgroup: joined records only. */
	f = (struct nw_filter){ .cgroup = 1 };
	assert_false(match_fix(FIX_INCIDENT_V4, &f));
}

static void test_filter_format(void **state)
{
	struct nw_filter f = { .nports = 2, .ports = { 3306, 80 }, .proto = IPPROTO_TCP,
			       .family = AF_INET6, .tgid = 42, .netns = 4026531840u };
	char buf[256], small[8];
	int n;

	(void)state;
	n = filter__format(&f, buf, sizeof(buf));

	assert_int_equal(n, strlen(buf));
	assert_string_equal(buf, "--port 3306,80 --proto tcp -6 --pid 42 --netns 4026531840");
	assert_int_equal(filter__format(&f, small, sizeof(small)), strlen(buf));
	assert_string_equal(small, "--port ");
	f = (struct nw_filter){ .nports = 1, .ports = { 53 }, .naddrs = 3 };
	assert_int_equal(parse_prefix("10.96.0.0/12", &f.addrs[0]), 0);
	assert_int_equal(parse_prefix("fd00::1", &f.addrs[1]), 0);
	assert_int_equal(parse_prefix("10.224.0.222", &f.addrs[2]), 0);
	n = filter__format(&f, buf, sizeof(buf));
	assert_int_equal(n, strlen(buf));
	assert_string_equal(buf, "--port 53 --addr 10.96.0.0/12,fd00::1,10.224.0.222");
	f = (struct nw_filter){ .proto = 132, .family = AF_INET };
	filter__format(&f, buf, sizeof(buf));
	assert_string_equal(buf, "--proto sctp -4");
	f = (struct nw_filter){ .proto = 200 };
	filter__format(&f, buf, sizeof(buf));
	assert_string_equal(buf, "--proto 200");
	f = (struct nw_filter){ 0 };
	assert_int_equal(filter__format(&f, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
}

/* ---------------------------------------------------------------- replays */

struct run {
	char *out, *text; /* stdout, stderr */
	size_t out_len, text_len;
	struct replay_result res;
	char err[512];
	int rc;
};

static void replay_fd(int fd, struct replay_opts *o, struct run *r)
{
	FILE *out = open_memstream(&r->out, &r->out_len);
	FILE *text = open_memstream(&r->text, &r->text_len);

	assert_non_null(out);
	assert_non_null(text);
	o->out = out;
	o->text_f = text;
	r->err[0] = '\0';
	r->rc = replay__fd(fd, "capture", o, &r->res, r->err, sizeof(r->err));
	fclose(out);
	fclose(text);
}

static void replay_fixture(const char *name, struct replay_opts *o, struct run *r)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), FIXDIR "%s", name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		fail_msg("cannot open %s (run from the repository root)", path);
	replay_fd(fd, o, r);
	close(fd);
}

static void run_free(struct run *r)
{
	free(r->out);
	free(r->text);
}

static void test_golden_text(void **state)
{
	struct replay_opts o = { .output = OUT_TEXT, .utc = true };
	struct run r;

	(void)state;
	replay_fixture("v1.0-incident.nwcap", &o, &r);
	assert_int_equal(r.rc, NW_EXIT_OK);
	golden_check("replay-incident.txt", r.out, r.out_len);
	golden_check("replay-incident.stderr", r.text, r.text_len);
	assert_int_equal(r.res.events, 5);
	assert_int_equal(r.res.shown, 5);
	assert_int_equal(r.res.sources, 3);
	assert_true(r.res.trailer);
	run_free(&r);
}

static void test_golden_json(void **state)
{
	struct replay_opts o = { .output = OUT_JSON };
	struct run r;

	(void)state;
	replay_fixture("v1.0-incident.nwcap", &o, &r);
	assert_int_equal(r.rc, NW_EXIT_OK);
	golden_check("replay-incident.json", r.out, r.out_len);
	assert_int_equal(r.text_len, 0); /* JSON mode: nothing on stderr */
	run_free(&r);
}

/* Filters and --count apply in userspace; -q leaves the summary only. */
static void test_golden_filtered(void **state)
{
	struct replay_opts o = { .output = OUT_JSON, .filter = { .family = AF_INET6 } };
	struct run r;

	(void)state;
	replay_fixture("v1.0-incident.nwcap", &o, &r);
	assert_int_equal(r.rc, NW_EXIT_OK);
	golden_check("replay-filtered.json", r.out, r.out_len);
	assert_int_equal(r.res.shown, 1);
	run_free(&r);

	o = (struct replay_opts){ .output = OUT_TEXT, .utc = true, .count = 2,
				  .filter = { .proto = IPPROTO_TCP } };
	replay_fixture("v1.0-incident.nwcap", &o, &r);
	assert_int_equal(r.rc, NW_EXIT_OK);
	assert_int_equal(r.res.shown, 2);
	/* a file is read on to its trailer for what the recording lost; the
	 * summary's span is the events shown */
	assert_true(r.res.trailer);
	golden_check("replay-count.txt", r.out, r.out_len);
	assert_non_null(strstr(r.text, "natwho: 2 events, 3 lost, 0 undecodable in 1.5s"));
	run_free(&r);

	/* reading on finds the damage a full replay would: the events asked
	 * for are shown, then exit 5 as for any damaged capture */
	o = (struct replay_opts){ .output = OUT_TEXT, .utc = true, .count = 1 };
	replay_fixture("v1.0-corrupt-crc.nwcap", &o, &r);
	assert_int_equal(r.rc, NW_EXIT_BADINPUT);
	assert_int_equal(r.res.shown, 1);
	assert_false(r.res.trailer);
	run_free(&r);

	o = (struct replay_opts){ .output = OUT_TEXT, .quiet = true };
	{ /* the recording's losses are warned about, as live */
		char *warned = NULL;
		size_t warned_len = 0;
		FILE *log = open_memstream(&warned, &warned_len);

		assert_non_null(log);
		log__setup(log, 0);
		replay_fixture("v1.0-incident.nwcap", &o, &r);
		log__setup(NULL, 0);
		fclose(log);
		assert_non_null(strstr(warned, "3 events were lost while recording (the capture "
					       "keeps how many, not why; the usual cause, a full "
					       "ring buffer: raise --ringbuf-size)"));
		free(warned);
	}
	assert_int_equal(r.out_len, 0);
	assert_non_null(strstr(r.text, "natwho: 5 events, 3 lost, 0 undecodable in 5.0s"));
	run_free(&r);
}

/* Sources reach the callback in recorded order, between their events. */
struct order {
	char seq[64];
	int n;
};

static int on_source(void *ctx, uint32_t kind, const char *name, const void *data, size_t len)
{
	struct order *ord = ctx;

	assert_true(len > 0 && data);
	assert_true(kind == 1 || kind == 3);
	ord->seq[ord->n++] = name[0]; /* 'i'ptables-save, 'k'ubectl */
	return kind == 3 ? -EINVAL : 0; /* a refused source is a warning only */
}

static bool on_conn(void *ctx, struct conn *c)
{
	struct order *ord = ctx;

	ord->seq[ord->n++] = c->family == AF_INET6 ? '6' : '4';
	return c->family == AF_INET; /* hides the IPv6 one */
}

static void test_sources_in_order(void **state)
{
	struct order ord = { .n = 0 };
	struct replay_opts o = { .output = OUT_JSON, .on_source = on_source, .on_conn = on_conn,
				 .ctx = &ord, .quiet = true };
	struct run r;

	(void)state;
	replay_fixture("v1.0-incident.nwcap", &o, &r);
	assert_int_equal(r.rc, NW_EXIT_OK);
	assert_string_equal(ord.seq, "ik464i44");
	assert_int_equal(r.res.shown, 4);
	run_free(&r);
}

/* A source of a kind this natwho does not know (a newer one's): skipped
 * with a warning that says so, the replay goes on. */
static int on_source_unknown(void *ctx, uint32_t kind, const char *name, const void *data,
			     size_t len)
{
	(void)ctx, (void)name, (void)data, (void)len;
	return kind == 3 ? -EPROTONOSUPPORT : 0;
}

static void test_source_unknown_kind(void **state)
{
	struct replay_opts o = { .output = OUT_JSON, .on_source = on_source_unknown, .quiet = true };
	char *warned = NULL;
	size_t warned_len = 0;
	FILE *log = open_memstream(&warned, &warned_len);
	struct run r;

	(void)state;
	assert_non_null(log);
	log__setup(log, 0);
	replay_fixture("v1.0-incident.nwcap", &o, &r);
	log__setup(NULL, 0);
	fclose(log);
	assert_int_equal(r.rc, NW_EXIT_OK);
	assert_int_equal(r.res.shown, 5);
	assert_non_null(strstr(warned, "in the capture not used: kind 3 is not one this natwho "
				       "knows (skipped)"));
	free(warned);
	run_free(&r);
}

/* Replay @fd from its start with --count @count, JSON, warnings into the
 * same stream as the records (as live); the output in *@out (free it). */
static void replay_notes(int fd, uint64_t count, char **out)
{
	struct replay_opts o = { .output = OUT_JSON, .count = count };
	struct replay_result res;
	char err[512] = "", *text = NULL;
	size_t out_len = 0, text_len = 0;

	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	o.out = open_memstream(out, &out_len);
	o.text_f = open_memstream(&text, &text_len);
	assert_non_null(o.out);
	assert_non_null(o.text_f);
	log__setup(o.out, 0);
	assert_int_equal(replay__fd(fd, "capture", &o, &res, err, sizeof(err)), NW_EXIT_OK);
	log__setup(NULL, 0);
	fclose(o.out);
	fclose(o.text_f);
	free(text);
}

/* How many times @needle is in @s. */
static int count_of(const char *s, const char *needle)
{
	int n = 0;

	for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* What a replay says of a malformed note, and where its summary starts. */
static const char note_malformed[] = "a note in the capture at uncompressed offset ";
static const char note_summary[] = "{\"type\":\"summary\"";

/* A capture in a memfd (returned) with header @h, its first record an
 * event (*@ev, the incident's IPv4 connection); more to be written with *@w. */
static int notes_capture(const struct cap_header *h, struct capw **w, struct nw_event *ev)
{
	char err[512] = "";
	int fd = memfd_create("notes", 0);

	fix_event(FIX_INCIDENT_V4, ev);
	assert_true(fd >= 0);
	assert_int_equal(capw__open(w, fd, h, err, sizeof(err)), 0);
	assert_int_equal(capw__event(*w, ev, sizeof(*ev)), 0);
	return fd;
}

/*
 * What natwho said while recording (notes) is said again: in the stream
 * where it was said, or after the summary when it was said at the stop;
 * once per family, as live; a note of a kind this natwho does not know is
 * skipped, a malformed one warned about.  With -c the replay reads on to
 * the trailer: the warning said at the stop is still said, after the
 * summary; those said after the -c-th record are not.  Warnings and records
 * share the JSON stream, as live.
 */
static void test_notes_replayed(void **state)
{
	static const struct cap_header h = { .backend = "netfilter", .start_ns = 1 };
	const struct cap_untracked v6 = { .netns = 4026532315U, .family = 1, .syns = 2 };
	const struct cap_untracked v6_again = { .netns = 4026532315U, .family = 1, .syns = 5 };
	const struct cap_untracked v4 = { .netns = 4026532315U, .syns = 1, .at_stop = true };
	/* netns, family 2 (none), syns, flags */
	static const unsigned char bad[20] = { 1, 0, 0, 0, 2, 0, 0, 0, 1 };
	static const char w6[] = "network namespace 4026532315: 2 IPv6 TCP SYNs passed with no "
				 "conntrack entry and no IPv6 connection was tracked";
	static const char w4[] = "network namespace 4026532315: 1 IPv4 TCP SYN passed with no "
				 "conntrack entry and no IPv4 connection was tracked";
	struct cap_trailer t = { .end_ns = 2 };
	struct nw_event ev;
	char *out = NULL;
	struct capw *w;
	int fd;

	(void)state;
	fd = notes_capture(&h, &w, &ev);
	assert_int_equal(capw__untracked(w, &v6), 0);
	assert_int_equal(capw__untracked(w, &v6_again), 0); /* live never says it twice */
	assert_int_equal(capw__event(w, &ev, sizeof(ev)), 0);
	assert_int_equal(capw__note(w, 99, "later", 5), 0);
	assert_int_equal(capw__note(w, CAP_NOTE_UNTRACKED, bad, sizeof(bad)), 0);
	assert_int_equal(capw__untracked(w, &v4), 0);
	assert_int_equal(capw__close(w, &t), 0);

	replay_notes(fd, 0, &out);
	assert_non_null(strstr(out, note_summary));
	assert_int_equal(count_of(out, w6), 1);
	assert_int_equal(count_of(out, "IPv6 TCP SYN"), 1);
	assert_int_equal(count_of(out, w4), 1);
	assert_int_equal(count_of(out, note_malformed), 1);
	assert_true(strstr(out, w6) < strstr(out, note_summary)); /* where it was said */
	assert_true(strstr(out, note_malformed) < strstr(out, note_summary));
	assert_true(strstr(out, w4) > strstr(out, note_summary)); /* at the stop: after the summary */
	assert_null(strstr(out, "later"));
	free(out);

	replay_notes(fd, 1, &out); /* -c 1: the first event shown */
	assert_int_equal(count_of(out, "\"type\":\"conn\""), 1);
	assert_int_equal(count_of(out, "IPv6 TCP SYN"), 0); /* said after it */
	assert_int_equal(count_of(out, w4), 1);
	assert_true(strstr(out, w4) > strstr(out, note_summary));
	free(out);
	close(fd);
}

/*
 * The conntrack note (minor 3): each one said where it was said, as live
 * says each rise; the one said at the stop after the summary, also when -c
 * ended the replay; one that says no counter rose is warned about.
 */
static void test_conntrack_notes_replayed(void **state)
{
	static const struct cap_header h = { .backend = "fentry", .start_ns = 1 };
	const struct cap_conntrack first = { .netns = 9,
					     .said = { .rise = { [CT_DROP] = 1 }, .entries = 8, .max = 8 } };
	const struct cap_conntrack later = { .netns = 9,
					     .said = { .rise = { [CT_DROP] = 4 }, .entries = 8, .max = 8 } };
	const struct cap_conntrack stop = { .netns = 9, .at_stop = true,
					    .said = { .rise = { [CT_DROP] = 6 }, .entries = 8, .max = 8 } };
	const struct cap_conntrack none = { .netns = 9 };
	static const char w1[] = "network namespace 9: since natwho started, conntrack dropped 1 "
				 "packet it could not track (table full, out of memory, or "
				 "refused by its protocol's tracker; 8 entries now, "
				 "net.netfilter.nf_conntrack_max 8)";
	static const char w4[] = "conntrack dropped 4 packets";
	static const char w6[] = "conntrack dropped 6 packets";
	struct cap_trailer t = { .end_ns = 2 };
	struct nw_event ev;
	char *out = NULL;
	struct capw *w;
	int fd;

	(void)state;
	fd = notes_capture(&h, &w, &ev);
	assert_int_equal(capw__conntrack(w, &first), 0);
	assert_int_equal(capw__event(w, &ev, sizeof(ev)), 0);
	assert_int_equal(capw__conntrack(w, &later), 0);
	assert_int_equal(capw__conntrack(w, &none), 0);
	assert_int_equal(capw__conntrack(w, &stop), 0);
	assert_int_equal(capw__close(w, &t), 0);

	replay_notes(fd, 0, &out);
	assert_int_equal(count_of(out, w1), 1);
	assert_int_equal(count_of(out, w4), 1);
	assert_int_equal(count_of(out, w6), 1);
	assert_int_equal(count_of(out, note_malformed), 1);
	assert_true(strstr(out, w1) < strstr(out, w4));
	assert_true(strstr(out, w4) < strstr(out, note_summary));
	assert_true(strstr(out, w6) > strstr(out, note_summary)); /* at the stop: after the summary */
	free(out);

	replay_notes(fd, 1, &out); /* -c 1: the first event shown */
	assert_int_equal(count_of(out, "\"type\":\"conn\""), 1);
	assert_int_equal(count_of(out, w1), 0); /* said after it */
	assert_int_equal(count_of(out, w4), 0);
	assert_int_equal(count_of(out, w6), 1);
	assert_true(strstr(out, w6) > strstr(out, note_summary));
	free(out);
	close(fd);
}

/* A signal stops the replay with the summary; the caller's counts show. */
static void test_stop_and_stats(void **state)
{
	volatile sig_atomic_t stop = SIGINT;
	struct nw_stats st = { .mismatches = 2, .hidden = 1, .k8s = true };
	struct replay_opts o = { .output = OUT_JSON, .stop = &stop, .stats = &st };
	struct run r;

	(void)state;
	replay_fixture("v1.0-incident.nwcap", &o, &r);
	assert_int_equal(r.rc, NW_EXIT_OK);
	assert_int_equal(r.res.shown, 0);
	assert_non_null(strstr(r.out, "\"events\":0,\"lost\":0,\"undecodable\":0,"
				      "\"mismatches\":2,\"hidden\":1"));
	run_free(&r);
	stop = 0;
	replay_fixture("v1.0-incident.nwcap", &o, &r);
	assert_int_equal(r.res.shown, 5);
	assert_int_equal(st.events, 5);
	assert_int_equal(st.lost, 3);
	assert_int_equal(st.end_ns - st.start_ns, 5000000000ULL);
	assert_null(st.backend); /* it pointed into the closed reader */
	assert_int_equal(st.mismatches, 2);
	run_free(&r);
}

/* ------------------------------------------------------------- bad input */

static const struct bad_fixture {
	const char *name;
	const char *error; /* the whole message after "capture: " */
	uint64_t shown; /* complete events rendered before it */
} bad_fixtures[] = {
	{ "empty.nwcap", "empty file: not a natwho capture", 0 },
	{ "not-a-capture.nwcap",
	  "not a natwho capture: neither zstd nor gzip data (no 28 b5 2f fd or 1f 8b at compressed offset 0)",
	  0 },
	{ "v2.0-future.nwcap",
	  "capture format 2.0 is newer than this natwho (" NATWHO_VERSION ") reads (1.x): "
	  "use a newer natwho", 0 },
	{ "v1.0-corrupt-crc.nwcap",
	  "corrupted record at uncompressed offset 620: CRC mismatch (type 2, 136 bytes)", 1 },
	{ "v1.0-garbage.nwcap",
	  "corrupted record at uncompressed offset 768: type 2796004517 is not a record type", 2 },
	{ "v1.0-killed.nwcap",
	  "truncated after 8 records (5 events) at uncompressed offset 1280: no trailer; the file "
	  "ends at compressed offset 686 (recorder killed, or still recording?)", 5 },
	{ "v1.0-no-trailer.nwcap",
	  "truncated after 8 records (5 events) at uncompressed offset 1280: no trailer; the file "
	  "ends at compressed offset 628 (recorder killed, or still recording?)", 5 },
	/* gzip, as natwho wrote captures up to 2026-11 */
	{ "gzip-v1.0-corrupt-crc.nwcap",
	  "corrupted record at uncompressed offset 620: CRC mismatch (type 2, 136 bytes)", 1 },
	{ "gzip-v1.0-killed.nwcap",
	  "truncated after 8 records (5 events) at uncompressed offset 1280: no trailer; the file "
	  "ends at compressed offset 640 (recorder killed, or still recording?)", 5 },
};

/* The first @n lines of @s: the length. */
static size_t lines_len(const char *s, size_t len, uint64_t n)
{
	size_t at = 0;

	for (uint64_t i = 0; i < n && at < len; i++) {
		const char *nl = memchr(s + at, '\n', len - at);

		at = nl ? (size_t)(nl - s) + 1 : len;
	}
	return at;
}

static void test_bad_fixtures(void **state)
{
	struct replay_opts good_o = { .output = OUT_TEXT, .utc = true };
	struct run good;

	(void)state;
	replay_fixture("v1.0-incident.nwcap", &good_o, &good);
	for (size_t i = 0; i < sizeof(bad_fixtures) / sizeof(bad_fixtures[0]); i++) {
		const struct bad_fixture *bf = &bad_fixtures[i];
		struct replay_opts o = { .output = OUT_TEXT, .utc = true };
		char want[600];
		struct run r;
		size_t n;

		replay_fixture(bf->name, &o, &r);
		snprintf(want, sizeof(want), "capture: %s", bf->error);
		if (r.rc != NW_EXIT_BADINPUT || strcmp(r.err, want))
			fail_msg("%s: exit %d, error '%s', want 5 and '%s'", bf->name, r.rc, r.err,
				 want);
		assert_int_equal(r.res.shown, bf->shown);
		/* What was shown is the good file's output up to that event. */
		n = bf->shown || r.out_len ? lines_len(good.out, good.out_len, 1 + bf->shown) : 0;
		assert_int_equal(r.out_len, n);
		assert_memory_equal(r.out, good.out, n);
		run_free(&r);
	}
	run_free(&good);
}

static int memfd_copy(const void *p, size_t n)
{
	int fd = memfd_create("replay", 0);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, n), (ssize_t)n);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

static char *fixture_bytes(const char *name, size_t *n)
{
	char path[256], *buf = malloc(1 << 16);
	int fd;

	snprintf(path, sizeof(path), FIXDIR "%s", name);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0 && buf);
	*n = (size_t)read(fd, buf, 1 << 16);
	close(fd);
	return buf;
}

/* Cut anywhere, flipped anywhere: exit 5 (or 0 when intact), never a crash,
 * and never more shown than the complete file has. */
static void test_damage_everywhere(void **state)
{
	size_t n;
	char *buf = fixture_bytes("v1.0-incident.nwcap", &n);

	(void)state;
	for (size_t cut = 0; cut <= n; cut++) {
		struct replay_opts o = { .output = OUT_JSON, .quiet = true };
		int fd = memfd_copy(buf, cut);
		struct run r;

		replay_fd(fd, &o, &r);
		close(fd);
		assert_int_equal(r.rc, cut == n ? NW_EXIT_OK : NW_EXIT_BADINPUT);
		assert_true(r.res.shown <= 5);
		run_free(&r);
	}
	for (size_t at = 0; at < n; at++) {
		struct replay_opts o = { .output = OUT_JSON, .quiet = true };
		int fd;
		struct run r;

		buf[at] ^= 0x40;
		fd = memfd_copy(buf, n);
		replay_fd(fd, &o, &r);
		close(fd);
		buf[at] ^= 0x40;
		assert_true(r.rc == NW_EXIT_BADINPUT || r.rc == NW_EXIT_OK);
		assert_true(r.rc == NW_EXIT_OK || r.err[0]);
		run_free(&r);
	}
	free(buf);
}

/* A capture ends with its trailer and its zstd frame or gzip member: a
 * second capture appended (`natwho -w - >> f`, twice) or bytes after it
 * are an error (exit 5) after the first capture's records, not ignored. */
static void test_data_after_end(void **state)
{
	static const char *const names[] = { "v1.0-incident.nwcap", "gzip-v1.0-incident.nwcap" };

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		size_t n;
		char *buf = fixture_bytes(names[i], &n);

		for (int garbage = 0; garbage < 2; garbage++) {
			struct replay_opts o = { .output = OUT_JSON, .quiet = true };
			size_t extra = garbage ? 1 : n;
			struct run r;
			int fd;

			buf = realloc(buf, 2 * n);
			assert_non_null(buf);
			memcpy(buf + n, garbage ? "x" : buf, extra);
			fd = memfd_copy(buf, n + extra);
			replay_fd(fd, &o, &r);
			close(fd);
			assert_int_equal(r.rc, NW_EXIT_BADINPUT);
			assert_non_null(strstr(r.err, "data after the end of the capture"));
			assert_int_equal(r.res.shown, 5); /* the first capture's, all of them */
			run_free(&r);
		}
		free(buf);
	}
}

static void test_read_error(void **state)
{
	struct replay_opts o = { .output = OUT_TEXT };
	struct replay_result res;
	char err[256];
	int fd = open("tests", O_RDONLY | O_DIRECTORY);

	(void)state;
	assert_true(fd >= 0);
	o.out = o.text_f = stderr;
	assert_int_equal(replay__fd(fd, "tests", &o, &res, err, sizeof(err)), NW_EXIT_RUNTIME);
	assert_non_null(strstr(err, "tests: "));
	close(fd);
	assert_int_equal(replay__file("/nonexistent/x.nwcap", &o, &res, err, sizeof(err)),
			 NW_EXIT_RUNTIME);
	assert_string_equal(err, "cannot open capture file '/nonexistent/x.nwcap': "
				 "No such file or directory");
}

/*
 * A reader that goes away (natwho -r FILE | head -1) ends the replay
 * quietly, exit 0: also when the write that failed was an early one, whose
 * errno stdio does not keep (only its error flag); a full device is an
 * error.  Output: a pipe with its read end closed, and /dev/full.
 */
static void test_reader_gone(void **state)
{
	static const struct cap_header hdr = { .natwho_version = "t", .backend = "netfilter" };
	struct replay_opts o = { .output = OUT_TEXT };
	struct replay_result res;
	int fd = memfd_create("cap", 0), pfd[2], rc;
	void (*old)(int) = signal(SIGPIPE, SIG_IGN);
	struct capw *w;
	struct nw_event e;
	char err[256];
	FILE *f;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(capw__open(&w, fd, &hdr, err, sizeof(err)), 0);
	fix_event(FIX_INCIDENT_V4, &e);
	for (int i = 0; i < 2000; i++) /* far more than the pipe and the buffers hold */
		assert_int_equal(capw__event(w, &e, sizeof(e)), 0);
	assert_int_equal(capw__close(w, &(struct cap_trailer){ 0 }), 0);
	o.text_f = stderr;
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 0) {
			assert_int_equal(pipe(pfd), 0);
			close(pfd[0]);
			f = fdopen(pfd[1], "w");
		} else {
			f = fopen("/dev/full", "w");
		}
		assert_non_null(f);
		o.out = f;
		assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
		err[0] = '\0';
		rc = replay__fd(fd, "cap", &o, &res, err, sizeof(err));
		assert_true(res.shown < 2000); /* stopped at the failed write */
		if (pass == 0) {
			assert_int_equal(rc, NW_EXIT_OK);
		} else {
			assert_int_equal(rc, NW_EXIT_RUNTIME);
			assert_non_null(strstr(err, "writing output failed"));
		}
		fclose(f);
	}
	signal(SIGPIPE, old);
	close(fd);
}

static volatile sig_atomic_t test_stop;

static void on_alarm(int sig)
{
	test_stop = sig;
}

/*
 * natwho -r - from a pipe whose writer stays, holding @n bytes of @bytes
 * and then @m of @more: a SIGALRM after @usec (handled with SA_RESTART, as
 * natwho's handlers are), disarmed when the replay ends; test_stop says
 * whether it came.
 */
static void replay_open_pipe(const char *bytes, size_t n, const char *more, size_t m, long usec,
			     struct run *r)
{
	struct sigaction sa = { .sa_handler = on_alarm, .sa_flags = SA_RESTART }, old;
	struct itimerval t = { .it_value = { .tv_sec = usec / 1000000, .tv_usec = usec % 1000000 } };
	struct itimerval off = { 0 };
	struct replay_opts o = { .output = OUT_JSON, .stop = &test_stop };
	int pfd[2];

	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGALRM, &sa, &old), 0);
	assert_int_equal(pipe(pfd), 0);
	if (n)
		assert_int_equal(write(pfd[1], bytes, n), (ssize_t)n);
	if (m)
		assert_int_equal(write(pfd[1], more, m), (ssize_t)m);
	test_stop = 0;
	assert_int_equal(setitimer(ITIMER_REAL, &t, NULL), 0);
	replay_fd(pfd[0], &o, r);
	assert_int_equal(setitimer(ITIMER_REAL, &off, NULL), 0);
	close(pfd[0]);
	close(pfd[1]);
	sigaction(SIGALRM, &old, NULL);
}

/*
 * `natwho -r -` from a pipe that stalls (a capture streamed from another
 * node, the sender hung): a signal ends the wait, with what came so far
 * shown and exit 0, as live tracing stops.  A handler with SA_RESTART, as
 * natwho installs, restarts a blocked read(): the reader must wait in
 * poll().  Before the header and in the middle.
 */
static void test_stalled_stdin(void **state)
{
	size_t n;
	char *buf = fixture_bytes("v1.0-incident.nwcap", &n);

	(void)state;
	for (int half = 0; half < 2; half++) {
		struct run r;

		/* all but the last 100 bytes (two events in them), or nothing */
		replay_open_pipe(buf, half ? n - 100 : 0, NULL, 0, 200000, &r);
		assert_int_equal(test_stop, SIGALRM);
		assert_int_equal(r.rc, NW_EXIT_OK);
		assert_int_equal(r.res.shown, half ? 2 : 0);
		run_free(&r);
	}
	free(buf);
}

/*
 * `tail -f cap | natwho -r -`: the whole capture in a pipe whose writer
 * stays.  The replay ends at the capture's end, without waiting for the
 * writer (an alarm 2 s later would stop it); bytes already in the pipe past
 * the end are still found.
 */
static void test_pipe_left_open(void **state)
{
	size_t n;
	char *buf = fixture_bytes("v1.0-incident.nwcap", &n);

	(void)state;
	for (int extra = 0; extra < 2; extra++) {
		struct run r;

		/* then, a second capture appended, say */
		replay_open_pipe(buf, n, buf, extra ? 16 : 0, 2000000, &r);
		assert_int_equal(test_stop, 0);
		assert_int_equal(r.rc, extra ? NW_EXIT_BADINPUT : NW_EXIT_OK);
		if (extra)
			assert_non_null(strstr(r.err, "data after the end of the capture"));
		assert_int_equal(r.res.shown, 5);
		run_free(&r);
	}
	free(buf);
}

/* ---------------------------------------------------------------- verdict */

static void verdict_render(enum out_mode mode, char **buf, size_t *len)
{
	struct verdict_end end = { .command = "curl", .status = 0 };
	FILE *f = open_memstream(buf, len);
	struct verdict v;
	struct out o;

	assert_non_null(f);
	verdict__init(&v);
	for (int i = 0; i < FIX_COUNT; i++) {
		struct nw_event e;
		struct conn c;

		fix_event(i, &e);
		assert_int_equal(conn__decode(&e, sizeof(e), 0, "netfilter", &c), 0);
		verdict__add(&v, &c);
		if (i == FIX_INCIDENT_V4)
			verdict__add(&v, &c); /* twice the same route */
	}
	out__init(&o, f, mode);
	verdict__print(&v, &end, &o, f);
	/* CMD outlived the trace: said, in both forms */
	end = (struct verdict_end){ .command = "sh", .signal = 9, .cut = "--count reached" };
	verdict__init(&v);
	verdict__print(&v, &end, &o, f);
	fclose(f);
}

static void test_verdict(void **state)
{
	char *buf;
	size_t len;

	(void)state;
	verdict_render(OUT_TEXT, &buf, &len);
	golden_check("verdict.txt", buf, len);
	free(buf);
	verdict_render(OUT_JSON, &buf, &len);
	golden_check("verdict.json", buf, len);
	free(buf);
}

/* More routes than fit: the rest are counted, not dropped. */
static void test_verdict_overflow(void **state)
{
	struct verdict v;
	struct nw_event e;
	struct conn c;

	(void)state;
	verdict__init(&v);
	fix_event(FIX_INCIDENT_V4, &e);
	for (int i = 0; i < VERDICT_MAX_ROUTES + 5; i++) {
		e.reply.sport = (uint16_t)(1000 + i);
		assert_int_equal(conn__decode(&e, sizeof(e), 0, "netfilter", &c), 0);
		verdict__add(&v, &c);
	}
	assert_int_equal(v.conns, VERDICT_MAX_ROUTES + 5);
	assert_int_equal(v.dnat, VERDICT_MAX_ROUTES + 5);
	assert_int_equal(v.nroutes, VERDICT_MAX_ROUTES);
	assert_int_equal(v.routes_other, 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_filter_kernel_semantics),
		cmocka_unit_test(test_filter_cases),
		cmocka_unit_test(test_filter_format),
		cmocka_unit_test(test_golden_text),
		cmocka_unit_test(test_golden_json),
		cmocka_unit_test(test_golden_filtered),
		cmocka_unit_test(test_sources_in_order),
		cmocka_unit_test(test_source_unknown_kind),
		cmocka_unit_test(test_notes_replayed),
		cmocka_unit_test(test_conntrack_notes_replayed),
		cmocka_unit_test(test_stop_and_stats),
		cmocka_unit_test(test_bad_fixtures),
		cmocka_unit_test(test_damage_everywhere),
		cmocka_unit_test(test_reader_gone),
		cmocka_unit_test(test_data_after_end),
		cmocka_unit_test(test_stalled_stdin),
		cmocka_unit_test(test_pipe_left_open),
		cmocka_unit_test(test_read_error),
		cmocka_unit_test(test_verdict),
		cmocka_unit_test(test_verdict_overflow),
	};

	setenv("TZ", "UTC", 1);
	log__setup(NULL, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
