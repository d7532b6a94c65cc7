/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Per-CPU data the BPF objects keep: counters (lost events, misses) and
 * arrays indexed by CPU id. */
#ifndef NW_PERCPU_H
#define NW_PERCPU_H

#include <stdint.h>

struct bpf_map;

/* Sum the slots of a one-element BPF_MAP_TYPE_PERCPU_ARRAY of __u64. */
int percpu_u64_sum(int map_fd, uint64_t *sum);
/* The same for element @key of such an array. */
int percpu_u64_sum_at(int map_fd, uint32_t key, uint64_t *sum);

/* Before load: size @map, an array indexed by CPU id, to the possible CPUs.
 * 0, or a negative errno. */
int percpu_size_by_cpu(struct bpf_map *map);

#endif
