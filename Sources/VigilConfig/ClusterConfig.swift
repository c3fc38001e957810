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

    public static let defaultPath = "/etc/vigil/cluster.conf"
    /// The widest a node name may be (it travels in every packet).
    public static let maxNameLength = 63
    /// The most nodes a cluster may have (Heartbeat's MAXNODE is 100; a view must fit one packet).
    public static let maxNodes = 64
}

/// Loads and validates cluster.conf. Unknown keys are errors; every error names file, line and expectation.
public enum ConfigLoader {
    static let clusterKeys = ["name", "key_file", "port", "profile", "interval", "warntime", "deadtime", "initdead",
                              "quorum", "transport", "multicast_group", "realtime", "realtime_priority",
                              "lock_memory", "state_dir", "socket"]
    static let nodeKeys = ["name", "addresses", "votes"]

    /// Parses cluster.conf text (`file` names it in errors).
    public static func load(text: String, file: String) throws(ConfigError) -> ClusterConfig {
        let tables = try TOMLSubsetParser.parse(text, file: file)
        func err(_ line: Int, _ msg: String) -> ConfigError { ConfigError(file: file, line: line, message: msg) }

        if let stray = tables[0].entries.first {
            throw err(stray.line, "key '\(stray.key)' outside any table; expected it under [cluster] or a [[node]]")
        }
        var clusterTable: TOMLTable?
        var nodeTables: [TOMLTable] = []
        for t in tables.dropFirst() {
            switch (t.name, t.isArrayElement) {
            case ("cluster", false): clusterTable = t
            case ("node", true): nodeTables.append(t)
            case ("cluster", true): throw err(t.line, "[[cluster]] must be a single [cluster] table")
            case ("node", false): throw err(t.line, "nodes are an array of tables: write [[node]], not [node]")
            default: throw err(t.line, "unknown table [\(t.name)]; expected [cluster] or [[node]]")
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
                    throw err(e.line, "multicast_group: expected an IPv4 multicast address (224.0.0.0 to 239.255.255.255), got \"\(c.multicastGroup)\"")
                }
            case "realtime": c.realtime = try bool(e, err)
            case "realtime_priority": c.realtimePriority = try int(e, err, in: 1...99)
            case "lock_memory": c.lockMemory = try bool(e, err)
            case "state_dir": c.stateDir = try string(e, err)
            case "socket": c.socket = try string(e, err)
            default:
                throw err(e.line, "unknown key '\(e.key)' in [cluster]\(suggestion(e.key, clusterKeys)); expected one of: \(clusterKeys.joined(separator: ", "))")
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
            throw err(line("deadtime"), "deadtime (\(timing.deadtime.compactDescription)) must be more than twice the interval (\(timing.interval.compactDescription)), or one lost packet kills a node")
        }
        guard timing.warntime >= timing.interval, timing.warntime < timing.deadtime else {
            throw err(line("warntime"), "warntime (\(timing.warntime.compactDescription)) must be at least the interval (\(timing.interval.compactDescription)) and less than deadtime (\(timing.deadtime.compactDescription))")
        }
        guard timing.initdead >= timing.deadtime else {
            throw err(line("initdead"), "initdead (\(timing.initdead.compactDescription)) must be at least deadtime (\(timing.deadtime.compactDescription))")
        }
        c.spec.timing = timing

        // [[node]]
        guard !nodeTables.isEmpty else { throw err(ct.line, "no [[node]] tables: a cluster needs at least one node") }
        var seenNames: [String: Int] = [:]
        var seenAddresses: [String: Int] = [:]
        for t in nodeTables {
            var nodeName: String?
            var addresses: [String]?
            var votes = 1
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
                        guard case let .string(a) = item, isIPAddress(a) else {
                            throw err(e.line, "addresses: expected IPv4 or IPv6 address strings, got \(describe(item))")
                        }
                        if let other = seenAddresses[a] { throw err(e.line, "address \(a) is already used on line \(other)") }
                        seenAddresses[a] = e.line
                        addresses!.append(a)
                    }
                case "votes": votes = try int(e, err, in: 0...255)
                default:
                    throw err(e.line, "unknown key '\(e.key)' in [[node]]\(suggestion(e.key, nodeKeys)); expected one of: \(nodeKeys.joined(separator: ", "))")
                }
            }
            guard let n = nodeName else { throw err(t.line, "[[node]] needs a name, like name = \"node1\"") }
            guard let a = addresses else { throw err(t.line, "node \(n) needs addresses, like addresses = [\"10.0.0.1\"]") }
            if let other = seenNames[n] { throw err(t.line, "node \(n) is already defined on line \(other)") }
            seenNames[n] = t.line
            if let first = c.spec.nodes.first, first.addresses.count != a.count {
                throw err(t.line, "node \(n) has \(a.count) address(es) but \(first.name) has \(first.addresses.count); every node needs one address per link (heartbeat LAN)")
            }
            c.spec.nodes.append(NodeSpec(name: n, addresses: a, votes: votes))
        }
        if c.spec.transport == .multicast, let last = Int(c.multicastGroup.split(separator: ".").last ?? ""),
           last + c.spec.linkCount - 1 > 255 {
            throw err(ct.line, "multicast_group \(c.multicastGroup): link \(c.spec.linkCount - 1) would need last octet \(last + c.spec.linkCount - 1); choose a base that leaves room for one group per link")
        }
        if c.spec.transport == .multicast, let v6 = c.spec.nodes.first(where: { $0.addresses.contains { !isIPv4($0) } }) {
            throw err(nodeTables[c.spec.nodes.firstIndex(of: v6)!].line, "transport = \"multicast\" needs IPv4 link addresses; node \(v6.name) has \(v6.addresses.filter { !isIPv4($0) }.joined(separator: ", "))")
        }
        guard c.spec.nodes.count <= ClusterConfig.maxNodes else {
            throw err(nodeTables[ClusterConfig.maxNodes].line, "too many nodes: at most \(ClusterConfig.maxNodes) are supported")
        }
        guard c.spec.totalVotes > 0 else { throw err(nodeTables[0].line, "the nodes have no votes at all; give at least one node votes = 1") }
        let maxName = c.spec.nodes.map(\.name.utf8.count).max() ?? 0
        let worst = 36 + 4 * (1 + maxName) + 1 + c.spec.nodes.reduce(0) { $0 + $1.name.utf8.count + 2 } + 32
        guard worst <= 1452 else {
            throw err(nodeTables.last!.line, "\(c.spec.nodes.count) nodes with names this long do not fit one heartbeat packet (\(worst) > 1452 bytes); use shorter node names")
        }
        return c
    }

    // MARK: - Typed accessors

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

    /// Parses "250ms", "1.5s", "40us", "2m". Fractions are allowed; the result is rounded to microseconds.
    public static func parseDuration(_ s: String) -> Duration? {
        let units: [(String, Double)] = [("us", 1e3), ("ms", 1e6), ("s", 1e9), ("m", 60e9)]
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

    static func describe(_ v: TOMLValue) -> String {
        switch v {
        case let .string(s): "\"\(s)\""
        case let .integer(i): "\(i)"
        case let .float(d): "\(d)"
        case let .bool(b): "\(b)"
        case .array: "an array"
        }
    }

    static func checkName(_ n: String, line: Int, what: String, _ err: (Int, String) -> ConfigError) throws(ConfigError) {
        let ok = !n.isEmpty && n.utf8.count <= ClusterConfig.maxNameLength
            && n.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "._-".unicodeScalars.contains($0)) }
        guard ok else {
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
    return parts.count == 4 && parts.allSatisfy { p in
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

extension ClusterConfig {
    /// The multicast group of link `link`: the base group with `link` added to its last octet.
    public func multicastGroup(link: Int) -> String {
        var parts = multicastGroup.split(separator: ".").map(String.init)
        parts[3] = String((Int(parts[3]) ?? 0) + link)
        return parts.joined(separator: ".")
    }
}
