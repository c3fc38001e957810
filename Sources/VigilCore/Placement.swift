/// The coordinator side of groups: choose one owner per group, and let it start only once every other node has
/// confirmed the group stopped (or is fenced).
///
/// Safety argument (docs/architecture.md): a node starts group G only on an assignment `(owner: me, go)` of
/// epoch e. The coordinator sets `go` only when every other member reported G `stopped` with ackEpoch >= e,
/// and every non-member either last reported G stopped or (with `fencing = none`) is assumed stopped. A node
/// that has seen epoch e for G never starts G under an epoch <= e unless that epoch names it, and epochs of a
/// newer coordinator are larger than every older one (`term << 32`).
extension ClusterNode {
    mutating func nextEpoch() -> UInt64 {
        defer { groups.nextEpochCounter += 1 }
        return term << 32 | groups.nextEpochCounter
    }

    /// The coordinator's placement pass over every group.
    mutating func place(now: Instant, into out: inout [Action]) {
        retireFenceOps()
        for gi in spec.groups.indices { place(group: gi, now: now, into: &out, forceNewEpoch: false) }
    }

    /// One group's placement, in three steps: the facts and the pure target choice (`chooseTarget`), a new
    /// epoch when the decision changed, then `go` once nobody else may still run it (`goWaits`).
    mutating func place(group gi: Int, now: Instant, into out: inout [Action], forceNewEpoch: Bool) {
        let g = spec.groups[gi]
        var a = groups.table[gi] ?? Assignment(owner: "", epoch: 0, disabled: groups.disabledAtStart.contains(gi))
        if a.unmanaged {
            // `vigil unmanage`: left alone, wherever it runs, until `vigil manage`.
            groups.notes[gi] = .unmanaged
            return
        }
        let names = spec.nodes.map(\.name)
        // A member acknowledged an epoch this node never saw: some coordinator assigned the group meanwhile.
        let maxAck = names.filter(isMember).compactMap { groupReport(of: $0, gi)?.ackEpoch }.max() ?? 0
        if maxAck > a.epoch, maxAck > groups.missed[gi] { groups.missed[gi] = maxAck }
        // Another node coordinated a later term than this node's latest assignment for the group, and this node
        // saw none of that term's assignments (nemesis seed 601490: a coordinator that was cut off from this node
        // named itself, then left with the group running). Any epoch of that term may have named any node: only
        // an acknowledgement from a later term proves a vanished node saw them all.
        let unseen = max(groups.coordinatedTermSeen, diskCoordinatedTerm)
        if unseen > a.epoch >> 32, unseen < term || (unseen == term && role != .coordinator), unseen <= Self.maxTerm {
            let floor = unseen << 32 | 0xFFFF_FFFF
            if floor > groups.missed[gi] { groups.missed[gi] = floor }
        }

        // 1. Choose the target.
        let facts = placementFacts(gi, a)
        let choice = Self.chooseTarget(facts)
        var note = choice.note

        // 2. A new epoch when the decision changes.
        if facts.inherited || choice.target != a.owner || choice.stay != a.stay || forceNewEpoch {
            a = newEpoch(gi, a, choice, running: facts.running, inherited: facts.inherited, into: &out)
        }

        // 3. go: every other node has confirmed the group stopped after seeing this epoch.
        if !a.go, !a.owner.isEmpty {
            let waits = goWaits(gi, a, now: now, into: &out)
            if waits.isEmpty {
                a.go = true
                out.append(.log(.info, "placement: \(g.name) may start on \(a.owner)"))
            } else {
                note = .waiting(waits)
            }
        }
        groups.notes[gi] = note ?? (a.owner.isEmpty ? .noEligibleNode : .assigned(to: a.owner))
        groups.table[gi] = a
    }

    /// What the target choice needs to know about one group, read from this coordinator's view.
    func placementFacts(_ gi: Int, _ a: Assignment) -> PlacementFacts {
        let g = spec.groups[gi]
        let names = spec.nodes.map(\.name)
        let running = names.filter { isMember($0) && groupReport(of: $0, gi)?.phase == .running }
        let active = names.filter { isMember($0) && (groupReport(of: $0, gi)?.phase.mayBeActive ?? false) }
        return PlacementFacts(
            nodes: names, eligible: Set(names.filter { eligible($0, gi) }), running: running, active: active,
            owner: a.owner, inherited: a.epoch < term << 32, preferred: a.preferred, home: g.home, autoFailback: g.autoFailback,
            load: Dictionary(grouping: groups.table.compactMap { $0?.owner }, by: { $0 }).mapValues(\.count),
            restarting: Set(names.filter(restartingNow)), ownerStays: a.stay, disabled: a.disabled)
    }

    /// A node confirmed down (as incarnation `inc`) has come back where this node could not hear it: its storage
    /// slot shows a later incarnation, or a member's view echoes another incarnation of it as alive (nemesis seed
    /// 711481: confirmed down, restarted behind a partition, assigned a group by a coordinator this node never
    /// heard). The administrator's word was about the machine that was off; it no longer covers this one.
    func restartedUnheard(_ node: String, since inc: UInt64) -> Bool {
        if let slot = storage?.peers[node]?.slot, slot.incarnation > inc { return true }
        let old = IncarnationEcho.of(inc)
        for name in membership.peerNames where name != node && isMember(name) {
            if let e = membership.peers[name]?.view.first(where: { $0.node == node }), e.state.isMember, e.echo != 0, e.echo != old {
                return true
            }
        }
        return false
    }

    /// `node` announced a restart and has not been heard since, nor been confirmed down.
    func restartingNow(_ node: String) -> Bool {
        guard let p = membership.peers[node] else { return false }
        return p.restarting && p.state == .left && groups.confirmedDown[node] == nil
    }

    /// Where a group should run, from the facts alone (pure: no state, no actions). A restarting owner keeps
    /// it. Then in order: the pin
    /// (`vigil move`/`takeover`), home with auto_failback, the current owner, where it runs, home, the least
    /// loaded eligible node (ties in configuration order); with no eligible node, it stays where it runs.
    static func chooseTarget(_ f: PlacementFacts) -> TargetChoice {
        if f.disabled { return TargetChoice(target: "", note: .disabled) }
        // A restarting owner keeps what it owns: it runs on there, and its next agent probes it.
        if !f.owner.isEmpty, f.restarting.contains(f.owner) {
            return TargetChoice(target: f.owner, stay: f.ownerStays, note: .restarting(on: f.owner))
        }
        var current = f.owner
        // A new reign starts from the facts: where the group runs (a node still probing is no fact yet).
        if f.inherited, f.running.count == 1, f.active.count == 1 { current = f.running[0] }
        if !f.preferred.isEmpty, f.eligible.contains(f.preferred) {
            return TargetChoice(target: f.preferred, note: .pinned(to: f.preferred))
        } else if let h = f.home, f.autoFailback, f.eligible.contains(h) {
            return TargetChoice(target: h, note: .home(h, failback: true))
        } else if !current.isEmpty, f.eligible.contains(current) {
            return TargetChoice(target: current)
        } else if let r = f.running.first(where: f.eligible.contains) {
            return TargetChoice(target: r)
        } else if let h = f.home, f.eligible.contains(h) {
            return TargetChoice(target: h, note: .home(h, failback: false))
        } else if let least = f.nodes.filter(f.eligible.contains).min(by: { (f.load[$0] ?? 0) < (f.load[$1] ?? 0) }) {
            return TargetChoice(target: least)
        } else if f.running.count == 1, current == f.running[0] || f.inherited {
            // In standby (or failed) but nobody else can take it: it stays where it runs.
            return TargetChoice(target: f.running[0], stay: true, note: .stays(on: f.running[0]))
        }
        return TargetChoice(target: "")
    }

    /// A new assignment for the chosen target under a new epoch (`go` not yet set), with the node it is handed
    /// over from, if any.
    mutating func newEpoch(
        _ gi: Int, _ old: Assignment, _ choice: TargetChoice, running: [String], inherited: Bool, into out: inout [Action]
    ) -> Assignment {
        let target = choice.target
        var source = ""
        if let r = running.first(where: { $0 != target }) {
            source = r
        } else if !old.source.isEmpty, old.source != target, isMember(old.source),
            let rep = groupReport(of: old.source, gi), rep.phase == .stopped, rep.handedOver
        {
            source = old.source  // a handover whose first target failed: the next one takes over from the same source
        }
        let a = Assignment(
            owner: target, epoch: nextEpoch(), go: false, source: source, preferred: old.preferred, stay: choice.stay,
            disabled: old.disabled, unmanaged: old.unmanaged)
        noteNamed(gi, a)
        if old.owner != target || inherited {
            out.append(
                .log(
                    .notice,
                    "placement: \(spec.groups[gi].name) -> \(target.isEmpty ? "nowhere" : target)"
                        + (source.isEmpty ? "" : " (handover from \(source))") + " [epoch \(a.epoch >> 32).\(a.epoch & 0xffff_ffff)]"))
        }
        return a
    }

    /// What `go` for assignment `a` still waits for: every other node must have confirmed the group stopped
    /// after seeing this epoch, or be known not to run it (fenced, confirmed down, left after stopping it, or
    /// assumed stopped with `fencing = none`). Starts fencing the nodes that need it.
    mutating func goWaits(_ gi: Int, _ a: Assignment, now: Instant, into out: inout [Action]) -> [GoWait] {
        let g = spec.groups[gi]
        var waits: [GoWait] = []
        for n in spec.nodes.map(\.name) where n != a.owner {
            // A member that has not heard this node (or had quorum) for deadtime cannot acknowledge: it is
            // treated as vanished below (a deaf owner must be fenced, not waited for forever).
            if isMember(n), !membership.isLostMember(n, now: now) {
                let deaf = !membership.isUsable(n)
                // (Version 0: what an earlier incarnation reported, kept as evidence; not an acknowledgement.)
                guard let r = groupReport(of: n, gi), (groups.reports[n]?.version ?? 1) > 0 else {
                    waits.append(.notReported(node: n))
                    continue
                }
                if r.phase == .blocked {
                    waits.append(.stopFailed(node: n, group: g.name))
                } else if r.phase != .stopped {
                    waits.append(.stopping(node: n, phase: r.phase, deaf: deaf))
                } else if r.ackEpoch < a.epoch {
                    waits.append(.acknowledging(node: n, deaf: deaf))
                } else if r.handedOver, n != a.source {
                    waits.append(.earlierHandover(node: n))
                }
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
                let safe =
                    r.map { r in
                        r.phase == .stopped && !r.handedOver && (missed == 0 || r.ackEpoch > missed)
                            && named.map { r.ackEpoch > $0 } ?? true
                    } ?? false
                if safe { continue }
                let st = isMember(n) ? "heard but not hearing this node (or without quorum)" : state(of: n).description
                // A node that left after stopping the group is safe, but only if it had seen every epoch some
                // member acknowledged: a coordinator this node never heard may have named a later incarnation
                // of it (it restarted, unseen by this node).
                let seenAll = missed == 0 || (r?.ackEpoch ?? 0) > missed
                // "Left" proves something only of the incarnation that left: a later one, heard since but not
                // (yet) hearing this node, is an agent that runs and may have been given the group meanwhile
                // (its report here is then the old incarnation's evidence).
                let gone = state(of: n) == .left && membership.peers[n].map { $0.incarnation == $0.leftIncarnation } ?? true
                let leftStopped = gone && r?.phase == .stopped && r?.handedOver == false
                let ds = diskSaysLeft(n)
                let dsStopped = ds.map { gi < 32 && $0.activeGroups & (1 << UInt32(gi)) == 0 } ?? false
                let canFence = spec.fencing == .required && storage != nil
                if let inc = groups.confirmedDown[n], inc == (membership.peers[n]?.incarnation ?? 0), !restartedUnheard(n, since: inc) {
                    continue
                } else if leftStopped || dsStopped, seenAll {
                    // Its agent left after stopping everything (its leave carried that report, or its slot
                    // says so) and runs nothing any more: a late assignment can start nothing there.
                    continue
                } else if leftStopped || dsStopped, canFence {
                    // An unseen later incarnation would read a pill (or has no storage and no quorum).
                    if case let .waiting(why) = fence(n, now: now, into: &out) { waits.append(.fencing(why)) } else { continue }
                } else if ds != nil, !dsStopped {
                    // It left (its leave packets were lost, its slot says so) while the group may still be
                    // active there: a pill cannot fence it (its agent is gone).
                    waits.append(.leftActiveOnDisk(node: n))
                } else if state(of: n) == .left, r != nil, !(leftStopped && spec.fencing == .none), gone || !canFence {
                    // Its agent exited (and disarmed its watchdog): nobody would read a pill, so msgwait
                    // proves nothing. An administrator must confirm it down. (A later incarnation, heard since,
                    // is fenced below where storage can; without, it is waited for here too.)
                    waits.append(.leftActive(node: n, phase: r!.phase, unseenEpoch: leftStopped))
                } else if canFence {
                    // Shared storage: a poison pill, then the acknowledgement or msgwait.
                    if case let .waiting(why) = fence(n, now: now, into: &out) { waits.append(.fencing(why)) } else { continue }
                } else if spec.fencing == .none {
                    let key = "\(n)/\(g.name)/\(membership.peers[n]?.incarnation ?? 0)"
                    if !groups.assumedStopped.contains(key) {
                        groups.assumedStopped.insert(key)
                        out.append(
                            .log(.warning, "fencing = none: assuming \(st) \(n) does not run \(g.name) (UNSAFE if it is only cut off)"))
                    }
                } else {
                    waits.append(.mustBeFenced(node: n, state: st, lastReport: r))
                }
            }
        }
        return waits
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

    func isMember(_ node: String) -> Bool { node == me || (membership.peers[node]?.state.isMember ?? false) }
}

/// What the coordinator knows about one group when it chooses its target (`ClusterNode.chooseTarget`).
struct PlacementFacts: Equatable, Sendable {
    /// Every node, in configuration order.
    var nodes: [String]
    /// The nodes that may be given the group (`ClusterNode.eligible`).
    var eligible: Set<String>
    /// Members that report it running, and members where it may be active (starting, running, stopping...).
    var running: [String]
    var active: [String]
    /// The current assignment's owner ("" if none), and whether it is from an earlier term.
    var owner: String
    var inherited: Bool
    /// The pin (`vigil move`/`takeover`), "" if none; the configured home and auto_failback.
    var preferred: String
    var home: String?
    var autoFailback: Bool
    /// Groups assigned per node (for the least loaded choice).
    var load: [String: Int]
    /// Nodes whose agent announced a restart (`vigil restart`) and has not been heard since: what they own
    /// stays theirs. The current assignment's `stay` (kept as it is for them).
    var restarting: Set<String> = []
    var ownerStays = false
    /// `vigil disable`: nowhere.
    var disabled = false
}

/// Where a group should run: the node ("" for nowhere), whether it only stays where it runs because no other
/// node can take it, and the note for status.
struct TargetChoice: Equatable, Sendable {
    var target: String
    var stay = false
    var note: PlacementNote?
}
