import Foundation
import Testing
import VigilCore
@testable import VigilConfig

@Suite struct ConfigTests {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    func load(_ text: String) throws(ConfigError) -> ClusterConfig { try ConfigLoader.load(text: text, file: "c.conf") }

    func error(_ text: String) -> ConfigError? {
        do { _ = try load(text); return nil } catch { return error }
    }

    let minimal = """
        [cluster]
        name = "prod"

        [[node]]
        name = "a"
        addresses = ["10.0.0.1"]

        [[node]]
        name = "b"
        addresses = ["10.0.0.2"]
        """

    @Test func exampleParsesAndMatchesTheWriter() throws {
        let path = Self.repo + "/cluster.conf.example"
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let c = try load(text)
        #expect(c.spec.nodes.map(\.name) == ["node1", "node2", "node3"])
        #expect(c.spec.linkCount == 2)
        #expect(c.spec.timing == .safe)
        #expect(c.port == 694)
        // The committed example is exactly what `vigil config init` writes, so the two never drift apart.
        let written = ConfigWriter.render(
            cluster: "prod", nodes: (1...3).map { .init(name: "node\($0)", addresses: ["10.0.0.\($0)", "10.1.0.\($0)"]) },
            keyFile: "/etc/vigil/authkey")
        #expect(written == text)
    }

    @Test func defaultsAndProfiles() throws {
        let c = try load(minimal)
        #expect(c.spec.timing == .safe)
        #expect(c.keyFile == "/etc/vigil/authkey" && c.socket == "/run/vigil/vigil.sock" && c.stateDir == "/var/lib/vigil")
        #expect(c.spec.quorum == .majority && c.realtime && c.lockMemory && c.realtimePriority == 50)
        let fast = try load(
            minimal.replacingOccurrences(of: "name = \"prod\"", with: "name = \"prod\"\nprofile = \"fast\"\ndeadtime = \"80ms\""))
        #expect(fast.spec.timing.interval == .milliseconds(10))
        #expect(fast.spec.timing.deadtime == .milliseconds(80))
    }

    @Test func durations() {
        #expect(ConfigLoader.parseDuration("250ms") == .milliseconds(250))
        #expect(ConfigLoader.parseDuration("1.5s") == .milliseconds(1500))
        #expect(ConfigLoader.parseDuration("40us") == .microseconds(40))
        #expect(ConfigLoader.parseDuration("2m") == .seconds(120))
        #expect(ConfigLoader.parseDuration("1h") == .seconds(3600))
        #expect(ConfigLoader.parseDuration("2") == nil)
        #expect(ConfigLoader.parseDuration("ms") == nil)
        #expect(ConfigLoader.parseDuration("-1s") == nil)
    }

    @Test(arguments: [
        ("[cluster]\nname = \"x\"\nintervall = \"1s\"\n", 3, "unknown key 'intervall' in [cluster] (did you mean 'interval'?)"),
        ("[cluster]\nname = \"x\"\ninterval = 100\n", 3, "interval: expected a duration with a unit"),
        ("[cluster]\nname = \"x\"\ninterval = \"1s\"\ndeadtime = \"1500ms\"\n", 4, "must be more than twice the interval"),
        ("[cluster]\nname = \"x\"\nport = 70000\n", 3, "port: expected an integer from 1 to 65535"),
        ("[cluster]\nname = \"x\"\nquorum = \"most\"\n", 3, "quorum: expected one of \"majority\", \"ignore\""),
        (
            "[cluster]\nname = \"x\"\n\n[[node]]\nname = \"a\"\naddresses = [\"10.0.0.1\"]\nvote = 2\n", 7,
            "unknown key 'vote' in [[node]] (did you mean 'votes'?)"
        ),
        (
            "[cluster]\nname = \"x\"\n[[node]]\nname = \"a\"\naddresses = [\"10.0.0.1\"]\n[[node]]\nname = \"a\"\naddresses = [\"10.0.0.2\"]\n",
            6, "node a is already defined on line 3"
        ),
        (
            "[cluster]\nname = \"x\"\n[[node]]\nname = \"a\"\naddresses = [\"10.0.0.1\", \"10.1.0.1\"]\n[[node]]\nname = \"b\"\naddresses = [\"10.0.0.2\"]\n",
            6, "one address per link"
        ),
        ("[cluster]\nname = \"x\"\n[[node]]\nname = \"a\"\naddresses = [\"10.0.0.300\"]\n", 5, "expected IPv4 or IPv6 address strings"),
        ("[cluster]\nname = \"x\"\n[[node]]\nname = \"a b\"\n", 4, "node name \"a b\""),
        ("[cluster]\nname = \"x\n", 2, "unterminated string"),
        ("[cluster]\nname = {a = 1}\n", 2, "inline tables are not supported"),
        ("[cluster]\nname = \"x\"\nname = \"y\"\n", 3, "duplicate key 'name'"),
        ("[cluster]\nname = \"x\"\n[nodes]\n", 3, "unknown table [nodes]"),
        ("[cluster]\nname = \"x\"\n[node]\n", 3, "write [[node]], not [node]"),
        ("port = 1\n", 1, "outside any table"),
        ("[cluster]\nname = x\n", 2, "strings must be quoted"),
        ("[cluster]\nname = \"x\" extra\n", 2, "expected the end of the line"),
        ("[cluster]\nname = \"x\"\n[[node]]\nname = \"a\"\naddresses = [\n  \"10.0.0.1\",\n  oops\n]\n", 7, "strings must be quoted"),
        ("[cluster]\nname = \"x\"\n", 1, "no [[node]] tables"),
        ("# only a comment\n", 1, "missing [cluster] table"),
        ("[cluster]\nname = \"x\"\ninitdead = \"1s\"\n", 3, "initdead (1s) must be at least deadtime (2s)"),
        // Found by libFuzzer (bench/fuzz.sh): unbounded nesting overflowed the stack.
        ("[cluster]\nq = " + String(repeating: "[", count: 50_000) + "\n", 2, "arrays nested more than 4 deep"),
        ("[cluster]\nname = \"x\"\nport = 0694\n", 3, "not a valid number"),
        ("[cluster]\nname = \"x\"\n[[node]]\nname = \"a\"\naddresses = [\"::::\"]\n", 5, "expected IPv4 or IPv6 address strings"),
        ("[cluster]\nname = \"x\"\ntransport = \"multicast\"\nmulticast_group = \"10.0.0.1\"\n", 4, "expected an IPv4 multicast address")
    ])
    func errorsNameFileLineAndExpectation(text: String, line: Int, fragment: String) {
        let e = error(text)
        #expect(e != nil, "accepted: \(text)")
        #expect(e?.file == "c.conf")
        #expect(e?.line == line, "\(e?.description ?? "")")
        #expect(e?.message.contains(fragment) == true, "\(e?.description ?? "") lacks: \(fragment)")
    }

    /// Issue 12: timings that would let a fenced node run on after the others count it fenced are refused,
    /// each naming its line and the rule; risky but legal settings are warnings with their line.
    @Test func unsafeFencingTimingsAreRefusedWithTheirLineAndRule() throws {
        // minimal has 10 lines; the group table is lines 11-13, [storage] line 15, devices line 16.
        let group = minimal + "\n[[group]]\nname = \"web\"\nresources = [\"dummy a\", \"dummy b\"]\n"
        func storage(_ body: String) -> String { group + "\n[storage]\ndevices = [\"/dev/sdb\"]\n" + body }
        // A watchdog counts whole seconds: 1500ms would reset after 2 s.
        var e = error(storage("watchdog = \"/dev/watchdog\"\nwatchdog_timeout = \"1500ms\"\nmsgwait = \"4s\"\n"))
        #expect(
            e?.line == 18 && e?.message.contains("whole number of seconds") == true && e?.message.contains("after 2 s") == true,
            "\(e?.description ?? "")")
        #expect(error(storage("watchdog = \"/dev/watchdog\"\nwatchdog_timeout = \"2s\"\n")) == nil)
        // stop-resources without a watchdog: two resources x fence_stop_timeout must fit
        // msgwait - deadtime - watchdog_timeout (the victim may lose quorum up to deadtime after the clock starts).
        e = error(storage("self_fence = \"stop-resources\"\nfence_stop_timeout = \"2s\"\nmsgwait = \"6s\"\n"))
        #expect(e?.line == 18 && e?.message.contains("2 resource(s) x fence_stop_timeout (2s)") == true, "\(e?.description ?? "")")
        // The defaults (deadtime 2s, watchdog_timeout 2s, msgwait 4s) leave no time to stop: msgwait is named.
        e = error(storage("self_fence = \"stop-resources\"\n"))
        #expect(e?.line == 15 && e?.message.contains("leaves no time to stop") == true, "\(e?.description ?? "")")
        let ok = try load(storage("self_fence = \"stop-resources\"\nmsgwait = \"6s\"\n"))
        #expect(ok.spec.storage?.fenceStopTimeout(resources: 2, deadtime: ok.spec.timing.deadtime) == .seconds(1))  // (6s - 2s - 2s) / 2
        // ... unless a watchdog resets the node first.
        #expect(error(storage("self_fence = \"stop-resources\"\nfence_stop_timeout = \"2s\"\nwatchdog = \"/dev/watchdog\"\n")) == nil)
        // Warnings: no watchdog device; two nodes without storage cannot fail over.
        #expect(ok.warnings.contains { $0.hasPrefix("c.conf:15: warning:") && $0.contains("no watchdog device") }, "\(ok.warnings)")
        let two = try load(group)
        #expect(two.warnings.contains { $0.hasPrefix("c.conf:4: warning:") && $0.contains("cannot fail over") }, "\(two.warnings)")
        #expect(try load(minimal).warnings.isEmpty)
    }

    @Test func storageTableParsesWithDefaultsAndChecksItsTimeouts() throws {
        let c = try load(
            minimal
                + "\n[storage]\ndevices = [\"iscsi://10.0.0.9/iqn.2026-11.x:slots/1\", \"aoe://eth1/1.1\"]\nself_fence = \"stop-resources\"\n"
        )
        let s = try #require(c.spec.storage)
        #expect(s.devices.count == 2 && s.majority == 2)
        #expect(
            s.interval == .milliseconds(200) && s.ioTimeout == .seconds(1) && s.watchdogTimeout == .seconds(2) && s.msgwait == .seconds(4))
        #expect(s.selfFence == .stopResources && s.watchdogDevice == nil)
        #expect(try load(minimal).spec.storage == nil)

        func storageError(_ body: String) -> ConfigError? { error(minimal + "\n[storage]\n" + body) }
        // minimal has 10 lines; [storage] is line 11, its first key line 12.
        var e = storageError("devices = [\"/dev/sdb\"]\nwatchdog_timeout = \"3s\"\nmsgwait = \"5s\"\n")
        #expect(
            e?.line == 14 && e?.message.contains("msgwait (5s) must be at least 2 x watchdog_timeout (3s)") == true,
            "\(e?.description ?? "")")
        // A victim may hold quorum through another member until deadtime after it stopped listing it.
        let slowDeath = minimal.replacingOccurrences(of: "name = \"prod\"", with: "name = \"prod\"\ndeadtime = \"3s\"\ninitdead = \"10s\"")
        e = error(slowDeath + "\n[storage]\ndevices = [\"/dev/sdb\"]\nwatchdog_timeout = \"2s\"\nmsgwait = \"4s\"\n")
        #expect(
            e?.line == 16 && e?.message.contains("msgwait (4s) must be at least deadtime + watchdog_timeout (3s + 2s)") == true,
            "\(e?.description ?? "")")
        #expect(error(slowDeath + "\n[storage]\ndevices = [\"/dev/sdb\"]\nwatchdog_timeout = \"2s\"\nmsgwait = \"5s\"\n") == nil)
        e = storageError("devices = [\"nfs://x/y\"]\n")
        #expect(e?.line == 12 && e?.message.contains("expected iscsi://PORTAL/IQN/LUN") == true, "\(e?.description ?? "")")
        e = storageError("devices = []\n")
        #expect(e?.message.contains("[storage] needs devices") == true)
        e = storageError("devices = [\"/dev/sdb\"]\nself_fence = \"panic\"\n")
        #expect(e?.line == 13 && e?.message.contains("expected one of \"reboot\", \"stop-resources\"") == true, "\(e?.description ?? "")")
        e = storageError("devices = [\"/dev/sdb\"]\nio_timout = \"1s\"\n")
        #expect(e?.message.contains("did you mean 'io_timeout'") == true)
        e = storageError("devices = [\"/dev/sdb\"]\ninterval = \"1500ms\"\n")
        #expect(e?.message.contains("watchdog_timeout (2s) must be at least io_timeout + 2 x interval") == true, "\(e?.description ?? "")")
        e = storageError("devices = [\"/dev/sdb\", \"/dev/sdb\"]\n")
        #expect(e?.message.contains("listed twice") == true)
    }

    @Test func multiLineArraysCommentsAndEscapes() throws {
        let c = try load(
            """
            # top comment
            [cluster]   # trailing comment
            name = 'lit-eral'
            key_file = "/k\\u0065y"
            [[node]]
            name = "a"
            addresses = [   # the LANs
              "10.0.0.1",   # link 0
              "fd00::1",    # link 1
            ]
            votes = 2
            """)
        #expect(c.spec.name == "lit-eral")
        #expect(c.keyFile == "/key")
        #expect(c.spec.nodes[0].addresses == ["10.0.0.1", "fd00::1"])
        #expect(c.spec.totalVotes == 2)
    }

    /// A packet carries its link in one byte, so 256 links or more made the core trap when it sent (UInt8(link))
    /// on a config the loader had accepted. At most ClusterConfig.maxLinks now, refused at the first [[node]].
    @Test func moreLinksThanTheWireCarriesAreRefused() throws {
        func config(_ links: Int) -> String {
            let a = (0..<links).map { "\"10.\($0 / 250).\($0 % 250).1\"" }, b = (0..<links).map { "\"10.\($0 / 250).\($0 % 250).2\"" }
            return
                "[cluster]\nname = \"x\"\n[[node]]\nname = \"a\"\naddresses = [\(a.joined(separator: ", "))]\n[[node]]\nname = \"b\"\naddresses = [\(b.joined(separator: ", "))]\n"
        }
        #expect(try load(config(ClusterConfig.maxLinks)).spec.linkCount == ClusterConfig.maxLinks)
        let e = try #require(error(config(ClusterConfig.maxLinks + 1)))
        #expect(e.line == 3 && e.message.contains("at most \(ClusterConfig.maxLinks) links"), "\(e)")
        #expect(error(config(256)) != nil)
    }

    /// Seeded random-input fuzzing of the parser and loader: mutated valid files and random text.
    /// Never a crash; every error points at a line that exists. VIGIL_FUZZ_ITERATIONS runs longer.
    @Test func fuzzParser() throws {
        let iterations = Int(ProcessInfo.processInfo.environment["VIGIL_FUZZ_ITERATIONS"] ?? "") ?? 5_000
        let base = Array(try String(contentsOfFile: Self.repo + "/cluster.conf.example", encoding: .utf8).utf8)
        let alphabet = Array("[]=\"'#,.\n \\abcdefnrtu0123456789{}_-ms".utf8)
        var seed = UInt64(0xC0F1)
        var errors = 0
        for _ in 0..<iterations {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            var local = SplitMixForTest(seed: seed)
            var b = base
            for _ in 0..<Int.random(in: 1...6, using: &local) {
                let i = Int.random(in: 0..<b.count, using: &local)
                switch Int.random(in: 0...2, using: &local) {
                case 0: b[i] = alphabet.randomElement(using: &local)!
                case 1: b.remove(at: i)
                default: b.insert(alphabet.randomElement(using: &local)!, at: i)
                }
            }
            let text = String(decoding: b, as: UTF8.self)
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false).count
            do { _ = try ConfigLoader.load(text: text, file: "f") } catch {
                errors += 1
                #expect(error.line >= 1 && error.line <= lines, "\(error)")
            }
        }
        #expect(errors > iterations / 4)
    }
}

struct SplitMixForTest: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct HeartbeatCompatibleKeysTests {
    func error(_ text: String) -> ConfigError? {
        do { _ = try ConfigLoader.load(text: text, file: "c.conf"); return nil } catch { return error }
    }

    @Test func autoAddressesNeedInterfacesAndMulticast() throws {
        let nodes = "\n[[node]]\nname = \"a\"\naddresses = [\"auto\"]\n[[node]]\nname = \"b\"\naddresses = [\"10.0.0.2\"]\n"
        let c = try ConfigLoader.load(
            text: "[cluster]\nname = \"x\"\ntransport = \"multicast\"\ninterfaces = [\"eth1\"]\n" + nodes, file: "c")
        #expect(c.interfaces == ["eth1"] && c.spec.nodes[0].addresses == ["auto"])
        let noIf = try #require(error("[cluster]\nname = \"x\"\ntransport = \"multicast\"\n" + nodes))
        #expect(noIf.line == 5 && noIf.message.contains("interfaces"))
        let unicast = try #require(error("[cluster]\nname = \"x\"\ninterfaces = [\"eth1\"]\n" + nodes))
        #expect(unicast.message.contains("multicast"))
        let count = try #require(error("[cluster]\nname = \"x\"\ntransport = \"multicast\"\ninterfaces = [\"eth1\", \"eth2\"]\n" + nodes))
        #expect(count.line == 4 && count.message.contains("one interface per link"))
    }

    @Test func heartbeatKeys() throws {
        let text = """
            [cluster]
            name = "x"
            allow_crc = true
            log_file = "/var/log/ha-log"
            log_facility = "local0"
            respawn = ["hacluster /usr/bin/true --flag"]
            ping_nodes = ["10.0.0.254"]
            ping_deadtime = "5s"
            [[node]]
            name = "a"
            addresses = ["10.0.0.1"]
            [[group]]
            name = "g"
            resources = ["Delay::1"]
            stop_retries = 9
            failure_timeout = "1h"
            """
        let c = try ConfigLoader.load(text: text, file: "c")
        #expect(c.spec.groups[0].failureTimeout == .seconds(3600))
        let short = error(text.replacingOccurrences(of: "\"1h\"", with: "\"500ms\""))
        #expect(short?.line == 16 && short?.message.contains("at least 1s") == true, "\(short?.description ?? "accepted")")
        #expect(c.allowCRC && c.logFile == "/var/log/ha-log" && c.logFacility == "local0")
        #expect(c.respawn == ["hacluster /usr/bin/true --flag"] && c.pingNodes == ["10.0.0.254"] && c.pingDeadtime == .seconds(5))
        #expect(c.spec.groups[0].stopRetries == 9)
        #expect(error(text.replacingOccurrences(of: "/usr/bin/true", with: "true"))?.line == 6)
        #expect(error(text.replacingOccurrences(of: "10.0.0.254", with: "gw.example"))?.line == 7)
        #expect(error(text.replacingOccurrences(of: "local0", with: "local9"))?.line == 5)
        #expect(error(text.replacingOccurrences(of: "\"5s\"", with: "\"100ms\""))?.line == 8)
        #expect(error(text.replacingOccurrences(of: "= 9", with: "= 101"))?.line == 15)
    }
}
