import Testing
@testable import VigilCore
import VigilSimulation

/// Regression tests for what the first 100,000-seed soak found (docs/safety.md, "What the soak found"): each
/// fails without its fix. The seeds that found them are listed beside each test; they pass now too, but a
/// seed's schedule changes with the code, so these tests pin the mechanism, not the seed.
@Suite struct SoakFindingsTests {
    static let timing = TimingSpec(
        interval: .milliseconds(100), warntime: .milliseconds(300), deadtime: .milliseconds(500),
        initdead: .seconds(2))

    static func spec(resources: Int = 1, storage: Bool = false) -> ClusterSpec {
        ClusterSpec(
            name: "t", nodes: ["a", "b", "c"].map { NodeSpec(name: $0, addresses: ["x-\($0)"]) }, timing: timing,
            groups: [
                GroupSpec(
                    name: "g", home: nil,
                    resources: (0..<resources).map { ResourceSpec(agent: "r\($0)", arguments: []) })
            ],
            storage: storage ? Self.storage : nil)
    }

    static var storage: StorageSpec {
        var s = SimulationParameters.simStorage
        s.devices = ["sim0"]
        return s
    }

    static func operations(_ a: [Action]) -> [ResourceOperation] {
        a.compactMap { if case let .runOperation(op) = $0 { op } else { nil } }
    }

    // MARK: - Lost writes (nemesis 5982, 9018: two coordinators in term 2)

    /// A device that acknowledges this node's writes but keeps none is lost within a few cycles: its slot does
    /// not read back. Pills and a two-node term claim written to it would otherwise count as written.
    @Test func aDeviceThatKeepsNoWritesIsLost() throws {
        var sim = Simulation.scripted(nodes: 2, groups: 1, storage: true)
        let settled = sim.advance(until: { $0.holders(0).count == 1 && $0.coordinatorName != nil }, limit: .seconds(10))
        try #require(settled != nil)
        #expect(sim.status("n1")?.storage?.devices.allSatisfy { $0.state == "ok" } == true)
        sim.loseWrites("n1")
        let lost = sim.advance(until: { $0.status("n1")?.storage?.devices.allSatisfy { $0.state == "lost" } == true }, limit: .seconds(2))
        #expect(lost != nil, "\(sim.status("n1")?.storage?.devices.map(\.state) ?? [])")
        #expect(sim.status("n1")?.storage?.devices.first?.error?.contains("do not persist") == true)
        // Cut apart now: n1 may not win the tie-break on a claim nobody can read; one coordinator per term.
        sim.cutLAN("n1")
        sim.advance(by: .seconds(5))
        #expect(sim.violations.isEmpty, "\(sim.violations)")
        sim.loseWrites("n1", false)
        sim.healLAN()
        let healed = sim.advance(until: { $0.status("n1")?.storage?.devices.allSatisfy { $0.state == "ok" } == true }, limit: .seconds(3))
        #expect(healed != nil)
        #expect(sim.violations.isEmpty, "\(sim.violations)")
    }

    /// A lone two-node candidate becomes coordinator only once its term claim reads back from the device, not
    /// on the write's acknowledgement.
    @Test func aTwoNodeTermClaimCountsOnlyOnceReadBack() {
        var storage = SimulationParameters.simStorage
        storage.devices = ["sim0"]
        let spec = ClusterSpec(
            name: "t", nodes: ["a", "b"].map { NodeSpec(name: $0, addresses: ["x-\($0)"]) }, timing: Self.timing,
            storage: storage)
        var n = ClusterNode(spec: spec, me: "a", incarnation: 1, now: .zero, persisted: nil)
        var st = n.storage!
        st.devices[0].health = .ok
        st.devices[0].confirmedTerm = 0
        n.storage = st
        // Acknowledged, never read back: no claim counted.
        #expect(n.storage!.devices[0].confirmedTerm == 0)
        var slot = n.mySlot(n.storage!)
        slot.term = 3
        let snap = Self.snapshot(nodes: 2, slots: [0: slot])
        var dev = n.storage!.devices[0]
        var state = n.storage!
        var out: [Action] = []
        _ = n.absorb(snap, device: 0, url: "d0", into: &dev, state: &state, now: .zero, out: &out)
        #expect(dev.confirmedTerm == 3)
        // A slot of another incarnation of this node is no claim of this one.
        var old = slot
        old.incarnation = 0
        old.term = 9
        var dev2 = n.storage!.devices[0]
        _ = n.absorb(Self.snapshot(nodes: 2, slots: [0: old]), device: 0, url: "d0", into: &dev2, state: &state, now: .zero, out: &out)
        #expect(dev2.confirmedTerm == 0)
    }

    static func snapshot(nodes: Int, slots: [Int: DiskSlot]) -> SlotAreaSnapshot {
        var bytes = [UInt8](repeating: 0, count: SlotArea.sectors(nodes: nodes) * SlotArea.sectorBytes)
        let s = SimulationParameters.simStorage
        let header = SlotAreaHeader(
            cluster: "t", slotCount: nodes, interval: s.interval, ioTimeout: s.ioTimeout,
            watchdogTimeout: s.watchdogTimeout, msgwait: s.msgwait, created: 0
        ).encoded()
        bytes.replaceSubrange(0..<header.count, with: header)
        for (i, s) in slots {
            let at = SlotArea.slotSector(i) * SlotArea.sectorBytes
            let e = s.encoded()
            bytes.replaceSubrange(at..<(at + e.count), with: e)
        }
        return SlotAreaSnapshot(bytes: bytes, sectorSize: SlotArea.sectorBytes, nodes: nodes)
    }

    // MARK: - A failed start after a handover (groups 3848, nemesis 3597)

    /// A group handed over from this node (its guest may still run here) that is started here again and fails
    /// part way is stopped completely, not only up to the failed resource: the later resources may be running.
    @Test func aFailedStartAfterAHandoverStopsEveryResource() {
        var n = ClusterNode(spec: Self.spec(resources: 3), me: "a", incarnation: 1, now: .zero, persisted: nil)
        n.groups.local[0].phase = .stopped
        n.groups.local[0].ackEpoch = 4 << 32 | 1
        n.groups.local[0].handedOver = true
        var out: [Action] = []
        n.begin(0, .start(reason: .restart, peer: ""), now: .zero, into: &out)
        var op = Self.operations(out).last!
        #expect(op.action == .start && op.resourceIndex == 0)
        out = n.step(.operationDone(id: op.id, .succeeded), now: .zero).actions
        op = Self.operations(out).last!
        #expect(op.action == .start && op.resourceIndex == 1)
        out = n.step(.operationDone(id: op.id, .failed("injected")), now: .zero).actions
        op = Self.operations(out).last!
        #expect(op.action == .stop && op.resourceIndex == 2, "the undo must start at the last resource: \(op)")
        // Without a handover before it, the undo starts at the failed resource (nothing later ran).
        var m = ClusterNode(spec: Self.spec(resources: 3), me: "a", incarnation: 1, now: .zero, persisted: nil)
        m.groups.local[0].phase = .stopped
        m.begin(0, .start(reason: .start, peer: ""), now: .zero, into: &out)
        op = Self.operations(out).last!
        out = m.step(.operationDone(id: op.id, .failed("injected")), now: .zero).actions
        #expect(Self.operations(out).last.map { $0.action == .stop && $0.resourceIndex == 0 } == true)
    }

    // MARK: - A restarted node's old report (groups-none 7184)

    /// The first packet of a node's new incarnation (even one not yet verified) does not erase what its old
    /// incarnation reported running: an agent restart stops nothing. The report becomes "unknown" evidence
    /// (version 0) until the new incarnation reports; what it reported stopped stays stopped.
    @Test func aRestartKeepsTheOldReportAsEvidence() {
        var h = Harness(timing: Self.timing)
        h.node = ClusterNode(spec: Self.spec(), me: "a", incarnation: 1, now: h.now, persisted: nil)
        var m = h.message(from: "c")
        m.report = NodeReport(
            digest: h.node.spec.groupsDigest, standby: false, version: 3,
            groups: [GroupReport(phase: .running, ackEpoch: 1 << 32 | 1)])
        h.deliver(m)
        #expect(h.node.groupReport(of: "c", 0)?.phase == .running)
        // c restarts: its first packet is not verified yet (it does not echo this node's incarnation).
        var fresh = h.message(from: "c", sequence: 1, incarnation: 99)
        fresh.view = []
        h.deliver(fresh)
        #expect(h.node.groupReport(of: "c", 0)?.phase == .unknown)
        #expect(h.node.groups.reports["c"]?.version == 0)
        // Its own first report replaces the evidence.
        h.incarnation["c"] = 99
        var own = h.message(from: "c")
        own.report = NodeReport(digest: h.node.spec.groupsDigest, standby: false, version: 1, groups: [GroupReport(phase: .stopped)])
        h.deliver(own)
        #expect(h.node.groupReport(of: "c", 0)?.phase == .stopped)
        #expect(h.node.groups.reports["c"]?.version == 1)
    }

    // MARK: - Quorum through another member (storage 1488)

    /// While a member lists node c in its view, c may hold quorum through it: c's still slot (it lost its
    /// storage) proves nothing, and neither does msgwait after a pill it cannot read. The clock starts when the
    /// last member stopped listing it.
    @Test func aNodeAnotherMemberStillListsIsNotFencedByStillness() {
        var h = Harness(timing: Self.timing)
        h.node = ClusterNode(spec: Self.spec(storage: true), me: "a", incarnation: 1, now: h.now, persisted: nil)
        // b's heartbeat listing c as `state`, 100 ms after the previous one.
        func bLists(_ state: MemberState) {
            _ = h.advance(.milliseconds(100))
            var m = h.message(from: "b")
            m.view = h.echoing + [ViewEntry(node: "c", state: state, echo: 5)]
            h.deliver(m)
        }
        bLists(.alive)
        #expect(h.node.membership.listedUntil("c") == nil)
        bLists(.suspect)
        #expect(h.node.membership.listedUntil("c") == nil)
        bLists(.dead)
        let unlisted = h.now
        #expect(h.node.membership.listedUntil("c") == unlisted)
        // Listed again: no clock.
        bLists(.alive)
        #expect(h.node.membership.listedUntil("c") == nil)
        #expect(h.node.slotStillSince("c", h.node.storage!) == nil)
    }

    // MARK: - A left node and an epoch it never saw (storage 11211)

    /// A node that left after stopping the group is safe only if it saw every epoch some member acknowledged:
    /// a coordinator this node never heard may have given the group to a later incarnation of it.
    @Test func aLeftNodeThatMissedAnEpochIsNotSafe() {
        var n = ClusterNode(
            spec: Self.spec(), me: "a", incarnation: 1, now: .zero, persisted: ElectionRecord(term: 4, votedTerm: 4, votedFor: "a"))
        let missed: UInt64 = 3 << 32 | 2
        n.groups.missed[0] = missed
        n.groups.local[0].phase = .stopped
        n.groups.local[0].ackEpoch = 4 << 32 | 1
        n.membership.peers["c"]!.state = .left
        n.groups.reports["c"] = NodeReport(
            digest: n.spec.groupsDigest, standby: false, version: 2,
            groups: [GroupReport(phase: .stopped, ackEpoch: 2 << 32 | 5)])
        n.membership.peers["b"]!.state = .alive
        n.groups.reports["b"] = NodeReport(
            digest: n.spec.groupsDigest, standby: false, version: 1,
            groups: [GroupReport(phase: .stopped, ackEpoch: 4 << 32 | 1)])
        n.election.record.term = 4
        n.groups.table[0] = Assignment(owner: "b", epoch: 4 << 32 | 1, go: false)
        var out: [Action] = []
        n.place(group: 0, now: Instant(nanoseconds: 10_000_000_000), into: &out, forceNewEpoch: false)
        #expect(n.groups.table[0]?.go == false)
        #expect(
            n.groups.notes[0] == .waiting([.leftActive(node: "c", phase: .stopped, unseenEpoch: true)]),
            "\(String(describing: n.groups.notes[0]))")
        // Had it seen that epoch, its leave would be safe.
        n.groups.reports["c"]!.groups[0].ackEpoch = missed + 1
        n.place(group: 0, now: Instant(nanoseconds: 10_000_000_000), into: &out, forceNewEpoch: false)
        #expect(n.groups.table[0]?.go == true, "\(String(describing: n.groups.notes[0]))")
    }

    // MARK: - Leaving without storage (storage 23647)

    /// An agent that shuts down while it cannot write a majority of its devices could not tell the others
    /// that it left (its slot would only go still, which reads as fenced): it stops its groups before it
    /// leaves, even those nobody else can take.
    @Test func aShutdownWithoutStorageStopsWhatWouldStay() throws {
        var sim = Simulation.scripted(nodes: 3, groups: 1, storage: true)
        let settled = sim.advance(until: { $0.holders(0).count == 1 && $0.coordinatorName != nil }, limit: .seconds(10))
        try #require(settled != nil)
        let owner = sim.holders(0)[0]
        for n in ["n1", "n2", "n3"] where n != owner { sim.admin(n, .standby(node: n)) }
        sim.advance(by: .seconds(1))
        #expect(sim.holders(0) == [owner])  // it stays: nobody else may run it
        sim.cutStorage(owner)
        sim.advance(by: .seconds(1))
        sim.shutdown(owner)
        let stopped = sim.advance(until: { $0.holders(0).isEmpty }, limit: .seconds(5))
        #expect(stopped != nil, "\(owner) left its group running without a way to say so")
        #expect(sim.violations.isEmpty, "\(sim.violations)")
    }
}

extension SoakFindingsTests {
    /// The owner loses its storage and the coordinator loses the owner (a one-way pair of cuts), while a third
    /// node still hears it both ways: the owner keeps quorum through that node and keeps its group. The
    /// coordinator must not count it fenced by its still slot or by msgwait after a pill it cannot read.
    @Test func anOwnerWithQuorumThroughAnotherMemberIsNotFencedBehindItsBack() throws {
        var sim = Simulation.scripted(nodes: 3, groups: 1, storage: true)
        let settled = sim.advance(until: { $0.holders(0).count == 1 && $0.coordinatorName != nil }, limit: .seconds(10))
        try #require(settled != nil)
        sim.advance(by: .seconds(1))
        let coordinator = try #require(sim.coordinatorName)
        let owner = ["n1", "n2", "n3"].first { $0 != coordinator }!
        sim.admin(coordinator, .move(group: "g0", node: owner))
        let moved = sim.advance(until: { $0.holders(0) == [owner] }, limit: .seconds(5))
        try #require(moved != nil)
        sim.advance(by: .seconds(1))
        sim.cutStorage(owner)
        sim.cutOneWay(from: owner, to: coordinator)
        sim.cutOneWay(from: coordinator, to: owner)
        sim.advance(by: .seconds(6))
        #expect(sim.violations.isEmpty, "\(sim.violations)")
        #expect(sim.holders(0) == [owner], "it still has quorum through the third node: \(sim.holders(0))")
    }
}

extension SoakFindingsTests {
    // MARK: - A lost or rolled-back election record (second soak: nemesis 3792, 16127)

    /// This node's slot from before its restart shows a term its election record does not know (the record was
    /// lost, or restored from an older copy of the same run, which the writer check cannot see): the term
    /// counts as voted for nobody, so this node neither votes in it again nor stands for it, and its own slot
    /// shows it from then on (finding 19). A term a peer's slot showed stays known after the peer rewrites its slot.
    @Test func termsOnTheDiskSurviveALostOrOlderElectionRecord() {
        var storage = SimulationParameters.simStorage
        storage.devices = ["sim0"]
        let spec = ClusterSpec(
            name: "t", nodes: ["a", "b"].map { NodeSpec(name: $0, addresses: ["x-\($0)"]) }, timing: Self.timing,
            storage: storage)
        var n = ClusterNode(
            spec: spec, me: "a", incarnation: 9, now: .zero,
            persisted: ElectionRecord(term: 1, votedTerm: 1, votedFor: "b", writer: 8), previousIncarnation: 8)
        #expect(n.election.amnesiaFloor == nil)  // the writer check sees nothing wrong
        func slot(_ node: String, incarnation: UInt64, term: UInt64) -> DiskSlot {
            DiskSlot(
                node: node, incarnation: incarnation, counter: 3, term: term, coordinator: node, quorate: true,
                fenced: false, leaving: false, ackSerial: 0, activeGroups: 0)
        }
        var dev = n.storage!.devices[0]
        var st = n.storage!
        var out: [Action] = []
        let found = n.absorb(
            Self.snapshot(nodes: 2, slots: [0: slot("a", incarnation: 8, term: 5), 1: slot("b", incarnation: 4, term: 7)]),
            device: 0, url: "d0", into: &dev, state: &st, now: .zero, out: &out)
        #expect(found.termFromEarlierRun == 5 && !found.fencedByPill)
        n.storage = st
        n.apply(found, now: .zero, into: &out)
        #expect(n.electionRecord.votedTerm == 5 && n.electionRecord.votedFor == "")
        #expect(n.persistDue)
        // Its own slot now shows term 5 too, with no coordinator (finding 19, nemesis 957162): were this node to
        // crash or lose its record again, a peer reading the slot still stands above the term it may have used.
        let mine = n.mySlot(n.storage!)
        #expect(mine.term == 5 && mine.coordinator == "" && n.term < 5)
        // b restarts and rewrites its slot with a lower term: term 7 stays known, so this node stands above it.
        _ = n.absorb(
            Self.snapshot(nodes: 2, slots: [1: slot("b", incarnation: 5, term: 0)]), device: 0, url: "d0", into: &dev, state: &st,
            now: .zero, out: &out)
        n.storage = st
        #expect(n.highestDiskTerm == 7)
        #expect((n.proposedTerm ?? 0) > 7)
    }

    /// Nemesis seed 21934 (after the redesign): a node's election record was restored from an older copy of
    /// the same run while the storage was out, so neither the writer check nor its own slot could show the term
    /// it had coordinated; it voted in that term again. With storage, a node that has just started neither
    /// votes nor stands until it has read its own slot on a majority of devices.
    @Test func aRestartedNodeVotesOnlyOnceItHasReadItsOwnSlot() throws {
        var h = Harness(me: "c", timing: Self.timing)
        let spec = Self.spec(storage: true)
        h.node = ClusterNode(
            spec: spec, me: "c", incarnation: 9, now: h.now,
            persisted: ElectionRecord(term: 1, votedTerm: 1, votedFor: "b", writer: 8), previousIncarnation: 8)
        #expect(h.node.election.amnesiaFloor == nil)  // the writer check sees nothing wrong
        h.heartbeat(from: "b", term: 1)
        h.heartbeat(from: "a", term: 1)
        #expect(h.node.quorate)
        #expect(h.node.status(now: h.now).electionHold?.contains("0 of 1 read") == true)
        // The storage is out: b stands in term 2, which this node coordinated in its last run.
        h.deliver(h.message(.voteRequest, from: "b", term: 2, candidate: "b"))
        #expect(Harness.sends(h.actions, kind: .voteGrant).isEmpty)
        // A failed cycle reads nothing: still no vote, and no candidacy of its own.
        _ = h.node.step(
            .storageCycleDone(
                device: 0,
                StorageCycleResult(snapshot: nil, slotWritten: false, mailboxesWritten: [], latency: .milliseconds(1), error: "EIO")),
            now: h.now)
        for _ in 0..<50 {
            _ = h.advance(.milliseconds(100))
            h.heartbeat(from: "b", term: 1)
            h.heartbeat(from: "a", term: 1)
            #expect(h.persisted == nil)
        }
        #expect(h.node.quorate && h.node.role == .follower)
        #expect(h.node.electionRecord.votedTerm == 1)
        // The storage returns: its slot from the last run shows term 2, which now counts as voted.
        func slot(_ node: String, incarnation: UInt64, term: UInt64) -> DiskSlot {
            DiskSlot(
                node: node, incarnation: incarnation, counter: 3, term: term, coordinator: node, quorate: true,
                fenced: false, leaving: false, ackSerial: 0, activeGroups: 0)
        }
        let snap = Self.snapshot(nodes: 3, slots: [2: slot("c", incarnation: 8, term: 2)])
        let ready = h.node.step(
            .storageCycleDone(
                device: 0,
                StorageCycleResult(snapshot: snap, slotWritten: true, mailboxesWritten: [], latency: .milliseconds(1), error: nil)),
            now: h.now)
        #expect(ready.persist?.votedTerm == 2)
        #expect(h.node.status(now: h.now).electionHold == nil)
        h.heartbeat(from: "b", term: 1)
        h.deliver(h.message(.voteRequest, from: "b", term: 2, candidate: "b"))
        #expect(Harness.sends(h.actions, kind: .voteGrant).isEmpty)
        h.deliver(h.message(.voteRequest, from: "b", term: 3, candidate: "b"))
        #expect(Harness.sends(h.actions, kind: .voteGrant).map(\.1) == ["b"])
    }
}
