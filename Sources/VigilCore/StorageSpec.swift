/// What a node does to itself when it must be fenced (a poison pill for it, or quorum and storage both lost
/// for longer than `watchdogTimeout`).
public enum SelfFenceMode: String, Hashable, Sendable, Codable {
    /// Reboot at once (sysrq `b`, no clean shutdown): what a real node must do. The default.
    case reboot
    /// Stop every resource hard (a `vm` is destroyed, not handed over) and keep running the agent, fenced,
    /// until the coordinator clears the pill. For tests, and nodes whose resources always stop.
    case stopResources = "stop-resources"
}

/// The `[storage]` table: shared devices used as a second heartbeat medium and a fencing channel.
///
/// Timing rule (checked at start-up): `msgwait >= 2 * watchdogTimeout`. A node that has lost both quorum and
/// a majority of its devices for `watchdogTimeout` fences itself, so a pill that was written to a majority of
/// devices `msgwait` ago has either been read, or its victim has fenced itself: see docs/storage.md.
public struct StorageSpec: Hashable, Sendable {
    /// Device URLs (`iscsi://PORTAL/IQN/LUN`, `aoe://IFACE/SHELF.SLOT`, or a block device path).
    public var devices: [String]
    /// Disk heartbeat period: every node writes its slot and reads every other slot this often.
    public var interval: Duration
    /// Deadline of one cycle (read of the slot area plus the writes). Slower than half of it is `slow`;
    /// a cycle not done in time (or failing) makes the device `lost` until one succeeds again.
    public var ioTimeout: Duration
    /// Lost quorum and a majority of devices for this long: the node fences itself.
    public var watchdogTimeout: Duration
    /// A pill written to a majority of devices counts as delivered after this long, acknowledged or not.
    public var msgwait: Duration
    public var selfFence: SelfFenceMode
    /// A watchdog device to feed (`/dev/watchdog`, e.g. softdog), with `watchdogTimeout` as its timeout.
    public var watchdogDevice: String?
    /// iSCSI initiator name (default `iqn.2026-11.org.vigil:<cluster>.<node>`).
    public var initiator: String?
    /// With `self_fence = "stop-resources"`: the time limit of each resource's stop when this node fences
    /// itself or loses quorum (a hard stop: a `vm` is killed). nil: what fits, `fenceStopTimeout(resources:deadtime:)`.
    public var fenceStopTimeout: Duration?

    /// The hard-stop limit per resource: the configured one, or (msgwait - deadtime - watchdog_timeout) shared
    /// by the resources of the largest group, so that a fenced node has stopped everything before msgwait
    /// ends (it may lose quorum up to deadtime after the fencer's clock starts, docs/storage.md).
    public func fenceStopTimeout(resources: Int, deadtime: Duration) -> Duration {
        fenceStopTimeout ?? (msgwait - deadtime - watchdogTimeout) / max(1, resources)
    }

    public init(
        devices: [String], interval: Duration = .milliseconds(200), ioTimeout: Duration = .seconds(1),
        watchdogTimeout: Duration = .seconds(2), msgwait: Duration = .seconds(4),
        selfFence: SelfFenceMode = .reboot, watchdogDevice: String? = nil, initiator: String? = nil
    ) {
        self.devices = devices
        self.interval = interval
        self.ioTimeout = ioTimeout
        self.watchdogTimeout = watchdogTimeout
        self.msgwait = msgwait
        self.selfFence = selfFence
        self.watchdogDevice = watchdogDevice
        self.initiator = initiator
    }

    /// Devices a node must reach to count as having storage, and a pill must be written to: a majority,
    /// so that any two such sets share a device.
    public var majority: Int { devices.count / 2 + 1 }

    /// Problems with the timing rules, each a sentence (empty: fine).
    public func timingProblems(deadtime: Duration) -> [String] {
        var p: [String] = []
        if msgwait < watchdogTimeout * 2 {
            p.append(
                "msgwait (\(msgwait.compactDescription)) must be at least 2 x watchdog_timeout (\(watchdogTimeout.compactDescription)): a victim that lost its storage must have fenced itself before its pill counts as delivered"
            )
        }
        if msgwait < deadtime + watchdogTimeout {
            p.append(
                "msgwait (\(msgwait.compactDescription)) must be at least deadtime + watchdog_timeout (\(deadtime.compactDescription) + \(watchdogTimeout.compactDescription)): a node cut off from the fencer may keep quorum through a peer until deadtime after that peer last listed it, and then has watchdog_timeout to fence itself"
            )
        }
        if watchdogTimeout < ioTimeout + interval * 2 {
            p.append(
                "watchdog_timeout (\(watchdogTimeout.compactDescription)) must be at least io_timeout + 2 x interval (\(ioTimeout.compactDescription) + 2 x \(interval.compactDescription)): one failed cycle must not fence a node, and a victim must notice its lost storage in time"
            )
        }
        if ioTimeout < interval {
            p.append("io_timeout (\(ioTimeout.compactDescription)) must be at least interval (\(interval.compactDescription))")
        }
        return p
    }
}
