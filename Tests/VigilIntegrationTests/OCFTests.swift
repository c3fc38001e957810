import Foundation
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

    /// The nodes whose run directory holds Dummy's state file for group web.
    static func dummyOn(_ tb: Testbed) -> [String] {
        tb.nodes.filter { access("\(tb.run)/\($0).run/resource-agents/Dummy-web-Dummy.state", F_OK) == 0 }
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
        unlink("\(tb.run)/n1.run/resource-agents/Dummy-web-Dummy.state")
        let restarted = tb.wait(for: ["n1"], timeout: .seconds(10)) { s in
            Self.web(s["n1"]).map { $0.state == "running" && $0.owner == "n1" && $0.failures["n1"] == 1 } ?? false
        }
        #expect(restarted != nil, "\(Self.web(tb.status("n1")).map { "\($0.state) \($0.failures) \($0.reason)" } ?? "-")")
        #expect(Self.dummyOn(tb) == ["n1"])

        // Again: max_restarts = 1 is used up, the group moves (Dummy and the address with it).
        unlink("\(tb.run)/n1.run/resource-agents/Dummy-web-Dummy.state")
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
    }
}
