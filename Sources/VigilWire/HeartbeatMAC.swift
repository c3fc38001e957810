import Crypto
import Foundation

/// The Crypto half of `HeartbeatAuthkeys`: the cluster key derived from the selected secret, and the MACs of
/// Heartbeat's methods (HMAC-SHA1, HMAC-MD5, CRC-32) for verifying its packets.
extension HeartbeatAuthkeys {
    /// The 32-byte cluster key: SHA-256 over a fixed label, the method and the secret (crc: no secret at all).
    public var clusterKey: ClusterKey {
        let material = "vigil heartbeat-authkeys v1\u{0}\(method.rawValue)\u{0}\(secret)"
        return ClusterKey(bytes: Array(SHA256.hash(data: Data(material.utf8))))
    }

    /// Verifies a Heartbeat packet in netstring framing (`###` … `%%%`, then `LEN:ID HEX,`): HEX must be the
    /// HMAC (sha1, md5) of every byte from `###\n` through `%%%\n` under key ID of this file (crc: the CRC-32).
    /// Returns the sender (`src=`) of an authentic packet, nil for anything else (classic `>>>` framing, whose
    /// signature covers a re-serialization, is not verified). The framing is read by `HeartbeatFraming`.
    public func verifyHeartbeatPacket(_ b: [UInt8]) -> String? {
        verifyHeartbeatPacket(b, mac: Self.mac)
    }

    /// Key `key`'s MAC of `signed` as Heartbeat writes it: lowercase hex (crc: without leading zeros).
    static func mac(_ key: Key, _ signed: ArraySlice<UInt8>) -> String {
        let secret = SymmetricKey(data: Array(key.secret.utf8))
        switch key.method {
        case .sha1: return hex(Array(HMAC<Insecure.SHA1>.authenticationCode(for: signed, using: secret)))
        case .md5: return hex(Array(HMAC<Insecure.MD5>.authenticationCode(for: signed, using: secret)))
        case .crc: return String(crc32(signed), radix: 16)
        }
    }

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
}
