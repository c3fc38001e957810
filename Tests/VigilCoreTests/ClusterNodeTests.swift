import Foundation
import Testing
@testable import VigilCore

/// Drives one `ClusterNode` by hand: crafts messages from its peers with correct sequence numbers.
struct Harness {
    var node: ClusterNode
    var now = Instant(nanoseconds: 1_000_000_000)
    var seq: [String: UInt64] = [:]
    var incarnation: [String: UInt64] = [:]
    var actions: [Action] = []
    /// The record the last step asked to persist (nil: none).
    var persisted: ElectionRecord?

    init(
        nodes: [String] = ["a", "b", "c"], me: String = "a", timing: TimingSpec = .safe, votes: [String: Int] = [:],
        persisted: ElectionRecord? = nil, quorum: QuorumPolicy = .majority
    ) {
        let spec = ClusterSpec(
            name: "t", nodes: nodes.map { NodeSpec(name: $0, addresses: ["addr-\($0)"], votes: votes[$0] ?? 1) },
            timing: timing, quorum: quorum)
        node = ClusterNode(spec: spec, me: me, incarnation: 1, now: now, persisted: persisted)
    }

    mutating func advance(_ d: Duration) -> [Action] {
        now = now + d
        let ready = node.step(.tick, now: now)
        persisted = ready.persist
        actions = ready.actions
        return actions
    }

    func message(
        _ kind: MessageKind = .heartbeat, from: String, term: UInt64 = 0, coordinator: String = "",
        candidate: String = "", sequence: UInt64? = nil, incarnation inc: UInt64? = nil
    ) -> Message {
        Message(
            kind: kind, clusterID: node.spec.clusterID, sender: from, incarnation: inc ?? incarnation[from] ?? 7,
            sequence: sequence ?? (seq[from] ?? 0) + 1, link: 0, destination: node.me, term: term,
            coordinator: coordinator, candidate: candidate, senderQuorate: true, view: echoing)
    }

    /// A view that echoes this node's incarnation (without it a packet is `unverified`: maybe a replay).
    var echoing: [ViewEntry] { [ViewEntry(node: node.me, state: .alive, echo: IncarnationEcho.of(node.incarnation))] }

    @discardableResult
    mutating func deliver(_ m: Message) -> [Action] {
        if m.sequence > seq[m.sender] ?? 0 { seq[m.sender] = m.sequence }
        let ready = node.step(.message(m, link: 0, from: .text("test")), now: now)
        persisted = ready.persist
        actions = ready.actions
        return actions
    }

    @discardableResult
    mutating func heartbeat(from: String, term: UInt64 = 0, coordinator: String = "") -> [Action] {
        deliver(message(from: from, term: term, coordinator: coordinator))
    }

    static func sends(_ a: [Action], kind: MessageKind) -> [(Message, String)] {
        a.compactMap { if case let .send(m, to, _) = $0, m.kind == kind { (m, to) } else { nil } }
    }
}

@Suite struct FailureDetectionTests {
    let timing = TimingSpec(
        interval: .milliseconds(100), warntime: .milliseconds(300), deadtime: .milliseconds(500),
        initdead: .seconds(2))

    @Test func silentPeerIsSuspectAtWarntimeAndDeadAtDeadtime() {
        var h = Harness(timing: timing)
        h.heartbeat(from: "b")
        h.heartbeat(from: "c")
        #expect(h.node.state(of: "b") == .alive)
        _ = h.advance(.milliseconds(299))
        #expect(h.node.state(of: "b") == .alive)
        _ = h.advance(.milliseconds(1))
        #expect(h.node.state(of: "b") == .suspect)
        #expect(h.actions.contains(.event(.memberChanged(node: "b", from: .alive, to: .suspect))))
        _ = h.advance(.milliseconds(199))
        #expect(h.node.state(of: "b") == .suspect)
        _ = h.advance(.milliseconds(1))
        #expect(h.node.state(of: "b") == .dead)
        #expect(h.actions.contains(.event(.memberChanged(node: "b", from: .suspect, to: .dead))))
    }

    @Test func heartbeatOnTimeKeepsPeerAliveAndLateOneResumes() {
        var h = Harness(timing: timing)
        for _ in 0..<10 {
            h.heartbeat(from: "b")
            _ = h.advance(.milliseconds(100))
            #expect(h.node.state(of: "b") == .alive)
        }
        _ = h.advance(.milliseconds(250))
        #expect(h.node.state(of: "b") == .suspect)
        let a = h.heartbeat(from: "b")
        #expect(h.node.state(of: "b") == .alive)
        #expect(a.contains(.event(.memberChanged(node: "b", from: .suspect, to: .alive))))
    }

    @Test func initdeadGivesUnheardPeersGrace() {
        var h = Harness(timing: timing)
        _ = h.advance(.milliseconds(1999))
        #expect(h.node.state(of: "b") == .unknown)
        _ = h.advance(.milliseconds(1))
        #expect(h.node.state(of: "b") == .dead)
    }

    @Test func nextWakeupIsTheEarliestDeadlineAndNeverInThePast() {
        var h = Harness(timing: timing)
        _ = h.advance(.zero)
        h.heartbeat(from: "b")
        // Next heartbeat due in 100 ms; b's warntime in 300 ms.
        #expect(h.node.nextWakeup(after: h.now) == h.now + .milliseconds(100))
        // An overdue heartbeat is due at once, never in the past.
        let far = h.now + .seconds(100)
        #expect(h.node.nextWakeup(after: far) == far)
    }

    @Test func heartbeatsGoToEveryPeerOnEveryLink() {
        let spec = ClusterSpec(
            name: "t", nodes: ["a", "b", "c"].map { NodeSpec(name: $0, addresses: ["x-\($0)", "y-\($0)"]) }, timing: timing)
        var n = ClusterNode(spec: spec, me: "a", incarnation: 1, now: .zero)
        let sent = n.step(.tick, now: .zero).actions.compactMap {
            if case let .send(m, to, link) = $0 { "\(to)/\(link)/\(m.sequence)" } else { nil }
        }
        #expect(Set(sent) == ["b/0/1", "b/1/1", "c/0/1", "c/1/1"])
    }

    @Test func linkGoesDownWhileThePeerStaysAliveOnTheOther() {
        let spec = ClusterSpec(name: "t", nodes: ["a", "b"].map { NodeSpec(name: $0, addresses: ["x-\($0)", "y-\($0)"]) }, timing: timing)
        var n = ClusterNode(spec: spec, me: "a", incarnation: 1, now: .zero)
        var t = Instant.zero
        func msg(_ seq: UInt64, link: UInt8) -> Message {
            Message(
                kind: .heartbeat, clusterID: spec.clusterID, sender: "b", incarnation: 1, sequence: seq, link: link,
                destination: "a", term: 0, coordinator: "", senderQuorate: true,
                view: [ViewEntry(node: "a", state: .alive, echo: IncarnationEcho.of(1))])
        }
        _ = n.step(.message(msg(1, link: 0), link: 0, from: .text("")), now: t)
        _ = n.step(.message(msg(1, link: 1), link: 1, from: .text("")), now: t)
        for s in UInt64(2)...10 {
            t = t + .milliseconds(100)
            _ = n.step(.tick, now: t)
            _ = n.step(.message(msg(s, link: 1), link: 1, from: .text("")), now: t)  // only link 1 carries heartbeats now
        }
        let st = n.status(now: t)
        #expect(st.node("b")?.state == "alive")
        #expect(st.node("b")?.links.map(\.state) == ["down", "up"])
    }
}

@Suite struct QuorumTests {
    @Test func strictMajorityOfConfiguredVotes() {
        let spec = ClusterSpec(name: "t", nodes: (1...4).map { NodeSpec(name: "n\($0)", addresses: ["a"]) }, timing: .safe)
        #expect(spec.quorumVotes == 3)
        let five = ClusterSpec(name: "t", nodes: (1...5).map { NodeSpec(name: "n\($0)", addresses: ["a"]) }, timing: .safe)
        #expect(five.quorumVotes == 3)
        let weighted = ClusterSpec(
            name: "t",
            nodes: [
                NodeSpec(name: "a", addresses: ["a"], votes: 3),
                NodeSpec(name: "b", addresses: ["b"], votes: 1),
                NodeSpec(name: "c", addresses: ["c"], votes: 0)
            ], timing: .safe)
        #expect(weighted.totalVotes == 4)
        #expect(weighted.quorumVotes == 3)
    }

    @Test func quorumFollowsMembershipWithWeights() {
        var h = Harness(nodes: ["a", "b", "c", "d"], me: "a", votes: ["a": 1, "b": 1, "c": 2, "d": 0])
        #expect(!h.node.quorate)  // 1 of 4
        h.heartbeat(from: "d")
        #expect(!h.node.quorate)  // d has no votes
        h.heartbeat(from: "b")
        #expect(!h.node.quorate)  // 2 of 4, need 3
        h.heartbeat(from: "c")
        #expect(h.node.quorate)  // 4 of 4
        #expect(h.node.status(now: h.now).quorum.votes == 4)
    }

    @Test func quorumIgnoreIsAlwaysQuorate() {
        let h = Harness(nodes: ["a", "b"], quorum: .ignore)
        #expect(h.node.quorate)
    }
}

@Suite struct ElectionTests {
    let timing = TimingSpec(
        interval: .milliseconds(100), warntime: .milliseconds(300), deadtime: .milliseconds(500),
        initdead: .seconds(2))

    @Test func lowestNamedNodeStandsOnceAllPeersAreHeardAndWinsWithAQuorumOfVotes() {
        var h = Harness(timing: timing)
        h.heartbeat(from: "b")
        #expect(Harness.sends(h.actions, kind: .voteRequest).isEmpty)  // c not heard yet: still in start-up grace
        h.heartbeat(from: "c")
        let requests = Harness.sends(h.actions, kind: .voteRequest)
        #expect(Set(requests.map(\.1)) == ["b", "c"])
        #expect(requests.allSatisfy { $0.0.term == 1 })
        #expect(h.node.term == 0)  // a candidate does not adopt its proposed term before it wins
        #expect(h.persisted == ElectionRecord(term: 0, votedTerm: 1, votedFor: "a", writer: 1))
        h.deliver(h.message(.voteGrant, from: "b", term: 1, candidate: "a"))
        #expect(h.node.isCoordinator)
        #expect(h.node.term == 1)
        #expect(h.node.coordinator == "a")
        // The win is persisted (before any action runs: `Ready`) in the step whose messages claim it.
        #expect(h.persisted?.term == 1)
        #expect(h.actions.contains { if case let .send(m, _, _) = $0 { m.coordinator == "a" } else { false } })
    }

    @Test func votesOncePerTerm() {
        var h = Harness(me: "c", timing: timing)
        h.heartbeat(from: "a")
        h.heartbeat(from: "b")
        h.deliver(h.message(.voteRequest, from: "b", term: 5, candidate: "b"))
        #expect(Harness.sends(h.actions, kind: .voteGrant).map(\.1) == ["b"])
        #expect(h.node.electionRecord == ElectionRecord(term: 5, votedTerm: 5, votedFor: "b", writer: 1))
        h.deliver(h.message(.voteRequest, from: "a", term: 5, candidate: "a"))
        #expect(Harness.sends(h.actions, kind: .voteGrant).isEmpty)
        // The same candidate asking again (a retransmission) gets the same answer.
        h.deliver(h.message(.voteRequest, from: "b", term: 5, candidate: "b"))
        #expect(Harness.sends(h.actions, kind: .voteGrant).map(\.1) == ["b"])
    }

    @Test func aRestartedNodeRemembersItsVote() {
        var h = Harness(me: "c", timing: timing, persisted: ElectionRecord(term: 5, votedTerm: 5, votedFor: "b"))
        h.heartbeat(from: "a")
        h.heartbeat(from: "b")
        h.deliver(h.message(.voteRequest, from: "a", term: 5, candidate: "a"))
        #expect(Harness.sends(h.actions, kind: .voteGrant).isEmpty)
        h.deliver(h.message(.voteRequest, from: "a", term: 6, candidate: "a"))
        #expect(Harness.sends(h.actions, kind: .voteGrant).map(\.1) == ["a"])
    }

    @Test func voterRefusesWhileItSeesALiveCoordinatorAndGrantsWhenItDies() {
        var h = Harness(me: "c", timing: timing)
        h.heartbeat(from: "a", term: 3, coordinator: "a")
        h.heartbeat(from: "b", term: 3, coordinator: "a")
        #expect(h.node.coordinator == "a")
        // a falls silent; b keeps beating and, 300 ms in (b's view of a is older), stands for term 4.
        var granted: [(Message, String)] = []
        for i in 0..<6 {
            granted += Harness.sends(h.advance(.milliseconds(100)), kind: .voteGrant)
            granted += Harness.sends(h.heartbeat(from: "b", term: 3, coordinator: "a"), kind: .voteGrant)
            if i == 2 {
                h.deliver(h.message(.voteRequest, from: "b", term: 4, candidate: "b"))
                #expect(Harness.sends(h.actions, kind: .voteGrant).isEmpty)  // held back: a still counts as alive
                #expect(h.node.term == 3)  // not disrupted
            }
        }
        // When a is dead (500 ms), the held-back vote goes out.
        #expect(h.node.state(of: "a") == .dead)
        #expect(granted.map(\.1) == ["b"])
        #expect(h.node.term == 4)
    }

    @Test func neverObeysACoordinatorOfAnOlderTerm() {
        var h = Harness(me: "c", timing: timing)
        h.heartbeat(from: "a", term: 7, coordinator: "a")
        h.heartbeat(from: "b", term: 7, coordinator: "a")
        #expect(h.node.coordinator == "a")
        h.deliver(h.message(.voteRequest, from: "b", term: 8, candidate: "b"))
        _ = h.advance(.milliseconds(600))  // a dies, the held-back vote goes to b for term 8
        h.heartbeat(from: "b", term: 8, coordinator: "b")
        #expect(h.node.coordinator == "b")
        // a comes back still claiming term 7: ignored.
        h.heartbeat(from: "a", term: 7, coordinator: "a")
        #expect(h.node.coordinator == "b")
        #expect(h.node.term == 8)
    }

    @Test func coordinatorStepsDownOnAHigherTermAndOnQuorumLoss() {
        var h = Harness(timing: timing)
        h.heartbeat(from: "b")
        h.heartbeat(from: "c")
        h.deliver(h.message(.voteGrant, from: "b", term: 1, candidate: "a"))
        #expect(h.node.isCoordinator)
        h.heartbeat(from: "b", term: 2, coordinator: "b")
        #expect(!h.node.isCoordinator)
        #expect(h.node.coordinator == "b")
        #expect(h.node.term == 2)

        var lone = Harness(timing: timing)
        lone.heartbeat(from: "b")
        lone.heartbeat(from: "c")
        lone.deliver(lone.message(.voteGrant, from: "c", term: 1, candidate: "a"))
        #expect(lone.node.isCoordinator)
        _ = lone.advance(.milliseconds(600))  // b and c silent: quorum lost
        #expect(!lone.node.quorate)
        #expect(!lone.node.isCoordinator)
        #expect(lone.node.coordinator == "")
    }

    @Test func aHeldBackVoteRequestExpiresWithTheCandidacy() {
        var h = Harness(me: "c", timing: timing)
        h.heartbeat(from: "a", term: 3, coordinator: "a")
        h.heartbeat(from: "b", term: 3, coordinator: "a")
        h.deliver(h.message(.voteRequest, from: "b", term: 4, candidate: "b"))  // held back: a is alive
        // b keeps beating for longer than the election timeout, then a dies: the stale request is not granted.
        var granted = 0
        for i in 0..<12 {
            granted += Harness.sends(h.advance(.milliseconds(100)), kind: .voteGrant).count
            granted += Harness.sends(h.heartbeat(from: "b", term: 3, coordinator: "a"), kind: .voteGrant).count
            if i < 3 { h.heartbeat(from: "a", term: 3, coordinator: "a") }
        }
        #expect(h.node.state(of: "a") == .dead)
        #expect(granted == 0)
        #expect(h.node.electionRecord.votedTerm == 0 || h.node.electionRecord.votedFor == "c")
    }

    @Test func aCandidateKeepsItsTermUntilItWins() {
        let five = ["a", "b", "c", "d", "e"]
        var h = Harness(nodes: five, timing: timing)
        for p in five.dropFirst() { h.heartbeat(from: p) }
        #expect(h.node.role != .follower)
        h.deliver(h.message(.voteGrant, from: "b", term: 1, candidate: "a"))  // 2 of 5: not yet
        #expect(h.node.term == 0 && !h.node.isCoordinator)
        h.deliver(h.message(.voteGrant, from: "c", term: 1, candidate: "a"))  // 3 of 5: won
        #expect(h.node.term == 1 && h.node.isCoordinator)
    }

    @Test func followersDropACoordinatorThatSaysItSteppedDown() {
        var h = Harness(me: "c", timing: timing)
        h.heartbeat(from: "a", term: 3, coordinator: "a")
        h.heartbeat(from: "b", term: 3, coordinator: "a")
        #expect(h.node.coordinator == "a")
        // a lost quorum in its own view (it hears nobody) but its heartbeats still arrive, now without a claim.
        h.heartbeat(from: "a", term: 3, coordinator: "")
        #expect(h.node.coordinator == "")
        // b's stale report must not reinstate a while a's own messages do not claim it.
        h.heartbeat(from: "b", term: 3, coordinator: "a")
        #expect(h.node.coordinator == "")
        // So a vote request from b is granted at once.
        h.deliver(h.message(.voteRequest, from: "b", term: 4, candidate: "b"))
        #expect(Harness.sends(h.actions, kind: .voteGrant).map(\.1) == ["b"])
    }

    @Test func aCopyFromBeforeTheLeaveDoesNotReviveTheNode() {
        var h = Harness(timing: timing)
        h.heartbeat(from: "b")
        let early = h.message(from: "b")  // sent before the leave, delivered after it
        h.deliver(h.message(.leave, from: "b", sequence: early.sequence + 1))
        #expect(h.node.state(of: "b") == .left)
        h.deliver(early)
        #expect(h.node.state(of: "b") == .left)
        h.deliver(h.message(from: "b", incarnation: 99))  // a restart comes back with a new incarnation
        #expect(h.node.state(of: "b") == .alive)
    }

    @Test func controlledLeaveIsAnnouncedAndSeenAtOnce() {
        var h = Harness(timing: timing)
        h.heartbeat(from: "b", term: 2, coordinator: "b")
        h.heartbeat(from: "c", term: 2, coordinator: "b")
        #expect(h.node.coordinator == "b")
        h.deliver(h.message(.leave, from: "b", term: 2, coordinator: "b"))
        #expect(h.node.state(of: "b") == .left)
        #expect(h.node.coordinator == "")
        // a is first in line among the remaining members and still quorate (a + c): it stands right away.
        #expect(Harness.sends(h.actions, kind: .voteRequest).map(\.1) == ["c"])

        var leaver = Harness(timing: timing)
        let out = leaver.node.step(.leave, now: leaver.now).actions
        #expect(Harness.sends(out, kind: .leave).count == 4)  // 2 peers x 1 link x 2 copies
        #expect(leaver.node.step(.tick, now: leaver.now + .seconds(1)).actions.isEmpty)
    }
}

@Suite struct PacketFilterTests {
    @Test func replayWindowAcceptsOnceAndToleratesReordering() {
        var w = ReplayWindow()
        #expect(w.check(5) == .accept)
        #expect(w.check(5) == .duplicate)
        #expect(w.check(3) == .accept)
        #expect(w.check(3) == .duplicate)
        #expect(w.check(100) == .accept)
        #expect(w.check(37) == .accept)  // 63 behind: still inside the window
        #expect(w.check(36) == .tooOld)  // 64 behind: outside
        #expect(w.check(0) == .tooOld)
    }

    @Test func dropsAreCountedPerReasonAndNeverChangeMembership() {
        var h = Harness()
        h.heartbeat(from: "b")
        let before = h.node.status(now: h.now)
        // Replay of an old sequence, a duplicate, an older incarnation, an unknown sender, a misdirected copy.
        h.deliver(h.message(from: "b", sequence: 1))
        h.deliver(h.message(from: "b", sequence: 0))
        h.deliver(h.message(from: "b", incarnation: 3))
        h.deliver(h.message(from: "mallory"))
        var wrongDest = h.message(from: "b")
        wrongDest.destination = "c"
        h.deliver(wrongDest)
        var otherCluster = h.message(from: "b")
        otherCluster.clusterID ^= 1
        h.deliver(otherCluster)
        let c = h.node.counters
        #expect(c.dropped(.duplicate) == 1)
        #expect(c.dropped(.replay) == 2)
        #expect(c.dropped(.unknownSender) == 1)
        #expect(c.dropped(.misdirected) == 1)
        #expect(c.dropped(.wrongCluster) == 1)
        #expect(c.accepted == 1)
        #expect(c.received == 7)
        #expect(h.node.status(now: h.now).nodes == before.nodes)
    }

    @Test func dropLogsAreRateLimited() {
        var h = Harness()
        var reports: [Int] = []
        func reported(_ a: [Action]) -> [Int] {
            a.compactMap { if case let .event(.packetsDropped(.badSignature, n, _)) = $0 { n } else { nil } }
        }
        for _ in 0..<100 {
            h.now = h.now + .milliseconds(50)
            reports += reported(h.node.step(.dropped(.badSignature, from: .text("x")), now: h.now).actions)
        }
        // 5 s of drops: one report at the start only (the interval is 10 s).
        #expect(reports == [1])
        h.now = h.now + .seconds(10)
        // The next report counts the 99 held back, and this one.
        #expect(reported(h.node.step(.dropped(.badSignature, from: .text("x")), now: h.now).actions) == [100])
    }
}

@Suite struct StatusJSONTests {
    @Test func documentedKeysArePresentEvenWhenEmpty() throws {
        let h = Harness()
        let data = try JSONEncoderShim.encode(h.node.status(now: h.now))
        let obj = try #require(JSONObjectShim.parse(data))
        for key in [
            "cluster", "node", "term", "coordinator", "quorate", "nodes", "counters", "role", "quorum", "agent", "schema_version",
            "election_hold", "recent_failures"
        ] {
            #expect(obj.keys.contains(key), "missing \(key)")
        }
        #expect(obj["schema_version"] as? Int == StatusReport.currentSchemaVersion)
        #expect(obj["coordinator"] is NSNull)
        let nodes = try #require(obj["nodes"] as? [[String: Any]])
        let b = try #require(nodes.first { $0["name"] as? String == "b" })
        #expect(b["state"] as? String == "unknown")
        let link = try #require((b["links"] as? [[String: Any]])?.first)
        #expect(link["last_heard_ms"] is NSNull && link["address"] as? String == "addr-b" && link["state"] as? String == "down")
        let counters = try #require(obj["counters"] as? [String: Any])
        #expect((counters["dropped"] as? [String: Int])?["bad_signature"] == 0)
    }
}

@Suite struct MulticastReceiveTests {
    func spec(_ t: Transport) -> ClusterSpec {
        ClusterSpec(name: "t", nodes: ["a", "b", "c"].map { NodeSpec(name: $0, addresses: ["x-\($0)"]) }, timing: .safe, transport: t)
    }

    func copy(_ spec: ClusterSpec, seq: UInt64, to dest: String) -> Message {
        Message(
            kind: .heartbeat, clusterID: spec.clusterID, sender: "b", incarnation: 5, sequence: seq, link: 0,
            destination: dest, term: 0, coordinator: "", senderQuorate: true,
            view: [ViewEntry(node: "a", state: .alive, echo: IncarnationEcho.of(1))])
    }

    @Test func multicastCopiesHaveTheirOwnSequenceSpaceAndNeedMulticastTransport() {
        let m = spec(.multicast)
        var n = ClusterNode(spec: m, me: "a", incarnation: 1, now: .zero)
        _ = n.step(.message(copy(m, seq: 1, to: ""), link: 0, from: .text("")), now: .zero)
        _ = n.step(.message(copy(m, seq: 1, to: "a"), link: 0, from: .text("")), now: .zero)  // same number, other space
        _ = n.step(.message(copy(m, seq: 1, to: ""), link: 0, from: .text("")), now: .zero)  // a true duplicate
        #expect(n.counters.accepted == 2 && n.counters.dropped(.duplicate) == 1)

        let u = spec(.unicast)
        var v = ClusterNode(spec: u, me: "a", incarnation: 1, now: .zero)
        _ = v.step(.message(copy(u, seq: 1, to: ""), link: 0, from: .text("")), now: .zero)
        #expect(v.counters.dropped(.misdirected) == 1 && v.state(of: "b") == .unknown)
    }

    @Test func multicastSendsOneHeartbeatPerLink() {
        let m = ClusterSpec(
            name: "t", nodes: ["a", "b", "c"].map { NodeSpec(name: $0, addresses: ["x-\($0)", "y-\($0)"]) },
            timing: .safe, transport: .multicast)
        var n = ClusterNode(spec: m, me: "a", incarnation: 1, now: .zero)
        let sends = n.step(.tick, now: .zero).actions.compactMap {
            if case let .send(msg, to, link) = $0 { "\(to)|\(link)|\(msg.destination)" } else { nil }
        }
        #expect(sends == ["|0|", "|1|"])
    }
}

/// A Linux-HA Heartbeat node on the same LAN: this node runs no group while it hears one.
@Suite struct HeartbeatStackTests {
    @Test func aHeartbeatPacketHoldsTheNodeOutOfPlacementUntilQuiet() {
        let spec = ClusterSpec(
            name: "t", nodes: ["a", "b"].map { NodeSpec(name: $0, addresses: ["x-\($0)"]) }, timing: .safe,
            quorum: .ignore, groups: [GroupSpec(name: "g", resources: [ResourceSpec(agent: "dummy")])])
        var n = ClusterNode(spec: spec, me: "a", incarnation: 1, now: .zero)
        _ = n.step(.tick, now: .zero)
        #expect(!n.inStandby)
        // Only counted: a packet that looks like Heartbeat's proves nothing (the shell verifies the signature).
        _ = n.step(.dropped(.heartbeatPacket, from: .text("10.0.0.9:694")), now: .zero + .milliseconds(500))
        #expect(!n.inStandby && n.counters.dropped(.heartbeatPacket) == 1)
        let first = n.step(.heartbeatDaemon(node: "b", source: "10.0.0.9:694"), now: .zero + .seconds(1)).actions
        #expect(n.inStandby && n.report.standby, "reported to the coordinator as not eligible")
        #expect(first.contains(.event(.heartbeatDaemon(node: "b"))))
        // More packets keep the hold going without repeating the error.
        let again = n.step(.heartbeatDaemon(node: "b", source: "10.0.0.9:694"), now: .zero + .seconds(5)).actions
        #expect(!again.contains { if case .event(.heartbeatDaemon) = $0 { true } else { false } })
        _ = n.step(.tick, now: .zero + .seconds(14))
        #expect(n.inStandby, "10 s after the last packet, not after the first")
        let quiet = n.step(.tick, now: .zero + .seconds(15) + .milliseconds(1)).actions
        #expect(!n.inStandby)
        #expect(quiet.contains(.event(.heartbeatDaemon(node: nil))))
    }
}
