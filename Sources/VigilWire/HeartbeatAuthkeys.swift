/// Heartbeat's authkeys file: one `auth N` line selecting key N, and key lines `N crc`, `N md5 SECRET` or
/// `N sha1 SECRET`. Vigil keeps its own packet authentication (HMAC-SHA256) and derives the key from the
/// selected secret, so the same file keys the cluster (`key_file = "/etc/ha.d/authkeys"`). This file has no
/// Crypto (fuzzed with plain swiftc); the MACs and the derived key are in HeartbeatMAC.swift.
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
        lines(text).contains { words($0).first == "auth" }
    }

    /// The lines of a file split at "\n" scalars (Heartbeat reads bytes; "\r\n" is one Character, so a split on
    /// Characters would read a CRLF file as one line).
    static func lines(_ text: String) -> [Substring.UnicodeScalarView] {
        text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false)
    }

    /// The words of a line, between spaces, tabs and carriage returns.
    static func words(_ line: Substring.UnicodeScalarView) -> [String] {
        line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map { String(Substring($0)) }
    }

    /// Parses the file as Heartbeat does (ha_msg_internal.c): `#` comments, key numbers 1 to 15 (MAXAUTH 16).
    public static func parse(_ text: String, path: String) throws(ParseError) -> HeartbeatAuthkeys {
        var selected: (Int, Int)?
        var keys: [Int: (Method, String, Int)] = [:]
        for (i, raw) in lines(text).enumerated() {
            let n = i + 1
            // Only a line that starts with '#' is a comment (auth.c): a secret may contain '#'.
            let words = Self.words(raw)
            guard let first = words.first, first.unicodeScalars.first != "#" else { continue }
            if first == "auth" {
                guard words.count == 2, let id = Int(words[1]), (0..<16).contains(id) else {
                    throw ParseError(line: n, message: "expected \"auth N\" with N from 0 to 15, got \"\(words.joined(separator: " "))\"")
                }
                if let (_, l) = selected {
                    throw ParseError(line: n, message: "a second auth line (the first is line \(l)); exactly one selects the key")
                }
                selected = (id, n)
                continue
            }
            guard let id = Int(first), (0..<16).contains(id) else {
                throw ParseError(line: n, message: "expected \"auth N\" or a key line \"N sha1|md5 SECRET\" or \"N crc\", got \"\(first)\"")
            }
            guard words.count >= 2, let m = Method(rawValue: words[1].lowercased()) else {
                throw ParseError(
                    line: n,
                    message: "key \(id): expected the method crc, md5 or sha1, got \(words.count >= 2 ? "\"\(words[1])\"" : "nothing")")
            }
            let secret = words.dropFirst(2).joined(separator: " ")
            if m == .crc, !secret.isEmpty { throw ParseError(line: n, message: "key \(id): crc takes no secret") }
            if m != .crc, secret.isEmpty { throw ParseError(line: n, message: "key \(id): \(m.rawValue) needs a secret after it") }
            if let (_, _, l) = keys[id] { throw ParseError(line: n, message: "key \(id) is already defined on line \(l)") }
            keys[id] = (m, secret, n)
        }
        guard let (id, authLine) = selected else { throw ParseError(line: 1, message: "no \"auth N\" line selects a key") }
        guard let (m, s, l) = keys[id] else { throw ParseError(line: authLine, message: "auth \(id): there is no key line \"\(id) ...\"") }
        return HeartbeatAuthkeys(
            id: id, method: m, secret: s, line: l,
            keys: keys.mapValues { Key(method: $0.0, secret: $0.1) })
    }

    /// The sender (`src`) of an authentic netstring Heartbeat packet, nil for anything else
    /// (`HeartbeatFraming.authenticatedSender`). `mac` computes a key's MAC of the signed bytes as lowercase hex:
    /// HMAC-SHA1 or HMAC-MD5 in `verifyHeartbeatPacket(_:)`, anything in the fuzz harness.
    public func verifyHeartbeatPacket(_ b: [UInt8], mac: (Key, ArraySlice<UInt8>) -> String) -> String? {
        HeartbeatFraming.authenticatedSender(b) { id, signed in keys[id].map { mac($0, signed) } }
    }

    /// CRC-32 (IEEE), as Heartbeat's crc method computes it.
    static func crc32<S: Sequence<UInt8>>(_ b: S) -> UInt32 {
        var c: UInt32 = 0xffff_ffff
        for byte in b {
            c ^= UInt32(byte)
            for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0xedb8_8320 : c >> 1 }
        }
        return ~c
    }
}
