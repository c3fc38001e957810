import unittest

from vigiltools import drillreport


def ev(t, source, kind, text):
    return {"t_ms": t, "source": source, "kind": kind, "text": text}


STANDBY = {"headline": "gap 110 ms", "longest_gap": {"open": False, "length_ms": 110.0}, "timeline": [
    ev(0, "drill", "action", "standby:a issued"),
    ev(5, "a", "operation", "vm1/vm stop (handover to b)"),
    ev(90, "b", "migration", "VIGIL-MIGRATION from=a"),
    ev(120, "b", "group", "vm1 running")]}


class DrillReportTests(unittest.TestCase):
    def test_a_good_standby_drill_passes(self):
        self.assertEqual(drillreport.problems(STANDBY, "standby", 1000), [])

    def test_gap_above_the_bound(self):
        self.assertEqual(drillreport.problems(STANDBY, "standby", 100), ["gap 110.0 ms above the bound 100 ms"])

    def test_events_out_of_order(self):
        r = dict(STANDBY, timeline=[STANDBY["timeline"][i] for i in (0, 1, 3)] + [ev(130, "b", "migration", "x")])
        r["timeline"][2] = ev(80, "b", "group", "vm1 running")
        self.assertEqual(drillreport.problems(r, "standby", 1000), ["timeline: no 'vm1 running on b' after 130 ms"])

    def test_open_gap_fails_a_kill_drill(self):
        r = {"headline": "", "longest_gap": {"open": True, "length_ms": 9000.0}, "timeline": [
            ev(0, "drill", "action", "kill:b issued"), ev(600, "a", "member", "b alive -> dead"),
            ev(2600, "a", "fencing", "b fenced"), ev(2700, "a", "group", "vm1 running")]}
        p = drillreport.problems(r, "kill", 1000)
        self.assertEqual(len(p), 1)
        self.assertTrue(p[0].startswith("the guest does not answer at the end"))


if __name__ == "__main__":
    unittest.main()
