/// The slot area on a shared device: sector 0 is a header, then per configured node (in configuration
/// order) one heartbeat slot, written only by that node, and one mailbox, written only by fencers.
///
///     sector 0          header: magic, layout version, cluster, slot count, timeouts
///     sector 1 + 2i     slot of node i: name, incarnation, counter, term, coordinator, flags, acknowledgement
///     sector 2 + 2i     mailbox of node i: empty, a poison pill, or a cleared pill
///
/// Every sector is written whole and carries a CRC-32, so a torn or foreign sector reads as invalid, never as
/// data. Only the first 512 bytes of a sector are used (devices with larger blocks use one block per sector).
public enum SlotArea {
    public static let sectorBytes = 512
    public static let layoutVersion: UInt16 = 1
    public static let headerMagic = Array("VIGILHDR".utf8)
    public static let slotMagic = Array("VIGILSLT".utf8)
    public static let pillMagic = Array("VIGILPIL".utf8)
    /// Longest node or cluster name a sector can hold.
    public static let maxName = 63

    /// Sectors the area needs for `nodes` nodes.
    public static func sectors(nodes: Int) -> Int { 1 + 2 * nodes }
    public static func slotSector(_ index: Int) -> Int { 1 + 2 * index }
    public static func mailboxSector(_ index: Int) -> Int { 2 + 2 * index }
}

/// Why a sector could not be decoded.
public enum SlotDecodeError: Error, Hashable, Sendable, CustomStringConvertible {
    case empty
    case short(Int)
    case badMagic(String)
    case badChecksum
    case unsupportedVersion(UInt16)
    case badName

    public var description: String {
        switch self {
        case .empty: "never written (all zero)"
        case let .short(n): "only \(n) bytes"
        case let .badMagic(m): "not a Vigil sector (magic \(m))"
        case .badChecksum: "checksum mismatch (torn or corrupted)"
        case let .unsupportedVersion(v): "layout version \(v) is not supported (this build knows \(SlotArea.layoutVersion))"
        case .badName: "a name field is not valid UTF-8 or too long"
        }
    }
}

/// Sector 0: what the area belongs to and the timeouts it was made for.
public struct SlotAreaHeader: Hashable, Sendable {
    public var cluster: String
    public var slotCount: Int
    public var interval: Duration
    public var ioTimeout: Duration
    public var watchdogTimeout: Duration
    public var msgwait: Duration
    /// Unix time of `vigil storage init` (seconds).
    public var created: UInt64

    public init(
        cluster: String, slotCount: Int, interval: Duration, ioTimeout: Duration,
        watchdogTimeout: Duration, msgwait: Duration, created: UInt64
    ) {
        self.cluster = cluster
        self.slotCount = slotCount
        self.interval = interval
        self.ioTimeout = ioTimeout
        self.watchdogTimeout = watchdogTimeout
        self.msgwait = msgwait
        self.created = created
    }

    public init(cluster: String, slotCount: Int, storage s: StorageSpec, created: UInt64) {
        self.init(
            cluster: cluster, slotCount: slotCount, interval: s.interval, ioTimeout: s.ioTimeout,
            watchdogTimeout: s.watchdogTimeout, msgwait: s.msgwait, created: created)
    }

    public func encoded() -> [UInt8] {
        var w = SectorWriter(magic: SlotArea.headerMagic)
        w.u16(SlotArea.layoutVersion)
        w.u16(UInt16(slotCount))
        w.u32(ms(interval)); w.u32(ms(ioTimeout)); w.u32(ms(watchdogTimeout)); w.u32(ms(msgwait))
        w.u64(created)
        w.name(cluster)
        return w.finish()
    }

    public init(decoding b: [UInt8]) throws(SlotDecodeError) {
        var r = try SectorReader(b, magic: SlotArea.headerMagic)
        let v = r.u16()
        guard v == SlotArea.layoutVersion else { throw .unsupportedVersion(v) }
        slotCount = Int(r.u16())
        interval = .milliseconds(r.u32()); ioTimeout = .milliseconds(r.u32())
        watchdogTimeout = .milliseconds(r.u32()); msgwait = .milliseconds(r.u32())
        created = r.u64()
        cluster = try r.name()
    }
}

/// A node's heartbeat slot, written by that node every storage interval.
public struct DiskSlot: Hashable, Sendable {
    public var node: String
    public var incarnation: UInt64
    /// Incremented on every write: a peer whose counter moves is alive on disk.
    public var counter: UInt64
    public var term: UInt64
    /// The coordinator of `term` as this node knows it (empty: none known).
    public var coordinator: String
    public var quorate: Bool
    /// This node has fenced itself (stopped every resource) in obedience to the pill with `ackSerial`,
    /// or on its own (`ackSerial` 0: lost quorum and storage).
    public var fenced: Bool
    public var leaving: Bool
    /// Serial of the pill this node obeyed (0: none).
    public var ackSerial: UInt64
    /// Bit i: group i may be active here (not stopped): for `vigil storage dump` and status.
    public var activeGroups: UInt32

    public init(
        node: String, incarnation: UInt64, counter: UInt64, term: UInt64, coordinator: String,
        quorate: Bool, fenced: Bool, leaving: Bool, ackSerial: UInt64, activeGroups: UInt32
    ) {
        self.node = node
        self.incarnation = incarnation
        self.counter = counter
        self.term = term
        self.coordinator = coordinator
        self.quorate = quorate
        self.fenced = fenced
        self.leaving = leaving
        self.ackSerial = ackSerial
        self.activeGroups = activeGroups
    }

    public func encoded() -> [UInt8] {
        var w = SectorWriter(magic: SlotArea.slotMagic)
        w.u16(SlotArea.layoutVersion)
        w.u16((quorate ? 1 : 0) | (fenced ? 2 : 0) | (leaving ? 4 : 0))
        w.u64(incarnation); w.u64(counter); w.u64(term); w.u64(ackSerial); w.u32(activeGroups)
        w.name(node); w.name(coordinator)
        return w.finish()
    }

    public init(decoding b: [UInt8]) throws(SlotDecodeError) {
        var r = try SectorReader(b, magic: SlotArea.slotMagic)
        let v = r.u16()
        guard v == SlotArea.layoutVersion else { throw .unsupportedVersion(v) }
        let flags = r.u16()
        quorate = flags & 1 != 0; fenced = flags & 2 != 0; leaving = flags & 4 != 0
        incarnation = r.u64(); counter = r.u64(); term = r.u64(); ackSerial = r.u64(); activeGroups = r.u32()
        node = try r.name(); coordinator = try r.name()
    }
}

/// A mailbox's content: a fence request for `target` (obeyed by every incarnation up to `maxIncarnation`),
/// or, once the victim is back, the same pill marked cleared.
public struct Pill: Hashable, Sendable {
    public var target: String
    public var maxIncarnation: UInt64
    /// The fencer and its term (a coordinator, or the tie-break winner of a two-node cluster).
    public var from: String
    public var term: UInt64
    /// Unique per fence operation; the victim acknowledges it in its slot.
    public var serial: UInt64
    public var cleared: Bool

    public init(target: String, maxIncarnation: UInt64, from: String, term: UInt64, serial: UInt64, cleared: Bool = false) {
        self.target = target
        self.maxIncarnation = maxIncarnation
        self.from = from
        self.term = term
        self.serial = serial
        self.cleared = cleared
    }

    public func encoded() -> [UInt8] {
        var w = SectorWriter(magic: SlotArea.pillMagic)
        w.u16(SlotArea.layoutVersion)
        w.u16(cleared ? 2 : 1)
        w.u64(maxIncarnation); w.u64(term); w.u64(serial)
        w.name(target); w.name(from)
        return w.finish()
    }

    public init(decoding b: [UInt8]) throws(SlotDecodeError) {
        var r = try SectorReader(b, magic: SlotArea.pillMagic)
        let v = r.u16()
        guard v == SlotArea.layoutVersion else { throw .unsupportedVersion(v) }
        cleared = r.u16() == 2
        maxIncarnation = r.u64(); term = r.u64(); serial = r.u64()
        target = try r.name(); from = try r.name()
    }
}

/// The decoded slot area as one read returned it (nil entries: empty or invalid sectors).
public struct SlotAreaSnapshot: Hashable, Sendable {
    public var header: SlotAreaHeader?
    public var slots: [DiskSlot?]
    public var mailboxes: [Pill?]
    /// Sectors that were neither empty nor valid, with the reason (for counters and `storage dump`).
    public var invalid: [String]

    public init(header: SlotAreaHeader?, slots: [DiskSlot?], mailboxes: [Pill?], invalid: [String] = []) {
        self.header = header
        self.slots = slots
        self.mailboxes = mailboxes
        self.invalid = invalid
    }

    /// Decodes `bytes` (the area's sectors, back to back, `sectorSize` bytes each) for `nodes` slots.
    public init(bytes: [UInt8], sectorSize: Int, nodes: Int) {
        func sector(_ i: Int) -> [UInt8] {
            let start = i * sectorSize
            guard start + SlotArea.sectorBytes <= bytes.count else { return [] }
            return Array(bytes[start..<start + SlotArea.sectorBytes])
        }
        var invalid: [String] = []
        func decode<T>(_ what: String, _ f: () throws(SlotDecodeError) -> T) -> T? {
            do { return try f() } catch {
                if error != .empty { invalid.append("\(what): \(error)") }
                return nil
            }
        }
        header = decode("header") { () throws(SlotDecodeError) in try SlotAreaHeader(decoding: sector(0)) }
        slots = (0..<nodes).map { i in
            decode("slot \(i)") { () throws(SlotDecodeError) in try DiskSlot(decoding: sector(SlotArea.slotSector(i))) }
        }
        mailboxes = (0..<nodes).map { i in
            decode("mailbox \(i)") { () throws(SlotDecodeError) in try Pill(decoding: sector(SlotArea.mailboxSector(i))) }
        }
        self.invalid = invalid
    }
}

private func ms(_ d: Duration) -> UInt32 { UInt32(clamping: d.nanoseconds / 1_000_000) }

/// Big-endian writer of one 512-byte sector: magic first, CRC-32 of everything before it in the last 4 bytes.
struct SectorWriter {
    var b: [UInt8]
    init(magic: [UInt8]) { b = magic }
    mutating func u16(_ v: UInt16) { b += [UInt8(v >> 8), UInt8(v & 0xff)] }
    mutating func u32(_ v: UInt32) { for s in stride(from: 24, through: 0, by: -8) { b.append(UInt8((v >> UInt32(s)) & 0xff)) } }
    mutating func u64(_ v: UInt64) { for s in stride(from: 56, through: 0, by: -8) { b.append(UInt8((v >> UInt64(s)) & 0xff)) } }
    mutating func name(_ s: String) {
        var u = Array(s.utf8.prefix(SlotArea.maxName))
        let n = u.count
        u += Array(repeating: 0, count: SlotArea.maxName - n)
        b.append(UInt8(n))
        b += u
    }
    func finish() -> [UInt8] {
        var out = b + Array(repeating: 0, count: SlotArea.sectorBytes - 4 - b.count)
        let c = crc32(out)
        out += [UInt8(c >> 24), UInt8((c >> 16) & 0xff), UInt8((c >> 8) & 0xff), UInt8(c & 0xff)]
        return out
    }
}

/// Reader matching `SectorWriter`; the constructor checks length, magic and checksum.
struct SectorReader {
    let b: [UInt8]
    var i = 8
    init(_ bytes: [UInt8], magic: [UInt8]) throws(SlotDecodeError) {
        guard bytes.count >= SlotArea.sectorBytes else { throw .short(bytes.count) }
        let s = Array(bytes.prefix(SlotArea.sectorBytes))
        if s.allSatisfy({ $0 == 0 }) { throw .empty }
        guard Array(s.prefix(8)) == magic else {
            throw .badMagic(String(decoding: s.prefix(8).map { (32...126).contains($0) ? $0 : 46 }, as: UTF8.self))
        }
        let stored = s[508..<512].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        guard crc32(Array(s.prefix(508))) == stored else { throw .badChecksum }
        b = s
    }
    mutating func u16() -> UInt16 { defer { i += 2 }; return UInt16(b[i]) << 8 | UInt16(b[i + 1]) }
    mutating func u32() -> UInt32 { defer { i += 4 }; return b[i..<i + 4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) } }
    mutating func u64() -> UInt64 { defer { i += 8 }; return b[i..<i + 8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) } }
    mutating func name() throws(SlotDecodeError) -> String {
        let n = Int(b[i])
        defer { i += 1 + SlotArea.maxName }
        guard n <= SlotArea.maxName else { throw .badName }
        guard let s = String(validating: b[i + 1..<i + 1 + n], as: UTF8.self) else { throw .badName }
        return s
    }
}

/// CRC-32 (IEEE 802.3, reflected, as zlib).
public func crc32(_ bytes: [UInt8]) -> UInt32 {
    var c: UInt32 = 0xffff_ffff
    for byte in bytes {
        c = crcTable[Int((c ^ UInt32(byte)) & 0xff)] ^ (c >> 8)
    }
    return c ^ 0xffff_ffff
}

private let crcTable: [UInt32] = (0..<256).map { n in
    var c = UInt32(n)
    for _ in 0..<8 { c = c & 1 != 0 ? 0xedb8_8320 ^ (c >> 1) : c >> 1 }
    return c
}
