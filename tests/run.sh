#!/bin/bash
# Runs every test layer and ends with one line: "N passed, N failed".
#
#   tests/run.sh [LAYER...]      layers: style unit kunit dkms guest bench-smoke
#
# Each layer prints TAP; this script shows it, keeps a log per layer in
# build/test-logs/, and counts "ok"/"not ok" lines.  A layer that exits
# non-zero without reporting a failing test counts as one failure, so a
# crash or a timeout can never pass silently.
set -u
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo" || exit 1
logs=$repo/build/test-logs
mkdir -p "$logs"

layer_style() { tools/checkpatch.sh; }

layer_unit() {
	local t rc=0
	for t in build/tests/unit/test_*; do
		[ -x "$t" ] || continue
		echo "# unit: $t"
		"$t" || rc=1
	done
	return $rc
}

layer_kunit() { tests/kunit/run.sh; }

layer_dkms() { tests/dkms.sh; }

layer_guest() {
	tools/vm/jvpn-vm --timeout "${JVPN_GUEST_TIMEOUT:-2700}" -- \
		tests/guest/run-all.sh
}

# Every benchmark of `make bench` for about a second, in one guest: each
# must yield a number (no thresholds); the report generator runs on the
# result into build/bench/smoke/, never docs/.  Then the native
# control-plane benchmark with tiny N, on the host (build/bench/cplane-smoke/).
layer_bench_smoke() {
	local rc=0
	tests/bench/smoke.sh || rc=1
	tests/bench/cplane-smoke.sh || rc=1
	return $rc
}

passed=0
failed=0
summary=()
layers=("$@")
[ ${#layers[@]} -gt 0 ] || layers=(style unit kunit dkms guest bench-smoke)

for layer in "${layers[@]}"; do
	log=$logs/$layer.log
	echo "=== $layer"
	start=$SECONDS
	"layer_${layer//-/_}" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	p=$(grep -cE '^ok\b' "$log")
	f=$(grep -cE '^not ok\b' "$log")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $layer: exited with status $rc"
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	summary+=("$(printf '%-11s %4d passed, %3d failed, %4ds' "$layer" "$p" "$f" $((SECONDS - start)))")
done

echo "=== summary"
printf '%s\n' "${summary[@]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
