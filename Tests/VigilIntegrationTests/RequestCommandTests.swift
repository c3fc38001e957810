import Foundation
import Testing
import VigilAgent
import VigilCore

/// The request commands as an operator runs them: the real `vigil` binary against real agents in namespaces.
/// Names are checked against cluster.conf before anything is sent; the node that carries a request out
/// accepts or refuses it (the command's exit code and message say which); `--wait` returns once the cluster
/// got there.
@Suite(.serialized) struct RequestCommandTests {
    @Test func requestsAreCheckedAnsweredAndWaitedFor() throws {
        let tb = try FailoverTests.testbed("req-cli")
        defer { tb.down() }
        try tb.start()
        try #require(tb.wait(for: tb.nodes, timeout: .seconds(15)) { FailoverTests.allRunning($0, groups: 2) } != nil)
        let statuses = tb.nodes.reduce(into: [String: StatusReport]()) { $0[$1] = tb.status($1) }
        let (coordinator, _) = try #require(Testbed.agreedCoordinator(statuses))
        let owner = try #require(FailoverTests.owner(statuses, "g1"))
        let target = try #require(tb.nodes.first { $0 != owner && $0 != coordinator } ?? tb.nodes.first { $0 != owner })
        let via = try #require(tb.nodes.first { $0 != coordinator })  // forwarded to the coordinator
        let conf = ["--config", "\(tb.run)/cluster.conf"]
        func vigil(_ node: String, _ args: String...) throws -> (Int32, String) {
            try Testbed.spawn([Testbed.binary] + args + ["--socket", "\(tb.run)/\(node).sock"] + conf, env: [:])
        }
        let noConf = ["--config", "\(tb.run)/absent.conf"]

        // A typo is caught against cluster.conf: nothing is sent.
        var (code, out) = try Testbed.spawn(
            [Testbed.binary, "move", "typo", target, "--socket", "\(tb.run)/\(via).sock"] + conf, env: [:])
        #expect(code == 1, "\(out)")
        #expect(out.contains("no group named typo in \(tb.run)/cluster.conf"), "\(out)")
        // Without a config to check against, the coordinator refuses it, and says so.
        (code, out) = try Testbed.spawn([Testbed.binary, "move", "typo", target, "--socket", "\(tb.run)/\(via).sock"] + noConf, env: [:])
        #expect(code == 1, "\(out)")
        #expect(out.contains("refused by \(coordinator): no group named typo"), "\(out)")
        #expect(
            tb.events(coordinator).contains(
                .cluster(
                    .requestAnswered(
                        request: .move(group: "typo", node: target), from: via, answer: .refused(by: coordinator, .noSuchGroup("typo")))
                )))

        // Accepted and waited for: returns once g1 runs on the target.
        (code, out) = try vigil(via, "move", "g1", target, "--wait", "--timeout", "30s")
        #expect(code == 0, "\(out)")
        #expect(out.contains("accepted by \(coordinator)") && out.contains("done: g1 running on \(target)"), "\(out)")
        #expect(FailoverTests.owner(tb.nodes.reduce(into: [:]) { $0[$1] = tb.status($1) }, "g1") == target)
        #expect(tb.status(target)?.groups.first { $0.name == "g1" }?.nodes[target] == "running")

        // Standby of the target, waited for: nothing of g1 (or g2) is left there when it returns.
        (code, out) = try vigil(target, "standby", "--wait", "--timeout", "30s")
        #expect(code == 0, "\(out)")
        #expect(out.contains("done: no group runs on \(target)"), "\(out)")
        let after = try #require(tb.status(target))
        #expect(after.groups.allSatisfy { $0.owner != target && $0.nodes[target] == "stopped" }, "\(after.groups)")
        (code, out) = try vigil(target, "unstandby")
        #expect(code == 0, "\(out)")

        // A standby of a node not in the cluster: refused by the node it was made on.
        (code, out) = try Testbed.spawn([Testbed.binary, "standby", "n9", "--socket", "\(tb.run)/\(via).sock"] + noConf, env: [:])
        #expect(code == 1 && out.contains("no node named n9"), "\(out)")
        // The monitoring check: OK while every node is alive, WARNING once one is dead, CRITICAL without an agent.
        (code, out) = try vigil(via, "status", "--check")
        #expect(code == 0 && out.hasPrefix("VIGIL OK - cluster req-cli: 3/3 nodes alive"), "\(out)")
        let victim = try #require(tb.nodes.first { $0 != via })
        try tb.kill(victim)
        #expect(tb.wait(for: [via], timeout: .seconds(5)) { $0[via]?.node(victim)?.state == "dead" } != nil)
        (code, out) = try vigil(via, "status", "--check")
        #expect(code == 1 && out.hasPrefix("VIGIL WARNING - node \(victim) is dead"), "\(out)")
        (code, out) = try vigil(victim, "status", "--check")
        #expect(code == 2 && out.hasPrefix("VIGIL CRITICAL - the agent cannot be reached"), "\(out)")
        // An agent that cannot be reached: 69 (EX_UNAVAILABLE).
        (code, out) = try Testbed.spawn([Testbed.binary, "status", "--socket", "\(tb.run)/absent.sock"], env: [:])
        #expect(code == 69 && out.contains("cannot reach the agent"), "\(out)")
    }
}
