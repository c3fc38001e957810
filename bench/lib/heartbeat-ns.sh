# shellcheck shell=bash
# bench/lib/heartbeat-ns.sh - the namespace testbed shared by bench/heartbeat-dropin.sh,
# bench/heartbeat-switchover.sh and bench/heartbeat-detect.sh (sourced, not run). Its functions read the
# caller's globals at call time:
#   HUB, OUTSIDER      hub and outsider namespace names (no OUTSIDER, or an empty one: no outsider namespace);
#                      nsn NODE prints a node's namespace name
#   NODES              how many nodes (default 2): n1 .. nNODES
#   NS_MADE            array; every namespace created is appended (the caller's cleanup deletes them)
#   SUBNET             A.B.C: node ni gets SUBNET.i, the outsider SUBNET.250 (all /24 on eth0)
#   KEEPALIVE WARNTIME DEADTIME INITDEAD   Heartbeat times for write_hacf
#   hb_master NODE     the caller's: the PID of NODE's heartbeat master process (for hb_in)

# The hub's bridge br0, nodes n1 .. nNODES and the outsider (if OUTSIDER is set), each with an eth0 on it.
build_net() {
    ip netns add "$HUB"; NS_MADE+=("$HUB")
    ip -n "$HUB" link set lo up
    ip -n "$HUB" link add br0 type bridge
    ip -n "$HUB" link set br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0
    ip -n "$HUB" link set br0 up
    local i ns
    for i in $(seq 1 "${NODES:-2}"); do
        ns=$(nsn "n$i")
        ip netns add "$ns"; NS_MADE+=("$ns")
        ip -n "$HUB" link add "v$i" type veth peer name eth0 netns "$ns"
        ip -n "$HUB" link set "v$i" master br0 up
        ip -n "$ns" link set lo up
        ip -n "$ns" addr add "$SUBNET.$i/24" dev eth0
        ip -n "$ns" link set eth0 up
    done
    [ -n "${OUTSIDER:-}" ] || return 0
    ip netns add "$OUTSIDER"; NS_MADE+=("$OUTSIDER")
    ip -n "$HUB" link add vo type veth peer name eth0 netns "$OUTSIDER"
    ip -n "$HUB" link set vo master br0 up
    ip -n "$OUTSIDER" link set lo up
    ip -n "$OUTSIDER" addr add "$SUBNET.250/24" dev eth0
    ip -n "$OUTSIDER" link set eth0 up
}
node_mac() { ip netns exec "$(nsn "$1")" cat /sys/class/net/eth0/address; }

# write_hacf FILE: the ha.cf both benches run (ucast to both nodes, auto_failback on, crm no).
write_hacf() {
    cat >"$1" <<EOF
# Heartbeat 3.0.6 configuration of a two-node cluster ($(basename "$0"))
logfile /var/log/ha-log
keepalive $KEEPALIVE
warntime $WARNTIME
deadtime $DEADTIME
initdead $INITDEAD
udpport 694
ucast eth0 $SUBNET.1
ucast eth0 $SUBNET.2
auto_failback on
node n1 n2
crm no
EOF
}

hb_in() {  # hb_in NODE CMD...: CMD inside NODE's heartbeat namespaces (its API socket, its /etc/ha.d)
    local n=$1 p; shift
    p=$(hb_master "$n") || return 1
    timeout 10 nsenter -t "$p" -m -u -n -- "$@"
}
