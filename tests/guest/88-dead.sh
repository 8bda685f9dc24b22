#!/bin/bash
# Both paths dead for longer than MaxRecoveryWindowMs: each end ends its
# session TERMINATED with reason recovery_window_exceeded, the kernel's
# session state is removed on both ends, and nothing is left behind
# (jvpnd's session table, the reattach state).  When the network comes
# back the client handshakes again: a new session carries traffic.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/jvpnd-lib.sh"

WINDOW_MS=2000
POLICY="[Policy]
TransportLossTtlMs  = 400
ProbeIntervalMs     = 100
MaxRecoveryWindowMs = $WINDOW_MS"

all_links() {
	local l
	for l in c1 c2 s1 s2; do
		ip -n rtr link set "$l" "$1" || return 1
	done
}
# kernel_sessions NS DEV: how many sessions the kernel has on DEV.
kernel_sessions() { jc "$1" -j session show "$2" | jq length; }
terminated() {
	jd_audit_has "$1" '"to":"TERMINATED".*"reason":"recovery_window_exceeded"'
}

jvpn_load && jd_topo_routed || bail_out "setup failed"
check "jvpnd on both ends: tunnel carries ping" \
	jd_pair cli jcli 10.88.0.2 srv jsrv 10.88.0.1 \
	"$JD_SRV1:51820, $JD_SRV2:51820" "$POLICY" || bail_out "no tunnel"
# Traffic both ways: an end notices a dead path when what it sends goes
# unanswered.
ip netns exec cli ping -q -i 0.1 10.88.0.1 > /dev/null 2>&1 &
ping_c=$!
ip netns exec srv ping -q -i 0.1 10.88.0.2 > /dev/null 2>&1 &
ping_s=$!
check "client session ATTACHED" wait_for -t 10 jd_state_is cli jcli ATTACHED
check "server session ATTACHED" wait_for -t 10 jd_state_is srv jsrv ATTACHED
CSID=$(jd_sess cli jcli .session_id)
SSID=$(jd_sess srv jsrv .session_id)
check "one kernel session on each end" test \
	"$(kernel_sessions cli jcli) $(kernel_sessions srv jsrv)" = "1 1"
sleep 1

t0=${EPOCHREALTIME/[.,]/}
check "both paths cut on the router" all_links down
check "client: TERMINATED, recovery_window_exceeded" \
	wait_for -t 15 terminated cli
t1=${EPOCHREALTIME/[.,]/}
echo "# client terminated $(((t1 - t0) / 1000)) ms after the cut (window $WINDOW_MS ms)"
check "client: not before the recovery window" \
	test $(((t1 - t0) / 1000)) -ge "$WINDOW_MS"
check "server: TERMINATED, recovery_window_exceeded" \
	wait_for -t 15 terminated srv
check "client kernel: session removed" wait_for -t 5 \
	test "$(kernel_sessions cli jcli)" = 0
check "server kernel: session removed" wait_for -t 5 \
	test "$(kernel_sessions srv jsrv)" = 0
check "client jvpnd: session $CSID gone" bash -c \
	"! ip netns exec cli $JVPNCTL -j sessions jcli | jq -e '.[] | select(.session_id == $CSID)'"
check "server jvpnd: no sessions" test \
	"$(jc srv -j status jsrv | jq .sessions)" = 0
check "server jvpnd: session $SSID removed (counted)" test \
	"$(jc srv -j status jsrv | jq .sessions_removed)" -ge 1

check "network back" all_links up
check "a new handshake: tunnel carries ping again" wait_for -t 40 \
	n cli ping -c 1 -W 1 10.88.0.1
check "the new session has a new id" test \
	"$(jd_sess cli jcli .session_id)" != "$CSID"
check "one kernel session on each end again" wait_for -t 10 test \
	"$(kernel_sessions cli jcli) $(kernel_sessions srv jsrv)" = "1 1"
diag "client audit (STATE_CHANGE):" "$(grep STATE_CHANGE "$TEST_TMP/cli.audit" | cut -c1-240)"
diag "server audit (STATE_CHANGE):" "$(grep STATE_CHANGE "$TEST_TMP/srv.audit" | cut -c1-240)"
kill "$ping_c" "$ping_s" 2>/dev/null
check "both daemons still running" kill -0 "$JD_PID_srv" "$JD_PID_cli"
tap_done
