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

JVPND=${JVPN_JVPND:-$JVPN_REPO/build/jvpnd}
JVPNCTL=${JVPNCTL:-$JVPN_REPO/build/jvpnctl}

jc() { ip netns exec "$1" "$JVPNCTL" "${@:2}"; }
sess() { jc "$1" -j sessions "$2" | jq -r ".[0] | $3"; }
state_is() { [ "$(sess "$1" "$2" .state)" = "$3" ]; }
audit_has() { grep -q "$2" "$TEST_TMP/$1.audit"; }

POLICY='[Policy]
TransportLossTtlMs = 200
ProbeIntervalMs    = 100
MaxRecoveryWindowMs = 5000'

setup() {
	jvpn_load || return 1
	ns_create srv cli || return 1
	veth_pair srv u1 cli u1 && veth_pair srv u2 cli u2 || return 1
	ip -n srv addr add 192.168.70.1/24 dev u1 &&
	ip -n cli addr add 192.168.70.2/24 dev u1 &&
	ip -n srv addr add 192.168.71.1/24 dev u2 &&
	ip -n cli addr add 192.168.71.2/24 dev u2 || return 1
	local who
	for who in srv cli; do
		(umask 077 && "$JVPNCTL" genkey > "$TEST_TMP/$who.key") || return 1
		"$JVPNCTL" pubkey < "$TEST_TMP/$who.key" > "$TEST_TMP/$who.pub" ||
			return 1
	done
	cat > "$TEST_TMP/jsrv.conf" <<-EOF || return 1
	[Interface]
	PrivateKey = $(< "$TEST_TMP/srv.key")
	ListenPort = 51820
	Address    = 10.70.0.1/24

	[Peer]
	PublicKey  = $(< "$TEST_TMP/cli.pub")
	AllowedIPs = 10.70.0.2/32

	$POLICY
	EOF
	cat > "$TEST_TMP/jcli.conf" <<-EOF || return 1
	[Interface]
	PrivateKey = $(< "$TEST_TMP/cli.key")
	ListenPort = 51821
	Address    = 10.70.0.2/24

	[Peer]
	PublicKey  = $(< "$TEST_TMP/srv.pub")
	AllowedIPs = 10.70.0.1/32
	Endpoint   = 192.168.70.1:51820, 192.168.71.1:51820

	$POLICY
	EOF
}

start() {
	rm -f "/run/jvpn/j$1.sock"
	bg_run n "$1" "$JVPND" -c "$TEST_TMP/j$1.conf" --foreground \
		--audit "$TEST_TMP/$1.audit"
	eval "PID_$1=$BG_PID"
	wait_for -t 20 test -S "/run/jvpn/j$1.sock"
}

# forge_req SID PORT: a REATTACH_REQ for server session SID with a random
# MAC, from the client namespace's u2 address on another UDP port.
forge_req() {
	n cli python3 - "$1" "$2" <<-'EOF'
	import os, socket, struct, sys
	sid, port = int(sys.argv[1]), int(sys.argv[2])
	msg = struct.pack(">B3xIQQQB3x", 5, sid, 1 << 40, 12345, 2, 1)
	msg += os.urandom(16)
	s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
	s.bind(("192.168.71.2", port))
	s.sendto(msg, ("192.168.71.1", 51820))
	EOF
}

setup || bail_out "setup failed"
check "server jvpnd starts" start srv
check "client jvpnd starts" start cli
check "handshake: tunnel carries ping" wait_for -t 30 \
	n cli ping -c 1 -W 1 10.70.0.1 || bail_out "no tunnel"
check "client session ATTACHED" wait_for -t 5 state_is cli jcli ATTACHED
# Light background traffic: an idle path whose last packet went unanswered
# is reported silent (and the session VOLATILE) by design.
ip netns exec cli ping -q -i 0.1 10.70.0.1 > /dev/null 2>&1 &
bgping=$!
check "server session ATTACHED under traffic" wait_for -t 5 state_is srv jsrv ATTACHED
CSID=$(sess cli jcli .session_id)
SSID=$(sess srv jsrv .session_id)
AP0=$(sess cli jcli .active_path)
diag "client session $CSID active path $AP0; server session $SSID"
diag "$(jc cli sessions jcli)"
# Let the standby path be probed (validated) before the cut.
sleep 1.5

n srv iperf3 -s -1 -p 5201 > "$TEST_TMP/iperf-server.log" 2>&1 &
wait_listen srv 5201 > /dev/null
n cli timeout 30 iperf3 -c 10.70.0.1 -p 5201 -t 8 --connect-timeout 3000 -J > "$TEST_TMP/iperf.json" 2>&1 &
iperf=$!
n cli timeout 30 ping -n -i 0.01 -c 700 -W 1 10.70.0.1 > "$TEST_TMP/ping.txt" 2>&1 &
ping=$!
sleep 2
diag "cut: u1 down on both ends"
ip -n cli link set u1 down
ip -n srv link set u1 down
wait "$ping"
rc=0
wait "$iperf" || rc=$?
check "iperf3 TCP stream survived the cut (exit $rc)" test "$rc" -eq 0

sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$TEST_TMP/ping.txt")
recv=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$TEST_TMP/ping.txt")
lost=$((${sent:-0} - ${recv:-0}))
echo "# outage: $lost pings lost x 10 ms = about $((lost * 10)) ms ($recv/$sent received)"
check "outage under 2 s ($((lost * 10)) ms)" test "${recv:-0}" -gt 0 -a "$lost" -lt 200

check "client session id unchanged" test "$(sess cli jcli .session_id)" = "$CSID"
check "server session id unchanged" test "$(sess srv jsrv .session_id)" = "$SSID"
AP1=$(sess cli jcli .active_path)
check "client active path changed ($AP0 -> $AP1)" test "$AP1" != "$AP0"
check "client session ATTACHED after the jump" wait_for -t 5 state_is cli jcli ATTACHED
check "server session ATTACHED after the jump" wait_for -t 5 state_is srv jsrv ATTACHED
diag "$(jc cli sessions jcli)"
diag "$(jc srv sessions jsrv)"
check "ping after the jump" n cli ping -c 3 -i 0.2 -W 2 10.70.0.1

tl=$(jc cli -j timeline jcli "$CSID")
diag "client timeline: $(jq -r '[.[] | (.type + ":" + (.action // "") + (if .from then " " + .from + ">" + .to else "" end))] | join(", ")' <<< "$tl")"
check "client timeline: path_switched" grep -q '"path_switched"' <<< "$tl"
check "server timeline: path_switched" bash -c \
	"ip netns exec srv $JVPNCTL -j timeline jsrv $SSID | grep -q '\"path_switched\"'"
check "client audit: TransportSwitch" audit_has cli '"kind":"TransportSwitch"'
check "server audit: TransportSwitch" audit_has srv '"kind":"TransportSwitch"'

check "client audit: REATTACH_STARTED" audit_has cli '"to":"RECOVERING"'

# A forged REATTACH_REQ (random MAC): refused, audited, nothing moves.
ver0=$(jc srv -j session show jsrv id "$SSID" | jq -r .state_version)
SAP=$(sess srv jsrv .active_path)
check "forged REATTACH_REQ sent" forge_req "$SSID" 40000
check "forged REATTACH_REQ refused: SECURITY_EVENT" wait_for -t 5 \
	audit_has srv '"type":"SECURITY_EVENT".*"error":"mac"'
sleep 0.5
check "server active path unchanged after the forgery" \
	test "$(sess srv jsrv .active_path)" = "$SAP"
check "server state_version unchanged after the forgery" test \
	"$(jc srv -j session show jsrv id "$SSID" | jq -r .state_version)" = "$ver0"
check "ping after the forgery" n cli ping -c 3 -i 0.2 -W 2 10.70.0.1
check "both daemons still running" kill -0 "$PID_srv" "$PID_cli"
kill "$bgping" 2>/dev/null

if [ -n "${JVPN_JUMP_DEBUG:-}" ]; then
	diag "server audit:" "$(cut -c1-400 "$TEST_TMP/srv.audit")"
	diag "client audit:" "$(cut -c1-400 "$TEST_TMP/cli.audit")"
fi
tap_done
