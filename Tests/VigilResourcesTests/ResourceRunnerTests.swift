import Foundation
import Testing
import VigilCore
@testable import VigilResources

/// The runner against real scripts written into a temporary directory.
@Suite struct ResourceRunnerTests {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    final class Scripts {
        let dir: String
        init() throws {
            dir = NSTemporaryDirectory() + "vigil-agents-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        }
        deinit { try? FileManager.default.removeItem(atPath: dir) }
        func add(_ name: String, _ body: String, executable: Bool = true, in sub: String? = nil) throws {
            let d = sub.map { "\(dir)/\($0)" } ?? dir
            try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
            try ("#!/bin/sh\n" + body + "\n").write(toFile: "\(d)/\(name)", atomically: true, encoding: .utf8)
            chmod("\(d)/\(name)", executable ? 0o755 : 0o644)
        }
        var runner: ResourceRunner { ResourceRunner(searchPath: AgentSearchPath(configured: [dir]), killGrace: .milliseconds(300)) }
    }

    func run(
        _ s: Scripts, _ agent: String, _ action: ResourceAction, args: [String] = [], timeout: Duration = .seconds(5),
        env: [String: String] = [:]
    ) throws -> OperationOutcome {
        try s.runner.run(ResourceSpec(agent: agent, arguments: args), action, timeout: timeout, environment: env)
    }

    @Test func lsbExitCodes() throws {
        let s = try Scripts()
        try s.add("code", "exit $1")
        for (code, state) in [(0, ResourceState.running), (3, .stopped), (1, .stopped), (2, .stopped), (4, .failed), (150, .failed)] {
            let o = try run(s, "code", .status, args: ["\(code)"])
            #expect(o.exitCode == Int32(code))
            #expect(o.status(.lsb) == state, "exit \(code)")
        }
        #expect(try run(s, "code", .start, args: ["0"]).succeeded)
        #expect(try !run(s, "code", .start, args: ["1"]).succeeded)
    }

    @Test func heartbeatStdoutConventionIgnoresTheExitCode() throws {
        let s = try Scripts()
        try s.add("say", "echo \"$1\"; exit 0")
        #expect(try run(s, "say", .status, args: ["resource is running"]).status(.heartbeat) == .running)
        #expect(try run(s, "say", .status, args: ["OK"]).status(.heartbeat) == .running)
        #expect(try run(s, "say", .status, args: ["Service Not Running"]).status(.heartbeat) == .stopped)
        #expect(try run(s, "say", .status, args: ["stopped"]).status(.heartbeat) == .stopped)
        #expect(try run(s, "say", .status, args: ["who knows"]).status(.heartbeat) == .stopped)
        try s.add("liar", "echo running; exit 3")
        #expect(try run(s, "liar", .status).status(.heartbeat) == .running)
        #expect(try run(s, "liar", .status).status(.lsb) == .stopped)
        // stdout only, as Heartbeat: stderr is logged but does not decide (the OCF wrappers log "… is running OK"
        // on stderr), and both streams still reach the log in one capture.
        try s.add("noisy", "echo 'INFO: resource is running OK' >&2; echo 'INFO:  Resource is stopped'; exit 7")
        let o = try run(s, "noisy", .status)
        #expect(o.status(.heartbeat) == .stopped)
        #expect(o.standardOutput == "INFO:  Resource is stopped\n")
        #expect(o.stdout.contains("running OK") && o.stdout.contains("Resource is stopped"))
        try s.add("quiet", "echo 'Service not running' >&2; echo OK")
        #expect(try run(s, "quiet", .status).status(.heartbeat) == .running)
    }

    @Test func argumentsComeBeforeTheActionAndTheEnvironmentIsExactly() throws {
        let s = try Scripts()
        try s.add("args", "echo \"argv: $*\"; echo \"group=$VIGIL_GROUP home=${HOME:-unset}\"")
        var lines: [String] = []
        let env = resourceEnvironment(
            group: "web", resource: ResourceSpec(agent: "args", arguments: ["10.0.0.5/24", "eth0"]),
            action: .start, node: "n1", cluster: "prod")
        let o = try s.runner.run(
            ResourceSpec(agent: "args", arguments: ["10.0.0.5/24", "eth0"]), .start,
            timeout: .seconds(5), environment: env
        ) { lines.append($0) }
        #expect(lines == ["argv: 10.0.0.5/24 eth0 start", "group=web home=unset"])
        #expect(o.stdout == "argv: 10.0.0.5/24 eth0 start\ngroup=web home=unset\n")
    }

    @Test func aHungScriptAndItsChildrenAreKilledAtTheTimeout() throws {
        let s = try Scripts()
        try s.add("hang", "sleep 600 & echo $! > \"$1\"; trap '' TERM; while :; do sleep 1; done")
        let pidfile = s.dir + "/child.pid"
        let o = try run(s, "hang", .stop, args: [pidfile], timeout: .milliseconds(300))
        #expect(o.timedOut && !o.succeeded && o.status(.lsb) == .failed)
        #expect(o.signal == SIGKILL)  // it ignored SIGTERM
        #expect(o.duration < .seconds(3))
        let child = try #require(Int32(String(contentsOfFile: pidfile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(!isRunning(child), "the script's child \(child) survived the timeout")
    }

    @Test func aStartThatLeavesADaemonOnThePipeReturnsWhenTheScriptExits() throws {
        let s = try Scripts()
        try s.add("daemonize", "sleep 30 & echo $! > \"$1\"; echo started; exit 0")
        let pidfile = s.dir + "/d.pid"
        let o = try run(s, "daemonize", .start, args: [pidfile])
        #expect(o.succeeded && o.stdout.contains("started"))
        #expect(o.duration < .seconds(5))
        if let pid = Int32((try? String(contentsOfFile: pidfile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") {
            kill(pid, SIGKILL)
        }
    }

    @Test func scriptsGetDefaultSignalHandlingEvenWhenTheAgentIgnoresSIGTERM() throws {
        let s = try Scripts()
        try s.add("selfterm", "kill -TERM $$; sleep 2; exit 0")
        let old = signal(SIGTERM, SIG_IGN)
        defer { signal(SIGTERM, old) }
        let o = try run(s, "selfterm", .stop)
        #expect(o.signal == SIGTERM && o.exitCode == nil)
    }

    @Test func aScriptThatClosesItsOutputIsWaitedForWithoutSpinning() throws {
        let s = try Scripts()
        try s.add("quiet", "exec >/dev/null 2>&1; sleep 0.5; exit 0")
        func threadCPU() -> Double {
            var u = rusage()
            getrusage(__rusage_who_t(1), &u)  // RUSAGE_THREAD: the runner runs on this thread
            return Double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6
        }
        let before = threadCPU()
        let o = try run(s, "quiet", .start)
        let used = threadCPU() - before
        #expect(o.succeeded && o.duration >= .milliseconds(450))
        #expect(used < 0.2, "the runner used \(used) s of CPU while waiting 0.5 s")
    }

    @Test func lookupOrderAndMissingAgents() throws {
        let s = try Scripts()
        try s.add("x", "echo first", in: "a")
        try s.add("x", "echo second", in: "b")
        try s.add("y", "echo not executable", executable: false, in: "a")
        try s.add("y", "echo executable", in: "b")
        let runner = ResourceRunner(searchPath: AgentSearchPath(configured: [s.dir + "/a", s.dir + "/b"]))
        #expect(try runner.run(ResourceSpec(agent: "x"), .status, timeout: .seconds(5), environment: [:]).stdout == "first\n")
        #expect(try runner.run(ResourceSpec(agent: "y"), .status, timeout: .seconds(5), environment: [:]).stdout == "executable\n")
        #expect(throws: ResourceRunner.LaunchError.self) {
            try runner.run(ResourceSpec(agent: "nope"), .status, timeout: .seconds(5), environment: [:])
        }
        #expect(runner.locate("../etc/passwd") == nil)
    }

    @Test func haresourcesNotation() {
        #expect(ResourceSpec(haresources: "IPaddr2::10.0.0.5/24/eth0") == ResourceSpec(agent: "IPaddr2", arguments: ["10.0.0.5/24/eth0"]))
        #expect(ResourceSpec(haresources: "10.0.0.9") == ResourceSpec(agent: "IPaddr", arguments: ["10.0.0.9"]))
        #expect(ResourceSpec(haresources: "Filesystem::/dev/sda1::/data::ext4")?.arguments == ["/dev/sda1", "/data", "ext4"])
        #expect(ResourceSpec(haresources: "httpd") == ResourceSpec(agent: "httpd"))
        #expect(ResourceSpec(haresources: "../x") == nil)
    }

    /// resource-agents/dummy runs a real process: start, status, stop, status, with LSB codes.
    @Test func dummyAgentRunsARealProcess() throws {
        let dir = NSTemporaryDirectory() + "vigil-dummy-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let runner = ResourceRunner(searchPath: AgentSearchPath(configured: [Self.repo + "/resource-agents"]))
        let r = ResourceSpec(agent: "dummy", arguments: ["t1"])
        func op(_ a: ResourceAction) throws -> OperationOutcome {
            try runner.run(r, a, timeout: .seconds(10), environment: ["VIGIL_RUN_DIR": dir, "PATH": "/usr/bin:/bin"])
        }
        #expect(try op(.status).status(.lsb) == .stopped)
        #expect(try op(.start).succeeded)
        let pid = try #require(
            Int32(String(contentsOfFile: dir + "/dummy-t1.pid", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(isRunning(pid))
        #expect(try op(.status).status(.lsb) == .running)
        #expect(try op(.stop).succeeded)
        #expect(!isRunning(pid))
        #expect(try op(.status).status(.lsb) == .stopped)
    }

    /// Alive and not a zombie: orphans here can wait a while for PID 1 to reap them.
    func isRunning(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        let state = stat[stat.index(close, offsetBy: 2)...].prefix(1)
        return state != "Z"
    }
}
