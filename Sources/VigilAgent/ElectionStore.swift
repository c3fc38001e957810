import Foundation
import VigilCore

/// Keeps the core's `ElectionRecord` on disk (write to a temporary file, fsync, rename), so that a restarted
/// agent never votes twice in one term.
public struct ElectionStore: Sendable {
    public let path: String

    public init(stateDir: String, cluster: String, node: String) {
        path = "\(stateDir)/\(cluster)-\(node).election"
    }

    public func load() throws -> ElectionRecord? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return try JSONDecoder().decode(ElectionRecord.self, from: data)
    }

    public func save(_ r: ElectionRecord) throws {
        let dir = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let tmp = path + ".tmp"
        let data = try JSONEncoder().encode(r)
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw AgentError("cannot write \(tmp): \(String(cString: strerror(errno)))") }
        let ok = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) == $0.count }
        let synced = fsync(fd) == 0
        close(fd)
        guard ok, synced, rename(tmp, path) == 0 else {
            throw AgentError("cannot write \(path): \(String(cString: strerror(errno)))")
        }
        // The rename is durable only once the directory is synced.
        let dfd = open(dir, O_RDONLY | O_DIRECTORY)
        if dfd >= 0 { fsync(dfd); close(dfd) }
    }
}

/// An error the agent reports to the user verbatim.
public struct AgentError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}
