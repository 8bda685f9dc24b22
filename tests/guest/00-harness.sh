#!/bin/bash
# Smoke test of the guest harness itself (tools/vm/jvpn-vm + lib.sh), using
# only Debian's WireGuard: two namespaces joined by veth, a WireGuard tunnel
# between them, ping through it, and a short iperf3 run whose throughput is
# reported (not asserted) for comparison with later jvpn numbers.
#
#   tools/vm/jvpn-vm -- tests/guest/00-harness.sh
set -euo pipefail
# shellcheck source=tests/guest/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

tap_plan 6

check "modprobe udp_tunnel ip6_udp_tunnel libchacha20poly1305 veth wireguard" \
	modprobe -a udp_tunnel ip6_udp_tunnel libchacha20poly1305 veth wireguard

# Underlay: a <-> b over veth.  Overlay: wg0, 10.0.0.1 <-> 10.0.0.2.
ns_create a b
veth_pair a veth0 b veth0
ip -n a addr add 192.168.241.1/24 dev veth0
ip -n b addr add 192.168.241.2/24 dev veth0
check "ping a -> b over veth" n a ping -c 1 -W 5 192.168.241.2

check "wireguard tunnel a <-> b configured" \
	wg_tunnel a 10.0.0.1/24 b 10.0.0.2/24 192.168.241.1 192.168.241.2
check "ping a -> b through wireguard" n a ping -c 3 -i 0.2 -W 5 10.0.0.2

handshake_done() {
	local peer ts
	read -r peer ts < <(n a wg show wg0 latest-handshakes)
	[ -n "$peer" ] && [ "${ts:-0}" -gt 0 ]
}
check "wireguard handshake recorded" handshake_done

ping_stats a 10.0.0.2 100 0.01
if mbps=$(iperf_tcp b a 10.0.0.2 2); then
	ok "iperf3 TCP stream through wireguard"
	echo "# iperf3 TCP a -> b through wireguard, 2 s: $mbps Mbit/s"
else
	not_ok "iperf3 TCP stream through wireguard"
fi

tap_done
