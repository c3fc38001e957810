#!/usr/bin/env bash
# heartbeat-detect.sh - failure-DETECTION latency of Linux-HA Heartbeat 3.0.6
#
# What it measures
#   On a testbed of N network namespaces joined by a bridge, N real Heartbeat
#   3.0.6 daemons (Debian package `heartbeat`, `crm no`, ucast media, sha1
#   authkeys, no resources) run as a cluster. Each run:
#     1. waits (bounded) for steady state: every node reports every other node
#        `active` (`cl_status nodestatus` inside that node's namespaces), every
#        node has logged "Initial resource acquisition complete", and every
#        node is >= 8 s old (see STARTUP_GRACE), then a settle time;
#     2. hard-fails one node (victims rotate over the nodes): in one small
#        Python helper (bench/lib/vigiltools/hbdetect.py) it takes
#        t0 = CLOCK_MONOTONIC, SIGKILLs every process in
#        the victim's network namespace and sets the victim's eth0 down with a
#        single pre-built netlink message (microseconds after t0);
#     3. timestamps (same monotonic clock, on arrival, via inotify) the line
#        "node <victim>: is dead" that each survivor's heartbeat writes to its
#        own logfile. Heartbeat's own log timestamps are 1 s resolution, so
#        arrival time is used instead;
#     4. detection latency of the run = max over survivors of (t_dead - t0);
#     5. checks `cl_status nodestatus <victim>` says `dead` on every survivor,
#        then restores: link up, restart the victim's heartbeat, wait until all
#        nodes see all nodes `active` again.
#   This is "hard failure -> every survivor has declared the peer dead", i.e.
#   detection only: no resource scripts, no takeover time.
#   What shapes it: a survivor declares a peer dead once deadtime has passed
#   since the peer's last heartbeat (sent up to one keepalive before t0), but
#   heartbeat only checks for timeouts from its polled main-loop source, at
#   most every 250 ms (POLL_INTERVAL in heartbeat.c) and only when its loop
#   wakes. Expect roughly deadtime - keepalive .. deadtime + ~300 ms per survivor.
#
# Usage
#   bench/heartbeat-detect.sh [--nodes N] [--runs R] [--keepalive T]
#       [--deadtime T] [--warntime T] [--initdead T] [--subnet A.B.C]
#       [--keep-logs DIR]
#   Defaults: --nodes 3 --runs 20 --keepalive 100ms --deadtime 500ms
#             --subnet 10.231.0 (nodes get SUBNET.1 .. SUBNET.N /24).
#   Times use Heartbeat's syntax: bare number = seconds (may be fractional),
#   suffix ms/msec = milliseconds, us/usec = microseconds, s = seconds.
#   Heartbeat refuses deadtime <= 2 x keepalive. initdead defaults to
#   Heartbeat's own rule (12 s when deadtime < 6 s); it only matters at start.
#   --keep-logs DIR copies every node's ha.cf and ha-log there before cleanup.
#
# Output: one line per run, then exactly
#   heartbeat keepalive=<K>ms deadtime=<D>ms detection_ms min=X median=Y max=Z runs=R
#
# Needs root, iproute2, util-linux (unshare, nsenter), python3. Installs the
# `heartbeat` package if missing (apt, with a policy-rc.d that forbids starting
# daemons). Traffic stays inside the namespaces it creates. Everything it makes
# (namespaces, processes - killed by PID -, temp dirs) is removed on exit,
# including on error and Ctrl-C.

set -Eeuo pipefail

NODES=3
RUNS=20
KEEPALIVE=100ms
DEADTIME=500ms
WARNTIME=
INITDEAD=
SUBNET=10.231.0
KEEP_LOGS=
START_TIMEOUT=60          # s: bound on "all nodes see all nodes active"
# s a node must have been running before it takes part in a run. For its
# first ~6 s a freshly started heartbeat adds 2000 ms to its deadtime
# (hb_add_deadtime(2000), popped by a 5 s timer) and advertises that in its
# status messages, so peers wait deadtime+2 s before declaring it dead. Seen
# here: 2-node runs whose victim was 5.5 s old took ~2.6 s at deadtime 500ms.
STARTUP_GRACE=8
CLSTATUS_TIMEOUT=5        # s: bound on one cl_status call

usage() { sed -n '2,/^$/{s/^# \{0,1\}//;p}' "$0"; exit "${1:-0}"; }
die() { echo "heartbeat-detect: error: $*" >&2; exit 1; }
log() { echo "[$(date +%T)] $*" >&2; }

while [ $# -gt 0 ]; do
    case "$1" in
        --nodes)     NODES=${2:?}; shift 2 ;;
        --runs)      RUNS=${2:?}; shift 2 ;;
        --keepalive) KEEPALIVE=${2:?}; shift 2 ;;
        --deadtime)  DEADTIME=${2:?}; shift 2 ;;
        --warntime)  WARNTIME=${2:?}; shift 2 ;;
        --initdead)  INITDEAD=${2:?}; shift 2 ;;
        --subnet)    SUBNET=${2:?}; shift 2 ;;
        --keep-logs) KEEP_LOGS=${2:?}; shift 2 ;;
        -h|--help)   usage 0 ;;
        *)           echo "unknown argument: $1" >&2; usage 2 >&2 ;;
    esac
done

[ "$(id -u)" = 0 ] || die "must run as root"
[[ $NODES =~ ^[0-9]+$ ]] && [ "$NODES" -ge 2 ] && [ "$NODES" -le 250 ] || die "--nodes must be 2..250"
[[ $RUNS =~ ^[0-9]+$ ]] && [ "$RUNS" -ge 1 ] || die "--runs must be >= 1"
[[ $SUBNET =~ ^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]] || die "--subnet must look like 10.231.0"

# Heartbeat time syntax -> integer milliseconds (cluster-glue cl_get_msec rules).
to_ms() {
    local v=$1 num unit
    [[ $v =~ ^([0-9]*\.?[0-9]+)(ms|msec|us|usec|s)?$ ]] || die "bad time value '$v'"
    num=${BASH_REMATCH[1]}; unit=${BASH_REMATCH[2]:-s}
    awk -v n="$num" -v u="$unit" 'BEGIN {
        ms = (u == "s") ? n * 1000 : (u ~ /^us/) ? n / 1000 : n
        if (ms != int(ms) || ms < 1) { print "ERR"; exit }
        printf "%d\n", ms }'
}
KA_MS=$(to_ms "$KEEPALIVE"); DT_MS=$(to_ms "$DEADTIME")
[ "$KA_MS" != ERR ] && [ "$DT_MS" != ERR ] || die "times must be whole milliseconds >= 1ms"
[ "$DT_MS" -gt $((2 * KA_MS)) ] || die "heartbeat requires deadtime > 2 x keepalive (got ${KA_MS}ms / ${DT_MS}ms)"
WT_MS=; ID_MS=
if [ -n "$WARNTIME" ]; then WT_MS=$(to_ms "$WARNTIME"); [ "$WT_MS" != ERR ] || die "bad --warntime"; fi
if [ -n "$INITDEAD" ]; then ID_MS=$(to_ms "$INITDEAD"); [ "$ID_MS" != ERR ] || die "bad --initdead"; fi
for t in ip unshare nsenter python3 awk; do command -v "$t" >/dev/null || die "missing tool: $t"; done
PY=$(command -v /usr/bin/python3 || command -v python3)
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib/heartbeat-ns.sh
. "$here/lib/heartbeat-ns.sh"   # build_net
vt() { PYTHONPATH="$here/lib${PYTHONPATH:+:$PYTHONPATH}" "$PY" -m "vigiltools.$1" "${@:2}"; }  # bench/lib/vigiltools

# ---------------------------------------------------------------- install ---
install_heartbeat() {
    if dpkg-query -W -f='${Status}' heartbeat 2>/dev/null | grep -q 'install ok installed'; then
        return 0
    fi
    log "installing heartbeat (apt-get; daemons blocked by policy-rc.d)"
    local pol=/usr/sbin/policy-rc.d saved=
    if [ -e "$pol" ]; then saved=$(mktemp); cp -a "$pol" "$saved"; fi
    printf '#!/bin/sh\nexit 101\n' >"$pol"; chmod 755 "$pol"
    local rc=0
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends heartbeat >/dev/null; } || rc=$?
    if [ -n "$saved" ]; then cp -a "$saved" "$pol"; rm -f "$saved"; else rm -f "$pol"; fi
    [ "$rc" = 0 ] || die "apt-get install heartbeat failed (rc=$rc)"
}
install_heartbeat
HB=/usr/libexec/heartbeat/heartbeat
[ -x "$HB" ] || HB=/usr/lib/heartbeat/heartbeat
[ -x "$HB" ] || die "heartbeat binary not found"
command -v cl_status >/dev/null || die "cl_status not found"

# ------------------------------------------------------------ state/cleanup -
WORK=$(mktemp -d /tmp/hb-detect.XXXXXX)
PFX="hbd$$"
HUB="$PFX-hub"
node_ns()   { echo "$PFX-n$1"; }
nsn()       { echo "$PFX-$1"; }     # nsn n1 -> node_ns 1 (for heartbeat-ns.sh)
node_name() { echo "hbnode$1"; }
node_dir()  { echo "$WORK/n$1"; }
NS_MADE=()

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    set +e
    if [ ${#NS_MADE[@]} -gt 0 ]; then
        # every process living in one of our network namespaces, by PID
        local pids
        pids=$(vt netns pids "${NS_MADE[@]/#//run/netns/}" 2>/dev/null)
        # shellcheck disable=SC2086  # a list of PIDs
        [ -n "$pids" ] && kill -9 $pids 2>/dev/null
        for _ in $(seq 50); do      # bounded: up to 5 s for them to go
            [ -z "$(vt netns pids "${NS_MADE[@]/#//run/netns/}" 2>/dev/null)" ] && break
            sleep 0.1
        done
    fi
    if [ -n "$KEEP_LOGS" ] && [ -d "$WORK" ]; then
        mkdir -p "$KEEP_LOGS"
        for d in "$WORK"/n*; do
            [ -d "$d" ] || continue
            cp "$d/log/ha-log" "$KEEP_LOGS/$(basename "$d")-ha-log" 2>/dev/null
            cp "$d/etc/ha.cf" "$KEEP_LOGS/$(basename "$d")-ha.cf" 2>/dev/null
        done
        log "logs kept in $KEEP_LOGS"
    fi
    for ns in "${NS_MADE[@]}"; do ip netns del "$ns" 2>/dev/null; done
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM


# ------------------------------------------------------------------ testbed -
# build_net (bench/lib/heartbeat-ns.sh): the hub's bridge br0 and nodes 1..NODES, each with an eth0 on it
# (SUBNET.i/24); no outsider namespace here.

# Per-node private copies of everything heartbeat writes or reads by fixed path.
make_node_dir() {
    local i=$1 d j
    d=$(node_dir "$i")
    mkdir -p "$d/run/heartbeat" "$d/log"
    cp -a /etc/ha.d "$d/etc"                        # harc, rc.d, resource.d, shellfuncs
    cp -a /var/lib/heartbeat "$d/lib"               # skeleton (api, ccm, ...)
    rm -rf "$d/lib/hb_uuid" "$d/lib/hb_generation" "$d/lib/hostcache" "$d/lib/delhostcache" \
           "$d/lib/fifo" "$d/lib/"*.tmp
    mkdir -p "$d/run/heartbeat/ccm" "$d/run/heartbeat/crm" "$d/run/heartbeat/dopd"
    chown -R hacluster:haclient "$d/run/heartbeat" 2>/dev/null || true
    chmod 750 "$d/run/heartbeat"
    {
        echo "# generated by heartbeat-detect.sh for $(node_name "$i")"
        echo "logfile /var/log/ha-log"
        echo "udpport 694"
        echo "keepalive ${KA_MS}ms"
        echo "deadtime ${DT_MS}ms"
        [ -n "$WT_MS" ] && echo "warntime ${WT_MS}ms"
        [ -n "$ID_MS" ] && echo "initdead ${ID_MS}ms"
        echo "auto_failback off"
        echo "crm no"
        for j in $(seq 1 "$NODES"); do [ "$j" = "$i" ] || echo "ucast eth0 $SUBNET.$j"; done
        for j in $(seq 1 "$NODES"); do echo "node $(node_name "$j")"; done
    } >"$d/etc/ha.cf"
    printf 'auth 1\n1 sha1 heartbeat-detect-bench-key\n' >"$d/etc/authkeys"
    chmod 600 "$d/etc/authkeys"
    : >"$d/etc/haresources"
}

# Start node i's heartbeat in its netns + private mount ns + own UTS ns.
declare -A STARTED_AT      # node index -> $EPOCHREALTIME of its last start
start_node() {
    local i=$1 d ns
    d=$(node_dir "$i"); ns=$(node_ns "$i")
    rm -f "$d/run/heartbeat.pid"
    STARTED_AT[$i]=$EPOCHREALTIME
    # ulimit -l: heartbeat mlock()s itself (memreserve); the default 8 MB limit makes that fail.
    # shellcheck disable=SC2016  # $1..$3 belong to the inner sh
    ( ulimit -l unlimited 2>/dev/null || true
      exec ip netns exec "$ns" unshare -m -u --propagation private sh -c '
        set -e
        mount --bind "$1/etc" /etc/ha.d
        mount --bind "$1/run" /run
        mount --bind "$1/lib" /var/lib/heartbeat
        mount --bind "$1/log" /var/log
        hostname "$2"
        exec "$3"' sh "$d" "$(node_name "$i")" "$HB" ) >>"$d/start.out" 2>&1 \
        || { cat "$d/start.out" >&2; die "heartbeat failed to start on $(node_name "$i")"; }
}

master_pid() { local p; p=$(tr -d ' \n' <"$(node_dir "$1")/run/heartbeat.pid" 2>/dev/null) && [ -n "$p" ] && echo "$p"; }

# cl_status run inside node i's namespaces (mount ns gives it that node's API socket).
cl_status_on() {
    local i=$1 pid; shift
    pid=$(master_pid "$i") || return 1
    timeout "$CLSTATUS_TIMEOUT" nsenter -t "$pid" -m -u -n cl_status "$@" 2>/dev/null
}

# True once node i's current heartbeat process has finished its initial resource
# acquisition. Until then heartbeat holds back "node X: is dead" (seen here: a
# failure injected 4 s after start took 2.5 s to be declared at deadtime 500ms).
acquisition_done() {
    awk '/Configuration validated. Starting heartbeat/ { ok = 0 }
         /Initial resource acquisition complete/     { ok = 1 }
         END { exit !ok }' "$(node_dir "$1")/log/ha-log" 2>/dev/null
}

# Steady state: every node sees every other node `active` and has finished
# its initial resource acquisition.
all_active() {
    local i j
    for i in $(seq 1 "$NODES"); do
        acquisition_done "$i" || return 1
        for j in $(seq 1 "$NODES"); do
            [ "$i" = "$j" ] && continue
            [ "$(cl_status_on "$i" nodestatus "$(node_name "$j")")" = active ] || return 1
        done
    done
}

# Sleep until every node is at least max(STARTUP_GRACE, settle) seconds old,
# or at least the settle time if all are older already.
wait_steady() {
    local settle=$1 t
    t=$(printf '%s\n' "${STARTED_AT[@]}" | awk -v now="$EPOCHREALTIME" -v g="$STARTUP_GRACE" -v s="$settle" '
        { w = g - (now - $1); if (w > max) max = w }
        END { if (max < s) max = s; printf "%.3f\n", max }')
    sleep "$t"
}

wait_all_active() {
    local deadline=$((SECONDS + START_TIMEOUT))
    until all_active; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.2
    done
}

# ---------------------------------------------------------------------- run -
log "heartbeat $(dpkg-query -W -f='${Version}' heartbeat): nodes=$NODES runs=$RUNS keepalive=${KA_MS}ms deadtime=${DT_MS}ms${WT_MS:+ warntime=${WT_MS}ms}${ID_MS:+ initdead=${ID_MS}ms} subnet=$SUBNET.0/24 work=$WORK"
log "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
build_net
for i in $(seq 1 "$NODES"); do make_node_dir "$i"; done
for i in $(seq 1 "$NODES"); do start_node "$i"; done
t_start=$SECONDS
wait_all_active || die "cluster did not converge within ${START_TIMEOUT}s"
log "cluster up after $((SECONDS - t_start))s: every node sees every other node active, initial resource acquisition done"
if grep -q 'Cannot lock ourselves into memory' "$WORK"/n*/log/ha-log; then
    log "note: heartbeat could not mlock() itself (RLIMIT_MEMLOCK $(ulimit -Hl) KB, not raisable here); it runs unlocked"
fi
log "master control process scheduling (class rtprio): $(ps -o cls=,rtprio= -p "$(master_pid 1)" | xargs)"
grep -hE 'ERROR|CRIT' "$WORK"/n*/log/ha-log | grep -v 'Cannot lock ourselves' \
    | sed 's/^/    heartbeat said: /' >&2 || true

SETTLE=$(awk -v d="$DT_MS" 'BEGIN { s = 3 * d / 1000; if (s < 1) s = 1; print s }')
DETECT_TIMEOUT=$(awk -v d="$DT_MS" 'BEGIN { s = 20 * d / 1000; if (s < 10) s = 10; print s }')
RESULTS=()
for r in $(seq 1 "$RUNS"); do
    wait_steady "$SETTLE"    # a few deadtimes of steady state, no node in its startup grace
    v=$(( (r - 1) % NODES + 1 )); victim=$(node_name "$v"); vns=$(node_ns "$v")
    ifindex=$(ip -n "$vns" -o link show eth0 | cut -d: -f1)
    survivors=()
    for j in $(seq 1 "$NODES"); do
        [ "$j" = "$v" ] || survivors+=("$(node_name "$j")=$(node_dir "$j")/log/ha-log")
    done
    out=$(vt hbdetect fail "/run/netns/$vns" "$ifindex" "$victim" "$DETECT_TIMEOUT" "${survivors[@]}") \
        || { echo "run $r/$RUNS: victim=$victim $out"; die "run $r: not every survivor declared $victim dead"; }
    ms=$(sed -n 's/.*max_ms=\([0-9.]*\).*/\1/p' <<<"$out")
    echo "run $r/$RUNS: victim=$victim detection_ms=$ms (${out#"OK max_ms=$ms "})"
    RESULTS+=("$ms")
    for j in $(seq 1 "$NODES"); do
        [ "$j" = "$v" ] && continue
        st=$(cl_status_on "$j" nodestatus "$victim" || true)
        [ "$st" = dead ] || die "run $r: cl_status on $(node_name "$j") says $victim is '$st', expected dead"
    done
    # restore: link up, restart the victim, wait for a fully active cluster
    ip -n "$vns" link set eth0 up
    start_node "$v"
    wait_all_active || die "run $r: cluster did not re-converge within ${START_TIMEOUT}s after restarting $victim"
done

# Every "is dead" line beyond the (N-1) expected per injected failure is a false
# declaration (a live node declared dead), e.g. from a too-small deadtime.
n_dead=$(cat "$WORK"/n*/log/ha-log | grep -c ': is dead' || true)
n_late=$(cat "$WORK"/n*/log/ha-log | grep -c 'Late heartbeat' || true)
echo "nodes=$NODES false_dead_declarations=$((n_dead - RUNS * (NODES - 1))) late_heartbeat_warnings=$n_late load_avg=$(cut -d' ' -f1 /proc/loadavg)"
printf '%s\n' "${RESULTS[@]}" | sort -n | awk -v k="$KA_MS" -v d="$DT_MS" '
    { v[NR] = $1 }
    END {
        med = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "heartbeat keepalive=%dms deadtime=%dms detection_ms min=%.1f median=%.1f max=%.1f runs=%d\n",
               k, d, v[1], med, v[NR], NR
    }'
