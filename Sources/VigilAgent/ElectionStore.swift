import Foundation
import VigilCore

/// Keeps the core's `ElectionRecord` on disk (write to a temporary file, fsync, rename), so that a restarted
/// agent never votes twice in one term; and the standby flag `vigil standby` sets, so that it survives restarts.
public struct ElectionStore: Sendable {
    public let path: String
    /// Present while the node is in standby.
    public let standbyPath: String

    public init(stateDir: String, cluster: String, node: String) {
        path = "\(stateDir)/\(cluster)-\(node).election"
        standbyPath = "\(stateDir)/\(cluster).\(node).standby"
    }

    public var standby: Bool { FileManager.default.fileExists(atPath: standbyPath) }

    /// The groups `vigil disable` stopped, as this node last learned (one name per line).
    public var disabledPath: String { standbyPath.replacingOccurrences(of: ".standby", with: ".disabled") }

    public var disabledGroups: Set<String> {
        Set(((try? String(contentsOfFile: disabledPath, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init))
    }

    /// Records (durably) the set of disabled groups.
    public func saveDisabled(_ groups: Set<String>) throws {
        try writeDurably(Data(groups.sorted().map { $0 + "\n" }.joined().utf8), to: disabledPath)
    }

    /// Records (durably) or removes the standby flag.
    public func saveStandby(_ on: Bool) throws {
        if on {
            try writeDurably(Data("standby\n".utf8), to: standbyPath)
        } else if unlink(standbyPath) != 0, errno != ENOENT {
            throw AgentError("cannot remove \(standbyPath): \(String(cString: strerror(errno)))")
        }
    }

    public func load() throws -> ElectionRecord? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return try JSONDecoder().decode(ElectionRecord.self, from: data)
    }

    /// The last run's incarnation (0: this node never ran with this state directory).
    public var previousIncarnation: UInt64 {
        (try? String(contentsOfFile: path + ".incarnation", encoding: .utf8)).flatMap {
            UInt64($0.trimmingCharacters(in: .whitespacesAndNewlines))
        } ?? 0
    }

    /// The incarnation for this run: the larger of the clock's and the last run's + 1, stored (and synced)
    /// before it is used, so that peers never see an incarnation go backwards after a clock step.
    public func nextIncarnation(clock: UInt64) throws -> UInt64 {
        let file = path + ".incarnation"
        let last = previousIncarnation
        guard last < .max else {
            throw AgentError("\(file) holds the largest incarnation there is (\(last)): it is corrupt; remove it to start")
        }
        let next = max(clock, last + 1)
        try writeDurably(Data("\(next)\n".utf8), to: file)
        return next
    }

    public func save(_ r: ElectionRecord) throws {
        try writeDurably(try JSONEncoder().encode(r), to: path)
    }

    /// Temporary file, fdatasync, rename, then fsync of the directory.
    func writeDurably(_ data: Data, to path: String) throws {
        let dir = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(
            atPath: dir, withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700])
        let tmp = path + ".tmp"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw AgentError("cannot write \(tmp): \(String(cString: strerror(errno)))") }
        let ok = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) == $0.count }
        let synced = fdatasync(fd) == 0
        close(fd)
        guard ok, synced, rename(tmp, path) == 0 else {
            throw AgentError("cannot write \(path): \(String(cString: strerror(errno)))")
        }
        // The rename is durable only once the directory is synced.
        let dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 { fsync(dfd); close(dfd) }
    }
}

/// An error the agent reports to the user verbatim.
public struct AgentError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}
