import Foundation
import NIOCore
import Synchronization
import VigilCore
import VigilResources

/// What an alert script gets for one event, as VIGIL_ALERT_* variables (docs/operations.md, "Alerts"), in the
/// manner of Pacemaker's alert agents (CRM_alert_kind, CRM_alert_node…). Pure; nil for events no alert is for.
public enum AlertEnvironment {
    public static func of(_ e: ClusterEvent) -> [String: String]? {
        switch e {
        case let .memberChanged(node, from, to):
            ["KIND": "node", "NODE": node, "STATE": to.description, "PREVIOUS": from.description, "DESC": "\(node) is \(to) (was \(from))"]
        case let .quorumChanged(q):
            ["KIND": "quorum", "STATE": q ? "quorate" : "lost", "DESC": q ? "quorum gained" : "quorum lost"]
        case let .coordinatorChanged(term, c):
            [
                "KIND": "coordinator", "NODE": c ?? "", "TERM": "\(term)",
                "DESC": c.map { "\($0) coordinates term \(term)" } ?? "no coordinator in term \(term)"
            ]
        case let .groupChanged(g, phase):
            ["KIND": "group", "GROUP": g, "STATE": "\(phase)", "DESC": "group \(g) is \(phase) on this node"]
        case let .fenced(reason):
            [
                "KIND": "fencing", "STATE": reason == nil ? "unfenced" : "fenced",
                "DESC": reason.map { "this node fenced itself: \($0)" } ?? "this node's fence was lifted"
            ]
        case let .peerFenced(node, proof):
            ["KIND": "fencing", "NODE": node, "STATE": "fenced", "DESC": "\(node) is fenced: \(proof)"]
        case let .storageChanged(device, health):
            ["KIND": "storage", "DEVICE": "\(device)", "STATE": health.rawValue, "DESC": "storage device \(device) is \(health.rawValue)"]
        case let .linkChanged(node, link, up):
            [
                "KIND": "link", "NODE": node, "LINK": "\(link)", "STATE": up ? "up" : "down",
                "DESC": "link \(link) to \(node) is \(up ? "up" : "down")"
            ]
        case let .groupDisabled(g, off):
            ["KIND": "group", "GROUP": g, "STATE": off ? "disabled" : "enabled", "DESC": "group \(g) \(off ? "disabled" : "enabled")"]
        case let .failuresExpired(g):
            [
                "KIND": "group", "GROUP": g, "STATE": "failures-expired",
                "DESC": "group \(g)'s failures on this node expired (failure_timeout): it may run here again"
            ]
        case .standbyChanged, .packetsDropped, .heartbeatDaemon, .requestAnswered:
            nil
        }
    }

    /// For the vm agent's figures after a live migration into this node (`domain=… from=… downtime_ms=…`).
    public static func migration(_ figures: String) -> [String: String] {
        ["KIND": "migration", "STATE": "done", "DESC": figures]
    }
}

/// Alert scripts (`alerts` in cluster.conf): every executable file of that directory, in name order, runs once
/// per event with VIGIL_ALERT_* set, each bounded by `alert_timeout` (its process group killed after it). They run
/// one at a time on a thread of their own, in the order of the events, so a slow script delays the next alerts but
/// never the agent; beyond 1,000 waiting events, new ones are dropped and counted in the log.
final class Alerts: AgentService, @unchecked Sendable {
    var name: String { "alerts" }
    var servesTheLeave: Bool { false }
    let directory: String
    let timeout: Duration
    let runner: ResourceRunner
    let common: [String: String]
    let log: @Sendable (String) -> Void
    let queue = DispatchQueue(label: "vigil.alerts")
    let pending = Mutex(0)
    var sequence: UInt64 = 0
    static let maxPending = 1000

    init(
        directory: String, timeout: Duration, runner: ResourceRunner, cluster: String, node: String,
        log: @escaping @Sendable (String) -> Void
    ) {
        self.directory = directory
        self.timeout = timeout
        self.runner = runner
        self.log = log
        common = ["VIGIL_ALERT_CLUSTER": cluster, "VIGIL_ALERT_LOCAL_NODE": node, "VIGIL_ALERT_VERSION": Agent.version]
    }

    func start() throws {}
    func stop(on loop: EventLoop) -> EventLoopFuture<Void> { loop.makeSucceededVoidFuture() }

    /// The executable files of the directory, in name order (editor backups and hidden files skipped).
    func scripts() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { !$0.hasPrefix(".") && !$0.hasSuffix("~") && !$0.hasSuffix(".dpkg-old") && !$0.hasSuffix(".dpkg-new") }
            .sorted()
            .map { "\(directory)/\($0)" }.filter { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Queues the alert for `fields` (the variables without their VIGIL_ALERT_ prefix). Called on the loop.
    func fire(_ fields: [String: String]) {
        sequence += 1
        var env = common
        for (k, v) in fields { env["VIGIL_ALERT_\(k)"] = v }
        env["VIGIL_ALERT_SEQUENCE"] = "\(sequence)"
        let wall = EventJournal.wallNow()
        env["VIGIL_ALERT_TIMESTAMP_NS"] = "\(wall)"
        env["VIGIL_ALERT_TIMESTAMP"] = Self.rfc3339(wall)
        env["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        let admitted = pending.withLock { n -> Bool in
            guard n < Self.maxPending else { return false }
            n += 1
            return true
        }
        guard admitted else {
            log("alerts: \(Self.maxPending) alerts already waiting; alert \(sequence) (\(fields["DESC"] ?? "")) dropped")
            return
        }
        queue.async { [self, env] in
            defer { pending.withLock { $0 -= 1 } }
            for script in scripts() {
                do {
                    let outcome = try runner.run(argv: [script], environment: env, timeout: timeout)
                    if !outcome.succeeded {
                        log(
                            "alert script \(script) (alert \(env["VIGIL_ALERT_SEQUENCE"]!)) "
                                + (outcome.timedOut
                                    ? "killed after alert_timeout \(timeout.compactDescription)"
                                    : "failed: exit \(outcome.exitCode.map(String.init) ?? "?")"))
                    }
                } catch {
                    log("alert script \(script): \(error)")
                }
            }
        }
    }

    static func rfc3339(_ wallNs: Int64) -> String {
        EventJournal.wallTime(wallNs, "%Y-%m-%dT%H:%M:%S", utc: true) + String(format: ".%03dZ", Int(wallNs % 1_000_000_000 / 1_000_000))
    }
}
