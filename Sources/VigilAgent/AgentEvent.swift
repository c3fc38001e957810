import VigilCore

/// What happened on this node, typed: the core's events and the agent's own. Recorded in the event journal
/// (`vigil events`) and, with `--events-file`, appended to a file as one JSON object per line, where it
/// outlives the agent (post-mortems, and the integration tests, which assert on these instead of log text).
public enum AgentEvent: Hashable, Sendable, Codable {
    /// An event of the core (membership, links, quorum, coordinator, groups, storage, fencing, drops).
    case cluster(ClusterEvent)
    /// The agent started (its services are up; the first tick is queued).
    case started(version: String, pid: Int32)
    /// A controlled stop was asked for (a signal or `vigil leave`); the groups are handed over first.
    case stopRequested(StopRequest)
    /// The agent leaves the cluster: after its groups were handed over or the shutdown timeout passed
    /// (`cause`), or at once on a second request (`cause` nil).
    case leaving(request: StopRequest?, cause: LeaveCause?)
    /// `run` ends with this exit code (0 after a leave, 70 after a halt).
    case exited(code: Int32)
    /// `vigil reload` or SIGHUP: what was applied, or why nothing was.
    case reloaded(ReloadOutcome)
    /// transport = "multicast": heartbeats on `link` go to `group`, received on `interface`.
    case multicastJoined(link: Int, group: String, interface: String)
    /// An "auto" peer address, learned from the peer's authenticated packets.
    case addressLearned(node: String, link: Int, address: String)
    /// A resource operation (not a status check) began: the resource as written in the group
    /// (`IPaddr2::10.0.0.5/24/eth0`), the action, and why.
    case operationBegan(group: String, resource: String, action: ResourceAction, reason: OperationReason)
    /// It ended.
    case operationEnded(group: String, resource: String, action: ResourceAction, result: OperationResult)
    /// A `respawn` program ended: exit code (or signal), and whether it is started again (not after code 100).
    case respawnEnded(program: String, code: Int32, signal: Bool, restarted: Bool)
}

/// Who asked for a controlled stop.
public enum StopRequest: String, Hashable, Sendable, Codable {
    case sigterm = "SIGTERM"
    case sigint = "SIGINT"
    /// `vigil leave` on the control socket.
    case leaveCommand = "vigil leave"
}
