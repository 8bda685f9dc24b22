#!/bin/bash
# Teardown under load: deleting a namespace (and the jvpn device in it)
# while traffic flows, deleting a device, and unloading the module with
# devices, sessions and attached sockets present.  The runner's kernel-log
# check after the run catches any BUG, WARNING, leak or refcount report.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/topo.sh"

topo_up || bail_out "topology setup failed"
bg_run n a ping -f -W 1 10.10.0.2
flood=$BG_PID
bg_run n b iperf3 -s -p 5201
wait_listen b 5201
bg_run n a iperf3 -c 10.10.0.2 -p 5201 -t 30
sleep 2
check "traffic flowing before teardown" test "$(jq_session b .stats.rx_packets)" -gt 100
# b's sockets live in b itself, and an open socket pins its namespace, so
# the device goes first (see docs/operations.md, "Namespaces").
check "delete b's device under load" ip -n b link del jvpn0
check "delete namespace b under load" ip netns del b
_ns_list=(a)
sleep 1
check "a still answers netlink after its peer vanished" jctl a session show jvpn0 id 1001
check "delete a's session while it transmits" jctl a session del jvpn0 id 1001
check "delete a's device while it transmits" ip -n a link del jvpn0
bg_kill

# WireGuard's pattern: sockets in an outer namespace, device moved into an
# inner one.  Deleting the inner namespace deletes the device, which
# releases its sockets (the port becomes free again in the outer one).
ns_create outer inner
ip -n outer link add jvpn9 type jvpn
jctl outer socket add jvpn9 listen 0.0.0.0:51999 > /dev/null
jctl outer session add jvpn9 id 9 peer-id 10 inner 10.98.0.2/32
jctl outer path add jvpn9 session 9 path 1 socket 1 remote 192.0.2.9:51999
check "move the device into the inner namespace" ip -n outer link set jvpn9 netns inner
check "its socket is still bound in the outer namespace" \
	test -n "$(ip netns exec outer ss -Hlun 'sport = :51999')"
check "delete the inner namespace" ip netns del inner
_ns_list=(a outer)
check "device deletion released the socket" \
	wait_for -t 10 test -z "$(ip netns exec outer ss -Hlun 'sport = :51999')"

# Module unload with live state: a fresh pair of devices with sessions.
ns_create c
ip -n c link add jvpn1 type jvpn
ip -n c link add jvpn2 type jvpn
jctl c socket add jvpn1 listen 0.0.0.0:51900 > /dev/null
jctl c session add jvpn1 id 7 peer-id 8 inner 10.99.0.2/32
jctl c path add jvpn1 session 7 path 1 socket 1 remote 192.0.2.1:51900
check "unload the module with devices, sessions and sockets present" rmmod jvpn
check "module is gone" test ! -d /sys/module/jvpn
check "devices went with it" test -z "$(ip -n c link show type jvpn 2>/dev/null)"
check "reload works" jvpn_load
tap_done
