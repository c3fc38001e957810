import Foundation
import VigilCore

/// One thing that happened on this node, for drills and post-mortems (`events` on the control socket).
public struct JournalEvent: Codable, Sendable, Hashable {
    /// Wall clock (CLOCK_REALTIME), nanoseconds since the Unix epoch: comparable across machines with NTP.
    public var wallNs: Int64
    /// CLOCK_MONOTONIC nanoseconds: exact between processes of one machine (the testbed).
    public var monoNs: Int64
    public var node: String
    /// member, quorum, coordinator, group, operation, migration, fencing, storage, request
    public var kind: String
    public var text: String
    /// The same, typed (absent for operation output lines and requests, and in journals of older agents).
    public var event: AgentEvent?

    public init(wallNs: Int64, monoNs: Int64, node: String, kind: String, text: String, event: AgentEvent? = nil) {
        self.wallNs = wallNs
        self.monoNs = monoNs
        self.node = node
        self.kind = kind
        self.text = text
        self.event = event
    }

    enum CodingKeys: String, CodingKey {
        case node, kind, text, event
        case wallNs = "wall_ns", monoNs = "mono_ns"
    }
}

/// The last `capacity` events of this agent, in memory (confined to the agent's event loop), and with an
/// events file every one of them appended to it as a JSON line (written with O_APPEND as it happens, so the
/// file holds them up to the agent's last moment).
final class EventJournal {
    let node: String
    let capacity: Int
    private(set) var events: [JournalEvent] = []
    private var fd: Int32 = -1
    private let encoder = JSONEncoder()

    init(node: String, capacity: Int = 2000) {
        self.node = node
        self.capacity = capacity
        encoder.outputFormatting = [.sortedKeys]
    }

    /// Appends every event from now on to `path` (created with mode 0600 if missing).
    func appendTo(path: String) throws {
        let f = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard f >= 0 else { throw AgentError("cannot open the events file \(path): \(String(cString: strerror(errno)))") }
        fd = f
    }

    func record(_ kind: String, _ text: String, _ event: AgentEvent? = nil) {
        let e = stamp(kind, text, event)
        events.append(e)
        if events.count > capacity { events.removeFirst(events.count - capacity) }
        append(e)
    }

    /// An agent event that has no journal line (start, stop requests, leave, exit, learned addresses,
    /// respawned programs): to the events file only.
    func persist(_ kind: String, _ text: String, _ event: AgentEvent) {
        guard fd >= 0 else { return }
        append(stamp(kind, text, event))
    }

    /// Records a core event: in the journal if it has a journal line (`describe`); link changes and drop
    /// reports, which have none, go to the events file only.
    func record(_ e: ClusterEvent) {
        if let (kind, text) = Self.describe(e) {
            record(kind, text, .cluster(e))
        } else if fd >= 0 {
            let kind: String
            switch e {
            case .linkChanged: kind = "link"
            case .packetsDropped: kind = "dropped"
            default: kind = "cluster"
            }
            append(stamp(kind, "", .cluster(e)))
        }
    }

    private func stamp(_ kind: String, _ text: String, _ event: AgentEvent?) -> JournalEvent {
        JournalEvent(wallNs: Self.wallNow(), monoNs: Monotonic.now().nanoseconds, node: node, kind: kind, text: text, event: event)
    }

    /// `wallNs` formatted by strftime's `format`, in UTC or the local time zone.
    static func wallTime(_ wallNs: Int64, _ format: String, utc: Bool) -> String {
        var t = time_t(wallNs / 1_000_000_000)
        var parts = tm()
        if utc { gmtime_r(&t, &parts) } else { localtime_r(&t, &parts) }
        var buf = [CChar](repeating: 0, count: 64)
        strftime(&buf, buf.count, format, &parts)
        return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// CLOCK_REALTIME in nanoseconds since the Unix epoch.
    static func wallNow() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    private func append(_ e: JournalEvent) {
        guard fd >= 0, var line = try? encoder.encode(e) else { return }
        line.append(0x0A)
        _ = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    /// The journal line for a core event (nil: not worth a line).
    static func describe(_ e: ClusterEvent) -> (String, String)? {
        switch e {
        case let .memberChanged(node, from, to): ("member", "\(node) \(from) -> \(to)")
        case let .quorumChanged(q): ("quorum", q ? "quorum gained" : "quorum lost")
        case let .coordinatorChanged(term, c):
            ("coordinator", c.map { "coordinator of term \(term) is \($0)" } ?? "no coordinator in term \(term)")
        case let .groupChanged(g, phase): ("group", "\(g) \(phase)")
        case let .standbyChanged(on): ("request", on ? "standby" : "unstandby")
        case let .storageChanged(d, health): ("storage", "device \(d) \(health.rawValue)")
        case let .fenced(reason): ("fencing", reason.map { "this node fenced: \($0)" } ?? "fence lifted")
        case let .peerFenced(node, _): ("fencing", "\(node) fenced")
        case let .heartbeatDaemon(node):
            (
                "heartbeat",
                node.map { "Linux-HA Heartbeat heard on \($0): no group runs here" }
                    ?? "Linux-HA Heartbeat quiet: groups may run here again"
            )
        case let .groupDisabled(g, off): ("group", off ? "\(g) disabled" : "\(g) enabled")
        case let .failuresExpired(g): ("group", "\(g) failures expired")
        case let .requestAnswered(request, from, answer): ("request", "\(request) (requested on \(from)): \(answer)")
        case .linkChanged, .packetsDropped: nil
        }
    }
}
