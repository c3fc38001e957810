import Testing
import VigilCore
import VigilSimulation

/// Scripted runs of the pure core with the simulated shared storage (timings: deadtime 500 ms; storage
/// interval 100 ms, io_timeout 400 ms, watchdog_timeout 800 ms, msgwait 1.6 s): each fencing path, its order
/// of events, and its timing bounds. The simulator's invariant (no group active on two nodes) is checked
/// after every event.
@Suite struct StorageFencingTests {
    static let deadtime = SimulationParameters.defaultTiming.deadtime
    static let storage = SimulationParameters.simStorage

    /// A 3-node cluster with `groups` groups (homes n1, n2, ...), every group running on its home.
    static func settled(nodes: Int = 3, groups: Int = 2, noQuorum: NoQuorumPolicy = .stop, trace: Bool = false) -> Simulation {
        var sim = Simulation.scripted(nodes: nodes, groups: groups, storage: true, noQuorum: noQuorum, trace: trace)
        let ok = sim.advance(
            until: { s in (0..<groups).allSatisfy { s.holders($0) == ["n\($0 % nodes + 1)"] } && s.coordinatorName != nil },
            limit: .seconds(10))
        #expect(ok != nil, "the cluster did not settle: \(sim.violations)")
        sim.advance(by: .seconds(1))  // storage cycles under way everywhere
        return sim
    }

    @Test func aLanCutOwnerIsFencedByItsAcknowledgementAndRestartedOnce() throws {
        var sim = Self.settled()
        sim.cutLAN("n1")
        let took = sim.advance(until: { $0.holders(0) == ["n2"] || $0.holders(0) == ["n3"] }, limit: .seconds(5))
        let t = try #require(took, "g0 never moved: \(sim.violations)")
        // Dead after deadtime, pill read within a few storage intervals, acknowledged, restarted: well under msgwait.
        #expect(t < Self.deadtime + Self.storage.interval * 5 + .milliseconds(100), "\(t)")
        #expect(t < Self.deadtime + Self.storage.msgwait, "the acknowledgement, not msgwait, must end the wait: \(t)")
        let c = try #require(sim.coordinatorName.flatMap { sim.status($0) })
        #expect(c.storage?.fencing.first { $0.node == "n1" }?.done?.contains("acknowledged") == true)
        #expect(["partitioned", "fenced"].contains(c.node("n1")?.state ?? ""), "\(String(describing: c.node("n1")))")
        #expect(sim.status("n1")?.storage?.fenced?.contains("poison pill") == true)
        #expect(sim.violations.isEmpty, "\(sim.violations)")
        // Heal: the pill is cleared and n1 may run groups again.
        sim.healLAN()
        let back = sim.advance(until: { $0.status("n1")?.storage?.fenced == nil && $0.status("n1")?.quorate == true }, limit: .seconds(5))
        #expect(back != nil)
        #expect(sim.violations.isEmpty, "\(sim.violations)")
    }

    @Test func aCrashedOwnerIsRestartedOnlyAfterMsgwait() throws {
        var sim = Self.settled()
        sim.crash("n1")
        let took = sim.advance(until: { !$0.holders(0).isEmpty }, limit: .seconds(8))
        let t = try #require(took)
        // Nobody can acknowledge for a dead machine: its slot must have been still for msgwait (it last moved
        // at most one storage interval before the crash).
        #expect(t >= Self.storage.msgwait - Self.storage.interval, "restarted before msgwait: \(t)")
        // At most: its last heartbeat just before the crash, due dead a deadtime later, still for msgwait from
        // there, then a storage interval to notice and a few to start.
        #expect(t < Self.deadtime + Self.storage.msgwait + Self.storage.interval * 2, "\(t)")
        let c = try #require(sim.coordinatorName.flatMap { sim.status($0) })
        #expect(c.storage?.fencing.first { $0.node == "n1" }?.done?.contains("still for msgwait") == true)
        #expect(sim.violations.isEmpty, "\(sim.violations)")
    }

    @Test func withoutStorageAtTheCoordinatorTheCrashedOwnersGroupWaits() throws {
        var sim = Self.settled(groups: 3)
        let c = try #require(sim.coordinatorName)
        let victim = ["n1", "n2", "n3"].first { $0 != c }!
        let gi = Int(victim.dropFirst())! - 1
        sim.cutStorage(c)
        sim.crash(victim)
        sim.advance(by: Self.deadtime + Self.storage.msgwait * 2)
        #expect(sim.holders(gi).isEmpty, "g\(gi) started although no pill could be written")
        let reason = sim.status(c)?.groups[gi].reason ?? ""
        #expect(reason.contains("fencing \(victim)") && reason.contains("cannot write the pill"), "\(reason)")
        #expect(sim.violations.isEmpty, "\(sim.violations)")
    }

    @Test func aNodeWithoutQuorumAndStorageFencesItselfBeforeMsgwaitEnds() throws {
        // no_quorum = freeze: only the self-fence rule stops n1's group when it loses quorum and storage.
        var sim = Self.settled(noQuorum: .freeze)
        sim.cutLAN("n1")
        sim.cutStorage("n1")
        let stopped = sim.advance(until: { $0.holders(0).isEmpty }, limit: .seconds(5))
        let t = try #require(stopped)
        #expect(t >= Self.deadtime + Self.storage.watchdogTimeout - Self.storage.interval, "\(t)")
        #expect(sim.status("n1")?.storage?.fenced?.contains("no quorum and no storage") == true)
        let moved = sim.advance(until: { $0.holders(0).count == 1 }, limit: .seconds(5))
        #expect(moved != nil)
        #expect(sim.violations.isEmpty, "\(sim.violations)")
    }

    @Test func twoNodesCutApartKeepExactlyOneSurvivorTheCoordinator() throws {
        var sim = Self.settled(nodes: 2, groups: 2)
        let c = try #require(sim.coordinatorName)
        let other = c == "n1" ? "n2" : "n1"
        sim.cutLAN(other)
        let done = sim.advance(until: { $0.holders(0) == [c] && $0.holders(1) == [c] }, limit: .seconds(5))
        #expect(done != nil, "\(sim.violations)")
        #expect(sim.status(c)?.storage?.tieBreakWinner == c)
        #expect(sim.status(c)?.quorate == true)
        #expect(sim.status(other)?.quorate == false)
        #expect(sim.status(other)?.storage?.fenced != nil)
        sim.advance(by: .seconds(3))
        #expect(sim.status(c)?.storage?.fenced == nil, "the winner was shot")
        #expect(sim.violations.isEmpty, "\(sim.violations)")
    }

    /// At the fast profile the election timeout (40 ms) is shorter than a storage interval: the lone two-node
    /// winner must still get its term onto the disk instead of standing again forever (bench/drill-compare).
    @Test func atTheFastProfileALoneTwoNodeWinnerBecomesCoordinator() throws {
        var sim = Simulation.scripted(nodes: 2, groups: 2, storage: true, timing: .fast)
        let ok = sim.advance(
            until: { s in s.holders(0) == ["n1"] && s.holders(1) == ["n2"] && s.coordinatorName != nil },
            limit: .seconds(10))
        #expect(ok != nil, "\(sim.violations)")
        sim.advance(by: .seconds(1))
        let c = try #require(sim.coordinatorName)
        let survivor = c == "n1" ? "n2" : "n1"
        sim.crash(c)
        let took = sim.advance(until: { $0.holders(0) == [survivor] && $0.holders(1) == [survivor] }, limit: .seconds(8))
        #expect(took != nil, "the survivor never took over: \(String(describing: sim.status(survivor)?.groups.map(\.reason)))")
        #expect(sim.coordinatorName == survivor)
        #expect(sim.violations.isEmpty, "\(sim.violations)")
    }

    @Test func aFrozenOwnerReadsItsPillWhenItRunsAgain() throws {
        var sim = Self.settled()
        // Longer than deadtime, shorter than watchdog_timeout + ... : the pill is waiting when it wakes.
        sim.freeze("n1", for: Self.deadtime + .milliseconds(250))
        let moved = sim.advance(until: { $0.holders(0) == ["n2"] || $0.holders(0) == ["n3"] }, limit: .seconds(5))
        #expect(moved != nil)
        #expect(sim.violations.isEmpty, "\(sim.violations)")
    }

    @Test func startUpValidationRejectsAMsgwaitShorterThanTwiceTheWatchdog() {
        let bad = StorageSpec(devices: ["/dev/x"], watchdogTimeout: .seconds(3), msgwait: .seconds(5))
        #expect(bad.timingProblems(deadtime: .seconds(2)).first?.contains("must be at least 2 x watchdog_timeout") == true)
        #expect(StorageSpec(devices: ["/dev/x"]).timingProblems(deadtime: .seconds(2)).isEmpty)
        #expect(StorageSpec(devices: ["a", "b", "c"]).majority == 2)
        #expect(StorageSpec(devices: ["a", "b"]).majority == 2)
    }
}

/// The acknowledged epochs survive a restart: a coordinator learns from a restarted member of assignments it
/// never saw itself (review finding: the only witness restarted, and a stale "stopped" report looked safe).
@Suite struct PersistedAckTests {
    @Test func aRestartedNodeReportsTheEpochsItAcknowledgedBefore() {
        let spec = ClusterSpec(
            name: "p", nodes: ["n1", "n2", "n3"].map { NodeSpec(name: $0, addresses: ["a-\($0)"]) },
            timing: SimulationParameters.defaultTiming,
            groups: [GroupSpec(name: "g0", home: nil, resources: [ResourceSpec(agent: "r", arguments: ["x"])])])
        let record = ElectionRecord(term: 2, votedTerm: 2, votedFor: "n2", acks: ["g0": 2 << 32 | 1])
        let n = ClusterNode(spec: spec, me: "n2", incarnation: 7, now: .zero, persisted: record)
        #expect(n.report.groups[0].ackEpoch == 2 << 32 | 1)
        // Old records without acks still load.
        let old = ClusterNode(spec: spec, me: "n2", incarnation: 8, now: .zero, persisted: ElectionRecord(term: 2))
        #expect(old.report.groups[0].ackEpoch == 0)
    }
}

/// Ping nodes (Heartbeat's ipfail): groups run where the most ping nodes are reachable.
@Suite struct ConnectivityTests {
    @Test func aNodeThatLosesItsPingNodesGivesItsGroupsToABetterConnectedPeer() throws {
        var sim = Simulation.scripted(nodes: 2, groups: 2, storage: false, timing: .fast)
        let settled = sim.advance(
            until: { $0.holders(0) == ["n1"] && $0.holders(1) == ["n2"] && $0.coordinatorName != nil }, limit: .seconds(10))
        #expect(settled != nil, "\(sim.violations)")
        for n in ["n1", "n2"] { sim.setConnectivity(n, reachable: 2, of: 2) }
        sim.advance(by: .seconds(1))
        #expect(sim.holders(0) == ["n1"] && sim.holders(1) == ["n2"], "equal connectivity moves nothing")
        // n1 loses one of two ping nodes: its group goes to n2.
        sim.setConnectivity("n1", reachable: 1, of: 2)
        let moved = sim.advance(until: { $0.holders(0) == ["n2"] && $0.holders(1) == ["n2"] }, limit: .seconds(5))
        #expect(moved != nil, "\(String(describing: sim.status("n1")?.groups.map(\.reason)))")
        // Both lose everything: equal again, nothing moves (no node is better off).
        sim.setConnectivity("n1", reachable: 0, of: 2)
        sim.advance(by: .milliseconds(500))
        sim.setConnectivity("n2", reachable: 0, of: 2)
        sim.advance(by: .seconds(2))
        #expect(sim.holders(0) == ["n2"] && sim.holders(1) == ["n2"])
        // n1 recovers: it is the better one now, and takes both (no auto_failback needed for that).
        sim.setConnectivity("n1", reachable: 2, of: 2)
        let back = sim.advance(until: { $0.holders(0) == ["n1"] && $0.holders(1) == ["n1"] }, limit: .seconds(5))
        #expect(back != nil)
        #expect(sim.violations.isEmpty, "\(sim.violations)")
    }
}

/// A stop that fails for good (Heartbeat: ten tries, then RecoverFromFailedStop reboots the node).
@Suite struct FailedStopTests {
    @Test func withRebootSelfFencingTheNodeRebootsAndItsGroupStartsElsewhereOnlyOnceFenced() throws {
        var sim = Simulation.scripted(nodes: 3, groups: 1, storage: true, selfFence: .reboot)
        #expect(sim.advance(until: { $0.holders(0) == ["n1"] && $0.coordinatorName != nil }, limit: .seconds(10)) != nil)
        sim.advance(by: .seconds(1))
        sim.failStops("n1", group: 0)
        let coordinator = try #require(sim.coordinatorName)
        let other = ["n2", "n3"].first { $0 != coordinator } ?? "n2"
        sim.admin(coordinator == "n1" ? "n2" : coordinator, .move(group: "g0", node: other))
        // n1's stop fails, it reboots (its resources die with it), the others fence it by msgwait, then start g0.
        let moved = sim.advance(until: { $0.holders(0) == [other] }, limit: .seconds(10))
        #expect(moved != nil, "\(String(describing: sim.status(other)?.groups.map(\.reason)))")
        #expect(
            moved.map { $0 >= SimulationParameters.simStorage.msgwait } == true, "not before n1 is fenced: \(String(describing: moved))")
        #expect(sim.violations.isEmpty, "\(sim.violations)")
    }

    @Test func withoutRebootTheGroupIsBlockedWhereTheStopFailed() throws {
        var sim = Simulation.scripted(nodes: 3, groups: 1, storage: true, selfFence: .stopResources)
        #expect(sim.advance(until: { $0.holders(0) == ["n1"] && $0.coordinatorName != nil }, limit: .seconds(10)) != nil)
        sim.advance(by: .seconds(1))
        sim.failStops("n1", group: 0)
        let coordinator = try #require(sim.coordinatorName)
        sim.admin(coordinator, .move(group: "g0", node: "n2"))
        sim.advance(by: .seconds(5))
        #expect(sim.holders(0) == ["n1"], "it still runs where the stop failed, and nowhere else")
        #expect(sim.status("n2")?.groups.first?.nodes["n1"] == "blocked")
        #expect(sim.violations.isEmpty, "\(sim.violations)")
    }
}
