import Crypto
import Foundation
import Testing
import VigilCore
@testable import VigilWire

/// Seeded random and mutated-valid inputs for every VigilWire parser that reads the network or a key file, with
/// the properties bench/fuzz.sh's libFuzzer harnesses check (wire, heartbeat): no trap, layouts that round-trip,
/// only the right MAC authenticates. The same seed every run; VIGIL_FUZZ_ITERATIONS=N runs N / 20,000 times as many.
@Suite struct RandomInputTests {
    static let scale = Double(ProcessInfo.processInfo.environment["VIGIL_FUZZ_ITERATIONS"] ?? "").map { $0 / 20_000 } ?? 1
    static func iterations(_ n: Int) -> Int { max(1, Int(Double(n) * scale)) }

    let key = SymmetricKey(data: Array(repeating: UInt8(7), count: 32))
    let cluster = fnv1a32("prod")

    /// 1 to 4 random edits: overwrite, delete or insert a byte (from `alphabet` half the time), cut the end,
    /// or repeat a stretch.
    static func mutate(_ input: [UInt8], _ rng: inout SeededRNG, alphabet: [UInt8] = []) -> [UInt8] {
        var b = input
        func byte() -> UInt8 {
            !alphabet.isEmpty && Bool.random(using: &rng) ? alphabet.randomElement(using: &rng)! : UInt8.random(in: 0...255, using: &rng)
        }
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            switch Int.random(in: 0...4, using: &rng) {
            case 0 where !b.isEmpty: b[Int.random(in: 0..<b.count, using: &rng)] = byte()
            case 1 where !b.isEmpty: b.remove(at: Int.random(in: 0..<b.count, using: &rng))
            case 2: b.insert(byte(), at: Int.random(in: 0...b.count, using: &rng))
            case 3 where !b.isEmpty: b.removeLast(Int.random(in: 1...min(8, b.count), using: &rng))
            default:
                guard !b.isEmpty else { continue }
                let start = Int.random(in: 0..<b.count, using: &rng)
                let piece = b[start..<min(b.count, start + Int.random(in: 1...16, using: &rng))]
                b.insert(contentsOf: piece, at: Int.random(in: 0...b.count, using: &rng))
            }
        }
        return b
    }

    static func random(_ rng: inout SeededRNG, upTo n: Int) -> [UInt8] {
        (0..<Int.random(in: 0...n, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
    }

    /// Messages of every shape the body has: a view, a report with groups and connectivity, assignments, a request.
    var messages: [Message] {
        let report = NodeReport(
            digest: 0xDEAD_BEEF, standby: true, version: 9,
            groups: [
                GroupReport(phase: .running, ackEpoch: 1 << 32 | 3, failures: 2, handedOver: true),
                GroupReport(phase: .stopped, ackEpoch: 0, failures: 0, handedOver: false)
            ],
            connectivity: 3)
        let assignments = [
            Assignment(owner: "n1", epoch: 1 << 32 | 4, go: true, source: "n2", preferred: "", stay: false),
            Assignment(owner: "", epoch: 7, go: false, source: "", preferred: "n3", stay: true, disabled: true)
        ]
        return [
            Message(
                kind: .heartbeat, clusterID: cluster, sender: "n1", incarnation: 1_700_000_000_000_001, sequence: 42, link: 1,
                destination: "", term: 3, coordinator: "n1", senderQuorate: true,
                view: [ViewEntry(node: "n1", state: .alive, echo: 0xDEAD_BEEF), ViewEntry(node: "nœud", state: .suspect)],
                report: report, assignments: assignments, request: .standby(node: "n1")),
            Message(
                kind: .voteRequest, clusterID: cluster, sender: "n2", incarnation: 5, sequence: 1, link: 0, destination: "n3",
                term: 4, coordinator: "", candidate: "n2", senderQuorate: false, view: []),
            Message(
                kind: .request, clusterID: cluster, sender: "n2", incarnation: 5, sequence: 2, link: 0, destination: "n1",
                term: 4, coordinator: "n1", senderQuorate: true, view: [], request: .move(group: "web", node: "n3"),
                requestNumber: 0x0102_0304_0506),
            Message(
                kind: .requestReply, clusterID: cluster, sender: "n1", incarnation: 6, sequence: 3, link: 1, destination: "n2",
                term: 4, coordinator: "n1", senderQuorate: true, view: [], request: .move(group: "web", node: "n3"),
                requestNumber: 7, answer: .accepted(by: "n1", note: .targetNotUsable(node: "n3", state: "dead")))
        ]
    }

    /// WireFormat.parse, the body parser behind the MAC: no trap; `end` is honoured; a parsed message has a
    /// sender and re-encodes to the input (but magic, version and unknown flag bits, which parse ignores).
    @Test func wireBodies() {
        var rng = SeededRNG(seed: 0xB0D1)
        let bodies = messages.map(WireFormat.encodeBody)
        var parsed = 0
        for i in 0..<Self.iterations(24_000) {
            let b =
                i % 4 == 0
                ? WireFormat.magic + [2] + Self.random(&rng, upTo: 120)
                : Self.mutate(bodies[(i / 4) % bodies.count], &rng, alphabet: [0, 1, 2, 3, 255])
            let m = WireFormat.parse(b, end: b.count)
            #expect(WireFormat.parse(b + Array(repeating: 0xA5, count: 32), end: b.count) == m)
            guard let m else { continue }
            parsed += 1
            #expect(!m.sender.isEmpty)
            var canonical = b
            canonical[7] &= m.kind == .leave ? 3 : 1  // (bit 1: restarting, on a leave only)
            var e = WireFormat.encodeBody(m)
            e.replaceSubrange(0..<5, with: b[0..<5])
            #expect(e == canonical, "input \(b)")
        }
        #expect(parsed > Self.iterations(24_000) / 25, "the mutations reach the whole body")
    }

    /// WireCodec.decode: mutated packets authenticate only when re-signed, and then decode exactly when their
    /// body parses.
    @Test func signedPackets() {
        var rng = SeededRNG(seed: 0xC0DE)
        let packets = messages.map { WireCodec.encode($0, key: key) }
        for i in 0..<Self.iterations(10_000) {
            let good = packets[i % packets.count]
            let b = Self.mutate(good, &rng)
            if b != good, case .success = WireCodec.decode(b, key: key, clusterID: cluster) {
                Issue.record("a mutated packet authenticated: \(b)")
            }
            let body = Array(b.prefix(max(0, b.count - 32)))
            let resigned = body + Array(HMAC<SHA256>.authenticationCode(for: body, using: key))
            guard resigned.count >= WireCodec.minimumLength, resigned.count <= WireCodec.maximumLength,
                Array(resigned.prefix(5)) == WireFormat.magic + [WireFormat.version], !WireCodec.isHeartbeatPacket(resigned),
                resigned[8..<12].elementsEqual(good[8..<12])
            else { continue }
            let decoded = try? WireCodec.decode(resigned, key: key, clusterID: cluster).get()
            #expect(decoded == WireFormat.parse(body, end: body.count))
        }
    }

    /// AdminRequest(text:), which reads the request text of a peer's message: no trap; a parsed request's
    /// description parses back to it.
    @Test func adminRequests() {
        var rng = SeededRNG(seed: 0xAD)
        let words = [
            "standby", "unstandby", "move", "unmove", "takeover", "cleanup", "confirm-down", "n1", "web", "all", "home",
            "", "\t", "é", "\u{301}"
        ]
        var parsed = 0
        for _ in 0..<Self.iterations(10_000) {
            let text = (0..<Int.random(in: 0...4, using: &rng)).map { _ in words.randomElement(using: &rng)! }
                .joined(separator: Bool.random(using: &rng) ? " " : "  ")
            guard let r = AdminRequest(text: text) else { continue }
            parsed += 1
            #expect(AdminRequest(text: r.description) == r, "\(text)")
        }
        #expect(parsed > 0)
    }

    /// A netstring message from fields and an auth payload.
    static func netstring(_ fields: [String], auth: String) -> [UInt8] {
        HeartbeatFraming.netstringStart + fields.flatMap { HeartbeatFraming.netstring(Array($0.utf8)) }
            + HeartbeatFraming.netstringEnd + HeartbeatFraming.netstring(Array(auth.utf8))
    }

    /// HeartbeatFraming and the verifier, with the real HMACs: no trap; messages lay out again to their bytes;
    /// only the right MAC verifies, to the src field; re-signed mutations verify.
    @Test func heartbeatPackets() throws {
        var rng = SeededRNG(seed: 0x4842)
        let authkeys = try HeartbeatAuthkeys.parse("auth 1\n1 sha1 heartbeat-dropin-bench-key\n2 md5 other\n3 crc\n", path: "a")
        let captured = HeartbeatAuthkeysTests.bytes(HeartbeatAuthkeysTests.captured)
        let nested = String(decoding: Self.netstring(["(0)t=inner", "(0)src=n9"], auth: "1 0"), as: UTF8.self)
        let bases = [
            captured, Self.netstring(["(0)t=status", "(2)msg=\(nested)", "(1)bin=\u{1}%%%\n", "(0)src=n3"], auth: "2 00"),
            Array(">>>\nt=status\nsrc=n2\n(1)x=y=z\n<<<\n".utf8)
        ]
        let alphabet = Array("#%>< \n:,()=0123456789src".utf8)
        var verified = 0, framed = 0
        for i in 0..<Self.iterations(24_000) {
            var b: [UInt8]
            switch i % 5 {
            case 0:
                b =
                    (Bool.random(using: &rng) ? HeartbeatFraming.netstringStart : HeartbeatFraming.classicStart)
                    + Self.random(&rng, upTo: 60)
            case 1, 2:
                // Mutate one field's bytes and lay the message out again, so the framing stays right.
                var m = HeartbeatFraming.parseNetstring(bases[i % 2])!
                let f = Int.random(in: 0..<m.fields.count, using: &rng)
                let mutated = Self.mutate(m.fields[f].encoded, &rng, alphabet: alphabet)
                if let field = HeartbeatFraming.field(mutated[...], typed: true) { m.fields[f] = field } else { m.fields.remove(at: f) }
                b = m.encoded
            default:
                b = Self.mutate(bases[i % bases.count], &rng, alphabet: alphabet)
            }
            // Re-sign half the well-framed mutations with key 1, 2 or 3: they must verify, to their src field.
            if let m = HeartbeatFraming.parseNetstring(b), Bool.random(using: &rng) {
                let id = Int.random(in: 1...3, using: &rng)
                let auth = Array("\(id) \(HeartbeatAuthkeys.mac(authkeys.keys[id]!, b[0..<m.signedEnd]))".utf8)
                b = Array(b[0..<m.signedEnd]) + HeartbeatFraming.netstring(auth) + b[m.end...]
                #expect(authkeys.verifyHeartbeatPacket(b) == HeartbeatFraming.string("src", in: m.fields), "re-signed \(b)")
            }
            let kind = HeartbeatFraming.kind(of: b)
            #expect(WireCodec.isHeartbeatPacket(b) == (kind != nil))
            if let (data, next) = HeartbeatFraming.netstring(in: b, at: 0) {
                #expect(
                    String(decoding: b[0..<(data.lowerBound - 1)], as: UTF8.self) == String(data.count) && b[next - 1] == UInt8(ascii: ","))
            }
            let message = HeartbeatFraming.parseNetstring(b)
            if let m = message {
                framed += 1
                #expect(kind == .netstring && m.encoded == Array(b[0..<m.end]) && HeartbeatFraming.parseNetstring(m.encoded) == m)
            }
            if let (fields, end) = HeartbeatFraming.parseClassic(b) {
                framed += 1
                #expect(kind == .classic && HeartbeatFraming.encodeClassic(fields) == Array(b[0..<end]))
            }
            if let sender = authkeys.verifyHeartbeatPacket(b) {
                verified += 1
                let m = try #require(message)
                let (id, mac) = try #require(m.authKey)
                let key = try #require(authkeys.keys[id])
                #expect(mac == HeartbeatAuthkeys.mac(key, b[0..<m.signedEnd]))
                #expect(sender == HeartbeatFraming.string("src", in: m.fields))
            }
        }
        #expect(framed > Self.iterations(24_000) / 10 && verified > 0, "framed \(framed), verified \(verified)")
    }

    /// HeartbeatAuthkeys.parse and ClusterKey.parse on key files made of their own words: no trap; an error
    /// names a line of the file; a parsed authkeys file selects a key it has and looks like one.
    @Test func keyFiles() {
        var rng = SeededRNG(seed: 0xA17)
        let words = [
            "auth", "1", "2", "15", "16", "-1", "+3", "sha1", "md5", "crc", "SHA1", "secret", "#", "#c", "\t", " ", "\r",
            "0123456789abcdef0123456789abcdef", "é", "\u{301}"
        ]
        for _ in 0..<Self.iterations(10_000) {
            let text = (0..<Int.random(in: 0...6, using: &rng)).map { _ in
                (0..<Int.random(in: 0...4, using: &rng)).map { _ in words.randomElement(using: &rng)! }.joined(separator: " ")
            }.joined(separator: Bool.random(using: &rng) ? "\n" : "\r\n")
            let lines = text.utf8.filter { $0 == 0x0A }.count + 1
            do {
                let a = try HeartbeatAuthkeys.parse(text, path: "a")
                #expect(a.keys[a.id] == HeartbeatAuthkeys.Key(method: a.method, secret: a.secret) && a.line >= 1 && a.line <= lines)
                #expect(HeartbeatAuthkeys.looksLike(text), "\(text)")
            } catch {
                #expect(error.line >= 1 && error.line <= lines, "\(error) in \(text)")
            }
            _ = try? ClusterKey.parse(text, path: "k")
        }
    }
}
