#!/bin/bash
# Session continuity when the active path is cut in the middle of the
# network, three ways: the router's links go down, the router loses 100%
# of the path's packets (netem), the router drops them (nftables).  Each
# cut runs under an iperf3 TCP stream and a 10 ms ping: the stream must
# survive, the session id, key and counters must stay, the active path
# must change, and the outage (lost pings x 10 ms) is printed.
#
# Topology: jd_topo_routed (tests/guest/jvpnd-lib.sh); the client has two
# uplinks, each path crosses the router "rtr" on links of its own.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/jvpnd-lib.sh"

# Switch limits loose enough for three cuts in a row (86-flap tests them).
POLICY="$JD_POLICY
SwitchCooldownMs    = 200
MaxSwitchesPerMinute = 10
RekeyAfterSeconds   = 3600"

# cut KIND CLIENT_LINK SERVER_LINK / heal KIND ...: on the router.
cut() {
	case $1 in
	link)
		ip -n rtr link set "$2" down && ip -n rtr link set "$3" down ;;
	netem)
		n rtr tc qdisc add dev "$2" root netem loss 100% &&
		n rtr tc qdisc add dev "$3" root netem loss 100% ;;
	nft)
		n rtr nft -f - <<-EOF
		table inet jcut {
			chain cut {
				type filter hook forward priority 0;
				iifname "$2" drop
				oifname "$2" drop
			}
		}
		EOF
		;;
	esac
}
heal() {
	case $1 in
	link) ip -n rtr link set "$2" up && ip -n rtr link set "$3" up ;;
	netem) n rtr tc qdisc del dev "$2" root && n rtr tc qdisc del dev "$3" root ;;
	nft) n rtr nft delete table inet jcut ;;
	esac
}

kernel_key() { jc cli -j session show jcli id "$CSID" | jq -c '[.keys[].key_id]'; }

jvpn_load && jd_topo_routed || bail_out "setup failed"
check "jvpnd on both ends, handshake over the router: tunnel carries ping" \
	jd_pair cli jcli 10.80.0.2 srv jsrv 10.80.0.1 \
	"$JD_SRV1:51820, $JD_SRV2:51820" "$POLICY" || bail_out "no tunnel"
# Light background traffic: the kernel notices a dead path only when
# something is sent on it.
ip netns exec cli ping -q -i 0.1 10.80.0.1 > /dev/null 2>&1 &
bgping=$!
check "client session ATTACHED" wait_for -t 10 jd_state_is cli jcli ATTACHED
check "server session ATTACHED" wait_for -t 10 jd_state_is srv jsrv ATTACHED
CSID=$(jd_sess cli jcli .session_id)
SSID=$(jd_sess srv jsrv .session_id)
KEY0=$(kernel_key)
REKEYS0=$(jd_sess cli jcli .rekeys)
n srv iperf3 -s -p 5201 > "$TEST_TMP/iperf-server.log" 2>&1 &
iperf_srv=$!
wait_listen srv 5201 > /dev/null

for kind in link netem nft; do
	# The standby path must have answered probes recently (validated).
	sleep 1.5
	path0=$(jd_sess cli jcli .path)
	ap0=$(jd_sess cli jcli .active_path)
	tx0=$(jd_sess cli jcli .tx_packets)
	read -r clink slink < <(jd_link_of "$path0")
	diag "cut $kind: active path $ap0 ($path0), router links $clink/$slink"
	n cli timeout 40 iperf3 -c 10.80.0.1 -p 5201 -t 6 --connect-timeout 3000 \
		-J > "$TEST_TMP/iperf-$kind.json" 2>&1 &
	iperf=$!
	n cli timeout 40 ping -D -n -i 0.01 -c 500 -W 1 10.80.0.1 \
		> "$TEST_TMP/ping-$kind.txt" 2>&1 &
	ping=$!
	sleep 1.5
	check "$kind: cut on the router" cut "$kind" "$clink" "$slink"
	wait "$ping"
	rc=0
	wait "$iperf" || rc=$?
	read -r lost outage gap sent recv < <(jd_ping_outage "$TEST_TMP/ping-$kind.txt" 10)
	echo "# $kind: outage $lost pings lost x 10 ms = about $outage ms ($recv/$sent received; longest gap between replies $gap ms)"
	check "$kind: iperf3 TCP stream survived (exit $rc)" test "$rc" -eq 0
	check "$kind: outage under 2 s ($outage ms)" \
		test "$recv" -gt 0 -a "$outage" -lt 2000
	check "$kind: client active path changed" \
		test "$(jd_sess cli jcli .active_path)" != "$ap0"
	check "$kind: client session id unchanged" \
		test "$(jd_sess cli jcli .session_id)" = "$CSID"
	check "$kind: server session id unchanged" \
		test "$(jd_sess srv jsrv .session_id)" = "$SSID"
	check "$kind: kernel keys unchanged ($KEY0)" test "$(kernel_key)" = "$KEY0"
	check "$kind: no rekey, counters continued" test \
		"$(jd_sess cli jcli .rekeys)" = "$REKEYS0" -a \
		"$(jd_sess cli jcli .tx_packets)" -gt "$tx0"
	check "$kind: client ATTACHED" wait_for -t 5 jd_state_is cli jcli ATTACHED
	check "$kind: server ATTACHED" wait_for -t 5 jd_state_is srv jsrv ATTACHED
	check "$kind: healed on the router" heal "$kind" "$clink" "$slink"
done
kill "$iperf_srv" "$bgping" 2>/dev/null

# At least one switch per cut (a loaded emulator can add a spurious one).
check "client audit: a TransportSwitch per cut" test \
	"$(jd_audit_count cli '"kind":"TransportSwitch"')" -ge 3
check "server audit: a TransportSwitch per cut" test \
	"$(jd_audit_count srv '"kind":"TransportSwitch"')" -ge 3
tl=$(jc cli -j timeline jcli "$CSID")
check "client timeline: a path switch per cut" test \
	"$(jq '[.[] | select(.action == "path_switched")] | length' <<< "$tl")" -ge 3
diag "client timeline:" "$(jd_timeline cli jcli "$CSID")"
diag "server timeline:" "$(jd_timeline srv jsrv "$SSID")"
check "ping after the cuts" n cli ping -c 3 -i 0.2 -W 2 10.80.0.1
check "both daemons still running" kill -0 "$JD_PID_srv" "$JD_PID_cli"
tap_done
