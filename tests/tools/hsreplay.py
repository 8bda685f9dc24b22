#!/usr/bin/env python3
"""Replays the last HANDSHAKE_INIT captured in a pcap file.

    hsreplay.py PCAP DEST_IP DEST_PORT

Takes the last captured UDP payload that is a HANDSHAKE_INIT (first byte
1, 148 bytes) and sends it unchanged to DEST_IP:DEST_PORT: the responder
must refuse it as a replay (its timestamp equals the last one accepted).
Pcap reading is udpsend.py's.
"""
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from udpsend import payloads  # noqa: E402


def main():
    path, dst, port = sys.argv[1:4]
    inits = [p for p in payloads(path) if p[0] == 1 and len(p) == 148]
    if not inits:
        sys.exit("no HANDSHAKE_INIT in %s" % path)
    fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.sendto(inits[-1], (dst, int(port)))
    print("replayed INIT %d of %d" % (len(inits), len(inits)))


if __name__ == "__main__":
    main()
