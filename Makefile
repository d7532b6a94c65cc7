# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# natwho: `make` builds ./natwho; `make check` installs what the tests need
# and runs every test; `make demo` replays the incident in throwaway network
# namespaces.  `make V=1` shows the commands.

OUTPUT ?= build
CLANG ?= clang
BPFTOOL ?= bpftool
CC ?= cc
PREFIX ?= /usr/local

ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
ifeq ($(filter x86 arm64,$(ARCH)),)
$(error natwho: unsupported architecture '$(ARCH)': add vmlinux/$(ARCH)/vmlinux.h and a __TARGET_ARCH mapping)
endif
VMLINUX_DIR := vmlinux/$(ARCH)

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

VERSION := 0.1.0
WARN := -Wall -Wextra -Werror
CFLAGS ?= -g -O2
ALL_CFLAGS := $(CFLAGS) $(WARN) -std=gnu11 -D_GNU_SOURCE -DNATWHO_VERSION='"$(VERSION)"' \
	-Iinclude -Isrc -I$(OUTPUT) -MMD -MP
# BPF ISA v3 (Linux >= 5.1; natwho needs 5.13): 32-bit jumps and
# subregisters, and the atomic compare-and-swaps of bpf/common.bpf.h (the
# event stage, every object) and bpf/confirm.bpf.h (the call frames),
# BPF atomics being Linux 5.12+.  tests/bench/confirm-proxy.sh reads this line.
BPF_MCPU := -mcpu=v3
BPF_CFLAGS := -g -O2 -target bpf $(BPF_MCPU) -D__TARGET_ARCH_$(ARCH) $(WARN) -I$(VMLINUX_DIR) -Iinclude
# BPF_PROG/BPF_KPROBE declare a ctx argument the program may not use.
BPF_CFLAGS += -Wno-unused-parameter -MMD -MP
LDLIBS := -lbpf -lelf -lzstd -lz -ljson-c

# One BPF object per attach family; each becomes a skeleton in natwho.
BPF_PROGS := nf fentry fentry_btf kprobe kprobe_btf cgroup proctree
BPF_OBJS := $(patsubst %,$(OUTPUT)/%.bpf.o,$(BPF_PROGS))
SKELS := $(patsubst %,$(OUTPUT)/%.skel.h,$(BPF_PROGS))

# Pure modules (no BPF): unit-tested and fuzzed without root.
CORE_SRCS := src/parse.c src/decode.c src/fmt.c src/out.c src/sink.c src/log.c src/ring.c src/ctstat.c
K8S_SRCS := src/kindex.c src/k8s_store.c src/k8s_json.c src/k8s_snapshot.c src/k8s_local.c src/k8s_annotate.c src/k8s_annot.c src/k8s_audit.c src/ruleset_ipt.c src/ruleset_nft.c src/ruleset_ipset.c src/ruleset_ipvs.c
CAPFILE_SRCS := src/capfile.c src/crc32.c src/filter.c src/record.c src/replay.c src/verdict.c
PURE_SRCS := $(CORE_SRCS) $(K8S_SRCS) $(CAPFILE_SRCS)
# The loader: BPF, capture, CLI.
LOADER_SRCS := src/natwho.c src/opts.c src/knowledge.c src/netns.c src/nft_nl.c src/capture.c src/backend_nf.c src/nf_compat.c src/percpu.c \
	src/cgroup.c src/cgroup_path.c \
	src/backend_confirm.c src/proctree.c src/runcmd.c

PURE_OBJS := $(patsubst src/%.c,$(OUTPUT)/%.o,$(PURE_SRCS))
LOADER_OBJS := $(patsubst src/%.c,$(OUTPUT)/%.o,$(LOADER_SRCS))

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(UNIT_SRCS))
TOOL_SRCS := $(wildcard tests/tools/*.c)
TOOL_BINS := $(patsubst tests/tools/%.c,$(OUTPUT)/tests/%,$(TOOL_SRCS))
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(OUTPUT)/fuzz/%,$(FUZZ_SRCS))

.DELETE_ON_ERROR:
# Keep the BPF objects and skeletons (intermediates of natwho); nothing
# else is intermediate, so a wiped $(OUTPUT) still rebuilds natwho.
.SECONDARY: $(BPF_OBJS) $(SKELS)
.PHONY: all clean deps check unit e2e fuzz demo bench install vmlinux tests

all: natwho

$(OUTPUT) $(OUTPUT)/tests $(OUTPUT)/fuzz:
	$(Q)mkdir -p $@

# What the build needs, checked once before the first compile, so that a
# machine without it gets one line naming what is missing rather than the
# first compiler error.  The stamp is removed by `make clean`.
BUILD_TOOLS = $(CC) $(CLANG) $(BPFTOOL)
BUILD_HEADERS := bpf/libbpf.h gelf.h zstd.h zlib.h json-c/json.h
$(OUTPUT)/.build-deps: | $(OUTPUT)
	$(Q)missing=; \
	for t in $(BUILD_TOOLS); do \
		command -v $$t >/dev/null 2>&1 || missing="$$missing $$t"; \
	done; \
	for h in $(BUILD_HEADERS); do \
		printf '#include <%s>\n' $$h | $(CC) $(CFLAGS) -E -x c - -o /dev/null 2>/dev/null || \
			missing="$$missing <$$h>"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "natwho: cannot build, missing:$$missing; 'make deps' (as root) installs them from Debian packages (tests/deps.sh)" >&2; \
		exit 1; \
	fi
	$(Q)touch $@

$(OUTPUT)/%.bpf.o: bpf/%.bpf.c bpf/common.bpf.h include/natwho.h $(VMLINUX_DIR)/vmlinux.h \
		| $(OUTPUT)/.build-deps
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUTPUT)/%.skel.h: $(OUTPUT)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@

# Generated before any loader object compiles; -MMD then tracks which
# skeleton each object really includes.
$(LOADER_OBJS): | $(SKELS)

$(OUTPUT)/%.o: src/%.c | $(OUTPUT)/.build-deps
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

natwho: $(PURE_OBJS) $(LOADER_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

# Statically linked, for the QEMU guests of tests/qemu: no libraries to copy.
$(OUTPUT)/natwho-static: $(PURE_OBJS) $(LOADER_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -static $^ $(LDLIBS) -o $@

$(OUTPUT)/tests/test_%: tests/unit/test_%.c $(PURE_OBJS) | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -Itests/unit $< $(PURE_OBJS) -lcmocka $(LDLIBS) -o $@

$(OUTPUT)/tests/%: tests/tools/%.c | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $< -lpthread $(TOOL_LIBS) -o $@

$(OUTPUT)/tests/nw-cgprog $(OUTPUT)/tests/nw-frames: TOOL_LIBS := -lbpf

# BPF objects of the tests (tests/bpf/), loaded by their tools.
TEST_BPF_OBJS := $(patsubst tests/bpf/%.c,$(OUTPUT)/tests/%.o,$(wildcard tests/bpf/*.bpf.c))

$(OUTPUT)/tests/%.bpf.o: tests/bpf/%.bpf.c bpf/common.bpf.h include/natwho.h $(VMLINUX_DIR)/vmlinux.h \
		| $(OUTPUT)/tests
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -Ibpf -c $< -o $@

# libFuzzer targets: clang, ASan+UBSan, the pure modules compiled in.
# One compiler call over many sources writes no dependency files: every
# header is a prerequisite instead.
$(OUTPUT)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(PURE_SRCS) $(wildcard src/*.h include/*.h tests/fuzz/*.h) \
		| $(OUTPUT)/fuzz
	$(call msg,FUZZ,$@)
	$(Q)$(CLANG) -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-std=gnu11 -D_GNU_SOURCE -DNATWHO_VERSION='"$(VERSION)"' -Iinclude -Isrc \
		$< $(PURE_SRCS) $(LDLIBS) -o $@

tests: natwho $(UNIT_BINS) $(TOOL_BINS) $(TEST_BPF_OBJS) $(FUZZ_BINS)

deps:
	$(Q)tests/deps.sh

unit: $(UNIT_BINS)
	$(Q)tests/run.sh unit

e2e: natwho $(TOOL_BINS) $(TEST_BPF_OBJS)
	$(Q)tests/run.sh e2e

fuzz: $(FUZZ_BINS)
	$(Q)tests/run.sh fuzz

# Everything, the way CI runs it.
check: deps
	$(Q)$(MAKE) --no-print-directory tests
	$(Q)tests/run.sh all

demo: deps
	$(Q)$(MAKE) --no-print-directory natwho $(TOOL_BINS)
	$(Q)tests/demo.sh

# Pure-module micro benchmarks, linked with the pure objects.
$(OUTPUT)/bench/bench_%: tests/bench/bench_%.c $(PURE_OBJS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) $< $(PURE_OBJS) $(LDLIBS) -o $@

# Issue 7's benchmarks, as root, about 25 minutes; not part of `make check`:
# the index, capture-file and nft-reading micro benchmarks, the connection storm
# (tests/bench/storm.sh: $(OUTPUT)/bench/results.md, with natwho joining and
# leaving one long storm for the 2% verdict: onoff.sh), the fentry/kprobe
# program code timed natively by proxy (confirm-proxy.sh: confirm-proxy.md)
# and the backends themselves in a QEMU guest (qemu-backends.sh:
# qemu-backends.md; 77 = unsupported here is not a failure for either) and
# the recorder (record.sh).
bench: natwho $(TOOL_BINS) $(OUTPUT)/bench/bench_kindex $(OUTPUT)/bench/bench_capfile \
	$(OUTPUT)/bench/bench_nftjson $(OUTPUT)/bench/bench_ipvs
	$(Q)$(OUTPUT)/bench/bench_kindex
	$(Q)$(OUTPUT)/bench/bench_capfile
	$(Q)$(OUTPUT)/bench/bench_nftjson
	$(Q)$(OUTPUT)/bench/bench_ipvs
	$(Q)OUTPUT=$(OUTPUT) tests/bench/storm.sh
	$(Q)OUTPUT=$(OUTPUT) tests/bench/confirm-proxy.sh || [ $$? -eq 77 ]
	$(Q)OUTPUT=$(OUTPUT) tests/bench/qemu-backends.sh || [ $$? -eq 77 ]
	$(Q)OUTPUT=$(OUTPUT) tests/bench/record.sh

# Regenerate the checked-in vmlinux.h from this machine's kernel BTF.
vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $(VMLINUX_DIR)/vmlinux.h

install: natwho
	install -D -m 0755 natwho $(DESTDIR)$(PREFIX)/sbin/natwho
	install -D -m 0644 src/natwho.8 $(DESTDIR)$(PREFIX)/share/man/man8/natwho.8

clean:
	$(Q)rm -rf $(OUTPUT) natwho

-include $(wildcard $(OUTPUT)/*.d $(OUTPUT)/tests/*.d $(OUTPUT)/bench/*.d)
