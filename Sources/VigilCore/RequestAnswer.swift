/// The answer to an administrative request: the node that carries it out (the coordinator, or the named node
/// for standby and cleanup) accepts or refuses it, with a typed reason. It travels back to the node the request
/// was made on in a `.requestReply` message, and from there to the waiting `vigil` command.
public enum RequestAnswer: Hashable, Sendable, Codable, CustomStringConvertible {
    /// `by` carries it out; `note` says what may keep it from taking effect at once.
    case accepted(by: String, note: AcceptNote?)
    /// `by` refused it, and why.
    case refused(by: String, RequestRefusal)

    public var accepted: Bool { if case .accepted = self { true } else { false } }

    /// The node that answered.
    public var answeredBy: String {
        switch self {
        case let .accepted(by, _), let .refused(by, _): by
        }
    }

    public var description: String {
        switch self {
        case let .accepted(by, note): "accepted by \(by)" + (note.map { " (\($0))" } ?? "")
        case let .refused(by, why): "refused by \(by): \(why)"
        }
    }
}

/// Why an accepted request may not take effect at once.
public enum AcceptNote: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The node a group is pinned to cannot run it now (not a member, in standby, fenced…): the group moves
    /// there once it can.
    case targetNotUsable(node: String, state: String)

    public var description: String {
        switch self {
        case let .targetNotUsable(n, state): "\(n) is \(state) now: the group moves there once it can run groups"
        }
    }
}

/// Why a request was refused.
public enum RequestRefusal: Hashable, Sendable, Codable, CustomStringConvertible {
    case noSuchGroup(String)
    case noSuchNode(String)
    /// The request is for the coordinator and this node knows none (no quorum, or an election is running).
    case noCoordinator
    /// A request for the coordinator reached a node that does not coordinate (the coordinator changed on the way).
    case notCoordinator(coordinator: String)
    /// The node that must carry it out is not a member now.
    case unreachable(node: String, state: String)
    /// confirm-down of a node that is still usable.
    case notDown(node: String, state: String)
    /// confirm-down of a node whose storage slot is still being written (so it runs).
    case slotStillWritten(node: String)

    public var description: String {
        switch self {
        case let .noSuchGroup(g): "no group named \(g) in the configuration"
        case let .noSuchNode(n): "no node named \(n) in the configuration"
        case .noCoordinator: "there is no coordinator to carry it out (no quorum, or an election is running)"
        case let .notCoordinator(c): "this node does not coordinate" + (c.isEmpty ? "" : " (\(c) does)")
        case let .unreachable(n, state): "\(n), which must carry it out, is \(state)"
        case let .notDown(n, state): "\(n) is \(state), not down"
        case let .slotStillWritten(n): "the storage slot of \(n) is still being written, so it runs"
        }
    }
}
