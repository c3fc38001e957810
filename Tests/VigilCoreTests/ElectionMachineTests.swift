import Foundation
import Testing
@testable import VigilCore

/// The election machine on its own: a hand-made membership and context in, typed outputs out.
@Suite struct ElectionMachineTests {
    static let spec = ClusterSpec(
        name: "t", nodes: ["a", "b", "c"].map { NodeSpec(name: $0, addresses: ["addr-\($0)"]) },
        timing: .safe)
    static let t0 = Instant(nanoseconds: 1_000_000_000)

    /// Node a's view: b and c alive, c (if `coordinator`) claiming to coordinate `term`.
    static func membership(alive: [String] = ["b", "c"], coordinator: String? = nil, term: UInt64 = 0) -> Membership {
        var m = Membership(spec: spec, me: "a", started: t0)
        for n in alive {
            m.peers[n]!.state = .alive
            m.peers[n]!.term = term
            if n == coordinator { m.peers[n]!.coordinator = n }
        }
        for n in ["b", "c"] where !alive.contains(n) { m.peers[n]!.state = .dead }
        return m
    }

    static func context(_ now: Instant = t0, quorate: Bool = true, ownSlotUnread: Bool = false) -> ElectionContext {
        ElectionContext(
            now: now, quorate: quorate, memberVotes: 3, totalVotes: 3, votesNeeded: 2, diskTermFloor: 0,
            claimOnDiskFirst: false, ownSlotUnread: ownSlotUnread, candidacyTimeout: TimingSpec.safe.electionTimeout)
    }

    static func election(persisted: ElectionRecord? = nil, amnesiac: Bool = false) -> Election {
        Election(spec: spec, me: "a", incarnation: 1, started: t0, persisted: persisted, amnesiac: amnesiac)
    }

    static func grants(_ out: [ElectionOutput]) -> [(to: String, term: UInt64)] {
        out.compactMap { if case let .send(.voteGrant, .node(n), t, _, _) = $0 { (n, t) } else { nil } }
    }

    static func persisted(_ out: [ElectionOutput]) -> [ElectionRecord] {
        out.compactMap { if case let .persist(r) = $0 { r } else { nil } }
    }

    @Test func theFirstInLineStandsAtOnceAndAsksEveryMember() {
        var e = Self.election()
        var out: [ElectionOutput] = []
        e.evaluate(Self.membership(), Self.context(), into: &out)
        guard case let .candidate(term, _, votes) = e.role else { Issue.record("not a candidate: \(e.role)"); return }
        #expect(term == 1 && votes == ["a"])
        // The vote for itself is persisted before any request goes out.
        let persistAt = out.firstIndex { if case .persist = $0 { true } else { false } }
        let requestAt = out.firstIndex { if case .send(.voteRequest, .members, 1, "a", _) = $0 { true } else { false } }
        #expect(persistAt != nil && requestAt != nil && persistAt! < requestAt!)
        #expect(Self.persisted(out).last == ElectionRecord(term: 0, votedTerm: 1, votedFor: "a", writer: 1))
    }

    @Test func oneVotePerTerm() {
        var e = Self.election()
        var out: [ElectionOutput] = []
        e.handleVoteRequest(from: "b", term: 3, Self.membership(), Self.context(), into: &out)
        #expect(Self.grants(out).map(\.to) == ["b"])
        #expect(e.record.votedTerm == 3 && e.record.votedFor == "b" && e.term == 3)
        out = []
        e.handleVoteRequest(from: "c", term: 3, Self.membership(), Self.context(), into: &out)
        #expect(Self.grants(out).isEmpty, "a second vote in term 3")
        // The same candidate asking again gets the same answer (its first grant may have been lost).
        e.handleVoteRequest(from: "b", term: 3, Self.membership(), Self.context(), into: &out)
        #expect(Self.grants(out).map(\.to) == ["b"])
    }

    /// With storage, until this node has read its own slot since it started: no vote, no candidacy.
    @Test func untilItsOwnSlotIsReadANodeNeitherVotesNorStands() {
        var e = Self.election()
        var out: [ElectionOutput] = []
        e.handleVoteRequest(from: "b", term: 3, Self.membership(), Self.context(ownSlotUnread: true), into: &out)
        e.evaluate(Self.membership(), Self.context(Self.t0 + .seconds(10), ownSlotUnread: true), into: &out)
        #expect(Self.grants(out).isEmpty && e.role == .follower && Self.persisted(out).isEmpty)
        e.evaluate(Self.membership(), Self.context(Self.t0 + .seconds(11)), into: &out)
        guard case .candidate = e.role else { Issue.record("not a candidate: \(e.role)"); return }
    }

    @Test func aVoteIsHeldBackWhileTheCoordinatorLivesAndGivenWhenItDies() {
        var e = Self.election(persisted: ElectionRecord(term: 2))
        var out: [ElectionOutput] = []
        e.learnCoordinator(
            from: Message(
                kind: .heartbeat, clusterID: 0, sender: "c", incarnation: 1, sequence: 1, link: 0,
                destination: "a", term: 2, coordinator: "c", senderQuorate: true, view: []),
            quorate: true, Self.membership(coordinator: "c", term: 2), into: &out)
        #expect(e.coordinator == "c")
        out = []
        e.handleVoteRequest(from: "b", term: 3, Self.membership(coordinator: "c", term: 2), Self.context(), into: &out)
        #expect(Self.grants(out).isEmpty && e.pendingRequest?.candidate == "b")
        // c dies: the next step gives up the coordinator and grants the held-back vote.
        e.evaluate(Self.membership(alive: ["b"], term: 2), Self.context(Self.t0 + .milliseconds(100)), into: &out)
        #expect(e.coordinator == "")
        #expect(Self.grants(out).map { "\($0.to)/\($0.term)" } == ["b/3"])
    }

    @Test func withoutQuorumACoordinatorStepsDown() {
        var e = Self.election()
        var out: [ElectionOutput] = []
        e.becomeCoordinator(term: 4, Self.context(), into: &out)
        #expect(e.role == .coordinator && e.coordinator == "a")
        #expect(out.contains { if case .heartbeat = $0 { true } else { false } }, "a new coordinator announces itself")
        out = []
        e.evaluate(Self.membership(alive: []), Self.context(quorate: false), into: &out)
        #expect(e.role == .follower && e.coordinator == "")
        #expect(out.contains { if case .action(.event(.coordinatorChanged(4, nil))) = $0 { true } else { false } })
    }

    @Test func anAmnesiacNodeNeitherVotesNorStandsUntilItsGraceEnds() {
        var e = Self.election(amnesiac: true)
        var out: [ElectionOutput] = []
        e.noteTerm(6)
        e.handleVoteRequest(from: "b", term: 7, Self.membership(), Self.context(), into: &out)
        e.evaluate(Self.membership(), Self.context(), into: &out)
        #expect(Self.grants(out).isEmpty && e.role == .follower)
        let grace = e.amnesiaGrace(candidacyTimeout: TimingSpec.safe.electionTimeout)
        e.evaluate(Self.membership(), Self.context(Self.t0 + grace), into: &out)
        // Every term a peer showed meanwhile counts as voted; it stands above them.
        #expect(e.amnesiaFloor == nil)
        #expect(Self.persisted(out).first?.votedTerm == 6)
        if case let .candidate(term, _, _) = e.role { #expect(term == 7) } else { Issue.record("did not stand: \(e.role)") }
    }

    @Test func aLoneTwoNodeWinnerClaimsItsTermOnDiskBeforeCoordinating() {
        var e = Self.election()
        var ctx = Self.context()
        ctx.votesNeeded = 1
        ctx.claimOnDiskFirst = true
        var out: [ElectionOutput] = []
        e.evaluate(Self.membership(alive: []), ctx, into: &out)
        if case .candidate(1, _, _) = e.role {} else { Issue.record("expected a candidacy for term 1: \(e.role)") }
        #expect(!out.contains { if case .heartbeat = $0 { true } else { false } })
    }
}

/// `Ready`: the record a step changed comes out once, apart from the actions it must precede; a record that
/// cannot be persisted halts the node.
@Suite struct ReadyTests {
    @Test func aStepPersistsItsRecordOnceAndAFailedPersistHaltsTheNode() {
        var h = Harness()
        h.heartbeat(from: "b")
        h.heartbeat(from: "c")
        // Standing changes the record (the vote for itself): it comes out as Ready.persist, not as an action.
        #expect(h.persisted?.votedTerm == 1 && h.persisted?.votedFor == "a")
        #expect(!Harness.sends(h.actions, kind: .voteRequest).isEmpty)
        let halted = h.node.step(.persistFailed("disk full"), now: h.now)
        #expect(halted.actions.contains { if case .halt = $0 { true } else { false } })
        #expect(h.node.halted == "disk full")
        // Nothing more: no vote counts, no heartbeat goes out.
        let after = h.node.step(
            .message(h.message(.voteGrant, from: "b", term: 1, candidate: "a"), link: 0, from: .text("b")),
            now: h.now + .milliseconds(10))
        #expect(after.actions.isEmpty && after.persist == nil)
        #expect(h.node.step(.tick, now: h.now + .seconds(1)).actions.isEmpty)
        #expect(!h.node.isCoordinator)
    }
}

/// One request type from the CLI to the node that carries it out: JSON on the control socket, canonical text on
/// the wire.
@Suite struct AdminRequestTests {
    @Test func jsonAndCanonicalTextRoundTrip() throws {
        let all: [AdminRequest] = [
            .standby(node: "n1"), .unstandby(node: "n2"), .move(group: "web", node: "n3"),
            .unmove(group: "web"), .takeover(node: "n1", all: true), .takeover(node: "n1", all: false),
            .cleanup(group: "db", node: "n2"), .confirmDown(node: "n3"), .disable(group: "web"), .enable(group: "web")
        ]
        for r in all {
            let json = try JSONEncoder().encode(r)
            #expect(try JSONDecoder().decode(AdminRequest.self, from: json) == r)
            #expect(AdminRequest(text: r.description) == r)
        }
    }

    @Test func onlyTheCanonicalTextParses() {
        #expect(AdminRequest(text: "move  web n2") == nil)
        #expect(AdminRequest(text: "takeover n1 some") == nil)
        #expect(AdminRequest(text: "standby") == nil)
    }

    @Test func anEmptyNodeMeansTheAgentsOwn() {
        #expect(AdminRequest.standby(node: "").completed(node: "n4") == .standby(node: "n4"))
        #expect(AdminRequest.takeover(node: "", all: true).completed(node: "n4") == .takeover(node: "n4", all: true))
        #expect(AdminRequest.move(group: "web", node: "n2").completed(node: "n4") == .move(group: "web", node: "n2"))
    }
}
