import CLinux
import Foundation
#if canImport(Glibc)
    import Glibc
#endif
import VigilCore

/// An ATA-over-Ethernet target (e.g. vblade) through a userspace client on a raw AF_PACKET socket
/// (ethertype 0x88A2): no `aoe` kernel module needed. Query Config finds the target's MAC, ATA IDENTIFY its
/// size; reads and writes are ATA READ/WRITE EXT, as many sectors per frame as the MTU allows, all frames of
/// one call sent at once and the unanswered ones retransmitted until the deadline.
final class AoEDevice: BlockDevice {
    static let etherType = AoEFrame.etherType
    let interface: String
    let shelf: UInt16
    let slot: UInt8
    let timeout: Duration
    let blockSize = 512
    var fd: Int32 = -1
    var ifindex: Int32 = 0
    var myMAC: [UInt8] = []
    var targetMAC: [UInt8]?
    var sectorsPerFrame = 2
    var nextTag: UInt32 = 1
    /// Sectors on the target (from ATA IDENTIFY).
    var capacity: UInt64 = 0

    init(interface: String, shelf: UInt16, slot: UInt8, timeout: Duration) {
        self.interface = interface
        self.shelf = shelf
        self.slot = slot
        self.timeout = timeout
    }

    func open() throws(DeviceError) {
        if fd < 0 {
            ifindex = Int32(if_nametoindex(interface))
            guard ifindex > 0 else { throw DeviceError("aoe: no interface \(interface)") }
            guard let mac = Self.sysfs("/sys/class/net/\(interface)/address").flatMap(Self.parseMAC) else {
                throw DeviceError("aoe: no MAC address for \(interface)")
            }
            myMAC = mac
            let mtu = Self.sysfs("/sys/class/net/\(interface)/mtu").flatMap { Int($0) } ?? 1500
            sectorsPerFrame = max(1, min(255, (mtu - 10 - 12) / 512))
            let s = socket(AF_PACKET, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), Int32(Self.etherType.bigEndian))
            guard s >= 0 else { throw DeviceError("aoe: raw socket: \(String(cString: strerror(errno))) (needs CAP_NET_RAW)") }
            var sll = sockaddr_ll()
            sll.sll_family = UInt16(AF_PACKET)
            sll.sll_protocol = Self.etherType.bigEndian
            sll.sll_ifindex = ifindex
            let r = withUnsafePointer(to: &sll) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, socklen_t(MemoryLayout<sockaddr_ll>.size)) }
            }
            guard r == 0 else {
                Glibc.close(s)
                throw DeviceError("aoe: bind to \(interface): \(String(cString: strerror(errno)))")
            }
            fd = s
        }
        if targetMAC == nil { try discover() }
    }

    func probe() throws(DeviceError) {}

    /// Query Config to the broadcast address for our shelf.slot, then ATA IDENTIFY for the size.
    func discover() throws(DeviceError) {
        let tag = takeTag()
        let q = AoEFrame.queryConfig(source: myMAC, shelf: shelf, slot: slot, tag: tag)
        let replies = try exchange([tag: q.encoded], deadline: timeout, broadcast: true)
        guard let reply = replies[tag] else { throw DeviceError("aoe: e\(shelf).\(slot) did not answer Query Config on \(interface)") }
        let mac = Array(reply[6..<12])  // the reply's source
        targetMAC = mac
        let idTag = takeTag()
        let id = AoEFrame.identify(destination: mac, source: myMAC, shelf: shelf, slot: slot, tag: idTag)
        let ident = try exchange([idTag: id.encoded], deadline: timeout)
        guard let r = ident[idTag], let c = AoEFrame.identifyCapacity(r[...]) else {
            throw DeviceError("aoe: e\(shelf).\(slot) did not answer ATA IDENTIFY")
        }
        capacity = c
    }

    func read(lba: UInt64, blocks: Int) throws(DeviceError) -> [UInt8] {
        try open()
        var frames: [UInt32: [UInt8]] = [:]
        var order: [(UInt32, Int)] = []
        var i = 0
        while i < blocks {
            let n = min(sectorsPerFrame, blocks - i)
            let tag = takeTag()
            frames[tag] = ata(tag: tag, write: false, lba: lba + UInt64(i), count: n, data: [])
            order.append((tag, n))
            i += n
        }
        let replies = try exchange(frames, deadline: timeout)
        var out: [UInt8] = []
        for (tag, n) in order {
            guard let r = replies[tag] else {
                throw DeviceError("aoe: e\(shelf).\(slot): READ EXT unanswered within \(timeout.compactDescription)")
            }
            guard let data = AoEFrame.readData(r[...], sectors: n) else {
                throw DeviceError("aoe: e\(shelf).\(slot): short READ EXT reply")
            }
            out += data
        }
        return out
    }

    func write(lba: UInt64, data: [UInt8]) throws(DeviceError) {
        try open()
        let blocks = data.count / 512
        var frames: [UInt32: [UInt8]] = [:]
        var i = 0
        while i < blocks {
            let n = min(sectorsPerFrame, blocks - i)
            let tag = takeTag()
            frames[tag] = ata(tag: tag, write: true, lba: lba + UInt64(i), count: n, data: Array(data[i * 512..<(i + n) * 512]))
            i += n
        }
        let replies = try exchange(frames, deadline: timeout)
        if replies.count < frames.count {
            throw DeviceError("aoe: e\(shelf).\(slot): WRITE EXT unanswered within \(timeout.compactDescription)")
        }
    }

    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
        targetMAC = nil
    }

    deinit { close() }

    // MARK: - Frames

    private func takeTag() -> UInt32 {
        defer { nextTag = nextTag &+ 1 & 0x7fff_ffff }
        return nextTag
    }

    private func ata(tag: UInt32, write: Bool, lba: UInt64, count: Int, data: [UInt8]) -> [UInt8] {
        AoEFrame.ata(
            destination: targetMAC!, source: myMAC, shelf: shelf, slot: slot, tag: tag, write: write, lba: lba,
            count: count, data: data
        ).encoded
    }

    /// Sends every frame, collects the replies by tag, resends the unanswered ones every quarter of the
    /// deadline, and gives up at the deadline (returning what did answer). A reply with the error flag or an
    /// ATA error status fails the call.
    private func exchange(_ frames: [UInt32: [UInt8]], deadline: Duration, broadcast: Bool = false) throws(DeviceError) -> [UInt32: [UInt8]]
    {
        var replies: [UInt32: [UInt8]] = [:]
        let start = Self.now()
        let end = start + deadline.nanoseconds
        let resend = max(deadline.nanoseconds / 4, 20_000_000)
        var nextSend: Int64 = 0
        var buf = [UInt8](repeating: 0, count: 9216)
        while replies.count < frames.count {
            let t = Self.now()
            if t >= end { break }
            if t >= nextSend {
                for (tag, f) in frames where replies[tag] == nil { try send(f) }
                nextSend = t + resend
            }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let wait = Int32(max(1, min(end, nextSend) - t) / 1_000_000)
            let p = poll(&pfd, 1, max(1, wait))
            if p < 0, errno != EINTR { throw DeviceError("aoe: poll: \(String(cString: strerror(errno)))") }
            guard p > 0 else { continue }
            while true {
                let n = recv(fd, &buf, buf.count, Int32(MSG_DONTWAIT))
                if n <= 0 { break }
                guard let reply = AoEFrame.reply(buf[0..<n], shelf: shelf, slot: slot),
                    frames[reply.tag] != nil, replies[reply.tag] == nil
                else { continue }
                switch reply {
                case .ok: replies[reply.tag] = Array(buf[0..<n])
                case let .aoeError(_, e): throw DeviceError("aoe: e\(shelf).\(slot) answered with AoE error \(e)")
                case let .ataError(_, status, e): throw DeviceError("aoe: e\(shelf).\(slot): ATA error (status \(status), error \(e))")
                }
            }
        }
        return replies
    }

    private func send(_ frame: [UInt8]) throws(DeviceError) {
        var f = frame
        if f.count < 60 { f += [UInt8](repeating: 0, count: 60 - f.count) }
        let n = Glibc.send(fd, f, f.count, 0)
        if n != f.count { throw DeviceError("aoe: send on \(interface): \(String(cString: strerror(errno)))") }
    }

    static func now() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    static func sysfs(_ path: String) -> String? {
        guard let f = fopen(path, "r") else { return nil }
        defer { fclose(f) }
        var line = [CChar](repeating: 0, count: 64)
        guard fgets(&line, 64, f) != nil else { return nil }
        let bytes = line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func parseMAC(_ s: String) -> [UInt8]? {
        let parts = s.split(separator: ":").compactMap { UInt8($0, radix: 16) }
        return parts.count == 6 ? parts : nil
    }
}
