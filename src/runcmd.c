// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* `natwho -- CMD`: fork, register, exec, reap. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "runcmd.h"

#define RUNCMD_GO 'g'

/* Only there so that a dying CMD interrupts natwho's epoll_wait() at once. */
static void on_sigchld(int sig)
{
	(void)sig;
}

/* The signals whose disposition natwho sets (src/natwho.c). */
static const int runcmd_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGCHLD };

void runcmd__save_signals(struct runcmd *rc)
{
	sigemptyset(&rc->ignored);
	for (size_t i = 0; i < sizeof(runcmd_signals) / sizeof(runcmd_signals[0]); i++) {
		struct sigaction old;

		if (!sigaction(runcmd_signals[i], NULL, &old) && old.sa_handler == SIG_IGN)
			sigaddset(&rc->ignored, runcmd_signals[i]);
	}
	sigprocmask(SIG_SETMASK, NULL, &rc->mask);
}

/*
 * The child: wait for the parent's go (EOF without it: natwho is gone, do
 * not run CMD untraced), become the user natwho was started as, give back
 * the signal settings natwho started with, exec.  On failure, send errno
 * up the ex pipe.
 */
static void __attribute__((noreturn)) runcmd_child(const struct runcmd *rc, const int go[2],
						   const int ex[2], int out_fd, char *const argv[])
{
	int go_rd = go[0], err_wr = ex[1];
	ssize_t n;
	char go_byte;
	int e;

	close(go[1]); /* the parent's ends: EOF must mean the parent is gone */
	close(ex[0]);
	do
		n = read(go_rd, &go_byte, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1 || go_byte != RUNCMD_GO)
		_exit(127);
	for (size_t i = 0; i < sizeof(runcmd_signals) / sizeof(runcmd_signals[0]); i++)
		signal(runcmd_signals[i], sigismember(&rc->ignored, runcmd_signals[i]) ? SIG_IGN :
											 SIG_DFL);
	sigprocmask(SIG_SETMASK, &rc->mask, NULL);
	if ((out_fd >= 0 && dup2(out_fd, STDOUT_FILENO) < 0) ||
	    setresgid(getgid(), getgid(), getgid()) || setresuid(getuid(), getuid(), getuid())) {
		e = errno;
	} else {
		execvp(argv[0], argv);
		e = errno;
	}
	if (write(err_wr, &e, sizeof(e)) < 0) {
		/* nothing left to tell it with */
	}
	_exit(runcmd__exec_status(e));
}

/* Reap a child that will exit (or was killed) now. */
static void runcmd_reap(struct runcmd *rc)
{
	while (waitpid(rc->pid, &rc->status, 0) < 0 && errno == EINTR)
		;
	rc->reaped = true;
}

/* Let the child go; 0 once it runs CMD, else the exec's -errno (reaped). */
static int runcmd_release(struct runcmd *rc, int go_wr, int err_rd)
{
	char go = RUNCMD_GO;
	ssize_t n;
	int e = 0;

	n = write(go_wr, &go, 1);
	close(go_wr);
	if (n != 1) {
		e = errno ?: EPIPE;
		kill(rc->pid, SIGKILL);
		runcmd_reap(rc);
		return -e;
	}
	do /* EOF: the exec closed the pipe (O_CLOEXEC) */
		n = read(err_rd, &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof(e)) {
		runcmd_reap(rc);
		return -e;
	}
	return 0;
}

/* A regular file at @path that natwho may execute: 0, or what execve()
 * would fail with (-ENOENT, -EACCES, -ENOTDIR, -ELOOP, ...). */
static int runcmd_file(const char *path)
{
	struct stat st;

	if (stat(path, &st))
		return -errno;
	if (!S_ISREG(st.st_mode) || access(path, X_OK))
		return -EACCES;
	return 0;
}

int runcmd__find(const char *name, char *err, size_t errlen)
{
	const char *path = getenv("PATH"), *p;
	char cand[PATH_MAX];
	int ret = -ENOENT;

	if (!*name)
		ret = -ENOENT;
	else if (strchr(name, '/'))
		ret = runcmd_file(name);
	else
		/* execvp()'s default without PATH; its search: a directory where
		 * the name is not (or no directory) is passed, one where it is but
		 * cannot be run is remembered, any other failure ends the search */
		for (p = path ? path : "/bin:/usr/bin";; p++) {
			size_t n = strcspn(p, ":");
			int r = -ENAMETOOLONG;

			/* an empty entry is the current directory */
			if ((size_t)snprintf(cand, sizeof(cand), "%.*s/%s", (int)(n ? n : 1),
					     n ? p : ".", name) < sizeof(cand))
				r = runcmd_file(cand);
			if (r == 0 || (r != -ENOENT && r != -ENOTDIR && r != -EACCES)) {
				ret = r;
				break;
			}
			if (r == -EACCES)
				ret = r;
			if (!p[n])
				break;
			p += n;
		}
	if (ret)
		snprintf(err, errlen, "cannot run '%s': %s", name, strerror(-ret));
	return ret;
}

int runcmd__start(struct runcmd *rc, char *const argv[], int out_fd, runcmd_hook before_exec,
		  void *ctx, char *err, size_t errlen)
{
	struct sigaction sa = { .sa_handler = on_sigchld, .sa_flags = SA_NOCLDSTOP | SA_RESTART };
	int go[2] = { -1, -1 }, ex[2] = { -1, -1 }, ret = 0;

	rc->pid = 0;
	rc->status = 0;
	rc->reaped = false;
	rc->argv = argv; /* the signals saved at start are kept */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, NULL);
	if (pipe2(go, O_CLOEXEC) || pipe2(ex, O_CLOEXEC)) {
		ret = -errno;
		snprintf(err, errlen, "cannot run '%s': pipe: %s", argv[0], strerror(-ret));
		goto cleanup;
	}
	fflush(NULL); /* nothing buffered twice */
	rc->pid = fork();
	if (rc->pid < 0) {
		ret = -errno;
		rc->pid = 0;
		snprintf(err, errlen, "cannot run '%s': fork: %s", argv[0], strerror(-ret));
		goto cleanup;
	}
	if (rc->pid == 0)
		runcmd_child(rc, go, ex, out_fd, argv);
	close(ex[1]);
	ex[1] = -1;
	ret = before_exec ? before_exec(ctx, rc->pid) : 0;
	if (ret) {
		snprintf(err, errlen, "cannot track '%s': %s", argv[0], strerror(-ret));
		kill(rc->pid, SIGKILL);
		runcmd_reap(rc);
		goto cleanup;
	}
	ret = runcmd_release(rc, go[1], ex[0]);
	go[1] = -1;
	if (ret)
		snprintf(err, errlen, "cannot run '%s': %s", argv[0], strerror(-ret));
cleanup:
	for (int i = 0; i < 2; i++) {
		if (go[i] >= 0)
			close(go[i]);
		if (ex[i] >= 0)
			close(ex[i]);
	}
	return ret;
}

bool runcmd__running(struct runcmd *rc)
{
	pid_t p;

	if (!rc->pid || rc->reaped)
		return false;
	p = waitpid(rc->pid, &rc->status, WNOHANG);
	if (p == rc->pid || (p < 0 && errno == ECHILD))
		rc->reaped = true;
	return !rc->reaped;
}

void runcmd__signal(const struct runcmd *rc, int sig)
{
	if (rc->pid && !rc->reaped)
		kill(rc->pid, sig);
}

int runcmd__wait(struct runcmd *rc)
{
	/* Not a blocking waitpid(): natwho's handlers restart system calls
	 * (SA_RESTART, so that a signal does not fail a write to a slow pipe),
	 * and a waitpid() would never return for the caller to pass a signal
	 * on.  poll() is never restarted; SIGCHLD ends it at once. */
	while (runcmd__running(rc))
		if (poll(NULL, 0, 100) < 0 && errno == EINTR)
			return -EINTR;
	return 0;
}

int runcmd__exit_code(const struct runcmd *rc)
{
	if (WIFSIGNALED(rc->status))
		return 128 + WTERMSIG(rc->status);
	return WIFEXITED(rc->status) ? WEXITSTATUS(rc->status) : 1;
}

int runcmd__term_signal(const struct runcmd *rc)
{
	return WIFSIGNALED(rc->status) ? WTERMSIG(rc->status) : 0;
}
