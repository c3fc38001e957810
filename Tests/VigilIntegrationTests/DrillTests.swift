import Foundation
#if canImport(Glibc)
    import Glibc
#endif
import Testing

/// `vigil drill`'s pinger against a responder in another namespace that drops, delays and duplicates replies
/// by a known plan (agents/icmp-impair.py): the report's loss, duplicate, gap and RTT figures must match.
@Suite(.serialized) struct DrillTests {
    static let agents = Testbed.repo + "/Tests/VigilIntegrationTests/agents"

    struct Net {
        let src = "vd-src-\(getpid())", dst = "vd-dst-\(getpid())"
        func sh(_ cmd: String) throws {
            let (rc, out) = try Testbed.spawn(["/bin/sh", "-c", cmd], env: [:])
            guard rc == 0 else { throw TestbedError("\(cmd): \(out)") }
        }
        func up() throws {
            try sh("ip netns add \(src) && ip netns add \(dst) && ip -n \(src) link set lo up && ip -n \(dst) link set lo up")
            try sh("ip -n \(src) link add eth0 type veth peer name eth0 netns \(dst)")
            try sh("ip -n \(src) addr add 10.66.0.1/24 dev eth0 && ip -n \(src) link set eth0 up")
            try sh("ip -n \(dst) addr add 10.66.0.2/24 dev eth0 && ip -n \(dst) link set eth0 up")
            // The kernel must not answer: the responder does, with its faults.
            try sh("ip netns exec \(dst) sysctl -qw net.ipv4.icmp_echo_ignore_all=1")
        }
        func down() {
            for n in [src, dst] {
                _ = try? sh("ip netns pids \(n) | xargs -r kill -KILL; ip netns del \(n)")
            }
        }
    }

    @Test func lossDelayAndDuplicatesAreReportedAsInjected() throws {
        try Testbed.requireRoot()
        let net = Net()
        defer { net.down() }
        try net.up()
        // The responder, in the destination namespace (killed with the namespace's processes).
        let responder = Process()
        responder.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        responder.arguments = ["netns", "exec", net.dst, "python3", Self.agents + "/icmp-impair.py"]
        let pipe = Pipe()
        responder.standardOutput = pipe
        try responder.run()
        defer { responder.terminate() }
        // Wait (bounded) for it to say it is ready.
        let ready = pipe.fileHandleForReading.availableData
        #expect(String(decoding: ready, as: UTF8.self).contains("ready"))

        let out = NSTemporaryDirectory() + "vigil-drill-test-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: out) }
        let (rc, text) = try Testbed.spawn(
            [
                "/usr/sbin/ip", "netns", "exec", net.src, Testbed.binary, "drill", "--target", "10.66.0.2",
                "--duration", "4s", "--interval", "10ms", "--out", out
            ], env: [:])
        #expect(rc == 0, "\(text)")
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/report.json"))) as! [String: Any]
        let sent = report["sent"] as! Int
        #expect((395...401).contains(sent), "sent \(sent)")
        func isDropped(_ s: Int) -> Bool { s % 20 == 7 || (200..<230).contains(s) }
        let dropped: Int = (0..<sent).filter(isDropped).count
        let dups: Int = (0..<sent).filter { (s: Int) -> Bool in s % 25 == 3 && !isDropped(s) }.count
        let lost = report["lost"] as? Int
        let duplicates = report["duplicates"] as? Int
        let reordered = report["reordered"] as? Int ?? 0
        #expect(lost == dropped, "lost \(String(describing: lost)) expected \(dropped)")
        #expect(duplicates == dups, "duplicates \(String(describing: duplicates)) expected \(dups)")
        #expect(reordered >= 1, "the 30 ms delayed replies overtaken by prompt ones count as reordered")
        // The outage: replies to 199 and 230 are 31 intervals apart; the resolution is one interval.
        let gap = report["longest_gap"] as! [String: Any]
        let length = gap["length_ms"] as! Double
        // (Upper bound with room for a loaded CI machine: the responder is a Python process.)
        #expect(length >= 300 && length <= 360, "gap \(length) ms")
        let lostInGap = gap["lost"] as? Int
        #expect(lostInGap == 30, "lost in the gap: \(String(describing: lostInGap))")
        let gapStart = gap["start_ms"] as! Double
        #expect(abs(gapStart - 1990) < 40, "gap starts at \(gapStart) ms")
        // Second 1 holds the 30 ms delayed replies (100..149): its RTT minimum is at least 30 ms for half of it.
        let windows = report["windows"] as! [[String: Any]]
        #expect((windows[1]["rtt_max_ms"] as! Double) >= 30)
        #expect((windows[0]["rtt_avg_ms"] as! Double) < 10, "second 0 has no delayed replies")
        let achieved = report["achieved_interval_ms"] as! Double
        #expect(abs(achieved - 10) < 0.5, "achieved interval \(achieved) ms")
        // The CSV has one line per request, the SVG parses and shows the gap.
        let csv = try String(contentsOfFile: out + "/pings.csv", encoding: .utf8).split(separator: "\n")
        #expect(csv.count == sent + 1)
        let svg = try String(contentsOfFile: out + "/drill.svg", encoding: .utf8)
        #expect(svg.contains("id=\"gap\"") && svg.contains("gap \(String(format: "%.1f", length)) ms"))
    }
}
