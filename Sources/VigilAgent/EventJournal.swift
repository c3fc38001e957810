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

    public init(wallNs: Int64, monoNs: Int64, node: String, kind: String, text: String) {
        self.wallNs = wallNs
        self.monoNs = monoNs
        self.node = node
        self.kind = kind
        self.text = text
    }

    enum CodingKeys: String, CodingKey {
        case node, kind, text
        case wallNs = "wall_ns", monoNs = "mono_ns"
    }
}

/// The last `capacity` events of this agent, in memory (confined to the agent's event loop).
final class EventJournal {
    let node: String
    let capacity: Int
    private(set) var events: [JournalEvent] = []

    init(node: String, capacity: Int = 2000) {
        self.node = node
        self.capacity = capacity
    }

    func record(_ kind: String, _ text: String) {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        let wall = Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
        events.append(JournalEvent(wallNs: wall, monoNs: Monotonic.now().nanoseconds, node: node, kind: kind, text: text))
        if events.count > capacity { events.removeFirst(events.count - capacity) }
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
        case let .peerFenced(node): ("fencing", "\(node) fenced")
        case let .heartbeatDaemon(node):
            (
                "heartbeat",
                node.map { "Linux-HA Heartbeat heard on \($0): no group runs here" }
                    ?? "Linux-HA Heartbeat quiet: groups may run here again"
            )
        case .linkChanged, .packetsDropped: nil
        }
    }
}
