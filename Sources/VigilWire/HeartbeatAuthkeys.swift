import Crypto
import Foundation

/// Heartbeat's authkeys file: one `auth N` line selecting key N, and key lines `N crc`, `N md5 SECRET` or
/// `N sha1 SECRET`. Vigil keeps its own packet authentication (HMAC-SHA256) and derives the key from the
/// selected secret, so the same file keys the cluster (`key_file = "/etc/ha.d/authkeys"`).
public struct HeartbeatAuthkeys: Sendable, Equatable {
    /// The hash method a key line names.
    public enum Method: String, Sendable { case crc, md5, sha1 }

    /// The selected key's number, method and secret (empty for crc), and the line of the key.
    public var id: Int
    public var method: Method
    public var secret: String
    public var line: Int
    /// Every key of the file by number (Heartbeat accepts a packet signed with any of them).
    public var keys: [Int: Key] = [:]

    /// One key line.
    public struct Key: Sendable, Equatable {
        public var method: Method
        public var secret: String
    }

    /// A syntax error with its line.
    public struct ParseError: Error, CustomStringConvertible {
        public var line: Int
        public var message: String
        public var description: String { "line \(line): \(message)" }
    }

    /// Whether `text` looks like an authkeys file (it has an `auth` line), not a `vigil keygen` key.
    public static func looksLike(_ text: String) -> Bool {
        text.split(separator: "\n").contains { $0.split(whereSeparator: { $0 == " " || $0 == "\t" }).first == "auth" }
    }

    /// Parses the file as Heartbeat does (ha_msg_internal.c): `#` comments, key numbers 1 to 15 (MAXAUTH 16).
    public static func parse(_ text: String, path: String) throws(ParseError) -> HeartbeatAuthkeys {
        var selected: (Int, Int)?
        var keys: [Int: (Method, String, Int)] = [:]
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let n = i + 1
            // Only a line that starts with '#' is a comment (auth.c): a secret may contain '#'.
            let words = raw.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
            guard let first = words.first, !first.hasPrefix("#") else { continue }
            if first == "auth" {
                guard words.count == 2, let id = Int(words[1]), (0..<16).contains(id) else {
                    throw ParseError(line: n, message: "expected \"auth N\" with N from 0 to 15, got \"\(words.joined(separator: " "))\"")
                }
                if let (_, l) = selected { throw ParseError(line: n, message: "a second auth line (the first is line \(l)); exactly one selects the key") }
                selected = (id, n)
                continue
            }
            guard let id = Int(first), (0..<16).contains(id) else {
                throw ParseError(line: n, message: "expected \"auth N\" or a key line \"N sha1|md5 SECRET\" or \"N crc\", got \"\(first)\"")
            }
            guard words.count >= 2, let m = Method(rawValue: words[1].lowercased()) else {
                throw ParseError(line: n, message: "key \(id): expected the method crc, md5 or sha1, got \(words.count >= 2 ? "\"\(words[1])\"" : "nothing")")
            }
            let secret = words.dropFirst(2).joined(separator: " ")
            if m == .crc, !secret.isEmpty { throw ParseError(line: n, message: "key \(id): crc takes no secret") }
            if m != .crc, secret.isEmpty { throw ParseError(line: n, message: "key \(id): \(m.rawValue) needs a secret after it") }
            if let (_, _, l) = keys[id] { throw ParseError(line: n, message: "key \(id) is already defined on line \(l)") }
            keys[id] = (m, secret, n)
        }
        guard let (id, authLine) = selected else { throw ParseError(line: 1, message: "no \"auth N\" line selects a key") }
        guard let (m, s, l) = keys[id] else { throw ParseError(line: authLine, message: "auth \(id): there is no key line \"\(id) ...\"") }
        return HeartbeatAuthkeys(id: id, method: m, secret: s, line: l,
                                 keys: keys.mapValues { Key(method: $0.0, secret: $0.1) })
    }

    /// The 32-byte cluster key: SHA-256 over a fixed label, the method and the secret (crc: no secret at all).
    public var clusterKey: ClusterKey {
        let material = "vigil heartbeat-authkeys v1\u{0}\(method.rawValue)\u{0}\(secret)"
        return ClusterKey(bytes: Array(SHA256.hash(data: Data(material.utf8))))
    }

    /// Verifies a Heartbeat packet in netstring framing (`###` … `%%%`, then `LEN:ID HEX,`): HEX must be the
    /// HMAC (sha1, md5) of every byte from `###\n` through `%%%\n` under key ID of this file (crc: the CRC-32).
    /// Returns the sender (`src=`) of an authentic packet, nil for anything else (classic `>>>` framing, whose
    /// signature covers a re-serialization, is not verified).
    public func verifyHeartbeatPacket(_ b: [UInt8]) -> String? {
        guard b.count > 8, b[0..<4].elementsEqual("###\n".utf8) else { return nil }
        let end: [UInt8] = Array("%%%\n".utf8)
        guard let e = (4...(b.count - 4)).first(where: { b[$0..<($0 + 4)].elementsEqual(end) }) else { return nil }
        let signed = Array(b[0..<(e + 4)])
        // The auth netstring: LEN ':' "ID HEX" ','
        guard let item = Self.netstring(b, at: e + 4) else { return nil }
        let auth = String(decoding: b[item], as: UTF8.self).split(separator: " ")
        guard auth.count == 2, let id = Int(auth[0]), let key = keys[id] else { return nil }
        let mac = String(auth[1]).lowercased()
        let expected: String
        switch key.method {
        case .sha1: expected = Self.hex(Array(HMAC<Insecure.SHA1>.authenticationCode(for: signed, using: SymmetricKey(data: Array(key.secret.utf8)))))
        case .md5: expected = Self.hex(Array(HMAC<Insecure.MD5>.authenticationCode(for: signed, using: SymmetricKey(data: Array(key.secret.utf8)))))
        case .crc: expected = String(Self.crc32(signed), radix: 16)
        }
        guard mac == expected else { return nil }
        return Self.field("src", in: signed)
    }

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    /// The value of a string field `LEN:(0)NAME=VALUE,` in a netstring ha_msg.
    static func field(_ name: String, in b: [UInt8]) -> String? {
        var i = 4
        while i < b.count {
            guard let item = netstring(b, at: i) else { return nil }
            let text = String(decoding: b[item], as: UTF8.self)
            if text.hasPrefix("(0)\(name)=") { return String(text.dropFirst(4 + name.count)) }
            i = item.upperBound + 1
        }
        return nil
    }

    /// The payload range of the netstring `LEN:PAYLOAD,` that starts at `i`, if it is one and fits in `b`. LEN
    /// is 1 to 9 decimal digits (no sign: a packet is far shorter), so no length from the wire can be negative
    /// or overflow the index arithmetic.
    static func netstring(_ b: [UInt8], at i: Int) -> Range<Int>? {
        guard i >= 0, i < b.count, let colon = b[i...].prefix(10).firstIndex(of: UInt8(ascii: ":")), colon > i,
              b[i..<colon].allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              let len = Int(String(decoding: b[i..<colon], as: UTF8.self)) else { return nil }
        let start = colon + 1
        guard len < b.count - start, b[start + len] == UInt8(ascii: ",") else { return nil }
        return start..<(start + len)
    }

    /// CRC-32 (IEEE), as Heartbeat's crc method computes it.
    static func crc32(_ b: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xffff_ffff
        for byte in b {
            c ^= UInt32(byte)
            for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0xedb8_8320 : c >> 1 }
        }
        return ~c
    }
}
