import Foundation
import VigilCore

/// Renders a `StatusReport` as the human-readable table of `vigil status`.
public enum StatusTable {
    /// "2026-12-06 07:01:02" in the local time zone.
    static func localTime(_ wallNs: Int64) -> String { EventJournal.wallTime(wallNs, "%Y-%m-%d %H:%M:%S", utc: false) }

    public static func render(_ r: StatusReport) -> String {
        var out = "cluster \(r.cluster)   node \(r.node) (\(r.role))   term \(r.term)   coordinator \(r.coordinator ?? "none")\n"
        out +=
            "quorum: \(r.quorate ? "yes" : "NO") (\(r.quorum.votes) of \(r.quorum.total) votes present, \(r.quorum.needed) needed, policy \(r.quorum.policy))\n"
        if let a = r.agent {
            out +=
                "agent: pid \(a.pid), vigil \(a.version), up \(Int(a.uptimeMs / 1000)) s, interval \(a.interval), deadtime \(a.deadtime), realtime \(a.realtime ? "yes" : "no"), memory locked \(a.memoryLocked ? "yes" : "no")\n"
        }
        out += "\n"
        var rows = [["NODE", "STATE", "VOTES", "LINK", "ADDRESS", "LINK STATE", "LAST HEARD"]]
        for n in r.nodes {
            for (i, l) in n.links.enumerated() {
                let name = i == 0 ? n.name + (n.isSelf ? " *" : "") + (n.name == r.coordinator ? " (C)" : "") : ""
                let heard = l.lastHeardMs.map { $0 < 10_000 ? "\(Int($0)) ms ago" : "\(Int($0 / 1000)) s ago" } ?? (n.isSelf ? "" : "never")
                let state = n.state + (n.standby == true ? " (standby)" : "")
                rows.append([name, i == 0 ? state : "", i == 0 ? "\(n.votes)" : "", "\(i)", l.address, l.state, heard])
            }
        }
        out += table(rows)
        if !r.groups.isEmpty {
            out += "\n"
            var g = [["GROUP", "STATE", "OWNER", "HOME", "NODES", "REASON"]]
            for x in r.groups {
                let nodes = x.nodes.sorted { $0.key < $1.key }.filter { $0.value != "stopped" || x.failures[$0.key] != nil }
                    .map { n in
                        "\(n.key):\(n.value)"
                            + (x.failures[n.key].map { failures($0, expireInMs: n.key == r.node ? x.failuresExpireInMs : nil) } ?? "")
                    }
                g.append([
                    x.name, x.state, x.owner ?? "-", x.home ?? "-", nodes.isEmpty ? "-" : nodes.joined(separator: " "),
                    x.reason + (x.preferred.map { " [pinned to \($0)]" } ?? "")
                ])
            }
            out += table(g)
        }
        if let st = r.storage {
            out += "\n"
            var d = [["STORAGE", "STATE", "CYCLE", "LAST OK", "FAILURES", "ERROR"]]
            for x in st.devices {
                d.append([
                    x.url, x.state, x.latencyMs.map { String(format1ms: $0) } ?? "-",
                    x.lastOkMs.map { "\(Int($0)) ms ago" } ?? "never", "\(x.failures)", x.error ?? ""
                ])
            }
            out += table(d)
            let peers = st.peers.map { "\($0.node) \($0.disk)\($0.fenced ? " (fenced)" : "")" }.joined(separator: ", ")
            out +=
                "disk heartbeat: \(peers.isEmpty ? "-" : peers); self_fence \(st.selfFence), watchdog \(st.watchdog ?? "none"), msgwait \(Int(st.msgwaitMs)) ms, watchdog_timeout \(Int(st.watchdogTimeoutMs)) ms"
            out += st.tieBreakWinner.map { ", two-node tie-break winner \($0)" } ?? ""
            out += "\n"
            for f in st.fencing {
                out +=
                    "fencing \(f.node): pill \(f.serial) issued \(Int(f.issuedMs)) ms ago"
                    + (f.writtenMs.map { ", written \(Int($0)) ms ago" } ?? ", not yet written")
                    + (f.done.map { ": FENCED (\($0))" } ?? ": waiting") + "\n"
            }
            if let why = st.fenced { out += "this node is FENCED: \(why); it runs nothing until the coordinator clears its pill\n" }
        }
        if r.standby { out += "this node is in STANDBY: it runs no groups (\(r.standbyReason ?? "`vigil unstandby` ends it"))\n" }
        for n in r.nodes where n.configDiffers == true {
            out += "node \(n.name) runs ANOTHER GROUP CONFIGURATION: its reports and assignments are ignored until cluster.conf matches\n"
        }
        if let why = r.electionHold { out += "this node neither votes nor stands for election yet: \(why)\n" }
        if let f = r.recentFailures, !f.isEmpty {
            out += "\nrecent failures on this node (oldest first):\n"
            for x in f.suffix(5) { out += "  \(localTime(x.wallNs))  \(x.group)/\(x.resource) \(x.action): \(x.reason)\n" }
        }
        if let m = r.lastMigration { out += "last live migration into this node: \(m)\n" }
        let c = r.counters
        let drops = c.dropped.filter { $0.value > 0 }.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
        out += "\npackets: received \(c.received), accepted \(c.accepted), sent \(c.sent), dropped \(c.droppedTotal)"
        out += drops.isEmpty ? "\n" : " (\(drops.joined(separator: ", ")))\n"
        out += "(* this node, (C) coordinator)\n"
        return out
    }

    /// "(2 failures)", or on this node with a `failure_timeout` "(2 failures, expire in 41 min)".
    public static func failures(_ count: Int, expireInMs: Double?) -> String {
        guard let ms = expireInMs else { return "(\(count) failures)" }
        let s = Int((ms / 1000).rounded(.up))
        let min = (s + 59) / 60
        let left = s < 120 ? "\(s) s" : min < 120 ? "\(min) min" : "\(min / 60) h \(min % 60) min"
        return "(\(count) failures, expire in \(left))"
    }

    static func table(_ rows: [[String]]) -> String {
        let widths = (0..<rows[0].count).map { c in rows.map { $0[c].count }.max() ?? 0 }
        return rows.map { row in
            zip(row, widths).map { $0.padding(toLength: $1) }.joined(separator: "  ").trimmingTrailingSpaces() + "\n"
        }.joined()
    }
}

extension String {
    init(format1ms v: Double) { self = v < 10 ? "\(Double(Int(v * 100)) / 100) ms" : "\(Int(v)) ms" }
    func padding(toLength n: Int) -> String { count >= n ? self : self + String(repeating: " ", count: n - count) }
    func trimmingTrailingSpaces() -> String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}
