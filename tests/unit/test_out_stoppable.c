// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * out__fdopen_stoppable(): natwho's stdout.  Into a pipe nobody reads, a
 * signal (whose handler restarts system calls, as natwho's does) gets the
 * writer out of its wait; once stopping it gives up after the stall limit
 * and says so, and drops what comes after at once; a reader that is only
 * slow gets everything, stopping or not; a reader that went away is EPIPE.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdbool.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <cmocka.h>
#include "out.h"

static volatile sig_atomic_t stop;
static volatile sig_atomic_t alarm_stops; /* does SIGALRM set stop? */
static int stop_after_calls = -1; /* >= 0: stopping() turns true after so many calls */

static bool stopping(void *ctx)
{
	(void)ctx;
	if (stop_after_calls >= 0 && stop_after_calls-- == 0)
		stop = 1;
	return stop;
}
static volatile sig_atomic_t alarms;
static int go_fd = -1; /* SIGALRM writes a byte here: the reader may start */

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
	if (alarm_stops)
		stop = 1;
	if (go_fd >= 0 && write(go_fd, "g", 1) < 0)
		go_fd = -1;
}

static int setup(void **state)
{
	struct sigaction sa = { .sa_handler = on_alarm, .sa_flags = SA_RESTART };

	(void)state;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void alarm_in_ms(int ms)
{
	struct itimerval it = { .it_value = { .tv_sec = ms / 1000, .tv_usec = ms % 1000 * 1000 } };

	setitimer(ITIMER_REAL, &it, NULL);
}

/* A pipe whose buffer is full; the write end blocking again. */
static void full_pipe(int p[2])
{
	static char junk[4096];

	assert_int_equal(pipe(p), 0);
	fcntl(p[1], F_SETFL, O_NONBLOCK);
	while (write(p[1], junk, sizeof(junk)) > 0)
		;
	assert_int_equal(errno, EAGAIN);
	fcntl(p[1], F_SETFL, 0);
}

/* A child that reads pipe @p to its end once a byte comes on @go[0] (the
 * alarm, while the writer waits: the order does not depend on timing);
 * its pid. */
static pid_t slow_reader(int p[2], int go[2])
{
	pid_t pid = fork();
	char buf[65536];

	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[1]);
		close(go[1]);
		if (read(go[0], buf, 1) != 1)
			_exit(1);
		while (read(p[0], buf, sizeof(buf)) > 0)
			;
		_exit(0);
	}
	close(p[0]);
	close(go[0]);
	go_fd = go[1];
	return pid;
}

static void reader_done(pid_t pid, int go[2])
{
	int status;

	go_fd = -1;
	close(go[1]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* The writer, giving up a stalled reader @stall_ms after stopping(). */
static FILE *open_stoppable(int fd, int stall_ms)
{
	static struct out_stop stop_rule;
	FILE *f;

	stop_rule = (struct out_stop){ stopping, NULL, stall_ms };
	f = out__fdopen_stoppable(fd, &stop_rule);
	assert_non_null(f);
	return f;
}

/*
 * 256 KiB through a full pipe whose reader starts reading @start_ms into
 * the wait (when the alarm comes): all of it gets through, whatever the
 * stop says, with a stall limit of @stall_ms.
 */
static void write_to_late_reader(int stall_ms, int start_ms, char fill)
{
	static char big[256 * 1024];
	char why[256];
	int p[2], go[2];
	pid_t pid;
	FILE *f;

	full_pipe(p);
	assert_int_equal(pipe(go), 0);
	pid = slow_reader(p, go);
	f = open_stoppable(p[1], stall_ms);
	memset(big, fill, sizeof(big));
	alarm_in_ms(start_ms);
	assert_int_equal(fwrite(big, 1, sizeof(big), f), sizeof(big));
	assert_int_equal(out__flush_check(f, why, sizeof(why)), 0);
	fclose(f);
	close(p[1]);
	reader_done(pid, go);
}

static void test_stall_gives_up_after_stop(void **state)
{
	char why[256];
	uint64_t t0, t;
	FILE *f;
	int p[2];

	(void)state;
	stop = 0;
	alarm_stops = 1;
	full_pipe(p);
	f = open_stoppable(p[1], 300);
	fputs("one line that does not fit\n", f);
	t0 = now_ms();
	alarm_in_ms(100); /* the stop, while the write waits */
	assert_int_equal(out__flush_check(f, why, sizeof(why)), ETIMEDOUT);
	t = now_ms() - t0;
	assert_true(t >= 100 + 300 - 20);
	assert_true(t < 10000); /* not forever */
	assert_non_null(strstr(why, "took nothing for 0.3 s while natwho was ending"));
	assert_true(out__gave_up(f));
	/* given up: the next write does not wait again */
	fputs("more\n", f);
	t0 = now_ms();
	assert_int_equal(out__flush_check(f, why, sizeof(why)), ETIMEDOUT);
	assert_true(now_ms() - t0 < 250); /* not another 300 ms wait */
	fclose(f);
	close(p[0]);
	close(p[1]);
}

/* The stop comes with no signal to end a wait (it landed just before the
 * wait began): seen within a slice all the same. */
static void test_stop_without_signal(void **state)
{
	char why[256];
	uint64_t t0, t;
	FILE *f;
	int p[2];

	(void)state;
	stop = 0;
	stop_after_calls = 1; /* the first check says no, the next one yes */
	full_pipe(p);
	f = open_stoppable(p[1], 300);
	fputs("one line that does not fit\n", f);
	t0 = now_ms();
	assert_int_equal(out__flush_check(f, why, sizeof(why)), ETIMEDOUT);
	t = now_ms() - t0;
	assert_true(t >= 300 - 20);
	assert_true(t < 10000); /* not forever */
	assert_true(out__gave_up(f));
	stop_after_calls = -1;
	fclose(f);
	close(p[0]);
	close(p[1]);
}

/* Not stopping: a signal alone does not end the wait, the reader does. */
static void test_signal_without_stop_keeps_waiting(void **state)
{
	(void)state;
	stop = 0;
	alarm_stops = 0;
	alarms = 0;
	write_to_late_reader(100, 100, 'x'); /* the reader starts only at the alarm */
	assert_int_equal(alarms, 1); /* it came, during the wait */
}

/* Stopping, with a reader that is slow but reads: nothing is given up. */
static void test_slow_reader_after_stop_gets_all(void **state)
{
	(void)state;
	stop = 1;
	alarm_stops = 0;
	write_to_late_reader(5000, 300, 'y'); /* the reader starts 300 ms into the wait */
}

static void test_reader_gone_is_epipe(void **state)
{
	char why[256];
	int p[2];
	FILE *f;

	(void)state;
	stop = 0;
	assert_int_equal(pipe(p), 0);
	close(p[0]);
	f = open_stoppable(p[1], 2000);
	fputs("nobody reads this\n", f);
	assert_int_equal(out__flush_check(f, why, sizeof(why)), EPIPE);
	fclose(f);
	close(p[1]);
}

/*
 * Stopping from the start, a stall limit of 300 ms, and a reader that takes
 * 4 KiB every 100 ms: 64 KiB more than the full pipe holds take it about
 * 1.6 s, and all of it gets through: the limit counts from the reader's
 * last bytes, not from the first wait.
 */
static void test_trickle_reader_after_stop_gets_all(void **state)
{
	static char chunk[64 * 1024];
	char why[256];
	int p[2], status;
	pid_t pid;
	FILE *f;

	(void)state;
	stop = 1;
	stop_after_calls = -1;
	full_pipe(p);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char buf[4096];
		const struct timespec tick = { 0, 100 * 1000000L };

		close(p[1]);
		for (;;) {
			nanosleep(&tick, NULL);
			if (read(p[0], buf, sizeof(buf)) <= 0)
				_exit(0);
		}
	}
	close(p[0]);
	f = open_stoppable(p[1], 300);
	memset(chunk, 't', sizeof(chunk));
	assert_int_equal(fwrite(chunk, 1, sizeof(chunk), f), sizeof(chunk));
	assert_int_equal(out__flush_check(f, why, sizeof(why)), 0);
	assert_false(out__gave_up(f));
	fclose(f);
	close(p[1]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	stop = 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stall_gives_up_after_stop),
		cmocka_unit_test(test_stop_without_signal),
		cmocka_unit_test(test_signal_without_stop_keeps_waiting),
		cmocka_unit_test(test_slow_reader_after_stop_gets_all),
		cmocka_unit_test(test_reader_gone_is_epipe),
		cmocka_unit_test(test_trickle_reader_after_stop_gets_all),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
