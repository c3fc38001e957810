import Foundation
#if canImport(Glibc)
    import Glibc
#endif
import Synchronization
import VigilCore

/// The operating system's view of where each group runs, sampled every few milliseconds on a thread of its own.
///
/// The `chaos` test agent (agents/chaos) runs each resource as `sleep infinity` with argv[0]
/// `vigil-res:CLUSTER:NAME`. Every sample lists /proc, keeps the processes whose network namespace is one of the
/// testbed's node namespaces (`/run/netns/vt-NAME-nI`, matched by inode), and reads their argv and state. A
/// process that is alive (any state but zombie or dead; a SIGSTOPped resource still holds its disk) counts as
/// the group being active on that node. Nothing here asks Vigil: a group active in two namespaces at once is a
/// violation, recorded (and printed) the moment it is seen.
final class ProcessSampler: @unchecked Sendable {
    struct Violation: CustomStringConvertible {
        let group: String
        let nodes: [String: [Int32]]  // node -> PIDs
        let at: Duration  // since the sampler started
        var description: String {
            "\(group) active on \(nodes.keys.sorted().map { "\($0) (pid \(nodes[$0]!.map(String.init).joined(separator: ",")))" }.joined(separator: " and ")) at \(at)"
        }
    }

    private struct State {
        var violations: [Violation] = []
        var samples = 0
        var maxGap: Duration = .zero
        var last: [String: [String: [Int32]]] = [:]
        var ongoing: [String: Set<String>] = [:]
        var stop = false
    }

    let cluster: String
    let namespaces: [UInt64: String]  // netns inode -> node
    let period: Duration
    private let state = Mutex(State())
    private let clock = ContinuousClock()
    private let started: ContinuousClock.Instant
    private var thread: Thread?

    /// Starts sampling `tb`'s node namespaces (which must exist: call after `Testbed.init`).
    convenience init(_ tb: Testbed, period: Duration = .milliseconds(2)) {
        self.init(cluster: tb.name, nodes: tb.nodes.map { ($0, "/run/netns/vt-\(tb.name)-\($0)") }, period: period)
    }

    init(cluster: String, nodes: [(String, String)], period: Duration) {
        self.cluster = cluster
        self.period = period
        var map: [UInt64: String] = [:]
        for (node, path) in nodes {
            var st = stat()
            if stat(path, &st) == 0 { map[UInt64(st.st_ino)] = node }
        }
        namespaces = map
        started = clock.now
        let t = Thread { [self] in loop() }
        t.name = "process-sampler"
        thread = t
        t.start()
    }

    var violations: [Violation] { state.withLock { $0.violations } }
    var samples: Int { state.withLock { $0.samples } }
    /// The longest time between two samples so far (the 5 ms promise under load).
    var maxGap: Duration { state.withLock { $0.maxGap } }
    /// Where each group ran at the last sample (groups running nowhere are absent).
    var holders: [String: Set<String>] { state.withLock { $0.last.mapValues { Set($0.keys) } } }
    func holders(of group: String) -> Set<String> { Set(state.withLock { $0.last[group]?.keys.map { $0 } ?? [] }) }
    /// The group's resource PIDs at the last sample, on every node.
    func pids(of group: String) -> [Int32] { state.withLock { ($0.last[group] ?? [:]).values.flatMap { $0 }.sorted() } }

    /// Stops sampling (bounded wait for the thread).
    func stop() {
        state.withLock { $0.stop = true }
        for _ in 0..<400 where thread?.isFinished == false { usleep(5000) }
    }

    /// One line for the test output.
    var summary: String {
        state.withLock { "sampler: \($0.samples) samples, longest gap \($0.maxGap), \($0.violations.count) violations" }
    }

    private func loop() {
        var last = clock.now
        while !state.withLock({ $0.stop }) {
            let found = sample()
            let now = clock.now
            state.withLock { st in
                st.samples += 1
                st.maxGap = max(st.maxGap, now - last)
                st.last = found
                // One record per episode: when a group becomes active on two or more nodes, or on another such set.
                for (group, nodes) in found where nodes.count > 1 && st.ongoing[group] != Set(nodes.keys) {
                    let v = Violation(group: group, nodes: nodes, at: now - started)
                    st.violations.append(v)
                    FileHandle.standardError.write(Data("ProcessSampler: VIOLATION \(v)\n".utf8))
                }
                st.ongoing = found.filter { $0.value.count > 1 }.mapValues { Set($0.keys) }
            }
            last = now
            let elapsed = clock.now - now
            if elapsed < period { usleep(UInt32((period - elapsed).nanoseconds / 1000)) }
        }
    }

    /// group -> node -> PIDs, from /proc.
    func sample() -> [String: [String: [Int32]]] {
        var out: [String: [String: [Int32]]] = [:]
        guard let dir = opendir("/proc") else { return out }
        defer { closedir(dir) }
        let prefix = Array("vigil-res:\(cluster):".utf8)
        var link = [CChar](repeating: 0, count: 64)
        var buf = [UInt8](repeating: 0, count: 512)
        while let entry = readdir(dir) {
            let pid: Int32? = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { Int32(String(cString: $0)) }
            }
            guard let pid else { continue }
            let n = readlink("/proc/\(pid)/ns/net", &link, link.count - 1)
            guard n > 0 else { continue }
            link[n] = 0
            // "net:[4026532291]"
            let text = String(cString: link)
            guard text.hasPrefix("net:["), let ino = UInt64(text.dropFirst(5).dropLast()), let node = namespaces[ino] else { continue }
            guard let cmd = Self.read("/proc/\(pid)/cmdline", &buf), cmd.count > prefix.count,
                Array(cmd.prefix(prefix.count)) == prefix
            else { continue }
            let rest = cmd.dropFirst(prefix.count)
            let group = String(decoding: rest.prefix { $0 != 0 }, as: UTF8.self)
            guard Self.alive(pid) else { continue }
            out[group, default: [:]][node, default: []].append(pid)
        }
        return out
    }

    static func read(_ path: String, _ buf: inout [UInt8]) -> ArraySlice<UInt8>? {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        let n = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        return n > 0 ? buf[0..<n] : nil
    }

    /// Alive: the process exists and is neither a zombie nor dead (a stopped process is alive).
    static func alive(_ pid: Int32) -> Bool {
        var buf = [UInt8](repeating: 0, count: 512)
        guard let stat = read("/proc/\(pid)/stat", &buf), let close = stat.lastIndex(of: UInt8(ascii: ")")),
            close + 2 < stat.endIndex
        else { return false }
        let state = stat[close + 2]
        return state != UInt8(ascii: "Z") && state != UInt8(ascii: "X")
    }
}
