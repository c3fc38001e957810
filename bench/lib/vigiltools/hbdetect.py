"""bench/heartbeat-detect.sh: hard-fail a node and time the survivors' "node X: is dead" log lines.

    python3 -m vigiltools.hbdetect fail NSPATH IFINDEX VICTIM TIMEOUT_S SURVIVOR=LOGFILE...
        SIGKILL every process in the victim's namespace, then its link down with one netlink message, then
        wait (inotify on the logs) for every survivor's "is dead" line. Prints one result line:
        OK|TIMEOUT max_ms=.. killed=.. link_down_after_us=.. link_ack=ok|ERR spurious=.. SURVIVOR=ms...
    python3 -m vigiltools.hbdetect pids NSPATH...      (netns pids)
"""
import ctypes
import os
import re
import select
import signal
import sys
import time

from vigiltools import netns

DEAD = re.compile(r'node (\S+): is dead')


class Inotify:
    IN_MODIFY = 0x2

    def __init__(self, paths):
        libc = netns.libc()
        self.fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), 'inotify_init1')
        for p in paths:
            if libc.inotify_add_watch(self.fd, p.encode(), self.IN_MODIFY) < 0:
                raise OSError(ctypes.get_errno(), 'inotify_add_watch ' + p)

    def wait(self, timeout):
        r, _, _ = select.select([self.fd], [], [], max(timeout, 0))
        if r:
            try:
                os.read(self.fd, 65536)
            except BlockingIOError:
                pass


def scan_lines(lines, victim, n, t, found, others):
    """Records the victim's first "is dead" line of survivor n at time t in found; other nodes' in others."""
    for line in lines:
        m = DEAD.search(line.decode('utf-8', 'replace'))
        if not m: continue
        if m.group(1) == victim:
            found.setdefault(n, t)
        else:
            others.append(f'{n}:{m.group(1)}')


def result_line(found, files, others, t0, t_link, victims, link_ok):
    det = ' '.join(f'{n}={(found[n] - t0) * 1000:.1f}' if n in found else f'{n}=TIMEOUT'
                   for n in sorted(files))
    status = 'OK' if len(found) == len(files) else 'TIMEOUT'
    mx = max(found.values()) - t0 if found else float('nan')
    return status, (f'{status} max_ms={mx * 1000:.1f} killed={len(victims)} '
                    f'link_down_after_us={(t_link - t0) * 1e6:.0f} link_ack={"ok" if link_ok else "ERR"} '
                    f'spurious={",".join(others) or "none"} {det}')


def fail(args):
    # args: ns_path ifindex victim timeout_s survivor=logfile ...
    ns_path, ifindex, victim, timeout = args[0], int(args[1]), args[2], float(args[3])
    logs = dict(a.split('=', 1) for a in args[4:])
    netns.realtime()    # be woken promptly even while the machine is busy (heartbeat itself runs SCHED_RR)
    files = {n: open(p, 'rb') for n, p in logs.items()}
    for f in files.values():
        f.seek(0, os.SEEK_END)
    buf = {n: b'' for n in files}
    ino = Inotify(list(logs.values()))
    nl = netns.netlink_in(ns_path)
    msg = netns.link_down_msg(ifindex)
    victims = netns.pids_in([ns_path])
    if not victims:
        print('ERROR no process found in victim namespace'); return 2

    t0 = time.monotonic()
    for p in victims:
        try: os.kill(p, signal.SIGKILL)
        except ProcessLookupError: pass
    nl.sendto(msg, (0, 0))
    t_link = time.monotonic()

    link_ok = netns.netlink_ack_ok(nl)
    netns.kill_all(ns_path)      # anything the victim forked in the meantime

    found, others = {}, []
    deadline = t0 + timeout
    while len(found) < len(files):
        now = time.monotonic()
        if now >= deadline: break
        ino.wait(min(0.05, deadline - now))
        t = time.monotonic()
        for n, f in files.items():
            chunk = f.read()
            if not chunk: continue
            buf[n] += chunk
            *lines, buf[n] = buf[n].split(b'\n')
            scan_lines(lines, victim, n, t, found, others)
    status, line = result_line(found, files, others, t0, t_link, victims, link_ok)
    print(line)
    return 0 if status == 'OK' else 3


def main(argv):
    try:
        if argv[:1] == ['pids']:
            print(' '.join(map(str, netns.pids_in(argv[1:]))))
            return 0
        if argv[:1] == ['fail']:
            return fail(argv[1:])
    except KeyboardInterrupt:
        return 130
    print(__doc__.strip(), file=sys.stderr)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
