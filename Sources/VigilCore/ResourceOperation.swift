/// Why an operation runs: resource agents read it as VIGIL_REASON (the raw value), and it decides how the
/// operation is run (`fence` and some `quorum-lost` stops are hard) and what its result means.
public enum OperationReason: String, Hashable, Sendable, Codable, CaseIterable, CustomStringConvertible {
    /// The first start of a group assigned here.
    case start
    /// A start after a failure on this node (the monitor found it stopped, or a start failed).
    case restart
    /// A controlled move: a stop that hands over to the new owner (the `vm` agent leaves its guest running),
    /// or the new owner's start that takes over from the old one (the `vm` agent live-migrates).
    case handover
    /// The group is assigned elsewhere (no handover).
    case stop
    /// Is anything of the group running here? (at start, and to resolve a handover)
    case probe
    /// The periodic check of a running group.
    case monitor
    /// Undoing a failed start.
    case failedStart = "failed-start"
    /// This node lost quorum (`no_quorum = stop`).
    case quorumLost = "quorum-lost"
    /// This node is being fenced: stop hard and at once (e.g. destroy a VM).
    case fence
    /// The agent shuts down without working storage: it leaves nothing running.
    case shutdown
    /// The shell's check after a failed stop: does status now say stopped?
    case stopCheck = "stop-check"

    public var description: String { rawValue }
    /// Stops that end with the node fenced or without quorum (the others may start the group elsewhere), or
    /// leaving: a handed-over guest left running here must really stop.
    public var endsHandover: Bool { self == .fence || self == .quorumLost || self == .shutdown }
}

/// One resource-agent invocation the core asks the shell to run: `AGENT [args...] ACTION` with a timeout.
/// The shell runs it (in its own process group) and reports back with `ClusterNode.operationDone`.
public struct ResourceOperation: Hashable, Sendable, CustomStringConvertible {
    /// Unique within this agent run; `operationDone` quotes it.
    public var id: UInt64
    public var group: String
    public var resourceIndex: Int
    public var resource: ResourceSpec
    public var action: ResourceAction
    public var timeout: Duration
    /// Why (VIGIL_REASON).
    public var reason: OperationReason
    /// For a handover: the other side (the target of a stop, the source of a start).
    public var peer: String
    public var peerAddress: String
    /// A stop that must be hard and immediate (VIGIL_STOP=hard): this node is being fenced, or lost quorum in a
    /// cluster that fences by storage (its groups may start elsewhere after msgwait, so no graceful shutdown).
    public var hard = false
    /// OCF_RESOURCE_INSTANCE (`GroupSpec.ocfInstance`); empty for other agents.
    public var instance = ""
    /// The monitor interval, for OCF_RESKEY_CRM_meta_interval (zero for a probe and other operations).
    public var interval = Duration.zero

    public init(
        id: UInt64, group: String, resourceIndex: Int, resource: ResourceSpec, action: ResourceAction,
        timeout: Duration, reason: OperationReason, peer: String = "", peerAddress: String = "", hard: Bool = false,
        instance: String = "", interval: Duration = .zero
    ) {
        self.hard = hard
        self.instance = instance
        self.interval = interval
        self.id = id
        self.group = group
        self.resourceIndex = resourceIndex
        self.resource = resource
        self.action = action
        self.timeout = timeout
        self.reason = reason
        self.peer = peer
        self.peerAddress = peerAddress
    }

    /// The VIGIL_* variables specific to this operation (the shell adds the common ones).
    public var environment: [String: String] {
        var env = ["VIGIL_REASON": reason.rawValue]
        if hard { env["VIGIL_STOP"] = "hard" }
        if !peer.isEmpty {
            env["VIGIL_PEER"] = peer
            env["VIGIL_PEER_ADDRESS"] = peerAddress
        }
        if let name = resource.ocf {
            let o = OCF.environment(
                agent: name, parameters: resource.parameters, instance: instance.isEmpty ? "\(group)-\(name.type)" : instance,
                timeout: timeout, interval: interval)
            env.merge(o) { a, _ in a }
        }
        return env
    }

    public var description: String { "\(group)/\(resource) \(action.rawValue) (\(reason)\(peer.isEmpty ? "" : " \(peer)"))" }
}

/// The shell's verdict on a finished operation.
public enum OperationResult: Hashable, Sendable, Codable {
    /// start/stop: exit 0 within the timeout. status: running.
    case succeeded
    /// status only: the resource is stopped.
    case stopped
    /// A failure, with the reason for the log (exit code, timeout, signal, ...).
    case failed(String)
    /// start only: a failure another try on this node cannot fix (OCF exit codes 2 to 6: bad or missing
    /// parameters, not installed, no permission, not configured). The node is given up for the group at once.
    case failedHere(String)

    /// The reason of either failure (nil: it succeeded or said stopped).
    public var failure: String? {
        switch self {
        case let .failed(why), let .failedHere(why): why
        case .succeeded, .stopped: nil
        }
    }

    /// Interprets a runner outcome for `action` under the script's status convention. `probe`: the status call
    /// is the first look at a resource (an OCF agent not installed here then means not running).
    public init(action: ResourceAction, outcome: OperationOutcome, convention: StatusConvention, probe: Bool = false) {
        func why() -> String {
            if outcome.timedOut { return "timed out after \(outcome.duration.compactDescription)" }
            if let s = outcome.signal { return "killed by signal \(s)" }
            if convention == .ocf, let c = outcome.exitCode, let name = OCF.ExitCode(rawValue: c) {
                return
                    "exit code \(c), \(name)\(name == .runningPromoted || name == .failedPromoted ? " (promotable clones are not supported)" : "")"
            }
            return "exit code \(outcome.exitCode.map(String.init) ?? "?")"
        }
        switch action {
        case .start where convention == .ocf && !outcome.timedOut && outcome.signal == nil:
            let code = outcome.exitCode.flatMap(OCF.ExitCode.init(rawValue:))
            self = code == .success ? .succeeded : code?.isHardError == true ? .failedHere(why()) : .failed(why())
        case .status where convention == .ocf && probe && outcome.exitCode == OCF.ExitCode.notInstalled.rawValue && !outcome.timedOut:
            // Pacemaker's rule: what is not installed here cannot be running here. Only in a probe: a monitor or
            // the check after a failed stop that gets 5 (a tool the agent needs went missing) must not read a
            // resource that may still run as stopped.
            self = .stopped
        case .stop where convention == .ocf && !outcome.timedOut && outcome.signal == nil:
            // OCF: stopping what is not running succeeds; an agent that says "not running" (7) is stopped too.
            self = outcome.exitCode == 0 || outcome.exitCode == 7 ? .succeeded : .failed(why())
        case .start, .stop:
            self = outcome.succeeded ? .succeeded : .failed(why())
        case .status:
            switch outcome.status(convention) {
            case .running: self = .succeeded
            case .stopped: self = .stopped
            case .failed: self = .failed(why())
            }
        }
    }
}

/// How one group looks from this node, for `vigil status`.
public struct GroupStatus: Hashable, Sendable, Codable {
    public var name: String
    /// The node the coordinator assigned it to (nil: none).
    public var owner: String?
    /// running | starting | stopping | stopped | blocked | moving | unknown
    public var state: String
    /// A sentence for people: what the group waits for, or why it is where it is.
    public var reason: String
    /// Each node's phase for this group as last reported ("unknown" before its first report).
    public var nodes: [String: String]
    public var failures: [String: Int]
    public var epoch: UInt64
    public var preferred: String?
    public var home: String?
    /// On this node: how long ago a monitor last found every resource of the group running, since it last
    /// started or was found running here (nil: no such monitor yet).
    public var monitorPassedMsAgo: Double?
    /// On this node: in how many milliseconds its failures of the group expire (`failure_timeout`); nil when
    /// it has none, the group has no `failure_timeout`, or nothing can expire now (blocked, an operation runs).
    public var failuresExpireInMs: Double?

    enum CodingKeys: String, CodingKey {
        case name, owner, state, reason, nodes, failures, epoch, preferred, home
        case monitorPassedMsAgo = "monitor_passed_ms_ago"
        case failuresExpireInMs = "failures_expire_in_ms"
    }

    /// Every key is always present (null when empty), as everywhere in the status JSON.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(owner, forKey: .owner)
        try c.encode(state, forKey: .state)
        try c.encode(reason, forKey: .reason)
        try c.encode(nodes, forKey: .nodes)
        try c.encode(failures, forKey: .failures)
        try c.encode(epoch, forKey: .epoch)
        try c.encode(preferred, forKey: .preferred)
        try c.encode(home, forKey: .home)
        try c.encode(monitorPassedMsAgo, forKey: .monitorPassedMsAgo)
        try c.encode(failuresExpireInMs, forKey: .failuresExpireInMs)
    }
}
