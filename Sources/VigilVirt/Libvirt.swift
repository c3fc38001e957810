import CLibvirt
import Foundation
import Synchronization
import VigilCore

/// A libvirt error: the call that failed and libvirt's own code and message.
public struct LibvirtError: Error, CustomStringConvertible, Sendable {
    public let call: String
    public let code: Int32
    public let message: String

    public var description: String { "\(call): \(message) (libvirt error \(code))" }

    /// Reads (and clears) this thread's last libvirt error.
    static func last(_ call: String) -> LibvirtError {
        guard let e = virGetLastError() else { return LibvirtError(call: call, code: -1, message: "unknown error") }
        let err = LibvirtError(call: call, code: e.pointee.code, message: e.pointee.message.map { String(cString: $0) } ?? "no message")
        virResetLastError()
        return err
    }

    /// VIR_ERR_NO_DOMAIN
    public var isNoDomain: Bool { code == 42 }
}

/// One open connection to a libvirt daemon (thread-safe in libvirt; closed on deinit).
public final class LibvirtConnection: @unchecked Sendable {
    let ptr: OpaquePointer
    public let uri: String

    static let initialized: Bool = {
        virInitialize()
        // A handler silences libvirt's own printing to stderr; errors are read with virGetLastError.
        virSetErrorFunc(nil) { _, _ in }
        return true
    }()

    public init(uri: String) throws(LibvirtError) {
        _ = Self.initialized
        guard let p = virConnectOpen(uri) else { throw LibvirtError.last("connect to \(uri)") }
        ptr = p
        self.uri = uri
    }

    deinit { virConnectClose(ptr) }

    /// The domain named `name`, or nil if this libvirt has none of that name.
    public func domain(named name: String) throws(LibvirtError) -> LibvirtDomain? {
        guard let d = virDomainLookupByName(ptr, name) else {
            let e = LibvirtError.last("look up domain \(name)")
            if e.isNoDomain { return nil }
            throw e
        }
        return LibvirtDomain(ptr: d, connection: self)
    }

    /// Defines a persistent domain from XML.
    public func define(xml: String) throws(LibvirtError) -> LibvirtDomain {
        guard let d = virDomainDefineXML(ptr, xml) else { throw LibvirtError.last("define domain") }
        return LibvirtDomain(ptr: d, connection: self)
    }

    public var hostname: String {
        guard let c = virConnectGetHostname(ptr) else { return "?" }
        defer { free(c) }
        return String(cString: c)
    }
}

/// What libvirt says about a domain's run state.
public enum DomainState: Int32, Sendable, CustomStringConvertible {
    case noState = 0, running = 1, blocked = 2, paused = 3, shutdown = 4, shutoff = 5, crashed = 6, pmSuspended = 7

    public var description: String {
        switch self {
        case .noState: "nostate"
        case .running: "running"
        case .blocked: "blocked"
        case .paused: "paused"
        case .shutdown: "shutting down"
        case .shutoff: "shut off"
        case .crashed: "crashed"
        case .pmSuspended: "suspended"
        }
    }

    /// Whether a guest exists in memory (running, paused, blocked, shutting down).
    public var isActive: Bool { self == .running || self == .blocked || self == .paused || self == .shutdown }
}

/// Figures of one finished migration, as libvirt reports them on the destination.
public struct MigrationFigures: Sendable, Codable, Equatable {
    /// Wall time of the whole migrate call, ms.
    public var wallMs: Double
    /// libvirt's job time, ms (nil where not reported).
    public var totalMs: Double?
    /// Downtime (guest paused), ms, from the destination's completed job.
    public var downtimeMs: Double?
    public var dataMiB: Double?
    /// Pre-copy passes (memory iterations).
    public var passes: Int?
    public var postcopy: Bool

    public var line: String {
        func f(_ v: Double?) -> String { v.map { String(format: "%.1f", $0) } ?? "?" }
        return
            "wall_ms=\(f(wallMs)) total_ms=\(f(totalMs)) downtime_ms=\(f(downtimeMs)) data_mib=\(f(dataMiB)) passes=\(passes.map(String.init) ?? "?") postcopy=\(postcopy)"
    }
}

/// A running migration job's progress, as libvirt reports it on either end (the source knows most).
public struct MigrationProgress: Sendable, Equatable {
    /// Pre-copy pass (memory iteration), counted from 1 where reported.
    public var pass: Int?
    public var processedMiB: Double?
    public var remainingMiB: Double?
    public var totalMiB: Double?
    /// libvirt's estimate of the downtime if the guest were switched over now, ms.
    public var expectedDowntimeMs: Double?
    public var elapsedMs: Double?

    public init(
        pass: Int?, processedMiB: Double?, remainingMiB: Double?, totalMiB: Double?, expectedDowntimeMs: Double?, elapsedMs: Double?
    ) {
        self.pass = pass
        self.processedMiB = processedMiB
        self.remainingMiB = remainingMiB
        self.totalMiB = totalMiB
        self.expectedDowntimeMs = expectedDowntimeMs
        self.elapsedMs = elapsedMs
    }

    /// One line for people: `web1: pass 2, 96.0 of 128.0 MiB copied, 12.5 MiB remaining, expected downtime 40 ms`.
    public func line(domain: String) -> String {
        func f(_ v: Double?) -> String { v.map { String(format: "%.1f", $0) } ?? "?" }
        var parts = ["\(domain): migrating"]
        if let pass { parts.append("pass \(pass)") }
        parts.append("\(f(processedMiB)) of \(f(totalMiB)) MiB copied, \(f(remainingMiB)) MiB remaining")
        if let d = expectedDowntimeMs, d > 0 { parts.append("expected downtime \(Int(d)) ms") }
        return parts.joined(separator: ", ")
    }
}

/// Options of one live migration (from cluster.conf's [virt]).
public struct MigrationOptions: Sendable {
    /// libvirt URI of the destination as the *source* daemon reaches it (peer-to-peer).
    public var destinationURI: String
    /// Where the migration data stream goes (tcp://ADDRESS).
    public var migrationURI: String
    public var maxDowntime: Duration
    public var autoConverge: Bool
    /// Switch to post-copy after this many pre-copy passes (0: never).
    public var postcopyAfter: Int
    public var timeout: Duration

    public init(
        destinationURI: String, migrationURI: String, maxDowntime: Duration, autoConverge: Bool,
        postcopyAfter: Int, timeout: Duration
    ) {
        self.destinationURI = destinationURI
        self.migrationURI = migrationURI
        self.maxDowntime = maxDowntime
        self.autoConverge = autoConverge
        self.postcopyAfter = postcopyAfter
        self.timeout = timeout
    }
}

/// One domain on one connection (freed on deinit).
public final class LibvirtDomain: @unchecked Sendable {
    let ptr: OpaquePointer
    public let connection: LibvirtConnection

    init(ptr: OpaquePointer, connection: LibvirtConnection) {
        self.ptr = ptr
        self.connection = connection
    }

    deinit { virDomainFree(ptr) }

    public var name: String { virDomainGetName(ptr).map { String(cString: $0) } ?? "?" }

    public func state() throws(LibvirtError) -> DomainState {
        var st: Int32 = 0
        var reason: Int32 = 0
        guard virDomainGetState(ptr, &st, &reason, 0) == 0 else { throw LibvirtError.last("state of \(name)") }
        return DomainState(rawValue: st) ?? .noState
    }

    public var isPersistent: Bool { virDomainIsPersistent(ptr) == 1 }

    public func start() throws(LibvirtError) {
        guard virDomainCreate(ptr) == 0 else { throw LibvirtError.last("start \(name)") }
    }

    public func shutdown() throws(LibvirtError) {
        guard virDomainShutdown(ptr) == 0 else { throw LibvirtError.last("shut down \(name)") }
    }

    public func destroy() throws(LibvirtError) {
        guard virDomainDestroy(ptr) == 0 else { throw LibvirtError.last("destroy \(name)") }
    }

    public func undefine() throws(LibvirtError) {
        guard virDomainUndefine(ptr) == 0 else { throw LibvirtError.last("undefine \(name)") }
    }

    public func setMaxDowntime(_ d: Duration) throws(LibvirtError) {
        guard virDomainMigrateSetMaxDowntime(ptr, UInt64(max(1, d.nanoseconds / 1_000_000)), 0) == 0 else {
            throw LibvirtError.last("set max downtime of \(name)")
        }
    }

    /// Live-migrates this (source) domain peer-to-peer to `options.destinationURI`: persistent on the
    /// destination, undefined on the source. Max downtime is set first (each QEMU starts at 300 ms). A watcher
    /// aborts the job at the timeout and switches to post-copy after `postcopyAfter` passes.
    public func migrate(_ o: MigrationOptions, log: @escaping @Sendable (String) -> Void = { _ in }) throws(LibvirtError) -> Double {
        try setMaxDowntime(o.maxDowntime)
        var flags = UInt32(
            VIR_MIGRATE_LIVE.rawValue | VIR_MIGRATE_PEER2PEER.rawValue | VIR_MIGRATE_PERSIST_DEST.rawValue
                | VIR_MIGRATE_UNDEFINE_SOURCE.rawValue)
        if o.autoConverge { flags |= UInt32(VIR_MIGRATE_AUTO_CONVERGE.rawValue) }
        if o.postcopyAfter > 0 { flags |= UInt32(VIR_MIGRATE_POSTCOPY.rawValue) }
        var params: virTypedParameterPtr? = nil
        var count: Int32 = 0
        var capacity: Int32 = 0
        virTypedParamsAddString(&params, &count, &capacity, "migrate_uri", o.migrationURI)
        defer { virTypedParamsFree(params, count) }

        let done = Atomic<Bool>(false)
        let started = DispatchTime.now()
        let watcher = Thread { [self] in
            let ptr = self.ptr
            var switched = false
            while !done.load(ordering: .relaxed) {
                usleep(50_000)
                let elapsed = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
                if elapsed > Double(o.timeout.nanoseconds) / 1e9 {
                    log("migration timed out after \(o.timeout.compactDescription): aborting the job")
                    virDomainAbortJob(ptr)
                    return
                }
                if o.postcopyAfter > 0, !switched {
                    var t: Int32 = 0
                    var p: virTypedParameterPtr? = nil
                    var n: Int32 = 0
                    if virDomainGetJobStats(ptr, &t, &p, &n, 0) == 0 {
                        var iterations: UInt64 = 0
                        if virTypedParamsGetULLong(p, n, "memory_iteration", &iterations) == 1, iterations >= UInt64(o.postcopyAfter) {
                            log("pre-copy did not converge in \(iterations) passes: switching to post-copy")
                            if virDomainMigrateStartPostCopy(ptr, 0) == 0 { switched = true }
                        }
                        virTypedParamsFree(p, n)
                    }
                }
            }
        }
        watcher.start()
        let rc = virDomainMigrateToURI3(ptr, o.destinationURI, params, UInt32(count), flags)
        done.store(true, ordering: .relaxed)
        let wall = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e6
        guard rc == 0 else { throw LibvirtError.last("migrate \(name) to \(o.destinationURI)") }
        return wall
    }

    /// The domain's running migration job (nil: none, or one that has not started copying).
    public func migrationProgress() -> MigrationProgress? {
        var t: Int32 = 0
        var p: virTypedParameterPtr? = nil
        var n: Int32 = 0
        guard virDomainGetJobStats(ptr, &t, &p, &n, 0) == 0 else {
            virResetLastError()
            return nil
        }
        defer { virTypedParamsFree(p, n) }
        guard t != Int32(VIR_DOMAIN_JOB_NONE.rawValue) else { return nil }
        func get(_ key: String) -> UInt64? {
            var v: UInt64 = 0
            return virTypedParamsGetULLong(p, n, key, &v) == 1 ? v : nil
        }
        guard let total = get("data_total"), total > 0 else { return nil }
        return MigrationProgress(
            pass: get("memory_iteration").map { Int($0) }, processedMiB: get("data_processed").map { Double($0) / 1_048_576 },
            remainingMiB: get("data_remaining").map { Double($0) / 1_048_576 }, totalMiB: Double(total) / 1_048_576,
            // (Not `.map(Double.init)`: on a UInt64 that picks init(bitPattern:), a denormal instead of the value.)
            expectedDowntimeMs: get("downtime").map { Double($0) }, elapsedMs: get("time_elapsed").map { Double($0) })
    }

    /// The completed migration job's figures (on the destination), where the driver reports them.
    public func completedJobFigures(wallMs: Double, postcopy: Bool) -> MigrationFigures {
        var t: Int32 = 0
        var p: virTypedParameterPtr? = nil
        var n: Int32 = 0
        var fig = MigrationFigures(wallMs: wallMs, postcopy: postcopy)
        guard virDomainGetJobStats(ptr, &t, &p, &n, UInt32(VIR_DOMAIN_JOB_STATS_COMPLETED.rawValue)) == 0 else {
            virResetLastError()
            return fig
        }
        defer { virTypedParamsFree(p, n) }
        var v: UInt64 = 0
        if virTypedParamsGetULLong(p, n, "time_elapsed", &v) == 1 { fig.totalMs = Double(v) }
        if virTypedParamsGetULLong(p, n, "downtime", &v) == 1 { fig.downtimeMs = Double(v) }
        if virTypedParamsGetULLong(p, n, "data_total", &v) == 1 { fig.dataMiB = Double(v) / 1_048_576 }
        if virTypedParamsGetULLong(p, n, "memory_iteration", &v) == 1 { fig.passes = Int(v) }
        return fig
    }
}
