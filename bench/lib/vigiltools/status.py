"""Polling agents' status until a predicate holds, bounded by a timeout; the predicates the scripts use.

    python3 -m vigiltools.status wait-running SOCK GROUP NODE T0 TIMEOUT
        until GROUP runs on NODE as NODE itself reports it; prints "<ms since T0 (epoch s)> <epoch of that poll>".
        Polls every VIGIL_LM_POLL_MS ms (default 20), aligned to the wall clock.
    python3 -m vigiltools.status get SOCK WHAT       WHAT: a top-level key (last_migration, standby, ...) or group:NAME
    python3 -m vigiltools.status wait-probed SOCK NODE TIMEOUT [GROUP]   GROUP (default vm1) probed on NODE
    python3 -m vigiltools.status wait-storage SOCK TIMEOUT               every storage device ok or slow
    python3 -m vigiltools.status wait-expr RUN VIGIL_BIN TIMEOUT EXPR
        `vigil status --json` of every RUN/*.sock until the Python EXPR over s (node -> status) holds
    python3 -m vigiltools.status vm-steady RUN TIMEOUT     agents a and b agree vm1 runs on one node; prints it
    python3 -m vigiltools.status vip-steady RUN            once: n1 and n2 agree group vip runs on one node; prints it
    python3 -m vigiltools.status steady TIMEOUT OWNER SOCK...   every node alive, the only group running on OWNER
    python3 -m vigiltools.status query SOCK EXPR           print EXPR over s (status), g (groups), nodes
"""
import glob
import json
import os
import subprocess
import sys
import time

from vigiltools import control


def poll(attempt, timeout, period, clock=time.monotonic, sleep=time.sleep, align=False):
    """Calls attempt() until it returns something other than None, for at most `timeout` seconds of `clock`,
    sleeping `period` seconds after each try (align: until the next multiple of `period` on the wall clock).
    attempt's exceptions propagate (catch those that mean "not yet" inside it). Returns its value, or None."""
    deadline = clock() + timeout
    while clock() < deadline:
        v = attempt()
        if v is not None:
            return v
        sleep(period - (time.time() % period) if align else period)
    return None


# -- predicates over one status (a dict as `vigil status --json` prints it) ----------------------------------

def group(st, name):
    """The group NAME of a status, or None."""
    for g in (st or {}).get("groups", []):
        if g["name"] == name:
            return g
    return None


def running_on(st, name, node):
    """NAME runs on NODE as NODE itself reports it (its start, with any liveness check, returned ok)."""
    g = group(st, name)
    return bool(g and g["state"] == "running" and g["owner"] == node and g["nodes"].get(node) == "running")


def probed_state(st, name, node):
    """NODE's view of NAME on NODE ("stopped", "running", "unknown", ...) or None."""
    g = group(st, name)
    return g["nodes"].get(node) if g else None


def storage_devices(st):
    return [(d["url"], d["state"], d.get("error")) for d in ((st or {}).get("storage") or {}).get("devices", [])]


def storage_ok(devices):
    """devices as storage_devices() lists them: at least one, each ok or slow."""
    return bool(devices) and all(d[1] in ("ok", "slow") for d in devices)


def running_nodes(st, name):
    """The nodes on which NAME is running, by this status' view, sorted."""
    g = group(st, name)
    return sorted(k for k, v in (g["nodes"] if g else {}).items() if v == "running")


def vm_steady(ss, group_name="vm1"):
    """ss: {node: status} of a two-node testbed (a, b). Returns (owner or None, why not)."""
    owners = []
    ok = True
    last = None
    for n, s in ss.items():
        mem = {m["name"]: m.get("state") for m in s.get("nodes", [])}
        for m in ss:
            if mem.get(m) != "alive":
                ok = False; last = "%s sees %s %s" % (n, m, mem.get(m))
        sto = s.get("storage") or {}
        if sto.get("fenced") or sto.get("fencing") or any(p.get("fenced") for p in sto.get("peers", [])):
            ok = False; last = "%s: fencing %s %s" % (n, sto.get("fenced"), sto.get("fencing"))
        devs = sto.get("devices", [])
        if not devs or not all(d["state"] in ("ok", "slow") for d in devs):
            ok = False; last = "%s storage %s" % (n, [d.get("state") for d in devs])
        owners.append(tuple(running_nodes(s, group_name)))
    if ok and len(set(owners)) == 1 and len(owners[0]) == 1:
        return owners[0][0], None
    if ok:
        last = "%s running on %s" % (group_name, owners)
    return None, last


def vip_steady(ss, group_name="vip"):
    """ss: statuses of every node. Every member alive in every view, nobody in standby, the group running on
    exactly one node in every view. Returns that node or None."""
    owners = set()
    for s in ss:
        if any(m.get("state") != "alive" for m in s["nodes"]) or s.get("standby"):
            return None
        g = [g for g in s["groups"] if g["name"] == group_name][0]
        owners.add(tuple(sorted(k for k, v in g["nodes"].items() if v == "running")))
    if len(owners) == 1 and len(list(owners)[0]) == 1:
        return list(owners)[0][0]
    return None


def steady_on(st, owner):
    """Every node alive, the (first) group running on OWNER, not in standby. Returns None or why not."""
    bad = [m["name"] + ":" + m.get("state", "?") for m in st["nodes"] if m.get("state") != "alive"]
    g = (st.get("groups") or [{}])[0]
    if bad or g.get("state") != "running" or g.get("owner") != owner or st.get("standby"):
        return f"{st['node']}: nodes not alive {bad}, group {g.get('state')} on {g.get('owner')}"
    return None


# -- commands ------------------------------------------------------------------------------------------------

def cmd_wait_running(sock, name, node, t0, timeout):
    t0f = float(t0)
    seen = {"last": None, "err": None}

    def attempt():
        try:
            st = control.status(sock)
            seen["last"] = group(st, name)
            if running_on(st, name, node):
                return time.time()
        except Exception as e:  # agent busy or restarting: keep polling until the deadline
            seen["err"] = e
        return None

    period = float(os.environ.get("VIGIL_LM_POLL_MS", "20")) / 1000
    now = poll(attempt, float(timeout), period, clock=time.time, align=True)
    if now is not None:
        print("%.1f %.6f" % ((now - t0f) * 1000, now))
        return 0
    err = seen["err"]
    print("timed out after %s s waiting for %s running on %s; last seen: %s%s"
          % (timeout, name, node, json.dumps(seen["last"]), " (last error: %s)" % err if err else ""), file=sys.stderr)
    return 1


def cmd_get(sock, what):
    st = control.status(sock)
    if what.startswith("group:"):
        g = group(st, what[6:])
        print(json.dumps(g, sort_keys=True) if g else "null")
    else:
        v = st.get(what)
        print("" if v is None else (json.dumps(v) if not isinstance(v, str) else v))
    return 0


def cmd_wait_probed(sock, node, timeout, name="vm1"):
    seen = {"last": None}

    def attempt():
        try:
            seen["last"] = probed_state(control.status(sock), name, node)
            if seen["last"] in ("stopped", "running"):
                return True
        except Exception as e:
            seen["last"] = str(e)
        return None

    if poll(attempt, float(timeout), 0.05):
        return 0
    print("%s not probed on %s within %s s (last: %s)" % (name, node, float(timeout), seen["last"]), file=sys.stderr)
    return 1


def cmd_wait_storage(sock, timeout):
    seen = {"last": None}

    def attempt():
        try:
            seen["last"] = storage_devices(control.status(sock))
            if storage_ok(seen["last"]):
                return True
        except Exception as e:
            seen["last"] = str(e)
        return None

    if poll(attempt, float(timeout), 0.1):
        return 0
    print("storage not ok on %s within %s s: %s" % (sock, float(timeout), seen["last"]), file=sys.stderr)
    return 1


def cli_statuses(run, binary):
    """{node: status} of every RUN/NODE.sock that answers `vigil status --json` (the CLI, not the socket)."""
    s = {}
    for sock in glob.glob(os.path.join(run, "*.sock")):
        node = os.path.basename(sock)[:-5]
        r = subprocess.run([binary, "status", "--json", "--socket", sock], capture_output=True, text=True)
        if r.returncode == 0:
            s[node] = json.loads(r.stdout)
    return s


def cmd_wait_expr(run, binary, timeout, expr):
    timeout = float(timeout)
    seen = {"last": None}

    def attempt():
        s = cli_statuses(run, binary)
        try:
            if eval(expr, {"s": s}):
                return True
        except Exception as e:
            seen["last"] = e
        return None

    if poll(attempt, timeout, 0.05):
        return 0
    print(f"vigil-testbed wait: timed out after {timeout}s: {expr} ({seen['last']})", file=sys.stderr)
    return 1


def cmd_vm_steady(run, timeout):
    seen = {"last": None}

    def attempt():
        try:
            owner, seen["last"] = vm_steady({n: control.status("%s/%s.sock" % (run, n)) for n in "ab"})
            return owner
        except Exception as e:
            seen["last"] = repr(e)
        return None

    owner = poll(attempt, float(timeout), 0.2, clock=time.time)
    if owner is not None:
        print(owner)
        return 0
    print("not steady within %ss: %s" % (float(timeout), seen["last"]), file=sys.stderr)
    return 1


def cmd_vip_steady(run):
    owner = vip_steady([control.status("%s/%s.sock" % (run, n), timeout=3) for n in ("n1", "n2")])
    if owner is None:
        return 1
    print(owner)
    return 0


def cmd_steady(timeout, owner, *socks):
    timeout = float(timeout)
    seen = {"last": None}

    def attempt():
        try:
            for sock in socks:
                why = steady_on(control.status(sock, timeout=3), owner)
                if why:
                    seen["last"] = why
                    return None
            return True
        except Exception as e:
            seen["last"] = repr(e)
        return None

    if poll(attempt, timeout, 0.1):
        return 0
    print(f"not steady within {timeout}s: {seen['last']}", file=sys.stderr)
    return 1


def query(s, expr):
    """The value of the Python EXPR over s (a status), g ({group name: group}) and nodes ({name: node})."""
    g = {x["name"]: x for x in s.get("groups") or []}
    return eval(expr, {"s": s, "g": g, "nodes": {n["name"]: n for n in s.get("nodes", [])}})


def cmd_query(sock, expr):
    try:
        s = control.status(sock, timeout=3)
    except Exception as e:
        print("unreachable: %r" % e)
        return 2
    v = query(s, expr)
    print(v if not isinstance(v, bool) else ("yes" if v else "no"))
    return 0 if v else 1


COMMANDS = {"wait-running": cmd_wait_running, "get": cmd_get, "wait-probed": cmd_wait_probed,
            "wait-storage": cmd_wait_storage, "wait-expr": cmd_wait_expr, "vm-steady": cmd_vm_steady,
            "vip-steady": cmd_vip_steady, "steady": cmd_steady, "query": cmd_query}


def main(argv):
    if not argv or argv[0] not in COMMANDS:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    try:
        return COMMANDS[argv[0]](*argv[1:])
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
