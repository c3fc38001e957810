// libFuzzer entry point for AoE frame parsing (VigilStorage's AoEFrame): what AoEDevice does with every frame
// its raw socket receives, and with the replies it keeps.
//
// bench/fuzz.sh compiles this file together with a copy of Sources/VigilStorage/AoEFrame.swift (no imports)
// into one module.
//
// The input is one received Ethernet frame. Invariants checked on every input:
//   1. Nothing traps (no ASan report, no hang).
//   2. AoEFrame(parsing:) succeeds exactly for frames of at least 24 bytes with ethertype 0x88A2, and the
//      parsed frame lays out to the input bytes.
//   3. reply(_:shelf:slot:) answers only for a response of that shelf and slot (as the header says), with its
//      tag; an AoE error when the error flag is set, an ATA error only for an ATA command with the ERR bit.
//   4. identifyCapacity and readData answer exactly when the frame is long enough, with bytes from 36 on.
//   5. Every answer is the same for the frame at offset 0 and inside a larger buffer (the receive buffer's
//      slices): indices are the slice's own.
//   6. A READ/WRITE EXT request built from the input's first bytes parses back to what was asked.

#if canImport(Glibc)
    import Glibc
#endif

private func check(_ ok: Bool, _ what: @autoclosure () -> String, _ b: [UInt8]) {
    if !ok { fatalError("invariant: \(what())\n input: \(b)") }
}

/// Seeds: a target's answers to AoEDevice's requests (Query Config, IDENTIFY, a two-sector READ EXT, a WRITE
/// EXT), an AoE error, an ATA error, and a request.
private func seeds() -> [(String, [UInt8])] {
    let me: [UInt8] = [2, 0, 0, 0, 0, 1], target: [UInt8] = [2, 0, 0, 0, 0, 0x99]
    func answer(_ r: AoEFrame, flags: UInt8 = 0x08, error: UInt8 = 0, _ payload: [UInt8]) -> [UInt8] {
        AoEFrame(
            destination: r.source, source: target, versionFlags: 0x10 | flags, error: error, shelf: r.shelf, slot: r.slot,
            command: r.command, tag: r.tag, payload: payload
        ).encoded
    }
    let q = AoEFrame.queryConfig(source: me, shelf: 1, slot: 2, tag: 1)
    let id = AoEFrame.identify(destination: target, source: me, shelf: 1, slot: 2, tag: 2)
    var words = [UInt8](repeating: 0, count: 512)
    words[200] = 0x00; words[201] = 0x00; words[202] = 0x01  // 65,536 sectors
    let read = AoEFrame.ata(destination: target, source: me, shelf: 1, slot: 2, tag: 3, write: false, lba: 5, count: 2, data: [])
    let write = AoEFrame.ata(
        destination: target, source: me, shelf: 1, slot: 2, tag: 4, write: true, lba: 5, count: 1,
        data: [UInt8](repeating: 0xAB, count: 512))
    let status: [UInt8] = [0, 0, 0, 0x40, 0, 0, 0, 0, 0, 0, 0, 0]
    return [
        ("query-config-reply", answer(q, [0, 16, 0, 0, 0, 0x11, 0, 0])),
        ("identify-reply", answer(id, status + words)),
        ("read-reply", answer(read, status + (0..<1024).map { UInt8($0 & 0xff) })),
        ("write-reply", answer(write, status)),
        ("aoe-error", answer(read, flags: 0x0C, error: 2, [])),
        ("ata-error", answer(read, [0, 0x04, 0, 0x51, 0, 0, 0, 0, 0, 0, 0, 0])),
        ("request", write.encoded)
    ]
}

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<CInt>?, _ argv: UnsafeMutableRawPointer?) -> CInt {
    writeSeedsIfAsked(seeds())
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAoE(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let b = Array(UnsafeRawBufferPointer(start: start, count: count))
    let inside = [UInt8](repeating: 0xEE, count: 7) + b + [0xEE]
    let slice = inside[7..<(7 + b.count)]

    // 2. Parse and lay out again.
    let frame = AoEFrame(parsing: b[...])
    let isAoE = b.count >= 24 && b[12] == 0x88 && b[13] == 0xA2
    check((frame != nil) == isAoE, "parsed: \(frame != nil), AoE frame: \(isAoE)", b)
    check(AoEFrame(parsing: slice) == frame, "parsing a slice differs", b)
    if let f = frame { check(f.encoded == b, "the frame lays out to other bytes", b) }

    // 3. Classification, for the frame's own shelf and slot and for another pair.
    let own: (UInt16, UInt8) = b.count >= 19 ? (UInt16(b[16]) << 8 | UInt16(b[17]), b[18]) : (1, 2)
    for (shelf, slot) in [own, (own.0 &+ 1, own.1), (own.0, own.1 &+ 1)] {
        let r = AoEFrame.reply(b[...], shelf: shelf, slot: slot)
        check(AoEFrame.reply(slice, shelf: shelf, slot: slot) == r, "classifying a slice differs", b)
        guard let r else {
            if let f = frame {
                check(!f.isResponse || f.shelf != shelf || f.slot != slot, "a response for \(shelf).\(slot) was ignored", b)
            }
            continue
        }
        guard let f = frame else { fatalError("invariant: classified a frame that does not parse\n input: \(b)") }
        check(f.isResponse && f.shelf == shelf && f.slot == slot && r.tag == f.tag, "reply \(r) for another target or tag", b)
        switch r {
        case .ok:
            check(!f.isError && !(f.command == 0 && b.count >= 36 && b[27] & 1 != 0), "an error reply classified ok", b)
        case let .aoeError(_, e):
            check(f.isError && e == b[15], "AoE error \(e) without the flag", b)
        case let .ataError(_, status, e):
            check(
                !f.isError && f.command == 0 && b.count >= 36 && status == b[27] && e == b[25] && status & 1 != 0, "ATA error \(status)", b)
        }
    }

    // 4. Data of IDENTIFY and READ EXT replies.
    let capacity = AoEFrame.identifyCapacity(b[...])
    check((capacity != nil) == (b.count >= 548), "capacity for \(b.count) bytes", b)
    check(AoEFrame.identifyCapacity(slice) == capacity, "capacity of a slice differs", b)
    for sectors in [0, 1, 2, (b.count - 36) / 512, -1] {
        let d = AoEFrame.readData(b[...], sectors: sectors)
        let fits = sectors >= 0 && b.count >= 36 + sectors * 512
        check((d != nil) == fits, "readData(\(sectors)) for \(b.count) bytes", b)
        if let d { check(d.elementsEqual(b[36..<(36 + sectors * 512)]), "readData(\(sectors)) returns other bytes", b) }
        check(AoEFrame.readData(slice, sectors: sectors).map(Array.init) == d.map(Array.init), "readData of a slice differs", b)
    }

    // 6. A request built from the first bytes.
    if b.count >= 16 {
        let lba = b[0..<6].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let n = Int(b[6] % 3)
        let data = Array(b.dropFirst(16).prefix(n * 512))
        let write = b[7] & 1 != 0 && data.count == n * 512
        let tag = b[8..<12].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        let req = AoEFrame.ata(
            destination: Array(b[0..<6]), source: Array(b[6..<12]), shelf: UInt16(b[12]) << 8 | UInt16(b[13]),
            slot: b[14], tag: tag, write: write, lba: lba, count: n, data: write ? data : [])
        let back = AoEFrame(parsing: req.encoded[...])
        check(back == req && back?.isResponse == false, "a request does not parse back", b)
        let p = req.payload
        let lbaBack = p[4..<10].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        check(
            p[2] == UInt8(n) && lbaBack == lba & 0xFFFF_FFFF_FFFF && p[3] == (write ? 0x34 : 0x24) && p.count == 12 + (write ? n * 512 : 0),
            "request fields", b)
    }
    return 0
}
