import Foundation
import Testing
import VigilVirt

/// Lifecycle, state and the migration error path against libvirt's in-process `test:///default` driver
/// (real libvirt library, no daemon). Live migration itself needs two real daemons: see the virt testbed test.
@Suite struct LibvirtTestDriverTests {
    @Test func lifecycleOfTheTestDomain() throws {
        let c = try LibvirtConnection(uri: "test:///default")
        let d = try #require(try c.domain(named: "test"))
        #expect(try d.state() == .running)
        try d.destroy()
        #expect(try d.state() == .shutoff)
        try d.start()
        #expect(try d.state() == .running)
        #expect(d.isPersistent)
    }

    @Test func migrationProgressLines() throws {
        let early = MigrationProgress(
            pass: 1, processedMiB: 32, remainingMiB: 96, totalMiB: 128, expectedDowntimeMs: 0, elapsedMs: 300)
        #expect(early.line(domain: "g") == "g: migrating, pass 1, 32.0 of 128.0 MiB copied, 96.0 MiB remaining")
        var late = early
        late.expectedDowntimeMs = 42
        #expect(late.line(domain: "g").hasSuffix(", expected downtime 42 ms"))
        // The test driver runs no migration job.
        let c = try LibvirtConnection(uri: "test:///default")
        #expect(try #require(try c.domain(named: "test")).migrationProgress() == nil)
    }

    @Test func unknownDomainIsNilNotAnError() throws {
        let c = try LibvirtConnection(uri: "test:///default")
        #expect(try c.domain(named: "no-such-domain") == nil)
    }

    @Test func unreachableDaemonIsAClearError() {
        do {
            _ = try LibvirtConnection(uri: "qemu+unix:///system?socket=/nonexistent/libvirt-sock")
            Issue.record("connected to a socket that does not exist")
        } catch {
            #expect(error.description.contains("connect to"))
        }
    }

    @Test func defineFromXMLThenStart() throws {
        let c = try LibvirtConnection(uri: "test:///default")
        let xml = "<domain type='test'><name>vt-defined</name><memory>65536</memory><os><type>hvm</type></os></domain>"
        let d = try c.define(xml: xml)
        #expect(try d.state() == .shutoff)
        try d.start()
        #expect(try d.state() == .running)
        try d.destroy()
        try d.undefine()
        #expect(try c.domain(named: "vt-defined") == nil)
    }

    /// The test driver refuses every migration: the error must come back as a LibvirtError, bounded in time
    /// (the watcher aborts a hung job at the timeout).
    @Test func migrationRefusedByTheTestDriverIsAnError() throws {
        let c = try LibvirtConnection(uri: "test:///default")
        let d = try #require(try c.domain(named: "test"))
        let o = MigrationOptions(
            destinationURI: "test:///default", migrationURI: "tcp://127.0.0.1", maxDowntime: .milliseconds(30),
            autoConverge: false, postcopyAfter: 0, timeout: .seconds(5))
        #expect(throws: LibvirtError.self) { _ = try d.migrate(o) }
        #expect(try d.state() == .running)  // still where it was
    }

    /// Issue 12, finding 6: after a handover stop the guest still runs here until the target migrates it, and
    /// `status` must say so (a restarted agent probes with it; "stopped" let the cluster cold-start it elsewhere).
    @Test func statusOfAHandedOverGuestThatStillRunsIsRunning() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-vm-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var set = VMAgent.Settings(domain: "test", localURI: "test:///default", reason: .handover, runDir: dir, definitions: dir)
        set.peer = "b"
        #expect(VMAgent(set, say: { _ in }).stop() == .ok)
        #expect(FileManager.default.fileExists(atPath: dir + "/vm-test.handover"))
        set.reason = .probe
        #expect(VMAgent(set, say: { _ in }).status() == .ok)
    }
}
