import Foundation
#if canImport(Glibc)
    import Glibc
#endif
import Synchronization
import Testing
import VigilCore

/// Real agents under a nemesis (issue 12, item 4): one fault per scenario against `vigil agent` processes in
/// network namespaces, with the `chaos` test agent's processes as the evidence and `ProcessSampler` judging,
/// every 2 ms from /proc, that no group is ever active on two nodes. Each scenario also asserts that its
/// groups are not silently lost: they end up running exactly once, or the coordinator's status says why not.
///
/// Timing: interval 50 ms, deadtime 300 ms, initdead 2 s; with storage, StorageTests' settings (msgwait 2 s,
/// stop-resources). bench/chaos.sh runs the same faults at random, for minutes.
@Suite(.serialized) struct ChaosTests {
    static let deadtime = ChaosBed.timing.deadtime

    /// The coordinator and a group it owns (pinned there with `move` if it owned none).
    static func coordinatorsGroup(_ bed: ChaosBed) throws -> (String, String) {
        let c = try #require(Testbed.agreedCoordinator(bed.statuses())?.0)
        if let g = bed.groups.first(where: { bed.runsOn($0) == c }) { return (c, g) }
        let g = bed.groups[0]
        try bed.request(c, "move \(g) \(c)")
        try #require(
            try bed.wait("\(g) moved to the coordinator \(c)", timeout: .seconds(15)) { s in
                bed.settled(s) && bed.runsOn(g) == c
            } != nil, "\(bed.describe())")
        return (c, g)
    }

    /// A node other than the coordinator that owns a group, with the group.
    static func followersGroup(_ bed: ChaosBed) throws -> (coordinator: String, node: String, group: String) {
        let c = try #require(Testbed.agreedCoordinator(bed.statuses())?.0)
        let (n, g) = try #require(bed.owner(except: [c]), "no group runs on a follower: \(bed.describe())")
        return (c, n, g)
    }

    // MARK: - SIGSTOP / SIGCONT of a coordinator that owns a group

    /// Without shared storage, with fencing required: while the coordinator is frozen its group keeps running
    /// there (its process is alive), so the new coordinator must block the group rather than start it. After
    /// SIGCONT the cluster settles with every group running once, and the agent was never restarted.
    @Test func aFrozenCoordinatorsGroupWaitsForItWithoutStorage() throws {
        let bed = try ChaosBed("ch-frz")
        defer { bed.close() }
        try bed.start()
        let (c, g) = try Self.coordinatorsGroup(bed)
        let others = bed.tb.nodes.filter { $0 != c }
        let pid = bed.agentPID(c)
        try bed.tb.sh("freeze", c)
        let blocked = try bed.wait("a new coordinator blocks \(g)", nodes: others, timeout: .seconds(5)) { s in
            guard let k = ChaosBed.coordinator(s), k.node != c, let gs = ChaosBed.group(k, g) else { return false }
            return gs.reason.contains("BLOCKED") && gs.reason.contains(c)
        }
        #expect(blocked != nil, "\(bed.describe(others))")
        #expect(bed.sampler.holders(of: g) == [c], "its process keeps running on the frozen node")
        #expect(
            try bed.hold("\(g) stays on the frozen \(c)", for: .seconds(1)) { _ in bed.sampler.holders(of: g).subtracting([c]).isEmpty })
        try bed.tb.sh("thaw", c)
        let healed = try bed.wait("every group running once after SIGCONT", timeout: .seconds(20)) { bed.settled($0) }
        #expect(healed != nil, "\(bed.describe())")
        if let healed { print("frozen coordinator \(c) thawed: settled after \(healed)") }
        #expect(bed.agentPID(c) == pid, "the frozen agent was restarted")
        bed.finish()
    }

    /// With shared storage (iSCSI, stop-resources): frozen longer than deadtime, shorter than msgwait. The new
    /// coordinator fences it by pill; thawed, it reads the pill (or sees its lost quorum first) and stops its
    /// group before the group starts elsewhere (or keeps it, if nobody may start it yet); never fenced by
    /// msgwait, since its agent ran again.
    @Test func aFrozenCoordinatorWithStorageReadsItsPillBeforeItsGroupMoves() throws {
        let bed = try ChaosBed("ch-frzs", storage: "iscsi")
        defer { bed.close() }
        try bed.start()
        #expect(try bed.wait("storage ok", timeout: .seconds(10)) { StorageTests.storageOK($0) } != nil)
        let (c, g) = try Self.coordinatorsGroup(bed)
        let others = bed.tb.nodes.filter { $0 != c }
        try bed.tb.sh("freeze", c)
        // The fault's length is the scenario (deadtime + 900 ms < msgwait 2 s), not a synchronisation.
        #expect(
            try bed.hold("\(g) stays on the frozen \(c)", for: Self.deadtime + .milliseconds(900)) { _ in
                bed.sampler.holders(of: g).subtracting([c]).isEmpty
            })
        try bed.tb.sh("thaw", c)
        let settled = try bed.wait("every group running once, nobody fenced", timeout: .seconds(20)) { s in
            bed.settled(s) && s.values.allSatisfy { $0.storage?.fenced == nil }
        }
        #expect(settled != nil, "\(bed.describe())")
        // How it was fenced (the fence operation is dropped once the node is a member again, so from the
        // events of every node that coordinated meanwhile): by its acknowledgement, or not at all if it rejoined
        // first, stopped (no quorum) and reported it.
        let proofs = bed.tb.nodes.flatMap { n in
            bed.tb.events(n).compactMap { e -> FenceProof? in
                if case let .cluster(.peerFenced(node, proof)) = e, node == c { proof } else { nil }
            }
        }
        print(
            "frozen coordinator \(c) with storage: \(g) running on \(bed.runsOn(g) ?? "?") \(settled ?? .zero) after the thaw; \(proofs.isEmpty ? "no fence needed" : "fenced: \(proofs)")"
        )
        #expect(
            proofs.allSatisfy { if case .acknowledged = $0 { true } else { false } },
            "fenced without its acknowledgement although its agent ran again: \(proofs)")
        // If it moved (it may also stay, when the frozen node is back before anyone may start it), the stop on the
        // frozen node ended before the start elsewhere began.
        if let now = bed.runsOn(g), now != c {
            let ops = bed.ops.filter { $0[2] == g }
            let stop = ops.last { $0[1] == c && $0[3] == "stop" && $0[4] == "end" }
            let start = ops.last { $0[1] == now && $0[3] == "start" && $0[4] == "begin" }
            #expect(stop != nil && start != nil, "\(ops)")
            if let stop, let start { #expect(UInt64(stop[0])! < UInt64(start[0])!, "started on \(now) before \(c) stopped: \(ops)") }
        }
        bed.finish()
    }

    // MARK: - kill -9 of an agent whose resources survive

    /// Without a restart: the killed agent's group keeps running on its node (the process survives), so the
    /// coordinator must block it, not start it elsewhere. When the agent is started again (later than
    /// deadtime), it probes, finds the process and reports it; the group then runs once (it may move: the
    /// blocked assignment already named another node).
    @Test func aKilledAgentsGroupIsBlockedWhileItsProcessSurvives() throws {
        let bed = try ChaosBed("ch-kill")
        defer { bed.close() }
        try bed.start()
        let (c, o, g) = try Self.followersGroup(bed)
        let pids = bed.sampler.pids(of: g)
        try bed.tb.kill(o)
        let others = bed.tb.nodes.filter { $0 != o }
        let blocked = try bed.wait("\(g) blocked on \(c)", nodes: others, timeout: .seconds(5)) { s in
            ChaosBed.group(ChaosBed.coordinator(s), g).map { $0.reason.contains("BLOCKED") && $0.reason.contains("\(o) is dead") } ?? false
        }
        #expect(blocked != nil, "\(bed.describe(others))")
        #expect(try bed.hold("\(g) only on \(o)", for: .seconds(1)) { _ in bed.sampler.holders(of: g) == [o] })
        try bed.tb.start([o])
        let back = try bed.wait("every group running once after the restart", timeout: .seconds(20)) { bed.settled($0) }
        #expect(back != nil, "\(bed.describe())")
        if let back { print("agent of \(o) restarted 1 s after its kill: settled after \(back)") }
        // Safe either way; a move is a needless restart of the resource (for a VM: a cold restart elsewhere).
        let adopted = bed.sampler.pids(of: g) == pids
        print(
            "restarted agent of \(o): \(g) \(adopted ? "adopted, same process" : "stopped there and started on \(bed.runsOn(g) ?? "?")"): \(bed.ops.filter { $0[2] == g }.suffix(4))"
        )
        bed.finish()
    }

    /// kill -9 of the coordinator's agent, started again at once: the new incarnation probes and adopts its
    /// running group; nothing starts it anywhere else, and the process is the same.
    @Test func aCoordinatorKilledAndRestartedAtOnceAdoptsItsRunningGroup() throws {
        let bed = try ChaosBed("ch-kfast")
        defer { bed.close() }
        try bed.start()
        let (c, g) = try Self.coordinatorsGroup(bed)
        let pids = bed.sampler.pids(of: g)
        let startsBefore = bed.starts(of: g).count
        try bed.tb.kill(c)
        try bed.tb.start([c])
        let back = try bed.wait("every group running once after the restart", timeout: .seconds(20)) { s in
            bed.settled(s) && s[c]?.incarnation != nil
        }
        #expect(back != nil, "\(bed.describe())")
        if let back { print("coordinator \(c) killed and restarted at once: settled after \(back)") }
        #expect(bed.sampler.pids(of: g) == pids, "\(g) was restarted instead of adopted")
        #expect(bed.starts(of: g).count == startsBefore, "\(bed.ops.filter { $0[2] == g })")
        bed.finish()
    }

    // MARK: - One-way cuts, deaf and mute nodes

    /// Between the coordinator and a group's owner, one way, then the other way: the groups stay accounted
    /// for (running once, or blocked with a reason) during the cut, and settle after the heal.
    @Test func oneWayCutsBetweenTheCoordinatorAndAnOwner() throws {
        let bed = try ChaosBed("ch-oneway", groups: 3)
        defer { bed.close() }
        try bed.start()
        let (c, o, _) = try Self.followersGroup(bed)
        for (from, to) in [(c, o), (o, c)] {
            try bed.tb.sh("block", from, to)
            let ok = try bed.settle("every group accounted for with \(from) -> \(to) cut", within: .seconds(10), stable: .seconds(2)) { s in
                bed.groups.allSatisfy { bed.accounted($0, s) }
            }
            #expect(ok, "\(from) -> \(to) cut: \(bed.describe())")
            try bed.tb.sh("netheal", "all")
            let healed = try bed.wait("every group running once after the heal", timeout: .seconds(20)) { bed.settled($0) }
            #expect(healed != nil, "after the \(from) -> \(to) cut: \(bed.describe())")
        }
        bed.finish()
    }

    /// A deaf owner (it hears nobody; everybody still hears it) loses quorum and stops its group. The group
    /// must then run once elsewhere, or the coordinator must say why it cannot: never silently lost.
    @Test func aDeafOwnersGroupRunsElsewhereOrIsReportedBlocked() throws {
        let bed = try ChaosBed("ch-deaf")
        defer { bed.close() }
        try bed.start()
        let (_, o, g) = try Self.followersGroup(bed)
        try bed.tb.sh("deaf", o)
        let ok = try bed.settle("\(g) accounted for with \(o) deaf", within: .seconds(10)) { s in
            bed.accounted(g, s, notOn: o)
        }
        #expect(ok, "deaf \(o): \(g) is silently lost: \(bed.describe())")
        try bed.tb.sh("netheal", o)
        #expect(
            try bed.wait("every group running once after the heal", timeout: .seconds(20)) { bed.settled($0) } != nil,
            "\(bed.describe())")
        bed.finish()
    }

    /// A mute owner (nobody hears it; it hears everybody), with shared storage: the others fence it by pill
    /// (its storage network works), it acknowledges, and its group runs once elsewhere.
    @Test func aMuteOwnerIsFencedAndItsGroupRunsElsewhereOnce() throws {
        let bed = try ChaosBed("ch-mute", storage: "iscsi")
        defer { bed.close() }
        try bed.start()
        let (_, o, g) = try Self.followersGroup(bed)
        let others = bed.tb.nodes.filter { $0 != o }
        try bed.tb.sh("mute", o)
        let moved = try bed.wait("\(g) running once elsewhere", nodes: others, timeout: .seconds(15)) { s in
            bed.runsOn(g).map { $0 != o } == true && bed.accounted(g, s, notOn: o)
        }
        #expect(moved != nil, "mute \(o): \(bed.describe(others))")
        if let moved { print("mute owner \(o): \(g) running elsewhere after \(moved)") }
        let k = ChaosBed.coordinator(bed.statuses(others))
        #expect(k?.storage?.fencing.first { $0.node == o }?.done != nil, "\(String(describing: k?.storage?.fencing))")
        try bed.tb.sh("netheal", o)
        #expect(
            try bed.wait("every group running once, nobody fenced", timeout: .seconds(20)) { s in
                bed.settled(s) && s.values.allSatisfy { $0.storage?.fenced == nil }
            } != nil, "\(bed.describe())")
        bed.finish()
    }

    /// A mute owner without shared storage: it loses quorum and stops its group, but nobody can know that, so
    /// the coordinator must say the group is blocked until the owner is heard again (or confirmed down).
    @Test func aMuteOwnersGroupIsReportedBlockedWithoutStorage() throws {
        let bed = try ChaosBed("ch-mute0")
        defer { bed.close() }
        try bed.start()
        let (_, o, g) = try Self.followersGroup(bed)
        let others = bed.tb.nodes.filter { $0 != o }
        try bed.tb.sh("mute", o)
        let blocked = try bed.wait("\(g) reported blocked", nodes: others, timeout: .seconds(5)) { s in
            ChaosBed.group(ChaosBed.coordinator(s), g)?.reason.contains("BLOCKED: \(o) is dead") == true
        }
        #expect(blocked != nil, "\(bed.describe(others))")
        #expect(
            try bed.wait("\(o) stopped \(g) (no quorum)", nodes: [], timeout: .seconds(5)) { _ in bed.sampler.holders(of: g).isEmpty }
                != nil)
        #expect(
            try bed.hold("\(g) stays blocked", for: .seconds(1), nodes: others) { s in
                bed.sampler.holders(of: g).isEmpty && bed.accounted(g, s)
            }, "\(bed.describe(others))")
        try bed.tb.sh("netheal", o)
        #expect(
            try bed.wait("every group running once after the heal", timeout: .seconds(20)) { bed.settled($0) } != nil,
            "\(bed.describe())")
        bed.finish()
    }

    // MARK: - Storage frozen while an owner is cut off

    /// tgtd SIGSTOPped (the only device hangs), then a group's owner cut off the LAN: the coordinator cannot
    /// write a pill, so the group must wait (and say so) however long the cut lasts; the owner, without quorum
    /// and storage, stops it. Thawed, the pill is written and the group runs once elsewhere.
    @Test func aFrozenTargetWhileTheOwnerIsCutOffKeepsTheGroupWaiting() throws {
        let bed = try ChaosBed("ch-tgtd", storage: "iscsi")
        defer { bed.close() }
        try bed.start()
        #expect(try bed.wait("storage ok", timeout: .seconds(10)) { StorageTests.storageOK($0) } != nil)
        let (_, o, g) = try Self.followersGroup(bed)
        let others = bed.tb.nodes.filter { $0 != o }
        try bed.tb.sh("storage-freeze", "iscsi")
        try bed.tb.cut(o)
        let waiting = try bed.wait("\(g) waiting for a fence", nodes: others, timeout: .seconds(8)) { s in
            ChaosBed.group(ChaosBed.coordinator(s), g)?.reason.contains("fencing \(o)") == true
        }
        #expect(waiting != nil, "\(bed.describe(others))")
        #expect(try bed.wait("\(o) stopped \(g)", nodes: [], timeout: .seconds(5)) { _ in bed.sampler.holders(of: g).isEmpty } != nil)
        #expect(
            try bed.hold("\(g) waits while the target is frozen", for: .seconds(2), nodes: others) { s in
                bed.sampler.holders(of: g).isEmpty && bed.accounted(g, s)
            }, "\(bed.describe(others))")
        try bed.tb.sh("storage-thaw", "iscsi")
        let moved = try bed.wait("\(g) running once elsewhere after the thaw", nodes: others, timeout: .seconds(20)) { s in
            bed.runsOn(g).map { $0 != o } == true && bed.accounted(g, s)
        }
        #expect(moved != nil, "\(bed.describe(others))")
        try bed.tb.heal(o)
        #expect(
            try bed.wait("every group running once after the heal", timeout: .seconds(20)) { s in
                bed.settled(s) && s.values.allSatisfy { $0.storage?.fenced == nil }
            } != nil, "\(bed.describe())")
        bed.finish()
    }

    // MARK: - confirm-down, then the node comes back and disappears again

    /// A follower owning a group is cut off (it stops the group: no quorum), confirmed down, and its group
    /// runs elsewhere. It comes back with the same incarnation and is given the group again (`move`). Then
    /// its agent hangs (SIGSTOP) while the group's process keeps running: the old confirmation must not
    /// cover this second disappearance; the group must wait (BLOCKED), not start a second time.
    @Test func aConfirmDownDoesNotCoverTheNodesNextDisappearance() throws {
        let bed = try ChaosBed("ch-confirm")
        defer { bed.close() }
        try bed.start()
        let (c, o, g) = try Self.followersGroup(bed)
        let incarnation = try #require(bed.status(o)?.incarnation)
        let others = bed.tb.nodes.filter { $0 != o }
        try bed.tb.cut(o)
        #expect(
            try bed.wait("\(g) blocked, \(o) stopped it", nodes: others, timeout: .seconds(5)) { s in
                bed.sampler.holders(of: g).isEmpty
                    && ChaosBed.group(ChaosBed.coordinator(s), g)?.reason.contains("BLOCKED: \(o) is dead") == true
            } != nil, "\(bed.describe(others))")
        try bed.request(c, "confirm-down \(o)")
        #expect(
            try bed.wait("\(g) running elsewhere after confirm-down", nodes: others, timeout: .seconds(10)) { s in
                bed.runsOn(g).map { $0 != o } == true && bed.accounted(g, s)
            } != nil, "\(bed.describe(others))")
        try bed.tb.heal(o)
        #expect(
            try bed.wait("\(o) back with the same incarnation", timeout: .seconds(10)) { s in
                bed.settled(s) && s[c]?.node(o)?.state == "alive" && s[c]?.node(o)?.incarnation == incarnation
            } != nil, "\(bed.describe())")
        try bed.request(c, "move \(g) \(o)")
        #expect(
            try bed.wait("\(g) back on \(o)", timeout: .seconds(10)) { s in bed.settled(s) && bed.runsOn(g) == o } != nil,
            "\(bed.describe())")
        let k = try #require(ChaosBed.coordinator(bed.statuses()))
        #expect(k.node == c, "the coordinator changed (\(c) -> \(k.node)): confirm-down lives in its memory")
        try bed.tb.sh("freeze", o)
        let blocked = try bed.wait("\(g) blocked for the frozen \(o)", nodes: others, timeout: .seconds(5)) { s in
            ChaosBed.group(ChaosBed.coordinator(s), g)?.reason.contains("BLOCKED: \(o)") == true
        }
        #expect(blocked != nil, "\(bed.describe(others))")
        #expect(
            try bed.hold("\(g) only on the frozen \(o)", for: .seconds(2)) { _ in bed.sampler.holders(of: g) == [o] },
            "\(bed.describe(others))")
        try bed.tb.sh("thaw", o)
        try bed.request(c, "unmove \(g)")
        #expect(try bed.wait("every group running once", timeout: .seconds(20)) { bed.settled($0) } != nil, "\(bed.describe())")
        bed.finish()
    }

    // MARK: - Replay after a receiver restart

    /// Real packets from n1 to n2, captured on n2's link, replayed after n1 has crashed and n2's agent has
    /// restarted (its replay windows are gone): they must not make n2 believe that n1 is alive.
    @Test func packetsCapturedBeforeAReceiverRestartDoNotReviveADeadSender() throws {
        let bed = try ChaosBed("ch-replay", groups: 0)
        defer { bed.close() }
        try bed.start()
        let capture = bed.tb.run + "/n1-to-n2.hex"
        let n = try bed.tb.sh(
            "exec", "n2", "python3", ChaosBed.chaosnet, "capture", "--src", "10.77.0.1", "--dst", "10.77.0.2",
            "--seconds", "1", "--out", capture)
        let captured = Int(n.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        #expect(captured >= 10, "captured \(captured) packets from n1 to n2")
        try bed.tb.sh("crash", "n1")
        try bed.tb.kill("n2")
        try bed.tb.start(["n2"])
        #expect(
            try bed.wait("n2 back, n1 not alive", nodes: ["n2", "n3"], timeout: .seconds(10)) { s in
                Testbed.agreedCoordinator(s) != nil && s.values.allSatisfy { !["alive", "suspect"].contains($0.node("n1")?.state ?? "") }
            } != nil, "\(bed.describe(["n2", "n3"]))")
        let before = try #require(bed.status("n2"))
        // Replay in the background (~1 s) while n2's view of n1 is watched.
        final class Flag: Sendable { let done = Atomic(false) }
        let flag = Flag()
        let argv = [
            "/bin/bash", Testbed.script, "exec", "--name", bed.tb.name, "outsider", "python3", ChaosBed.chaosnet, "replay",
            "--file", capture, "--to", "10.77.0.2", "--interval", "0.05"
        ]
        let replay = Thread {
            _ = try? Testbed.spawn(argv, env: ["VIGIL_BIN": Testbed.binary])
            flag.done.store(true, ordering: .sequentiallyConsistent)
        }
        replay.start()
        var revived: String?
        let clock = ContinuousClock()
        let t0 = clock.now
        while clock.now - t0 < .seconds(15) {
            let finished = flag.done.load(ordering: .sequentiallyConsistent)
            if let s = bed.status("n2"), let st = s.node("n1")?.state, ["alive", "suspect"].contains(st) { revived = st }
            if finished { break }
            usleep(5000)
        }
        usleep(UInt32(Self.deadtime.milliseconds * 1000))
        let after = try #require(bed.status("n2"))
        #expect(revived == nil, "replayed packets made n2 see the crashed n1 as \(revived ?? "")")
        let dropped = after.counters.dropped.values.reduce(0, +) - before.counters.dropped.values.reduce(0, +)
        print(
            "replayed \(captured) captured packets: n2 dropped \(dropped) (\(after.counters.dropped.filter { $0.value > 0 })), n1 seen as \(revived ?? "dead")"
        )
        #expect(dropped >= captured, "\(after.counters.dropped)")
        bed.finish()
    }

    // MARK: - A resource left running on its handover source

    /// The `vm` agent's handover, with the `chaos` agent's migratable mode (and the vm agent's status: running
    /// while it runs here, handed over or not): the source's stop leaves the resource running for the target to
    /// take over. Every target's start fails here (failstart), so after a standby of the source the resource
    /// stays on it, handed over, and the cluster sees the group stopped everywhere. Returns the bed (running),
    /// the source and the targets.
    static func handedOverButStillRunning(_ name: String) throws -> (ChaosBed, String, [String]) {
        let groups =
            "\n[[group]]\nname = \"g1\"\nhome = \"n2\"\nresources = [\"chaos g1 migratable\"]\nmonitor_interval = \"1s\"\nstop_timeout = \"10s\"\nmax_restarts = 0\n"
        let bed = try ChaosBed(name, append: groups, groupNames: ["g1"])
        do {
            try bed.start()
            let source = try #require(bed.runsOn("g1"))
            let targets = bed.tb.nodes.filter { $0 != source }
            for t in targets { #expect(FileManager.default.createFile(atPath: "\(bed.tb.run)/failstart.\(t)", contents: nil)) }
            try bed.request(source, "standby")
            let failed = try bed.wait("every target failed to take g1", timeout: .seconds(15)) { s in
                guard let gs = ChaosBed.group(ChaosBed.coordinator(s), "g1") else { return false }
                return targets.allSatisfy { (gs.failures[$0] ?? 0) >= 1 }
                    && bed.ops.filter { $0[3] == "start" && $0[4] == "failed" }.count >= 2
            }
            try #require(failed != nil, "\(bed.describe())")
            #expect(bed.sampler.holders(of: "g1") == [source], "the handed-over resource keeps running on \(source)")
            return (bed, source, targets)
        } catch {
            bed.close()
            throw error
        }
    }

    /// Lets every target start g1 again (failstart removed, failures cleaned up through `via`).
    static func allowTargets(_ bed: ChaosBed, _ targets: [String], via: String) throws {
        for t in targets { unlink("\(bed.tb.run)/failstart.\(t)") }
        for t in targets { try bed.request(via, "cleanup g1 \(t)") }
    }

    /// The source's agent is killed and restarted: its probe must find the handed-over resource, so that when a
    /// target may start the group again it takes it over instead of cold-starting it beside the one still
    /// running there.
    @Test func aResourceLeftRunningOnItsHandoverSourceIsFoundAfterTheSourceRestarts() throws {
        let (bed, source, targets) = try Self.handedOverButStillRunning("ch-handover")
        defer { bed.close() }
        try bed.tb.kill(source)
        try bed.tb.start([source])
        #expect(
            try bed.wait("\(source) back and probed", timeout: .seconds(10)) { s in
                Testbed.fullyConverged(s) && ["stopped", "running"].contains(s[source]?.groups.first?.nodes[source] ?? "")
            } != nil, "\(bed.describe())")
        try Self.allowTargets(bed, targets, via: try #require(ChaosBed.coordinator(bed.statuses())?.node))
        let settled = try bed.wait("g1 running once", timeout: .seconds(20)) { s in bed.settled(s) }
        #expect(settled != nil, "\(bed.describe())")
        print("handed-over g1 after its source \(source) restarted: running on \(bed.runsOn("g1") ?? "?"): \(bed.ops.suffix(3))")
        bed.finish()
    }

    /// The source's agent hangs (SIGSTOP) while the handed-over resource still runs there: the source has
    /// vanished, and its last report (stopped, handed over) does not prove the resource gone, so the group must
    /// wait (BLOCKED: no storage to fence it) rather than cold-start on a target. After SIGCONT it runs once.
    @Test func aVanishedHandoverSourceStillCountsAsRunningTheResource() throws {
        let (bed, source, targets) = try Self.handedOverButStillRunning("ch-handover2")
        defer { bed.close() }
        let others = targets
        try bed.tb.sh("freeze", source)
        #expect(
            try bed.wait("\(source) dead to the others", nodes: others, timeout: .seconds(5)) { s in
                s.values.allSatisfy { !["alive", "suspect"].contains($0.node(source)?.state ?? "") }
            } != nil, "\(bed.describe(others))")
        try Self.allowTargets(bed, targets, via: try #require(ChaosBed.coordinator(bed.statuses(others))?.node))
        let blocked = try bed.wait("g1 blocked for the vanished source", nodes: others, timeout: .seconds(5)) { s in
            ChaosBed.group(ChaosBed.coordinator(s), "g1").map { $0.reason.contains("BLOCKED") && $0.reason.contains(source) } ?? false
        }
        #expect(blocked != nil, "\(bed.describe(others))")
        #expect(
            try bed.hold("g1 only on the frozen \(source)", for: .seconds(2)) { _ in bed.sampler.holders(of: "g1") == [source] },
            "\(bed.describe(others))")
        try bed.tb.sh("thaw", source)
        let settled = try bed.wait("g1 running once", timeout: .seconds(20)) { s in bed.settled(s) }
        #expect(settled != nil, "\(bed.describe())")
        print("handed-over g1 after its source \(source) froze and thawed: running on \(bed.runsOn("g1") ?? "?")")
        bed.finish()
    }

    // MARK: - Crafted packets in Heartbeat drop-in mode

    /// Two agents run from a Heartbeat directory (`--heartbeat-config`), a haresources group of the `chaos`
    /// agent. Malformed ha_msg packets (netstring lengths -999 and 2^63-1 and more, classic framing, signed
    /// but unusable) go to each agent's port, then to the broadcast address: every one is dropped and counted,
    /// the agents keep their PIDs and answer, nobody holds off or changes membership, the group runs once.
    @Test func malformedHeartbeatPacketsAreDroppedAndCountedInDropInMode() throws {
        let key = "vigil-chaos-drop-in"
        let dir = "/tmp/vigil-chaos-hb-\(getpid())/ha.d"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: dir).deletingLastPathComponent().path) }
        try
            "keepalive 50ms\nwarntime 150ms\ndeadtime 300ms\ninitdead 2\nudpport 694\nucast eth0 10.77.0.1\nucast eth0 10.77.0.2\nauto_failback on\nnode n1 n2\ncrm no\n"
            .write(toFile: dir + "/ha.cf", atomically: true, encoding: .utf8)
        try "n1 chaos::g1\n".write(toFile: dir + "/haresources", atomically: true, encoding: .utf8)
        try "auth 1\n1 sha1 \(key)\n".write(toFile: dir + "/authkeys", atomically: true, encoding: .utf8)
        chmod(dir + "/authkeys", 0o600)
        try FileManager.default.createSymbolicLink(atPath: dir + "/resource.d", withDestinationPath: ChaosBed.agents)
        let tb = try Testbed(name: "ch-hb", nodes: 2, timing: ChaosBed.timing, extra: ["--heartbeat", dir])
        let bed = ChaosBed(testbed: tb, cluster: "linux-ha", groups: ["g1"])
        defer { bed.close() }
        try tb.start()
        func runningOnce(_ s: [String: StatusReport]) -> Bool {
            s.count == 2 && bed.runsOn("g1") != nil
                && s.values.allSatisfy { $0.groups.first?.state == "running" && $0.groups.first?.owner == bed.runsOn("g1") }
                && s.values.allSatisfy { $0.nodes.allSatisfy { $0.state == "alive" } }
        }
        try #require(try bed.wait("g1 running", timeout: .seconds(20)) { runningOnce($0) } != nil, "\(tb.log("n1").suffix(2000))")
        let before = bed.statuses()
        // Every drop reason counts (a 4-byte "###\n" is too short to be taken for Heartbeat: bad_magic).
        func heartbeatDrops(_ r: StatusReport?) -> Int { r?.counters.dropped.values.reduce(0, +) ?? 0 }
        for (i, node) in tb.nodes.enumerated() {
            let out = try tb.sh(
                "exec", "outsider", "python3", ChaosBed.chaosnet, "malformed", "--to", "10.77.0.\(i + 1)", "--key", key, "--node", node)
            let sent = (try? JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])?["sent"] as? [String: Int]
            let count = sent?["10.77.0.\(i + 1)"] ?? 0
            #expect(count >= 30, "\(out)")
            let counted = try bed.wait("\(node) counted \(count) packets", nodes: [node], timeout: .seconds(5)) { s in
                heartbeatDrops(s[node]) - heartbeatDrops(before[node]) >= count
            }
            #expect(counted != nil, "\(node): \(String(describing: bed.status(node)?.counters))")
            #expect(
                heartbeatDrops(bed.status(node)) - heartbeatDrops(before[node]) == count,
                "\(String(describing: bed.status(node)?.counters.dropped))")
        }
        // Broadcast, unsigned only (a signed packet with src=n1 would be an authentic Heartbeat node to n2).
        let mid = bed.statuses()
        let broadcast = try tb.sh("exec", "outsider", "python3", ChaosBed.chaosnet, "malformed", "--to", "10.77.0.255")
        #expect(
            try bed.wait("the broadcast counted", timeout: .seconds(5)) { s in
                tb.nodes.allSatisfy { heartbeatDrops(s[$0]) - heartbeatDrops(mid[$0]) >= 25 }
            } != nil, "\(broadcast): \(bed.statuses().mapValues { $0.counters.dropped })")
        let after = bed.statuses()
        for node in tb.nodes {
            #expect(
                after[node]?.agent?.pid == before[node]?.agent?.pid, "\(node)'s agent restarted or crashed: \(tb.log(node).suffix(1500))")
            #expect(try tb.request(node, "ping") == "pong\n")
            #expect(after[node]?.standby == false, "\(node) held off: \(after[node]?.standbyReason ?? "")")
            #expect(after[node]?.nodes.map(\.state) == before[node]?.nodes.map(\.state))
            #expect(after[node]?.counters.accepted ?? 0 > before[node]?.counters.accepted ?? 0, "\(node) stopped accepting heartbeats")
        }
        #expect(try bed.hold("g1 keeps running once", for: .milliseconds(500), nodes: tb.nodes) { runningOnce($0) })
        bed.finish()
    }
}
