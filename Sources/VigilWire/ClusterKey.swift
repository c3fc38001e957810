import Crypto
import Foundation
#if canImport(Glibc)
    import Glibc
#endif

/// The cluster's shared secret, from the key file written by `vigil keygen` (hex, 32 bytes).
public struct ClusterKey: Sendable {
    public let symmetricKey: SymmetricKey
    /// The Heartbeat authkeys file the key came from, if it did: it also verifies Heartbeat's own packets.
    public var heartbeatAuthkeys: HeartbeatAuthkeys?

    public init(bytes: [UInt8]) { symmetricKey = SymmetricKey(data: bytes) }

    /// Why a key file was refused.
    public struct LoadError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Loads a key file, refusing one that is not a root-owned regular file without group or other permissions.
    /// A Heartbeat authkeys file (it has an `auth N` line) is read as one: the selected secret keys the
    /// cluster; its `crc` method has no secret and is refused unless `allowCRC`.
    public static func load(path: String, requireRootOwner: Bool = true, allowCRC: Bool = false) throws -> ClusterKey {
        var st = stat()
        guard lstat(path, &st) == 0 else {
            throw LoadError(
                description: "cannot read key file \(path): \(String(cString: strerror(errno))); create one with: vigil keygen \(path)")
        }
        guard st.st_mode & S_IFMT == S_IFREG else {
            throw LoadError(description: "key file \(path) is not a regular file")
        }
        if requireRootOwner, st.st_uid != 0 {
            throw LoadError(description: "key file \(path) is owned by uid \(st.st_uid), not root; run: chown root:root \(path)")
        }
        let mode = st.st_mode & 0o777
        guard mode & 0o077 == 0 else {
            throw LoadError(
                description: "key file \(path) has mode \(String(mode, radix: 8)): group or others may read it; run: chmod 600 \(path)")
        }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw LoadError(description: "cannot read key file \(path)")
        }
        if HeartbeatAuthkeys.looksLike(text) {
            let a: HeartbeatAuthkeys
            do { a = try HeartbeatAuthkeys.parse(text, path: path) } catch {
                throw LoadError(description: "authkeys \(path):\(error.line): \(error.message)")
            }
            if a.method == .crc, !allowCRC {
                throw LoadError(
                    description:
                        "authkeys \(path):\(a.line): auth \(a.id) is crc, which has no secret: anyone on the cluster LAN could forge heartbeats; use sha1 with a secret, or set allow_crc = true in [cluster] to accept this"
                )
            }
            var key = a.clusterKey
            key.heartbeatAuthkeys = a
            return key
        }
        return try parse(text, path: path)
    }

    /// Parses key file text: `#` comment lines, then one line of at least 32 hex digits (16 bytes).
    public static func parse(_ text: String, path: String) throws -> ClusterKey {
        let lines = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        guard lines.count == 1, let hex = lines.first, hex.count % 2 == 0, hex.count >= 32, hex.allSatisfy(\.isHexDigit) else {
            throw LoadError(description: "key file \(path): expected one line of at least 32 hex digits (as written by vigil keygen)")
        }
        var bytes: [UInt8] = []
        var i = hex.startIndex
        while i < hex.endIndex {
            let j = hex.index(i, offsetBy: 2)
            guard let v = UInt8(hex[i..<j], radix: 16) else {
                throw LoadError(description: "key file \(path): '\(hex[i..<j])' is not a hex byte")
            }
            bytes.append(v)
            i = j
        }
        return ClusterKey(bytes: bytes)
    }

    /// Writes a fresh random 32-byte key as hex, mode 0600. Refuses to overwrite unless `force`.
    public static func generate(path: String, force: Bool) throws {
        var rng = SystemRandomNumberGenerator()
        let hex = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &rng)) }.joined()
        let text = "# Vigil cluster key: copy to every node, mode 0600, owner root.\n\(hex)\n"
        if force { unlink(path) }
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else {
            throw LoadError(
                description: errno == EEXIST
                    ? "\(path) exists; use --force to replace it"
                    : "cannot create \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        fchmod(fd, 0o600)
        let ok = text.utf8CString.withUnsafeBufferPointer { p in write(fd, p.baseAddress, p.count - 1) == p.count - 1 }
        guard ok, fsync(fd) == 0 else { throw LoadError(description: "cannot write \(path)") }
    }
}
