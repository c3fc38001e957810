import Foundation
import Synchronization
import VigilCore

/// One device's storage thread: runs the cycles the core asks for, one at a time, and hands each result to
/// a callback. A device call that blocks (a hung target) blocks only this thread; the core notices the missed
/// deadline by itself, and the thread catches up when the call returns.
public final class StorageWorker: @unchecked Sendable {
    private let device: BlockDevice
    private let cluster: String
    private let nodes: Int
    private let clock: @Sendable () -> Instant
    private let state = Mutex<(pending: StorageCycle?, stop: Bool, busy: Bool)>((nil, false, false))
    private let wake = DispatchSemaphore(value: 0)
    private var thread: Thread?
    private let done: @Sendable (StorageCycle, StorageCycleResult) -> Void

    public init(
        url: StorageURL, initiator: String, timeout: Duration, cluster: String, nodes: Int,
        clock: @escaping @Sendable () -> Instant, done: @escaping @Sendable (StorageCycle, StorageCycleResult) -> Void
    ) {
        device = BlockDevices.make(url, initiator: initiator, timeout: timeout)
        self.cluster = cluster
        self.nodes = nodes
        self.clock = clock
        self.done = done
        let t = Thread { [self] in self.loop() }
        t.name = "vigil-storage"
        thread = t
        t.start()
    }

    /// Queues a cycle; returns false (and drops it) if one is still running or queued, unless `force` (the
    /// last cycle before exit): then it replaces a queued one and runs after the one in progress.
    @discardableResult
    public func submit(_ c: StorageCycle, force: Bool = false) -> Bool {
        let ok = state.withLock { s -> Bool in
            if !force, s.busy || s.pending != nil { return false }
            s.pending = c
            return true
        }
        if ok { wake.signal() }
        return ok
    }

    /// Asks the thread to exit after its current call.
    public func stop() {
        state.withLock { $0.stop = true }
        wake.signal()
    }

    private func loop() {
        while true {
            wake.wait()
            let c: StorageCycle? = state.withLock { s in
                if s.stop { return nil }
                let c = s.pending
                s.pending = nil
                s.busy = c != nil
                return c
            }
            if state.withLock({ $0.stop }) { device.close(); return }
            guard let c else { continue }
            let r = SlotAreaIO.run(c, on: device, cluster: cluster, nodes: nodes, clock: clock)
            state.withLock { $0.busy = false }
            done(c, r)
        }
    }
}
