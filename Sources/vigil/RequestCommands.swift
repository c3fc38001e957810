import ArgumentParser
import Foundation
import VigilAgent
import VigilConfig
import VigilCore

/// The exit codes of the request commands (`move`, `standby`, `leave`…), as docs/operations.md lists them.
enum RequestExit: Int32 {
    /// Accepted (and, with --wait, the cluster reached the requested state).
    case done = 0
    /// Refused (with the reason), or not a valid request for this cluster's configuration.
    case refused = 1
    /// --wait: the cluster cannot get there (a group is blocked), or the timeout passed.
    case waitFailed = 2
    /// No answer from the node that carries it out: it may or may not have been carried out.
    case noAnswer = 3
    /// The local agent cannot be reached (EX_UNAVAILABLE).
    case agentUnreachable = 69
}

/// `--wait` and its timeout, for every request command.
struct WaitOptions: ParsableArguments {
    @Flag(help: "Return once the cluster reached the requested state, printing progress meanwhile.") var wait = false
    @Option(help: ArgumentHelp("With --wait: give up after this long (like 90s or 10m).", valueName: "duration"))
    var timeout: String = "5m"

    func validate() throws {
        guard ConfigLoader.parseDuration(timeout) != nil else {
            throw ValidationError("--timeout \(timeout): expected a duration like 90s or 10m")
        }
    }

    var limit: Duration { ConfigLoader.parseDuration(timeout) ?? .seconds(300) }
}

/// Prints to standard error.
func printError(_ text: String) { FileHandle.standardError.write(Data((text + "\n").utf8)) }

/// Asks the local agent over its control socket; an unreachable agent ends the command with 69.
func askAgent(_ where_: SocketOption, _ command: String, timeout: Duration = .seconds(5)) throws -> String {
    do {
        return try ControlClient.request(path: where_.path(), command: command, timeout: timeout)
    } catch let e as ControlClient.Unreachable {
        printError("vigil: \(e)")
        throw ExitCode(RequestExit.agentUnreachable.rawValue)
    } catch {
        throw CLIError("\(error)")
    }
}

/// Checks a request's group and node names against cluster.conf before anything is sent (when the config can be
/// read: `--config`, default /etc/vigil/cluster.conf). Nil: fine, or no config to check against.
func misnamed(_ request: AdminRequest, config path: String) -> String? {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8), let c = try? ConfigLoader.load(text: text, file: path) else {
        return nil
    }
    let nodes = c.spec.nodes.map(\.name)
    let groups = c.spec.groups.map(\.name)
    func node(_ n: String) -> String? {
        n.isEmpty || nodes.contains(n) ? nil : "no node named \(n) in \(path) (nodes: \(nodes.joined(separator: ", ")))"
    }
    func group(_ g: String) -> String? {
        groups.contains(g) ? nil : "no group named \(g) in \(path) (groups: \(groups.isEmpty ? "none" : groups.joined(separator: ", ")))"
    }
    switch request {
    case let .standby(n), let .unstandby(n), let .takeover(n, _), let .confirmDown(n): return node(n)
    case let .move(g, n): return group(g) ?? node(n)
    case let .unmove(g), let .disable(g), let .enable(g), let .unmanage(g), let .manage(g): return group(g)
    case let .cleanup(g, n): return group(g) ?? node(n)
    }
}

/// Sends one administrative request to the local agent and reports the answer of the node that carries it
/// out; with `wait`, then follows the local status until the cluster reached the requested state. `quiet`
/// prints only failures (Heartbeat's commands). An empty node in `request` means the agent's own.
func sendRequest(quiet: Bool = false, _ where_: SocketOption, _ request: AdminRequest, wait: WaitOptions? = nil) throws {
    if let why = misnamed(request, config: where_.config) {
        printError("vigil: \(request): \(why)")
        throw ExitCode(RequestExit.refused.rawValue)
    }
    // With --wait, the cluster as it was before the request (what `standby --wait` waits for).
    let before =
        wait?.wait == true
        ? (try? askAgent(where_, "status")).flatMap { try? JSONDecoder().decode(StatusReport.self, from: Data($0.utf8)) } : nil
    let line = try askAgent(where_, ControlCommand.admin(request).line, timeout: .seconds(15))
    guard let reply = try? JSONDecoder().decode(AdminReply.self, from: Data(line.utf8)) else {
        throw CLIError("unexpected answer from the agent: \(line.trimmingCharacters(in: .whitespacesAndNewlines))")
    }
    let text = reply.text(request).trimmingCharacters(in: .whitespacesAndNewlines)
    switch reply {
    case .answered(let a) where a.accepted:
        if !quiet { print(text) }
    case .noAnswer:
        printError("vigil: \(text)")
        throw ExitCode(RequestExit.noAnswer.rawValue)
    default:
        printError("vigil: \(text)")
        throw ExitCode(RequestExit.refused.rawValue)
    }
    guard let wait, wait.wait else { return }
    try follow(RequestWait(request, before: before), where_, limit: wait.limit, progress: MigrationWatch(config: where_.config))
}

/// While a group with a `vm` resource moves or starts, asks this node's libvirt (through `vigil-virt progress`)
/// how far a live migration of its domain got. The job is visible on the source and the target node only: a
/// wait run elsewhere shows the cluster's states without the figures.
struct MigrationWatch {
    let domains: [String: [String]]
    let config: String
    let virt: String?

    init(config: String) {
        self.config = config
        let c = (try? String(contentsOfFile: config, encoding: .utf8)).flatMap { try? ConfigLoader.load(text: $0, file: config) }
        var d: [String: [String]] = [:]
        for g in c?.spec.groups ?? [] {
            let vms = g.resources.filter { $0.agent == "vm" }.compactMap(\.arguments.first)
            if !vms.isEmpty { d[g.name] = vms }
        }
        domains = d
        let me = selfExecutable()
        let path = me.deletingLastPathComponent().appendingPathComponent("vigil-virt").path
        virt = access(path, X_OK) == 0 ? path : nil
    }

    /// One line per domain whose migration job this node sees now.
    func lines(_ report: StatusReport) -> [String] {
        guard let virt else { return [] }
        var out: [String] = []
        for g in report.groups where g.state == "moving" || g.state == "starting" {
            for domain in domains[g.name] ?? [] {
                let argv = [virt, "progress", domain, "--config", config, "--node", report.node]
                if let (code, text) = try? runCaptured(argv, timeout: .seconds(2)), code == 0 {
                    out.append(text.trimmingCharacters(in: .whitespacesAndNewlines))
                }
            }
        }
        return out
    }
}

/// Runs a program and returns its exit status and standard output, which goes to a temporary file (no pipe a
/// grandchild could hold open). Killed (SIGKILL) after `timeout`; never waits longer than that plus 1 s.
func runCaptured(_ argv: [String], timeout: Duration) throws -> (Int32, String) {
    let path = NSTemporaryDirectory() + "vigil-captured-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    guard FileManager.default.createFile(atPath: path, contents: nil), let out = FileHandle(forWritingAtPath: path) else {
        throw CLIError("cannot create \(path)")
    }
    defer {
        try? out.close()
        unlink(path)
    }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: argv[0])
    p.arguments = Array(argv.dropFirst())
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    try p.run()
    let deadline = ContinuousClock.now + timeout
    while p.isRunning, ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.01) }
    if p.isRunning { kill(p.processIdentifier, SIGKILL) }
    let grace = ContinuousClock.now + .seconds(1)
    while p.isRunning, ContinuousClock.now < grace { Thread.sleep(forTimeInterval: 0.01) }
    let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    return (p.isRunning ? -1 : p.terminationStatus, text)
}

/// Polls the local status every 200 ms until `judge` says reached (exit 0) or failed, or `limit` passes
/// (exit 2); prints each new progress line (and a live migration's figures) with the time since the request.
func follow(_ waiter: RequestWait, _ where_: SocketOption, limit: Duration, progress: MigrationWatch? = nil) throws {
    let clock = ContinuousClock()
    let start = clock.now
    var last = ""
    var lastProgress = ""
    func stamp() -> String {
        let ms = (clock.now - start).components
        return String(format: "%6.1f s", Double(ms.seconds) + Double(ms.attoseconds) / 1e18)
    }
    while true {
        let status = try askAgent(where_, "status")
        guard let report = try? JSONDecoder().decode(StatusReport.self, from: Data(status.utf8)) else {
            throw CLIError("unexpected status from the agent: \(status.prefix(200))")
        }
        switch waiter.judge(report) {
        case let .reached(what):
            print("\(stamp())  done: \(what)")
            return
        case let .failed(why):
            printError("\(stamp())  FAILED: \(why)")
            throw ExitCode(RequestExit.waitFailed.rawValue)
        case let .waiting(what):
            if what != last { print("\(stamp())  \(what)") }
            last = what
            for line in progress?.lines(report) ?? [] where line != lastProgress {
                print("\(stamp())    \(line)")
                lastProgress = line
            }
        }
        if clock.now - start >= limit {
            printError("\(stamp())  TIMEOUT after \(limit.formatted()): still \(last)")
            throw ExitCode(RequestExit.waitFailed.rawValue)
        }
        Thread.sleep(forTimeInterval: 0.2)
    }
}

struct Leave: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Leave the cluster in a controlled way and stop the agent (peers react at once).",
        discussion: "Its groups are handed over first (VMs live-migrate). With --wait, returns once the agent has exited.")
    @OptionGroup var where_: SocketOption
    @OptionGroup var waiting: WaitOptions

    func run() throws {
        print(try askAgent(where_, "leave"), terminator: "")
        guard waiting.wait else { return }
        let clock = ContinuousClock()
        let start = clock.now
        while clock.now - start < waiting.limit {
            if (try? ControlClient.request(path: where_.path(), command: "ping", timeout: .seconds(2))) == nil {
                print("done: the agent has left")
                return
            }
            Thread.sleep(forTimeInterval: 0.2)
        }
        printError("TIMEOUT after \(waiting.limit.formatted()): the agent is still running (handing its groups over?)")
        throw ExitCode(RequestExit.waitFailed.rawValue)
    }
}

struct Standby: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Put a node in standby: its groups are handed to peers (live migration for VMs). Persists across restarts.",
        discussion: "Without NODE: this node. Undo with `vigil unstandby`. With --wait, returns once no group runs there.")
    @OptionGroup var where_: SocketOption
    @OptionGroup var waiting: WaitOptions
    @Argument(help: "The node (default: this node).") var node: String?
    func run() throws { try sendRequest(where_, .standby(node: node ?? ""), wait: waiting) }
}

struct Unstandby: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "End a node's standby: it may run groups again (and takes back its home groups with auto_failback).")
    @OptionGroup var where_: SocketOption
    @OptionGroup var waiting: WaitOptions
    @Argument(help: "The node (default: this node).") var node: String?
    func run() throws { try sendRequest(where_, .unstandby(node: node ?? ""), wait: waiting) }
}

struct Move: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Move a group to a node and pin it there (a controlled handover: VMs live-migrate).",
        discussion:
            "The pin stays until `vigil unmove GROUP`; a pinned node in standby or down does not hold the group. With --wait, returns once the group runs there."
    )
    @OptionGroup var where_: SocketOption
    @OptionGroup var waiting: WaitOptions
    @Argument(help: "The group.") var group: String
    @Argument(help: "The node to move it to.") var node: String
    func run() throws { try sendRequest(where_, .move(group: group, node: node), wait: waiting) }
}

struct Unmove: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Remove a group's pin (it stays where it runs unless auto_failback sends it home).")
    @OptionGroup var where_: SocketOption
    @OptionGroup var waiting: WaitOptions
    @Argument(help: "The group.") var group: String
    func run() throws { try sendRequest(where_, .unmove(group: group), wait: waiting) }
}

struct Takeover: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Pull groups to this node (Heartbeat's hb_takeover): its home groups, or every group with --all.",
        discussion: "This pins them here; `vigil unmove GROUP` removes a pin. With --wait, returns once they run there.")
    @OptionGroup var where_: SocketOption
    @OptionGroup var waiting: WaitOptions
    @Flag(help: "Every group, not only those whose home is this node.") var all = false
    @Argument(help: "The node (default: this node).") var node: String?
    func run() throws { try sendRequest(where_, .takeover(node: node ?? "", all: all), wait: waiting) }
}

struct Cleanup: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Forget a group's failures on a node and probe it again (also clears a failed stop after a manual fix).",
        discussion: "With --wait, returns once the group is no longer blocked there and runs (or is stopped) again.")
    @OptionGroup var where_: SocketOption
    @OptionGroup var waiting: WaitOptions
    @Argument(help: "The group.") var group: String
    @Argument(help: "The node (default: this node).") var node: String?
    func run() throws { try sendRequest(where_, .cleanup(group: group, node: node ?? ""), wait: waiting) }
}

struct ConfirmDown: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "confirm-down",
        abstract: "Confirm that a node which stopped answering is really off, so its groups may start elsewhere.",
        discussion: "Only for nodes that are not members. Wrong use runs a group twice: check the node is powered off first.")
    @OptionGroup var where_: SocketOption
    @Argument(help: "The node.") var node: String
    func run() throws { try sendRequest(where_, .confirmDown(node: node)) }
}

struct Restart: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Restart this node's agent without moving its groups (for upgrades): they keep running, unmonitored.",
        discussion: """
            The agent leaves at once, telling its peers it restarts: they keep its groups assigned here and move \
            nothing. It then runs its binary again (an upgraded one, if it was replaced) with the same arguments and \
            PID; the new agent probes the groups and finds them running. `systemctl restart vigil` is a controlled \
            stop instead: it hands every group over first. With --wait, returns once the new agent answers.
            """)
    @OptionGroup var where_: SocketOption
    @OptionGroup var waiting: WaitOptions

    func run() throws {
        let before = try? JSONDecoder().decode(StatusReport.self, from: Data(askAgent(where_, "status").utf8))
        print(try askAgent(where_, ControlCommand.restart.line), terminator: "")
        guard waiting.wait else { return }
        let clock = ContinuousClock()
        let start = clock.now
        while clock.now - start < waiting.limit {
            Thread.sleep(forTimeInterval: 0.2)
            if let text = try? ControlClient.request(path: where_.path(), command: "status", timeout: .seconds(2)),
                let now = try? JSONDecoder().decode(StatusReport.self, from: Data(text.utf8)),
                now.incarnation != before?.incarnation
            {
                print("done: the agent is back (incarnation \(now.incarnation))")
                return
            }
        }
        printError("TIMEOUT after \(waiting.limit.formatted()): the agent has not answered again")
        throw ExitCode(RequestExit.waitFailed.rawValue)
    }
}

struct Reload: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read cluster.conf again and apply what can change at run time (as SIGHUP and `systemctl reload vigil`).",
        discussion: """
            Applied: the groups' monitor_interval, timeouts, max_restarts, stop_retries, failure_timeout and \
            auto_failback; \
            shutdown_timeout; alerts and alert_timeout. Anything else (nodes, keys, timing, storage, adding, removing \
            or changing a group's resources or home) refuses the whole reload with the reason, exit code 1: apply it \
            with `vigil restart` on every node, which moves no group. Run it on every node: each reads its own file.
            """)
    @OptionGroup var where_: SocketOption

    func run() throws {
        let reply = try askAgent(where_, ControlCommand.reload.line)
        if reply.hasPrefix("error") {
            printError("vigil: \(reply.trimmingCharacters(in: .whitespacesAndNewlines))")
            throw ExitCode(RequestExit.refused.rawValue)
        }
        print(reply, terminator: "")
    }
}

struct Disable: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stop a group everywhere and keep it stopped, across restarts, until `vigil enable`.",
        discussion: "Every node remembers it in its state directory. With --wait, returns once the group is stopped everywhere.")
    @OptionGroup var where_: SocketOption
    @OptionGroup var waiting: WaitOptions
    @Argument(help: "The group.") var group: String
    func run() throws { try sendRequest(where_, .disable(group: group), wait: waiting) }
}

struct Enable: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Let a disabled group run again (placed as usual).", discussion: "With --wait, returns once it runs.")
    @OptionGroup var where_: SocketOption
    @OptionGroup var waiting: WaitOptions
    @Argument(help: "The group.") var group: String
    func run() throws { try sendRequest(where_, .enable(group: group), wait: waiting) }
}

struct Unmanage: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Leave a group alone: no monitor, start, stop or move, wherever it runs, until `vigil manage`.",
        discussion:
            "For work on a group by hand (Pacemaker's unmanage). Kept by the coordinator's assignments, not across a restart of the whole cluster."
    )
    @OptionGroup var where_: SocketOption
    @OptionGroup var waiting: WaitOptions
    @Argument(help: "The group.") var group: String
    func run() throws { try sendRequest(where_, .unmanage(group: group), wait: waiting) }
}

struct Manage: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage an unmanaged group again: every node probes it, then it is placed as usual.",
        discussion: "With --wait, returns once it runs (or is stopped, if nobody may run it).")
    @OptionGroup var where_: SocketOption
    @OptionGroup var waiting: WaitOptions
    @Argument(help: "The group.") var group: String
    func run() throws { try sendRequest(where_, .manage(group: group), wait: waiting) }
}

/// `vigil maintenance on|off [NODE]`: a node-level maintenance mode made of two requests the cluster already
/// carries safely (unmanage each group on the node, then standby; and the reverse), so nothing new is stored or
/// sent on the wire. The CLI checks the cluster is steady first and says exactly what was done if a request fails.
struct Maintenance: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Put a node in maintenance (its groups keep running, left alone; nothing new lands on it), or take it out.",
        discussion: """
            on: every group on NODE (default: this node) is unmanaged (no monitor, start, stop or move, and no \
            recovery if NODE fails), then NODE goes to standby so that no other group is placed there. NODE must be \
            alive and no group may be moving to or from it. The agent can then be stopped, upgraded or the host \
            worked on (`systemctl stop vigil` leaves at once: nothing has to move). off: NODE leaves standby (if it \
            is down, its standby stays until `vigil unstandby NODE`), then every unmanaged group owned by NODE is \
            managed again: probed everywhere and placed as usual (with --wait, until each runs). A group unmanaged \
            by hand before `maintenance on` is managed again too.
            """)
    @OptionGroup var where_: SocketOption
    @OptionGroup var waiting: WaitOptions
    @Argument(help: "on or off.") var mode: String
    @Argument(help: "The node (default: this node).") var node: String?

    func validate() throws {
        guard mode == "on" || mode == "off" else { throw ValidationError("expected on or off, not \(mode)") }
    }

    func status() throws -> StatusReport {
        let text = try askAgent(where_, "status")
        guard let report = try? JSONDecoder().decode(StatusReport.self, from: Data(text.utf8)) else {
            throw CLIError("unexpected status from the agent: \(text.prefix(200))")
        }
        return report
    }

    /// Polls the local status (every 100 ms, at most `limit`) until `done` holds.
    func until(_ limit: Duration, _ done: (StatusReport) -> Bool) throws -> Bool {
        let clock = ContinuousClock()
        let start = clock.now
        while clock.now - start < limit {
            if done(try status()) { return true }
            Thread.sleep(forTimeInterval: 0.1)
        }
        return false
    }

    func run() throws {
        let report = try status()
        let target = node ?? report.node
        if let why = misnamed(.standby(node: target), config: where_.config) {
            printError("vigil: maintenance \(mode) \(target): \(why)")
            throw ExitCode(RequestExit.refused.rawValue)
        }
        let state = report.nodes.first { $0.name == target }?.state ?? "unknown"
        if mode == "on" { try on(report, target, state) } else { try off(report, target, state) }
    }

    func on(_ report: StatusReport, _ target: String, _ state: String) throws {
        guard state == "alive" else {
            printError(
                "vigil: maintenance on \(target): \(target) is \(state); maintenance is for a node that runs (a down node's groups fail over once it is fenced or confirmed down)"
            )
            throw ExitCode(RequestExit.refused.rawValue)
        }
        // Steady first: a group on its way to or from NODE would be frozen half way (its stop on one node
        // finishing, its start on the other never coming).
        let settled = ["running", "stopped", "unmanaged", "disabled", "blocked"]
        for g in report.groups {
            let phase = g.nodes[target] ?? "unknown"
            let onTheWay =
                g.owner == target ? !settled.contains(g.state) : !(phase == "stopped" || phase == "unknown" || g.state == "unmanaged")
            if onTheWay {
                printError(
                    "vigil: maintenance on \(target): \(g.name) is \(g.state) (owner \(g.owner ?? "none"), on \(target): \(phase)); try again once it has settled"
                )
                throw ExitCode(RequestExit.refused.rawValue)
            }
        }
        let owned = report.groups.filter { $0.owner == target && $0.state != "unmanaged" }.map(\.name)
        var done: [String] = []
        do {
            for g in owned {
                try sendRequest(where_, .unmanage(group: g))
                done.append(g)
                // Seen unmanaged here (it came back in the coordinator's assignments) before the standby, so that
                // no placement after the standby can still move it.
                guard try until(.seconds(10), { $0.groups.first { $0.name == g }?.state == "unmanaged" }) else {
                    throw CLIError("\(g) was accepted as unmanaged but is not shown so after 10 s")
                }
            }
            try sendRequest(where_, .standby(node: target))
        } catch {
            if !done.isEmpty {
                printError(
                    "vigil: maintenance on \(target) stopped half way: \(done.joined(separator: ", ")) unmanaged, \(target) not in standby; undo with \(done.map { "`vigil manage \($0)`" }.joined(separator: ", "))"
                )
            }
            throw error
        }
        print("\(target) is in maintenance: \(owned.isEmpty ? "no group runs there" : owned.joined(separator: ", ") + " left alone")")
    }

    func off(_ report: StatusReport, _ target: String, _ state: String) throws {
        if state == "alive" {
            try sendRequest(where_, .unstandby(node: target))
            // The coordinator must see NODE eligible before the groups are managed again, or it would move them
            // away from where they run.
            if !(try until(.seconds(10), { $0.nodes.first { $0.name == target }?.standby == false })) {
                printError("vigil: \(target) still reports standby after 10 s: its groups may move when managed")
            }
        } else {
            print("\(target) is \(state): its standby stays (in its state directory) until `vigil unstandby \(target)` once it is back")
        }
        for g in report.groups where g.owner == target && g.state == "unmanaged" {
            try sendRequest(where_, .manage(group: g.name), wait: waiting)
        }
        print("\(target) is out of maintenance")
    }
}
