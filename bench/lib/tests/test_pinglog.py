import unittest

from vigiltools import pinglog

LOG = """PING 10.88.0.100 (10.88.0.100) 56(84) bytes of data.
[100.000000] 64 bytes from 10.88.0.100: icmp_seq=1 ttl=64 time=0.3 ms
[100.010000] 64 bytes from 10.88.0.100: icmp_seq=2 ttl=64 time=0.3 ms
[100.010500] 64 bytes from 10.88.0.100: icmp_seq=2 ttl=64 time=0.3 ms (DUP!)
[100.120000] 64 bytes from 10.88.0.100: icmp_seq=13 ttl=64 time=0.3 ms
[100.130000] 64 bytes from 10.88.0.100: icmp_seq=14 ttl=64 time=0.3 ms
""".splitlines(True)


class PingLogTests(unittest.TestCase):
    def test_replies_skip_duplicates(self):
        self.assertEqual(pinglog.replies(LOG), [(100.0, 1), (100.01, 2), (100.12, 13), (100.13, 14)])

    def test_window_counts_the_gap_that_begins_before_t0(self):
        gap, lost, after = pinglog.window(pinglog.replies(LOG), 100.05, 100.125, 101.0)
        self.assertAlmostEqual(gap, 0.11)
        self.assertEqual(lost, 10)
        self.assertEqual(after, 1)

    def test_window_with_too_few_replies(self):
        self.assertEqual(pinglog.window(pinglog.replies(LOG[:2]), 100.5, 100.6, 101.0), (None, 0, 0))


if __name__ == "__main__":
    unittest.main()
