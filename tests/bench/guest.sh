#!/bin/bash
# tests/bench/guest.sh: jvpn's benchmarks, inside the guest (tools/vm/jvpn-vm).
#
#   guest.sh [--smoke] [SECTION...]   sections: dataplane profile failover
#                                     failover_jvpnd scale (default: all
#                                     five, in that order)
#
# One boot, one topology for every candidate (tests/guest/topo.sh, plus a
# WireGuard tunnel over the same veth pair):
#
#   ns a                                         ns b
#   u1 192.168.241.1  <------- veth ------->  u1 192.168.241.2   "veth"
#   u2 192.168.242.1  <------- veth ------->  u2 192.168.242.2
#   jvpn0 10.10.0.1 (UDP 51820 over u1)       jvpn0 10.10.0.2    "jvpn"
#   wg0   10.20.0.1 (UDP 51830 over u1)       wg0   10.20.0.2    "wg"
#
# Every measurement is one TAP line ("ok N - dataplane tcp1 jvpn #2: 33.1
# Mbit/s") and one row of $BENCH_OUT/results.tsv:
#   section metric candidate rep value unit
# Raw material (iperf3 JSON, ping logs, perf reports, /proc snapshots) goes
# under $BENCH_OUT; tests/bench/report.py turns it all into
# docs/benchmarks.md.  --smoke runs everything for about a second, with tiny
# N: it checks that each benchmark runs and yields a number, nothing more.
#
# Helpers built on the host by run.sh/smoke.sh: build/bench/nlbulk (bulk
# session install and raw dump, tests/bench/nlbulk.c) and build/bench/fswitch
# (the failover stand-in controller, tests/bench/fswitch.c).  Parameters:
# the BENCH_* defaults below; JVPN_BENCH_* on the host overrides them.
set -uo pipefail
. "$JVPN_REPO/tests/guest/lib.sh"
. "$JVPN_REPO/tests/guest/jvpnd-lib.sh"
. "$JVPN_REPO/tests/guest/topo.sh"

SMOKE=
if [ "${1-}" = --smoke ]; then
	SMOKE=1
	shift
fi
SECTIONS=("$@")
# jvpn-vm passes only JVPN_* variables into the guest: JVPN_BENCH_X on the
# host is BENCH_X here.
for _v in $(compgen -v JVPN_BENCH_); do
	declare "${_v#JVPN_}=${!_v}"
done
[ ${#SECTIONS[@]} -gt 0 ] || SECTIONS=(dataplane profile failover failover_jvpnd scale)

# Parameters (environment overrides; --smoke picks tiny ones).
if [ -n "$SMOKE" ]; then
	: "${BENCH_SECS:=1}" "${BENCH_REPS:=1}" "${BENCH_PINGS:=20}"
	: "${BENCH_PERF_SECS:=1}" "${BENCH_PROFILE_LOADS:=tcp1}" "${BENCH_PROFILE_CANDS:=jvpn}"
	: "${BENCH_CUTS:=1}" "${BENCH_WG_CUTS:=1}" "${BENCH_WG_HOLD:=1}" "${BENCH_FJ_CUTS:=1}"
	: "${BENCH_SCALE:=100}" "${BENCH_SCALE_REPS:=1}" "${BENCH_CANDIDATES:=wg jvpn}"
else
	: "${BENCH_SECS:=3}" "${BENCH_REPS:=3}" "${BENCH_PINGS:=200}"
	: "${BENCH_PERF_SECS:=4}" "${BENCH_PROFILE_LOADS:=tcp1 udp1400}" "${BENCH_PROFILE_CANDS:=jvpn wg}"
	: "${BENCH_CUTS:=20}" "${BENCH_WG_CUTS:=10}" "${BENCH_WG_HOLD:=3}" "${BENCH_FJ_CUTS:=20}"
	: "${BENCH_SCALE:=1 1000 10000 100000}" "${BENCH_SCALE_REPS:=3}"
fi
# The "1400-byte" UDP test: the largest payload that is not fragmented in
# either tunnel at their default MTU of 1420 (1420 - 20 IPv4 - 8 UDP).
: "${BENCH_UDP_LARGE:=1392}"
: "${BENCH_UDP_SMALL:=64}"
: "${BENCH_OUT:=${JVPN_RESULTS:-$TEST_TMP}/bench}"
read -r -a CANDIDATES <<< "${BENCH_CANDIDATES:-veth wg jvpn}"
# The failover with jvpnd: cuts per cause, the causes.
: "${BENCH_FJ_CAUSES:=down netem nft nat}"
# The TCP stream through each tunnel during those cuts (kbit/s).
: "${BENCH_FJ_TCP_KBIT:=2000}"
NLBULK=${NLBULK:-$JVPN_REPO/build/bench/nlbulk}
FSWITCH=${FSWITCH:-$JVPN_REPO/build/bench/fswitch}
TCPGAP=${TCPGAP:-$JVPN_REPO/build/bench/tcpgap}
WG_PORT=51830
KVER=$(uname -r)

mkdir -p "$BENCH_OUT/raw" "$BENCH_OUT/profile"
RESULTS=$BENCH_OUT/results.tsv
: > "$RESULTS"
: > "$BENCH_OUT/commands.txt"
echo "# bench-results: $BENCH_OUT"

dst_of() {
	case $1 in
	veth) echo 192.168.241.2 ;;
	wg) echo 10.20.0.2 ;;
	jvpn) echo 10.10.0.2 ;;
	esac
}

now_us() { echo "${EPOCHREALTIME/[.,]/}"; }

# record SECTION METRIC CANDIDATE REP VALUE UNIT: one TAP line, one TSV row.
record() {
	local sec=$1 metric=$2 cand=$3 rep=$4 val=$5 unit=$6
	if [[ $val =~ ^-?[0-9]+(\.[0-9]+)?$ ]]; then
		printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$sec" "$metric" "$cand" "$rep" "$val" "$unit" >> "$RESULTS"
		ok "$sec $metric $cand #$rep: $val $unit"
	else
		not_ok "$sec $metric $cand #$rep: no number" "got: ${val:-nothing}"
	fi
}

# logcmd KEY CMD...: the exact command of each kind, once, for the report.
declare -A _logged
logcmd() {
	local key=$1
	shift
	[ -n "${_logged[$key]-}" ] && return 0
	_logged[$key]=1
	printf '%s\t%s\n' "$key" "$*" >> "$BENCH_OUT/commands.txt"
}

# ------------------------------------------------------------------ setup

bench_wg_tunnel() {
	# lib.sh's wg_tunnel, on port $WG_PORT: 51820 is jvpn's in topo.sh.
	local k1=$TEST_TMP/wg.a.key k2=$TEST_TMP/wg.b.key
	modprobe wireguard || return 1
	(umask 077 && wg genkey > "$k1" && wg genkey > "$k2") || return 1
	WG_PUB_A=$(wg pubkey < "$k1") && WG_PUB_B=$(wg pubkey < "$k2") || return 1
	ip -n a link add wg0 type wireguard &&
		n a wg set wg0 listen-port $WG_PORT private-key "$k1" peer "$WG_PUB_B" \
			endpoint 192.168.241.2:$WG_PORT allowed-ips 10.20.0.2/32 &&
		ip -n a addr add 10.20.0.1/24 dev wg0 && ip -n a link set wg0 up &&
		ip -n b link add wg0 type wireguard &&
		n b wg set wg0 listen-port $WG_PORT private-key "$k2" peer "$WG_PUB_A" \
			endpoint 192.168.241.1:$WG_PORT allowed-ips 10.20.0.1/32 &&
		ip -n b addr add 10.20.0.2/24 dev wg0 && ip -n b link set wg0 up
}

setup() {
	local t0
	t0=$(now_us)
	topo_up > "$TEST_TMP/topo.log" 2>&1 || { diag "$(tail -20 "$TEST_TMP/topo.log")"; return 1; }
	bench_wg_tunnel || return 1
	# A persistent iperf3 server in b serves every test (one at a time).
	bg_run n b iperf3 -s -p 5201
	wait_listen b 5201 || return 1
	# First packets: WireGuard's handshake, neighbour resolution.
	n a ping -c 1 -W 5 10.20.0.2 > /dev/null 2>&1
	n a ping -c 1 -W 5 10.10.0.2 > /dev/null 2>&1
	n a ping -c 1 -W 5 192.168.241.2 > /dev/null 2>&1
	diag "setup took $((($(now_us) - t0) / 1000)) ms"
}

env_info() {
	local f=$BENCH_OUT/guest-env.txt
	{
		echo "kernel	$(uname -r) ($(uname -v))"
		echo "vcpus	$(nproc)"
		echo "cpu	$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
		echo "memory	$(sed -n 's/^MemTotal: *//p' /proc/meminfo)"
		echo "iperf3	$(iperf3 -v 2>/dev/null | head -n 1)"
		echo "wireguard	module $(cat /sys/module/wireguard/version 2>/dev/null), $(wg --version 2>/dev/null)"
		echo "jvpn	srcversion $(cat /sys/module/jvpn/srcversion 2>/dev/null)"
		echo "perf	$(perf --version 2>/dev/null)"
		echo "smoke	${SMOKE:-0}"
		echo "params	secs=$BENCH_SECS reps=$BENCH_REPS pings=$BENCH_PINGS udp_small=$BENCH_UDP_SMALL udp_large=$BENCH_UDP_LARGE perf_secs=$BENCH_PERF_SECS cuts=$BENCH_CUTS wg_cuts=$BENCH_WG_CUTS fj_cuts=$BENCH_FJ_CUTS fj_causes=${BENCH_FJ_CAUSES// /,} fj_tcp_kbit=$BENCH_FJ_TCP_KBIT scale=$BENCH_SCALE scale_reps=$BENCH_SCALE_REPS"
		echo "mtu	jvpn0 $(cat /sys/class/net/jvpn0/mtu 2>/dev/null || ip -n a -o link show jvpn0 | sed -n 's/.* mtu \([0-9]*\).*/\1/p'), wg0 $(ip -n a -o link show wg0 | sed -n 's/.* mtu \([0-9]*\).*/\1/p'), u1 $(ip -n a -o link show u1 | sed -n 's/.* mtu \([0-9]*\).*/\1/p')"
	} > "$f"
}

# ------------------------------------------------------------ measurements

# iperf_json OUT CAND ARGS...: one iperf3 client run from a to CAND's
# address; the JSON lands in OUT.  One retry (the server can be a moment
# late after the previous test).
iperf_json() {
	local out=$1 cand=$2 dst
	shift 2
	dst=$(dst_of "$cand")
	for _ in 1 2; do
		timeout $((BENCH_SECS + 30)) ip netns exec a iperf3 -c "$dst" -p 5201 \
			--connect-timeout 5000 -J "$@" > "$out" 2> "$out.err" && return 0
		sleep 1
	done
	diag "iperf3 to $dst $* failed: $(jq -r '.error // empty' "$out" 2>/dev/null) $(head -c 300 "$out.err")"
	return 1
}

tcp_test() {
	local cand=$1 rep=$2 streams=$3 metric=tcp$3 out mbps
	out=$BENCH_OUT/raw/$metric-$cand-$rep.json
	logcmd "$metric" ip netns exec a iperf3 -c "$(dst_of "$cand")" -p 5201 -J -t "$BENCH_SECS" -P "$streams"
	if iperf_json "$out" "$cand" -t "$BENCH_SECS" -P "$streams"; then
		mbps=$(jq -r '.end.sum_received.bits_per_second / 1e6 * 100 | round / 100' "$out")
	fi
	record dataplane "$metric" "$cand" "$rep" "${mbps-}" Mbit/s
}

udp_test() {
	local cand=$1 rep=$2 len=$3 name=$4 out vals pps loss sent
	out=$BENCH_OUT/raw/$name-$cand-$rep.json
	logcmd "$name" ip netns exec a iperf3 -c "$(dst_of "$cand")" -p 5201 -J -t "$BENCH_SECS" -u -b 0 -l "$len"
	if iperf_json "$out" "$cand" -t "$BENCH_SECS" -u -b 0 -l "$len"; then
		# Received packets per second: sent minus lost (the server's count,
		# returned to the client), over the test time.
		vals=$(jq -r '.end.sum as $s | [(($s.packets - $s.lost_packets) / $s.seconds | round),
			($s.lost_percent * 10 | round / 10), ($s.packets / $s.seconds | round)] | @tsv' "$out")
		read -r pps loss sent <<< "$vals"
	fi
	record dataplane "${name}_pps" "$cand" "$rep" "${pps-}" pps
	record dataplane "${name}_loss" "$cand" "$rep" "${loss-}" %
	record dataplane "${name}_sent_pps" "$cand" "$rep" "${sent-}" pps
}

# ping_rtts FILE: "median p99 sent received" of a ping log (nearest rank).
ping_rtts() {
	awk '/time=/ { sub(/.*time=/, ""); sub(/ ms.*/, ""); v[++n] = $0 + 0 }
	     / packets transmitted/ { sent = $1; recv = $4 }
	     END {
		if (!n) { print "NA NA " sent + 0 " " recv + 0; exit }
		# insertion sort: a few hundred values at most
		for (i = 2; i <= n; i++) { x = v[i]; j = i - 1
			while (j > 0 && v[j] > x) { v[j + 1] = v[j]; j-- } v[j + 1] = x }
		m = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
		r = int(0.99 * n + 0.999999); if (r < 1) r = 1; if (r > n) r = n
		printf "%.3f %.3f %d %d\n", m, v[r], sent, recv }' "$1"
}

ping_test() {
	local cand=$1 rep=$2 mode=$3 out dst lpid='' p50 p99 sent recv
	dst=$(dst_of "$cand")
	out=$BENCH_OUT/raw/ping_$mode-$cand-$rep.txt
	if [ "$mode" = load ]; then
		# A single TCP stream through the same candidate, already running.
		timeout $((BENCH_PINGS / 100 + 40)) ip netns exec a iperf3 -c "$dst" -p 5201 \
			--connect-timeout 5000 -t $((BENCH_PINGS / 100 + 2)) -J \
			> "$BENCH_OUT/raw/ping_load_iperf-$cand-$rep.json" 2> /dev/null &
		lpid=$!
		logcmd ping_load_bg ip netns exec a iperf3 -c "$dst" -p 5201 -t $((BENCH_PINGS / 100 + 2)) -J
		sleep 1
	fi
	logcmd "ping_$mode" ip netns exec a ping -n -i 0.01 -c "$BENCH_PINGS" -W 1 "$dst"
	ip netns exec a ping -n -i 0.01 -c "$BENCH_PINGS" -W 1 "$dst" > "$out" 2>&1
	[ -z "$lpid" ] || wait "$lpid"
	read -r p50 p99 sent recv < <(ping_rtts "$out")
	record dataplane "ping_${mode}_p50" "$cand" "$rep" "$p50" ms
	record dataplane "ping_${mode}_p99" "$cand" "$rep" "$p99" ms
	record dataplane "ping_${mode}_loss" "$cand" "$rep" \
		"$(awk -v s="$sent" -v r="$recv" 'BEGIN { printf "%.1f", s ? (s - r) * 100 / s : 100 }')" %
}

section_dataplane() {
	local rep cand t0
	diag "data plane: ${CANDIDATES[*]} alternating, $BENCH_REPS repetitions, ${BENCH_SECS}s per run"
	t0=$(now_us)
	for ((rep = 1; rep <= BENCH_REPS; rep++)); do
		for cand in "${CANDIDATES[@]}"; do tcp_test "$cand" "$rep" 1; done
		for cand in "${CANDIDATES[@]}"; do tcp_test "$cand" "$rep" 4; done
		for cand in "${CANDIDATES[@]}"; do udp_test "$cand" "$rep" "$BENCH_UDP_SMALL" udp64; done
		for cand in "${CANDIDATES[@]}"; do udp_test "$cand" "$rep" "$BENCH_UDP_LARGE" udp1400; done
		for cand in "${CANDIDATES[@]}"; do ping_test "$cand" "$rep" idle; done
		for cand in "${CANDIDATES[@]}"; do ping_test "$cand" "$rep" load; done
	done
	diag "data plane took $((($(now_us) - t0) / 1000000)) s"
}

# ----------------------------------------------------------------- profile

# cpu_snapshot: "cpuN user nice system idle iowait irq softirq" per CPU.
cpu_snapshot() { grep '^cpu[0-9]' /proc/stat; }

# cpu_busy BEFORE AFTER: per CPU, the share of time in user, system,
# softirq and idle (percent), as "cpu0 usr=.. sys=.. soft=.. idle=..".
cpu_busy() {
	awk 'NR == FNR { for (i = 2; i <= 9; i++) b[$1, i] = $i; next }
	     { t = 0; for (i = 2; i <= 9; i++) { d[i] = $i - b[$1, i]; t += d[i] }
	       if (t <= 0) t = 1
	       printf "%s usr=%.0f sys=%.0f irq=%.0f soft=%.0f idle=%.0f\n", $1,
		(d[2] + d[3]) * 100 / t, d[4] * 100 / t, d[7] * 100 / t, d[8] * 100 / t,
		(d[5] + d[6]) * 100 / t }' "$1" "$2"
}

# perf_ns CMD...: perf in a private mount namespace with an empty
# /lib/modules/$KVER: otherwise perf walks the whole module tree over 9p
# (about 20 s under TCG) to map module names to files; symbols come from
# /proc/kallsyms either way.
perf_ns() {
	# shellcheck disable=SC2016 # expanded by that sh
	unshare -m sh -c 'mount -t tmpfs none "/lib/modules/$1" && shift && exec "$@"' \
		perf_ns "$KVER" "$@"
}

# perf_ctl CMD: a command to the running perf record (--control), waits
# for its acknowledgement (at most 120 s: perf starts slowly under TCG).
# The fifos are held open read-write by this shell, so no open() blocks.
perf_ctl() {
	local ack=
	echo "$1" >&"$PERF_CTL_FD"
	read -r -t 120 -u "$PERF_ACK_FD" ack && [ "$ack" = ack ]
}

# perf_stop PID: SIGINT, then at most 60 s for perf to write its file.
perf_stop() {
	local i st
	kill -INT "$1" 2> /dev/null
	for ((i = 0; i < 600; i++)); do
		# An exited child stays a zombie (state Z) until wait: kill -0
		# alone would still succeed.
		st=Z
		read -r _ _ st _ 2> /dev/null < "/proc/$1/stat"
		[ "$st" = Z ] && break
		sleep 0.1
	done
	kill -KILL "$1" 2> /dev/null
	wait "$1" 2> /dev/null
}

# profile_one CAND LOAD: perf starts first with its events disabled (its
# start-up alone takes 5-30 s under TCG); once it answers, the load starts,
# and after a ramp the events are enabled for exactly BENCH_PERF_SECS, with
# /proc/stat read at both ends of that window.
profile_one() {
	local cand=$1 load=$2 base=$BENCH_OUT/profile/$1-$2 args lpid secs s0 s1 mbps ppid
	local data=$TEST_TMP/perf-$1-$2.data
	case $load in
	tcp1) args=(-t) ;;
	udp1400) args=(-u -b 0 -l "$BENCH_UDP_LARGE" -t) ;;
	*) return 1 ;;
	esac
	local ctl=$TEST_TMP/perf.ctl ack=$TEST_TMP/perf.ack
	rm -f "$ctl" "$ack"
	mkfifo "$ctl" "$ack" || return 1
	exec {PERF_CTL_FD}<>"$ctl" {PERF_ACK_FD}<>"$ack"
	logcmd profile_record perf record -e cpu-clock -F 999 -a -g -B -N -D -1 --control fifo:ctl,ack -o perf.data "(events enabled for ${BENCH_PERF_SECS}s)"
	s0=$(now_us)
	# Not through the perf_ns function: a function in the background is a
	# subshell, and the signal that stops perf must reach perf itself
	# (unshare and sh exec it, so $! is perf).
	# shellcheck disable=SC2016 # expanded by that sh
	unshare -m sh -c 'mount -t tmpfs none "/lib/modules/$1" && shift && exec "$@"' \
		perf_ns "$KVER" perf record -e cpu-clock -F 999 -a -g -B -N -D -1 \
		--control "fifo:$ctl,$ack" -o "$data" > "$base.record.log" 2>&1 &
	ppid=$!
	if ! perf_ctl disable; then
		not_ok "profile $cand $load: perf record did not start" "$(tail -5 "$base.record.log")"
		perf_stop "$ppid"
		exec {PERF_CTL_FD}>&- {PERF_ACK_FD}>&-
		rm -f "$ctl" "$ack"
		return 1
	fi
	s1=$(now_us)
	secs=$((BENCH_PERF_SECS + 3))
	timeout $((secs + 40)) ip netns exec a iperf3 -c "$(dst_of "$cand")" -p 5201 \
		--connect-timeout 5000 -J "${args[@]}" "$secs" > "$base.iperf.json" 2> "$base.iperf.err" &
	lpid=$!
	sleep 1.5
	cpu_snapshot > "$base.stat0"
	cp /proc/softirqs "$base.softirqs0"
	perf_ctl enable
	sleep "$BENCH_PERF_SECS"
	perf_ctl disable
	cpu_snapshot > "$base.stat1"
	cp /proc/softirqs "$base.softirqs1"
	perf_stop "$ppid"
	exec {PERF_CTL_FD}>&- {PERF_ACK_FD}>&-
	rm -f "$ctl" "$ack"
	wait "$lpid"
	cpu_busy "$base.stat0" "$base.stat1" > "$base.cpu.txt"
	diag "profile $cand $load: perf started in $(((s1 - s0) / 1000)) ms" "$(cat "$base.cpu.txt")"
	if [ "$load" = tcp1 ]; then
		mbps=$(jq -r '.end.sum_received.bits_per_second / 1e6 * 100 | round / 100' "$base.iperf.json" 2>/dev/null)
		record profile "${load}_under_perf" "$cand" 1 "$mbps" Mbit/s
	else
		mbps=$(jq -r '.end.sum as $s | ($s.packets - $s.lost_packets) / $s.seconds | round' "$base.iperf.json" 2>/dev/null)
		record profile "${load}_under_perf" "$cand" 1 "$mbps" pps
	fi
	# Reports: self time per symbol, inclusive (children) time per symbol.
	logcmd profile_report_self perf report -i perf.data --stdio --no-children -g none --sort dso,sym --percent-limit 0.3
	perf_ns perf report -i "$data" --stdio --no-children -g none \
		--sort dso,sym --percent-limit 0.3 > "$base.self.txt" 2> /dev/null
	logcmd profile_report_children perf report -i perf.data --stdio --children -g none --sort sym --percent-limit 1
	perf_ns perf report -i "$data" --stdio --children -g none \
		--sort sym --percent-limit 1 > "$base.children.txt" 2> /dev/null
	# Self time per CPU, and who calls the contended spin lock.
	logcmd profile_report_cpu perf report -i perf.data --stdio --no-children -g none --sort cpu,sym --percent-limit 0.5
	perf_ns perf report -i "$data" --stdio --no-children -g none \
		--sort cpu,sym --percent-limit 0.5 > "$base.cpu-sym.txt" 2> /dev/null
	# Call chains (folded, one line each) of the contended spin lock and of
	# the cipher: in which context does the crypto run, who waits.
	logcmd profile_report_chains perf report -i perf.data --stdio --no-children --sort sym --symbols native_queued_spin_lock_slowpath -g folded,0,caller,function,percent
	perf_ns perf report -i "$data" --stdio --no-children --sort sym \
		--symbols native_queued_spin_lock_slowpath -g folded,0,caller,function,percent \
		> "$base.lock.txt" 2> /dev/null
	perf_ns perf report -i "$data" --stdio --no-children --sort sym \
		--symbols chacha_8block_xor_avx2,poly1305_blocks_avx2 -g folded,0,caller,function,percent \
		> "$base.crypto.txt" 2> /dev/null
	local samples
	samples=$(sed -n 's/^# Samples: *\([0-9.]*[KM]*\).*/\1/p' "$base.self.txt" | head -n 1)
	record profile "${load}_samples" "$cand" 1 "$(awk -v s="$samples" 'BEGIN { m = 1
		if (s ~ /K$/) m = 1000; if (s ~ /M$/) m = 1000000; printf "%d", s * m }')" samples
	rm -f "$data"
}

section_profile() {
	local load cand
	if ! command -v perf > /dev/null; then
		skip "profile" "perf not installed (linux-perf)"
		return 0
	fi
	for load in $BENCH_PROFILE_LOADS; do
		for cand in $BENCH_PROFILE_CANDS; do
			profile_one "$cand" "$load"
		done
	done
}

# ---------------------------------------------------------------- failover

# ping -D timestamps of replies: "epoch_us seq" per line.
ping_replies() {
	awk '/bytes from/ && /icmp_seq=/ { t = $1; gsub(/[\[\]]/, "", t); split(t, p, ".")
		us = p[1] * 1000000 + substr(p[2] "000000", 1, 6); s = $0
		sub(/.*icmp_seq=/, "", s); sub(/ .*/, "", s); printf "%.0f %s\n", us, s }' "$1"
}

# gaps PINGLOG CUTS: for each cut time (us) in CUTS, "gap_ms lost": the
# longest silence between two consecutive replies that ends after 100 ms
# before the cut and starts before 100 ms before the next cut (or 5 s after
# the cut), and the number of echo requests in it that never got a reply.
gaps() {
	ping_replies "$1" | awk -v cuts="$2" 'BEGIN { nc = split(cuts, c, " ") }
		{ t[++n] = $1; s[n] = $2 }
		END { for (k = 1; k <= nc; k++) {
			lo = c[k] - 100000; hi = (k < nc) ? c[k + 1] - 100000 : c[k] + 5000000
			best = -1
			for (i = 2; i <= n; i++) {
				if (t[i] < lo || t[i - 1] >= hi) continue
				if (t[i] - t[i - 1] > best) { best = t[i] - t[i - 1]; lost = s[i] - s[i - 1] - 1 }
			}
			if (best < 0) print "NA NA"; else printf "%.1f %d\n", best / 1000, lost } }'
}

# wait_log FILE PATTERN COUNT SECONDS: until FILE has COUNT lines matching.
wait_log() {
	local i n
	for ((i = 0; i < $4 * 10; i++)); do
		n=0
		[ -f "$1" ] && n=$(grep -c -- "$2" "$1")
		[ "$n" -ge "$3" ] && return 0
		sleep 0.1
	done
	return 1
}

# ctl_times LOG T END: "detect_ms switched_ms" of the first PATH_SILENT
# and the first finished switch in a controller log between T and END
# (NA: none), counted from T.
ctl_times() {
	awk -v t="$2" -v e="$3" '$1 >= t + 0 && $1 < e + 0 && $2 == "event" && $3 == "path_silent" && !d { d = $1 }
		$1 >= t + 0 && $1 < e + 0 && $2 == "switched" && !s { s = $1 }
		END { printf "%s %s\n", d ? sprintf("%.1f", (d - t) / 1000) : "NA",
			s ? sprintf("%.1f", (s - t) / 1000) : "NA" }' "$1"
}

# switches_since T FILE...: how many of FILE have a "switched" line at or
# after T (bash only: no program start in a polling loop).
switches_since() {
	local t=$1 f ts kw rest n=0
	shift
	for f in "$@"; do
		while read -r ts kw rest; do
			if [ "$kw" = switched ] && [ "$ts" -ge "$t" ]; then
				n=$((n + 1))
				break
			fi
		done < "$f"
	done
	echo "$n"
}

# fo_cut MODE cut|restore PATH: "down" takes link uPATH down on both ends
# (the demo's cut); "drop" keeps the links up and drops everything leaving
# uPATH on both ends (netem loss 100%): a failure somewhere on the path,
# the local routes stay.  a's end first: traffic stops once it is done,
# and CUT_US is set to that moment.
fo_cut() {
	local ns
	for ns in a b; do
		case $1-$2 in
		down-cut) ip -n "$ns" link set "u$3" down ;;
		down-restore) ip -n "$ns" link set "u$3" up ;;
		drop-cut) n "$ns" tc qdisc add dev "u$3" root netem loss 100% ;;
		drop-restore) n "$ns" tc qdisc del dev "u$3" root ;;
		esac
		[ "$ns" = a ] && CUT_US=$(now_us)
	done
}

# last_active FILE DEFAULT: the path of the last "switched" line in a
# controller log (bash only).
last_active() {
	local ts kw p rest a=$2
	while read -r ts kw p rest; do
		[ "$kw" = switched ] && a=$p
	done < "$1"
	echo "$a"
}

# fo_run CUTS MODE...: for each MODE, CUTS cuts of the active path, with
# the controllers running and a 10 ms ping from a to b through the tunnel.
fo_run() {
	local count=$1 logs=$BENCH_OUT/raw i p pa pb t ns pid_ping mode
	local mon_pids=() gap lost det sw seconds modes=("${@:2}") all=() tags=() j
	# The stand-in controller (tests/bench/fswitch.c), one per end.
	for ns in a b; do
		: > "$logs/fo-ctl-$ns.log"
		ip netns exec "$ns" "$FSWITCH" jvpn0 "$(session_id "$ns")" cooldown-ms 1000 \
			>> "$logs/fo-ctl-$ns.log" 2>&1 &
		mon_pids+=($!)
	done
	logcmd failover_controller ip netns exec a fswitch jvpn0 1001 cooldown-ms 1000
	wait_log "$logs/fo-ctl-a.log" ready 1 10
	wait_log "$logs/fo-ctl-b.log" ready 1 10
	seconds=$((count * ${#modes[@]} * 20 + 30))
	: > "$logs/fo-cuts.log"
	logcmd "failover_ping" ip netns exec a ping -D -n -i 0.01 -W 1 -w "$seconds" 10.10.0.2
	ip netns exec a ping -D -n -i 0.01 -W 1 -w "$seconds" 10.10.0.2 > "$logs/fo-ping.txt" 2>&1 &
	pid_ping=$!
	sleep 1
	for mode in "${modes[@]}"; do
		for ((i = 1; i <= count; i++)); do
			# Both ends on the same path before the cut (a link-down cut can
			# leave them apart, see the report).
			pa=$(last_active "$logs/fo-ctl-a.log" 1)
			pb=$(last_active "$logs/fo-ctl-b.log" 1)
			if [ "$pa" != "$pb" ]; then
				activate b "$pa" 2> /dev/null
				echo "$(now_us) switched $pa realigned" >> "$logs/fo-ctl-b.log"
			fi
			sleep 0.3
			p=$pa
			fo_cut "$mode" cut "$p"
			t=$CUT_US
			all+=("$t")
			tags+=("$mode $i")
			echo "$t cut $mode u$p" >> "$logs/fo-cuts.log"
			# Until both ends have switched (at most 2 s), then traffic on
			# the new path for a moment.
			while [ "$(switches_since "$t" "$logs/fo-ctl-a.log" "$logs/fo-ctl-b.log")" -lt 2 ] &&
				[ "$(now_us)" -lt $((t + 2000000)) ]; do
				sleep 0.05
			done
			sleep 0.3
			fo_cut "$mode" restore "$p"
			sleep 0.5
		done
	done
	kill "$pid_ping" 2> /dev/null
	wait "$pid_ping" 2> /dev/null
	kill "${mon_pids[@]}" 2> /dev/null
	wait "${mon_pids[@]}" 2> /dev/null
	j=0
	all+=($(($(now_us) + 1000000)))
	while read -r gap lost; do
		t=${all[j]}
		read -r mode i <<< "${tags[j]}"
		j=$((j + 1))
		record failover "${mode}_outage" jvpn "$i" "$gap" ms
		record failover "${mode}_lost_pings" jvpn "$i" "$lost" pings
		for ns in a b; do
			read -r det sw < <(ctl_times "$logs/fo-ctl-$ns.log" "$t" "${all[j]}")
			if [ "$sw" = NA ]; then
				record failover "${mode}_switched_$ns" jvpn "$i" 0 bool
			else
				record failover "${mode}_switched_$ns" jvpn "$i" 1 bool
				record failover "${mode}_detect_$ns" jvpn "$i" "$det" ms
				record failover "${mode}_switch_done_$ns" jvpn "$i" "$sw" ms
			fi
		done
	done < <(gaps "$logs/fo-ping.txt" "${all[*]:0:${#tags[@]}}")
	for ns in a b; do
		jctl "$ns" -j session show jvpn0 id "$(session_id "$ns")" > "$logs/fo-session-$ns.json"
	done
}

fo_wg() {
	local logs=$BENCH_OUT/raw i t cuts=() pid_ping seconds gap lost
	# WireGuard, the same cut of u1.  WireGuard has one endpoint per peer
	# and no signal that it stopped working: (1) nothing is done: it waits
	# for the link; (2) a script that knows of the cut at once points a's
	# endpoint at b's u2 address; b follows by roaming (it answers to where
	# the last authenticated packet came from).
	# Generous: the loop's program starts are slow on a busy host; the ping
	# is stopped when the loop is done.
	seconds=$((BENCH_WG_HOLD + BENCH_WG_CUTS * 15 + 30))
	logcmd failover_wg_ping ip netns exec a ping -D -n -i 0.01 -W 1 -w "$seconds" 10.20.0.2
	ip netns exec a ping -D -n -i 0.01 -W 1 -w "$seconds" 10.20.0.2 > "$logs/fo-wg-ping.txt" 2>&1 &
	pid_ping=$!
	sleep 1
	fo_cut down cut 1
	cuts+=("$CUT_US")
	sleep "$BENCH_WG_HOLD"
	fo_cut down restore 1
	sleep 1.5
	logcmd failover_wg_switch ip netns exec a wg set wg0 peer "<b's public key>" endpoint 192.168.242.2:$WG_PORT
	local w0 w1 wgexec=()
	for ((i = 1; i <= BENCH_WG_CUTS; i++)); do
		# Where each end sends before the cut (for the record).
		echo "$(now_us) cut $i a: $(n a wg show wg0 endpoints | cut -f2) b: $(n b wg show wg0 endpoints | cut -f2)" \
			>> "$logs/fo-wg-endpoints.log"
		ip -n a link set u1 down
		w0=$(now_us)
		n a wg set wg0 peer "$WG_PUB_B" endpoint 192.168.242.2:$WG_PORT
		w1=$(now_us)
		ip -n b link set u1 down
		cuts+=("$w0")
		wgexec+=($(((w1 - w0) / 1000)))
		sleep 1
		fo_cut down restore 1
		n a wg set wg0 peer "$WG_PUB_B" endpoint 192.168.241.2:$WG_PORT
		sleep 1
	done
	kill "$pid_ping" 2> /dev/null
	wait "$pid_ping" 2> /dev/null
	i=0
	while read -r gap lost; do
		if [ "$i" -eq 0 ]; then
			record failover wg_noaction_outage wg 1 "$gap" ms
			record failover wg_noaction_hold wg 1 "$((BENCH_WG_HOLD * 1000))" ms
		else
			record failover wg_oracle_outage wg "$i" "$gap" ms
			record failover wg_oracle_lost_pings wg "$i" "$lost" pings
			record failover wg_oracle_wg_exec wg "$i" "${wgexec[i - 1]}" ms
		fi
		i=$((i + 1))
	done < <(gaps "$logs/fo-wg-ping.txt" "${cuts[*]}")
}

# fo_idle_probe: the same two cuts on an idle tunnel, then a sends three
# pings: does a's kernel report the path silent?  On an idle tunnel no
# silence episode is open at the cut, so this shows whether a send that
# fails after the cut opens one.
fo_idle_probe() {
	local logs=$BENCH_OUT/raw mode t pid det
	: > "$logs/fo-idle-ctl-a.log"
	ip netns exec a "$FSWITCH" jvpn0 1001 cooldown-ms 1000 >> "$logs/fo-idle-ctl-a.log" 2>&1 &
	pid=$!
	wait_log "$logs/fo-idle-ctl-a.log" ready 1 10
	for mode in drop down; do
		activate_both 1 2> /dev/null
		# One answered ping: a's last event on path 1 is a receive, so no
		# silence episode is open when the link is cut.
		ip netns exec a ping -c 1 -W 2 10.10.0.2 > /dev/null 2>&1
		sleep 0.5
		fo_cut "$mode" cut 1
		t=$CUT_US
		logcmd failover_idle_probe ip netns exec a ping -c 3 -i 0.2 -W 1 10.10.0.2
		ip netns exec a ping -c 3 -i 0.2 -W 1 10.10.0.2 > /dev/null 2>&1
		sleep 1
		det=$(awk -v t="$t" '$1 >= t + 0 && $2 == "event" && $3 == "path_silent" { print "1"; exit }' \
			"$logs/fo-idle-ctl-a.log")
		record failover "${mode}_idle_detected" jvpn 1 "${det:-0}" bool
		fo_cut "$mode" restore 1
		sleep 0.5
	done
	jctl a -j session show jvpn0 id 1001 > "$logs/fo-idle-session-a.json"
	kill "$pid" 2> /dev/null
	wait "$pid" 2> /dev/null
	activate_both 1 2> /dev/null
}

section_failover() {
	local ns
	# Fast detection, as in the demo: silent after 200 ms, keepalives 50 ms.
	for ns in a b; do
		jctl "$ns" dev set jvpn0 silent-ms 200 keepalive-ms 50 > /dev/null || return 1
	done
	logcmd failover_dev_set jvpnctl dev set jvpn0 silent-ms 200 keepalive-ms 50
	activate_both 1 2> /dev/null
	modprobe sch_netem 2> /dev/null
	fo_run "$BENCH_CUTS" drop down
	fo_idle_probe
	for ns in a b; do
		jctl "$ns" dev set jvpn0 silent-ms 1000 keepalive-ms 250 > /dev/null
	done
	sleep 0.5
	activate_both 1 2> /dev/null
	fo_wg
}

# ------------------------------------------------------ failover with jvpnd

# The real daemons on both ends, configured like tests/guest/70-jump.sh:
#
#   fs u1 192.168.70.1  <------- veth ------->  fc u1 192.168.70.2
#   fs u2 192.168.71.1  <------- veth ------->  fc u2 192.168.71.2
#   jsrv 10.70.0.1 (jvpnd, UDP 51820)           jcli 10.70.0.2 (jvpnd,
#                                               UDP 51821, Endpoint = both)
#
# The client's jvpnd probes the standby path, the kernel reports the active
# one silent after TransportLossTtlMs (or jvpnd's link watch finds it has
# no route), the client sends a REATTACH_REQ on the standby path, the
# server commits and confirms, the client commits.  Per-cut figures:
# tests/bench/failover_jvpnd.py, from the ping log, the cut log and both
# audit logs (all kept in raw/fj-*).
# Each cut takes the active path away; the cut is undone once the client
# has switched, and the next cut waits until both sessions are ATTACHED
# and the restored path has answered two probes (validated again).  A NAT
# rebinding (cause nat) changes the client's source port on the active
# path instead: the server must move the session to the new source.
#
# WireGuard rides the same links at the same time (wgs in fs, wgc in fc,
# UDP 51830/51831), on the same link as jvpn's active path: every cut hits
# both.  WireGuard has one endpoint and no failure signal, so for a cut a
# script re-points the client's endpoint at the other link at once (its
# "roaming with a second endpoint", with no detection time at all); a NAT
# rebinding it follows by itself.  Each tunnel carries a 10 ms ping and a
# paced TCP stream (tests/bench/tcpgap.c) whose receiver logs every pause.
JVPND=${JVPND:-$JVPN_REPO/build/jvpnd}
FJ_SRV=(- 192.168.70.1 192.168.71.1)
FJ_CLI=(- 192.168.70.2 192.168.71.2)
FJ_WG_PORT_S=51830 FJ_WG_PORT_C=51831
FJ_WG_LINK=1 FJ_NAT_PORT=40000
FJ_INNER=10.70.0.1
# jvpnd's default policy but for MaxSwitchesPerMinute: the most allowed (a
# cut every few seconds is up to ~20 switches a minute, and the limit must
# not decide anything here; the default, 6, would rightly refuse).
# SwitchCooldownMs is the default: the loop waits it out before each cut.
FJ_POLICY='[Policy]
MaxSwitchesPerMinute = 60'
FJ_COOLDOWN_MS=1000
FJ_PID_jsrv='' FJ_PID_jcli=''

# The audit logs and the ping log are written to the guest's own /tmp and
# copied to raw/ at the end (fj_save): read back while they grow through
# the results directory's 9p mount, a file can look seconds out of date.
FJ_LOGS=$TEST_TMP/fj
mkdir -p "$FJ_LOGS"

fj_save() { cp "$FJ_LOGS"/fj-* "$BENCH_OUT/raw/" 2> /dev/null; }

# fj_wg_setup: WireGuard between fs (wgs, 10.71.0.1) and fc (wgc,
# 10.71.0.2, endpoint on u1); the server learns the client's endpoint.
fj_wg_setup() {
	local ks=$TEST_TMP/fj-wg.s.key kc=$TEST_TMP/fj-wg.c.key
	modprobe wireguard || return 1
	(umask 077 && wg genkey > "$ks" && wg genkey > "$kc") || return 1
	FJ_WG_PUB_S=$(wg pubkey < "$ks") && FJ_WG_PUB_C=$(wg pubkey < "$kc") || return 1
	ip -n fs link add wgs type wireguard &&
		n fs wg set wgs listen-port $FJ_WG_PORT_S private-key "$ks" \
			peer "$FJ_WG_PUB_C" allowed-ips 10.71.0.2/32 &&
		ip -n fs addr add 10.71.0.1/24 dev wgs && ip -n fs link set wgs up &&
		ip -n fc link add wgc type wireguard &&
		n fc wg set wgc listen-port $FJ_WG_PORT_C private-key "$kc" \
			peer "$FJ_WG_PUB_S" endpoint "${FJ_SRV[1]}:$FJ_WG_PORT_S" \
			allowed-ips 10.71.0.1/32 &&
		ip -n fc addr add 10.71.0.2/24 dev wgc && ip -n fc link set wgc up
}

# fj_wg_point N: the WireGuard client's endpoint on link uN (the script);
# WG_POINT_US: when the command had returned.
fj_wg_point() {
	n fc wg set wgc peer "$FJ_WG_PUB_S" endpoint "${FJ_SRV[$1]}:$FJ_WG_PORT_S"
	WG_POINT_US=$(now_us)
	FJ_WG_LINK=$1
}

# fj_tcp_start SECONDS: a paced TCP stream through each tunnel, fc -> fs.
FJ_TCP_RECV_PIDS=() FJ_TCP_SEND_PIDS=()
fj_tcp_start() {
	local tun addr port
	for tun in jvpn:10.70.0.1:5301 wg:10.71.0.1:5302; do
		IFS=: read -r tun addr port <<< "$tun"
		ip netns exec fs "$TCPGAP" recv "$addr" "$port" > "$FJ_LOGS/fj-tcp-$tun.log" 2>&1 &
		FJ_TCP_RECV_PIDS+=($!)
		wait_for -t 10 grep -q ready "$FJ_LOGS/fj-tcp-$tun.log" || return 1
		ip netns exec fc "$TCPGAP" send "$addr" "$port" "$BENCH_FJ_TCP_KBIT" "$1" \
			> "$FJ_LOGS/fj-tcp-$tun-send.log" 2>&1 &
		FJ_TCP_SEND_PIDS+=($!)
	done
	logcmd failover_jvpnd_tcp "ip netns exec fs tcpgap recv 10.70.0.1 5301 & ip netns exec fc tcpgap send 10.70.0.1 5301 $BENCH_FJ_TCP_KBIT $1   (WireGuard: 10.71.0.1 5302)"
}

# fj_nat N PORT: a NAT rebinding on link uN: from now on the client's UDP
# from jvpn's and WireGuard's ports leaves uN with source port PORT, and
# only datagrams to PORT come back in (the old port is gone, as when a NAT
# gateway rebinds).  Stateless port rewriting in one nftables transaction,
# so it takes effect at one instant, seen by the nft monitor; conntrack
# plays no part.  N=0: no NAT any more.
fj_nat() {
	{
		echo 'table inet jnat'
		echo 'delete table inet jnat'
		[ "$1" -eq 0 ] || printf '%s\n' 'table inet jnat {' \
			'	chain out {' \
			'		type filter hook postrouting priority 100; policy accept;' \
			"		oifname \"u$1\" udp sport { 51821, $FJ_WG_PORT_C } udp sport set $2" \
			'	}' \
			'	chain in {' \
			'		type filter hook prerouting priority -300; policy accept;' \
			"		iifname \"u$1\" udp sport 51820 udp dport $2 udp dport set 51821" \
			"		iifname \"u$1\" udp sport $FJ_WG_PORT_S udp dport $2 udp dport set $FJ_WG_PORT_C" \
			'	}' '}'
	} > "$TEST_TMP/jnat.nft"
	ip netns exec fc nft -f "$TEST_TMP/jnat.nft"
}

fj_start() {
	# fj_start NS DEV: jvpnd in NS, audit log fj-DEV.audit.
	rm -f "/run/jvpn/$2.sock"
	bg_run n "$1" "$JVPND" -c "$TEST_TMP/$2.conf" --foreground \
		--audit "$FJ_LOGS/fj-$2.audit"
	printf -v "FJ_PID_$2" %s "$BG_PID"
	wait_for -t 30 test -S "/run/jvpn/$2.sock"
}

fj_setup() {
	[ -x "$JVPND" ] || { diag "$JVPND missing (make user)"; return 1; }
	ns_create fs fc || return 1
	veth_pair fs u1 fc u1 && veth_pair fs u2 fc u2 || return 1
	ip -n fs addr add 192.168.70.1/24 dev u1 && ip -n fc addr add 192.168.70.2/24 dev u1 &&
		ip -n fs addr add 192.168.71.1/24 dev u2 && ip -n fc addr add 192.168.71.2/24 dev u2 ||
		return 1
	jd_keys srv cli || return 1
	jd_conf jsrv srv cli 51820 10.70.0.1/24 10.70.0.2/32 "" "$FJ_POLICY" &&
		jd_conf jcli cli srv 51821 10.70.0.2/24 10.70.0.1/32 \
			"${FJ_SRV[1]}:51820, ${FJ_SRV[2]}:51820" "$FJ_POLICY" ||
		return 1
	sed -n '/^\[Policy\]/,$p' "$TEST_TMP/jcli.conf" > "$BENCH_OUT/raw/fj-policy.conf"
	# Probe replies (PROBE_REPLY: 56 bytes of UDP payload) reaching the
	# client on each link: how the loop knows a restored path was probed.
	printf '%s\n' 'table inet jbench {' '	counter pr1 { }' '	counter pr2 { }' \
		'	chain in {' '		type filter hook input priority 0; policy accept;' \
		'		iifname "u1" udp sport 51820 udp length 64 counter name "pr1"' \
		'		iifname "u2" udp sport 51820 udp length 64 counter name "pr2"' '	}' '}' \
		> "$TEST_TMP/jbench.nft"
	ip netns exec fc nft -f "$TEST_TMP/jbench.nft" || { diag "nft: counters refused"; return 1; }
	logcmd failover_jvpnd_start ip netns exec fc jvpnd -c jcli.conf --foreground --audit fj-jcli.audit
	fj_start fs jsrv && fj_start fc jcli || return 1
	fj_wg_setup || { diag "failover_jvpnd: WireGuard setup failed"; return 1; }
	fj_monitors
	# The 10 ms ping runs from the start, through the handshake and every
	# cut: silence is detected only on a path that carries something.
	logcmd failover_jvpnd_ping ip netns exec fc ping -D -n -i 0.01 10.70.0.1
	ip netns exec fc ping -D -n -i 0.01 -W 1 -w "$1" "$FJ_INNER" > "$FJ_LOGS/fj-ping.txt" 2>&1 &
	FJ_PING_PID=$!
	ip netns exec fc ping -D -n -i 0.01 -W 1 -w "$1" 10.71.0.1 > "$FJ_LOGS/fj-wg-ping.txt" 2>&1 &
	FJ_WG_PING_PID=$!
	wait_for -t 60 grep -q 'bytes from' "$FJ_LOGS/fj-ping.txt"
}

# fj_state DEV: FJ_STATE, FJ_SID, FJ_PATH (remote of the active path) of
# the daemon's first session (bash only, after one jvpnctl).
fj_state() {
	local out
	FJ_STATE='' FJ_SID='' FJ_PATH=''
	out=$("$JVPNCTL" -j sessions "$1" 2> /dev/null) || return 1
	[[ $out =~ \"state\":\"([A-Z_]+)\" ]] && FJ_STATE=${BASH_REMATCH[1]}
	[[ $out =~ \"session_id\":([0-9]+) ]] && FJ_SID=${BASH_REMATCH[1]}
	[[ $out =~ \"path\":\"([^\"]*)\" ]] && FJ_PATH=${BASH_REMATCH[1]}
	[ -n "$FJ_STATE" ]
}

# fj_ready SECONDS: until both sessions are ATTACHED; sets FJ_CSID,
# FJ_SSID, FJ_ACTIVE (1 or 2: the client's active link).
fj_ready() {
	local end=$(($(now_us) + $1 * 1000000))
	FJ_CSID=none FJ_SSID=none
	while :; do
		if fj_state jsrv && [ "$FJ_STATE" = ATTACHED ]; then
			FJ_SSID=$FJ_SID
			if fj_state jcli && [ "$FJ_STATE" = ATTACHED ]; then
				FJ_CSID=$FJ_SID
				case $FJ_PATH in
				"${FJ_SRV[1]}":*) FJ_ACTIVE=1 ;;
				"${FJ_SRV[2]}":*) FJ_ACTIVE=2 ;;
				*) FJ_ACTIVE=0 ;;
				esac
				return 0
			fi
		fi
		[ "$(now_us)" -lt "$end" ] || return 1
		sleep 0.1
	done
}

# fj_replies N: probe replies received so far on the client's uN.
fj_replies() {
	local out re="counter pr$1 [{][^}]*packets ([0-9]+)"
	out=$(ip netns exec fc nft list counters table inet jbench 2> /dev/null)
	[[ $out =~ $re ]] && echo "${BASH_REMATCH[1]}" || echo 0
}

# fj_count FILE TEXT: lines of FILE containing TEXT (bash only).
fj_count() {
	local l n=0
	if [ -f "$1" ]; then
		while IFS= read -r l; do
			[[ $l == *"$2"* ]] && n=$((n + 1))
		done < "$1"
	fi
	echo "$n"
}

# fj_cut CAUSE cut|restore N: takes link uN away or gives it back.
#   down:  ip link set uN down on both ends (two commands at once)
#   netem: tc netem loss 100% on uN's egress on both ends (at once)
#   nft:   an nftables table in the client that drops everything in and
#          out of uN (the server end is untouched)
# CUT0_US, CUT_US: before the commands and when they were done.  A program
# start takes 0.1-1 s in this guest, so the moment the cut took effect is
# taken from the monitors (fj_monitors) instead.
fj_cut() {
	local ns pids=()
	CUT0_US=$(now_us)
	if [ "$1" = nft ]; then
		if [ "$2" = cut ]; then
			printf 'table inet jcut {\n\tchain in { type filter hook input priority -50; iifname "u%s" drop; }\n\tchain out { type filter hook output priority -50; oifname "u%s" drop; }\n}\n' \
				"$3" "$3" > "$TEST_TMP/jcut.nft"
			ip netns exec fc nft -f "$TEST_TMP/jcut.nft"
		else
			ip netns exec fc nft delete table inet jcut
		fi
		CUT_US=$(now_us)
		return
	fi
	for ns in fc fs; do
		case $1-$2 in
		down-cut) ip -n "$ns" link set "u$3" down & ;;
		down-restore) ip -n "$ns" link set "u$3" up & ;;
		netem-cut) tc -n "$ns" qdisc add dev "u$3" root netem loss 100% & ;;
		netem-restore) tc -n "$ns" qdisc del dev "u$3" root & ;;
		esac
		pids+=($!)
	done
	wait "${pids[@]}"
	CUT_US=$(now_us)
}

# fj_stamp TAG: every line of stdin as "TIME_US TAG LINE", TIME_US when it
# was read.
fj_stamp() {
	local l
	while IFS= read -r l; do
		printf '%s %s %s\n' "${EPOCHREALTIME/[.,]/}" "$1" "$l"
	done
}

# fj_monitors: resident ip/tc/nft monitors in both namespaces whose events
# (link down, qdisc added, table added) are stamped on arrival into
# fj-monitor.log: when each cut really took effect.
FJ_MON_PIDS=()
fj_monitors() {
	local ns
	for ns in fc fs; do
		ip -n "$ns" monitor link > >(fj_stamp "$ns-link" >> "$FJ_LOGS/fj-monitor.log") 2>&1 &
		FJ_MON_PIDS+=($!)
		tc -n "$ns" monitor > >(fj_stamp "$ns-tc" >> "$FJ_LOGS/fj-monitor.log") 2>&1 &
		FJ_MON_PIDS+=($!)
	done
	ip netns exec fc nft monitor > >(fj_stamp fc-nft >> "$FJ_LOGS/fj-monitor.log") 2>&1 &
	FJ_MON_PIDS+=($!)
}

# fj_wait_probes N BASE SECONDS: until uN has BASE + 2 probe replies.
fj_wait_probes() {
	local end=$(($(now_us) + $3 * 1000000))
	while [ "$(fj_replies "$1")" -lt $(($2 + 2)) ]; do
		[ "$(now_us)" -lt "$end" ] || return 1
		sleep 0.1
	done
}

fj_alive() { kill -0 "$FJ_PID_jsrv" 2> /dev/null && kill -0 "$FJ_PID_jcli" 2> /dev/null; }

section_failover_jvpnd() {
	local logs=$BENCH_OUT/raw i p t0 t tc sw tsw base rest reval rv_ms
	local csid ssid last_sw=0 ncuts=0 stop='' line metric rep val unit cause dev ready=1
	local swlog wg_t secs pid
	local -a causes
	read -r -a causes <<< "$BENCH_FJ_CAUSES"
	modprobe sch_netem 2> /dev/null
	secs=$((BENCH_FJ_CUTS * ${#causes[@]} * 30 + 120))
	: > "$logs/fj-cuts.log"
	if ! fj_setup "$secs" > "$TEST_TMP/fj-setup.log" 2>&1; then
		not_ok "failover_jvpnd: setup (two jvpnd, handshake)" "$(tail -n 20 "$TEST_TMP/fj-setup.log")"
		fj_save
		return 1
	fi
	# The standby path validated before the first cut.
	fj_ready 30 || { not_ok "failover_jvpnd: sessions not ATTACHED after the handshake"; fj_save; return 1; }
	fj_wait_probes $((3 - FJ_ACTIVE)) 0 20 ||
		diag "failover_jvpnd: no probe replies on the standby path before the first cut"
	wait_for -t 30 grep -q 'bytes from' "$FJ_LOGS/fj-wg-ping.txt" ||
		diag "failover_jvpnd: no ping reply through WireGuard"
	fj_tcp_start "$secs" || diag "failover_jvpnd: TCP streams not started"
	diag "failover_jvpnd: client session $FJ_CSID on u$FJ_ACTIVE, server session $FJ_SSID; ${causes[*]}, $BENCH_FJ_CUTS cuts each"
	for cause in "${causes[@]}"; do
		case $cause in
		down) logcmd failover_jvpnd_cut_down "ip -n fc link set uN down & ip -n fs link set uN down & wait   (undone: ... up)" ;;
		netem) logcmd failover_jvpnd_cut_netem "tc -n fc qdisc add dev uN root netem loss 100% & tc -n fs qdisc add dev uN root netem loss 100% & wait   (undone: tc qdisc del dev uN root)" ;;
		nft) logcmd failover_jvpnd_cut_nft "ip netns exec fc nft -f - <<< 'table inet jcut { chain in { type filter hook input priority -50; iifname \"uN\" drop; } chain out { type filter hook output priority -50; oifname \"uN\" drop; } }'   (undone: nft delete table inet jcut)" ;;
		nat) logcmd failover_jvpnd_cut_nat "ip netns exec fc nft -f - <<< 'table inet jnat { chain out { type filter hook postrouting priority 100; oifname \"uN\" udp sport { 51821, 51831 } udp sport set PORT; } chain in { type filter hook prerouting priority -300; iifname \"uN\" udp sport 51820 udp dport PORT udp dport set 51821; iifname \"uN\" udp sport 51830 udp dport PORT udp dport set 51831; } }'   (PORT 40001, 40002, ... one per cut; the table replaced in one transaction)" ;;
		esac
		logcmd failover_jvpnd_wg_point "ip netns exec fc wg set wgc peer <server key> endpoint <server address on the other link>:51830   (right after each cut but nat)"
		# Whose audit log shows the switch: a rebinding moves only the
		# server's end.
		swlog=$FJ_LOGS/fj-jcli.audit
		[ "$cause" != nat ] || swlog=$FJ_LOGS/fj-jsrv.audit
		for ((i = 1; i <= BENCH_FJ_CUTS; i++)); do
			if [ "$ready" -eq 0 ] && ! fj_ready 20; then
				if ! fj_alive; then
					not_ok "failover_jvpnd: a jvpnd exited (before $cause cut $i)"
				else
					not_ok "failover_jvpnd: sessions not ATTACHED 20 s after the last cut (before $cause cut $i)" \
						"server session $FJ_SSID, client: state ${FJ_STATE:-?} session ${FJ_SID:-?}"
				fi
				stop=1
				break
			fi
			ready=0
			p=$FJ_ACTIVE csid=$FJ_CSID ssid=$FJ_SSID
			[ "$p" -ne 0 ] || { not_ok "failover_jvpnd: active path unknown: $FJ_PATH"; stop=1; break; }
			# No cut inside the previous switch's SwitchCooldownMs.
			t0=$(now_us)
			while [ "$t0" -lt $((last_sw + FJ_COOLDOWN_MS * 1000 + 200000)) ]; do
				sleep 0.05
				t0=$(now_us)
			done
			sw=$(fj_count "$swlog" TransportSwitch)
			# The active path again, just before the cut: a false alarm (a
			# stall of the guest longer than TransportLossTtlMs) can have
			# moved the session meanwhile.
			if fj_state jcli; then
				case $FJ_PATH in
				"${FJ_SRV[1]}":*) p=1 ;;
				"${FJ_SRV[2]}":*) p=2 ;;
				esac
			fi
			# WireGuard on the same link, so that the cut hits both.
			if [ "$FJ_WG_LINK" != "$p" ]; then
				fj_wg_point "$p"
				sleep 0.5
			fi
			if [ "$cause" = nat ]; then
				FJ_NAT_PORT=$((FJ_NAT_PORT + 1))
				CUT0_US=$(now_us)
				fj_nat "$p" "$FJ_NAT_PORT"
				CUT_US=$(now_us) wg_t=0
			else
				fj_cut "$cause" cut "$p"
				fj_wg_point $((3 - p))
				wg_t=$WG_POINT_US
			fi
			t=$CUT_US tc=$CUT0_US
			ncuts=$((ncuts + 1))
			# Until the client has committed a switch (at most 10 s: twice
			# MaxRecoveryWindowMs), then traffic on the new path for a moment.
			tsw=0
			while [ "$(now_us)" -lt $((t + 10000000)) ]; do
				if [ "$(fj_count "$swlog" TransportSwitch)" -gt "$sw" ]; then
					tsw=$(now_us)
					last_sw=$tsw
					break
				fi
				sleep 0.05
			done
			sleep 0.3
			reval=1 rest=$(now_us)
			if [ "$cause" != nat ]; then
				base=$(fj_replies "$p")
				fj_cut "$cause" restore "$p"
				rest=$(now_us)
				# The restored path (now the standby) validated by two
				# answered probes, and both sessions ATTACHED: the next cut
				# can come.
				reval=0
				fj_wait_probes "$p" "$base" 10 && reval=1
			fi
			rv_ms=$((($(now_us) - rest) / 1000))
			fj_ready 20 && ready=1
			line="t=$t t_cmd=$tc cause=$cause i=$i link=u$p switched=$((tsw > 0)) restore=$rest wg_point=$wg_t"
			line+=" revalidated=$reval reval_ms=$rv_ms csid0=$csid ssid0=$ssid"
			line+=" ssid1=$FJ_SSID csid1=$FJ_CSID ready1=$ready state1=${FJ_STATE:-none} path1=${FJ_PATH:-none}"
			echo "$line" >> "$logs/fj-cuts.log"
			[ "$tsw" -gt 0 ] || diag "failover_jvpnd: $cause cut $i of u$p: no switch within 10 s"
		done
		# No NAT for what follows (the server follows the source back):
		# not part of the last cut's figures.
		if [ "$cause" = nat ]; then
			echo "pause=$(now_us)" >> "$logs/fj-cuts.log"
			fj_nat 0 0
			sleep 1
			fj_ready 20 || ready=0
		fi
		[ -z "$stop" ] || break
	done
	kill -INT "$FJ_PING_PID" "$FJ_WG_PING_PID" 2> /dev/null
	wait "$FJ_PING_PID" "$FJ_WG_PING_PID" 2> /dev/null
	# The senders stop (an orderly close: "end" in the receivers' logs).
	kill "${FJ_TCP_SEND_PIDS[@]}" 2> /dev/null
	wait "${FJ_TCP_SEND_PIDS[@]}" 2> /dev/null
	for pid in "${FJ_TCP_RECV_PIDS[@]}"; do
		wait_for -t 5 sh -c "! kill -0 $pid 2> /dev/null" || kill "$pid" 2> /dev/null
	done
	wait "${FJ_TCP_RECV_PIDS[@]}" 2> /dev/null
	echo "end=$(now_us)" >> "$logs/fj-cuts.log"
	kill "${FJ_MON_PIDS[@]}" 2> /dev/null
	fj_save
	# What the daemons say at the end.
	for dev in jsrv jcli; do
		"$JVPNCTL" -j status "$dev" > "$logs/fj-$dev-status.json" 2>&1
		"$JVPNCTL" -j sessions "$dev" > "$logs/fj-$dev-sessions.json" 2>&1
		fj_state "$dev" && "$JVPNCTL" -j timeline "$dev" "$FJ_SID" > "$logs/fj-$dev-timeline.json" 2>&1
	done
	record failover_jvpnd daemons_alive jvpnd 1 "$(fj_alive && echo 1 || echo 0)" bool
	record failover_jvpnd cuts_done jvpnd 1 "$ncuts" cuts
	logcmd failover_jvpnd_analysis python3 tests/bench/failover_jvpnd.py raw/
	while IFS=$'\t' read -r metric rep val unit; do
		record failover_jvpnd "$metric" jvpnd "$rep" "$val" "$unit"
	done < <(python3 "$JVPN_REPO/tests/bench/failover_jvpnd.py" "$logs" 2> "$TEST_TMP/fj-analysis.err")
	[ ! -s "$TEST_TMP/fj-analysis.err" ] || not_ok "failover_jvpnd: analysis" "$(tail -n 20 "$TEST_TMP/fj-analysis.err")"
	[ -z "$stop" ]
}

# ------------------------------------------------------------------- scale

ip_of() {
	local v=$(($1))
	echo "$((v >> 24 & 255)).$((v >> 16 & 255)).$((v >> 8 & 255)).$((v & 255))"
}

meminfo_snap() {
	awk '/^(MemAvailable|MemFree|Slab|SUnreclaim|Percpu|VmallocUsed):/ { sub(/:/, "", $1); print $1, $2 }' /proc/meminfo
}

# slab_bytes FILE: "cache bytes" (active objects x object size) per cache.
slab_snap() {
	[ -r /proc/slabinfo ] || return 0
	awk 'NR > 2 { print $1, $2 * $4, $2 }' /proc/slabinfo
}

scale_measure() {
	local N=$1 rep out mbps t0 t1 dumped
	for ((rep = 1; rep <= BENCH_SCALE_REPS; rep++)); do
		out=$BENCH_OUT/raw/scale-tcp1-$N-$rep.json
		mbps=
		if iperf_json "$out" jvpn -t "$BENCH_SECS"; then
			mbps=$(jq -r '.end.sum_received.bits_per_second / 1e6 * 100 | round / 100' "$out")
		fi
		record scale tcp1 "$N" "$rep" "$mbps" Mbit/s
	done
	# A full dump: jvpnctl with JSON output, and the kernel's part alone.
	t0=$(now_us)
	jctl a -j session show jvpn0 > /dev/null
	t1=$(now_us)
	logcmd scale_dump ip netns exec a jvpnctl -j session show jvpn0 ">" /dev/null
	record scale dump_jvpnctl_json "$N" 1 "$(((t1 - t0) / 1000))" ms
	dumped=$(ip netns exec a "$NLBULK" jvpn0 dump)
	logcmd scale_dump_raw ip netns exec a nlbulk jvpn0 dump
	local cnt=NA secs=NA
	if [[ $dumped =~ dumped=([0-9]+)\ seconds=([0-9.]+) ]]; then
		cnt=${BASH_REMATCH[1]}
		secs=$(awk -v s="${BASH_REMATCH[2]}" 'BEGIN { printf "%.0f", s * 1000 }')
	else
		diag "nlbulk dump: $dumped"
	fi
	record scale dump_raw "$N" 1 "$secs" ms
	record scale dump_count "$N" 1 "$cnt" sessions
	record scale n_sessions "$N" 1 "$(jctl a -j dev show jvpn0 | jq -r '.. | .n_sessions? // empty' | head -n 1)" sessions
}

section_scale() {
	local N cur=1 add line max=1 base=$((0x0a800001)) key
	[ -x "$NLBULK" ] || { not_ok "scale: $NLBULK missing (tests/bench/run.sh builds it)"; return 1; }
	for N in $BENCH_SCALE; do [ "$N" -gt "$max" ] && max=$N; done
	jctl a dev set jvpn0 max-sessions $((max + 16)) > /dev/null || return 1
	logcmd scale_dev_set ip netns exec a jvpnctl dev set jvpn0 max-sessions $((max + 16))
	# No drop_caches: it would evict the programs read over 9p, and
	# MemAvailable counts the page cache as available anyway.
	meminfo_snap > "$BENCH_OUT/raw/scale-meminfo-1.txt"
	slab_snap > "$BENCH_OUT/raw/scale-slab-1.txt"
	for N in $BENCH_SCALE; do
		if [ "$N" -gt "$cur" ]; then
			add=$((N - cur))
			logcmd scale_install ip netns exec a nlbulk jvpn0 "$add" first-id 100000 inner-base 10.128.0.1 key path 192.168.241.2:51820 window 192
			line=$(ip netns exec a "$NLBULK" jvpn0 "$add" first-id $((100000 + cur - 1)) \
				inner-base "$(ip_of $((base + cur - 1)))" key path 192.168.241.2:51820 window 192 2>&1)
			diag "install $cur -> $N: $line"
			local secs=NA rate=NA
			if [[ $line =~ seconds=([0-9.]+)\ sessions_per_s=([0-9]+) ]]; then
				secs=${BASH_REMATCH[1]} rate=${BASH_REMATCH[2]}
			fi
			record scale install_rate "$N" 1 "$rate" sessions/s
			record scale install_seconds "$N" 1 "$secs" s
			[[ $line =~ errors=0 ]] || not_ok "scale: install errors at N=$N" "$line"
			cur=$N
			meminfo_snap > "$BENCH_OUT/raw/scale-meminfo-$N.txt"
			slab_snap > "$BENCH_OUT/raw/scale-slab-$N.txt"
			for key in MemAvailable Slab Percpu VmallocUsed; do
				record scale "mem_${key}_per_session" "$N" 1 "$(awk -v k="$key" -v n=$((N - 1)) '
					FNR == NR { b[$1] = $2; next } $1 == k {
					d = (k == "MemAvailable") ? b[k] - $2 : $2 - b[k]
					printf "%.0f", d * 1024 / n }' "$BENCH_OUT/raw/scale-meminfo-1.txt" "$BENCH_OUT/raw/scale-meminfo-$N.txt")" B
			done
		fi
		scale_measure "$N"
	done
}

# -------------------------------------------------------------------- main

if ! setup; then
	bail_out "setup failed"
fi
env_info
for s in "${SECTIONS[@]}"; do
	t0=$(now_us)
	"section_$s" || not_ok "section $s stopped early"
	echo "$s	$((($(now_us) - t0) / 1000000))" >> "$BENCH_OUT/durations.txt"
done
tap_done
