"""`ping -D` logs: replies with their timestamps, and the outage in a time window.

    python3 -m vigiltools.pinglog window LOG T0 T1 T2
        replies in [T0, T2] (plus the last one before T0, so a gap that begins at T0 counts whole): prints
        "<longest gap between consecutive replies, ms> <echo requests without reply> <replies after T1>"
"""
import re
import sys

REPLY = re.compile(r"\[(\d+\.\d+)\] \d+ bytes from .*icmp_seq=(\d+)")


def replies(lines):
    """[(epoch time, seq)] of the first reply to each sequence number (duplicates left out), in log order."""
    out = []; seen = set()
    for line in lines:
        m = REPLY.match(line)
        if m and "DUP!" not in line:
            seq = int(m.group(2))
            if seq not in seen:
                seen.add(seq); out.append((float(m.group(1)), seq))
    return out


def window(r, t0, t1, t2):
    """(longest gap s or None, lost, replies after t1) of replies r in [t0, t2], plus the last one before t0."""
    before = [x for x in r if x[0] < t0]
    win = ([before[-1]] if before else []) + [x for x in r if t0 <= x[0] <= t2]
    if len(win) < 2:
        return None, 0, 0
    gap = max(win[i + 1][0] - win[i][0] for i in range(len(win) - 1))
    seqs = sorted(s for _, s in win)
    lost = sum(seqs[i + 1] - seqs[i] - 1 for i in range(len(seqs) - 1))
    after = sum(1 for x in win if x[0] > t1)
    return gap, lost, after


def cmd_window(path, t0, t1, t2):
    with open(path, errors="replace") as f:
        gap, lost, after = window(replies(f), float(t0), float(t1), float(t2))
    if gap is None:
        print("nan %d 0" % 0)
    else:
        print("%.1f %d %d" % (gap * 1000, lost, after))
    return 0


def main(argv):
    if len(argv) == 5 and argv[0] == "window":
        return cmd_window(*argv[1:])
    print(__doc__.strip(), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
