"""Small statistics for the bench tables: min / median / max, "a / b / c" cells, key=value result lines.

    python3 -m vigiltools.stats tsv FILE     min/median/max of every numeric column of a TSV with a header
                                             (columns n and dir are labels), for all rows and per direction
"""
import re
import statistics
import sys


def mmm(values):
    """(min, median, max) of a non-empty iterable of numbers."""
    v = sorted(values)
    return v[0], statistics.median(v), v[-1]


def numbers(cells, skip=("NA", "", "-")):
    """The floats of a list of TSV cells, leaving out the placeholders in `skip`."""
    return [float(x) for x in cells if x not in skip]


def cell(values, fmt="%.0f", empty="-"):
    """"min / median / max" with fmt, NaNs left out; `empty` when nothing is left."""
    v = [x for x in values if x == x]
    if not v:
        return empty
    return (fmt + " / " + fmt + " / " + fmt) % mmm(v)


def cell_open(cells):
    """A drill-compare cell: numbers and "open" gaps (a gap still open at the end) counted apart."""
    v = sorted(float(x) for x in cells if x not in ("-", "open"))
    nopen = sum(1 for x in cells if x == "open")
    if not v:
        return "-" if not nopen else "open (%d)" % nopen
    s = "%.0f / %.0f / %.0f" % (v[0], statistics.median(v), v[-1])
    return s + (" (+%d open)" % nopen if nopen else "")


def keyvalues(line):
    """{key: value} of the key=value words of a result line."""
    return dict(re.findall(r"(\w+)=([^ ]+)", line))


def tsv_summary(path, out=sys.stdout):
    """vm-cluster-lib's migrations.tsv: min/median/max of every numeric column, all rows and per direction."""
    with open(path) as f:
        rows = [l.rstrip("\n").split("\t") for l in f if l.strip()]
    head, rows = rows[0], rows[1:]
    cols = [i for i, h in enumerate(head) if h not in ("n", "dir")]

    def show(title, rs):
        print("%s (%d migrations)" % (title, len(rs)), file=out)
        print("  %-34s %9s %9s %9s" % ("", "min", "median", "max"), file=out)
        for i in cols:
            v = [float(r[i]) for r in rs if r[i] not in ("?", "nan")]
            if v:
                print("  %-34s %9.1f %9.1f %9.1f" % ((head[i],) + mmm(v)), file=out)
            else:
                print("  %-34s %9s %9s %9s" % (head[i], "?", "?", "?"), file=out)
    show("all", rows)
    for d, name in (("ab", "a -> b (vigil standby a)"), ("ba", "b -> a (vigil move vm1 a)")):
        rs = [r for r in rows if r[1] == d]
        if rs:
            show(name, rs)
    return 0


def main(argv):
    if len(argv) == 2 and argv[0] == "tsv":
        return tsv_summary(argv[1])
    print(__doc__.strip(), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
