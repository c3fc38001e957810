import NIOCore
import VigilCore

/// The agent's only clock: CLOCK_MONOTONIC through NIO, as the core's `Instant`.
public enum Monotonic {
    public static func now() -> Instant { Instant(nanoseconds: Int64(NIODeadline.now().uptimeNanoseconds)) }
    static func deadline(_ i: Instant) -> NIODeadline { .uptimeNanoseconds(UInt64(max(0, i.nanoseconds))) }
}
