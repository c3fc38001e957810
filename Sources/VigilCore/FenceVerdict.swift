/// Whether a vanished node is fenced (its groups may start elsewhere), as the fencing rules decide it.
public enum FenceVerdict: Hashable, Sendable {
    /// Its pill was acknowledged, msgwait passed since the pill was written, or its slot was still for msgwait.
    case fenced
    /// Not yet: what the fence operation waits for.
    case waiting(FenceWait)
}

/// What a fence operation waits for (shown in `vigil status` as the group's reason).
public enum FenceWait: Hashable, Sendable, CustomStringConvertible {
    /// No `[storage]` table: no fencing channel.
    case noStorage
    /// The pill was issued this pass; the next storage cycles write it.
    case pillIssued(node: String)
    /// Fewer than a majority of devices have it yet.
    case writingPill(node: String, needed: Int, devices: Int)
    /// Fewer than a majority of devices are usable here: the pill cannot be written.
    case cannotWritePill(node: String, usable: Int, devices: Int)
    /// On a majority since `ago`: waiting for the node's acknowledgement or for msgwait.
    case pillWritten(node: String, ago: Duration, msgwait: Duration)
    /// msgwait passed, but the node's slot still moves and shows groups not stopped: a stop may have failed
    /// there, so only its acknowledgement counts.
    case slotAliveWithGroups(node: String, sincePill: Duration)

    public var description: String {
        switch self {
        case .noStorage:
            "no storage configured"
        case let .pillIssued(n):
            "fencing \(n): pill issued"
        case let .writingPill(n, needed, devices):
            "fencing \(n): writing the pill (\(needed) of \(devices) devices needed)"
        case let .cannotWritePill(n, usable, devices):
            "fencing \(n): cannot write the pill: only \(usable) of \(devices) devices usable here"
        case let .pillWritten(n, ago, msgwait):
            "fencing \(n): pill written \(String(format1: ago.milliseconds / 1000)) s ago, waiting for its acknowledgement or msgwait \(msgwait.compactDescription)"
        case let .slotAliveWithGroups(n, since):
            "fencing \(n): its slot is alive and shows groups not stopped \(String(format1: since.milliseconds)) ms after the pill: waiting for its acknowledgement (a stop may have failed there)"
        }
    }
}
