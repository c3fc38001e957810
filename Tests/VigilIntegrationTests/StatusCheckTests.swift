import Testing
import VigilAgent
@testable import VigilCore

/// `vigil status --check`'s rules, on status reports (no agents needed).
@Suite struct StatusCheckTests {
    static func report(quorate: Bool = true) -> StatusReport {
        let spec = ClusterSpec(name: "t", nodes: ["n1", "n2", "n3"].map { NodeSpec(name: $0, addresses: ["x-\($0)"]) }, timing: .safe)
        var r = ClusterNode(spec: spec, me: "n1", incarnation: 1, now: .zero, persisted: nil).status(now: .zero)
        for i in r.nodes.indices where !r.nodes[i].isSelf {
            r.nodes[i].state = "alive"
            for l in r.nodes[i].links.indices { r.nodes[i].links[l].state = "up" }
        }
        r.quorate = quorate
        r.coordinator = "n1"
        r.groups = [RequestWaitTests.group("web", owner: "n2", "running")]
        return r
    }

    @Test func aHealthyClusterIsOK() {
        let c = StatusCheck.evaluate(Self.report())
        #expect(c.level == .ok && c.findings.isEmpty)
        #expect(c.line == "VIGIL OK - cluster t: 3/3 nodes alive, quorate, coordinator n1 (term 0), 1/1 groups running")
    }

    @Test func theTableMarksNodesInStandby() {
        var r = Self.report()
        r.nodes[1].standby = true
        r.nodes[2].standby = false
        let text = StatusTable.render(r)
        #expect(text.contains("n2 ") && text.contains("alive (standby)"), "\(text)")
        #expect(text.components(separatedBy: "(standby)").count == 2, "only n2: \(text)")
    }

    @Test func theTableShowsWhenThisNodesFailuresExpire() {
        var r = Self.report()
        r.groups = [
            RequestWaitTests.group("web", owner: nil, "stopped", nodes: ["n1": "stopped", "n2": "stopped"], failures: ["n1": 2, "n2": 1])
        ]
        r.groups[0].failuresExpireInMs = 2_459_001
        let text = StatusTable.render(r)
        #expect(text.contains("n1:stopped(2 failures, expire in 41 min)"), "\(text)")
        #expect(text.contains("n2:stopped(1 failures)"), "only this node's expiry is known here: \(text)")
        #expect(StatusTable.failures(1, expireInMs: 1) == "(1 failures, expire in 1 s)")
        #expect(StatusTable.failures(1, expireInMs: 119_000) == "(1 failures, expire in 119 s)")
        #expect(StatusTable.failures(1, expireInMs: 7_140_000) == "(1 failures, expire in 119 min)")
        #expect(StatusTable.failures(1, expireInMs: 7_200_000) == "(1 failures, expire in 2 h 0 min)")
        #expect(StatusTable.failures(3, expireInMs: 86_399_000) == "(3 failures, expire in 24 h 0 min)")
    }

    @Test func warningsAndCriticalsWorstFirst() {
        var r = Self.report()
        r.nodes[2].state = "dead"
        r.nodes[1].links[0].state = "down"
        r.groups.append(RequestWaitTests.group("db", owner: "n2", "moving", failures: ["n3": 2]))
        var c = StatusCheck.evaluate(r)
        #expect(c.level == .warning)
        #expect(c.findings == ["link 0 to n2 is down", "node n3 is dead", "group db is moving", "group db failed 2 times on n3"])
        r.groups.append(RequestWaitTests.group("mail", owner: nil, "blocked"))
        r.quorate = false
        c = StatusCheck.evaluate(r)
        #expect(c.level == .critical)
        #expect(c.findings.prefix(2).allSatisfy { $0.hasPrefix("no quorum") || $0.hasPrefix("group mail is blocked") })
        #expect(c.line.hasPrefix("VIGIL CRITICAL - no quorum"))
        #expect(StatusCheck.unreachable("ECONNREFUSED").level == .critical)
        #expect(StatusCheck.unreadable("{").level == .unknown)
        #expect(StatusCheck.Level.unknown > .warning && StatusCheck.Level.critical > .unknown)
    }
}
