import ArgumentParser
import Foundation
import Logging
import VigilAgent
import VigilConfig
import VigilHeartbeat
import VigilCore
import VigilSimulation
import VigilResources
import VigilWire

/// `vigil`: the cluster agent and its command-line tools.
struct Vigil: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vigil",
        abstract: "High-availability cluster agent: heartbeats, membership, quorum and a coordinator.",
        version: Agent.version,
        subcommands: [
            AgentCommand.self, Status.self, Leave.self, Restart.self, Reload.self, Standby.self, Unstandby.self, Move.self, Unmove.self,
            Takeover.self, Cleanup.self, Disable.self, Enable.self, Unmanage.self, Manage.self, Maintenance.self, ConfirmDown.self,
            Keygen.self,
            ConfigCommand.self, ImportHeartbeat.self,
            HBStandby.self, HBTakeover.self, CLStatus.self,
            ResourceCommand.self, StorageCommand.self, Exporter.self, Drill.self, Events.self, Virt.self, Simulate.self, Debug.self
        ]
    )
}

/// Options shared by commands that read cluster.conf.
struct ConfigOption: ParsableArguments {
    @Option(name: .long, help: "Cluster configuration file.")
    var config: String = ClusterConfig.defaultPath

    func load() throws -> ClusterConfig {
        guard let text = try? String(contentsOfFile: config, encoding: .utf8) else {
            throw CLIError("cannot read \(config); create one with `vigil config init`")
        }
        do {
            return try ConfigLoader.load(text: text, file: config)
        } catch {
            throw CLIError("\(error)")
        }
    }
}

struct AgentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "agent", abstract: "Run the cluster agent in the foreground.")

    @OptionGroup var options: ConfigOption
    @Option(help: "This node's name in the config (default: the hostname).") var node: String?
    @Option(help: "Control socket path (default: the config's socket).") var socket: String?
    @Option(help: "Directory for the election record (default: the config's state_dir).") var stateDir: String?
    @Option(
        help: ArgumentHelp(
            "Append every event, typed, to this file as JSON lines (membership, groups, fencing, leave, exit; see docs/status.md).",
            valueName: "path")) var eventsFile: String?
    @Option(help: "Log level: debug, info, notice, warning, error.") var logLevel: String = "info"
    @Option(help: "Working directory for resource agents, VIGIL_RUN_DIR (default: the config's run_dir).") var runDir: String?

    @Option(help: "Run from a Heartbeat configuration directory (ha.cf, haresources, authkeys) instead of cluster.conf.")
    var heartbeatConfig: String?
    @Flag(help: "With --heartbeat-config: accept an authkeys file whose selected method is crc (no secret).")
    var allowCRC = false
    @Flag(
        help: "Start in standby, persisted as by `vigil standby`: run no group until `vigil unstandby` (for switching over from Heartbeat)."
    )
    var standby = false

    func run() throws {
        // Heartbeat's node names are lower case (uname -n, compared case-insensitively).
        let me = heartbeatConfig == nil ? node ?? hostname() : (node ?? hostname()).lowercased()
        var config: ClusterConfig
        var imported: HeartbeatImport?
        if let dir = heartbeatConfig {
            (config, imported) = try HeartbeatSupport.load(directory: dir, node: me, allowCRC: allowCRC, printWarnings: true)
            // The imported text as a file: resource agents get it as VIGIL_CONFIG (the vm agent reads it).
            config.file = try HeartbeatSupport.saveImported(imported!.text, to: stateDir ?? config.stateDir)
        } else {
            config = try options.load()
        }
        guard let level = Logger.Level(rawValue: logLevel) else { throw ValidationError("unknown log level \(logLevel)") }
        let logger = makeLogger(node: me, level: level, file: config.logFile, facility: config.logFacility)
        for w in config.warnings { logger.warning("\(w)") }
        var opts = AgentOptions(
            config: config, node: me, socketPath: socket ?? config.socket,
            stateDir: stateDir ?? config.stateDir, logLevel: level)
        opts.allowNonRootKey = ProcessInfo.processInfo.environment["VIGIL_ALLOW_NONROOT_KEY"] == "1"
        opts.runDir = runDir
        opts.startInStandby = standby
        opts.fromHeartbeat = heartbeatConfig != nil
        opts.heartbeatMulticast = imported?.heartbeatMulticast.map { ($0.interface, $0.group, $0.port) } ?? []
        opts.eventsFile = eventsFile
        opts.installedAgents = ResourceCommand.Run.bundledAgents()
        opts.binary = selfExecutable().path
        do {
            let agent = try Agent(options: opts, logger: logger)
            let code = try agent.run()
            if code == Agent.restartExitCode {
                // `vigil restart`: this binary (an upgraded one, if it was replaced) again, same PID and arguments.
                logger.notice("restart: running \(opts.binary) again")
                let argv = CommandLine.arguments.map { strdup($0) } + [nil]
                execv(opts.binary, argv)
                logger.critical("restart: cannot run \(opts.binary): \(String(cString: strerror(errno)))")
            }
            Foundation.exit(code)
        } catch let e as AgentError {
            logger.critical("\(e.description)")
            Foundation.exit(1)
        }
    }

    func hostname() -> String { localHostname() }

    func makeLogger(node: String, level: Logger.Level, file: String? = nil, facility: String? = nil) -> Logger {
        let journal = Systemd.journalAvailable && facility != "none"
        let stderrToJournal = Systemd.stderrIsJournal
        let fileHandler: FileLogHandler? = file.flatMap { f in
            switch FileLogHandler.open(path: f) {
            case let .success(h): return h
            case let .failure(e):
                FileHandle.standardError.write(Data("vigil: \(e); logging to the journal and stderr only\n".utf8))
                return nil
            }
        }
        LoggingSystem.bootstrap { label in
            var handlers: [LogHandler] = []
            if !(journal && stderrToJournal) { handlers.append(StreamLogHandler.standardError(label: label)) }
            if journal { handlers.append(JournalLogHandler(identifier: "vigil", facility: facility)) }
            if let h = fileHandler { handlers.append(h) }
            var h = MultiplexLogHandler(handlers)
            h.logLevel = level
            return h
        }
        var logger = Logger(label: "vigil")
        logger[metadataKey: "node"] = "\(node)"
        return logger
    }
}

/// Finds the control socket: --socket, else the config's socket if the config is readable, else the default.
struct SocketOption: ParsableArguments {
    @Option(help: "Control socket path.") var socket: String?
    @Option(help: "Cluster configuration file (to find the socket).") var config: String = ClusterConfig.defaultPath

    func path() -> String {
        if let s = socket { return s }
        if let s = ProcessInfo.processInfo.environment["VIGIL_SOCKET"], !s.isEmpty { return s }
        if let text = try? String(contentsOfFile: config, encoding: .utf8),
            let c = try? ConfigLoader.load(text: text, file: config)
        {
            return c.socket
        }
        return "/run/vigil/vigil.sock"
    }
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show membership, quorum, coordinator, links, groups and storage as this node sees them.",
        discussion: """
            Exit codes: 0, or 69 when the agent cannot be reached. With --check, the monitoring plugin codes: 0 OK, \
            1 WARNING, 2 CRITICAL (the agent unreachable included), 3 UNKNOWN, and one line (docs/status.md).
            """)
    @OptionGroup var where_: SocketOption
    @Flag(help: "Print the documented JSON object instead of a table.") var json = false
    @Flag(help: "One line and a monitoring plugin exit code (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).") var check = false
    @Flag(help: "Redraw the table until interrupted.") var watch = false
    @Option(help: ArgumentHelp("With --watch: how often to redraw.", valueName: "duration")) var interval: String = "1s"

    func validate() throws {
        guard [json, check, watch].filter({ $0 }).count <= 1 else {
            throw ValidationError("--json, --check and --watch exclude each other")
        }
        guard let d = ConfigLoader.parseDuration(interval), d >= .milliseconds(100) else {
            throw ValidationError("--interval \(interval): expected a duration of at least 100ms, like 1s")
        }
    }

    func run() throws {
        if check { try runCheck() }
        if watch { try runWatch() }
        let reply = try askAgent(where_, "status")
        if json { print(reply, terminator: ""); return }
        let report = try JSONDecoder().decode(StatusReport.self, from: Data(reply.utf8))
        print(StatusTable.render(report), terminator: "")
    }

    func runCheck() throws -> Never {
        let result: StatusCheck
        do {
            let reply = try ControlClient.request(path: where_.path(), command: "status", timeout: .seconds(5))
            if let report = try? JSONDecoder().decode(StatusReport.self, from: Data(reply.utf8)) {
                result = StatusCheck.evaluate(report)
            } else {
                result = StatusCheck.unreadable(String(reply.prefix(120)))
            }
        } catch {
            result = StatusCheck.unreachable("\(error)")
        }
        print(result.line)
        Foundation.exit(result.level.rawValue)
    }

    func runWatch() throws -> Never {
        let pause = ConfigLoader.parseDuration(interval) ?? .seconds(1)
        while true {
            var screen = "\u{1B}[H\u{1B}[2J"  // home, clear
            if let reply = try? ControlClient.request(path: where_.path(), command: "status", timeout: .seconds(5)),
                let report = try? JSONDecoder().decode(StatusReport.self, from: Data(reply.utf8))
            {
                screen += StatusTable.render(report)
                screen += "\n" + StatusCheck.evaluate(report).line + "\n"
            } else {
                screen += "cannot reach the agent at \(where_.path()); retrying every \(interval)\n"
            }
            FileHandle.standardOutput.write(Data(screen.utf8))
            Thread.sleep(forTimeInterval: Double(pause.nanoseconds) / 1e9)
        }
    }
}

struct Events: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print this node's recent events (membership, groups, operations, migrations, fencing) as JSON.",
        discussion: "For `vigil drill --events NODE=FILE` when the drill runs where this node's socket cannot be reached.")
    @OptionGroup var socket: SocketOption

    func run() throws {
        print(try askAgent(socket, "events"), terminator: "")
    }
}

/// `vigil virt ...`: runs `vigil-virt` (installed next to this binary) with the same arguments. The libvirt
/// engine is a program of its own so that the agent never maps libvirt.
struct Virt: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start, stop or check a libvirt domain as a cluster resource (runs vigil-virt; see vigil-virt --help).")
    @Argument(parsing: .allUnrecognized, help: "start|stop|status DOMAIN [--address ADDR] ...") var arguments: [String] = []

    func run() throws {
        let me = selfExecutable()
        let path = me.deletingLastPathComponent().appendingPathComponent("vigil-virt").path
        guard access(path, X_OK) == 0 else { throw CLIError("\(path) is missing: install vigil-virt next to vigil") }
        let argv = [path] + arguments
        let cargs = argv.map { strdup($0) } + [nil]
        execv(path, cargs)
        throw CLIError("cannot run \(path): \(String(cString: strerror(errno)))")
    }
}

struct Keygen: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Write a fresh random cluster key (mode 0600).")
    @Argument(help: "Where to write the key.") var path: String
    @Flag(help: "Replace an existing file.") var force = false

    func run() throws {
        do { try ClusterKey.generate(path: path, force: force) } catch { throw CLIError("\(error)") }
        print("wrote \(path) (mode 0600); copy it to every node, owner root")
    }
}

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "Write or check cluster.conf.",
        subcommands: [Init.self, Check.self])

    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write a valid, commented cluster.conf.")
        @Option(help: "Cluster name.") var cluster: String
        @Option(name: .customLong("node"), help: "NAME=ADDR[,ADDR...] (one address per link); repeat per node.") var nodes: [String]
        @Option(help: "Key file path (create it with `vigil keygen`).") var keyFile: String = "/etc/vigil/authkey"
        @Option(help: "Timing profile: safe or fast.") var profile: String = "safe"
        @Option(help: "UDP port.") var port: Int = 694
        @Option(help: "state_dir to write.") var stateDir: String?
        @Option(help: "socket to write.") var socket: String?
        @Option(help: "Write here instead of standard output.") var output: String?
        @Option(help: "Override the profile's interval (e.g. 50ms).") var interval: String?
        @Option(help: "Override the profile's warntime.") var warntime: String?
        @Option(help: "Override the profile's deadtime.") var deadtime: String?
        @Option(help: "Override the profile's initdead.") var initdead: String?

        func run() throws {
            var parsed: [NodeSpec] = []
            for n in nodes {
                let parts = n.split(separator: "=", maxSplits: 1)
                guard parts.count == 2 else { throw ValidationError("--node \(n): expected NAME=ADDR[,ADDR...]") }
                parsed.append(.init(name: String(parts[0]), addresses: parts[1].split(separator: ",").map(String.init)))
            }
            let text = ConfigWriter.render(
                cluster: cluster, nodes: parsed, keyFile: keyFile, profile: profile,
                port: port, stateDir: stateDir, socket: socket,
                timings: [
                    "interval": interval, "warntime": warntime,
                    "deadtime": deadtime, "initdead": initdead
                ].compactMapValues { $0 })
            // Never write a config the agent would refuse.
            do { _ = try ConfigLoader.load(text: text, file: output ?? "<generated>") } catch {
                throw ValidationError("the resulting config would be invalid: \(error)")
            }
            if let out = output {
                try text.write(toFile: out, atomically: true, encoding: .utf8)
                print("wrote \(out)")
            } else {
                print(text, terminator: "")
            }
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Validate cluster.conf and print what it means.")
        @OptionGroup var options: ConfigOption

        func run() throws {
            let c = try options.load()
            let t = c.spec.timing
            for w in c.warnings { FileHandle.standardError.write(Data((w + "\n").utf8)) }
            // OCF resources: their parameters against each agent's meta-data on this node.
            let ocf = ocfProblems(c, runner: ResourceRunner(searchPath: AgentSearchPath(configured: c.agentDirs, ocfRoot: c.ocfRoot)))
            for w in ocf.warnings { FileHandle.standardError.write(Data(("Warning: " + w + "\n").utf8)) }
            if !ocf.errors.isEmpty {
                for p in ocf.errors { FileHandle.standardError.write(Data(("Error: " + p + "\n").utf8)) }
                throw ExitCode(1)
            }
            print("\(options.config): ok\(c.warnings.isEmpty ? "" : " (\(c.warnings.count) warning\(c.warnings.count == 1 ? "" : "s"))")")
            print(
                "cluster \(c.spec.name): \(c.spec.nodes.count) nodes, \(c.spec.linkCount) link(s), \(c.spec.transport.rawValue), port \(c.port), quorum \(c.spec.quorum.rawValue) (\(c.spec.quorumVotes) of \(c.spec.totalVotes) votes)"
            )
            print(
                "timing (\(c.profile)): interval \(t.interval.compactDescription), warntime \(t.warntime.compactDescription), deadtime \(t.deadtime.compactDescription), initdead \(t.initdead.compactDescription)"
            )
            if let s = c.spec.storage {
                print(
                    "storage: \(s.devices.joined(separator: ", ")); interval \(s.interval.compactDescription), io_timeout \(s.ioTimeout.compactDescription), watchdog_timeout \(s.watchdogTimeout.compactDescription), msgwait \(s.msgwait.compactDescription), self_fence \(s.selfFence.rawValue), watchdog \(s.watchdogDevice ?? "none")"
                )
                print(
                    "fencing: \(c.spec.fencing == .required ? "poison pill on a majority of \(s.devices.count) device(s)" : "NONE (vanished nodes are assumed stopped: unsafe)")"
                )
            }
        }
    }
}

struct Simulate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run seeded whole-cluster simulations (deterministic; reproduce a failure from its seed).",
        discussion:
            "Modes: election, groups, groups-none, storage, nemesis (docs/safety.md). A failing seed prints the command that runs it again."
    )
    @Option(help: "First seed.") var seed: UInt64 = 1
    @Option(help: "Number of seeds.") var count: Int = 1
    @Option(help: "Nodes (default: drawn from the seed).") var nodes: Int?
    @Option(help: "Seconds of chaos before the heal.") var chaos: Int?
    @Option(help: "Fault mix: election, groups, groups-none, storage or nemesis (default election, or what the flags say).")
    var mode: String?
    @Flag(help: "Same as --mode groups (or groups-none with --fencing none).") var groups = false
    @Option(help: "With --groups: fencing policy, required or none.") var fencing: String = "required"
    @Flag(help: "Same as --mode storage.") var storage = false
    @Flag(help: "Print every seed's result.") var verbose = false
    @Flag(help: "Print every node's log lines (for one seed).") var trace = false
    @Flag(help: "Print each seed's action fingerprint (equal on two builds: identical behaviour on that seed).")
    var fingerprint = false

    func run() throws {
        let chosen: SimulationMode
        if let m = mode {
            guard let v = SimulationMode(rawValue: m) else {
                throw ValidationError(
                    "--mode: expected one of \(SimulationMode.allCases.map(\.rawValue).joined(separator: ", ")), got \(m)")
            }
            chosen = v
        } else if storage {
            chosen = .storage
        } else if groups {
            chosen = fencing == "none" ? .groupsNoFencing : .groups
        } else {
            chosen = .election
        }
        var failed = 0
        var convergence: [Double] = []
        let start = Date()
        for s in seed..<(seed + UInt64(count)) {
            var params = chosen.parameters(seed: s)
            if let n = nodes { params.nodeCount = n }
            if let c = chaos { params.chaos = .seconds(c) }
            params.trace = trace
            params.fingerprint = fingerprint
            var sim = Simulation(params)
            let r = sim.run()
            if fingerprint { print("\(chosen.rawValue) \(s) \(String(r.fingerprint, radix: 16))") }
            if !r.ok { failed += 1 }
            if let c = r.convergence { convergence.append(c.milliseconds) }
            if verbose || !r.ok { print(r) }
        }
        convergence.sort()
        let med = convergence.isEmpty ? 0 : convergence[convergence.count / 2]
        print(
            "\(chosen.rawValue): \(count) seeds from \(seed): \(count - failed) passed, \(failed) failed; convergence after heal ms min/median/max "
                + "\(Int(convergence.first ?? 0))/\(Int(med))/\(Int(convergence.last ?? 0)); \(String(format: "%.1f", Date().timeIntervalSince(start))) s"
        )
        if failed > 0 { throw ExitCode(1) }
    }
}

struct ResourceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resource", abstract: "Work with resource agents.",
        subcommands: [Run.self, Info.self])

    /// Runs one agent operation exactly as the cluster will: same lookup, environment, timeout and status rules.
    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run AGENT [ARGS...] ACTION as the cluster would, and show how the result is read.",
            discussion: "Example: vigil resource run --timeout 20s dummy web1 status")
        @Option(help: "Kill the operation's process group after this long (e.g. 20s).") var timeout: String = "30s"
        @Option(name: .customLong("dir"), help: "Extra agent directory searched first (repeatable).") var dirs: [String] = []
        @Option(help: "Resource group name passed as VIGIL_GROUP (OCF: the instance is GROUP-TYPE, as in the cluster).")
        var group: String = "manual"
        @Option(help: "OCF_ROOT for ocf:PROVIDER:TYPE agents.") var ocfRoot: String = OCF.defaultRoot
        @Argument(help: "AGENT, its arguments, then start|stop|status (OCF: NAME=VALUE parameters; also monitor, validate-all).")
        var words: [String]

        func run() throws {
            // OCF agents: `monitor` is status; `validate-all` goes to the same check `vigil config check` runs.
            let isOCF = words.first?.hasPrefix("ocf:") == true
            if isOCF, words.count >= 2, words.last == "validate-all" {
                let r = ResourceSpec(agent: words[0], arguments: Array(words.dropFirst().dropLast()))
                guard r.ocf != nil else { throw ValidationError("expected ocf:PROVIDER:TYPE NAME=VALUE... validate-all") }
                let runner = ResourceRunner(
                    searchPath: AgentSearchPath(configured: dirs, installed: Self.bundledAgents(), ocfRoot: ocfRoot))
                let md: OCFMetadata
                do { md = try runner.ocfMetadata(r.agent) } catch { throw CLIError("\(error)") }
                let problems = md.problems(r)
                for p in problems { print("parameters: \(p)") }
                let v = validateAll(r, instance: "\(group)-\(r.ocf!.type)", group: group, metadata: md, runner: runner)
                print("validate-all on this node: \(v ?? "passed")")
                if !problems.isEmpty || v != nil { throw ExitCode(1) }
                return
            }
            guard words.count >= 2, let action = isOCF && words.last == "monitor" ? .status : ResourceAction(rawValue: words.last!) else {
                throw ValidationError("expected AGENT [ARGS...] start|stop|status (OCF agents: also monitor, validate-all)")
            }
            guard let limit = ConfigLoader.parseDuration(timeout) else { throw ValidationError("--timeout: expected a duration like 20s") }
            let spec = ResourceSpec(agent: words[0], arguments: Array(words.dropFirst().dropLast()))
            func isParameter(_ w: String) -> Bool { w.firstIndex(of: "=").map { OCF.isParameterName(String(w[..<$0])) } ?? false }
            if isOCF, let bad = spec.arguments.first(where: { !isParameter($0) }) {
                throw ValidationError("\(bad) is not a parameter; expected NAME=VALUE")
            }
            let runner = ResourceRunner(searchPath: AgentSearchPath(configured: dirs, installed: Self.bundledAgents(), ocfRoot: ocfRoot))
            var env = resourceEnvironment(group: group, resource: spec, action: action, node: "manual", cluster: "manual")
            if spec.ocf != nil {
                // As the agent runs it: parameters as OCF_RESKEY_*, the instance GROUP-TYPE.
                let op = ResourceOperation(
                    id: 0, group: group, resourceIndex: 0, resource: spec, action: action, timeout: limit, reason: .monitor)
                env.merge(op.environment) { a, _ in a }
                env.merge(runner.searchPath.ocfEnvironment) { _, b in b }
            }
            for (k, v) in Agent.passedThrough where env[k] == nil { env[k] = v }
            // The agent's default (RUN_DIR/resource-agents with the default run_dir), so state files are the cluster's.
            if spec.ocf != nil, env["HA_RSCTMP"] == nil { env["HA_RSCTMP"] = "/run/vigil/resource-agents" }
            let outcome: OperationOutcome
            do {
                outcome = try runner.run(spec, action, timeout: limit, environment: env) { print("  | \($0)") }
            } catch { throw CLIError("\(error)") }
            let how =
                outcome.timedOut
                ? "timed out after \(timeout), process group killed"
                : outcome.signal.map { "killed by signal \($0)" } ?? "exit \(outcome.exitCode ?? -1)"
            print("\(spec) \(action.rawValue): \(how) in \(Int(outcome.duration.milliseconds)) ms")
            if action == .status {
                print(
                    spec.ocf != nil
                        ? "read as: \(outcome.status(.ocf).rawValue) (OCF monitor)"
                        : "read as: \(outcome.status(.lsb).rawValue) (LSB exit code), \(outcome.status(.heartbeat).rawValue) (Heartbeat stdout)"
                )
            }
            // Read as the cluster reads it (OCF: a stop that says "not running" is stopped, start 2-6 fails for
            // this node).
            let convention: StatusConvention = spec.ocf != nil ? .ocf : .lsb
            let result = OperationResult(action: action, outcome: outcome, convention: convention)
            if action != .status {
                switch result {
                case .succeeded, .stopped: print("succeeded")
                case .failed: print("FAILED")
                case .failedHere: print("FAILED (a hard error: the cluster would not retry it on this node)")
                }
            }
            if result.failure != nil { throw ExitCode(1) }
        }

        /// resource-agents/ next to the binary's package (development) or the installed copy.
        /// The resource agents shipped with vigil: `resource-agents/` of the checkout it was built in, else
        /// `../lib/vigil/resource-agents` beside its bin directory (/usr/lib/… for the package, /usr/local/lib/…
        /// for a manual install).
        static func bundledAgents() -> String {
            let bin = selfExecutable().deletingLastPathComponent()
            var dir = bin
            for _ in 0..<5 {
                let candidate = dir.appendingPathComponent("resource-agents").path
                if FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path),
                    FileManager.default.fileExists(atPath: candidate)
                {
                    return candidate
                }
                dir = dir.deletingLastPathComponent()
            }
            let installed = bin.deletingLastPathComponent().appendingPathComponent("lib/vigil/resource-agents").path
            return FileManager.default.fileExists(atPath: installed) ? installed : "/usr/local/lib/vigil/resource-agents"
        }
    }
}

/// This machine's host name up to the first dot (Heartbeat's `uname -n` convention for node names).
func localHostname() -> String {
    var buf = [CChar](repeating: 0, count: 256)
    gethostname(&buf, buf.count)
    let full = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return String(full.split(separator: ".").first ?? Substring(full))
}

// Installed under Heartbeat's names (symlinks), vigil answers as hb_standby, hb_takeover or cl_status.
switch URL(fileURLWithPath: CommandLine.arguments[0]).lastPathComponent {
case "hb_standby": HBStandby.main(Array(CommandLine.arguments.dropFirst()))
case "hb_takeover": HBTakeover.main(Array(CommandLine.arguments.dropFirst()))
case "cl_status": CLStatus.main(Array(CommandLine.arguments.dropFirst()))
default: Vigil.main()
}
