import Testing
@testable import VigilStorage

/// AoE frames as `AoEDevice` sends and reads them, without a network.
@Suite struct AoEFrameTests {
    static let me: [UInt8] = [0x02, 0, 0, 0, 0, 0x01]
    static let target: [UInt8] = [0x02, 0, 0, 0, 0, 0x99]

    /// A target's answer to `request`: response flag, the same shelf, slot and tag, addresses swapped.
    static func answer(_ request: AoEFrame, flags: UInt8 = 0x08, error: UInt8 = 0, payload: [UInt8]) -> [UInt8] {
        AoEFrame(
            destination: request.source, source: target, versionFlags: 0x10 | flags, error: error, shelf: request.shelf,
            slot: request.slot, command: request.command, tag: request.tag, payload: payload
        ).encoded
    }

    @Test func requestsHaveAoEsLayout() {
        let q = AoEFrame.queryConfig(source: Self.me, shelf: 0x0102, slot: 3, tag: 0x0A0B_0C0D).encoded
        #expect(
            q == [0xff, 0xff, 0xff, 0xff, 0xff, 0xff] + Self.me + [0x88, 0xA2, 0x10, 0, 0x01, 0x02, 3, 1, 0x0A, 0x0B, 0x0C, 0x0D]
                + [0, 0, 0, 0, 0, 0x10, 0, 0])
        let w = AoEFrame.ata(
            destination: Self.target, source: Self.me, shelf: 1, slot: 2, tag: 7, write: true,
            lba: 0x0605_0403_0201, count: 2, data: [UInt8](repeating: 0xAB, count: 1024)
        ).encoded
        #expect(Array(w[0..<24]) == Self.target + Self.me + [0x88, 0xA2, 0x10, 0, 0, 1, 2, 0, 0, 0, 0, 7])
        #expect(Array(w[24..<36]) == [0x41, 0, 2, 0x34, 1, 2, 3, 4, 5, 6, 0, 0])
        #expect(w.count == 36 + 1024)
        let r = AoEFrame.ata(destination: Self.target, source: Self.me, shelf: 1, slot: 2, tag: 8, write: false, lba: 9, count: 1, data: [])
        #expect(Array(r.payload[0..<4]) == [0x40, 0, 1, 0x24] && r.payload.count == 12)
        #expect(AoEFrame(parsing: w[...])?.encoded == w)
    }

    @Test func repliesAreClassified() {
        let req = AoEFrame.ata(
            destination: Self.target, source: Self.me, shelf: 1, slot: 2, tag: 8, write: false, lba: 9, count: 1, data: [])
        let data = (0..<512).map { UInt8($0 & 0xff) }
        let ok = Self.answer(req, payload: [0x40, 0, 1, 0x40, 9, 0, 0, 0, 0, 0, 0, 0] + data)
        #expect(AoEFrame.reply(ok[...], shelf: 1, slot: 2) == .ok(tag: 8))
        #expect(AoEFrame.readData(ok[...], sectors: 1).map(Array.init) == data)
        #expect(AoEFrame.readData(ok[...], sectors: 2) == nil && AoEFrame.readData(Array(ok.prefix(547))[...], sectors: 1) == nil)
        #expect(AoEFrame.reply(ok[...], shelf: 1, slot: 3) == nil && AoEFrame.reply(ok[...], shelf: 2, slot: 2) == nil, "another target")
        #expect(AoEFrame.reply(req.encoded[...], shelf: 1, slot: 2) == nil, "a request (another initiator's)")
        #expect(AoEFrame.reply(Array(ok.prefix(23))[...], shelf: 1, slot: 2) == nil, "a runt")
        var other = ok
        other[13] = 0x00
        #expect(AoEFrame.reply(other[...], shelf: 1, slot: 2) == nil, "another ethertype")
        #expect(AoEFrame.reply(Self.answer(req, flags: 0x0C, error: 3, payload: [])[...], shelf: 1, slot: 2) == .aoeError(tag: 8, error: 3))
        let ataErr = Self.answer(req, payload: [0x40, 0x04, 1, 0x51, 9, 0, 0, 0, 0, 0, 0, 0])
        #expect(AoEFrame.reply(ataErr[...], shelf: 1, slot: 2) == .ataError(tag: 8, status: 0x51, error: 0x04))
        // A Query Config reply (command 1) has no ATA status, whatever its bytes.
        let qc = AoEFrame.queryConfig(source: Self.me, shelf: 1, slot: 2, tag: 9)
        #expect(AoEFrame.reply(Self.answer(qc, payload: [0, 16, 0, 0, 0, 0x11, 0, 0])[...], shelf: 1, slot: 2) == .ok(tag: 9))
        // Slices that do not start at 0 (the receive buffer) are read at their own offsets.
        let shifted = [UInt8](repeating: 0xEE, count: 5) + ok
        #expect(AoEFrame.reply(shifted[5...], shelf: 1, slot: 2) == .ok(tag: 8))
        #expect(AoEFrame.readData(shifted[5...], sectors: 1).map(Array.init) == data)
    }

    @Test func identifyGivesTheLBA48Capacity() {
        let req = AoEFrame.identify(destination: Self.target, source: Self.me, shelf: 1, slot: 2, tag: 1)
        var words = [UInt8](repeating: 0, count: 512)
        words[200] = 0x00; words[201] = 0x10; words[202] = 0x02  // 0x0002_1000 sectors
        words[206] = 0x01  // word 103: bit 48
        let r = Self.answer(req, payload: [0, 0, 1, 0x40] + [UInt8](repeating: 0, count: 8) + words)
        #expect(AoEFrame.identifyCapacity(r[...]) == 1 << 48 | 0x0002_1000)
        #expect(AoEFrame.identifyCapacity(Array(r.dropLast())[...]) == nil)
    }
}
