"""The nemesis schedule: a list of steps drawn from one seed, before the run, so that the same seed (or the saved
schedule.json) replays the same faults in the same order with the same durations.

A step is a dict:
    {"i": 7, "type": "fault", "kind": "freeze", "node": "@coordinator", "fallback": "n2", "duration": 1.3, "gap": 0.4}
    {"i": 8, "type": "op", "kind": "move", "group": "g2", "node": "n3"}   ("settle": true: wait until settled after it)
Targets are node names, or roles resolved when the step runs: "@coordinator", "@owner:gN" (the node the group
runs on, by the OS), "@confirmed" (the node last confirmed down; a fault right after a cut-confirm targets it
often); "fallback" is the node used when the role names nobody (no coordinator, group nowhere).
What the cluster does in between varies from run to run (timing), so a replay repeats the nemesis exactly, the
cluster's answers only as far as they are deterministic.
"""
import random

# kind: (weight, needs storage)
FAULTS = {
    "kill": (3, False),                # kill -9 of the agent; resources survive; agent restarted at the heal
    "kill-restart": (3, False),        # kill -9 and an immediate restart
    "freeze": (3, False),              # SIGSTOP of the agent, SIGCONT at the heal
    "crash": (1, False),               # every process of the node (a machine crash); agent restarted at the heal
    "crash-confirm": (1, False),       # a crash, then `vigil confirm-down NODE` once the coordinator sees it dead
    "cut-confirm": (1, False),         # a LAN cut, then `vigil confirm-down NODE` once it runs no group (by the OS)
    "leave": (1, False),               # SIGTERM (controlled leave), agent restarted at the heal
    "cut": (2, False),                 # all of the node's LAN links down
    "partition": (2, False),           # a minority (1 node, or 2 of 5) cut from the rest, both ways
    "oneway": (3, False),              # nothing from A reaches B
    "deaf": (3, False),                # the node receives nothing on the LAN
    "mute": (2, False),                # nothing the node sends reaches anyone
    "storage-freeze": (1, True),       # SIGSTOP of a storage target (tgtd or vblade)
    "storage-freeze-cut": (1, True),   # a target frozen, and the node cut off the LAN
    "storage-restart": (1, True),      # a storage target stopped (tgtd's target deleted, vblade killed), started again
    "hang": (1, False),                # every resource operation on the node hangs until its timeout kills it
    "lossy": (2, False),               # a flaky port: "loss" % of the node's LAN packets lost, both ways
    "res-kill": (2, False),            # kill -9 of a group's process where it runs (the guest crashed)
    "failstart": (1, False),           # every start on the node fails (exit 1) while "group" is moved there
    "failstop": (1, False),            # every stop fails, anywhere, while "group" is moved to "to"
}
OPS = {"standby": 2, "unstandby": 2, "move": 2, "unmove": 2}

DURATION = {"kill": (0.5, 5.0), "kill-restart": (0.0, 0.0), "freeze": (0.2, 3.0), "crash": (1.0, 5.0),
            "crash-confirm": (1.0, 4.0), "cut-confirm": (1.0, 4.0), "leave": (0.5, 4.0), "cut": (0.5, 6.0), "partition": (0.5, 6.0),
            "oneway": (0.5, 6.0), "deaf": (0.5, 6.0), "mute": (0.5, 6.0), "storage-freeze": (0.5, 5.0),
            "storage-freeze-cut": (1.0, 5.0), "lossy": (1.0, 8.0), "res-kill": (0.5, 3.0), "failstart": (1.0, 6.0),
            "failstop": (1.0, 5.0), "storage-restart": (1.0, 6.0), "hang": (1.0, 6.0)}


def generate(seed, nodes, groups, storage, steps=3000, kinds=None):
    """The steps for SEED; with KINDS, only those fault kinds are drawn (operations as usual)."""
    rng = random.Random(seed)
    faults = [(k, w) for k, (w, st) in FAULTS.items() if (storage or not st) and (kinds is None or k in kinds)]
    standby, pinned = set(), set()
    confirmed = False
    max_standby = (len(nodes) - 1) // 2
    out = []

    def node_spec():
        r = rng.random()
        if r < 0.3:
            return "@coordinator"
        if r < 0.6:
            return f"@owner:{rng.choice(groups)}"
        return rng.choice(nodes)

    while len(out) < steps:
        i = len(out)
        if rng.random() < 0.25:
            ops = [k for k in OPS if (k != "standby" or len(standby) < max_standby) and (k != "unstandby" or standby)
                   and (k != "unmove" or pinned)]
            kind = rng.choices(ops, [OPS[k] for k in ops])[0]
            step = {"i": i, "type": "op", "kind": kind}
            if kind == "standby":
                n = rng.choice(sorted(set(nodes) - standby))
                standby.add(n)
                step["node"] = n
            elif kind == "unstandby":
                n = rng.choice(sorted(standby))
                standby.discard(n)
                step["node"] = n
            elif kind == "move":
                g = rng.choice(groups)
                pinned.add(g)
                step.update(group=g, node=rng.choice(nodes))
            else:
                g = rng.choice(sorted(pinned))
                pinned.discard(g)
                step["group"] = g
            out.append(step)
            continue
        kind = rng.choices([k for k, _ in faults], [w for _, w in faults])[0]
        spec = node_spec()
        if confirmed and rng.random() < 0.6:
            # The node confirmed down before (and back since, with the same incarnation) is given a group, then
            # disappears again: the old confirmation must not cover it.
            g = rng.choice(groups)
            pinned.add(g)
            out.append({"i": len(out), "type": "op", "kind": "move", "group": g, "node": "@confirmed", "settle": True})
            kind, spec = rng.choice(["freeze", "kill"]), "@confirmed"
        confirmed = kind in ("cut-confirm",)
        lo, hi = DURATION[kind]
        step = {"i": len(out), "type": "fault", "kind": kind, "node": spec, "fallback": rng.choice(nodes),
                "duration": round(rng.uniform(lo, hi), 1), "gap": round(rng.uniform(0.0, 1.5), 1)}
        if kind == "oneway":
            step["to"] = node_spec()
            step["to_fallback"] = rng.choice(nodes)
        if kind == "partition":
            step["size"] = rng.randint(1, (len(nodes) - 1) // 2)
            step["others"] = rng.sample(nodes, len(nodes))   # order in which the rest of the minority is filled
        if kind.startswith("storage-freeze") or kind == "storage-restart":
            step["target"] = rng.choice(storage)
        if kind == "lossy":
            step["loss"] = rng.choice([20, 40, 60, 80])
        if kind in ("res-kill", "failstop"):
            step["group"] = rng.choice(groups)
            step["node"] = f"@owner:{step['group']}"
        if kind == "failstop":
            step["to"] = rng.choice(nodes)
        if kind in ("failstart", "hang"):
            step["group"] = rng.choice(groups)
        if kind in ("failstart", "failstop", "hang"):
            pinned.add(step["group"])
        out.append(step)
    return out
