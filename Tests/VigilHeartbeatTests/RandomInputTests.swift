import Foundation
import Testing
import VigilConfig
import VigilCore
@testable import VigilHeartbeat

/// Seeded random Heartbeat configuration directories (ha.cf, haresources, authkeys) made of Heartbeat's own
/// words, then mutated, with the properties of bench/fuzz.sh's `haconf` harness: lines read as bytes, every
/// diagnostic names a line of its file, and no import produces a cluster.conf that does not load. The same seed
/// every run; VIGIL_FUZZ_ITERATIONS=N runs N / 20,000 times as many.
@Suite struct RandomInputTests {
    static let scale = Double(ProcessInfo.processInfo.environment["VIGIL_FUZZ_ITERATIONS"] ?? "").map { $0 / 20_000 } ?? 1
    static func iterations(_ n: Int) -> Int { max(1, Int(Double(n) * scale)) }

    /// xorshift64*, as VigilWireTests' SeededRNG.
    struct RNG: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state ^= state >> 12
            state ^= state << 25
            state ^= state >> 27
            return state &* 2_685_821_657_736_338_717
        }
    }

    static let env = HeartbeatImport.Environment(
        me: "alpha",
        interfaceAddresses: { ["eth0": ["10.0.0.1"], "eth1": ["10.1.0.1", "10.1.0.9"]][$0] ?? [] },
        resolve: { ["alpha": ["10.0.0.1", "10.1.0.1"], "beta": ["10.0.0.2", "10.1.0.2"]][$0.lowercased()] ?? [] },
        scriptExists: { $0.utf8.count % 2 == 0 })

    static let directives = [
        "node alpha beta", "node gamma", "node Alpha", "bcast eth0", "bcast eth1 eth2", "udp eth1", "mcast eth0 225.0.0.1 694 1 0",
        "mcast eth1 239.1.2.3 70000 1 0", "ucast eth0 10.0.0.2", "ucast eth1 10.1.0.2", "ucast eth0 10.0.0.1", "ucast eth9 10.0.0.1",
        "udpport 7694", "keepalive 2", "keepalive 500ms", "keepalive 0", "deadtime 30", "deadtime 1.0005", "warntime 10",
        "initdead 120", "deadping 40", "ping 10.10.10.254", "ping_group g 10.0.0.9 10.0.0.10", "auto_failback on",
        "auto_failback legacy", "nice_failback on", "respawn hacluster /usr/lib/heartbeat/ipfail", "respawn root /bin/true -x",
        "logfile /var/log/ha-log", "logfacility local0", "crm no", "crm yes", "realtime off", "rtprio 50", "autojoin none",
        "cluster prod", "stonith baytech /x", "hopfudge 1", "debug 1", "# comment", "", "  \t", "unknown thing"
    ]
    /// Directives that import cleanly together (a third of the directories use only these, unedited).
    static let clean = [
        "bcast eth1", "ucast eth0 10.0.0.2", "ucast eth1 10.1.0.2", "mcast eth0 225.0.0.1 694 1 0", "keepalive 2",
        "keepalive 500ms", "deadtime 30", "warntime 10", "initdead 120", "ping 10.10.10.254", "auto_failback on",
        "logfile /var/log/ha-log", "logfacility local0", "crm no", "realtime off", "rtprio 50", "cluster prod",
        "stonith baytech /x", "hopfudge 1", "# comment", ""
    ]
    static let cleanResources = [
        "alpha 10.0.0.50 httpd", "beta IPaddr2::10.0.0.60/24/eth0 \\", "   Delay::4::1 # c",
        "beta Filesystem::/dev/sda1::/data1::ext2", "# only a comment", ""
    ]
    static let resources = [
        "alpha 10.0.0.50 httpd", "beta IPaddr2::10.0.0.60/24/eth0 \\", "   Delay::4::1 # c", "gamma x",
        "alpha", "beta Filesystem::/dev/sda1::/data1::ext2", "alpha ::x", "# only a comment", ""
    ]
    static let authkeys = ["auth 1", "auth 2", "1 sha1 s3cret", "2 md5 Hello!", "3 crc", "#auth 3", "auth 16"]

    /// Lines of a file split at "\n" bytes.
    static func byteLines(_ t: String) -> [ArraySlice<UInt8>] { Array(t.utf8).split(separator: 0x0A, omittingEmptySubsequences: false) }

    static func words(_ line: ArraySlice<UInt8>, _ separators: Set<UInt8>) -> [String] {
        line.split(whereSeparator: { separators.contains($0) }).map { String(decoding: $0, as: UTF8.self) }
    }

    /// ha.cf's directives, read byte by byte as Heartbeat does.
    static func expectedDirectives(_ t: String) -> [HADirective] {
        byteLines(t).enumerated().compactMap { i, raw in
            let w = words(raw.prefix { $0 != UInt8(ascii: "#") }, [0x20, 0x09, 0x0D])
            return w.first.map { HADirective(keyword: $0, words: Array(w.dropFirst()), line: i + 1) }
        }
    }

    /// haresources' logical lines, read byte by byte.
    static func expectedLogicalLines(_ t: String) -> [HeartbeatFiles.LogicalLine] {
        var out: [HeartbeatFiles.LogicalLine] = []
        var pending: [String] = []
        var start = 0
        for (i, raw) in byteLines(t).enumerated() {
            var line = raw.prefix { $0 != UInt8(ascii: "#") }
            while let last = line.last, last == 0x20 || last == 0x09 || last == 0x0D { line.removeLast() }
            let continues = line.last == UInt8(ascii: "\\")
            if continues { line.removeLast() }
            if pending.isEmpty { start = i + 1 }
            pending += words(line, [0x20, 0x09])
            if !continues {
                if !pending.isEmpty { out.append(.init(words: pending, line: start)) }
                pending = []
            }
        }
        if !pending.isEmpty { out.append(.init(words: pending, line: start)) }
        return out
    }

    /// A file of `count` random lines from `vocabulary`, LF or CRLF, then (if `edits`) up to three byte edits.
    static func file(_ vocabulary: [String], _ count: ClosedRange<Int>, edits: Bool = true, _ rng: inout RNG) -> String {
        let eol = Int.random(in: 0..<4, using: &rng) == 0 ? "\r\n" : "\n"
        var b = Array(
            (0..<Int.random(in: count, using: &rng)).map { _ in vocabulary.randomElement(using: &rng)! }
                .joined(separator: eol).utf8)
        let alphabet = Array(" \t\r\n#\\:/.0123456789aemsé".utf8)
        for _ in 0..<(edits ? Int.random(in: 0...3, using: &rng) : 0) where !b.isEmpty {
            let i = Int.random(in: 0..<b.count, using: &rng)
            switch Int.random(in: 0...2, using: &rng) {
            case 0: b[i] = alphabet.randomElement(using: &rng)!
            case 1: b.remove(at: i)
            default: b.insert(alphabet.randomElement(using: &rng)!, at: i)
            }
        }
        return String(decoding: b, as: UTF8.self)
    }

    @Test func heartbeatConfigurationDirectories() {
        var rng = RNG(state: 0x4841_4346)
        var imported = 0
        func lines(_ t: String?) -> Int { (t?.utf8.filter { $0 == 0x0A }.count ?? 0) + 1 }
        for i in 0..<Self.iterations(6_000) {
            // A third are clean directories, so imports also get through to the generated text; half the rest start
            // from two lines that make a cluster.
            let clean = i % 3 == 0
            let haCF =
                (clean || Bool.random(using: &rng) ? "node alpha beta\nbcast eth0\n" : "")
                + Self.file(clean ? Self.clean : Self.directives, 1...14, edits: !clean, &rng)
            let haresources =
                Int.random(in: 0..<5, using: &rng) == 0
                ? nil
                : Self.file(clean ? Self.cleanResources : Self.resources, 0...4, edits: !clean, &rng)
            let authkeys =
                clean ? "auth 1\n1 sha1 s3cret\n" : Int.random(in: 0..<8, using: &rng) == 0 ? nil : Self.file(Self.authkeys, 1...4, &rng)

            #expect(HeartbeatFiles.directives(haCF) == Self.expectedDirectives(haCF), "\(haCF)")
            if let h = haresources { #expect(HeartbeatFiles.logicalLines(h) == Self.expectedLogicalLines(h), "\(h)") }
            for d in HeartbeatFiles.directives(haCF) {
                for w in d.words.prefix(1) {
                    if let t = HeartbeatFiles.parseTime(w) { #expect(t >= .zero && t < .seconds(1_000_000)) }
                }
            }
            let files = ["/etc/ha.d/ha.cf": lines(haCF), "/etc/ha.d/haresources": lines(haresources), "/etc/ha.d/authkeys": lines(authkeys)]
            let diagnostics: [HeartbeatDiagnostic]
            do {
                let i = try HeartbeatImport.run(
                    directory: "/etc/ha.d", haCF: haCF, haresources: haresources, authkeys: authkeys,
                    authkeysMode: 0o100600, allowCRC: Bool.random(using: &rng), environment: Self.env)
                imported += 1
                diagnostics = i.warnings
            } catch {
                diagnostics = error.diagnostics
            }
            for d in diagnostics {
                #expect(
                    files[d.file].map { d.line >= 1 && d.line <= $0 } == true,
                    "\(d)\n--- ha.cf\n\(haCF)\n--- haresources\n\(haresources ?? "-")")
                #expect(!d.message.contains("does not load"), "\(d)\n--- ha.cf\n\(haCF)\n--- haresources\n\(haresources ?? "-")")
            }
        }
        #expect(imported > Self.iterations(6_000) / 6, "the clean directories import: \(imported)")
    }
}
