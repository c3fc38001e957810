/// Resource groups in the core: what this node keeps about them, the group part of every message (this node's
/// report, the coordinator's assignments), and the pass that runs after every event. The node side is
/// GroupLifecycle.swift, the coordinator side Placement.swift, operators' requests Requests.swift.
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
    /// When the last of `failures` happened (for the group's `failure_timeout`).
    var lastFailureAt: Instant?
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
    /// During a stop: the current resource's stop failed and is being checked or retried (`stop_retries`).
    var stopRetry: StopRetry?
    var nextMonitor: Instant?
    /// When a monitor last found every resource running, since the group last started or was found running
    /// here (nil: none yet, or not running here).
    var lastMonitorPassed: Instant?
}

/// A failed stop being handled as Heartbeat's ResourceManager does: `status` is asked whether the resource
/// stopped after all (a script that is not LSB-compliant); if not, the stop is tried again 1 s later, up to
/// the group's `stop_retries` times, checking `status` after each failure. Hard stops (fencing) are not retried.
struct StopRetry: Sendable, Equatable {
    enum Phase: Sendable, Equatable {
        /// `status` is asked whether the failed stop stopped the resource after all.
        case checking
        /// It did not: the stop is tried again at this instant.
        case waiting(until: Instant)
        /// The stop is being tried again.
        case retrying
    }

    /// Retries done so far.
    var attempt = 0
    /// The last stop failure.
    var failure: String
    var phase: Phase = .checking

    /// The pause between a failed stop's check and its retry.
    static let pause: Duration = .seconds(1)
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
    /// Shutting down: when to leave even if groups are not handed over yet (`shutdown_timeout`).
    var shutdownDeadline: Instant?
    /// The core has told the shell to leave (once).
    var leaveDecided = false
    var nextOperation: UInt64 = 1
    var nextEpochCounter: UInt64 = 1
    /// The coordinator's explanation of each group's placement, for status.
    var notes: [PlacementNote?]
    /// Report digests that did not match, logged once per peer incarnation.
    var mismatchLogged: Set<String> = []
    /// Groups this node remembered as disabled (`vigil disable`) when it started: as coordinator, a group no
    /// coordinator assigned yet starts out disabled (a whole cluster restarted keeps its disabled groups stopped).
    var disabledAtStart: Set<Int> = []
    /// Per peer: whether its latest report's group configuration differs from this node's (absent: no report).
    var configDiffers: [String: Bool] = [:]
    /// Dead holders assumed stopped under `fencing = none`, logged once per (node, group).
    var assumedStopped: Set<String> = []
    /// Per group, per node: the highest epoch known to have named that node owner. A vanished node's last
    /// "stopped" counts only if it had seen every assignment naming it.
    var lastNamed: [[String: UInt64]]
    /// Per group: the highest epoch a member acknowledged that this node never saw as an assignment (an
    /// intermediate coordinator's, while this node was cut off). Its owner is unknown, so a vanished node is
    /// safe only if its last report acknowledged at least this epoch.
    var missed: [UInt64]
    /// The highest term some other node is known to have coordinated (it said so in a message, or in its storage
    /// slot). A coordinator of a term whose assignments this node never saw may have named any node: see `place`.
    var coordinatedTermSeen: UInt64 = 0
    /// Nodes an administrator confirmed down (`vigil confirm-down`), with the incarnation they had then.
    var confirmedDown: [String: UInt64] = [:]
    /// Placement runs again then (a restarted node's time to rejoin before it is fenced has passed).
    var placementRecheck: Instant?
    /// The last report this node sent, to send a heartbeat at once when it changes.
    var lastSentReport: NodeReport?
    var lastSentTable: [Assignment?] = []
    /// Something placement depends on changed (a report, membership, quorum, the coordinator, this node's own
    /// groups, a request): the coordinator places again. Heartbeats that change nothing cost no placement pass.
    var placementDue = true

    init(groups: Int, standby: Bool) {
        local = Array(repeating: LocalGroup(), count: groups)
        table = Array(repeating: nil, count: groups)
        notes = Array(repeating: nil, count: groups)
        lastNamed = Array(repeating: [:], count: groups)
        missed = Array(repeating: 0, count: groups)
        self.standby = standby
    }
}

extension ClusterNode {
    /// The groups this node's state directory remembers as disabled (before the first step).
    public mutating func restoreDisabled(_ names: Set<String>) {
        groups.disabledAtStart = Set(spec.groups.indices.filter { names.contains(spec.groups[$0].name) })
    }

    /// The phase of every group on this node.
    public var localPhases: [String: GroupPhase] {
        Dictionary(uniqueKeysWithValues: zip(spec.groups.map(\.name), groups.local.map(\.phase)))
    }

    /// This node's report, as sent in its heartbeats.
    public var report: NodeReport {
        NodeReport(
            digest: spec.groupsDigest, standby: inStandby, version: groups.lastSentReport?.version ?? 0,
            groups: groups.local.map {
                GroupReport(phase: $0.phase, ackEpoch: $0.ackEpoch, failures: $0.failures, handedOver: $0.handedOver)
            }, connectivity: groups.connectivity)
    }

    /// Group status lines for `vigil status` (`now` for the ages in them; without it they are left out).
    public func groupStatus(now: Instant? = nil) -> [GroupStatus] {
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
            var state = a?.disabled == true ? "disabled" : "stopped"
            if a?.unmanaged == true {
                state = "unmanaged"
            } else if phases.values.contains("blocked") || groups.notes[gi]?.isBlocked == true {
                state = "blocked"
            } else if let o = owner {
                let p = phases[o] ?? "unknown"
                let elsewhere = phases.contains { $0.key != o && isMember($0.key) && $0.value != "stopped" && $0.value != "unknown" }
                state = elsewhere ? "moving" : p
            } else if phases.contains(where: { isMember($0.key) && $0.value != "stopped" && $0.value != "unknown" }) {
                state = "stopping"
            }
            let note = groups.notes[gi]
            return GroupStatus(
                name: g.name, owner: owner, state: state,
                reason: note?.description ?? defaultNote(gi, a), nodes: phases, failures: failures,
                epoch: a?.epoch ?? 0, preferred: a?.preferred.isEmpty == false ? a!.preferred : nil,
                home: g.home, monitorPassedMsAgo: now.flatMap { n in groups.local[gi].lastMonitorPassed.map { (n - $0).milliseconds } },
                failuresExpireInMs: now.flatMap { n in failureExpiry(gi).map { max($0 - n, .zero).milliseconds } })
        }
    }

    func defaultNote(_ gi: Int, _ a: Assignment?) -> String {
        guard let a else { return "no assignment from a coordinator yet" }
        if a.owner.isEmpty { return "assigned to no node" }
        if !a.go { return "assigned to \(a.owner); waiting for the other nodes to confirm the group is stopped" }
        return "assigned to \(a.owner)"
    }

    /// Records a peer's report and the coordinator's assignments carried by an accepted message.
    mutating func absorbGroups(_ msg: Message, now: Instant, into out: inout [Action]) {
        guard !spec.groups.isEmpty else { return }
        if msg.coordinator == msg.sender, msg.term > groups.coordinatedTermSeen { groups.coordinatedTermSeen = msg.term }
        // (A new incarnation's old report was already turned into evidence by `receive`.)
        if let r = msg.report {
            let differs = r.digest != spec.groupsDigest || r.groups.count != spec.groups.count
            groups.configDiffers[msg.sender] = differs
            if differs {
                let key = "\(msg.sender)/\(msg.incarnation)"
                if !groups.mismatchLogged.contains(key) {
                    groups.mismatchLogged.insert(key)
                    out.append(
                        .log(
                            .error,
                            "\(msg.sender) has a different group configuration (digest \(r.digest), here \(spec.groupsDigest)): its reports and assignments are ignored until cluster.conf matches"
                        ))
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
                    if a.disabled != (cur?.disabled ?? false) {
                        out.append(.event(.groupDisabled(group: spec.groups[gi].name, a.disabled)))
                    }
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
        expireFailures(now: now, into: &out)
        if out.contains(where: Self.changesPlacementInputs) { groups.placementDue = true }
        if let t = groups.placementRecheck, now >= t {
            groups.placementRecheck = nil
            groups.placementDue = true
        }
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
            .storageChanged, .fenced, .peerFenced, .heartbeatDaemon, .failuresExpired:
            return true
        case .linkChanged, .packetsDropped, .requestAnswered, .groupDisabled: return false
        }
    }
}
