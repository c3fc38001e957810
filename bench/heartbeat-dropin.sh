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
# pids NSPATH...            PIDs of the processes whose network namespace is one of NSPATH
# measure ...               ping VIP from the outsider every 10 ms, act at t0, time the answer from n2
# vsteady ...               poll Vigil agents' status until the group runs on OWNER in every view
# table RESULTS             min/median/max per system and scenario (markdown)
# decode PCAP [EVENTS]      Heartbeat ha_msg traffic summary
HELPER=$(mktemp /tmp/hb-dropin-helper.XXXXXX.py)
trap 'rm -f "$HELPER"' EXIT
cat >"$HELPER" <<'PYEOF'
import ctypes, json, os, select, signal, socket, statistics, struct, subprocess, sys, time

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
    """with InNetns(path): sockets created inside belong to that network namespace."""
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

def link_down_msg(ifindex):
    RTM_NEWLINK, NLM_F_REQUEST, NLM_F_ACK, IFF_UP = 16, 1, 4, 1
    ifi = struct.pack('=BxHiII', socket.AF_UNSPEC, 0, ifindex, 0, IFF_UP)
    return struct.pack('=IHHII', 16 + len(ifi), RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, 1, 0) + ifi

def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff

def kill_all(ns_path):
    n = 0
    for _ in range(50):             # and anything forked meanwhile
        rest = pids_in([ns_path])
        if not rest: break
        for p in rest:
            try: os.kill(p, signal.SIGKILL); n += 1
            except ProcessLookupError: pass
        time.sleep(0.01)
    return n

def measure(a):
    # measure OUTSIDER_NS VIP MAC1 MAC2 TIMEOUT crash N1_NS | cmd LOGFILE ARGV...
    outsider, vip, mac1, mac2, timeout, mode = a[0], a[1], a[2].lower(), a[3].lower(), float(a[4]), a[5]
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
    except OSError:
        pass
    with InNetns(outsider):
        raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        pk = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
        pk.bind(('eth0', 0x0800))
    raw.setblocking(False); pk.setblocking(False)
    if mode == 'crash':
        victim = a[6]
        with InNetns(victim):
            nl = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
            nl.bind((0, 0))
            ifindex = socket.if_nametoindex('eth0')
        downmsg = link_down_msg(ifindex)
    ident = os.getpid() & 0xffff
    vip_b = socket.inet_aton(vip)
    sent = {}            # seq -> send time
    replies = []         # (t_recv, seq, mac)
    seq = 0
    def send():
        nonlocal seq
        seq = (seq + 1) & 0xffff
        hdr = struct.pack('!BBHHH', 8, 0, 0, ident, seq) + b'hb-dropin-bench'
        pkt = struct.pack('!BBHHH', 8, 0, csum(hdr), ident, seq) + b'hb-dropin-bench'
        try:
            raw.sendto(pkt, (vip, 0))
        except OSError:
            pass         # e.g. EHOSTUNREACH while the neighbour entry fails: counts as lost
        sent[seq] = time.monotonic()
    def receive():
        while True:
            try:
                frame, addr = pk.recvfrom(2048)
            except BlockingIOError:
                break
            t = time.monotonic()
            if addr[2] == socket.PACKET_OUTGOING or len(frame) < 14 + 20 + 8: continue
            ip = frame[14:]
            ihl = (ip[0] & 15) * 4
            if ip[9] != 1 or ip[12:16] != vip_b: continue
            icmp = ip[ihl:ihl + 8]
            if len(icmp) < 8: continue
            typ, _, _, rid, rseq = struct.unpack('!BBHHH', icmp)
            if typ != 0 or rid != ident: continue
            replies.append((t, rseq, ':'.join('%02x' % b for b in frame[6:12])))
        while True:
            try: raw.recv(2048)
            except BlockingIOError: break
    def run_for(dur, until=None):
        end = time.monotonic() + dur
        nxt = time.monotonic()
        while True:
            now = time.monotonic()
            if now >= end or (until and until()): return
            if now >= nxt:
                send(); nxt += 0.01
                if nxt < now: nxt = now + 0.01
            r, _, _ = select.select([pk], [], [], max(0, min(nxt, end) - time.monotonic()))
            receive()
    # 1. pre: 0.5 s of pings, every reply from n1
    run_for(0.5)
    pre = [r for r in replies]
    if len(pre) < 40 or any(m != mac1 for _, _, m in pre):
        macs = sorted({m for _, _, m in pre})
        print(f'NOTSTEADY pre_replies={len(pre)} macs={",".join(macs) or "none"}'); return 2
    # 2. act
    proc = None
    t0w = time.time(); t0 = time.monotonic()
    if mode == 'crash':
        killed = 0
        for p in pids_in([victim]):
            try: os.kill(p, signal.SIGKILL); killed += 1
            except ProcessLookupError: pass
        nl.sendto(downmsg, (0, 0))
        t_act = time.monotonic()
        killed += kill_all(victim)
        act = f'killed={killed} link_down_after_us={(t_act - t0) * 1e6:.0f}'
    else:
        logf = open(a[6], 'ab')
        proc = subprocess.Popen(a[7:], stdin=subprocess.DEVNULL, stdout=logf, stderr=logf)
        act = 'cmd=started'
    t_cmd = [None]
    def done():
        if proc is not None and t_cmd[0] is None and proc.poll() is not None:
            t_cmd[0] = time.monotonic()
        n2 = [r for r in replies if r[0] > t0 and r[2] == mac2]
        return (proc is None or t_cmd[0] is not None) and n2 and time.monotonic() - n2[0][0] >= 0.5
    run_for(timeout, done)
    if proc is not None and proc.poll() is None:
        proc.kill(); proc.wait()
    run_for(0.05)
    n2 = [r for r in replies if r[0] > t0 and r[2] == mac2]
    n1_after = [r for r in replies if r[0] > t0 and r[2] == mac1]
    times = sorted(r[0] for r in replies)
    gap = max((b - a_) for a_, b in zip(times, times[1:])) if len(times) > 1 else float('nan')
    answered = {r[1] for r in replies}
    lost = sum(1 for s, ts in sent.items() if ts > t0 and s not in answered and (not n2 or ts < n2[-1][0]))
    other = sorted({m for _, _, m in replies if m not in (mac1, mac2)})
    f = lambda v: 'NA' if v is None else '%.1f' % v
    res = dict(t_n2_ms=f((n2[0][0] - t0) * 1000 if n2 else None), gap_ms=f(gap * 1000), lost=str(lost),
               last_n1_ms=f((n1_after[-1][0] - t0) * 1000 if n1_after else 0.0),
               cmd_ms=f((t_cmd[0] - t0) * 1000 if t_cmd[0] else None),
               rc=str(proc.returncode if proc else '-'), t0_wall='%.6f' % t0w)
    status = 'OK' if n2 else 'TIMEOUT'
    print(status + ' ' + ' '.join(f'{k}={v}' for k, v in res.items()) + f' {act} foreign_macs={",".join(other) or "none"}')
    return 0 if n2 else 3

def vstatus(sock):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.settimeout(3); s.connect(sock)
    s.sendall(b'status\n'); out = b''
    while True:
        b = s.recv(65536)
        if not b: break
        out += b
    s.close()
    return json.loads(out)

def vsteady(a):
    # vsteady TIMEOUT OWNER SOCK...: every agent sees every node alive, the (only) group running on OWNER
    timeout, owner, socks = float(a[0]), a[1], a[2:]
    deadline = time.monotonic() + timeout; last = None
    while time.monotonic() < deadline:
        try:
            ok = True
            for sock in socks:
                st = vstatus(sock)
                bad = [m['name'] + ':' + m.get('state', '?') for m in st['nodes'] if m.get('state') != 'alive']
                g = st.get('groups') or [{}]
                g = g[0]
                if bad or g.get('state') != 'running' or g.get('owner') != owner or st.get('standby'):
                    ok = False
                    last = f"{st['node']}: nodes not alive {bad}, group {g.get('state')} on {g.get('owner')}"
                    break
            if ok: return 0
        except Exception as e:
            last = repr(e)
        time.sleep(0.1)
    print(f'not steady within {timeout}s: {last}', file=sys.stderr)
    return 1

def table(a):
    rows = {}; order = []
    for line in open(a[0]):
        f = line.rstrip('\n').split('\t')
        if len(f) < 8 or f[0] == 'system': continue
        k = (f[0], f[1])
        if k not in rows: rows[k] = []; order.append(k)
        rows[k].append(f)
    def mmm(vals):
        v = sorted(float(x) for x in vals if x not in ('NA', '', '-'))
        if not v: return '-'
        return '%.0f / %.0f / %.0f' % (v[0], statistics.median(v), v[-1])
    print('| system | scenario | runs | VIP answers from n2 after t0, ms (min / median / max) | longest ping gap, ms | lost pings (median) | command returned after, ms |')
    print('|---|---|---|---|---|---|---|')
    for k in order:
        r = rows[k]
        lost = statistics.median([int(x[5]) for x in r if x[5].isdigit()] or [0])
        print('| %s | %s | %d | %s | %s | %.0f | %s |' % (k[0], k[1], len(r), mmm([x[3] for x in r]), mmm([x[4] for x in r]),
              lost, mmm([x[7] for x in r]) if k[1] != 'crash' else '-'))

# ----------------------------------------------------------------- decode --
def pcap_packets(path):
    data = open(path, 'rb').read()
    magic = struct.unpack_from('<I', data)[0]
    if magic in (0xa1b2c3d4, 0xa1b23c4d): e = '<'
    else: e = '>'
    nano = magic in (0xa1b23c4d, 0x4d3cb2a1)
    linktype = struct.unpack_from(e + 'I', data, 20)[0]
    off = 24
    while off + 16 <= len(data):
        ts, tf, incl, orig = struct.unpack_from(e + 'IIII', data, off); off += 16
        frame = data[off:off + incl]; off += incl
        t = ts + tf / (1e9 if nano else 1e6)
        if linktype == 1:
            if len(frame) < 14 or frame[12:14] != b'\x08\x00': continue
            ip = frame[14:]
        elif linktype == 113:
            ip = frame[16:]
        else:
            continue
        ihl = (ip[0] & 15) * 4
        if ip[9] != 17: continue
        frag = struct.unpack('!H', ip[6:8])[0]
        src, dst = socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20])
        if frag & 0x1fff:
            yield t, src, dst, None, len(ip); continue
        udp = ip[ihl:]
        yield t, src, dst, udp[8:], len(ip)

def parse_netstring_msg(b, pos=0):
    """Heartbeat's netstring wire format: "###\\n", then LEN:(TYPE)NAME=VALUE, fields, "%%%\\n", then the
    LEN:auth, netstring. TYPE 0 string, 1 binary, 2 nested message, 3 list, 4 compressed. Returns
    ([(name, type, value)], auth, end)."""
    if b[pos:pos + 4] != b'###\n': raise ValueError('no ### start')
    pos += 4; fields = []
    while True:
        if b[pos:pos + 4] == b'%%%\n':
            pos += 4; break
        colon = b.index(b':', pos)
        n = int(b[pos:colon]); data = b[colon + 1:colon + 1 + n]; pos = colon + 1 + n
        if b[pos:pos + 1] != b',': raise ValueError('bad netstring')
        pos += 1
        close = data.index(b')')
        typ = int(data[1:close]); eq = data.index(b'=', close)
        name = data[close + 1:eq].decode('latin-1'); val = data[eq + 1:]
        if typ == 0: v = val.decode('latin-1')
        elif typ == 2:
            try: v = {k: vv for k, _, vv in parse_netstring_msg(val)[0]}
            except Exception: v = '<struct %d B>' % len(val)
        else: v = '<%s %d B>' % ({1: 'binary', 3: 'list', 4: 'compressed'}.get(typ, 'type%d' % typ), len(val))
        fields.append((name, typ, v))
    auth = None
    if pos < len(b) and b[pos:pos + 1].isdigit():
        colon = b.index(b':', pos); n = int(b[pos:colon]); auth = b[colon + 1:colon + 1 + n].decode('latin-1')
        pos = colon + 2 + n
    return fields, auth, pos

def parse_msg(payload):
    """[(name, value)] of one ha_msg packet, netstring (###) or classic text (>>>) format; None otherwise."""
    if payload.startswith(b'###\n'):
        try:
            fields, auth, _ = parse_netstring_msg(payload)
        except Exception:
            return None
        out = [(k, v if isinstance(v, str) else ('{' + ' '.join(f'{a}={str(c)[:24]}' for a, c in v.items()) + '}' if isinstance(v, dict) else v))
               for k, _, v in fields]
        return out + ([('auth', auth)] if auth else [])
    txt = payload.decode('latin-1')
    if not txt.startswith('>>>\n'): return None
    fields = []
    for line in txt.split('\n')[1:]:
        if line == '<<<': break
        if '=' in line:
            k, v = line.split('=', 1)
            fields.append((k, v))
    return fields

def decode(a):
    pcap = a[0]; events = a[1] if len(a) > 1 else None
    system = a[2] if len(a) > 2 else 'heartbeat'
    ev = []
    if events and os.path.exists(events):
        for line in open(events):
            f = line.rstrip('\n').split('\t')
            if len(f) >= 3 and f[1] == system: ev.append((float(f[0]), f[2]))
    ev.sort()
    def phase(t):
        cur = (0.0, 'before-first-event')
        for te, name in ev:
            if te <= t: cur = (te, name)
            else: break
        return cur
    kind = lambda name: name.split(' ')[0]
    types = {}; fields_of = {}; per_phase = {}; per_node = {}; nonmsg = 0; frags = 0; sizes = {}; other_sizes = []
    seqs = {}          # phase kind -> (phase name, [lines]) for its first occurrence
    per_event = {}     # crash/standby/takeover event -> compact list of its messages
    first = last = None; n = 0
    for t, src, dst, payload, iplen in pcap_packets(pcap):
        n += 1
        first = t if first is None else first; last = t
        if payload is None: frags += 1; continue
        m = parse_msg(payload)
        if m is None: nonmsg += 1; other_sizes.append(iplen); continue
        d = dict(m)
        typ = d.get('t', '?')
        types[typ] = types.get(typ, 0) + 1
        sizes.setdefault(typ, []).append(iplen)
        fields_of.setdefault(typ, set()).update(k for k, _ in m)
        te, name = phase(t)
        per_phase.setdefault(kind(name), {}).setdefault(typ, 0); per_phase[kind(name)][typ] += 1
        per_node.setdefault((d.get('src', '?'), typ), 0); per_node[(d.get('src', '?'), typ)] += 1
        k = kind(name)
        if k not in seqs: seqs[k] = (name, [])
        if seqs[k][0] == name and (typ not in ('status', 'NS_ackmsg') or (typ == 'status' and d.get('st') != 'active')):
            keep = [f'{x}={d[x]}' for x in ('t', 'src', 'dest', 'st', 'rsc_hold', 'info', 'rtype', 'isstable', 'ipaddr', 'weown', 'ok',
                                             'node', 'result', 'nodelist', 'seq') if x in d]
            seqs[k][1].append('  +%7.3f s  %s' % (t - te, ' '.join(keep)))
        if k in ('crash', 'standby', 'takeover') and typ not in ('status', 'NS_ackmsg') and t - te < 5:
            tag = typ + ('[%s]' % d['info'] if 'info' in d else '') + ('[%s]' % d['rsc_hold'] if typ == 'hb_takeover' else '')
            per_event.setdefault(name, []).append('%s(%s)+%.0f' % (tag, d.get('src', '?'), (t - te) * 1000))
    if n == 0:
        print('no packets'); return 0
    dur = max(last - first, 1e-9)
    print(f'packets={n} span_s={dur:.1f} ha_msg={sum(types.values())} fragments={frags} other={nonmsg}'
          + (f' (other: {nonmsg / dur:.1f}/s, IP size median {statistics.median(other_sizes):.0f} B)' if other_sizes else ''))
    if not types: return 0
    print('\n== message types (count, per second over the capture, IP size median) ==')
    for typ, c in sorted(types.items(), key=lambda x: -x[1]):
        print(f'{typ:24s} {c:7d} {c / dur:8.2f}/s  {statistics.median(sizes[typ]):.0f} B')
    print('\n== per sender ==')
    for (src, typ), c in sorted(per_node.items()):
        print(f'{src:6s} {typ:24s} {c}')
    print('\n== fields per type ==')
    for typ in sorted(fields_of):
        print(f'{typ}: {" ".join(sorted(fields_of[typ]))}')
    print('\n== per phase kind (events.tsv), all occurrences ==')
    for ph in per_phase:
        print(ph + ': ' + ', '.join(f'{k}={v}' for k, v in sorted(per_phase[ph].items(), key=lambda x: -x[1])))
    print('\n== first occurrence of each phase: messages other than status active and NS_ackmsg, time after the event ==')
    for k, (name, lines) in seqs.items():
        print(f'-- {name}')
        for l in lines[:40]: print(l)
        if len(lines) > 40: print(f'  ... {len(lines) - 40} more')
    if per_event:
        print('\n== every crash / standby / takeover: its messages (type[info](sender)+ms after the event; status and NS_ackmsg left out) ==')
        for name, items in per_event.items():
            print(f'{name}: ' + ' '.join(items))
    return 0

if __name__ == '__main__':
    cmd, args = sys.argv[1], sys.argv[2:]
    try:
        if cmd == 'pids': print(' '.join(map(str, pids_in(args))))
        elif cmd == 'measure': sys.exit(measure(args))
        elif cmd == 'vsteady': sys.exit(vsteady(args))
        elif cmd == 'table': table(args)
        elif cmd == 'decode': sys.exit(decode(args))
    except KeyboardInterrupt:
        sys.exit(130)
PYEOF

if [ -n "$DECODE" ]; then
    "$PY" "$HELPER" decode "$DECODE" ${DECODE_ARGS[@]+"${DECODE_ARGS[@]}"}
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
save_logs() {  # save_logs SYSTEM: copy that phase's node logs to OUT
    local s=$1 n
    for n in n1 n2; do
        [ -d "$WORK/$s/$n" ] || continue
        cp "$WORK/$s/$n/log/ha-log" "$OUT/$s-$n-ha-log" 2>/dev/null || true
        cp "$WORK/$s/$n/agent.out" "$OUT/$s-$n-agent.out" 2>/dev/null || true
    done
}
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    set +e
    [ ${#NS_MADE[@]} -gt 0 ] && kill_ns "${NS_MADE[@]}"
    for s in heartbeat vigil mixed; do save_logs "$s"; done
    for ns in "${NS_MADE[@]}"; do ip netns del "$ns" 2>/dev/null; done
    rm -rf "$WORK" "$HELPER"
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
            "$PY" "$HELPER" vsteady 0.5 "$owner" "$(nd n1)/vigil.sock" "$(nd n2)/vigil.sock" 2>/dev/null || why="vigil status"
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
    out=$("$PY" "$HELPER" measure "/run/netns/$OUTSIDER" "$VIP" "$MAC1" "$MAC2" "$MEASURE_TIMEOUT" "$@") || {
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
"$PY" "$HELPER" table "$RES" | tee "$OUT/table.md"
if [ "$CAPTURE" = yes ] && [ -s "$OUT/heartbeat-694.pcap" ]; then
    "$PY" "$HELPER" decode "$OUT/heartbeat-694.pcap" "$EVENTS" heartbeat >"$OUT/heartbeat-694.decoded.txt" 2>&1 || true
    log "Heartbeat's UDP 694 traffic decoded: $OUT/heartbeat-694.decoded.txt"
fi
for s in vigil mixed; do
    [ "$CAPTURE" = yes ] && [ -s "$OUT/$s-694.pcap" ] || continue
    "$PY" "$HELPER" decode "$OUT/$s-694.pcap" "$EVENTS" "$s" >"$OUT/$s-694.decoded.txt" 2>&1 || true
done
exit $rc
