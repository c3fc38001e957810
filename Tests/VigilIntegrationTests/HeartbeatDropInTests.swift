import Foundation
#if canImport(Glibc)
    import Glibc
#endif
import Testing
import VigilAgent
import VigilCore

/// A two-node cluster run straight from a Heartbeat configuration directory (`vigil agent --heartbeat-config`),
/// with a haresources group of the Debian heartbeat package's own resource.d scripts: IPaddr2 (a real address
/// on the nodes' eth0, announced by gratuitous ARP) and Delay. The outsider namespace on the same LAN pings
/// the address and reads its ARP cache, so "the address moved" means a client really reaches the new node.
@Suite(.serialized) struct HeartbeatDropInTests {
    static let address = "10.77.0.100"
    static let group = "IPaddr2-10.77.0.100-24-eth0"

    /// ha.cf, haresources and authkeys as an administrator writes them, and resource.d from the package.
    static func heartbeatDirectory(media: String = "ucast eth0 10.77.0.1\nucast eth0 10.77.0.2", extraHACF: String = "") throws -> String {
        for script in ["/etc/ha.d/resource.d/IPaddr2", "/etc/ha.d/resource.d/Delay", "/usr/lib/ocf/resource.d/heartbeat/IPaddr2"] {
            guard access(script, X_OK) == 0 else {
                throw TestbedError("\(script) is missing: install the heartbeat and resource-agents packages (scripts/setup does)")
            }
        }
        let dir = "/tmp/vigil-hbtest-\(getpid())/ha.d"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try """
        # Heartbeat 3.0.6 configuration of a two-node cluster
        logfacility daemon
        keepalive 50ms
        warntime 150ms
        deadtime 300ms
        initdead 2
        udpport 694
        \(media)
        auto_failback on
        node n1 n2
        crm no
        \(extraHACF)
        """.write(toFile: dir + "/ha.cf", atomically: true, encoding: .utf8)
        try """
        # home node, then the resources, started left to right
        n1 IPaddr2::\(address)/24/eth0 \\
           Delay::1::1

        """.write(toFile: dir + "/haresources", atomically: true, encoding: .utf8)
        try "auth 1\n1 sha1 vigil-drop-in-test\n".write(toFile: dir + "/authkeys", atomically: true, encoding: .utf8)
        chmod(dir + "/authkeys", 0o600)
        try FileManager.default.createSymbolicLink(atPath: dir + "/resource.d", withDestinationPath: "/etc/ha.d/resource.d")
        // For respawn lines: a program that asks not to be respawned (exit code 100).
        try "#!/bin/sh\nexit 100\n".write(toFile: dir + "/../exit100", atomically: true, encoding: .utf8)
        chmod(dir + "/../exit100", 0o755)
        // Heartbeat's command names, as symlinks to vigil.
        for name in ["hb_standby", "hb_takeover", "cl_status"] {
            try FileManager.default.createSymbolicLink(atPath: "\(dir)/../\(name)", withDestinationPath: Testbed.binary)
        }
        return dir
    }

    /// Runs one of Heartbeat's commands (a symlink to vigil) against `node`'s agent.
    static func heartbeatCommand(_ tb: Testbed, _ dir: String, _ node: String, _ args: String...) throws -> (Int32, String) {
        try Testbed.spawn(["\(dir)/../\(args[0])"] + args.dropFirst(), env: ["VIGIL_SOCKET": "\(tb.run)/\(node).sock"])
    }

    static func holds(_ tb: Testbed, _ node: String) throws -> Bool {
        try tb.sh("exec", node, "ip", "-4", "-o", "addr", "show", "dev", "eth0").contains(" \(address)/24 ")
    }

    static func mac(_ tb: Testbed, _ node: String) throws -> String {
        try tb.sh("exec", node, "cat", "/sys/class/net/eth0/address").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Whether the outsider reaches the address (one ping) and its ARP cache names `node`'s eth0.
    static func outsiderReaches(_ tb: Testbed, _ node: String) throws -> Bool {
        _ = try? tb.sh("exec", "outsider", "ping", "-c", "1", "-W", "1", address)
        let neigh = try tb.sh("exec", "outsider", "ip", "neigh", "show", address)
        return try neigh.contains(mac(tb, node)) && (neigh.contains("REACHABLE") || neigh.contains("DELAY") || neigh.contains("STALE"))
    }

    static func runsOn(_ s: [String: StatusReport], _ node: String) -> Bool {
        s.values.allSatisfy { r in r.groups.first?.state == "running" && r.groups.first?.owner == node }
    }

    @Test func aHaresourcesGroupOfThePackagesScriptsFailsOverOnStandbyAndOnACrash() throws {
        let dir = try Self.heartbeatDirectory()
        defer { try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: dir).deletingLastPathComponent().path) }
        let timing = TimingSpec(
            interval: .milliseconds(50), warntime: .milliseconds(150), deadtime: .milliseconds(300), initdead: .seconds(2))
        // Delay's status sleeps OCF_RESKEY_mondelay (30 s) before it looks; Heartbeat's own status calls would too.
        let tb = try Testbed(
            name: "hb", nodes: 2, timing: timing,
            extra: ["--heartbeat", dir, "--agent-env", "OCF_RESKEY_mondelay=0"])
        defer { tb.down() }
        try tb.start()

        // 1. The group starts on its home node: the address is on n1's eth0 and answers from n1's MAC.
        #expect(tb.wait(for: tb.nodes, timeout: .seconds(20)) { Self.runsOn($0, "n1") } != nil, "\(tb.log("n1"))")
        #expect(try Self.holds(tb, "n1") && !Self.holds(tb, "n2"))
        #expect(try AgentScriptTests.eventually(.seconds(3)) { try Self.outsiderReaches(tb, "n1") })
        let (rc, hb) = try Self.heartbeatCommand(tb, dir, "n1", "cl_status", "hbstatus")
        #expect(rc == 0 && hb.contains("Heartbeat is running on this machine."))
        #expect(try Self.heartbeatCommand(tb, dir, "n1", "cl_status", "rscstatus").1 == "all\n")
        #expect(try Self.heartbeatCommand(tb, dir, "n1", "cl_status", "listhblinks", "n2").1 == "\teth0\n")
        #expect(try Self.heartbeatCommand(tb, dir, "n1", "cl_status", "nodestatus", "n2").1 == "active\n")

        // 2. hb_standby on n1: stopped right to left there, started left to right on n2; the address moves.
        let clock = ContinuousClock()
        let t0 = clock.now
        let (standby, out) = try Self.heartbeatCommand(tb, dir, "n1", "hb_standby")
        #expect(standby == 0, "\(out)")
        let moved = tb.wait(for: tb.nodes, timeout: .seconds(15)) { Self.runsOn($0, "n2") }
        #expect(moved != nil, "\(tb.log("n2"))")
        print("hb_standby: the group runs on n2 \(clock.now - t0) after the command")
        #expect(try Self.holds(tb, "n2") && !Self.holds(tb, "n1"))
        #expect(
            try AgentScriptTests.eventually(.seconds(3)) { try Self.outsiderReaches(tb, "n2") },
            "the outsider's ARP cache should name n2 after the gratuitous ARP")
        #expect(try Self.heartbeatCommand(tb, dir, "n2", "cl_status", "rscstatus").1 == "all\n")
        #expect(try Self.heartbeatCommand(tb, dir, "n1", "cl_status", "rscstatus").1 == "none\n")
        func began(_ node: String, _ action: ResourceAction) -> [String] {
            tb.events(node).compactMap { if case let .operationBegan(_, r, a, _) = $0, a == action { r } else { nil } }
        }
        let ip = "IPaddr2::\(Self.address)/24/eth0"
        #expect(began("n1", .stop).suffix(2) == ["Delay::1::1", ip], "right to left on n1: \(began("n1", .stop))")
        #expect(began("n2", .start).suffix(2) == [ip, "Delay::1::1"], "left to right on n2: \(began("n2", .start))")
        // Each node keeps its own Delay state (HA_RSCTMP), as two machines would.
        #expect(FileManager.default.fileExists(atPath: "\(tb.run)/n2.rsctmp/Delay_Delay_1"))
        #expect(!FileManager.default.fileExists(atPath: "\(tb.run)/n1.rsctmp/Delay_Delay_1"))

        // 3. hb_takeover on n1 pulls it back.
        #expect(try Self.heartbeatCommand(tb, dir, "n1", "hb_takeover").0 == 0)
        #expect(tb.wait(for: tb.nodes, timeout: .seconds(15)) { Self.runsOn($0, "n1") } != nil)
        #expect(try Self.holds(tb, "n1") && !Self.holds(tb, "n2"))

        // 4. n1 crashes (every process in it killed; a dead machine holds no address): n2 takes over.
        try tb.sh("crash", "n1")
        try tb.sh("exec", "n1", "ip", "addr", "del", "\(Self.address)/24", "dev", "eth0")
        let t1 = clock.now
        let failover = tb.wait(for: ["n2"], timeout: .seconds(15)) { Self.runsOn($0, "n2") }
        #expect(failover != nil, "\(tb.log("n2"))")
        print("crash of n1: the group runs on n2 \(clock.now - t1) after the crash (deadtime 300ms, Delay start 1 s)")
        #expect(try Self.holds(tb, "n2"))
        #expect(try AgentScriptTests.eventually(.seconds(3)) { try Self.outsiderReaches(tb, "n2") })
        #expect(try Self.heartbeatCommand(tb, dir, "n2", "cl_status", "nodestatus", "n1").0 == 1, "dead")
    }

    @Test func theInitScriptRunsANodeFromTheHeartbeatDirectoryAndItsStopHandsTheGroupOver() throws {
        let dir = try Self.heartbeatDirectory()
        defer { try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: dir).deletingLastPathComponent().path) }
        let timing = TimingSpec(
            interval: .milliseconds(50), warntime: .milliseconds(150), deadtime: .milliseconds(300), initdead: .seconds(2))
        let tb = try Testbed(name: "hbinit", nodes: 2, timing: timing, extra: ["--heartbeat", dir, "--agent-env", "OCF_RESKEY_mondelay=0"])
        defer { tb.down() }
        try tb.start(["n2"])
        let env = [
            "VIGIL_BIN=\(Testbed.binary)", "VIGIL_HEARTBEAT_CONFIG=\(tb.run)/ha.d", "VIGIL_SOCKET=\(tb.run)/n1.sock",
            "VIGIL_PIDFILE=\(tb.run)/n1.pid", "VIGIL_LOG=\(tb.run)/n1.log", "HA_RSCTMP=\(tb.run)/n1.rsctmp",
            "OCF_RESKEY_mondelay=0", "VIGIL_OPTS=--node n1 --state-dir \(tb.run)/n1.state --run-dir \(tb.run)/n1.run"
        ]
        try FileManager.default.createDirectory(atPath: "\(tb.run)/n1.rsctmp", withIntermediateDirectories: true)
        func initd(_ action: String) throws -> Int32 {
            try Testbed.spawn(
                ["/usr/sbin/ip", "netns", "exec", "vt-hbinit-n1", "/usr/bin/env"] + env
                    + ["/bin/sh", Testbed.repo + "/packaging/init.d/vigil", action], env: [:]
            ).0
        }
        #expect(try initd("start") == 0, "\(tb.log("n1"))")
        #expect(try initd("status") == 0)
        // Home n1 with auto_failback on: the group comes to n1 once it runs.
        #expect(tb.wait(for: tb.nodes, timeout: .seconds(20)) { Self.runsOn($0, "n1") } != nil, "\(tb.log("n1"))")
        #expect(try Self.holds(tb, "n1"))
        // /etc/init.d/vigil stop: a controlled stop, the group is handed to n2 before the agent leaves.
        #expect(try initd("stop") == 0)
        #expect(try initd("status") == 3)
        #expect(tb.wait(for: ["n2"], timeout: .seconds(10)) { Self.runsOn($0, "n2") } != nil)
        #expect(try Self.holds(tb, "n2") && !Self.holds(tb, "n1"))
    }

    /// ping and deadping (ipfail's job): the outsider is the ping node; n1 stops reaching it, so the group goes
    /// to n2, which still does; once n1 reaches it again, auto_failback brings the group home.
    @Test func aNodeThatLosesItsPingNodeGivesTheGroupToThePeerThatStillReachesIt() throws {
        let dir = try Self.heartbeatDirectory(extraHACF: "ping 10.77.0.250\ndeadping 1\n")
        defer { try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: dir).deletingLastPathComponent().path) }
        let timing = TimingSpec(
            interval: .milliseconds(50), warntime: .milliseconds(150), deadtime: .milliseconds(300), initdead: .seconds(2))
        let tb = try Testbed(name: "hbping", nodes: 2, timing: timing, extra: ["--heartbeat", dir, "--agent-env", "OCF_RESKEY_mondelay=0"])
        defer { tb.down() }
        try tb.start()
        #expect(
            tb.wait(for: tb.nodes, timeout: .seconds(20)) { s in
                Self.runsOn(s, "n1") && s.values.allSatisfy { $0.nodes.allSatisfy { $0.pingNodesReachable == 1 } }
            } != nil, "\(tb.log("n1"))")
        #expect(tb.status("n1")?.pingNodes == [StatusReport.PingNode(address: "10.77.0.250", reachable: true)])
        #expect(try Self.heartbeatCommand(tb, dir, "n1", "cl_status", "listnodes").1 == "n1\nn2\n10.77.0.250\n")
        #expect(try Self.heartbeatCommand(tb, dir, "n1", "cl_status", "nodetype", "10.77.0.250").1 == "ping\n")
        #expect(try Self.heartbeatCommand(tb, dir, "n1", "cl_status", "nodestatus", "10.77.0.250").1 == "ping\n")

        // n1 can no longer reach the ping node (its echo requests are dropped on the way out).
        try tb.sh(
            "exec", "n1", "nft",
            "add table inet ping; add chain inet ping out { type filter hook output priority 0; }; add rule inet ping out ip daddr 10.77.0.250 icmp type echo-request drop"
        )
        let clock = ContinuousClock()
        let t0 = clock.now
        #expect(tb.wait(for: tb.nodes, timeout: .seconds(15)) { Self.runsOn($0, "n2") } != nil, "\(tb.log("n1"))")
        print("ping node lost on n1: the group runs on n2 \(clock.now - t0) later (deadping 1 s, Delay 1 s + 1 s)")
        #expect(try Self.holds(tb, "n2") && !Self.holds(tb, "n1"))
        #expect(tb.status("n2")?.node("n1")?.pingNodesReachable == 0)
        #expect(try Self.heartbeatCommand(tb, dir, "n1", "cl_status", "nodestatus", "10.77.0.250").0 == 1, "dead from n1")

        // n1 reaches it again: equal connectivity, and auto_failback on sends the group home.
        try tb.sh("exec", "n1", "nft", "delete table inet ping")
        #expect(tb.wait(for: tb.nodes, timeout: .seconds(15)) { Self.runsOn($0, "n1") } != nil, "\(tb.log("n1"))")
        #expect(try Self.holds(tb, "n1") && !Self.holds(tb, "n2"))
    }

    /// A Heartbeat 3.0.6 daemon still running on the LAN (here: the outsider broadcasting n2's status messages,
    /// signed with the cluster's authkeys, as `bcast eth0` would) cannot see Vigil's nodes: n1 gives up
    /// the group and runs none while it hears it, and takes the group back (auto_failback) once Heartbeat has
    /// been quiet for 10 s. Unsigned or wrongly signed look-alikes are only counted.
    /// A Python program that sends n2's Heartbeat status message every 100 ms for `seconds`: netstring framing,
    /// signed as Heartbeat signs it (HMAC-SHA1 of every byte through "%%%\n" under authkeys key 1, in a trailing
    /// "LEN:1 HEX," netstring), to `target` (unicast, broadcast or multicast).
    static func heartbeatSender(key: String, seconds: Double, to target: String = "10.77.0.1") -> String {
        """
        import hmac, hashlib, socket, time
        def ns(s): return str(len(s)).encode() + b":" + s + b","
        body = b"###\\n" + b"".join(ns(f) for f in [b"(0)t=status", b"(0)st=active", b"(0)dt=1f4", b"(0)protocol=1",
            b"(0)src=n2", b"(0)seq=1", b"(0)hg=1", b"(0)ts=1", b"(0)ttl=3"]) + b"%%%\\n"
        mac = hmac.new(b"\(key)", body, hashlib.sha1).hexdigest().encode()
        msg = body + ns(b"1 " + mac)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
        end = time.monotonic() + \(seconds)
        while time.monotonic() < end:
            s.sendto(msg, ("\(target)", 694))
            time.sleep(0.1)
        """
    }

    @Test func aNodeThatHearsAHeartbeatDaemonRunsNoGroup() throws {
        let dir = try Self.heartbeatDirectory()
        defer { try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: dir).deletingLastPathComponent().path) }
        let timing = TimingSpec(
            interval: .milliseconds(50), warntime: .milliseconds(150), deadtime: .milliseconds(300), initdead: .seconds(2))
        let tb = try Testbed(name: "hbmix", nodes: 2, timing: timing, extra: ["--heartbeat", dir, "--agent-env", "OCF_RESKEY_mondelay=0"])
        defer { tb.down() }
        try tb.start()
        #expect(tb.wait(for: tb.nodes, timeout: .seconds(20)) { Self.runsOn($0, "n1") } != nil, "\(tb.log("n1"))")
        // Signed with another key: counted, nothing else.
        try tb.sh("exec", "outsider", "python3", "-c", Self.heartbeatSender(key: "not-the-cluster-key", seconds: 1))
        #expect(tb.status("n1")?.counters.dropped(.heartbeatPacket) ?? 0 >= 5)
        #expect(tb.status("n1")?.standby == false)
        #expect(Self.runsOn(tb.nodes.reduce(into: [:]) { $0[$1] = tb.status($1) }, "n1"))
        // Signed with the cluster's authkeys and broadcast on the LAN, as `bcast eth0` sends: n1 holds off.
        let clock = ContinuousClock()
        let t0 = clock.now
        try tb.sh("exec", "outsider", "python3", "-c", Self.heartbeatSender(key: "vigil-drop-in-test", seconds: 3, to: "10.77.0.255"))
        #expect(tb.status("n1")?.standby == true)
        #expect(tb.status("n1")?.standbyReason?.contains("Linux-HA Heartbeat") == true)
        #expect(tb.wait(for: tb.nodes, timeout: .seconds(5)) { Self.runsOn($0, "n2") } != nil, "n1 must give the group up: \(tb.log("n1"))")
        #expect(tb.events("n1").contains(.cluster(.heartbeatDaemon(node: "n2"))))
        // Quiet for 10 s (from the last packet): n1 may run groups again, and auto_failback brings the group home.
        #expect(tb.wait(for: tb.nodes, timeout: .seconds(20)) { Self.runsOn($0, "n1") } != nil)
        let back = clock.now - t0
        #expect(back >= .seconds(13), "not before 10 s of quiet after the 3 s of packets: \(back)")
        #expect(try Self.holds(tb, "n1") && !Self.holds(tb, "n2"))
    }

    /// `bcast eth0`, as in the package's example ha.cf: no addresses in ha.cf at all. Heartbeats go by multicast
    /// on eth0, each node finds its own address on the interface and learns its peer's from its packets.
    @Test func aBcastConfigLearnsThePeersAddressAndFailsOver() throws {
        let parent = "/tmp/vigil-hbtest-\(getpid())"
        let dir = try Self.heartbeatDirectory(
            media: "bcast eth0",
            extraHACF: "respawn nobody /usr/bin/sleep 0.3\nrespawn root \(parent)/exit100\nrespawn root /usr/bin/sleep 300\n")
        defer { try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: dir).deletingLastPathComponent().path) }
        let timing = TimingSpec(
            interval: .milliseconds(50), warntime: .milliseconds(150), deadtime: .milliseconds(300), initdead: .seconds(2))
        let tb = try Testbed(name: "hbbcast", nodes: 2, timing: timing, extra: ["--heartbeat", dir, "--agent-env", "OCF_RESKEY_mondelay=0"])
        defer { tb.down() }
        try tb.start()
        #expect(
            tb.wait(for: tb.nodes, timeout: .seconds(20)) { s in
                Self.runsOn(s, "n1") && s.values.allSatisfy { $0.nodes.allSatisfy { $0.state == "alive" } }
            } != nil, "\(tb.log("n1"))")
        // Each sees the other at its real address, learned; its own from eth0.
        let n1 = try #require(tb.status("n1")), n2 = try #require(tb.status("n2"))
        #expect(n1.node("n2")?.links.first?.address == "10.77.0.2" && n1.node("n1")?.links.first?.address == "10.77.0.1")
        #expect(n2.node("n1")?.links.first?.address == "10.77.0.1" && n2.node("n1")?.links.first?.interface == "eth0")
        #expect(tb.events("n1").contains(.addressLearned(node: "n2", link: 0, address: "10.77.0.2")))
        #expect(try Self.holds(tb, "n1"))
        // respawn: restarted when it exits (as nobody, through runuser), except after exit code 100.
        func ended(_ program: String) -> [AgentEvent] {
            tb.events("n1").filter { if case let .respawnEnded(p, _, _, _) = $0 { p == program } else { false } }
        }
        #expect(
            AgentScriptTests.eventually(.seconds(5)) {
                ended("nobody /usr/bin/sleep 0.3").contains(
                    .respawnEnded(program: "nobody /usr/bin/sleep 0.3", code: 0, signal: false, restarted: true))
            }, "\(tb.events("n1"))")
        #expect(
            ended("root \(parent)/exit100") == [
                .respawnEnded(program: "root \(parent)/exit100", code: 100, signal: false, restarted: false)
            ])
        // A vote or request needs the learned address: hb_standby (a request to the coordinator) moves the group.
        #expect(try Self.heartbeatCommand(tb, dir, "n1", "hb_standby").0 == 0)
        #expect(tb.wait(for: tb.nodes, timeout: .seconds(15)) { Self.runsOn($0, "n2") } != nil, "\(tb.log("n2"))")
        #expect(try Self.holds(tb, "n2") && !Self.holds(tb, "n1"))
        // n2 crashes: n1 takes the group back.
        try tb.sh("crash", "n2")
        try tb.sh("exec", "n2", "ip", "addr", "del", "\(Self.address)/24", "dev", "eth0")
        #expect(tb.wait(for: ["n1"], timeout: .seconds(15)) { Self.runsOn($0, "n1") } != nil, "\(tb.log("n1"))")
        #expect(try Self.holds(tb, "n1"))
        // A controlled stop takes the respawned programs with it, a long-running one included.
        func sleepers() throws -> Int {
            let pids = try Testbed.spawn(["/usr/sbin/ip", "netns", "pids", "vt-hbbcast-n1"], env: [:]).1.split(separator: "\n")
            return pids.filter { pid in
                ((try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? "").contains("sleep\u{0}300")
            }.count
        }
        #expect(try sleepers() == 1)
        try tb.stop("n1")
        #expect(try AgentScriptTests.eventually(.seconds(3)) { try sleepers() == 0 }, "respawned sleep 300 outlived the agent")
    }

    /// ha.cf with an mcast line: the agent also listens on Heartbeat's group (225.0.0.1:694 on eth0) and holds
    /// off when an authentic Heartbeat packet arrives there.
    @Test func heartbeatsMulticastGroupIsWatchedToo() throws {
        let dir = try Self.heartbeatDirectory(media: "ucast eth0 10.77.0.1\nucast eth0 10.77.0.2\nmcast eth0 225.0.0.1 694 1 0")
        defer { try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: dir).deletingLastPathComponent().path) }
        let timing = TimingSpec(
            interval: .milliseconds(50), warntime: .milliseconds(150), deadtime: .milliseconds(300), initdead: .seconds(2))
        let tb = try Testbed(name: "hbmcast", nodes: 2, timing: timing, extra: ["--heartbeat", dir, "--agent-env", "OCF_RESKEY_mondelay=0"])
        defer { tb.down() }
        try tb.start()
        #expect(tb.wait(for: tb.nodes, timeout: .seconds(20)) { Self.runsOn($0, "n1") } != nil, "\(tb.log("n1"))")
        #expect(tb.status("n1")?.standby == false)
        try tb.sh("exec", "outsider", "ip", "route", "add", "224.0.0.0/4", "dev", "eth0")
        try tb.sh("exec", "outsider", "python3", "-c", Self.heartbeatSender(key: "vigil-drop-in-test", seconds: 1, to: "225.0.0.1"))
        #expect(tb.status("n1")?.standby == true, "\(tb.log("n1"))")
        #expect(tb.status("n1")?.counters.dropped(.heartbeatPacket) ?? 0 >= 5)
        #expect(tb.wait(for: tb.nodes, timeout: .seconds(5)) { Self.runsOn($0, "n2") } != nil)
    }
}
