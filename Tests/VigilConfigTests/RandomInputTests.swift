import Foundation
import Testing
import VigilCore
@testable import VigilConfig

/// Seeded random cluster.conf files made of the subset's own tokens and keys (ConfigTests.fuzzParser mutates the
/// example instead), and random durations through durationText: the properties of bench/fuzz.sh's `config`
/// harness. The same seed every run; VIGIL_FUZZ_ITERATIONS=N runs N / 20,000 times as many.
@Suite struct RandomInputTests {
    static let scale = Double(ProcessInfo.processInfo.environment["VIGIL_FUZZ_ITERATIONS"] ?? "").map { $0 / 20_000 } ?? 1
    static func iterations(_ n: Int) -> Int { max(1, Int(Double(n) * scale)) }

    static let lines = [
        "[cluster]", "[[node]]", "[[group]]", "[storage]", "[virt]", "[cluster", "[[node]", "name = \"prod\"", "name = \"a\"",
        "name = \"b\"", "name = 'lit'", "addresses = [\"10.0.0.1\"]", "addresses = [\"10.0.0.2\", \"auto\"]", "addresses = [",
        "\"10.1.0.1\",", "]", "interval = \"200ms\"", "deadtime = \"1.0005s\"", "warntime = \"1000500us\"", "initdead = \"2m\"",
        "votes = 0", "votes = 256", "port = 65536", "port = -1", "quorum = \"ignore\"", "transport = \"multicast\"",
        "interfaces = [\"eth0\"]", "interfaces = [\"a/b\"]", "profile = \"fast\"", "resources = [\"dummy x\", \"IPaddr::10.0.0.5\"]",
        "home = \"a\"", "devices = [\"/dev/sdb\"]", "k = \"\\u00e9\\t\\\"\"", "k = [1, [2, [3, [4, [5]]]]]", "k = {a = 1}",
        "k = 1_000.5e3", "k = \"\\x\"", "# comment", "", "  ", "key = \"unterminated"
    ]

    @Test func tokenSoups() {
        var rng = SplitMixForTest(seed: 0xC0_50)
        var errors = 0
        for _ in 0..<Self.iterations(10_000) {
            let eol = Int.random(in: 0..<4, using: &rng) == 0 ? "\r\n" : "\n"
            let text =
                (0..<Int.random(in: 0...16, using: &rng)).map { _ in Self.lines.randomElement(using: &rng)! }.joined(separator: eol)
                + (Bool.random(using: &rng) ? eol : "")
            let count = text.utf8.filter { $0 == 0x0A }.count + 1
            do { _ = try ConfigLoader.load(text: text, file: "f") } catch {
                errors += 1
                #expect(error.line >= 1 && error.line <= count, "\(error)\n\(text)")
            }
        }
        #expect(errors > 0)
    }

    /// durationText: parseDuration reads it back as the duration rounded to microseconds.
    @Test func durationTexts() {
        var rng = SplitMixForTest(seed: 0xD0)
        for _ in 0..<Self.iterations(50_000) {
            let limit: Int64 = [1_000, 1_000_000, 1_000_000_000, 999_999_999_999_999].randomElement(using: &rng)!
            let d = Duration.nanoseconds(Int64.random(in: 0..<limit, using: &rng))
            let text = ConfigLoader.durationText(d)
            #expect(ConfigLoader.parseDuration(text) == .microseconds((d.nanoseconds + 500) / 1_000), "\(d) as \(text)")
        }
    }
}
