import Foundation
#if canImport(FoundationXML)
    import FoundationXML
#endif
import Testing
@testable import VigilDrill

/// The report from recorded data: windows, totals, gap, phases, timeline, and the files (JSON, CSV, SVG).
@Suite struct DrillReportTests {
    /// 3 s at 10 ms; RTT 0.25 ms, 1 ms from 1.0 s to 1.5 s; no replies to requests sent from 2.00 s to 2.19 s
    /// (20 lost); one duplicate; the action at 1.8 s and three cluster events.
    static func recorded() -> DrillData {
        var probes: [DrillData.Probe] = []
        for i in 0..<300 {
            let sent = Int64(i) * 10_000_000
            var p = DrillData.Probe(seq: UInt32(i), sentNs: sent)
            let rtt: Int64 = (100..<150).contains(i) ? 1_000_000 : 250_000
            if !(200..<220).contains(i) { p.repliesNs = [sent + rtt] }
            if i == 42 { p.repliesNs.append(sent + rtt + 100_000) }
            probes.append(p)
        }
        let events = [
            DrillData.Event(tNs: 1_800_000_000, source: "drill", kind: "action", text: "standby:a issued"),
            DrillData.Event(tNs: 1_990_000_000, source: "a", kind: "operation", text: "vm1/vm stop begins (handover)"),
            DrillData.Event(tNs: 2_150_000_000, source: "b", kind: "migration", text: "downtime 57 ms"),
            DrillData.Event(tNs: 2_210_000_000, source: "b", kind: "group", text: "vm1 running")
        ]
        return DrillData(
            target: "10.88.0.100", action: "standby:a", intervalNs: 10_000_000, actionNs: 1_800_000_000,
            endNs: 3_000_000_000, startWallNs: 1_795_000_000_000_000_000, probes: probes, events: events)
    }

    @Test func windowsTotalsGapAndPhases() throws {
        let r = DrillReport(Self.recorded())
        #expect(r.sent == 300 && r.received == 280 && r.lost == 20 && r.duplicates == 1)
        #expect(r.windows.count == 3)
        #expect(r.windows[0].sent == 100 && r.windows[0].received == 100)
        #expect(r.windows[0].rttMaxMs == 0.25 && r.windows[1].rttMaxMs == 1.0 && r.windows[1].rttMinMs == 0.25)
        #expect(r.windows[2].received == 80)
        let g = try #require(r.longestGap)
        // Last reply before: request 199 (1.99 s + 0.25 ms); first after: request 220 (2.20 s + 0.25 ms).
        #expect(abs(g.lengthMs - 210) < 0.001 && g.lost == 20 && !g.open)
        #expect(abs(r.achievedIntervalMs - 10) < 0.001 && r.resolutionMs == 10)
        #expect(r.phases.map(\.name) == ["before", "during", "after"])
        #expect(r.phases[0].toMs == 1800 && r.phases[1].fromMs == 1800)
        #expect(r.phases[1].toMs >= 2200.25, "during lasts to the end of the gap (and the last event)")
        #expect(r.timeline.map(\.source) == ["drill", "a", "b", "b"])
        #expect(r.headline.contains("interruption 210.0 ms") && r.headline.contains("20 of 300 pings lost"))
        #expect(r.text.contains("0-1     100   100") && r.text.contains("vm1 running"))
    }

    @Test func anOutageThatNeverEndsIsReportedOpen() throws {
        var d = Self.recorded()
        for i in 250..<300 { d.probes[i].repliesNs = [] }
        let r = DrillReport(d)
        let g = try #require(r.longestGap)
        #expect(g.open && abs(g.endMs - 3000) < 0.001)
        #expect(r.headline.contains("NOT ANSWERING"))
    }

    @Test func jsonCsvAndSvgAreWellFormed() throws {
        let d = Self.recorded()
        let r = DrillReport(d)
        let json = try JSONSerialization.jsonObject(with: r.json()) as! [String: Any]
        #expect(json["lost"] as? Int == 20 && (json["longest_gap"] as? [String: Any])?["lost"] as? Int == 20)
        let csv = DrillReport.csv(d).split(separator: "\n")
        #expect(csv.count == 301 && csv[0] == "seq,sent_ms,reply_ms,rtt_ms,duplicates")
        #expect(csv[201] == "200,2000.000,,,0" && csv[43] == "42,420.000,420.250,0.250,1")
        let svg = DrillPlot.svg(d, r)
        let parser = XMLParser(data: Data(svg.utf8))
        let counter = ElementCounter()
        parser.delegate = counter
        #expect(parser.parse(), "the SVG is not well-formed XML: \(String(describing: parser.parserError))")
        #expect(counter.markers == 3, "one marker per plotted event (operations stay in the timeline)")
        #expect(counter.legendLines == 3)
        #expect(counter.ids.contains("gap") && counter.ids.contains("replies") && counter.ids.contains("lost"))
        #expect(counter.circles == 280 && counter.lostTicks == 20)
        #expect(svg.contains("gap 210.0 ms"))
    }
}

final class ElementCounter: NSObject, XMLParserDelegate {
    var markers = 0, circles = 0, lostTicks = 0, legendLines = 0
    var ids: Set<String> = []
    var inLost = false, inLegend = false
    func parser(
        _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]
    ) {
        if let id = attributes["id"] { ids.insert(id); inLost = id == "lost"; inLegend = id == "legend" }
        if name == "text", inLegend { legendLines += 1 }
        if attributes["class"] == "marker" { markers += 1 }
        if name == "circle" { circles += 1 }
        if name == "line", inLost { lostTicks += 1 }
    }
    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        if name == "g" { inLost = false; inLegend = false }
    }
}
