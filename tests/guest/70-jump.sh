#!/bin/bash
# jvpnd session continuity: a client with two uplinks to the server keeps
# its session when the active uplink dies.  jvpnd probes the standby path,
# the kernel reports the active path silent, the client's jvpnd sends a
# REATTACH_REQ on the standby path, the server's jvpnd commits the switch
# (PATH_ADD + versioned PATH_ACTIVATE) and confirms, the client activates
# the path too.  A forged REATTACH_REQ is refused and audited.
#
#   srv u1 192.168.70.1 <---> cli u1 192.168.70.2   (active at start)
#   srv u2 192.168.71.1 <---> cli u2 192.168.71.2   (standby)
#   jvpn 10.70.0.1 (srv) / 10.70.0.2 (cli)
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/jvpnd-lib.sh"

POLICY=$JD_POLICY

setup() {
	jvpn_load && jd_topo_direct srv cli 192.168.70 192.168.71
}

# forge_req SID PORT NET: a REATTACH_REQ for server session SID with a
# random MAC, from the client namespace's NET.2 address (a link that is
# up) on another UDP port, to the server's NET.1.
forge_req() {
	n cli python3 - "$1" "$2" "$3" <<-'EOF'
	import os, socket, struct, sys
	sid, port, net = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
	msg = struct.pack(">B3xIQQQB3x", 5, sid, 1 << 40, 12345, 2, 1)
	msg += os.urandom(16)
	s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
	s.bind((net + ".2", port))
	s.sendto(msg, (net + ".1", 51820))
	EOF
}

setup || bail_out "setup failed"
check "jvpnd on both ends, handshake: tunnel carries ping" jd_pair \
	cli jcli 10.70.0.2 srv jsrv 10.70.0.1 \
	"192.168.70.1:51820, 192.168.71.1:51820" "$POLICY" ||
	bail_out "no tunnel"
check "client session ATTACHED" wait_for -t 5 jd_state_is cli jcli ATTACHED
# Light background traffic: the kernel notices a dead path only when
# something is sent on it.
ip netns exec cli ping -q -i 0.1 10.70.0.1 > /dev/null 2>&1 &
bgping=$!
check "server session ATTACHED under traffic" wait_for -t 5 jd_state_is srv jsrv ATTACHED
CSID=$(jd_sess cli jcli .session_id)
SSID=$(jd_sess srv jsrv .session_id)
AP0=$(jd_sess cli jcli .active_path)
diag "client session $CSID active path $AP0; server session $SSID"
diag "$(jc cli sessions jcli)"
# Let the standby path be probed (validated) before the cut.
sleep 1.5
# jvpnctl paths: the client's view of both paths, and why it would (not)
# move to the standby.
paths=$(jc cli -j paths jcli)
diag "client paths: $(jq -c '[.[] | {path_id, active, use, srtt_ms, loss_permille}]' <<< "$paths")"
check "paths: two paths, one active" test "$(jq '[.[] | select(.active)] | length' <<< "$paths"),$(jq length <<< "$paths")" = 1,2
check "paths: the standby is usable (probed, answered)" \
	jq -e '[.[] | select(.active | not) | .use] == ["validated"] or [.[] | select(.active | not) | .use] == ["measured"]' <<< "$paths"
check "paths: the active one is marked so" jq -e '[.[] | select(.active) | .use] == ["active"]' <<< "$paths"

n srv iperf3 -s -1 -p 5201 > "$TEST_TMP/iperf-server.log" 2>&1 &
wait_listen srv 5201 > /dev/null
n cli timeout 30 iperf3 -c 10.70.0.1 -p 5201 -t 8 --connect-timeout 3000 -J > "$TEST_TMP/iperf.json" 2>&1 &
iperf=$!
n cli timeout 30 ping -D -n -i 0.01 -c 700 -W 1 10.70.0.1 > "$TEST_TMP/ping.txt" 2>&1 &
ping=$!
sleep 2
# The active path's link (u1 unless a loaded emulator already moved it).
cut=u1
[ "$(jd_sess cli jcli .path)" = 192.168.70.1:51820 ] || cut=u2
diag "cut: $cut down on both ends"
ip -n cli link set "$cut" down
ip -n srv link set "$cut" down
wait "$ping"
rc=0
wait "$iperf" || rc=$?
check "iperf3 TCP stream survived the cut (exit $rc)" test "$rc" -eq 0

read -r lost outage gap sent recv < <(jd_ping_outage "$TEST_TMP/ping.txt" 10)
echo "# outage: $lost pings lost x 10 ms = about $outage ms ($recv/$sent received; longest gap between replies $gap ms)"
check "outage under 2 s ($outage ms)" test "$recv" -gt 0 -a "$outage" -lt 2000

check "client session id unchanged" test "$(jd_sess cli jcli .session_id)" = "$CSID"
check "server session id unchanged" test "$(jd_sess srv jsrv .session_id)" = "$SSID"
AP1=$(jd_sess cli jcli .active_path)
check "client active path changed ($AP0 -> $AP1)" test "$AP1" != "$AP0"
check "client session ATTACHED after the jump" wait_for -t 5 jd_state_is cli jcli ATTACHED
check "server session ATTACHED after the jump" wait_for -t 5 jd_state_is srv jsrv ATTACHED
diag "$(jc cli sessions jcli)"
diag "$(jc srv sessions jsrv)"
check "ping after the jump" n cli ping -c 3 -i 0.2 -W 2 10.70.0.1
# The cut path (still down) is now the standby: unanswered probes pile up.
check "paths: the cut path is not usable while down" wait_for -t 10 bash -c \
	"ip netns exec cli $JVPNCTL -j paths jcli | jq -e '[.[] | select(.active | not) | .use] | .[0] as \$u | [\"given_up\", \"below_floor\", \"unmeasured\"] | index(\$u) != null'"

tl=$(jc cli -j timeline jcli "$CSID")
diag "client timeline: $(jq -r '[.[] | (.type + ":" + (.action // "") + (if .from then " " + .from + ">" + .to else "" end))] | join(", ")' <<< "$tl")"
check "client timeline: path_switched" grep -q '"path_switched"' <<< "$tl"
check "server timeline: path_switched" bash -c \
	"ip netns exec srv $JVPNCTL -j timeline jsrv $SSID | grep -q '\"path_switched\"'"
check "client audit: TransportSwitch" jd_audit_has cli '"kind":"TransportSwitch"'
check "server audit: TransportSwitch" jd_audit_has srv '"kind":"TransportSwitch"'

check "client audit: REATTACH_STARTED" jd_audit_has cli '"to":"RECOVERING"'

# A forged REATTACH_REQ (random MAC): refused, audited, nothing moves.
ver0=$(jd_kver srv jsrv "$SSID")
SAP=$(jd_sess srv jsrv .active_path)
up_net=192.168.71
[ "$cut" = u1 ] || up_net=192.168.70
check "forged REATTACH_REQ sent" forge_req "$SSID" 40000 "$up_net"
check "forged REATTACH_REQ refused: SECURITY_EVENT" wait_for -t 5 \
	jd_audit_has srv '"type":"SECURITY_EVENT".*"error":"mac"'
sleep 0.5
check "server active path unchanged after the forgery" \
	test "$(jd_sess srv jsrv .active_path)" = "$SAP"
check "server state_version unchanged after the forgery" test \
	"$(jd_kver srv jsrv "$SSID")" = "$ver0"
check "ping after the forgery" n cli ping -c 3 -i 0.2 -W 2 10.70.0.1
check "both daemons still running" kill -0 "$JD_PID_srv" "$JD_PID_cli"
kill "$bgping" 2>/dev/null

if [ -n "${JVPN_JUMP_DEBUG:-}" ]; then
	diag "server audit:" "$(cut -c1-400 "$TEST_TMP/srv.audit")"
	diag "client audit:" "$(cut -c1-400 "$TEST_TMP/cli.audit")"
fi
tap_done
