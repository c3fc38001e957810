"""Network namespaces from Python: which processes live in one, sockets created inside one, netlink messages.

    python3 -m vigiltools.netns pids NSPATH...   PIDs (space-separated) of the processes whose network
                                                 namespace is one of NSPATH (e.g. /run/netns/NAME)
"""
import ctypes
import os
import signal
import socket
import struct
import sys
import time

CLONE_NEWNET = 0x40000000
_libc = None


def libc():
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    return _libc


def ns_id(path):
    st = os.stat(path)
    return (st.st_dev, st.st_ino)


def pids_in(ns_paths, proc="/proc"):
    """PIDs (ints, this process left out) whose /proc/PID/ns/net is one of ns_paths (those that exist)."""
    want = {ns_id(p) for p in ns_paths if os.path.exists(p)}
    out = []
    for d in os.listdir(proc):
        if d.isdigit() and int(d) != os.getpid():
            try:
                if ns_id(f'{proc}/{d}/ns/net') in want:
                    out.append(int(d))
            except OSError:
                pass
    return out


def kill_all(ns_path, rounds=50):
    """SIGKILL everything in the namespace, again for anything forked meanwhile. Returns how many signals."""
    n = 0
    for _ in range(rounds):
        rest = pids_in([ns_path])
        if not rest:
            break
        for p in rest:
            try:
                os.kill(p, signal.SIGKILL); n += 1
            except ProcessLookupError:
                pass
        time.sleep(0.01)
    return n


class InNetns:
    """with InNetns(path): sockets created inside belong to that network namespace."""
    def __init__(self, path):
        self.path = path

    def __enter__(self):
        self.home = os.open('/proc/self/ns/net', os.O_RDONLY)
        fd = os.open(self.path, os.O_RDONLY)
        try:
            if libc().setns(fd, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), 'setns ' + self.path)
        finally:
            os.close(fd)

    def __exit__(self, *a):
        libc().setns(self.home, CLONE_NEWNET)
        os.close(self.home)


def netlink_in(ns_path):
    """A bound NETLINK_ROUTE socket created inside the netns at ns_path."""
    with InNetns(ns_path):
        s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
        s.bind((0, 0))
    return s


def link_down_msg(ifindex):
    """RTM_NEWLINK that clears IFF_UP of ifindex (one message: the link goes down with no process start)."""
    RTM_NEWLINK, NLM_F_REQUEST, NLM_F_ACK, IFF_UP = 16, 1, 4, 1
    ifi = struct.pack('=BxHiII', socket.AF_UNSPEC, 0, ifindex, 0, IFF_UP)
    return struct.pack('=IHHII', 16 + len(ifi), RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, 1, 0) + ifi


def ack_ok(data):
    """Whether a netlink answer is not an NLMSG_ERROR with a non-zero error."""
    ln, typ = struct.unpack_from('=IH', data)
    if typ == 2:  # NLMSG_ERROR
        return struct.unpack_from('=i', data, 16)[0] == 0
    return True


def netlink_ack_ok(s):
    s.settimeout(2)
    return ack_ok(s.recv(4096))


def getaddr_msg(seq):
    """RTM_GETADDR dump request for IPv4."""
    return struct.pack('=IHHII', 24, 22, 0x301, seq, 0) + struct.pack('=BBBBI', socket.AF_INET, 0, 0, 0, 0)


def parse_addrs(data, got):
    """Adds the IFA_ADDRESS/IFA_LOCAL values (4-byte strings) of the RTM_NEWADDR messages in data to got.
    Returns True once the dump is over (NLMSG_DONE or NLMSG_ERROR)."""
    off = 0
    while off + 16 <= len(data):
        ln, typ, _, _, _ = struct.unpack_from('=IHHII', data, off)
        if ln < 16 or typ in (2, 3):
            return True                                   # NLMSG_ERROR, NLMSG_DONE
        if typ == 20:                                     # RTM_NEWADDR
            o = off + 24
            while o + 4 <= off + ln:
                rl, rt = struct.unpack_from('=HH', data, o)
                if rl < 4:
                    break
                if rt in (1, 2) and rl >= 8:
                    got.add(bytes(data[o + 4:o + 8]))
                o += (rl + 3) & ~3
        off += (ln + 3) & ~3
    return False


def dump_addrs(s, seq):
    """IPv4 addresses (4-byte strings) of every interface of the socket's namespace (RTM_GETADDR dump)."""
    s.send(getaddr_msg(seq))
    got = set()
    while True:
        if parse_addrs(s.recv(65536), got):
            return got


def realtime(prio=1):
    """SCHED_FIFO for this process if permitted: be woken promptly even while the machine is busy."""
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(prio))
    except OSError:
        pass


def main(argv):
    if argv[:1] == ["pids"]:
        print(' '.join(map(str, pids_in(argv[1:]))))
        return 0
    print(__doc__.strip(), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
