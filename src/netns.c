// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "log.h"
#include "netns.h"

int nw_in_netns(int netns_fd, int (*fn)(void *), void *arg)
{
	int self, err, back;

	if (netns_fd < 0)
		return fn(arg);
	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return -errno;
	if (setns(netns_fd, CLONE_NEWNET)) {
		err = -errno;
		close(self);
		return err;
	}
	err = fn(arg);
	back = setns(self, CLONE_NEWNET);
	close(self);
	if (back) {
		nw_err("cannot return to natwho's own network namespace: %s", strerror(errno));
		abort(); /* continuing in the wrong namespace would mislead */
	}
	return err;
}
