import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import VigilAgent
import VigilCore

/// `vigil exporter`: a small HTTP server, a process of its own (the agent's footprint stays as it is), that
/// answers `GET /metrics` with the local agent's status as Prometheus metrics (`MetricsText`). Each scrape asks
/// the agent's control socket once, on a thread of its own (the client blocks), and renders the answer.
public final class ExporterServer: @unchecked Sendable {
    public let host: String
    public let port: Int
    let socketPath: String
    let version: String
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    var channel: Channel?

    public init(host: String, port: Int, socketPath: String, version: String) {
        self.host = host
        self.port = port
        self.socketPath = socketPath
        self.version = version
    }

    /// Binds and serves until the process ends; returns the port it listens on (useful with port 0).
    public func start() throws -> Int {
        let socketPath = socketPath
        let version = version
        let ch = try ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { ch in
                ch.pipeline.configureHTTPServerPipeline().flatMap {
                    ch.pipeline.addHandler(MetricsHandler(socketPath: socketPath, version: version))
                }
            }
            .bind(host: host, port: port).wait()
        channel = ch
        return ch.localAddress?.port ?? port
    }

    public func wait() throws { try channel?.closeFuture.wait() }

    /// The metrics text now: the agent's status, or `vigil_up 0` when it cannot be asked.
    static func scrape(socketPath: String, version: String) -> String {
        let report = (try? ControlClient.request(path: socketPath, command: "status", timeout: .seconds(5)))
            .flatMap { try? JSONDecoder().decode(StatusReport.self, from: Data($0.utf8)) }
        return MetricsText.render(report, exporterVersion: version)
    }
}

/// Serves `/metrics` (and a one-line page at `/`); anything else is 404, any method but GET and HEAD 405.
final class MetricsHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    let socketPath: String
    let version: String
    var head: HTTPRequestHead?

    init(socketPath: String, version: String) {
        self.socketPath = socketPath
        self.version = version
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case let .head(h): head = h
        case .body: break
        case .end:
            guard let h = head else { return }
            head = nil
            let path = h.uri.split(separator: "?").first.map(String.init) ?? h.uri
            let channel = context.channel
            let loop = context.eventLoop
            let keepAlive = h.isKeepAlive
            @Sendable func respond(_ status: HTTPResponseStatus, _ type: String, _ body: String) {
                loop.execute {
                    var headers = HTTPHeaders()
                    headers.add(name: "Content-Type", value: type)
                    headers.add(name: "Content-Length", value: "\(body.utf8.count)")
                    if !keepAlive { headers.add(name: "Connection", value: "close") }
                    channel.write(
                        HTTPServerResponsePart.head(HTTPResponseHead(version: h.version, status: status, headers: headers)), promise: nil)
                    if h.method != .HEAD {
                        channel.write(HTTPServerResponsePart.body(.byteBuffer(channel.allocator.buffer(string: body))), promise: nil)
                    }
                    channel.writeAndFlush(HTTPServerResponsePart.end(nil)).whenComplete { _ in
                        if !keepAlive { channel.close(promise: nil) }
                    }
                }
            }
            guard h.method == .GET || h.method == .HEAD else {
                respond(.methodNotAllowed, "text/plain", "only GET\n")
                return
            }
            switch path {
            case "/metrics":
                let socketPath = socketPath
                let version = version
                Thread.detachNewThread {
                    respond(
                        .ok, "text/plain; version=0.0.4; charset=utf-8", ExporterServer.scrape(socketPath: socketPath, version: version))
                }
            case "/":
                respond(.ok, "text/html", "<html><body><a href=\"/metrics\">vigil metrics</a></body></html>\n")
            default:
                respond(.notFound, "text/plain", "not found\n")
            }
        }
    }
}
