#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# build.sh [OUTDIR]: build the harness self-test `probe`, statically linked
# (-static -lbpf -lelf -lz) so the initramfs needs no shared library for it.
# Default OUTDIR: build/qemu/probe.  Prints the binary's path.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
SRC=$ROOT/tests/qemu/probe
OUT=${1:-$ROOT/build/qemu/probe}
CLANG=${CLANG:-clang}
BPFTOOL=${BPFTOOL:-bpftool}
WARN=(-Wall -Wextra -Werror)

mkdir -p "$OUT"
# -Wno-unused-parameter: libbpf's BPF_PROG/BPF_KPROBE macros declare an unused ctx.
"$CLANG" -g -O2 -target bpf -D__TARGET_ARCH_x86 "${WARN[@]}" -I"$ROOT/vmlinux/x86" -I"$SRC" \
	-Wno-unused-parameter -c "$SRC/probe.bpf.c" -o "$OUT/probe.bpf.o"
# Drop DWARF: the skeleton embeds the object, BTF is all libbpf needs.
"${LLVM_STRIP:-llvm-strip}" -g "$OUT/probe.bpf.o"
"$BPFTOOL" gen skeleton "$OUT/probe.bpf.o" name probe_bpf > "$OUT/probe.skel.h"
"$CLANG" -g -O2 "${WARN[@]}" -std=gnu11 -D_GNU_SOURCE -I"$OUT" -I"$SRC" -static \
	"$SRC/probe.c" -lbpf -lelf -lz -o "$OUT/probe"
echo "$OUT/probe"
