#!/usr/bin/env bash
# The long version of the CI simulation: seeded whole-cluster schedules in every fault mix (election, groups,
# groups-none, storage, nemesis; see docs/safety.md), every packet through the real wire codec, the invariants
# checked after every event and the liveness bound after the heal. Seeds run as parallel jobs (one per core).
# A failing seed prints the command that reproduces it (vigil simulate --mode MODE --seed N --trace); the
# script exits 1 if any failed.
#
#   bench/sim-soak.sh [--from 1001] [--plan MODE:COUNT,...] [--scale F] [--jobs N]
#
# The default plan is 100,000 seeds, weighted towards the fault mixes that inject the most (the election mode,
# 3 to 16 nodes, costs the most per seed): election 10,000, groups 20,000, groups-none 10,000, storage 25,000,
# nemesis 35,000. --scale 0.1 runs a tenth of each. Needs a release build (VIGIL_BIN to use another binary).
set -euo pipefail
cd "$(dirname "$0")/.."
from=1001 jobs=$(nproc) scale=1
plan=election:10000,groups:20000,groups-none:10000,storage:25000,nemesis:35000
while [ $# -gt 0 ]; do
  case "$1" in
    --from) from=$2; shift 2 ;;
    --plan) plan=$2; shift 2 ;;
    --scale) scale=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
bin=${VIGIL_BIN:-.build/release/vigil}
[ -x "$bin" ] || { echo "sim-soak: build first: swift build -c release --product vigil" >&2; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
start=$(date +%s)
modes=() total=0
IFS=, read -r -a entries <<< "$plan"
for e in "${entries[@]}"; do
  m=${e%%:*}
  n=$(awk -v c="${e##*:}" -v s="$scale" 'BEGIN { printf "%d", c * s }')
  [ "$n" -gt 0 ] || continue
  modes+=("$m"); total=$((total + n))
  per_job=$(( (n + jobs - 1) / jobs ))
  for ((j = 0; j < jobs; j++)); do
    s=$((from + j * per_job)); k=$per_job
    [ $((j * per_job + k)) -gt "$n" ] && k=$((n - j * per_job))
    [ "$k" -le 0 ] && continue
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
    ( "$bin" simulate --mode "$m" --seed "$s" --count "$k" > "$out/$m.$j" 2>&1 || true ) &
  done
  echo "$m $from $n" >> "$out/plan"
done
wait
failed=0
while read -r m f n; do
  grep -hE 'FAILED|reproduce|^  ' "$out/$m".* || true
  fl=$(sed -n 's/.* passed, \([0-9]*\) failed.*/\1/p' "$out/$m".* | awk '{s += $1} END {print s + 0}')
  ps=$(sed -n 's/.*: \([0-9]*\) passed,.*/\1/p' "$out/$m".* | awk '{s += $1} END {print s + 0}')
  echo "sim-soak $m: seeds $f..$((f + n - 1)): $ps passed, $fl failed"
  failed=$((failed + fl))
done < "$out/plan"
echo "sim-soak: $total seeds in $(( $(date +%s) - start )) s on $jobs jobs, $failed failed ($($bin --version))"
[ "$failed" -eq 0 ]
