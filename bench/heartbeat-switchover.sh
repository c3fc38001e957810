#!/usr/bin/env bash
# heartbeat-switchover.sh - the documented rolling replacement of Heartbeat 3.0.6 by Vigil, done for real
#
# What it measures
#   docs/migrating-from-heartbeat.md, "Rolling replacement of a two-node cluster" (steps 1-8) and "Rollback"
#   (after step 5), on a two-node cluster n1 (alpha) n2 (beta) with ucast eth0 to both node addresses,
#   auto_failback on, `crm no`, and two haresources groups, one per home:
#       n1 IPaddr2::VIP/24/eth0        (SUBNET.100, home n1: moved by steps 1, 5 and back by 7)
#       n2 IPaddr2::VIP2/24/eth0       (SUBNET.101, home n2: only step 5 touches it)
#   Per run: both nodes start Heartbeat 3.0.6 and reach steady state (VIP on n1, VIP2 on n2), then the steps,
#   exactly as documented, each one's command started only once the previous one's documented effect is seen:
#     1 n1: /usr/share/heartbeat/hb_standby all      wait: n2's `cl_status rscstatus` = all, both VIPs on n2
#     2 n1: heartbeat -k (the unit's ExecStop)        wait: it returned, no heartbeat left on n1, n2 sees n1 dead
#     3 n1: echo standby > STATE/linux-ha.n1.standby
#     4 n1: vigil agent --heartbeat-config /etc/ha.d  wait: n1 coordinator, n2 dead, no group assigned
#     5 n2: heartbeat -k, then vigil agent ...        wait: every group running on n2 in both views
#     6    vigil status on both nodes                 (saved; checked: every group running on n2)
#     7    vigil unstandby n1                         wait: n1 out of standby (its Heartbeat hold over), then
#                                                     VIP running on n1, VIP2 on n2 in both views
#   (8, `systemctl enable`, has no run-time effect.) After the last run, from that state (both on Vigil):
#     rollback 1 n1: SIGTERM to vigil (systemctl stop) wait: it exited
#     rollback 2 n2: SIGTERM to vigil                  wait: it exited
#     rollback 3 n2: heartbeat                          wait: its initial resource acquisition is complete
#     rollback 4 n1: heartbeat                          wait: Heartbeat steady state, VIP on n1, VIP2 on n2
#   Throughout, an outsider namespace pings every VIP every 10 ms (raw ICMP socket out, packet socket in, so
#   every reply is credited to the MAC that sent it), and both node namespaces' IPv4 addresses are read by
#   netlink every 20 ms. Reported per run and step, per VIP:
#     longest gap    the longest silence between two echo replies that began in this step (client outage)
#     silent after   step start -> last reply before that gap;  back after: step start -> first reply after it
#                    (step 5's "back after" is the documented outage: `stop heartbeat` -> VIP answers again;
#                    both are left out, "-", when the longest gap is under 50 ms: no outage)
#     lost           echo requests sent in the step that got no reply
#   and the split-brain checks: replies to one VIP from two MACs interleaved (A, B, A within 100 ms), and the
#   time both namespaces held the same VIP at once (netlink, 20 ms resolution).
#   Topology and node emulation as bench/heartbeat-dropin.sh: namespaces hub (bridge), n1 (.1), n2 (.2),
#   outsider (.250); every daemon in its node's network namespace plus a private mount and UTS namespace with
#   the node's own /etc/ha.d (copy of the system's, plus the three files), /run, /var/log and
#   /var/lib/heartbeat. Heartbeat and Vigil on one node share that /run, /etc/ha.d and /var/log/ha-log,
#   as on one machine. Vigil runs as `vigil agent --heartbeat-config /etc/ha.d --node nI --socket S
#   --state-dir STATE --run-dir /run/vigil` with HA_RSCTMP=/run/resource-agents.
#
# Usage
#   bench/heartbeat-switchover.sh [--runs R] [--keepalive T] [--deadtime T] [--warntime T] [--initdead T]
#       [--out DIR] [--subnet A.B.C] [--no-rollback]
#   Defaults: --runs 3 --keepalive 100ms --deadtime 500ms --warntime 250ms --initdead 2
#   --out /tmp/vigil-switchover/out --subnet 10.66.0. About 2 min with the defaults (2 cores).
#
# Output: one summary per run, then OUT/results.tsv (one row per run, step and VIP), OUT/marks.tsv (sub-step
# times), OUT/table.md (min / median / max), OUT/runN/ (each node's ha-log, which both daemons write, the
# agents' output, `vigil status` at steps 4, 6 and 7, the raw monitor log and the step markers).
#
# Environment: VIGIL_BIN (default the repo's debug build). Needs root, iproute2, util-linux, python3, and the
# Debian packages heartbeat and resource-agents. Traffic stays inside the namespaces it creates (prefix
# vsw-PID-). Every wait is bounded; every daemon it starts lives in one of its namespaces and is killed by
# PID, as is the monitor; the namespaces and the work directory are removed on exit, including on error and
# Ctrl-C.

set -Eeuo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
# shellcheck source=bench/lib/heartbeat-ns.sh
. "$here/lib/heartbeat-ns.sh"   # build_net, node_mac, write_hacf, hb_in
RUNS=3
KEEPALIVE=100ms DEADTIME=500ms WARNTIME=250ms INITDEAD=2
OUT=/tmp/vigil-switchover/out
SUBNET=10.66.0
ROLLBACK=yes
QUIET=1              # s both nodes' logs must have been silent for, in Heartbeat's steady state
WAIT=60              # s bound on every wait
VIGIL_BIN=${VIGIL_BIN:-$repo/.build/debug/vigil}
PY=/usr/bin/python3; [ -x "$PY" ] || PY=$(command -v python3)

usage() { sed -n '2,/^$/{s/^# \{0,1\}//;p}' "$0"; exit "${1:-0}"; }
die() { echo "heartbeat-switchover: error: $*" >&2; exit 1; }
log() { echo "[$(date +%T.%3N)] $*" >&2; }

while [ $# -gt 0 ]; do
    case "$1" in
        --runs)        RUNS=${2:?}; shift 2 ;;
        --keepalive)   KEEPALIVE=${2:?}; shift 2 ;;
        --deadtime)    DEADTIME=${2:?}; shift 2 ;;
        --warntime)    WARNTIME=${2:?}; shift 2 ;;
        --initdead)    INITDEAD=${2:?}; shift 2 ;;
        --out)         OUT=${2:?}; shift 2 ;;
        --subnet)      SUBNET=${2:?}; shift 2 ;;
        --no-rollback) ROLLBACK=no; shift ;;
        -h|--help)     usage 0 ;;
        *)             echo "unknown argument: $1" >&2; usage 2 >&2 ;;
    esac
done

# ------------------------------------------------------------ python helper -
# bench/lib/vigiltools/hbswitchover.py:
# pids NSPATH...                  PIDs of the processes whose network namespace is one of NSPATH
# monitor OUT OUTSIDER N1 N2 VIP...   ping every VIP every 10 ms, read both nodes' addresses every 20 ms
# vq SOCK EXPR                    evaluate a Python expression over `status` (as s) of a Vigil agent
# analyze RAW MARKERS RUN PHASE RESULTS MARKS VIPLABEL=VIP...   per-step gaps, split-brain checks
# table RESULTS MARKS             min/median/max (markdown)
mkdir -p /tmp/vigil-switchover
helper() { PYTHONPATH="$here/lib${PYTHONPATH:+:$PYTHONPATH}" "$PY" -m vigiltools.hbswitchover "$@"; }

# ------------------------------------------------------------------ checks --
[ "$(id -u)" = 0 ] || die "must run as root"
[[ $RUNS =~ ^[0-9]+$ ]] && [ "$RUNS" -ge 1 ] || die "--runs must be >= 1"
[[ $SUBNET =~ ^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]] || die "--subnet must look like 10.66.0"
for t in ip unshare nsenter awk timeout; do command -v "$t" >/dev/null || die "missing tool: $t"; done
HB=/usr/libexec/heartbeat/heartbeat; [ -x "$HB" ] || HB=/usr/lib/heartbeat/heartbeat
[ -x "$HB" ] || die "heartbeat 3.0.6 is not installed (apt-get install heartbeat)"
[ -x /usr/share/heartbeat/hb_standby ] || die "/usr/share/heartbeat/hb_standby missing"
[ -x /etc/ha.d/resource.d/IPaddr2 ] && [ -x /usr/lib/ocf/resource.d/heartbeat/IPaddr2 ] \
    || die "IPaddr2 missing: install the heartbeat and resource-agents packages"
[ -x "$VIGIL_BIN" ] || die "no vigil binary at $VIGIL_BIN"
VIP=$SUBNET.100 VIP2=$SUBNET.101
VIPS=("VIP=$VIP" "VIP2=$VIP2")

# ------------------------------------------------------------ state/cleanup -
WORK=$(mktemp -d /tmp/vigil-switchover/work.XXXXXX)
PFX="vsw-$$"
HUB=$PFX-hub OUTSIDER=$PFX-out
nsn() { echo "$PFX-$1"; }
NS_MADE=()
MON_PID=
declare -A VPID            # node -> vigil agent PID
mkdir -p "$OUT"
RES=$OUT/results.tsv MARKS=$OUT/marks.tsv
printf 'run\tphase\tstep\tvip\tgap_ms\tsilent_after_ms\tback_after_ms\tlost\tback_mac\tstep_ms\n' >"$RES"
printf 'run\tphase\tstep\tmark\tafter_ms\n' >"$MARKS"
RUN=0

ns_pids() { helper pids "$@" 2>/dev/null; }
kill_ns() {  # kill_ns NS...: SIGKILL every process in those network namespaces, bounded wait
    local paths=() n p
    for n in "$@"; do paths+=("/run/netns/$n"); done
    for _ in $(seq 50); do
        p=$(ns_pids "${paths[@]}")
        [ -z "$p" ] && return 0
        # shellcheck disable=SC2086  # a list of PIDs
        kill -9 $p 2>/dev/null || true
        sleep 0.1
    done
    return 1
}
mon_stop() {
    [ -n "$MON_PID" ] || return 0
    kill -TERM "$MON_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$MON_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$MON_PID" 2>/dev/null || true
    wait "$MON_PID" 2>/dev/null || true
    MON_PID=
}
save_logs() {
    [ "$RUN" -ge 1 ] || return 0
    local n d
    mkdir -p "$OUT/run$RUN"
    for n in n1 n2; do
        d=$(nd "$n"); [ -d "$d" ] || continue
        cp "$d/log/ha-log" "$OUT/run$RUN/$n-ha-log" 2>/dev/null || true
        cp "$d/agent.out" "$OUT/run$RUN/$n-agent.out" 2>/dev/null || true
    done
}
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    set +e
    mon_stop
    [ ${#NS_MADE[@]} -gt 0 ] && kill_ns "${NS_MADE[@]}"
    save_logs
    for ns in "${NS_MADE[@]}"; do ip netns del "$ns" 2>/dev/null; done
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

# ------------------------------------------------------------------ testbed -
# (the network itself: build_net, node_mac in bench/lib/heartbeat-ns.sh)

CONF=$WORK/ha.d
make_conf() {
    mkdir -p "$CONF"
    write_hacf "$CONF/ha.cf"
    printf '# home node, then the resources\nn1 IPaddr2::%s/24/eth0\nn2 IPaddr2::%s/24/eth0\n' "$VIP" "$VIP2" >"$CONF/haresources"
    printf 'auth 1\n1 sha1 heartbeat-switchover-bench-key\n' >"$CONF/authkeys"
    chmod 600 "$CONF/authkeys"
    mkdir -p "$OUT/ha.d"; cp "$CONF/ha.cf" "$CONF/haresources" "$OUT/ha.d/"
}

nd() { echo "$WORK/run$RUN/$1"; }   # node directory ("machine") of the current run

# A node as a freshly booted machine: its /etc/ha.d (system copy + the three files), /var/lib/heartbeat, an
# empty /var/log/ha-log, a /run with what the heartbeat package creates, an empty Vigil state directory.
prepare_node() {
    local n=$1 d f; d=$(nd "$n")
    mkdir -p "$d/log" "$d/state"
    cp -a /etc/ha.d "$d/etc"
    for f in ha.cf haresources authkeys; do cp -p "$CONF/$f" "$d/etc/$f"; cmp -s "$CONF/$f" "$d/etc/$f" || die "copy of $f differs"; done
    cp -a /var/lib/heartbeat "$d/lib"
    rm -rf "$d/lib/hb_uuid" "$d/lib/hb_generation" "$d/lib/hostcache" "$d/lib/delhostcache" "$d/lib/fifo" "$d/lib/"*.tmp
    : >"$d/log/ha-log"
    mkdir -p "$d/run/heartbeat/ccm" "$d/run/heartbeat/crm" "$d/run/heartbeat/dopd" "$d/run/resource-agents" \
        "$d/run/lock" "$d/run/vigil"
    chown -R hacluster:haclient "$d/run/heartbeat" 2>/dev/null || true
    chmod 750 "$d/run/heartbeat"
}

# in_node NODE CMD...: CMD in the node's namespaces (network + a private mount/UTS namespace with its
# /etc/ha.d, /run, /var/lib/heartbeat, /var/log).
# shellcheck disable=SC2016  # $1.. belong to the inner sh
in_node_sh='set -e
    mount --bind "$1/etc" /etc/ha.d
    mount --bind "$1/run" /run
    mount --bind "$1/lib" /var/lib/heartbeat
    mount --bind "$1/log" /var/log
    hostname "$2"
    shift 2
    exec "$@"'

start_hb() {  # start_hb NODE: Heartbeat daemonizes, so this returns once it runs
    local n=$1 d ns; d=$(nd "$n"); ns=$(nsn "$n")
    echo "heartbeat start $(date +%T.%N)" >>"$d/agent.out"
    ( ulimit -l unlimited 2>/dev/null || true
      exec timeout 20 ip netns exec "$ns" unshare -m -u --propagation private sh -c "$in_node_sh" sh "$d" "$n" "$HB" ) \
        >>"$d/agent.out" 2>&1 </dev/null || { tail -5 "$d/agent.out" >&2; die "heartbeat failed to start on $n"; }
    hb_master "$n" >/dev/null || die "heartbeat on $n wrote no pid file"
}
hb_master() { local p; p=$(tr -d ' \n' <"$(nd "$1")/run/heartbeat.pid" 2>/dev/null) && [ -n "$p" ] && kill -0 "$p" 2>/dev/null && echo "$p"; }
hb_procs() {  # PIDs of heartbeat processes in NODE's network namespace
    local p out=
    for p in $(ns_pids "/run/netns/$(nsn "$1")"); do
        [ "$(cat "/proc/$p/comm" 2>/dev/null)" = heartbeat ] && out+="$p "
    done
    echo "$out"
}
stop_hb() {  # stop_hb NODE STEP: `heartbeat -k` in its namespaces (the unit's ExecStop: it waits for the exit)
    local n=$1 step=$2 p d w; d=$(nd "$n")
    p=$(hb_master "$n") || die "no heartbeat running on $n"
    echo "heartbeat -k $(date +%T.%N)" >>"$d/agent.out"
    # when the master process is gone (heartbeat -k itself only looks once a second)
    ( for _ in $(seq 9000); do kill -0 "$p" 2>/dev/null || { mark "$step:heartbeat_exited"; exit 0; }; sleep 0.02; done ) &
    w=$!
    timeout 180 nsenter -t "$p" -m -u -n -- "$HB" -k >>"$d/agent.out" 2>&1 || die "heartbeat -k on $n failed or timed out"
    wait "$w" || true
    for _ in $(seq 100); do [ -z "$(hb_procs "$n")" ] && return 0; sleep 0.05; done
    die "heartbeat processes left on $n after heartbeat -k: $(hb_procs "$n")"
}

start_vigil() {  # start_vigil NODE: `vigil agent --heartbeat-config /etc/ha.d` in the node's namespaces
    local n=$1 d ns; d=$(nd "$n"); ns=$(nsn "$n")
    echo "vigil start $(date +%T.%N)" >>"$d/agent.out"
    ( ulimit -l unlimited 2>/dev/null || true
      export HA_RSCTMP=/run/resource-agents
      exec setsid ip netns exec "$ns" unshare -m -u --propagation private sh -c "$in_node_sh" sh "$d" "$n" \
          "$VIGIL_BIN" agent --heartbeat-config /etc/ha.d --node "$n" --socket "$d/vigil.sock" \
          --state-dir "$d/state" --run-dir /run/vigil ) >>"$d/agent.out" 2>&1 </dev/null &
    VPID[$n]=$!
    disown
    local i
    for i in $(seq 200); do
        [ -S "$d/vigil.sock" ] && vq "$n" 's["node"]' >/dev/null 2>&1 && return 0
        kill -0 "${VPID[$n]}" 2>/dev/null || { tail -5 "$d/agent.out" >&2; die "vigil exited on $n"; }
        sleep 0.05
    done
    die "vigil on $n does not answer on its socket"
}
stop_vigil() {  # stop_vigil NODE: SIGTERM (systemctl stop vigil: a controlled stop), wait for the exit
    local n=$1 p=${VPID[$1]:-}
    [ -n "$p" ] || die "no vigil on $n"
    kill -TERM "$p"
    for _ in $(seq $((WAIT * 10))); do kill -0 "$p" 2>/dev/null || { VPID[$n]=; return 0; }; sleep 0.1; done
    die "vigil on $n did not exit within ${WAIT}s of SIGTERM"
}
vq() { local n=$1; shift; helper vq "$(nd "$n")/vigil.sock" "$@"; }
vstatus_text() { "$VIGIL_BIN" status --socket "$(nd "$1")/vigil.sock" 2>&1; }

vip_on() {  # (not `ip | grep -q`: with pipefail, grep's early exit can fail the pipeline with SIGPIPE)
    local a; a=$(ip -n "$(nsn "$1")" -4 -o addr show dev eth0 2>/dev/null) || return 1
    [[ $a == *" $2/"* ]]
}
where() { local v n o=; for v in "$VIP" "$VIP2"; do o+="$v:"; for n in n1 n2; do vip_on "$n" "$v" && o+="$n"; done; o+=" "; done; echo "$o"; }
logs_quiet() {
    local n m now; now=$(date +%s.%N)
    for n in n1 n2; do
        m=$(stat -c %.6Y "$(nd "$n")/log/ha-log" 2>/dev/null) || return 1
        awk -v a="$now" -v b="$m" -v q="$QUIET" 'BEGIN { exit !(a - b >= q) }' || return 1
    done
}
hb_acquired() {
    awk '/Configuration validated. Starting heartbeat/ { ok = 0 }
         /Initial resource acquisition complete/     { ok = 1 }
         END { exit !ok }' "$(nd "$1")/log/ha-log" 2>/dev/null
}
# until_ok DESCRIPTION CMD...: run CMD every 0.1 s until it succeeds (bounded by WAIT)
until_ok() {
    local what=$1 deadline=$((SECONDS + WAIT)); shift
    while [ $SECONDS -lt $deadline ]; do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
    die "run $RUN: not within ${WAIT}s: $what (VIPs: $(where))"
}
hb_steady() {  # Heartbeat on both, each sees the other, VIP on n1 only, VIP2 on n2 only, logs quiet
    local n x
    for n in n1 n2; do
        hb_acquired "$n" || return 1
        for x in n1 n2; do [ "$(hb_in "$n" cl_status nodestatus "$x" 2>/dev/null)" = active ] || return 1; done
    done
    vip_on n1 "$VIP" && ! vip_on n2 "$VIP" && vip_on n2 "$VIP2" && ! vip_on n1 "$VIP2" && logs_quiet
}
both_on_n2() { vip_on n2 "$VIP" && vip_on n2 "$VIP2" && ! vip_on n1 "$VIP" && ! vip_on n1 "$VIP2"; }
step1_done() { [ "$(hb_in n2 cl_status rscstatus 2>/dev/null)" = all ] && both_on_n2; }
step4_done() {
    vq n1 's["coordinator"] == "n1" and nodes["n2"]["state"] == "dead" and s["standby"] and all(x.get("owner") is None for x in g.values())'
}
groups_on() {  # groups_on VIP_OWNER VIP2_OWNER: both agents report it so, and the addresses are there
    local o1=$1 o2=$2 n q
    q="g[\"IPaddr2-$VIP-24-eth0\"][\"owner\"] == \"$o1\" and g[\"IPaddr2-$VIP-24-eth0\"][\"state\"] == \"running\" and g[\"IPaddr2-$VIP2-24-eth0\"][\"owner\"] == \"$o2\" and g[\"IPaddr2-$VIP2-24-eth0\"][\"state\"] == \"running\" and all(x[\"state\"] == \"alive\" for x in s[\"nodes\"])"
    for n in n1 n2; do vq "$n" "$q" >/dev/null || return 1; done
    vip_on "$o1" "$VIP" && vip_on "$o2" "$VIP2" || return 1
    local x1 x2; x1=$([ "$o1" = n1 ] && echo n2 || echo n1); x2=$([ "$o2" = n1 ] && echo n2 || echo n1)
    ! vip_on "$x1" "$VIP" && ! vip_on "$x2" "$VIP2"
}

MARKF=
mark() { printf '%s\t%s\n' "${EPOCHREALTIME/,/.}" "$1" >>"$MARKF"; [[ $1 == *:* ]] || log "run $RUN: $1"; }
mon_start() {  # mon_start NAME: start the outsider/netlink monitor; waits until every VIP answers
    local raw=$OUT/run$RUN/$1.raw
    MARKF=$OUT/run$RUN/$1.markers; : >"$MARKF"
    # python3 itself in the background (not a subshell running helper): MON_PID gets the SIGTERM that ends it
    PYTHONPATH="$here/lib${PYTHONPATH:+:$PYTHONPATH}" "$PY" -m vigiltools.hbswitchover monitor \
        "$raw" "/run/netns/$OUTSIDER" "/run/netns/$(nsn n1)" "/run/netns/$(nsn n2)" "$VIP" "$VIP2" &
    MON_PID=$!
    local i
    for i in $(seq 100); do
        sleep 0.1
        [ "$(awk '$1 == "P" { s[$3] = 1 } END { print length(s) }' "$raw" 2>/dev/null)" = 2 ] && { sleep 0.5; return 0; }
    done
    die "run $RUN: the VIPs do not answer the outsider"
}
mon_end() {  # mon_end NAME PHASE: stop the monitor, analyze
    mark end
    sleep 0.3
    mon_stop
    helper analyze "$OUT/run$RUN/$1.raw" "$MARKF" "$RUN" "$2" "$RES" "$MARKS" "${VIPS[@]}"
}
status_snap() {  # status_snap LABEL: `vigil status` of every running agent, saved
    local n
    for n in n1 n2; do
        [ -n "${VPID[$n]:-}" ] || continue
        { echo "== $1: vigil status on $n ($(date +%T.%N))"; vstatus_text "$n"; echo; } >>"$OUT/run$RUN/status.txt"
    done
}
reason() { vq "$1" 's.get("standby_reason")' 2>/dev/null || true; }

# ------------------------------------------------------------------- a run -
one_run() {
    local d1 d2
    mkdir -p "$WORK/run$RUN" "$OUT/run$RUN"
    prepare_node n1; prepare_node n2
    d1=$(nd n1); d2=$(nd n2)
    start_hb n1; start_hb n2
    local deadline=$((SECONDS + WAIT))
    until hb_steady; do [ $SECONDS -lt $deadline ] || die "run $RUN: Heartbeat not steady: $(where)"; sleep 0.2; done
    log "run $RUN: Heartbeat steady ($(where))"
    mon_start switch

    mark step1   # alpha: hb_standby all
    hb_in n1 /usr/share/heartbeat/hb_standby all >>"$d1/agent.out" 2>&1 || die "hb_standby all failed on n1"
    mark 1:hb_standby_returned
    until_ok "step 1: n2 rscstatus all, both VIPs on n2" step1_done
    mark 1:rscstatus_all

    mark step2   # alpha: stop heartbeat
    stop_hb n1 2
    mark 2:heartbeat_k_returned
    until_ok "step 2: n2 sees n1 dead" bash -c "[ \"\$(timeout 10 nsenter -t $(hb_master n2) -m -u -n -- cl_status nodestatus n1)\" = dead ]"
    mark 2:n2_sees_n1_dead
    both_on_n2 || die "run $RUN: step 2: VIPs not on n2 only: $(where)"

    mark step3   # alpha: the standby flag
    mkdir -p "$d1/state"; echo standby >"$d1/state/linux-ha.n1.standby"

    mark step4   # alpha: start vigil
    start_vigil n1
    mark 4:vigil_answers
    until_ok "step 4: n1 coordinator, n2 dead, no group assigned" step4_done
    mark 4:coordinator_n2_dead_unassigned
    status_snap "after step 4"
    log "run $RUN: n1 standby reason after step 4: $(reason n1)"
    both_on_n2 || die "run $RUN: step 4: VIPs moved: $(where)"

    mark step5   # beta: stop heartbeat, start vigil
    stop_hb n2 5
    mark 5:heartbeat_k_returned
    start_vigil n2
    mark 5:vigil_answers
    until_ok "step 5: every group running on n2" groups_on n2 n2
    mark 5:groups_running_on_n2
    log "run $RUN: standby reasons after step 5: n1: $(reason n1); n2: $(reason n2)"
    sleep 0.5

    mark step6   # status
    status_snap "step 6"
    groups_on n2 n2 || die "run $RUN: step 6: not every group running on n2"
    sleep 0.5

    mark step7   # unstandby alpha
    log "run $RUN: n1 standby reason at step 7: $(reason n1)"
    "$VIGIL_BIN" unstandby n1 --socket "$d1/vigil.sock" >>"$d1/agent.out" 2>&1 || die "vigil unstandby n1 failed"
    mark 7:unstandby_returned
    until_ok "step 7: n1 out of standby" vq n1 'not s["standby"]'
    mark 7:n1_standby_over
    until_ok "step 7: VIP back on n1, VIP2 on n2" groups_on n1 n2
    mark 7:failback_done
    status_snap "after step 7"
    sleep 1
    mon_end switch switch
}

rollback() {
    local d1 d2; d1=$(nd n1); d2=$(nd n2)
    mon_start rollback
    mark rb1     # alpha: systemctl stop vigil
    stop_vigil n1
    mark rb1:vigil_exited
    sleep 0.5
    mark rb2     # beta: systemctl stop vigil
    stop_vigil n2
    mark rb2:vigil_exited
    log "rollback: after stopping both agents: $(where)"
    sleep 0.5
    mark rb3     # beta: start heartbeat
    local lines; lines=$(($(wc -l <"$d2/log/ha-log") + 1))
    local before; before=$(grep -c 'Initial resource acquisition complete' "$d2/log/ha-log" || true)
    start_hb n2
    local deadline=$((SECONDS + WAIT))
    until [ "$(grep -c 'Initial resource acquisition complete' "$d2/log/ha-log" || true)" -gt "$before" ]; do [ $SECONDS -lt $deadline ] || die "rollback 3: no initial acquisition on n2"; sleep 0.1; done
    mark rb3:initial_acquisition_complete
    log "rollback: n2's Heartbeat acquired every group ($(where)); status said running: $(tail -n +"$lines" "$d2/log/ha-log" | grep -c 'INFO: *Running OK' || true), starts run: $(tail -n +"$lines" "$d2/log/ha-log" | grep -cE 'Running /[^ ]+ [^ ]+ start' || true)"
    sleep 0.5
    mark rb4     # alpha: start heartbeat
    start_hb n1
    deadline=$((SECONDS + WAIT))
    until hb_steady; do [ $SECONDS -lt $deadline ] || die "rollback 4: Heartbeat not steady: $(where)"; sleep 0.2; done
    mark rb4:heartbeat_steady
    sleep 0.5
    mon_end rollback rollback
}

teardown_run() {  # every daemon gone, no VIP left: the next run starts from freshly booted machines
    kill_ns "$(nsn n1)" "$(nsn n2)" || log "some processes in the node namespaces would not die"
    VPID=()
    local n v
    for n in n1 n2; do for v in "$VIP" "$VIP2"; do ip -n "$(nsn "$n")" addr del "$v/24" dev eth0 2>/dev/null || true; done; done
    save_logs
}

# ---------------------------------------------------------------------- run -
log "runs=$RUNS keepalive=$KEEPALIVE deadtime=$DEADTIME warntime=$WARNTIME initdead=$INITDEAD VIP=$VIP VIP2=$VIP2 out=$OUT"
log "heartbeat $(dpkg-query -W -f='${Version}' heartbeat 2>/dev/null), vigil $("$VIGIL_BIN" --version 2>/dev/null) ($VIGIL_BIN)"
log "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
build_net
make_conf
log "n1 MAC $(node_mac n1), n2 MAC $(node_mac n2)"
for RUN in $(seq 1 "$RUNS"); do
    one_run
    if [ "$RUN" = "$RUNS" ] && [ "$ROLLBACK" = yes ]; then rollback; fi
    teardown_run
done
echo
helper table "$RES" "$MARKS" | tee "$OUT/table.md"
