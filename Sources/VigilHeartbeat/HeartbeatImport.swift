import VigilConfig
import VigilCore
import VigilWire

/// Turns a Heartbeat 3.0.6 configuration directory (ha.cf, haresources, authkeys) into an equivalent
/// cluster.conf, with a comment on every setting saying which line it came from. `vigil import-heartbeat`
/// prints the text; `vigil agent --heartbeat-config DIR` loads it with `ConfigLoader` and runs it.
///
/// Pure apart from the injected lookups, so tests can give it any machine's interfaces.
public struct HeartbeatImport: Sendable {
    /// What the import needs to know about the machine it runs on.
    public struct Environment: Sendable {
        /// This node's name (`uname -n` or `--node`), if it runs on a cluster node.
        public var me: String?
        /// The IPv4 addresses of a network interface on this machine, primary first (empty: no such interface).
        public var interfaceAddresses: @Sendable (String) -> [String]
        /// The addresses a host name resolves to (for telling which ucast address is which node's).
        public var resolve: @Sendable (String) -> [String]
        /// Whether a resource script is found (resource.d, then init.d).
        public var scriptExists: @Sendable (String) -> Bool

        public init(
            me: String?, interfaceAddresses: @escaping @Sendable (String) -> [String] = { _ in [] },
            resolve: @escaping @Sendable (String) -> [String] = { _ in [] },
            scriptExists: @escaping @Sendable (String) -> Bool = { _ in true }
        ) {
            self.me = me
            self.interfaceAddresses = interfaceAddresses
            self.resolve = resolve
            self.scriptExists = scriptExists
        }
    }

    /// The generated cluster.conf text.
    public var text: String
    /// What Vigil does differently, line by line (never fatal).
    public var warnings: [HeartbeatDiagnostic]
    /// ha.cf's mcast lines: where a Heartbeat daemon would send, so the agent can listen there for one.
    public var heartbeatMulticast: [HeartbeatMulticast] = []

    /// One `mcast IF GROUP PORT TTL LOOP` line of ha.cf.
    public struct HeartbeatMulticast: Sendable, Equatable {
        public var interface: String
        public var group: String
        public var port: Int
    }

    /// Heartbeat's defaults (heartbeat/config.c).
    public static let defaultKeepalive: Duration = .seconds(1)
    public static let defaultDeadtime: Duration = .seconds(30)
    /// HA_STOPRETRYMAX in ResourceManager: a stop is tried this often, 1 s apart.
    public static let stopAttempts = 10

    /// Imports the three files of `directory`. `nativeOCF` (what `vigil import-heartbeat` writes, not what
    /// `--heartbeat-config` runs) turns resource.d wrappers of OCF agents into native OCF resources. `haresources` may be absent (no groups); `authkeys` is
    /// checked here (syntax, the `auth` selection, mode 0600) unless `authkeysMode` is nil.
    public static func run(
        directory: String, haCF: String, haresources: String?, authkeys: String?,
        authkeysMode: UInt32?, allowCRC: Bool = false, nativeOCF: Bool = false,
        environment env: Environment
    ) throws(HeartbeatImportError) -> HeartbeatImport {
        var b = Builder(directory: directory, env: env)
        b.nativeOCF = nativeOCF
        b.allowCRC = allowCRC
        b.readHACF(haCF)
        if let a = authkeys { b.readAuthkeys(a, mode: authkeysMode) }
        if let h = haresources {
            b.readHAResources(h)
        } else {
            b.warn("\(directory)/haresources", 1, "no haresources file: the cluster has no resource groups")
        }
        let addresses = b.addresses()
        for note in addresses.notes { b.warn("\(directory)/ha.cf", b.links.first?.line ?? 1, note) }
        b.diagnostics.sort { ($0.file, $0.line) < ($1.file, $1.line) }
        let errors = b.diagnostics.filter { $0.severity == .error }
        guard errors.isEmpty else { throw HeartbeatImportError(diagnostics: errors) }
        let text = b.render(addresses: addresses)
        // The generated text must load: a mistake here is the importer's bug, reported against the generated text.
        do { _ = try ConfigLoader.load(text: text, file: "\(directory) (imported)") } catch let e {
            throw HeartbeatImportError(diagnostics: [e.asDiagnostic(origin: "\(directory) (generated cluster.conf)")])
        }
        return HeartbeatImport(
            text: text, warnings: b.diagnostics.filter { $0.severity == .warning },
            heartbeatMulticast: b.mcastLines)
    }
}

/// One heartbeat link as ha.cf describes it: an interface and how packets went on it.
struct HALink {
    var interface: String
    var line: Int
    var media: [String]
    var ucastPeers: [String] = []
    var shared = false  // bcast or mcast: peers' addresses are not in ha.cf
}

/// The import in progress: what the three files said so far, and every diagnostic with its line.
struct Builder {
    let directory: String
    let env: HeartbeatImport.Environment
    var diagnostics: [HeartbeatDiagnostic] = []
    /// Write resource.d wrappers of OCF agents as native OCF resources (`vigil import-heartbeat`).
    var nativeOCF = false

    var clusterName = "linux-ha"
    var clusterLine: Int?
    var nodes: [(name: String, line: Int)] = []
    var timings: [String: (Duration, Int, String)] = [:]
    var port = 694
    var portLine: Int?
    var firstMediaLine: Int?
    var links: [HALink] = []
    var autoFailback: (Bool, String) = (true, "Heartbeat's default auto_failback legacy (acts as on)")
    var realtime: (Bool, Int)?
    var rtprio: (Int, Int)?
    var logFile: (String, Int)?
    var logFacility: (String, Int)?
    var respawns: [(String, Int)] = []
    var pingNodes: [(String, Int)] = []
    var deadping: (Duration, Int)?
    var authNote = "authkeys"
    var allowCRC = false
    var groups: [(GroupSpec, Int)] = []
    var mcastLines: [HeartbeatImport.HeartbeatMulticast] = []

    init(directory: String, env: HeartbeatImport.Environment) {
        self.directory = directory
        self.env = env
    }

    var haCFPath: String { "\(directory)/ha.cf" }

    mutating func warn(_ file: String, _ line: Int, _ msg: String) {
        diagnostics.append(HeartbeatDiagnostic(severity: .warning, file: file, line: line, message: msg))
    }

    mutating func fail(_ file: String, _ line: Int, _ msg: String) {
        diagnostics.append(HeartbeatDiagnostic(severity: .error, file: file, line: line, message: msg))
    }

    /// Directives Vigil has no use for, and why (each gets a warning naming its line).
    static let ignored: [String: String] = [
        "hopfudge": "Vigil never forwards heartbeats, so there is no hop count",
        "baud": "serial links are not supported",
        "msgfmt": "Vigil has its own binary wire format",
        "use_apphbd": "there is no apphbd; run `vigil agent` under systemd, whose watchdog Vigil feeds",
        "log_badpack": "Vigil always counts bad packets (`vigil status` counters) and logs the first of each kind",
        "syslogmsgfmt": "Vigil logs to the systemd journal with fields",
        "coredumps": "core dumps follow the system's settings (systemd-coredump)",
        "coreroot": "core dumps follow the system's settings (systemd-coredump)",
        "hbgenmethod": "Vigil keeps its incarnation in state_dir (never smaller than the last run's)",
        "normalpoll": "Vigil is event-driven",
        "uuidfrom": "Vigil identifies nodes by name",
        "compression": "Vigil heartbeats fit one packet; nothing is compressed",
        "compression_threshold": "Vigil heartbeats fit one packet; nothing is compressed",
        "traditional_compression": "Vigil heartbeats fit one packet; nothing is compressed",
        "env": "set resource-script environment in the scripts or the systemd unit",
        "max_rexmit_delay": "Vigil does not retransmit heartbeats; every one carries the whole state",
        "record_config_changes": "Pacemaker only",
        "record_pengine_inputs": "Pacemaker only",
        "enable_config_writes": "Pacemaker only",
        "crm_daemon_dir": "Pacemaker only",
        "crmd_spawns_pengine": "Pacemaker only",
        "memreserve": "Vigil locks its memory instead (lock_memory = true)",
        "conn_logd_time": "there is no logd; Vigil logs to the journal",
        "use_logd": "there is no logd; Vigil logs to the systemd journal (and log_file if set)",
        "quorum_server": "there is no quorum server; add a [storage] table for two-node tie-breaking",
        "apiauth": "there is no Heartbeat API for clients; Vigil's control socket is root-only",
        "failfast": "there is no Heartbeat API for clients to fail fast",
        "debug": "use `vigil agent --log-level debug`",
        "debugfile": "debug output goes with the rest of the log (journal, and log_file if set)",
        "hbaping": "Fibre Channel HBA pings are not supported; use ping nodes",
        "serial": "serial links are not supported; use a second LAN (another link) or a [storage] table (disk heartbeat)",
        "watchdog": "Vigil feeds a watchdog only with shared storage: set `watchdog` in a [storage] table",
        "stonith": "STONITH plugins are not run; Vigil fences by poison pill on shared storage ([storage] table)",
        "stonith_host": "STONITH plugins are not run; Vigil fences by poison pill on shared storage ([storage] table)"
    ]

    // MARK: ha.cf

    mutating func readHACF(_ text: String) {
        let file = haCFPath
        var seen: [String: Int] = [:]
        for d in HeartbeatFiles.directives(text) {
            let k = d.keyword
            func one() -> String? {
                guard d.words.count == 1 else {
                    fail(file, d.line, "\(k): expected one value, got \(d.words.isEmpty ? "none" : "\"\(d.value)\"")")
                    return nil
                }
                return d.words[0]
            }
            func onOff(_ s: String) -> Bool? {
                switch s.lowercased() {
                case "on", "yes", "true", "y", "1": true
                case "off", "no", "false", "n", "0": false
                default: nil
                }
            }
            let singular = [
                "cluster", "keepalive", "deadtime", "warntime", "initdead", "deadping", "udpport",
                "auto_failback", "nice_failback", "logfile", "logfacility", "crm", "pacemaker", "realtime", "rtprio"
            ]
            if singular.contains(k), let earlier = seen[k] {
                warn(file, d.line, "\(k) is also set on line \(earlier); the later one wins, as in Heartbeat")
            }
            seen[k] = d.line
            switch k {
            case "cluster":
                guard let v = one() else { continue }
                guard ConfigLoader.isValidName(v) else {
                    fail(file, d.line, "cluster \"\(v)\": Vigil cluster names are 1 to 63 letters, digits, '.', '_' or '-'"); continue
                }
                clusterName = v
                clusterLine = d.line
            case "node":
                guard !d.words.isEmpty else { fail(file, d.line, "node: expected one or more node names"); continue }
                for n in d.words.map({ $0.lowercased() }) {
                    if let other = nodes.first(where: { $0.name == n }) {
                        fail(file, d.line, "node \(n) is already listed on line \(other.line)")
                    } else if !ConfigLoader.isValidName(n) {
                        fail(file, d.line, "node \"\(n)\": Vigil node names are 1 to 63 letters, digits, '.', '_' or '-'")
                    } else {
                        nodes.append((n, d.line))
                    }
                }
            case "keepalive", "deadtime", "warntime", "initdead", "deadping":
                guard let v = one() else { continue }
                guard let t = HeartbeatFiles.parseTime(v) else {
                    fail(
                        file, d.line,
                        "\(k) \(v): expected a time: seconds (\"2\", \"0.5\"), or with ms/msec or us/usec (\"500ms\"); Heartbeat reads \"\(v)\" as no time at all"
                    )
                    continue
                }
                if k == "deadping" { deadping = (t, d.line) } else { timings[k] = (t, d.line, "\(k) \(v)") }
            case "udpport":
                guard let v = one() else { continue }
                guard let p = Int(v), (1...65535).contains(p) else {
                    fail(file, d.line, "udpport \(v): expected a port number from 1 to 65535"); continue
                }
                if let m = firstMediaLine {
                    fail(
                        file, d.line,
                        "udpport must come before the media lines (bcast/mcast/ucast, first on line \(m)): Heartbeat binds those with the port known then"
                    )
                }
                port = p
                portLine = d.line
            case "bcast", "udp":
                guard !d.words.isEmpty else { fail(file, d.line, "\(k): expected one or more interfaces, like \"bcast eth1\""); continue }
                if k == "udp" { warn(file, d.line, "udp is Heartbeat's old name for bcast (read as bcast)") }
                firstMediaLine = firstMediaLine ?? d.line
                for i in d.words { addLink(i, d, shared: true, media: "bcast \(i)") }
            case "mcast":
                guard d.words.count == 5 else {
                    fail(file, d.line, "mcast: expected \"mcast INTERFACE GROUP PORT TTL LOOP\", like \"mcast eth1 225.0.0.1 694 1 0\"")
                    continue
                }
                firstMediaLine = firstMediaLine ?? d.line
                guard isIPv4(d.words[1]), let first = Int(d.words[1].split(separator: ".")[0]), (224...239).contains(first) else {
                    fail(file, d.line, "mcast: \(d.words[1]) is not an IPv4 multicast group (224.0.0.0 to 239.255.255.255)"); continue
                }
                guard let p = Int(d.words[2]), (1...65535).contains(p) else {
                    fail(file, d.line, "mcast: port \(d.words[2]) is not a port number"); continue
                }
                warn(
                    file, d.line,
                    "mcast: Vigil sends this link's heartbeats to its own multicast group (multicast_group plus the link number) on port \(port), not to \(d.words[1]):\(p); every node imports the same, so they agree"
                )
                guard addLink(d.words[0], d, shared: true, media: "mcast \(d.value)") else { continue }
                mcastLines.append(.init(interface: d.words[0], group: d.words[1], port: p))
            case "ucast":
                guard d.words.count == 2 else {
                    fail(file, d.line, "ucast: expected \"ucast INTERFACE PEER-ADDRESS\", like \"ucast eth1 10.0.0.2\""); continue
                }
                firstMediaLine = firstMediaLine ?? d.line
                guard isIPv4(d.words[1]) else {
                    fail(
                        file, d.line,
                        "ucast: \(d.words[1]) is not an IPv4 address (ucast is IPv4 in Heartbeat too; ucast6 is not supported, and Vigil does not resolve host names in ha.cf)"
                    ); continue
                }
                guard addLink(d.words[0], d, shared: false, media: "ucast \(d.value)"),
                    let i = links.firstIndex(where: { $0.interface == d.words[0] })
                else { continue }
                if !links[i].ucastPeers.contains(d.words[1]) { links[i].ucastPeers.append(d.words[1]) }
            case "ping":
                guard !d.words.isEmpty else { fail(file, d.line, "ping: expected one or more addresses"); continue }
                for h in d.words { pingNodes.append((h, d.line)) }
            case "ping_group":
                guard d.words.count >= 2 else { fail(file, d.line, "ping_group: expected \"ping_group NAME ADDRESS...\""); continue }
                warn(
                    file, d.line,
                    "ping_group \(d.words[0]): Vigil counts its addresses as ping nodes of their own (Heartbeat counts the group as one node, up if any address answers)"
                )
                for h in d.words.dropFirst() { pingNodes.append((h, d.line)) }
            case "auto_failback":
                guard let v = one() else { continue }
                switch v.lowercased() {
                case "legacy":
                    autoFailback = (true, "ha.cf:\(d.line) auto_failback legacy (deprecated in Heartbeat; acts as on)")
                    warn(file, d.line, "auto_failback legacy is deprecated (Heartbeat says so too): Vigil acts as with auto_failback on")
                default:
                    guard let b = onOff(v) else { fail(file, d.line, "auto_failback \(v): expected on, off or legacy"); continue }
                    autoFailback = (b, "ha.cf:\(d.line) auto_failback \(v)")
                }
            case "nice_failback":
                guard let v = one() else { continue }
                guard let b = onOff(v) else { fail(file, d.line, "nice_failback \(v): expected on or off"); continue }
                autoFailback = (!b, "ha.cf:\(d.line) nice_failback \(v) (the old name: nice_failback on = auto_failback off)")
                warn(
                    file, d.line,
                    "nice_failback is Heartbeat's old name for auto_failback (nice_failback \(v) = auto_failback \(b ? "off" : "on"))")
            case "respawn":
                guard d.words.count >= 2 else { fail(file, d.line, "respawn: expected \"respawn USER PROGRAM [ARGS...]\""); continue }
                if d.words[1].hasSuffix("/ipfail") {
                    warn(file, d.line, "respawn of ipfail dropped: Vigil does ipfail's job itself with the ping nodes")
                } else if d.words[1].hasPrefix("/") {
                    respawns.append((d.value, d.line))
                } else {
                    fail(file, d.line, "respawn: the program \(d.words[1]) must be an absolute path")
                }
            case "logfile":
                guard let v = one() else { continue }
                guard v.hasPrefix("/") else { fail(file, d.line, "logfile \(v): expected an absolute path"); continue }
                logFile = (v, d.line)
            case "logfacility":
                guard let v = one() else { continue }
                guard v == "none" || ClusterConfig.syslogFacilities.contains(v) else {
                    fail(
                        file, d.line,
                        "logfacility \(v): expected a syslog facility (\(ClusterConfig.syslogFacilities.joined(separator: ", "))) or none");
                    continue
                }
                logFacility = (v, d.line)
            case "crm", "pacemaker":
                guard let v = one() else { continue }
                if onOff(v) == false { continue }
                fail(
                    file, d.line,
                    "\(k) \(v): Vigil replaces Heartbeat's v1 resource manager (haresources), not Pacemaker: a cluster that runs Pacemaker on Heartbeat keeps its CIB, constraints and OCF agents there; migrate it to Pacemaker on Corosync instead, or rewrite its resources as haresources groups and set crm no"
                )
            case "realtime":
                guard let v = one() else { continue }
                guard let b = onOff(v) else { fail(file, d.line, "realtime \(v): expected on or off"); continue }
                realtime = (b, d.line)
            case "rtprio":
                guard let v = one() else { continue }
                guard let p = Int(v), (1...99).contains(p) else {
                    fail(file, d.line, "rtprio \(v): expected a priority from 1 to 99"); continue
                }
                rtprio = (p, d.line)
            case "autojoin":
                guard let v = one() else { continue }
                if v.lowercased() != "none" {
                    warn(
                        file, d.line,
                        "autojoin \(v): Vigil has no autojoin; every node must be listed with a node line (quorum needs the full list)")
                }
            default:
                if let why = Self.ignored[k] {
                    warn(file, d.line, "\(k) ignored: \(why)")
                } else if ["mcast6", "ucast6", "ping6", "tipc", "rds", "openais"].contains(k) {
                    fail(file, d.line, "\(k): this medium is not supported by Vigil; use bcast, mcast or ucast over IPv4")
                } else {
                    fail(file, d.line, "unknown directive \"\(k)\" (Heartbeat refuses it too)")
                }
            }
        }
        if nodes.isEmpty { fail(file, max(1, firstMediaLine ?? 1), "no node lines: list every cluster node, like \"node alpha beta\"") }
        if links.isEmpty { fail(file, 1, "no media lines (bcast, mcast or ucast): the nodes would never hear each other") }
        // What cluster.conf cannot carry, on the line that goes too far (the loader would refuse the generated text).
        if nodes.count > ClusterConfig.maxNodes {
            fail(file, nodes[ClusterConfig.maxNodes].line, "too many nodes: Vigil supports \(ClusterConfig.maxNodes)")
        } else if ConfigLoader.heartbeatBytes(nodeNames: nodes.map(\.name)) > ClusterConfig.maxPacketBytes {
            fail(
                file, nodes.last!.line,
                "\(nodes.count) nodes with names this long do not fit one Vigil heartbeat (\(ConfigLoader.heartbeatBytes(nodeNames: nodes.map(\.name))) > \(ClusterConfig.maxPacketBytes) bytes); use shorter node names"
            )
        }
        if links.count > ClusterConfig.maxLinks {
            fail(file, links[ClusterConfig.maxLinks].line, "too many interfaces: Vigil supports \(ClusterConfig.maxLinks) links")
        }
        var uniquePings: [(String, Int)] = []
        for p in pingNodes where !uniquePings.contains(where: { $0.0 == p.0 }) { uniquePings.append(p) }
        if uniquePings.count > ClusterConfig.maxPingNodes {
            fail(
                file, uniquePings[ClusterConfig.maxPingNodes].1,
                "too many ping nodes: Vigil pings at most \(ClusterConfig.maxPingNodes) addresses")
        }
        for (h, l) in pingNodes where !isIPv4(h) {
            fail(file, l, "ping \(h): Vigil pings IPv4 addresses only (it does not resolve names in ha.cf)")
        }
        if deadping != nil, pingNodes.isEmpty { warn(file, deadping!.1, "deadping without ping nodes has no effect") }
        if let me = env.me, !nodes.isEmpty, !nodes.contains(where: { $0.name == me.lowercased() }) {
            warn(file, nodes[0].line, "this machine (\(me)) is not among the node lines; its own addresses are not looked up")
        }
        checkTimings()
    }

    /// Adds a media line to its interface's link; false (with an error) if the interface name cannot be one.
    @discardableResult
    mutating func addLink(_ interface: String, _ d: HADirective, shared: Bool, media: String) -> Bool {
        guard ConfigLoader.isInterfaceName(interface) else {
            fail(haCFPath, d.line, "\(d.keyword): \"\(interface)\" is not a network interface name (1 to 15 bytes, no '/')")
            return false
        }
        if let i = links.firstIndex(where: { $0.interface == interface }) {
            links[i].media.append("ha.cf:\(d.line) \(media)")
            links[i].shared = links[i].shared || shared
        } else {
            links.append(HALink(interface: interface, line: d.line, media: ["ha.cf:\(d.line) \(media)"], shared: shared))
        }
        return true
    }

    /// The effective timings, and Heartbeat's own checks on them (config.c).
    var keepalive: Duration { timings["keepalive"]?.0 ?? HeartbeatImport.defaultKeepalive }
    var deadtime: Duration { timings["deadtime"]?.0 ?? HeartbeatImport.defaultDeadtime }
    var warntime: Duration { timings["warntime"]?.0 ?? deadtime / 2 }
    var initdead: Duration {
        if let i = timings["initdead"] { return i.0 }
        if deadtime > .seconds(10) { return deadtime }
        if deadtime < .seconds(6) { return .seconds(12) }
        return deadtime * 2
    }

    mutating func checkTimings() {
        let file = haCFPath
        func line(_ k: String) -> Int { timings[k]?.1 ?? 1 }
        if keepalive < .milliseconds(1) {
            fail(file, line("keepalive"), "keepalive \(keepalive.compactDescription): Vigil's interval must be at least 1ms")
        }
        if deadtime <= keepalive * 2 {
            fail(
                file, line("deadtime"),
                "deadtime (\(deadtime.compactDescription)) must be more than twice keepalive (\(keepalive.compactDescription)); Heartbeat refuses this too"
            )
        }
        if initdead < deadtime {
            fail(
                file, line("initdead"),
                "initdead (\(initdead.compactDescription)) must be at least deadtime (\(deadtime.compactDescription)); Heartbeat refuses this too"
            )
        }
        if warntime < keepalive || warntime >= deadtime {
            // Heartbeat accepts this (it only warns late); Vigil needs keepalive <= warntime < deadtime.
            let clamped = min(max(warntime, keepalive), deadtime - .milliseconds(1))
            warn(
                file, line("warntime"),
                "warntime \(warntime.compactDescription) is outside keepalive (\(keepalive.compactDescription)) to deadtime (\(deadtime.compactDescription)); Vigil uses \(clamped.compactDescription)"
            )
            timings["warntime"] = (clamped, line("warntime"), timings["warntime"]?.2 ?? "warntime (default)")
        }
        if let (dp, l) = deadping, dp <= keepalive * 2 {
            fail(file, l, "deadping (\(dp.compactDescription)) must be more than twice keepalive (\(keepalive.compactDescription))")
        }
    }

    // MARK: authkeys

    mutating func readAuthkeys(_ text: String, mode: UInt32?) {
        let file = "\(directory)/authkeys"
        do {
            let a = try HeartbeatAuthkeys.parse(text, path: file)
            if a.method == .crc {
                if allowCRC {
                    warn(
                        file, a.line,
                        "auth \(a.id) selects crc, which has no secret: anyone on the cluster LAN can forge heartbeats (accepted: --allow-crc)"
                    )
                } else {
                    fail(
                        file, a.line,
                        "auth \(a.id) selects crc, which has no secret: anyone on the cluster LAN could forge heartbeats and take over resources; choose sha1 with a secret, or pass --allow-crc to accept it"
                    )
                }
            }
            authNote =
                "authkeys:\(a.line) auth \(a.id) (\(a.method.rawValue)); packets are signed with HMAC-SHA256 under a key derived from it"
        } catch {
            fail(file, error.line, error.message)
        }
        if let m = mode, m & 0o077 != 0 {
            fail(
                file, 1,
                "authkeys has mode \(String(m & 0o777, radix: 8)): group or others may read the secret; run: chmod 600 \(file) (Heartbeat refuses it too)"
            )
        }
    }

    // MARK: haresources

    mutating func readHAResources(_ text: String) {
        let file = "\(directory)/haresources"
        var names = Set<String>()
        for l in HeartbeatFiles.logicalLines(text) {
            let home = l.words[0].lowercased()
            guard nodes.contains(where: { $0.name == home }) else {
                fail(file, l.line, "node \(home) is not listed in ha.cf (node lines: \(nodes.map(\.name).joined(separator: ", ")))")
                continue
            }
            guard l.words.count >= 2 else {
                fail(file, l.line, "\(home): a group needs at least one resource after the node name"); continue
            }
            var resources: [ResourceSpec] = []
            for w in l.words.dropFirst() {
                guard let r = ResourceSpec(haresources: w), !r.agent.contains("/") else {
                    fail(file, l.line, "\"\(w)\" is not a resource: expected SCRIPT, SCRIPT::ARG::ARG or an IP address"); continue
                }
                if !env.scriptExists(r.agent) {
                    warn(file, l.line, "resource script \(r.agent) not found in \(directory)/resource.d or /etc/init.d on this machine")
                }
                resources.append(r)
            }
            guard !resources.isEmpty else { continue }
            var g = GroupSpec(
                name: uniqueName(for: resources[0], taken: &names), home: home, resources: resources,
                autoFailback: autoFailback.0, maxRestarts: 0)
            g.stopRetries = HeartbeatImport.stopAttempts - 1
            groups.append((g, l.line))
        }
        if groups.count > ConfigLoader.maxGroups {
            fail(file, groups[ConfigLoader.maxGroups].1, "too many groups: Vigil supports \(ConfigLoader.maxGroups)")
        }
    }

    /// A readable, unique group name from its first resource: `IPaddr2::10.0.0.5/24/eth0` → `IPaddr2-10.0.0.5-24-eth0`.
    func uniqueName(for r: ResourceSpec, taken: inout Set<String>) -> String {
        let raw = ([r.agent] + r.arguments).joined(separator: "-")
        var base = String(raw.unicodeScalars.map { ConfigLoader.isNameScalar($0) ? Character($0) : "-" }.prefix(56))
        if base.isEmpty { base = "group" }
        var name = base
        var n = 2
        while taken.contains(name) { name = "\(base)-\(n)"; n += 1 }
        taken.insert(name)
        return name
    }

    // MARK: addresses

    /// Each node's address on each link: this machine's from its interface, peers' from the ucast lines (by
    /// name resolution where several are possible); "auto" where ha.cf does not say (bcast, mcast). An address
    /// goes to one node on one link only (cluster.conf refuses it twice): this machine's addresses are never a
    /// peer's, and a peer address listed on a second link is learned there instead.
    func addresses() -> (perNode: [String: [String]], notes: [String]) {
        var out: [String: [String]] = [:]
        var notes: [String] = []
        let me = env.me.map { $0.lowercased() }.flatMap { m in nodes.contains { $0.name == m } ? m : nil }
        let mine = me == nil ? [] : Set(links.flatMap { env.interfaceAddresses($0.interface) })
        var used: [String: (node: String, link: Int)] = [:]
        for (li, link) in links.enumerated() {
            var assigned: [String: String] = [:]
            var remaining = link.ucastPeers
            if let me {
                let local = env.interfaceAddresses(link.interface)
                if let a = local.first(where: { remaining.contains($0) }) ?? local.first {
                    assigned[me] = a
                }
            }
            remaining.removeAll { mine.contains($0) }
            var unassigned = nodes.map(\.name).filter { assigned[$0] == nil && $0 != me }
            for n in unassigned {
                let resolved = env.resolve(n)
                if let a = remaining.first(where: { resolved.contains($0) }) {
                    assigned[n] = a
                    remaining.removeAll { $0 == a }
                }
            }
            unassigned = unassigned.filter { assigned[$0] == nil }
            if unassigned.count == 1, remaining.count == 1, me != nil {
                assigned[unassigned[0]] = remaining[0]
                remaining = []
            }
            if !remaining.isEmpty {
                notes.append(
                    "link \(li) (\(link.interface)): ucast addresses \(remaining.joined(separator: ", ")) could not be matched to a node by name; those nodes' addresses are learned from their heartbeats, which makes the cluster use multicast on every link (list the nodes' names in /etc/hosts, or write the addresses into a cluster.conf)"
                )
            }
            for n in nodes.map(\.name) {
                if let a = assigned[n] {
                    if let u = used[a] {
                        notes.append(
                            "link \(li) (\(link.interface)): \(a) is already \(u.node)'s address on link \(u.link); \(n)'s address on this link is learned from its heartbeats"
                        )
                        assigned[n] = nil
                    } else {
                        used[a] = (n, li)
                    }
                }
                out[n, default: []].append(assigned[n] ?? "auto")
            }
        }
        return (out, notes)
    }

    // MARK: output

    func render(addresses: (perNode: [String: [String]], notes: [String])) -> String {
        // TOML basic strings: backslash, quote and control characters escaped.
        func q(_ s: String) -> String {
            var out = "\""
            for u in s.unicodeScalars {
                switch u {
                case "\\": out += "\\\\"
                case "\"": out += "\\\""
                case "\t": out += "\\t"
                default:
                    if u.value < 0x20 || u.value == 0x7f { out += String(format: "\\u%04X", u.value) } else { out.unicodeScalars.append(u) }
                }
            }
            return out + "\""
        }
        func src(_ k: String, _ fallback: String) -> String { timings[k].map { "ha.cf:\($0.1) \($0.2)" } ?? fallback }
        let (perNode, addressNotes) = addresses
        let anyAuto = perNode.values.contains { $0.contains("auto") }
        let shared = links.contains(where: \.shared) || anyAuto
        var o = """
            # Vigil cluster.conf imported from the Heartbeat configuration in \(directory) by `vigil import-heartbeat`.
            # Every setting says where it came from. Heartbeat directives Vigil does not implement were reported
            # as warnings when importing; docs/migrating-from-heartbeat.md lists them all.

            [cluster]
            # \(clusterLine.map { "ha.cf:\($0) cluster \(clusterName)" } ?? "Heartbeat's default cluster name")
            name = \(q(clusterName))
            # \(authNote)
            key_file = \(q("\(directory)/authkeys"))
            # \(portLine.map { "ha.cf:\($0) udpport \(port)" } ?? "Heartbeat's default udpport (ha-cluster, 694)")
            port = \(port)
            profile = "safe"
            # \(src("keepalive", "Heartbeat's default keepalive 1"))
            interval = \(q(ConfigLoader.durationText(keepalive)))
            # \(src("warntime", "Heartbeat's default warntime: deadtime / 2"))
            warntime = \(q(ConfigLoader.durationText(warntime)))
            # \(src("deadtime", "Heartbeat's default deadtime 30"))
            deadtime = \(q(ConfigLoader.durationText(deadtime)))
            # \(src("initdead", "Heartbeat's default initdead (derived from deadtime)"))
            initdead = \(q(ConfigLoader.durationText(initdead)))
            # Heartbeat's haresources mode has no quorum and no fencing: each side of a LAN cut runs the groups
            # (split brain). Add a [storage] table and set quorum = "majority", fencing = "required" to prevent it.
            quorum = "ignore"
            fencing = "none"

            """
        o +=
            "# Links, one per interface: \(links.map { "\($0.interface) (\($0.media.joined(separator: "; ")))" }.joined(separator: ", "))\n"
        for n in addressNotes { o += "# \(n)\n" }
        if shared {
            o += "# bcast/mcast (or peers ha.cf does not name): multicast on each link; peers' addresses are learned from\n"
            o += "# their authenticated heartbeats, this node's from the interface.\n"
            o += "transport = \"multicast\"\n"
        } else {
            o += "transport = \"unicast\"\n"
        }
        o += "interfaces = [\(links.map { q($0.interface) }.joined(separator: ", "))]\n"
        if allowCRC { o += "# authkeys selects crc (no secret): accepted with --allow-crc\nallow_crc = true\n" }
        if let (b, l) = realtime { o += "# ha.cf:\(l) realtime\nrealtime = \(b)\n" }
        if let (p, l) = rtprio { o += "# ha.cf:\(l) rtprio\nrealtime_priority = \(p)\n" }
        // Heartbeat's resource.d of this directory, searched before the installed agents.
        o += "# resource scripts: \(directory)/resource.d first, then Vigil's agents, /etc/ha.d/resource.d, /etc/init.d\n"
        o += "agent_dirs = [\(q("\(directory)/resource.d"))]\n"
        if let (f, l) = logFile { o += "# ha.cf:\(l) logfile\nlog_file = \(q(f))\n" }
        if let (f, l) = logFacility { o += "# ha.cf:\(l) logfacility\nlog_facility = \(q(f))\n" }
        if !pingNodes.isEmpty {
            var seenPing = Set<String>()
            let unique = pingNodes.filter { seenPing.insert($0.0).inserted }
            o +=
                "# \(Set(pingNodes.map(\.1)).sorted().map { "ha.cf:\($0)" }.joined(separator: ", ")) ping/ping_group: a node that reaches fewer of them than a peer gives its groups up (ipfail)\n"
            o += "ping_nodes = [\(unique.map { q($0.0) }.joined(separator: ", "))]\n"
            o += "# \(deadping.map { "ha.cf:\($0.1) deadping" } ?? "deadping: Heartbeat's default, deadtime")\n"
            o += "ping_deadtime = \(q(ConfigLoader.durationText(deadping?.0 ?? deadtime)))\n"
        }
        if !respawns.isEmpty {
            o +=
                "# \(respawns.map { "ha.cf:\($0.1) respawn" }.joined(separator: ", ")): restarted when they exit (not after exit code 100)\n"
            o += "respawn = [\(respawns.map { q($0.0) }.joined(separator: ", "))]\n"
        }
        for (name, line) in nodes {
            o +=
                "\n# ha.cf:\(line) node \(name)\n[[node]]\nname = \(q(name))\naddresses = [\(perNode[name, default: []].map(q).joined(separator: ", "))]\n"
        }
        for (g, line) in groups {
            o += """

                # haresources:\(line): started left to right, stopped right to left; \(autoFailback.1)
                [[group]]
                name = \(q(g.name))
                home = \(q(g.home ?? ""))
                \(nativeOCF ? HeartbeatImport.ocfComments(g.resources) : "")resources = [\(g.resources.map { q(((nativeOCF ? HeartbeatImport.nativeOCF($0) : nil) ?? $0).description) }.joined(separator: ", "))]
                auto_failback = \(g.autoFailback)
                # Heartbeat gives a group up at its first failed start (no restarts on the same node)
                max_restarts = 0
                # Heartbeat tries a stop \(HeartbeatImport.stopAttempts) times, 1 s apart, then reboots. Vigil tries as often,
                # then reboots only with [storage] self_fence = "reboot" (so the others can fence it); otherwise the
                # group is blocked on this node until `vigil cleanup` after a manual fix
                stop_retries = \(g.stopRetries)
                # Heartbeat never checks running resources, and waits for status as long as it takes
                monitor_interval = "0s"
                status_timeout = "2m"

                """
        }
        return o
    }
}

extension HeartbeatImport {
    /// The native OCF resource for a Heartbeat `resource.d` wrapper of an OCF agent, where the mapping is exact:
    /// `IPaddr2::IP[/BITS[/NIC[/BROADCAST]]]` (the wrapper also sets lvs_support) and
    /// `Filesystem::DEVICE::DIRECTORY[::FSTYPE[::OPTIONS]]`. Nil: kept as the wrapper call.
    public static func nativeOCF(_ r: ResourceSpec) -> ResourceSpec? {
        switch r.agent {
        case "IPaddr2":
            guard r.arguments.count == 1 else { return nil }
            let parts = r.arguments[0].split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            // An empty field before the last one: the wrapper's sed merges the slashes and shifts the fields.
            guard (1...4).contains(parts.count), !parts.dropLast().contains(where: \.isEmpty), !parts[0].isEmpty,
                !parts.contains(where: { $0.contains(" ") || $0.contains("\"") })
            else { return nil }
            var p = ["ip=\(parts[0])"]
            if parts.count > 1, !parts[1].isEmpty { p.append("cidr_netmask=\(parts[1])") }
            if parts.count > 2, !parts[2].isEmpty {
                // As the wrapper: a third part starting with a digit is the broadcast address (no interface).
                if parts[2].first!.isNumber {
                    guard parts.count == 3 else { return nil }
                    p.append("broadcast=\(parts[2])")
                } else {
                    p.append("nic=\(parts[2])")
                    if parts.count > 3, !parts[3].isEmpty { p.append("broadcast=\(parts[3])") }
                }
            }
            p.append("lvs_support=true")
            return ResourceSpec(agent: "ocf:heartbeat:IPaddr2", arguments: p)
        case "Filesystem":
            guard (2...4).contains(r.arguments.count), !r.arguments.contains(where: { $0.contains("\"") }) else { return nil }
            let keys = ["device", "directory", "fstype", "options"]
            return ResourceSpec(agent: "ocf:heartbeat:Filesystem", arguments: zip(keys, r.arguments).map { "\($0)=\($1)" })
        default:
            return nil
        }
    }

    /// One comment line per wrapper call turned into a native OCF resource, showing the original.
    static func ocfComments(_ resources: [ResourceSpec]) -> String {
        resources.compactMap { r in nativeOCF(r).map { "# \(r.description) (resource.d wrapper) -> \($0.agent)\n" } }.joined()
    }
}
