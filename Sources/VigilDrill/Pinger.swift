import Foundation
import Synchronization
import VigilCore
#if canImport(Glibc)
    import Glibc
#endif

/// ICMP echo on a raw socket (root or CAP_NET_RAW), sent on a fixed CLOCK_MONOTONIC schedule by one thread and
/// received by another, each timestamp taken on the monotonic clock right at the send or receive call.
/// Every request carries a 32-bit sequence number in its payload, so loss, duplicates, reordering and
/// 16-bit wrap-around are told apart exactly.
public final class Pinger: @unchecked Sendable {
    static let magic = Array("VIGILDRL".utf8)
    let fd: Int32
    let address: sockaddr_in
    let ident: UInt16
    let target: String
    private let state = Mutex<(probes: [DrillData.Probe], stray: Int, reordered: Int, highest: Int64, stop: Bool)>(([], 0, 0, -1, false))
    private var start: Int64 = 0

    public init(target: String) throws {
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        guard inet_pton(AF_INET, target, &a.sin_addr) == 1 else { throw DrillError("--target \(target): expected an IPv4 address") }
        address = a
        self.target = target
        fd = socket(AF_INET, Int32(SOCK_RAW.rawValue), Int32(IPPROTO_ICMP))
        guard fd >= 0 else { throw DrillError("raw ICMP socket: \(String(cString: strerror(errno))) (run as root or with CAP_NET_RAW)") }
        ident = UInt16(truncatingIfNeeded: getpid())
    }

    deinit { close(fd) }

    public static func monotonicNs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    /// Sends a request every `interval` from `startNs` (monotonic) until `sendFor` has passed, then listens
    /// `grace` longer for late replies. `onSecond` is called from the sending thread about once a second.
    public func run(
        startNs: Int64, interval: Duration, sendFor: Duration, grace: Duration,
        onSecond: ((Int) -> Void)? = nil
    ) -> (probes: [DrillData.Probe], stray: Int, reordered: Int) {
        start = startNs
        let receiver = Thread { [self] in receiveLoop() }
        receiver.name = "vigil-drill-recv"
        receiver.start()
        let step = interval.nanoseconds
        let end = startNs + sendFor.nanoseconds
        var seq: UInt32 = 0
        var next = startNs
        var lastSecond = -1
        while next < end {
            sleepUntil(next)
            send(seq)
            seq &+= 1
            next += step
            let s = Int((Self.monotonicNs() - startNs) / 1_000_000_000)
            if s != lastSecond { lastSecond = s; onSecond?(s) }
        }
        sleepUntil(end + grace.nanoseconds)
        state.withLock { $0.stop = true }
        for _ in 0..<100 where !receiver.isFinished { usleep(10_000) }
        return state.withLock { ($0.probes, $0.stray, $0.reordered) }
    }

    func sleepUntil(_ ns: Int64) {
        var ts = timespec(tv_sec: Int(ns / 1_000_000_000), tv_nsec: Int(ns % 1_000_000_000))
        while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nil) == EINTR {}
    }

    func send(_ seq: UInt32) {
        var p: [UInt8] = [8, 0, 0, 0, UInt8(ident >> 8), UInt8(ident & 0xff), UInt8((seq >> 8) & 0xff), UInt8(seq & 0xff)]
        p += Self.magic
        for s in stride(from: 24, through: 0, by: -8) { p.append(UInt8((seq >> UInt32(s)) & 0xff)) }
        p += [0, 0, 0, 0]
        let sentAt = Self.monotonicNs() - start
        for s in stride(from: 56, through: 0, by: -8) { p.append(UInt8((UInt64(bitPattern: sentAt) >> UInt64(s)) & 0xff)) }
        let c = Self.checksum(p)
        p[2] = UInt8(c >> 8); p[3] = UInt8(c & 0xff)
        state.withLock { $0.probes.append(DrillData.Probe(seq: seq, sentNs: sentAt)) }
        var addr = address
        _ = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sendto(fd, p, p.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
    }

    func receiveLoop() {
        var buf = [UInt8](repeating: 0, count: 2048)
        while !state.withLock({ $0.stop }) {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 20) > 0 else { continue }
            let n = recv(fd, &buf, buf.count, Int32(MSG_DONTWAIT))
            let at = Self.monotonicNs() - start
            guard n >= 20 else { continue }
            let ihl = Int(buf[0] & 0x0f) * 4
            guard n >= ihl + 8 + 24, buf[ihl] == 0 else { continue }  // echo replies only
            let id = UInt16(buf[ihl + 4]) << 8 | UInt16(buf[ihl + 5])
            guard id == ident else { continue }
            let payload = Array(buf[(ihl + 8)..<n])
            guard Array(payload.prefix(8)) == Self.magic else {
                state.withLock { $0.stray += 1 }
                continue
            }
            let seq = payload[8..<12].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            state.withLock { st in
                guard Int(seq) < st.probes.count, st.probes[Int(seq)].seq == seq else { st.stray += 1; return }
                if st.probes[Int(seq)].repliesNs.isEmpty {
                    if Int64(seq) < st.highest { st.reordered += 1 }
                    st.highest = max(st.highest, Int64(seq))
                }
                st.probes[Int(seq)].repliesNs.append(at)
            }
        }
    }

    /// The Internet checksum (RFC 1071) of an ICMP message.
    public static func checksum(_ b: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        var i = 0
        while i + 1 < b.count { sum += UInt32(b[i]) << 8 | UInt32(b[i + 1]); i += 2 }
        if i < b.count { sum += UInt32(b[i]) << 8 }
        while sum >> 16 != 0 { sum = (sum & 0xffff) + (sum >> 16) }
        return ~UInt16(sum)
    }
}

/// A drill that cannot run: the message says why.
public struct DrillError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ d: String) { description = d }
}
