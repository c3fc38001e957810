/// Where a group stands on one node, as that node reports it in every heartbeat.
public enum GroupPhase: UInt8, Hashable, Sendable, Codable, CaseIterable, CustomStringConvertible {
    /// Not yet probed since the agent started: it may be running here.
    case unknown = 0
    case stopped = 1
    case starting = 2
    case running = 3
    case stopping = 4
    /// A stop failed: something may still run here, and only fencing (or an admin's `vigil cleanup`) clears it.
    case blocked = 5

    public var description: String {
        switch self {
        case .unknown: "unknown"
        case .stopped: "stopped"
        case .starting: "starting"
        case .running: "running"
        case .stopping: "stopping"
        case .blocked: "blocked"
        }
    }

    /// Whether any of the group's resources may be active on the node.
    public var mayBeActive: Bool { self != .stopped }
}

/// One group's line in a node's report.
public struct GroupReport: Hashable, Sendable {
    public var phase: GroupPhase
    /// The highest assignment epoch for this group the node has seen; its phase already reflects it.
    public var ackEpoch: UInt64
    /// Failures (failed starts, failed monitors) of this group on this node since the last cleanup.
    public var failures: UInt8
    /// The last stop was a handover stop (the resource agent may have left things running for the peer).
    public var handedOver: Bool

    public init(phase: GroupPhase, ackEpoch: UInt64 = 0, failures: UInt8 = 0, handedOver: Bool = false) {
        self.phase = phase
        self.ackEpoch = ackEpoch
        self.failures = failures
        self.handedOver = handedOver
    }
}

/// What a node says about itself in every heartbeat: standby, and each group's phase.
public struct NodeReport: Hashable, Sendable {
    /// `ClusterSpec.groupsDigest` of the sender's configuration.
    public var digest: UInt32
    public var standby: Bool
    /// Increases with every change of the report, so an older copy never overrides a newer one.
    public var version: UInt64
    /// One entry per configured group, in configuration order.
    public var groups: [GroupReport]
    /// How many of the configured ping nodes the sender reaches, plus one (0: no ping nodes, or not measured
    /// yet). Groups run only on nodes that reach as many as the best member does (Heartbeat's ipfail).
    public var connectivity: UInt8

    public init(digest: UInt32, standby: Bool, version: UInt64, groups: [GroupReport], connectivity: UInt8 = 0) {
        self.digest = digest
        self.standby = standby
        self.version = version
        self.groups = groups
        self.connectivity = connectivity
    }
}

/// The coordinator's decision for one group, carried in its heartbeats.
///
/// Epochs are `term << 32 | n`: every coordinator's epochs are above all of its predecessors', and a node acts
/// only on the highest epoch it has seen. `go` is set only once every other node has reported the group
/// stopped *after* seeing this epoch, so a start can never overlap a stop elsewhere.
public struct Assignment: Hashable, Sendable {
    /// The node that should run the group ("" : nobody).
    public var owner: String
    public var epoch: UInt64
    /// The owner may start: every other node has confirmed the group stopped.
    public var go: Bool
    /// For a controlled move: the node the group is handed over from ("" : none, a cold start).
    public var source: String
    /// A pin set by `vigil move` or `vigil takeover` ("" : none).
    public var preferred: String
    /// The owner is in standby but no other node can take the group: it stays where it is.
    public var stay: Bool
    /// `vigil disable`: the group runs nowhere until `vigil enable` (every node remembers it across restarts).
    public var disabled: Bool
    /// `vigil unmanage`: the cluster leaves the group alone (no monitor, start, stop or move) until `vigil manage`.
    public var unmanaged: Bool

    public init(
        owner: String, epoch: UInt64, go: Bool = false, source: String = "", preferred: String = "", stay: Bool = false,
        disabled: Bool = false, unmanaged: Bool = false
    ) {
        self.disabled = disabled
        self.unmanaged = unmanaged
        self.owner = owner
        self.epoch = epoch
        self.go = go
        self.source = source
        self.preferred = preferred
        self.stay = stay
    }
}

/// An administrative request travelling to the node that must carry it out (`vigil move` to the coordinator,
/// `vigil standby NODE` to NODE). One type from end to end: the CLI sends it to the control socket as JSON
/// (`Codable`), the agent hands it to the core, and a `.request` message carries it to the node that carries it
/// out (on the wire as its canonical text, `description`, which older agents read too).
public enum AdminRequest: Hashable, Sendable, Codable, CustomStringConvertible {
    case standby(node: String)
    case unstandby(node: String)
    /// Pin GROUP to NODE.
    case move(group: String, node: String)
    /// Remove GROUP's pin.
    case unmove(group: String)
    /// Pin groups to NODE: its home groups, or every group with `all`.
    case takeover(node: String, all: Bool)
    /// Stop GROUP everywhere and keep it stopped (remembered by every node across restarts).
    case disable(group: String)
    /// Let GROUP run again.
    case enable(group: String)
    /// Leave GROUP alone: no monitor, start, stop or move, wherever it runs.
    case unmanage(group: String)
    /// Manage GROUP again: probe it, then place it as usual.
    case manage(group: String)
    /// Forget GROUP's failures and a failed stop on NODE; probe it again.
    case cleanup(group: String, node: String)
    /// An administrator confirms NODE is down (powered off): its groups may start elsewhere without fencing.
    case confirmDown(node: String)

    public var description: String {
        switch self {
        case let .standby(n): "standby \(n)"
        case let .unstandby(n): "unstandby \(n)"
        case let .move(g, n): "move \(g) \(n)"
        case let .unmove(g): "unmove \(g)"
        case let .takeover(n, all): "takeover \(n) \(all ? "all" : "home")"
        case let .cleanup(g, n): "cleanup \(g) \(n)"
        case let .confirmDown(n): "confirm-down \(n)"
        case let .disable(g): "disable \(g)"
        case let .enable(g): "enable \(g)"
        case let .unmanage(g): "unmanage \(g)"
        case let .manage(g): "manage \(g)"
        }
    }

    /// Parses the canonical text (`description`) and nothing else: one space between words, `home` or `all`.
    public init?(text: String) {
        let w = text.split(separator: " ").map(String.init)
        let parsed: AdminRequest
        switch (w.first, w.count) {
        case ("standby", 2): parsed = .standby(node: w[1])
        case ("unstandby", 2): parsed = .unstandby(node: w[1])
        case ("move", 3): parsed = .move(group: w[1], node: w[2])
        case ("unmove", 2): parsed = .unmove(group: w[1])
        case ("takeover", 3) where w[2] == "all" || w[2] == "home": parsed = .takeover(node: w[1], all: w[2] == "all")
        case ("cleanup", 3): parsed = .cleanup(group: w[1], node: w[2])
        case ("confirm-down", 2): parsed = .confirmDown(node: w[1])
        case ("disable", 2): parsed = .disable(group: w[1])
        case ("enable", 2): parsed = .enable(group: w[1])
        case ("unmanage", 2): parsed = .unmanage(group: w[1])
        case ("manage", 2): parsed = .manage(group: w[1])
        default: return nil
        }
        guard parsed.description == text else { return nil }
        self = parsed
    }

    /// The request with an empty node (the CLI's "this node") filled in with `node`.
    public func completed(node me: String) -> AdminRequest {
        switch self {
        case let .standby(n) where n.isEmpty: .standby(node: me)
        case let .unstandby(n) where n.isEmpty: .unstandby(node: me)
        case let .takeover(n, all) where n.isEmpty: .takeover(node: me, all: all)
        case let .cleanup(g, n) where n.isEmpty: .cleanup(group: g, node: me)
        default: self
        }
    }

    /// `handledBy` of a request every node carries out (and the node it was made on forwards to every member).
    public static let everyNode = "*"

    /// The node that carries the request out: the named node for standby/cleanup, every node for confirm-down
    /// (`everyNode`: a coordinator change must not forget it), else the coordinator ("").
    public var handledBy: String {
        switch self {
        case let .standby(n), let .unstandby(n), let .cleanup(_, n): n
        case .confirmDown: Self.everyNode
        case .move, .unmove, .takeover, .disable, .enable, .unmanage, .manage: ""
        }
    }
}
