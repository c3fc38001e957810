#!/usr/bin/env python3
"""bench/chaos.sh: a random nemesis against a cluster of real Vigil agents with shared storage, for minutes.

    bench/chaos.sh --minutes N [--nodes 3|5] [--seed S] [--groups G] [--storage iscsi,aoe|iscsi|aoe|none]
                   [--no-watchdog] [--faults KIND,...] [--schedule FILE] [--out DIR] [--name NAME]

Brings up `scripts/vigil-testbed` (N nodes in network namespaces, the namespace tests' timing: interval 50 ms,
deadtime 300 ms; fencing required; shared storage on tgtd (iSCSI) and/or vblade (AoE) with stop-resources,
msgwait 2 s), G groups of the `chaos` test agent (one recognisable process per group in its owner's namespace),
and a process sampler (bench/chaos/sampler.py, its own process, every 2 ms) that records every moment a group is
active on two nodes. Then, until N minutes have passed, it runs the steps of a schedule drawn from the seed
(schedule.py): a fault, held for its duration, healed, then a wait (bounded) until every group runs exactly once
again; now and then an operation (standby, unstandby, move, unmove; confirm-down after a crash; cleanup after a
resource fault). Before healing
a fault that lasted --account-after seconds (2), every group must be accounted for within --account-timeout (10)
more: running on exactly one node with the coordinator naming it, or the coordinator saying why not (BLOCKED,
or waiting for a fence); otherwise it was silently lost. At the end it heals everything and checks that every
group runs exactly once within --final-timeout.

The emulated watchdog (with storage, unless --no-watchdog): a real deployment with [storage] has a watchdog
device that resets a node whose agent is hung or dead, watchdog_timeout after its last feed; without one a
killed or frozen agent is not covered and its groups run twice by design (docs/storage.md, "The watchdog").
So when the nemesis kills or freezes an agent, it resets that node (SIGKILL of every process in its namespace,
as `vigil-testbed crash`) watchdog_timeout (1 s) later, unless the fault has been healed by then; the node's
agent is started again at the heal.

Output (DIR, default bench/results/chaos-SEED): schedule.json (arguments and every step), events.jsonl (what
was done when, and how each role resolved), sampler.jsonl (placements and violations), summary.txt, and on any
violation the agents' logs and ops.log (logs/). Prints the faults by kind, the operations, the heals that did
not settle within --heal-timeout, and a last line `chaos: N faults, M operations, V violations`. Exits 1 if V > 0
(a group active on two nodes, a group silently lost during a fault, or not every group running exactly once at
the end) or an agent died by itself, 2 on a usage or testbed error, 130 when interrupted.
Replay a run with the same --seed (and --nodes/--groups/--storage), or exactly its steps with --schedule.
Cleans up (thaws, heals, `vigil-testbed down`) on exit, SIGINT and SIGTERM. Needs root.
"""
import argparse
import collections
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster as clusterlib  # noqa: E402
import schedule as schedulelib  # noqa: E402


class Interrupted(Exception):
    pass


class Nemesis:
    def __init__(self, c, args, out):
        self.c, self.args, self.out = c, args, out
        self.events = open(os.path.join(out, "events.jsonl"), "a", buffering=1)
        self.sampler_log = os.path.join(out, "sampler.jsonl")
        self.sampler_pos = 0
        self.violations = []
        self.faults = collections.Counter()
        self.ops = collections.Counter()
        self.unsettled = []
        self.resets = 0
        self.lock = threading.Lock()
        self.timers = []
        self.armed = set()           # killed or frozen agents the emulated watchdog will reset
        self.reset_nodes = set()     # reset by the emulated watchdog during the current fault
        self.crashes = []            # agents found dead that the nemesis did not kill
        self.lost = []               # groups neither running once nor reported blocked, late in a fault
        self.confirmed = None        # the node last confirmed down
        self.current = "start"
        self.cut_nodes = set()
        self.frozen_storage = set()
        self.stopped_storage = set()
        self.t0 = time.monotonic()

    # -- bookkeeping -------------------------------------------------------------------------------------------

    def event(self, what, **kw):
        kw = {"t": round(time.monotonic() - self.t0, 3), "what": what, **kw}
        self.events.write(json.dumps(kw) + "\n")
        if self.args.verbose:
            print(json.dumps(kw), flush=True)

    def poll_sampler(self):
        """Reads the sampler's new lines; returns the violations among them."""
        new = []
        try:
            with open(self.sampler_log) as f:
                f.seek(self.sampler_pos)
                for line in f:
                    if not line.endswith("\n"):
                        break
                    self.sampler_pos += len(line)
                    e = json.loads(line)
                    if e["kind"] == "violation":
                        new.append(e)
        except FileNotFoundError:
            pass
        for v in new:
            v["step"] = self.current
            self.violations.append(v)
            print(f"chaos: VIOLATION during step {self.current}: {v['group']} active on {v['nodes']}", flush=True)
            self.event("violation", **v)
        return new

    def observe(self, seconds):
        """Lets `seconds` pass, reading the sampler's verdicts meanwhile."""
        end = time.monotonic() + seconds
        while True:
            self.poll_sampler()
            left = end - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(0.05, left))

    # -- targets -----------------------------------------------------------------------------------------------

    def resolve(self, spec, fallback, exclude=()):
        node = None
        if spec == "@coordinator":
            k = self.c.coordinator(self.c.statuses())
            node = k["node"] if k else None
        elif spec == "@confirmed":
            node = self.confirmed
        elif spec.startswith("@owner:"):
            node = self.c.owner(spec[7:])
        else:
            node = spec
        if node is None or node in exclude:
            node = fallback if fallback not in exclude else next(n for n in self.c.nodes if n not in exclude)
        return node

    # -- faults ------------------------------------------------------------------------------------------------

    def watchdog(self, node):
        """The emulated watchdog: reset NODE watchdog_timeout from now unless the fault is healed first."""
        if not self.c.storage or self.args.no_watchdog:
            return
        def reset():
            with self.lock:
                if node not in self.armed:
                    return
                self.armed.discard(node)
                self.c.tb("crash", node, check=False)
                self.c.frozen.discard(node)
                self.c.down_agents.add(node)
                self.reset_nodes.add(node)
                self.resets += 1
            self.event("watchdog-reset", node=node)
        t = threading.Timer(clusterlib.WATCHDOG_TIMEOUT, reset)
        t.daemon = True
        self.armed.add(node)
        self.timers.append(t)
        t.start()

    def disarm(self, node):
        """Heals a kill or freeze: returns True if the watchdog had already reset the node."""
        with self.lock:
            self.armed.discard(node)
            was = node in self.reset_nodes
            self.reset_nodes.discard(node)
            return was

    def apply(self, step):
        """Injects the step's fault; returns the function that heals it."""
        c, kind = self.c, step["kind"]
        node = self.resolve(step["node"], step["fallback"])
        info = {"node": node}
        heal = None
        if kind == "kill":
            c.tb("kill", node)
            c.down_agents.add(node)
            self.watchdog(node)
            def heal():
                self.disarm(node)
                c.start(node)
        elif kind == "kill-restart":
            c.tb("kill", node)
            c.down_agents.add(node)
            c.start(node)
            heal = lambda: None  # noqa: E731
        elif kind == "freeze":
            c.tb("freeze", node)
            c.frozen.add(node)
            self.watchdog(node)
            def heal():
                if self.disarm(node):
                    c.start(node)
                else:
                    c.tb("thaw", node)
                    c.frozen.discard(node)
        elif kind in ("crash", "crash-confirm"):
            c.tb("crash", node)
            c.down_agents.add(node)
            if kind == "crash-confirm":
                info["confirmed"] = self.confirm_down(node)
            heal = lambda: c.start(node)  # noqa: E731
        elif kind == "cut-confirm":
            c.tb("cut", node)
            self.cut_nodes.add(node)
            info["confirmed"] = self.confirm_cut(node)
            def heal():
                c.tb("heal", node)
                self.cut_nodes.discard(node)
        elif kind == "leave":
            c.tb("stop", node, check=False)
            c.tb("kill", node, check=False)   # if the controlled stop did not end within the script's 10 s
            c.down_agents.add(node)
            heal = lambda: c.start(node)  # noqa: E731
        elif kind == "cut":
            c.tb("cut", node)
            self.cut_nodes.add(node)
            def heal():
                c.tb("heal", node)
                self.cut_nodes.discard(node)
        elif kind == "partition":
            minority = [node] + [n for n in step["others"] if n != node][:step["size"] - 1]
            rest = [n for n in c.nodes if n not in minority]
            info["minority"] = minority
            c.tb("partition", ",".join(minority), ",".join(rest))
            heal = lambda: c.tb("netheal", "all")  # noqa: E731
        elif kind == "oneway":
            to = self.resolve(step["to"], step["to_fallback"], exclude=(node,))
            info["to"] = to
            c.tb("block", node, to)
            heal = lambda: c.tb("netheal", "all")  # noqa: E731
        elif kind in ("deaf", "mute"):
            c.tb(kind, node)
            heal = lambda: c.tb("netheal", node)  # noqa: E731
        elif kind in ("storage-freeze", "storage-freeze-cut"):
            target = step["target"]
            info["target"] = target
            c.tb("storage-freeze", target)
            self.frozen_storage.add(target)
            if kind == "storage-freeze-cut":
                c.tb("cut", node)
                self.cut_nodes.add(node)
            else:
                info.pop("node")
            def heal():
                c.tb("storage-thaw", target)
                self.frozen_storage.discard(target)
                if kind == "storage-freeze-cut":
                    c.tb("heal", node)
                    self.cut_nodes.discard(node)
        elif kind == "lossy":
            info["loss"] = step["loss"]
            c.tb("lossy", node, str(step["loss"]))
            heal = lambda: c.tb("netheal", node)  # noqa: E731
        elif kind == "res-kill":
            pids = c.scan().get(step["group"], {}).get(node, [])
            info.update(group=step["group"], pids=pids)
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            heal = lambda: self.cleanup_failures()  # noqa: E731
        elif kind == "storage-restart":
            target = step["target"]
            info = {"target": target}
            c.tb("storage-stop", target)
            self.stopped_storage.add(target)
            def heal():
                c.tb("storage-start", target)
                self.stopped_storage.discard(target)
        elif kind in ("failstart", "hang"):
            # failstart: every start on NODE fails; hang: every operation there (start, stop, status) hangs until
            # the agent's timeout kills it. Meanwhile "group" is moved to NODE.
            flag = os.path.join(c.run, f"{kind}.{node}")
            open(flag, "w").close()
            info["group"] = step["group"]
            self.operation({"i": step["i"], "kind": "move", "group": step["group"], "node": node})
            def heal():
                os.remove(flag)
                if kind == "hang":
                    self.wait_hung_operations()
                self.cleanup_failures()
        elif kind == "failstop":
            # Every stop fails while the group is moved away from where it runs: the stop fails, the old owner
            # keeps it (blocked), and it must start nowhere else until an operator's cleanup after the fix.
            flag = os.path.join(c.run, "failstop")
            open(flag, "w").close()
            to = self.resolve(step["to"], step["fallback"], exclude=(node,))
            info.update(group=step["group"], to=to)
            self.operation({"i": step["i"], "kind": "move", "group": step["group"], "node": to})
            def heal():
                os.remove(flag)
                self.cleanup_failures()
        self.event("fault", step=step["i"], kind=kind, duration=step["duration"], **info)
        return heal

    def wait_hung_operations(self, timeout=20):
        """Until no operation of the chaos agent still hangs (each is killed by the agent's timeout: stop 10 s,
        start 8 s, status 3 s), so that the cleanup after a hang comes after its last failure."""
        prefix = f"vigil-hang:{self.c.name}:".encode()
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            hung = []
            for entry in os.scandir("/proc"):
                if entry.name.isdigit():
                    try:
                        with open(f"/proc/{entry.name}/cmdline", "rb") as f:
                            if f.read(128).startswith(prefix):
                                hung.append(entry.name)
                    except OSError:
                        pass
            if not hung:
                return
            self.observe(0.1)
        self.event("hang-outlived", why=f"operations still hung {timeout} s after the heal")

    def cleanup_failures(self):
        """What an operator does once a failing resource is fixed: `vigil cleanup GROUP NODE` wherever a group is
        blocked or has failed max_restarts (2) times, as the coordinator sees it (sent to NODE itself if its agent
        answers, else to the coordinator)."""
        s = self.c.statuses()
        k = self.c.coordinator(s)
        if not k:
            self.event("cleanup-skipped", why="no coordinator")
            return
        for gs in k["groups"]:
            phases, failures = gs.get("nodes", {}), gs.get("failures", {})
            for n in sorted(set(phases) | set(failures)):
                if phases.get(n) == "blocked" or failures.get(n, 0) >= 2:
                    via = n if n in s else k["node"]
                    try:
                        reply = self.c.request(via, f"cleanup {gs['name']} {n}").strip()
                    except OSError as e:
                        reply = f"error: {e}"
                    self.ops["cleanup"] += 1
                    self.event("op", kind="cleanup", group=gs["name"], node=n, via=via, reply=reply)

    def confirm_down(self, node):
        """After a crash: once the coordinator sees NODE dead, `confirm-down NODE` to it (it is really down)."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < 5:
            s = self.c.statuses()
            k = self.c.coordinator(s)
            if k and k["node"] != node and any(x["name"] == node and x["state"] not in ("alive", "suspect") for x in k["nodes"]):
                try:
                    reply = self.c.request(k["node"], f"confirm-down {node}")
                except OSError as e:
                    reply = str(e)
                self.ops["confirm-down"] += 1
                self.event("op", kind="confirm-down", node=node, via=k["node"], reply=reply.strip())
                return True
            self.observe(0.05)
        self.event("confirm-down-skipped", node=node, why="no coordinator saw it dead within 5 s")
        return False

    def confirm_cut(self, node):
        """After a LAN cut: once NODE runs no group (by the OS: it lost quorum and stopped them) and the
        coordinator on the other side sees it dead, `confirm-down NODE`. True, in effect: it runs nothing. The
        node comes back with the same incarnation at the heal; the confirmation must not cover its next
        disappearance."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < 5:
            others = [n for n in self.c.live() if n != node]
            k = self.c.coordinator(self.c.statuses(others))
            runs = any(node in where for where in self.c.scan().values())
            if k and not runs and any(x["name"] == node and x["state"] not in ("alive", "suspect") for x in k["nodes"]):
                try:
                    reply = self.c.request(k["node"], f"confirm-down {node}")
                except OSError as e:
                    reply = str(e)
                self.ops["confirm-down"] += 1
                self.confirmed = node
                self.event("op", kind="confirm-down", node=node, via=k["node"], reply=reply.strip())
                return True
            self.observe(0.05)
        self.event("confirm-down-skipped", node=node, why="it still ran a group, or no coordinator saw it dead, within 5 s")
        return False

    def operation(self, step):
        kind = step["kind"]
        node = step.get("node")
        if node and node.startswith("@"):
            node = self.resolve(node, self.c.nodes[0])
        line = {"standby": f"standby {node}", "unstandby": f"unstandby {node}",
                "move": f"move {step.get('group')} {node}", "unmove": f"unmove {step.get('group')}"}[kind]
        k = self.c.coordinator(self.c.statuses())
        via = k["node"] if k else (self.c.live() or [None])[0]
        try:
            reply = self.c.request(via, line).strip() if via else "no live agent"
        except OSError as e:
            reply = f"error: {e}"
        self.ops[kind] += 1
        self.event("op", step=step["i"], kind=kind, request=line, via=via, reply=reply)

    # -- the run -----------------------------------------------------------------------------------------------

    def heal_everything(self):
        """Undoes every fault and operation: storage thawed, links healed, agents thawed or started, standby
        and pins lifted. Used at the end, on errors and on SIGINT."""
        c = self.c
        with self.lock:
            self.armed.clear()
        for t in self.timers:
            t.cancel()
        c.tb("netheal", "all", check=False)
        for kind in sorted(self.stopped_storage):
            c.tb("storage-start", kind, check=False)
        self.stopped_storage.clear()
        for f in ["failstop"] + [f"{k}.{n}" for k in ("failstart", "hang") for n in c.nodes]:
            try:
                os.remove(os.path.join(c.run, f))
            except OSError:
                pass
        for kind in c.storage:
            c.tb("storage-thaw", kind, check=False)
        for n in c.nodes:
            c.tb("heal", n, check=False)
        for n in sorted(c.frozen):
            c.tb("thaw", n, check=False)
        c.frozen.clear()
        for n in c.nodes:
            if not c.tb("pid", n, check=False).strip():
                c.down_agents.add(n)
        if c.down_agents:
            c.start(*sorted(c.down_agents))
        self.cut_nodes.clear()
        self.frozen_storage.clear()

    def lift_operations(self):
        """unstandby every node and unmove every group (through a live coordinator, retried until accepted)."""
        c = self.c
        t0 = time.monotonic()
        while time.monotonic() - t0 < 20:
            k = c.coordinator(c.statuses())
            if k:
                try:
                    for n in c.nodes:
                        c.request(n, f"unstandby {n}")
                    for g in c.groups:
                        c.request(k["node"], f"unmove {g}")
                    return True
                except OSError:
                    pass
            self.observe(0.2)
        return False

    def check_accounted(self, step):
        """Before the heal of a fault that lasted long enough: every group must be accounted for (running once,
        or the coordinator says why not), within --account-timeout more seconds; else it is silently lost, a
        violation. The fault is held meanwhile."""
        t0 = time.monotonic()
        # A hang may hold a group in `stopping` for a whole chain of timeouts before it is reported blocked: the
        # monitor's (3 s), the stop's (10 s), the status after the failed stop (3 s).
        timeout = self.args.account_timeout + (16 if step["kind"] == "hang" else 0)
        while True:
            ok, why = self.c.accounted()
            if ok:
                return
            if time.monotonic() - t0 >= timeout:
                break
            self.observe(0.05)
        lost = {"step": step["i"], "kind": step["kind"], "why": why}
        self.lost.append(lost)
        print(f"chaos: LOST during step {step['i']} ({step['kind']}): {why}", flush=True)
        self.event("lost", **lost)

    def check_agents(self):
        """Every agent the nemesis did not stop must still run: one that died by itself is a finding (its log
        tail is kept in events.jsonl); it is started again."""
        c = self.c
        for n in c.nodes:
            if n in c.down_agents or c.tb("pid", n, check=False).strip():
                continue
            tail = ""
            try:
                with open(f"{c.run}/{n}.log", errors="replace") as f:
                    tail = f.read()[-3000:]
            except OSError:
                pass
            self.crashes.append({"step": self.current, "node": n})
            print(f"chaos: the agent of {n} DIED by itself during step {self.current}; log tail:\n{tail}", flush=True)
            self.event("agent-died", node=n, log_tail=tail)
            c.frozen.discard(n)
            c.start(n)

    def run(self, steps, minutes):
        c, args = self.c, self.args
        end = time.monotonic() + minutes * 60
        for step in steps:
            if time.monotonic() >= end:
                break
            self.current = step["i"]
            if step["type"] == "op":
                self.operation(step)
                if step.get("settle"):
                    took, why = c.wait_settled(10)
                    self.event("settled" if took is not None else "unsettled", step=step["i"], why=why)
                self.observe(random.Random(step["i"]).uniform(0, 0.5))
                continue
            heal = self.apply(step)
            self.faults[step["kind"]] += 1
            self.observe(step["duration"])
            if step["duration"] >= args.account_after:
                self.check_accounted(step)
            heal()
            self.event("heal", step=step["i"])
            self.check_agents()
            took, why = c.wait_settled(args.heal_timeout)
            self.poll_sampler()
            if took is None:
                self.unsettled.append({"step": step["i"], "kind": step["kind"], "why": why})
                self.event("unsettled", step=step["i"], why=why)
                print(f"chaos: step {step['i']} ({step['kind']}): not settled {args.heal_timeout:.0f} s after the heal: {why}", flush=True)
            else:
                self.event("settled", step=step["i"], seconds=round(took, 3))
            self.observe(step["gap"])
        self.current = "final"
        self.heal_everything()
        self.lift_operations()
        self.cleanup_failures()
        took, why = c.wait_settled(args.final_timeout)
        self.poll_sampler()
        self.event("final", settled=took is not None, seconds=took and round(took, 3), why=why)
        return took, why


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, required=True)
    p.add_argument("--nodes", type=int, default=3, choices=[3, 5])
    p.add_argument("--seed", type=int)
    p.add_argument("--groups", type=int, help="default: 3 with 3 nodes, 4 with 5")
    p.add_argument("--migratable", type=int, default=1,
                   help="how many groups (g1, ...) use the chaos agent's migratable mode, the vm agent's handover (default 1)")
    p.add_argument("--storage", default="iscsi,aoe", help="iscsi,aoe (default), iscsi, aoe or none")
    p.add_argument("--no-watchdog", action="store_true", help="do not emulate a watchdog device (see above)")
    p.add_argument("--schedule", help="replay the steps of a saved schedule.json instead of drawing them")
    p.add_argument("--faults", help="draw only these fault kinds (comma list, e.g. hang,failstop,res-kill)")
    p.add_argument("--heal-timeout", type=float, default=30.0)
    p.add_argument("--account-after", type=float, default=2.0,
                   help="faults lasting at least this long are checked before their heal: every group accounted for")
    p.add_argument("--account-timeout", type=float, default=10.0)
    p.add_argument("--final-timeout", type=float, default=60.0)
    p.add_argument("--name", default="chaos", help="testbed name (namespaces vt-NAME-*)")
    p.add_argument("--out", help="default: bench/results/chaos-SEED")
    p.add_argument("--verbose", action="store_true", help="print every event")
    args = p.parse_args()
    if os.geteuid() != 0:
        print("chaos.sh: needs root (network namespaces)", file=sys.stderr)
        return 2
    repo = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    storage = [] if args.storage == "none" else args.storage.split(",")
    if any(k not in ("iscsi", "aoe") for k in storage):
        p.error("--storage: iscsi, aoe, iscsi,aoe or none")
    groups = args.groups or (3 if args.nodes == 3 else 4)
    if args.schedule:
        saved = json.load(open(args.schedule))
        steps = saved["steps"]
        seed = saved["seed"]
    else:
        seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 10**6)
        nodes = [f"n{i}" for i in range(1, args.nodes + 1)]
        kinds = args.faults.split(",") if args.faults else None
        unknown = sorted(set(kinds or ()) - set(schedulelib.FAULTS))
        if unknown:
            p.error(f"--faults: no fault kind {', '.join(unknown)} (kinds: {', '.join(schedulelib.FAULTS)})")
        steps = schedulelib.generate(seed, nodes, [f"g{i}" for i in range(1, groups + 1)], storage, kinds=kinds)
    out = os.path.abspath(args.out or os.path.join(repo, "bench", "results", f"chaos-{seed}"))
    os.makedirs(out, exist_ok=True)
    for f in ("events.jsonl", "sampler.jsonl"):
        if os.path.exists(os.path.join(out, f)):
            os.unlink(os.path.join(out, f))
    vigil = os.environ.get("VIGIL_BIN", os.path.join(repo, ".build", "debug", "vigil"))
    if not os.access(vigil, os.X_OK):
        print(f"chaos.sh: no vigil binary at {vigil} (swift build, or set VIGIL_BIN)", file=sys.stderr)
        return 2
    with open(os.path.join(out, "schedule.json"), "w") as f:
        json.dump({"seed": seed, "nodes": args.nodes, "groups": groups, "migratable": args.migratable, "storage": storage, "minutes": args.minutes,
                   "watchdog": bool(storage) and not args.no_watchdog, "vigil": vigil, "steps": steps}, f, indent=1)
    print(f"chaos: seed {seed}, {args.nodes} nodes, {groups} groups, storage {','.join(storage) or 'none'}, "
          f"{args.minutes:g} min; watchdog {'emulated' if storage and not args.no_watchdog else 'none'}; output {out}", flush=True)

    c = clusterlib.Cluster(repo, args.name, args.nodes, groups, storage, vigil, out, migratable=args.migratable)
    n = Nemesis(c, args, out)
    sampler_proc = None

    def interrupt(signum, frame):
        raise Interrupted(signal.Signals(signum).name)
    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
    code = 2
    final = (None, "not reached")
    try:
        c.up()
        sampler_proc = subprocess.Popen([sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "sampler.py"),
                                         "--name", args.name, "--nodes", ",".join(c.nodes), "--out", n.sampler_log])
        c.start("all")
        c.down_agents.clear()
        took, why = c.wait_settled(60)
        if took is None:
            raise clusterlib.TestbedError(f"the cluster did not settle at start: {why}")
        n.event("start", settled_after=round(took, 3))
        final = n.run(steps, args.minutes)
        code = 0
    except Interrupted as e:
        print(f"chaos: interrupted ({e}); cleaning up", flush=True)
        code = 130
    except clusterlib.TestbedError as e:
        print(f"chaos: testbed error: {e}", file=sys.stderr, flush=True)
        n.event("error", error=str(e))
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            if code not in (0,):
                n.heal_everything()
        except Exception as e:  # noqa: BLE001 - cleanup must go on
            print(f"chaos: heal during cleanup failed: {e}", file=sys.stderr)
        if sampler_proc:
            sampler_proc.terminate()
            try:
                sampler_proc.wait(10)
            except subprocess.TimeoutExpired:
                sampler_proc.kill()
        n.poll_sampler()
        lost = final[0] is None and code == 0
        if n.violations or n.lost or lost or code not in (0, 130):
            c.collect_logs(os.path.join(out, "logs"))
        c.down()

    stats = {}
    try:
        stats = [json.loads(l) for l in open(n.sampler_log) if '"stats"' in l][-1]
    except (OSError, IndexError, ValueError):
        pass
    violations = len(n.violations) + len(n.lost) + (1 if lost else 0)
    lines = [f"seed {seed}: {sum(n.faults.values())} faults: " + ", ".join(f"{k} {v}" for k, v in sorted(n.faults.items())),
             f"operations: {sum(n.ops.values())}: " + ", ".join(f"{k} {v}" for k, v in sorted(n.ops.items())),
             f"watchdog resets (emulated): {n.resets}",
             f"heals not settled within {args.heal_timeout:g} s: {len(n.unsettled)}"
             + "".join(f"\n  step {u['step']} ({u['kind']}): {u['why']}" for u in n.unsettled),
             f"sampler: {stats.get('samples', '?')} samples, mean period {stats.get('mean_ms', '?')} ms, longest gap {stats.get('max_gap_ms', '?')} ms",
             f"agents that died by themselves: {len(n.crashes)}" + "".join(f"\n  step {x['step']}: {x['node']}" for x in n.crashes),
             f"groups silently lost during a fault (neither running once nor reported blocked {args.account_timeout:g} s after it had lasted {args.account_after:g} s): {len(n.lost)}"
             + "".join(f"\n  step {x['step']} ({x['kind']}): {x['why']}" for x in n.lost),
             f"violations: {len(n.violations)} (a group active on two nodes)"
             + "".join(f"\n  step {v['step']}: {v['group']} on {v['nodes']}" for v in n.violations)]
    if code == 0:
        lines.append(f"final: every group running exactly once after {final[0]:.1f} s" if final[0] is not None
                     else f"final: NOT every group running exactly once within {args.final_timeout:g} s: {final[1]}")
    lines.append(f"replay: bench/chaos.sh --minutes {args.minutes:g} --nodes {args.nodes} --groups {groups} --migratable {args.migratable} "
                 f"--storage {','.join(storage) or 'none'} --seed {seed}{' --no-watchdog' if args.no_watchdog else ''}"
                 f"  (or --schedule {out}/schedule.json)")
    lines.append(f"chaos: {sum(n.faults.values())} faults, {sum(n.ops.values())} operations, {violations} violations")
    text = "\n".join(lines)
    print(text, flush=True)
    with open(os.path.join(out, "summary.txt"), "w") as f:
        f.write(text + "\n")
    if code != 0:
        return code
    return 1 if violations or n.crashes else 0


if __name__ == "__main__":
    sys.exit(main())
