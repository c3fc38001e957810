// libFuzzer entry point for the Heartbeat configuration readers: ha.cf and haresources (VigilHeartbeat's
// HAConfig.swift and HeartbeatImport), and authkeys (VigilWire's HeartbeatAuthkeys.parse).
//
// bench/fuzz.sh compiles this file together with copies of Sources/VigilCore/*.swift, Sources/VigilConfig/*.swift,
// Sources/VigilHeartbeat/*.swift and Sources/VigilWire/HeartbeatAuthkeys.swift and HeartbeatFraming.swift
// (none imports Crypto; their `import Vigil…` lines stripped) into one module. Foundation is imported here
// for the String(format:) the importer uses (in the package it comes with VigilWire).
//
// The input is the three files separated by NUL bytes: ha.cf, then haresources (absent without a first NUL),
// then authkeys (absent without a second NUL: the import then skips it). The machine is faked: this node is
// "alpha", eth0 and eth1 have 10.0.0.1 and 10.1.0.1, alpha and beta resolve to their 10.0/10.1 addresses,
// resource scripts whose names have an even length exist. Invariants checked on every input:
//   1. Nothing traps (no ASan report, no hang).
//   2. directives(_:) and logicalLines(_:) are what a byte-level reading gives (Heartbeat reads bytes): lines
//      split at "\n" bytes only, '#' cuts the line, words split at space, tab (and, in ha.cf, CR). A line
//      number thus names the line the text is on.
//   3. parseTime never gives a negative time, nor one of a million seconds or more.
//   4. authkeys: an error names a line of the file; a parsed file selects a key it has, and looks like one.
//   5. The import: every diagnostic names one of the three files and a line of it (1 for a missing file);
//      none says the generated cluster.conf does not load (run() loads it before it returns).

import Foundation

private let env = HeartbeatImport.Environment(
    me: "alpha",
    interfaceAddresses: { ["eth0": ["10.0.0.1"], "eth1": ["10.1.0.1", "10.1.0.9"]][$0] ?? [] },
    resolve: { ["alpha": ["10.0.0.1", "10.1.0.1"], "beta": ["10.0.0.2", "10.1.0.2"]][$0.lowercased()] ?? [] },
    scriptExists: { $0.utf8.count % 2 == 0 })

private func check(_ ok: Bool, _ what: @autoclosure () -> String) {
    if !ok { fatalError("invariant: \(what())") }
}

/// Lines of `b` split at "\n" bytes (the last one empty after a final newline), as UTF-8 byte arrays.
private func byteLines(_ b: [UInt8]) -> [ArraySlice<UInt8>] {
    b.split(separator: 0x0A, omittingEmptySubsequences: false)
}

private func words(_ line: ArraySlice<UInt8>, separators: Set<UInt8>) -> [String] {
    line.split(whereSeparator: { separators.contains($0) }).map { String(decoding: $0, as: UTF8.self) }
}

/// ha.cf's directives read byte by byte.
private func expectedDirectives(_ text: String) -> [HADirective] {
    byteLines(Array(text.utf8)).enumerated().compactMap { i, raw in
        let w = words(raw.prefix { $0 != UInt8(ascii: "#") }, separators: [0x20, 0x09, 0x0D])
        return w.first.map { HADirective(keyword: $0, words: Array(w.dropFirst()), line: i + 1) }
    }
}

/// haresources' logical lines read byte by byte.
private func expectedLogicalLines(_ text: String) -> [HeartbeatFiles.LogicalLine] {
    var out: [HeartbeatFiles.LogicalLine] = []
    var pending: [String] = []
    var start = 0
    for (i, raw) in byteLines(Array(text.utf8)).enumerated() {
        var line = raw.prefix { $0 != UInt8(ascii: "#") }
        while let last = line.last, last == 0x20 || last == 0x09 || last == 0x0D { line.removeLast() }
        let continues = line.last == UInt8(ascii: "\\")
        if continues { line.removeLast() }
        if pending.isEmpty { start = i + 1 }
        pending += words(line, separators: [0x20, 0x09])
        if !continues {
            if !pending.isEmpty { out.append(.init(words: pending, line: start)) }
            pending = []
        }
    }
    if !pending.isEmpty { out.append(.init(words: pending, line: start)) }
    return out
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHAConf(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let b = Array(UnsafeRawBufferPointer(start: start, count: count))
    let parts = b.split(separator: 0, maxSplits: 2, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
    let haCF = parts[0]
    let haresources = parts.count > 1 ? parts[1] : nil
    let authkeys = parts.count > 2 ? parts[2] : nil
    func lineCount(_ t: String?) -> Int { (t?.utf8.reduce(0) { $1 == 0x0A ? $0 + 1 : $0 } ?? 0) + 1 }

    // 2. and 3.
    let directives = HeartbeatFiles.directives(haCF)
    check(directives == expectedDirectives(haCF), "ha.cf directives differ from a byte-level reading: \(directives)")
    for d in directives.prefix(8) {
        for w in d.words.prefix(2) {
            if let t = HeartbeatFiles.parseTime(w) { check(t >= .zero && t < .seconds(1_000_000), "parseTime(\(w)) = \(t)") }
        }
    }
    if let h = haresources {
        let logical = HeartbeatFiles.logicalLines(h)
        check(logical == expectedLogicalLines(h), "haresources lines differ from a byte-level reading: \(logical)")
    }

    // 4. authkeys on its own.
    if let a = authkeys {
        do {
            let k = try HeartbeatAuthkeys.parse(a, path: "authkeys")
            check(k.keys[k.id] == HeartbeatAuthkeys.Key(method: k.method, secret: k.secret), "the selected key is not in the file")
            check((0..<16).contains(k.id) && k.line >= 1 && k.line <= lineCount(a), "authkeys key \(k.id) on line \(k.line)")
            check(HeartbeatAuthkeys.looksLike(a), "a parsed authkeys file does not look like one")
        } catch {
            check(error.line >= 1 && error.line <= lineCount(a), "authkeys error on line \(error.line) of \(lineCount(a)): \(error)")
        }
    }

    // 5. The whole import.
    let files = [
        "/etc/ha.d/ha.cf": lineCount(haCF), "/etc/ha.d/haresources": lineCount(haresources),
        "/etc/ha.d/authkeys": lineCount(authkeys)
    ]
    func checkDiagnostics(_ ds: [HeartbeatDiagnostic]) {
        for d in ds {
            guard let n = files[d.file] else { fatalError("invariant: a diagnostic for another file: \(d)") }
            check(d.line >= 1 && d.line <= n, "diagnostic on line \(d.line) of \(n): \(d)")
        }
    }
    do {
        let imported = try HeartbeatImport.run(
            directory: "/etc/ha.d", haCF: haCF, haresources: haresources, authkeys: authkeys,
            authkeysMode: count % 7 == 0 ? 0o100644 : 0o100600, allowCRC: count % 3 == 0,
            environment: env)
        // run() has loaded the text already: had it failed, run() would have thrown "does not load".
        checkDiagnostics(imported.warnings)
        check(!imported.text.isEmpty, "an import without text")
    } catch {
        checkDiagnostics(error.diagnostics)
        check(!error.diagnostics.contains { $0.message.contains("does not load") }, "the importer generated a bad cluster.conf: \(error)")
    }
    return 0
}
