#!/usr/bin/env bash
# Footprint of one idle agent: RSS (VmRSS) and CPU % (utime+stime over the window) of node n1, in a 3-node
# and a 16-node cluster at 10 heartbeats/s (interval 100 ms), measured over --seconds after the cluster has
# converged. Repeats --repeat times per size and prints min/median/max.
#
#   bench/footprint.sh [--seconds 60] [--repeat 3] [--sizes "3 16"] [--transport unicast|multicast] [--groups N]
#
# --groups N: N dummy resource groups (one process each, monitored every second; homes n1, n2, ...), so every
# heartbeat carries N report lines and the coordinator's N assignments.
#
# Needs root and a release build; VIGIL_BIN overrides the binary.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=60 repeat=3 sizes="3 16" name=bfoot transport=unicast groups=0
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    --sizes) sizes=$2; shift 2 ;;
    --transport) transport=$2; shift 2 ;;
    --groups) groups=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
export VIGIL_BIN=${VIGIL_BIN:-$PWD/.build/release/vigil}
tb=scripts/vigil-testbed
trap '$tb down --name $name' EXIT
hz=$(getconf CLK_TCK)

stats() { python3 -c 'import sys,statistics as s; v=[float(x) for x in sys.argv[1:]]; print(f"min={min(v):.2f} median={s.median(v):.2f} max={max(v):.2f}")' "$@"; }

for n in $sizes; do
  rss=() cpu=()
  for r in $(seq 1 "$repeat"); do
    $tb up --name $name --nodes "$n" --transport "$transport" --interval 100ms --warntime 500ms --deadtime 1s --initdead 10s --groups "$groups" --fencing none >/dev/null
    $tb start --name $name all
    $tb wait --name $name --timeout 60 "len(s)==$n and len({x['coordinator'] for x in s.values()})==1 and None not in {x['coordinator'] for x in s.values()}"
    pid=$($tb pid --name $name n1)
    sleep 2
    t0=$(awk '{print $14+$15}' /proc/"$pid"/stat)
    sleep "$seconds"
    t1=$(awk '{print $14+$15}' /proc/"$pid"/stat)
    kb=$(awk '/VmRSS/ {print $2}' /proc/"$pid"/status)
    rss+=("$(awk -v k="$kb" 'BEGIN{printf "%.2f", k/1024}')")
    cpu+=("$(awk -v a="$t0" -v b="$t1" -v h="$hz" -v s="$seconds" 'BEGIN{printf "%.3f", (b-a)*100/h/s}')")
    echo "nodes=$n run=$r rss_mb=${rss[-1]} cpu_pct=${cpu[-1]}"
    $tb down --name $name
  done
  echo "footprint nodes=$n transport=$transport interval=100ms rss_mb $(stats "${rss[@]}") cpu_pct $(stats "${cpu[@]}") runs=$repeat"
done
