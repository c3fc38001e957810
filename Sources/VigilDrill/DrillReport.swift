import Foundation

/// The analysis of a drill: per-second windows (as in the old Xen + Heartbeat paper), the longest gap between
/// replies (the service interruption), losses, RTT before / during / after the action, and the event timeline.
/// Pure: computed from `DrillData` alone, so recorded data can be re-analysed.
public struct DrillReport: Codable, Sendable {
    /// One second of the drill: requests sent in it, those answered, and their round-trip times.
    public struct Window: Codable, Sendable, Hashable {
        public var second: Int
        public var sent: Int
        public var received: Int
        public var rttMinMs: Double?
        public var rttAvgMs: Double?
        public var rttMaxMs: Double?
        enum CodingKeys: String, CodingKey {
            case second, sent, received
            case rttMinMs = "rtt_min_ms", rttAvgMs = "rtt_avg_ms", rttMaxMs = "rtt_max_ms"
        }
    }

    /// The longest time without a reply.
    public struct Gap: Codable, Sendable, Hashable {
        public var startMs: Double
        public var endMs: Double
        public var lengthMs: Double
        /// Requests sent in the gap that got no reply.
        public var lost: Int
        /// The service did not answer again before the drill ended.
        public var open: Bool
        enum CodingKeys: String, CodingKey {
            case lost, open
            case startMs = "start_ms", endMs = "end_ms", lengthMs = "length_ms"
        }
    }

    /// RTT statistics of a stretch of the drill.
    public struct Phase: Codable, Sendable, Hashable {
        public var name: String
        public var fromMs: Double
        public var toMs: Double
        public var sent: Int
        public var received: Int
        public var rttMinMs: Double?
        public var rttAvgMs: Double?
        public var rttMaxMs: Double?
        enum CodingKeys: String, CodingKey {
            case name, sent, received
            case fromMs = "from_ms", toMs = "to_ms"
            case rttMinMs = "rtt_min_ms", rttAvgMs = "rtt_avg_ms", rttMaxMs = "rtt_max_ms"
        }
    }

    /// An event on the report's time axis.
    public struct TimelineEntry: Codable, Sendable, Hashable {
        public var tMs: Double
        public var source: String
        public var kind: String
        public var text: String
        enum CodingKeys: String, CodingKey {
            case source, kind, text
            case tMs = "t_ms"
        }
    }

    public var target: String
    public var action: String
    public var actionMs: Double?
    public var durationMs: Double
    public var requestedIntervalMs: Double
    /// Mean interval between requests actually sent, and the latest a request went out.
    public var achievedIntervalMs: Double
    public var maxSendLateMs: Double
    public var sent: Int
    public var received: Int
    public var lost: Int
    public var duplicates: Int
    public var reordered: Int
    public var stray: Int
    public var longestGap: Gap?
    /// How exactly the gap is known: the real interruption is within one achieved interval below it.
    public var resolutionMs: Double
    public var windows: [Window]
    public var phases: [Phase]
    public var timeline: [TimelineEntry]
    public var headline: String
    public var startWall: String

    enum CodingKeys: String, CodingKey {
        case target, action, sent, received, lost, duplicates, reordered, stray, windows, phases, timeline, headline
        case actionMs = "action_ms", durationMs = "duration_ms", requestedIntervalMs = "requested_interval_ms"
        case achievedIntervalMs = "achieved_interval_ms", maxSendLateMs = "max_send_late_ms"
        case longestGap = "longest_gap", resolutionMs = "resolution_ms", startWall = "start_wall"
    }

    public init(_ d: DrillData) {
        func ms(_ ns: Int64) -> Double { Double(ns) / 1e6 }
        target = d.target
        action = d.action
        actionMs = d.actionNs.map(ms)
        durationMs = ms(d.endNs)
        requestedIntervalMs = ms(d.intervalNs)
        let probes = d.probes.sorted { $0.sentNs < $1.sentNs }
        sent = probes.count
        received = probes.filter { !$0.repliesNs.isEmpty }.count
        lost = sent - received
        duplicates = probes.reduce(0) { $0 + max(0, $1.repliesNs.count - 1) }
        reordered = d.reordered
        stray = d.strayReplies
        if probes.count > 1 {
            achievedIntervalMs = ms(probes.last!.sentNs - probes.first!.sentNs) / Double(probes.count - 1)
        } else {
            achievedIntervalMs = requestedIntervalMs
        }
        maxSendLateMs = probes.enumerated().map { i, p in ms(p.sentNs - Int64(i) * d.intervalNs) }.max().map { max(0, $0) } ?? 0
        resolutionMs = max(achievedIntervalMs, requestedIntervalMs)

        // The gap: between consecutive first replies (by arrival), and from the last one to the end.
        let arrivals = probes.compactMap { $0.repliesNs.min() }.sorted()
        var best: (Int64, Int64, Bool)?
        var points = arrivals
        let startsLate = (arrivals.first ?? d.endNs) > (probes.first?.sentNs ?? 0) + 10 * d.intervalNs + 1_000_000_000
        if startsLate { points.insert(0, at: 0) }
        for i in points.indices.dropFirst() {
            let g = points[i] - points[i - 1]
            if best == nil || g > best!.1 - best!.0 { best = (points[i - 1], points[i], false) }
        }
        if let last = points.last, d.endNs - last > (best.map { $0.1 - $0.0 } ?? 0), d.endNs - last > 3 * d.intervalNs {
            best = (last, d.endNs, true)
        }
        if let (a, b, open) = best {
            let lostInGap = probes.filter { $0.repliesNs.isEmpty && $0.sentNs >= a - 2 * d.intervalNs && $0.sentNs <= b }.count
            longestGap = Gap(startMs: ms(a), endMs: ms(b), lengthMs: ms(b - a), lost: lostInGap, open: open)
        } else {
            longestGap = nil
        }

        func stats(_ ps: [DrillData.Probe]) -> (Int, Int, Double?, Double?, Double?) {
            let rtts = ps.compactMap { p in p.repliesNs.min().map { ms($0 - p.sentNs) } }
            return (ps.count, rtts.count, rtts.min(), rtts.isEmpty ? nil : rtts.reduce(0, +) / Double(rtts.count), rtts.max())
        }
        let seconds = Int((ms(d.endNs) / 1000).rounded(.up))
        windows = (0..<max(seconds, 1)).map { s in
            let ps = probes.filter { $0.sentNs >= Int64(s) * 1_000_000_000 && $0.sentNs < Int64(s + 1) * 1_000_000_000 }
            let (n, r, lo, avg, hi) = stats(ps)
            return Window(second: s, sent: n, received: r, rttMinMs: lo, rttAvgMs: avg, rttMaxMs: hi)
        }
        // Before the action, during (action to the end of the gap, if the gap ends after it), after.
        var cuts: [(String, Int64, Int64)] = []
        if let act = d.actionNs {
            var duringEnd = act
            if let g = best, g.1 > act { duringEnd = max(act, g.1) }
            if let last = d.events.filter({ $0.source != "drill" }).map(\.tNs).max(), last > duringEnd, last < d.endNs { duringEnd = last }
            cuts = [("before", 0, act), ("during", act, duringEnd), ("after", duringEnd, d.endNs)]
        } else {
            cuts = [("whole drill", 0, d.endNs)]
        }
        phases = cuts.map { name, a, b in
            let (n, r, lo, avg, hi) = stats(probes.filter { $0.sentNs >= a && $0.sentNs < b })
            return Phase(name: name, fromMs: ms(a), toMs: ms(b), sent: n, received: r, rttMinMs: lo, rttAvgMs: avg, rttMaxMs: hi)
        }
        timeline = d.events.sorted { $0.tNs < $1.tNs }.map {
            TimelineEntry(tMs: ms($0.tNs), source: $0.source, kind: $0.kind, text: $0.text)
        }
        startWall = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(d.startWallNs) / 1e9))

        var h = "\(d.target): "
        if let g = longestGap {
            h +=
                g.open
                ? "NOT ANSWERING since \(f1(g.startMs / 1000)) s (\(f1(g.lengthMs)) ms until the end)"
                : "interruption \(f1(g.lengthMs)) ms (longest gap between replies, resolution \(f1(resolutionMs)) ms)"
        } else {
            h += "no replies at all"
        }
        h += ", \(lost) of \(sent) pings lost"
        if duplicates > 0 { h += ", \(duplicates) duplicates" }
        if let a = actionMs { h += "; \(d.action) at \(f1(a / 1000)) s" }
        headline = h
    }

    // MARK: - Output

    /// The per-second table, the totals and the timeline, for the terminal and `report.txt`.
    public var text: String {
        var out = "drill of \(target), started \(startWall): \(action.isEmpty ? "no action" : action)"
        if let a = actionMs { out += " at \(f1(a / 1000)) s" }
        out +=
            "\nrequests every \(f2(requestedIntervalMs)) ms requested, \(f2(achievedIntervalMs)) ms achieved (latest send \(f2(maxSendLateMs)) ms late)\n\n"
        var rows = [["second", "sent", "received", "rtt min ms", "avg ms", "max ms"]]
        for w in windows {
            rows.append([
                "\(w.second)-\(w.second + 1)", "\(w.sent)", "\(w.received)", w.rttMinMs.map(f3) ?? "-", w.rttAvgMs.map(f3) ?? "-",
                w.rttMaxMs.map(f3) ?? "-"
            ])
        }
        out += table(rows) + "\n"
        var p = [["phase", "from s", "to s", "sent", "received", "rtt min ms", "avg ms", "max ms"]]
        for ph in phases {
            p.append([
                ph.name, f2(ph.fromMs / 1000), f2(ph.toMs / 1000), "\(ph.sent)", "\(ph.received)", ph.rttMinMs.map(f3) ?? "-",
                ph.rttAvgMs.map(f3) ?? "-", ph.rttMaxMs.map(f3) ?? "-"
            ])
        }
        out += table(p) + "\n"
        out += "sent \(sent), received \(received), lost \(lost), duplicates \(duplicates), reordered \(reordered), stray \(stray)\n"
        if let g = longestGap {
            out +=
                "longest gap between replies: \(f1(g.lengthMs)) ms, \(f2(g.startMs / 1000)) s to \(f2(g.endMs / 1000)) s\(g.open ? " (still open at the end)" : ""), \(g.lost) requests lost in it; resolution \(f1(resolutionMs)) ms\n"
        }
        if !timeline.isEmpty {
            out += "\ntimeline (s since the first request):\n"
            for e in timeline { out += "  \(pad(f3(e.tMs / 1000), 8))  \(pad(e.source, 6))  \(pad(e.kind, 11))  \(e.text)\n" }
        }
        out += "\n" + headline + "\n"
        return out
    }

    /// One line per request: seq, sent, first reply, RTT (ms since the first request), extra replies.
    public static func csv(_ d: DrillData) -> String {
        var out = "seq,sent_ms,reply_ms,rtt_ms,duplicates\n"
        for p in d.probes.sorted(by: { $0.sentNs < $1.sentNs }) {
            let s = Double(p.sentNs) / 1e6
            if let r = p.repliesNs.min() {
                out += "\(p.seq),\(f3(s)),\(f3(Double(r) / 1e6)),\(f3(Double(r - p.sentNs) / 1e6)),\(p.repliesNs.count - 1)\n"
            } else {
                out += "\(p.seq),\(f3(s)),,,0\n"
            }
        }
        return out
    }

    public func json() throws -> Data {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try enc.encode(self)
    }

    func table(_ rows: [[String]]) -> String {
        let widths = (0..<rows[0].count).map { c in rows.map { $0[c].count }.max() ?? 0 }
        return rows.map { r in zip(r, widths).map { pad($0, $1) }.joined(separator: "  ") + "\n" }.joined()
    }
}

func f1(_ v: Double) -> String { String(format: "%.1f", v) }
func f2(_ v: Double) -> String { String(format: "%.2f", v) }
func f3(_ v: Double) -> String { String(format: "%.3f", v) }
func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
