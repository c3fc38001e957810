/// What a message is for.
public enum MessageKind: UInt8, Sendable, CaseIterable {
    /// Periodic liveness beacon carrying the sender's view, term and coordinator.
    case heartbeat = 1
    /// The sender is leaving in a controlled way (SIGTERM, `vigil leave`): mark it `left` at once.
    case leave = 2
    /// The sender stands for coordinator in `term` and asks for the receiver's vote.
    case voteRequest = 3
    /// The sender grants its vote in `term` to `candidate`.
    case voteGrant = 4
    /// An administrative request (`AdminRequest` text in `request`, the sender's number in `requestNumber`)
    /// for the receiver to carry out.
    case request = 5
    /// The answer (`answer`) to the receiver's request number `requestNumber` (`request` repeats it).
    case requestReply = 6
}

/// A member's state as one node sees it.
public enum MemberState: UInt8, Sendable, Codable, CaseIterable, CustomStringConvertible {
    /// Never heard from since this node started (and still within initdead).
    case unknown = 0
    case alive = 1
    /// Heartbeats are later than warntime; still counted as a member.
    case suspect = 2
    /// Silent for deadtime (or never heard within initdead).
    case dead = 3
    /// Announced a controlled leave.
    case left = 4

    public var description: String {
        switch self {
        case .unknown: "unknown"
        case .alive: "alive"
        case .suspect: "suspect"
        case .dead: "dead"
        case .left: "left"
        }
    }

    /// Alive and suspect members count towards quorum.
    public var isMember: Bool { self == .alive || self == .suspect }
}

/// One entry of a sender's membership view.
public struct ViewEntry: Hashable, Sendable {
    public var node: String
    public var state: MemberState
    /// The incarnation of `node` the sender last heard (folded to 32 bits by `IncarnationEcho`; 0: never).
    /// A receiver accepts a packet as fresh only once it echoes the receiver's own current incarnation, so a
    /// recorded stream replayed after the receiver restarted proves nothing (docs/protocol.md).
    public var echo: UInt32
    public init(node: String, state: MemberState, echo: UInt32 = 0) { self.node = node; self.state = state; self.echo = echo }
}

/// The 32-bit echo of an incarnation carried in view entries (both halves folded, so clock-derived
/// incarnations of any resolution differ).
public enum IncarnationEcho {
    public static func of(_ incarnation: UInt64) -> UInt32 {
        let folded = UInt32(truncatingIfNeeded: incarnation ^ (incarnation >> 32))
        return incarnation == 0 ? 0 : folded == 0 ? 1 : folded
    }
}

/// A decoded, authenticated cluster message. The wire codec turns it into bytes and back.
public struct Message: Hashable, Sendable {
    public var kind: MessageKind
    public var clusterID: UInt32
    public var sender: String
    /// Identifies one run of the sender's agent; larger means newer.
    public var incarnation: UInt64
    /// Per (sender, destination, link) sequence number, starting at 1 for every incarnation.
    public var sequence: UInt64
    /// The link this copy was sent on; a copy received on another link is dropped.
    public var link: UInt8
    /// The node this copy is addressed to (empty: any node, for multicast).
    public var destination: String
    /// The sender's current coordinator term.
    public var term: UInt64
    /// Who the sender believes coordinates in `term` (empty if nobody).
    public var coordinator: String
    /// For vote requests and grants: the candidate.
    public var candidate: String
    /// Whether the sender is quorate in its own view.
    public var senderQuorate: Bool
    /// The sender's membership view.
    public var view: [ViewEntry]
    /// The sender's own standby flag and group phases (nil in packets from a node without groups support).
    public var report: NodeReport?
    /// The coordinator's placement decisions, one per group (empty from everyone else).
    public var assignments: [Assignment]
    /// For `.request`: the request to carry out (`.requestReply`: the request answered).
    public var request: AdminRequest?
    /// For `.request` and `.requestReply`: the number the request's origin gave it (0: no answer wanted).
    public var requestNumber: UInt64
    /// For `.requestReply`: the answer.
    public var answer: RequestAnswer?
    /// For `.leave`: the sender restarts (`vigil restart`) and leaves its groups running meanwhile; they stay
    /// assigned to it until it is back.
    public var restarting: Bool

    public init(
        kind: MessageKind, clusterID: UInt32, sender: String, incarnation: UInt64, sequence: UInt64,
        link: UInt8, destination: String, term: UInt64, coordinator: String, candidate: String = "",
        senderQuorate: Bool, view: [ViewEntry], report: NodeReport? = nil, assignments: [Assignment] = [],
        request: AdminRequest? = nil, requestNumber: UInt64 = 0, answer: RequestAnswer? = nil, restarting: Bool = false
    ) {
        self.restarting = restarting
        self.report = report
        self.assignments = assignments
        self.request = request
        self.requestNumber = requestNumber
        self.answer = answer
        self.kind = kind
        self.clusterID = clusterID
        self.sender = sender
        self.incarnation = incarnation
        self.sequence = sequence
        self.link = link
        self.destination = destination
        self.term = term
        self.coordinator = coordinator
        self.candidate = candidate
        self.senderQuorate = senderQuorate
        self.view = view
    }
}

/// Why an incoming packet was dropped. Every reason has its own counter.
public enum DropReason: String, Sendable, CaseIterable, Codable, Error {
    /// Shorter than the fixed header plus signature.
    case truncated
    /// Not a Vigil packet at all.
    case badMagic = "bad_magic"
    /// A protocol version this agent does not speak.
    case unknownVersion = "unknown_version"
    /// Another cluster's packet (cluster id differs).
    case wrongCluster = "wrong_cluster"
    /// HMAC-SHA256 did not verify under the cluster key.
    case badSignature = "bad_signature"
    /// Larger than the biggest packet an agent builds (checked before authentication).
    case oversize
    /// Authenticated, but the body does not parse.
    case malformed
    /// Sender is not a configured node, or is this node itself.
    case unknownSender = "unknown_sender"
    /// Addressed to another node, or sent on another link than it arrived on.
    case misdirected
    /// An older incarnation of the sender, or a sequence number older than the replay window.
    case replay
    /// A sequence number already seen in the replay window.
    case duplicate
    /// Authentic and new, but the sender has not yet heard this node's current incarnation (its view does not
    /// echo it): it may be a recording replayed after this node restarted. Counted, never logged as a warning:
    /// every peer's first packets after this node starts are of this kind.
    case unverified
    /// Authentic, but carries a term no election can reach (2^32 or more): refused so that epochs never wrap.
    case implausibleTerm = "implausible_term"
    /// A Linux-HA Heartbeat packet (ha_msg, `>>>` or `###` framing): a Heartbeat node runs on this LAN.
    /// The receiving node then runs no group while it keeps hearing them (the two stacks cannot see each other).
    case heartbeatPacket = "heartbeat_packet"
}
