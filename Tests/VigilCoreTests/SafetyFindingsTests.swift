import Testing
@testable import VigilCore
import VigilSimulation

/// Regression tests for the double-run paths of issue 12, one per finding, each failing before its fix.
/// Harness-driven tests assert on typed actions and events; simulated ones on the simulator's truth (which
/// node really runs a group) and its invariant checks.
@Suite struct SafetyFindingsTests {
    let timing = TimingSpec(
        interval: .milliseconds(100), warntime: .milliseconds(300), deadtime: .milliseconds(500),
        initdead: .seconds(2))

    static func events(_ a: [Action]) -> [ClusterEvent] { a.compactMap { if case let .event(e) = $0 { e } else { nil } } }

    // MARK: - Finding 8: replay after a receiver restart

    /// A stream recorded before this node restarted echoes its old incarnation: it is counted `unverified` and
    /// proves nothing (no membership, no quorum); the first packet that echoes the new incarnation does.
    @Test func aStreamRecordedBeforeARestartDoesNotMakeAMinorityQuorate() {
        var h = Harness(timing: timing)
        // b's packets as recorded while a ran with incarnation 0x55 (before this restart, a is incarnation 1).
        for seq in UInt64(1)...5 {
            var m = h.message(from: "b", sequence: seq)
            m.view = [ViewEntry(node: "a", state: .alive, echo: IncarnationEcho.of(0x55))]
            h.deliver(m)
            #expect(!Self.events(h.actions).contains { if case .memberChanged = $0 { true } else { false } })
        }
        #expect(h.node.state(of: "b") == .unknown)
        #expect(!h.node.quorate)
        #expect(h.node.counters.dropped(.unverified) == 5)
        #expect(h.node.counters.accepted == 0)
        // No view at all: unverified too.
        var bare = h.message(from: "b", sequence: 6)
        bare.view = []
        h.deliver(bare)
        #expect(h.node.state(of: "b") == .unknown)
        // The real b, having heard a's new incarnation, echoes it: alive and quorate.
        h.heartbeat(from: "b")
        #expect(h.node.state(of: "b") == .alive)
        #expect(h.node.quorate)
    }

    /// Every view entry of an outgoing heartbeat echoes the incarnation this node last heard from that node.
    @Test func outgoingViewsEchoTheIncarnationsHeard() {
        var h = Harness(timing: timing)
        h.heartbeat(from: "b")
        let v = h.node.view
        #expect(v.first { $0.node == "a" }?.echo == IncarnationEcho.of(1))
        #expect(v.first { $0.node == "b" }?.echo == IncarnationEcho.of(7))
        #expect(v.first { $0.node == "c" }?.echo == 0)
        #expect(IncarnationEcho.of(1) != IncarnationEcho.of(1 << 32 | 1) || IncarnationEcho.of(2) != IncarnationEcho.of(3))
    }

    // MARK: - Beyond the list: a lost or restored state directory

    /// A node whose election record is missing (or older than its last run) may have voted in terms it no
    /// longer knows: it votes and stands in no election for its grace, then only in terms above every term a
    /// peer showed meanwhile, a candidate's included (persisted as voted).
    @Test func anAmnesiacNodeAbstainsThenVotesOnlyAboveWhatItSaw() {
        var h = Harness(me: "c", timing: timing)
        h.node = ClusterNode(spec: h.node.spec, me: "c", incarnation: 9, now: h.now, persisted: nil, previousIncarnation: 8)
        h.heartbeat(from: "a", term: 6, coordinator: "")
        h.heartbeat(from: "b", term: 6)
        h.deliver(h.message(.voteRequest, from: "b", term: 7, candidate: "b"))
        #expect(Harness.sends(h.actions, kind: .voteGrant).isEmpty)
        _ = h.advance(h.node.amnesiaGrace)
        // Every term shown meanwhile counts as voted, a candidate's too (this node may have voted in it).
        #expect(h.node.electionRecord.votedTerm == 7)
        #expect(h.persisted?.votedTerm == 7)
        h.deliver(h.message(.voteRequest, from: "b", term: 7, candidate: "b"))
        #expect(Harness.sends(h.actions, kind: .voteGrant).isEmpty)
        h.deliver(h.message(.voteRequest, from: "b", term: 8, candidate: "b"))
        #expect(Harness.sends(h.actions, kind: .voteGrant).map(\.1) == ["b"])
        // A current record (written by the previous run) is no amnesia.
        let fine = ClusterNode(
            spec: h.node.spec, me: "c", incarnation: 9, now: h.now,
            persisted: ElectionRecord(term: 6, votedTerm: 6, votedFor: "b", writer: 8), previousIncarnation: 8)
        #expect(fine.election.amnesiaFloor == nil)
        #expect(fine.electionRecord.writer == 9)
    }

    // MARK: - The watchdog assumption (docs/safety.md)

    /// The assumption made visible: without a watchdog device, an owner whose agent is frozen for longer than
    /// msgwait keeps its resources, is counted fenced by its still slot, and its group runs twice. With one,
    /// the same freeze resets the machine first and the group runs once.
    @Test func withoutAWatchdogAFrozenOwnerRunsTwiceWithOneItDoesNot() throws {
        for watchdog in [false, true] {
            var sim = Simulation.scripted(nodes: 3, groups: 1, storage: true, watchdog: watchdog)
            let settled = sim.advance(until: { $0.holders(0) == ["n1"] && $0.coordinatorName != nil }, limit: .seconds(10))
            try #require(settled != nil)
            sim.advance(by: .seconds(1))
            sim.freeze("n1", for: .seconds(5))
            sim.advance(by: .seconds(6))
            if watchdog {
                #expect(sim.violations.isEmpty, "\(sim.violations)")
                #expect(sim.holders(0).count == 1)
            } else {
                #expect(sim.violations.first?.contains("active on n1 and") == true, "\(sim.violations)")
            }
        }
    }

    // MARK: - Finding 5: terms no election can reach

    /// A packet with a term of 2^32 or more is dropped (it would wrap assignment epochs); a node never stands
    /// beyond the bound, and the candidate term arithmetic cannot overflow.
    @Test func implausibleTermsAreDroppedAndNeverStoodFor() {
        var h = Harness(timing: timing)
        h.heartbeat(from: "b")
        h.deliver(h.message(from: "c", term: UInt64.max, coordinator: "c"))
        #expect(h.node.counters.dropped(.implausibleTerm) == 1)
        #expect(h.node.term == 0)
        #expect(h.node.state(of: "c") == .unknown)
        var at = Harness(
            timing: timing, persisted: ElectionRecord(term: ClusterNode.maxTerm, votedTerm: ClusterNode.maxTerm, votedFor: "a"))
        at.heartbeat(from: "b")
        at.heartbeat(from: "c", term: ClusterNode.maxTerm)
        _ = at.advance(.seconds(3))
        #expect(Harness.sends(at.actions, kind: .voteRequest).isEmpty)
        #expect(at.node.proposedTerm == nil)
    }

    // MARK: - Finding 9: the copy-and-write-back in receive

    /// A packet that arrives after a silence longer than deadtime, with no tick in between: the journal shows
    /// the sender's death and then its return, in that order (the death was undone silently before).
    @Test func aLatePacketAfterDeadtimeShowsDeathThenReturn() {
        var h = Harness(timing: timing)
        h.heartbeat(from: "b")
        h.heartbeat(from: "c")
        h.now = h.now + .milliseconds(700)
        h.heartbeat(from: "b")
        let changes = Self.events(h.actions).compactMap { e -> (MemberState, MemberState)? in
            if case let .memberChanged(node, from, to) = e, node == "b" { (from, to) } else { nil }
        }
        #expect(changes.count == 2)
        #expect(changes.first.map { $0.1 == .dead } == true)
        #expect(changes.last.map { $0.0 == .dead && $0.1 == .alive } == true)
        #expect(h.node.state(of: "b") == .alive)
        #expect(h.node.state(of: "c") == .dead)
    }

    // MARK: - Finding 3: a deaf owner

    /// The owner's inbound traffic is cut: it loses quorum and stops its group, the others still hear it. The
    /// group must not stay assigned to it: with storage it is fenced by a pill (it reads its mailbox) and the
    /// group starts elsewhere exactly once.
    @Test func aDeafOwnersGroupStartsElsewhereOnceItIsFenced() throws {
        var sim = StorageFencingTests.settled()
        sim.deafen("n1")
        let moved = sim.advance(until: { s in s.holders(0).count == 1 && s.holders(0) != ["n1"] }, limit: .seconds(10))
        #expect(moved != nil, "g0 was lost: \(sim.violations) \(sim.status(sim.coordinatorName ?? "n2")?.groups.first?.reason ?? "")")
        #expect(sim.violations.isEmpty, "\(sim.violations)")
        // Heal: n1 hears again, its pill is cleared, it may run groups again; g0 runs exactly once.
        sim.undeafen("n1")
        let back = sim.advance(until: { $0.status("n1")?.storage?.fenced == nil && $0.status("n1")?.quorate == true }, limit: .seconds(10))
        #expect(back != nil)
        sim.advance(by: .seconds(2))
        #expect(sim.holders(0).count == 1)
        #expect(sim.violations.isEmpty, "\(sim.violations)")
    }

    /// Without storage (fencing required), a deaf owner's group is blocked with a reason naming it, never
    /// silently lost; `confirm-down` of the deaf node (it was powered off) releases it.
    @Test func withoutStorageADeafOwnersGroupSaysWhyItWaits() throws {
        var sim = Simulation.scripted(nodes: 3, groups: 1, storage: false)
        let settled = sim.advance(until: { $0.holders(0) == ["n1"] && $0.coordinatorName != nil }, limit: .seconds(10))
        try #require(settled != nil)
        sim.deafen("n1")
        sim.advance(by: .seconds(3))
        #expect(sim.holders(0).isEmpty)  // n1 stopped it without quorum; nobody may start it unfenced
        let c = try #require(sim.coordinatorName)
        let reason = sim.status(c)?.groups[0].reason ?? ""
        #expect(reason.contains("n1") && reason.contains("BLOCKED"), "\(reason)")
        sim.admin(c, .confirmDown(node: "n1"))
        let moved = sim.advance(until: { $0.holders(0).count == 1 }, limit: .seconds(5))
        #expect(moved != nil)
        #expect(sim.holders(0) != ["n1"])
        #expect(sim.violations.isEmpty, "\(sim.violations)")
    }

    // MARK: - Finding 2: confirm-down expires

    /// A node confirmed down that comes back with the same incarnation (it was frozen, not off) and then
    /// vanishes again is not "already confirmed": its group waits for fencing again.
    @Test func aConfirmDownEndsWhenTheNodeIsHeardAgain() throws {
        var sim = Simulation.scripted(nodes: 3, groups: 2, storage: false)
        let settled = sim.advance(
            until: { $0.holders(0) == ["n1"] && $0.holders(1) == ["n2"] && $0.coordinatorName != nil }, limit: .seconds(10))
        try #require(settled != nil)
        // n1 is cut off (not off): the admin wrongly confirms it down; its group g0 starts elsewhere (n1 stops
        // it itself without quorum, so this stays single).
        sim.cutLAN("n1")
        sim.advance(by: .seconds(2))
        let c = try #require(sim.coordinatorName)
        sim.admin(c, .confirmDown(node: "n1"))
        _ = sim.advance(until: { $0.holders(0).count == 1 }, limit: .seconds(5))
        sim.healLAN()
        sim.advance(by: .seconds(2))
        // n1 is back with the same incarnation; move g1 to it, then cut it off again.
        sim.admin(c, .move(group: "g1", node: "n1"))
        let onN1 = sim.advance(until: { $0.holders(1) == ["n1"] }, limit: .seconds(5))
        try #require(onN1 != nil)
        sim.failStops("n1", group: 1)  // and its no-quorum stop fails: g1 keeps running there
        sim.cutLAN("n1")
        sim.advance(by: .seconds(3))
        #expect(sim.holders(1) == ["n1"], "g1 started elsewhere on a stale confirm-down: \(sim.violations)")
        let c2 = try #require(sim.coordinatorName)
        let reason = sim.status(c2)?.groups[1].reason ?? ""
        #expect(reason.contains("BLOCKED") && reason.contains("n1"), "\(reason)")
        #expect(sim.violations.isEmpty, "\(sim.violations)")
    }

    /// A confirm-down reaches every node: the coordinator that follows a coordinator change still has it.
    @Test func aConfirmDownSurvivesACoordinatorChange() throws {
        var sim = Simulation.scripted(nodes: 5, groups: 1, storage: false)
        let settled = sim.advance(until: { $0.holders(0) == ["n1"] && $0.coordinatorName == "n1" }, limit: .seconds(10))
        try #require(settled != nil)
        sim.advance(by: .seconds(1))
        // n2 (the next coordinator) is in standby, so g0 will be assigned to n3, never to n2.
        sim.admin("n2", .standby(node: "n2"))
        sim.advance(by: .milliseconds(500))
        // n1 (owner and coordinator) dies: without fencing nobody may start g0 until it is confirmed down.
        sim.crash("n1")
        let next = sim.advance(until: { $0.coordinatorName == "n2" }, limit: .seconds(3))
        try #require(next != nil)
        sim.advance(by: .milliseconds(500))
        #expect(sim.holders(0).isEmpty)
        sim.admin("n4", .confirmDown(node: "n1"))  // made on a node that is not the coordinator
        sim.crash("n2")  // the coordinator goes before the request reaches it
        let moved = sim.advance(until: { $0.holders(0).count == 1 }, limit: .seconds(8))
        #expect(
            moved != nil, "g0 stayed down after a coordinator change: \(sim.status(sim.coordinatorName ?? "n3")?.groups[0].reason ?? "")")
        #expect(sim.violations.isEmpty, "\(sim.violations)")
    }

    // MARK: - Finding 7: an epoch this coordinator never saw

    /// `missed` holds the highest epoch a member acknowledged that this coordinator never saw: a vanished node
    /// whose last report acknowledged exactly that epoch may be its owner, running it.
    @Test func aVanishedNodeThatAcknowledgedAMissedEpochIsNotSafe() {
        let spec = ClusterSpec(
            name: "t", nodes: ["a", "b", "c"].map { NodeSpec(name: $0, addresses: ["x-\($0)"]) }, timing: timing,
            groups: [GroupSpec(name: "g", home: nil, resources: [ResourceSpec(agent: "r", arguments: [])])])
        var n = ClusterNode(
            spec: spec, me: "a", incarnation: 1, now: .zero, persisted: ElectionRecord(term: 4, votedTerm: 4, votedFor: "a"))
        let missed: UInt64 = 3 << 32 | 9
        n.groups.missed[0] = missed
        n.groups.reports["c"] = NodeReport(
            digest: spec.groupsDigest, standby: false, version: 1,
            groups: [GroupReport(phase: .stopped, ackEpoch: missed, failures: 0, handedOver: false)])
        // c is dead; b is the new owner: g may start only once c is known not to run it.
        n.membership.peers["c"]!.state = .dead
        n.membership.peers["b"]!.state = .alive
        n.groups.reports["b"] = NodeReport(
            digest: spec.groupsDigest, standby: false, version: 1,
            groups: [GroupReport(phase: .stopped, ackEpoch: 5 << 32, failures: 0, handedOver: false)])
        n.election.record.term = 5
        n.groups.table[0] = Assignment(owner: "b", epoch: 5 << 32 | 1, go: false)
        var out: [Action] = []
        n.place(group: 0, now: Instant(nanoseconds: 10_000_000_000), into: &out, forceNewEpoch: false)
        #expect(n.groups.table[0]?.go == false)
        // No fencing channel here: c must be fenced (or confirmed down) first, although its last report said stopped.
        let expected = GoWait.mustBeFenced(
            node: "c", state: "dead", lastReport: GroupReport(phase: .stopped, ackEpoch: missed, failures: 0, handedOver: false))
        guard case let .waiting(waits) = n.groups.notes[0] else {
            Issue.record("no wait: \(String(describing: n.groups.notes[0]))")
            return
        }
        #expect(waits.contains(expected), "\(waits)")
    }

    // MARK: - Finding 6: a VM left running on its handover source

    /// The handover source keeps the guest running after its handover stop; the target's start fails; the
    /// source's agent restarts. The source's probe finds the guest (truthful status), and the group never
    /// runs twice (the simulator models the vm agent's handover).
    @Test func aHandoverSourceThatRestartsStillOwnsItsRunningGuest() throws {
        var sim = Simulation.scripted(nodes: 3, groups: 1, storage: true)
        sim.vmLike = [0]
        let settled = sim.advance(until: { $0.holders(0) == ["n1"] && $0.coordinatorName != nil }, limit: .seconds(10))
        try #require(settled != nil)
        sim.advance(by: .seconds(1))
        sim.failStarts("n2", group: 0)
        sim.failStarts("n3", group: 0)
        sim.admin("n1", .standby(node: "n1"))
        sim.advance(by: .milliseconds(400))
        sim.killAgent("n1")  // the agent dies; the guest it handed over keeps running
        sim.advance(by: .milliseconds(300))
        sim.restartAgent("n1")
        sim.advance(by: .seconds(4))
        #expect(sim.holders(0) == ["n1"], "\(sim.violations)")
        #expect(sim.violations.isEmpty, "\(sim.violations)")
    }

    /// A handover source that vanishes (agent killed, guest running) is not safe: its group cold-starts
    /// elsewhere only after it is fenced (its watchdog resets the machine, its slot goes still for msgwait).
    @Test func aVanishedHandoverSourceIsFencedBeforeAColdStart() throws {
        var sim = Simulation.scripted(nodes: 3, groups: 1, storage: true)
        sim.vmLike = [0]
        let settled = sim.advance(until: { $0.holders(0) == ["n1"] && $0.coordinatorName != nil }, limit: .seconds(10))
        try #require(settled != nil)
        sim.advance(by: .seconds(1))
        sim.admin("n3", .standby(node: "n3"))  // n2 is the only target
        sim.failStarts("n2", group: 0)
        sim.admin("n1", .standby(node: "n1"))
        sim.advance(by: .seconds(1))  // n2's migrations failed: the guest still runs on n1, handed over
        #expect(sim.holders(0).contains("n1"))
        sim.killAgent("n1")  // never restarted in time: the watchdog resets the machine
        sim.clearStartFailures()
        sim.advance(by: .milliseconds(600))
        sim.admin("n2", .cleanup(group: "g0", node: "n2"))
        let moved = sim.advance(until: { $0.holders(0) == ["n2"] }, limit: .seconds(10))
        let t = try #require(moved)
        // Not before n1 was fenced: its slot still for msgwait after it was due dead.
        #expect(t >= SimulationParameters.simStorage.msgwait - .milliseconds(700), "\(t)")
        #expect(sim.violations.isEmpty, "\(sim.violations)")
    }
}
