#!/usr/bin/env bash
# Behaviour fingerprints for refactoring: runs seeded simulations with every action each node returns folded
# into one hash per seed (vigil simulate --fingerprint), and writes "mode seed hash" lines. Two builds that
# print the same lines behave identically on those seeds, down to the order of every packet and log line.
#
#   bench/sim-fingerprint.sh [--count N] [--from S] > before.txt   (then, after the change)
#   bench/sim-fingerprint.sh [--count N] [--from S] | diff before.txt -
#
# Needs a release build (VIGIL_BIN to use another binary). Default: 200 seeds of every mode.
set -euo pipefail
cd "$(dirname "$0")/.."
count=200 from=1
while [ $# -gt 0 ]; do
  case "$1" in
    --count) count=$2; shift 2 ;;
    --from) from=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
bin=${VIGIL_BIN:-.build/release/vigil}
[ -x "$bin" ] || { echo "sim-fingerprint: build first: swift build -c release --product vigil" >&2; exit 1; }
# Dictionaries print in hash order: make it the same in every process.
export SWIFT_DETERMINISTIC_HASHING=1
for mode in election groups groups-none storage nemesis; do
  "$bin" simulate --mode "$mode" --seed "$from" --count "$count" --fingerprint | grep -v ' seeds from ' || true
done
