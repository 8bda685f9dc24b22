#!/bin/bash
# Kernel events: PATH_SILENT when the active path stops answering and
# PATH_ALIVE when it answers again, SESSION_REMOVED, device-wide sequence
# numbers without gaps, and the per-device rate limit counting what it
# drops.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/topo.sh"

topo_up || bail_out "topology setup failed"
jctl a dev set jvpn0 silent-ms 200 keepalive-ms 50
bg_run n a "$JVPNCTL" -j monitor jvpn0
mon=$BG_LOG
sleep 1

bg_run n a ping -i 0.02 -W 1 10.10.0.2
pinger=$BG_PID
sleep 1
t_cut=${EPOCHREALTIME/[.,]/}
ip -n b link set u1 down
check "PATH_SILENT for path 1 after the cut" \
	wait_for -t 10 grep -q '"event":"path_silent".*"path_id":1' "$mon"
ip -n b link set u1 up
check "PATH_ALIVE for path 1 once it answers again" \
	wait_for -t 10 grep -q '"event":"path_alive".*"path_id":1' "$mon"
bg_kill "$pinger"

jctl a session add jvpn0 id 4242 peer-id 1 inner 10.10.0.42/32
jctl a session del jvpn0 id 4242
check "SESSION_REMOVED for a deleted session" \
	wait_for -t 5 grep -q '"event":"session_removed".*"session_id":4242' "$mon"

# Rate limit: one event per second; a burst of removals is mostly dropped.
jctl a dev set jvpn0 event-rate 1
d0=$(jctl a -j dev show jvpn0 | jq .stats.events_dropped)
# All in one netlink socket (one process): a loaded emulator must not
# space them out to the refill rate.
ifx=$(ip -n a -j link show jvpn0 | jq '.[0].ifindex')
for i in $(seq 1 10); do
	echo "[\"SESSION_NEW\", \"IFINDEX=u32:$ifx\", \"SESSION_ID=u32:$((5000 + i))\", \"PEER_ID=u32:1\"]"
	echo "[\"SESSION_DEL\", \"IFINDEX=u32:$ifx\", \"SESSION_ID=u32:$((5000 + i))\"]"
done > "$TEST_TMP/burst"
# shellcheck disable=SC2086 # NLRAW is a command line
ip netns exec a $NLRAW --batch < "$TEST_TMP/burst" > "$TEST_TMP/burst.out" 2>&1
check "burst: every add and delete accepted" \
	test "$(jq -s '[.[] | select(.errno == 0)] | length' "$TEST_TMP/burst.out")" = 20
d1=$(jctl a -j dev show jvpn0 | jq .stats.events_dropped)
check "rate limit dropped and counted events ($d0 -> $d1)" test "$d1" -gt "$d0"
sleep 0.5
bg_kill
seqs=$(jq -r .seq "$mon" | tr '\n' ' ')
diag "event sequence numbers seen: $seqs"
check "sequence numbers are contiguous (drops take none)" \
	jq -s -e '[.[].seq] as $s | $s == [range($s[0]; $s[0] + ($s | length))]' "$mon"
check "monitor reported no loss" test -z "$(grep -i lost "$mon")"
tap_done
