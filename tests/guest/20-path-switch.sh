#!/bin/bash
# Switching the active path while an iperf3 TCP stream runs: the stream
# survives, the switch shows in the counters, and the session's counters
# and keys are untouched by it.  A stale version is refused and changes
# nothing.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/topo.sh"

topo_up || bail_out "topology setup failed"
check "tunnel up over path 1" n a ping -c 2 -i 0.2 -W 2 10.10.0.2

v0=$(jq_session a .state_version)
tx0=$(jq_session a .tx_counter)
keys0=$(jq_session a '.keys | map({slot, key_id}) | tostring')

n b iperf3 -s -1 -p 5201 > "$TEST_TMP/iperf-s.log" 2>&1 &
srv=$!
wait_listen b 5201
# Long enough that a slow (loaded) emulator still switches mid-stream.
bg_run n a iperf3 -c 10.10.0.2 -p 5201 -t 14 -J
cli=$BG_PID cli_log=$BG_LOG
sleep 3
check "switch a to path 2 during the stream" activate a 2
check "switch b to path 2 during the stream" activate b 2
rc=0
wait "$cli" || rc=$?
wait "$srv" 2>/dev/null
check "iperf3 stream survived the switch" test "$rc" -eq 0
bytes=$(jq '.end.sum_received.bytes' "$cli_log" 2>/dev/null)
check "stream delivered data ($bytes bytes)" test "${bytes:-0}" -gt 100000
retr=$(jq '.end.sum_sent.retransmits' "$cli_log" 2>/dev/null)
diag "retransmits during the stream: $retr"

check "a's active path is 2" test "$(jq_session a .active_path_id)" = 2
check "a counted one path switch" test "$(jq_session a .stats.path_switches)" = 1
p2=$(jq_session a '.paths[] | select(.path_id == 2) | .stats.tx_packets')
check "path 2 carried traffic after the switch ($p2 packets)" test "${p2:-0}" -gt 100
p2b=$(jq_session b '.paths[] | select(.path_id == 2) | .stats.rx_packets')
check "b received on path 2 ($p2b packets)" test "${p2b:-0}" -gt 100
check "state_version advanced by one" test "$(jq_session a .state_version)" = $((v0 + 1))
tx1=$(jq_session a .tx_counter)
check "TX counter continued across the switch ($tx0 -> $tx1)" test "$tx1" -gt "$tx0"
check "keys unchanged by the switch" \
	test "$(jq_session a '.keys | map({slot, key_id}) | tostring')" = "$keys0"
check "no replay or auth failures on b" \
	test "$(jq_session b '.stats.rx_replay + .stats.rx_auth_fail')" = 0

stale=$((v0))
if jctl a path activate jvpn0 session 1001 path 1 expect-version "$stale" \
	> "$TEST_TMP/stale.out" 2>&1; then
	not_ok "activation with a stale version is refused"
else
	check "stale activation names the reason" grep -q "stale state_version" "$TEST_TMP/stale.out"
fi
check "stale activation changed nothing" test "$(jq_session a .active_path_id)" = 2

tap_done
