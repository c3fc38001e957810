import CLinux
#if canImport(Glibc)
    import Glibc
#endif
import VigilCore

/// A shared block device as the storage thread uses it: opened, read and written by one thread only
/// (implementations are not thread-safe and their calls block, each bounded by the device's timeout).
public protocol BlockDevice: AnyObject {
    /// Bytes per block (each slot-area sector takes one block).
    var blockSize: Int { get }
    /// Connects (iSCSI login, AoE discovery, open) if not connected; cheap when already connected.
    func open() throws(DeviceError)
    /// A liveness probe (iSCSI TEST UNIT READY); a no-op where the medium has none.
    func probe() throws(DeviceError)
    func read(lba: UInt64, blocks: Int) throws(DeviceError) -> [UInt8]
    func write(lba: UInt64, data: [UInt8]) throws(DeviceError)
    /// Drops the connection (the next `open` reconnects).
    func close()
}

/// A device operation that failed or timed out.
public struct DeviceError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Opens devices by URL.
public enum BlockDevices {
    /// A device for `url`; `timeout` bounds each blocking call (iSCSI rounds it up to whole seconds).
    public static func make(_ url: StorageURL, initiator: String, timeout: Duration) -> BlockDevice {
        switch url {
        case let .iscsi(portal, target, lun):
            ISCSIDevice(portal: portal, target: target, lun: lun, initiator: initiator, timeout: timeout)
        case let .aoe(iface, shelf, slot):
            AoEDevice(interface: iface, shelf: shelf, slot: slot, timeout: timeout)
        case let .path(p):
            FileDevice(path: p)
        }
    }
}

/// Slot-area I/O on any block device: sector i of the area is block i of the device.
public enum SlotAreaIO {
    /// Reads the whole area for `nodes` nodes.
    public static func read(_ dev: BlockDevice, nodes: Int) throws(DeviceError) -> SlotAreaSnapshot {
        let bytes = try dev.read(lba: 0, blocks: SlotArea.sectors(nodes: nodes))
        return SlotAreaSnapshot(bytes: bytes, sectorSize: dev.blockSize, nodes: nodes)
    }

    /// Writes one 512-byte sector image as block `sector` (padded with zeros to the block size).
    public static func write(_ dev: BlockDevice, sector: Int, _ bytes: [UInt8]) throws(DeviceError) {
        var b = bytes
        if b.count < dev.blockSize { b += Array(repeating: 0, count: dev.blockSize - b.count) }
        try dev.write(lba: UInt64(sector), data: b)
    }

    /// Runs one core-requested cycle: probe, read the area, then (only if the header is this cluster's) write
    /// this node's slot and the mailboxes. Errors close the device so the next cycle reconnects.
    public static func run(
        _ c: StorageCycle, on dev: BlockDevice, cluster: String, nodes: Int,
        clock: () -> Instant
    ) -> StorageCycleResult {
        let start = clock()
        do {
            try dev.open()
            try dev.probe()
            let snap = try read(dev, nodes: nodes)
            guard let h = snap.header, h.cluster == cluster, h.slotCount >= nodes else {
                // Not our area (or none): never write into it.
                return StorageCycleResult(snapshot: snap, slotWritten: false, mailboxesWritten: [], latency: clock() - start, error: nil)
            }
            try write(dev, sector: SlotArea.slotSector(c.slotIndex), c.slot.encoded())
            var done: [MailboxWrite] = []
            for m in c.mailboxes {
                try write(dev, sector: SlotArea.mailboxSector(m.index), m.pill.encoded())
                done.append(m)
            }
            return StorageCycleResult(snapshot: snap, slotWritten: true, mailboxesWritten: done, latency: clock() - start, error: nil)
        } catch {
            dev.close()
            return StorageCycleResult(
                snapshot: nil, slotWritten: false, mailboxesWritten: [], latency: clock() - start, error: error.message)
        }
    }
}

/// A block device or file, through the kernel (`O_DIRECT` where supported, so reads see other nodes' writes).
final class FileDevice: BlockDevice {
    let path: String
    var fd: Int32 = -1
    let blockSize = 512

    init(path: String) { self.path = path }

    func open() throws(DeviceError) {
        guard fd < 0 else { return }
        fd = Glibc.open(path, O_RDWR | vigil_o_direct() | O_SYNC | O_CLOEXEC)
        if fd < 0, errno == EINVAL { fd = Glibc.open(path, O_RDWR | O_SYNC | O_CLOEXEC) }  // tmpfs: no O_DIRECT
        if fd < 0 { throw DeviceError("open \(path): \(String(cString: strerror(errno)))") }
    }

    func probe() throws(DeviceError) {}

    func read(lba: UInt64, blocks: Int) throws(DeviceError) -> [UInt8] {
        try open()
        let n = blocks * blockSize
        let buf = try aligned(n)
        defer { free(buf) }
        let r = pread(fd, buf, n, off_t(lba) * off_t(blockSize))
        guard r == n else { throw DeviceError("read \(path): \(r < 0 ? String(cString: strerror(errno)) : "short read \(r) of \(n)")") }
        return Array(UnsafeRawBufferPointer(start: buf, count: n))
    }

    func write(lba: UInt64, data: [UInt8]) throws(DeviceError) {
        try open()
        let buf = try aligned(data.count)
        defer { free(buf) }
        data.withUnsafeBytes { buf.copyMemory(from: $0.baseAddress!, byteCount: data.count) }
        let r = pwrite(fd, buf, data.count, off_t(lba) * off_t(blockSize))
        guard r == data.count else { throw DeviceError("write \(path): \(r < 0 ? String(cString: strerror(errno)) : "short write")") }
    }

    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    private func aligned(_ n: Int) throws(DeviceError) -> UnsafeMutableRawPointer {
        var p: UnsafeMutableRawPointer?
        guard posix_memalign(&p, 4096, max(n, 512)) == 0, let p else { throw DeviceError("out of memory") }
        return p
    }

    deinit { close() }
}
