import Crypto
import Foundation
import Testing
import VigilCore
@testable import VigilWire

@Suite struct WireCodecTests {
    let key = SymmetricKey(data: Array(repeating: UInt8(7), count: 32))
    let cluster = fnv1a32("prod")

    func sample(view: Int = 3) -> Message {
        Message(
            kind: .voteRequest, clusterID: cluster, sender: "node1", incarnation: 1_700_000_000_123_456,
            sequence: 42, link: 1, destination: "node2", term: 9, coordinator: "node3", candidate: "node1",
            senderQuorate: true,
            view: (0..<view).map { ViewEntry(node: "node\($0)", state: MemberState.allCases[$0 % 5]) })
    }

    @Test func roundTrip() throws {
        let m = sample()
        let bytes = WireCodec.encode(m, key: key)
        #expect(try WireCodec.decode(bytes, key: key, clusterID: cluster).get() == m)
        // header 36, four 5-letter names 4 x 6, view count 1, three view entries 3 x (6 + 1 + 4 echo), no report
        // (1), no assignments (1), empty request (1), MAC 32
        #expect(bytes.count == 36 + 24 + 1 + 33 + 3 + 32)
    }

    /// A request carries its origin's number; a reply carries it back with the answer, every answer exactly.
    @Test func requestsAndTheirAnswers() throws {
        var m = sample()
        m.kind = .request
        m.request = .cleanup(group: "db", node: "node2")
        m.requestNumber = 42
        #expect(try WireCodec.decode(WireCodec.encode(m, key: key), key: key, clusterID: cluster).get() == m)
        let answers: [RequestAnswer] = [
            .accepted(by: "node1", note: nil), .accepted(by: "node1", note: .targetNotUsable(node: "node3", state: "dead")),
            .refused(by: "node1", .noSuchGroup("dbx")), .refused(by: "node1", .noSuchNode("node9")),
            .refused(by: "node1", .noCoordinator), .refused(by: "node1", .notCoordinator(coordinator: "node3")),
            .refused(by: "node1", .unreachable(node: "node3", state: "dead")),
            .refused(by: "node1", .notDown(node: "node3", state: "alive")), .refused(by: "node1", .slotStillWritten(node: "node3"))
        ]
        m.kind = .requestReply
        for a in answers {
            m.answer = a
            #expect(try WireCodec.decode(WireCodec.encode(m, key: key), key: key, clusterID: cluster).get() == m)
        }
        // An unknown answer code, or an argument the answer does not have, is malformed.
        m.answer = .refused(by: "node1", .noCoordinator)
        var body = WireFormat.encodeBody(m)
        let code = body.count - 9  // then "node1" (1 + 5 bytes) and two empty strings (1 byte each)
        #expect(body[code] == 18)
        #expect(WireFormat.parse(body, end: body.count) == m)
        body[code] = 99
        #expect(WireFormat.parse(body, end: body.count) == nil)
        body[code] = 18
        body[body.count - 1] = 1
        body.append(0x41)
        #expect(WireFormat.parse(body, end: body.count) == nil)
        // A request without its number is malformed.
        m.kind = .request
        let short = Array(WireFormat.encodeBody(m).dropLast(8))
        #expect(WireFormat.parse(short, end: short.count) == nil)
    }

    @Test func everyDropReason() {
        let good = WireCodec.encode(sample(), key: key)
        func reason(_ b: [UInt8], key k: SymmetricKey? = nil, cluster c: UInt32? = nil) -> DropReason? {
            if case let .failure(r) = WireCodec.decode(b, key: k ?? key, clusterID: c ?? cluster) { r } else { nil }
        }
        #expect(reason(Array(good.prefix(20))) == .truncated)
        #expect(reason(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n and more padding to pass the minimum length".utf8)) == .badMagic)
        var v = good; v[4] = 1  // version 1 (before groups) is no longer spoken
        #expect(reason(v) == .unknownVersion)
        #expect(reason(good, cluster: fnv1a32("other")) == .wrongCluster)
        #expect(reason(good + Array(repeating: 0, count: 1500)) == .oversize)
        #expect(reason(good, key: SymmetricKey(size: .bits256)) == .badSignature)
        var flipped = good; flipped[30] ^= 1
        #expect(reason(flipped) == .badSignature)
        // Correctly signed but malformed body: an unknown kind.
        var body = Array(good.dropLast(32)); body[5] = 99
        #expect(reason(body + Array(HMAC<SHA256>.authenticationCode(for: body, using: key))) == .malformed)
        // Linux-HA Heartbeat's ha_msg, classic and netstring framing, however short.
        #expect(reason(Array(">>>\nt=status\nst=active\nsrc=alpha\n<<<\n".utf8)) == .heartbeatPacket)
        #expect(reason(Array("###\n5:t=status,%%%\n".utf8)) == .heartbeatPacket)
    }

    /// Found by the wire fuzz target (its re-encoding invariant): a trailing connectivity byte of 0, which no
    /// sender writes (it then sends no byte), was accepted, so two byte strings decoded to one message. Now the
    /// packet is malformed.
    @Test func aZeroConnectivityByteIsMalformed() throws {
        let report = NodeReport(digest: 1, standby: false, version: 3, groups: [])
        let m = Message(
            kind: .heartbeat, clusterID: cluster, sender: "a", incarnation: 1, sequence: 1, link: 0, destination: "b",
            term: 1, coordinator: "a", senderQuorate: true, view: [], report: report)
        let body = WireFormat.encodeBody(m)
        #expect(WireFormat.parse(body, end: body.count) == m)
        #expect(WireFormat.parse(body + [0], end: body.count + 1) == nil)
        let signed = body + [0] + Array(HMAC<SHA256>.authenticationCode(for: body + [0], using: key))
        guard case .failure(.malformed) = WireCodec.decode(signed, key: key, clusterID: cluster) else {
            Issue.record("a zero connectivity byte decoded")
            return
        }
    }

    /// Seeded random-input fuzzing of the decoder: random bytes, and single and multiple mutations of valid
    /// packets. Never a crash; nothing but the untouched packet authenticates. VIGIL_FUZZ_ITERATIONS runs longer.
    @Test func fuzzDecoder() {
        let iterations = Int(ProcessInfo.processInfo.environment["VIGIL_FUZZ_ITERATIONS"] ?? "") ?? 20_000
        var rng = SeededRNG(seed: 0xF022)
        let good = WireCodec.encode(sample(view: 16), key: key)
        var counts: [DropReason: Int] = [:]
        for i in 0..<iterations {
            var b: [UInt8]
            switch i % 3 {
            case 0:
                b = (0..<Int.random(in: 0...200, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                if Bool.random(using: &rng) { b = WireCodec.magic + [1] + b }
            case 1:
                b = good
                for _ in 0..<Int.random(in: 1...8, using: &rng) {
                    b[Int.random(in: 0..<b.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                }
                if b == good { continue }
            default:
                b = Array(good.prefix(Int.random(in: 0..<good.count, using: &rng)))
            }
            switch WireCodec.decode(b, key: key, clusterID: cluster) {
            case .success: Issue.record("iteration \(i): a forged packet authenticated: \(b)")
            case let .failure(r): counts[r, default: 0] += 1
            }
        }
        // The fuzzer reached the deep checks, not just the length check.
        #expect(counts[.badSignature, default: 0] > iterations / 10)
        #expect(counts[.badMagic, default: 0] > 0 && counts[.truncated, default: 0] > 0)
    }

    /// The body parser behind the MAC (what libFuzzer drives in bench/fuzz.sh): any input, no crash.
    @Test func fuzzBodyParser() {
        var rng = SeededRNG(seed: 77)
        let good = Array(WireCodec.encode(sample(view: 16), key: key).dropLast(32))
        var parsed = 0
        for _ in 0..<20_000 {
            var b = good
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                b[Int.random(in: 0..<b.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            if Bool.random(using: &rng) { b = Array(b.prefix(Int.random(in: 0...b.count, using: &rng))) }
            if WireFormat.parse(b, end: b.count) != nil { parsed += 1 }
        }
        #expect(parsed > 0)  // some mutations (e.g. in sequence numbers) still parse
    }

    @Test func keyFileRules() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-key-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/authkey"
        try ClusterKey.generate(path: path, force: false)
        var st = stat()
        stat(path, &st)
        #expect(st.st_mode & 0o777 == 0o600)
        _ = try ClusterKey.load(path: path, requireRootOwner: false)
        #expect(throws: ClusterKey.LoadError.self) { try ClusterKey.generate(path: path, force: false) }
        chmod(path, 0o644)
        let error = #expect(throws: ClusterKey.LoadError.self) { try ClusterKey.load(path: path, requireRootOwner: false) }
        #expect(error?.description.contains("chmod 600") == true)
        #expect(throws: ClusterKey.LoadError.self) { try ClusterKey.parse("abc\n", path: "k") }
        #expect(throws: ClusterKey.LoadError.self) { try ClusterKey.parse("zz" + String(repeating: "00", count: 16), path: "k") }
        #expect(try ClusterKey.parse("# c\n" + String(repeating: "ab", count: 32) + "\n", path: "k").symmetricKey.bitCount == 256)
    }
}

/// xorshift64*: deterministic randomness for the fuzz tests.
struct SeededRNG: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed | 1 }
    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 2_685_821_657_736_338_717
    }
}
