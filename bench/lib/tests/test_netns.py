import os
import socket
import struct
import unittest

from vigiltools import netns


def nlmsg(typ, payload=b""):
    return struct.pack("=IHHII", 16 + len(payload), typ, 0, 1, 0) + payload


def rta(typ, data):
    ln = 4 + len(data)
    return struct.pack("=HH", ln, typ) + data + b"\0" * ((4 - ln % 4) % 4)


class NetlinkTests(unittest.TestCase):
    def test_link_down_message(self):
        m = netns.link_down_msg(7)
        ln, typ, flags, seq, pid = struct.unpack_from("=IHHII", m)
        self.assertEqual((ln, typ, flags), (len(m), 16, 1 | 4))
        family, dev_type, index, iff_flags, change = struct.unpack_from("=BxHiII", m, 16)
        self.assertEqual((index, iff_flags, change), (7, 0, 1))   # IFF_UP cleared: changed, not set

    def test_ack(self):
        self.assertTrue(netns.ack_ok(nlmsg(2, struct.pack("=i", 0))))
        self.assertFalse(netns.ack_ok(nlmsg(2, struct.pack("=i", -1))))

    def test_parse_addrs(self):
        ifa = struct.pack("=BBBBI", socket.AF_INET, 24, 0, 0, 2)
        msg = nlmsg(20, ifa + rta(3, b"eth0") + rta(1, socket.inet_aton("10.66.0.100"))
                    + rta(2, socket.inet_aton("10.66.0.101")))
        got = set()
        self.assertFalse(netns.parse_addrs(msg, got))
        self.assertEqual(got, {socket.inet_aton("10.66.0.100"), socket.inet_aton("10.66.0.101")})
        self.assertTrue(netns.parse_addrs(nlmsg(3), got))

    def test_pids_in_finds_this_namespace(self):
        me = "/proc/self/ns/net"
        pids = netns.pids_in([me])
        self.assertNotIn(os.getpid(), pids)   # leaves itself out
        self.assertEqual(netns.pids_in(["/nonexistent/ns"]), [])


if __name__ == "__main__":
    unittest.main()
