import Foundation

/// `drill.svg`: round-trip time over the drill on a log scale, one dot per reply; lost requests as red ticks
/// under the axis; the longest gap shaded with its length; the action and the cluster's events as labelled
/// vertical markers. Plain SVG, no scripts, readable in any browser.
public enum DrillPlot {
    public static func svg(_ d: DrillData, _ r: DrillReport) -> String {
        let w = 1100.0, h = 520.0
        let left = 70.0, right = w - 30, top = 60.0, bottom = h - 190
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
        <text x="\(left)" y="24" font-size="15" font-weight="bold">\(esc(r.headline))</text>
        <text x="\(left)" y="44" fill="#555">requests every \(f2(r.requestedIntervalMs)) ms (achieved \(f2(r.achievedIntervalMs)) ms); RTT of each reply, log scale; red ticks: no reply</text>

        """
        // The gap, under everything else.
        if let g = r.longestGap {
            let x0 = x(g.startMs / 1000), x1 = max(x(g.endMs / 1000), x0 + 1)
            s += "<g id=\"gap\"><rect x=\"\(f1(x0))\" y=\"\(top)\" width=\"\(f1(x1 - x0))\" height=\"\(bottom - top)\" fill=\"#f8c8c8\" opacity=\"0.7\"/>"
            s += "<text x=\"\(f1((x0 + x1) / 2))\" y=\"\(top + 14)\" text-anchor=\"middle\" fill=\"#a00\" font-weight=\"bold\">gap \(f1(g.lengthMs)) ms</text></g>\n"
        }
        // Axes and grid.
        s += "<g id=\"axes\" stroke=\"#999\" stroke-width=\"1\">"
        s += "<line x1=\"\(left)\" y1=\"\(bottom)\" x2=\"\(right)\" y2=\"\(bottom)\"/><line x1=\"\(left)\" y1=\"\(top)\" x2=\"\(left)\" y2=\"\(bottom)\"/></g>\n"
        var decade = lo
        while decade <= hi {
            let v = pow(10, decade)
            let yy = y(v)
            s += "<line x1=\"\(left)\" y1=\"\(f1(yy))\" x2=\"\(right)\" y2=\"\(f1(yy))\" stroke=\"#eee\"/>"
            s += "<text x=\"\(left - 6)\" y=\"\(f1(yy + 4))\" text-anchor=\"end\">\(v >= 1 ? String(Int(v)) : String(format: "%g", v)) ms</text>\n"
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
        // Markers: the action, then the events (labels staggered so neighbours stay readable).
        s += "<g id=\"markers\">"
        var lastX = -1000.0
        var row = 0
        for e in r.timeline {
            let xx = x(e.tMs / 1000)
            row = xx - lastX < 14 ? (row + 1) % 4 : 0
            lastX = xx
            let color = e.source == "drill" ? "#e08000" : color(for: e.kind)
            s += "<line class=\"marker\" x1=\"\(f1(xx))\" y1=\"\(top)\" x2=\"\(f1(xx))\" y2=\"\(bottom)\" stroke=\"\(color)\" stroke-dasharray=\"\(e.source == "drill" ? "none" : "4,3")\" stroke-width=\"\(e.source == "drill" ? 2 : 1)\"/>"
            let ly = bottom + 40 + Double(row) * 0
            let label = "\(e.source): \(e.text)"
            s += "<text x=\"\(f1(xx + 3))\" y=\"\(f1(ly))\" transform=\"rotate(50 \(f1(xx + 3)) \(f1(ly)))\" fill=\"\(color)\" font-size=\"10\">\(esc(String(label.prefix(60))))</text>\n"
        }
        s += "</g>\n</svg>\n"
        return s
    }

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
