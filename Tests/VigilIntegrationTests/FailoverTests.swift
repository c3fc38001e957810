import Foundation
#if canImport(Glibc)
    import Glibc
#endif
import Synchronization
import Testing
import VigilAgent
import VigilCore

/// Resource groups on real agents in namespaces, with resources that run real processes (the `journal` test
/// agent wraps resource-agents/dummy and records every start and stop in a shared ops.log).
/// An invariant checker samples every node's resource processes throughout each test.
@Suite(.serialized) struct FailoverTests {
    static let timing = TimingSpec(
        interval: .milliseconds(50), warntime: .milliseconds(150),
        deadtime: .milliseconds(300), initdead: .seconds(2))
    static let agents = Testbed.repo + "/Tests/VigilIntegrationTests/agents"

    static func testbed(_ name: String, groups: Int = 2, fencing: String = "none") throws -> Testbed {
        try Testbed(
            name: name, timing: timing,
            extra: [
                "--groups", "\(groups)", "--fencing", fencing,
                "--agent", "journal", "--agent-dir", agents
            ])
    }

    /// Every group running exactly once, as every node's status says.
    static func allRunning(_ s: [String: StatusReport], groups: Int) -> Bool {
        s.values.allSatisfy { r in r.groups.count == groups && r.groups.allSatisfy { $0.state == "running" && $0.owner != nil } }
    }

    static func owner(_ s: [String: StatusReport], _ group: String) -> String? {
        s.values.first?.groups.first { $0.name == group }?.owner
    }

    /// Lines of the shared ops.log: (ns, node, resource, action, phase, reason, peer).
    static func ops(_ tb: Testbed) -> [[String]] {
        ((try? String(contentsOfFile: tb.run + "/ops.log", encoding: .utf8)) ?? "")
            .split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: false).map(String.init) }
    }

    @Test func crashedOwnersGroupStartsElsewhereExactlyOnce() throws {
        let tb = try Self.testbed("fo-crash")
        defer { tb.down() }
        let checker = InvariantChecker(tb)
        try tb.start()
        #expect(tb.wait(for: tb.nodes, timeout: .seconds(15)) { Self.allRunning($0, groups: 2) } != nil, "\(tb.log("n1"))")
        let victim = Self.owner(tb.nodes.reduce(into: [:]) { $0[$1] = tb.status($1) }, "g1")!
        let startsBefore = Self.ops(tb).filter { $0[2] == "g1" && $0[3] == "start" && $0[4] == "begin" }.count
        try tb.sh("crash", victim)
        let survivors = tb.nodes.filter { $0 != victim }
        let took = tb.wait(for: survivors, timeout: .seconds(10)) { s in
            s.values.allSatisfy { r in r.groups.allSatisfy { $0.state == "running" && $0.owner != victim } }
        }
        #expect(took != nil, "g1 did not move off crashed \(victim): \(tb.log(survivors[0]))")
        if let t = took { print("crashed owner \(victim): its groups running elsewhere after \(t)") }
        let starts = Self.ops(tb).filter { $0[2] == "g1" && $0[3] == "start" && $0[4] == "begin" }
        #expect(starts.count == startsBefore + 1, "g1 started \(starts.count - startsBefore) times after the crash: \(starts)")
        checker.stop()
        #expect(checker.violations.isEmpty, "\(checker.violations.prefix(3))")
        #expect(checker.samples > 50)
    }

    @Test func standbyStopsThenStartsInThatOrderWithTheHandoverEnvironment() throws {
        let tb = try Self.testbed("fo-standby")
        defer { tb.down() }
        let checker = InvariantChecker(tb)
        try tb.start()
        #expect(tb.wait(for: tb.nodes, timeout: .seconds(15)) { Self.allRunning($0, groups: 2) } != nil)
        let from = Self.owner(tb.nodes.reduce(into: [:]) { $0[$1] = tb.status($1) }, "g1")!
        // The CLI's typed command (JSON); an empty node is the agent's own, which answers it itself.
        let reply = try tb.request(from, ControlCommand.admin(.standby(node: "")).line)
        #expect(try JSONDecoder().decode(AdminReply.self, from: Data(reply.utf8)) == .answered(.accepted(by: from, note: nil)))
        let took = tb.wait(for: tb.nodes, timeout: .seconds(10)) { s in
            Self.allRunning(s, groups: 2) && s.values.allSatisfy { $0.groups.allSatisfy { $0.owner != from } }
        }
        #expect(took != nil, "groups did not leave \(from) in standby")
        if let t = took { print("standby \(from): every group running elsewhere after \(t)") }
        let g1 = Self.ops(tb).filter { $0[2] == "g1" }
        let stop = g1.last { $0[1] == from && $0[3] == "stop" && $0[4] == "end" }
        let start = g1.last { $0[1] != from && $0[3] == "start" && $0[4] == "begin" }
        #expect(stop != nil && start != nil, "\(g1)")
        if let stop, let start {
            #expect(UInt64(stop[0])! < UInt64(start[0])!, "start on \(start[1]) began before the stop on \(from) ended")
            #expect(stop[5] == "handover" && stop[6] == start[1], "stop environment: \(stop)")
            #expect(start[5] == "handover" && start[6] == from, "start environment: \(start)")
        }
        // Standby persists across an agent restart.
        #expect(FileManager.default.fileExists(atPath: "\(tb.run)/\(from).state/fo-standby.\(from).standby"))
        checker.stop()
        #expect(checker.violations.isEmpty, "\(checker.violations.prefix(3))")
    }

    @Test func sigtermHandsTheGroupsOverBeforeTheAgentExits() throws {
        let tb = try Self.testbed("fo-term")
        defer { tb.down() }
        let checker = InvariantChecker(tb)
        try tb.start()
        #expect(tb.wait(for: tb.nodes, timeout: .seconds(15)) { Self.allRunning($0, groups: 2) } != nil)
        let from = Self.owner(tb.nodes.reduce(into: [:]) { $0[$1] = tb.status($1) }, "g2")!
        try tb.stop(from)  // SIGTERM, then waits (bounded) for the agent to exit
        let others = tb.nodes.filter { $0 != from }
        // By the time the agent has exited, its group was stopped with the handover reason...
        let stop = Self.ops(tb).last { $0[2] == "g2" && $0[1] == from && $0[3] == "stop" && $0[4] == "end" }
        #expect(stop?[5] == "handover", "\(Self.ops(tb))")
        // ...and a peer runs it.
        #expect(
            tb.wait(for: others, timeout: .seconds(10)) { s in
                s.values.allSatisfy { r in r.groups.allSatisfy { $0.state == "running" && $0.owner != from } }
            } != nil)
        #expect(tb.events(from).contains(.leaving(request: .sigterm, cause: .handedOver)), "\(tb.events(from).suffix(3))")
        checker.stop()
        #expect(checker.violations.isEmpty, "\(checker.violations.prefix(3))")
    }

    @Test func aFailedStopBlocksTheGroupInsteadOfStartingItElsewhere() throws {
        let tb = try Self.testbed("fo-block", groups: 1)
        defer { tb.down() }
        let checker = InvariantChecker(tb)
        try tb.start()
        #expect(tb.wait(for: tb.nodes, timeout: .seconds(15)) { Self.allRunning($0, groups: 1) } != nil)
        let from = Self.owner(tb.nodes.reduce(into: [:]) { $0[$1] = tb.status($1) }, "g1")!
        #expect(FileManager.default.createFile(atPath: tb.run + "/failstop", contents: nil))
        #expect(try tb.request(from, "standby").hasPrefix("ok"))
        let blocked = tb.wait(for: tb.nodes, timeout: .seconds(10)) { s in
            s[from]?.groups.first?.nodes[from] == "blocked"
        }
        #expect(blocked != nil)
        // It stays blocked: no start anywhere else for two seconds, and the status says why.
        usleep(2_000_000)
        #expect(Self.ops(tb).filter { $0[1] != from && $0[3] == "start" }.isEmpty, "started elsewhere: \(Self.ops(tb))")
        let c = tb.nodes.compactMap { tb.status($0) }.first { $0.role == "coordinator" }
        #expect(c?.groups.first?.state == "blocked")
        #expect(c?.groups.first?.reason.contains("BLOCKED: a stop failed on \(from)") == true, "\(c?.groups.first?.reason ?? "")")
        checker.stop()
        #expect(checker.violations.isEmpty, "\(checker.violations.prefix(3))")
    }

    @Test func withFencingRequiredACrashedOwnersGroupWaitsUntilConfirmedDown() throws {
        let tb = try Self.testbed("fo-fence", groups: 1, fencing: "required")
        defer { tb.down() }
        let checker = InvariantChecker(tb)
        try tb.start()
        #expect(tb.wait(for: tb.nodes, timeout: .seconds(15)) { Self.allRunning($0, groups: 1) } != nil)
        let victim = Self.owner(tb.nodes.reduce(into: [:]) { $0[$1] = tb.status($1) }, "g1")!
        try tb.sh("crash", victim)
        let survivors = tb.nodes.filter { $0 != victim }
        let waiting = tb.wait(for: survivors, timeout: .seconds(10)) { s in
            s.values.contains { $0.role == "coordinator" && $0.groups.first?.reason.contains("must be fenced first") == true }
        }
        #expect(waiting != nil, "no blocked reason: \(survivors.compactMap { tb.status($0)?.groups.first?.reason })")
        #expect(Self.ops(tb).filter { $0[1] != victim && $0[3] == "start" }.isEmpty, "started before fencing")
        #expect(try tb.request(survivors[0], "confirm-down \(victim)").hasPrefix("ok"))
        #expect(tb.wait(for: survivors, timeout: .seconds(10)) { Self.allRunning($0, groups: 1) } != nil)
        checker.stop()
        #expect(checker.violations.isEmpty, "\(checker.violations.prefix(3))")
    }
}

/// Samples, every few milliseconds, which node's namespace really runs each group's resource process
/// (the dummy's PID file in that node's run dir, the process alive and not a zombie), and records every
/// moment a group runs on two nodes at once.
final class InvariantChecker: @unchecked Sendable {
    let tb: Testbed
    let lock = Mutex<(violations: [String], samples: Int, stop: Bool)>(([], 0, false))
    var thread: Thread?

    init(_ tb: Testbed) {
        self.tb = tb
        let t = Thread { [self] in self.loop() }
        thread = t
        t.start()
    }

    var violations: [String] { lock.withLock { $0.violations } }
    var samples: Int { lock.withLock { $0.samples } }

    /// Stops sampling (bounded wait for the sampler thread).
    func stop() {
        lock.withLock { $0.stop = true }
        for _ in 0..<200 where thread?.isFinished == false { usleep(5000) }
    }

    func loop() {
        while !lock.withLock({ $0.stop }) {
            var holders: [String: [String]] = [:]
            for n in tb.nodes {
                let dir = "\(tb.run)/\(n).run"
                for f in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] where f.hasSuffix(".pid") {
                    guard let text = try? String(contentsOfFile: "\(dir)/\(f)", encoding: .utf8),
                        let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), Self.alive(pid)
                    else { continue }
                    holders[f, default: []].append(n)
                }
            }
            lock.withLock { st in
                st.samples += 1
                for (g, ns) in holders where ns.count > 1 {
                    st.violations.append("\(g) running on \(ns.joined(separator: " and ")) at sample \(st.samples)")
                }
            }
            usleep(3000)
        }
    }

    static func alive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        let state = stat[stat.index(close, offsetBy: 2)]
        return state != "Z" && state != "X"
    }
}
