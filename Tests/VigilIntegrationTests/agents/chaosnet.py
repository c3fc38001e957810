#!/usr/bin/env python3
"""Packet tools for the chaos tests (ChaosTests.swift), run inside a testbed namespace.

  chaosnet.py capture --iface eth0 --src 10.77.0.1 --dst 10.77.0.2 --port 694 --seconds 1 --out FILE
      Record the UDP payloads from SRC to DST:PORT seen on IFACE (an AF_PACKET socket: a real capture of the
      agents' real packets), one hex line per datagram. Prints how many.
  chaosnet.py replay --file FILE --to 10.77.0.2 --port 694 [--interval 0.02] [--rounds 1]
      Send those payloads again, in order, as UDP datagrams to TO:PORT.
  chaosnet.py malformed --to 10.77.0.1 [--to ...] --port 694 [--key KEY] [--node n1]
      Send every malformed Linux-HA Heartbeat packet of MALFORMED (and, with --key, the AUTHENTIC ones: signed
      with authkeys key 1 = sha1 KEY but unusable: no src, src of no configured node, src = the receiver) to each
      TO. Prints one JSON object: {"sent": {address: count}, "kinds": [names]}.

Only Python's standard library; no packet leaves the namespace's own links.
"""
import argparse
import hashlib
import hmac
import json
import socket
import struct
import sys
import time


def ns(b: bytes) -> bytes:
    """A netstring, as Heartbeat frames each field."""
    return str(len(b)).encode() + b":" + b + b","


FIELDS = [b"(0)t=status", b"(0)st=active", b"(0)dt=1f4", b"(0)protocol=1", b"(0)seq=1", b"(0)hg=1",
          b"(0)ts=1", b"(0)ttl=3"]


def body(src: bytes | None, fields=FIELDS) -> bytes:
    f = list(fields) + ([b"(0)src=" + src] if src is not None else [])
    return b"###\n" + b"".join(ns(x) for x in f) + b"%%%\n"


# name -> packet. Each must be dropped and counted by the agent, never crash it.
MALFORMED = {
    "negative-length-auth": b"###\n%%%\n-999:,",
    "int64-max-auth": body(b"n2") + b"9223372036854775807:,",
    "uint64-overflow-auth": body(b"n2") + b"18446744073709551616:,",
    "int64-min-field": b"###\n-9223372036854775808:x,%%%\n",
    "huge-field-length": b"###\n99999999:(0)t=status,%%%\n",
    "length-past-end": b"###\n50:(0)t=status,%%%\n",
    "length-short": b"###\n3:(0)t=status,%%%\n",
    "no-colon": b"###\n(0)t=status,%%%\n",
    "no-comma": b"###\n11:(0)t=status%%%\n",
    "no-end-marker": b"###\n" + ns(b"(0)t=status") + ns(b"(0)src=n2"),
    "start-marker-only": b"###\n",
    "empty-auth": body(b"n2") + b"0:,",
    "auth-no-space": body(b"n2") + ns(b"1" + b"0" * 40),
    "auth-bad-index": body(b"n2") + ns(b"99999999999999999999 " + b"0" * 40),
    "auth-non-hex": body(b"n2") + ns(b"1 " + b"zz" * 20),
    "bad-type-prefix": b"###\n" + ns(b"(9)t=status") + b"%%%\n",
    "nested-list": b"###\n" + ns(b"(1)" + b"###\n" + ns(b"(1)" + b"###\n%%%\n") + b"%%%\n") + b"%%%\n",
    "no-equals": b"###\n" + ns(b"(0)tstatus") + b"%%%\n",
    "nul-bytes": b"###\n" + ns(b"(0)t=st\x00atus") + ns(b"(0)src=n\x002") + b"%%%\n",
    "invalid-utf8": b"###\n" + ns(b"(0)src=\xff\xfe\xc3") + b"%%%\n",
    "classic-no-auth": b">>>\nt=status\nst=active\nsrc=n2\nseq=1\nhg=1\nts=1\nttl=3\n<<<\n",
    "classic-bad-auth": b">>>\nt=status\nsrc=n2\nauth=1 " + b"0" * 40 + b"\n<<<\n",
    "classic-no-end": b">>>\nt=status\nsrc=n2\n",
    "classic-long-line": b">>>\n" + b"x" * 1400 + b"\n<<<\n",
    "oversize": b"###\n" + ns(b"(0)x=" + b"9" * 1500) + b"%%%\n",
    "digits-only": b"###\n" + b"9" * 1400,
    "commas": b"###\n" + b"," * 200,
}


def authentic(key: str, node: str) -> dict:
    """Correctly signed netstring ha_msg (authkeys key 1, sha1) that must still change nothing."""
    out = {}
    for name, src in [("signed-no-src", None), ("signed-unknown-src", b"nobody"), ("signed-self-src", node.encode()),
                      ("signed-empty-src", b"")]:
        b = body(src)
        mac = hmac.new(key.encode(), b, hashlib.sha1).hexdigest().encode()
        out[name] = b + ns(b"1 " + mac)
    return out


def capture(a):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(0x0800))
    s.bind((a.iface, 0))
    s.settimeout(0.05)
    src, dst = socket.inet_aton(a.src), socket.inet_aton(a.dst)
    end = time.monotonic() + a.seconds
    n = 0
    with open(a.out, "w") as out:
        while time.monotonic() < end:
            try:
                frame = s.recv(65535)
            except socket.timeout:
                continue
            ip = frame[14:]
            if len(ip) < 28 or ip[9] != 17 or ip[12:16] != src or ip[16:20] != dst:
                continue
            ihl = (ip[0] & 0x0F) * 4
            sport, dport, ulen = struct.unpack("!HHH", ip[ihl:ihl + 6])
            if dport != a.port:
                continue
            out.write(ip[ihl + 8:ihl + ulen].hex() + "\n")
            n += 1
    print(n)


def replay(a):
    payloads = [bytes.fromhex(l) for l in open(a.file).read().split()]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    n = 0
    for _ in range(a.rounds):
        for p in payloads:
            s.sendto(p, (a.to, a.port))
            n += 1
            time.sleep(a.interval)
    print(n)


def malformed(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    sent = {}
    kinds = list(MALFORMED)
    for to in a.to:
        packets = dict(MALFORMED)
        if a.key:
            packets.update(authentic(a.key, a.node or ""))
        for name, p in packets.items():
            s.sendto(p, (to, a.port))
            sent[to] = sent.get(to, 0) + 1
            time.sleep(0.002)
        kinds = list(packets)
    print(json.dumps({"sent": sent, "kinds": kinds}))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("capture")
    c.add_argument("--iface", default="eth0")
    c.add_argument("--src", required=True)
    c.add_argument("--dst", required=True)
    c.add_argument("--port", type=int, default=694)
    c.add_argument("--seconds", type=float, default=1.0)
    c.add_argument("--out", required=True)
    r = sub.add_parser("replay")
    r.add_argument("--file", required=True)
    r.add_argument("--to", required=True)
    r.add_argument("--port", type=int, default=694)
    r.add_argument("--interval", type=float, default=0.02)
    r.add_argument("--rounds", type=int, default=1)
    m = sub.add_parser("malformed")
    m.add_argument("--to", action="append", required=True)
    m.add_argument("--port", type=int, default=694)
    m.add_argument("--key")
    m.add_argument("--node", help="the receiving node's name (for the signed packet that claims to come from it)")
    a = p.parse_args()
    {"capture": capture, "replay": replay, "malformed": malformed}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
