import Foundation
import VigilCore
import VigilResources
#if canImport(Glibc)
    import Glibc
#endif

/// The `vm` resource agent's logic (`vigil virt start|stop|status DOMAIN`), on the libvirt C API.
///
/// The handover trick: a stop with reason `handover` leaves the domain running, records the pending handover
/// and answers "stopped"; the peer's start then live-migrates it from here. Every migration and cold start
/// is verified (domain running, then the liveness probe) before start reports success.
public struct VMAgent: Sendable {
    /// What one call needs to know (from cluster.conf's [virt], the environment the cluster agent passes, flags).
    public struct Settings: Sendable {
        public var domain: String
        /// Address to ping for liveness (nil: only "libvirt says running").
        public var address: String?
        public var localURI: String
        /// For a handover: the peer's name, its libvirt URI as seen from here, and this node's URI and migration
        /// URI as seen from the peer (peer-to-peer: the source daemon connects to the destination).
        public var peer: String?
        public var peerURI: String?
        public var selfURIFromPeer: String?
        public var migrationURIToSelf: String?
        public var reason: OperationReason?
        public var runDir: String
        public var definitions: String
        public var maxDowntime: Duration = .milliseconds(30)
        public var autoConverge = false
        public var postcopyAfter = 0
        public var migrationTimeout: Duration = .seconds(120)
        public var livenessTimeout: Duration = .seconds(60)
        public var shutdownTimeout: Duration = .seconds(60)
        /// VIGIL_STOP=hard (fenced, or quorum lost with storage fencing): kill the QEMU process at once.
        public var hardStop = false

        public init(domain: String, localURI: String, reason: OperationReason?, runDir: String, definitions: String) {
            self.domain = domain
            self.localURI = localURI
            self.reason = reason
            self.runDir = runDir
            self.definitions = definitions
        }
    }

    /// LSB exit codes.
    public enum Exit: Int32 { case ok = 0, failed = 1, notRunning = 3, unknown = 4 }

    public let s: Settings
    let say: @Sendable (String) -> Void

    public init(_ settings: Settings, say: @escaping @Sendable (String) -> Void) {
        self.s = settings
        self.say = say
    }

    var handoverFile: String { "\(s.runDir)/vm-\(s.domain).handover" }

    /// The PID of this domain's QEMU, from libvirt's PID file, checked against the process's command line.
    func qemuPID() -> pid_t? {
        for dir in ["/run/libvirt/qemu", "/var/run/libvirt/qemu"] {
            guard let text = try? String(contentsOfFile: "\(dir)/\(s.domain).pid", encoding: .utf8),
                let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)),
                let cmd = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline"))
            else { continue }
            let args = String(decoding: cmd, as: UTF8.self).split(separator: "\0")
            if args.contains(where: { $0.contains("guest=\(s.domain),") || $0 == "guest=\(s.domain)" }) { return pid }
        }
        return nil
    }

    func pendingHandover() -> String? {
        (try? String(contentsOfFile: handoverFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    public func status() -> Exit {
        do {
            let c = try LibvirtConnection(uri: s.localURI)
            guard let d = try c.domain(named: s.domain) else { say("\(s.domain): not defined here: stopped"); return .notRunning }
            let st = try d.state()
            if st.isActive, let to = pendingHandover() {
                // The truth, not the handover's answer: the cluster must never think a guest that still runs
                // here is gone (a restarted agent probes with status; a cold start elsewhere would run it twice).
                say("\(s.domain): running (handed over to \(to); still \(st) here until \(to) migrates it)")
                return .ok
            }
            say("\(s.domain): \(st.isActive ? "running" : "stopped") (\(st))")
            return st.isActive ? .ok : .notRunning
        } catch {
            say("\(s.domain): status unknown: \(error)")
            return .unknown
        }
    }

    public func stop() -> Exit {
        do {
            let c = try LibvirtConnection(uri: s.localURI)
            guard let d = try c.domain(named: s.domain), try d.state().isActive else {
                try? FileManager.default.removeItem(atPath: handoverFile)
                say("\(s.domain): stopped (was not running)")
                return .ok
            }
            if s.reason == .handover, let peer = s.peer {
                try FileManager.default.createDirectory(atPath: s.runDir, withIntermediateDirectories: true)
                try (peer + "\n").write(toFile: handoverFile, atomically: true, encoding: .utf8)
                say("\(s.domain): stopped (handover to \(peer): left running here for live migration)")
                return .ok
            }
            try? FileManager.default.removeItem(atPath: handoverFile)
            if s.reason == .fence || s.hardStop {
                // Fenced, or without quorum where storage fences: the guest may be restarted elsewhere within
                // msgwait. No shutdown, and not even libvirt's destroy first (it sends SIGTERM and waits up to
                // 10 s, which a QEMU whose disk is cut off can use up): SIGKILL of the QEMU process, then destroy.
                if let pid = qemuPID() {
                    kill(pid, SIGKILL)
                    say("\(s.domain): QEMU (pid \(pid)) killed")
                }
                try? d.destroy()
                say("\(s.domain): stopped (hard: \(s.reason == .fence ? "this node is fenced" : "quorum lost"))")
                return .ok
            }
            say("\(s.domain): shutting down (up to \(s.shutdownTimeout))")
            try? d.shutdown()
            let deadline = Date().addingTimeInterval(Double(s.shutdownTimeout.nanoseconds) / 1e9)
            while Date() < deadline {
                if try !d.state().isActive { say("\(s.domain): stopped"); return .ok }
                usleep(200_000)
            }
            say("\(s.domain): still running after \(s.shutdownTimeout): destroying it")
            try d.destroy()
            say("\(s.domain): stopped (destroyed)")
            return .ok
        } catch {
            say("\(s.domain): stop failed: \(error)")
            return .failed
        }
    }

    public func start() -> Exit {
        do {
            let c = try LibvirtConnection(uri: s.localURI)
            if let d = try c.domain(named: s.domain), try d.state().isActive {
                if let to = pendingHandover() {
                    try? FileManager.default.removeItem(atPath: handoverFile)
                    say("\(s.domain): handover to \(to) cancelled: it never left this node")
                } else {
                    say("\(s.domain): already running here")
                }
                return verify(d, what: "running guest") ? .ok : .failed
            }
            // Not running here: a marker from an earlier handover away from this node is stale (it would make the
            // next status call the migrated-back guest "handed over").
            try? FileManager.default.removeItem(atPath: handoverFile)
            if s.reason == .handover, let peer = s.peer, let peerURI = s.peerURI {
                if let r = try migrateFrom(peer: peer, peerURI: peerURI, local: c) { return r }
            }
            return try coldStart(c)
        } catch {
            say("\(s.domain): start failed: \(error)")
            return .failed
        }
    }

    /// Live-migrates the domain from `peer` to here; nil when it is not running there (then: cold start).
    func migrateFrom(peer: String, peerURI: String, local: LibvirtConnection) throws -> Exit? {
        let src: LibvirtConnection
        do { src = try LibvirtConnection(uri: peerURI) } catch {
            // The source said "stopped" for a handover: the guest may well still run there. A cold start here
            // could run it twice on the shared disk, so the start fails (the group then waits or moves on).
            say("\(s.domain): cannot reach \(peer)'s libvirt (\(error)); the guest may still run there: NOT cold-starting")
            return .failed
        }
        guard let sd = try src.domain(named: s.domain), try sd.state().isActive else {
            say("\(s.domain): not running on \(peer): cold start instead")
            return nil
        }
        guard let dest = s.selfURIFromPeer, let mig = s.migrationURIToSelf else {
            say("\(s.domain): no URI for this node as seen from \(peer)")
            return .failed
        }
        say(
            "\(s.domain): live migration from \(peer) (max downtime \(s.maxDowntime)\(s.autoConverge ? ", auto-converge" : "")\(s.postcopyAfter > 0 ? ", post-copy after \(s.postcopyAfter) passes" : ""))"
        )
        let o = MigrationOptions(
            destinationURI: dest, migrationURI: mig, maxDowntime: s.maxDowntime, autoConverge: s.autoConverge,
            postcopyAfter: s.postcopyAfter, timeout: s.migrationTimeout)
        let say = self.say
        let wall: Double
        do { wall = try sd.migrate(o) { say("\(self.s.domain): \($0)") } } catch {
            say("\(s.domain): live migration from \(peer) failed: \(error)")
            return .failed
        }
        guard let d = try local.domain(named: s.domain) else {
            say("\(s.domain): migration reported success but the domain is not here")
            return .failed
        }
        let fig = d.completedJobFigures(wallMs: wall, postcopy: s.postcopyAfter > 0)
        // One machine-readable line; the cluster agent keeps the last one for `vigil status`.
        say("VIGIL-MIGRATION domain=\(s.domain) from=\(peer) \(fig.line)")
        return verify(d, what: "migrated guest") ? .ok : .failed
    }

    func coldStart(_ c: LibvirtConnection) throws -> Exit {
        var d = try c.domain(named: s.domain)
        if d == nil {
            let path = "\(s.definitions)/\(s.domain).xml"
            guard let xml = try? String(contentsOfFile: path, encoding: .utf8) else {
                say("\(s.domain): not defined here and no definition at \(path)")
                return .failed
            }
            d = try c.define(xml: xml)
            say("\(s.domain): defined from \(path)")
        }
        try d!.start()
        say("\(s.domain): cold start")
        return verify(d!, what: "cold-started guest") ? .ok : .failed
    }

    /// The guest is really alive: libvirt says running, and (with an address) it answers ping in time.
    func verify(_ d: LibvirtDomain, what: String) -> Bool {
        guard let st = try? d.state(), st == .running else {
            say("\(s.domain): \(what) is not running (\((try? d.state())?.description ?? "unknown")): FAILED")
            return false
        }
        guard let address = s.address else {
            say("\(s.domain): \(what) running (no liveness address configured)")
            return true
        }
        let started = Date()
        let deadline = started.addingTimeInterval(Double(s.livenessTimeout.nanoseconds) / 1e9)
        while Date() < deadline {
            if Ping.once(address, timeoutMs: 300) {
                say("\(s.domain): \(what) alive: \(address) answered after \(Int(Date().timeIntervalSince(started) * 1000)) ms")
                return true
            }
            guard (try? d.state()) == .running else { break }
        }
        say(
            "\(s.domain): \(what) is NOT alive: \(address) did not answer within \(s.livenessTimeout) (libvirt says \((try? d.state())?.description ?? "unknown"))"
        )
        return false
    }
}

/// One ICMP echo through the system's ping (raw sockets need privileges ping already has), run like an agent.
public enum Ping {
    public static func once(_ address: String, timeoutMs: Int) -> Bool {
        let argv = ["/bin/ping", "-n", "-q", "-c", "1", "-W", String(format: "%.1f", Double(timeoutMs) / 1000), address]
        let runner = ResourceRunner(searchPath: AgentSearchPath(configured: []))
        let env = ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"]
        let outcome = try? runner.run(argv: argv, environment: env, timeout: .milliseconds(timeoutMs + 1000))
        return outcome?.succeeded ?? false
    }
}
