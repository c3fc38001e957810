import Crypto
import VigilCore
import VigilWire

/// SplitMix64: a tiny, fast, seedable PRNG, so every simulated schedule is reproducible from its seed.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func chance(_ p: Double) -> Bool { Double(next() >> 11) / Double(1 << 53) < p }
    mutating func int(_ r: ClosedRange<Int>) -> Int { Int.random(in: r, using: &self) }
    mutating func ns(_ r: ClosedRange<Int64>) -> Int64 { Int64.random(in: r, using: &self) }
}

/// The fault mixes of the seeded simulation (`vigil simulate --mode MODE`).
public enum SimulationMode: String, CaseIterable, Sendable {
    /// Membership and election only: loss, delay, duplication, reordering, partitions, crashes, leaves.
    case election
    /// Resource groups with admin requests and resource faults, fencing required.
    case groups
    /// Resource groups with `fencing = none` (crashes only: no partitions, which that policy cannot survive).
    case groupsNoFencing = "groups-none"
    /// Groups on shared storage: storage outages, LAN cuts, frozen agents, poison pills.
    case storage
    /// Storage plus every fault the model knows: agents killed with their resources surviving (with and
    /// without a fast restart), one-way cuts between two nodes and on one link, replayed packets (across
    /// receiver restarts too), lost storage writes, lost or restored state directories, suspended nodes,
    /// confirm-down of nodes that are really off, `vm` handovers that leave the source running, slow persists.
    case nemesis

    public func parameters(seed: UInt64) -> SimulationParameters {
        var p: SimulationParameters
        switch self {
        case .election: p = SimulationParameters(seed: seed)
        case .groups: p = .withGroups(seed: seed, fencing: .required)
        case .groupsNoFencing: p = .withGroups(seed: seed, fencing: .none)
        case .storage: p = .withStorage(seed: seed)
        case .nemesis: p = .withNemesis(seed: seed)
        }
        p.mode = self
        return p
    }
}

/// Parameters of one simulated run.
public struct SimulationParameters: Sendable {
    public var seed: UInt64
    /// The fault mix (for the reproduce command of a failure).
    public var mode: SimulationMode = .election
    /// The nemesis faults (see `SimulationMode.nemesis`).
    public var nemesis = false
    /// The chance that a group's last resource behaves like the `vm` agent (a handover stop leaves it
    /// running; the target's handover start migrates it, or fails when the source machine is unreachable).
    public var vmLikeChance = 0.5
    public var nodeCount: Int
    public var timing: TimingSpec
    /// How long the random fault schedule runs before everything heals.
    public var chaos: Duration
    /// How long after healing the cluster must have converged to exactly one coordinator.
    public var convergenceBound: Duration
    /// Resource groups (0: membership only). Chosen per seed by `withGroups`.
    public var groupCount = 0
    public var fencing: FencingPolicy = .required
    /// Faults include partitions, deaf nodes and packet loss (with `fencing = none` a node that only looks dead
    /// has its groups started elsewhere: double starts by design, so those runs have crashes only).
    public var partitions = true
    /// Shared storage (disk heartbeat, pills) with storage faults and frozen agents in the schedule; 1 or 3
    /// devices. The model assumes a working watchdog: an agent frozen longer than watchdog_timeout is reset.
    public var storage = false
    public var storageDevices = 1
    /// Print every node's log lines (to debug one seed).
    public var trace = false
    /// Fold every action every node returns (with its time and node) into `SimulationResult.fingerprint`: two
    /// builds whose fingerprints agree on a seed behave identically on it (refactoring checks).
    public var fingerprint = false
    /// Scripted runs (tests): injected start failures off, homes n1, n2, ... in order, no_quorum policy.
    public var injectFailures = true
    public var fixedHomes = false
    public var noQuorum: NoQuorumPolicy = .stop
    /// The storage self-fence mode: reboot is modelled as a crash (agent and resources gone) and a restart.
    public var selfFence: SelfFenceMode = .stopResources
    /// Nodes have a watchdog device (with storage): a frozen or killed agent's machine resets after
    /// watchdog_timeout. Off only in tests that show what happens without one.
    public var watchdog = true

    public init(
        seed: UInt64, nodeCount: Int? = nil, timing: TimingSpec = SimulationParameters.defaultTiming,
        chaos: Duration = .seconds(6)
    ) {
        self.seed = seed
        var rng = SplitMix64(seed: seed ^ 0xA5A5_5A5A)
        self.nodeCount = nodeCount ?? rng.int(3...16)
        self.timing = timing
        self.chaos = chaos
        // After healing: the slowest path is a restarted node's initdead grace, a deadtime for stale
        // views to clear, and a few election rounds.
        self.convergenceBound = timing.initdead + timing.deadtime * 2 + timing.electionTimeout * 4
    }

    /// The same seed with resource groups, admin requests (standby, move) and resource faults added.
    public static func withGroups(seed: UInt64, fencing: FencingPolicy = .required) -> SimulationParameters {
        var p = SimulationParameters(seed: seed)
        var rng = SplitMix64(seed: seed ^ 0x5EED_9A0B)
        p.nodeCount = rng.int(2...6)
        p.groupCount = rng.int(1...4)
        p.fencing = fencing
        p.partitions = fencing == .required
        p.convergenceBound = p.convergenceBound + .seconds(2)
        return p
    }

    /// Groups on shared storage with poison-pill fencing: partitions, storage outages and frozen agents.
    public static func withStorage(seed: UInt64) -> SimulationParameters {
        var p = withGroups(seed: seed, fencing: .required)
        var rng = SplitMix64(seed: seed ^ 0x5707_A6E0)
        p.storage = true
        p.storageDevices = rng.chance(0.3) ? 3 : 1
        p.selfFence = rng.chance(0.3) ? .reboot : .stopResources
        p.convergenceBound = p.convergenceBound + .seconds(4)
        return p
    }

    /// Storage plus every fault of `SimulationMode.nemesis`.
    public static func withNemesis(seed: UInt64) -> SimulationParameters {
        var p = withStorage(seed: seed)
        p.nemesis = true
        p.convergenceBound = p.convergenceBound + .seconds(3)
        return p
    }

    /// The command that runs this schedule again, alone, with every node's log.
    public var reproduce: String { "vigil simulate --mode \(mode.rawValue) --seed \(seed) --trace" }

    /// Storage timings of the simulated clusters.
    public static let simStorage = StorageSpec(
        devices: [], interval: .milliseconds(100), ioTimeout: .milliseconds(400),
        watchdogTimeout: .milliseconds(800), msgwait: .milliseconds(1600),
        selfFence: .stopResources)

    public static let defaultTiming = TimingSpec(
        interval: .milliseconds(100), warntime: .milliseconds(300),
        deadtime: .milliseconds(500), initdead: .seconds(1))
}

/// What a simulated run found.
public struct SimulationResult: Sendable, CustomStringConvertible {
    public var seed: UInt64
    /// `vigil simulate ...` to run this one again with every log line.
    public var reproduce = ""
    public var nodeCount: Int
    public var violations: [String] = []
    /// Time from heal until exactly one agreed coordinator (nil: not within the bound).
    public var convergence: Duration?
    public var events: Int = 0
    public var messages: Int = 0
    public var elections: Int = 0
    public var highestTerm: UInt64 = 0
    /// FNV-1a over every action of the run (only with `SimulationParameters.fingerprint`).
    public var fingerprint: UInt64 = 0xcbf2_9ce4_8422_2325

    public var ok: Bool { violations.isEmpty }
    public var description: String {
        let conv = convergence.map { "\(Int($0.milliseconds)) ms" } ?? "none"
        return "seed \(seed) nodes \(nodeCount): \(ok ? "ok" : "FAILED") convergence \(conv) terms \(highestTerm) " + "messages \(messages)"
            + (ok ? "" : "\n  " + violations.prefix(5).joined(separator: "\n  ") + "\n  reproduce: \(reproduce)")
    }
}

/// A deterministic discrete-event simulation of a whole cluster of `ClusterNode`s.
///
/// The network loses, delays, duplicates and reorders messages and partitions nodes; nodes crash (keeping
/// their persisted election record, as a disk would) and restart with a new incarnation. Invariants are
/// checked after every event: at most one coordinator per term, and no coordinator without quorum.
public struct Simulation {
    enum EventKind {
        /// A packet as the wire carries it (encoded and signed by `WireCodec`), decoded and verified on arrival.
        case deliver([UInt8], to: String, link: Int)
        case timer(node: String, generation: Int)
        case crash(String)
        case leave(String)
        case restart(String)
        case partition([String: Int])
        /// A one-way cut: the node hears nothing (its own packets still go out), as with an inbound firewall rule.
        case deaf(String, Bool)
        /// The other way: nothing the node sends arrives (a dead transmit path), but it hears everybody.
        case mute(String, Bool)
        case netQuality(loss: Double, duplicate: Double)
        case heal
        /// A resource operation the node asked for finishes.
        case operationDone(node: String, incarnation: UInt64, machineLife: Int, op: ResourceOperation)
        /// A running resource dies on its own (the monitor should notice).
        case resourceDies(node: String, group: Int)
        case admin(node: String, AdminRequest)
        /// The node's pinger now counts `reachable` of two ping nodes (Heartbeat's ipfail input).
        case connectivity(node: String, reachable: Int)
        /// A controlled shutdown: hand groups over, then leave.
        case shutdown(String)
        /// A storage cycle's I/O completes (read and writes happen at this instant).
        case storageDone(node: String, incarnation: UInt64, cycle: StorageCycle)
        /// The node loses (or regains) its paths to every device.
        case storagePath(String, Bool)
        /// A device goes down (or comes back) for everyone.
        case deviceDown(Int, Bool)
        /// The agent stops running (SIGSTOP, a stalled machine) until `until`; its resources keep running.
        case freeze(String, until: Instant)
        /// `vigil restart`: the agent leaves announcing a restart (its resources keep running, its watchdog is
        /// disarmed), and a new agent starts a moment later (`.restart`).
        case restartAgent(String)
        /// The agent process dies (kill -9); its resources keep running. A watchdog resets the machine after
        /// watchdog_timeout unless an agent runs there again by then and has fed it (with quorum or storage:
        /// opening the device does not push the reset back).
        case killAgent(String)
        /// The watchdog of a killed agent expires: the machine resets unless an agent there has fed it since.
        case watchdogExpired(String, killGeneration: Int)
        /// Packets from `from` to `to` are lost (on `link` only, or on every link when nil).
        case oneWay(from: String, to: String, link: Int?, Bool)
        /// `count` recorded packets are delivered again, as an attacker on the LAN would.
        case replay(count: Int)
        /// The node's storage writes are acknowledged but never reach the device, and some of its reads return
        /// what it read a cycle before (a cache in the path).
        case lostWrites(String, Bool)
        /// The whole machine is suspended (agent, resources and watchdog) until `until`; CLOCK_BOOTTIME keeps
        /// counting, so the agent sees the time that passed when it runs again.
        case suspend(String, until: Instant)
        /// An administrator confirms `victim` down on some running node, if it is really off.
        case confirmDownIfOff(String)
    }

    struct Event {
        var at: Instant
        var order: Int
        var kind: EventKind
    }

    public let parameters: SimulationParameters
    let spec: ClusterSpec
    var rng: SplitMix64
    var now = Instant(nanoseconds: 1_000_000_000)
    var queue = EventHeap()
    var order = 0
    var nodes: [String: ClusterNode] = [:]
    var disks: [String: ElectionRecord] = [:]
    var generations: [String: Int] = [:]
    var incarnations: UInt64 = 1000
    var group: [String: Int] = [:]
    var deafNodes: Set<String> = []
    var muteNodes: Set<String> = []
    var loss = 0.0
    var duplicate = 0.0
    var termOwner: [UInt64: String] = [:]
    var result: SimulationResult
    var healedAt: Instant?
    var maxDelayNs: Int64 = 2_000_000
    /// The truth about resources: per node, per group, the resource indices that may be active.
    var active: [String: [Int: Set<Int>]] = [:]
    var shuttingDown: [String: Instant] = [:]
    /// Shared storage: per device, sector index -> 512 bytes.
    var sectors: [[Int: [UInt8]]] = []
    var pathCut: Set<String> = []
    /// "node/group" pairs whose stops fail (scripted tests).
    var failingStops: Set<String> = []
    /// Live migrations in flight to a node ("node/group" -> the operation id): the incoming domain exists
    /// there (paused), so the vm agent's status says running, and a stop destroys it, which aborts the
    /// migration (the guest stays on the source). An operation can outlive the agent that started it.
    var incoming: [String: UInt64] = [:]
    var devicesDown: Set<Int> = []
    var frozenUntil: [String: Instant] = [:]
    /// Machines that are off (crashed, reset, not yet restarted): their resources are gone.
    var machineDown: Set<String> = []
    /// Increases with every crash of a node's machine: operations of an earlier machine life have no effect.
    var machineLife: [String: Int] = [:]
    /// Increases whenever a node's agent is killed (to match a watchdog expiry to its kill).
    var kills: [String: Int] = [:]
    /// Nodes whose current agent has fed the watchdog (it feeds after every step while `watchdogHealthy`:
    /// quorum or storage). A restarted agent that never was healthy leaves its predecessor's reset armed.
    var fedWatchdog: Set<String> = []
    /// Groups whose last resource behaves like the `vm` agent (public for scripted tests).
    public var vmLike: Set<Int> = []
    /// "node/group" pairs whose starts fail (scripted tests).
    var failingStarts: Set<String> = []
    /// One-way cuts "from>to" (every link) and "from>to#link".
    var cuts: Set<String> = []
    /// Packets recorded from the wire for replays.
    var recorded: [(bytes: [UInt8], to: String, link: Int)] = []
    /// Nodes whose storage writes are lost, and whose reads are sometimes one cycle stale.
    var lostWriteNodes: Set<String> = []
    /// What each node last read from each device ("node/device").
    var lastRead: [String: [UInt8]] = [:]
    /// Every election record each node persisted (a restored state directory brings back an older one).
    var diskHistory: [String: [ElectionRecord]] = [:]
    /// Each node's last incarnation (the agent's incarnation file).
    var lastIncarnation: [String: UInt64] = [:]
    let key: SymmetricKey

    public init(_ parameters: SimulationParameters) {
        self.parameters = parameters
        let names = (1...parameters.nodeCount).map { "n\($0)" }
        // Odd seeds heartbeat by multicast, even seeds by unicast.
        rng = SplitMix64(seed: parameters.seed)
        var groups: [GroupSpec] = []
        for gi in 0..<parameters.groupCount {
            let resources = (0..<rng.int(1...3)).map { ResourceSpec(agent: "r", arguments: ["g\(gi)", "\($0)"]) }
            let home = parameters.fixedHomes ? names[gi % names.count] : rng.chance(0.7) ? names[rng.int(0...(names.count - 1))] : nil
            var g = GroupSpec(
                name: "g\(gi)", home: home, resources: resources,
                autoFailback: parameters.fixedHomes ? false : rng.chance(0.5), maxRestarts: 1,
                monitorInterval: .milliseconds(300))
            // One seed in five forgets failures 2 s after the last (`failure_timeout`), chosen by the seed alone so
            // that the random stream, and every other seed's schedule, stays as it was.
            if parameters.seed % 5 == 2 { g.failureTimeout = .seconds(2) }
            groups.append(g)
        }
        var storage: StorageSpec?
        if parameters.storage {
            var st = SimulationParameters.simStorage
            st.devices = (0..<parameters.storageDevices).map { "sim\($0)" }
            st.selfFence = parameters.selfFence
            storage = st
        }
        spec = ClusterSpec(
            name: "sim", nodes: names.map { NodeSpec(name: $0, addresses: ["a-\($0)", "b-\($0)"]) },
            timing: parameters.timing, transport: parameters.seed % 2 == 1 ? .multicast : .unicast,
            groups: groups, fencing: parameters.fencing, noQuorum: parameters.noQuorum, storage: storage)
        if let st = storage {
            let header = SlotAreaHeader(cluster: "sim", slotCount: names.count, storage: st, created: 0).encoded()
            sectors = Array(repeating: [0: header], count: st.devices.count)
        }
        key = SymmetricKey(data: (0..<32).map { UInt8(truncatingIfNeeded: parameters.seed &* 31 &+ UInt64($0)) })
        if !parameters.fixedHomes {
            for gi in 0..<parameters.groupCount where rng.chance(parameters.vmLikeChance) { vmLike.insert(gi) }
        }
        result = SimulationResult(seed: parameters.seed, nodeCount: parameters.nodeCount)
        result.reproduce = parameters.reproduce
    }

    /// Runs the whole schedule: chaos, heal, then the convergence check.
    public mutating func run() -> SimulationResult {
        for n in spec.nodes {
            // Nodes start within one second of each other, as after a power-on.
            schedule(at: now + .nanoseconds(rng.ns(0...1_000_000_000)), .restart(n.name))
        }
        planChaos()
        let healAt = now + .seconds(1) + parameters.chaos
        schedule(at: healAt, .heal)
        let end = healAt + parameters.convergenceBound
        while let ev = queue.pop(), ev.at <= end {
            now = ev.at
            result.events += 1
            handle(ev.kind)
            if !result.violations.isEmpty { break }
            if let healed = healedAt, converged(), spec.groups.isEmpty || groupsSettled() {
                result.convergence = now - healed
                break
            }
        }
        if result.violations.isEmpty, result.convergence == nil {
            // Liveness: after the heal every group runs exactly once within the bound; when one does not, what
            // the coordinator says about it (a group blocked for fencing must say why).
            let reasons =
                nodes.values.first(where: \.isCoordinator).map { c in
                    " reasons: " + c.groupStatus().map { "\($0.name): \($0.reason)" }.joined(separator: "; ")
                } ?? ""
            result.violations.append(
                "no single agreed coordinator\(spec.groups.isEmpty ? "" : " with every group running once") within \(parameters.convergenceBound.compactDescription) after heal: "
                    + describeState() + (spec.groups.isEmpty ? "" : " " + describeGroups() + reasons))
        }
        result.highestTerm = nodes.values.map(\.term).max() ?? 0
        return result
    }

    mutating func planChaos() {
        let start = now + .seconds(1)
        let chaosNs = parameters.chaos.nanoseconds
        let faults = rng.int(2...12)
        for _ in 0..<faults {
            let at = start + .nanoseconds(rng.ns(0...chaosNs))
            let victim = "n\(rng.int(1...parameters.nodeCount))"
            if parameters.nemesis, rng.chance(0.45) {
                planNemesisFault(at: at, victim: victim)
                continue
            }
            if parameters.storage, rng.chance(0.35) {
                planStorageFault(at: at, victim: victim)
                continue
            }
            if parameters.groupCount > 0, rng.chance(0.5) {
                planGroupFault(at: at, victim: victim)
                continue
            }
            switch rng.int(0...7) {
            case 0, 1:
                schedule(at: at, .crash(victim))
                schedule(at: at + .nanoseconds(rng.ns(100_000_000...3_000_000_000)), .restart(victim))
            case 6:
                // A controlled leave; the node is started again later with a new incarnation.
                schedule(at: at, spec.groups.isEmpty ? .leave(victim) : .shutdown(victim))
                schedule(at: at + .nanoseconds(rng.ns(100_000_000...3_000_000_000)), .restart(victim))
            case 7 where parameters.partitions:
                schedule(at: at, .deaf(victim, true))
                schedule(at: at + .nanoseconds(rng.ns(200_000_000...3_000_000_000)), .deaf(victim, false))
            case 2 where parameters.partitions, 3 where parameters.partitions:
                var g: [String: Int] = [:]
                let parts = rng.int(2...3)
                for n in spec.nodes { g[n.name] = rng.int(0...(parts - 1)) }
                schedule(at: at, .partition(g))
                schedule(at: at + .nanoseconds(rng.ns(200_000_000...3_000_000_000)), .partition([:]))
            default:
                // Without partitions (the `fencing = none` runs) there is no loss either: only real crashes may
                // look like deaths, as that policy assumes.
                schedule(
                    at: at,
                    .netQuality(
                        loss: parameters.partitions ? Double(rng.int(0...30)) / 100 : 0,
                        duplicate: Double(rng.int(0...10)) / 100))
            }
        }
    }

    mutating func planStorageFault(at: Instant, victim: String) {
        switch rng.int(0...4) {
        case 4:
            // The node's only NIC stops transmitting: its heartbeats and its storage path go, it still hears.
            let end = at + .nanoseconds(rng.ns(500_000_000...4_000_000_000))
            schedule(at: at, .mute(victim, true))
            schedule(at: at, .storagePath(victim, false))
            schedule(at: end, .mute(victim, false))
            schedule(at: end, .storagePath(victim, true))
        case 0:
            schedule(at: at, .storagePath(victim, false))
            schedule(at: at + .nanoseconds(rng.ns(200_000_000...3_000_000_000)), .storagePath(victim, true))
        case 1:
            let d = rng.int(0...(parameters.storageDevices - 1))
            schedule(at: at, .deviceDown(d, true))
            schedule(at: at + .nanoseconds(rng.ns(200_000_000...3_000_000_000)), .deviceDown(d, false))
        case 2:
            // A LAN cut of one node while its storage works: partitioned, to be fenced by pill.
            var g: [String: Int] = [:]
            for n in spec.nodes { g[n.name] = n.name == victim ? 1 : 0 }
            schedule(at: at, .partition(g))
            schedule(at: at + .nanoseconds(rng.ns(500_000_000...4_000_000_000)), .partition([:]))
        default:
            schedule(at: at, .freeze(victim, until: at + .nanoseconds(rng.ns(50_000_000...2_500_000_000))))
        }
    }

    /// The faults only the nemesis mode injects.
    mutating func planNemesisFault(at: Instant, victim: String) {
        let other = "n\(rng.int(1...parameters.nodeCount))"
        switch rng.int(0...8) {
        case 0, 1:
            // `vigil restart`: the agent leaves its groups running and runs again 20-500 ms later.
            if rng.chance(0.25) {
                schedule(at: at, .restartAgent(victim))
                schedule(at: at + .nanoseconds(rng.ns(20_000_000...500_000_000)), .restart(victim))
                return
            }
            // kill -9 of the agent; its resources survive. A fast restart (before the watchdog fires) or a
            // slow one (the watchdog resets the machine first).
            schedule(at: at, .killAgent(victim))
            let fast = rng.chance(0.5)
            let back = fast ? rng.ns(50_000_000...600_000_000) : rng.ns(1_000_000_000...3_000_000_000)
            schedule(at: at + .nanoseconds(back), .restart(victim))
        case 2:
            // One-way cut between two nodes, on every link or on one.
            guard other != victim else { return }
            let link: Int? = rng.chance(0.5) ? rng.int(0...1) : nil
            schedule(at: at, .oneWay(from: victim, to: other, link: link, true))
            schedule(at: at + .nanoseconds(rng.ns(300_000_000...3_000_000_000)), .oneWay(from: victim, to: other, link: link, false))
        case 3:
            schedule(at: at, .replay(count: rng.int(5...60)))
        case 4:
            schedule(at: at, .lostWrites(victim, true))
            schedule(at: at + .nanoseconds(rng.ns(100_000_000...2_000_000_000)), .lostWrites(victim, false))
        case 5:
            // A short suspend of the whole machine (longer ones are outside the guarantee: docs/safety.md).
            schedule(at: at, .suspend(victim, until: at + .nanoseconds(rng.ns(50_000_000...1_200_000_000))))
        case 6:
            // The machine dies; an administrator confirms it down a little later (if it is still off).
            schedule(at: at, .crash(victim))
            schedule(at: at + .nanoseconds(rng.ns(600_000_000...1_500_000_000)), .confirmDownIfOff(victim))
            schedule(at: at + .nanoseconds(rng.ns(1_000_000_000...4_000_000_000)), .restart(victim))
        case 7:
            // The agent of a deaf node (inbound dropped on every link).
            schedule(at: at, .deaf(victim, true))
            schedule(at: at + .nanoseconds(rng.ns(500_000_000...4_000_000_000)), .deaf(victim, false))
        default:
            // A handover whose target's start fails: the source keeps the guest (vm-like groups).
            let g = rng.int(0...(max(1, parameters.groupCount) - 1))
            failingStarts.insert("\(other)/\(g)")
            schedule(at: at, .admin(node: victim, .standby(node: victim)))
            schedule(at: at + .nanoseconds(rng.ns(500_000_000...2_000_000_000)), .admin(node: victim, .unstandby(node: victim)))
        }
    }

    mutating func planGroupFault(at: Instant, victim: String) {
        let g = rng.int(0...(parameters.groupCount - 1))
        switch rng.int(0...7) {
        case 0:
            schedule(at: at, .admin(node: victim, .standby(node: victim)))
            schedule(at: at + .nanoseconds(rng.ns(200_000_000...2_000_000_000)), .admin(node: victim, .unstandby(node: victim)))
        case 1:
            schedule(at: at, .admin(node: victim, .move(group: "g\(g)", node: "n\(rng.int(1...parameters.nodeCount))")))
        case 2:
            // Unmove; or an administrator disables a group for a while, or leaves it unmanaged for a while.
            let back = at + .nanoseconds(rng.ns(300_000_000...3_000_000_000))
            switch rng.int(0...3) {
            case 0:
                schedule(at: at, .admin(node: victim, .disable(group: "g\(g)")))
                schedule(at: back, .admin(node: victim, .enable(group: "g\(g)")))
            case 1:
                schedule(at: at, .admin(node: victim, .unmanage(group: "g\(g)")))
                schedule(at: back, .admin(node: victim, .manage(group: "g\(g)")))
            default:
                schedule(at: at, .admin(node: victim, .unmove(group: "g\(g)")))
            }
        case 3, 4:
            schedule(at: at, .resourceDies(node: victim, group: g))
        case 7:
            // A ping node becomes unreachable (or both do) for a while: the victim's groups should move away.
            schedule(at: at, .connectivity(node: victim, reachable: rng.int(0...1)))
            schedule(at: at + .nanoseconds(rng.ns(300_000_000...3_000_000_000)), .connectivity(node: victim, reachable: 2))
        case 5:
            schedule(at: at, .shutdown(victim))
            schedule(at: at + .nanoseconds(rng.ns(1_000_000_000...3_000_000_000)), .restart(victim))
        default:
            schedule(at: at, .admin(node: victim, .takeover(node: victim, all: rng.chance(0.5))))
        }
    }

    mutating func schedule(at: Instant, _ kind: EventKind) {
        order += 1
        queue.push(Event(at: at, order: order, kind: kind))
    }

    mutating func handle(_ kind: EventKind) {
        if parameters.trace {
            switch kind {
            case .deliver, .timer, .operationDone, .storageDone: break
            default: print("\(now) SIM \(kind)")
            }
        }
        if let target = Self.target(of: kind), let until = frozenUntil[target], now < until {
            schedule(at: until, kind)  // a frozen agent handles it when it runs again
            return
        }
        switch kind {
        case let .deliver(bytes, to, link):
            guard nodes[to] != nil else { return }
            switch WireCodec.decode(bytes, key: key, clusterID: spec.clusterID) {
            case let .success(msg):
                apply(to, nodes[to]!.step(.message(msg, link: link, from: .text(msg.sender)), now: now))
            case let .failure(reason):
                result.violations.append("\(now): the wire codec rejected its own packet to \(to): \(reason)")
            }
        case let .timer(node, gen):
            guard nodes[node] != nil, generations[node] == gen else { return }
            apply(node, nodes[node]!.step(.tick, now: now))
        case let .leave(node):
            // A controlled leave: announce it, then the process exits.
            guard nodes[node] != nil else { return }
            let ready = nodes[node]!.step(.leave, now: now)
            // The agent writes its leaving slot before it exits (bounded by io_timeout): here, at once.
            for case let .storageCycle(c) in ready.actions { _ = runStorage(node, c) }
            apply(node, Ready(persist: ready.persist, actions: ready.actions.filter { if case .storageCycle = $0 { false } else { true } }))
            nodes[node] = nil
            shuttingDown[node] = nil
            generations[node, default: 0] += 1
        case let .crash(node):
            failingStops = failingStops.filter { !$0.hasPrefix("\(node)/") }
            incoming = incoming.filter { !$0.key.hasPrefix("\(node)/") }
            frozenUntil[node] = nil
            machineDown.insert(node)
            machineLife[node, default: 0] += 1
            nodes[node] = nil
            generations[node, default: 0] += 1
            active[node] = nil  // the machine is gone, and its resources with it
            shuttingDown[node] = nil
        case let .restart(node):
            if nodes[node] != nil, shuttingDown[node] != nil {
                // Still handing its groups over: the restart follows the leave.
                schedule(at: now + .milliseconds(500), .restart(node))
                return
            }
            if let until = frozenUntil[node], now < until {
                // A suspended machine starts nothing until it resumes; then its agent may be leaving (a shutdown
                // asked for meanwhile), and the restart follows that.
                schedule(at: until + .milliseconds(1), .restart(node))
                return
            }
            guard nodes[node] == nil else { return }
            machineDown.remove(node)
            incarnations += 1
            if parameters.nemesis, let history = diskHistory[node], !history.isEmpty {
                // The state directory was lost (a reinstalled node) or restored from an older backup.
                if rng.chance(0.1) {
                    disks[node] = nil
                } else if rng.chance(0.1) {
                    disks[node] = history[rng.int(0...(history.count - 1))]
                }
            }
            fedWatchdog.remove(node)
            nodes[node] = ClusterNode(
                spec: spec, me: node, incarnation: incarnations, now: now, persisted: disks[node],
                previousIncarnation: lastIncarnation[node] ?? 0)
            lastIncarnation[node] = incarnations
            disks[node] = nodes[node]!.electionRecord  // the agent writes its record at start (with its incarnation)
            apply(node, nodes[node]!.step(.tick, now: now))
        case let .partition(g):
            group = g
        case let .deaf(node, on):
            if on { deafNodes.insert(node) } else { deafNodes.remove(node) }
        case let .mute(node, on):
            if on { muteNodes.insert(node) } else { muteNodes.remove(node) }
        case let .netQuality(l, d):
            loss = l
            duplicate = d
        case let .operationDone(node, inc, life, op):
            // The operation's process outlives a killed agent (its own process group), not the machine; but the
            // next agent on the machine kills what its predecessor left running before it probes (the operation
            // ledger, `OperationLedger.reapOrphans`): one that would end after that restart ends then, undone.
            guard machineLife[node, default: 0] == life, !machineDown.contains(node) else { return }
            let gi = spec.groups.firstIndex { $0.name == op.group }!
            if let running = nodes[node], running.incarnation != inc {
                if incoming["\(node)/\(gi)"] == op.id { incoming["\(node)/\(gi)"] = nil }  // a killed migration is aborted
                return
            }
            let vm = vmLike.contains(gi) && op.resourceIndex == spec.groups[gi].resources.count - 1
            var result = OperationResult.succeeded
            switch op.action {
            case .start where vm && op.reason == .handover && !op.peer.isEmpty:
                // The vm agent's handover start: live migration from the source's libvirt; a cold start when the
                // guest does not run there; a failure when the source machine cannot be reached.
                let ours = incoming["\(node)/\(gi)"] == op.id
                if ours { incoming["\(node)/\(gi)"] = nil }  // the migration is over, one way or another
                if failingStarts.contains("\(node)/\(gi)") {
                    result = .failed("injected start failure (migration)")
                } else if machineDown.contains(op.peer) {
                    result = .failed("cannot reach \(op.peer)'s libvirt: not cold-starting")
                } else if !ours {
                    result = .failed("migration aborted: the incoming domain was destroyed")
                } else {
                    if active[op.peer]?[gi]?.contains(op.resourceIndex) == true {
                        active[op.peer]![gi]!.remove(op.resourceIndex)
                    }
                    active[node, default: [:]][gi, default: []].insert(op.resourceIndex)
                }
            case .start:
                active[node, default: [:]][gi, default: []].insert(op.resourceIndex)
                // (Random start failures end with the heal, as every other fault: after it, four in a row could
                // use up max_restarts on both nodes of a two-node cluster and fail the liveness bound: seed 13104.)
                if failingStarts.contains("\(node)/\(gi)") || (parameters.injectFailures && healedAt == nil && rng.chance(0.03)) {
                    result = .failed("injected start failure")
                }
            case .stop:
                if failingStops.contains("\(node)/\(gi)") {
                    result = .failed("injected stop failure")  // and the resource keeps running
                } else if vm && op.reason == .handover {
                    break  // the vm agent leaves the guest running for the target to migrate, and says stopped
                } else {
                    active[node, default: [:]][gi, default: []].remove(op.resourceIndex)
                    if vm { incoming["\(node)/\(gi)"] = nil }  // destroying an incoming domain aborts its migration
                }
            case .status:
                // The truth (the vm agent's status says running for a handed-over guest that still runs here).
                result =
                    active[node]?[gi]?.contains(op.resourceIndex) == true || (vm && incoming["\(node)/\(gi)"] != nil)
                    ? .succeeded : .stopped
            }
            guard nodes[node]?.incarnation == inc else { return }
            apply(node, nodes[node]!.step(.operationDone(id: op.id, result), now: now))
        case let .resourceDies(node, gi):
            guard nodes[node] != nil, var set = active[node]?[gi], !set.isEmpty else { return }
            set.remove(set.min()!)  // the lowest index: a Set's own order differs between processes
            active[node]![gi] = set
        case let .connectivity(node, reachable):
            guard nodes[node] != nil else { return }
            apply(node, nodes[node]!.step(.connectivity(reachable: reachable, total: 2), now: now))
        case let .admin(node, request):
            guard nodes[node] != nil else { return }
            apply(node, nodes[node]!.step(.request(request, number: 0, from: node), now: now))
        case let .shutdown(node):
            guard nodes[node] != nil, shuttingDown[node] == nil else { return }
            shuttingDown[node] = now
            apply(node, nodes[node]!.step(.shutdown(timeout: .seconds(5)), now: now))
        case let .restartAgent(node):
            guard let n = nodes[node], !n.leaving, shuttingDown[node] == nil else { return }
            let ready = nodes[node]!.step(.restart, now: now)
            // The leaving slot is written before the agent runs again (bounded by io_timeout): here, at once.
            for case let .storageCycle(c) in ready.actions { _ = runStorage(node, c) }
            apply(node, Ready(persist: ready.persist, actions: ready.actions.filter { if case .storageCycle = $0 { false } else { true } }))
            nodes[node] = nil
            generations[node, default: 0] += 1
            frozenUntil[node] = nil
        case let .killAgent(node):
            guard nodes[node] != nil else { return }
            nodes[node] = nil
            generations[node, default: 0] += 1
            shuttingDown[node] = nil
            frozenUntil[node] = nil
            kills[node, default: 0] += 1
            if parameters.watchdog, let wd = spec.storage?.watchdogTimeout {
                schedule(at: now + wd, .watchdogExpired(node, killGeneration: kills[node]!))
            }
        case let .watchdogExpired(node, gen):
            // Reset, unless an agent runs there again and has fed the device (an agent without quorum and
            // storage opens it but does not feed it: `watchdogHealthy`).
            if kills[node] == gen, nodes[node] == nil || !fedWatchdog.contains(node), !machineDown.contains(node) {
                handle(.crash(node))
                schedule(at: now + .nanoseconds(rng.ns(200_000_000...1_000_000_000)), .restart(node))
            }
        case let .oneWay(from, to, link, on):
            let k = link.map { "\(from)>\(to)#\($0)" } ?? "\(from)>\(to)"
            if on { cuts.insert(k) } else { cuts.remove(k) }
        case let .replay(count):
            guard !recorded.isEmpty else { return }
            for _ in 0..<count {
                let r = recorded[rng.int(0...(recorded.count - 1))]
                schedule(at: now + .nanoseconds(rng.ns(0...20_000_000)), .deliver(r.bytes, to: r.to, link: r.link))
            }
        case let .lostWrites(node, on):
            if on { lostWriteNodes.insert(node) } else { lostWriteNodes.remove(node) }
        case let .suspend(node, until):
            guard !machineDown.contains(node), frozenUntil[node].map({ now >= $0 }) ?? true else { return }
            frozenUntil[node] = until  // no watchdog reset: it is suspended too
        case let .confirmDownIfOff(victim):
            guard machineDown.contains(victim), let by = nodes.keys.sorted().first(where: { frozenUntil[$0].map { now >= $0 } ?? true })
            else { return }
            apply(by, nodes[by]!.step(.request(.confirmDown(node: victim), number: 0, from: by), now: now))
        case let .storageDone(node, inc, cycle):
            guard nodes[node]?.incarnation == inc else { return }
            apply(node, nodes[node]!.step(.storageCycleDone(device: cycle.device, runStorage(node, cycle)), now: now))
        case let .storagePath(node, up):
            if up { pathCut.remove(node) } else { pathCut.insert(node) }
        case let .deviceDown(d, down):
            if down { devicesDown.insert(d) } else { devicesDown.remove(d) }
        case let .freeze(node, until):
            guard nodes[node] != nil, frozenUntil[node].map({ now >= $0 }) ?? true else { return }
            let wd = parameters.watchdog ? spec.storage?.watchdogTimeout ?? .seconds(3600) : .seconds(3600)
            if until - now > wd {
                // The watchdog is not fed: it resets the machine (agent and resources) after watchdog_timeout.
                frozenUntil[node] = now + wd
                schedule(at: now + wd, .crash(node))
                schedule(at: now + wd + .nanoseconds(rng.ns(200_000_000...1_000_000_000)), .restart(node))
            } else {
                frozenUntil[node] = until
            }
        case .heal:
            group = [:]
            deafNodes = []
            muteNodes = []
            cuts = []
            lostWriteNodes = []
            failingStarts = []
            pathCut = []
            devicesDown = []
            loss = 0
            duplicate = 0
            maxDelayNs = 2_000_000
            healedAt = now
            for n in spec.nodes where nodes[n.name] == nil {
                schedule(at: now, .restart(n.name))
            }
            // As an administrator would after an incident: standby ends, failure counts are cleared (a group
            // that failed max_restarts + 1 times on every node otherwise rightly stays stopped).
            for n in spec.nodes {
                schedule(at: now + .milliseconds(1), .admin(node: n.name, .unstandby(node: n.name)))
                if !spec.groups.isEmpty { schedule(at: now + .milliseconds(1), .connectivity(node: n.name, reachable: 2)) }
                for g in spec.groups {
                    schedule(at: now + .milliseconds(1), .admin(node: n.name, .cleanup(group: g.name, node: n.name)))
                }
            }
            // And every group enabled and managed again: asked of whichever node, now and while a coordinator
            // may still be missing (a request without one is refused).
            for g in spec.groups {
                for k in 0..<4 {
                    let n = spec.nodes[k % spec.nodes.count].name
                    schedule(at: now + .milliseconds(1 + 1000 * k), .admin(node: n, .enable(group: g.name)))
                    schedule(at: now + .milliseconds(1 + 1000 * k), .admin(node: n, .manage(group: g.name)))
                }
            }
        }
    }

    /// Folds what `node` did at `now` into the run's fingerprint (only with `SimulationParameters.fingerprint`;
    /// `what` is built only then).
    mutating func fold(_ node: String, _ what: @autoclosure () -> String) {
        guard parameters.fingerprint else { return }
        for b in "\(now.nanoseconds)|\(node)|\(what())\n".utf8 { result.fingerprint = (result.fingerprint ^ UInt64(b)) &* 0x100_0000_01b3 }
    }

    /// Runs one step's output as the agent does: the record first, then the actions in order.
    mutating func apply(_ node: String, _ ready: Ready) {
        // The shell feeds the watchdog after every step while the core says it may.
        if let n = nodes[node], n.watchdogHealthy { fedWatchdog.insert(node) }
        // A slow persist (a loaded disk) holds back everything after it: the shell writes it before any action.
        var persistDelay: Int64 = 0
        var leaveNow = false
        if let record = ready.persist {
            fold(node, "persist \(record)")
            disks[node] = record
            if parameters.nemesis {
                diskHistory[node, default: []].append(record)
                if diskHistory[node]!.count > 64 { diskHistory[node]!.removeFirst() }
                if healedAt == nil, rng.chance(0.2) { persistDelay += rng.ns(1_000_000...30_000_000) }
            }
        }
        for a in ready.actions {
            fold(node, "\(a)")
            switch a {
            case let .send(msg, to, link):
                result.messages += 1
                // Every packet goes through the real codec: encoded and signed here, verified and decoded on arrival.
                let bytes = WireCodec.encode(msg, key: key)
                // A multicast copy (to "") reaches every other node, each with its own loss and delay.
                for dest in to.isEmpty ? spec.nodes.map(\.name).filter({ $0 != node }) : [to] {
                    if (group[node] ?? 0) != (group[dest] ?? 0) || deafNodes.contains(dest) || muteNodes.contains(node) { continue }
                    if !cuts.isEmpty, cuts.contains("\(node)>\(dest)") || cuts.contains("\(node)>\(dest)#\(link)") { continue }
                    if healedAt == nil, rng.chance(loss) { continue }
                    if parameters.nemesis, healedAt == nil, rng.chance(0.01) {
                        if recorded.count < 4096 {
                            recorded.append((bytes, dest, link))
                        } else {
                            recorded[rng.int(0...4095)] = (bytes, dest, link)
                        }
                    }
                    let copies = healedAt == nil && rng.chance(duplicate) ? 2 : 1
                    for _ in 0..<copies {
                        // Occasional long delays reorder messages.
                        let delay = rng.chance(0.02) && healedAt == nil ? rng.ns(0...50_000_000) : rng.ns(50_000...maxDelayNs)
                        schedule(at: now + .nanoseconds(delay + persistDelay), .deliver(bytes, to: dest, link: link))
                    }
                }
            case .leaveNow:
                leaveNow = true
            case .answer:
                break  // the simulation's requests want no answer (number 0)
            case let .halt(reason):
                result.violations.append("\(now): \(node) halted: \(reason)")  // the model's disk never fails
            case let .log(level, text):
                if parameters.trace { print("\(now) \(node) \(level): \(text)") }
            case let .event(e):
                if case .coordinatorChanged(_, let c) = e, c == node { result.elections += 1 }
            case let .runOperation(op):
                let gi = spec.groups.firstIndex { $0.name == op.group }!
                let migration = vmLike.contains(gi) && op.resourceIndex == spec.groups[gi].resources.count - 1 && op.reason == .handover
                if migration, op.action == .start, !op.peer.isEmpty { incoming["\(node)/\(gi)"] = op.id }
                if op.action == .start, !migration {
                    // A start may leave the resource running from its first instant (a migration moves the
                    // guest when it completes).
                    active[node, default: [:]][gi, default: []].insert(op.resourceIndex)
                }
                let delay = rng.chance(0.1) ? rng.ns(50_000_000...400_000_000) : rng.ns(1_000_000...30_000_000)
                schedule(
                    at: now + .nanoseconds(delay + persistDelay),
                    .operationDone(
                        node: node, incarnation: nodes[node]?.incarnation ?? 0, machineLife: machineLife[node, default: 0], op: op))
            case let .storageCycle(c):
                // Usually fast; sometimes slow (past io_timeout); a cut path or a dead device fails or hangs.
                // (Scripted runs have no slow cycles: their tests time the fencing paths.)
                var delay = parameters.injectFailures && rng.chance(0.05) ? rng.ns(100_000_000...600_000_000) : rng.ns(200_000...5_000_000)
                if pathCut.contains(node) || devicesDown.contains(c.device) {
                    delay = rng.chance(0.5) ? rng.ns(1_000_000...50_000_000) : rng.ns(400_000_000...2_000_000_000)
                }
                schedule(at: now + .nanoseconds(delay), .storageDone(node: node, incarnation: nodes[node]?.incarnation ?? 0, cycle: c))
            case let .selfFence(mode, _):
                // stop-resources: the core stops every group itself. reboot: the machine goes (its resources
                // with it) and comes back a few seconds later.
                if mode == .reboot {
                    schedule(at: now, .crash(node))
                    schedule(at: now + .seconds(3), .restart(node))
                }
            }
        }
        checkGroups()
        if leaveNow, shuttingDown[node] != nil {
            shuttingDown[node] = nil
            handle(.leave(node))
            return
        }
        if let n = nodes[node] {
            check(n)
            generations[node, default: 0] += 1
            schedule(at: n.nextWakeup(after: now), .timer(node: node, generation: generations[node]!))
        }
    }

    mutating func check(_ n: ClusterNode) {
        if case .candidate = n.role, !n.quorate {
            result.violations.append("\(now): \(n.me) is a candidate without quorum")
        }
        guard n.isCoordinator else { return }
        if let owner = termOwner[n.term], owner != n.me {
            result.violations.append("\(now): two coordinators in term \(n.term): \(owner) and \(n.me)")
        }
        termOwner[n.term] = n.me
        if !n.quorate {
            result.violations.append("\(now): \(n.me) coordinates term \(n.term) without quorum")
        }
        if (disks[n.me]?.term ?? 0) < n.term {
            result.violations.append("\(now): \(n.me) coordinates term \(n.term) before persisting it")
        }
    }

    /// The placement invariant: no group may be active on two nodes at once. For a vm-like group, no resource
    /// of it: during a handover the target starts the group's other resources while the guest still runs on
    /// the source, and its start migrates the guest (the guest itself never runs twice).
    mutating func checkGroups() {
        for gi in spec.groups.indices {
            let holders = active.keys.sorted().filter { !(active[$0]?[gi]?.isEmpty ?? true) }
            guard holders.count > 1 else { continue }
            if vmLike.contains(gi) {
                for r in spec.groups[gi].resources.indices {
                    let h = holders.filter { active[$0]![gi]!.contains(r) }
                    if h.count > 1 {
                        result.violations.append(
                            "\(now): resource \(r) of group g\(gi) active on \(h.joined(separator: " and ")): " + describeGroups())
                    }
                }
            } else {
                result.violations.append("\(now): group g\(gi) active on \(holders.joined(separator: " and ")): " + describeGroups())
            }
        }
    }

    /// After the heal: every group runs on exactly one node, and the coordinator's table agrees.
    func groupsSettled() -> Bool {
        guard let c = nodes.values.first(where: \.isCoordinator) else { return false }
        for (gi, g) in spec.groups.enumerated() {
            let holders = active.keys.filter { !(active[$0]?[gi]?.isEmpty ?? true) }
            let running = nodes.values.filter { $0.localPhases[g.name] == .running }.map(\.me)
            guard holders.count == 1, running == holders, c.groupStatus()[gi].owner == holders[0] else { return false }
        }
        return true
    }

    /// One storage cycle against the shared sectors: read everything, then write the slot and mailboxes.
    mutating func runStorage(_ node: String, _ c: StorageCycle) -> StorageCycleResult {
        let latency = Duration.milliseconds(1)
        if pathCut.contains(node) || devicesDown.contains(c.device) {
            return StorageCycleResult(snapshot: nil, slotWritten: false, mailboxesWritten: [], latency: latency, error: "simulated outage")
        }
        let lost = lostWriteNodes.contains(node)  // acknowledged, never stored
        let n = spec.nodes.count
        var bytes: [UInt8] = []
        for i in 0..<SlotArea.sectors(nodes: n) {
            bytes += sectors[c.device][i] ?? [UInt8](repeating: 0, count: SlotArea.sectorBytes)
        }
        // A stale read (a cache in the path): the node gets what it read one cycle before, now and then.
        let key = "\(node)/\(c.device)"
        if lost, let previous = lastRead[key], rng.chance(0.3) {
            let fresh = bytes
            bytes = previous
            lastRead[key] = fresh
        } else {
            lastRead[key] = bytes
        }
        let snap = SlotAreaSnapshot(bytes: bytes, sectorSize: SlotArea.sectorBytes, nodes: n)
        if !lost {
            sectors[c.device][SlotArea.slotSector(c.slotIndex)] = c.slot.encoded()
            for m in c.mailboxes { sectors[c.device][SlotArea.mailboxSector(m.index)] = m.pill.encoded() }
        }
        return StorageCycleResult(snapshot: snap, slotWritten: true, mailboxesWritten: c.mailboxes, latency: latency, error: nil)
    }

    /// The node an event is handled by (nil: the whole simulated world).
    static func target(of kind: EventKind) -> String? {
        switch kind {
        case let .deliver(_, to, _): to
        case let .timer(node, _): node
        case let .operationDone(node, _, _, _): node
        case let .storageDone(node, _, _): node
        case let .admin(node, _): node
        case let .connectivity(node, _): node
        case let .shutdown(node): node
        default: nil
        }
    }

    func describeGroups() -> String {
        nodes.keys.sorted().map { k in
            "\(k)\(nodes[k]!.inStandby ? "(standby)" : "")["
                + spec.groups.map { "\($0.name):\(nodes[k]!.localPhases[$0.name]!)" }.joined(separator: " ") + "]"
        }.joined(separator: " ") + " active=\(active.filter { !$0.value.values.allSatisfy(\.isEmpty) })"
            + (incoming.isEmpty ? "" : " incoming=\(incoming)")
    }

    func converged() -> Bool {
        guard nodes.count == spec.nodes.count else { return false }
        let coordinators = nodes.values.filter(\.isCoordinator)
        guard coordinators.count == 1, let c = coordinators.first else { return false }
        return nodes.values.allSatisfy { $0.coordinator == c.me && $0.term == c.term && $0.quorate }
    }

    func describeState() -> String {
        nodes.keys.sorted().map { k in
            let n = nodes[k]!
            return
                "\(k)[\(n.role) term \(n.term) coord \(n.coordinator.isEmpty ? "-" : n.coordinator) q \(n.quorate) members \(n.members.count)]"
        }.joined(separator: " ")
    }

    // MARK: - Scripted runs (tests)

    /// A cluster with no random faults: every node starts at once; the test drives the faults and reads the state.
    public static func scripted(
        nodes: Int, groups: Int, storage: Bool, noQuorum: NoQuorumPolicy = .stop,
        timing: TimingSpec = SimulationParameters.defaultTiming, seed: UInt64 = 2,
        selfFence: SelfFenceMode = .stopResources, trace: Bool = false,
        watchdog: Bool = true
    ) -> Simulation {
        var p = SimulationParameters(seed: seed, nodeCount: nodes, timing: timing, chaos: .zero)
        p.trace = trace
        p.watchdog = watchdog
        p.selfFence = selfFence
        p.groupCount = groups
        p.storage = storage
        p.injectFailures = false
        p.fixedHomes = true
        p.noQuorum = noQuorum
        var sim = Simulation(p)
        sim.maxDelayNs = 500_000
        for n in sim.spec.nodes { sim.schedule(at: sim.now, .restart(n.name)) }
        return sim
    }

    /// Simulated time now.
    public var time: Instant { now }
    public var violations: [String] { result.violations }

    /// Runs every event up to `now + d` (stops early at a violation).
    public mutating func advance(by d: Duration) {
        let end = now + d
        while let ev = queue.peek(), ev.at <= end {
            _ = queue.pop()
            now = ev.at
            handle(ev.kind)
            if !result.violations.isEmpty { return }
        }
        now = end
    }

    /// Runs until `condition` holds (checked after every event) or `limit` passes; returns the time it took.
    public mutating func advance(until condition: (Simulation) -> Bool, limit: Duration) -> Duration? {
        let start = now, end = now + limit
        while let ev = queue.peek(), ev.at <= end {
            _ = queue.pop()
            now = ev.at
            handle(ev.kind)
            if !result.violations.isEmpty { return nil }
            if condition(self) { return now - start }
        }
        return nil
    }

    /// Cuts `node` off the LAN (its storage stays reachable); `healLAN` undoes every cut.
    public mutating func cutLAN(_ node: String) { group = [node: 1] }
    public mutating func healLAN() { group = [:] }
    /// The machine dies: agent and resources.
    public mutating func crash(_ node: String) { handle(.crash(node)) }
    /// The agent dies (kill -9); its resources keep running (with storage, a watchdog resets the machine after
    /// watchdog_timeout unless `restartAgent` comes first).
    public mutating func killAgent(_ node: String) { handle(.killAgent(node)) }
    /// Starts the node's agent again (a new incarnation), after a kill or a crash.
    public mutating func restartAgent(_ node: String) { handle(.restart(node)) }
    /// The node hears nothing from now on (its own packets still go out); `undeafen` ends it.
    public mutating func deafen(_ node: String) { handle(.deaf(node, true)) }
    public mutating func undeafen(_ node: String) { handle(.deaf(node, false)) }
    /// Packets from `from` to `to` are lost (one link, or every link), until `cutOneWay(..., false)`.
    public mutating func cutOneWay(from: String, to: String, link: Int? = nil, _ on: Bool = true) {
        handle(.oneWay(from: from, to: to, link: link, on))
    }
    /// Starts of group `gi` on `node` fail from now on (a migration too), until `clearStartFailures`.
    public mutating func failStarts(_ node: String, group gi: Int) { failingStarts.insert("\(node)/\(gi)") }
    public mutating func clearStartFailures() { failingStarts = [] }
    public mutating func cutStorage(_ node: String) { pathCut.insert(node) }
    /// The node's storage acknowledges its writes but keeps none (its reads are now and then a cycle stale),
    /// until `loseWrites(node, false)`.
    public mutating func loseWrites(_ node: String, _ on: Bool = true) { handle(.lostWrites(node, on)) }
    public mutating func freeze(_ node: String, for d: Duration) { handle(.freeze(node, until: now + d)) }

    /// A controlled shutdown of the node's agent (SIGTERM): it hands its groups over, then leaves.
    public mutating func shutdown(_ node: String) { handle(.shutdown(node)) }

    /// An administrative request made on `node` (as through its control socket).
    public mutating func admin(_ node: String, _ request: AdminRequest) { handle(.admin(node: node, request)) }

    /// Stops of group `gi` on `node` fail from now on (the resource keeps running), until the node crashes.
    public mutating func failStops(_ node: String, group gi: Int) { failingStops.insert("\(node)/\(gi)") }

    /// The node's pinger reports `reachable` ping nodes (Heartbeat's ipfail input).
    public mutating func setConnectivity(_ node: String, reachable: Int, of total: Int) {
        guard nodes[node] != nil else { return }
        apply(node, nodes[node]!.step(.connectivity(reachable: reachable, total: total), now: now))
    }

    /// The node's status report (nil: not running).
    public func status(_ node: String) -> StatusReport? { nodes[node]?.status(now: now) }
    /// Nodes whose resources of group `gi` really run (the truth, not anybody's report).
    public func holders(_ gi: Int) -> [String] { active.keys.sorted().filter { !(active[$0]?[gi]?.isEmpty ?? true) } }
    /// Every node's log lines so far are not kept; this is the coordinator's name, if exactly one.
    public var coordinatorName: String? {
        let c = nodes.values.filter(\.isCoordinator)
        return c.count == 1 ? c[0].me : nil
    }

    // MARK: - Coordinator failover bound

    /// Starts a clean cluster, waits for a coordinator, kills it, and returns how long until a new one
    /// (with a higher term) is in place and agreed — or a violation description.
    public static func measureFailover(seed: UInt64, nodeCount: Int, timing: TimingSpec) -> (Duration?, String?) {
        var params = SimulationParameters(seed: seed, nodeCount: nodeCount, timing: timing, chaos: .zero)
        params.convergenceBound = .seconds(30)
        var sim = Simulation(params)
        sim.maxDelayNs = 500_000
        for n in sim.spec.nodes { sim.schedule(at: sim.now, .restart(n.name)) }
        let deadline = sim.now + timing.initdead + .seconds(5)
        var killedAt: Instant?
        var oldTerm: UInt64 = 0
        let killDelay = Duration.nanoseconds(sim.rng.ns(0...timing.interval.nanoseconds * 3))
        var stableSince: Instant?
        while let ev = sim.queue.pop(), ev.at <= deadline + .seconds(5) {
            sim.now = ev.at
            sim.handle(ev.kind)
            if let v = sim.result.violations.first { return (nil, v) }
            if killedAt == nil {
                if sim.converged() {
                    if stableSince == nil { stableSince = sim.now }
                    if sim.now - stableSince! >= timing.deadtime + killDelay {
                        let c = sim.nodes.values.first(where: \.isCoordinator)!
                        oldTerm = c.term
                        killedAt = sim.now
                        sim.handle(.crash(c.me))
                    }
                } else {
                    stableSince = nil
                }
            } else if let k = killedAt {
                let survivors = sim.nodes.values
                if let c = survivors.first(where: \.isCoordinator), c.term > oldTerm,
                    survivors.allSatisfy({ $0.coordinator == c.me })
                {
                    return (sim.now - k, nil)
                }
            }
        }
        return (nil, killedAt == nil ? "never converged before the kill" : "no new coordinator after the kill")
    }
}

/// A binary min-heap of simulation events ordered by (time, insertion order): deterministic tie-breaking.
struct EventHeap {
    private var items: [Simulation.Event] = []

    mutating func push(_ e: Simulation.Event) {
        items.append(e)
        var i = items.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            if less(items[i], items[p]) { items.swapAt(i, p); i = p } else { break }
        }
    }

    func peek() -> Simulation.Event? { items.first }

    mutating func pop() -> Simulation.Event? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let top = items.removeLast()
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < items.count, less(items[l], items[m]) { m = l }
            if r < items.count, less(items[r], items[m]) { m = r }
            if m == i { break }
            items.swapAt(i, m)
            i = m
        }
        return top
    }

    private func less(_ a: Simulation.Event, _ b: Simulation.Event) -> Bool {
        a.at == b.at ? a.order < b.order : a.at < b.at
    }
}
