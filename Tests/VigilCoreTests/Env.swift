import Foundation

enum ProcessInfoShim {
    static func environment(_ key: String) -> String? { ProcessInfo.processInfo.environment[key] }
}

enum JSONEncoderShim {
    static func encode<T: Encodable>(_ v: T) throws -> Data { try JSONEncoder().encode(v) }
}

enum JSONObjectShim {
    static func parse(_ d: Data) -> [String: Any]? { try? JSONSerialization.jsonObject(with: d) as? [String: Any] }
}
