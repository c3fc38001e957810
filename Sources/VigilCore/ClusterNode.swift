/// One node of the cluster, composed of small machines: `Membership` (peers and failure detection),
/// `Election` (terms, votes, the coordinator), the shared storage (`StorageState`: disk heartbeat and fencing)
/// and the groups (`GroupsState`: this node's resources, and the coordinator's placement).
///
/// Pure: it owns no sockets, threads or clocks. The shell feeds it `Input`s through `step(_:now:)` with the
/// current `Instant` and executes the returned `Action`s in order. `nextWakeup()` tells the shell when the
/// next timer-driven event is due.
public struct ClusterNode: Sendable {
    /// This node's role in the election.
    public typealias Role = Election.Role

    typealias Peer = Membership.Peer

    struct DropLogState: Sendable {
        var lastLogged: Instant?
        var suppressed: Int = 0
    }

    /// The configuration; `Input.reconfigure` may change what does not change who runs what (see there).
    public internal(set) var spec: ClusterSpec
    public let me: String
    public let incarnation: UInt64
    public let started: Instant
    let myVotes: Int
    // Derived from `spec` once: these are consulted for every packet.
    let clusterID: UInt32
    let links: Int
    let myLinks: Int
    /// Peers, what they say, and what this node concludes of their silence (Membership.swift).
    var membership: Membership

    /// Terms, votes and the coordinator (Election.swift).
    var election: Election
    /// The election record changed during the current step: `Ready.persist` carries it.
    var persistDue = false
    /// Why this node stopped handling inputs (its record could not be persisted); nil while it runs.
    public internal(set) var halted: String?
    public internal(set) var quorate: Bool = false
    public internal(set) var counters = PacketCounters()
    public private(set) var leaving = false
    /// The leave announced a restart (`Input.restart`).
    public private(set) var restarting = false
    var lastHeartbeatSent: Instant?
    /// Per-link sequence numbers of multicast copies.
    var broadcastSequence: [UInt64]
    var dropLog: [DropReason: DropLogState] = [:]
    /// Resource groups: this node's execution state, peers' reports, the assignment table (Placement.swift).
    var groups: GroupsState
    /// Shared storage state (nil: no `[storage]` table).
    var storage: StorageState?
    /// The highest term an election may reach: epochs are `term << 32 | counter`, so a term of 2^32 or more
    /// would wrap them. Larger terms in packets are dropped, on disk ignored; nobody stands beyond it.
    public static let maxTerm: UInt64 = Election.maxTerm

    /// How long drop log lines for one reason are suppressed after one is written.
    public static let dropLogInterval: Duration = .seconds(10)

    public var term: UInt64 { election.term }
    /// The election record as it must be persisted.
    public var electionRecord: ElectionRecord { election.record }
    /// The coordinator of the current term as this node knows it ("" for none).
    public var coordinator: String { election.coordinator }
    public var role: Role { election.role }

    /// `previousIncarnation`: the incarnation of this node's previous run (0: none). With a record missing or
    /// older than that run, the node is amnesiac for a while (`amnesiaFloor`).
    public init(
        spec: ClusterSpec, me: String, incarnation: UInt64, now: Instant, persisted: ElectionRecord? = nil,
        standby: Bool = false, previousIncarnation: UInt64 = 0
    ) {
        precondition(spec.node(named: me) != nil, "\(me) is not a configured node")
        self.spec = spec
        self.me = me
        self.incarnation = incarnation
        self.started = now
        self.myVotes = spec.node(named: me)?.votes ?? 0
        self.clusterID = spec.clusterID
        self.links = spec.linkCount
        self.myLinks = spec.node(named: me)?.addresses.count ?? 0
        // The state directory was lost or restored: this node may have voted in terms it no longer knows.
        let amnesiac = previousIncarnation > 0 && (persisted?.writer ?? 0) < previousIncarnation
        election = Election(spec: spec, me: me, incarnation: incarnation, started: now, persisted: persisted, amnesiac: amnesiac)
        self.broadcastSequence = Array(repeating: 1, count: spec.linkCount)
        self.groups = GroupsState(groups: spec.groups.count, standby: standby)
        membership = Membership(spec: spec, me: me, started: now)
        if let s = spec.storage { storage = StorageState(devices: s.devices.count, now: now) }
        for (gi, g) in spec.groups.enumerated() { groups.local[gi].ackEpoch = election.record.acks?[g.name] ?? 0 }
        quorate = computeQuorate()
    }

    // MARK: - Queries

    /// The state of `node` in this node's view (this node itself is always alive).
    public func state(of node: String) -> MemberState {
        if node == me { return leaving ? .left : .alive }
        return membership.peers[node]?.state ?? .unknown
    }

    /// Members (alive or suspect), including this node, sorted by name.
    public var members: [String] { membership.members }

    public var isCoordinator: Bool { role == .coordinator }

    /// The earliest instant at which `tick` has work to do.
    /// Never earlier than `now`: an overdue heartbeat is due at `now`; other deadlines count only if after `now`.
    public func nextWakeup(after now: Instant) -> Instant {
        let t = spec.timing
        var next = max(now, (lastHeartbeatSent ?? now) + t.interval)
        func consider(_ i: Instant) { if i > now { next = min(next, i) } }
        for name in membership.peerNames {
            let p = membership.peers[name]!
            switch p.state {
            case .alive:
                if let h = p.lastHeard { consider(h + t.warntime); consider(h + t.deadtime) }
            case .suspect:
                if let h = p.lastHeard { consider(h + t.deadtime) }
            case .unknown:
                consider(started + t.initdead)
            case .dead, .left:
                break
            }
            for (i, up) in p.linkUp.enumerated() where up {
                if let h = p.linkLastHeard[i] { consider(h + t.deadtime) }
            }
            if p.state.isMember, let u = p.unusableSince { consider(u + t.warntime); consider(u + t.deadtime) }
        }
        if case let .candidate(_, since, _) = election.role { consider(since + candidacyTimeout) }
        if let standAt = standTime() { consider(standAt) }
        if let g = membership.graceEnd { consider(g) }
        if election.amnesiaFloor != nil { consider(started + amnesiaGrace) }
        if let m = nextGroupWakeup() { consider(m) }
        if let e = spec.groups.indices.compactMap(failureExpiry).min() { consider(e) }
        if groups.shuttingDown, !groups.leaveDecided, let d = groups.shutdownDeadline { consider(d) }
        if let s = nextStorageWakeup() { consider(s) }
        return next
    }

    // MARK: - Events

    /// A packet the shell could not decode or authenticate: count it and maybe log it.
    /// `source` is only evaluated when a log line is written.
    mutating func recordDrop(_ reason: DropReason, source: @autoclosure () -> String, now: Instant) -> [Action] {
        counters.received += 1
        var out: [Action] = []
        drop(reason, source: source, now: now, into: &out)
        return out
    }

    /// An authenticated, decoded message that arrived on local link `link`.
    /// `source` (the sender's address, for logs) is only evaluated when a log line is written.
    mutating func receive(_ msg: Message, onLink link: Int, source: @autoclosure () -> String, now: Instant) -> [Action] {
        counters.received += 1
        var out: [Action] = []
        guard !leaving else { return out }
        // (`step` noticed the time first: aging may mark the sender dead, and the copy of it taken below must
        // include that; a copy taken before and written back undid a death without an `alive` event.)
        guard msg.sender != me, var peer = membership.peers[msg.sender] else {
            drop(.unknownSender, source: source, now: now, into: &out)
            return out
        }
        guard msg.clusterID == clusterID else {
            drop(.wrongCluster, source: source, now: now, into: &out)
            return out
        }
        guard msg.term <= Self.maxTerm else {
            drop(.implausibleTerm, source: source, now: now, into: &out)
            return out
        }
        let broadcast = msg.destination.isEmpty
        guard msg.destination == me || (broadcast && spec.transport == .multicast), Int(msg.link) == link,
            link >= 0, link < links
        else {
            drop(.misdirected, source: source, now: now, into: &out)
            return out
        }
        if msg.incarnation < peer.incarnation {
            drop(.replay, source: source, now: now, into: &out)
            return out
        }
        let newIncarnation = msg.incarnation > peer.incarnation
        if newIncarnation {
            if peer.incarnation != 0 {
                out.append(.log(.notice, "\(msg.sender) restarted (new incarnation \(msg.incarnation))"))
                peer.incarnationHeardAt = now
                if coordinator == msg.sender {
                    setCoordinator("", now: now, into: &out, reason: "\(msg.sender) restarted")
                }
            }
            peer.incarnation = msg.incarnation
            peer.windows = Array(repeating: ReplayWindow(), count: links)
            peer.broadcastWindows = peer.windows
            // The old incarnation's report is history from here on, whether or not this packet is verified, but
            // not its evidence: an agent restart stops nothing, so what may have been active there still may be
            // (unknown) until the new incarnation's own report (version 1 and up) replaces this one.
            if !spec.groups.isEmpty {
                if var r = groups.reports[msg.sender] {
                    r.version = 0
                    r.groups = r.groups.map { g in
                        g.phase == .stopped && !g.handedOver ? g : GroupReport(phase: .unknown, failures: g.failures)
                    }
                    groups.reports[msg.sender] = r
                }
                groups.placementDue = true
            }
        }
        let verdict = broadcast ? peer.broadcastWindows[link].check(msg.sequence) : peer.windows[link].check(msg.sequence)
        switch verdict {
        case .accept: break
        case .duplicate:
            membership.peers[msg.sender] = peer
            drop(.duplicate, source: source, now: now, into: &out)
            return out
        case .tooOld:
            membership.peers[msg.sender] = peer
            drop(.replay, source: source, now: now, into: &out)
            return out
        }
        // Fresh only if the sender has heard this incarnation of this node: a stream recorded before this
        // node restarted (its replay windows are new) echoes an older incarnation and proves nothing. Its
        // incarnation is learned all the same, so this node's next heartbeats echo it.
        guard msg.view.contains(where: { $0.node == me && $0.echo == IncarnationEcho.of(incarnation) }) else {
            membership.peers[msg.sender] = peer
            counters.dropped[DropReason.unverified.rawValue, default: 0] += 1
            return out
        }
        counters.accepted += 1

        // A node that left comes back only with a new incarnation: a copy sent before its leave that
        // arrives after it (reordering, another link) must not revive it.
        if peer.state == .left, msg.kind != .leave, msg.incarnation <= peer.leftIncarnation {
            membership.peers[msg.sender] = peer
            return out
        }

        // Liveness: any authenticated, fresh message proves the sender and this link alive.
        let previous = peer.state
        let heard = membership.heard(msg, link: link, peer: &peer, now: now, hasGroups: !spec.groups.isEmpty, into: &out)
        election.noteTerm(msg.term)
        if heard.usabilityChanged { groups.placementDue = true }
        if heard.hearsAndQuorate, groups.confirmedDown.removeValue(forKey: msg.sender) != nil {
            out.append(.log(.notice, "\(msg.sender) is back: its confirm-down no longer holds (a later disappearance needs fencing again)"))
        }
        if msg.kind == .leave {
            peer.state = .left
            peer.leftIncarnation = msg.incarnation
            peer.restarting = msg.restarting
            for (i, up) in peer.linkUp.enumerated() where up {
                out.append(.event(.linkChanged(node: msg.sender, link: i, up: false)))
            }
            peer.linkUp = peer.linkUp.map { _ in false }
            membership.peers[msg.sender] = peer
            absorbGroups(msg, now: now, into: &out)
            if previous != .left {
                out.append(
                    .log(
                        .notice,
                        msg.restarting
                            ? "\(msg.sender) is restarting its agent (vigil restart): its groups stay there until it is back"
                            : "\(msg.sender) left the cluster (controlled leave)"))
                out.append(.event(.memberChanged(node: msg.sender, from: previous, to: .left)))
            }
            if coordinator == msg.sender { setCoordinator("", now: now, into: &out, reason: "\(msg.sender) left") }
            recomputeQuorum(now: now, into: &out)
            return out
        }
        if previous != .alive {
            peer.state = .alive
            peer.restarting = false
            let verb =
                switch previous {
                case .unknown: "joined"
                case .dead: "is back"
                case .left: "rejoined"
                default: "is alive again"
                }
            out.append(.log(previous == .suspect ? .info : .notice, "\(msg.sender) \(verb)"))
            out.append(.event(.memberChanged(node: msg.sender, from: previous, to: .alive)))
        }
        membership.peers[msg.sender] = peer
        recomputeQuorum(now: now, into: &out)
        absorbGroups(msg, now: now, into: &out)

        switch msg.kind {
        case .voteRequest:
            handleVoteRequest(from: msg.sender, term: msg.term, now: now, into: &out)
        case .voteGrant:
            // A grant for our own candidacy does not make us adopt its term: that happens only on winning.
            if case let .candidate(t, _, _) = role, t == msg.term, msg.candidate == me {
            } else {
                adoptTermIfNewer(msg, now: now, into: &out)
            }
            handleVoteGrant(from: msg.sender, term: msg.term, candidate: msg.candidate, now: now, into: &out)
        case .heartbeat, .leave:
            adoptTermIfNewer(msg, now: now, into: &out)
            if msg.sender == coordinator, msg.term == term, msg.coordinator != msg.sender {
                // Our coordinator says it no longer coordinates (it lost quorum in its own view).
                setCoordinator("", now: now, into: &out, reason: "\(msg.sender) stepped down")
            }
            learnCoordinator(from: msg, now: now, into: &out)
        case .request:
            if let r = msg.request {
                out.append(.log(.info, "request from \(msg.sender): \(r)"))
                handle(r, number: msg.requestNumber, from: msg.sender, now: now, into: &out)
            } else {
                out.append(.log(.warning, "request message from \(msg.sender) without a request"))
            }
        case .requestReply:
            // The answer to a request made here (sent on every link: the shell takes the first copy).
            if let a = msg.answer, msg.requestNumber != 0 { out.append(.answer(number: msg.requestNumber, a)) }
        }
        return out
    }

    /// Before acting on any event: age the peers and re-run the election step, so a node whose process was
    /// stopped (SIGSTOP, a stalled VM) sees the silence first and steps down, instead of acting as coordinator
    /// on messages that waited in its socket (found by the storage simulation, seed 1375).
    /// (Only when time jumped: more than an interval since peers were last aged; a tick does it otherwise.)
    mutating func noticeTime(now: Instant, into out: inout [Action]) {
        guard membership.lastAged.map({ now - $0 >= spec.timing.interval }) ?? true else { return }
        agePeers(now: now, into: &out)
        evaluate(now: now, into: &out)
    }

    /// Controlled leave: tell every peer on every link, twice (a lost packet must not cost a deadtime).
    /// `restarting`: the agent restarts (`vigil restart`) and leaves every group running here: the leave says
    /// so, and the others keep the groups assigned here until this node is back.
    mutating func leave(now: Instant, restarting: Bool = false) -> [Action] {
        var out: [Action] = []
        guard !leaving else { return out }
        self.restarting = restarting
        if role == .coordinator || coordinator == me {
            out.append(.log(.notice, "stepping down as coordinator of term \(term): leaving"))
        }
        election.role = .follower
        setCoordinator("", now: now, into: &out, reason: "this node is leaving")
        leaving = true
        out.append(.log(.notice, "leaving the cluster"))
        for _ in 0..<2 {
            for name in membership.peerNames {
                for link in 0..<linkCount(for: name) {
                    out.append(send(.leave, to: name, link: link, restarting: restarting))
                }
            }
        }
        // The leave goes on disk too (slot flag `leaving`, with what may still be active here): should every
        // leave packet be lost, the others still know this agent is gone, not hung (it disarmed its watchdog).
        if var st = storage, let s = spec.storage {
            st.counter += 1
            let slot = mySlot(st)
            for d in st.devices.indices {
                st.devices[d].pendingCounter = slot.counter
                out.append(.storageCycle(StorageCycle(device: d, slotIndex: myIndex, slot: slot, mailboxes: [], deadline: s.ioTimeout)))
            }
            storage = st
        }
        return out
    }

    // MARK: - Election (decided in Election.swift; here it gets its context, and its messages are built)

    /// Built for every election step (every packet): the tie-break and the votes are worked out once each.
    func electionContext(now: Instant) -> ElectionContext {
        let tieWinner = storage != nil && twoNodeTieWinner
        let votes = memberVotes()
        return ElectionContext(
            now: now, quorate: quorate, memberVotes: votes, totalVotes: spec.totalVotes,
            votesNeeded: votesNeeded(tieWinner: tieWinner, memberVotes: votes), diskTermFloor: highestDiskTerm,
            claimOnDiskFirst: tieWinner, ownSlotUnread: ownSlotUnread, candidacyTimeout: candidacyTimeout(tieWinner: tieWinner))
    }

    /// Passes the election's outputs on, in order, building its messages.
    mutating func emit(_ outputs: [ElectionOutput], now: Instant, into out: inout [Action]) {
        for o in outputs {
            switch o {
            case let .action(a):
                out.append(a)
            case .persist:
                persistDue = true
            case let .send(kind, .members, t, candidate, stamp):
                for name in membership.peerNames where membership.peers[name]!.state.isMember {
                    for link in 0..<linkCount(for: name) {
                        out.append(send(kind, to: name, link: link, term: t, candidate: candidate, stamp: stamp))
                    }
                }
            case let .send(kind, .node(name), t, candidate, stamp):
                for link in 0..<linkCount(for: name) {
                    out.append(send(kind, to: name, link: link, term: t, candidate: candidate, stamp: stamp))
                }
            case let .heartbeat(stamp):
                broadcastHeartbeat(now: now, stamp: stamp, into: &out)
            }
        }
    }

    mutating func setCoordinator(_ name: String, now: Instant, into out: inout [Action], reason: String) {
        var eo: [ElectionOutput] = []
        election.setCoordinator(name, reason: reason, into: &eo)
        emit(eo, now: now, into: &out)
    }

    mutating func adoptTermIfNewer(_ msg: Message, now: Instant, into out: inout [Action]) {
        var eo: [ElectionOutput] = []
        election.adoptTermIfNewer(msg, into: &eo)
        emit(eo, now: now, into: &out)
    }

    mutating func learnCoordinator(from msg: Message, now: Instant, into out: inout [Action]) {
        var eo: [ElectionOutput] = []
        election.learnCoordinator(from: msg, quorate: quorate, membership, into: &eo)
        emit(eo, now: now, into: &out)
    }

    mutating func handleVoteRequest(from candidate: String, term requested: UInt64, now: Instant, into out: inout [Action]) {
        var eo: [ElectionOutput] = []
        election.handleVoteRequest(from: candidate, term: requested, membership, electionContext(now: now), into: &eo)
        emit(eo, now: now, into: &out)
    }

    mutating func handleVoteGrant(from voter: String, term granted: UInt64, candidate: String, now: Instant, into out: inout [Action]) {
        var eo: [ElectionOutput] = []
        election.handleVoteGrant(from: voter, term: granted, candidate: candidate, electionContext(now: now), into: &eo)
        emit(eo, now: now, into: &out)
    }

    mutating func becomeCoordinator(term won: UInt64, now: Instant, into out: inout [Action]) {
        var eo: [ElectionOutput] = []
        election.becomeCoordinator(term: won, electionContext(now: now), into: &eo)
        emit(eo, now: now, into: &out)
    }

    /// The election step, after every event.
    mutating func evaluate(now: Instant, into out: inout [Action]) {
        guard !leaving else { return }
        var eo: [ElectionOutput] = []
        election.evaluate(membership, electionContext(now: now), into: &eo)
        emit(eo, now: now, into: &out)
    }

    var amnesiaGrace: Duration { election.amnesiaGrace(candidacyTimeout: candidacyTimeout) }
    public var amnesiaGraceDescription: String { amnesiaGrace.compactDescription }

    /// The term this node would stand for (nil: beyond `maxTerm`).
    var proposedTerm: UInt64? { election.proposedTerm(diskTermFloor: highestDiskTerm) }

    /// When this node will stand for election, if it is eligible now.
    func standTime() -> Instant? { election.standTime(membership, diskTermFloor: highestDiskTerm) }

    func fmt(_ d: Duration) -> String { Membership.ms(d) }
}

extension String {
    /// One decimal place, without Foundation.
    init(format1 v: Double) {
        let tenths = Int((v * 10).rounded())
        self = "\(tenths / 10).\(abs(tenths % 10))"
    }
}
