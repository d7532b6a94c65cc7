#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The fentry and kprobe backends' call frames, one ring per
# CPU (bpf/confirm.bpf.h), through their own BPF code: tests/tools/nw-frames.c
# runs tests/bpf/frames.bpf.c with BPF_PROG_TEST_RUN on the CPUs it picks,
# one push or take at a time: nested calls, threads preempted inside the
# call, a thread moved to another CPU (unsupported on one CPU), returns the
# kernel skipped, a full ring.  One result line per case.  This host attaches
# neither backend; the frames are plain BPF and run here all the same.
. "$(dirname "$0")/../lib/e2e.sh"

obj=$NW_TOOLS/frames.bpf.o
[ -x "$NW_TOOLS/nw-frames" ] && [ -f "$obj" ] || fail "nw-frames or frames.bpf.o not built (make tests)"
"$NW_TOOLS/nw-frames" "$obj"
