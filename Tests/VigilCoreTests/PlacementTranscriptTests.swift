import Foundation
import Testing
@testable import VigilCore

/// Data-driven transcripts of placement: each file in `transcripts/placement/` drives node `a` of a cluster
/// (which becomes the coordinator) with commands, and lists under every command what `a` did: each action
/// (messages summarised, assignments when they change), and the coordinator's note for every group.
///
/// Commands (one per line; `#` starts a comment; expected output lines are indented by two spaces):
/// - `cluster NODE...` then `group NAME [home=NODE] [resources=N] [failback] [max_restarts=N]
///   [failure_timeout=DURATION]`: the spec;
///   `start` creates node `a` at t = 1 s.
/// - `time DURATION` (e.g. `time 100ms`): advance the clock and tick.
/// - `hear NODE [GROUP=PHASE[!FAILURES][~]]... [noack] [standby] [nohear]`: a heartbeat from NODE following
///   `a` (its term and coordinator), reporting every group `stopped` unless listed (`~`: handed over),
///   acknowledging the assignments `a` last sent unless `noack`; `nohear`: its view does not list `a`.
/// - `vote NODE`: NODE grants `a` its vote in `a`'s candidacy.
/// - `leave NODE`: NODE's controlled leave (its report as in its last `hear`).
/// - `done RESULT...`: the oldest operations in flight finish, one per result (`ok`, `stopped`, `fail`).
/// - `request TEXT`: an admin request made on `a` (`move web c`, `standby a`, ...).
/// - `status GROUP`: `a`'s `vigil status` of GROUP: its state, each node's failures, and in how long `a`'s expire.
/// - `shutdown DURATION`: a controlled stop of `a` with that shutdown timeout.
///
/// `VIGIL_REWRITE_TRANSCRIPTS=1 swift test --filter PlacementTranscript` rewrites the expected output.
@Suite struct PlacementTranscriptTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("transcripts/placement")

    static var files: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).filter { $0.hasSuffix(".txt") }.sorted()
    }

    /// The scenarios are found (an empty directory would make the suite pass with nothing run).
    @Test func theScenariosAreFound() {
        #expect(Self.files.count >= 7, "\(Self.directory.path): \(Self.files)")
    }

    @Test(arguments: files) func transcript(_ file: String) throws {
        let path = Self.directory.appendingPathComponent(file).path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var run = TranscriptRun()
        var rewritten: [String] = []
        var mismatches: [String] = []
        var expected: [String] = []
        var command: String?
        func finish() {
            guard let c = command else { return }
            let actual = run.execute(c)
            rewritten += actual.map { "  " + $0 }
            if actual != expected {
                mismatches.append(
                    "after `\(c)`:\n  expected:\n" + expected.map { "    " + $0 }.joined(separator: "\n")
                        + "\n  actual:\n" + actual.map { "    " + $0 }.joined(separator: "\n"))
            }
            command = nil
            expected = []
        }
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line.hasPrefix("  ") {
                expected.append(String(line.dropFirst(2)))
                continue
            }
            finish()
            rewritten.append(line)
            let t = line.trimmingCharacters(in: .whitespaces)
            if t.isEmpty || t.hasPrefix("#") { continue }
            command = t
        }
        finish()
        if ProcessInfo.processInfo.environment["VIGIL_REWRITE_TRANSCRIPTS"] == "1" {
            try rewritten.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
            return
        }
        #expect(mismatches.isEmpty, "\(file):\n\(mismatches.joined(separator: "\n"))")
        #expect(run.errors.isEmpty, "\(file): \(run.errors)")
    }
}

/// One transcript's state: the spec being built, node `a`, and what the peers last said.
struct TranscriptRun {
    var nodes: [String] = []
    var groups: [GroupSpec] = []
    var node: ClusterNode?
    var now = Instant(nanoseconds: 1_000_000_000)
    var sequence: [String: UInt64] = [:]
    var version: [String: UInt64] = [:]
    var lastReport: [String: NodeReport] = [:]
    var inFlight: [ResourceOperation] = []
    /// The assignments `a` last sent (what peers acknowledge), and last printed.
    var sentTable: [Assignment] = []
    var printedTable: [Assignment] = []
    var errors: [String] = []

    var spec: ClusterSpec {
        ClusterSpec(name: "t", nodes: nodes.map { NodeSpec(name: $0, addresses: ["addr-\($0)"]) }, timing: .safe, groups: groups)
    }

    mutating func execute(_ line: String) -> [String] {
        let w = line.split(separator: " ").map(String.init)
        switch w[0] {
        case "cluster":
            nodes = Array(w.dropFirst())
            return []
        case "group":
            var g = GroupSpec(
                name: w[1], resources: [ResourceSpec(agent: "dummy", arguments: [w[1]])], maxRestarts: 1,
                monitorInterval: .zero)
            for opt in w.dropFirst(2) {
                let kv = opt.split(separator: "=", maxSplits: 1).map(String.init)
                switch kv[0] {
                case "home": g.home = kv[1]
                case "resources": g.resources = (0..<Int(kv[1])!).map { ResourceSpec(agent: "dummy", arguments: [w[1], "\($0)"]) }
                case "failback": g.autoFailback = true
                case "max_restarts": g.maxRestarts = Int(kv[1])!
                case "failure_timeout":
                    if let d = Self.duration(kv[1]) { g.failureTimeout = d } else { errors.append("failure_timeout \(kv[1])") }
                default: errors.append("group option \(opt)")
                }
            }
            groups.append(g)
            return []
        case "start":
            node = ClusterNode(spec: spec, me: "a", incarnation: 1, now: now)
            return render(node!.step(.tick, now: now))
        case "time":
            guard let d = Self.duration(w[1]) else { errors.append("duration \(w[1])"); return [] }
            now = now + d
            return step(.tick)
        case "hear":
            return hear(w[1], Array(w.dropFirst(2)))
        case "vote":
            guard case let .candidate(t, _, _) = node!.role else { errors.append("vote: a is no candidate"); return [] }
            return deliver(message(.voteGrant, from: w[1], term: t, candidate: "a", report: lastReport[w[1]] ?? report(w[1], [])))
        case "leave":
            return deliver(message(.leave, from: w[1], report: lastReport[w[1]] ?? report(w[1], [])))
        case "done":
            var out: [String] = []
            for r in w.dropFirst() {
                guard !inFlight.isEmpty else { errors.append("done: nothing in flight"); break }
                let op = inFlight.removeFirst()
                let result: OperationResult =
                    r == "ok" ? .succeeded : r == "stopped" ? .stopped : r == "hard" ? .failedHere("transcript") : .failed("transcript")
                out.append("# \(op) -> \(r)")
                out += step(.operationDone(id: op.id, result))
            }
            return out
        case "shutdown":
            guard let d = Self.duration(w[1]) else { errors.append("duration \(w[1])"); return [] }
            return step(.shutdown(timeout: d))
        case "status":
            guard let g = node!.status(now: now).groups.first(where: { $0.name == w[1] }) else {
                errors.append("status: no group \(w[1])"); return []
            }
            let failures = g.failures.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
            return [
                "status \(g.name): \(g.state), failures \(failures.isEmpty ? "-" : failures)"
                    + (g.failuresExpireInMs.map { ", expire here in \(Int($0)) ms" } ?? "")
            ]
        case "request":
            guard let r = AdminRequest(text: w.dropFirst().joined(separator: " ")) else { errors.append("request \(line)"); return [] }
            return step(.request(r, number: 1, from: "a"))
        default:
            errors.append("unknown command \(line)")
            return []
        }
    }

    mutating func step(_ input: ClusterNode.Input) -> [String] { render(node!.step(input, now: now)) }

    /// The record first (it is written before any action runs), then every action.
    mutating func render(_ ready: Ready) -> [String] {
        var out: [String] = []
        if let r = ready.persist {
            let acks = (r.acks ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)@\(Self.epoch($0.value))" }
            out.append(
                "persist term \(r.term) voted \(r.votedTerm)/\(r.votedFor.isEmpty ? "-" : r.votedFor)"
                    + (acks.isEmpty ? "" : " acks " + acks.joined(separator: ",")))
        }
        return out + render(ready.actions)
    }

    mutating func deliver(_ m: Message) -> [String] { step(.message(m, link: 0, from: .text(m.sender))) }

    func report(_ from: String, _ words: [String]) -> NodeReport {
        var gs = groups.map { _ in GroupReport(phase: .stopped) }
        let ack = !words.contains("noack")
        for (gi, _) in groups.enumerated() where ack && gi < sentTable.count { gs[gi].ackEpoch = sentTable[gi].epoch }
        for word in words where word.contains("=") {
            let kv = word.split(separator: "=", maxSplits: 1).map(String.init)
            guard let gi = groups.firstIndex(where: { $0.name == kv[0] }) else { continue }
            var v = kv[1]
            if v.hasSuffix("~") { gs[gi].handedOver = true; v.removeLast() }
            let pf = v.split(separator: "!").map(String.init)
            gs[gi].phase = GroupPhase.allCases.first { $0.description == pf[0] } ?? .unknown
            if pf.count > 1 { gs[gi].failures = UInt8(pf[1]) ?? 0 }
        }
        return NodeReport(digest: spec.groupsDigest, standby: words.contains("standby"), version: 0, groups: gs)
    }

    mutating func hear(_ from: String, _ words: [String]) -> [String] {
        var r = report(from, words)
        if lastReport[from].map({
            var l = $0; l.version = 0; return l != r
        }) ?? true {
            version[from, default: 0] += 1
        }
        r.version = version[from, default: 1]
        lastReport[from] = r
        return deliver(message(.heartbeat, from: from, report: r, hears: !words.contains("nohear")))
    }

    mutating func message(
        _ kind: MessageKind, from: String, term: UInt64? = nil, candidate: String = "",
        report: NodeReport, hears: Bool = true
    ) -> Message {
        let n = node!
        sequence[from, default: 0] += 1
        let view = nodes.map { name in
            ViewEntry(
                node: name, state: name == "a" && !hears ? .dead : .alive,
                echo: IncarnationEcho.of(name == "a" ? n.incarnation : 7))
        }
        return Message(
            kind: kind, clusterID: n.spec.clusterID, sender: from, incarnation: 7, sequence: sequence[from]!,
            link: 0, destination: "a", term: term ?? n.term, coordinator: n.coordinator, candidate: candidate,
            senderQuorate: true, view: view, report: report)
    }

    /// Every action on one line each; consecutive sends of one kind as one line; assignments when they change.
    mutating func render(_ actions: [Action]) -> [String] {
        var out: [String] = []
        var sendKind: MessageKind?
        var sendTo: [String] = []
        func flushSends() {
            if let k = sendKind { out.append("send \(k) to \(sendTo.joined(separator: ","))") }
            sendKind = nil
            sendTo = []
        }
        for a in actions {
            if case let .send(m, to, _) = a {
                if sendKind != m.kind { flushSends(); sendKind = m.kind }
                if !sendTo.contains(to) { sendTo.append(to) }
                if !m.assignments.isEmpty { sentTable = m.assignments }
                continue
            }
            flushSends()
            switch a {
            case let .log(level, text):
                out.append("log \(level): \(text)")
            case let .event(e):
                out.append("event \(e)")
            case let .runOperation(op):
                inFlight.append(op)
                out.append("run \(op)")
            case let .storageCycle(c):
                out.append("storage cycle on device \(c.device)")
            case let .selfFence(mode, reason):
                out.append("self-fence \(mode): \(reason)")
            case let .halt(reason):
                out.append("halt: \(reason)")
            case let .leaveNow(cause):
                out.append("leave now: \(cause)")
            case let .answer(number, a):
                out.append("answer \(number): \(a)")
            case .send:
                break
            }
        }
        flushSends()
        if sentTable != printedTable {
            for (gi, a) in sentTable.enumerated() where gi >= printedTable.count || printedTable[gi] != a {
                out.append("assign \(groups[gi].name): " + Self.describe(a))
            }
            printedTable = sentTable
        }
        if let n = node, n.isCoordinator {
            for g in n.groupStatus() { out.append("note \(g.name): \(g.reason)") }
        }
        return out
    }

    static func epoch(_ e: UInt64) -> String { "\(e >> 32).\(e & 0xffff_ffff)" }

    static func describe(_ a: Assignment) -> String {
        var s = a.owner.isEmpty ? "nobody" : a.owner
        s += " epoch \(epoch(a.epoch))"
        if a.go { s += " go" }
        if !a.source.isEmpty { s += " from \(a.source)" }
        if !a.preferred.isEmpty { s += " pinned \(a.preferred)" }
        if a.stay { s += " stay" }
        return s
    }

    static func duration(_ s: String) -> Duration? {
        if s.hasSuffix("ms"), let v = Int(s.dropLast(2)) { return .milliseconds(v) }
        if s.hasSuffix("s"), let v = Double(s.dropLast()) { return .nanoseconds(Int64(v * 1e9)) }
        return nil
    }
}
