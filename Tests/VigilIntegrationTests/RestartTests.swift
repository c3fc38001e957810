import Foundation
import Testing
import VigilAgent
import VigilCore

/// `vigil restart`: the agent leaves without handing anything over and runs again; its peers keep its groups
/// assigned to it, nothing is stopped, started or moved, and the new agent probes them running.
@Suite(.serialized) struct RestartTests {
    @Test func aRestartedAgentKeepsItsGroupsWhereTheyRun() throws {
        let tb = try FailoverTests.testbed("restart")
        defer { tb.down() }
        try Self.restartKeepsGroups(tb)
    }

    /// With shared storage and fencing required: the leaving slot says the groups are active, and nobody
    /// fences the restarting node or starts its groups; the new agent waits to read its own slot before it
    /// votes (safety.md, finding 11).
    @Test func withStorageNothingIsFencedOrMoved() throws {
        let tb = try StorageTests.testbed("restart-st", storage: "iscsi")
        defer { tb.down() }
        try Self.restartKeepsGroups(tb, storage: true)
    }

    static func restartKeepsGroups(_ tb: Testbed, storage: Bool = false) throws {
        let checker = InvariantChecker(tb)
        try tb.start()
        #expect(
            tb.wait(for: tb.nodes, timeout: .seconds(15)) {
                FailoverTests.allRunning($0, groups: 2) && (!storage || StorageTests.storageOK($0))
            }
                != nil)
        let before = tb.nodes.reduce(into: [String: StatusReport]()) { $0[$1] = tb.status($1) }
        let node = try #require(FailoverTests.owner(before, "g1"))
        let owners = Dictionary(uniqueKeysWithValues: ["g1", "g2"].map { ($0, FailoverTests.owner(before, $0)) })
        let incarnation = try #require(before[node]?.incarnation)
        let pid = try tb.sh("pid", node).trimmingCharacters(in: .whitespacesAndNewlines)
        let opsBefore = FailoverTests.ops(tb).count

        let (code, out) = try Testbed.spawn(
            [
                Testbed.binary, "restart", "--wait", "--timeout", "20s", "--socket", "\(tb.run)/\(node).sock", "--config",
                "\(tb.run)/cluster.conf"
            ],
            env: [:])
        #expect(code == 0, "\(out)")
        #expect(out.contains("restarting: every group stays where it runs") && out.contains("done: the agent is back"), "\(out)")
        let back = tb.wait(for: tb.nodes, timeout: .seconds(15)) { s in
            FailoverTests.allRunning(s, groups: 2) && s[node]?.incarnation != incarnation
                && s.values.allSatisfy { $0.node(node)?.state == "alive" } && (!storage || StorageTests.storageOK(s))
        }
        #expect(back != nil, "\(tb.log(node))")
        let after = tb.nodes.reduce(into: [String: StatusReport]()) { $0[$1] = tb.status($1) }
        for g in ["g1", "g2"] { #expect(FailoverTests.owner(after, g) == owners[g] ?? nil, "\(g) moved") }
        // The same process (execv), a new incarnation.
        #expect(try tb.sh("pid", node).trimmingCharacters(in: .whitespacesAndNewlines) == pid)
        #expect(after[node]?.incarnation ?? 0 > incarnation)
        // Nothing was stopped or started anywhere: only status probes and monitors ran.
        let ops = FailoverTests.ops(tb).dropFirst(opsBefore)
        #expect(!ops.contains { $0[3] == "start" || $0[3] == "stop" }, "\(Array(ops))")
        // The peers saw a leave announcing the restart, then the node back.
        let peer = try #require(tb.nodes.first { $0 != node })
        let seen = tb.events(peer).compactMap { e -> MemberState? in
            if case let .cluster(.memberChanged(n, _, to)) = e, n == node { to } else { nil }
        }
        #expect(seen.suffix(2) == [.left, .alive], "\(seen)")
        #expect(tb.events(node).contains(.exited(code: Agent.restartExitCode)))
        // For the record: how long the node ran without an agent (the exit, to the next agent's start).
        let journal = ((try? String(contentsOfFile: "\(tb.run)/\(node).events", encoding: .utf8)) ?? "").split(separator: "\n")
            .compactMap { try? JSONDecoder().decode(JournalEvent.self, from: Data($0.utf8)) }
        if let exit = journal.last(where: { $0.event == .exited(code: Agent.restartExitCode) }),
            let next = journal.first(where: { $0.monoNs > exit.monoNs && { if case .started = $0.event { true } else { false } }($0) })
        {
            print("vigil restart on \(node)\(storage ? " (storage)" : ""): no agent for \(Double(next.monoNs - exit.monoNs) / 1e6) ms")
        }
        if storage {
            #expect(tb.nodes.allSatisfy { n in !tb.events(n).contains { if case .cluster(.peerFenced) = $0 { true } else { false } } })
            #expect(after.values.allSatisfy { $0.storage?.fenced == nil && $0.storage?.fencing.isEmpty == true })
        }
        checker.stop()
        #expect(checker.violations.isEmpty, "\(checker.violations.prefix(3))")
        #expect(checker.samples > 5)
    }
}
