import Testing
@testable import VigilCore

/// Every administrative request gets an answer from the node that carries it out: accepted, or refused with a
/// typed reason; it reaches the node the request was made on (`Action.answer`) as a `.requestReply` message.
@Suite struct RequestAnswerTests {
    static let timing = TimingSpec(
        interval: .milliseconds(100), warntime: .milliseconds(300), deadtime: .milliseconds(500), initdead: .seconds(2))

    /// Node `me` of a, b, c with one group `web` (home a).
    static func harness(me: String = "a") -> Harness {
        var h = Harness(me: me, timing: timing)
        let spec = ClusterSpec(
            name: "t", nodes: ["a", "b", "c"].map { NodeSpec(name: $0, addresses: ["addr-\($0)"]) }, timing: timing,
            groups: [GroupSpec(name: "web", home: "a", resources: [ResourceSpec(agent: "dummy", arguments: [])])])
        h.node = ClusterNode(spec: spec, me: me, incarnation: 1, now: h.now, persisted: nil)
        return h
    }

    /// a, elected coordinator of term 1 with b's vote.
    static func coordinator() -> Harness {
        var h = harness()
        h.heartbeat(from: "b")
        h.heartbeat(from: "c")
        h.deliver(h.message(.voteGrant, from: "b", term: 1, candidate: "a"))
        return h
    }

    static func answers(_ a: [Action]) -> [(UInt64, RequestAnswer)] {
        a.compactMap { if case let .answer(n, x) = $0 { (n, x) } else { nil } }
    }

    static func replies(_ a: [Action]) -> [(to: String, number: UInt64, answer: RequestAnswer?)] {
        Harness.sends(a, kind: .requestReply).map { ($0.1, $0.0.requestNumber, $0.0.answer) }
    }

    mutating func request(_ h: inout Harness, _ r: AdminRequest, number: UInt64) -> [Action] {
        let ready = h.node.step(.request(r, number: number, from: h.node.me), now: h.now)
        h.actions = ready.actions
        return ready.actions
    }

    @Test mutating func theCoordinatorAcceptsOrRefusesWithAReason() {
        var h = Self.coordinator()
        #expect(h.node.isCoordinator)
        var a = request(&h, .move(group: "typo", node: "b"), number: 5)
        #expect(Self.answers(a).map(\.0) == [5])
        #expect(Self.answers(a).first?.1 == .refused(by: "a", .noSuchGroup("typo")))
        #expect(
            a.contains(
                .event(
                    .requestAnswered(request: .move(group: "typo", node: "b"), from: "a", answer: .refused(by: "a", .noSuchGroup("typo")))))
        )
        a = request(&h, .move(group: "web", node: "x"), number: 6)
        #expect(Self.answers(a).first?.1 == .refused(by: "a", .noSuchNode("x")))
        a = request(&h, .move(group: "web", node: "b"), number: 7)
        #expect(Self.answers(a).first?.1 == .accepted(by: "a", note: nil))
        a = request(&h, .confirmDown(node: "c"), number: 8)
        #expect(Self.answers(a).first?.1 == .refused(by: "a", .notDown(node: "c", state: "alive")))
        // A pin to a node that cannot run groups now is accepted, with a note saying so.
        for _ in 0..<6 {
            _ = h.advance(.milliseconds(100))
            h.heartbeat(from: "b", term: 1, coordinator: "a")
        }
        #expect(h.node.state(of: "c") == .dead)
        a = request(&h, .move(group: "web", node: "c"), number: 9)
        #expect(Self.answers(a).first?.1 == .accepted(by: "a", note: .targetNotUsable(node: "c", state: "dead")))
        a = request(&h, .standby(node: "c"), number: 10)
        #expect(Self.answers(a).first?.1 == .refused(by: "a", .unreachable(node: "c", state: "dead")))
        // Number 0: carried out, but nobody waits for an answer.
        a = request(&h, .unmove(group: "web"), number: 0)
        #expect(Self.answers(a).isEmpty)
    }

    @Test mutating func withoutACoordinatorARequestIsRefusedAtOnce() {
        var h = Self.harness(me: "c")
        let a = request(&h, .move(group: "web", node: "b"), number: 3)
        #expect(Self.answers(a).first?.1 == .refused(by: "c", .noCoordinator))
        #expect(Harness.sends(a, kind: .request).isEmpty)
    }

    /// A follower forwards the request with its number; the coordinator answers on every link; the answer
    /// becomes `Action.answer` on the follower.
    @Test mutating func aForwardedRequestIsAnsweredByTheCoordinator() {
        var f = Self.harness(me: "b")
        f.heartbeat(from: "a", term: 1, coordinator: "a")
        f.heartbeat(from: "c", term: 1, coordinator: "a")
        #expect(f.node.coordinator == "a")
        var a = request(&f, .move(group: "typo", node: "c"), number: 11)
        let forwarded = Harness.sends(a, kind: .request)
        #expect(forwarded.map(\.1) == ["a"])
        #expect(forwarded.first?.0.requestNumber == 11)
        #expect(Self.answers(a).isEmpty)

        var c = Self.coordinator()
        var m = c.message(.request, from: "b", term: 1, coordinator: "a")
        m.request = .move(group: "typo", node: "c")
        m.requestNumber = 11
        let r = Self.replies(c.deliver(m))
        #expect(r.count == 1 && r[0].to == "b" && r[0].number == 11)
        #expect(r.first?.answer == .refused(by: "a", .noSuchGroup("typo")))

        var reply = f.message(.requestReply, from: "a", term: 1, coordinator: "a")
        reply.request = .move(group: "typo", node: "c")
        reply.requestNumber = 11
        reply.answer = .refused(by: "a", .noSuchGroup("typo"))
        a = f.deliver(reply)
        #expect(Self.answers(a).map(\.0) == [11])
        #expect(Self.answers(a).first?.1 == .refused(by: "a", .noSuchGroup("typo")))
    }

    /// A request for the coordinator that reaches a node which no longer coordinates is refused by it, so the
    /// waiting command learns at once instead of timing out.
    @Test mutating func aRequestForTheCoordinatorReachingAnotherNodeIsRefused() {
        var f = Self.harness(me: "b")
        f.heartbeat(from: "a", term: 1, coordinator: "a")
        var m = f.message(.request, from: "c", term: 1, coordinator: "b")
        m.request = .move(group: "web", node: "c")
        m.requestNumber = 4
        let r = Self.replies(f.deliver(m))
        #expect(r.count == 1 && r[0].to == "c" && r[0].number == 4)
        #expect(r.first?.answer == .refused(by: "b", .notCoordinator(coordinator: "a")))
    }
}
