import Foundation
import Synchronization
import VigilDrill
#if canImport(Glibc)
    import Glibc
#endif

/// Heartbeat's ping nodes (ipfail's input): ICMP echo to each configured address every `interval` on one
/// thread, and a count of those that answered within `deadtime`. `onChange` gets the count whenever it changes.
final class PingNodes: @unchecked Sendable {
    let targets: [String]
    let interval: Duration
    let deadtime: Duration
    let onChange: @Sendable (Int) -> Void
    private let fd: Int32
    private let ident = UInt16.random(in: 1...UInt16.max)
    private let stopped = Mutex(false)
    /// Per target, whether it answered within deadtime at the last count (for status).
    let reachable: Mutex<[Bool]>
    private var thread: Thread?

    init(targets: [String], interval: Duration, deadtime: Duration, onChange: @escaping @Sendable (Int) -> Void) throws {
        self.targets = targets
        self.interval = interval
        self.deadtime = deadtime
        self.onChange = onChange
        reachable = Mutex(Array(repeating: false, count: targets.count))
        fd = socket(AF_INET, Int32(SOCK_RAW.rawValue), Int32(IPPROTO_ICMP))
        guard fd >= 0 else {
            throw AgentError("ping nodes: raw ICMP socket: \(String(cString: strerror(errno))) (run as root or with CAP_NET_RAW)")
        }
    }

    func start() {
        let t = Thread { [self] in loop() }
        t.name = "vigil-ping-nodes"
        thread = t
        t.start()
    }

    func stop() { stopped.withLock { $0 = true } }

    private func loop() {
        var addrs: [sockaddr_in] = targets.map { t in
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            _ = inet_pton(AF_INET, t, &a.sin_addr)
            return a
        }
        var lastReply = [Int64?](repeating: nil, count: targets.count)
        var reported = -1
        var seq: UInt16 = 0
        var buf = [UInt8](repeating: 0, count: 2048)
        let step = interval.nanoseconds
        var next = Pinger.monotonicNs()
        let started = next
        while !stopped.withLock({ $0 }) {
            let now = Pinger.monotonicNs()
            if now >= next {
                seq &+= 1
                for i in addrs.indices {
                    // The sequence number's low byte is the target's index, so a reply names its target.
                    let s = seq << 8 | UInt16(i)
                    var p: [UInt8] = [8, 0, 0, 0, UInt8(ident >> 8), UInt8(ident & 0xff), UInt8(s >> 8), UInt8(s & 0xff)]
                    p += Array("VIGILPNG".utf8)
                    let c = Pinger.checksum(p)
                    p[2] = UInt8(c >> 8); p[3] = UInt8(c & 0xff)
                    _ = withUnsafePointer(to: &addrs[i]) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                            sendto(fd, p, p.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                        }
                    }
                }
                next += step
                if next < now { next = now + step }
                let up = lastReply.map { $0.map { now - $0 <= deadtime.nanoseconds } ?? false }
                self.reachable.withLock { $0 = up }
                let reachable = up.filter { $0 }.count
                // The first count waits until every target answered or deadtime passed, so nodes do not
                // compare half-measured counts at start-up.
                let measured = reported >= 0 || reachable == targets.count || now - started >= deadtime.nanoseconds
                if measured, reachable != reported {
                    reported = reachable
                    onChange(reachable)
                }
            }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let waitMs = max(1, Int32((next - Pinger.monotonicNs()) / 1_000_000))
            guard poll(&pfd, 1, min(waitMs, 200)) > 0 else { continue }
            let n = recv(fd, &buf, buf.count, Int32(MSG_DONTWAIT))
            guard n >= 28 else { continue }
            let ihl = Int(buf[0] & 0x0f) * 4
            guard n >= ihl + 8, buf[ihl] == 0, UInt16(buf[ihl + 4]) << 8 | UInt16(buf[ihl + 5]) == ident else { continue }
            let index = Int(buf[ihl + 7])
            if index < lastReply.count { lastReply[index] = Pinger.monotonicNs() }
        }
        close(fd)
    }
}
