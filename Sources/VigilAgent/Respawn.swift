import Foundation
import Logging
import Synchronization
import VigilResources
#if canImport(Glibc)
    import Glibc
#endif

/// Heartbeat's `respawn USER PROGRAM [ARGS...]`: programs the agent starts and restarts when they exit, as
/// USER (through runuser), until the agent leaves. Exit code 100 means "do not respawn me", as in Heartbeat.
/// A program that keeps dying is restarted at most once every `minimumGap`.
///
/// Each program has a thread that spawns it (`ResourceRunner.spawn`: default signal dispositions and an empty
/// mask, so a SIGTERM reaches it; normal priority; no inherited descriptors) and waits for it. `stopAll` sends SIGTERM, and SIGKILL after `killGrace`.
final class Respawner: @unchecked Sendable {
    struct Child: Sendable {
        let line: String
        let argv: [String]
    }

    let children: [Child]
    let logger: Logger
    let minimumGap: Duration = .seconds(1)
    let killGrace: Duration = .seconds(2)
    /// Called on the program's thread when a program ends (not when `stopAll` ended it).
    var onEnded: @Sendable (AgentEvent) -> Void = { _ in }
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
                // As resource agents start (ResourceRunner.spawn), but with the agent's environment and log.
                switch ResourceRunner.spawn(argv: child.argv, environment: nil, ownProcessGroup: false) {
                case let .success(pid):
                    st.pids[i] = pid
                    return pid
                case let .failure(e):
                    errno = e.code
                    return -1
                }
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
                    onEnded(.respawnEnded(program: child.line, code: code, signal: false, restarted: false))
                    return
                }
                onEnded(.respawnEnded(program: child.line, code: code, signal: !exited, restarted: true))
                logger.warning("respawn \(child.line): exited (\(exited ? "code" : "signal") \(code)); restarting")
            }
            let wait = minimumGap - (ContinuousClock.now - started)
            if wait > .zero { Thread.sleep(forTimeInterval: Double(wait.components.attoseconds) / 1e18 + Double(wait.components.seconds)) }
        }
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
