/// Building messages: sequence numbers per peer and link (and per link for multicast copies), the view, the
/// election stamp, the group report and assignments; and the rate-limited log of dropped packets.
extension ClusterNode {
    func linkCount(for peer: String) -> Int {
        min(myLinks, membership.peers[peer]?.spec.addresses.count ?? 0)
    }

    /// `stamp`: the election state to send (default: the current one).
    mutating func broadcastHeartbeat(now: Instant, stamp: ElectionStamp? = nil, into out: inout [Action]) {
        lastHeartbeatSent = now
        let v = view
        let g = outgoingGroups(asCoordinator: (stamp ?? election.stamp).isCoordinator)
        if spec.transport == .multicast {
            for link in 0..<myLinks { out.append(send(.heartbeat, to: "", link: link, view: v, groups: g, stamp: stamp)) }
            return
        }
        for name in membership.peerNames {
            for link in 0..<linkCount(for: name) {
                out.append(send(.heartbeat, to: name, link: link, view: v, groups: g, stamp: stamp))
            }
        }
    }

    /// The current membership view, as carried in every message.
    public var view: [ViewEntry] {
        spec.nodes.map { n in
            ViewEntry(
                node: n.name, state: state(of: n.name),
                echo: IncarnationEcho.of(n.name == me ? incarnation : membership.peers[n.name]?.incarnation ?? 0))
        }
    }

    mutating func send(
        _ kind: MessageKind, to peer: String, link: Int, term explicitTerm: UInt64? = nil,
        candidate: String = "", view v: [ViewEntry]? = nil, groups precomputed: OutgoingGroups? = nil,
        request: AdminRequest? = nil, requestNumber: UInt64 = 0, answer: RequestAnswer? = nil, restarting: Bool = false,
        stamp explicitStamp: ElectionStamp? = nil
    ) -> Action {
        let stamp = explicitStamp ?? election.stamp
        // `peer` empty: a multicast copy to the link's group, with its own sequence space.
        let seq: UInt64
        if peer.isEmpty {
            seq = broadcastSequence[link]
            broadcastSequence[link] = seq + 1
        } else {
            seq = membership.peers[peer]!.nextSequence[link]
            membership.peers[peer]!.nextSequence[link] = seq + 1
        }
        counters.sent += 1
        let g = precomputed ?? outgoingGroups(asCoordinator: stamp.isCoordinator)
        let msg = Message(
            kind: kind, clusterID: clusterID, sender: me, incarnation: incarnation,
            sequence: seq, link: UInt8(link), destination: peer, term: explicitTerm ?? stamp.term,
            coordinator: stamp.coordinator, candidate: candidate, senderQuorate: quorate, view: v ?? view,
            report: g.report, assignments: g.assignments, request: request, requestNumber: requestNumber, answer: answer,
            restarting: restarting)
        return .send(msg, to: peer, link: link)
    }

    mutating func drop(_ reason: DropReason, source: () -> String, now: Instant, into out: inout [Action]) {
        counters.dropped[reason.rawValue, default: 0] += 1
        var st = dropLog[reason] ?? DropLogState()
        if let last = st.lastLogged, now - last < Self.dropLogInterval {
            st.suppressed += 1
        } else {
            let more = st.suppressed > 0 ? " (\(st.suppressed) more since the last report)" : ""
            let from = source()
            out.append(.log(.warning, "dropped packet from \(from): \(reason.rawValue)\(more)"))
            out.append(.event(.packetsDropped(reason: reason, count: st.suppressed + 1, source: from)))
            st.lastLogged = now
            st.suppressed = 0
        }
        dropLog[reason] = st
    }

}
