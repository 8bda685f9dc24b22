#!/bin/bash
# NAT rebinding: the router starts to translate the client's active path
# (nftables SNAT to its own address, port 40000) and behaves like a NAT
# gateway (new flows from the server side to the client are dropped), so
# the server must learn the new source.  Then the NAT changes the port
# (40001) and forgets its mappings, as a NAT does when it reboots or times
# a mapping out.  Both times the server sees authenticated DATA from an
# unknown source (kernel UNKNOWN_SOURCE), validates the new source with a
# challenge on it, and moves the session there; traffic continues with the
# same session.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/jvpnd-lib.sh"

# The client's silence detection is not under test here, and a loaded
# emulator can stall a path for more than JD_POLICY's 400 ms: the client
# would then leave the path the NAT is on.  So a longer TTL.
POLICY="${JD_POLICY/TransportLossTtlMs  = 400/TransportLossTtlMs  = 1500}
SwitchCooldownMs    = 200"
[[ $POLICY == *"TransportLossTtlMs  = 1500"* ]] ||
	bail_out "JD_POLICY changed: set the longer TransportLossTtlMs again"

# nat PORT: the router's NAT for the client's active path: its source
# CADDR leaving on SLINK is translated to the router's RADDR:PORT, and new
# flows from SLINK towards CLINK are dropped.
nat() {
	n rtr nft -f - <<-EOF
	table ip jnat
	delete table ip jnat
	table ip jnat {
		chain postnat {
			type nat hook postrouting priority srcnat; policy accept;
			oifname "$SLINK" ip saddr $CADDR udp sport 51821 snat to $RADDR:$1
		}
		chain gate {
			type filter hook forward priority filter; policy accept;
			iifname "$SLINK" oifname "$CLINK" ct state new drop
		}
	}
	EOF
}
server_path() { jd_sess srv jsrv .path; }

jvpn_load && jd_topo_routed || bail_out "setup failed"
check "jvpnd on both ends: tunnel carries ping" \
	jd_pair cli jcli 10.82.0.2 srv jsrv 10.82.0.1 \
	"$JD_SRV1:51820, $JD_SRV2:51820" "$POLICY" || bail_out "no tunnel"
ip netns exec cli ping -q -i 0.1 10.82.0.1 > /dev/null 2>&1 &
bgping=$!
check "server session ATTACHED" wait_for -t 10 jd_state_is srv jsrv ATTACHED
# The client's active path (path 1 unless a loaded emulator moved it).
CPATH=$(jd_sess cli jcli .path)
read -r CLINK SLINK < <(jd_link_of "$CPATH")
CADDR=192.168.70.2 RADDR=192.168.72.1
[ "$CLINK" = c1 ] || CADDR=192.168.71.2 RADDR=192.168.73.1
check "server sees the client's own address ($CADDR)" wait_for -t 10 \
	test "$(server_path)" = "$CADDR:51821"
CSID=$(jd_sess cli jcli .session_id)
SSID=$(jd_sess srv jsrv .session_id)

# Five sources in turn, more than the kernel's 4 paths per session: the
# server must forget the oldest dead ones to follow the next rebinding.
for port in 40000 40001 40002 40003 40004; do
	n cli timeout 30 ping -D -n -i 0.01 -c 300 -W 1 10.82.0.1 \
		> "$TEST_TMP/ping-$port.txt" 2>&1 &
	ping=$!
	sleep 1
	check "router: SNAT to port $port, old mappings forgotten" nat "$port"
	n rtr conntrack -D -p udp --orig-src "$CADDR" > /dev/null 2>&1
	check "server moved the session to $RADDR:$port" wait_for -t 15 \
		test "$(server_path)" = "$RADDR:$port"
	wait "$ping"
	read -r lost outage gap sent recv < <(jd_ping_outage "$TEST_TMP/ping-$port.txt" 10)
	echo "# NAT to port $port: $lost pings lost x 10 ms = about $outage ms ($recv/$sent received; longest gap $gap ms)"
	check "port $port: traffic continued" n cli ping -c 3 -i 0.2 -W 2 10.82.0.1
	check "port $port: same session on both ends" test \
		"$(jd_sess cli jcli .session_id) $(jd_sess srv jsrv .session_id)" = "$CSID $SSID"
	check "port $port: server audit TransportSwitch to the NAT address" \
		jd_audit_has srv "\"kind\":\"TransportSwitch\".*\"remote\":\"$RADDR:$port\""
	check "port $port: server ATTACHED" wait_for -t 5 jd_state_is srv jsrv ATTACHED
done
check "server: oldest paths evicted to make room" \
	test "$(jc srv -j status jsrv | jq .paths_evicted)" -ge 1
check "server: at most 4 paths kept" \
	test "$(jc srv -j paths jsrv | jq length)" -le 4
check "server audit: unknown source reported" \
	jd_audit_has srv '"what":"unknown_source"'
check "client kept its path (the NAT is invisible to it)" \
	test "$(jd_sess cli jcli .path)" = "$CPATH"
diag "server timeline:" "$(jd_timeline srv jsrv "$SSID")"
kill "$bgping" 2>/dev/null
check "both daemons still running" kill -0 "$JD_PID_srv" "$JD_PID_cli"
tap_done
