#!/usr/bin/env bash
# Chaos bench: a random nemesis (kill -9, kill + restart, SIGSTOP/SIGCONT, crashes, controlled leaves, LAN cuts,
# partitions, one-way cuts, deaf, mute and lossy nodes, frozen storage targets, a group's process killed, starts
# or stops that fail; standby/unstandby/move/unmove, confirm-down of a crashed node and cleanup after a resource
# fault) against a 3- or 5-node cluster of real agents with shared storage, for N
# minutes, with a process sampler judging every 2 ms that no group runs on two nodes; at the end everything is
# healed and every group must run exactly once.
#
#   bench/chaos.sh --minutes N [--nodes 3|5] [--seed S] [--groups G] [--storage iscsi,aoe|iscsi|aoe|none]
#                  [--no-watchdog] [--faults KIND,...] [--schedule FILE] [--out DIR] [--verbose]
#
# Prints the faults by kind, the operations, and `chaos: N faults, M operations, V violations`; exits 1 on a
# violation (or an agent that died by itself). The schedule, events, sampler log and summary go to
# bench/results/chaos-SEED/ (with the agents' logs on failure); rerun with the same --seed, or --schedule
# bench/results/chaos-SEED/schedule.json, to replay it. The logic is bench/chaos/nemesis.py (its --help has the
# details: the emulated watchdog, the output files). Needs root, tgt, vblade and a built vigil (VIGIL_BIN
# overrides .build/debug/vigil). Cleans up on exit and on Ctrl-C.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
case "${1:-}" in -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d;s/^# \{0,1\}//'; exit 0 ;; esac
exec python3 "$here/chaos/nemesis.py" "$@"
