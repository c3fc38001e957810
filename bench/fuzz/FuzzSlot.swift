// libFuzzer entry point for the slot-area decoders (VigilCore's SlotArea.swift): SlotAreaHeader, DiskSlot and
// Pill from one sector, and SlotAreaSnapshot from a whole area, as a storage cycle reads them off a shared disk.
//
// bench/fuzz.sh compiles this file together with copies of Sources/VigilCore/*.swift into one module.
//
// The input is an area: 512-byte sectors back to back. An input of 512 x N + 1 bytes has a control byte at the
// end: bit 0 set fixes up every sector's CRC-32 before decoding (so the fuzzer gets past the checksum), bit 1
// asks the snapshot for one node more than the sectors hold. Invariants checked on every input:
//   1. Nothing traps (no ASan report, no hang).
//   2. Each decoder's error is the first check the sector fails, in order: short, all zero, magic, checksum,
//      layout version; only a sector that passes all of them may fail on a name (.badName).
//   3. A decoded value re-encodes to the sector with what the decoder does not read made canonical: the
//      bytes after each name's length and after the last field zero, unknown flag bits cleared (a pill's
//      flags other than 2 read as "not cleared", i.e. 1), the CRC recomputed. Decoding that gives the value.
//   4. The snapshot holds exactly what decoding sector 0, 1 + 2i and 2 + 2i gives, and lists one invalid
//      entry per sector that is neither valid nor all zero (missing sectors count as short).

#if canImport(Glibc)
    import Glibc
#endif

private func check(_ ok: Bool, _ what: @autoclosure () -> String) {
    if !ok { fatalError("invariant: \(what())") }
}

/// The error the decoders must throw for `s` before they look at names (nil: the sector passes these checks).
private func expectedError(_ s: [UInt8], magic: [UInt8]) -> SlotDecodeError? {
    guard s.count >= 512 else { return .short(s.count) }
    let sector = Array(s.prefix(512))
    if sector.allSatisfy({ $0 == 0 }) { return .empty }
    guard Array(sector.prefix(8)) == magic else {
        return .badMagic(String(decoding: sector.prefix(8).map { (32...126).contains($0) ? $0 : 46 }, as: UTF8.self))
    }
    let stored = sector[508..<512].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
    guard crc32(Array(sector.prefix(508))) == stored else { return .badChecksum }
    let version = UInt16(sector[8]) << 8 | UInt16(sector[9])
    guard version == SlotArea.layoutVersion else { return .unsupportedVersion(version) }
    return nil
}

private func setCRC(_ s: inout [UInt8], at offset: Int) {
    let c = crc32(Array(s[offset..<offset + 508]))
    for k in 0..<4 { s[offset + 508 + k] = UInt8((c >> UInt32(24 - 8 * k)) & 0xff) }
}

/// `s` as the encoder would have written what the decoder read: names' tails and the padding zeroed, the flag
/// word canonical (`flags` maps the stored one), the CRC recomputed.
private func canonical(_ s: [UInt8], names: [Int], end: Int, flags: (UInt16) -> UInt16) -> [UInt8] {
    var c = Array(s.prefix(512))
    let f = flags(UInt16(c[10]) << 8 | UInt16(c[11]))
    c[10] = UInt8(f >> 8); c[11] = UInt8(f & 0xff)
    for at in names {
        for k in (at + 1 + Int(c[at]))..<(at + 1 + SlotArea.maxName) { c[k] = 0 }
    }
    for k in end..<508 { c[k] = 0 }
    setCRC(&c, at: 0)
    return c
}

/// Decodes `s` with `decode`, checks the error (2.) or the re-encoding (3.), and returns the value.
private func roundTrip<T: Equatable>(
    _ s: [UInt8], magic: [UInt8], _ what: String,
    decode: ([UInt8]) throws(SlotDecodeError) -> T, encode: (T) -> [UInt8],
    canonical: ([UInt8]) -> [UInt8]
) -> T? {
    let expected = expectedError(s, magic: magic)
    do {
        let v = try decode(s)
        check(expected == nil, "\(what) decoded a sector that should fail with \(expected!)")
        let e = encode(v)
        check(e == canonical(s), "\(what) re-encodes to other bytes\n in:  \(Array(s.prefix(512)))\n out: \(e)")
        check((try? decode(e)) == v, "\(what): decoding the re-encoding gives another value")
        return v
    } catch {
        check(error == (expected ?? .badName), "\(what) failed with \(error), expected \(expected ?? .badName)")
        return nil
    }
}

/// Seeds from the encoders: each kind of sector, a whole area of three nodes (plain, with the control byte that
/// fixes CRCs, and with one node more than it holds), and sectors that fail each check.
private func seeds() -> [(String, [UInt8])] {
    let header = SlotAreaHeader(
        cluster: "prod", slotCount: 3, interval: .milliseconds(200), ioTimeout: .seconds(1),
        watchdogTimeout: .seconds(2), msgwait: .seconds(4), created: 1_795_000_000
    ).encoded()
    let slot = DiskSlot(
        node: "n2", incarnation: 1_795_410_800_836_851, counter: 42, term: 7, coordinator: "n1",
        quorate: true, fenced: false, leaving: true, ackSerial: 3, activeGroups: 0b101
    ).encoded()
    let longNames = DiskSlot(
        node: String(repeating: "é", count: 31) + "x", incarnation: 1, counter: 2, term: 3,
        coordinator: String(repeating: "n", count: 63), quorate: false, fenced: true, leaving: false,
        ackSerial: 0, activeGroups: .max
    ).encoded()
    let pill = Pill(target: "n3", maxIncarnation: 99, from: "n1", term: 7, serial: 7 << 32 | 1).encoded()
    let cleared = Pill(target: "n3", maxIncarnation: 99, from: "n1", term: 7, serial: 7 << 32 | 1, cleared: true).encoded()
    let empty = [UInt8](repeating: 0, count: 512)
    var badCRC = slot
    badCRC[60] ^= 0xFF
    var version = header
    version[9] = 2
    let area = header + empty + empty + slot + pill + longNames + cleared
    return [
        ("header", header), ("slot", slot), ("slot-long-names", longNames), ("pill", pill), ("pill-cleared", cleared),
        ("empty", empty), ("short", Array(slot.prefix(100))), ("area", area), ("area-fix-crc", area + [1]),
        ("area-one-more-node", area + [2]), ("bad-crc", badCRC), ("bad-crc-fixed", badCRC + [1]),
        ("version-fixed", version + [1])
    ]
}

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<CInt>?, _ argv: UnsafeMutableRawPointer?) -> CInt {
    writeSeedsIfAsked(seeds())
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSlot(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    var b = Array(UnsafeRawBufferPointer(start: start, count: count))
    var control: UInt8 = 0
    if b.count % 512 == 1 { control = b.removeLast() }
    if control & 1 != 0 {
        for offset in stride(from: 0, to: b.count - 511, by: 512) { setCRC(&b, at: offset) }
    }
    func sector(_ i: Int) -> [UInt8] {
        i * 512 + 512 <= b.count ? Array(b[(i * 512)..<(i * 512 + 512)]) : []
    }
    let first = Array(b.prefix(512))

    // 2. and 3. on the first sector, as each kind.
    let header = roundTrip(
        first, magic: SlotArea.headerMagic, "header",
        decode: { (s) throws(SlotDecodeError) in try SlotAreaHeader(decoding: s) }, encode: { $0.encoded() },
        canonical: { canonical($0, names: [36], end: 100, flags: { $0 }) })
    if let h = header {
        check(h.slotCount >= 0 && h.slotCount <= 65535 && h.cluster.utf8.count <= SlotArea.maxName, "header fields out of range")
    }
    _ = roundTrip(
        first, magic: SlotArea.slotMagic, "slot",
        decode: { (s) throws(SlotDecodeError) in try DiskSlot(decoding: s) }, encode: { $0.encoded() },
        canonical: { canonical($0, names: [48, 112], end: 176, flags: { $0 & 7 }) })
    _ = roundTrip(
        first, magic: SlotArea.pillMagic, "pill",
        decode: { (s) throws(SlotDecodeError) in try Pill(decoding: s) }, encode: { $0.encoded() },
        canonical: { canonical($0, names: [36, 100], end: 164, flags: { $0 == 2 ? 2 : 1 }) })

    // 4. The whole area.
    let nodes = max(0, (b.count / 512 - 1) / 2) + (control & 2 != 0 ? 1 : 0)
    let snap = SlotAreaSnapshot(bytes: b, sectorSize: 512, nodes: nodes)
    check(snap.slots.count == nodes && snap.mailboxes.count == nodes, "snapshot has \(snap.slots.count) slots for \(nodes) nodes")
    check(snap.header == (try? SlotAreaHeader(decoding: sector(0))), "snapshot header differs from sector 0's")
    var invalid =
        (try? SlotAreaHeader(decoding: sector(0))) == nil && expectedError(sector(0), magic: SlotArea.headerMagic) != .empty ? 1 : 0
    for i in 0..<nodes {
        let s = sector(SlotArea.slotSector(i)), m = sector(SlotArea.mailboxSector(i))
        check(snap.slots[i] == (try? DiskSlot(decoding: s)), "snapshot slot \(i) differs from its sector's")
        check(snap.mailboxes[i] == (try? Pill(decoding: m)), "snapshot mailbox \(i) differs from its sector's")
        if snap.slots[i] == nil, expectedError(s, magic: SlotArea.slotMagic) != .empty { invalid += 1 }
        if snap.mailboxes[i] == nil, expectedError(m, magic: SlotArea.pillMagic) != .empty { invalid += 1 }
    }
    check(snap.invalid.count == invalid, "snapshot lists \(snap.invalid.count) invalid sectors, expected \(invalid): \(snap.invalid)")
    return 0
}
