import Foundation

/// `drill.svg`: round-trip time over the drill on a log scale, one dot per reply; lost requests as red ticks
/// under the axis; the longest gap shaded with its length; the action and the cluster's events as labelled
/// vertical markers. Plain SVG, no scripts, readable in any browser.
public enum DrillPlot {
    /// Event kinds drawn as markers (the rest stays in the report's timeline).
    static let plotted: Set<String> = ["action", "member", "quorum", "coordinator", "group", "migration", "fencing"]

    public static func svg(_ d: DrillData, _ r: DrillReport) -> String {
        let events = r.timeline.filter { plotted.contains($0.kind) && $0.tMs >= 0 }
        let w = 1100.0
        let left = 70.0, right = w - 30, top = 128.0, bottom = 396.0
        let legendTop = bottom + 64
        let columns = 2, rowHeight = 15.0
        let rows = (events.count + columns - 1) / columns
        let h = legendTop + Double(rows) * rowHeight + 16
        let duration = max(Double(d.endNs) / 1e9, 0.001)
        let rtts = d.probes.compactMap { p in p.repliesNs.min().map { Double($0 - p.sentNs) / 1e6 } }.filter { $0 > 0 }
        let lo = floor(log10(max(rtts.min() ?? 0.1, 0.001)))
        let hi = max(ceil(log10(max(rtts.max() ?? 10, 0.001))), lo + 1)
        func x(_ s: Double) -> Double { left + (right - left) * min(max(s / duration, 0), 1) }
        func y(_ rttMs: Double) -> Double { bottom - (bottom - top) * (log10(max(rttMs, pow(10, lo))) - lo) / (hi - lo) }

        var s = """
            <?xml version="1.0" encoding="UTF-8"?>
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(w))" height="\(Int(h))" viewBox="0 0 \(Int(w)) \(Int(h))" font-family="sans-serif" font-size="12">
            <rect x="0" y="0" width="\(Int(w))" height="\(Int(h))" fill="white"/>
            <text x="\(left)" y="24" font-size="15" font-weight="bold">\(esc(headlineFirst(r)))</text>
            <text x="\(left)" y="42" font-size="13">\(esc(headlineRest(r)))</text>
            <text x="\(left)" y="60" fill="#555">requests every \(f2(r.requestedIntervalMs)) ms (achieved \(f2(r.achievedIntervalMs)) ms); one dot per reply (RTT, log scale); red ticks under the axis: no reply; numbered lines: events below</text>

            """
        // The gap, under everything else.
        if let g = r.longestGap {
            let x0 = x(g.startMs / 1000), x1 = max(x(g.endMs / 1000), x0 + 3)
            s +=
                "<g id=\"gap\"><rect x=\"\(f1(x0))\" y=\"\(top)\" width=\"\(f1(x1 - x0))\" height=\"\(bottom - top)\" fill=\"#f4a0a0\" opacity=\"0.6\"/>"
            s +=
                "<text x=\"\(f1(min(x1 + 4, right - 90)))\" y=\"\(top + 14)\" fill=\"#a00\" font-weight=\"bold\">gap \(f1(g.lengthMs)) ms</text></g>\n"
        }
        // Axes and grid.
        s += "<g id=\"axes\" stroke=\"#999\" stroke-width=\"1\">"
        s +=
            "<line x1=\"\(left)\" y1=\"\(bottom)\" x2=\"\(right)\" y2=\"\(bottom)\"/><line x1=\"\(left)\" y1=\"\(top)\" x2=\"\(left)\" y2=\"\(bottom)\"/></g>\n"
        var decade = lo
        while decade <= hi {
            let v = pow(10, decade)
            let yy = y(v)
            s += "<line x1=\"\(left)\" y1=\"\(f1(yy))\" x2=\"\(right)\" y2=\"\(f1(yy))\" stroke=\"#eee\"/>"
            s +=
                "<text x=\"\(left - 6)\" y=\"\(f1(yy + 4))\" text-anchor=\"end\">\(v >= 1 ? String(Int(v)) : String(format: "%g", v)) ms</text>\n"
            decade += 1
        }
        let step = [0.5, 1, 2, 5, 10, 20, 30, 60, 120].first { duration / $0 <= 15 } ?? 300
        var t = 0.0
        while t <= duration + 1e-9 {
            s += "<line x1=\"\(f1(x(t)))\" y1=\"\(bottom)\" x2=\"\(f1(x(t)))\" y2=\"\(bottom + 5)\" stroke=\"#999\"/>"
            s += "<text x=\"\(f1(x(t)))\" y=\"\(bottom + 18)\" text-anchor=\"middle\">\(step < 1 ? f1(t) : String(Int(t))) s</text>\n"
            t += step
        }
        // Replies and losses.
        s += "<g id=\"replies\" fill=\"#1f5fb4\">"
        for p in d.probes {
            guard let first = p.repliesNs.min() else { continue }
            let rtt = Double(first - p.sentNs) / 1e6
            s += "<circle cx=\"\(f1(x(Double(p.sentNs) / 1e9)))\" cy=\"\(f1(y(rtt)))\" r=\"1.3\"/>"
        }
        s += "</g>\n<g id=\"lost\" stroke=\"#d00\" stroke-width=\"1\">"
        for p in d.probes where p.repliesNs.isEmpty {
            let xx = f1(x(Double(p.sentNs) / 1e9))
            s += "<line x1=\"\(xx)\" y1=\"\(bottom + 24)\" x2=\"\(xx)\" y2=\"\(bottom + 32)\"/>"
        }
        s += "</g>\n"
        // Markers: a numbered line per event (numbers staggered in up to 5 rows where they crowd), and the
        // legend under the plot.
        s += "<g id=\"markers\">"
        var lastX = [Double](repeating: -1000, count: 5)
        for (i, e) in events.enumerated() {
            let xx = x(e.tMs / 1000)
            let row = (0..<5).first { xx - lastX[$0] >= 16 } ?? (i % 5)
            lastX[row] = xx
            let color = e.source == "drill" ? "#e08000" : color(for: e.kind)
            let ny = top - 6 - Double(row) * 12
            s +=
                "<line class=\"marker\" x1=\"\(f1(xx))\" y1=\"\(f1(ny + 3))\" x2=\"\(f1(xx))\" y2=\"\(bottom)\" stroke=\"\(color)\" stroke-dasharray=\"\(e.source == "drill" ? "none" : "4,3")\" stroke-width=\"\(e.source == "drill" ? 2 : 1)\"/>"
            s +=
                "<text x=\"\(f1(xx))\" y=\"\(f1(ny))\" text-anchor=\"middle\" font-size=\"10\" font-weight=\"bold\" fill=\"\(color)\">\(i + 1)</text>\n"
        }
        s += "</g>\n<g id=\"legend\" font-size=\"11\">"
        let colWidth = (right - left) / Double(columns)
        for (i, e) in events.enumerated() {
            let col = i / max(rows, 1), row = i % max(rows, 1)
            let lx = left + Double(col) * colWidth, ly = legendTop + Double(row) * rowHeight
            let color = e.source == "drill" ? "#e08000" : color(for: e.kind)
            let label = "\(i + 1)  \(f3(e.tMs / 1000)) s  \(e.source): \(e.text)"
            s += "<text x=\"\(f1(lx))\" y=\"\(f1(ly))\" fill=\"\(color)\">\(esc(String(label.prefix(78))))</text>\n"
        }
        s += "</g>\n</svg>\n"
        return s
    }

    /// The headline in two lines: the interruption, then losses and the action.
    static func headlineSplit(_ r: DrillReport) -> (String, String) {
        let h = r.headline
        let cut = h.range(of: "), ").map { h.index(before: $0.upperBound) } ?? h.range(of: ", ").map { $0.upperBound }
        guard let c = cut else { return (h, "") }
        return (
            String(h[..<c]).trimmingCharacters(in: CharacterSet(charactersIn: ", ")), String(h[c...]).trimmingCharacters(in: .whitespaces)
        )
    }
    static func headlineFirst(_ r: DrillReport) -> String { headlineSplit(r).0 }
    static func headlineRest(_ r: DrillReport) -> String { headlineSplit(r).1 }

    static func color(for kind: String) -> String {
        switch kind {
        case "member", "quorum": "#7030a0"
        case "fencing": "#c00000"
        case "migration": "#008060"
        case "group", "operation": "#206020"
        default: "#606060"
        }
    }

    static func esc(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
