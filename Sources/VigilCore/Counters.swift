/// Packet counters of one agent: everything received, what was accepted, and drops per reason.
public struct PacketCounters: Hashable, Sendable, Codable {
    public var received: Int = 0
    public var accepted: Int = 0
    public var sent: Int = 0
    public var dropped: [String: Int] = Dictionary(uniqueKeysWithValues: DropReason.allCases.map { ($0.rawValue, 0) })

    public init() {}

    public func dropped(_ reason: DropReason) -> Int { dropped[reason.rawValue] ?? 0 }
    public var droppedTotal: Int { dropped.values.reduce(0, +) }
}
