/// One resource group from cluster.conf: resources started left to right and stopped right to left,
/// always together on one node.
public struct GroupSpec: Hashable, Sendable {
    public var name: String
    /// The node the group prefers (first in line when placed, and where `auto_failback` returns it).
    public var home: String?
    public var resources: [ResourceSpec]
    /// Return the group to its home node when that node is back and eligible.
    public var autoFailback: Bool
    public var timeouts: OperationTimeouts
    /// Failures (of start or of a monitor) tolerated on one node before the group leaves it.
    public var maxRestarts: Int
    /// How often a running group's resources are checked with `status` (zero: never).
    public var monitorInterval: Duration
    /// A failed stop is tried again this many more times, 1 s apart, before the group is blocked
    /// (Heartbeat's haresources: 9, i.e. ten attempts).
    public var stopRetries: Int = 0
    /// Failures on a node are forgotten this long after the last one, as `vigil cleanup` would (zero: kept until
    /// a cleanup; Pacemaker's `failure-timeout`). A blocked group is never released by it.
    public var failureTimeout: Duration = .zero
    /// The timeouts cluster.conf sets for this group (the others are defaults, which an OCF agent's advised
    /// timeouts replace for its resource).
    public var timeoutsSet: Set<ResourceAction> = []

    /// The timeout of `action` on resource `index`: the group's if set in cluster.conf, else the resource's
    /// advised one (OCF meta-data), else the default.
    public func timeout(for action: ResourceAction, resource index: Int) -> Duration {
        if !timeoutsSet.contains(action), index < resources.count, let t = resources[index].advisedTimeouts[action] { return t }
        return timeouts.timeout(for: action)
    }

    public init(
        name: String, home: String? = nil, resources: [ResourceSpec], autoFailback: Bool = false,
        timeouts: OperationTimeouts = .init(), maxRestarts: Int = 2, monitorInterval: Duration = .seconds(10)
    ) {
        self.name = name
        self.home = home
        self.resources = resources
        self.autoFailback = autoFailback
        self.timeouts = timeouts
        self.maxRestarts = maxRestarts
        self.monitorInterval = monitorInterval
    }
}

/// How long each resource operation may take before its process group is killed and it counts as failed.
public struct OperationTimeouts: Hashable, Sendable {
    public var start: Duration
    public var stop: Duration
    public var status: Duration

    public init(start: Duration = .seconds(300), stop: Duration = .seconds(120), status: Duration = .seconds(30)) {
        self.start = start
        self.stop = stop
        self.status = status
    }

    public func timeout(for action: ResourceAction) -> Duration {
        switch action {
        case .start: start
        case .stop: stop
        case .status: status
        }
    }
}

/// What the cluster may assume about a node that vanished while it held groups.
public enum FencingPolicy: String, Hashable, Sendable, Codable {
    /// A vanished owner's groups wait (`blocked`) until the node is fenced. The default.
    case required
    /// Unsafe: a node that stopped answering is assumed to have stopped its groups; they are started
    /// elsewhere at once. Two nodes may run the same group if the "dead" node was only cut off.
    case none
}

/// What a node does with its groups when it loses quorum.
public enum NoQuorumPolicy: String, Hashable, Sendable, Codable {
    /// Stop every group (the majority may start them elsewhere). The default.
    case stop
    /// Leave them running, start nothing new. Only safe with fencing.
    case freeze
}
