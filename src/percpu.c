// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "percpu.h"

int percpu_u64_sum(int map_fd, uint64_t *sum)
{
	return percpu_u64_sum_at(map_fd, 0, sum);
}

int percpu_u64_sum_at(int map_fd, uint32_t key, uint64_t *sum)
{
	int ncpus = libbpf_num_possible_cpus(); /* libbpf caches it */
	__u64 *vals;
	int err = 0;

	if (ncpus <= 0)
		return ncpus ?: -EINVAL;
	vals = calloc(ncpus, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	if (bpf_map_lookup_elem(map_fd, &key, vals)) {
		err = -errno;
		goto cleanup;
	}
	*sum = 0;
	for (int i = 0; i < ncpus; i++)
		*sum += vals[i];
cleanup:
	free(vals);
	return err;
}

int percpu_size_by_cpu(struct bpf_map *map)
{
	int ncpus = libbpf_num_possible_cpus();

	if (ncpus <= 0)
		return ncpus ?: -EINVAL;
	return bpf_map__set_max_entries(map, (__u32)ncpus);
}
