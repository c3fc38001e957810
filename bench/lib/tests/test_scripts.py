"""The entry modules' pure parts: cluster.conf devices, compare rows, fencing checks, heartbeat-detect
lines, drill-compare figures and table."""
import unittest

from vigiltools import compare, conf, drillcompare, fencing, hbdetect

CONF = """[cluster]
name = "x"
# [storage]
# devices = ["iscsi://example/1"]

[storage]
devices = ["iscsi://10.99.0.200:3260/iqn.x:sbench/1", "aoe://eth0/1.1"]

[[group]]
devices = ["nope"]
"""


class ConfTests(unittest.TestCase):
    def test_storage_devices_of_the_storage_table_only(self):
        self.assertEqual(conf.storage_devices(CONF.splitlines(True)),
                         ["iscsi://10.99.0.200:3260/iqn.x:sbench/1", "aoe://eth0/1.1"])


class CompareTests(unittest.TestCase):
    def test_rows(self):
        self.assertEqual(compare.row("vigil interval=10ms deadtime=50ms detection_ms min=40.0 median=45.0 max=51.0 runs=20"),
                         "| vigil | 10ms | 50ms | 40.0 | 45.0 | 51.0 | 20 |")
        self.assertEqual(compare.row("heartbeat keepalive=100ms deadtime=500ms detection_ms min=1 median=2 max=3 runs=1\n"),
                         "| heartbeat | 100ms | 500ms | 1 | 2 | 3 | 1 |")


class FencingTests(unittest.TestCase):
    J = [["100", "n1", "g1", "stop", "end"], ["200", "n2", "g1", "start", "begin"], ["50", "n3", "g1", "start", "begin"]]

    def test_cut_needs_the_stop_before_the_start(self):
        self.assertEqual(fencing.check("cut", "acknowledged", self.J, "n1", 60), [])
        late = [["300", "n1", "g1", "stop", "end"], ["200", "n2", "g1", "start", "begin"]]
        self.assertEqual(fencing.check("cut", "acknowledged", late, "n1", 60), ["start on n2 began before n1's stop ended"])

    def test_crash_expects_msgwait(self):
        self.assertEqual(fencing.check("crash", "its slot has been still for msgwait (2.0 s)", self.J, "n1", 60), [])
        p = fencing.check("crash", "acknowledged", self.J, "n1", 10)
        self.assertEqual(len(p), 2)
        self.assertIn("2 starts of g1 elsewhere", p[1])


class HbDetectTests(unittest.TestCase):
    def test_scan_and_result(self):
        found, others = {}, []
        hbdetect.scan_lines([b"x: node hbnode1: is dead", b"y: node hbnode3: is dead"], "hbnode1", "hbnode2", 10.5,
                            found, others)
        self.assertEqual((found, others), ({"hbnode2": 10.5}, ["hbnode2:hbnode3"]))
        status, line = hbdetect.result_line(found, {"hbnode2": 0, "hbnode3": 0}, others, 10.0, 10.000012, [1, 2], True)
        self.assertEqual(status, "TIMEOUT")
        self.assertEqual(line, "TIMEOUT max_ms=500.0 killed=2 link_down_after_us=12 link_ack=ok "
                               "spurious=hbnode2:hbnode3 hbnode2=500.0 hbnode3=TIMEOUT")


class DrillCompareTests(unittest.TestCase):
    def test_vigil_figures_count_detection_from_the_testbed_stamp(self):
        r = {"longest_gap": {"open": False, "length_ms": 2500.0}, "lost": 250, "timeline": [
            {"t_ms": 900, "source": "drill", "kind": "action", "text": "a killed (the testbed's timestamp)"},
            {"t_ms": 1000, "source": "drill", "kind": "action", "text": "kill:a issued"},
            {"t_ms": 1600, "source": "b", "kind": "member", "text": "a alive -> dead"},
            {"t_ms": 4000, "source": "b", "kind": "group", "text": "vm1 running"}]}
        self.assertEqual(drillcompare.figures(r, "vm-kill", "vigil", ("a", "b", "vm1")), (700, 3000, "2500.0", 250))
        self.assertEqual(drillcompare.figures(r, "vm-standby", "vigil", ("a", "b", "vm1"))[:2], (None, 3000))

    def test_wall_figures(self):
        r = {"longest_gap": None, "lost": 3, "timeline": []}
        walls = {"a": 100.0, "d": 100.5, "s": 101.25}
        self.assertEqual(drillcompare.figures(r, "vip-kill", "wall", ("a", "d", "s"), walls.get), (500.0, 1250.0, "open", 3))

    def test_table(self):
        lines = ["vigil\tvm-kill\t1\t600.0\t3000.0\t2500.0\t250\t/d1\n", "vigil\tvm-kill\t2\t-\t2000.0\topen\t300\t/d2\n"]
        t = drillcompare.table(lines)
        self.assertEqual(t[2], "| vigil | vm-kill | 2 | 600 / 600 / 600 | 2000 / 2500 / 3000 | 2500 / 2500 / 2500 (+1 open) | 275 |")


if __name__ == "__main__":
    unittest.main()
