/// The node side of groups: run the operations that reach what the coordinator assigned (probe, start, stop,
/// monitor, one resource at a time), and what a finished operation means.
extension ClusterNode {
    /// A resource operation finished (the shell ran what a `.runOperation` action asked for).
    mutating func operationDone(_ id: UInt64, result: OperationResult, now: Instant) -> [Action] {
        var out: [Action] = []
        guard let gi = groups.local.firstIndex(where: { $0.inFlight == id }) else { return out }
        groups.local[gi].inFlight = nil
        groups.placementDue = true
        advance(group: gi, result: result, now: now, into: &out)
        return out
    }

    /// Decides the next operation for group `gi` when none is in flight.
    mutating func act(group gi: Int, now: Instant, into out: inout [Action]) {
        let g = spec.groups[gi]
        if let a = groups.table[gi], a.epoch > groups.local[gi].ackEpoch {
            groups.local[gi].ackEpoch = a.epoch
            // Durable before any report carries it (`Ready.persist` is written before any action runs).
            var acks = election.record.acks ?? [:]
            acks[g.name] = a.epoch
            election.record.acks = acks
            persistDue = true
        }
        var l = groups.local[gi]
        // `vigil unmanage`: nothing new is done here (an operation in flight finishes). Except when this node is
        // fenced: the peers count on everything here being stopped (a reset would stop it too), so the fence's hard
        // stop overrides unmanage.
        if groups.table[gi]?.unmanaged == true, l.sequence == nil, !isFenced { return }
        guard l.sequence == nil else {
            if case .waiting = l.stopRetry?.phase, l.inFlight == nil, case let .stop(reason, _) = l.sequence, !isHardStop(reason),
                isFenced || (!quorate && spec.noQuorum == .stop && now - started >= spec.timing.initdead && isHardStop(.quorumLost))
            {
                // Fenced (or without quorum where storage fences) while a failed stop waits for its retry: stop every
                // resource hard now, within the fence's budget, instead of retrying a soft stop.
                begin(gi, .stop(reason: isFenced ? .fence : .quorumLost, peer: ""), now: now, into: &out)
                return
            }
            if case let .waiting(until) = l.stopRetry?.phase, l.inFlight == nil, now >= until {
                l.stopRetry!.phase = .retrying
                groups.local[gi] = l
                out.append(
                    .log(
                        .warning,
                        "stop of \(g.name)/\(g.resources[l.step]) failed (\(l.stopRetry!.failure)); retry \(l.stopRetry!.attempt) of \(g.stopRetries)"
                    ))
                issueStep(gi, now: now, into: &out)
            }
            return
        }
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
                    !(inStandby && !a.stay && l.phase == .stopped)
                {
                    let restart = l.failures > 0 && l.phase == .stopped && a.source.isEmpty && l.sequence == nil
                    want =
                        a.source.isEmpty || a.source == me
                        ? .run(reason: restart ? .restart : .start, peer: "")
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
                a.source != me || (!a.owner.isEmpty && groupReport(of: a.owner, gi)?.phase == .running)
            {
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
        l.stopRetry = nil
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
        case let .stop(r, p):
            // After a failed stop: does status say it stopped after all?
            if l.stopRetry?.phase == .checking { action = .status; reason = .stopCheck } else { action = .stop; reason = r }
            peer = p
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
        let hard = action == .stop && isHardStop(reason)
        var timeout = g.timeout(for: action, resource: l.step)
        if hard, let s = spec.storage, s.selfFence == .stopResources {
            // A fenced node must have stopped everything before msgwait ends (config check enforces the sum).
            timeout = min(
                timeout, s.fenceStopTimeout(resources: spec.groups.map(\.resources.count).max() ?? 1, deadtime: spec.timing.deadtime))
        }
        out.append(
            .runOperation(
                ResourceOperation(
                    id: id, group: g.name, resourceIndex: l.step,
                    resource: g.resources[l.step], action: action,
                    timeout: timeout, reason: reason,
                    peer: peer, peerAddress: address, hard: hard, instance: g.ocfInstance(at: l.step),
                    interval: reason == .monitor ? g.monitorInterval : .zero)))
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
                if let why = result.failure {
                    out.append(.log(.warning, "probe of \(g.name)/\(res) failed (\(why)): treating it as possibly running"))
                }
            }
            l.step += 1
        case .monitor:
            if result != .succeeded {
                l.found = true
                let what = if let why = result.failure { "failed (\(why))" } else { "says stopped" }
                out.append(.log(.warning, "monitor of \(g.name)/\(res) \(what)"))
                l.step = g.resources.count  // stop monitoring; finish() restarts the group
            } else {
                l.step += 1
            }
        case .start:
            if let why = result.failure {
                l.failures = l.failures &+ 1
                l.lastFailureAt = now
                if case .failedHere = result, Int(l.failures) <= g.maxRestarts {
                    // No retry here can fix it (OCF 2-6): this node is given up for the group now.
                    l.failures = UInt8(clamping: g.maxRestarts + 1)
                    out.append(.log(.error, "start of \(g.name)/\(res) failed (\(why)): not retried on this node"))
                }
                out.append(
                    .log(
                        .error,
                        "start of \(g.name)/\(res) failed (\(why)); failure \(l.failures) of \(g.maxRestarts + 1) on this node: stopping what was started"
                    ))
                // Undo: stop this resource and every one before it, right to left; every resource when an
                // earlier handover may have left the later ones running here.
                let failedAt = l.startedHandedOver ? g.resources.count - 1 : l.step
                groups.local[gi] = l
                begin(gi, .stop(reason: .failedStart, peer: ""), fromStep: failedAt, now: now, into: &out)
                return
            }
            l.step += 1
        case let .stop(reason, _):
            if var retry = l.stopRetry, retry.phase == .checking {
                // The status check after a failed stop.
                if result == .stopped {
                    out.append(
                        .log(
                            .warning,
                            "stop of \(g.name)/\(res) failed (\(retry.failure)) but status says it is stopped: counted as stopped (the script is probably not LSB-compliant)"
                        ))
                    l.stopRetry = nil
                    l.step -= 1
                    groups.local[gi] = l
                    issueStep(gi, now: now, into: &out)
                    return
                }
                if retry.attempt < g.stopRetries {
                    retry.attempt += 1
                    retry.phase = .waiting(until: now + StopRetry.pause)
                    l.stopRetry = retry
                    groups.local[gi] = l
                    return  // `act` tries the stop again when it is due
                }
                l.stopRetry = nil
                stopFailed(gi, &l, resource: res, why: retry.failure, now: now, into: &out)
            } else if let why = result.failure, !isHardStop(reason) {
                l.stopRetry = StopRetry(attempt: l.stopRetry?.attempt ?? 0, failure: why)
                groups.local[gi] = l
                issueStep(gi, now: now, into: &out)  // the same resource: its status check
                return
            } else if let why = result.failure {
                l.stopRetry = nil
                stopFailed(gi, &l, resource: res, why: why, now: now, into: &out)
            } else {
                l.stopRetry = nil
            }
            l.step -= 1
        }
        groups.local[gi] = l
        issueStep(gi, now: now, into: &out)
    }

    /// Stops that must be hard and immediate (no retries): this node is being fenced, or lost quorum where
    /// the others fence by storage.
    func isHardStop(_ reason: OperationReason) -> Bool {
        reason == .fence || (reason == .quorumLost && storage != nil && spec.fencing == .required)
    }

    /// A stop failed for good: the group is blocked here, or (self_fence = reboot, with a fencing channel) the
    /// node reboots.
    mutating func stopFailed(
        _ gi: Int, _ l: inout LocalGroup, resource res: ResourceSpec, why: String, now: Instant,
        into out: inout [Action]
    ) {
        let g = spec.groups[gi]
        l.stopFailed = true
        if let s = spec.storage, s.selfFence == .reboot, spec.fencing == .required, storage != nil, storage?.fenced == nil {
            // Heartbeat's RecoverFromFailedStop: the node reboots, and the others fence it (its slot goes still
            // for msgwait) before they start its groups. Only with a fencing channel to prove it.
            out.append(
                .log(
                    .error,
                    "stop of \(g.name)/\(res) failed (\(why)): rebooting this node (self_fence = reboot); the others start its groups once it is fenced"
                ))
            storage?.fenceThisNode(reason: "stop of \(g.name)/\(res) failed", serial: 0, now: now, mode: s.selfFence, into: &out)
            groups.placementDue = true
        } else {
            out.append(
                .log(.error, "stop of \(g.name)/\(res) failed (\(why)): the group is blocked on this node until it is fenced or cleaned up")
            )
        }
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
            l.lastMonitorPassed = nil
            out.append(.log(.info, "probe: group \(g.name) is \(newPhase) on this node"))
            if newPhase == .running, g.monitorInterval > .zero { l.nextMonitor = now + g.monitorInterval }
        case .monitor:
            l.nextMonitor = now + g.monitorInterval
            l.lastMonitorPassed = l.found ? nil : now
            if l.found {
                l.failures = l.failures &+ 1
                l.lastFailureAt = now
                groups.local[gi] = l
                if let a = groups.table[gi], a.epoch == l.ackEpoch, !a.owner.isEmpty, a.owner != me, a.source == me {
                    // A handover was assigned while the monitor ran: it stays a handover (the target migrates
                    // what still runs, or cold-starts what does not), not a real stop.
                    out.append(
                        .log(
                            .error,
                            "group \(g.name) failed on this node (failure \(l.failures) of \(g.maxRestarts + 1)) while it is being handed over to \(a.owner)"
                        ))
                    begin(gi, .stop(reason: .handover, peer: a.owner), now: now, into: &out)
                    return
                }
                out.append(
                    .log(
                        .error,
                        "group \(g.name) failed on this node (failure \(l.failures) of \(g.maxRestarts + 1)): stopping it\(Int(l.failures) <= g.maxRestarts ? " to restart it" : "; it will move")"
                    ))
                begin(gi, .stop(reason: .restart, peer: ""), now: now, into: &out)
                return
            }
        case .start:
            newPhase = .running
            l.lastMonitorPassed = nil
            if g.monitorInterval > .zero { l.nextMonitor = now + g.monitorInterval }
            out.append(.log(.notice, "group \(g.name) is running on this node"))
        case let .stop(reason, _):
            newPhase = l.stopFailed ? .blocked : .stopped
            l.lastMonitorPassed = nil
            if l.stopFailed {
                l.handedOver = false
                out.append(
                    .log(
                        .error,
                        "group \(g.name) is BLOCKED on this node: a stop failed; it cannot run anywhere until this node is fenced or `vigil cleanup \(g.name)` after a manual fix"
                    ))
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

    /// The next monitor or stop retry due on this node (for `nextWakeup`).
    func nextGroupWakeup() -> Instant? {
        groups.local.compactMap { l in
            if case let .waiting(until) = l.stopRetry?.phase { return until }
            return l.sequence == nil && l.phase == .running ? l.nextMonitor : nil
        }.min()
    }

    /// Forgets the failures of every group whose `failure_timeout` has passed since its last failure here (before
    /// placement, which the event it emits makes run again).
    mutating func expireFailures(now: Instant, into out: inout [Action]) {
        for gi in spec.groups.indices {
            guard let expiry = failureExpiry(gi), now >= expiry else { continue }
            groups.local[gi].failures = 0
            groups.local[gi].lastFailureAt = nil
            let g = spec.groups[gi]
            out.append(.log(.notice, "failures of \(g.name) on this node expired (failure_timeout \(g.failureTimeout.compactDescription))"))
            out.append(.event(.failuresExpired(group: g.name)))
        }
    }

    /// When group `gi`'s failures on this node expire (its `failure_timeout` after the last one), if they do: not
    /// while an operation runs, and never for a blocked group (a failed stop needs fencing or a cleanup).
    func failureExpiry(_ gi: Int) -> Instant? {
        let l = groups.local[gi]
        let timeout = spec.groups[gi].failureTimeout
        guard timeout > .zero, l.failures > 0, l.sequence == nil, l.phase != .blocked, let at = l.lastFailureAt else { return nil }
        return at + timeout
    }
}
