import Testing
@testable import VigilCore

/// A failed stop in the core (Heartbeat's ResourceManager): `status` decides whether it stopped after all;
/// otherwise the stop is tried again 1 s later, up to `stop_retries` times; hard stops are not retried.
@Suite struct StopRetryTests {
    static func node(retries: Int) -> ClusterNode {
        var spec = SoakFindingsTests.spec(resources: 1)
        spec.groups[0].stopRetries = retries
        var n = ClusterNode(spec: spec, me: "a", incarnation: 1, now: .zero, persisted: nil)
        n.groups.local[0].phase = .running
        return n
    }

    /// Feeds `result` for the one operation in `out` and returns the next step's actions.
    static func finish(_ n: inout ClusterNode, _ out: [Action], _ result: OperationResult, at now: Instant) -> [Action] {
        let op = SoakFindingsTests.operations(out).last!
        return n.step(.operationDone(id: op.id, result), now: now).actions
    }

    static func describe(_ out: [Action]) -> [String] {
        SoakFindingsTests.operations(out).map { "\($0.action.rawValue)/\($0.reason)" }
    }

    @Test func aStopThatKeepsFailingIsCheckedAndRetriedThenBlocks() {
        var n = Self.node(retries: 2)
        var out: [Action] = []
        n.begin(0, .stop(reason: .stop, peer: ""), now: .zero, into: &out)
        var seen = Self.describe(out)
        var now = Instant.zero
        for _ in 0..<3 {
            out = Self.finish(&n, out, .failed("exit code 1"), at: now)  // the stop
            seen += Self.describe(out)
            out = Self.finish(&n, out, .succeeded, at: now)  // its status check: still running
            seen += Self.describe(out)
            if n.groups.local[0].phase == .blocked { break }
            #expect(Self.describe(out).isEmpty, "the retry waits")
            #expect(n.nextWakeup(after: now) <= now + .seconds(1))
            now = now + .seconds(1)
            out = n.step(.tick, now: now).actions
            seen += Self.describe(out)
        }
        #expect(seen == ["stop/stop", "status/stop-check", "stop/stop", "status/stop-check", "stop/stop", "status/stop-check"])
        #expect(n.groups.local[0].phase == .blocked)
    }

    @Test func aFailedStopThatStatusCallsStoppedCountsAsStopped() {
        var n = Self.node(retries: 0)
        var out: [Action] = []
        n.begin(0, .stop(reason: .stop, peer: ""), now: .zero, into: &out)
        out = Self.finish(&n, out, .failed("exit code 1"), at: .zero)
        #expect(Self.describe(out) == ["status/stop-check"])
        out = Self.finish(&n, out, .stopped, at: .zero)
        #expect(n.groups.local[0].phase == .stopped)
    }

    @Test func aHardStopIsNotRetried() {
        var n = Self.node(retries: 5)
        n.storage = nil
        var out: [Action] = []
        n.begin(0, .stop(reason: .fence, peer: ""), now: .zero, into: &out)
        out = Self.finish(&n, out, .failed("exit code 1"), at: .zero)
        #expect(Self.describe(out).isEmpty)
        #expect(n.groups.local[0].phase == .blocked)
    }
}

extension StopRetryTests {
    /// Fenced while a failed soft stop waits for its retry: every resource is stopped hard at once (the fence's
    /// msgwait budget assumes a hard stop), not retried softly.
    @Test func aFenceCutsAWaitingRetryShort() {
        var spec = SoakFindingsTests.spec(resources: 2, storage: true)
        spec.groups[0].stopRetries = 5
        var n = ClusterNode(spec: spec, me: "a", incarnation: 1, now: .zero, persisted: nil)
        n.groups.local[0].phase = .running
        var out: [Action] = []
        n.begin(0, .stop(reason: .stop, peer: ""), now: .zero, into: &out)
        out = Self.finish(&n, out, .failed("exit code 1"), at: .zero)  // the stop of resource 1
        out = Self.finish(&n, out, .succeeded, at: .zero)  // its check: still running; the retry waits
        #expect(Self.describe(out).isEmpty)
        n.storage!.fenced = StorageState.SelfFence(reason: "test", serial: 1, since: .zero)
        let ops = SoakFindingsTests.operations(n.step(.tick, now: Instant.zero + .milliseconds(10)).actions)
        #expect(ops.map { "\($0.action.rawValue)/\($0.reason)/\($0.resourceIndex)/\($0.hard)" } == ["stop/fence/1/true"])
    }
}

/// `monitor_passed_ms_ago` in the group's status: set by a monitor that found every resource running, its
/// age measured from the status's `now`, and cleared by a stop.
@Suite struct MonitorStatusTests {
    static func t(_ s: Int64) -> Instant { .zero + .seconds(s) }

    @Test func aPassedMonitorShowsInStatusUntilTheGroupStops() {
        var n = StopRetryTests.node(retries: 0)
        var out: [Action] = []
        #expect(n.groupStatus(now: .zero)[0].monitorPassedMsAgo == nil, "no monitor yet")
        n.begin(0, .monitor, now: .zero, into: &out)
        #expect(StopRetryTests.describe(out) == ["status/monitor"])
        out = StopRetryTests.finish(&n, out, .succeeded, at: Self.t(1))
        #expect(n.groupStatus(now: Self.t(3))[0].monitorPassedMsAgo == 2000)
        #expect(n.groupStatus()[0].monitorPassedMsAgo == nil, "no age without a time")
        n.begin(0, .stop(reason: .stop, peer: ""), now: Self.t(4), into: &out)
        out = StopRetryTests.finish(&n, out, .succeeded, at: Self.t(4))
        #expect(n.groups.local[0].phase == .stopped)
        #expect(n.groupStatus(now: Self.t(5))[0].monitorPassedMsAgo == nil, "cleared by the stop")
    }

    @Test func aFailedMonitorLeavesNoAge() {
        var n = StopRetryTests.node(retries: 0)
        var out: [Action] = []
        n.begin(0, .monitor, now: .zero, into: &out)
        out = StopRetryTests.finish(&n, out, .stopped, at: Self.t(1))
        #expect(n.groupStatus(now: Self.t(2))[0].monitorPassedMsAgo == nil)
    }
}
