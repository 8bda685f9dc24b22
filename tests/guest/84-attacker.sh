#!/bin/bash
# An attacker behind the same router as the client ("atk") sends the
# server REATTACH_REQs: a forged one (random MAC), a replay of a valid one
# it captured on the router while the client really switched paths, and
# requests for sessions that do not exist.  Each is refused with a
# SECURITY_EVENT naming the cause; the server's session (state_version,
# active path, paths, session count) does not change; the tunnel works.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/jvpnd-lib.sh"

POLICY="$JD_POLICY
SwitchCooldownMs    = 200"

# send_atk FILE: the bytes of FILE as one UDP datagram from the attacker
# to the server's first address.
send_atk() {
	n atk python3 - "$1" "$JD_SRV1" <<-'EOF'
	import socket, sys
	s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
	s.sendto(open(sys.argv[1], "rb").read(), (sys.argv[2], 51820))
	EOF
}

# forged_req SID FILE: a well-formed REATTACH_REQ (docs/reattach.md) for
# session SID with a random MAC.
forged_req() {
	python3 - "$1" "$2" <<-'EOF'
	import os, struct, sys
	sid = int(sys.argv[1])
	msg = struct.pack(">B3xIQQQB3x", 5, sid, 1 << 40, 12345, 2, 1)
	open(sys.argv[2], "wb").write(msg + os.urandom(16))
	EOF
}

# first_req PCAP FILE: the UDP payload of the first REATTACH_REQ (type 5)
# in a capture (Ethernet, Linux cooked v1 or v2 link layer).
first_req() {
	python3 - "$1" "$2" <<-'EOF'
	import struct, sys
	data = open(sys.argv[1], "rb").read()
	magic = data[:4]
	end = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
	link = struct.unpack(end + "I", data[20:24])[0]
	l2 = {1: 14, 113: 16, 276: 20}[link]
	off = 24
	while off + 16 <= len(data):
	    incl = struct.unpack(end + "I", data[off + 8:off + 12])[0]
	    pkt = data[off + 16:off + 16 + incl]
	    off += 16 + incl
	    ip = pkt[l2:]
	    if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 17:
	        continue
	    udp = ip[(ip[0] & 15) * 4:]
	    payload = udp[8:struct.unpack(">H", udp[4:6])[0]]
	    if payload[:1] == b"\x05":
	        open(sys.argv[2], "wb").write(payload)
	        sys.exit(0)
	sys.exit(1)
	EOF
}

# snapshot: what must not change on the server.
snapshot() {
	echo "$(jd_kver srv jsrv "$SSID") $(jd_sess srv jsrv '"\(.active_path) \(.paths) \(.state)"') $(jc srv -j status jsrv | jq .sessions)"
}
sec_events() { jd_audit_count srv '"type":"SECURITY_EVENT".*"error":"'"$1"'"'; }

jvpn_load && jd_topo_routed || bail_out "setup failed"
check "jvpnd on both ends: tunnel carries ping" \
	jd_pair cli jcli 10.84.0.2 srv jsrv 10.84.0.1 \
	"$JD_SRV1:51820, $JD_SRV2:51820" "$POLICY" || bail_out "no tunnel"
ip netns exec cli ping -q -i 0.1 10.84.0.1 > /dev/null 2>&1 &
bgping=$!
check "server session ATTACHED" wait_for -t 10 jd_state_is srv jsrv ATTACHED
SSID=$(jd_sess srv jsrv .session_id)
sleep 1.5

# A real switch, captured on the router: the attacker's copy of a valid
# request.
n rtr tcpdump -i any -U -w "$TEST_TMP/req.pcap" \
	'udp dst port 51820 and udp[8] = 5' > "$TEST_TMP/tcpdump.log" 2>&1 &
tcpd=$!
wait_for -t 10 grep -q listening "$TEST_TMP/tcpdump.log"
read -r clink slink < <(jd_link_of "$(jd_sess cli jcli .path)")
ip -n rtr link set "$clink" down
ip -n rtr link set "$slink" down
check "the client switched paths (a real REATTACH_REQ)" wait_for -t 10 \
	jd_audit_has srv '"kind":"TransportSwitch"'
check "client and server ATTACHED again" wait_for -t 10 \
	jd_state_is cli jcli ATTACHED
ip -n rtr link set "$clink" up
ip -n rtr link set "$slink" up
sleep 0.5
kill "$tcpd"
wait "$tcpd" 2>/dev/null
check "a valid REATTACH_REQ was captured" first_req "$TEST_TMP/req.pcap" \
	"$TEST_TMP/valid.req" || diag "$(cat "$TEST_TMP/tcpdump.log")"
sleep 1
before=$(snapshot)
diag "server before the attacks (state_version active_path paths state sessions): $before"

mac0=$(sec_events mac) replay0=$(sec_events replay) unknown0=$(sec_events unknown_session)
forged_req "$SSID" "$TEST_TMP/forged.req"
check "forged REATTACH_REQ (random MAC) sent" send_atk "$TEST_TMP/forged.req"
check "forged: refused, SECURITY_EVENT error mac" wait_for -t 5 \
	test "$(sec_events mac)" -gt "$mac0"
check "replayed valid REATTACH_REQ sent" send_atk "$TEST_TMP/valid.req"
check "replay: refused, SECURITY_EVENT error replay" wait_for -t 5 \
	test "$(sec_events replay)" -gt "$replay0"
for sid in 1 4242 $((SSID ^ 0x5a5a5a5a)); do
	[ "$sid" != "$SSID" ] || continue
	forged_req "$sid" "$TEST_TMP/unknown.req"
	send_atk "$TEST_TMP/unknown.req"
done
check "unknown sessions: refused, SECURITY_EVENT error unknown_session (3)" \
	wait_for -t 5 test "$(sec_events unknown_session)" -ge "$((unknown0 + 3))"
check "unknown session refusal names the claimed session" \
	jd_audit_has srv '"error":"unknown_session".*"claimed_session":4242'
sleep 0.5
after=$(snapshot)
check "server session unchanged by the attacks ($after)" test "$after" = "$before"
check "no path added for the attacker" bash -c "! ip netns exec srv $JVPNCTL -j session show jsrv id $SSID | grep -q 192.168.74.2"
check "tunnel still works" n cli ping -c 3 -i 0.2 -W 2 10.84.0.1
check "both daemons still running" kill -0 "$JD_PID_srv" "$JD_PID_cli"
kill "$bgping" 2>/dev/null
diag "server SECURITY_EVENTs:" "$(grep SECURITY_EVENT "$TEST_TMP/srv.audit" | cut -c1-300)"
tap_done
