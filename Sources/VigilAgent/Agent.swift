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
    /// Where a Heartbeat daemon of the imported ha.cf would multicast (interface, group, port): listened to
    /// for authentic Heartbeat packets, like its broadcasts.
    public var heartbeatMulticast: [(interface: String, group: String, port: Int)] = []

    public init(config: ClusterConfig, node: String, socketPath: String, stateDir: String, logLevel: Logger.Level) {
        self.config = config
        self.node = node
        self.socketPath = socketPath
        self.stateDir = stateDir
        self.logLevel = logLevel
    }
}

/// The running agent: the IO shell around one `ClusterNode`.
///
/// Everything mutable is confined to a single NIO event loop thread (`loop`): UDP reads, timers, control
/// requests and signals are all hopped onto it, so the core is driven strictly sequentially.
public final class Agent: @unchecked Sendable {
    public static let version = "0.1.0"

    let options: AgentOptions
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
    let clusterID: UInt32
    var core: ClusterNode
    var channels: [Channel] = []
    /// transport = "multicast": per link, the group's address and the socket that receives it.
    var groupAddresses: [SocketAddress] = []
    var multicastChannels: [Channel] = []
    /// The wildcard socket that notices Heartbeat daemons' broadcasts (with Heartbeat's authkeys only).
    var heartbeatListener: Channel?
    /// Sockets joined to ha.cf's mcast groups, for the same purpose.
    var heartbeatMulticastListeners: [Channel] = []
    /// Per peer and link, where its packets go (nil: an "auto" address not learned yet).
    var peerAddresses: [String: [SocketAddress?]] = [:]
    /// The peers' "auto" addresses, learned from their authenticated packets: (node, link) pairs to learn.
    var learnedLinks: Set<String> = []
    var timer: Scheduled<Void>?
    var control: ControlServer?
    var realtime = false
    var memoryLocked = false
    var lastStatusLine = ""
    let runner: ResourceRunner
    /// Resource operations run here, off the event loop (each blocks a thread until its script exits).
    let operationQueue = DispatchQueue(label: "vigil.resource-operations", attributes: .concurrent)
    var shutdownDeadline: Instant?
    var shutdownReason = ""
    /// The last live migration's figures, as the vm agent printed them.
    var lastMigration: String?
    let exitPromise: EventLoopPromise<Int32>
    var exiting = false
    /// The core halted (its record could not be persisted): no more actions run, and the agent exits with 70.
    var halted = false
    /// `exitPromise` was completed.
    var finished = false
    /// The core said to leave (a controlled stop is done or timed out): done once the step's actions ran.
    var leaveDue: LeaveCause?
    /// Leaving: closes the sockets and ends `run` once the leave packets had 20 ms to go out and the leaving
    /// slot is written on every device (or io_timeout passed). Called by those timers and by the storage
    /// callback.
    var closeAfterLeave: (() -> Void)?
    var leaveMinimumPassed = false
    var leaveSlotDeadlinePassed = false
    /// Set on `loop` once every socket is bound: datagrams that arrive earlier are ignored, so the main
    /// thread's set-up never races the loop.
    var ready = false
    /// One thread per shared storage device (`[storage]`), running the core's storage cycles.
    var storageWorkers: [StorageWorker] = []
    /// The watchdog device (`[storage] watchdog`), fed while the core says this node is healthy.
    var watchdog: Watchdog?
    /// Leaving: storage cycles with the `leaving` slot that completed (the agent exits once all have, or io_timeout).
    var finalSlotsWritten = 0
    /// Heartbeat's ping nodes (`ping_nodes`), if configured.
    var pingNodes: PingNodes?
    /// Heartbeat's respawn programs (`respawn`).
    var respawner: Respawner?
    /// Recent events (membership, groups, operations, migrations, fencing) for `vigil drill` and post-mortems.
    lazy var journal = EventJournal(node: options.node)

    public init(options: AgentOptions, logger: Logger) throws {
        self.options = options
        self.logger = logger
        // "auto" addresses: this node's come from its link interfaces; peers' are learned from their packets.
        var spec = options.config.spec
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
        clusterID = spec.clusterID
        store = ElectionStore(stateDir: options.stateDir, cluster: spec.name, node: options.node)
        let persisted: ElectionRecord?
        do { persisted = try store.load() } catch {
            throw AgentError(
                "cannot read the election record \(store.path): \(error); remove it only if this node is not running elsewhere")
        }

        // Realtime and locked memory before any thread exists, so the event loop thread inherits them.
        (realtime, memoryLocked) = Self.hardenProcess(options.config, logger: logger)

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
            searchPath: AgentSearchPath(configured: options.config.agentDirs, installed: options.installedAgents),
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
        if previousIncarnation > 0, (persisted?.writer ?? 0) < previousIncarnation {
            logger.warning(
                "the election record \(store.path) is \(persisted == nil ? "missing" : "older than the last run") (state directory lost or restored): this node votes in no election for \(core.amnesiaGraceDescription)"
            )
        }
        // Written at every start with this run's incarnation: the next run can tell a restored record.
        do { try store.save(core.electionRecord) } catch {
            throw AgentError("cannot write the election record \(store.path): \(error)")
        }
    }

    /// Binds the links and the control socket, then runs until a controlled leave or a fatal error.
    /// Returns the process exit code.
    public func run() throws -> Int32 {
        let me = spec.node(named: options.node)!
        let startTerm = core.term
        for node in spec.nodes where node.name != me.name {
            peerAddresses[node.name] = try node.addresses.enumerated().map { link, a in
                if a == ClusterConfig.autoAddress {
                    learnedLinks.insert("\(node.name)/\(link)")
                    return nil
                }
                return try SocketAddress(ipAddress: a, port: options.config.port)
            }
        }
        for (link, address) in me.addresses.enumerated() {
            let handler = DatagramInbound(agent: self, link: link)
            let channel = try DatagramBootstrap(group: group)
                .channelOption(.socketOption(.so_reuseaddr), value: 1)
                .channelInitializer { ch in
                    ch.eventLoop.makeCompletedFuture { try ch.pipeline.syncOperations.addHandler(handler) }
                }
                .bind(host: address, port: options.config.port).wait()
            channels.append(channel)
            if spec.transport == .multicast {
                try joinMulticast(link: link, localAddress: address, sender: channel)
            }
        }
        if heartbeatAuthkeys != nil { listenForHeartbeatDaemons() }
        control = try ControlServer.start(path: options.socketPath, group: group, agent: self)
        try startStorage()
        try startPingNodes()
        if !options.config.respawn.isEmpty {
            respawner = Respawner(lines: options.config.respawn, logger: logger)
            respawner!.startAll()
        }
        logger.notice(
            "vigil \(Self.version) agent for node \(me.name) of cluster \(spec.name): \(me.addresses.count) link(s) on port \(options.config.port), interval \(spec.timing.interval.compactDescription), deadtime \(spec.timing.deadtime.compactDescription), quorum \(spec.quorumVotes) of \(spec.totalVotes) votes, term \(startTerm)"
        )
        installSignalHandlers()
        loop.execute {
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

    /// Multicast on one link: the unicast socket also sends to the group (IP_MULTICAST_IF = the link's
    /// address, TTL 1, no loopback); a second socket bound to the group receives, joined on the link's
    /// interface only. Every link has its own group, so copies can never cross links.
    func joinMulticast(link: Int, localAddress: String, sender: Channel) throws {
        guard let provider = sender as? SocketOptionProvider else { throw AgentError("multicast: socket options unavailable") }
        var ifAddr = in_addr()
        guard inet_pton(AF_INET, localAddress, &ifAddr) == 1 else {
            throw AgentError("multicast needs IPv4 link addresses; link \(link) is \(localAddress)")
        }
        try provider.setIPMulticastIF(ifAddr).wait()
        try provider.setIPMulticastTTL(1).wait()
        try provider.setIPMulticastLoop(0).wait()
        let groupIP = options.config.multicastGroup(link: link)
        let group = try SocketAddress(ipAddress: groupIP, port: options.config.port)
        guard let device = try System.enumerateDevices().first(where: { $0.address?.ipAddress == localAddress }) else {
            throw AgentError("multicast: no network interface has this node's link \(link) address \(localAddress)")
        }
        let handler = DatagramInbound(agent: self, link: link)
        let receiver = try DatagramBootstrap(group: self.group)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelInitializer { ch in
                ch.eventLoop.makeCompletedFuture { try ch.pipeline.syncOperations.addHandler(handler) }
            }
            .bind(host: groupIP, port: options.config.port).wait()
        guard let multicast = receiver as? MulticastChannel else { throw AgentError("multicast: channel cannot join groups") }
        try multicast.joinGroup(group, device: device).wait()
        groupAddresses.append(group)
        multicastChannels.append(receiver)
        logger.info("link \(link): heartbeats by multicast to \(groupIP) on \(device.name)")
    }

    // MARK: - Process hardening

    static func hardenProcess(_ c: ClusterConfig, logger: Logger) -> (Bool, Bool) {
        var rt = false
        var locked = false
        if c.realtime {
            var param = sched_param(sched_priority: Int32(c.realtimePriority))
            if sched_setscheduler(0, SCHED_FIFO, &param) == 0 {
                rt = true
            } else {
                logger.warning(
                    "realtime scheduling (SCHED_FIFO \(c.realtimePriority)) refused: \(String(cString: strerror(errno))); heartbeats may be late under CPU load"
                )
            }
        }
        if c.lockMemory {
            // With a finite RLIMIT_MEMLOCK and no CAP_IPC_LOCK, MCL_FUTURE would make allocations fail once the
            // limit is reached: raise the limit first, and lock only current pages if that is refused.
            var unlimited = rlimit(rlim_cur: rlim_t.max, rlim_max: rlim_t.max)  // RLIM_INFINITY
            let future = setrlimit(__rlimit_resource_t(__RLIMIT_MEMLOCK.rawValue), &unlimited) == 0 || hasCapability(14)
            if !future {
                logger.warning("RLIMIT_MEMLOCK is finite and cannot be raised: locking current memory only (set LimitMEMLOCK=infinity)")
            }
            // MCL_ONFAULT (4): lock pages as they are touched instead of populating every mapping (thread stacks!).
            if mlockall(MCL_CURRENT | (future ? MCL_FUTURE | 4 : 0)) == 0 {
                locked = true
            } else {
                logger.warning(
                    "locking memory (mlockall) refused: \(String(cString: strerror(errno))); the agent may be paged out under memory pressure"
                )
            }
        }
        return (rt, locked)
    }

    /// Whether this process holds capability `bit` (CAP_IPC_LOCK is 14), read from /proc/self/status.
    static func hasCapability(_ bit: Int) -> Bool {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("CapEff:") }),
            let value = UInt64(line.dropFirst(7).trimmingCharacters(in: .whitespaces), radix: 16)
        else { return false }
        return value >> bit & 1 == 1
    }

    // MARK: - Events (all on `loop`)

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

    /// Starts one storage thread per device, and opens the watchdog device if one is configured.
    func startStorage() throws {
        guard let s = spec.storage else { return }
        let initiator = s.initiator ?? "iqn.2026-11.org.vigil:\(spec.name).\(options.node)"
        for (d, text) in s.devices.enumerated() {
            let url = try StorageURL.parse(text)
            storageWorkers.append(
                StorageWorker(
                    url: url, initiator: initiator, timeout: s.ioTimeout, cluster: spec.name,
                    nodes: spec.nodes.count, clock: { Monotonic.now() }
                ) { [weak self] cycle, result in
                    guard let self else { return }
                    self.loop.execute {
                        guard !self.exiting else {
                            if cycle.slot.leaving {
                                self.finalSlotsWritten += 1
                                self.closeAfterLeave?()
                            }
                            return
                        }
                        let now = Monotonic.now()
                        self.execute(self.core.step(.storageCycleDone(device: d, result), now: now))
                        self.reschedule(now: now)
                    }
                })
        }
        logger.notice(
            "shared storage: \(s.devices.joined(separator: ", ")); disk heartbeat every \(s.interval.compactDescription), io_timeout \(s.ioTimeout.compactDescription), watchdog_timeout \(s.watchdogTimeout.compactDescription), msgwait \(s.msgwait.compactDescription), self_fence \(s.selfFence.rawValue)"
        )
        if let path = s.watchdogDevice {
            watchdog = try Watchdog(path: path, timeout: s.watchdogTimeout)
            logger.notice("watchdog \(path) armed with \(watchdog!.seconds) s: a hung agent resets this machine")
        }
        if spec.fencing == .none {
            logger.warning("fencing = \"none\": shared storage is monitored, but nodes that vanish are ASSUMED stopped (unsafe)")
        }
    }

    /// Pings the ping nodes on a thread of their own; the reachable count goes to the core.
    func startPingNodes() throws {
        let targets = options.config.pingNodes
        guard !targets.isEmpty else { return }
        let interval = max(spec.timing.interval, .milliseconds(100))
        let dead = options.config.pingDeadtime ?? spec.timing.deadtime
        pingNodes = try PingNodes(targets: targets, interval: interval, deadtime: dead) { [weak self] reachable in
            guard let self else { return }
            self.loop.execute {
                guard !self.exiting else { return }
                self.journal.record("connectivity", "\(reachable) of \(targets.count) ping nodes reachable")
                let now = Monotonic.now()
                self.execute(self.core.step(.connectivity(reachable: reachable, total: targets.count), now: now))
                self.reschedule(now: now)
            }
        }
        pingNodes!.start()
        logger.notice(
            "ping nodes \(targets.joined(separator: ", ")): pinged every \(interval.compactDescription), unreachable after \(dead.compactDescription); groups run where the most are reachable"
        )
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

    func onDatagram(_ bytes: ByteBuffer, from source: SocketAddress, link: Int) {
        guard ready else { return }
        let now = Monotonic.now()
        func src() -> String { source.ipAddress.map { "\($0):\(source.port ?? 0)" } ?? source.description }
        let from = PacketSource { [source] in source.ipAddress.map { "\($0):\(source.port ?? 0)" } ?? source.description }
        let raw = bytes.getBytes(at: bytes.readerIndex, length: bytes.readableBytes) ?? []
        switch WireCodec.decode(raw, key: key, clusterID: clusterID) {
        case let .success(msg):
            let accepted = core.counters.accepted
            let ready = core.step(.message(msg, link: link, from: from), now: now)
            // Learned only from a packet the core accepted (authentic, not a replay): a replayed copy from
            // elsewhere must not redirect this peer's traffic.
            if !learnedLinks.isEmpty, core.counters.accepted > accepted { learn(msg.sender, link: link, from: source) }
            execute(ready)
        case let .failure(reason):
            execute(core.step(.dropped(reason, from: from), now: now))
            if reason == .heartbeatPacket { heartbeatPacket(raw, source: src(), now: now) }
        }
        reschedule(now: now)
    }

    /// With Heartbeat's authkeys as the key: a socket on the wildcard address and the port, so that Heartbeat's
    /// broadcasts (`bcast`) reach this node too (the link sockets are bound to unicast addresses and groups),
    /// and one per ha.cf mcast line, joined to Heartbeat's group.
    /// It acts on Heartbeat packets only; everything else arrives on the link sockets and is handled there.
    func listenForHeartbeatDaemons() {
        let handler = HeartbeatListener(agent: self)
        do {
            heartbeatListener = try DatagramBootstrap(group: group)
                .channelOption(.socketOption(.so_reuseaddr), value: 1)
                // IP_MULTICAST_ALL off: not every group some other socket joined (Vigil's own heartbeats).
                .channelOption(ChannelOptions.socket(SocketOptionLevel(IPPROTO_IP), SocketOptionName(49)), value: 0)
                .channelInitializer { ch in ch.eventLoop.makeCompletedFuture { try ch.pipeline.syncOperations.addHandler(handler) } }
                .bind(host: "0.0.0.0", port: options.config.port).wait()
        } catch {
            logger.warning(
                "cannot listen on 0.0.0.0:\(options.config.port) for Heartbeat broadcasts (\(error)); a Heartbeat daemon is noticed only by the packets it sends to this node's addresses"
            )
        }
        for m in options.heartbeatMulticast {
            do {
                guard let device = try System.enumerateDevices().first(where: { $0.name == m.interface && $0.address?.protocol == .inet })
                else {
                    throw AgentError("no IPv4 interface \(m.interface)")
                }
                let channel = try DatagramBootstrap(group: group)
                    .channelOption(.socketOption(.so_reuseaddr), value: 1)
                    .channelInitializer { ch in
                        ch.eventLoop.makeCompletedFuture { try ch.pipeline.syncOperations.addHandler(HeartbeatListener(agent: self)) }
                    }
                    .bind(host: m.group, port: m.port).wait()
                guard let mc = channel as? MulticastChannel else { throw AgentError("the channel cannot join groups") }
                try mc.joinGroup(try SocketAddress(ipAddress: m.group, port: m.port), device: device).wait()
                heartbeatMulticastListeners.append(channel)
            } catch {
                logger.warning(
                    "cannot listen on Heartbeat's multicast group \(m.group):\(m.port) on \(m.interface) (\(error)): a Heartbeat daemon there is not noticed"
                )
            }
        }
    }

    func onHeartbeatListenerDatagram(_ bytes: ByteBuffer, from source: SocketAddress) {
        guard ready else { return }
        let raw = bytes.getBytes(at: bytes.readerIndex, length: bytes.readableBytes) ?? []
        guard WireCodec.isHeartbeatPacket(raw) else { return }
        let now = Monotonic.now()
        let src = source.ipAddress.map { "\($0):\(source.port ?? 0)" } ?? source.description
        execute(core.step(.dropped(.heartbeatPacket, from: .text(src)), now: now))
        heartbeatPacket(raw, source: src, now: now)
        reschedule(now: now)
    }

    /// A Linux-HA Heartbeat packet: if it is signed with this cluster's authkeys by a configured node, Heartbeat
    /// runs there, and the core holds this node off its groups. Anything else was only counted.
    func heartbeatPacket(_ raw: [UInt8], source: String, now: Instant) {
        guard let a = heartbeatAuthkeys, let sender = a.verifyHeartbeatPacket(raw)?.lowercased(),
            sender != options.node, spec.node(named: sender) != nil
        else { return }
        execute(core.step(.heartbeatDaemon(node: sender, source: source), now: now))
    }

    /// Records where an "auto" peer's authenticated packets come from on `link`, so directed messages reach it.
    func learn(_ node: String, link: Int, from source: SocketAddress) {
        guard learnedLinks.contains("\(node)/\(link)"), let ip = source.ipAddress,
            let addr = try? SocketAddress(ipAddress: ip, port: options.config.port),
            let known = peerAddresses[node], link < known.count, known[link] != addr
        else { return }
        peerAddresses[node]![link] = addr
        logger.notice("link \(link): \(node) is at \(ip) (learned from its authenticated heartbeats)")
    }

    /// The IPv4 addresses of a network interface, in the kernel's order (the primary address first).
    public static func interfaceIPv4(_ name: String) -> [String] {
        var head: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&head) == 0 else { return [] }
        defer { freeifaddrs(head) }
        var out: [String] = []
        var p = head
        while let ifa = p {
            defer { p = ifa.pointee.ifa_next }
            guard let sa = ifa.pointee.ifa_addr, String(cString: ifa.pointee.ifa_name) == name,
                let text = ipv4Text(sa)
            else { continue }
            out.append(text)
        }
        return out
    }

    /// The dotted quad of an AF_INET socket address (nil for any other family).
    public static func ipv4Text(_ sa: UnsafePointer<sockaddr>) -> String? {
        guard sa.pointee.sa_family == sa_family_t(AF_INET) else { return nil }
        var buf = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
        sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
            var a = sin.pointee.sin_addr
            _ = inet_ntop(AF_INET, &a, &buf, socklen_t(buf.count))
        }
        return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    func reschedule(now: Instant) {
        guard !exiting else { return }
        timer?.cancel()
        timer = loop.scheduleTask(deadline: Monotonic.deadline(core.nextWakeup(after: now))) { self.onTick() }
    }

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
        var touched = Set<Int>()
        for action in actions {
            switch action {
            case let .send(msg, to, link):
                let target = to.isEmpty ? (link < groupAddresses.count ? groupAddresses[link] : nil) : peerAddresses[to]?[link] ?? nil
                guard let addr = target, link < channels.count else { continue }
                let bytes = WireCodec.encode(msg, key: key)
                let buffer = channels[link].allocator.buffer(bytes: bytes)
                channels[link].write(AddressedEnvelope(remoteAddress: addr, data: buffer), promise: nil)
                touched.insert(link)
            case let .leaveNow(cause):
                leaveDue = cause  // after this step's actions
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
                if let (kind, text) = EventJournal.describe(e) { journal.record(kind, text) }
                updateStatusLine()
            case let .runOperation(op):
                runOperation(op)
            case let .storageCycle(c):
                if c.device < storageWorkers.count { storageWorkers[c.device].submit(c, force: c.slot.leaving) }
            case let .selfFence(mode, reason):
                journal.record("fencing", "self-fence (\(mode.rawValue)): \(reason)")
                selfFence(mode, reason: reason)
            }
        }
        if let w = watchdog, core.watchdogHealthy { w.feed() }
        for link in touched { channels[link].flush() }
        if let cause = leaveDue, !exiting {
            leaveDue = nil
            finishShutdown(reason: cause.description)
        }
    }

    /// Ends `run` with `code` (once: a halt during a leave keeps the first).
    func finish(code: Int32) {
        guard !finished else { return }
        finished = true
        exitPromise.succeed(code)
    }

    func persistStandby(_ on: Bool) {
        do { try store.saveStandby(on) } catch {
            logger.error("cannot record standby \(on ? "on" : "off") in \(store.standbyPath): \(error); it will not survive a restart")
        }
    }

    /// Runs one resource operation on `operationQueue` and feeds the result back to the core on `loop`.
    func runOperation(_ op: ResourceOperation) {
        var env = resourceEnvironment(
            group: op.group, resource: op.resource, action: op.action, node: options.node,
            cluster: spec.name, extra: op.environment)
        if env["VIGIL_PEER_ADDRESS"] == ClusterConfig.autoAddress, let learned = peerAddresses[op.peer]?.first ?? nil {
            env["VIGIL_PEER_ADDRESS"] = learned.ipAddress  // an "auto" peer: where its packets come from
        }
        for (k, v) in Self.passedThrough where env[k] == nil { env[k] = v }
        env["VIGIL_RUN_DIR"] = options.runDir ?? options.config.runDir
        env["VIGIL_BIN"] = options.binary
        env["VIGIL_CONFIG"] = options.config.file
        let tag = "\(op.group)/\(op.resource) \(op.action.rawValue)"
        let environment = env
        let runner = self.runner
        let logger = self.logger
        if op.action != .status {
            logger.info(
                "\(tag): running (\(op.reason)\(op.peer.isEmpty ? "" : ", peer \(op.peer) \(op.peerAddress)"), timeout \(op.timeout.compactDescription))"
            )
            journal.record("operation", "\(tag) begins (\(op.reason)\(op.peer.isEmpty ? "" : ", peer \(op.peer)"))")
        }
        operationQueue.async {
            let result: OperationResult
            do {
                let agent = try runner.find(op.resource.agent)
                let outcome = try runner.run(agent, op.resource, op.action, timeout: op.timeout, environment: environment) { line in
                    logger.info("[\(tag)] \(line)")
                    if line.hasPrefix("VIGIL-MIGRATION ") {
                        let figures = String(line.dropFirst(16))
                        self.loop.execute {
                            self.lastMigration = figures
                            self.journal.record("migration", figures)
                        }
                    } else if op.action != .status {
                        self.loop.execute { self.journal.record("output", "[\(tag)] \(line)") }
                    }
                }
                result = OperationResult(action: op.action, outcome: outcome, convention: agent.convention)
                if op.action != .status || result != .stopped && op.reason != .probe {
                    logger.log(
                        level: result == .succeeded || op.action == .status && result == .stopped ? .info : .warning,
                        "\(tag): \(result) in \(Int(outcome.duration.milliseconds)) ms")
                }
            } catch {
                logger.error("\(tag): \(error)")
                result = .failed("\(error)")
            }
            self.loop.execute {
                if op.action != .status { self.journal.record("operation", "\(tag) \(result)") }
                let now = Monotonic.now()
                self.execute(self.core.step(.operationDone(id: op.id, result), now: now))
                self.reschedule(now: now)
            }
        }
    }

    /// The agent's own HA_* and OCF_* variables (HA_RSCTMP, HA_LOGFACILITY, OCF_RESKEY_...), passed on to
    /// resource scripts as Heartbeat passes its environment on.
    public static let passedThrough: [String: String] = ProcessInfo.processInfo.environment.filter {
        $0.key.hasPrefix("HA_") || $0.key.hasPrefix("OCF_")
    }

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

    /// An administrative request from the control socket. Must run on `loop`.
    func adminRequest(_ r: AdminRequest) {
        guard !exiting else { return }  // leaving: nothing more is carried out or forwarded
        journal.record("request", "\(r) (control socket)")
        let now = Monotonic.now()
        execute(core.step(.request(r, from: options.node), now: now))
        reschedule(now: now)
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
        if let p = pingNodes {
            let up = p.reachable.withLock { $0 }
            r.pingNodes = zip(p.targets, up).map { StatusReport.PingNode(address: $0, reachable: $1) }
        }
        let interfaces = options.config.interfaces
        for (ni, n) in r.nodes.enumerated() {
            for li in n.links.indices {
                if li < interfaces.count { r.nodes[ni].links[li].interface = interfaces[li] }
                if n.links[li].address == ClusterConfig.autoAddress, let learned = peerAddresses[n.name]?[li] ?? nil {
                    r.nodes[ni].links[li].address = learned.ipAddress ?? ClusterConfig.autoAddress
                }
            }
        }
        return r
    }

    /// Controlled stop (SIGTERM, `vigil leave`, the init script, systemd): hand this node's groups to peers,
    /// then leave. Gives up waiting after `shutdown_timeout`.
    func shutdown(reason: String) {
        guard !exiting else { return }
        guard shutdownDeadline == nil else {
            logger.notice("\(reason) again: leaving now without waiting for the handover")
            finishShutdown(reason: reason)
            return
        }
        let now = Monotonic.now()
        let timeout = options.config.shutdownTimeout
        shutdownDeadline = now + timeout
        shutdownReason = reason
        logger.notice("controlled stop (\(reason)): handing groups over before leaving (at most \(timeout.compactDescription))")
        Systemd.notify("STOPPING=1\nSTATUS=handing groups over")
        // The core says when to leave (`leaveNow`): once the groups are handed over, or after the timeout.
        execute(core.step(.shutdown(timeout: timeout), now: now))
        reschedule(now: now)
    }

    func finishShutdown(reason: String) {
        leave(reason: shutdownReason.isEmpty ? reason : "\(shutdownReason) (\(reason))")
    }

    /// Controlled leave: announce it on every link, wait for the packets to be written, then exit.
    func leave(reason: String) {
        guard !exiting else { return }
        // Set first: the end of `execute` finishes a shutdown whose groups are handed over, which would call
        // this again (once made an unbounded recursion and a crash at every controlled stop).
        exiting = true
        logger.notice("controlled leave: \(reason)")
        Systemd.notify("STOPPING=1\nSTATUS=leaving the cluster")
        execute(core.step(.leave, now: Monotonic.now()))
        pingNodes?.stop()
        respawner?.stopAll()
        if let w = watchdog {
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
        // storage threads (bounded by io_timeout) the time to write the leaving slot: the sockets close once
        // every device reported its final slot written (the storage callback checks), or at io_timeout.
        let earliest = Monotonic.now() + .milliseconds(20)
        let slotDeadline = Monotonic.now() + (spec.storage?.ioTimeout ?? .zero)
        leaveMinimumPassed = false
        leaveSlotDeadlinePassed = storageWorkers.isEmpty
        closeAfterLeave = { [weak self] in
            guard let self, self.closeAfterLeave != nil, self.leaveMinimumPassed,
                self.leaveSlotDeadlinePassed || self.finalSlotsWritten >= self.storageWorkers.count
            else { return }
            self.closeAfterLeave = nil
            for w in self.storageWorkers { w.stop() }
            let closes =
                (self.channels + self.multicastChannels + [self.heartbeatListener].compactMap { $0 } + self.heartbeatMulticastListeners).map
            { $0.close() }
                + [self.control?.close() ?? self.loop.makeSucceededVoidFuture()]
            EventLoopFuture.andAllComplete(closes, on: self.loop).whenComplete { _ in self.finish(code: 0) }
        }
        loop.scheduleTask(deadline: Monotonic.deadline(earliest)) {
            self.leaveMinimumPassed = true
            self.closeAfterLeave?()
        }
        if !storageWorkers.isEmpty {
            loop.scheduleTask(deadline: Monotonic.deadline(max(slotDeadline, earliest))) {
                self.leaveSlotDeadlinePassed = true
                self.closeAfterLeave?()
            }
        }
    }

    var signalSources: [DispatchSourceSignal] = []

    func installSignalHandlers() {
        for sig in [SIGTERM, SIGINT] {
            signal(sig, SIG_IGN)
            let src = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            src.setEventHandler { [loop] in
                loop.execute { self.shutdown(reason: sig == SIGTERM ? "SIGTERM" : "SIGINT") }
            }
            src.resume()
            signalSources.append(src)
        }
    }
}

/// Reads datagrams from one link's socket and hands them to the agent (already on its event loop).
final class DatagramInbound: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let agent: Agent
    let link: Int

    init(agent: Agent, link: Int) {
        self.agent = agent
        self.link = link
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let env = unwrapInboundIn(data)
        agent.onDatagram(env.data, from: env.remoteAddress, link: link)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // ICMP errors (port unreachable, no route) on a UDP socket are expected while a peer is down.
        agent.logger.debug("link \(link): \(error)")
    }
}

/// Hands the wildcard socket's datagrams to the agent (Heartbeat daemons' broadcasts).
final class HeartbeatListener: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let agent: Agent

    init(agent: Agent) { self.agent = agent }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let env = unwrapInboundIn(data)
        agent.onHeartbeatListenerDatagram(env.data, from: env.remoteAddress)
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
