#!/bin/bash
# A statically configured jvpn tunnel: ping and an iperf3 TCP stream over
# IPv4 and IPv6 outer paths, inner IPv4 and IPv6; counters move; a packet
# for an address no session owns is refused and counted.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/topo.sh"

topo_up || bail_out "topology setup failed"

check "ping inner v4 over outer v4" n a ping -c 3 -i 0.2 -W 2 10.10.0.2
check "ping inner v6 over outer v4" n a ping -c 3 -i 0.2 -W 2 fd10::2
if mbps=$(iperf_tcp b a 10.10.0.2 3); then
	ok "iperf3 TCP over outer v4 ($mbps Mbit/s)"
else
	not_ok "iperf3 TCP over outer v4"
fi

check "switch both ends to the IPv6 outer path" activate_both 3
check "ping inner v4 over outer v6" n a ping -c 3 -i 0.2 -W 2 10.10.0.2
if mbps=$(iperf_tcp b a fd10::2 3); then
	ok "iperf3 TCP over outer v6 ($mbps Mbit/s)"
else
	not_ok "iperf3 TCP over outer v6"
fi
tx3=$(jq_session a '.paths[] | select(.path_id == 3) | .stats.tx_packets')
check "path 3 carried the traffic ($tx3 packets)" test "${tx3:-0}" -gt 100
rx=$(jq_session b '.stats.rx_packets')
check "b's session counted received packets ($rx)" test "${rx:-0}" -gt 100

check "dev show lists both attached sockets" \
	test "$(jctl a -j dev show jvpn0 | jq -c '[.sockets[] | .port]')" = "[51820,51821]"
drx=$(jctl b -j dev show jvpn0 | jq .stats.rx_packets)
check "device-level RX counter ($drx) covers the session's ($rx)" test "$drx" -ge "$rx"
before=$(jctl a -j dev show jvpn0 | jq '.stats.tx_no_session')
n a ping -c 1 -W 1 10.10.0.99 > /dev/null 2>&1
after=$(jctl a -j dev show jvpn0 | jq '.stats.tx_no_session')
check "no session for 10.10.0.99: refused and counted" test "$after" -gt "$before"

tap_done
