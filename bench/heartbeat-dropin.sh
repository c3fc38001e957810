#!/usr/bin/env bash
# heartbeat-dropin.sh - the SAME Heartbeat configuration directory run by Heartbeat 3.0.6 and by Vigil
#
# What it measures
#   One Heartbeat configuration directory (ha.cf, haresources, authkeys, resource.d -> /etc/ha.d/resource.d)
#   for a two-node cluster n1 n2 (ucast eth0 to both node addresses, `crm no`, auto_failback on, logfile
#   /var/log/ha-log) with one haresources group `n1 IPaddr2::VIP/24/eth0` - nothing else, no Delay, so the
#   time is the cluster's own (detection + resource manager + IPaddr2 + its gratuitous ARP). The directory is
#   run, on the same namespace topology, by
#     heartbeat  real Heartbeat 3.0.6 (Debian `heartbeat`), each node's /etc/ha.d a copy of the system's
#                /etc/ha.d (harc, rc.d, shellfuncs, resource.d) with the three files copied in byte for byte;
#     vigil      `vigil agent --heartbeat-config DIR --node nI` on the directory itself.
#   Topology: namespaces hub (bridge br0, no STP, no multicast snooping), n1 (eth0 SUBNET.1/24), n2 (.2) and
#   outsider (.250). Every node process of either system runs in its node's network namespace plus a private
#   mount namespace (its own /run and /var/log, and for Heartbeat its own /etc/ha.d and /var/lib/heartbeat)
#   and UTS namespace (hostname nI): two "machines" whose /run is cleared when they "reboot".
#   The outsider pings VIP every 10 ms (raw ICMP socket for the requests, a packet socket for the replies, so
#   each reply is attributed to the node whose MAC sent it; requests go through the outsider's own ARP cache,
#   as a client's would). Per system, RUNS runs of each scenario:
#     crash    steady state (both nodes up and seeing each other, VIP on n1 only and answering from n1's MAC,
#              both logs quiet for 1 s, n1 running for >= 8 s: a freshly started Heartbeat advertises
#              deadtime + 2 s for its first ~6 s); then t0 = CLOCK_MONOTONIC, SIGKILL of every process in n1's
#              network namespace and n1's eth0 down (one netlink message, microseconds after t0).
#              t = first echo reply from n2's MAC - t0. Restore: VIP deleted on n1, /run cleared, link up, the
#              daemon started again; auto_failback brings the group home; wait for steady state.
#     standby  steady state; t0 = the handover command is started: Heartbeat's /usr/share/heartbeat/hb_standby
#              inside n1's namespaces, or Vigil's hb_standby (a symlink to the vigil binary, VIGIL_SOCKET = n1's
#              control socket). t = first echo reply from n2's MAC - t0. Restore: hb_takeover on n1 (each
#              system's own), wait for steady state.
#   Each run also reports the longest gap between two echo replies around t0 (the outage a client sees) and
#   the number of echo requests that got no reply.
#   With capture on (the default), tcpdump on the hub's bridge records all UDP port 694 traffic of each phase
#   (OUT/heartbeat-694.pcap, OUT/vigil-694.pcap) and OUT/events.tsv the wall-clock time of every start, crash
#   and command; `--decode PCAP EVENTS` summarises Heartbeat's ha_msg traffic (message types, rates, fields)
#   per phase. `--only mixed` runs Heartbeat on n1 and Vigil on n2 with that same directory for 20 s and
#   reports what each side made of the other (who holds VIP, what the logs say).
#
# Usage
#   bench/heartbeat-dropin.sh [--runs R] [--keepalive T] [--deadtime T] [--warntime T] [--initdead T]
#       [--only heartbeat,vigil[,mixed]] [--out DIR] [--subnet A.B.C] [--no-capture]
#   bench/heartbeat-dropin.sh --decode PCAP [EVENTS [SYSTEM]]
#   Defaults: --runs 10 --keepalive 100ms --deadtime 500ms --warntime 250ms --initdead 2 (Heartbeat takes bare
#   seconds; "2s" is rejected) --only heartbeat,vigil --out /tmp/heartbeat-dropin --subnet 10.77.0
#   (VIP SUBNET.100). About 6 minutes with the defaults (2 cores; `mixed` adds ~25 s).
#
# Output: one line per run, then OUT/results.tsv (system scenario run t_n2_ms gap_ms lost last_n1_ms cmd_ms)
# and OUT/table.md: min / median / max per system and scenario. OUT keeps both systems' logs, ha.d, pcaps.
#
# Environment: VIGIL_BIN (default the repo's debug build). Needs root, iproute2, util-linux, tcpdump (for
# capture), python3, and the Debian packages heartbeat and resource-agents. Traffic stays inside the
# namespaces it creates. Every wait is bounded; every process it starts lives in one of its namespaces and is
# killed by PID; the namespaces and the work directory are removed on exit, including on error and Ctrl-C.

set -Eeuo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
# shellcheck source=bench/lib/heartbeat-ns.sh
. "$here/lib/heartbeat-ns.sh"   # build_net, node_mac, write_hacf, hb_in
RUNS=10
KEEPALIVE=100ms DEADTIME=500ms WARNTIME=250ms INITDEAD=2
ONLY=heartbeat,vigil
OUT=/tmp/heartbeat-dropin
SUBNET=10.77.0
CAPTURE=yes
STARTUP_GRACE=8      # s n1 must have run before it is crashed (see "crash" above)
QUIET=1              # s both nodes' logs must have been silent for, in steady state
STEADY_TIMEOUT=60    # s bound on reaching steady state
MEASURE_TIMEOUT=30   # s bound on the address answering from n2 after t0
VIGIL_BIN=${VIGIL_BIN:-$repo/.build/debug/vigil}
PY=/usr/bin/python3; [ -x "$PY" ] || PY=$(command -v python3)

usage() { sed -n '2,/^$/{s/^# \{0,1\}//;p}' "$0"; exit "${1:-0}"; }
die() { echo "heartbeat-dropin: error: $*" >&2; exit 1; }
log() { echo "[$(date +%T)] $*" >&2; }

DECODE=
while [ $# -gt 0 ]; do
    case "$1" in
        --runs)       RUNS=${2:?}; shift 2 ;;
        --keepalive)  KEEPALIVE=${2:?}; shift 2 ;;
        --deadtime)   DEADTIME=${2:?}; shift 2 ;;
        --warntime)   WARNTIME=${2:?}; shift 2 ;;
        --initdead)   INITDEAD=${2:?}; shift 2 ;;
        --only)       ONLY=${2:?}; shift 2 ;;
        --out)        OUT=${2:?}; shift 2 ;;
        --subnet)     SUBNET=${2:?}; shift 2 ;;
        --no-capture) CAPTURE=no; shift ;;
        --decode)     DECODE=${2:?}; shift 2; DECODE_ARGS=("$@"); break ;;
        -h|--help)    usage 0 ;;
        *)            echo "unknown argument: $1" >&2; usage 2 >&2 ;;
    esac
done
wants() { [[ ",$ONLY," == *",$1,"* ]]; }

# ------------------------------------------------------------ python helper -
# bench/lib/vigiltools/hbdropin.py:
# pids NSPATH...            PIDs of the processes whose network namespace is one of NSPATH
# measure ...               ping VIP from the outsider every 10 ms, act at t0, time the answer from n2
# vsteady ...               poll Vigil agents' status until the group runs on OWNER in every view
# table RESULTS             min/median/max per system and scenario (markdown)
# decode PCAP [EVENTS]      Heartbeat ha_msg traffic summary
helper() { PYTHONPATH="$here/lib${PYTHONPATH:+:$PYTHONPATH}" "$PY" -m vigiltools.hbdropin "$@"; }

if [ -n "$DECODE" ]; then
    helper decode "$DECODE" ${DECODE_ARGS[@]+"${DECODE_ARGS[@]}"}
    exit
fi

# ------------------------------------------------------------------ checks --
[ "$(id -u)" = 0 ] || die "must run as root"
[[ $RUNS =~ ^[0-9]+$ ]] && [ "$RUNS" -ge 1 ] || die "--runs must be >= 1"
[[ $SUBNET =~ ^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]] || die "--subnet must look like 10.77.0"
for t in ip unshare nsenter awk; do command -v "$t" >/dev/null || die "missing tool: $t"; done
[ "$CAPTURE" = no ] || command -v tcpdump >/dev/null || die "tcpdump is missing (or use --no-capture)"
HB=/usr/libexec/heartbeat/heartbeat; [ -x "$HB" ] || HB=/usr/lib/heartbeat/heartbeat
if wants heartbeat || wants mixed; then
    [ -x "$HB" ] || die "heartbeat 3.0.6 is not installed (apt-get install heartbeat)"
    [ -x /usr/share/heartbeat/hb_standby ] || die "/usr/share/heartbeat/hb_standby missing"
fi
[ -x /etc/ha.d/resource.d/IPaddr2 ] && [ -x /usr/lib/ocf/resource.d/heartbeat/IPaddr2 ] \
    || die "IPaddr2 missing: install the heartbeat and resource-agents packages"
if wants vigil || wants mixed; then [ -x "$VIGIL_BIN" ] || die "no vigil binary at $VIGIL_BIN"; fi
VIP=$SUBNET.100

# ------------------------------------------------------------ state/cleanup -
WORK=$(mktemp -d /tmp/hb-dropin.XXXXXX)
PFX="hbdi$$"
HUB=$PFX-hub OUTSIDER=$PFX-out
nsn() { echo "$PFX-$1"; }          # nsn n1 -> namespace name
NS_MADE=()
mkdir -p "$OUT"
RES=$OUT/results.tsv EVENTS=$OUT/events.tsv
printf 'system\tscenario\trun\tt_n2_ms\tgap_ms\tlost\tlast_n1_ms\tcmd_ms\n' >"$RES"
: >"$EVENTS"
SYS=                                # the phase running: heartbeat | vigil | mixed

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
save_logs() {  # save_logs SYSTEM: copy that phase's node logs to OUT
    local s=$1 n
    for n in n1 n2; do
        [ -d "$WORK/$s/$n" ] || continue
        cp "$WORK/$s/$n/log/ha-log" "$OUT/$s-$n-ha-log" 2>/dev/null || true
        cp "$WORK/$s/$n/agent.out" "$OUT/$s-$n-agent.out" 2>/dev/null || true
    done
}
# shellcheck disable=SC2317  # run by the EXIT trap
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    set +e
    [ ${#NS_MADE[@]} -gt 0 ] && kill_ns "${NS_MADE[@]}"
    for s in heartbeat vigil mixed; do save_logs "$s"; done
    for ns in "${NS_MADE[@]}"; do ip netns del "$ns" 2>/dev/null; done
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM
event() { printf '%s\t%s\t%s\n' "${EPOCHREALTIME/,/.}" "$SYS" "$*" >>"$EVENTS"; }

# ------------------------------------------------------------------ testbed -
# (the network itself: build_net, node_mac in bench/lib/heartbeat-ns.sh)

# The one configuration directory both systems run.
CONF=$WORK/ha.d
make_conf() {
    mkdir -p "$CONF"
    write_hacf "$CONF/ha.cf"
    printf '# home node, then the resources\nn1 IPaddr2::%s/24/eth0\n' "$VIP" >"$CONF/haresources"
    printf 'auth 1\n1 sha1 heartbeat-dropin-bench-key\n' >"$CONF/authkeys"
    chmod 600 "$CONF/authkeys"
    ln -s /etc/ha.d/resource.d "$CONF/resource.d"
    mkdir -p "$OUT/ha.d"; cp "$CONF/ha.cf" "$CONF/haresources" "$OUT/ha.d/"
    # Heartbeat's command names as symlinks to vigil
    mkdir -p "$WORK/vbin"
    for c in hb_standby hb_takeover cl_status; do ln -s "$VIGIL_BIN" "$WORK/vbin/$c"; done
}

nd() { echo "$WORK/$SYS/$1"; }   # node directory of the running phase
declare -A STARTED_AT

# A fresh /run for node $1 (a reboot clears it), with what Heartbeat's package would have created.
fresh_run() {
    local d; d=$(nd "$1")
    rm -rf "$d/run"; mkdir -p "$d/run/heartbeat/ccm" "$d/run/heartbeat/crm" "$d/run/heartbeat/dopd" \
        "$d/run/resource-agents" "$d/run/lock" "$d/run/vigil"
    chown -R hacluster:haclient "$d/run/heartbeat" 2>/dev/null || true
    chmod 750 "$d/run/heartbeat"
}

hb_prepare() {  # hb_prepare NODE: its /etc/ha.d (system copy + the three files), /var/lib/heartbeat, /var/log
    local n=$1 d f; d=$(nd "$n")
    mkdir -p "$d/log"
    cp -a /etc/ha.d "$d/etc"
    for f in ha.cf haresources authkeys; do cp -p "$CONF/$f" "$d/etc/$f"; cmp -s "$CONF/$f" "$d/etc/$f" || die "copy of $f differs"; done
    cp -a /var/lib/heartbeat "$d/lib"
    rm -rf "$d/lib/hb_uuid" "$d/lib/hb_generation" "$d/lib/hostcache" "$d/lib/delhostcache" "$d/lib/fifo" "$d/lib/"*.tmp
    : >"$d/log/ha-log"
}
vg_prepare() {
    local n=$1 d; d=$(nd "$n")
    mkdir -p "$d/log" "$d/state"
    : >"$d/log/ha-log"
}

# start_node SYSTEM NODE: the daemon in the node's netns + private mount and UTS namespaces.
start_node() {
    local s=$1 n=$2 d ns; d=$(nd "$n"); ns=$(nsn "$n")
    fresh_run "$n"
    STARTED_AT[$n]=$SECONDS
    echo "start $(date +%T.%N)" >>"$d/agent.out"
    if [ "$s" = heartbeat ]; then
        # ulimit -l: heartbeat mlock()s itself; it daemonizes, so this returns once it runs.
        # shellcheck disable=SC2016  # $1.. belong to the inner sh
        ( ulimit -l unlimited 2>/dev/null || true
          exec timeout 20 ip netns exec "$ns" unshare -m -u --propagation private sh -c '
            set -e
            mount --bind "$1/etc" /etc/ha.d
            mount --bind "$1/run" /run
            mount --bind "$1/lib" /var/lib/heartbeat
            mount --bind "$1/log" /var/log
            hostname "$2"
            exec "$3"' sh "$d" "$n" "$HB" ) >>"$d/agent.out" 2>&1 </dev/null \
            || { tail -5 "$d/agent.out" >&2; die "heartbeat failed to start on $n"; }
    else
        # shellcheck disable=SC2016  # $1.. belong to the inner sh
        ( ulimit -l unlimited 2>/dev/null || true
          exec setsid ip netns exec "$ns" unshare -m -u --propagation private sh -c '
            set -e
            mount --bind "$1/run" /run
            mount --bind "$1/log" /var/log
            hostname "$2"
            exec "$3" agent --heartbeat-config "$4" --node "$2" --socket "$1/vigil.sock" \
                --state-dir "$1/state" --run-dir /run/vigil' sh "$d" "$n" "$VIGIL_BIN" "$CONF" ) \
            >>"$d/agent.out" 2>&1 </dev/null &
        disown      # (no "Killed" job notice when it is SIGKILLed on purpose)
    fi
    # bounded: its first process shows up in the namespace
    for _ in $(seq 100); do [ -n "$(ns_pids "/run/netns/$ns")" ] && return 0; sleep 0.05; done
    die "$s did not start on $n"
}

hb_master() { local p; p=$(tr -d ' \n' <"$(nd "$1")/run/heartbeat.pid" 2>/dev/null) && [ -n "$p" ] && echo "$p"; }
# (grep -q on a pipe can fail under pipefail when grep exits before ip has written everything)
vip_on() { local a; a=$(ip -n "$(nsn "$1")" -4 -o addr show dev eth0 2>/dev/null) || return 1; [[ $a == *" $VIP/"* ]]; }
logs_quiet() {  # both nodes' logs unchanged for QUIET s
    local n m now; now=$(date +%s.%N)
    for n in n1 n2; do
        m=$(stat -c %.6Y "$(nd "$n")/log/ha-log" 2>/dev/null) || return 1
        awk -v a="$now" -v b="$m" -v q="$QUIET" 'BEGIN { exit !(a - b >= q) }' || return 1
    done
}
hb_acquired() {  # node's heartbeat has logged "Initial resource acquisition complete" since its last start
    awk '/Configuration validated. Starting heartbeat/ { ok = 0 }
         /Initial resource acquisition complete/     { ok = 1 }
         END { exit !ok }' "$(nd "$1")/log/ha-log" 2>/dev/null
}

# steady OWNER [GRACE]: the system agrees the group runs on OWNER, the VIP is only there, logs are quiet,
# and OWNER has run >= GRACE s. Bounded by STEADY_TIMEOUT.
steady() {
    local owner=$1 grace=${2:-0} other deadline=$((SECONDS + STEADY_TIMEOUT)) n x why=
    other=$([ "$owner" = n1 ] && echo n2 || echo n1)
    while [ $SECONDS -lt $deadline ]; do
        why=
        if [ "$SYS" = heartbeat ]; then
            for n in n1 n2; do
                hb_acquired "$n" || why="$n: initial acquisition not done"
                for x in n1 n2; do
                    [ -n "$why" ] || [ "$(hb_in "$n" cl_status nodestatus "$x" 2>/dev/null)" = active ] \
                        || why="$n does not see $x active"
                done
            done
        else
            helper vsteady 0.5 "$owner" "$(nd n1)/vigil.sock" "$(nd n2)/vigil.sock" 2>/dev/null || why="vigil status"
        fi
        [ -n "$why" ] || { vip_on "$owner" && ! vip_on "$other"; } || why="VIP not on $owner only"
        [ -n "$why" ] || logs_quiet || why="logs not quiet"
        [ -n "$why" ] || [ $((SECONDS - STARTED_AT[$owner])) -ge "$grace" ] || why="$owner younger than ${grace}s"
        [ -z "$why" ] && return 0
        sleep 0.2
    done
    log "$SYS: not steady (group on $owner) within ${STEADY_TIMEOUT}s: $why"
    return 1
}

settled() {  # settled NODE: the VIP is on NODE and the logs are quiet (bounded by STEADY_TIMEOUT)
    local deadline=$((SECONDS + STEADY_TIMEOUT))
    while [ $SECONDS -lt $deadline ]; do vip_on "$1" && logs_quiet && return 0; sleep 0.2; done
    return 1
}

# measure SCENARIO RUN ACTION...: one measured run, appended to results.tsv
measure() {
    local scen=$1 r=$2 out; shift 2
    out=$(helper measure "/run/netns/$OUTSIDER" "$VIP" "$MAC1" "$MAC2" "$MEASURE_TIMEOUT" "$@") || {
        echo "$SYS $scen run $r/$RUNS: $out"; return 1; }
    kv() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $out"; }
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$SYS" "$scen" "$r" "$(kv t_n2_ms)" "$(kv gap_ms)" "$(kv lost)" \
        "$(kv last_n1_ms)" "$(kv cmd_ms)" >>"$RES"
    printf '%s\t%s\t%s\n' "$(kv t0_wall)" "$SYS" "$scen $r" >>"$EVENTS"
    echo "$SYS $scen run $r/$RUNS: VIP answers from n2 after $(kv t_n2_ms) ms, longest gap $(kv gap_ms) ms, lost $(kv lost); ${out#* t0_wall=* }"
}

standby_cmd() {  # the handover command, as argv
    if [ "$SYS" = heartbeat ]; then
        echo nsenter -t "$(hb_master n1)" -m -u -n -- /usr/share/heartbeat/hb_standby
    else
        echo env VIGIL_SOCKET="$(nd n1)/vigil.sock" "$WORK/vbin/hb_standby"
    fi
}
takeover_n1() {
    if [ "$SYS" = heartbeat ]; then hb_in n1 /usr/share/heartbeat/hb_takeover >>"$(nd n1)/agent.out" 2>&1
    else VIGIL_SOCKET="$(nd n1)/vigil.sock" timeout 10 "$WORK/vbin/hb_takeover" >>"$(nd n1)/agent.out" 2>&1; fi
}

capture_start() {  # capture_start FILE: tcpdump of UDP 694 on the hub's bridge
    [ "$CAPTURE" = yes ] || return 0
    ip netns exec "$HUB" tcpdump -i br0 -s0 -U -n -w "$1" udp port 694 >"$WORK/tcpdump.$SYS.out" 2>&1 </dev/null &
    TCPDUMP_PID=$!
    for _ in $(seq 50); do grep -q listening "$WORK/tcpdump.$SYS.out" 2>/dev/null && return 0; sleep 0.1; done
    log "tcpdump did not start: $(cat "$WORK/tcpdump.$SYS.out")"
}
capture_stop() {
    [ -n "${TCPDUMP_PID:-}" ] || return 0
    kill -INT "$TCPDUMP_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$TCPDUMP_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$TCPDUMP_PID" 2>/dev/null || true
    wait "$TCPDUMP_PID" 2>/dev/null || true
    TCPDUMP_PID=
}

stop_phase() {  # every daemon gone, no VIP left anywhere
    kill_ns "$(nsn n1)" "$(nsn n2)" || log "some processes in the node namespaces would not die"
    capture_stop
    local n
    for n in n1 n2; do
        ip -n "$(nsn "$n")" addr del "$VIP/24" dev eth0 2>/dev/null || true
        ip -n "$(nsn "$n")" link set eth0 up
    done
    save_logs "$SYS"
}

# ---------------------------------------------------------------- a system -
run_system() {
    SYS=$1
    local r out ok=yes
    mkdir -p "$WORK/$SYS/n1" "$WORK/$SYS/n2"
    for n in n1 n2; do if [ "$SYS" = heartbeat ]; then hb_prepare "$n"; else vg_prepare "$n"; fi; done
    capture_start "$OUT/$SYS-694.pcap"
    event "startup"
    start_node "$SYS" n1; start_node "$SYS" n2
    steady n1 0 || { stop_phase; return 1; }
    event "steady after startup"
    log "$SYS: steady, VIP $VIP on n1 ($((SECONDS - STARTED_AT[n1])) s after start)"
    for r in $(seq 1 "$RUNS"); do
        steady n1 "$STARTUP_GRACE" || { ok=no; break; }
        event "steady before crash $r"
        measure crash "$r" crash "/run/netns/$(nsn n1)" || { ok=no; break; }
        settled n2 || log "$SYS: n2 still busy after the takeover; restarting n1 anyway"
        # restore: the dead machine comes back without the address, /run cleared, and rejoins
        ip -n "$(nsn n1)" addr del "$VIP/24" dev eth0 2>/dev/null || true
        ip -n "$(nsn n1)" link set eth0 up
        sleep 0.5
        event "rejoin of n1 after crash $r"
        start_node "$SYS" n1
    done
    if [ $ok = yes ]; then
        for r in $(seq 1 "$RUNS"); do
            steady n1 "$STARTUP_GRACE" || { ok=no; break; }
            event "steady before standby $r"
            # shellcheck disable=SC2046
            measure standby "$r" cmd "$(nd n1)/agent.out" $(standby_cmd) || { ok=no; break; }
            steady n2 0 || { ok=no; break; }
            event "takeover by n1 $r"
            takeover_n1 || log "$SYS: hb_takeover on n1 returned non-zero"
        done
        [ $ok = no ] || steady n1 0 || ok=no
    fi
    event "phase end"
    stop_phase
    [ $ok = yes ]
}

# mixed: Heartbeat on n1, Vigil on n2, the same directory: what each makes of the other.
run_mixed() {
    SYS=mixed
    mkdir -p "$WORK/mixed/n1" "$WORK/mixed/n2"
    hb_prepare n1; vg_prepare n2
    capture_start "$OUT/mixed-694.pcap"
    event "startup"
    start_node heartbeat n1; start_node vigil n2
    sleep 20
    {
        echo "== mixed cluster: Heartbeat 3.0.6 on n1, Vigil on n2, the same ha.d, after 20 s =="
        echo "VIP on n1: $(vip_on n1 && echo yes || echo no); VIP on n2: $(vip_on n2 && echo yes || echo no)"
        echo "-- n1 (heartbeat) cl_status nodestatus n2: $(hb_in n1 cl_status nodestatus n2 2>&1)"
        echo "-- n1 (heartbeat) ha-log, lines about n2 or bad packets:"
        grep -iE 'n2|bad|auth|invalid|packet|dead|acquisition' "$(nd n1)/log/ha-log" | head -20
        echo "-- n2 (vigil) status:"
        VIGIL_SOCKET="$(nd n2)/vigil.sock" timeout 5 "$VIGIL_BIN" status --socket "$(nd n2)/vigil.sock" 2>&1 | head -30
        echo "-- n2 (vigil) log, first lines about bad packets / n1:"
        grep -hiE 'bad|packet|n1|drop|reject' "$(nd n2)/log/ha-log" 2>/dev/null | head -20
    } | tee "$OUT/mixed.txt"
    event "phase end"
    stop_phase
}

# ---------------------------------------------------------------------- run -
log "runs=$RUNS keepalive=$KEEPALIVE deadtime=$DEADTIME warntime=$WARNTIME initdead=$INITDEAD VIP=$VIP only=$ONLY out=$OUT"
log "heartbeat $(dpkg-query -W -f='${Version}' heartbeat 2>/dev/null), vigil $("$VIGIL_BIN" --version 2>/dev/null) ($VIGIL_BIN)"
log "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
build_net
make_conf
MAC1=$(node_mac n1) MAC2=$(node_mac n2)
rc=0
wants heartbeat && { run_system heartbeat || { log "heartbeat phase FAILED (partial results kept)"; rc=1; }; }
wants vigil && { run_system vigil || { log "vigil phase FAILED (partial results kept)"; rc=1; }; }
wants mixed && run_mixed
echo
helper table "$RES" | tee "$OUT/table.md"
if [ "$CAPTURE" = yes ] && [ -s "$OUT/heartbeat-694.pcap" ]; then
    helper decode "$OUT/heartbeat-694.pcap" "$EVENTS" heartbeat >"$OUT/heartbeat-694.decoded.txt" 2>&1 || true
    log "Heartbeat's UDP 694 traffic decoded: $OUT/heartbeat-694.decoded.txt"
fi
for s in vigil mixed; do
    [ "$CAPTURE" = yes ] && [ -s "$OUT/$s-694.pcap" ] || continue
    helper decode "$OUT/$s-694.pcap" "$EVENTS" "$s" >"$OUT/$s-694.decoded.txt" 2>&1 || true
done
exit $rc
