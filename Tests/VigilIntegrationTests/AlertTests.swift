import Foundation
import Testing
import VigilAgent
import VigilCore

/// Alert scripts (`alerts` in cluster.conf) on real agents: every executable of the directory runs per event
/// with VIGIL_ALERT_* set, in order; a script that hangs is killed at alert_timeout and delays, but does not
/// stop, the alerts after it.
@Suite(.serialized) struct AlertTests {
    @Test func alertScriptsRunOnNodeAndGroupEventsAndAHangingOneIsKilled() throws {
        let dir = "/tmp/vigil-testbed-alerts-scripts"
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let log = "\(dir)/log"
        try """
        #!/bin/sh
        echo "$VIGIL_ALERT_LOCAL_NODE $VIGIL_ALERT_SEQUENCE $VIGIL_ALERT_KIND node=$VIGIL_ALERT_NODE group=$VIGIL_ALERT_GROUP state=$VIGIL_ALERT_STATE ts=$VIGIL_ALERT_TIMESTAMP" >> \(log)
        """.write(toFile: "\(dir)/10-log", atomically: true, encoding: .utf8)
        try "#!/bin/sh\nexec sleep 31.5\n".write(toFile: "\(dir)/20-hang", atomically: true, encoding: .utf8)
        try "not a script\n".write(toFile: "\(dir)/30-not-executable", atomically: true, encoding: .utf8)
        chmod("\(dir)/10-log", 0o755)
        chmod("\(dir)/20-hang", 0o755)
        let tb = try Testbed(
            name: "alerts", timing: FailoverTests.timing,
            extra: [
                "--groups", "2", "--fencing", "none", "--agent", "journal", "--agent-dir", FailoverTests.agents,
                "--conf", "alerts = \"\(dir)\"", "--conf", "alert_timeout = \"300ms\""
            ])
        defer { tb.down() }
        try tb.start()
        #expect(tb.wait(for: tb.nodes, timeout: .seconds(15)) { FailoverTests.allRunning($0, groups: 2) } != nil)
        let statuses = tb.nodes.reduce(into: [String: StatusReport]()) { $0[$1] = tb.status($1) }
        let victim = try #require(FailoverTests.owner(statuses, "g1"))
        let witness = try #require(tb.nodes.first { $0 != victim })
        try tb.sh("crash", victim)
        func lines() -> [String] { ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init) }
        // Every event waits up to 300 ms for the hanging script before the next alert: give them time.
        let clock = ContinuousClock()
        let start = clock.now
        var seen: [String] = []
        while clock.now - start < .seconds(20) {
            seen = lines().filter { $0.hasPrefix("\(witness) ") }
            if seen.contains(where: { $0.contains(" node node=\(victim) group= state=dead") }),
                tb.nodes.contains(where: { n in
                    n != victim && lines().contains { $0.hasPrefix("\(n) ") && $0.contains("group node= group=g1 state=running") }
                })
            {
                break
            }
            usleep(200_000)
        }
        #expect(seen.contains { $0.contains(" node node=\(victim) group= state=dead") }, "\(seen)")
        #expect(
            tb.nodes.contains { n in
                n != victim && lines().contains { $0.hasPrefix("\(n) ") && $0.contains("group node= group=g1 state=running") }
            },
            "\(lines())")
        // In order, numbered from 1 per agent, with an RFC 3339 time.
        let numbers = seen.compactMap { Int($0.split(separator: " ")[1]) }
        #expect(numbers == Array(1...max(1, numbers.count)), "\(seen)")
        #expect(
            seen.allSatisfy { $0.range(of: #"ts=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"#, options: .regularExpression) != nil }, "\(seen)")
        // The hanging script is killed each time at alert_timeout, the agents still running: none is left.
        var left = "?"
        let killedBy = ContinuousClock().now
        while ContinuousClock().now - killedBy < .seconds(10) {
            left = (try? Testbed.spawn(["/usr/bin/pgrep", "-f", "sleep 31.5"], env: [:]))?.1 ?? "?"
            if left.isEmpty { break }
            usleep(200_000)
        }
        #expect(left.isEmpty, "left running: \(left)")
        #expect(tb.status(witness) != nil, "the agent must still run")
    }
}
