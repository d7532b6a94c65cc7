#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# --help, the man page and the README name the same options.
set -euo pipefail
cd "$(dirname "$0")/.."
NATWHO=${NATWHO:-./natwho}

help_opts=$("$NATWHO" --help | grep -oE -- '--[a-z][a-z0-9-]+' | sort -u)
man_opts=$(sed -e 's/\\f[BIRP]//g' -e 's/\\//g' src/natwho.8 | grep -oE -- '--[a-z][a-z0-9-]+' | sort -u)
readme_opts=$(grep -E '^\| `-' README.md | grep -oE -- '--[a-z][a-z0-9-]+' | sort -u)
[ -n "$help_opts" ] || { echo "no options in --help"; exit 1; }

rc=0
for doc in man readme; do
	opts=${doc}_opts
	missing=$(comm -23 <(echo "$help_opts") <(echo "${!opts}"))
	extra=$(comm -13 <(echo "$help_opts") <(echo "${!opts}"))
	if [ -n "$missing" ]; then
		echo "in --help but not in $doc:" $missing
		rc=1
	fi
	if [ -n "$extra" ]; then
		echo "in $doc but not in --help:" $extra
		rc=1
	fi
done
[ $rc -eq 0 ] && echo "ok: --help, natwho.8 and README.md agree on $(echo "$help_opts" | wc -l) options"
exit $rc
