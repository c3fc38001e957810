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
# pids NSPATH...                  PIDs of the processes whose network namespace is one of NSPATH
# monitor OUT OUTSIDER N1 N2 VIP...   ping every VIP every 10 ms, read both nodes' addresses every 20 ms
# vq SOCK EXPR                    evaluate a Python expression over `status` (as s) of a Vigil agent
# analyze RAW MARKERS RUN PHASE RESULTS MARKS VIPLABEL=VIP...   per-step gaps, split-brain checks
# table RESULTS MARKS             min/median/max (markdown)
mkdir -p /tmp/vigil-switchover
HELPER=$(mktemp /tmp/vigil-switchover/helper.XXXXXX.py)
trap 'rm -f "$HELPER"' EXIT
cat >"$HELPER" <<'PYEOF'
import ctypes, json, os, select, signal, socket, statistics, struct, sys, time

libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNET = 0x40000000

def ns_id(path):
    st = os.stat(path)
    return (st.st_dev, st.st_ino)

def pids_in(ns_paths):
    want = {ns_id(p) for p in ns_paths if os.path.exists(p)}
    out = []
    for d in os.listdir('/proc'):
        if d.isdigit() and int(d) != os.getpid():
            try:
                if ns_id(f'/proc/{d}/ns/net') in want:
                    out.append(int(d))
            except OSError:
                pass
    return out

class InNetns:
    def __init__(self, path): self.path = path
    def __enter__(self):
        self.home = os.open('/proc/self/ns/net', os.O_RDONLY)
        fd = os.open(self.path, os.O_RDONLY)
        try:
            if libc.setns(fd, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), 'setns ' + self.path)
        finally:
            os.close(fd)
    def __exit__(self, *a):
        libc.setns(self.home, CLONE_NEWNET)
        os.close(self.home)

def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff

def dump_addrs(s, seq):
    """IPv4 addresses (4-byte strings) of every interface of the socket's namespace (RTM_GETADDR dump)."""
    s.send(struct.pack('=IHHII', 24, 22, 0x301, seq, 0) + struct.pack('=BBBBI', socket.AF_INET, 0, 0, 0, 0))
    got = set()
    while True:
        data = s.recv(65536)
        off = 0
        while off + 16 <= len(data):
            ln, typ, _, _, _ = struct.unpack_from('=IHHII', data, off)
            if ln < 16 or typ in (2, 3): return got          # NLMSG_ERROR, NLMSG_DONE
            if typ == 20:                                     # RTM_NEWADDR
                o = off + 24
                while o + 4 <= off + ln:
                    rl, rt = struct.unpack_from('=HH', data, o)
                    if rl < 4: break
                    if rt in (1, 2) and rl >= 8: got.add(bytes(data[o + 4:o + 8]))
                    o += (rl + 3) & ~3
            off += (ln + 3) & ~3

def monitor(a):
    out, outsider, n1, n2 = a[:4]; vips = a[4:]
    stop = [False]
    def onsig(*_): stop[0] = True
    signal.signal(signal.SIGTERM, onsig); signal.signal(signal.SIGINT, onsig)
    try: os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
    except OSError: pass
    with InNetns(outsider):
        raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        pk = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
        pk.bind(('eth0', 0x0800))
    raw.setblocking(False); pk.setblocking(False)
    nls = {}
    for name, p in (('n1', n1), ('n2', n2)):
        with InNetns(p):
            s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE); s.bind((0, 0))
        nls[name] = s
    f = open(out, 'w', buffering=1 << 16)
    ident = os.getpid() & 0xffff
    seqs = [0] * len(vips)
    vipb = {socket.inet_aton(v): i for i, v in enumerate(vips)}
    held = {n: None for n in nls}
    nlseq = 0
    mono = time.monotonic
    next_ping = next_poll = mono(); last_poll = None; max_poll_gap = 0.0; next_flush = mono() + 0.2
    def receive():
        while True:
            try: frame, addr = pk.recvfrom(2048)
            except BlockingIOError: break
            t = time.time()
            if addr[2] == socket.PACKET_OUTGOING or len(frame) < 42: continue
            ip = frame[14:]
            if ip[9] != 1: continue
            i = vipb.get(bytes(ip[12:16]))
            if i is None: continue
            ihl = (ip[0] & 15) * 4
            typ, _, _, rid, rseq = struct.unpack('!BBHHH', ip[ihl:ihl + 8])
            if typ != 0 or rid != ident: continue
            f.write('P %.6f %d %d %s\n' % (t, i, rseq, ':'.join('%02x' % b for b in frame[6:12])))
        while True:
            try: raw.recv(2048)
            except BlockingIOError: break
    while not stop[0]:
        now = mono()
        if now >= next_ping:
            for i, v in enumerate(vips):
                seqs[i] = (seqs[i] + 1) & 0xffff
                body = struct.pack('!BBHHH', 8, 0, 0, ident, seqs[i]) + b'vigil-switchover'
                pkt = struct.pack('!BBHHH', 8, 0, csum(body), ident, seqs[i]) + b'vigil-switchover'
                try: raw.sendto(pkt, (v, 0))
                except OSError: pass      # e.g. EHOSTUNREACH while no node answers ARP: counts as lost
                f.write('S %.6f %d %d\n' % (time.time(), i, seqs[i]))
            next_ping += 0.01
            if next_ping < now: next_ping = now + 0.01
        if now >= next_poll:
            if last_poll is not None: max_poll_gap = max(max_poll_gap, now - last_poll)
            last_poll = now
            t = time.time()
            for n, s in nls.items():
                nlseq += 1
                vs = tuple(sorted(vipb[x] for x in dump_addrs(s, nlseq) if x in vipb))
                if vs != held[n]:
                    f.write('A %.6f %s %s\n' % (t, n, ','.join(map(str, vs)) or '-'))
                    held[n] = vs
            next_poll += 0.02
            if next_poll < now: next_poll = now + 0.02
        try: select.select([pk], [], [], max(0.0, min(next_ping, next_poll) - mono()))
        except InterruptedError: pass
        receive()
        if mono() >= next_flush:
            f.flush(); next_flush = mono() + 0.2
    f.write('E %.6f maxpollgap_ms=%.1f\n' % (time.time(), max_poll_gap * 1000))
    f.close()
    return 0

def vstatus(sock):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.settimeout(3); s.connect(sock)
    s.sendall(b'status\n'); out = b''
    while True:
        b = s.recv(65536)
        if not b: break
        out += b
    s.close()
    return json.loads(out)

def vq(a):
    """vq SOCK EXPR: print the value of EXPR (Python; s = the agent's status, g = {group name: group})."""
    try:
        s = vstatus(a[0])
    except Exception as e:
        print('unreachable: %r' % e); return 2
    g = {x['name']: x for x in s.get('groups') or []}
    v = eval(a[1], {'s': s, 'g': g, 'nodes': {n['name']: n for n in s.get('nodes', [])}})
    print(v if not isinstance(v, bool) else ('yes' if v else 'no'))
    return 0 if v else 1

def analyze(a):
    raw, markers, run, phase, results, marksout = a[:6]
    labels = [x.split('=', 1) for x in a[6:]]      # [(label, ip)] in monitor order
    sent = {}; rep = {}; held = {'n1': [], 'n2': []}; extra = ''; t_end = 0.0
    for line in open(raw):
        p = line.split()
        if not p: continue
        if p[0] == 'S': sent.setdefault(int(p[2]), []).append((float(p[1]), int(p[3])))
        elif p[0] == 'P': rep.setdefault(int(p[2]), []).append((float(p[1]), int(p[3]), p[4]))
        elif p[0] == 'A': held[p[2]].append((float(p[1]), set() if p[3] == '-' else {int(x) for x in p[3].split(',')}))
        elif p[0] == 'E': extra = p[2]; t_end = float(p[1])
    marks = []
    for line in open(markers):
        t, lab = line.rstrip('\n').split('\t', 1)
        marks.append((float(t), lab))
    steps = [(t, l) for t, l in marks if ':' not in l]
    windows = [(steps[i][1], steps[i][0], steps[i + 1][0]) for i in range(len(steps) - 1)]
    t_last = max([t for t, _ in marks] + [t_end])
    out = open(results, 'a'); mout = open(marksout, 'a')
    summary = []
    for vi, (lab, ip) in enumerate(labels):
        rs = sorted(rep.get(vi, []))
        answered = {}
        for t, seq, mac in rs: answered.setdefault(seq, t)
        pairs = list(zip(rs, rs[1:])) + ([(rs[-1], (t_last, -1, 'never'))] if rs else [])
        for step, s0, s1 in windows:
            mine = [(b[0] - a_[0], a_, b) for a_, b in pairs if s0 <= a_[0] < s1]
            snt = [(t, q) for t, q in sent.get(vi, []) if s0 <= t < s1]
            # a reply to a request sent in the window may come later; seqs wrap after 655 s, runs are shorter
            lost = sum(1 for t, q in snt if q not in answered or answered[q] < t)
            if mine:
                gap, a_, b = max(mine)
                row = (gap * 1000, (a_[0] - s0) * 1000, (b[0] - s0) * 1000, b[2])
                if gap < 0.05:      # no outage: where the longest 10-20 ms interval fell means nothing
                    row = (row[0], float('nan'), float('nan'), b[2])
            else:
                row = (float('nan'), float('nan'), float('nan'), 'no-reply')
            out.write('%s\t%s\t%s\t%s\t%.1f\t%.1f\t%.1f\t%d\t%s\t%.1f\n' % (run, phase, step, lab, row[0], row[1], row[2],
                      lost, row[3], (s1 - s0) * 1000))
            if row[0] > 50 or lost > 2:
                summary.append('%s %s: gap %.0f ms (silent after %.0f, back after %.0f from %s), lost %d'
                               % (step, lab, row[0], row[1], row[2], row[3], lost))
        # split brain 1: replies from two MACs interleaved (A, B, A within 100 ms)
        switches = [b[0] for a_, b in zip(rs, rs[1:]) if a_[2] != b[2]]
        inter = sum(1 for x, y in zip(switches, switches[1:]) if y - x <= 0.1)
        macs = sorted({m for _, _, m in rs})
        # split brain 2: both namespaces held the address at once (from the 20 ms netlink samples)
        ev = sorted([(t, n, vi in vs) for n in held for t, vs in held[n]])
        state = {'n1': False, 'n2': False}; both_since = None; both_total = 0.0; both_max = 0.0
        for t, n, h in ev:
            before = state['n1'] and state['n2']
            state[n] = h
            after = state['n1'] and state['n2']
            if after and not before: both_since = t
            if before and not after:
                both_total += t - both_since; both_max = max(both_max, t - both_since)
        if state['n1'] and state['n2'] and both_since is not None:
            both_total += t_end - both_since; both_max = max(both_max, t_end - both_since)
        out.write('%s\t%s\tsplit-brain\t%s\t%d\t%.1f\t%.1f\t%d\t%s\t%s\n' % (run, phase, lab, inter, both_total * 1000,
                  both_max * 1000, len(macs), ','.join(macs), extra))
        summary.append('%s: MAC switches %d, interleaved (A,B,A within 100 ms) %d, both nodes held it %.0f ms total'
                       % (lab, len(switches), inter, both_total * 1000))
    # sub-step marks, relative to their step's start
    at = {l: t for t, l in marks}
    if '5:heartbeat_exited' in at and '7:n1_standby_over' in at:
        marks.append((at['7:n1_standby_over'], '7:n1_hold_over_after_n2_heartbeat_exit'))
        marks.sort()
    cur = None
    for t, l in marks:
        if ':' not in l: cur = (t, l); continue
        base = at['5:heartbeat_exited'] if l == '7:n1_hold_over_after_n2_heartbeat_exit' else (cur[0] if cur else float('nan'))
        mout.write('%s\t%s\t%s\t%s\t%.1f\n' % (run, phase, cur[1] if cur else '-', l, (t - base) * 1000))
    out.close(); mout.close()
    print('\n'.join('  ' + x for x in summary))
    return 0

def mmm(vals, fmt='%.0f'):
    v = sorted(x for x in vals if x == x)
    if not v: return '-'
    return (fmt + ' / ' + fmt + ' / ' + fmt) % (v[0], statistics.median(v), v[-1])

def table(a):
    rows = [l.rstrip('\n').split('\t') for l in open(a[0]) if not l.startswith('run\t')]
    marks = [l.rstrip('\n').split('\t') for l in open(a[1]) if not l.startswith('run\t')]
    gaps = [r for r in rows if r[2] != 'split-brain']
    sb = [r for r in rows if r[2] == 'split-brain']
    order = []
    for r in gaps:
        k = (r[1], r[2], r[3])
        if k not in order: order.append(k)
    print('| phase | step | VIP | runs | longest gap, ms | silent after, ms | back after, ms | lost (median) | step took, ms |')
    print('|---|---|---|---|---|---|---|---|---|')
    for k in order:
        rr = [r for r in gaps if (r[1], r[2], r[3]) == k]
        f = lambda i: [float(r[i]) for r in rr]
        print('| %s | %s | %s | %d | %s | %s | %s | %.0f | %s |' % (k[0], k[1], k[2], len(rr), mmm(f(4)), mmm(f(5)), mmm(f(6)),
              statistics.median([int(r[7]) for r in rr]), mmm(f(9))))
    print()
    print('| phase | VIP | runs | replies interleaved from 2 MACs (A,B,A in 100 ms), max | both nodes held the VIP, ms total (max) | MACs that answered |')
    print('|---|---|---|---|---|---|')
    ks = []
    for r in sb:
        if (r[1], r[3]) not in ks: ks.append((r[1], r[3]))
    for k in ks:
        rr = [r for r in sb if (r[1], r[3]) == k]
        print('| %s | %s | %d | %d | %.0f | %s |' % (k[0], k[1], len(rr), max(int(r[4]) for r in rr),
              max(float(r[5]) for r in rr), ' '.join(sorted({r[8] for r in rr}))))
    print()
    print('| phase | step | mark | runs | after the step started, ms |')
    print('|---|---|---|---|---|')
    mk = []
    for m in marks:
        if (m[1], m[2], m[3]) not in mk: mk.append((m[1], m[2], m[3]))
    for k in mk:
        mm = [float(m[4]) for m in marks if (m[1], m[2], m[3]) == k]
        print('| %s | %s | %s | %d | %s |' % (k[0], k[1], k[2], len(mm), mmm(mm)))
    return 0

if __name__ == '__main__':
    cmd, args = sys.argv[1], sys.argv[2:]
    try:
        if cmd == 'pids': print(' '.join(map(str, pids_in(args))))
        elif cmd == 'monitor': sys.exit(monitor(args))
        elif cmd == 'vq': sys.exit(vq(args))
        elif cmd == 'analyze': sys.exit(analyze(args))
        elif cmd == 'table': sys.exit(table(args))
    except KeyboardInterrupt:
        sys.exit(130)
PYEOF

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

ns_pids() { "$PY" "$HELPER" pids "$@" 2>/dev/null; }
kill_ns() {  # kill_ns NS...: SIGKILL every process in those network namespaces, bounded wait
    local paths=() n p
    for n in "$@"; do paths+=("/run/netns/$n"); done
    for _ in $(seq 50); do
        p=$(ns_pids "${paths[@]}")
        [ -z "$p" ] && return 0
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
    rm -rf "$WORK" "$HELPER"
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
vq() { local n=$1; shift; "$PY" "$HELPER" vq "$(nd "$n")/vigil.sock" "$@"; }
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
    "$PY" "$HELPER" monitor "$raw" "/run/netns/$OUTSIDER" "/run/netns/$(nsn n1)" "/run/netns/$(nsn n2)" "$VIP" "$VIP2" &
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
    "$PY" "$HELPER" analyze "$OUT/run$RUN/$1.raw" "$MARKF" "$RUN" "$2" "$RES" "$MARKS" "${VIPS[@]}"
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
"$PY" "$HELPER" table "$RES" "$MARKS" | tee "$OUT/table.md"
