import VigilCore

/// `vigil status --check`: the cluster as this node sees it, judged for monitoring systems (Nagios, Icinga,
/// Zabbix, Checkmk): one line and the plugin exit code. Pure, so each rule has a unit test.
public struct StatusCheck: Hashable, Sendable {
    /// The monitoring plugin exit codes.
    public enum Level: Int32, Comparable, Sendable {
        case ok = 0
        case warning = 1
        case critical = 2
        case unknown = 3

        public static func < (a: Level, b: Level) -> Bool { a.rank < b.rank }
        /// unknown sorts between warning and critical, as monitoring systems treat it.
        var rank: Int { [0, 1, 3, 2][Int(rawValue)] }
        public var word: String { ["OK", "WARNING", "CRITICAL", "UNKNOWN"][Int(rawValue)] }
    }

    public var level: Level
    /// Each finding, worst first.
    public var findings: [String]
    /// What is fine, for the OK line (nodes, quorum, coordinator, groups).
    public var summary: String

    /// The line to print: `VIGIL WARNING - n3 is dead; … | cluster prod: …`.
    public var line: String {
        "VIGIL \(level.word) - " + (findings.isEmpty ? summary : findings.joined(separator: "; ") + " | " + summary)
    }

    /// For an agent that cannot be reached.
    public static func unreachable(_ why: String) -> StatusCheck {
        StatusCheck(level: .critical, findings: ["the agent cannot be reached: \(why)"], summary: "no status")
    }

    /// For a status that cannot be read.
    public static func unreadable(_ why: String) -> StatusCheck {
        StatusCheck(level: .unknown, findings: ["unreadable status: \(why)"], summary: "no status")
    }

    /// The rules (docs/status.md, "vigil status --check"):
    /// - critical: no quorum; this node fenced; a group blocked; a majority of storage devices lost;
    /// - warning: a node not alive; a link down; a node with another group configuration; a group not running (starting, stopping, moving, stopped with no
    ///   owner); failures recorded; a storage device not ok; this node in standby; no coordinator; the election
    ///   on hold.
    public static func evaluate(_ r: StatusReport) -> StatusCheck {
        var critical: [String] = []
        var warning: [String] = []
        if !r.quorate { critical.append("no quorum (\(r.quorum.votes) of \(r.quorum.total) votes, \(r.quorum.needed) needed)") }
        if let why = r.storage?.fenced { critical.append("this node is fenced: \(why)") }
        for g in r.groups where g.state == "blocked" { critical.append("group \(g.name) is blocked: \(g.reason)") }
        if let st = r.storage, !st.devices.isEmpty {
            let usable = st.devices.filter { $0.state == "ok" || $0.state == "slow" }.count
            if usable * 2 <= st.devices.count {
                critical.append("\(st.devices.count - usable) of \(st.devices.count) storage devices not usable")
            } else {
                for d in st.devices where d.state != "ok" { warning.append("storage \(d.url) is \(d.state)") }
            }
        }
        for n in r.nodes where !n.isSelf {
            if n.state != "alive" {
                warning.append("node \(n.name) is \(n.state)")
            } else {
                for (i, l) in n.links.enumerated() where l.state != "up" { warning.append("link \(i) to \(n.name) is \(l.state)") }
            }
        }
        for n in r.nodes where n.configDiffers == true {
            warning.append("node \(n.name) runs another group configuration (its groups are not placed until cluster.conf matches)")
        }
        if r.coordinator == nil, r.quorate { warning.append("no coordinator") }
        for g in r.groups where g.state != "running" && g.state != "blocked" {
            warning.append("group \(g.name) is \(g.state)" + (g.reason.isEmpty ? "" : ": \(g.reason)"))
        }
        for g in r.groups {
            for (node, count) in g.failures.sorted(by: { $0.key < $1.key }) where count > 0 {
                warning.append("group \(g.name) failed \(count) time\(count == 1 ? "" : "s") on \(node)")
            }
        }
        if r.standby { warning.append("this node is in standby (\(r.standbyReason ?? "vigil standby"))") }
        if let hold = r.electionHold { warning.append("election on hold: \(hold)") }
        let alive = r.nodes.filter { $0.state == "alive" }.count
        let running = r.groups.filter { $0.state == "running" }.count
        let summary =
            "cluster \(r.cluster): \(alive)/\(r.nodes.count) nodes alive, \(r.quorate ? "quorate" : "NOT quorate"), coordinator \(r.coordinator ?? "none") (term \(r.term)), \(running)/\(r.groups.count) groups running"
        let level: Level = !critical.isEmpty ? .critical : !warning.isEmpty ? .warning : .ok
        return StatusCheck(level: level, findings: critical + warning, summary: summary)
    }
}
