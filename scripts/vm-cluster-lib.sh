# shellcheck shell=bash
# vm-cluster-lib.sh: sourced by scripts/test-live-migration and bench/handover.sh. A two-node Vigil cluster on
# the libvirt testbed (scripts/virt-testbed): group vm1 = the guest vguest (10.88.0.100, disk on iSCSI),
# home a; agents in the node namespaces; a pinger in vv-obs; one controlled migration at a time, measured
# and checked.
#
# The caller sets `prog` (for messages), calls vc_init, installs `trap vc_cleanup EXIT`, then vc_up, then
# vc_migrate ab|ba as often as it likes. Every wait is bounded. Cleanup kills only what was started here, by
# PID (agents with SIGKILL: a SIGTERM would make an agent hand its group over, i.e. migrate the guest once
# more), then runs `virt-testbed down`.
#
# Environment: VIGIL_BIN (default: the repo's .build/debug/vigil), VIGIL_LM_KEEP=1 keeps the work dir
# (config, agent logs, ping log) also after success; after a failure it is always kept. VIGIL_LM_POLL_MS:
# status poll period while waiting for a migration to finish (default 20).

: "${prog:=vm-cluster}"
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tb=$repo/scripts/virt-testbed
export LC_ALL=C

vc_say() { echo "$prog: $*" >&2; }
# vc_fail MSG: exit 1, or 75 if the guest's console shows the testbed's known QEMU fault at switchover (the
# caller may then retry once on a fresh testbed; see scripts/test-live-migration). The consoles go to $work.
vc_fail() {
  echo "$prog: FAILED: $*" >&2
  if [ -n "${work:-}" ] && [ -d "$work" ] && "$tb" guest-fault "$work" >&2; then
    echo "$prog: TESTBED FAULT: the guest hung right after a switchover: the testbed's known QEMU fault (../shared/notes/testbed.md), not Vigil's; consoles in $work" >&2
    exit 75
  fi
  exit 1
}
vc_now() { echo "$EPOCHREALTIME"; }

vc_init() {
  [ "$(id -u)" = 0 ] || { echo "$prog: run as root (namespaces, libvirtd)" >&2; exit 1; }
  VIGIL_BIN=${VIGIL_BIN:-$repo/.build/debug/vigil}
  [ -x "$VIGIL_BIN" ] || { echo "$prog: no vigil binary at $VIGIL_BIN (swift build, or set VIGIL_BIN)" >&2; exit 1; }
  command -v python3 >/dev/null || { echo "$prog: python3 is needed" >&2; exit 1; }
  work=$(mktemp -d /tmp/vigil-lm.XXXXXX)
  declare -gA agent_pid=() wrapper_pid=()
  pinger_pid=
  vc_ok=no
}

# ---------------------------------------------------------------------------------------------------------
# Cleanup (EXIT trap).

vc_alive() {  # a zombie counts as gone (orphans are reaped late here)
  local st
  st=$(cat "/proc/${1:-x}/stat" 2>/dev/null) || return 1
  st=${st##*) }
  [ "${st%% *}" != Z ]
}

vc_kill() {  # vc_kill PID COMM SIGNAL: signal PID if it still is COMM, wait (bounded) for it to go
  local pid=${1:-} comm=$2 sig=$3 _
  vc_alive "$pid" || return 0
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$comm" ] || return 0
  kill "-$sig" "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do vc_alive "$pid" || return 0; sleep 0.05; done
  kill -KILL "$pid" 2>/dev/null || true
}

vc_cleanup() {
  local rc=$? n
  trap - EXIT
  set +e
  vc_kill "$pinger_pid" ping INT
  for n in a b; do
    # The wrapper (virt-testbed exec) first, or it reports its child's SIGKILL on stderr.
    vc_kill "${wrapper_pid[$n]:-}" bash KILL
    vc_kill "${agent_pid[$n]:-}" vigil KILL
  done
  if [ "$rc" -ne 0 ] || [ "$vc_ok" != yes ]; then
    [ "$rc" -ne 0 ] || rc=1
    for n in a b; do
      if [ -f "$work/$n.log" ]; then
        echo "---- last lines of node $n's agent log ($work/$n.log):" >&2
        tail -n 25 "$work/$n.log" >&2
      fi
    done
    vc_say "work dir kept: $work (cluster.conf, agent logs, ping.txt)"
    "$tb" down >/dev/null 2>&1 || vc_say "warning: virt-testbed down failed"
  else
    "$tb" down >/dev/null 2>&1 || vc_say "warning: virt-testbed down failed"
    if [ "${VIGIL_LM_KEEP:-0}" = 1 ]; then vc_say "work dir kept: $work"; else rm -rf "$work"; fi
  fi
  exit "$rc"
}

# ---------------------------------------------------------------------------------------------------------
# Python: status polling on the control socket, ping log analysis, statistics (bench/lib/vigiltools/vmcluster.py).

vc_py() { PYTHONPATH="$repo/bench/lib${PYTHONPATH:+:$PYTHONPATH}" python3 -m vigiltools.vmcluster "$@"; }
vc_sock() { echo "$work/$1.sock"; }
vc_vigil() { "$VIGIL_BIN" "$@"; }

# ---------------------------------------------------------------------------------------------------------
# Setup.

# The testbed's cluster timings (scripts/testbed uses them too): `vigil config init` arguments.
vc_timing_args=(--interval 50ms --warntime 150ms --deadtime 500ms --initdead 2s)

# vc_node_tables_fix FILE: edits every testbed cluster.conf needs. The testbed machine cannot run SCHED_FIFO
# reliably next to the TCG guest, and it does not need to; each [[node]] gets its libvirt URI.
vc_node_tables_fix() {
  local f=$1
  sed -i -e 's/^realtime = .*/realtime = false/' -e 's/^lock_memory = .*/lock_memory = false/' \
    -e "/^name = \"a\"\$/a libvirt_uri = \"$URI_A\"" -e "/^name = \"b\"\$/a libvirt_uri = \"$URI_B\"" "$f"
  grep -q '^libvirt_uri = ' "$f" || vc_fail "could not add libvirt_uri to the [[node]] tables of $f"
}

vc_write_config() {
  local f=$work/cluster.conf
  "$VIGIL_BIN" keygen "$work/authkey" >/dev/null
  "$VIGIL_BIN" config init --cluster vmlm --node a="$NODE_A_IP" --node b="$NODE_B_IP" --key-file "$work/authkey" \
    "${vc_timing_args[@]}" --output "$f" >/dev/null
  # Two nodes: no majority without both, no fencing device here.
  sed -i -e 's/^quorum = .*/quorum = "ignore"/' -e 's/^fencing = .*/fencing = "none"/' "$f"
  vc_node_tables_fix "$f"
  # shellcheck disable=SC2119  # no extra [virt] lines here
  vc_vm_tables >> "$f"
  "$VIGIL_BIN" config check --config "$f" >/dev/null || vc_fail "vigil config check rejects $f"
}

# vc_vm_tables [LINE...]: the [virt] table (plus each LINE in it) and group vm1 = the guest (home a), to
# append to a cluster.conf. Needs the variables of `virt-testbed env`.
# shellcheck disable=SC2120  # the LINEs are optional (scripts/testbed passes one)
vc_vm_tables() {
  cat <<EOF

[virt]
max_downtime = "30ms"
migration_uri = "tcp://{address}"
liveness = "ping"
liveness_timeout = "60s"
definitions = "$(dirname "$GUEST_XML")"
EOF
  [ $# -eq 0 ] || printf '%s\n' "$@"
  cat <<EOF

[[group]]
name = "vm1"
home = "a"
resources = ["vm $GUEST $GUEST_IP"]
monitor_interval = "2s"
start_timeout = "3m"
stop_timeout = "2m"
EOF
}

vc_start_agent() {  # inside the node's namespaces; the sh records the agent's own PID, then becomes it
  local n=$1 pidfile=$work/$1.agent.pid _
  rm -f "$pidfile"
  # shellcheck disable=SC2016  # $0/$@ belong to the inner sh
  setsid "$tb" exec "$n" sh -c 'echo $$ > "$0"; exec "$@"' "$pidfile" \
    "$VIGIL_BIN" agent --config "$work/cluster.conf" --node "$n" --socket "$(vc_sock "$n")" \
    --state-dir "$work/$n.state" --run-dir "$work/$n.run" > "$work/$n.log" 2>&1 < /dev/null &
  wrapper_pid[$n]=$!
  disown   # cleanup kills it by PID; no "Killed" job report then
  for _ in $(seq 1 100); do [ -s "$pidfile" ] && break; sleep 0.05; done
  [ -s "$pidfile" ] || vc_fail "agent $n did not start (see $work/$n.log)"
  agent_pid[$n]=$(cat "$pidfile")
  for _ in $(seq 1 100); do [ "$(cat "/proc/${agent_pid[$n]}/comm" 2>/dev/null)" = vigil ] && break; sleep 0.05; done
  [ "$(cat "/proc/${agent_pid[$n]}/comm" 2>/dev/null)" = vigil ] || vc_fail "agent $n exited at once (see $work/$n.log)"
}

vc_start_pinger() {
  # 100 echo requests a second from the observer, each reply timestamped (-D), line-buffered into the log.
  stdbuf -oL ip netns exec "$OBS_NS" ping -n -D -i 0.01 -W 1 "$GUEST_IP" > "$work/ping.txt" 2>&1 < /dev/null &
  pinger_pid=$!   # stdbuf and ip netns exec both exec: this is ping's PID
  disown
  local _
  for _ in $(seq 1 100); do grep -q 'bytes from' "$work/ping.txt" 2>/dev/null && return 0; sleep 0.05; done
  vc_fail "the guest does not answer the pinger in $OBS_NS (see $work/ping.txt)"
}

vc_up() {
  local t0; t0=$(vc_now)
  vc_say "testbed up (two libvirt nodes, iSCSI, guest vguest on a)"
  timeout 900 "$tb" up --start-guest > "$work/testbed.log" 2>&1 \
    || { tail -n 20 "$work/testbed.log" >&2; vc_fail "virt-testbed up --start-guest failed"; }
  eval "$("$tb" env)"
  [ "$("$tb" where)" = a ] || vc_fail "the guest is not running on node a after virt-testbed up"
  vc_write_config
  vc_start_agent a
  vc_start_agent b
  vc_say "agents started (a: PID ${agent_pid[a]}, b: PID ${agent_pid[b]}); waiting for vm1 running on a"
  # The guest already runs on a: the agents' probe finds it there and the coordinator keeps it there.
  vc_py wait "$(vc_sock a)" vm1 a "$(vc_now)" 60 > /dev/null || vc_fail "vm1 did not come up running on a"
  vc_py wait "$(vc_sock b)" vm1 a "$(vc_now)" 10 > /dev/null || vc_fail "node b does not see vm1 running on a"
  [ "$("$tb" where)" = a ] || vc_fail "the guest is not (only) on node a: where says '$("$tb" where | xargs)'"
  # The guest answers ping a little before its disk heartbeat starts.
  local _
  for _ in $(seq 1 200); do [[ $("$tb" counter 2>/dev/null) == vigil-guest-counter* ]] && break; sleep 0.1; done
  [[ $("$tb" counter 2>/dev/null) == vigil-guest-counter* ]] || vc_fail "the guest does not write its disk counter (LUN $LUN_FILE)"
  vc_start_pinger
  vc_say "cluster ready in $(awk -v a="$t0" -v b="$(vc_now)" 'BEGIN { printf "%.1f", b - a }') s"
}

# ---------------------------------------------------------------------------------------------------------
# One controlled migration, checked and measured.

vc_counter() {  # "N UPTIME" of the guest's disk heartbeat (retries a torn read)
  local line _
  for _ in 1 2 3 4 5; do
    line=$("$tb" counter 2>/dev/null || true)
    if [[ $line =~ ^vigil-guest-counter\ ([0-9]+)\ [0-9]+\ up=([0-9.]+) ]]; then
      echo "${BASH_REMATCH[1]} ${BASH_REMATCH[2]}"; return 0
    fi
    sleep 0.05
  done
  vc_fail "cannot read the guest's disk counter (got '$line')"
}

vc_gt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a > b) }'; }

# vc_migrate ab|ba: a->b with `vigil standby` on a; b->a with `vigil unstandby` on a, then `vigil move vm1 a`
# (sent to b's agent, which forwards it to the coordinator) and `vigil unmove vm1`, so that every round
# starts from the same state. Appends one row to $work/migrations.tsv and sets vc_last (a summary line).
vc_migrate() {
  local dir=$1 waiter from to prev t0 res ms tdone c0 c1 c2 n0 u0 n1 n2 u2 mig where pg gap lost after _ g
  case "$dir" in ab) from=a to=b ;; ba) from=b to=a ;; *) vc_fail "vc_migrate ab|ba" ;; esac
  [ -f "$work/migrations.tsv" ] || printf 'n\tdir\tstandby/move -> running+verified ms\tlongest ping gap ms\tpings lost\tlibvirt downtime ms\tlibvirt total ms\tlibvirt call wall ms\n' > "$work/migrations.tsv"
  vc_mig_n=$(( ${vc_mig_n:-0} + 1 ))
  prev=$(vc_py get "$(vc_sock "$to")" last_migration)
  if [ "$dir" = ba ]; then
    vc_vigil unstandby --socket "$(vc_sock a)" > /dev/null || vc_fail "vigil unstandby on a failed"
    # No auto_failback: ending the standby must not move the group by itself.
    sleep 0.3
    g=$(vc_py get "$(vc_sock b)" group:vm1)
    case "$g" in *'"owner": "b"'*'"state": "running"'*) ;; *) vc_fail "after unstandby a, vm1 is not (still) running on b: $g" ;; esac
  fi
  c0=$(vc_counter) || exit $?
  read -r n0 u0 <<< "$c0"
  t0=$(vc_now)
  if [ "$dir" = ab ]; then
    # With --wait, as an operator would: progress lines (the migration's figures from a's libvirt) until done.
    vc_vigil standby --socket "$(vc_sock a)" --config "$work/cluster.conf" --wait --timeout 200s > "$work/standby-wait.$vc_mig_n.txt" 2>&1 &
    waiter=$!
  else
    vc_vigil move vm1 a --socket "$(vc_sock b)" > /dev/null || vc_fail "vigil move vm1 a failed"
  fi
  res=$(vc_py wait "$(vc_sock "$to")" vm1 "$to" "$t0" 200) || vc_fail "migration $from -> $to: vm1 not running on $to within 200 s"
  read -r ms tdone <<< "$res"
  if [ "$dir" = ab ]; then
    wait "$waiter" || vc_fail "vigil standby --wait on a exited $?: $(cat "$work/standby-wait.$vc_mig_n.txt")"
    grep -q 'done: ' "$work/standby-wait.$vc_mig_n.txt" || vc_fail "vigil standby --wait printed no 'done:' line: $(cat "$work/standby-wait.$vc_mig_n.txt")"
    grep -q "$GUEST: migrating, .* MiB copied" "$work/standby-wait.$vc_mig_n.txt" \
      || vc_fail "vigil standby --wait showed no migration progress: $(cat "$work/standby-wait.$vc_mig_n.txt")"
  fi
  c1=$(vc_counter) || exit $?
  read -r n1 _ <<< "$c1"
  where=$("$tb" where | xargs)
  [ "$where" = "$to" ] || vc_fail "migration $from -> $to: virt-testbed where says '$where', expected '$to'"
  g=$(vc_py get "$(vc_sock "$to")" group:vm1)
  case "$g" in *'"failures": {}'*) ;; *) vc_fail "migration $from -> $to: vm1 has recorded failures: $g" ;; esac
  # The guest survived the move (no reboot: the counter and its uptime go on) and writes its disk from $to.
  for _ in $(seq 1 100); do
    c2=$(vc_counter) || exit $?
    read -r n2 u2 <<< "$c2"
    [ "$n2" -gt "$n1" ] && break
    sleep 0.1
  done
  [ "$n2" -gt "$n1" ] || vc_fail "migration $from -> $to: the guest's disk counter did not advance after the move (stuck at $n1)"
  if [ "$n2" -le "$n0" ] || ! vc_gt "$u2" "$u0"; then
    vc_fail "migration $from -> $to: counter/uptime went back ($n0 up=$u0 before, $n2 up=$u2 after): the guest rebooted"
  fi
  mig=$(vc_py get "$(vc_sock "$to")" last_migration)
  [ -n "$mig" ] || vc_fail "migration $from -> $to: no last_migration in $to's status"
  [ "$mig" != "$prev" ] || vc_fail "migration $from -> $to: last_migration in $to's status did not change ($mig)"
  case " $mig " in *" from=$from "*) ;; *) vc_fail "migration $from -> $to: last_migration is not from $from: $mig" ;; esac
  # Give the pinger a second on the new node, then measure the window [t0, done + 1 s].
  sleep 1
  pg=$(vc_py ping "$work/ping.txt" "$t0" "$tdone" "$(awk -v t="$tdone" 'BEGIN { printf "%.6f", t + 1 }')")
  read -r gap lost after <<< "$pg"
  [ "${after:-0}" -ge 10 ] || vc_fail "migration $from -> $to: the guest answered only ${after:-0} pings in the second after the move"
  # The target runs it for good: no handover marker is left behind there (its monitor would take the guest
  # for "handed over", i.e. stopped), and vm1 survives the target's next monitor (monitor_interval 2s).
  [ ! -e "$work/$to.run/vm-$GUEST.handover" ] \
    || vc_fail "migration $from -> $to: $to runs the guest but its run dir still has a handover marker: $work/$to.run/vm-$GUEST.handover ('$(cat "$work/$to.run/vm-$GUEST.handover" 2>/dev/null)')"
  # (From $to's status: monitor_passed_ms_ago is set once a monitor found vm1 running there since it started.)
  for _ in $(seq 1 60); do
    g=$(vc_py get "$(vc_sock "$to")" group:vm1) || g="(no answer from $to's agent)"
    case "$g" in *'"monitor_passed_ms_ago": '[0-9]*) break ;; esac
    case "$g" in *'"failures": {}'*) ;; *) break ;; esac
    sleep 0.1
  done
  case "$g" in
    *'"failures": {}'*'"monitor_passed_ms_ago": '[0-9]*'"owner": "'"$to"'"'*'"state": "running"'*) ;;
    *'"monitor_passed_ms_ago": null'*) vc_fail "migration $from -> $to: no successful monitor of vm1 on $to after 60 polls: $g" ;;
    *) vc_fail "migration $from -> $to: vm1 did not survive $to's first monitor: $g" ;;
  esac
  if [ "$dir" = ba ]; then
    vc_vigil unmove vm1 --socket "$(vc_sock a)" > /dev/null || vc_fail "vigil unmove vm1 failed"
  fi
  local dt tot lw
  dt=$(vc_py field "$mig" downtime_ms); tot=$(vc_py field "$mig" total_ms); lw=$(vc_py field "$mig" wall_ms)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$vc_mig_n" "$dir" "$ms" "$gap" "$lost" "$dt" "$tot" "$lw" >> "$work/migrations.tsv"
  # shellcheck disable=SC2034  # read by the caller
  vc_last="$from -> $to: running+verified on $to ${ms} ms after the command; longest ping gap ${gap} ms, ${lost} pings lost; libvirt downtime ${dt} ms (total ${tot} ms, migrate call ${lw} ms); disk counter $n0 -> $n2"
}
