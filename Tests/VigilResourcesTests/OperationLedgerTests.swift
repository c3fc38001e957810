import Foundation
import Testing
import VigilCore
@testable import VigilResources

/// The ledger of operations in flight: a restarted agent kills what its killed predecessor left running, by
/// process group, and never a process that merely reuses a recorded PID.
@Suite struct OperationLedgerTests {
    func tempDir() -> String {
        let d = NSTemporaryDirectory() + "vigil-ledger-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        mkdir(d, 0o700)
        return d
    }

    @Test func aRestartKillsTheOperationAndItsChildrenLeftRunning() throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ledger = OperationLedger(directory: dir + "/ops")
        // An operation (a shell that started a child in its group) is in flight when the agent dies.
        guard case let .success(pid) = ResourceRunner.spawn(argv: ["/bin/sh", "-c", "sleep 30 & sleep 30"], environment: nil) else {
            Issue.record("spawn failed"); return
        }
        defer { kill(-pid, SIGKILL); var s: Int32 = 0; waitpid(pid, &s, 0) }
        usleep(100_000)  // the shell has forked its background child
        ledger.record(pid: pid, description: "web start")
        #expect(OperationLedger.startTime(of: pid) != nil)
        // The next run reaps it (the test process is its parent, so it is a zombie once killed: gone for /proc).
        let reaped = OperationLedger(directory: dir + "/ops").reapOrphans(wait: .seconds(5))
        #expect(reaped == [OperationLedger.Orphan(pid: pid, description: "web start")])
        #expect(kill(-pid, 0) != 0 || OperationLedger.startTime(of: pid) == nil, "its group still runs")
        #expect((try? FileManager.default.contentsOfDirectory(atPath: dir + "/ops"))?.isEmpty ?? true)
    }

    @Test func aReusedPidIsNotKilledAndAFinishedOperationIsForgotten() throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ledger = OperationLedger(directory: dir)
        guard case let .success(pid) = ResourceRunner.spawn(argv: ["/bin/sleep", "30"], environment: nil) else {
            Issue.record("spawn failed"); return
        }
        defer { kill(-pid, SIGKILL); var s: Int32 = 0; waitpid(pid, &s, 0) }
        // Recorded with another start time: the PID now belongs to another process.
        try "1 old op\n".write(toFile: "\(dir)/\(pid)", atomically: true, encoding: .utf8)
        #expect(ledger.reapOrphans(wait: .milliseconds(200)).isEmpty)
        #expect(OperationLedger.startTime(of: pid) != nil, "a process that only reuses the PID was killed")
        // An operation that ended leaves nothing behind.
        ledger.record(pid: pid, description: "x")
        ledger.finished(pid: pid)
        #expect(ledger.reapOrphans(wait: .milliseconds(200)).isEmpty)
        #expect(OperationLedger.startTime(of: pid) != nil)
    }

    @Test func theRunnerRecordsAnOperationOnlyWhileItRuns() throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let runner = ResourceRunner(searchPath: AgentSearchPath(), ledger: OperationLedger(directory: dir))
        // The runner records the operation just after spawning it, so the script may run before the record is
        // written: it looks for up to 5 s (a record that never comes leaves its output empty).
        let script = "for i in $(seq 500); do [ -n \"$(ls \(dir))\" ] && break; sleep 0.01; done; ls \(dir)"
        let out = try runner.run(argv: ["/bin/sh", "-c", script], environment: [:], timeout: .seconds(10))
        #expect(out.exitCode == 0)
        #expect(!out.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "not recorded while it ran")
        #expect((try? FileManager.default.contentsOfDirectory(atPath: dir))?.isEmpty == true, "still recorded after it ended")
    }
}
