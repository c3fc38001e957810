#if canImport(Glibc)
    import Glibc
#endif
import NIOCore
import VigilCore

/// The agent's only clock, as the core's `Instant`: CLOCK_BOOTTIME, which keeps counting while the machine is
/// suspended (CLOCK_MONOTONIC stops). After a suspend the core sees the whole silence at once, ages its peers
/// and acts on it (quorum lost, groups stopped) instead of running on a stale view until fresh packets arrive.
/// NIO's timers run on CLOCK_MONOTONIC: deadlines are converted relative to now.
public enum Monotonic {
    public static func now() -> Instant { Instant(nanoseconds: read(CLOCK_BOOTTIME)) }

    static func deadline(_ i: Instant) -> NIODeadline {
        .now() + .nanoseconds(max(0, (i - now()).nanoseconds))
    }

    /// How long this machine has been suspended since it booted (CLOCK_BOOTTIME - CLOCK_MONOTONIC).
    public static func suspended() -> Duration {
        .nanoseconds(read(CLOCK_BOOTTIME) - read(CLOCK_MONOTONIC))
    }

    static func read(_ clock: clockid_t) -> Int64 {
        var ts = timespec()
        clock_gettime(clock, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}
