#!/usr/bin/env python3
"""Raw generic netlink requests to the jvpn family, for misuse tests.

jvpnctl always sends well-formed requests; this tool sends exactly the
attributes it is given, so tests can check that the kernel refuses missing,
oversized and out-of-range attributes with an extack message.

    nlraw.py CMD [ATTR=VALUE ...]
    nlraw.py --batch < requests     (one JSON array [CMD, ATTR=VALUE...] a line)

CMD and ATTR are names from include/uapi/linux/jvpn.h without their prefix
(e.g. SESSION_NEW, IFINDEX).  VALUE is TYPE:DATA with TYPE one of u8, u16,
u32, u64, s32, hex, str, fd (fd:tcp, fd:udp, fd:udp-bound, fd:file: a fresh
object of that kind, its descriptor as s32), nest (nest:A=t:v;B=t:v in the
inner-address attribute space) or inner (inner:FAMILY/HEXIP/PLEN|... a full
JVPN_A_INNER list).  Prints one JSON object:
{"errno": N, "extack": "...", "attrs": {...}}; exit status 0.

The enum values are parsed from the uapi header, never duplicated here.
"""
import json
import os
import re
import socket
import struct
import sys

NETLINK_GENERIC = 16
GENL_ID_CTRL = 0x10
CTRL_CMD_GETFAMILY = 3
CTRL_ATTR_FAMILY_ID = 1
CTRL_ATTR_FAMILY_NAME = 2
NLM_F_REQUEST = 1
NLM_F_ACK = 4
NLMSG_ERROR = 2
NLMSGERR_ATTR_MSG = 1
NETLINK_EXT_ACK = 11
NLA_F_NESTED = 0x8000
KEEP = []  # objects whose fds are passed in attributes stay open


def uapi_enums(path):
    """Returns {NAME: value} for every enumerator in the header."""
    text = re.sub(r"/\*.*?\*/", "", open(path).read(), flags=re.S)
    values = {}
    for body in re.findall(r"enum\s+\w+\s*{(.*?)};", text, re.S):
        nxt = 0
        for line in body.split(","):
            line = re.sub(r"/\*.*?\*/", "", line, flags=re.S).strip()
            if not line:
                continue
            m = re.match(r"(\w+)\s*(?:=\s*(.+))?$", line)
            if not m:
                continue
            name, expr = m.group(1), m.group(2)
            if expr is not None:
                expr = expr.strip()
                expr = re.sub(r"[A-Za-z_]\w*",
                              lambda m: str(values[m.group(0)]), expr)
                if not re.fullmatch(r"[0-9a-fA-FxX +\-()]+", expr):
                    continue
                nxt = eval(expr)  # digits and + - only, checked above
            values[name] = nxt
            nxt += 1
    return values


def nla(atype, payload):
    hdr = struct.pack("HH", 4 + len(payload), atype)
    pad = (4 - len(payload) % 4) % 4
    return hdr + payload + b"\0" * pad


def encode(enums, spec, prefix="JVPN_A_"):
    name, _, value = spec.partition("=")
    typ, _, data = value.partition(":")
    atype = enums[prefix + name] if not name.isdigit() else int(name)
    if typ in ("u8", "u16", "u32", "u64", "s32"):
        fmt = {"u8": "B", "u16": "H", "u32": "I", "u64": "Q", "s32": "i"}[typ]
        return nla(atype, struct.pack(fmt, int(data, 0)))
    if typ == "fd":
        # fd:tcp | fd:udp (unbound) | fd:udp6-bound | fd:file
        if data == "tcp":
            obj = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            obj.bind(("127.0.0.1", 0))
        elif data == "udp":
            obj = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        elif data == "udp-bound":
            obj = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            obj.bind(("127.0.0.1", 0))
        elif data == "file":
            obj = open("/dev/null")
        else:
            raise SystemExit("unknown fd kind %r" % data)
        KEEP.append(obj)
        return nla(atype, struct.pack("i", obj.fileno()))
    if typ == "hex":
        return nla(atype, bytes.fromhex(data))
    if typ == "str":
        return nla(atype, data.encode() + b"\0")
    if typ == "nest":
        # nest:A=t:v;B=t:v  (attributes of the inner-address space)
        inner = b"".join(encode(enums, s, "JVPN_A_INNER_")
                         for s in data.split(";") if s)
        return nla(atype | NLA_F_NESTED, inner)
    if typ == "inner":
        # inner:FAMILY/HEXIP/PREFIXLEN|... -> INNER { INNER_ADDR {..} ... }
        out = b""
        for item in data.split("|"):
            fam, ip, plen = item.split("/")
            body = (nla(enums["JVPN_A_INNER_FAMILY"], struct.pack("H", int(fam)))
                    + nla(enums["JVPN_A_INNER_IP"], bytes.fromhex(ip))
                    + nla(enums["JVPN_A_INNER_PREFIXLEN"], struct.pack("B", int(plen))))
            out += nla(enums["JVPN_A_INNER_ADDR"] | NLA_F_NESTED, body)
        return nla(atype | NLA_F_NESTED, out)
    raise SystemExit("unknown type %r in %r" % (typ, spec))


def parse_attrs(buf):
    attrs = {}
    while len(buf) >= 4:
        alen, atype = struct.unpack("HH", buf[:4])
        if alen < 4:
            break
        attrs.setdefault(atype & 0x3FFF, buf[4:alen])
        buf = buf[(alen + 3) & ~3:]
    return attrs


def request(sock, family, cmd, payload, seq):
    genl = struct.pack("BBH", cmd, 1, 0)
    body = genl + payload
    msg = struct.pack("IHHII", 16 + len(body), family,
                      NLM_F_REQUEST | NLM_F_ACK, seq, 0) + body
    sock.send(msg)
    reply = {}
    while True:
        data = sock.recv(65536)
        off = 0
        while off < len(data):
            mlen, mtype, flags, _, _ = struct.unpack("IHHII", data[off:off + 16])
            if mtype == NLMSG_ERROR:
                err = -struct.unpack("i", data[off + 16:off + 20])[0]
                ext = ""
                if flags & 0x200:  # NLM_F_ACK_TLVS
                    # The request is echoed: its header only when the ack
                    # is capped (flag 0x100), else whole.
                    orig_len = struct.unpack("I", data[off + 20:off + 24])[0]
                    if flags & 0x100:
                        orig_len = 16
                    tl = parse_attrs(data[off + 20 + orig_len:off + mlen])
                    if NLMSGERR_ATTR_MSG in tl:
                        ext = tl[NLMSGERR_ATTR_MSG].rstrip(b"\0").decode()
                reply["errno"] = err
                reply["extack"] = ext
                return reply
            if mtype == family:
                reply["attrs"] = {str(k): v.hex() for k, v in
                                  parse_attrs(data[off + 20:off + mlen]).items()}
            off += (mlen + 3) & ~3


def main():
    uapi = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        "..", "..", "include", "uapi", "linux", "jvpn.h")
    enums = uapi_enums(uapi)
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
    sock.setsockopt(270, NETLINK_EXT_ACK, 1)  # SOL_NETLINK
    sock.setsockopt(270, 10, 1)  # NETLINK_CAP_ACK: short error echoes
    sock.bind((0, 0))
    r = request(sock, GENL_ID_CTRL, CTRL_CMD_GETFAMILY,
                nla(CTRL_ATTR_FAMILY_NAME, b"jvpn\0"), 1)
    if r.get("errno"):
        print(json.dumps({"errno": r["errno"], "extack": "no jvpn family"}))
        return
    fam = struct.unpack("H", bytes.fromhex(r["attrs"][str(CTRL_ATTR_FAMILY_ID)])[:2])[0]
    if sys.argv[1] == "--batch":
        # One request per input line, a JSON array [CMD, ATTR...]; one
        # JSON result per output line (python starts slowly under TCG).
        reqs = [json.loads(line) for line in sys.stdin if line.strip()]
    else:
        reqs = [sys.argv[1:]]
    for seq, req in enumerate(reqs, 2):
        cmd = req[0]
        cmd_val = int(cmd) if cmd.isdigit() else enums["JVPN_CMD_" + cmd]
        payload = b"".join(encode(enums, a) for a in req[1:])
        print(json.dumps(request(sock, fam, cmd_val, payload, seq)), flush=True)


if __name__ == "__main__":
    main()
