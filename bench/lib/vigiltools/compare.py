"""bench/compare.sh's table: one markdown row per `vigil ...` / `heartbeat ...` summary line on stdin.

    grep -E '^(vigil|heartbeat) ' OUT | python3 -m vigiltools.compare
"""
import sys

from vigiltools.stats import keyvalues


def row(line):
    # (The heredoc this came from kept the newline in the last value, which split every row in two.)
    line = line.rstrip("\n")
    d = keyvalues(line)
    who = line.split()[0]
    iv = d.get("interval", d.get("keepalive", "?")); dt = d.get("deadtime", "?")
    return "| %s | %s | %s | %s | %s | %s | %s |" % (who, iv, dt, d["min"], d["median"], d["max"], d["runs"])


def main(argv):
    for line in sys.stdin:
        print(row(line))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
