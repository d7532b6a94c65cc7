#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Install what natwho's build, tests and demo need, from Debian packages.
# Idempotent: does nothing (and needs no network) when all are present.
set -euo pipefail

PKGS=(
	make gcc clang llvm bpftool pkg-config	# build
	libbpf-dev libelf-dev libzstd-dev zlib1g-dev libjson-c-dev	# libraries
	libcmocka-dev libclang-rt-14-dev jq	# tests (cmocka, libFuzzer runtime, JSON checks)
	iproute2 iptables nftables conntrack kmod procps zstd	# e2e + demo
)
[ -n "${NATWHO_EXTRA_PKGS:-}" ] && read -r -a extra <<<"$NATWHO_EXTRA_PKGS" && PKGS+=("${extra[@]}")

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "Error: missing packages: ${missing[*]}; run as root (sudo make ...) to install them" >&2
	exit 3
fi
echo "natwho: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
