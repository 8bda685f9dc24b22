#!/bin/bash
# tests/bench/run.sh: `make bench`.  Boots one guest that runs every
# benchmark (tests/bench/guest.sh), keeps the raw results in
# build/bench/<date>/, and writes docs/benchmarks.md and docs/bench/*.png
# (tests/bench/report.py).
#
#   tests/bench/run.sh [SECTION...]    sections: dataplane profile failover
#                                      failover_jvpnd scale (default: all)
#
# Knobs (environment, passed into the guest): JVPN_BENCH_REPS (3),
# JVPN_BENCH_SECS (3), JVPN_BENCH_PINGS (200), JVPN_BENCH_CUTS (20),
# JVPN_BENCH_WG_CUTS (10), JVPN_BENCH_FJ_CUTS (20: cuts per cause of the
# failover with jvpnd), JVPN_BENCH_FJ_CAUSES ("down netem nft nat"),
# JVPN_BENCH_FJ_TCP_KBIT (2000: the TCP streams during those cuts),
# JVPN_BENCH_SCALE ("1 1000 10000 100000"), JVPN_BENCH_SCALE_REPS (3),
# JVPN_BENCH_PERF_SECS (4); on the host: JVPN_BENCH_WAIT_QUIET (300: seconds
# to wait for the host's load to drop), BENCH_MEM (guest MB, 4096),
# BENCH_TIMEOUT (guest seconds, 3600),
# BENCH_MD (docs/benchmarks.md), BENCH_PLOTS (docs/bench).
#
# The control plane (tests/bench/cplane.c: jvpnd's own code, natively, no
# guest) runs first, on the host, into build/bench/<date>/cplane.json:
# JVPN_BENCH_CPLANE (1; 0 skips it), JVPN_BENCH_CPLANE_ARGS (more arguments,
# e.g. "--sessions 1000,10000").
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo" || exit 1

out=$repo/build/bench/$(date -u +%Y%m%d-%H%M%S)
mkdir -p "$out"
md=${BENCH_MD:-docs/benchmarks.md}
plots=${BENCH_PLOTS:-docs/bench}
mem=${BENCH_MEM:-4096}
timeout=${BENCH_TIMEOUT:-3600}

for f in jvpn.ko build/jvpnctl build/jvpnd; do
	[ -e "$f" ] || { echo "bench: $f missing: run 'make module user' (or make bench)" >&2; exit 1; }
done
# The bulk session installer and the failover controller: plain C files
# against the uapi header.
mkdir -p build/bench
for t in nlbulk fswitch tcpgap; do
	cc -O2 -Wall -Wextra -Iinclude/uapi -o "build/bench/$t" "tests/bench/$t.c" || exit 1
done

{
	echo "date	$(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "host_cpu	$(nproc) x $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
	echo "host_mem	$(sed -n 's/^MemTotal: *//p' /proc/meminfo)"
	echo "host_kernel	$(uname -r)"
	echo "host_os	$(. /etc/os-release && echo "$PRETTY_NAME")"
	echo "qemu	$(qemu-system-x86_64 --version | head -n 1)"
	echo "git	$(git describe --always --dirty 2> /dev/null || echo unknown)"
	echo "jvpn_ko	sha256 $(sha256sum jvpn.ko | cut -c1-16), built $(date -u -r jvpn.ko '+%Y-%m-%d %H:%M UTC')"
	echo "command	make bench  (tests/bench/run.sh $*)"
	echo "guest_command	tools/vm/jvpn-vm --mem $mem --timeout $timeout -- tests/bench/guest.sh $*"
	echo "knobs	$(env | grep '^JVPN_BENCH_' | tr '\n' ' ')"
} > "$out/host-env.txt"

# The guest is emulated on a shared host: other work on the host's CPUs
# moves the ratios (see "Run-to-run variation" in the report).  Wait a
# while for a quiet host (JVPN_BENCH_WAIT_QUIET seconds, 0: do not wait).
quiet=${JVPN_BENCH_WAIT_QUIET:-300}
limit=$(($(nproc) * 3 / 4))
[ "$limit" -ge 1 ] || limit=1
waited=0
while read -r load _ < /proc/loadavg && [ "${load%.*}" -ge "$limit" ] && [ "$waited" -lt "$quiet" ]; do
	[ "$waited" -gt 0 ] || echo "bench: host load $load >= $limit, waiting up to ${quiet}s for a quieter host" >&2
	sleep 10
	waited=$((waited + 10))
done
echo "host_load_at_start	$(cut -d' ' -f1-3 /proc/loadavg) (waited ${waited}s)" >> "$out/host-env.txt"

# The control plane on the quiet host, before the guest competes for its
# CPUs.  A violated invariant is reported in the document, like any failed
# measurement.
if [ "${JVPN_BENCH_CPLANE:-1}" != 0 ]; then
	cstart=$SECONDS
	if make -s build/bench/cplane > "$out/cplane.log" 2>&1; then
		# shellcheck disable=SC2086 # the arguments are words
		build/bench/cplane ${JVPN_BENCH_CPLANE_ARGS:-} > "$out/cplane.json" 2>> "$out/cplane.log"
		crc=$?
	else
		crc=build-failed
	fi
	{
		echo "cplane_command	build/bench/cplane ${JVPN_BENCH_CPLANE_ARGS:-}"
		echo "cplane_seconds	$((SECONDS - cstart))"
		echo "cplane_status	$crc"
		echo "cplane_load_after	$(cut -d' ' -f1-3 /proc/loadavg)"
	} >> "$out/host-env.txt"
	echo "bench: control plane done (status $crc): $out/cplane.json" >&2
fi

# The host is shared (other guests, builds): its load is part of the context.
(while :; do
	echo "$(date +%s) $(cut -d' ' -f1-3 /proc/loadavg)"
	sleep 10
done) > "$out/host-load.txt" &
sampler=$!

start=$SECONDS
tools/vm/jvpn-vm --mem "$mem" --timeout "$timeout" --log "$out/guest.tap" -- \
	tests/bench/guest.sh "$@"
rc=$?
kill "$sampler" 2> /dev/null
wait "$sampler" 2> /dev/null
echo "guest_seconds	$((SECONDS - start))" >> "$out/host-env.txt"
echo "guest_status	$rc" >> "$out/host-env.txt"

res=$(sed -n 's/^# bench-results: //p' "$out/guest.tap" | head -n 1)
if [ -z "$res" ] || ! [ -s "$res/results.tsv" ]; then
	echo "bench: the guest produced no results (status $rc); see $out/guest.tap" >&2
	exit 1
fi
cp -a "$res/." "$out/"
python3 tests/bench/report.py "$out" --md "$md" --plots "$plots" || exit 1
echo "bench: $md written from $out (guest status $rc)"
# A failed measurement is reported in the document; only a run that
# produced nothing fails make bench.
exit 0
