import Crypto
import Foundation
import Testing
import VigilCore
@testable import VigilWire

@Suite struct HeartbeatAuthkeysTests {
    @Test func theSelectedKeyIsUsedAndDerivedStably() throws {
        let text = "# comment\nauth 2\n1 crc\n2 sha1 HI!\n3 md5 Hello!\n"
        let a = try HeartbeatAuthkeys.parse(text, path: "authkeys")
        #expect(a.id == 2 && a.method == .sha1 && a.secret == "HI!" && a.line == 4)
        let again = try HeartbeatAuthkeys.parse("auth 2\n2 sha1 HI!\n", path: "x")
        #expect(Array(a.clusterKey.symmetricKey.withUnsafeBytes { Data($0) }) == Array(again.clusterKey.symmetricKey.withUnsafeBytes { Data($0) }))
        let other = try HeartbeatAuthkeys.parse("auth 3\n3 md5 Hello!\n", path: "x")
        #expect(Array(a.clusterKey.symmetricKey.withUnsafeBytes { Data($0) }) != Array(other.clusterKey.symmetricKey.withUnsafeBytes { Data($0) }))
        #expect(a.clusterKey.symmetricKey.bitCount == 256)
    }

    @Test func malformedFilesNameTheLine() {
        func line(_ t: String) -> Int? {
            do { _ = try HeartbeatAuthkeys.parse(t, path: "a"); return nil } catch { return error.line }
        }
        #expect(line("auth 1\n") == 1)                       // no key line 1
        #expect(line("1 sha1 x\n") == 1)                     // no auth line
        #expect(line("auth 1\nauth 2\n1 sha1 x\n") == 2)     // two auth lines
        #expect(line("auth 1\n1 sha256 x\n") == 2)           // unknown method
        #expect(line("auth 1\n1 sha1\n") == 2)               // no secret
        #expect(line("auth 1\n1 crc secret\n") == 2)         // crc has none
        #expect(line("auth 1\n1 sha1 a\n1 sha1 b\n") == 3)   // defined twice
        #expect(line("auth 16\n") == 1)                      // MAXAUTH 16
    }

    @Test func keyFilesAreReadAsAuthkeysWhenTheyLookLikeOne() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-authkeys-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/authkeys"
        try "auth 1\n1 sha1 secret\n".write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o600)
        let k = try ClusterKey.load(path: path, requireRootOwner: false)
        #expect(k.symmetricKey.bitCount == 256)
        // crc: refused unless allowed, and the refusal says why.
        try "auth 1\n1 crc\n".write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o600)
        #expect { _ = try ClusterKey.load(path: path, requireRootOwner: false) } throws: { "\($0)".contains("no secret") }
        _ = try ClusterKey.load(path: path, requireRootOwner: false, allowCRC: true)
        // World-readable: refused as any key file.
        chmod(path, 0o644)
        #expect { _ = try ClusterKey.load(path: path, requireRootOwner: false, allowCRC: true) } throws: { "\($0)".contains("chmod 600") }
    }

    @Test func connectivityTravelsAsATrailingByte() throws {
        let key = SymmetricKey(data: Array(repeating: UInt8(7), count: 32))
        let report = NodeReport(digest: 1, standby: false, version: 3, groups: [GroupReport(phase: .running, ackEpoch: 5, failures: 0, handedOver: false)],
                                connectivity: 2)
        var m = Message(kind: .heartbeat, clusterID: 9, sender: "a", incarnation: 1, sequence: 1, link: 0, destination: "b",
                        term: 1, coordinator: "a", senderQuorate: true, view: [], report: report)
        let with = WireCodec.encode(m, key: key)
        #expect(try WireCodec.decode(with, key: key, clusterID: 9).get().report?.connectivity == 2)
        m.report!.connectivity = 0
        let without = WireCodec.encode(m, key: key)
        #expect(without.count == with.count - 1, "no ping nodes: the packet is as before")
        #expect(try WireCodec.decode(without, key: key, clusterID: 9).get() == m)
    }
}
