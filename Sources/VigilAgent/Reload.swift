import Foundation
import VigilConfig
import VigilCore

/// What `vigil reload` (SIGHUP, `systemctl reload vigil`) did: applied the changes it names, or refused them all.
public enum ReloadOutcome: Sendable, Hashable, Codable, CustomStringConvertible {
    case applied([String])
    case refused(String)

    public var description: String {
        switch self {
        case let .applied(changes): changes.isEmpty ? "reloaded: nothing changed" : "reloaded: \(changes.joined(separator: ", "))"
        case let .refused(why): "reload refused, nothing changed: \(why)"
        }
    }
}

extension Agent {
    /// Reads cluster.conf again and applies what can change at run time: the groups' tuning (monitor_interval,
    /// timeouts, max_restarts, stop_retries, failure_timeout, auto_failback), shutdown_timeout, alerts and
    /// alert_timeout. Anything else refuses the whole reload, with the reason. On the loop.
    func reload() -> ReloadOutcome {
        guard !exiting else { return .refused("the agent is leaving") }
        guard !options.fromHeartbeat else {
            return .refused("the agent runs from a Heartbeat configuration; `vigil restart` reads it again (no group moves)")
        }
        let path = options.config.file
        let new: ClusterConfig
        do {
            let text = try String(contentsOfFile: path, encoding: .utf8)
            new = try ConfigLoader.load(text: text, file: path)
        } catch {
            return .refused("\(error)")
        }
        let old = options.config
        if let why = ClusterNode.unreloadable(from: old.spec, to: new.spec) {
            return .refused("\(why); apply it with `vigil restart` on every node (no group moves)")
        }
        var candidate = new
        candidate.spec.groups = old.spec.groups
        candidate.shutdownTimeout = old.shutdownTimeout
        candidate.alertsDir = old.alertsDir
        candidate.alertTimeout = old.alertTimeout
        candidate.warnings = old.warnings
        candidate.resourceLines = old.resourceLines  // where the groups are in the file: not a setting
        if candidate != old {
            let fixed = Self.differences(old, candidate)
            return .refused(
                "\(fixed.joined(separator: ", ")) cannot change at run time; apply with `vigil restart` on every node (no group moves)")
        }
        var changes: [String] = []
        if new.shutdownTimeout != old.shutdownTimeout { changes.append("shutdown_timeout \(new.shutdownTimeout.compactDescription)") }
        if new.alertsDir != old.alertsDir || new.alertTimeout != old.alertTimeout {
            changes.append("alerts \(new.alertsDir ?? "none") (alert_timeout \(new.alertTimeout.compactDescription))")
            alerts = new.alertsDir.map { dir in
                let logger = logger
                return Alerts(
                    directory: dir, timeout: new.alertTimeout, runner: runner, cluster: spec.name, node: options.node,
                    log: { logger.warning("\($0)") })
            }
        }
        for (a, b) in zip(old.spec.groups, new.spec.groups) where a != b { changes.append("group \(a.name)'s tuning") }
        options.config = new
        var s = core.spec
        let (advised, unreadable) = runner.withAdvisedTimeouts(new.spec.groups)
        for line in unreadable { logger.warning("\(line): its resources use the group's timeouts") }
        s.groups = advised
        if s != core.spec { deliver(.reconfigure(s)) }
        for w in new.warnings where !old.warnings.contains(w) { logger.warning("\(w)") }
        return .applied(changes)
    }

    /// Logs a reload's outcome (and records it in the journal).
    func logReload(_ outcome: ReloadOutcome, by who: String) {
        if case .refused = outcome { logger.error("\(who): \(outcome)") } else { logger.notice("\(who): \(outcome)") }
        journal.record("reload", "\(who): \(outcome)", .reloaded(outcome))
    }

    /// The names of the top-level settings that differ (for the refusal).
    static func differences(_ a: ClusterConfig, _ b: ClusterConfig) -> [String] {
        let left = Mirror(reflecting: a).children
        let right = Dictionary(
            Mirror(reflecting: b).children.compactMap { c in c.label.map { ($0, "\(c.value)") } }, uniquingKeysWith: { x, _ in x })
        return left.compactMap { c in
            guard let label = c.label, right[label] != "\(c.value)" else { return nil }
            return label == "spec" ? "the nodes, timing, quorum, fencing or storage" : snakeCase(label)
        }
    }

    static func snakeCase(_ s: String) -> String {
        s.reduce(into: "") { out, ch in
            if ch.isUppercase { out += "_" + ch.lowercased() } else { out.append(ch) }
        }
    }
}
