import VigilCore

/// The packet body layout without the cryptography: building blocks for `WireCodec` and the body parser that
/// runs after a packet has been authenticated (kept free of Crypto so libFuzzer can drive it directly).
public enum WireFormat {
    public static let magic: [UInt8] = Array("VIGL".utf8)
    public static let version: UInt8 = 3

    /// The packet without its MAC, laid out as in `WireCodec`'s header comment. Counts above 255 are clamped
    /// (config validation keeps names to 63 bytes and views to 64 nodes).
    public static func encodeBody(_ m: Message) -> [UInt8] {
        var b: [UInt8] = []
        b.reserveCapacity(96 + m.view.count * 12)
        b += magic
        b.append(version)
        b.append(m.kind.rawValue)
        b.append(m.link)
        // Flags: bit 0 quorate; bit 1 (leave only) restarting. Agents before bit 1 ignore it: they see a leave.
        b.append((m.senderQuorate ? 1 : 0) | (m.kind == .leave && m.restarting ? 2 : 0))
        appendBE(&b, m.clusterID)
        appendBE(&b, m.incarnation)
        appendBE(&b, m.sequence)
        appendBE(&b, m.term)
        for s in [m.sender, m.destination, m.coordinator, m.candidate] { appendString(&b, s) }
        b.append(UInt8(min(m.view.count, 255)))
        for e in m.view.prefix(255) {
            appendString(&b, e.node)
            b.append(e.state.rawValue)
            appendBE(&b, e.echo)  // version 3: the incarnation of e.node the sender last heard
        }
        // Groups (version 2): the sender's report, the coordinator's assignments, a request's text.
        if let r = m.report {
            b.append(1)
            appendBE(&b, r.digest)
            b.append(r.standby ? 1 : 0)
            appendBE(&b, r.version)
            b.append(UInt8(min(r.groups.count, 255)))
            for g in r.groups.prefix(255) {
                b.append(g.phase.rawValue)
                appendBE(&b, g.ackEpoch)
                b.append(g.failures)
                b.append(g.handedOver ? 1 : 0)
            }
        } else {
            b.append(0)
        }
        b.append(UInt8(min(m.assignments.count, 255)))
        for a in m.assignments.prefix(255) {
            appendString(&b, a.owner)
            appendBE(&b, a.epoch)
            b.append((a.go ? 1 : 0) | (a.stay ? 2 : 0) | (a.disabled ? 4 : 0) | (a.unmanaged ? 8 : 0))
            appendString(&b, a.source)
            appendString(&b, a.preferred)
        }
        appendString(&b, m.request?.description ?? "")
        // Requests and their answers: the origin's request number; a reply's answer (see RequestAnswerCode).
        if m.kind == .request || m.kind == .requestReply { appendBE(&b, m.requestNumber) }
        if m.kind == .requestReply {
            let a = RequestAnswerCode.encode(m.answer ?? .refused(by: m.sender, .noCoordinator))
            b.append(a.code)
            for s in [a.by, a.first, a.second] { appendString(&b, s) }
        }
        // Ping-node connectivity: a trailing byte, only when nonzero (older agents send none).
        if let c = m.report?.connectivity, c > 0 { b.append(c) }
        return b
    }

    /// Parses bytes `[0, end)` of an (already authenticated) packet into a message, or nil if malformed.
    public static func parse(_ b: [UInt8], end: Int) -> Message? {
        guard end >= 36, end <= b.count else { return nil }
        var r = Reader(bytes: b, end: end)
        r.offset = 8
        let cluster: UInt32 = r.readBE()
        guard let kind = MessageKind(rawValue: b[5]) else { return nil }
        let link = b[6]
        let flags = b[7]
        let incarnation: UInt64 = r.readBE()
        let sequence: UInt64 = r.readBE()
        let term: UInt64 = r.readBE()
        guard let sender = r.readString(), let destination = r.readString(),
            let coordinator = r.readString(), let candidate = r.readString(),
            let count = r.readByte()
        else { return nil }
        var view: [ViewEntry] = []
        view.reserveCapacity(Int(count))
        for _ in 0..<count {
            guard let name = r.readString(), let raw = r.readByte(), let state = MemberState(rawValue: raw),
                r.remaining >= 4
            else {
                return nil
            }
            let echo: UInt32 = r.readBE()
            view.append(ViewEntry(node: name, state: state, echo: echo))
        }
        guard let hasReport = r.readByte(), hasReport <= 1 else { return nil }
        var report: NodeReport?
        if hasReport == 1 {
            guard r.remaining >= 14 else { return nil }
            let digest: UInt32 = r.readBE()
            let standby = r.readByte()!
            let version: UInt64 = r.readBE()
            let n = r.readByte()!
            guard standby <= 1, r.remaining >= Int(n) * 11 else { return nil }
            var groups: [GroupReport] = []
            groups.reserveCapacity(Int(n))
            for _ in 0..<n {
                guard let phase = GroupPhase(rawValue: r.readByte()!) else { return nil }
                let ack: UInt64 = r.readBE()
                let failures = r.readByte()!
                let gflags = r.readByte()!
                guard gflags <= 1 else { return nil }
                groups.append(GroupReport(phase: phase, ackEpoch: ack, failures: failures, handedOver: gflags == 1))
            }
            report = NodeReport(digest: digest, standby: standby == 1, version: version, groups: groups)
        }
        guard let assignmentCount = r.readByte() else { return nil }
        var assignments: [Assignment] = []
        for _ in 0..<assignmentCount {
            guard let owner = r.readString(), r.remaining >= 9 else { return nil }
            let epoch: UInt64 = r.readBE()
            let aflags = r.readByte()!
            guard aflags <= 15, let source = r.readString(), let preferred = r.readString() else { return nil }
            assignments.append(
                Assignment(
                    owner: owner, epoch: epoch, go: aflags & 1 != 0, source: source,
                    preferred: preferred, stay: aflags & 2 != 0, disabled: aflags & 4 != 0, unmanaged: aflags & 8 != 0))
        }
        // A request travels as its canonical text: anything else is malformed (one encoding per message).
        guard let requestText = r.readString() else { return nil }
        let request = requestText.isEmpty ? nil : AdminRequest(text: requestText)
        guard requestText.isEmpty || request != nil else { return nil }
        var requestNumber: UInt64 = 0
        var answer: RequestAnswer?
        if kind == .request || kind == .requestReply {
            guard request != nil, r.remaining >= 8 else { return nil }
            requestNumber = r.readBE()
        }
        if kind == .requestReply {
            guard let code = r.readByte(), let by = r.readString(), let first = r.readString(), let second = r.readString(),
                let a = RequestAnswerCode.decode(code: code, by: by, first: first, second: second)
            else { return nil }
            answer = a
        }
        // Connectivity: one trailing byte, only nonzero (encodeBody sends none for 0; one encoding per message).
        if r.remaining == 1, report != nil {
            let c = r.readByte()!
            guard c > 0 else { return nil }
            report!.connectivity = c
        }
        guard r.offset == r.end, !sender.isEmpty else { return nil }
        return Message(
            kind: kind, clusterID: cluster, sender: sender, incarnation: incarnation,
            sequence: sequence, link: link, destination: destination, term: term,
            coordinator: coordinator, candidate: candidate, senderQuorate: flags & 1 != 0, view: view,
            report: report, assignments: assignments, request: request, requestNumber: requestNumber, answer: answer,
            restarting: kind == .leave && flags & 2 != 0)
    }

    static func appendBE<T: FixedWidthInteger>(_ b: inout [UInt8], _ v: T) {
        var be = v.bigEndian
        withUnsafeBytes(of: &be) { b += $0 }
    }

    static func appendString(_ b: inout [UInt8], _ s: String) {
        let u = Array(s.utf8.prefix(255))
        b.append(UInt8(u.count))
        b += u
    }

    struct Reader {
        let bytes: [UInt8]
        let end: Int
        var offset = 0

        mutating func readBE<T: FixedWidthInteger>() -> T {
            var v: T = 0
            for _ in 0..<MemoryLayout<T>.size {
                v = v << 8 | T(bytes[offset])
                offset += 1
            }
            return v
        }

        var remaining: Int { end - offset }

        mutating func readByte() -> UInt8? {
            guard offset < end else { return nil }
            defer { offset += 1 }
            return bytes[offset]
        }

        mutating func readString() -> String? {
            guard let n = readByte(), offset + Int(n) <= end else { return nil }
            defer { offset += Int(n) }
            return String(validating: bytes[offset..<(offset + Int(n))], as: UTF8.self)
        }
    }
}

/// A request's answer on the wire: a code byte and three strings (the answering node, then up to two
/// arguments; unused ones empty). Exactly one encoding per answer: `decode` refuses anything `encode` would not
/// produce.
enum RequestAnswerCode {
    static func encode(_ a: RequestAnswer) -> (code: UInt8, by: String, first: String, second: String) {
        switch a {
        case let .accepted(by, nil): (0, by, "", "")
        case let .accepted(by, .targetNotUsable(n, state)?): (1, by, n, state)
        case let .refused(by, why):
            switch why {
            case let .noSuchGroup(g): (16, by, g, "")
            case let .noSuchNode(n): (17, by, n, "")
            case .noCoordinator: (18, by, "", "")
            case let .notCoordinator(c): (19, by, c, "")
            case let .unreachable(n, state): (20, by, n, state)
            case let .notDown(n, state): (21, by, n, state)
            case let .slotStillWritten(n): (22, by, n, "")
            }
        }
    }

    static func decode(code: UInt8, by: String, first: String, second: String) -> RequestAnswer? {
        let a: RequestAnswer
        switch code {
        case 0: a = .accepted(by: by, note: nil)
        case 1: a = .accepted(by: by, note: .targetNotUsable(node: first, state: second))
        case 16: a = .refused(by: by, .noSuchGroup(first))
        case 17: a = .refused(by: by, .noSuchNode(first))
        case 18: a = .refused(by: by, .noCoordinator)
        case 19: a = .refused(by: by, .notCoordinator(coordinator: first))
        case 20: a = .refused(by: by, .unreachable(node: first, state: second))
        case 21: a = .refused(by: by, .notDown(node: first, state: second))
        case 22: a = .refused(by: by, .slotStillWritten(node: first))
        default: return nil
        }
        let e = encode(a)
        guard !by.isEmpty, e.code == code, e.first == first, e.second == second else { return nil }
        return a
    }
}
