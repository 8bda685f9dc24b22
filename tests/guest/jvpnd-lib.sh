#!/bin/bash
# tests/guest/jvpnd-lib.sh: jvpnd on both ends of a tunnel, for the guest
# tests and the demo.  Source it after lib.sh.
#
#   jd_topo_direct A B NET1 NET2   two links u1, u2 joining namespaces A and
#                                  B directly (A NETx.1, B NETx.2)
#   jd_topo_routed                 client "cli" with two uplinks to server
#                                  "srv" through router "rtr", plus an
#                                  attacker "atk" behind the same router
#   jd_pair ...                    keys, configs, both daemons, tunnel up
#   jd_sess / jd_state_is / jd_audit_has / jd_timeline   what jvpnd says
#
# Files live in $TEST_TMP: NAME.key/.pub, DEV.conf, NS.audit.
# shellcheck disable=SC2034 # the JD_* globals are for the sourcing script

JVPND=${JVPN_JVPND:-$JVPN_REPO/build/jvpnd}
JVPNCTL=${JVPNCTL:-$JVPN_REPO/build/jvpnctl}

# The jvpnd tests' policy: detection and probing fast, yet not so fast
# that a loaded emulator's stalls look like losses; a test appends knobs.
JD_POLICY='[Policy]
TransportLossTtlMs  = 400
ProbeIntervalMs     = 100
MaxRecoveryWindowMs = 5000'

# jc NS ARGS...: jvpnctl in namespace NS.
jc() { ip netns exec "$1" "$JVPNCTL" "${@:2}"; }
# jd_sess NS DEV JQ: JQ applied to the first session of DEV, from jvpnd.
jd_sess() { jc "$1" -j sessions "$2" | jq -r ".[0] | $3"; }
jd_state_is() { [ "$(jd_sess "$1" "$2" .state)" = "$3" ]; }
# jd_kver NS DEV SID: the kernel's state_version of session SID.
jd_kver() { jc "$1" -j session show "$2" id "$3" | jq -r .state_version; }
# jd_audit_has NS REGEX: a line of NS's audit log matches.
jd_audit_has() { grep -q -- "$2" "$TEST_TMP/$1.audit"; }
# jd_audit_count NS REGEX: how many lines of NS's audit log match.
jd_audit_count() { grep -c -- "$2" "$TEST_TMP/$1.audit"; }

# ------------------------------------------------------------ topologies

# jd_topo_direct A B NET1 NET2: namespaces A and B joined by two veth
# links, u1 (NET1.0/24) and u2 (NET2.0/24); A is .1 on both, B is .2.
jd_topo_direct() {
	ns_create "$1" "$2" || return 1
	veth_pair "$1" u1 "$2" u1 && veth_pair "$1" u2 "$2" u2 || return 1
	ip -n "$1" addr add "$3.1/24" dev u1 &&
	ip -n "$2" addr add "$3.2/24" dev u1 &&
	ip -n "$1" addr add "$4.1/24" dev u2 &&
	ip -n "$2" addr add "$4.2/24" dev u2
}

# jd_topo_routed: every path crosses the router, so a path can be cut in
# the middle (link, netem loss, nftables drop, NAT) without either end
# seeing it locally.
#
#   cli u1 192.168.70.2 -- c1 [rtr] s1 -- s1 192.168.72.2 srv   (path 1)
#   cli u2 192.168.71.2 -- c2 [rtr] s2 -- s2 192.168.73.2 srv   (path 2)
#   atk a0 192.168.74.2 -- a0 [rtr]   (routed to the server over s1)
JD_SRV1=192.168.72.2
JD_SRV2=192.168.73.2
jd_topo_routed() {
	ns_create cli rtr srv atk || return 1
	veth_pair cli u1 rtr c1 && veth_pair cli u2 rtr c2 &&
	veth_pair srv s1 rtr s1 && veth_pair srv s2 rtr s2 &&
	veth_pair atk a0 rtr a0 || return 1
	ip -n cli addr add 192.168.70.2/24 dev u1 &&
	ip -n cli addr add 192.168.71.2/24 dev u2 &&
	ip -n rtr addr add 192.168.70.1/24 dev c1 &&
	ip -n rtr addr add 192.168.71.1/24 dev c2 &&
	ip -n rtr addr add 192.168.72.1/24 dev s1 &&
	ip -n rtr addr add 192.168.73.1/24 dev s2 &&
	ip -n rtr addr add 192.168.74.1/24 dev a0 &&
	ip -n srv addr add "$JD_SRV1/24" dev s1 &&
	ip -n srv addr add "$JD_SRV2/24" dev s2 &&
	ip -n atk addr add 192.168.74.2/24 dev a0 || return 1
	n rtr sysctl -qw net.ipv4.ip_forward=1 || return 1
	# Each path stays on its own pair of links in both directions.
	ip -n cli route add 192.168.72.0/24 via 192.168.70.1 &&
	ip -n cli route add 192.168.73.0/24 via 192.168.71.1 &&
	ip -n srv route add 192.168.70.0/24 via 192.168.72.1 &&
	ip -n srv route add 192.168.71.0/24 via 192.168.73.1 &&
	ip -n srv route add 192.168.74.0/24 via 192.168.72.1 &&
	ip -n atk route add default via 192.168.74.1
}

# jd_link_of ADDR: the router links (client side, server side) of the path
# to server address ADDR: "c1 s1" or "c2 s2".
jd_link_of() {
	case $1 in
	"$JD_SRV1"*) echo "c1 s1" ;;
	"$JD_SRV2"*) echo "c2 s2" ;;
	*) return 1 ;;
	esac
}

# ------------------------------------------------------------ the daemons

# jd_keys NAME...: a key pair each, $TEST_TMP/NAME.key and NAME.pub.
jd_keys() {
	local who
	for who in "$@"; do
		(umask 077 && "$JVPNCTL" genkey > "$TEST_TMP/$who.key") || return 1
		"$JVPNCTL" pubkey < "$TEST_TMP/$who.key" > "$TEST_TMP/$who.pub" ||
			return 1
	done
}

# jd_conf DEV KEY PEERKEY PORT ADDRESS ALLOWED ENDPOINTS POLICY: writes
# $TEST_TMP/DEV.conf (no Endpoint line if ENDPOINTS is empty).
jd_conf() {
	{
		printf '[Interface]\nPrivateKey = %s\nListenPort = %s\nAddress    = %s\n\n' \
			"$(< "$TEST_TMP/$2.key")" "$4" "$5"
		printf '[Peer]\nPublicKey  = %s\nAllowedIPs = %s\n' \
			"$(< "$TEST_TMP/$3.pub")" "$6"
		[ -z "$7" ] || printf 'Endpoint   = %s\n' "$7"
		printf '\n%s\n' "$8"
	} > "$TEST_TMP/$1.conf"
}

# jd_start NS DEV: jvpnd for $TEST_TMP/DEV.conf in NS, audit log in
# $TEST_TMP/NS.audit; JD_PID_NS is its pid.  Waits for the control socket.
jd_start() {
	rm -f "/run/jvpn/$2.sock"
	bg_run n "$1" "$JVPND" -c "$TEST_TMP/$2.conf" --foreground \
		--audit "$TEST_TMP/$1.audit"
	printf -v "JD_PID_$1" %s "$BG_PID"
	wait_for -t 20 test -S "/run/jvpn/$2.sock"
}

# jd_pair CNS CDEV CADDR SNS SDEV SADDR ENDPOINTS POLICY: a client in CNS
# (device CDEV, tunnel address CADDR, UDP 51821, the server's ENDPOINTS)
# and a server in SNS (SDEV, SADDR, UDP 51820), both with POLICY; starts
# the server, then the client, and waits until a ping crosses the tunnel.
jd_pair() {
	jd_keys "$1" "$4" || return 1
	jd_conf "$5" "$4" "$1" 51820 "$6/24" "$3/32" "" "$8" &&
	jd_conf "$2" "$1" "$4" 51821 "$3/24" "$6/32" "$7" "$8" || return 1
	jd_start "$4" "$5" && jd_start "$1" "$2" || return 1
	wait_for -t 30 n "$1" ping -c 1 -W 1 "$6"
}

# jd_timeline NS DEV SID: the session's jvpnd timeline, one event a line.
jd_timeline() {
	jc "$1" -j timeline "$2" "$3" | jq -r --arg ns "$1" '.[] |
		"  \($ns) \(.wall[11:23]) \(.type) " +
		(if .type == "STATE_CHANGE" then "\(.from) -> \(.to) (\(.reason))"
		 else (.action // .what // "") + (if .path_new then " path \(.path_old) -> \(.path_new)" else "" end)
		 end)'
}

# jd_ping_outage FILE INTERVAL_MS: "LOST OUTAGE_MS GAP_MS SENT RECEIVED"
# from a finished `ping -D -i` run.  OUTAGE_MS is lost pings x interval;
# GAP_MS, the longest time between two replies, is an upper bound: ping
# slows down its sending while no replies come, so the gap also holds
# time in which nothing was sent.
jd_ping_outage() {
	local sent recv gap
	sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$1")
	recv=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$1")
	gap=$(sed -n 's/^\[\([0-9.]*\)\] [0-9]* bytes from .*/\1/p' "$1" |
		awk 'NR > 1 && ($1 - p) * 1000 > m { m = ($1 - p) * 1000 }
		     { p = $1 } END { printf "%d", m }')
	sent=${sent:-0} recv=${recv:-0}
	echo "$((sent - recv)) $(((sent - recv) * $2)) ${gap:-0} $sent $recv"
}
