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
        #expect(
            Array(a.clusterKey.symmetricKey.withUnsafeBytes { Data($0) })
                == Array(again.clusterKey.symmetricKey.withUnsafeBytes { Data($0) }))
        let other = try HeartbeatAuthkeys.parse("auth 3\n3 md5 Hello!\n", path: "x")
        #expect(
            Array(a.clusterKey.symmetricKey.withUnsafeBytes { Data($0) })
                != Array(other.clusterKey.symmetricKey.withUnsafeBytes { Data($0) }))
        #expect(a.clusterKey.symmetricKey.bitCount == 256)
    }

    @Test func malformedFilesNameTheLine() {
        func line(_ t: String) -> Int? {
            do { _ = try HeartbeatAuthkeys.parse(t, path: "a"); return nil } catch { return error.line }
        }
        #expect(line("auth 1\n") == 1)  // no key line 1
        #expect(line("1 sha1 x\n") == 1)  // no auth line
        #expect(line("auth 1\nauth 2\n1 sha1 x\n") == 2)  // two auth lines
        #expect(line("auth 1\n1 sha256 x\n") == 2)  // unknown method
        #expect(line("auth 1\n1 sha1\n") == 2)  // no secret
        #expect(line("auth 1\n1 crc secret\n") == 2)  // crc has none
        #expect(line("auth 1\n1 sha1 a\n1 sha1 b\n") == 3)  // defined twice
        #expect(line("auth 16\n") == 1)  // MAXAUTH 16
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
        let report = NodeReport(
            digest: 1, standby: false, version: 3, groups: [GroupReport(phase: .running, ackEpoch: 5, failures: 0, handedOver: false)],
            connectivity: 2)
        var m = Message(
            kind: .heartbeat, clusterID: 9, sender: "a", incarnation: 1, sequence: 1, link: 0, destination: "b",
            term: 1, coordinator: "a", senderQuorate: true, view: [], report: report)
        let with = WireCodec.encode(m, key: key)
        #expect(try WireCodec.decode(with, key: key, clusterID: 9).get().report?.connectivity == 2)
        m.report!.connectivity = 0
        let without = WireCodec.encode(m, key: key)
        #expect(without.count == with.count - 1, "no ping nodes: the packet is as before")
        #expect(try WireCodec.decode(without, key: key, clusterID: 9).get() == m)
    }

    /// A real `t=status` packet of Heartbeat 3.0.6 from node n2 (captured by bench/heartbeat-dropin.sh, whose
    /// authkeys is `auth 1` / `1 sha1 heartbeat-dropin-bench-key`).
    static let captured =
        "2323230a31313a283029743d7374617475732c31323a28302973743d6163746976652c393a28302964743d3963342c31333a28302970726f746f636f6c3d312c393a2830297372633d6e322c32373a283129737263757569643dc420c2e2a054490b9acc65ed68e8f6ee2c383a2830297365713d662c31343a28302968673d36623033663838312c31343a28302974733d36623033663838312c33303a2830296c643d312e313620302e363320302e373820332f393320313135342c383a28302974746c3d332c35303a283029617574683d3120623037303561333264366430303536633463306136333966313462646534306330353237636534382c2525250a34323a3120613761306662313461636134623439643434303034313562306162613633636235616561323438662c"

    static func bytes(_ hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var i = hex.startIndex
        while i < hex.endIndex {
            let j = hex.index(i, offsetBy: 2)
            out.append(UInt8(hex[i..<j], radix: 16)!)
            i = j
        }
        return out
    }

    @Test func aRealHeartbeatPacketIsVerifiedWithTheAuthkeysAndNamesItsSender() throws {
        let packet = Self.bytes(Self.captured)
        #expect(WireCodec.isHeartbeatPacket(packet))
        let right = try HeartbeatAuthkeys.parse("auth 1\n1 sha1 heartbeat-dropin-bench-key\n", path: "a")
        #expect(right.verifyHeartbeatPacket(packet) == "n2")
        let wrong = try HeartbeatAuthkeys.parse("auth 1\n1 sha1 another-key\n", path: "a")
        #expect(wrong.verifyHeartbeatPacket(packet) == nil, "signed with another key")
        var tampered = packet
        tampered[60] ^= 1
        #expect(right.verifyHeartbeatPacket(tampered) == nil, "a flipped byte")
        #expect(right.verifyHeartbeatPacket(Array(">>>\nt=status\nsrc=n2\n<<<\n".utf8)) == nil, "unsigned classic framing")
        #expect(right.verifyHeartbeatPacket(Array(packet.prefix(200))) == nil, "truncated")
    }

    /// Issue 12, finding 1: the auth netstring's length was read with Int(...) before the MAC check, so one
    /// unauthenticated packet with a negative or huge length trapped (index out of range, overflow) and killed
    /// every agent in Heartbeat drop-in mode. Now nothing traps and such packets are not authentic.
    @Test func negativeOrHugeNetstringLengthsDoNotTrap() throws {
        let a = try HeartbeatAuthkeys.parse("auth 1\n1 sha1 heartbeat-dropin-bench-key\n", path: "a")
        for text in [
            "###\n%%%\n-999:,", "###\n%%%\n9223372036854775807:,", "###\n%%%\n18446744073709551616:,",
            "###\n%%%\n-1:,", "###\n%%%\n-9223372036854775808:1 ab,", "###\n5:(0)a=b,%%%\n-3:1 ab,"
        ] {
            #expect(a.verifyHeartbeatPacket(Array(text.utf8)) == nil, "\(text)")
        }
    }

    /// The same pattern in the `src=` lookup, which ran after the MAC check: with a crc key (no secret) anyone
    /// could sign a packet whose first field has a negative or huge length.
    @Test func malformedFieldsOfAnAuthenticPacketDoNotTrap() throws {
        let a = try HeartbeatAuthkeys.parse("auth 1\n1 crc\n", path: "a")
        for fields in ["-1:x,", "-20:(0)src=n2,", "9223372036854775807:(0)src=n2,", "5:(0)src=n2,"] {
            let signed = Array("###\n\(fields)%%%\n".utf8)
            let auth = Array("1 \(String(HeartbeatAuthkeys.crc32(signed), radix: 16))".utf8)
            #expect(a.verifyHeartbeatPacket(signed + Array("\(auth.count):".utf8) + auth + [UInt8(ascii: ",")]) == nil, "\(fields)")
        }
        let good = Array("###\n9:(0)src=n2,%%%\n".utf8)
        let auth = Array("1 \(String(HeartbeatAuthkeys.crc32(good), radix: 16))".utf8)
        #expect(a.verifyHeartbeatPacket(good + Array("\(auth.count):".utf8) + auth + [UInt8(ascii: ",")]) == "n2")
    }

    /// Found with the haconf fuzz target: lines were split on Characters, and "\r\n" is one, so a CRLF authkeys
    /// file was one line and refused ("expected \"auth N\"").
    @Test func crlfAuthkeysFilesAreRead() throws {
        let a = try HeartbeatAuthkeys.parse("auth 2\r\n1 crc\r\n2 sha1 HI!\r\n", path: "a")
        #expect(a.id == 2 && a.method == .sha1 && a.secret == "HI!" && a.line == 3)
        #expect(HeartbeatAuthkeys.looksLike("auth\r\n") && HeartbeatAuthkeys.looksLike("# c\r\nauth 1\r\n"))
        #expect(try HeartbeatAuthkeys.parse("#\u{301} comment\nauth 1\n1 crc\n", path: "a").id == 1, "a comment: its first byte is '#'")
    }

    /// Netstring lengths from the wire are never trusted: negative, huge, overflowing or past the end, in the
    /// auth trailer or (in a correctly signed packet) in a field, they read as "not authentic", never crash.
    /// (The agent crashed on `###\n%%%\n-999:,` and on a trailer length of 2^63-1: ChaosTests found it.)
    @Test func malformedNetstringLengthsAreRejectedWithoutCrashing() throws {
        let key = "k"
        let a = try HeartbeatAuthkeys.parse("auth 1\n1 sha1 \(key)\n", path: "a")
        func signed(_ body: String) -> [UInt8] {
            let b = Array(body.utf8)
            let mac = HeartbeatAuthkeys.hex(
                Array(HMAC<Insecure.SHA1>.authenticationCode(for: b, using: SymmetricKey(data: Array(key.utf8)))))
            let auth = "1 " + mac
            return b + Array("\(auth.utf8.count):\(auth),".utf8)
        }
        let valid = signed("###\n11:(0)t=status,9:(0)src=n2,%%%\n")
        #expect(a.verifyHeartbeatPacket(valid) == "n2")
        let body = "###\n11:(0)t=status,9:(0)src=n2,%%%\n"
        for trailer in [
            "-999:,", "9223372036854775807:,", "18446744073709551616:,", "-9223372036854775808:,", "99:1 ab,",
            "0:,", ":,", "1", "41:", "+41:1 " + String(repeating: "0", count: 40) + ","
        ] {
            #expect(a.verifyHeartbeatPacket(Array((body + trailer).utf8)) == nil, "\(trailer)")
        }
        #expect(a.verifyHeartbeatPacket(Array("###\n%%%\n-999:,".utf8)) == nil)
        // Authentic, but the fields' lengths are nonsense: no sender.
        for fields in ["-5:(0)src=n2,", "9223372036854775807:(0)src=n2,", "11:(0)t=status,-9:(0)src=n2,", "99:(0)src=n2,", "9:(0)src=n2"] {
            #expect(a.verifyHeartbeatPacket(signed("###\n\(fields)%%%\n")) == nil, "\(fields)")
        }
        // Every single-byte change of the length digits and separators of a valid packet.
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            var p = valid
            let i = Int.random(in: 4..<p.count, using: &rng)
            p[i] = Array("-0123456789:,%#\n".utf8).randomElement(using: &rng)!
            _ = a.verifyHeartbeatPacket(p)
        }
    }

    @Test func aHashInsideASecretIsPartOfIt() throws {
        let a = try HeartbeatAuthkeys.parse("# comment\nauth 1\n1 sha1 ab#cdef\n  # indented comment\n", path: "a")
        #expect(a.secret == "ab#cdef")
    }
}
