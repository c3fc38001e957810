"""Reading a cluster.conf (TOML as `vigil config init` writes it) without a TOML library.

    python3 -m vigiltools.conf devices CLUSTER_CONF   the [storage] table's devices, one a line (not the
                                                      commented example that config init writes)
"""
import re
import sys


def storage_devices(lines):
    table = None
    out = []
    for line in lines:
        h = re.match(r'\s*\[+([^\]]+)\]+\s*(#.*)?$', line)
        if h:
            table = h.group(1).strip()
            continue
        m = re.match(r'\s*devices\s*=\s*\[(.*)\]', line)
        if m and table == "storage":
            out.extend(re.findall(r'"([^"]*)"', m.group(1)))
    return out


def main(argv):
    if len(argv) == 2 and argv[0] == "devices":
        with open(argv[1]) as f:
            for d in storage_devices(f):
                print(d)
        return 0
    print(__doc__.strip(), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
