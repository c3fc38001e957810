#if canImport(Glibc)
    import Glibc
#endif
import VigilCore

/// Everything in cluster.conf: the core's `ClusterSpec` plus the agent's own settings.
/// Every key, its default and unit is documented in docs/configuration.md and cluster.conf.example.
public struct ClusterConfig: Sendable, Equatable {
    public var spec: ClusterSpec
    public var file: String
    public var keyFile: String = "/etc/vigil/authkey"
    public var port: Int = 694
    public var profile: String = "safe"
    public var realtime: Bool = true
    public var realtimePriority: Int = 50
    public var lockMemory: Bool = true
    /// Base multicast group: link i uses this address plus i in the last octet.
    public var multicastGroup: String = "239.255.6.94"
    public var stateDir: String = "/var/lib/vigil"
    public var socket: String = "/run/vigil/vigil.sock"
    /// Extra resource-agent directories, searched before the installed ones.
    public var agentDirs: [String] = []
    /// OCF_ROOT: where `ocf:PROVIDER:TYPE` agents are (`OCF_ROOT/resource.d/PROVIDER/TYPE`).
    public var ocfRoot: String = OCF.defaultRoot
    /// Working directory for resource agents (VIGIL_RUN_DIR).
    public var runDir: String = "/run/vigil"
    /// Per group, the line of its `resources` key (for errors found after loading, like OCF parameters).
    public var resourceLines: [String: Int] = [:]
    /// How long a stopping agent waits for its groups to be handed over before it leaves anyway.
    public var shutdownTimeout: Duration = .seconds(300)
    /// A directory of alert scripts run on cluster events (nil: none), and how long each may run.
    public var alertsDir: String?
    public var alertTimeout: Duration = .seconds(30)
    /// Per node: the libvirt URI of that node's hypervisor (`[[node]] libvirt_uri`), if set.
    public var libvirtURIs: [String: String] = [:]
    /// The [virt] table: how the `vm` agent talks to libvirt and migrates.
    public var virt = VirtSettings()
    /// Per link, the network interface it runs on (`interfaces`). With it, an address may be "auto": this
    /// node's comes from the interface, peers' are learned from their authenticated heartbeats.
    public var interfaces: [String] = []
    /// Accept a Heartbeat authkeys file whose selected method is crc (no secret).
    public var allowCRC = false
    /// Also append log lines to this file (Heartbeat's logfile).
    public var logFile: String?
    /// The syslog facility of journal entries (Heartbeat's logfacility; default daemon).
    public var logFacility: String?
    /// Ping nodes (Heartbeat's ping/ping_group): IPv4 addresses pinged every interval; groups run only on nodes
    /// that reach as many of them as the best-connected member (ipfail).
    public var pingNodes: [String] = []
    /// A ping node is unreachable after this long without a reply (Heartbeat's deadping; default: deadtime).
    public var pingDeadtime: Duration?
    /// Programs kept running by the agent ("USER PROGRAM [ARGS...]", Heartbeat's respawn).
    public var respawn: [String] = []
    /// Legal but risky settings, each "FILE:LINE: warning: ..." (printed by `config check`, logged by the agent).
    public var warnings: [String] = []

    /// The syslog facility names `log_facility` accepts (besides "none").
    public static let syslogFacilities = [
        "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
        "authpriv", "ftp", "local0", "local1", "local2", "local3", "local4", "local5",
        "local6", "local7"
    ]

    /// The address placeholder for "learn it" (see `interfaces`).
    public static let autoAddress = "auto"

    public static let defaultPath = "/etc/vigil/cluster.conf"
    /// The widest a node name may be (it travels in every packet).
    public static let maxNameLength = 63
    /// The most nodes a cluster may have (Heartbeat's MAXNODE is 100; a view must fit one packet).
    public static let maxNodes = 64
    /// The most links (addresses per node): packets carry the link in one byte, and with multicast each link
    /// takes the next group after multicast_group's.
    public static let maxLinks = 64
    /// The most ping nodes (`ping_nodes`).
    public static let maxPingNodes = 64
    /// The largest heartbeat an agent sends or accepts (WireCodec.maximumLength).
    public static let maxPacketBytes = 1452
}

/// Loads and validates cluster.conf. Unknown keys are errors; every error names file, line and expectation.
public enum ConfigLoader {
    static let clusterKeys = [
        "name", "key_file", "port", "profile", "interval", "warntime", "deadtime", "initdead",
        "quorum", "transport", "multicast_group", "realtime", "realtime_priority",
        "lock_memory", "state_dir", "socket", "fencing", "no_quorum", "agent_dirs", "run_dir",
        "shutdown_timeout", "interfaces", "allow_crc", "log_file", "log_facility", "respawn", "ping_nodes", "ping_deadtime",
        "alerts", "alert_timeout", "ocf_root"
    ]
    static let nodeKeys = ["name", "addresses", "votes", "libvirt_uri"]
    static let groupKeys = [
        "name", "home", "resources", "auto_failback", "start_timeout", "stop_timeout", "status_timeout",
        "max_restarts", "monitor_interval", "stop_retries", "failure_timeout"
    ]
    static let virtKeys = [
        "uri", "peer_uri", "migration_uri", "max_downtime", "auto_converge", "postcopy_after",
        "migration_timeout", "liveness", "liveness_timeout", "shutdown_timeout", "definitions"
    ]

    /// Parses cluster.conf text (`file` names it in errors).
    public static func load(text: String, file: String) throws(ConfigError) -> ClusterConfig {
        let tables = try TOMLSubsetParser.parse(text, file: file)
        func err(_ line: Int, _ msg: String) -> ConfigError { ConfigError(file: file, line: line, message: msg) }

        if let stray = tables[0].entries.first {
            throw err(stray.line, "key '\(stray.key)' outside any table; expected it under [cluster] or a [[node]]")
        }
        var clusterTable: TOMLTable?
        var nodeTables: [TOMLTable] = []
        var groupTables: [TOMLTable] = []
        var virtTable: TOMLTable?
        var storageTable: TOMLTable?
        for t in tables.dropFirst() {
            switch (t.name, t.isArrayElement) {
            case ("cluster", false): clusterTable = t
            case ("node", true): nodeTables.append(t)
            case ("group", true): groupTables.append(t)
            case ("virt", false): virtTable = t
            case ("storage", false): storageTable = t
            case ("storage", true):
                throw err(t.line, "[[storage]] must be a single [storage] table (list several devices in its `devices`)")
            case ("cluster", true): throw err(t.line, "[[cluster]] must be a single [cluster] table")
            case ("virt", true): throw err(t.line, "[[virt]] must be a single [virt] table")
            case ("node", false): throw err(t.line, "nodes are an array of tables: write [[node]], not [node]")
            case ("group", false): throw err(t.line, "groups are an array of tables: write [[group]], not [group]")
            default: throw err(t.line, "unknown table [\(t.name)]; expected [cluster], [[node]], [[group]], [virt] or [storage]")
            }
        }
        guard let ct = clusterTable else { throw err(1, "missing [cluster] table") }

        // [cluster]
        var c = ClusterConfig(spec: ClusterSpec(name: "", nodes: [], timing: .safe), file: file)
        var name: String?
        var durations: [String: (Duration, Int)] = [:]
        for e in ct.entries {
            switch e.key {
            case "name": name = try string(e, err)
            case "key_file": c.keyFile = try string(e, err)
            case "port": c.port = try int(e, err, in: 1...65535)
            case "profile":
                c.profile = try choice(e, err, ["safe", "fast"])
            case "interval", "warntime", "deadtime", "initdead":
                durations[e.key] = (try duration(e, err), e.line)
            case "quorum": c.spec.quorum = QuorumPolicy(rawValue: try choice(e, err, ["majority", "ignore"]))!
            case "transport": c.spec.transport = Transport(rawValue: try choice(e, err, ["unicast", "multicast"]))!
            case "multicast_group":
                c.multicastGroup = try string(e, err)
                guard isMulticastIPv4(c.multicastGroup) else {
                    throw err(
                        e.line,
                        "multicast_group: expected an IPv4 multicast address (224.0.0.0 to 239.255.255.255), got \"\(c.multicastGroup)\"")
                }
            case "realtime": c.realtime = try bool(e, err)
            case "realtime_priority": c.realtimePriority = try int(e, err, in: 1...99)
            case "lock_memory": c.lockMemory = try bool(e, err)
            case "state_dir": c.stateDir = try string(e, err)
            case "socket": c.socket = try string(e, err)
            case "fencing": c.spec.fencing = FencingPolicy(rawValue: try choice(e, err, ["required", "none"]))!
            case "no_quorum": c.spec.noQuorum = NoQuorumPolicy(rawValue: try choice(e, err, ["stop", "freeze"]))!
            case "agent_dirs": c.agentDirs = try strings(e, err)
            case "ocf_root": c.ocfRoot = try string(e, err)
            case "run_dir": c.runDir = try string(e, err)
            case "shutdown_timeout": c.shutdownTimeout = try duration(e, err)
            case "alerts": c.alertsDir = try string(e, err)
            case "alert_timeout":
                c.alertTimeout = try duration(e, err)
                guard c.alertTimeout >= .milliseconds(100) else {
                    throw err(e.line, "alert_timeout: at least 100ms, got \(c.alertTimeout)")
                }
            case "interfaces":
                c.interfaces = try strings(e, err)
                guard !c.interfaces.isEmpty, c.interfaces.allSatisfy(isInterfaceName) else {
                    throw err(e.line, "interfaces: expected one network interface name per link, like [\"eth1\", \"eth2\"]")
                }
            case "allow_crc": c.allowCRC = try bool(e, err)
            case "ping_nodes":
                c.pingNodes = try strings(e, err)
                for a in c.pingNodes where !isIPv4(a) { throw err(e.line, "ping_nodes: expected IPv4 addresses, got \"\(a)\"") }
                guard c.pingNodes.count <= ClusterConfig.maxPingNodes, Set(c.pingNodes).count == c.pingNodes.count else {
                    throw err(e.line, "ping_nodes: at most \(ClusterConfig.maxPingNodes) addresses, each once")
                }
            case "ping_deadtime": c.pingDeadtime = try duration(e, err)
            case "log_file":
                c.logFile = try string(e, err)
                guard c.logFile!.hasPrefix("/") else { throw err(e.line, "log_file: expected an absolute path") }
            case "log_facility":
                c.logFacility = try choice(e, err, ClusterConfig.syslogFacilities + ["none"])
            case "respawn":
                c.respawn = try strings(e, err)
                for r in c.respawn {
                    let w = r.split(separator: " ")
                    guard w.count >= 2, w[1].hasPrefix("/") else {
                        throw err(e.line, "respawn: expected \"USER /PATH/TO/PROGRAM [ARGS...]\", got \"\(r)\"")
                    }
                }
            default:
                throw err(
                    e.line,
                    "unknown key '\(e.key)' in [cluster]\(suggestion(e.key, clusterKeys)); expected one of: \(clusterKeys.joined(separator: ", "))"
                )
            }
        }
        guard let clusterName = name else { throw err(ct.line, "[cluster] needs a name, like name = \"prod\"") }
        try checkName(clusterName, line: ct.entries.first { $0.key == "name" }!.line, what: "cluster name", err)
        c.spec.name = clusterName

        // Timing: the profile's defaults, overridden key by key.
        var timing = c.profile == "fast" ? TimingSpec.fast : TimingSpec.safe
        if let (v, _) = durations["interval"] { timing.interval = v }
        if let (v, _) = durations["warntime"] { timing.warntime = v }
        if let (v, _) = durations["deadtime"] { timing.deadtime = v }
        if let (v, _) = durations["initdead"] { timing.initdead = v }
        func line(_ k: String) -> Int { durations[k]?.1 ?? ct.line }
        guard timing.interval >= .milliseconds(1) else { throw err(line("interval"), "interval must be at least 1ms") }
        guard timing.deadtime > timing.interval * 2 else {
            throw err(
                line("deadtime"),
                "deadtime (\(timing.deadtime.compactDescription)) must be more than twice the interval (\(timing.interval.compactDescription)), or one lost packet kills a node"
            )
        }
        guard timing.warntime >= timing.interval, timing.warntime < timing.deadtime else {
            throw err(
                line("warntime"),
                "warntime (\(timing.warntime.compactDescription)) must be at least the interval (\(timing.interval.compactDescription)) and less than deadtime (\(timing.deadtime.compactDescription))"
            )
        }
        guard timing.initdead >= timing.deadtime else {
            throw err(
                line("initdead"),
                "initdead (\(timing.initdead.compactDescription)) must be at least deadtime (\(timing.deadtime.compactDescription))")
        }
        c.spec.timing = timing
        if let pd = c.pingDeadtime, pd <= timing.interval * 2 {
            throw err(
                ct.entries.first { $0.key == "ping_deadtime" }!.line,
                "ping_deadtime (\(pd.compactDescription)) must be more than twice the interval (\(timing.interval.compactDescription))")
        }

        // [[node]]
        guard !nodeTables.isEmpty else { throw err(ct.line, "no [[node]] tables: a cluster needs at least one node") }
        var seenNames: [String: Int] = [:]
        var seenAddresses: [String: Int] = [:]
        for t in nodeTables {
            var nodeName: String?
            var addresses: [String]?
            var votes = 1
            var libvirtURI: String?
            for e in t.entries {
                switch e.key {
                case "name":
                    nodeName = try string(e, err)
                    try checkName(nodeName!, line: e.line, what: "node name", err)
                case "addresses":
                    guard case let .array(items) = e.value, !items.isEmpty else {
                        throw err(e.line, "addresses: expected a non-empty array of IP addresses, like [\"10.0.0.1\", \"10.1.0.1\"]")
                    }
                    addresses = []
                    for item in items {
                        guard case let .string(a) = item, isIPAddress(a) || a == ClusterConfig.autoAddress else {
                            throw err(
                                e.line,
                                "addresses: expected IPv4 or IPv6 address strings (or \"auto\" with [cluster] interfaces), got \(describe(item))"
                            )
                        }
                        if a == ClusterConfig.autoAddress { addresses!.append(a); continue }
                        if let other = seenAddresses[a] { throw err(e.line, "address \(a) is already used on line \(other)") }
                        seenAddresses[a] = e.line
                        addresses!.append(a)
                    }
                case "votes": votes = try int(e, err, in: 0...255)
                case "libvirt_uri": libvirtURI = try string(e, err)
                default:
                    throw err(
                        e.line,
                        "unknown key '\(e.key)' in [[node]]\(suggestion(e.key, nodeKeys)); expected one of: \(nodeKeys.joined(separator: ", "))"
                    )
                }
            }
            guard let n = nodeName else { throw err(t.line, "[[node]] needs a name, like name = \"node1\"") }
            guard let a = addresses else { throw err(t.line, "node \(n) needs addresses, like addresses = [\"10.0.0.1\"]") }
            if let other = seenNames[n] { throw err(t.line, "node \(n) is already defined on line \(other)") }
            seenNames[n] = t.line
            if let first = c.spec.nodes.first, first.addresses.count != a.count {
                throw err(
                    t.line,
                    "node \(n) has \(a.count) address(es) but \(first.name) has \(first.addresses.count); every node needs one address per link (heartbeat LAN)"
                )
            }
            c.spec.nodes.append(NodeSpec(name: n, addresses: a, votes: votes))
            if let u = libvirtURI { c.libvirtURIs[n] = u }
        }
        if let auto = c.spec.nodes.firstIndex(where: { $0.addresses.contains(ClusterConfig.autoAddress) }) {
            let line = nodeTables[auto].line
            guard !c.interfaces.isEmpty else {
                throw err(
                    line,
                    "node \(c.spec.nodes[auto].name) has an \"auto\" address: that needs [cluster] interfaces = [\"IFACE\", ...] (one per link) to find this node's own address"
                )
            }
            guard c.spec.transport == .multicast else {
                throw err(
                    line,
                    "node \(c.spec.nodes[auto].name) has an \"auto\" address: that needs transport = \"multicast\" (peers' addresses are learned from their multicast heartbeats)"
                )
            }
        }
        if c.spec.linkCount > ClusterConfig.maxLinks {
            throw err(
                nodeTables[0].line,
                "node \(c.spec.nodes[0].name) has \(c.spec.linkCount) addresses: at most \(ClusterConfig.maxLinks) links are supported")
        }
        if !c.interfaces.isEmpty, c.interfaces.count != c.spec.linkCount {
            throw err(
                ct.entries.first { $0.key == "interfaces" }!.line,
                "interfaces lists \(c.interfaces.count) interface(s) but the nodes have \(c.spec.linkCount) link address(es) each; give one interface per link"
            )
        }
        try loadGroups(groupTables, into: &c, err)
        if let vt = virtTable { try loadVirt(vt, into: &c, err) }
        if let st = storageTable { try loadStorage(st, into: &c, err) }
        if c.spec.transport == .multicast, let last = Int(c.multicastGroup.split(separator: ".").last ?? ""),
            last + c.spec.linkCount - 1 > 255
        {
            throw err(
                ct.line,
                "multicast_group \(c.multicastGroup): link \(c.spec.linkCount - 1) would need last octet \(last + c.spec.linkCount - 1); choose a base that leaves room for one group per link"
            )
        }
        if c.spec.transport == .multicast,
            let v6 = c.spec.nodes.first(where: { $0.addresses.contains { !isIPv4($0) && $0 != ClusterConfig.autoAddress } })
        {
            throw err(
                nodeTables[c.spec.nodes.firstIndex(of: v6)!].line,
                "transport = \"multicast\" needs IPv4 link addresses; node \(v6.name) has \(v6.addresses.filter { !isIPv4($0) && $0 != ClusterConfig.autoAddress }.joined(separator: ", "))"
            )
        }
        guard c.spec.nodes.count <= ClusterConfig.maxNodes else {
            throw err(nodeTables[ClusterConfig.maxNodes].line, "too many nodes: at most \(ClusterConfig.maxNodes) are supported")
        }
        guard c.spec.totalVotes > 0 else {
            throw err(nodeTables[0].line, "the nodes have no votes at all; give at least one node votes = 1")
        }
        let worst = heartbeatBytes(nodeNames: c.spec.nodes.map(\.name))
        guard worst <= ClusterConfig.maxPacketBytes else {
            throw err(
                nodeTables.last!.line,
                "\(c.spec.nodes.count) nodes with names this long do not fit one heartbeat packet (\(worst) > \(ClusterConfig.maxPacketBytes) bytes); use shorter node names"
            )
        }
        if c.spec.nodes.count == 2, c.spec.storage == nil, c.spec.quorum == .majority, c.spec.totalVotes >= 2,
            c.spec.nodes.allSatisfy({ $0.votes > 0 }), !c.spec.groups.isEmpty
        {
            c.warnings.append(
                "\(c.file):\(nodeTables[0].line): warning: a two-node cluster without [storage] cannot fail over: either node alone has 1 of 2 votes, no quorum, and runs nothing; add a [storage] table (the disk breaks the tie) or give one node votes = 2"
            )
        }
        return c
    }

    /// The most groups a cluster may have: every heartbeat carries one report line (and assignment) per group.
    public static let maxGroups = 32

    static func loadGroups(_ tables: [TOMLTable], into c: inout ClusterConfig, _ err: (Int, String) -> ConfigError) throws(ConfigError) {
        var seen: [String: Int] = [:]
        for t in tables {
            var name: String?
            var g = GroupSpec(name: "", resources: [])
            var resourcesLine: Int?
            for e in t.entries {
                switch e.key {
                case "name":
                    name = try string(e, err)
                    try checkName(name!, line: e.line, what: "group name", err)
                case "home":
                    let h = try string(e, err)
                    guard c.spec.node(named: h) != nil else {
                        throw err(
                            e.line,
                            "home: no [[node]] is named \"\(h)\"; expected one of: \(c.spec.nodes.map(\.name).joined(separator: ", "))")
                    }
                    g.home = h
                case "resources":
                    resourcesLine = e.line
                    for item in try strings(e, err) {
                        if case let .failure(why)? = ResourceSpec.parseOCF(item) {
                            throw err(e.line, "resources: \"\(item)\": \(why)")
                        }
                        guard let r = parseResource(item) else {
                            throw err(
                                e.line,
                                "resources: \"\(item)\" is not a resource; expected \"AGENT [ARGS...]\" like \"vm guest1\", or Heartbeat's \"IPaddr2::10.0.0.5/24/eth0\""
                            )
                        }
                        g.resources.append(r)
                    }
                case "auto_failback": g.autoFailback = try bool(e, err)
                case "start_timeout":
                    g.timeouts.start = try duration(e, err)
                    g.timeoutsSet.insert(.start)
                case "stop_timeout":
                    g.timeouts.stop = try duration(e, err)
                    g.timeoutsSet.insert(.stop)
                case "status_timeout":
                    g.timeouts.status = try duration(e, err)
                    g.timeoutsSet.insert(.status)
                case "max_restarts": g.maxRestarts = try int(e, err, in: 0...100)
                case "monitor_interval": g.monitorInterval = try duration(e, err)
                case "stop_retries": g.stopRetries = try int(e, err, in: 0...100)
                case "failure_timeout":
                    let t = try duration(e, err)
                    guard t == .zero || t >= .seconds(1) else {
                        throw err(e.line, "failure_timeout must be \"0s\" (failures kept until `vigil cleanup`) or at least 1s")
                    }
                    g.failureTimeout = t
                default:
                    throw err(
                        e.line,
                        "unknown key '\(e.key)' in [[group]]\(suggestion(e.key, groupKeys)); expected one of: \(groupKeys.joined(separator: ", "))"
                    )
                }
            }
            guard let n = name else { throw err(t.line, "[[group]] needs a name, like name = \"web\"") }
            guard !g.resources.isEmpty else {
                throw err(resourcesLine ?? t.line, "group \(n) needs resources, like resources = [\"ip 10.0.0.5/24/eth0\", \"vm guest1\"]")
            }
            if let other = seen[n] { throw err(t.line, "group \(n) is already defined on line \(other)") }
            seen[n] = t.line
            for (k, d) in [("start_timeout", g.timeouts.start), ("stop_timeout", g.timeouts.stop), ("status_timeout", g.timeouts.status)]
            where d < .milliseconds(100) {
                throw err(
                    t.entries.first { $0.key == k }?.line ?? t.line, "\(k) (\(d.compactDescription)) is too short; expected at least 100ms")
            }
            g.name = n
            c.resourceLines[n] = resourcesLine ?? t.line
            c.spec.groups.append(g)
        }
        guard c.spec.groups.count <= maxGroups else {
            throw err(tables[maxGroups].line, "too many groups: at most \(maxGroups) are supported (each heartbeat reports every group)")
        }
    }

    /// "vm guest1" (agent and arguments separated by spaces), Heartbeat's "IPaddr2::10.0.0.5/24/eth0", or an OCF
    /// agent with its parameters, "ocf:heartbeat:IPaddr2 ip=10.0.0.5 cidr_netmask=24".
    public static func parseResource(_ text: String) -> ResourceSpec? {
        if let ocf = ResourceSpec.parseOCF(text) { return try? ocf.get() }
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard let first = words.first else { return nil }
        if words.count == 1 { return ResourceSpec(haresources: first) }
        guard !first.contains("/"), !first.contains("::") else { return nil }
        return ResourceSpec(agent: first, arguments: Array(words.dropFirst()))
    }

    static func loadVirt(_ t: TOMLTable, into c: inout ClusterConfig, _ err: (Int, String) -> ConfigError) throws(ConfigError) {
        for e in t.entries {
            switch e.key {
            case "uri": c.virt.uri = try string(e, err)
            case "peer_uri": c.virt.peerURI = try string(e, err)
            case "migration_uri": c.virt.migrationURI = try string(e, err)
            case "max_downtime": c.virt.maxDowntime = try duration(e, err)
            case "auto_converge": c.virt.autoConverge = try bool(e, err)
            case "postcopy_after": c.virt.postcopyAfter = try int(e, err, in: 0...1000)
            case "migration_timeout": c.virt.migrationTimeout = try duration(e, err)
            case "liveness": c.virt.liveness = try choice(e, err, ["ping", "running"])
            case "liveness_timeout": c.virt.livenessTimeout = try duration(e, err)
            case "shutdown_timeout": c.virt.shutdownTimeout = try duration(e, err)
            case "definitions": c.virt.definitions = try string(e, err)
            default:
                throw err(
                    e.line,
                    "unknown key '\(e.key)' in [virt]\(suggestion(e.key, virtKeys)); expected one of: \(virtKeys.joined(separator: ", "))")
            }
        }
    }

    static let storageKeys = [
        "devices", "interval", "io_timeout", "watchdog_timeout", "msgwait", "self_fence",
        "watchdog", "initiator", "fence_stop_timeout"
    ]

    static func loadStorage(_ t: TOMLTable, into c: inout ClusterConfig, _ err: (Int, String) -> ConfigError) throws(ConfigError) {
        var s = StorageSpec(devices: [])
        var devicesLine = t.line
        for e in t.entries {
            switch e.key {
            case "devices":
                devicesLine = e.line
                s.devices = try strings(e, err)
                for d in s.devices {
                    do { _ = try StorageURL.parse(d) } catch { throw err(e.line, "storage device \(error)") }
                }
                if Set(s.devices).count != s.devices.count { throw err(e.line, "a storage device is listed twice") }
            case "interval": s.interval = try duration(e, err)
            case "io_timeout": s.ioTimeout = try duration(e, err)
            case "watchdog_timeout": s.watchdogTimeout = try duration(e, err)
            case "msgwait": s.msgwait = try duration(e, err)
            case "self_fence": s.selfFence = SelfFenceMode(rawValue: try choice(e, err, ["reboot", "stop-resources"]))!
            case "watchdog": s.watchdogDevice = try string(e, err)
            case "initiator": s.initiator = try string(e, err)
            case "fence_stop_timeout": s.fenceStopTimeout = try duration(e, err)
            default:
                throw err(
                    e.line,
                    "unknown key '\(e.key)' in [storage]\(suggestion(e.key, storageKeys)); expected one of: \(storageKeys.joined(separator: ", "))"
                )
            }
        }
        guard !s.devices.isEmpty else {
            throw err(devicesLine, "[storage] needs devices = [\"iscsi://PORTAL/IQN/LUN\" or \"aoe://IFACE/SHELF.SLOT\", ...]")
        }
        guard s.interval > .zero, s.ioTimeout > .zero, s.watchdogTimeout > .zero, s.msgwait > .zero else {
            throw err(t.line, "[storage] timings must be positive")
        }
        if let p = s.timingProblems(deadtime: c.spec.timing.deadtime).first {
            let key = p.hasPrefix("msgwait") ? "msgwait" : p.hasPrefix("watchdog") ? "watchdog_timeout" : "io_timeout"
            throw err(t.entries.first { $0.key == key }?.line ?? t.line, p)
        }
        func line(_ key: String) -> Int { t.entries.first { $0.key == key }?.line ?? t.line }
        if s.watchdogDevice != nil, s.watchdogTimeout.nanoseconds % 1_000_000_000 != 0 {
            let up = s.watchdogTimeout.nanoseconds / 1_000_000_000 + 1
            throw err(
                line("watchdog_timeout"),
                "watchdog_timeout (\(s.watchdogTimeout.compactDescription)) must be a whole number of seconds with a watchdog device: the Linux watchdog counts seconds, so the machine would be reset after \(up) s while the others count it fenced as if it were \(s.watchdogTimeout.compactDescription)"
            )
        }
        let resources = c.spec.groups.map(\.resources.count).max() ?? 0
        let deadtime = c.spec.timing.deadtime
        if let fst = s.fenceStopTimeout, fst <= .zero {
            throw err(line("fence_stop_timeout"), "fence_stop_timeout must be positive")
        }
        let fst = s.fenceStopTimeout(resources: resources, deadtime: deadtime)
        if s.selfFence == .stopResources, s.watchdogDevice == nil, resources > 0,
            fst <= .zero || deadtime + s.watchdogTimeout + fst * resources > s.msgwait
        {
            throw err(
                line(s.fenceStopTimeout == nil ? "msgwait" : "fence_stop_timeout"),
                "self_fence = \"stop-resources\" without a watchdog device: a fenced node must have stopped every resource within msgwait (\(s.msgwait.compactDescription)) of the fencer's clock, but deadtime (\(deadtime.compactDescription)) + watchdog_timeout (\(s.watchdogTimeout.compactDescription)) + \(resources) resource(s) x fence_stop_timeout (\(fst.compactDescription)) is longer (or leaves no time to stop); lower fence_stop_timeout, raise msgwait, or set a watchdog device"
            )
        }
        if s.watchdogDevice == nil {
            c.warnings.append(
                "\(c.file):\(t.line): warning: [storage] has no watchdog device: a hung or killed agent is not covered, and its groups can run twice once msgwait has passed; set watchdog = \"/dev/watchdog\" (softdog) on real nodes"
            )
        }
        if let long = c.spec.nodes.first(where: { $0.name.utf8.count > SlotArea.maxName }) {
            throw err(t.line, "node name \(long.name) is longer than the \(SlotArea.maxName) bytes a storage slot holds")
        }
        c.spec.storage = s
    }

    // MARK: - Typed accessors

    static func strings(_ e: TOMLEntry, _ err: (Int, String) -> ConfigError) throws(ConfigError) -> [String] {
        guard case let .array(items) = e.value else {
            throw err(e.line, "\(e.key): expected an array of strings, got \(describe(e.value))")
        }
        var out: [String] = []
        for i in items {
            guard case let .string(s) = i else { throw err(e.line, "\(e.key): expected an array of strings, got \(describe(i)) in it") }
            out.append(s)
        }
        return out
    }

    static func string(_ e: TOMLEntry, _ err: (Int, String) -> ConfigError) throws(ConfigError) -> String {
        guard case let .string(s) = e.value else { throw err(e.line, "\(e.key): expected a string in quotes, got \(describe(e.value))") }
        return s
    }

    static func bool(_ e: TOMLEntry, _ err: (Int, String) -> ConfigError) throws(ConfigError) -> Bool {
        guard case let .bool(b) = e.value else { throw err(e.line, "\(e.key): expected true or false, got \(describe(e.value))") }
        return b
    }

    static func int(_ e: TOMLEntry, _ err: (Int, String) -> ConfigError, in range: ClosedRange<Int>) throws(ConfigError) -> Int {
        guard case let .integer(v) = e.value, v >= range.lowerBound, v <= range.upperBound else {
            throw err(e.line, "\(e.key): expected an integer from \(range.lowerBound) to \(range.upperBound), got \(describe(e.value))")
        }
        return Int(v)
    }

    static func choice(_ e: TOMLEntry, _ err: (Int, String) -> ConfigError, _ options: [String]) throws(ConfigError) -> String {
        guard case let .string(s) = e.value, options.contains(s) else {
            throw err(e.line, "\(e.key): expected one of \(options.map { "\"\($0)\"" }.joined(separator: ", ")), got \(describe(e.value))")
        }
        return s
    }

    static func duration(_ e: TOMLEntry, _ err: (Int, String) -> ConfigError) throws(ConfigError) -> Duration {
        guard case let .string(s) = e.value, let d = parseDuration(s) else {
            throw err(e.line, "\(e.key): expected a duration with a unit, like \"200ms\", \"1.5s\" or \"500us\", got \(describe(e.value))")
        }
        return d
    }

    /// Parses "250ms", "1.5s", "40us", "2m", "1h". Fractions are allowed; the result is rounded to microseconds.
    public static func parseDuration(_ s: String) -> Duration? {
        let units: [(String, Double)] = [("us", 1e3), ("ms", 1e6), ("s", 1e9), ("m", 60e9), ("h", 3600e9)]
        for (suffix, scale) in units where s.hasSuffix(suffix) {
            let number = s.dropLast(suffix.count)
            guard !number.isEmpty, number.allSatisfy({ $0.isNumber || $0 == "." }), let v = Double(number), v >= 0, v < 1e6 else {
                continue
            }
            let ns = (v * scale / 1e3).rounded() * 1e3
            return .nanoseconds(Int64(ns))
        }
        return nil
    }

    /// Text that `parseDuration` reads back as `d` rounded to microseconds, for writing a generated config
    /// (`compactDescription` gives "1000500us", past the 1e6 per unit that parseDuration reads): a whole number
    /// of s, ms or us where one fits below 1e6, else a fraction of ms or s. For `d` below a million seconds.
    public static func durationText(_ d: Duration) -> String {
        let us = Int(max(0, (d.nanoseconds + 500) / 1_000))
        for (unit, per) in [("s", 1_000_000), ("ms", 1_000), ("us", 1)] where us % per == 0 && us / per < 1_000_000 {
            return "\(us / per)\(unit)"
        }
        for (unit, per, digits) in [("ms", 1_000, 3), ("s", 1_000_000, 6)] where us / per < 1_000_000 {
            let fraction = String(us % per)
            return "\(us / per).\(String(repeating: "0", count: digits - fraction.count))\(fraction)\(unit)"
        }
        return "\(us / 60_000_000)m"
    }

    static func describe(_ v: TOMLValue) -> String {
        switch v {
        case let .string(s): "\"\(s)\""
        case let .integer(i): "\(i)"
        case let .float(d): "\(d)"
        case let .bool(b): "\(b)"
        case .array: "an array"
        }
    }

    /// A character names may hold: ASCII letters, digits, '.', '_' and '-'.
    public static func isNameScalar(_ u: Unicode.Scalar) -> Bool {
        u.isASCII && (u.properties.isAlphabetic || ("0"..."9").contains(u) || "._-".unicodeScalars.contains(u))
    }

    /// Whether `n` is a valid cluster, node or group name (1 to `maxNameLength` name characters).
    public static func isValidName(_ n: String) -> Bool {
        !n.isEmpty && n.utf8.count <= ClusterConfig.maxNameLength && n.unicodeScalars.allSatisfy(isNameScalar)
    }

    /// Whether `s` can name a network interface in `interfaces`: 1 to 15 bytes (IFNAMSIZ), no '/'.
    public static func isInterfaceName(_ s: String) -> Bool { !s.isEmpty && !s.contains("/") && s.utf8.count < 16 }

    /// The largest heartbeat (header, four names, the view of every node, the MAC) a cluster of these nodes sends;
    /// at most `ClusterConfig.maxPacketBytes`.
    public static func heartbeatBytes(nodeNames: [String]) -> Int {
        let longest = nodeNames.map(\.utf8.count).max() ?? 0
        return 36 + 4 * (1 + longest) + 1 + nodeNames.reduce(0) { $0 + $1.utf8.count + 6 } + 32
    }

    static func checkName(_ n: String, line: Int, what: String, _ err: (Int, String) -> ConfigError) throws(ConfigError) {
        guard isValidName(n) else {
            throw err(line, "\(what) \"\(n)\": expected 1 to \(ClusterConfig.maxNameLength) characters of letters, digits, '.', '_' or '-'")
        }
    }

    /// "did you mean …" for a misspelt key.
    static func suggestion(_ key: String, _ known: [String]) -> String {
        let best = known.map { ($0, editDistance($0, key)) }.min { $0.1 < $1.1 }
        guard let (k, d) = best, d <= 2 else { return "" }
        return " (did you mean '\(k)'?)"
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var prev = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var cur = [i] + Array(repeating: 0, count: b.count)
            for j in 1...max(b.count, 1) where !b.isEmpty {
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            prev = cur
        }
        return prev[b.count]
    }
}

/// Whether `s` is a dotted-quad IPv4 address.
public func isIPv4(_ s: String) -> Bool {
    let parts = s.split(separator: ".", omittingEmptySubsequences: false)
    return parts.count == 4
        && parts.allSatisfy { p in
            !p.isEmpty && p.count <= 3 && p.allSatisfy(\.isASCII) && p.allSatisfy(\.isNumber) && (Int(p) ?? 256) <= 255
                && !(p.count > 1 && p.hasPrefix("0"))  // inet_pton refuses leading zeros, so the agent could not bind
        }
}

/// Whether `s` is an IPv4 dotted quad or an IPv6 literal (checked with inet_pton).
public func isIPAddress(_ s: String) -> Bool {
    if isIPv4(s) { return true }
    var buf = in6_addr()
    return s.contains(":") && inet_pton(AF_INET6, s, &buf) == 1
}

/// Whether `s` is an IPv4 multicast address (224.0.0.0/4).
func isMulticastIPv4(_ s: String) -> Bool {
    guard isIPv4(s), let first = Int(s.split(separator: ".")[0]) else { return false }
    return (224...239).contains(first)
}

/// The [virt] table: settings of the `vm` resource agent (`vigil virt`). Documented in docs/configuration.md.
public struct VirtSettings: Sendable, Equatable {
    /// This node's libvirt (overridden per node by `[[node]] libvirt_uri`).
    public var uri = "qemu:///system"
    /// How to reach a peer's libvirt; {node} and {address} (its first link address) are replaced.
    /// A peer's `[[node]] libvirt_uri` wins.
    public var peerURI = "qemu+tcp://{address}/system"
    /// Where migration data goes ({address}: the destination's first link address).
    public var migrationURI = "tcp://{address}"
    /// Max downtime set on the source before every migration.
    public var maxDowntime: Duration = .milliseconds(30)
    public var autoConverge = false
    /// Switch to post-copy after this many pre-copy passes (0: never).
    public var postcopyAfter = 0
    public var migrationTimeout: Duration = .seconds(120)
    /// After a migration or a cold start: "ping" (the address given to the vm agent must answer) or
    /// "running" (libvirt says running; for guests without an address).
    public var liveness = "ping"
    public var livenessTimeout: Duration = .seconds(60)
    /// Graceful shutdown time of a plain stop before the domain is destroyed.
    public var shutdownTimeout: Duration = .seconds(60)
    /// Directory of DOMAIN.xml definitions on shared storage, for cold starts of undefined domains.
    public var definitions = "/etc/vigil/vm"

    public init() {}
}

extension ClusterConfig {
    /// The libvirt URI to reach `node`'s hypervisor from this node (`me`).
    public func libvirtURI(of node: String, from me: String) -> String {
        if let u = libvirtURIs[node] { return u }
        if node == me { return virt.uri }
        let address = spec.node(named: node)?.addresses.first ?? node
        return virt.peerURI.replacingPlaceholders(node: node, address: address)
    }

    /// The migration data URI towards `node`.
    public func migrationURI(to node: String) -> String {
        let address = spec.node(named: node)?.addresses.first ?? node
        return virt.migrationURI.replacingPlaceholders(node: node, address: address)
    }
}

extension String {
    func replacingPlaceholders(node: String, address: String) -> String {
        let bracketed = address.contains(":") ? "[\(address)]" : address
        var out = ""
        var rest = Substring(self)
        while let r = rest.firstRange(of: "{") {
            out += rest[..<r.lowerBound]
            let after = rest[r.upperBound...]
            if after.hasPrefix("node}") {
                out += node; rest = after.dropFirst(5)
            } else if after.hasPrefix("address}") {
                out += bracketed; rest = after.dropFirst(8)
            } else {
                out += "{"; rest = after
            }
        }
        return out + rest
    }
}

extension ClusterConfig {
    /// The multicast group of link `link`: the base group with `link` added to its last octet.
    public func multicastGroup(link: Int) -> String {
        var parts = multicastGroup.split(separator: ".").map(String.init)
        parts[3] = String((Int(parts[3]) ?? 0) + link)
        return parts.joined(separator: ".")
    }
}
