/// An OCF resource agent (`ocf:PROVIDER:TYPE`), as Pacemaker names them: the script
/// `OCF_ROOT/resource.d/PROVIDER/TYPE`, with its parameters passed as `OCF_RESKEY_name` variables.
public struct OCFAgentName: Hashable, Sendable, CustomStringConvertible {
    public var provider: String
    public var type: String

    public init(provider: String, type: String) {
        self.provider = provider
        self.type = type
    }

    /// Parses `ocf:PROVIDER:TYPE` (nil: not that form, or a part empty or with a `/`).
    public init?(_ text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, parts[0] == "ocf", OCF.isPathPart(parts[1]), OCF.isPathPart(parts[2]) else { return nil }
        self.init(provider: parts[1], type: parts[2])
    }

    public var description: String { "ocf:\(provider):\(type)" }
    /// The script's path under `OCF_ROOT`.
    public func path(root: String) -> String { "\(root)/resource.d/\(provider)/\(type)" }
}

/// The OCF resource agent API: exit codes, actions and the environment of one call.
public enum OCF {
    /// Where Debian's `resource-agents` package (and Pacemaker) install OCF agents.
    public static let defaultRoot = "/usr/lib/ocf"

    /// The OCF exit codes (resource-agent API 1.1).
    public enum ExitCode: Int32, Hashable, Sendable, CaseIterable, CustomStringConvertible {
        case success = 0
        case genericError = 1
        case invalidArgument = 2
        case unimplemented = 3
        case insufficientPrivileges = 4
        case notInstalled = 5
        case notConfigured = 6
        case notRunning = 7
        case runningPromoted = 8
        case failedPromoted = 9

        public var description: String {
            switch self {
            case .success: "OCF_SUCCESS"
            case .genericError: "OCF_ERR_GENERIC"
            case .invalidArgument: "OCF_ERR_ARGS"
            case .unimplemented: "OCF_ERR_UNIMPLEMENTED"
            case .insufficientPrivileges: "OCF_ERR_PERM"
            case .notInstalled: "OCF_ERR_INSTALLED"
            case .notConfigured: "OCF_ERR_CONFIGURED"
            case .notRunning: "OCF_NOT_RUNNING"
            case .runningPromoted: "OCF_RUNNING_PROMOTED"
            case .failedPromoted: "OCF_FAILED_PROMOTED"
            }
        }

        /// A start failure that another try on the same node cannot fix: the node is given up at once (the
        /// group moves) instead of after `max_restarts` tries.
        public var isHardError: Bool { (2...6).contains(rawValue) }
    }

    /// The OCF action for one of Vigil's operations (`status` is OCF's `monitor`).
    public static func action(_ a: ResourceAction) -> String {
        switch a {
        case .start: "start"
        case .stop: "stop"
        case .status: "monitor"
        }
    }

    /// A parameter name the API allows (`OCF_RESKEY_` + name must be a shell variable name).
    public static func isParameterName(_ s: String) -> Bool {
        guard let f = s.unicodeScalars.first, f == "_" || f.properties.isAlphabetic && f.isASCII else { return false }
        return s.unicodeScalars.allSatisfy { $0.isASCII && ($0 == "_" || $0.properties.isAlphabetic || ("0"..."9").contains($0)) }
    }

    static func isPathPart(_ s: String) -> Bool { !s.isEmpty && !s.contains("/") && s != "." && s != ".." && !s.contains(" ") }

    /// The variables of one call (the shell adds OCF_ROOT, OCF_FUNCTIONS_DIR and HA_RSCTMP, which are paths
    /// of this host): the parameters, the instance, and Pacemaker's meta variables for the timeout and the
    /// monitor interval (0 for a probe, as Pacemaker's).
    public static func environment(
        agent: OCFAgentName, parameters: [(String, String)], instance: String, timeout: Duration, interval: Duration
    ) -> [String: String] {
        var env = [
            "OCF_RA_VERSION_MAJOR": "1", "OCF_RA_VERSION_MINOR": "1",
            "OCF_RESOURCE_INSTANCE": instance, "OCF_RESOURCE_TYPE": agent.type, "OCF_RESOURCE_PROVIDER": agent.provider,
            "OCF_RESKEY_CRM_meta_timeout": String(Int(timeout.milliseconds)),
            "OCF_RESKEY_CRM_meta_interval": String(Int(interval.milliseconds)),
            "OCF_CHECK_LEVEL": "0"
        ]
        for (k, v) in parameters { env["OCF_RESKEY_\(k)"] = v }
        return env
    }
}

extension ResourceSpec {
    /// The OCF agent this resource runs (nil: an LSB or Heartbeat script).
    public var ocf: OCFAgentName? { agent.hasPrefix("ocf:") ? OCFAgentName(agent) : nil }

    /// An OCF resource's parameters, `name=value` each, in the order written.
    public var parameters: [(String, String)] {
        arguments.compactMap { a in
            guard let eq = a.firstIndex(of: "=") else { return nil }
            return (String(a[..<eq]), String(a[a.index(after: eq)...]))
        }
    }

    /// Parses the config's form of an OCF resource, `ocf:PROVIDER:TYPE name=value name="a value"…`: nil when
    /// `text` does not start with `ocf:`, else the resource or what is wrong with it.
    public static func parseOCF(_ text: String) -> Result<ResourceSpec, OCFSyntaxError>? {
        let trimmed = text.drop { $0 == " " || $0 == "\t" }
        guard trimmed.hasPrefix("ocf:") else { return nil }
        guard let words = splitQuoted(String(trimmed)) else { return .failure(OCFSyntaxError("an unclosed quote")) }
        guard let name = OCFAgentName(words[0]) else {
            return .failure(OCFSyntaxError("\(words[0]) is not an OCF agent; expected ocf:PROVIDER:TYPE like ocf:heartbeat:IPaddr2"))
        }
        var seen = Set<String>()
        for w in words.dropFirst() {
            guard let eq = w.firstIndex(of: "="), OCF.isParameterName(String(w[..<eq])) else {
                return .failure(OCFSyntaxError("\(w) is not a parameter; expected NAME=VALUE like ip=10.0.0.5"))
            }
            let k = String(w[..<eq])
            guard seen.insert(k).inserted else { return .failure(OCFSyntaxError("parameter \(k) is given twice")) }
        }
        return .success(ResourceSpec(agent: name.description, arguments: Array(words.dropFirst())))
    }

    /// Splits on blanks; double or single quotes keep blanks inside a word (and are removed). Nil: a quote
    /// is not closed.
    static func splitQuoted(_ s: String) -> [String]? {
        var words: [String] = []
        var cur = ""
        var inWord = false
        var quote: Character?
        for c in s {
            if let q = quote {
                if c == q { quote = nil } else { cur.append(c) }
            } else if c == "\"" || c == "'" {
                quote = c
                inWord = true
            } else if c == " " || c == "\t" {
                if inWord { words.append(cur) }
                cur = ""
                inWord = false
            } else {
                cur.append(c)
                inWord = true
            }
        }
        guard quote == nil else { return nil }
        if inWord { words.append(cur) }
        return words
    }

    /// An OCF resource written back in the config's form, so that `parseOCF` reads it back to the same
    /// resource: a value with blanks or quotes is quoted (double quotes, single quotes around a `"`).
    var ocfDescription: String {
        ([agent] + parameters.map { k, v in "\(k)=\(Self.quoted(v))" }).joined(separator: " ")
    }

    static func quoted(_ v: String) -> String {
        guard v.isEmpty || v.contains(where: { $0 == " " || $0 == "\t" || $0 == "'" || $0 == "\"" }) else { return v }
        // Each `"` in single quotes between double-quoted runs: `a"b` -> "a"'"'"b".
        return v.split(separator: "\"", omittingEmptySubsequences: false).map { "\"\($0)\"" }.joined(separator: "'\"'")
    }
}

/// What is wrong with an `ocf:` resource in cluster.conf.
public struct OCFSyntaxError: Error, Hashable, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

extension GroupSpec {
    /// OCF_RESOURCE_INSTANCE of resource `index`: `GROUP-TYPE`, and `GROUP-TYPE-N` for the Nth resource of
    /// the same type in the group (N from 2), so that agents that key state files on it keep them apart.
    public func ocfInstance(at index: Int) -> String {
        guard index < resources.count, let name = resources[index].ocf else { return "\(self.name)-\(index)" }
        let before = resources[..<index].filter { $0.ocf?.type == name.type }.count
        return before == 0 ? "\(self.name)-\(name.type)" : "\(self.name)-\(name.type)-\(before + 1)"
    }
}
