import Foundation
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Heartbeat's `respawn USER PROGRAM [ARGS...]`: programs the agent starts and restarts when they exit, as
/// USER (through runuser), until the agent leaves. Exit code 100 means "do not respawn me", as in Heartbeat.
/// A program that keeps dying is restarted at most once every `minimumGap`.
///
/// Each program has a thread that spawns it (posix_spawn with default signal dispositions and an empty mask,
/// so a SIGTERM reaches it) and waits for it. `stopAll` sends SIGTERM, and SIGKILL after `killGrace`.
final class Respawner: @unchecked Sendable {
    struct Child: Sendable {
        let line: String
        let argv: [String]
    }

    let children: [Child]
    let logger: Logger
    let minimumGap: Duration = .seconds(1)
    let killGrace: Duration = .seconds(2)
    /// Stopping, and the PID of each running program (0: none).
    private let state: Mutex<(stopping: Bool, pids: [pid_t])>

    init(lines: [String], logger: Logger) {
        self.logger = logger
        children = lines.map { line in
            let w = line.split(separator: " ").map(String.init)
            let argv = w[0] == "root" ? Array(w.dropFirst()) : ["/usr/sbin/runuser", "-u", w[0], "--"] + w.dropFirst()
            return Child(line: line, argv: argv)
        }
        state = Mutex((false, Array(repeating: 0, count: lines.count)))
    }

    func startAll() {
        for i in children.indices {
            let t = Thread { [self] in keepRunning(i) }
            t.name = "vigil-respawn-\(i)"
            t.start()
        }
    }

    private func keepRunning(_ i: Int) {
        let child = children[i]
        while true {
            let started = ContinuousClock.now
            let spawned: pid_t? = state.withLock { st in
                guard !st.stopping else { return nil }
                guard let pid = Self.spawn(child.argv) else { return -1 }
                st.pids[i] = pid
                return pid
            }
            guard let pid = spawned else { return }
            if pid < 0 {
                logger.error("respawn \(child.line): cannot start \(child.argv[0]): \(String(cString: strerror(errno))); trying again")
            } else {
                logger.info("respawn \(child.line): started (pid \(pid))")
                var status: Int32 = 0
                while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                let stopping = state.withLock { st in
                    st.pids[i] = 0
                    return st.stopping
                }
                if stopping { return }
                let exited = status & 0x7f == 0
                let code = exited ? (status >> 8) & 0xff : status & 0x7f
                if exited, code == 100 {
                    logger.notice("respawn \(child.line): exited with 100, not restarted")
                    return
                }
                logger.warning("respawn \(child.line): exited (\(exited ? "code" : "signal") \(code)); restarting")
            }
            let wait = minimumGap - (ContinuousClock.now - started)
            if wait > .zero { Thread.sleep(forTimeInterval: Double(wait.components.attoseconds) / 1e18 + Double(wait.components.seconds)) }
        }
    }

    /// posix_spawn with default signal handling, an empty signal mask, stdin from /dev/null and no inherited
    /// descriptors beyond stdout/stderr (the agent's log).
    static func spawn(_ argv: [String]) -> pid_t? {
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var all = sigset_t()
        sigfillset(&all)
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigdefault(&attr, &all)
        posix_spawnattr_setsigmask(&attr, &none)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        let cargv = argv.map { strdup($0) } + [nil]
        defer { cargv.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, argv[0], &actions, &attr, cargv, environ)
        guard rc == 0 else { errno = rc; return nil }
        return pid
    }

    /// Stops restarting; SIGTERM to every running program, SIGKILL to those still there after `killGrace`.
    func stopAll() {
        let pids = state.withLock { st -> [pid_t] in
            st.stopping = true
            return st.pids.filter { $0 > 0 }
        }
        for pid in pids { kill(pid, SIGTERM) }
        guard !pids.isEmpty else { return }
        let deadline = ContinuousClock.now + killGrace
        while ContinuousClock.now < deadline {
            if state.withLock({ $0.pids.allSatisfy { $0 == 0 } }) { return }
            usleep(20_000)
        }
        for pid in state.withLock({ $0.pids.filter { $0 > 0 } }) { kill(pid, SIGKILL) }
    }
}
