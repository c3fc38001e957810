/// Linux-HA Heartbeat's ha_msg framings, read from untrusted bytes before any MAC check: every index is checked
/// and every length is bounded, so no input traps (fuzzed by bench/fuzz.sh's `heartbeat` target). No Crypto and
/// no Foundation, so libFuzzer can drive it directly; `HeartbeatAuthkeys` supplies the MAC.
///
/// Netstring framing (what Heartbeat 3 sends by default):
/// ```
/// ###\n  LEN:(TYPE)NAME=VALUE,  …  %%%\n  LEN:ID MAC,
/// ```
/// Every field is a netstring; the MAC (hex) covers every byte from `###\n` through `%%%\n` under key ID.
/// Classic framing: `>>>\n`, then `NAME=VALUE\n` lines (optionally `(TYPE)NAME=VALUE`), then `<<<\n`.
///
/// Lengths and numbers are plain ASCII decimals: no sign, no spaces, no leading zero (Heartbeat writes them
/// with `%d`), never larger than the bytes that are left.
public enum HeartbeatFraming {
    public static let netstringStart = Array("###\n".utf8)
    public static let netstringEnd = Array("%%%\n".utf8)
    public static let classicStart = Array(">>>\n".utf8)
    public static let classicEnd = Array("<<<\n".utf8)

    /// The two framings a Heartbeat message can have.
    public enum Kind: Sendable, Equatable { case classic, netstring }

    /// The framing `b` starts with (at least 8 bytes, as the shortest message), nil if it is no Heartbeat message.
    public static func kind(of b: [UInt8]) -> Kind? {
        guard b.count >= 8 else { return nil }
        if b[0..<4].elementsEqual(classicStart) { return .classic }
        if b[0..<4].elementsEqual(netstringStart) { return .netstring }
        return nil
    }

    /// One field of a message: `(TYPE)NAME=VALUE` (TYPE 0 is a string, 1 binary, 2 a nested message, …).
    public struct Field: Sendable, Equatable {
        /// The type digit; nil for a classic line without one.
        public var type: Int?
        public var name: [UInt8]
        public var value: [UInt8]

        public init(type: Int?, name: [UInt8], value: [UInt8]) {
            self.type = type
            self.name = name
            self.value = value
        }

        /// The bytes as they appear inside the frame: `(TYPE)NAME=VALUE`.
        public var encoded: [UInt8] {
            (type.map { Array("(\($0))".utf8) } ?? []) + name + [UInt8(ascii: "=")] + value
        }
    }

    /// A netstring-framed message as it arrived.
    public struct NetstringMessage: Sendable, Equatable {
        public var fields: [Field]
        /// Bytes `0..<signedEnd` (`###\n` through `%%%\n`) are what the MAC covers.
        public var signedEnd: Int
        /// The auth netstring's payload, `ID MAC`.
        public var auth: [UInt8]
        /// Just after the auth netstring's comma (later bytes are ignored).
        public var end: Int

        /// The auth's key number and MAC (lowercased), if the payload is exactly `ID MAC`.
        public var authKey: (id: Int, mac: String)? {
            guard let space = auth.firstIndex(of: UInt8(ascii: " ")),
                let id = HeartbeatFraming.decimal(auth, 0..<space, limit: 1_000),
                space + 1 < auth.count, !auth[(space + 1)...].contains(UInt8(ascii: " "))
            else { return nil }
            return (id, String(decoding: auth[(space + 1)...], as: UTF8.self).lowercased())
        }

        /// The message laid out again; equal to the bytes it was parsed from, up to `end`.
        public var encoded: [UInt8] {
            var b = HeartbeatFraming.netstringStart
            for f in fields { b += HeartbeatFraming.netstring(f.encoded) }
            return b + HeartbeatFraming.netstringEnd + HeartbeatFraming.netstring(auth)
        }
    }

    /// `LEN:DATA,` for `data`.
    public static func netstring(_ data: [UInt8]) -> [UInt8] { Array("\(data.count):".utf8) + data + [UInt8(ascii: ",")] }

    /// The netstring `LEN:DATA,` at `start`: the range of DATA and the index after the comma. Nil unless LEN is a
    /// plain decimal and DATA and the comma lie within `b`.
    public static func netstring(in b: [UInt8], at start: Int) -> (data: Range<Int>, next: Int)? {
        guard start >= 0, start < b.count else { return nil }
        var i = start
        while i < b.count, isDigit(b[i]) { i += 1 }
        guard i < b.count, b[i] == UInt8(ascii: ":") else { return nil }
        let dataStart = i + 1
        // DATA and the comma after it must fit: LEN <= the bytes left after ':' minus one.
        guard let len = decimal(b, start..<i, limit: b.count - dataStart - 1) else { return nil }
        let comma = dataStart + len
        guard b[comma] == UInt8(ascii: ",") else { return nil }
        return (dataStart..<comma, comma + 1)
    }

    /// Parses a netstring-framed message: `###\n`, field netstrings up to `%%%\n` (which is found only between
    /// fields, so a nested message's end marker is not taken for it), then the auth netstring.
    public static func parseNetstring(_ b: [UInt8]) -> NetstringMessage? {
        guard kind(of: b) == .netstring else { return nil }
        var fields: [Field] = []
        var i = netstringStart.count
        while !hasPrefix(b, netstringEnd, at: i) {
            guard let (data, next) = netstring(in: b, at: i), let f = field(b[data], typed: true) else { return nil }
            fields.append(f)
            i = next
        }
        let signedEnd = i + netstringEnd.count
        guard let (auth, end) = netstring(in: b, at: signedEnd) else { return nil }
        return NetstringMessage(fields: fields, signedEnd: signedEnd, auth: Array(b[auth]), end: end)
    }

    /// Parses a classic-framed message: its fields and the index after `<<<\n` (later bytes are ignored). Nil
    /// without the end line, or if a line is not `NAME=VALUE`.
    public static func parseClassic(_ b: [UInt8]) -> (fields: [Field], end: Int)? {
        guard kind(of: b) == .classic else { return nil }
        var fields: [Field] = []
        var i = classicStart.count
        while !hasPrefix(b, classicEnd, at: i) {
            guard i < b.count, let nl = b[i...].firstIndex(of: UInt8(ascii: "\n")),
                let f = field(b[i..<nl], typed: false)
            else { return nil }
            fields.append(f)
            i = nl + 1
        }
        return (fields, i + classicEnd.count)
    }

    /// A classic message laid out again; equal to the bytes it was parsed from, up to its end.
    public static func encodeClassic(_ fields: [Field]) -> [UInt8] {
        var b = classicStart
        for f in fields { b += f.encoded + [UInt8(ascii: "\n")] }
        return b + classicEnd
    }

    /// The value of the first string field (type 0, or untyped) called `name`, as text.
    public static func string(_ name: String, in fields: [Field]) -> String? {
        let n = Array(name.utf8)
        return fields.first { ($0.type ?? 0) == 0 && $0.name == n }.map { String(decoding: $0.value, as: UTF8.self) }
    }

    /// The sender (`src`) of a netstring message whose MAC is right, nil for anything else (classic framing,
    /// whose MAC covers a re-serialization, included). `expectedMAC(id, signed)` is key `id`'s MAC of the signed
    /// bytes as lowercase hex, nil for a key the file does not have.
    public static func authenticatedSender(_ b: [UInt8], expectedMAC: (Int, ArraySlice<UInt8>) -> String?) -> String? {
        guard let m = parseNetstring(b), let (id, mac) = m.authKey,
            let expected = expectedMAC(id, b[0..<m.signedEnd]), mac == expected
        else { return nil }
        return string("src", in: m.fields)
    }

    // MARK: - Pieces

    /// `(T)NAME=VALUE` (T one digit; required when `typed`, optional otherwise) with a non-empty NAME.
    static func field(_ s: ArraySlice<UInt8>, typed: Bool) -> Field? {
        var i = s.startIndex
        var type: Int?
        if s.count >= 3, s[i] == UInt8(ascii: "("), isDigit(s[i + 1]), s[i + 2] == UInt8(ascii: ")") {
            type = Int(s[i + 1] - UInt8(ascii: "0"))
            i += 3
        } else if typed {
            return nil
        }
        guard let eq = s[i...].firstIndex(of: UInt8(ascii: "=")), eq > i else { return nil }
        return Field(type: type, name: Array(s[i..<eq]), value: Array(s[(eq + 1)...]))
    }

    /// The decimal in `b[r]`: ASCII digits only, no leading zero, at most `limit`; computed without overflow.
    static func decimal(_ b: [UInt8], _ r: Range<Int>, limit: Int) -> Int? {
        guard !r.isEmpty, r.lowerBound >= 0, r.upperBound <= b.count, limit >= 0 else { return nil }
        guard b[r.lowerBound] != UInt8(ascii: "0") || r.count == 1 else { return nil }
        var v = 0
        for i in r {
            guard isDigit(b[i]) else { return nil }
            let d = Int(b[i] - UInt8(ascii: "0"))
            // v * 10 + d <= limit, checked without computing it.
            guard limit >= d, v <= (limit - d) / 10 else { return nil }
            v = v * 10 + d
        }
        return v
    }

    static func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }

    static func hasPrefix(_ b: [UInt8], _ p: [UInt8], at i: Int) -> Bool {
        i >= 0 && i <= b.count - p.count && b[i..<(i + p.count)].elementsEqual(p)
    }
}
