import Foundation
#if canImport(Glibc)
    import Glibc
#endif
import Testing
import VigilCore

/// A cluster for one chaos scenario: a `Testbed` of real agents whose groups run the `chaos` test agent (one
/// recognisable process per group in the owner's namespace), and a `ProcessSampler` that watches, from /proc,
/// where each group really runs, from before the agents start until `close()`.
///
/// Waits poll the agents' statuses and end early, by throwing `ChaosViolation`, the moment the sampler has
/// seen a group active on two nodes.
final class ChaosBed {
    static let timing = FailoverTests.timing
    static let agents = FailoverTests.agents
    static let chaosnet = agents + "/chaosnet.py"

    let tb: Testbed
    let sampler: ProcessSampler
    /// The group names as the sampler sees them (the `chaos` resource's NAME), equal to Vigil's group names
    /// except in the Heartbeat drop-in test.
    let groups: [String]
    let clock = ContinuousClock()

    /// `groups` groups g1..gN of one `chaos gI` resource (homes n1, n2, ...), or with `append` the given
    /// [[group]] tables instead (then `groupNames` names them).
    init(
        _ name: String, nodes: Int = 3, groups: Int = 2, fencing: String = "required", storage: String? = nil,
        append: String? = nil, groupNames: [String]? = nil
    ) throws {
        var extra = ["--fencing", fencing, "--agent", "chaos", "--agent-dir", Self.agents, "--groups", "\(append == nil ? groups : 0)"]
        if let append {
            let path = "/tmp/vigil-chaos-\(name).groups"
            try append.write(toFile: path, atomically: true, encoding: .utf8)
            extra += ["--append", path]
        }
        if let storage { extra += ["--storage", storage] + StorageTests.storageConf.flatMap { ["--storage-conf", $0] } }
        tb = try Testbed(name: name, nodes: nodes, timing: Self.timing, extra: extra)
        sampler = ProcessSampler(tb)
        self.groups = groupNames ?? (groups == 0 ? [] : (1...groups).map { "g\($0)" })
    }

    /// An already created testbed (the Heartbeat drop-in test), its cluster name as the agent sees it.
    init(testbed: Testbed, cluster: String, groups: [String]) {
        tb = testbed
        sampler = ProcessSampler(
            cluster: cluster, nodes: testbed.nodes.map { ($0, "/run/netns/vt-\(testbed.name)-\($0)") },
            period: .milliseconds(2))
        self.groups = groups
    }

    /// Stops the sampler and takes the testbed down (namespaces, agents, resources, targets). Safe to call twice.
    func close() {
        sampler.stop()
        tb.down()
        try? FileManager.default.removeItem(atPath: "/tmp/vigil-chaos-\(tb.name).groups")
    }

    /// The end of a scenario: no group was ever seen active on two nodes, and the sampler really sampled.
    func finish(_ comment: Comment? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
        sampler.stop()
        print("\(tb.name): \(sampler.summary)")
        #expect(sampler.violations.isEmpty, "\(sampler.violations)", sourceLocation: sourceLocation)
        #expect(sampler.samples > 20, "the sampler hardly ran", sourceLocation: sourceLocation)
    }

    // MARK: - Status

    func status(_ node: String) -> StatusReport? { tb.status(node) }

    func statuses(_ nodes: [String]? = nil) -> [String: StatusReport] {
        (nodes ?? tb.nodes).reduce(into: [:]) { $0[$1] = tb.status($1) }
    }

    /// The coordinator among `s`: of those claiming the role, the one with the highest term.
    static func coordinator(_ s: [String: StatusReport]) -> StatusReport? {
        s.values.filter { $0.role == "coordinator" }.max { $0.term < $1.term }
    }

    static func group(_ r: StatusReport?, _ g: String) -> GroupStatus? { r?.groups.first { $0.name == g } }

    func agentPID(_ node: String) -> Int32? {
        (try? tb.sh("pid", node)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    func request(_ node: String, _ line: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let reply = try tb.request(node, line)
        #expect(reply.hasPrefix("ok"), "\(line) on \(node): \(reply)", sourceLocation: sourceLocation)
    }

    // MARK: - Truth

    /// Where the group runs now, by the OS: the single node, or nil (nowhere, or more than one).
    func runsOn(_ g: String) -> String? {
        let h = sampler.holders(of: g)
        return h.count == 1 ? h.first : nil
    }

    /// Every group runs on exactly one node by the OS, every status in `s` says so with that owner, and the
    /// nodes in `s` agree on one quorate coordinator.
    func settled(_ s: [String: StatusReport]) -> Bool {
        guard Testbed.agreedCoordinator(s) != nil else { return false }
        return groups.allSatisfy { g in
            guard let node = runsOn(g) else { return false }
            return s.values.allSatisfy { r in Self.group(r, g).map { $0.state == "running" && $0.owner == node } ?? false }
        }
    }

    /// The group is not silently lost, as seen from the coordinator among `s`: it runs on exactly one node
    /// (by the OS; not `notOn`) and the coordinator says so, or the coordinator says why it cannot run
    /// (`BLOCKED: ...`, or waiting for a fence).
    func accounted(_ g: String, _ s: [String: StatusReport], notOn: String? = nil) -> Bool {
        guard let c = Self.coordinator(s), let gs = Self.group(c, g) else { return false }
        if gs.state == "blocked" || gs.reason.contains("BLOCKED") || gs.reason.hasPrefix("fencing ") || gs.reason.contains("; fencing ") {
            return true
        }
        guard let node = runsOn(g), node != notOn else { return false }
        return gs.state == "running" && gs.owner == node
    }

    /// A node, other than `except`, on which some group runs (by the OS), with that group.
    func owner(except: Set<String> = []) -> (node: String, group: String)? {
        for g in groups { if let n = runsOn(g), !except.contains(n) { return (n, g) } }
        return nil
    }

    // MARK: - Waiting

    /// Starts every agent and waits until the cluster is fully converged and every group runs exactly once.
    func start(sourceLocation: SourceLocation = #_sourceLocation) throws {
        try tb.start()
        let up = try wait("every group running once", timeout: .seconds(25)) { s in Testbed.fullyConverged(s) && self.settled(s) }
        try #require(up != nil, "the cluster did not settle: \(tb.log("n1").suffix(2000))", sourceLocation: sourceLocation)
    }

    /// Polls `nodes`' statuses (every ~5 ms) until `condition` holds; returns how long that took, or nil after
    /// `timeout`. Throws as soon as the sampler has recorded a violation. Never poll a frozen agent: its
    /// socket accepts, but nobody answers.
    @discardableResult
    func wait(
        _ what: String, nodes: [String]? = nil, timeout: Duration,
        _ condition: ([String: StatusReport]) -> Bool
    ) throws -> Duration? {
        let which = nodes ?? tb.nodes
        let start = clock.now
        let seen = sampler.violations.count
        while clock.now - start < timeout {
            if sampler.violations.count > seen { throw ChaosViolation(what: what, violations: sampler.violations) }
            let s = statuses(which)
            if s.count == which.count, condition(s) { return clock.now - start }
            usleep(5000)
        }
        if sampler.violations.count > seen { throw ChaosViolation(what: what, violations: sampler.violations) }
        return nil
    }

    /// Watches for `duration` that `invariant` holds at every poll (the OS view and `nodes`' statuses); false at
    /// the first poll where it does not. Throws on a sampler violation.
    func hold(
        _ what: String, for duration: Duration, nodes: [String] = [],
        _ invariant: ([String: StatusReport]) -> Bool
    ) throws -> Bool {
        let start = clock.now
        let seen = sampler.violations.count
        while clock.now - start < duration {
            if sampler.violations.count > seen { throw ChaosViolation(what: what, violations: sampler.violations) }
            if !invariant(statuses(nodes)) { return false }
            usleep(5000)
        }
        return true
    }

    /// The condition must come true within `within` and then hold for `stable`.
    func settle(
        _ what: String, nodes: [String]? = nil, within: Duration, stable: Duration = .seconds(1),
        _ condition: @escaping ([String: StatusReport]) -> Bool
    ) throws -> Bool {
        let deadline = clock.now + within
        while clock.now < deadline {
            guard try wait(what, nodes: nodes, timeout: deadline - clock.now, condition) != nil else { return false }
            if try hold(what, for: stable, nodes: nodes ?? tb.nodes, condition) { return true }
        }
        return false
    }

    /// Lines of the shared ops.log: (ns, node, resource, action, phase, reason, peer).
    var ops: [[String]] { FailoverTests.ops(tb) }
    func starts(of g: String) -> [[String]] { ops.filter { $0.count > 4 && $0[2] == g && $0[3] == "start" && $0[4] == "begin" } }

    /// The coordinator's view of each group, for failure messages.
    func describe(_ nodes: [String]? = nil) -> String {
        let s = statuses(nodes)
        let c = Self.coordinator(s)
        let gs = c?.groups.map { "\($0.name): \($0.state) owner \($0.owner ?? "-") [\($0.reason)] nodes \($0.nodes)" } ?? []
        let truth = groups.map { "\($0) on \(sampler.holders(of: $0).sorted())" }
        return "coordinator \(c?.node ?? "none") term \(c?.term ?? 0); \(gs.joined(separator: "; ")); OS: \(truth.joined(separator: ", "))"
    }
}

struct ChaosViolation: Error, CustomStringConvertible {
    let what: String
    let violations: [ProcessSampler.Violation]
    var description: String { "a group ran on two nodes while waiting for \(what): \(violations)" }
}
