"""bench/heartbeat-dropin.sh's measurements: a pinger that credits replies to MACs, the results table, and
the decoder of Heartbeat's ha_msg traffic in a capture.

    python3 -m vigiltools.hbdropin measure OUTSIDER_NS VIP MAC1 MAC2 TIMEOUT crash N1_NS
    python3 -m vigiltools.hbdropin measure OUTSIDER_NS VIP MAC1 MAC2 TIMEOUT cmd LOGFILE ARGV...
        ping VIP from the outsider every 10 ms, act at t0 (crash: SIGKILL everything in N1_NS and its eth0
        down; cmd: run ARGV), time the first answer from n2 (MAC2); prints one key=value result line
    python3 -m vigiltools.hbdropin table RESULTS      min/median/max per system and scenario (markdown)
    python3 -m vigiltools.hbdropin decode PCAP [EVENTS [SYSTEM]]   Heartbeat ha_msg traffic summary
    python3 -m vigiltools.hbdropin pids NSPATH...     (netns pids)
    python3 -m vigiltools.hbdropin vsteady TIMEOUT OWNER SOCK...   (status steady)
"""
import os
import select
import signal
import socket
import statistics
import subprocess
import sys
import time

from vigiltools import icmp, netns, stats, status
from vigiltools.hamsg import parse_msg
from vigiltools.pcap import pcap_packets


def measure(a):
    # measure OUTSIDER_NS VIP MAC1 MAC2 TIMEOUT crash N1_NS | cmd LOGFILE ARGV...
    outsider, vip, mac1, mac2, timeout, mode = a[0], a[1], a[2].lower(), a[3].lower(), float(a[4]), a[5]
    netns.realtime()
    with netns.InNetns(outsider):
        raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        pk = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
        pk.bind(('eth0', 0x0800))
    raw.setblocking(False); pk.setblocking(False)
    if mode == 'crash':
        victim = a[6]
        with netns.InNetns(victim):
            nl = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
            nl.bind((0, 0))
            ifindex = socket.if_nametoindex('eth0')
        downmsg = netns.link_down_msg(ifindex)
    ident = os.getpid() & 0xffff
    vip_b = socket.inet_aton(vip)
    sent = {}            # seq -> send time
    replies = []         # (t_recv, seq, mac)
    seq = 0
    def send():
        nonlocal seq
        seq = (seq + 1) & 0xffff
        pkt = icmp.echo_request(ident, seq, b'hb-dropin-bench')
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
            if addr[2] == socket.PACKET_OUTGOING: continue
            r = icmp.echo_reply(frame, ident, (vip_b,))
            if r is None: continue
            replies.append((t, r[1], r[2]))
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
        for p in netns.pids_in([victim]):
            try: os.kill(p, signal.SIGKILL); killed += 1
            except ProcessLookupError: pass
        nl.sendto(downmsg, (0, 0))
        t_act = time.monotonic()
        killed += netns.kill_all(victim)
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


def table(a):
    rows = {}; order = []
    for line in open(a[0]):
        f = line.rstrip('\n').split('\t')
        if len(f) < 8 or f[0] == 'system': continue
        k = (f[0], f[1])
        if k not in rows: rows[k] = []; order.append(k)
        rows[k].append(f)
    def mmm(vals):
        return stats.cell(stats.numbers(vals))
    print('| system | scenario | runs | VIP answers from n2 after t0, ms (min / median / max) | longest ping gap, ms | lost pings (median) | command returned after, ms |')
    print('|---|---|---|---|---|---|---|')
    for k in order:
        r = rows[k]
        lost = statistics.median([int(x[5]) for x in r if x[5].isdigit()] or [0])
        print('| %s | %s | %d | %s | %s | %.0f | %s |' % (k[0], k[1], len(r), mmm([x[3] for x in r]), mmm([x[4] for x in r]),
              lost, mmm([x[7] for x in r]) if k[1] != 'crash' else '-'))


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


def main(argv):
    cmd, args = (argv[0], argv[1:]) if argv else (None, [])
    try:
        if cmd == 'pids': print(' '.join(map(str, netns.pids_in(args)))); return 0
        elif cmd == 'measure': return measure(args)
        elif cmd == 'vsteady': return status.cmd_steady(*args)
        elif cmd == 'table': table(args); return 0
        elif cmd == 'decode': return decode(args)
    except KeyboardInterrupt:
        return 130
    print(__doc__.strip(), file=sys.stderr)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
