#!/usr/bin/env bash
# Shared-storage latency: slot writes and slot-area reads on the testbed's iSCSI (tgtd, through libiscsi) and
# AoE (vblade, raw Ethernet) devices, as one node's agent would do them every disk-heartbeat interval.
#
# Brings up `scripts/vigil-testbed up --name sbench --nodes 3 --storage iscsi,aoe` with the storage settings of
# the namespace tests (self_fence stop-resources, interval 100ms, io_timeout 500ms, watchdog_timeout 1s,
# msgwait 2s; cluster timings interval 50ms, warntime 150ms, deadtime 300ms, initdead 2s), starts NO agent
# (nothing else touches the devices), and runs
#
#   vigil storage bench --config RUN/cluster.conf --node n1 --count N DEVICE
#
# inside n1's namespace for each device of the [storage] devices line, in that order. Each prints, for N slot
# writes (1 sector) and N area reads (header + slots + mailboxes) alternating: min / median / p99 / max ms.
# The testbed goes down on exit, also on failure or ^C.
#
#   bench/storage-latency.sh [--count 1000]
#
# Needs root, tgtd and vblade (scripts/agent-packages.txt) and a built vigil (VIGIL_BIN overrides
# .build/debug/vigil).
set -euo pipefail
count=1000
while [ $# -gt 0 ]; do
  case "$1" in
    --count) count=${2:-}; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d;s/^# \{0,1\}//'; exit 0 ;;
    *) echo "storage-latency.sh: unknown option $1 (--count N)" >&2; exit 2 ;;
  esac
done
[[ $count =~ ^[1-9][0-9]*$ ]] || { echo "storage-latency.sh: --count needs a positive number" >&2; exit 2; }

repo=$(cd "$(dirname "$0")/.." && pwd)
testbed=$repo/scripts/vigil-testbed
export VIGIL_BIN=${VIGIL_BIN:-$repo/.build/debug/vigil}
name=sbench
run=${VIGIL_TESTBED_DIR:-/tmp/vigil-testbed-$name}
storage_conf=('self_fence = "stop-resources"' 'interval = "100ms"' 'io_timeout = "500ms"'
              'watchdog_timeout = "1s"' 'msgwait = "2s"')

cleanup() { "$testbed" down --name "$name" >/dev/null 2>&1 || echo "storage-latency.sh: testbed down failed" >&2; }
trap cleanup EXIT
trap 'exit 130' INT TERM

conf_args=()
for c in "${storage_conf[@]}"; do conf_args+=(--storage-conf "$c"); done
# The namespace tests' timings too: the safe profile's deadtime (2s) would need msgwait >= 3s (since e3f9a63);
# no agent runs here, so they change nothing measured.
"$testbed" up --name "$name" --nodes 3 --storage iscsi,aoe "${conf_args[@]}" \
  --interval 50ms --warntime 150ms --deadtime 300ms --initdead 2s >/dev/null

# devices = ["iscsi://...", "aoe://..."] from the [storage] table (not the commented example config init writes).
mapfile -t devices < <(PYTHONPATH="$repo/bench/lib${PYTHONPATH:+:$PYTHONPATH}" python3 -m vigiltools.conf devices "$run/cluster.conf")
[ ${#devices[@]} -gt 0 ] || { echo "storage-latency.sh: no devices line in $run/cluster.conf" >&2; exit 1; }

echo "Vigil shared-storage latency: $count writes + $count reads per device, node n1, no agent running, $(date -u +%Y-%m-%dT%H:%MZ)"
echo "vigil $("$VIGIL_BIN" --version 2>/dev/null || echo "?") ($VIGIL_BIN); storage: $(IFS=,; echo "${storage_conf[*]}" | sed 's/ = /=/g;s/"//g')"
for d in "${devices[@]}"; do
  "$testbed" exec --name "$name" n1 "$VIGIL_BIN" storage bench --config "$run/cluster.conf" --node n1 --count "$count" "$d"
done
