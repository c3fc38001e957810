#!/usr/bin/env python3
"""Failure-detection latency of Vigil: hard failures of the coordinator in a namespace testbed.

One run: a converged 3-node cluster; the coordinator's agent is killed with SIGKILL and all its links are set
down at the bridge (the same instant, ~1 ms apart); the clock stops when EVERY survivor reports the victim
dead AND all survivors agree on a new coordinator with a higher term. Survivors are polled through their
control sockets every ~1 ms, so figures carry about +1-2 ms of polling error. The victim is then restarted
and the cluster allowed to converge again before the next run.

    bench/detection.py [--runs 20] [--nodes 3] [--profile fast|safe] [--interval 10ms --deadtime 50ms ...]

Needs root and a release build (swift build -c release); VIGIL_BIN overrides the binary.
Prints per-run figures and: vigil profile=... detection_ms min=X median=Y max=Z runs=R
"""
import argparse, os, signal, statistics, subprocess, sys, time

repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
testbed = os.path.join(repo, "scripts", "vigil-testbed")


sys.path.insert(0, os.path.join(repo, "bench", "lib"))
from vigiltools.control import try_status as status  # noqa: E402  (the one control-socket client; None on no answer)


def tb(name, *args, check=True):
    return subprocess.run([testbed, args[0], "--name", name, *args[1:]], check=check,
                          capture_output=True, text=True, env=os.environ)


def converged(run, nodes):
    st = {n: status(f"{run}/{n}.sock") for n in nodes}
    if any(v is None for v in st.values()):
        return None
    coords = {v["coordinator"] for v in st.values()}
    terms = {v["term"] for v in st.values()}
    if len(coords) != 1 or None in coords or len(terms) != 1:
        return None
    if not all(all(x["state"] == "alive" for x in v["nodes"]) for v in st.values()):
        return None
    return coords.pop(), terms.pop()


def wait_converged(run, nodes, timeout=30):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        c = converged(run, nodes)
        if c:
            return c
        time.sleep(0.02)
    raise SystemExit(f"cluster did not converge within {timeout}s")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--nodes", type=int, default=3)
    ap.add_argument("--profile", default="fast")
    ap.add_argument("--name", default="bdet")
    for k in ("interval", "warntime", "deadtime", "initdead"):
        ap.add_argument(f"--{k}")
    a = ap.parse_args()
    os.environ.setdefault("VIGIL_BIN", os.path.join(repo, ".build", "release", "vigil"))
    run = f"/tmp/vigil-testbed-{a.name}"
    nodes = [f"n{i}" for i in range(1, a.nodes + 1)]
    timing = [x for k in ("interval", "warntime", "deadtime", "initdead") if getattr(a, k)
              for x in (f"--{k}", getattr(a, k))]
    tb(a.name, "up", "--nodes", str(a.nodes), "--profile", a.profile, *timing)
    conf = open(f"{run}/cluster.conf").read()
    results = []
    try:
        tb(a.name, "start", "all")
        for r in range(a.runs):
            coord, term = wait_converged(run, nodes)
            time.sleep(0.3 + (r % 7) * 0.013)  # let the cluster settle; vary the phase against the heartbeat
            coord, term = wait_converged(run, nodes)
            victim = coord
            survivors = [n for n in nodes if n != victim]
            pid = int(tb(a.name, "pid", victim).stdout.strip())
            idx = victim[1:]
            t0 = time.monotonic()
            os.kill(pid, signal.SIGKILL)
            subprocess.run(["ip", "-n", f"vt-{a.name}-hub", "link", "set", f"n{idx}l0", "down"], check=True)
            done = None
            while time.monotonic() - t0 < 10:
                st = [status(f"{run}/{n}.sock") for n in survivors]
                if all(st):
                    dead = all(next(x for x in s["nodes"] if x["name"] == victim)["state"] == "dead" for s in st)
                    cs = {s["coordinator"] for s in st}
                    ts = {s["term"] for s in st}
                    if dead and len(cs) == 1 and None not in cs and victim not in cs and len(ts) == 1 and ts.pop() > term:
                        done = time.monotonic()
                        break
                time.sleep(0.0005)
            if done is None:
                raise SystemExit(f"run {r}: no new coordinator within 10 s")
            ms = (done - t0) * 1000
            results.append(ms)
            print(f"run {r + 1:2d}: killed {victim} (term {term}): survivors agree after {ms:6.1f} ms", flush=True)
            # Restore: restart the victim, links up.
            tb(a.name, "heal", victim)
            tb(a.name, "start", victim)
    finally:
        tb(a.name, "down", check=False)
    t = [l for l in conf.splitlines() if l.startswith(("interval", "deadtime"))]
    label = " ".join(x.split("#")[0].replace(" ", "").replace('"', "") for x in t) or "defaults"
    print(f"vigil profile={a.profile} {label} detection_ms min={min(results):.1f} "
          f"median={statistics.median(results):.1f} max={max(results):.1f} runs={len(results)}")


if __name__ == "__main__":
    main()
