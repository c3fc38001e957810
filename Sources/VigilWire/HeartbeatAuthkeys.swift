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
            let words = raw.prefix { $0 != "#" }.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
            guard let first = words.first else { continue }
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
        return HeartbeatAuthkeys(id: id, method: m, secret: s, line: l)
    }

    /// The 32-byte cluster key: SHA-256 over a fixed label, the method and the secret (crc: no secret at all).
    public var clusterKey: ClusterKey {
        let material = "vigil heartbeat-authkeys v1\u{0}\(method.rawValue)\u{0}\(secret)"
        return ClusterKey(bytes: Array(SHA256.hash(data: Data(material.utf8))))
    }
}
