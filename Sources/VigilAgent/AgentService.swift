import NIOCore

/// One long-lived part of the agent's IO shell (sockets, storage threads, resource operations, ping nodes,
/// respawned programs, signals, the control socket). `Agent.run` starts the services in the order of
/// `Agent.services`; a controlled leave stops them in the reverse order, each after the one started after it
/// has stopped.
///
/// The rule every service keeps (the agent's one concurrency story, see `Agent`): it never touches the core or
/// another service's state from its own threads. Whatever it learns it hands to the callbacks the driver gave
/// it, on the driver's event loop (`loop.execute`; NIO channels are on that loop already), and the driver
/// calls into it only from that loop.
protocol AgentService: AnyObject, Sendable {
    /// For logs: "transport", "storage", ...
    var name: String { get }
    /// Whether it still has work to do after the core said to leave (the leave announcement goes out on the
    /// links, the leaving slot is written to the disks): the driver stops it only once that is done (or
    /// io_timeout passed).
    var servesTheLeave: Bool { get }
    /// Opens what it needs and starts its threads. Called on the main thread before the event loop runs the
    /// core; a throw ends `vigil agent` with the error (the services started before are then not stopped:
    /// the process exits).
    func start() throws
    /// Stops it; the future completes on `loop` once it has (sockets closed, programs ended).
    func stop(on loop: EventLoop) -> EventLoopFuture<Void>
}
