/// One resource in a group: an init-style agent script and its arguments, e.g. `IPaddr2::10.0.0.5/24/eth0`
/// (Heartbeat's haresources notation) or `vm guest1`.
public struct ResourceSpec: Hashable, Sendable, Codable, CustomStringConvertible {
    public var agent: String
    public var arguments: [String]
    /// An OCF agent's advised timeouts from its meta-data on this node (filled by the shell; not in the
    /// group digest, not encoded).
    public var advisedTimeouts: [ResourceAction: Duration] = [:]

    enum CodingKeys: String, CodingKey { case agent, arguments }

    public init(agent: String, arguments: [String] = []) {
        self.agent = agent
        self.arguments = arguments
    }

    /// Parses Heartbeat's `name::arg1::arg2` notation; a token that matches Heartbeat's glob
    /// `[0-9]*.[0-9]*.[0-9]*.[0-9]*` (an address, maybe with /bits/iface/broadcast) means `IPaddr::TOKEN`.
    public init?(haresources token: String) {
        guard !token.isEmpty else { return nil }
        // Heartbeat's ResourceManager matches the glob [0-9]*.[0-9]*.[0-9]*.[0-9]* here, not a valid address.
        if token.wholeMatch(of: /[0-9].*\.[0-9].*\.[0-9].*\.[0-9].*/) != nil, !token.contains("::") {
            self.init(agent: "IPaddr", arguments: [token])
            return
        }
        let parts = token.split(separator: "::", omittingEmptySubsequences: false).map(String.init)
        guard let name = parts.first, !name.isEmpty, !name.contains("/") else { return nil }
        // Empty arguments (`a::::b`) vanish, as in Heartbeat's shell word splitting.
        self.init(agent: name, arguments: parts.dropFirst().filter { !$0.isEmpty })
    }

    /// Heartbeat's `agent::arg1::arg2`, or for an OCF agent the config's `ocf:PROVIDER:TYPE name=value…`.
    public var description: String { ocf != nil ? ocfDescription : ([agent] + arguments).joined(separator: "::") }
}

/// The three operations every resource agent implements (`AGENT [args...] ACTION`, arguments before the action).
public enum ResourceAction: String, Hashable, Sendable, Codable, CaseIterable {
    case start, stop, status
}

/// How a script reports its status.
public enum StatusConvention: String, Hashable, Sendable, Codable {
    /// LSB exit codes: 0 running, 3 stopped, anything else an error.
    case lsb
    /// Heartbeat-class scripts: the exit code is ignored; stdout decides ("running"/"OK" vs "not running").
    case heartbeat
    /// OCF agents: `monitor` answers 0 running, 7 not running; 5 (not installed here) is not running in a probe.
    case ocf
}

/// What a `status` call says about a resource.
public enum ResourceState: String, Hashable, Sendable, Codable {
    case running, stopped
    /// The script failed or answered something it may not (an LSB code other than 0 or 3).
    case failed
}

/// What one finished (or killed) operation looked like: the facts the runner observed.
public struct OperationOutcome: Hashable, Sendable {
    /// The exit status, or nil if the process was killed by a signal (including the timeout's).
    public var exitCode: Int32?
    public var signal: Int32?
    public var timedOut: Bool
    /// Everything the script printed, stdout and stderr merged in order of arrival (for logs).
    public var stdout: String
    /// stdout alone (nil: not captured apart). Heartbeat's status convention reads only this.
    public var standardOutput: String?
    public var duration: Duration

    public init(
        exitCode: Int32?, signal: Int32? = nil, timedOut: Bool = false, stdout: String = "",
        standardOutput: String? = nil, duration: Duration = .zero
    ) {
        self.standardOutput = standardOutput
        self.exitCode = exitCode
        self.signal = signal
        self.timedOut = timedOut
        self.stdout = stdout
        self.duration = duration
    }

    /// Whether a start or stop succeeded: exit 0 within the timeout.
    public var succeeded: Bool { !timedOut && exitCode == 0 }

    /// Interprets a `status` outcome.
    ///
    /// LSB: 0 running, 3 stopped; 1 and 2 ("dead, but a PID or lock file remains") count as stopped, as the
    /// LSB defines them as not running; anything else, a signal or a timeout is `failed`.
    /// Heartbeat (ResourceManager's we_own_resource): stdout alone (stderr is ignored) containing "not running"
    /// (any case) is stopped;
    /// else "running" or "OK" is running; anything else is stopped. The exit code is ignored, as Heartbeat does.
    public func status(_ convention: StatusConvention) -> ResourceState {
        if timedOut || signal != nil { return .failed }
        switch convention {
        case .lsb:
            switch exitCode {
            case 0: return .running
            case 1, 2, 3: return .stopped
            default: return .failed
            }
        case .heartbeat:
            let out = standardOutput ?? stdout
            let text = out.lowercased()
            if text.contains("not running") { return .stopped }
            if text.contains("running") || out.contains("OK") { return .running }
            return .stopped
        case .ocf:
            // (5, not installed, is "not running" in a probe only: `OperationResult` decides that.)
            switch exitCode.flatMap(OCF.ExitCode.init(rawValue:)) {
            case .success: return .running
            case .notRunning: return .stopped
            default: return .failed
            }
        }
    }
}

/// Where resource agents are looked up, in order: configured directories, the installed `resource-agents/`,
/// Heartbeat's `/etc/ha.d/resource.d`, then `/etc/init.d`.
public struct AgentSearchPath: Hashable, Sendable {
    public var directories: [String]
    /// OCF_ROOT: `ocf:PROVIDER:TYPE` runs `OCF_ROOT/resource.d/PROVIDER/TYPE`.
    public var ocfRoot: String

    public init(configured: [String] = [], installed: String = "/usr/local/lib/vigil/resource-agents", ocfRoot: String = OCF.defaultRoot) {
        directories = configured + [installed, "/etc/ha.d/resource.d", "/etc/init.d"]
        self.ocfRoot = ocfRoot
    }

    /// OCF_ROOT and OCF_FUNCTIONS_DIR for a call of an OCF agent under `ocfRoot`.
    public var ocfEnvironment: [String: String] { ["OCF_ROOT": ocfRoot, "OCF_FUNCTIONS_DIR": ocfRoot + "/lib/heartbeat"] }

    /// The candidate paths for `agent`, in lookup order (the shell picks the first executable regular file).
    public func candidates(for agent: String) -> [String] {
        directories.map { $0.hasSuffix("/") ? $0 + agent : $0 + "/" + agent }
    }
}

/// The environment every agent invocation gets (documented in docs/resource-agents.md).
public func resourceEnvironment(
    group: String, resource: ResourceSpec, action: ResourceAction, node: String,
    cluster: String, extra: [String: String] = [:]
) -> [String: String] {
    var env = [
        "VIGIL_CLUSTER": cluster,
        "VIGIL_NODE": node,
        "VIGIL_GROUP": group,
        "VIGIL_RESOURCE": resource.description,
        "VIGIL_ACTION": action.rawValue,
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "LC_ALL": "C"
    ]
    for (k, v) in extra { env[k] = v }
    return env
}
