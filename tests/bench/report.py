#!/usr/bin/env python3
"""Turns a benchmark run (tests/bench/run.sh) into docs/benchmarks.md and
PNG plots (gnuplot).

    report.py RESULTS_DIR [--md FILE] [--plots DIR]

RESULTS_DIR holds what tests/bench/guest.sh wrote (results.tsv, raw/,
profile/, commands.txt, guest-env.txt, durations.txt) plus run.sh's
host-env.txt and host-load.txt.  Every number in the document comes from
there; missing sections are reported as missing, never invented.
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
from collections import defaultdict

CANDS = ["veth", "wg", "jvpn"]
CAND_NAME = {"veth": "veth (no tunnel)", "wg": "WireGuard", "jvpn": "jvpn"}

# metric, label, unit, direction (+1: higher is better, -1: lower, 0: info)
DATAPLANE = [
    ("tcp1", "TCP, 1 stream", "Mbit/s", +1),
    ("tcp4", "TCP, 4 streams", "Mbit/s", +1),
    ("udp64_pps", "UDP 64 B, received", "pps", +1),
    ("udp64_loss", "UDP 64 B, loss", "%", 0),
    ("udp64_sent_pps", "UDP 64 B, sent", "pps", 0),
    ("udp1400_pps", "UDP 1392 B, received", "pps", +1),
    ("udp1400_loss", "UDP 1392 B, loss", "%", 0),
    ("udp1400_sent_pps", "UDP 1392 B, sent", "pps", 0),
    ("ping_idle_p50", "ping RTT idle, median", "ms", -1),
    ("ping_idle_p99", "ping RTT idle, p99", "ms", -1),
    ("ping_load_p50", "ping RTT under TCP load, median", "ms", -1),
    ("ping_load_p99", "ping RTT under TCP load, p99", "ms", -1),
    ("ping_load_loss", "ping loss under TCP load", "%", 0),
]

# The failover benchmark with jvpnd (guest.sh section failover_jvpnd): cause,
# label, how the cut is made.
FJ_CAUSES = [
    ("down", "link down", "`ip link set uN down` on both ends (two commands started together)"),
    ("netem", "100% loss", "`tc qdisc add dev uN root netem loss 100%` on both ends (together; "
     "links and routes stay)"),
    ("nft", "nftables drop", "an nftables table in the client dropping everything in and out of uN "
     "(the server end untouched)"),
    ("nat", "NAT rebinding", "the client's UDP source port on the active link changed by nftables "
     "SNAT in the client (a new port each time) and the old mappings deleted (`conntrack -D`), as "
     "when a NAT gateway rebinds: nothing fails, but the server sees the session arrive from an "
     "unknown source and must validate it (UNKNOWN_SOURCE, challenge) before it moves the session "
     "there; the client's path does not change"),
]
# jvpnd's default TransportLossTtlMs (daemon/policy.c), for the text when the
# bench's [Policy] does not set it.
POLICY_DEFAULT_TTL_MS = 250
# What the WireGuard client's script does for each cause (guest.sh fj_wg_point).
FJ_WG_HOW = {
    "down": "script re-points the endpoint",
    "netem": "script re-points the endpoint",
    "nft": "script re-points the endpoint",
    "nat": "nothing: it roams by itself",
}


def load_results(path):
    """{section: {metric: {cand: [(rep, value)]}}}"""
    res = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 6:
                continue
            sec, metric, cand, rep, val, unit = parts
            try:
                res[sec][metric][cand].append((rep, float(val)))
            except ValueError:
                pass
    return res


def host_loads(resdir):
    """1-minute load averages sampled on the host during a run."""
    loads = []
    lp = os.path.join(resdir, "host-load.txt")
    if os.path.exists(lp):
        with open(lp) as f:
            for line in f:
                p = line.split()
                if len(p) >= 2:
                    loads.append(float(p[1]))
    return loads


def kv_file(path):
    out = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                if "\t" in line:
                    k, v = line.rstrip("\n").split("\t", 1)
                    out[k] = v
    return out


def med(vals):
    return statistics.median(vals) if vals else None


def pctl(vals, p):
    """Nearest-rank percentile."""
    if not vals:
        return None
    s = sorted(vals)
    k = max(1, min(len(s), int(-(-p * len(s) // 100))))
    return s[k - 1]


def fmt(v, unit=""):
    if v is None:
        return "n/a"
    a = abs(v)
    if unit in ("pps", "sessions/s", "B") or a >= 1000:
        s = "%.0f" % v
    elif a >= 100:
        s = "%.0f" % v
    elif a >= 10:
        s = "%.1f" % v
    elif a >= 1:
        s = "%.2f" % v
    else:
        s = "%.3f" % v
    return s


def cell(vals, unit):
    if not vals:
        return "n/a"
    m = med(vals)
    if len(vals) == 1:
        return fmt(m, unit)
    return "**%s** (%s–%s)" % (fmt(m, unit), fmt(min(vals), unit), fmt(max(vals), unit))


def ratio(j, w):
    if j is None or w is None or w == 0:
        return None
    return j / w


def values(res, sec, metric, cand):
    return [v for _, v in res[sec][metric][cand]]


# ------------------------------------------------------------------ profile

IDLE = re.compile(r"native_safe_halt|default_idle|amd_e400_idle|^do_idle|cpu_idle|mwait|acpi_idle|poll_idle")
CRYPTO = re.compile(r"chacha|poly1305|hchacha")
COPY = re.compile(r"copy_user|memcpy|memmove|csum|checksum|skb_copy|copy_page|_copy_to_iter|_copy_from_iter")
LOCK = re.compile(r"spin_lock|spin_unlock|spin_trylock|queued_spin|_raw_read|_raw_write|mutex")
MEM = re.compile(r"kmem_cache|kmalloc|kfree|__alloc|alloc_pages|free_pages|page_frag|skb_release|memset|clear_page|__slab|slab_|free_unref|rmqueue|get_page_from")


def parse_self(path):
    """[(pct, dso, kind, sym)] from `perf report --no-children --sort dso,sym`."""
    rows = []
    samples = None
    if not os.path.exists(path):
        return rows, samples
    with open(path) as f:
        for line in f:
            m = re.match(r"# Samples: (\S+)", line)
            if m:
                samples = m.group(1)
            m = re.match(r"\s+([0-9.]+)%\s+(\S+)\s+\[(.)\]\s+(.*\S)", line)
            if m:
                rows.append((float(m.group(1)), m.group(2), m.group(3), m.group(4)))
    return rows, samples


def parse_children(path):
    """{sym: (children_pct, self_pct)}"""
    out = {}
    if not os.path.exists(path):
        return out
    with open(path) as f:
        for line in f:
            m = re.match(r"\s+([0-9.]+)%\s+([0-9.]+)%\s+\[(.)\]\s+(.*\S)", line)
            if m:
                out.setdefault(m.group(4), (float(m.group(1)), float(m.group(2))))
    return out


def kmod_symbols(repo):
    """Function names defined in kmod/*.c: perf shows module symbols under
    [kernel.kallsyms], so the module's own code is recognised by name."""
    names = set()
    d = os.path.join(repo, "kmod")
    if os.path.isdir(d):
        for fn in os.listdir(d):
            if fn.endswith(".c"):
                with open(os.path.join(d, fn), errors="replace") as f:
                    for m in re.finditer(r"^[a-z_][\w \t\*]*?\b(\w+)\(", f.read(), re.M):
                        names.add(m.group(1))
    return names


JVPN_SYMS = set()


def categorise(rows):
    cats = defaultdict(float)
    for pct, dso, kind, sym in rows:
        if IDLE.search(sym):
            c = "idle"
        elif kind == ".":
            c = "user space (iperf3, libc)"
        elif CRYPTO.search(sym):
            c = "ChaCha20-Poly1305"
        elif COPY.search(sym):
            c = "copies and checksums"
        elif LOCK.search(sym):
            c = "locks, IRQ restore"
        elif MEM.search(sym):
            c = "memory (alloc, free, clear)"
        elif dso == "[jvpn]" or sym in JVPN_SYMS:
            c = "jvpn module (own code)"
        elif dso == "[wireguard]" or sym.startswith("wg_"):
            c = "wireguard module (own code)"
        else:
            c = "rest of the kernel"
        cats[c] += pct
    listed = sum(cats.values())
    cats["below the 0.3% cut-off"] = max(0.0, 100.0 - listed)
    return cats


def parse_folded(path):
    """[(pct, [frames root..leaf])] from `perf report -g folded`."""
    out = []
    if not os.path.exists(path):
        return out
    with open(path) as f:
        for line in f:
            m = re.match(r"([0-9.]+)% (\S+)$", line.strip())
            if m:
                out.append((float(m.group(1)), m.group(2).split(";")))
    return out


def crypto_context(frames):
    def before(name):
        return frames[:frames.index(name)] if name in frames else None
    if "wg_packet_encrypt_worker" in frames:
        return "WireGuard: encrypt worker (kworker, spread over CPUs)"
    if "wg_packet_decrypt_worker" in frames:
        return "WireGuard: decrypt worker (kworker, spread over CPUs)"
    if any(f.startswith("wg_") for f in frames):
        return "WireGuard: other"
    b = before("jvpn_encrypt_skb")
    if b is not None:
        if "handle_softirqs" in b:
            if "tcp_v4_rcv" in b or "tcp_v6_rcv" in b:
                return "jvpn TX: encrypt in softirq, sending released by a received ACK (tcp_v4_rcv, socket spinlock held)"
            return "jvpn TX: encrypt in softirq, other trigger (TSQ tasklet, timers)"
        if "entry_SYSCALL_64_after_hwframe" in b:
            return "jvpn TX: encrypt inline in the sending system call"
        return "jvpn TX: other context"
    b = before("jvpn_decrypt_skb")
    if b is not None:
        if "run_ksoftirqd" in b:
            return "jvpn RX: decrypt in ksoftirqd"
        if "entry_SYSCALL_64_after_hwframe" in b:
            return "jvpn RX: decrypt in softirq run at the end of a system call (local_bh_enable)"
        return "jvpn RX: decrypt in softirq after an interrupt or in idle"
    return "other"


def lock_waiter(frames):
    for name in ("tcp_sendmsg", "tcp_recvmsg", "tcp_v4_rcv", "tcp_tsq_handler", "tcp_write_timer",
                 "gro_cells_receive", "gro_cell_poll", "rx_data", "udp_queue_rcv_one_skb",
                 "wg_packet_encrypt_worker", "wg_packet_decrypt_worker", "wg_packet_tx_worker",
                 "wg_xmit", "queue_work_on", "__queue_work", "try_to_wake_up", "mod_timer"):
        if name in frames:
            return name
    for i, f in enumerate(frames):
        if f.startswith("_raw_spin_lock") and i > 0:
            return frames[i - 1]
    return frames[-2] if len(frames) > 1 else "?"


def parse_cpu_sym(path):
    """{cpu: {sym: pct}} from `perf report --sort cpu,sym`."""
    out = defaultdict(dict)
    if not os.path.exists(path):
        return out
    with open(path) as f:
        for line in f:
            m = re.match(r"\s+([0-9.]+)%\s+(\d+)\s+\[(.)\]\s+(.*\S)", line)
            if m:
                out[int(m.group(2))][m.group(4)] = float(m.group(1))
    return out


def parse_cpu(path):
    """[(cpu, {usr, sys, irq, soft, idle})]"""
    out = []
    if not os.path.exists(path):
        return out
    with open(path) as f:
        for line in f:
            parts = line.split()
            if not parts:
                continue
            d = {}
            for p in parts[1:]:
                k, _, v = p.partition("=")
                d[k] = float(v)
            out.append((parts[0], d))
    return out


def parse_softirqs(p0, p1):
    """{name: [delta per cpu]}"""
    def rd(p):
        d = {}
        if not os.path.exists(p):
            return d
        with open(p) as f:
            for line in f:
                parts = line.split()
                if parts and parts[0].endswith(":"):
                    d[parts[0][:-1]] = [int(x) for x in parts[1:]]
        return d
    a, b = rd(p0), rd(p1)
    return {k: [y - x for x, y in zip(a.get(k, []), b[k])] for k in b if k in a}


# ---------------------------------------------------------------- gnuplot

def gnuplot(script, cwd):
    if not shutil.which("gnuplot"):
        return "gnuplot not installed"
    r = subprocess.run(["gnuplot"], input=script, text=True, cwd=cwd,
                       capture_output=True)
    return None if r.returncode == 0 else r.stderr.strip()[-500:]


def make_plots(res, plotdir, datadir):
    """Writes PNGs; returns {name: relative file} of those written."""
    os.makedirs(plotdir, exist_ok=True)
    os.makedirs(datadir, exist_ok=True)
    made = {}
    errors = []
    term = "set terminal pngcairo size 960,600 font 'DejaVu Sans,10'\n"

    # 1. jvpn / WireGuard ratios
    rows = []
    for metric, label, unit, direction in DATAPLANE:
        if direction == 0:
            continue
        r = ratio(med(values(res, "dataplane", metric, "jvpn")),
                  med(values(res, "dataplane", metric, "wg")))
        if r is None:
            continue
        # Latency: show WG/jvpn so that "higher is better" holds for all bars.
        good = r if direction > 0 else (1 / r if r else 0)
        rows.append((label, good))
    if rows:
        with open(os.path.join(datadir, "ratios.dat"), "w") as f:
            for label, g in rows:
                f.write('"%s" %.4f\n' % (label, g))
        out = os.path.abspath(os.path.join(plotdir, "ratios.png"))
        err = gnuplot(term + """
set output '%s'
set title 'jvpn relative to WireGuard (same guest, same run; > 1: jvpn better)'
set style fill solid 0.7 border -1
set boxwidth 0.6
set logscale y
set yrange [0.1:*]
set xtics rotate by -30 left
set grid ytics
set ylabel 'throughput: jvpn/WG    latency: WG/jvpn'
set bmargin 9
plot 'ratios.dat' using 0:2:xtic(1) with boxes lc rgb '#3070b0' notitle, \\
     '' using 0:2:(sprintf('%%.2f', $2)) with labels offset 0,0.7 notitle, \\
     1 with lines lw 2 lc rgb '#c03030' title 'parity (log scale)'
""" % out, datadir)
        if err:
            errors.append("ratios: " + err)
        else:
            made["ratios"] = "ratios.png"

    # 2. data plane absolute: throughput and pps and latency (tunnels + veth)
    present = [c for c in CANDS if any(res["dataplane"][m][c] for m in res["dataplane"])]
    colour = {"veth": "#999999", "wg": "#c07030", "jvpn": "#3070b0"}

    def dat(name, metrics):
        with open(os.path.join(datadir, name), "w") as f:
            for metric, label in metrics:
                vals = [med(values(res, "dataplane", metric, c)) for c in present]
                f.write('"%s" %s\n' % (label, " ".join(
                    "%.4f" % v if v is not None else "NaN" for v in vals)))

    def hist(name):
        return ", ".join("'%s' using %d%s title '%s' lc rgb '%s'" % (
            name if i == 0 else "", i + 2, ":xtic(1)" if i == 0 else "",
            CAND_NAME[c], colour[c]) for i, c in enumerate(present))
    if present:
        dat("tput.dat", [("tcp1", "TCP 1 stream"), ("tcp4", "TCP 4 streams")])
        dat("pps.dat", [("udp64_pps", "UDP 64 B"), ("udp1400_pps", "UDP 1392 B")])
        dat("lat.dat", [("ping_idle_p50", "idle p50"), ("ping_idle_p99", "idle p99"),
                        ("ping_load_p50", "load p50"), ("ping_load_p99", "load p99")])
        out = os.path.abspath(os.path.join(plotdir, "dataplane.png"))
        err = gnuplot("set terminal pngcairo size 1200,420 font 'DejaVu Sans,10'\n" + """
set output '%s'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set grid ytics
set key top left
set logscale y
set multiplot layout 1,3 title 'Data plane, medians (log scale; veth = no tunnel)'
set title 'TCP throughput (Mbit/s)'
plot %s
set title 'UDP received (packets/s)'
plot %s
set title 'ping RTT (ms)'
plot %s
unset multiplot
""" % (out, hist("tput.dat"), hist("pps.dat"), hist("lat.dat")), datadir)
        if err:
            errors.append("dataplane: " + err)
        else:
            made["dataplane"] = "dataplane.png"

    # 3. session scale
    sc = res["scale"]
    ns = sorted({int(c) for c in sc["tcp1"]} | {int(c) for c in sc["install_rate"]})
    rows = []
    for n in ns:
        c = str(n)
        rows.append([med([v for _, v in sc[m][c]]) for m in (
            "tcp1", "mem_MemAvailable_per_session", "dump_jvpnctl_json", "dump_raw")])
    # A line needs two points: a smoke run (one N) gets no scale plot.
    if len(ns) >= 2 and all(sum(r[i] is not None for r in rows) >= 2 for i in range(4)):
        with open(os.path.join(datadir, "scale.dat"), "w") as f:
            for n in ns:
                c = str(n)
                row = [med([v for _, v in sc["tcp1"][c]]),
                       med([v for _, v in sc["mem_MemAvailable_per_session"][c]]),
                       med([v for _, v in sc["dump_jvpnctl_json"][c]]),
                       med([v for _, v in sc["dump_raw"][c]]),
                       med([v for _, v in sc["install_rate"][c]])]
                f.write("%d %s\n" % (n, " ".join("%.3f" % v if v is not None else "NaN" for v in row)))
        out = os.path.abspath(os.path.join(plotdir, "scale.png"))
        err = gnuplot("set terminal pngcairo size 1200,420 font 'DejaVu Sans,10'\n" + """
set output '%s'
set logscale x
set grid
set key top left
set xlabel 'sessions in the kernel table'
set multiplot layout 1,3 title 'jvpn session scale (one live session, the rest idle with key and path)'
set title 'TCP, 1 stream on the live session (Mbit/s)'
set yrange [0:*]
plot 'scale.dat' using 1:2 with linespoints lw 2 pt 7 notitle
set title 'kernel memory per session (bytes, MemAvailable delta / N)'
plot 'scale.dat' using 1:3 with linespoints lw 2 pt 7 notitle
set title 'full session dump (ms)'
set logscale y
set yrange [*:*]
plot 'scale.dat' using 1:4 with linespoints lw 2 pt 7 title 'jvpnctl -j session show', \\
     'scale.dat' using 1:5 with linespoints lw 2 pt 7 title 'netlink dump only (nlbulk)'
unset multiplot
""" % out, datadir)
        if err:
            errors.append("scale: " + err)
        else:
            made["scale"] = "scale.png"

    # 4. failover outages per cut
    series = [("failover_jvpnd", m + "_outage", "jvpnd", "jvpnd on both ends, " + label)
              for m, label, _ in FJ_CAUSES] + [
        ("failover", "drop_outage", "jvpn", "path drop (netem), kernel detection + scripted switch"),
        ("failover", "down_outage", "jvpn", "link down, kernel detection + scripted switch"),
        ("failover", "wg_oracle_outage", "wg", "WireGuard, endpoint switched by script at the cut")]
    have = [(sec, m, c, t) for sec, m, c, t in series if res[sec][m][c]]
    if have:
        plots = []
        for i, (sec, m, c, t) in enumerate(have):
            vals = sorted(v for _, v in res[sec][m][c])
            with open(os.path.join(datadir, "fo-%d.dat" % i), "w") as f:
                for k, v in enumerate(vals, 1):
                    f.write("%.4f %.1f\n" % (k / len(vals), v))
            plots.append("'fo-%d.dat' using 2:1 with steps lw 2 title '%s'" % (i, t))
        out = os.path.abspath(os.path.join(plotdir, "failover.png"))
        err = gnuplot(term + """
set output '%s'
set title 'Outage seen by a 10 ms ping, per cut (cumulative distribution; jvpnd: first lost to first answered, scripted: longest reply gap)'
set xlabel 'outage (ms)'
set ylabel 'fraction of cuts'
set yrange [0:1.05]
set grid
set key top left
plot %s
""" % (out, ", ".join(plots)), datadir)
        if err:
            errors.append("failover: " + err)
        else:
            made["failover"] = "failover.png"
    return made, errors


# --------------------------------------------------------- failover, jvpnd

def gap_ms(x):
    """A TCP gap: pauses under 20 ms are not logged by tcpgap."""
    if x is None:
        return "–"
    return "< 20 ms" if x < 20 else "%s ms" % fmt(x)


def tcp_errors_text(fj):
    parts = []
    for tun, name in (("jvpn", "jvpn"), ("wg", "WireGuard")):
        e = [x for _, x in fj["tcp_errors_" + tun]["jvpnd"]]
        if e:
            end = [x for _, x in fj["tcp_ended_" + tun]["jvpnd"]]
            parts.append("%s: %d connection error(s)%s" % (
                name, int(e[0]), "" if not end else (", the stream ended in order" if end[0]
                                                      else ", **the stream did not end in order**")))
    if not parts:
        return ""
    return "TCP resets and other connection errors over all cuts: " + "; ".join(parts) + "."


def failover_jvpnd_md(res, resdir, genv):
    """Section 3's failover with jvpnd on both ends (guest.sh section
    failover_jvpnd, per-cut figures from tests/bench/failover_jvpnd.py)."""
    fj = res["failover_jvpnd"]
    L = []
    w = L.append

    def v(metric):
        return [x for _, x in fj[metric]["jvpnd"]]

    causes = [(m, label, how) for m, label, how in FJ_CAUSES
              if v(m + "_outage") or v(m + "_switched")]
    if not fj:
        w("Not measured in this run.")
        w("")
        return L
    params = dict(p.split("=", 1) for p in genv.get("params", "").split() if "=" in p)
    planned = params.get("fj_cuts", "?")
    policy = []
    pp = os.path.join(resdir, "raw", "fj-policy.conf")
    if os.path.exists(pp):
        with open(pp) as f:
            policy = [line.rstrip("\n") for line in f if line.strip()]
    w("`jvpnd` on both ends, configured like `tests/guest/70-jump.sh`: a server "
      "(`fs`, UDP 51820) and a client (`fc`, UDP 51821) joined by two veth links "
      "u1 (192.168.70.0/24) and u2 (192.168.71.0/24); the client has "
      "`Endpoint = 192.168.70.1:51820, 192.168.71.1:51820`, so its session has "
      "one path per link, and probes the standby one every `ProbeIntervalMs`. "
      "When the active path fails, the kernel reports it silent after "
      "`TransportLossTtlMs` (jvpnd sets the device's silent-ms to it and "
      "keepalive-ms to a quarter of it), or jvpnd's link watch sees that it has "
      "no route any more; the client sends a `REATTACH_REQ` on the standby path, "
      "the server commits (versioned `PATH_ACTIVATE`) and confirms, the client "
      "commits. No script takes part. Both daemons use this `[Policy]`:")
    w("")
    if policy:
        w("```ini")
        L.extend(policy)
        w("```")
        w("")
    w("The switch-rate knobs are set so that they never decide anything here: "
      "the loop waits out `SwitchCooldownMs` after each switch before the next "
      "cut, and a cut every few seconds is at most ~20 switches a minute, under "
      "`MaxSwitchesPerMinute`. Everything else is jvpnd's default.")
    w("")
    w("A 10 ms ping (`ping -D -i 0.01`) runs from the client to the server's "
      "tunnel address the whole time (a path that carries nothing cannot be "
      "found dead by its silence; jvpnd's link watch would still see a link "
      "go down). %d causes, %s cuts "
      "each (%s in this run), each cut (but the rebinding) taking away whichever "
      "link carries the active path, so the active path alternates between u1 "
      "and u2:" % (
          len(FJ_CAUSES), planned, ", ".join("%s %d" % (label, len(v(m + "_switched"))) for m, label, _ in causes)
          or "none"))
    w("")
    for m, label, how in FJ_CAUSES:
        w("- **%s**: %s." % (label, how))
    w("")
    w("Each cut is undone once the client's audit log shows the switch (the "
      "server's, for a rebinding, which is not undone) (or after "
      "10 s without one) and 0.3 s of traffic on the new path. Before the next "
      "cut the loop waits until both daemons report their session ATTACHED "
      "(`jvpnctl -j sessions`) and the restored link, now the standby, has "
      "answered two probes (an nftables counter of PROBE_REPLY datagrams in the "
      "client), so that it is a validated standby again.")
    w("")
    w("**Outage** = from the first lost echo request (its send time, "
      "interpolated between the send times, reply − RTT, of the replies on "
      "either side) to the first reply after it. *Lost pings* = echo requests "
      "without a reply; *lost × 10 ms* is the simple estimate of the same "
      "outage, too low whenever the emulated guest's ping falls behind its "
      "10 ms pace (it does under load). *Same session*: the client's and the server's session "
      "ids before and after the cut are equal (no new handshake).")
    w("")
    if not causes:
        w("**No cut was measured in this run.**")
        w("")
    else:
        w("| Cut | cuts | switched | same session | outage median | p95 | max | "
          "lost pings median (max) | TCP gap median | p95 | max |")
        w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for m, label, _ in causes:
            o, lost = v(m + "_outage"), v(m + "_lost_pings")
            sw, same, tg = v(m + "_switched"), v(m + "_same_session"), v(m + "_tcp_gap")
            w("| %s | %d | %d/%d | %d/%d | %s ms | %s ms | %s ms | %s (%s) | %s | %s | %s |" % (
                label, len(sw), int(sum(sw)), len(sw), int(sum(same)), len(same),
                fmt(med(o)), fmt(pctl(o, 95)), fmt(max(o) if o else None),
                fmt(med(lost), "pps"), fmt(max(lost) if lost else None, "pps"),
                gap_ms(med(tg)), gap_ms(pctl(tg, 95)), gap_ms(max(tg) if tg else None)))
        w("")
        kbit = params.get("fj_tcp_kbit")
        if any(v(m + "_tcp_gap") for m, _, _ in causes):
            w("*TCP gap* = the longest pause in the bytes delivered to the receiving "
              "application of a paced TCP stream (%s kbit/s, `tests/bench/tcpgap.c`) "
              "that runs through the tunnel during all cuts: the outage as a TCP "
              "application sees it, retransmission back-off included (pauses under "
              "20 ms are not logged: < 20). %s" % (kbit or "?", tcp_errors_text(fj)))
            w("")
        wg_rows = [(m, label) for m, label, _ in causes if v(m + "_wg_outage")]
        if wg_rows:
            w("**WireGuard on the same cuts.** A WireGuard tunnel (Debian's module) "
              "rides the same two links at the same time, kept on the link of jvpn's "
              "active path, so every cut above hits both; it carries its own 10 ms "
              "ping and paced TCP stream. WireGuard has one endpoint per peer and no "
              "signal that a path stopped working: for a cut, a script that knows of "
              "the cut re-points the client's endpoint at the server's address on the "
              "other link right after the cut command (`wg set wgc peer … endpoint`; "
              "its \"roaming with a second endpoint\", with no detection time at all: "
              "a lower bound for any real WireGuard controller, which would first have "
              "to notice the failure from outside), and the server follows the first "
              "authenticated packet from the new address. A NAT rebinding it follows "
              "by itself: the server answers wherever the last authenticated packet "
              "came from, at once and without validating the new address.")
            w("")
            w("| Cut | WireGuard | WG outage median | p95 | max | WG TCP gap median | max | "
              "jvpn outage median | max | jvpn TCP gap median | max |")
            w("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
            for m, label in wg_rows:
                o, wo = v(m + "_outage"), v(m + "_wg_outage")
                tg, wtg = v(m + "_tcp_gap"), v(m + "_wg_tcp_gap")
                w("| %s | %s | %s ms | %s ms | %s ms | %s | %s | %s ms | %s ms | %s | %s |" % (
                    label, FJ_WG_HOW.get(m, ""), fmt(med(wo)), fmt(pctl(wo, 95)),
                    fmt(max(wo) if wo else None), gap_ms(med(wtg)), gap_ms(max(wtg) if wtg else None),
                    fmt(med(o)), fmt(max(o) if o else None), gap_ms(med(tg)),
                    gap_ms(max(tg) if tg else None)))
            w("")
            wp = [x for m, _ in wg_rows for x in v(m + "_wg_point")]
            if wp:
                w("The script's `wg set` had returned %s ms (median) after time 0 of the "
                  "cut: a program start in this emulated guest, all of it in WireGuard's "
                  "outage. Where the two differ: jvpn detects the failure itself "
                  "(silence after `TransportLossTtlMs`, or its link watch) and moves "
                  "only to a path it has validated, and on a rebinding its server "
                  "proves the new source (one challenge round trip) before it sends "
                  "there; WireGuard needs an outside controller to notice the failure "
                  "and to know the other address, and on a rebinding trusts any "
                  "authenticated packet's source at once (a captured packet replayed "
                  "from elsewhere moves it too, until the real peer speaks again)." % fmt(med(wp)))
                w("")
        w("From the audit logs (`--audit`, JSON lines: `STATE_CHANGE` and the "
          "`TransportSwitch` `AUDIT_EVENT`), in ms from the moment the cut took "
          "effect (time 0: the earlier of the first end's link down, qdisc or "
          "nftables table as seen by a monitor, and the send time of the first "
          "lost ping; see below). *Detection* = the client's session leaves "
          "ATTACHED (to VOLATILE on the kernel's `PATH_SILENT`, or to RECOVERING "
          "on `TRANSPORT_LOST` from the link watch); *switch* = the "
          "`TransportSwitch` record, server and client; *REQ → commit* = its "
          "`recovery_ms` (first REATTACH_REQ sent to the client's commit); "
          "*standby* = committed on a validated standby path in one round trip "
          "(`validation: standby`) rather than after a challenge.")
        w("")
        w("| Cut | detection, client: median / p95 | by link watch | detection → switch, "
          "client: median / p95 / max | REQ → commit median | switch, server / client "
          "(median) | standby | clean cuts |")
        w("|---|---:|---:|---:|---:|---:|---:|---:|")
        for m, label, _ in causes:
            dc, link = v(m + "_detect_cli"), v(m + "_detect_by_link_cli")
            d2s, rq = v(m + "_detect_to_switch_cli"), v(m + "_req_to_commit_cli")
            ss, sc = v(m + "_switch_srv"), v(m + "_switch_cli")
            sb, an, nsw = v(m + "_standby_validated"), v(m + "_anomalies"), v(m + "_switches_cli")
            clean = sum(1 for a, b in zip(an, nsw) if a == 0 and b == 1)
            w("| %s | %s / %s ms | %d/%d | %s / %s / %s ms | %s ms | %s / %s ms | %d/%d | %d/%d |" % (
                label, fmt(med(dc)), fmt(pctl(dc, 95)), int(sum(link)), len(link),
                fmt(med(d2s)), fmt(pctl(d2s, 95)), fmt(max(d2s) if d2s else None),
                fmt(med(rq)), fmt(med(ss)), fmt(med(sc)), int(sum(sb)), len(sb),
                clean, len(nsw)))
        w("")
        fo = res["failover"]
        scripted = {"down": "down_outage", "netem": "drop_outage"}
        parts = []
        for m, label, _ in causes:
            g = med(v(m + "_gap"))
            sv = med([x for _, x in fo[scripted[m]]["jvpn"]]) if m in scripted else None
            parts.append("%s **%s ms**%s" % (label, fmt(g), " (scripted: %s ms)" % fmt(sv)
                                             if sv is not None else ""))
        w("The same outages measured like the scripted switch below (the longest "
          "gap between two consecutive replies, median): " + "; ".join(parts) + ".")
        w("")
        src = [x for m, _, _ in causes for x in v(m + "_t0_source")]
        cmd = [x for m, _, _ in causes for x in v(m + "_cut_cmd")]
        skew = [x for m, _, _ in causes for x in v(m + "_cut_skew")]
        pa = sum(int(sum(v(m + "_path_alive"))) for m, _, _ in causes)
        ttl = next((line.split("=", 1)[1].strip() + " ms" for line in policy
                    if line.split("=", 1)[0].strip() == "TransportLossTtlMs"),
                   "%s ms (the default)" % POLICY_DEFAULT_TTL_MS)
        if src:
            w("How time 0 was found (the earlier of the two when both exist): the "
              "monitor event for %d of %d cuts, the first lost ping for %d, the start "
              "of the cut command for %d (upper bounds). "
              "The cut commands took %s ms (median) to return in this guest: a "
              "program start is slow under emulation, which is why the cut is timed "
              "by resident monitors (`ip monitor link`, `tc monitor`, `nft monitor` "
              "in both namespaces, each line stamped as it is read)%s. The stamp can "
              "lag the event by the time the reader waits for a vCPU, so a daemon "
              "reacting at once (the link watch) can show a negative detection time. "
              "A cut that loses no ping was switched over before an echo request "
              "fell into it." % (
                  src.count(2), len(src), src.count(1), src.count(0), fmt(med(cmd)),
                  "; the two ends' cuts took effect %s ms apart (median)" % fmt(med(skew))
                  if skew else ""))
            w("")
        if pa:
            w("**%d silence episode(s) ended by themselves** (`PATH_SILENT` then "
              "`PATH_ALIVE`, no switch) in the two audit logs during the cuts: with "
              "`TransportLossTtlMs` %s, a stall of the emulated guest longer than "
              "that looks like a dead path (see the host load)." % (pa, ttl))
            w("")
        noc = [(label, int(sum(1 for x in v(m + "_no_candidate") if x > 0)), len(v(m + "_no_candidate")))
               for m, label, _ in causes]
        if any(k for _, k, _ in noc):
            w("**Cuts whose first reattach attempt found no usable candidate** "
              "(audit `reattach_not_started`, `no_candidate`): %s. The standby had "
              "been cut shortly before and was not yet a candidate again: given up "
              "(MaxProbes unanswered), or its measured loss still above "
              "`MaxLossPercent`; the client retries after a backoff and the outage "
              "grows. (`jvpnctl paths` shows a client's view of each path and why "
              "it is or is not a candidate.)" % ", ".join("%s %d of %d" % x for x in noc if x[1]))
            w("")
        ca = [x for m, _, _ in causes for x in v(m + "_cut_active")]
        if ca and sum(ca) < len(ca):
            w("**%d cut(s) hit the standby link**: a false alarm had moved the session "
              "between the loop's last look at the active path and the cut." % (
                  len(ca) - int(sum(ca))))
            w("")
    alive = v("daemons_alive")
    done = v("cuts_done")
    notes = []
    if alive and not alive[0]:
        notes.append("**A jvpnd exited during the run.**")
    total = sum(len(v(m + "_switched")) for m, _, _ in causes)
    try:
        want = int(planned) * len([c for c in genv.get("params", "").split("fj_causes=")[-1].split()[0].split(",") if c])
    except ValueError:
        want = None
    if want and total < want:
        notes.append("**Only %d of %d planned cuts were made**: the loop stopped "
                     "(see the guest's TAP output)." % (total, want))
    nosw = sum(len(v(m + "_switched")) - int(sum(v(m + "_switched"))) for m, _, _ in causes)
    if nosw:
        notes.append("**%d cut(s) were not followed by a switch within 10 s.**" % nosw)
    changed = sum(len(v(m + "_same_session")) - int(sum(v(m + "_same_session"))) for m, _, _ in causes)
    if changed:
        notes.append("**%d cut(s) changed a session id** (the session was ended and "
                     "a new handshake made a new one)." % changed)
    if done and total == 0:
        notes.append("No per-cut figures: see the guest's TAP output.")
    for n in notes:
        w(n)
        w("")
    ap = os.path.join(resdir, "raw", "fj-anomalies.txt")
    if os.path.exists(ap) and os.path.getsize(ap):
        with open(ap) as f:
            lines = f.read().splitlines()
        w("Cuts with more than one switch, a changed session, or audit records "
          "outside a clean switch (DEGRADED, TERMINATED, a new handshake, a failed "
          "reattach, a SECURITY_EVENT, a reattach not started), from "
          "`raw/fj-anomalies.txt` (times from time 0 of the cut%s):" % (
              ", first 40 lines" if len(lines) > 40 else ""))
        w("")
        w("```")
        L.extend(line[:400] for line in lines[:40])
        w("```")
        w("")
    elif causes:
        w("Every cut: exactly one switch (the client's; the server's for a "
          "rebinding), no DEGRADED, TERMINATED, "
          "new handshake, failed reattach or SECURITY_EVENT in either audit log.")
        w("")
    return L


# ---------------------------------------------------------------- document

def build(resdir, mdpath, plotdir):
    repo = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    JVPN_SYMS.update(kmod_symbols(repo))
    res = load_results(os.path.join(resdir, "results.tsv"))
    henv = kv_file(os.path.join(resdir, "host-env.txt"))
    genv = kv_file(os.path.join(resdir, "guest-env.txt"))
    cmds = kv_file(os.path.join(resdir, "commands.txt"))
    durs = kv_file(os.path.join(resdir, "durations.txt"))
    smoke = genv.get("smoke", "0") == "1"
    made, plot_errors = make_plots(res, plotdir, os.path.join(resdir, "plot-data"))
    rel = os.path.relpath(os.path.abspath(plotdir), os.path.dirname(os.path.abspath(mdpath)))

    loads = host_loads(resdir)

    L = []
    w = L.append
    w("# jvpn benchmarks")
    w("")
    w("Generated by `make bench` (`tests/bench/run.sh` → `tests/bench/guest.sh` in one "
      "QEMU guest → `tests/bench/report.py`) on %s. Do not edit by hand: "
      "run `make bench` again." % henv.get("date", "an unknown date"))
    if smoke:
        w("")
        w("**This document was generated from a smoke run (1-second runs, tiny N): "
          "the numbers only show that every benchmark runs.**")
    w("")
    w("The guest is emulated (QEMU TCG, no KVM), so absolute numbers are "
      "context only. **The results are the ratios** between jvpn and WireGuard, "
      "measured in the same guest boot, over the same veth pair, alternating "
      "candidates (veth, WireGuard, jvpn, veth, …), each measurement "
      "repeated and reported as the median with (min–max).")
    w("")
    w("Contents: [Summary](#summary) · [Machine](#machine-and-method) · "
      "[1 Data plane](#1-data-plane) · [2 Session scale](#2-session-scale) · "
      "[3 Failover and control plane](#3-failover-and-control-plane) · "
      "[4 Profile](#4-profile-where-the-time-goes) · "
      "[Proposed kernel changes](#proposed-kernel-changes) · "
      "[Reproducing](#reproducing)")
    w("")

    # ---------------------------------------------------------- summary
    w("## Summary")
    w("")
    w("jvpn divided by WireGuard, medians of this run. Goal: ≥ 1.0 for "
      "throughput and packet rate, ≤ 1.0 for latency.")
    w("")
    w("| Measurement | WireGuard | jvpn | jvpn / WG | Goal met |")
    w("|---|---:|---:|---:|:---:|")
    summary_rows = []
    for metric, label, unit, direction in DATAPLANE:
        if direction == 0:
            continue
        wv = med(values(res, "dataplane", metric, "wg"))
        jv = med(values(res, "dataplane", metric, "jvpn"))
        r = ratio(jv, wv)
        okk = "n/a" if r is None else ("yes" if (r >= 1.0 if direction > 0 else r <= 1.0) else "**no**")
        summary_rows.append((metric, r, direction))
        w("| %s | %s %s | %s %s | %s | %s |" % (label, fmt(wv, unit), unit, fmt(jv, unit), unit,
                                             "n/a" if r is None else "%.2f" % r, okk))
    fo = res["failover"]
    fj = res["failover_jvpnd"]
    foot = None
    for m, label, _ in FJ_CAUSES:
        jo = [v for _, v in fj[m + "_outage"]["jvpnd"]]
        if not jo:
            continue
        wo = [v for _, v in fj[m + "_wg_outage"]["jvpnd"]]
        tg = [v for _, v in fj[m + "_tcp_gap"]["jvpnd"]]
        met = med(jo) <= 300 and max(jo) <= 1000
        w("| failover, %s: outage median (max) | %s | %s ms (%s ms) | – | %s |" % (
            label, "%s ms (%s ms) ¹" % (fmt(med(wo)), fmt(max(wo))) if wo else "–",
            fmt(med(jo)), fmt(max(jo)), "yes" if met else "**no**"))
        wtg = [v for _, v in fj[m + "_wg_tcp_gap"]["jvpnd"]]
        if tg:
            w("| failover, %s: TCP gap median (max) | %s | %s (%s) | – | – |" % (
                label, "%s (%s) ¹" % (gap_ms(med(wtg)), gap_ms(max(wtg))) if wtg else "–",
                gap_ms(med(tg)), gap_ms(max(tg))))
        foot = True
    if foot:
        errs = tcp_errors_text(fj)
        w("")
        w("Failover: the same cuts hit both tunnels at once, 10 ms pings and paced "
          "TCP streams through each; jvpnd on both ends with the `[Policy]` of "
          "[section 3](#failover-with-jvpnds-validated-reattach). Goal: median ≤ 300 ms "
          "and max ≤ 1 s for the ping outage, no TCP reset. ¹ WireGuard cannot detect "
          "a cut: a script re-points its endpoint at the other link right after the "
          "cut command (no detection time); a NAT rebinding it follows by itself. "
          + errs)
    w("")
    if loads and med(loads) >= 1.5:
        w("**The host was busy during this run** (median load average %.1f on %s CPUs). "
          "Contention on the host's CPUs favours jvpn's synchronous data path over "
          "WireGuard's worker hand-offs: compare with the quiet runs under "
          "*Run-to-run variation* below." % (med(loads), henv.get("host_cpu", "?").split(" ")[0]))
        w("")
    if "ratios" in made:
        w("![jvpn / WireGuard ratios](%s/%s)" % (rel, made["ratios"]))
        w("")

    hist = history(resdir)
    if len(hist) > 1:
        w("**Run-to-run variation.** The same benchmark on this machine, newest first "
          "(full runs kept in `build/bench/`; this run in bold). The host is shared "
          "and the guest is emulated: when other work competes for the host's CPUs "
          "(load column: median 1-minute load average during the run, on %s host "
          "CPUs), WireGuard's queue-and-worker pipeline suffers more than jvpn's "
          "synchronous one, and the ratios move with it. Read a single run's ratios "
          "with that in mind." % henv.get("host_cpu", "?").split(" ")[0])
        w("")
        cols = [("tcp1", +1), ("tcp4", +1), ("udp64_pps", +1), ("udp1400_pps", +1),
                ("ping_idle_p50", -1), ("ping_load_p50", -1)]
        w("| run | host load | " + " | ".join(
            dict((m, l) for m, l, _, _ in DATAPLANE)[m] for m, _ in cols) + " |")
        w("|---|---:|" + "---:|" * len(cols))
        for name, load, r in hist[:6]:
            cells = []
            for m, _ in cols:
                v = ratio(med(values(r, "dataplane", m, "jvpn")), med(values(r, "dataplane", m, "wg")))
                cells.append("n/a" if v is None else "%.2f" % v)
            label = "**%s**" % name if os.path.abspath(os.path.join(os.path.dirname(resdir), name)) == os.path.abspath(resdir) else name
            w("| %s | %s | %s |" % (label, "%.1f" % load if load is not None else "?", " | ".join(cells)))
        w("")
        w("(jvpn / WireGuard; throughput ≥ 1 and latency ≤ 1 are jvpn better.)")
        w("")

    # ---------------------------------------------------------- machine
    w("## Machine and method")
    w("")
    w("| | |")
    w("|---|---|")
    w("| Host | %s, %s RAM, %s, kernel %s |" % (henv.get("host_cpu", "?"), henv.get("host_mem", "?"),
                                            henv.get("host_os", "?"), henv.get("host_kernel", "?")))
    w("| Emulator | %s, `-accel tcg -cpu max -smp 2` (see `tools/vm/jvpn-vm`) |" % henv.get("qemu", "?"))
    if loads:
        w("| Host load during the run | 1-min load average %.1f median, %.1f max, on %s CPUs "
          "(the host is shared; every candidate saw the same load, alternating) |"
          % (med(loads), max(loads), henv.get("host_cpu", "?").split(" ")[0]))
    w("| Guest kernel | %s |" % genv.get("kernel", "?"))
    w("| Guest | %s vCPUs, %s, CPU model as seen: %s |" % (genv.get("vcpus", "?"), genv.get("memory", "?"),
                                                        genv.get("cpu", "?")))
    w("| Tools | %s; WireGuard %s; %s |" % (genv.get("iperf3", "?"), genv.get("wireguard", "?"),
                                          genv.get("perf", "?")))
    w("| jvpn | git %s; jvpn.ko %s |" % (henv.get("git", "?"), henv.get("jvpn_ko", "?")))
    w("| MTU | %s |" % genv.get("mtu", "?"))
    w("| Parameters | %s |" % genv.get("params", "?"))
    w("| Guest time | %s s (%s) |" % (henv.get("guest_seconds", "?"),
                                    ", ".join("%s %s s" % (k, v) for k, v in durs.items())))
    if henv.get("cplane_status"):
        w("| Control plane | `build/bench/cplane` natively on the host, before the guest: "
          "%s s, status %s ([section 3](#control-plane-jvpnds-own-code-natively-on-the-host)) |"
          % (henv.get("cplane_seconds", "?"), henv["cplane_status"]))
    # Whatever was done to this run's results after it (kept in host-env.txt).
    for key, label in (("cplane_note", "Control plane, re-run"),
                       ("fj_reanalysed", "Failover, re-analysed")):
        if henv.get(key):
            w("| %s | %s |" % (label, henv[key]))
    w("")
    w("Topology (one boot; all candidates exist at the same time, so they "
      "alternate without any reconfiguration):")
    w("")
    w("```")
    w("  ns a                                          ns b")
    w("  u1 192.168.241.1  <-------- veth -------->  u1 192.168.241.2   candidate \"veth\"")
    w("  u2 192.168.242.1  <-------- veth -------->  u2 192.168.242.2   (second path)")
    w("  jvpn0 10.10.0.1 (UDP 51820 over u1)          jvpn0 10.10.0.2    candidate \"jvpn\" (tests/guest/topo.sh)")
    w("  wg0   10.20.0.1 (UDP 51830 over u1)          wg0   10.20.0.2    candidate \"wg\" (Debian's module)")
    w("```")
    w("")
    w("iperf3 clients run in `a`, one persistent `iperf3 -s` in `b`. Both tunnels "
      "keep their default MTU (1420); jvpn runs with its defaults "
      "(keepalive-ms 250, silent-ms 1000) except in the failover section.")
    w("")

    # ---------------------------------------------------------- data plane
    w("## 1 Data plane")
    w("")
    if not res["dataplane"]:
        w("Not measured in this run.")
        w("")
    else:
        reps = max((len(v) for m in res["dataplane"].values() for v in m.values()), default=0)
        w("%d repetitions of each measurement, candidates alternating within each "
          "repetition; median **bold**, (min–max). UDP uses `-b 0` (the sender "
          "sends as fast as it can); *received* is sent minus lost over the test "
          "time. The large UDP payload is 1392 bytes, the largest that is not "
          "fragmented in either tunnel at MTU 1420 (1420 − 28). ping: 10 ms "
          "interval; *under TCP load* = while a single iperf3 TCP stream runs "
          "through the same candidate." % reps)
        w("")
        w("| Measurement | veth | WireGuard | jvpn | jvpn / WG |")
        w("|---|---:|---:|---:|---:|")
        for metric, label, unit, direction in DATAPLANE:
            row = [cell(values(res, "dataplane", metric, c), unit) for c in CANDS]
            r = ratio(med(values(res, "dataplane", metric, "jvpn")),
                      med(values(res, "dataplane", metric, "wg")))
            rs = "n/a" if r is None else "%.2f" % r
            if direction == 0:
                rs = "(%s)" % rs if r is not None else "–"
            w("| %s (%s) | %s | %s |" % (label, unit, " | ".join(row), rs))
        w("")
        if "dataplane" in made:
            w("![data plane](%s/%s)" % (rel, made["dataplane"]))
            w("")

    # ---------------------------------------------------------- scale
    w("## 2 Session scale")
    w("")
    sc = res["scale"]
    ns = sorted({int(c) for c in sc["tcp1"]} | {int(c) for c in sc["install_rate"]})
    if not ns:
        w("Not measured in this run.")
        w("")
    else:
        w("Sessions are added to `a`'s jvpn0 on top of the live session of the "
          "data plane (so N counts it). Each added session is what a real one "
          "costs: **SESSION_NEW with one inner /32 from 10.128.0.0/9, KEY_NEW "
          "(primary slot, its own random keys), PATH_ADD (socket 1, remote "
          "b:51820)**, three netlink requests, sent by `tests/bench/nlbulk` "
          "(raw generic netlink, %s requests per `sendmsg`, every request "
          "acknowledged). The table is grown in steps (1 → 1,000 → 10,000 → "
          "100,000): the install rate is that of each step. The added sessions "
          "are idle; single-stream TCP runs on the live one. Memory is the "
          "change of `/proc/meminfo` since N = 1 divided by N − 1. "
          "`max-sessions` is raised first (`jvpnctl dev set jvpn0 max-sessions "
          "N`)." % "192")
        w("")
        base_tcp = med([v for _, v in sc["tcp1"]["1"]]) if sc["tcp1"]["1"] else None
        w("| Sessions N | TCP 1 stream (Mbit/s) | vs N = 1 | install rate (sessions/s) | "
          "MemAvailable / session | Slab / session | Percpu / session | "
          "`jvpnctl -j session show` | netlink dump only |")
        w("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for n in ns:
            c = str(n)
            tv = [v for _, v in sc["tcp1"][c]]
            t = med(tv)
            rr = "%.2f" % (t / base_tcp) if (t is not None and base_tcp) else "–"

            def one(metric, unit):
                v = med([x for _, x in sc[metric][c]])
                return "–" if v is None else "%s %s" % (fmt(v, unit), unit)
            w("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                "{:,}".format(n), cell(tv, "Mbit/s"), rr,
                one("install_rate", "sessions/s").replace(" sessions/s", ""),
                one("mem_MemAvailable_per_session", "B"),
                one("mem_Slab_per_session", "B"), one("mem_Percpu_per_session", "B"),
                one("dump_jvpnctl_json", "ms"), one("dump_raw", "ms")))
        w("")
        counts = {n: med([v for _, v in sc["n_sessions"][str(n)]]) for n in ns}
        bad = [n for n in ns if counts[n] is not None and int(counts[n]) != n]
        if bad:
            w("**The device reported a different session count than installed at N = %s.**"
              % ", ".join(str(b) for b in bad))
            w("")
        # slab growth
        nmax = max(ns)
        s1 = os.path.join(resdir, "raw", "scale-slab-1.txt")
        s2 = os.path.join(resdir, "raw", "scale-slab-%d.txt" % nmax)
        if nmax > 1 and os.path.exists(s1) and os.path.exists(s2):
            def rd(p):
                d = {}
                with open(p) as f:
                    for line in f:
                        q = line.split()
                        if len(q) == 3:
                            d[q[0]] = (int(q[1]), int(q[2]))
                return d
            a, b = rd(s1), rd(s2)
            grow = []
            for k, (by, ob) in b.items():
                by0, ob0 = a.get(k, (0, 0))
                if by - by0 > 0:
                    grow.append(((by - by0) / (nmax - 1), (ob - ob0) / (nmax - 1), k))
            grow.sort(reverse=True)
            if grow:
                w("Slab caches that grew from N = 1 to N = %s (`/proc/slabinfo`, active "
                  "objects × object size, per added session):" % "{:,}".format(nmax))
                w("")
                w("| cache | bytes / session | objects / session |")
                w("|---|---:|---:|")
                merged = []
                for by, ob, k in grow[:10]:
                    if by < 4:
                        break
                    w("| `%s` | %.0f | %.2f |" % (k, by, ob))
                    if not k.startswith(("jvpn_", "kmalloc")) and ob > 0.9:
                        merged.append("`%s` (%.0f-byte objects)" % (k, by / ob))
                w("")
                if merged:
                    w("%s: jvpn's own caches under another name. The kernel merges "
                      "slab caches of the same object size and flags (slab merging), "
                      "and `/proc/slabinfo` shows the first cache's name; jvpn's "
                      "120-byte objects are paths, its 72-byte ones one-address inner "
                      "sets." % ", ".join(merged))
                    w("")
                w("Memory outside the slab: pages allocated directly (the rhashtable "
                  "bucket arrays of the session-id and inner-address tables, which "
                  "double at 75% load) show only in MemAvailable; `Percpu` should "
                  "not grow (a path keeps one shared cached route, not a per-CPU "
                  "`dst_cache`). Goal: ≤ 1 KB per session.")
                w("")
        if "scale" in made:
            w("![session scale](%s/%s)" % (rel, made["scale"]))
            w("")

    # ---------------------------------------------------------- failover
    w("## 3 Failover and control plane")
    w("")
    w("### Failover with jvpnd's validated reattach")
    w("")
    L.extend(failover_jvpnd_md(res, resdir, genv))
    L.extend(cplane_md(resdir, henv))
    w("### For comparison: kernel detection + a scripted switch (no daemon)")
    w("")
    if not (fo["drop_outage"]["jvpn"] or fo["down_outage"]["jvpn"] or fo["wg_oracle_outage"]["wg"]):
        w("Not measured in this run.")
        w("")
    else:
        w("Both ends run `jvpnctl dev set jvpn0 silent-ms 200 keepalive-ms 50` and a "
          "stand-in controller, `tests/bench/fswitch`: the rule of `make demo`'s "
          "controller (`tests/demo/guest.sh`) in one resident process. It listens to "
          "the kernel's `events` multicast group and, on `PATH_SILENT` for a path, "
          "switches the session to the other IPv4 path with one versioned "
          "`PATH_ACTIVATE` (expected version = the last one it saw; on `ESTALE` it "
          "re-reads and retries once), then ignores further silence for 1 s so the "
          "peer can follow. The demo's bash version needs two or three program starts "
          "per switch, which cost 0.1–2 s each in this emulated guest depending on the "
          "host's load and made the measurement about process start-up (an earlier "
          "run with it flapped between paths); the resident one measures the kernel "
          "detection plus one netlink round trip: the floor under jvpnd's figures "
          "above, on the tunnel of sections 1 and 2 (`tests/guest/topo.sh`, static "
          "keys). **This is kernel detection + a scripted switch, not jvpnd's "
          "validated reattach**: no probe of the new path, no REATTACH exchange, "
          "each end switches on its own silence.")
        w("")
        w("A 10 ms ping runs from a to b through jvpn0 the whole time. **Outage** = "
          "the longest gap between two consecutive ping replies around the cut. "
          "*Detection* = the controller has read `PATH_SILENT`, *switch done* = the "
          "kernel has acknowledged `PATH_ACTIVATE`, both counted from the moment the "
          "first end was cut (the end of its cut command; jvpnd's table above "
          "counts from the first lost ping instead, which is up to ~0.1 s earlier).")
        w("")
        w("Two kinds of cut, %d of each, alternating the active path (u1, u2):" %
          len(fo["drop_outage"]["jvpn"]))
        w("")
        w("- **path drop**: `tc qdisc add dev uN root netem loss 100%` on both ends: the "
          "links and routes stay, every packet is lost (a failure somewhere on the "
          "path, the common case in practice).")
        w("- **link down**: `ip link set uN down` on both ends (as in `make demo`): the "
          "local routes to the peer disappear.")
        w("")
        w("| Cut | cuts | outage median | p95 | max | lost pings (median) | "
          "switched a / b | detection a, b (median) | switch done a, b (median) |")
        w("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for mode, label in (("drop", "path drop"), ("down", "link down")):
            o = [v for _, v in fo[mode + "_outage"]["jvpn"]]
            if not o:
                continue
            lost = [v for _, v in fo[mode + "_lost_pings"]["jvpn"]]
            sa = [v for _, v in fo[mode + "_switched_a"]["jvpn"]]
            sb = [v for _, v in fo[mode + "_switched_b"]["jvpn"]]
            da = [v for _, v in fo[mode + "_detect_a"]["jvpn"]]
            db = [v for _, v in fo[mode + "_detect_b"]["jvpn"]]
            wa = [v for _, v in fo[mode + "_switch_done_a"]["jvpn"]]
            wb = [v for _, v in fo[mode + "_switch_done_b"]["jvpn"]]
            w("| %s | %d | %s ms | %s ms | %s ms | %s | %d/%d, %d/%d | %s, %s ms | %s, %s ms |" % (
                label, len(o), fmt(med(o)), fmt(pctl(o, 95)), fmt(max(o)), fmt(med(lost), "pps"),
                int(sum(sa)), len(sa), int(sum(sb)), len(sb),
                fmt(med(da)), fmt(med(db)), fmt(med(wa)), fmt(med(wb))))
        wg0 = [v for _, v in fo["wg_noaction_outage"]["wg"]]
        hold = [v for _, v in fo["wg_noaction_hold"]["wg"]]
        wgo = [v for _, v in fo["wg_oracle_outage"]["wg"]]
        if wgo:
            wx = [v for _, v in fo["wg_oracle_wg_exec"]["wg"]]
            w("| WireGuard, link down, endpoint re-pointed by a script at once | %d | %s ms | %s ms | %s ms | %s | – | – (no signal) | %s ms (the `wg set` program) |" % (
                len(wgo), fmt(med(wgo)), fmt(pctl(wgo, 95)), fmt(max(wgo)),
                fmt(med([v for _, v in fo["wg_oracle_lost_pings"]["wg"]]), "pps"),
                fmt(med(wx))))
        if wg0:
            w("| WireGuard, link down, nothing done (link back after %s ms) | 1 | %s ms | – | – | – | – | – | – |" % (
                fmt(med(hold)), fmt(med(wg0))))
        w("")
        # link-down analysis
        down_a = [v for _, v in fo["down_switched_a"]["jvpn"]]
        down_b = [v for _, v in fo["down_switched_b"]["jvpn"]]
        txerr = None
        sj = os.path.join(resdir, "raw", "fo-session-a.json")
        if os.path.exists(sj):
            try:
                with open(sj) as f:
                    txerr = json.load(f).get("stats", {}).get("tx_errors")
            except (ValueError, OSError):
                pass
        idle = {m: med([v for _, v in fo["%s_idle_detected" % m]["jvpn"]]) for m in ("drop", "down")}
        if down_a:
            missed = len(down_a) - int(sum(down_a)) + len(down_b) - int(sum(down_b))
            if missed:
                w("**Link down: %d of %d end-cuts were not followed by a switch within "
                  "2 s** (the cut was then undone and traffic resumed on the old path; "
                  "the outage column includes those)." % (missed, len(down_a) + len(down_b)))
            else:
                w("**Link down is detected like a path drop** (%d of %d end-cuts)." % (
                    len(down_a) + len(down_b), len(down_a) + len(down_b)))
            w("With the local link down, the route lookup in `path_send()` fails, the "
              "packet counts as `TX_ERRORS`%s, and since commit b23cac4 such a failed send "
              "starts a silence episode like a sent one (`path_note_tx_attempt()` in "
              "`kmod/tx.c`); before it, an end detected a link-down only if an episode "
              "happened to be open already." % (
                  " (session a: %s after the run)" % txerr if txerr is not None else ""))
            if idle["down"] is not None:
                w("The **idle probe** checks exactly that case: an idle tunnel whose last "
                  "event was a received reply, the link cut, then three pings from a: "
                  "a's kernel reported the path silent after a path drop: %s; after a "
                  "link down: %s." % ("yes" if idle["drop"] else "**no**",
                                      "yes" if idle["down"] else "**no**"))
            w("")
        w("**WireGuard** has one endpoint per peer and no notion of a path going silent: "
          "when the link under its endpoint goes down it simply keeps sending into it "
          "(the *nothing done* row: traffic returns only with the link). Roaming needs "
          "a packet from the new address: once a script re-points one end "
          "(`wg set wg0 peer … endpoint 192.168.242.2:51830`), that end's next packet "
          "comes from its u2 address, the other end learns the new endpoint from it "
          "and answers there. In that row the script acts right after the cut: no "
          "detection time at all, only the start of the `wg` program (its median is "
          "in the last column) and one round trip. It is a lower bound for any "
          "WireGuard controller, which would first have to notice the failure from "
          "outside (WireGuard reports only the time of the last handshake, every "
          "2 minutes). jvpn's rows include ~200 ms of detection (silent-ms) and both "
          "ends switching on their own.")
        w("")
        if "failover" in made:
            w("![failover](%s/%s)" % (rel, made["failover"]))
            w("")

    # ---------------------------------------------------------- profile
    w("## 4 Profile: where the time goes")
    w("")
    profs = []
    pdir = os.path.join(resdir, "profile")
    for load in ("tcp1", "udp1400"):
        for cand in ("jvpn", "wg"):
            base = os.path.join(pdir, "%s-%s" % (cand, load))
            if os.path.exists(base + ".self.txt"):
                profs.append((load, cand, base))
    if not profs:
        w("Not measured in this run.")
        w("")
    else:
        w("`perf record -e cpu-clock -F 999 -a -g` for %s s in the guest while one "
          "iperf3 client runs through the tunnel (TCP single stream, or UDP 1392 B at "
          "`-b 0`); `perf report --no-children` (self time) and `--children` "
          "(inclusive). Per-CPU time from `/proc/stat` over the same interval. "
          "Shares are of all samples on both vCPUs (2 × wall time). Caveat: under TCG "
          "SIMD code (the AVX2 ChaCha20, Poly1305) is emulated at a much higher cost "
          "relative to scalar code than on hardware, so crypto's share is inflated; "
          "the *structure* (which CPU does what, what runs serially) is what carries "
          "over." % (genv.get("params", "").split("perf_secs=")[-1].split()[0]
                     if "perf_secs=" in genv.get("params", "") else "?"))
        w("")
        w("| Load | Tunnel | throughput under perf | CPU busy (usr/sys/soft) per vCPU | busy total |")
        w("|---|---|---:|---|---:|")
        facts = {}
        for load, cand, base in profs:
            cpus = parse_cpu(base + ".cpu.txt")
            metric = "%s_under_perf" % load
            tv = med(values(res, "profile", metric, cand))
            unit = "Mbit/s" if load == "tcp1" else "pps"
            busy = sum(100 - d.get("idle", 100) for _, d in cpus)
            cs = parse_cpu_sym(base + ".cpu-sym.txt")
            ciph = [sum(v for k, v in cs.get(c, {}).items() if CRYPTO.search(k)) for c in (0, 1)]
            facts[(load, cand)] = {"busy": busy, "tput": tv, "cpus": cpus, "cipher_cpu": ciph}
            w("| %s | %s | %s %s | %s | %.0f%% of 200%% |" % (
                "TCP 1 stream" if load == "tcp1" else "UDP 1392 B", CAND_NAME[cand], fmt(tv, unit), unit,
                "; ".join("%s %.0f/%.0f/%.0f" % (c, d.get("usr", 0), d.get("sys", 0), d.get("soft", 0))
                          for c, d in cpus), busy))
        w("")
        w("CPU cost per unit of work (busy vCPU-% ÷ throughput; lower is cheaper):")
        w("")
        w("| Load | WireGuard | jvpn | jvpn / WG |")
        w("|---|---:|---:|---:|")
        for load in ("tcp1", "udp1400"):
            if (load, "wg") in facts and (load, "jvpn") in facts:
                def cost(f, scale):
                    return f["busy"] / f["tput"] * scale if f["tput"] else None
                scale = 1 if load == "tcp1" else 1000
                cw, cj = cost(facts[(load, "wg")], scale), cost(facts[(load, "jvpn")], scale)
                unit = "%/(Mbit/s)" if load == "tcp1" else "%/(1000 pps)"
                w("| %s (%s) | %s | %s | %s |" % ("TCP 1 stream" if load == "tcp1" else "UDP 1392 B",
                                                   unit, fmt(cw), fmt(cj),
                                                   "%.2f" % (cj / cw) if cw and cj else "n/a"))
        w("")
        # categories
        cats_all = {}
        for load, cand, base in profs:
            rows, samples = parse_self(base + ".self.txt")
            cats_all[(load, cand)] = categorise(rows)
        order = ["idle", "ChaCha20-Poly1305", "copies and checksums", "memory (alloc, free, clear)",
                 "locks, IRQ restore", "jvpn module (own code)", "wireguard module (own code)",
                 "user space (iperf3, libc)", "rest of the kernel", "below the 0.3% cut-off"]
        w("Self time by category (percent of all samples):")
        w("")
        w("| Category | " + " | ".join("%s %s" % (CAND_NAME[c], "TCP" if l == "tcp1" else "UDP 1392")
                                       for l, c, _ in profs) + " |")
        w("|---|" + "---:|" * len(profs))
        for cat in order:
            w("| %s | %s |" % (cat, " | ".join("%.1f" % cats_all[(l, c)].get(cat, 0.0) for l, c, _ in profs)))
        w("")
        # key inclusive functions
        keys = ["handle_softirqs", "net_rx_action", "chacha20poly1305_crypt_sg_inplace",
                "jvpn_xmit", "jvpn_encrypt_skb", "skb_gso_segment", "__skb_gso_segment",
                "jvpn_udp_encap_recv", "jvpn_decrypt_skb", "gro_cell_poll",
                "wg_xmit", "wg_packet_encrypt_worker", "wg_packet_tx_worker", "wg_packet_decrypt_worker",
                "wg_packet_rx_poll", "wg_receive", "tcp_sendmsg", "tcp_recvmsg", "tcp_v4_rcv",
                "__dev_queue_xmit", "veth_xmit", "process_backlog", "run_ksoftirqd"]
        ch = {(l, c): parse_children(b + ".children.txt") for l, c, b in profs}
        w("Inclusive time (`--children`) of the functions that matter here (percent of "
          "all samples; – = below 1%):")
        w("")
        w("| Function | " + " | ".join("%s %s" % (CAND_NAME[c], "TCP" if l == "tcp1" else "UDP 1392")
                                       for l, c, _ in profs) + " |")
        w("|---|" + "---:|" * len(profs))
        for k in keys:
            vals = [ch[(l, c)].get("[k] " + k) or ch[(l, c)].get(k) for l, c, _ in profs]
            if not any(vals):
                continue
            w("| `%s` | %s |" % (k, " | ".join("%.1f" % v[0] if v else "–" for v in vals)))
        w("")
        # per CPU: idle and cipher
        w("Per vCPU (self time, percent of all samples; each vCPU is at most 50):")
        w("")
        w("| Profile | " + " | ".join("cpu%d idle | cpu%d cipher" % (c, c) for c in (0, 1)) + " |")
        w("|---|" + "---:|" * 4)
        for load, cand, base in profs:
            cs = parse_cpu_sym(base + ".cpu-sym.txt")
            cells = []
            for c in (0, 1):
                d = cs.get(c, {})
                idle = sum(v for k, v in d.items() if IDLE.search(k.replace("[k] ", "")))
                ciph = sum(v for k, v in d.items() if CRYPTO.search(k))
                cells += ["%.1f" % idle, "%.1f" % ciph]
            w("| %s %s | %s |" % (CAND_NAME[cand], "TCP" if load == "tcp1" else "UDP 1392",
                                 " | ".join(cells)))
        w("")
        # where the cipher runs
        ctx = {}
        locks = {}
        for load, cand, base in profs:
            d = defaultdict(float)
            for pct, frames in parse_folded(base + ".crypto.txt"):
                d[crypto_context(frames)] += pct
            ctx[(load, cand)] = d
            l = defaultdict(float)
            for pct, frames in parse_folded(base + ".lock.txt"):
                l[lock_waiter(frames)] += pct
            locks[(load, cand)] = l
        classes = sorted({k for d in ctx.values() for k in d}, key=lambda k: (k.startswith("other"), k))
        if classes:
            w("**Where the cipher runs**: the samples in `chacha_8block_xor_avx2` and "
              "`poly1305_blocks_avx2` (together most of the AEAD), split by the call "
              "chain that led there (`perf report -g folded`; percent of all samples):")
            w("")
            w("| Context | " + " | ".join("%s %s" % (CAND_NAME[c], "TCP" if l == "tcp1" else "UDP 1392")
                                          for l, c, _ in profs) + " |")
            w("|---|" + "---:|" * len(profs))
            for k in classes:
                w("| %s | %s |" % (k, " | ".join(
                    ("%.1f" % ctx[(l, c)][k]) if ctx[(l, c)].get(k) else "–" for l, c, _ in profs)))
            w("")
        waiters = sorted({k for d in locks.values() for k in d})
        if waiters:
            w("**Spinning on a lock** (`native_queued_spin_lock_slowpath`, percent of all "
              "samples, by the function that wanted the lock):")
            w("")
            w("| Waiter | " + " | ".join("%s %s" % (CAND_NAME[c], "TCP" if l == "tcp1" else "UDP 1392")
                                         for l, c, _ in profs) + " |")
            w("|---|" + "---:|" * len(profs))
            for k in sorted(waiters, key=lambda k: -max(d.get(k, 0) for d in locks.values())):
                if max(d.get(k, 0) for d in locks.values()) < 0.2:
                    continue
                w("| `%s` | %s |" % (k, " | ".join(
                    ("%.1f" % locks[(l, c)][k]) if locks[(l, c)].get(k) else "–" for l, c, _ in profs)))
            w("")
        w("Top self-time symbols:")
        w("")
        for load, cand, base in profs:
            rows, samples = parse_self(base + ".self.txt")
            w("<details><summary>%s, %s (%s samples)</summary>" % (
                CAND_NAME[cand], "TCP 1 stream" if load == "tcp1" else "UDP 1392 B", samples or "?"))
            w("")
            w("| self % | object | symbol |")
            w("|---:|---|---|")
            for pct, dso, kind, sym in rows[:20]:
                w("| %.2f | %s | `%s` |" % (pct, dso.replace("|", "/"), sym))
            w("")
            w("</details>")
            w("")
        selfpct = {}
        for load, cand, base in profs:
            rows, _ = parse_self(base + ".self.txt")
            selfpct[(load, cand)] = sum(p for p, _, _, sym in rows
                                        if sym == "native_queued_spin_lock_slowpath")
        w(analysis_text(res, facts, cats_all, ch, ctx, locks, selfpct))
        w("")

    w("## Proposed kernel changes")
    w("")
    w(proposals(res, resdir, profs_children=locals().get("ch", {})))
    w("")

    # ---------------------------------------------------------- reproduce
    w("## Reproducing")
    w("")
    w("```sh")
    w("make bench                       # deps, build, %s" % henv.get("command", "tests/bench/run.sh"))
    w("JVPN_BENCH_REPS=5 make bench     # knobs: see tests/bench/run.sh")
    w("tests/bench/run.sh dataplane     # one section only")
    w("tests/bench/smoke.sh             # every benchmark for ~1 s, TAP (the bench-smoke layer)")
    w("```")
    w("")
    w("Guest command: `%s`. Raw results (iperf3 JSON, ping logs, perf reports, "
      "`/proc` snapshots, controller logs) are kept in `build/bench/<date>/`." %
      henv.get("guest_command", "tools/vm/jvpn-vm -- tests/bench/guest.sh"))
    w("")
    if cmds:
        w("The exact commands (run in the guest; the first instance of each kind, "
          "the others differ only in the destination address):")
        w("")
        w("| what | command |")
        w("|---|---|")
        for k, v in cmds.items():
            w("| %s | `%s` |" % (k, v.replace("|", "\\|")))
        w("")
    if plot_errors:
        w("Plot errors: " + "; ".join(plot_errors))
        w("")
    text = "\n".join(L).rstrip() + "\n"
    with open(mdpath, "w") as f:
        f.write(text)
    return plot_errors


def ctx_sum(d, prefix):
    return sum(v for k, v in d.items() if k.startswith(prefix))


def analysis_text(res, facts, cats, ch, ctx, locks, selfpct):
    """The interpretation of section 4, from the numbers of this run."""
    L = []
    w = L.append
    counter = [0]

    def nxt():
        counter[0] += 1
        return counter[0]
    behind = []
    for metric, label, unit, direction in DATAPLANE:
        if direction <= 0:
            continue
        r = ratio(med(values(res, "dataplane", metric, "jvpn")),
                  med(values(res, "dataplane", metric, "wg")))
        if r is not None and r < 1.0:
            behind.append("%s (%.2f)" % (label, r))
    w("### Where jvpn is behind, and why")
    w("")
    if behind:
        w("In this run jvpn is behind WireGuard in: %s. It is ahead in the small-packet "
          "rate and in every latency figure (section 1)." % ", ".join(behind))
    else:
        w("In this run jvpn is not behind WireGuard in any throughput figure.")
    w("")
    pts = []
    for load, name in (("tcp1", "TCP"), ("udp1400", "UDP 1392 B")):
        fj, fw = facts.get((load, "jvpn")), facts.get((load, "wg"))
        if not fj or not fw or not fj["tput"] or not fw["tput"]:
            continue
        cost = (fj["busy"] / fj["tput"]) / (fw["busy"] / fw["tput"])
        ij, iw = cats[(load, "jvpn")].get("idle", 0), cats[(load, "wg")].get("idle", 0)
        pts.append((load, name, fj, fw, cost, ij, iw))
    for load, name, fj, fw, cost, ij, iw in pts:
        tr = fj["tput"] / fw["tput"]
        nums = ("under perf jvpn ran at %.2f× WireGuard's rate; CPU time per unit of "
                "throughput %.2f× WireGuard's; idle samples %.0f%% (jvpn) against %.0f%% "
                "(WireGuard); /proc/stat busy %.0f%% against %.0f%% of 200%%" % (
                    tr, cost, ij, iw, fj["busy"], fw["busy"]))
        cc = fj.get("cipher_cpu") or [0, 0]
        split = ""
        if sum(cc) > 0:
            split = (" jvpn's cipher time per vCPU: %.1f%% on cpu0, %.1f%% on cpu1 (WireGuard: "
                     "%.1f%%, %.1f%%)%s." % (cc[0], cc[1], (fw.get("cipher_cpu") or [0, 0])[0],
                                            (fw.get("cipher_cpu") or [0, 0])[1],
                                            ": all of it on one vCPU" if min(cc) < 0.2 * max(cc) else ""))
        if tr < 1 and ij > iw + 5:
            w("%d. **%s: behind while leaving CPU unused.** %s. jvpn cannot keep both "
              "vCPUs busy: %s%s" % (nxt(), name, nums[0].upper() + nums[1:],
                                    "it is not doing more work per byte, it is doing it "
                                    "serially." if cost <= 1.15 else
                                    "and it also spends more CPU per unit of work.", split))
        elif tr >= 1 and iw > ij + 5:
            w("%d. **%s: here WireGuard is the one leaving CPU unused.** %s. With the "
              "host busy (see the load in the machine table), WireGuard's hand-offs "
              "(`queue_work_on()` to its crypto workers, NAPI, the tx worker) wait for "
              "descheduled vCPUs, while jvpn's synchronous path just runs; jvpn pays for "
              "it in CPU per byte%s." % (nxt(), name, nums[0].upper() + nums[1:],
                                          " (%.2f×)" % cost if cost > 1 else ""))
        else:
            w("%d. **%s.** %s." % (nxt(), name, nums[0].upper() + nums[1:]))
        w("")
    for load, name in (("tcp1", "TCP"), ("udp1400", "UDP 1392 B")):
        cj, cw = ctx.get((load, "jvpn")), ctx.get((load, "wg"))
        if not cj or not cw:
            continue
        sysc = cj.get("jvpn TX: encrypt inline in the sending system call", 0) + \
            cj.get("jvpn RX: decrypt in softirq run at the end of a system call (local_bh_enable)", 0)
        tot = sum(cj.values())
        w("%d. **The cipher runs wherever the packet happens to be (%s).** jvpn encrypts "
          "in `ndo_start_xmit` and decrypts in the UDP `encap_rcv` softirq, synchronously: "
          "%.1f%% of all samples are cipher work done inside the sending application's "
          "own system call (the encryption, then - via `local_bh_enable()` at the end of "
          "`__dev_queue_xmit()` and the veth's backlog - the peer's decryption too), of "
          "%.1f%% cipher in total; the rest is in softirq or ksoftirqd. WireGuard's "
          "sender only queues: %.1f%% of the samples are in its encrypt workers and "
          "%.1f%% in its decrypt workers, kworkers that run on both vCPUs in parallel "
          "with the application and with each other." % (
              nxt(), name, sysc, tot, ctx_sum(cw, "WireGuard: encrypt"), ctx_sum(cw, "WireGuard: decrypt")))
        w("")
        break
    lj, lw = selfpct.get(("tcp1", "jvpn")), selfpct.get(("tcp1", "wg"))
    if lj is not None and lj >= 2.0:
        top = sorted(locks.get(("tcp1", "jvpn"), {}).items(), key=lambda kv: -kv[1])[:3]
        acked = ctx.get(("tcp1", "jvpn"), {}).get(
            "jvpn TX: encrypt in softirq, sending released by a received ACK (tcp_v4_rcv, socket spinlock held)")
        w("%d. **Crypto under the TCP socket lock.** With one TCP stream, %.1f%% of jvpn's "
          "samples spin in `native_queued_spin_lock_slowpath` (WireGuard: %.1f%%)%s. When "
          "an ACK arrives, `tcp_v4_rcv()` holds the socket's spinlock while it releases "
          "more segments (`tcp_ack()` → `tcp_write_xmit()`), and with jvpn that "
          "transmission includes the encryption%s; meanwhile the application's "
          "`tcp_sendmsg()` or the other direction's receive wait for the same lock. "
          "WireGuard holds the lock only long enough to queue." % (
              nxt(), lj, lw or 0.0,
              (": waiters " + ", ".join("`%s` %.1f%%" % kv for kv in top)) if top else "",
              " (%.1f%% of all samples are encryption reached that way in this run)" % acked
              if acked else ""))
        w("")
    elif lj is not None:
        w("%d. **Lock spinning** (`native_queued_spin_lock_slowpath`) was %.1f%% of jvpn's TCP "
          "samples in this run (WireGuard %.1f%%). Other runs showed up to ~9%% for jvpn, "
          "from the TCP socket spinlock held by `tcp_v4_rcv()` while ACK-released "
          "segments are encrypted inline; how much of it appears depends on where the "
          "scheduler puts sender, receiver and softirqs." % (nxt(), lj, lw or 0.0))
        w("")
    cw64 = med(values(res, "dataplane", "udp64_pps", "wg"))
    cj64 = med(values(res, "dataplane", "udp64_pps", "jvpn"))
    if cw64 and cj64:
        w("%d. **Small packets and latency are the other side of the same design.** For "
          "64-byte datagrams the cipher is cheap and WireGuard's per-packet hand-offs "
          "(`queue_work_on`, `__napi_schedule`, context switches: see its top symbols) "
          "dominate: jvpn receives %.2f× WireGuard's packet rate, and loses none, "
          "because the sender is slowed down by its own encryption instead of "
          "overrunning a queue. The same hand-offs put WireGuard's idle ping median at "
          "%s ms against jvpn's %s ms, and under a TCP stream its ping waits behind the "
          "bulk in the peer's queues (%s ms against %s ms)." % (
              nxt(), cj64 / cw64,
              fmt(med(values(res, "dataplane", "ping_idle_p50", "wg"))),
              fmt(med(values(res, "dataplane", "ping_idle_p50", "jvpn"))),
              fmt(med(values(res, "dataplane", "ping_load_p50", "wg"))),
              fmt(med(values(res, "dataplane", "ping_load_p50", "jvpn")))))
        w("")
    w("%d. **What this guest cannot show.** Sender and receiver share the same two "
      "vCPUs, so jvpn's synchronous pipeline still gets spread over both by the "
      "scheduler. Between two real hosts, all of one session's decryption runs on "
      "the one CPU that receives its outer UDP flow (one 5-tuple, one RSS queue, "
      "the softirq of that CPU), and its encryption in the sending thread; WireGuard "
      "spreads both over all CPUs. The per-session gap should therefore grow with "
      "the number of cores, while the latency advantage stays. Under TCG, SIMD "
      "crypto is relatively more expensive than on hardware, which magnifies the "
      "cost of doing it serially." % nxt())
    return "\n".join(L)


PROPOSALS = """Concrete changes for `kmod/` (the lead's), in order of expected effect on
the ratios above. None of them is implemented; the benchmark is there to
measure them.

1. **An ordered, parallel crypto pipeline with an inline fast path**
   (`kmod/tx.c`, `kmod/rx.c`, new `kmod/queue.c`). TX: in `jvpn_xmit()` take
   the counter as now (`atomic64_inc_return`, it fixes the nonce and the
   order), then put the skb on a per-session FIFO and on a per-CPU crypto
   ring (round robin over online CPUs, as WireGuard's
   `wg_queue_enqueue_per_device_and_peer()`); a worker encrypts in place and
   marks it done; whoever finds the head of the session FIFO done sends it
   (`path_send()`), so packets leave in counter order. RX: after the header
   and session lookup in `jvpn_udp_encap_recv()`, the same: per-CPU decrypt,
   then a per-session NAPI poll that takes finished packets in arrival order,
   does the replay check (still only after authentication), the inner check
   and `napi_gro_receive()`. To keep jvpn's latency (section 1, ping), keep
   the present inline path when the session's FIFO is empty and the packet is
   not part of a burst (e.g. no GSO super-packet and nothing queued), and fall
   back to the queue otherwise. Expected: the idle vCPU share in section 4
   goes to zero under bulk load; TCP and large-UDP ratios ≥ 1.
2. **No encryption under the caller's locks.** Even before (1), a transmit
   that arrives in softirq (`in_softirq()`, i.e. released by ACK processing
   under the TCP socket spinlock, section 4 point 3) can be deferred to a
   per-CPU worker or to the queue of (1) instead of being encrypted inline;
   the lock spinning in `tcp_sendmsg()`/`tcp_v4_rcv()` disappears.
3. **Take GSO super-packets.** Advertise `NETIF_F_SG | NETIF_F_HW_CSUM |
   NETIF_F_GSO_SOFTWARE` in `dev->features` and `hw_features`
   (`kmod/device.c`, `jvpn_setup()`), and in `jvpn_xmit()` segment with
   `skb_gso_segment(skb, 0)` as today but hand the whole segment list to
   the pipeline of (1) in one go: one session lookup, one counter
   reservation (`atomic64_add_return(nsegs)`), one stats update per
   super-packet instead of per segment. Today the stack segments in
   `validate_xmit_skb()` and calls `ndo_start_xmit` once per segment
   (`__skb_gso_segment` is %(gso)s of the jvpn TCP samples either way;
   the gain is the batching, not the segmentation).
4. **Per-CPU counters.** Every packet does 6-8 `atomic64` operations on
   cache lines shared by all CPUs (session `stats`, path `rx/tx_packets`
   and `_bytes`, key `tx_packets`/`rx_packets`, plus `tx_counter`). Once
   (1) spreads a session over CPUs they bounce; make the statistics per-CPU
   (`u64_stats_sync`, summed in the netlink fill functions) and keep only
   `tx_counter` shared. No measurable effect at 2 vCPUs today.
5. **Memory per session** (section 2): done in this build. %(sizes)sThe
   session, path, key and one-address inner-set objects come from
   exact-size slab caches (no kmalloc rounding: the session was a 1 KiB
   object, now 584 bytes), a session's paths are a list instead of
   `paths[8]`, the per-session counters are the 15 a session uses, and a
   path keeps one shared cached route (RCU) instead of a per-CPU
   `dst_cache` (Percpu per session: %(percpu)s). What is left above the
   slab is mostly the rhashtable bucket arrays of the session-id and
   inner-address tables (about 40 bytes per session at 100,000). Further:
   merge the silence and keepalive timers (15 sessions per slab instead of
   14), and read the key slots under a seqcount (the 16-byte slot pair
   goes). Per-CPU counters, item 4, would cost 15 × 8 bytes per possible
   CPU per session and work against this.
6. **Already fixed:** a send that fails for lack of a route (local link
   down) now starts a silence episode (`path_note_tx_attempt()` in
   `kmod/tx.c`, commit b23cac4); section 3 confirms it (link-down cuts and
   the idle probe are detected).

Outside the kernel: a full JSON dump with `jvpnctl -j session show` of
100,000 sessions takes about ten times as long as the netlink dump itself
(section 2): the time is in jvpnctl's formatting, not in the module."""


def history(resdir):
    """[(name, median host load, results)] of the full runs next to resdir,
    newest first."""
    parent = os.path.dirname(os.path.abspath(resdir))
    out = []
    for name in sorted(os.listdir(parent), reverse=True):
        d = os.path.join(parent, name)
        rt = os.path.join(d, "results.tsv")
        if not os.path.isfile(rt):
            continue
        if kv_file(os.path.join(d, "guest-env.txt")).get("smoke", "0") == "1":
            continue
        r = load_results(rt)
        if len(r["dataplane"]["tcp1"]["jvpn"]) < 3:
            continue
        out.append((name, med(host_loads(d)), r))
    return out


def struct_sizes(repo):
    """sizeof() of the per-session structures from jvpn.ko's debug info."""
    ko = os.path.join(repo, "jvpn.ko")
    if not (os.path.exists(ko) and shutil.which("gdb")):
        return {}
    names = ["jvpn_session", "jvpn_path", "jvpn_key", "jvpn_keyslots", "jvpn_inner_set",
             "jvpn_inner", "jvpn_replay", "jvpn_stats"]
    cmd = ["gdb", "-batch", "-nx"]
    for n in names:
        cmd += ["-ex", "print sizeof(struct %s)" % n]
    try:
        r = subprocess.run(cmd + [ko], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return {}
    vals = re.findall(r"^\$\d+ = (\d+)", r.stdout, re.M)
    return dict(zip(names, (int(v) for v in vals))) if len(vals) == len(names) else {}


def proposals(res, resdir, profs_children):
    repo = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    sz = struct_sizes(repo)
    sizes = ""
    if sz:
        sizes = ("Sizes in this build (gdb on jvpn.ko): " + ", ".join(
            "`%s` %d B" % (k, v) for k, v in sz.items()) + ". ")
    sc = res["scale"]
    ns = sorted({int(c) for c in sc["mem_Percpu_per_session"]})
    percpu = med([v for _, v in sc["mem_Percpu_per_session"][str(ns[-1])]]) if ns else None
    gso = "n/a"
    c = profs_children.get(("tcp1", "jvpn"), {}) if isinstance(profs_children, dict) else {}
    v = c.get("[k] __skb_gso_segment") or c.get("__skb_gso_segment")
    if v:
        gso = "%.1f%%" % v[0]
    return PROPOSALS % {"gso": gso, "sizes": sizes,
                        "percpu": "%s B" % fmt(percpu, "B") if percpu is not None else "n/a"}


# ------------------------------------------------------------ control plane

def cplane_md(resdir, henv):
    """Section 3's control plane: build/bench/cplane's JSON (cplane.json,
    written by run.sh on the host before the guest starts)."""
    L = []
    w = L.append
    w("### Control plane: jvpnd's own code, natively on the host")
    w("")
    path = os.path.join(resdir, "cplane.json")
    try:
        with open(path) as f:
            d = json.load(f)
    except (OSError, ValueError) as e:
        w("Not measured in this run (`cplane.json`: %s; `JVPN_BENCH_CPLANE=0`, or "
          "see `cplane.log` in the run's directory)." % (
              "missing" if isinstance(e, OSError) else "not JSON"))
        w("")
        return L
    inv = d.get("invariants", {})
    host = d.get("host", {})

    def g(o, *keys):
        for k in keys:
            o = o.get(k) if isinstance(o, dict) else None
        return o

    def n(v, unit=""):
        return "n/a" if v is None else "0" if v == 0 else fmt(v, unit)

    w("**Method.** `build/bench/cplane` (`tests/bench/cplane*.c`, built `-O2` like "
      "jvpnd by `tests/bench/build.mk`) links the daemon's own objects (session "
      "table, FSM, policy, rate limiters, audit log, ownership store, reattach "
      "server, Noise handshake and key schedule) and drives them in one process "
      "the way jvpnd does, without kernel, sockets or event loop. It runs on the "
      "host, not in the emulated guest, before the guest starts (%s s, status %s, "
      "load average after it %s), so these are real CPU costs, on one core of the "
      "host's %s (a monotonic clock read costs %s ns, a thread-CPU-time read %s ns; "
      "both are included in the figures that use them). **Protocol time "
      "is simulated**: every limiter, TTL and cooldown sees the offered load "
      "stated below whatever the machine's speed, and the forgeries come from a "
      "seeded generator, so *which* messages are accepted is reproducible; only "
      "CPU time is measured (`CLOCK_MONOTONIC` around the daemon's calls; the "
      "client side, building REQs and RESPs and checking CHALLENGEs, is never "
      "timed). The run checks its invariants (valid exchanges and handshakes "
      "succeed, forged ones never do, audit output stays bounded and never "
      "blocks, counters add up) and fails on any: %s checked, %s violated. No "
      "timing thresholds. One run; absolute figures move with the host's load "
      "like everything else here. On its own: `make build/bench/cplane && "
      "build/bench/cplane > cplane.json` (`--smoke`: about a second, tiny N; "
      "`--sessions N,N,...`); as a test: `tests/bench/cplane-smoke.sh`." % (
          henv.get("cplane_seconds", "?"), henv.get("cplane_status", "?"),
          henv.get("cplane_load_after", "?").split(" ")[0], host.get("cpu", "?"),
          n(host.get("clock_ns")), n(host.get("cpu_clock_ns")), inv.get("checked", "?"),
          inv.get("failed", "?")))
    w("")
    if d.get("smoke"):
        w("**This is a smoke run (`--smoke`: tiny N, short storms): the figures only "
          "show that every measurement runs.**")
        w("")
    if inv.get("failed"):
        w("**Violated invariants:**")
        w("")
        for msg in inv.get("failures", []):
            w("- **%s**" % msg)
        w("")
    L.extend(cplane_scale_md(d, g, n))
    L.extend(cplane_reattach_md(d, g, n))
    L.extend(cplane_storm_md(d, g, n))
    L.extend(cplane_audit_md(d, g, n))
    L.extend(cplane_hs_md(d, g, n))
    return L


def cplane_scale_md(d, g, n):
    L = []
    w = L.append
    sc = d.get("scale", [])
    sz = d.get("sizes", {})
    w("#### Sessions: install rate and memory")
    w("")
    if not sc:
        w("Not measured in this run.")
        w("")
        return L
    w("Each step starts a fresh daemon state sized for `MaxSessions` = N (session "
      "table, ownership store, pending-validation table, audit timeline: jvpnd "
      "allocates them at start) and establishes N responder sessions the way "
      "`sess_create()` + `sess_establish()` + `roam_session_up()` do: table slot, "
      "FSM INIT → HANDSHAKING → ATTACHED with its three audit records, path, "
      "policy counters, ownership record (store CAS), reattach state. **Not "
      "included**: the kernel calls (SESSION_NEW, KEY_NEW, PATH_ADD: section 2), "
      "the handshake itself (below), and the state-file rewrites (folded, see "
      "below), shown separately because one grows with N. "
      "*Tables* = RSS after allocating the tables, before any session; *installed* "
      "= RSS added by the N sessions; both ÷ N. The `[Peer]` side (config entry, "
      "`struct peer`, handshake peer table: one peer per session) is measured "
      "before the tables.")
    w("")
    w("| Sessions N | installs per CPU-second | CPU µs / install | (wall-clock rate) | "
      "RSS / session: tables + installed = total | RSS / peer | state-file rewrite: "
      "wall / CPU (size) |")
    w("|---:|---:|---:|---:|---:|---:|---:|")
    for s in sc:
        w("| %s | **%s** | %s | (%s/s) | %s + %s = **%s B** | %s B | %s / %s ms (%s MB) |" % (
            "{:,}".format(s.get("n", 0)), n(s.get("install_per_cpu_s"), "pps"),
            n((s.get("cpu_ns_per_install") or 0) / 1e3), n(s.get("install_per_s"), "pps"),
            n(s.get("rss_tables_per_session"), "B"),
            n(s.get("rss_install_per_session"), "B"), n(s.get("rss_per_session"), "B"),
            n(s.get("rss_peers_per_peer"), "B"), n(s.get("state_save_ms")),
            n(s.get("state_save_cpu_ms")), n((s.get("state_file_bytes") or 0) / 1e6)))
    w("")
    if sz:
        w("Sizes in this build: `struct session` %s B (of which `struct ra_session` %s B), "
          "audit timeline ring %s B per session with a timeline (jvpnd keeps one for up "
          "to `MaxSessions` sessions), ownership-store slot %s B (table at most half "
          "full), pending-validation entry %s B; per peer: `struct cfg_peer` %s B, "
          "`struct peer` %s B, `struct hs_peer` %s B." % (
              sz.get("session"), sz.get("ra_session"), sz.get("audit_tl_ring"),
              sz.get("store_mem_slot"), sz.get("ra_pending"), sz.get("cfg_peer"),
              sz.get("peer"), sz.get("hs_peer")))
        w("")
    big = sc[-1]
    st, stc = big.get("state_save_ms"), big.get("state_save_cpu_ms")
    ins = big.get("cpu_ns_per_install") or big.get("ns_per_install")
    if st and stc and ins:
        gap = min(max(10 * st, 100.0), 10000.0)
        w("**The state file at scale.** jvpnd keeps every session in one state file "
          "(`jvpnd_save_state()`: every session, `fsync`, rename, `fsync` of the "
          "directory), which must change after every established session, committed "
          "reattach and rekey. With %s sessions one rewrite took %s ms of wall clock "
          "here (in `%s`, file system %s: the `fsync`s wait for it) and %s ms of CPU "
          "(formatting and copying: all it costs on a tmpfs, which jvpnd's default "
          "`/run/jvpn` is on most systems), against %s µs of CPU for everything else "
          "an install does. Rewriting it per commit would bound a burst of commits "
          "(a reattach storm) near %s per second. So jvpnd folds the changes: the "
          "first after a quiet spell is written at once, later ones within 10× the "
          "last rewrite's time (at least 100 ms, at most 10 s; here %s ms) go into "
          "one rewrite at its end, so the file costs at most a tenth of the event "
          "loop's time whatever the table's size (`state_saves`, "
          "`state_saves_deferred` in `jvpnctl status`). The price: a crash can lose "
          "up to that long of changes to the file; the sessions are then adopted "
          "from the kernel as it holds them." % (
              "{:,}".format(big.get("n", 0)), n(st), d.get("state_dir", "?"),
              d.get("state_fs", "?"), n(stc), n(ins / 1e3), n(1000.0 / st, "pps"), n(gap)))
        w("")
    added = [x for x in sc if x.get("hs_peers") and x.get("hs_peers_add_ms")]
    if len(added) >= 2:
        a, b = added[0], added[-1]
        w("Filling the handshake's peer table (`hs_responder_add_peer()`, one peer "
          "after the other as the configuration is read) took %s ms for %s peers "
          "and %s ms for %s: %.1f× the time for %.0f× the peers (it keeps a hint "
          "to the lowest free entry; it used to scan from the start for each "
          "peer, O(N²) for the table)." % (
              n(a.get("hs_peers_add_ms")), "{:,}".format(a.get("n", 0)),
              n(b.get("hs_peers_add_ms")), "{:,}".format(b.get("n", 0)),
              b["hs_peers_add_ms"] / a["hs_peers_add_ms"], b.get("n", 0) / a.get("n", 1)))
        w("")
    mp = sz.get("config_max_peers")
    if mp and big.get("n", 0) > mp:
        w("**jvpnd cannot hold that many sessions today**: a session belongs to a "
          "configured peer (one session per peer) and the configuration parser "
          "accepts at most %s `[Peer]` sections (`CFG_MAX_PEERS`). The rows above N = "
          "%s measure the daemon's structures at that size, not a configuration "
          "jvpnd accepts." % ("{:,}".format(mp), "{:,}".format(mp)))
        w("")
    return L


def cplane_reattach_md(d, g, n):
    L = []
    w = L.append
    r = d.get("reattach")
    w("#### Reattach validation")
    w("")
    if not r:
        w("Not measured in this run.")
        w("")
        return L
    w("On the server holding the largest N (%s sessions), through "
      "`ra_server_handle()` as `roam.c` calls it. A *valid exchange* is a "
      "REATTACH_REQ on a new path (fresh counter, current epoch, valid MAC under the "
      "session's reattach key) → CHALLENGE (checked by the client side) → "
      "REATTACH_RESP → commit, with a commit callback that only records (the "
      "kernel's `PATH_ADD`/`PATH_ACTIVATE` are not ours here). %s passes over all "
      "sessions in random order, %s messages per batch timed together. "
      "`GlobalReattachRate` and `GlobalReattachBurst` are raised to %s (their "
      "maximum) so that the server's cost is measured, not the limiter; the "
      "per-session limiter keeps its default (%s/s, burst %s) and sees one REQ per "
      "session per pass (passes 61 s of simulated time apart, past "
      "`SwitchCooldownMs` and the `MaxSwitchesPerMinute` window). Refusals: a REQ "
      "naming no session (random id), a REQ for a real session with a random MAC "
      "(what an on-path forger can send), and a genuine REQ replayed (its counter "
      "already used)." % (
          "{:,}".format(r.get("sessions", 0)), r.get("passes"), r.get("batch"),
          "{:,}".format(r.get("global_reattach_rate", 0)), r.get("reattach_rate"),
          r.get("reattach_burst")))
    w("")
    w("| Message | per second, one core | ns each | wall clock: mean (median of the batches) |")
    w("|---|---:|---:|---:|")
    w("| valid exchange: REQ → CHALLENGE → RESP → commit (%s) | **%s** | %s CPU (REQ %s + RESP %s) | %s (%s) |" % (
        "{:,}".format(r.get("exchanges", 0)), n(r.get("exchanges_per_cpu_s"), "pps"),
        n(r.get("exchange_cpu_ns"), "B"), n(r.get("req_cpu_ns"), "B"),
        n(r.get("resp_cpu_ns"), "B"), n(r.get("exchange_ns"), "B"),
        n(r.get("exchange_ns_batch_p50"), "B")))
    names = {"unknown_session": "refused: unknown session id",
             "bad_mac": "refused: known session, bad MAC",
             "replay": "refused: replayed REQ (valid MAC, old counter)"}
    for x in r.get("refusals", []):
        p50 = x.get("ns_batch_p50")
        w("| %s (%s) | **%s** | %s | %s (%s) |" % (
            names.get(x.get("kind"), x.get("kind")), "{:,}".format(x.get("n", 0)),
            n(1e9 / p50 if p50 else None, "pps"), n(p50, "B"), n(x.get("ns"), "B"), n(p50, "B")))
    w("")
    w("A valid exchange is timed in CPU time of the thread per batch (a system call "
      "per batch, negligible there); the refusals, a few hundred nanoseconds each, "
      "in wall-clock time per batch of %s, and their figure is the median batch, "
      "which a preempted batch does not move." % r.get("batch"))
    w("")
    w("A REQ writes one audit record (STATE_CHANGE to RECOVERING) and a RESP two "
      "(STATE_CHANGE back to ATTACHED, the `TransportSwitch` event) and records "
      "each in the session's timeline: about 40% of a valid exchange by the "
      "profile (`audit_emit()`, an append-only JSON writer, and the timeline's "
      "record; see the audit sink below for the cost per record). The rest: four "
      "keyed BLAKE2b MACs (libsodium), the session and ownership-store lookups "
      "(cache misses at 100,000 sessions) and the FSM. Refusals are "
      "audited too, but through the server's own bucket (20 SECURITY_EVENTs/s, "
      "burst 40), so under a flood almost all of them are only counted.")
    w("")
    return L


def cplane_storm_md(d, g, n):
    L = []
    w = L.append
    storms = d.get("storm", [])
    w("#### Reattach storm")
    w("")
    if not storms:
        w("Not measured in this run.")
        w("")
        return L
    s0 = storms[0]
    w("Legitimate reattaches arrive at %s/s for %s s (simulated), each on a "
      "different session of the %s, while forged REATTACH_REQs arrive %s× as often "
      "(%s/s), in random order within each millisecond, with **jvpnd's default "
      "limits** (`GlobalReattachRate` 1000/s burst 2000, `ReattachRate` 2/s burst 4; "
      "SECURITY_EVENTs 20/s burst 40). Forgeries: *unknown ids* (random session ids: "
      "an off-path attacker), *known ids, bad MAC* (real session ids, their current "
      "counter and epoch, a random MAC: an on-path observer), *mixed* (half each). "
      "A legitimate client whose REQ is refused gets no answer and tries again "
      "%s ms later, until `MaxRecoveryWindowMs` (%s ms) after its first REQ; the "
      "flood goes on until every client has finished. *Recovery* = simulated time "
      "from the first REQ to the commit (retries only: no network delay); *server "
      "time* = wall-clock time in `ra_server_handle()`, per call: for the REQ and the "
      "RESP of a successful legitimate attempt, for each forged REQ (the p99 includes "
      "the shared host's preemption; the p50 is the cost)." % (
          s0.get("legit_per_s"), n((s0.get("arrival_window_ms") or 0) / 1e3),
          "{:,}".format(g(d, "reattach", "sessions") or 0), s0.get("ratio"),
          "{:,}".format(s0.get("forged_per_s", 0)), s0.get("retry_ms"),
          s0.get("recovery_window_ms")))
    w("")
    w("| Forged REQs | legitimate completed | on the first try | gave up | recovery p50 / p99 | "
      "server time, legitimate p50 / p99 | server time, forged p50 / p99 | refused: global limit / "
      "per-session limit / MAC / unknown | SECURITY_EVENTs (bound) | suppressed |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    label = {"unknown_ids": "unknown ids", "mixed": "mixed",
             "known_ids_bad_mac": "known ids, bad MAC"}
    for s in storms:
        rf = s.get("server_refused", {})
        a = s.get("audit", {})
        w("| %s (%s) | %s/%s (**%s%%**) | %s%% | %s | %s / %s ms | %s / %s µs | %s / %s ns "
          "| %s / %s / %s / %s | %s (%s) | %s |" % (
              label.get(s.get("kind"), s.get("kind")), "{:,}".format(s.get("forged", 0)),
              s.get("completed"), s.get("legit"), n(100 * (s.get("completion") or 0)),
              n(100 * (s.get("first_attempt_rate") or 0)), s.get("gave_up"),
              n(s.get("recovery_ms_p50")), n(s.get("recovery_ms_p99")),
              n((s.get("legit_ns_p50") or 0) / 1e3), n((s.get("legit_ns_p99") or 0) / 1e3),
              n(s.get("forged_ns_p50"), "B"), n(s.get("forged_ns_p99"), "B"),
              "{:,}".format(rf.get("rate_global", 0)), "{:,}".format(rf.get("rate_session", 0)),
              "{:,}".format(rf.get("mac", 0)), "{:,}".format(rf.get("unknown_session", 0)),
              a.get("security_events"), a.get("security_events_bound"),
              "{:,}".format(a.get("suppressed", 0))))
    w("")
    by = {s.get("kind"): s for s in storms}
    u, k = by.get("unknown_ids"), by.get("known_ids_bad_mac")
    bad = [x for x in g(d, "reattach", "refusals") or [] if x.get("kind") == "bad_mac"]
    if u and k and (k.get("completion") or 0) < (u.get("completion") or 0):
        w("**Forgeries that name real sessions spend the legitimate clients' budget.** "
          "Unknown ids are refused at the session lookup and touch no limiter (%s%% of "
          "the legitimate reattaches completed, %s%% at the first try). A forged REQ "
          "naming a real session is charged to that session's bucket and to the "
          "global one *before* its MAC is checked (`admit_rate()` before "
          "`req_authentic()` in `ra_server_handle_req()`), so the flood empties "
          "them: %s%% completed within the recovery window, %s%% at the first try; "
          "the refusals of legitimate REQs were %s. docs/threat-model.md names the "
          "per-session half of this (\"can spend that session's reattach budget\") "
          "but says the global budget is not affected by one session's flood; spread "
          "over many sessions it is. Checking the MAC first would cost one BLAKE2b "
          "per forged REQ: the bad-MAC refusal above, %s ns (%s/s on one core; %s of "
          "one core at this storm's %s forged REQs/s)." % (
              n(100 * (u.get("completion") or 0)),
              n(100 * (u.get("first_attempt_rate") or 0)),
              n(100 * (k.get("completion") or 0)),
              n(100 * (k.get("first_attempt_rate") or 0)),
              ", ".join("%s %s" % (c, v) for c, v in (k.get("legit_refused") or {}).items())
              or "none",
              n(bad[0].get("ns_batch_p50"), "B") if bad else "n/a",
              n(1e9 / bad[0]["ns_batch_p50"], "pps") if bad and bad[0].get("ns_batch_p50")
              else "n/a",
              "%.1f%%" % (100 * bad[0]["ns_batch_p50"] * k.get("forged_per_s", 0) / 1e9)
              if bad and bad[0].get("ns_batch_p50") else "n/a",
              "{:,}".format(k.get("forged_per_s", 0))))
        w("")
    w("SECURITY_EVENT output stays bounded in every storm: at most the audit bucket's "
      "burst plus its rate over the storm (*bound*), every other refusal counted in "
      "`audit_suppressed` (checked: audited + suppressed = refusals).")
    w("")
    return L


def cplane_audit_md(d, g, n):
    L = []
    w = L.append
    a = d.get("audit_sink", {})
    sinks = a.get("sinks", [])
    w("#### Audit log with a slow sink")
    w("")
    if not sinks:
        w("Not measured in this run.")
        w("")
        return L
    w("The audit log (`daemon/audit.c`) with jvpnd's ring (%s KiB) writing to a "
      "non-blocking pipe: *fast* = a reader thread reading as fast as it can, *slow* "
      "= 4 KiB every 10 ms (~400 KB/s), *stalled* = a reader that never reads. %s "
      "reattach-refusal SECURITY_EVENTs (the record a flood produces), "
      "`audit_flush()` after every %s (one loop iteration's messages); the emits and "
      "the flush are timed together. The caller must never block: the slowest "
      "interval is the longest the event loop was held by one loop's worth of "
      "audit work." % (
          (a.get("ring_bytes") or 0) // 1024, "{:,}".format(sinks[0].get("events", 0)),
          a.get("flush_every")))
    w("")
    w("| Sink | CPU ns per event | wall ns per event | slowest interval (µs) | p99 "
      "interval (µs) | writer slept / preempted | emitted | dropped | bytes written |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for s in sinks:
        w("| %s | **%s** | %s | %s | %s | %s / %s | %s | %s | %s |" % (
            s.get("sink"), n(s.get("cpu_ns_per_event"), "B"), n(s.get("ns_per_event"), "B"),
            n(s.get("chunk_us_max")), n(s.get("chunk_us_p99")),
            s.get("voluntary_switches"), s.get("involuntary_switches"),
            "{:,}".format(s.get("emitted", 0)),
            "{:,}".format(s.get("dropped", 0)), "{:,}".format(s.get("bytes_written", 0))))
    w("")
    w("*Writer slept* counts the writing thread's voluntary context switches during "
      "the stream (`getrusage(RUSAGE_THREAD)`): a blocking write would show there "
      "(0 is checked for the stalled sink). *Preempted* (involuntary) switches, and "
      "the wall-clock intervals, are the shared host taking the CPU away, not "
      "the audit log waiting.")
    w("")
    by = {s.get("sink"): s.get("cpu_ns_per_event") for s in sinks}
    cmp = ""
    if by.get("fast") and by.get("stalled"):
        r = by["stalled"] / by["fast"]
        cmp = (" Per event, the stalled sink cost %.2f× the fast one%s." % (
            r, ": a dropped record is still formatted in full (before the ring is "
            "looked at); what it saves is the `write()` calls" if r <= 1.2 else ""))
    w("Records that do not fit the ring are dropped and counted (the next one "
      "admitted carries `lost`), sequence numbers stay gapless and every byte "
      "written reaches the reader (both checked)." + cmp)
    w("")
    return L


def cplane_hs_md(d, g, n):
    L = []
    w = L.append
    h = d.get("handshake", {})
    w("#### Handshakes")
    w("")
    if not h.get("normal"):
        w("Not measured in this run.")
        w("")
        return L
    w("Full Noise_IKpsk2 handshakes, initiator and responder in one process, "
      "through `daemon/handshake.c` with the admission `proto.c` puts in front of "
      "it (per-source limiter, then the global `HandshakeRate` bucket that decides "
      "*under load*, i.e. whether mac2 is demanded), %s initiators taking turns. "
      "*Normal*: jvpnd's defaults (`HandshakeRate` %s/s) with %s INITs/s offered "
      "(simulated): mac1 only. *Under load*: `HandshakeRate` and its burst at 1, so "
      "nearly every INIT is under load (%s of %s here); each initiator's first INIT gets a COOKIE, it "
      "retries with mac2 and keeps the cookie. Times are the thread's CPU time. "
      "*Responder* = the server's CPU per "
      "handshake (limiter, MACs, Noise read and write, key schedule; not the session "
      "set-up or the kernel programming that follow); *initiator* = the client's "
      "(`hs_initiator_begin()` + `hs_initiator_consume_resp()`); the two sides' "
      "keys are compared. A rekey is a handshake within the session: the same cost, "
      "plus the kernel's KEY_NEW." % (
          h.get("peers"), g(h, "normal", "handshake_rate"),
          n(g(h, "normal", "offered_per_s_simulated")),
          g(h, "under_load", "under_load_inits"),
          (g(h, "under_load", "handshakes") or 0) + (g(h, "under_load", "cookies") or 0)))
    w("")
    w("| Mode | handshakes | responder µs: mean / p50 / p99 | responder handshakes/s "
      "(one core) | initiator µs | both sides µs | full handshakes/s | cookies |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|")
    for mode, label in (("normal", "normal"), ("under_load", "under load (mac2)")):
        m = h.get(mode)
        if not m:
            continue
        w("| %s | %s | %s / %s / %s | **%s** | %s | %s | %s | %s |" % (
            label, m.get("handshakes"), n(m.get("responder_us_mean")),
            n(m.get("responder_us_p50")), n(m.get("responder_us_p99")),
            n(m.get("responder_per_s"), "pps"), n(m.get("initiator_us_mean")),
            n(m.get("total_us_mean")), n(m.get("full_per_s"), "pps"), m.get("cookies")))
    w("")
    dh, dhi = h.get("dh_us_responder"), h.get("dh_us_initiator")
    nm = h.get("normal") or {}
    if dh and dhi and nm.get("responder_us_mean") and nm.get("initiator_us_mean"):
        w("**Against the raw X25519 cost.** Each side of Noise_IKpsk2 needs one "
          "`crypto_scalarmult_base` (its ephemeral key) and the four DH es, ss, ee, "
          "se. The static-static one (ss) is the same for every handshake between "
          "the same two keys, so the responder computes it once per configured peer "
          "(`hs_responder_add_peer()`, as WireGuard does) and does three "
          "`crypto_scalarmult` per handshake, the initiator four. Here one costs %s "
          "µs and the base one %s µs (libsodium as `daemon/noise.c` uses it; thread "
          "CPU time, median of batches of 64): %s µs of DH for the responder, %s µs "
          "for the initiator. The responder's %s µs per handshake is **%.2f×** its "
          "DH, the initiator's %s µs **%.2f×**; everything else (limiter, MACs, "
          "hashing, AEAD, key schedule) is the responder's remaining %s µs." % (
              n(h.get("x25519_scalarmult_us")), n(h.get("x25519_base_us")), n(dh), n(dhi),
              n(nm["responder_us_mean"]), nm["responder_us_mean"] / dh,
              n(nm["initiator_us_mean"]), nm["initiator_us_mean"] / dhi,
              n(max(nm["responder_us_mean"] - dh, 0.0))))
        w("")
    w("Cheap refusals, before any Diffie-Hellman (wall clock, the median of batches "
      "of one INIT handled 500 times): a COOKIE reply to an INIT without mac2 under "
      "load %s ns, an INIT with a bad mac1 %s ns." % (
          n(h.get("cookie_reply_ns"), "B"), n(h.get("mac1_refusal_ns"), "B")))
    w("")
    return L


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("--md", default="docs/benchmarks.md")
    ap.add_argument("--plots", default="docs/bench")
    a = ap.parse_args()
    if not os.path.exists(os.path.join(a.results, "results.tsv")):
        sys.exit("report: %s/results.tsv missing" % a.results)
    os.makedirs(os.path.dirname(os.path.abspath(a.md)), exist_ok=True)
    errors = build(a.results, a.md, a.plots)
    for e in errors:
        print("report: plot: " + e, file=sys.stderr)
    print("report: wrote %s" % a.md)


if __name__ == "__main__":
    main()
