/// The documented `vigil status --json` object (see docs/status.md). Produced by the core, enriched by the agent.
public struct StatusReport: Codable, Sendable, Hashable {
    /// One heartbeat link to a node.
    public struct Link: Codable, Sendable, Hashable {
        public var address: String
        /// "up", "down", or "local" for this node's own addresses.
        public var state: String
        /// Milliseconds since the last authenticated packet on this link (nil: never).
        public var lastHeardMs: Double?
        /// The network interface of this link (`interfaces` in cluster.conf, Heartbeat's media lines), if known.
        public var interface: String?

        enum CodingKeys: String, CodingKey {
            case address, state, interface
            case lastHeardMs = "last_heard_ms"
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(address, forKey: .address)
            try c.encode(state, forKey: .state)
            try c.encode(lastHeardMs, forKey: .lastHeardMs)  // explicit null when never heard
            try c.encode(interface, forKey: .interface)
        }
    }

    /// One configured node as this node sees it.
    public struct Node: Codable, Sendable, Hashable {
        public var name: String
        /// alive | suspect | dead | left | unknown
        public var state: String
        public var votes: Int
        public var incarnation: UInt64?
        public var isSelf: Bool
        public var links: [Link]
        /// How many ping nodes it reaches, as last reported (nil: no ping nodes, or not measured yet).
        public var pingNodesReachable: Int? = nil
        /// Its reports carry another group configuration than this node's (nil: this node, or not heard yet):
        /// its reports and assignments are ignored until cluster.conf matches.
        public var configDiffers: Bool? = nil
        /// It reports standby (`vigil standby`, or a controlled stop in progress); nil: not heard yet.
        public var standby: Bool? = nil

        enum CodingKeys: String, CodingKey {
            case name, state, votes, incarnation, links, standby
            case isSelf = "self"
            case pingNodesReachable = "ping_nodes_reachable"
            case configDiffers = "config_differs"
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(name, forKey: .name)
            try c.encode(state, forKey: .state)
            try c.encode(votes, forKey: .votes)
            try c.encode(incarnation, forKey: .incarnation)
            try c.encode(isSelf, forKey: .isSelf)
            try c.encode(links, forKey: .links)
            try c.encode(pingNodesReachable, forKey: .pingNodesReachable)
            try c.encode(configDiffers, forKey: .configDiffers)
            try c.encode(standby, forKey: .standby)
        }
    }

    /// One ping node (Heartbeat's ping/ping_group) as this node's pinger sees it (filled by the agent).
    public struct PingNode: Codable, Sendable, Hashable {
        public var address: String
        /// A reply came within ping_deadtime.
        public var reachable: Bool
        public init(address: String, reachable: Bool) {
            self.address = address
            self.reachable = reachable
        }
    }

    /// Vote arithmetic behind `quorate`.
    public struct Quorum: Codable, Sendable, Hashable {
        public var votes: Int
        public var needed: Int
        public var total: Int
        public var policy: String
    }

    /// Facts about the agent process (filled by the agent, not the core).
    public struct Agent: Codable, Sendable, Hashable {
        public var pid: Int32
        public var version: String
        public var uptimeMs: Double
        public var realtime: Bool
        public var memoryLocked: Bool
        public var interval: String
        public var deadtime: String

        public init(
            pid: Int32, version: String, uptimeMs: Double, realtime: Bool, memoryLocked: Bool,
            interval: String, deadtime: String
        ) {
            self.pid = pid
            self.version = version
            self.uptimeMs = uptimeMs
            self.realtime = realtime
            self.memoryLocked = memoryLocked
            self.interval = interval
            self.deadtime = deadtime
        }

        enum CodingKeys: String, CodingKey {
            case pid, version, realtime, interval, deadtime
            case uptimeMs = "uptime_ms"
            case memoryLocked = "memory_locked"
        }
    }

    /// The version of this object's layout: 1 (docs/status.md). It grows only when a field changes meaning or
    /// goes away; new fields keep it.
    public static let currentSchemaVersion = 1

    /// A resource operation that failed on this node (filled by the agent: its last `FailureRecord.kept`).
    public struct Failure: Codable, Sendable, Hashable {
        /// Wall clock (CLOCK_REALTIME) nanoseconds since the Unix epoch.
        public var wallNs: Int64
        public var group: String
        /// The resource as written in the group.
        public var resource: String
        /// start, stop or status
        public var action: String
        /// exit code, timeout or signal
        public var reason: String

        public init(wallNs: Int64, group: String, resource: String, action: String, reason: String) {
            self.wallNs = wallNs
            self.group = group
            self.resource = resource
            self.action = action
            self.reason = reason
        }

        /// How many failures the agent keeps for status.
        public static let kept = 20

        enum CodingKeys: String, CodingKey {
            case group, resource, action, reason
            case wallNs = "wall_ns"
        }
    }

    /// `currentSchemaVersion` in every report an agent builds.
    public var schemaVersion: Int? = StatusReport.currentSchemaVersion
    public var cluster: String
    public var node: String
    public var incarnation: UInt64
    public var term: UInt64
    public var coordinator: String?
    /// follower | candidate | coordinator
    public var role: String
    public var quorate: Bool
    public var quorum: Quorum
    public var nodes: [Node]
    public var counters: PacketCounters
    public var agent: Agent?
    /// This node is in standby (by `vigil standby`, or shutting down).
    public var standby: Bool = false
    /// Why it is in standby, for people (nil when it is not).
    public var standbyReason: String?
    /// Every configured group as this node sees it.
    public var groups: [GroupStatus] = []
    /// The last live migration into this node: the vm agent's figures (wall, libvirt total and downtime, data, passes).
    public var lastMigration: String?
    /// Shared storage: devices, peers on disk, fencing (null without a `[storage]` table).
    public var storage: StorageStatus?
    /// This node's ping nodes (null without `ping_nodes`).
    public var pingNodes: [PingNode]?
    /// Why this node neither votes nor stands for election right now, for people (nil: it may): its election
    /// record was lost or restored (amnesia), or its own storage slot has not been read yet since it started.
    public var electionHold: String?
    /// The last resource operations that failed on this node, oldest first (nil in a report built by the core
    /// alone).
    public var recentFailures: [Failure]?

    public func node(_ name: String) -> Node? { nodes.first { $0.name == name } }

    enum CodingKeys: String, CodingKey {
        case cluster, node, incarnation, term, coordinator, role, quorate, quorum, nodes, counters, agent, standby, groups
        case standbyReason = "standby_reason"
        case lastMigration = "last_migration"
        case storage
        case pingNodes = "ping_nodes"
        case electionHold = "election_hold"
        case schemaVersion = "schema_version"
        case recentFailures = "recent_failures"
    }

    /// Every documented key is always present; absent values are `null`, never a missing key.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(schemaVersion, forKey: .schemaVersion)
        try c.encode(cluster, forKey: .cluster)
        try c.encode(node, forKey: .node)
        try c.encode(incarnation, forKey: .incarnation)
        try c.encode(term, forKey: .term)
        try c.encode(coordinator, forKey: .coordinator)
        try c.encode(role, forKey: .role)
        try c.encode(quorate, forKey: .quorate)
        try c.encode(quorum, forKey: .quorum)
        try c.encode(nodes, forKey: .nodes)
        try c.encode(counters, forKey: .counters)
        try c.encode(agent, forKey: .agent)
        try c.encode(standby, forKey: .standby)
        try c.encode(standbyReason, forKey: .standbyReason)
        try c.encode(groups, forKey: .groups)
        try c.encode(lastMigration, forKey: .lastMigration)
        try c.encode(storage, forKey: .storage)
        try c.encode(pingNodes, forKey: .pingNodes)
        try c.encode(electionHold, forKey: .electionHold)
        try c.encode(recentFailures ?? [], forKey: .recentFailures)
    }
}
