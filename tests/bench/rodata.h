/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
#ifndef NW_BENCH_RODATA_H
#define NW_BENCH_RODATA_H

#include <stddef.h>
#include <bpf/libbpf.h>

/*
 * The .rodata variable @name (@size bytes) of @obj, writable until load,
 * or NULL (libbpf 1.1 has no API for it without a skeleton).
 */
void *bench_rodata_var(struct bpf_object *obj, const char *name, size_t size);

#endif
