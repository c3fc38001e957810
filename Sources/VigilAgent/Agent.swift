import Crypto
import Foundation
import Logging
import NIOCore
import NIOPosix
import VigilConfig
import VigilCore
import VigilResources
import VigilStorage
import VigilWire

/// How `vigil agent` was asked to run.
public struct AgentOptions: Sendable {
    public var config: ClusterConfig
    public var node: String
    public var socketPath: String
    public var stateDir: String
    public var logLevel: Logger.Level
    /// Skip the root-owner check on the key file (for unprivileged development only).
    public var allowNonRootKey = false
    /// Working directory of resource agents (VIGIL_RUN_DIR); default: the config's run_dir.
    public var runDir: String?
    /// The installed resource-agents directory (searched after the config's agent_dirs).
    public var installedAgents = "/usr/local/lib/vigil/resource-agents"
    /// The path of the vigil binary, passed to agents as VIGIL_BIN (the vm agent calls `vigil virt`).
    public var binary = "/usr/local/sbin/vigil"
    /// Start in standby (`vigil agent --standby`): the flag is persisted first, as `vigil standby` does.
    public var startInStandby = false
    /// Run from a Heartbeat configuration (`--heartbeat-config`): `vigil reload` is refused.
    public var fromHeartbeat = false
    /// Where a Heartbeat daemon of the imported ha.cf would multicast (interface, group, port): listened to
    /// for authentic Heartbeat packets, like its broadcasts.
    public var heartbeatMulticast: [(interface: String, group: String, port: Int)] = []
    /// Append every event (typed, `AgentEvent`) to this file as JSON lines (`--events-file`).
    public var eventsFile: String?

    public init(config: ClusterConfig, node: String, socketPath: String, stateDir: String, logLevel: Logger.Level) {
        self.config = config
        self.node = node
        self.socketPath = socketPath
        self.stateDir = stateDir
        self.logLevel = logLevel
    }
}

/// The running agent: the IO shell around one `ClusterNode`, and the driver of its services.
///
/// # Concurrency
/// One story: **everything mutable lives on one NIO event loop thread (`loop`)**, where this class runs the core
/// (`deliver`: `core.step(input, now:)`, then `execute` of the `Ready`) and calls into its services. Work that
/// blocks runs on threads the services own, and only its results come back, hopped onto `loop`:
/// - `Transport`: the UDP sockets are NIO channels on `loop` itself;
/// - `ControlServer`: the control socket, also a channel on `loop`;
/// - `SharedStorage`: one thread per device (libiscsi and AoE calls block up to io_timeout);
/// - `Operations`: a concurrent queue, one thread per running script (bounded by the operation's timeout);
/// - `PingNodes`: one thread with a raw ICMP socket; `Respawner`: one thread per respawned program;
/// - `Signals`: dispatch sources for SIGTERM and SIGINT.
/// None of them reads the core or another service; each gets callbacks that the driver runs on `loop`.
/// The class is `@unchecked Sendable` because of that confinement, not because of locks.
///
/// # Start and stop
/// `run` starts the services in the order of `services` (links first, signals last), then the first tick.
/// A controlled leave (the core's `leaveNow`, a second SIGTERM, `vigil leave`) stops them in the reverse
/// order: respawned programs and ping nodes at once; then, once the leave announcement had 20 ms on the wire
/// and every device wrote the leaving slot (or io_timeout passed), storage, the control socket and the links;
/// then `run` returns 0. A halt (the election record cannot be written) ends `run` with 70 at once.
public final class Agent: @unchecked Sendable {
    public static let version = "0.1.0"

    var options: AgentOptions
    let spec: ClusterSpec
    let key: SymmetricKey
    /// The Heartbeat authkeys behind the key, if any: they verify Heartbeat's own packets (a Heartbeat daemon
    /// still running on the LAN holds this node off running groups).
    let heartbeatAuthkeys: HeartbeatAuthkeys?
    let group: MultiThreadedEventLoopGroup
    let loop: EventLoop
    let logger: Logger
    let store: ElectionStore
    let startedAt: Instant
    /// CLOCK_BOOTTIME - CLOCK_MONOTONIC at the last tick: when it grows, the machine was suspended.
    var suspendedSeen: Duration = .zero
    var core: ClusterNode
    var timer: Scheduled<Void>?
    var realtime = false
    var memoryLocked = false
    var lastStatusLine = ""
    let runner: ResourceRunner
    /// The last live migration's figures, as the vm agent printed them.
    var lastMigration: String?
    /// The last resource operations that failed here (for status), oldest first.
    var recentFailures: [StatusReport.Failure] = []
    /// Recent events (membership, groups, operations, migrations, fencing) for `vigil drill` and post-mortems.
    lazy var journal = EventJournal(node: options.node)

    // MARK: Services (see `services` for their order)
    let transport: Transport
    var control: ControlServer?
    let storage: SharedStorage?
    let operations: Operations
    /// Heartbeat's ping nodes (`ping_nodes`), if configured.
    var pingNodes: PingNodes?
    /// Heartbeat's respawn programs (`respawn`).
    var respawner: Respawner?
    /// Alert scripts (`alerts`), if configured.
    var alerts: Alerts?
    let signals: Signals
    /// The services in start order (stopped in reverse); set by `run`.
    var services: [AgentService] = []

    // MARK: Lifecycle
    let exitPromise: EventLoopPromise<Int32>
    /// Set on `loop` once every service started: datagrams that arrive earlier are ignored, so the main
    /// thread's set-up never races the loop.
    var ready = false
    /// The controlled stop asked for (a second request leaves at once).
    var stopRequest: StopRequest?
    /// Leaving: no more inputs reach the core, the services are being stopped.
    var exiting = false
    /// The core halted (its record could not be persisted): no more actions run, and the agent exits with 70.
    var halted = false
    /// `exitPromise` was completed.
    var finished = false
    /// The core said to leave (a controlled stop is done or timed out): done once the step's actions ran.
    var leaveDue: LeaveCause?
    /// `vigil restart`: the leave leaves every group running and `run` returns `restartExitCode`.
    var restartRequested = false
    /// Leaving: storage cycles with the leaving slot that completed.
    var finalSlotsWritten = 0
    /// Leaving: the services that serve the leave, stopped once `leaveGateOpen`; nil when not waiting.
    var afterLeaveGate: (() -> Void)?
    var leaveMinimumPassed = false
    var leaveSlotDeadlinePassed = false

    // MARK: Requests waiting for their answer
    /// The number the next administrative request gets (`Input.request`, `Action.answer`).
    var nextRequestNumber: UInt64 = 1
    /// Control-socket clients waiting for the answer to their request, by number.
    var waitingForAnswer: [UInt64: (AdminReply) -> Void] = [:]

    public init(options: AgentOptions, logger: Logger) throws {
        self.options = options
        self.logger = logger
        // "auto" addresses: this node's come from its link interfaces; peers' are learned from their packets.
        var spec = options.config.spec
        // OCF resources run with their agents' advised timeouts where the group sets none.
        let (advised, unreadable) = ResourceRunner(searchPath: AgentSearchPath(ocfRoot: options.config.ocfRoot))
            .withAdvisedTimeouts(spec.groups)
        spec.groups = advised
        for line in unreadable { logger.warning("\(line): its resources use the group's timeouts") }
        if let i = spec.nodes.firstIndex(where: { $0.name == options.node }) {
            for (link, a) in spec.nodes[i].addresses.enumerated() where a == ClusterConfig.autoAddress {
                let interfaces = options.config.interfaces
                guard link < interfaces.count, let local = Self.interfaceIPv4(interfaces[link]).first else {
                    throw AgentError(
                        "link \(link): this node's address is \"auto\" but interface \(link < interfaces.count ? interfaces[link] : "?") has no IPv4 address"
                    )
                }
                spec.nodes[i].addresses[link] = local
            }
        }
        self.spec = spec
        guard spec.node(named: options.node) != nil else {
            throw AgentError(
                "this node is \"\(options.node)\" but \(options.config.file) has no [[node]] of that name; "
                    + "known nodes: \(spec.nodes.map(\.name).joined(separator: ", ")); pass --node NAME")
        }
        do {
            let loaded = try ClusterKey.load(
                path: options.config.keyFile, requireRootOwner: !options.allowNonRootKey,
                allowCRC: options.config.allowCRC)
            key = loaded.symmetricKey
            heartbeatAuthkeys = loaded.heartbeatAuthkeys
        } catch {
            throw AgentError("refusing to start: \(error)")
        }
        store = ElectionStore(stateDir: options.stateDir, cluster: spec.name, node: options.node)
        let persisted: ElectionRecord?
        do { persisted = try store.load() } catch {
            throw AgentError(
                "cannot read the election record \(store.path): \(error); remove it only if this node is not running elsewhere")
        }

        // Realtime and locked memory before any thread exists, so the event loop thread inherits them.
        (realtime, memoryLocked) = ProcessHardening.hardenProcess(options.config, logger: logger)

        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        loop = group.next()
        exitPromise = loop.makePromise(of: Int32.self)
        startedAt = Monotonic.now()
        suspendedSeen = Monotonic.suspended()
        // Incarnation: wall-clock microseconds at start, so a restart always carries a larger one.
        var tv = timeval()
        gettimeofday(&tv, nil)
        let clockIncarnation = UInt64(tv.tv_sec) * 1_000_000 + UInt64(tv.tv_usec)
        let incarnation: UInt64
        let previousIncarnation = store.previousIncarnation
        do {
            // Never smaller than the last run's, even if the clock was stepped back.
            incarnation = try store.nextIncarnation(clock: clockIncarnation)
        } catch {
            throw AgentError("cannot record the incarnation in \(store.path).incarnation: \(error)")
        }
        // Operations a killed predecessor left running (KillMode=process) are killed before anything is probed:
        // a slow start finishing after this run's probe would run the group here unseen.
        let ledger = OperationLedger(directory: store.path + ".operations")
        for orphan in ledger.reapOrphans() {
            logger.warning("killed an operation the previous run of the agent left running: pid \(orphan.pid) \(orphan.description)")
        }
        runner = ResourceRunner(
            searchPath: AgentSearchPath(
                configured: options.config.agentDirs, installed: options.installedAgents, ocfRoot: options.config.ocfRoot),
            ledger: ledger)
        if options.startInStandby {
            do { try store.saveStandby(true) } catch {
                throw AgentError("--standby: cannot record the standby flag in \(store.standbyPath): \(error)")
            }
        }
        let standby = store.standby
        if standby { logger.notice("this node is in standby (persisted by `vigil standby`; `vigil unstandby` ends it)") }
        core = ClusterNode(
            spec: spec, me: options.node, incarnation: incarnation, now: startedAt, persisted: persisted,
            standby: standby, previousIncarnation: previousIncarnation)
        let disabled = store.disabledGroups
        if !disabled.isEmpty {
            core.restoreDisabled(disabled)
            logger.notice("disabled groups (persisted by `vigil disable`): \(disabled.sorted().joined(separator: ", "))")
        }
        if previousIncarnation > 0, (persisted?.writer ?? 0) < previousIncarnation {
            logger.warning(
                "the election record \(store.path) is \(persisted == nil ? "missing" : "older than the last run") (state directory lost or restored): this node votes in no election for \(core.amnesiaGraceDescription)"
            )
        }
        // Written at every start with this run's incarnation: the next run can tell a restored record.
        do { try store.save(core.electionRecord) } catch {
            throw AgentError("cannot write the election record \(store.path): \(error)")
        }

        transport = Transport(
            group: group, spec: spec, me: options.node, config: options.config, key: key,
            watchHeartbeatDaemons: heartbeatAuthkeys != nil, heartbeatMulticast: options.heartbeatMulticast, logger: logger)
        operations = Operations(
            runner: runner, node: options.node, cluster: spec.name, runDir: options.runDir ?? options.config.runDir,
            binary: options.binary, configFile: options.config.file, loop: loop, logger: logger)
        if let settings = spec.storage {
            storage = SharedStorage(
                settings: settings, cluster: spec.name, node: options.node, nodes: spec.nodes.count, loop: loop, logger: logger)
        } else {
            storage = nil
        }
        signals = Signals(loop: loop)
        if let dir = options.config.alertsDir {
            let logger = logger
            alerts = Alerts(
                directory: dir, timeout: options.config.alertTimeout, runner: runner, cluster: spec.name, node: options.node,
                log: { logger.warning("\($0)") })
        }
    }

    /// Starts the services in order, then runs until a controlled leave or a fatal error. Returns the process
    /// exit code.
    public func run() throws -> Int32 {
        let me = spec.node(named: options.node)!
        let startTerm = core.term
        if let path = options.eventsFile { try journal.appendTo(path: path) }
        transport.onPacket = { [unowned self] in self.received($0) }
        transport.onEvent = { [unowned self] in self.journal.persist("agent", "", $0) }
        storage?.onCycle = { [unowned self] in self.storageCycleDone(device: $0, $1, $2) }
        operations.onOutput = { [unowned self] in self.operationOutput($0, $1) }
        operations.onDone = { [unowned self] in self.operationDone($0, $1) }
        signals.onStop = { [unowned self] in self.shutdown($0) }
        signals.onReload = { [unowned self] in self.logReload(self.reload(), by: "SIGHUP") }
        control = ControlServer(path: options.socketPath, group: group, agent: self)
        let targets = options.config.pingNodes
        let pingInterval = max(spec.timing.interval, .milliseconds(100))
        let pingDeadtime = options.config.pingDeadtime ?? spec.timing.deadtime
        if !targets.isEmpty {
            pingNodes = try PingNodes(targets: targets, interval: pingInterval, deadtime: pingDeadtime) { [unowned self] reachable in
                self.loop.execute { self.connectivity(reachable: reachable, total: targets.count) }
            }
        }
        if !options.config.respawn.isEmpty {
            respawner = Respawner(lines: options.config.respawn, logger: logger)
            respawner!.onEnded = { [unowned self] event in self.loop.execute { self.journal.persist("respawn", "", event) } }
        }
        // Start order: links and the control socket first (the core's first step may send), signals last (a
        // SIGTERM before that ends the process at once, as before the agent existed).
        var order: [AgentService] = [transport, control!]
        if let storage { order.append(storage) }
        order.append(operations)
        if let alerts { order.append(alerts) }
        if let pingNodes { order.append(pingNodes) }
        if let respawner { order.append(respawner) }
        order.append(signals)
        services = order
        for service in services { try service.start() }
        if spec.storage != nil, spec.fencing == .none {
            logger.warning("fencing = \"none\": shared storage is monitored, but nodes that vanish are ASSUMED stopped (unsafe)")
        }
        if !targets.isEmpty {
            logger.notice(
                "ping nodes \(targets.joined(separator: ", ")): pinged every \(pingInterval.compactDescription), unreachable after \(pingDeadtime.compactDescription); groups run where the most are reachable"
            )
        }
        logger.notice(
            "vigil \(Self.version) agent for node \(me.name) of cluster \(spec.name): \(me.addresses.count) link(s) on port \(options.config.port), interval \(spec.timing.interval.compactDescription), deadtime \(spec.timing.deadtime.compactDescription), quorum \(spec.quorumVotes) of \(spec.totalVotes) votes, term \(startTerm)"
        )
        loop.execute {
            self.journal.persist("agent", "started", .started(version: Self.version, pid: getpid()))
            self.ready = true
            self.onTick()
        }
        if let wd = Systemd.watchdogInterval() {
            // Petted from the event loop itself: a stuck loop stops the petting and systemd restarts us.
            loop.scheduleRepeatedTask(initialDelay: .zero, delay: .nanoseconds(wd.nanoseconds / 2)) { _ in
                Systemd.notify("WATCHDOG=1")
            }
        }
        Systemd.notify("READY=1\nSTATUS=starting: waiting for peers")
        let code = try exitPromise.futureResult.wait()
        try? group.syncShutdownGracefully()
        return code
    }

    // MARK: - Inputs (all on `loop`)

    /// Steps the core with one input and carries out its `Ready`.
    func deliver(_ input: ClusterNode.Input) {
        let now = Monotonic.now()
        execute(core.step(input, now: now))
        reschedule(now: now)
    }

    func onTick() {
        let now = Monotonic.now()
        let suspended = Monotonic.suspended()
        if suspended - suspendedSeen >= .milliseconds(10) {
            // Peers may have taken this node's groups over meanwhile: the core sees the whole silence now.
            logger.error(
                "this machine was suspended for \(String(format: "%.1f", Double((suspended - suspendedSeen).nanoseconds) / 1e9)) s: its groups may have been started elsewhere meanwhile; suspend is outside Vigil's guarantee (docs/safety.md): mask sleep.target on cluster nodes"
            )
        }
        suspendedSeen = suspended
        execute(core.step(.tick, now: now))
        reschedule(now: now)
    }

    func received(_ packet: ReceivedPacket) {
        guard ready else { return }
        let now = Monotonic.now()
        switch packet {
        case let .message(msg, link, source):
            let accepted = core.counters.accepted
            let ready = core.step(.message(msg, link: link, from: Self.packetSource(source)), now: now)
            // Learned only from a packet the core accepted (authentic, not a replay).
            if transport.learnsAddresses, core.counters.accepted > accepted { transport.learn(msg.sender, link: link, from: source) }
            execute(ready)
        case let .refused(reason, raw, source):
            execute(core.step(.dropped(reason, from: Self.packetSource(source)), now: now))
            if reason == .heartbeatPacket { heartbeatPacket(raw, source: Self.sourceText(source), now: now) }
        case let .heartbeatDaemon(raw, source):
            let src = Self.sourceText(source)
            execute(core.step(.dropped(.heartbeatPacket, from: .text(src)), now: now))
            heartbeatPacket(raw, source: src, now: now)
        }
        reschedule(now: now)
    }

    static func sourceText(_ source: SocketAddress) -> String {
        source.ipAddress.map { "\($0):\(source.port ?? 0)" } ?? source.description
    }

    static func packetSource(_ source: SocketAddress) -> PacketSource { PacketSource { sourceText(source) } }

    /// A Linux-HA Heartbeat packet: if it is signed with this cluster's authkeys by a configured node, Heartbeat
    /// runs there, and the core holds this node off its groups. Anything else was only counted.
    func heartbeatPacket(_ raw: [UInt8], source: String, now: Instant) {
        guard let a = heartbeatAuthkeys, let sender = a.verifyHeartbeatPacket(raw)?.lowercased(),
            sender != options.node, spec.node(named: sender) != nil
        else { return }
        execute(core.step(.heartbeatDaemon(node: sender, source: source), now: now))
    }

    func storageCycleDone(device: Int, _ cycle: StorageCycle, _ result: StorageCycleResult) {
        guard !exiting else {
            if cycle.slot.leaving {
                finalSlotsWritten += 1
                afterLeaveGate?()
            }
            return
        }
        deliver(.storageCycleDone(device: device, result))
    }

    func connectivity(reachable: Int, total: Int) {
        guard !exiting else { return }
        journal.record("connectivity", "\(reachable) of \(total) ping nodes reachable")
        deliver(.connectivity(reachable: reachable, total: total))
    }

    func operationOutput(_ op: ResourceOperation, _ line: String) {
        if line.hasPrefix("VIGIL-MIGRATION ") {
            let figures = String(line.dropFirst(16))
            lastMigration = figures
            alerts?.fire(AlertEnvironment.migration(figures))
            journal.record("migration", figures)
        } else {
            journal.record("output", "[\(op.group)/\(op.resource) \(op.action.rawValue)] \(line)")
        }
    }

    func operationDone(_ op: ResourceOperation, _ result: OperationResult) {
        if let why = result.failure {
            recentFailures.append(
                .init(wallNs: EventJournal.wallNow(), group: op.group, resource: "\(op.resource)", action: op.action.rawValue, reason: why))
            if recentFailures.count > StatusReport.Failure.kept { recentFailures.removeFirst() }
        }
        if op.action != .status {
            journal.record(
                "operation", "\(op.group)/\(op.resource) \(op.action.rawValue) \(result)",
                .operationEnded(group: op.group, resource: "\(op.resource)", action: op.action, result: result))
        }
        deliver(.operationDone(id: op.id, result))
    }

    /// How long a control-socket client waits for the answer of the node that carries its request out.
    var answerTimeout: Duration { max(.seconds(2), spec.timing.deadtime * 2) }

    /// An administrative request from the control socket: `reply` gets the answer (on the loop), or
    /// `.noAnswer` after `answerTimeout`.
    func adminRequest(_ r: AdminRequest, reply: @escaping (AdminReply) -> Void) {
        guard !exiting else {  // leaving: nothing more is carried out or forwarded
            reply(.error("this agent is leaving the cluster"))
            return
        }
        journal.record("request", "\(r) (control socket)")
        let number = nextRequestNumber
        nextRequestNumber += 1
        waitingForAnswer[number] = reply
        let timeout = answerTimeout
        loop.scheduleTask(in: .nanoseconds(timeout.nanoseconds)) {
            guard let waiting = self.waitingForAnswer.removeValue(forKey: number) else { return }
            let handler = r.handledBy.isEmpty ? self.core.coordinator : r.handledBy
            waiting(.noAnswer(handler: handler, waitedMs: Int(timeout.milliseconds)))
        }
        deliver(.request(r, number: number, from: options.node))
    }

    func reschedule(now: Instant) {
        guard !exiting else { return }
        timer?.cancel()
        timer = loop.scheduleTask(deadline: Monotonic.deadline(core.nextWakeup(after: now))) { self.onTick() }
    }

    // MARK: - Outputs

    /// Executes one step's output: the election record first (a failed write goes back to the core as
    /// `.persistFailed`, and none of the step's actions run), then the actions in order.
    func execute(_ ready: Ready) {
        guard !halted else { return }
        if let record = ready.persist {
            do {
                try store.save(record)
            } catch {
                execute(core.step(.persistFailed("\(error)"), now: Monotonic.now()))
                return
            }
        }
        execute(ready.actions)
    }

    /// Executes actions in order (after their step's record is durable).
    func execute(_ actions: [Action]) {
        for action in actions {
            switch action {
            case let .send(msg, to, link):
                transport.send(msg, to: to, link: link)
            case let .leaveNow(cause):
                leaveDue = cause  // after this step's actions
            case let .answer(number, a):
                // The first copy (a reply comes on every link); later ones find nobody waiting.
                waitingForAnswer.removeValue(forKey: number)?(.answered(a))
            case let .halt(reason):
                // Nothing more leaves this node; `run` returns 70 and systemd restarts the agent from the record
                // on disk.
                halted = true
                exiting = true
                logger.critical("\(reason): exiting without sending anything more")
                Systemd.notify("STATUS=fatal: \(reason)")
                finish(code: 70)
                return
            case let .log(level, text):
                logger.log(level: level.swiftLog, "\(text)")
            case let .event(e):
                if case let .standbyChanged(on) = e { persistStandby(on) }
                if case let .groupDisabled(g, off) = e { persistDisabled(g, off) }
                if let alerts, let fields = AlertEnvironment.of(e) { alerts.fire(fields) }
                journal.record(e)
                updateStatusLine()
            case let .runOperation(op):
                if op.action != .status {
                    journal.record(
                        "operation",
                        "\(op.group)/\(op.resource) \(op.action.rawValue) begins (\(op.reason)\(op.peer.isEmpty ? "" : ", peer \(op.peer)"))",
                        .operationBegan(group: op.group, resource: "\(op.resource)", action: op.action, reason: op.reason))
                }
                operations.run(op, peerAddress: transport.firstAddress(of: op.peer))
            case let .storageCycle(c):
                storage?.submit(c)
            case let .selfFence(mode, reason):
                journal.record("fencing", "self-fence (\(mode.rawValue)): \(reason)")
                selfFence(mode, reason: reason)
            }
        }
        if let w = storage?.watchdog, core.watchdogHealthy { w.feed() }
        transport.flush()
        if let cause = leaveDue, !exiting {
            leaveDue = nil
            leave(reason: stopRequest.map { "\($0.rawValue) (\(cause))" } ?? cause.description, cause: cause)
        }
    }

    /// Ends `run` with `code` (once: a halt during a leave keeps the first).
    func finish(code: Int32) {
        guard !finished else { return }
        finished = true
        journal.persist("agent", "exit \(code)", .exited(code: code))
        exitPromise.succeed(code)
    }

    func persistDisabled(_ group: String, _ off: Bool) {
        var set = store.disabledGroups
        if off { set.insert(group) } else { set.remove(group) }
        do { try store.saveDisabled(set) } catch {
            logger.error(
                "cannot record \(group) as \(off ? "disabled" : "enabled") in \(store.disabledPath): \(error); it will not survive a restart"
            )
        }
    }

    func persistStandby(_ on: Bool) {
        do { try store.saveStandby(on) } catch {
            logger.error("cannot record standby \(on ? "on" : "off") in \(store.standbyPath): \(error); it will not survive a restart")
        }
    }

    /// Self-fence: reboot at once (sysrq), or only record it (the core stops every group with reason `fence`).
    func selfFence(_ mode: SelfFenceMode, reason: String) {
        logger.critical("SELF-FENCE (\(mode.rawValue)): \(reason)")
        Systemd.notify("STATUS=FENCED: \(reason)")
        guard mode == .reboot else { return }
        sync()
        let fd = open("/proc/sysrq-trigger", O_WRONLY)
        if fd >= 0, write(fd, "b", 1) == 1 { close(fd); return }
        logger.critical("cannot reboot through /proc/sysrq-trigger (\(String(cString: strerror(errno)))): stopping every resource instead")
        if fd >= 0 { close(fd) }
    }

    /// The agent's own HA_* and OCF_* variables (HA_RSCTMP, HA_LOGFACILITY, OCF_RESKEY_...), passed on to
    /// resource scripts as Heartbeat passes its environment on.
    public static let passedThrough: [String: String] = ProcessInfo.processInfo.environment.filter {
        $0.key.hasPrefix("HA_") || $0.key.hasPrefix("OCF_")
    }

    /// The IPv4 addresses of a network interface, in the kernel's order (the primary address first).
    public static func interfaceIPv4(_ name: String) -> [String] { Transport.interfaceIPv4(name) }

    /// The dotted quad of an AF_INET socket address (nil for any other family).
    public static func ipv4Text(_ sa: UnsafePointer<sockaddr>) -> String? { Transport.ipv4Text(sa) }

    /// Fills in this node's name where a request line leaves it out ("standby" → "standby n1").
    func completeRequest(_ line: String) -> String {
        var w = line.split(separator: " ").map(String.init)
        switch (w.first ?? "", w.count) {
        case ("standby", 1), ("unstandby", 1), ("cleanup", 2): w.append(options.node)
        case ("takeover", 1): w += [options.node, "home"]
        case ("takeover", 2) where w[1] == "home" || w[1] == "all": w.insert(options.node, at: 1)
        default: break
        }
        return w.joined(separator: " ")
    }

    func updateStatusLine() {
        let c = core.coordinator.isEmpty ? "none" : core.coordinator
        let line =
            "term \(core.term), coordinator \(c), \(core.quorate ? "quorate" : "NO QUORUM"), \(core.members.count)/\(spec.nodes.count) members"
        guard line != lastStatusLine else { return }
        lastStatusLine = line
        Systemd.notify("STATUS=\(line)")
    }

    // MARK: - Control

    /// The status report, with the agent's own facts. Must run on `loop`.
    func statusReport() -> StatusReport {
        let now = Monotonic.now()
        var r = core.status(now: now)
        r.agent = .init(
            pid: getpid(), version: Self.version, uptimeMs: (now - startedAt).milliseconds,
            realtime: realtime, memoryLocked: memoryLocked,
            interval: spec.timing.interval.compactDescription,
            deadtime: spec.timing.deadtime.compactDescription)
        r.lastMigration = lastMigration
        r.recentFailures = recentFailures
        if let p = pingNodes {
            let up = p.reachable.withLock { $0 }
            r.pingNodes = zip(p.targets, up).map { StatusReport.PingNode(address: $0, reachable: $1) }
        }
        let interfaces = options.config.interfaces
        for (ni, n) in r.nodes.enumerated() {
            for li in n.links.indices {
                if li < interfaces.count { r.nodes[ni].links[li].interface = interfaces[li] }
                if n.links[li].address == ClusterConfig.autoAddress, let learned = transport.learnedAddress(of: n.name, link: li) {
                    r.nodes[ni].links[li].address = learned
                }
            }
        }
        return r
    }

    // MARK: - Leaving

    /// Controlled stop (SIGTERM, `vigil leave`, the init script, systemd): hand this node's groups to peers,
    /// then leave. Gives up waiting after `shutdown_timeout`.
    func shutdown(_ request: StopRequest) {
        guard !exiting else { return }
        let reason = request.rawValue
        guard stopRequest == nil else {
            logger.notice("\(reason) again: leaving now without waiting for the handover")
            leave(reason: "\(stopRequest!.rawValue) (\(reason))", cause: nil)
            return
        }
        stopRequest = request
        journal.persist("agent", "controlled stop (\(reason))", .stopRequested(request))
        let timeout = options.config.shutdownTimeout
        logger.notice("controlled stop (\(reason)): handing groups over before leaving (at most \(timeout.compactDescription))")
        Systemd.notify("STOPPING=1\nSTATUS=handing groups over")
        // The core says when to leave (`leaveNow`): once the groups are handed over, or after the timeout.
        deliver(.shutdown(timeout: timeout))
    }

    /// `run`'s result after `vigil restart`: the caller runs the agent's binary again in this process (same PID,
    /// same arguments, so an upgraded binary takes over).
    public static let restartExitCode: Int32 = 75

    /// `vigil restart`: leave at once without handing anything over, telling the peers this agent restarts;
    /// every group keeps running here. `run` then returns `restartExitCode`.
    func restart() {
        guard !exiting else { return }
        restartRequested = true
        leave(reason: "restart (vigil restart): every group stays where it runs", cause: nil)
    }

    /// Controlled leave: announce it on every link, then stop the services in reverse order (see the type's
    /// documentation), then end `run` with 0 (`restartExitCode` for a restart).
    func leave(reason: String, cause: LeaveCause?) {
        guard !exiting else { return }
        // Set first: the end of `execute` finishes a shutdown whose groups are handed over, which would call
        // this again (once made an unbounded recursion and a crash at every controlled stop).
        exiting = true
        logger.notice("controlled leave: \(reason)")
        journal.persist("agent", "controlled leave: \(reason)", .leaving(request: stopRequest, cause: cause))
        Systemd.notify("STOPPING=1\nSTATUS=leaving the cluster")
        execute(core.step(restartRequested ? .restart : .leave, now: Monotonic.now()))
        if let w = storage?.watchdog, restartRequested {
            // The peers keep this node's groups assigned here and wait for the next agent; nobody relies on this
            // machine resetting itself meanwhile (a leaving node's still slot is never taken as fenced).
            w.disarm()
            logger.notice("restart: watchdog disarmed until the next agent arms it")
        } else if let w = storage?.watchdog {
            // Disarmed only when nothing may run here: leaving with a group active (no quorum with
            // no_quorum = freeze, a shutdown_timeout, a second SIGTERM) keeps it armed, so the machine resets
            // after watchdog_timeout, as msgwait assumes, should the others not learn that this node left.
            // (A handed-over group counts as running: its guest may still run here until the target migrated it.)
            if core.nothingMayRunHere {
                w.disarm()
            } else {
                logger.critical(
                    "leaving with groups not stopped (\(core.localPhases.filter { $0.value != .stopped }.keys.sorted().joined(separator: ", "))): the watchdog stays armed and will reset this machine"
                )
            }
        }
        timer?.cancel()
        // Give the kernel a moment to put the leave packets on the wire before the sockets close, and the
        // storage threads (bounded by io_timeout) the time to write the leaving slot.
        let now = Monotonic.now()
        let earliest = now + .milliseconds(20)
        let slotDeadline = now + (spec.storage?.ioTimeout ?? .zero)
        let devices = storage?.workers.count ?? 0
        leaveMinimumPassed = false
        leaveSlotDeadlinePassed = devices == 0
        let (early, late) = (services.reversed().filter { !$0.servesTheLeave }, services.reversed().filter(\.servesTheLeave))
        stopInOrder(early[...]).whenComplete { _ in
            self.afterLeaveGate = { [unowned self] in
                guard self.afterLeaveGate != nil, self.leaveMinimumPassed,
                    self.leaveSlotDeadlinePassed || self.finalSlotsWritten >= devices
                else { return }
                self.afterLeaveGate = nil
                self.stopInOrder(late[...]).whenComplete { _ in self.finish(code: self.restartRequested ? Self.restartExitCode : 0) }
            }
            self.afterLeaveGate?()
        }
        loop.scheduleTask(deadline: Monotonic.deadline(earliest)) {
            self.leaveMinimumPassed = true
            self.afterLeaveGate?()
        }
        if devices > 0 {
            loop.scheduleTask(deadline: Monotonic.deadline(max(slotDeadline, earliest))) {
                self.leaveSlotDeadlinePassed = true
                self.afterLeaveGate?()
            }
        }
    }

    /// Stops `services` one after the other (each once the one before it has stopped).
    func stopInOrder(_ services: ArraySlice<AgentService>) -> EventLoopFuture<Void> {
        guard let first = services.first else { return loop.makeSucceededVoidFuture() }
        logger.debug("stopping \(first.name)")
        return first.stop(on: loop).flatMap { self.stopInOrder(services.dropFirst()) }
    }
}

extension VigilCore.LogLevel {
    var swiftLog: Logger.Level {
        switch self {
        case .debug: .debug
        case .info: .info
        case .notice: .notice
        case .warning: .warning
        case .error: .error
        }
    }
}
