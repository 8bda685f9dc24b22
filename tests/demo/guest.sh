#!/bin/bash
# The demo, inside the guest: two hosts joined by two links, one session
# between them.  A ping every 10 ms and a TCP stream run through the
# tunnel; the active link is cut.  The kernel notices the silent path and
# reports it; a controller (a few lines of shell standing in for jvpnd's
# validated reattach, which is being integrated) switches the session with
# one versioned call.  The session id, keys, counters and replay window
# stay; the timeline and the measured outage are printed.
set -uo pipefail
. "$JVPN_REPO/tests/guest/lib.sh"
. "$JVPN_REPO/tests/guest/topo.sh"

T0=${EPOCHREALTIME/[.,]/}
stamp() { local now=${EPOCHREALTIME/[.,]/}; printf '%7.3fs' "$(((now - T0) / 1000))e-3"; }
say() { echo "$(stamp)  $*"; }

say "setting up: namespaces a and b, links u1 and u2, jvpn0 on each side"
topo_up > /dev/null 2>&1 || { echo "setup failed"; exit 1; }
for ns in a b; do
	jctl "$ns" dev set jvpn0 silent-ms 200 keepalive-ms 50
done
sid_a=$(jq_session a .session_id)
say "session $sid_a (a) <-> 2001 (b) up on path 1 (link u1)"

# The controller: on PATH_SILENT for the active path, switch to the other
# path heard from most recently, with the version just read; then hold off
# for a second (anti-flap: the other end needs a moment to follow).
controller() {
	local ns=$1 line ev sid path seq best v hold=0 now
	while read -r line; do
		read -r ev sid path seq < <(jq -r '"\(.event) \(.session_id) \(.path_id // "-") \(.seq)"' <<< "$line")
		echo "$(stamp)  $ns: kernel event $ev session $sid path $path seq $seq"
		[ "$ev" = path_silent ] || continue
		now=${EPOCHREALTIME/[.,]/}
		[ "$now" -ge "$hold" ] || { echo "$(stamp)  $ns: within cooldown, no switch"; continue; }
		read -r best v < <(jctl "$ns" -j session show jvpn0 id "$sid" |
			jq -r '([.paths[] | select(.active | not) | select(.remote | test("^192"))]
			       | sort_by(.last_rx_ms) | .[0].path_id | tostring) + " " + (.state_version | tostring)')
		if jctl "$ns" path activate jvpn0 session "$sid" path "$best" \
			expect-version "$v" > /dev/null; then
			echo "$(stamp)  $ns: switched session $sid to path $best (state_version $v -> $((v + 1)))"
			hold=$((${EPOCHREALTIME/[.,]/} + 1000000))
		fi
	done
}
for ns in a b; do
	ip netns exec "$ns" "$JVPNCTL" -j monitor jvpn0 | controller "$ns" &
done
sleep 1

n b iperf3 -s -1 -p 5201 > /dev/null 2>&1 &
wait_listen b 5201 > /dev/null
n a iperf3 -c 10.10.0.2 -p 5201 -t 8 -J > "$TEST_TMP/iperf.json" 2>&1 &
iperf=$!
n a ping -i 0.01 -c 600 -W 1 10.10.0.2 > "$TEST_TMP/ping.txt" 2>&1 &
ping=$!
tx_before=$(jq_session a .tx_counter)
say "ping every 10 ms and an iperf3 TCP stream are running"
sleep 2
say "CUT: link u1 goes down on both ends"
ip -n a link set u1 down
ip -n b link set u1 down
wait "$ping"
rc=0
wait "$iperf" || rc=$?
# The stand-in controller has no probes of standby paths: stop it before
# the idle tail makes it chase a dead link.
pkill -f "$JVPNCTL -j monitor" 2>/dev/null
sleep 0.5

sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$TEST_TMP/ping.txt")
recv=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$TEST_TMP/ping.txt")
lost=$((sent - recv))
outage=$((lost * 10))
bytes=$(jq '.end.sum_received.bytes // 0' "$TEST_TMP/iperf.json")
echo
echo "session after the jump:"
jctl a -j session show jvpn0 id "$sid_a" |
	jq -r '"  a: session \(.session_id), active path \(.active_path_id), state_version \(.state_version), keys \([.keys[].key_id]), tx_counter \(.tx_counter), path switches \(.stats.path_switches), replay drops \(.stats.rx_replay)"'
jctl b -j session show jvpn0 id 2001 |
	jq -r '"  b: session \(.session_id), active path \(.active_path_id), state_version \(.state_version), keys \([.keys[].key_id]), rx_counter \(.rx_counter), path switches \(.stats.path_switches), replay drops \(.stats.rx_replay)"'
echo "  TX counter continued across the jump: $tx_before -> $(jq_session a .tx_counter)"
echo "  ping: $sent sent, $recv received, $lost lost => outage about ${outage} ms"
echo "  TCP stream: iperf3 exit status $rc, $bytes bytes delivered"
if [ "$rc" -eq 0 ] && [ "$(jq_session a .active_path_id)" = 2 ] && [ "$outage" -lt 1000 ]; then
	echo "VERDICT: session $sid_a jumped from link u1 to u2 in about ${outage} ms; TCP stream survived"
	exit 0
fi
echo "VERDICT: the jump did not complete as expected"
exit 1
