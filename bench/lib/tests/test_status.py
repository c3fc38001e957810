import unittest

from vigiltools import status


def st(node, groups=(), nodes=(("a", "alive"), ("b", "alive")), storage=None, standby=False):
    return {"node": node, "groups": list(groups), "nodes": [{"name": n, "state": s} for n, s in nodes],
            "storage": storage, "standby": standby}


def grp(name, state, owner, **nodes):
    return {"name": name, "state": state, "owner": owner, "nodes": nodes}


class FakeClock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t

    def sleep(self, d):
        self.t += d


class PollTests(unittest.TestCase):
    def test_returns_first_value_that_is_not_none(self):
        clock = FakeClock()
        answers = iter([None, None, "x", "y"])
        self.assertEqual(status.poll(lambda: next(answers), 10, 0.5, clock=clock, sleep=clock.sleep), "x")
        self.assertEqual(clock.t, 1.0)

    def test_gives_up_at_the_timeout(self):
        clock = FakeClock()
        calls = []
        self.assertIsNone(status.poll(lambda: calls.append(1), 1.0, 0.25, clock=clock, sleep=clock.sleep))
        self.assertEqual(len(calls), 4)

    def test_false_is_a_result(self):
        clock = FakeClock()
        self.assertIs(status.poll(lambda: False, 1.0, 0.25, clock=clock, sleep=clock.sleep), False)


class PredicateTests(unittest.TestCase):
    def test_running_on_needs_the_node_itself_to_say_running(self):
        self.assertTrue(status.running_on(st("a", [grp("vm1", "running", "a", a="running")]), "vm1", "a"))
        self.assertFalse(status.running_on(st("a", [grp("vm1", "running", "a", a="starting")]), "vm1", "a"))
        self.assertFalse(status.running_on(st("a", [grp("vm1", "running", "b", a="stopped", b="running")]), "vm1", "a"))
        self.assertFalse(status.running_on(st("a", []), "vm1", "a"))

    def test_probed_state(self):
        self.assertEqual(status.probed_state(st("b", [grp("vm1", "stopped", None, b="stopped")]), "vm1", "b"), "stopped")
        self.assertIsNone(status.probed_state(st("b", []), "vm1", "b"))

    def test_storage_ok(self):
        ok = {"devices": [{"url": "iscsi://x", "state": "ok"}, {"url": "aoe://y", "state": "slow"}]}
        self.assertTrue(status.storage_ok(status.storage_devices(st("a", storage=ok))))
        lost = {"devices": [{"url": "iscsi://x", "state": "ok"}, {"url": "aoe://y", "state": "lost", "error": "t"}]}
        self.assertFalse(status.storage_ok(status.storage_devices(st("a", storage=lost))))
        self.assertFalse(status.storage_ok(status.storage_devices(st("a"))))

    def test_vm_steady(self):
        sto = {"devices": [{"url": "u", "state": "ok"}], "peers": []}
        g = grp("vm1", "running", "b", a="stopped", b="running")
        self.assertEqual(status.vm_steady({"a": st("a", [g], storage=sto), "b": st("b", [g], storage=sto)}), ("b", None))
        owner, why = status.vm_steady({"a": st("a", [g], storage=sto, nodes=(("a", "alive"), ("b", "dead"))),
                                       "b": st("b", [g], storage=sto)})
        self.assertIsNone(owner)
        self.assertEqual(why, "a sees b dead")
        two = grp("vm1", "running", "b", a="running", b="running")
        owner, why = status.vm_steady({"a": st("a", [two], storage=sto), "b": st("b", [two], storage=sto)})
        self.assertIsNone(owner)
        self.assertIn("running on", why)

    def test_vip_steady(self):
        g = grp("vip", "running", "n2", n1="stopped", n2="running")
        nodes = (("n1", "alive"), ("n2", "alive"))
        self.assertEqual(status.vip_steady([st("n1", [g], nodes), st("n2", [g], nodes)]), "n2")
        self.assertIsNone(status.vip_steady([st("n1", [g], nodes, standby=True), st("n2", [g], nodes)]))

    def test_steady_on(self):
        g = grp("g", "running", "n1", n1="running")
        self.assertIsNone(status.steady_on(st("n1", [g]), "n1"))
        self.assertEqual(status.steady_on(st("n1", [g]), "n2"), "n1: nodes not alive [], group running on n1")

    def test_query(self):
        s = st("a", [grp("vm1", "running", "a", a="running")])
        self.assertEqual(status.query(s, "g['vm1']['owner']"), "a")
        self.assertTrue(status.query(s, "nodes['b']['state'] == 'alive'"))


if __name__ == "__main__":
    unittest.main()
