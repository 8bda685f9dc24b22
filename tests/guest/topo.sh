# shellcheck shell=bash
# tests/guest/topo.sh: a statically configured jvpn tunnel between two
# namespaces, the fixture most guest tests start from.  Sourced after lib.sh.
#
#        ns a                                   ns b
#   jvpn0 10.10.0.1/24 fd10::1/64         jvpn0 10.10.0.2/24 fd10::2/64
#   u1 192.168.241.1 fd00:241::1  <--->  u1 192.168.241.2 fd00:241::2
#   u2 192.168.242.1 fd00:242::1  <--->  u2 192.168.242.2 fd00:242::2
#
# Session ids: a's local id 1001, b's 2001.  Sockets on each side: id 1 is
# UDP/IPv4 port 51820, id 2 is UDP/IPv6 port 51821.  Paths on each side:
#   1: socket 1 -> peer's u1 v4     (active after setup)
#   2: socket 1 -> peer's u2 v4
#   3: socket 2 -> peer's u1 v6

JVPNCTL=${JVPNCTL:-$JVPN_REPO/build/jvpnctl}
NLRAW="python3 $JVPN_REPO/tests/tools/nlraw.py"

jctl() { ip netns exec "$1" "$JVPNCTL" "${@:2}"; }

# jq_session NS FILTER: applies a jq filter to a's/b's session as JSON.
jq_session() {
	local id=1001
	[ "$1" = b ] && id=2001
	jctl "$1" -j session show jvpn0 id "$id" | jq -r "$2"
}

session_id() { if [ "$1" = a ]; then echo 1001; else echo 2001; fi; }
peer_ns() { if [ "$1" = a ]; then echo b; else echo a; fi; }

random_key() { head -c 32 /dev/urandom | base64; }

_topo_side() {
	local ns=$1 me=$2 peer=$3 sid=$4 pid=$5 enc=$6 dec=$7
	ip -n "$ns" addr add "192.168.241.$me/24" dev u1 &&
	ip -n "$ns" addr add "192.168.242.$me/24" dev u2 &&
	ip -n "$ns" addr add "fd00:241::$me/64" dev u1 nodad &&
	ip -n "$ns" addr add "fd00:242::$me/64" dev u2 nodad &&
	ip -n "$ns" link add jvpn0 type jvpn &&
	ip -n "$ns" addr add "10.10.0.$me/24" dev jvpn0 &&
	ip -n "$ns" addr add "fd10::$me/64" dev jvpn0 nodad &&
	ip -n "$ns" link set jvpn0 up &&
	jctl "$ns" socket add jvpn0 listen 0.0.0.0:51820 > /dev/null &&
	jctl "$ns" socket add jvpn0 listen "[::]:51821" > /dev/null &&
	jctl "$ns" session add jvpn0 id "$sid" peer-id "$pid" \
		inner "10.10.0.$peer/32" inner "fd10::$peer/128" &&
	jctl "$ns" key add jvpn0 session "$sid" slot primary key-id 1 \
		encrypt "$enc" decrypt "$dec" &&
	jctl "$ns" path add jvpn0 session "$sid" path 1 socket 1 \
		remote "192.168.241.$peer:51820" &&
	jctl "$ns" path add jvpn0 session "$sid" path 2 socket 1 \
		remote "192.168.242.$peer:51820" &&
	jctl "$ns" path add jvpn0 session "$sid" path 3 socket 2 \
		remote "[fd00:241::$peer]:51821"
}

# topo_up: namespaces, links, module, devices, sockets, session, keys, paths.
topo_up() {
	local k_ab k_ba
	jvpn_load || return 1
	ns_create a b || return 1
	veth_pair a u1 b u1 && veth_pair a u2 b u2 || return 1
	k_ab=$(random_key) k_ba=$(random_key)
	_topo_side a 1 2 1001 2001 "$k_ab" "$k_ba" &&
	_topo_side b 2 1 2001 1001 "$k_ba" "$k_ab"
}

# activate NS PATH: switches NS's session to PATH with the version it has.
activate() {
	local v
	v=$(jq_session "$1" .state_version) || return 1
	jctl "$1" path activate jvpn0 session "$(session_id "$1")" path "$2" \
		expect-version "$v" > /dev/null
}

# activate_both PATH
activate_both() { activate a "$1" && activate b "$1"; }
