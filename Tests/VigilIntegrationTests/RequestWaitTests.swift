import Testing
import VigilAgent
@testable import VigilCore

/// What `vigil REQUEST --wait` waits for, judged on status reports (no agents needed).
@Suite struct RequestWaitTests {
    /// n1's status with the given groups.
    static func report(_ groups: [GroupStatus]) -> StatusReport {
        let spec = ClusterSpec(name: "t", nodes: ["n1", "n2", "n3"].map { NodeSpec(name: $0, addresses: ["x-\($0)"]) }, timing: .safe)
        var r = ClusterNode(spec: spec, me: "n1", incarnation: 1, now: .zero, persisted: nil).status(now: .zero)
        r.groups = groups
        return r
    }

    static func group(
        _ name: String, owner: String?, _ state: String, nodes: [String: String] = [:], failures: [String: Int] = [:],
        preferred: String? = nil, home: String? = nil
    ) -> GroupStatus {
        GroupStatus(
            name: name, owner: owner, state: state, reason: state == "blocked" ? "BLOCKED: stop failed on n2" : "", nodes: nodes,
            failures: failures, epoch: 1, preferred: preferred, home: home, monitorPassedMsAgo: nil)
    }

    static func isWaiting(_ v: RequestWait.Verdict) -> Bool { if case .waiting = v { true } else { false } }
    static func isFailed(_ v: RequestWait.Verdict) -> Bool { if case .failed = v { true } else { false } }
    static func isReached(_ v: RequestWait.Verdict) -> Bool { if case .reached = v { true } else { false } }

    @Test func moveWaitsUntilTheGroupRunsOnTheTargetAndFailsWhenBlocked() {
        let w = RequestWait(.move(group: "web", node: "n2"))
        #expect(Self.isWaiting(w.judge(Self.report([Self.group("web", owner: "n2", "moving")]))))
        #expect(Self.isWaiting(w.judge(Self.report([Self.group("web", owner: "n1", "running")]))))
        #expect(Self.isReached(w.judge(Self.report([Self.group("web", owner: "n2", "running")]))))
        #expect(Self.isFailed(w.judge(Self.report([Self.group("web", owner: "n2", "blocked")]))))
        #expect(Self.isFailed(w.judge(Self.report([]))))
    }

    @Test func standbyOfThisNodeWaitsUntilNothingIsLeftThere() {
        let w = RequestWait(.standby(node: ""))  // this node: n1, from the report
        let moving = Self.group("web", owner: "n2", "moving", nodes: ["n1": "stopping", "n2": "stopped"])
        #expect(Self.isWaiting(w.judge(Self.report([moving]))))
        let owned = Self.group("web", owner: "n1", "running", nodes: ["n1": "running"])
        #expect(Self.isWaiting(w.judge(Self.report([owned]))))
        // Handed over: stopped on n1 (a VM still runs there), the target's start migrates it.
        let handedOver = Self.group("web", owner: "n2", "starting", nodes: ["n1": "stopped", "n2": "starting"])
        #expect(Self.isWaiting(w.judge(Self.report([handedOver]))))
        let done = Self.group("web", owner: "n2", "running", nodes: ["n1": "stopped", "n2": "running"])
        #expect(Self.isReached(w.judge(Self.report([done]))))
        let stuck = Self.group("web", owner: "n2", "blocked", nodes: ["n1": "blocked"])
        #expect(Self.isFailed(w.judge(Self.report([stuck]))))
    }

    @Test func standbyWithTheStatusFromBeforeWaitsForExactlyTheGroupsThatWereThere() {
        let before = Self.report([
            Self.group("web", owner: "n1", "running", nodes: ["n1": "running"]),
            Self.group("db", owner: "n3", "running", nodes: ["n3": "running"]),
            Self.group("tool", owner: "n1", "unmanaged", nodes: ["n1": "running"])
        ])
        let w = RequestWait(.standby(node: "n1"), before: before)
        let tool = Self.group("tool", owner: "n1", "unmanaged", nodes: ["n1": "running"])
        // Handed over: stopped on n1, the target waits for its go (state stopped): not done yet.
        let waitingForGo = Self.group("web", owner: "n2", "stopped", nodes: ["n1": "stopped", "n2": "stopped"])
        #expect(Self.isWaiting(w.judge(Self.report([waitingForGo, tool]))))
        // web runs on n2; db restarting on n3 (never on n1) and the unmanaged tool do not hold the wait.
        let moved = Self.group("web", owner: "n2", "running", nodes: ["n1": "stopped", "n2": "running"])
        let dbRestarting = Self.group("db", owner: "n3", "starting", nodes: ["n3": "starting"])
        #expect(Self.isReached(w.judge(Self.report([moved, dbRestarting, tool]))))
        #expect(Self.isFailed(w.judge(Self.report([Self.group("web", owner: "n2", "blocked", nodes: ["n2": "blocked"]), tool]))))
    }

    @Test func takeoverCleanupUnmoveAndTheRest() {
        let t = RequestWait(.takeover(node: "n3", all: false))
        let home = Self.group("db", owner: "n3", "running", home: "n3")
        let other = Self.group("web", owner: "n1", "running", home: "n1")
        #expect(Self.isReached(t.judge(Self.report([home, other]))))
        #expect(Self.isWaiting(RequestWait(.takeover(node: "n3", all: true)).judge(Self.report([home, other]))))

        let c = RequestWait(.cleanup(group: "web", node: "n2"))
        #expect(
            Self.isWaiting(c.judge(Self.report([Self.group("web", owner: "n1", "running", nodes: ["n2": "blocked"], failures: ["n2": 1])])))
        )
        #expect(Self.isReached(c.judge(Self.report([Self.group("web", owner: "n1", "running", nodes: ["n2": "stopped"])]))))

        let u = RequestWait(.unmove(group: "web"))
        #expect(Self.isWaiting(u.judge(Self.report([Self.group("web", owner: "n1", "running", preferred: "n1")]))))
        #expect(Self.isReached(u.judge(Self.report([Self.group("web", owner: "n1", "running")]))))

        #expect(Self.isReached(RequestWait(.unstandby(node: "n2")).judge(Self.report([]))))

        let d = RequestWait(.disable(group: "web"))
        #expect(Self.isWaiting(d.judge(Self.report([Self.group("web", owner: nil, "stopping", nodes: ["n1": "stopping"])]))))
        #expect(
            Self.isReached(d.judge(Self.report([Self.group("web", owner: nil, "disabled", nodes: ["n1": "stopped", "n2": "stopped"])]))))
        let e = RequestWait(.enable(group: "web"))
        #expect(Self.isWaiting(e.judge(Self.report([Self.group("web", owner: nil, "disabled")]))))
        #expect(Self.isReached(e.judge(Self.report([Self.group("web", owner: "n2", "running")]))))
    }
}
