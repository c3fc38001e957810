/// AoE (ATA over Ethernet, version 1) frames as `AoEDevice` builds and reads them: the pure part, with no
/// sockets, so a reply from the wire is parsed without trusting a byte (fuzzed by bench/fuzz.sh's `aoe` target).
///
///     0  6  destination MAC        14  1  version (high nibble) | flags (0x08 response, 0x04 error)
///     6  6  source MAC             15  1  error
///    12  2  ethertype 0x88A2       16  2  shelf (major)     18  1  slot (minor)
///                                  19  1  command (0 ATA, 1 Query Config)    20  4  tag
///    24  …  payload; for ATA: aflags, error/feature, sector count, command/status, LBA (6, little-endian),
///           2 reserved, then the sectors (36 onwards)
public struct AoEFrame: Sendable, Equatable {
    public static let etherType: UInt16 = 0x88A2
    /// Ethernet and AoE headers.
    public static let headerBytes = 24
    /// Where an ATA command's sectors start (after its 12-byte ATA header).
    public static let ataDataOffset = 36
    public static let sectorBytes = 512

    public var destination: [UInt8]
    public var source: [UInt8]
    /// Version in the high nibble (1), flags in the low one.
    public var versionFlags: UInt8
    public var error: UInt8
    public var shelf: UInt16
    public var slot: UInt8
    public var command: UInt8
    public var tag: UInt32
    /// Everything after the AoE header.
    public var payload: [UInt8]

    public init(
        destination: [UInt8], source: [UInt8], versionFlags: UInt8 = 0x10, error: UInt8 = 0, shelf: UInt16,
        slot: UInt8, command: UInt8, tag: UInt32, payload: [UInt8]
    ) {
        self.destination = destination
        self.source = source
        self.versionFlags = versionFlags
        self.error = error
        self.shelf = shelf
        self.slot = slot
        self.command = command
        self.tag = tag
        self.payload = payload
    }

    /// The frame in `b`, nil if it is shorter than the headers or not of AoE's ethertype.
    public init?(parsing b: ArraySlice<UInt8>) {
        guard b.count >= Self.headerBytes else { return nil }
        let s = b.startIndex
        guard UInt16(b[s + 12]) << 8 | UInt16(b[s + 13]) == Self.etherType else { return nil }
        destination = Array(b[s..<s + 6])
        source = Array(b[s + 6..<s + 12])
        versionFlags = b[s + 14]
        error = b[s + 15]
        shelf = UInt16(b[s + 16]) << 8 | UInt16(b[s + 17])
        slot = b[s + 18]
        command = b[s + 19]
        tag = b[s + 20..<s + 24].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        payload = Array(b[(s + Self.headerBytes)...])
    }

    public var isResponse: Bool { versionFlags & 0x08 != 0 }
    public var isError: Bool { versionFlags & 0x04 != 0 }

    /// The frame's bytes (MACs padded or cut to 6 bytes); `AoEFrame(parsing:)` of them gives the frame back.
    public var encoded: [UInt8] {
        func mac(_ m: [UInt8]) -> [UInt8] { Array((m + [UInt8](repeating: 0, count: 6)).prefix(6)) }
        var f = mac(destination) + mac(source) + [UInt8(Self.etherType >> 8), UInt8(Self.etherType & 0xff)]
        f += [versionFlags, error, UInt8(shelf >> 8), UInt8(shelf & 0xff), slot, command]
        f += [UInt8(tag >> 24), UInt8((tag >> 16) & 0xff), UInt8((tag >> 8) & 0xff), UInt8(tag & 0xff)]
        return f + payload
    }

    // MARK: - Requests

    /// A Query Config request (read the target's config string) to the broadcast address.
    public static func queryConfig(source: [UInt8], shelf: UInt16, slot: UInt8, tag: UInt32) -> AoEFrame {
        // buffer count, firmware, sector count, version | ccmd (read), string length
        AoEFrame(
            destination: [UInt8](repeating: 0xff, count: 6), source: source, shelf: shelf, slot: slot, command: 1,
            tag: tag, payload: [0, 0, 0, 0, 0, 0x10, 0, 0])
    }

    /// An ATA IDENTIFY DEVICE request.
    public static func identify(destination: [UInt8], source: [UInt8], shelf: UInt16, slot: UInt8, tag: UInt32) -> AoEFrame {
        // aflags, feature, count 1, IDENTIFY, lba 0..5, reserved
        AoEFrame(
            destination: destination, source: source, shelf: shelf, slot: slot, command: 0, tag: tag,
            payload: [0, 0, 1, 0xEC, 0, 0, 0, 0, 0, 0, 0, 0])
    }

    /// An ATA READ EXT (no `data`) or WRITE EXT of `count` sectors at `lba` (48-bit, little-endian on the wire).
    public static func ata(
        destination: [UInt8], source: [UInt8], shelf: UInt16, slot: UInt8, tag: UInt32,
        write: Bool, lba: UInt64, count: Int, data: [UInt8]
    ) -> AoEFrame {
        var p: [UInt8] = [write ? 0x41 : 0x40, 0, UInt8(truncatingIfNeeded: count), write ? 0x34 : 0x24]
        for b in 0..<6 { p.append(UInt8((lba >> UInt64(8 * b)) & 0xff)) }
        p += [0, 0]
        return AoEFrame(
            destination: destination, source: source, shelf: shelf, slot: slot, command: 0, tag: tag,
            payload: p + data)
    }

    // MARK: - Replies

    /// What a received frame is to a device that talks to `shelf`.`slot`.
    public enum Reply: Sendable, Equatable {
        /// A response with this tag and no error.
        case ok(tag: UInt32)
        /// A response with the AoE error flag set (`error` is AoE's error code).
        case aoeError(tag: UInt32, error: UInt8)
        /// An ATA response whose status has the ERR bit.
        case ataError(tag: UInt32, status: UInt8, error: UInt8)

        public var tag: UInt32 {
            switch self {
            case let .ok(t), let .aoeError(t, _), let .ataError(t, _, _): t
            }
        }
    }

    /// Classifies a received frame: nil unless it is an AoE response from `shelf`.`slot` (requests, other
    /// targets' replies and runts are not for this device).
    public static func reply(_ b: ArraySlice<UInt8>, shelf: UInt16, slot: UInt8) -> Reply? {
        guard let f = AoEFrame(parsing: b), f.isResponse, f.shelf == shelf, f.slot == slot else { return nil }
        if f.isError { return .aoeError(tag: f.tag, error: f.error) }
        // ATA header: aflags, error, sector count, status.
        if f.command == 0, f.payload.count >= 12, f.payload[3] & 0x01 != 0 {
            return .ataError(tag: f.tag, status: f.payload[3], error: f.payload[1])
        }
        return .ok(tag: f.tag)
    }

    /// The sector count from an ATA IDENTIFY reply (words 100–103, LBA48), nil for a short reply.
    public static func identifyCapacity(_ b: ArraySlice<UInt8>) -> UInt64? {
        guard b.count >= ataDataOffset + sectorBytes else { return nil }
        let words = b.startIndex + ataDataOffset
        func w(_ i: Int) -> UInt64 { UInt64(b[words + 2 * i]) | UInt64(b[words + 2 * i + 1]) << 8 }
        return w(100) | w(101) << 16 | w(102) << 32 | w(103) << 48
    }

    /// The `sectors` sectors of a READ EXT reply, nil for a short reply.
    public static func readData(_ b: ArraySlice<UInt8>, sectors: Int) -> ArraySlice<UInt8>? {
        guard b.count >= ataDataOffset, sectors >= 0, sectors <= (b.count - ataDataOffset) / sectorBytes else { return nil }
        let start = b.startIndex + ataDataOffset
        return b[start..<start + sectors * sectorBytes]
    }
}
