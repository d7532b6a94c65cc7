/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Reading the per-CPU counters the BPF objects keep (lost events, misses). */
#ifndef NW_PERCPU_H
#define NW_PERCPU_H

#include <stdint.h>

/* Sum the slots of a one-element BPF_MAP_TYPE_PERCPU_ARRAY of __u64. */
int percpu_u64_sum(int map_fd, uint64_t *sum);

#endif
