"""bench/fencing.sh: how long after a hard failure of a group's owner the survivors have fenced it and run the
group elsewhere (see the script's header for what is measured).

    python3 -m vigiltools.fencing REPO NAME RUNS crash|cut      (VIGIL_BIN must be set; VIGIL_TESTBED_DIR optional)
"""
import os
import statistics
import subprocess
import sys
import time

from vigiltools import control

NODES = ["n1", "n2", "n3"]
STORAGE_CONF = ['self_fence = "stop-resources"', 'interval = "100ms"', 'io_timeout = "500ms"',
                'watchdog_timeout = "1s"', 'msgwait = "2s"']
TIMING = ["--interval", "50ms", "--warntime", "150ms", "--deadtime", "300ms", "--initdead", "2s"]
# crash: msgwait after the pill was written, or (usually first) the slot still for msgwait since it was due dead.
EXPECTED = {"crash": ("msgwait", "its slot has been still for msgwait"), "cut": ("acknowledged",)}
POLL = 0.010
LIMIT = 20.0  # seconds after the failure before a run counts as failed

READY = ("len(s) == 3"
         " and all(any(g['name'] == 'g1' and g['state'] == 'running' and g['owner'] for g in v['groups'])"
         " for v in s.values())"
         " and len({g['owner'] for v in s.values() for g in v['groups'] if g['name'] == 'g1'}) == 1"
         " and all(v['storage'] and all(d['state'] in ('ok', 'slow') for d in v['storage']['devices'])"
         " and all(p['disk'] == 'alive' for p in v['storage']['peers']) for v in s.values())")


def journal_starts(j, victim, t0_wall):
    """Starts of g1 on other nodes than the victim after t0 (journal lines [ns, node, group, action, phase, ...])."""
    return [o for o in j if o[2] == "g1" and o[3] == "start" and o[4] == "begin" and o[1] != victim
            and int(o[0]) > t0_wall]


def check(mode, how, j, victim, t0_wall):
    """The problems of one run: the fence went the expected way, one start elsewhere, for cut the stop first."""
    expected = EXPECTED[mode]
    starts = journal_starts(j, victim, t0_wall)
    problems = []
    if not how or not how.startswith(expected):  # str.startswith takes a tuple
        problems.append(f"fenced by '{how}', expected {expected}")
    if len(starts) != 1:
        problems.append(f"{len(starts)} starts of g1 elsewhere after the failure: {starts}")
    if mode == "cut" and starts:
        stops = [o for o in j if o[1] == victim and o[2] == "g1" and o[3] == "stop" and o[4] == "end"
                 and int(o[0]) > t0_wall]
        if not stops:
            problems.append(f"{victim} logged no end of a stop of g1")
        elif int(stops[0][0]) > int(starts[0][0]):
            problems.append(f"start on {starts[0][1]} began before {victim}'s stop ended")
    return problems


def fmt(x):
    return "-" if x is None else f"{x:7.1f}"


class Bench:
    def __init__(self, repo, name, mode):
        self.repo, self.name, self.mode = repo, name, mode
        self.testbed = os.path.join(repo, "scripts", "vigil-testbed")
        self.run_dir = os.environ.get("VIGIL_TESTBED_DIR", f"/tmp/vigil-testbed-{name}")

    def tb(self, *args, check=True, timeout=120):
        r = subprocess.run([self.testbed, args[0], "--name", self.name, *args[1:]], capture_output=True, text=True,
                           timeout=timeout)
        if check and r.returncode != 0:
            raise RuntimeError(f"vigil-testbed {' '.join(args)} failed ({r.returncode}):\n{r.stdout}{r.stderr}")
        return r

    def status(self, node):
        return control.try_status(f"{self.run_dir}/{node}.sock", timeout=1.0)

    def ops(self):
        """The journal: [ns, node, group, action, begin|end|failed, reason, peer]."""
        try:
            return [l.split() for l in open(f"{self.run_dir}/ops.log") if l.strip()]
        except OSError:
            return []

    def tail(self, node, n=40):
        try:
            return "".join(open(f"{self.run_dir}/{node}.log").readlines()[-n:])
        except OSError:
            return ""

    def one_run(self, r):
        mode = self.mode
        up = ["up", "--nodes", "3", "--groups", "1", "--fencing", "required", "--storage", "iscsi",
              "--agent", "journal", "--agent-dir", os.path.join(self.repo, "Tests", "VigilIntegrationTests", "agents"),
              *TIMING]
        for c in STORAGE_CONF:
            up += ["--storage-conf", c]
        self.tb(*up)
        self.tb("start", "all")
        self.tb("wait", "--timeout", "30", READY, timeout=60)
        st = {n: self.status(n) for n in NODES}
        coordinator = next(v["coordinator"] for v in st.values() if v)
        victim = next(g["owner"] for g in st[NODES[0]]["groups"] if g["name"] == "g1")
        survivors = [n for n in NODES if n != victim]

        t0_wall = time.time_ns()
        t0 = time.monotonic()
        cmd = subprocess.Popen([self.testbed, mode, "--name", self.name, victim], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
        t_cmd = None
        t = {"dead": None, "fenced": None, "restarted": None}
        how = new_owner = None
        while time.monotonic() - t0 < LIMIT:
            if t_cmd is None and cmd.poll() is not None:
                t_cmd = time.monotonic() - t0
                if cmd.returncode != 0:
                    raise RuntimeError(f"vigil-testbed {mode} {victim} failed: {cmd.stdout.read()}")
            tick = time.monotonic()
            for n in survivors:
                v = self.status(n)
                if not v or v.get("role") != "coordinator":
                    continue
                now = time.monotonic() - t0
                node = next((x for x in v["nodes"] if x["name"] == victim), None)
                if t["dead"] is None and node and node["state"] in ("dead", "partitioned", "fenced"):
                    t["dead"] = now
                f = next((x for x in (v.get("storage") or {}).get("fencing", []) if x["node"] == victim), None)
                if t["fenced"] is None and f and f.get("done"):
                    t["fenced"], how = now, f["done"]
                g = next((x for x in v["groups"] if x["name"] == "g1"), None)
                if t["restarted"] is None and g and g["state"] == "running" and g["owner"] not in (None, victim):
                    t["restarted"], new_owner = now, g["owner"]
            if all(x is not None for x in t.values()) and t_cmd is not None:
                break
            time.sleep(max(0.0, POLL - (time.monotonic() - tick)))
        if cmd.poll() is None:
            cmd.wait(timeout=30)
        if t_cmd is None:
            t_cmd = time.monotonic() - t0
        missing = [k for k, x in t.items() if x is None]
        if missing:
            raise RuntimeError(f"run {r}: {mode} of {victim}: no {', '.join(missing)} within {LIMIT:.0f} s "
                               f"(so far {t}); coordinator log:\n" + "".join(self.tail(n) for n in survivors))

        j = self.ops()
        starts = journal_starts(j, victim, t0_wall)
        start_ms = (int(starts[0][0]) - t0_wall) / 1e6 if starts else None
        problems = check(mode, how, j, victim, t0_wall)
        return dict(victim=victim, coordinator=coordinator, new_owner=new_owner, how=how, cmd=t_cmd * 1000,
                    start=start_ms, problems=problems, **{k: x * 1000 for k, x in t.items()})


def main(argv):
    if len(argv) != 4 or argv[3] not in EXPECTED:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    repo, name, runs, mode = argv[0], argv[1], int(argv[2]), argv[3]
    binary = os.environ["VIGIL_BIN"]
    bench = Bench(repo, name, mode)
    print(f"Vigil fencing benchmark: mode {mode} ({'msgwait' if mode == 'crash' else 'acknowledgement'} path), "
          f"{runs} runs, {time.strftime('%Y-%m-%dT%H:%MZ', time.gmtime())}", flush=True)
    print(f"vigil {subprocess.run([binary, '--version'], capture_output=True, text=True).stdout.strip()} ({binary}); "
          f"3 nodes, {' '.join(TIMING)}; storage iscsi: {', '.join(c.replace(' = ', '=').replace(chr(34), '') for c in STORAGE_CONF)}",
          flush=True)
    results = []
    bad = 0
    for r in range(1, runs + 1):
        try:
            x = bench.one_run(r)
        finally:
            bench.tb("down", check=False)
        results.append(x)
        bad += bool(x["problems"])
        print(f"run {r:2d}: {mode} {x['victim']} (coordinator {x['coordinator']}, cmd {x['cmd']:.0f} ms): "
              f"dead {fmt(x['dead'])}  fenced {fmt(x['fenced'])}  restarted {fmt(x['restarted'])} on {x['new_owner']}  "
              f"start called {fmt(x['start'])} ms; fenced: {x['how']}"
              + ("" if not x["problems"] else "  PROBLEM: " + "; ".join(x["problems"])), flush=True)

    print()
    print(f"{'ms since the failure':22s} {'min':>8s} {'median':>8s} {'max':>8s}")
    for k, label in (("dead", "dead (coordinator)"), ("fenced", "fenced"), ("restarted", "restarted (running)"),
                     ("start", "start called")):
        v = [x[k] for x in results if x[k] is not None]
        if v:
            print(f"{label:22s} {min(v):8.1f} {statistics.median(v):8.1f} {max(v):8.1f}")
    print(f"vigil fencing mode={mode} runs={len(results)} restarted_ms median="
          f"{statistics.median(x['restarted'] for x in results):.1f} problems={bad}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
