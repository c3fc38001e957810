import Foundation
import Logging
import VigilConfig

/// Realtime scheduling and locked memory (`realtime`, `lock_memory`): applied before any thread exists, so
/// every thread the agent starts inherits them.
enum ProcessHardening {
    static func hardenProcess(_ c: ClusterConfig, logger: Logger) -> (Bool, Bool) {
        var rt = false
        var locked = false
        if c.realtime {
            var param = sched_param(sched_priority: Int32(c.realtimePriority))
            if sched_setscheduler(0, SCHED_FIFO, &param) == 0 {
                rt = true
            } else {
                logger.warning(
                    "realtime scheduling (SCHED_FIFO \(c.realtimePriority)) refused: \(String(cString: strerror(errno))); heartbeats may be late under CPU load"
                )
            }
        }
        if c.lockMemory {
            // With a finite RLIMIT_MEMLOCK and no CAP_IPC_LOCK, MCL_FUTURE would make allocations fail once the
            // limit is reached: raise the limit first, and lock only current pages if that is refused.
            var unlimited = rlimit(rlim_cur: rlim_t.max, rlim_max: rlim_t.max)  // RLIM_INFINITY
            let future = setrlimit(__rlimit_resource_t(__RLIMIT_MEMLOCK.rawValue), &unlimited) == 0 || hasCapability(14)
            if !future {
                logger.warning("RLIMIT_MEMLOCK is finite and cannot be raised: locking current memory only (set LimitMEMLOCK=infinity)")
            }
            // MCL_ONFAULT (4): lock pages as they are touched instead of populating every mapping (thread stacks!).
            if mlockall(MCL_CURRENT | (future ? MCL_FUTURE | 4 : 0)) == 0 {
                locked = true
            } else {
                logger.warning(
                    "locking memory (mlockall) refused: \(String(cString: strerror(errno))); the agent may be paged out under memory pressure"
                )
            }
        }
        return (rt, locked)
    }

    /// Whether this process holds capability `bit` (CAP_IPC_LOCK is 14), read from /proc/self/status.
    static func hasCapability(_ bit: Int) -> Bool {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("CapEff:") }),
            let value = UInt64(line.dropFirst(7).trimmingCharacters(in: .whitespaces), radix: 16)
        else { return false }
        return value >> bit & 1 == 1
    }
}
