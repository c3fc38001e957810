"""bench/drill-compare's figures.

    python3 -m vigiltools.drillcompare record RESULTS STACK CASE RUN vigil REPORT_DIR VICTIM SURVIVOR GROUP
    python3 -m vigiltools.drillcompare record RESULTS STACK CASE RUN wall REPORT_DIR ACTION_FILE DETECT_FILE STARTED_FILE
        one line (stack, case, run, detection ms, resource started ms, longest gap, lost, dir) appended to
        RESULTS and printed: from the drill's report.json and, for the other stacks, wall-clock files
    python3 -m vigiltools.drillcompare hb-watch LOG VICTIM OUTFILE TIMEOUT
        the wall-clock arrival of "node VICTIM: is dead" in LOG (5 ms polling) written to OUTFILE
    python3 -m vigiltools.drillcompare table RESULTS     min/median/max per stack and case (markdown)
"""
import json
import statistics
import sys
import time

from vigiltools.stats import cell_open


def figures(r, case, mode, rest, read=None):
    """(detection ms, started ms, gap, lost) of one drill report r; rest as for `record`."""
    g = r.get("longest_gap")
    gap = "open" if (g is None or g.get("open")) else "%.1f" % g["length_ms"]
    lost = r.get("lost")
    tl = r.get("timeline", [])
    act = next((e["t_ms"] for e in tl if e["source"] == "drill" and e["text"].endswith("issued")), r.get("action_ms"))
    # Detection counts from the kill itself when the testbed stamped it ("NODE killed (the testbed's timestamp)").
    killed = next((e["t_ms"] for e in tl if e["source"] == "drill" and e["text"].endswith("(the testbed's timestamp)")), None)

    def first(pred):
        for e in tl:
            if e["t_ms"] >= act and pred(e):
                return e["t_ms"] - act
        return None
    det = started = None
    if mode == "vigil":           # rest: victim survivor group
        victim, surv, grp = rest
        if not case.endswith("standby"):
            det = first(lambda e: e["source"] == surv and e["kind"] == "member" and e["text"].startswith(victim + " ") and e["text"].endswith("dead"))
            if det is not None and killed is not None:
                det = det + act - killed
        started = first(lambda e: e["source"] == surv and e["kind"] == "group" and e["text"] == grp + " running")
    else:                         # rest: action-wall-file detect-wall-file started-wall-file (each: a float, may be absent)
        a, dw, sw = (read(p) for p in rest)
        if a is not None:
            det = (dw - a) * 1000 if dw is not None and not case.endswith("standby") else None
            started = (sw - a) * 1000 if sw is not None else None
    return det, started, gap, lost


def read_wall(p):
    try:
        return float(open(p).read().split()[0])
    except Exception:
        return None


def cmd_record(res, stack, case, run, mode, d, *rest):
    r = json.load(open(d + "/report.json"))
    det, started, gap, lost = figures(r, case, mode, rest, read_wall)
    f = lambda v: "-" if v is None else "%.1f" % v
    line = "\t".join([stack, case, run, f(det), f(started), gap, str(lost), d])
    open(res, "a").write(line + "\n")
    print(line)
    return 0


def cmd_hb_watch(log, victim, outf, timeout):
    f = open(log, "rb"); f.seek(0, 2); buf = b""; end = time.time() + float(timeout)
    while time.time() < end:
        chunk = f.read()
        if chunk:
            t = time.time(); buf += chunk
            *lines, buf = buf.split(b"\n")
            for l in lines:
                if ("node %s: is dead" % victim).encode() in l:
                    open(outf, "w").write("%.6f\n" % t)
                    return 0
        time.sleep(0.005)
    return 0


def table(lines):
    """The markdown table (a list of lines) of results.tsv lines."""
    rows = {}
    order = []
    for line in lines:
        f = line.rstrip("\n").split("\t")
        if len(f) < 6: continue
        k = (f[0], f[1])
        if k not in rows: rows[k] = []; order.append(k)
        rows[k].append(f)
    out = ["| stack | case | runs | detection ms min/med/max | resource started ms min/med/max | ping gap ms min/med/max | lost pings med |",
           "|---|---|---|---|---|---|---|"]
    for k in order:
        r = rows[k]
        lost = statistics.median([int(x[6]) for x in r if x[6].isdigit()] or [0])
        out.append("| %s | %s | %d | %s | %s | %s | %.0f |" % (k[0], k[1], len(r), cell_open([x[3] for x in r]),
                   cell_open([x[4] for x in r]), cell_open([x[5] for x in r]), lost))
    return out


def cmd_table(res):
    with open(res) as f:
        print("\n".join(table(f)))
    return 0


COMMANDS = {"record": cmd_record, "hb-watch": cmd_hb_watch, "table": cmd_table}


def main(argv):
    if not argv or argv[0] not in COMMANDS:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    return COMMANDS[argv[0]](*argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
