/// Why the coordinator placed a group where it is, or what its start waits for: typed, and shown to people as
/// the group's reason in `vigil status` (`description`).
public enum PlacementNote: Hashable, Sendable, CustomStringConvertible {
    /// `vigil move` pinned it to this node.
    case pinned(to: String)
    /// On its home node, with auto_failback (`failback`) or because the home node is eligible.
    case home(String, failback: Bool)
    /// The node it runs on is in standby or failed, but nobody else can take it.
    case stays(on: String)
    /// Its owner's agent is restarting (`vigil restart`): it runs on there, unmonitored, and stays assigned there.
    case restarting(on: String)
    case assigned(to: String)
    case noEligibleNode
    /// `vigil disable`: it runs nowhere until `vigil enable`.
    case disabled
    /// `vigil unmanage`: left alone until `vigil manage`.
    case unmanaged
    /// The owner may not start yet: every other node must confirm the group stopped, or be fenced.
    case waiting([GoWait])

    /// Something only an administrator (or fencing) can clear holds the group.
    public var isBlocked: Bool {
        guard case let .waiting(waits) = self else { return false }
        return waits.contains(where: \.isBlocked)
    }

    public var description: String {
        switch self {
        case let .pinned(n): "pinned to \(n)"
        case let .home(h, failback): "on its home node \(h)\(failback ? " (auto_failback)" : "")"
        case let .stays(n): "stays on \(n): no other node can take it"
        case let .restarting(n):
            "stays on \(n): its agent is restarting (vigil restart); `vigil confirm-down \(n)` if it does not come back and is really off"
        case let .assigned(n): "assigned to \(n)"
        case .noEligibleNode: "no eligible node (all in standby, failed or down)"
        case .disabled: "disabled (`vigil enable` lets it run again)"
        case .unmanaged: "unmanaged: not monitored, started, stopped or moved (`vigil manage` ends it)"
        case let .waiting(waits): waits.map(\.description).joined(separator: "; ")
        }
    }
}

/// One node's part in what an assignment's `go` waits for.
public enum GoWait: Hashable, Sendable, CustomStringConvertible {
    /// A member that has not reported since this node started (or only as an earlier incarnation).
    case notReported(node: String)
    /// A stop failed there: blocked until it is fenced or cleaned up.
    case stopFailed(node: String, group: String)
    /// It still reports the group in this phase (`deaf`: it does not hear this node or has no quorum).
    case stopping(node: String, phase: GroupPhase, deaf: Bool)
    /// It has not acknowledged the assignment's epoch yet.
    case acknowledging(node: String, deaf: Bool)
    /// An earlier handover may have left the group running there; its probe will tell.
    case earlierHandover(node: String)
    /// A vanished node is being fenced.
    case fencing(FenceWait)
    /// Its storage slot says it left while the group was active there: only an administrator can confirm it off.
    case leftActiveOnDisk(node: String)
    /// It left while the group was in `phase` there (`unseenEpoch`: it had stopped it, but an epoch it never saw
    /// may have named it since).
    case leftActive(node: String, phase: GroupPhase, unseenEpoch: Bool)
    /// A vanished node that may still run the group, with no fencing configured.
    case mustBeFenced(node: String, state: String, lastReport: GroupReport?)

    public var isBlocked: Bool {
        switch self {
        case .stopFailed, .leftActiveOnDisk, .leftActive, .mustBeFenced: true
        case .notReported, .stopping, .acknowledging, .earlierHandover, .fencing: false
        }
    }

    public var description: String {
        let deafText = " (it does not hear this node or has no quorum)"
        switch self {
        case let .notReported(n):
            return "\(n) has not reported yet"
        case let .stopFailed(n, g):
            return "BLOCKED: a stop failed on \(n); fence it or fix it and run `vigil cleanup \(g) \(n)`"
        case let .stopping(n, phase, deaf):
            return "waiting for \(n) to stop it (\(phase))\(deaf ? deafText : "")"
        case let .acknowledging(n, deaf):
            return "waiting for \(n) to acknowledge\(deaf ? deafText : "")"
        case let .earlierHandover(n):
            return "waiting for \(n): an earlier handover left the group maybe running there (it probes)"
        case let .fencing(why):
            return why.description
        case let .leftActiveOnDisk(n):
            return
                "BLOCKED: \(n) left (its storage slot says so) while the group was active there; `vigil confirm-down \(n)` once it is really off"
        case let .leftActive(n, phase, unseen):
            return
                "BLOCKED: \(n) left while the group was \(phase) there\(unseen ? " (an epoch it never saw may have named it since)" : ""); `vigil confirm-down \(n)` once it is really off"
        case let .mustBeFenced(n, state, r):
            let what =
                r.map { "was \($0.phase)\($0.handedOver ? " (handed over, maybe still running)" : "") it" }
                ?? "has not reported since this node started"
            return
                "BLOCKED: \(n) is \(state) and \(what); it must be fenced first (no fencing is configured: `vigil confirm-down \(n)` once it is really off, or fencing = \"none\" to accept the risk)"
        }
    }
}
