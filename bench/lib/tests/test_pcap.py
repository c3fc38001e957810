import socket
import struct
import unittest

from vigiltools import hamsg, pcap


def udp_frame(src, dst, payload, frag=0):
    udp = struct.pack("!HHHH", 694, 694, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, frag, 64, 17, 0, socket.inet_aton(src),
                     socket.inet_aton(dst))
    return b"\xff" * 6 + b"\x02" * 6 + b"\x08\x00" + ip + udp


def netstring(fields, auth="1 abc"):
    body = b"".join(b"%d:%s," % (len(f), f) for f in fields)
    return b"###\n" + body + b"%%%\n" + b"%d:%s," % (len(auth), auth.encode())


class PcapTests(unittest.TestCase):
    def test_udp_payloads_times_and_fragments(self):
        data = pcap.write([(10.5, udp_frame("10.77.0.1", "10.77.0.2", b"hello")),
                           (11.25, udp_frame("10.77.0.2", "10.77.0.1", b"", frag=5)),
                           (12.0, b"\x00" * 12 + b"\x86\xdd" + b"\x00" * 40)])        # IPv6: left out
        got = list(pcap.udp_packets(data))
        self.assertEqual(len(got), 2)
        self.assertEqual(got[0][:4], (10.5, "10.77.0.1", "10.77.0.2", b"hello"))
        self.assertEqual(got[0][4], 20 + 8 + 5)
        self.assertEqual(got[1][3], None)

    def test_nanosecond_captures(self):
        got = list(pcap.udp_packets(pcap.write([(1.000000123, udp_frame("1.2.3.4", "5.6.7.8", b"x"))], nano=True)))
        self.assertAlmostEqual(got[0][0], 1.000000123, places=9)


class HaMsgTests(unittest.TestCase):
    def test_netstring_message(self):
        p = netstring([b"(0)t=status", b"(0)src=n1", b"(1)blob=\x00\x01", b"(2)nest=" + netstring([b"(0)a=b"], "0 x")])
        self.assertEqual(hamsg.parse_msg(p), [("t", "status"), ("src", "n1"), ("blob", "<binary 2 B>"),
                                              ("nest", "{a=b}"), ("auth", "1 abc")])

    def test_classic_text_message(self):
        self.assertEqual(hamsg.parse_msg(b">>>\nt=status\nsrc=n2\n<<<\nignored=1\n"), [("t", "status"), ("src", "n2")])

    def test_other_payloads(self):
        self.assertIsNone(hamsg.parse_msg(b"not a message"))
        self.assertIsNone(hamsg.parse_msg(b"###\n5:(0)t=,"))        # truncated
        with self.assertRaises(ValueError):
            hamsg.parse_netstring_msg(b">>>\n")


if __name__ == "__main__":
    unittest.main()
