/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * `natwho [OPTIONS] -- CMD [ARGS...]`: run CMD while tracing, and give back
 * its exit status.
 *
 * runcmd__start() forks; the child waits until the parent has registered it
 * (@before_exec: e.g. put its pid in the process tree, src/proctree.h) and
 * only then drops natwho's effective ids for the real ones, restores the
 * signal dispositions and mask natwho started with, and execs CMD with natwho's
 * environment.  So CMD's first connection happens after the capture is
 * attached and CMD is tracked.  CMD stays in natwho's process group: it
 * keeps the terminal, and a Ctrl-C reaches it directly.
 */
#ifndef NW_RUNCMD_H
#define NW_RUNCMD_H

#include <errno.h>

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct runcmd {
	char *const *argv;
	pid_t pid; /* 0: not started */
	int status; /* wait status, once reaped */
	bool reaped;
	sigset_t ignored; /* of the signals natwho handles, those ignored when it started */
	sigset_t mask; /* the signal mask natwho started with */
};

/*
 * Note the signal settings natwho started with, before it changes any:
 * CMD gets them back (a job started with SIGINT ignored, as a script's
 * background job is, keeps it ignored under natwho too).
 */
void runcmd__save_signals(struct runcmd *rc);

/* Called in the parent with CMD's pid before it execs; non-zero cancels. */
typedef int (*runcmd_hook)(void *ctx, pid_t pid);

/* The exit status a shell gives a command it could not run for @err (an
 * errno): 127 not found, 126 otherwise. */
static inline int runcmd__exec_status(int err)
{
	return err == ENOENT ? 127 : 126;
}

/*
 * Can @name be run, as runcmd__start() would look for it (execvp(): as a
 * path when it holds a '/', else in PATH's directories)?  0, or -ENOENT
 * (nowhere), -EACCES (found, not executable) or what else execve() would
 * fail with, with one line in @err.
 * Before anything starts: a typo must not cost an earlier capture.
 */
int runcmd__find(const char *name, char *err, size_t errlen);

/*
 * Start @argv[0] (found in PATH) with @out_fd as its stdout (-1: natwho's;
 * with `-w -` or `-o json` natwho's stdout is for a program to read).  Returns 0 once CMD runs;
 * -errno with one line in @err when it could not start: the fork failed,
 * @before_exec failed (CMD killed and reaped), or the exec failed (the
 * child exited 127 for a missing command, 126 otherwise, and is reaped).
 * A SIGCHLD handler that only interrupts natwho's poll is installed.
 */
int runcmd__start(struct runcmd *rc, char *const argv[], int out_fd, runcmd_hook before_exec,
		  void *ctx, char *err, size_t errlen);
/* Not blocking: reaps CMD if it has ended.  True while it runs. */
bool runcmd__running(struct runcmd *rc);
/* Pass @sig to CMD while it runs. */
void runcmd__signal(const struct runcmd *rc, int sig);
/* Block until CMD ends: 0, or -EINTR when a signal came first (call again). */
int runcmd__wait(struct runcmd *rc);
/* natwho's exit status for CMD's: its exit status, or 128 + the signal. */
int runcmd__exit_code(const struct runcmd *rc);
/* The signal that killed CMD, 0 if it exited. */
int runcmd__term_signal(const struct runcmd *rc);

#endif
