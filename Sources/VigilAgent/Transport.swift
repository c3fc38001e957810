import Crypto
import Foundation
import Logging
import NIOCore
import NIOPosix
import VigilConfig
import VigilCore
import VigilWire

/// A datagram the transport received, decoded (on the driver's event loop).
enum ReceivedPacket {
    /// An authentic Vigil message on a link.
    case message(Message, link: Int, source: SocketAddress)
    /// A packet the codec refused, with its bytes (a Heartbeat daemon's packets are looked at further).
    case refused(DropReason, raw: [UInt8], source: SocketAddress)
    /// A Linux-HA Heartbeat packet on the wildcard or ha.cf multicast listeners (nothing else is taken from them).
    case heartbeatDaemon(raw: [UInt8], source: SocketAddress)
}

/// The cluster links: one UDP socket per link (bound to this node's address on it), the multicast receivers
/// (transport = "multicast"), and the listeners that notice Linux-HA Heartbeat daemons. Encodes and sends the
/// core's messages, decodes what arrives and hands it to `onPacket` (on the driver's loop: the channels run
/// on it). Keeps the peers' addresses, including "auto" ones learned from their authenticated packets.
final class Transport: AgentService, @unchecked Sendable {
    let name = "transport"
    let servesTheLeave = true
    let group: EventLoopGroup
    let spec: ClusterSpec
    let me: String
    let config: ClusterConfig
    let key: SymmetricKey
    let clusterID: UInt32
    /// Listen for Heartbeat daemons (the key came from Heartbeat's authkeys).
    let watchHeartbeatDaemons: Bool
    let heartbeatMulticast: [(interface: String, group: String, port: Int)]
    let logger: Logger
    /// Set by the driver before `start`; called on the driver's loop.
    var onPacket: (ReceivedPacket) -> Void = { _ in }
    /// Set by the driver before `start`: what the transport learned or set up (called on the main thread
    /// during `start`, on the driver's loop afterwards).
    var onEvent: (AgentEvent) -> Void = { _ in }

    var channels: [Channel] = []
    /// transport = "multicast": per link, the group's address and the socket that receives it.
    var groupAddresses: [SocketAddress] = []
    var multicastChannels: [Channel] = []
    /// The wildcard socket that notices Heartbeat daemons' broadcasts (with Heartbeat's authkeys only).
    var heartbeatListener: Channel?
    /// Sockets joined to ha.cf's mcast groups, for the same purpose.
    var heartbeatMulticastListeners: [Channel] = []
    /// Per peer and link, where its packets go (nil: an "auto" address not learned yet).
    var peerAddresses: [String: [SocketAddress?]] = [:]
    /// The peers' "auto" addresses, learned from their authenticated packets: (node, link) pairs to learn.
    var learnedLinks: Set<String> = []
    /// Links written to since the last `flush`.
    private var touched = Set<Int>()

    init(
        group: EventLoopGroup, spec: ClusterSpec, me: String, config: ClusterConfig, key: SymmetricKey, watchHeartbeatDaemons: Bool,
        heartbeatMulticast: [(interface: String, group: String, port: Int)], logger: Logger
    ) {
        self.group = group
        self.spec = spec
        self.me = me
        self.config = config
        self.key = key
        self.clusterID = spec.clusterID
        self.watchHeartbeatDaemons = watchHeartbeatDaemons
        self.heartbeatMulticast = heartbeatMulticast
        self.logger = logger
    }

    func start() throws {
        let me = spec.node(named: self.me)!
        for node in spec.nodes where node.name != me.name {
            peerAddresses[node.name] = try node.addresses.enumerated().map { link, a in
                if a == ClusterConfig.autoAddress {
                    learnedLinks.insert("\(node.name)/\(link)")
                    return nil
                }
                return try SocketAddress(ipAddress: a, port: config.port)
            }
        }
        for (link, address) in me.addresses.enumerated() {
            let channel = try bind(host: address, port: config.port, handler: DatagramInbound(transport: self, link: link))
            channels.append(channel)
            if spec.transport == .multicast {
                try joinMulticast(link: link, localAddress: address, sender: channel)
            }
        }
        if watchHeartbeatDaemons { listenForHeartbeatDaemons() }
    }

    func stop(on loop: EventLoop) -> EventLoopFuture<Void> {
        let all = channels + multicastChannels + [heartbeatListener].compactMap { $0 } + heartbeatMulticastListeners
        return EventLoopFuture.andAllComplete(all.map { $0.close() }, on: loop)
    }

    private func bind(
        host: String, port: Int, handler: ChannelHandler & Sendable, options: [(ChannelOptions.Types.SocketOption, SocketOptionValue)] = []
    )
        throws -> Channel
    {
        var bootstrap = DatagramBootstrap(group: group).channelOption(.socketOption(.so_reuseaddr), value: 1)
        for (option, value) in options { bootstrap = bootstrap.channelOption(option, value: value) }
        return try bootstrap.channelInitializer { ch in
            ch.eventLoop.makeCompletedFuture { try ch.pipeline.syncOperations.addHandler(handler) }
        }
        .bind(host: host, port: port).wait()
    }

    /// Multicast on one link: the unicast socket also sends to the group (IP_MULTICAST_IF = the link's
    /// address, TTL 1, no loopback); a second socket bound to the group receives, joined on the link's
    /// interface only. Every link has its own group, so copies can never cross links.
    private func joinMulticast(link: Int, localAddress: String, sender: Channel) throws {
        guard let provider = sender as? SocketOptionProvider else { throw AgentError("multicast: socket options unavailable") }
        var ifAddr = in_addr()
        guard inet_pton(AF_INET, localAddress, &ifAddr) == 1 else {
            throw AgentError("multicast needs IPv4 link addresses; link \(link) is \(localAddress)")
        }
        try provider.setIPMulticastIF(ifAddr).wait()
        try provider.setIPMulticastTTL(1).wait()
        try provider.setIPMulticastLoop(0).wait()
        let groupIP = config.multicastGroup(link: link)
        let groupAddress = try SocketAddress(ipAddress: groupIP, port: config.port)
        guard let device = try System.enumerateDevices().first(where: { $0.address?.ipAddress == localAddress }) else {
            throw AgentError("multicast: no network interface has this node's link \(link) address \(localAddress)")
        }
        let receiver = try bind(host: groupIP, port: config.port, handler: DatagramInbound(transport: self, link: link))
        guard let multicast = receiver as? MulticastChannel else { throw AgentError("multicast: channel cannot join groups") }
        try multicast.joinGroup(groupAddress, device: device).wait()
        groupAddresses.append(groupAddress)
        multicastChannels.append(receiver)
        logger.info("link \(link): heartbeats by multicast to \(groupIP) on \(device.name)")
        onEvent(.multicastJoined(link: link, group: groupIP, interface: device.name))
    }

    /// With Heartbeat's authkeys as the key: a socket on the wildcard address and the port, so that Heartbeat's
    /// broadcasts (`bcast`) reach this node too (the link sockets are bound to unicast addresses and groups),
    /// and one per ha.cf mcast line, joined to Heartbeat's group.
    /// It acts on Heartbeat packets only; everything else arrives on the link sockets and is handled there.
    private func listenForHeartbeatDaemons() {
        do {
            // IP_MULTICAST_ALL off: not every group some other socket joined (Vigil's own heartbeats).
            heartbeatListener = try bind(
                host: "0.0.0.0", port: config.port, handler: HeartbeatListener(transport: self),
                options: [(ChannelOptions.socket(SocketOptionLevel(IPPROTO_IP), SocketOptionName(49)), 0)])
        } catch {
            logger.warning(
                "cannot listen on 0.0.0.0:\(config.port) for Heartbeat broadcasts (\(error)); a Heartbeat daemon is noticed only by the packets it sends to this node's addresses"
            )
        }
        for m in heartbeatMulticast {
            do {
                guard let device = try System.enumerateDevices().first(where: { $0.name == m.interface && $0.address?.protocol == .inet })
                else {
                    throw AgentError("no IPv4 interface \(m.interface)")
                }
                let channel = try bind(host: m.group, port: m.port, handler: HeartbeatListener(transport: self))
                guard let mc = channel as? MulticastChannel else { throw AgentError("the channel cannot join groups") }
                try mc.joinGroup(try SocketAddress(ipAddress: m.group, port: m.port), device: device).wait()
                heartbeatMulticastListeners.append(channel)
            } catch {
                logger.warning(
                    "cannot listen on Heartbeat's multicast group \(m.group):\(m.port) on \(m.interface) (\(error)): a Heartbeat daemon there is not noticed"
                )
            }
        }
    }

    // MARK: - On the driver's loop

    /// Encodes and writes one message (to a peer, or to the link's multicast group when `to` is empty);
    /// nothing if the peer's address on that link is not known yet. `flush` sends what was written.
    func send(_ msg: Message, to: String, link: Int) {
        let target = to.isEmpty ? (link < groupAddresses.count ? groupAddresses[link] : nil) : peerAddresses[to]?[link] ?? nil
        guard let addr = target, link < channels.count else { return }
        let buffer = channels[link].allocator.buffer(bytes: WireCodec.encode(msg, key: key))
        channels[link].write(AddressedEnvelope(remoteAddress: addr, data: buffer), promise: nil)
        touched.insert(link)
    }

    func flush() {
        for link in touched { channels[link].flush() }
        touched.removeAll()
    }

    /// Records where an "auto" peer's authenticated packets come from on `link`, so directed messages reach it.
    /// The driver calls it only for packets the core accepted (authentic, not a replay): a replayed copy from
    /// elsewhere must not redirect this peer's traffic.
    func learn(_ node: String, link: Int, from source: SocketAddress) {
        guard learnedLinks.contains("\(node)/\(link)"), let ip = source.ipAddress,
            let addr = try? SocketAddress(ipAddress: ip, port: config.port),
            let known = peerAddresses[node], link < known.count, known[link] != addr
        else { return }
        peerAddresses[node]![link] = addr
        logger.notice("link \(link): \(node) is at \(ip) (learned from its authenticated heartbeats)")
        onEvent(.addressLearned(node: node, link: link, address: ip))
    }

    /// Whether some peer's address on some link is still to be learned.
    var learnsAddresses: Bool { !learnedLinks.isEmpty }

    /// A peer's address on a link as last learned (nil if configured, or not learned yet).
    func learnedAddress(of node: String, link: Int) -> String? {
        guard learnedLinks.contains("\(node)/\(link)") else { return nil }
        return (peerAddresses[node]?[link] ?? nil)?.ipAddress
    }

    /// A peer's address on its first link, configured or learned (nil: not known yet).
    func firstAddress(of node: String) -> String? {
        (peerAddresses[node]?.first ?? nil)?.ipAddress
    }

    fileprivate func received(_ bytes: ByteBuffer, from source: SocketAddress, link: Int) {
        let raw = bytes.getBytes(at: bytes.readerIndex, length: bytes.readableBytes) ?? []
        switch WireCodec.decode(raw, key: key, clusterID: clusterID) {
        case let .success(msg): onPacket(.message(msg, link: link, source: source))
        case let .failure(reason): onPacket(.refused(reason, raw: raw, source: source))
        }
    }

    fileprivate func receivedOnListener(_ bytes: ByteBuffer, from source: SocketAddress) {
        let raw = bytes.getBytes(at: bytes.readerIndex, length: bytes.readableBytes) ?? []
        guard WireCodec.isHeartbeatPacket(raw) else { return }
        onPacket(.heartbeatDaemon(raw: raw, source: source))
    }

    // MARK: - Interfaces

    /// The IPv4 addresses of a network interface, in the kernel's order (the primary address first).
    static func interfaceIPv4(_ name: String) -> [String] {
        var head: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&head) == 0 else { return [] }
        defer { freeifaddrs(head) }
        var out: [String] = []
        var p = head
        while let ifa = p {
            defer { p = ifa.pointee.ifa_next }
            guard let sa = ifa.pointee.ifa_addr, String(cString: ifa.pointee.ifa_name) == name,
                let text = ipv4Text(sa)
            else { continue }
            out.append(text)
        }
        return out
    }

    /// The dotted quad of an AF_INET socket address (nil for any other family).
    static func ipv4Text(_ sa: UnsafePointer<sockaddr>) -> String? {
        guard sa.pointee.sa_family == sa_family_t(AF_INET) else { return nil }
        var buf = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
        sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
            var a = sin.pointee.sin_addr
            _ = inet_ntop(AF_INET, &a, &buf, socklen_t(buf.count))
        }
        return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Reads datagrams from one link's socket and hands them to the transport (already on the driver's loop).
final class DatagramInbound: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let transport: Transport
    let link: Int

    init(transport: Transport, link: Int) {
        self.transport = transport
        self.link = link
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let env = unwrapInboundIn(data)
        transport.received(env.data, from: env.remoteAddress, link: link)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // ICMP errors (port unreachable, no route) on a UDP socket are expected while a peer is down.
        transport.logger.debug("link \(link): \(error)")
    }
}

/// Hands the wildcard and ha.cf multicast sockets' datagrams to the transport (Heartbeat daemons' packets).
final class HeartbeatListener: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let transport: Transport

    init(transport: Transport) { self.transport = transport }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let env = unwrapInboundIn(data)
        transport.receivedOnListener(env.data, from: env.remoteAddress)
    }
}
