import VigilCore

/// What an OCF agent says about itself (`AGENT meta-data`): its parameters and its advised action timeouts.
/// Read from the agent's XML with `MiniXML`, which parses the plain XML the OCF API uses.
public struct OCFMetadata: Hashable, Sendable {
    /// One `<parameter>`.
    public struct Parameter: Hashable, Sendable {
        public var name: String
        public var required: Bool
        public var unique: Bool
        /// `string`, `integer`, `boolean`, `select`… (the `<content type>`).
        public var type: String
        public var defaultValue: String?
        public var shortDescription: String
        /// For `select`: the allowed values.
        public var options: [String]
        public var deprecated: Bool
    }

    /// One `<action>` with its advised timeout (and interval, for monitor).
    public struct Action: Hashable, Sendable {
        public var name: String
        public var timeout: Duration?
        public var interval: Duration?
        public var depth: String?
    }

    public var name: String
    public var shortDescription: String
    public var parameters: [Parameter]
    public var actions: [Action]

    /// Parses the agent's meta-data XML.
    public init(xml: String) throws(MiniXML.ParseError) {
        let root = try MiniXML.parse(xml)
        guard root.name == "resource-agent" else { throw MiniXML.ParseError("the root element is <\(root.name)>, not <resource-agent>") }
        name = root.attributes["name"] ?? ""
        shortDescription = root.child("shortdesc")?.text.trimmed ?? ""
        parameters = (root.child("parameters")?.children(named: "parameter") ?? []).map { p in
            let content = p.child("content")
            return Parameter(
                name: p.attributes["name"] ?? "", required: p.attributes["required"] == "1", unique: p.attributes["unique"] == "1",
                type: content?.attributes["type"] ?? "string", defaultValue: content?.attributes["default"],
                shortDescription: p.child("shortdesc")?.text.trimmed ?? "",
                options: content?.children(named: "option").compactMap { $0.attributes["value"] } ?? [],
                deprecated: p.child("deprecated") != nil || p.attributes["deprecated"] == "1")
        }
        actions = (root.child("actions")?.children(named: "action") ?? []).map { a in
            Action(
                name: a.attributes["name"] ?? "", timeout: a.attributes["timeout"].flatMap(Self.duration),
                interval: a.attributes["interval"].flatMap(Self.duration), depth: a.attributes["depth"])
        }
    }

    /// The advised timeout of an action (`monitor` for status).
    public func advisedTimeout(_ action: ResourceAction) -> Duration? {
        actions.first { $0.name == OCF.action(action) }?.timeout
    }

    /// Pacemaker's booleans.
    static let booleans: Set<String> = ["true", "false", "yes", "no", "on", "off", "1", "0", "y", "n"]

    /// What is wrong with a resource's parameters for this agent: unknown names (with the closest known
    /// one), required ones missing, values of the wrong type. Empty: nothing.
    public func problems(_ r: ResourceSpec) -> [String] {
        var out: [String] = []
        let given = r.parameters

        for (k, v) in given {
            guard let p = parameters.first(where: { $0.name == k }) else {
                let close = parameters.map(\.name).filter { $0.lowercased() == k.lowercased() || $0.hasPrefix(k) || k.hasPrefix($0) }
                out.append(
                    "\(r.agent) has no parameter \(k)\(close.isEmpty ? "" : " (did you mean \(close[0])?)"); it has: \(parameters.map(\.name).joined(separator: ", "))"
                )
                continue
            }
            if let why = Self.mismatch(p, v), !Self.mistyped(p) { out.append("\(r.agent) parameter \(k)=\(v): \(why)") }
        }
        for p in parameters where p.required && !given.contains(where: { $0.0 == p.name }) {
            out.append("\(r.agent) needs parameter \(p.name) (\(p.shortDescription.isEmpty ? p.type : p.shortDescription))")
        }
        return out
    }

    /// Values of a parameter whose type its meta-data gets wrong (its own default does not fit the declared
    /// type, as pingd's `dampen` "5s" declared integer): a warning each, not an error.
    public func warnings(_ r: ResourceSpec) -> [String] {
        r.parameters.compactMap { k, v in
            guard let p = parameters.first(where: { $0.name == k }), Self.mistyped(p), let why = Self.mismatch(p, v) else { return nil }
            return "\(r.agent) parameter \(k)=\(v): \(why) by its meta-data, whose own default (\(p.defaultValue ?? "")) is not one either"
        }
    }

    /// What is wrong with `v` for the parameter's declared type (nil: fine).
    static func mismatch(_ p: Parameter, _ v: String) -> String? {
        switch p.type {
        case "integer" where Int(v) == nil: "expected an integer"
        case "boolean" where !booleans.contains(v.lowercased()): "expected a boolean (true/false, yes/no, on/off, 1/0)"
        case "select" where !p.options.isEmpty && !p.options.contains(v): "expected one of \(p.options.joined(separator: ", "))"
        default: nil
        }
    }

    /// The meta-data's own default does not fit its declared type.
    static func mistyped(_ p: Parameter) -> Bool {
        guard let d = p.defaultValue, !d.isEmpty, !d.contains("$") else { return false }
        return mismatch(p, d) != nil
    }

    /// "20s", "20", "2min", "1m", "500ms", "1h" as the OCF meta-data writes timeouts (bare numbers are seconds).
    /// Nil for anything else, and for values outside 100 ms ... 1 day (a timeout of 0 would kill every
    /// operation; a huge one would overflow): the group's timeout applies then.
    static func duration(_ text: String) -> Duration? {
        let t = text.trimmed.lowercased()
        let digits = t.prefix { $0.isASCII && $0.isNumber }
        guard digits.count <= 9, let n = Int(digits) else { return nil }
        let ms: Int
        switch t.dropFirst(digits.count) {
        case "", "s", "sec", "secs": ms = n * 1000
        case "ms", "msec": ms = n
        case "m", "min", "mins": ms = n * 60_000
        case "h", "hr", "hrs": ms = n * 3_600_000
        default: return nil
        }
        guard (100...86_400_000).contains(ms) else { return nil }
        return .milliseconds(ms)
    }
}

/// A small XML reader for OCF meta-data: elements, attributes, text, comments, CDATA, the XML declaration and
/// a DOCTYPE (skipped); the five predefined entities and numeric character references. No namespaces, no
/// external entities (nothing is fetched).
public enum MiniXML {
    /// One element, with its text (the concatenated character data directly inside it).
    public struct Element: Hashable, Sendable {
        public var name: String
        public var attributes: [String: String]
        public var elements: [Element]
        public var text: String

        public func child(_ name: String) -> Element? { elements.first { $0.name == name } }
        public func children(named name: String) -> [Element] { elements.filter { $0.name == name } }
    }

    /// Why a document could not be read.
    public struct ParseError: Error, Hashable, Sendable, CustomStringConvertible {
        public let description: String
        public init(_ d: String) { description = d }
    }

    public static func parse(_ xml: String) throws(ParseError) -> Element {
        var chars = Array(xml.unicodeScalars)
        if chars.first == "\u{FEFF}" { chars.removeFirst() }  // a UTF-8 byte order mark
        var p = Parser(chars: chars)
        return try p.document()
    }

    struct Parser {
        let chars: [Unicode.Scalar]
        var i = 0

        init(chars: [Unicode.Scalar]) { self.chars = chars }

        func starts(_ s: String) -> Bool {
            var j = i
            for c in s.unicodeScalars {
                guard j < chars.count, chars[j] == c else { return false }
                j += 1
            }
            return true
        }

        mutating func skip(past s: String) throws(ParseError) {
            while i < chars.count, !starts(s) { i += 1 }
            guard i < chars.count else { throw ParseError("unterminated construct, expected \(s)") }
            i += s.unicodeScalars.count
        }

        mutating func skipBlanks() { while i < chars.count, chars[i].properties.isWhitespace { i += 1 } }

        /// Skips the prolog (declaration, comments, DOCTYPE with an internal subset), reads the root element.
        mutating func document() throws(ParseError) -> Element {
            while true {
                skipBlanks()
                if starts("<?") {
                    try skip(past: "?>")
                } else if starts("<!--") {
                    try skip(past: "-->")
                } else if starts("<!DOCTYPE") {
                    var depth = 0
                    while i < chars.count {
                        if chars[i] == "[" {
                            depth += 1
                        } else if chars[i] == "]" {
                            depth -= 1
                        } else if chars[i] == ">", depth <= 0 {
                            break
                        }
                        i += 1
                    }
                    guard i < chars.count else { throw ParseError("unterminated DOCTYPE") }
                    i += 1
                } else {
                    break
                }
            }
            guard starts("<") else { throw ParseError("no root element") }
            return try element()
        }

        mutating func name() throws(ParseError) -> String {
            var s = String.UnicodeScalarView()
            while i < chars.count, !chars[i].properties.isWhitespace, !"=/>\"'<".unicodeScalars.contains(chars[i]) {
                s.append(chars[i])
                i += 1
            }
            guard !s.isEmpty else { throw ParseError("expected a name at offset \(i)") }
            return String(s)
        }

        mutating func element() throws(ParseError) -> Element {
            i += 1  // <
            var e = Element(name: try name(), attributes: [:], elements: [], text: "")
            while true {
                skipBlanks()
                guard i < chars.count else { throw ParseError("unterminated <\(e.name)>") }
                if starts("/>") {
                    i += 2
                    return e
                }
                if chars[i] == ">" {
                    i += 1
                    break
                }
                let key = try name()
                skipBlanks()
                guard i < chars.count, chars[i] == "=" else { throw ParseError("attribute \(key) of <\(e.name)> has no value") }
                i += 1
                skipBlanks()
                guard i < chars.count, chars[i] == "\"" || chars[i] == "'" else { throw ParseError("attribute \(key) is not quoted") }
                let q = chars[i]
                i += 1
                let start = i
                while i < chars.count, chars[i] != q { i += 1 }
                guard i < chars.count else { throw ParseError("unterminated attribute \(key)") }
                e.attributes[key] = try Self.decode(chars[start..<i])
                i += 1
            }
            // Content.
            while true {
                guard i < chars.count else { throw ParseError("<\(e.name)> is not closed") }
                if starts("</") {
                    i += 2
                    let closing = try name()
                    guard closing == e.name else { throw ParseError("</\(closing)> closes <\(e.name)>") }
                    skipBlanks()
                    guard i < chars.count, chars[i] == ">" else { throw ParseError("bad </\(closing)>") }
                    i += 1
                    return e
                } else if starts("<!--") {
                    try skip(past: "-->")
                } else if starts("<![CDATA[") {
                    i += 9
                    let start = i
                    try skip(past: "]]>")
                    e.text += String(String.UnicodeScalarView(chars[start..<(i - 3)]))
                } else if starts("<?") {
                    try skip(past: "?>")
                } else if chars[i] == "<" {
                    e.elements.append(try element())
                } else {
                    let start = i
                    while i < chars.count, chars[i] != "<" { i += 1 }
                    e.text += try Self.decode(chars[start..<i])
                }
            }
        }

        static func decode(_ s: ArraySlice<Unicode.Scalar>) throws(ParseError) -> String {
            var out = String.UnicodeScalarView()
            var j = s.startIndex
            while j < s.endIndex {
                guard s[j] == "&" else {
                    out.append(s[j])
                    j += 1
                    continue
                }
                guard let end = s[j...].firstIndex(of: ";") else { throw ParseError("an & without ;") }
                let ref = String(String.UnicodeScalarView(s[(j + 1)..<end]))
                switch ref {
                case "lt": out.append("<")
                case "gt": out.append(">")
                case "amp": out.append("&")
                case "quot": out.append("\"")
                case "apos": out.append("'")
                default:
                    let code =
                        ref.hasPrefix("#x") ? UInt32(ref.dropFirst(2), radix: 16) : ref.hasPrefix("#") ? UInt32(ref.dropFirst()) : nil
                    guard let code, let u = Unicode.Scalar(code) else { throw ParseError("unknown entity &\(ref);") }
                    out.append(u)
                }
                j = end + 1
            }
            return String(out)
        }
    }
}

extension String {
    var trimmed: String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}

extension ResourceRunner {
    /// Runs `AGENT meta-data` (an OCF agent, under this runner's OCF_ROOT) and parses what it prints.
    public func ocfMetadata(_ agent: String, timeout: Duration = .seconds(10)) throws(LaunchError) -> OCFMetadata {
        let located = try find(agent)
        let env = searchPath.ocfEnvironment.merging([
            "OCF_RESOURCE_INSTANCE": "meta-data", "OCF_RA_VERSION_MAJOR": "1", "OCF_RA_VERSION_MINOR": "1",
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"
        ]) { a, _ in a }
        let out = try run(argv: [located.path, "meta-data"], environment: env, timeout: timeout)
        guard out.succeeded, let text = out.standardOutput ?? Optional(out.stdout) else {
            throw LaunchError(
                description:
                    "\(agent) meta-data failed (\(out.timedOut ? "timed out" : "exit code \(out.exitCode.map(String.init) ?? "?")"))")
        }
        do { return try OCFMetadata(xml: text) } catch { throw LaunchError(description: "\(agent) meta-data: \(error)") }
    }
}

extension ResourceRunner {
    /// Fills each OCF resource's advised timeouts from its agent's meta-data on this node (read once per
    /// agent). Returns the groups and one line per agent whose meta-data could not be read (its resources keep
    /// the group's timeouts).
    public func withAdvisedTimeouts(_ groups: [GroupSpec]) -> ([GroupSpec], [String]) {
        var cache: [String: OCFMetadata?] = [:]
        var problems: [String] = []
        var out = groups
        for gi in out.indices {
            for ri in out[gi].resources.indices where out[gi].resources[ri].ocf != nil {
                let agent = out[gi].resources[ri].agent
                if cache[agent] == nil {
                    do { cache[agent] = .some(try ocfMetadata(agent)) } catch {
                        cache[agent] = .some(nil)
                        problems.append("\(error)")
                    }
                }
                guard let md = cache[agent] ?? nil else { continue }
                for a in ResourceAction.allCases { out[gi].resources[ri].advisedTimeouts[a] = md.advisedTimeout(a) }
            }
        }
        return (out, problems)
    }
}
