/// Where a packet came from, described only when a log line needs it (formatting an address for every packet
/// would cost more than handling it).
public struct PacketSource: Sendable {
    let describe: @Sendable () -> String
    public init(_ describe: @escaping @Sendable () -> String) { self.describe = describe }
    /// A source already known as text (tests, the simulation).
    public static func text(_ s: String) -> PacketSource { PacketSource { s } }
    public var description: String { describe() }
}

extension ClusterNode {
    /// Everything that can happen to a node: the one input of `step`. The shell turns each socket read, timer,
    /// finished operation, storage cycle, signal and control request into one of these.
    public enum Input: Sendable {
        /// A timer fired (`nextWakeup` said when): send due heartbeats, age peers, start storage cycles.
        case tick
        /// An authenticated, decoded message that arrived on local link `link`.
        case message(Message, link: Int, from: PacketSource)
        /// A packet the shell could not decode or authenticate: counted, and maybe logged.
        case dropped(DropReason, from: PacketSource)
        /// A resource operation the shell ran for `.runOperation` finished.
        case operationDone(id: UInt64, OperationResult)
        /// A storage cycle the shell ran for `.storageCycle` finished (or failed, or hit its deadline).
        case storageCycleDone(device: Int, StorageCycleResult)
        /// An administrative request made on this node (`from` is this node; `number` is the shell's, to match
        /// the `Action.answer`, 0 for none). Peers' requests arrive as `.request` messages.
        case request(AdminRequest, number: UInt64, from: String)
        /// The pinger now reaches `reachable` of `total` ping nodes.
        case connectivity(reachable: Int, total: Int)
        /// The shell verified a Linux-HA Heartbeat packet from configured node `node` (at address `source`).
        case heartbeatDaemon(node: String, source: String)
        /// A controlled stop begins: hand this node's groups to peers; the core says when to leave (`leaveNow`):
        /// once they are handed over, or after `timeout` (`shutdown_timeout`).
        case shutdown(timeout: Duration)
        /// The controlled leave itself: tell every peer, write the leaving slot; the node handles nothing after.
        case leave
        /// `vigil restart`: leave at once without handing anything over, telling the peers this agent restarts;
        /// every group keeps running here and stays assigned here until the next agent is heard.
        case restart
        /// The shell could not make `Ready.persist` durable (and ran none of that step's actions).
        case persistFailed(String)
        /// `vigil reload`: a configuration that differs from the running one only in what `reloadable` allows
        /// (the groups' tuning: monitor interval, timeouts, restarts, stop retries, failure timeout, auto_failback; the shutdown
        /// timeout is the shell's). Anything else is refused (logged) and changes nothing.
        case reconfigure(ClusterSpec)
    }

    /// The one entry point: apply `input` at `now` and return what the shell must do: make `Ready.persist`
    /// durable, then run `Ready.actions` in order.
    ///
    /// The order, written once here: notice the time (age the peers, and re-run the election if time jumped),
    /// then the input itself, then the follow-ups every input gets: the Heartbeat-daemon hold, the storage
    /// timers (which may change a two-node quorum), the election step, the groups pass (placement on the
    /// coordinator, this node's operations, a heartbeat at once when its report or the table changed), and a
    /// heartbeat if one is due. A dropped packet changes nothing and gets none of it; neither does the leave.
    public mutating func step(_ input: Input, now: Instant) -> Ready {
        guard halted == nil else { return Ready() }
        persistDue = false
        var out: [Action]
        switch input {
        case let .dropped(reason, from):
            return Ready(actions: recordDrop(reason, source: from.description, now: now))
        case .leave, .restart:
            if case .restart = input, !leaving {
                out = [.log(.notice, "restarting the agent: every group stays where it runs, unmonitored until the next agent probes it")]
            } else {
                out = []
            }
            if case .restart = input { out += leave(now: now, restarting: true) } else { out += leave(now: now) }
            return Ready(persist: persistDue ? election.record : nil, actions: out)
        case let .persistFailed(error):
            // The core is ahead of the disk: whatever it would send now may rest on a vote or claim that a
            // restart forgets. It stops here.
            halted = error
            return Ready(actions: [
                .log(.error, "cannot persist the election record: \(error); sending nothing more"),
                .halt(reason: "cannot persist the election record: \(error)")
            ])
        default:
            out = []
        }
        let running = !leaving
        if running {
            if case .tick = input { agePeers(now: now, into: &out) } else { noticeTime(now: now, into: &out) }
        }
        switch input {
        case .tick, .dropped, .leave, .restart, .persistFailed: break
        case let .message(msg, link, from): out += receive(msg, onLink: link, source: from.description, now: now)
        case let .operationDone(id, result): out += operationDone(id, result: result, now: now)
        case let .storageCycleDone(device, result): out += storageCycleDone(device: device, result: result, now: now)
        case let .request(request, number, from): handle(request, number: number, from: from, now: now, into: &out)
        case let .connectivity(reachable, total): out += connectivityChanged(reachable: reachable, of: total, now: now)
        case let .heartbeatDaemon(node, source): out += heardHeartbeatDaemon(node: node, source: source, now: now)
        case let .shutdown(timeout): out += beginShutdown(now: now, timeout: timeout)
        case let .reconfigure(new):
            if let why = Self.unreloadable(from: spec, to: new) {
                out.append(.log(.error, "reload refused by the core: \(why)"))
            } else if new != spec {
                spec = new
                groups.placementDue = true
                out.append(.log(.notice, "reloaded: the groups' tuning is now that of the new configuration"))
            }
        }
        if running, !leaving {
            expireHeartbeatHold(now: now, into: &out)
            storageTick(now: now, into: &out)  // may change quorum (two nodes): before the election step
            evaluate(now: now, into: &out)
            afterGroupEvent(now: now, into: &out)
            if lastHeartbeatSent.map({ now >= $0 + spec.timing.interval }) ?? true {
                broadcastHeartbeat(now: now, into: &out)
            }
            decideLeave(now: now, into: &out)
        }
        return Ready(persist: persistDue ? election.record : nil, actions: out)
    }
}

extension ClusterNode {
    /// Why `to` cannot replace `from` at run time (nil: it can). Only the groups' tuning may differ: the same
    /// cluster, nodes, timing, quorum, fencing and storage, and the same groups (name, home, resources, in
    /// order), so every node's reports and the coordinator's assignments keep meaning the same groups.
    public static func unreloadable(from: ClusterSpec, to: ClusterSpec) -> String? {
        guard from.groups.map(\.name) == to.groups.map(\.name) else {
            return
                "the groups changed (\(from.groups.map(\.name).joined(separator: ", ")) → \(to.groups.map(\.name).joined(separator: ", ")))"
        }
        for (a, b) in zip(from.groups, to.groups) where a.home != b.home || a.resources != b.resources {
            return "group \(a.name)'s home or resources changed"
        }
        var tuned = from
        tuned.groups = zip(from.groups, to.groups).map { old, new in
            var g = old
            g.autoFailback = new.autoFailback
            g.timeouts = new.timeouts
            g.maxRestarts = new.maxRestarts
            g.monitorInterval = new.monitorInterval
            g.stopRetries = new.stopRetries
            g.failureTimeout = new.failureTimeout
            return g
        }
        return tuned == to ? nil : "settings other than the groups' tuning changed (nodes, timing, quorum, fencing or storage)"
    }
}
