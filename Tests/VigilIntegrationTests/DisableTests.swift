import Foundation
import Testing
import VigilAgent
import VigilCore

/// `vigil disable` and `vigil enable` on real agents: the group stops everywhere and stays stopped, also after
/// every agent restarted; enabled, it runs again.
@Suite(.serialized) struct DisableTests {
    @Test func aDisabledGroupStaysStoppedAcrossAWholeClusterRestart() throws {
        let tb = try FailoverTests.testbed("disable")
        defer { tb.down() }
        let checker = InvariantChecker(tb)
        try tb.start()
        #expect(tb.wait(for: tb.nodes, timeout: .seconds(15)) { FailoverTests.allRunning($0, groups: 2) } != nil)
        func vigil(_ args: String...) throws -> (Int32, String) {
            try Testbed.spawn([Testbed.binary] + args + ["--socket", "\(tb.run)/n2.sock", "--config", "\(tb.run)/cluster.conf"], env: [:])
        }
        var (code, out) = try vigil("disable", "g1", "--wait", "--timeout", "20s")
        #expect(code == 0 && out.contains("done: g1 stopped everywhere, disabled"), "\(out)")
        func g1(_ s: [String: StatusReport]) -> [GroupStatus] { s.values.compactMap { $0.groups.first { $0.name == "g1" } } }
        #expect(tb.wait(for: tb.nodes, timeout: .seconds(5)) { s in g1(s).allSatisfy { $0.state == "disabled" && $0.owner == nil } } != nil)
        for n in tb.nodes {
            let file = "\(tb.run)/\(n).state/disable.\(n).disabled"
            #expect((try? String(contentsOfFile: file, encoding: .utf8)) == "g1\n", "\(file)")
        }
        // Every agent killed and started again: g1 stays stopped, g2 runs.
        for n in tb.nodes { try tb.kill(n) }
        try tb.start()
        let settled = tb.wait(for: tb.nodes, timeout: .seconds(15)) { s in
            s.count == 3 && g1(s).allSatisfy { $0.state == "disabled" }
                && s.values.allSatisfy { $0.groups.first { $0.name == "g2" }?.state == "running" && $0.coordinator != nil }
        }
        #expect(settled != nil, "\(tb.nodes.map { tb.status($0)?.groups.map { "\($0.name) \($0.state) \($0.reason)" } ?? [] })")
        let startsOfG1 = FailoverTests.ops(tb).filter { $0[2] == "g1" && $0[3] == "start" }
        (code, out) = try vigil("enable", "g1", "--wait", "--timeout", "20s")
        #expect(code == 0 && out.contains("done: g1 running"), "\(out)")
        #expect(FailoverTests.ops(tb).filter { $0[2] == "g1" && $0[3] == "start" }.count > startsOfG1.count)
        for n in tb.nodes {
            #expect((try? String(contentsOfFile: "\(tb.run)/\(n).state/disable.\(n).disabled", encoding: .utf8)) == "")
        }
        checker.stop()
        #expect(checker.violations.isEmpty, "\(checker.violations.prefix(3))")
    }
}

/// `vigil unmanage` and `vigil manage` on real agents: an unmanaged group whose process an administrator stopped
/// by hand is neither restarted nor moved; managed again, it is probed and started.
@Suite(.serialized) struct UnmanageTests {
    @Test func anUnmanagedGroupIsLeftAloneThenProbedWhenManaged() throws {
        let tb = try FailoverTests.testbed("unmanage")
        defer { tb.down() }
        try tb.start()
        #expect(tb.wait(for: tb.nodes, timeout: .seconds(15)) { FailoverTests.allRunning($0, groups: 2) } != nil)
        let owner = try #require(FailoverTests.owner(tb.nodes.reduce(into: [:]) { $0[$1] = tb.status($1) }, "g1"))
        func vigil(_ args: String...) throws -> (Int32, String) {
            try Testbed.spawn([Testbed.binary] + args + ["--socket", "\(tb.run)/n1.sock", "--config", "\(tb.run)/cluster.conf"], env: [:])
        }
        var (code, out) = try vigil("unmanage", "g1", "--wait", "--timeout", "10s")
        #expect(code == 0 && out.contains("done: g1 is left alone"), "\(out)")
        #expect(
            tb.wait(for: tb.nodes, timeout: .seconds(5)) { s in
                s.values.allSatisfy { $0.groups.first { $0.name == "g1" }?.state == "unmanaged" }
            } != nil)
        // The administrator stops it by hand: with monitor_interval 1s, a managed group would be restarted.
        let dummy = Testbed.repo + "/resource-agents/dummy"
        let (stopped, text) = try Testbed.spawn([dummy, "g1", "stop"], env: ["VIGIL_RUN_DIR": "\(tb.run)/\(owner).run"])
        #expect(stopped == 0, "\(text)")
        let opsBefore = FailoverTests.ops(tb).count
        usleep(2_500_000)  // a window of 2.5 monitor intervals in which nothing may happen
        #expect(FailoverTests.ops(tb).count == opsBefore, "\(FailoverTests.ops(tb).suffix(3))")
        #expect(tb.status("n1")?.groups.first { $0.name == "g1" }?.state == "unmanaged")
        // Managed again: probed (stopped), then started.
        (code, out) = try vigil("manage", "g1", "--wait", "--timeout", "15s")
        #expect(code == 0 && out.contains("g1 running"), "\(out)")
        #expect(FailoverTests.ops(tb).dropFirst(opsBefore).contains { $0[2] == "g1" && $0[3] == "start" })
    }
}

/// `vigil maintenance on|off` on real agents: the node's groups stay where they run while its agent is stopped
/// and started again, nothing new lands on it, and out of maintenance the groups are probed, found running and
/// kept there (no start, no stop anywhere).
@Suite(.serialized) struct MaintenanceTests {
    @Test func aNodeInMaintenanceKeepsItsGroupsRunningWhileItsAgentIsStopped() throws {
        let tb = try FailoverTests.testbed("maint")
        defer { tb.down() }
        let checker = InvariantChecker(tb)
        try tb.start()
        #expect(tb.wait(for: tb.nodes, timeout: .seconds(15)) { FailoverTests.allRunning($0, groups: 2) } != nil)
        let owner = try #require(FailoverTests.owner(tb.nodes.reduce(into: [:]) { $0[$1] = tb.status($1) }, "g1"))
        let other = try #require(tb.nodes.first { $0 != owner })
        func vigil(_ args: String...) throws -> (Int32, String) {
            try Testbed.spawn(
                [Testbed.binary] + args + ["--socket", "\(tb.run)/\(other).sock", "--config", "\(tb.run)/cluster.conf"], env: [:])
        }
        let opsBefore = FailoverTests.ops(tb).count
        var (code, out) = try vigil("maintenance", "on", owner)
        #expect(code == 0 && out.contains("\(owner) is in maintenance") && out.contains("g1"), "\(out)")
        let frozen = tb.wait(for: tb.nodes, timeout: .seconds(5)) { s in
            s[owner]?.standby == true && s.values.allSatisfy { $0.groups.first { $0.name == "g1" }?.state == "unmanaged" }
        }
        #expect(frozen != nil, "\(tb.status(owner)?.groups.map { "\($0.name) \($0.state)" } ?? [])")
        // The agent is stopped (a controlled stop: nothing has to move, so it leaves at once), then started.
        try tb.stop(owner)
        usleep(2_000_000)  // a window of two monitor intervals in which nothing may start or stop
        #expect(
            !FailoverTests.ops(tb).dropFirst(opsBefore).contains { $0[3] == "start" || $0[3] == "stop" },
            "\(FailoverTests.ops(tb).suffix(4))")
        #expect(tb.status(other)?.groups.first { $0.name == "g1" }?.owner == owner)
        try tb.start([owner])
        let rejoined = tb.wait(for: [other], timeout: .seconds(10)) { s in s[other]?.nodes.first { $0.name == owner }?.state == "alive" }
        #expect(rejoined != nil)
        (code, out) = try vigil("maintenance", "off", owner, "--wait", "--timeout", "20s")
        #expect(code == 0 && out.contains("\(owner) is out of maintenance"), "\(out)")
        let back = tb.wait(for: tb.nodes, timeout: .seconds(10)) { s in
            s[owner]?.standby == false
                && s.values.allSatisfy { $0.groups.first { $0.name == "g1" }.map { $0.state == "running" && $0.owner == owner } ?? false }
        }
        #expect(back != nil, "\(tb.status(other)?.groups.map { "\($0.name) \($0.state) \($0.owner ?? "-") \($0.reason)" } ?? [])")
        let g1Ops = FailoverTests.ops(tb).dropFirst(opsBefore).filter { $0[2] == "g1" && ($0[3] == "start" || $0[3] == "stop") }
        #expect(g1Ops.isEmpty, "g1 was started or stopped: \(g1Ops)")
        // A node that is down cannot go into maintenance (its groups are for failover): refused, nothing sent.
        let third = try #require(tb.nodes.first { $0 != owner && $0 != other })
        try tb.kill(third)
        #expect(tb.wait(for: [other], timeout: .seconds(5)) { $0[other]?.nodes.first { $0.name == third }?.state == "dead" } != nil)
        (code, out) = try vigil("maintenance", "on", third)
        #expect(code == 1 && out.contains("\(third) is dead"), "\(out)")
        #expect(tb.status(other)?.groups.allSatisfy { $0.state != "unmanaged" } == true)
        checker.stop()
        #expect(checker.violations.isEmpty, "\(checker.violations.prefix(3))")
    }
}
