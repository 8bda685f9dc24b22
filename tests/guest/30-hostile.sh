#!/bin/bash
# Hostile packets: a replayed DATA packet, a tampered one, a truncated one
# and one for an unknown session are dropped and counted; an authenticated
# packet from a source that is not one of the session's paths raises an
# UNKNOWN_SOURCE event and does not move the session.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/topo.sh"

topo_up || bail_out "topology setup failed"

bg_run n b tcpdump -n -i u1 -c 8 -w "$TEST_TMP/cap.pcap" udp port 51820
dump=$BG_PID
sleep 1
check "traffic to capture" n a ping -c 4 -i 0.2 -W 2 10.10.0.2
wait "$dump" 2>/dev/null
check "captured DATA packets" test -s "$TEST_TMP/cap.pcap"

stat_b() { jq_session b ".stats.$1"; }
dev_b() { jctl b -j dev show jvpn0 | jq ".stats.$1"; }
send() { n a python3 "$JVPN_REPO/tests/tools/udpsend.py" "$TEST_TMP/cap.pcap" \
	192.168.241.2 51820 "$@" > /dev/null; }

r0=$(stat_b rx_replay) rx0=$(stat_b rx_packets)
send replay 40000
wait_for -t 5 test "$(stat_b rx_replay)" -ge $((r0 + 1))
check "replayed packet dropped and counted ($r0 -> $(stat_b rx_replay))" \
	test "$(stat_b rx_replay)" -gt "$r0"
a0=$(stat_b rx_auth_fail)
send tamper 40001
wait_for -t 5 test "$(stat_b rx_auth_fail)" -gt "$a0"
check "tampered packet dropped and counted" test "$(stat_b rx_auth_fail)" -gt "$a0"
m0=$(dev_b rx_malformed)
send short 40002
wait_for -t 5 test "$(dev_b rx_malformed)" -gt "$m0"
check "truncated packet dropped and counted" test "$(dev_b rx_malformed)" -gt "$m0"
s0=$(dev_b rx_no_session)
send nosess 40003
wait_for -t 5 test "$(dev_b rx_no_session)" -gt "$s0"
check "packet for an unknown session dropped and counted" \
	test "$(dev_b rx_no_session)" -gt "$s0"
check "no hostile packet was delivered" \
	test "$(stat_b rx_packets)" -le $((rx0 + 0))

# A fresh, authenticated packet from an unknown source: a sends on a second
# socket (port 51830) that b has no path for.
bg_run n b "$JVPNCTL" -j monitor jvpn0
mon_log=$BG_LOG
sleep 1
sid2=$(jctl a socket add jvpn0 listen 0.0.0.0:51830)
jctl a path add jvpn0 session 1001 path 4 socket "$sid2" remote 192.168.241.2:51820
check "a moves to its new socket" activate a 4
u0=$(stat_b rx_unknown_source)
check "traffic still flows (b replies on its own active path)" \
	n a ping -c 3 -i 0.2 -W 2 10.10.0.2
check "b counted packets from an unknown source" test "$(stat_b rx_unknown_source)" -gt "$u0"
check "b's session did not move" test "$(jq_session b .active_path_id)" = 1
wait_for -t 5 grep -q unknown_source "$mon_log"
check "UNKNOWN_SOURCE event with the new port" \
	grep -q '"event":"unknown_source".*51830' "$mon_log"
bg_kill
diag "$(head -n 3 "$mon_log")"

tap_done
