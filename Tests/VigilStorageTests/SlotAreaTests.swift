import Foundation
import Testing
import VigilCore
import VigilSimulation
@testable import VigilStorage

/// The slot-area codec, device URLs, and one storage cycle on a real file through `FileDevice`.
@Suite struct SlotAreaTests {
    static let header = SlotAreaHeader(
        cluster: "prod", slotCount: 3, interval: .milliseconds(200), ioTimeout: .seconds(1),
        watchdogTimeout: .seconds(2), msgwait: .seconds(4), created: 1_795_000_000)
    static let slot = DiskSlot(
        node: "n2", incarnation: 1_795_410_800_836_851, counter: 42, term: 7, coordinator: "n1",
        quorate: true, fenced: false, leaving: false, ackSerial: 0, activeGroups: 0b101)
    static let pill = Pill(target: "n3", maxIncarnation: 99, from: "n1", term: 7, serial: 7 << 32 | 1)

    @Test func everySectorKindRoundTrips() throws {
        #expect(try SlotAreaHeader(decoding: Self.header.encoded()) == Self.header)
        #expect(try DiskSlot(decoding: Self.slot.encoded()) == Self.slot)
        var fenced = Self.slot
        fenced.fenced = true; fenced.ackSerial = 12; fenced.leaving = true; fenced.quorate = false
        #expect(try DiskSlot(decoding: fenced.encoded()) == fenced)
        #expect(try Pill(decoding: Self.pill.encoded()) == Self.pill)
        var cleared = Self.pill
        cleared.cleared = true
        #expect(try Pill(decoding: cleared.encoded()) == cleared)
        #expect(Self.slot.encoded().count == SlotArea.sectorBytes)
    }

    @Test func emptyForeignAndCorruptSectorsAreRecognised() {
        #expect(throws: SlotDecodeError.empty) { try DiskSlot(decoding: [UInt8](repeating: 0, count: 512)) }
        #expect(throws: SlotDecodeError.short(100)) { try DiskSlot(decoding: [UInt8](repeating: 1, count: 100)) }
        // A pill is not a slot, a slot is not a header.
        #expect(throws: SlotDecodeError.badMagic("VIGILPIL")) { try DiskSlot(decoding: Self.pill.encoded()) }
        #expect(throws: SlotDecodeError.badMagic("VIGILSLT")) { try SlotAreaHeader(decoding: Self.slot.encoded()) }
        var b = Self.slot.encoded()
        b[40] ^= 0x01
        #expect(throws: SlotDecodeError.badChecksum) { try DiskSlot(decoding: b) }
        // A future layout version is refused, not misread (checksum fixed up so only the version is wrong).
        var v = Self.header.encoded()
        v[9] = 9
        let c = crc32(Array(v.prefix(508)))
        v[508] = UInt8(c >> 24); v[509] = UInt8((c >> 16) & 0xff); v[510] = UInt8((c >> 8) & 0xff); v[511] = UInt8(c & 0xff)
        #expect(throws: SlotDecodeError.unsupportedVersion(9)) { try SlotAreaHeader(decoding: v) }
    }

    @Test func crcMatchesTheStandardCheckValue() {
        #expect(crc32(Array("123456789".utf8)) == 0xCBF4_3926)
    }

    /// Seeded fuzzing of the decoders: random sectors and mutated valid ones never crash, and every single-byte
    /// change of a valid sector is rejected (CRC-32 detects all of them).
    @Test func fuzzedSectorsNeverCrashAndEveryByteFlipIsCaught() {
        var rng = SplitMix64(seed: 0x5107)
        let valid = [Self.header.encoded(), Self.slot.encoded(), Self.pill.encoded()]
        var accepted = 0
        for i in 0..<30_000 {
            var b: [UInt8]
            if i % 3 == 0 {
                b = (0..<Int.random(in: 0...600, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            } else {
                b = valid[i % 3]
                let pos = Int.random(in: 0..<512, using: &rng)
                b[pos] ^= UInt8.random(in: 1...255, using: &rng)
            }
            if (try? SlotAreaHeader(decoding: b)) != nil { accepted += 1 }
            if (try? DiskSlot(decoding: b)) != nil { accepted += 1 }
            if (try? Pill(decoding: b)) != nil { accepted += 1 }
            _ = SlotAreaSnapshot(bytes: b + b + b, sectorSize: 512, nodes: 1)
        }
        #expect(accepted == 0)
    }

    @Test func snapshotDecodesTheWholeAreaAndListsInvalidSectors() {
        var bytes = Self.header.encoded()
        bytes += [UInt8](repeating: 0, count: 512)  // slot 0 empty
        bytes += [UInt8](repeating: 0, count: 512)  // mailbox 0 empty
        bytes += Self.slot.encoded()  // slot 1
        bytes += Self.pill.encoded()  // mailbox 1
        bytes += [UInt8](repeating: 0xAB, count: 512)  // slot 2: garbage
        bytes += [UInt8](repeating: 0, count: 512)
        let s = SlotAreaSnapshot(bytes: bytes, sectorSize: 512, nodes: 3)
        #expect(s.header == Self.header)
        #expect(s.slots == [nil, Self.slot, nil])
        #expect(s.mailboxes == [nil, Self.pill, nil])
        #expect(s.invalid.count == 1 && s.invalid[0].hasPrefix("slot 2"))
    }

    @Test func deviceURLsParseAndBadOnesSayWhatIsExpected() throws {
        #expect(
            try StorageURL.parse("iscsi://10.0.0.5/iqn.2026-11.org.x:slots/1")
                == .iscsi(portal: "10.0.0.5:3260", target: "iqn.2026-11.org.x:slots", lun: 1))
        #expect(try StorageURL.parse("iscsi://10.0.0.5:3261/iqn.x/0") == .iscsi(portal: "10.0.0.5:3261", target: "iqn.x", lun: 0))
        #expect(try StorageURL.parse("aoe://eth1/1.2") == .aoe(interface: "eth1", shelf: 1, slot: 2))
        #expect(try StorageURL.parse("/dev/disk/by-id/wwn-1") == .path("/dev/disk/by-id/wwn-1"))
        #expect(try StorageURL.parse("file:///tmp/x") == .path("/tmp/x"))
        for bad in ["iscsi://host/iqn", "iscsi://host/iqn/x", "aoe://eth1/1", "aoe://eth1/65535.1", "nfs://x", "relative/path"] {
            #expect(throws: StorageURLError.self) { try StorageURL.parse(bad) }
        }
        do { _ = try StorageURL.parse("aoe://eth1") } catch { #expect(error.description.contains("aoe://INTERFACE/SHELF.SLOT")) }
    }

    /// One cycle on a real file: reads the area, writes the slot and a mailbox; a foreign header is never written.
    @Test func aCycleOnAFileWritesOnlyIntoItsOwnClustersArea() throws {
        let path = NSTemporaryDirectory() + "vigil-slots-\(getpid()).img"
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(FileManager.default.createFile(atPath: path, contents: Data(count: 64 * 512)))
        let dev = BlockDevices.make(.path(path), initiator: "", timeout: .seconds(1))
        try SlotAreaIO.write(dev, sector: 0, Self.header.encoded())
        let clock = { Instant(nanoseconds: Int64(DispatchTime.now().uptimeNanoseconds)) }
        let cycle = StorageCycle(
            device: 0, slotIndex: 1, slot: Self.slot, mailboxes: [MailboxWrite(index: 2, pill: Self.pill)],
            deadline: .seconds(1))
        let r = SlotAreaIO.run(cycle, on: dev, cluster: "prod", nodes: 3, clock: clock)
        #expect(r.error == nil && r.slotWritten && r.mailboxesWritten.count == 1)
        let back = try SlotAreaIO.read(dev, nodes: 3)
        #expect(back.slots[1] == Self.slot)
        #expect(back.mailboxes[2] == Self.pill)
        // Another cluster's area: read, reported, never written.
        let r2 = SlotAreaIO.run(cycle, on: dev, cluster: "other", nodes: 3, clock: clock)
        #expect(!r2.slotWritten && r2.snapshot?.header?.cluster == "prod")
        // A missing device fails the cycle with the reason.
        let gone = BlockDevices.make(.path(path + ".missing"), initiator: "", timeout: .seconds(1))
        let r3 = SlotAreaIO.run(cycle, on: gone, cluster: "prod", nodes: 3, clock: clock)
        #expect(r3.snapshot == nil && r3.error?.contains("No such file") == true)
        dev.close()
    }
}
