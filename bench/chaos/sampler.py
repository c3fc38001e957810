"""Where each group really runs, from /proc: the chaos bench's judge (the Swift tests have ProcessSampler.swift).

The `chaos` test agent (Tests/VigilIntegrationTests/agents/chaos) runs each resource as `sleep infinity` with
argv[0] = "vigil-res:CLUSTER:NAME" in the owner's network namespace. scan() lists /proc, keeps the processes
whose network namespace is one of the testbed's node namespaces (/run/netns/vt-NAME-nI, by inode), and reads
their argv and state: a live process (anything but zombie or dead; a SIGSTOPped one still holds its disk) means
the group is active on that node. Nothing here asks Vigil.

Run as a program (a process of its own, so that the nemesis's work never delays a sample):

    python3 sampler.py --name chaos --nodes n1,n2,n3 --out sampler.jsonl [--period 0.002]

it samples every PERIOD seconds until SIGTERM/SIGINT and appends JSON lines to OUT:
    {"kind": "placement", "t": T, "group": G, "nodes": [..]}       whenever a group's set of nodes changes
    {"kind": "violation", "t": T, "group": G, "nodes": {node: [pid, ..]}}   a group active on two nodes or more
    {"kind": "stats", "samples": N, "max_gap_ms": X, "mean_ms": Y}   once, at exit
T is CLOCK_MONOTONIC seconds (time.monotonic() of any process on this machine).
"""
import argparse
import json
import os
import signal
import sys
import time


def netns_map(name, nodes):
    """{netns inode: node} for the testbed's node namespaces that exist."""
    out = {}
    for n in nodes:
        try:
            out[os.stat(f"/run/netns/vt-{name}-{n}").st_ino] = n
        except OSError:
            pass
    return out


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return False
    i = stat.rfind(b")")
    return i >= 0 and len(stat) > i + 2 and stat[i + 2:i + 3] not in (b"Z", b"X")


def scan(cluster, nsmap):
    """{group: {node: [pid, ...]}} for every live chaos resource process in a node namespace."""
    prefix = f"vigil-res:{cluster}:".encode()
    out = {}
    for entry in os.scandir("/proc"):
        name = entry.name
        if not name.isdigit():
            continue
        try:
            link = os.readlink(f"/proc/{name}/ns/net")
        except OSError:
            continue
        node = nsmap.get(int(link[5:-1])) if link.startswith("net:[") else None
        if node is None:
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as f:
                cmd = f.read(256)
        except OSError:
            continue
        if not cmd.startswith(prefix) or not _alive(name):
            continue
        group = cmd[len(prefix):].split(b"\0", 1)[0].decode(errors="replace")
        out.setdefault(group, {}).setdefault(node, []).append(int(name))
    return out


def holders(found):
    """{group: node} for groups on exactly one node."""
    return {g: next(iter(ns)) for g, ns in found.items() if len(ns) == 1}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--name", required=True, help="testbed name (namespaces vt-NAME-nI)")
    p.add_argument("--cluster", help="cluster name in the resources' argv (default: NAME)")
    p.add_argument("--nodes", required=True, help="comma-separated node names")
    p.add_argument("--out", required=True)
    p.add_argument("--period", type=float, default=0.002)
    a = p.parse_args()
    cluster = a.cluster or a.name
    nsmap = netns_map(a.name, a.nodes.split(","))
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    out = open(a.out, "a", buffering=1)
    last_place = {}
    ongoing = {}
    samples, max_gap, total = 0, 0.0, 0.0
    prev = time.monotonic()
    while not stop:
        found = scan(cluster, nsmap)
        now = time.monotonic()
        samples += 1
        gap = now - prev
        max_gap = max(max_gap, gap)
        total += gap
        prev = now
        for g in set(found) | set(last_place):
            nodes = sorted(found.get(g, {}))
            if nodes != last_place.get(g, []):
                out.write(json.dumps({"kind": "placement", "t": round(now, 6), "group": g, "nodes": nodes}) + "\n")
                last_place[g] = nodes
            if len(nodes) > 1:
                if ongoing.get(g) != nodes:
                    out.write(json.dumps({"kind": "violation", "t": round(now, 6), "group": g, "nodes": found[g]}) + "\n")
                    print(f"sampler: VIOLATION {g} active on {found[g]}", file=sys.stderr, flush=True)
                ongoing[g] = nodes
            else:
                ongoing.pop(g, None)
        elapsed = time.monotonic() - now
        if elapsed < a.period:
            time.sleep(a.period - elapsed)
    out.write(json.dumps({"kind": "stats", "samples": samples, "max_gap_ms": round(max_gap * 1000, 3),
                          "mean_ms": round(total / max(samples, 1) * 1000, 3)}) + "\n")
    out.close()


if __name__ == "__main__":
    main()
