// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Connection-storm load generator for natwho's benchmark (tests/bench/storm.sh).
 *
 *   nw-storm storm ADDR PORT [-t THREADS] [-d SECONDS] [-n COUNT] [-r] [-i MS]
 *	open and close TCP connections to ADDR:PORT as fast as THREADS threads
 *	can, for SECONDS (default 5; 600 with -n) or until COUNT connections
 *	were attempted, whichever comes first.
 *	-r reads the server's byte before closing.  Every close is abortive
 *	(SO_LINGER 0: an RST, no TIME_WAIT), so the ephemeral port range is
 *	reused at once.
 *   nw-storm pingpong ADDR PORT [-t CONNS] [-d SECONDS]
 *	CONNS long-lived connections, each bouncing one byte off an "echo"
 *	server: established-connection packets only.
 *   nw-storm serve ADDR PORT [-t THREADS] [-w | -e]
 *	accept and close at once; -w writes one byte first, -e echoes until the
 *	peer closes (one connection per thread at a time).  Runs until killed.
 *
 * -i MS (storm, pingpong): every MS milliseconds, one line on stdout
 *   tick=T done=N
 * with T the wall clock (seconds since the epoch, as bash's $EPOCHREALTIME)
 * and N the connections (round trips) completed so far:
 * tests/bench/onoff.sh cuts one long storm into windows by it.
 * storm and pingpong end with one machine-readable line on stdout:
 *   connections=N attempts=N errors=N seconds=S rate=R cpu=C
 *   roundtrips=N connections=N errors=N seconds=S rate=R cpu=C
 * where rate is per second and cpu the user+system CPU seconds nw-storm used
 * meanwhile (its threads' syscalls and the softirq work done in their
 * context); errors are broken down by errno on stderr.  Exit status 1 when
 * not one connection (round trip) succeeded, 2 on a usage error.
 */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>

#define STORM_MAX_THREADS 64
#define STORM_MAX_ERRNO 160

enum storm_mode { MODE_STORM, MODE_PINGPONG, MODE_SERVE };
enum serve_kind { SERVE_CLOSE, SERVE_WRITE, SERVE_ECHO };

struct storm {
	enum storm_mode mode;
	enum serve_kind serve;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	unsigned int threads;
	uint64_t duration_ms;
	uint64_t count; /* 0: no limit */
	uint64_t tick_ms; /* 0: no tick lines */
	int read_byte;
	int listen_fd;
	atomic_int stop;
	atomic_uint_fast64_t claimed; /* attempts started, for -n */
	atomic_uint_fast64_t done; /* connections (storm) or round trips (pingpong) */
	atomic_uint_fast64_t conns; /* pingpong connections established */
	atomic_uint_fast64_t attempts;
	atomic_uint_fast64_t errors[STORM_MAX_ERRNO];
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static double wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void storm__error(struct storm *s, int err)
{
	atomic_fetch_add(&s->errors[err > 0 && err < STORM_MAX_ERRNO ? err : 0], 1);
}

/* A TCP socket that closes with an RST, gives up on a lost SYN quickly and
 * never blocks longer than 2 s. */
static int storm__socket(const struct storm *s)
{
	struct linger lin = { .l_onoff = 1, .l_linger = 0 };
	struct timeval tmo = { .tv_sec = 2 };
	int syncnt = 2;
	int fd;

	fd = socket(s->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &lin, sizeof(lin)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tmo, sizeof(tmo)) ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof(tmo)) ||
	    setsockopt(fd, IPPROTO_TCP, TCP_SYNCNT, &syncnt, sizeof(syncnt))) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static int storm__claim(struct storm *s)
{
	if (atomic_load_explicit(&s->stop, memory_order_relaxed))
		return 0;
	if (s->count && atomic_fetch_add(&s->claimed, 1) >= s->count)
		return 0;
	return 1;
}

/* One connection: connect, maybe read the server's byte, abortive close. */
static void storm__one(struct storm *s)
{
	char byte;
	int fd = storm__socket(s);

	atomic_fetch_add_explicit(&s->attempts, 1, memory_order_relaxed);
	if (fd < 0) {
		storm__error(s, -fd);
		return;
	}
	if (connect(fd, (struct sockaddr *)&s->addr, s->addrlen)) {
		storm__error(s, errno);
		close(fd);
		return;
	}
	if (s->read_byte && recv(fd, &byte, 1, 0) != 1)
		storm__error(s, errno ? errno : EPIPE);
	close(fd);
	atomic_fetch_add_explicit(&s->done, 1, memory_order_relaxed);
}

static void *storm__thread(void *arg)
{
	struct storm *s = arg;

	while (storm__claim(s))
		storm__one(s);
	return NULL;
}

static void pingpong__run(struct storm *s, int fd)
{
	uint64_t n = 0;
	char byte = 'x';

	while (!atomic_load_explicit(&s->stop, memory_order_relaxed)) {
		if (send(fd, &byte, 1, MSG_NOSIGNAL) != 1 || recv(fd, &byte, 1, 0) != 1) {
			storm__error(s, errno ? errno : EPIPE);
			break;
		}
		n++;
	}
	atomic_fetch_add(&s->done, n);
}

static void *pingpong__thread(void *arg)
{
	struct storm *s = arg;
	int one = 1;
	int fd = storm__socket(s);

	atomic_fetch_add(&s->attempts, 1);
	if (fd < 0) {
		storm__error(s, -fd);
		return NULL;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&s->addr, s->addrlen)) {
		storm__error(s, errno);
		goto cleanup;
	}
	atomic_fetch_add(&s->conns, 1);
	pingpong__run(s, fd);
cleanup:
	close(fd);
	return NULL;
}

static void serve__echo(int fd)
{
	char buf[256];
	int one = 1;
	ssize_t n;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0)
		if (send(fd, buf, n, MSG_NOSIGNAL) != n)
			break;
}

static void *serve__thread(void *arg)
{
	struct storm *s = arg;

	for (;;) {
		int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOMEM)
				usleep(1000);
			continue;
		}
		if (s->serve == SERVE_WRITE)
			send(fd, "!", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		else if (s->serve == SERVE_ECHO)
			serve__echo(fd);
		close(fd);
	}
	return NULL;
}

static int serve__listen(struct storm *s)
{
	int one = 1;

	s->listen_fd = socket(s->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->listen_fd < 0)
		return -errno;
	setsockopt(s->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s->listen_fd, (struct sockaddr *)&s->addr, s->addrlen) ||
	    listen(s->listen_fd, 4096))
		return -errno;
	return 0;
}

static void storm__report_errors(struct storm *s)
{
	for (int i = 0; i < STORM_MAX_ERRNO; i++) {
		uint64_t n = atomic_load(&s->errors[i]);

		if (n)
			fprintf(stderr, "nw-storm: %llu x %s\n", (unsigned long long)n,
				i ? strerror(i) : "other error");
	}
}

static uint64_t storm__errors(struct storm *s)
{
	uint64_t sum = 0;

	for (int i = 0; i < STORM_MAX_ERRNO; i++)
		sum += atomic_load(&s->errors[i]);
	return sum;
}

static void storm__print(struct storm *s, double secs, double cpu)
{
	uint64_t done = atomic_load(&s->done);
	double rate = secs > 0 ? (double)done / secs : 0;

	storm__report_errors(s);
	if (s->mode == MODE_STORM)
		printf("connections=%llu attempts=%llu errors=%llu seconds=%.3f rate=%.0f cpu=%.3f\n",
		       (unsigned long long)done, (unsigned long long)atomic_load(&s->attempts),
		       (unsigned long long)storm__errors(s), secs, rate, cpu);
	else
		printf("roundtrips=%llu connections=%llu errors=%llu seconds=%.3f rate=%.0f cpu=%.3f\n",
		       (unsigned long long)done, (unsigned long long)atomic_load(&s->conns),
		       (unsigned long long)storm__errors(s), secs, rate, cpu);
}

/* Start the threads; for storm/pingpong stop them after the duration (or when
 * -n is used up), join them and print the result. */
static int storm__run(struct storm *s)
{
	void *(*fn)(void *) = s->mode == MODE_STORM	 ? storm__thread :
			      s->mode == MODE_PINGPONG ? pingpong__thread :
							 serve__thread;
	pthread_t tids[STORM_MAX_THREADS];
	unsigned int started = 0;
	double t0 = now_s(), cpu0 = cpu_s(), next_tick = t0, secs;

	for (; started < s->threads; started++)
		if (pthread_create(&tids[started], NULL, fn, s))
			break;
	if (!started) {
		fprintf(stderr, "nw-storm: cannot start a thread\n");
		return 1;
	}
	if (s->mode == MODE_SERVE)
		pthread_join(tids[0], NULL); /* serve threads never return */
	while (now_s() - t0 < s->duration_ms / 1e3 &&
	       !(s->count && atomic_load(&s->claimed) >= s->count)) {
		if (s->tick_ms && now_s() >= next_tick) {
			printf("tick=%.6f done=%llu\n", wall_s(),
			       (unsigned long long)atomic_load(&s->done));
			next_tick += s->tick_ms / 1e3;
		}
		usleep(s->tick_ms && s->tick_ms < 10 ? 1000 : 10000);
	}
	atomic_store(&s->stop, 1);
	for (unsigned int i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	secs = now_s() - t0;
	storm__print(s, secs, cpu_s() - cpu0);
	return atomic_load(&s->done) ? 0 : 1; /* not one connection (round trip) */
}

static int parse_num(const char *arg, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!arg || !*arg || *arg == '-' || *arg == '+')
		return -1;
	errno = 0;
	v = strtoull(arg, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_addr(struct storm *s, const char *addr, const char *port)
{
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
				  .ai_socktype = SOCK_STREAM };
	struct addrinfo *ai;
	int err = getaddrinfo(addr, port, &hints, &ai);

	if (err) {
		fprintf(stderr, "nw-storm: %s %s: %s\n", addr, port, gai_strerror(err));
		return -1;
	}
	memcpy(&s->addr, ai->ai_addr, ai->ai_addrlen);
	s->addrlen = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

static int parse_mode(struct storm *s, const char *mode)
{
	if (!strcmp(mode, "storm"))
		s->mode = MODE_STORM;
	else if (!strcmp(mode, "pingpong"))
		s->mode = MODE_PINGPONG;
	else if (!strcmp(mode, "serve"))
		s->mode = MODE_SERVE;
	else
		return -1;
	return 0;
}

static int parse_opt(struct storm *s, int opt, const char *arg)
{
	uint64_t v;

	switch (opt) {
	case 't':
		if (parse_num(arg, 1, STORM_MAX_THREADS, &v))
			return -1;
		s->threads = (unsigned int)v;
		return 0;
	case 'd':
		if (parse_num(arg, 1, 3600, &v))
			return -1;
		s->duration_ms = v * 1000;
		return 0;
	case 'n': return parse_num(arg, 1, UINT64_MAX / 2, &s->count);
	case 'i': return parse_num(arg, 1, 60000, &s->tick_ms);
	case 'r': s->read_byte = 1; return 0;
	case 'w': s->serve = SERVE_WRITE; return 0;
	case 'e': s->serve = SERVE_ECHO; return 0;
	default: return -1;
	}
}

static int parse_args(struct storm *s, int argc, char **argv)
{
	if (argc < 4 || parse_mode(s, argv[1]) || parse_addr(s, argv[2], argv[3]))
		return -1;
	s->threads = 2;
	for (int i = 4; i < argc; i++) {
		const char *a = argv[i];
		int takes_arg = a[0] == '-' && strchr("tdni", a[1]);

		if (a[0] != '-' || !a[1] || a[2] || (takes_arg && i + 1 >= argc))
			return -1;
		if (parse_opt(s, a[1], takes_arg ? argv[++i] : NULL))
			return -1;
	}
	if (!s->duration_ms) /* with -n, the count bounds the run; keep a hard limit */
		s->duration_ms = s->count ? 600 * 1000 : 5000;
	return 0;
}

int main(int argc, char **argv)
{
	static struct storm s;

	if (parse_args(&s, argc, argv)) {
		fprintf(stderr,
			"usage: nw-storm storm ADDR PORT [-t THREADS] [-d SECONDS] [-n COUNT] [-r] [-i MS]\n"
			"       nw-storm pingpong ADDR PORT [-t CONNS] [-d SECONDS] [-i MS]\n"
			"       nw-storm serve ADDR PORT [-t THREADS] [-w | -e]\n");
		return 2;
	}
	if (s.mode == MODE_SERVE && serve__listen(&s)) {
		fprintf(stderr, "nw-storm: listen %s %s: %s\n", argv[2], argv[3], strerror(errno));
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	return storm__run(&s);
}
