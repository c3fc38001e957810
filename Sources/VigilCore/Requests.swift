/// Operators' and the environment's inputs about groups: admin requests (standby, cleanup, confirm-down, move,
/// takeover), the controlled shutdown, a Linux-HA Heartbeat daemon heard on the LAN, the ping nodes.
extension ClusterNode {
    /// An administrative request, made on this node (`from == me`) or forwarded by a peer in a `.request`
    /// message. The node that carries it out answers it (`answer`): accepted, or refused with a typed reason.
    mutating func handle(_ request: AdminRequest, number: UInt64, from: String, now: Instant, into out: inout [Action]) {
        groups.placementDue = true
        let everyNode = request.handledBy == AdminRequest.everyNode
        let handler = everyNode ? me : request.handledBy.isEmpty ? (role == .coordinator ? me : coordinator) : request.handledBy
        if everyNode, from == me {
            // Every node keeps it (a coordinator change must not forget it): unicast to every member. This
            // node's own verdict is the answer.
            for name in membership.peerNames where membership.peers[name]!.state.isMember {
                for link in 0..<linkCount(for: name) {
                    out.append(send(.request, to: name, link: link, request: request))
                }
            }
        }
        guard handler == me else {
            if from != me {
                // Meant for the coordinator, which this node is not (any more).
                answer(request, number: number, from: from, .refused(by: me, .notCoordinator(coordinator: coordinator)), into: &out)
                return
            }
            // For another node (or the coordinator): forward it, unicast on every link; that node answers.
            if handler.isEmpty {
                answer(request, number: number, from: from, .refused(by: me, .noCoordinator), into: &out)
            } else if membership.peers[handler] == nil {
                answer(request, number: number, from: from, .refused(by: me, .noSuchNode(handler)), into: &out)
            } else if !membership.peers[handler]!.state.isMember {
                answer(
                    request, number: number, from: from,
                    .refused(by: me, .unreachable(node: handler, state: state(of: handler).description)), into: &out)
            } else {
                for link in 0..<linkCount(for: handler) {
                    out.append(send(.request, to: handler, link: link, request: request, requestNumber: number))
                }
            }
            return
        }
        // A request every node carries out is answered by the node it was made on.
        let verdict = carryOut(request, from: from, now: now, into: &out)
        if !everyNode || from == me { answer(request, number: number, from: from, verdict, into: &out) }
    }

    /// Sends (or, for a request made here, hands the shell) the answer to request `number` made on `from`, and
    /// records it as an event. A refusal is logged.
    mutating func answer(_ request: AdminRequest, number: UInt64, from: String, _ a: RequestAnswer, into out: inout [Action]) {
        out.append(.event(.requestAnswered(request: request, from: from, answer: a)))
        if case let .refused(_, why) = a { out.append(.log(.warning, "\(request) (requested on \(from)) refused: \(why)")) }
        guard number != 0 else { return }
        if from == me {
            out.append(.answer(number: number, a))
        } else if membership.peers[from] != nil {
            for link in 0..<linkCount(for: from) {
                out.append(send(.requestReply, to: from, link: link, request: request, requestNumber: number, answer: a))
            }
        }
    }

    /// Carries out a request this node handles, and says whether it accepted it.
    mutating func carryOut(_ request: AdminRequest, from: String, now: Instant, into out: inout [Action]) -> RequestAnswer {
        switch request {
        case .standby, .unstandby:
            let on = if case .standby = request { true } else { false }
            if groups.standby != on {
                groups.standby = on
                let hold =
                    groups.heartbeatHeardAt == nil
                    ? ""
                    : " once it hears no more Linux-HA Heartbeat packets (for \(heartbeatHold.compactDescription))"
                out.append(
                    .log(
                        .notice,
                        on
                            ? "standby (requested by \(from)): handing this node's groups to peers"
                            : "unstandby (requested by \(from)): this node may run groups again\(hold)"))
                out.append(.event(.standbyChanged(on)))
            }
            return .accepted(by: me, note: nil)
        case let .cleanup(g, _):
            guard let gi = spec.groups.firstIndex(where: { $0.name == g }) else { return .refused(by: me, .noSuchGroup(g)) }
            groups.local[gi].failures = 0
            groups.local[gi].lastFailureAt = nil
            if groups.local[gi].phase == .blocked, groups.local[gi].sequence == nil {
                groups.local[gi].phase = .unknown  // probe again
            }
            out.append(.log(.notice, "cleanup of \(g) (requested by \(from)): failures forgotten, probing again"))
            return .accepted(by: me, note: nil)
        case let .confirmDown(n):
            if n == me { return .refused(by: me, .notDown(node: n, state: "the node asked")) }
            guard let p = membership.peers[n] else { return .refused(by: me, .noSuchNode(n)) }
            guard !membership.isUsable(n) else { return .refused(by: me, .notDown(node: n, state: state(of: n).description)) }
            if let ds = diskState(n), ds == "partitioned" { return .refused(by: me, .slotStillWritten(node: n)) }
            // Until it is heard again (usable) or restarts: a later disappearance needs fencing again.
            groups.confirmedDown[n] = p.incarnation
            out.append(.log(.warning, "\(n) confirmed down by \(from): its groups may start elsewhere"))
            return .accepted(by: me, note: nil)
        case .move, .unmove, .takeover:
            return applyPin(request, now: now, into: &out)
        case let .disable(g), let .enable(g):
            guard let gi = spec.groups.firstIndex(where: { $0.name == g }) else { return .refused(by: me, .noSuchGroup(g)) }
            let off = if case .disable = request { true } else { false }
            var a = groups.table[gi] ?? Assignment(owner: "", epoch: 0)
            if a.disabled != off {
                a.disabled = off
                groups.table[gi] = a
                out.append(.log(.notice, off ? "disable: \(g) stops everywhere and stays stopped" : "enable: \(g) may run again"))
                out.append(.event(.groupDisabled(group: g, off)))
                place(group: gi, now: now, into: &out, forceNewEpoch: true)
            }
            return .accepted(by: me, note: nil)
        case let .unmanage(g), let .manage(g):
            guard let gi = spec.groups.firstIndex(where: { $0.name == g }) else { return .refused(by: me, .noSuchGroup(g)) }
            let off = if case .unmanage = request { true } else { false }
            var a = groups.table[gi] ?? Assignment(owner: "", epoch: 0)
            if a.unmanaged != off {
                // The same epoch, other content: every node takes it (and placement leaves the group alone).
                a.unmanaged = off
                groups.table[gi] = a
                out.append(
                    .log(
                        .notice,
                        off
                            ? "unmanage: \(g) is left alone (no monitor, start, stop or move)"
                            : "manage: \(g) is probed, then placed as usual"))
                if !off {
                    if groups.local[gi].sequence == nil, groups.local[gi].phase != .blocked { groups.local[gi].phase = .unknown }
                    place(group: gi, now: now, into: &out, forceNewEpoch: false)
                }
            }
            return .accepted(by: me, note: nil)
        }
    }

    mutating func applyPin(_ request: AdminRequest, now: Instant, into out: inout [Action]) -> RequestAnswer {
        func pin(_ gi: Int, _ node: String) {
            var a = groups.table[gi] ?? Assignment(owner: "", epoch: 0)
            guard a.preferred != node else { return }
            a.preferred = node
            groups.table[gi] = a
            place(group: gi, now: now, into: &out, forceNewEpoch: false)
        }
        /// What may keep a group pinned to `n` from moving there at once.
        func note(_ n: String) -> AcceptNote? {
            if n == me {
                return inStandby ? .targetNotUsable(node: n, state: standbyReason(now: now) ?? "in standby") : nil
            }
            guard membership.peers[n] != nil else { return nil }
            if !membership.isUsable(n) { return .targetNotUsable(node: n, state: state(of: n).description) }
            if groups.reports[n]?.standby == true { return .targetNotUsable(node: n, state: "in standby") }
            return nil
        }
        switch request {
        case let .move(g, n):
            guard let gi = spec.groups.firstIndex(where: { $0.name == g }) else { return .refused(by: me, .noSuchGroup(g)) }
            guard spec.node(named: n) != nil else { return .refused(by: me, .noSuchNode(n)) }
            out.append(.log(.notice, "move: pinning \(g) to \(n)"))
            pin(gi, n)
            return .accepted(by: me, note: note(n))
        case let .unmove(g):
            guard let gi = spec.groups.firstIndex(where: { $0.name == g }) else { return .refused(by: me, .noSuchGroup(g)) }
            out.append(.log(.notice, "unmove: \(g) is no longer pinned"))
            pin(gi, "")
            return .accepted(by: me, note: nil)
        case let .takeover(n, all):
            guard spec.node(named: n) != nil else { return .refused(by: me, .noSuchNode(n)) }
            for (gi, g) in spec.groups.enumerated() where all || g.home == n {
                out.append(.log(.notice, "takeover: pinning \(g.name) to \(n)"))
                pin(gi, n)
            }
            return .accepted(by: me, note: note(n))
        default:
            return .accepted(by: me, note: nil)
        }
    }

    /// Starts a controlled shutdown: standby, so the coordinator hands this node's groups to peers. The core
    /// says when to leave (`decideLeave`): once `readyToLeave`, or when `timeout` has passed.
    mutating func beginShutdown(now: Instant, timeout: Duration) -> [Action] {
        var out: [Action] = []
        guard !groups.shuttingDown else { return out }
        groups.shuttingDown = true
        groups.shutdownDeadline = now + timeout
        out.append(.log(.notice, "shutting down: handing this node's groups to peers first"))
        return out
    }

    /// Shutting down: tells the shell to leave (once) when every group is handed over, or when the shutdown
    /// timeout has passed with groups still here.
    mutating func decideLeave(now: Instant, into out: inout [Action]) {
        guard groups.shuttingDown, !groups.leaveDecided, let deadline = groups.shutdownDeadline else { return }
        if readyToLeave {
            groups.leaveDecided = true
            out.append(.leaveNow(.handedOver))
        } else if now >= deadline {
            groups.leaveDecided = true
            // Not stopped here, or handed over and maybe still running here until the new owner takes it.
            let here = spec.groups.indices.filter { groups.local[$0].phase != .stopped || groups.local[$0].handedOver }
                .map { spec.groups[$0].name + (groups.local[$0].phase == .stopped ? " (handed over, not yet taken over)" : "") }
            out.append(
                .log(
                    .warning,
                    "shutdown_timeout passed before every group was handed over: leaving with \(here.joined(separator: ", ")) not stopped"))
            out.append(.leaveNow(.shutdownTimeout(notStopped: here)))
        }
    }

    /// Nothing of any group may run here: every group stopped, none handed over (a `vm` left running for the
    /// target to migrate still runs here). Only then may a leaving agent disarm its watchdog.
    public var nothingMayRunHere: Bool { groups.local.allSatisfy { $0.phase == .stopped && !$0.handedOver } }

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
                if groups.table[gi]?.unmanaged == true { continue }  // left alone: it stays running here
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

    /// How long a node stays out of placement after the last Heartbeat packet it heard: Heartbeat sends one at
    /// least every deadtime / 2, and its keepalive may be longer than ours.
    var heartbeatHold: Duration { max(spec.timing.deadtime, .seconds(10)) }

    /// The shell verified a Linux-HA Heartbeat packet (signed with the cluster's authkeys) from configured node
    /// `node`: Heartbeat runs there and cannot see this cluster (nor this cluster it), so it may run the same
    /// resources. Run none here until it has been quiet for a while.
    mutating func heardHeartbeatDaemon(node: String, source: String, now: Instant) -> [Action] {
        var out: [Action] = []
        if groups.heartbeatHeardAt == nil {
            out.append(
                .log(
                    .error,
                    "Linux-HA Heartbeat is running on \(node) (an authentic Heartbeat packet from \(source)): it cannot see Vigil nodes and may run the same resources. This node runs no group until it has heard none for \(heartbeatHold.compactDescription): stop Heartbeat on every node first (docs/migrating-from-heartbeat.md)"
                ))
            out.append(.event(.heartbeatDaemon(node: node)))
            groups.placementDue = true
            groups.heartbeatHeardAt = now
        }
        groups.heartbeatHeardAt = now
        return out
    }

    /// Ends the Heartbeat hold once no such packet came for `heartbeatHold` (from `tick`).
    mutating func expireHeartbeatHold(now: Instant, into out: inout [Action]) {
        guard let at = groups.heartbeatHeardAt, now - at >= heartbeatHold else { return }
        groups.heartbeatHeardAt = nil
        groups.placementDue = true
        out.append(.log(.notice, "no Linux-HA Heartbeat packet for \(heartbeatHold.compactDescription): this node may run groups again"))
        out.append(.event(.heartbeatDaemon(node: nil)))
    }

    /// The shell's pinger: this node now reaches `reachable` of its ping nodes. A node that reaches fewer
    /// than a peer gives up its groups to it (Heartbeat's ipfail); equal counts change nothing. A node that has
    /// not measured yet is neither preferred nor avoided.
    mutating func connectivityChanged(reachable: Int, of total: Int, now: Instant) -> [Action] {
        var out: [Action] = []
        let c = UInt8(clamping: reachable + 1)
        guard c != groups.connectivity else { return out }
        let was = groups.connectivity == 0 ? "not measured" : "was \(groups.connectivity - 1)"
        out.append(
            .log(
                c < groups.connectivity ? .warning : .notice,
                "ping nodes: \(reachable) of \(total) reachable (\(was)); groups run only where the most are reachable"))
        groups.connectivity = c
        groups.placementDue = true
        return out
    }
}
