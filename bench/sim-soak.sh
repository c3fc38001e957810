#!/usr/bin/env bash
# The long version of the CI simulation: many more seeded whole-cluster schedules (3-16 nodes, message loss,
# delay, duplication, reordering, partitions, crashes, restarts and controlled leaves; odd seeds multicast)
# with the invariants checked after every event. A failure prints its seed; rerun it alone with
#   vigil simulate --seed N --verbose
#
#   bench/sim-soak.sh [--from 1001] [--count 20000] [--chaos 6]
set -euo pipefail
cd "$(dirname "$0")/.."
from=1001 count=20000 chaos=6
while [ $# -gt 0 ]; do
  case "$1" in
    --from) from=$2; shift 2 ;;
    --count) count=$2; shift 2 ;;
    --chaos) chaos=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
bin=${VIGIL_BIN:-.build/release/vigil}
[ -x "$bin" ] || { echo "sim-soak: build first: swift build -c release" >&2; exit 1; }
"$bin" simulate --seed "$from" --count "$count" --chaos "$chaos"
