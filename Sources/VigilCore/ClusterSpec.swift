/// One configured cluster member: its name, its votes, and one heartbeat address per link.
///
/// Link `i` of every node is the same LAN: node A's address `i` talks to node B's address `i`.
public struct NodeSpec: Hashable, Sendable, Codable {
    public var name: String
    public var addresses: [String]
    public var votes: Int

    public init(name: String, addresses: [String], votes: Int = 1) {
        self.name = name
        self.addresses = addresses
        self.votes = votes
    }
}

/// Heartbeat timing: how often to send, when a silent peer is late (warntime) and dead (deadtime),
/// and how long a freshly started node waits for its peers (initdead).
public struct TimingSpec: Hashable, Sendable {
    public var interval: Duration
    public var warntime: Duration
    public var deadtime: Duration
    public var initdead: Duration

    public init(interval: Duration, warntime: Duration, deadtime: Duration, initdead: Duration) {
        self.interval = interval
        self.warntime = warntime
        self.deadtime = deadtime
        self.initdead = initdead
    }

    /// Safe defaults: tolerant of load and loss; detection within 2 s.
    public static let safe = TimingSpec(
        interval: .milliseconds(100), warntime: .milliseconds(1000),
        deadtime: .milliseconds(2000), initdead: .seconds(10))
    /// The fast profile: 10 ms heartbeats, dead after 50 ms of silence. Needs realtime scheduling.
    public static let fast = TimingSpec(
        interval: .milliseconds(10), warntime: .milliseconds(30),
        deadtime: .milliseconds(50), initdead: .seconds(2))

    /// How long a candidate waits for votes before it gives up its candidacy and may stand again.
    public var electionTimeout: Duration { max(interval * 4, deadtime / 2) }
    /// Extra wait per rank before a node that is not first in line stands for election.
    public var standDelayPerRank: Duration { interval * 2 }
}

/// How heartbeats travel on each link.
public enum Transport: String, Hashable, Sendable, Codable {
    /// One copy to every peer's address on the link (the default; works on any routed or switched LAN).
    case unicast
    /// One copy to the link's multicast group; vote requests, grants and leaves stay unicast.
    case multicast
}

/// Whether a partition needs a strict majority of votes to act.
public enum QuorumPolicy: String, Hashable, Sendable, Codable {
    /// Quorum is a strict majority of all configured votes (the default, and the only safe choice without fencing).
    case majority
    /// Every partition considers itself quorate. Unsafe: two partitions may both elect a coordinator.
    case ignore
}

/// The whole cluster as the core sees it: pure data, produced by the config loader.
public struct ClusterSpec: Hashable, Sendable {
    public var name: String
    public var nodes: [NodeSpec]
    public var timing: TimingSpec
    public var quorum: QuorumPolicy
    public var transport: Transport
    /// Resource groups, in configuration order (the order also decides placement ties).
    public var groups: [GroupSpec]
    public var fencing: FencingPolicy
    public var noQuorum: NoQuorumPolicy
    /// Shared storage: disk heartbeat and poison-pill fencing (nil: none configured).
    public var storage: StorageSpec?

    public init(
        name: String, nodes: [NodeSpec], timing: TimingSpec, quorum: QuorumPolicy = .majority,
        transport: Transport = .unicast, groups: [GroupSpec] = [], fencing: FencingPolicy = .required,
        noQuorum: NoQuorumPolicy = .stop, storage: StorageSpec? = nil
    ) {
        self.storage = storage
        self.name = name
        self.nodes = nodes
        self.timing = timing
        self.quorum = quorum
        self.transport = transport
        self.groups = groups
        self.fencing = fencing
        self.noQuorum = noQuorum
    }

    public func group(named name: String) -> GroupSpec? { groups.first { $0.name == name } }

    /// A fingerprint of the group configuration, carried in every report: nodes whose group lists differ
    /// ignore each other's reports and assignments (and say so) instead of acting on mismatched indices.
    public var groupsDigest: UInt32 {
        fnv1a32(
            groups.map { g in
                "\(g.name)|\(g.home ?? "")|\(g.resources.map(\.description).joined(separator: " "))"
            }.joined(separator: "\n"))
    }

    /// Number of links (the most addresses any node has).
    public var linkCount: Int { nodes.map(\.addresses.count).max() ?? 0 }
    /// Sum of all configured votes.
    public var totalVotes: Int { nodes.reduce(0) { $0 + $1.votes } }
    /// Votes needed for quorum: a strict majority of all configured votes.
    public var quorumVotes: Int { totalVotes / 2 + 1 }

    public func node(named name: String) -> NodeSpec? { nodes.first { $0.name == name } }

    /// A 32-bit identifier of the cluster (FNV-1a of its name), carried in every packet.
    public var clusterID: UInt32 { fnv1a32(name) }
}

/// FNV-1a, 32 bit: a stable, dependency-free hash for identifiers on the wire.
public func fnv1a32(_ s: String) -> UInt32 {
    var h: UInt32 = 0x811c_9dc5
    for b in s.utf8 { h = (h ^ UInt32(b)) &* 0x0100_0193 }
    return h
}
