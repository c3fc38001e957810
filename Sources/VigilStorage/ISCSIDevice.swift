import CISCSI
#if canImport(Glibc)
    import Glibc
#endif

/// An iSCSI LUN through libiscsi's userspace initiator (no kernel module). Sync calls, on the storage thread.
///
/// libiscsi facts that shape this (docs/storage.md): by default a sync call against a dead target hangs
/// forever, and `iscsi_set_timeout` (whole seconds) does not help while auto-reconnect loops. So
/// auto-reconnect is off, every call has the timeout, and after any failure the context is destroyed and the
/// next cycle logs in again.
final class ISCSIDevice: BlockDevice {
    let portal: String
    let target: String
    let lun: Int32
    let initiator: String
    let timeoutSeconds: Int32
    var ctx: OpaquePointer?
    private(set) var blockSize = 512

    init(portal: String, target: String, lun: Int, initiator: String, timeout: Duration) {
        self.portal = portal
        self.target = target
        self.lun = Int32(lun)
        self.initiator = initiator
        // libiscsi stamps a command with time(NULL) + timeout and fails it once the wall-clock second reaches
        // that: with 1 s, a command sent just before a second boundary "times out" after microseconds. So it
        // gets a whole second more than io_timeout, rounded up; the core enforces io_timeout itself.
        let ns = timeout.nanoseconds
        timeoutSeconds = Int32(max(1, (ns + 999_999_999) / 1_000_000_000) + 1)
    }

    func open() throws(DeviceError) {
        guard ctx == nil else { return }
        guard let c = iscsi_create_context(initiator) else { throw DeviceError("iscsi: cannot create a context") }
        ctx = c
        iscsi_set_targetname(c, target)
        iscsi_set_session_type(c, ISCSI_SESSION_NORMAL)
        iscsi_set_header_digest(c, ISCSI_HEADER_DIGEST_NONE_CRC32C)
        iscsi_set_timeout(c, timeoutSeconds)
        iscsi_set_noautoreconnect(c, 1)
        if iscsi_full_connect_sync(c, portal, lun) != 0 {
            throw failure("login to \(target) at \(portal)")
        }
        guard let task = iscsi_readcapacity16_sync(c, lun) else { throw failure("READ CAPACITY") }
        defer { scsi_free_scsi_task(task) }
        guard task.pointee.status == Int32(SCSI_STATUS_GOOD.rawValue), let raw = scsi_datain_unmarshall(task) else {
            throw failure("READ CAPACITY")
        }
        let cap = raw.assumingMemoryBound(to: scsi_readcapacity16.self).pointee
        if cap.block_length >= 512 { blockSize = Int(cap.block_length) }
    }

    func probe() throws(DeviceError) {
        try open()
        guard let task = iscsi_testunitready_sync(ctx, lun) else { throw failure("TEST UNIT READY") }
        defer { scsi_free_scsi_task(task) }
        guard task.pointee.status == Int32(SCSI_STATUS_GOOD.rawValue) else {
            throw failure("TEST UNIT READY (status \(task.pointee.status))")
        }
    }

    func read(lba: UInt64, blocks: Int) throws(DeviceError) -> [UInt8] {
        try open()
        let n = blocks * blockSize
        guard let task = iscsi_read16_sync(ctx, lun, lba, UInt32(n), Int32(blockSize), 0, 0, 1, 0, 0) else {
            throw failure("READ(16)")
        }
        defer { scsi_free_scsi_task(task) }
        guard task.pointee.status == Int32(SCSI_STATUS_GOOD.rawValue), task.pointee.datain.size >= n,
            let d = task.pointee.datain.data
        else {
            throw failure("READ(16) (status \(task.pointee.status))")
        }
        return Array(UnsafeBufferPointer(start: d, count: n))
    }

    func write(lba: UInt64, data: [UInt8]) throws(DeviceError) {
        try open()
        var copy = data
        let task = copy.withUnsafeMutableBufferPointer { b in
            iscsi_write16_sync(ctx, lun, lba, b.baseAddress, UInt32(b.count), Int32(blockSize), 0, 0, 1, 0, 0)
        }
        guard let task else { throw failure("WRITE(16)") }
        defer { scsi_free_scsi_task(task) }
        guard task.pointee.status == Int32(SCSI_STATUS_GOOD.rawValue) else { throw failure("WRITE(16) (status \(task.pointee.status))") }
    }

    func close() {
        if let c = ctx { iscsi_destroy_context(c) }
        ctx = nil
    }

    private func failure(_ what: String) -> DeviceError {
        let why = ctx.flatMap { iscsi_get_error($0) }.map { String(cString: $0) } ?? "unknown error"
        close()
        return DeviceError("iscsi \(what): \(why)")
    }

    deinit { close() }
}
