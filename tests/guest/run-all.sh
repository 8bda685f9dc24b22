#!/bin/bash
# Runs every guest test script (tests/guest/NN-*.sh) in this guest, one
# after the other; each prints its own TAP.  Exits non-zero if any failed.
# JVPN_GUEST_TESTS="10 20" limits the run to scripts with those numbers.
set -u
dir=$(cd "$(dirname "$0")" && pwd)
rc=0
for t in "$dir"/[0-9][0-9]-*.sh; do
	num=$(basename "$t" | cut -c1-2)
	if [ -n "${JVPN_GUEST_TESTS:-}" ] && [[ " $JVPN_GUEST_TESTS " != *" $num "* ]]; then
		continue
	fi
	echo "# guest test: $(basename "$t")"
	start=$SECONDS
	bash "$t" || { rc=1; echo "# $(basename "$t") failed"; }
	echo "# $(basename "$t") took $((SECONDS - start))s"
done
exit $rc
