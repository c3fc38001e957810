/// A shared storage device named in cluster.conf.
public enum StorageURL: Hashable, Sendable, CustomStringConvertible {
    /// `iscsi://PORTAL/IQN/LUN` (PORTAL is host:port; port 3260 if absent).
    case iscsi(portal: String, target: String, lun: Int)
    /// `aoe://IFACE/SHELF.SLOT`: ATA over Ethernet on a raw interface.
    case aoe(interface: String, shelf: UInt16, slot: UInt8)
    /// A block device (kernel initiator, multipath) or a file: `/dev/disk/by-id/...` or `file:///path`.
    case path(String)

    /// Parses a device string; the error says what was expected.
    public static func parse(_ s: String) throws(StorageURLError) -> StorageURL {
        if s.hasPrefix("iscsi://") {
            let parts = s.dropFirst(8).split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty, let lun = Int(parts[2]), (0...255).contains(lun) else {
                throw StorageURLError(s, "expected iscsi://HOST[:PORT]/IQN/LUN, e.g. iscsi://10.0.0.5:3260/iqn.2026-11.org.example:slots/1")
            }
            let portal = parts[0].contains(":") ? parts[0] : parts[0] + ":3260"
            return .iscsi(portal: portal, target: parts[1], lun: lun)
        }
        if s.hasPrefix("aoe://") {
            let parts = s.dropFirst(6).split(separator: "/").map(String.init)
            let ss = parts.count == 2 ? parts[1].split(separator: ".").map(String.init) : []
            guard parts.count == 2, !parts[0].isEmpty, ss.count == 2, let shelf = UInt16(ss[0]), shelf != 0xffff,
                let slot = UInt8(ss[1]), slot != 0xff
            else {
                throw StorageURLError(s, "expected aoe://INTERFACE/SHELF.SLOT, e.g. aoe://eth1/1.1")
            }
            return .aoe(interface: parts[0], shelf: shelf, slot: slot)
        }
        if s.hasPrefix("file://") { return .path(String(s.dropFirst(7))) }
        if s.hasPrefix("/") { return .path(s) }
        throw StorageURLError(s, "expected iscsi://PORTAL/IQN/LUN, aoe://IFACE/SHELF.SLOT or an absolute device path")
    }

    public var description: String {
        switch self {
        case let .iscsi(p, t, l): "iscsi://\(p)/\(t)/\(l)"
        case let .aoe(i, sh, sl): "aoe://\(i)/\(sh).\(sl)"
        case let .path(p): p
        }
    }
}

/// A device string that does not parse.
public struct StorageURLError: Error, CustomStringConvertible, Sendable {
    public let text: String
    public let expected: String
    init(_ text: String, _ expected: String) { self.text = text; self.expected = expected }
    public var description: String { "\"\(text)\": \(expected)" }
}
