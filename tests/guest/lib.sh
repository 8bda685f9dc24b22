# shellcheck shell=bash
# tests/guest/lib.sh: helpers for jvpn's guest test scripts (bash).
#
# A guest test is a bash script run inside the QEMU guest by tools/vm/jvpn-vm;
# it sources this file and prints TAP:
#
#	#!/bin/bash
#	set -euo pipefail
#	. "$(dirname "$0")/lib.sh"
#	ns_create a b
#	veth_pair a veth0 b veth0
#	check "ping over veth" n a ping -c 1 192.168.1.2
#	tap_done
#
# Everything created through these helpers (namespaces, background processes,
# the jvpn module) is torn down when the script exits, however it exits.
# Scratch files go to $TEST_TMP; when a test fails and the script runs under
# jvpn-vm, $TEST_TMP is copied to the run's results directory for post-mortem.
#
# Cost model: under TCG every exec of a dynamically linked program takes
# 0.1-0.3 s, so the helpers avoid needless subprocesses.

: "${JVPN_REPO:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
. "$(dirname "${BASH_SOURCE[0]}")/proctree.sh"
export JVPN_REPO

TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/jvpn-test.XXXXXX")
export TEST_TMP

# TAP lines go to the script's original stdout through their own descriptor,
# so they still reach the TAP stream when printed from inside check's
# capture, from $(...), or by the cleanup after an exit inside a check.
exec {_tap_fd}>&1

_tap_n=0
_tap_failed=0
_tap_plan=
_tap_finished=
_ns_list=()
_bg_pids=()
_jvpn_loaded=

# ------------------------------------------------------------------- TAP

# diag TEXT...: prints every line of every (non-empty) TEXT as a TAP comment.
diag() {
	local text line
	for text in "$@"; do
		[ -n "$text" ] || continue
		while IFS= read -r line; do
			echo "# $line" >&"$_tap_fd"
		done <<< "$text"
	done
	return 0
}

tap_plan() {
	_tap_plan=$1
	echo "1..$1" >&"$_tap_fd"
}

ok() {
	_tap_n=$((_tap_n + 1))
	echo "ok $_tap_n - $1" >&"$_tap_fd"
}

# not_ok DESC [DETAIL...]: each DETAIL is printed as comment lines.
not_ok() {
	_tap_n=$((_tap_n + 1))
	_tap_failed=$((_tap_failed + 1))
	echo "not ok $_tap_n - $1" >&"$_tap_fd"
	shift
	diag "$@"
	return 0
}

skip() {
	_tap_n=$((_tap_n + 1))
	echo "ok $_tap_n - $1 # SKIP ${2-}" >&"$_tap_fd"
}

# check DESC CMD...: runs CMD in this shell (so functions may set variables),
# its output captured to a file rather than $(...) so a background process it
# leaves behind cannot hang the test.  Returns CMD's status, so a script under
# `set -e` stops at the first failed check unless it writes `check ... || true`.
check() {
	local desc=$1 rc=0
	shift
	"$@" > "$TEST_TMP/check.out" 2>&1 || rc=$?
	if [ "$rc" -eq 0 ]; then
		ok "$desc"
	else
		not_ok "$desc" "command: $* (exit $rc)" "$(tail -n 30 "$TEST_TMP/check.out")"
	fi
	return "$rc"
}

# Stops the script: TAP's way of saying the rest cannot run.
bail_out() {
	echo "Bail out! $*" >&"$_tap_fd"
	exit 1
}

# Prints the plan (unless tap_plan did) and a summary; fails if any test
# failed or the count does not match the plan.
tap_done() {
	_tap_finished=1
	[ -n "$_tap_plan" ] || echo "1..$_tap_n" >&"$_tap_fd"
	if [ -n "$_tap_plan" ] && [ "$_tap_plan" -ne "$_tap_n" ]; then
		diag "planned $_tap_plan tests but ran $_tap_n"
		return 1
	fi
	if [ "$_tap_failed" -gt 0 ]; then
		diag "$_tap_failed of $_tap_n failed"
		return 1
	fi
	return 0
}

# ------------------------------------------------------ waiting and processes

# wait_for [-t SECONDS] CMD...: retries CMD (output discarded) every 0.1 s
# until it succeeds; default 10 s (TCG is slow).  On timeout, says so with
# CMD's last output and returns 1.
wait_for() {
	local timeout=10
	if [ "${1-}" = -t ]; then
		timeout=$2
		shift 2
	fi
	# EPOCHREALTIME (bash 5) as integer milliseconds.
	local now=${EPOCHREALTIME/[.,]/}
	local deadline=$((now / 1000 + timeout * 1000))
	while :; do
		"$@" > "$TEST_TMP/wait_for.out" 2>&1 && return 0
		now=${EPOCHREALTIME/[.,]/}
		[ $((now / 1000)) -lt "$deadline" ] || break
		sleep 0.1
	done
	diag "wait_for: gave up after ${timeout}s: $*" "$(tail -n 10 "$TEST_TMP/wait_for.out")"
	return 1
}

# bg_run CMD...: starts CMD in the background, output to a log file; sets
# BG_PID and BG_LOG.  The process is killed when the script exits (or
# earlier with bg_kill).  `bg_run n NS cmd` runs cmd in namespace NS.
bg_run() {
	local name=${1##*/}
	# Exec ns_exec/n's ip directly so BG_PID is the real process and not a
	# subshell that would die on SIGTERM and orphan the command.
	case $1 in
	n | ns_exec)
		name=${3##*/}
		set -- ip netns exec "${@:2}" ;;
	esac
	BG_LOG=$TEST_TMP/bg.$((${#_bg_pids[@]} + 1)).$name.log
	"$@" > "$BG_LOG" 2>&1 &
	BG_PID=$!
	_bg_pids+=("$BG_PID")
}

# Kills PID and, first, its descendants (a shell function run by bg_run is a
# subshell whose children would otherwise survive it).
_kill_tree() {
	# shellcheck disable=SC2046 # one pid per word
	kill "-$2" $(descendants "$1") "$1" 2>/dev/null
	return 0
}

# bg_kill [PID...]: stops the given background processes (default: all
# started by bg_run), TERM first, KILL after 2 s.
# shellcheck disable=SC2120 # the arguments are for test scripts
bg_kill() {
	local pids=("$@") pid i
	[ $# -gt 0 ] || pids=("${_bg_pids[@]}")
	for pid in "${pids[@]}"; do
		_kill_tree "$pid" TERM
	done
	for ((i = 0; i < 20; i++)); do
		for pid in "${pids[@]}"; do
			kill -0 "$pid" 2>/dev/null && break
			pid=
		done
		[ -n "$pid" ] || break
		sleep 0.1
	done
	for pid in "${pids[@]}"; do
		kill -0 "$pid" 2>/dev/null && _kill_tree "$pid" KILL
		wait "$pid" 2>/dev/null
	done
	return 0
}

# ------------------------------------------------------------- namespaces

# ns_create NAME...: fresh network namespaces with loopback up.
ns_create() {
	local ns
	for ns in "$@"; do
		if [ -e "/run/netns/$ns" ]; then
			ip netns del "$ns" || return 1
		fi
		ip netns add "$ns" || return 1
		_ns_list+=("$ns")
		ip -n "$ns" link set lo up || return 1
	done
}

# ns_exec NAME CMD... (alias: n NAME CMD...)
ns_exec() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}
n() { ns_exec "$@"; }

# veth_pair NS1 IF1 NS2 IF2: a veth pair with IF1 in NS1 and IF2 in NS2, up.
veth_pair() {
	ip link add "$2" netns "$1" type veth peer name "$4" netns "$3" || return 1
	ip -n "$1" link set "$2" up && ip -n "$3" link set "$4" up
}

# wait_listen NS PORT [tcp|udp]: waits until something listens on PORT in NS.
wait_listen() {
	local proto=${3:-tcp}
	wait_for -t "${WAIT_LISTEN_TIMEOUT:-10}" _listening "$1" "$2" "${proto:0:1}"
}
_listening() {
	[ -n "$(ip netns exec "$1" ss -Hln"$3" "sport = :$2")" ]
}

# ---------------------------------------------------------------- modules

# jvpn_load [PARAM=VALUE...]: loads jvpn.ko from the repository top level
# (or $JVPN_KO) after its dependencies; a stale copy is unloaded first.
jvpn_load() {
	local ko=${JVPN_KO:-$JVPN_REPO/jvpn.ko}
	if ! [ -f "$ko" ]; then
		diag "jvpn_load: $ko not found; build it on the host first (make module)"
		return 1
	fi
	modprobe -a udp_tunnel ip6_udp_tunnel libchacha20poly1305 || return 1
	if [ -d /sys/module/jvpn ]; then
		jvpn_unload || return 1
	fi
	insmod "$ko" "$@" || return 1
	_jvpn_loaded=1
}

# jvpn_unload: rmmod jvpn, retried for a while because namespace teardown
# releases the module's devices asynchronously.
jvpn_unload() {
	[ -d /sys/module/jvpn ] || return 0
	wait_for -t 10 rmmod jvpn || return 1
	_jvpn_loaded=
}

# ----------------------------------------------------------- measurements

# ping_stats NS DEST [COUNT] [INTERVAL] [PING ARGS...]: pings DEST from NS
# (default 100 packets every 10 ms), prints a "# ping ..." comment and sets
# PING_SENT, PING_RECV, PING_LOSS (percent, one decimal) and PING_RTT_AVG (ms,
# empty if nothing came back).  Fails only if ping could not send at all.
ping_stats() {
	local ns=$1 dst=$2 count=${3:-100} ival=${4:-0.01} out re loss10
	shift $(($# < 4 ? $# : 4))
	# -W 1: after the last packet, wait at most 1 s for stragglers.
	out=$(ip netns exec "$ns" ping -q -n -i "$ival" -c "$count" -W 1 "$@" "$dst" 2>&1)
	re='([0-9]+) packets transmitted, ([0-9]+) received'
	if ! [[ $out =~ $re ]] || [ "${BASH_REMATCH[1]}" -eq 0 ]; then
		diag "ping $dst from $ns failed:" "$out"
		PING_SENT=0 PING_RECV=0 PING_LOSS=100.0 PING_RTT_AVG=
		return 1
	fi
	PING_SENT=${BASH_REMATCH[1]}
	PING_RECV=${BASH_REMATCH[2]}
	loss10=$(((PING_SENT - PING_RECV) * 1000 / PING_SENT))
	PING_LOSS=$((loss10 / 10)).$((loss10 % 10))
	re='= [0-9.]+/([0-9.]+)/'
	PING_RTT_AVG=
	[[ $out =~ $re ]] && PING_RTT_AVG=${BASH_REMATCH[1]}
	diag "ping $dst from $ns: sent $PING_SENT received $PING_RECV loss $PING_LOSS%${PING_RTT_AVG:+ rtt avg $PING_RTT_AVG ms}"
}

# iperf_tcp SERVER_NS CLIENT_NS DEST [SECONDS] [IPERF3 CLIENT ARGS...]:
# one iperf3 TCP stream from CLIENT_NS to DEST (served in SERVER_NS, port
# $IPERF_PORT or 5201); prints the received throughput in Mbit/s (e.g. 87.3).
# Self-contained, so mbps=$(iperf_tcp ...) is safe.
iperf_tcp() {
	local srv=$1 cli=$2 dst=$3 secs=${4:-2} port=${IPERF_PORT:-5201} spid json rc=0
	shift $(($# < 4 ? $# : 4))
	ip netns exec "$srv" iperf3 -s -1 -p "$port" > "$TEST_TMP/iperf-server.log" 2>&1 &
	spid=$!
	if ! wait_listen "$srv" "$port" tcp; then
		kill "$spid" 2>/dev/null
		return 1
	fi
	json=$(ip netns exec "$cli" iperf3 -c "$dst" -p "$port" -t "$secs" -J "$@") || rc=$?
	kill "$spid" 2>/dev/null
	wait "$spid" 2>/dev/null
	if [ "$rc" -ne 0 ]; then
		diag "iperf3 to $dst failed: $(jq -r '.error // empty' <<< "$json" 2>/dev/null)"
		return 1
	fi
	printf '%.1f\n' "$(jq -r '.end.sum_received.bits_per_second / 1e6' <<< "$json")"
}

# wg_tunnel NS1 ADDR1/PFX NS2 ADDR2/PFX UNDERLAY1 UNDERLAY2 [DEV]: a WireGuard
# tunnel (Debian's module) between two namespaces whose underlay addresses
# already reach each other; the reference jvpn is measured against.
wg_tunnel() {
	local ns1=$1 a1=$2 ns2=$3 a2=$4 u1=$5 u2=$6 dev=${7:-wg0} port=51820
	local k1=$TEST_TMP/wg.$ns1.$dev.key k2=$TEST_TMP/wg.$ns2.$dev.key p1 p2
	modprobe wireguard || return 1
	(umask 077 && wg genkey > "$k1" && wg genkey > "$k2") || return 1
	p1=$(wg pubkey < "$k1") && p2=$(wg pubkey < "$k2") || return 1
	_wg_end "$ns1" "$dev" "$a1" "$k1" "$p2" "$u2" "$a2" "$port" &&
		_wg_end "$ns2" "$dev" "$a2" "$k2" "$p1" "$u1" "$a1" "$port"
}
_wg_end() {
	local ns=$1 dev=$2 addr=$3 key=$4 peer=$5 endpoint=$6 peer_addr=${7%/*} port=$8
	local host=/32
	[[ $peer_addr == *:* ]] && host=/128
	[[ $endpoint == *:* ]] && endpoint="[$endpoint]"
	ip -n "$ns" link add "$dev" type wireguard &&
		ip netns exec "$ns" wg set "$dev" listen-port "$port" private-key "$key" \
			peer "$peer" endpoint "$endpoint:$port" allowed-ips "$peer_addr$host" &&
		ip -n "$ns" addr add "$addr" dev "$dev" &&
		ip -n "$ns" link set "$dev" up
}

# ---------------------------------------------------------------- cleanup

# _del_jvpn_links NS: deletes every jvpn device in NS.
_del_jvpn_links() {
	local dev
	for dev in $(ip -n "$1" -o link show type jvpn 2>/dev/null |
		awk -F': ' '{ sub(/@.*/, "", $2); print $2 }'); do
		ip -n "$1" link del "$dev" 2>/dev/null
	done
}

_lib_cleanup() {
	local rc=$? ns i
	set +e
	trap - EXIT INT TERM HUP
	if [ -z "$_tap_finished" ] && [ "$rc" -ne 0 ]; then
		diag "$0 stopped with status $rc before tap_done"
	fi
	[ ${#_bg_pids[@]} -eq 0 ] || bg_kill
	# Newest first; anything still running inside a namespace would keep its
	# devices (and the jvpn module) alive.
	for ((i = ${#_ns_list[@]} - 1; i >= 0; i--)); do
		ns=${_ns_list[i]}
		# shellcheck disable=SC2046 # one pid per word
		kill -KILL $(ip netns pids "$ns" 2>/dev/null) 2>/dev/null
		# A jvpn device holds the UDP sockets its daemon attached, and
		# they hold the namespace: deleted first, the namespace goes
		# now instead of at rmmod, under the next test's feet.
		_del_jvpn_links "$ns"
		ip netns del "$ns" 2>/dev/null
	done
	if [ -n "$_jvpn_loaded" ] && ! jvpn_unload; then
		diag "cleanup: rmmod jvpn failed"
		[ "$rc" -ne 0 ] || rc=1
	fi
	if { [ "$rc" -ne 0 ] || [ "$_tap_failed" -gt 0 ]; } && [ -d "${JVPN_RESULTS-}" ]; then
		local keep=$JVPN_RESULTS/${0##*/}
		keep=${keep%.sh}
		mkdir -p "$keep" && cp -a "$TEST_TMP/." "$keep/" && diag "scratch files kept in $keep"
	fi
	rm -rf "$TEST_TMP"
	exit "$rc"
}
trap _lib_cleanup EXIT
# Exit (and so clean up) on the signals jvpn-vm's timeout or a user sends.
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
