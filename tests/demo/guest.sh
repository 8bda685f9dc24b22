#!/bin/bash
# The demo, inside the guest: two hosts joined by two links, jvpnd on
# each, one session between them.  A ping every 10 ms and a TCP stream run
# through the tunnel; the active link is cut.  The kernel reports the
# active path silent; the client's jvpnd sends a REATTACH_REQ on the
# standby link it has been probing, the server's jvpnd commits the switch
# (versioned PATH_ACTIVATE) and confirms, the client moves its TX.  The
# session id, keys and counters stay; jvpnd's timeline and the measured
# outage are printed; the last line is the verdict.
set -uo pipefail
. "$JVPN_REPO/tests/guest/lib.sh"

. "$JVPN_REPO/tests/guest/jvpnd-lib.sh"

T0=${EPOCHREALTIME/[.,]/}
stamp() { local now=${EPOCHREALTIME/[.,]/}; printf '%7.3fs' "$(((now - T0) / 1000))e-3"; }
say() { echo "$(stamp)  $*"; }
sess() { jd_sess "$1" "jvpn$1" "$2"; }
fail() { echo "$*"; echo "VERDICT: the demo could not run ($*)"; exit 1; }

POLICY='[Policy]
TransportLossTtlMs = 200
ProbeIntervalMs    = 100'

# a is the client (it has the Endpoints, one per link), b the server.
setup() {
	jvpn_load && jd_topo_direct a b 192.168.241 192.168.242 &&
		jd_pair a jvpna 10.10.0.1 b jvpnb 10.10.0.2 \
			"192.168.241.2:51820, 192.168.242.2:51820" "$POLICY"
}

say "setting up: namespaces a and b, links u1 and u2, jvpnd on each side"
setup > /dev/null 2>&1 || fail "setup failed"
# Light traffic keeps the idle path from looking silent until the test.
ip netns exec a ping -q -i 0.1 10.10.0.2 > /dev/null 2>&1 &
bgping=$!
sleep 1.5
sid_a=$(sess a .session_id)
sid_b=$(sess b .session_id)
say "session $sid_a (a) <-> $sid_b (b) up on path $(sess a .active_path) ($(sess a .path)), standby link probed by jvpnd"

n b iperf3 -s -1 -p 5201 > /dev/null 2>&1 &
wait_listen b 5201 > /dev/null
n a timeout 30 iperf3 -c 10.10.0.2 -p 5201 -t 8 --connect-timeout 3000 -J > "$TEST_TMP/iperf.json" 2>&1 &
iperf=$!
n a timeout 30 ping -D -n -i 0.01 -c 600 -W 1 10.10.0.2 > "$TEST_TMP/ping.txt" 2>&1 &
ping=$!
tx_before=$(sess a .tx_packets)
say "ping every 10 ms and an iperf3 TCP stream are running"
sleep 2
say "CUT: link u1 goes down on both ends"
ip -n a link set u1 down
ip -n b link set u1 down
wait "$ping"
rc=0
wait "$iperf" || rc=$?
kill "$bgping" 2>/dev/null

read -r lost outage gap sent recv < <(jd_ping_outage "$TEST_TMP/ping.txt" 10)
bytes=$(jq '.end.sum_received.bytes // 0' "$TEST_TMP/iperf.json" 2>/dev/null)

# The switch records with their details (the audit log has the extras).
switches() {
	jq -r --arg ns "$1" 'select(.kind == "TransportSwitch") |
		"  \($ns) \(.wall[11:23]) \(.side): path \(.path_old) -> \(.path_new) via \(.remote), \(.validation) validation, recovery \(.recovery_ms) ms, epoch \(.epoch)"' \
		"$TEST_TMP/$1.audit"
}
echo
echo "jvpnd timelines:"
jd_timeline a jvpna "$sid_a"
jd_timeline b jvpnb "$sid_b"
echo
echo "TransportSwitch records:"
switches a
switches b
echo
echo "session after the jump:"
jc a sessions jvpna | sed 's/^/  a: /'
jc b sessions jvpnb | sed 's/^/  b: /'
echo "  TX packets continued across the jump: $tx_before -> $(sess a .tx_packets)"
echo "  ping every 10 ms: $sent sent, $recv received, $lost lost => outage about ${outage} ms (longest gap between replies: $gap ms)"
echo "  TCP stream: iperf3 exit status $rc, ${bytes:-0} bytes delivered"
if [ "$rc" -eq 0 ] && [ "$(sess a .session_id)" = "$sid_a" ] &&
   [ "$(sess a .active_path)" = 2 ] && [ "$outage" -lt 1000 ]; then
	echo "VERDICT: session $sid_a jumped from link u1 to u2 in about ${outage} ms (jvpnd reattach); TCP stream survived"
	exit 0
fi
echo "VERDICT: the jump did not complete as expected"
exit 1
