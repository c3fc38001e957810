"""bench/heartbeat-switchover.sh's measurements: a monitor that pings the addresses and samples which node
holds them, the per-step analysis (gaps, split-brain checks) and the tables.

    python3 -m vigiltools.hbswitchover monitor OUT OUTSIDER_NS N1_NS N2_NS VIP...
        ping every VIP every 10 ms from the outsider, read both nodes' addresses every 20 ms (netlink);
        writes S/P/A/E lines to OUT until SIGTERM
    python3 -m vigiltools.hbswitchover vq SOCK EXPR        (status query)
    python3 -m vigiltools.hbswitchover analyze RAW MARKERS RUN PHASE RESULTS MARKS LABEL=VIP...
        per-step gaps and split-brain checks of one run, appended to RESULTS and MARKS
    python3 -m vigiltools.hbswitchover table RESULTS MARKS   min/median/max (markdown)
    python3 -m vigiltools.hbswitchover pids NSPATH...      (netns pids)
"""
import os
import select
import signal
import socket
import statistics
import sys
import time

from vigiltools import icmp, netns, status
from vigiltools.stats import cell as mmm


def monitor(a):
    out, outsider, n1, n2 = a[:4]; vips = a[4:]
    stop = [False]
    def onsig(*_): stop[0] = True
    signal.signal(signal.SIGTERM, onsig); signal.signal(signal.SIGINT, onsig)
    netns.realtime()
    with netns.InNetns(outsider):
        raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        pk = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
        pk.bind(('eth0', 0x0800))
    raw.setblocking(False); pk.setblocking(False)
    nls = {}
    for name, p in (('n1', n1), ('n2', n2)):
        nls[name] = netns.netlink_in(p)
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
            if addr[2] == socket.PACKET_OUTGOING: continue
            r = icmp.echo_reply(frame, ident, vipb)
            if r is None: continue
            f.write('P %.6f %d %d %s\n' % (t, vipb[r[0]], r[1], r[2]))
        while True:
            try: raw.recv(2048)
            except BlockingIOError: break
    while not stop[0]:
        now = mono()
        if now >= next_ping:
            for i, v in enumerate(vips):
                seqs[i] = (seqs[i] + 1) & 0xffff
                pkt = icmp.echo_request(ident, seqs[i], b'vigil-switchover')
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
                vs = tuple(sorted(vipb[x] for x in netns.dump_addrs(s, nlseq) if x in vipb))
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


def main(argv):
    cmd, args = (argv[0], argv[1:]) if argv else (None, [])
    try:
        if cmd == 'pids': print(' '.join(map(str, netns.pids_in(args)))); return 0
        elif cmd == 'monitor': return monitor(args)
        elif cmd == 'vq': return status.cmd_query(*args)
        elif cmd == 'analyze': return analyze(args)
        elif cmd == 'table': return table(args)
    except KeyboardInterrupt:
        return 130
    print(__doc__.strip(), file=sys.stderr)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
