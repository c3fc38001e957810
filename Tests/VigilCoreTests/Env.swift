import Foundation

enum ProcessInfoShim {
    static func environment(_ key: String) -> String? { ProcessInfo.processInfo.environment[key] }
}
