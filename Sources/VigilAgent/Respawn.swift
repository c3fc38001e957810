import Foundation
import Logging
import Synchronization

/// Heartbeat's `respawn USER PROGRAM [ARGS...]`: programs the agent starts and restarts when they exit, as
/// USER (through runuser), until the agent leaves. Exit code 100 means "do not respawn me", as in Heartbeat.
/// A program that keeps dying is restarted at most once every `minimumGap`.
final class Respawner: @unchecked Sendable {
    struct Child {
        let line: String
        let argv: [String]
        var process: Process?
        var lastStart: Date = .distantPast
    }

    private let state: Mutex<(children: [Child], stopping: Bool)>
    let logger: Logger
    let minimumGap: TimeInterval = 1

    init(lines: [String], logger: Logger) {
        self.logger = logger
        let children = lines.map { line -> Child in
            let w = line.split(separator: " ").map(String.init)
            let argv = w[0] == "root" ? Array(w.dropFirst()) : ["/usr/sbin/runuser", "-u", w[0], "--"] + w.dropFirst()
            return Child(line: line, argv: argv)
        }
        state = Mutex((children, false))
    }

    func startAll() {
        let n = state.withLock { $0.children.count }
        for i in 0..<n { start(i) }
    }

    private func start(_ i: Int) {
        let next: (argv: [String], line: String, wait: TimeInterval)? = state.withLock { st in
            guard !st.stopping else { return nil }
            let c = st.children[i]
            return (c.argv, c.line, max(0, minimumGap - Date().timeIntervalSince(c.lastStart)))
        }
        guard let (argv, line, wait) = next else { return }
        DispatchQueue.global().asyncAfter(deadline: .now() + wait) { [self] in
            let p = Process()
            p.executableURL = URL(fileURLWithPath: argv[0])
            p.arguments = Array(argv.dropFirst())
            p.terminationHandler = { [self] proc in
                let code = proc.terminationStatus
                let stopping = state.withLock { $0.stopping }
                guard !stopping else { return }
                if proc.terminationReason == .exit, code == 100 {
                    logger.notice("respawn \(line): exited with 100, not restarted")
                    return
                }
                logger.warning("respawn \(line): exited (\(proc.terminationReason == .exit ? "code" : "signal") \(code)); restarting")
                start(i)
            }
            let ok = state.withLock { st -> Bool in
                guard !st.stopping else { return false }
                st.children[i].lastStart = Date()
                st.children[i].process = p
                return true
            }
            guard ok else { return }
            do {
                try p.run()
                logger.info("respawn \(line): started (pid \(p.processIdentifier))")
            } catch {
                logger.error("respawn \(line): cannot start: \(error); trying again")
                start(i)
            }
        }
    }

    /// Stops restarting and sends SIGTERM to every running program.
    func stopAll() {
        let running = state.withLock { st -> [Process] in
            st.stopping = true
            return st.children.compactMap(\.process).filter(\.isRunning)
        }
        for p in running { p.terminate() }
    }
}
