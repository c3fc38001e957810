import Foundation
#if canImport(Glibc)
    import Glibc
#endif
import Testing
import VigilCore
@testable import VigilExporter

/// `vigil exporter` scraped by a real Prometheus server (Debian's `prometheus`), answering PromQL queries about a
/// real cluster in namespaces; and the exposition text itself.
@Suite(.serialized) struct MetricsTests {
    /// A process started in the background and stopped (SIGTERM, then waited for) by `stop`.
    final class Background {
        let pid: pid_t
        let output: String

        init(_ argv: [String], output: String) throws {
            pid = try Testbed.launch(argv, output: output)
            self.output = output
        }

        func stop() {
            kill(pid, SIGTERM)
            var status: Int32 = 0
            for _ in 0..<50 {
                if waitpid(pid, &status, WNOHANG) == pid { return }
                usleep(100_000)
            }
            kill(pid, SIGKILL)
            _ = waitpid(pid, &status, 0)
        }

        var log: String { (try? String(contentsOfFile: output, encoding: .utf8)) ?? "" }
    }

    /// A TCP port on 127.0.0.1 that nothing listens on now.
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        _ = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    static func curl(_ url: String) -> String? {
        guard let (code, out) = try? Testbed.spawn(["/usr/bin/curl", "-sf", "--max-time", "3", url], env: [:]), code == 0 else {
            return nil
        }
        return out
    }

    /// The value of a PromQL query with one result (nil: none yet).
    static func query(_ port: Int, _ promql: String) -> Double? {
        let q = promql.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? promql
        guard let text = curl("http://127.0.0.1:\(port)/api/v1/query?query=\(q)"),
            let obj = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
            let data = obj["data"] as? [String: Any], let result = data["result"] as? [[String: Any]], result.count == 1,
            let value = result[0]["value"] as? [Any], value.count == 2, let s = value[1] as? String
        else { return nil }
        return Double(s)
    }

    @Test func aRealPrometheusScrapesTheExporterAndAnswersQueries() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/prometheus") else {
            Issue.record("/usr/bin/prometheus is missing: scripts/setup installs Debian's prometheus package")
            return
        }
        let tb = try FailoverTests.testbed("metrics")
        defer { tb.down() }
        try tb.start()
        #expect(tb.wait(for: tb.nodes, timeout: .seconds(15)) { FailoverTests.allRunning($0, groups: 2) } != nil)
        let dir = "\(tb.run)/prometheus"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let exporterPort = Self.freePort()
        let exporter = try Background(
            [Testbed.binary, "exporter", "--listen", "127.0.0.1:\(exporterPort)", "--socket", "\(tb.run)/n1.sock"],
            output: "\(dir)/exporter.log")
        defer { exporter.stop() }
        #expect(
            Testbed.until(.seconds(5), every: .milliseconds(200)) { Self.curl("http://127.0.0.1:\(exporterPort)/metrics") != nil },
            "\(exporter.log)")
        let text = Self.curl("http://127.0.0.1:\(exporterPort)/metrics") ?? ""
        #expect(
            text.contains("\nvigil_quorate 1\n") && text.contains("vigil_node_state{node=\"n2\",state=\"alive\"} 1"), "\(text.prefix(600))")

        let promPort = Self.freePort()
        try """
        global:
          scrape_interval: 1s
          evaluation_interval: 1s
        scrape_configs:
          - job_name: vigil
            static_configs:
              - targets: ['127.0.0.1:\(exporterPort)']
        """.write(toFile: "\(dir)/prometheus.yml", atomically: true, encoding: .utf8)
        let prometheus = try Background(
            [
                "/usr/bin/prometheus", "--config.file=\(dir)/prometheus.yml", "--storage.tsdb.path=\(dir)/data",
                "--web.listen-address=127.0.0.1:\(promPort)"
            ], output: "\(dir)/prometheus.log")
        defer { prometheus.stop() }
        #expect(
            Testbed.until(.seconds(30), every: .milliseconds(200)) {
                Self.query(promPort, "up{job=\"vigil\"}") == 1 && Self.query(promPort, "vigil_quorate") == 1
            },
            "\(prometheus.log.suffix(1500))")
        #expect(Self.query(promPort, "count(vigil_node_state{state=\"alive\"})") == 3)
        #expect(Self.query(promPort, "sum(vigil_group_running)") == 2)
        #expect(Self.query(promPort, "vigil_quorum_votes{kind=\"needed\"}") == 2)
        // A node dies: the next scrapes say so.
        try tb.kill("n3")
        #expect(
            Testbed.until(.seconds(15), every: .milliseconds(200)) { Self.query(promPort, "count(vigil_node_state{state=\"dead\"})") == 1 },
            "\(prometheus.log.suffix(800))")
        // The agent goes away: the exporter still answers, with vigil_up 0.
        try tb.kill("n1")
        #expect(Testbed.until(.seconds(15), every: .milliseconds(200)) { Self.query(promPort, "vigil_up") == 0 })
    }

    @Test func theExpositionIsWellFormed() {
        let spec = ClusterSpec(name: "t\"x", nodes: ["n1", "n2"].map { NodeSpec(name: $0, addresses: ["x-\($0)"]) }, timing: .safe)
        var r = ClusterNode(spec: spec, me: "n1", incarnation: 1, now: .zero, persisted: nil).status(now: .zero)
        r.lastMigration = "domain=web1 from=n2 wall_ms=812 total_ms=790 downtime_ms=71 data_mib=120 passes=3 postcopy=false"
        let text = MetricsText.render(r, exporterVersion: "9")
        #expect(text.contains("vigil_info{cluster=\"t\\\"x\",exporter_version=\"9\""))
        #expect(text.contains("\nvigil_last_migration_downtime_seconds 0.071\n"))
        // Standby per node: this node's own flag; a peer not heard yet has none.
        #expect(text.contains("\nvigil_node_standby{node=\"n1\"} 0\n") && !text.contains("vigil_node_standby{node=\"n2\"}"))
        // Every family once, with HELP and TYPE before its samples; every sample line "name{labels} value".
        let lines = text.split(separator: "\n")
        var typed: Set<String> = []
        for l in lines {
            if l.hasPrefix("# TYPE ") {
                let name = String(l.split(separator: " ")[2])
                #expect(!typed.contains(name), "\(name) typed twice")
                typed.insert(name)
            } else if !l.hasPrefix("# HELP ") {
                let name = String(l.prefix { $0 != "{" && $0 != " " })
                #expect(typed.contains(name), "\(l) before its TYPE")
                #expect(Double(l.split(separator: " ").last ?? "") != nil, "\(l)")
            }
        }
        #expect(
            MetricsText.render(nil, exporterVersion: "9")
                == "# HELP vigil_up 1 if the local agent answered the exporter's status request.\n# TYPE vigil_up gauge\nvigil_up 0\n")
    }
}
