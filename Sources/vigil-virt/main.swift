import ArgumentParser
import Foundation
import VigilConfig
import VigilCore
import VigilVirt

/// `vigil-virt start|stop|status DOMAIN` (also reached as `vigil virt ...`): the engine of `resource-agents/vm`,
/// on the libvirt C API. A program of its own so that the agent never maps libvirt and its ~70 libraries
/// (which `mlockall` would pin in memory).
struct VirtCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vigil-virt",
        abstract: "Start, stop or check a libvirt domain as a cluster resource (what resource-agents/vm calls).",
        discussion: """
            Reads [virt] and [[node]] libvirt_uri from cluster.conf, and from the environment the cluster agent sets:
            VIGIL_REASON (handover: stop leaves the domain running; start live-migrates it from VIGIL_PEER),
            VIGIL_PEER, VIGIL_NODE, VIGIL_RUN_DIR. Exit codes are LSB: 0 ok/running, 1 failed, 3 stopped, 4 unknown.
            """)

    @Argument(help: "start, stop, status, or progress (a running migration job's progress, one line; exit 3 without one).")
    var action: String
    @Argument(help: "The libvirt domain name.") var domain: String
    @Option(help: "Guest address that must answer ping after a start or migration (liveness).") var address: String?
    @Option(help: "Cluster configuration file (default: $VIGIL_CONFIG, else /etc/vigil/cluster.conf).") var config: String?
    @Option(help: "This node's libvirt URI (default: from the config).") var uri: String?
    @Option(help: "This node's name (default: $VIGIL_NODE).") var node: String?

    func run() throws {
        let env = ProcessInfo.processInfo.environment
        let path = config ?? env["VIGIL_CONFIG"] ?? ClusterConfig.defaultPath
        var cfg: ClusterConfig?
        if let text = try? String(contentsOfFile: path, encoding: .utf8) {
            do { cfg = try ConfigLoader.load(text: text, file: path) } catch {
                FileHandle.standardError.write(Data("Error: \(error)\n".utf8))
                throw ExitCode(VMAgent.Exit.unknown.rawValue)
            }
        }
        let me = node ?? env["VIGIL_NODE"] ?? ""
        let virt = cfg?.virt ?? VirtSettings()
        var s = VMAgent.Settings(
            domain: domain, localURI: uri ?? cfg?.libvirtURI(of: me, from: me) ?? virt.uri,
            reason: env["VIGIL_REASON"].flatMap(OperationReason.init(rawValue:)), runDir: env["VIGIL_RUN_DIR"] ?? "/run/vigil",
            definitions: virt.definitions)
        s.address = address
        if virt.liveness == "running" { s.address = nil }
        s.maxDowntime = virt.maxDowntime
        s.autoConverge = virt.autoConverge
        s.postcopyAfter = virt.postcopyAfter
        s.migrationTimeout = virt.migrationTimeout
        s.livenessTimeout = virt.livenessTimeout
        s.shutdownTimeout = virt.shutdownTimeout
        s.hardStop = env["VIGIL_STOP"] == "hard"
        if let peer = env["VIGIL_PEER"], !peer.isEmpty {
            s.peer = peer
            if let c = cfg {
                s.peerURI = c.libvirtURI(of: peer, from: me)
                s.selfURIFromPeer = c.libvirtURI(of: me, from: peer)
                s.migrationURIToSelf = c.migrationURI(to: me)
            }
        }
        if action == "progress" {
            // `vigil move --wait` and friends poll this while a group moves: one line, or exit 3 without a job.
            guard let c = try? LibvirtConnection(uri: s.localURI), let d = try? c.domain(named: domain), let p = d.migrationProgress()
            else { throw ExitCode(VMAgent.Exit.notRunning.rawValue) }
            print(p.line(domain: domain))
            return
        }
        let agent = VMAgent(s) { line in
            let bytes = Array((line + "\n").utf8)
            _ = bytes.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
        }
        let code: VMAgent.Exit
        switch action {
        case "start": code = agent.start()
        case "stop": code = agent.stop()
        case "status", "monitor": code = agent.status()
        default: throw ValidationError("action must be start, stop or status")
        }
        throw ExitCode(code.rawValue)
    }
}

VirtCommand.main()
