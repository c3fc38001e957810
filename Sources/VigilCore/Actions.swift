/// Severity of a log line the core asks the shell to write.
public enum LogLevel: String, Sendable, Codable, Comparable {
    case debug, info, notice, warning, error

    private var rank: Int {
        switch self {
        case .debug: 0
        case .info: 1
        case .notice: 2
        case .warning: 3
        case .error: 4
        }
    }
    public static func < (a: LogLevel, b: LogLevel) -> Bool { a.rank < b.rank }
}

/// The part of the election state that must survive a restart (Raft's persistent state):
/// a node that forgot its vote could vote twice in one term.
public struct ElectionRecord: Hashable, Sendable, Codable {
    /// The highest term this node has adopted.
    public var term: UInt64
    /// The highest term in which this node has cast a vote.
    public var votedTerm: UInt64
    /// Whom it voted for in `votedTerm`.
    public var votedFor: String
    /// Per group name: the highest assignment epoch this node acknowledged. A restarted node reports it again,
    /// so a coordinator learns of assignments it never saw (the `missed` rule) even when this node was their
    /// only other witness. Absent in records written before it existed.
    public var acks: [String: UInt64]?
    /// The incarnation of the agent run that wrote it (every run writes it at start). A record older than the
    /// previous run, or none after a run, means the state directory was restored or lost: see `ClusterNode`'s
    /// amnesia rule. Absent in records written before it existed.
    public var writer: UInt64?

    public init(
        term: UInt64 = 0, votedTerm: UInt64 = 0, votedFor: String = "", acks: [String: UInt64]? = nil,
        writer: UInt64? = nil
    ) {
        self.term = term
        self.votedTerm = votedTerm
        self.votedFor = votedFor
        self.acks = acks
        self.writer = writer
    }
}

/// A change worth telling the outside world about (status line, event timeline, tests).
public enum ClusterEvent: Hashable, Sendable, Codable {
    case memberChanged(node: String, from: MemberState, to: MemberState)
    case linkChanged(node: String, link: Int, up: Bool)
    case quorumChanged(quorate: Bool)
    case coordinatorChanged(term: UInt64, coordinator: String?)
    /// A group reached a new phase on this node.
    case groupChanged(group: String, phase: GroupPhase)
    /// The group's failures on this node were forgotten: its `failure_timeout` passed since the last one.
    case failuresExpired(group: String)
    /// This node entered or left standby (the shell persists it).
    case standbyChanged(Bool)
    /// A shared storage device changed health.
    case storageChanged(device: Int, health: DeviceHealth)
    /// This node fenced itself (reason), or its fence was lifted (nil).
    case fenced(reason: String?)
    /// A vanished peer is now known to be fenced, and how that is known (its pill was acknowledged, its slot
    /// stood still, or msgwait passed).
    case peerFenced(node: String, proof: FenceProof)
    /// Dropped packets reported (at most once per `ClusterNode.dropLogInterval` and reason): `count` of them
    /// since the last report, this one included; `source` is where the one that triggered the report came from.
    case packetsDropped(reason: DropReason, count: Int, source: String)
    /// A Linux-HA Heartbeat daemon was heard on node `node` (this node runs no group meanwhile), or (nil) none
    /// for the hold time: this node may run groups again.
    case heartbeatDaemon(node: String?)
    /// A group was disabled (`vigil disable`) or enabled, as this node learned from an assignment (or decided as
    /// coordinator): the shell keeps the set of disabled groups in the state directory.
    case groupDisabled(group: String, Bool)
    /// This node answered an administrative request made on node `from` (this node, or a peer that forwarded it).
    case requestAnswered(request: AdminRequest, from: String, answer: RequestAnswer)
}

/// What one step of the core asks of its IO shell: first make `persist` durable (when set), then run
/// `actions` in order. Nothing in `actions` may run before the record is on disk: a vote, a term claim or an
/// acknowledged epoch that a message carries must survive a crash before anyone hears of it (etcd-raft's
/// `Ready`: HardState saved before Messages are sent). Several changes in one step are written once.
public struct Ready: Sendable {
    /// The election record as it must now be on disk (nil: unchanged by this step).
    public var persist: ElectionRecord?
    public var actions: [Action]

    public init(persist: ElectionRecord? = nil, actions: [Action] = []) {
        self.persist = persist
        self.actions = actions
    }
}

/// Why a shutting-down node leaves.
public enum LeaveCause: Hashable, Sendable, Codable, CustomStringConvertible {
    /// Every group is handed over (or may not move: no quorum, no peer, a failed stop).
    case handedOver
    /// `shutdown_timeout` passed with these groups not stopped here.
    case shutdownTimeout(notStopped: [String])

    public var description: String {
        switch self {
        case .handedOver: "groups handed over"
        case .shutdownTimeout: "shutdown timeout"
        }
    }
}

/// What the core asks its IO shell to do, in order (after `Ready.persist`).
public enum Action: Hashable, Sendable {
    /// Send `message` to node `to` on link `link` (`to` empty: to the link's multicast group).
    case send(Message, to: String, link: Int)
    case log(LogLevel, String)
    case event(ClusterEvent)
    /// Run a resource agent operation and report back with `ClusterNode.operationDone`.
    case runOperation(ResourceOperation)
    /// Run one storage cycle (read the slot area, write this node's slot and mailboxes) on the storage thread,
    /// and report back with `ClusterNode.storageCycleDone`.
    case storageCycle(StorageCycle)
    /// This node must fence itself: with `.reboot` the shell reboots the machine now; with `.stopResources`
    /// the core stops every group itself (reason `fence`) and the shell only records it.
    case selfFence(SelfFenceMode, reason: String)
    /// A controlled stop is done (or timed out): the shell leaves now (steps `.leave`, then exits).
    case leaveNow(LeaveCause)
    /// The request this node's shell made as number `number` (`Input.request`) got its answer: pass it to
    /// whoever waits for it (the control socket's client).
    case answer(number: UInt64, RequestAnswer)
    /// The election record could not be made durable: this node sends nothing more and handles nothing more;
    /// the shell exits with a failure (its supervisor restarts it from the record on disk).
    case halt(reason: String)
}
