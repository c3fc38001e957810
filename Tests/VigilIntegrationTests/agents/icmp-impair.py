#!/usr/bin/env python3
# icmp-impair: answers ICMP echo requests itself (the kernel's replies must be off: net.ipv4.icmp_echo_ignore_all=1)
# with faults chosen by each request's 32-bit drill sequence number (payload bytes 8..11, see VigilDrill/Pinger):
#   seq % 20 == 7                 no reply (loss)
#   200 <= seq < 230              no reply (a 300 ms outage at 10 ms intervals)
#   100 <= seq < 150              reply delayed by 30 ms
#   seq % 25 == 3                 two replies (duplicate)
# The expected figures are therefore known exactly. Runs until killed.
import heapq, select, socket, struct, sys, time

def checksum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF

sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
pending = []  # (due, order, packet, address)
order = 0
print("icmp-impair: ready", flush=True)
while True:
    timeout = max(0.0, pending[0][0] - time.monotonic()) if pending else 0.5
    r, _, _ = select.select([sock], [], [], timeout)
    now = time.monotonic()
    while pending and pending[0][0] <= now:
        _, _, pkt, addr = heapq.heappop(pending)
        sock.sendto(pkt, addr)
    if not r:
        continue
    data, addr = sock.recvfrom(4096)
    ihl = (data[0] & 0x0F) * 4
    icmp = data[ihl:]
    if len(icmp) < 8 + 12 or icmp[0] != 8 or icmp[8:16] != b"VIGILDRL":
        continue
    seq = struct.unpack("!I", icmp[16:20])[0]
    if seq % 20 == 7 or 200 <= seq < 230:
        continue
    reply = bytearray(icmp)
    reply[0] = 0
    reply[2:4] = b"\0\0"
    reply[2:4] = struct.pack("!H", checksum(bytes(reply)))
    delay = 0.030 if 100 <= seq < 150 else 0.0
    copies = 2 if seq % 25 == 3 else 1
    for i in range(copies):
        order += 1
        heapq.heappush(pending, (now + delay + i * 0.001, order, bytes(reply), addr))
