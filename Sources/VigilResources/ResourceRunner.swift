#if canImport(Glibc)
    import Glibc
#endif
import VigilCore

/// Runs init-style resource agents: `AGENT [args...] start|stop|status`.
///
/// Each run is a new process group with default signal dispositions and stdin from /dev/null; stdout and
/// stderr are captured together, line by line (and stdout alone as well, for Heartbeat's status reading). The run ends when the script exits, without waiting for
/// end-of-file, because a `start` that launches a daemon may leave it holding the pipe. At the timeout the
/// whole process group gets SIGTERM and, after `killGrace`, SIGKILL, and the operation counts as failed.
public struct ResourceRunner: Sendable {
    public var searchPath: AgentSearchPath
    /// Time between SIGTERM and SIGKILL of a timed-out operation's process group.
    public var killGrace: Duration
    /// The most output kept per operation (the rest is still passed to the line handler).
    public static let maxCapturedOutput = 64 * 1024
    /// Where operations in flight are recorded (nil: nowhere), for `OperationLedger.reapOrphans` after a restart.
    public var ledger: OperationLedger?

    public init(searchPath: AgentSearchPath, killGrace: Duration = .seconds(1), ledger: OperationLedger? = nil) {
        self.searchPath = searchPath
        self.killGrace = killGrace
        self.ledger = ledger
    }

    /// The first executable regular file named `agent` along the search path.
    public func locate(_ agent: String) -> String? {
        guard !agent.isEmpty, !agent.contains("/") else { return nil }
        for path in searchPath.candidates(for: agent) {
            var st = stat()
            if stat(path, &st) == 0, st.st_mode & S_IFMT == S_IFREG, access(path, X_OK) == 0 { return path }
        }
        return nil
    }

    /// glibc's posix_spawn_file_actions_addclosefrom_np (2.34+), looked up at run time (it needs _GNU_SOURCE).
    static let addCloseFrom: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32)? = {
        guard let sym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(sym, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self)
    }()

    /// Why an operation could not even be started.
    public struct LaunchError: Error, CustomStringConvertible {
        public let description: String
    }

    /// An agent script found on the search path, and how its `status` output is read.
    public struct LocatedAgent: Sendable {
        public let path: String
        /// Heartbeat's stdout convention for scripts from a resource.d directory, LSB exit codes for the rest.
        public let convention: StatusConvention
    }

    /// Finds `agent` on the search path (an `ocf:PROVIDER:TYPE` agent under OCF_ROOT), or says where it looked.
    public func find(_ agent: String) throws(LaunchError) -> LocatedAgent {
        if agent.hasPrefix("ocf:") {
            guard let name = OCFAgentName(agent) else { throw LaunchError(description: "\(agent) is not ocf:PROVIDER:TYPE") }
            let path = name.path(root: searchPath.ocfRoot)
            var st = stat()
            guard stat(path, &st) == 0, st.st_mode & S_IFMT == S_IFREG, access(path, X_OK) == 0 else {
                throw LaunchError(description: "OCF resource agent \(agent) is not installed here (no executable \(path))")
            }
            return LocatedAgent(path: path, convention: .ocf)
        }
        guard let path = locate(agent) else {
            throw LaunchError(description: "resource agent '\(agent)' not found in \(searchPath.directories.joined(separator: ", "))")
        }
        return LocatedAgent(path: path, convention: Self.isHeartbeatScript(path) ? .heartbeat : .lsb)
    }

    /// Scripts in a Heartbeat `resource.d` directory (/etc/ha.d/resource.d, or that of `--heartbeat-config DIR`)
    /// report status Heartbeat's way, on stdout.
    public static func isHeartbeatScript(_ path: String) -> Bool {
        path.split(separator: "/").dropLast().last == "resource.d"
    }

    /// Runs one operation and blocks until it has finished or been killed. `onLine` gets every output line.
    public func run(
        _ resource: ResourceSpec, _ action: ResourceAction, timeout: Duration,
        environment: [String: String], onLine: (String) -> Void = { _ in }
    ) throws(LaunchError) -> OperationOutcome {
        try run(find(resource.agent), resource, action, timeout: timeout, environment: environment, onLine: onLine)
    }

    /// Runs one operation of an agent already found with `find`.
    public func run(
        _ agent: LocatedAgent, _ resource: ResourceSpec, _ action: ResourceAction, timeout: Duration,
        environment: [String: String], onLine: (String) -> Void = { _ in }
    ) throws(LaunchError) -> OperationOutcome {
        // OCF agents take their parameters from the environment (ResourceOperation.environment) and the action
        // alone as argument, `monitor` for status.
        let argv = agent.convention == .ocf ? [agent.path, OCF.action(action)] : [agent.path] + resource.arguments + [action.rawValue]
        return try run(argv: argv, environment: environment, timeout: timeout, onLine: onLine)
    }

    /// Runs any command the way agents run: own process group, normal priority, no inherited descriptors,
    /// output captured, the group killed at the timeout.
    public func run(
        argv: [String], environment: [String: String], timeout: Duration,
        onLine: (String) -> Void = { _ in }
    ) throws(LaunchError) -> OperationOutcome {
        // Two pipes: stdout and stderr are logged together, in order of arrival, but stdout is also kept on its
        // own (Heartbeat reads a status from stdout only).
        var fds: [Int32] = [-1, -1, -1, -1]
        guard pipe(&fds) == 0 else { throw LaunchError(description: "pipe: \(errnoText())") }
        guard fds.withUnsafeMutableBufferPointer({ pipe($0.baseAddress! + 2) }) == 0 else {
            close(fds[0]); close(fds[1])
            throw LaunchError(description: "pipe: \(errnoText())")
        }
        let readEnds = [fds[0], fds[2]]
        let writeEnds = [fds[1], fds[3]]
        // Close-on-exec, so no other child (or a concurrent spawn) inherits the pipes' ends.
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }

        let started = ContinuousClock.now
        let spawned = Self.spawn(argv: argv, environment: environment, output: (writeEnds[0], writeEnds[1]))
        for fd in writeEnds { close(fd) }
        let pid: pid_t
        switch spawned {
        case let .success(p): pid = p
        case let .failure(e):
            for fd in readEnds { close(fd) }
            throw LaunchError(description: "cannot run \(argv[0]): \(String(cString: strerror(e.code)))")
        }
        defer { for fd in readEnds { close(fd) } }
        ledger?.record(pid: pid, description: argv.joined(separator: " "))
        defer { ledger?.finished(pid: pid) }
        for fd in readEnds { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }

        var captured: [UInt8] = []
        var standardOutput: [UInt8] = []
        var partial: [[UInt8]] = [[], []]
        var buffer = [UInt8](repeating: 0, count: 4096)
        var eof = [false, false]
        func drain(_ stream: Int) {
            while !eof[stream] {
                let n = read(readEnds[stream], &buffer, buffer.count)
                if n == 0 { eof[stream] = true }
                guard n > 0 else { return }
                if captured.count < Self.maxCapturedOutput { captured += buffer[0..<min(n, Self.maxCapturedOutput - captured.count)] }
                if stream == 0, standardOutput.count < Self.maxCapturedOutput {
                    standardOutput += buffer[0..<min(n, Self.maxCapturedOutput - standardOutput.count)]
                }
                for byte in buffer[0..<n] {
                    if byte == 0x0A {
                        onLine(String(decoding: partial[stream], as: UTF8.self))
                        partial[stream].removeAll(keepingCapacity: true)
                    } else if partial[stream].count < 4096 {
                        partial[stream].append(byte)
                    }
                }
            }
        }

        var status: Int32 = 0
        var timedOut = false
        var killDeadline: ContinuousClock.Instant?
        let deadline = started + timeout
        while true {
            if eof[0] && eof[1] {
                usleep(10_000)  // the output is closed (POLLHUP would return at once): just wait for the exit
            } else {
                var pfds = (0..<2).filter { !eof[$0] }.map { pollfd(fd: readEnds[$0], events: Int16(POLLIN), revents: 0) }
                _ = poll(&pfds, nfds_t(pfds.count), 10)
                drain(0)
                drain(1)
            }
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid { break }
            if r < 0, errno != EINTR {
                // Someone else reaped it (or SIGCHLD is ignored): the outcome is unknown, so it failed.
                kill(-pid, SIGKILL)
                return OperationOutcome(
                    exitCode: nil, signal: nil, timedOut: timedOut,
                    stdout: String(decoding: captured, as: UTF8.self) + "\n(vigil: lost track of the process: \(errnoText()))",
                    duration: ContinuousClock.now - started)
            }
            let now = ContinuousClock.now
            if !timedOut, now >= deadline {
                timedOut = true
                kill(-pid, SIGTERM)
                killDeadline = now + killGrace
            } else if let k = killDeadline, now >= k {
                kill(-pid, SIGKILL)
                killDeadline = nil
            }
        }
        if timedOut {
            // The script is gone; its children in the group must not outlive the failed operation.
            kill(-pid, SIGKILL)
        }
        drain(0)
        drain(1)
        for stream in 0..<2 where !partial[stream].isEmpty { onLine(String(decoding: partial[stream], as: UTF8.self)) }
        let exited = status & 0x7f == 0
        return OperationOutcome(
            exitCode: exited ? (status >> 8) & 0xff : nil, signal: exited ? nil : status & 0x7f,
            timedOut: timedOut, stdout: String(decoding: captured, as: UTF8.self),
            standardOutput: String(decoding: standardOutput, as: UTF8.self),
            duration: ContinuousClock.now - started)
    }

    /// Why posix_spawn failed: its error number.
    public struct SpawnError: Error { public let code: Int32 }

    /// Starts a child the way every program the agent runs must start: stdin from /dev/null, stdout and stderr
    /// to `output` (nil: the agent's own), no other inherited descriptor, default signal handling and an empty
    /// signal mask (the agent ignores SIGTERM and its threads block signals), `SCHED_OTHER` at normal priority
    /// (the agent itself may be `SCHED_FIFO`), and with `ownProcessGroup` a process group of its own (so a
    /// timeout kills its children too). `environment` nil: the agent's own.
    public static func spawn(
        argv: [String], environment: [String: String]?, output: (Int32, Int32)? = nil,
        ownProcessGroup: Bool = true
    ) -> Result<pid_t, SpawnError> {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if let (out, err) = output {
            posix_spawn_file_actions_adddup2(&actions, out, 1)
            posix_spawn_file_actions_adddup2(&actions, err, 2)
        }
        // No other descriptor of the agent (sockets, the control connection, other operations' pipes) leaks into
        // agents and the daemons they start: a leaked control connection would never see end-of-file.
        if let closeFrom = Self.addCloseFrom { _ = closeFrom(&actions, 3) }

        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var all = sigset_t()
        sigfillset(&all)
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigdefault(&attr, &all)
        posix_spawnattr_setsigmask(&attr, &none)
        if ownProcessGroup { posix_spawnattr_setpgroup(&attr, 0) }
        // A busy child must never compete with heartbeats at realtime priority.
        posix_spawnattr_setschedpolicy(&attr, SCHED_OTHER)
        var normal = sched_param(sched_priority: 0)
        posix_spawnattr_setschedparam(&attr, &normal)
        posix_spawnattr_setflags(
            &attr,
            Int16(
                (ownProcessGroup ? POSIX_SPAWN_SETPGROUP : 0) | POSIX_SPAWN_SETSIGDEF
                    | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSCHEDULER))

        let cargv = argv.map { strdup($0) } + [nil]
        let cenv: [UnsafeMutablePointer<CChar>?]? = environment.map { env in
            env.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        }
        defer { (cargv + (cenv ?? [])).forEach { free($0) } }
        var pid: pid_t = 0
        func attempt() -> Int32 {
            cenv.map { posix_spawn(&pid, argv[0], &actions, &attr, cargv, $0) }
                ?? posix_spawn(&pid, argv[0], &actions, &attr, cargv, environ)
        }
        var rc = attempt()
        // ETXTBSY: a just-written script can be briefly held open for writing by a concurrently forked
        // process. Retry a few times, as Go's os/exec does.
        for _ in 0..<10 where rc == ETXTBSY {
            usleep(10_000)
            rc = attempt()
        }
        return rc == 0 ? .success(pid) : .failure(SpawnError(code: rc))
    }

    func errnoText() -> String { String(cString: strerror(errno)) }
}
