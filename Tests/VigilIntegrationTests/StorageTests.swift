import Foundation
#if canImport(Glibc)
    import Glibc
#endif
import Testing
import VigilCore

/// Shared storage on real targets: tgtd (iSCSI, through libiscsi) and vblade (AoE, raw Ethernet) in a storage
/// namespace on a network of its own, real agents in node namespaces, the `journal` test agent, and the
/// invariant checker sampling which namespace really runs each group's process.
@Suite(.serialized) struct StorageTests {
    static let timing = FailoverTests.timing
    /// Storage timings for the tests: disk heartbeat 100 ms, msgwait 2 s (>= 2 x watchdog_timeout 1 s).
    static let storageConf = [
        "self_fence = \"stop-resources\"", "interval = \"100ms\"", "io_timeout = \"500ms\"",
        "watchdog_timeout = \"1s\"", "msgwait = \"2s\""
    ]

    static func testbed(_ name: String, nodes: Int = 3, groups: Int = 2, storage: String = "iscsi,aoe") throws -> Testbed {
        try Testbed(
            name: name, nodes: nodes, timing: timing,
            extra: [
                "--groups", "\(groups)", "--fencing", "required", "--agent", "journal",
                "--agent-dir", FailoverTests.agents, "--storage", storage
            ]
                + storageConf.flatMap { ["--storage-conf", $0] })
    }

    static func statuses(_ tb: Testbed, _ nodes: [String]? = nil) -> [String: StatusReport] {
        (nodes ?? tb.nodes).reduce(into: [:]) { $0[$1] = tb.status($1) }
    }

    /// Storage is ok on every node and every device.
    static func storageOK(_ s: [String: StatusReport]) -> Bool {
        s.values.allSatisfy { $0.storage?.devices.allSatisfy { $0.state == "ok" || $0.state == "slow" } ?? false }
    }

    @Test func aPartitionedOwnerIsFencedByPillAndItsGroupsStartElsewhereOnce() throws {
        let tb = try Self.testbed("st-cut")
        defer { tb.down() }
        let checker = InvariantChecker(tb)
        try tb.start()
        #expect(
            tb.wait(for: tb.nodes, timeout: .seconds(15)) { FailoverTests.allRunning($0, groups: 2) && Self.storageOK($0) } != nil,
            "\(tb.log("n1"))")
        let victim = FailoverTests.owner(Self.statuses(tb), "g1")!
        let survivors = tb.nodes.filter { $0 != victim }
        let startsBefore = FailoverTests.ops(tb).filter { $0[2] == "g1" && $0[3] == "start" && $0[4] == "begin" }.count
        try tb.cut(victim)  // LAN only: its storage network stays up

        // The survivors see it alive on disk (partitioned, then fenced), fence it by pill, and restart its groups.
        let took = tb.wait(for: survivors, timeout: .seconds(10)) { s in
            s.values.allSatisfy { r in r.groups.allSatisfy { $0.state == "running" && $0.owner != victim } }
        }
        #expect(took != nil, "groups did not leave \(victim): \(tb.log(survivors[0]))")
        if let took { print("LAN cut of \(victim): fenced by pill, its groups running elsewhere after \(took)") }
        let s = Self.statuses(tb, survivors)
        let c = s.values.first { $0.role == "coordinator" }
        #expect(
            c?.storage?.fencing.first { $0.node == victim }?.done?.contains("acknowledged") == true,
            "\(String(describing: c?.storage?.fencing))")
        #expect(["partitioned", "fenced"].contains(c?.node(victim)?.state ?? ""), "\(String(describing: c?.node(victim)))")
        // The victim fenced itself: every group stopped (reason fence) before the start elsewhere began.
        let v = tb.status(victim)
        #expect(v?.storage?.fenced?.contains("poison pill") == true, "\(String(describing: v?.storage))")
        let g1 = FailoverTests.ops(tb).filter { $0[2] == "g1" }
        let stop = g1.last { $0[1] == victim && $0[3] == "stop" && $0[4] == "end" }
        let start = g1.last { $0[1] != victim && $0[3] == "start" && $0[4] == "begin" }
        #expect(stop?[5] == "fence" || stop?[5] == "quorum-lost", "\(g1)")
        if let stop, let start { #expect(UInt64(stop[0])! < UInt64(start[0])!, "started on \(start[1]) before \(victim) stopped") }
        #expect(g1.filter { $0[3] == "start" && $0[4] == "begin" }.count == startsBefore + 1, "\(g1)")

        // Healed: the coordinator clears the pill and the victim may run groups again.
        try tb.heal(victim)
        #expect(
            tb.wait(for: tb.nodes, timeout: .seconds(10)) { s in
                s.count == 3 && s.values.allSatisfy { $0.storage?.fenced == nil && $0.quorate }
            } != nil, "\(tb.log(victim))")
        checker.stop()
        #expect(checker.violations.isEmpty, "\(checker.violations.prefix(3))")
        #expect(checker.samples > 50)
    }

    @Test func aStoppedTargetIsReportedLostByEveryNodeAndNobodyDoubleStarts() throws {
        let tb = try Self.testbed("st-out", storage: "iscsi")
        defer { tb.down() }
        let checker = InvariantChecker(tb)
        try tb.start()
        #expect(tb.wait(for: tb.nodes, timeout: .seconds(15)) { FailoverTests.allRunning($0, groups: 2) && Self.storageOK($0) } != nil)
        let opsBefore = FailoverTests.ops(tb).count
        try tb.sh("storage-stop", "iscsi")
        // Lost on every node within io_timeout + interval (+ slack for the status poll).
        let lost = tb.wait(for: tb.nodes, timeout: .seconds(5)) { s in
            s.count == 3 && s.values.allSatisfy { $0.storage?.devices.first?.state == "lost" }
        }
        #expect(lost != nil)
        if let lost { print("tgtd stopped: every node reports the device lost after \(lost)") }
        // Quorum holds, so nothing is fenced and nothing moves.
        usleep(1_500_000)
        #expect(Self.statuses(tb).values.allSatisfy { $0.storage?.fenced == nil && $0.quorate })
        #expect(FailoverTests.ops(tb).count == opsBefore, "\(FailoverTests.ops(tb).suffix(4))")
        try tb.sh("storage-start", "iscsi")
        #expect(
            tb.wait(for: tb.nodes, timeout: .seconds(10)) { s in
                Self.storageOK(s) && s.values.allSatisfy { $0.storage?.peers.allSatisfy { $0.disk == "alive" } ?? false }
            } != nil, "slots did not resume: \(tb.log("n1").suffix(800))")
        #expect(FailoverTests.allRunning(Self.statuses(tb), groups: 2))
        checker.stop()
        #expect(checker.violations.isEmpty, "\(checker.violations.prefix(3))")
    }

    @Test func aFrozenAgentReadsItsPillAndDoesNotKeepItsResources() throws {
        let tb = try Self.testbed("st-stop", groups: 1, storage: "iscsi")
        defer { tb.down() }
        let checker = InvariantChecker(tb)
        try tb.start()
        #expect(tb.wait(for: tb.nodes, timeout: .seconds(15)) { FailoverTests.allRunning($0, groups: 1) && Self.storageOK($0) } != nil)
        let victim = FailoverTests.owner(Self.statuses(tb), "g1")!
        let survivors = tb.nodes.filter { $0 != victim }
        try tb.signal(victim, SIGSTOP)
        // Longer than deadtime (the others fence it), shorter than msgwait (the pill must be read, not assumed).
        usleep(UInt32(Self.timing.deadtime.milliseconds * 1000) + 900_000)
        try tb.signal(victim, SIGCONT)
        let took = tb.wait(for: survivors, timeout: .seconds(10)) { s in
            s.values.allSatisfy { $0.groups.allSatisfy { $0.state == "running" && $0.owner != victim } }
        }
        #expect(took != nil, "\(tb.log(survivors[0]).suffix(1500))")
        let g1 = FailoverTests.ops(tb).filter { $0[2] == "g1" }
        let stop = g1.last { $0[1] == victim && $0[3] == "stop" && $0[4] == "end" }
        let start = g1.last { $0[1] != victim && $0[3] == "start" && $0[4] == "begin" }
        #expect(stop != nil && start != nil, "\(g1)")
        if let stop, let start { #expect(UInt64(stop[0])! < UInt64(start[0])!, "started on \(start[1]) before \(victim) stopped: \(g1)") }
        checker.stop()
        #expect(checker.violations.isEmpty, "\(checker.violations.prefix(3))")
    }

    @Test func twoNodesWithTheLanCutKeepExactlyOneSurvivor() throws {
        let tb = try Self.testbed("st-two", nodes: 2, groups: 2, storage: "iscsi")
        defer { tb.down() }
        let checker = InvariantChecker(tb)
        try tb.start()
        #expect(
            tb.wait(for: tb.nodes, timeout: .seconds(15)) { s in
                FailoverTests.allRunning(s, groups: 2) && Self.storageOK(s)
                    && Set(s.values.flatMap { $0.groups.compactMap(\.owner) }).count == 2
            } != nil, "both nodes should run one group each first")
        let coordinator = Self.statuses(tb).values.first { $0.role == "coordinator" }!.node
        let other = tb.nodes.first { $0 != coordinator }!
        try tb.cut(other)
        // The coordinator of the term wins the tie-break: it keeps its group, fences the other, takes its group.
        let settled = tb.wait(for: tb.nodes, timeout: .seconds(10)) { s in
            s[coordinator]?.groups.allSatisfy { $0.state == "running" && $0.owner == coordinator } == true
                && s[other]?.storage?.fenced != nil
        }
        #expect(settled != nil, "\(tb.log(coordinator).suffix(1500))")
        #expect(tb.status(coordinator)?.storage?.tieBreakWinner == coordinator)
        #expect(tb.status(other)?.quorate == false)
        // Nobody shot the winner: it never fenced itself.
        #expect(!tb.events(coordinator).contains { if case .cluster(.fenced(.some)) = $0 { true } else { false } })
        usleep(500_000)
        checker.stop()
        #expect(checker.violations.isEmpty, "\(checker.violations.prefix(3))")
    }

    /// `vigil storage init` on a real file: refuses another cluster's area and foreign data unless --force;
    /// `dump` shows what is there.
    @Test func storageInitRefusesForeignAreasUnlessForced() throws {
        let dir = NSTemporaryDirectory() + "vigil-init-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let img = dir + "/slots.img"
        #expect(FileManager.default.createFile(atPath: img, contents: Data(count: 1 << 20)))
        func conf(_ cluster: String) throws -> String {
            let path = "\(dir)/\(cluster).conf"
            let text =
                "[cluster]\nname = \"\(cluster)\"\nkey_file = \"\(dir)/key\"\n\n[[node]]\nname = \"a\"\naddresses = [\"10.0.0.1\"]\n\n[[node]]\nname = \"b\"\naddresses = [\"10.0.0.2\"]\n\n[storage]\ndevices = [\"file://\(img)\"]\n"
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        func vigil(_ args: String...) throws -> (Int32, String) { try Testbed.spawn([Testbed.binary] + args, env: [:]) }
        let a = try conf("alpha"), b = try conf("beta")
        var (rc, out) = try vigil("storage", "init", "--config", a)
        #expect(rc == 0, "\(out)")
        (rc, out) = try vigil("storage", "init", "--config", a)
        #expect(rc == 0 && out.contains("already initialised") && out.contains("left as it is"), "\(out)")
        (rc, out) = try vigil("storage", "init", "--config", b)
        #expect(rc != 0 && out.contains("holds the slot area of cluster \"alpha\"") && out.contains("--force"), "\(out)")
        (rc, out) = try vigil("storage", "dump", "--config", b)
        #expect(rc == 0 && out.contains("header: cluster alpha"), "\(out)")
        (rc, out) = try vigil("storage", "init", "--force", "--config", b)
        #expect(rc == 0, "\(out)")
        (rc, out) = try vigil("storage", "dump", "--config", b)
        #expect(out.contains("header: cluster beta, layout 1, 2 slots"), "\(out)")
        // Data that is not a slot area (a filesystem, a partition table) is never overwritten without --force.
        let h = try #require(FileHandle(forWritingAtPath: img))
        h.write(Data("not a vigil area".utf8)); try h.close()
        (rc, out) = try vigil("storage", "init", "--config", b)
        #expect(rc != 0 && out.contains("not a Vigil slot area"), "\(out)")
    }
}
