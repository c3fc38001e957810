import Foundation
import Testing
import VigilCore
import VigilSimulation
@testable import VigilStorage

/// Seeded random and mutated-valid inputs for what VigilStorage reads off a disk or the network: slot-area
/// sectors (header, slot, pill, whole snapshots) and AoE frames, with the properties bench/fuzz.sh's `slot` and
/// `aoe` harnesses check. The same seed every run; VIGIL_FUZZ_ITERATIONS=N runs N / 20,000 times as many.
@Suite struct RandomInputTests {
    static let scale = Double(ProcessInfo.processInfo.environment["VIGIL_FUZZ_ITERATIONS"] ?? "").map { $0 / 20_000 } ?? 1
    static func iterations(_ n: Int) -> Int { max(1, Int(Double(n) * scale)) }

    /// 1 to 4 random edits of bytes (overwrite, set to 0 or 0xff, or a small change), length kept.
    static func mutate(_ input: [UInt8], _ rng: inout SplitMix64) -> [UInt8] {
        var b = input
        guard !b.isEmpty else { return b }
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            let i = Int.random(in: 0..<b.count, using: &rng)
            switch Int.random(in: 0...3, using: &rng) {
            case 0: b[i] = UInt8.random(in: 0...255, using: &rng)
            case 1: b[i] = 0
            case 2: b[i] = 0xff
            default: b[i] &+= UInt8.random(in: 1...3, using: &rng)
            }
        }
        return b
    }

    static func setCRC(_ s: inout [UInt8]) {
        let c = crc32(Array(s[0..<508]))
        for k in 0..<4 { s[508 + k] = UInt8((c >> UInt32(24 - 8 * k)) & 0xff) }
    }

    /// The error a decoder must throw before it reads names, in check order (nil: the sector passes them).
    static func expectedError(_ s: [UInt8], magic: [UInt8]) -> SlotDecodeError? {
        guard s.count >= 512 else { return .short(s.count) }
        let sector = Array(s.prefix(512))
        if sector.allSatisfy({ $0 == 0 }) { return .empty }
        guard Array(sector.prefix(8)) == magic else {
            return .badMagic(String(decoding: sector.prefix(8).map { (32...126).contains($0) ? $0 : 46 }, as: UTF8.self))
        }
        guard crc32(Array(sector.prefix(508))) == sector[508..<512].reduce(UInt32(0), { $0 << 8 | UInt32($1) }) else { return .badChecksum }
        let version = UInt16(sector[8]) << 8 | UInt16(sector[9])
        return version == SlotArea.layoutVersion ? nil : .unsupportedVersion(version)
    }

    /// The sector as the encoder would write what the decoder read: names' tails and the padding zeroed, the
    /// flag word canonical, the CRC recomputed.
    static func canonical(_ s: [UInt8], names: [Int], end: Int, flags: (UInt16) -> UInt16) -> [UInt8] {
        var c = Array(s.prefix(512))
        let f = flags(UInt16(c[10]) << 8 | UInt16(c[11]))
        c[10] = UInt8(f >> 8); c[11] = UInt8(f & 0xff)
        for at in names { for k in (at + 1 + Int(c[at]))..<(at + 1 + SlotArea.maxName) { c[k] = 0 } }
        for k in end..<508 { c[k] = 0 }
        setCRC(&c)
        return c
    }

    /// Decodes with `decode`; the error must be the expected one (.badName only after every other check), and
    /// a decoded value must re-encode to the canonical sector and decode to itself.
    static func check<T: Equatable>(
        _ s: [UInt8], magic: [UInt8], decode: ([UInt8]) throws(SlotDecodeError) -> T,
        encode: (T) -> [UInt8], canonical: ([UInt8]) -> [UInt8]
    ) -> Bool {
        let expected = expectedError(s, magic: magic)
        do {
            let v = try decode(s)
            #expect(expected == nil)
            #expect(encode(v) == canonical(s), "re-encoding \(Array(s.prefix(512)))")
            #expect((try? decode(encode(v))) == v)
            return true
        } catch {
            #expect(error == (expected ?? .badName), "\(error), expected \(expected ?? .badName)")
            return false
        }
    }

    @Test func slotAreaSectors() {
        var rng = SplitMix64(seed: 0x51_0712)
        let valid = [
            SlotAreaTests.header.encoded(), SlotAreaTests.slot.encoded(), SlotAreaTests.pill.encoded(),
            DiskSlot(
                node: String(repeating: "é", count: 31) + "x", incarnation: 1, counter: 2, term: 3,
                coordinator: String(repeating: "n", count: 63), quorate: false, fenced: true, leaving: true,
                ackSerial: 4, activeGroups: .max
            ).encoded()
        ]
        var decoded = 0
        for i in 0..<Self.iterations(16_000) {
            var s: [UInt8]
            switch i % 8 {
            case 0: s = (0..<Int.random(in: 0...520, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            case 1: s = Self.mutate(valid[i / 8 % valid.count], &rng)  // the CRC catches it
            default:
                // Mutate, then fix the CRC up so the decoders get past it (magic and version are mutated too).
                s = Self.mutate(valid[i % valid.count], &rng)
                Self.setCRC(&s)
            }
            let ok = [
                Self.check(
                    s, magic: SlotArea.headerMagic, decode: { (s) throws(SlotDecodeError) in try SlotAreaHeader(decoding: s) },
                    encode: { $0.encoded() }, canonical: { Self.canonical($0, names: [36], end: 100, flags: { $0 }) }),
                Self.check(
                    s, magic: SlotArea.slotMagic, decode: { (s) throws(SlotDecodeError) in try DiskSlot(decoding: s) },
                    encode: { $0.encoded() }, canonical: { Self.canonical($0, names: [48, 112], end: 176, flags: { $0 & 7 }) }),
                Self.check(
                    s, magic: SlotArea.pillMagic, decode: { (s) throws(SlotDecodeError) in try Pill(decoding: s) },
                    encode: { $0.encoded() }, canonical: { Self.canonical($0, names: [36, 100], end: 164, flags: { $0 == 2 ? 2 : 1 }) })
            ]
            decoded += ok.filter { $0 }.count
        }
        #expect(decoded > Self.iterations(16_000) / 4, "the CRC fix-up reaches the fields: \(decoded)")
    }

    /// A whole area: the snapshot holds what decoding each sector gives, and lists every sector that is
    /// neither valid nor all zero (missing sectors count as short).
    @Test func slotAreaSnapshots() {
        var rng = SplitMix64(seed: 0xA4EA)
        let empty = [UInt8](repeating: 0, count: 512)
        let area =
            SlotAreaTests.header.encoded() + empty + empty + SlotAreaTests.slot.encoded() + SlotAreaTests.pill.encoded()
            + SlotAreaTests.slot.encoded() + empty
        for i in 0..<Self.iterations(2_400) {
            var b = Self.mutate(area, &rng)
            if i % 2 == 0 {
                for o in stride(from: 0, to: b.count, by: 512) {
                    var s = Array(b[o..<o + 512]); Self.setCRC(&s); b.replaceSubrange(o..<o + 512, with: s)
                }
            }
            if i % 3 == 0 { b.removeLast(Int.random(in: 0...1024, using: &rng)) }
            let nodes = Int.random(in: 0...4, using: &rng)
            let snap = SlotAreaSnapshot(bytes: b, sectorSize: 512, nodes: nodes)
            func sector(_ k: Int) -> [UInt8] { k * 512 + 512 <= b.count ? Array(b[(k * 512)..<(k * 512 + 512)]) : [] }
            #expect(snap.slots.count == nodes && snap.mailboxes.count == nodes)
            #expect(snap.header == (try? SlotAreaHeader(decoding: sector(0))))
            var invalid = snap.header == nil && Self.expectedError(sector(0), magic: SlotArea.headerMagic) != .empty ? 1 : 0
            for n in 0..<nodes {
                let s = sector(SlotArea.slotSector(n)), m = sector(SlotArea.mailboxSector(n))
                #expect(snap.slots[n] == (try? DiskSlot(decoding: s)) && snap.mailboxes[n] == (try? Pill(decoding: m)))
                if snap.slots[n] == nil, Self.expectedError(s, magic: SlotArea.slotMagic) != .empty { invalid += 1 }
                if snap.mailboxes[n] == nil, Self.expectedError(m, magic: SlotArea.pillMagic) != .empty { invalid += 1 }
            }
            #expect(snap.invalid.count == invalid, "\(snap.invalid)")
        }
    }

    /// AoE frames: parsed frames lay out to their bytes; a reply is classified by its own header only; data and
    /// capacity only from frames long enough; slices that do not start at 0 read the same.
    @Test func aoeFrames() {
        var rng = SplitMix64(seed: 0xA0E)
        let me: [UInt8] = [2, 0, 0, 0, 0, 1], target: [UInt8] = [2, 0, 0, 0, 0, 9]
        let read = AoEFrame.ata(destination: target, source: me, shelf: 1, slot: 2, tag: 3, write: false, lba: 5, count: 2, data: [])
        func answer(_ r: AoEFrame, flags: UInt8 = 0x08, _ payload: [UInt8]) -> [UInt8] {
            AoEFrame(
                destination: r.source, source: target, versionFlags: 0x10 | flags, shelf: r.shelf, slot: r.slot,
                command: r.command, tag: r.tag, payload: payload
            ).encoded
        }
        let status: [UInt8] = [0, 0, 0, 0x40, 0, 0, 0, 0, 0, 0, 0, 0]
        let frames = [
            answer(read, status + (0..<1024).map { UInt8($0 & 0xff) }), answer(read, flags: 0x0C, []),
            answer(AoEFrame.queryConfig(source: me, shelf: 1, slot: 2, tag: 1), [0, 16, 0, 0, 0, 0x11, 0, 0]),
            answer(read, [0, 4, 0, 0x51] + status.dropFirst(4)), read.encoded
        ]
        var replies = 0
        for i in 0..<Self.iterations(24_000) {
            var b =
                i % 4 == 0
                ? (0..<Int.random(in: 0...64, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                : Self.mutate(frames[i % frames.count], &rng)
            if i % 7 == 0 { b.removeLast(Int.random(in: 0...min(b.count, 600), using: &rng)) }
            let inside = [UInt8](repeating: 0xEE, count: 3) + b
            let slice = inside[3...]
            let f = AoEFrame(parsing: b[...])
            #expect((f != nil) == (b.count >= 24 && b[12] == 0x88 && b[13] == 0xA2))
            #expect(AoEFrame(parsing: slice) == f && f.map(\.encoded) ?? b == b)
            let r = AoEFrame.reply(b[...], shelf: 1, slot: 2)
            #expect(AoEFrame.reply(slice, shelf: 1, slot: 2) == r)
            if let r, let f {
                replies += 1
                #expect(f.isResponse && f.shelf == 1 && f.slot == 2 && r.tag == f.tag)
                switch r {
                case .ok: #expect(!f.isError && !(f.command == 0 && b.count >= 36 && b[27] & 1 != 0))
                case let .aoeError(_, e): #expect(f.isError && e == b[15])
                case let .ataError(_, s, e): #expect(!f.isError && f.command == 0 && s == b[27] && e == b[25] && s & 1 != 0)
                }
            } else if let f {
                #expect(!f.isResponse || f.shelf != 1 || f.slot != 2)
            } else {
                #expect(r == nil)
            }
            #expect(
                (AoEFrame.identifyCapacity(b[...]) != nil) == (b.count >= 548)
                    && AoEFrame.identifyCapacity(slice) == AoEFrame.identifyCapacity(b[...]))
            for n in [0, 1, 2] {
                let d = AoEFrame.readData(b[...], sectors: n)
                #expect(
                    (d != nil) == (b.count >= 36 + 512 * n) && d.map(Array.init) == AoEFrame.readData(slice, sectors: n).map(Array.init))
            }
        }
        #expect(replies > Self.iterations(24_000) / 10)
    }
}
