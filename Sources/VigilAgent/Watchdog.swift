import CLinux
import Foundation
import VigilCore

/// A Linux watchdog device (`/dev/watchdog`, e.g. softdog): armed with the storage watchdog_timeout, fed
/// while the agent runs (`ClusterNode.watchdogHealthy`: not once fenced in reboot mode). If the agent hangs,
/// the kernel resets the machine: the guarantee behind msgwait.
final class Watchdog {
    /// -1 once disarmed: the descriptor number may belong to something else by then.
    private(set) var fd: Int32
    let seconds: Int32
    var lastFeed: Instant?

    init(path: String, timeout: Duration) throws {
        fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw AgentError(
                "cannot open the watchdog \(path): \(String(cString: strerror(errno))) (load softdog, or remove [storage] watchdog)")
        }
        // The driver counts whole seconds (config check refuses anything else); it may also round the value
        // up to what its hardware supports and hands the value it set back. Fencing counts on a reset within
        // watchdog_timeout: a driver that resets later is refused.
        let wanted = Int32(max(1, (timeout.nanoseconds + 999_999_999) / 1_000_000_000))
        var actual = wanted
        // WDIOC_SETTIMEOUT pings the device. A predecessor killed without a magic close left it running: a
        // restarted agent must not push that reset back before it may feed it (quorum or storage,
        // `watchdogHealthy`), or each restart would restart the clock msgwait counts on. Opening a running
        // device does not ping it; the timeout it kept is read instead, and set only when it differs.
        var current: Int32 = 0
        if vigil_watchdog_get_timeout(fd, &current) == 0, current == wanted {
            actual = current
        } else if vigil_watchdog_set_timeout(fd, &actual) != 0 {
            close(fd)
            throw AgentError("cannot set the timeout of \(path) to \(wanted) s: \(String(cString: strerror(errno)))")
        }
        guard Int64(actual) * 1_000_000_000 <= timeout.nanoseconds else {
            _ = write(fd, "V", 1)  // magic close: do not reset the machine over a refused start
            close(fd)
            throw AgentError(
                "the watchdog \(path) was asked for \(wanted) s but set \(actual) s: it would reset a hung node later than watchdog_timeout (\(timeout.compactDescription)) and fencing would count it fenced too early; set watchdog_timeout = \"\(actual)s\" (and msgwait >= \(2 * actual)s)"
            )
        }
        seconds = actual
    }

    /// Pets the watchdog (at most every 100 ms).
    func feed() {
        guard fd >= 0 else { return }
        let now = Monotonic.now()
        if let l = lastFeed, now - l < .milliseconds(100) { return }
        lastFeed = now
        _ = write(fd, "\0", 1)
    }

    /// Magic close: a controlled exit does not reset the machine.
    func disarm() {
        guard fd >= 0 else { return }
        _ = write(fd, "V", 1)
        close(fd)
        fd = -1
    }
}
