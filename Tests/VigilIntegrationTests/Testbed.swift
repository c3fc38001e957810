import Foundation
#if canImport(Glibc)
    import Glibc
#endif
import Testing
import VigilAgent
import VigilCore

/// A real cluster for one test: `scripts/vigil-testbed` builds network namespaces on a bridge and starts
/// real `vigil agent` processes; statuses are read through each agent's control socket.
final class Testbed {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static let script = repo + "/scripts/vigil-testbed"
    static var binary: String {
        ProcessInfo.processInfo.environment["VIGIL_BIN"] ?? repo + "/.build/debug/vigil"
    }

    let name: String
    let nodes: [String]
    let run: String
    let timing: TimingSpec

    init(
        name: String, nodes count: Int = 3, links: Int = 1, timing: TimingSpec, transport: String = "unicast",
        extra: [String] = []
    ) throws {
        self.name = name
        self.nodes = (1...count).map { "n\($0)" }
        self.run = "/tmp/vigil-testbed-\(name)"
        self.timing = timing
        try Self.requireRoot()
        try sh(
            [
                "up", "--nodes", "\(count)", "--links", "\(links)", "--transport", transport,
                "--interval", timing.interval.compactDescription, "--warntime", timing.warntime.compactDescription,
                "--deadtime", timing.deadtime.compactDescription, "--initdead", timing.initdead.compactDescription
            ] + extra)
    }

    static func requireRoot() throws {
        guard geteuid() == 0 else {
            throw TestbedError("the namespace tests need root (ip netns); run the suite as root, e.g. sudo scripts/test")
        }
    }

    func down() { _ = try? sh("down") }

    func start(_ which: [String]? = nil) throws { try sh(["start"] + (which ?? nodes)) }
    func kill(_ node: String) throws { try sh("kill", node) }
    func stop(_ node: String) throws { try sh("stop", node) }

    /// Sends `signal` to the node's agent directly (no script in between), so a test can time from the signal.
    func signal(_ node: String, _ sig: Int32) throws {
        let text = try sh("pid", node).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let pid = Int32(text), Glibc.kill(pid, sig) == 0 else { throw TestbedError("cannot signal \(node) (pid \(text))") }
    }
    func cut(_ node: String) throws { try sh("cut", node) }
    func heal(_ node: String) throws { try sh("heal", node) }
    func inOutsider(_ args: String...) throws -> String { try sh(["exec", "outsider"] + args) }

    /// Sends one control-socket request line to `node`'s agent (standby, move ..., confirm-down ...). A request
    /// is answered once the node that carries it out accepted or refused it (or after the agent's 2 s or more).
    func request(_ node: String, _ line: String) throws -> String {
        try ControlClient.request(path: "\(run)/\(node).sock", command: line, timeout: .seconds(10))
    }

    func status(_ node: String) -> StatusReport? {
        guard let text = try? ControlClient.request(path: "\(run)/\(node).sock", command: "status", timeout: .seconds(2)) else {
            return nil
        }
        return try? JSONDecoder().decode(StatusReport.self, from: Data(text.utf8))
    }

    /// Polls the given nodes' statuses (every 2 ms) until `condition` holds; returns how long it took,
    /// or nil after `timeout`.
    func wait(for which: [String], timeout: Duration, _ condition: ([String: StatusReport]) -> Bool) -> Duration? {
        let clock = ContinuousClock()
        let start = clock.now
        while clock.now - start < timeout {
            var all: [String: StatusReport] = [:]
            for n in which { if let s = status(n) { all[n] = s } }
            if all.count == which.count, condition(all) { return clock.now - start }
            usleep(2000)
        }
        return nil
    }

    /// The one coordinator all `which` agree on, if they do.
    /// Polls `condition` every `every` until it holds (true) or `timeout` passed (false).
    static func until(_ timeout: Duration, every: Duration = .milliseconds(100), _ condition: () -> Bool) -> Bool {
        let clock = ContinuousClock()
        let start = clock.now
        while clock.now - start < timeout {
            if condition() { return true }
            usleep(useconds_t(every.nanoseconds / 1000))
        }
        return false
    }

    static func agreedCoordinator(_ s: [String: StatusReport]) -> (String, UInt64)? {
        guard let first = s.values.first, let c = first.coordinator else { return nil }
        let agree = s.values.allSatisfy { $0.coordinator == c && $0.term == first.term && $0.quorate }
        let claimers = s.values.filter { $0.role == "coordinator" }
        guard agree, claimers.count <= 1 else { return nil }
        return (c, first.term)
    }

    /// An agreed coordinator and full membership: every node sees every other node alive. Tests start from
    /// here; a coordinator alone can be agreed (with a majority) before the last node has been heard by all.
    static func fullyConverged(_ s: [String: StatusReport]) -> Bool {
        agreedCoordinator(s) != nil && s.values.allSatisfy { r in r.nodes.allSatisfy { $0.state == "alive" } }
    }

    /// The agent's log, for failure messages only: tests assert on `events` and status, never on log text.
    func log(_ node: String) -> String { (try? String(contentsOfFile: "\(run)/\(node).log", encoding: .utf8)) ?? "" }

    /// The typed events the node's agents wrote to their events file (`--events-file`), across restarts.
    func events(_ node: String) -> [AgentEvent] { Self.events(file: "\(run)/\(node).events") }

    /// The typed events of an events file. A missing file, or a line that does not decode (other than a last
    /// line being written), is recorded as a test issue: a negative check must never pass on an empty list.
    static func events(file: String) -> [AgentEvent] {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            Issue.record("no events file at \(file)")
            return []
        }
        let decoder = JSONDecoder()
        let lines = text.split(separator: "\n", omittingEmptySubsequences: true)
        var out: [AgentEvent] = []
        for (i, line) in lines.enumerated() {
            do {
                if let e = try decoder.decode(JournalEvent.self, from: Data(line.utf8)).event { out.append(e) }
            } catch {
                if i < lines.count - 1 || text.hasSuffix("\n") { Issue.record("\(file): line \(i + 1) does not decode: \(error)") }
            }
        }
        if !out.contains(where: { if case .started = $0 { true } else { false } }) {
            Issue.record("\(file) has no start event")
        }
        return out
    }

    @discardableResult
    func sh(_ args: String...) throws -> String { try sh(args) }

    @discardableResult
    func sh(_ args: [String]) throws -> String {
        let argv = [Self.script] + args.prefix(1) + ["--name", name] + args.dropFirst()
        let (status, text) = try Self.spawn(["/bin/bash"] + argv, env: ["VIGIL_BIN": Self.binary])
        guard status == 0 else { throw TestbedError("vigil-testbed \(args.joined(separator: " ")) failed (\(status)): \(text)") }
        return text
    }

    /// posix_spawn + waitpid, output through a temporary file. (Foundation's Process.waitUntilExit was seen
    /// to hang here after a child left daemonised grandchildren behind.)
    static func spawn(_ argv: [String], env extra: [String: String]) throws -> (Int32, String) {
        let out = "/tmp/vigil-testbed-spawn-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).out"
        defer { unlink(out) }
        let pid = try launch(argv, env: extra, output: out)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let text = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
        let exited = status & 0x7f == 0
        return (exited ? (status >> 8) & 0xff : 128 + (status & 0x7f), text)
    }

    /// Starts `argv` (stdin /dev/null, stdout and stderr to `output`) and returns its PID without waiting.
    static func launch(_ argv: [String], env extra: [String: String] = [:], output: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var environment = ProcessInfo.processInfo.environment
        for (k, v) in extra { environment[k] = v }
        let cargv = argv.map { strdup($0) } + [nil]
        let cenv = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (cargv + cenv).forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, argv[0], &actions, nil, cargv, cenv)
        guard rc == 0 else { throw TestbedError("posix_spawn \(argv[0]): \(String(cString: strerror(rc)))") }
        return pid
    }
}

struct TestbedError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
