#!/usr/bin/env bash
# Fencing benchmark: how long after a hard failure of a group's owner the survivors have fenced it by poison
# pill on shared storage and run the group elsewhere.
#
# Each run is a fresh `scripts/vigil-testbed up --name sfence --nodes 3 --groups 1 --fencing required
# --storage iscsi` (the namespace tests' storage settings: self_fence stop-resources, interval 100ms,
# io_timeout 500ms, watchdog_timeout 1s, msgwait 2s; timing interval 50ms, warntime 150ms, deadtime 300ms,
# initdead 2s; g1 = the `journal` test agent, i.e. resource-agents/dummy with every start and stop logged).
# All agents start; once every node reports g1 running, storage ok and every peer alive on disk, the clock
# starts (t0) and the owner of g1 fails:
#
#   --mode crash   `vigil-testbed crash OWNER`: SIGKILL of every process in its namespace. Nothing is left to
#                  read the pill, so the survivors wait msgwait (the msgwait path: after the pill was
#                  written, or since the node was due dead while its slot stayed still, whichever ends first).
#   --mode cut     `vigil-testbed cut OWNER`: its LAN links down, its storage network alive. Its agent reads
#                  the pill, stops g1 (self_fence stop-resources) and acknowledges (the acknowledgement path).
#
# The survivors' status JSON is then polled about every 10 ms, and for the coordinator among them (at that
# poll) the first time each of these held, in ms since t0:
#
#   dead        the owner's node state is dead, partitioned or fenced
#   fenced      its storage.fencing entry for the owner has a non-null `done` (how: acknowledged or msgwait)
#   restarted   g1 is `running` with an owner other than the failed node
#   start       (from the journal) the new owner's agent called `journal g1 start`; the peers' figure in
#               ../shared/reference/peers.md is to this point
#
# and checks that the fence went the expected way (msgwait for crash, acknowledged for cut) and, for cut,
# that the failed node's stop of g1 ended before the start elsewhere began. Prints one line per run and
# min/median/max of each figure. The testbed goes down after every run, and on exit.
#
#   bench/fencing.sh [--runs 10] [--mode crash|cut]
#
# Status is read on the control socket's one-line protocol (`status\n`: the same JSON that
# `vigil status --json --socket RUN/NODE.sock` prints), not by running the CLI: on the debug build the CLI
# alone takes ~30 ms a call, which would make 10 ms polling impossible. t0 is taken just before the testbed
# command starts; its own start-up (bash, `ip`) is inside the figures, and its wall time is printed per run.
#
# Needs root, tgtd (scripts/agent-packages.txt) and a built vigil (VIGIL_BIN overrides .build/debug/vigil).
set -euo pipefail
runs=10 mode=crash
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=${2:-}; shift 2 ;;
    --mode) mode=${2:-}; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d;s/^# \{0,1\}//'; exit 0 ;;
    *) echo "fencing.sh: unknown option $1 (--runs N, --mode crash|cut)" >&2; exit 2 ;;
  esac
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "fencing.sh: --runs needs a positive number" >&2; exit 2; }
case "$mode" in crash|cut) ;; *) echo "fencing.sh: --mode must be crash or cut" >&2; exit 2 ;; esac

repo=$(cd "$(dirname "$0")/.." && pwd)
export VIGIL_BIN=${VIGIL_BIN:-$repo/.build/debug/vigil}
name=sfence
cleanup() { "$repo/scripts/vigil-testbed" down --name "$name" >/dev/null 2>&1 || echo "fencing.sh: testbed down failed" >&2; }
trap cleanup EXIT
trap 'exit 130' INT TERM

PYTHONPATH="$repo/bench/lib${PYTHONPATH:+:$PYTHONPATH}" python3 -m vigiltools.fencing "$repo" "$name" "$runs" "$mode"
