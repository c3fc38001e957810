// swift-tools-version:6.0
import PackageDescription

/// The pure core and the simulation run thousands of seeded schedules in every test run: compile them
/// optimized even in debug builds (about 10x faster), keeping the rest debuggable.
let optimizedEvenInDebug: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug))]

let package = Package(
    name: "vigil",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "vigil", targets: ["vigil"]),
        .executable(name: "vigil-virt", targets: ["vigil-virt"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2")
    ],
    targets: [
        // Pure core: membership, failure detection, quorum, election. Events and a clock in, actions out.
        .target(name: "VigilCore", swiftSettings: optimizedEvenInDebug),
        // Binary wire format and HMAC-SHA256 authentication of every packet.
        .target(
            name: "VigilWire",
            dependencies: [
                "VigilCore",
                .product(name: "Crypto", package: "swift-crypto")
            ], swiftSettings: optimizedEvenInDebug),
        // cluster.conf: a TOML-subset parser with line-numbered errors, validation, and the config writer.
        .target(name: "VigilConfig", dependencies: ["VigilCore"]),
        // Deterministic in-memory simulation of whole clusters (used by tests and bench/sim-soak).
        .target(
            name: "VigilSimulation",
            dependencies: [
                "VigilCore", "VigilWire", .product(name: "Crypto", package: "swift-crypto")
            ], swiftSettings: optimizedEvenInDebug),
        // Heartbeat 3.0.6 compatibility: ha.cf, haresources and authkeys imported as cluster.conf.
        .target(name: "VigilHeartbeat", dependencies: ["VigilConfig", "VigilCore", "VigilWire"]),
        // Runs init-style resource agents (start/stop/status) with timeouts, in their own process groups.
        .target(name: "VigilResources", dependencies: ["VigilCore"]),
        // libvirt's C API (Debian libvirt-dev).
        .systemLibrary(name: "CLibvirt", pkgConfig: "libvirt", providers: [.apt(["libvirt-dev"])]),
        // The `vm` resource agent's engine: libvirt lifecycle, live migration with verification (`vigil virt`).
        .target(name: "VigilVirt", dependencies: ["CLibvirt", "VigilCore", "VigilResources"]),
        // libiscsi's C API (Debian libiscsi-dev): the userspace iSCSI initiator.
        .systemLibrary(name: "CISCSI", pkgConfig: "libiscsi", providers: [.apt(["libiscsi-dev"])]),
        // Shared storage I/O: iSCSI (libiscsi), AoE (raw Ethernet), block devices; the slot-area cycle thread.
        .target(name: "VigilStorage", dependencies: ["CISCSI", "CLinux", "VigilCore"]),
        // Linux headers Glibc's module leaves out (AF_PACKET addresses, O_DIRECT, the watchdog ioctl).
        .systemLibrary(name: "CLinux"),
        // Failover drills: the ICMP pinger, the report (table, JSON, CSV) and the SVG plot.
        .target(name: "VigilDrill", dependencies: ["VigilCore"]),
        // libsystemd: sd_notify and the journal.
        .systemLibrary(name: "CSystemd", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),
        // The IO shell: UDP transport, timers, control socket, logging, systemd integration.
        .target(
            name: "VigilAgent",
            dependencies: [
                "VigilCore", "VigilWire", "VigilConfig", "VigilResources", "VigilStorage", "VigilDrill", "CSystemd", "CLinux",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log")
            ]),
        // `vigil exporter`: Prometheus metrics from the local agent's status, served over HTTP by a process of its own.
        .target(
            name: "VigilExporter",
            dependencies: [
                "VigilAgent", "VigilCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio")
            ]),
        .executableTarget(
            name: "vigil",
            dependencies: [
                "VigilAgent", "VigilExporter", "VigilConfig", "VigilWire", "VigilCore", "VigilSimulation", "VigilHeartbeat",
                "VigilResources", "VigilStorage", "VigilDrill",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log")
            ]),
        // `vigil virt` (the vm agent's engine) as a program of its own: only it links libvirt.
        .executableTarget(
            name: "vigil-virt",
            dependencies: [
                "VigilVirt", "VigilConfig", "VigilCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser")
            ]),
        // transcripts/: data-driven placement scenarios (text files the transcript tests read and can rewrite).
        .testTarget(name: "VigilCoreTests", dependencies: ["VigilCore", "VigilSimulation"], exclude: ["transcripts"]),
        .testTarget(
            name: "VigilWireTests",
            dependencies: ["VigilWire", "VigilCore", .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(name: "VigilConfigTests", dependencies: ["VigilConfig", "VigilCore"]),
        .testTarget(name: "VigilHeartbeatTests", dependencies: ["VigilHeartbeat", "VigilConfig", "VigilCore", "VigilWire"]),
        .testTarget(name: "VigilResourcesTests", dependencies: ["VigilResources", "VigilCore", "VigilConfig"]),
        .testTarget(name: "VigilVirtTests", dependencies: ["VigilVirt"]),
        .testTarget(name: "VigilStorageTests", dependencies: ["VigilStorage", "VigilCore", "VigilSimulation"]),
        .testTarget(name: "VigilDrillTests", dependencies: ["VigilDrill"]),
        // agents/: test resource agents the namespace tests run (scripts, not sources).
        .testTarget(name: "VigilIntegrationTests", dependencies: ["VigilAgent", "VigilCore", "VigilExporter"], exclude: ["agents"])
    ]
)
