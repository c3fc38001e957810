import Foundation

/// The operations in flight, one file each in a directory of the agent's state directory, so that a restarted
/// agent can kill what its killed predecessor left running. The agent's unit uses `KillMode=process` (resource
/// daemons are not the agent's to kill), so an operation survives the agent that started it: a slow `start`
/// could finish after the restarted agent's probe found the group stopped, while the group starts elsewhere.
/// Each operation runs in a process group of its own; its file holds the leader's PID and start time (from
/// /proc, so a reused PID is never killed) and what it was.
public struct OperationLedger: Sendable {
    public let directory: String

    public init(directory: String) { self.directory = directory }

    /// An operation left running by an earlier agent, killed by `reapOrphans`.
    public struct Orphan: Sendable, Equatable {
        public var pid: Int32
        public var description: String
    }

    /// Records operation `pid` (a process-group leader) as in flight. Failures are ignored: the ledger is a
    /// safety net, not a condition for running operations.
    public func record(pid: Int32, description: String) {
        guard let start = Self.startTime(of: pid) else { return }
        mkdir(directory, 0o700)
        let text = "\(start) \(description.replacingOccurrences(of: "\n", with: " "))\n"
        FileManager.default.createFile(atPath: "\(directory)/\(pid)", contents: Data(text.utf8))
    }

    /// The operation has ended (it was reaped).
    public func finished(pid: Int32) {
        unlink("\(directory)/\(pid)")
    }

    /// Kills the process group of every recorded operation whose leader still runs (same PID and start time),
    /// waits up to `wait` for each to go, and clears the ledger. Returns what was killed.
    public func reapOrphans(wait: Duration = .seconds(5)) -> [Orphan] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        var killed: [Orphan] = []
        for name in names {
            let path = "\(directory)/\(name)"
            defer { unlink(path) }
            guard let pid = Int32(name), pid > 1, let text = try? String(contentsOfFile: path, encoding: .utf8) else { continue }
            let parts = text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ", maxSplits: 1)
            guard let recorded = parts.first.flatMap({ UInt64($0) }), Self.startTime(of: pid) == recorded else { continue }
            kill(-pid, SIGKILL)
            kill(pid, SIGKILL)
            let deadline = ContinuousClock.now + wait
            while Self.startTime(of: pid) == recorded, ContinuousClock.now < deadline { usleep(10_000) }
            killed.append(Orphan(pid: pid, description: parts.count > 1 ? String(parts[1]) : ""))
        }
        return killed
    }

    /// Field 22 of /proc/PID/stat (start time in clock ticks since boot); nil if the process is gone or a
    /// zombie (a zombie is dead: nothing to kill).
    static func startTime(of pid: Int32) -> UInt64? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // fields[0] is the state (field 3); the start time is field 22, so fields[19].
        guard fields.count > 19, fields[0] != "Z" else { return nil }
        return UInt64(fields[19])
    }
}
