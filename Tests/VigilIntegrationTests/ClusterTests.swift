import Foundation
#if canImport(Glibc)
    import Glibc
#endif
import Testing
import VigilCore

/// Real agents, real UDP, real network namespaces. Serialized: they share two cores.
@Suite(.serialized) struct ClusterTests {
    static let timing = TimingSpec(
        interval: .milliseconds(50), warntime: .milliseconds(150),
        deadtime: .milliseconds(300), initdead: .seconds(3))
    /// Scheduling, polling and debug-build slack on a loaded 2-core machine.
    static let slack: Duration = .milliseconds(250)

    @Test func killedCoordinatorIsReplacedWithinTheBound() throws {
        let tb = try Testbed(name: "kill", timing: Self.timing)
        defer { tb.down() }
        try tb.start()
        #expect(
            tb.wait(for: tb.nodes, timeout: .seconds(10)) { Testbed.fullyConverged($0) } != nil,
            "no coordinator: \(tb.log("n1"))")
        let (old, oldTerm) = Testbed.agreedCoordinator(tb.nodes.reduce(into: [:]) { $0[$1] = tb.status($1) })!
        let survivors = tb.nodes.filter { $0 != old }
        try tb.signal(old, SIGKILL)
        let elapsed = tb.wait(for: survivors, timeout: .seconds(5)) { s in
            guard let (c, term) = Testbed.agreedCoordinator(s) else { return false }
            return c != old && term > oldTerm && s.values.allSatisfy { $0.node(old)?.state == "dead" }
        }
        #expect(elapsed != nil, "no new coordinator after killing \(old)")
        if let e = elapsed {
            print("killed coordinator \(old): new coordinator agreed after \(e) (bound deadtime + interval = 350 ms + slack)")
            #expect(e <= Self.timing.deadtime + Self.timing.interval + Self.slack)
        }
    }

    @Test func partitionedNodeLosesQuorumAndHealsBackIntoOneCoordinator() throws {
        let tb = try Testbed(name: "part", timing: Self.timing)
        defer { tb.down() }
        try tb.start()
        #expect(tb.wait(for: tb.nodes, timeout: .seconds(10)) { Testbed.fullyConverged($0) } != nil)
        try tb.cut("n3")
        let minority = tb.wait(for: ["n3"], timeout: .seconds(3)) { s in
            let n3 = s["n3"]!
            return !n3.quorate && n3.coordinator == nil && n3.role != "coordinator"
        }
        #expect(minority != nil, "n3 still claims quorum or a coordinator: \(String(describing: tb.status("n3")))")
        let majority = tb.wait(for: ["n1", "n2"], timeout: .seconds(3)) { s in
            Testbed.agreedCoordinator(s) != nil && s.values.allSatisfy { $0.node("n3")?.state == "dead" }
        }
        #expect(majority != nil, "the majority has no coordinator")
        // n3 must stay without quorum while cut off (no coordinator claims from it).
        usleep(500_000)
        #expect(tb.status("n3")?.role != "coordinator")
        try tb.heal("n3")
        let healed = tb.wait(for: tb.nodes, timeout: .seconds(5)) { Testbed.agreedCoordinator($0) != nil }
        #expect(healed != nil, "no single coordinator after the heal")
    }

    @Test func sigtermIsSeenAsLeftAtOnce() throws {
        // A long deadtime proves the peers react to the announcement, not to silence.
        let timing = TimingSpec(interval: .milliseconds(50), warntime: .seconds(2), deadtime: .seconds(4), initdead: .seconds(5))
        let tb = try Testbed(name: "leave", timing: timing)
        defer { tb.down() }
        try tb.start()
        #expect(tb.wait(for: tb.nodes, timeout: .seconds(10)) { Testbed.fullyConverged($0) } != nil)
        try tb.signal("n2", SIGTERM)
        let seen = tb.wait(for: ["n1", "n3"], timeout: .seconds(2)) { s in s.values.allSatisfy { $0.node("n2")?.state == "left" } }
        #expect(seen != nil, "peers did not see n2 leave")
        if let elapsed = seen {
            print("SIGTERM to n2: peers saw 'left' after \(elapsed) (deadtime \(timing.deadtime))")
            #expect(elapsed < .milliseconds(500))
        }
        // It exits cleanly: one leave, exit code 0, no crash (a recursion through the shutdown path once
        // overflowed the stack).
        #expect(AgentScriptTests.eventually(.seconds(5)) { (try? tb.sh("pid", "n2"))?.isEmpty ?? true })
        let events = tb.events("n2")
        #expect(events.filter { if case .stopRequested = $0 { true } else { false } } == [.stopRequested(.sigterm)], "\(events)")
        #expect(events.filter { if case .leaving = $0 { true } else { false } } == [.leaving(request: .sigterm, cause: .handedOver)])
        #expect(events.filter { if case .exited = $0 { true } else { false } } == [.exited(code: 0)], "\(events.suffix(3))")
    }

    @Test func craftedPacketsAreDroppedAndCountedWithoutChangingMembership() throws {
        let tb = try Testbed(name: "bad", timing: Self.timing)
        defer { tb.down() }
        try tb.start()
        #expect(tb.wait(for: tb.nodes, timeout: .seconds(10)) { Testbed.fullyConverged($0) } != nil)
        let before = try #require(tb.status("n2"))
        let n1Incarnation = try #require(before.node("n1")?.incarnation)
        let conf = tb.run + "/cluster.conf"
        func inject(_ kind: String, _ count: Int, _ extra: [String] = []) throws {
            _ = try tb.sh(
                [
                    "exec", "outsider", Testbed.binary, "debug", "inject", "--config", conf, "--to", "10.77.0.2",
                    "--kind", kind, "--count", "\(count)"
                ] + extra)
        }
        try inject("garbage", 5)
        try inject("truncated", 3)
        try inject("bad-version", 2)
        try inject("wrong-cluster", 2)
        try inject("wrong-key", 4)
        // A replay: correctly signed by the cluster key, but from n1's previous run (an older incarnation),
        // as a capture from before n1's last restart would be.
        try inject("replay", 3, ["--sender", "n1", "--destination", "n2", "--incarnation", "\(n1Incarnation - 1)", "--sequence", "1"])
        let dropped = tb.wait(for: ["n2"], timeout: .seconds(3)) { s in
            let d = s["n2"]!.counters.dropped
            return (d["bad_magic"]! + d["truncated"]!) >= 8 && d["unknown_version"]! >= 2 && d["wrong_cluster"]! >= 2
                && d["bad_signature"]! >= 4 && d["replay"]! >= 3
        }
        let after = try #require(tb.status("n2"))
        #expect(dropped != nil, "counters: \(after.counters.dropped)")
        let d = after.counters.dropped
        #expect(d["bad_magic"]! + d["truncated"]! == 8)
        #expect(d["unknown_version"] == 2 && d["wrong_cluster"] == 2 && d["bad_signature"] == 4 && d["replay"] == 3)
        #expect(after.term == before.term && after.coordinator == before.coordinator)
        #expect(after.nodes.map(\.state) == before.nodes.map(\.state))
        #expect(tb.status("n2")?.agent?.pid == before.agent?.pid, "the agent restarted or crashed")
        // Each reason's report names where the packet came from (the outsider).
        let sources = tb.events("n2").compactMap { e -> String? in
            if case let .cluster(.packetsDropped(_, _, source)) = e { source } else { nil }
        }
        #expect(!sources.isEmpty && sources.allSatisfy { $0.hasPrefix("10.77.0.250:") }, "\(sources)")
    }

    @Test func redundantLinksKeepAPeerAliveWhenOneLinkFails() throws {
        let tb = try Testbed(name: "links", nodes: 3, links: 2, timing: Self.timing)
        defer { tb.down() }
        try tb.start()
        #expect(tb.wait(for: tb.nodes, timeout: .seconds(10)) { Testbed.fullyConverged($0) } != nil)
        // Link 0 of n3 down at the bridge: n3 stays alive through link 1.
        _ = try tb.sh("exec", "n3", "ip", "link", "set", "eth0", "down")
        let linkDown = tb.wait(for: ["n1"], timeout: .seconds(3)) { s in
            s["n1"]!.node("n3")?.links.map(\.state) == ["down", "up"]
        }
        #expect(linkDown != nil, "\(String(describing: tb.status("n1")?.node("n3")))")
        #expect(tb.status("n1")?.node("n3")?.state == "alive")
        #expect(tb.events("n1").contains(.cluster(.linkChanged(node: "n3", link: 0, up: false))))
    }

    @Test func multicastHeartbeatsOnTwoLinks() throws {
        let tb = try Testbed(name: "mcast", nodes: 3, links: 2, timing: Self.timing, transport: "multicast")
        defer { tb.down() }
        try tb.start()
        #expect(
            tb.wait(for: tb.nodes, timeout: .seconds(10)) { s in
                Testbed.agreedCoordinator(s) != nil
                    && s.values.allSatisfy { r in r.nodes.filter { !$0.isSelf }.allSatisfy { $0.links.map(\.state) == ["up", "up"] } }
            } != nil, "no coordinator with both links up: \(tb.log("n1"))")
        let joined = tb.events("n1").filter { if case .multicastJoined = $0 { true } else { false } }
        #expect(
            joined == [
                .multicastJoined(link: 0, group: "239.255.6.94", interface: "eth0"),
                .multicastJoined(link: 1, group: "239.255.6.95", interface: "eth1")
            ], "one group per link, joined on that link's interface")
        // One copy per link per interval instead of one per peer per link: about half as many sent as received,
        // in steady state (the election's unicast vote traffic at start-up is not counted).
        let s0 = try #require(tb.status("n1"))
        usleep(1_000_000)
        let s1 = try #require(tb.status("n1"))
        let sent = s1.counters.sent - s0.counters.sent, accepted = s1.counters.accepted - s0.counters.accepted
        let ratio = Double(sent) / Double(max(1, accepted))
        #expect(ratio < 0.75, "in one second: sent \(sent), accepted \(accepted)")
        let (old, oldTerm) = try #require(Testbed.agreedCoordinator(tb.nodes.reduce(into: [:]) { $0[$1] = tb.status($1) }))
        try tb.signal(old, SIGKILL)
        let survivors = tb.nodes.filter { $0 != old }
        #expect(
            tb.wait(for: survivors, timeout: .seconds(5)) { s in
                guard let (c, term) = Testbed.agreedCoordinator(s) else { return false }
                return c != old && term > oldTerm
            } != nil)
    }

    @Test func deafCoordinatorStepsDownAndTheOthersElectANewOne() throws {
        let tb = try Testbed(name: "deaf", timing: Self.timing)
        defer { tb.down() }
        try tb.start()
        #expect(tb.wait(for: tb.nodes, timeout: .seconds(10)) { Testbed.fullyConverged($0) } != nil)
        let (old, oldTerm) = try #require(Testbed.agreedCoordinator(tb.nodes.reduce(into: [:]) { $0[$1] = tb.status($1) }))
        // One-way cut: the coordinator hears nothing, but its own heartbeats still reach the others.
        _ = try tb.sh(
            "exec", old, "nft",
            "add table inet deaf; add chain inet deaf in { type filter hook input priority 0; }; add rule inet deaf in udp dport 694 drop")
        let others = tb.nodes.filter { $0 != old }
        let elapsed = tb.wait(for: others, timeout: .seconds(5)) { s in
            guard let (c, term) = Testbed.agreedCoordinator(s) else { return false }
            return c != old && term > oldTerm
        }
        #expect(elapsed != nil, "the others kept following the deaf coordinator: \(String(describing: tb.status(others[0])))")
        let deaf = try #require(tb.status(old))
        #expect(!deaf.quorate && deaf.role != "coordinator")
    }
}
