/// Sliding-window replay protection for one (sender, link) stream, in the style of IPsec's anti-replay window.
///
/// Accepts every sequence number once, tolerating reordering within `width` numbers.
public struct ReplayWindow: Sendable, Hashable {
    public static let width: UInt64 = 64
    /// The highest sequence number accepted so far (0: none yet).
    public private(set) var highest: UInt64 = 0
    /// Bit i set: `highest - i` was accepted.
    private var seen: UInt64 = 0

    public init() {}

    public enum Verdict: Sendable, Equatable { case accept, duplicate, tooOld }

    /// Checks `sequence` and, when accepted, records it.
    public mutating func check(_ sequence: UInt64) -> Verdict {
        if sequence == 0 { return .tooOld }
        if sequence > highest {
            let shift = sequence - highest
            seen = shift >= Self.width ? 0 : seen << shift
            seen |= 1
            highest = sequence
            return .accept
        }
        let offset = highest - sequence
        if offset >= Self.width { return .tooOld }
        let bit: UInt64 = 1 << offset
        if seen & bit != 0 { return .duplicate }
        seen |= bit
        return .accept
    }
}
