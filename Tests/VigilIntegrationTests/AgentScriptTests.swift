import Foundation
#if canImport(Glibc)
    import Glibc
#endif
import Testing

/// resource-agents/ip and resource-agents/bridge, run for real (`ip netns exec NS SCRIPT ARGS ACTION`) in network
/// namespaces each test creates and deletes: LSB exit codes, the address on the interface, the gratuitous ARP as
/// the peer's neighbour table sees it, a bridge with STP off and forward delay 0.
/// Needs root and the runtime packages of scripts/agent-packages.txt (iproute2, iputils-arping).
@Suite(.serialized) struct AgentScriptTests {
    static let agents = Testbed.repo + "/resource-agents"
    static let ipTool = "/usr/sbin/ip"

    // MARK: - helpers

    /// `ip ARGS` from the test (namespace set-up, `ip -n NS ...`); throws unless it exits 0.
    @discardableResult
    static func ip(_ args: String...) throws -> String { try ip(args) }

    @discardableResult
    static func ip(_ args: [String]) throws -> String {
        let (code, text) = try Testbed.spawn([ipTool] + args, env: [:])
        guard code == 0 else { throw TestbedError("ip \(args.joined(separator: " ")) failed (\(code)): \(text)") }
        return text
    }

    /// Runs `argv` inside namespace `ns`: exit code and stdout + stderr.
    static func inside(_ ns: String, _ argv: [String], env: [String: String] = [:]) throws -> (code: Int32, output: String) {
        let (code, text) = try Testbed.spawn([ipTool, "netns", "exec", ns] + argv, env: env)
        return (code, text)
    }

    /// Runs resource-agents/NAME ARGS inside `ns`, as an administrator would by hand.
    static func agent(
        _ ns: String, _ name: String, _ args: String..., env: [String: String] = [:]
    ) throws
        -> (code: Int32, output: String)
    {
        try inside(ns, [agents + "/" + name] + args, env: env)
    }

    /// A sysfs file as seen inside `ns` (`ip netns exec` mounts the namespace's own /sys), trimmed.
    static func sysfs(_ ns: String, _ path: String) throws -> String {
        let (code, text) = try inside(ns, ["/bin/cat", path])
        guard code == 0 else { throw TestbedError("cat \(path) in \(ns) failed (\(code)): \(text)") }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The MAC address of `dev` in `ns`.
    static func mac(_ ns: String, _ dev: String) throws -> String {
        let line = try ip("-n", ns, "-o", "link", "show", "dev", dev)
        let words = line.split(whereSeparator: { $0 == " " || $0 == "\\" || $0 == "\n" }).map(String.init)
        guard let i = words.firstIndex(of: "link/ether"), i + 1 < words.count else {
            throw TestbedError("no MAC address in: \(line)")
        }
        return words[i + 1].lowercased()
    }

    /// `ip -o addr show dev DEV` in `ns` (all families).
    static func addresses(_ ns: String, _ dev: String) throws -> String {
        try ip("-n", ns, "-o", "addr", "show", "dev", dev)
    }

    static func occurrences(_ needle: String, in text: String) -> Int {
        text.components(separatedBy: needle).count - 1
    }

    /// Polls `condition` every 20 ms until it holds or `timeout` has passed (then checks it once more).
    static func eventually(_ timeout: Duration, _ condition: () throws -> Bool) rethrows -> Bool {
        let clock = ContinuousClock()
        let start = clock.now
        while clock.now - start < timeout {
            if try condition() { return true }
            usleep(20_000)
        }
        return try condition()
    }

    /// Two namespaces joined by a veth pair whose ends are both called eth0: `a`, where the agents run (its eth0
    /// is left DOWN and without addresses: the ip agent must set it up), and `b`, the peer (192.0.2.2/24 and
    /// fd00::2/64 are not set: each test adds what it needs; eth0 up).
    struct Namespaces {
        let a: String
        let b: String

        init(_ tag: String) throws {
            try Testbed.requireRoot()
            a = "vx-agt-\(tag)-a"
            b = "vx-agt-\(tag)-b"
            delete()  // leftovers of an interrupted run
            do {
                try AgentScriptTests.ip("netns", "add", a)
                try AgentScriptTests.ip("netns", "add", b)
                try AgentScriptTests.ip("-n", a, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", b)
                try AgentScriptTests.ip("-n", a, "link", "set", "lo", "up")
                try AgentScriptTests.ip("-n", b, "link", "set", "lo", "up")
                try AgentScriptTests.ip("-n", b, "link", "set", "eth0", "up")
            } catch {
                delete()
                throw error
            }
        }

        func delete() {
            for ns in [a, b] { _ = try? Testbed.spawn([AgentScriptTests.ipTool, "netns", "del", ns], env: [:]) }
        }
    }

    // MARK: - ip

    @Test func ipAgentStartsAnnouncesAndStopsAnIPv4Address() throws {
        let net = try Namespaces("ip4")
        defer { net.delete() }
        let vip = "192.0.2.10"
        let spec = "\(vip)/24/eth0"
        try Self.ip("-n", net.b, "addr", "add", "192.0.2.2/24", "dev", "eth0")
        // The peer still has the previous owner's MAC for the address. Linux ignores an ARP that would change an
        // entry within `locktime` (1 s) of its last update, so the entry must be older than that.
        let oldMAC = "02:00:00:00:00:99"
        try Self.ip("-n", net.b, "neigh", "add", vip, "lladdr", oldMAC, "dev", "eth0", "nud", "stale")
        Thread.sleep(forTimeInterval: 1.2)
        let planted = try Self.ip("-n", net.b, "neigh", "show", vip, "dev", "eth0")
        #expect(planted.contains(oldMAC), "\(planted)")

        var r = try Self.agent(net.a, "ip", spec, "status")
        #expect(r.code == 3, "\(r.output)")
        #expect(r.output.contains("stopped"))

        let clock = ContinuousClock()
        let began = clock.now
        r = try Self.agent(
            net.a, "ip", spec, "start",
            env: [
                "VIGIL_REASON": "failover", "VIGIL_PEER": "n2",
                "VIGIL_GROUP": "web"
            ])
        let took = clock.now - began
        #expect(r.code == 0, "\(r.output)")
        #expect(r.output.contains("reason=failover"), "the agent's environment is logged: \(r.output)")
        #expect(took < .seconds(6), "start took \(took): the gratuitous ARPs are bounded (arping -w 2)")
        let added = try Self.addresses(net.a, "eth0")
        #expect(Self.occurrences(" \(vip)/24 ", in: added) == 1, "\(added)")
        let link = try Self.ip("-n", net.a, "-o", "link", "show", "dev", "eth0")
        #expect(link.contains(",UP,") || link.contains(",UP>") || link.contains("<UP"), "eth0 was set up: \(link)")

        // The gratuitous ARP replaced the old owner's MAC in the peer's neighbour table.
        let newMAC = try Self.mac(net.a, "eth0")
        let learned = try Self.eventually(.seconds(3)) {
            try Self.ip("-n", net.b, "neigh", "show", vip, "dev", "eth0").contains(newMAC)
        }
        let entry = try Self.ip("-n", net.b, "neigh", "show", vip, "dev", "eth0")
        #expect(learned, "peer's entry: \(entry), expected \(newMAC)")
        let ping = try Self.inside(net.b, ["/bin/ping", "-c", "1", "-W", "2", vip])
        #expect(ping.code == 0, "the peer reaches the address: \(ping.output)")

        r = try Self.agent(net.a, "ip", spec, "status")
        #expect(r.code == 0, "\(r.output)")
        #expect(r.output.contains("running"))
        r = try Self.agent(net.a, "ip", spec, "start")  // already running: still success, nothing added twice
        #expect(r.code == 0, "\(r.output)")
        let again = try Self.addresses(net.a, "eth0")
        #expect(Self.occurrences(" \(vip)/24 ", in: again) == 1, "\(again)")
        r = try Self.agent(net.a, "ip", "\(vip)/32/eth0", "status")  // another prefix is another resource
        #expect(r.code == 3, "\(r.output)")

        r = try Self.agent(net.a, "ip", spec, "stop")
        #expect(r.code == 0, "\(r.output)")
        let removed = try Self.addresses(net.a, "eth0")
        #expect(!removed.contains(" \(vip)/"), "\(removed)")
        r = try Self.agent(net.a, "ip", spec, "status")
        #expect(r.code == 3, "\(r.output)")
        #expect(r.output.contains("stopped"))
        r = try Self.agent(net.a, "ip", spec, "stop")  // already stopped: still success
        #expect(r.code == 0, "\(r.output)")
    }

    /// Deleting a primary IPv4 address deletes its subnet's secondaries unless promote_secondaries is set: the
    /// stop of one group's address must not take another group's address with it.
    @Test func ipAgentStopKeepsTheOtherAddressesOfTheSubnet() throws {
        let net = try Namespaces("ip2nd")
        defer { net.delete() }
        var r = try Self.agent(net.a, "ip", "198.51.100.10/24/eth0", "start")
        #expect(r.code == 0, "\(r.output)")
        r = try Self.agent(net.a, "ip", "198.51.100.11/24/eth0", "start")
        #expect(r.code == 0, "\(r.output)")
        r = try Self.agent(net.a, "ip", "198.51.100.10/24/eth0", "stop")  // the primary of the two
        #expect(r.code == 0, "\(r.output)")
        let left = try Self.addresses(net.a, "eth0")
        #expect(!left.contains(" 198.51.100.10/24 "))
        #expect(left.contains(" 198.51.100.11/24 "), "the other address went with the primary: \(left)")
        r = try Self.agent(net.a, "ip", "198.51.100.11/24/eth0", "status")
        #expect(r.code == 0, "\(r.output)")
        r = try Self.agent(net.a, "ip", "198.51.100.11/24/eth0", "stop")
        #expect(r.code == 0, "\(r.output)")
    }

    @Test func ipAgentRejectsBadArgumentsWithLSBCodes() throws {
        let net = try Namespaces("ipbad")
        defer { net.delete() }
        let cases: [([String], Int32)] = [
            (["192.0.2.10/24/eth0"], 2),  // no action
            (["192.0.2.10/24/eth0", "restart"], 2),  // unknown action
            (["192.0.2.10/24/eth0", "start", "x"], 2),  // excess argument
            (["192.0.2.10/24", "start"], 2),  // no interface
            (["192.0.2.256/24/eth0", "start"], 2),
            (["192.0.2.010/24/eth0", "start"], 2),  // ip would read 010 as octal
            (["192.0.2/24/eth0", "start"], 2),
            (["192.0.2.10/33/eth0", "start"], 2),
            (["192.0.2.10/0/eth0", "start"], 2),
            (["fd00::zz/64/eth0", "start"], 2),
            (["192.0.2.10/24/eth0/x", "start"], 2),
            (["192.0.2.10/24/averyveryverylongname", "start"], 2),
            (["192.0.2.256/24/eth0", "status"], 4),  // status has its own codes: 4 is "unknown"
            (["192.0.2.10/24/nosuch0", "start"], 6),  // not configured: no such interface
            (["192.0.2.10/24/nosuch0", "stop"], 0),  // the address cannot be there: stopped
            (["192.0.2.10/24/nosuch0", "status"], 3)
        ]
        for (args, expected) in cases {
            let r = try Self.inside(net.a, [Self.agents + "/ip"] + args)
            #expect(r.code == expected, "ip \(args.joined(separator: " ")): exit \(r.code), output \(r.output)")
            if expected != 0 && expected != 3 {
                #expect(!r.output.isEmpty, "ip \(args.joined(separator: " ")) says nothing")
            }
        }
        let untouched = try Self.addresses(net.a, "eth0")
        #expect(!untouched.contains(" inet "), "nothing was added: \(untouched)")
    }

    @Test(.enabled(if: access("/proc/sys/net/ipv6", F_OK) == 0, "IPv6 is disabled in this kernel"))
    func ipAgentHandlesIPv6WithDuplicateAddressDetection() throws {
        let net = try Namespaces("ip6")
        defer { net.delete() }
        var r = try Self.agent(net.a, "ip", "fd00:0:0::10/64/eth0", "start")
        #expect(r.code == 0, "\(r.output)")
        // start waited for duplicate address detection: the address is there and no longer tentative.
        let line = try Self.addresses(net.a, "eth0").split(separator: "\n").first { $0.contains(" fd00::10/64 ") }
        #expect(line != nil && !line!.contains("tentative"), "\(String(describing: line))")
        r = try Self.agent(net.a, "ip", "FD00::0010/64/eth0", "status")  // any spelling of the address
        #expect(r.code == 0, "\(r.output)")
        r = try Self.agent(net.a, "ip", "fd00::10/64/eth0", "stop")
        #expect(r.code == 0, "\(r.output)")
        let gone = try Self.addresses(net.a, "eth0")
        #expect(!gone.contains("fd00::10/"), "\(gone)")

        // The peer already has the address (and has finished its own duplicate address detection).
        try Self.ip("-n", net.b, "addr", "add", "fd00::20/64", "dev", "eth0")
        let settled = try Self.eventually(.seconds(5)) {
            try Self.addresses(net.b, "eth0").split(separator: "\n").contains { $0.contains(" fd00::20/64 ") && !$0.contains("tentative") }
        }
        #expect(settled)
        r = try Self.agent(net.a, "ip", "fd00::20/64/eth0", "start")
        #expect(r.code == 1, "a duplicate address must fail the start: \(r.output)")
        let notLeft = try Self.addresses(net.a, "eth0")
        #expect(!notLeft.contains("fd00::20/"), "and not be left behind: \(notLeft)")
        r = try Self.agent(net.a, "ip", "fd00::20/64/eth0", "status")
        #expect(r.code == 3, "\(r.output)")
    }

    // MARK: - bridge

    @Test func bridgeAgentKeepsSTPOffAndForwardDelayZero() throws {
        let net = try Namespaces("br")
        defer { net.delete() }
        let br = "vbr0"
        func option(_ name: String) throws -> String { try Self.sysfs(net.a, "/sys/class/net/\(br)/bridge/\(name)") }
        func portState(_ port: String) throws -> String { try Self.sysfs(net.a, "/sys/class/net/\(port)/brport/state") }
        func exists() throws -> Bool { try Self.inside(net.a, [Self.ipTool, "link", "show", "dev", br]).code == 0 }
        /// A veth pair in `a` whose end `port` is enslaved to the bridge (a VM's tap, as far as the bridge cares).
        func addPort(_ port: String) throws {
            try Self.ip("-n", net.a, "link", "add", port, "type", "veth", "peer", "name", port + "p")
            try Self.ip("-n", net.a, "link", "set", port + "p", "up")
            try Self.ip("-n", net.a, "link", "set", port, "master", br)
            try Self.ip("-n", net.a, "link", "set", port, "up")
        }

        var r = try Self.agent(net.a, "bridge", br, "status")
        #expect(r.code == 3, "\(r.output)")
        r = try Self.agent(net.a, "bridge", br, "stop")  // absent: already stopped
        #expect(r.code == 0, "\(r.output)")

        r = try Self.agent(net.a, "bridge", br, "start")
        #expect(r.code == 0, "\(r.output)")
        #expect(try exists())
        #expect(try option("forward_delay") == "0")
        #expect(try option("stp_state") == "0")
        r = try Self.agent(net.a, "bridge", br, "status")
        #expect(r.code == 0, "\(r.output)")
        #expect(r.output.contains("running"))
        r = try Self.agent(net.a, "bridge", br, "start")  // already running
        #expect(r.code == 0, "\(r.output)")

        // Someone turns STP on with the default 15 s forward delay; a port that joins then listens.
        try Self.ip("-n", net.a, "link", "set", "dev", br, "type", "bridge", "stp_state", "1")
        try Self.ip("-n", net.a, "link", "set", "dev", br, "type", "bridge", "forward_delay", "1500")
        try addPort("vtap0")
        let listening = try Self.eventually(.seconds(1)) { try portState("vtap0") == "1" }
        #expect(listening, "with STP on, vtap0 should be listening (1), is \((try? portState("vtap0")) ?? "?")")
        r = try Self.agent(net.a, "bridge", br, "start")  // puts it right, in two steps
        #expect(r.code == 0, "\(r.output)")
        #expect(try option("stp_state") == "0")
        #expect(try option("forward_delay") == "0")
        #expect(try portState("vtap0") == "3", "vtap0 must forward now, not after the old 15 s forward delay")

        // A port that joins now forwards at once (3), not after listening and learning.
        try addPort("vtap1")
        let forwarding = try Self.eventually(.seconds(1)) { try portState("vtap1") == "3" }
        #expect(forwarding, "vtap1 is in state \((try? portState("vtap1")) ?? "?"), not forwarding (3)")

        // stop leaves a bridge with ports in place, and succeeds.
        r = try Self.agent(net.a, "bridge", br, "stop")
        #expect(r.code == 0, "\(r.output)")
        #expect(r.output.contains("still has ports"), "\(r.output)")
        #expect(try exists())
        r = try Self.agent(net.a, "bridge", br, "status")
        #expect(r.code == 0, "\(r.output)")

        // Without ports, stop deletes it.
        try Self.ip("-n", net.a, "link", "del", "vtap0")
        try Self.ip("-n", net.a, "link", "del", "vtap1")
        r = try Self.agent(net.a, "bridge", br, "stop")
        #expect(r.code == 0, "\(r.output)")
        let stillThere = try exists()
        #expect(!stillThere)
        r = try Self.agent(net.a, "bridge", br, "status")
        #expect(r.code == 3, "\(r.output)")
        #expect(r.output.contains("stopped"))

        // Bad arguments, and a NAME that is not a bridge (lo): start refuses it, stop leaves it alone.
        let cases: [([String], Int32)] = [
            ([br], 2),
            ([br, "restart"], 2),
            (["br/0", "start"], 2),
            (["averyveryverylongname", "start"], 2),
            (["br/0", "status"], 4),
            (["lo", "start"], 6),
            (["lo", "status"], 3),
            (["lo", "stop"], 0)
        ]
        for (args, expected) in cases {
            let r = try Self.inside(net.a, [Self.agents + "/bridge"] + args)
            #expect(r.code == expected, "bridge \(args.joined(separator: " ")): exit \(r.code), output \(r.output)")
        }
        #expect(try Self.inside(net.a, [Self.ipTool, "link", "show", "dev", "lo"]).code == 0)
    }
}
