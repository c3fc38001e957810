#!/usr/bin/env bash
# The long version of the CI simulation: seeded whole-cluster schedules in every fault mix (election, groups,
# groups-none, storage, nemesis; see docs/safety.md), every packet through the real wire codec, the invariants
# checked after every event and the liveness bound after the heal. Seeds are split evenly over the modes and
# run as parallel jobs (one per core). A failing seed prints the command that reproduces it
# (vigil simulate --mode MODE --seed N --trace); the script exits 1 if any failed.
#
#   bench/sim-soak.sh [--from 1001] [--count 100000] [--jobs 2] [--modes election,groups,...]
set -euo pipefail
cd "$(dirname "$0")/.."
from=1001 count=100000 jobs=$(nproc) modes=election,groups,groups-none,storage,nemesis
while [ $# -gt 0 ]; do
  case "$1" in
    --from) from=$2; shift 2 ;;
    --count) count=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --modes) modes=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
bin=${VIGIL_BIN:-.build/release/vigil}
[ -x "$bin" ] || { echo "sim-soak: build first: swift build -c release --product vigil" >&2; exit 1; }
IFS=, read -r -a mode_list <<< "$modes"
per_mode=$((count / ${#mode_list[@]}))
per_job=$(( (per_mode + jobs - 1) / jobs ))
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
start=$(date +%s)
pids=()
for m in "${mode_list[@]}"; do
  for ((j = 0; j < jobs; j++)); do
    s=$((from + j * per_job)); n=$per_job
    [ $((j * per_job + n)) -gt "$per_mode" ] && n=$((per_mode - j * per_job))
    [ "$n" -le 0 ] && continue
    ( "$bin" simulate --mode "$m" --seed "$s" --count "$n" > "$out/$m.$j" 2>&1 || true ) &
    pids+=($!)
    # at most $jobs at once
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  done
done
wait
failed=0
for m in "${mode_list[@]}"; do
  cat "$out/$m".* | grep -E 'FAILED|reproduce|^  ' | head -20 || true
  f=$(cat "$out/$m".* | sed -n 's/.* passed, \([0-9]*\) failed.*/\1/p' | awk '{s += $1} END {print s + 0}')
  p=$(cat "$out/$m".* | sed -n 's/.*: \([0-9]*\) passed,.*/\1/p' | awk '{s += $1} END {print s + 0}')
  echo "sim-soak $m: seeds $from..$((from + per_mode - 1)): $p passed, $f failed"
  failed=$((failed + f))
done
echo "sim-soak: $((per_mode * ${#mode_list[@]})) seeds in $(( $(date +%s) - start )) s, $failed failed"
[ "$failed" -eq 0 ]
