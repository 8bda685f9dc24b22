#!/usr/bin/env python3
"""Replays the HANDSHAKE_INITs captured in a pcap file.

    hsreplay.py PCAP DEST_IP DEST_PORT

Sends every captured UDP payload that is a HANDSHAKE_INIT (first byte 1,
148 bytes), oldest first and unchanged, to DEST_IP:DEST_PORT.  The
responder must refuse each: the last one it accepted as a replay (equal
timestamp, HS_E_REPLAY), older ones as stale (HS_E_STALE).  Sending all
of them keeps the test independent of which INIT was accepted last (a
rekey may race with the end of the capture).  Pcap reading is
udpsend.py's.
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
    for p in inits:
        s.sendto(p, (dst, int(port)))
    print("replayed %d INITs" % len(inits))


if __name__ == "__main__":
    main()
