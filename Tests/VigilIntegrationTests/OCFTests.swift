import Foundation
import Synchronization
#if canImport(Glibc)
    import Glibc
#endif
import Testing
import VigilAgent
import VigilCore

/// ClusterLabs' OCF agents from Debian's `resource-agents` package, run natively by real agents in namespaces:
/// `ocf:heartbeat:Dummy` (its state file is the resource) and `ocf:heartbeat:IPaddr2` (a service address that
/// must answer ping from outside on exactly one node).
@Suite(.serialized) struct OCFTests {
    static let address = "10.77.0.100"
    static let groupTable = """

        [[group]]
        name = "web"
        home = "n1"
        resources = ["ocf:heartbeat:Dummy", "ocf:heartbeat:IPaddr2 ip=\(address) cidr_netmask=24 nic=eth0"]
        monitor_interval = "1s"
        max_restarts = 1

        """

    static func testbed(_ name: String, groups: String = groupTable) throws -> Testbed {
        let path = "/tmp/vigil-ocf-\(name).groups"
        try groups.write(toFile: path, atomically: true, encoding: .utf8)
        return try Testbed(
            name: name, timing: FailoverTests.timing, extra: ["--groups", "0", "--fencing", "none", "--append", path])
    }

    /// The nodes whose HA_RSCTMP (the testbed gives each agent its own) holds Dummy's state file for group web.
    static func dummyOn(_ tb: Testbed) -> [String] {
        tb.nodes.filter { access("\(tb.run)/\($0).rsctmp/Dummy-web-Dummy.state", F_OK) == 0 }
    }

    /// The nodes whose eth0 carries the service address.
    static func addressOn(_ tb: Testbed) -> [String] {
        tb.nodes.filter { n in ((try? tb.sh("exec", n, "ip", "-4", "-o", "addr", "show", "dev", "eth0")) ?? "").contains(" \(address)/") }
    }

    static func web(_ s: StatusReport?) -> GroupStatus? { s?.groups.first { $0.name == "web" } }

    /// Running on `node` as every node sees it (nil `node`: on any one node).
    static func runs(_ tb: Testbed, on node: String? = nil, timeout: Duration = .seconds(20)) -> String? {
        let s = tb.wait(for: tb.nodes, timeout: timeout) { s in
            let g = s.values.compactMap { web($0) }
            guard g.count == tb.nodes.count, let o = g.first?.owner, node == nil || o == node else { return false }
            return g.allSatisfy { $0.state == "running" && $0.owner == o }
        }
        return s == nil ? nil : web(tb.status(tb.nodes[0]))?.owner
    }

    /// Pings the service address from the outsider namespace until it answers (bounded).
    static func answers(_ tb: Testbed) -> Bool {
        Testbed.until(.seconds(10), every: .milliseconds(200)) {
            (try? tb.inOutsider("ping", "-c", "1", "-W", "1", address)) != nil
        }
    }

    @Test func dummyAndIPaddr2RunOnOneNodeRestartOnAMonitorFailureThenMoveAndFollowStandby() throws {
        let tb = try Self.testbed("ocf")
        defer { tb.down() }
        try tb.start()
        #expect(Self.runs(tb, on: "n1") == "n1")
        #expect(Self.dummyOn(tb) == ["n1"])
        #expect(Self.addressOn(tb) == ["n1"])
        #expect(Self.answers(tb))

        // The state file removed under the agent: its monitor says 7 (not running), the group restarts in place.
        unlink("\(tb.run)/n1.rsctmp/Dummy-web-Dummy.state")
        let restarted = tb.wait(for: ["n1"], timeout: .seconds(10)) { s in
            Self.web(s["n1"]).map { $0.state == "running" && $0.owner == "n1" && $0.failures["n1"] == 1 } ?? false
        }
        #expect(restarted != nil, "\(Self.web(tb.status("n1")).map { "\($0.state) \($0.failures) \($0.reason)" } ?? "-")")
        #expect(Self.dummyOn(tb) == ["n1"])

        // Again: max_restarts = 1 is used up, the group moves (Dummy and the address with it).
        unlink("\(tb.run)/n1.rsctmp/Dummy-web-Dummy.state")
        let moved = tb.wait(for: tb.nodes, timeout: .seconds(15)) { s in
            s.values.allSatisfy { Self.web($0).map { $0.state == "running" && $0.owner != nil && $0.owner != "n1" } ?? false }
        }
        let target = try #require(moved.flatMap { _ in Self.web(tb.status("n1"))?.owner }, "web did not move off n1")
        #expect(Self.dummyOn(tb) == [target])
        #expect(Self.addressOn(tb) == [target])
        #expect(Self.answers(tb))

        // A standby of the new owner: a controlled move, the address follows and answers from the next node.
        let (code, out) = try Testbed.spawn(
            [
                Testbed.binary, "standby", target, "--wait", "--timeout", "20s", "--socket", "\(tb.run)/n1.sock", "--config",
                "\(tb.run)/cluster.conf"
            ],
            env: [:])
        #expect(code == 0, "\(out)")
        let next = try #require(Self.runs(tb), "web does not run after the standby of \(target)")
        #expect(next != target)
        #expect(Self.dummyOn(tb) == [next])
        #expect(Self.addressOn(tb) == [next])
        #expect(Self.answers(tb))
        // The operations ran with the OCF environment: the instance name is GROUP-TYPE.
        #expect(tb.log(next).contains("web/ocf:heartbeat:IPaddr2 ip=\(Self.address)"))
    }

    @Test func aHardStartErrorIsTriedOncePerNodeNotMaxRestartsTimes() throws {
        // IPaddr2 on an interface no node has: its start exits 6 (OCF_ERR_CONFIGURED) on every node.
        let table = """

            [[group]]
            name = "bad"
            home = "n1"
            resources = ["ocf:heartbeat:IPaddr2 ip=10.77.0.101 cidr_netmask=24 nic=nosuchnic"]
            max_restarts = 2

            """
        let tb = try Self.testbed("ocfbad", groups: table)
        defer { tb.down() }
        try tb.start()
        func bad(_ s: StatusReport?) -> GroupStatus? { s?.groups.first { $0.name == "bad" } }
        let givenUp = tb.wait(for: tb.nodes, timeout: .seconds(20)) { s in
            s.values.allSatisfy { r in bad(r).map { g in tb.nodes.allSatisfy { g.failures[$0] == 3 } && g.owner == nil } ?? false }
        }
        #expect(givenUp != nil, "\(bad(tb.status("n1")).map { "\($0.state) \($0.failures) \($0.reason)" } ?? "-")")
        for n in tb.nodes {
            // One start per node: the hard error is not retried there (max_restarts = 2 would allow three).
            let starts = tb.log(n).components(separatedBy: "\n").filter {
                $0.contains("bad/ocf:heartbeat:IPaddr2") && $0.contains("start: running")
            }
            #expect(starts.count == 1, "\(n): \(starts)")
            let failure = tb.status(n)?.recentFailures?.first { $0.group == "bad" && $0.action == "start" }
            #expect(failure?.reason.contains("OCF_ERR_CONFIGURED") == true, "\(n): \(String(describing: failure))")
        }
    }

    @Test func configCheckRefusesParametersTheAgentsMetaDataDoesNotAllow() throws {
        let dir = "/tmp/vigil-ocf-check"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let conf = """
            [cluster]
            name = "ocfcheck"
            key_file = "\(dir)/authkey"

            [[node]]
            name = "n1"
            addresses = ["10.1.0.1"]

            [[node]]
            name = "n2"
            addresses = ["10.1.0.2"]

            [[group]]
            name = "web"
            resources = ["ocf:heartbeat:Dummy stat=/tmp/x", "ocf:heartbeat:IPaddr2 cidr_netmask=24 lvs_support=maybe"]

            [[group]]
            name = "db"
            resources = ["ocf:heartbeat:NoSuchAgent"]

            """
        try conf.write(toFile: "\(dir)/cluster.conf", atomically: true, encoding: .utf8)
        _ = try Testbed.spawn([Testbed.binary, "keygen", "--force", "\(dir)/authkey"], env: [:])
        let (code, out) = try Testbed.spawn([Testbed.binary, "config", "check", "--config", "\(dir)/cluster.conf"], env: [:])
        #expect(code == 1, "\(out)")
        let lines = out.split(separator: "\n").map(String.init)
        #expect(
            lines.contains { $0.contains("cluster.conf:15: group web: ocf:heartbeat:Dummy has no parameter stat (did you mean state?)") },
            "\(out)")
        #expect(lines.contains { $0.contains("cluster.conf:15: group web: ocf:heartbeat:IPaddr2 needs parameter ip") }, "\(out)")
        #expect(
            lines.contains { $0.contains("group web: ocf:heartbeat:IPaddr2 parameter lvs_support=maybe: expected a boolean") }, "\(out)")
        #expect(
            lines.contains { $0.contains("cluster.conf:19: group db: OCF resource agent ocf:heartbeat:NoSuchAgent is not installed here") },
            "\(out)")

        // Fixed, it passes.
        let good = conf.replacingOccurrences(of: "stat=/tmp/x", with: "state=/tmp/x")
            .replacingOccurrences(of: "cidr_netmask=24 lvs_support=maybe", with: "ip=10.1.0.50 cidr_netmask=24")
            .replacingOccurrences(of: "NoSuchAgent", with: "Dummy")
        try good.write(toFile: "\(dir)/cluster.conf", atomically: true, encoding: .utf8)
        let (code2, out2) = try Testbed.spawn([Testbed.binary, "config", "check", "--config", "\(dir)/cluster.conf"], env: [:])
        #expect(code2 == 0, "\(out2)")
        // validate-all runs here with the parameters: this host has no interface in 10.1.0.0/24, so IPaddr2
        // cannot place the address. A warning (it may exist where the group runs), not an error.
        let warning = "Warning: \(dir)/cluster.conf:15: group web: ocf:heartbeat:IPaddr2 validate-all on this node: exit"
        #expect(out2.contains(warning), "\(out2)")
        #expect(!out2.contains("Dummy validate-all"), "\(out2)")
    }
    @Test func aFilesystemIsMountedOnOneNodeOnlyMovesOnStandbyAndFailsOverAfterACrash() throws {
        // A real ext4 on a loop device; each agent runs in a mount namespace of its own (ip netns exec), as
        // separate hosts would.
        let image = "/tmp/vigil-ocf-fs.img"
        let mountpoint = "/tmp/vigil-ocf-fs/mnt"
        _ = try Testbed.spawn(["/usr/bin/truncate", "-s", "64M", image], env: [:])
        let (mk, mkOut) = try Testbed.spawn(["/usr/sbin/mkfs.ext4", "-q", "-F", image], env: [:])
        try #require(mk == 0, "\(mkOut)")
        let (lo, loOut) = try Testbed.spawn(["/usr/sbin/losetup", "-f", "--show", image], env: [:])
        try #require(lo == 0, "\(loOut)")
        let device = loOut.trimmingCharacters(in: .whitespacesAndNewlines)
        defer {
            _ = try? Testbed.spawn(["/usr/sbin/losetup", "-d", device], env: [:])
            unlink(image)
        }
        let table = """

            [[group]]
            name = "data"
            home = "n1"
            resources = ["ocf:heartbeat:Filesystem device=\(device) directory=\(mountpoint) fstype=ext4"]
            monitor_interval = "1s"

            """
        let tb = try Self.testbed("ocffs", groups: table)
        defer { tb.down() }
        try tb.start()
        var pids: [String: Int32] = [:]
        for n in tb.nodes { pids[n] = Int32(try tb.sh("pid", n).trimmingCharacters(in: .whitespacesAndNewlines)) }
        let sampler = MountSampler(pids: pids, mountpoint: mountpoint)
        defer { sampler.stop() }
        func data(_ s: StatusReport?) -> GroupStatus? { s?.groups.first { $0.name == "data" } }
        func runs(on node: String?, among nodes: [String]) -> String? {
            let s = tb.wait(for: nodes, timeout: .seconds(30)) { s in
                let g = s.values.compactMap { data($0) }
                guard g.count == nodes.count, let o = g.first?.owner, node == nil || o == node else { return false }
                return g.allSatisfy { $0.state == "running" && $0.owner == o }
            }
            return s == nil ? nil : data(tb.status(nodes[0]))?.owner
        }
        #expect(runs(on: "n1", among: tb.nodes) == "n1")
        #expect(Testbed.until(.seconds(5)) { sampler.holders == ["n1"] }, "\(sampler.holders)")
        // Written through n1's mount: it must be there wherever the file system goes next.
        let (w, wOut) = try Testbed.spawn(
            ["/usr/bin/nsenter", "-t", "\(pids["n1"]!)", "-m", "/bin/sh", "-c", "echo written-on-n1 > \(mountpoint)/proof && sync"],
            env: [:])
        #expect(w == 0, "\(wOut)")

        let (code, out) = try Testbed.spawn(
            [
                Testbed.binary, "standby", "n1", "--wait", "--timeout", "30s", "--socket", "\(tb.run)/n2.sock", "--config",
                "\(tb.run)/cluster.conf"
            ],
            env: [:])
        #expect(code == 0, "\(out)")
        let second = try #require(runs(on: nil, among: tb.nodes), "data does not run after the standby of n1")
        #expect(second != "n1")
        #expect(Testbed.until(.seconds(5)) { sampler.holders == [second] }, "\(sampler.holders)")
        let (r, proof) = try Testbed.spawn(
            ["/usr/bin/nsenter", "-t", "\(pids[second]!)", "-m", "/bin/cat", "\(mountpoint)/proof"], env: [:])
        #expect(r == 0 && proof.contains("written-on-n1"), "\(proof)")

        // The owner's whole node dies (agent and everything in its namespaces): the file system comes up on
        // the last node (fencing none here: the testbed's crash is a real power-off of that namespace).
        try tb.sh("crash", second)
        let rest = tb.nodes.filter { $0 != second }
        let last = try #require(rest.first { $0 != "n1" })  // n1 is still in standby
        let third = runs(on: last, among: rest)
        #expect(third == last, "\(rest.map { data(tb.status($0)).map { "\($0.state) \($0.owner ?? "-") \($0.reason)" } ?? "-" })")
        #expect(Testbed.until(.seconds(5)) { sampler.holders == [third] }, "\(sampler.holders)")
        sampler.stop()
        #expect(sampler.violations.isEmpty, "mounted on two nodes at once: \(sampler.violations.prefix(3))")
        #expect(sampler.samples > 100, "\(sampler.samples) samples")
    }
}

/// Which agents' mount namespaces have `mountpoint` mounted, read from /proc/PID/mounts every 2 ms on a thread
/// of its own; two at once is a violation.
final class MountSampler: @unchecked Sendable {
    private struct State {
        var holders: Set<String> = []
        var violations: [String] = []
        var samples = 0
        var stop = false
    }
    private let state = Mutex(State())
    private var thread: Thread?

    init(pids: [String: Int32], mountpoint: String) {
        let t = Thread { [self] in
            let started = ContinuousClock.now
            while !state.withLock({ $0.stop }) {
                var now: Set<String> = []
                for (node, pid) in pids {
                    guard let text = try? String(contentsOfFile: "/proc/\(pid)/mounts", encoding: .utf8) else { continue }
                    if text.split(separator: "\n").contains(where: {
                        $0.split(separator: " ").dropFirst().first.map(String.init) == mountpoint
                    }) {
                        now.insert(node)
                    }
                }
                state.withLock {
                    $0.holders = now
                    $0.samples += 1
                    if now.count > 1 { $0.violations.append("\(now.sorted()) at \(ContinuousClock.now - started)") }
                }
                usleep(2000)
            }
        }
        thread = t
        t.start()
    }

    var holders: Set<String> { state.withLock { $0.holders } }
    var violations: [String] { state.withLock { $0.violations } }
    var samples: Int { state.withLock { $0.samples } }

    func stop() {
        state.withLock { $0.stop = true }
        for _ in 0..<400 where thread?.isFinished == false { usleep(5000) }
    }
}
