"""The chaos bench's handle on a testbed: scripts/vigil-testbed for everything that changes the world, the
agents' control sockets (one-line requests, `status` as JSON) for what they believe, sampler.scan for the truth."""
import os
import subprocess
import sys
import time

import sampler

# The one control-socket client (bench/lib/vigiltools/control.py).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
from vigiltools import control  # noqa: E402

# The namespace tests' timing and storage settings (FailoverTests.timing, StorageTests.storageConf).
TIMING = ["--interval", "50ms", "--warntime", "150ms", "--deadtime", "300ms", "--initdead", "2s"]
STORAGE_CONF = ['self_fence = "stop-resources"', 'interval = "100ms"', 'io_timeout = "500ms"',
                'watchdog_timeout = "1s"', 'msgwait = "2s"']
WATCHDOG_TIMEOUT = 1.0
MSGWAIT = 2.0


class TestbedError(Exception):
    pass


class Cluster:
    def __init__(self, repo, name, nodes, groups, storage, vigil_bin, log, migratable=0):
        self.repo, self.name, self.storage, self.log, self.migratable = repo, name, storage, log, migratable
        self.nodes = [f"n{i}" for i in range(1, nodes + 1)]
        self.groups = [f"g{i}" for i in range(1, groups + 1)]
        self.script = os.path.join(repo, "scripts", "vigil-testbed")
        self.agents = os.path.join(repo, "Tests", "VigilIntegrationTests", "agents")
        self.run = f"/tmp/vigil-testbed-{name}"
        self.env = dict(os.environ, VIGIL_BIN=vigil_bin)
        self.nsmap = {}
        self.frozen = set()      # agents SIGSTOPped: never ask them anything (their socket accepts, nobody answers)
        self.down_agents = set()  # agents not running

    # -- the testbed script --------------------------------------------------------------------------------------

    def tb(self, cmd, *args, check=True, timeout=120):
        argv = ["bash", self.script, cmd, "--name", self.name, *args]
        try:
            r = subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise TestbedError(f"vigil-testbed {cmd} {' '.join(args)}: no answer within {timeout} s")
        if check and r.returncode != 0:
            raise TestbedError(f"vigil-testbed {cmd} {' '.join(args)} failed ({r.returncode}): {r.stdout}{r.stderr}")
        return r.stdout

    def up(self):
        # The groups as vigil-testbed --groups writes them (homes n1, n2, ...), the first `migratable` of them in
        # the chaos agent's migratable mode (the vm agent's handover: the source leaves it running, the target
        # takes it over).
        path = os.path.join(self.log, "groups.conf")
        with open(path, "w") as f:
            for i, g in enumerate(self.groups):
                mode = " migratable" if i < self.migratable else ""
                f.write(f'\n[[group]]\nname = "{g}"\nhome = "{self.nodes[i % len(self.nodes)]}"\n'
                        f'resources = ["chaos {g}{mode}"]\nmonitor_interval = "1s"\nstop_timeout = "10s"\n'
                        'start_timeout = "8s"\nstatus_timeout = "3s"\n')
        args = ["--nodes", str(len(self.nodes)), "--groups", "0", "--append", path, "--fencing", "required",
                "--agent", "chaos", "--agent-dir", self.agents, *TIMING]
        if self.storage:
            args += ["--storage", ",".join(self.storage)]
            for line in STORAGE_CONF:
                args += ["--storage-conf", line]
        self.tb("up", *args)
        self.nsmap = sampler.netns_map(self.name, self.nodes)

    def down(self):
        self.tb("down", check=False)

    def start(self, *nodes):
        self.tb("start", *nodes)
        self.down_agents -= set(nodes)

    # -- the agents ----------------------------------------------------------------------------------------------

    def request(self, node, line, timeout=2.0):
        return control.request(f"{self.run}/{node}.sock", line, timeout).decode()

    def status(self, node):
        if node in self.frozen or node in self.down_agents:
            return None
        return control.try_status(f"{self.run}/{node}.sock", timeout=2.0)

    def live(self):
        return [n for n in self.nodes if n not in self.frozen and n not in self.down_agents]

    def statuses(self, nodes=None):
        out = {}
        for n in nodes if nodes is not None else self.live():
            s = self.status(n)
            if s is not None:
                out[n] = s
        return out

    @staticmethod
    def coordinator(statuses):
        """The status of the coordinator with the highest term among those claiming the role."""
        cs = [s for s in statuses.values() if s["role"] == "coordinator"]
        return max(cs, key=lambda s: s["term"]) if cs else None

    @staticmethod
    def group(status, g):
        return next((x for x in (status or {}).get("groups", []) if x["name"] == g), None)

    # -- the truth -------------------------------------------------------------------------------------------------

    def scan(self):
        return sampler.scan(self.name, self.nsmap)

    def settled(self, full=True):
        """Every live agent answers and agrees on one quorate coordinator (with full: every node is alive in every
        view), and every group runs on exactly one node by the OS, with every status naming that node as the
        running owner. Returns (ok, why)."""
        live = self.live()
        s = self.statuses(live)
        if len(s) != len(live):
            return False, f"no status from {sorted(set(live) - set(s))}"
        coords = {(r["coordinator"], r["term"]) for r in s.values()}
        if len(coords) != 1 or None in {c for c, _ in coords} or not all(r["quorate"] for r in s.values()):
            return False, f"no agreed coordinator: {sorted((n, r['coordinator'], r['term'], r['quorate']) for n, r in s.items())}"
        if sum(r["role"] == "coordinator" for r in s.values()) > 1:
            return False, "two nodes claim the coordinator role"
        if full and not all(x["state"] == "alive" for r in s.values() for x in r["nodes"]):
            return False, "not every node alive in every view"
        truth = self.scan()
        for g in self.groups:
            where = sorted(truth.get(g, {}))
            if len(where) != 1:
                c = self.coordinator(s)
                gs = self.group(c, g) or {}
                return False, f"{g} runs on {where or 'no node'} ({gs.get('state')}, owner {gs.get('owner')}: {gs.get('reason')})"
            for n, r in s.items():
                gs = self.group(r, g)
                if not gs or gs["state"] != "running" or gs["owner"] != where[0]:
                    return False, f"{g} runs on {where[0]}, but {n} says {gs and (gs['state'], gs['owner'])}"
        return True, "settled"

    def accounted(self):
        """Every group is accounted for, as the live agents' coordinator (highest term) sees it: it runs on
        exactly one node by the OS and the coordinator names that node as the running owner, or the coordinator
        says why it cannot run (BLOCKED, or waiting for a fence). Returns (ok, why)."""
        s = self.statuses()
        k = self.coordinator(s)
        if not k:
            return False, f"no coordinator among {sorted(s)}"
        truth = self.scan()
        for g in self.groups:
            gs = self.group(k, g) or {}
            reason = gs.get("reason", "")
            if gs.get("state") == "blocked" or "BLOCKED" in reason or reason.startswith("fencing ") or "; fencing " in reason:
                continue
            where = sorted(truth.get(g, {}))
            if len(where) > 1:
                continue   # not lost: running twice, which the sampler reports
            if len(where) != 1 or gs.get("state") != "running" or gs.get("owner") != where[0]:
                return False, f"{g} runs on {where or 'no node'}; coordinator {k['node']} (term {k['term']}) says {gs.get('state')}, owner {gs.get('owner')}: {reason}"
        return True, "accounted"

    def wait_settled(self, timeout, full=True):
        """Polls settled() until it holds or `timeout` seconds pass. Returns (seconds or None, last reason)."""
        t0 = time.monotonic()
        why = ""
        while time.monotonic() - t0 < timeout:
            ok, why = self.settled(full)
            if ok:
                return time.monotonic() - t0, why
            time.sleep(0.02)
        return None, why

    def owner(self, g):
        where = self.scan().get(g, {})
        return next(iter(where)) if len(where) == 1 else None

    def collect_logs(self, dest):
        """Copies the agents' logs, ops.log and cluster.conf into dest (before `down` removes the run dir)."""
        os.makedirs(dest, exist_ok=True)
        for f in sorted(os.listdir(self.run)) if os.path.isdir(self.run) else []:
            if f.endswith(".log") or f in ("cluster.conf",):
                try:
                    with open(os.path.join(self.run, f), "rb") as src, open(os.path.join(dest, f), "wb") as dst:
                        dst.write(src.read())
                except OSError:
                    pass
