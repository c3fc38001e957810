import ArgumentParser
import Foundation
import VigilConfig
import VigilCore
import VigilStorage
import VigilAgent

/// `vigil storage init|dump|bench`: the slot area on shared devices.
struct StorageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "storage", abstract: "Initialise, inspect or time the slot area on shared storage devices.",
        subcommands: [Init.self, Dump.self, Bench.self])

    static func open(_ text: String, _ c: ClusterConfig, node: String?) throws -> (StorageURL, BlockDevice) {
        let url: StorageURL
        do { url = try StorageURL.parse(text) } catch { throw CLIError("storage device \(error)") }
        let s = c.spec.storage ?? StorageSpec(devices: [text])
        let initiator = s.initiator ?? "iqn.2026-11.org.vigil:\(c.spec.name).\(node ?? "admin")"
        let dev = BlockDevices.make(url, initiator: initiator, timeout: max(s.ioTimeout, .seconds(2)))
        do { try dev.open() } catch { throw CLIError("\(url): \(error)") }
        return (url, dev)
    }

    static func devices(_ given: [String], _ c: ClusterConfig) throws -> [String] {
        if !given.isEmpty { return given }
        guard let s = c.spec.storage else { throw CLIError("\(c.file) has no [storage] table; name the device(s)") }
        return s.devices
    }

    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the header and one empty slot and mailbox per node (every [storage] device, or those named).",
            discussion:
                "Refuses a device that already carries a slot area of another cluster, another layout or a different node count, or any non-zero data, unless --force."
        )
        @OptionGroup var options: ConfigOption
        @Flag(help: "Overwrite whatever the device holds in the slot area.") var force = false
        @Argument(help: "Devices (default: the [storage] devices of cluster.conf).") var devices: [String] = []

        func run() throws {
            let c = try options.load()
            let s = c.spec.storage ?? StorageSpec(devices: [])
            let n = c.spec.nodes.count
            for text in try StorageCommand.devices(devices, c) {
                let (url, dev) = try StorageCommand.open(text, c, node: nil)
                defer { dev.close() }
                let snap: SlotAreaSnapshot
                let raw: [UInt8]
                do {
                    raw = try dev.read(lba: 0, blocks: SlotArea.sectors(nodes: n))
                    snap = SlotAreaSnapshot(bytes: raw, sectorSize: dev.blockSize, nodes: n)
                } catch { throw CLIError("\(url): \(error)") }
                if !force {
                    if let h = snap.header {
                        if h.cluster != c.spec.name {
                            throw CLIError(
                                "\(url) holds the slot area of cluster \"\(h.cluster)\" (created \(Date(timeIntervalSince1970: Double(h.created)))); refusing without --force"
                            )
                        }
                        if h.slotCount != n {
                            throw CLIError(
                                "\(url) holds a slot area for \(h.slotCount) nodes; this cluster has \(n); refusing without --force")
                        }
                        // Idempotent: a live cluster's slots and pending pills are never wiped by a re-run.
                        print(
                            "\(url): already initialised for cluster \(h.cluster) (\(h.slotCount) slots); left as it is (--force rewrites it, clearing every slot and pill)"
                        )
                        continue
                    } else if raw.contains(where: { $0 != 0 }) {
                        throw CLIError(
                            "\(url) holds data that is not a Vigil slot area (\(snap.invalid.first ?? "non-zero bytes")); refusing without --force"
                        )
                    }
                }
                let header = SlotAreaHeader(
                    cluster: c.spec.name, slotCount: n, storage: s.devices.isEmpty ? StorageSpec(devices: [text]) : s,
                    created: UInt64(Date().timeIntervalSince1970))
                do {
                    try SlotAreaIO.write(dev, sector: 0, header.encoded())
                    for i in 1..<SlotArea.sectors(nodes: n) {
                        try SlotAreaIO.write(dev, sector: i, [UInt8](repeating: 0, count: SlotArea.sectorBytes))
                    }
                    let back = try SlotAreaIO.read(dev, nodes: n)
                    guard back.header == header else { throw DeviceError("read-back of the header does not match") }
                } catch { throw CLIError("\(url): \(error)") }
                print(
                    "\(url): slot area initialised for cluster \(c.spec.name): \(n) slots, \(SlotArea.sectors(nodes: n)) sectors of \(dev.blockSize) bytes"
                )
            }
        }
    }

    struct Dump: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a device's header, every node's slot and mailbox.")
        @OptionGroup var options: ConfigOption
        @Argument(help: "Devices (default: the [storage] devices of cluster.conf).") var devices: [String] = []

        func run() throws {
            let c = try options.load()
            for text in try StorageCommand.devices(devices, c) {
                let (url, dev) = try StorageCommand.open(text, c, node: nil)
                defer { dev.close() }
                let n = c.spec.nodes.count
                let snap: SlotAreaSnapshot
                do { snap = try SlotAreaIO.read(dev, nodes: n) } catch { throw CLIError("\(url): \(error)") }
                print("\(url):")
                if let h = snap.header {
                    print(
                        "  header: cluster \(h.cluster), layout \(SlotArea.layoutVersion), \(h.slotCount) slots, interval \(h.interval.compactDescription), io_timeout \(h.ioTimeout.compactDescription), watchdog_timeout \(h.watchdogTimeout.compactDescription), msgwait \(h.msgwait.compactDescription), created \(Date(timeIntervalSince1970: Double(h.created)))"
                    )
                } else {
                    print("  header: none (not initialised)")
                }
                for (i, node) in c.spec.nodes.enumerated() {
                    let slot =
                        snap.slots[i].map { s in
                            "incarnation \(s.incarnation) counter \(s.counter) term \(s.term) coordinator \(s.coordinator.isEmpty ? "-" : s.coordinator)"
                                + (s.quorate ? " quorate" : " NO-QUORUM") + (s.fenced ? " FENCED(ack \(s.ackSerial))" : "")
                                + (s.leaving ? " leaving" : "") + " active-groups \(String(s.activeGroups, radix: 2))"
                                + (s.node == node.name ? "" : " (WRONG NODE \(s.node))")
                        } ?? "empty"
                    let mail =
                        snap.mailboxes[i].map { p in
                            "\(p.cleared ? "cleared " : "")pill \(p.serial) for \(p.target) (incarnation <= \(p.maxIncarnation)) from \(p.from) term \(p.term)"
                        } ?? "empty"
                    print("  \(node.name): slot: \(slot)")
                    print("  \(String(repeating: " ", count: node.name.count)): mailbox: \(mail)")
                }
                for bad in snap.invalid { print("  invalid \(bad)") }
            }
        }
    }

    struct Bench: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Time slot writes and slot-area reads on a device (min/median/p99/max); writes only this node's slot.")
        @OptionGroup var options: ConfigOption
        @Option(help: "This node (whose slot is written).") var node: String
        @Option(help: "Operations of each kind.") var count = 200
        @Argument var device: String

        func run() throws {
            let c = try options.load()
            guard let me = c.spec.nodes.firstIndex(where: { $0.name == node }) else { throw CLIError("no node \(node) in \(c.file)") }
            let (url, dev) = try StorageCommand.open(device, c, node: node)
            defer { dev.close() }
            let n = c.spec.nodes.count
            func time(_ f: () throws -> Void) throws -> Double {
                let a = Monotonic.now(); try f(); return (Monotonic.now() - a).milliseconds
            }
            var reads: [Double] = [], writes: [Double] = []
            do {
                for i in 0..<count {
                    let slot = DiskSlot(
                        node: node, incarnation: 1, counter: UInt64(i), term: 0, coordinator: "", quorate: false,
                        fenced: false, leaving: false, ackSerial: 0, activeGroups: 0)
                    writes.append(try time { try SlotAreaIO.write(dev, sector: SlotArea.slotSector(me), slot.encoded()) })
                    reads.append(try time { _ = try SlotAreaIO.read(dev, nodes: n) })
                }
            } catch { throw CLIError("\(url): \(error)") }
            func line(_ name: String, _ v: [Double]) -> String {
                let s = v.sorted()
                func q(_ p: Double) -> Double { s[min(s.count - 1, Int(Double(s.count) * p))] }
                return "\(name): n=\(s.count) min \(fmt(s[0])) median \(fmt(q(0.5))) p99 \(fmt(q(0.99))) max \(fmt(s.last!)) ms"
            }
            print("\(url) (\(SlotArea.sectors(nodes: n)) sectors of \(dev.blockSize) bytes):")
            print("  " + line("slot write (1 sector)", writes))
            print("  " + line("area read  (\(SlotArea.sectors(nodes: n)) sectors)", reads))
        }

        func fmt(_ v: Double) -> String { String(format: "%.3f", v) }
    }
}
