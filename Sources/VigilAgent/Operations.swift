import Foundation
import Logging
import NIOCore
import VigilConfig
import VigilCore
import VigilResources

/// Runs the core's resource operations (start, stop, status of one resource's script). Each operation blocks
/// one thread of `queue` until its script exits or its timeout kills it; its output lines and its result go
/// to `onOutput` and `onDone` on the driver's loop.
final class Operations: AgentService, @unchecked Sendable {
    let name = "operations"
    let servesTheLeave = false
    let runner: ResourceRunner
    let node: String
    let cluster: String
    /// VIGIL_RUN_DIR, VIGIL_BIN, VIGIL_CONFIG.
    let runDir: String
    let binary: String
    let configFile: String
    let loop: EventLoop
    let logger: Logger
    /// Resource operations run here, off the event loop (each blocks a thread until its script exits).
    private let queue = DispatchQueue(label: "vigil.resource-operations", attributes: .concurrent)
    /// Set by the driver before `start`; called on the driver's loop. A line of a non-status operation's
    /// output, or a migration figures line (other status output is logged only).
    var onOutput: (ResourceOperation, String) -> Void = { _, _ in }
    /// Set by the driver before `start`; called on the driver's loop.
    var onDone: (ResourceOperation, OperationResult) -> Void = { _, _ in }

    init(
        runner: ResourceRunner, node: String, cluster: String, runDir: String, binary: String, configFile: String, loop: EventLoop,
        logger: Logger
    ) {
        self.runner = runner
        self.node = node
        self.cluster = cluster
        self.runDir = runDir
        self.binary = binary
        self.configFile = configFile
        self.loop = loop
        self.logger = logger
    }

    func start() throws {}

    /// Operations still running are not waited for: a leave happens once the core has none it waits for,
    /// and the ledger lets the next run of the agent kill any that outlive it.
    func stop(on loop: EventLoop) -> EventLoopFuture<Void> { loop.makeSucceededVoidFuture() }

    /// Starts one operation. `peerAddress` replaces an "auto" VIGIL_PEER_ADDRESS (where the peer's packets
    /// come from).
    func run(_ op: ResourceOperation, peerAddress: String?) {
        var env = resourceEnvironment(
            group: op.group, resource: op.resource, action: op.action, node: node, cluster: cluster, extra: op.environment)
        if env["VIGIL_PEER_ADDRESS"] == ClusterConfig.autoAddress, let peerAddress { env["VIGIL_PEER_ADDRESS"] = peerAddress }
        for (k, v) in Agent.passedThrough where env[k] == nil { env[k] = v }
        env["VIGIL_RUN_DIR"] = runDir
        env["VIGIL_BIN"] = binary
        env["VIGIL_CONFIG"] = configFile
        if op.resource.ocf != nil {
            env.merge(runner.searchPath.ocfEnvironment) { _, b in b }
            // The agents' own state (Dummy's state file, IPaddr2's and Filesystem's locks): per node, cleared at
            // boot; an HA_RSCTMP in the agent's own environment wins.
            if env["HA_RSCTMP"] == nil {
                env["HA_RSCTMP"] = runDir + "/resource-agents"
                mkdir(runDir + "/resource-agents", 0o755)
            }
        }
        let tag = "\(op.group)/\(op.resource) \(op.action.rawValue)"
        let environment = env
        let runner = self.runner
        let logger = self.logger
        if op.action != .status {
            logger.info(
                "\(tag): running (\(op.reason)\(op.peer.isEmpty ? "" : ", peer \(op.peer) \(op.peerAddress)"), timeout \(op.timeout.compactDescription))"
            )
        }
        queue.async {
            let result: OperationResult
            do {
                let agent = try runner.find(op.resource.agent)
                let outcome = try runner.run(agent, op.resource, op.action, timeout: op.timeout, environment: environment) { line in
                    logger.info("[\(tag)] \(line)")
                    // The vm agent's migration figures come from a start; other status output is only logged.
                    if op.action != .status || line.hasPrefix("VIGIL-MIGRATION ") {
                        self.loop.execute { self.onOutput(op, line) }
                    }
                }
                result = OperationResult(action: op.action, outcome: outcome, convention: agent.convention, probe: op.reason == .probe)
                if op.action != .status || result != .stopped && op.reason != .probe {
                    logger.log(
                        level: result == .succeeded || op.action == .status && result == .stopped ? .info : .warning,
                        "\(tag): \(result) in \(Int(outcome.duration.milliseconds)) ms")
                }
            } catch {
                logger.error("\(tag): \(error)")
                // An OCF agent not installed here: a start cannot succeed here (the node is given up at once), and
                // a probe finds nothing running (as Pacemaker reads OCF_ERR_INSTALLED in a probe).
                result =
                    op.resource.ocf == nil
                    ? .failed("\(error)")
                    : op.action == .start
                        ? .failedHere("\(error)")
                        : op.action == .status && op.reason == .probe ? .stopped : .failed("\(error)")
            }
            self.loop.execute { self.onDone(op, result) }
        }
    }
}
