import VigilCore

/// What `vigil REQUEST --wait` waits for, judged from one status report of the local agent (the cluster as this
/// node sees it: peers' groups arrive with their heartbeats). Pure, so every condition has a unit test.
public struct RequestWait: Sendable {
    /// One judgement of a status report.
    public enum Verdict: Hashable, Sendable {
        /// The cluster reached the requested state.
        case reached(String)
        /// Not yet: what it is doing (printed as a progress line whenever it changes).
        case waiting(String)
        /// It cannot get there without help (a group is blocked).
        case failed(String)
    }

    /// The request, with an empty node (the CLI's "this node") still empty: `judge` fills it in from the report.
    public let request: AdminRequest
    /// The status just before the request was sent (nil: not known). `standby` then waits for exactly the
    /// groups that were on the node.
    public let before: StatusReport?

    public init(_ request: AdminRequest, before: StatusReport? = nil) {
        self.request = request
        self.before = before
    }

    public func judge(_ report: StatusReport) -> Verdict {
        let r = request.completed(node: report.node)
        func group(_ g: String) -> GroupStatus? { report.groups.first { $0.name == g } }
        func describe(_ g: GroupStatus) -> String {
            "\(g.name) \(g.state)" + (g.owner.map { " (owner \($0))" } ?? "") + (g.reason.isEmpty ? "" : ": \(g.reason)")
        }
        /// Every group of `groups` runs on `node` (or the first that cannot, or the first still on its way).
        func allRun(_ groups: [GroupStatus], on node: String) -> Verdict {
            for g in groups where !(g.owner == node && g.state == "running") {
                if g.state == "blocked" { return .failed(describe(g)) }
                return .waiting(describe(g))
            }
            return .reached(groups.isEmpty ? "no group to move" : "\(groups.map(\.name).joined(separator: ", ")) running on \(node)")
        }
        switch r {
        case let .move(g, n):
            guard let s = group(g) else { return .failed("no group \(g) in this node's status") }
            return allRun([s], on: n)
        case let .takeover(n, all):
            return allRun(report.groups.filter { all || $0.home == n }, on: n)
        case let .unmove(g):
            guard let s = group(g) else { return .failed("no group \(g) in this node's status") }
            if s.state == "blocked" { return .failed(describe(s)) }
            return s.preferred == nil && (s.state == "running" || s.state == "stopped") ? .reached(describe(s)) : .waiting(describe(s))
        case let .standby(n):
            // Nothing of any group left on n: not its owner, and n reports it stopped (or never reported it); and
            // each group that was on n runs on its new owner: a handed-over VM reports "stopped" on n while it
            // still runs there, until the target's start has live-migrated it. Unmanaged groups stay (and count
            // as done). Without the status from before, any group still moving or starting is waited for.
            func active(_ phase: String?) -> Bool { !(phase == nil || phase == "stopped" || phase == "unknown") }
            let wasThere = before.map { b in Set(b.groups.filter { $0.owner == n || active($0.nodes[n]) }.map(\.name)) }
            for s in report.groups where s.state != "unmanaged" {
                let phase = s.nodes[n] ?? "unknown"
                if phase == "blocked" { return .failed("\(s.name) is blocked on \(n): \(s.reason)") }
                if s.owner == n || active(phase) { return .waiting("\(describe(s)); on \(n): \(phase)") }
                guard wasThere?.contains(s.name) ?? true, let owner = s.owner else { continue }
                if s.state == "blocked" { return .failed(describe(s)) }
                if wasThere != nil ? s.state != "running" : s.state == "moving" || s.state == "starting" {
                    return .waiting(describe(s) + (wasThere != nil ? "; not yet running on \(owner)" : ""))
                }
            }
            return .reached("no group runs on \(n)")
        case let .cleanup(g, n):
            guard let s = group(g) else { return .failed("no group \(g) in this node's status") }
            if (s.failures[n] ?? 0) == 0, s.nodes[n] != "blocked", s.state == "running" || s.state == "stopped" {
                return .reached(describe(s))
            }
            return .waiting(describe(s) + (s.failures[n].map { "; \($0) failures on \(n)" } ?? ""))
        case let .disable(g):
            guard let s = group(g) else { return .failed("no group \(g) in this node's status") }
            if s.state == "blocked" { return .failed(describe(s)) }
            return s.state == "disabled" && s.nodes.values.allSatisfy({ $0 == "stopped" || $0 == "unknown" || $0.contains("/") })
                ? .reached("\(g) stopped everywhere, disabled") : .waiting(describe(s))
        case let .enable(g):
            guard let s = group(g) else { return .failed("no group \(g) in this node's status") }
            if s.state == "blocked" { return .failed(describe(s)) }
            return s.state == "running" ? .reached(describe(s)) : .waiting(describe(s))
        case let .unmanage(g):
            guard let s = group(g) else { return .failed("no group \(g) in this node's status") }
            return s.state == "unmanaged" ? .reached("\(g) is left alone") : .waiting(describe(s))
        case let .manage(g):
            guard let s = group(g) else { return .failed("no group \(g) in this node's status") }
            if s.state == "blocked" { return .failed(describe(s)) }
            return s.state == "running" || s.state == "stopped" || s.state == "disabled" ? .reached(describe(s)) : .waiting(describe(s))
        case .unstandby, .confirmDown:
            // Carried out when accepted; what follows (groups coming back, a cold start) is placement's.
            return .reached("\(r)")
        }
    }
}
