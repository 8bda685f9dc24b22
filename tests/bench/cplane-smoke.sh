#!/bin/bash
# tests/bench/cplane-smoke.sh: the control-plane benchmark (build/bench/cplane,
# tests/bench/cplane.c) for about a second on the host, with tiny N
# (--smoke), as a test: one TAP line per measurement it produced, one per
# violated invariant.  No kernel, no guest, no root; no timing thresholds.
#
#   tests/bench/cplane-smoke.sh [OUTDIR]
#
# OUTDIR (default build/bench/cplane-smoke) receives cplane.json (the
# harness's output), cplane.log (its stderr) and make.log.  Exit status 0
# if every line is "ok".  Environment: CPLANE (an already built binary to
# run instead of building build/bench/cplane, e.g. build/san/bench/cplane).
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo" || exit 1
out=${1:-$repo/build/bench/cplane-smoke}
mkdir -p "$out"
bin=${CPLANE:-build/bench/cplane}

if [ -z "${CPLANE:-}" ]; then
	if make -s build/bench/cplane > "$out/make.log" 2>&1; then
		echo "ok - cplane: build $bin"
	else
		echo "not ok - cplane: build $bin"
		sed 's/^/# /' "$out/make.log"
		exit 1
	fi
fi

"$bin" --smoke > "$out/cplane.json" 2> "$out/cplane.log"
rc=$?
if [ "$rc" -eq 0 ] || [ "$rc" -eq 1 ]; then
	echo "ok - cplane: ran --smoke (exit $rc, $out/cplane.json)"
else
	echo "not ok - cplane: exited with status $rc"
	sed 's/^/# /' "$out/cplane.log"
	exit 1
fi

# One line per measurement; a missing or non-positive number is "not ok".
python3 - "$out/cplane.json" <<'EOF'
import json
import math
import sys

try:
    d = json.load(open(sys.argv[1]))
except (OSError, ValueError) as e:
    print("not ok - cplane: output is not JSON (%s)" % e)
    sys.exit(1)
bad = 0


def line(ok, text):
    global bad
    bad += not ok
    print("%s - cplane: %s" % ("ok" if ok else "not ok", text))


def num(o, *keys):
    """All keys positive finite numbers: (True, values) else (False, ...)."""
    v = [o.get(k) if isinstance(o, dict) else None for k in keys]
    ok = all(isinstance(x, (int, float)) and math.isfinite(x) and x > 0 for x in v)
    return ok, [x if isinstance(x, (int, float)) else float("nan") for x in v]


for s in d.get("scale", []):
    ok, (rate, mem, st) = num(s, "install_per_cpu_s", "rss_per_session", "state_save_ms")
    line(ok, "scale N=%s: %.0f installs per CPU-second, %.0f B RSS/session, state file rewrite %.1f ms"
         % (s.get("n"), rate, mem, st))
if not d.get("scale"):
    line(False, "scale: no measurement")
r = d.get("reattach", {})
ok, (xs, ns) = num(r, "exchanges_per_cpu_s", "exchange_cpu_ns")
line(ok, "reattach at N=%s: %.0f valid exchanges per CPU-second (%.0f ns each)" % (r.get("sessions"), xs, ns))
for x in r.get("refusals", []):
    ok, (ns,) = num(x, "ns_batch_p50")
    line(ok, "refusal %s: %.0f ns (median batch)" % (x.get("kind"), ns))
for s in d.get("storm", []):
    ok, (n, fg) = num(s, "legit", "forged")
    a = s.get("audit", {})
    line(ok and "completion" in s and "security_events" in a,
         "storm %s: %s/%s legitimate completed, %s forged (%s accepted), "
         "%s SECURITY_EVENTs (bound %s), %s suppressed"
         % (s.get("kind"), s.get("completed"), s.get("legit"), s.get("forged"),
            s.get("forged_accepted"), a.get("security_events"),
            a.get("security_events_bound"), a.get("suppressed")))
if not d.get("storm"):
    line(False, "storm: no measurement")
for s in d.get("audit_sink", {}).get("sinks", []):
    ok, (ns,) = num(s, "cpu_ns_per_event")
    line(ok, "audit sink %s: %.0f CPU ns/event, %s emitted, %s dropped, writer slept %s times"
         % (s.get("sink"), ns, s.get("emitted"), s.get("dropped"), s.get("voluntary_switches")))
h = d.get("handshake", {})
for mode in ("normal", "under_load"):
    ok, (us, ps) = num(h.get(mode, {}), "responder_us_mean", "responder_per_s")
    line(ok, "handshake %s: responder %.0f us (%.0f/s)" % (mode, us, ps))
ok, (ck, m1) = num(h, "cookie_reply_ns", "mac1_refusal_ns")
line(ok, "handshake refusals: cookie reply %.0f ns, bad mac1 %.0f ns" % (ck, m1))
inv = d.get("invariants", {})
for f in inv.get("failures", []):
    line(False, "invariant: %s" % f)
line(isinstance(inv.get("checked"), int) and inv.get("failed") == 0,
     "%s invariants checked, %s violated" % (inv.get("checked"), inv.get("failed")))
sys.exit(1 if bad else 0)
EOF
py=$?
[ "$rc" -eq 0 ] && [ "$py" -eq 0 ]
