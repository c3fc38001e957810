import Foundation
import Logging
import NIOCore
import VigilCore
import VigilStorage

/// The shared storage devices (`[storage]`) and the watchdog. One `StorageWorker` thread per device runs the
/// core's storage cycles (libiscsi and AoE calls block, so they stay off the event loop); each result goes to
/// `onCycle` on the driver's loop. The watchdog device is fed by the driver after every step while the core
/// says this node is healthy.
final class SharedStorage: AgentService, @unchecked Sendable {
    let name = "storage"
    /// The leaving slot is written on every device before the sockets close.
    let servesTheLeave = true
    let settings: StorageSpec
    let cluster: String
    let node: String
    let nodes: Int
    let loop: EventLoop
    let logger: Logger
    /// Set by the driver before `start`; called on the driver's loop with the device's index.
    var onCycle: (Int, StorageCycle, StorageCycleResult) -> Void = { _, _, _ in }
    private(set) var workers: [StorageWorker] = []
    /// The watchdog device (`[storage] watchdog`).
    private(set) var watchdog: Watchdog?

    init(settings: StorageSpec, cluster: String, node: String, nodes: Int, loop: EventLoop, logger: Logger) {
        self.settings = settings
        self.cluster = cluster
        self.node = node
        self.nodes = nodes
        self.loop = loop
        self.logger = logger
    }

    func start() throws {
        let s = settings
        let initiator = s.initiator ?? "iqn.2026-11.org.vigil:\(cluster).\(node)"
        for (d, text) in s.devices.enumerated() {
            let url = try StorageURL.parse(text)
            workers.append(
                StorageWorker(
                    url: url, initiator: initiator, timeout: s.ioTimeout, cluster: cluster, nodes: nodes,
                    clock: { Monotonic.now() }
                ) { [weak self] cycle, result in
                    guard let self else { return }
                    self.loop.execute { self.onCycle(d, cycle, result) }
                })
        }
        logger.notice(
            "shared storage: \(s.devices.joined(separator: ", ")); disk heartbeat every \(s.interval.compactDescription), io_timeout \(s.ioTimeout.compactDescription), watchdog_timeout \(s.watchdogTimeout.compactDescription), msgwait \(s.msgwait.compactDescription), self_fence \(s.selfFence.rawValue)"
        )
        if let path = s.watchdogDevice {
            let w = try Watchdog(path: path, timeout: s.watchdogTimeout)
            watchdog = w
            logger.notice("watchdog \(path) armed with \(w.seconds) s: a hung agent resets this machine")
        }
    }

    /// Hands a cycle to its device's thread (dropped if one is still running there, unless it carries the
    /// leaving slot).
    func submit(_ c: StorageCycle) {
        if c.device < workers.count { workers[c.device].submit(c, force: c.slot.leaving) }
    }

    /// Stops the device threads (each ends once its call in progress returns).
    func stop(on loop: EventLoop) -> EventLoopFuture<Void> {
        for w in workers { w.stop() }
        return loop.makeSucceededVoidFuture()
    }
}
