import ArgumentParser
import Foundation
import VigilAgent
import VigilConfig
import VigilCore
import VigilHeartbeat

/// Reads a Heartbeat configuration directory from disk and imports it (`import-heartbeat`, `agent --heartbeat-config`).
enum HeartbeatSupport {
    static func read(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }

    /// Imports DIR's ha.cf, haresources and authkeys as seen from node `me` (nil: not a cluster node).
    static func importDirectory(
        _ directory: String, node me: String?, allowCRC: Bool = false, nativeOCF: Bool = false
    ) throws -> HeartbeatImport {
        // Absolute, so the generated key_file and agent_dirs work from any directory.
        var absolute = URL(fileURLWithPath: directory).standardizedFileURL.path
        if absolute.count > 1, absolute.hasSuffix("/") { absolute.removeLast() }
        let dir = absolute
        guard let haCF = read("\(dir)/ha.cf") else {
            throw CLIError("cannot read \(dir)/ha.cf: is \(dir) a Heartbeat configuration directory?")
        }
        var st = stat()
        let authPath = "\(dir)/authkeys"
        let mode: UInt32? = stat(authPath, &st) == 0 ? UInt32(st.st_mode) : nil
        guard let authkeys = read(authPath) else { throw CLIError("cannot read \(authPath) (Heartbeat needs it too)") }
        let env = HeartbeatImport.Environment(
            me: me,
            interfaceAddresses: { Agent.interfaceIPv4($0) },
            resolve: { resolve($0) },
            scriptExists: { name in
                ["\(dir)/resource.d/\(name)", "/etc/init.d/\(name)"].contains { FileManager.default.isExecutableFile(atPath: $0) }
            })
        do {
            return try HeartbeatImport.run(
                directory: dir, haCF: haCF, haresources: read("\(dir)/haresources"),
                authkeys: authkeys, authkeysMode: mode, allowCRC: allowCRC, nativeOCF: nativeOCF, environment: env)
        } catch {
            throw CLIError("cannot import \(dir):\n\(error)")
        }
    }

    /// What `vigil agent --heartbeat-config DIR` runs: the import, loaded like any cluster.conf, and the import
    /// itself (its text is saved for VIGIL_CONFIG, its mcast lines are watched).
    static func load(directory: String, node: String, allowCRC: Bool, printWarnings: Bool) throws -> (ClusterConfig, HeartbeatImport) {
        let imported = try importDirectory(directory, node: node, allowCRC: allowCRC)
        if printWarnings { for w in imported.warnings { FileHandle.standardError.write(Data("vigil: \(w)\n".utf8)) } }
        do {
            return (
                try ConfigLoader.load(text: imported.text, file: "\(directory) (imported; see `vigil import-heartbeat \(directory)`)"),
                imported
            )
        } catch {
            throw CLIError("\(error)")
        }
    }

    /// Writes an imported cluster.conf to DIR/heartbeat-imported.conf (mode 0644) and returns its path.
    static func saveImported(_ text: String, to dir: String) throws -> String {
        let path = "\(dir)/heartbeat-imported.conf"
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        } catch {
            throw CLIError("cannot write the imported configuration to \(path): \(error)")
        }
        return path
    }

    /// IPv4 addresses a host name resolves to (getaddrinfo: /etc/hosts, DNS).
    static func resolve(_ host: String) -> [String] {
        var hints = addrinfo()
        hints.ai_family = AF_INET
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        var res: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &res) == 0 else { return [] }
        defer { freeaddrinfo(res) }
        var out: [String] = []
        var p = res
        while let ai = p {
            defer { p = ai.pointee.ai_next }
            if let sa = ai.pointee.ai_addr, let text = Agent.ipv4Text(sa) { out.append(text) }
        }
        return out
    }

    /// This node's status report from its agent.
    static func status(_ where_: SocketOption) throws -> StatusReport {
        let reply: String
        do { reply = try ControlClient.request(path: where_.path(), command: "status") } catch { throw CLIError("\(error)") }
        return try JSONDecoder().decode(StatusReport.self, from: Data(reply.utf8))
    }

    /// The resource sets hb_standby and hb_takeover accept.
    static let sets = ["all", "foreign", "local", "failback"]

    /// Refuses anything but a resource set, before the agent is asked (Heartbeat: "wrong resources(X)").
    static func validate(set: String) throws {
        guard sets.contains(set) else { throw ValidationError("wrong resources(\(set)); expected all, foreign, local or failback") }
    }

    /// Heartbeat's resource sets: local (home here), foreign (home elsewhere), all; failback means foreign.
    static func groups(_ set: String, of r: StatusReport) throws -> [GroupStatus] {
        switch set {
        case "all": return r.groups
        case "local": return r.groups.filter { $0.home == r.node }
        case "foreign", "failback": return r.groups.filter { $0.home != r.node }
        default: throw ValidationError("expected all, foreign, local or failback, got \(set)")
        }
    }
}

/// `vigil import-heartbeat [DIR]`: print the cluster.conf equivalent of a Heartbeat configuration.
struct ImportHeartbeat: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import-heartbeat",
        abstract: "Print the cluster.conf equivalent of a Heartbeat directory (ha.cf, haresources, authkeys).",
        discussion:
            "Warnings (directives Vigil does not implement, and what it does instead) go to standard error with their line numbers. `vigil agent --heartbeat-config DIR` runs the same import directly."
    )
    @Argument(help: "The Heartbeat configuration directory.") var directory: String = "/etc/ha.d"
    @Option(help: "Import as this node (default: the hostname, if it is a node line; its own addresses come from its interfaces).")
    var node: String?
    @Option(help: "Write the cluster.conf here instead of standard output.") var output: String?
    @Flag(help: "Accept an authkeys file whose selected method is crc (no secret: anyone on the LAN can forge heartbeats).")
    var allowCRC = false

    func run() throws {
        let me = node ?? localHostname().lowercased()
        let imported = try HeartbeatSupport.importDirectory(directory, node: me, allowCRC: allowCRC, nativeOCF: true)
        for w in imported.warnings { FileHandle.standardError.write(Data("\(w)\n".utf8)) }
        if let o = output {
            do { try imported.text.write(toFile: o, atomically: true, encoding: .utf8) } catch {
                throw CLIError("cannot write \(o): \(error)")
            }
        } else {
            print(imported.text, terminator: "")
        }
        FileHandle.standardError.write(Data("imported \(directory) with \(imported.warnings.count) warning(s)\n".utf8))
    }
}

/// `hb_standby [all|foreign|local|failback]`: hand this node's groups to the other node (Heartbeat's semantics).
struct HBStandby: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hb_standby",
        abstract: "Heartbeat's hb_standby: give this node's groups (all, local = home here, foreign = home elsewhere) to a peer.",
        discussion:
            "Each group moves to its home node if that is another live node, else to the first live peer, and is pinned there (VMs live-migrate) until `hb_takeover` or `vigil unmove GROUP`. Unlike `vigil standby`, the node stays eligible: if the peer fails, the groups come back."
    )
    @OptionGroup var where_: SocketOption
    @Argument(help: "all (default), foreign, local or failback (= foreign).") var set: String = "all"

    func validate() throws { try HeartbeatSupport.validate(set: set) }

    func run() throws {
        let r = try HeartbeatSupport.status(where_)
        let peers = r.nodes.filter { !$0.isSelf && ($0.state == "alive" || $0.state == "suspect") }.map(\.name)
        let chosen = try HeartbeatSupport.groups(set, of: r).filter { $0.owner == r.node }
        guard !chosen.isEmpty else { return }
        guard let first = peers.first else { throw CLIError("hb_standby: no other node is up to take the resources; they stay here") }
        FileHandle.standardError.write(Data("Going standby [\(set)].\n".utf8))
        for g in chosen {
            let target = g.home.flatMap { h in peers.contains(h) ? h : nil } ?? first
            try sendRequest(quiet: true, where_, .move(group: g.name, node: target))
        }
    }
}

/// `hb_takeover [all|foreign|local|failback]`: pull groups to this node (Heartbeat's semantics).
struct HBTakeover: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hb_takeover",
        abstract: "Heartbeat's hb_takeover: pull groups here (all, local = home here, foreign = home elsewhere).",
        discussion: "The groups are pinned here (VMs live-migrate) until `hb_standby` or `vigil unmove GROUP`.")
    @OptionGroup var where_: SocketOption
    @Argument(help: "all (default), foreign, local or failback (= foreign).") var set: String = "all"

    func validate() throws { try HeartbeatSupport.validate(set: set) }

    func run() throws {
        let r = try HeartbeatSupport.status(where_)
        let chosen = try HeartbeatSupport.groups(set, of: r)
        for g in chosen where !(g.owner == r.node && g.state == "running") || g.preferred != nil && g.preferred != r.node {
            try sendRequest(quiet: true, where_, .move(group: g.name, node: r.node))
        }
    }
}

/// `cl_status`: Heartbeat's status queries, answered from `vigil status`.
struct CLStatus: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cl_status",
        abstract: "Heartbeat's cl_status: hbstatus, listnodes, nodestatus, nodetype, listhblinks, hblinkstatus, rscstatus.")
    @OptionGroup var where_: SocketOption
    @Argument(help: "The query.") var query: String
    @Argument(help: "Its arguments (NODE, LINK).") var arguments: [String] = []
    @Flag(name: .customShort("n"), help: "listnodes: normal nodes only.") var normalOnly = false
    @Flag(name: .customShort("p"), help: "listnodes: ping nodes only.") var pingOnly = false

    func run() throws {
        if query == "hbstatus" {
            guard (try? HeartbeatSupport.status(where_)) != nil else {
                print("Heartbeat is stopped on this machine.")
                throw ExitCode(1)
            }
            print("Heartbeat is running on this machine.")
            return
        }
        let r = try HeartbeatSupport.status(where_)
        let pings = r.pingNodes ?? []
        func ping(_ i: Int) -> StatusReport.PingNode? { arguments.count > i ? pings.first { $0.address == arguments[i] } : nil }
        func node(_ i: Int) throws -> StatusReport.Node {
            guard arguments.count > i else {
                FileHandle.standardError.write(Data("Not enough parameters.\n".utf8))
                throw ExitCode(11)
            }
            guard let n = r.node(arguments[i].lowercased()) ?? r.node(arguments[i]) else {
                FileHandle.standardError.write(Data("Error. May be due to incorrect node name\n".utf8))
                throw ExitCode(11)
            }
            return n
        }
        switch query {
        case "listnodes":
            // Ping nodes are listed too, as Heartbeat does (-n: normal nodes only, -p: ping nodes only).
            let both = pingOnly == normalOnly  // neither or both: every node, as Heartbeat
            if both || normalOnly { for n in r.nodes { print(n.name) } }
            if both || pingOnly { for p in pings { print(p.address) } }
        case "nodestatus":
            if let p = ping(0) {
                print(p.reachable ? "ping" : "dead")
                if !p.reachable { throw ExitCode(1) }
                return
            }
            let n = try node(0)
            let s =
                switch n.state {
                case "alive", "suspect": "active"
                case "unknown": "init"
                default: "dead"
                }
            print(s)
            if s != "active" { throw ExitCode(1) }
        case "nodetype":
            if ping(0) != nil { print("ping"); return }
            _ = try node(0)
            print("normal")
        case "listhblinks":
            let n = try node(0)
            for l in n.links { print("\t" + (l.interface ?? l.address)) }
        case "hblinkstatus":
            let n = try node(0)
            guard arguments.count > 1 else { throw ValidationError("hblinkstatus needs NODE LINK") }
            guard let i = n.links.firstIndex(where: { $0.interface == arguments[1] || $0.address == arguments[1] }) ?? Int(arguments[1]),
                n.links.indices.contains(i)
            else {
                FileHandle.standardError.write(Data("Cannot get heartbeat link status\n".utf8))
                throw ExitCode(13)
            }
            let up = n.links[i].state == "up" || n.links[i].state == "local"
            print(up ? "up" : "dead")
            if !up { throw ExitCode(1) }
        case "rscstatus":
            let owned = Set(r.groups.filter { $0.owner == r.node && $0.state == "running" }.map(\.name))
            if r.groups.contains(where: { $0.owner == r.node && ($0.state == "starting" || $0.state == "stopping" || $0.state == "moving") }
            ) {
                print("transition")
            } else if owned.isEmpty {
                print("none")
            } else if owned == Set(r.groups.map(\.name)) {
                print("all")
            } else if owned == Set(try HeartbeatSupport.groups("local", of: r).map(\.name)) {
                print("local")
            } else if owned == Set(try HeartbeatSupport.groups("foreign", of: r).map(\.name)) {
                print("foreign")
            } else {
                print("partial")
            }
        case "clientstatus":
            throw CLIError("clientstatus: Vigil has no Heartbeat API clients (use `vigil status`)")
        default:
            throw ValidationError(
                "unknown query \(query); expected hbstatus, listnodes, nodestatus, nodetype, listhblinks, hblinkstatus, rscstatus")
        }
    }
}
