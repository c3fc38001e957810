"""Reading classic pcap files (tcpdump -w): UDP payloads over IPv4, Ethernet or Linux cooked captures."""
import socket
import struct


def udp_packets(data):
    """(time, src, dst, UDP payload or None for a non-first fragment, IP length) for every IPv4 UDP packet of
    pcap file contents `data` (microsecond or nanosecond, either byte order; link types 1 and 113)."""
    magic = struct.unpack_from('<I', data)[0]
    if magic in (0xa1b2c3d4, 0xa1b23c4d): e = '<'
    else: e = '>'
    nano = magic in (0xa1b23c4d, 0x4d3cb2a1)
    linktype = struct.unpack_from(e + 'I', data, 20)[0]
    off = 24
    while off + 16 <= len(data):
        ts, tf, incl, orig = struct.unpack_from(e + 'IIII', data, off); off += 16
        frame = data[off:off + incl]; off += incl
        t = ts + tf / (1e9 if nano else 1e6)
        if linktype == 1:
            if len(frame) < 14 or frame[12:14] != b'\x08\x00': continue
            ip = frame[14:]
        elif linktype == 113:
            ip = frame[16:]
        else:
            continue
        ihl = (ip[0] & 15) * 4
        if ip[9] != 17: continue
        frag = struct.unpack('!H', ip[6:8])[0]
        src, dst = socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20])
        if frag & 0x1fff:
            yield t, src, dst, None, len(ip); continue
        udp = ip[ihl:]
        yield t, src, dst, udp[8:], len(ip)


def pcap_packets(path):
    with open(path, 'rb') as f:
        data = f.read()
    return udp_packets(data)


def write(records, linktype=1, nano=False):
    """A pcap file (bytes) of records [(time, frame)], little-endian: for tests and fixtures."""
    out = struct.pack('<IHHiIII', 0xa1b23c4d if nano else 0xa1b2c3d4, 2, 4, 0, 0, 65535, linktype)
    for t, frame in records:
        sec = int(t)
        frac = int(round((t - sec) * (1e9 if nano else 1e6)))
        out += struct.pack('<IIII', sec, frac, len(frame), len(frame)) + frame
    return out
