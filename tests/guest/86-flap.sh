#!/bin/bash
# A flapping network: whichever path is active dies as soon as the session
# has moved to it, again and again.  The switches are capped at the
# policy's MaxSwitchesPerMinute (3 here): the next loss finds the rate
# window full, and the client's session goes DEGRADED (reason
# switch_rate_limit) instead of switching on; no more switches reach the
# server.  When the network settles, the session is ATTACHED again with
# the same id.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/jvpnd-lib.sh"

MAX_SWITCHES=3
# The recovery window outlasts the rate window, so a full rate window
# means DEGRADED (wait for it to reopen) rather than TERMINATED.
POLICY="[Policy]
TransportLossTtlMs   = 400
ProbeIntervalMs      = 100
MaxRecoveryWindowMs  = 120000
SwitchCooldownMs     = 100
MaxSwitchesPerMinute = $MAX_SWITCHES"

link_set() { ip -n rtr link set "$2" "$1" && ip -n rtr link set "$3" "$1"; }
switches() { jd_audit_count "$1" '"kind":"TransportSwitch"'; }

jvpn_load && jd_topo_routed || bail_out "setup failed"
check "jvpnd on both ends: tunnel carries ping" \
	jd_pair cli jcli 10.86.0.2 srv jsrv 10.86.0.1 \
	"$JD_SRV1:51820, $JD_SRV2:51820" "$POLICY" || bail_out "no tunnel"
ip netns exec cli ping -q -i 0.05 10.86.0.1 > /dev/null 2>&1 &
bgping=$!
check "client session ATTACHED" wait_for -t 10 jd_state_is cli jcli ATTACHED
CSID=$(jd_sess cli jcli .session_id)

degraded=0
for round in 1 2 3 4 5 6; do
	sleep 1.2	# the standby path answers probes again (validated)
	read -r clink slink < <(jd_link_of "$(jd_sess cli jcli .path)")
	n0=$(switches cli)
	diag "round $round: cut $clink/$slink (switches so far: $n0)"
	link_set down "$clink" "$slink"
	wait_for -t 6 bash -c "[ \$(grep -c '\"kind\":\"TransportSwitch\"' $TEST_TMP/cli.audit) -gt $n0 ] ||
		grep -q '\"to\":\"DEGRADED\"' $TEST_TMP/cli.audit"
	if jd_audit_has cli '"to":"DEGRADED"'; then
		degraded=$round
		sleep 1	# DEGRADED holds: nothing more may switch
		link_set up "$clink" "$slink"
		break
	fi
	link_set up "$clink" "$slink"
done
check "DEGRADED reached (round $degraded of 6), not a switching storm" \
	test "$degraded" -gt 0
check "client switched exactly MaxSwitchesPerMinute times" \
	test "$(switches cli)" -eq "$MAX_SWITCHES"
check "server committed exactly MaxSwitchesPerMinute switches" \
	test "$(switches srv)" -eq "$MAX_SWITCHES"
check "DEGRADED names the switch rate limit" \
	jd_audit_has cli '"to":"DEGRADED".*"reason":"switch_rate_limit"'
check "the settled path brings the session back: ATTACHED" \
	wait_for -t 10 jd_state_is cli jcli ATTACHED
check "same session id" test "$(jd_sess cli jcli .session_id)" = "$CSID"
check "tunnel carries ping" n cli ping -c 3 -i 0.2 -W 2 10.86.0.1
diag "client timeline:" "$(jd_timeline cli jcli "$CSID")"
kill "$bgping" 2>/dev/null
check "both daemons still running" kill -0 "$JD_PID_srv" "$JD_PID_cli"
tap_done
