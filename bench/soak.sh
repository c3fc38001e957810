#!/usr/bin/env bash
# False-failover soak: a 3-node cluster at the fast profile (10 ms heartbeats, 50 ms deadtime) runs for
# --minutes while both cores are saturated by CPU hogs (4 busy loops at normal priority) and every node drops
# --loss percent of incoming heartbeat packets at random (nftables `numgen random`; this kernel has no netem).
# Counts, from the agents' own logs: false deaths ("is dead"), coordinator changes (elections after the
# first), late-heartbeat warnings, and link-down events. Target: 0 false deaths, 0 coordinator changes.
#
#   bench/soak.sh [--minutes 10] [--loss 2] [--profile fast] [--no-realtime] [--rt-hogs]
#
# --rt-hogs runs the busy loops at SCHED_FIFO priority 10 (below the agent's 50): a misbehaving realtime
# task. The kernel's RT throttling still leaves normal tasks 5 % of each second, in one block.
#
# Needs root and a release build; VIGIL_BIN overrides the binary.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=10 loss=2 profile=fast realtime=yes name=bsoak hogprio=
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) minutes=$2; shift 2 ;;
    --loss) loss=$2; shift 2 ;;
    --profile) profile=$2; shift 2 ;;
    --no-realtime) realtime=no; shift ;;
    --rt-hogs) hogprio=10; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
export VIGIL_BIN=${VIGIL_BIN:-$PWD/.build/release/vigil}
tb=scripts/vigil-testbed
run=/tmp/vigil-testbed-$name
hogs=()
cleanup() {
  for p in ${hogs[@]+"${hogs[@]}"}; do kill "$p" 2>/dev/null || true; done
  $tb down --name $name
}
trap cleanup EXIT

$tb up --name $name --nodes 3 --profile "$profile" >/dev/null
[ "$realtime" = yes ] || sed -i 's/^realtime = true/realtime = false/' $run/cluster.conf
for i in 1 2 3; do
  ip netns exec vt-$name-n$i nft -f - <<EOF
table inet vigil_soak {
  chain input {
    type filter hook input priority 0; policy accept;
    udp dport 694 numgen random mod 1000 < $((loss * 10)) counter drop
  }
}
EOF
done
$tb start --name $name all
$tb wait --name $name --timeout 20 "len(s)==3 and len({x['coordinator'] for x in s.values()})==1 and None not in {x['coordinator'] for x in s.values()}"
sleep 1
base_lines=$(for i in 1 2 3; do wc -l < $run/n$i.log; done | paste -sd' ')

hogs_kind="normal-priority"
if [ -n "$hogprio" ]; then
  hogs_kind="SCHED_FIFO $hogprio"
  for _ in 1 2; do chrt -f "$hogprio" sh -c 'while :; do :; done' & hogs+=($!); done
else
  for _ in 1 2 3 4; do (while :; do :; done) & hogs+=($!); done
fi
echo "soak: profile $profile, loss $loss %, realtime $realtime, ${#hogs[@]} $hogs_kind CPU hogs on $(nproc) cores, $minutes min"
start=$(date +%s)
sleep $((minutes * 60))
for p in "${hogs[@]}"; do kill "$p"; done
hogs=()
elapsed=$(( $(date +%s) - start ))

# Only log lines written during the soak count.
i=0; during=""
for n in $base_lines; do i=$((i + 1)); during+=$(tail -n +$((n + 1)) $run/n$i.log); during+=$'\n'; done
count() { printf '%s' "$during" | grep -c "$1" || true; }
dropped=$(for i in 1 2 3; do ip netns exec vt-$name-n$i nft list table inet vigil_soak | grep -o 'packets [0-9]*' | awk '{print $2}'; done | awk '{s+=$1} END {print s+0}')
received=$(for i in 1 2 3; do $tb status --name $name n$i --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["counters"]["accepted"])'; done | awk '{s+=$1} END {print s+0}')
echo "soak: ${elapsed}s, packets accepted $received, dropped by nft $dropped"
echo "soak profile=$profile loss=${loss}% realtime=$realtime hogs=${hogprio:+rt}${hogprio:-normal} minutes=$minutes false_deaths=$(count ' is dead') coordinator_changes=$(count 'elected coordinator') late_warnings=$(count 'late heartbeat') link_down=$(count 'is down')"
