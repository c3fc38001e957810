"""Checks over a `vigil drill` report (report.json), as scripts/test-drill makes them.

    python3 -m vigiltools.drillreport check REPORT_JSON standby|kill GAP_BOUND_MS
        prints "KIND: <headline>" and a PROBLEM line for each failed check; exit 1 if there is one
"""
import json
import sys


def first(timeline, pred, after=-1e18):
    """t_ms of the first timeline event at or after `after` for which pred holds, or None."""
    for e in timeline:
        if e["t_ms"] >= after and pred(e):
            return e["t_ms"]
    return None


def steps_for(kind):
    """The events a drill of KIND must show, in this order: [(name, predicate)]."""
    if kind == "standby":
        return [("action issued", lambda e: e["source"] == "drill" and e["text"].endswith("issued")),
                ("a stops vm1 (handover)", lambda e: e["source"] == "a" and e["kind"] == "operation" and "stop" in e["text"] and "handover" in e["text"]),
                ("migration figures on b", lambda e: e["source"] == "b" and e["kind"] == "migration"),
                ("vm1 running on b", lambda e: e["source"] == "b" and e["kind"] == "group" and e["text"] == "vm1 running")]
    return [("action issued", lambda e: e["source"] == "drill" and e["text"].endswith("issued")),
            ("b dead on a", lambda e: e["source"] == "a" and e["kind"] == "member" and e["text"].startswith("b ") and e["text"].endswith("dead")),
            ("b fenced on a", lambda e: e["source"] == "a" and e["kind"] == "fencing" and e["text"] == "b fenced"),
            ("vm1 running on a", lambda e: e["source"] == "a" and e["kind"] == "group" and e["text"] == "vm1 running")]


def problems(r, kind, bound):
    """The failed checks of report r (a dict) for a drill of KIND ("standby" or "kill")."""
    g = r["longest_gap"]; tl = r["timeline"]
    out = []
    if g is None or g["open"]:
        out.append("the guest does not answer at the end: %s" % g)
    if kind == "standby" and g and g["length_ms"] > bound:
        out.append("gap %.1f ms above the bound %.0f ms" % (g["length_ms"], bound))
    t = -1e18
    for name, pred in steps_for(kind):
        at = first(tl, pred, t)
        if at is None:
            out.append("timeline: no '%s' after %.0f ms" % (name, t)); break
        t = at
    return out


def cmd_check(path, kind, bound):
    with open(path) as f:
        r = json.load(f)
    p = problems(r, kind, float(bound))
    print("%s: %s" % (kind, r["headline"]))
    if p:
        print("\n".join("  PROBLEM: " + x for x in p))
        return 1
    return 0


def main(argv):
    if len(argv) == 4 and argv[0] == "check":
        return cmd_check(*argv[1:])
    print(__doc__.strip(), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
