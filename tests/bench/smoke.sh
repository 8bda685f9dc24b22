#!/bin/bash
# tests/bench/smoke.sh: the bench-smoke test layer.  Runs every benchmark of
# `make bench` for about a second, with tiny N (tests/bench/guest.sh
# --smoke), in one guest, and checks that each produced a number; then runs
# the report generator on those results (into build/bench/smoke/, never
# docs/).  TAP on stdout; no thresholds.
#
# Needs jvpn.ko, build/jvpnctl and build/jvpnd (make module user).  About
# 3 minutes of guest time on an idle host (the failover with jvpnd, one cut
# per cause, is half of it).
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo" || exit 1
out=$repo/build/bench/smoke
rm -rf "$out"
mkdir -p "$out"

for f in jvpn.ko build/jvpnctl build/jvpnd; do
	if ! [ -e "$f" ]; then
		echo "Bail out! $f missing: run make module user"
		exit 1
	fi
done
for t in nlbulk fswitch tcpgap; do
	if ! cc -O2 -Wall -Wextra -Iinclude/uapi -o "build/bench/$t" "tests/bench/$t.c" 2> "$out/cc.log"; then
		echo "not ok - build tests/bench/$t.c"
		sed 's/^/# /' "$out/cc.log"
		exit 1
	fi
	echo "ok - build tests/bench/$t.c"
done

tools/vm/jvpn-vm --timeout "${JVPN_BENCH_SMOKE_TIMEOUT:-900}" --log "$out/guest.tap" -- \
	tests/bench/guest.sh --smoke
rc=$?

res=$(sed -n 's/^# bench-results: //p' "$out/guest.tap" | head -n 1)
if [ -n "$res" ] && [ -s "$res/results.tsv" ] &&
	python3 tests/bench/report.py "$res" --md "$out/benchmarks.md" \
		--plots "$out/plots" > "$out/report.log" 2>&1 &&
	! grep -q 'report: plot:' "$out/report.log"; then
	echo "ok - report generator on the smoke results ($out/benchmarks.md)"
else
	echo "not ok - report generator on the smoke results"
	[ -f "$out/report.log" ] && sed 's/^/# /' "$out/report.log"
	[ "$rc" -ne 0 ] || rc=1
fi
exit "$rc"
