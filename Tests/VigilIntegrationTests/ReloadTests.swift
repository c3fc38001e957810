import Foundation
#if canImport(Glibc)
    import Glibc
#endif
import Testing
import VigilAgent
import VigilCore

/// `vigil reload` and SIGHUP on real agents: what can change at run time is applied (and nothing is stopped or
/// started for it); anything else is refused with the reason and changes nothing. A node with another group
/// configuration is shown as such, and its groups wait.
@Suite(.serialized) struct ReloadTests {
    @Test func reloadAppliesTuningAndAlertsAndRefusesTheRest() throws {
        let tb = try FailoverTests.testbed("reload")
        defer { tb.down() }
        try tb.start()
        #expect(tb.wait(for: tb.nodes, timeout: .seconds(15)) { FailoverTests.allRunning($0, groups: 2) } != nil)
        let conf = "\(tb.run)/cluster.conf"
        let original = try String(contentsOfFile: conf, encoding: .utf8)
        defer { try? original.write(toFile: conf, atomically: true, encoding: .utf8) }
        func reload(_ node: String) throws -> (Int32, String) {
            try Testbed.spawn([Testbed.binary, "reload", "--socket", "\(tb.run)/\(node).sock", "--config", conf], env: [:])
        }
        let opsBefore = FailoverTests.ops(tb).count

        // Tuning and alerts: applied on every node.
        let alertDir = "\(tb.run)/alerts.d"
        try FileManager.default.createDirectory(atPath: alertDir, withIntermediateDirectories: true)
        try "#!/bin/sh\necho \"$VIGIL_ALERT_LOCAL_NODE $VIGIL_ALERT_KIND $VIGIL_ALERT_NODE $VIGIL_ALERT_STATE\" >> \(alertDir)/log\n"
            .write(toFile: "\(alertDir)/10-log", atomically: true, encoding: .utf8)
        chmod("\(alertDir)/10-log", 0o755)
        var tuned = original.replacingOccurrences(of: "monitor_interval = \"1s\"", with: "monitor_interval = \"2s\"")
        tuned = tuned.replacingOccurrences(of: "\nfencing = ", with: "\nalerts = \"\(alertDir)\"\nfencing = ")
        #expect(tuned != original)
        try tuned.write(toFile: conf, atomically: true, encoding: .utf8)
        for n in tb.nodes {
            let (code, out) = try reload(n)
            #expect(code == 0, "\(out)")
            #expect(out.contains("alerts \(alertDir)") && out.contains("group g1's tuning") && out.contains("group g2's tuning"), "\(out)")
        }
        // The new alerts run: a node that leaves is reported by the others.
        try tb.stop("n3")
        let alerted = Testbed.until(.seconds(10)) {
            ((try? String(contentsOfFile: "\(alertDir)/log", encoding: .utf8)) ?? "").contains("n1 node n3 left")
        }
        #expect(alerted, "\((try? String(contentsOfFile: "\(alertDir)/log", encoding: .utf8)) ?? "no alert log")")
        try tb.start(["n3"])
        #expect(tb.wait(for: tb.nodes, timeout: .seconds(15)) { FailoverTests.allRunning($0, groups: 2) } != nil)

        // Timing cannot change at run time: refused, exit 1, and nothing changed (SIGHUP says the same).
        try tuned.replacingOccurrences(of: "deadtime = ", with: "deadtime = \"2s\"\n# was: deadtime = ").write(
            toFile: conf, atomically: true, encoding: .utf8)
        var (code, out) = try reload("n1")
        #expect(code == 1 && out.contains("reload refused") && out.contains("timing"), "\(out)")
        try tb.signal("n2", SIGHUP)
        #expect(
            Testbed.until(.seconds(5)) {
                tb.events("n2").contains { if case .reloaded(.refused) = $0 { true } else { false } }
            })
        // Neither can the groups: a new one is refused.
        try (tuned + "\n[[group]]\nname = \"g3\"\nresources = [\"journal g3\"]\n").write(toFile: conf, atomically: true, encoding: .utf8)
        (code, out) = try reload("n1")
        #expect(code == 1 && out.contains("the groups changed"), "\(out)")
        #expect(
            tb.events("n1").contains(
                .reloaded(
                    .refused("the groups changed (g1, g2 → g1, g2, g3); apply it with `vigil restart` on every node (no group moves)"))))
        // Nothing was stopped or started for any of it (n3's leave and return aside).
        let ops = FailoverTests.ops(tb).dropFirst(opsBefore).filter {
            ($0[3] == "start" || $0[3] == "stop") && $0[1] != "n3" && $0[5] != "handover"
        }
        #expect(ops.isEmpty, "\(Array(ops))")
    }

    /// A node restarted with another group configuration: the others show it (status, --check) and ignore its
    /// reports; once its file matches again and it restarts, it is part of placement again.
    @Test func aNodeWithAnotherGroupConfigurationIsShownAndIgnored() throws {
        let tb = try FailoverTests.testbed("reload-differs")
        defer { tb.down() }
        try tb.start()
        #expect(tb.wait(for: tb.nodes, timeout: .seconds(15)) { FailoverTests.allRunning($0, groups: 2) } != nil)
        // n3 alone reads another file (its agent takes --config from the testbed: give it one of its own).
        let conf = "\(tb.run)/cluster.conf"
        let original = try String(contentsOfFile: conf, encoding: .utf8)
        defer { try? original.write(toFile: conf, atomically: true, encoding: .utf8) }
        try original.replacingOccurrences(of: "resources = [\"journal g2\"]", with: "resources = [\"journal g2b\"]").write(
            toFile: conf, atomically: true, encoding: .utf8)
        let (code, out) = try Testbed.spawn(
            [Testbed.binary, "restart", "--wait", "--socket", "\(tb.run)/n3.sock", "--config", conf], env: [:])
        #expect(code == 0, "\(out)")
        try original.write(toFile: conf, atomically: true, encoding: .utf8)
        #expect(tb.wait(for: ["n1"], timeout: .seconds(10)) { $0["n1"]?.node("n3")?.configDiffers == true } != nil)
        let (checkCode, check) = try Testbed.spawn(
            [Testbed.binary, "status", "--check", "--socket", "\(tb.run)/n1.sock", "--config", conf], env: [:])
        #expect(checkCode == 1 && check.contains("node n3 runs another group configuration"), "\(check)")
        // Its file matches again: after a restart it is in step.
        _ = try Testbed.spawn([Testbed.binary, "restart", "--wait", "--socket", "\(tb.run)/n3.sock", "--config", conf], env: [:])
        #expect(tb.wait(for: ["n1"], timeout: .seconds(10)) { $0["n1"]?.node("n3")?.configDiffers == false } != nil)
    }
}
