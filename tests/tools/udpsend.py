#!/usr/bin/env python3
"""Replays UDP payloads captured in a pcap file, for hostile-packet tests.

    udpsend.py PCAP DEST_IP DEST_PORT MODE [SRC_PORT]

Takes the first captured UDP payload whose first byte is 4 (jvpn DATA) and
longer than a bare keepalive, and sends it to DEST_IP:DEST_PORT:
  replay   - unchanged (a replay: authenticates, refused by the window)
  tamper   - last byte flipped (refused by the AEAD)
  short    - only its first 10 bytes (malformed)
  nosess   - session id field replaced by 0xdeadbeef (no such session)
Handles classic pcap with Ethernet, Linux cooked (SLL/SLL2) or raw IP.
"""
import socket
import struct
import sys


def payloads(path):
    data = open(path, "rb").read()
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    off = 24
    while off + 16 <= len(data):
        _, _, caplen, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        pkt = data[off + 16:off + 16 + caplen]
        off += 16 + caplen
        l3 = {1: 14, 113: 16, 276: 20, 101: 0, 12: 0}.get(linktype)
        if l3 is None:
            continue
        ip = pkt[l3:]
        if not ip:
            continue
        if ip[0] >> 4 == 4:
            ihl = (ip[0] & 15) * 4
            proto, udp = ip[9], ip[ihl:]
        elif ip[0] >> 4 == 6:
            proto, udp = ip[6], ip[40:]
        else:
            continue
        if proto == 17 and len(udp) > 8:
            yield udp[8:]


def main():
    path, dst, port, mode = sys.argv[1:5]
    src_port = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    pl = next(p for p in payloads(path) if p[0] == 4 and len(p) > 32)
    if mode == "tamper":
        pl = pl[:-1] + bytes([pl[-1] ^ 1])
    elif mode == "short":
        pl = pl[:10]
    elif mode == "nosess":
        pl = pl[:4] + b"\xde\xad\xbe\xef" + pl[8:]
    fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind(("::" if fam == socket.AF_INET6 else "0.0.0.0", src_port))
    s.sendto(pl, (dst, int(port)))
    print("sent %d bytes (%s)" % (len(pl), mode))


if __name__ == "__main__":
    main()
