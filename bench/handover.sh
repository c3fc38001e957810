#!/usr/bin/env bash
# Controlled-handover benchmark: real live migrations of a VM through the Vigil agents, back and forth.
#
# Same setup as scripts/test-live-migration (virt-testbed: two libvirt nodes, guest vguest on iSCSI; group
# vm1 = ["vm vguest 10.88.0.100"], home a; a pinger in vv-obs sending 100 echo requests a second), then
# --runs migrations alternating a -> b (`vigil standby` on a) and b -> a (`vigil unstandby` on a, then
# `vigil move vm1 a`, then `vigil unmove vm1`). Every migration gets the test's checks (only the target runs
# the guest, its disk counter goes on, last_migration is new, pings answered afterwards, the target's first
# monitor passes). Per migration:
#
#   standby/move -> running+verified ms  from the command to the target agent reporting vm1 running, i.e. its
#                                        vm start returned after the migration AND the guest answered ping
#                                        (status polled every 20 ms on the control socket)
#   longest ping gap ms                  longest silence between replies seen from vv-obs, in [command,
#                                        running + 1 s]
#   pings lost                           echo requests without reply in that window
#   libvirt downtime/total ms            from the target's last_migration (libvirt's completed-job figures)
#   libvirt call wall ms                 the migrate call as the vm agent timed it
#
# and min/median/max of each, over all migrations and per direction.
#
#   bench/handover.sh [--runs 10]
#
# Needs root, the packages in scripts/virt-packages.txt and a built vigil (VIGIL_BIN overrides
# .build/debug/vigil). With TCG (no usable KVM) the guest runs emulated: downtimes are larger than with KVM.
set -euo pipefail
runs=10
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=${2:-}; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d;s/^# \{0,1\}//'; exit 0 ;;
    *) echo "handover.sh: unknown option $1 (--runs N)" >&2; exit 2 ;;
  esac
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "handover.sh: --runs needs a positive number" >&2; exit 2; }

prog=handover.sh
# shellcheck source=scripts/vm-cluster-lib.sh
. "$(dirname "$0")/../scripts/vm-cluster-lib.sh"

vc_init
trap vc_cleanup EXIT
trap 'exit 130' INT TERM
started=$(vc_now)

vc_up
for i in $(seq 1 "$runs"); do
  if [ $((i % 2)) = 1 ]; then d=ab; else d=ba; fi
  vc_migrate "$d"
  vc_say "$i/$runs $vc_last"
done
for n in a b; do
  vc_alive "${agent_pid[$n]}" || vc_fail "the agent on $n (PID ${agent_pid[$n]}) is gone (see $work/$n.log)"
done

total=$(awk -v a="$started" -v b="$(vc_now)" 'BEGIN { printf "%.0f", b - a }')
echo "Vigil controlled handover (live migration) benchmark: $runs migrations, $(date -u +%Y-%m-%dT%H:%MZ)"
echo "guest: 1 vCPU, 128 MiB, disk on iSCSI; accel $ACCEL; max_downtime 30ms; vigil $("$VIGIL_BIN" --version 2>/dev/null || echo "?") ($VIGIL_BIN)"
echo "cluster: interval 50ms, deadtime 500ms; status polled every 20 ms; pinger 100/s from vv-obs"
echo
column -t -s $'\t' "$work/migrations.tsv"
echo
vc_py stats "$work/migrations.tsv"
echo
echo "total wall time $total s (testbed up, agents, $runs migrations; after each: 1 s of pings, then the first monitor on the target)"
vc_ok=yes
