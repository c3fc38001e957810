// libFuzzer entry point for Linux-HA Heartbeat's ha_msg framings (VigilWire's HeartbeatFraming) and the
// verifier's path up to the MAC (HeartbeatAuthkeys.verifyHeartbeatPacket(_:mac:)).
//
// bench/fuzz.sh compiles this file together with copies of Sources/VigilWire/HeartbeatFraming.swift and
// HeartbeatAuthkeys.swift (neither imports Crypto) into one module. The MAC is kept out by design: the
// verifier takes it as a function, and here the sha1 and md5 keys get a fake one (CRC-32 of the secret and the
// signed bytes) while crc keys get the real CRC-32, so the fuzzer reaches every branch behind the MAC check.
//
// The input is one UDP datagram. Invariants checked on every input:
//   1. Nothing traps (no ASan report, no hang).
//   2. kind(of:) is the first four bytes' framing (at least 8 bytes).
//   3. A netstring message lays out again to exactly its bytes up to `end`; `signedEnd` ends with "%%%\n";
//      re-parsing the layout gives the same message. A classic message likewise, up to "<<<\n".
//   4. The netstring at offset 0 (and at the offset the first byte names): LEN is the data's length, the
//      data and the comma lie within the input.
//   5. The verifier returns a sender only for a netstring message whose auth names a key of the file and
//      carries that key's MAC of bytes [0, signedEnd); the sender is the message's first string src field.
//   6. Netstring messages whose auth is "F" or "F<digit>" are re-signed (with key <digit> if the file has
//      it, else key 1) before verifying, so they must verify, to their src field (or nil without one). The
//      fuzzer thus gets past the MAC on a fraction of its inputs (seeded by fuzz.sh).

#if canImport(Glibc)
    import Glibc
#endif

private let authkeys = try! HeartbeatAuthkeys.parse("auth 2\n1 crc\n2 sha1 fuzz-secret\n3 md5 other\n", path: "authkeys")

/// The MAC the harness's verifier uses: the real CRC-32 for crc, a stand-in for the HMACs.
private func mac(_ key: HeartbeatAuthkeys.Key, _ signed: ArraySlice<UInt8>) -> String {
    switch key.method {
    case .crc: return String(HeartbeatAuthkeys.crc32(signed), radix: 16)
    case .sha1, .md5: return String(HeartbeatAuthkeys.crc32(Array("\(key.method.rawValue) \(key.secret)".utf8) + signed), radix: 16)
    }
}

private func check(_ ok: Bool, _ what: @autoclosure () -> String, _ b: [UInt8]) {
    if !ok { fatalError("invariant: \(what())\n input: \(b)") }
}

/// A real `t=status` packet of Heartbeat 3.0.6 (Tests/VigilWireTests/HeartbeatAuthkeysTests.swift), in hex.
private let captured =
    "2323230a31313a283029743d7374617475732c31323a28302973743d6163746976652c393a28302964743d3963342c31333a28302970726f746f636f6c3d312c393a2830297372633d6e322c32373a283129737263757569643dc420c2e2a054490b9acc65ed68e8f6ee2c383a2830297365713d662c31343a28302968673d36623033663838312c31343a28302974733d36623033663838312c33303a2830296c643d312e313620302e363320302e373820332f393320313135342c383a28302974746c3d332c35303a283029617574683d3120623037303561333264366430303536633463306136333966313462646534306330353237636534382c2525250a34323a3120613761306662313461636134623439643434303034313562306162613633636235616561323438662c"

/// Seeds: the real packet, classic and netstring messages (a nested one, binary fields, every re-sign key),
/// and the inputs that trapped before HeartbeatFraming (issue 12, finding 1).
private func seeds() -> [(String, [UInt8])] {
    var packet: [UInt8] = []
    var i = captured.startIndex
    while i < captured.endIndex {
        let j = captured.index(i, offsetBy: 2)
        packet.append(UInt8(captured[i..<j], radix: 16)!)
        i = j
    }
    func netstring(_ fields: [String], auth: String) -> [UInt8] {
        HeartbeatFraming.netstringStart + fields.flatMap { HeartbeatFraming.netstring(Array($0.utf8)) }
            + HeartbeatFraming.netstringEnd + HeartbeatFraming.netstring(Array(auth.utf8))
    }
    let status = ["(0)t=status", "(0)st=active", "(0)src=n2", "(0)seq=f", "(0)ttl=3"]
    let nested = String(decoding: netstring(["(0)t=inner", "(0)src=n9"], auth: "1 0"), as: UTF8.self)
    return [
        ("captured", packet),
        ("classic", Array(">>>\nt=status\nst=active\nsrc=n2\nseq=f\n(1)bin=x=y\nauth=1 b0705a32\n<<<\n".utf8)),
        ("resign-crc", netstring(status, auth: "F")),
        ("resign-sha1", netstring(status, auth: "F2")),
        ("resign-md5-nested", netstring(["(0)t=x", "(2)msg=\(nested)", "(1)bin=\u{1}%%%\n", "(0)src=n3"], auth: "F3")),
        ("resign-no-src", netstring(["(0)t=status"], auth: "F")),
        ("wrong-mac", netstring(status, auth: "2 deadbeef")),
        ("finding1-negative", Array("###\n%%%\n-999:,".utf8)),
        ("finding1-huge", Array("###\n%%%\n9223372036854775807:,".utf8)),
        ("finding1-field", Array("###\n-20:(0)src=n2,%%%\n4:1 ab,".utf8))
    ]
}

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<CInt>?, _ argv: UnsafeMutableRawPointer?) -> CInt {
    writeSeedsIfAsked(seeds())
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHeartbeat(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    var b = Array(UnsafeRawBufferPointer(start: start, count: count))

    // 2. The framing is the first line's.
    let kind = HeartbeatFraming.kind(of: b)
    let expected: HeartbeatFraming.Kind? =
        b.count < 8
        ? nil
        : b.starts(with: HeartbeatFraming.classicStart)
            ? .classic
            : b.starts(with: HeartbeatFraming.netstringStart) ? .netstring : nil
    check(kind == expected, "kind(of:) is \(String(describing: kind)), not \(String(describing: expected))", b)

    // 4. Single netstrings at two offsets.
    for at in [0, Int(b.first ?? 0) % 64] {
        guard let (data, next) = HeartbeatFraming.netstring(in: b, at: at) else { continue }
        let colon = data.lowerBound - 1
        check(
            at < colon && data.upperBound < b.count && next == data.upperBound + 1 && b[data.upperBound] == UInt8(ascii: ","),
            "netstring at \(at): data \(data), next \(next)", b)
        check(String(decoding: b[at..<colon], as: UTF8.self) == String(data.count), "netstring at \(at): LEN is not the data's length", b)
    }

    // 3. Netstring framing lays out again.
    let message = HeartbeatFraming.parseNetstring(b)
    if let m = message {
        check(kind == .netstring && m.signedEnd <= m.end && m.end <= b.count, "netstring bounds \(m.signedEnd) \(m.end)", b)
        check(b[(m.signedEnd - 4)..<m.signedEnd].elementsEqual(HeartbeatFraming.netstringEnd), "signed bytes do not end with %%%", b)
        check(m.encoded == Array(b[0..<m.end]), "netstring message lays out to other bytes", b)
        check(HeartbeatFraming.parseNetstring(m.encoded) == m, "netstring layout parses to another message", b)
    }
    // 3. Classic framing lays out again.
    if let (fields, end) = HeartbeatFraming.parseClassic(b) {
        check(kind == .classic && end <= b.count, "classic bounds", b)
        let again = HeartbeatFraming.encodeClassic(fields)
        check(again == Array(b[0..<end]), "classic message lays out to other bytes", b)
        check(HeartbeatFraming.parseClassic(again).map { $0.fields } == fields, "classic layout parses to other fields", b)
        check(authkeys.verifyHeartbeatPacket(b, mac: mac) == nil, "a classic message verified", b)
    }

    // 6. Re-sign the well-framed inputs whose auth is "F" or "F<digit>", so the verifier gets past the MAC.
    var m = message
    if let old = message, old.auth.first == UInt8(ascii: "F") {
        let wanted = old.auth.count > 1 ? Int(old.auth[1]) - Int(UInt8(ascii: "0")) : 1
        let id = authkeys.keys[wanted] != nil ? wanted : 1
        let auth = Array("\(id) \(mac(authkeys.keys[id]!, b[0..<old.signedEnd]))".utf8)
        b = Array(b[0..<old.signedEnd]) + HeartbeatFraming.netstring(auth) + b[old.end...]
        m = HeartbeatFraming.parseNetstring(b)
        check(m != nil && m!.authKey != nil, "a re-signed message does not parse", b)
        check(
            authkeys.verifyHeartbeatPacket(b, mac: mac) == HeartbeatFraming.string("src", in: m!.fields),
            "a re-signed message does not verify to its src", b)
    }

    // 5. Only the right MAC verifies, and it names the src field.
    let sender = authkeys.verifyHeartbeatPacket(b, mac: mac)
    if let sender {
        guard let m, let (id, tag) = m.authKey, let key = authkeys.keys[id] else {
            fatalError("invariant: verified without a parsable auth\n input: \(b)")
        }
        check(tag == mac(key, b[0..<m.signedEnd]), "verified with a wrong MAC", b)
        check(sender == HeartbeatFraming.string("src", in: m.fields), "the sender is not the src field", b)
    }
    return 0
}
