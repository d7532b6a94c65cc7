# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Sourced by tests/qemu/matrix.sh and tests/bench/qemu-backends.sh (host side).

# expected_backends CONFIG: the natwho backends a kernel built with CONFIG
# must be able to attach, comma-separated.
expected_backends() {
	local config=$1 list=()
	has() { grep -q "^$1=y" "$config"; }
	has CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS && has CONFIG_DEBUG_INFO_BTF && list+=(fentry)
	has CONFIG_KPROBES && has CONFIG_BPF_EVENTS && list+=(kprobe)
	has CONFIG_NETFILTER_BPF_LINK && list+=(netfilter)
	local IFS=,
	echo "${list[*]}"
}
