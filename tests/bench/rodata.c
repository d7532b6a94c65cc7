// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Shared by the bench loaders that open BPF objects without a skeleton
 * (confirm-proxy.c, nf-testrun.c). */
#include <string.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "rodata.h"

void *bench_rodata_var(struct bpf_object *obj, const char *name, size_t size)
{
	const struct btf *btf = bpf_object__btf(obj);
	const struct btf_var_secinfo *vs;
	const struct btf_type *sec;
	struct bpf_map *map;
	size_t len = 0;
	char *data = NULL;
	int id;

	bpf_object__for_each_map(map, obj) {
		const char *n = bpf_map__name(map);
		size_t l = strlen(n);

		if (bpf_map__is_internal(map) && l >= 7 && !strcmp(n + l - 7, ".rodata"))
			/* const in libbpf 1.1; the mapping is writable until load */
			data = (char *)(unsigned long)bpf_map__initial_value(map, &len);
	}
	id = btf ? btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC) : -1;
	if (!data || id < 0)
		return NULL;
	sec = btf__type_by_id(btf, (__u32)id);
	vs = btf_var_secinfos(sec);
	for (int i = 0; i < btf_vlen(sec); i++, vs++) {
		const struct btf_type *var = btf__type_by_id(btf, vs->type);

		if (!strcmp(btf__name_by_offset(btf, var->name_off), name) && vs->size == size &&
		    vs->offset + size <= len)
			return data + vs->offset;
	}
	return NULL;
}
