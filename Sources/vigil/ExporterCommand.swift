import ArgumentParser
import Foundation
import VigilAgent
import VigilExporter

/// `vigil exporter`: Prometheus metrics of the local agent (docs/metrics.md).
struct Exporter: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the local agent's status as Prometheus metrics (GET /metrics), as a process of its own.",
        discussion: "Default 127.0.0.1:9664 (ha_cluster_exporter's port). Each scrape asks the agent's control socket once.")
    @OptionGroup var where_: SocketOption
    @Option(help: ArgumentHelp("Address and port to listen on.", valueName: "host:port")) var listen = "127.0.0.1:9664"

    func validate() throws { _ = try parsed() }

    func parsed() throws -> (String, Int) {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (0...65535).contains(port)
        else {
            throw ValidationError("--listen \(listen): expected HOST:PORT, like 127.0.0.1:9664 or [::]:9664")
        }
        let host = String(listen[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        return (host.isEmpty ? "0.0.0.0" : host, port)
    }

    func run() throws {
        let (host, port) = try parsed()
        let server = ExporterServer(host: host, port: port, socketPath: where_.path(), version: Agent.version)
        let bound: Int
        do { bound = try server.start() } catch { throw CLIError("cannot listen on \(listen): \(error)") }
        FileHandle.standardError.write(Data("vigil exporter: serving http://\(host):\(bound)/metrics from \(where_.path())\n".utf8))
        try server.wait()
    }
}
