#!/bin/bash
# Runs every guest test script (tests/guest/NN-*.sh) in this guest, one
# after the other; each prints its own TAP.  Exits non-zero if any failed.
# JVPN_GUEST_TESTS="10 20" limits the run to scripts with those numbers.
#
# Each script has a budget (JVPN_GUEST_TEST_BUDGET seconds, default 480:
# four times the slowest script on a loaded host).  A script that outlives
# it is hung, not slow: its process tree, the kernel stacks of everything
# in it and a backtrace of every jvpnd are printed as TAP diagnostics, the
# script is killed (so its own cleanup runs), it counts as a failure, and
# the scripts after it still run.
set -u
dir=$(cd "$(dirname "$0")" && pwd)
budget=${JVPN_GUEST_TEST_BUDGET:-480}
rc=0

. "$dir/proctree.sh"

# hung_report PID NAME: what PID's tree is doing, as "# " lines.
hung_report() {
	local p
	{
		echo "$2 still running after ${budget}s; its processes:"
		ps -o pid,ppid,stat,etimes,wchan:24,args --forest \
			-p "$1" $(descendants "$1")
		for p in $(descendants "$1"); do
			echo "--- kernel stack of $p ($(cat /proc/"$p"/comm 2>/dev/null)):"
			cat /proc/"$p"/stack 2>/dev/null
		done
		for p in $(pgrep -x jvpnd); do
			echo "--- jvpnd $p ($(tr '\0' ' ' < /proc/"$p"/cmdline 2>/dev/null)):"
			grep -E '^(State|voluntary|nonvoluntary)' /proc/"$p"/status
			cat /proc/"$p"/stack 2>/dev/null
			command -v gdb > /dev/null &&
				timeout 60 gdb -q -batch -p "$p" -ex bt 2>&1 | grep '^#'
		done
		# Anything stuck in the kernel, in or out of the script.
		for p in $(ps -eo pid=,stat= | awk '$2 ~ /^D/ { print $1 }'); do
			echo "--- uninterruptible $p ($(tr '\0' ' ' < /proc/"$p"/cmdline 2>/dev/null)):"
			cat /proc/"$p"/stack 2>/dev/null
		done
		echo w > /proc/sysrq-trigger
		echo "--- kernel log, last lines:"
		dmesg | tail -n 60
	} 2>&1 | sed 's/^/# /'
}

# kill_tree PID: TERM to PID (bash runs the script's cleanup trap as soon
# as the command it waits for is gone), KILL to everything below it.
kill_tree() {
	local p
	kill -TERM "$1" 2> /dev/null
	for p in $(descendants "$1"); do
		kill -KILL "$p" 2> /dev/null
	done
	sleep 10
	kill -KILL "$1" $(descendants "$1") 2> /dev/null
}

# run_one SCRIPT: runs it under the budget; its exit status.  One sleeping
# watchdog per script: under TCG every process start costs 0.1-0.3 s, so
# no polling loop.
run_one() {
	local t=$1 name pid wd st hung
	name=$(basename "$t")
	hung=$TMPDIR_RUN/$name.hung
	bash "$t" &
	pid=$!
	(
		# Killed when the script ends in time: then nothing more.
		sleep "$budget" > /dev/null || exit 0
		: > "$hung"
		hung_report "$pid" "$name"
		kill_tree "$pid"
	) 2> /dev/null &
	wd=$!
	wait "$pid"
	st=$?
	{
		pkill -P "$wd"
		kill -KILL "$wd"
		wait "$wd"
	} 2> /dev/null
	if [ -e "$hung" ]; then
		echo "not ok - $name: no end after ${budget}s, killed"
		return 1
	fi
	return $st
}

# The kernel modules nftables NAT and conntrack need, loaded once now: a
# module that registers per-namespace state waits for every namespace
# being torn down (the previous script's), and a test's first `nft` would
# otherwise load them mid-test.
modprobe -a nf_tables nf_conntrack nf_nat nft_chain_nat nft_ct 2> /dev/null

TMPDIR_RUN=$(mktemp -d)
trap 'rm -rf "$TMPDIR_RUN"' EXIT

for t in "$dir"/[0-9][0-9]-*.sh; do
	num=$(basename "$t" | cut -c1-2)
	if [ -n "${JVPN_GUEST_TESTS:-}" ] && [[ " $JVPN_GUEST_TESTS " != *" $num "* ]]; then
		continue
	fi
	echo "# guest test: $(basename "$t")"
	start=$SECONDS
	run_one "$t" || { rc=1; echo "# $(basename "$t") failed"; }
	echo "# $(basename "$t") took $((SECONDS - start))s"
done
exit $rc
