/// A configuration error: the file, the 1-based line, and what was expected.
public struct ConfigError: Error, CustomStringConvertible, Equatable, Sendable {
    public var file: String
    public var line: Int
    public var message: String

    public init(file: String, line: Int, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String { "\(file):\(line): \(message)" }
}

/// A TOML value of the subset cluster.conf uses.
public indirect enum TOMLValue: Equatable, Sendable {
    case string(String)
    case integer(Int64)
    case float(Double)
    case bool(Bool)
    case array([TOMLValue])

    var typeName: String {
        switch self {
        case .string: "a string"
        case .integer: "an integer"
        case .float: "a float"
        case .bool: "a boolean"
        case .array: "an array"
        }
    }
}

/// One `key = value` with the line it stands on.
public struct TOMLEntry: Equatable, Sendable {
    public var key: String
    public var value: TOMLValue
    public var line: Int
}

/// A `[table]` or one element of a `[[table]]` array, with its entries in file order.
public struct TOMLTable: Equatable, Sendable {
    public var name: String
    public var isArrayElement: Bool
    public var line: Int
    public var entries: [TOMLEntry]
}

/// Parser for the TOML subset that cluster.conf uses: `[table]`, `[[array-of-tables]]`, bare keys,
/// basic and literal strings, integers, floats, booleans, and (multi-line) arrays, with `#` comments.
/// Everything else TOML has (dotted keys, inline tables, dates, multi-line strings) is refused with a
/// line-numbered error rather than half-supported. Entries before any table go into a table named "".
public struct TOMLSubsetParser {
    let bytes: [UInt8]
    let file: String
    var i = 0
    var line = 1
    /// Current array nesting: bounded, so hostile input cannot overflow the stack (found by libFuzzer).
    var depth = 0
    static let maxArrayDepth = 4

    public init(text: String, file: String) {
        bytes = Array(text.utf8)
        self.file = file
    }

    public static func parse(_ text: String, file: String) throws(ConfigError) -> [TOMLTable] {
        var p = TOMLSubsetParser(text: text, file: file)
        return try p.document()
    }

    func fail(_ message: String, at line: Int? = nil) -> ConfigError {
        ConfigError(file: file, line: line ?? self.line, message: message)
    }

    var peek: UInt8? { i < bytes.count ? bytes[i] : nil }

    mutating func skipSpaces() {
        while let c = peek, c == 0x20 || c == 0x09 || c == 0x0D { i += 1 }
    }

    mutating func skipComment() {
        if peek == UInt8(ascii: "#") { while let c = peek, c != 0x0A { i += 1 } }
    }

    /// After a statement: only spaces and a comment may follow on the line.
    mutating func endOfLine() throws(ConfigError) {
        skipSpaces()
        skipComment()
        if let c = peek {
            guard c == 0x0A else { throw fail("unexpected '\(Character(UnicodeScalar(c)))' after the value; expected the end of the line") }
            i += 1
            line += 1
        }
    }

    mutating func document() throws(ConfigError) -> [TOMLTable] {
        var tables = [TOMLTable(name: "", isArrayElement: false, line: 1, entries: [])]
        var seenTables: Set<String> = []
        while true {
            skipSpaces()
            skipComment()
            guard let c = peek else { break }
            if c == 0x0A { i += 1; line += 1; continue }
            if c == UInt8(ascii: "[") {
                let startLine = line
                i += 1
                let isArray = peek == UInt8(ascii: "[")
                if isArray { i += 1 }
                skipSpaces()
                let name = try bareKey(what: "table name")
                skipSpaces()
                guard peek == UInt8(ascii: "]") else { throw fail("expected ']' to close the table header") }
                i += 1
                if isArray {
                    guard peek == UInt8(ascii: "]") else { throw fail("expected ']]' to close the array-of-tables header") }
                    i += 1
                } else {
                    guard seenTables.insert(name).inserted else { throw fail("table [\(name)] is defined twice") }
                }
                tables.append(TOMLTable(name: name, isArrayElement: isArray, line: startLine, entries: []))
                try endOfLine()
                continue
            }
            let keyLine = line
            let key = try bareKey(what: "key")
            skipSpaces()
            if peek == UInt8(ascii: ".") { throw fail("dotted keys are not supported; write a [table] header instead") }
            guard peek == UInt8(ascii: "=") else { throw fail("expected '=' after the key '\(key)'") }
            i += 1
            skipSpaces()
            let v = try value()
            if tables[tables.count - 1].entries.contains(where: { $0.key == key }) {
                throw fail("duplicate key '\(key)'", at: keyLine)
            }
            tables[tables.count - 1].entries.append(TOMLEntry(key: key, value: v, line: keyLine))
            try endOfLine()
        }
        return tables
    }

    static func isBare(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F || c == 0x2D
    }

    mutating func bareKey(what: String) throws(ConfigError) -> String {
        let start = i
        while let c = peek, Self.isBare(c) { i += 1 }
        guard i > start else {
            if peek == UInt8(ascii: "\"") || peek == UInt8(ascii: "'") {
                throw fail("quoted keys are not supported; use letters, digits, '_' and '-'")
            }
            throw fail("expected a \(what) (letters, digits, '_' or '-')")
        }
        return String(decoding: bytes[start..<i], as: UTF8.self)
    }

    mutating func value() throws(ConfigError) -> TOMLValue {
        guard let c = peek, c != 0x0A else { throw fail("expected a value after '='") }
        switch c {
        case UInt8(ascii: "\""):
            if bytes[i...].starts(with: Array("\"\"\"".utf8)) { throw fail("multi-line strings are not supported") }
            return .string(try basicString())
        case UInt8(ascii: "'"):
            if bytes[i...].starts(with: Array("'''".utf8)) { throw fail("multi-line strings are not supported") }
            return .string(try literalString())
        case UInt8(ascii: "["):
            return try array()
        case UInt8(ascii: "{"):
            throw fail("inline tables are not supported; use a [table] or [[table]] header")
        case UInt8(ascii: "t"), UInt8(ascii: "f"):
            if bytes[i...].starts(with: Array("true".utf8)) { i += 4; return .bool(true) }
            if bytes[i...].starts(with: Array("false".utf8)) { i += 5; return .bool(false) }
            throw fail("expected a value (a \"string\", a number, true/false or an [array])")
        default:
            return try number()
        }
    }

    mutating func basicString() throws(ConfigError) -> String {
        i += 1
        var out: [UInt8] = []
        while true {
            guard let c = peek, c != 0x0A else { throw fail("unterminated string: expected a closing '\"' on the same line") }
            i += 1
            if c == UInt8(ascii: "\"") { break }
            if c == UInt8(ascii: "\\") {
                guard let e = peek else { throw fail("unterminated escape sequence") }
                i += 1
                switch e {
                case UInt8(ascii: "\""): out.append(e)
                case UInt8(ascii: "\\"): out.append(e)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "u"):
                    let hex = String(decoding: bytes[i..<min(i + 4, bytes.count)], as: UTF8.self)
                    guard i + 4 <= bytes.count, hex.allSatisfy(\.isHexDigit), let v = UInt32(hex, radix: 16),
                        let s = UnicodeScalar(v)
                    else { throw fail("\\u must be followed by 4 hex digits") }
                    i += 4
                    out += Array(String(Character(s)).utf8)
                default:
                    throw fail("unknown escape '\\\(Character(UnicodeScalar(e)))' in string")
                }
                continue
            }
            out.append(c)
        }
        guard let s = String(validating: out, as: UTF8.self) else { throw fail("string is not valid UTF-8") }
        return s
    }

    mutating func literalString() throws(ConfigError) -> String {
        i += 1
        let start = i
        while let c = peek, c != UInt8(ascii: "'") {
            guard c != 0x0A else { throw fail("unterminated string: expected a closing \"'\" on the same line") }
            i += 1
        }
        guard peek != nil else { throw fail("unterminated string") }
        let s = bytes[start..<i]
        i += 1
        guard let str = String(validating: s, as: UTF8.self) else { throw fail("string is not valid UTF-8") }
        return str
    }

    mutating func number() throws(ConfigError) -> TOMLValue {
        let start = i
        while let c = peek, Self.isBare(c) || c == UInt8(ascii: "+") || c == UInt8(ascii: ".") { i += 1 }
        let raw = String(decoding: bytes[start..<i], as: UTF8.self)
        let text = raw.replacingUnderscores()
        let digits = text.drop { $0 == "+" || $0 == "-" }
        if raw.hasPrefix("_") || raw.hasSuffix("_") || raw.contains("__")
            || (digits.count > 1 && digits.hasPrefix("0") && !digits.contains("."))
        {
            throw fail("'\(raw)' is not a valid number (no leading zeros; '_' only between digits)")
        }
        if let v = Int64(text) { return .integer(v) }
        if text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }), let d = Double(text), d.isFinite {
            return .float(d)
        }
        if raw.isEmpty { throw fail("expected a value (a \"string\", a number, true/false or an [array])") }
        throw fail("'\(raw)' is not a valid value; strings must be quoted, like \"\(raw)\"")
    }

    mutating func array() throws(ConfigError) -> TOMLValue {
        guard depth < Self.maxArrayDepth else { throw fail("arrays nested more than \(Self.maxArrayDepth) deep are not supported") }
        depth += 1
        defer { depth -= 1 }
        let startLine = line
        i += 1
        var items: [TOMLValue] = []
        while true {
            // Inside an array, newlines and comments are whitespace.
            while true {
                skipSpaces()
                skipComment()
                if peek == 0x0A { i += 1; line += 1 } else { break }
            }
            guard let c = peek else { throw fail("unterminated array: expected ']' (the array starts on line \(startLine))") }
            if c == UInt8(ascii: "]") { i += 1; return .array(items) }
            items.append(try value())
            while true {
                skipSpaces()
                skipComment()
                if peek == 0x0A { i += 1; line += 1 } else { break }
            }
            if peek == UInt8(ascii: ",") { i += 1; continue }
            guard peek == UInt8(ascii: "]") else { throw fail("expected ',' or ']' in the array") }
        }
    }
}

extension String {
    func replacingUnderscores() -> String { String(filter { $0 != "_" }) }
}
