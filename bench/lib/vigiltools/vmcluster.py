"""The commands scripts/vm-cluster-lib.sh (vc_py) and scripts/testbed use.

    python3 -m vigiltools.vmcluster wait SOCK GROUP NODE T0 TIMEOUT   (status wait-running)
    python3 -m vigiltools.vmcluster get SOCK WHAT                     (status get)
    python3 -m vigiltools.vmcluster ping LOG T0 T1 T2                 (pinglog window)
    python3 -m vigiltools.vmcluster field LINE KEY                    KEY=value out of a VIGIL-MIGRATION figures line
    python3 -m vigiltools.vmcluster stats TSV                         (stats tsv)
"""
import re
import sys

from vigiltools import pinglog, stats, status


def field(line, key):
    m = re.search(r"(?:^| )%s=(\S+)" % re.escape(key), line)
    return m.group(1) if m else "?"


def cmd_field(line, key):
    print(field(line, key))
    return 0


COMMANDS = {"wait": status.cmd_wait_running, "get": status.cmd_get, "ping": pinglog.cmd_window,
            "field": cmd_field, "stats": stats.tsv_summary}


def main(argv):
    if not argv or argv[0] not in COMMANDS:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    return COMMANDS[argv[0]](*argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
