#!/bin/bash
# Netlink misuse: every malformed, unknown, stale or over-limit request is
# refused with the right errno and an extack message, and changes nothing.
# Requests are sent raw (tests/tools/nlraw.py), bypassing jvpnctl's checks.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/topo.sh"

topo_up || bail_out "topology setup failed"
IFX=$(ip -n a -j link show jvpn0 | jq '.[0].ifindex')
K32=$(printf '11%.0s' $(seq 32))
K33=${K32}22

# refused DESC ERRNO EXTACK-SUBSTRING CMD [ATTR=TYPE:VALUE...]: queues a
# request; refused_run sends the queue in one nlraw process (a python start
# costs seconds under TCG) and checks each answer in order.
_q_desc=() _q_errno=() _q_msg=()
: > "$TEST_TMP/requests"
refused() {
	_q_desc+=("$1") _q_errno+=("$2") _q_msg+=("$3")
	shift 3
	jq -nc '$ARGS.positional' --args "$@" >> "$TEST_TMP/requests"
}
refused_run() {
	local i out errno msg
	ip netns exec a $NLRAW --batch < "$TEST_TMP/requests" > "$TEST_TMP/answers" 2>&1
	for i in "${!_q_desc[@]}"; do
		out=$(sed -n "$((i + 1))p" "$TEST_TMP/answers")
		errno=$(jq -r .errno <<< "$out" 2>/dev/null)
		msg=$(jq -r .extack <<< "$out" 2>/dev/null)
		if [ "$errno" = "${_q_errno[i]}" ] && [[ $msg == *"${_q_msg[i]}"* ]]; then
			ok "${_q_desc[i]}: errno $errno, \"$msg\""
		else
			not_ok "${_q_desc[i]}" \
				"want errno ${_q_errno[i]} with \"${_q_msg[i]}\"" "got: $out"
		fi
	done
	_q_desc=() _q_errno=() _q_msg=()
	: > "$TEST_TMP/requests"
	[ -s "$TEST_TMP/answers" ] || diag "$(cat "$TEST_TMP/answers")"
}

snapshot() {
	jctl a -j session show jvpn0 |
		jq -c '[.[] | {session_id, state_version, active_path_id, inner,
			    keys: [.keys[] | {slot, key_id}],
			    paths: [.paths[] | {path_id, socket_id, remote}]}]'
}
before=$(snapshot)

refused "no device attribute" 22 "missing JVPN_A_IFINDEX" SESSION_GET
refused "no such device" 19 "no such device" SESSION_GET IFINDEX=u32:9999
refused "not a jvpn device" 95 "not a jvpn device" SESSION_GET IFINDEX=u32:1
refused "session without id" 22 "missing JVPN_A_SESSION_ID" \
	SESSION_NEW IFINDEX=u32:$IFX PEER_ID=u32:5
refused "session id 0" 34 "" SESSION_NEW IFINDEX=u32:$IFX SESSION_ID=u32:0 PEER_ID=u32:5
refused "duplicate session id" 17 "session id already exists" \
	SESSION_NEW IFINDEX=u32:$IFX SESSION_ID=u32:1001 PEER_ID=u32:5
refused "attribute foreign to the command" 22 "" \
	SESSION_DEL IFINDEX=u32:$IFX SESSION_ID=u32:1001 KEY_ID=u8:1
refused "unknown session" 2 "no such session" SESSION_GET IFINDEX=u32:$IFX SESSION_ID=u32:424242
refused "inner address of another session" 98 "used by another session" \
	SESSION_NEW IFINDEX=u32:$IFX SESSION_ID=u32:3003 PEER_ID=u32:3 \
	"INNER=inner:2/0a0a0002/32"
refused "inner prefix with host bits" 22 "host bits" \
	SESSION_NEW IFINDEX=u32:$IFX SESSION_ID=u32:3003 PEER_ID=u32:3 \
	"INNER=inner:2/0a000001/24"
refused "inner address of the wrong length" 22 "does not match family" \
	SESSION_NEW IFINDEX=u32:$IFX SESSION_ID=u32:3003 PEER_ID=u32:3 \
	"INNER=inner:10/0a000001/32"

refused "socket: fd that does not exist" 9 "not a socket" \
	SOCKET_ATTACH IFINDEX=u32:$IFX SOCKET_FD=s32:9999
refused "socket: fd of a file" 88 "not a socket" \
	SOCKET_ATTACH IFINDEX=u32:$IFX SOCKET_FD=fd:file
refused "socket: TCP socket" 91 "not a UDP socket" \
	SOCKET_ATTACH IFINDEX=u32:$IFX SOCKET_FD=fd:tcp
refused "socket: unbound UDP socket" 89 "not bound" \
	SOCKET_ATTACH IFINDEX=u32:$IFX SOCKET_FD=fd:udp
refused "socket: detach while paths use it" 16 "used by paths" \
	SOCKET_DETACH IFINDEX=u32:$IFX SOCKET_ID=u32:1

refused "key: 33-byte key" 34 "size out of range" KEY_NEW IFINDEX=u32:$IFX SESSION_ID=u32:1001 \
	KEY_SLOT=u8:1 KEY_ID=u8:2 KEY_ENCRYPT=hex:$K33 KEY_DECRYPT=hex:$K32
refused "key: missing decrypt key" 22 "missing JVPN_A_KEY_DECRYPT" \
	KEY_NEW IFINDEX=u32:$IFX SESSION_ID=u32:1001 KEY_SLOT=u8:1 KEY_ID=u8:2 \
	KEY_ENCRYPT=hex:$K32
refused "key: slot 2" 34 "" KEY_NEW IFINDEX=u32:$IFX SESSION_ID=u32:1001 \
	KEY_SLOT=u8:2 KEY_ID=u8:2 KEY_ENCRYPT=hex:$K32 KEY_DECRYPT=hex:$K32
refused "key: unknown session" 2 "no such session" KEY_NEW IFINDEX=u32:$IFX \
	SESSION_ID=u32:77 KEY_SLOT=u8:1 KEY_ID=u8:2 KEY_ENCRYPT=hex:$K32 \
	KEY_DECRYPT=hex:$K32
refused "key: id used by the other slot" 17 "used by the other slot" \
	KEY_NEW IFINDEX=u32:$IFX SESSION_ID=u32:1001 KEY_SLOT=u8:1 KEY_ID=u8:1 \
	KEY_ENCRYPT=hex:$K32 KEY_DECRYPT=hex:$K32
refused "key: swap with an empty secondary" 2 "no secondary key" \
	KEY_SWAP IFINDEX=u32:$IFX SESSION_ID=u32:1001

refused "path: unknown socket" 2 "no such socket" PATH_ADD IFINDEX=u32:$IFX \
	SESSION_ID=u32:1001 PATH_ID=u32:9 SOCKET_ID=u32:9 \
	PATH_REMOTE_IP=hex:c0a8f102 PATH_REMOTE_PORT=u16:1
refused "path: IPv6 remote on an IPv4 socket" 97 "does not match the socket" \
	PATH_ADD IFINDEX=u32:$IFX SESSION_ID=u32:1001 PATH_ID=u32:9 SOCKET_ID=u32:1 \
	PATH_REMOTE_IP=hex:fd000241000000000000000000000002 PATH_REMOTE_PORT=u16:1
refused "path: multicast remote" 22 "not a unicast address" PATH_ADD \
	IFINDEX=u32:$IFX SESSION_ID=u32:1001 PATH_ID=u32:9 SOCKET_ID=u32:1 \
	PATH_REMOTE_IP=hex:e0000001 PATH_REMOTE_PORT=u16:1
refused "path: port 0" 34 "" PATH_ADD IFINDEX=u32:$IFX SESSION_ID=u32:1001 \
	PATH_ID=u32:9 SOCKET_ID=u32:1 PATH_REMOTE_IP=hex:c0a8f102 \
	PATH_REMOTE_PORT=u16:0
refused "path: delete the active path" 16 "path is active" \
	PATH_DEL IFINDEX=u32:$IFX SESSION_ID=u32:1001 PATH_ID=u32:1
refused "path: activate with a stale version" 116 "stale state_version" \
	PATH_ACTIVATE IFINDEX=u32:$IFX SESSION_ID=u32:1001 PATH_ID=u32:2 \
	EXPECTED_VERSION=u64:0
refused "path: activate without a version" 22 "missing JVPN_A_EXPECTED_VERSION" \
	PATH_ACTIVATE IFINDEX=u32:$IFX SESSION_ID=u32:1001 PATH_ID=u32:2
refused "path: activate an unknown path" 2 "no such path" \
	PATH_ACTIVATE IFINDEX=u32:$IFX SESSION_ID=u32:1001 PATH_ID=u32:8 \
	EXPECTED_VERSION=u64:$(jq_session a .state_version)
refused "dev: max-sessions 0" 34 "" DEV_SET IFINDEX=u32:$IFX MAX_SESSIONS=u32:0
refused "dev: max-paths 9" 34 "" DEV_SET IFINDEX=u32:$IFX MAX_PATHS=u32:9
refused_run

check "nothing changed after the refusals" test "$(snapshot)" = "$before"

# Limits: hitting each is a clean, counted error.
lim0=$(jctl a -j dev show jvpn0 | jq .stats.limit_refused)
check "dev set max-sessions 1" jctl a dev set jvpn0 max-sessions 1
refused "limit: sessions" 28 "session limit reached" \
	SESSION_NEW IFINDEX=u32:$IFX SESSION_ID=u32:3003 PEER_ID=u32:3
refused_run
check "path 4 fits the default limit of 4" jctl a path add jvpn0 session 1001 \
	path 4 socket 1 remote 192.168.241.2:40000
refused "limit: paths per session" 28 "path limit reached" PATH_ADD \
	IFINDEX=u32:$IFX SESSION_ID=u32:1001 PATH_ID=u32:5 SOCKET_ID=u32:1 \
	PATH_REMOTE_IP=hex:c0a8f102 PATH_REMOTE_PORT=u16:40001
for i in $(seq 3 16); do
	refused "socket $i of 16 attaches" 0 "" \
		SOCKET_ATTACH IFINDEX=u32:$IFX SOCKET_FD=fd:udp-bound
done
refused "limit: sockets per device" 28 "socket limit reached" \
	SOCKET_ATTACH IFINDEX=u32:$IFX SOCKET_FD=fd:udp-bound
refused_run
lim1=$(jctl a -j dev show jvpn0 | jq .stats.limit_refused)
check "limit refusals counted ($lim0 -> $lim1)" test "$lim1" -eq $((lim0 + 3))

out=$(ip netns exec a setpriv --reuid=65534 --regid=65534 --clear-groups \
	$NLRAW DEV_GET IFINDEX=u32:$IFX 2>&1)
check "unprivileged request refused (EPERM)" test "$(jq -r .errno <<< "$out")" = 1
check "tunnel still works" n a ping -c 2 -i 0.2 -W 2 10.10.0.2

tap_done
