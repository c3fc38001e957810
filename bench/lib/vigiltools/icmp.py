"""ICMP echo: the Internet checksum, echo requests, and echo replies out of captured Ethernet frames."""
import struct


def csum(b):
    """The Internet checksum (RFC 1071) of b."""
    if len(b) % 2:
        b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff


def echo_request(ident, seq, payload):
    """An ICMP echo request (type 8) with its checksum."""
    hdr = struct.pack('!BBHHH', 8, 0, 0, ident, seq) + payload
    return struct.pack('!BBHHH', 8, 0, csum(hdr), ident, seq) + payload


def mac_str(b):
    return ':'.join('%02x' % x for x in b)


def echo_reply(frame, ident, sources, min_len=14 + 20 + 8):
    """(source IP as 4 bytes, seq, source MAC "aa:bb:...") if the Ethernet frame is an echo reply with this ident
    from one of the 4-byte IPs in `sources` (a container); else None."""
    if len(frame) < min_len:
        return None
    ip = frame[14:]
    if ip[9] != 1:
        return None
    src = bytes(ip[12:16])
    if src not in sources:
        return None
    ihl = (ip[0] & 15) * 4
    icmp = ip[ihl:ihl + 8]
    if len(icmp) < 8:
        return None
    typ, _, _, rid, rseq = struct.unpack('!BBHHH', icmp)
    if typ != 0 or rid != ident:
        return None
    return src, rseq, mac_str(frame[6:12])
