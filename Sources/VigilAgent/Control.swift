import Foundation
import NIOCore
import NIOPosix
import VigilCore

/// The root-only Unix control socket: one command line in (`status`, `leave`, a request…), one response out, then
/// close.
/// Its connections run on the driver's loop, so a request reads the agent's state directly.
final class ControlServer: @unchecked Sendable {
    let path: String
    let group: EventLoopGroup
    let agent: Agent
    private var channel: Channel?

    init(path: String, group: EventLoopGroup, agent: Agent) {
        self.path = path
        self.group = group
        self.agent = agent
    }

    func start() throws {
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty {
            try FileManager.default.createDirectory(
                atPath: dir, withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o755])
        }
        if FileManager.default.fileExists(atPath: path) {
            if (try? ControlClient.request(path: path, command: "ping", timeout: .seconds(1))) != nil {
                throw AgentError("another agent is already listening on \(path); stop it first, or pass --socket PATH")
            }
            unlink(path)
        }
        // Created with mode 0600 from the start: no window in which others could connect.
        let oldMask = umask(0o177)
        defer { umask(oldMask) }
        let agent = self.agent
        channel = try ServerBootstrap(group: group)
            .childChannelInitializer { ch in
                ch.eventLoop.makeCompletedFuture { try ch.pipeline.syncOperations.addHandler(ControlHandler(agent: agent)) }
            }
            .bind(unixDomainSocketPath: path).wait()
        chmod(path, 0o600)
    }

    func stop(on loop: EventLoop) -> EventLoopFuture<Void> {
        unlink(path)
        return channel?.close() ?? loop.makeSucceededVoidFuture()
    }
}

/// Serves one control request per connection.
final class ControlHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let agent: Agent
    var request: [UInt8] = []
    /// The one command of this connection was read (anything after it is ignored).
    var served = false

    init(agent: Agent) { self.agent = agent }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !served else { return }
        var buf = unwrapInboundIn(data)
        request += buf.readBytes(length: buf.readableBytes) ?? []
        guard let nl = request.firstIndex(of: 0x0A) else {
            if request.count > 4096 { context.close(promise: nil) }
            return
        }
        var command = String(decoding: request[..<nl], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        served = true
        // A JSON line is a typed command (what the CLI sends); other lines are the text protocol (scripts, socat).
        var admin: AdminRequest?
        var unreadable: String?
        let json = command.hasPrefix("{")
        if json {
            do {
                switch try JSONDecoder().decode(ControlCommand.self, from: Data(command.utf8)) {
                case let .admin(r): admin = r.completed(node: agent.options.node)
                case .ping: command = "ping"
                case .status: command = "status"
                case .events: command = "events"
                case .leave: command = "leave"
                case .restart: command = "restart"
                case .reload: command = "reload"
                }
            } catch {
                unreadable = "\(error)"
            }
        } else {
            admin = AdminRequest(text: agent.completeRequest(command))  // the text protocol's requests
        }
        let channel = context.channel
        let agent = self.agent
        let loop = context.eventLoop
        /// Writes the reply and closes the connection (on the loop; `leave` then starts the controlled stop).
        func send(_ reply: String, leaveAfter: Bool = false, restartAfter: Bool = false) {
            loop.assertInEventLoop()
            var out = channel.allocator.buffer(capacity: reply.utf8.count)
            out.writeString(reply)
            channel.writeAndFlush(out).whenComplete { _ in
                channel.close(promise: nil)
                if leaveAfter { agent.shutdown(.leaveCommand) }
                if restartAfter { agent.restart() }
            }
        }
        switch command {
        case "ping":
            send("pong\n")
        case _ where !agent.ready:
            // Still starting its services on the main thread: nothing else is answered or carried out yet.
            send(
                json
                    ? AdminReply.error("the agent is starting; try again in a moment").line
                    : "error: the agent is starting; try again in a moment\n")
        case "status":
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            let data = (try? enc.encode(agent.statusReport())) ?? Data("{}".utf8)
            send(String(decoding: data, as: UTF8.self) + "\n")
        case "events":
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys]
            let data = (try? enc.encode(agent.journal.events)) ?? Data("[]".utf8)
            send(String(decoding: data, as: UTF8.self) + "\n")
        case "leave":
            send("leaving: handing groups over first\n", leaveAfter: true)
        case "reload":
            let outcome = agent.reload()
            agent.logReload(outcome, by: "vigil reload")
            if case .refused = outcome { send("error: \(outcome)\n") } else { send("ok: \(outcome)\n") }
        case "restart":
            send("restarting: every group stays where it runs\n", restartAfter: true)
        default:
            if let unreadable {
                send(
                    json
                        ? AdminReply.error("cannot read the command: \(unreadable)").line
                        : "error: cannot read the command: \(unreadable)\n")
            } else if let r = admin, AdminRequest(text: r.description) != r {
                // A name that is empty or holds a space would travel as text no node can read.
                let why = "not a valid request: \(r) (names must be non-empty and without spaces)"
                send(json ? AdminReply.error(why).line : "error: \(why)\n")
            } else if let r = admin {
                // Answered once the node that carries it out accepted or refused it (or after a timeout).
                agent.adminRequest(r) { reply in send(json ? reply.line : reply.text(r)) }
            } else {
                send(
                    "error: unknown command '\(command)'; expected status, events, leave, ping, standby NODE, unstandby NODE, move GROUP NODE, unmove GROUP, takeover NODE home|all, cleanup GROUP NODE or confirm-down NODE\n"
                )
            }
        }
    }
}

/// The control socket's answer to an administrative request. A JSON command gets it as one JSON line
/// (`AdminReply.line`); the text protocol as `ok: …` or `error: …` (`text(_:)`).
public enum AdminReply: Codable, Sendable, Hashable {
    /// The node that carries the request out answered.
    case answered(RequestAnswer)
    /// No answer came within `waitedMs` from `handler` (the coordinator, or the node named; empty: none known).
    case noAnswer(handler: String, waitedMs: Int)
    /// The request was not sent: the agent is starting or leaving, or the request is unreadable.
    case error(String)

    /// The request was accepted.
    public var accepted: Bool { if case let .answered(a) = self { a.accepted } else { false } }

    public var line: String { String(decoding: (try? JSONEncoder().encode(self)) ?? Data(), as: UTF8.self) + "\n" }

    /// For people and the text protocol: `ok: …` when accepted, else `error: …`.
    public func text(_ request: AdminRequest) -> String {
        switch self {
        case let .answered(a) where a.accepted: "ok: \(request): \(a)\n"
        case let .answered(a): "error: \(request): \(a)\n"
        case let .noAnswer(h, ms):
            "error: \(request): no answer from \(h.isEmpty ? "the coordinator" : h) within \(ms) ms (it may have failed just now, or run an older Vigil); the request may or may not have been carried out\n"
        case let .error(why): "error: \(why)\n"
        }
    }
}

/// A command on the control socket, as the CLI sends it: one JSON line (`{"status":{}}`,
/// `{"admin":{"_0":{"move":{"group":"web","node":"n2"}}}}`). An empty node in a request means the agent's own.
public enum ControlCommand: Codable, Sendable {
    case ping
    case status
    case events
    case leave
    /// Leave without handing anything over, and run the agent again (`vigil restart`).
    case restart
    /// Read cluster.conf again and apply what can change at run time (`vigil reload`).
    case reload
    case admin(AdminRequest)

    /// The line to send.
    public var line: String {
        let data = (try? JSONEncoder().encode(self)) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}

/// A tiny blocking client for the control socket (used by the CLI and the tests; no event loop needed).
public enum ControlClient {
    /// The socket could not be connected to: no agent listens there (or this is not root).
    public struct Unreachable: Error, CustomStringConvertible {
        public let description: String
    }

    public static func request(path: String, command: String, timeout: Duration = .seconds(5)) throws -> String {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw AgentError("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var tv = timeval(tv_sec: Int(timeout.nanoseconds / 1_000_000_000), tv_usec: Int(timeout.nanoseconds % 1_000_000_000 / 1000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { throw AgentError("socket path too long: \(path)") }
        withUnsafeMutableBytes(of: &addr.sun_path) { p in
            p.copyBytes(from: bytes)
            p[bytes.count] = 0
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else {
            throw Unreachable(
                description:
                    "cannot reach the agent at \(path): \(String(cString: strerror(errno))) (is `vigil agent` running? is this root?)")
        }
        let line = Array((command + "\n").utf8)
        guard write(fd, line, line.count) == line.count else { throw AgentError("cannot send to \(path)") }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fd, &chunk, chunk.count)
            if n < 0 { throw AgentError("no answer from the agent at \(path) within \(timeout)") }
            if n == 0 { break }
            out += chunk[0..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }
}
