/// Resource groups in the core: the node side (run operations to reach what the coordinator assigned,
/// report the phase of every group in every heartbeat) and the coordinator side (choose one owner per group,
/// let it start only once every other node has confirmed the group stopped).
///
/// Safety argument (docs/architecture.md): a node starts group G only on an assignment `(owner: me, go)` of
/// epoch e. The coordinator sets `go` only when every other member reported G `stopped` with ackEpoch >= e,
/// and every non-member either last reported G stopped or (with `fencing = none`) is assumed stopped. A node
/// that has seen epoch e for G never starts G under an epoch <= e unless that epoch names it, and epochs of a
/// newer coordinator are larger than every older one (`term << 32`).

/// One group's state on this node.
struct LocalGroup: Sendable {
    enum Sequence: Sendable, Equatable {
        case probe
        case start(reason: OperationReason, peer: String)
        case stop(reason: OperationReason, peer: String)
        case monitor
    }

    var phase: GroupPhase = .unknown
    var ackEpoch: UInt64 = 0
    var failures: UInt8 = 0
    /// The last stop here was a handover: what it stopped may still run here (a `vm` is left running for the
    /// target to migrate) until the handover is resolved. Counts as possibly active for every safety rule
    /// until a probe after the new owner reports it running says it is gone from here.
    var handedOver = false
    /// The assignment epoch at which a handed-over group was last probed for resolution (once per epoch).
    var handoverProbedAt: UInt64 = 0
    /// During a start: the group was handed over from here before it (a guest may still run here), so a failed
    /// start must stop every resource, not only those it started.
    var startedHandedOver = false
    var sequence: Sequence?
    /// Resource index of the operation in flight, and its id.
    var step = 0
    var inFlight: UInt64?
    /// During a probe or monitor: something was found running (probe) or not running (monitor).
    var found = false
    /// During a stop: a stop failed.
    var stopFailed = false
    var nextMonitor: Instant?
}

/// The group part of an outgoing message: this node's report, and the coordinator's assignments.
struct OutgoingGroups: Sendable {
    var report: NodeReport
    var assignments: [Assignment]
}

/// Everything the core keeps about groups.
struct GroupsState: Sendable {
    var local: [LocalGroup]
    /// The latest assignment seen for each group (from the coordinator; the coordinator's own decisions).
    var table: [Assignment?]
    /// The newest report of each peer (by report version, reset with its incarnation).
    var reports: [String: NodeReport] = [:]
    var standby = false
    /// When this node last heard a Linux-HA Heartbeat packet (nil: not within the hold time).
    var heartbeatHeardAt: Instant?
    /// How many ping nodes this node reaches, plus one (set by the shell's pinger; 0: no ping nodes, or not measured yet).
    var connectivity: UInt8 = 0
    /// The agent is shutting down: like standby, and it will leave once its groups are handed over.
    var shuttingDown = false
    var nextOperation: UInt64 = 1
    var nextEpochCounter: UInt64 = 1
    /// The coordinator's explanation of each group's placement, for status.
    var notes: [String]
    /// Report digests that did not match, logged once per peer incarnation.
    var mismatchLogged: Set<String> = []
    /// Dead holders assumed stopped under `fencing = none`, logged once per (node, group).
    var assumedStopped: Set<String> = []
    /// Per group, per node: the highest epoch known to have named that node owner. A vanished node's last
    /// "stopped" counts only if it had seen every assignment naming it.
    var lastNamed: [[String: UInt64]]
    /// Per group: the highest epoch a member acknowledged that this node never saw as an assignment (an
    /// intermediate coordinator's, while this node was cut off). Its owner is unknown, so a vanished node is
    /// safe only if its last report acknowledged at least this epoch.
    var missed: [UInt64]
    /// Nodes an administrator confirmed down (`vigil confirm-down`), with the incarnation they had then.
    var confirmedDown: [String: UInt64] = [:]
    /// The last report this node sent, to send a heartbeat at once when it changes.
    var lastSentReport: NodeReport?
    var lastSentTable: [Assignment?] = []
    /// Something placement depends on changed (a report, membership, quorum, the coordinator, this node's own
    /// groups, a request): the coordinator places again. Heartbeats that change nothing cost no placement pass.
    var placementDue = true

    init(groups: Int, standby: Bool) {
        local = Array(repeating: LocalGroup(), count: groups)
        table = Array(repeating: nil, count: groups)
        notes = Array(repeating: "", count: groups)
        lastNamed = Array(repeating: [:], count: groups)
        missed = Array(repeating: 0, count: groups)
        self.standby = standby
    }
}

extension ClusterNode {
    // MARK: - Public events and queries

    /// A resource operation finished (the shell ran what a `.runOperation` action asked for).
    mutating func operationDone(_ id: UInt64, result: OperationResult, now: Instant) -> [Action] {
        var out: [Action] = []
        guard let gi = groups.local.firstIndex(where: { $0.inFlight == id }) else { return out }
        noticeTime(now: now, into: &out)
        groups.local[gi].inFlight = nil
        groups.placementDue = true
        advance(group: gi, result: result, now: now, into: &out)
        afterGroupEvent(now: now, into: &out)
        return out
    }

    /// An administrative request, from this node's control socket or from a peer's `.request` message.
    mutating func handle(_ request: AdminRequest, from: String, now: Instant) -> [Action] {
        var out: [Action] = []
        noticeTime(now: now, into: &out)
        groups.placementDue = true
        let everyNode = request.handledBy == AdminRequest.everyNode
        let handler = everyNode ? me : request.handledBy.isEmpty ? (role == .coordinator ? me : coordinator) : request.handledBy
        if everyNode, from == me {
            // Every node keeps it (a coordinator change must not forget it): unicast to every member.
            for name in membership.peerNames where membership.peers[name]!.state.isMember {
                for link in 0..<linkCount(for: name) {
                    out.append(send(.request, to: name, link: link, request: request.description))
                }
            }
        }
        guard handler == me else {
            // For another node (or the coordinator): forward it, unicast on every link.
            if handler.isEmpty || membership.peers[handler] == nil {
                out.append(.log(.warning, "request \"\(request)\" dropped: no coordinator to carry it out"))
            } else if from == me {
                for link in 0..<linkCount(for: handler) {
                    out.append(send(.request, to: handler, link: link, request: request.description))
                }
            } else {
                out.append(.log(.warning, "request \"\(request)\" from \(from) ignored: it is for \(handler)"))
            }
            return out
        }
        switch request {
        case .standby, .unstandby:
            let on = if case .standby = request { true } else { false }
            if groups.standby != on {
                groups.standby = on
                let hold = groups.heartbeatHeardAt == nil ? ""
                    : " once it hears no more Linux-HA Heartbeat packets (for \(heartbeatHold.compactDescription))"
                out.append(.log(.notice, on ? "standby (requested by \(from)): handing this node's groups to peers"
                                            : "unstandby (requested by \(from)): this node may run groups again\(hold)"))
                out.append(.event(.standbyChanged(on)))
            }
        case let .cleanup(g, _):
            guard let gi = spec.groups.firstIndex(where: { $0.name == g }) else { break }
            groups.local[gi].failures = 0
            if groups.local[gi].phase == .blocked, groups.local[gi].sequence == nil {
                groups.local[gi].phase = .unknown  // probe again
            }
            out.append(.log(.notice, "cleanup of \(g) (requested by \(from)): failures forgotten, probing again"))
        case let .confirmDown(n):
            guard let p = membership.peers[n], !membership.isUsable(n) else {
                out.append(.log(.warning, "confirm-down \(n) refused: it is \(state(of: n)), not down"))
                break
            }
            if let ds = diskState(n), ds == "partitioned" {
                out.append(.log(.warning, "confirm-down \(n) refused: its storage slot is still being written, so it runs"))
                break
            }
            // Until it is heard again (usable) or restarts: a later disappearance needs fencing again.
            groups.confirmedDown[n] = p.incarnation
            out.append(.log(.warning, "\(n) confirmed down by \(from): its groups may start elsewhere"))
        case .move, .unmove, .takeover:
            applyPin(request, now: now, into: &out)
        }
        afterGroupEvent(now: now, into: &out)
        return out
    }

    /// Starts a controlled shutdown: standby, so the coordinator hands this node's groups to peers.
    /// The shell leaves once `readyToLeave` says so (or its own timeout passes).
    mutating func beginShutdown(now: Instant) -> [Action] {
        var out: [Action] = []
        guard !groups.shuttingDown else { return out }
        groups.shuttingDown = true
        out.append(.log(.notice, "shutting down: handing this node's groups to peers first"))
        afterGroupEvent(now: now, into: &out)
        return out
    }

    /// Whether a shutting-down node may leave now: nothing runs here any more, or what still runs may not move
    /// (no other node can take it, no quorum, no peer), or a stop failed.
    public var readyToLeave: Bool {
        if mustStopToLeave {
            return groups.local.allSatisfy { $0.sequence == nil && !$0.handedOver && ($0.phase == .stopped || $0.phase == .blocked) }
        }
        let stopsWithoutQuorum = !quorate && spec.noQuorum == .stop
        if !stopsWithoutQuorum, !quorate || membership.peerNames.allSatisfy({ !membership.peers[$0]!.state.isMember }) { return true }
        for (gi, g) in groups.local.enumerated() {
            if g.sequence != nil { return false }
            switch g.phase {
            case .stopped where g.handedOver:
                // Not before the new owner took it over (a `vm` is still running here, to be migrated).
                return false
            case .stopped, .blocked: continue
            case .unknown: return false
            default:
                if stopsWithoutQuorum { return false }
                if let a = groups.table[gi], a.owner == me, a.stay, a.epoch == g.ackEpoch { continue }
                return false
            }
        }
        return true
    }

    /// Shutting down while this node's storage does not work: the others could not read that it left (its slot
    /// would only go still, which they take for a dead or self-fenced node), so it leaves nothing running.
    var mustStopToLeave: Bool {
        // (Devices usable now, not within storageOK's grace: the leave itself must reach the disk.)
        guard groups.shuttingDown, let st = storage, let s = spec.storage, spec.fencing == .required else { return false }
        return st.devices.filter(\.health.usable).count < s.majority
    }

    public var inStandby: Bool { groups.standby || groups.shuttingDown || isFenced || groups.heartbeatHeardAt != nil }

    /// How long a node stays out of placement after the last Heartbeat packet it heard: Heartbeat sends one at
    /// least every deadtime / 2, and its keepalive may be longer than ours.
    var heartbeatHold: Duration { max(spec.timing.deadtime, .seconds(10)) }

    /// The shell verified a Linux-HA Heartbeat packet (signed with the cluster's authkeys) from configured node
    /// `node`: Heartbeat runs there and cannot see this cluster (nor this cluster it), so it may run the same
    /// resources. Run none here until it has been quiet for a while.
    mutating func heardHeartbeatDaemon(node: String, source: String, now: Instant) -> [Action] {
        var out: [Action] = []
        noticeTime(now: now, into: &out)
        if groups.heartbeatHeardAt == nil {
            out.append(.log(.error, "Linux-HA Heartbeat is running on \(node) (an authentic Heartbeat packet from \(source)): it cannot see Vigil nodes and may run the same resources. This node runs no group until it has heard none for \(heartbeatHold.compactDescription): stop Heartbeat on every node first (docs/migrating-from-heartbeat.md)"))
            groups.placementDue = true
            groups.heartbeatHeardAt = now
            afterGroupEvent(now: now, into: &out)
        }
        groups.heartbeatHeardAt = now
        return out
    }

    /// Why this node is in standby, for status (nil when it is not).
    func standbyReason(now: Instant) -> String? {
        if isFenced { return "fenced" }
        if groups.shuttingDown { return "shutting down: handing its groups over" }
        if let at = groups.heartbeatHeardAt {
            return "hearing Linux-HA Heartbeat packets (the last \(Int((now - at).milliseconds)) ms ago): stop Heartbeat on every node"
        }
        if groups.standby { return "vigil standby (`vigil unstandby` ends it)" }
        return nil
    }

    /// Ends the Heartbeat hold once no such packet came for `heartbeatHold` (from `tick`).
    mutating func expireHeartbeatHold(now: Instant, into out: inout [Action]) {
        guard let at = groups.heartbeatHeardAt, now - at >= heartbeatHold else { return }
        groups.heartbeatHeardAt = nil
        groups.placementDue = true
        out.append(.log(.notice, "no Linux-HA Heartbeat packet for \(heartbeatHold.compactDescription): this node may run groups again"))
    }

    /// The phase of every group on this node.
    public var localPhases: [String: GroupPhase] {
        Dictionary(uniqueKeysWithValues: zip(spec.groups.map(\.name), groups.local.map(\.phase)))
    }

    /// This node's report, as sent in its heartbeats.
    public var report: NodeReport {
        NodeReport(digest: spec.groupsDigest, standby: inStandby, version: groups.lastSentReport?.version ?? 0,
                   groups: groups.local.map {
                       GroupReport(phase: $0.phase, ackEpoch: $0.ackEpoch, failures: $0.failures, handedOver: $0.handedOver)
                   }, connectivity: groups.connectivity)
    }

    /// Group status lines for `vigil status`.
    public func groupStatus() -> [GroupStatus] {
        spec.groups.enumerated().map { gi, g in
            let a = groups.table[gi]
            var phases: [String: String] = [:]
            var failures: [String: Int] = [:]
            for n in spec.nodes {
                if let r = groupReport(of: n.name, gi) {
                    // A vanished node's last report is history: shown as "dead/running", not counted as active.
                    phases[n.name] = isMember(n.name) ? r.phase.description : "\(state(of: n.name))/\(r.phase)"
                    if r.failures > 0 { failures[n.name] = Int(r.failures) }
                } else {
                    phases[n.name] = "unknown"
                }
            }
            let owner = a?.owner.isEmpty == false ? a!.owner : nil
            var state = "stopped"
            if phases.values.contains("blocked") || groups.notes[gi].contains("BLOCKED") { state = "blocked" }
            else if let o = owner {
                let p = phases[o] ?? "unknown"
                let elsewhere = phases.contains { $0.key != o && isMember($0.key) && $0.value != "stopped" && $0.value != "unknown" }
                state = elsewhere ? "moving" : p
            } else if phases.contains(where: { isMember($0.key) && $0.value != "stopped" && $0.value != "unknown" }) {
                state = "stopping"
            }
            let note = groups.notes[gi]
            return GroupStatus(name: g.name, owner: owner, state: state,
                               reason: note.isEmpty ? defaultNote(gi, a) : note, nodes: phases, failures: failures,
                               epoch: a?.epoch ?? 0, preferred: a?.preferred.isEmpty == false ? a!.preferred : nil,
                               home: g.home)
        }
    }

    func defaultNote(_ gi: Int, _ a: Assignment?) -> String {
        guard let a else { return "no assignment from a coordinator yet" }
        if a.owner.isEmpty { return "assigned to no node" }
        if !a.go { return "assigned to \(a.owner); waiting for the other nodes to confirm the group is stopped" }
        return "assigned to \(a.owner)"
    }

    // MARK: - Messages

    /// Records a peer's report and the coordinator's assignments carried by an accepted message.
    mutating func absorbGroups(_ msg: Message, now: Instant, into out: inout [Action]) {
        guard !spec.groups.isEmpty else { return }
        // (A new incarnation's old report was already turned into evidence by `receive`.)
        if let r = msg.report {
            if r.digest != spec.groupsDigest || r.groups.count != spec.groups.count {
                let key = "\(msg.sender)/\(msg.incarnation)"
                if !groups.mismatchLogged.contains(key) {
                    groups.mismatchLogged.insert(key)
                    out.append(.log(.error, "\(msg.sender) has a different group configuration (digest \(r.digest), here \(spec.groupsDigest)): its reports and assignments are ignored until cluster.conf matches"))
                }
                return
            }
            if (groups.reports[msg.sender]?.version ?? 0) < r.version {
                groups.reports[msg.sender] = r
                groups.placementDue = true
            }
        }
        // Assignments count only from a sender that claims to coordinate; epochs order them.
        if msg.coordinator == msg.sender, msg.assignments.count == spec.groups.count, msg.report != nil {
            for (gi, a) in msg.assignments.enumerated() {
                let cur = groups.table[gi]
                if cur == nil || a.epoch > cur!.epoch || (a.epoch == cur!.epoch && a != cur!) {
                    groups.table[gi] = a
                    groups.placementDue = true
                }
                noteNamed(gi, a)
            }
        }
    }

    /// The report and assignments to put in outgoing messages: the report's version goes up whenever its
    /// content changed since the last message, so receivers can keep the newest. Built once per broadcast.
    mutating func outgoingGroups(asCoordinator: Bool) -> OutgoingGroups {
        var r = report
        r.version = groups.lastSentReport?.version ?? 0
        if r != groups.lastSentReport {
            r.version += 1
            groups.lastSentReport = r
        }
        guard asCoordinator, !spec.groups.isEmpty else { return OutgoingGroups(report: r, assignments: []) }
        groups.lastSentTable = groups.table
        return OutgoingGroups(report: r, assignments: groups.table.map { $0 ?? Assignment(owner: "", epoch: 0) })
    }

    mutating func noteNamed(_ gi: Int, _ a: Assignment) {
        guard !a.owner.isEmpty, a.epoch > groups.lastNamed[gi][a.owner] ?? 0 else { return }
        groups.lastNamed[gi][a.owner] = a.epoch
    }

    /// The report line of `node` for group `gi` (this node's own state for itself).
    func groupReport(of node: String, _ gi: Int) -> GroupReport? {
        if node == me {
            let g = groups.local[gi]
            return GroupReport(phase: g.phase, ackEpoch: g.ackEpoch, failures: g.failures, handedOver: g.handedOver)
        }
        return groups.reports[node]?.groups[gi]
    }

    /// Runs after every event: the coordinator places, this node acts, and a changed report or table is sent at once.
    mutating func afterGroupEvent(now: Instant, into out: inout [Action]) {
        guard !spec.groups.isEmpty, !leaving else { return }
        if out.contains(where: Self.changesPlacementInputs) { groups.placementDue = true }
        if role == .coordinator, groups.placementDue {
            groups.placementDue = false
            place(now: now, into: &out)
        }
        for gi in spec.groups.indices { act(group: gi, now: now, into: &out) }
        var r = report
        r.version = groups.lastSentReport?.version ?? 0
        let localChanged = r != groups.lastSentReport
        if localChanged { groups.placementDue = true }  // this node's own phases feed the next pass
        if localChanged || (role == .coordinator && groups.table != groups.lastSentTable) {
            broadcastHeartbeat(now: now, into: &out)
        }
    }

    /// Events after which the coordinator must place again (membership, quorum, who coordinates).
    static func changesPlacementInputs(_ a: Action) -> Bool {
        guard case let .event(e) = a else { return false }
        switch e {
        case .memberChanged, .quorumChanged, .coordinatorChanged, .standbyChanged, .groupChanged,
             .storageChanged, .fenced, .peerFenced: return true
        case .linkChanged: return false
        }
    }

    // MARK: - Node side

    /// Decides the next operation for group `gi` when none is in flight.
    mutating func act(group gi: Int, now: Instant, into out: inout [Action]) {
        let g = spec.groups[gi]
        if let a = groups.table[gi], a.epoch > groups.local[gi].ackEpoch {
            groups.local[gi].ackEpoch = a.epoch
            // Durable before any report carries it (the persist action precedes the sends).
            var acks = election.record.acks ?? [:]
            acks[g.name] = a.epoch
            election.record.acks = acks
            out.append(.persist(election.record))
        }
        var l = groups.local[gi]
        guard l.sequence == nil else { return }
        switch l.phase {
        case .unknown:
            begin(gi, .probe, now: now, into: &out)
            return
        case .blocked, .starting, .stopping:
            return
        case .stopped, .running:
            break
        }
        // What should happen here?
        enum Want { case run(reason: OperationReason, peer: String), stop(reason: OperationReason, peer: String), keep }
        var want = Want.keep
        if isFenced {
            want = .stop(reason: .fence, peer: "")
        } else if mustStopToLeave, !(groups.table[gi].map { !$0.owner.isEmpty && $0.owner != me } ?? false) {
            // (A group assigned to another node follows its assignment: a handover, which the leave waits for.)
            want = .stop(reason: .shutdown, peer: "")
        } else if !quorate {
            // Not before initdead has passed since this agent started: a restarted agent that finds its groups
            // running keeps them until it has had the chance to hear its peers (they fence it if need be).
            if spec.noQuorum == .stop, now - started >= spec.timing.initdead { want = .stop(reason: .quorumLost, peer: "") }
        } else if let a = groups.table[gi], a.epoch == l.ackEpoch {
            if a.owner == me {
                // Start only on a go from the live coordinator of the current term: an old table is history.
                if a.go, !coordinator.isEmpty, a.epoch >> 32 == term, Int(l.failures) <= g.maxRestarts,
                   !(inStandby && !a.stay && l.phase == .stopped) {
                    let restart = l.failures > 0 && l.phase == .stopped && a.source.isEmpty && l.sequence == nil
                    want = a.source.isEmpty || a.source == me ? .run(reason: restart ? .restart : .start, peer: "")
                                                              : .run(reason: .handover, peer: a.source)
                }
            } else {
                let handover = a.source == me && !a.owner.isEmpty
                want = .stop(reason: handover ? .handover : .stop, peer: handover ? a.owner : "")
            }
        }
        switch (want, l.phase) {
        case let (.run(reason, peer), .stopped):
            begin(gi, .start(reason: reason, peer: peer), now: now, into: &out)
        case let (.stop(reason, peer), .running):
            begin(gi, .stop(reason: reason, peer: peer), now: now, into: &out)
        case let (.stop(reason, _), .stopped) where l.handedOver && reason.endsHandover:
            // A handover stop left it running here for the target to migrate: fenced or without quorum, it
            // must really stop now (the others may start it elsewhere).
            begin(gi, .stop(reason: reason, peer: ""), now: now, into: &out)
        case (_, .stopped) where l.handedOver:
            // A handover is resolved once the new owner runs the group (it migrated what ran here), or when the
            // current assignment no longer hands over from here (nobody will migrate it): a probe says whether
            // it is gone from here, and clears the flag. Once per assignment epoch.
            if let a = groups.table[gi], a.owner != me, a.epoch == l.ackEpoch, l.handoverProbedAt != a.epoch,
               a.source != me || (!a.owner.isEmpty && groupReport(of: a.owner, gi)?.phase == .running) {
                groups.local[gi].handoverProbedAt = a.epoch
                begin(gi, .probe, now: now, into: &out)
            }
        case (_, .running):
            if g.monitorInterval > .zero, let due = l.nextMonitor, now >= due, quorate {
                begin(gi, .monitor, now: now, into: &out)
            } else if l.nextMonitor == nil, g.monitorInterval > .zero {
                l.nextMonitor = now + g.monitorInterval
                groups.local[gi] = l
            }
        default:
            break
        }
    }

    mutating func begin(_ gi: Int, _ seq: LocalGroup.Sequence, fromStep: Int? = nil, now: Instant, into out: inout [Action]) {
        let g = spec.groups[gi]
        var l = groups.local[gi]
        l.sequence = seq
        l.found = false
        l.stopFailed = false
        switch seq {
        case .probe, .monitor:
            l.step = 0
        case .start:
            l.step = 0
            l.phase = .starting
            l.startedHandedOver = l.handedOver
            l.handedOver = false
            l.nextMonitor = nil
        case let .stop(reason, _):
            l.step = fromStep ?? g.resources.count - 1
            l.phase = .stopping
            l.nextMonitor = nil
            l.handedOver = reason == .handover
        }
        groups.local[gi] = l
        switch seq {
        case let .start(reason, peer):
            out.append(.log(.notice, "starting group \(g.name) (\(reason)\(peer.isEmpty ? "" : " from \(peer)"))"))
            out.append(.event(.groupChanged(group: g.name, phase: .starting)))
        case let .stop(reason, peer):
            out.append(.log(.notice, "stopping group \(g.name) (\(reason)\(peer.isEmpty ? "" : " to \(peer)"))"))
            out.append(.event(.groupChanged(group: g.name, phase: .stopping)))
        case .probe, .monitor:
            break
        }
        issueStep(gi, now: now, into: &out)
    }

    /// Issues the operation for the current step, or finishes the sequence when there is none left.
    mutating func issueStep(_ gi: Int, now: Instant, into out: inout [Action]) {
        let g = spec.groups[gi]
        var l = groups.local[gi]
        guard let seq = l.sequence else { return }
        let action: ResourceAction
        let reason: OperationReason
        var peer = ""
        switch seq {
        case .probe: action = .status; reason = .probe
        case .monitor: action = .status; reason = .monitor
        case let .start(r, p): action = .start; reason = r; peer = p
        case let .stop(r, p): action = .stop; reason = r; peer = p
        }
        guard l.step >= 0, l.step < g.resources.count else {
            finish(gi, now: now, into: &out)
            return
        }
        let id = groups.nextOperation
        groups.nextOperation += 1
        l.inFlight = id
        groups.local[gi] = l
        let address = spec.node(named: peer)?.addresses.first ?? ""
        let hard = action == .stop && (reason == .fence || (reason == .quorumLost && storage != nil && spec.fencing == .required))
        var timeout = g.timeouts.timeout(for: action)
        if hard, let s = spec.storage, s.selfFence == .stopResources {
            // A fenced node must have stopped everything before msgwait ends (config check enforces the sum).
            timeout = min(timeout, s.fenceStopTimeout(resources: spec.groups.map(\.resources.count).max() ?? 1, deadtime: spec.timing.deadtime))
        }
        out.append(.runOperation(ResourceOperation(id: id, group: g.name, resourceIndex: l.step,
                                                   resource: g.resources[l.step], action: action,
                                                   timeout: timeout, reason: reason,
                                                   peer: peer, peerAddress: address, hard: hard)))
    }

    mutating func advance(group gi: Int, result: OperationResult, now: Instant, into out: inout [Action]) {
        let g = spec.groups[gi]
        var l = groups.local[gi]
        guard let seq = l.sequence else { return }
        let res = g.resources[l.step]
        switch seq {
        case .probe:
            if result != .stopped {
                l.found = true
                if case let .failed(why) = result {
                    out.append(.log(.warning, "probe of \(g.name)/\(res) failed (\(why)): treating it as possibly running"))
                }
            }
            l.step += 1
        case .monitor:
            if result != .succeeded {
                l.found = true
                let what = if case let .failed(why) = result { "failed (\(why))" } else { "says stopped" }
                out.append(.log(.warning, "monitor of \(g.name)/\(res) \(what)"))
                l.step = g.resources.count  // stop monitoring; finish() restarts the group
            } else {
                l.step += 1
            }
        case .start:
            if case let .failed(why) = result {
                l.failures = l.failures &+ 1
                out.append(.log(.error, "start of \(g.name)/\(res) failed (\(why)); failure \(l.failures) of \(g.maxRestarts + 1) on this node: stopping what was started"))
                // Undo: stop this resource and every one before it, right to left; every resource when an
                // earlier handover may have left the later ones running here.
                let failedAt = l.startedHandedOver ? g.resources.count - 1 : l.step
                groups.local[gi] = l
                begin(gi, .stop(reason: .failedStart, peer: ""), fromStep: failedAt, now: now, into: &out)
                return
            }
            l.step += 1
        case .stop:
            if case let .failed(why) = result {
                l.stopFailed = true
                if let s = spec.storage, s.selfFence == .reboot, spec.fencing == .required, var st = storage, st.fenced == nil {
                    // Heartbeat's RecoverFromFailedStop: the node reboots, and the others fence it (its slot goes
                    // still for msgwait) before they start its groups. Only with a fencing channel to prove it.
                    out.append(.log(.error, "stop of \(g.name)/\(res) failed (\(why)): rebooting this node (self_fence = reboot); the others start its groups once it is fenced"))
                    selfFence(&st, reason: "stop of \(g.name)/\(res) failed", serial: 0, now: now, out: &out)
                    storage = st
                } else {
                    out.append(.log(.error, "stop of \(g.name)/\(res) failed (\(why)): the group is blocked on this node until it is fenced or cleaned up"))
                }
            }
            l.step -= 1
        }
        groups.local[gi] = l
        issueStep(gi, now: now, into: &out)
    }

    mutating func finish(_ gi: Int, now: Instant, into out: inout [Action]) {
        let g = spec.groups[gi]
        var l = groups.local[gi]
        let seq = l.sequence
        l.sequence = nil
        l.inFlight = nil
        var newPhase = l.phase
        switch seq {
        case .probe:
            newPhase = l.found ? .running : .stopped
            if l.handedOver, !l.found {
                out.append(.log(.notice, "handover of \(g.name) resolved: it no longer runs on this node"))
            }
            l.handedOver = false  // a probe tells the truth about what runs here
            out.append(.log(.info, "probe: group \(g.name) is \(newPhase) on this node"))
            if newPhase == .running, g.monitorInterval > .zero { l.nextMonitor = now + g.monitorInterval }
        case .monitor:
            l.nextMonitor = now + g.monitorInterval
            if l.found {
                l.failures = l.failures &+ 1
                groups.local[gi] = l
                if let a = groups.table[gi], a.epoch == l.ackEpoch, !a.owner.isEmpty, a.owner != me, a.source == me {
                    // A handover was assigned while the monitor ran: it stays a handover (the target migrates
                    // what still runs, or cold-starts what does not), not a real stop.
                    out.append(.log(.error, "group \(g.name) failed on this node (failure \(l.failures) of \(g.maxRestarts + 1)) while it is being handed over to \(a.owner)"))
                    begin(gi, .stop(reason: .handover, peer: a.owner), now: now, into: &out)
                    return
                }
                out.append(.log(.error, "group \(g.name) failed on this node (failure \(l.failures) of \(g.maxRestarts + 1)): stopping it\(Int(l.failures) <= g.maxRestarts ? " to restart it" : "; it will move")"))
                begin(gi, .stop(reason: .restart, peer: ""), now: now, into: &out)
                return
            }
        case .start:
            newPhase = .running
            if g.monitorInterval > .zero { l.nextMonitor = now + g.monitorInterval }
            out.append(.log(.notice, "group \(g.name) is running on this node"))
        case let .stop(reason, _):
            newPhase = l.stopFailed ? .blocked : .stopped
            if l.stopFailed {
                l.handedOver = false
                out.append(.log(.error, "group \(g.name) is BLOCKED on this node: a stop failed; it cannot run anywhere until this node is fenced or `vigil cleanup \(g.name)` after a manual fix"))
            } else {
                out.append(.log(.notice, "group \(g.name) is stopped on this node (\(reason))"))
            }
        case nil:
            break
        }
        if newPhase != l.phase { out.append(.event(.groupChanged(group: g.name, phase: newPhase))) }
        l.phase = newPhase
        groups.local[gi] = l
    }

    /// The next monitor due on this node (for `nextWakeup`).
    func nextGroupWakeup() -> Instant? {
        groups.local.compactMap { $0.sequence == nil && $0.phase == .running ? $0.nextMonitor : nil }.min()
    }

    // MARK: - Coordinator side

    mutating func applyPin(_ request: AdminRequest, now: Instant, into out: inout [Action]) {
        func pin(_ gi: Int, _ node: String) {
            var a = groups.table[gi] ?? Assignment(owner: "", epoch: 0)
            guard a.preferred != node else { return }
            a.preferred = node
            groups.table[gi] = a
            place(group: gi, now: now, into: &out, forceNewEpoch: false)
        }
        switch request {
        case let .move(g, n):
            guard let gi = spec.groups.firstIndex(where: { $0.name == g }), spec.node(named: n) != nil else {
                out.append(.log(.warning, "move \(g) \(n): no such group or node"))
                return
            }
            out.append(.log(.notice, "move: pinning \(g) to \(n)"))
            pin(gi, n)
        case let .unmove(g):
            guard let gi = spec.groups.firstIndex(where: { $0.name == g }) else { return }
            out.append(.log(.notice, "unmove: \(g) is no longer pinned"))
            pin(gi, "")
        case let .takeover(n, all):
            guard spec.node(named: n) != nil else { return }
            for (gi, g) in spec.groups.enumerated() where all || g.home == n {
                out.append(.log(.notice, "takeover: pinning \(g.name) to \(n)"))
                pin(gi, n)
            }
        default:
            break
        }
    }

    mutating func nextEpoch() -> UInt64 {
        defer { groups.nextEpochCounter += 1 }
        return term << 32 | groups.nextEpochCounter
    }

    /// The coordinator's placement pass over every group.
    mutating func place(now: Instant, into out: inout [Action]) {
        retireFenceOps()
        for gi in spec.groups.indices { place(group: gi, now: now, into: &out, forceNewEpoch: false) }
    }

    /// Whether `node` may be given groups: a member with a matching report, not in standby, not blocked, and
    /// reaching as many ping nodes as the best-connected member.
    func eligible(_ node: String, _ gi: Int) -> Bool {
        let g = spec.groups[gi]
        if node == me {
            return !inStandby && groups.local[gi].phase != .blocked && Int(groups.local[gi].failures) <= g.maxRestarts
                && (groups.connectivity == 0 || groups.connectivity >= bestConnectivity)
        }
        guard membership.isUsable(node), let r = groups.reports[node], r.version > 0 else { return false }
        return !r.standby && r.groups[gi].phase != .blocked && Int(r.groups[gi].failures) <= g.maxRestarts
            && (r.connectivity == 0 || r.connectivity >= bestConnectivity)
    }

    /// The most ping nodes any member that may run groups reaches (nodes in standby, and nodes that have not
    /// measured yet, do not count). Connectivity is carried as reachable + 1; 0 means "not measured".
    var bestConnectivity: UInt8 {
        membership.peers.compactMap { name, p in
            guard p.state.isMember, let r = groups.reports[name], !r.standby else { return nil }
            return r.connectivity
        }.reduce(inStandby ? 0 : groups.connectivity, max)
    }

    /// The shell's pinger: this node now reaches `reachable` of its ping nodes. A node that reaches fewer
    /// than a peer gives up its groups to it (Heartbeat's ipfail); equal counts change nothing. A node that has
    /// not measured yet is neither preferred nor avoided.
    mutating func connectivityChanged(reachable: Int, of total: Int, now: Instant) -> [Action] {
        var out: [Action] = []
        let c = UInt8(clamping: reachable + 1)
        guard c != groups.connectivity else { return out }
        noticeTime(now: now, into: &out)
        let was = groups.connectivity == 0 ? "not measured" : "was \(groups.connectivity - 1)"
        out.append(.log(c < groups.connectivity ? .warning : .notice,
                        "ping nodes: \(reachable) of \(total) reachable (\(was)); groups run only where the most are reachable"))
        groups.connectivity = c
        groups.placementDue = true
        afterGroupEvent(now: now, into: &out)
        return out
    }

    func isMember(_ node: String) -> Bool { node == me || (membership.peers[node]?.state.isMember ?? false) }

    mutating func place(group gi: Int, now: Instant, into out: inout [Action], forceNewEpoch: Bool) {
        let g = spec.groups[gi]
        let epochBase = term << 32
        var a = groups.table[gi] ?? Assignment(owner: "", epoch: 0)
        let inherited = a.epoch < epochBase
        let names = spec.nodes.map(\.name)
        let running = names.filter { isMember($0) && groupReport(of: $0, gi)?.phase == .running }
        // A member acknowledged an epoch this node never saw: some coordinator assigned the group meanwhile.
        let maxAck = names.filter(isMember).compactMap { groupReport(of: $0, gi)?.ackEpoch }.max() ?? 0
        if maxAck > a.epoch, maxAck > groups.missed[gi] { groups.missed[gi] = maxAck }
        let active = names.filter { isMember($0) && (groupReport(of: $0, gi)?.phase.mayBeActive ?? false) }

        // 1. Choose the target.
        var current = a.owner
        // A new reign starts from the facts: where the group runs (a node still probing is no fact yet).
        if inherited, running.count == 1, active.count == 1 { current = running[0] }
        var target = ""
        var note = ""
        if !a.preferred.isEmpty, eligible(a.preferred, gi) {
            target = a.preferred
            note = "pinned to \(a.preferred)"
        } else if let h = g.home, g.autoFailback, eligible(h, gi) {
            target = h
            note = "on its home node \(h) (auto_failback)"
        } else if !current.isEmpty, eligible(current, gi) {
            target = current
        } else if let r = running.first(where: { eligible($0, gi) }) {
            target = r
        } else if let h = g.home, eligible(h, gi) {
            target = h
            note = "on its home node \(h)"
        } else {
            // Least loaded eligible node, ties in configuration order.
            let load = Dictionary(grouping: groups.table.compactMap { $0?.owner }, by: { $0 }).mapValues(\.count)
            target = names.filter { eligible($0, gi) }.min { (load[$0] ?? 0) < (load[$1] ?? 0) } ?? ""
        }
        var stay = false
        if target.isEmpty, running.count == 1, isMember(running[0]), current == running[0] || inherited {
            // In standby (or failed) but nobody else can take it: it stays where it runs.
            target = running[0]
            stay = true
            note = "stays on \(target): no other node can take it"
        }

        // 2. A new epoch when the decision changes.
        if inherited || target != a.owner || stay != a.stay || forceNewEpoch {
            var source = ""
            if let r = running.first(where: { $0 != target }) {
                source = r
            } else if !a.source.isEmpty, a.source != target, isMember(a.source),
                      let rep = groupReport(of: a.source, gi), rep.phase == .stopped, rep.handedOver {
                source = a.source  // a handover whose first target failed: the next one takes over from the same source
            }
            let old = a.owner
            a = Assignment(owner: target, epoch: nextEpoch(), go: false, source: source, preferred: a.preferred, stay: stay)
            noteNamed(gi, a)
            if old != target || inherited {
                out.append(.log(.notice, "placement: \(g.name) -> \(target.isEmpty ? "nowhere" : target)" +
                                 (source.isEmpty ? "" : " (handover from \(source))") + " [epoch \(a.epoch >> 32).\(a.epoch & 0xffff_ffff)]"))
            }
        }

        // 3. go: every other node has confirmed the group stopped after seeing this epoch.
        if !a.go, !a.owner.isEmpty {
            var waits: [String] = []
            for n in names where n != a.owner {
                // A member that has not heard this node (or had quorum) for deadtime cannot acknowledge: it is
                // treated as vanished below (a deaf owner must be fenced, not waited for forever).
                if isMember(n), !membership.isLostMember(n, now: now) {
                    let deaf = membership.isUsable(n) ? "" : " (it does not hear this node or has no quorum)"
                    // (Version 0: what an earlier incarnation reported, kept as evidence; not an acknowledgement.)
                    guard let r = groupReport(of: n, gi), (groups.reports[n]?.version ?? 1) > 0 else {
                        waits.append("\(n) has not reported yet"); continue
                    }
                    if r.phase == .blocked { waits.append("BLOCKED: a stop failed on \(n); fence it or fix it and run `vigil cleanup \(g.name) \(n)`") }
                    else if r.phase != .stopped { waits.append("waiting for \(n) to stop it (\(r.phase))\(deaf)") }
                    else if r.ackEpoch < a.epoch { waits.append("waiting for \(n) to acknowledge\(deaf)") }
                    else if r.handedOver, n != a.source { waits.append("waiting for \(n): an earlier handover left the group maybe running there (it probes)") }
                } else {
                    // A node that is not a member may still run the group unless its last report says it had
                    // stopped it after seeing every assignment that named it.
                    let r = groupReport(of: n, gi)
                    // It must have stopped after acknowledging an epoch later than the last one naming it owner:
                    // the go of that epoch (from any coordinator, itself included) may reach it at any time, even
                    // late from a socket buffer (found by the storage simulation, seeds 1338 and 2605). And no
                    // earlier than an epoch some member saw but this node did not.
                    // An epoch some member acknowledged but this node never saw may have named it: its ack must be
                    // later than that one too. And a handover stop may have left the group running there.
                    let named = groups.lastNamed[gi][n]
                    let missed = groups.missed[gi]
                    let safe = r.map { r in
                        r.phase == .stopped && !r.handedOver && (missed == 0 || r.ackEpoch > missed)
                            && named.map { r.ackEpoch > $0 } ?? true
                    } ?? false
                    if safe { continue }
                    let st = isMember(n) ? "heard but not hearing this node (or without quorum)" : state(of: n).description
                    let what = r.map { "was \($0.phase)\($0.handedOver ? " (handed over, maybe still running)" : "") it" } ?? "has not reported since this node started"
                    // A node that left after stopping the group is safe, but only if it had seen every epoch some
                    // member acknowledged: a coordinator this node never heard may have named a later incarnation
                    // of it (it restarted, unseen by this node).
                    let seenAll = missed == 0 || (r?.ackEpoch ?? 0) > missed
                    let leftStopped = state(of: n) == .left && r?.phase == .stopped && r?.handedOver == false
                    let ds = diskSaysLeft(n)
                    let dsStopped = ds.map { gi < 32 && $0.activeGroups & (1 << UInt32(gi)) == 0 } ?? false
                    let canFence = spec.fencing == .required && storage != nil
                    if let inc = groups.confirmedDown[n], inc == (membership.peers[n]?.incarnation ?? 0) {
                        continue
                    } else if leftStopped || dsStopped, seenAll {
                        // Its agent left after stopping everything (its leave carried that report, or its slot
                        // says so) and runs nothing any more: a late assignment can start nothing there.
                        continue
                    } else if leftStopped || dsStopped, canFence {
                        // An unseen later incarnation would read a pill (or has no storage and no quorum).
                        if case let .waiting(why) = fence(n, now: now, into: &out) { waits.append(why.description) } else { continue }
                    } else if ds != nil, !dsStopped {
                        // It left (its leave packets were lost, its slot says so) while the group may still be
                        // active there: a pill cannot fence it (its agent is gone).
                        waits.append("BLOCKED: \(n) left (its storage slot says so) while the group was active there; `vigil confirm-down \(n)` once it is really off")
                    } else if state(of: n) == .left, r != nil, !(leftStopped && spec.fencing == .none) {
                        // Its agent exited (and disarmed its watchdog): nobody would read a pill, so msgwait
                        // proves nothing. An administrator must confirm it down.
                        waits.append("BLOCKED: \(n) left while the group was \(r!.phase) there\(leftStopped ? " (an epoch it never saw may have named it since)" : ""); `vigil confirm-down \(n)` once it is really off")
                    } else if canFence {
                        // Shared storage: a poison pill, then the acknowledgement or msgwait.
                        if case let .waiting(why) = fence(n, now: now, into: &out) { waits.append(why.description) } else { continue }
                    } else if spec.fencing == .none {
                        let key = "\(n)/\(g.name)/\(membership.peers[n]?.incarnation ?? 0)"
                        if !groups.assumedStopped.contains(key) {
                            groups.assumedStopped.insert(key)
                            out.append(.log(.warning, "fencing = none: assuming \(st) \(n) does not run \(g.name) (UNSAFE if it is only cut off)"))
                        }
                    } else {
                        waits.append("BLOCKED: \(n) is \(st) and \(what); it must be fenced first (no fencing is configured: `vigil confirm-down \(n)` once it is really off, or fencing = \"none\" to accept the risk)")
                    }
                }
            }
            if waits.isEmpty {
                a.go = true
                out.append(.log(.info, "placement: \(g.name) may start on \(a.owner)"))
            } else {
                note = waits.joined(separator: "; ")
            }
        }
        if note.isEmpty { note = a.owner.isEmpty ? "no eligible node (all in standby, failed or down)" : "assigned to \(a.owner)" }
        groups.notes[gi] = note
        groups.table[gi] = a
    }
}
