import CSystemd
import Foundation
import Logging

/// sd_notify and the journal through libsystemd. Every call is a no-op when not under systemd.
public enum Systemd {
    /// Sends a notification (READY=1, STATUS=…, WATCHDOG=1, STOPPING=1). Returns whether systemd listens.
    @discardableResult
    public static func notify(_ state: String) -> Bool { sd_notify(0, state) > 0 }

    /// The watchdog period systemd expects, if WatchdogSec is set for this process.
    public static func watchdogInterval() -> Duration? {
        var usec: UInt64 = 0
        guard sd_watchdog_enabled(0, &usec) > 0, usec > 0 else { return nil }
        return .microseconds(Int64(usec))
    }

    /// Whether journald's native socket exists.
    public static var journalAvailable: Bool { access("/run/systemd/journal/socket", F_OK) == 0 }

    /// Whether stderr is already connected to the journal (systemd sets JOURNAL_STREAM then).
    public static var stderrIsJournal: Bool { ProcessInfo.processInfo.environment["JOURNAL_STREAM"] != nil }

    /// Writes one structured entry with sd_journal_sendv (sd_journal_send is C-variadic, so Swift cannot call it).
    static func journal(_ fields: [String]) {
        let cstrings = fields.map { strdup($0) }
        defer { cstrings.forEach { free($0) } }
        var iov = cstrings.map { iovec(iov_base: UnsafeMutableRawPointer($0), iov_len: strlen($0!)) }
        _ = sd_journal_sendv(&iov, Int32(iov.count))
    }
}

/// A swift-log handler that writes to the systemd journal with PRIORITY and the node's name as fields.
public struct JournalLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    let identifier: String
    /// SYSLOG_FACILITY (Heartbeat's logfacility), as its number; nil: the journal's default.
    let facility: Int?

    public init(identifier: String, facility: String? = nil) {
        self.identifier = identifier
        self.facility = facility.flatMap { Self.facilities.firstIndex(of: $0) }
    }

    /// syslog facility names in the order of their numbers (kern = 0 ... local7 = 23).
    static let facilities = [
        "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv",
        "ftp", "", "", "", "", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"
    ]

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let message = event.message
        let extra = event.metadata
        let priority =
            switch event.level {
            case .trace, .debug: 7
            case .info: 6
            case .notice: 5
            case .warning: 4
            case .error: 3
            case .critical: 2
            }
        var fields = ["MESSAGE=\(message)", "PRIORITY=\(priority)", "SYSLOG_IDENTIFIER=\(identifier)"]
        if let f = facility { fields.append("SYSLOG_FACILITY=\(f)") }
        for (k, v) in metadata.merging(extra ?? [:], uniquingKeysWith: { $1 }) {
            fields.append("VIGIL_\(k.uppercased())=\(v)")
        }
        Systemd.journal(fields)
    }
}

/// A swift-log handler that appends lines to a file (Heartbeat's logfile), opened once in append mode.
public struct FileLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    let fd: Int32

    /// Opens (creates, mode 0640) `path` for appending; nil with the reason if it cannot.
    public static func open(path: String) -> Result<FileLogHandler, AgentError> {
        let fd = Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
        guard fd >= 0 else { return .failure(AgentError("log_file \(path): \(String(cString: strerror(errno)))")) }
        return .success(FileLogHandler(fd: fd))
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var tv = timeval()
        gettimeofday(&tv, nil)
        var t = time_t(tv.tv_sec)
        var tm = tm()
        localtime_r(&t, &tm)
        var buf = [CChar](repeating: 0, count: 32)
        strftime(&buf, buf.count, "%Y/%m/%d_%H:%M:%S", &tm)
        let stamp = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let node = metadata["node"].map { "\($0) " } ?? ""
        let line = "vigil[\(getpid())]: \(stamp) \(node)\(event.level.rawValue.uppercased()): \(event.message)\n"
        _ = line.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count - 1) }
    }
}
