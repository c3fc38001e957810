import Dispatch
import Foundation
import NIOCore

/// SIGTERM and SIGINT: a controlled stop (`onStop` with the signal's name, on the driver's loop); SIGHUP: a
/// reload (`onReload`). The signals are ignored as such and watched by dispatch sources, so they arrive as
/// ordinary events.
final class Signals: AgentService, @unchecked Sendable {
    let name = "signals"
    let servesTheLeave = false
    let loop: EventLoop
    /// Set by the driver before `start`; called on the driver's loop.
    var onStop: (StopRequest) -> Void = { _ in }
    var onReload: () -> Void = {}
    private var sources: [DispatchSourceSignal] = []

    init(loop: EventLoop) { self.loop = loop }

    func start() throws {
        for sig in [SIGTERM, SIGINT] {
            signal(sig, SIG_IGN)
            let src = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            src.setEventHandler { [loop] in
                loop.execute { self.onStop(sig == SIGTERM ? .sigterm : .sigint) }
            }
            src.resume()
            sources.append(src)
        }
        signal(SIGHUP, SIG_IGN)
        let hup = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        hup.setEventHandler { [loop] in loop.execute { self.onReload() } }
        hup.resume()
        sources.append(hup)
    }

    /// The sources stay: a second SIGTERM while leaving finds the agent already leaving (and is ignored),
    /// instead of killing it with the default action.
    func stop(on loop: EventLoop) -> EventLoopFuture<Void> { loop.makeSucceededVoidFuture() }
}

extension PingNodes: AgentService {
    var name: String { "ping nodes" }
    var servesTheLeave: Bool { false }

    func stop(on loop: EventLoop) -> EventLoopFuture<Void> {
        stop()
        return loop.makeSucceededVoidFuture()
    }
}

extension Respawner: AgentService {
    var name: String { "respawn" }
    var servesTheLeave: Bool { false }

    func start() throws { startAll() }

    /// SIGTERM to every program, SIGKILL after `killGrace`: waited for on a thread of its own, not on the loop.
    func stop(on loop: EventLoop) -> EventLoopFuture<Void> {
        let promise = loop.makePromise(of: Void.self)
        DispatchQueue.global().async {
            self.stopAll()
            promise.succeed()
        }
        return promise.futureResult
    }
}

extension ControlServer: AgentService {
    var name: String { "control socket" }
    /// Closed with the links: a `vigil status` during the handover still gets its answer.
    var servesTheLeave: Bool { true }
}
