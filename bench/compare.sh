#!/usr/bin/env bash
# Detection latency side by side, in one run on the same namespace testbed: Vigil and Heartbeat 3.0.6 with
# the same heartbeat interval and deadtime, hard failure = kill -9 of the node's daemon plus its link down.
# Vigil's clock stops when every survivor reports the node dead AND agrees on a new coordinator; Heartbeat's
# when every survivor has logged the node dead (Heartbeat has no coordinator to elect).
#
#   bench/compare.sh [--runs 20]
#
# Needs root and a release build. Installs the Debian package heartbeat if it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=20
[ "${1:-}" = --runs ] && runs=$2
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for t in "10ms 30ms 50ms" "100ms 300ms 500ms"; do
  read -r interval warntime deadtime <<< "$t"
  bench/detection.py --runs "$runs" --interval "$interval" --warntime "$warntime" --deadtime "$deadtime" --initdead 5s | tee -a "$out" | tail -1
  bench/heartbeat-detect.sh --runs "$runs" --keepalive "$interval" --deadtime "$deadtime" | tee -a "$out" | tail -1
done
echo
echo "| daemon | interval | deadtime | detection ms min | median | max | runs |"
echo "|---|---|---|---|---|---|---|"
grep -E '^(vigil|heartbeat) ' "$out" | PYTHONPATH="$PWD/bench/lib${PYTHONPATH:+:$PYTHONPATH}" python3 -m vigiltools.compare
