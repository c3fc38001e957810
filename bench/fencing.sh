#!/usr/bin/env bash
# Fencing benchmark: how long after a hard failure of a group's owner the survivors have fenced it by poison
# pill on shared storage and run the group elsewhere.
#
# Each run is a fresh `scripts/vigil-testbed up --name sfence --nodes 3 --groups 1 --fencing required
# --storage iscsi` (the namespace tests' storage settings: self_fence stop-resources, interval 100ms,
# io_timeout 500ms, watchdog_timeout 1s, msgwait 2s; timing interval 50ms, warntime 150ms, deadtime 300ms,
# initdead 2s; g1 = the `journal` test agent, i.e. resource-agents/dummy with every start and stop logged).
# All agents start; once every node reports g1 running, storage ok and every peer alive on disk, the clock
# starts (t0) and the owner of g1 fails:
#
#   --mode crash   `vigil-testbed crash OWNER`: SIGKILL of every process in its namespace. Nothing is left to
#                  read the pill, so the survivors wait msgwait (the msgwait path: after the pill was
#                  written, or since the node was due dead while its slot stayed still, whichever ends first).
#   --mode cut     `vigil-testbed cut OWNER`: its LAN links down, its storage network alive. Its agent reads
#                  the pill, stops g1 (self_fence stop-resources) and acknowledges (the acknowledgement path).
#
# The survivors' status JSON is then polled about every 10 ms, and for the coordinator among them (at that
# poll) the first time each of these held, in ms since t0:
#
#   dead        the owner's node state is dead, partitioned or fenced
#   fenced      its storage.fencing entry for the owner has a non-null `done` (how: acknowledged or msgwait)
#   restarted   g1 is `running` with an owner other than the failed node
#   start       (from the journal) the new owner's agent called `journal g1 start`; the peers' figure in
#               ../shared/reference/peers.md is to this point
#
# and checks that the fence went the expected way (msgwait for crash, acknowledged for cut) and, for cut,
# that the failed node's stop of g1 ended before the start elsewhere began. Prints one line per run and
# min/median/max of each figure. The testbed goes down after every run, and on exit.
#
#   bench/fencing.sh [--runs 10] [--mode crash|cut]
#
# Status is read on the control socket's one-line protocol (`status\n`: the same JSON that
# `vigil status --json --socket RUN/NODE.sock` prints), not by running the CLI: on the debug build the CLI
# alone takes ~30 ms a call, which would make 10 ms polling impossible. t0 is taken just before the testbed
# command starts; its own start-up (bash, `ip`) is inside the figures, and its wall time is printed per run.
#
# Needs root, tgtd (scripts/agent-packages.txt) and a built vigil (VIGIL_BIN overrides .build/debug/vigil).
set -euo pipefail
runs=10 mode=crash
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=${2:-}; shift 2 ;;
    --mode) mode=${2:-}; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d;s/^# \{0,1\}//'; exit 0 ;;
    *) echo "fencing.sh: unknown option $1 (--runs N, --mode crash|cut)" >&2; exit 2 ;;
  esac
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "fencing.sh: --runs needs a positive number" >&2; exit 2; }
case "$mode" in crash|cut) ;; *) echo "fencing.sh: --mode must be crash or cut" >&2; exit 2 ;; esac

repo=$(cd "$(dirname "$0")/.." && pwd)
export VIGIL_BIN=${VIGIL_BIN:-$repo/.build/debug/vigil}
name=sfence
cleanup() { "$repo/scripts/vigil-testbed" down --name "$name" >/dev/null 2>&1 || echo "fencing.sh: testbed down failed" >&2; }
trap cleanup EXIT
trap 'exit 130' INT TERM

python3 - "$repo" "$name" "$runs" "$mode" <<'PY'
import json, os, socket, statistics, subprocess, sys, time

repo, name, runs, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
testbed = os.path.join(repo, "scripts", "vigil-testbed")
run_dir = os.environ.get("VIGIL_TESTBED_DIR", f"/tmp/vigil-testbed-{name}")
binary = os.environ["VIGIL_BIN"]
nodes = ["n1", "n2", "n3"]
storage_conf = ['self_fence = "stop-resources"', 'interval = "100ms"', 'io_timeout = "500ms"',
                'watchdog_timeout = "1s"', 'msgwait = "2s"']
timing = ["--interval", "50ms", "--warntime", "150ms", "--deadtime", "300ms", "--initdead", "2s"]
# crash: msgwait after the pill was written, or (usually first) the slot still for msgwait since it was due dead.
expected = {"crash": ("msgwait", "its slot has been still for msgwait"), "cut": ("acknowledged",)}[mode]
POLL = 0.010
LIMIT = 20.0  # seconds after the failure before a run counts as failed


def tb(*args, check=True, timeout=120):
    r = subprocess.run([testbed, args[0], "--name", name, *args[1:]], capture_output=True, text=True,
                       timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError(f"vigil-testbed {' '.join(args)} failed ({r.returncode}):\n{r.stdout}{r.stderr}")
    return r


def status(node):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(1.0)
    try:
        s.connect(f"{run_dir}/{node}.sock")
        s.sendall(b"status\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        return json.loads(data)
    except (OSError, ValueError):
        return None
    finally:
        s.close()


def ops():
    """The journal: [ns, node, group, action, begin|end|failed, reason, peer]."""
    try:
        return [l.split() for l in open(f"{run_dir}/ops.log") if l.strip()]
    except OSError:
        return []


def tail(node, n=40):
    try:
        return "".join(open(f"{run_dir}/{node}.log").readlines()[-n:])
    except OSError:
        return ""


READY = ("len(s) == 3"
         " and all(any(g['name'] == 'g1' and g['state'] == 'running' and g['owner'] for g in v['groups'])"
         " for v in s.values())"
         " and len({g['owner'] for v in s.values() for g in v['groups'] if g['name'] == 'g1'}) == 1"
         " and all(v['storage'] and all(d['state'] in ('ok', 'slow') for d in v['storage']['devices'])"
         " and all(p['disk'] == 'alive' for p in v['storage']['peers']) for v in s.values())")


def one_run(r):
    up = ["up", "--nodes", "3", "--groups", "1", "--fencing", "required", "--storage", "iscsi",
          "--agent", "journal", "--agent-dir", os.path.join(repo, "Tests", "VigilIntegrationTests", "agents"),
          *timing]
    for c in storage_conf:
        up += ["--storage-conf", c]
    tb(*up)
    tb("start", "all")
    tb("wait", "--timeout", "30", READY, timeout=60)
    st = {n: status(n) for n in nodes}
    coordinator = next(v["coordinator"] for v in st.values() if v)
    victim = next(g["owner"] for g in st[nodes[0]]["groups"] if g["name"] == "g1")
    survivors = [n for n in nodes if n != victim]

    t0_wall = time.time_ns()
    t0 = time.monotonic()
    cmd = subprocess.Popen([testbed, mode, "--name", name, victim], stdout=subprocess.PIPE,
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
            v = status(n)
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
                           f"(so far {t}); coordinator log:\n" + "".join(tail(n) for n in survivors))

    j = ops()
    starts = [o for o in j if o[2] == "g1" and o[3] == "start" and o[4] == "begin" and o[1] != victim
              and int(o[0]) > t0_wall]
    start_ms = (int(starts[0][0]) - t0_wall) / 1e6 if starts else None
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
    return dict(victim=victim, coordinator=coordinator, new_owner=new_owner, how=how, cmd=t_cmd * 1000,
                start=start_ms, problems=problems, **{k: x * 1000 for k, x in t.items()})


def fmt(x):
    return "-" if x is None else f"{x:7.1f}"


print(f"Vigil fencing benchmark: mode {mode} ({'msgwait' if mode == 'crash' else 'acknowledgement'} path), "
      f"{runs} runs, {time.strftime('%Y-%m-%dT%H:%MZ', time.gmtime())}", flush=True)
print(f"vigil {subprocess.run([binary, '--version'], capture_output=True, text=True).stdout.strip()} ({binary}); "
      f"3 nodes, {' '.join(timing)}; storage iscsi: {', '.join(c.replace(' = ', '=').replace(chr(34), '') for c in storage_conf)}",
      flush=True)
results = []
bad = 0
for r in range(1, runs + 1):
    try:
        x = one_run(r)
    finally:
        tb("down", check=False)
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
sys.exit(1 if bad else 0)
PY
