import Crypto
import VigilCore

/// The binary wire format of Vigil packets (documented in docs/protocol.md).
///
/// Layout, all integers big-endian:
/// ```
///  0  4  magic "VIGL"          20  8  sequence
///  4  1  version (3)           28  8  term
///  5  1  kind                  36  …  sender, destination, coordinator, candidate (u8 length + UTF-8 each)
///  6  1  link                   …  …  view: u8 count, then per node: u8 length + name, u8 state, u32 echo
///  7  1  flags (bit 0 quorate)  …     report, assignments, request (see WireFormat.encodeBody)
///  8  4  cluster id           end-32 32 HMAC-SHA256 over every byte before it
/// 12  8  incarnation
/// ```
public enum WireCodec {
    public static let magic = WireFormat.magic
    public static let version = WireFormat.version
    public static let fixedHeader = 36
    public static let macLength = 32
    /// Smallest possible packet: header, four empty strings, an empty view, no report, no assignments, an empty
    /// request, the MAC.
    public static let minimumLength = fixedHeader + 4 + 1 + 3 + macLength
    /// Largest packet an agent will build or accept (fits a standard Ethernet MTU with IP/UDP headers).
    public static let maximumLength = 1452

    /// Whether `b` is a Linux-HA Heartbeat message: classic (`>>>` line first) or netstring (`###` line first).
    public static func isHeartbeatPacket(_ b: [UInt8]) -> Bool { HeartbeatFraming.kind(of: b) != nil }

    /// Encodes and signs `message`. Config validation keeps names to 63 bytes and views to 64 nodes;
    /// beyond 255 of either the encoder truncates rather than trap.
    public static func encode(_ m: Message, key: SymmetricKey) -> [UInt8] {
        var b = WireFormat.encodeBody(m)
        b += Array(HMAC<SHA256>.authenticationCode(for: b, using: key))
        return b
    }

    /// Decodes and authenticates a packet, or says why it must be dropped.
    public static func decode(_ b: [UInt8], key: SymmetricKey, clusterID: UInt32) -> Result<Message, DropReason> {
        if isHeartbeatPacket(b) { return .failure(.heartbeatPacket) }
        guard b.count >= minimumLength else {
            return .failure(b.count >= 4 && Array(b[0..<4]) != magic ? .badMagic : .truncated)
        }
        guard Array(b[0..<4]) == magic else { return .failure(.badMagic) }
        guard b[4] == version else { return .failure(.unknownVersion) }
        guard b.count <= maximumLength else { return .failure(.oversize) }
        let cluster = UInt32(b[8]) << 24 | UInt32(b[9]) << 16 | UInt32(b[10]) << 8 | UInt32(b[11])
        guard cluster == clusterID else { return .failure(.wrongCluster) }
        let body = b[0..<(b.count - macLength)]
        let mac = b[(b.count - macLength)...]
        guard HMAC<SHA256>.isValidAuthenticationCode(Array(mac), authenticating: body, using: key) else {
            return .failure(.badSignature)
        }
        // Authenticated from here on; a parse failure is a sender bug, not an attack.
        guard let msg = WireFormat.parse(b, end: b.count - macLength) else { return .failure(.malformed) }
        return .success(msg)
    }
}
