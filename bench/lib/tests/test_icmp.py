import socket
import struct
import unittest

from vigiltools import icmp


def frame(src_ip, typ, ident, seq, mac=b"\x52\x54\x00\x00\x00\x02", proto=1):
    body = struct.pack("!BBHHH", typ, 0, 0, ident, seq) + b"payload"
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(body), 0, 0, 64, proto, 0, socket.inet_aton(src_ip),
                     socket.inet_aton("10.77.0.250"))
    return b"\x52\x54\x00\x00\x00\xfa" + mac + b"\x08\x00" + ip + body


class ChecksumTests(unittest.TestCase):
    def test_rfc1071_example(self):
        # RFC 1071 section 3: the one's complement sum of these words is ddf2, so the checksum is 220d.
        self.assertEqual(icmp.csum(bytes.fromhex("0001f203f4f5f6f7")), 0x220d)

    def test_odd_length_is_padded(self):
        self.assertEqual(icmp.csum(b"\x01"), icmp.csum(b"\x01\x00"))

    def test_a_packet_with_its_checksum_sums_to_zero(self):
        pkt = icmp.echo_request(0x1234, 7, b"hb-dropin-bench")
        self.assertEqual(icmp.csum(pkt), 0)
        self.assertEqual(struct.unpack("!BBHHH", pkt[:8])[0::3], (8, 0x1234))
        self.assertEqual(struct.unpack("!H", pkt[6:8])[0], 7)
        self.assertTrue(pkt.endswith(b"hb-dropin-bench"))


class ReplyTests(unittest.TestCase):
    vip = socket.inet_aton("10.77.0.100")

    def test_a_reply_from_the_address(self):
        self.assertEqual(icmp.echo_reply(frame("10.77.0.100", 0, 42, 9), 42, (self.vip,)),
                         (self.vip, 9, "52:54:00:00:00:02"))

    def test_others_are_not_replies(self):
        self.assertIsNone(icmp.echo_reply(frame("10.77.0.101", 0, 42, 9), 42, (self.vip,)))   # other address
        self.assertIsNone(icmp.echo_reply(frame("10.77.0.100", 8, 42, 9), 42, (self.vip,)))   # a request
        self.assertIsNone(icmp.echo_reply(frame("10.77.0.100", 0, 43, 9), 42, (self.vip,)))   # other ident
        self.assertIsNone(icmp.echo_reply(frame("10.77.0.100", 0, 42, 9, proto=17), 42, (self.vip,)))
        self.assertIsNone(icmp.echo_reply(frame("10.77.0.100", 0, 42, 9)[:40], 42, (self.vip,)))  # short


if __name__ == "__main__":
    unittest.main()
