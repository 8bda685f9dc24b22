#!/usr/bin/env python3
"""Per-cut figures of the failover benchmark with jvpnd on both ends
(tests/bench/guest.sh, section failover_jvpnd), from its raw files:

    failover_jvpnd.py RAWDIR

RAWDIR/fj-cuts.log    one line per cut (key=value: cut time, cause, link,
                      session ids and client state before and after, ...)
                      and a last line end=<us>
RAWDIR/fj-ping.txt    `ping -D -n -i 0.01` from the client through the tunnel
RAWDIR/fj-jcli.audit  the client jvpnd's audit log (JSON lines)
RAWDIR/fj-jsrv.audit  the server jvpnd's
RAWDIR/fj-monitor.log ip/tc/nft monitor events of both ends,
                      stamped on arrival: when each cut took effect
RAWDIR/fj-wg-ping.txt the same ping through WireGuard, on the same links
RAWDIR/fj-tcp-jvpn.log, fj-tcp-wg.log  the receivers of the paced TCP
                      streams (tests/bench/tcpgap.c): every pause of 20 ms
                      or more in the delivered bytes, errors, the end

Prints one "metric<TAB>cut number<TAB>value<TAB>unit" line per figure
(guest.sh records each as a results.tsv row of section failover_jvpnd),
and writes RAWDIR/fj-anomalies.txt: the audit records of each cut that
are not part of a clean switch (DEGRADED, TERMINATED, a new handshake, a
failed reattach, a SECURITY_EVENT, more than one switch).

Times are on the guest's wall clock: the cut time from bash's
EPOCHREALTIME (us), the audit records' "wall" (ms), ping -D (us).
"""
import datetime
import json
import os
import sys

PING_INTERVAL_MS = 10.0


def read_cuts(path):
    """(cuts, end, pauses): the cut lines, the end of the run, and the
    moments the loop changed something that is no cut (the NAT removed)."""
    cuts, end, pauses = [], None, []
    with open(path) as f:
        for line in f:
            kv = dict(p.split("=", 1) for p in line.split() if "=" in p)
            if "end" in kv and "t" not in kv:
                end = int(kv["end"])
            elif "pause" in kv and "t" not in kv:
                pauses.append(int(kv["pause"]))
            elif "t" in kv:
                cuts.append(kv)
    return cuts, end, pauses


def read_ping(path):
    """{seq: (recv_us, rtt_ms)} of the replies (first of duplicates).
    icmp_seq is 16 bits: a 10 ms ping wraps it every 11 minutes, so the
    sequence numbers are unwrapped in the order the replies came."""
    rep = {}
    if not os.path.exists(path):
        return rep
    base, last = 0, None
    with open(path) as f:
        for line in f:
            if "bytes from" not in line or "icmp_seq=" not in line or not line.startswith("["):
                continue
            try:
                ts = line[1:line.index("]")]
                sec, _, frac = ts.partition(".")
                us = int(sec) * 1000000 + int((frac + "000000")[:6])
                seq = int(line.split("icmp_seq=")[1].split()[0])
                rtt = float(line.split("time=")[1].split()[0]) if "time=" in line else 0.0
            except (ValueError, IndexError):
                continue
            if last is not None and seq < last - 32768:
                base += 65536
            elif last is not None and seq > last + 32768:
                seq -= 65536	# a late reply from before the wrap
            last = seq if seq >= 0 else last
            rep.setdefault(base + seq, (us, rtt))
    return rep


def wall_us(w):
    d = datetime.datetime.strptime(w, "%Y-%m-%dT%H:%M:%S.%fZ")
    return int(d.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000000)


def read_monitor(path):
    """[(us, tag, line)] of fj-monitor.log (guest.sh fj_monitors)."""
    out = []
    if not os.path.exists(path):
        return out
    with open(path) as f:
        for line in f:
            p = line.rstrip("\n").split(" ", 2)
            if len(p) == 3 and p[0].isdigit():
                out.append((int(p[0]), p[1], p[2]))
    return out


# Which monitor lines show that a cut took effect.
CUT_EVENT = {
    # "N: uN@ifM: <BROADCAST,MULTICAST> ... state DOWN": no UP flag (the
    # peer's carrier loss keeps UP; "link/ether" lines carry no flags).
    "down": lambda tag, text: tag.endswith("-link") and "<" in text and "UP" not in text.split(">")[0],
    "netem": lambda tag, text: tag.endswith("-tc") and "netem" in text and not text.startswith("deleted"),
    "nft": lambda tag, text: tag == "fc-nft" and "jcut" in text and not text.startswith("delete"),
    # The port rewriting of the rebinding (one transaction) is in place.
    "nat": lambda tag, text: tag == "fc-nft" and "jnat" in text and not text.startswith("delete"),
}


def read_tcp(path):
    """(gaps, errors, ended) of a tcpgap receiver log: gaps as
    [(from_us, ms)], errors as [(us, text)]."""
    gaps, errors, ended = [], [], False
    if not os.path.exists(path):
        return gaps, errors, ended
    with open(path) as f:
        for line in f:
            p = line.split()
            if len(p) >= 4 and p[1] == "gap":
                gaps.append((int(p[2]), float(p[3])))
            elif len(p) >= 2 and p[1] == "error":
                errors.append((int(p[0]), " ".join(p[2:])))
            elif len(p) >= 2 and p[1] == "end":
                ended = True
    return gaps, errors, ended


def tcp_gap(gaps, lo, hi):
    """The longest pause in delivery overlapping [lo, hi) (0.0: none of
    20 ms or more)."""
    best = 0.0
    for fr, ms in gaps:
        if fr < hi and fr + ms * 1000 >= lo:
            best = max(best, ms)
    return best


def read_audit(path):
    out = []
    if not os.path.exists(path):
        return out
    with open(path) as f:
        for line in f:
            try:
                r = json.loads(line)
                r["_us"] = wall_us(r["wall"])
            except (ValueError, KeyError, TypeError):
                continue
            out.append(r)
    return out


def outage(rep, lo, hi):
    """Around one cut: the silence between two consecutive replies (by
    sequence number), ending after lo and starting before hi, in which
    the most echo requests were lost (the longest if none was).
    Returns (lost, outage_ms, gap_ms, first_lost_us): echo requests
    without a reply; send time of the first of them (interpolated between
    the send times, reply time - RTT, of the replies on either side) to
    the first reply after; last reply before to first reply after; that
    send time (None if nothing was lost)."""
    seqs = sorted(rep)
    best = None
    for a, b in zip(seqs, seqs[1:]):
        ta, tb = rep[a][0], rep[b][0]
        if tb < lo or ta >= hi:
            continue
        # The most echo requests lost; among equals the longest silence
        # (a stall of the emulated guest delays replies without loss).
        key = (b - a - 1, tb - ta)
        if best is None or key > best[0]:
            best = (key, a, b)
    if best is None:
        return None
    (_, gap), a, b = best
    lost = b - a - 1
    if lost <= 0:
        return 0, 0.0, gap / 1000.0, None
    sa = rep[a][0] - rep[a][1] * 1000
    sb = rep[b][0] - rep[b][1] * 1000
    first_lost = sa + (sb - sa) / (b - a)
    return lost, (rep[b][0] - first_lost) / 1000.0, gap / 1000.0, first_lost


def first(recs, lo, hi, pred, after=None):
    for r in recs:
        if lo <= r["_us"] < hi and (after is None or r["_us"] >= after) and pred(r):
            return r
    return None


def is_switch(r):
    return r.get("action") == "path_switched" and r.get("kind") == "TransportSwitch"


def to_state(s):
    return lambda r: r.get("type") == "STATE_CHANGE" and r.get("to") == s


def leaves_attached(r):
    return r.get("type") == "STATE_CHANGE" and r.get("from") == "ATTACHED"


def anomaly(r):
    if r.get("type") == "SECURITY_EVENT":
        return True
    if r.get("type") == "STATE_CHANGE":
        if r.get("to") in ("DEGRADED", "TERMINATED", "HANDSHAKING", "INIT"):
            return True
        if r.get("from") == "RECOVERING" and r.get("to") == "VOLATILE":
            return True
    if r.get("type") == "AUDIT_EVENT" and r.get("action") not in ("path_switched", "path_added") and \
            r.get("what") not in ("rekey", "link_down", "unknown_source"):
        return True
    return False


def main():
    raw = sys.argv[1]
    cuts, end, pauses = read_cuts(os.path.join(raw, "fj-cuts.log"))
    rep = read_ping(os.path.join(raw, "fj-ping.txt"))
    mon = read_monitor(os.path.join(raw, "fj-monitor.log"))
    cli = read_audit(os.path.join(raw, "fj-jcli.audit"))
    srv = read_audit(os.path.join(raw, "fj-jsrv.audit"))
    rep_wg = read_ping(os.path.join(raw, "fj-wg-ping.txt"))
    tcp = {t: read_tcp(os.path.join(raw, "fj-tcp-%s.log" % t)) for t in ("jvpn", "wg")}
    out = []
    anomalies = []

    def emit(metric, n, val, unit):
        if val is None:
            return
        if isinstance(val, bool):
            val = int(val)
        out.append("%s\t%s\t%s\t%s" % (metric, n, ("%.1f" % val) if isinstance(val, float) else val, unit))

    def start(c):
        return int(c.get("t_cmd", c["t"]))

    for k, c in enumerate(cuts):
        # The cut took effect between tc (the command for the client end
        # started) and t (it had returned).
        t, tc = int(c["t"]), start(c)
        nxt = start(cuts[k + 1]) if k + 1 < len(cuts) else (end or t + 30000000)
        nxt = min([nxt] + [p for p in pauses if p > t])
        cause, n = c["cause"], c["i"]
        m = cause + "_"
        emit(m + "cut_cmd", n, (t - tc) / 1000.0, "ms")
        # When the cut took effect: the first monitor event of this cause
        # (either end) between the start of the commands and shortly after
        # they returned.
        ev = [us for us, tag, text in mon
              if tc <= us <= t + 300000 and CUT_EVENT.get(cause, lambda *a: False)(tag, text)]
        # The ping: from just before the cut until just before the next.
        o = outage(rep, tc - 100000, nxt - 100000)
        # Time 0 of the audit timings: the earliest evidence that the cut
        # was in effect: its monitor event (stamped when the reader got to
        # it, so possibly late) or the send time of the first lost ping (to
        # one ping interval); with neither, the start of the cut command
        # (an upper bound).
        t0, how = tc, 0
        if ev:
            t0, how = min(ev), 2
            if len(ev) > 1:
                emit(m + "cut_skew", n, (max(ev) - min(ev)) / 1000.0, "ms")
        if o:
            lost, ms, gap, fl = o
            emit(m + "outage", n, ms, "ms")
            emit(m + "lost_pings", n, lost, "pings")
            emit(m + "lost_x_interval", n, lost * PING_INTERVAL_MS, "ms")
            emit(m + "gap", n, gap, "ms")
            if fl is not None and tc - 20000 <= fl <= t + 20000 and (how == 0 or fl < t0):
                t0, how = int(fl), 1
        emit(m + "t0_source", n, how, "0cmd/1ping/2monitor")
        # The same cut through WireGuard and both TCP streams.
        ow = outage(rep_wg, tc - 100000, nxt - 100000) if rep_wg else None
        if ow:
            emit(m + "wg_outage", n, ow[1], "ms")
            emit(m + "wg_lost_pings", n, ow[0], "pings")
            emit(m + "wg_gap", n, ow[2], "ms")
        if int(c.get("wg_point", 0)):
            emit(m + "wg_point", n, (int(c["wg_point"]) - t0) / 1000.0, "ms")
        for tun, (gl, _, _) in tcp.items():
            if os.path.exists(os.path.join(raw, "fj-tcp-%s.log" % tun)):
                emit(m + ("tcp_gap" if tun == "jvpn" else "wg_tcp_gap"), n,
                     tcp_gap(gl, tc - 100000, nxt - 100000), "ms")
        lo = min(t0, tc) - 5000		# wall ms in the audit vs us of the cut
        sw_c = first(cli, lo, nxt, is_switch)
        sw_s = first(srv, lo, nxt, is_switch)
        # A rebinding moves the server's end only: its switch is the one.
        sw_main = sw_s if cause == "nat" else sw_c
        emit(m + "switched", n, sw_main is not None and c.get("switched") == "1", "bool")
        same = c.get("csid0") == c.get("csid1") and c.get("ssid0") == c.get("ssid1")
        emit(m + "same_session", n, same, "bool")
        emit(m + "revalidated", n, c.get("revalidated") == "1", "bool")
        emit(m + "revalidate_wait", n, int(c.get("reval_ms", 0)), "ms")
        # Detection: the session leaves ATTACHED, to VOLATILE on the
        # kernel's PATH_SILENT or straight to RECOVERING on TRANSPORT_LOST
        # (jvpnd's link watch: no route any more).
        det_c = first(cli, lo, nxt, leaves_attached)
        det_s = first(srv, lo, nxt, leaves_attached)
        if det_c:
            emit(m + "detect_by_link_cli", n, det_c.get("event") == "TRANSPORT_LOST", "bool")
        rec_c = first(cli, lo, nxt, to_state("RECOVERING"))
        if det_c:
            emit(m + "detect_cli", n, (det_c["_us"] - t0) / 1000.0, "ms")
        if det_s:
            emit(m + "detect_srv", n, (det_s["_us"] - t0) / 1000.0, "ms")
        if rec_c:
            emit(m + "reattach_start_cli", n, (rec_c["_us"] - t0) / 1000.0, "ms")
        if sw_s:
            emit(m + "switch_srv", n, (sw_s["_us"] - t0) / 1000.0, "ms")
        if sw_c:
            emit(m + "switch_cli", n, (sw_c["_us"] - t0) / 1000.0, "ms")
            if det_c and det_c["_us"] <= sw_c["_us"]:
                emit(m + "detect_to_switch_cli", n, (sw_c["_us"] - det_c["_us"]) / 1000.0, "ms")
            if "recovery_ms" in sw_c:
                emit(m + "req_to_commit_cli", n, float(sw_c["recovery_ms"]), "ms")
            emit(m + "standby_validated", n, sw_c.get("validation") == "standby", "bool")
            emit(m + "alternated", n, sw_c.get("path_old") != sw_c.get("path_new"), "bool")
            att = first(cli, lo, nxt, to_state("ATTACHED"), after=sw_c["_us"])
            if att:
                emit(m + "attached_cli", n, (att["_us"] - t0) / 1000.0, "ms")
        # Silence that ended by itself (PATH_ALIVE): no switch, a false
        # alarm or a stall of the emulated guest longer than the TTL.
        emit(m + "path_alive", n, sum(1 for r in cli + srv if lo <= r["_us"] < nxt and
                                      r.get("event") == "PATH_ALIVE"), "events")
        # Attempts that found no usable candidate (the standby was cut a
        # short while ago: its recent probe loss is over MaxLossPercent).
        # Counted up to the cut's switch (later ones belong to false alarms).
        nc_end = sw_c["_us"] + 1 if sw_c else nxt
        emit(m + "no_candidate", n, sum(1 for r in cli if lo <= r["_us"] < nc_end and
                                        r.get("error") == "no_candidate"), "events")
        # The link cut carried the active path (else a false alarm had moved
        # the session between the last check and the cut).
        prev = [r for r in cli if r["_us"] < lo and is_switch(r)]
        if prev and prev[-1].get("remote"):
            act = {"192.168.70.1": "u1", "192.168.71.1": "u2"}.get(prev[-1]["remote"].rsplit(":", 1)[0])
            if act:
                emit(m + "cut_active", n, act == c.get("link"), "bool")
        nsw = sum(1 for r in (srv if cause == "nat" else cli) if lo <= r["_us"] < nxt and is_switch(r))
        emit(m + "switches_cli", n, nsw, "switches")
        bad = [("cli", r) for r in cli if lo <= r["_us"] < nxt and anomaly(r)] + \
              [("srv", r) for r in srv if lo <= r["_us"] < nxt and anomaly(r)]
        emit(m + "anomalies", n, len(bad) + (nsw > 1), "records")
        if bad or nsw != 1 or not same:
            anomalies.append("%s cut %s (u link %s, t=%d): %d switch(es) on the %s, session %s"
                             % (cause, n, c.get("link"), t, nsw,
                                "server" if cause == "nat" else "client", "same" if same else
                                "CHANGED (client %s -> %s, server %s -> %s)" % (
                                    c.get("csid0"), c.get("csid1"), c.get("ssid0"), c.get("ssid1"))))
            for who, r in bad:
                rr = {x: y for x, y in r.items() if x != "_us"}
                anomalies.append("  %s +%.0f ms %s" % (who, (r["_us"] - t0) / 1000.0, json.dumps(rr)))
    # Connection errors (a reset, a timeout) and orderly ends of the streams.
    for tun, (_, errs, ended) in tcp.items():
        if os.path.exists(os.path.join(raw, "fj-tcp-%s.log" % tun)):
            emit("tcp_errors_" + tun, 1, len(errs), "errors")
            emit("tcp_ended_" + tun, 1, ended, "bool")
            for us, text in errs:
                anomalies.append("tcp %s: error at %d: %s" % (tun, us, text))
    with open(os.path.join(raw, "fj-anomalies.txt"), "w") as f:
        f.write("\n".join(anomalies) + ("\n" if anomalies else ""))
    print("\n".join(out))


if __name__ == "__main__":
    main()
