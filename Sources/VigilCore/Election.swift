/// The election (docs/protocol.md): Raft-style terms and one vote per term, persisted before it is granted.
/// A node stands only while it is quorate and sees no live coordinator; a candidate does not adopt its
/// proposed term until it has a quorum of votes; a voter refuses while it still sees a live coordinator.
///
/// It reads the rest of the node only through its arguments: the `Membership` (who is there and what they
/// claim) and an `ElectionContext` (quorum, the votes a win needs, the highest term on the shared storage, the
/// two-node tie-break). It returns `ElectionOutput`s; `ClusterNode` builds the messages.
public struct Election: Sendable {
    /// This node's role in the election.
    public enum Role: Hashable, Sendable, CustomStringConvertible {
        case follower
        case candidate(term: UInt64, since: Instant, votes: Set<String>)
        case coordinator

        public var description: String {
            switch self {
            case .follower: "follower"
            case .candidate: "candidate"
            case .coordinator: "coordinator"
            }
        }
    }

    /// The highest term an election may reach: epochs are `term << 32 | counter`, so a term of 2^32 or more
    /// would wrap them. Larger terms in packets are dropped, on disk ignored; nobody stands beyond it.
    public static let maxTerm: UInt64 = UInt64(UInt32.max) - 1

    let me: String
    let timing: TimingSpec
    let started: Instant
    /// Votes of every configured node.
    let votes: [String: Int]
    /// What must survive a restart (term, vote, acknowledged epochs): every change is persisted.
    public internal(set) var record: ElectionRecord
    public internal(set) var role: Role = .follower
    /// The coordinator of the current term as this node knows it ("" for none).
    public internal(set) var coordinator = ""
    /// A vote request held back while the old coordinator lived.
    var pendingRequest: (term: UInt64, candidate: String, since: Instant)?
    /// Non-nil while this node is amnesiac (its election record was lost or restored): the highest term any
    /// peer has shown since it started. It neither votes nor stands until the grace (`amnesiaGrace`) has
    /// passed: any candidacy it may have voted for before has won or timed out by then. Then it votes only in
    /// terms above the floor (recorded as voted, and persisted).
    var amnesiaFloor: UInt64?
    /// Since when this node could stand (quorate, no coordinator, grace over).
    var eligibleSince: Instant?
    /// The coordinator of a term, kept after it dies (the two-node tie-break names it).
    var termCoordinator: (term: UInt64, name: String) = (0, "")

    public var term: UInt64 { record.term }

    /// `amnesiac`: the record was lost or restored (see `amnesiaFloor`).
    init(spec: ClusterSpec, me: String, incarnation: UInt64, started: Instant, persisted: ElectionRecord?, amnesiac: Bool) {
        self.me = me
        timing = spec.timing
        self.started = started
        votes = Dictionary(spec.nodes.map { ($0.name, $0.votes) }, uniquingKeysWith: { a, _ in a })
        record = persisted ?? ElectionRecord()
        record.writer = incarnation
        if amnesiac { amnesiaFloor = 0 }
    }

    // MARK: - Queries

    /// Whether this node currently sees a live coordinator other than `except`: a member whose own latest
    /// message still claims the current term.
    func hasLiveCoordinator(except: String = "", _ membership: Membership) -> Bool {
        guard !coordinator.isEmpty, coordinator != except else { return false }
        if coordinator == me { return role == .coordinator }
        return membership.claims(coordinator, toCoordinate: term)
    }

    func voteWeight(_ voters: Set<String>) -> Int {
        voters.reduce(0) { $0 + (votes[$1] ?? 0) }
    }

    /// How long an amnesiac node abstains: longer than any candidacy that might have had its vote.
    func amnesiaGrace(candidacyTimeout: Duration) -> Duration { max(timing.deadtime, candidacyTimeout) * 2 }

    /// The term this node would stand for: above every term it adopted, voted in or read on disk (nil: that
    /// would pass `maxTerm`).
    func proposedTerm(diskTermFloor: UInt64) -> UInt64? {
        let highest = max(term, record.votedTerm, diskTermFloor)
        return highest < Self.maxTerm ? highest + 1 : nil
    }

    /// When this node will stand for election, if it is eligible now.
    func standTime(_ membership: Membership, diskTermFloor: UInt64) -> Instant? {
        guard let since = eligibleSince, role == .follower else { return nil }
        let rank = membership.members.firstIndex(of: me) ?? 0
        let proposed = proposedTerm(diskTermFloor: diskTermFloor) ?? Self.maxTerm
        // A deterministic per-node, per-term jitter keeps two nodes with different views from colliding forever.
        let jitter = Int(fnv1a32("\(me)/\(proposed)") % 3)
        return since + timing.standDelayPerRank * (rank * 2 + (rank == 0 ? 0 : jitter))
    }

    // MARK: - Changes

    mutating func setCoordinator(_ name: String, reason: String, into out: inout [ElectionOutput]) {
        guard name != coordinator else { return }
        let old = coordinator
        coordinator = name
        if !name.isEmpty { termCoordinator = (term, name) }
        if name.isEmpty {
            out.append(.action(.log(.notice, "no coordinator in term \(term) (was \(old)): \(reason)")))
        } else {
            out.append(.action(.log(.notice, "coordinator of term \(term) is \(name)\(name == me ? " (this node)" : "")")))
        }
        out.append(.action(.event(.coordinatorChanged(term: term, coordinator: name.isEmpty ? nil : name))))
    }

    /// Adopt a newer term from any message except a vote request (those go through the voting rules).
    mutating func adoptTermIfNewer(_ msg: Message, into out: inout [ElectionOutput]) {
        guard msg.term > term else { return }
        adoptTerm(msg.term, because: "\(msg.sender) is in term \(msg.term)", into: &out)
    }

    mutating func adoptTerm(_ newTerm: UInt64, because: String, into out: inout [ElectionOutput]) {
        if role == .coordinator {
            out.append(.action(.log(.warning, "stepping down as coordinator of term \(term): \(because)")))
        }
        if case let .candidate(t, _, _) = role, t >= newTerm {
            // Still a candidate for a later term; keep going.
        } else {
            role = .follower
        }
        record.term = newTerm
        let old = coordinator
        coordinator = ""
        if !old.isEmpty {
            out.append(.action(.event(.coordinatorChanged(term: newTerm, coordinator: nil))))
        }
        out.append(.persist(record))
    }

    /// Learn who coordinates the sender's term, from the coordinator itself or from a follower's report.
    mutating func learnCoordinator(from msg: Message, quorate: Bool, _ membership: Membership, into out: inout [ElectionOutput]) {
        guard msg.term == term, !msg.coordinator.isEmpty, coordinator.isEmpty, quorate else { return }
        if msg.coordinator == me {
            return  // a stale report of our own reign; our role is authoritative
        }
        // Hearsay counts only while the named node's own latest message still claims this term.
        guard membership.claims(msg.coordinator, toCoordinate: term) else { return }
        if role == .coordinator {
            out.append(.action(.log(.error, "\(msg.coordinator) claims term \(term), which this node coordinates")))
            return
        }
        if case let .candidate(t, _, _) = role {
            out.append(.action(.log(.info, "abandoning candidacy for term \(t): \(msg.coordinator) coordinates term \(term)")))
            role = .follower
        }
        setCoordinator(msg.coordinator, reason: "", into: &out)
    }

    /// A term a peer showed (an amnesiac node counts it as voted once its grace ends).
    mutating func noteTerm(_ t: UInt64) {
        if let f = amnesiaFloor { amnesiaFloor = max(f, t) }
    }

    /// This node's own slot from before this start shows `t`, above the record's vote: it may have voted in
    /// it, so it counts as voted (for nobody known).
    mutating func countAsVoted(_ t: UInt64, into out: inout [ElectionOutput]) {
        record.votedTerm = t
        record.votedFor = ""
        out.append(.persist(record))
    }

    /// Ends amnesia once its grace has passed: every term a peer showed meanwhile counts as voted.
    mutating func endAmnesia(_ ctx: ElectionContext, into out: inout [ElectionOutput]) {
        guard let seen = amnesiaFloor, ctx.now - started >= amnesiaGrace(candidacyTimeout: ctx.candidacyTimeout) else { return }
        amnesiaFloor = nil
        let floor = max(seen, ctx.diskTermFloor)
        if floor > record.votedTerm {
            record.votedTerm = floor
            record.votedFor = ""
        }
        out.append(.persist(record))
        out.append(
            .action(
                .log(
                    .notice,
                    "election record restored or lost before this start: voted in no term up to \(floor) since (the highest a peer showed)")
            ))
    }

    mutating func handleVoteRequest(
        from candidate: String, term requested: UInt64, _ membership: Membership,
        _ ctx: ElectionContext, into out: inout [ElectionOutput]
    ) {
        if amnesiaFloor != nil || ctx.ownSlotUnread { return }  // the candidate times out and stands again
        guard requested >= term, requested > record.votedTerm || record.votedFor == candidate else {
            return  // an old or already-decided term: no answer; the candidate times out
        }
        if hasLiveCoordinator(except: candidate, membership) || !ctx.quorate {
            // Sticky: keep following the live coordinator; answer later if it dies.
            pendingRequest = (requested, candidate, ctx.now)
            return
        }
        grantVote(to: candidate, term: requested, into: &out)
    }

    mutating func grantVote(to candidate: String, term requested: UInt64, into out: inout [ElectionOutput]) {
        pendingRequest = nil
        if requested > term {
            adoptTerm(requested, because: "\(candidate) stands in term \(requested)", into: &out)
        }
        record.votedTerm = requested
        record.votedFor = candidate
        out.append(.persist(record))
        out.append(.action(.log(.info, "voting for \(candidate) in term \(requested)")))
        out.append(.send(.voteGrant, to: .node(candidate), term: requested, candidate: candidate, stamp))
    }

    mutating func handleVoteGrant(
        from voter: String, term granted: UInt64, candidate: String, _ ctx: ElectionContext,
        into out: inout [ElectionOutput]
    ) {
        guard case .candidate(let t, let since, var votes) = role, t == granted, candidate == me else { return }
        votes.insert(voter)
        role = .candidate(term: t, since: since, votes: votes)
        if voteWeight(votes) >= ctx.votesNeeded { becomeCoordinator(term: t, ctx, into: &out) }
    }

    mutating func becomeCoordinator(term won: UInt64, _ ctx: ElectionContext, into out: inout [ElectionOutput]) {
        record.term = won
        role = .coordinator
        out.append(.persist(record))
        coordinator = ""
        setCoordinator(me, reason: "", into: &out)
        out.append(.action(.log(.notice, "elected coordinator of term \(won) with \(ctx.memberVotes) of \(ctx.totalVotes) votes present")))
        out.append(.heartbeat(stamp))
    }

    /// Step down (quorum lost, leaving): a follower without a coordinator.
    mutating func stepDown(reason: String, into out: inout [ElectionOutput]) {
        role = .follower
        eligibleSince = nil
        setCoordinator("", reason: reason, into: &out)
    }

    /// The election step, after every event: give up a dead coordinator, answer a held-back vote, time out a
    /// candidacy, and stand when eligible.
    mutating func evaluate(_ membership: Membership, _ ctx: ElectionContext, into out: inout [ElectionOutput]) {
        endAmnesia(ctx, into: &out)
        if !ctx.quorate {
            if role == .coordinator {
                out.append(.action(.log(.warning, "stepping down as coordinator of term \(term): quorum lost")))
            }
            stepDown(reason: "no quorum", into: &out)
            return
        }
        if !coordinator.isEmpty, !hasLiveCoordinator(membership) {
            setCoordinator("", reason: "\(coordinator) is \(membership.state(of: coordinator))", into: &out)
        }
        // A vote we held back while the old coordinator lived.
        if let pending = pendingRequest {
            // A held-back request expires with its candidacy (the candidate has timed out by then).
            if pending.term < term || (pending.term <= record.votedTerm && record.votedFor != pending.candidate)
                || !(membership.peers[pending.candidate]?.state.isMember ?? false) || ctx.now - pending.since > timing.electionTimeout
            {
                pendingRequest = nil
            } else if !ctx.ownSlotUnread, !hasLiveCoordinator(except: pending.candidate, membership) {
                grantVote(to: pending.candidate, term: pending.term, into: &out)
            }
        }
        if case let .candidate(t, since, _) = role, ctx.now - since >= ctx.candidacyTimeout {
            out.append(.action(.log(.info, "election for term \(t) timed out")))
            role = .follower
            eligibleSince = ctx.now
        }
        guard role == .follower, coordinator.isEmpty else {
            eligibleSince = nil
            return
        }
        if let g = membership.graceEnd, ctx.now < g {
            eligibleSince = nil
            return
        }
        if amnesiaFloor != nil || ctx.ownSlotUnread {
            eligibleSince = nil
            return
        }
        if eligibleSince == nil { eligibleSince = ctx.now }
        if let at = standTime(membership, diskTermFloor: ctx.diskTermFloor), ctx.now >= at { stand(ctx, into: &out) }
    }

    mutating func stand(_ ctx: ElectionContext, into out: inout [ElectionOutput]) {
        guard let proposed = proposedTerm(diskTermFloor: ctx.diskTermFloor) else {
            eligibleSince = nil
            out.append(
                .action(
                    .log(
                        .error, "cannot stand for election: term \(Self.maxTerm) reached (terms beyond it would wrap the assignment epochs)"
                    )))
            return
        }
        eligibleSince = nil
        record.votedTerm = proposed
        record.votedFor = me
        role = .candidate(term: proposed, since: ctx.now, votes: [me])
        out.append(.persist(record))
        out.append(.action(.log(.info, "standing for coordinator in term \(proposed)")))
        if voteWeight([me]) >= ctx.votesNeeded {
            // A lone two-node tie-break winner claims the term on disk first (the storage cycle that reads the
            // claim back finishes it): the other node, which cannot hear it, must never pick the same term.
            if ctx.claimOnDiskFirst {
                out.append(.action(.log(.info, "two-node tie-break: claiming term \(proposed) on the shared storage first")))
                return
            }
            becomeCoordinator(term: proposed, ctx, into: &out)
            return
        }
        out.append(.send(.voteRequest, to: .members, term: proposed, candidate: me, stamp))
    }

    /// What a message sent now says of this node's election state.
    var stamp: ElectionStamp { ElectionStamp(term: term, coordinator: coordinator, isCoordinator: role == .coordinator) }
}

/// What the election reads from the rest of the node, computed by `ClusterNode` for each call.
struct ElectionContext {
    var now: Instant
    var quorate: Bool
    /// Votes of this node and of the members that count it.
    var memberVotes: Int
    var totalVotes: Int
    /// Votes a candidate needs to win.
    var votesNeeded: Int
    /// The highest term any peer's storage slot showed: a node stands above it.
    var diskTermFloor: UInt64
    /// This node wins alone by the two-node tie-break: it claims its term on disk before it coordinates.
    var claimOnDiskFirst: Bool
    /// With shared storage, this node has not yet read its own slot on a majority of devices since it started:
    /// it neither votes nor stands. Its slot remembers the terms of its last run, which an election record
    /// restored from an older copy of the same run has forgotten (and the writer check cannot tell).
    var ownSlotUnread: Bool
    var candidacyTimeout: Duration
}

/// The election state a message carries, taken when the election decided to send it.
struct ElectionStamp: Sendable {
    var term: UInt64
    var coordinator: String
    var isCoordinator: Bool
}

/// What the election asks of the node, in order.
enum ElectionOutput: Sendable {
    enum Recipients: Sendable {
        /// Every member, on every link.
        case members
        /// One node, on every link.
        case node(String)
    }

    /// A core action (log, event) to pass on as it is.
    case action(Action)
    /// The record changed: it must be durable before anything this step sends (the record as it is then).
    case persist(ElectionRecord)
    /// A vote request or grant (`term` and `candidate` as the message carries them).
    case send(MessageKind, to: Recipients, term: UInt64, candidate: String, ElectionStamp)
    /// A heartbeat to every peer now (a new coordinator announces itself).
    case heartbeat(ElectionStamp)
}
