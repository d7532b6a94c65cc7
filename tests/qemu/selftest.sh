#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# selftest.sh [TIMEOUT]: the QEMU harness's own end-to-end test.  Prepares the
# Debian cloud kernel, builds the static BPF probe, builds an initramfs with
# the nat, probe and ipvs scenarios and boots it.  Exit status as run.sh's.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$ROOT/tests/qemu
OUT=$ROOT/build/qemu

release=$("$HERE/prepare.sh")
probe=$("$HERE/probe/build.sh" "$OUT/probe")
"$HERE/mkinitramfs.sh" -k "$OUT/$release" -o "$OUT/selftest.cpio.gz" -f "$probe" \
	-s "$HERE/scenarios/nat.sh" -s "$HERE/scenarios/probe.sh" -s "$HERE/scenarios/ipvs.sh"
exec "$HERE/run.sh" "$OUT/$release" "$OUT/selftest.cpio.gz" "${1:-180}"
