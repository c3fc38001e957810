import ArgumentParser
import Crypto
import Foundation
import VigilConfig
import VigilCore
import VigilWire

/// Tools for testing a cluster's defences. Hidden from the main help.
struct Debug: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Testing tools.", shouldDisplay: false,
        subcommands: [Inject.self])

    /// Sends crafted packets to an agent, to check that they are dropped and counted.
    struct Inject: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send crafted packets: garbage, truncated, bad-version, wrong-cluster, wrong-key, replay.")
        @OptionGroup var options: ConfigOption
        @Option(help: "Target address.") var to: String
        @Option(help: "Target port (default: the config's).") var port: Int?
        @Option(help: "garbage | truncated | bad-version | wrong-cluster | wrong-key | replay") var kind: String
        @Option(help: "Sender name to claim.") var sender: String?
        @Option(help: "Destination node name (for replay).") var destination: String = ""
        @Option(help: "Incarnation to claim (for replay: the sender's current one).") var incarnation: UInt64 = 1
        @Option(help: "Sequence number (for replay: an old one).") var sequence: UInt64 = 1
        @Option(help: "Link index to claim.") var link: UInt8 = 0
        @Option(help: "How many packets.") var count: Int = 1

        func run() throws {
            let c = try options.load()
            let key = try ClusterKey.load(path: c.keyFile).symmetricKey
            let from = sender ?? c.spec.nodes[0].name
            let msg = Message(
                kind: .heartbeat, clusterID: c.spec.clusterID, sender: from, incarnation: incarnation,
                sequence: sequence, link: link, destination: destination, term: 0, coordinator: "",
                senderQuorate: false, view: [])
            var rng = SystemRandomNumberGenerator()
            let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            guard fd >= 0 else { throw ValidationError("socket failed") }
            defer { close(fd) }
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = UInt16(port ?? c.port).bigEndian
            guard inet_pton(AF_INET, to, &addr.sin_addr) == 1 else { throw ValidationError("--to must be an IPv4 address") }
            for i in 0..<count {
                var packet: [UInt8]
                switch kind {
                case "garbage":
                    packet = (0..<Int.random(in: 1...600, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                case "truncated":
                    packet = Array(WireCodec.encode(msg, key: key).prefix(Int.random(in: 4...40, using: &rng)))
                case "bad-version":
                    packet = WireCodec.encode(msg, key: key)
                    packet[4] = 99
                case "wrong-cluster":
                    var m = msg
                    m.clusterID = fnv1a32("some-other-cluster")
                    packet = WireCodec.encode(m, key: key)
                case "wrong-key":
                    packet = WireCodec.encode(msg, key: SymmetricKey(size: .bits256))
                case "replay":
                    var m = msg
                    m.sequence = sequence + UInt64(i)
                    packet = WireCodec.encode(m, key: key)
                default:
                    throw ValidationError("unknown --kind \(kind)")
                }
                let sent = withUnsafePointer(to: &addr) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(fd, packet, packet.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
                guard sent == packet.count else { throw ValidationError("sendto: \(String(cString: strerror(errno)))") }
            }
            print("sent \(count) \(kind) packet(s) to \(to)")
        }
    }
}
