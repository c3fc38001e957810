import ArgumentParser
import Foundation
import Synchronization
import VigilAgent
import VigilConfig
import VigilCore
import VigilDrill

/// `vigil drill`: ping a service every 10 ms while a node is stopped or killed, and report the interruption.
struct Drill: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Failover drill: ping a service every 10 ms while the cluster is made to move it; report the gap.",
        discussion: """
            ACTION is one of:
              none                 just measure
              standby:NODE         a controlled stop through the cluster (the vm agent live-migrates)
              unstandby:NODE
              move:GROUP:NODE      move a group
              kill:NODE            testbed only: kill -9 of NODE's agent and guests, its links down (--testbed)
              link-down:NODE       testbed only: NODE's links down (--testbed)
              run:COMMAND          run a shell command (e.g. another HA stack's standby, for comparisons)
            Writes DIR/report.txt, report.json, pings.csv, data.json and drill.svg; prints the table and the headline.
            The cluster's events come from every agent's control socket (`events`) at the end of the drill.
            """)

    @Option(help: "IPv4 address of the service to ping.") var target: String = ""
    @Option(help: "Re-analyse a recorded drill (its data.json) instead of running one; writes into --out.") var from: String?
    @Option(help: "What to do during the drill (see below).") var action: String = "none"
    @Option(help: "When to act, after the first request.") var at: String = "10s"
    @Option(help: "How long to send requests.") var duration: String = "30s"
    @Option(help: "Interval between requests.") var interval: String = "10ms"
    @Option(help: "Output directory.") var out: String = "drill-out"
    @Option(help: "Directory of agent control sockets named NODE.sock.") var sockets: String?
    @Option(name: .customLong("socket"), help: "NODE=PATH of an agent's control socket (repeatable).") var socketList: [String] = []
    @Option(help: "Testbed control command for kill: and link-down: (it is run as `CMD kill NODE`).") var testbed: String?
    @Option(help: "NODE=FILE: events saved with `vigil events` on a node this host cannot reach (repeatable).")
    var events: [String] = []
    @Option(help: "Clock for aligning the agents' events: wall (across machines, needs NTP) or mono (one machine).")
    var clock: String = "wall"

    func run() throws {
        if let from {
            var data = try JSONDecoder().decode(DrillData.self, from: Data(contentsOf: URL(fileURLWithPath: from)))
            // Events saved later on nodes the drill could not reach (wall clock: the recording has no other).
            let known = Set(data.events.map { "\($0.source)|\($0.kind)|\($0.text)|\($0.tNs / 1_000_000)" })
            for e in try savedEvents() {
                let t = e.wallNs - data.startWallNs
                guard t >= -1_000_000_000, t <= data.endNs + 500_000_000,
                    !known.contains("\(e.node)|\(e.kind)|\(e.text)|\(t / 1_000_000)")
                else { continue }
                data.events.append(.init(tNs: t, source: e.node, kind: e.kind, text: e.text))
            }
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            try write(data)
            return
        }
        guard !target.isEmpty else { throw ValidationError("--target ADDRESS is required (or --from DATA.json)") }
        guard let iv = ConfigLoader.parseDuration(interval), iv >= .milliseconds(1),
            let dur = ConfigLoader.parseDuration(duration), dur > .zero,
            let atD = ConfigLoader.parseDuration(at)
        else {
            throw ValidationError("--interval, --duration and --at take durations like 10ms, 30s")
        }
        guard ["wall", "mono"].contains(clock) else { throw ValidationError("--clock: wall or mono") }
        let socks = try socketMap()
        let act = try DrillAction(action)
        if act.needsTestbed, testbed == nil { throw ValidationError("\(action) needs --testbed CMD (the tool must control the nodes)") }
        if act.needsSocket, socks.isEmpty { throw ValidationError("\(action) needs --sockets DIR or --socket NODE=PATH") }
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)

        let pinger = try Pinger(target: target)
        let startMono = Pinger.monotonicNs() + 50_000_000
        let startWall = Self.wallNs() + 50_000_000
        print(
            "drill: pinging \(target) every \(iv.compactDescription) for \(dur.compactDescription); \(action) at \(atD.compactDescription); output in \(out)"
        )
        let drillEvents = Mutex<[DrillData.Event]>([])
        // The action runs on its own thread at its time, so the pinger's schedule never waits for it.
        let actor = Thread {
            let actAt = startMono + atD.nanoseconds
            while Pinger.monotonicNs() < actAt { usleep(1000) }
            guard act.kind != .none else { return }
            let t0 = Pinger.monotonicNs() - startMono
            let result = act.perform(sockets: socks, testbed: testbed)
            let t1 = Pinger.monotonicNs() - startMono
            drillEvents.withLock {
                $0.append(.init(tNs: t0, source: "drill", kind: "action", text: "\(act.text) issued"))
                $0.append(.init(tNs: t1, source: "drill", kind: "action", text: "\(act.text): \(result)"))
                // A testbed that says when it killed the node ("killed at UNIX-SECONDS"): that instant, exactly.
                if let r = result.range(of: "killed at "),
                    let secs = Double(result[r.upperBound...].prefix { $0.isNumber || $0 == "." })
                {
                    let t = Int64(secs * 1e9) - startWall
                    if t > 0 {
                        $0.append(.init(tNs: t, source: "drill", kind: "action", text: "\(act.node) killed (the testbed's timestamp)"))
                    }
                }
            }
        }
        actor.start()
        let (probes, stray, reordered) = pinger.run(startNs: startMono, interval: iv, sendFor: dur, grace: .milliseconds(500))
        for _ in 0..<3000 where !actor.isFinished { usleep(10_000) }

        // The cluster's own events, from every agent that answers.
        let endNs = dur.nanoseconds
        var timeline = drillEvents.withLock { $0 }
        /// An agent's event on the drill's time axis (kept from 1 s before the first request to the end).
        func align(_ e: JournalEvent) {
            let t = clock == "mono" ? e.monoNs - startMono : e.wallNs - startWall
            guard t >= -1_000_000_000, t <= endNs + 500_000_000 else { return }
            timeline.append(.init(tNs: t, source: e.node, kind: e.kind, text: e.text))
        }
        for (node, path) in socks.sorted(by: { $0.key < $1.key }) {
            guard let text = try? ControlClient.request(path: path, command: "events", timeout: .seconds(3)),
                let list = try? JSONDecoder().decode([JournalEvent].self, from: Data(text.utf8))
            else {
                timeline.append(.init(tNs: endNs, source: "drill", kind: "note", text: "no events from \(node) (agent not answering)"))
                continue
            }
            for e in list { align(e) }
        }
        for e in try savedEvents() { align(e) }
        let data = DrillData(
            target: target, action: action, intervalNs: iv.nanoseconds, actionNs: act.kind == .none ? nil : atD.nanoseconds,
            endNs: endNs, startWallNs: startWall, probes: probes, events: timeline,
            strayReplies: stray, reordered: reordered)
        try write(data)
    }

    /// The report files and the terminal output.
    func write(_ data: DrillData) throws {
        let report = DrillReport(data)
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        try enc.encode(data).write(to: URL(fileURLWithPath: out + "/data.json"))
        try report.json().write(to: URL(fileURLWithPath: out + "/report.json"))
        try DrillReport.csv(data).write(toFile: out + "/pings.csv", atomically: true, encoding: .utf8)
        try DrillPlot.svg(data, report).write(toFile: out + "/drill.svg", atomically: true, encoding: .utf8)
        try report.text.write(toFile: out + "/report.txt", atomically: true, encoding: .utf8)
        print(report.text, terminator: "")
        print("written: \(out)/report.txt report.json pings.csv data.json drill.svg")
    }

    /// The journals given with --events NODE=FILE.
    func savedEvents() throws -> [JournalEvent] {
        var all: [JournalEvent] = []
        for spec in events {
            let parts = spec.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let raw = FileManager.default.contents(atPath: parts[1]),
                let list = try? JSONDecoder().decode([JournalEvent].self, from: raw)
            else {
                throw ValidationError("--events NODE=FILE: cannot read the events in \(spec) (save them with `vigil events > FILE`)")
            }
            all += list
        }
        return all
    }

    func socketMap() throws -> [String: String] {
        var m: [String: String] = [:]
        if let dir = sockets {
            for f in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] where f.hasSuffix(".sock") {
                m[String(f.dropLast(5))] = dir + "/" + f
            }
        }
        for s in socketList {
            let parts = s.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw ValidationError("--socket NODE=PATH, got \(s)") }
            m[parts[0]] = parts[1]
        }
        return m
    }

    static func wallNs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}

/// A parsed `--action`.
struct DrillAction {
    enum Kind { case none, standby, unstandby, move, kill, linkDown, run }
    let kind: Kind
    let node: String
    let group: String
    let text: String

    init(_ s: String) throws {
        text = s
        if s.hasPrefix("run:"), s.count > 4 {
            (kind, node, group) = (.run, String(s.dropFirst(4)), "")
            return
        }
        let p = s.split(separator: ":").map(String.init)
        switch (p.first ?? "", p.count) {
        case ("none", 1): (kind, node, group) = (.none, "", "")
        case ("standby", 2): (kind, node, group) = (.standby, p[1], "")
        case ("unstandby", 2): (kind, node, group) = (.unstandby, p[1], "")
        case ("move", 3): (kind, node, group) = (.move, p[2], p[1])
        case ("kill", 2): (kind, node, group) = (.kill, p[1], "")
        case ("link-down", 2): (kind, node, group) = (.linkDown, p[1], "")
        default:
            throw ValidationError(
                "--action \(s): expected none, standby:NODE, unstandby:NODE, move:GROUP:NODE, kill:NODE, link-down:NODE or run:COMMAND")
        }
    }

    var needsTestbed: Bool { kind == .kill || kind == .linkDown }
    var needsSocket: Bool { kind == .standby || kind == .unstandby || kind == .move }

    /// Sends `request` to the agent at `path`; its answer as one line (`ok: …`, or `FAILED: error: …`), or nil when
    /// the agent cannot be reached.
    static func ask(_ path: String, _ request: AdminRequest) -> String? {
        guard let line = try? ControlClient.request(path: path, command: ControlCommand.admin(request).line, timeout: .seconds(10)) else {
            return nil
        }
        guard let reply = try? JSONDecoder().decode(AdminReply.self, from: Data(line.utf8)) else {
            return "FAILED: \(line.trimmingCharacters(in: .whitespacesAndNewlines))"
        }
        let text = reply.text(request).trimmingCharacters(in: .whitespacesAndNewlines)
        return reply.accepted ? text : "FAILED: \(text)"
    }

    /// Carries the action out; returns what came back (for the timeline).
    func perform(sockets: [String: String], testbed: String?) -> String {
        switch kind {
        case .none: return "nothing to do"
        case .standby, .unstandby:
            guard let path = sockets[node] else { return "FAILED: no control socket for \(node)" }
            let request: AdminRequest = kind == .standby ? .standby(node: node) : .unstandby(node: node)
            return Self.ask(path, request) ?? "FAILED: \(node)'s agent did not answer"
        case .move:
            for (_, path) in sockets.sorted(by: { $0.key < $1.key }) {
                if let r = Self.ask(path, .move(group: group, node: node)) { return r }
            }
            return "FAILED: no agent answered"
        case .kill, .linkDown, .run:
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = ["-c", kind == .run ? node : "\(testbed!) \(kind == .kill ? "kill" : "link-down") \(node)"]
            let pipe = Pipe()
            p.standardOutput = pipe
            p.standardError = pipe
            do {
                try p.run()
                let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                p.waitUntilExit()
                let lines = output.split(separator: "\n").map(String.init)
                let last = lines.first { $0.contains("killed at ") } ?? lines.last ?? ""
                return (p.terminationStatus == 0 ? "done" : "FAILED: exit \(p.terminationStatus)") + (last.isEmpty ? "" : " (\(last))")
            } catch {
                return "FAILED: \(error)"
            }
        }
    }
}
