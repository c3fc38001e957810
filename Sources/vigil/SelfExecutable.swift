import Foundation

/// This program's file, symlinks resolved. argv[0] when it names a path (so `vigil restart` runs the file at
/// that path again, an upgraded one if it was replaced); when it was found through PATH (no `/`), the file the
/// kernel ran (/proc/self/exe), not a file of that name in the current directory.
func selfExecutable() -> URL {
    let a0 = CommandLine.arguments[0]
    if a0.contains("/") { return URL(fileURLWithPath: a0).resolvingSymlinksInPath() }
    if let p = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"), !p.hasSuffix(" (deleted)") {
        return URL(fileURLWithPath: p)
    }
    for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin").split(separator: ":") {
        let candidate = "\(dir)/\(a0)"
        if FileManager.default.isExecutableFile(atPath: candidate) { return URL(fileURLWithPath: candidate).resolvingSymlinksInPath() }
    }
    return URL(fileURLWithPath: "/usr/bin/vigil")
}
