import CLinux
import Foundation
import VigilCore

/// A Linux watchdog device (`/dev/watchdog`, e.g. softdog): armed with the storage watchdog_timeout, fed
/// while the agent runs (`ClusterNode.watchdogHealthy`: not once fenced in reboot mode). If the agent hangs,
/// the kernel resets the machine: the guarantee behind msgwait.
final class Watchdog {
    let fd: Int32
    let seconds: Int32
    var lastFeed: Instant?

    init(path: String, timeout: Duration) throws {
        fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw AgentError("cannot open the watchdog \(path): \(String(cString: strerror(errno))) (load softdog, or remove [storage] watchdog)") }
        seconds = Int32(max(1, timeout.nanoseconds / 1_000_000_000))
        if vigil_watchdog_set_timeout(fd, seconds) != 0 {
            close(fd)
            throw AgentError("cannot set the timeout of \(path) to \(seconds) s: \(String(cString: strerror(errno)))")
        }
    }

    /// Pets the watchdog (at most every 100 ms).
    func feed() {
        let now = Monotonic.now()
        if let l = lastFeed, now - l < .milliseconds(100) { return }
        lastFeed = now
        _ = write(fd, "\0", 1)
    }

    /// Magic close: a controlled exit does not reset the machine.
    func disarm() {
        _ = write(fd, "V", 1)
        close(fd)
    }
}
