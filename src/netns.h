/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Work done inside the traced network namespace by a natwho outside it. */
#ifndef NATWHO_NETNS_H
#define NATWHO_NETNS_H

/*
 * Run @fn(@arg) with this thread switched to the network namespace
 * @netns_fd (< 0: where it is) and back: @fn's result, or -errno when the
 * switch failed.  Aborts if it cannot come back.
 */
int nw_in_netns(int netns_fd, int (*fn)(void *), void *arg);

#endif
