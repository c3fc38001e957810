import VigilConfig

/// One directive of a Heartbeat ha.cf: its keyword, the words after it, and where it was.
public struct HADirective: Sendable, Equatable {
    public var keyword: String
    public var words: [String]
    public var line: Int

    /// The words after the keyword, joined by single spaces.
    public var value: String { words.joined(separator: " ") }
}

/// Heartbeat's file readers: ha.cf, haresources and their shared syntax (comments, `\` continuation, times).
public enum HeartbeatFiles {
    /// Splits ha.cf into directives. `#` starts a comment anywhere (as in Heartbeat's config.c); blank lines
    /// are skipped. Keywords are case-sensitive in Heartbeat and are kept as written.
    public static func directives(_ text: String) -> [HADirective] {
        var out: [HADirective] = []
        for (i, raw) in lines(text).enumerated() {
            let line = raw.prefix { $0 != "#" }
            let words = split(line) { $0 == " " || $0 == "\t" || $0 == "\r" }
            guard let first = words.first else { continue }
            out.append(HADirective(keyword: first, words: Array(words.dropFirst()), line: i + 1))
        }
        return out
    }

    /// The lines of a file, split at "\n" like Heartbeat's byte-wise reading, as Unicode scalars: a split on
    /// Characters misses the "\n" of "\r\n" (one Character) and a '#' or space with a combining mark after it.
    static func lines(_ text: String) -> [Substring.UnicodeScalarView] {
        text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false)
    }

    /// The words of `line` between separator scalars.
    static func split(_ line: Substring.UnicodeScalarView, by isSeparator: (Unicode.Scalar) -> Bool) -> [String] {
        line.split(whereSeparator: isSeparator).map { String(Substring($0)) }
    }

    /// One haresources group line: the words of a logical line (after joining `\` continuations), and the
    /// line it starts on.
    public struct LogicalLine: Sendable, Equatable {
        public var words: [String]
        public var line: Int
    }

    /// Splits haresources into logical lines: `\` at the end of a line continues it, `#` starts a comment.
    public static func logicalLines(_ text: String) -> [LogicalLine] {
        var out: [LogicalLine] = []
        var pending: [String] = []
        var start = 0
        for (i, raw) in lines(text).enumerated() {
            var line = raw.prefix { $0 != "#" }
            while let last = line.last, last == " " || last == "\t" || last == "\r" { line.removeLast() }
            let continues = line.last == "\\"
            if continues { line.removeLast() }
            let words = split(line) { $0 == " " || $0 == "\t" }
            if pending.isEmpty { start = i + 1 }
            pending += words
            if !continues {
                if !pending.isEmpty { out.append(LogicalLine(words: pending, line: start)) }
                pending = []
            }
        }
        if !pending.isEmpty { out.append(LogicalLine(words: pending, line: start)) }
        return out
    }

    /// Heartbeat's time syntax (cl_get_msec): a bare number is seconds and may have a fraction; `ms`/`msec`
    /// mean milliseconds, `us`/`usec` microseconds. Anything else (`2s`, `1m`, `fast`) is nil.
    public static func parseTime(_ s: String) -> Duration? {
        let lower = s.lowercased()
        var number = Substring(lower)
        var scale = 1e9
        for (suffix, sc) in [("msec", 1e6), ("usec", 1e3), ("ms", 1e6), ("us", 1e3)] where lower.hasSuffix(suffix) {
            number = lower.dropLast(suffix.count)
            scale = sc
            break
        }
        guard !number.isEmpty, number.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
            number.filter({ $0 == "." }).count <= 1, let v = Double(number), v < 1e6
        else { return nil }
        return .nanoseconds(Int64((v * scale / 1e3).rounded() * 1e3))
    }
}

/// A problem in one of the Heartbeat files: an error stops the import, a warning says what Vigil does instead.
public struct HeartbeatDiagnostic: Sendable, Equatable, CustomStringConvertible {
    public enum Severity: String, Sendable { case warning, error }
    public var severity: Severity
    public var file: String
    public var line: Int
    public var message: String

    public var description: String { "\(file):\(line): \(severity.rawValue): \(message)" }
}

/// Why an import failed: every error found, each naming file and line.
public struct HeartbeatImportError: Error, CustomStringConvertible {
    public var diagnostics: [HeartbeatDiagnostic]
    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}

extension ConfigError {
    /// A loader error on a generated cluster.conf: a bug of the importer (the Heartbeat files passed its own
    /// checks), reported with the generated text's line (`vigil import-heartbeat` prints that text).
    func asDiagnostic(origin: String) -> HeartbeatDiagnostic {
        HeartbeatDiagnostic(
            severity: .error, file: origin, line: line,
            message: "the generated configuration does not load (please report this): \(message)")
    }
}
